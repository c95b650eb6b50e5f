#![no_main]

//! Perfetto protobuf importer: any bytes → Ok or a clear error, never a
//! panic (truncated packets, wrong wire types, unknown interning ids,
//! unterminated slices, hostile nesting; salvage bit first).

use breakdown_trace::ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = breakdown_trace_fuzz::import(Format::PerfettoProto, data);
});
