//! Eight threads share one tracker of each type and start, stop, guard, record, read
//! statistics, save, load and reset at once. Nothing panics, nothing deadlocks (a watchdog fails
//! the test instead of letting it hang), every saved file loads, and every count adds up: in a
//! phase with resets, each label's statistics stay consistent with what the threads recorded;
//! in a phase without, counts, failures, kept and dropped records equal what the threads did.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Barrier};
use std::time::Duration;

use perftrack::{
    CpuConfig, CpuUsageTracker, Error, LatencyConfig, LatencyTracker, MIN_SAMPLING_INTERVAL,
    MemoryConfig, MemoryUsageTracker, SamplingInterval, Status, ThroughputConfig,
    ThroughputTracker, TrackId,
};

const THREADS: usize = 8;
/// Operations per thread in each phase.
const ITERATIONS: usize = 400;
/// A phase that has not finished by then has deadlocked.
const WATCHDOG: Duration = Duration::from_secs(240);
/// Kept records: small enough that the counted phase drops some.
const MAX_RECORDS: usize = 1_000;
/// Enough to keep every record of the counted phase.
const ALL_RECORDS: usize = THREADS * ITERATIONS;

/// What the test does with a tracker, the same for all four types.
trait Subject: Clone + Send + Sync + 'static {
    fn start(&self, label: &str) -> TrackId;
    fn start_with_id(&self, id: &str, label: &str) -> Result<TrackId, Error>;
    fn stop(&self, id: &TrackId, status: Status) -> Result<(), Error>;
    /// A guard around a little work, ending with `status`.
    fn guard(&self, label: &str, status: Status);
    /// Records a measurement under `fixed` without a session, where the type can.
    fn fixed(&self) {
        self.guard("fixed", Status::Ok);
    }
    /// Sessions counted under `label`, and how many of them failed (where the type counts
    /// failures; `None` where it does not).
    fn counted(&self, label: &str) -> (u64, Option<u64>);
    /// Statistics of every label and of all together, read and checked for consistency.
    fn read_statistics(&self);
    fn records(&self) -> usize;
    fn dropped(&self) -> Option<u64>;
    fn active(&self) -> usize;
    fn save(&self, path: &Path) -> Result<(), Error>;
    /// Loads `path` into a new tracker of this type; returns its per-label counts as JSON so
    /// they can be compared with this tracker's.
    fn load_fresh(&self, path: &Path) -> Result<serde_json::Value, Error>;
    fn by_label_json(&self) -> serde_json::Value;
    fn reset(&self);
}

macro_rules! common_subject {
    () => {
        fn start(&self, label: &str) -> TrackId {
            self.start_tracking(Some(label))
        }
        fn start_with_id(&self, id: &str, label: &str) -> Result<TrackId, Error> {
            self.start_tracking_with_id(id, Some(label))
        }
        fn stop(&self, id: &TrackId, status: Status) -> Result<(), Error> {
            self.stop_tracking_with_status(id, status).map(|_| ())
        }
        fn records(&self) -> usize {
            self.records().len()
        }
        fn active(&self) -> usize {
            self.active_sessions()
        }
        fn save(&self, path: &Path) -> Result<(), Error> {
            self.save_metrics(path)
        }
        fn load_fresh(&self, path: &Path) -> Result<serde_json::Value, Error> {
            let fresh = Self::new(self.config().clone());
            fresh.load_metrics(path)?;
            Ok(fresh.by_label_json())
        }
        fn by_label_json(&self) -> serde_json::Value {
            serde_json::to_value(self.statistics_by_label()).unwrap()
        }
        fn reset(&self) {
            self.reset()
        }
    };
}

