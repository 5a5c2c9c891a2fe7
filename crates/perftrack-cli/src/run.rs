//! `perftrack run`: starts a command, samples its process tree's CPU and memory until it
//! exits, reports what it used, and exits as the command did.
//!
//! Two trackers watch the command (`pid`, `include_children`): a `MemoryUsageTracker` and a
//! `CpuUsageTracker`, both sampled by this module's loop at `--interval` so that every sample
//! of one is taken with the other's (one CSV row each). Their background samplers stay off.
//! The exact figures come from the kernel once the command is reaped: CPU seconds and the
//! largest resident set of any single process, as `wait4` gives them to GNU time.

mod child;
pub(crate) mod container;
mod csv;
mod live;

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use perftrack::{
    CpuConfig, CpuRecord, CpuUsageTracker, MIN_SAMPLING_INTERVAL, MemoryConfig, MemoryRecord,
    MemoryUnit, MemoryUsageTracker, SamplingInterval, Status, TrackerKind,
};

use crate::chart;
use crate::output::Output;
use child::{Reaped, Running, SpawnError, Wait};
pub(crate) use container::RunContainer;
use container::{CpuJson, ExitJson, PeakJson};
use csv::{CsvFile, Row};
use live::Live;

/// How a run ended, as run containers and bench files write it.
pub(crate) use container::ExitJson as RunExit;

/// The most samples each nested tracker keeps in its record (with the default interval, the
/// first 1,000 seconds one by one); beyond that, neighbouring samples merge into one holding
/// their worst values. The CSV file has every sample.
const MAX_TRACKER_SAMPLES: usize = 10_000;

/// The longest `--interval`: one day.
const MAX_INTERVAL: Duration = SamplingInterval::MAX;

/// How a measured command's process tree is sampled: the options `run` and `bench` share.
#[derive(Debug, clap::Args)]
pub(crate) struct Sampling {
    /// Seconds between samples (0.02 to 86400; the kernel counts CPU time in 10 ms ticks).
    #[arg(long, default_value_t = 0.1, value_name = "SECONDS")]
    pub(crate) interval: f64,
    /// Sample only the measured command's own process, not its descendants.
    #[arg(long)]
    pub(crate) no_children: bool,
    /// Read the GPU memory the measured processes use (NVML; needs an NVIDIA driver).
    #[arg(long)]
    pub(crate) gpu: bool,
}

impl Sampling {
    /// How `command` is measured with these options (the interval checked), a live line on a
    /// terminal included.
    pub(crate) fn measure<'a>(&self, command: &'a [OsString]) -> anyhow::Result<Measure<'a>> {
        Ok(Measure {
            command,
            env: &[],
            interval: check_interval(self.interval)?,
            include_children: !self.no_children,
            gpu: self.gpu,
            live: true,
        })
    }
}

/// Arguments of `perftrack run`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    #[command(flatten)]
    sampling: Sampling,
    /// Write the run (command, exit status, times, peaks and the memory and CPU trackers'
    /// metrics) to FILE as JSON.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Write every sample to FILE as CSV: elapsed_seconds, cpu_percent, tree_rss_bytes,
    /// gpu_bytes.
    #[arg(long, value_name = "FILE")]
    csv: Option<PathBuf>,
    /// Draw the run's memory (RSS) and CPU % over time to FILE as an SVG image.
    #[arg(long, value_name = "FILE")]
    plot: Option<PathBuf>,
    /// The command to run and its arguments (after `--` when they start with `-`).
    #[arg(required = true, trailing_var_arg = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// How one command is run and measured: what `perftrack run` measures, and what other
/// commands (such as a repeated benchmark or a span receiver around a command) reuse.
pub(crate) struct Measure<'a> {
    /// The command and its arguments.
    pub(crate) command: &'a [OsString],
    /// Variables added to the command's environment.
    pub(crate) env: &'a [(OsString, OsString)],
    /// Time between samples.
    pub(crate) interval: Duration,
    /// Whether the samples cover the command's descendants.
    pub(crate) include_children: bool,
    /// Whether GPU memory is read.
    pub(crate) gpu: bool,
    /// Whether a live line is drawn on a terminal's stderr while the command runs.
    pub(crate) live: bool,
}

