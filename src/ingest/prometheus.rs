//! Prometheus metrics: the text exposition format (what `curl host:8002/metrics`
//! prints; one scrape or many concatenated in one file) and the JSON result of
//! the HTTP API's `query_range` (matrix) and `query` (vector, scalar).
//!
//! Each series (a metric name plus a label set) becomes a counter track named
//! `metric{label="value",...}` (labels sorted by name, values escaped as the
//! format writes them) under a group per metric family, under one top-level
//! group per input named after the file. Values are kept as written (a
//! `_seconds` histogram sum stays in seconds; the track's unit says so).
//! Series that only grow (see [`is_monotonic`]) also get a `rate(...)` track:
//! the increase between consecutive samples per second, a drop (counter reset)
//! starting over from 0 as Prometheus' `rate()` does, counted as a
//! `counter_reset` warning. Every series is listed in
//! [`crate::model::MetricSeries`] (SQL `metric_series`).
//!
//! **Text format** (Prometheus exposition format 0.0.4; OpenMetrics 1.0
//! tolerated): `# HELP name text`, `# TYPE name counter|gauge|histogram|summary|untyped`,
//! other `#` lines are comments; a sample is
//! `name[{label="value",...}] value [timestamp]`, label values escaping `\\`,
//! `\"` and `\n`; values are Go floats including `NaN`, `+Inf`, `-Inf`. A
//! sample timestamp is integer milliseconds since the Unix epoch — in a file
//! with an OpenMetrics `# EOF` line, decimal seconds, as OpenMetrics defines
//! it. Histogram `_bucket{le=...}`, `_sum`, `_count` and summary quantile,
//! `_sum`, `_count` samples are series of their family like any other.
//! A non-finite value (`NaN`, `±Inf`) is no sample: the series is absent
//! there (never zero), counted as a `non_finite_value` warning.
//!
//! **Scrapes.** A file may hold several scrapes written one after another
//! (`while sleep 1; do curl -s host:8002/metrics; done > scrapes.prom`). A new
//! scrape starts at:
//! - a line after an OpenMetrics `# EOF` line;
//! - a `# HELP` or `# TYPE` line for a family that already had one in the
//!   current scrape (an exposition describes each family once);
//! - a sample of a series the current scrape already has (an exposition
//!   holds each series once).
//!
//! **Time.** A sample with a timestamp is at that time. A scrape's samples
//! without one are at the scrape's time, which is
//! 1. the TensorRT-LLM backend's `nv_trt_llm_general_metrics{general_type="timestamp"}`
//!    gauge in that scrape, when every scrape that needs a time has it (the
//!    largest, when several models report one). The backend sets it from the
//!    executor's latest iteration-stats timestamp (local wall clock parsed with
//!    `mktime`, so Unix-epoch time when the server's time zone is set): whole
//!    **seconds** in backends up to 2024 (`convertTimestampToSeconds`, e.g.
//!    `1700074049` in the backend's README), **microseconds** in later ones
//!    (`convertTimestampToMicroseconds`); told apart by magnitude (below
//!    10^11 seconds, 10^14..10^17 microseconds). It is the time of the last
//!    iteration, not of the scrape: on an idle server it stops advancing,
//!    which is a `stale_scrape_time` warning (samples at an already used
//!    time are then `duplicate_sample`s and dropped);
//! 2. otherwise `k × --scrape-interval` for scrape `k` (0-based), a clock
//!    starting at 0 (use `--shift`/`--align` to place it);
//! 3. otherwise the import fails, naming the file, the scrape and the option.
//!
//! **JSON** (`{"status":"success","data":{"resultType":...,"result":[...]}}`):
//! matrix series carry `values: [[unix_seconds, "value"], ...]`, vector series
//! `value: [unix_seconds, "value"]`, a scalar result is one series named
//! `scalar`. Times are decimal seconds converted to integer ns from their
//! text (never through a float). Native histograms (`histograms`) are
//! skipped with a `native_histogram_skipped` warning. A series without
//! `__name__` (the result of a function) is named by its labels alone.

use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{InputError, JsonFault, Position, Result};
use crate::ingest::Input;
use crate::model::{
    Counter, CounterUnit, LanePolicy, Location, MetricSeries, MetricType, Trace, Track, TrackId,
    TrackKind, Warning,
};
use crate::time::{to_ns, Unit};

/// The TensorRT-LLM backend's gauge family that carries the time of the
/// scrape (see the module documentation).
pub const TIMESTAMP_FAMILY: &str = "nv_trt_llm_general_metrics";

/// Name of the family group of series without a metric name (API results
/// of functions such as `rate(...)`).
pub const UNNAMED: &str = "(no metric name)";

/// Whether the head of a file looks like the text exposition format: its
/// first line that is not blank and not a plain `#` comment is a `# HELP`,
/// `# TYPE`, `# UNIT` or `# EOF` line or a well-formed sample.
pub fn looks_like_text(head: &str) -> bool {
    let complete = match head.rfind('\n') {
        Some(at) => &head[..at],
        None => return false, // not even one whole line
    };
    for line in complete
        .trim_start_matches('\u{feff}')
        .split('\n')
        .map(|l| l.trim_matches([' ', '\t', '\r']))
        .filter(|l| !l.is_empty())
    {
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start_matches([' ', '\t']);
            if rest == "EOF" {
                return true;
            }
            match rest.split_once([' ', '\t']) {
                Some(("HELP" | "TYPE" | "UNIT", tail)) => {
                    return valid_metric_name(tail.split_whitespace().next().unwrap_or(""))
                }
                _ => continue, // a comment
            }
        }
        return parse_sample(line).is_ok_and(|s| parse_value(s.value).is_some());
    }
    false
}

