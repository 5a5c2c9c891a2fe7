//! Answers, extractive: the two or three sentences of the best passages that share the most
//! of the question's weight (idf), best first. No language model is involved: the answer is
//! streamed the way a generator streams one, each sentence handed out as soon as it is
//! selected, so that its first sentence, the pace after it and the gaps between sentences can
//! be measured as a generation's time to first token, time per output token and inter-chunk
//! latency.

use std::sync::Arc;

use anyhow::{Context, Result};

use crate::chunk::Passage;
use crate::rerank::Ranked;
use crate::search::QueryTerm;
use crate::text::{self, Analyzer};

/// How many of the best passages answers are taken from.
const CONTEXT_PASSAGES: usize = 3;
/// The most sentences in an answer.
const MAX_SENTENCES: usize = 3;
/// An answer has this many sentences whenever that many match the question at all.
const MIN_SENTENCES: usize = 2;
/// Sentences beyond [`MIN_SENTENCES`] must score at least this share of the best one's.
const RELATIVE_CUTOFF: f64 = 0.6;
/// Sentences shorter than this are too short to answer anything.
const MIN_WORDS: usize = 5;
/// Sentences longer than this are usually lists or tables run together.
const MAX_WORDS: usize = 60;
/// How much a sentence's score drops per rank of its passage, so that ties go to the
/// better passage.
const RANK_PENALTY: f64 = 0.02;

/// An extracted answer.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Answer {
    /// Its sentences, best first, as they were streamed; empty when no sentence matched the
    /// question.
    pub(crate) sentences: Vec<String>,
    /// The files its sentences come from, each once.
    pub(crate) sources: Vec<Arc<str>>,
}

impl Answer {
    /// Whether no sentence matched the question.
    pub(crate) fn is_empty(&self) -> bool {
        self.sentences.is_empty()
    }

    /// Its text: the sentences joined with spaces.
    pub(crate) fn text(&self) -> String {
        self.sentences.join(" ")
    }
}

/// A sentence that may go into the answer.
struct Candidate<'a> {
    /// Its passage's rank and its position in the passage: its reading order, which breaks
    /// ties of score.
    order: (usize, usize),
    /// The share of the question's weight it covers, less the rank penalty.
    score: f64,
    /// Its text.
    text: &'a str,
    /// Its passage's file.
    source: &'a Arc<str>,
}

/// The words an answer is drawn from: the question and the passages it reads, what a
/// generator's prompt would hold (its input tokens, a word counted as a token).
pub(crate) fn prompt_words(question: &str, ranked: &[Ranked], passages: &[Passage]) -> usize {
    let context: usize = ranked
        .iter()
        .take(CONTEXT_PASSAGES)
        .filter_map(|hit| passages.get(hit.passage))
        .map(|passage| passage.words)
        .sum();
    text::word_count(question) + context
}

