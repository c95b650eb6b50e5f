//! The SQL layer's former loader, kept as the reference the virtual
//! tables are checked against: it copies the model into ordinary SQLite
//! tables with one `INSERT` per row (slow, but simple and long tested).
//! Test code only; `tests/sql_tables.rs` compares every table row by row.

#![allow(dead_code)]

use rusqlite::{params, params_from_iter, types::Value, Connection, Transaction};
use serde_json::value::RawValue;
use std::collections::BTreeSet;

use breakdown_trace::client_stats as cs;
use breakdown_trace::json::Pairs;
use breakdown_trace::model::{
    layout, ArgValue, Args, CounterUnit, Field, MetricValue, RequestKind, Trace, TrackKind,
};
use breakdown_trace::segments::{self, Span};

pub const TABLES: &str = r#"
CREATE TABLE process (
  id INTEGER PRIMARY KEY, upid INTEGER NOT NULL, pid INTEGER, name TEXT,
  start_ts INTEGER, end_ts INTEGER, parent_upid INTEGER, uid INTEGER,
  android_appid INTEGER, android_user_id INTEGER, cmdline TEXT,
  arg_set_id INTEGER, machine_id INTEGER, input TEXT, rank INTEGER
);
CREATE TABLE thread (
  id INTEGER PRIMARY KEY, utid INTEGER NOT NULL, tid INTEGER, name TEXT,
  start_ts INTEGER, end_ts INTEGER, upid INTEGER, is_main_thread INTEGER,
  is_idle INTEGER NOT NULL DEFAULT 0, machine_id INTEGER, arg_set_id INTEGER
);
CREATE TABLE track (
  id INTEGER PRIMARY KEY, name TEXT, type TEXT NOT NULL,
  dimension_arg_set_id INTEGER, parent_id INTEGER, source_arg_set_id INTEGER,
  machine_id INTEGER, track_group_id INTEGER, classification TEXT NOT NULL
);
CREATE TABLE thread_track (
  id INTEGER PRIMARY KEY, name TEXT, type TEXT NOT NULL, parent_id INTEGER,
  source_arg_set_id INTEGER, machine_id INTEGER, utid INTEGER NOT NULL
);
CREATE TABLE process_track (
  id INTEGER PRIMARY KEY, name TEXT, type TEXT NOT NULL, parent_id INTEGER,
  source_arg_set_id INTEGER, machine_id INTEGER, upid INTEGER NOT NULL
);
CREATE TABLE counter_track (
  id INTEGER PRIMARY KEY, name TEXT, parent_id INTEGER, type TEXT NOT NULL,
  dimension_arg_set_id INTEGER, source_arg_set_id INTEGER, machine_id INTEGER,
  unit TEXT, description TEXT
);
CREATE TABLE slice (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, dur INTEGER NOT NULL,
  track_id INTEGER NOT NULL, category TEXT, name TEXT, depth INTEGER NOT NULL,
  parent_id INTEGER, arg_set_id INTEGER, thread_ts INTEGER, thread_dur INTEGER,
  thread_instruction_count INTEGER, thread_instruction_delta INTEGER,
  cat TEXT GENERATED ALWAYS AS (category) VIRTUAL,
  slice_id INTEGER GENERATED ALWAYS AS (id) VIRTUAL
);
CREATE TABLE counter (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, track_id INTEGER NOT NULL,
  value REAL, arg_set_id INTEGER
);
CREATE TABLE args (
  id INTEGER PRIMARY KEY, arg_set_id INTEGER NOT NULL, flat_key TEXT NOT NULL,
  key TEXT NOT NULL, int_value INTEGER, string_value TEXT, real_value REAL,
  value_type TEXT NOT NULL, display_value TEXT
);
CREATE TABLE flow (
  id INTEGER PRIMARY KEY, slice_out INTEGER NOT NULL, slice_in INTEGER NOT NULL,
  trace_id INTEGER, arg_set_id INTEGER
);
CREATE TABLE request_segment (
  id INTEGER PRIMARY KEY, request_id INTEGER NOT NULL, seq INTEGER NOT NULL,
  segment TEXT NOT NULL, role TEXT NOT NULL, side TEXT NOT NULL,
  start_field TEXT NOT NULL, end_field TEXT NOT NULL,
  start_ts INTEGER, end_ts INTEGER, dur INTEGER, absent_reason TEXT
);
CREATE TABLE warning (
  id INTEGER PRIMARY KEY, kind TEXT NOT NULL, input TEXT, location TEXT NOT NULL,
  record_index INTEGER, line INTEGER, field TEXT, message TEXT
);
CREATE TABLE warning_count (kind TEXT PRIMARY KEY, count INTEGER NOT NULL);
CREATE TABLE metric_series (
  id INTEGER PRIMARY KEY, track_id INTEGER NOT NULL, rate_track_id INTEGER, input TEXT, name TEXT,
  metric TEXT, family TEXT, labels TEXT, type TEXT NOT NULL, monotonic INTEGER NOT NULL, unit TEXT,
  help TEXT, samples INTEGER NOT NULL, resets INTEGER NOT NULL
);
"#;

pub const VIEWS: &str = r#"
CREATE VIEW slices AS SELECT * FROM slice;
CREATE VIEW instant AS SELECT * FROM slice WHERE dur = 0;
CREATE VIEW thread_slice AS
SELECT s.id, s.ts, s.dur, s.category, s.name, s.track_id, tt.name AS track_name,
       t.name AS thread_name, t.utid, t.tid, t.is_main_thread,
       p.name AS process_name, p.upid, p.pid, s.depth, s.parent_id,
       s.arg_set_id, s.thread_ts, s.thread_dur, p.input, p.rank
