//! Memory of the whole system (`/proc/meminfo`) and of the cgroup the process runs in.

use std::fs;
use std::io;

/// System memory in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct SystemMemory {
    pub(crate) total: u64,
    pub(crate) available: u64,
    /// `total - available`: what is in use and cannot be reclaimed at once.
    pub(crate) used: u64,
    pub(crate) free: u64,
    /// `used / total`, as a percentage from 0 to 100.
    pub(crate) percent: f64,
}

/// Reads `/proc/meminfo`.
pub(crate) fn read() -> io::Result<SystemMemory> {
    let meminfo = fs::read_to_string("/proc/meminfo")?;
    let (mut total, mut free, mut available) = (None, None, None);
    for line in meminfo.lines() {
        let slot = if line.starts_with("MemTotal:") {
            &mut total
        } else if line.starts_with("MemFree:") {
            &mut free
        } else if line.starts_with("MemAvailable:") {
            &mut available
        } else {
            continue;
        };
        *slot = kib(line);
    }
    let (Some(total), Some(free)) = (total, free) else {
        return Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "/proc/meminfo: no MemTotal or MemFree",
        ));
    };
    // Kernels before 3.14 have no MemAvailable; free memory is the closest lower bound.
    let available = available.unwrap_or(free).min(total);
    let used = total - available;
    Ok(SystemMemory {
        total,
        available,
        used,
        free,
        percent: if total > 0 {
            used as f64 * 100.0 / total as f64
        } else {
            0.0
        },
    })
}

fn kib(line: &str) -> Option<u64> {
    let mut words = line.split_whitespace().skip(1);
    let value: u64 = words.next()?.parse().ok()?;
    (words.next() == Some("kB")).then(|| value.saturating_mul(1024))
}

/// Limits at or above this are cgroup v1's way of saying "unlimited" (it writes the largest
/// page-aligned `i64`).
const UNLIMITED: u64 = 1 << 60;

/// The memory limit of the cgroup the process runs in, if it has one: cgroup v2's
/// `memory.max`, or cgroup v1's `memory.limit_in_bytes`.
pub(crate) fn cgroup_limit() -> Option<u64> {
    let cgroups = fs::read_to_string("/proc/self/cgroup").ok()?;
    for line in cgroups.lines() {
        let mut parts = line.splitn(3, ':');
        let (_, controllers, path) = (parts.next()?, parts.next()?, parts.next()?);
        let path = path.trim_start_matches('/');
        let candidates: Vec<String> = if controllers.is_empty() {
            // cgroup v2: one unified hierarchy.
            vec![
                format!("/sys/fs/cgroup/{path}/memory.max"),
                "/sys/fs/cgroup/memory.max".to_owned(),
            ]
        } else if controllers.split(',').any(|c| c == "memory") {
            // cgroup v1; inside a container the group's own directory is often mounted as
            // the root.
            vec![
                format!("/sys/fs/cgroup/memory/{path}/memory.limit_in_bytes"),
                "/sys/fs/cgroup/memory/memory.limit_in_bytes".to_owned(),
            ]
        } else {
            continue;
        };
        for file in candidates {
            if let Ok(text) = fs::read_to_string(&file) {
                let text = text.trim();
                return match text {
                    "max" => None,
                    _ => text.parse::<u64>().ok().filter(|&limit| limit < UNLIMITED),
                };
            }
        }
    }
    None
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn system_memory_adds_up() {
        let m = read().unwrap();
        assert!(m.total > 0);
        assert!(m.available <= m.total && m.free <= m.total);
        assert_eq!(m.used, m.total - m.available);
        assert!((0.0..=100.0).contains(&m.percent));
    }

    #[test]
    fn a_cgroup_limit_is_a_real_limit_or_none() {
        if let Some(limit) = cgroup_limit() {
            assert!(limit < UNLIMITED);
        }
    }
}
