//! The interactive HTML report: one self-contained file (inline CSS/JS, a
//! Content-Security-Policy that forbids any network access) with a section
//! per kind of input the database holds:
//!
//! - requests (TensorRT-LLM perf metrics): a bar per request placed on its
//!   own time axis (ms since its arrival), absent segments drawn hatched where
//!   they would be; requests in flight and queued over wall time; step CDFs
//!   of TTFT and end-to-end latency; `segment-stats` and `latency`;
//! - client benchmarks (aiperf, vLLM): request counts by status, step CDFs of
//!   TTFT, inter-token latency and request latency, throughput and requests in
//!   flight over time; `client-stats`;
//! - GPU timelines: top kernels by total time, busy / idle per device and
//!   stream, the largest idle gaps with the kernels around them;
//!   `kernel-summary`, `gpu-idle` (and the launch / overlap analyses when the
//!   bundled queries exist: [`GPU_EXTRAS`]);
//! - iteration statistics: KV-cache use, active / queued requests, batch
//!   composition and iteration latency over time; `iteration-stats`;
//! - a timeline with none of these (CPU threads only): top slice names by
//!   total time; `slice-summary`.
//!
//! Every statistics table is a section of [`crate::sql::sections::sections`], so
//! the page shows the numbers `stats` prints. Aggregation happens here, not in
//! the page: with more than [`MAX_BARS`] requests the bars are [`BINS`] rank
//! bins per sort order, CDFs are at most [`CDF_POINTS`] points, series over
//! time at most [`TIME_BINS`] bins — so the page gets only what it draws and
//! 100k requests or 1M kernels stay responsive.

use std::collections::BTreeMap;
use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::{json, Value};

use crate::error::{Error, Result};
use crate::model::{Request, RequestKind, Trace};
use crate::segments::{self, Span, LATENCIES};
use crate::sql::{self, Database, Rows};

const PAGE: &str = include_str!("page.html");

/// Up to this many requests the page gets one bar per request.
pub const MAX_BARS: usize = 1000;
/// Above [`MAX_BARS`], requests per sort order are grouped into this many
/// bins of consecutive ranks (about one pixel column each).
pub const BINS: usize = 1000;
/// Most points of one CDF (sampled at evenly spaced ranks beyond that).
pub const CDF_POINTS: usize = 2000;
/// Bins of a series over wall time.
pub const TIME_BINS: usize = 800;
/// Launch / overlap analyses shown as tables in the GPU section when main's
/// bundled queries include them (run with their default parameters).
pub const GPU_EXTRAS: &[&str] = &[
    "kernel-launch-stats",
    "comm-comp-overlap",
    "kernel-type-breakdown",
    "idle-time-breakdown",
];

fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

/// ms rounded to 0.1 µs (the page draws, it does not compute).
fn r4(v: f64) -> f64 {
    (v * 1e4).round() / 1e4
}

fn table(title: &str, query: &str, rows: &Rows) -> Value {
    json!({
        "title": title,
        "query": query,
        "columns": rows.columns,
        "rows": rows.rows.iter().map(|r| r.iter().map(sql::format::json_value).collect::<Vec<_>>()).collect::<Vec<_>>(),
    })
}

#[derive(Serialize)]
struct SegmentDef {
    name: &'static str,
    role: String,
    start: String,
    end: String,
    description: &'static str,
    colour: &'static str,
}

/// One request's segments on its own axis (ms since its arrival).
struct ReqInfo {
    label: String,
    kind: &'static str,
    arrival: Option<i64>,
    ttft: Option<f64>,
    e2e: Option<f64>,
    /// (segment index, start ms, end ms).
    present: Vec<(usize, f64, f64)>,
    /// (segment index, reason, from ms, to ms): where the segment would be,
    /// from its own stamps or its neighbours'; `None` when unknown.
    absent: Vec<(usize, &'static str, Option<f64>, Option<f64>)>,
}

fn kind_name(k: RequestKind) -> &'static str {
    match k {
        RequestKind::Aggregated => "aggregated",
        RequestKind::Disaggregated => "disaggregated",
    }
}

