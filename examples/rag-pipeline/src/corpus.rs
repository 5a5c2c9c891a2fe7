//! The corpus: which documents to answer from, and loading them as blocks of text.
//!
//! By default the Rust book that ships with the toolchain (`rustc --print sysroot`, then
//! `share/doc/rust/html/book`); on a minimal toolchain without it, the Markdown files of the
//! crates in the local Cargo registry; or any folder of `.md`, `.txt` and `.html` files given
//! with `--corpus`.

use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use anyhow::{Context, Result, bail};

use crate::{html, markdown, report, text};

/// Pages mdBook generates that repeat other pages (the whole book on one page, the table of
/// contents); indexing them would return every passage twice.
const MDBOOK_GENERATED: &[&str] = &["print.html", "toc.html"];

/// A run of text: a paragraph, heading, list item or table row, or a block of code.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Block {
    /// The text, white space collapsed.
    pub(crate) text: String,
    /// Whether it is code rather than prose.
    pub(crate) code: bool,
}

/// A loaded document.
#[derive(Debug)]
pub(crate) struct Document {
    /// Where it comes from: its path relative to the corpus folder.
    pub(crate) source: Arc<str>,
    /// Its text.
    pub(crate) blocks: Vec<Block>,
}

impl Document {
    /// How many words the document holds.
    pub(crate) fn words(&self) -> usize {
        self.blocks.iter().map(|b| text::word_count(&b.text)).sum()
    }
}

/// Where a corpus was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Origin {
    /// The Rust book shipped with the toolchain.
    RustBook,
    /// The Markdown files of the crates in the local Cargo registry.
    Registry,
    /// A folder given with `--corpus`.
    Folder,
}

/// The files of a corpus, found but not read yet.
#[derive(Debug)]
pub(crate) struct Corpus {
    /// Where it was found.
    origin: Origin,
    /// Its folder.
    root: PathBuf,
    /// Each file's path and its name as passages cite it.
    files: Vec<(PathBuf, Arc<str>)>,
}

impl fmt::Display for Corpus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let what = match self.origin {
            Origin::RustBook => "the Rust book shipped with the toolchain",
            Origin::Registry => "the Markdown files of the crates in the Cargo registry",
            Origin::Folder => "the folder given with --corpus",
        };
        let files = report::plural(self.files.len(), "file", "files");
        write!(f, "{what}, {files} in {}", self.root.display())
    }
}

impl Corpus {
    /// Finds the corpus: `folder` if given, else the Rust book, else the Cargo registry.
    pub(crate) fn locate(folder: Option<&Path>) -> Result<Corpus> {
        if let Some(folder) = folder {
            let corpus = Self::folder(Origin::Folder, folder)?;
            if corpus.files.is_empty() {
                bail!("found no .md, .txt or .html files in {}", folder.display());
            }
            return Ok(corpus);
        }
        let book = rust_book();
        if let Some(book) = &book {
            let corpus = Self::folder(Origin::RustBook, book)?;
            if !corpus.files.is_empty() {
                return Ok(corpus);
            }
        }
        let registry = registry_sources()?;
        let corpus = Self::registry(&registry)?;
        if corpus.files.is_empty() {
            let book = book.map_or_else(
                || "rustc could not be run to find it".to_owned(),
                |book| book.display().to_string(),
            );
            bail!(
                "found neither the Rust book ({book}) nor Markdown files in the Cargo registry \
                 ({}); pass a folder of documents with --corpus DIR",
                registry.display()
            );
        }
        Ok(corpus)
    }

    /// Reads and converts every file. Files with no text are left out.
    pub(crate) fn load(&self) -> Result<Vec<Document>> {
        let mut documents = Vec::with_capacity(self.files.len());
        for (path, source) in &self.files {
            let bytes = fs::read(path).with_context(|| format!("reading {}", path.display()))?;
            let content = String::from_utf8_lossy(&bytes);
            let blocks = match Format::of(path) {
                Some(Format::Html) => html::to_blocks(&content),
                Some(Format::Markdown) => markdown::to_blocks(&content),
                Some(Format::Text) | None => markdown::plain_to_blocks(&content),
            };
            if !blocks.is_empty() {
                documents.push(Document {
                    source: Arc::clone(source),
                    blocks,
                });
            }
        }
        Ok(documents)
    }

