//! Perfetto protobuf traces (`.pftrace`, format `perfetto-proto`) → model.
//!
//! A trace is a sequence of `Trace.packet` entries (field 1, length
//! delimited). Of each `TracePacket` this reads the TrackEvent data model
//! (decoded with prost from our own subset, `protos/perfetto_subset.proto`;
//! field numbers are upstream's):
//!
//! - `TrackDescriptor`s (read in a first pass, so events may precede their
//!   descriptor): process, thread, counter (unit, `unit_multiplier`,
//!   `is_incremental`) and plain tracks, `parent_uuid` hierarchies, names,
//!   descriptions, sibling order. A descriptor repeated with the same uuid
//!   (the SDK re-emits them after each incremental-state clear) is read
//!   once. A thread track without `parent_uuid` hangs under the process
//!   track of its pid, as trace processor shows it.
//! - `TrackEvent`s: `TYPE_SLICE_BEGIN`/`END` (a stack per track),
//!   `TYPE_INSTANT`, `TYPE_COUNTER` (int or double, plus the `extra_*counter`
//!   values), `track_uuid` or the sequence's default track
//!   (`TracePacketDefaults.track_event_defaults`), names and categories
//!   inline or interned, `flow_ids` / `terminating_flow_ids` (and their
//!   `_old` forms), `correlation_id` (`correlation_id_str` becomes a number
//!   per distinct string), debug annotations of every value type (nested
//!   dicts and arrays, the older `nested_value`, `legacy_json_value`,
//!   interned string values; `pointer_value` as `0x…` text).
//! - Interned data and incremental state per `trusted_packet_sequence_id`:
//!   `SEQ_INCREMENTAL_STATE_CLEARED` (or `incremental_state_cleared`) resets
//!   the sequence's interning tables and defaults; a packet with
//!   `SEQ_NEEDS_INCREMENTAL_STATE` on a sequence whose state was never
//!   cleared (or was lost: `previous_packet_dropped`) is skipped and counted
//!   (`incremental_state_missing`), as trace processor does.
//! - Clocks: timestamps are read in the trace clock (`primary_trace_clock`
//!   of a `ClockSnapshot`, BOOTTIME when none says). A packet on another
//!   clock (`timestamp_clock_id`, or the sequence default) is converted
//!   with the `ClockSnapshot` that relates both clocks (the latest one at or
//!   before the value; sequence-scoped clocks 64–127 and incremental clocks
//!   with `unit_multiplier_ns` included). An event whose clock no snapshot
//!   relates to the trace clock is dropped and counted as
//!   `unconvertible_clock` (naming packet and field) — never given a
//!   made-up time.
//! - Packets of other data sources (ftrace, process stats, ...) are skipped
//!   and counted by kind: one `skipped_packets` warning per kind, naming the
//!   field and how many.
//! - Our own traces: the `provenance` instant of the `breakdown-trace`
//!   track gives back the original inputs (appended to the trace's inputs,
//!   with their format, size, records and `--shift`), the warning counts by
//!   kind and the timestamp shift the writer applied (undone); the
//!   `request record` and `gpu artifact` instants beside it give back the
//!   TensorRT-LLM request records and the GPU profiler artifacts. That track
//!   is consumed, not imported as a track.
//!
//! Errors name the file, the packet index and the field: a packet that is
//! cut (without `--salvage`; with it, the complete packets before the cut
//! are kept), a wrong wire type, an undecodable packet, a time beyond
//! ±2^62 ns. Unknown interning ids, unknown tracks, unmatched ends and
//! slices left open are warnings; a slice left open ends at the last event
//! of its track and carries `unfinished: true`, like the Chrome importer's.

use prost::Message;
use rustc_hash::FxHashMap;

use super::Input;
use crate::error::{InputError, Position, Result};
use crate::model::{
    gpu, ArgValue, Args, Counter, CounterUnit, Field, Flow, InputInfo, Location, Request,
    RequestKind, Slice, SliceId, SliceKind, Stamp, StrId, Trace, Track, TrackId, TrackKind,
    Warning,
};
use crate::perfetto::proto::{
    counter_descriptor, debug_annotation, trace_packet, track_descriptor, track_event,
    ClockSnapshot, DebugAnnotation, TracePacket, TrackDescriptor, TrackEvent,
};

const SEQ_INCREMENTAL_STATE_CLEARED: u32 = 1;
const SEQ_NEEDS_INCREMENTAL_STATE: u32 = 2;
/// Perfetto's default trace clock.
const BOOTTIME: u32 = 6;
/// Times are limited to ±2^62 ns (see the README's error rules).
const TIME_LIMIT: u64 = 1 << 62;

/// Name of the track the writer records its provenance on.
pub const PROVENANCE_TRACK: &str = "breakdown-trace";
/// Instant names on that track.
pub const PROVENANCE: &str = "provenance";
pub const REQUEST_RECORD: &str = "request record";
pub const GPU_ARTIFACT: &str = "gpu artifact";

/// Whether `bytes` look like a Perfetto protobuf trace: it starts with a
/// `Trace.packet` key (0x0a) and its first packets (up to 8, or up to a cut
/// at the end of the data) are well-formed protobuf messages.
pub fn looks_like(bytes: &[u8]) -> bool {
    if bytes.first() != Some(&0x0a) {
        return false;
    }
    let mut pos = 0;
    let mut seen = 0;
    while pos < bytes.len() && seen < 8 {
        match next_packet(bytes, pos) {
            Ok(Some((start, end))) => {
                if !well_formed(&bytes[start..end], 0) {
                    return false;
                }
                seen += 1;
                pos = end;
            }
            Ok(None) => {
                pos = bytes.len();
            }
            Err(_) => return seen > 0,
        }
    }
    seen > 0
}

/// A fully well-formed field sequence (nested messages are not checked).
fn well_formed(mut b: &[u8], _depth: u32) -> bool {
    while !b.is_empty() {
        let Some((key, n)) = varint(b) else {
            return false;
        };
        b = &b[n..];
        if key >> 3 == 0 {
            return false;
        }
        match key & 7 {
            0 => match varint(b) {
                Some((_, n)) => b = &b[n..],
                None => return false,
            },
            1 if b.len() >= 8 => b = &b[8..],
            5 if b.len() >= 4 => b = &b[4..],
            2 => match varint(b) {
                Some((len, n)) if (len as usize) <= b.len() - n => b = &b[n + len as usize..],
                _ => return false,
            },
            _ => return false,
        }
    }
    true
}

/// A varint at the start of `b`: (value, bytes used).
fn varint(b: &[u8]) -> Option<(u64, usize)> {
    let mut v = 0u64;
    for (i, &byte) in b.iter().enumerate().take(10) {
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte & 0x80 == 0 {
            return Some((v, i + 1));
        }
    }
    None
}

/// Why the top-level packet sequence stops early.
#[derive(Debug)]
enum Cut {
    /// The data ends inside a key, a length or a packet.
    Truncated(String),
    /// Not a length-delimited `packet` field, or an invalid key.
    Malformed(String),
}

/// The next `Trace.packet` at or after `pos`: byte range of its payload.
/// Other top-level fields (none are defined) are skipped.
fn next_packet(b: &[u8], mut pos: usize) -> std::result::Result<Option<(usize, usize)>, Cut> {
    while pos < b.len() {
        let (key, n) = varint(&b[pos..]).ok_or_else(|| {
            if b.len() - pos < 10 {
                Cut::Truncated("the data ends inside a field key".into())
            } else {
                Cut::Malformed("a field key is not a valid varint".into())
            }
        })?;
        pos += n;
        let (field, wire) = (key >> 3, key & 7);
        if field == 0 {
            return Err(Cut::Malformed("field number 0 is invalid".into()));
        }
        let skip = |pos: usize, len: usize| -> std::result::Result<usize, Cut> {
            if len > b.len() - pos {
                Err(Cut::Truncated(format!(
                    "field {field} needs {len} bytes, {} remain",
                    b.len() - pos
                )))
            } else {
                Ok(pos + len)
            }
        };
        match wire {
            2 => {
                let (len, n) = varint(&b[pos..]).ok_or_else(|| {
                    Cut::Truncated("the data ends inside a packet's length".into())
                })?;
                let start = pos + n;
                let len = usize::try_from(len).unwrap_or(usize::MAX);
                if len > b.len() - start {
                    return Err(Cut::Truncated(format!(
                        "the packet declares {len} bytes, {} remain",
                        b.len() - start
                    )));
                }
                if field == 1 {
                    return Ok(Some((start, start + len)));
                }
                pos = start + len;
            }
            _ if field == 1 => {
                return Err(Cut::Malformed(format!(
                    "field 1 (`Trace.packet`) has wire type {wire}, expected 2 (length-delimited)"
                )))
            }
            0 => {
                let (_, n) = varint(&b[pos..])
                    .ok_or_else(|| Cut::Truncated("the data ends inside a varint".into()))?;
                pos += n;
            }
            1 => pos = skip(pos, 8)?,
            5 => pos = skip(pos, 4)?,
            w => {
                return Err(Cut::Malformed(format!(
                    "field {field} has the invalid wire type {w}"
                )))
            }
        }
    }
    Ok(None)
}

