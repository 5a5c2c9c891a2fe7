//! Runs the `rag-pipeline` binary on a small corpus and checks its metrics files with the
//! perftrack trackers that read them back.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::path::Path;
use std::process::{Command, Output};

use perftrack::{
    CpuConfig, CpuUsageTracker, GenerationConfig, GenerationTracker, LatencyConfig, LatencyTracker,
    MemoryConfig, MemoryUsageTracker, ThroughputConfig, ThroughputTracker,
};

/// A dozen short Markdown documents about Rust.
const CORPUS: [(&str, &str); 12] = [
    (
        "install.md",
        "# Installing Rust\n\nInstall Rust with rustup, the toolchain installer. \
         Create a new project with `cargo new hello` and run it with `cargo run`.",
    ),
    (
        "cargo.md",
        "# Cargo\n\nCargo builds your project. The command cargo build --release compiles \
         it with optimizations, while cargo build makes a fast debug build.\n\n\
         ```sh\ncargo build --release\n```",
    ),
    (
        "variables.md",
        "# Variables\n\nVariables are immutable by default. Declare a mutable variable with \
         `let mut x = 5;` so that its value can change later.",
    ),
    (
        "constants.md",
        "# Constants\n\nA constant is always immutable and must have a type annotation. \
         Unlike an immutable variable, a constant is evaluated at compile time.",
    ),
    (
        "shadowing.md",
        "## Shadowing\n\nShadowing declares a new variable with the same name as a previous \
         one. The new variable shadows the first until the end of its scope.",
    ),
    (
        "integers.md",
        "# Integer types\n\nRust has signed and unsigned integer types such as i32 and u8. \
         In debug builds, integer overflow makes the program panic; release builds wrap \
         around instead.",
    ),
    (
        "compound.md",
        "# Tuples and arrays\n\nA tuple groups values of different types. Every element of \
         an array has the same type, and an array has a fixed length.",
    ),
    (
        "functions.md",
        "# Functions\n\nA function returns the value of its last expression implicitly. \
         The return keyword returns early from a function.",
    ),
    (
        "loops.md",
        "# Loops\n\nThe loop keyword repeats forever until you break out of it. A while loop \
         runs while a condition holds, and a for loop walks over the items of an iterator.",
    ),
    (
        "ownership.md",
        "# Ownership\n\nEach value in Rust has an owner. There can only be one owner at a \
         time. When the owner goes out of scope, the value is dropped.",
    ),
    (
        "borrowing.md",
        "# References and borrowing\n\nA reference borrows a value without taking ownership \
         of it. You can have either one mutable reference or any number of immutable ones.",
    ),
    (
        "threads.md",
        "# Threads\n\nCreate a thread with `thread::spawn` and wait for it with `join`. \
         Threads can communicate by sending messages over channels.",
    ),
];

/// Every latency label the pipeline records.
const STAGES: [&str; 8] = [
    "load", "chunk", "index", "analyze", "retrieve", "rerank", "answer", "query",
];

/// Runs the binary with `args`.
fn run(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_rag-pipeline"))
        .args(args)
        .output()
        .expect("running rag-pipeline")
}

/// Writes the corpus into `folder`.
fn write_corpus(folder: &Path) {
    for (name, text) in CORPUS {
        fs::write(folder.join(name), text).unwrap();
    }
}

