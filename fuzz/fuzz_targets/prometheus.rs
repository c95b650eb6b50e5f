#![no_main]

use breakdown_trace::ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = breakdown_trace_fuzz::import(Format::Prometheus, data);
});