fn req_info(r: &Request, index: &BTreeMap<&str, usize>) -> ReqInfo {
    let origin = segments::arrival(r);
    let rel = |t: i64| ms(t - origin.unwrap_or(0));
    let segs: Vec<&segments::Segment> = segments::for_kind(r.kind).collect();
    let spans: Vec<Span> = segs.iter().map(|s| segments::evaluate(s, r)).collect();
    // The chain of segments before decode: each ends where the next starts,
    // so an absent one lies between the nearest known stamps around it.
    let mut present = Vec::new();
    let mut absent = Vec::new();
    for (i, (s, span)) in segs.iter().zip(&spans).enumerate() {
        let idx = index[s.name];
        match *span {
            Span::Present { start, end } => present.push((idx, rel(start), rel(end))),
            Span::Absent(a) => {
                let chain = s.name != "decode";
                let lo = r.time(s.start).or_else(|| {
                    if !chain {
                        return None;
                    }
                    (0..i)
                        .rev()
                        .filter(|&j| segs[j].name != "decode")
                        .find_map(|j| r.time(segs[j].end).or_else(|| r.time(segs[j].start)))
                });
                let hi = r.time(s.end).or_else(|| {
                    if !chain {
                        return None;
                    }
                    (i + 1..segs.len())
                        .filter(|&j| segs[j].name != "decode")
                        .find_map(|j| r.time(segs[j].start).or_else(|| r.time(segs[j].end)))
                });
                let (lo, hi) = match (lo, hi) {
                    (Some(l), Some(h)) if h >= l => (Some(rel(l)), Some(rel(h))),
                    (Some(l), None) => (Some(rel(l)), None),
                    (None, Some(h)) => (None, Some(rel(h))),
                    _ => (None, None),
                };
                absent.push((idx, a.name(), lo, hi));
            }
        }
    }
    let lat = |name: &str| {
        LATENCIES
            .iter()
            .find(|l| l.name == name)
            .and_then(|l| l.evaluate(r).duration())
            .map(ms)
    };
    ReqInfo {
        label: r.label.clone(),
        kind: kind_name(r.kind),
        arrival: origin,
        ttft: lat("ttft"),
        e2e: lat("e2e"),
        present,
        absent,
    }
}

fn opt(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |x| json!(r4(x)))
}

/// One drawn column: a request (`n` = 1) or the means over a bin of ranks.
fn column(infos: &[&ReqInfo], rank: usize, nseg: usize) -> Value {
    if let [r] = infos {
        return json!({
            "l": r.label, "k": r.kind, "n": 1, "r": rank,
            "t": opt(r.ttft), "e": opt(r.e2e),
            "p": r.present.iter().map(|&(s, a, b)| json!([s, r4(a), r4(b), 1])).collect::<Vec<_>>(),
            "a": r.absent.iter().map(|&(s, why, lo, hi)| json!([s, opt(lo), opt(hi), 1, why])).collect::<Vec<_>>(),
        });
    }
    let mut p = vec![(0.0f64, 0.0f64, 0u32); nseg];
    let mut a = vec![(0.0f64, 0.0f64, 0u32, 0u32, BTreeMap::<&str, u32>::new()); nseg];
    let (mut t, mut tn, mut e, mut en) = (0.0, 0u32, 0.0, 0u32);
    for r in infos {
        for &(s, x, y) in &r.present {
            p[s].0 += x;
            p[s].1 += y;
            p[s].2 += 1;
        }
        for &(s, why, lo, hi) in &r.absent {
            let slot = &mut a[s];
            slot.3 += 1;
            *slot.4.entry(why).or_default() += 1;
            if let (Some(lo), Some(hi)) = (lo, hi) {
                slot.0 += lo;
                slot.1 += hi;
                slot.2 += 1;
            }
        }
        if let Some(x) = r.ttft {
            t += x;
            tn += 1;
        }
        if let Some(x) = r.e2e {
            e += x;
            en += 1;
        }
    }
    let mean = |s: f64, n: u32| (n > 0).then(|| s / n as f64);
    json!({
        "n": infos.len(), "r": rank,
        "t": opt(mean(t, tn)), "e": opt(mean(e, en)),
        "p": p.iter().enumerate().filter(|(_, v)| v.2 > 0)
            .map(|(s, v)| json!([s, r4(v.0 / v.2 as f64), r4(v.1 / v.2 as f64), v.2])).collect::<Vec<_>>(),
        "a": a.iter().enumerate().filter(|(_, v)| v.3 > 0)
            .map(|(s, v)| {
                let why = v.4.iter().map(|(k, n)| format!("{k} ×{n}")).collect::<Vec<_>>().join(", ");
                json!([s, opt(mean(v.0, v.2)), opt(mean(v.1, v.2)), v.3, why])
            }).collect::<Vec<_>>(),
    })
}

