//! Helpers shared by the test binaries that watch this process's threads.

use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Live threads of this process named like the sampler. Linux keeps the first 15 bytes of a
/// thread's name: "perftrack-sampl". A thread that has exited can stay listed for a moment
/// after it was joined, so dead ones (state `Z` or `X`) do not count.
pub(crate) fn sampler_threads() -> usize {
    live_threads(|name| name == "perftrack-sampl")
}

/// Live (not exited) threads of this process whose name passes `named`.
pub(crate) fn live_threads(named: impl Fn(&str) -> bool) -> usize {
    std::fs::read_dir("/proc/self/task")
        .map(|tasks| {
            tasks
                .flatten()
                .filter(|t| {
                    let name = std::fs::read_to_string(t.path().join("comm")).unwrap_or_default();
                    let stat = std::fs::read_to_string(t.path().join("stat")).unwrap_or_default();
                    let state = stat
                        .rsplit_once(") ")
                        .and_then(|(_, rest)| rest.chars().next());
                    named(name.trim()) && !matches!(state, Some('Z' | 'X') | None)
                })
                .count()
        })
        .unwrap_or(0)
}

/// Waits (at most two seconds) until `expected` sampler threads run: a new thread names itself
/// only once it is scheduled, and an exited one leaves the list only once it is reaped.
pub(crate) fn expect_sampler_threads(expected: usize, why: &str) {
    let deadline = Instant::now() + Duration::from_secs(2);
    while sampler_threads() != expected && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(sampler_threads(), expected, "{why}");
}

/// One test at a time: these tests measure the same process (its memory, CPU and threads).
pub(crate) fn alone() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}
