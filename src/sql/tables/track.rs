//! `process`, `thread`, `track`, `thread_track`, `process_track`,
//! `counter_track`: trace processor's names and columns (PERFETTO.md §1.8).
//!
//! - upid / utid 0 are the "unknown" rows, as in trace processor; then one
//!   process per pid of a process track (in track order), then the pids
//!   that only threads name; one thread per (pid, tid) thread track.
//! - `thread_track` / `process_track` also list the lane tracks the layout
//!   made under a thread or process track (same `utid` / `upid`), so slices
//!   moved to a lane still belong to their thread (a GPU stream) or process
//!   (a device) in `thread_slice` / `process_slice`.
//! - `track` has the extra column `classification` (our track kind:
//!   `process`, `thread`, `counter`, `plain`).
//! - `process` has the extra columns `input` (the path of the input that
//!   made it, as given; NULL for upid 0 and for merged TensorRT-LLM inputs)
//!   and `rank` (the input's Kineto `distributedInfo.rank`), so queries over
//!   several inputs tell them apart (`rank-summary`, `stragglers`).

use std::sync::Arc;

use rusqlite::types::Value;
use rustc_hash::FxHashMap;

use super::{def, id_column, int, opt_int, opt_text, text, Store, ValueRows};
use crate::model::{CounterUnit, Trace, TrackId, TrackKind};
use crate::sql::vtab::{Access, Column, Lazy};

/// Process and thread numbering and each track's type.
pub struct TrackIds {
    /// (pid, name) of upid 1, 2, ...
    pub processes: Vec<(i32, Option<String>)>,
    /// (pid, tid, first thread track) of utid 1, 2, ...
    pub threads: Vec<(i32, i64, usize)>,
    /// Per track: (trace processor `type`, our `classification`).
    pub types: Vec<(&'static str, &'static str)>,
    pub upid: FxHashMap<i32, i64>,
    pub utid: FxHashMap<(i32, i64), i64>,
    /// Per upid 1, 2, ...: the input that made its process (from its first
    /// process track, else its first thread track); see
    /// [`Trace::input_of_track`].
    pub process_input: Vec<Option<u32>>,
}

impl TrackIds {
    /// Numbers processes and threads as trace processor does.
    pub fn new(trace: &Trace) -> TrackIds {
        let mut processes: Vec<(i32, Option<String>)> = Vec::new();
        let mut upid: FxHashMap<i32, i64> = FxHashMap::default();
        let mut add =
            |pid: i32, name: Option<&str>, processes: &mut Vec<(i32, Option<String>)>| match upid
                .get(&pid)
            {
                Some(&u) => {
                    let e = &mut processes[u as usize - 1];
                    if e.1.is_none() {
                        e.1 = name.map(str::to_owned);
                    }
                }
                None => {
                    processes.push((pid, name.map(str::to_owned)));
                    upid.insert(pid, processes.len() as i64);
                }
            };
        for t in &trace.tracks {
            if let TrackKind::Process { pid, .. } = t.kind {
                add(pid, Some(trace.str(t.name)), &mut processes);
            }
        }
        for t in &trace.tracks {
            if let TrackKind::Thread { pid, .. } = t.kind {
                add(pid, None, &mut processes);
            }
        }
        let mut threads = Vec::new();
        let mut utid = FxHashMap::default();
        for (i, t) in trace.tracks.iter().enumerate() {
            if let TrackKind::Thread { pid, tid, .. } = t.kind {
                utid.entry((pid, tid)).or_insert_with(|| {
                    threads.push((pid, tid, i));
                    threads.len() as i64
                });
            }
        }
        let types = (0..trace.tracks.len())
            .map(|t| track_type(trace, t))
            .collect();
        let mut process_input: Vec<Option<Option<u32>>> = vec![None; processes.len()];
        let process_tracks = trace
            .tracks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match t.kind {
                TrackKind::Process { pid, .. } => Some((i, pid)),
                _ => None,
            });
        let thread_tracks = trace
            .tracks
            .iter()
            .enumerate()
            .filter_map(|(i, t)| match t.kind {
                TrackKind::Thread { pid, .. } => Some((i, pid)),
                _ => None,
            });
        for (i, pid) in process_tracks.chain(thread_tracks) {
            if let Some(&u) = upid.get(&pid) {
                let e = &mut process_input[u as usize - 1];
                if e.is_none() {
                    *e = Some(trace.input_of_track(i));
                }
            }
        }
        TrackIds {
            processes,
            threads,
            types,
            upid,
            utid,
            process_input: process_input.into_iter().map(Option::flatten).collect(),
        }
    }

    /// The track a lane track stands for (itself for other tracks).
    fn logical(trace: &Trace, t: usize) -> usize {
        trace.tracks[t].lane_of.map_or(t, |(l, _)| l.index())
    }
}

