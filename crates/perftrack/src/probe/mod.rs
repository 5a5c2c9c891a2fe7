//! Readings of memory and CPU: this process, other processes, the system, the GPU.
//!
//! The Linux fast path reads `/proc` and the cgroup files directly (never `smaps`, which costs
//! hundreds of microseconds and locks the process's memory map). On other platforms the
//! readings are unavailable and say so.

pub(crate) mod cpu;
#[cfg(feature = "gpu")]
pub(crate) mod gpu;
pub(crate) mod process;
pub(crate) mod system;

/// A process id.
pub(crate) type Pid = u32;
