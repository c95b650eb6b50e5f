//! Iteration statistics and client benchmark records:
//!
//! - `iteration`: one row per iteration (TensorRT-LLM `/metrics`), fixed
//!   columns `id, input, location, iter, timestamp, ts, null_fields,
//!   request_stats` plus one column per input field, named by its camelCase
//!   path with `.` → `_` (`kvCacheStats_usedNumBlocks`, `iterLatencyMS`, ...;
//!   [`iteration_column`]). `ts` is the timestamp read as UTC (Unix-epoch ns,
//!   after alignment); `request_stats` is the `requestStats` list as JSON.
//! - `client_request`: one row per aiperf / vLLM bench request with its times
//!   (ns, in the source's clock after alignment) and the per-request values of
//!   `crate::client_stats` (aiperf's definitions); `in_stats` = 1 when the
//!   request counts by default (ok and not warmup).
//! - `client_metric`: every metric verbatim (`idx` is the position in a list
//!   metric such as `inter_chunk_latency`, NULL for a single value).
//! - `client_metadata`: every metadata field verbatim.
//! - view `client_stat_value(input, stat, unit, value, in_stats, request_id)`
//!   ([`VIEWS`]): the values the `stats` command summarizes; the bundled
//!   `client-stats` query turns them into the same table.

use std::collections::BTreeSet;
use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{def, def_sorted_id, id_column, int, real, text, Store};
use crate::client_stats as cs;
use crate::model::{ArgValue, MetricValue};
use crate::sql::vtab::{Access, Cell, Column, Lazy, Table};

/// The view over the client tables.
pub const VIEWS: &str = r#"
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

