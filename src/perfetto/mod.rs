//! Model → Perfetto protobuf trace (`.pftrace`).
//!
//! One packet sequence. The first packet clears incremental state and
//! defines the interned event names and categories; track descriptors follow;
//! then every event in time order (see [`order`]). Events are encoded in
//! parallel chunks and written in order.
//!
//! Timestamps are written as they are in the model, except that a trace with
//! negative timestamps is shifted so the earliest is 0 (packets carry
//! unsigned timestamps); the shift is recorded in the provenance instant
//! (see [`provenance`] for what it holds).

mod annotations;
pub mod order;
pub mod proto;
pub mod provenance;

use std::io::{self, Write};
use std::path::Path;

use prost::Message;
use rayon::prelude::*;

use crate::error::{Error, Result};
use crate::model::{layout, ArgValue, CounterUnit, SliceKind, Trace, TrackKind};
use annotations::{AnnotationNames, ChunkNames};
use order::{Ev, FlowIndex};
use proto::{
    counter_descriptor, debug_annotation, trace_packet, track_descriptor, track_event,
    CounterDescriptor, DebugAnnotation, DebugAnnotationName, EventCategory, EventName,
    InternedData, ProcessDescriptor, ThreadDescriptor, TracePacket, TrackDescriptor, TrackEvent,
};

/// Our one packet sequence.
const SEQUENCE_ID: u32 = 1;
const SEQ_INCREMENTAL_STATE_CLEARED: u32 = 1;
const SEQ_NEEDS_INCREMENTAL_STATE: u32 = 2;
/// Track uuids are `UUID_BASE + track index`. Small on purpose: every event
/// carries its track's uuid as a varint.
pub const UUID_BASE: u64 = 1;
/// Events per parallel encoding chunk.
const CHUNK: usize = 1 << 15;

/// What [`write`] produced.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WriteStats {
    pub packets: u64,
    pub bytes: u64,
    /// Added to every timestamp (non-zero only when the model had negative times).
    pub timestamp_shift_ns: i64,
}

/// Lays out `trace` (if not yet) and writes it to `path` atomically.
pub fn write_file(trace: &mut Trace, path: &Path) -> Result<WriteStats> {
    layout::lay_out(trace);
    let trace = &*trace;
    crate::output::write_atomically(path, |w| {
        write(trace, w).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
    })
}

/// Lays out `trace` (if not yet) and returns the trace in memory (what
/// [`write_file`] would write).
pub fn to_bytes(trace: &mut Trace) -> Vec<u8> {
    layout::lay_out(trace);
    let mut out = Vec::new();
    write(trace, &mut out).expect("writing to memory does not fail");
    out
}

