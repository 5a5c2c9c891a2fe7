//! GPU memory through NVML, the NVIDIA Management Library.
//!
//! `nvml-wrapper` loads `libnvidia-ml.so.1` with `dlopen` at run time, so building needs neither
//! CUDA nor a GPU; on a machine without the NVIDIA driver [`Gpu::get`] returns the reason instead.
//!
//! This file is self-contained (it uses nothing else from the crate): the `gpu_check` example
//! compiles it directly with `#[path]`, to check the probe on a machine with a GPU.

use std::collections::HashMap;
use std::collections::hash_map::Entry;
use std::sync::{Mutex, OnceLock, PoisonError};
use std::time::{Duration, Instant};

use nvml_wrapper::enums::device::UsedGpuMemory;
use nvml_wrapper::error::NvmlError;
use nvml_wrapper::struct_wrappers::device::ProcessInfo;
use nvml_wrapper::{Device, Nvml};

/// How long per-process figures are reused before NVML is asked for them again.
const PROCESS_REFRESH: Duration = Duration::from_millis(500);

/// The process-wide NVML handle, or why there is none; initialised on first use.
static GPU: OnceLock<Result<Gpu, String>> = OnceLock::new();

/// How many times initialisation was attempted (it must be once per process).
#[cfg(test)]
static INIT_ATTEMPTS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// Memory of one GPU, device-wide, plus what one process tree uses on it. Bytes.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct GpuMemory {
    /// Installed memory of the device (less what ECC takes).
    pub(crate) total: u64,
    /// Memory allocated on the device by all processes, not counting what the driver reserves.
    pub(crate) used: u64,
    /// Memory that is neither allocated nor reserved by the driver.
    pub(crate) free: u64,
    /// Memory used on this device by the given processes (sum), if NVML reports it.
    pub(crate) process_used: Option<u64>,
}

/// A handle to NVML, initialised once per process; [`Gpu::get`] hands out a `&'static` to it,
/// which is `Copy` and can be shared between threads.
pub(crate) struct Gpu {
    /// The loaded library. Never dropped: it lives in a static for the rest of the process.
    nvml: Nvml,
    /// The last per-process figures read, per device index.
    processes: Mutex<HashMap<u32, ProcessSnapshot>>,
}

/// The per-process figures of one device, as last read from NVML.
struct ProcessSnapshot {
    /// When they were read.
    read_at: Instant,
    /// Memory per pid; `None` when neither process list could be read.
    usage: Option<ProcessUsage>,
}

/// Memory per process id on one device; `None` where NVML does not report it for that
/// process (always so under Windows WDDM).
type ProcessUsage = HashMap<u32, Option<u64>>;

impl Gpu {
    /// The process-wide NVML handle, or the reason it is unavailable, e.g.
    /// "NVML not found (libnvidia-ml.so.1: cannot open shared object file: ...)".
    /// Initialisation is attempted once per process; the error is remembered.
    pub(crate) fn get() -> Result<&'static Gpu, String> {
        GPU.get_or_init(Gpu::init).as_ref().map_err(Clone::clone)
    }

    /// Loads NVML and initialises it.
    fn init() -> Result<Gpu, String> {
        #[cfg(test)]
        INIT_ATTEMPTS.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let nvml = Nvml::init().map_err(|error| init_reason(&error))?;
        Ok(Gpu {
            nvml,
            processes: Mutex::new(HashMap::new()),
        })
    }

    /// Reads device `index`. `pids`: the process tree whose usage to sum for `process_used`
    /// (empty: skip). Per-process figures (running compute and graphics processes) are slower
    /// to read; they are cached per device and re-read no more often than every 500 ms.
    pub(crate) fn memory(&self, index: u32, pids: &[u32]) -> Result<GpuMemory, String> {
        let device = self
            .nvml
            .device_by_index(index)
            .map_err(|error| self.device_reason(index, &error))?;
        // `Device::memory_info` calls `nvmlDeviceGetMemoryInfo_v2` (since nvml-wrapper 0.10).
        // Version 1 counts the memory the driver reserves for itself as used, so an idle GPU
        // shows hundreds of MiB "used"; version 2 reports that separately as `reserved`, and its
        // `used` is what processes allocated, the figure `nvidia-smi` shows.
        let info = device
            .memory_info()
            .map_err(|error| memory_reason(index, &error))?;
        let process_used = if pids.is_empty() {
            None
        } else {
            let mut cache = self
                .processes
                .lock()
                .unwrap_or_else(PoisonError::into_inner);
            let usage = refreshed(&mut cache, index, Instant::now(), || {
                read_processes(&device)
            });
            sum_for(pids, usage)
        };
        Ok(GpuMemory {
            total: info.total,
            used: info.used,
            free: info.free,
            process_used,
        })
    }

    /// Why device `index` could not be opened.
    fn device_reason(&self, index: u32, error: &NvmlError) -> String {
        match (error, self.nvml.device_count()) {
            (_, Ok(count)) if index >= count => {
                format!("no GPU with index {index} ({count} found)")
            }
            (NvmlError::InvalidArg, Err(_)) => format!("no GPU with index {index}"),
            (NvmlError::NoPermission, _) => format!(
                "not permitted to open GPU {index} through NVML (check access to /dev/nvidia*)"
            ),
            (error, _) => device_error(index, error),
        }
    }
}

