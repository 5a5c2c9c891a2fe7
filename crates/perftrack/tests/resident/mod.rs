//! This process's resident memory, for the test binaries that read it (each holds one test, so
//! that no other test running beside it disturbs the figure).

/// This process's resident set size in KiB, from `/proc/self/status`.
pub(crate) fn rss_kib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}

/// Whether the resident set can be read here. When it cannot, says that the test is skipped
/// and why, and fails under `CI=true`: CI runs on Linux, where it must be readable.
pub(crate) fn readable() -> bool {
    if rss_kib().is_some() {
        return true;
    }
    assert!(
        std::env::var("CI").as_deref() != Ok("true"),
        "/proc/self/status is needed to read resident memory"
    );
    eprintln!("skipped: no /proc/self/status on this platform to read resident memory");
    false
}