FROM slice s
JOIN thread_track tt ON s.track_id = tt.id
JOIN thread t USING (utid)
LEFT JOIN process p USING (upid);
CREATE VIEW process_slice AS
SELECT s.id, s.ts, s.dur, s.category, s.name, s.track_id, pt.name AS track_name,
       p.name AS process_name, p.upid, p.pid, s.depth, s.parent_id,
       s.arg_set_id, s.thread_ts, s.thread_dur, p.input, p.rank
FROM slice s
JOIN process_track pt ON s.track_id = pt.id
JOIN process p USING (upid);
"#;

pub const INDEXES: &str = r#"
CREATE INDEX slice_ts ON slice(ts);
CREATE INDEX slice_track_ts ON slice(track_id, ts);
CREATE INDEX slice_parent ON slice(parent_id);
CREATE INDEX slice_arg_set ON slice(arg_set_id);
CREATE INDEX args_arg_set ON args(arg_set_id);
CREATE INDEX counter_track_ts ON counter(track_id, ts);
CREATE INDEX flow_out ON flow(slice_out);
CREATE INDEX flow_in ON flow(slice_in);
CREATE INDEX request_segment_request ON request_segment(request_id);
CREATE INDEX request_segment_segment ON request_segment(segment, role);
"#;

pub const CLIENT_TABLES: &str = r#"
CREATE TABLE client_request (
  id INTEGER PRIMARY KEY, input TEXT, location TEXT, source TEXT NOT NULL,
  status TEXT NOT NULL, phase TEXT, warmup INTEGER NOT NULL, in_stats INTEGER NOT NULL,
  request_id TEXT, start_ts INTEGER, end_ts INTEGER, dur INTEGER, first_token_ts INTEGER,
  chunk_count INTEGER NOT NULL, slice_id INTEGER,
  error_code INTEGER, error_type TEXT, error_message TEXT,
  ttft_ms REAL, ttst_ms REAL, itl_ms REAL, output_token_throughput_per_user REAL,
  request_latency_ms REAL, input_sequence_length REAL, output_sequence_length REAL
);
CREATE TABLE client_metric (
  id INTEGER PRIMARY KEY, client_request_id INTEGER NOT NULL, tag TEXT NOT NULL,
  unit TEXT, idx INTEGER, value REAL
);
CREATE TABLE client_metadata (
  id INTEGER PRIMARY KEY, client_request_id INTEGER NOT NULL, key TEXT NOT NULL,
  int_value INTEGER, real_value REAL, string_value TEXT
);
CREATE VIEW client_stat_value AS
SELECT r.input, s.stat, s.unit, s.value, r.in_stats, r.id AS client_request_id
FROM client_request r
JOIN (
  SELECT id, 1 AS ord, 'time_to_first_token' AS stat, 'ms' AS unit, ttft_ms AS value FROM client_request
  UNION ALL SELECT id, 2, 'time_to_second_token', 'ms', ttst_ms FROM client_request
  UNION ALL SELECT id, 3, 'inter_token_latency', 'ms', itl_ms FROM client_request
  UNION ALL SELECT m.client_request_id, 4, 'inter_chunk_latency', 'ms',
         m.value * CASE m.unit WHEN 's' THEN 1e3 WHEN 'us' THEN 1e-3 WHEN 'ns' THEN 1e-6 ELSE 1.0 END
    FROM client_metric m WHERE m.tag IN ('inter_chunk_latency', 'itls')
  UNION ALL SELECT id, 5, 'output_token_throughput_per_user', 'tokens/sec/user', output_token_throughput_per_user FROM client_request
  UNION ALL SELECT id, 6, 'request_latency', 'ms', request_latency_ms FROM client_request
  UNION ALL SELECT id, 7, 'input_sequence_length', 'tokens', input_sequence_length FROM client_request
  UNION ALL SELECT id, 8, 'output_sequence_length', 'tokens', output_sequence_length FROM client_request
) s ON s.id = r.id
WHERE s.value IS NOT NULL;
CREATE INDEX client_metric_request ON client_metric(client_request_id);
CREATE INDEX client_metadata_request ON client_metadata(client_request_id);
"#;

/// SQL column name of a request timestamp: `Field::name` with `.` → `_`.
pub fn stamp_column(f: Field) -> String {
    f.name().replace('.', "_")
}

/// `CREATE TABLE request`, one ns column per [`Field`].
pub fn request_table() -> String {
    let mut sql = String::from(
        "CREATE TABLE request (\n  id INTEGER PRIMARY KEY, label TEXT NOT NULL, kind TEXT NOT NULL,\n  \
         input TEXT, location TEXT, ctx_server TEXT, gen_server TEXT,\n  \
         ctx_request_id INTEGER, gen_request_id INTEGER, disagg_request_id INTEGER,\n  \
         status TEXT, has_router INTEGER NOT NULL, has_ctx INTEGER NOT NULL,\n  \
         has_gen INTEGER NOT NULL, correlation_id INTEGER, arg_set_id INTEGER",
    );
    for f in Field::all() {
        sql.push_str(&format!(",\n  {} INTEGER", stamp_column(f)));
    }
    sql.push_str(",\n  non_streaming INTEGER NOT NULL");
    sql.push_str("\n);\n");
    sql
}

/// What the loader wrote, for `db` and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub slices: u64,
    pub args: u64,
    pub tracks: u64,
    pub requests: u64,
    /// Every row inserted, all tables.
    pub rows: u64,
}

type Res<T> = std::result::Result<T, rusqlite::Error>;

