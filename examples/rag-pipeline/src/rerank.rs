//! Reranking: a second, finer scoring pass over the passages BM25 retrieved. Each passage is
//! re-read through the index's analyzer and scored on three signals: its BM25 score
//! (relative to the best hit), how much of the question's weight (idf) its terms cover, and
//! how close together the question's terms occur in it.

use anyhow::{Context, Result};

use crate::chunk::Passage;
use crate::search::{Hit, QueryTerm};
use crate::text::Analyzer;

/// The weight of the BM25 score, relative to the best hit's.
const BM25_WEIGHT: f64 = 0.5;
/// The weight of the share of the question's idf the passage covers.
const COVERAGE_WEIGHT: f64 = 0.3;
/// The weight of the proximity of the question's terms in the passage.
const PROXIMITY_WEIGHT: f64 = 0.2;

/// A reranked passage.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Ranked {
    /// The passage's number.
    pub(crate) passage: usize,
    /// Its combined score, 0 to 1.
    pub(crate) score: f64,
}

/// Scores every hit again and sorts them, best first.
pub(crate) fn rerank(
    terms: &[QueryTerm],
    hits: &[Hit],
    passages: &[Passage],
    analyzer: &mut Analyzer,
) -> Result<Vec<Ranked>> {
    let best_bm25 = hits.iter().map(|h| f64::from(h.score)).fold(0.0, f64::max);
    let total_idf: f64 = terms.iter().map(|t| t.idf).sum();
    let mut tokens = Vec::new();
    let mut ranked = Vec::with_capacity(hits.len());
    for hit in hits {
        let passage = passages
            .get(hit.passage)
            .with_context(|| format!("retrieval returned unknown passage {}", hit.passage))?;
        tokens.clear();
        for sentence in &passage.sentences {
            analyzer.terms_into(&sentence.text, &mut tokens);
        }
        let occurrences: Vec<(usize, usize)> = tokens
            .iter()
            .enumerate()
            .filter_map(|(position, token)| {
                let term = terms.iter().position(|t| t.term == *token)?;
                Some((position, term))
            })
            .collect();
        let mut seen = vec![false; terms.len()];
        for &(_, term) in &occurrences {
            seen[term] = true;
        }
        let covered: f64 = terms
            .iter()
            .zip(&seen)
            .filter(|(_, seen)| **seen)
            .map(|(t, _)| t.idf)
            .sum();
        let coverage = if total_idf > 0.0 {
            covered / total_idf
        } else {
            0.0
        };
        let bm25 = if best_bm25 > 0.0 {
            f64::from(hit.score) / best_bm25
        } else {
            0.0
        };
        let score = BM25_WEIGHT * bm25
            + COVERAGE_WEIGHT * coverage
            + PROXIMITY_WEIGHT * proximity(&occurrences, terms.len());
        ranked.push(Ranked {
            passage: hit.passage,
            score,
        });
    }
    ranked.sort_by(|a, b| b.score.total_cmp(&a.score));
    Ok(ranked)
}

/// How close together the distinct terms found in a passage occur, 0 to 1: their number
/// divided by the length of the shortest stretch of tokens that holds each of them (1 when
/// they are adjacent). 0 when fewer than two distinct terms occur.
///
/// `occurrences` are `(position, term)` pairs in position order, with terms below `terms`.
fn proximity(occurrences: &[(usize, usize)], terms: usize) -> f64 {
    let mut counts = vec![0usize; terms];
    let distinct = {
        let mut seen = vec![false; terms];
        occurrences.iter().for_each(|&(_, t)| seen[t] = true);
        seen.iter().filter(|s| **s).count()
    };
    if distinct < 2 {
        return 0.0;
    }
    let mut shortest = usize::MAX;
    let mut inside = 0;
    let mut start = 0;
    for &(position, term) in occurrences {
        counts[term] += 1;
        if counts[term] == 1 {
            inside += 1;
        }
        while inside == distinct {
            let (first, first_term) = occurrences[start];
            shortest = shortest.min(position - first + 1);
            counts[first_term] -= 1;
            if counts[first_term] == 0 {
                inside -= 1;
            }
            start += 1;
        }
    }
    distinct as f64 / shortest as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proximity_is_the_density_of_the_shortest_covering_window() {
        // Terms 0 and 1 adjacent at positions 7 and 8.
        assert_eq!(proximity(&[(0, 0), (7, 0), (8, 1)], 2), 1.0);
        // Three terms, best window from 10 to 15.
        let occurrences = [(0, 0), (4, 1), (10, 2), (12, 1), (15, 0), (30, 2)];
        assert_eq!(proximity(&occurrences, 3), 3.0 / 6.0);
        // One distinct term: no proximity.
        assert_eq!(proximity(&[(1, 0), (2, 0)], 2), 0.0);
        assert_eq!(proximity(&[], 0), 0.0);
    }
}
