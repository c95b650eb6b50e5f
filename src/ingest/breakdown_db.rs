//! Our own SQLite database (a file written by `db`, format `breakdown-db`)
//! → model, so every command reads every output of the tool (`convert` a
//! database back to a trace, `info`, `report`).
//!
//! Read from the tables by their Perfetto names: `track` with `process`,
//! `thread`, `thread_track`, `process_track`, `counter_track` (kinds, pids,
//! tids, units, descriptions; the first track of a thread or process is its
//! track, later ones with the same utid / upid are its lanes), `slice` (in id
//! order) with its `args` (a set of plain `debug.<key>` rows becomes a list;
//! nested keys `debug.a.b` / `debug.x[0]` are rebuilt into JSON that
//! flattens to the same rows), `flow`, `counter`, `request` (absent stamps
//! take their cause from `request_segment.absent_reason`), `gpu_work.artifact`,
//! `warning` and `warning_count`. Inputs are the paths the tables name.
//!
//! Not in a database, so not rebuilt: slices' `correlation_id`, whether a
//! zero-length slice was an instant (all become zero-length slices), the
//! value of a non-streaming `server_first_token_time` (its column is NULL:
//! only that it is non-streaming is kept), process labels and sort indexes,
//! track descriptions other than counters', and the `iteration` and
//! `client_*` tables.

use std::path::{Path, PathBuf};

use rusqlite::types::Value as Sql;
use rusqlite::{Connection, OpenFlags};
use rustc_hash::FxHashMap;

use super::Input;
use crate::error::{InputError, Position, Result};
use crate::model::{
    gpu, ArgValue, Args, Counter, CounterUnit, Field, Flow, InputInfo, Location, Request,
    RequestKind, Slice, SliceId, SliceKind, Stamp, Trace, Track, TrackId, TrackKind, Warning,
};

/// SQLite's file header.
pub const SQLITE_HEADER: &[u8] = b"SQLite format 3\0";

/// The tables that make a database ours.
pub const OURS: [&str; 3] = ["slice", "track", "request"];

/// An open database file (a temporary copy when the input's bytes are not
/// the file's, e.g. a gzipped database).
struct Opened {
    conn: Connection,
    _tmp: Option<tempfile::NamedTempFile>,
}

fn open(input: &Input) -> std::result::Result<Opened, String> {
    let same = std::fs::metadata(&input.path).is_ok_and(|m| m.len() == input.bytes.len() as u64)
        && input.disk_bytes == input.bytes.len() as u64;
    let (path, tmp): (PathBuf, _) = if same {
        (input.path.clone(), None)
    } else {
        use std::io::Write;
        let mut t = tempfile::NamedTempFile::new().map_err(|e| e.to_string())?;
        t.write_all(&input.bytes).map_err(|e| e.to_string())?;
        (t.path().to_owned(), Some(t))
    };
    let conn = Connection::open_with_flags(
        &path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(|e| e.to_string())?;
    Ok(Opened { conn, _tmp: tmp })
}

/// Whether `input` is a database written by `db` (SQLite, with our
/// `slice`, `track` and `request` tables).
pub fn is_ours(input: &Input) -> bool {
    if !input.bytes.starts_with(SQLITE_HEADER) {
        return false;
    }
    let Ok(o) = open(input) else { return false };
    let n: i64 = o
        .conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('slice', 'track', 'request')",
            [],
            |r| r.get(0),
        )
        .unwrap_or(0);
    n == OURS.len() as i64
}

struct Reader<'a> {
    conn: &'a Connection,
    path: &'a Path,
}

