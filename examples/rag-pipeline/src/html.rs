//! HTML to text, crudely but carefully: the page's `<main>` element when it has one, without
//! scripts, styles and comments, with entities decoded and block elements (paragraphs,
//! headings, list items, table cells...) kept apart. `<pre>` elements become code blocks.

use crate::corpus::Block;

/// Elements whose content is not text and is skipped whole.
const SKIPPED: &[&str] = &["head", "noscript", "script", "style", "svg", "template"];

/// Elements that start and end a block of text.
const BLOCKS: &[&str] = &[
    "address",
    "article",
    "aside",
    "blockquote",
    "br",
    "dd",
    "details",
    "div",
    "dl",
    "dt",
    "figcaption",
    "figure",
    "footer",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "header",
    "hr",
    "li",
    "main",
    "nav",
    "ol",
    "p",
    "section",
    "summary",
    "table",
    "td",
    "th",
    "title",
    "tr",
    "ul",
];

/// The text of an HTML page as blocks.
pub(crate) fn to_blocks(html: &str) -> Vec<Block> {
    let mut out = Blocks::default();
    let mut rest = main_content(html);
    while let Some(lt) = rest.find('<') {
        out.text(&rest[..lt]);
        rest = &rest[lt..];
        if let Some(comment) = rest.strip_prefix("<!--") {
            rest = comment.find("-->").map_or("", |end| &comment[end + 3..]);
            continue;
        }
        let Some(tag) = Tag::parse(rest) else {
            // A `<` that starts no tag is text.
            out.text("<");
            rest = &rest[1..];
            continue;
        };
        rest = &rest[tag.len..];
        let name = tag.name.as_str();
        if SKIPPED.contains(&name) && !tag.closing && !tag.self_closing {
            rest = after_closing_tag(rest, name);
        } else if name == "pre" {
            out.set_code(!tag.closing);
        } else if BLOCKS.contains(&name) {
            out.end_block();
        }
    }
    out.text(rest);
    out.finish()
}

/// Removes the tags from an HTML fragment and decodes its entities: the text of inline HTML
/// in Markdown.
pub(crate) fn strip_tags(fragment: &str) -> String {
    let mut out = String::new();
    let mut rest = fragment;
    while let Some(lt) = rest.find('<') {
        decode_entities_into(&rest[..lt], &mut out);
        rest = &rest[lt..];
        match Tag::parse(rest) {
            Some(tag) => rest = &rest[tag.len..],
            None => {
                out.push('<');
                rest = &rest[1..];
            }
        }
    }
    decode_entities_into(rest, &mut out);
    out
}

/// The content of the page's `<main>` element, else of its `<body>`, else the whole page.
fn main_content(html: &str) -> &str {
    for name in ["main", "body"] {
        let Some(open) = find_tag(html, name, false) else {
            continue;
        };
        let start = open + html[open..].find('>').map_or(0, |gt| gt + 1);
        let end = find_last_tag(html, name, true).filter(|&end| end >= start);
        return &html[start..end.unwrap_or(html.len())];
    }
    html
}

/// One parsed tag.
#[derive(Debug)]
struct Tag {
    /// The element's name, in lower case (`!doctype` and the like for declarations).
    name: String,
    /// Whether it is a closing tag (`</p>`).
    closing: bool,
    /// Whether it closes itself (`<br/>`).
    self_closing: bool,
    /// Its length in bytes, `<` and `>` included.
    len: usize,
}

impl Tag {
    /// Parses the tag `text` starts with, or `None` when `<` starts no tag (as in `a < b`).
    /// Quoted attribute values may contain `>`; a tag that never ends runs to the end.
    fn parse(text: &str) -> Option<Tag> {
        let after = text.strip_prefix('<')?;
        let (closing, after) = match after.strip_prefix('/') {
            Some(after) => (true, after),
            None => (false, after),
        };
        let name_len = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '!' || c == '-'))
            .unwrap_or(after.len());
        let name = &after[..name_len];
        if !name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '!') {
            return None;
        }
        let mut quote = None;
        let mut end = text.len();
        for (i, c) in text
            .char_indices()
            .skip(1 + usize::from(closing) + name_len)
        {
            match (quote, c) {
                (None, '"' | '\'') => quote = Some(c),
                (Some(q), _) if q == c => quote = None,
                (None, '>') => {
                    end = i + 1;
                    break;
                }
                _ => {}
            }
        }
        Some(Tag {
            name: name.to_ascii_lowercase(),
            closing,
            self_closing: text[..end].ends_with("/>"),
            len: end,
        })
    }
}

/// The text after the closing tag of `name` (the end of `text` if there is none).
fn after_closing_tag<'a>(text: &'a str, name: &str) -> &'a str {
    match find_tag(text, name, true) {
        Some(at) => {
            let rest = &text[at..];
            rest.find('>').map_or("", |gt| &rest[gt + 1..])
        }
        None => "",
    }
}

/// Where the first tag `<name` (or `</name` when `closing`) starts, ignoring case.
fn find_tag(text: &str, name: &str, closing: bool) -> Option<usize> {
    tag_starts(text, name, closing).next()
}

/// Where the last tag `<name` (or `</name`) starts, ignoring case.
fn find_last_tag(text: &str, name: &str, closing: bool) -> Option<usize> {
    tag_starts(text, name, closing).last()
}