/// Time-weighted mean and maximum, per bin of `[t0, t1)`, of how many of
/// `intervals` are open. Bins are `(t1 - t0) / bins` ns wide.
pub fn occupancy(intervals: &[(i64, i64)], t0: i64, t1: i64, bins: usize) -> (Vec<f64>, Vec<u32>) {
    let mut mean = vec![0.0; bins];
    let mut max = vec![0u32; bins];
    if bins == 0 || t1 <= t0 {
        return (mean, max);
    }
    let w = (t1 - t0) as f64 / bins as f64;
    // Ends sort before starts at the same time: back-to-back is not overlap.
    let mut ev: Vec<(i64, i32)> = Vec::with_capacity(intervals.len() * 2);
    for &(a, b) in intervals {
        if b > a {
            ev.push((a, 1));
            ev.push((b, -1));
        }
    }
    ev.sort_unstable();
    let bin_of = |t: f64| ((t / w) as usize).min(bins - 1);
    let add = |from: i64, to: i64, level: u32, mean: &mut Vec<f64>, max: &mut Vec<u32>| {
        if to <= from || level == 0 {
            return;
        }
        let (f, t) = ((from - t0) as f64, (to - t0) as f64);
        for b in bin_of(f)..=bin_of(t.min((t1 - t0) as f64 - 1e-9).max(f)) {
            let (b0, b1) = (b as f64 * w, (b + 1) as f64 * w);
            let overlap = t.min(b1) - f.max(b0);
            if overlap > 0.0 {
                mean[b] += overlap * level as f64 / w;
                max[b] = max[b].max(level);
            }
        }
    };
    let mut level: i64 = 0;
    let mut last = t0;
    for (t, d) in ev {
        add(last, t, level as u32, &mut mean, &mut max);
        level += d as i64;
        last = t;
    }
    (
        mean.into_iter()
            .map(|m| (m * 1000.0).round() / 1000.0)
            .collect(),
        max,
    )
}

/// Sorted values as at most [`CDF_POINTS`] points `[value, fraction ≤ value]`
/// of the empirical CDF (a step function: it jumps at each value).
pub fn cdf_points(mut v: Vec<f64>) -> Vec<[f64; 2]> {
    v.retain(|x| x.is_finite());
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n == 0 {
        return Vec::new();
    }
    let ranks: Vec<usize> = if n <= CDF_POINTS {
        (0..n).collect()
    } else {
        let mut r: Vec<usize> = (0..CDF_POINTS)
            .map(|k| ((k as f64 * (n - 1) as f64 / (CDF_POINTS - 1) as f64).round()) as usize)
            .collect();
        r.dedup();
        r
    };
    ranks
        .into_iter()
        .map(|i| [r4(v[i]), (i + 1) as f64 / n as f64])
        .collect()
}

