//! What `info` and `convert` print about a trace: inputs, counts, time
//! range and warnings by kind.

use std::fmt::Write;

use crate::model::Trace;
use crate::time::fmt_ms;

/// A human-readable summary of a loaded trace.
pub fn summarize(trace: &Trace) -> String {
    let mut out = String::new();
    let p = &trace.provenance;
    for i in &p.inputs {
        let _ = writeln!(
            out,
            "input    {}  format={}  bytes={}  uncompressed={}  records={}",
            i.path, i.format, i.bytes, i.raw_bytes, i.records
        );
        if let Some(p) = &i.producer {
            let _ = writeln!(out, "         written by {p}");
        }
    }
    if let Some((lo, hi)) = trace.time_range() {
        let _ = writeln!(
            out,
            "time     {lo} .. {hi} ns  ({} ms, in the inputs' own clocks)",
            fmt_ms(hi - lo)
        );
    } else {
        let _ = writeln!(out, "time     (no timed events)");
    }
    if !trace.requests.is_empty() {
        let agg = trace
            .requests
            .iter()
            .filter(|r| r.kind == crate::model::RequestKind::Aggregated)
            .count();
        let _ = writeln!(
            out,
            "requests {}  (aggregated {}, disaggregated {})",
            trace.requests.len(),
            agg,
            trace.requests.len() - agg
        );
    }
    let lanes = trace.layout.as_ref();
    let _ = writeln!(
        out,
        "slices   {}  tracks={}  flows={}  counters={}",
        trace.slices.len(),
        trace.tracks.len(),
        trace.flows.len(),
        trace.counters.len()
    );
    if let Some(l) = lanes {
        let _ = writeln!(
            out,
            "layout   lane tracks={}  slices moved to lanes={}  crossing slices set apart={}",
            l.lane_tracks, l.moved_to_lanes, l.detached
        );
    }
    if trace.warnings.counts.is_empty() {
        let _ = writeln!(out, "warnings none");
    } else {
        let _ = writeln!(out, "warnings {}", trace.warnings.total());
        for (kind, n) in &trace.warnings.counts {
            let example = trace.warnings.list.iter().find(|w| w.kind == *kind);
            let _ = match example {
                Some(w) => writeln!(
                    out,
                    "  {kind:<28} {n:>8}  e.g. {}: {}{}: {}",
                    p.inputs
                        .get(w.input as usize)
                        .map_or("?", |i| i.path.as_str()),
                    w.location,
                    if w.field.is_empty() {
                        String::new()
                    } else {
                        format!(": {}", w.field)
                    },
                    w.message
                ),
                None => writeln!(out, "  {kind:<28} {n:>8}"),
            };
        }
    }
    out
}
