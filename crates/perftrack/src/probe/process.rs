//! Memory of a process, or of a process and its descendants, from `/proc/PID/status`.

use std::collections::BTreeMap;
use std::fs;
use std::io;

use super::Pid;

/// Memory of one process or a process tree, in bytes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct ProcessMemory {
    /// Resident set size (summed over the tree).
    pub(crate) rss: u64,
    /// Virtual memory size (summed over the tree).
    pub(crate) vms: u64,
    /// The kernel's high-water mark of the root process's resident set (`VmHWM`). A sum of
    /// the tree's marks would not be a peak (they happened at different times), so children's
    /// are left out.
    pub(crate) peak_rss: u64,
}

/// Reads `VmRSS`, `VmSize` and `VmHWM` (kB) from `/proc/PID/status`.
pub(crate) fn read(pid: Pid) -> io::Result<ProcessMemory> {
    let status = fs::read_to_string(format!("/proc/{pid}/status"))?;
    let mut memory = ProcessMemory::default();
    let mut found = 0;
    for line in status.lines() {
        let slot = if line.starts_with("VmRSS:") {
            &mut memory.rss
        } else if line.starts_with("VmSize:") {
            &mut memory.vms
        } else if line.starts_with("VmHWM:") {
            &mut memory.peak_rss
        } else {
            continue;
        };
        *slot = kib(line).ok_or_else(|| invalid(pid, line))?;
        found += 1;
    }
    // Kernel threads and zombies have no Vm* lines: they hold no user memory.
    if found != 0 && found != 3 {
        return Err(invalid(pid, "a partial Vm* set"));
    }
    Ok(memory)
}

/// Reads a process and, with `children`, every descendant; processes that exit while being
/// read are skipped. The root must be readable.
pub(crate) fn read_tree(pid: Pid, children: bool) -> io::Result<ProcessMemory> {
    let mut total = read(pid)?;
    if children {
        for child in descendants(pid) {
            if let Ok(m) = read(child) {
                total.rss += m.rss;
                total.vms += m.vms;
            }
        }
    }
    Ok(total)
}

/// Resets the kernel's high-water mark of `pid`'s resident set to its current size (writing
/// `5` to `/proc/PID/clear_refs`). This is process-wide: it also resets the peak that
/// `getrusage` reports.
pub(crate) fn reset_peak(pid: Pid) -> io::Result<()> {
    fs::write(format!("/proc/{pid}/clear_refs"), "5")
}

/// The value of a `Key:   1234 kB` line, in bytes.
fn kib(line: &str) -> Option<u64> {
    let mut words = line.split_whitespace().skip(1);
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => value.checked_mul(1024),
        _ => None,
    }
}

fn invalid(pid: Pid, what: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("/proc/{pid}/status: cannot read `{what}`"),
    )
}

/// Every descendant of `pid` (children, grandchildren, ...), from the parent ids in
/// `/proc/*/stat`.
pub(crate) fn descendants(pid: Pid) -> Vec<Pid> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut children: BTreeMap<Pid, Vec<Pid>> = BTreeMap::new();
    for entry in entries.flatten() {
        let Some(child) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<Pid>().ok())
        else {
            continue;
        };
        if let Some(parent) = parent_of(child) {
            children.entry(parent).or_default().push(child);
        }
    }
    let mut found = Vec::new();
    let mut stack = vec![pid];
    while let Some(p) = stack.pop() {
        if let Some(kids) = children.get(&p) {
            for &kid in kids {
                // A pid reused while scanning could make a cycle; never visit one twice.
                if kid != pid && !found.contains(&kid) {
                    found.push(kid);
                    stack.push(kid);
                }
            }
        }
    }
    found
}

/// The parent id of `pid`: the second field after the command name in `/proc/PID/stat`
/// (the name is in parentheses and may itself contain spaces and parentheses).
fn parent_of(pid: Pid) -> Option<Pid> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after_name = &stat[stat.rfind(')')? + 1..];
    after_name.split_whitespace().nth(1)?.parse().ok()
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn this_process_has_memory() {
        let m = read(std::process::id()).unwrap();
        assert!(m.rss > 0 && m.vms >= m.rss && m.peak_rss >= m.rss, "{m:?}");
    }

    #[test]
    fn a_missing_process_is_an_error() {
        assert!(read(u32::MAX - 1).is_err());
    }

    #[test]
    fn children_are_found() {
        let mut child = std::process::Command::new("sleep")
            .arg("5")
            .spawn()
            .unwrap();
        let found = descendants(std::process::id());
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(found.contains(&child.id()), "{found:?}");
    }

    #[test]
    fn lines_parse_in_kib() {
        assert_eq!(kib("VmRSS:\t    1972 kB"), Some(1972 * 1024));
        assert_eq!(kib("VmRSS:\t    1972"), None);
        assert_eq!(kib("VmRSS:"), None);
    }
}