/// Names of TracePacket data fields we skip, for the `skipped_packets`
/// warning (field numbers from upstream's trace_packet.proto).
fn packet_kind(field: u64) -> &'static str {
    match field {
        1 => "ftrace_events",
        2 => "process_tree",
        4 => "inode_file_map",
        5 => "chrome_events",
        7 => "sys_stats",
        9 => "process_stats",
        33 => "trace_config",
        34 => "ftrace_stats",
        35 => "trace_stats",
        36 => "synchronization_marker",
        37 => "profile_packet",
        39 => "android_log",
        43 => "process_descriptor",
        44 => "thread_descriptor",
        45 => "system_info",
        49 => "perfetto_metatrace",
        50 => "compressed_packets",
        51 => "chrome_metadata",
        54 => "streaming_profile_packet",
        66 => "perf_sample",
        67 => "cpu_info",
        69 => "service_event",
        72 => "extension_descriptor",
        89 => "trace_uuid",
        _ => "other",
    }
}

/// TracePacket fields that are not data of their own.
fn is_envelope_field(field: u64) -> bool {
    matches!(
        field,
        3 | 8 | 10 | 12 | 13 | 41 | 42 | 58 | 59 | 79 | 87 | 98
    )
}

/// The first data field of an encoded packet we do not read.
fn other_data_field(mut b: &[u8]) -> Option<u64> {
    while !b.is_empty() {
        let (key, n) = varint(b)?;
        b = &b[n..];
        let field = key >> 3;
        if !is_envelope_field(field) {
            return Some(field);
        }
        match key & 7 {
            0 => b = &b[varint(b)?.1..],
            1 => b = b.get(8..)?,
            5 => b = b.get(4..)?,
            2 => {
                let (len, n) = varint(b)?;
                b = b.get(n + len as usize..)?;
            }
            _ => return None,
        }
    }
    None
}

/// A clock a `ClockSnapshot` defined.
#[derive(Clone, Copy, Debug)]
struct ClockDef {
    incremental: bool,
    multiplier: u64,
}

/// One snapshot: (clock key, value in ns of that clock).
type Snapshot = Vec<(ClockKey, i128)>;

/// Global clocks are keyed with sequence 0; sequence-scoped ones (64..=127)
/// with their sequence id + 1.
type ClockKey = (u64, u32);

fn clock_key(seq: u32, id: u32) -> ClockKey {
    if (64..=127).contains(&id) {
        (u64::from(seq) + 1, id)
    } else {
        (0, id)
    }
}

/// Per-sequence incremental state.
#[derive(Default)]
struct Seq {
    /// Incremental state was cleared at least once and not lost since.
    valid: bool,
    names: FxHashMap<u64, StrId>,
    categories: FxHashMap<u64, StrId>,
    ann_names: FxHashMap<u64, String>,
    strings: FxHashMap<u64, String>,
    correlation_strs: FxHashMap<u64, String>,
    default_track: Option<u64>,
    default_clock: Option<u32>,
    extra_counters: Vec<u64>,
    extra_double_counters: Vec<u64>,
}

impl Seq {
    fn clear(&mut self) {
        *self = Seq {
            valid: true,
            ..Default::default()
        };
    }
}

/// A track as read: its model id and what counters on it need.
struct TrackInfo {
    id: TrackId,
    multiplier: f64,
    incremental: bool,
    /// Running value of an incremental counter.
    total: f64,
}

/// The annotations of one event, decoded.
enum Value {
    Int(i64),
    Uint(u64),
    Real(f64),
    Bool(bool),
    Str(String),
    /// JSON text (a `legacy_json_value` that parses).
    Json(String),
    Dict(Vec<(String, Value)>),
    Array(Vec<Value>),
}

struct Importer<'a> {
    trace: &'a mut Trace,
    input: u32,
    path: &'a std::path::Path,
    seqs: FxHashMap<u32, Seq>,
    tracks: FxHashMap<u64, TrackInfo>,
    /// Open slices per model track.
    open: FxHashMap<TrackId, Vec<SliceId>>,
    /// Latest event time per model track (where unfinished slices end).
    last_ts: FxHashMap<TrackId, i64>,
    /// In-flight flows: id → source slice.
    flows_in_flight: FxHashMap<u64, SliceId>,
    flows: Vec<(u64, usize, Flow)>,
    correlation_strs: FxHashMap<String, u64>,
    trace_clock: u32,
    clocks: FxHashMap<ClockKey, ClockDef>,
    snapshots: Vec<Snapshot>,
    /// Running values of incremental clocks (raw units).
    incremental: FxHashMap<ClockKey, u64>,
    skipped: std::collections::BTreeMap<u64, u64>,
    /// JSON text of nested args, pushed to `trace.blobs` at the end.
    blob: String,
    blob_index: u32,
    /// The writer's provenance, when the trace is ours.
    prov: Option<ProvenanceTrack>,
    /// Records read from the provenance track.
    request_records: Vec<(u64, Vec<(String, Value)>)>,
    artifact_records: Vec<Vec<(String, Value)>>,
    client_records: Vec<Vec<(String, Value)>>,
    iteration_records: Vec<Vec<(String, Value)>>,
    warning_records: Vec<Vec<(String, Value)>>,
    packet: u64,
    first_slice: usize,
    first_counter: usize,
}

struct ProvenanceTrack {
    uuid: u64,
    track: TrackId,
    shift: i64,
    /// Index of the first original input in `trace.provenance.inputs`.
    first_input: u32,
}

/// Reads one Perfetto protobuf trace into `trace` as input `index`.
pub fn import(trace: &mut Trace, index: u32, input: &Input, salvage: bool) -> Result<()> {
    let bytes = &input.bytes;
    let path = input.path.as_path();
    let err = |pos: Position, field: Option<String>, msg: String| InputError {
        path: path.to_owned(),
        position: pos,
        field,
        message: msg,
    };
    // Split into packets; a cut ends the list (an error without --salvage).
    let mut packets: Vec<(usize, usize)> = Vec::new();
    let mut pos = 0;
    loop {
        match next_packet(bytes, pos) {
            Ok(Some((s, e))) => {
                packets.push((s, e));
                pos = e;
            }
            Ok(None) => break,
            Err(Cut::Truncated(why)) if salvage => {
                trace.warnings.push(Warning {
                    kind: "truncated_input",
                    input: index,
                    location: Location::Index(packets.len() as u64),
                    field: String::new(),
                    message: format!(
                        "salvaged {} complete packet{} of {} (cut at byte {pos}: {why})",
                        packets.len(),
                        if packets.len() == 1 { "" } else { "s" },
                        path.display()
                    ),
                });
                break;
            }
            Err(Cut::Truncated(why)) => {
                return Err(err(
                    Position::Packet(packets.len() as u64),
                    None,
                    format!(
                        "{why}: the file looks truncated at byte {pos}; {} complete packets precede the cut (--salvage keeps them)",
                        packets.len()
                    ),
                )
                .into())
            }
            Err(Cut::Malformed(why)) => {
                return Err(err(
                    Position::Packet(packets.len() as u64),
                    None,
                    format!("not a Perfetto trace packet at byte {pos}: {why}"),
                )
                .into())
            }
        }
    }
    let decode = |i: usize| -> std::result::Result<TracePacket, InputError> {
        let (s, e) = packets[i];
        TracePacket::decode(&bytes[s..e]).map_err(|fault| {
            let msg = fault.to_string();
            let msg = msg
                .strip_prefix("failed to decode Protobuf message: ")
                .unwrap_or(&msg);
            // prost names the path as `Message.field: Message.field: why`;
            // the `data` oneof is named after the field the packet has.
            let parts: Vec<&str> = msg.split(": ").collect();
            let n = parts
                .iter()
                .take_while(|p| p.contains('.') && !p.contains(' '))
                .count();
            let data = if has_field(&bytes[s..e], &[11]) {
                "TracePacket.track_event"
            } else {
                "TracePacket.track_descriptor"
            };
            let path: Vec<&str> = parts[..n]
                .iter()
                .map(|p| if *p == "TracePacket.data" { data } else { p })
                .collect();
            let field = (n > 0).then(|| path.join(" → "));
            let why = parts[n..].join(": ");
            err(
                Position::Packet(i as u64),
                field,
                format!("not a valid TracePacket: {why}"),
            )
        })
    };

    let blob_index = trace.blobs.len() as u32;
    let mut im = Importer {
        trace,
        input: index,
        path,
        seqs: FxHashMap::default(),
        tracks: FxHashMap::default(),
        open: FxHashMap::default(),
        last_ts: FxHashMap::default(),
        flows_in_flight: FxHashMap::default(),
        flows: Vec::new(),
        correlation_strs: FxHashMap::default(),
        trace_clock: BOOTTIME,
        clocks: FxHashMap::default(),
        snapshots: Vec::new(),
        incremental: FxHashMap::default(),
        skipped: Default::default(),
        blob: String::new(),
        blob_index,
        prov: None,
        request_records: Vec::new(),
        artifact_records: Vec::new(),
        client_records: Vec::new(),
        iteration_records: Vec::new(),
        warning_records: Vec::new(),
        packet: 0,
        first_slice: 0,
        first_counter: 0,
    };
    im.first_slice = im.trace.slices.len();
    im.first_counter = im.trace.counters.len();

    // Pass 1: track descriptors and clock snapshots (cheap: only those
    // packets are decoded).
    let mut descriptors: Vec<TrackDescriptor> = Vec::new();
    for i in 0..packets.len() {
        let (s, e) = packets[i];
        let b = &bytes[s..e];
        if !has_field(b, &[60, 6]) {
            continue;
        }
        let p = decode(i)?;
        if let Some(trace_packet::Data::TrackDescriptor(d)) = p.data {
            descriptors.push(d);
        }
        if let Some(c) = p.clock_snapshot {
            if let Some(p) = c.primary_trace_clock {
                im.trace_clock = p;
            }
        }
    }
    im.add_tracks(descriptors);

    // Pass 2: everything in file order.
    for i in 0..packets.len() {
        im.packet = i as u64;
        let (s, e) = packets[i];
        let p = decode(i)?;
        im.packet_(p, &bytes[s..e])?;
    }
    im.finish(packets.len() as u64);
    Ok(())
}

