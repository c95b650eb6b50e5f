//! Shared driver for the fuzz targets: bytes → importer (format forced)
//! → must return Ok or Err, never panic. The first byte's low bit turns
//! `--salvage` on, its second bit gives `--scrape-interval 1s` (Prometheus),
//! so both paths of each are fuzzed.

use breakdown_trace::ingest::{self, Format, Input, LoadOptions};
use breakdown_trace::model::Trace;

/// Runs one importer on `data`; `None` when it rejected the input.
pub fn import(format: Format, data: &[u8]) -> Option<Trace> {
    let (salvage, interval, body) = match data.split_first() {
        Some((first, rest)) => (first & 1 == 1, first & 2 == 2, rest),
        None => (false, false, data),
    };
    let input = Input::from_bytes("fuzz.json", body.to_vec());
    let opts = LoadOptions {
        format: Some(format),
        salvage,
        requests_only: false,
        scrape_interval_ns: interval.then_some(1_000_000_000),
        // The queue-length tracks are computed on every timeline (fuzzed too).
        no_queue_length: false,
    };
    match ingest::load_inputs_with(vec![(input, format)], &opts) {
        Ok(t) => Some(t),
        Err(e) => {
            // Rendering the error must not panic either.
            let _ = e.to_string();
            None
        }
    }
}
