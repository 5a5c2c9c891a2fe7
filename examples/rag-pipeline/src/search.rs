//! The full-text index: passages in a tantivy index held in RAM (stemmed English, with
//! positions), questions analysed into tantivy queries, and BM25 retrieval.

use anyhow::{Context, Result, bail};
use tantivy::collector::TopDocs;
use tantivy::query::{Query, QueryParser};
use tantivy::schema::{
    Field, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::{
    Index, IndexReader, IndexWriter, ReloadPolicy, Searcher, TantivyDocument, Term, doc,
};

use crate::chunk::Passage;
use crate::text::{self, Analyzer};

/// The analyzer passages and questions go through: tantivy's simple tokenizer, lower case,
/// English stemming.
const TOKENIZER: &str = "en_stem";
/// The indexing memory of each writer thread (tantivy needs at least 15 MB).
const WRITER_MEMORY_PER_THREAD: usize = 32 << 20;
/// The most indexing threads tantivy uses.
const MAX_WRITER_THREADS: usize = 8;

/// The index's fields.
#[derive(Clone, Copy, Debug)]
struct Fields {
    /// The passage's text: indexed with frequencies and positions, not stored.
    body: Field,
    /// The passage's number in the pipeline's list: stored, so hits can be mapped back.
    passage: Field,
}

/// An index being built.
pub(crate) struct IndexBuilder {
    /// The index.
    index: Index,
    /// Its writer.
    writer: IndexWriter<TantivyDocument>,
    /// Its fields.
    fields: Fields,
}

impl IndexBuilder {
    /// An empty index in RAM, written by `threads` threads (at most 8).
    pub(crate) fn new(threads: usize) -> Result<Self> {
        let mut schema = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(TOKENIZER)
            .set_index_option(IndexRecordOption::WithFreqsAndPositions);
        let body = schema.add_text_field(
            "body",
            TextOptions::default().set_indexing_options(indexing),
        );
        let passage = schema.add_u64_field("passage", STORED);
        let index = Index::create_in_ram(schema.build());
        let threads = threads.clamp(1, MAX_WRITER_THREADS);
        let writer = index
            .writer_with_num_threads(threads, threads * WRITER_MEMORY_PER_THREAD)
            .context("creating the index writer")?;
        Ok(Self {
            index,
            writer,
            fields: Fields { body, passage },
        })
    }

    /// Adds passage number `id`.
    pub(crate) fn add(&self, id: usize, passage: &Passage) -> Result<()> {
        let id = u64::try_from(id).context("too many passages")?;
        self.writer
            .add_document(doc!(
                self.fields.body => passage.text(),
                self.fields.passage => id,
            ))
            .with_context(|| format!("indexing a passage of {}", passage.source))?;
        Ok(())
    }

    /// Commits every passage added and opens the index for searching.
    pub(crate) fn finish(mut self) -> Result<SearchIndex> {
        self.writer.commit().context("committing the index")?;
        self.writer
            .wait_merging_threads()
            .context("finishing the index's merges")?;
        let reader = self
            .index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()
            .context("opening the index")?;
        let analyzer = self
            .index
            .tokenizers()
            .get(TOKENIZER)
            .with_context(|| format!("tantivy has no `{TOKENIZER}` tokenizer"))?;
        let parser = QueryParser::for_index(&self.index, vec![self.fields.body]);
        Ok(SearchIndex {
            reader,
            parser,
            fields: self.fields,
            analyzer: Analyzer::new(analyzer),
        })
    }
}

/// A built index, ready for searching from many threads.
pub(crate) struct SearchIndex {
    /// Its reader.
    reader: IndexReader,
    /// Turns keywords into queries on `body`.
    parser: QueryParser,
    /// Its fields.
    fields: Fields,
    /// The analyzer its text went through.
    analyzer: Analyzer,
}

impl SearchIndex {
    /// A retriever for one thread.
    pub(crate) fn retriever(&self) -> Retriever<'_> {
        Retriever {
            index: self,
            searcher: self.reader.searcher(),
            analyzer: self.analyzer.clone(),
        }
    }
}

/// A question term with its weight.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct QueryTerm {
    /// The term as the index holds it (a lower-case stem).
    pub(crate) term: String,
    /// Its inverse document frequency in the index, as BM25 computes it.
    pub(crate) idf: f64,
}

/// A question, analysed.
pub(crate) struct Analysis {
    /// The terms of the keywords, each once, with their weights.
    pub(crate) terms: Vec<QueryTerm>,
    /// The tantivy query: any of the keywords, scored with BM25.
    query: Box<dyn Query>,
}

/// A retrieved passage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Hit {
    /// The passage's number.
    pub(crate) passage: usize,
    /// Its BM25 score.
    pub(crate) score: f32,
}

/// Searches the index from one thread.
pub(crate) struct Retriever<'a> {
    /// The index.
    index: &'a SearchIndex,
    /// A searcher over the committed index.
    searcher: Searcher,
    /// This thread's copy of the index's analyzer.
    pub(crate) analyzer: Analyzer,
}

impl Retriever<'_> {
    /// Analyses a question: its words without stop words, their terms and weights, and the
    /// tantivy query built from them with the `QueryParser`.
    pub(crate) fn analyze(&mut self, question: &str) -> Result<Analysis> {
        let mut keywords: Vec<String> = Vec::new();
        for word in text::words(question).filter(|w| !text::is_stop_word(w)) {
            if !keywords.contains(&word) {
                keywords.push(word);
            }
        }
        if keywords.is_empty() {
            bail!("the question {question:?} has no words to search for");
        }
        let query = self
            .index
            .parser
            .parse_query(&keywords.join(" "))
            .with_context(|| format!("parsing the query for {question:?}"))?;
        let documents = self.searcher.num_docs() as f64;
        let mut terms: Vec<QueryTerm> = Vec::new();
        for keyword in &keywords {
            for term in self.analyzer.terms(keyword) {
                if terms.iter().any(|t| t.term == term) {
                    continue;
                }
                let frequency = self
                    .searcher
                    .doc_freq(&Term::from_field_text(self.index.fields.body, &term))
                    .with_context(|| format!("reading the frequency of {term:?}"))?
                    as f64;
                let idf = (1.0 + (documents - frequency + 0.5) / (frequency + 0.5)).ln();
                terms.push(QueryTerm { term, idf });
            }
        }
        Ok(Analysis { terms, query })
    }

    /// The `limit` passages that score best with BM25, best first.
    pub(crate) fn retrieve(&self, analysis: &Analysis, limit: usize) -> Result<Vec<Hit>> {
        let top = self
            .searcher
            .search(
                analysis.query.as_ref(),
                &TopDocs::with_limit(limit).order_by_score(),
            )
            .context("searching the index")?;
        top.into_iter()
            .map(|(score, address)| {
                let document: TantivyDocument = self
                    .searcher
                    .doc(address)
                    .context("reading a retrieved passage")?;
                let id = document
                    .get_first(self.index.fields.passage)
                    .and_then(|value| value.as_u64())
                    .context("a retrieved passage has no number")?;
                let passage = usize::try_from(id).context("a passage number is too large")?;
                Ok(Hit { passage, score })
            })
            .collect()
    }
}
