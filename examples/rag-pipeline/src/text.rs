//! Text helpers shared by the stages: words, stop words, sentences, and the stemming analyzer
//! that makes question terms and passage terms comparable.

use tantivy::tokenizer::TextAnalyzer;

/// English function words, and the words questions are phrased with, which say nothing about
/// the topic. Sorted, for binary search.
const STOP_WORDS: &[&str] = &[
    "a", "about", "after", "all", "also", "an", "and", "any", "are", "as", "at", "be", "been",
    "before", "being", "between", "both", "but", "by", "can", "could", "did", "do", "does",
    "doing", "done", "each", "for", "from", "had", "has", "have", "how", "i", "if", "in", "into",
    "is", "it", "its", "me", "my", "no", "not", "of", "on", "only", "or", "other", "our", "out",
    "own", "same", "should", "so", "some", "such", "than", "that", "the", "their", "them", "then",
    "there", "these", "they", "this", "those", "through", "to", "too", "under", "up", "very",
    "was", "we", "were", "what", "when", "where", "which", "while", "who", "whom", "why", "will",
    "with", "would", "you", "your",
];

/// Abbreviations whose final period does not end a sentence.
const ABBREVIATIONS: &[&str] = &["e.g.", "etc.", "i.e.", "vs."];

/// Whether `word` (lower case) is a stop word.
pub(crate) fn is_stop_word(word: &str) -> bool {
    STOP_WORDS.binary_search(&word).is_ok()
}

/// The lower-case words of `text`: runs of alphanumeric characters, split as tantivy's
/// `SimpleTokenizer` splits them.
pub(crate) fn words(text: &str) -> impl Iterator<Item = String> + '_ {
    text.split(|c: char| !c.is_alphanumeric())
        .filter(|word| !word.is_empty())
        .map(str::to_lowercase)
}

/// How many whitespace-separated words `text` holds.
pub(crate) fn word_count(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Splits prose into sentences: after `.`, `!` or `?` (and any closing quotes or brackets)
/// followed by white space and a word that does not start in lower case. Abbreviations such
/// as "e.g." do not end a sentence. Sentences are trimmed; empty ones are dropped.
pub(crate) fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let mut chars = text.char_indices().peekable();
    while let Some((i, c)) = chars.next() {
        if !matches!(c, '.' | '!' | '?') {
            continue;
        }
        let mut end = i + c.len_utf8();
        while let Some(&(j, close)) = chars.peek() {
            if !matches!(close, '"' | '\'' | ')' | ']' | '”' | '’' | '»') {
                break;
            }
            end = j + close.len_utf8();
            chars.next();
        }
        let rest = &text[end..];
        let next = rest.trim_start();
        let spaced = next.len() < rest.len();
        let next_is_lower = next.chars().next().is_some_and(char::is_lowercase);
        if !spaced || next_is_lower || ends_with_abbreviation(&text[start..end]) {
            continue;
        }
        push_trimmed(&mut out, &text[start..end]);
        start = end;
    }
    push_trimmed(&mut out, &text[start..]);
    out
}

/// Whether the last word of `sentence` is an abbreviation or a single-letter initial.
fn ends_with_abbreviation(sentence: &str) -> bool {
    let last = sentence
        .rsplit(char::is_whitespace)
        .next()
        .unwrap_or_default();
    let last = last.trim_start_matches(['(', '"', '\'', '“', '‘']);
    ABBREVIATIONS.iter().any(|a| last.eq_ignore_ascii_case(a))
        || (last.len() == 2 && last.starts_with(|c: char| c.is_ascii_uppercase()))
}

/// Pushes `piece` trimmed, unless it is empty.
fn push_trimmed<'a>(out: &mut Vec<&'a str>, piece: &'a str) {
    let piece = piece.trim();
    if !piece.is_empty() {
        out.push(piece);
    }
}

/// The analyzer the index is built with (tantivy's English stemmer), used to turn questions
/// and passages into comparable terms. Each thread owns one: tantivy's analyzers need `&mut`.
#[derive(Clone)]
pub(crate) struct Analyzer(TextAnalyzer);

impl Analyzer {
    /// Wraps one of the index's analyzers.
    pub(crate) fn new(analyzer: TextAnalyzer) -> Self {
        Self(analyzer)
    }

    /// Appends the terms (lower-case stems) of `text` to `out`, in order.
    pub(crate) fn terms_into(&mut self, text: &str, out: &mut Vec<String>) {
        let mut stream = self.0.token_stream(text);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
    }

    /// The terms of `text`, in order.
    pub(crate) fn terms(&mut self, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        self.terms_into(text, &mut out);
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stop_words_are_sorted_and_unique() {
        assert!(STOP_WORDS.windows(2).all(|pair| pair[0] < pair[1]));
        assert!(is_stop_word("the") && is_stop_word("how") && !is_stop_word("borrow"));
    }

    #[test]
    fn words_split_like_the_simple_tokenizer() {
        let words: Vec<String> = words("Rc<T>'s clone() isn't deep!").collect();
        assert_eq!(words, ["rc", "t", "s", "clone", "isn", "t", "deep"]);
    }

    #[test]
    fn sentences_split_on_terminal_punctuation() {
        let text = "Boxes store data on the heap. They have no overhead! Why? \
                    Use them, e.g. for recursive types. The value (a `String`.) moves.";
        assert_eq!(
            sentences(text),
            [
                "Boxes store data on the heap.",
                "They have no overhead!",
                "Why?",
                "Use them, e.g. for recursive types.",
                "The value (a `String`.) moves."
            ]
        );
    }

    #[test]
    fn sentences_keep_versions_paths_and_lower_case_continuations() {
        let text = "Rust 1.85 reads std::io. and then more. See “Chapter 4.” Next";
        assert_eq!(
            sentences(text),
            [
                "Rust 1.85 reads std::io. and then more.",
                "See “Chapter 4.”",
                "Next"
            ]
        );
        assert!(sentences("  ").is_empty());
    }
}
