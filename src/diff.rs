//! `diff A B`: two runs of the same workload side by side, in the manner of
//! HTA's `TraceDiff.compare_traces` (A = HTA's control trace, B = its test
//! trace).
//!
//! Each run is a [`Database`]; from each we read one small aggregate per
//! kernel name (and, for request inputs, the `segment-stats` rows), copy
//! them into a scratch in-memory SQLite and join them there with SQL
//! ([`KERNELS_SQL`], [`SEGMENTS_SQL`]). Queries on the runs themselves never
//! `ATTACH` (refused for queries), and the runs are never copied row by row.

use rusqlite::types::Value;
use rusqlite::Connection;

use crate::error::{Error, Result};
use crate::sql::sections::Section;
use crate::sql::{Bundled, Database, Rows};

/// Per kernel name in one run: count and total GPU time (ns) of its work
/// (`gpu_work`: kernels, memcpy, memset; profiler artifacts left out).
const PER_NAME: &str =
    "SELECT name, COUNT(*), SUM(dur) FROM gpu_work WHERE artifact IS NULL GROUP BY name";

/// The kernel comparison over tables `a(name, n, total)` and `b(...)`.
///
/// Columns: name; count_a, count_b, count_change (B − A); total_ns_a,
/// total_ns_b, total_change_ns (B − A; HTA diff_duration); mean_ns_a,
/// mean_ns_b, mean_change_ns (total / count); total_change_pct
/// (100 · change / total_ns_a; NULL when A has none); only_in ('A' or 'B'
/// for a name in one run only, else NULL). A name absent from a run has
/// count and total 0 there and NULL mean. Ranked by |total_change_ns|
/// (the impact on GPU time), largest first, then name.
pub const KERNELS_SQL: &str = "
WITH names AS (SELECT name FROM a UNION SELECT name FROM b)
SELECT n.name,
       COALESCE(a.n, 0) AS count_a, COALESCE(b.n, 0) AS count_b,
       COALESCE(b.n, 0) - COALESCE(a.n, 0) AS count_change,
       COALESCE(a.total, 0) AS total_ns_a, COALESCE(b.total, 0) AS total_ns_b,
       COALESCE(b.total, 0) - COALESCE(a.total, 0) AS total_change_ns,
       ROUND(1.0 * a.total / a.n, 1) AS mean_ns_a, ROUND(1.0 * b.total / b.n, 1) AS mean_ns_b,
       ROUND(1.0 * b.total / b.n - 1.0 * a.total / a.n, 1) AS mean_change_ns,
       ROUND(100.0 * (COALESCE(b.total, 0) - a.total) / NULLIF(a.total, 0), 2) AS total_change_pct,
       CASE WHEN a.name IS NULL THEN 'B' WHEN b.name IS NULL THEN 'A' END AS only_in
FROM names n LEFT JOIN a ON a.name IS n.name LEFT JOIN b ON b.name IS n.name
ORDER BY ABS(COALESCE(b.total, 0) - COALESCE(a.total, 0)) DESC, n.name";

/// The request-segment comparison over tables `a(ord, segment, role, n,
/// p50, p90)` and `b(...)` (from `segment-stats`: ms).
///
/// Columns: segment, role; count_a, count_b; p50_ms_a, p50_ms_b,
/// p50_change_ms, p50_change_pct; p90_ms_a, p90_ms_b, p90_change_ms,
/// p90_change_pct (change = B − A; pct of A; NULL where a side has no
/// value). Rows in the segment table's order.
pub const SEGMENTS_SQL: &str = "
WITH keys AS (SELECT segment, role, MIN(ord) AS ord FROM (SELECT * FROM a UNION ALL SELECT * FROM b)
              GROUP BY segment, role)
SELECT k.segment, k.role, COALESCE(a.n, 0) AS count_a, COALESCE(b.n, 0) AS count_b,
       a.p50 AS p50_ms_a, b.p50 AS p50_ms_b, ROUND(b.p50 - a.p50, 4) AS p50_change_ms,
       ROUND(100.0 * (b.p50 - a.p50) / NULLIF(a.p50, 0), 2) AS p50_change_pct,
       a.p90 AS p90_ms_a, b.p90 AS p90_ms_b, ROUND(b.p90 - a.p90, 4) AS p90_change_ms,
       ROUND(100.0 * (b.p90 - a.p90) / NULLIF(a.p90, 0), 2) AS p90_change_pct
FROM keys k
LEFT JOIN a ON a.segment IS k.segment AND a.role IS k.role
LEFT JOIN b ON b.segment IS k.segment AND b.role IS k.role
ORDER BY k.ord, k.segment, k.role";