fn cell_of(v: &ArgValue) -> Cell<'_> {
    match v {
        ArgValue::Int(i) => Cell::Int(*i),
        ArgValue::Uint(u) => i64::try_from(*u).map_or(Cell::Real(*u as f64), Cell::Int),
        ArgValue::Real(f) => Cell::Real(*f),
        ArgValue::Bool(b) => Cell::Int(*b as i64),
        ArgValue::Str(s) => Cell::Text(s),
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

/// Field columns of `iteration` in first-seen order, one per input key
/// (`timestamp` and `iter` are fixed columns), with the key each holds.
/// SQLite's column names ignore case, so a name that equals a fixed or an
/// earlier column but for case, or that two keys share (`a.b` and `a_b`),
/// gets a suffix (`ID_2`): no value is merged into another's column.
fn iteration_columns(store: &Store) -> Vec<(String, String)> {
    let mut columns: Vec<(String, String)> = Vec::new();
    let mut keys: BTreeSet<&str> = BTreeSet::new();
    let mut taken: BTreeSet<String> = ITERATION_FIXED
        .iter()
        .map(|c| c.to_ascii_lowercase())
        .collect();
    for it in &store.trace.iterations {
        for (k, _) in &it.fields {
            if k == "timestamp" || k == "iter" || !keys.insert(k) {
                continue;
            }
            let base = iteration_column(k);
            let mut c = base.clone();
            let mut n = 2;
            while !taken.insert(c.to_ascii_lowercase()) {
                c = format!("{base}_{n}");
                n += 1;
            }
            columns.push((c, k.clone()));
        }
    }
    columns
}

struct Iterations {
    store: Arc<Store>,
    /// Per iteration, per field: its column (`u32::MAX`: none); when two
    /// fields share a column the later one wins.
    field_col: Vec<Vec<u32>>,
}

impl Table for Iterations {
    fn len(&self) -> usize {
        self.store.trace.iterations.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let it = &self.store.trace.iterations[row];
        match col {
            0 => Cell::Int(row as i64),
            1 => self.store.input_path(it.input).into(),
            2 => Cell::Owned(it.location.to_string()),
            3 => it.iter.into(),
            4 => it.timestamp_text.as_deref().into(),
            5 => it.ts.into(),
            6 if it.null_fields.is_empty() => Cell::Null,
            6 => Cell::Owned(it.null_fields.join(",")),
            7 if it.request_stats.is_empty() => Cell::Null,
            7 => {
                let list = it.request_stats.iter().map(|r| json_of(r)).collect();
                Cell::Owned(serde_json::Value::Array(list).to_string())
            }
            _ => {
                let want = (col - ITERATION_FIXED.len()) as u32;
                self.field_col[row]
                    .iter()
                    .rposition(|&c| c == want)
                    .map_or(Cell::Null, |f| cell_of(&it.fields[f].1))
            }
        }
    }
}

struct ClientRequests(Arc<Store>);

impl Table for ClientRequests {
    fn len(&self) -> usize {
        self.0.trace.client_requests.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let st = &self.0;
        let r = &st.trace.client_requests[row];
        let err = r.error.as_ref();
        let single = |name: &str| Cell::from(cs::value_of(r, name));
        match col {
            0 => Cell::Int(row as i64),
            1 => st.input_path(r.input).into(),
            2 => Cell::Owned(r.location.to_string()),
            3 => Cell::Text(r.source.name()),
            4 => Cell::Text(r.status.name()),
            5 => r.phase.as_deref().into(),
            6 => Cell::Int(r.warmup as i64),
            7 => Cell::Int(cs::counts(r, &cs::Options::default()) as i64),
            8 => r.request_id.as_deref().into(),
            9 => r.start_ns.into(),
            10 => r.end_ns.into(),
            11 => r.start_ns.zip(r.end_ns).map(|(s, e)| e - s).into(),
            12 => r.first_token_ns.into(),
            13 => Cell::Int(r.chunk_ns.len() as i64 + r.first_token_ns.is_some() as i64),
            14 => r
                .slice
                .map(|s| st.slice_ids().id_of[s.index()] as i64)
                .into(),
            15 => err.and_then(|e| e.code).into(),
            16 => err.and_then(|e| e.kind.as_deref()).into(),
            17 => err.and_then(|e| e.message.as_deref()).into(),
            18 => single("time_to_first_token"),
            19 => single("time_to_second_token"),
            20 => single("inter_token_latency"),
            21 => single("output_token_throughput_per_user"),
            22 => single("request_latency"),
            23 => single("input_sequence_length"),
            24 => single("output_sequence_length"),
            _ => Cell::Null,
        }
    }
}

/// `client_metric`: (request, metric, position in a list or `u32::MAX`).
struct ClientMetrics {
    store: Arc<Store>,
    rows: Vec<(u32, u32, u32)>,
}

impl Table for ClientMetrics {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let (r, m, i) = self.rows[row];
        let m = &self.store.trace.client_requests[r as usize].metrics[m as usize];
        match col {
            // Ids start at 1 (SQLite's rowids), as in earlier `db` files.
            0 => Cell::Int(row as i64 + 1),
            1 => Cell::Int(r as i64),
            2 => Cell::Text(&m.tag),
            3 => Cell::Text(&m.unit),
            4 => Some(i).filter(|&i| i != u32::MAX).map(i64::from).into(),
            5 => match &m.value {
                MetricValue::Number(v) => Cell::Real(*v),
                MetricValue::List(vs) => Cell::Real(vs[i as usize]),
            },
            _ => Cell::Null,
        }
    }
}

/// `client_metadata`: (request, field).
struct ClientMetadata {
    store: Arc<Store>,
    rows: Vec<(u32, u32)>,
}

impl Table for ClientMetadata {
    fn len(&self) -> usize {
        self.rows.len()
    }
    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let (r, k) = self.rows[row];
        let (key, v) = &self.store.trace.client_requests[r as usize].metadata[k as usize];
        match col {
            0 => Cell::Int(row as i64 + 1),
            1 => Cell::Int(r as i64),
            2 => Cell::Text(key),
            3 => match v {
                ArgValue::Int(i) => Cell::Int(*i),
                ArgValue::Uint(u) => i64::try_from(*u).ok().into(),
                ArgValue::Bool(b) => Cell::Int(*b as i64),
                _ => Cell::Null,
            },
            4 => match v {
                ArgValue::Uint(u) => Cell::Real(*u as f64),
                ArgValue::Real(f) => Cell::Real(*f),
                _ => Cell::Null,
            },
            5 => match v {
                ArgValue::Str(s) => Cell::Text(s),
                _ => Cell::Null,
            },
            _ => Cell::Null,
        }
    }
}

