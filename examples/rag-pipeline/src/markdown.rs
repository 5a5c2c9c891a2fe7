//! Markdown (and plain text) to text blocks: paragraphs, headings, list items and table rows
//! become prose blocks with links, emphasis and inline HTML removed; fenced code becomes
//! code blocks.

use crate::corpus::Block;
use crate::html;

/// The text of a Markdown document as blocks.
pub(crate) fn to_blocks(markdown: &str) -> Vec<Block> {
    let mut out = Paragraphs::default();
    let mut fence: Option<&str> = None;
    for line in markdown.lines() {
        let trimmed = line.trim();
        if let Some(marker) = fence {
            if trimmed.starts_with(marker) {
                out.end(true);
                fence = None;
            } else {
                out.push(trimmed);
            }
            continue;
        }
        if let Some(marker) = ["```", "~~~"].into_iter().find(|m| trimmed.starts_with(m)) {
            out.end(false);
            fence = Some(marker);
            continue;
        }
        if trimmed.is_empty() || is_rule(trimmed) || is_link_definition(trimmed) {
            out.end(false);
            continue;
        }
        if trimmed.starts_with('|') {
            // A table row: one block per row; the `|---|` separator row is dropped.
            out.end(false);
            if !trimmed.chars().all(|c| matches!(c, '|' | '-' | ':' | ' ')) {
                out.push(&inline(&trimmed.replace('|', " ")));
                out.end(false);
            }
            continue;
        }
        let (starts_block, content) = block_start(trimmed);
        if starts_block {
            out.end(false);
        }
        out.push(&inline(content));
        if trimmed.starts_with('#') {
            out.end(false);
        }
    }
    // An unclosed fence runs to the end of the document.
    out.end(fence.is_some());
    out.blocks
}

/// The text of a plain-text document as blocks: paragraphs separated by blank lines.
pub(crate) fn plain_to_blocks(text: &str) -> Vec<Block> {
    let mut out = Paragraphs::default();
    for line in text.lines() {
        match line.trim() {
            "" => out.end(false),
            line => out.push(line),
        }
    }
    out.end(false);
    out.blocks
}

/// Whether a line starts a block of its own, and its content without the Markdown marker
/// (heading `#`s, a list bullet or number, quote `>`s).
fn block_start(line: &str) -> (bool, &str) {
    let quoted = line.trim_start_matches(['>', ' ']);
    if let Some(heading) = quoted.strip_prefix('#') {
        return (
            true,
            heading.trim_start_matches('#').trim_end_matches('#').trim(),
        );
    }
    for bullet in ["- ", "* ", "+ "] {
        if let Some(item) = quoted.strip_prefix(bullet) {
            return (true, item);
        }
    }
    let number = quoted.trim_start_matches(|c: char| c.is_ascii_digit());
    if number.len() < quoted.len()
        && let Some(item) = number
            .strip_prefix(". ")
            .or_else(|| number.strip_prefix(") "))
    {
        return (true, item);
    }
    (false, quoted)
}

/// Whether a line is a thematic break or a setext heading underline (`---`, `***`, `===`).
fn is_rule(line: &str) -> bool {
    let marks: String = line.chars().filter(|c| !c.is_whitespace()).collect();
    marks.len() >= 3
        && ['-', '*', '=', '_']
            .iter()
            .any(|&m| marks.chars().all(|c| c == m))
}

/// Whether a line defines a link reference (`[name]: https://...`).
fn is_link_definition(line: &str) -> bool {
    line.starts_with('[') && line.find("]:").is_some()
}

/// The text of one line: images become their alt text, links their text, inline HTML and
/// emphasis markers are removed.
fn inline(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut rest = line;
    while let Some(open) = rest.find('[') {
        let image = rest[..open].ends_with('!');
        out.push_str(&rest[..open - usize::from(image)]);
        let after = &rest[open + 1..];
        let Some(close) = matching(after, '[', ']') else {
            out.push('[');
            rest = after;
            continue;
        };
        out.push_str(&inline(&after[..close]));
        rest = &after[close + 1..];
        // Skip the target: `(url "title")` or `[reference]`.
        for (open, close) in [('(', ')'), ('[', ']')] {
            if let Some(target) = rest.strip_prefix(open) {
                if let Some(end) = matching(target, open, close) {
                    rest = &target[end + 1..];
                }
                break;
            }
        }
    }
    out.push_str(rest);
    // Code spans (between backticks) are kept as they are; elsewhere, emphasis markers and
    // inline HTML go.
    out.split('`')
        .enumerate()
        .map(|(i, part)| {
            if i % 2 == 1 {
                part.to_owned()
            } else {
                html::strip_tags(&part.replace('*', "").replace("__", ""))
            }
        })
        .collect()
}

/// The position of the `close` that balances an already opened `open` in `text`.
fn matching(text: &str, open: char, close: char) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in text.char_indices() {
        if c == open {
            depth += 1;
        } else if c == close {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
        }
    }
    None
}

/// Collects the lines of blocks, joined with spaces.
#[derive(Default)]
struct Paragraphs {
    /// The finished blocks.
    blocks: Vec<Block>,
    /// The lines of the block being filled, joined with spaces.
    current: String,
}

impl Paragraphs {
    /// Adds a line to the current block. White space is collapsed.
    fn push(&mut self, line: &str) {
        for word in line.split_whitespace() {
            if !self.current.is_empty() {
                self.current.push(' ');
            }
            self.current.push_str(word);
        }
    }

    /// Ends the current block, a code block if `code`.
    fn end(&mut self, code: bool) {
        if !self.current.is_empty() {
            self.blocks.push(Block {
                text: std::mem::take(&mut self.current),
                code,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(blocks: &[Block]) -> Vec<(&str, bool)> {
        blocks.iter().map(|b| (b.text.as_str(), b.code)).collect()
    }

    #[test]
    fn markdown_becomes_prose_and_code_blocks() {
        let markdown = "\
# Smart pointers #

[![badge](https://x/y.svg)](https://x) A `Box<T>` stores data
on the **heap**; see [the book][book] or [docs](https://doc.rust-lang.org \"Docs\").

- first item
- second <b>item</b>

```rust
let b = Box::new(5);
```

| type | use |
|------|-----|
| Rc   | shared |

[book]: https://doc.rust-lang.org/book
Title
=====
> Quoted &amp; done.
";
        assert_eq!(
            texts(&to_blocks(markdown)),
            [
                ("Smart pointers", false),
                (
                    "badge A Box<T> stores data on the heap; see the book or docs.",
                    false
                ),
                ("first item", false),
                ("second item", false),
                ("let b = Box::new(5);", true),
                ("type use", false),
                ("Rc shared", false),
                ("Title", false),
                ("Quoted & done.", false),
            ]
        );
    }

    #[test]
    fn plain_text_paragraphs() {
        assert_eq!(
            texts(&plain_to_blocks("one\ntwo\n\n\nthree\n")),
            [("one two", false), ("three", false)]
        );
    }

    #[test]
    fn unbalanced_brackets_are_text() {
        assert_eq!(inline("a [b (c"), "a [b (c");
        assert_eq!(inline("1. [x](y) z"), "1. x z");
    }
}
