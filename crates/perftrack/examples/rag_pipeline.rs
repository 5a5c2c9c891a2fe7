//! A small retrieval-augmented generation (RAG) pipeline, timed stage by stage with perftrack.
//!
//! Everything runs in-process and deterministically: a synthetic corpus of 20,000 documents,
//! a BM25 inverted index, a hashed bag-of-words embedding, cosine reranking and an extractive
//! "generation" step. Each stage is timed under its own label, using every way of measuring
//! that [`LatencyTracker`] offers: a guard (`track`), a closure (`time`), a wrapped function
//! (`wrap`) and a session by id (`start_tracking` / `stop_tracking`). The example then prints
//! a per-stage latency table and saves the metrics as JSON.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p perftrack --example rag_pipeline
//! ```

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::error::Error;

use perftrack::{LatencyConfig, LatencyTracker, Statistics, TimeUnit};

/// How many documents the corpus holds.
const DOCS: usize = 20_000;
/// How many distinct words the vocabulary holds.
const VOCABULARY: usize = 4_000;
/// How many queries run through the pipeline.
const QUERIES: usize = 300;
/// How many candidates BM25 retrieval returns.
const CANDIDATES: usize = 100;
/// How many documents survive reranking and reach generation.
const CONTEXT_DOCS: usize = 5;
/// The dimension of the hashed embedding.
const DIM: usize = 256;
/// BM25 term-frequency saturation.
const K1: f32 = 1.2;
/// BM25 document-length normalisation.
const B: f32 = 0.75;
/// The labels, in pipeline order, as the report lists them.
const STAGES: [&str; 7] = [
    "index", "tokenize", "retrieve", "embed", "rerank", "generate", "query",
];
/// The 24 two-letter syllables that generated words are spelled with.
const SYLLABLES: &str = "kalominerutavosipedagohurizobefajukemanopisatewu";

/// A xorshift64* pseudo-random generator: deterministic and dependency-free.
struct Rng(u64);

impl Rng {
    /// The next 64 random bits.
    fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A uniform integer in `lo..=hi`.
    fn range(&mut self, lo: usize, hi: usize) -> usize {
        lo + (self.next_u64() % (hi - lo + 1) as u64) as usize
    }
}

/// Generated words, most frequent first.
struct Vocabulary(Vec<String>);

impl Vocabulary {
    /// Spells `size` distinct words from syllables, each at least two syllables long.
    fn new(size: usize) -> Self {
        Self((24..size + 24).map(spell).collect())
    }

    /// A word from the ranks `min_rank..`, drawn with Zipf-like skew: ranks are log-uniform,
    /// so rank `r` is drawn with probability proportional to `1 / (r + 1)`.
    fn sample(&self, rng: &mut Rng, min_rank: usize) -> &str {
        loop {
            let uniform = (rng.next_u64() >> 11) as f64 / (1u64 << 53) as f64;
            let rank = ((self.0.len() + 1) as f64).powf(uniform) as usize - 1;
            if let Some(word) = self.0.get(rank).filter(|_| rank >= min_rank) {
                return word;
            }
        }
    }
}

/// Spells `n` in base-24 syllables: 2 or 3 of them for the vocabulary's ranks.
fn spell(mut n: usize) -> String {
    let mut word = String::new();
    while n > 0 {
        let digit = n % 24;
        word.insert_str(0, &SYLLABLES[2 * digit..2 * digit + 2]);
        n /= 24;
    }
    word
}

/// A sentence of `words` words from the ranks `min_rank..`, the first one capitalised.
fn sentence(vocabulary: &Vocabulary, rng: &mut Rng, words: usize, min_rank: usize) -> String {
    let words: Vec<&str> = (0..words)
        .map(|_| vocabulary.sample(rng, min_rank))
        .collect();
    let mut text = words.join(" ");
    if let Some(first) = text.get_mut(..1) {
        first.make_ascii_uppercase();
    }
    text
}

