//! What `stats` prints: the bundled queries that fit the inputs, so the
//! numbers are the SQL layer's (one implementation, not two).
//!
//! - requests (TensorRT-LLM perf metrics): `segment-stats`, `latency`;
//! - client benchmark records (aiperf, vLLM): `client-stats`;
//! - timelines with GPU work: `kernel-summary`, the span / busy / idle
//!   share per device and stream from `gpu-idle`, and the short forms of
//!   `kernel-type-breakdown`, `idle-time-breakdown`, `comm-comp-overlap` and
//!   `kernel-launch-stats`;
//! - metric series (Prometheus): `metric-summary`.

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
    if count(
        db,
        "SELECT COUNT(*) FROM gpu_work WHERE kind = 'kernel' AND artifact IS NULL",
    )? > 0
    {
        let b = bundled("kernel-summary");
        out.push(Section {
            title: "GPU kernels",
            query: b.name,
            rows: db.run(b.name, b.sql, &[])?,
        });
    }
    if count(
        db,
        "SELECT COUNT(*) FROM gpu_work WHERE utid IS NOT NULL AND artifact IS NULL",
    )? > 0
    {
        let b = bundled("gpu-idle");
        let inner = b.sql.trim().trim_end_matches(';');
        let sql = format!(
            "SELECT scope, device, stream, kernels, span_ns, busy_ns, idle_ns, idle_pct FROM ({inner})"
        );
        out.push(Section {
            title: "GPU idle share (span minus the union of busy intervals; never summed across streams)",
            query: b.name,
            rows: db.run(b.name, &sql, &[("top".into(), "0".into())])?,
        });
        out.extend(why_idle(db)?);
    }
    if count(db, "SELECT COUNT(*) FROM metric_series")? > 0 {
        let b = bundled("metric-summary");
        out.push(Section {
            title: "Metric series (min / mean / max / last; increase and rate per second for counters)",
            query: b.name,
            rows: db.run(b.name, b.sql, &[])?,
        });
    }
    Ok(out)
}

/// The short forms of the HTA-style analyses, one section each: work by
/// type, idle by cause per device, communication hidden behind compute (when
/// there is communication) and the launch-bound signature (when work has
/// launches). Each is a bundled query, trimmed to its headline columns.
fn why_idle(db: &Database) -> Result<Vec<Section>> {
    let trimmed = |name: &'static str, select: &str, filter: &str| -> Result<Rows> {
        let b = bundled(name);
        let inner = b.sql.trim().trim_end_matches(';');
        db.run(
            name,
            &format!("SELECT {select} FROM ({inner}) {filter}"),
            &[],
        )
    };
    let mut out = vec![
        Section {
            title: "GPU time by kind of work (union per type; % of the device's span)",
            query: "kernel-type-breakdown",
            rows: trimmed("kernel-type-breakdown", "device, kernel_type, time_ns, pct", "")?,
        },
        Section {
            title: "GPU idle by cause per device (host_wait: launched after the gap began; kernel_wait: gap < 30 µs)",
            query: "idle-time-breakdown",
            rows: trimmed(
                "idle-time-breakdown",
                "device, idle_category, gaps, idle_ns, idle_pct",
                "WHERE scope = 'device'",
            )?,
        },
    ];
    let overlap = trimmed(
        "comm-comp-overlap",
        "device, comm_ns, overlap_ns, overlap_pct",
        "WHERE comm_kernels > 0",
    )?;
    if !overlap.rows.is_empty() {
        out.push(Section {
            title: "Communication hidden behind computation",
            query: "comm-comp-overlap",
            rows: overlap,
        });
    }
    let launch = trimmed(
        "kernel-launch-stats",
        "device, launched, short_kernels, short_pct AS launch_bound_pct, launch_delay_p50, \
         idle_after_launch_pct",
        "WHERE launched > 0",
    )?;
    if !launch.rows.is_empty() {
        out.push(Section {
            title: "Launch-bound signature (short kernels: GPU time < the launch call's CPU time)",
            query: "kernel-launch-stats",
            rows: launch,
        });
    }
    Ok(out)
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
