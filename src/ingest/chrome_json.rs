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
//! **Phases.** `X` → span; `B`/`E` → span, matched per (pid, tid) as a stack
//! (the `E`'s own args are ignored); `i`/`I` → instant on the thread (`s` =
//! `t` or absent), the process (`p`) or a top-level `global` track (`g`);
//! `C` → one counter track per (pid, name, series key), named `name` when the
//! name has a single series in the file, else `name key`; `M` → names, labels
//! and sort indexes of processes and threads (the last of duplicates wins);
//! `s`/`t`/`f` → flows. Other phases are counted as `unsupported_phase`.
//!
//! **Processes and threads.** Each (pid, tid) is a thread track under its
//! pid's process track. A process is a GPU when its `process_labels` name one
//! (`GPU 0`) or it holds GPU work (`kernel`, `gpu_memcpy`, `gpu_memset`,
//! `gpu_user_annotation`, legacy `Kernel`/`Memcpy`/`Memset`); a GPU process is
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
//! Ends that find no partner or no slice are counted warnings.
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
    args: Option<&'a RawValue>,
    /// How deep `args` nests, when deeper than [`crate::json::MAX_DEPTH`].
    args_depth: Option<usize>,
    id: Option<&'a RawValue>,
    /// `"bp": "e"`: a flow end binds to the enclosing slice.
    bind_enclosing: bool,
    /// Instant scope (`s`): `g`, `p`, or the thread.
    scope: Scope,
    /// Name and category need no cleaning ([`Importer::name`]).
    name_plain: bool,
    cat_plain: bool,
    /// The category is one of [`GPU_CATEGORIES`].
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

fn prepare(ev: RawEvent<'_>) -> Event<'_> {
    let args_depth = ev
        .args
        .map(RawValue::get)
        .filter(|t| t.starts_with('{'))
        .and_then(|t| crate::json::deeper_than(t, crate::json::MAX_DEPTH));
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
        gpu: ev
            .cat
            .as_ref()
            .is_some_and(|c| GPU_CATEGORIES.contains(&&*c.0)),
        ph: ev.ph.map(|s| s.0),
        name: ev.name.map(|s| s.0),
        cat: ev.cat.map(|s| s.0),
        args: ev.args,
        id: ev.id,
    }
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
    /// Index of its (`cat`, `id`) group, numbered in order of first sight.
    group: u32,
    phase: FlowPhase,
    /// Index in `Importer::threads`.
    thread: u32,
    ts: i64,
    enclosing: bool,
    index: u64,
}

/// State of one input's import.
struct Importer<'a, 't> {
    trace: &'t mut Trace,
    path: &'a std::path::Path,
    input: u32,
    blob: u32,
    base_ptr: usize,
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
    /// Open `B` slices per thread: (ts, name, cat, args, event index).
    open: FxHashMap<usize, Vec<(i64, StrId, Option<StrId>, Args)>>,
    /// Slices per thread (by index in `threads`), for flow binding.
    by_thread: Vec<Vec<SliceId>>,
    flow_groups: FxHashMap<(Option<StrId>, &'a str), u32>,
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

const GPU_CATEGORIES: &[&str] = &[
    "kernel",
    "gpu_memcpy",
    "gpu_memset",
    "gpu_user_annotation",
    "Kernel",
    "Memcpy",
    "Memset",
];

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
        self.thread_ix.insert((pid, tid), t);
        t
    }