/// Whether a JSON head looks like a Prometheus HTTP API query result.
pub fn looks_like_json(head: &str) -> bool {
    head.contains("\"resultType\"") && head.contains("\"result\"")
}

/// A metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`.
fn valid_metric_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_' || c == b':')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':')
}

/// A label name: `[a-zA-Z_][a-zA-Z0-9_]*`.
fn valid_label_name(s: &str) -> bool {
    let mut b = s.bytes();
    matches!(b.next(), Some(c) if c.is_ascii_alphabetic() || c == b'_')
        && b.all(|c| c.is_ascii_alphanumeric() || c == b'_')
}

/// One parsed sample line.
#[derive(Debug, PartialEq)]
struct SampleLine<'a> {
    name: &'a str,
    labels: Vec<(&'a str, String)>,
    value: &'a str,
    timestamp: Option<&'a str>,
}

/// A fault in a sample line: the field and what is wrong.
type Fault = (String, String);

fn skip_blanks(b: &[u8], mut i: usize) -> usize {
    while i < b.len() && (b[i] == b' ' || b[i] == b'\t') {
        i += 1;
    }
    i
}

/// Parses `name{labels} value [timestamp]` (already trimmed).
fn parse_sample(line: &str) -> Result<SampleLine<'_>, Fault> {
    let b = line.as_bytes();
    let mut i = 0;
    while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
        i += 1;
    }
    let name = &line[..i];
    if !valid_metric_name(name) {
        return Err((
            "metric name".into(),
            format!(
                "`{}` does not start with a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
                shorten(line)
            ),
        ));
    }
    let after_name = i;
    i = skip_blanks(b, i);
    let mut labels: Vec<(&str, String)> = Vec::new();
    if i == after_name && i < b.len() && b[i] != b'{' {
        // The name must be followed by blanks or `{`.
        return Err((
            "metric name".into(),
            format!(
                "`{}` does not start with a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*)",
                shorten(line)
            ),
        ));
    }
    if b.get(i) == Some(&b'{') {
        i += 1;
        loop {
            i = skip_blanks(b, i);
            match b.get(i) {
                Some(b'}') => {
                    i += 1;
                    break;
                }
                None => {
                    return Err((
                        "labels".into(),
                        "the label set is not closed with `}`".into(),
                    ))
                }
                _ => {}
            }
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            let lname = &line[start..i];
            if !valid_label_name(lname) {
                let what = line[start..]
                    .chars()
                    .next()
                    .map_or("the end of the line".to_owned(), |c| format!("`{c}`"));
                return Err((
                    "labels".into(),
                    format!("expected a label name ([a-zA-Z_][a-zA-Z0-9_]*), found {what}"),
                ));
            }
            i = skip_blanks(b, i);
            if b.get(i) != Some(&b'=') {
                return Err((
                    format!("labels.{lname}"),
                    "expected `=` after the label name".into(),
                ));
            }
            i = skip_blanks(b, i + 1);
            if b.get(i) != Some(&b'"') {
                return Err((
                    format!("labels.{lname}"),
                    "expected a quoted label value".into(),
                ));
            }
            i += 1;
            let mut value = String::new();
            let mut closed = false;
            let mut run = i;
            while i < b.len() {
                match b[i] {
                    b'"' => {
                        value.push_str(&line[run..i]);
                        i += 1;
                        closed = true;
                        break;
                    }
                    b'\\' => {
                        value.push_str(&line[run..i]);
                        match b.get(i + 1) {
                            Some(b'\\') => value.push('\\'),
                            Some(b'"') => value.push('"'),
                            Some(b'n') => value.push('\n'),
                            other => {
                                let what = other.map_or("the end of the line".to_owned(), |&c| {
                                    line[i + 1..]
                                        .chars()
                                        .next()
                                        .map_or(format!("byte {c}"), |c| format!("`\\{c}`"))
                                });
                                return Err((
                                    format!("labels.{lname}"),
                                    format!("invalid escape {what} in a label value (only `\\\\`, `\\\"` and `\\n` are defined)"),
                                ));
                            }
                        }
                        i += 2;
                        run = i;
                    }
                    _ => i += 1,
                }
            }
            if !closed {
                return Err((
                    format!("labels.{lname}"),
                    "the label value is not closed with `\"`".into(),
                ));
            }
            if labels.iter().any(|(n, _)| *n == lname) {
                return Err((
                    format!("labels.{lname}"),
                    "the label appears twice in one label set".into(),
                ));
            }
            labels.push((lname, value));
            i = skip_blanks(b, i);
            match b.get(i) {
                Some(b',') => i += 1,
                Some(b'}') => {}
                _ => {
                    return Err((
                        format!("labels.{lname}"),
                        "expected `,` or `}` after the label value".into(),
                    ))
                }
            }
        }
    }
    let rest = line[i..].trim_start_matches([' ', '\t']);
    // Drop an OpenMetrics exemplar (`# {...} v [ts]`).
    let rest = match rest.find('#') {
        Some(at) => &rest[..at],
        None => rest,
    };
    let mut tokens = rest.split([' ', '\t']).filter(|t| !t.is_empty());
    let value = tokens
        .next()
        .ok_or_else(|| ("value".to_owned(), "the sample has no value".to_owned()))?;
    let timestamp = tokens.next();
    if let Some(extra) = tokens.next() {
        return Err((
            "timestamp".into(),
            format!("unexpected `{}` after the timestamp", shorten(extra)),
        ));
    }
    Ok(SampleLine {
        name,
        labels,
        value,
        timestamp,
    })
}

