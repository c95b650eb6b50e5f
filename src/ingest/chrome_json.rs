//! Chrome trace-event JSON as written by Kineto / the PyTorch profiler and
//! RTP-LLM's `gen_timeline` (FORMATS.md §3–4) → [`Trace`].
//!
//! Accepted shapes: an object with `traceEvents` (other top-level keys are
//! metadata; only `baseTimeNanoseconds` is used) or a bare array of events.
//! The buffer is checked as UTF-8 once and parsed once, borrowing strings;
//! `args` stay raw JSON ([`Args::Raw`]) pointing into the input buffer,
//! which moves into [`Trace::blobs`]. The top level is walked here; the
//! events array goes through [`chunked`], which parses it on worker threads
//! and hands events over in file order, each already prepared (times,
//! ids and checks done), so the importer's sequential share is small.
//!
//! **Clock.** `ts`/`dur` are µs; their decimal text is converted to integer
//! ns exactly ([`time::to_ns`]). When `baseTimeNanoseconds` is present it is
//! added, so output timestamps are Unix-epoch ns (Kineto's `ts` is relative
//! to that base). Old traces without a base already carry absolute epoch µs,
//! which become epoch ns. Other producers keep whatever clock their `ts` is in.
//!
//! **Phases.** `X` → span; `B`/`E` → span, matched per (pid, tid): an `E`
//! that gives a `name` (and/or `cat`) closes the innermost open `B` with
//! that name (and category), else the innermost open `B`; the `E`'s args
//! merge into the slice's (the `E`'s value wins on a shared key). A `B`
//! that never ends is kept, up to the latest event on its thread (so its
//! `dur` is never negative), with the arg `unfinished: true` and a warning
//! naming it. `i`/`I` → instant on the thread (`s` =
//! `t` or absent), the process (`p`) or a top-level `global` track (`g`);
//! `C` → one counter track per (pid, name, series key), named `name` when the
//! name has a single series in the file, else `name key`; `M` → names, labels
//! and sort indexes of processes and threads (the last of duplicates wins);
//! `s`/`t`/`f` → flows. Other phases are counted as `unsupported_phase`.
//!
//! **Processes and threads.** Each (pid, tid) is a thread track under its
//! pid's process track. A process is a GPU when its `process_labels` name one
//! (`GPU 0`) or it holds GPU work (`kernel`, `gpu_memcpy`, `gpu_memset` in any
//! spelling, as [`gpu::GpuKind::of_category`] reads them) or
//! `gpu_user_annotation`; a GPU process is
//! named after its label (else `GPU <pid>`), other processes after
//! `process_name` (else `process <pid>`, or the pid string itself). Threads
//! take their `thread_name` with surrounding spaces trimmed (`"stream 7 "`),
//! else `stream <tid>` on GPUs, else `thread <tid>` (or the tid string).
//! Perfetto pids/tids are int32: a numeric id that fits is kept as it is
//! (negative ones too); string ids (`"Spans"`, `""`), ids beyond int32, and
//! pids already used by an earlier input get a synthetic id
//! `0x4000_0000 + FNV-1a-32(text) mod 2^29` (probing upwards on collision),
//! stable for a given file and far above Linux's `pid_max`.
//!
//! **Flows.** Endpoints are grouped by (`cat`, `id`); in timestamp order a
//! chain starts at `s`, goes through any `t`s and ends at `f`, each step
//! becoming one proto flow. A group of exactly one `s` and one `f` pairs
//! regardless of timestamps. Binding to slices on the endpoint's (pid, tid):
//! `s`, `t` and `f` with `bp:"e"` bind to the innermost slice enclosing `ts`
//! (latest start, `start <= ts <= end`); `f` without `bp:"e"` binds to the
//! first slice starting at or after `ts` (falling back to the enclosing one).
//! Flows v2 (`bind_id` with `flow_out` / `flow_in` on a slice event)
//! bind to that event's own slice (a `B`'s when its `E` closes it) and
//! chain the same way, grouped by `bind_id` (integers and `0x` hex strings
//! as numbers, so `"0x10"` is `16`; other strings as written).
//! Ends that find no partner or no slice are counted warnings.
//!
//! **Profiler artifacts.** A stream runs one piece of GPU work at a time;
//! work that it cannot have run as recorded — GPU work written at `ts` 0
//! far from the input's other events ([`gpu::ZERO_TIMESTAMP`]), or work
//! overlapping other work on its stream beyond the timing noise
//! ([`gpu::OVERLAPPING`]) — is a warning naming its event, is listed in
//! [`Trace::gpu_artifacts`] (kept out of GPU statistics) and moves to a
//! lane `<stream> (profiler artifacts)` under its stream. What is GPU work
//! is [`gpu::kind_of`]'s call.
//!
//! **Non-finite numbers** (`nan`, `-nan`, `inf`, `-inf` as C's printf writes
//! them, Python's `NaN`, `Infinity`, `-Infinity`), which JSON lacks: in
//! `args`, a counter value or a field the importer ignores, the value
//! becomes `null` (no annotation, no counter sample) and each is a
//! `non_finite_number` warning naming event and field; in `ts`, `dur`,
//! `pid`, `tid`, `id`, `bind_id` or `baseTimeNanoseconds` it is an error
//! naming the token. serde_json refuses such an event; [`repair`] reads it
//! again with the tokens made null.
//!
//! **The end of the file.** Nothing after a complete events array costs
//! the events: a bare array may end without its `]` (with or without a
//! trailing comma; the JSON Array Format allows it) — an `unclosed_array`
//! warning; a cut, broken JSON or trailing text after the complete array
//! (or after the complete `traceEvents` array in the object form) is a
//! `broken_tail` warning saying what was wrong. A `traceEvents` array that
//! is itself cut is a truncated input (`--salvage`).
//!
//! Problems that make an event unusable (a `ts` that is not a number, a
//! missing `dur` on `X`) are errors naming file, event index and field;
//! inconsistencies (unmatched `B`/`E`, negative durations, unmatched flow
//! ends) are counted warnings.

use std::borrow::Cow;

use rustc_hash::{FxHashMap, FxHashSet};
use serde::de::IgnoredAny;
use serde::Deserialize;
use serde_json::error::Category;
use serde_json::value::RawValue;

use crate::error::{InputError, JsonFault, Position, Result};
use crate::json::Str;
use crate::model::gpu;
use crate::model::{
    ArgValue, Args, Counter, CounterUnit, Flow, Location, Slice, SliceId, SliceKind, StrId, Trace,
    Track, TrackId, TrackKind, Warning,
};
use crate::time::{self, Unit};

use super::{chunked, Input};

/// One event, fields borrowed from the input buffer. (Strings are
/// [`Str`]: serde's own `Option<Cow<str>>` always copies.)
#[derive(Deserialize)]
struct RawEvent<'a> {
    #[serde(borrow, default)]
    ph: Option<Str<'a>>,
    #[serde(borrow, default)]
    name: Option<Str<'a>>,
    #[serde(borrow, default)]
    cat: Option<Str<'a>>,
    #[serde(borrow, default)]
    pid: Option<&'a RawValue>,
    #[serde(borrow, default)]
    tid: Option<&'a RawValue>,
    #[serde(borrow, default)]
    ts: Option<&'a RawValue>,
    #[serde(borrow, default)]
    dur: Option<&'a RawValue>,
    #[serde(borrow, default)]
    args: Option<&'a RawValue>,
    #[serde(borrow, default)]
    id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    bp: Option<Str<'a>>,
    #[serde(borrow, default)]
    s: Option<Str<'a>>,
    /// Flow events v2: the flow id, and whether this slice starts
    /// (`flow_out`) or ends (`flow_in`) a flow of that id.
    #[serde(borrow, default)]
    bind_id: Option<&'a RawValue>,
    #[serde(borrow, default)]
    flow_in: Option<&'a RawValue>,
    #[serde(borrow, default)]
    flow_out: Option<&'a RawValue>,
}

/// A pid or tid as written: a JSON integer or any other JSON text.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum RawId<'a> {
    Int(i64),
    Text(&'a str),
}

impl RawId<'_> {
    fn label(&self) -> String {
        match self {
            RawId::Int(i) => i.to_string(),
            RawId::Text(t) => t.to_string(),
        }
    }
}

fn raw_id(v: Option<&RawValue>) -> RawId<'_> {
    match v {
        None => RawId::Text(""),
        Some(v) => {
            let t = v.get();
            if let Ok(i) = t.parse::<i64>() {
                RawId::Int(i)
            } else if t.len() >= 2 && t.starts_with('"') && !t.contains('\\') {
                RawId::Text(&t[1..t.len() - 1])
            } else {
                RawId::Text(t)
            }
        }
    }
}

