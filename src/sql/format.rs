//! Query results as aligned text, CSV (RFC 4180 quoting, `\n` line ends) or
//! JSON (an array of objects whose keys keep the column order).
//!
//! Tables are for reading: reals get one precision per column
//! ([`column_decimals`]), mangled C++/Rust names are demangled
//! ([`demangle`]) and, given a width ([`Style::width`]), the widest text
//! column is shortened with `…` in its middle until the table fits (numbers
//! are never shortened). CSV and JSON are for programs: every value exactly
//! as SQLite returned it (reals in Rust's shortest round-trip form), names
//! raw.

use std::borrow::Cow;
use std::fmt::Write;

use rusqlite::types::Value;
use unicode_width::UnicodeWidthStr;

/// A result set: column names and rows of SQLite values.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Rows {
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// How tabular output is printed (`--output-format`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OutputFormat {
    Table,
    Csv,
    Json,
}

impl OutputFormat {
    /// Every format, in the order help texts list them.
    pub const NAMES: &'static [&'static str] = &["table", "csv", "json"];

    pub fn from_name(s: &str) -> Option<OutputFormat> {
        match s {
            "table" => Some(OutputFormat::Table),
            "csv" => Some(OutputFormat::Csv),
            "json" => Some(OutputFormat::Json),
            _ => None,
        }
    }
}

/// How a table is laid out for reading.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Style {
    /// Fit the table into this many columns (terminal cells) by shortening
    /// the widest text column; `None` never shortens anything.
    pub width: Option<usize>,
    /// Show mangled C++ (`_Z…`) and Rust (`_R…`, legacy `_ZN…17h…E`)
    /// symbol names demangled.
    pub demangle: bool,
}

