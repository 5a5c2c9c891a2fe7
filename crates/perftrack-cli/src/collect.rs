//! `perftrack collect`: an OTLP/HTTP receiver for traces. Any OpenTelemetry-instrumented
//! program's spans become stage measurements (latency per span name, and model calls as
//! generation requests), read through the library's one span mapping, with the spans' own
//! times. Without a command it serves until SIGINT or SIGTERM, writing its files every
//! `--flush` seconds and on exit; with `-- CMD` it runs the command as `perftrack run` does,
//! pointed at the receiver, and saves one run container with the stages inside.

mod decode;
mod receiver;
mod stages;
mod table;

use std::ffi::OsString;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context;
use perftrack::TrackerKind;
use serde::{Deserialize, Serialize};

use crate::output::Output;
use crate::run::{self, Measure};
pub(crate) use receiver::RequestsJson;
use receiver::{Limits, Receiver};
pub(crate) use stages::SpansJson;
use stages::Stages;

/// The port OTLP/HTTP exporters send to by default.
const OTLP_HTTP_PORT: u16 = 4318;

/// Arguments of `perftrack collect`.
#[derive(Debug, clap::Args)]
pub(crate) struct Args {
    /// Address to receive on [default: 127.0.0.1:4318 alone, 127.0.0.1:0 (a free port) with a
    /// command]. Loopback unless told otherwise: spans carry what the program does.
    #[arg(long, value_name = "ADDR")]
    listen: Option<SocketAddr>,
    /// Alone: write the stages' latency metrics file to FILE, and the model calls' generation
    /// metrics file next to it (`stages.json` → `stages.generation.json`), every `--flush`
    /// seconds and on exit. With a command: write the run container, the stages inside.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: Option<PathBuf>,
    /// Seconds between writes of the output files while receiving alone (0.1 to 86400).
    #[arg(long, default_value_t = 10.0, value_name = "SECONDS")]
    flush: f64,
    /// Label spans by this attribute's value instead of their name (spans without it keep
    /// their name).
    #[arg(long, value_name = "KEY")]
    label_attribute: Option<String>,
    /// The largest request body accepted, in bytes, as sent and once decompressed; larger
    /// ones are answered 413.
    #[arg(long, default_value_t = 16 << 20, value_name = "BYTES")]
    max_body: u64,
    /// The most requests waiting or in work; more are answered 503 (exporters retry).
    #[arg(long, default_value_t = 64, value_name = "N")]
    max_pending: usize,
    /// With a command: how its process tree is sampled, as `perftrack run` does.
    #[command(flatten)]
    sampling: run::Sampling,
    /// The command to run pointed at the receiver, and its arguments (after `--`).
    #[arg(trailing_var_arg = true, value_name = "CMD")]
    command: Vec<OsString>,
}

/// What a run container says about the spans it collected (its `collect` key).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct CollectJson {
    /// The endpoint the command was given (`OTEL_EXPORTER_OTLP_ENDPOINT`).
    pub(crate) endpoint: String,
    /// What the receiver answered.
    pub(crate) requests: RequestsJson,
    /// What the spans came to.
    pub(crate) spans: SpansJson,
}

/// Runs `perftrack collect`.
pub(crate) fn execute(args: Args) -> anyhow::Result<u8> {
    let flush = check_flush(args.flush)?;
    anyhow::ensure!(args.max_pending > 0, "--max-pending must be at least 1");
    anyhow::ensure!(args.max_body > 0, "--max-body must be at least 1");
    let alone = args.command.is_empty();
    let port = if alone { OTLP_HTTP_PORT } else { 0 };
    let listen = args
        .listen
        .unwrap_or_else(|| SocketAddr::from((Ipv4Addr::LOCALHOST, port)));
    let limits = Limits {
        max_body: args.max_body,
        max_pending: args.max_pending,
        workers: std::thread::available_parallelism().map_or(2, |n| n.get().clamp(2, 4)),
    };
    let stages = Arc::new(Stages::new(args.label_attribute.clone()));
    if alone {
        // The output paths are checked before receiving anything.
        if let Some(path) = &args.output {
            drop(Output::prepare(path)?);
            drop(Output::prepare(&generation_path(path))?);
        }
        let receiver = Receiver::start(listen, limits, Arc::clone(&stages))?;
        eprintln!(
            "perftrack: receiving OTLP/HTTP traces on http://{} (Ctrl-C to stop)",
            receiver.addr()
        );
        serve(receiver, &stages, args.output.as_deref(), flush)
    } else {
        let measure = args.sampling.measure(&args.command)?;
        let output = args.output.as_deref().map(Output::prepare).transpose()?;
        let receiver = Receiver::start(listen, limits, Arc::clone(&stages))?;
        run_command(measure, receiver, &stages, output)
    }
}