/// A sample value (Go's `strconv.ParseFloat` syntax: decimal or exponent,
/// `NaN`, `Inf`, `+Inf`, `-Inf`).
fn parse_value(text: &str) -> Option<f64> {
    let t = text.trim();
    let digits = t.strip_prefix(['+', '-']).unwrap_or(t);
    match digits.to_ascii_lowercase().as_str() {
        "nan" => return Some(f64::NAN),
        "inf" | "infinity" => {
            return Some(if t.starts_with('-') {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            })
        }
        _ => {}
    }
    // Rust accepts the same decimal syntax; refuse what it alone accepts.
    if digits.is_empty()
        || !digits
            .bytes()
            .all(|c| c.is_ascii_digit() || matches!(c, b'.' | b'e' | b'E' | b'+' | b'-'))
    {
        return None;
    }
    t.parse::<f64>().ok()
}

fn shorten(s: &str) -> String {
    if s.chars().count() <= 60 {
        s.to_owned()
    } else {
        let mut t: String = s.chars().take(57).collect();
        t.push_str("...");
        t
    }
}

/// `metric{a="x",b="y"}` with labels sorted by name and values escaped.
fn series_key(name: &str, labels: &[(String, String)]) -> String {
    let mut s = String::with_capacity(name.len() + 16 * labels.len());
    s.push_str(name);
    if !labels.is_empty() {
        s.push('{');
        for (i, (k, v)) in labels.iter().enumerate() {
            if i > 0 {
                s.push(',');
            }
            s.push_str(k);
            s.push_str("=\"");
            for c in v.chars() {
                match c {
                    '\\' => s.push_str("\\\\"),
                    '"' => s.push_str("\\\""),
                    '\n' => s.push_str("\\n"),
                    c => s.push(c),
                }
            }
            s.push('"');
        }
        s.push('}');
    }
    s
}

/// Whether a series only grows (offered as a rate): samples of a `counter`
/// family (not `_created`); a histogram's `_bucket`, `_count` and `_sum`; a
/// summary's `_count` and `_sum`; and, when no `# TYPE` says otherwise
/// (untyped families, JSON results), names ending in `_total` and Triton's
/// cumulative `nv_inference_*_us` durations.
pub fn is_monotonic(metric: &str, family: &str, kind: MetricType) -> bool {
    let suffix = metric.strip_prefix(family).unwrap_or("");
    match kind {
        MetricType::Counter => suffix != "_created",
        MetricType::Histogram => matches!(suffix, "_bucket" | "_count" | "_sum"),
        MetricType::Summary => matches!(suffix, "_count" | "_sum"),
        MetricType::Gauge => false,
        MetricType::Untyped => {
            metric.ends_with("_total")
                || (metric.starts_with("nv_inference_") && metric.ends_with("_us"))
        }
    }
}

/// Whether a monotonic series gets a `rate(...)` track: all but histogram
/// buckets (one rate per bucket would bury the rest; `metric-summary`
/// still gives their rate).
fn wants_rate_track(metric: &str, family: &str, kind: MetricType) -> bool {
    is_monotonic(metric, family, kind)
        && !(kind == MetricType::Histogram && metric.ends_with("_bucket"))
}

/// The unit of a series' values, from the naming conventions (base units
/// as suffixes); `None` when the name does not say.
fn unit_of(metric: &str, family: &str, kind: MetricType) -> Option<CounterUnit> {
    let suffix = metric.strip_prefix(family).unwrap_or("");
    let other = |u: &str| Some(CounterUnit::Other(u.to_owned()));
    if matches!(suffix, "_bucket" | "_count") {
        return Some(CounterUnit::Count);
    }
    if suffix == "_created" {
        return other("s"); // a Unix time in seconds
    }
    let base = family.trim_end_matches("_total");
    if base.ends_with("_bytes") {
        Some(CounterUnit::Bytes)
    } else if base.ends_with("_seconds") {
        other("s")
    } else if base.ends_with("_us") || base.ends_with("_microseconds") {
        other("us")
    } else if base.ends_with("_ms") || base.ends_with("_milliseconds") {
        other("ms")
    } else if base.ends_with("_ratio") {
        other("ratio")
    } else if base.ends_with("_percent") {
        // (vLLM's `_perc` gauges are fractions 0..1: no unit claimed.)
        other("%")
    } else if kind == MetricType::Counter || metric.ends_with("_total") {
        Some(CounterUnit::Count)
    } else {
        None
    }
}

fn unit_text(u: &Option<CounterUnit>) -> String {
    match u {
        Some(CounterUnit::Count) | None => String::new(),
        Some(CounterUnit::Bytes) => "bytes".into(),
        Some(CounterUnit::TimeNs) => "ns".into(),
        Some(CounterUnit::Other(s)) => s.clone(),
    }
}

/// A sample on its way into a track.
#[derive(Clone, Copy, Debug)]
struct Sample {
    ts: i64,
    value: f64,
    /// Line (text) or result index (JSON) for warnings.
    at: Location,
}

struct Series {
    metric: String,
    family: String,
    labels: Vec<(String, String)>,
    kind: MetricType,
    samples: Vec<Sample>,
}

#[derive(Default)]
struct Family {
    help: Option<String>,
    kind: Option<MetricType>,
    /// In `Collected::family_order` (a series of it was seen).
    listed: bool,
}

/// The series of one input, in order of first appearance.
#[derive(Default)]
struct Collected {
    series: Vec<Series>,
    index: FxHashMap<String, usize>,
    families: FxHashMap<String, Family>,
    family_order: Vec<String>,
}

impl Collected {
    fn family_of(&self, name: &str) -> (String, MetricType) {
        let declared = |f: &str| self.families.get(f).and_then(|x| x.kind);
        if let Some(k) = declared(name) {
            return (name.to_owned(), k);
        }
        for (suffix, kinds) in [
            ("_bucket", &[MetricType::Histogram][..]),
            ("_count", &[MetricType::Histogram, MetricType::Summary]),
            ("_sum", &[MetricType::Histogram, MetricType::Summary]),
            (
                "_created",
                &[
                    MetricType::Histogram,
                    MetricType::Summary,
                    MetricType::Counter,
                ],
            ),
            ("_total", &[MetricType::Counter]),
        ] {
            if let Some(base) = name.strip_suffix(suffix) {
                if let Some(k) = declared(base).filter(|k| kinds.contains(k)) {
                    return (base.to_owned(), k);
                }
            }
        }
        (name.to_owned(), MetricType::Untyped)
    }

