//! `rag-pipeline`: a retrieval-augmented generation pipeline over real documents, measured
//! with all five perftrack trackers.
//!
//! It loads a corpus (by default the Rust book shipped with the toolchain), chunks it into
//! passages, indexes them with tantivy, and answers questions about Rust on several threads:
//! analysis, BM25 retrieval, reranking and extractive answering. No LLM is involved: each
//! answer is made of sentences of the best passages, streamed one by one as they are selected
//! and measured as a generation request (time to first token, time per token and the gaps
//! between sentences, a sentence's words counted as its tokens). Every stage's latency, the
//! streamed answers, the indexing and query rates, memory while indexing and answering, and
//! CPU while answering are measured, reported, and saved as perftrack metrics files.
//!
//! ```text
//! cargo run --release -p rag-pipeline -- --help
//! ```

mod answer;
mod chunk;
mod corpus;
mod html;
mod markdown;
mod metrics;
mod query;
mod questions;
mod report;
mod rerank;
mod search;
mod text;

use std::io::IsTerminal;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::thread;
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Parser;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use perftrack::{MemoryRecord, ThroughputRecord};

use crate::chunk::Passage;
use crate::corpus::{Corpus, Document};
use crate::metrics::Trackers;
use crate::query::Answered;
use crate::search::{IndexBuilder, SearchIndex};

/// The latency labels, in pipeline order: the corpus stages, then each query's stages and
/// the whole query.
const STAGES: [&str; 8] = [
    "load", "chunk", "index", "analyze", "retrieve", "rerank", "answer", "query",
];

/// Answers questions about Rust from real documents (extractively: no LLM is involved), and
/// measures every stage with perftrack.
#[derive(Debug, Parser)]
#[command(version, about)]
struct Args {
    /// A folder of .md, .txt or .html files to answer from, searched recursively [default:
    /// the Rust book shipped with the toolchain, else the Markdown files in the Cargo registry]
    #[arg(long, value_name = "DIR")]
    corpus: Option<PathBuf>,

    /// The folder the metrics files are saved in (created if missing)
    #[arg(long, value_name = "DIR", default_value = "perftrack-out")]
    out: PathBuf,

    /// How many threads answer questions [default: the number of available cores]
    #[arg(long, value_name = "N")]
    threads: Option<NonZeroUsize>,

    /// How many questions to answer; more than there are repeats them [default: all]
    #[arg(long, value_name = "N")]
    questions: Option<NonZeroUsize>,

    /// Also read GPU memory (through NVML)
    #[arg(long)]
    gpu: bool,
}

fn main() -> ExitCode {
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}

/// Runs the pipeline, prints its report and saves the metrics files.
fn run(args: &Args) -> Result<()> {
    let started = Instant::now();
    let trackers = Trackers::new(args.gpu);
    let threads = match args.threads {
        Some(threads) => threads.get(),
        None => thread::available_parallelism().map_or(1, NonZeroUsize::get),
    };
    let count = args
        .questions
        .map_or(questions::QUESTIONS.len(), NonZeroUsize::get);
    let questions: Vec<&str> = questions::QUESTIONS
        .iter()
        .copied()
        .cycle()
        .take(count)
        .collect();

    let (documents, passages) = load(&trackers, args.corpus.as_deref())?;
    let indexed = index(&trackers, &documents, &passages, threads)?;
    println!(
        "indexed {}; answering {} on {}",
        report::plural(passages.len(), "passage", "passages"),
        report::plural(questions.len(), "question", "questions"),
        report::plural(threads, "thread", "threads"),
    );
    let answered = query::answer_all(&trackers, &indexed.index, &passages, &questions, threads)?;
    println!();
    print_report(
        &trackers, &indexed, &answered, &questions, threads, args.gpu,
    );

    let files = trackers.save(&args.out)?;
    println!("metrics saved:");
    for file in files {
        println!("  {}", file.display());
    }
    println!("done in {:.2} s", started.elapsed().as_secs_f64());
    Ok(())
}

