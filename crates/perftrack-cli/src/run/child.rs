//! The measured command as a child process: starting it, noticing its end without reaping it
//! (so its `/proc` entry can still be read), reaping it with the kernel's resource usage, and
//! the signals `perftrack` receives meanwhile.

use std::ffi::OsString;
use std::io;
use std::process::{Child, Command};
use std::sync::mpsc::{self, Receiver};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use nix::errno::Errno;
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::signal::{Signal, kill};
use nix::sys::wait::{Id, WaitPidFlag, WaitStatus, waitid};
use nix::unistd::Pid;
use perftrack::Timestamp;
use signal_hook::consts::{SIGHUP, SIGINT, SIGQUIT, SIGTERM};
use signal_hook::iterator::{Handle, Signals};

/// Exit code when the command was not found (what shells and GNU time use).
pub(crate) const EXIT_NOT_FOUND: u8 = 127;
/// Exit code when the command was found but could not be executed (no permission, not an
/// executable format).
pub(crate) const EXIT_CANNOT_EXECUTE: u8 = 126;

/// Why the command could not start, with the exit code `perftrack` ends with.
#[derive(Debug)]
pub(crate) struct SpawnError {
    pub(crate) program: String,
    pub(crate) source: io::Error,
}

impl SpawnError {
    /// 127 when the program does not exist, 126 when it exists but cannot be executed.
    pub(crate) fn exit_code(&self) -> u8 {
        if self.source.kind() == io::ErrorKind::NotFound {
            EXIT_NOT_FOUND
        } else {
            EXIT_CANNOT_EXECUTE
        }
    }
}

impl std::fmt::Display for SpawnError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "cannot run `{}`: {}", self.program, self.source)
    }
}

/// How the command ended, noticed before it was reaped.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Ended {
    /// When `waitid` reported the end.
    pub(crate) at: Instant,
    /// The wall-clock time of the end.
    pub(crate) time: Timestamp,
    /// Whether it exited with code 0.
    pub(crate) success: bool,
}

/// How the command ended and what the kernel counted for it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct Reaped {
    /// The exit code, when it exited.
    pub(crate) code: Option<i32>,
    /// The signal that killed it, when one did.
    pub(crate) signal: Option<i32>,
    /// User CPU seconds of the command and every descendant it waited for.
    pub(crate) user_seconds: f64,
    /// System CPU seconds of the same processes.
    pub(crate) system_seconds: f64,
    /// The largest resident set of any one of those processes, in bytes.
    pub(crate) max_rss_bytes: u64,
}

impl Reaped {
    /// The exit code `perftrack` ends with: the command's own, or 128 + the signal that killed
    /// it (as shells report it).
    pub(crate) fn exit_code(&self) -> u8 {
        match (self.code, self.signal) {
            (Some(code), _) => u8::try_from(code.rem_euclid(256)).unwrap_or(u8::MAX),
            (None, Some(signal)) => u8::try_from(128 + signal.clamp(0, 127)).unwrap_or(u8::MAX),
            (None, None) => u8::MAX,
        }
    }
}

/// A started command.
#[derive(Debug)]
pub(crate) struct Running {
    child: Child,
    /// When the command was started.
    pub(crate) started: Instant,
    /// The wall-clock time it was started.
    pub(crate) start_time: Timestamp,
    ended: Receiver<io::Result<Ended>>,
    waiter: Option<JoinHandle<()>>,
    /// Whether the child was reaped; held while a signal is forwarded, so that a signal never
    /// reaches a process that took over the pid after the reap.
    reaped: Arc<Mutex<bool>>,
    signals: Handle,
    forwarder: Option<JoinHandle<()>>,
}

/// Outcome of waiting for the command's end for a while.
pub(crate) enum Wait {
    /// The command ended (it is not reaped yet).
    Ended(Ended),
    /// The time given passed first.
    Running,
}