impl Style {
    /// The style of a table on a terminal `width` cells wide.
    pub fn terminal(width: Option<usize>) -> Style {
        Style {
            width,
            demangle: true,
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

/// A mangled symbol name demangled for display: Rust (v0 `_R…` and legacy
/// `_ZN…17h<hash>E`, shown without the hash) by `rustc-demangle`, other
/// Itanium C++ ABI names (`_Z…`, as nvcc and GCC write them) by
/// `cpp_demangle`. Anything else, or a name that does not demangle, is
/// returned unchanged.
pub fn demangle(name: &str) -> Cow<'_, str> {
    if !(name.starts_with("_Z") || name.starts_with("_R") || name.starts_with("__Z")) {
        return Cow::Borrowed(name);
    }
    if let Ok(d) = rustc_demangle::try_demangle(name) {
        return Cow::Owned(format!("{d:#}"));
    }
    if let Ok(sym) = cpp_demangle::Symbol::new(name) {
        if let Ok(text) = sym.demangle() {
            return Cow::Owned(text);
        }
    }
    Cow::Borrowed(name)
}

/// The number of decimals a column of reals is shown with in a table: as
/// many as its values need (in their shortest round-trip form), at least 1,
/// at most a cap by unit — 3 for milli- and microseconds (`…_ms`, `…_us`,
/// `(ms)`, `(us)`: µs or ns resolution), 2 for percentages (`pct`, `%`),
/// otherwise 6 significant digits of the column's largest value (never
/// more than 6 decimals).
pub fn column_decimals(name: &str, values: impl Iterator<Item = f64>) -> usize {
    let lower = name.to_ascii_lowercase();
    let mut max_abs = 0f64;
    let mut need = 0usize;
    for v in values.filter(|v| v.is_finite()) {
        max_abs = max_abs.max(v.abs());
        let s = v.abs().to_string();
        if !s.contains('e') {
            need = need.max(s.split_once('.').map_or(0, |(_, f)| f.len()));
        } else {
            need = need.max(6);
        }
    }
    let cap = if lower.ends_with("_ms")
        || lower.ends_with("_us")
        || lower.contains("(ms)")
        || lower.contains("(us)")
    {
        3
    } else if lower.contains("pct") || lower.contains('%') {
        2
    } else {
        let int_digits = if max_abs < 1.0 {
            0
        } else {
            max_abs.log10().floor() as usize + 1
        };
        6usize.saturating_sub(int_digits).min(6)
    };
    need.min(cap).max(1)
}

pub fn render(rows: &Rows, format: OutputFormat) -> String {
    render_styled(rows, format, &Style::default())
}

/// Like [`render`]; `style` applies to tables.
pub fn render_styled(rows: &Rows, format: OutputFormat, style: &Style) -> String {
    match format {
        OutputFormat::Table => table(rows, style),
        OutputFormat::Csv => csv(rows),
        OutputFormat::Json => json(rows),
    }
}

/// `s` shortened to `width` terminal cells with `…` in the middle.
pub fn ellipsize_middle(s: &str, width: usize) -> String {
    if s.width() <= width {
        return s.to_owned();
    }
    if width == 0 {
        return String::new();
    }
    let keep = width - 1;
    let (head_w, tail_w) = (keep - keep / 2, keep / 2);
    let mut head = String::new();
    let mut w = 0;
    for c in s.chars() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > head_w {
            break;
        }
        w += cw;
        head.push(c);
    }
    let mut tail: Vec<char> = Vec::new();
    let mut w = 0;
    for c in s.chars().rev() {
        let cw = unicode_width::UnicodeWidthChar::width(c).unwrap_or(0);
        if w + cw > tail_w {
            break;
        }
        w += cw;
        tail.push(c);
    }
    head.push('…');
    head.extend(tail.into_iter().rev());
    head
}

/// Text columns are not shortened below this many cells.
const MIN_TEXT_WIDTH: usize = 12;

fn table(r: &Rows, style: &Style) -> String {
    let ncol = r.columns.len();
    let numeric: Vec<bool> = (0..ncol)
        .map(|i| {
            r.rows
                .iter()
                .all(|row| matches!(row[i], Value::Integer(_) | Value::Real(_) | Value::Null))
        })
        .collect();
    let decimals: Vec<usize> = (0..ncol)
        .map(|i| {
            column_decimals(
                &r.columns[i],
                r.rows.iter().filter_map(|row| match row[i] {
                    Value::Real(f) => Some(f),
                    _ => None,
                }),
            )
        })
        .collect();
    let mut cells: Vec<Vec<String>> = r
        .rows
        .iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .map(|(i, v)| match v {
                    Value::Null => "NULL".to_owned(),
                    Value::Real(f) if f.is_finite() && f.abs() < 1e15 => {
                        format!("{f:.*}", decimals[i])
                    }
                    Value::Text(s) if style.demangle => demangle(s).into_owned(),
                    v => text(v),
                })
                .collect()
        })
        .collect();
    let mut headers = r.columns.clone();
    let mut width: Vec<usize> = headers.iter().map(|c| c.width()).collect();
    for row in &cells {
        for (w, c) in width.iter_mut().zip(row) {
            *w = (*w).max(c.width());
        }
    }
    if let Some(limit) = style.width {
        let total = |w: &[usize]| w.iter().sum::<usize>() + 2 * w.len().saturating_sub(1);
        let natural = width.clone();
        while total(&width) > limit {
            let Some(widest) = (0..ncol)
                .filter(|&i| !numeric[i] && width[i] > MIN_TEXT_WIDTH)
                .max_by_key(|&i| (width[i], std::cmp::Reverse(i)))
            else {
                break;
            };
            let second = (0..ncol)
                .filter(|&i| i != widest && !numeric[i])
                .map(|i| width[i])
                .max()
                .unwrap_or(0)
                .max(MIN_TEXT_WIDTH);
            let excess = total(&width) - limit;
            // Shorten the widest column down to the next widest at most,
            // so the cut is shared when two columns are both long.
            let cut = excess.min(width[widest] - second).max(1);
            width[widest] -= cut.min(width[widest] - MIN_TEXT_WIDTH);
        }
        for i in 0..ncol {
            if width[i] < natural[i] {
                headers[i] = ellipsize_middle(&headers[i], width[i]);
                for row in cells.iter_mut() {
                    row[i] = ellipsize_middle(&row[i], width[i]);
                }
            }
        }
    }
    let mut out = String::new();
    let line = |out: &mut String, items: &[String]| {
        let mut s = String::new();
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                s.push_str("  ");
            }
            let pad = width[i].saturating_sub(item.width());
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
    line(&mut out, &headers);
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

fn csv_field(s: &str) -> Cow<'_, str> {
    if s.contains([',', '"', '\n', '\r']) {
        Cow::Owned(format!("\"{}\"", s.replace('"', "\"\"")))
    } else {
        Cow::Borrowed(s)
    }
}

