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

/// Every figure [`summarize`] prints, as one JSON document (`info
/// --output-format json`). Keys, in this order: `inputs` (per input:
/// `path`, `format`, `bytes` on disk, `uncompressed_bytes`, `records`,
/// `time_shift_ns`), `time` (`start_ns`, `end_ns`, `duration_ns` in the
/// inputs' own clocks; null without timed events), `requests` (`total`,
/// `aggregated`, `disaggregated`), `slices`, `tracks`, `flows`, `counters`,
/// `layout` (`lane_tracks`, `moved_to_lanes`, `detached`; null when not laid
/// out), `warnings` (`total` and `kinds`: per kind `kind`, `count` and the
/// first `example` with `input` path, `location`, `field`, `message`).
pub fn summarize_json(trace: &Trace) -> String {
    use serde::Serialize;
    #[derive(Serialize)]
    struct Input<'a> {
        path: &'a str,
        format: &'a str,
        bytes: u64,
        uncompressed_bytes: u64,
        records: u64,
        time_shift_ns: i64,
    }
    #[derive(Serialize)]
    struct Time {
        start_ns: i64,
        end_ns: i64,
        duration_ns: i64,
    }
    #[derive(Serialize)]
    struct Requests {
        total: usize,
        aggregated: usize,
        disaggregated: usize,
    }
    #[derive(Serialize)]
    struct Layout {
        lane_tracks: u64,
        moved_to_lanes: u64,
        detached: u64,
    }
    #[derive(Serialize)]
    struct Example<'a> {
        input: &'a str,
        location: String,
        field: &'a str,
        message: &'a str,
    }
    #[derive(Serialize)]
    struct Kind<'a> {
        kind: &'a str,
        count: u64,
        example: Option<Example<'a>>,
    }
    #[derive(Serialize)]
    struct Warnings<'a> {
        total: u64,
        kinds: Vec<Kind<'a>>,
    }
    #[derive(Serialize)]
    struct Info<'a> {
        inputs: Vec<Input<'a>>,
        time: Option<Time>,
        requests: Requests,
        slices: usize,
        tracks: usize,
        flows: usize,
        counters: usize,
        layout: Option<Layout>,
        warnings: Warnings<'a>,
    }
    let p = &trace.provenance;
    let agg = trace
        .requests
        .iter()
        .filter(|r| r.kind == crate::model::RequestKind::Aggregated)
        .count();
    let info = Info {
        inputs: p
            .inputs
            .iter()
            .map(|i| Input {
                path: &i.path,
                format: &i.format,
                bytes: i.bytes,
                uncompressed_bytes: i.raw_bytes,
                records: i.records,
                time_shift_ns: i.time_shift_ns,
            })
            .collect(),
        time: trace.time_range().map(|(lo, hi)| Time {
            start_ns: lo,
            end_ns: hi,
            duration_ns: hi - lo,
        }),
        requests: Requests {
            total: trace.requests.len(),
            aggregated: agg,
            disaggregated: trace.requests.len() - agg,
        },
        slices: trace.slices.len(),
        tracks: trace.tracks.len(),
        flows: trace.flows.len(),
        counters: trace.counters.len(),
        layout: trace.layout.as_ref().map(|l| Layout {
            lane_tracks: l.lane_tracks,
            moved_to_lanes: l.moved_to_lanes,
            detached: l.detached,
        }),
        warnings: Warnings {
            total: trace.warnings.total(),
            kinds: trace
                .warnings
                .counts
                .iter()
                .map(|(kind, n)| Kind {
                    kind,
                    count: *n,
                    example: trace
                        .warnings
                        .list
                        .iter()
                        .find(|w| w.kind == *kind)
                        .map(|w| Example {
                            input: p
                                .inputs
                                .get(w.input as usize)
                                .map_or("?", |i| i.path.as_str()),
                            location: w.location.to_string(),
                            field: &w.field,
                            message: &w.message,
                        }),
                })
                .collect(),
        },
    };
    let mut s = serde_json::to_string_pretty(&info).expect("info serializes");
    s.push('\n');
    s
}
