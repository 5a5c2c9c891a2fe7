//! One background sampling thread per tracker, started when the first session needs it,
//! stopped (and joined) when the last one ends or the tracker drops.

use std::sync::{Arc, Condvar, Mutex, Weak};
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
    /// the next tick.
    fn tick(&self) -> Duration;
}

/// One running thread's controls.
#[derive(Debug, Default)]
struct Control {
    stop: Mutex<bool>,
    wake: Condvar,
}

#[derive(Debug, Default)]
struct State {
    /// Sessions that want background samples.
    sessions: usize,
    thread: Option<(JoinHandle<()>, Arc<Control>, ThreadId)>,
}

/// Starts and stops the sampling thread of one tracker.
#[derive(Debug, Default)]
pub(crate) struct Sampler {
    state: Mutex<State>,
}

impl Sampler {
    /// A session that wants samples started: make sure the thread runs. `target` is held
    /// weakly, so the thread never keeps its tracker alive.
    pub(crate) fn session_started(&self, target: Weak<dyn Sample>) {
        let mut state = lock(&self.state);
        state.sessions += 1;
        match &state.thread {
            // Wake it, so a shorter interval applies at once.
            Some((_, control, _)) => control.wake.notify_all(),
            None => state.thread = spawn(target),
        }
    }

    /// A session that wanted samples ended: the last one stops the thread and waits for it.
    pub(crate) fn session_ended(&self) {
        let stopping = {
            let mut state = lock(&self.state);
            state.sessions = state.sessions.saturating_sub(1);
            if state.sessions == 0 {
                state.thread.take()
            } else {
                None
            }
        };
        finish(stopping);
    }

    /// Every session ended at once (a reset or a load).
    pub(crate) fn all_ended(&self) {
        let stopping = {
            let mut state = lock(&self.state);
            state.sessions = 0;
            state.thread.take()
        };
        finish(stopping);
    }

    /// Whether a sampling thread is running.
    #[cfg(test)]
    pub(crate) fn running(&self) -> bool {
        lock(&self.state).thread.is_some()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        let stopping = lock(&self.state).thread.take();
        finish(stopping);
    }
}

/// Tells a thread to stop and joins it, unless this is that thread (the tracker's last
/// reference can be dropped by its own sampler): then it stops on its own.
fn finish(stopping: Option<(JoinHandle<()>, Arc<Control>, ThreadId)>) {
    let Some((handle, control, id)) = stopping else {
        return;
    };
    *lock(&control.stop) = true;
    control.wake.notify_all();
    if id != thread::current().id() {
        // The thread never panics (ticks catch nothing, but probes return errors instead of
        // panicking); if it did, there is nothing more to clean up.
        let _ = handle.join();
    }
}

fn spawn(target: Weak<dyn Sample>) -> Option<(JoinHandle<()>, Arc<Control>, ThreadId)> {
    let control = Arc::new(Control::default());
    let theirs = Arc::clone(&control);
    let handle = thread::Builder::new()
        .name(THREAD_NAME.to_owned())
        .spawn(move || run(&target, &theirs))
        // Without a thread the sessions still get their initial and final readings (and any
        // taken with `record_sample`); only the background timeline is missing.
        .ok()?;
    let id = handle.thread().id();
    Some((handle, control, id))
}

fn run(target: &Weak<dyn Sample>, control: &Control) {
    loop {
        let Some(tracker) = target.upgrade() else {
            return;
        };
        let wait = tracker.tick();
        drop(tracker);
        let stop = lock(&control.stop);
        if *stop {
            return;
        }
        let (stop, _) = control
            .wake
            .wait_timeout(stop, wait)
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if *stop {
            return;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicUsize, Ordering};

    struct Counter(AtomicUsize);

    impl Sample for Counter {
        fn tick(&self) -> Duration {
            self.0.fetch_add(1, Ordering::SeqCst);
            Duration::from_millis(1)
        }
    }

    #[test]
    fn the_thread_runs_while_sessions_need_it_and_is_joined_after() {
        let counter: Arc<dyn Sample> = Arc::new(Counter(AtomicUsize::new(0)));
        let sampler = Sampler::default();
        sampler.session_started(Arc::downgrade(&counter));
        sampler.session_started(Arc::downgrade(&counter));
        assert!(sampler.running());
        sampler.session_ended();
        assert!(sampler.running());
        sampler.session_ended();
        assert!(!sampler.running());
    }

    #[test]
    fn a_dropped_target_ends_the_thread() {
        let counter: Arc<dyn Sample> = Arc::new(Counter(AtomicUsize::new(0)));
        let sampler = Sampler::default();
        sampler.session_started(Arc::downgrade(&counter));
        drop(counter);
        drop(sampler); // joins: would hang if the thread did not end
    }
}