/// Creates the schema in `conn` and loads `trace` (laid out first if it
/// was not yet).
pub fn load(conn: &mut Connection, trace: &mut Trace) -> Res<LoadStats> {
    layout::lay_out(trace);
    let trace: &Trace = trace;
    conn.execute_batch(
        "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF; PRAGMA temp_store = MEMORY;",
    )?;
    let tx = conn.transaction()?;
    tx.execute_batch(TABLES)?;
    tx.execute_batch(&request_table())?;
    let mut st = LoadStats::default();
    let mut next_arg_set = 0i64;
    let mut args = ArgWriter::new(&tx)?;
    load_tracks(&tx, trace, &mut st)?;
    let slice_ids = load_slices(&tx, trace, &mut args, &mut next_arg_set, &mut st)?;
    load_flows_counters(&tx, trace, &slice_ids, &mut st)?;
    load_requests(&tx, trace, &mut args, &mut next_arg_set, &mut st)?;
    client_load(&tx, trace, &slice_ids, &mut st)?;
    load_warnings(&tx, trace, &mut st)?;
    load_metric_series(&tx, trace, &mut st)?;
    load_gpu_work(&tx, trace, &slice_ids)?;
    st.args = args.rows;
    st.rows += args.rows;
    drop(args);
    tx.execute_batch(VIEWS)?;
    tx.execute_batch(INDEXES)?;
    tx.commit()?;
    conn.execute_batch("ANALYZE;")?;
    Ok(st)
}

fn track_type(trace: &Trace, t: usize) -> (&'static str, &'static str) {
    let track = &trace.tracks[t];
    let logical = track.lane_of.map_or(t, |(l, _)| l.index());
    // The nearest thread or process above a counter scopes it.
    let mut scope = None;
    let mut up = track.parent;
    while let (Some(p), None) = (up, scope) {
        scope = match trace.track(p).kind {
            TrackKind::Thread { .. } => Some("thread_counter_track_event"),
            TrackKind::Process { .. } => Some("process_counter_track_event"),
            _ => None,
        };
        up = trace.track(p).parent;
    }
    match &trace.tracks[logical].kind {
        TrackKind::Process { .. } => ("process_track_event", "process"),
        TrackKind::Thread { .. } => ("thread_track_event", "thread"),
        TrackKind::Counter { .. } if scope.is_some() => (scope.unwrap(), "counter"),
        TrackKind::Counter { .. } => ("global_counter_track_event", "counter"),
        TrackKind::Plain => ("global_track_event", "plain"),
    }
}

fn load_tracks(tx: &Transaction, trace: &Trace, st: &mut LoadStats) -> Res<()> {
    // Processes: one per pid of a Process track, then pids only threads name.
    let mut pids: Vec<(i32, Option<String>)> = Vec::new();
    let add_pid = |pid: i32, name: Option<String>, pids: &mut Vec<(i32, Option<String>)>| match pids
        .iter_mut()
        .find(|(p, _)| *p == pid)
    {
        Some(e) => {
            if e.1.is_none() {
                e.1 = name;
            }
        }
        None => pids.push((pid, name)),
    };
    for t in &trace.tracks {
        if let TrackKind::Process { pid, .. } = t.kind {
            add_pid(pid, Some(trace.str(t.name).to_owned()), &mut pids);
        }
    }
    for t in &trace.tracks {
        if let TrackKind::Thread { pid, .. } = t.kind {
            add_pid(pid, None, &mut pids);
        }
    }
    let upid_of = |pid: i32| {
        pids.iter()
            .position(|(p, _)| *p == pid)
            .map(|i| i as i64 + 1)
    };
    {
        // A process's input: the import call that added its first process
        // track (else its first thread track), when that call read one input.
        let input_of = |pid: i32| -> Option<&breakdown_trace::model::InputInfo> {
            let first = |want_process: bool| {
                trace.tracks.iter().position(|t| match t.kind {
                    TrackKind::Process { pid: p, .. } => want_process && p == pid,
                    TrackKind::Thread { pid: p, .. } => !want_process && p == pid,
                    _ => false,
                })
            };
            let t = first(true).or_else(|| first(false))?;
            let src = trace.sources.iter().find(|s| s.tracks.contains(&t))?;
            match src.inputs.as_slice() {
                [i] => trace.provenance.inputs.get(*i as usize),
                _ => None,
            }
        };
        let mut ins = tx.prepare(
            "INSERT INTO process (id, upid, pid, name, input, rank) VALUES (?1, ?1, ?2, ?3, ?4, ?5)",
        )?;
        ins.execute(params![
            0i64,
            Option::<i64>::None,
            Option::<String>::None,
            Option::<String>::None,
            Option::<i64>::None
        ])?;
        for (i, (pid, name)) in pids.iter().enumerate() {
            let info = input_of(*pid);
            ins.execute(params![
                i as i64 + 1,
                pid,
                name,
                info.map(|i| i.path.clone()),
                info.and_then(|i| i.rank)
            ])?;
            st.rows += 1;
        }
    }
    // Threads: one per (pid, tid) thread track.
    let mut threads: Vec<(i32, i64, usize)> = Vec::new();
    for (i, t) in trace.tracks.iter().enumerate() {
        if let TrackKind::Thread { pid, tid, .. } = t.kind {
            if !threads.iter().any(|&(p, q, _)| p == pid && q == tid) {
                threads.push((pid, tid, i));
            }
        }
    }
    {
        let mut ins = tx.prepare(
            "INSERT INTO thread (id, utid, tid, name, upid, is_main_thread) VALUES (?1, ?1, ?2, ?3, ?4, ?5)",
        )?;
        ins.execute(params![
            0i64,
            Option::<i64>::None,
            Option::<String>::None,
            Option::<i64>::None,
            Option::<i64>::None
        ])?;
        for (i, &(pid, tid, t)) in threads.iter().enumerate() {
            ins.execute(params![
                i as i64 + 1,
                tid,
                trace.str(trace.tracks[t].name),
                upid_of(pid),
                (tid == pid as i64) as i64
            ])?;
            st.rows += 1;
        }
    }
    let utid_of = |pid: i32, tid: i64| {
        threads
            .iter()
            .position(|&(p, q, _)| p == pid && q == tid)
            .map(|i| i as i64 + 1)
    };

    let mut ins_track = tx.prepare(
        "INSERT INTO track (id, name, type, parent_id, classification) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut ins_thread = tx.prepare(
        "INSERT INTO thread_track (id, name, type, parent_id, utid) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut ins_process = tx.prepare(
        "INSERT INTO process_track (id, name, type, parent_id, upid) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut ins_counter = tx.prepare(
        "INSERT INTO counter_track (id, name, parent_id, type, unit, description) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    )?;
    for (i, t) in trace.tracks.iter().enumerate() {
        let (ty, class) = track_type(trace, i);
        let name = trace.str(t.name);
        let parent = t.parent.map(|p| p.index() as i64);
        ins_track.execute(params![i as i64, name, ty, parent, class])?;
        st.rows += 1;
        st.tracks += 1;
        let logical = t.lane_of.map_or(i, |(l, _)| l.index());
        match &trace.tracks[logical].kind {
            TrackKind::Thread { pid, tid, .. } => {
                ins_thread.execute(params![i as i64, name, ty, parent, utid_of(*pid, *tid)])?;
                st.rows += 1;
            }
            TrackKind::Process { pid, .. } => {
                ins_process.execute(params![i as i64, name, ty, parent, upid_of(*pid)])?;
                st.rows += 1;
            }
            TrackKind::Counter { unit } => {
                let unit = match unit {
                    CounterUnit::Count => Some("count".to_owned()),
                    CounterUnit::Bytes => Some("bytes".to_owned()),
                    CounterUnit::TimeNs => Some("ns".to_owned()),
                    CounterUnit::Other(u) if u.is_empty() => None,
                    CounterUnit::Other(u) => Some(u.clone()),
                };
                ins_counter.execute(params![i as i64, name, parent, ty, unit, t.description])?;
                st.rows += 1;
            }
            TrackKind::Plain => {}
        }
    }
    Ok(())
}

/// Writes `args` rows; one arg set per call of [`ArgWriter::write`].
struct ArgWriter<'c> {
    ins: rusqlite::Statement<'c>,
    rows: u64,
    next_id: i64,
    seen: std::collections::HashMap<(u32, u64, u32), Option<i64>>,
}

