//! The fuzz targets' committed corpora as regression tests: every file under
//! `fuzz/corpus/<target>/` goes through the same function its `cargo fuzz` target runs
//! (`fuzz/src/lib.rs`, compiled into this test), so inputs that once crashed or that reach
//! rare paths are checked on every CI run, without a fuzzer.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::PathBuf;

#[allow(unreachable_pub, dead_code)]
#[path = "../../../fuzz/src/lib.rs"]
mod targets;

/// Every file of one target's corpus, in name order.
fn corpus(target: &str) -> Vec<(PathBuf, Vec<u8>)> {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus")
        .join(target);
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let bytes = std::fs::read(&p).unwrap();
            (p, bytes)
        })
        .collect()
}

fn replay(target: &str, run: fn(&[u8])) {
    let files = corpus(target);
    // The seeds alone are more than this; an empty or missing corpus would test nothing.
    assert!(
        files.len() >= 10,
        "{target}: only {} corpus files",
        files.len()
    );
    for (path, bytes) in files {
        if std::panic::catch_unwind(|| run(&bytes)).is_err() {
            panic!("{target}: {} fails", path.display());
        }
    }
}

#[test]
fn load_metrics_corpus() {
    replay("load_metrics", targets::load_metrics);
}

#[test]
fn config_corpus() {
    replay("config", targets::config);
}

#[test]
fn units_corpus() {
    replay("units", targets::units);
}
