//! One background sampling thread per tracker. It starts with the first session that wants
//! samples, runs while the tracker's session table holds such a session, and stops on its own
//! once none is left, or when the tracker drops (which joins it).
//!
//! Whether the thread runs is derived from the session table, never counted separately: a
//! reset, a load or a merge cannot make the sampler forget a session that wants samples.

use std::sync::{Arc, Condvar, Mutex, MutexGuard, Weak};
use std::thread::{self, JoinHandle, ThreadId};
use std::time::Duration;

use crate::session::lock;

/// The name every sampler thread carries, so tests and operators can find them. Linux keeps
/// the first 15 bytes of a thread's name, so `/proc` and `top` show `perftrack-sampl`.
pub(crate) const THREAD_NAME: &str = "perftrack-sampler";

/// What a sampler samples: a tracker that reads its probes once per tick and hands the
/// reading to every session that is due.
pub(crate) trait Sample: Send + Sync + 'static {
    /// Takes one reading for the sessions that are due and returns how long to wait until
    /// the next tick, or `None` when no active session wants samples.
    fn tick(&self) -> Option<Duration>;

    /// Whether an active session wants background samples.
    fn wants_samples(&self) -> bool;
}

/// The running thread.
#[derive(Debug)]
struct Running {
    handle: JoinHandle<()>,
    id: ThreadId,
}

#[derive(Debug, Default)]
struct State {
    /// Set once, when the tracker drops.
    stop: bool,
    /// Set from [`Sampler::pause`] to [`Sampler::resume`]: no thread runs.
    paused: bool,
    running: Option<Running>,
}

#[derive(Debug, Default)]
struct Control {
    state: Mutex<State>,
    wake: Condvar,
}

impl Control {
    fn state(&self) -> MutexGuard<'_, State> {
        lock(&self.state)
    }
}

/// Starts the sampling thread of one tracker and stops it when the tracker drops. The sampler
/// belongs to the tracker's handles, never to its guards: a guard that is forgotten keeps the
/// tracker's state alive, not its thread.
#[derive(Debug, Default)]
pub(crate) struct Sampler {
    control: Arc<Control>,
}

impl Sampler {
    /// A session that wants samples is now in the session table: make sure the thread runs.
    /// `target` is held weakly, so the thread never keeps its tracker alive.
    pub(crate) fn session_started(&self, target: Weak<dyn Sample>) {
        let mut state = self.control.state();
        if state.stop || state.paused {
            return;
        }
        match &state.running {
            // Wake it, so a shorter interval applies at once.
            Some(_) => self.control.wake.notify_all(),
            None => state.running = spawn(target, Arc::clone(&self.control)),
        }
    }

    /// Ends the thread and waits for it; none starts until [`resume`](Self::resume). Once
    /// this returns, no sampling thread of this tracker exists or holds a lock, which is what
    /// a process about to `fork()` needs: the child gets only the forking thread.
    pub(crate) fn pause(&self) {
        let running = {
            let mut state = self.control.state();
            state.paused = true;
            state.running.take()
        };
        self.control.wake.notify_all();
        join(running);
    }

    /// Starts sampling again after [`pause`](Self::pause), on a thread of the calling process
    /// (in a child made by `fork()`, the child's), if a session wants samples.
    pub(crate) fn resume(&self, target: Weak<dyn Sample>) {
        let mut state = self.control.state();
        state.paused = false;
        if state.stop || state.running.is_some() {
            return;
        }
        if target.upgrade().is_some_and(|t| t.wants_samples()) {
            state.running = spawn(target, Arc::clone(&self.control));
        }
    }

    /// A handle that wakes the thread, for the tracker's state to keep.
    pub(crate) fn bell(&self) -> Bell {
        Bell(Arc::clone(&self.control))
    }

    /// Whether a sampling thread is running.
    #[cfg(test)]
    pub(crate) fn running(&self) -> bool {
        self.control.state().running.is_some()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        let running = {
            let mut state = self.control.state();
            state.stop = true;
            state.running.take()
        };
        self.control.wake.notify_all();
        join(running);
    }
}

/// Waits for a thread that was told to end.
fn join(running: Option<Running>) {
    if let Some(running) = running {
        // The thread never holds the tracker's handles, only its state, so it cannot be the
        // one dropping or pausing the sampler; the check keeps a join on oneself impossible.
        if running.id != thread::current().id() {
            // A probe returns errors rather than panicking; if the thread panicked all the
            // same, there is nothing more to clean up.
            let _ = running.handle.join();
        }
    }
}

/// Wakes the sampling thread, so that it sees at once that a sampled session ended (and stops
/// if it was the last) instead of at its next due sample.
#[derive(Debug)]
pub(crate) struct Bell(Arc<Control>);

impl Bell {
    pub(crate) fn ring(&self) {
        // Under the lock, so the thread is either before its check or already waiting.
        let _state = self.0.state();
        self.0.wake.notify_all();
    }
}

