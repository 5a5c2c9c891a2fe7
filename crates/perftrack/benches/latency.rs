//! Placeholder, replaced by the latency benchmarks.
fn main() {}
