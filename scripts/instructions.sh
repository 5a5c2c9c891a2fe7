#!/usr/bin/env bash
# Instructions per single-thread recording operation, counted by callgrind: deterministic,
# unlike timings, so two versions can be compared on a busy machine.
#
#   scripts/instructions.sh [PATH/TO/crates/perftrack] [WORK_DIR]
#
# Builds a small binary (release, with debug info) against the perftrack crate at the path
# given (default: this checkout's), outside any workspace, in WORK_DIR (default a temporary
# folder). For each operation it runs the binary under `valgrind --tool=callgrind` with 20,000
# and with 120,000 operations and prints (difference) / 100,000: the instructions of one
# operation, without start-up and tear-down. Operations:
#   guard          a latency guard with a string label, max_records: 0
#   guard-default  the same with the default configuration (keeps 100,000 records)
#   start-stop     start_tracking + stop_tracking, max_records: 0
#   record         throughput record(label, 1)
#   record-event   throughput record_event(id, 1) on one session
#   tokens         generation tokens(1) on one open guard, max_records: 0
# Needs valgrind and cargo; pass --offline through CARGO_NET_OFFLINE=true if needed.
set -euo pipefail

here=$(cd "$(dirname "$0")/.." && pwd)
crate=$(cd "${1:-$here/crates/perftrack}" && pwd)
work=${2:-$(mktemp -d)}
mkdir -p "$work/src"
cat > "$work/Cargo.toml" <<EOF
[package]
name = "perftrack-instructions"
version = "0.1.0"
edition = "2024"
publish = false

[dependencies]
perftrack = { path = "$crate", default-features = false }

[profile.release]
debug = true

[workspace]
EOF
cat > "$work/src/main.rs" <<'EOF'
//! `perftrack-instructions N OPERATION`: N operations of one kind, on one thread.
use std::hint::black_box;

use perftrack::{
    GenerationConfig, GenerationTracker, LatencyConfig, LatencyTracker, ThroughputConfig,
    ThroughputTracker,
};

fn quiet() -> LatencyTracker {
    LatencyTracker::new(LatencyConfig { max_records: 0, ..Default::default() })
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: u64 = args.next().expect("N").parse().expect("N");
    match args.next().expect("operation").as_str() {
        "guard" => {
            let t = quiet();
            for _ in 0..n {
                let _g = t.track(black_box("retrieval"));
            }
        }
        "guard-default" => {
            let t = LatencyTracker::new(LatencyConfig::default());
            for _ in 0..n {
                let _g = t.track(black_box("retrieval"));
            }
        }
        "start-stop" => {
            let t = quiet();
            for _ in 0..n {
                let id = t.start_tracking(Some(black_box("retrieval")));
                black_box(t.stop_tracking(&id).unwrap());
            }
        }
        "record" => {
            let t = ThroughputTracker::new(ThroughputConfig::default());
            for _ in 0..n {
                t.record(black_box("queries"), 1);
            }
        }
        "record-event" => {
            let t = ThroughputTracker::new(ThroughputConfig::default());
            let id = t.start_tracking(Some("queries"));
            for _ in 0..n {
                t.record_event(black_box(&id), 1).unwrap();
            }
        }
        "tokens" => {
            let t = GenerationTracker::new(GenerationConfig { max_records: 0, ..Default::default() });
            let mut request = t.track("answer");
            for _ in 0..n {
                request.tokens(black_box(1));
            }
        }
        other => panic!("unknown operation {other}"),
    }
}
EOF
if [[ -f "$here/Cargo.lock" && ! -f "$work/Cargo.lock" ]]; then
    cp "$here/Cargo.lock" "$work/Cargo.lock"
fi
(cd "$work" && CARGO_TARGET_DIR="$work/target" cargo build --release --quiet)
binary="$work/target/release/perftrack-instructions"

count() {
    valgrind --tool=callgrind --callgrind-out-file=/dev/null "$binary" "$1" "$2" 2>&1 |
        sed -n 's/.*Collected : *\([0-9]*\).*/\1/p'
}

ops=${OPS:-guard guard-default start-stop record record-event tokens}
for op in $ops; do
    small=$(count 20000 "$op")
    large=$(count 120000 "$op")
    echo "$op $(((large - small) / 100000))"
done