/// Whether an encoded message has a top-level field in `fields`.
fn has_field(mut b: &[u8], fields: &[u64]) -> bool {
    while !b.is_empty() {
        let Some((key, n)) = varint(b) else {
            return false;
        };
        b = &b[n..];
        if fields.contains(&(key >> 3)) {
            return true;
        }
        let next = match key & 7 {
            0 => varint(b).map(|(_, n)| n),
            1 => Some(8),
            5 => Some(4),
            2 => varint(b).map(|(len, n)| n + len as usize),
            _ => None,
        };
        match next.and_then(|n| b.get(n..)) {
            Some(rest) => b = rest,
            None => return false,
        }
    }
    false
}

impl Importer<'_> {
    fn warn(&mut self, kind: &'static str, field: &str, message: String) {
        self.trace.warnings.push(Warning {
            kind,
            input: self.input,
            location: Location::Index(self.packet),
            field: field.to_owned(),
            message: format!("packet {}: {message}", self.packet),
        });
    }

    fn error(&self, field: &str, message: String) -> InputError {
        InputError {
            path: self.path.to_owned(),
            position: Position::Packet(self.packet),
            field: Some(field.to_owned()),
            message,
        }
    }

    /// Creates the model tracks of the descriptors, in file order.
    fn add_tracks(&mut self, descriptors: Vec<TrackDescriptor>) {
        let mut read: Vec<(u64, Option<u64>, TrackId)> = Vec::new();
        for d in descriptors {
            let Some(uuid) = d.uuid else {
                self.warn(
                    "track_without_uuid",
                    "TrackDescriptor.uuid",
                    "a track descriptor without uuid is ignored".into(),
                );
                continue;
            };
            if self.tracks.contains_key(&uuid) {
                continue;
            }
            let dyn_name = match &d.static_or_dynamic_name {
                Some(track_descriptor::StaticOrDynamicName::Name(n))
                | Some(track_descriptor::StaticOrDynamicName::StaticName(n))
                | Some(track_descriptor::StaticOrDynamicName::AtraceName(n)) => Some(n.clone()),
                None => None,
            };
            let mut multiplier = 1.0;
            let mut incremental = false;
            let (kind, name) = if let Some(t) = &d.thread {
                let name = t.thread_name.clone().or(dyn_name).unwrap_or_default();
                (
                    TrackKind::Thread {
                        pid: t.pid.unwrap_or(0),
                        tid: t.tid.unwrap_or(0),
                        sort_index: t.legacy_sort_index,
                    },
                    name,
                )
            } else if let Some(p) = &d.process {
                let name = p.process_name.clone().or(dyn_name).unwrap_or_default();
                (
                    TrackKind::Process {
                        pid: p.pid.unwrap_or(0),
                        labels: p.process_labels.clone(),
                        sort_index: p.legacy_sort_index,
                    },
                    name,
                )
            } else if let Some(c) = &d.counter {
                use counter_descriptor::Unit;
                let unit = match (
                    c.unit_name.clone(),
                    c.unit.and_then(|u| Unit::try_from(u).ok()),
                ) {
                    (Some(n), _) => CounterUnit::Other(n),
                    (None, Some(Unit::TimeNs)) => CounterUnit::TimeNs,
                    (None, Some(Unit::Count)) => CounterUnit::Count,
                    (None, Some(Unit::SizeBytes)) => CounterUnit::Bytes,
                    (None, _) => CounterUnit::Other(String::new()),
                };
                if let Some(m) = c.unit_multiplier.filter(|&m| m != 0 && m != 1) {
                    multiplier = m as f64;
                }
                incremental = c.is_incremental == Some(true);
                (TrackKind::Counter { unit }, dyn_name.unwrap_or_default())
            } else {
                (TrackKind::Plain, dyn_name.unwrap_or_default())
            };
            let name = self.trace.intern(&name);
            let mut t = Track::new(name, None, kind);
            t.description = d.description.clone();
            t.rank = d.sibling_order_rank;
            t.explicit_child_order =
                d.child_ordering == Some(track_descriptor::ChildTracksOrdering::Explicit as i32);
            let id = self.trace.add_track(t);
            self.tracks.insert(
                uuid,
                TrackInfo {
                    id,
                    multiplier,
                    incremental,
                    total: 0.0,
                },
            );
            read.push((uuid, d.parent_uuid, id));
        }
        // Parents (any order in the file), then threads under their process.
        let mut process_of_pid: FxHashMap<i32, TrackId> = FxHashMap::default();
        for t in read.iter().map(|r| r.2) {
            if let TrackKind::Process { pid, .. } = self.trace.tracks[t.index()].kind {
                process_of_pid.entry(pid).or_insert(t);
            }
        }
        for (uuid, parent, id) in read {
            let parent = match parent {
                Some(p) => match self.tracks.get(&p) {
                    Some(info) if info.id != id => Some(info.id),
                    _ => {
                        self.warn(
                            "unknown_parent_track",
                            "TrackDescriptor.parent_uuid",
                            format!("track {uuid} names parent {p}, which no descriptor defines"),
                        );
                        None
                    }
                },
                None => match self.trace.tracks[id.index()].kind {
                    TrackKind::Thread { pid, .. } => process_of_pid.get(&pid).copied(),
                    _ => None,
                },
            };
            self.trace.tracks[id.index()].parent = parent;
        }
        // A cycle of parents would loop forever in track_path: break it.
        for i in 0..self.trace.tracks.len() {
            let mut seen = 0usize;
            let mut t = TrackId(i as u32);
            while let Some(p) = self.trace.tracks[t.index()].parent {
                seen += 1;
                if seen > self.trace.tracks.len() {
                    self.trace.tracks[i].parent = None;
                    self.warn(
                        "parent_track_cycle",
                        "TrackDescriptor.parent_uuid",
                        "track parents form a cycle; one link was dropped".into(),
                    );
                    break;
                }
                t = p;
            }
        }
        // Lanes: a plain track under a thread or process track that carries
        // its parent's name (or is its `(profiler artifacts)` lane) is a lane
        // of it, as the layout made them.
        for i in 0..self.trace.tracks.len() {
            let t = &self.trace.tracks[i];
            let Some(p) = t.parent else { continue };
            let parent = &self.trace.tracks[p.index()];
            if t.kind != TrackKind::Plain
                || !matches!(
                    parent.kind,
                    TrackKind::Thread { .. } | TrackKind::Process { .. }
                )
            {
                continue;
            }
            let (name, pname) = (self.trace.str(t.name), self.trace.str(parent.name));
            let artifacts = name.strip_suffix(" (profiler artifacts)") == Some(pname);
            if name == pname || artifacts {
                let rank = t.rank.unwrap_or(0) as u32;
                self.trace.tracks[i].lane_of = Some((p, rank));
            }
        }
    }

    /// The model time of a packet's timestamp, or `None` (counted) when it
    /// cannot be converted to the trace clock.
    fn time(
        &mut self,
        seq_id: u32,
        p: &TracePacket,
    ) -> std::result::Result<Option<i64>, InputError> {
        let Some(raw) = p.timestamp else {
            self.warn(
                "missing_timestamp",
                "TracePacket.timestamp",
                "an event without timestamp is dropped".into(),
            );
            return Ok(None);
        };
        let seq_clock = self.seqs.get(&seq_id).and_then(|s| s.default_clock);
        let clock = p
            .timestamp_clock_id
            .or(seq_clock)
            .unwrap_or(self.trace_clock);
        let ns: i128 = if clock == self.trace_clock {
            i128::from(raw)
        } else {
            let key = clock_key(seq_id, clock);
            let Some(def) = self.clocks.get(&key).copied() else {
                self.warn(
                    "unconvertible_clock",
                    "TracePacket.timestamp_clock_id",
                    format!(
                        "clock {clock} is not related to the trace clock {} by any ClockSnapshot; the event is dropped",
                        self.trace_clock
                    ),
                );
                return Ok(None);
            };
            let value = if def.incremental {
                let v = self.incremental.entry(key).or_insert(0);
                *v = v.wrapping_add(raw);
                *v
            } else {
                raw
            };
            let in_clock = i128::from(value) * i128::from(def.multiplier.max(1));
            let trace_key = clock_key(seq_id, self.trace_clock);
            // The latest snapshot at or before this value that has both.
            let mut best: Option<(i128, i128)> = None;
            let mut first: Option<(i128, i128)> = None;
            for s in &self.snapshots {
                let a = s.iter().find(|(k, _)| *k == key).map(|x| x.1);
                let b = s.iter().find(|(k, _)| *k == trace_key).map(|x| x.1);
                if let (Some(a), Some(b)) = (a, b) {
                    first.get_or_insert((a, b));
                    if a <= in_clock && best.is_none_or(|(ba, _)| a >= ba) {
                        best = Some((a, b));
                    }
                }
            }
            let Some((a, b)) = best.or(first) else {
                self.warn(
                    "unconvertible_clock",
                    "TracePacket.timestamp_clock_id",
                    format!(
                        "no ClockSnapshot relates clock {clock} to the trace clock {}; the event is dropped",
                        self.trace_clock
                    ),
                );
                return Ok(None);
            };
            in_clock - a + b
        };
        if ns.unsigned_abs() > u128::from(TIME_LIMIT) {
            return Err(self.error(
                "TracePacket.timestamp",
                format!("{ns} is out of range (times are limited to ±2^62 ns, about ±146 years)"),
            ));
        }
        Ok(Some(ns as i64))
    }

    fn snapshot(&mut self, seq_id: u32, c: &ClockSnapshot) {
        let mut snap = Vec::new();
        for k in &c.clocks {
            let (Some(id), Some(ts)) = (k.clock_id, k.timestamp) else {
                continue;
            };
            let key = clock_key(seq_id, id);
            let def = ClockDef {
                incremental: k.is_incremental == Some(true),
                multiplier: k.unit_multiplier_ns.unwrap_or(1).max(1),
            };
            self.clocks.insert(key, def);
            if def.incremental {
                self.incremental.insert(key, ts);
            }
            snap.push((key, i128::from(ts) * i128::from(def.multiplier)));
        }
        // The trace clock is also known under the global key when
        // sequences ask with their own key.
        self.snapshots.push(snap);
    }

    fn packet_(&mut self, p: TracePacket, raw: &[u8]) -> std::result::Result<(), InputError> {
        let seq_id = match p.optional_trusted_packet_sequence_id {
            Some(trace_packet::OptionalTrustedPacketSequenceId::TrustedPacketSequenceId(s)) => s,
            None => 0,
        };
        let flags = p.sequence_flags.unwrap_or(0);
        let seq = self.seqs.entry(seq_id).or_default();
        if flags & SEQ_INCREMENTAL_STATE_CLEARED != 0 || p.incremental_state_cleared == Some(true) {
            seq.clear();
        } else if p.previous_packet_dropped == Some(true) {
            seq.valid = false;
        }
        if flags & SEQ_NEEDS_INCREMENTAL_STATE != 0 && !seq.valid {
            self.warn(
                "incremental_state_missing",
                "TracePacket.sequence_flags",
                format!(
                    "sequence {seq_id} needs incremental state that was never set (or was lost); packet skipped"
                ),
            );
            return Ok(());
        }
        if let Some(d) = &p.trace_packet_defaults {
            if let Some(c) = d.timestamp_clock_id {
                seq.default_clock = Some(c);
            }
            if let Some(t) = &d.track_event_defaults {
                seq.default_track = t.track_uuid;
                seq.extra_counters = t.extra_counter_track_uuids.clone();
                seq.extra_double_counters = t.extra_double_counter_track_uuids.clone();
            }
        }
        if let Some(i) = &p.interned_data {
            for n in &i.event_names {
                let id = self.trace.strings.intern(n.name.as_deref().unwrap_or(""));
                let seq = self.seqs.get_mut(&seq_id).expect("inserted above");
                seq.names.insert(n.iid.unwrap_or(0), id);
            }
            for n in &i.event_categories {
                let id = self.trace.strings.intern(n.name.as_deref().unwrap_or(""));
                let seq = self.seqs.get_mut(&seq_id).expect("inserted above");
                seq.categories.insert(n.iid.unwrap_or(0), id);
            }
            let seq = self.seqs.get_mut(&seq_id).expect("inserted above");
            for n in &i.debug_annotation_names {
                seq.ann_names
                    .insert(n.iid.unwrap_or(0), n.name.clone().unwrap_or_default());
            }
            for n in &i.debug_annotation_string_values {
                let s = String::from_utf8_lossy(n.str.as_deref().unwrap_or(b"")).into_owned();
                seq.strings.insert(n.iid.unwrap_or(0), s);
            }
            for n in &i.correlation_id_str {
                let s = String::from_utf8_lossy(n.str.as_deref().unwrap_or(b"")).into_owned();
                seq.correlation_strs.insert(n.iid.unwrap_or(0), s);
            }
        }
        if let Some(c) = &p.clock_snapshot {
            self.snapshot(seq_id, c);
        }
        match p.data {
            Some(trace_packet::Data::TrackEvent(ref e)) => self.event(seq_id, &p, e)?,
            Some(trace_packet::Data::TrackDescriptor(_)) => {}
            None if p.clock_snapshot.is_some() => {}
            None => {
                if let Some(f) = other_data_field(raw) {
                    *self.skipped.entry(f).or_insert(0) += 1;
                }
            }
        }
        Ok(())
    }

    fn track_of(&mut self, uuid: u64) -> TrackId {
        if let Some(t) = self.tracks.get(&uuid) {
            return t.id;
        }
        self.warn(
            "unknown_track",
            "TrackEvent.track_uuid",
            format!(
                "no descriptor defines track {uuid}; a track named `track {uuid}` holds its events"
            ),
        );
        let name = self.trace.intern(&format!("track {uuid}"));
        let id = self
            .trace
            .add_track(Track::new(name, None, TrackKind::Plain));
        self.tracks.insert(
            uuid,
            TrackInfo {
                id,
                multiplier: 1.0,
                incremental: false,
                total: 0.0,
            },
        );
        id
    }

    fn event(
        &mut self,
        seq_id: u32,
        p: &TracePacket,
        e: &TrackEvent,
    ) -> std::result::Result<(), InputError> {
        use track_event::Type;
        if e.timestamp.is_some() && p.timestamp.is_none() {
            self.warn(
                "legacy_timestamp",
                "TrackEvent.timestamp_delta_us",
                "microsecond TrackEvent timestamps (the older SDK's) are not read; event dropped"
                    .into(),
            );
            return Ok(());
        }
        let Some(ts) = self.time(seq_id, p)? else {
            return Ok(());
        };
        let seq = self.seqs.get(&seq_id).expect("packet_ inserted it");
        let uuid = e.track_uuid.or(seq.default_track);
        let ty = e
            .r#type
            .and_then(|t| Type::try_from(t).ok())
            .unwrap_or(Type::Unspecified);
        // Extra counter values ride on any event.
        let extra: Vec<(u64, f64)> = {
            let ints = if e.extra_counter_track_uuids.is_empty() {
                &seq.extra_counters
            } else {
                &e.extra_counter_track_uuids
            };
            let dbls = if e.extra_double_counter_track_uuids.is_empty() {
                &seq.extra_double_counters
            } else {
                &e.extra_double_counter_track_uuids
            };
            ints.iter()
                .zip(&e.extra_counter_values)
                .map(|(&u, &v)| (u, v as f64))
                .chain(
                    dbls.iter()
                        .zip(&e.extra_double_counter_values)
                        .map(|(&u, &v)| (u, v)),
                )
                .collect()
        };
        for (u, v) in extra {
            self.counter(u, ts, v);
        }
        let Some(uuid) = uuid else {
            if ty != Type::Unspecified {
                self.warn(
                    "no_track",
                    "TrackEvent.track_uuid",
                    "an event without track_uuid on a sequence without a default track is dropped"
                        .into(),
                );
            }
            return Ok(());
        };
        // Our provenance track's instants are records, not slices.
        if ty == Type::Instant {
            if self.prov.as_ref().is_some_and(|p| p.uuid == uuid) {
                return self.record(e);
            }
            if self.prov.is_none() && self.provenance(uuid, e) {
                return Ok(());
            }
        }
        match ty {
            Type::Counter => {
                let v = match e.counter_value_field {
                    Some(track_event::CounterValueField::CounterValue(v)) => v as f64,
                    Some(track_event::CounterValueField::DoubleCounterValue(v)) => v,
                    None => {
                        self.warn(
                            "counter_without_value",
                            "TrackEvent.counter_value",
                            "a counter event without value is dropped".into(),
                        );
                        return Ok(());
                    }
                };
                self.counter(uuid, ts, v);
            }
            Type::SliceEnd => {
                let track = self.track_of(uuid);
                self.touch(track, ts);
                let top = self.open.get_mut(&track).and_then(|s| s.pop());
                let Some(id) = top else {
                    self.warn(
                        "unmatched_end",
                        "TrackEvent.type",
                        "TYPE_SLICE_END without an open slice on its track".into(),
                    );
                    return Ok(());
                };
                let start = self.trace.slices[id.index()].ts;
                if ts < start {
                    self.warn(
                        "negative_duration",
                        "TracePacket.timestamp",
                        format!(
                            "TYPE_SLICE_END {} ns before its begin; duration kept at 0",
                            start - ts
                        ),
                    );
                } else {
                    self.trace.slices[id.index()].dur = ts - start;
                }
                self.flow_ids(e, id);
                if !e.debug_annotations.is_empty() {
                    // Annotations on the end merge into the slice.
                    let old = self.trace.slices[id.index()].args;
                    let args = self.args(seq_id, &e.debug_annotations, old);
                    self.trace.slices[id.index()].args = args;
                }
            }
            Type::SliceBegin | Type::Instant => {
                let track = self.track_of(uuid);
                self.touch(track, ts);
                let seq = self.seqs.get(&seq_id).expect("present");
                let name = match &e.name_field {
                    Some(track_event::NameField::Name(n)) => Ok(n.clone()),
                    Some(track_event::NameField::NameIid(i)) => match seq.names.get(i) {
                        Some(&id) => Err(id),
                        None => Ok(format!("(unknown name iid {i})")),
                    },
                    None => Ok(String::new()),
                };
                let unknown_name = matches!(&e.name_field, Some(track_event::NameField::NameIid(i)) if !seq.names.contains_key(i));
                let mut cats: Vec<String> = Vec::new();
                let mut unknown_cat = None;
                for c in &e.category_iids {
                    match seq.categories.get(c) {
                        Some(&id) => cats.push(self.trace.str(id).to_owned()),
                        None => unknown_cat = Some(*c),
                    }
                }
                cats.extend(e.categories.iter().cloned());
                let correlation = match &e.correlation_id_field {
                    Some(track_event::CorrelationIdField::CorrelationId(c)) => Some(*c),
                    Some(track_event::CorrelationIdField::CorrelationIdStr(s)) => {
                        Some(self.correlation_of(s.clone()))
                    }
                    Some(track_event::CorrelationIdField::CorrelationIdStrIid(i)) => {
                        match seq.correlation_strs.get(i).cloned() {
                            Some(s) => Some(self.correlation_of(s)),
                            None => {
                                self.warn(
                                    "unknown_interned_id",
                                    "TrackEvent.correlation_id_str_iid",
                                    format!("correlation string iid {i} is not interned on this sequence"),
                                );
                                None
                            }
                        }
                    }
                    None => None,
                };
                if unknown_name {
                    if let Some(track_event::NameField::NameIid(i)) = &e.name_field {
                        self.warn(
                            "unknown_interned_id",
                            "TrackEvent.name_iid",
                            format!("event name iid {i} is not interned on this sequence"),
                        );
                    }
                }
                if let Some(c) = unknown_cat {
                    self.warn(
                        "unknown_interned_id",
                        "TrackEvent.category_iids",
                        format!("category iid {c} is not interned on this sequence"),
                    );
                }
                let name = match name {
                    Ok(s) => self.trace.intern(&s),
                    Err(id) => id,
                };
                let category = match cats.len() {
                    0 => None,
                    1 => Some(self.trace.intern(&cats[0])),
                    _ => Some(self.trace.intern(&cats.join(","))),
                };
                let args = self.args(seq_id, &e.debug_annotations, Args::None);
                let id = self.trace.add_slice(Slice {
                    ts,
                    dur: 0,
                    track,
                    name,
                    category,
                    args,
                    correlation,
                    parent: None,
                    depth: 0,
                    kind: if ty == Type::Instant {
                        SliceKind::Instant
                    } else {
                        SliceKind::Span
                    },
                });
                if ty == Type::SliceBegin {
                    self.open.entry(track).or_default().push(id);
                }
                self.flow_ids(e, id);
            }
            Type::Unspecified => {
                self.warn(
                    "legacy_event",
                    "TrackEvent.type",
                    "an event without type (a legacy Chrome event) is not read".into(),
                );
            }
        }
        Ok(())
    }

    fn correlation_of(&mut self, s: String) -> u64 {
        let next = (1u64 << 62) + self.correlation_strs.len() as u64;
        *self.correlation_strs.entry(s).or_insert(next)
    }

    fn touch(&mut self, track: TrackId, ts: i64) {
        let t = self.last_ts.entry(track).or_insert(ts);
        *t = (*t).max(ts);
    }

    fn counter(&mut self, uuid: u64, ts: i64, v: f64) {
        let track = self.track_of(uuid);
        let info = self.tracks.get_mut(&uuid).expect("track_of inserted it");
        let mut v = v * info.multiplier;
        if info.incremental {
            info.total += v;
            v = info.total;
        }
        if !matches!(
            self.trace.tracks[track.index()].kind,
            TrackKind::Counter { .. }
        ) {
            self.warn(
                "counter_on_slice_track",
                "TrackEvent.track_uuid",
                format!("a counter value on track {uuid}, which is not a counter track; dropped"),
            );
            return;
        }
        self.trace.counters.push(Counter {
            track,
            ts,
            value: v,
        });
    }

    fn flow_ids(&mut self, e: &TrackEvent, slice: SliceId) {
        for &f in e.flow_ids.iter().chain(&e.flow_ids_old) {
            if let Some(from) = self.flows_in_flight.insert(f, slice) {
                let n = self.flows.len();
                self.flows.push((f, n, Flow { from, to: slice }));
            }
        }
        for &f in e
            .terminating_flow_ids
            .iter()
            .chain(&e.terminating_flow_ids_old)
        {
            match self.flows_in_flight.remove(&f) {
                Some(from) => {
                    let n = self.flows.len();
                    self.flows.push((f, n, Flow { from, to: slice }));
                }
                None => self.warn(
                    "flow_unmatched",
                    "TrackEvent.terminating_flow_ids",
                    format!("flow {f} terminates without having started"),
                ),
            }
        }
    }

    /// The args of an event: scalar annotations as a list; any nesting makes
    /// the whole set JSON text (flattened like Chrome args by every output).
    /// `old` args (of a slice's begin) come first.
    fn args(&mut self, seq_id: u32, anns: &[DebugAnnotation], old: Args) -> Args {
        let mut vals: Vec<(String, Value)> =
            old_values(self.trace, old, (self.blob_index, &self.blob));
        for a in anns {
            let seq = self.seqs.get(&seq_id).expect("present");
            let name = match &a.name_field {
                Some(debug_annotation::NameField::Name(n)) => n.clone(),
                Some(debug_annotation::NameField::NameIid(i)) => match seq.ann_names.get(i) {
                    Some(n) => n.clone(),
                    None => {
                        self.warn(
                            "unknown_interned_id",
                            "DebugAnnotation.name_iid",
                            format!("annotation name iid {i} is not interned on this sequence"),
                        );
                        format!("(unknown name iid {i})")
                    }
                },
                None => String::new(),
            };
            if let Some(v) = self.value(seq_id, a, 1) {
                vals.push((name, v));
            }
        }
        if vals.is_empty() {
            return Args::None;
        }
        let nested = vals
            .iter()
            .any(|(_, v)| matches!(v, Value::Dict(_) | Value::Array(_) | Value::Json(_)));
        if !nested {
            let list: Vec<(StrId, ArgValue)> = vals
                .into_iter()
                .map(|(k, v)| {
                    let key = self.trace.intern(&k);
                    let v = match v {
                        Value::Int(i) => ArgValue::Int(i),
                        Value::Uint(u) => ArgValue::Uint(u),
                        Value::Real(f) => ArgValue::Real(f),
                        Value::Bool(b) => ArgValue::Bool(b),
                        Value::Str(s) => ArgValue::Str(s),
                        _ => unreachable!("nested values take the JSON path"),
                    };
                    (key, v)
                })
                .collect();
            return self.trace.add_args(list);
        }
        let start = self.blob.len();
        self.blob.push('{');
        for (i, (k, v)) in vals.iter().enumerate() {
            if i > 0 {
                self.blob.push(',');
            }
            json_str(&mut self.blob, k);
            self.blob.push(':');
            json_value(&mut self.blob, v);
        }
        self.blob.push('}');
        let len = self.blob.len() - start;
        match u32::try_from(len) {
            Ok(len) => Args::Raw {
                blob: self.blob_index,
                start: start as u64,
                len,
            },
            Err(_) => {
                self.blob.truncate(start);
                self.warn(
                    "args_too_large",
                    "TrackEvent.debug_annotations",
                    "an event's annotations exceed 4 GiB as JSON; dropped".into(),
                );
                Args::None
            }
        }
    }

    fn value(&mut self, seq_id: u32, a: &DebugAnnotation, level: usize) -> Option<Value> {
        use debug_annotation::Value as V;
        let v = match &a.value {
            Some(V::BoolValue(b)) => Value::Bool(*b),
            Some(V::UintValue(u)) => Value::Uint(*u),
            Some(V::IntValue(i)) => Value::Int(*i),
            Some(V::DoubleValue(d)) => Value::Real(*d),
            Some(V::StringValue(s)) => Value::Str(s.clone()),
            Some(V::PointerValue(p)) => Value::Str(format!("0x{p:x}")),
            Some(V::StringValueIid(i)) => {
                match self.seqs.get(&seq_id).and_then(|s| s.strings.get(i)) {
                    Some(s) => Value::Str(s.clone()),
                    None => {
                        self.warn(
                            "unknown_interned_id",
                            "DebugAnnotation.string_value_iid",
                            format!("string value iid {i} is not interned on this sequence"),
                        );
                        return None;
                    }
                }
            }
            Some(V::LegacyJsonValue(j)) => {
                match serde_json::from_str::<&serde_json::value::RawValue>(j) {
                    Ok(_) => Value::Json(j.clone()),
                    Err(_) => Value::Str(j.clone()),
                }
            }
            Some(V::NestedValue(n)) => nested(n, level),
            None if !a.dict_entries.is_empty() => {
                let mut d = Vec::new();
                for e in &a.dict_entries {
                    let k = match &e.name_field {
                        Some(debug_annotation::NameField::Name(n)) => n.clone(),
                        Some(debug_annotation::NameField::NameIid(i)) => self
                            .seqs
                            .get(&seq_id)
                            .and_then(|s| s.ann_names.get(i).cloned())
                            .unwrap_or_else(|| format!("(unknown name iid {i})")),
                        None => String::new(),
                    };
                    if let Some(v) = self.value(seq_id, e, level + 1) {
                        d.push((k, v));
                    }
                }
                Value::Dict(d)
            }
            None if !a.array_values.is_empty() => Value::Array(
                a.array_values
                    .iter()
                    .filter_map(|e| self.value(seq_id, e, level + 1))
                    .collect(),
            ),
            None if a.proto_value.is_none() => {
                // An annotation without value: an empty dict or array (or
                // a null array element, as our writer keeps them): a place
                // that holds no arg, as `{}` is in JSON.
                Value::Dict(Vec::new())
            }
            None => {
                self.warn(
                    "proto_annotation",
                    "DebugAnnotation.proto_value",
                    "a proto-typed annotation value is not decoded; skipped".into(),
                );
                return None;
            }
        };
        // (A non-finite double nested in JSON args is written as a string
        // by `json_value`: JSON text cannot hold it.)
        Some(v)
    }

    /// Reads the writer's `provenance` instant (on a `breakdown-trace`
    /// track, annotated `tool: breakdown-trace`); false when `e` is not one.
    fn provenance(&mut self, uuid: u64, e: &TrackEvent) -> bool {
        let named =
            matches!(&e.name_field, Some(track_event::NameField::Name(n)) if n == PROVENANCE);
        let Some(info) = self.tracks.get(&uuid) else {
            return false;
        };
        let track = info.id;
        if !named || self.trace.str(self.trace.tracks[track.index()].name) != PROVENANCE_TRACK {
            return false;
        }
        let fields: Vec<(String, Value)> = e
            .debug_annotations
            .iter()
            .filter_map(|a| {
                let k = match &a.name_field {
                    Some(debug_annotation::NameField::Name(n)) => n.clone(),
                    _ => return None,
                };
                Some((k, self.value(0, a, 1)?))
            })
            .collect();
        let get = |k: &str| fields.iter().find(|(n, _)| n == k).map(|(_, v)| v);
        if !matches!(get("tool"), Some(Value::Str(t)) if t == "breakdown-trace") {
            return false;
        }
        let shift = match get("timestamp_shift_ns") {
            Some(Value::Int(i)) => *i,
            Some(Value::Uint(u)) => i64::try_from(*u).unwrap_or(0),
            _ => 0,
        };
        let first_input = self.trace.provenance.inputs.len() as u32;
        for (k, v) in &fields {
            if let (Some(_), Value::Dict(d)) = (k.strip_prefix("input_"), v) {
                let text = |key: &str| match d.iter().find(|(n, _)| n == key) {
                    Some((_, Value::Str(s))) => s.clone(),
                    _ => String::new(),
                };
                let num = |key: &str| match d.iter().find(|(n, _)| n == key) {
                    Some((_, Value::Uint(u))) => *u as i128,
                    Some((_, Value::Int(i))) => *i as i128,
                    _ => 0,
                };
                let name = match text("path") {
                    p if p.is_empty() => text("name"),
                    p => p,
                };
                let has = |key: &str| d.iter().any(|(n, _)| n == key);
                let raw = if has("uncompressed_bytes") {
                    num("uncompressed_bytes")
                } else {
                    num("bytes")
                };
                let anchor = match text("alignment").as_str() {
                    "shift" => Some(crate::model::align::Anchor::Shift(
                        num("alignment_ns") as i64
                    )),
                    "start_at" => Some(crate::model::align::Anchor::StartAt(
                        num("alignment_ns") as i64
                    )),
                    _ => None,
                };
                self.trace.provenance.inputs.push(InputInfo {
                    // A trace records file names only (no directories).
                    path: name.clone(),
                    name,
                    sha256: text("sha256"),
                    format: text("format"),
                    bytes: num("bytes") as u64,
                    raw_bytes: raw as u64,
                    records: num("records") as u64,
                    time_shift_ns: num("time_shift_ns") as i64,
                    anchor,
                    producer: None,
                    rank: has("rank").then(|| num("rank") as i64),
                    host: has("host").then(|| text("host")),
                    pid: has("pid").then(|| num("pid") as i64),
                });
            }
            if let ("warnings_by_kind", Value::Dict(d)) = (k.as_str(), v) {
                for (kind, n) in d {
                    let n = match n {
                        Value::Uint(u) => *u,
                        Value::Int(i) => (*i).max(0) as u64,
                        _ => 0,
                    };
                    self.trace.warnings.count(static_kind(kind), n);
                }
            }
        }
        // Where every recorded input agrees on its rank, host or pid (one
        // rank's trace, the usual case), the file read back says the same:
        // `process.rank`, `gpu_work.rank` and an export's columns then
        // survive the round trip.
        let recorded = &self.trace.provenance.inputs[first_input as usize..];
        let rank = agreed(recorded.iter().map(|i| i.rank));
        let host = agreed(recorded.iter().map(|i| i.host.clone()));
        let pid = agreed(recorded.iter().map(|i| i.pid));
        let own = &mut self.trace.provenance.inputs[self.input as usize];
        own.rank = own.rank.or(rank);
        own.host = own.host.take().or(host);
        own.pid = own.pid.or(pid);
        self.prov = Some(ProvenanceTrack {
            uuid,
            track,
            shift,
            first_input,
        });
        true
    }

    /// A `request record` or `gpu artifact` instant of our provenance track.
    fn record(&mut self, e: &TrackEvent) -> std::result::Result<(), InputError> {
        let name = match &e.name_field {
            Some(track_event::NameField::Name(n)) => n.as_str(),
            _ => "",
        };
        let fields: Vec<(String, Value)> = e
            .debug_annotations
            .iter()
            .filter_map(|a| {
                let k = match &a.name_field {
                    Some(debug_annotation::NameField::Name(n)) => n.clone(),
                    _ => return None,
                };
                Some((k, self.value(0, a, 1)?))
            })
            .collect();
        match name {
            REQUEST_RECORD => {
                let n = self.request_records.len() as u64;
                self.request_records.push((n, fields));
            }
            GPU_ARTIFACT => self.artifact_records.push(fields),
            "client record" => self.client_records.push(fields),
            "iteration record" => self.iteration_records.push(fields),
            "warning record" => self.warning_records.push(fields),
            _ => {}
        }
        Ok(())
    }

    fn finish(mut self, packets: u64) {
        self.trace.provenance.inputs[self.input as usize].records = packets;
        // Slices left open end at their track's last event.
        let open: Vec<(TrackId, Vec<SliceId>)> = self.open.drain().collect();
        let mut open: Vec<(TrackId, SliceId)> = open
            .into_iter()
            .flat_map(|(t, v)| v.into_iter().map(move |s| (t, s)))
            .collect();
        open.sort_by_key(|&(_, s)| s);
        for (t, id) in open {
            let end = self.last_ts.get(&t).copied().unwrap_or(0);
            let s = &self.trace.slices[id.index()];
            let dur = (end - s.ts).max(0);
            let name = self.trace.str(s.name).to_owned();
            let old = s.args;
            self.trace.slices[id.index()].dur = dur;
            let key = self.trace.intern("unfinished");
            let mut list: Vec<(String, Value)> =
                old_values(self.trace, old, (self.blob_index, &self.blob));
            list.push(("unfinished".into(), Value::Bool(true)));
            let _ = key;
            let args = self.args_from(list);
            self.trace.slices[id.index()].args = args;
            self.packet = 0;
            self.trace.warnings.push(Warning {
                kind: "unterminated_slice",
                input: self.input,
                location: Location::File,
                field: "TrackEvent.type".into(),
                message: format!(
                    "slice `{name}` begins but never ends; kept, ending at its track's last event (unfinished: true)"
                ),
            });
        }
        // Flows in flow-id order (the writer numbers them in model order).
        self.flows.sort_by_key(|&(id, n, _)| (id, n));
        self.trace
            .flows
            .extend(self.flows.drain(..).map(|(_, _, f)| f));
        for (field, n) in std::mem::take(&mut self.skipped) {
            self.trace.warnings.push(Warning {
                kind: "skipped_packets",
                input: self.input,
                location: Location::File,
                field: format!("TracePacket.{}", packet_kind(field)),
                message: format!(
                    "{n} packet{} of field {field} (`{}`) skipped: only TrackEvent data is read",
                    if n == 1 { "" } else { "s" },
                    packet_kind(field)
                ),
            });
        }
        if !self.blob.is_empty() || self.trace.blobs.len() == self.blob_index as usize {
            self.trace.blobs.push(std::mem::take(&mut self.blob));
        }
        if let Some(p) = self.prov.take() {
            self.ours(p);
        }
    }

    fn args_from(&mut self, vals: Vec<(String, Value)>) -> Args {
        // Reuse `args` with no annotations: build through the same path.
        let nested = vals
            .iter()
            .any(|(_, v)| matches!(v, Value::Dict(_) | Value::Array(_) | Value::Json(_)));
        if !nested {
            let l: Vec<(StrId, ArgValue)> = vals
                .into_iter()
                .filter_map(|(k, v)| {
                    let key = self.trace.intern(&k);
                    Some((
                        key,
                        match v {
                            Value::Int(i) => ArgValue::Int(i),
                            Value::Uint(u) => ArgValue::Uint(u),
                            Value::Real(f) => ArgValue::Real(f),
                            Value::Bool(b) => ArgValue::Bool(b),
                            Value::Str(s) => ArgValue::Str(s),
                            _ => return None,
                        },
                    ))
                })
                .collect();
            return self.trace.add_args(l);
        }
        let start = self.blob.len();
        self.blob.push('{');
        for (i, (k, v)) in vals.iter().enumerate() {
            if i > 0 {
                self.blob.push(',');
            }
            json_str(&mut self.blob, k);
            self.blob.push(':');
            json_value(&mut self.blob, v);
        }
        self.blob.push('}');
        Args::Raw {
            blob: self.blob_index,
            start: start as u64,
            len: (self.blob.len() - start) as u32,
        }
    }

    /// Our own trace: undo the writer's shift, rebuild requests and
    /// artifacts, drop the provenance track.
    fn ours(&mut self, p: ProvenanceTrack) {
        let (s0, c0) = (self.first_slice, self.first_counter);
        if p.shift != 0 {
            for s in &mut self.trace.slices[s0..] {
                s.ts = s.ts.saturating_sub(p.shift);
            }
            for c in &mut self.trace.counters[c0..] {
                c.ts = c.ts.saturating_sub(p.shift);
            }
        }
        // The provenance track holds no slices: drop it, renumbering.
        let gone = p.track;
        let holds = self.trace.slices[s0..].iter().any(|s| s.track == gone)
            || self.trace.counters[c0..].iter().any(|c| c.track == gone)
            || self.trace.tracks.iter().any(|t| t.parent == Some(gone));
        if !holds {
            let fix = |t: TrackId| if t > gone { TrackId(t.0 - 1) } else { t };
            self.trace.tracks.remove(gone.index());
            for t in &mut self.trace.tracks {
                t.parent = t.parent.map(fix);
                t.lane_of = t.lane_of.map(|(l, k)| (fix(l), k));
            }
            for s in &mut self.trace.slices {
                s.track = fix(s.track);
            }
            for c in &mut self.trace.counters {
                c.track = fix(c.track);
            }
            for info in self.tracks.values_mut() {
                info.id = fix(info.id);
            }
        }
        self.rebuild_requests(&p, s0);
        self.rebuild_artifacts(s0);
        self.rebuild_records(&p, s0);
    }

    /// Client benchmark records, iteration statistics and warning details.
    fn rebuild_records(&mut self, p: &ProvenanceTrack, s0: usize) {
        use crate::model::{
            ClientError, ClientRequest, ClientSource, ClientStatus, Iteration, Metric, MetricValue,
        };
        let own = self.input;
        let first = p.first_input;
        let originals = self.trace.provenance.inputs.len() as u32 - first;
        let input_of = |f: &[(String, Value)]| match field_int(f, "input")
            .and_then(|i| u32::try_from(i).ok())
        {
            Some(i) if i < originals => first + i,
            _ => own,
        };
        for f in std::mem::take(&mut self.client_records) {
            let source = match field_text(&f, "source").as_deref() {
                Some("aiperf_old") => ClientSource::AiperfOld,
                Some("vllm_bench") => ClientSource::VllmBench,
                _ => ClientSource::AiperfNew,
            };
            let mut c = ClientRequest::new(input_of(&f), location_of(&f), source);
            c.status = match field_text(&f, "status").as_deref() {
                Some("failed") => ClientStatus::Failed,
                Some("cancelled") => ClientStatus::Cancelled,
                _ => ClientStatus::Ok,
            };
            c.phase = field_text(&f, "phase");
            c.warmup = matches!(field(&f, "warmup"), Some(Value::Bool(true)));
            c.request_id = field_text(&f, "request_id");
            c.start_ns = field_int(&f, "start_ns");
            c.end_ns = field_int(&f, "end_ns");
            c.first_token_ns = field_int(&f, "first_token_ns");
            if let Some(Value::Array(a)) = field(&f, "chunk_ns") {
                c.chunk_ns = a.iter().filter_map(value_int).collect();
            }
            if let Some(Value::Dict(d)) = field(&f, "metadata") {
                c.metadata = d
                    .iter()
                    .filter_map(|(k, v)| Some((k.clone(), arg_value(v)?)))
                    .collect();
            }
            if let Some(Value::Array(a)) = field(&f, "metrics") {
                for m in a {
                    let Value::Dict(d) = m else { continue };
                    let value = match (field(d, "value"), field(d, "values")) {
                        (Some(v), _) => MetricValue::Number(value_f64(v).unwrap_or(f64::NAN)),
                        (None, Some(Value::Array(xs))) => {
                            MetricValue::List(xs.iter().filter_map(value_f64).collect())
                        }
                        // An empty list is written as an empty array,
                        // which reads as an empty container.
                        _ => MetricValue::List(Vec::new()),
                    };
                    c.metrics.push(Metric {
                        tag: field_text(d, "tag").unwrap_or_default(),
                        unit: field_text(d, "unit").unwrap_or_default(),
                        value,
                    });
                }
            }
            if let Some(Value::Dict(d)) = field(&f, "error") {
                c.error = Some(ClientError {
                    code: field_int(d, "code"),
                    kind: field_text(d, "kind"),
                    message: field_text(d, "message"),
                });
            }
            if let (Some(uuid), Some(ts)) =
                (field_int(&f, "slice_track"), field_int(&f, "slice_ts"))
            {
                if let Some(track) = self.tracks.get(&(uuid as u64)).map(|t| t.id) {
                    c.slice = (s0..self.trace.slices.len())
                        .find(|&i| {
                            let s = &self.trace.slices[i];
                            s.track == track && s.ts == ts
                        })
                        .map(|i| SliceId(i as u32));
                }
            }
            self.trace.client_requests.push(c);
        }
        for f in std::mem::take(&mut self.iteration_records) {
            let pairs = |v: Option<&Value>| -> Vec<(String, ArgValue)> {
                match v {
                    Some(Value::Dict(d)) => d
                        .iter()
                        .filter_map(|(k, v)| Some((k.clone(), arg_value(v)?)))
                        .collect(),
                    _ => Vec::new(),
                }
            };
            let it = Iteration {
                input: input_of(&f),
                location: location_of(&f),
                iter: field_int(&f, "iter"),
                timestamp_text: field_text(&f, "timestamp"),
                ts: field_int(&f, "ts"),
                fields: pairs(field(&f, "fields")),
                null_fields: match field(&f, "null_fields") {
                    Some(Value::Array(a)) => a
                        .iter()
                        .filter_map(|v| match v {
                            Value::Str(s) => Some(s.clone()),
                            _ => None,
                        })
                        .collect(),
                    _ => Vec::new(),
                },
                request_stats: match field(&f, "request_stats") {
                    Some(Value::Array(a)) => a.iter().map(|r| pairs(Some(r))).collect(),
                    _ => Vec::new(),
                },
            };
            self.trace.iterations.push(it);
        }
        for f in std::mem::take(&mut self.warning_records) {
            // Details only: the counts came with the provenance.
            self.trace.warnings.list.push(Warning {
                kind: static_kind(&field_text(&f, "kind").unwrap_or_default()),
                input: input_of(&f),
                location: location_of(&f),
                field: field_text(&f, "field").unwrap_or_default(),
                message: field_text(&f, "message").unwrap_or_default(),
            });
        }
    }

    fn rebuild_requests(&mut self, p: &ProvenanceTrack, s0: usize) {
        if self.request_records.is_empty() {
            return;
        }
        let mut by_corr: FxHashMap<u64, Vec<SliceId>> = FxHashMap::default();
        for (i, s) in self.trace.slices.iter().enumerate().skip(s0) {
            if let (Some(c), 0) = (s.correlation, s.depth) {
                by_corr.entry(c).or_default().push(SliceId(i as u32));
            }
        }
        for (n, f) in std::mem::take(&mut self.request_records) {
            let get = |k: &str| f.iter().find(|(name, _)| name == k).map(|(_, v)| v);
            let text = |k: &str| match get(k) {
                Some(Value::Str(s)) => Some(s.clone()),
                _ => None,
            };
            let int = |k: &str| match get(k) {
                Some(Value::Int(i)) => Some(*i),
                Some(Value::Uint(u)) => i64::try_from(*u).ok(),
                _ => None,
            };
            let label = text("label").unwrap_or_default();
            let location = match text("location") {
                Some(l) => {
                    if let Some(i) = l.strip_prefix("record ").and_then(|x| x.parse().ok()) {
                        Location::Index(i)
                    } else if let Some(i) = l.strip_prefix("line ").and_then(|x| x.parse().ok()) {
                        Location::Line(i)
                    } else {
                        Location::File
                    }
                }
                None => Location::File,
            };
            let mut stamps = [Stamp::Missing; Field::COUNT];
            if let Some(Value::Array(a)) = get("stamps") {
                for (i, v) in a.iter().enumerate().take(Field::COUNT) {
                    stamps[i] = match v {
                        Value::Int(t) => Stamp::At(*t),
                        Value::Str(s) if s == "null" => Stamp::Null,
                        Value::Str(s) if s == "zero" => Stamp::Zero,
                        Value::Str(s) => match s
                            .strip_prefix("non_streaming:")
                            .and_then(|x| x.parse().ok())
                        {
                            Some(t) => Stamp::NonStreaming(t),
                            None => Stamp::Missing,
                        },
                        _ => Stamp::Missing,
                    };
                }
            }
            let sides = int("has_side").unwrap_or(0);
            let correlation = int("correlation").unwrap_or(0) as u64;
            let parent_name = format!("request {label}");
            let parents: Vec<SliceId> = by_corr
                .get(&correlation)
                .map(|v| {
                    v.iter()
                        .copied()
                        .filter(|s| {
                            self.trace.str(self.trace.slices[s.index()].name) == parent_name
                        })
                        .collect()
                })
                .unwrap_or_default();
            let details = parents
                .first()
                .map_or(Args::None, |s| self.trace.slices[s.index()].args);
            for s in &parents {
                self.trace.slices[s.index()].args = details;
            }
            let originals = self.trace.provenance.inputs.len() as u32 - p.first_input;
            let input = match int("input").and_then(|i| u32::try_from(i).ok()) {
                Some(i) if i < originals => p.first_input + i,
                _ => self.input,
            };
            let _ = n;
            self.trace.requests.push(Request {
                input,
                location,
                kind: if text("kind").as_deref() == Some("disaggregated") {
                    RequestKind::Disaggregated
                } else {
                    RequestKind::Aggregated
                },
                label,
                ctx_request_id: int("ctx_request_id"),
                gen_request_id: int("gen_request_id"),
                disagg_request_id: int("disagg_request_id"),
                ctx_server: text("ctx_server"),
                gen_server: text("gen_server"),
                status: text("status"),
                stamps,
                has_side: [sides & 1 != 0, sides & 2 != 0, sides & 4 != 0],
                details,
                parent_slice: [None; 3],
                correlation,
                non_streaming: matches!(get("non_streaming"), Some(Value::Bool(true))),
            });
        }
    }

    fn rebuild_artifacts(&mut self, s0: usize) {
        for f in std::mem::take(&mut self.artifact_records) {
            let get = |k: &str| f.iter().find(|(name, _)| name == k).map(|(_, v)| v);
            let num = |k: &str| match get(k) {
                Some(Value::Int(i)) => Some(*i),
                Some(Value::Uint(u)) => i64::try_from(*u).ok(),
                _ => None,
            };
            let reason = match get("reason") {
                Some(Value::Str(r)) if r == gpu::ZERO_TIMESTAMP => gpu::ZERO_TIMESTAMP,
                Some(Value::Str(r)) if r == gpu::OVERLAPPING => gpu::OVERLAPPING,
                _ => continue,
            };
            let (Some(uuid), Some(ts), Some(dur)) = (num("track"), num("ts"), num("dur")) else {
                continue;
            };
            let Some(track) = self.tracks.get(&(uuid as u64)).map(|t| t.id) else {
                continue;
            };
            let taken: rustc_hash::FxHashSet<u32> =
                self.trace.gpu_artifacts.iter().map(|a| a.slice.0).collect();
            let found = (s0..self.trace.slices.len()).find(|&i| {
                let s = &self.trace.slices[i];
                s.track == track && s.ts == ts && s.dur == dur && !taken.contains(&(i as u32))
            });
            if let Some(i) = found {
                self.trace.gpu_artifacts.push(gpu::Artifact {
                    slice: SliceId(i as u32),
                    reason,
                });
            }
        }
    }
}

