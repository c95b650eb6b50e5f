#![no_main]

//! Differential: the chunked parser with tiny chunks on several threads must
//! give exactly the one-pass result (elements, end offset, fault position
//! and message) on any text.

use breakdown_trace::ingest::chunked::{walk, Options, Stop};
use libfuzzer_sys::fuzz_target;
use serde_json::value::RawValue;

fn run<'a>(text: &'a str, open: usize, opts: &Options) -> (Vec<&'a str>, Result<usize, String>) {
    let mut out = Vec::new();
    let r = walk(text, open, opts, |v: &RawValue| v.get(), |v| {
        out.push(v);
        Ok::<(), ()>(())
    });
    let r = r.map_err(|e| match e {
        Stop::Fault(f) => format!("{}:{} {:?} {}", f.line, f.column, f.category, f.message),
        Stop::Sink(()) => unreachable!(),
    });
    (out, r)
}

fuzz_target!(|data: &[u8]| {
    let Some((&k, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let Some(open) = text.find('[') else {
        return;
    };
    let one = run(text, open, &Options { chunk_bytes: usize::MAX / 4, threads: 1 });
    let many = Options {
        chunk_bytes: 1 + usize::from(k % 32),
        threads: 2 + usize::from(k >> 7),
    };
    assert_eq!(run(text, open, &many), one);
});
