//! CPU time of a process (tree), of its threads, and of the whole system and each core, from
//! `/proc`. Times are counted in clock ticks of `USER_HZ`, which Linux fixes at 100 per second
//! for every program on every mainstream architecture: readings resolve 10 ms.

use std::collections::BTreeMap;
use std::fs;
use std::io;

use super::{Pid, process};

/// Clock ticks per second in `/proc` (`USER_HZ`).
pub(crate) const TICKS_PER_SECOND: f64 = 100.0;

/// CPU seconds a process (tree) used since it started.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub(crate) struct ProcessTimes {
    pub(crate) user_s: f64,
    pub(crate) system_s: f64,
}

/// The fields after the command name in `/proc/.../stat` (the name is in parentheses and may
/// hold spaces and parentheses itself), and the name.
fn stat_fields(path: &str) -> io::Result<(String, Vec<String>)> {
    let stat = fs::read_to_string(path)?;
    let open = stat.find('(').ok_or_else(|| bad(path))?;
    let close = stat.rfind(')').ok_or_else(|| bad(path))?;
    let name = stat.get(open + 1..close).unwrap_or_default().to_owned();
    let fields = stat[close + 1..]
        .split_whitespace()
        .map(str::to_owned)
        .collect();
    Ok((name, fields))
}

fn bad(path: &str) -> io::Error {
    io::Error::new(
        io::ErrorKind::InvalidData,
        format!("{path}: unexpected format"),
    )
}

/// `utime` and `stime` (fields 14 and 15 of `stat`; 11 and 12 after the name) in seconds.
fn times(fields: &[String], path: &str) -> io::Result<ProcessTimes> {
    let tick = |i: usize| -> io::Result<f64> {
        let ticks: u64 = fields
            .get(i)
            .and_then(|f| f.parse().ok())
            .ok_or_else(|| bad(path))?;
        Ok(ticks as f64 / TICKS_PER_SECOND)
    };
    Ok(ProcessTimes {
        user_s: tick(11)?,
        system_s: tick(12)?,
    })
}

/// CPU seconds `pid` used (its threads, living and exited), and with `children` those of its
/// living descendants too.
pub(crate) fn process_times(pid: Pid, children: bool) -> io::Result<ProcessTimes> {
    let path = format!("/proc/{pid}/stat");
    let (_, fields) = stat_fields(&path)?;
    let mut total = times(&fields, &path)?;
    if children {
        for child in process::descendants(pid) {
            let path = format!("/proc/{child}/stat");
            if let Ok(t) = stat_fields(&path).and_then(|(_, f)| times(&f, &path)) {
                total.user_s += t.user_s;
                total.system_s += t.system_s;
            }
        }
    }
    Ok(total)
}

/// One thread's name and the CPU seconds it used.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct ThreadTime {
    pub(crate) tid: Pid,
    pub(crate) name: String,
    pub(crate) cpu_s: f64,
}

/// Every living thread of `pid`.
pub(crate) fn thread_times(pid: Pid) -> io::Result<Vec<ThreadTime>> {
    let mut threads = Vec::new();
    for task in fs::read_dir(format!("/proc/{pid}/task"))?.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<Pid>().ok())
        else {
            continue;
        };
        let path = format!("/proc/{pid}/task/{tid}/stat");
        // A thread can exit between the listing and the read.
        if let Ok((name, fields)) = stat_fields(&path) {
            if let Ok(t) = times(&fields, &path) {
                threads.push(ThreadTime {
                    tid,
                    name,
                    cpu_s: t.user_s + t.system_s,
                });
            }
        }
    }
    Ok(threads)
}

/// Busy and total ticks of a CPU (or all of them) since boot.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Ticks {
    pub(crate) busy: u64,
    pub(crate) total: u64,
}

/// The whole system's ticks and each core's, from `/proc/stat`.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct SystemTimes {
    pub(crate) all: Ticks,
    pub(crate) cores: BTreeMap<u32, Ticks>,
}