fn field<'v>(f: &'v [(String, Value)], k: &str) -> Option<&'v Value> {
    f.iter().find(|(n, _)| n == k).map(|(_, v)| v)
}

fn field_text(f: &[(String, Value)], k: &str) -> Option<String> {
    match field(f, k) {
        Some(Value::Str(s)) => Some(s.clone()),
        _ => None,
    }
}

fn value_int(v: &Value) -> Option<i64> {
    match v {
        Value::Int(i) => Some(*i),
        Value::Uint(u) => i64::try_from(*u).ok(),
        _ => None,
    }
}

fn field_int(f: &[(String, Value)], k: &str) -> Option<i64> {
    field(f, k).and_then(value_int)
}

fn value_f64(v: &Value) -> Option<f64> {
    match v {
        Value::Real(x) => Some(*x),
        Value::Int(i) => Some(*i as f64),
        Value::Uint(u) => Some(*u as f64),
        _ => None,
    }
}

fn arg_value(v: &Value) -> Option<ArgValue> {
    Some(match v {
        Value::Int(i) => ArgValue::Int(*i),
        Value::Uint(u) => ArgValue::Uint(*u),
        Value::Real(x) => ArgValue::Real(*x),
        Value::Bool(b) => ArgValue::Bool(*b),
        Value::Str(s) => ArgValue::Str(s.clone()),
        _ => return None,
    })
}

