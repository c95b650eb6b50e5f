//! Reading Perfetto protobuf traces of other producers: SDK-style traces
//! built here with the upstream schema (`perfetto_protos`: interning,
//! incremental state, default track, clock snapshots), a trace written by
//! the Python `perfetto` package's `TraceProtoBuilder`, and bad input.
//! Expectations are written by hand from what the producer put in.

mod common;

use std::path::{Path, PathBuf};

use breakdown_trace::ingest;
use breakdown_trace::sql::Database;
use perfetto_protos::clock_snapshot::{clock_snapshot::Clock, ClockSnapshot};
use perfetto_protos::counter_descriptor::{counter_descriptor::Unit, CounterDescriptor};
use perfetto_protos::debug_annotation::DebugAnnotation;
use perfetto_protos::interned_data::InternedData;
use perfetto_protos::process_descriptor::ProcessDescriptor;
use perfetto_protos::thread_descriptor::ThreadDescriptor;
use perfetto_protos::trace::Trace;
use perfetto_protos::trace_packet::TracePacket;
use perfetto_protos::trace_packet_defaults::TracePacketDefaults;
use perfetto_protos::track_descriptor::TrackDescriptor;
use perfetto_protos::track_event::{track_event::Type, EventCategory, EventName, TrackEvent};
use protobuf::{EnumOrUnknown, Message};
use rusqlite::types::Value;

fn ann_int(name_iid: u64, v: i64) -> DebugAnnotation {
    let mut a = DebugAnnotation::new();
    a.set_name_iid(name_iid);
    a.set_int_value(v);
    a
}

fn ann(name: &str) -> DebugAnnotation {
    let mut a = DebugAnnotation::new();
    a.set_name(name.into());
    a
}

fn on_seq(seq: u32) -> TracePacket {
    let mut p = TracePacket::new();
    p.set_trusted_packet_sequence_id(seq);
    p
}

fn descriptor(d: TrackDescriptor) -> TracePacket {
    let mut p = on_seq(1);
    p.set_track_descriptor(d);
    p
}

fn event(seq: u32, ts: u64, e: TrackEvent) -> TracePacket {
    let mut p = on_seq(seq);
    p.timestamp = Some(ts);
    p.sequence_flags = Some(2);
    p.set_track_event(e);
    p
}

fn write(dir: &Path, name: &str, t: &Trace) -> PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, t.write_to_bytes().unwrap()).unwrap();
    path
}

fn query(db: &Database, sql: &str) -> Vec<Vec<Value>> {
    db.run("test", sql, &[]).expect(sql).rows
}

fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// An SDK-style trace: interned names, categories and annotation names;
/// incremental state; a default track; timestamps on an incremental
/// sequence-scoped clock (64, µs units) related to BOOTTIME by a snapshot.
fn sdk_trace() -> Trace {
    let mut t = Trace::new();
    // Tracks: a process, its thread, a counter, a custom hierarchy.
    let mut d = TrackDescriptor::new();
    d.uuid = Some(1);
    let mut pd = ProcessDescriptor::new();
    pd.pid = Some(10);
    pd.process_name = Some("server".into());
    d.process = Some(pd).into();
    t.packet.push(descriptor(d));
    let mut d = TrackDescriptor::new();
    d.uuid = Some(100);
    let mut td = ThreadDescriptor::new();
    td.pid = Some(10);
    td.tid = Some(11);
    td.thread_name = Some("main".into());
    d.thread = Some(td).into();
    t.packet.push(descriptor(d));
    let mut d = TrackDescriptor::new();
    d.uuid = Some(200);
    d.parent_uuid = Some(1);
    d.set_name("kv_cache_bytes".into());
    let mut cd = CounterDescriptor::new();
    cd.unit = Some(EnumOrUnknown::new(Unit::UNIT_SIZE_BYTES));
    d.counter = Some(cd).into();
    t.packet.push(descriptor(d));
    let mut d = TrackDescriptor::new();
    d.uuid = Some(300);
    d.parent_uuid = Some(1);
    d.set_name("scheduler".into());
    t.packet.push(descriptor(d));
    let mut d = TrackDescriptor::new();
    d.uuid = Some(301);
    d.parent_uuid = Some(300);
    d.set_name("batch".into());
    t.packet.push(descriptor(d));

    // Sequence 7: state cleared, interning, defaults.
    let mut p = on_seq(7);
    p.sequence_flags = Some(3);
    let mut i = InternedData::new();
    let mut n = EventName::new();
    n.iid = Some(1);
    n.name = Some("forward".into());
    i.event_names.push(n);
    let mut c = EventCategory::new();
    c.iid = Some(1);
    c.name = Some("gpu".into());
    i.event_categories.push(c);
    let mut an = perfetto_protos::debug_annotation::DebugAnnotationName::new();
    an.iid = Some(1);
    an.name = Some("batch_size".into());
    i.debug_annotation_names.push(an);
    p.interned_data = Some(i).into();
    let mut defaults = TracePacketDefaults::new();
    defaults.timestamp_clock_id = Some(64);
    let mut ted = perfetto_protos::track_event::TrackEventDefaults::new();
    ted.track_uuid = Some(100);
    defaults.track_event_defaults = Some(ted).into();
    p.trace_packet_defaults = Some(defaults).into();
    t.packet.push(p);
    // The clock snapshot: clock 64 (incremental, 1 µs units) at 0 is
    // BOOTTIME 1 000 000 ns.
    let mut p = on_seq(7);
    let mut cs = ClockSnapshot::new();
    let mut boot = Clock::new();
    boot.clock_id = Some(6);
    boot.timestamp = Some(1_000_000);
    let mut seqclock = Clock::new();
    seqclock.clock_id = Some(64);
    seqclock.timestamp = Some(0);
    seqclock.is_incremental = Some(true);
    seqclock.unit_multiplier_ns = Some(1000);
    cs.clocks = vec![boot, seqclock];
    p.set_clock_snapshot(cs);
    t.packet.push(p);

    // +5 µs: BEGIN `forward` (interned), default track, flow out.
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_SLICE_BEGIN));
    e.set_name_iid(1);
    e.category_iids = vec![1];
    let mut nested = ann("shape");
    let mut rows = ann("rows");
    rows.set_int_value(4);
    let mut dims = ann("dims");
    for v in [128, 256] {
        let mut x = DebugAnnotation::new();
        x.set_int_value(v);
        dims.array_values.push(x);
    }
    nested.dict_entries = vec![rows, dims];
    let mut dbl = ann("ratio");
    dbl.set_double_value(0.25);
    let mut s = ann("phase");
    s.set_string_value("decode".into());
    let mut b = ann("graph");
    b.set_bool_value(true);
    let mut u = ann("bytes");
    u.set_uint_value(u64::MAX);
    e.debug_annotations = vec![ann_int(1, 32), nested, dbl, s, b, u];
    e.flow_ids = vec![77];
    e.set_correlation_id(5);
    t.packet.push(event(7, 5, e));
    // +3 µs: an instant on the custom child track, flow terminates there.
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_INSTANT));
    e.track_uuid = Some(301);
    e.set_name("schedule".into());
    e.terminating_flow_ids = vec![77];
    t.packet.push(event(7, 3, e));
    // +2 µs: END on the default track.
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_SLICE_END));
    t.packet.push(event(7, 2, e));
    // A counter in BOOTTIME (explicit clock id).
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_COUNTER));
    e.track_uuid = Some(200);
    e.set_double_counter_value(2.5);
    let mut p = event(7, 1_020_000, e);
    p.timestamp_clock_id = Some(6);
    t.packet.push(p);
    // A sequence that needs incremental state it never got: skipped.
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_INSTANT));
    e.track_uuid = Some(300);
    e.set_name_iid(1);
    t.packet.push(event(9, 1_030_000, e));
    // A clock no snapshot relates (MONOTONIC): dropped, counted.
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_INSTANT));
    e.track_uuid = Some(300);
    e.set_name("lost".into());
    let mut p = event(7, 1, e);
    p.timestamp_clock_id = Some(3);
    t.packet.push(p);
    // An unknown interned name.
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_INSTANT));
    e.track_uuid = Some(300);
    e.set_name_iid(99);
    let mut p = event(7, 1, e);
    p.timestamp_clock_id = Some(6);
    p.timestamp = Some(1_040_000);
    t.packet.push(p);
    // Other data sources: skipped and counted by kind.
    let mut p = on_seq(1);
    p.set_process_stats(Default::default());
    t.packet.push(p.clone());
    t.packet.push(p);
    let mut p = on_seq(1);
    p.set_ftrace_events(Default::default());
    t.packet.push(p);
    t
}

