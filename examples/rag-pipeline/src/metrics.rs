//! The five perftrack trackers the pipeline is measured with, how they are configured, and
//! saving their metrics files.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};
use perftrack::{
    CpuConfig, CpuUsageTracker, GenerationConfig, GenerationTracker, LatencyConfig, LatencyTracker,
    MemoryConfig, MemoryUnit, MemoryUsageTracker, SamplingInterval, Status, ThroughputConfig,
    ThroughputTracker, TimeUnit,
};

/// How often memory is sampled during a memory session.
const MEMORY_SAMPLING: Duration = Duration::from_millis(50);
/// How often CPU use is sampled during a CPU session.
const CPU_SAMPLING: Duration = Duration::from_millis(100);

/// The pipeline's trackers. Each is `Clone + Send + Sync`; threads share them by reference.
pub(crate) struct Trackers {
    /// Latency per stage, in milliseconds.
    pub(crate) latency: LatencyTracker,
    /// Documents indexed and queries answered per second.
    pub(crate) throughput: ThroughputTracker,
    /// Memory while indexing and while answering, in MiB.
    pub(crate) memory: MemoryUsageTracker,
    /// CPU while answering.
    pub(crate) cpu: CpuUsageTracker,
    /// Each answer streamed sentence by sentence (no LLM: extractive), in microseconds, as
    /// its extraction takes tens of them.
    pub(crate) generation: GenerationTracker,
}

impl Trackers {
    /// The trackers; GPU memory is read only if `gpu`.
    pub(crate) fn new(gpu: bool) -> Self {
        Self {
            latency: LatencyTracker::new(LatencyConfig {
                time_unit: TimeUnit::Milliseconds,
                ..LatencyConfig::default()
            }),
            throughput: ThroughputTracker::new(ThroughputConfig::default()),
            memory: MemoryUsageTracker::new(MemoryConfig {
                track_gpu: gpu,
                unit: MemoryUnit::MiB,
                sampling_interval: SamplingInterval::from_duration(MEMORY_SAMPLING),
                ..MemoryConfig::default()
            }),
            cpu: CpuUsageTracker::new(CpuConfig {
                sampling_interval: SamplingInterval::from_duration(CPU_SAMPLING),
                ..CpuConfig::default()
            }),
            generation: GenerationTracker::new(GenerationConfig {
                time_unit: TimeUnit::Microseconds,
                ..GenerationConfig::default()
            }),
        }
    }

    /// Runs `f` under a latency guard labelled `label`; an error is recorded as a failure.
    pub(crate) fn timed<T>(&self, label: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let guard = self.latency.track(label);
        let result = f();
        if result.is_err() {
            guard.stop_with(Status::Failed);
        }
        result
    }

    /// Saves every tracker's metrics file into `folder` (created if missing) and returns
    /// their paths.
    pub(crate) fn save(&self, folder: &Path) -> Result<Vec<PathBuf>> {
        fs::create_dir_all(folder).with_context(|| format!("creating {}", folder.display()))?;
        let path = |name: &str| folder.join(name);
        let files = [
            path("latency.json"),
            path("throughput.json"),
            path("memory.json"),
            path("cpu.json"),
            path("generation.json"),
        ];
        let [latency, throughput, memory, cpu, generation] = &files;
        let context = |path: &Path| format!("saving {}", path.display());
        self.latency
            .save_metrics(latency)
            .with_context(|| context(latency))?;
        self.throughput
            .save_metrics(throughput)
            .with_context(|| context(throughput))?;
        self.memory
            .save_metrics(memory)
            .with_context(|| context(memory))?;
        self.cpu.save_metrics(cpu).with_context(|| context(cpu))?;
        self.generation
            .save_metrics(generation)
            .with_context(|| context(generation))?;
        Ok(files.into())
    }
}