impl Running {
    /// Starts `command` with this process's stdin, stdout and stderr, and its environment
    /// with `env` added.
    ///
    /// From now until [`reap`](Self::reap), `perftrack` outlives the command: SIGINT and
    /// SIGQUIT (which a terminal sends to the whole foreground process group, the command
    /// included) are caught and left to the command, and SIGTERM and SIGHUP are passed on to
    /// it. Caught signals go back to their default in the command when it executes.
    pub(crate) fn spawn(
        command: &[OsString],
        env: &[(OsString, OsString)],
    ) -> anyhow::Result<Result<Self, SpawnError>> {
        let Some((program, args)) = command.split_first() else {
            anyhow::bail!("no command to run");
        };
        let mut signals = Signals::new([SIGINT, SIGQUIT, SIGTERM, SIGHUP])
            .map_err(|e| anyhow::anyhow!("cannot handle signals: {e}"))?;
        let handle = signals.handle();
        let started = Instant::now();
        let start_time = Timestamp::now();
        let spawned = Command::new(program)
            .args(args)
            .envs(env.iter().map(|(k, v)| (k, v)))
            .spawn();
        let child = match spawned {
            Ok(child) => child,
            Err(source) => {
                handle.close();
                return Ok(Err(SpawnError {
                    program: program.to_string_lossy().into_owned(),
                    source,
                }));
            }
        };
        let pid = Pid::from_raw(i32::try_from(child.id())?);
        let reaped = Arc::new(Mutex::new(false));
        let forwarder = {
            let reaped = Arc::clone(&reaped);
            thread::Builder::new()
                .name("perftrack-signals".into())
                .spawn(move || {
                    for number in signals.forever() {
                        if matches!(number, SIGTERM | SIGHUP) {
                            let Ok(signal) = Signal::try_from(number) else {
                                continue;
                            };
                            let reaped = reaped.lock().unwrap_or_else(PoisonError::into_inner);
                            if !*reaped {
                                // The command may have ended already; nothing to do then.
                                let _ = kill(pid, signal);
                            }
                        }
                    }
                })?
        };
        let (tx, ended) = mpsc::channel();
        let waiter = thread::Builder::new()
            .name("perftrack-wait".into())
            .spawn(move || {
                let result = loop {
                    // WNOWAIT leaves the child a zombie: its `/proc` entry (and CPU times) stay
                    // readable for the final readings until it is reaped.
                    match waitid(Id::Pid(pid), WaitPidFlag::WEXITED | WaitPidFlag::WNOWAIT) {
                        Ok(status) => {
                            break Ok(Ended {
                                at: Instant::now(),
                                time: Timestamp::now(),
                                success: matches!(status, WaitStatus::Exited(_, 0)),
                            });
                        }
                        Err(Errno::EINTR) => continue,
                        Err(errno) => break Err(io::Error::from(errno)),
                    }
                };
                let _ = tx.send(result);
            })?;
        Ok(Ok(Self {
            child,
            started,
            start_time,
            ended,
            waiter: Some(waiter),
            reaped,
            signals: handle,
            forwarder: Some(forwarder),
        }))
    }

    /// The command's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits at most `timeout` for the command to end.
    pub(crate) fn wait_for(&self, timeout: Duration) -> anyhow::Result<Wait> {
        match self.ended.recv_timeout(timeout) {
            Ok(Ok(ended)) => Ok(Wait::Ended(ended)),
            Ok(Err(e)) => Err(anyhow::anyhow!("cannot wait for the command: {e}")),
            Err(mpsc::RecvTimeoutError::Timeout) => Ok(Wait::Running),
            Err(mpsc::RecvTimeoutError::Disconnected) => {
                anyhow::bail!("lost track of the command (its waiting thread ended)")
            }
        }
    }

    /// Reaps the ended command and reads what the kernel counted for it: `perftrack` has no
    /// other child, so its children's resource usage is the command's, with every descendant
    /// the command waited for (what `wait4` reports to GNU time).
    pub(crate) fn reap(mut self) -> anyhow::Result<Reaped> {
        let status = {
            let mut reaped = self.reaped.lock().unwrap_or_else(PoisonError::into_inner);
            let status = self.child.wait()?;
            *reaped = true;
            status
        };
        self.signals.close();
        for thread in [self.waiter.take(), self.forwarder.take()]
            .into_iter()
            .flatten()
        {
            let _ = thread.join();
        }
        let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
        let seconds = |t: nix::sys::time::TimeVal| t.tv_sec() as f64 + t.tv_usec() as f64 / 1e6;
        use std::os::unix::process::ExitStatusExt;
        Ok(Reaped {
            code: status.code(),
            signal: status.signal(),
            user_seconds: seconds(usage.user_time()),
            system_seconds: seconds(usage.system_time()),
            // Linux counts `ru_maxrss` in KiB.
            max_rss_bytes: u64::try_from(usage.max_rss())
                .unwrap_or(0)
                .saturating_mul(1024),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reaped(code: Option<i32>, signal: Option<i32>) -> Reaped {
        Reaped {
            code,
            signal,
            user_seconds: 0.0,
            system_seconds: 0.0,
            max_rss_bytes: 0,
        }
    }

    #[test]
    fn exit_codes_follow_the_shell() {
        assert_eq!(reaped(Some(0), None).exit_code(), 0);
        assert_eq!(reaped(Some(3), None).exit_code(), 3);
        assert_eq!(reaped(Some(255), None).exit_code(), 255);
        assert_eq!(reaped(None, Some(9)).exit_code(), 137);
        assert_eq!(reaped(None, Some(15)).exit_code(), 143);
    }

    #[test]
    fn spawn_errors_tell_missing_from_not_executable() {
        let missing = SpawnError {
            program: "nope".into(),
            source: io::Error::from(io::ErrorKind::NotFound),
        };
        assert_eq!(missing.exit_code(), 127);
        let denied = SpawnError {
            program: "/etc/passwd".into(),
            source: io::Error::from(io::ErrorKind::PermissionDenied),
        };
        assert_eq!(denied.exit_code(), 126);
        assert!(missing.to_string().starts_with("cannot run `nope`: "));
    }
}