/// A measured run.
pub(crate) struct Measured {
    /// The run as the container file holds it.
    pub(crate) run: RunContainer,
    /// The memory tracker's record of the run.
    pub(crate) memory: MemoryRecord,
    /// The CPU tracker's record of the run.
    pub(crate) cpu: CpuRecord,
    /// The exit code that passes the command's on: its own, or 128 + the signal that killed it.
    pub(crate) exit_code: u8,
}

impl Measure<'_> {
    /// Runs the command to its end, sampling it, and calls `on_sample` with each sample.
    /// `Ok(Err(_))` when the command could not be started.
    pub(crate) fn run(
        &self,
        mut on_sample: impl FnMut(Row),
    ) -> anyhow::Result<Result<Measured, SpawnError>> {
        let running = match Running::spawn(self.command, self.env)? {
            Ok(running) => running,
            Err(e) => return Ok(Err(e)),
        };
        let interval = self.interval;
        let include_children = self.include_children;
        let pid = running.pid();
        let label = label(self.command);
        let off = SamplingInterval::from_duration(Duration::ZERO);
        let memory = MemoryUsageTracker::new(MemoryConfig {
            track_gpu: self.gpu,
            unit: MemoryUnit::B,
            sampling_interval: off,
            max_samples: MAX_TRACKER_SAMPLES,
            pid: Some(pid),
            include_children,
            // The command's own high-water mark is left alone: resetting it would change what
            // the kernel reports when the command is reaped.
            kernel_peak: false,
            ..MemoryConfig::default()
        });
        let cpu = CpuUsageTracker::new(CpuConfig {
            track_per_core: false,
            sampling_interval: off,
            max_samples: MAX_TRACKER_SAMPLES,
            pid: Some(pid),
            include_children,
            ..CpuConfig::default()
        });
        let memory_id = memory.start_tracking(Some(&label));
        let cpu_id = cpu.start_tracking(Some(&label));

        let mut live = if self.live { Live::new() } else { Live::off() };
        let mut samples = 0u64;
        let mut latest = Row::default();
        let mut next = running.started + interval;
        let ended = loop {
            let mut timeout = next.saturating_duration_since(Instant::now());
            if live.is_on() {
                timeout = timeout.min(live::REFRESH);
            }
            if let Wait::Ended(ended) = running.wait_for(timeout)? {
                break ended;
            }
            let now = Instant::now();
            if now >= next {
                let m = memory.record_sample(&memory_id)?;
                let c = cpu.record_sample(&cpu_id)?;
                latest = Row {
                    elapsed_seconds: now.duration_since(running.started).as_secs_f64(),
                    cpu_percent: c.cpu.process,
                    tree_rss_bytes: m.memory.process_rss.map(whole_bytes),
                    gpu_bytes: m.memory.gpu_process_used.map(whole_bytes),
                };
                on_sample(latest);
                samples += 1;
                // Keep the cadence; after a stall, go on from now rather than catch up.
                next += interval;
                if next <= now {
                    next = now + interval;
                }
            }
            live.show(
                now,
                now.duration_since(running.started),
                latest.cpu_percent,
                latest.tree_rss_bytes,
            );
        };
        live.clear();

        // The final readings see the command as a zombie: its CPU times are still there.
        let status = if ended.success {
            Status::Ok
        } else {
            Status::Failed
        };
        let memory_record = memory.stop_tracking_with_status(&memory_id, status)?;
        let cpu_record = cpu.stop_tracking_with_status(&cpu_id, status)?;
        let started = running.started;
        let start_time = running.start_time;
        let reaped = running.reap()?;
        let wall = ended.at.saturating_duration_since(started).as_secs_f64();

        let mut trackers = BTreeMap::new();
        trackers.insert(
            TrackerKind::Memory.file_type().to_owned(),
            serde_json::from_str(&memory.metrics_json()?)?,
        );
        trackers.insert(
            TrackerKind::Cpu.file_type().to_owned(),
            serde_json::from_str(&cpu.metrics_json()?)?,
        );
        let run = RunContainer {
            format: perftrack::RUN_FORMAT_NAME.to_owned(),
            version: perftrack::RUN_FORMAT_VERSION,
            command: self
                .command
                .iter()
                .map(|a| a.to_string_lossy().into_owned())
                .collect(),
            start_time,
            end_time: ended.time,
            wall_time_seconds: wall,
            exit: ExitJson {
                code: reaped.code,
                signal: reaped.signal,
            },
            interval_seconds: interval.as_secs_f64(),
            include_children,
            samples,
            cpu: cpu_figures(&reaped, &cpu_record, wall),
            peak: PeakJson {
                process_rss: reaped.max_rss_bytes,
                // A process that has ended holds no memory: when every reading found the
                // command ended, there is no peak to tell.
                tree_rss: memory_record
                    .peak
                    .and_then(|p| p.process_rss)
                    .map(whole_bytes)
                    .filter(|&bytes| bytes > 0),
                gpu_memory: memory_record
                    .peak
                    .and_then(|p| p.gpu_process_used)
                    .map(whole_bytes),
            },
            trackers,
            collect: None,
        };
        Ok(Ok(Measured {
            run,
            memory: memory_record,
            cpu: cpu_record,
            exit_code: reaped.exit_code(),
        }))
    }
}

