//! Query results as aligned text, CSV (RFC 4180) or JSON (array of objects).

use std::fmt::Write;

use rusqlite::types::Value;

/// A result set: column names and rows of SQLite values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// How `query` prints results.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

impl OutputFormat {
    pub fn from_name(s: &str) -> Option<OutputFormat> {
        match s {
            "table" => Some(OutputFormat::Table),
            "csv" => Some(OutputFormat::Csv),
            "json" => Some(OutputFormat::Json),
            _ => None,
        }
    }
}

/// A value as text: integers as is, reals in Rust's shortest round-trip
/// form, NULL as the empty string (table, CSV), blobs as hex.
pub fn text(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::Integer(i) => i.to_string(),
        Value::Real(f) => real(*f),
        Value::Text(s) => s.clone(),
        Value::Blob(b) => {
            b.iter().fold(String::from("x'"), |mut s, x| {
                let _ = write!(s, "{x:02x}");
                s
            }) + "'"
        }
    }
}

fn real(f: f64) -> String {
    if f.is_finite() && f == f.trunc() && f.abs() < 1e15 {
        format!("{f:.1}")
    } else {
        f.to_string()
    }
}

pub fn render(rows: &Rows, format: OutputFormat) -> String {
    match format {
        OutputFormat::Table => table(rows),
        OutputFormat::Csv => csv(rows),
        OutputFormat::Json => json(rows),
    }
}

fn table(r: &Rows) -> String {
    let cells: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .map(|v| match v {
                    Value::Null => "NULL".to_owned(),
                    v => text(v),
                })
                .collect()
        })
        .collect();
    let mut width: Vec<usize> = r.columns.iter().map(|c| c.chars().count()).collect();
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.chars().count());
        }
    }
    let numeric: Vec<bool> = (0..r.columns.len())
        .map(|i| {
            r.rows
                .iter()
                .all(|row| matches!(row[i], Value::Integer(_) | Value::Real(_) | Value::Null))
        })
        .collect();
    let mut out = String::new();
    let line = |out: &mut String, items: &[String]| {
        let mut s = String::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = width[i].saturating_sub(item.chars().count());
            if numeric[i] {
                s.push_str(&" ".repeat(pad));
                s.push_str(item);
            } else {
                s.push_str(item);
                s.push_str(&" ".repeat(pad));
            }
        }
        out.push_str(s.trim_end());
        out.push('\n');
    };
    line(&mut out, &r.columns);
    let rule: Vec<String> = width.iter().map(|w| "-".repeat(*w)).collect();
    line(&mut out, &rule);
    for row in &cells {
        line(&mut out, row);
    }
    let _ = writeln!(
        out,
        "({} row{})",
        r.rows.len(),
        if r.rows.len() == 1 { "" } else { "s" }
    );
    out
}

fn csv_field(s: &str) -> String {
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_owned()
    }
}

/// One CSV record (RFC 4180: CRLF line ends).
pub fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let f: Vec<String> = fields.map(|s| csv_field(&s)).collect();
    let mut line = f.join(",");
    line.push_str("\r\n");
    line
}

fn csv(r: &Rows) -> String {
    let mut out = String::new();
    let header: Vec<String> = r.columns.iter().map(|c| csv_field(c)).collect();
    out.push_str(&header.join(","));
    out.push_str("\r\n");
    for row in &r.rows {
        let f: Vec<String> = row.iter().map(|v| csv_field(&text(v))).collect();
        out.push_str(&f.join(","));
        out.push_str("\r\n");
    }
    out
}

/// One SQLite value as JSON (NaN/∞ reals and blobs become null / text).
pub fn json_value(v: &Value) -> serde_json::Value {
    use serde_json::{Number, Value as J};
    match v {
        Value::Null => J::Null,
        Value::Integer(i) => J::Number((*i).into()),
        Value::Real(f) => Number::from_f64(*f).map_or(J::Null, J::Number),
        Value::Text(s) => J::String(s.clone()),
        Value::Blob(_) => J::String(text(v)),
    }
}

fn json(r: &Rows) -> String {
    use serde_json::{Map, Value as J};
    let arr: Vec<J> = r
        .rows
        .iter()
        .map(|row| {
            let mut m = Map::new();
            for (c, v) in r.columns.iter().zip(row) {
                let j = json_value(v);
                // Duplicate column names (e.g. `name`, `name`): keep both.
                let mut key = c.clone();
                let mut k = 2;
                while m.contains_key(&key) {
                    key = format!("{c}:{k}");
                    k += 1;
                }
                m.insert(key, j);
            }
            J::Object(m)
        })
        .collect();
    let mut s = serde_json::to_string_pretty(&J::Array(arr)).expect("JSON values serialize");
    s.push('\n');
    s
}