impl<'c> ArgWriter<'c> {
    fn new(tx: &'c Transaction) -> Res<Self> {
        Ok(ArgWriter {
            ins: tx.prepare(
                "INSERT INTO args (id, arg_set_id, flat_key, key, int_value, string_value, real_value, value_type, display_value) \
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
            )?,
            rows: 0,
            next_id: 0,
            seen: Default::default(),
        })
    }

    fn row(&mut self, set: i64, flat_key: &str, key: &str, v: &ArgValue) -> Res<()> {
        let (int, string, real, ty, display): (
            Option<i64>,
            Option<&str>,
            Option<f64>,
            &str,
            String,
        ) = match v {
            ArgValue::Int(i) => (Some(*i), None, None, "int", i.to_string()),
            ArgValue::Uint(u) => match i64::try_from(*u) {
                Ok(i) => (Some(i), None, None, "uint", u.to_string()),
                // Beyond i64: keep the exact decimal text.
                Err(_) => (None, None, Some(*u as f64), "uint", u.to_string()),
            },
            ArgValue::Real(f) => (None, None, Some(*f), "real", f.to_string()),
            ArgValue::Bool(b) => (Some(*b as i64), None, None, "bool", b.to_string()),
            ArgValue::Str(s) => (None, Some(s.as_str()), None, "string", s.clone()),
        };
        self.ins.execute(params![
            self.next_id,
            set,
            flat_key,
            key,
            int,
            string,
            real,
            ty,
            display
        ])?;
        self.next_id += 1;
        self.rows += 1;
        Ok(())
    }

    /// Writes the args of `args` as arg set `set`; returns whether any row
    /// was written.
    fn write(&mut self, trace: &Trace, args: Args, set: i64) -> Res<bool> {
        let before = self.rows;
        match args {
            Args::None => {}
            Args::List { .. } => {
                for a in trace.arg_list(args) {
                    let k = format!("debug.{}", trace.str(a.key));
                    self.row(set, &k, &k, &a.value)?;
                }
            }
            Args::Raw { .. } => {
                let text = trace.raw_args(args).unwrap_or_default();
                match serde_json::from_str::<Pairs>(text) {
                    Ok(Pairs(pairs)) => {
                        for (k, v) in pairs {
                            let key = format!("debug.{k}");
                            self.raw(set, &key.clone(), &key, v, 1)?;
                        }
                    }
                    // Importers validate raw args; keep the text if that ever fails.
                    Err(_) => {
                        let s = ArgValue::Str(text.to_owned());
                        self.row(set, "debug.args", "debug.args", &s)?;
                    }
                }
            }
        }
        Ok(self.rows > before)
    }

    /// The arg set of `args`: identical sets (the same stored arguments)
    /// share one id, numbered in order of first use, as trace processor does.
    fn shared(&mut self, trace: &Trace, args: Args, next: &mut i64) -> Res<Option<i64>> {
        let key = match args {
            Args::None => return Ok(None),
            Args::List { start, len } => (0, start as u64, len),
            Args::Raw { blob, start, len } => (blob + 1, start, len),
        };
        if let Some(s) = self.seen.get(&key) {
            return Ok(*s);
        }
        let set = *next;
        let r = if self.write(trace, args, set)? {
            *next += 1;
            Some(set)
        } else {
            None
        };
        self.seen.insert(key, r);
        Ok(r)
    }

