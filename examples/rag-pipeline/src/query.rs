//! The query phase: questions answered on several threads, each query through analysis,
//! retrieval, reranking and answering under its own latency labels (the answer streamed as a
//! generation request, too), measured as a whole by a throughput session counting queries, a
//! memory session and a CPU session.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use anyhow::{Context, Result, anyhow};
use perftrack::{CpuRecord, MemoryRecord, Status, ThroughputRecord, TrackId};

use crate::answer::{self, Answer};
use crate::chunk::Passage;
use crate::metrics::Trackers;
use crate::rerank;
use crate::search::{Retriever, SearchIndex};
use crate::text;

/// How many passages BM25 retrieval returns for reranking.
const RETRIEVED: usize = 20;

/// What the query phase produced and how it went.
pub(crate) struct Answered {
    /// Each question's answer, in question order.
    pub(crate) answers: Vec<Answer>,
    /// Queries answered: the session's record.
    pub(crate) queries: ThroughputRecord,
    /// Memory while answering.
    pub(crate) memory: MemoryRecord,
    /// CPU while answering.
    pub(crate) cpu: CpuRecord,
}

/// Answers every question on `threads` threads (named `query-N`), which take the next
/// unanswered question until none is left, measured by a throughput session counting
/// queries, a memory session and a CPU session.
pub(crate) fn answer_all(
    trackers: &Trackers,
    index: &SearchIndex,
    passages: &[Passage],
    questions: &[&str],
    threads: usize,
) -> Result<Answered> {
    let memory = trackers.memory.start_tracking(Some("query"));
    let cpu = trackers.cpu.start_tracking(Some("query"));
    let queries = trackers.throughput.start_batch(Some("queries"));
    let next = AtomicUsize::new(0);
    let work = Work {
        trackers,
        index,
        passages,
        questions,
        queries: &queries,
        cpu: &cpu,
        next: &next,
    };
    let mut answered = thread::scope(|scope| -> Result<Vec<(usize, Answer)>> {
        let workers = (0..threads)
            .map(|i| {
                thread::Builder::new()
                    .name(format!("query-{i}"))
                    .spawn_scoped(scope, || work.run())
            })
            .collect::<std::io::Result<Vec<_>>>()
            .context("starting the query threads")?;
        let mut answered = Vec::with_capacity(questions.len());
        for worker in workers {
            let answers = worker
                .join()
                .map_err(|_| anyhow!("a query thread panicked"))??;
            answered.extend(answers);
        }
        Ok(answered)
    })?;
    let queries = trackers.throughput.stop_batch(&queries)?;
    let cpu = trackers.cpu.stop_tracking(&cpu)?;
    let memory = trackers.memory.stop_tracking(&memory)?;
    answered.sort_by_key(|(i, _)| *i);
    Ok(Answered {
        answers: answered.into_iter().map(|(_, answer)| answer).collect(),
        queries,
        memory,
        cpu,
    })
}

/// What the query threads share.
struct Work<'a> {
    /// The trackers.
    trackers: &'a Trackers,
    /// The index.
    index: &'a SearchIndex,
    /// The passages, by number.
    passages: &'a [Passage],
    /// The questions.
    questions: &'a [&'a str],
    /// The throughput session counting queries.
    queries: &'a TrackId,
    /// The CPU session of the query phase.
    cpu: &'a TrackId,
    /// The next question to take.
    next: &'a AtomicUsize,
}

impl Work<'_> {
    /// Takes and answers questions until none is left; returns them with their numbers.
    fn run(&self) -> Result<Vec<(usize, Answer)>> {
        let mut retriever = self.index.retriever();
        let mut answers = Vec::new();
        loop {
            let i = self.next.fetch_add(1, Ordering::Relaxed);
            let Some(question) = self.questions.get(i) else {
                // The CPU tracker reads threads' CPU time only from living threads: a sample
                // now, before this thread exits, keeps its time in the session's record.
                self.trackers.cpu.record_sample(self.cpu)?;
                return Ok(answers);
            };
            let answer = self
                .answer(&mut retriever, question)
                .with_context(|| format!("answering {question:?}"))?;
            self.trackers.throughput.record_batch(self.queries, 1)?;
            answers.push((i, answer));
        }
    }

    /// Answers one question, each stage under its latency label, the whole under `query`.
    fn answer(&self, retriever: &mut Retriever<'_>, question: &str) -> Result<Answer> {
        let t = self.trackers;
        t.timed("query", || {
            let analysis = t.timed("analyze", || retriever.analyze(question))?;
            let hits = t.timed("retrieve", || retriever.retrieve(&analysis, RETRIEVED))?;
            let ranked = t.timed("rerank", || {
                rerank::rerank(
                    &analysis.terms,
                    &hits,
                    self.passages,
                    &mut retriever.analyzer,
                )
            })?;
            t.timed("answer", || {
                // Streamed as a generator streams: the request is sent now, with the question
                // and the passages as its prompt, and each sentence is a chunk of as many
                // tokens as it has words.
                let mut request = t.generation.track("answer");
                let prompt = answer::prompt_words(question, &ranked, self.passages);
                request.input_tokens(prompt as u64);
                let answer = answer::extract(
                    &analysis.terms,
                    &ranked,
                    self.passages,
                    &mut retriever.analyzer,
                    |sentence| request.tokens(text::word_count(sentence) as u64),
                );
                let status = if answer.is_ok() {
                    Status::Ok
                } else {
                    Status::Failed
                };
                request.stop_with(status);
                answer
            })
        })
    }
}
