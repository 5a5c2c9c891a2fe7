#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| perftrack_fuzz::config(data));