/// Extracts an answer from the best of the reranked passages, handing each sentence to `emit`
/// as soon as it is selected: the first once every sentence of the passages has been scored
/// (the work before a first token), each later one after one more pass over the candidates.
pub(crate) fn extract(
    terms: &[QueryTerm],
    ranked: &[Ranked],
    passages: &[Passage],
    analyzer: &mut Analyzer,
    mut emit: impl FnMut(&str),
) -> Result<Answer> {
    let total_idf: f64 = terms.iter().map(|t| t.idf).sum();
    if total_idf <= 0.0 {
        return Ok(Answer::default());
    }
    let mut candidates = Vec::new();
    let mut tokens = Vec::new();
    for (rank, hit) in ranked.iter().take(CONTEXT_PASSAGES).enumerate() {
        let passage = passages
            .get(hit.passage)
            .with_context(|| format!("reranking returned unknown passage {}", hit.passage))?;
        for (position, sentence) in passage.sentences.iter().enumerate() {
            if sentence.code || !is_answer_like(&sentence.text) {
                continue;
            }
            tokens.clear();
            analyzer.terms_into(&sentence.text, &mut tokens);
            let covered: f64 = terms
                .iter()
                .filter(|t| tokens.contains(&t.term))
                .map(|t| t.idf)
                .sum();
            if covered > 0.0 {
                candidates.push(Candidate {
                    order: (rank, position),
                    score: covered / total_idf - RANK_PENALTY * rank as f64,
                    text: &sentence.text,
                    source: &passage.source,
                });
            }
        }
    }
    // Higher scores first; on a tie, the earlier sentence in reading order.
    let before = |a: &Candidate<'_>, b: &Candidate<'_>| {
        b.score.total_cmp(&a.score).then(a.order.cmp(&b.order))
    };
    // At most three sentences are taken, so each is found when it is needed, the best of the
    // candidates left, rather than by sorting them all first.
    let mut answer = Answer::default();
    let mut best = None;
    while answer.sentences.len() < MAX_SENTENCES {
        let next = (0..candidates.len()).min_by(|&i, &j| before(&candidates[i], &candidates[j]));
        let Some(next) = next else {
            break;
        };
        let candidate = candidates.swap_remove(next);
        let best = *best.get_or_insert(candidate.score);
        let enough = answer.sentences.len() >= MIN_SENTENCES;
        if enough && candidate.score < RELATIVE_CUTOFF * best {
            break;
        }
        if answer
            .sentences
            .iter()
            .all(|s| s.as_str() != candidate.text)
        {
            emit(candidate.text);
            answer.sentences.push(candidate.text.to_owned());
            if !answer.sources.contains(candidate.source) {
                answer.sources.push(Arc::clone(candidate.source));
            }
        }
    }
    Ok(answer)
}

/// Whether a sentence reads like an answer: a full sentence of prose (ending with a period
/// or an exclamation mark, not a heading or a question) of reasonable length.
fn is_answer_like(sentence: &str) -> bool {
    let end = sentence.trim_end_matches(['"', '\'', ')', ']', '”', '’']);
    let words = text::word_count(sentence);
    (end.ends_with('.') || end.ends_with('!')) && (MIN_WORDS..=MAX_WORDS).contains(&words)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::chunk::Sentence;
    use tantivy::tokenizer::{LowerCaser, SimpleTokenizer, TextAnalyzer};

    #[test]
    fn sentences_are_emitted_best_first_as_they_are_selected() {
        let sentences = [
            "Cargo builds your project with many options today.",
            "Rust code is compiled by the compiler into binaries.",
            "Cargo and Rust work together to build every project.",
        ];
        let passages = [Passage {
            document: 0,
            source: Arc::from("cargo.md"),
            sentences: sentences
                .iter()
                .map(|text| Sentence {
                    text: (*text).to_owned(),
                    code: false,
                })
                .collect(),
            words: 27,
        }];
        let terms: Vec<QueryTerm> = ["cargo", "rust", "project"]
            .into_iter()
            .map(|term| QueryTerm {
                term: term.to_owned(),
                idf: 1.0,
            })
            .collect();
        let ranked = [Ranked {
            passage: 0,
            score: 1.0,
        }];
        let mut analyzer = Analyzer::new(
            TextAnalyzer::builder(SimpleTokenizer::default())
                .filter(LowerCaser)
                .build(),
        );
        let mut emitted = Vec::new();
        let answer = extract(&terms, &ranked, &passages, &mut analyzer, |s| {
            emitted.push(s.to_owned());
        })
        .unwrap();
        // All three terms, then two of three; the third sentence's one of three is below 60 %
        // of the best.
        assert_eq!(emitted, [sentences[2], sentences[0]]);
        assert_eq!(answer.sentences, emitted);
        assert_eq!(answer.sources, [Arc::from("cargo.md")]);
        // The question's 4 words and the passage's 27.
        assert_eq!(
            prompt_words("Which builds the project?", &ranked, &passages),
            31
        );
    }

    #[test]
    fn answer_like_sentences_are_full_prose_sentences() {
        assert!(is_answer_like("Boxes store data on the heap."));
        assert!(is_answer_like("A box (a pointer) owns its data.)"));
        assert!(!is_answer_like("Using Box<T> to Point to Data on the Heap"));
        assert!(!is_answer_like("What Is Ownership?"));
        assert!(!is_answer_like("Too short."));
    }
}