impl Reader<'_> {
    fn err(&self, table: &str, e: impl std::fmt::Display) -> InputError {
        InputError {
            path: self.path.to_owned(),
            position: Position::File,
            field: Some(table.to_owned()),
            message: format!("cannot read this `db` file's table: {e}"),
        }
    }

    fn rows(&self, table: &str, sql: &str) -> std::result::Result<Vec<Vec<Sql>>, InputError> {
        let mut st = self.conn.prepare(sql).map_err(|e| self.err(table, e))?;
        let n = st.column_count();
        let rows = st
            .query_map([], |r| (0..n).map(|i| r.get::<_, Sql>(i)).collect())
            .map_err(|e| self.err(table, e))?;
        rows.collect::<rusqlite::Result<Vec<Vec<Sql>>>>()
            .map_err(|e| self.err(table, e))
    }

    fn has_table(&self, name: &str) -> bool {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE name = ?1",
                [name],
                |r| r.get::<_, i64>(0),
            )
            .unwrap_or(0)
            > 0
    }
}

fn int(v: &Sql) -> Option<i64> {
    match v {
        Sql::Integer(i) => Some(*i),
        _ => None,
    }
}

fn text(v: &Sql) -> Option<String> {
    match v {
        Sql::Text(s) => Some(s.clone()),
        _ => None,
    }
}