/// An event with the work that needs no importer state already done: ids
/// and times parsed, names and args checked. [`prepare`] makes it on a
/// parser thread, so the importer's own (sequential) share stays small.
struct Event<'a> {
    ph: Option<Cow<'a, str>>,
    name: Option<Cow<'a, str>>,
    cat: Option<Cow<'a, str>>,
    pid: RawId<'a>,
    tid: RawId<'a>,
    /// ns, or why not (`missing`, out of range...).
    ts: Stamp,
    dur: Stamp,
    /// The `args` JSON text: borrowed from the input, or owned when made
    /// here (non-finite numbers made null).
    args: Option<Cow<'a, str>>,
    /// How deep `args` nests, when deeper than [`crate::json::MAX_DEPTH`].
    args_depth: Option<usize>,
    id: Option<&'a RawValue>,
    /// Flow v2 (`bind_id` with `flow_in` / `flow_out`).
    bind_id: Option<&'a RawValue>,
    flow_in: bool,
    flow_out: bool,
    /// Non-finite numbers made null (see [`repair`]); rare.
    non_finite: Option<Box<[(String, &'a str)]>>,
    /// `"bp": "e"`: a flow end binds to the enclosing slice.
    bind_enclosing: bool,
    /// Instant scope (`s`): `g`, `p`, or the thread.
    scope: Scope,
    /// Name and category need no cleaning ([`Importer::name`]).
    name_plain: bool,
    cat_plain: bool,
    /// The category marks a GPU ([`gpu_category`]).
    gpu: bool,
}

type Stamp = Result<i64, Box<str>>;

#[derive(Clone, Copy, PartialEq, Eq)]
enum Scope {
    Global,
    Process,
    Thread,
}

/// A `ts`/`dur` in µs (a number, or a number in a string) as ns.
fn stamp(v: Option<&RawValue>) -> Stamp {
    let v = v.ok_or("missing")?;
    let text = v.get();
    let digits: Cow<str> = if text.starts_with('"') {
        // A string-typed number.
        match serde_json::from_str::<Str>(text) {
            Ok(s) => s.0,
            Err(_) => Cow::Borrowed(text),
        }
    } else {
        Cow::Borrowed(text)
    };
    time::to_ns(&digits, Unit::Micros).map_err(|e| e.to_string().into())
}

/// A character a name must not carry (JSON allows it escaped, `\u0001`).
fn bad_char(c: char) -> bool {
    c.is_control() && c != '\t'
}

/// True when `text` can be interned as it is (see [`Importer::name`]).
fn plain_name(text: &str) -> bool {
    text.len() <= MAX_NAME_BYTES && !text.contains(bad_char)
}

/// How deep an `args` text nests, when deeper than [`crate::json::MAX_DEPTH`].
fn args_depth(text: Option<&str>) -> Option<usize> {
    text.filter(|t| t.starts_with('{'))
        .and_then(|t| crate::json::deeper_than(t, crate::json::MAX_DEPTH))
}

/// A JSON `true` (anything else, absent included, is false).
fn is_true(v: Option<&RawValue>) -> bool {
    v.is_some_and(|v| v.get() == "true")
}

fn prepare(ev: RawEvent<'_>) -> Event<'_> {
    let args_depth = args_depth(ev.args.map(RawValue::get));
    Event {
        pid: raw_id(ev.pid),
        tid: raw_id(ev.tid),
        ts: stamp(ev.ts),
        dur: stamp(ev.dur),
        args_depth,
        bind_enclosing: ev.bp.as_ref().is_some_and(|b| b.0 == "e"),
        scope: match ev.s.as_ref().map(|s| &*s.0) {
            Some("g") => Scope::Global,
            Some("p") => Scope::Process,
            _ => Scope::Thread,
        },
        name_plain: ev.name.as_ref().is_none_or(|n| plain_name(&n.0)),
        cat_plain: ev.cat.as_ref().is_none_or(|c| plain_name(&c.0)),
        gpu: ev.cat.as_ref().is_some_and(|c| gpu_category(&c.0)),
        ph: ev.ph.map(|s| s.0),
        name: ev.name.map(|s| s.0),
        cat: ev.cat.map(|s| s.0),
        args: ev.args.map(|a| Cow::Borrowed(a.get())),
        id: ev.id,
        bind_id: ev.bind_id,
        flow_in: is_true(ev.flow_in),
        flow_out: is_true(ev.flow_out),
        non_finite: None,
    }
}

/// Fields whose non-finite number is an error rather than a null: the
/// event's times and identities.
const NEEDS_FINITE: &[&str] = &["ts", "dur", "pid", "tid", "id", "bind_id"];

/// The first name of a path (`args` of `args.x[1]`).
fn path_root(path: &str) -> &str {
    let end = path.find(['.', '[']).unwrap_or(path.len());
    &path[..end]
}

/// The fault serde_json met parsing a sanitized text (its own positions),
/// positioned in the whole input.
fn fault_back(text: &str, san: &crate::json::Sanitized, e: &serde_json::Error) -> JsonFault {
    let index = if e.line() == 0 {
        0
    } else {
        crate::error::offset_of(&san.text, e.line(), e.column() + 1)
    };
    JsonFault::at(
        text.as_bytes(),
        san.original(index),
        e.classify(),
        crate::error::strip_position(e),
    )
}

/// An event serde_json refused because it holds numbers JSON cannot
/// (`nan`, `-inf`, `NaN`, `Infinity`...: see
/// [`crate::json::is_non_finite`]): read again with them made null, each
/// to be warned about, unless one is a time or id ([`NEEDS_FINITE`]),
/// which is an error naming it. A function of the text at `start` alone,
/// as [`chunked::walk_with`] requires.
fn repair<'a>(text: &'a str, start: usize, fault: &JsonFault) -> chunked::Repair<Event<'a>> {
    use chunked::Repair;
    if fault.category != Category::Syntax {
        return Repair::Keep;
    }
    let Some(san) = crate::json::non_finite(text, start) else {
        return Repair::Keep;
    };
    let raw: RawEvent = match serde_json::from_str(&san.text) {
        Ok(r) => r,
        // Broken or cut elsewhere too: that fault, in the input's terms.
        Err(e) => return Repair::Fault(fault_back(text, &san, &e)),
    };
    let Some(end) = san.end else {
        return Repair::Keep;
    };
    if let Some((k, t)) = san
        .tokens
        .iter()
        .enumerate()
        .find(|(_, t)| NEEDS_FINITE.contains(&path_root(&t.path)))
    {
        let mut f = chunked::fault_at(
            text.as_bytes(),
            t.at,
            Category::Syntax,
            &format!(
                "`{}` in `{}` is not a number ({}); {} must be a finite number",
                t.token,
                t.path,
                crate::json::non_finite_kind(t.token),
                match path_root(&t.path) {
                    "ts" | "dur" => "a time",
                    _ => "an id",
                }
            ),
        );
        if k == 0 {
            // Where serde_json stopped (the same token).
            (f.line, f.column) = (fault.line, fault.column);
        }
        return Repair::Fault(f);
    }
    // The values back in the input's own text (they hold no token).
    let back = |v: Option<&RawValue>| -> Option<&'a RawValue> {
        let v = v?.get();
        let from = v.as_ptr() as usize - san.text.as_ptr() as usize;
        let (a, b) = (san.original(from), san.original(from + v.len()));
        serde_json::from_str(text.get(a..b)?).ok()
    };
    let owned = |s: Option<Str>| s.map(|s| Str(Cow::Owned(s.0.into_owned())));
    let args_fixed = san.tokens.iter().any(|t| path_root(&t.path) == "args");
    let patched_args = args_fixed
        .then(|| raw.args.map(|a| a.get().to_owned()))
        .flatten();
    let mut ev = prepare(RawEvent {
        ph: owned(raw.ph),
        name: owned(raw.name),
        cat: owned(raw.cat),
        pid: back(raw.pid),
        tid: back(raw.tid),
        ts: back(raw.ts),
        dur: back(raw.dur),
        args: if args_fixed { None } else { back(raw.args) },
        id: back(raw.id),
        bp: owned(raw.bp),
        s: owned(raw.s),
        bind_id: back(raw.bind_id),
        flow_in: back(raw.flow_in),
        flow_out: back(raw.flow_out),
    });
    if let Some(a) = patched_args {
        ev.args_depth = args_depth(Some(&a));
        ev.args = Some(Cow::Owned(a));
    }
    ev.non_finite = Some(san.tokens.into_iter().map(|t| (t.path, t.token)).collect());
    Repair::Element(ev, end)
}

#[derive(Default)]
struct Meta {
    name: Option<String>,
    labels: Vec<String>,
    sort_index: Option<i32>,
}

struct Process<'a> {
    key: RawId<'a>,
    track: TrackId,
    raw: String,
    numeric: Option<i64>,
    name: Option<String>,
    labels: Vec<String>,
    sort_index: Option<i32>,
    gpu: bool,
}

struct Thread<'a> {
    key: (RawId<'a>, RawId<'a>),
    track: TrackId,
    process: usize,
    raw: String,
    numeric: Option<i64>,
    name: Option<String>,
    sort_index: Option<i32>,
    gpu: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum FlowPhase {
    Start = 0,
    Step = 1,
    End = 2,
}

struct FlowEnd {
    /// Index of its group (v1: `cat` and `id`; v2: `bind_id`), numbered in
    /// order of first sight.
    group: u32,
    phase: FlowPhase,
    target: Target,
    ts: i64,
    index: u64,
}

/// The slice a flow end binds to.
enum Target {
    /// v1 (`s`/`t`/`f`): found by time on a thread (index in
    /// `Importer::threads`), the enclosing slice or the next one.
    Thread { thread: u32, enclosing: bool },
    /// v2: the event's own slice, or `None` when it was not kept.
    Slice(Option<SliceId>),
}

/// A flow group's key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum FlowKey<'a> {
    /// `cat` and the `id` text.
    V1(Option<StrId>, &'a str),
    /// `bind_id`: an integer, or a `0x` hex string, as a number; other
    /// text as written.
    V2Num(u64),
    V2Text(&'a str),
}

fn flow_v2_key(id: &RawValue) -> FlowKey<'_> {
    let t = id.get();
    if let Ok(n) = t.parse::<u64>() {
        return FlowKey::V2Num(n);
    }
    let inner = t.strip_prefix('"').and_then(|x| x.strip_suffix('"'));
    if let Some(hex) = inner.and_then(|x| x.strip_prefix("0x").or_else(|| x.strip_prefix("0X"))) {
        if let Ok(n) = u64::from_str_radix(hex, 16) {
            return FlowKey::V2Num(n);
        }
    }
    FlowKey::V2Text(t)
}

/// A `B` waiting for its `E`.
struct Open<'a> {
    ts: i64,
    name: StrId,
    /// The `B` has a (non-empty) name.
    named: bool,
    cat: Option<StrId>,
    args: Option<Cow<'a, str>>,
    args_depth: Option<usize>,
    index: u64,
    /// Flow v2 ends on this slice: (group, phase).
    flows: Vec<(u32, FlowPhase)>,
}

