//! A writer killed (SIGKILL) while saving never leaves a partial metrics file: after every kill
//! the file on disk is the complete old version or the complete new one, and it loads.
//!
//! This binary is its own child: run with `PERFTRACK_CRASH_CHILD` set, it saves a large
//! metrics file over and over (announcing each save on stdout) until it is killed. The parent
//! kills such children at random moments of a save (every other round, at a random moment
//! shortly after the writer's temporary file appears) and checks the file after every kill. Kills
//! that leave the writer's temporary file behind landed between its creation and the rename,
//! in the middle of the write; the test requires that some did, so it cannot pass only because
//! every kill came too early or too late.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use perftrack::{LatencyConfig, LatencyTracker};
use rand::{Rng, SeedableRng};

const CHILD_ENV: &str = "PERFTRACK_CRASH_CHILD";
/// Records in every saved file: megabytes of JSON, so writing one takes a while.
const PAYLOAD_RECORDS: u32 = 25_000;
/// Kill rounds. Each kills one child during (or around) one of its saves.
const ROUNDS: usize = 30;

fn main() {
    match std::env::var_os(CHILD_ENV) {
        Some(path) => child(Path::new(&path)),
        None => parent(),
    }
}

fn config() -> LatencyConfig {
    LatencyConfig {
        max_records: PAYLOAD_RECORDS as usize + 10_000,
        ..LatencyConfig::default()
    }
}

/// Saves `path` again and again, each version one generation newer, printing `writing G`
/// before and `written G` after each save. The generation is the `last` value, in
/// milliseconds, of the label `generation`.
fn child(path: &Path) {
    let first: u64 = std::env::var("PERFTRACK_CRASH_FIRST")
        .expect("first generation")
        .parse()
        .expect("a number");
    let tracker = LatencyTracker::new(config());
    for i in 0..PAYLOAD_RECORDS {
        tracker.record("payload", Duration::from_micros(u64::from(i)));
    }
    let mut out = std::io::stdout().lock();
    // A bound, in case the parent never kills: it always does long before.
    for generation in first..first + 1_000 {
        tracker.record("generation", Duration::from_millis(generation));
        if writeln!(out, "writing {generation}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return; // The parent is gone.
        }
        tracker.save_metrics(path).expect("save");
        if writeln!(out, "written {generation}")
            .and_then(|()| out.flush())
            .is_err()
        {
            return;
        }
    }
}

/// The generation of the file at `path`; panics unless it loads completely.
fn generation_on_disk(path: &Path) -> u64 {
    let tracker = LatencyTracker::new(config());
    let file = tracker
        .load_metrics(path)
        .unwrap_or_else(|err| panic!("the file on disk does not load after a kill: {err}"));
    let payload = tracker.statistics(Some("payload")).expect("payload");
    assert_eq!(
        payload.count,
        u64::from(PAYLOAD_RECORDS),
        "payload incomplete"
    );
    let generation = tracker.statistics(Some("generation")).expect("generation");
    assert_eq!(
        file.records.len() as u64,
        u64::from(PAYLOAD_RECORDS) + generation.count,
        "records incomplete"
    );
    generation.last.round() as u64
}

/// The writer's temporaries (`.{name}.{pid}.{n}.{random}.tmp`) in `dir`.
fn temporaries(dir: &Path) -> Vec<PathBuf> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| {
            let name = p.file_name().unwrap().to_string_lossy();
            name.starts_with(".latency.json.") && name.ends_with(".tmp")
        })
        .collect()
}

fn parent() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("latency.json");
    let exe = std::env::current_exe().unwrap();
    let mut rng = rand::rngs::StdRng::seed_from_u64(9);
    let mut on_disk: Option<u64> = None;
    let mut next = 1;
    // How long a save takes, from `writing` to `written` as the parent sees it.
    let mut save_time = Duration::from_millis(50);
    let (mut mid_write, mut old_after_kill, mut new_after_kill) = (0, 0, 0);
    for round in 0..ROUNDS {
        let mut child = Command::new(&exe)
            .env(CHILD_ENV, &path)
            .env("PERFTRACK_CRASH_FIRST", next.to_string())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
        let read = |lines: &mut std::io::Lines<_>| -> Option<(bool, u64)> {
            let line: String = lines.next()?.ok()?;
            let (word, g) = line.split_once(' ')?;
            Some((word == "written", g.parse().ok()?))
        };
        let (mut last_writing, mut last_written): (Option<u64>, _) = (None, on_disk);
        // The first round lets one save finish so that an old version exists; later rounds
        // kill during the first or second save of the child, after a random part of a save.
        let saves_before_kill = if on_disk.is_none() {
            1
        } else {
            rng.random_range(0..2)
        };
        let mut started = Instant::now();
        let mut seen_saves = 0;
        loop {
            let (written, g) = read(&mut lines).expect("the child stopped early");
            last_writing = last_writing.max(Some(g));
            if written {
                last_written = Some(g);
                save_time = (save_time * 3 + started.elapsed()) / 4;
                seen_saves += 1;
            } else {
                started = Instant::now();
                if seen_saves == saves_before_kill {
                    break;
                }
            }
        }
        if round % 2 == 0 {
            // Anywhere in the save (serialising, writing, syncing, renaming) or just after.
            std::thread::sleep(save_time.mul_f64(rng.random_range(0.0..1.3)));
        } else {
            // Once the temporary exists, within a few milliseconds; if the save ends before
            // it is seen, the kill lands after it.
            let deadline = Instant::now() + save_time * 4;
            while temporaries(dir.path()).is_empty() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_micros(100));
            }
            std::thread::sleep(Duration::from_micros(rng.random_range(0..3_000)));
        }
        child.kill().unwrap();
        child.wait().unwrap();
        // Whatever the child printed before it died is still in the pipe.
        while let Some((written, g)) = read(&mut lines) {
            if written {
                last_written = Some(g);
            } else {
                last_writing = Some(g);
            }
        }
        let found = generation_on_disk(&path);
        let leftovers = temporaries(dir.path());
        assert!(
            Some(found) == last_written || Some(found) == last_writing,
            "round {round}: the file holds generation {found}; the old one was \
             {last_written:?} and the one being written {last_writing:?}"
        );
        if !leftovers.is_empty() {
            // Killed between creating the temporary and renaming it: the old file stays.
            mid_write += 1;
            assert_eq!(
                Some(found),
                last_written,
                "round {round}: a partial save replaced the file"
            );
            for tmp in leftovers {
                std::fs::remove_file(tmp).unwrap();
            }
        }
        if Some(found) == last_writing && last_written != last_writing {
            new_after_kill += 1;
        } else {
            old_after_kill += 1;
        }
        on_disk = Some(found);
        next = last_writing.unwrap_or(next) + 1;
    }
    println!(
        "{ROUNDS} kills: {mid_write} in the middle of a write (a temporary left behind); \
         {old_after_kill} left the last version the child reported saved, {new_after_kill} the \
         version it was writing (killed after the rename); a save took about {save_time:?}"
    );
    assert!(
        mid_write > 0,
        "no kill landed in the middle of a write, so the test proved nothing"
    );
}