/// Why NVML could not be initialised, in words a person can act on.
fn init_reason(error: &NvmlError) -> String {
    match error {
        NvmlError::LibloadingError(error) => format!(
            "NVML not found ({error}); is the NVIDIA driver installed and libnvidia-ml.so.1 on \
             the library path?"
        ),
        NvmlError::FailedToLoadSymbol(error) => {
            format!("NVML is too old to initialise ({error}); update the NVIDIA driver")
        }
        NvmlError::DriverNotLoaded => "NVML found, but the NVIDIA kernel driver is not loaded \
                                       (no NVIDIA GPU, or the nvidia module is not loaded)"
            .to_owned(),
        NvmlError::NoPermission => "NVML found, but this user may not talk to the NVIDIA driver \
                                    (check access to /dev/nvidia*)"
            .to_owned(),
        error => format!("NVML failed to initialise: {error}"),
    }
}

/// Why the memory of device `index` could not be read.
fn memory_reason(index: u32, error: &NvmlError) -> String {
    match error {
        NvmlError::FailedToLoadSymbol(error) => format!(
            "this NVML lacks nvmlDeviceGetMemoryInfo_v2 ({error}); update the NVIDIA driver \
             (R510 or newer)"
        ),
        NvmlError::NotSupported => format!("GPU {index} does not report its memory through NVML"),
        error => device_error(index, error),
    }
}

/// The reason for an error of device `index` that has no more specific explanation.
fn device_error(index: u32, error: &NvmlError) -> String {
    match error {
        NvmlError::GpuLost => format!(
            "GPU {index} fell off the bus or is otherwise inaccessible (it may need a reset)"
        ),
        error => format!("NVML failed on GPU {index}: {error}"),
    }
}

/// The cached per-process figures of device `index`, re-read with `read` first if they are
/// missing or older than [`PROCESS_REFRESH`] at `now`.
fn refreshed(
    cache: &mut HashMap<u32, ProcessSnapshot>,
    index: u32,
    now: Instant,
    read: impl FnOnce() -> Option<ProcessUsage>,
) -> Option<&ProcessUsage> {
    let snapshot = match cache.entry(index) {
        Entry::Occupied(entry) => {
            let snapshot = entry.into_mut();
            if now.saturating_duration_since(snapshot.read_at) >= PROCESS_REFRESH {
                *snapshot = ProcessSnapshot {
                    read_at: now,
                    usage: read(),
                };
            }
            snapshot
        }
        Entry::Vacant(entry) => entry.insert(ProcessSnapshot {
            read_at: now,
            usage: read(),
        }),
    };
    snapshot.usage.as_ref()
}

/// Reads the memory of every process with a compute or graphics context on `device`.
/// `None` when neither list can be read (e.g. not permitted, or the driver lacks the calls).
fn read_processes(device: &Device<'_>) -> Option<ProcessUsage> {
    merge_process_lists([
        device.running_compute_processes().ok(),
        device.running_graphics_processes().ok(),
    ])
}