/// State of one input's import.
struct Importer<'a, 't> {
    trace: &'t mut Trace,
    path: &'a std::path::Path,
    input: u32,
    blob: u32,
    base_ptr: usize,
    base_len: usize,
    processes: Vec<Process<'a>>,
    process_ix: FxHashMap<RawId<'a>, usize>,
    threads: Vec<Thread<'a>>,
    /// Metadata (`M`) by raw pid and (pid, tid); applied to the processes
    /// and threads that have events, so idle GPUs named by Kineto do not
    /// become empty tracks.
    pmeta: FxHashMap<RawId<'a>, Meta>,
    tmeta: FxHashMap<(RawId<'a>, RawId<'a>), Meta>,
    /// Perfetto pids taken by earlier inputs.
    used_pids: FxHashSet<i32>,
    thread_ix: FxHashMap<(RawId<'a>, RawId<'a>), usize>,
    /// Open `B` slices per thread, innermost last.
    open: FxHashMap<usize, Vec<Open<'a>>>,
    /// Per thread: the latest time of its events (where an unfinished
    /// `B` ends).
    last: Vec<i64>,
    /// Argument texts made here (merged `B`/`E` args, non-finite numbers
    /// made null): the blob after the input's own.
    extra: String,
    /// Slices per thread (by index in `threads`), for flow binding.
    by_thread: Vec<Vec<SliceId>>,
    /// The event that made each slice of this input (by slice id from
    /// `first_slice`), for warnings about slices.
    slice_events: Vec<u64>,
    flow_groups: FxHashMap<FlowKey<'a>, u32>,
    /// Flow endpoints, flat (one allocation for all groups).
    flows: Vec<FlowEnd>,
    /// Counter tracks by (process, name, key).
    counter_tracks: FxHashMap<(usize, StrId, String), TrackId>,
    global: Option<TrackId>,
    base: Option<i64>,
    events: u64,
    first_slice: usize,
    first_counter: usize,
}

/// Longest event name or category kept whole (bytes).
pub const MAX_NAME_BYTES: usize = 65536;

/// Whether events of this category make their process a GPU: GPU work in
/// any spelling ([`gpu::GpuKind::of_category`]) and Kineto's GPU-side
/// annotations, `gpu_user_annotation`.
fn gpu_category(cat: &str) -> bool {
    gpu::GpuKind::of_category(cat).is_some() || cat == "gpu_user_annotation"
}