fn location_of(f: &[(String, Value)]) -> Location {
    match field_text(f, "location") {
        Some(l) => {
            if let Some(i) = l.strip_prefix("record ").and_then(|x| x.parse().ok()) {
                Location::Index(i)
            } else if let Some(i) = l.strip_prefix("line ").and_then(|x| x.parse().ok()) {
                Location::Line(i)
            } else {
                Location::File
            }
        }
        None => Location::File,
    }
}

/// The values of stored args, to extend them.
/// `pending` is this import's JSON blob, not yet in `trace.blobs`.
fn old_values(trace: &Trace, old: Args, pending: (u32, &str)) -> Vec<(String, Value)> {
    match old {
        Args::None => Vec::new(),
        Args::List { .. } => trace
            .arg_list(old)
            .iter()
            .map(|a| {
                let v = match &a.value {
                    ArgValue::Int(i) => Value::Int(*i),
                    ArgValue::Uint(u) => Value::Uint(*u),
                    ArgValue::Real(f) => Value::Real(*f),
                    ArgValue::Bool(b) => Value::Bool(*b),
                    ArgValue::Str(s) => Value::Str(s.clone()),
                };
                (trace.str(a.key).to_owned(), v)
            })
            .collect(),
        Args::Raw { blob, start, len } => {
            let text = if blob == pending.0 {
                pending
                    .1
                    .get(start as usize..start as usize + len as usize)
                    .unwrap_or("{}")
            } else {
                trace.raw_args(old).unwrap_or("{}")
            };
            match serde_json::from_str::<crate::json::Pairs>(text) {
                Ok(crate::json::Pairs(pairs)) => pairs
                    .into_iter()
                    .map(|(k, v)| (k.into_owned(), Value::Json(v.get().to_owned())))
                    .collect(),
                Err(_) => Vec::new(),
            }
        }
    }
}