/// One document of 50-300 words in sentences of up to 18 words.
fn document(vocabulary: &Vocabulary, rng: &mut Rng) -> String {
    let (mut left, mut text) = (rng.range(50, 300), String::new());
    while left > 0 {
        let words = rng.range(6, 18).min(left);
        text.push_str(&sentence(vocabulary, rng, words, 0));
        text.push_str(". ");
        left -= words;
    }
    text
}

/// A question of 3-6 content words, such as `"Mikalo tesune rivo?"`.
fn question(vocabulary: &Vocabulary, rng: &mut Rng) -> String {
    let words = rng.range(3, 6);
    sentence(vocabulary, rng, words, 50) + "?"
}

/// Splits text into lowercase alphanumeric tokens, allocating only for tokens with capitals.
fn tokens(text: &str) -> impl Iterator<Item = Cow<'_, str>> {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|t| !t.is_empty())
        .map(|t| {
            if t.chars().any(char::is_uppercase) {
                Cow::Owned(t.to_lowercase())
            } else {
                Cow::Borrowed(t)
            }
        })
}

/// The "tokenize" stage: a query's distinct tokens.
fn tokenize(query: &str) -> Vec<String> {
    let mut terms: Vec<String> = tokens(query).map(Cow::into_owned).collect();
    terms.sort_unstable();
    terms.dedup();
    terms
}

/// A document and its score at some stage.
#[derive(Clone, Copy)]
struct Hit {
    /// The document.
    doc: u32,
    /// Its BM25 score, then its cosine similarity after reranking.
    score: f32,
}

/// An inverted index with what BM25 needs: term frequencies and document lengths.
#[derive(Default)]
struct Index {
    /// Term ids by term.
    terms: HashMap<String, u32>,
    /// Postings by term id: (document, term frequency) pairs in document order.
    postings: Vec<Vec<(u32, u32)>>,
    /// Tokens per document.
    lengths: Vec<u32>,
    /// Mean tokens per document.
    mean_length: f32,
}

impl Index {
    /// The "index" stage: tokenises every document and builds the postings.
    fn build(docs: &[String]) -> Self {
        let mut index = Index::default();
        let mut ids = Vec::new();
        for (doc, text) in docs.iter().enumerate() {
            ids.clear();
            ids.extend(tokens(text).map(|token| index.term_id(token)));
            index.lengths.push(ids.len() as u32);
            ids.sort_unstable();
            for run in ids.chunk_by(|a, b| a == b) {
                index.postings[run[0] as usize].push((doc as u32, run.len() as u32));
            }
        }
        let total: u64 = index.lengths.iter().map(|&l| u64::from(l)).sum();
        index.mean_length = total as f32 / docs.len().max(1) as f32;
        index
    }

    /// The id of `term`, adding it if it is new.
    fn term_id(&mut self, term: Cow<'_, str>) -> u32 {
        if let Some(&id) = self.terms.get(term.as_ref()) {
            return id;
        }
        let id = self.postings.len() as u32;
        self.terms.insert(term.into_owned(), id);
        self.postings.push(Vec::new());
        id
    }

    /// The "retrieve" stage: the `k` best documents for `terms` by BM25, best first.
    fn search(&self, terms: &[String], k: usize) -> Vec<Hit> {
        let docs = self.lengths.len() as f32;
        let mut scores = vec![0.0f32; self.lengths.len()];
        let mut touched = Vec::new();
        for &id in terms.iter().filter_map(|t| self.terms.get(t)) {
            let postings = &self.postings[id as usize];
            let df = postings.len() as f32;
            let idf = (1.0 + (docs - df + 0.5) / (df + 0.5)).ln();
            for &(doc, tf) in postings {
                let (tf, length) = (tf as f32, self.lengths[doc as usize] as f32);
                let norm = K1 * (1.0 - B + B * length / self.mean_length);
                let score = &mut scores[doc as usize];
                if *score == 0.0 {
                    touched.push(doc);
                }
                *score += idf * tf * (K1 + 1.0) / (tf + norm);
            }
        }
        let hits = touched.into_iter().map(|doc| Hit {
            doc,
            score: scores[doc as usize],
        });
        best(hits.collect(), k)
    }
}

