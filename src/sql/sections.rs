//! What `stats` prints: the bundled queries that fit the inputs, so the
//! numbers are the SQL layer's (one implementation, not two).
//!
//! - requests (TensorRT-LLM perf metrics): `segment-stats`, `latency`;
//! - client benchmark records (aiperf, vLLM): `client-stats`;
//! - timelines with GPU work: `kernel-summary`, the span / busy / idle
//!   share per device and stream from `gpu-idle`, and the short forms of
//!   `kernel-type-breakdown`, `idle-time-breakdown`, `comm-comp-overlap` and
//!   `kernel-launch-stats`;
//! - metric series (Prometheus): `metric-summary`;
//! - iteration statistics (TensorRT-LLM `/metrics`): `iteration-stats`, per
//!   input and field the count, mean and percentiles of each iteration's
//!   value and the utilisation ratios ([`iteration_stats_sql`]);
//! - only when none of these apply, a timeline's slices (`slice-summary`).

use super::format::{self, Style};
use super::{Bundled, Database, OutputFormat, Rows};
use crate::error::Result;

/// One titled block of `stats` output.
#[derive(Clone, Debug)]
pub struct Section {
    pub title: &'static str,
    /// The bundled query the rows come from.
    pub query: &'static str,
    pub rows: Rows,
}

fn count(db: &Database, sql: &str) -> Result<i64> {
    let rows = db.run("stats", sql, &[])?;
    Ok(match rows.rows.first().and_then(|r| r.first()) {
        Some(rusqlite::types::Value::Integer(n)) => *n,
        _ => 0,
    })
}

fn bundled(name: &str) -> Bundled {
    Bundled::find(name).expect("bundled query exists")
}

/// Runs the sections that apply to what `db` holds. `include_warmup` makes
/// successful warmup client records count too.
pub fn sections(db: &Database, include_warmup: bool) -> Result<Vec<Section>> {
    let mut out = Vec::new();
    if count(db, "SELECT COUNT(*) FROM request")? > 0 {
        for (title, q) in [
            ("Request segments (ms)", "segment-stats"),
            ("Request latency (ms)", "latency"),
        ] {
            let b = bundled(q);
            out.push(Section {
                title,
                query: b.name,
                rows: db.run(b.name, b.sql, &[])?,
            });
        }
    }
    if count(db, "SELECT COUNT(*) FROM client_request")? > 0 {
        if include_warmup {
            // A temporary view shadows the main one (tables are read-only,
            // and so is a `db` file opened for `stats`).
            db.run(
                "stats",
                "CREATE TEMP VIEW IF NOT EXISTS client_stat_value AS \
                 SELECT v.input, v.stat, v.unit, v.value, \
                        CASE WHEN r.warmup = 1 AND r.status = 'ok' THEN 1 ELSE v.in_stats END AS in_stats, \
                        v.client_request_id \
                 FROM main.client_stat_value v JOIN main.client_request r ON r.id = v.client_request_id",
                &[],
            )?;
        }
        let b = bundled("client-stats");
        out.push(Section {
            title: "Client benchmark statistics",
            query: b.name,
            rows: db.run(b.name, b.sql, &[])?,
        });
    }
    let mut gpu = Vec::new();
    if count(
        db,
        "SELECT COUNT(*) FROM gpu_work WHERE kind = 'kernel' AND artifact IS NULL",
    )? > 0
    {
        let b = bundled("kernel-summary");
        gpu.push(Job::new("GPU kernels", b.name, b.sql.to_owned()));
    }
    if count(
        db,
        "SELECT COUNT(*) FROM gpu_work WHERE utid IS NOT NULL AND artifact IS NULL",
    )? > 0
    {
        let b = bundled("gpu-idle");
        let inner = b.sql.trim().trim_end_matches(';');
        let mut job = Job::new(
            "GPU idle share (span minus the union of busy intervals; never summed across streams)",
            b.name,
            format!(
                "SELECT scope, device, stream, kernels, span_ns, busy_ns, idle_ns, idle_pct FROM ({inner})"
            ),
        );
        job.params = vec![("top".into(), "0".into())];
        gpu.push(job);
        gpu.extend(why_idle());
    }
    out.extend(run_parallel(db, gpu)?);
    if count(db, "SELECT COUNT(*) FROM metric_series")? > 0 {
        let b = bundled("metric-summary");
        out.push(Section {
            title: "Metric series (min / mean / max / last; increase and rate per second for counters)",
            query: b.name,
            rows: db.run(b.name, b.sql, &[])?,
        });
    }
    if count(db, "SELECT COUNT(*) FROM iteration")? > 0 {
        let columns = db
            .run("stats", "SELECT * FROM iteration LIMIT 0", &[])?
            .columns;
        out.push(Section {
            title: "Iteration statistics (per iteration record, not time-weighted)",
            query: "iteration-stats",
            rows: db.run("iteration-stats", &iteration_stats_sql(&columns), &[])?,
        });
    }
    if out.is_empty() && count(db, "SELECT COUNT(*) FROM slice WHERE dur > 0")? > 0 {
        // A timeline without GPU work (CPU threads only): what took the time.
        out.push(Section {
            title: "Timeline slices by total time (no GPU work in the inputs)",
            query: "slice-summary",
            rows: db.run("slice-summary", SLICE_SUMMARY, &[])?,
        });
    }
    Ok(out)
}