fn scratch_err(e: rusqlite::Error) -> Error {
    Error::Sql(format!("diff: {e}"))
}

fn count(db: &Database, sql: &str) -> Result<i64> {
    let rows = db.run("diff", sql, &[])?;
    Ok(match rows.rows.first().and_then(|r| r.first()) {
        Some(Value::Integer(n)) => *n,
        _ => 0,
    })
}

/// Loads `rows` into a new table `name` of `conn` with the given columns.
fn load(conn: &Connection, name: &str, columns: &[&str], rows: &[Vec<Value>]) -> Result<()> {
    conn.execute_batch(&format!("CREATE TABLE {name} ({})", columns.join(", ")))
        .map_err(scratch_err)?;
    let marks = vec!["?"; columns.len()].join(", ");
    let mut st = conn
        .prepare(&format!("INSERT INTO {name} VALUES ({marks})"))
        .map_err(scratch_err)?;
    for r in rows {
        st.execute(rusqlite::params_from_iter(r.iter()))
            .map_err(scratch_err)?;
    }
    Ok(())
}

fn run(conn: &Connection, sql: &str) -> Result<Rows> {
    let mut st = conn.prepare(sql).map_err(scratch_err)?;
    let columns: Vec<String> = st.column_names().iter().map(|c| c.to_string()).collect();
    let n = columns.len();
    let rows = st
        .query_map([], |r| (0..n).map(|i| r.get::<_, Value>(i)).collect())
        .map_err(scratch_err)?
        .collect::<rusqlite::Result<Vec<Vec<Value>>>>()
        .map_err(scratch_err)?;
    Ok(Rows { columns, rows })
}

/// The `segment-stats` rows of `db` as (ord, segment, role, count, p50, p90).
fn segment_rows(db: &Database) -> Result<Vec<Vec<Value>>> {
    let b = Bundled::find("segment-stats").expect("bundled query exists");
    let rows = db.run(b.name, b.sql, &[])?;
    let col = |name: &str| {
        rows.columns
            .iter()
            .position(|c| c == name)
            .ok_or_else(|| Error::Sql(format!("diff: segment-stats has no column {name}")))
    };
    let (s, r, n, p50, p90) = (
        col("segment")?,
        col("role")?,
        col("count")?,
        col("p50_ms")?,
        col("p90_ms")?,
    );
    Ok(rows
        .rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            vec![
                Value::Integer(i as i64),
                row[s].clone(),
                row[r].clone(),
                row[n].clone(),
                row[p50].clone(),
                row[p90].clone(),
            ]
        })
        .collect())
}

/// Compares run `a` with run `b`: a "Kernels" section when either has GPU
/// work ([`KERNELS_SQL`]) and a "Request segments" section when either has
/// requests ([`SEGMENTS_SQL`]). Errors: [`Error::NothingToDo`] when neither
/// run has GPU work nor requests; SQL errors name `diff`.
pub fn diff(a: &Database, b: &Database) -> Result<Vec<Section>> {
    let mut out = Vec::new();
    let gpu = |db: &Database| count(db, "SELECT COUNT(*) FROM gpu_work WHERE artifact IS NULL");
    if gpu(a)? > 0 || gpu(b)? > 0 {
        let conn = Connection::open_in_memory().map_err(scratch_err)?;
        for (name, db) in [("a", a), ("b", b)] {
            let rows = db.run("diff", PER_NAME, &[])?;
            load(&conn, name, &["name", "n", "total"], &rows.rows)?;
        }
        out.push(Section {
            title: "Kernels: A vs B by name (ns; change = B - A; ranked by |total change|)",
            query: "kernels",
            rows: run(&conn, KERNELS_SQL)?,
        });
    }
    let requests = |db: &Database| count(db, "SELECT COUNT(*) FROM request");
    if requests(a)? > 0 || requests(b)? > 0 {
        let conn = Connection::open_in_memory().map_err(scratch_err)?;
        for (name, db) in [("a", a), ("b", b)] {
            let rows = segment_rows(db)?;
            load(
                &conn,
                name,
                &["ord", "segment", "role", "n", "p50", "p90"],
                &rows,
            )?;
        }
        out.push(Section {
            title: "Request segments: A vs B (ms; change = B - A)",
            query: "segments",
            rows: run(&conn, SEGMENTS_SQL)?,
        });
    }
    if out.is_empty() {
        return Err(Error::NothingToDo(
            "diff: neither input holds GPU work or requests".into(),
        ));
    }
    Ok(out)
}