    fn args(&mut self, v: Option<&'a RawValue>, depth: Option<usize>, index: u64) -> Args {
        let Some(v) = v else { return Args::None };
        let text = v.get();
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
                let start = text.as_ptr() as usize - self.base_ptr;
                Args::Raw {
                    blob: self.blob,
                    start: start as u64,
                    len: text.len() as u32,
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

    fn add_slice(
        &mut self,
        thread: usize,
        ts: i64,
        dur: i64,
        name: StrId,
        cat: Option<StrId>,
        args: Args,
        kind: SliceKind,
    ) {
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
    fn event(&mut self, ev: Event<'a>, index: u64) -> Result<(), InputError> {
        let ph = ev.ph.as_deref().unwrap_or("");
        match ph {
            "X" | "B" | "E" | "i" | "I" => {
                let (pid, tid) = (ev.pid, ev.tid);
                let ts = self.at(&ev.ts, index, "ts")?;
                let name = self.event_name(&ev, index);
                let cat = self.event_cat(&ev, index);
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
                        if dur < 0 {
                            self.warn(
                                "negative_duration",
                                index,
                                &format!("traceEvents[{index}].dur"),
                                format!("dur {} µs is negative; event skipped", dur as f64 / 1e3),
                            );
                            return Ok(());
                        }
                        let args = self.args(ev.args, ev.args_depth, index);
                        self.add_slice(t, ts, dur, name, cat, args, SliceKind::Span);
                    }
                    "B" => {
                        let t = self.thread(pid, tid);
                        self.threads[t].gpu |= ev.gpu;
                        let args = self.args(ev.args, ev.args_depth, index);
                        self.open.entry(t).or_default().push((ts, name, cat, args));
                    }
                    "E" => {
                        let t = self.thread(pid, tid);
                        match self.open.get_mut(&t).and_then(Vec::pop) {
                            None => self.warn(
                                "unmatched_end",
                                index,
                                &format!("traceEvents[{index}].ph"),
                                "`E` without an open `B` on its pid/tid; ignored",
                            ),
                            Some((bts, bname, bcat, bargs)) => {
                                if ts < bts {
                                    self.warn(
                                        "negative_duration",
                                        index,
                                        &format!("traceEvents[{index}].ts"),
                                        "`E` before its `B`; pair skipped",
                                    );
                                } else {
                                    self.add_slice(
                                        t,
                                        bts,
                                        ts - bts,
                                        bname,
                                        bcat,
                                        bargs,
                                        SliceKind::Span,
                                    );
                                }
                            }
                        }
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
                                self.add_slice(t, ts, 0, name, cat, args, SliceKind::Instant);
                                return Ok(());
                            }
                        };
                        self.trace.add_slice(Slice {
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
                    }
                }
            }
            "C" => {
                let ts = self.at(&ev.ts, index, "ts")?;
                let p = self.process(ev.pid);
                let name = self.event_name(&ev, index);
                let Some(args) = ev.args.filter(|a| a.get().starts_with('{')) else {
                    self.warn(
                        "counter_without_values",
                        index,
                        &format!("traceEvents[{index}].args"),
                        "`C` event without an args object",
                    );
                    return Ok(());
                };
                let crate::json::Pairs(pairs) = serde_json::from_str(args.get())
                    .map_err(|e| self.err(index, "args", e.to_string()))?;
                for (key, v) in pairs {
                    let value = match crate::json::scalar(v) {
                        Some(ArgValue::Int(i)) => i as f64,
                        Some(ArgValue::Uint(u)) => u as f64,
                        Some(ArgValue::Real(f)) => f,
                        Some(ArgValue::Str(s)) if s.trim().parse::<f64>().is_ok() => {
                            s.trim().parse::<f64>().unwrap()
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
                let phase = match ph {
                    "s" => FlowPhase::Start,
                    "t" => FlowPhase::Step,
                    _ => FlowPhase::End,
                };
                let enclosing = phase != FlowPhase::End || ev.bind_enclosing;
                let cat = self.event_cat(&ev, index);
                let next = self.flow_groups.len() as u32;
                let group = *self.flow_groups.entry((cat, id.get())).or_insert(next);
                self.flows.push(FlowEnd {
                    group,
                    phase,
                    thread: t as u32,
                    ts,
                    enclosing,
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
        Ok(())
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
        let args: MArgs = match ev.args.map(|a| serde_json::from_str::<MArgs>(a.get())) {
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
    fn finish(mut self) -> Result<(), InputError> {
        // Unclosed `B`s.
        let unclosed: u64 = self.open.values().map(|v| v.len() as u64).sum();
        if unclosed > 0 {
            self.trace.warnings.push(Warning {
                kind: "unmatched_begin",
                input: self.input,
                location: Location::File,
                field: "traceEvents".into(),
                message: format!("{unclosed} `B` events never ended; not converted"),
            });
        }

        // Metadata, then GPU detection.
        for p in &mut self.processes {
            if let Some(m) = self.pmeta.remove(&p.key) {
                p.name = m.name;
                p.labels = m.labels;
                p.sort_index = m.sort_index;
            }
            p.gpu = p.labels.iter().any(|l| is_gpu_label(l));
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
                    .find(|l| is_gpu_label(l))
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
        Ok(())
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
            let v = &sorted[e.thread as usize];
            let me = &max_end[e.thread as usize];
            // First position whose start is > ts.
            let after = v.partition_point(|&id| slices[id.index()].ts <= e.ts);
            if !e.enclosing {
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
            let mut prev: Option<(SliceId, u64)> = None;
            for e in g.iter() {
                let slice = bind(e);
                if slice.is_none() {
                    unbound.push(e.index);
                }
                match e.phase {
                    FlowPhase::Start => {
                        if let Some((_, i)) = prev {
                            unmatched.push((i, "flow start without a matching end"));
                        }
                        prev = slice.map(|s| (s, e.index));
                    }
                    FlowPhase::Step | FlowPhase::End => {
                        match (prev, slice) {
                            (Some((from, _)), Some(to)) => new_flows.push(Flow { from, to }),
                            (None, _) => unmatched.push((e.index, "flow end without a start")),
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
                unmatched.push((i, "flow start without a matching end"));
            }
        }
        self.trace.flows.extend(new_flows);
        for i in unbound {
            self.warn(
                "flow_unbound",
                i,
                &format!("traceEvents[{i}].ts"),
                "no slice on this flow event's pid/tid at its ts",
            );
        }
        for (i, m) in unmatched {
            self.warn("flow_unmatched", i, &format!("traceEvents[{i}].id"), m);
        }
    }
}

fn is_gpu_label(l: &str) -> bool {
    l.strip_prefix("GPU ")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
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
/// serde_json does; the events array goes through [`chunked::walk`].
fn walk_top<'a>(imp: &mut Importer<'a, '_>, text: &'a str) -> Result<(), Failure> {
    let body = text.as_bytes();
    let json = |fault| Failure::Json {
        fault,
        in_array: false,
    };
    let syntax = |pos, message| json(chunked::fault_at(body, pos, Category::Syntax, message));
    let mut pos = chunked::skip_ws(body, 0);
    match body.get(pos) {
        Some(b'[') => pos = events(imp, text, pos)?,
        Some(b'{') => {
            pos += 1;
            let mut found = false;
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
                        if found {
                            return Err(json(JsonFault::at(
                                body,
                                end,
                                Category::Data,
                                "duplicate key `traceEvents`",
                            )));
                        }
                        found = true;
                        pos = events(imp, text, pos)?;
                    }
                    "baseTimeNanoseconds" => {
                        let (v, end) = chunked::value::<&RawValue>(text, pos).map_err(json)?;
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
                    _ => pos = chunked::value::<IgnoredAny>(text, pos).map_err(json)?.1,
                }
            }
            if !found {
                return Err(json(JsonFault::at(
                    body,
                    pos,
                    Category::Data,
                    "the object has no `traceEvents` array",
                )));
            }
        }
        None => return Err(json(chunked::eof(body, "a value"))),
        Some(_) => {
            return Err(json(chunked::wrong_type(
                text,
                pos,
                "an object with `traceEvents` or an array of trace events",
            )))
        }
    }
    pos = chunked::skip_ws(body, pos);
    if pos < body.len() {
        return Err(syntax(pos, "trailing characters"));
    }
    Ok(())
}

/// Reads the `traceEvents` array starting at `pos`; returns the offset
/// past it.
fn events<'a>(imp: &mut Importer<'a, '_>, text: &'a str, pos: usize) -> Result<usize, Failure> {
    if text.as_bytes()[pos] != b'[' {
        return Err(Failure::Json {
            fault: chunked::wrong_type(text, pos, "an array of trace events"),
            in_array: false,
        });
    }
    let opts = chunked::Options::default();
    chunked::walk(text, pos, &opts, prepare, |ev| {
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
            processes: Vec::new(),
            process_ix: FxHashMap::default(),
            threads: Vec::new(),
            pmeta: FxHashMap::default(),
            tmeta: FxHashMap::default(),
            used_pids,
            thread_ix: FxHashMap::default(),
            open: FxHashMap::default(),
            by_thread: Vec::new(),
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
        imp.finish()?;
    }
    trace.blobs.push(owned);
    Ok(())
}