/// Writes a laid-out trace as a Perfetto protobuf stream.
pub fn write<W: Write + Send>(trace: &Trace, w: &mut W) -> io::Result<WriteStats> {
    assert!(trace.layout.is_some(), "call model::layout::lay_out first");
    let mut stats = WriteStats::default();
    let min_ts = trace.time_range().map_or(0, |(lo, _)| lo);
    // Timestamps are written as `ts - base` (in i128, so any i64 span fits
    // the u64 field); `base` is the earliest time when it is negative.
    let base = min_ts.min(0);
    stats.timestamp_shift_ns = base.checked_neg().unwrap_or(i64::MAX);
    let shift = stats.timestamp_shift_ns;

    let mut buf = Vec::with_capacity(1 << 16);
    let names = AnnotationNames::new(trace);

    // 1. Interned names and categories, clearing incremental state.
    let mut used_names = vec![false; trace.strings.len()];
    let mut used_cats = vec![false; trace.strings.len()];
    for s in &trace.slices {
        used_names[s.name.index()] = true;
        if let Some(c) = s.category {
            used_cats[c.index()] = true;
        }
    }
    // iid = StrId + 1 (0 means "unset" on the wire).
    let used = |flags: &[bool]| -> Vec<(u64, String)> {
        (0..flags.len())
            .filter(|&i| flags[i])
            .map(|i| {
                let name = trace.strings.resolve(crate::model::StrId(i as u32));
                (i as u64 + 1, name.to_owned())
            })
            .collect()
    };
    let interned = InternedData {
        event_names: used(&used_names)
            .into_iter()
            .map(|(iid, name)| EventName {
                iid: Some(iid),
                name: Some(name),
            })
            .collect(),
        event_categories: used(&used_cats)
            .into_iter()
            .map(|(iid, name)| EventCategory {
                iid: Some(iid),
                name: Some(name),
            })
            .collect(),
        debug_annotation_names: names
            .initial
            .iter()
            .map(|(iid, name)| DebugAnnotationName {
                iid: Some(*iid),
                name: Some(name.clone()),
            })
            .collect(),
        ..Default::default()
    };
    put(
        &mut buf,
        &TracePacket {
            optional_trusted_packet_sequence_id: Some(seq()),
            interned_data: Some(interned),
            sequence_flags: Some(SEQ_INCREMENTAL_STATE_CLEARED | SEQ_NEEDS_INCREMENTAL_STATE),
            first_packet_on_sequence: Some(true),
            ..Default::default()
        },
    );
    stats.packets += 1;

    // 2. Track descriptors (parents precede children: they have lower ids),
    // then the provenance track.
    for (i, t) in trace.tracks.iter().enumerate() {
        put(&mut buf, &descriptor(trace, i, t));
        stats.packets += 1;
    }
    let prov_uuid = UUID_BASE + trace.tracks.len() as u64;
    put(
        &mut buf,
        &TracePacket {
            optional_trusted_packet_sequence_id: Some(seq()),
            data: Some(trace_packet::Data::TrackDescriptor(TrackDescriptor {
                uuid: Some(prov_uuid),
                static_or_dynamic_name: Some(track_descriptor::StaticOrDynamicName::Name(
                    provenance::TRACK_NAME.into(),
                )),
                description: Some(
                    "How this trace was made: tool version, inputs (file names, sizes, SHA-256), \
                     options that change the output, counts, warnings."
                        .into(),
                ),
                sibling_order_rank: Some(i32::MAX),
                ..Default::default()
            })),
            ..Default::default()
        },
    );
    put(
        &mut buf,
        &provenance::packet(trace, prov_uuid, min_ts.max(0), shift),
    );
    stats.packets += 2;
    // What a reader needs to rebuild the request records and the GPU
    // profiler artifacts (ingest::perfetto_proto reads them back).
    for p in record_packets(trace, prov_uuid, min_ts.max(0)) {
        put(&mut buf, &p);
        stats.packets += 1;
    }
    w.write_all(&buf)?;
    stats.bytes += buf.len() as u64;

    // 3. Events, encoded in parallel chunks, written in order.
    let flows = FlowIndex::new(trace);
    let events = order::events(trace, flows.as_ref());
    let ctx = Ctx {
        trace,
        flows: flows.as_ref(),
        names: &names,
        base,
    };
    // While one batch is written out, the next is encoded.
    let encode_batch = |batch: &[(i64, Ev)]| -> Vec<Encoded> {
        let mut encoded: Vec<Encoded> = batch
            .par_chunks(CHUNK)
            .map(|c| ctx.encode_chunk(c))
            .collect();
        let used: Vec<&[(u64, String)]> = encoded.iter().map(|e| &e.names[..]).collect();
        let stale = names.settle(&used);
        if stale.contains(&true) {
            let again: Vec<(usize, Encoded)> = batch
                .par_chunks(CHUNK)
                .enumerate()
                .filter(|(i, _)| stale[*i])
                .map(|(i, c)| (i, ctx.encode_chunk(c)))
                .collect();
            for (i, e) in again {
                encoded[i] = e;
            }
        }
        encoded
    };
    let mut pending: Vec<Encoded> = Vec::new();
    for batch in events.chunks(CHUNK * 8) {
        let out = std::mem::take(&mut pending);
        let (written, encoded) = rayon::join(
            || out.iter().try_for_each(|e| w.write_all(&e.bytes)),
            || encode_batch(batch),
        );
        written?;
        for e in &encoded {
            stats.packets += e.packets;
            stats.bytes += e.bytes.len() as u64;
        }
        pending = encoded;
    }
    for e in &pending {
        w.write_all(&e.bytes)?;
    }
    Ok(stats)
}

fn seq() -> trace_packet::OptionalTrustedPacketSequenceId {
    trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(SEQUENCE_ID)
}

