//! Bulk loader: model [`Trace`] → the tables of [`super::schema`], in one
//! transaction with prepared statements; indexes are built afterwards.

use rusqlite::{params, Connection, Transaction};
use serde_json::value::RawValue;

use crate::json::Pairs;
use crate::model::{layout, ArgValue, Args, CounterUnit, Field, RequestKind, Trace, TrackKind};
use crate::segments::{self, Span};

use super::schema;

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
    tx.execute_batch(schema::TABLES)?;
    tx.execute_batch(&schema::request_table())?;
    let mut st = LoadStats::default();
    let mut next_arg_set = 0i64;
    let mut args = ArgWriter::new(&tx)?;
    load_tracks(&tx, trace, &mut st)?;
    let slice_ids = load_slices(&tx, trace, &mut args, &mut next_arg_set, &mut st)?;
    load_flows_counters(&tx, trace, &slice_ids, &mut st)?;
    load_requests(&tx, trace, &mut args, &mut next_arg_set, &mut st)?;
    super::client::load(&tx, trace, &slice_ids, &mut st)?;
    load_warnings(&tx, trace, &mut st)?;
    st.args = args.rows;
    st.rows += args.rows;
    drop(args);
    tx.execute_batch(schema::VIEWS)?;
    tx.execute_batch(schema::INDEXES)?;
    tx.commit()?;
    conn.execute_batch("ANALYZE;")?;
    Ok(st)
}

fn track_type(trace: &Trace, t: usize) -> (&'static str, &'static str) {
    let track = &trace.tracks[t];
    let logical = track.lane_of.map_or(t, |(l, _)| l.index());
    let has_process_ancestor = trace
        .track_path(crate::model::TrackId(t as u32))
        .iter()
        .any(|a| matches!(trace.track(*a).kind, TrackKind::Process { .. }));
    match &trace.tracks[logical].kind {
        TrackKind::Process { .. } => ("process_track_event", "process"),
        TrackKind::Thread { .. } => ("thread_track_event", "thread"),
        TrackKind::Counter { .. } if has_process_ancestor => {
            ("process_counter_track_event", "counter")
        }
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
        let mut ins =
            tx.prepare("INSERT INTO process (id, upid, pid, name) VALUES (?1, ?1, ?2, ?3)")?;
        ins.execute(params![0i64, Option::<i64>::None, Option::<String>::None])?;
        for (i, (pid, name)) in pids.iter().enumerate() {
            ins.execute(params![i as i64 + 1, pid, name])?;
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
                    CounterUnit::Count => "count".to_owned(),
                    CounterUnit::Bytes => "bytes".to_owned(),
                    CounterUnit::TimeNs => "ns".to_owned(),
                    CounterUnit::Other(u) => u.clone(),
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

    /// One raw JSON value, flattened like the Perfetto writer's debug
    /// annotations: objects `a.b`, arrays `x[0]` (flat_key without the
    /// index), `null` skipped.
    /// Below [`crate::json::MAX_DEPTH`] levels a value is kept as its JSON text.
    fn raw(&mut self, set: i64, flat_key: &str, key: &str, v: &RawValue, level: usize) -> Res<()> {
        let text = v.get();
        if level >= crate::json::MAX_DEPTH && matches!(text.as_bytes().first(), Some(b'{' | b'[')) {
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
            _ => match crate::json::scalar(v) {
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
        let set = *next_arg_set;
        let arg_set = if args.write(trace, s.args, set)? {
            *next_arg_set += 1;
            Some(set)
        } else {
            None
        };
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
    let stamp_cols: Vec<String> = Field::all().map(schema::stamp_column).collect();
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
        let set = *next_arg_set;
        let arg_set = if args.write(trace, r.details, set)? {
            *next_arg_set += 1;
            Some(set)
        } else {
            None
        };
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
                crate::model::Side::Router => "router",
                crate::model::Side::Ctx => "ctx",
                crate::model::Side::Gen => "gen",
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

fn load_warnings(tx: &Transaction, trace: &Trace, st: &mut LoadStats) -> Res<()> {
    use crate::model::Location;
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