fn nested(n: &debug_annotation::NestedValue, level: usize) -> Value {
    use debug_annotation::nested_value::NestedType;
    match n.nested_type.and_then(|t| NestedType::try_from(t).ok()) {
        Some(NestedType::Dict) => Value::Dict(
            n.dict_keys
                .iter()
                .zip(&n.dict_values)
                .map(|(k, v)| (k.clone(), nested(v, level + 1)))
                .collect(),
        ),
        Some(NestedType::Array) => Value::Array(
            n.array_values
                .iter()
                .map(|v| nested(v, level + 1))
                .collect(),
        ),
        _ => {
            if let Some(i) = n.int_value {
                Value::Int(i)
            } else if let Some(d) = n.double_value {
                if d.is_finite() {
                    Value::Real(d)
                } else {
                    Value::Str(d.to_string())
                }
            } else if let Some(b) = n.bool_value {
                Value::Bool(b)
            } else {
                Value::Str(n.string_value.clone().unwrap_or_default())
            }
        }
    }
}

fn json_str(out: &mut String, s: &str) {
    crate::json::write_string(out, s);
}

fn json_value(out: &mut String, v: &Value) {
    use crate::json::write_scalar;
    match v {
        Value::Int(i) => write_scalar(out, &ArgValue::Int(*i)),
        Value::Uint(u) => write_scalar(out, &ArgValue::Uint(*u)),
        Value::Real(f) => write_scalar(out, &ArgValue::Real(*f)),
        Value::Bool(b) => write_scalar(out, &ArgValue::Bool(*b)),
        Value::Str(s) => json_str(out, s),
        Value::Json(j) => out.push_str(j),
        Value::Dict(d) => {
            out.push('{');
            for (i, (k, v)) in d.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_str(out, k);
                out.push(':');
                json_value(out, v);
            }
            out.push('}');
        }
        Value::Array(a) => {
            out.push('[');
            for (i, v) in a.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                json_value(out, v);
            }
            out.push(']');
        }
    }
}

/// A warning kind read from a trace, as the `&'static str` the model
/// keys warnings by: each distinct kind is leaked once per process (kinds
/// are few; a hostile trace can add at most its own size).
pub(crate) fn static_kind(kind: &str) -> &'static str {
    use std::sync::Mutex;
    static KINDS: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut kinds = KINDS.lock().unwrap_or_else(|e| e.into_inner());
    if let Some(k) = kinds.iter().find(|k| **k == kind) {
        return k;
    }
    let k: &'static str = Box::leak(kind.to_owned().into_boxed_str());
    kinds.push(k);
    k
}

/// The one value every item has (`None` when there are none, when one is
/// missing, or when two differ).
fn agreed<T: PartialEq>(mut items: impl Iterator<Item = Option<T>>) -> Option<T> {
    let first = items.next()??;
    for x in items {
        if x.as_ref() != Some(&first) {
            return None;
        }
    }
    Some(first)
}
