//! Answers, extractive: the two or three sentences of the best passages that share the most
//! of the question's weight (idf), in reading order.

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
    /// Its sentences, in reading order; empty when no sentence matched the question.
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
    /// Its passage's rank and its position in the passage: its reading order.
    order: (usize, usize),
    /// The share of the question's weight it covers, less the rank penalty.
    score: f64,
    /// Its text.
    text: &'a str,
    /// Its passage's file.
    source: &'a Arc<str>,
}

/// Extracts an answer from the best of the reranked passages.
pub(crate) fn extract(
    terms: &[QueryTerm],
    ranked: &[Ranked],
    passages: &[Passage],
    analyzer: &mut Analyzer,
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
    candidates.sort_by(|a, b| b.score.total_cmp(&a.score).then(a.order.cmp(&b.order)));
    let mut chosen: Vec<&Candidate<'_>> = Vec::new();
    for candidate in &candidates {
        let best = chosen.first().map_or(candidate.score, |c| c.score);
        let enough = chosen.len() >= MIN_SENTENCES;
        if chosen.len() == MAX_SENTENCES || (enough && candidate.score < RELATIVE_CUTOFF * best) {
            break;
        }
        if chosen.iter().all(|c| c.text != candidate.text) {
            chosen.push(candidate);
        }
    }
    chosen.sort_by_key(|c| c.order);
    let mut answer = Answer::default();
    for candidate in chosen {
        answer.sentences.push(candidate.text.to_owned());
        if !answer.sources.contains(candidate.source) {
            answer.sources.push(Arc::clone(candidate.source));
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

    #[test]
    fn answer_like_sentences_are_full_prose_sentences() {
        assert!(is_answer_like("Boxes store data on the heap."));
        assert!(is_answer_like("A box (a pointer) owns its data.)"));
        assert!(!is_answer_like("Using Box<T> to Point to Data on the Heap"));
        assert!(!is_answer_like("What Is Ownership?"));
        assert!(!is_answer_like("Too short."));
    }
}