fn requests_section(trace: &Trace, db: &Database) -> Result<Value> {
    let reqs = &trace.requests;
    let kinds: Vec<RequestKind> = {
        let mut k: Vec<RequestKind> = Vec::new();
        for r in reqs {
            if !k.contains(&r.kind) {
                k.push(r.kind);
            }
        }
        k
    };
    let mut defs: Vec<SegmentDef> = Vec::new();
    for s in segments::SEGMENTS {
        if !kinds.iter().any(|&k| s.applies.includes(k)) {
            continue;
        }
        let role = kinds
            .iter()
            .filter(|&&k| s.applies.includes(k))
            .map(|&k| s.role(k).name())
            .collect::<Vec<_>>()
            .join(" / ");
        if let Some(prev) = defs.iter_mut().find(|d| d.name == s.name) {
            prev.role = format!("{} / {}", prev.role, role);
            prev.start = format!("{} | {}", prev.start, s.start.name());
            prev.end = format!("{} | {}", prev.end, s.end.name());
            continue;
        }
        defs.push(SegmentDef {
            name: s.name,
            role,
            start: s.start.name(),
            end: s.end.name(),
            description: s.description,
            colour: s.colour,
        });
    }
    let index: BTreeMap<&str, usize> = defs.iter().enumerate().map(|(i, d)| (d.name, i)).collect();
    let infos: Vec<ReqInfo> = reqs.iter().map(|r| req_info(r, &index)).collect();
    let mut absent_counts = vec![0u64; defs.len()];
    for i in &infos {
        for a in &i.absent {
            absent_counts[a.0] += 1;
        }
    }
    let n = infos.len();
    // Sort orders; requests without the key go last, ties by input order.
    let key = |f: &dyn Fn(&ReqInfo) -> Option<f64>| {
        let mut o: Vec<usize> = (0..n).collect();
        o.sort_by(|&a, &b| {
            let (x, y) = (f(&infos[a]), f(&infos[b]));
            match (x, y) {
                (Some(x), Some(y)) => x.total_cmp(&y),
                (Some(_), None) => std::cmp::Ordering::Less,
                (None, Some(_)) => std::cmp::Ordering::Greater,
                (None, None) => std::cmp::Ordering::Equal,
            }
            .then(a.cmp(&b))
        });
        o
    };
    let orders = [
        ("arrival", key(&|r: &ReqInfo| r.arrival.map(|a| a as f64))),
        ("ttft", key(&|r: &ReqInfo| r.ttft)),
        ("e2e", key(&|r: &ReqInfo| r.e2e)),
    ];
    let mut items: Vec<Value> = Vec::new();
    let mut order_out = serde_json::Map::new();
    let binned = n > MAX_BARS;
    if !binned {
        items = infos.iter().map(|i| column(&[i], 0, defs.len())).collect();
        for (name, o) in &orders {
            order_out.insert((*name).into(), json!(o));
        }
    } else {
        for (name, o) in &orders {
            let mut ids = Vec::with_capacity(BINS);
            for c in 0..BINS {
                let (from, to) = (c * n / BINS, (c + 1) * n / BINS);
                if to == from {
                    continue;
                }
                let group: Vec<&ReqInfo> = o[from..to].iter().map(|&i| &infos[i]).collect();
                ids.push(items.len());
                items.push(column(&group, from, defs.len()));
            }
            order_out.insert((*name).into(), json!(ids));
        }
    }
    // In flight (arrival → last stamp) and queued (ctx_queue, gen_queue_wait)
    // over wall time.
    let mut flight = Vec::with_capacity(n);
    let mut queued = Vec::new();
    for r in reqs {
        let known = r.stamps.iter().filter_map(|s| s.get());
        if let (Some(a), Some(b)) = (known.clone().min(), known.max()) {
            flight.push((a, b));
        }
        for s in segments::for_kind(r.kind) {
            if s.name == "ctx_queue" || s.name == "gen_queue_wait" {
                if let Span::Present { start, end } = segments::evaluate(s, r) {
                    queued.push((start, end));
                }
            }
        }
    }
    let over_time = over_time(&[("in flight", &flight), ("queued", &queued)]);
    // CDFs with the latency query's percentiles (the numbers `stats` prints).
    let b = sql::Bundled::find("latency").expect("bundled latency query");
    let lat = db.run(b.name, b.sql, &[])?;
    let pcts = |metric: &str| -> Value {
        let col = |c: &str| lat.columns.iter().position(|x| x == c);
        lat.rows
            .iter()
            .find(|r| matches!(&r[0], rusqlite::types::Value::Text(t) if t == metric))
            .map(|r| {
                json!({
                    "p50": col("p50_ms").map(|i| sql::format::json_value(&r[i])),
                    "p90": col("p90_ms").map(|i| sql::format::json_value(&r[i])),
                    "p99": col("p99_ms").map(|i| sql::format::json_value(&r[i])),
                })
            })
            .unwrap_or(Value::Null)
    };
    let ttft: Vec<f64> = infos.iter().filter_map(|i| i.ttft).collect();
    let e2e: Vec<f64> = infos.iter().filter_map(|i| i.e2e).collect();
    let cdfs = json!([
        {"name": "TTFT", "unit": "ms", "n": ttft.len(), "absent": n - ttft.len(), "marks": pcts("ttft"), "points": cdf_points(ttft)},
        {"name": "end-to-end", "unit": "ms", "n": e2e.len(), "absent": n - e2e.len(), "marks": pcts("e2e"), "points": cdf_points(e2e)},
    ]);
    Ok(json!({
        "count": n,
        "segments": defs,
        "absent_counts": absent_counts,
        "binned": binned,
        "bins": if binned { BINS } else { 0 },
        "default_sort": if n <= 100 { "arrival" } else { "ttft" },
        "items": items,
        "orders": order_out,
        "over_time": over_time,
        "cdfs": cdfs,
    }))
}

