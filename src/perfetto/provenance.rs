//! The provenance instant: what a trace says about the run that made it.
//!
//! Every trace has one top-level track named [`TRACK_NAME`]
//! (`breakdown-trace`) holding one instant event named [`SLICE_NAME`]
//! (`provenance`) at the trace's first timestamp. Its debug annotations are
//! the whole record; their names are stable (readers such as the `.pftrace`
//! importer rely on them) and Perfetto shows them flattened as
//! `debug.NAME` / `debug.input_0.NAME` in the `args` table:
//!
//! | annotation | type | value |
//! |---|---|---|
//! | `tool` | string | `breakdown-trace` |
//! | `tool_version` | string | the crate version (`CARGO_PKG_VERSION`) |
//! | `provenance` | string | `minimal` (default) or `full`: which of these fields are present |
//! | `command_line` | string | the arguments joined by spaces — **only** with `--provenance full` |
//! | `timestamp_shift_ns` | int | ns added to every timestamp so none is negative (0 when none was) |
//! | `requests`, `slices`, `warnings` | uint | counts in the trace |
//! | `options.input_format` | string | the format forced by `--input-format`; absent when detected |
//! | `options.salvage` | bool | `true` when `--salvage` was given; absent otherwise |
//! | `options.no_queue_length` | bool | `true` when `--no-queue-length` was given; absent otherwise |
//! | `options.window_from_ts`, `options.window_to_ts` | int | the bounds of `--from`/`--to` as timestamps in the inputs' clock (before `timestamp_shift_ns`), ns; absent when not given |
//! | `input_N.name` | string | input N's file name, **without directories** (`-` for standard input) |
//! | `input_N.sha256` | string | SHA-256 of input N's bytes on disk (compressed for `.gz`), 64 lowercase hex digits, as `sha256sum` prints |
//! | `input_N.bytes` | uint | input N's size on disk |
//! | `input_N.uncompressed_bytes` | uint | its size after inflating gzip (= `bytes` for plain files) |
//! | `input_N.format` | string | the format it was read as (`ingest::Format::name`) |
//! | `input_N.records` | uint | records read from it |
//! | `input_N.time_shift_ns` | int | ns `--shift`/`--align`/`--align-start` added to its timestamps (0: none) |
//! | `input_N.alignment` | string | `shift` or `start_at`: the option that moved it; absent when none applied |
//! | `input_N.alignment_ns` | int | that option's value in ns (the DELTA of `shift`, the OFFSET of `start_at`) |
//! | `input_N.rank` | int | Kineto `distributedInfo.rank` of input N; absent when it does not say |
//! | `input_N.host`, `input_N.pid` | string, int | host and pid from a `perf_metrics-{kind}-{host}-{pid}-{stamp}.jsonl` file name; absent otherwise |
//! | `warnings_by_kind.KIND` | uint | warnings by kind; absent when there are none |
//!
//! `N` counts inputs from 0 in command-line order. Nothing else about the
//! machine or the user is recorded here: no path, host or user name, no
//! clock time of the run. (The events themselves carry what the inputs hold,
//! e.g. server addresses, process names, the host in a
//! `perf_metrics-{kind}-{host}-{pid}-{stamp}.jsonl` file name.)

use super::proto::{
    debug_annotation, trace_packet, track_event, DebugAnnotation, TracePacket, TrackEvent,
};
use super::{named, seq};
use crate::model::align::Anchor;
use crate::model::{ProvenanceDetail, Trace};

/// Name of the top-level track that holds the provenance instant.
pub const TRACK_NAME: &str = "breakdown-trace";
/// Name of the provenance instant event.
pub const SLICE_NAME: &str = "provenance";

fn dict(name: &str, entries: Vec<DebugAnnotation>) -> DebugAnnotation {
    DebugAnnotation {
        name_field: Some(debug_annotation::NameField::Name(name.to_owned())),
        dict_entries: entries,
        ..Default::default()
    }
}

/// The annotations of the provenance instant (see the module doc).
pub(super) fn annotations(trace: &Trace, shift: i64) -> Vec<DebugAnnotation> {
    use debug_annotation::Value as V;
    let p = &trace.provenance;
    let mut ann = vec![
        named("tool", V::StringValue(TRACK_NAME.into())),
        named("tool_version", V::StringValue(p.tool_version.clone())),
        named("provenance", V::StringValue(p.detail.name().into())),
    ];
    if p.detail == ProvenanceDetail::Full {
        ann.push(named(
            "command_line",
            V::StringValue(p.command_line.join(" ")),
        ));
    }
    ann.extend([
        named("timestamp_shift_ns", V::IntValue(shift)),
        named("requests", V::UintValue(trace.requests.len() as u64)),
        named("slices", V::UintValue(trace.slices.len() as u64)),
        named("warnings", V::UintValue(trace.warnings.total())),
    ]);
    let mut options = Vec::new();
    if let Some(f) = &p.forced_format {
        options.push(named("input_format", V::StringValue(f.clone())));
    }
    if p.salvage {
        options.push(named("salvage", V::BoolValue(true)));
    }
    if p.no_queue_length {
        options.push(named("no_queue_length", V::BoolValue(true)));
    }
    if let Some(w) = &trace.window {
        if let Some(t) = w.from {
            options.push(named("window_from_ts", V::IntValue(t)));
        }
        if let Some(t) = w.to {
            options.push(named("window_to_ts", V::IntValue(t)));
        }
    }
    if !options.is_empty() {
        ann.push(dict("options", options));
    }
    for (i, input) in p.inputs.iter().enumerate() {
        let mut d = vec![
            named("name", V::StringValue(input.name.clone())),
            named("sha256", V::StringValue(input.sha256.clone())),
            named("bytes", V::UintValue(input.bytes)),
            named("uncompressed_bytes", V::UintValue(input.raw_bytes)),
            named("format", V::StringValue(input.format.clone())),
            named("records", V::UintValue(input.records)),
            named("time_shift_ns", V::IntValue(input.time_shift_ns)),
        ];
        if let Some(anchor) = input.anchor {
            let (kind, ns) = match anchor {
                Anchor::Shift(d) => ("shift", d),
                Anchor::StartAt(at) => ("start_at", at),
            };
            d.push(named("alignment", V::StringValue(kind.into())));
            d.push(named("alignment_ns", V::IntValue(ns)));
        }
        if let Some(rank) = input.rank {
            d.push(named("rank", V::IntValue(rank)));
        }
        if let Some(host) = &input.host {
            d.push(named("host", V::StringValue(host.clone())));
        }
        if let Some(pid) = input.pid {
            d.push(named("pid", V::IntValue(pid)));
        }
        ann.push(dict(&format!("input_{i}"), d));
    }
    if !trace.warnings.counts.is_empty() {
        let counts = trace
            .warnings
            .counts
            .iter()
            .map(|(k, n)| named(k, V::UintValue(*n)))
            .collect();
        ann.push(dict("warnings_by_kind", counts));
    }
    ann
}

/// The provenance instant on track `uuid` at `ts`.
pub(super) fn packet(trace: &Trace, uuid: u64, ts: i64, shift: i64) -> TracePacket {
    TracePacket {
        timestamp: Some(ts as u64),
        optional_trusted_packet_sequence_id: Some(seq()),
        data: Some(trace_packet::Data::TrackEvent(TrackEvent {
            r#type: Some(track_event::Type::Instant as i32),
            track_uuid: Some(uuid),
            name_field: Some(track_event::NameField::Name(SLICE_NAME.into())),
            debug_annotations: annotations(trace, shift),
            ..Default::default()
        })),
        ..Default::default()
    }
}