/// Reads `/proc/stat`. Idle and I/O wait count as not busy; guest time is already in user.
pub(crate) fn system_times() -> io::Result<SystemTimes> {
    let stat = fs::read_to_string("/proc/stat")?;
    let mut out = SystemTimes::default();
    for line in stat.lines() {
        let mut words = line.split_whitespace();
        let Some(name) = words.next() else { continue };
        let Some(rest) = name.strip_prefix("cpu") else {
            continue;
        };
        let values: Vec<u64> = words.take(8).filter_map(|w| w.parse().ok()).collect();
        if values.len() < 5 {
            continue;
        }
        let total: u64 = values.iter().sum();
        let idle = values[3] + values[4];
        let ticks = Ticks {
            busy: total.saturating_sub(idle),
            total,
        };
        if rest.is_empty() {
            out.all = ticks;
        } else if let Ok(core) = rest.parse() {
            out.cores.insert(core, ticks);
        }
    }
    if out.all.total == 0 {
        return Err(bad("/proc/stat"));
    }
    Ok(out)
}

/// The cores `pid` may run on (`Cpus_allowed_list` in `/proc/PID/status`, e.g. `0-3,8`).
pub(crate) fn allowed_cores(pid: Pid) -> Option<Vec<u32>> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let list = status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))?
        .trim();
    let mut cores = Vec::new();
    for part in list.split(',') {
        match part.split_once('-') {
            Some((a, b)) => cores.extend(a.parse::<u32>().ok()?..=b.parse::<u32>().ok()?),
            None => cores.push(part.parse().ok()?),
        }
    }
    Some(cores)
}

/// How many cores' worth of CPU the process can use: its affinity, capped by a cgroup CPU
/// quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`) when it has one.
pub(crate) fn available_cores(pid: Pid) -> Option<f64> {
    let allowed = allowed_cores(pid)?.len() as f64;
    Some(match cgroup_quota() {
        Some(quota) => allowed.min(quota),
        None => allowed,
    })
}

fn cgroup_quota() -> Option<f64> {
    let read = |p: &str| fs::read_to_string(p).ok();
    if let Some(max) = read("/sys/fs/cgroup/cpu.max") {
        let mut parts = max.split_whitespace();
        let quota: f64 = parts.next()?.parse().ok()?;
        let period: f64 = parts.next()?.parse().ok()?;
        return (period > 0.0).then_some(quota / period);
    }
    let quota: f64 = read("/sys/fs/cgroup/cpu/cpu.cfs_quota_us")?
        .trim()
        .parse()
        .ok()?;
    let period: f64 = read("/sys/fs/cgroup/cpu/cpu.cfs_period_us")?
        .trim()
        .parse()
        .ok()?;
    (quota > 0.0 && period > 0.0).then_some(quota / period)
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn this_process_and_the_system_have_times() {
        let p = process_times(std::process::id(), false).unwrap();
        assert!(p.user_s >= 0.0 && p.system_s >= 0.0);
        let s = system_times().unwrap();
        assert!(s.all.total >= s.all.busy);
        assert!(!s.cores.is_empty());
        let threads = thread_times(std::process::id()).unwrap();
        assert!(!threads.is_empty());
        let cores = allowed_cores(std::process::id()).unwrap();
        assert!(!cores.is_empty());
        assert!(available_cores(std::process::id()).unwrap() > 0.0);
    }

    #[test]
    fn names_with_parentheses_and_spaces_parse() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("stat");
        std::fs::write(&path, "42 (a (b) c) S 1 2 3 4 5 6 7 8 9 10 250 50 0 0").unwrap();
        let (name, fields) = stat_fields(path.to_str().unwrap()).unwrap();
        assert_eq!(name, "a (b) c");
        let t = times(&fields, "x").unwrap();
        assert_eq!((t.user_s, t.system_s), (2.5, 0.5));
    }
}