impl Subject for LatencyTracker {
    common_subject!();
    fn fixed(&self) {
        self.record("fixed", Duration::from_millis(7));
    }
    fn guard(&self, label: &str, status: Status) {
        let guard = self.track(label);
        std::hint::black_box((0..100).sum::<u64>());
        guard.stop_with(status);
    }
    fn counted(&self, label: &str) -> (u64, Option<u64>) {
        self.statistics(Some(label))
            .map_or((0, Some(0)), |s| (s.count, Some(s.failed)))
    }
    fn read_statistics(&self) {
        let _ = self.statistics(None);
        for s in self.statistics_by_label().values() {
            assert!(s.min <= s.max && s.failed + s.cancelled <= s.count, "{s:?}");
        }
        // A label that only ever records one value holds exactly that value.
        if let Some(s) = self.statistics(Some("fixed")) {
            assert_eq!((s.min, s.max), (7.0, 7.0), "{s:?}");
            assert!((s.sum - 7.0 * s.count as f64).abs() < 1e-6, "{s:?}");
        }
    }
    fn dropped(&self) -> Option<u64> {
        Some(self.dropped_records())
    }
}

impl Subject for ThroughputTracker {
    common_subject!();
    fn fixed(&self) {
        self.record("fixed", 7);
    }
    fn guard(&self, label: &str, status: Status) {
        let mut guard = self.track(label);
        guard.record(3);
        guard.stop_with(status);
    }
    fn counted(&self, label: &str) -> (u64, Option<u64>) {
        self.statistics(Some(label))
            .map_or((0, Some(0)), |s| (s.count, Some(s.failed)))
    }
    fn read_statistics(&self) {
        for s in self.statistics_by_label().values() {
            assert!(s.min <= s.max && s.failed + s.cancelled <= s.count, "{s:?}");
        }
        let _ = self.current_rate("fixed");
    }
    fn dropped(&self) -> Option<u64> {
        Some(self.dropped_records())
    }
}

impl Subject for MemoryUsageTracker {
    common_subject!();
    fn guard(&self, label: &str, status: Status) {
        if status == Status::Ok {
            self.track(label).stop();
        } else {
            // Guards end as `Ok`; other statuses go through a session id.
            let id = self.start_tracking(Some(label));
            stopped(self.stop_tracking_with_status(&id, status).map(|_| ()));
        }
    }
    fn counted(&self, label: &str) -> (u64, Option<u64>) {
        let stats = self.statistics(Some(label));
        (stats.get("process_rss").map_or(0, |s| s.count), None)
    }
    fn read_statistics(&self) {
        for stats in self.statistics_by_label().values() {
            for s in stats.values() {
                assert!(s.min <= s.max, "{s:?}");
            }
        }
    }
    fn dropped(&self) -> Option<u64> {
        None
    }
}

impl Subject for CpuUsageTracker {
    common_subject!();
    fn guard(&self, label: &str, status: Status) {
        if status == Status::Ok {
            self.track(label).stop();
        } else {
            // Guards end as `Ok`; other statuses go through a session id.
            let id = self.start_tracking(Some(label));
            stopped(self.stop_tracking_with_status(&id, status).map(|_| ()));
        }
    }
    fn counted(&self, label: &str) -> (u64, Option<u64>) {
        // A session too short to measure has no `process` reading (documented), so sessions
        // are counted from the records, which this test keeps all of.
        let records = self.records();
        let ours = records.iter().filter(|r| r.label.as_deref() == Some(label));
        let failed = ours.clone().filter(|r| r.status == Status::Failed).count();
        (ours.count() as u64, Some(failed as u64))
    }
    fn read_statistics(&self) {
        for stats in self.statistics_by_label().values() {
            for s in stats.values() {
                assert!(s.min <= s.max, "{s:?}");
            }
        }
    }
    fn dropped(&self) -> Option<u64> {
        None
    }
}

/// A session stop succeeded, or found its session ended by a concurrent reset (which the
/// counted phase, free of resets, then sees as a missing count).
fn stopped(result: Result<(), Error>) {
    match result {
        Ok(()) | Err(Error::UnknownTrackId { .. }) => {}
        Err(e) => panic!("stop: {e}"),
    }
}