/// Appends one event packet: the same bytes `put` writes for
/// `TracePacket { timestamp, trusted_packet_sequence_id, track_event,
/// sequence_flags }` (a test checks it), where the track event is `e` plus
/// `category` and the already encoded debug `annotations`. prost writes
/// fields in tag order, so category_iids (3) and debug_annotations (4) go
/// before the rest of `e`, which must have neither. The event is encoded
/// once into `scratch`, so nested lengths are computed once.
fn put_event(
    buf: &mut Vec<u8>,
    ts: u64,
    category: Option<u64>,
    annotations: &[u8],
    e: &TrackEvent,
    scratch: &mut Vec<u8>,
) {
    use prost::encoding::{
        encode_key, encode_varint, encoded_len_varint, key_len, uint32, uint64, WireType,
    };
    debug_assert!(e.category_iids.is_empty() && e.debug_annotations.is_empty());
    scratch.clear();
    if let Some(c) = category {
        uint64::encode(3, &c, scratch);
    }
    scratch.extend_from_slice(annotations);
    e.encode(scratch).expect("Vec grows as needed");
    let n = scratch.len();
    let len = uint64::encoded_len(8, &ts)
        + uint32::encoded_len(10, &SEQUENCE_ID)
        + key_len(11)
        + encoded_len_varint(n as u64)
        + n
        + uint32::encoded_len(13, &SEQ_NEEDS_INCREMENTAL_STATE);
    buf.push(0x0a);
    encode_varint(len as u64, buf);
    uint64::encode(8, &ts, buf);
    uint32::encode(10, &SEQUENCE_ID, buf);
    encode_key(11, WireType::LengthDelimited, buf);
    encode_varint(n as u64, buf);
    buf.extend_from_slice(scratch);
    uint32::encode(13, &SEQ_NEEDS_INCREMENTAL_STATE, buf);
}

/// Appends `p` as one `Trace.packet` (field 1, length-delimited).
fn put(buf: &mut Vec<u8>, p: &TracePacket) {
    buf.push(0x0a);
    prost::encoding::encode_varint(p.encoded_len() as u64, buf);
    p.encode(buf).expect("Vec grows as needed");
}

fn descriptor(trace: &Trace, i: usize, t: &crate::model::Track) -> TracePacket {
    let name = trace.str(t.name).to_owned();
    let mut d = TrackDescriptor {
        uuid: Some(UUID_BASE + i as u64),
        parent_uuid: t.parent.map(|p| UUID_BASE + p.0 as u64),
        description: t.description.clone(),
        sibling_order_rank: t.rank,
        ..Default::default()
    };
    if t.explicit_child_order {
        d.child_ordering = Some(track_descriptor::ChildTracksOrdering::Explicit as i32);
    }
    match &t.kind {
        TrackKind::Plain => {
            d.static_or_dynamic_name = Some(track_descriptor::StaticOrDynamicName::Name(name));
        }
        TrackKind::Process {
            pid,
            labels,
            sort_index,
        } => {
            d.process = Some(ProcessDescriptor {
                pid: Some(*pid),
                process_name: Some(name),
                process_labels: labels.clone(),
                legacy_sort_index: *sort_index,
                ..Default::default()
            });
        }
        TrackKind::Thread {
            pid,
            tid,
            sort_index,
        } => {
            d.parent_uuid = None; // ignored by Perfetto for thread tracks
            d.thread = Some(ThreadDescriptor {
                pid: Some(*pid),
                tid: Some(*tid),
                thread_name: Some(name),
                legacy_sort_index: *sort_index,
            });
        }
        TrackKind::Counter { unit } => {
            d.static_or_dynamic_name = Some(track_descriptor::StaticOrDynamicName::Name(name));
            let mut c = CounterDescriptor::default();
            match unit {
                CounterUnit::Count => c.unit = Some(counter_descriptor::Unit::Count as i32),
                CounterUnit::Bytes => c.unit = Some(counter_descriptor::Unit::SizeBytes as i32),
                CounterUnit::TimeNs => c.unit = Some(counter_descriptor::Unit::TimeNs as i32),
                CounterUnit::Other(u) if u.is_empty() => {}
                CounterUnit::Other(u) => c.unit_name = Some(u.clone()),
            }
            d.counter = Some(c);
        }
    }
    TracePacket {
        optional_trusted_packet_sequence_id: Some(seq()),
        data: Some(trace_packet::Data::TrackDescriptor(d)),
        ..Default::default()
    }
}

