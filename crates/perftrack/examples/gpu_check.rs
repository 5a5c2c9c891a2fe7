//! Reads GPU 0's memory through perftrack's NVML probe and prints it as one line of
//! `key=value` pairs, in bytes:
//!
//! ```text
//! gpu_index=0 gpu_total=... gpu_used=... gpu_free=... pid=... process_used=...
//! ```
//!
//! `gpu_used` and `gpu_free` come from NVML's version-2 memory call; `process_used` is what
//! this process uses on the device, or `unavailable`. Exits 1 with the reason when NVML or
//! the GPU is unavailable. `scripts/gpu-check.sh` compares the line with `nvidia-smi`.
//!
//! ```text
//! cargo run -p perftrack --example gpu_check [-- --hold-mib N]
//! ```
//!
//! `--hold-mib N` is accepted for a later allocation helper and does nothing yet.

use std::process::ExitCode;

// The probe is crate-private; compiling its file here checks exactly the code the tracker uses.
#[path = "../src/probe/gpu.rs"]
mod gpu;

/// The device read.
const INDEX: u32 = 0;

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let hold = (arg == "--hold-mib")
            .then(|| args.next())
            .flatten()
            .and_then(|n| n.parse::<u64>().ok());
        if hold.is_none() {
            eprintln!("usage: gpu_check [--hold-mib N]");
            return ExitCode::from(2);
        }
    }
    let pid = std::process::id();
    let memory = match gpu::Gpu::get().and_then(|gpu| gpu.memory(INDEX, &[pid])) {
        Ok(memory) => memory,
        Err(reason) => {
            eprintln!("gpu_check: {reason}");
            return ExitCode::FAILURE;
        }
    };
    let process_used = memory
        .process_used
        .map_or_else(|| "unavailable".to_owned(), |bytes| bytes.to_string());
    println!(
        "gpu_index={INDEX} gpu_total={} gpu_used={} gpu_free={} pid={pid} process_used={process_used}",
        memory.total, memory.used, memory.free
    );
    ExitCode::SUCCESS
}