fn status_of(i: usize) -> Status {
    match i % 5 {
        0 => Status::Failed,
        1 => Status::Cancelled,
        _ => Status::Ok,
    }
}

/// Runs `work` on `THREADS` threads at once and waits for all of them, failing the test if
/// they take longer than the watchdog allows (a deadlock) or if any of them panics.
fn on_threads<T: Send + 'static>(
    what: &str,
    work: impl Fn(usize) -> T + Send + Sync + 'static,
) -> Vec<T> {
    let work = Arc::new(work);
    let barrier = Arc::new(Barrier::new(THREADS));
    let (done, finished) = mpsc::channel();
    let handles: Vec<_> = (0..THREADS)
        .map(|t| {
            let (work, barrier, done) = (Arc::clone(&work), Arc::clone(&barrier), done.clone());
            std::thread::spawn(move || {
                barrier.wait();
                let out = work(t);
                let _ = done.send(t);
                out
            })
        })
        .collect();
    drop(done);
    for _ in 0..THREADS {
        match finished.recv_timeout(WATCHDOG) {
            Ok(_) => {}
            // A thread that panicked drops its sender; join below reports its panic.
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                panic!("{what}: threads still running after {WATCHDOG:?}: deadlock")
            }
        }
    }
    handles
        .into_iter()
        .map(|h| {
            h.join()
                .unwrap_or_else(|_| panic!("{what}: a thread panicked"))
        })
        .collect()
}

/// What one thread did in the counted phase, per label.
#[derive(Default)]
struct Tally {
    sessions: std::collections::BTreeMap<String, (u64, u64)>,
}

impl Tally {
    fn add(&mut self, label: &str, status: Status) {
        let e = self.sessions.entry(label.to_owned()).or_default();
        e.0 += 1;
        e.1 += u64::from(status == Status::Failed);
    }
}