/// Series of interval occupancy over a shared wall-time range.
fn over_time(series: &[(&str, &[(i64, i64)])]) -> Value {
    let t0 = series.iter().flat_map(|s| s.1.iter().map(|x| x.0)).min();
    let t1 = series.iter().flat_map(|s| s.1.iter().map(|x| x.1)).max();
    let (Some(t0), Some(t1)) = (t0, t1) else {
        return Value::Null;
    };
    if t1 <= t0 {
        return Value::Null;
    }
    let out: Vec<Value> = series
        .iter()
        .map(|(name, iv)| {
            let (mean, max) = occupancy(iv, t0, t1, TIME_BINS);
            json!({"name": name, "count": iv.len(), "mean": mean, "max": max})
        })
        .collect();
    json!({"span_s": (t1 - t0) as f64 / 1e9, "bins": TIME_BINS, "series": out})
}

fn int_of(v: &rusqlite::types::Value) -> Option<i64> {
    match v {
        rusqlite::types::Value::Integer(i) => Some(*i),
        rusqlite::types::Value::Real(f) => Some(*f as i64),
        _ => None,
    }
}

fn real_of(v: &rusqlite::types::Value) -> Option<f64> {
    match v {
        rusqlite::types::Value::Integer(i) => Some(*i as f64),
        rusqlite::types::Value::Real(f) => Some(*f),
        _ => None,
    }
}

fn text_of(v: &rusqlite::types::Value) -> String {
    sql::format::text(v)
}

fn client_section(db: &Database) -> Result<Value> {
    let counts = db.run(
        "report",
        "SELECT input, source, status, warmup, COUNT(*) AS requests FROM client_request \
         GROUP BY input, source, status, warmup ORDER BY input, status, warmup",
        &[],
    )?;
    let values = db.run(
        "report",
        "SELECT input, stat, value FROM client_stat_value WHERE in_stats = 1 AND stat IN \
         ('time_to_first_token', 'inter_token_latency', 'request_latency') ORDER BY input, stat",
        &[],
    )?;
    let b = sql::Bundled::find("client-stats").expect("bundled client-stats query");
    let stats = db.run(b.name, b.sql, &[])?;
    let times = db.run(
        "report",
        "SELECT input, start_ts, end_ts, output_sequence_length FROM client_request \
         WHERE in_stats = 1 AND start_ts IS NOT NULL AND end_ts IS NOT NULL ORDER BY input",
        &[],
    )?;
    let mut inputs: Vec<String> = counts.rows.iter().map(|r| text_of(&r[0])).collect();
    inputs.dedup();
    let col = |c: &str| {
        stats
            .columns
            .iter()
            .position(|x| x == c)
            .expect("client-stats column")
    };
    let mut out = Vec::new();
    for input in &inputs {
        let status: Vec<Value> = counts
            .rows
            .iter()
            .filter(|r| &text_of(&r[0]) == input)
            .map(|r| json!({"source": text_of(&r[1]), "status": text_of(&r[2]), "warmup": int_of(&r[3]) == Some(1), "requests": int_of(&r[4])}))
            .collect();
        let mut dists = Vec::new();
        for (stat, name) in [
            ("time_to_first_token", "TTFT"),
            ("inter_token_latency", "inter-token latency"),
            ("request_latency", "request latency"),
        ] {
            let v: Vec<f64> = values
                .rows
                .iter()
                .filter(|r| &text_of(&r[0]) == input && text_of(&r[1]) == stat)
                .filter_map(|r| real_of(&r[2]))
                .collect();
            if v.is_empty() {
                continue;
            }
            let marks = stats
                .rows
                .iter()
                .find(|r| &text_of(&r[0]) == input && text_of(&r[1]) == stat)
                .map(|r| {
                    json!({
                        "p50": sql::format::json_value(&r[col("p50")]),
                        "p90": sql::format::json_value(&r[col("p90")]),
                        "p99": sql::format::json_value(&r[col("p99")]),
                    })
                })
                .unwrap_or(Value::Null);
            dists.push(json!({"name": name, "stat": stat, "unit": "ms", "n": v.len(), "marks": marks, "points": cdf_points(v)}));
        }
        // Throughput over time: completions and output tokens per bin.
        let rows: Vec<(i64, i64, Option<f64>)> = times
            .rows
            .iter()
            .filter(|r| &text_of(&r[0]) == input)
            .filter_map(|r| Some((int_of(&r[1])?, int_of(&r[2])?, real_of(&r[3]))))
            .collect();
        let mut throughput = Value::Null;
        let mut flight = Value::Null;
        if let (Some(t0), Some(t1)) = (
            rows.iter().map(|r| r.0).min(),
            rows.iter().map(|r| r.1).max(),
        ) {
            if t1 > t0 {
                let bins = (rows.len() / 10).clamp(5, 150);
                let w = (t1 - t0) as f64 / bins as f64;
                let mut done = vec![0u32; bins];
                let mut tokens = vec![0.0f64; bins];
                let mut tokens_known = true;
                for &(_, end, osl) in &rows {
                    let b = (((end - t0) as f64 / w) as usize).min(bins - 1);
                    done[b] += 1;
                    match osl {
                        Some(x) => tokens[b] += x,
                        None => tokens_known = false,
                    }
                }
                let per_s = |x: f64| (x / (w / 1e9) * 1000.0).round() / 1000.0;
                throughput = json!({
                    "span_s": (t1 - t0) as f64 / 1e9,
                    "bin_s": w / 1e9,
                    "requests_per_s": done.iter().map(|&d| per_s(d as f64)).collect::<Vec<_>>(),
                    "tokens_per_s": if tokens_known { json!(tokens.iter().map(|&t| per_s(t)).collect::<Vec<_>>()) } else { Value::Null },
                });
                let iv: Vec<(i64, i64)> = rows.iter().map(|r| (r.0, r.1)).collect();
                flight = over_time(&[("in flight", &iv)]);
            }
        }
        out.push(json!({"input": input, "status": status, "dists": dists, "throughput": throughput, "over_time": flight}));
    }
    Ok(json!({"inputs": out}))
}