    /// One raw JSON value, flattened like the Perfetto writer's debug
    /// annotations: objects `a.b`, arrays `x[0]` (flat_key without the
    /// index), `null` skipped.
    /// Below [`breakdown_trace::json::MAX_DEPTH`] levels a value is kept as its JSON text.
    fn raw(&mut self, set: i64, flat_key: &str, key: &str, v: &RawValue, level: usize) -> Res<()> {
        let text = v.get();
        if level >= breakdown_trace::json::MAX_DEPTH
            && matches!(text.as_bytes().first(), Some(b'{' | b'['))
        {
            return self.row(set, flat_key, key, &ArgValue::Str(text.to_owned()));
        }
        match text.as_bytes().first() {
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text).unwrap_or_default();
                for (i, item) in items.into_iter().enumerate() {
                    self.raw(set, flat_key, &format!("{key}[{i}]"), item, level + 1)?;
                }
                Ok(())
            }
            Some(b'{') => {
                if let Ok(Pairs(pairs)) = serde_json::from_str(text) {
                    for (k, item) in pairs {
                        self.raw(
                            set,
                            &format!("{flat_key}.{k}"),
                            &format!("{key}.{k}"),
                            item,
                            level + 1,
                        )?;
                    }
                }
                Ok(())
            }
            // Scalars convert exactly as everywhere else; null is skipped.
            _ => match breakdown_trace::json::scalar(v) {
                Some(value) => self.row(set, flat_key, key, &value),
                None => Ok(()),
            },
        }
    }
}