impl<'a> Importer<'a, '_> {
    fn err(&self, index: u64, field: &str, message: impl Into<String>) -> InputError {
        let e = InputError::new(self.path, Position::Record(index), message);
        if field.is_empty() {
            e
        } else {
            e.field(format!("traceEvents[{index}].{field}"))
        }
    }

    fn warn(&mut self, kind: &'static str, index: u64, field: &str, message: impl Into<String>) {
        self.trace.warnings.push(Warning {
            kind,
            input: self.input,
            location: Location::Index(index),
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// A prepared time, or the error naming its field.
    fn at(&self, stamp: &Stamp, index: u64, field: &str) -> Result<i64, InputError> {
        stamp
            .as_ref()
            .copied()
            .map_err(|m| self.err(index, field, &**m))
    }

    /// Interns an event name or category. Control characters (which JSON
    /// allows escaped, `\u0001`) become U+FFFD and a name longer than
    /// [`MAX_NAME_BYTES`] is cut, each a counted warning.
    fn name(&mut self, text: &str, index: u64, field: &str) -> StrId {
        if plain_name(text) {
            return self.trace.intern(text);
        }
        let bad = bad_char;
        let long = text.len() > MAX_NAME_BYTES;
        let mut t: Cow<str> = Cow::Borrowed(text);
        if t.contains(bad) {
            self.warn(
                "control_character",
                index,
                &format!("traceEvents[{index}].{field}"),
                "control characters replaced by U+FFFD",
            );
            t = Cow::Owned(t.replace(bad, "\u{fffd}"));
        }
        if long {
            let mut cut = MAX_NAME_BYTES;
            while !t.is_char_boundary(cut) {
                cut -= 1;
            }
            self.warn(
                "long_name",
                index,
                &format!("traceEvents[{index}].{field}"),
                format!("{} bytes long; cut to {MAX_NAME_BYTES} bytes", text.len()),
            );
            t = Cow::Owned(format!("{}…", &t[..cut]));
        }
        self.trace.intern(&t)
    }

    fn process(&mut self, pid: RawId<'a>) -> usize {
        if let Some(&p) = self.process_ix.get(&pid) {
            return p;
        }
        let name = self.trace.intern("");
        let track = self.trace.add_track(Track::new(
            name,
            None,
            TrackKind::Process {
                pid: 0,
                labels: Vec::new(),
                sort_index: None,
            },
        ));
        let p = self.processes.len();
        self.processes.push(Process {
            key: pid,
            track,
            raw: pid.label(),
            numeric: match pid {
                RawId::Int(i) => Some(i),
                RawId::Text(_) => None,
            },
            name: None,
            labels: Vec::new(),
            sort_index: None,
            gpu: false,
        });
        self.process_ix.insert(pid, p);
        p
    }

    fn thread(&mut self, pid: RawId<'a>, tid: RawId<'a>) -> usize {
        if let Some(&t) = self.thread_ix.get(&(pid, tid)) {
            return t;
        }
        let p = self.process(pid);
        let name = self.trace.intern("");
        let track = self.trace.add_track(Track::new(
            name,
            Some(self.processes[p].track),
            TrackKind::Thread {
                pid: 0,
                tid: 0,
                sort_index: None,
            },
        ));
        let t = self.threads.len();
        self.threads.push(Thread {
            key: (pid, tid),
            track,
            process: p,
            raw: tid.label(),
            numeric: match tid {
                RawId::Int(i) => Some(i),
                RawId::Text(_) => None,
            },
            name: None,
            sort_index: None,
            gpu: false,
        });
        self.by_thread.push(Vec::new());
        self.last.push(i64::MIN);
        self.thread_ix.insert((pid, tid), t);
        t
    }

    fn args(&mut self, v: Option<Cow<'a, str>>, depth: Option<usize>, index: u64) -> Args {
        let Some(text) = v else { return Args::None };
        let text = &*text;
        match text.as_bytes().first() {
            Some(b'{') => {
                if text[1..].trim_start().starts_with('}') {
                    return Args::None;
                }
                if let Some(depth) = depth {
                    self.warn(
                        "args_too_deep",
                        index,
                        &format!("traceEvents[{index}].args"),
                        format!(
                            "args nest {depth} levels (limit {}); deeper values kept as JSON text",
                            crate::json::MAX_DEPTH
                        ),
                    );
                }
                let at = (text.as_ptr() as usize).wrapping_sub(self.base_ptr);
                if at < self.base_len {
                    // Borrowed from the input.
                    Args::Raw {
                        blob: self.blob,
                        start: at as u64,
                        len: text.len() as u32,
                    }
                } else {
                    let start = self.extra.len();
                    self.extra.push_str(text);
                    Args::Raw {
                        blob: self.blob + 1,
                        start: start as u64,
                        len: text.len() as u32,
                    }
                }
            }
            Some(b'n') => Args::None,
            _ => {
                self.warn(
                    "args_not_object",
                    index,
                    &format!("traceEvents[{index}].args"),
                    "args is not a JSON object; kept as one string annotation `args`",
                );
                let key = self.trace.intern("args");
                self.trace.add_args([(key, ArgValue::Str(text.to_owned()))])
            }
        }
    }

    /// Adds a slice on a thread, made by event `index`, at (ts, dur), with
    /// (name, category).
    fn add_slice(
        &mut self,
        thread: usize,
        index: u64,
        (ts, dur): (i64, i64),
        (name, cat): (StrId, Option<StrId>),
        args: Args,
        kind: SliceKind,
    ) -> SliceId {
        self.slice_events.push(index);
        let id = self.trace.add_slice(Slice {
            ts,
            dur,
            track: self.threads[thread].track,
            name,
            category: cat,
            args,
            correlation: None,
            parent: None,
            depth: 0,
            kind,
        });
        self.by_thread[thread].push(id);
        id
    }

    fn event_name(&mut self, ev: &Event, index: u64) -> StrId {
        let text = ev.name.as_deref().unwrap_or("");
        if ev.name_plain {
            self.trace.intern(text)
        } else {
            self.name(text, index, "name")
        }
    }

    fn event_cat(&mut self, ev: &Event, index: u64) -> Option<StrId> {
        let text = ev.cat.as_deref()?;
        Some(if ev.cat_plain {
            self.trace.intern(text)
        } else {
            self.name(text, index, "cat")
        })
    }

    /// Handles one event; `Err` is a hard input error.
    fn event(&mut self, mut ev: Event<'a>, index: u64) -> Result<(), InputError> {
        if let Some(tokens) = ev.non_finite.take() {
            for (path, token) in tokens.iter() {
                self.warn(
                    "non_finite_number",
                    index,
                    &format!("traceEvents[{index}].{path}"),
                    format!(
                        "`{token}` ({}) is not a JSON number; kept as null",
                        crate::json::non_finite_kind(token)
                    ),
                );
            }
            ev.non_finite = Some(tokens);
        }
        let ph = ev.ph.as_deref().unwrap_or("");
        match ph {
            "X" | "B" | "E" | "i" | "I" => {
                let (pid, tid) = (ev.pid, ev.tid);
                let ts = self.at(&ev.ts, index, "ts")?;
                let name = self.event_name(&ev, index);
                let cat = self.event_cat(&ev, index);
                let flow = self.flow_v2(&ev, index);
                match ph {
                    "X" => {
                        let dur = self.at(&ev.dur, index, "dur")?;
                        if ts.checked_add(dur).is_none() {
                            return Err(self.err(
                                index,
                                "dur",
                                "ts + dur is beyond the i64 nanosecond range",
                            ));
                        }
                        let t = self.thread(pid, tid);
                        self.threads[t].gpu |= ev.gpu;
                        self.seen(t, ts.max(ts + dur));
                        if dur < 0 {
                            self.warn(
                                "negative_duration",
                                index,
                                &format!("traceEvents[{index}].dur"),
                                format!("dur {} µs is negative; event skipped", dur as f64 / 1e3),
                            );
                            self.bind_v2(flow, None, ts, index);
                            return Ok(());
                        }
                        let args = self.args(ev.args, ev.args_depth, index);
                        let id =
                            self.add_slice(t, index, (ts, dur), (name, cat), args, SliceKind::Span);
                        self.bind_v2(flow, Some(id), ts, index);
                    }
                    "B" => {
                        let t = self.thread(pid, tid);
                        self.threads[t].gpu |= ev.gpu;
                        self.seen(t, ts);
                        self.open.entry(t).or_default().push(Open {
                            ts,
                            name,
                            named: ev.name.as_deref().is_some_and(|n| !n.is_empty()),
                            cat,
                            args: ev.args,
                            args_depth: ev.args_depth,
                            index,
                            flows: flow.into_iter().collect(),
                        });
                    }
                    "E" => {
                        let t = self.thread(pid, tid);
                        self.seen(t, ts);
                        // An `E` that names its slice (and category) closes
                        // the innermost open `B` of that name (and
                        // category), not blindly the innermost one.
                        let by_name = ev.name.as_deref().is_some_and(|n| !n.is_empty());
                        let by_cat = ev.cat.as_deref().is_some_and(|c| !c.is_empty());
                        let stack = self.open.entry(t).or_default();
                        let found = stack.iter().rposition(|b| {
                            (!by_name || !b.named || b.name == name) && (!by_cat || b.cat == cat)
                        });
                        let Some(k) = found else {
                            let message = if stack.is_empty() {
                                "`E` without an open `B` on its pid/tid; ignored".to_owned()
                            } else {
                                format!(
                                    "`E` {}matches none of the {} open `B` on its pid/tid; ignored",
                                    match (by_name, by_cat) {
                                        (true, true) => format!(
                                            "named `{}` (category `{}`) ",
                                            self.trace.str(name),
                                            self.trace.str(cat.unwrap())
                                        ),
                                        (true, false) =>
                                            format!("named `{}` ", self.trace.str(name)),
                                        (false, _) => format!(
                                            "of category `{}` ",
                                            cat.map_or("", |c| self.trace.str(c))
                                        ),
                                    },
                                    stack.len()
                                )
                            };
                            self.warn(
                                "unmatched_end",
                                index,
                                &format!("traceEvents[{index}].ph"),
                                message,
                            );
                            self.bind_v2(flow, None, ts, index);
                            return Ok(());
                        };
                        let b = stack.remove(k);
                        if ts < b.ts {
                            self.warn(
                                "negative_duration",
                                index,
                                &format!("traceEvents[{index}].ts"),
                                "`E` before its `B`; pair skipped",
                            );
                            for (g, phase) in b.flows {
                                self.push_v2(g, phase, None, b.ts, b.index);
                            }
                            self.bind_v2(flow, None, ts, index);
                            return Ok(());
                        }
                        // The `E`'s args merge into the slice's (the
                        // `E`'s value wins for a key both have).
                        let (args, depth) =
                            merge_args(b.args, b.args_depth, ev.args, ev.args_depth);
                        let args = self.args(args, depth, b.index);
                        let id = self.add_slice(
                            t,
                            b.index,
                            (b.ts, ts - b.ts),
                            (b.name, b.cat),
                            args,
                            SliceKind::Span,
                        );
                        for (g, phase) in b.flows {
                            self.push_v2(g, phase, Some(id), b.ts, b.index);
                        }
                        self.bind_v2(flow, Some(id), b.ts, index);
                    }
                    _ => {
                        let args = self.args(ev.args, ev.args_depth, index);
                        let track = match ev.scope {
                            Scope::Global => self.global_track(),
                            Scope::Process => {
                                let p = self.process(pid);
                                self.processes[p].track
                            }
                            Scope::Thread => {
                                let t = self.thread(pid, tid);
                                self.seen(t, ts);
                                let id = self.add_slice(
                                    t,
                                    index,
                                    (ts, 0),
                                    (name, cat),
                                    args,
                                    SliceKind::Instant,
                                );
                                self.bind_v2(flow, Some(id), ts, index);
                                return Ok(());
                            }
                        };
                        self.slice_events.push(index);
                        let id = self.trace.add_slice(Slice {
                            ts,
                            dur: 0,
                            track,
                            name,
                            category: cat,
                            args,
                            correlation: None,
                            parent: None,
                            depth: 0,
                            kind: SliceKind::Instant,
                        });
                        self.bind_v2(flow, Some(id), ts, index);
                    }
                }
                return Ok(());
            }
            "C" => {
                let ts = self.at(&ev.ts, index, "ts")?;
                let p = self.process(ev.pid);
                let name = self.event_name(&ev, index);
                let Some(args) = ev.args.as_deref().filter(|a| a.starts_with('{')) else {
                    self.warn(
                        "counter_without_values",
                        index,
                        &format!("traceEvents[{index}].args"),
                        "`C` event without an args object",
                    );
                    return Ok(());
                };
                let crate::json::Pairs(pairs) = serde_json::from_str(args)
                    .map_err(|e| self.err(index, "args", e.to_string()))?;
                for (key, v) in pairs {
                    let value = match crate::json::scalar(v) {
                        Some(ArgValue::Int(i)) => i as f64,
                        Some(ArgValue::Uint(u)) => u as f64,
                        Some(ArgValue::Real(f)) => f,
                        Some(ArgValue::Str(s)) if s.trim().parse::<f64>().is_ok() => {
                            s.trim().parse::<f64>().unwrap()
                        }
                        // A non-finite number, already warned about: no sample.
                        None if ev.non_finite.as_ref().is_some_and(|t| {
                            t.iter()
                                .any(|(path, _)| path.strip_prefix("args.") == Some(&*key))
                        }) =>
                        {
                            continue
                        }
                        _ => {
                            self.warn(
                                "counter_not_a_number",
                                index,
                                &format!("traceEvents[{index}].args.{key}"),
                                format!("counter value {} is not a number", v.get()),
                            );
                            continue;
                        }
                    };
                    let k = (p, name, key.into_owned());
                    let track = match self.counter_tracks.get(&k) {
                        Some(&t) => t,
                        None => {
                            let t = self.trace.add_track(Track::new(
                                name,
                                Some(self.processes[p].track),
                                TrackKind::Counter {
                                    unit: CounterUnit::Count,
                                },
                            ));
                            self.counter_tracks.insert(k, t);
                            t
                        }
                    };
                    self.trace.counters.push(Counter { track, ts, value });
                }
            }
            "M" => self.metadata(&ev, index),
            "s" | "t" | "f" => {
                let ts = self.at(&ev.ts, index, "ts")?;
                let Some(id) = ev.id else {
                    self.warn(
                        "flow_without_id",
                        index,
                        &format!("traceEvents[{index}].id"),
                        "flow event without `id`; ignored",
                    );
                    return Ok(());
                };
                let t = self.thread(ev.pid, ev.tid);
                self.seen(t, ts);
                let phase = match ph {
                    "s" => FlowPhase::Start,
                    "t" => FlowPhase::Step,
                    _ => FlowPhase::End,
                };
                let enclosing = phase != FlowPhase::End || ev.bind_enclosing;
                let cat = self.event_cat(&ev, index);
                let next = self.flow_groups.len() as u32;
                let group = *self
                    .flow_groups
                    .entry(FlowKey::V1(cat, id.get()))
                    .or_insert(next);
                self.flows.push(FlowEnd {
                    group,
                    phase,
                    target: Target::Thread {
                        thread: t as u32,
                        enclosing,
                    },
                    ts,
                    index,
                });
            }
            other => {
                let other = other.to_owned();
                self.warn(
                    "unsupported_phase",
                    index,
                    &format!("traceEvents[{index}].ph"),
                    format!("phase `{other}` is not converted"),
                );
            }
        }
        // Phases that make no slice have nothing for a v2 flow to bind to.
        if ev.flow_in || ev.flow_out {
            self.warn(
                "flow_unbound",
                index,
                &format!("traceEvents[{index}].bind_id"),
                format!("flow on a `{ph}` event, which makes no slice; not drawn"),
            );
        }
        Ok(())
    }

    /// The event's thread has an event at `ts`.
    fn seen(&mut self, thread: usize, ts: i64) {
        let l = &mut self.last[thread];
        *l = (*l).max(ts);
    }

    /// The v2 flow end an event carries (`bind_id` with `flow_in` and/or
    /// `flow_out`): its group and phase.
    fn flow_v2(&mut self, ev: &Event<'a>, index: u64) -> Option<(u32, FlowPhase)> {
        let phase = match (ev.flow_in, ev.flow_out) {
            (false, false) => return None,
            (true, true) => FlowPhase::Step,
            (false, true) => FlowPhase::Start,
            (true, false) => FlowPhase::End,
        };
        let Some(id) = ev.bind_id else {
            self.warn(
                "flow_without_id",
                index,
                &format!("traceEvents[{index}].bind_id"),
                "`flow_in`/`flow_out` without `bind_id`; ignored",
            );
            return None;
        };
        let next = self.flow_groups.len() as u32;
        let group = *self.flow_groups.entry(flow_v2_key(id)).or_insert(next);
        Some((group, phase))
    }

    /// Binds a v2 flow end to its event's slice (`None`: not kept).
    fn bind_v2(
        &mut self,
        flow: Option<(u32, FlowPhase)>,
        slice: Option<SliceId>,
        ts: i64,
        index: u64,
    ) {
        if let Some((group, phase)) = flow {
            self.push_v2(group, phase, slice, ts, index);
        }
    }

    fn push_v2(
        &mut self,
        group: u32,
        phase: FlowPhase,
        slice: Option<SliceId>,
        ts: i64,
        index: u64,
    ) {
        self.flows.push(FlowEnd {
            group,
            phase,
            target: Target::Slice(slice),
            ts,
            index,
        });
    }

    fn global_track(&mut self) -> TrackId {
        if let Some(t) = self.global {
            return t;
        }
        let name = self.trace.intern("global");
        let mut track = Track::new(name, None, TrackKind::Plain);
        track.description = Some("Global-scope instant events (`\"s\": \"g\"`).".into());
        let t = self.trace.add_track(track);
        self.global = Some(t);
        t
    }

    fn metadata(&mut self, ev: &Event<'a>, index: u64) {
        #[derive(Deserialize, Default)]
        struct MArgs<'x> {
            #[serde(borrow, default)]
            name: Option<Str<'x>>,
            #[serde(borrow, default)]
            labels: Option<&'x RawValue>,
            #[serde(borrow, default)]
            sort_index: Option<&'x RawValue>,
        }
        let what = ev.name.as_deref().unwrap_or("");
        if !matches!(
            what,
            "process_name"
                | "process_labels"
                | "process_sort_index"
                | "thread_name"
                | "thread_sort_index"
        ) {
            return;
        }
        let args: MArgs = match ev.args.as_deref().map(serde_json::from_str::<MArgs>) {
            Some(Ok(a)) => a,
            _ => {
                self.warn(
                    "bad_metadata",
                    index,
                    &format!("traceEvents[{index}].args"),
                    format!("`{what}` metadata without the expected args"),
                );
                return;
            }
        };
        let sort = |v: Option<&RawValue>| -> Option<i32> {
            let t = v?.get().trim_matches('"');
            t.parse::<i64>()
                .ok()
                .map(|i| i.clamp(i32::MIN as i64, i32::MAX as i64) as i32)
        };
        let meta = if what.starts_with("process") {
            self.pmeta.entry(ev.pid).or_default()
        } else {
            self.tmeta.entry((ev.pid, ev.tid)).or_default()
        };
        match what {
            "process_name" | "thread_name" => {
                if let Some(n) = args.name {
                    meta.name = Some(n.0.trim().to_owned());
                }
            }
            "process_labels" => {
                if let Some(l) = args.labels {
                    meta.labels = match serde_json::from_str::<Vec<String>>(l.get()) {
                        Ok(v) => v,
                        Err(_) => match serde_json::from_str::<String>(l.get()) {
                            Ok(s) => s.split(',').map(|x| x.trim().to_owned()).collect(),
                            Err(_) => vec![l.get().to_owned()],
                        },
                    };
                }
            }
            _ => meta.sort_index = sort(args.sort_index),
        }
    }

    /// Names tracks, assigns pids/tids, binds flows, applies the base time.
    /// Returns the argument texts made here (the blob after the input's).
    fn finish(mut self) -> Result<String, InputError> {
        // `B`s that never ended: kept, up to the latest event on their
        // thread, marked `unfinished`, each warned about by name.
        let mut open: Vec<(usize, Vec<Open<'a>>)> = std::mem::take(&mut self.open)
            .into_iter()
            .filter(|(_, v)| !v.is_empty())
            .collect();
        open.sort_unstable_by_key(|(t, _)| *t);
        for (t, stack) in open {
            let end = self.last[t];
            for b in stack {
                let dur = end - b.ts;
                self.warn(
                    "unmatched_begin",
                    b.index,
                    &format!("traceEvents[{}]", b.index),
                    format!(
                        "`B` `{}` never ended; kept as unfinished (arg `unfinished`) up to the last event on its pid/tid: dur {} ns",
                        self.trace.str(b.name),
                        dur
                    ),
                );
                let (args, depth) = merge_args(
                    b.args,
                    b.args_depth,
                    Some(Cow::Borrowed(r#"{"unfinished": true}"#)),
                    None,
                );
                let args = self.args(args, depth, b.index);
                let id = self.add_slice(
                    t,
                    b.index,
                    (b.ts, dur),
                    (b.name, b.cat),
                    args,
                    SliceKind::Span,
                );
                for (g, phase) in b.flows {
                    self.push_v2(g, phase, Some(id), b.ts, b.index);
                }
            }
        }

        // Metadata, then GPU detection.
        for p in &mut self.processes {
            if let Some(m) = self.pmeta.remove(&p.key) {
                p.name = m.name;
                p.labels = m.labels;
                p.sort_index = m.sort_index;
            }
            p.gpu = p.labels.iter().any(|l| gpu::is_device_name(l));
        }
        for t in &mut self.threads {
            if let Some(m) = self.tmeta.remove(&t.key) {
                t.name = m.name;
                t.sort_index = m.sort_index;
            }
            if t.gpu {
                self.processes[t.process].gpu = true;
            }
        }

        // pids: numeric ones that fit int32 and are free keep their value.
        let mut used = std::mem::take(&mut self.used_pids);
        let mut pids = vec![None; self.processes.len()];
        for (i, p) in self.processes.iter().enumerate() {
            if let Some(n) = p.numeric.and_then(|n| i32::try_from(n).ok()) {
                if used.insert(n) {
                    pids[i] = Some(n);
                }
            }
        }
        for (i, p) in self.processes.iter().enumerate() {
            if pids[i].is_none() {
                pids[i] = Some(synthetic(&p.raw, &mut used));
            }
        }
        for (i, p) in self.processes.iter().enumerate() {
            let pid = pids[i].unwrap();
            let name = if p.gpu {
                p.labels
                    .iter()
                    .find(|l| gpu::is_device_name(l))
                    .cloned()
                    .unwrap_or_else(|| format!("GPU {}", p.raw))
            } else if let Some(n) = &p.name {
                n.clone()
            } else if p.numeric.is_some() {
                format!("process {}", p.raw)
            } else if p.raw.is_empty() {
                "(empty pid)".to_owned()
            } else {
                p.raw.clone()
            };
            let name = self.trace.intern(&name);
            let track = &mut self.trace.tracks[p.track.index()];
            track.name = name;
            track.kind = TrackKind::Process {
                pid,
                labels: p.labels.clone(),
                sort_index: p.sort_index,
            };
        }
        let mut used_tids: Vec<FxHashSet<i32>> = vec![FxHashSet::default(); self.processes.len()];
        let mut tids = vec![None; self.threads.len()];
        for (i, t) in self.threads.iter().enumerate() {
            if let Some(n) = t.numeric.and_then(|n| i32::try_from(n).ok()) {
                if used_tids[t.process].insert(n) {
                    tids[i] = Some(n);
                }
            }
        }
        for (i, t) in self.threads.iter().enumerate() {
            if tids[i].is_none() {
                tids[i] = Some(synthetic(&t.raw, &mut used_tids[t.process]));
            }
        }
        for (i, t) in self.threads.iter().enumerate() {
            let gpu = self.processes[t.process].gpu;
            let name = if let Some(n) = &t.name {
                n.clone()
            } else if gpu && t.numeric.is_some() {
                format!("stream {}", t.raw)
            } else if t.numeric.is_some() {
                format!("thread {}", t.raw)
            } else if t.raw.is_empty() {
                "(empty tid)".to_owned()
            } else {
                t.raw.clone()
            };
            let name = self.trace.intern(&name);
            let track = &mut self.trace.tracks[t.track.index()];
            track.name = name;
            track.kind = TrackKind::Thread {
                pid: pids[t.process].unwrap(),
                tid: i64::from(tids[i].unwrap()),
                sort_index: t.sort_index,
            };
        }

        // Counter track names: `name` when the name has a single series.
        let mut series: FxHashMap<(usize, StrId), u32> = FxHashMap::default();
        for (p, n, _) in self.counter_tracks.keys() {
            *series.entry((*p, *n)).or_insert(0) += 1;
        }
        for ((p, n, k), t) in &self.counter_tracks {
            if series[&(*p, *n)] > 1 {
                let full = format!("{} {k}", self.trace.str(*n));
                let name = self.trace.intern(&full);
                self.trace.tracks[t.index()].name = name;
            }
        }

        // Before the base time is added: the rule for zero timestamps
        // reads them as written.
        self.set_apart_artifacts();

        self.bind_flows();

        // Base time.
        if let Some(base) = self.base {
            let overflow = || {
                InputError::new(
                    self.path,
                    Position::File,
                    "baseTimeNanoseconds + ts is beyond the i64 nanosecond range",
                )
                .field("baseTimeNanoseconds")
            };
            for s in &mut self.trace.slices[self.first_slice..] {
                s.ts = s.ts.checked_add(base).ok_or_else(overflow)?;
                s.ts.checked_add(s.dur).ok_or_else(overflow)?;
            }
            for c in &mut self.trace.counters[self.first_counter..] {
                c.ts = c.ts.checked_add(base).ok_or_else(overflow)?;
            }
        }
        self.trace.provenance.inputs[self.input as usize].records = self.events;
        Ok(std::mem::take(&mut self.extra))
    }

    /// Finds the GPU work that its stream cannot have executed as recorded
    /// (see [`gpu::ZERO_TIMESTAMP`], [`gpu::OVERLAPPING`]): each is warned
    /// about by event index, listed in [`Trace::gpu_artifacts`] and moved
    /// to a lane of its own under its stream, so it neither disturbs the
    /// stream's nesting nor is lost. Times are still as written (no base).
    fn set_apart_artifacts(&mut self) {
        struct Found {
            slice: SliceId,
            thread: usize,
            reason: &'static str,
            field: &'static str,
            message: String,
        }
        let first = self.first_slice;
        let mut found: Vec<Found> = Vec::new();
        // The extent of the input's events not written at 0, found when
        // first needed.
        let mut rest: Option<Option<(i64, i64)>> = None;
        for t in 0..self.threads.len() {
            let trace = &*self.trace;
            let process = trace.track(self.processes[self.threads[t].process].track);
            let on_device = gpu::is_device_name(trace.str(process.name));
            let mut work: Vec<(SliceId, u64)> = self.by_thread[t]
                .iter()
                .filter(|&&id| {
                    let s = trace.slice(id);
                    gpu::kind_of(
                        s.category.map(|c| trace.str(c)),
                        trace.str(s.name),
                        on_device,
                    )
                    .is_some()
                })
                .map(|&id| (id, self.slice_events[id.index() - first]))
                .collect();
            if work.is_empty() {
                continue;
            }
            work.sort_unstable_by_key(|&(_, index)| index);
            let stream = || {
                format!(
                    "{} / {}",
                    trace.str(process.name),
                    trace.str(trace.track(self.threads[t].track).name)
                )
            };
            // Zero timestamps far from everything else.
            if work.iter().any(|&(id, _)| trace.slice(id).ts == 0) {
                let rest = *rest.get_or_insert_with(|| {
                    let slices = trace.slices[first..]
                        .iter()
                        .filter(|s| s.ts != 0)
                        .map(|s| (s.ts, s.end()));
                    let counters = trace.counters[self.first_counter..]
                        .iter()
                        .filter(|c| c.ts != 0)
                        .map(|c| (c.ts, c.ts));
                    slices.chain(counters).fold(None, |acc, (a, b)| match acc {
                        None => Some((a, b)),
                        Some((lo, hi)) => Some((a.min(lo), b.max(hi))),
                    })
                });
                work.retain(|&(id, _)| {
                    let s = trace.slice(id);
                    if s.ts != 0 || !gpu::zero_timestamp_is_far(s.end(), rest) {
                        return true;
                    }
                    let (lo, hi) = rest.expect("far from something");
                    found.push(Found {
                        slice: id,
                        thread: t,
                        reason: gpu::ZERO_TIMESTAMP,
                        field: "ts",
                        message: format!(
                            "GPU work `{}` on {} has `ts` 0, {} before the input's other \
                             events (which span {}): 0 is what Kineto writes for a time the \
                             profiler could not collect, so this is a profiler artifact: {KEPT}",
                            trace.str(s.name),
                            stream(),
                            duration(lo - s.end()),
                            duration(hi - lo),
                        ),
                    });
                    false
                });
            }
            // Work overlapping other work on the stream beyond the noise.
            let spans: Vec<(i64, i64)> = work
                .iter()
                .map(|&(id, _)| (trace.slice(id).ts, trace.slice(id).end()))
                .collect();
            for o in gpu::overlapping(&spans) {
                let (id, _) = work[o.artifact];
                let (other, other_index) = work[o.other];
                let (s, k) = (trace.slice(id), trace.slice(other));
                found.push(Found {
                    slice: id,
                    thread: t,
                    reason: gpu::OVERLAPPING,
                    field: if o.starts_inside { "ts" } else { "dur" },
                    message: format!(
                        "GPU work `{}` on {} {}, overlapping it by {}, more than the {} of \
                         timing noise; a stream runs one piece of work at a time, so this is a \
                         profiler artifact: {KEPT}",
                        trace.str(s.name),
                        stream(),
                        if o.starts_inside {
                            format!(
                                "starts while `{}` (traceEvents[{other_index}]) runs",
                                trace.str(k.name)
                            )
                        } else {
                            format!(
                                "runs into `{}` (traceEvents[{other_index}])",
                                trace.str(k.name)
                            )
                        },
                        duration(o.by),
                        duration(gpu::OVERLAP_NOISE_NS),
                    ),
                });
            }
        }
        if found.is_empty() {
            return;
        }
        // Lanes: per stream, as few as keep the artifacts from crossing one
        // another (first fit in start order), so the layout has nothing to
        // move.
        found.sort_by_key(|f| {
            (
                f.thread,
                self.trace.slice(f.slice).ts,
                std::cmp::Reverse(self.trace.slice(f.slice).dur),
                f.slice,
            )
        });
        let mut lanes: Vec<(TrackId, Vec<i64>)> = Vec::new();
        let mut lane_thread = usize::MAX;
        for f in &found {
            if f.thread != lane_thread {
                lanes.clear();
                lane_thread = f.thread;
            }
            let s = self.trace.slice(f.slice);
            let (ts, end) = (s.ts, s.end());
            let mut placed = None;
            for (track, stack) in lanes.iter_mut() {
                while stack.last().is_some_and(|&e| e <= ts) {
                    stack.pop();
                }
                if stack.last().is_some_and(|&e| e < end) {
                    continue;
                }
                stack.push(end);
                placed = Some(*track);
                break;
            }
            let track = match placed {
                Some(track) => track,
                None => {
                    let stream = self.threads[f.thread].track;
                    let name = format!(
                        "{} (profiler artifacts)",
                        self.trace.str(self.trace.track(stream).name)
                    );
                    let name = self.trace.intern(&name);
                    let mut lane = Track::new(name, Some(stream), TrackKind::Plain);
                    lane.lane_of = Some((stream, u32::MAX - lanes.len() as u32));
                    lane.description = Some(
                        "GPU work this stream cannot have executed as recorded (profiler \
                         artifacts: see the warnings); left out of GPU statistics."
                            .into(),
                    );
                    let track = self.trace.add_track(lane);
                    lanes.push((track, vec![end]));
                    track
                }
            };
            self.trace.slices[f.slice.index()].track = track;
        }
        found.sort_by_key(|f| (self.slice_events[f.slice.index() - first], f.slice));
        for f in found {
            let index = self.slice_events[f.slice.index() - first];
            self.warn(
                f.reason,
                index,
                &format!("traceEvents[{index}].{}", f.field),
                f.message,
            );
            self.trace.gpu_artifacts.push(gpu::Artifact {
                slice: f.slice,
                reason: f.reason,
            });
        }
    }

    fn bind_flows(&mut self) {
        if self.flows.is_empty() {
            return;
        }
        let slices = &self.trace.slices;
        // Per thread: slices sorted by (ts, longer first) + running max end.
        let mut sorted: Vec<Vec<SliceId>> = std::mem::take(&mut self.by_thread);
        let mut max_end: Vec<Vec<i64>> = Vec::with_capacity(sorted.len());
        for v in &mut sorted {
            v.sort_by_key(|&id| {
                let s = &slices[id.index()];
                (s.ts, std::cmp::Reverse(s.dur), id)
            });
            let mut m = i64::MIN;
            max_end.push(
                v.iter()
                    .map(|&id| {
                        m = m.max(slices[id.index()].end());
                        m
                    })
                    .collect(),
            );
        }
        let bind = |e: &FlowEnd| -> Option<SliceId> {
            let (thread, enclosing) = match e.target {
                Target::Slice(s) => return s,
                Target::Thread { thread, enclosing } => (thread as usize, enclosing),
            };
            let v = &sorted[thread];
            let me = &max_end[thread];
            // First position whose start is > ts.
            let after = v.partition_point(|&id| slices[id.index()].ts <= e.ts);
            if !enclosing {
                let at = v.partition_point(|&id| slices[id.index()].ts < e.ts);
                if at < v.len() {
                    return Some(v[at]);
                }
            }
            // Innermost enclosing: latest start with end >= ts; among equal
            // starts the shortest (sorted longer first, so the last).
            let mut j = after;
            while j > 0 {
                j -= 1;
                if me[j] < e.ts {
                    return None;
                }
                let s = &slices[v[j].index()];
                if s.end() >= e.ts {
                    return Some(v[j]);
                }
            }
            None
        };
        self.flow_groups = FxHashMap::default();
        let mut ends = std::mem::take(&mut self.flows);
        // Groups in order of first sight; within a group, file order.
        ends.sort_unstable_by_key(|e| (e.group, e.index));
        let mut new_flows = Vec::new();
        let mut unbound = Vec::new();
        let mut unmatched = Vec::new();
        for g in ends.chunk_by_mut(|a, b| a.group == b.group) {
            let pair = g.len() == 2
                && g.iter().any(|e| e.phase == FlowPhase::Start)
                && g.iter().any(|e| e.phase == FlowPhase::End);
            if pair {
                g.sort_by_key(|e| e.phase);
            } else {
                g.sort_by_key(|e| (e.ts, e.phase, e.index));
            }
            let field = if matches!(g[0].target, Target::Slice(_)) {
                "bind_id"
            } else {
                "id"
            };
            let mut prev: Option<(SliceId, u64)> = None;
            for e in g.iter() {
                let slice = bind(e);
                if slice.is_none() {
                    unbound.push((e.index, matches!(e.target, Target::Slice(_))));
                }
                match e.phase {
                    FlowPhase::Start => {
                        if let Some((_, i)) = prev {
                            unmatched.push((i, field, "flow start without a matching end"));
                        }
                        prev = slice.map(|s| (s, e.index));
                    }
                    FlowPhase::Step | FlowPhase::End => {
                        match (prev, slice) {
                            (Some((from, _)), Some(to)) => new_flows.push(Flow { from, to }),
                            (None, _) => {
                                unmatched.push((e.index, field, "flow end without a start"))
                            }
                            (Some(_), None) => {}
                        }
                        prev = if e.phase == FlowPhase::Step {
                            slice.map(|s| (s, e.index))
                        } else {
                            None
                        };
                    }
                }
            }
            if let Some((_, i)) = prev {
                unmatched.push((i, field, "flow start without a matching end"));
            }
        }
        self.trace.flows.extend(new_flows);
        for (i, v2) in unbound {
            if v2 {
                self.warn(
                    "flow_unbound",
                    i,
                    &format!("traceEvents[{i}].bind_id"),
                    "the event carrying this flow end made no slice",
                );
            } else {
                self.warn(
                    "flow_unbound",
                    i,
                    &format!("traceEvents[{i}].ts"),
                    "no slice on this flow event's pid/tid at its ts",
                );
            }
        }
        for (i, field, m) in unmatched {
            self.warn("flow_unmatched", i, &format!("traceEvents[{i}].{field}"), m);
        }
    }
}

/// The args of a slice from a `B` and its `E` (or a mark added to them):
/// one object, `b`'s keys in order with `e`'s value where `e` has the key
/// too, then `e`'s other keys — the trace-event format's rule. An empty
/// or `null` side leaves the other untouched (no copy); a side that is not
/// an object counts as the one key `args`, as [`Importer::args`] shows it.
fn merge_args<'a>(
    b: Option<Cow<'a, str>>,
    b_depth: Option<usize>,
    e: Option<Cow<'a, str>>,
    e_depth: Option<usize>,
) -> (Option<Cow<'a, str>>, Option<usize>) {
    let empty = |t: &Option<Cow<str>>| match t.as_deref() {
        None => true,
        Some(t) => t == "null" || (t.starts_with('{') && t[1..].trim_start().starts_with('}')),
    };
    if empty(&e) {
        return (b, b_depth);
    }
    if empty(&b) {
        return (e, e_depth);
    }
    let (b, e) = (b.unwrap(), e.unwrap());
    let pairs = |t: &str| -> Vec<(String, String)> {
        match serde_json::from_str::<crate::json::Pairs>(t) {
            Ok(crate::json::Pairs(p)) => p
                .into_iter()
                .map(|(k, v)| (k.into_owned(), v.get().to_owned()))
                .collect(),
            Err(_) => vec![(
                "args".to_owned(),
                serde_json::to_string(t).expect("a string serializes"),
            )],
        }
    };
    let mut merged = pairs(&b);
    for (k, v) in pairs(&e) {
        match merged.iter_mut().find(|(mk, _)| *mk == k) {
            Some(slot) => slot.1 = v,
            None => merged.push((k, v)),
        }
    }
    let mut text = String::from("{");
    for (i, (k, v)) in merged.iter().enumerate() {
        if i > 0 {
            text.push_str(", ");
        }
        text.push_str(&serde_json::to_string(k).expect("a string serializes"));
        text.push_str(": ");
        text.push_str(v);
    }
    text.push('}');
    let depth = args_depth(Some(&text));
    (Some(Cow::Owned(text)), depth)
}

/// The end of every profiler-artifact warning.
const KEPT: &str = "kept in the trace on a lane of its own under the stream, left out of GPU \
                    span, busy, idle and gap statistics";

/// A duration for a message: `250 ns`, `1.5 µs`, `29.408 µs`, `3.2 ms`,
/// `2413669.097 s (27.9 days)`, `1615207264.505 s (51.2 years)` (at most
/// three decimals, trailing zeros dropped).
fn duration(ns: i64) -> String {
    let (value, unit) = match ns.unsigned_abs() {
        0..=999 => return format!("{ns} ns"),
        1_000..=999_999 => (ns as f64 / 1e3, "µs"),
        1_000_000..=999_999_999 => (ns as f64 / 1e6, "ms"),
        _ => (ns as f64 / 1e9, "s"),
    };
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    const DAY: f64 = 86_400e9;
    let days = ns as f64 / DAY;
    if days.abs() >= 365.25 {
        format!("{text} {unit} ({:.1} years)", days / 365.25)
    } else if days.abs() >= 1.0 {
        format!("{text} {unit} ({days:.1} days)")
    } else {
        format!("{text} {unit}")
    }
}

/// A stable int32 id for a string (or out-of-range) pid/tid.
fn synthetic(text: &str, used: &mut FxHashSet<i32>) -> i32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in text.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    let mut id = 0x4000_0000 + (h % (1 << 29)) as i32;
    while !used.insert(id) {
        id = if id == i32::MAX { 0x4000_0000 } else { id + 1 };
    }
    id
}

/// Why reading the file's JSON stopped.
enum Failure {
    /// Broken or cut JSON; `in_array` when inside `traceEvents`, where the
    /// error names the event.
    Json { fault: JsonFault, in_array: bool },
    /// An event the importer cannot use.
    Event(InputError),
}

/// Walks the top level, an object (picking `traceEvents` and
/// `baseTimeNanoseconds`) or a bare array of events, checking its syntax as
/// serde_json does; the events array goes through [`chunked::walk_with`].
///
/// Nothing after a complete events array costs the events: a bare array
/// may lack its closing `]` (the JSON Array Format allows it), and a cut,
/// broken JSON or trailing text after the array (and, in the object form,
/// after the `traceEvents` array) is a warning that says what was wrong.
fn walk_top<'a>(imp: &mut Importer<'a, '_>, text: &'a str) -> Result<(), Failure> {
    let body = text.as_bytes();
    let json = |fault| Failure::Json {
        fault,
        in_array: false,
    };
    let pos = chunked::skip_ws(body, 0);
    match body.get(pos) {
        Some(b'[') => {
            match events(imp, text, pos)? {
                chunked::Ended::Closed(end) => {
                    if let Err(fault) = trailing(body, end) {
                        imp.warn_tail(text, &fault, After::Array);
                    }
                }
                chunked::Ended::Open(fault) => imp.warn_unclosed(text, &fault),
            }
            Ok(())
        }
        Some(b'{') => {
            let mut tail = Tail::default();
            match object(imp, text, pos, &mut tail) {
                Ok(end) => {
                    if let Err(fault) = trailing(body, end) {
                        imp.warn_tail(text, &fault, After::Object);
                    }
                    Ok(())
                }
                Err(Failure::Json {
                    fault,
                    in_array: false,
                }) if tail.done && matches!(fault.category, Category::Syntax | Category::Eof) => {
                    imp.warn_tail(text, &fault, After::Member(tail.member_end));
                    Ok(())
                }
                Err(e) => Err(e),
            }
        }
        None => Err(json(chunked::eof(body, "a value"))),
        Some(_) => Err(json(chunked::wrong_type(
            text,
            pos,
            "an object with `traceEvents` or an array of trace events",
        ))),
    }
}

/// What a broken tail follows.
#[derive(Clone, Copy)]
enum After {
    /// A bare event array.
    Array,
    /// The complete top-level object.
    Object,
    /// The complete `traceEvents` array, inside the top-level object whose
    /// last complete member ends at this offset.
    Member(usize),
}

/// "all 3 events are kept", "its 1 event is kept".
fn kept(n: u64) -> String {
    if n == 1 {
        "its 1 event is kept".to_owned()
    } else {
        format!("all {n} events are kept")
    }
}

/// Where the top-level object's reading got to.
#[derive(Default)]
struct Tail {
    /// The `traceEvents` array was read whole.
    done: bool,
    /// The offset just past the last complete member (or the `{`).
    member_end: usize,
}

/// Only whitespace from `pos` to the end, or the fault of what follows.
fn trailing(body: &[u8], pos: usize) -> Result<(), JsonFault> {
    let pos = chunked::skip_ws(body, pos);
    if pos < body.len() {
        return Err(chunked::fault_at(
            body,
            pos,
            Category::Syntax,
            "trailing characters",
        ));
    }
    Ok(())
}

/// Reads the top-level object whose `{` is at `pos`; returns the offset
/// past its `}`.
fn object<'a>(
    imp: &mut Importer<'a, '_>,
    text: &'a str,
    mut pos: usize,
    tail: &mut Tail,
) -> Result<usize, Failure> {
    let body = text.as_bytes();
    let json = |fault| Failure::Json {
        fault,
        in_array: false,
    };
    let syntax = |pos, message| json(chunked::fault_at(body, pos, Category::Syntax, message));
    pos += 1;
    tail.member_end = pos;
    let mut first = true;
    loop {
        pos = chunked::skip_ws(body, pos);
        match body.get(pos) {
            None => return Err(json(chunked::eof(body, "an object"))),
            Some(b'}') => {
                pos += 1;
                break;
            }
            Some(b'"') if first => {}
            Some(b',') if !first => {
                pos = chunked::skip_ws(body, pos + 1);
                match body.get(pos) {
                    Some(b'"') => {}
                    Some(b'}') => return Err(syntax(pos, "trailing comma")),
                    Some(_) => return Err(syntax(pos, "key must be a string")),
                    None => return Err(json(chunked::eof(body, "a value"))),
                }
            }
            Some(_) if first => return Err(syntax(pos, "key must be a string")),
            Some(_) => return Err(syntax(pos, "expected `,` or `}`")),
        }
        first = false;
        let (key, end) = chunked::value::<Str>(text, pos).map_err(json)?;
        pos = chunked::skip_ws(body, end);
        match body.get(pos) {
            Some(b':') => pos = chunked::skip_ws(body, pos + 1),
            Some(_) => return Err(syntax(pos, "expected `:`")),
            None => return Err(json(chunked::eof(body, "an object"))),
        }
        match &*key.0 {
            "traceEvents" => {
                if tail.done {
                    return Err(json(JsonFault::at(
                        body,
                        end,
                        Category::Data,
                        "duplicate key `traceEvents`",
                    )));
                }
                match events(imp, text, pos)? {
                    chunked::Ended::Closed(end) => pos = end,
                    // Only a bare array may stay open.
                    chunked::Ended::Open(fault) => {
                        return Err(Failure::Json {
                            fault,
                            in_array: true,
                        })
                    }
                }
                tail.done = true;
            }
            "baseTimeNanoseconds" => {
                let (v, end) = match chunked::value::<&RawValue>(text, pos) {
                    Ok(x) => x,
                    Err(f) => {
                        let token = (f.category == Category::Syntax)
                            .then(|| crate::json::non_finite(text, pos))
                            .flatten()
                            .filter(|s| s.tokens[0].path.is_empty());
                        return Err(match token {
                            Some(s) => Failure::Event(
                                InputError::new(
                                    imp.path,
                                    Position::File,
                                    format!(
                                        "`{}` is not a number ({}); a time must be a finite number",
                                        s.tokens[0].token,
                                        crate::json::non_finite_kind(s.tokens[0].token)
                                    ),
                                )
                                .field("baseTimeNanoseconds"),
                            ),
                            None => json(f),
                        });
                    }
                };
                let text = v.get().trim_matches('"');
                match time::to_ns(text, Unit::Nanos) {
                    Ok(b) => imp.base = Some(b),
                    Err(e) => {
                        return Err(Failure::Event(
                            InputError::new(imp.path, Position::File, e.to_string())
                                .field("baseTimeNanoseconds"),
                        ))
                    }
                }
                pos = end;
            }
            // Kineto's `{"backend": "nccl", "rank": 0, "world_size": 8, ...}`:
            // the rank is kept (SQL `process.rank`, `gpu_work.rank`, `export`);
            // anything else there, or a value that is not an object, is ignored.
            "distributedInfo" => {
                pos = match chunked::value::<&RawValue>(text, pos) {
                    Ok((v, end)) => {
                        imp.distributed_info(v.get());
                        end
                    }
                    Err(f) => imp
                        .ignored_non_finite(text, pos, "distributedInfo", f)
                        .map_err(json)?,
                }
            }
            key => {
                pos = match chunked::value::<IgnoredAny>(text, pos) {
                    Ok((_, end)) => end,
                    Err(f) => imp.ignored_non_finite(text, pos, key, f).map_err(json)?,
                }
            }
        }
        tail.member_end = pos;
    }
    Ok(pos)
}