    /// The index of the series `name{labels}`, made on first sight.
    fn series(&mut self, name: &str, mut labels: Vec<(String, String)>) -> (usize, bool) {
        labels.sort();
        let key = series_key(name, &labels);
        if let Some(&i) = self.index.get(&key) {
            return (i, false);
        }
        let (family, kind) = self.family_of(name);
        let f = self.families.entry(family.clone()).or_default();
        if !f.listed {
            f.listed = true;
            self.family_order.push(family.clone());
        }
        let i = self.series.len();
        self.series.push(Series {
            metric: name.to_owned(),
            family,
            labels,
            kind,
            samples: Vec::new(),
        });
        self.index.insert(key, i);
        (i, true)
    }
}

fn warn(trace: &mut Trace, input: u32, at: Location, kind: &'static str, field: &str, msg: String) {
    trace.warnings.push(Warning {
        kind,
        input,
        location: at,
        field: field.to_owned(),
        message: msg,
    });
}

/// One scrape of a text file: where it starts and its samples that need the
/// scrape's time.
#[derive(Default)]
struct Scrape {
    first_line: u64,
    last_line: u64,
    /// (series, value, line) of samples without a timestamp.
    pending: Vec<(usize, f64, u64)>,
    /// Values of the TensorRT-LLM timestamp gauge: (text, line).
    gauges: Vec<(String, u64)>,
    series: FxHashSet<usize>,
    help: FxHashSet<String>,
    types: FxHashSet<String>,
}

impl Scrape {
    fn is_empty(&self) -> bool {
        self.series.is_empty() && self.help.is_empty() && self.types.is_empty()
    }
}