fn named(name: &str, value: debug_annotation::Value) -> DebugAnnotation {
    DebugAnnotation {
        name_field: Some(debug_annotation::NameField::Name(name.to_owned())),
        value: Some(value),
        ..Default::default()
    }
}

/// One `request record` instant per request, one `client record` per
/// client benchmark record, one `iteration record` per iteration-statistics
/// record, one `warning record` per warning detail and one `gpu artifact`
/// instant per profiler artifact, on the provenance track: the request's
/// every stamp (`stamps`, in [`crate::model::Field`] order: ns, or
/// `missing` / `null` / `zero` / `non_streaming:<ns>`), identity and
/// servers; the artifact's track uuid, time, duration and reason. Times are
/// the model's (before the writer's shift).
fn record_packets(trace: &Trace, uuid: u64, ts: i64) -> Vec<TracePacket> {
    use crate::model::{Location, RequestKind, Stamp};
    use debug_annotation::Value as V;
    let instant = |name: &str, ann: Vec<DebugAnnotation>| TracePacket {
        timestamp: Some(ts as u64),
        optional_trusted_packet_sequence_id: Some(seq()),
        data: Some(trace_packet::Data::TrackEvent(TrackEvent {
            r#type: Some(track_event::Type::Instant as i32),
            track_uuid: Some(uuid),
            name_field: Some(track_event::NameField::Name(name.into())),
            debug_annotations: ann,
            ..Default::default()
        })),
        ..Default::default()
    };
    let mut out = Vec::with_capacity(trace.requests.len() + trace.gpu_artifacts.len());
    for r in &trace.requests {
        let location = match r.location {
            Location::File => "file".to_owned(),
            l => l.to_string(),
        };
        let mut ann = vec![
            named("input", V::UintValue(u64::from(r.input))),
            named("location", V::StringValue(location)),
            named(
                "kind",
                V::StringValue(
                    match r.kind {
                        RequestKind::Aggregated => "aggregated",
                        RequestKind::Disaggregated => "disaggregated",
                    }
                    .into(),
                ),
            ),
            named("label", V::StringValue(r.label.clone())),
        ];
        for (k, v) in [
            ("ctx_request_id", r.ctx_request_id),
            ("gen_request_id", r.gen_request_id),
            ("disagg_request_id", r.disagg_request_id),
        ] {
            if let Some(v) = v {
                ann.push(named(k, V::IntValue(v)));
            }
        }
        for (k, v) in [
            ("ctx_server", &r.ctx_server),
            ("gen_server", &r.gen_server),
            ("status", &r.status),
        ] {
            if let Some(v) = v {
                ann.push(named(k, V::StringValue(v.clone())));
            }
        }
        let sides = r
            .has_side
            .iter()
            .enumerate()
            .fold(0u64, |acc, (i, &b)| acc | (u64::from(b) << i));
        ann.push(named("has_side", V::UintValue(sides)));
        ann.push(named("correlation", V::UintValue(r.correlation)));
        ann.push(named("non_streaming", V::BoolValue(r.non_streaming)));
        let stamps = r
            .stamps
            .iter()
            .map(|s| DebugAnnotation {
                value: Some(match *s {
                    Stamp::At(t) => V::IntValue(t),
                    Stamp::Missing => V::StringValue("missing".into()),
                    Stamp::Null => V::StringValue("null".into()),
                    Stamp::Zero => V::StringValue("zero".into()),
                    Stamp::NonStreaming(t) => V::StringValue(format!("non_streaming:{t}")),
                }),
                ..Default::default()
            })
            .collect();
        ann.push(DebugAnnotation {
            name_field: Some(debug_annotation::NameField::Name("stamps".into())),
            array_values: stamps,
            ..Default::default()
        });
        out.push(instant("request record", ann));
    }
    for c in &trace.client_requests {
        out.push(instant("client record", client_record(trace, c)));
    }
    for it in &trace.iterations {
        out.push(instant("iteration record", iteration_record(it)));
    }
    // Messages name inputs by path; a trace names them by file name only.
    let mut paths: Vec<(&str, &str)> = trace
        .provenance
        .inputs
        .iter()
        .filter(|i| !i.path.is_empty() && i.path != i.name)
        .map(|i| (i.path.as_str(), i.name.as_str()))
        .collect();
    paths.sort_by_key(|(p, _)| std::cmp::Reverse(p.len()));
    for w in &trace.warnings.list {
        let mut message = w.message.clone();
        for (path, name) in &paths {
            if message.contains(path) {
                message = message.replace(path, name);
            }
        }
        let location = match w.location {
            Location::File => "file".to_owned(),
            l => l.to_string(),
        };
        out.push(instant(
            "warning record",
            vec![
                named("kind", V::StringValue(w.kind.into())),
                named("input", V::UintValue(u64::from(w.input))),
                named("location", V::StringValue(location)),
                named("field", V::StringValue(w.field.clone())),
                named("message", V::StringValue(message)),
            ],
        ));
    }
    for a in &trace.gpu_artifacts {
        let s = trace.slice(a.slice);
        out.push(instant(
            "gpu artifact",
            vec![
                named("track", V::UintValue(UUID_BASE + s.track.0 as u64)),
                named("ts", V::IntValue(s.ts)),
                named("dur", V::IntValue(s.dur)),
                named("reason", V::StringValue(a.reason.into())),
            ],
        ));
    }
    out
}