#[test]
fn sdk_style_trace_lands_in_the_tables() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "sdk.pftrace", &sdk_trace());
    let input = ingest::Input::read(&path).unwrap();
    assert_eq!(
        ingest::detect(&input).unwrap(),
        ingest::Format::PerfettoProto
    );
    let trace = ingest::load(std::slice::from_ref(&path), None).unwrap();
    let db = Database::in_memory(trace).unwrap();
    // The slice: 5 µs after the snapshot's 1 000 000 ns, 5 µs long (the
    // clock is incremental: +5, +3, +2 µs).
    assert_eq!(
        query(
            &db,
            "SELECT s.ts, s.dur, s.name, s.category, t.name, th.tid, p.pid, p.name \
             FROM thread_slice s JOIN thread_track t ON t.id = s.track_id \
             JOIN thread th USING (utid) JOIN process p USING (upid)"
        ),
        vec![vec![
            Value::Integer(1_005_000),
            Value::Integer(5_000),
            text("forward"),
            text("gpu"),
            text("main"),
            Value::Integer(11),
            Value::Integer(10),
            text("server"),
        ]]
    );
    // Args of every type, nested ones flattened as trace processor does.
    assert_eq!(
        query(
            &db,
            "SELECT key, value_type, display_value FROM args \
             WHERE arg_set_id = (SELECT arg_set_id FROM slice WHERE name = 'forward') ORDER BY id"
        ),
        [
            ("debug.batch_size", "int", "32"),
            ("debug.shape.rows", "int", "4"),
            ("debug.shape.dims[0]", "int", "128"),
            ("debug.shape.dims[1]", "int", "256"),
            ("debug.ratio", "real", "0.25"),
            ("debug.phase", "string", "decode"),
            ("debug.graph", "bool", "true"),
            ("debug.bytes", "uint", "18446744073709551615"),
        ]
        .iter()
        .map(|(k, t, v)| vec![text(k), text(t), text(v)])
        .collect::<Vec<_>>()
    );
    // The instant on the custom child track (+3 µs), its track hierarchy,
    // and the flow from `forward` to it.
    assert_eq!(
        query(
            &db,
            "SELECT s.ts, s.dur, t.name, pt.name, gp.name FROM slice s \
             JOIN track t ON t.id = s.track_id JOIN track pt ON pt.id = t.parent_id \
             JOIN track gp ON gp.id = pt.parent_id WHERE s.name = 'schedule'"
        ),
        vec![vec![
            Value::Integer(1_008_000),
            Value::Integer(0),
            text("batch"),
            text("scheduler"),
            text("server"),
        ]]
    );
    assert_eq!(
        query(
            &db,
            "SELECT o.name, i.name FROM flow JOIN slice o ON o.id = slice_out JOIN slice i ON i.id = slice_in"
        ),
        vec![vec![text("forward"), text("schedule")]]
    );
    // The counter, its unit and parent process.
    assert_eq!(
        query(
            &db,
            "SELECT c.ts, c.value, t.name, t.unit, p.name FROM counter c \
             JOIN counter_track t ON t.id = c.track_id JOIN track p ON p.id = t.parent_id"
        ),
        vec![vec![
            Value::Integer(1_020_000),
            Value::Real(2.5),
            text("kv_cache_bytes"),
            text("bytes"),
            text("server"),
        ]]
    );
    // Warnings by kind: the skipped sequence, the unconvertible clock, the
    // unknown iid, two kinds of other data.
    assert_eq!(
        query(&db, "SELECT kind, count FROM warning_count ORDER BY kind"),
        [
            ("incremental_state_missing", 1),
            ("skipped_packets", 2),
            ("unconvertible_clock", 1),
            ("unknown_interned_id", 1),
        ]
        .iter()
        .map(|(k, n)| vec![text(k), Value::Integer(*n)])
        .collect::<Vec<_>>()
    );
    let skipped = query(
        &db,
        "SELECT field, message FROM warning WHERE kind = 'skipped_packets' ORDER BY field",
    );
    assert_eq!(skipped[0][0], text("TracePacket.ftrace_events"));
    assert_eq!(skipped[1][0], text("TracePacket.process_stats"));
    assert!(
        matches!(&skipped[1][1], Value::Text(m) if m.starts_with("2 packets of field 9")),
        "{skipped:?}"
    );
    // The event with the unknown name is kept, named after its iid.
    assert_eq!(
        query(
            &db,
            "SELECT ts, name FROM slice WHERE name LIKE '(unknown%'"
        ),
        vec![vec![
            Value::Integer(1_040_000),
            text("(unknown name iid 99)")
        ]]
    );
}