/// Reads a `db` file into `trace` as input `index`.
pub fn import(trace: &mut Trace, index: u32, input: &Input) -> Result<()> {
    let o = open(input).map_err(|e| {
        InputError::new(
            &input.path,
            Position::File,
            format!("cannot open the database: {e}"),
        )
    })?;
    let r = Reader {
        conn: &o.conn,
        path: &input.path,
    };
    let t0 = trace.tracks.len() as u32;
    let s0 = trace.slices.len();

    // Tracks.
    let tracks = r.rows("track", "SELECT id, name, parent_id FROM track ORDER BY id")?;
    let mut kind: FxHashMap<i64, TrackKind> = FxHashMap::default();
    let mut lane_of: FxHashMap<i64, (i64, u32)> = FxHashMap::default();
    let mut descr: FxHashMap<i64, String> = FxHashMap::default();
    let mut first: FxHashMap<(u8, i64), (i64, u32)> = FxHashMap::default();
    for row in r.rows(
        "process_track",
        "SELECT pt.id, pt.upid, p.pid FROM process_track pt LEFT JOIN process p USING (upid) ORDER BY pt.id",
    )? {
        let (id, upid) = (int(&row[0]).unwrap_or(-1), int(&row[1]).unwrap_or(0));
        match first.get_mut(&(0, upid)) {
            Some((f, n)) => {
                *n += 1;
                lane_of.insert(id, (*f, *n));
            }
            None => {
                first.insert((0, upid), (id, 0));
                kind.insert(
                    id,
                    TrackKind::Process {
                        pid: int(&row[2]).unwrap_or(0) as i32,
                        labels: Vec::new(),
                        sort_index: None,
                    },
                );
            }
        }
    }
    for row in r.rows(
        "thread_track",
        "SELECT tt.id, tt.utid, t.tid, p.pid FROM thread_track tt LEFT JOIN thread t USING (utid) \
         LEFT JOIN process p ON p.upid = t.upid ORDER BY tt.id",
    )? {
        let (id, utid) = (int(&row[0]).unwrap_or(-1), int(&row[1]).unwrap_or(0));
        match first.get_mut(&(1, utid)) {
            Some((f, n)) => {
                *n += 1;
                lane_of.insert(id, (*f, *n));
            }
            None => {
                first.insert((1, utid), (id, 0));
                kind.insert(
                    id,
                    TrackKind::Thread {
                        pid: int(&row[3]).unwrap_or(0) as i32,
                        tid: int(&row[2]).unwrap_or(0),
                        sort_index: None,
                    },
                );
            }
        }
    }
    for row in r.rows(
        "counter_track",
        "SELECT id, unit, description FROM counter_track ORDER BY id",
    )? {
        let id = int(&row[0]).unwrap_or(-1);
        let unit = match text(&row[1]).as_deref() {
            Some("count") => CounterUnit::Count,
            Some("bytes") => CounterUnit::Bytes,
            Some("ns") => CounterUnit::TimeNs,
            Some(u) => CounterUnit::Other(u.to_owned()),
            None => CounterUnit::Other(String::new()),
        };
        kind.insert(id, TrackKind::Counter { unit });
        if let Some(d) = text(&row[2]) {
            descr.insert(id, d);
        }
    }
    let mut track_of: FxHashMap<i64, TrackId> = FxHashMap::default();
    for (i, row) in tracks.iter().enumerate() {
        track_of.insert(int(&row[0]).unwrap_or(-1), TrackId(t0 + i as u32));
    }
    for row in &tracks {
        let id = int(&row[0]).unwrap_or(-1);
        let name = trace.intern(&text(&row[1]).unwrap_or_default());
        let parent = int(&row[2]).and_then(|p| track_of.get(&p).copied());
        let mut t = Track::new(name, parent, kind.remove(&id).unwrap_or(TrackKind::Plain));
        t.description = descr.remove(&id);
        if let Some((l, k)) = lane_of.get(&id) {
            t.lane_of = track_of.get(l).map(|&l| (l, *k));
            t.rank = Some(*k as i32);
        }
        trace.add_track(t);
    }

    // Args, by set.
    let mut sets: FxHashMap<i64, Vec<(String, String, Sql, Sql, Sql, String, Option<String>)>> =
        FxHashMap::default();
    for row in r.rows(
        "args",
        "SELECT arg_set_id, flat_key, key, int_value, string_value, real_value, value_type, display_value \
         FROM args ORDER BY arg_set_id, id",
    )? {
        let mut it = row.into_iter();
        let set = int(&it.next().unwrap()).unwrap_or(-1);
        let flat = text(&it.next().unwrap()).unwrap_or_default();
        let key = text(&it.next().unwrap()).unwrap_or_default();
        let (i, s, f) = (it.next().unwrap(), it.next().unwrap(), it.next().unwrap());
        let ty = text(&it.next().unwrap()).unwrap_or_default();
        let disp = text(&it.next().unwrap());
        sets.entry(set).or_default().push((flat, key, i, s, f, ty, disp));
    }
    let mut blob = String::new();
    let blob_index = trace.blobs.len() as u32;
    let mut args_of: FxHashMap<i64, Args> = FxHashMap::default();
    let mut args = |trace: &mut Trace, set: Option<i64>| -> Args {
        let Some(set) = set else { return Args::None };
        if let Some(a) = args_of.get(&set) {
            return *a;
        }
        let rows = sets.remove(&set).unwrap_or_default();
        let value = |(_, _, i, s, f, ty, disp): &(
            String,
            String,
            Sql,
            Sql,
            Sql,
            String,
            Option<String>,
        )| {
            match ty.as_str() {
                "int" => ArgValue::Int(int(i).unwrap_or(0)),
                "uint" => disp
                    .as_deref()
                    .and_then(|d| d.parse().ok())
                    .map_or(ArgValue::Int(int(i).unwrap_or(0)), ArgValue::Uint),
                "real" => ArgValue::Real(match f {
                    Sql::Real(x) => *x,
                    _ => 0.0,
                }),
                "bool" => ArgValue::Bool(int(i).unwrap_or(0) != 0),
                _ => ArgValue::Str(text(s).unwrap_or_default()),
            }
        };
        let plain = |k: &str| !k.contains('.') && !k.contains('[');
        let flat = rows
            .iter()
            .all(|r| r.0 == r.1 && r.1.strip_prefix("debug.").is_some_and(plain));
        let a = if flat {
            let list: Vec<_> = rows
                .iter()
                .map(|row| {
                    let k = trace.intern(&row.1["debug.".len()..]);
                    (k, value(row))
                })
                .collect();
            trace.add_args(list)
        } else {
            let mut root = Node::Obj(Vec::new());
            for row in &rows {
                let path = row.1.strip_prefix("debug.").unwrap_or(&row.1);
                root.insert(&parse_path(path), value(row));
            }
            let start = blob.len();
            root.write(&mut blob);
            Args::Raw {
                blob: blob_index,
                start: start as u64,
                len: (blob.len() - start) as u32,
            }
        };
        args_of.insert(set, a);
        a
    };

    // Slices in id order; model index = SQL id order.
    let mut slice_of: FxHashMap<i64, SliceId> = FxHashMap::default();
    for row in r.rows(
        "slice",
        "SELECT id, ts, dur, track_id, category, name, arg_set_id FROM slice ORDER BY id",
    )? {
        let track = int(&row[3])
            .and_then(|t| track_of.get(&t).copied())
            .ok_or_else(|| r.err("slice", "a slice names a track that is not in `track`"))?;
        let category = text(&row[4]).map(|c| trace.intern(&c));
        let name = trace.intern(&text(&row[5]).unwrap_or_default());
        let a = args(trace, int(&row[6]));
        let id = trace.add_slice(Slice {
            ts: int(&row[1]).unwrap_or(0),
            dur: int(&row[2]).unwrap_or(0).max(0),
            track,
            name,
            category,
            args: a,
            correlation: None,
            parent: None,
            depth: 0,
            kind: SliceKind::Span,
        });
        slice_of.insert(int(&row[0]).unwrap_or(-1), id);
    }
    for row in r.rows("flow", "SELECT slice_out, slice_in FROM flow ORDER BY id")? {
        if let (Some(&from), Some(&to)) = (
            int(&row[0]).and_then(|s| slice_of.get(&s)),
            int(&row[1]).and_then(|s| slice_of.get(&s)),
        ) {
            trace.flows.push(Flow { from, to });
        }
    }
    for row in r.rows(
        "counter",
        "SELECT ts, track_id, value FROM counter ORDER BY id",
    )? {
        if let Some(&track) = int(&row[1]).and_then(|t| track_of.get(&t)) {
            trace.counters.push(Counter {
                track,
                ts: int(&row[0]).unwrap_or(0),
                value: match row[2] {
                    Sql::Real(v) => v,
                    Sql::Integer(i) => i as f64,
                    _ => f64::NAN,
                },
            });
        }
    }

    // Inputs named by the tables.
    let mut inputs: FxHashMap<String, u32> = FxHashMap::default();
    let mut input_of = |trace: &mut Trace, path: Option<String>| -> u32 {
        let Some(p) = path else { return index };
        *inputs.entry(p.clone()).or_insert_with(|| {
            let name = Path::new(&p)
                .file_name()
                .map_or_else(|| p.clone(), |n| n.to_string_lossy().into_owned());
            trace.provenance.inputs.push(InputInfo {
                path: p,
                name,
                ..Default::default()
            });
            trace.provenance.inputs.len() as u32 - 1
        })
    };

    // Requests.
    let mut absent: FxHashMap<(i64, String), Stamp> = FxHashMap::default();
    for row in r.rows(
        "request_segment",
        "SELECT request_id, start_field, end_field, absent_reason FROM request_segment \
         WHERE absent_reason IS NOT NULL",
    )? {
        let stamp = match text(&row[3]).as_deref() {
            Some("null") => Stamp::Null,
            Some("zero") => Stamp::Zero,
            Some("non_streaming") => Stamp::NonStreaming(0),
            _ => Stamp::Missing,
        };
        let req = int(&row[0]).unwrap_or(-1);
        for f in [text(&row[1]), text(&row[2])].into_iter().flatten() {
            let e = absent.entry((req, f)).or_insert(stamp);
            if *e == Stamp::Missing {
                *e = stamp;
            }
        }
    }
    let mut st = r
        .conn
        .prepare("SELECT * FROM request ORDER BY id")
        .map_err(|e| r.err("request", e))?;
    let cols: Vec<String> = st.column_names().iter().map(|c| c.to_string()).collect();
    let col = |name: &str| cols.iter().position(|c| c == name);
    let rows: Vec<Vec<Sql>> = st
        .query_map([], |row| {
            (0..cols.len()).map(|i| row.get::<_, Sql>(i)).collect()
        })
        .and_then(|m| m.collect())
        .map_err(|e| r.err("request", e))?;
    drop(st);
    for row in rows {
        let get = |name: &str| col(name).map_or(Sql::Null, |i| row[i].clone());
        let id = int(&get("id")).unwrap_or(-1);
        let mut stamps = [Stamp::Missing; Field::COUNT];
        for f in Field::all() {
            stamps[f.index()] = match int(&get(&crate::sql::schema::stamp_column(f))) {
                Some(t) => Stamp::At(t),
                None => absent
                    .get(&(id, f.name()))
                    .copied()
                    .unwrap_or(Stamp::Missing),
            };
        }
        let location = match text(&get("location")) {
            Some(l) => parse_location(&l),
            None => Location::File,
        };
        let input = input_of(trace, text(&get("input")));
        let details = args(trace, int(&get("arg_set_id")));
        trace.requests.push(Request {
            input,
            location,
            kind: if text(&get("kind")).as_deref() == Some("disaggregated") {
                RequestKind::Disaggregated
            } else {
                RequestKind::Aggregated
            },
            label: text(&get("label")).unwrap_or_default(),
            ctx_request_id: int(&get("ctx_request_id")),
            gen_request_id: int(&get("gen_request_id")),
            disagg_request_id: int(&get("disagg_request_id")),
            ctx_server: text(&get("ctx_server")),
            gen_server: text(&get("gen_server")),
            status: text(&get("status")),
            stamps,
            has_side: [
                int(&get("has_router")) == Some(1),
                int(&get("has_ctx")) == Some(1),
                int(&get("has_gen")) == Some(1),
            ],
            details,
            parent_slice: [None; 3],
            correlation: int(&get("correlation_id")).unwrap_or(0) as u64,
            non_streaming: int(&get("non_streaming")) == Some(1),
        });
    }
    if !blob.is_empty() {
        trace.blobs.push(blob);
    }

    if r.has_table("gpu_work") {
        for row in r.rows(
            "gpu_work",
            "SELECT id, artifact FROM gpu_work WHERE artifact IS NOT NULL ORDER BY id",
        )? {
            let reason = match text(&row[1]).as_deref() {
                Some(gpu::ZERO_TIMESTAMP) => gpu::ZERO_TIMESTAMP,
                Some(gpu::OVERLAPPING) => gpu::OVERLAPPING,
                _ => continue,
            };
            if let Some(&slice) = int(&row[0]).and_then(|s| slice_of.get(&s)) {
                trace.gpu_artifacts.push(gpu::Artifact { slice, reason });
            }
        }
    }

    // Warnings: details, then the counts (which go beyond the details).
    for row in r.rows(
        "warning",
        "SELECT kind, input, record_index, line, field, message FROM warning ORDER BY id",
    )? {
        let input = input_of(trace, text(&row[1]));
        let location = match (int(&row[2]), int(&row[3])) {
            (Some(i), _) => Location::Index(i as u64),
            (None, Some(l)) => Location::Line(l as u64),
            _ => Location::File,
        };
        trace.warnings.list.push(Warning {
            kind: super::perfetto_proto::static_kind(&text(&row[0]).unwrap_or_default()),
            input,
            location,
            field: text(&row[4]).unwrap_or_default(),
            message: text(&row[5]).unwrap_or_default(),
        });
    }
    for row in r.rows("warning_count", "SELECT kind, count FROM warning_count")? {
        let kind = super::perfetto_proto::static_kind(&text(&row[0]).unwrap_or_default());
        trace
            .warnings
            .count(kind, int(&row[1]).unwrap_or(0).max(0) as u64);
    }
    trace.provenance.inputs[index as usize].records = (trace.slices.len() - s0) as u64;
    // The rank every process of the file agrees on (one rank's trace, the
    // usual case) is the file's: `process.rank` and `gpu_work.rank` then
    // survive the round trip. A file without the column keeps none.
    if let Ok(ranks) = r.rows(
        "process",
        "SELECT DISTINCT rank FROM process WHERE upid IN (SELECT upid FROM thread)",
    ) {
        if let [row] = ranks.as_slice() {
            if let Some(rank) = int(&row[0]) {
                let own = &mut trace.provenance.inputs[index as usize];
                own.rank = own.rank.or(Some(rank));
            }
        }
    }
    Ok(())
}