fn dict_of(name: &str, entries: Vec<DebugAnnotation>) -> DebugAnnotation {
    DebugAnnotation {
        name_field: Some(debug_annotation::NameField::Name(name.to_owned())),
        dict_entries: entries,
        ..Default::default()
    }
}

fn array_of(name: &str, values: Vec<DebugAnnotation>) -> DebugAnnotation {
    DebugAnnotation {
        name_field: Some(debug_annotation::NameField::Name(name.to_owned())),
        array_values: values,
        ..Default::default()
    }
}

fn unnamed(value: debug_annotation::Value) -> DebugAnnotation {
    DebugAnnotation {
        value: Some(value),
        ..Default::default()
    }
}

fn location_text(l: crate::model::Location) -> String {
    match l {
        crate::model::Location::File => "file".to_owned(),
        l => l.to_string(),
    }
}

/// A client benchmark record (aiperf, vLLM bench) as annotations: every
/// field of [`crate::model::ClientRequest`]; its slice by track uuid and time.
fn client_record(trace: &Trace, c: &crate::model::ClientRequest) -> Vec<DebugAnnotation> {
    use crate::model::{ClientSource, MetricValue};
    use debug_annotation::Value as V;
    let mut ann = vec![
        named("input", V::UintValue(u64::from(c.input))),
        named("location", V::StringValue(location_text(c.location))),
        named(
            "source",
            V::StringValue(
                match c.source {
                    ClientSource::AiperfOld => "aiperf_old",
                    ClientSource::AiperfNew => "aiperf_new",
                    ClientSource::VllmBench => "vllm_bench",
                }
                .into(),
            ),
        ),
        named("status", V::StringValue(c.status.name().into())),
        named("warmup", V::BoolValue(c.warmup)),
    ];
    if let Some(p) = &c.phase {
        ann.push(named("phase", V::StringValue(p.clone())));
    }
    if let Some(r) = &c.request_id {
        ann.push(named("request_id", V::StringValue(r.clone())));
    }
    for (k, v) in [
        ("start_ns", c.start_ns),
        ("end_ns", c.end_ns),
        ("first_token_ns", c.first_token_ns),
    ] {
        if let Some(v) = v {
            ann.push(named(k, V::IntValue(v)));
        }
    }
    ann.push(array_of(
        "chunk_ns",
        c.chunk_ns
            .iter()
            .map(|&t| unnamed(V::IntValue(t)))
            .collect(),
    ));
    ann.push(dict_of(
        "metadata",
        c.metadata
            .iter()
            .map(|(k, v)| named(k, annotations::value_of(v)))
            .collect(),
    ));
    ann.push(array_of(
        "metrics",
        c.metrics
            .iter()
            .map(|m| {
                let value = match &m.value {
                    MetricValue::Number(x) => named("value", V::DoubleValue(*x)),
                    MetricValue::List(xs) => array_of(
                        "values",
                        xs.iter().map(|&x| unnamed(V::DoubleValue(x))).collect(),
                    ),
                };
                dict_of(
                    "",
                    vec![
                        named("tag", V::StringValue(m.tag.clone())),
                        named("unit", V::StringValue(m.unit.clone())),
                        value,
                    ],
                )
            })
            .collect(),
    ));
    if let Some(e) = &c.error {
        let mut d = Vec::new();
        if let Some(code) = e.code {
            d.push(named("code", V::IntValue(code)));
        }
        if let Some(k) = &e.kind {
            d.push(named("kind", V::StringValue(k.clone())));
        }
        if let Some(m) = &e.message {
            d.push(named("message", V::StringValue(m.clone())));
        }
        ann.push(dict_of("error", d));
    }
    if let Some(s) = c.slice {
        let s = trace.slice(s);
        ann.push(named(
            "slice_track",
            V::UintValue(UUID_BASE + s.track.0 as u64),
        ));
        ann.push(named("slice_ts", V::IntValue(s.ts)));
    }
    ann
}