/// One CSV record: fields quoted as RFC 4180 says, ended by `\n` (what
/// Unix tools, pandas and DuckDB expect; RFC 4180's CRLF shows as `^M` in
/// them).
pub fn csv_line(fields: impl Iterator<Item = String>) -> String {
    let f: Vec<String> = fields.map(|s| csv_field(&s).into_owned()).collect();
    let mut line = f.join(",");
    line.push('\n');
    line
}

fn csv(r: &Rows) -> String {
    let mut out = csv_line(r.columns.iter().cloned());
    for row in &r.rows {
        out.push_str(&csv_line(row.iter().map(text)));
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

/// The object keys of `columns`: a repeated name gets `:2`, `:3`, ...
pub fn json_keys(columns: &[String]) -> Vec<String> {
    let mut keys: Vec<String> = Vec::with_capacity(columns.len());
    for c in columns {
        let mut key = c.clone();
        let mut k = 2;
        while keys.contains(&key) {
            key = format!("{c}:{k}");
            k += 1;
        }
        keys.push(key);
    }
    keys
}

/// Rows as a JSON array of objects, keys in column order (serialize with
/// serde_json: it writes map entries in the order given).
pub struct JsonRows<'a>(pub &'a Rows);

impl serde::Serialize for JsonRows<'_> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        use serde::ser::{SerializeMap, SerializeSeq};
        struct Obj<'a>(&'a [String], &'a [Value]);
        impl serde::Serialize for Obj<'_> {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut m = s.serialize_map(Some(self.0.len()))?;
                for (k, v) in self.0.iter().zip(self.1) {
                    m.serialize_entry(k, &json_value(v))?;
                }
                m.end()
            }
        }
        let keys = json_keys(&self.0.columns);
        let mut seq = s.serialize_seq(Some(self.0.rows.len()))?;
        for row in &self.0.rows {
            seq.serialize_element(&Obj(&keys, row))?;
        }
        seq.end()
    }
}

fn json(r: &Rows) -> String {
    let mut s = serde_json::to_string_pretty(&JsonRows(r)).expect("JSON values serialize");
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(columns: &[&str], rows: Vec<Vec<Value>>) -> Rows {
        Rows {
            columns: columns.iter().map(|c| c.to_string()).collect(),
            rows,
        }
    }

    #[test]
    fn json_keeps_column_order_and_repeated_names() {
        let r = rows(
            &["z", "a", "z"],
            vec![vec![Value::Integer(1), Value::Null, Value::Real(0.5)]],
        );
        let s = render(&r, OutputFormat::Json);
        let z = s.find("\"z\"").unwrap();
        let a = s.find("\"a\"").unwrap();
        let z2 = s.find("\"z:2\"").unwrap();
        assert!(z < a && a < z2, "{s}");
    }

    #[test]
    fn csv_lines_end_in_lf() {
        let r = rows(
            &["a", "b"],
            vec![vec![Value::Text("x,y".into()), Value::Null]],
        );
        assert_eq!(render(&r, OutputFormat::Csv), "a,b\n\"x,y\",\n");
    }

    #[test]
    fn decimals_per_column() {
        // mean_ms 1.3333… → 3 decimals (µs); 1.0/2.5 → 1.
        assert_eq!(column_decimals("mean_ms", [1.0 / 3.0, 2.0].into_iter()), 3);
        assert_eq!(column_decimals("x", [1.0, 2.5].into_iter()), 1);
        assert_eq!(column_decimals("idle_pct", [12.3456].into_iter()), 2);
        // 464.66410099999996 with 6 significant digits → 3 decimals.
        assert_eq!(column_decimals("v", [464.66410099999996].into_iter()), 3);
    }

    #[test]
    fn middle_ellipsis() {
        assert_eq!(ellipsize_middle("abcdefghij", 5), "ab…ij");
        assert_eq!(ellipsize_middle("abc", 5), "abc");
    }

    #[test]
    fn demangles_cpp_and_rust_only() {
        assert_eq!(demangle("_Z3foov"), "foo()");
        assert_eq!(
            demangle("_ZN4core3fmt5write17h0123456789abcdefE"),
            "core::fmt::write"
        );
        assert_eq!(demangle("ampere_sgemm_128x64"), "ampere_sgemm_128x64");
        assert_eq!(demangle("_Znot a symbol"), "_Znot a symbol");
    }
}