/// Runs `perftrack run`: the command's exit code (128 + signal when a signal killed it), 127
/// when it does not exist and 126 when it cannot be executed.
pub(crate) fn execute(args: Args) -> anyhow::Result<u8> {
    let measure = args.sampling.measure(&args.command)?;
    // Output paths are checked before the command starts: a long run is not lost to a typo.
    let output = args.output.as_deref().map(Output::prepare).transpose()?;
    let mut csv = args.csv.as_deref().map(CsvFile::create).transpose()?;
    let plot = args.plot.as_deref().map(Output::prepare).transpose()?;
    let measured = measure.run(|row| {
        if let Some(csv) = csv.as_mut() {
            csv.push(row);
        }
    })?;
    let measured = match measured {
        Ok(measured) => measured,
        Err(e) => {
            eprintln!("perftrack: error: {e}");
            return Ok(e.exit_code());
        }
    };
    let run = &measured.run;
    print_report(run, &measured.memory, args.sampling.gpu);

    let mut saved = Vec::new();
    if let Some(output) = output {
        let path = output.path().to_owned();
        run.save(output)?;
        saved.push(path);
    }
    if let Some(csv) = csv {
        let path = csv.path().to_owned();
        csv.finish()?;
        saved.push(path);
    }
    if let Some(plot) = plot {
        let path = plot.path().to_owned();
        let svg = chart::run_timeline_svg(
            std::slice::from_ref(&measured.memory),
            std::slice::from_ref(&measured.cpu),
            &shown(&run.command),
        );
        plot.commit(svg.as_bytes())?;
        saved.push(path);
    }
    if !saved.is_empty() {
        let names: Vec<String> = saved.iter().map(|p| p.display().to_string()).collect();
        eprintln!("  saved    {}", names.join(", "));
    }
    Ok(measured.exit_code)
}

/// `--interval` as a duration: at least [`MIN_SAMPLING_INTERVAL`], at most a day.
pub(crate) fn check_interval(seconds: f64) -> anyhow::Result<Duration> {
    let min = MIN_SAMPLING_INTERVAL.as_secs_f64();
    let max = MAX_INTERVAL.as_secs_f64();
    if seconds.is_finite() && (min..=max).contains(&seconds) {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        anyhow::bail!("--interval {seconds}: expected seconds from {min} to {max}")
    }
}