fn stress<T: Subject>(name: &str, tracker: T, max_records: usize) {
    let dir = Arc::new(tempfile::tempdir().unwrap());

    // Phase 1: everything at once, resets included (thread 0 resets every 50 operations).
    {
        let (tracker, dir) = (tracker.clone(), Arc::clone(&dir));
        on_threads(&format!("{name}, with resets"), move |t| {
            for i in 0..ITERATIONS {
                let label = format!("stage-{}", (t + i) % 5);
                match (t + i) % 9 {
                    0 | 1 => tracker.guard(&label, status_of(i)),
                    2 => {
                        let id = tracker.start(&label);
                        stopped(tracker.stop(&id, status_of(i)));
                    }
                    3 => {
                        let id = format!("t{t}-{i}");
                        let started = tracker.start_with_id(&id, &label).unwrap();
                        // Refused while active; a reset in between ends the first session,
                        // and then the id is free again.
                        match tracker.start_with_id(&id, &label) {
                            Err(Error::DuplicateTrackId { .. }) | Ok(_) => {}
                            Err(e) => panic!("start: {e}"),
                        }
                        stopped(tracker.stop(&started, Status::Ok));
                        assert!(matches!(
                            tracker.stop(&started, Status::Ok),
                            Err(Error::UnknownTrackId { .. })
                        ));
                    }
                    4 => tracker.fixed(),
                    5 => tracker.read_statistics(),
                    6 if i % 20 == 6 => {
                        let path = dir.path().join(format!("reset-phase-{t}.json"));
                        tracker.save(&path).unwrap();
                        tracker
                            .load_fresh(&path)
                            .unwrap_or_else(|e| panic!("a file saved during resets: {e}"));
                    }
                    7 if t == 0 && i % 50 == 7 => tracker.reset(),
                    _ => {
                        let _ = tracker.records();
                        let _ = tracker.active();
                    }
                }
            }
        });
    }

    // Phase 2: no resets; every session is counted.
    tracker.reset();
    let tallies = {
        let (tracker, dir) = (tracker.clone(), Arc::clone(&dir));
        on_threads(&format!("{name}, counted"), move |t| {
            let mut tally = Tally::default();
            for i in 0..ITERATIONS {
                let label = format!("stage-{}", (t + i) % 5);
                let status = status_of(i);
                match (t + i) % 6 {
                    0 | 1 => {
                        tracker.guard(&label, status);
                        tally.add(&label, status);
                    }
                    2 => {
                        let id = tracker.start(&label);
                        tracker.stop(&id, status).unwrap();
                        tally.add(&label, status);
                    }
                    3 => {
                        let id = format!("t{t}-{i}");
                        let started = tracker.start_with_id(&id, &label).unwrap();
                        tracker.stop(&started, status).unwrap();
                        tally.add(&label, status);
                    }
                    4 => tracker.read_statistics(),
                    _ if i % 25 == 5 => {
                        let path = dir.path().join(format!("counted-{t}.json"));
                        tracker.save(&path).unwrap();
                        tracker.load_fresh(&path).unwrap();
                    }
                    _ => {}
                }
            }
            tally
        })
    };
    let mut expected = Tally::default();
    for tally in tallies {
        for (label, (n, failed)) in tally.sessions {
            let e = expected.sessions.entry(label).or_default();
            e.0 += n;
            e.1 += failed;
        }
    }
    let mut total = 0;
    for (label, &(n, failed)) in &expected.sessions {
        let (count, counted_failed) = tracker.counted(label);
        assert_eq!(count, n, "{name}: sessions of {label}");
        if let Some(f) = counted_failed {
            assert_eq!(f, failed, "{name}: failures of {label}");
        }
        total += n;
    }
    assert_eq!(tracker.active(), 0, "{name}: sessions left active");
    let kept = tracker.records();
    assert_eq!(
        kept as u64,
        total.min(max_records as u64),
        "{name}: records kept"
    );
    if let Some(dropped) = tracker.dropped() {
        assert_eq!(dropped, total - kept as u64, "{name}: dropped records");
    }
    // The final state saves and loads to the same statistics.
    let path = dir.path().join("final.json");
    tracker.save(&path).unwrap();
    assert_eq!(tracker.load_fresh(&path).unwrap(), tracker.by_label_json());
}

#[test]
fn latency_under_eight_threads() {
    stress(
        "latency",
        LatencyTracker::new(LatencyConfig {
            max_records: MAX_RECORDS,
            exact_limit: 100,
            ..LatencyConfig::default()
        }),
        MAX_RECORDS,
    );
}

#[test]
fn throughput_under_eight_threads() {
    stress(
        "throughput",
        ThroughputTracker::new(ThroughputConfig {
            max_records: MAX_RECORDS,
            exact_limit: 100,
            ..ThroughputConfig::default()
        }),
        MAX_RECORDS,
    );
}

#[test]
fn memory_under_eight_threads() {
    let _alone = common::alone();
    stress(
        "memory",
        MemoryUsageTracker::new(MemoryConfig {
            max_records: MAX_RECORDS,
            exact_limit: 100,
            sampling_interval: SamplingInterval::from_duration(Duration::from_millis(1)),
            ..MemoryConfig::default()
        }),
        MAX_RECORDS,
    );
    common::expect_sampler_threads(0, "the sampler stops once the tracker is dropped");
}

#[test]
fn cpu_under_eight_threads() {
    let _alone = common::alone();
    stress(
        "cpu",
        CpuUsageTracker::new(CpuConfig {
            max_records: ALL_RECORDS,
            exact_limit: 100,
            sampling_interval: SamplingInterval::from_duration(MIN_SAMPLING_INTERVAL),
            ..CpuConfig::default()
        }),
        ALL_RECORDS,
    );
    common::expect_sampler_threads(0, "the sampler stops once the tracker is dropped");
}
