//! The rows `stats` prints, and their table / CSV / JSON renderings. Every
//! statistics producer (client benchmarks now, request segments later)
//! returns [`StatRow`]s so they print the same way.

use std::fmt::Write;

use crate::stats::Summary;

/// Percentiles every row reports (aiperf's set).
pub const PERCENTILES: [f64; 8] = [1.0, 5.0, 25.0, 50.0, 75.0, 90.0, 95.0, 99.0];

/// One statistic over one group of values.
#[derive(Clone, Debug)]
pub struct StatRow {
    /// What the values come from (e.g. an input file).
    pub source: String,
    /// Statistic name, e.g. `time_to_first_token`.
    pub name: String,
    pub unit: String,
    /// `None` when no value qualified.
    pub summary: Option<Summary>,
}

impl StatRow {
    /// (avg, min, max, p1..p99, std) in display order, `None` without values.
    pub fn values(&self) -> Vec<Option<f64>> {
        let Some(s) = &self.summary else {
            return vec![None; 4 + PERCENTILES.len()];
        };
        let mut v = vec![Some(s.mean), Some(s.min), Some(s.max)];
        v.extend(PERCENTILES.iter().map(|&p| Some(s.percentile(p))));
        v.push(Some(s.std));
        v
    }

    pub fn count(&self) -> usize {
        self.summary.as_ref().map_or(0, |s| s.count)
    }
}

/// Column headers after `source, stat, unit, count`.
pub fn value_headers() -> Vec<String> {
    let mut h = vec!["avg".to_owned(), "min".into(), "max".into()];
    h.extend(PERCENTILES.iter().map(|p| format!("p{p}")));
    h.push("std".into());
    h
}

/// Output format of `stats`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

pub fn render(rows: &[StatRow], format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table(rows),
        OutputFormat::Csv => csv(rows),
        OutputFormat::Json => json(rows),
    }
}

fn num(v: Option<f64>) -> String {
    match v {
        Some(x) => format!("{x:.6}"),
        None => String::new(),
    }
}

fn table(rows: &[StatRow]) -> String {
    let mut header = vec![
        "source".to_owned(),
        "stat".into(),
        "unit".into(),
        "count".into(),
    ];
    header.extend(value_headers());
    let mut cells: Vec<Vec<String>> = vec![header];
    for r in rows {
        let mut c = vec![
            r.source.clone(),
            r.name.clone(),
            r.unit.clone(),
            r.count().to_string(),
        ];
        c.extend(r.values().into_iter().map(num));
        cells.push(c);
    }
    let widths: Vec<usize> = (0..cells[0].len())
        .map(|i| {
            cells
                .iter()
                .map(|c| c[i].chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    let mut out = String::new();
    for c in &cells {
        let line: Vec<String> = c
            .iter()
            .enumerate()
            .map(|(i, s)| {
                if i < 3 {
                    format!("{s:<w$}", w = widths[i])
                } else {
                    format!("{s:>w$}", w = widths[i])
                }
            })
            .collect();
        let _ = writeln!(out, "{}", line.join("  ").trim_end());
    }
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

fn csv(rows: &[StatRow]) -> String {
    let mut out = String::from("source,stat,unit,count,");
    out.push_str(&value_headers().join(","));
    out.push('\n');
    for r in rows {
        let mut c = vec![
            csv_field(&r.source),
            csv_field(&r.name),
            csv_field(&r.unit),
            r.count().to_string(),
        ];
        // Full precision (shortest round-trip) for machine consumers.
        c.extend(
            r.values()
                .into_iter()
                .map(|v| v.map_or(String::new(), |x| x.to_string())),
        );
        let _ = writeln!(out, "{}", c.join(","));
    }
    out
}

fn json(rows: &[StatRow]) -> String {
    let list: Vec<serde_json::Value> = rows
        .iter()
        .map(|r| {
            let mut m = serde_json::Map::new();
            m.insert("source".into(), r.source.clone().into());
            m.insert("stat".into(), r.name.clone().into());
            m.insert("unit".into(), r.unit.clone().into());
            m.insert("count".into(), r.count().into());
            for (h, v) in value_headers().into_iter().zip(r.values()) {
                m.insert(h, v.map_or(serde_json::Value::Null, |x| x.into()));
            }
            serde_json::Value::Object(m)
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&list).expect("plain values");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_empty_rows() {
        let rows = vec![StatRow {
            source: "a,b".into(),
            name: "x".into(),
            unit: "ms".into(),
            summary: None,
        }];
        let out = csv(&rows);
        assert!(out.lines().nth(1).unwrap().starts_with("\"a,b\",x,ms,0,"));
        // 15 separators plus the comma inside the quoted source.
        assert_eq!(out.lines().nth(1).unwrap().matches(',').count(), 15 + 1);
        let j: serde_json::Value = serde_json::from_str(&json(&rows)).unwrap();
        assert_eq!(j[0]["p99"], serde_json::Value::Null);
    }
}
