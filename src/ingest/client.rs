//! What the client-benchmark importers (aiperf, vLLM bench) share: the
//! client track group and a request's slices.
//!
//! Layout: one top-level track per client input (`client: <file>`), with
//! lanes named `requests` so requests never cross. A request is one parent
//! slice from start to its last response (`request`, `request (cancelled)`,
//! `request (failed)`, `warmup request`); its children are `TTFT` (start →
//! first chunk) and one `chunk` slice per later chunk (previous chunk → this
//! chunk, i.e. one inter-chunk latency each). Without an end time the request
//! is an instant at its start.

use std::path::Path;

use crate::ingest::jsonrec::Cursor;
use crate::model::{
    ArgValue, ClientRequest, ClientStatus, LanePolicy, MetricValue, Slice, SliceKind, Trace, Track,
    TrackId, TrackKind,
};

/// Correlation ids of client requests start here (clear of server requests).
pub const CORRELATION_BASE: u64 = 1 << 40;

/// Makes the track group of one client input.
pub fn client_track(trace: &mut Trace, path: &Path, tool: &str, clock: &str) -> TrackId {
    // The file name only: a trace records no paths (see `perfetto::provenance`).
    let file = super::file_name(path);
    let name = trace.intern(&format!("client: {file}"));
    let mut t = Track::new(name, None, TrackKind::Plain);
    t.lanes = LanePolicy::Exclusive;
    t.lane_name = Some(trace.intern("requests"));
    t.description = Some(format!(
        "{tool} per-request records from {}. Clock: {clock}. request = start → last response; \
         TTFT = start → first chunk; chunk = previous chunk → this chunk (inter-chunk latency).",
        file
    ));
    trace.add_track(t)
}

/// Adds `req` to the trace with its slices on `track`.
pub fn add_request_slices(trace: &mut Trace, c: &Cursor, track: TrackId, mut req: ClientRequest) {
    let correlation = CORRELATION_BASE + trace.client_requests.len() as u64;
    let Some(start) = req.start_ns else {
        trace.client_requests.push(req);
        return;
    };
    let name = match (req.warmup, req.status) {
        (true, _) => "warmup request".to_owned(),
        (false, ClientStatus::Ok) => "request".to_owned(),
        (false, s) => format!("request ({})", s.name()),
    };
    let mut args: Vec<(String, ArgValue)> = Vec::new();
    args.push(("status".into(), ArgValue::from(req.status.name())));
    if let Some(e) = &req.error {
        if let Some(code) = e.code {
            args.push(("error.code".into(), ArgValue::Int(code)));
        }
        if let Some(k) = &e.kind {
            args.push(("error.type".into(), ArgValue::from(k.as_str())));
        }
        if let Some(m) = &e.message {
            args.push(("error.message".into(), ArgValue::from(m.as_str())));
        }
    }
    for (k, v) in &req.metadata {
        if k != "generated_text" {
            args.push((k.clone(), v.clone()));
        }
    }
    for m in &req.metrics {
        if let MetricValue::Number(v) = m.value {
            args.push((format!("metrics.{} ({})", m.tag, m.unit), ArgValue::Real(v)));
        }
    }
    let arg_ids: Vec<_> = args
        .into_iter()
        .map(|(k, v)| (trace.intern(&k), v))
        .collect();
    let args = trace.add_args(arg_ids);
    let cat = Some(trace.intern("client"));
    let name = trace.intern(&name);
    let end = match req.end_ns {
        Some(e) if e.checked_sub(start).is_none() => {
            c.warn(
                trace,
                "time_out_of_range",
                "end",
                "request duration does not fit i64 ns; shown as an instant at its start",
            );
            None
        }
        Some(e) if e < start => {
            c.warn(
                trace,
                "reversed_times",
                "end",
                "request ends before it starts; shown as an instant at its start",
            );
            None
        }
        e => e,
    };
    let parent = trace.add_slice(Slice {
        ts: start,
        dur: end.map_or(0, |e| e - start),
        track,
        name,
        category: cat,
        args,
        correlation: Some(correlation),
        parent: None,
        depth: 0,
        kind: if end.is_some() {
            SliceKind::Span
        } else {
            SliceKind::Instant
        },
    });
    req.slice = Some(parent);
    if let (Some(end), Some(first)) = (end, req.first_token_ns) {
        if first < start || first > end {
            c.warn(
                trace,
                "ttft_outside_request",
                "ttft",
                "first token outside the request's start..end; token slices not drawn",
            );
        } else {
            let ttft = trace.intern("TTFT");
            trace.add_slice(Slice {
                ts: start,
                dur: first - start,
                track,
                name: ttft,
                category: cat,
                args: Default::default(),
                correlation: Some(correlation),
                parent: Some(parent),
                depth: 0,
                kind: SliceKind::Span,
            });
            let chunk = trace.intern("chunk");
            let key = trace.intern("index");
            let mut prev = first;
            for (i, &t) in req.chunk_ns.iter().enumerate() {
                if t < prev || t > end {
                    c.warn(
                        trace,
                        "chunk_outside_request",
                        "inter_chunk_latency",
                        format!(
                            "chunk {} lies outside the request's time range; it and later chunks not drawn",
                            i + 2
                        ),
                    );
                    break;
                }
                let args = trace.add_args([(key, ArgValue::Int(i as i64 + 2))]);
                trace.add_slice(Slice {
                    ts: prev,
                    dur: t - prev,
                    track,
                    name: chunk,
                    category: cat,
                    args,
                    correlation: Some(correlation),
                    parent: Some(parent),
                    depth: 0,
                    kind: SliceKind::Span,
                });
                prev = t;
            }
        }
    }
    trace.client_requests.push(req);
}