/// An iteration-statistics record as annotations: every field of
/// [`crate::model::Iteration`].
fn iteration_record(it: &crate::model::Iteration) -> Vec<DebugAnnotation> {
    use debug_annotation::Value as V;
    let pairs = |name: &str, kv: &[(String, ArgValue)]| {
        dict_of(
            name,
            kv.iter()
                .map(|(k, v)| named(k, annotations::value_of(v)))
                .collect(),
        )
    };
    let mut ann = vec![
        named("input", V::UintValue(u64::from(it.input))),
        named("location", V::StringValue(location_text(it.location))),
    ];
    if let Some(i) = it.iter {
        ann.push(named("iter", V::IntValue(i)));
    }
    if let Some(t) = &it.timestamp_text {
        ann.push(named("timestamp", V::StringValue(t.clone())));
    }
    if let Some(t) = it.ts {
        ann.push(named("ts", V::IntValue(t)));
    }
    ann.push(pairs("fields", &it.fields));
    ann.push(array_of(
        "null_fields",
        it.null_fields
            .iter()
            .map(|f| unnamed(V::StringValue(f.clone())))
            .collect(),
    ));
    ann.push(array_of(
        "request_stats",
        it.request_stats.iter().map(|r| pairs("", r)).collect(),
    ));
    ann
}

/// One chunk of events, encoded.
struct Encoded {
    bytes: Vec<u8>,
    packets: u64,
    /// The dynamic annotation names it uses, in first-use order.
    names: Vec<(u64, String)>,
}

struct Ctx<'a> {
    trace: &'a Trace,
    flows: Option<&'a FlowIndex>,
    names: &'a AnnotationNames,
    /// Subtracted from every timestamp (0, or the earliest negative time).
    base: i64,
}