fn gpu_section(db: &Database) -> Result<Value> {
    let b = sql::Bundled::find("gpu-idle").expect("bundled gpu-idle query");
    let gaps = db.run(b.name, b.sql, &[("top".into(), "5".into())])?;
    let c = |n: &str| {
        gaps.columns
            .iter()
            .position(|x| x == n)
            .expect("gpu-idle column")
    };
    let mut g: Vec<&Vec<rusqlite::types::Value>> = gaps
        .rows
        .iter()
        .filter(|r| int_of(&r[c("gap_ns")]).is_some())
        .collect();
    // Whole-device gaps first (the GPU ran nothing), then per stream.
    g.sort_by_key(|r| {
        (
            text_of(&r[c("scope")]) != "device",
            std::cmp::Reverse(int_of(&r[c("gap_ns")])),
        )
    });
    let cols = [
        "scope",
        "device",
        "stream",
        "gap_rank",
        "gap_ts",
        "gap_ns",
        "kernel_before",
        "kernel_after",
    ];
    let largest = Rows {
        columns: cols.iter().map(|s| s.to_string()).collect(),
        rows: g
            .iter()
            .take(20)
            .map(|r| cols.iter().map(|n| r[c(n)].clone()).collect())
            .collect(),
    };
    let mut extras = Vec::new();
    for name in GPU_EXTRAS {
        if let Some(q) = sql::Bundled::find(name) {
            let rows = db.run(q.name, q.sql, &[])?;
            extras.push(table(&q.description(), q.name, &rows));
        }
    }
    Ok(json!({
        "gaps": table("Largest idle gaps (gpu-idle, top 5 per device, then per stream; gap_ts and gap_ns in ns)", "gpu-idle", &largest),
        "extras": extras,
        "extras_missing": GPU_EXTRAS.iter().filter(|n| sql::Bundled::find(n).is_none()).collect::<Vec<_>>(),
    }))
}