/// Loads slices with ids in trace processor's order (sorted by `ts`;
/// enclosing slices first). Returns the SQL id of every model slice.
fn load_slices(
    tx: &Transaction,
    trace: &Trace,
    args: &mut ArgWriter,
    next_arg_set: &mut i64,
    st: &mut LoadStats,
) -> Res<Vec<i64>> {
    let n = trace.slices.len();
    let mut order: Vec<u32> = (0..n as u32).collect();
    order.sort_unstable_by_key(|&i| {
        let s = &trace.slices[i as usize];
        (s.ts, std::cmp::Reverse(s.dur), s.depth, i)
    });
    let mut sql_id = vec![0i64; n];
    for (k, &i) in order.iter().enumerate() {
        sql_id[i as usize] = k as i64;
    }
    let mut ins = tx.prepare(
        "INSERT INTO slice (id, ts, dur, track_id, category, name, depth, parent_id, arg_set_id) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?;
    for (k, &i) in order.iter().enumerate() {
        let s = &trace.slices[i as usize];
        let arg_set = args.shared(trace, s.args, next_arg_set)?;
        ins.execute(params![
            k as i64,
            s.ts,
            s.dur,
            s.track.index() as i64,
            s.category.map(|c| trace.str(c)),
            trace.str(s.name),
            s.depth as i64,
            s.parent.map(|p| sql_id[p.index()]),
            arg_set
        ])?;
    }
    st.slices = n as u64;
    st.rows += n as u64;
    Ok(sql_id)
}

fn load_flows_counters(
    tx: &Transaction,
    trace: &Trace,
    slice_ids: &[i64],
    st: &mut LoadStats,
) -> Res<()> {
    let mut ins = tx.prepare("INSERT INTO flow (id, slice_out, slice_in) VALUES (?1, ?2, ?3)")?;
    for (i, f) in trace.flows.iter().enumerate() {
        ins.execute(params![
            i as i64,
            slice_ids[f.from.index()],
            slice_ids[f.to.index()]
        ])?;
    }
    st.rows += trace.flows.len() as u64;
    let mut ins =
        tx.prepare("INSERT INTO counter (id, ts, track_id, value) VALUES (?1, ?2, ?3, ?4)")?;
    let mut order: Vec<usize> = (0..trace.counters.len()).collect();
    order.sort_by_key(|&i| (trace.counters[i].ts, i));
    for (k, i) in order.into_iter().enumerate() {
        let c = &trace.counters[i];
        ins.execute(params![k as i64, c.ts, c.track.index() as i64, c.value])?;
    }
    st.rows += trace.counters.len() as u64;
    Ok(())
}

fn load_requests(
    tx: &Transaction,
    trace: &Trace,
    args: &mut ArgWriter,
    next_arg_set: &mut i64,
    st: &mut LoadStats,
) -> Res<()> {
    let stamp_cols: Vec<String> = Field::all().map(stamp_column).collect();
    let fixed = [
        "id",
        "label",
        "kind",
        "input",
        "location",
        "ctx_server",
        "gen_server",
        "ctx_request_id",
        "gen_request_id",
        "disagg_request_id",
        "status",
        "has_router",
        "has_ctx",
        "has_gen",
        "correlation_id",
        "arg_set_id",
    ];
    let cols: Vec<&str> = fixed
        .iter()
        .copied()
        .chain(stamp_cols.iter().map(String::as_str))
        .chain(["non_streaming"])
        .collect();
    let placeholders: Vec<String> = (1..=cols.len()).map(|i| format!("?{i}")).collect();
    let mut ins = tx.prepare(&format!(
        "INSERT INTO request ({}) VALUES ({})",
        cols.join(", "),
        placeholders.join(", ")
    ))?;
    let mut ins_seg = tx.prepare(
        "INSERT INTO request_segment (id, request_id, seq, segment, role, side, start_field, end_field, start_ts, end_ts, dur, absent_reason) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
    )?;
    let mut seg_id = 0i64;
    for (i, r) in trace.requests.iter().enumerate() {
        let arg_set = args.shared(trace, r.details, next_arg_set)?;
        let input = trace
            .provenance
            .inputs
            .get(r.input as usize)
            .map(|i| i.path.clone());
        let mut values: Vec<rusqlite::types::Value> = Vec::with_capacity(cols.len());
        use rusqlite::types::Value as V;
        let opt_i = |v: Option<i64>| v.map_or(V::Null, V::Integer);
        let opt_s = |v: &Option<String>| v.clone().map_or(V::Null, V::Text);
        values.push(V::Integer(i as i64));
        values.push(V::Text(r.label.clone()));
        values.push(V::Text(
            match r.kind {
                RequestKind::Aggregated => "aggregated",
                RequestKind::Disaggregated => "disaggregated",
            }
            .into(),
        ));
        values.push(input.map_or(V::Null, V::Text));
        values.push(V::Text(r.location.to_string()));
        values.push(opt_s(&r.ctx_server));
        values.push(opt_s(&r.gen_server));
        values.push(opt_i(r.ctx_request_id));
        values.push(opt_i(r.gen_request_id));
        values.push(opt_i(r.disagg_request_id));
        values.push(opt_s(&r.status));
        for h in r.has_side {
            values.push(V::Integer(h as i64));
        }
        values.push(V::Integer(r.correlation as i64));
        values.push(opt_i(arg_set));
        for f in Field::all() {
            values.push(opt_i(r.time(f)));
        }
        values.push(V::Integer(r.non_streaming as i64));
        ins.execute(rusqlite::params_from_iter(values))?;
        st.rows += 1;
        for (seq, seg) in segments::SEGMENTS.iter().enumerate() {
            if !seg.applies.includes(r.kind) {
                continue;
            }
            let (start, end, dur, reason) = match segments::evaluate(seg, r) {
                Span::Present { start, end } => (Some(start), Some(end), Some(end - start), None),
                Span::Absent(a) => (None, None, None, Some(a.name())),
            };
            let side = match seg.side {
                breakdown_trace::model::Side::Router => "router",
                breakdown_trace::model::Side::Ctx => "ctx",
                breakdown_trace::model::Side::Gen => "gen",
            };
            ins_seg.execute(params![
                seg_id,
                i as i64,
                seq as i64,
                seg.name,
                seg.role(r.kind).name(),
                side,
                seg.start.name(),
                seg.end.name(),
                start,
                end,
                dur,
                reason
            ])?;
            seg_id += 1;
            st.rows += 1;
        }
    }
    st.requests = trace.requests.len() as u64;
    Ok(())
}

fn load_metric_series(tx: &Transaction, trace: &Trace, st: &mut LoadStats) -> Res<()> {
    let mut ins = tx.prepare(
        "INSERT INTO metric_series (id, track_id, rate_track_id, input, name, metric, family, labels, \
         type, monotonic, unit, help, samples, resets) \
         SELECT ?1, ?2, ?3, ?4, t.name, ?5, ?6, ?7, ?8, ?9, t.unit, ?10, ?11, ?12 \
         FROM counter_track t WHERE t.id = ?2",
    )?;
    for (i, m) in trace.metric_series.iter().enumerate() {
        let input = trace
            .provenance
            .inputs
            .get(m.input as usize)
            .map(|i| i.path.clone());
        let mut labels = serde_json::Map::new();
        for (k, v) in &m.labels {
            labels.insert(k.clone(), serde_json::Value::String(v.clone()));
        }
        let n = ins.execute(params![
            i as i64,
            m.track.index() as i64,
            m.rate_track.map(|r| r.index() as i64),
            input,
            m.metric,
            m.family,
            serde_json::Value::Object(labels).to_string(),
            m.kind.name(),
            m.monotonic as i64,
            m.help,
            m.samples as i64,
            m.resets as i64,
        ])?;
        assert_eq!(n, 1, "metric series {i} has its counter track");
        st.rows += 1;
    }
    Ok(())
}

fn load_warnings(tx: &Transaction, trace: &Trace, st: &mut LoadStats) -> Res<()> {
    use breakdown_trace::model::Location;
    let mut ins = tx.prepare(
        "INSERT INTO warning (id, kind, input, location, record_index, line, field, message) \
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?;
    for (i, w) in trace.warnings.list.iter().enumerate() {
        let input = trace
            .provenance
            .inputs
            .get(w.input as usize)
            .map(|i| i.path.clone());
        let (idx, line) = match w.location {
            Location::File => (None, None),
            Location::Index(i) => (Some(i as i64), None),
            Location::Line(l) => (None, Some(l as i64)),
        };
        ins.execute(params![
            i as i64,
            w.kind,
            input,
            w.location.to_string(),
            idx,
            line,
            w.field,
            w.message
        ])?;
        st.rows += 1;
    }
    let mut ins = tx.prepare("INSERT INTO warning_count (kind, count) VALUES (?1, ?2)")?;
    for (k, n) in &trace.warnings.counts {
        ins.execute(params![k, *n as i64])?;
        st.rows += 1;
    }
    Ok(())
}

const ITERATION_FIXED: [&str; 8] = [
    "id",
    "input",
    "location",
    "iter",
    "timestamp",
    "ts",
    "null_fields",
    "request_stats",
];

/// SQL column name of an iteration field.
pub fn iteration_column(key: &str) -> String {
    let c: String = key
        .chars()
        .map(|ch| {
            if ch.is_ascii_alphanumeric() || ch == '_' {
                ch
            } else {
                '_'
            }
        })
        .collect();
    if ITERATION_FIXED.contains(&c.as_str()) {
        format!("field_{c}")
    } else {
        c
    }
}

fn value(v: &ArgValue) -> Value {
    match v {
        ArgValue::Int(i) => Value::Integer(*i),
        ArgValue::Uint(u) => i64::try_from(*u).map_or(Value::Real(*u as f64), Value::Integer),
        ArgValue::Real(f) => Value::Real(*f),
        ArgValue::Bool(b) => Value::Integer(*b as i64),
        ArgValue::Str(s) => Value::Text(s.clone()),
    }
}

fn json_of(fields: &[(String, ArgValue)]) -> serde_json::Value {
    let mut m = serde_json::Map::new();
    for (k, v) in fields {
        let j = match v {
            ArgValue::Int(i) => (*i).into(),
            ArgValue::Uint(u) => (*u).into(),
            ArgValue::Real(f) => serde_json::Number::from_f64(*f)
                .map_or(serde_json::Value::Null, serde_json::Value::Number),
            ArgValue::Bool(b) => (*b).into(),
            ArgValue::Str(s) => s.clone().into(),
        };
        m.insert(k.clone(), j);
    }
    serde_json::Value::Object(m)
}

/// Creates and fills the iteration and client tables.
pub fn client_load(
    tx: &Transaction,
    trace: &Trace,
    slice_ids: &[i64],
    st: &mut LoadStats,
) -> Res<()> {
    tx.execute_batch(CLIENT_TABLES)?;
    load_iterations(tx, trace, st)?;
    load_clients(tx, trace, slice_ids, st)
}

fn input_path(trace: &Trace, i: u32) -> Option<String> {
    trace
        .provenance
        .inputs
        .get(i as usize)
        .map(|x| x.path.clone())
}

fn load_iterations(tx: &Transaction, trace: &Trace, st: &mut LoadStats) -> Res<()> {
    // Field columns in first-seen order, de-duplicated by column name.
    let mut columns: Vec<String> = Vec::new();
    let mut seen = BTreeSet::new();
    for it in &trace.iterations {
        for (k, _) in &it.fields {
            if k == "timestamp" || k == "iter" {
                continue;
            }
            let c = iteration_column(k);
            if seen.insert(c.clone()) {
                columns.push(c);
            }
        }
    }
    let mut sql = String::from(
        "CREATE TABLE iteration (\n  id INTEGER PRIMARY KEY, input TEXT, location TEXT, iter INTEGER,\n  \
         timestamp TEXT, ts INTEGER, null_fields TEXT, request_stats TEXT",
    );
    for c in &columns {
        sql.push_str(&format!(",\n  \"{c}\""));
    }
    sql.push_str("\n);\nCREATE INDEX iteration_ts ON iteration(ts);\n");
    tx.execute_batch(&sql)?;
    let all: Vec<String> = ITERATION_FIXED
        .iter()
        .map(|s| s.to_string())
        .chain(columns.iter().map(|c| format!("\"{c}\"")))
        .collect();
    let ph: Vec<String> = (1..=all.len()).map(|i| format!("?{i}")).collect();
    let mut ins = tx.prepare(&format!(
        "INSERT INTO iteration ({}) VALUES ({})",
        all.join(", "),
        ph.join(", ")
    ))?;
    let index: std::collections::HashMap<&str, usize> = columns
        .iter()
        .enumerate()
        .map(|(i, c)| (c.as_str(), i))
        .collect();
    for (id, it) in trace.iterations.iter().enumerate() {
        let mut row: Vec<Value> = vec![Value::Null; all.len()];
        row[0] = Value::Integer(id as i64);
        row[1] = input_path(trace, it.input).map_or(Value::Null, Value::Text);
        row[2] = Value::Text(it.location.to_string());
        row[3] = it.iter.map_or(Value::Null, Value::Integer);
        row[4] = it.timestamp_text.clone().map_or(Value::Null, Value::Text);
        row[5] = it.ts.map_or(Value::Null, Value::Integer);
        if !it.null_fields.is_empty() {
            row[6] = Value::Text(it.null_fields.join(","));
        }
        if !it.request_stats.is_empty() {
            let list: Vec<serde_json::Value> =
                it.request_stats.iter().map(|r| json_of(r)).collect();
            row[7] = Value::Text(serde_json::Value::Array(list).to_string());
        }
        for (k, v) in &it.fields {
            if k == "timestamp" || k == "iter" {
                continue;
            }
            if let Some(&i) = index.get(iteration_column(k).as_str()) {
                row[ITERATION_FIXED.len() + i] = value(v);
            }
        }
        ins.execute(params_from_iter(row))?;
        st.rows += 1;
    }
    Ok(())
}

fn load_clients(tx: &Transaction, trace: &Trace, slice_ids: &[i64], st: &mut LoadStats) -> Res<()> {
    let mut ins = tx.prepare(
        "INSERT INTO client_request (id, input, location, source, status, phase, warmup, in_stats, \
         request_id, start_ts, end_ts, dur, first_token_ts, chunk_count, slice_id, error_code, \
         error_type, error_message, ttft_ms, ttst_ms, itl_ms, output_token_throughput_per_user, \
         request_latency_ms, input_sequence_length, output_sequence_length) VALUES \
         (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, \
          ?20, ?21, ?22, ?23, ?24, ?25)",
    )?;
    let mut ins_m = tx.prepare(
        "INSERT INTO client_metric (client_request_id, tag, unit, idx, value) VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let mut ins_md = tx.prepare(
        "INSERT INTO client_metadata (client_request_id, key, int_value, real_value, string_value) \
         VALUES (?1, ?2, ?3, ?4, ?5)",
    )?;
    let default = cs::Options::default();
    let single = cs::value_of;
    for (id, r) in trace.client_requests.iter().enumerate() {
        let id = id as i64;
        let (code, kind, msg) = match &r.error {
            Some(e) => (e.code, e.kind.clone(), e.message.clone()),
            None => (None, None, None),
        };
        ins.execute(params![
            id,
            input_path(trace, r.input),
            r.location.to_string(),
            r.source.name(),
            r.status.name(),
            r.phase,
            r.warmup as i64,
            cs::counts(r, &default) as i64,
            r.request_id,
            r.start_ns,
            r.end_ns,
            r.start_ns.zip(r.end_ns).map(|(s, e)| e - s),
            r.first_token_ns,
            r.chunk_ns.len() as i64 + r.first_token_ns.is_some() as i64,
            r.slice.map(|s| slice_ids[s.index()]),
            code,
            kind,
            msg,
            single(r, "time_to_first_token"),
            single(r, "time_to_second_token"),
            single(r, "inter_token_latency"),
            single(r, "output_token_throughput_per_user"),
            single(r, "request_latency"),
            single(r, "input_sequence_length"),
            single(r, "output_sequence_length"),
        ])?;
        st.rows += 1;
        for m in &r.metrics {
            match &m.value {
                MetricValue::Number(v) => {
                    ins_m.execute(params![id, m.tag, m.unit, None::<i64>, v])?;
                    st.rows += 1;
                }
                MetricValue::List(vs) => {
                    for (i, v) in vs.iter().enumerate() {
                        ins_m.execute(params![id, m.tag, m.unit, i as i64, v])?;
                    }
                    st.rows += vs.len() as u64;
                }
            }
        }
        for (k, v) in &r.metadata {
            let (i, f, s) = match v {
                ArgValue::Int(i) => (Some(*i), None, None),
                ArgValue::Uint(u) => (i64::try_from(*u).ok(), Some(*u as f64), None),
                ArgValue::Real(f) => (None, Some(*f), None),
                ArgValue::Bool(b) => (Some(*b as i64), None, None),
                ArgValue::Str(s) => (None, None, Some(s.clone())),
            };
            ins_md.execute(params![id, k, i, f, s])?;
            st.rows += 1;
        }
    }
    Ok(())
}

/// `gpu_work`, written independently of `model::gpu`: in SQL over the
/// tables above. GPU work is a slice whose category names a kernel, memcpy
/// or memset in any case, or an uncategorised slice on a stream of a process
/// named `GPU <digits>` (memcpy/memset by name prefix, else kernel).
/// Artifacts come from the model's list (the importers decide them).
fn load_gpu_work(tx: &Transaction, trace: &Trace, slice_ids: &[i64]) -> Res<()> {
    tx.execute_batch(
        r#"
CREATE TABLE gpu_work (
  id INTEGER PRIMARY KEY, ts INTEGER NOT NULL, dur INTEGER NOT NULL, name TEXT, category TEXT,
  kind TEXT NOT NULL, track_id INTEGER NOT NULL, utid INTEGER, upid INTEGER, device TEXT, stream TEXT,
  artifact TEXT, launch_id INTEGER, input TEXT, rank INTEGER
);
INSERT INTO gpu_work
WITH s AS (
  SELECT s.id, s.ts, s.dur, s.name, s.category, s.track_id, tt.utid, t.upid,
         p.name AS device, t.name AS stream, p.input, p.rank,
         CASE
           WHEN lower(s.category) IN ('kernel', 'gpu_kernel', 'cuda_kernel') THEN 'kernel'
           WHEN lower(s.category) IN ('gpu_memcpy', 'memcpy') THEN 'memcpy'
           WHEN lower(s.category) IN ('gpu_memset', 'memset') THEN 'memset'
           WHEN s.category IS NULL AND p.name GLOB 'GPU [0-9]*' AND NOT substr(p.name, 5) GLOB '*[^0-9]*'
             THEN CASE WHEN lower(ltrim(s.name)) LIKE 'memcpy%' THEN 'memcpy'
                       WHEN lower(ltrim(s.name)) LIKE 'memset%' THEN 'memset' ELSE 'kernel' END
         END AS kind
  FROM slice s
  LEFT JOIN thread_track tt ON tt.id = s.track_id
  LEFT JOIN thread t ON t.utid = tt.utid
  LEFT JOIN process p ON p.upid = t.upid
)
SELECT id, ts, dur, name, category, kind, track_id, utid, upid, device, stream, NULL, NULL, input, rank
FROM s WHERE kind IS NOT NULL ORDER BY id;
-- The launch: the first incoming flow's other end, else the first CUDA
-- runtime/driver slice with the same integer `correlation` argument.
CREATE INDEX ref_flow_in ON flow(slice_in);
CREATE INDEX ref_args_set ON args(arg_set_id);
UPDATE gpu_work SET launch_id = COALESCE(
  (SELECT f.slice_out FROM flow f WHERE f.slice_in = gpu_work.id ORDER BY f.id LIMIT 1),
  (SELECT MIN(c.id) FROM slice c JOIN args ca ON ca.arg_set_id = c.arg_set_id
   WHERE lower(c.category) IN ('cuda_runtime', 'cuda_driver') AND ca.key = 'debug.correlation'
     AND ca.value_type IN ('int', 'uint')
     AND ca.int_value = (SELECT a.int_value FROM slice k JOIN args a ON a.arg_set_id = k.arg_set_id
                         WHERE k.id = gpu_work.id AND a.key = 'debug.correlation'
                           AND a.value_type IN ('int', 'uint'))));
DROP INDEX ref_flow_in;
DROP INDEX ref_args_set;
"#,
    )?;
    let mut up = tx.prepare("UPDATE gpu_work SET artifact = ?2 WHERE id = ?1")?;
    for a in &trace.gpu_artifacts {
        up.execute(params![slice_ids[a.slice.index()], a.reason])?;
    }
    Ok(())
}