/// The short forms of the HTA-style analyses, one section each: work by
/// type, idle by cause per device, communication hidden behind compute (when
/// there is communication) and the launch-bound signature (when work has
/// launches). Each is a bundled query, trimmed to its headline columns.
fn why_idle() -> Vec<Job> {
    let trimmed = |title: &'static str, name: &'static str, select: &str, filter: &str| {
        let b = bundled(name);
        let inner = b.sql.trim().trim_end_matches(';');
        Job::new(
            title,
            b.name,
            format!("SELECT {select} FROM ({inner}) {filter}"),
        )
    };
    let mut overlap = trimmed(
        "Communication hidden behind computation",
        "comm-comp-overlap",
        "device, comm_ns, overlap_ns, overlap_pct",
        "WHERE comm_kernels > 0",
    );
    overlap.skip_if_empty = true;
    let mut launch = trimmed(
        "Launch-bound signature (short kernels: GPU time < the launch call's CPU time)",
        "kernel-launch-stats",
        "device, launched, short_kernels, short_pct AS launch_bound_pct, launch_delay_p50, \
         idle_after_launch_pct",
        "WHERE launched > 0",
    );
    launch.skip_if_empty = true;
    vec![
        trimmed(
            "GPU time by kind of work (union per type; % of the device's span)",
            "kernel-type-breakdown",
            "device, kernel_type, time_ns, pct",
            "",
        ),
        trimmed(
            "GPU idle by cause per device (host_wait: launched after the gap began; kernel_wait: gap < 30 µs)",
            "idle-time-breakdown",
            "device, idle_category, gaps, idle_ns, idle_pct",
            "WHERE scope = 'device'",
        ),
        overlap,
        launch,
    ]
}

/// One section's query, before it runs.
struct Job {
    title: &'static str,
    query: &'static str,
    sql: String,
    params: Vec<(String, String)>,
    /// Leave the section out when the query returns no rows.
    skip_if_empty: bool,
}

impl Job {
    fn new(title: &'static str, query: &'static str, sql: String) -> Job {
        Job {
            title,
            query,
            sql,
            params: Vec::new(),
            skip_if_empty: false,
        }
    }
}

/// Runs `jobs` on `db` and, for a trace in memory, on sibling connections
/// over the same tables (one per core, at most 4): the sections are
/// independent queries, each single-threaded in SQLite. Sections keep the
/// order of `jobs`; the first error (in that order) is returned.
fn run_parallel(db: &Database, jobs: Vec<Job>) -> Result<Vec<Section>> {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Mutex;
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(4)
        .min(jobs.len());
    let mut siblings = Vec::new();
    for _ in 1..workers {
        match db.sibling()? {
            Some(s) => siblings.push(s),
            None => break,
        }
    }
    let next = AtomicUsize::new(0);
    let results: Vec<Mutex<Option<Result<Rows>>>> = jobs.iter().map(|_| Mutex::new(None)).collect();
    let work = |db: &Database| loop {
        let i = next.fetch_add(1, Ordering::Relaxed);
        let Some(job) = jobs.get(i) else { break };
        let r = db.run(job.query, &job.sql, &job.params);
        *results[i].lock().expect("no panic while held") = Some(r);
    };
    std::thread::scope(|scope| {
        for s in siblings {
            let work = &work;
            scope.spawn(move || work(&s));
        }
        work(db);
    });
    let mut out = Vec::new();
    for (job, r) in jobs.iter().zip(results) {
        let rows = r
            .into_inner()
            .expect("no panic while held")
            .expect("every job ran")?;
        if job.skip_if_empty && rows.rows.is_empty() {
            continue;
        }
        out.push(Section {
            title: job.title,
            query: job.query,
            rows,
        });
    }
    Ok(out)
}