fn spawn(target: Weak<dyn Sample>, control: Arc<Control>) -> Option<Running> {
    let handle = thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || run(&target, &control))
        // Without a thread the sessions still get their initial and final readings (and any
        // taken with `record_sample`); only the background timeline is missing.
        .ok()?;
    let id = handle.thread().id();
    Some(Running { handle, id })
}

fn run(target: &Weak<dyn Sample>, control: &Control) {
    loop {
        let Some(tracker) = target.upgrade() else {
            return;
        };
        let wait = tracker.tick();
        let mut state = control.state();
        if state.stop || state.paused {
            return;
        }
        let wait = match wait {
            Some(wait) => wait,
            // Checked again under the lock `session_started` takes after a session entered
            // the table: either that session is seen here, or its start finds no thread
            // running and spawns one.
            None if tracker.wants_samples() => Duration::from_millis(1),
            None => {
                if state
                    .running
                    .as_ref()
                    .is_some_and(|r| r.id == thread::current().id())
                {
                    // Detached: the thread ends here, and the next session starts another.
                    state.running = None;
                }
                return;
            }
        };
        // The thread holds its tracker only while it samples.
        drop(tracker);
        let (state, _) = control
            .wake
            .wait_timeout(state, wait)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if state.stop || state.paused {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    /// A tracker with `sessions` sessions that want samples.
    struct Counter {
        ticks: AtomicUsize,
        sessions: AtomicUsize,
    }

    impl Sample for Counter {
        fn tick(&self) -> Option<Duration> {
            self.ticks.fetch_add(1, Ordering::SeqCst);
            self.wants_samples().then_some(Duration::from_millis(1))
        }

        fn wants_samples(&self) -> bool {
            self.sessions.load(Ordering::SeqCst) > 0
        }
    }

    fn counter(sessions: usize) -> Arc<Counter> {
        Arc::new(Counter {
            ticks: AtomicUsize::new(0),
            sessions: AtomicUsize::new(sessions),
        })
    }

    fn wait_until(what: impl Fn() -> bool) -> bool {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while !what() {
            if std::time::Instant::now() > deadline {
                return false;
            }
            thread::sleep(Duration::from_millis(1));
        }
        true
    }

    #[test]
    fn the_thread_runs_while_sessions_want_samples_and_ends_after() {
        let counter = counter(1);
        let target: Arc<dyn Sample> = counter.clone();
        let sampler = Sampler::default();
        sampler.session_started(Arc::downgrade(&target));
        assert!(sampler.running());
        assert!(wait_until(|| counter.ticks.load(Ordering::SeqCst) >= 3));
        counter.sessions.store(0, Ordering::SeqCst);
        assert!(wait_until(|| !sampler.running()), "ends with no session");
        // A later session starts another thread.
        counter.sessions.store(1, Ordering::SeqCst);
        sampler.session_started(Arc::downgrade(&target));
        assert!(sampler.running());
        let ticks = counter.ticks.load(Ordering::SeqCst);
        assert!(wait_until(|| counter.ticks.load(Ordering::SeqCst) > ticks));
    }

    #[test]
    fn a_dropped_target_ends_the_thread() {
        let target: Arc<dyn Sample> = counter(1);
        let sampler = Sampler::default();
        sampler.session_started(Arc::downgrade(&target));
        drop(target);
        drop(sampler); // joins: would hang if the thread did not end
    }

    #[test]
    fn dropping_the_sampler_stops_a_thread_whose_sessions_never_end() {
        let target: Arc<dyn Sample> = counter(1);
        let sampler = Sampler::default();
        sampler.session_started(Arc::downgrade(&target));
        drop(sampler); // joins: would hang if the thread went on
        assert_eq!(Arc::strong_count(&target), 1);
    }

    #[test]
    fn a_paused_sampler_has_no_thread_until_it_resumes() {
        let counter = counter(1);
        let target: Arc<dyn Sample> = counter.clone();
        let sampler = Sampler::default();
        sampler.session_started(Arc::downgrade(&target));
        assert!(sampler.running());
        sampler.pause(); // joins: would hang if the thread went on
        assert!(!sampler.running());
        let ticks = counter.ticks.load(Ordering::SeqCst);
        // A session starting while paused starts no thread.
        sampler.session_started(Arc::downgrade(&target));
        assert!(!sampler.running());
        assert_eq!(counter.ticks.load(Ordering::SeqCst), ticks);
        sampler.resume(Arc::downgrade(&target));
        assert!(sampler.running());
        assert!(wait_until(|| counter.ticks.load(Ordering::SeqCst) > ticks));
        // Without a session that wants samples, resuming starts nothing.
        sampler.pause();
        counter.sessions.store(0, Ordering::SeqCst);
        sampler.resume(Arc::downgrade(&target));
        assert!(!sampler.running());
    }
}