/// Reads a text exposition file into `c`; returns the number of sample lines.
fn read_text(
    trace: &mut Trace,
    index: u32,
    input: &Input,
    text: &str,
    scrape_interval: Option<i64>,
    c: &mut Collected,
) -> Result<u64> {
    let path = &input.path;
    let err = |line: u64, field: &str, msg: String| -> crate::Error {
        InputError::new(path, Position::Line(line), msg)
            .field(field)
            .into()
    };
    let openmetrics = text
        .lines()
        .any(|l| l.trim_matches([' ', '\t', '\r']) == "# EOF");
    let mut scrapes: Vec<Scrape> = Vec::new();
    let mut cur = Scrape::default();
    let mut samples = 0u64;
    let mut after_eof = false;
    for (n, raw) in text.split('\n').enumerate() {
        let line_no = n as u64 + 1;
        let line = raw.trim_matches([' ', '\t', '\r']);
        let line = if n == 0 {
            line.trim_start_matches('\u{feff}')
        } else {
            line
        };
        if line.is_empty() {
            continue;
        }
        if after_eof {
            // Content after `# EOF`: the next scrape.
            if !cur.is_empty() {
                scrapes.push(std::mem::take(&mut cur));
            }
            after_eof = false;
        }
        if let Some(rest) = line.strip_prefix('#') {
            let rest = rest.trim_start_matches([' ', '\t']);
            if rest == "EOF" {
                after_eof = true;
                continue;
            }
            let (word, tail) = rest.split_once([' ', '\t']).unwrap_or((rest, ""));
            if word != "HELP" && word != "TYPE" {
                continue; // a comment (or OpenMetrics `# UNIT`)
            }
            let tail = tail.trim_start_matches([' ', '\t']);
            let (name, body) = tail.split_once([' ', '\t']).unwrap_or((tail, ""));
            if !valid_metric_name(name) {
                return Err(err(
                    line_no,
                    word,
                    format!("`# {word}` names no valid metric (`{}`)", shorten(name)),
                ));
            }
            let seen = if word == "HELP" {
                &cur.help
            } else {
                &cur.types
            };
            if seen.contains(name) {
                scrapes.push(std::mem::take(&mut cur));
            }
            if cur.is_empty() {
                cur.first_line = line_no;
            }
            cur.last_line = line_no;
            let fam = c.families.entry(name.to_owned()).or_default();
            if word == "HELP" {
                cur.help.insert(name.to_owned());
                if fam.help.is_none() {
                    fam.help = Some(unescape_help(body.trim_start_matches([' ', '\t'])));
                }
            } else {
                cur.types.insert(name.to_owned());
                let kind = match body.trim() {
                    "counter" => MetricType::Counter,
                    "gauge" => MetricType::Gauge,
                    "histogram" => MetricType::Histogram,
                    "summary" => MetricType::Summary,
                    "untyped" | "unknown" => MetricType::Untyped,
                    // OpenMetrics types we keep as gauges.
                    "gaugehistogram" | "stateset" | "info" => MetricType::Gauge,
                    other => {
                        return Err(err(
                            line_no,
                            "TYPE",
                            format!(
                                "unknown metric type `{}` for `{name}` (counter, gauge, histogram, summary or untyped)",
                                shorten(other)
                            ),
                        ))
                    }
                };
                if fam.kind.is_none() {
                    fam.kind = Some(kind);
                }
            }
            continue;
        }
        let s = parse_sample(line).map_err(|(field, msg)| err(line_no, &field, msg))?;
        samples += 1;
        let labels: Vec<(String, String)> = s
            .labels
            .iter()
            .map(|(k, v)| ((*k).to_owned(), v.clone()))
            .collect();
        let is_gauge = s.name == TIMESTAMP_FAMILY
            && s.labels
                .iter()
                .any(|(k, v)| *k == "general_type" && v == "timestamp");
        let (id, _) = c.series(s.name, labels);
        if cur.series.contains(&id) {
            scrapes.push(std::mem::take(&mut cur));
        }
        if cur.is_empty() {
            cur.first_line = line_no;
        }
        cur.last_line = line_no;
        cur.series.insert(id);
        let value = parse_value(s.value).ok_or_else(|| {
            err(
                line_no,
                "value",
                format!(
                    "`{}` is not a number (a float, `NaN`, `+Inf` or `-Inf`)",
                    shorten(s.value)
                ),
            )
        })?;
        if is_gauge {
            cur.gauges.push((s.value.to_owned(), line_no));
        }
        if !value.is_finite() {
            warn(
                trace,
                index,
                Location::Line(line_no),
                "non_finite_value",
                "value",
                format!(
                    "`{}` is not a finite number: no sample for this series here",
                    s.value
                ),
            );
            continue;
        }
        match s.timestamp {
            Some(t) => {
                let ts = if openmetrics {
                    to_ns(t, Unit::Seconds)
                } else {
                    // Integer milliseconds (a decimal is read exactly too).
                    to_ns(t, Unit::Millis)
                }
                .map_err(|e| err(line_no, "timestamp", e.to_string()))?;
                c.series[id].samples.push(Sample {
                    ts,
                    value,
                    at: Location::Line(line_no),
                });
            }
            None => cur.pending.push((id, value, line_no)),
        }
    }
    if !cur.is_empty() {
        scrapes.push(cur);
    }
    // Times of the scrapes whose samples need one.
    let gauge_ns = |s: &Scrape| -> Vec<Result<i64, String>> {
        s.gauges
            .iter()
            .map(|(t, _)| {
                let v: f64 = parse_value(t).unwrap_or(f64::NAN);
                let unit = if v > 0.0 && v < 1e11 {
                    Unit::Seconds
                } else if (1e14..1e17).contains(&v) {
                    Unit::Micros
                } else {
                    return Err(format!(
                        "`{t}` is neither Unix seconds (below 1e11) nor Unix microseconds (1e14 to 1e17)"
                    ));
                };
                to_ns(t, unit).map_err(|e| e.to_string())
            })
            .collect()
    };
    let needs: Vec<usize> = (0..scrapes.len())
        .filter(|&k| !scrapes[k].pending.is_empty())
        .collect();
    let mut times: FxHashMap<usize, i64> = FxHashMap::default();
    let mut bad_gauge: Option<(usize, u64, String)> = None;
    for &k in &needs {
        let mut best: Option<i64> = None;
        for (r, (_, line)) in gauge_ns(&scrapes[k]).into_iter().zip(&scrapes[k].gauges) {
            match r {
                Ok(ns) => best = Some(best.map_or(ns, |b: i64| b.max(ns))),
                Err(msg) => {
                    warn(
                        trace,
                        index,
                        Location::Line(*line),
                        "unreadable_scrape_time",
                        "nv_trt_llm_general_metrics{general_type=\"timestamp\"}",
                        format!("{msg}: not used as the scrape's time"),
                    );
                    if bad_gauge.is_none() {
                        bad_gauge = Some((k, *line, msg));
                    }
                }
            }
        }
        if let Some(ns) = best {
            times.insert(k, ns);
        }
    }
    let all_gauged = needs.iter().all(|k| times.contains_key(k));
    if !all_gauged {
        match scrape_interval {
            Some(step) => {
                let gauged = times.len();
                if gauged > 0 {
                    warn(
                        trace,
                        index,
                        Location::File,
                        "scrape_time_from_interval",
                        "",
                        format!(
                            "{gauged} of {} scrapes have the TensorRT-LLM timestamp gauge, the others not: \
                             every scrape is timed by --scrape-interval instead (one clock per file)",
                            needs.len()
                        ),
                    );
                }
                times.clear();
                for &k in &needs {
                    let ts = (k as i64).checked_mul(step).ok_or_else(|| {
                        err(
                            scrapes[k].first_line,
                            "",
                            format!(
                                "scrape {k} at {k} × --scrape-interval is beyond the time range"
                            ),
                        )
                    })?;
                    times.insert(k, ts);
                }
            }
            None => {
                let k = *needs
                    .iter()
                    .find(|k| !times.contains_key(k))
                    .expect("one scrape lacks a time");
                let s = &scrapes[k];
                let why = match &bad_gauge {
                    Some((bk, line, msg)) if *bk == k => format!(
                        "its TensorRT-LLM timestamp gauge (line {line}) is unusable: {msg}"
                    ),
                    _ => format!(
                        "it has no TensorRT-LLM timestamp gauge (`{TIMESTAMP_FAMILY}{{general_type=\"timestamp\"}}`)"
                    ),
                };
                return Err(InputError::new(
                    path,
                    Position::Line(s.first_line),
                    format!(
                        "scrape {k} (lines {}-{}, of {} in the file) has samples without timestamps and {why}; \
                         give --scrape-interval DURATION (e.g. 1s) to place scrape k at k × DURATION",
                        s.first_line,
                        s.last_line,
                        scrapes.len()
                    ),
                )
                .into());
            }
        }
    } else {
        // Gauge times: an idle server's timestamp stops advancing.
        let mut prev: Option<i64> = None;
        for &k in &needs {
            let t = times[&k];
            if let Some(p) = prev.filter(|&p| t <= p) {
                warn(
                    trace,
                    index,
                    Location::Line(scrapes[k].first_line),
                    "stale_scrape_time",
                    "nv_trt_llm_general_metrics{general_type=\"timestamp\"}",
                    format!(
                        "scrape {k}'s TensorRT-LLM timestamp ({t} ns) is not after the previous scrape's ({p} ns): \
                         it is the time of the last iteration, so no iteration ran in between"
                    ),
                );
            }
            prev = Some(prev.map_or(t, |p| p.max(t)));
        }
    }
    for (k, s) in scrapes.iter().enumerate() {
        let Some(&ts) = times.get(&k) else { continue };
        for &(id, value, line) in &s.pending {
            c.series[id].samples.push(Sample {
                ts,
                value,
                at: Location::Line(line),
            });
        }
    }
    Ok(samples)
}

