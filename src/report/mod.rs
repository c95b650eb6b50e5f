//! The interactive HTML breakdown report: one self-contained file (inline
//! CSS/JS, a Content-Security-Policy that forbids any network access) with a
//! stacked bar per request, a statistics panel, latency CDFs and the segment
//! definitions. Colours and descriptions come from [`crate::segments`].
//!
//! Scale: bars are drawn on a canvas; with more requests than pixel columns
//! each column shows per-segment means of the requests it covers (the page
//! says so), so 100k requests stay responsive.

use std::io::Write;
use std::path::Path;

use serde::Serialize;
use serde_json::Value;

use crate::error::{Error, Result};
use crate::model::{Request, RequestKind, Trace};
use crate::segments::{self, Span, LATENCIES};

const PAGE: &str = include_str!("page.html");

/// A table of results shown as-is in the statistics panel (the rows of the
/// bundled `segment-stats` query, so the page and `stats` agree).
#[derive(Clone, Debug, Default, Serialize)]
pub struct Table {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
    /// Columns holding text (left-aligned).
    pub text_columns: Vec<String>,
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

#[derive(Serialize)]
struct RequestRow {
    label: String,
    kind: &'static str,
    /// ms since the earliest request's arrival (same clock only).
    arrival: Option<f64>,
    ttft: Option<f64>,
    e2e: Option<f64>,
    /// Present segments, ms.
    seg: serde_json::Map<String, Value>,
    /// Absent segments and why.
    absent: serde_json::Map<String, Value>,
}

#[derive(Serialize)]
struct Data<'a> {
    title: String,
    subtitle: String,
    segments: Vec<SegmentDef>,
    requests: Vec<RequestRow>,
    absent_counts: serde_json::Map<String, Value>,
    stats: &'a Table,
}

fn ms(ns: i64) -> f64 {
    ns as f64 / 1e6
}

fn kind_name(k: RequestKind) -> &'static str {
    match k {
        RequestKind::Aggregated => "aggregated",
        RequestKind::Disaggregated => "disaggregated",
    }
}

fn request_row(r: &Request, t0: i64) -> RequestRow {
    let mut seg = serde_json::Map::new();
    let mut absent = serde_json::Map::new();
    for s in segments::for_kind(r.kind) {
        match segments::evaluate(s, r) {
            Span::Present { start, end } => {
                seg.insert(s.name.into(), ms(end - start).into());
            }
            Span::Absent(a) => {
                absent.insert(s.name.into(), a.name().into());
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
    RequestRow {
        label: r.label.clone(),
        kind: kind_name(r.kind),
        arrival: segments::arrival(r).map(|a| ms(a - t0)),
        ttft: lat("ttft"),
        e2e: lat("e2e"),
        seg,
        absent,
    }
}

/// Renders the report page for `trace`'s requests.
pub fn render(trace: &Trace, stats: &Table) -> Result<String> {
    if trace.requests.is_empty() {
        return Err(Error::NothingToDo(
            "the report needs per-request inputs (e.g. TensorRT-LLM perf metrics); none were given"
                .into(),
        ));
    }
    let t0 = trace
        .requests
        .iter()
        .filter_map(segments::arrival)
        .min()
        .unwrap_or(0);
    let requests: Vec<RequestRow> = trace.requests.iter().map(|r| request_row(r, t0)).collect();
    let kinds: Vec<RequestKind> = {
        let mut k: Vec<RequestKind> = trace.requests.iter().map(|r| r.kind).collect();
        k.dedup();
        k
    };
    // One legend entry per segment name present in these requests' kinds.
    let mut segments_out: Vec<SegmentDef> = Vec::new();
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
        if let Some(prev) = segments_out.iter_mut().find(|d| d.name == s.name) {
            prev.role = format!("{} / {}", prev.role, role);
            prev.start = format!("{} | {}", prev.start, s.start.name());
            prev.end = format!("{} | {}", prev.end, s.end.name());
            continue;
        }
        segments_out.push(SegmentDef {
            name: s.name,
            role,
            start: s.start.name(),
            end: s.end.name(),
            description: s.description,
            colour: s.colour,
        });
    }
    let mut absent_counts = serde_json::Map::new();
    for r in &requests {
        for k in r.absent.keys() {
            let n = absent_counts.get(k).and_then(Value::as_u64).unwrap_or(0);
            absent_counts.insert(k.clone(), (n + 1).into());
        }
    }
    let inputs: Vec<&str> = trace
        .provenance
        .inputs
        .iter()
        .map(|i| i.path.as_str())
        .collect();
    let data = Data {
        title: "Request time breakdown".into(),
        subtitle: format!(
            "{} requests from {} · breakdown-trace {}",
            requests.len(),
            inputs.join(", "),
            trace.provenance.tool_version
        ),
        segments: segments_out,
        requests,
        absent_counts,
        stats,
    };
    let json = serde_json::to_string(&data).map_err(|e| Error::Usage(e.to_string()))?;
    // Inside <script>, "</" could close the element: escape it (valid JSON).
    let json = json.replace("</", "<\\/");
    Ok(PAGE.replacen("/*DATA*/", &json, 1))
}

/// Renders and writes the report atomically.
pub fn write_file(trace: &Trace, stats: &Table, path: &Path) -> Result<()> {
    let html = render(trace, stats)?;
    crate::output::write_atomically(path, |w| {
        w.write_all(html.as_bytes()).map_err(|source| Error::Write {
            path: path.to_owned(),
            source,
        })
    })
}