fn iteration_section(trace: &Trace) -> Value {
    let its = &trace.iterations;
    let all_ts = its.iter().all(|i| i.ts.is_some());
    let x_of = |i: &crate::model::Iteration, k: usize| -> f64 {
        if all_ts {
            i.ts.unwrap_or(0) as f64
        } else {
            i.iter.map_or(k as f64, |v| v as f64)
        }
    };
    let metric = |i: &crate::model::Iteration, name: &str| -> Option<f64> {
        match name {
            "kv" => Some(
                100.0 * i.number("kvCacheStats.usedNumBlocks")?
                    / i.number("kvCacheStats.maxNumBlocks").filter(|m| *m > 0.0)?,
            ),
            "ctx" => i
                .number("inflightBatchingStats.numContextRequests")
                .or_else(|| i.number("scheduledNumPrefillRequests"))
                .or_else(|| i.number("staticBatchingStats.numContextRequests")),
            "gen" => i
                .number("inflightBatchingStats.numGenRequests")
                .or_else(|| i.number("scheduledNumDecodeRequests")),
            other => i.number(other),
        }
    };
    let names = [
        "kv",
        "numActiveRequests",
        "numQueuedRequests",
        "ctx",
        "gen",
        "iterLatencyMS",
    ];
    let mut by_input: BTreeMap<u32, Vec<(f64, &crate::model::Iteration)>> = BTreeMap::new();
    for (k, i) in its.iter().enumerate() {
        by_input.entry(i.input).or_default().push((x_of(i, k), i));
    }
    let mut series = Vec::new();
    for (input, mut v) in by_input {
        v.sort_by(|a, b| a.0.total_cmp(&b.0));
        // Each input on its own axis: from its first iteration.
        let x0 = v[0].0;
        for p in &mut v {
            p.0 -= x0;
        }
        let xs: Vec<f64> = v.iter().map(|p| p.0).collect();
        let (lo, hi) = (xs[0], xs[xs.len() - 1]);
        // Bins over x: mean and max of each metric.
        let nb = if v.len() > 2 * TIME_BINS && hi > lo {
            TIME_BINS
        } else {
            0
        };
        let mut m = serde_json::Map::new();
        let scale = if all_ts { 1e9 } else { 1.0 };
        if nb == 0 {
            m.insert(
                "x".into(),
                json!(xs.iter().map(|x| x / scale).collect::<Vec<_>>()),
            );
            for name in names {
                let vals: Vec<Option<f64>> = v.iter().map(|p| metric(p.1, name)).collect();
                m.insert(name.into(), json!({"mean": vals, "max": vals}));
            }
        } else {
            let w = (hi - lo) / nb as f64;
            let bin = |x: f64| (((x - lo) / w) as usize).min(nb - 1);
            m.insert(
                "x".into(),
                json!((0..nb)
                    .map(|b| (lo + (b as f64 + 0.5) * w) / scale)
                    .collect::<Vec<_>>()),
            );
            for name in names {
                let mut sum = vec![0.0; nb];
                let mut cnt = vec![0u32; nb];
                let mut max = vec![f64::NEG_INFINITY; nb];
                for p in &v {
                    if let Some(y) = metric(p.1, name) {
                        let b = bin(p.0);
                        sum[b] += y;
                        cnt[b] += 1;
                        max[b] = max[b].max(y);
                    }
                }
                let mean: Vec<Option<f64>> = (0..nb)
                    .map(|b| (cnt[b] > 0).then(|| sum[b] / cnt[b] as f64))
                    .collect();
                let max: Vec<Option<f64>> =
                    (0..nb).map(|b| (cnt[b] > 0).then_some(max[b])).collect();
                m.insert(name.into(), json!({"mean": mean, "max": max}));
            }
        }
        let path = trace
            .provenance
            .inputs
            .get(input as usize)
            .map_or_else(String::new, |i| i.path.clone());
        series.push(json!({"input": path, "count": v.len(), "binned": nb > 0, "data": m}));
    }
    json!({
        "x_unit": if all_ts { "s since the input's first iteration" } else { "iteration (iter)" },
        "series": series,
    })
}