/// `# HELP` text: `\\` and `\n` are escapes.
fn unescape_help(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(ch) = it.next() {
        if ch == '\\' {
            match it.clone().next() {
                Some('\\') => {
                    out.push('\\');
                    it.next();
                }
                Some('n') => {
                    out.push('\n');
                    it.next();
                }
                _ => out.push('\\'),
            }
        } else {
            out.push(ch);
        }
    }
    out
}

#[derive(Deserialize)]
struct ApiResponse<'a> {
    #[serde(default)]
    status: Option<String>,
    #[serde(borrow, default)]
    data: Option<&'a RawValue>,
    #[serde(rename = "errorType", default)]
    error_type: Option<String>,
    #[serde(default)]
    error: Option<String>,
}

#[derive(Deserialize)]
struct ApiData<'a> {
    #[serde(rename = "resultType")]
    result_type: String,
    #[serde(borrow)]
    result: &'a RawValue,
}

#[derive(Deserialize)]
struct ApiSeries<'a> {
    #[serde(default)]
    metric: std::collections::BTreeMap<String, String>,
    #[serde(borrow, default)]
    values: Option<Vec<(&'a RawValue, &'a RawValue)>>,
    #[serde(borrow, default)]
    value: Option<(&'a RawValue, &'a RawValue)>,
    #[serde(borrow, default)]
    histograms: Option<&'a RawValue>,
    #[serde(borrow, default)]
    histogram: Option<&'a RawValue>,
}

/// Reads a `query` / `query_range` JSON result into `c`; returns the
/// number of samples.
fn read_json(
    trace: &mut Trace,
    index: u32,
    input: &Input,
    text: &str,
    c: &mut Collected,
) -> Result<u64> {
    let path = &input.path;
    let resp: ApiResponse = serde_json::from_str(text)
        .map_err(|e| InputError::json_in(path, text, &JsonFault::from(&e), None))?;
    let at_file = |field: &str, msg: String| -> crate::Error {
        InputError::new(path, Position::File, msg)
            .field(field)
            .into()
    };
    if resp.status.as_deref() != Some("success") {
        return Err(at_file(
            "status",
            match (&resp.status, &resp.error_type, &resp.error) {
                (Some(s), t, e) if s == "error" => format!(
                    "the Prometheus API answered with an error: {}{}",
                    t.as_deref().map(|t| format!("{t}: ")).unwrap_or_default(),
                    e.as_deref().unwrap_or("(no message)")
                ),
                (Some(s), _, _) => format!("`{s}`, expected `success`"),
                (None, _, _) => "missing: not a Prometheus API response".into(),
            },
        ));
    }
    let data = resp.data.ok_or_else(|| at_file("data", "missing".into()))?;
    let data: ApiData = serde_json::from_str(data.get())
        .map_err(|e| at_file("data", crate::error::strip_position(&e)))?;
    let time = |raw: &RawValue, pos: Position, field: String| -> Result<i64, crate::Error> {
        to_ns(raw.get(), Unit::Seconds).map_err(|e| {
            InputError::new(path, pos, e.to_string())
                .field(field)
                .into()
        })
    };
    let value = |raw: &RawValue,
                 pos: Position,
                 field: String|
     -> Result<(f64, String), crate::Error> {
        let s: String = serde_json::from_str(raw.get()).map_err(|_| {
            InputError::new(
                path,
                pos.clone(),
                format!(
                    "expected the value as a JSON string, found `{}`",
                    shorten(raw.get())
                ),
            )
            .field(field.clone())
        })?;
        match parse_value(&s) {
            Some(v) => Ok((v, s)),
            None => Err(
                InputError::new(path, pos, format!("`{}` is not a number", shorten(&s)))
                    .field(field)
                    .into(),
            ),
        }
    };
    let mut n = 0u64;
    let mut push = |trace: &mut Trace,
                    c: &mut Collected,
                    id: usize,
                    ts: i64,
                    (v, s): (f64, String),
                    i: u64,
                    field: String| {
        n += 1;
        if v.is_finite() {
            c.series[id].samples.push(Sample {
                ts,
                value: v,
                at: Location::Index(i),
            });
        } else {
            warn(
                trace,
                index,
                Location::Index(i),
                "non_finite_value",
                &field,
                format!("`{s}` is not a finite number: no sample for this series here"),
            );
        }
    };
    match data.result_type.as_str() {
        "matrix" | "vector" => {
            let list: Vec<ApiSeries> = serde_json::from_str(data.result.get())
                .map_err(|e| at_file("data.result", crate::error::strip_position(&e)))?;
            let matrix = data.result_type == "matrix";
            for (i, s) in list.into_iter().enumerate() {
                let i64i = i as u64;
                let pos = Position::Record(i64i);
                let base = format!("data.result[{i}]");
                let mut labels: Vec<(String, String)> = Vec::new();
                let mut name = String::new();
                for (k, v) in s.metric {
                    if k == "__name__" {
                        name = v;
                    } else {
                        labels.push((k, v));
                    }
                }
                if s.histograms.is_some() || s.histogram.is_some() {
                    warn(
                        trace,
                        index,
                        Location::Index(i64i),
                        "native_histogram_skipped",
                        &format!("{base}.histogram{}", if matrix { "s" } else { "" }),
                        "native histogram samples are not read (float samples are)".into(),
                    );
                }
                let (id, _) = c.series(&name, labels);
                let points: Vec<(&RawValue, &RawValue)> = if matrix {
                    s.values.unwrap_or_default()
                } else {
                    s.value.into_iter().collect()
                };
                for (j, (t, v)) in points.into_iter().enumerate() {
                    let field = if matrix {
                        format!("{base}.values[{j}]")
                    } else {
                        format!("{base}.value")
                    };
                    let ts = time(t, pos.clone(), format!("{field}[0]"))?;
                    let val = value(v, pos.clone(), format!("{field}[1]"))?;
                    push(trace, c, id, ts, val, i64i, format!("{field}[1]"));
                }
            }
        }
        "scalar" => {
            let (t, v): (&RawValue, &RawValue) = serde_json::from_str(data.result.get())
                .map_err(|e| at_file("data.result", crate::error::strip_position(&e)))?;
            let (id, _) = c.series("scalar", Vec::new());
            let ts = time(t, Position::Record(0), "data.result[0]".into())?;
            let val = value(v, Position::Record(0), "data.result[1]".into())?;
            push(trace, c, id, ts, val, 0, "data.result[1]".into());
        }
        other => {
            return Err(at_file(
                "data.resultType",
                format!(
                    "`{}`: only matrix, vector and scalar results hold numbers",
                    shorten(other)
                ),
            ))
        }
    }
    Ok(n)
}