fn parse_location(l: &str) -> Location {
    if let Some(i) = l.strip_prefix("record ").and_then(|x| x.parse().ok()) {
        Location::Index(i)
    } else if let Some(i) = l.strip_prefix("line ").and_then(|x| x.parse().ok()) {
        Location::Line(i)
    } else {
        Location::File
    }
}

/// One step of a flattened arg key: `.name` or `[index]`.
#[derive(Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// `a.b[2].c` → [Key a, Key b, Index 2, Key c].
fn parse_path(path: &str) -> Vec<Step> {
    let mut out = Vec::new();
    for part in path.split('.') {
        let (name, mut rest) = match part.find('[') {
            Some(i) => (&part[..i], &part[i..]),
            None => (part, ""),
        };
        let mut name = name.to_owned();
        let mut idx = Vec::new();
        while let Some(r) = rest.strip_prefix('[') {
            match r
                .find(']')
                .and_then(|e| r[..e].parse::<usize>().ok().map(|n| (n, e)))
            {
                Some((n, e)) => {
                    idx.push(n);
                    rest = &r[e + 1..];
                }
                None => {
                    // Not an index: part of the name.
                    name.push_str(rest);
                    idx.clear();
                    break;
                }
            }
        }
        out.push(Step::Key(name));
        out.extend(idx.into_iter().map(Step::Index));
    }
    out
}