/// The sessions' label: the program's file name (`python` for `/usr/bin/python my_rag.py`).
fn label(command: &[OsString]) -> String {
    command
        .first()
        .map(|program| {
            Path::new(program)
                .file_name()
                .unwrap_or(program)
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_default()
}

/// A reading in bytes (the trackers keep `f64`) as a whole number.
fn whole_bytes(value: f64) -> u64 {
    value.max(0.0).round() as u64
}

/// The CPU figures: the kernel's times, their mean over the wall time, and the busiest
/// sampled interval.
fn cpu_figures(reaped: &Reaped, record: &CpuRecord, wall: f64) -> CpuJson {
    let used = reaped.user_seconds + reaped.system_seconds;
    CpuJson {
        user_seconds: reaped.user_seconds,
        system_seconds: reaped.system_seconds,
        mean_percent: (wall > 0.0).then(|| used / wall * 100.0),
        peak_percent: record.peak.process,
    }
}

/// The command as a shell would show it.
fn shown(command: &[String]) -> String {
    command
        .iter()
        .map(|arg| {
            let plain = !arg.is_empty()
                && arg
                    .chars()
                    .all(|c| c.is_alphanumeric() || "-_./=:,+@%".contains(c));
            if plain {
                arg.clone()
            } else {
                format!("'{}'", arg.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// The summary on stderr (stdout is the command's).
pub(crate) fn print_report(run: &RunContainer, memory: &MemoryRecord, gpu: bool) {
    let ending = match (run.exit.code, run.exit.signal) {
        (Some(code), _) => format!("exited with code {code}"),
        (None, Some(signal)) => format!("was killed by signal {signal}"),
        (None, None) => "ended".to_owned(),
    };
    let percent = |p: Option<f64>| p.map_or_else(|| "-".to_owned(), |p| format!("{p:.1} %"));
    let mut lines = vec![
        format!("perftrack: `{}` {ending}", shown(&run.command)),
        format!("  wall     {:.3} s", run.wall_time_seconds),
        format!(
            "  CPU      {:.3} s user + {:.3} s system; mean {}, peak {}",
            run.cpu.user_seconds,
            run.cpu.system_seconds,
            percent(run.cpu.mean_percent),
            percent(run.cpu.peak_percent),
        ),
        format!(
            "  RSS      peak {} (largest process), {} (process tree)",
            live::bytes(run.peak.process_rss),
            run.peak
                .tree_rss
                .map_or_else(|| "-".to_owned(), live::bytes),
        ),
    ];
    if gpu {
        lines.push(match (run.peak.gpu_memory, &memory.gpu_status) {
            (Some(bytes), _) => format!("  GPU      peak {}", live::bytes(bytes)),
            (None, Some(why)) => format!("  GPU      not read: {why}"),
            (None, None) => "  GPU      not read".to_owned(),
        });
    }
    lines.push(format!(
        "  samples  {} (every {} s)",
        run.samples, run.interval_seconds
    ));
    eprintln!("{}", lines.join("\n"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn intervals_are_checked() {
        assert_eq!(check_interval(0.1).unwrap(), Duration::from_millis(100));
        assert!(check_interval(0.01).is_err());
        assert!(check_interval(f64::NAN).is_err());
        assert!(check_interval(1e9).is_err());
    }

    #[test]
    fn the_label_is_the_program_name() {
        let command = [OsString::from("/usr/bin/python3"), OsString::from("x.py")];
        assert_eq!(label(&command), "python3");
        assert_eq!(label(&[]), "");
    }

    #[test]
    fn commands_are_shown_quoted() {
        let command = ["sh", "-c", "exit 3", "it's"].map(String::from);
        assert_eq!(shown(&command), r"sh -c 'exit 3' 'it'\''s'");
    }

    #[test]
    fn the_mean_is_cpu_time_over_wall_time() {
        let reaped = Reaped {
            code: Some(0),
            signal: None,
            user_seconds: 1.5,
            system_seconds: 0.5,
            max_rss_bytes: 0,
        };
        let record = CpuUsageTracker::new(CpuConfig::default()).track("x").stop();
        let cpu = cpu_figures(&reaped, &record, 4.0);
        assert_eq!(cpu.mean_percent, Some(50.0));
        assert_eq!(cpu_figures(&reaped, &record, 0.0).mean_percent, None);
    }
}