    /// The documents under `root`, recursively, in path order.
    fn folder(origin: Origin, root: &Path) -> Result<Corpus> {
        if !root.is_dir() {
            bail!("{} is not a folder", root.display());
        }
        let mut paths = Vec::new();
        walk(root, &mut paths)?;
        let files = paths
            .into_iter()
            .map(|path| {
                let source = path
                    .strip_prefix(root)
                    .unwrap_or(&path)
                    .display()
                    .to_string();
                (path, Arc::from(source))
            })
            .collect();
        Ok(Corpus {
            origin,
            root: root.to_owned(),
            files,
        })
    }

    /// The Markdown files at the top of each crate's folder in the registry's sources
    /// (`registry/src/<index>/<crate>/*.md`).
    fn registry(sources: &Path) -> Result<Corpus> {
        let mut files = Vec::new();
        let indexes = if sources.is_dir() {
            sorted_entries(sources)?
        } else {
            Vec::new()
        };
        for index in indexes {
            if !index.is_dir() {
                continue;
            }
            for krate in sorted_entries(&index)? {
                if !krate.is_dir() {
                    continue;
                }
                for path in sorted_entries(&krate)? {
                    if path.is_file() && Format::of(&path) == Some(Format::Markdown) {
                        let source = path.strip_prefix(&index).unwrap_or(&path).display();
                        let source = Arc::from(source.to_string());
                        files.push((path, source));
                    }
                }
            }
        }
        Ok(Corpus {
            origin: Origin::Registry,
            root: sources.to_owned(),
            files,
        })
    }
}

/// The kinds of document the pipeline reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Format {
    /// `.html`, `.htm`.
    Html,
    /// `.md`, `.markdown`.
    Markdown,
    /// `.txt`.
    Text,
}

impl Format {
    /// The format of a file, by its extension (any case); `None` for other files.
    fn of(path: &Path) -> Option<Format> {
        let extension = path
            .extension()
            .and_then(OsStr::to_str)?
            .to_ascii_lowercase();
        match extension.as_str() {
            "html" | "htm" => Some(Format::Html),
            "md" | "markdown" => Some(Format::Markdown),
            "txt" => Some(Format::Text),
            _ => None,
        }
    }
}

/// Adds the documents under `folder` to `out`, recursively and in path order, skipping
/// hidden files and folders, and mdBook's generated pages.
fn walk(folder: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    for path in sorted_entries(folder)? {
        let Some(name) = path.file_name().and_then(OsStr::to_str) else {
            continue;
        };
        if name.starts_with('.') || MDBOOK_GENERATED.contains(&name) {
            continue;
        }
        let kind = fs::symlink_metadata(&path)
            .with_context(|| format!("reading {}", path.display()))?
            .file_type();
        if kind.is_dir() {
            walk(&path, out)?;
        } else if path.is_file() && Format::of(&path).is_some() {
            out.push(path);
        }
    }
    Ok(())
}

/// The entries of a folder, sorted by path.
fn sorted_entries(folder: &Path) -> Result<Vec<PathBuf>> {
    let mut paths = fs::read_dir(folder)
        .with_context(|| format!("listing {}", folder.display()))?
        .map(|entry| entry.map(|e| e.path()))
        .collect::<std::io::Result<Vec<_>>>()
        .with_context(|| format!("listing {}", folder.display()))?;
    paths.sort();
    Ok(paths)
}

/// The Rust book's folder in the toolchain's sysroot, whether or not it exists; `None` when
/// `rustc` (or `$RUSTC`) cannot be run.
fn rust_book() -> Option<PathBuf> {
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let output = Command::new(rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|output| output.status.success())?;
    let sysroot = String::from_utf8(output.stdout).ok()?;
    Some(Path::new(sysroot.trim()).join("share/doc/rust/html/book"))
}

/// The Cargo registry's sources: `$CARGO_HOME/registry/src`, `~/.cargo/registry/src` by
/// default.
fn registry_sources() -> Result<PathBuf> {
    let cargo_home = match std::env::var_os("CARGO_HOME") {
        Some(home) => PathBuf::from(home),
        None => std::env::home_dir()
            .context("finding the Cargo registry: neither $CARGO_HOME nor a home folder is set")?
            .join(".cargo"),
    };
    Ok(cargo_home.join("registry").join("src"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_by_extension() {
        assert_eq!(Format::of(Path::new("a/B.HTML")), Some(Format::Html));
        assert_eq!(Format::of(Path::new("README.md")), Some(Format::Markdown));
        assert_eq!(Format::of(Path::new("notes.txt")), Some(Format::Text));
        assert_eq!(Format::of(Path::new("style.css")), None);
        assert_eq!(Format::of(Path::new("Makefile")), None);
    }
}