/// Reads one Prometheus input (text exposition or API JSON) into `trace`.
/// `scrape_interval` (ns) times text scrapes that have neither sample
/// timestamps nor the TensorRT-LLM timestamp gauge.
pub fn import(
    trace: &mut Trace,
    index: u32,
    input: &Input,
    scrape_interval: Option<i64>,
) -> Result<()> {
    let text = input.text()?;
    let mut c = Collected::default();
    let body = text.trim_start_matches('\u{feff}').trim_start();
    let records = if body.starts_with('{') {
        read_json(trace, index, input, body, &mut c)?
    } else {
        read_text(trace, index, input, text, scrape_interval, &mut c)?
    };
    trace.provenance.inputs[index as usize].records = records;
    build_tracks(trace, index, input, c);
    Ok(())
}

/// Makes the tracks, counters, rates and `metric_series` rows of one input.
fn build_tracks(trace: &mut Trace, index: u32, input: &Input, mut c: Collected) {
    if c.series.iter().all(|s| s.samples.is_empty()) {
        warn(
            trace,
            index,
            Location::File,
            "empty_input",
            "",
            "no metric samples with a value and a time".into(),
        );
        return;
    }
    let file = input.path.file_name().map_or_else(
        || input.path.display().to_string(),
        |f| f.to_string_lossy().into_owned(),
    );
    let name = trace.intern(&file);
    let mut root = Track::new(name, None, TrackKind::Plain);
    root.lanes = LanePolicy::Nest;
    root.explicit_child_order = true;
    root.description = Some(format!(
        "Prometheus metrics from {file}: one group per metric family, one counter track per series \
         (values as written), rate(...) tracks for series that only grow (per second)."
    ));
    let root = trace.add_track(root);
    let mut family_tracks: FxHashMap<String, TrackId> = FxHashMap::default();
    // Families with samples, and their type (every series of a family has it).
    let mut kinds: FxHashMap<&str, MetricType> = FxHashMap::default();
    for s in c.series.iter().filter(|s| !s.samples.is_empty()) {
        kinds.insert(&s.family, s.kind);
    }
    let mut rank = 0i32;
    for f in &c.family_order {
        let Some(&kind) = kinds.get(f.as_str()) else {
            continue;
        };
        let info = c.families.get(f);
        let id = trace.intern(if f.is_empty() { UNNAMED } else { f });
        let mut t = Track::new(id, Some(root), TrackKind::Plain);
        t.explicit_child_order = true;
        t.rank = Some(rank);
        rank += 1;
        t.description = Some(match info.and_then(|i| i.help.as_deref()) {
            Some(h) => format!("{} ({})", h, kind.name()),
            None => kind.name().to_owned(),
        });
        family_tracks.insert(f.clone(), trace.add_track(t));
    }
    let mut child_rank: FxHashMap<TrackId, i32> = FxHashMap::default();
    for s in &mut c.series {
        if s.samples.is_empty() {
            continue;
        }
        let parent = family_tracks[&s.family];
        // Time order; a second sample at the same time is dropped.
        s.samples.sort_by_key(|x| x.ts);
        let mut kept: Vec<Sample> = Vec::with_capacity(s.samples.len());
        let key = series_key(&s.metric, &s.labels);
        for x in s.samples.drain(..) {
            if let Some(last) = kept.last().filter(|l| l.ts == x.ts) {
                let same = last.value == x.value;
                warn(
                    trace,
                    index,
                    x.at,
                    "duplicate_sample",
                    &key,
                    format!(
                        "a second sample at {} ns ({}); the first ({}) is kept",
                        x.ts,
                        if same {
                            "same value".to_owned()
                        } else {
                            format!("value {}", x.value)
                        },
                        last.value
                    ),
                );
                continue;
            }
            kept.push(x);
        }
        let unit = unit_of(&s.metric, &s.family, s.kind);
        let monotonic = is_monotonic(&s.metric, &s.family, s.kind);
        let r = child_rank.entry(parent).or_insert(0);
        let name = trace.intern(&key);
        let mut t = Track::new(
            name,
            Some(parent),
            TrackKind::Counter {
                unit: unit.clone().unwrap_or(CounterUnit::Other(String::new())),
            },
        );
        t.rank = Some(*r);
        *r += 1;
        t.description = Some(format!(
            "Prometheus {} series `{}`{}.",
            s.kind.name(),
            key,
            match unit_text(&unit).as_str() {
                "" => String::new(),
                u => format!(", in {u}"),
            }
        ));
        let track = trace.add_track(t);
        for x in &kept {
            trace.counters.push(Counter {
                track,
                ts: x.ts,
                value: x.value,
            });
        }
        let mut resets = 0u64;
        let rate_track = if wants_rate_track(&s.metric, &s.family, s.kind) {
            let rname = trace.intern(&format!("rate({key})"));
            let u = match unit_text(&unit).as_str() {
                "" => "/s".to_owned(),
                u => format!("{u}/s"),
            };
            let mut t = Track::new(
                rname,
                Some(parent),
                TrackKind::Counter {
                    unit: CounterUnit::Other(u),
                },
            );
            t.rank = Some(*child_rank.get(&parent).unwrap_or(&0));
            *child_rank.entry(parent).or_insert(0) += 1;
            t.description = Some(format!(
                "Per-second increase of `{key}` between consecutive samples, at the later one; a drop is a \
                 counter reset and counts from 0."
            ));
            Some(trace.add_track(t))
        } else {
            None
        };
        if monotonic {
            for w in kept.windows(2) {
                let (a, b) = (w[0], w[1]);
                let inc = if b.value >= a.value {
                    b.value - a.value
                } else {
                    resets += 1;
                    warn(
                        trace,
                        index,
                        b.at,
                        "counter_reset",
                        &key,
                        format!(
                            "the counter fell from {} to {} at {} ns: a restart; the increase counts from 0",
                            a.value, b.value, b.ts
                        ),
                    );
                    b.value
                };
                if let Some(rt) = rate_track {
                    let dt = b.ts.abs_diff(a.ts) as f64 / 1e9;
                    trace.counters.push(Counter {
                        track: rt,
                        ts: b.ts,
                        value: inc / dt,
                    });
                }
            }
        }
        trace.metric_series.push(MetricSeries {
            input: index,
            track,
            rate_track,
            metric: s.metric.clone(),
            family: s.family.clone(),
            labels: s.labels.clone(),
            kind: s.kind,
            monotonic,
            help: c.families.get(&s.family).and_then(|f| f.help.clone()),
            samples: kept.len() as u64,
            resets,
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sample_lines() {
        let s = parse_sample(r#"a_b:c{x="1",y="q\"\\\n"} 2.5 1700000000123"#).unwrap();
        assert_eq!(s.name, "a_b:c");
        assert_eq!(
            s.labels,
            vec![("x", "1".to_owned()), ("y", "q\"\\\n".to_owned())]
        );
        assert_eq!(s.value, "2.5");
        assert_eq!(s.timestamp, Some("1700000000123"));
        let s = parse_sample("up 1").unwrap();
        assert!(s.labels.is_empty() && s.timestamp.is_none());
        let s = parse_sample(r#"x{a="b",} NaN"#).unwrap();
        assert_eq!(s.labels.len(), 1);
        assert_eq!(parse_sample(r#"x{a="b" 1"#).unwrap_err().0, "labels.a");
        assert_eq!(parse_sample(r#"x{a=b} 1"#).unwrap_err().0, "labels.a");
        assert_eq!(parse_sample(r#"x{a="\t"} 1"#).unwrap_err().0, "labels.a");
        assert_eq!(
            parse_sample(r#"x{a="1",a="2"} 1"#).unwrap_err().0,
            "labels.a"
        );
        assert_eq!(parse_sample(r#"x{1a="1"} 1"#).unwrap_err().0, "labels");
        assert_eq!(parse_sample("x").unwrap_err().0, "value");
        assert_eq!(parse_sample("x 1 2 3").unwrap_err().0, "timestamp");
        assert_eq!(parse_sample("9x 1").unwrap_err().0, "metric name");
        assert_eq!(parse_sample("x-y 1").unwrap_err().0, "metric name");
    }

    #[test]
    fn values() {
        assert_eq!(parse_value("1.5e3"), Some(1500.0));
        assert_eq!(parse_value("+Inf"), Some(f64::INFINITY));
        assert_eq!(parse_value("-Inf"), Some(f64::NEG_INFINITY));
        assert!(parse_value("NaN").unwrap().is_nan());
        assert_eq!(parse_value("abc"), None);
        assert_eq!(parse_value(""), None);
        assert_eq!(parse_value("0x10"), None);
    }

    #[test]
    fn keys_sort_and_escape() {
        let l = vec![
            ("a".to_owned(), "x\"y".to_owned()),
            ("b".to_owned(), "\n".to_owned()),
        ];
        assert_eq!(series_key("m", &l), r#"m{a="x\"y",b="\n"}"#);
        assert_eq!(series_key("m", &[]), "m");
    }

    #[test]
    fn monotonic_series() {
        use MetricType::*;
        assert!(is_monotonic("x_total", "x", Counter));
        assert!(!is_monotonic("x_created", "x", Counter));
        assert!(is_monotonic("h_bucket", "h", Histogram));
        assert!(!is_monotonic("s", "s", Summary));
        assert!(is_monotonic(
            "nv_inference_queue_duration_us",
            "nv_inference_queue_duration_us",
            Untyped
        ));
        assert!(!is_monotonic(
            "nv_inference_pending_request_count",
            "nv_inference_pending_request_count",
            Untyped
        ));
        assert!(!is_monotonic("g_total", "g_total", Gauge));
    }

    #[test]
    fn detection() {
        assert!(looks_like_text("# HELP x y\n"));
        assert!(looks_like_text("\n\nup 1\n"));
        assert!(!looks_like_text("hello world\n"));
        assert!(!looks_like_text("# a comment\n"));
        assert!(looks_like_json(
            r#"{"status":"success","data":{"resultType":"vector","result":[]}}"#
        ));
    }
}