fn track_type(trace: &Trace, t: usize) -> (&'static str, &'static str) {
    let logical = TrackIds::logical(trace, t);
    // A counter under a thread (GPU queue length) is thread-scoped, one
    // under a process process-scoped, as trace processor resolves a
    // descriptor track's scope from its nearest thread or process ancestor.
    let scope = trace
        .track_path(TrackId(t as u32))
        .iter()
        .skip(1)
        .find_map(|a| match trace.track(*a).kind {
            TrackKind::Thread { .. } => Some("thread_counter_track_event"),
            TrackKind::Process { .. } => Some("process_counter_track_event"),
            _ => None,
        });
    match &trace.tracks[logical].kind {
        TrackKind::Process { .. } => ("process_track_event", "process"),
        TrackKind::Thread { .. } => ("thread_track_event", "thread"),
        TrackKind::Counter { .. } => (scope.unwrap_or("global_counter_track_event"), "counter"),
        TrackKind::Plain => ("global_track_event", "plain"),
    }
}

/// The process, thread and track tables over `store`.
pub fn tables(store: &Arc<Store>) -> Vec<Arc<Lazy>> {
    let s = store.clone();
    let process = Lazy::new(
        def(
            "process",
            vec![
                id_column(),
                int("upid").not_null().access(Access::RowIndex),
                int("pid"),
                text("name"),
                int("start_ts"),
                int("end_ts"),
                int("parent_upid"),
                int("uid"),
                int("android_appid"),
                int("android_user_id"),
                text("cmdline"),
                int("arg_set_id"),
                int("machine_id"),
                text("input"),
                int("rank"),
            ],
        ),
        move || {
            let mut rows = vec![row(15, &[(0, Value::Integer(0)), (1, Value::Integer(0))])];
            let ids = s.tracks();
            for (i, (pid, name)) in ids.processes.iter().enumerate() {
                let id = Value::Integer(i as i64 + 1);
                let input = ids.process_input[i];
                let info = input.and_then(|i| s.trace.provenance.inputs.get(i as usize));
                rows.push(row(
                    15,
                    &[
                        (0, id.clone()),
                        (1, id),
                        (2, Value::Integer(*pid as i64)),
                        (3, opt_text(name.as_deref())),
                        (13, opt_text(info.map(|i| i.path.as_str()))),
                        (14, opt_int(info.and_then(|i| i.rank))),
                    ],
                ));
            }
            Box::new(ValueRows(rows))
        },
    );
    let s = store.clone();
    let thread = Lazy::new(
        def(
            "thread",
            vec![
                id_column(),
                int("utid").not_null().access(Access::RowIndex),
                int("tid"),
                text("name"),
                int("start_ts"),
                int("end_ts"),
                int("upid").access(Access::Lookup),
                int("is_main_thread"),
                int("is_idle").not_null(),
                int("machine_id"),
                int("arg_set_id"),
            ],
        ),
        move || {
            let ids = s.tracks();
            let trace = &s.trace;
            let mut rows = vec![row(
                11,
                &[
                    (0, Value::Integer(0)),
                    (1, Value::Integer(0)),
                    (8, Value::Integer(0)),
                ],
            )];
            for (i, &(pid, tid, t)) in ids.threads.iter().enumerate() {
                let id = Value::Integer(i as i64 + 1);
                rows.push(row(
                    11,
                    &[
                        (0, id.clone()),
                        (1, id),
                        (2, Value::Integer(tid)),
                        (3, Value::Text(trace.str(trace.tracks[t].name).to_owned())),
                        (6, opt_int(ids.upid.get(&pid).copied())),
                        (7, Value::Integer((tid == pid as i64) as i64)),
                        (8, Value::Integer(0)),
                    ],
                ));
            }
            Box::new(ValueRows(rows))
        },
    );
    let s = store.clone();
    let track = Lazy::new(
        def(
            "track",
            vec![
                id_column(),
                text("name"),
                text("type").not_null(),
                int("dimension_arg_set_id"),
                int("parent_id").access(Access::Lookup),
                int("source_arg_set_id"),
                int("machine_id"),
                int("track_group_id"),
                text("classification").not_null(),
            ],
        ),
        move || {
            let ids = s.tracks();
            let trace = &s.trace;
            let rows = trace
                .tracks
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    let (ty, class) = ids.types[i];
                    row(
                        9,
                        &[
                            (0, Value::Integer(i as i64)),
                            (1, Value::Text(trace.str(t.name).to_owned())),
                            (2, Value::Text(ty.into())),
                            (4, opt_int(t.parent.map(|p| p.index() as i64))),
                            (8, Value::Text(class.into())),
                        ],
                    )
                })
                .collect();
            Box::new(ValueRows(rows))
        },
    );
    // The three typed views of `track`: a subset of its rows each, ids
    // ascending (binary search on `id`).
    let sub = |name: &'static str, cols: Vec<Column>, which: Which| {
        let s = store.clone();
        let n = cols.len();
        Lazy::new(super::def_sorted_id(name, cols), move || {
            let ids = s.tracks();
            let trace = &s.trace;
            let mut rows = Vec::new();
            for (i, t) in trace.tracks.iter().enumerate() {
                let logical = &trace.tracks[TrackIds::logical(trace, i)].kind;
                let name = Value::Text(trace.str(t.name).to_owned());
                let ty = Value::Text(ids.types[i].0.into());
                let parent = opt_int(t.parent.map(|p| p.index() as i64));
                let id = Value::Integer(i as i64);
                match (which, logical) {
                    (Which::Thread, TrackKind::Thread { pid, tid, .. }) => rows.push(row(
                        n,
                        &[
                            (0, id),
                            (1, name),
                            (2, ty),
                            (3, parent),
                            (6, opt_int(ids.utid.get(&(*pid, *tid)).copied())),
                        ],
                    )),
                    (Which::Process, TrackKind::Process { pid, .. }) => rows.push(row(
                        n,
                        &[
                            (0, id),
                            (1, name),
                            (2, ty),
                            (3, parent),
                            (6, opt_int(ids.upid.get(pid).copied())),
                        ],
                    )),
                    (Which::Counter, TrackKind::Counter { unit }) => {
                        let unit = match unit {
                            CounterUnit::Count => "count",
                            CounterUnit::Bytes => "bytes",
                            CounterUnit::TimeNs => "ns",
                            CounterUnit::Other(u) => u.as_str(),
                        };
                        rows.push(row(
                            n,
                            &[
                                (0, id),
                                (1, name),
                                (2, parent),
                                (3, ty),
                                (7, opt_text(Some(unit).filter(|u| !u.is_empty()))),
                                (8, opt_text(t.description.as_deref())),
                            ],
                        ))
                    }
                    _ => {}
                }
            }
            Box::new(ValueRows(rows))
        })
    };
    let thread_track = sub(
        "thread_track",
        vec![
            int("id"),
            text("name"),
            text("type").not_null(),
            int("parent_id"),
            int("source_arg_set_id"),
            int("machine_id"),
            int("utid").not_null().access(Access::Lookup),
        ],
        Which::Thread,
    );
    let process_track = sub(
        "process_track",
        vec![
            int("id"),
            text("name"),
            text("type").not_null(),
            int("parent_id"),
            int("source_arg_set_id"),
            int("machine_id"),
            int("upid").not_null().access(Access::Lookup),
        ],
        Which::Process,
    );
    let counter_track = sub(
        "counter_track",
        vec![
            int("id"),
            text("name"),
            int("parent_id"),
            text("type").not_null(),
            int("dimension_arg_set_id"),
            int("source_arg_set_id"),
            int("machine_id"),
            text("unit"),
            text("description"),
        ],
        Which::Counter,
    );
    [
        process,
        thread,
        track,
        thread_track,
        process_track,
        counter_track,
    ]
    .into_iter()
    .map(Arc::new)
    .collect()
}

#[derive(Clone, Copy)]
enum Which {
    Thread,
    Process,
    Counter,
}

/// A row of `n` NULLs with `set` filled in.
fn row(n: usize, set: &[(usize, Value)]) -> Vec<Value> {
    let mut r = vec![Value::Null; n];
    for (i, v) in set {
        r[*i] = v.clone();
    }
    r
}