/// Reads the `traceEvents` array starting at `pos`: how it ended.
fn events<'a>(
    imp: &mut Importer<'a, '_>,
    text: &'a str,
    pos: usize,
) -> Result<chunked::Ended, Failure> {
    if text.as_bytes()[pos] != b'[' {
        return Err(Failure::Json {
            fault: chunked::wrong_type(text, pos, "an array of trace events"),
            in_array: false,
        });
    }
    let opts = chunked::Options::default();
    chunked::walk_with(text, pos, &opts, prepare, repair, |ev| {
        let index = imp.events;
        imp.events += 1;
        imp.event(ev, index)
    })
    .map_err(|stop| match stop {
        chunked::Stop::Fault(fault) => Failure::Json {
            fault,
            in_array: true,
        },
        chunked::Stop::Sink(e) => Failure::Event(e),
    })
}

impl Importer<'_, '_> {
    /// Keeps `distributedInfo.rank` (an integer, or a string of one) as
    /// the input's rank.
    fn distributed_info(&mut self, raw: &str) {
        #[derive(serde::Deserialize)]
        struct Info {
            rank: Option<serde_json::Value>,
        }
        let Ok(info) = serde_json::from_str::<Info>(raw) else {
            return;
        };
        let rank = match info.rank {
            Some(serde_json::Value::Number(n)) => n.as_i64(),
            Some(serde_json::Value::String(s)) => s.trim().parse().ok(),
            _ => None,
        };
        if let Some(i) = self.trace.provenance.inputs.get_mut(self.input as usize) {
            i.rank = rank;
        }
    }