/// Memory per pid from NVML's process lists (`None`: a list that could not be read).
///
/// Within one list a pid appears once per MIG instance it runs on, so its entries add up. A
/// process with both a compute and a graphics context appears in both lists with the same
/// figure (its whole usage on the device), so across lists the larger figure is kept.
fn merge_process_lists(lists: [Option<Vec<ProcessInfo>>; 2]) -> Option<ProcessUsage> {
    if lists.iter().all(Option::is_none) {
        return None;
    }
    let mut merged = ProcessUsage::default();
    for list in lists.into_iter().flatten() {
        let mut usage = ProcessUsage::default();
        for process in list {
            let bytes = match process.used_gpu_memory {
                UsedGpuMemory::Used(bytes) => Some(bytes),
                UsedGpuMemory::Unavailable => None,
            };
            usage
                .entry(process.pid)
                .and_modify(|sum| *sum = sum.zip(bytes).map(|(a, b)| a.saturating_add(b)))
                .or_insert(bytes);
        }
        for (pid, bytes) in usage {
            // `None < Some(_)`: a figure beats "not available".
            merged
                .entry(pid)
                .and_modify(|kept| *kept = (*kept).max(bytes))
                .or_insert(bytes);
        }
    }
    Some(merged)
}

/// The memory that `pids` (each counted once) use on the device: 0 when none of them is on it,
/// `None` when the process lists are unknown or NVML does not report the figure for one of them.
fn sum_for(pids: &[u32], usage: Option<&ProcessUsage>) -> Option<u64> {
    let usage = usage?;
    let mut pids = pids.to_vec();
    pids.sort_unstable();
    pids.dedup();
    pids.iter()
        .filter_map(|pid| usage.get(pid))
        .try_fold(0_u64, |sum, bytes| {
            bytes.map(|bytes| sum.saturating_add(bytes))
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;
    use std::sync::atomic::Ordering;

    const MIB: u64 = 1 << 20;

    fn process(pid: u32, used: UsedGpuMemory) -> ProcessInfo {
        ProcessInfo {
            pid,
            used_gpu_memory: used,
            gpu_instance_id: None,
            compute_instance_id: None,
        }
    }

    #[test]
    fn initialisation_is_attempted_once_and_its_outcome_remembered() {
        let first = Gpu::get().map(|gpu| gpu as *const Gpu);
        let second = Gpu::get().map(|gpu| gpu as *const Gpu);
        assert_eq!(first, second);
        assert_eq!(INIT_ATTEMPTS.load(Ordering::SeqCst), 1);
    }

    #[test]
    fn a_missing_nvml_is_reported_not_fatal() {
        match Gpu::get() {
            Err(reason) => assert!(reason.contains("NVML"), "{reason}"),
            Ok(_) => eprintln!("NVML is available here; nothing to check"),
        }
    }

    #[test]
    fn device_memory_is_consistent_when_a_gpu_is_present() {
        let Ok(gpu) = Gpu::get() else {
            eprintln!("no NVML here; nothing to check");
            return;
        };
        let count = gpu.nvml.device_count().unwrap();
        let reading = gpu.memory(0, &[std::process::id()]);
        if count == 0 {
            assert!(reading.unwrap_err().contains("no GPU with index 0"));
            return;
        }
        let memory = reading.unwrap();
        assert!(memory.total > 0, "{memory:?}");
        assert!(
            memory.used + memory.free <= memory.total + 64 * MIB,
            "{memory:?}"
        );
        // This test allocates nothing on the GPU.
        assert!(matches!(memory.process_used, None | Some(0)), "{memory:?}");
        // Cached figures: a second reading within 500 ms answers the same.
        let again = gpu.memory(0, &[std::process::id()]).unwrap();
        assert_eq!(again.process_used, memory.process_used);
        assert_eq!(gpu.memory(0, &[]).unwrap().process_used, None);
        let missing = gpu.memory(count + 7, &[]).unwrap_err();
        assert_eq!(
            missing,
            format!("no GPU with index {} ({count} found)", count + 7)
        );
    }

    #[test]
    fn lists_merge_by_pid() {
        use UsedGpuMemory::{Unavailable, Used};
        assert_eq!(merge_process_lists([None, None]), None);
        assert_eq!(
            merge_process_lists([Some(vec![]), None]),
            Some(HashMap::new())
        );
        let compute = vec![
            process(10, Used(100)),
            process(10, Used(50)), // a second MIG instance
            process(11, Used(7)),
            process(12, Unavailable),
            process(13, Unavailable),
        ];
        let graphics = vec![
            process(10, Used(150)), // the same process, with a graphics context too
            process(11, Used(5)),
            process(12, Used(9)),
            process(14, Used(1)),
        ];
        let merged = merge_process_lists([Some(compute), Some(graphics)]).unwrap();
        let expected = HashMap::from([
            (10, Some(150)),
            (11, Some(7)),
            (12, Some(9)),
            (13, None),
            (14, Some(1)),
        ]);
        assert_eq!(merged, expected);
        // An unavailable figure within one list makes the sum unavailable.
        let split = vec![process(20, Used(1)), process(20, Unavailable)];
        let merged = merge_process_lists([None, Some(split)]).unwrap();
        assert_eq!(merged, HashMap::from([(20, None)]));
    }

    #[test]
    fn the_sum_counts_each_pid_once_and_needs_every_figure() {
        let usage = HashMap::from([(1, Some(10)), (2, Some(20)), (3, None)]);
        assert_eq!(sum_for(&[1, 2, 2, 1], Some(&usage)), Some(30));
        assert_eq!(sum_for(&[2, 99], Some(&usage)), Some(20));
        assert_eq!(sum_for(&[99], Some(&usage)), Some(0));
        assert_eq!(sum_for(&[1, 3], Some(&usage)), None);
        assert_eq!(sum_for(&[1], None), None);
        let huge = HashMap::from([(1, Some(u64::MAX)), (2, Some(1))]);
        assert_eq!(sum_for(&[1, 2], Some(&huge)), Some(u64::MAX));
    }

    #[test]
    fn process_figures_are_reread_at_most_every_500_ms() {
        let reads = Cell::new(0_u32);
        let read = || {
            reads.set(reads.get() + 1);
            Some(HashMap::from([(1, Some(u64::from(reads.get())))]))
        };
        let mut cache = HashMap::new();
        let start = Instant::now();
        let at = |ms| start + Duration::from_millis(ms);
        assert_eq!(
            refreshed(&mut cache, 0, at(0), read),
            Some(&HashMap::from([(1, Some(1))]))
        );
        assert_eq!(
            refreshed(&mut cache, 0, at(499), read).cloned(),
            Some(HashMap::from([(1, Some(1))]))
        );
        assert_eq!(reads.get(), 1);
        // Another device has its own figures.
        assert_eq!(
            refreshed(&mut cache, 1, at(499), read).cloned(),
            Some(HashMap::from([(1, Some(2))]))
        );
        assert_eq!(
            refreshed(&mut cache, 0, at(500), read).cloned(),
            Some(HashMap::from([(1, Some(3))]))
        );
        // A clock that seems to go backwards (another thread's older `now`) reuses the figures.
        assert_eq!(
            refreshed(&mut cache, 0, at(100), read).cloned(),
            Some(HashMap::from([(1, Some(3))]))
        );
        assert_eq!(reads.get(), 3);
        // A failed read is cached too, so a failing driver is not asked on every sample.
        let mut failing = HashMap::new();
        assert_eq!(refreshed(&mut failing, 0, at(0), || None), None);
        assert_eq!(refreshed(&mut failing, 0, at(10), read), None);
        assert_eq!(reads.get(), 3);
    }

    #[test]
    fn reasons_say_what_to_do() {
        assert!(init_reason(&NvmlError::DriverNotLoaded).contains("driver is not loaded"));
        assert!(init_reason(&NvmlError::NoPermission).contains("/dev/nvidia"));
        assert!(init_reason(&NvmlError::Unknown).starts_with("NVML failed to initialise"));
        let missing = NvmlError::FailedToLoadSymbol("undefined symbol".to_owned());
        assert!(memory_reason(0, &missing).contains("nvmlDeviceGetMemoryInfo_v2"));
        assert!(memory_reason(2, &NvmlError::GpuLost).contains("GPU 2 fell off the bus"));
        assert_eq!(
            memory_reason(1, &NvmlError::Unknown),
            "NVML failed on GPU 1: an internal driver error occurred"
        );
    }
}
