//! The Python original's example script (`performance_trackers_example.py`), ported: the same
//! sections (latency, throughput, memory, CPU, the factory) making the same calls, with the
//! same simulated RAG workloads, printing the same figures.
//!
//! Where the original printed something wrong because of its bugs (a distorted memory
//! `change`, 3 samples for a function "sampled every 0.1 s", a first CPU reading of 0.0, a
//! peak that misses the allocation), this port prints the right figure; a comment at each
//! such place says what the original printed and why.
//!
//! Run it with:
//!
//! ```text
//! cargo run --release -p perftrack --example performance_trackers
//! ```
//!
//! It takes about 15 seconds, most of it in the workloads' sleeps. `tests/example.rs` runs it
//! too and checks its key figures ([`Figures`]).

use std::error::Error;
use std::hint::black_box;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::{Duration, Instant};

use perftrack::{
    AnyTracker, CpuConfig, CpuUsageTracker, LatencyConfig, LatencyTracker, MemoryConfig,
    MemoryUnit, MemoryUsageTracker, PerformanceTracker, SamplingInterval, ThroughputConfig,
    ThroughputTracker, TimeUnit, get_performance_tracker,
};
use serde_json::json;

/// The figures a test checks, from one run of the whole example.
#[derive(Clone, Debug)]
pub struct Figures {
    /// `initial.process_rss` (MB) of the "memory_allocation" session.
    pub allocation_initial_rss_mb: Option<f64>,
    /// `peak.process_rss` (MB) of the "memory_allocation" session, in which 50 MB were
    /// allocated, held for a second and freed between two explicit samples.
    pub allocation_peak_rss_mb: Option<f64>,
    /// How many samples the "function_memory" session holds: 75 MB held for 1 s, sampled
    /// every 0.1 s.
    pub function_memory_samples: usize,
    /// The process's CPU use (percent of one core) in the "cpu_intensive" session.
    pub cpu_intensive_process_percent: Option<f64>,
}

/// Runs every section of the example, in the original's order, and returns its key figures.
pub fn run() -> Result<Figures, Box<dyn Error>> {
    println!("==================================================");
    println!("Performance Trackers Example");
    println!("==================================================");

    latency_example()?;
    throughput_example()?;
    let memory = memory_example()?;
    let cpu_intensive_process_percent = cpu_example()?;
    factory_example()?;

    println!();
    println!("Examples completed successfully.");
    Ok(Figures {
        allocation_initial_rss_mb: memory.allocation_initial_rss_mb,
        allocation_peak_rss_mb: memory.allocation_peak_rss_mb,
        function_memory_samples: memory.function_memory_samples,
        cpu_intensive_process_percent,
    })
}

/// Runs the example.
fn main() -> Result<(), Box<dyn Error>> {
    run()?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Workload helpers
// ---------------------------------------------------------------------------------------------

/// One retrieved document, as the original's `dummy_retrieval` returned it (a dict).
#[derive(Clone, Debug)]
#[allow(
    dead_code,
    reason = "the fields mirror the original's documents; the demo only counts them"
)]
struct Document {
    /// `"doc_i"`.
    document_id: String,
    /// A random relevance score in `[0, 1)`.
    score: f64,
    /// Filler text, about 300 characters.
    content: String,
}

/// The state of the example's pseudo-random generator (splitmix64): deterministic, with no
/// dependency.
static RNG_STATE: AtomicU64 = AtomicU64::new(0x5EED_CAFE_F00D_0001);

