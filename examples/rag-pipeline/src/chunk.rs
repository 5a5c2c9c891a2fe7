//! Chunking: documents into passages of about 100 to 200 words that keep whole sentences
//! (and whole code blocks, when they fit) and the name of the file they come from.

use std::sync::Arc;

use crate::corpus::Document;
use crate::text;

/// A passage ends once it holds this many words.
const TARGET_WORDS: usize = 150;
/// A passage never grows past this many words by taking in another sentence.
const MAX_WORDS: usize = 200;
/// A document's last piece shorter than this joins the passage before it.
const MIN_TAIL_WORDS: usize = 50;

/// A sentence of prose, or a piece of code, inside a passage.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Sentence {
    /// Its text.
    pub(crate) text: String,
    /// Whether it is code.
    pub(crate) code: bool,
}

/// A passage: what the index holds and retrieval returns.
#[derive(Clone, Debug)]
pub(crate) struct Passage {
    /// The index of its document in the loaded corpus.
    pub(crate) document: usize,
    /// The file it comes from.
    pub(crate) source: Arc<str>,
    /// Its sentences and code, in order.
    pub(crate) sentences: Vec<Sentence>,
    /// How many words it holds.
    pub(crate) words: usize,
}

impl Passage {
    /// An empty passage of a document.
    fn new(document: usize, source: &Arc<str>) -> Self {
        Self {
            document,
            source: Arc::clone(source),
            sentences: Vec::new(),
            words: 0,
        }
    }

    /// Its text, one sentence or piece of code per line.
    pub(crate) fn text(&self) -> String {
        let lines: Vec<&str> = self.sentences.iter().map(|s| s.text.as_str()).collect();
        lines.join("\n")
    }

    /// Adds a sentence of `words` words.
    fn push(&mut self, sentence: Sentence, words: usize) {
        self.sentences.push(sentence);
        self.words += words;
    }
}

/// Splits every document into passages, in document order.
pub(crate) fn chunk(documents: &[Document]) -> Vec<Passage> {
    let mut passages = Vec::new();
    for (index, document) in documents.iter().enumerate() {
        let first = passages.len();
        let mut current = Passage::new(index, &document.source);
        for (sentence, words) in units(document) {
            if current.words > 0 && current.words + words > MAX_WORDS {
                let full = std::mem::replace(&mut current, Passage::new(index, &document.source));
                passages.push(full);
            }
            current.push(sentence, words);
            if current.words >= TARGET_WORDS {
                let full = std::mem::replace(&mut current, Passage::new(index, &document.source));
                passages.push(full);
            }
        }
        if current.words == 0 {
            continue;
        }
        let short_tail = passages.len() > first && current.words < MIN_TAIL_WORDS;
        match passages.last_mut() {
            Some(previous) if short_tail => {
                previous.words += current.words;
                previous.sentences.append(&mut current.sentences);
            }
            _ => passages.push(current),
        }
    }
    passages
}

/// A document's sentences and code blocks with their word counts; any longer than
/// [`MAX_WORDS`] are cut into pieces of [`TARGET_WORDS`] words.
fn units(document: &Document) -> impl Iterator<Item = (Sentence, usize)> + '_ {
    document.blocks.iter().flat_map(|block| {
        let pieces = if block.code {
            vec![block.text.as_str()]
        } else {
            text::sentences(&block.text)
        };
        let code = block.code;
        pieces.into_iter().flat_map(move |piece| {
            let words: Vec<&str> = piece.split_whitespace().collect();
            let parts: Vec<(Sentence, usize)> = if words.len() <= MAX_WORDS {
                vec![(
                    Sentence {
                        text: piece.to_owned(),
                        code,
                    },
                    words.len(),
                )]
            } else {
                words
                    .chunks(TARGET_WORDS)
                    .map(|part| {
                        let text = part.join(" ");
                        (Sentence { text, code }, part.len())
                    })
                    .collect()
            };
            parts
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::corpus::Block;

    fn document(blocks: Vec<Block>) -> Document {
        Document {
            source: Arc::from("doc.md"),
            blocks,
        }
    }

    fn prose(sentences: usize, words: usize) -> Block {
        let sentence = format!("Word {}.", vec!["word"; words - 1].join(" "));
        Block {
            text: vec![sentence; sentences].join(" "),
            code: false,
        }
    }

    #[test]
    fn passages_hold_100_to_200_words_of_whole_sentences() {
        let documents = [document(vec![prose(40, 12)]), document(vec![prose(3, 10)])];
        let passages = chunk(&documents);
        let words: Vec<usize> = passages.iter().map(|p| p.words).collect();
        // 480 words in sentences of 12: passages of 156 words; the 12-word tail joins the last.
        assert_eq!(words, [156, 156, 168, 30]);
        assert!(passages[..3].iter().all(|p| p.document == 0));
        assert_eq!(passages[3].document, 1);
        assert!(
            passages
                .iter()
                .all(|p| p.sentences.iter().all(|s| s.text.ends_with('.')))
        );
        assert_eq!(&*passages[0].source, "doc.md");
    }

    #[test]
    fn long_sentences_and_code_are_cut() {
        let code = Block {
            text: vec!["x"; 450].join(" "),
            code: true,
        };
        let passages = chunk(&[document(vec![code])]);
        let words: Vec<usize> = passages.iter().map(|p| p.words).collect();
        assert_eq!(words, [150, 150, 150]);
        assert!(passages.iter().all(|p| p.sentences.iter().all(|s| s.code)));
        assert_eq!(passages[0].text().lines().count(), 1);
    }
}