/// Renders the report page for what `db` holds (a database over inputs, not
/// a `db` file: the page needs the trace). Errors with
/// [`Error::NothingToDo`] when no section applies (as `stats` does).
pub fn render(db: &Database) -> Result<String> {
    let trace = db
        .trace()
        .ok_or_else(|| Error::Usage("report reads inputs, not a database file".into()))?;
    let sections = sql::sections::sections(db, false)?;
    if sections.is_empty() {
        return Err(Error::NothingToDo(
            "nothing to report: the inputs hold no requests, client records, GPU work or iteration statistics"
                .into(),
        ));
    }
    let has = |q: &str| sections.iter().any(|s| s.query == q);
    let stats: Vec<Value> = sections
        .iter()
        .map(|s| table(s.title, s.query, &s.rows))
        .collect();
    let mut parts = Vec::new();
    let mut data = serde_json::Map::new();
    if !trace.requests.is_empty() {
        data.insert("requests".into(), requests_section(trace, db)?);
        parts.push(format!("{} requests", trace.requests.len()));
    }
    if has("client-stats") {
        data.insert("client".into(), client_section(db)?);
        parts.push(format!("{} client records", trace.client_requests.len()));
    }
    if has("gpu-idle") || has("kernel-summary") {
        data.insert("gpu".into(), gpu_section(db)?);
        parts.push(format!("{} kernels", db.kernel_count()));
    }
    if has("iteration-stats") {
        data.insert("iterations".into(), iteration_section(trace));
        parts.push(format!("{} iterations", trace.iterations.len()));
    }
    if has("metric-summary") {
        parts.push("metric series".to_owned());
    }
    if has("slice-summary") {
        data.insert("timeline".into(), json!(true));
        parts.push(format!("{} slices", trace.slices.len()));
    }
    let inputs: Vec<Value> = trace
        .provenance
        .inputs
        .iter()
        .map(|i| json!({"path": i.path, "format": i.format, "records": i.records}))
        .collect();
    data.insert("title".into(), json!("breakdown-trace report"));
    data.insert(
        "subtitle".into(),
        json!(format!(
            "{} from {} input{}{} · breakdown-trace {}",
            parts.join(", "),
            inputs.len(),
            if inputs.len() == 1 { "" } else { "s" },
            trace
                .window
                .as_ref()
                .map_or_else(String::new, |w| format!(" · {}", w.describe())),
            trace.provenance.tool_version
        )),
    );
    data.insert("inputs".into(), json!(inputs));
    data.insert("stats".into(), json!(stats));
    data.insert(
        "warnings".into(),
        json!(trace.warnings.counts.iter().collect::<BTreeMap<_, _>>()),
    );
    let json =
        serde_json::to_string(&Value::Object(data)).map_err(|e| Error::Usage(e.to_string()))?;
    // Inside <script>, "</" could close the element: escape it (valid JSON).
    let json = json.replace("</", "<\\/");
    Ok(PAGE.replacen("/*DATA*/", &json, 1))
}

/// Renders and writes the report atomically.
pub fn write_file(db: &Database, path: &Path) -> Result<()> {
    let html = render(db)?;
    crate::output::write_atomically(path, |w| {
        w.write_all(html.as_bytes()).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn occupancy_is_time_weighted() {
        // [0,10) and [5,10) over 2 bins of 5 ns: bin 0 has 1, bin 1 has 2.
        let (mean, max) = occupancy(&[(0, 10), (5, 10)], 0, 10, 2);
        assert_eq!(mean, vec![1.0, 2.0]);
        assert_eq!(max, vec![1, 2]);
        // Half a bin open: mean 0.5, max 1; back-to-back intervals never 2.
        let (mean, max) = occupancy(&[(0, 5), (5, 10)], 0, 20, 2);
        assert_eq!(mean, vec![1.0, 0.0]);
        assert_eq!(max, vec![1, 0]);
        let (mean, _) = occupancy(&[(0, 5)], 0, 20, 2);
        assert_eq!(mean, vec![0.5, 0.0]);
    }

    #[test]
    fn cdf_is_a_step_per_value() {
        assert_eq!(
            cdf_points(vec![3.0, 1.0, 2.0]),
            vec![[1.0, 1.0 / 3.0], [2.0, 2.0 / 3.0], [3.0, 1.0]]
        );
        let p = cdf_points((0..10_000).map(|i| i as f64).collect());
        assert_eq!(p.len(), CDF_POINTS);
        assert_eq!(p[0], [0.0, 1e-4]);
        assert_eq!(p[CDF_POINTS - 1], [9999.0, 1.0]);
    }
}