    fn warn_file(&mut self, kind: &'static str, field: &str, message: String) {
        self.trace.warnings.push(Warning {
            kind,
            input: self.input,
            location: Location::File,
            field: field.to_owned(),
            message,
        });
    }

    /// A top-level value the importer does not read that serde_json
    /// refused: when only non-finite numbers are wrong with it, each is a
    /// warning and reading goes on past it (its offset); else the fault.
    fn ignored_non_finite(
        &mut self,
        text: &str,
        pos: usize,
        key: &str,
        fault: JsonFault,
    ) -> Result<usize, JsonFault> {
        if fault.category != Category::Syntax {
            return Err(fault);
        }
        let Some(san) = crate::json::non_finite(text, pos) else {
            return Err(fault);
        };
        if let Err(e) = serde_json::from_str::<IgnoredAny>(&san.text) {
            return Err(fault_back(text, &san, &e));
        }
        let Some(end) = san.end else {
            return Err(fault);
        };
        for t in &san.tokens {
            let field = if t.path.is_empty() {
                key.to_owned()
            } else if t.path.starts_with('[') {
                format!("{key}{}", t.path)
            } else {
                format!("{key}.{}", t.path)
            };
            self.warn_file(
                "non_finite_number",
                &field,
                format!(
                    "`{}` ({}) is not a JSON number; ignored with the rest of `{key}`",
                    t.token,
                    crate::json::non_finite_kind(t.token)
                ),
            );
        }
        Ok(end)
    }