#[test]
fn the_pipeline_answers_and_saves_every_trackers_metrics() {
    let corpus = tempfile::tempdir().unwrap();
    let out = tempfile::tempdir().unwrap();
    write_corpus(corpus.path());
    // A folder that does not exist yet: the binary creates it.
    let metrics = out.path().join("metrics");

    let output = run(&[
        "--corpus".as_ref(),
        corpus.path().as_os_str(),
        "--out".as_ref(),
        metrics.as_os_str(),
        "--questions".as_ref(),
        "10".as_ref(),
        "--threads".as_ref(),
        "2".as_ref(),
    ]);
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "stdout:\n{stdout}\nstderr:\n{stderr}"
    );
    assert!(
        stdout.contains("the folder given with --corpus, 12 files"),
        "{stdout}"
    );
    assert!(stdout.contains("latency per stage, in ms:"), "{stdout}");
    assert!(stdout.contains("no LLM is involved"), "{stdout}");
    for figure in ["ttft", "tpot", "itl", "e2e"] {
        assert!(
            stdout.lines().any(|l| l.starts_with(figure)),
            "no {figure} row in {stdout}"
        );
    }
    assert!(stdout.contains("sample answer"), "{stdout}");
    for name in [
        "latency.json",
        "throughput.json",
        "memory.json",
        "cpu.json",
        "generation.json",
    ] {
        assert!(stdout.contains(name), "{stdout}");
    }

    let latency = LatencyTracker::new(LatencyConfig::default());
    latency.load_metrics(&metrics.join("latency.json")).unwrap();
    let stats = latency.statistics_by_label();
    for stage in STAGES {
        assert!(
            stats.contains_key(stage),
            "no latency for {stage}: {stats:?}"
        );
    }
    for stage in ["load", "chunk", "index"] {
        assert_eq!(stats[stage].count, 1, "{stage}");
    }
    for stage in ["analyze", "retrieve", "rerank", "answer", "query"] {
        assert_eq!(stats[stage].count, 10, "{stage}");
        assert_eq!(stats[stage].failed, 0, "{stage}");
    }

    let throughput = ThroughputTracker::new(ThroughputConfig::default());
    let file = throughput
        .load_metrics(&metrics.join("throughput.json"))
        .unwrap();
    let count = |label: &str| {
        let record = file
            .records
            .iter()
            .find(|r| r.label.as_deref() == Some(label));
        record.unwrap_or_else(|| panic!("no {label} record")).count
    };
    assert_eq!(count("queries"), 10);
    assert_eq!(count("documents"), 12);

    let memory = MemoryUsageTracker::new(MemoryConfig::default());
    let file = memory.load_metrics(&metrics.join("memory.json")).unwrap();
    for label in ["index", "query"] {
        let record = file
            .records
            .iter()
            .find(|r| r.label.as_deref() == Some(label));
        let record = record.unwrap_or_else(|| panic!("no {label} memory record"));
        if cfg!(target_os = "linux") {
            assert!(record.peak.and_then(|p| p.process_rss).unwrap() > 0.0);
        }
    }

    // Each answer a streamed request, its sentences chunks and its words tokens.
    let generation = GenerationTracker::new(GenerationConfig::default());
    let file = generation
        .load_metrics(&metrics.join("generation.json"))
        .unwrap();
    assert_eq!(file.records.len(), 10);
    let answered = file.records.iter().filter(|r| r.output_tokens > 0);
    for record in answered.clone() {
        assert!(record.ttft.is_some() && record.tpot.is_some(), "{record:?}");
        assert!(
            record.input_tokens.unwrap() > record.output_tokens,
            "{record:?}"
        );
    }
    assert!(answered.count() > 0);
    let stats = generation.statistics(Some("answer")).unwrap();
    assert_eq!((stats.requests, stats.failed, stats.cancelled), (10, 0, 0));
    assert!(
        stats.itl.is_some(),
        "answers of two or more sentences have chunk gaps"
    );

    let cpu = CpuUsageTracker::new(CpuConfig::default());
    let file = cpu.load_metrics(&metrics.join("cpu.json")).unwrap();
    let record = file
        .records
        .iter()
        .find(|r| r.label.as_deref() == Some("query"))
        .expect("no query CPU record");
    if cfg!(target_os = "linux") {
        // A query phase this short may end within one tick of the kernel's CPU clock: then
        // the record says why it has no figure.
        assert!(
            record.value.process.is_some() || record.reasons.contains_key("process"),
            "{record:?}"
        );
        // The busiest threads are listed (possibly none in a phase this short).
        assert!(record.threads.is_some(), "{record:?}");
    }
}

#[test]
fn a_missing_corpus_is_an_error_with_exit_code_1() {
    let out = tempfile::tempdir().unwrap();
    let missing = out.path().join("no such folder");
    let output = run(&[
        "--corpus".as_ref(),
        missing.as_os_str(),
        "--out".as_ref(),
        out.path().as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.starts_with("error: "), "{stderr}");
    assert!(stderr.contains("is not a folder"), "{stderr}");
    assert!(fs::read_dir(out.path()).unwrap().next().is_none());
}

#[test]
fn a_folder_without_documents_is_an_error() {
    let corpus = tempfile::tempdir().unwrap();
    fs::write(corpus.path().join("notes.rs"), "fn main() {}").unwrap();
    let output = run(&[
        "--corpus".as_ref(),
        corpus.path().as_os_str(),
        "--out".as_ref(),
        corpus.path().join("out").as_os_str(),
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("found no .md, .txt or .html files"),
        "{stderr}"
    );
}