/// `slice-summary`: per slice name, instances and total / mean / max
/// duration (ns) of complete slices (instants left out), the 50 largest
/// totals. Nested slices count in their own name and in their parents', so
/// totals are not additive.
pub const SLICE_SUMMARY: &str = "SELECT name, COUNT(*) AS instances, SUM(dur) AS total_ns, \
     ROUND(AVG(dur), 1) AS avg_ns, MAX(dur) AS max_ns FROM slice WHERE dur > 0 \
     GROUP BY name ORDER BY total_ns DESC, name LIMIT 50";

/// The iteration metrics `stats` summarizes: (metric as the input names it,
/// unit, SQL expression over `iteration` columns, columns it needs). Field
/// names and meanings: TensorRT-LLM `IterationStats` (FORMATS.md §2).
/// Utilisation ratios are per iteration: `kvCacheStats.usedNumBlocks` over
/// `maxNumBlocks`, `numActiveRequests` over `maxNumActiveRequests`.
pub const ITERATION_METRICS: &[(&str, &str, &str, &[&str])] = &[
    ("iterLatencyMS", "ms", "iterLatencyMS", &["iterLatencyMS"]),
    (
        "hostStepTimeMS",
        "ms",
        "hostStepTimeMS",
        &["hostStepTimeMS"],
    ),
    (
        "gpuForwardTimeMS",
        "ms",
        "gpuForwardTimeMS",
        &["gpuForwardTimeMS"],
    ),
    (
        "newActiveRequestsQueueLatencyMS",
        "ms",
        "newActiveRequestsQueueLatencyMS",
        &["newActiveRequestsQueueLatencyMS"],
    ),
    (
        "numActiveRequests",
        "requests",
        "numActiveRequests",
        &["numActiveRequests"],
    ),
    (
        "numQueuedRequests",
        "requests",
        "numQueuedRequests",
        &["numQueuedRequests"],
    ),
    (
        "numNewActiveRequests",
        "requests",
        "numNewActiveRequests",
        &["numNewActiveRequests"],
    ),
    (
        "numCompletedRequests",
        "requests",
        "numCompletedRequests",
        &["numCompletedRequests"],
    ),
    (
        "numActiveRequests / maxNumActiveRequests",
        "%",
        "100.0 * numActiveRequests / NULLIF(maxNumActiveRequests, 0)",
        &["numActiveRequests", "maxNumActiveRequests"],
    ),
    (
        "kvCacheStats.usedNumBlocks / maxNumBlocks",
        "%",
        "100.0 * kvCacheStats_usedNumBlocks / NULLIF(kvCacheStats_maxNumBlocks, 0)",
        &["kvCacheStats_usedNumBlocks", "kvCacheStats_maxNumBlocks"],
    ),
    (
        "kvCacheStats.cacheHitRate",
        "ratio",
        "kvCacheStats_cacheHitRate",
        &["kvCacheStats_cacheHitRate"],
    ),
    (
        "inflightBatchingStats.numScheduledRequests",
        "requests",
        "inflightBatchingStats_numScheduledRequests",
        &["inflightBatchingStats_numScheduledRequests"],
    ),
    (
        "inflightBatchingStats.numContextRequests",
        "requests",
        "inflightBatchingStats_numContextRequests",
        &["inflightBatchingStats_numContextRequests"],
    ),
    (
        "inflightBatchingStats.numGenRequests",
        "requests",
        "inflightBatchingStats_numGenRequests",
        &["inflightBatchingStats_numGenRequests"],
    ),
    (
        "inflightBatchingStats.numPausedRequests",
        "requests",
        "inflightBatchingStats_numPausedRequests",
        &["inflightBatchingStats_numPausedRequests"],
    ),
    (
        "inflightBatchingStats.numCtxTokens",
        "tokens",
        "inflightBatchingStats_numCtxTokens",
        &["inflightBatchingStats_numCtxTokens"],
    ),
    (
        "staticBatchingStats.numScheduledRequests",
        "requests",
        "staticBatchingStats_numScheduledRequests",
        &["staticBatchingStats_numScheduledRequests"],
    ),
    (
        "staticBatchingStats.numContextRequests",
        "requests",
        "staticBatchingStats_numContextRequests",
        &["staticBatchingStats_numContextRequests"],
    ),
    (
        "scheduledNumPrefillRequests",
        "requests",
        "scheduledNumPrefillRequests",
        &["scheduledNumPrefillRequests"],
    ),
    (
        "scheduledNumDecodeRequests",
        "requests",
        "scheduledNumDecodeRequests",
        &["scheduledNumDecodeRequests"],
    ),
    (
        "queuedNumPrefillRequests",
        "requests",
        "queuedNumPrefillRequests",
        &["queuedNumPrefillRequests"],
    ),
    (
        "queuedNumDecodeRequests",
        "requests",
        "queuedNumDecodeRequests",
        &["queuedNumDecodeRequests"],
    ),
    ("gpuMemUsage", "bytes", "gpuMemUsage", &["gpuMemUsage"]),
];