/// Finds and loads the corpus, and chunks it into passages, under the `load` and `chunk`
/// latency labels.
fn load(trackers: &Trackers, folder: Option<&Path>) -> Result<(Vec<Document>, Vec<Passage>)> {
    let corpus = Corpus::locate(folder)?;
    println!("corpus: {corpus}");
    let documents = trackers.timed("load", || corpus.load())?;
    let words: usize = documents.iter().map(Document::words).sum();
    println!(
        "loaded {}, {}",
        report::plural(documents.len(), "document", "documents"),
        report::plural(words, "word", "words")
    );
    let passages = {
        let _chunk = trackers.latency.track("chunk");
        chunk::chunk(&documents)
    };
    if passages.is_empty() {
        bail!("the corpus holds no text to index");
    }
    println!(
        "chunked into {}",
        report::plural(passages.len(), "passage", "passages")
    );
    Ok((documents, passages))
}

/// Prints the latency table, the rates, memory and CPU, and a sample answer.
fn print_report(
    trackers: &Trackers,
    indexed: &Indexed,
    answered: &Answered,
    questions: &[&str],
    threads: usize,
    gpu: bool,
) {
    let stats = trackers.latency.statistics_by_label();
    print!("{}", report::latency_table(&stats, &STAGES));
    println!();
    if let Some(answers) = trackers.generation.statistics(Some("answer")) {
        print!("{}", report::generation_lines(&answers));
        println!();
    }
    let queries = report::rate_line("queries", "queries", &answered.queries);
    println!(
        "{queries} on {}",
        report::plural(threads, "thread", "threads")
    );
    println!(
        "{}",
        report::rate_line("indexing", "documents", &indexed.documents)
    );
    println!(
        "{}",
        report::memory_line(&indexed.memory, &answered.memory, gpu)
    );
    for line in report::cpu_lines(&answered.cpu) {
        println!("{line}");
    }
    let found = answered.answers.iter().filter(|a| !a.is_empty()).count();
    println!("answers found for {found} of {} questions", questions.len());
    println!();
    // The first question that found an answer.
    let sample = answered
        .answers
        .iter()
        .enumerate()
        .find(|(_, a)| !a.is_empty());
    if let Some((i, answer)) = sample
        && let Some(question) = questions.get(i)
    {
        for line in report::answer_lines(i + 1, questions.len(), question, answer) {
            println!("{line}");
        }
        println!();
    }
}

/// What indexing produced and how it went.
struct Indexed {
    /// The index.
    index: SearchIndex,
    /// Documents indexed: the batch session's record.
    documents: ThroughputRecord,
    /// Memory while indexing.
    memory: MemoryRecord,
}

/// Builds the index, one document's passages after another, measured by a latency guard, a
/// memory session and a throughput batch counting documents. Shows a progress bar when
/// stdout is a terminal.
fn index(
    trackers: &Trackers,
    documents: &[Document],
    passages: &[Passage],
    threads: usize,
) -> Result<Indexed> {
    let memory = trackers.memory.start_tracking(Some("index"));
    let batch = trackers.throughput.start_batch(Some("documents"));
    let progress = progress_bar(documents.len())?;
    let index = trackers.timed("index", || {
        let builder = IndexBuilder::new(threads)?;
        for (id, passage) in passages.iter().enumerate() {
            builder.add(id, passage)?;
            let last_of_document = passages
                .get(id + 1)
                .is_none_or(|next| next.document != passage.document);
            if last_of_document {
                trackers.throughput.record_batch(&batch, 1)?;
                progress.inc(1);
            }
        }
        builder.finish()
    })?;
    progress.finish_and_clear();
    Ok(Indexed {
        index,
        documents: trackers.throughput.stop_batch(&batch)?,
        memory: trackers.memory.stop_tracking(&memory)?,
    })
}

/// A progress bar of `documents` on stdout, hidden unless stdout is a terminal.
fn progress_bar(documents: usize) -> Result<ProgressBar> {
    if !std::io::stdout().is_terminal() {
        return Ok(ProgressBar::hidden());
    }
    let style = ProgressStyle::with_template("indexing {bar:40} {pos}/{len} documents")
        .context("building the progress bar")?;
    let length = u64::try_from(documents).context("too many documents")?;
    Ok(ProgressBar::with_draw_target(Some(length), ProgressDrawTarget::stdout()).with_style(style))
}