#[test]
fn bad_packets_are_errors_naming_packet_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let bytes = sdk_trace().write_to_bytes().unwrap();
    // Cut in the middle of the last packet.
    let cut = dir.path().join("cut.pftrace");
    std::fs::write(&cut, &bytes[..bytes.len() - 1]).unwrap();
    let c = cut.to_str().unwrap();
    let (ok, _, err) = common::run(&["info", c]);
    assert!(!ok);
    assert!(
        err.contains("cut.pftrace: packet 16:") && err.contains("--salvage keeps them"),
        "{err}"
    );
    let (ok, out, err) = common::run(&["--salvage", "info", c]);
    assert!(ok, "{err}");
    assert!(out.contains("truncated_input"), "{out}");
    // track_event (field 11) as a varint: a wrong wire type.
    let wire = dir.path().join("wire.pftrace");
    std::fs::write(&wire, [0x0a, 0x02, 0x58, 0x01]).unwrap();
    let (ok, _, err) = common::run(&["info", wire.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("wire.pftrace: packet 0: field `TracePacket.track_event`")
            && err.contains("wire type"),
        "{err}"
    );
    // A slice that never ends: kept, warned, unfinished.
    let mut t = Trace::new();
    let mut d = TrackDescriptor::new();
    d.uuid = Some(5);
    d.set_name("t".into());
    t.packet.push(descriptor(d));
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_SLICE_BEGIN));
    e.track_uuid = Some(5);
    e.set_name("open".into());
    let mut p = event(1, 100, e);
    p.sequence_flags = None;
    t.packet.push(p);
    let mut e = TrackEvent::new();
    e.type_ = Some(EnumOrUnknown::new(Type::TYPE_INSTANT));
    e.track_uuid = Some(5);
    e.set_name("later".into());
    let mut p = event(1, 250, e);
    p.sequence_flags = None;
    t.packet.push(p);
    let path = write(dir.path(), "open.pftrace", &t);
    let db = Database::in_memory(ingest::load(&[path], None).unwrap()).unwrap();
    assert_eq!(
        query(
            &db,
            "SELECT s.dur, a.key, a.display_value FROM slice s JOIN args a USING (arg_set_id) WHERE s.name = 'open'"
        ),
        vec![vec![Value::Integer(150), text("debug.unfinished"), text("true")]]
    );
    assert_eq!(
        query(&db, "SELECT kind, count FROM warning_count"),
        vec![vec![text("unterminated_slice"), Value::Integer(1)]]
    );
}

