//! Domain tables for iteration statistics and client benchmark records:
//!
//! - `iteration`: one row per iteration (TensorRT-LLM `/metrics`), fixed
//!   columns `id, input, location, iter, timestamp, ts, null_fields,
//!   request_stats` plus one column per input field, named by its camelCase
//!   path with `.` → `_` (`kvCacheStats_usedNumBlocks`, `iterLatencyMS`, ...).
//!   `ts` is the timestamp read as UTC (Unix-epoch ns, after alignment);
//!   `request_stats` is the `requestStats` list as JSON.
//! - `client_request`: one row per aiperf / vLLM bench request with its times
//!   (ns, in the source's clock after alignment) and the per-request values of
//!   `crate::client_stats` (aiperf's definitions); `in_stats` = 1 when the
//!   request counts by default (ok and not warmup).
//! - `client_metric`: every metric verbatim (`idx` is the position in a list
//!   metric such as `inter_chunk_latency`, NULL for a single value).
//! - `client_metadata`: every metadata field verbatim.
//! - view `client_stat_value(input, stat, unit, value, in_stats, request_id)`:
//!   the values the `stats` command summarizes; the bundled `client-stats`
//!   query turns them into the same table.

use std::collections::BTreeSet;

use rusqlite::{params, params_from_iter, types::Value, Transaction};

use crate::client_stats as cs;
use crate::model::{ArgValue, MetricValue, Trace};

use super::load::LoadStats;

type Res<T> = std::result::Result<T, rusqlite::Error>;

/// Static tables (the `iteration` table's field columns depend on the input).
pub const TABLES: &str = r#"
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
pub fn load(tx: &Transaction, trace: &Trace, slice_ids: &[i64], st: &mut LoadStats) -> Res<()> {
    tx.execute_batch(TABLES)?;
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