/// Receives until SIGINT or SIGTERM, writing the files every `flush` and at the end.
fn serve(
    receiver: Receiver,
    stages: &Stages,
    output: Option<&Path>,
    flush: Duration,
) -> anyhow::Result<u8> {
    let stop = Arc::new(AtomicBool::new(false));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        // A second signal ends the process at once (exit status 128 + the signal), in case
        // stopping or saving hangs.
        signal_hook::flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&stop))
            .and_then(|_| signal_hook::flag::register(signal, Arc::clone(&stop)))
            .context("cannot handle signals")?;
    }
    let mut live = table::Live::new();
    let mut next_flush = Instant::now() + flush;
    // Relaxed: the flag carries no other data; the loop only needs to see it eventually.
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_millis(50));
        let now = Instant::now();
        live.show(now, || {
            format!(
                "{}\n{}",
                table::stages_table(stages),
                table::counts_line(stages.spans(), receiver.requests())
            )
        });
        if now >= next_flush {
            next_flush = now + flush;
            if let Some(path) = output {
                if let Err(e) = save_files(stages, path) {
                    eprintln!("perftrack: warning: {e:#}; trying again in {flush:?}");
                }
            }
        }
    }
    live.clear();
    let requests = receiver.stop();
    eprintln!("{}", table::stages_table(stages));
    eprintln!(
        "perftrack: {}",
        table::counts_line(stages.spans(), requests)
    );
    if let Some(path) = output {
        save_files(stages, path)?;
        let mut saved = path.display().to_string();
        if stages.spans().generation_requests > 0 {
            saved.push_str(&format!(", {}", generation_path(path).display()));
        }
        eprintln!("  saved    {saved}");
    }
    Ok(0)
}

/// Writes the latency metrics file to `path`, and the generation metrics file next to it
/// when any span was a model call; each atomically.
fn save_files(stages: &Stages, path: &Path) -> anyhow::Result<()> {
    stages
        .latency
        .save_metrics(path)
        .with_context(|| format!("cannot write {}", path.display()))?;
    if stages.spans().generation_requests > 0 {
        let generation = generation_path(path);
        stages
            .generation
            .save_metrics(&generation)
            .with_context(|| format!("cannot write {}", generation.display()))?;
    }
    Ok(())
}

/// Where the generation file goes: `stages.json` → `stages.generation.json`.
fn generation_path(path: &Path) -> PathBuf {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    let name = match path.extension() {
        Some(ext) => format!("{stem}.generation.{}", ext.to_string_lossy()),
        None => format!("{stem}.generation"),
    };
    path.with_file_name(name)
}

/// Runs the command pointed at the receiver, as `perftrack run` does, and saves the run
/// container with the stages inside.
fn run_command(
    measure: Measure<'_>,
    receiver: Receiver,
    stages: &Stages,
    output: Option<Output>,
) -> anyhow::Result<u8> {
    let endpoint = format!("http://{}", receiver.addr());
    eprintln!("perftrack: receiving OTLP/HTTP traces on {endpoint}");
    let env = [
        (
            OsString::from("OTEL_EXPORTER_OTLP_ENDPOINT"),
            OsString::from(&endpoint),
        ),
        (
            OsString::from("OTEL_EXPORTER_OTLP_PROTOCOL"),
            OsString::from("http/protobuf"),
        ),
    ];
    let gpu = measure.gpu;
    let measured = Measure {
        env: &env,
        ..measure
    }
    .run(|_| {});
    // The command has ended: its exporter flushed before it exited; what is still queued is
    // recorded before the trackers are read.
    let requests = receiver.stop();
    let measured = match measured? {
        Ok(measured) => measured,
        Err(e) => {
            eprintln!("perftrack: error: {e}");
            return Ok(e.exit_code());
        }
    };
    let mut container = measured.run;
    container.trackers.insert(
        TrackerKind::Latency.file_type().to_owned(),
        serde_json::from_str(&stages.latency.metrics_json()?)?,
    );
    let spans = stages.spans();
    if spans.generation_requests > 0 {
        container.trackers.insert(
            TrackerKind::Generation.file_type().to_owned(),
            serde_json::from_str(&stages.generation.metrics_json()?)?,
        );
    }
    container.collect = Some(CollectJson {
        endpoint,
        requests,
        spans,
    });
    run::print_report(&container, &measured.memory, gpu);
    eprintln!("{}", table::stages_table(stages));
    eprintln!("  spans    {}", table::counts_line(spans, requests));
    if let Some(output) = output {
        let path = output.path().to_owned();
        container.save(output)?;
        eprintln!("  saved    {}", path.display());
    }
    Ok(measured.exit_code)
}

/// `--flush` as a duration: 0.1 s to a day.
fn check_flush(seconds: f64) -> anyhow::Result<Duration> {
    if seconds.is_finite() && (0.1..=86_400.0).contains(&seconds) {
        Ok(Duration::from_secs_f64(seconds))
    } else {
        anyhow::bail!("--flush {seconds}: expected seconds from 0.1 to 86400")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_generation_file_sits_next_to_the_output() {
        let of = |p: &str| generation_path(Path::new(p));
        assert_eq!(
            of("out/stages.json"),
            Path::new("out/stages.generation.json")
        );
        assert_eq!(of("stages"), Path::new("stages.generation"));
    }

    #[test]
    fn flush_intervals_are_checked() {
        assert_eq!(check_flush(2.5).unwrap(), Duration::from_millis(2_500));
        assert!(check_flush(0.0).is_err());
        assert!(check_flush(f64::INFINITY).is_err());
    }
}