/// `iteration`, `client_request`, `client_metric`, `client_metadata` over `store`.
pub fn tables(store: &Arc<Store>) -> Vec<Arc<Lazy>> {
    let columns = iteration_columns(store);
    let mut cols = vec![
        id_column(),
        text("input"),
        text("location"),
        int("iter"),
        text("timestamp"),
        int("ts"),
        text("null_fields"),
        text("request_stats"),
    ];
    cols.extend(columns.iter().map(|(c, _)| Column::new(c.clone(), "")));
    let s = store.clone();
    let iteration = Lazy::new(def("iteration", cols), move || {
        let index: FxHashMap<String, u32> = iteration_columns(&s)
            .into_iter()
            .enumerate()
            .map(|(i, (_, key))| (key, i as u32))
            .collect();
        let field_col = s
            .trace
            .iterations
            .iter()
            .map(|it| {
                it.fields
                    .iter()
                    .map(|(k, _)| {
                        if k == "timestamp" || k == "iter" {
                            return u32::MAX;
                        }
                        index.get(k).copied().unwrap_or(u32::MAX)
                    })
                    .collect()
            })
            .collect();
        Box::new(Iterations {
            store: s.clone(),
            field_col,
        })
    });

    let s = store.clone();
    let client_request = Lazy::new(
        def(
            "client_request",
            vec![
                id_column(),
                text("input"),
                text("location"),
                text("source").not_null(),
                text("status").not_null(),
                text("phase"),
                int("warmup").not_null(),
                int("in_stats").not_null(),
                text("request_id"),
                int("start_ts"),
                int("end_ts"),
                int("dur"),
                int("first_token_ts"),
                int("chunk_count").not_null(),
                int("slice_id"),
                int("error_code"),
                text("error_type"),
                text("error_message"),
                real("ttft_ms"),
                real("ttst_ms"),
                real("itl_ms"),
                real("output_token_throughput_per_user"),
                real("request_latency_ms"),
                real("input_sequence_length"),
                real("output_sequence_length"),
            ],
        ),
        move || Box::new(ClientRequests(s.clone())),
    );

    let mut metric_def = def_sorted_id(
        "client_metric",
        vec![
            int("id"),
            int("client_request_id").not_null().access(Access::Sorted),
            text("tag").not_null(),
            text("unit"),
            int("idx"),
            real("value"),
        ],
    );
    metric_def.order = vec![0];
    let s = store.clone();
    let client_metric = Lazy::new(metric_def, move || {
        let mut rows = Vec::new();
        for (r, c) in s.trace.client_requests.iter().enumerate() {
            for (m, metric) in c.metrics.iter().enumerate() {
                match &metric.value {
                    MetricValue::Number(_) => rows.push((r as u32, m as u32, u32::MAX)),
                    MetricValue::List(vs) => {
                        rows.extend((0..vs.len()).map(|i| (r as u32, m as u32, i as u32)))
                    }
                }
            }
        }
        Box::new(ClientMetrics {
            store: s.clone(),
            rows,
        })
    });

    let s = store.clone();
    let client_metadata = Lazy::new(
        def_sorted_id(
            "client_metadata",
            vec![
                int("id"),
                int("client_request_id").not_null().access(Access::Sorted),
                text("key").not_null(),
                int("int_value"),
                real("real_value"),
                text("string_value"),
            ],
        ),
        move || {
            let mut rows = Vec::new();
            for (r, c) in s.trace.client_requests.iter().enumerate() {
                rows.extend((0..c.metadata.len()).map(|k| (r as u32, k as u32)));
            }
            Box::new(ClientMetadata {
                store: s.clone(),
                rows,
            })
        },
    );
    [iteration, client_request, client_metric, client_metadata]
        .into_iter()
        .map(Arc::new)
        .collect()
}