/// Every position where a tag `<name` (or `</name`) starts, ignoring case: the name must be
/// followed by `>`, `/` or white space.
fn tag_starts<'a>(text: &'a str, name: &'a str, closing: bool) -> impl Iterator<Item = usize> + 'a {
    let prefix_len = if closing { 2 } else { 1 };
    text.match_indices('<').map(|(i, _)| i).filter(move |&i| {
        let rest = &text.as_bytes()[i..];
        let slash = rest.get(1) == Some(&b'/');
        let end = prefix_len + name.len();
        slash == closing
            && rest
                .get(prefix_len..end)
                .is_some_and(|n| n.eq_ignore_ascii_case(name.as_bytes()))
            && rest
                .get(end)
                .is_none_or(|&c| c == b'>' || c == b'/' || c.is_ascii_whitespace())
    })
}

/// Appends `text` to `out` with its character references decoded: the common named ones
/// and every numeric one. Unknown references are kept as they are.
fn decode_entities_into(text: &str, out: &mut String) {
    let mut rest = text;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        rest = &rest[amp..];
        let decoded = rest[1..]
            .char_indices()
            .take(12)
            .find(|&(_, c)| c == ';')
            .and_then(|(semi, _)| Some((decode_entity(&rest[1..=semi])?, semi + 2)));
        match decoded {
            Some((c, len)) => {
                out.push(c);
                rest = &rest[len..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
}

/// The character a reference (without `&` and `;`) stands for.
fn decode_entity(name: &str) -> Option<char> {
    if let Some(number) = name.strip_prefix('#') {
        let code = match number.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => number.parse().ok()?,
        };
        return char::from_u32(code);
    }
    Some(match name {
        "amp" => '&',
        "lt" => '<',
        "gt" => '>',
        "quot" => '"',
        "apos" => '\'',
        "nbsp" => ' ',
        "ndash" => '–',
        "mdash" => '—',
        "hellip" => '…',
        "lsquo" => '‘',
        "rsquo" => '’',
        "ldquo" => '“',
        "rdquo" => '”',
        "laquo" => '«',
        "raquo" => '»',
        "copy" => '©',
        "times" => '×',
        "larr" => '←',
        "rarr" => '→',
        _ => return None,
    })
}

/// Collects blocks of text with white space collapsed.
#[derive(Default)]
struct Blocks {
    /// The finished blocks.
    blocks: Vec<Block>,
    /// The block being filled.
    current: String,
    /// Whether the current block is code (inside `<pre>`).
    code: bool,
}

impl Blocks {
    /// Adds raw text: entities decoded, white space collapsed.
    fn text(&mut self, raw: &str) {
        let mut decoded = String::new();
        decode_entities_into(raw, &mut decoded);
        for c in decoded.chars() {
            if c.is_whitespace() {
                if !self.current.is_empty() && !self.current.ends_with(' ') {
                    self.current.push(' ');
                }
            } else {
                self.current.push(c);
            }
        }
    }

    /// Ends the current block.
    fn end_block(&mut self) {
        let text = self.current.trim_end();
        if !text.is_empty() {
            self.blocks.push(Block {
                text: text.to_owned(),
                code: self.code,
            });
        }
        self.current.clear();
    }

    /// Starts a code block (`true`) or a prose block (`false`).
    fn set_code(&mut self, code: bool) {
        self.end_block();
        self.code = code;
    }

    /// The blocks, the last one ended.
    fn finish(mut self) -> Vec<Block> {
        self.end_block();
        self.blocks
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(blocks: &[Block]) -> Vec<(&str, bool)> {
        blocks.iter().map(|b| (b.text.as_str(), b.code)).collect()
    }

    #[test]
    fn keeps_main_text_and_drops_scripts_styles_and_comments() {
        let html = r##"<!DOCTYPE html><html><head><title>T</title><style>p { x: 1 }</style></head>
            <body><nav>Menu</nav><main>
            <h2 id="x"><a href="#x">Using <code>Box&lt;T&gt;</code></a></h2>
            <p>Boxes store data<!-- ignore --> on the <em>heap</em>.
            They&rsquo;re cheap &amp; simple.</p>
            <script>if (a < b && c > d) { alert("</p>"); }</script>
            <pre><code>let b = Box::new(5);
println!("{b}");</code></pre>
            <ul><li>one</li><li data-x="a>b">two</li></ul>
            </main><footer>Footer</footer></body></html>"##;
        assert_eq!(
            texts(&to_blocks(html)),
            [
                ("Using Box<T>", false),
                (
                    "Boxes store data on the heap. They’re cheap & simple.",
                    false
                ),
                ("let b = Box::new(5); println!(\"{b}\");", true),
                ("one", false),
                ("two", false),
            ]
        );
    }

    #[test]
    fn without_main_uses_the_body_and_survives_broken_markup() {
        let html = "<html><body><p>1 < 2 &unknown; &#65;&#x42;</p><p>unclosed <b";
        assert_eq!(
            texts(&to_blocks(html)),
            [("1 < 2 &unknown; AB", false), ("unclosed", false)]
        );
    }

    #[test]
    fn strip_tags_keeps_inline_text() {
        assert_eq!(
            strip_tags(r#"<img src="x.svg" alt="x"> Fast &amp; <b>safe</b>"#),
            " Fast & safe"
        );
    }
}