/// A trace written by the Python `perfetto` package's TraceProtoBuilder:
/// slices, counters, flows and args land in the same tables with the
/// values the script put in.
#[test]
fn python_trace_proto_builder() {
    let Some(python) = common::python_with("perfetto", &["perfetto==0.59.1"]) else {
        eprintln!("SKIP: python_trace_proto_builder: no Python with perfetto==0.59.1");
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("py.pftrace");
    let script = r#"
import sys
from perfetto.trace_builder.proto_builder import TraceProtoBuilder
from perfetto.protos.perfetto.trace.perfetto_trace_pb2 import TrackEvent, TrackDescriptor, CounterDescriptor

b = TraceProtoBuilder()
SEQ = 42

def desc(uuid, name, parent=None, counter=None, pid=None, tid=None, pname=None):
    p = b.add_packet()
    p.track_descriptor.uuid = uuid
    if pid is not None and tid is not None:
        p.track_descriptor.thread.pid = pid
        p.track_descriptor.thread.tid = tid
        p.track_descriptor.thread.thread_name = name
    elif pid is not None:
        p.track_descriptor.process.pid = pid
        p.track_descriptor.process.process_name = name
    else:
        p.track_descriptor.name = name
    if parent is not None:
        p.track_descriptor.parent_uuid = parent
    if counter is not None:
        p.track_descriptor.counter.unit_name = counter

desc(1, "llm-server", pid=1234)
desc(2, "worker", pid=1234, tid=1235)
desc(3, "requests", parent=1)
desc(4, "queue depth", parent=1, counter="requests")

def ev(ts, kind, track, name=None, flows=(), terms=(), args=None, value=None):
    p = b.add_packet()
    p.timestamp = ts
    p.trusted_packet_sequence_id = SEQ
    p.track_event.type = kind
    p.track_event.track_uuid = track
    if name is not None:
        p.track_event.name = name
    for f in flows:
        p.track_event.flow_ids.append(f)
    for f in terms:
        p.track_event.terminating_flow_ids.append(f)
    for k, v in (args or {}).items():
        a = p.track_event.debug_annotations.add()
        a.name = k
        if isinstance(v, bool):
            a.bool_value = v
        elif isinstance(v, int):
            a.int_value = v
        elif isinstance(v, float):
            a.double_value = v
        else:
            a.string_value = v
    if value is not None:
        p.track_event.double_counter_value = value

ev(1000, TrackEvent.TYPE_SLICE_BEGIN, 3, "request 7", flows=[9], args={"request_id": 7, "model": "llama", "streaming": True})
ev(1500, TrackEvent.TYPE_SLICE_BEGIN, 3, "prefill")
ev(2500, TrackEvent.TYPE_SLICE_END, 3)
ev(4000, TrackEvent.TYPE_SLICE_END, 3)
ev(1200, TrackEvent.TYPE_SLICE_BEGIN, 2, "schedule", terms=[9], args={"priority": 0.5})
ev(1300, TrackEvent.TYPE_SLICE_END, 2)
ev(1000, TrackEvent.TYPE_COUNTER, 4, value=3.0)
ev(3000, TrackEvent.TYPE_COUNTER, 4, value=1.0)
ev(3500, TrackEvent.TYPE_INSTANT, 3, "first token")
open(sys.argv[1], "wb").write(b.serialize())
"#;
    let status = std::process::Command::new(&python)
        .arg("-c")
        .arg(script)
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let db = Database::in_memory(ingest::load(&[out], None).unwrap()).unwrap();
    assert_eq!(
        query(
            &db,
            "SELECT s.ts, s.dur, s.name, s.depth, t.name FROM slice s JOIN track t ON t.id = s.track_id ORDER BY s.ts, s.name"
        ),
        vec![
            vec![Value::Integer(1000), Value::Integer(3000), text("request 7"), Value::Integer(0), text("requests")],
            vec![Value::Integer(1200), Value::Integer(100), text("schedule"), Value::Integer(0), text("worker")],
            vec![Value::Integer(1500), Value::Integer(1000), text("prefill"), Value::Integer(1), text("requests")],
            // The instant falls inside `request 7` on its track: nested in it.
            vec![Value::Integer(3500), Value::Integer(0), text("first token"), Value::Integer(1), text("requests")],
        ]
    );
    assert_eq!(
        query(
            &db,
            "SELECT s.name, a.key, a.value_type, a.display_value FROM slice s JOIN args a USING (arg_set_id) ORDER BY a.id"
        ),
        vec![
            vec![text("request 7"), text("debug.request_id"), text("int"), text("7")],
            vec![text("request 7"), text("debug.model"), text("string"), text("llama")],
            vec![text("request 7"), text("debug.streaming"), text("bool"), text("true")],
            vec![text("schedule"), text("debug.priority"), text("real"), text("0.5")],
        ]
    );
    assert_eq!(
        query(
            &db,
            "SELECT o.name, i.name FROM flow JOIN slice o ON o.id = slice_out JOIN slice i ON i.id = slice_in"
        ),
        vec![vec![text("request 7"), text("schedule")]]
    );
    assert_eq!(
        query(
            &db,
            "SELECT c.ts, c.value, t.name, t.unit FROM counter c JOIN counter_track t ON t.id = c.track_id ORDER BY c.ts"
        ),
        vec![
            vec![Value::Integer(1000), Value::Real(3.0), text("queue depth"), text("requests")],
            vec![Value::Integer(3000), Value::Real(1.0), text("queue depth"), text("requests")],
        ]
    );
    // The thread sits in its process.
    assert_eq!(
        query(
            &db,
            "SELECT t.tid, t.name, p.pid, p.name FROM thread t JOIN process p USING (upid)"
        ),
        vec![vec![
            Value::Integer(1235),
            text("worker"),
            Value::Integer(1234),
            text("llm-server")
        ]]
    );
    assert_eq!(
        query(&db, "SELECT COUNT(*) FROM warning_count"),
        vec![vec![Value::Integer(0)]]
    );
}

/// Every cut and every single-byte corruption of a trace (an SDK-style one
/// and one we write) is read or refused with an error — never a panic.
#[test]
fn damaged_traces_never_panic() {
    let mut ours =
        breakdown_trace::ingest::load(&[common::fixture("trtllm/disagg-perf_metrics.json")], None)
            .unwrap();
    let mut bytes = Vec::new();
    breakdown_trace::model::layout::lay_out(&mut ours);
    breakdown_trace::perfetto::write(&ours, &mut bytes).unwrap();
    // Every byte of the small SDK-style trace; every 5th of ours (9 KB).
    for (original, step) in [(sdk_trace().write_to_bytes().unwrap(), 1), (bytes, 5)] {
        let mut cases: Vec<Vec<u8>> = (1..original.len())
            .step_by(step)
            .map(|n| original[..n].to_vec())
            .collect();
        for i in (0..original.len()).step_by(step) {
            for x in [0x01u8, 0x80, 0xff] {
                let mut b = original.clone();
                b[i] ^= x;
                cases.push(b);
            }
        }
        for (n, b) in cases.into_iter().enumerate() {
            for salvage in [false, true] {
                let input = ingest::Input::from_bytes(format!("case{n}.pftrace"), b.clone());
                let opts = ingest::LoadOptions {
                    format: Some(ingest::Format::PerfettoProto),
                    salvage,
                    requests_only: false,
                    scrape_interval_ns: None,
                    no_queue_length: false,
                };
                if let Ok(t) =
                    ingest::load_inputs_with(vec![(input, ingest::Format::PerfettoProto)], &opts)
                {
                    // What reads must also build its tables.
                    let db = Database::in_memory(t).unwrap();
                    query(&db, "SELECT COUNT(*), SUM(dur) FROM slice");
                    query(&db, "SELECT COUNT(*) FROM request_segment");
                }
            }
        }
    }
}