/// A JSON tree rebuilt from flattened args.
enum Node {
    Leaf(ArgValue),
    Obj(Vec<(String, Node)>),
    Arr(Vec<Option<Node>>),
}

impl Node {
    fn insert(&mut self, path: &[Step], v: ArgValue) {
        let Some((step, rest)) = path.split_first() else {
            *self = Node::Leaf(v);
            return;
        };
        let fresh = |rest: &[Step]| match rest.first() {
            Some(Step::Index(_)) => Node::Arr(Vec::new()),
            _ => Node::Obj(Vec::new()),
        };
        match (self, step) {
            (Node::Obj(entries), Step::Key(k)) => {
                // A nested value's rows are contiguous: continue the last
                // entry when it is the same container; anything else (a
                // repeated key, as JSON objects may have) is a new entry.
                let continues = match (entries.last(), rest.first()) {
                    (Some((n, Node::Obj(_))), Some(Step::Key(_))) => n == k,
                    (Some((n, Node::Arr(_))), Some(Step::Index(_))) => n == k,
                    _ => false,
                };
                if !continues {
                    entries.push((k.clone(), fresh(rest)));
                }
                entries.last_mut().expect("pushed").1.insert(rest, v);
            }
            (Node::Arr(items), Step::Index(n)) => {
                // Indexes beyond a sane bound are not expanded with nulls.
                let n = (*n).min(items.len() + 1_000_000);
                if items.len() <= n {
                    items.resize_with(n + 1, || None);
                }
                items[n].get_or_insert_with(|| fresh(rest)).insert(rest, v);
            }
            // A key where an array was (or the reverse): kept as a sibling.
            (node, _) => {
                let mut o = Node::Obj(Vec::new());
                std::mem::swap(node, &mut o);
                node.insert(path, v);
            }
        }
    }

    fn write(&self, out: &mut String) {
        match self {
            Node::Leaf(v) => crate::json::write_scalar(out, v),
            Node::Obj(entries) => {
                out.push('{');
                for (i, (k, v)) in entries.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    crate::json::write_string(out, k);
                    out.push(':');
                    v.write(out);
                }
                out.push('}');
            }
            Node::Arr(items) => {
                out.push('[');
                for (i, v) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(',');
                    }
                    match v {
                        Some(v) => v.write(out),
                        None => out.push_str("null"),
                    }
                }
                out.push(']');
            }
        }
    }
}