impl Ctx<'_> {
    /// Encodes `events` (and the interning packet they need first); returns
    /// the bytes and the number of packets.
    fn encode_chunk(&self, events: &[(i64, Ev)]) -> Encoded {
        let trace = self.trace;
        let mut names = ChunkNames::new(self.names);
        let mut body = Vec::with_capacity(events.len() * 24);
        let mut scratch = Vec::with_capacity(256);
        let mut ann = Vec::with_capacity(256);
        let mut bufs = Vec::new();
        let (riders, rides) = riders(trace, events);
        let mut next_rider = 0;
        let mut packets = 0u64;
        for (pos, &(ts, ev)) in events.iter().enumerate() {
            if rides.get(pos) == Some(&true) {
                continue;
            }
            let mut e = TrackEvent::default();
            let mut category = None;
            ann.clear();
            while let Some(&(carrier, i)) = riders.get(next_rider) {
                if carrier as usize != pos {
                    break;
                }
                let c = &trace.counters[i as usize];
                let uuid = UUID_BASE + c.track.0 as u64;
                match as_int(c.value) {
                    Some(v) => {
                        e.extra_counter_track_uuids.push(uuid);
                        e.extra_counter_values.push(v);
                    }
                    None => {
                        e.extra_double_counter_track_uuids.push(uuid);
                        e.extra_double_counter_values.push(c.value);
                    }
                }
                next_rider += 1;
            }
            packets += 1;
            match ev {
                Ev::Begin(id) | Ev::Instant(id) => {
                    let s = trace.slice(id);
                    e.r#type = Some(if s.kind == SliceKind::Instant {
                        track_event::Type::Instant
                    } else {
                        track_event::Type::SliceBegin
                    } as i32);
                    e.track_uuid = Some(UUID_BASE + s.track.0 as u64);
                    e.name_field = Some(track_event::NameField::NameIid(s.name.0 as u64 + 1));
                    category = s.category.map(|c| c.0 as u64 + 1);
                    annotations::encode_into(trace, s.args, &mut names, &mut bufs, &mut ann);
                    if let Some(c) = s.correlation {
                        e.correlation_id_field =
                            Some(track_event::CorrelationIdField::CorrelationId(c));
                    }
                    if let Some(f) = self.flows {
                        e.flow_ids = f.outgoing(id).to_vec();
                        e.terminating_flow_ids = f.incoming(id).to_vec();
                    }
                }
                Ev::End(id) => {
                    e.r#type = Some(track_event::Type::SliceEnd as i32);
                    e.track_uuid = Some(UUID_BASE + trace.slice(id).track.0 as u64);
                }
                Ev::Counter(i) => {
                    let c = &trace.counters[i as usize];
                    e.r#type = Some(track_event::Type::Counter as i32);
                    e.track_uuid = Some(UUID_BASE + c.track.0 as u64);
                    e.counter_value_field = Some(match as_int(c.value) {
                        Some(v) => track_event::CounterValueField::CounterValue(v),
                        None => track_event::CounterValueField::DoubleCounterValue(c.value),
                    });
                }
            }
            let ts = (i128::from(ts) - i128::from(self.base)) as u64;
            put_event(&mut body, ts, category, &ann, &e, &mut scratch);
        }
        if names.used.is_empty() {
            return Encoded {
                bytes: body,
                packets,
                names: Vec::new(),
            };
        }
        // Define the annotation names this chunk uses before its events.
        let mut out = Vec::with_capacity(body.len() + 64 * names.used.len());
        put(
            &mut out,
            &TracePacket {
                optional_trusted_packet_sequence_id: Some(seq()),
                interned_data: Some(InternedData {
                    debug_annotation_names: names
                        .used
                        .iter()
                        .map(|(iid, name)| DebugAnnotationName {
                            iid: Some(*iid),
                            name: Some(name.clone()),
                        })
                        .collect(),
                    ..Default::default()
                }),
                sequence_flags: Some(SEQ_NEEDS_INCREMENTAL_STATE),
                ..Default::default()
            },
        );
        out.extend_from_slice(&body);
        Encoded {
            bytes: out,
            packets: packets + 1,
            names: names.used,
        }
    }
}

/// A counter value written as an integer (`counter_value`,
/// `extra_counter_values`: a varint, 1–3 bytes for small counts, instead of
/// 8): whole numbers within ±2^53, which the f64 read back holds exactly;
/// -0.0 stays a double.
fn as_int(v: f64) -> Option<i64> {
    const EXACT: f64 = (1u64 << 53) as f64;
    (v.fract() == 0.0 && v.abs() <= EXACT && !(v == 0.0 && v.is_sign_negative()))
        .then_some(v as i64)
}

/// Counter samples that ride on another event of the chunk at the same
/// timestamp, as its `extra_counter_values` / `extra_double_counter_values`
/// (how the Perfetto SDK writes counters sampled at a slice's begin; trace
/// processor reads them as samples of their own tracks at the event's
/// time): a few bytes each instead of a packet of ~30. The carrier is the
/// first BEGIN or INSTANT among the events of that timestamp; a counter
/// track with several samples at that timestamp keeps its own packets, so
/// their order is kept. Returns (carrier position, counter index) sorted by
/// carrier, and per event whether it rides (empty: none does).
fn riders(trace: &crate::model::Trace, events: &[(i64, Ev)]) -> (Vec<(u32, u32)>, Vec<bool>) {
    let mut riders = Vec::new();
    if trace.counters.is_empty() {
        return (riders, Vec::new());
    }
    let mut rides = vec![false; events.len()];
    let mut tracks: Vec<(u32, u32)> = Vec::new();
    let mut start = 0;
    while start < events.len() {
        let ts = events[start].0;
        let mut end = start + 1;
        while end < events.len() && events[end].0 == ts {
            end += 1;
        }
        let run = start..end;
        start = end;
        if run.len() < 2 {
            continue;
        }
        let carrier = run
            .clone()
            .find(|&p| matches!(events[p].1, Ev::Begin(_) | Ev::Instant(_)));
        let Some(carrier) = carrier else {
            continue;
        };
        tracks.clear();
        for p in run {
            if let Ev::Counter(i) = events[p].1 {
                tracks.push((trace.counters[i as usize].track.0, p as u32));
            }
        }
        tracks.sort_unstable();
        for (k, &(track, p)) in tracks.iter().enumerate() {
            let alone = (k == 0 || tracks[k - 1].0 != track)
                && tracks.get(k + 1).is_none_or(|n| n.0 != track);
            if alone {
                let Ev::Counter(i) = events[p as usize].1 else {
                    unreachable!("only counters were collected")
                };
                riders.push((carrier as u32, i));
                rides[p as usize] = true;
            }
        }
    }
    riders.sort_unstable();
    (riders, rides)
}

