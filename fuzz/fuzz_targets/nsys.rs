#![no_main]

// Nsight Systems SQLite exports: the bytes are deserialized read-only into
// an in-memory SQLite database (SQLite checks its own pages; a page it
// cannot read is an error), then every table is read by column name. What
// this exercises is ours: missing tables and columns, NULLs, text or blobs
// where integers belong, dangling StringIds, extreme times. Seed with whole
// exports (fuzz/seed.sh) and a max_len above their size.
use breakdown_trace::ingest::Format;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = breakdown_trace_fuzz::import(Format::NsysSqlite, data);
});