    /// The bare event array ends without its `]`.
    fn warn_unclosed(&mut self, text: &str, fault: &JsonFault) {
        let comma = text.trim_end().ends_with(',');
        let kept = kept(self.events);
        self.warn_file(
            "unclosed_array",
            "",
            format!(
                "the event array has no closing `]` (the file ends at line {}, column {}{}), as \
                 the JSON Array Format allows (a tracer that stopped or streams leaves it so); \
                 {kept}",
                fault.line,
                fault.column,
                if comma { ", after a comma" } else { "" },
            ),
        );
    }

    /// Something wrong after the complete events array: the events stay.
    fn warn_tail(&mut self, text: &str, fault: &JsonFault, after: After) {
        let only_brace = match after {
            After::Member(m) => {
                fault.category == Category::Eof && matches!(text[m..].trim(), "" | ",")
            }
            _ => false,
        };
        let what = if only_brace {
            "the top-level object's closing `}` is missing".to_owned()
        } else if fault.category == Category::Eof {
            format!("the file ends early ({})", fault.message)
        } else {
            fault.message.clone()
        };
        let rest = match after {
            _ if only_brace => "",
            After::Member(_) if self.base.is_none() => {
                "; the rest of the file is not read (a `baseTimeNanoseconds` there would be missed)"
            }
            _ => "; the rest of the file is not read",
        };
        let (array, kept) = (
            match after {
                After::Array => "event array",
                After::Object => "top-level object",
                After::Member(_) => "`traceEvents` array",
            },
            kept(self.events),
        );
        self.warn_file(
            "broken_tail",
            "",
            format!(
                "after the complete {array}, at line {}, column {}: {what}; {kept}{rest}",
                fault.line, fault.column
            ),
        );
    }
}