/// The `k` highest-scoring hits, best first (ties go to the lower document id).
fn best(mut hits: Vec<Hit>, k: usize) -> Vec<Hit> {
    let better = |a: &Hit, b: &Hit| b.score.total_cmp(&a.score).then(a.doc.cmp(&b.doc));
    if k < hits.len() {
        hits.select_nth_unstable_by(k, better);
        hits.truncate(k);
    }
    hits.sort_unstable_by(better);
    hits
}

/// A unit-length embedding.
type Vector = [f32; DIM];

/// A hashed bag-of-words embedding of `text`: each token adds ±1 to one of `DIM` buckets
/// (FNV-1a picks the bucket and the sign), then the vector is L2-normalised.
fn embed_text(text: &str) -> Vector {
    let mut vector = [0.0f32; DIM];
    for token in tokens(text) {
        let hash = token.bytes().fold(0xcbf2_9ce4_8422_2325u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        let sign = if hash >> 63 == 0 { 1.0 } else { -1.0 };
        vector[hash as usize % DIM] += sign;
    }
    let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
    if norm > 0.0 {
        for x in &mut vector {
            *x /= norm;
        }
    }
    vector
}

/// The query's embedding, and each candidate with its embedding.
type Embedded = (Vector, Vec<(Hit, Vector)>);

/// The "embed" stage: embeds the query and the text of every candidate.
fn embed_candidates(corpus: &[String], query: &str, hits: Vec<Hit>) -> Embedded {
    let candidates = hits
        .into_iter()
        .map(|hit| (hit, embed_text(&corpus[hit.doc as usize])))
        .collect();
    (embed_text(query), candidates)
}

/// The "rerank" stage: the `k` candidates most cosine-similar to the query, best first.
fn rerank((query, candidates): &Embedded, k: usize) -> Vec<Hit> {
    let hits = candidates.iter().map(|(hit, vector)| Hit {
        doc: hit.doc,
        score: vector.iter().zip(query).map(|(a, b)| a * b).sum(),
    });
    best(hits.collect(), k)
}

/// What generation produces.
struct Answer {
    /// The prompt a language model would be given.
    prompt: String,
    /// The extracted answer, citing its source document.
    text: String,
}

/// The "generate" stage: builds the prompt and extracts, as the answer, the context sentence
/// that covers the most distinct query terms (earlier documents win ties).
fn generate(corpus: &[String], query: &str, terms: &[String], context: &[Hit]) -> Answer {
    let mut prompt = format!("Answer using only the context.\n\nQuestion: {query}\n\nContext:\n");
    let (mut best_cover, mut text) = (0, String::from("I don't know."));
    for (rank, hit) in context.iter().enumerate() {
        let doc = &corpus[hit.doc as usize];
        prompt.push_str(&format!("[{}] {}\n", rank + 1, doc.trim_end()));
        for sentence in doc.split('.').map(str::trim).filter(|s| !s.is_empty()) {
            let matched = tokens(sentence)
                .filter_map(|t| terms.iter().position(|q| *q == t))
                .fold(0u64, |mask, i| mask | 1 << i);
            if matched.count_ones() > best_cover {
                best_cover = matched.count_ones();
                text = format!("{sentence}. [{}]", rank + 1);
            }
        }
    }
    prompt.push_str("\nAnswer:");
    Answer { prompt, text }
}

/// Runs one query through every stage, timing each with a different tracker API.
fn run_query<'q>(
    tracker: &LatencyTracker,
    index: &Index,
    corpus: &[String],
    embed: &impl Fn((&'q str, Vec<Hit>)) -> Embedded,
    query: &'q str,
) -> Result<Answer, perftrack::Error> {
    let _query = tracker.track("query"); // a guard: records when it drops
    let terms = tracker.time("tokenize", || tokenize(query));
    let hits = tracker.time("retrieve", || index.search(&terms, CANDIDATES));
    let embedded = embed((query, hits)); // made by `tracker.wrap`
    let context = tracker.time("rerank", || rerank(&embedded, CONTEXT_DOCS));
    let session = tracker.start_tracking(Some("generate"));
    let answer = generate(corpus, query, &terms, &context);
    tracker.stop_tracking(&session)?;
    Ok(answer)
}

/// Prints one row per stage in pipeline order, the stage that dominates a query, and the
/// end-to-end throughput.
fn report(stats: &BTreeMap<String, Statistics>, unit: TimeUnit) {
    println!("\nlatency per stage, in {unit}:");
    println!(
        "{:<10} {:>6} {:>10} {:>10} {:>10} {:>10} {:>10}",
        "stage", "count", "mean", "p50", "p90", "p99", "max"
    );
    for (label, s) in STAGES.iter().filter_map(|&l| Some((l, stats.get(l)?))) {
        println!(
            "{label:<10} {:>6} {:>10.1} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            s.count, s.mean, s.p50, s.p90, s.p99, s.max
        );
    }
    // The per-query stages: every label but "index" and "query".
    let means = STAGES[1..STAGES.len() - 1]
        .iter()
        .filter_map(|&l| Some((l, stats.get(l)?.mean)));
    let total: f64 = means.clone().map(|(_, mean)| mean).sum();
    if let Some((label, mean)) = means.max_by(|a, b| a.1.total_cmp(&b.1)) {
        let share = 100.0 * mean / total;
        println!(
            "\ndominant stage: {label}, {share:.1}% of the {total:.1} {unit} summed stage means"
        );
    }
    if let Some(s) = stats.get("query") {
        let seconds = unit.to_seconds(s.sum);
        let qps = s.count as f64 / seconds;
        println!("throughput: {qps:.1} queries/s ({seconds:.3} s of query time)");
    }
}

/// Builds the corpus and the index, runs every query, then reports and saves the metrics.
fn main() -> Result<(), Box<dyn Error>> {
    // Microseconds: the fastest stages take about one, the slowest (indexing) a fraction of
    // a second.
    let unit = TimeUnit::Microseconds;
    let tracker = LatencyTracker::new(LatencyConfig {
        time_unit: unit,
        ..Default::default()
    });

    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let vocabulary = Vocabulary::new(VOCABULARY);
    let corpus: Vec<String> = (0..DOCS).map(|_| document(&vocabulary, &mut rng)).collect();
    let queries: Vec<String> = (0..QUERIES)
        .map(|_| question(&vocabulary, &mut rng))
        .collect();

    let indexing = tracker.track("index");
    let index = Index::build(&corpus);
    let record = indexing.stop(); // stopping a guard returns the record
    let (docs, terms) = (corpus.len(), index.terms.len());
    let words: u64 = index.lengths.iter().map(|&l| u64::from(l)).sum();
    println!("corpus: {docs} documents, {words} words, {terms} distinct terms");
    println!("index: built in {:.1} ms", record.seconds() * 1e3);

    let embed = tracker.wrap("embed", |(query, hits): (&str, Vec<Hit>)| {
        embed_candidates(&corpus, query, hits)
    });
    let mut prompt_bytes = 0;
    for (i, query) in queries.iter().enumerate() {
        let answer = run_query(&tracker, &index, &corpus, &embed, query)?;
        prompt_bytes += answer.prompt.len();
        if i == 0 {
            println!("sample: {query:?}\n  answer: {:?}", answer.text);
        }
    }
    let mean_prompt = prompt_bytes / queries.len().max(1);
    println!(
        "{} queries answered; mean prompt {mean_prompt} bytes",
        queries.len()
    );

    let stats = tracker.statistics_by_label();
    report(&stats, unit);

    let path = std::env::temp_dir().join("perftrack-rag-pipeline.json");
    tracker.save_metrics(&path)?;
    println!("metrics saved to {}", path.display());
    Ok(())
}