/// Convenience for callers that build annotations from stored values.
pub fn annotation_value(v: &ArgValue) -> debug_annotation::Value {
    annotations::value_of(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn put_event_writes_what_put_writes() {
        let e = TrackEvent {
            r#type: Some(track_event::Type::SliceBegin as i32),
            track_uuid: Some(7),
            name_field: Some(track_event::NameField::NameIid(3)),
            category_iids: vec![2],
            debug_annotations: vec![named("k", debug_annotation::Value::IntValue(-5))],
            flow_ids: vec![9],
            ..Default::default()
        };
        let mut a = Vec::new();
        put(
            &mut a,
            &TracePacket {
                timestamp: Some(1_700_000_000_000_000_000),
                optional_trusted_packet_sequence_id: Some(seq()),
                data: Some(trace_packet::Data::TrackEvent(e.clone())),
                sequence_flags: Some(SEQ_NEEDS_INCREMENTAL_STATE),
                ..Default::default()
            },
        );
        let mut ann = Vec::new();
        for a in &e.debug_annotations {
            prost::encoding::message::encode(4, a, &mut ann);
        }
        let rest = TrackEvent {
            category_iids: Vec::new(),
            debug_annotations: Vec::new(),
            ..e
        };
        let mut b = Vec::new();
        put_event(
            &mut b,
            1_700_000_000_000_000_000,
            Some(2),
            &ann,
            &rest,
            &mut Vec::new(),
        );
        assert_eq!(a, b);
    }

    #[test]
    fn whole_counter_values_are_written_as_integers() {
        assert_eq!(as_int(3.0), Some(3));
        assert_eq!(as_int(-2.0), Some(-2));
        assert_eq!(as_int(0.0), Some(0));
        assert_eq!(as_int(9_007_199_254_740_992.0), Some(1 << 53));
        for v in [0.5, -0.0, f64::NAN, f64::INFINITY, 18_014_398_509_481_984.0] {
            assert_eq!(as_int(v), None, "{v}");
        }
    }

    #[test]
    fn a_counter_rides_on_the_first_begin_at_its_time_unless_its_track_repeats() {
        use crate::model::{Counter, SliceId, TrackId};
        let mut trace = Trace::new();
        let c = |track: u32, ts: i64| Counter {
            track: TrackId(track),
            ts,
            value: 1.0,
        };
        // Track 5 once at 10, track 6 twice at 10, track 7 at 20 (no
        // event to ride on), track 8 at 30 after an END and a BEGIN.
        trace.counters = vec![c(5, 10), c(6, 10), c(6, 10), c(7, 20), c(8, 30)];
        let events = [
            (10, Ev::Counter(0)),
            (10, Ev::Begin(SliceId(0))),
            (10, Ev::Counter(1)),
            (10, Ev::Begin(SliceId(1))),
            (10, Ev::Counter(2)),
            (20, Ev::Counter(3)),
            (30, Ev::End(SliceId(0))),
            (30, Ev::Counter(4)),
            (30, Ev::Instant(SliceId(2))),
        ];
        let (riders, rides) = riders(&trace, &events);
        assert_eq!(riders, [(1, 0), (8, 4)]);
        assert_eq!(
            rides,
            [true, false, false, false, false, false, false, true, false]
        );
    }
}