/// Reads one Chrome-trace input (consumed: its buffer becomes a blob).
pub fn import(trace: &mut Trace, index: u32, input: Input, salvage: bool) -> Result<()> {
    let Input { path, bytes, .. } = input;
    let blob = trace.blobs.len() as u32;
    // JSON is UTF-8: one check of the whole text (cheap) spares serde_json
    // a check of every string, and the writer one of every args object.
    let bom = if bytes.starts_with(b"\xef\xbb\xbf") {
        3
    } else {
        0
    };
    // A text that stops inside a character was cut: read what precedes,
    // and the cut is reported (or salvaged) like a cut anywhere else.
    let mut cut_char = None;
    let owned = match String::from_utf8(bytes) {
        Ok(s) => s,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            if e.utf8_error().error_len().is_some() {
                return Err(super::utf8_error(&path, &e.as_bytes()[bom..], at - bom).into());
            }
            let mut b = e.into_bytes();
            cut_char = Some(super::utf8_error(&path, &b[bom..], at - bom));
            b.truncate(at);
            String::from_utf8(b).expect("valid up to `at`")
        }
    };
    let text = &owned[bom..];
    let first_slice = trace.slices.len();
    let first_counter = trace.counters.len();
    let extra;
    let used_pids = trace
        .tracks
        .iter()
        .filter_map(|t| match t.kind {
            TrackKind::Process { pid, .. } => Some(pid),
            _ => None,
        })
        .collect();
    {
        let mut imp = Importer {
            trace,
            path: &path,
            input: index,
            blob,
            base_ptr: owned.as_ptr() as usize,
            base_len: owned.len(),
            processes: Vec::new(),
            process_ix: FxHashMap::default(),
            threads: Vec::new(),
            pmeta: FxHashMap::default(),
            tmeta: FxHashMap::default(),
            used_pids,
            thread_ix: FxHashMap::default(),
            open: FxHashMap::default(),
            last: Vec::new(),
            extra: String::new(),
            by_thread: Vec::new(),
            slice_events: Vec::new(),
            flow_groups: FxHashMap::default(),
            flows: Vec::new(),
            counter_tracks: FxHashMap::default(),
            global: None,
            base: None,
            events: 0,
            first_slice,
            first_counter,
        };
        match walk_top(&mut imp, text) {
            Ok(()) => {
                if let Some(e) = cut_char {
                    // Complete JSON followed by a broken character.
                    return Err(e.into());
                }
            }
            Err(Failure::Event(e)) => return Err(e.into()),
            Err(Failure::Json { fault, in_array }) => {
                if !crate::error::is_cut(text, &fault) {
                    let err = InputError::json_in(&path, text, &fault, None);
                    return Err(if in_array {
                        err.field(format!("traceEvents[{}]", imp.events))
                    } else {
                        err
                    }
                    .into());
                }
                if !salvage {
                    return Err(InputError::json_in(&path, text, &fault, Some(imp.events)).into());
                }
                let kept = imp.events;
                super::warn_salvaged(imp.trace, index, &path, kept, fault.line, fault.column);
            }
        }
        extra = imp.finish()?;
    }
    trace.blobs.push(owned);
    if !extra.is_empty() {
        trace.blobs.push(extra);
    }
    Ok(())
}