/// The next 64 random bits (splitmix64).
fn next_u64() -> u64 {
    const GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;
    // Relaxed is enough: each caller only needs its own state, and `fetch_add` gives every
    // caller a distinct one whatever the ordering; nothing else is published through it.
    let mut z = RNG_STATE
        .fetch_add(GAMMA, Ordering::Relaxed)
        .wrapping_add(GAMMA);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// A uniform random number in `[0, 1)`.
fn random_unit() -> f64 {
    (next_u64() >> 11) as f64 / (1u64 << 53) as f64
}

/// A uniform random integer in `lo..=hi`.
fn random_int(lo: u64, hi: u64) -> u64 {
    lo + next_u64() % (hi - lo + 1)
}

/// Simulates a retriever: waits `delay` seconds and returns `size` documents.
fn dummy_retrieval(delay: f64, size: usize) -> Vec<Document> {
    thread::sleep(Duration::from_secs_f64(delay));
    (0..size)
        .map(|i| Document {
            document_id: format!("doc_{i}"),
            score: random_unit(),
            content: format!("This is document {i} content. ").repeat(10),
        })
        .collect()
}

/// Simulates an embedding model: waits 0.1 ms per character of input and returns one
/// random unit-norm vector of `dimension` values per text.
fn dummy_embedding_generation(texts: &[String], dimension: usize) -> Vec<Vec<f32>> {
    let characters: usize = texts.iter().map(|t| t.chars().count()).sum();
    thread::sleep(Duration::from_secs_f64(0.0001 * characters as f64));
    texts
        .iter()
        .map(|_| {
            let mut vector: Vec<f32> = (0..dimension)
                .map(|_| (random_unit() * 2.0 - 1.0) as f32)
                .collect();
            let norm = vector.iter().map(|x| x * x).sum::<f32>().sqrt();
            if norm > 0.0 {
                vector.iter_mut().for_each(|x| *x /= norm);
            }
            vector
        })
        .collect()
}

/// `count` texts to embed, about 35 characters each.
fn sample_texts(count: usize) -> Vec<String> {
    (0..count)
        .map(|i| format!("This is sample text {i} for embedding"))
        .collect()
}

/// How long the original's Python loop takes per iteration, roughly. The Rust loop is some
/// 100 times faster, so `cpu_intensive_task` keeps going until the time Python would have
/// taken: otherwise the CPU sections would measure a few milliseconds, too short for a
/// meaningful reading (the kernel counts CPU time in 10 ms ticks).
const PYTHON_NS_PER_ITERATION: u64 = 150;

/// How many iterations run between two looks at the clock.
const ITERATIONS_PER_CLOCK_READ: u64 = 10_000;

/// A CPU-bound integer loop with its sum kept small by a modulo, as in the original. It runs
/// at least `iterations` iterations and at least `iterations` × 150 ns (what Python takes),
/// so `cpu_intensive_task(5_000_000)` keeps one core busy for about 0.75 s.
fn cpu_intensive_task(iterations: u64) -> u64 {
    let deadline =
        Instant::now() + Duration::from_nanos(iterations.saturating_mul(PYTHON_NS_PER_ITERATION));
    let mut result = 0u64;
    let mut i = 0u64;
    loop {
        for _ in 0..ITERATIONS_PER_CLOCK_READ {
            // `black_box` stops the compiler from replacing the loop by a formula.
            let x = black_box(i);
            result = (result + x.wrapping_mul(x)) % 10_000;
            i += 1;
        }
        if i >= iterations && Instant::now() >= deadline {
            return black_box(result);
        }
    }
}

/// Allocates `size_mb` MiB writing every byte (so every page is resident), holds it for
/// `hold_time` seconds, then frees it.
fn memory_intensive_task(size_mb: usize, hold_time: f64) {
    let buffer = black_box(vec![1u8; size_mb << 20]);
    thread::sleep(Duration::from_secs_f64(hold_time));
    drop(black_box(buffer));
}

/// Runs `task` on `n` threads at once and waits for all of them.
fn run_concurrent_tasks<T: Send>(n: usize, task: impl Fn() -> T + Sync) -> Result<(), String> {
    thread::scope(|scope| {
        let handles: Vec<_> = (0..n).map(|_| scope.spawn(&task)).collect();
        for handle in handles {
            handle
                .join()
                .map_err(|_| "a concurrent task panicked".to_owned())?;
        }
        Ok(())
    })
}

/// A reading to 2 decimals followed by `unit` (`" MB"`, `"%"`), or `n/a` where it is not
/// available: the library never makes up a 0.
fn show(value: Option<f64>, unit: &str) -> String {
    value.map_or_else(|| "n/a".to_owned(), |v| format!("{v:.2}{unit}"))
}

// ---------------------------------------------------------------------------------------------
// Latency
// ---------------------------------------------------------------------------------------------

/// The latency section: sessions by id, a guard, per-label statistics, a wrapped function and
/// a metrics file.
fn latency_example() -> Result<(), Box<dyn Error>> {
    println!();
    println!("=== Latency Tracker Example ===");

    // `LatencyTracker({'time_unit': 'ms'})`.
    let tracker = LatencyTracker::new(LatencyConfig {
        time_unit: TimeUnit::Milliseconds,
        ..Default::default()
    });

    let id = tracker.start_tracking(Some("retrieval"));
    dummy_retrieval(0.2, 10);
    let result = tracker.stop_tracking(&id)?;
    println!("Retrieval latency: {:.2} {}", result.value, result.unit);

    // `with tracker as track_id:` — an unlabelled measurement of the block.
    {
        let _guard = tracker.track("");
        dummy_retrieval(0.15, 5);
    }

    for (i, delay) in [0.05, 0.1, 0.15, 0.2, 0.25].into_iter().enumerate() {
        let id = tracker.start_tracking(Some(&format!("retrieval_{i}")));
        dummy_retrieval(delay, 5);
        tracker.stop_tracking(&id)?;
    }

    // One "retrieval" record, so min, max, mean and median are equal.
    let stats = tracker.statistics(Some("retrieval"));
    let get = |pick: fn(&perftrack::Statistics) -> f64| stats.as_ref().map_or(0.0, pick);
    println!("Retrieval latency statistics:");
    println!("  Min: {:.2} ms", get(|s| s.min));
    println!("  Max: {:.2} ms", get(|s| s.max));
    println!("  Mean: {:.2} ms", get(|s| s.mean));
    println!("  Median: {:.2} ms", get(|s| s.median));

    // The decorator: every call is timed under "retrieval_function". The wrapped function
    // takes its two arguments as one tuple.
    let retrieval_function = tracker.wrap("retrieval_function", |(delay, size): (f64, usize)| {
        dummy_retrieval(delay, size)
    });
    let result = retrieval_function((0.1, 5));
    println!("Decorated function returned {} documents", result.len());

    // The original wrote `latency_metrics.json` in the working directory and deleted it.
    let path = std::env::temp_dir().join(format!("latency_metrics-{}.json", std::process::id()));
    tracker.save_metrics(&path)?;
    std::fs::remove_file(&path)?;
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Throughput
// ---------------------------------------------------------------------------------------------

/// The throughput section: events per session, batches and a counted function.
fn throughput_example() -> Result<(), Box<dyn Error>> {
    println!();
    println!("=== Throughput Tracker Example ===");

    let tracker = ThroughputTracker::new(ThroughputConfig::from_json(
        r#"{"time_unit": "s", "window_size": 10}"#,
    )?);

    let id = tracker.start_tracking(Some("embedding"));
    for batch_size in [10, 20, 30, 40, 50] {
        let texts = sample_texts(batch_size);
        let embeddings = dummy_embedding_generation(&texts, 768);
        tracker.record_event(&id, embeddings.len() as u64)?;
        thread::sleep(Duration::from_secs_f64(0.5));
    }
    let result = tracker.stop_tracking(&id)?;
    // `unit` displays as `s`; `events_label()` is the original's `events/s`.
    println!(
        "Embedding throughput: {}",
        show(result.value, &format!(" {}", result.unit.events_label()))
    );
    println!("Total embeddings: {}", result.count);
    println!("Duration: {:.2} seconds", result.duration);

    let batch_id = tracker.start_batch(Some("batch_processing"));
    for _ in 0..5 {
        thread::sleep(Duration::from_secs_f64(0.1 + 0.4 * random_unit()));
        tracker.record_batch(&batch_id, random_int(10, 100))?;
    }
    let result = tracker.stop_batch(&batch_id)?;
    println!(
        "Batch processing throughput: {}",
        show(result.value, &format!(" {}", result.unit.events_label()))
    );
    println!("Total items processed: {}", result.count);

    let texts = sample_texts(25);
    let (result, metrics) = tracker.track_function_throughput(
        "function_throughput",
        |embeddings: &Vec<Vec<f32>>| embeddings.len() as u64,
        || dummy_embedding_generation(&texts, 768),
    );
    println!(
        "Function throughput: {}",
        show(metrics.value, &format!(" {}", metrics.unit.events_label()))
    );
    println!("Generated {} embeddings", result.len());
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Memory
// ---------------------------------------------------------------------------------------------

/// What the memory section measured, for [`Figures`].
struct MemoryFigures {
    /// `initial.process_rss` of the "memory_allocation" session.
    allocation_initial_rss_mb: Option<f64>,
    /// `peak.process_rss` of the "memory_allocation" session.
    allocation_peak_rss_mb: Option<f64>,
    /// The number of samples of the "function_memory" session.
    function_memory_samples: usize,
}

/// The memory section: a session with explicit samples, several allocations, statistics and
/// a function sampled in the background.
fn memory_example() -> Result<MemoryFigures, Box<dyn Error>> {
    println!();
    println!("=== Memory Usage Tracker Example ===");

    // `MemoryUsageTracker({'unit': 'MB', 'track_peak': True})`; no GPU here, as in the
    // original's run. `kernel_peak` (on by default) folds the kernel's high-water mark of the
    // resident set into `peak.process_rss`, so an allocation freed between two samples still
    // shows in the peak.
    let tracker = MemoryUsageTracker::new(MemoryConfig {
        unit: MemoryUnit::MB,
        track_peak: true,
        track_gpu: false,
        ..Default::default()
    });

    let current = tracker.current_value(None)?;
    println!("Current memory usage: {}", show(current.process_rss, " MB"));

    let id = tracker.start_tracking(Some("memory_allocation"));
    tracker.record_sample(&id)?;
    memory_intensive_task(50, 1.0);
    tracker.record_sample(&id)?;
    thread::sleep(Duration::from_secs_f64(0.5));
    tracker.record_sample(&id)?;
    let result = tracker.stop_tracking(&id)?;
    let peak_rss = result.peak.and_then(|p| p.process_rss);
    println!(
        "Final memory usage: {}",
        show(result.value.process_rss, " MB")
    );
    // The original printed the larger of its samples here, which missed the 50 MB: they were
    // freed before the next sample, and its final reading did not count. Ours includes the
    // kernel's high-water mark, so the allocation is in the peak.
    println!("Peak memory usage: {}", show(peak_rss, " MB"));
    // The original printed final minus peak (its initial snapshot was the same object as its
    // peak, so every peak update overwrote it), which is 0 or negative. Ours is final minus
    // the reading at the start.
    println!("Memory change: {}", show(result.change.process_rss, " MB"));

    for size in [20, 40, 60, 80, 100] {
        let id = tracker.start_tracking(Some(&format!("allocation_{size}MB")));
        memory_intensive_task(size, 0.5);
        tracker.stop_tracking(&id)?;
    }

    let stats = tracker.statistics(None);
    if let Some(rss) = stats.get("process_rss") {
        println!("Memory statistics (process_rss):");
        println!("  Min: {:.2} MB", rss.min);
        println!("  Max: {:.2} MB", rss.max);
        println!("  Mean: {:.2} MB", rss.mean);
        if let Some(peak_max) = rss.peak_max {
            println!("  Peak max: {peak_max:.2} MB");
        }
    }

    let every_100_ms = SamplingInterval::from_secs_f64(0.1)?;
    let ((), metrics) =
        tracker.track_function_memory("function_memory", Some(every_100_ms), || {
            memory_intensive_task(75, 1.0)
        });
    println!(
        "Function peak memory: {}",
        show(metrics.peak.and_then(|p| p.process_rss), " MB")
    );
    // The original printed 3: its `sampling_interval` started no sampler, so it took one
    // sample before and one after the call besides the initial one. Ours samples every
    // 0.1 s in the background: about 10 samples over the function's second.
    println!("Memory samples: {}", metrics.samples.len());

    Ok(MemoryFigures {
        allocation_initial_rss_mb: result.initial.process_rss,
        allocation_peak_rss_mb: peak_rss,
        function_memory_samples: metrics.samples.len(),
    })
}

// ---------------------------------------------------------------------------------------------
// CPU
// ---------------------------------------------------------------------------------------------

/// The CPU section: a reading now, a CPU-bound session, concurrent tasks per core and a
/// sampled function. Returns the process's CPU use in the CPU-bound session.
fn cpu_example() -> Result<Option<f64>, Box<dyn Error>> {
    println!();
    println!("=== CPU Usage Tracker Example ===");

    let every_200_ms = SamplingInterval::from_secs_f64(0.2)?;
    let tracker = CpuUsageTracker::new(CpuConfig {
        sampling_interval: every_200_ms,
        track_per_core: true,
        track_process: true,
        track_system: true,
        ..Default::default()
    });

    // The original printed 0.0 and 0.0 here: psutil's first non-blocking reading has no
    // baseline. Ours measures since the tracker was created; an interval shorter than one
    // 10 ms tick of the kernel's CPU clock cannot be measured and shows as n/a, never as 0.
    let current = tracker.current_value(None)?;
    println!(
        "Current CPU usage: process {}, system {}",
        show(current.process, "%"),
        show(current.system, "%")
    );

    let id = tracker.start_tracking(Some("cpu_intensive"));
    black_box(cpu_intensive_task(5_000_000));
    let result = tracker.stop_tracking(&id)?;
    println!("CPU-intensive task:");
    println!("  Process CPU: {}", show(result.value.process, "%"));
    println!("  System CPU: {}", show(result.value.system, "%"));
    println!("  Peak process CPU: {}", show(result.peak.process, "%"));
    let cpu_intensive = result.value.process;

    let id = tracker.start_tracking(Some("concurrent_tasks"));
    run_concurrent_tasks(4, || cpu_intensive_task(2_000_000))?;
    let result = tracker.stop_tracking(&id)?;
    println!("Concurrent tasks:");
    println!("  Process CPU: {}", show(result.value.process, "%"));
    println!("  System CPU: {}", show(result.value.system, "%"));
    println!("  Per-core usage:");
    for (core, percent) in &result.value.cores.0 {
        println!("    core_{core}: {percent:.2}%");
    }

    let every_100_ms = SamplingInterval::from_secs_f64(0.1)?;
    let (result, metrics) = tracker.track_function_cpu("function_cpu", Some(every_100_ms), || {
        cpu_intensive_task(3_000_000)
    });
    black_box(result);
    println!("Function CPU usage: {}", show(metrics.value.process, "%"));
    println!("CPU samples: {}", metrics.samples.len());

    Ok(cpu_intensive)
}

// ---------------------------------------------------------------------------------------------
// Factory
// ---------------------------------------------------------------------------------------------

/// The name of the concrete tracker inside `tracker`, as the original printed class names.
fn class_name(tracker: &AnyTracker) -> &'static str {
    match tracker {
        AnyTracker::Latency(_) => "LatencyTracker",
        AnyTracker::Throughput(_) => "ThroughputTracker",
        AnyTracker::Memory(_) => "MemoryUsageTracker",
        AnyTracker::Cpu(_) => "CpuUsageTracker",
        // Kinds added after this example was written.
        _ => "a newer tracker",
    }
}

/// The factory section: each kind of tracker made by name and used once, then an unknown
/// kind.
fn factory_example() -> Result<(), Box<dyn Error>> {
    println!();
    println!("=== Performance Tracker Factory Example ===");

    let latency = get_performance_tracker("latency", Some(json!({"time_unit": "ms"})))?;
    let throughput = get_performance_tracker("throughput", Some(json!({"time_unit": "s"})))?;
    // The original's configuration, verbatim: `track_gpu` is on by default, and without a GPU
    // the record says why in `gpu_status`.
    let memory = get_performance_tracker("memory", Some(json!({"unit": "MB"})))?;
    let cpu = get_performance_tracker("cpu", Some(json!({"sampling_interval": 0.5})))?;
    for tracker in [&latency, &throughput, &memory, &cpu] {
        println!(
            "Created {} tracker: {}",
            tracker.tracker_type(),
            class_name(tracker)
        );
    }

    // The guard and the records are on the concrete tracker, not on `PerformanceTracker`.
    let latency = latency.as_latency().ok_or("not a latency tracker")?;
    {
        let _guard = latency.track("");
        dummy_retrieval(0.1, 5);
    }
    // The original read `metrics["latency"][-1]["value"]` straight from the store.
    let last = latency.records().last().map(|r| r.value);
    println!("Factory latency tracker: {}", show(last, " ms"));

    let throughput = throughput
        .as_throughput()
        .ok_or("not a throughput tracker")?;
    let id = throughput.start_tracking(None);
    for _ in 0..3 {
        throughput.record_event(&id, 10)?;
        thread::sleep(Duration::from_secs_f64(0.2));
    }
    let result = throughput.stop_tracking(&id)?;
    println!(
        "Factory throughput tracker: {}",
        show(result.value, &format!(" {}", result.unit.events_label()))
    );

    let memory = memory.as_memory().ok_or("not a memory tracker")?;
    let id = memory.start_tracking(None);
    memory_intensive_task(25, 0.5);
    let result = memory.stop_tracking(&id)?;
    println!(
        "Factory memory tracker change: {}",
        show(result.change.process_rss, " MB")
    );

    let cpu = cpu.as_cpu().ok_or("not a CPU tracker")?;
    let id = cpu.start_tracking(None);
    black_box(cpu_intensive_task(1_000_000));
    let result = cpu.stop_tracking(&id)?;
    println!("Factory CPU tracker: {}", show(result.value.process, "%"));

    match get_performance_tracker("invalid_type", None) {
        Err(e) => println!("Expected error: {e}"),
        Ok(tracker) => {
            return Err(format!(
                "the factory made a {} tracker for \"invalid_type\"",
                tracker.tracker_type()
            )
            .into());
        }
    }
    Ok(())
}