/// The `iteration-stats` SQL for an `iteration` table with `columns`: one
/// row `iterations` per input (count only), then per input and metric of
/// [`ITERATION_METRICS`] whose columns exist: count (iterations that carry
/// it), mean, min, p50, p90, p99 (numpy-linear `percentile`), max. Only
/// metrics whose fields the inputs have are listed, so the SQL never names
/// a missing column.
pub fn iteration_stats_sql(columns: &[String]) -> String {
    let has = |c: &str| columns.iter().any(|x| x.eq_ignore_ascii_case(c));
    let mut parts = vec![
        "SELECT input, 0 AS ord, 'iterations' AS metric, 'records' AS unit, 1.0 AS value FROM iteration"
            .to_owned(),
    ];
    for (i, (metric, unit, expr, needs)) in ITERATION_METRICS.iter().enumerate() {
        if needs.iter().all(|c| has(c)) {
            parts.push(format!(
                "SELECT input, {} AS ord, '{metric}' AS metric, '{unit}' AS unit, {expr} AS value FROM iteration",
                i + 1
            ));
        }
    }
    format!(
        "WITH v AS ({}) \
         SELECT input, metric, unit, COUNT(value) AS count, \
                CASE WHEN ord > 0 THEN AVG(value) END AS mean, CASE WHEN ord > 0 THEN MIN(value) END AS min, \
                CASE WHEN ord > 0 THEN percentile(value, 50) END AS p50, \
                CASE WHEN ord > 0 THEN percentile(value, 90) END AS p90, \
                CASE WHEN ord > 0 THEN percentile(value, 99) END AS p99, \
                CASE WHEN ord > 0 THEN MAX(value) END AS max \
         FROM v GROUP BY input, ord, metric, unit HAVING COUNT(value) > 0 ORDER BY input, ord",
        parts.join(" UNION ALL ")
    )
}

/// Renders sections: titled tables (`## title [query]`); CSV as one tidy
/// table `section,row,column,value` (one line per cell: `section` is the
/// query, `row` the 0-based row within it, `value` as in `query`'s CSV);
/// or one JSON object keyed by query name, in section order, each an array
/// of row objects with keys in column order.
pub fn render(sections: &[Section], format: OutputFormat, style: &Style) -> String {
    match format {
        OutputFormat::Json => {
            struct Obj<'a>(&'a [Section]);
            impl serde::Serialize for Obj<'_> {
                fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                    use serde::ser::SerializeMap;
                    let mut m = s.serialize_map(Some(self.0.len()))?;
                    for sec in self.0 {
                        m.serialize_entry(sec.query, &format::JsonRows(&sec.rows))?;
                    }
                    m.end()
                }
            }
            let mut text = serde_json::to_string_pretty(&Obj(sections)).unwrap_or_default();
            text.push('\n');
            text
        }
        OutputFormat::Csv => {
            let mut text = format::csv_line(
                ["section", "row", "column", "value"]
                    .into_iter()
                    .map(str::to_owned),
            );
            for s in sections {
                for (i, row) in s.rows.rows.iter().enumerate() {
                    for (c, v) in s.rows.columns.iter().zip(row) {
                        text.push_str(&format::csv_line(
                            [
                                s.query.to_owned(),
                                i.to_string(),
                                c.clone(),
                                format::text(v),
                            ]
                            .into_iter(),
                        ));
                    }
                }
            }
            text
        }
        OutputFormat::Table => {
            let mut text = String::new();
            for (i, s) in sections.iter().enumerate() {
                if i > 0 {
                    text.push('\n');
                }
                text.push_str(&format!("## {} [{}]\n", s.title, s.query));
                text.push_str(&format::render_styled(&s.rows, format, style));
            }
            text
        }
    }
}

/// The query names of `sections`, for `--section`.
pub fn names(sections: &[Section]) -> Vec<&'static str> {
    sections.iter().map(|s| s.query).collect()
}
