//! TensorRT-LLM per-request perf metrics (FORMATS.md §1): `/perf_metrics`
//! JSON arrays of aggregated worker records or disaggregated proxy records,
//! benchmark_serving's `*-perf_metrics.json` (the same array, indented), and
//! `perf_metrics-{kind}-{host}-{pid}-{stamp}.jsonl` (one record per line).
//!
//! Several inputs are concatenated; a record seen twice (same servers,
//! request ids and arrival stamps) is kept once and counted as a warning.
//! An absent timestamp (missing key, `null`, `0.0`) makes the segments using
//! it absent; a reversed pair makes that segment absent. Both are warnings
//! by field. Nothing is zero-filled.
//!
//! Layout (DESIGN.md "Track layout"): a top-level track per server role, a
//! child per server address when records name one, lanes below so requests
//! never cross; per request and role one parent slice `request <id>` with
//! the role's segments (and `time_breakdown_metrics` steps) as children.

use std::collections::hash_map::Entry;
use std::path::Path;

use rayon::prelude::*;
use rustc_hash::{FxHashMap, FxHashSet};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{strip_position, InputError, Position, Result};
use crate::ingest::jsonrec::kind_of;
use crate::ingest::Input;
use crate::json::{flatten, is_null, present, Pairs};
use crate::model::{
    ArgValue, Args, Field, Flow, LanePolicy, Location, Request, RequestKind, Side, Slice, SliceId,
    SliceKind, Stamp, StrId, Trace, Track, TrackId, TrackKind, Warning, WorkerField,
};
use crate::segments::{self, Role, Span};
use crate::time::{self, Unit};

type Raw<'a> = Option<&'a RawValue>;

/// A record as it appears in any generation (A, B, C, D). Unknown keys are
/// ignored so newer servers still convert.
#[derive(Deserialize)]
struct RecordJson<'a> {
    // Worker record (aggregated, or one half of a disaggregated request).
    #[serde(borrow, default, deserialize_with = "present")]
    request_id: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    perf_metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    ctx_request_id: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    time_breakdown_metrics: Raw<'a>,
    // Generation D.
    #[serde(borrow, default, deserialize_with = "present")]
    status: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    disagg_request_id: Raw<'a>,
    // Disaggregated proxy record.
    #[serde(borrow, default, deserialize_with = "present")]
    ctx_server: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    gen_server: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    disagg_server_arrival_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    disagg_ctx_dispatch_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    disagg_server_first_token_time: Raw<'a>,
    /// Spelling used in the PR #8005 description.
    #[serde(borrow, default, deserialize_with = "present")]
    disagg_server_first_token_ts: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    ctx_perf_metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    gen_perf_metrics: Raw<'a>,
}

/// A worker record's `perf_metrics` object.
#[derive(Deserialize, Default)]
struct PerfMetricsJson<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    first_iter: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    last_iter: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    timing_metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    kv_cache_metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    speculative_decoding: Raw<'a>,
    /// Legacy placement of the time breakdown (see FORMATS.md §1.4).
    #[serde(borrow, default, deserialize_with = "present")]
    time_breakdown_metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    step_metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    ctx_chunk_metrics: Raw<'a>,
}

#[derive(Deserialize, Default)]
struct TimingJson<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    server_arrival_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    arrival_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    first_scheduled_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    first_token_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    server_first_token_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    last_token_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    kv_cache_size: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    kv_cache_transfer_start: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    kv_cache_transfer_end: Raw<'a>,
}

impl<'a> TimingJson<'a> {
    fn get(&self, f: WorkerField) -> Raw<'a> {
        match f {
            WorkerField::ServerArrival => self.server_arrival_time,
            WorkerField::Arrival => self.arrival_time,
            WorkerField::FirstScheduled => self.first_scheduled_time,
            WorkerField::FirstToken => self.first_token_time,
            WorkerField::ServerFirstToken => self.server_first_token_time,
            WorkerField::LastToken => self.last_token_time,
            WorkerField::KvTransferStart => self.kv_cache_transfer_start,
            WorkerField::KvTransferEnd => self.kv_cache_transfer_end,
        }
    }
}

/// `time_breakdown_metrics` (PyTorch backend).
#[derive(Deserialize, Default)]
struct BreakdownJson<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    step_metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    ctx_chunk_metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    ctx_gpu_forward_time: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    ctx_gpu_sample_time: Raw<'a>,
}

/// Where the importer is, for errors and warnings.
struct Cursor<'p> {
    path: &'p Path,
    input: u32,
    position: Position,
}

impl Cursor<'_> {
    fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        let e = InputError::new(self.path, self.position.clone(), message);
        if field.is_empty() {
            e
        } else {
            e.field(field)
        }
    }

    fn location(&self) -> Location {
        match self.position {
            Position::Record(i) | Position::Packet(i) => Location::Index(i),
            Position::Line(l) | Position::LineColumn(l, _) => Location::Line(l),
            Position::File => Location::File,
        }
    }

    fn warn(&self, trace: &mut Trace, kind: &'static str, field: &str, message: impl Into<String>) {
        trace.warnings.push(Warning {
            kind,
            input: self.input,
            location: self.location(),
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Parses an optional nested object; `null` and missing are `None`.
    fn object<'a, T: Deserialize<'a>>(
        &self,
        raw: Raw<'a>,
        field: &str,
    ) -> Result<Option<T>, InputError> {
        match raw {
            None => Ok(None),
            Some(v) if is_null(v) => Ok(None),
            Some(v) => {
                if !v.get().starts_with('{') {
                    return Err(
                        self.error(field, format!("expected an object, found {}", kind_of(v)))
                    );
                }
                serde_json::from_str(v.get()).map_err(|e| self.error(field, strip_position(&e)))
            }
        }
    }

    fn stamp(&self, raw: Raw, field: &str) -> Result<Stamp, InputError> {
        stamp_of(raw).map_err(|m| self.error(field, m))
    }

    fn int(&self, raw: Raw, field: &str) -> Result<Option<i64>, InputError> {
        match raw {
            None => Ok(None),
            Some(v) if is_null(v) => Ok(None),
            Some(v) => int_of(v).map(Some).ok_or_else(|| {
                self.error(field, format!("expected an integer, found {}", kind_of(v)))
            }),
        }
    }
}

/// A timestamp in seconds → [`Stamp`]. Strings, objects etc. are errors.
fn stamp_of(raw: Raw) -> Result<Stamp, String> {
    let Some(v) = raw else {
        return Ok(Stamp::Missing);
    };
    if is_null(v) {
        return Ok(Stamp::Null);
    }
    let t = v.get();
    if !t.starts_with(|c: char| c == '-' || c.is_ascii_digit()) {
        return Err(format!(
            "expected a number of seconds, found {}",
            kind_of(v)
        ));
    }
    match time::to_ns(t, Unit::Seconds) {
        Ok(0) => Ok(Stamp::Zero),
        Ok(ns) => Ok(Stamp::At(ns)),
        Err(e) => Err(e.to_string()),
    }
}

/// Integer ids: numbers (also `3.0`) or, as generation D allows, digit strings.
fn int_of(v: &RawValue) -> Option<i64> {
    let t = v.get();
    if let Ok(i) = t.parse::<i64>() {
        return Some(i);
    }
    if let Some(s) = t.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return s.parse().ok();
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
        .map(|f| f as i64)
}

fn string_of(v: &RawValue) -> Option<String> {
    match crate::json::scalar(v)? {
        ArgValue::Str(s) => Some(s),
        ArgValue::Int(i) => Some(i.to_string()),
        ArgValue::Uint(u) => Some(u.to_string()),
        ArgValue::Real(f) => Some(f.to_string()),
        ArgValue::Bool(b) => Some(b.to_string()),
    }
}

/// One worker half, parsed.
#[derive(Default)]
struct Half<'a> {
    request_id: Option<i64>,
    request_id_text: Option<String>,
    ctx_request_id: Option<i64>,
    stamps: [Stamp; 8],
    /// Field path prefix of this half, for warnings (`` or `ctx_perf_metrics.`).
    prefix: String,
    details: Vec<(String, ArgValue)>,
    breakdown: Option<BreakdownJson<'a>>,
    /// The half names a KV-cache transfer (it is a generation server's).
    has_kv: bool,
}

/// A record turned into a request, before it becomes slices.
struct Parsed<'a> {
    cursor_input: u32,
    location: Location,
    kind: RequestKind,
    router: [Stamp; 3],
    ctx: Option<Half<'a>>,
    gen: Option<Half<'a>>,
    ctx_server: Option<String>,
    gen_server: Option<String>,
    /// Server identity from a JSONL file name (`host pid N`).
    file_server: Option<String>,
    status: Option<String>,
    disagg_request_id: Option<i64>,
    details: Vec<(String, ArgValue)>,
    /// `details` of the record and its halves, keys interned (filled right
    /// after parsing so owned key strings do not pile up).
    interned: Vec<(StrId, ArgValue)>,
}

impl Parsed<'_> {
    fn intern_details(&mut self, strings: &mut crate::model::Strings) {
        let mut all: Vec<(String, ArgValue)> = std::mem::take(&mut self.details);
        for h in [self.ctx.as_mut(), self.gen.as_mut()].into_iter().flatten() {
            // `take`, not `append`: an emptied Vec would keep its buffer.
            all.extend(std::mem::take(&mut h.details));
        }
        self.interned = all
            .into_iter()
            .map(|(k, v)| (strings.intern(&k), v))
            .collect();
    }
}

/// Parses a worker record. `prefix` is its JSON path (for errors and
/// warnings), `short` the prefix of its annotation keys (`ctx.`, `gen.`).
fn parse_half<'a>(
    c: &Cursor,
    raw: &'a RawValue,
    prefix: &str,
    short: &str,
    top_breakdown: Raw<'a>,
    details: bool,
) -> Result<Half<'a>, InputError> {
    let rec: RecordJson<'a> = serde_json::from_str(raw.get())
        .map_err(|e| c.error(prefix.trim_end_matches('.'), strip_position(&e)))?;
    let mut h = Half {
        prefix: prefix.to_owned(),
        ..Default::default()
    };
    h.request_id = c
        .int(rec.request_id, &format!("{prefix}request_id"))
        .or_else(|e| match rec.request_id {
            // Generation D may carry non-numeric string ids.
            Some(v) if v.get().starts_with('"') => Ok(None),
            _ => Err(e),
        })?;
    h.request_id_text = rec.request_id.filter(|v| !is_null(v)).and_then(string_of);
    h.ctx_request_id = c.int(rec.ctx_request_id, &format!("{prefix}ctx_request_id"))?;
    let pm_path = format!("{prefix}perf_metrics");
    let pm: PerfMetricsJson = c.object(rec.perf_metrics, &pm_path)?.unwrap_or_default();
    let tm_path = format!("{pm_path}.timing_metrics");
    let tm: TimingJson = c.object(pm.timing_metrics, &tm_path)?.unwrap_or_default();
    for f in WorkerField::ALL {
        h.stamps[f as usize] =
            stamp_of(tm.get(f)).map_err(|m| c.error(&format!("{tm_path}.{}", f.key()), m))?;
    }
    h.has_kv = tm.kv_cache_size.is_some() || tm.kv_cache_transfer_start.is_some();

    let d = &mut h.details;
    if let Some(id) = &h.request_id_text {
        d.push((format!("{short}request_id"), ArgValue::Str(id.clone())));
    }
    if let Some(id) = h.ctx_request_id {
        d.push((format!("{short}ctx_request_id"), ArgValue::Int(id)));
    }
    for (k, v) in [("first_iter", pm.first_iter), ("last_iter", pm.last_iter)] {
        if let Some(i) = c.int(v, &format!("{pm_path}.{k}"))? {
            d.push((format!("{short}{k}"), ArgValue::Int(i)));
        }
    }
    if !details {
        d.clear();
    } else {
        if let Some(v) = tm.kv_cache_size.filter(|v| !is_null(v)) {
            flatten(&format!("{short}kv_cache_size"), v, d);
        }
        for (k, v) in [
            ("kv_cache_metrics", pm.kv_cache_metrics),
            ("speculative_decoding", pm.speculative_decoding),
        ] {
            if let Some(v) = v.filter(|v| !is_null(v)) {
                flatten(&format!("{short}{k}"), v, d);
            }
        }
        if let Some(v) = rec.status.filter(|v| !is_null(v)) {
            flatten(&format!("{short}status"), v, d);
        }
    }

    // Time breakdown: top-level first, then perf_metrics.time_breakdown_metrics,
    // then the legacy keys inside perf_metrics (FORMATS.md §1.4).
    let tb = rec.time_breakdown_metrics.or(top_breakdown);
    h.breakdown = if let Some(b) =
        c.object::<BreakdownJson>(tb, &format!("{prefix}time_breakdown_metrics"))?
    {
        Some(b)
    } else if let Some(b) = c.object::<BreakdownJson>(
        pm.time_breakdown_metrics,
        &format!("{pm_path}.time_breakdown_metrics"),
    )? {
        Some(b)
    } else if pm.step_metrics.is_some() || pm.ctx_chunk_metrics.is_some() {
        Some(BreakdownJson {
            step_metrics: pm.step_metrics,
            ctx_chunk_metrics: pm.ctx_chunk_metrics,
            ..Default::default()
        })
    } else {
        None
    };
    Ok(h)
}

/// Parses one record; `details` keeps the annotations (identity, KV-cache,
/// speculative decoding, status) that only the trace and `args` show.
fn parse_record<'a>(
    c: &Cursor,
    raw: &'a RawValue,
    file_server: &Option<String>,
    details: bool,
) -> Result<Parsed<'a>, InputError> {
    if !raw.get().starts_with('{') {
        return Err(c.error(
            "",
            format!(
                "expected a perf-metrics record (an object), found {}",
                kind_of(raw)
            ),
        ));
    }
    let rec: RecordJson<'a> =
        serde_json::from_str(raw.get()).map_err(|e| c.error("", strip_position(&e)))?;
    let is_proxy = rec.ctx_perf_metrics.is_some()
        || rec.gen_perf_metrics.is_some()
        || rec.disagg_server_arrival_time.is_some()
        || rec.ctx_server.is_some()
        || rec.gen_server.is_some();
    let mut p = Parsed {
        cursor_input: c.input,
        location: c.location(),
        kind: RequestKind::Disaggregated,
        router: [Stamp::Missing; 3],
        ctx: None,
        gen: None,
        ctx_server: rec.ctx_server.filter(|v| !is_null(v)).and_then(string_of),
        gen_server: rec.gen_server.filter(|v| !is_null(v)).and_then(string_of),
        file_server: file_server.clone(),
        status: rec.status.filter(|v| !is_null(v)).and_then(string_of),
        disagg_request_id: c.int(rec.disagg_request_id, "disagg_request_id")?,
        details: Vec::new(),
        interned: Vec::new(),
    };
    if is_proxy {
        p.router[0] = c.stamp(rec.disagg_server_arrival_time, "disagg_server_arrival_time")?;
        p.router[1] = c.stamp(rec.disagg_ctx_dispatch_time, "disagg_ctx_dispatch_time")?;
        p.router[2] = if rec.disagg_server_first_token_time.is_some() {
            c.stamp(
                rec.disagg_server_first_token_time,
                "disagg_server_first_token_time",
            )?
        } else {
            c.stamp(
                rec.disagg_server_first_token_ts,
                "disagg_server_first_token_ts",
            )?
        };
        for (raw, prefix, short, slot) in [
            (
                rec.ctx_perf_metrics,
                "ctx_perf_metrics.",
                "ctx.",
                &mut p.ctx,
            ),
            (
                rec.gen_perf_metrics,
                "gen_perf_metrics.",
                "gen.",
                &mut p.gen,
            ),
        ] {
            match raw {
                Some(v) if !is_null(v) => {
                    if !v.get().starts_with('{') {
                        return Err(c.error(
                            prefix.trim_end_matches('.'),
                            format!("expected an object or null, found {}", kind_of(v)),
                        ));
                    }
                    *slot = Some(parse_half(c, v, prefix, short, None, details)?);
                }
                _ => {}
            }
        }
    } else if rec.perf_metrics.is_some() || rec.request_id.is_some() {
        let half = parse_half(c, raw, "", "", None, details)?;
        if half.ctx_request_id.is_some() {
            // A disaggregated worker's own dump: a context or generation half.
            if half.has_kv {
                p.gen = Some(half);
            } else {
                p.ctx = Some(half);
            }
        } else {
            p.kind = RequestKind::Aggregated;
            p.ctx = Some(half);
        }
    } else {
        return Err(c.error(
            "",
            "not a perf-metrics record: it has neither `perf_metrics` nor `ctx_perf_metrics`/`gen_perf_metrics`",
        ));
    }
    let d = &mut p.details;
    if let Some(s) = &p.ctx_server {
        d.push(("ctx_server".into(), ArgValue::Str(s.clone())));
    }
    if let Some(s) = &p.gen_server {
        d.push(("gen_server".into(), ArgValue::Str(s.clone())));
    }
    if let Some(id) = p.disagg_request_id {
        d.push(("disagg_request_id".into(), ArgValue::Int(id)));
    }
    if is_proxy {
        if let Some(s) = &p.status {
            d.push(("status".into(), ArgValue::Str(s.clone())));
        }
        if let Some(t) = p.router[1].get() {
            d.push(("disagg_ctx_dispatch_time_ns".into(), ArgValue::Int(t)));
        }
    }
    Ok(p)
}

/// Host and pid from `perf_metrics-{kind}-{host}-{pid}-{stamp}.jsonl`
/// (the host may contain `-`; the pid is a whole number).
pub fn host_pid_from_file_name(path: &Path) -> Option<(String, i64)> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_prefix("perf_metrics-")?.strip_suffix(".jsonl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() < 4 {
        return None;
    }
    let pid = parts[parts.len() - 2].parse().ok()?;
    Some((parts[1..parts.len() - 2].join("-"), pid))
}

/// Server identity from `perf_metrics-{kind}-{host}-{pid}-{stamp}.jsonl`.
fn server_from_file_name(path: &Path) -> Option<String> {
    let name = path.file_name()?.to_str()?;
    let stem = name.strip_prefix("perf_metrics-")?.strip_suffix(".jsonl")?;
    let parts: Vec<&str> = stem.split('-').collect();
    if parts.len() < 4 {
        return None;
    }
    let host = parts[1..parts.len() - 2].join("-");
    let pid = parts[parts.len() - 2];
    Some(format!("{host} pid {pid}"))
}

/// Dedup key: same servers, ids and arrival stamps ⇒ the same request.
type Key = (
    RequestKind,
    Option<String>,
    Option<String>,
    Option<String>,
    [Option<i64>; 3],
    [Option<i64>; 3],
);

fn key_of(p: &Parsed) -> Key {
    let rid = |h: &Option<Half>| h.as_ref().and_then(|h| h.request_id);
    let arr = |h: &Option<Half>| {
        h.as_ref().and_then(|h| {
            h.stamps[WorkerField::Arrival as usize]
                .get()
                .or(h.stamps[0].get())
        })
    };
    (
        p.kind,
        p.ctx_server.clone(),
        p.gen_server.clone(),
        p.file_server.clone(),
        [rid(&p.ctx), rid(&p.gen), p.disagg_request_id],
        [p.router[0].get(), arr(&p.ctx), arr(&p.gen)],
    )
}

/// Reads all TensorRT-LLM perf-metrics inputs into `trace`.
/// With `requests_only`, records become [`Request`]s without tracks,
/// slices, flows or annotations (for commands that read only the request
/// tables); the warnings are the same either way.
pub fn import(
    trace: &mut Trace,
    inputs: &[(u32, &Input)],
    salvage: bool,
    requests_only: bool,
) -> Result<()> {
    let mut parsed: Vec<Parsed> = Vec::new();
    let mut seen: FxHashSet<Key> = FxHashSet::default();
    for &(index, input) in inputs {
        let text = input.text()?;
        let file_server = server_from_file_name(&input.path);
        if let Some((host, pid)) = host_pid_from_file_name(&input.path) {
            if let Some(info) = trace.provenance.inputs.get_mut(index as usize) {
                info.host = Some(host);
                info.pid = Some(pid);
            }
        }
        let split = super::jsonrec::records(input, text, salvage)?;
        split.warn_cut(trace, input, index);
        let recs = split.records;
        parsed.reserve(recs.len());
        if recs.is_empty() {
            Cursor {
                path: &input.path,
                input: index,
                position: Position::File,
            }
            .warn(
                trace,
                "empty_input",
                "",
                "no records (a /perf_metrics poll with nothing finished returns [])",
            );
        }
        trace.provenance.inputs[index as usize].records = recs.len() as u64;
        // Records parse independently: on all cores, errors reported in
        // file order (the first one wins, as in a sequential pass).
        let cursor = |position| Cursor {
            path: &input.path,
            input: index,
            position,
        };
        let results: Vec<Result<Parsed, InputError>> = recs
            .par_iter()
            .map(|(position, raw)| {
                parse_record(&cursor(position.clone()), raw, &file_server, !requests_only)
            })
            .collect();
        for ((position, _), p) in recs.into_iter().zip(results) {
            let c = cursor(position);
            let mut p = p?;
            if !seen.insert(key_of(&p)) {
                c.warn(
                    trace,
                    "duplicate_record",
                    "",
                    "same request as an earlier record; kept once",
                );
                continue;
            }
            if !requests_only {
                p.intern_details(&mut trace.strings);
            }
            parsed.push(p);
        }
    }
    let mut b = Builder::new(trace);
    b.requests_only = requests_only;
    b.build(parsed, inputs);
    Ok(())
}

/// Turns parsed records into requests, tracks, slices and flows.
struct Builder<'t> {
    trace: &'t mut Trace,
    roles: FxHashMap<Role, TrackId>,
    servers: FxHashMap<(Role, Option<String>), TrackId>,
    /// Roles on which some request names its server.
    named_roles: FxHashSet<Role>,
    names: FxHashMap<&'static str, StrId>,
    /// Requests without their timeline (see [`import`]).
    requests_only: bool,
}

impl<'t> Builder<'t> {
    fn new(trace: &'t mut Trace) -> Self {
        Builder {
            trace,
            roles: FxHashMap::default(),
            servers: FxHashMap::default(),
            named_roles: FxHashSet::default(),
            names: FxHashMap::default(),
            requests_only: false,
        }
    }

    fn name(&mut self, s: &'static str) -> StrId {
        match self.names.entry(s) {
            Entry::Occupied(e) => *e.get(),
            Entry::Vacant(e) => *e.insert(self.trace.strings.intern(s)),
        }
    }

    fn server_of(p: &Parsed, side: Side) -> Option<String> {
        match (p.kind, side) {
            (RequestKind::Aggregated, _) | (_, Side::Router) => p.file_server.clone(),
            (_, Side::Ctx) => p.ctx_server.clone().or_else(|| {
                p.file_server
                    .clone()
                    .filter(|_| p.gen_server.is_none() && p.ctx_server.is_none())
            }),
            (_, Side::Gen) => p.gen_server.clone().or_else(|| {
                p.file_server
                    .clone()
                    .filter(|_| p.gen_server.is_none() && p.ctx_server.is_none())
            }),
        }
    }

    fn role_track(&mut self, role: Role) -> TrackId {
        if let Some(&t) = self.roles.get(&role) {
            return t;
        }
        let name = self.trace.intern(role.name());
        let mut t = Track::new(name, None, TrackKind::Plain);
        t.rank = Some(role.rank());
        t.explicit_child_order = true;
        t.lanes = LanePolicy::Exclusive;
        t.lane_name = Some(self.trace.intern("requests"));
        let mut desc = String::from("Segments on this track:\n");
        for s in segments::SEGMENTS.iter().filter(|s| {
            [RequestKind::Aggregated, RequestKind::Disaggregated]
                .into_iter()
                .any(|k| s.applies.includes(k) && s.role(k) == role)
        }) {
            desc.push_str(&format!(
                "{}: {} → {}. {}\n",
                s.name,
                s.start.name(),
                s.end.name(),
                s.description
            ));
        }
        t.description = Some(desc);
        let id = self.trace.add_track(t);
        self.roles.insert(role, id);
        id
    }

    /// The track a request's slices go on for `role` (lanes come later).
    fn track_for(&mut self, role: Role, server: Option<String>) -> TrackId {
        let parent = self.role_track(role);
        if !self.named_roles.contains(&role) {
            return parent;
        }
        let key = (role, server);
        if let Some(&t) = self.servers.get(&key) {
            return t;
        }
        let label = key
            .1
            .clone()
            .unwrap_or_else(|| "(server not named)".to_owned());
        let name = self.trace.intern(&label);
        let rank = self.servers.keys().filter(|(r, _)| *r == role).count() as i32;
        let mut t = Track::new(name, Some(parent), TrackKind::Plain);
        t.lanes = LanePolicy::Exclusive;
        t.lane_name = Some(self.trace.intern("requests"));
        t.rank = Some(rank);
        t.explicit_child_order = true;
        let id = self.trace.add_track(t);
        self.servers.insert(key, id);
        id
    }

    fn build(mut self, mut parsed: Vec<Parsed>, inputs: &[(u32, &Input)]) {
        // Reserve up front: doubling a million-slice Vec copies it and holds
        // both buffers at once.
        let slices: usize = parsed
            .iter()
            .map(|p| match p.kind {
                RequestKind::Aggregated => 6,
                RequestKind::Disaggregated => 16,
            })
            .sum();
        let args: usize = parsed.iter().map(|p| p.interned.len() + 3).sum();
        self.trace.slices.reserve(slices);
        self.trace.args.reserve(args);
        self.trace.requests.reserve(parsed.len());
        // Arrival order makes the timeline and ids readable.
        parsed.sort_by_cached_key(|p| {
            let first = p
                .router
                .iter()
                .chain(p.ctx.iter().flat_map(|h| h.stamps.iter()))
                .chain(p.gen.iter().flat_map(|h| h.stamps.iter()))
                .filter_map(|s| s.get())
                .min();
            (first.is_none(), first)
        });
        for p in &parsed {
            for side in Side::ALL {
                if Self::server_of(p, side).is_some() {
                    self.named_roles.insert(Role::of(p.kind, side));
                }
            }
        }
        // Create role tracks in display order.
        let mut roles: Vec<Role> = parsed
            .iter()
            .flat_map(|p| {
                let k = p.kind;
                let mut v = Vec::new();
                if k == RequestKind::Aggregated {
                    v.push(Role::Server);
                } else {
                    v.push(Role::Router);
                    if p.ctx.is_some() {
                        v.push(Role::Ctx);
                    }
                    if p.gen.is_some() {
                        v.push(Role::Gen);
                    }
                }
                v
            })
            .collect();
        roles.sort();
        roles.dedup();
        if !self.requests_only {
            for r in roles {
                self.role_track(r);
            }
        }
        let paths: FxHashMap<u32, &Path> = inputs
            .iter()
            .map(|(i, inp)| (*i, inp.path.as_path()))
            .collect();
        for p in parsed {
            self.add_request(p, &paths);
        }
    }

    fn add_request(&mut self, p: Parsed, paths: &FxHashMap<u32, &Path>) {
        let trace_ref = &mut *self.trace;
        let correlation = trace_ref.requests.len() as u64 + 1;
        let path = paths.get(&p.cursor_input).copied().unwrap_or(Path::new(""));
        let cursor = Cursor {
            path,
            input: p.cursor_input,
            position: match p.location {
                Location::Index(i) => Position::Record(i),
                Location::Line(l) => Position::Line(l),
                Location::File => Position::File,
            },
        };

        let mut stamps = [Stamp::Missing; Field::COUNT];
        stamps[Field::DisaggArrival.index()] = p.router[0];
        stamps[Field::DisaggCtxDispatch.index()] = p.router[1];
        stamps[Field::DisaggFirstToken.index()] = p.router[2];
        for (half, mk) in [
            (&p.ctx, Field::Ctx as fn(WorkerField) -> Field),
            (&p.gen, Field::Gen),
        ] {
            if let Some(h) = half {
                for f in WorkerField::ALL {
                    stamps[mk(f).index()] = h.stamps[f as usize];
                }
            }
        }
        let has_router =
            p.kind == RequestKind::Disaggregated && p.router.iter().any(|s| *s != Stamp::Missing);
        let has_side = [has_router, p.ctx.is_some(), p.gen.is_some()];

        // Warnings: a missing half once; absent stamps by field; reversed pairs.
        if p.kind == RequestKind::Disaggregated {
            for (side, key) in [
                (Side::Ctx, "ctx_perf_metrics"),
                (Side::Gen, "gen_perf_metrics"),
            ] {
                if !has_side[side.index()] && has_router {
                    cursor.warn(
                        self.trace,
                        "missing_half",
                        key,
                        format!("`{key}` is null or missing; its segments are absent"),
                    );
                }
            }
        }
        // A non-streaming response: the serving layer stamps
        // server_first_token_time when it sends the whole response, at or
        // after the last token (FORMATS.md §1.7). Checked on the half that
        // generates (a disaggregated context half ends at its first token).
        let generating = match p.kind {
            RequestKind::Aggregated => Field::Ctx as fn(WorkerField) -> Field,
            RequestKind::Disaggregated => Field::Gen,
        };
        let (sft, last) = (
            generating(WorkerField::ServerFirstToken),
            generating(WorkerField::LastToken),
        );
        let mut non_streaming = false;
        if let (Stamp::At(s), Stamp::At(l)) = (stamps[sft.index()], stamps[last.index()]) {
            if s >= l {
                non_streaming = true;
                stamps[sft.index()] = Stamp::NonStreaming(s);
                // The router answers after the server: its stamp is late too.
                let router = Field::DisaggFirstToken.index();
                if let Stamp::At(r) = stamps[router] {
                    if p.kind == RequestKind::Disaggregated && r >= l {
                        stamps[router] = Stamp::NonStreaming(r);
                    }
                }
                cursor.warn(
                    self.trace,
                    "non_streaming",
                    &field_path(&p, sft),
                    format!(
                        "{} ns after last_token_time: a non-streaming response (stamped when it was sent \
                         whole); segments using it are absent and TTFT ends at first_token_time",
                        s - l
                    ),
                );
            }
        }
        let mut needed: Vec<Field> = Vec::new();
        for s in segments::for_kind(p.kind) {
            for f in [s.start, s.end] {
                if has_side[f.side().index()] && !needed.contains(&f) {
                    needed.push(f);
                }
            }
        }
        if p.kind == RequestKind::Disaggregated {
            // The context half's KV fields are not expected (FORMATS.md §1.2).
            needed.retain(|f| {
                !matches!(
                    f,
                    Field::Ctx(WorkerField::KvTransferStart | WorkerField::KvTransferEnd)
                )
            });
        }
        needed.sort();
        for f in needed {
            let (kind, why) = match stamps[f.index()] {
                Stamp::At(_) | Stamp::NonStreaming(_) => continue,
                Stamp::Missing => (
                    "missing_timestamp",
                    "key not present; segments using it are absent",
                ),
                Stamp::Null => ("null_timestamp", "null; segments using it are absent"),
                Stamp::Zero => ("zero_timestamp", "0 (unset); segments using it are absent"),
            };
            cursor.warn(self.trace, kind, &field_path(&p, f), why);
        }

        let mut req = Request {
            input: p.cursor_input,
            location: p.location,
            kind: p.kind,
            label: String::new(),
            ctx_request_id: p.ctx.as_ref().and_then(|h| h.request_id),
            gen_request_id: p.gen.as_ref().and_then(|h| h.request_id),
            disagg_request_id: p.disagg_request_id,
            ctx_server: p.ctx_server.clone(),
            gen_server: p.gen_server.clone(),
            status: p.status.clone(),
            stamps,
            has_side,
            details: Args::None,
            parent_slice: [None; 3],
            correlation,
            non_streaming,
        };
        req.label = label_of(&p);
        for s in segments::for_kind(p.kind) {
            if let Span::Absent(segments::Absence::Reversed) = segments::evaluate(s, &req) {
                let field = format!("{} → {}", field_path(&p, s.start), field_path(&p, s.end));
                cursor.warn(
                    self.trace,
                    "reversed_pair",
                    &field,
                    format!("`{}` ends before it starts; segment absent", s.name),
                );
            }
        }

        if self.requests_only {
            self.check_timeline(&p, &req, &cursor);
            self.trace.requests.push(req);
            return;
        }

        // Details shared by the request's parent slices.
        let head = [
            (self.name("request"), ArgValue::Str(req.label.clone())),
            (
                self.name("source"),
                ArgValue::Str(format!("{}: {}", super::file_name(path), p.location)),
            ),
        ];
        req.details = self
            .trace
            .add_args(head.into_iter().chain(p.interned.iter().cloned()));

        // `decode` lives apart from its parent: it names its request.
        let key = self.trace.intern("request");
        let decode_args = self
            .trace
            .add_args([(key, ArgValue::Str(req.label.clone()))]);

        // Slices per side.
        let parent_name = self.trace.intern(&format!("request {}", req.label));
        let cat_request = self.name("request");
        let cat_segment = self.name("segment");
        let mut seg_slices: FxHashMap<&'static str, SliceId> = FxHashMap::default();
        for side in Side::ALL {
            if !has_side[side.index()] {
                continue;
            }
            let role = Role::of(p.kind, side);
            let segs: Vec<(&'static segments::Segment, i64, i64)> = segments::for_kind(p.kind)
                .filter(|s| s.side == side)
                .filter_map(|s| match segments::evaluate(s, &req) {
                    Span::Present { start, end } => Some((s, start, end)),
                    Span::Absent(_) => None,
                })
                .collect();
            let own =
                Field::all().filter(|f| f.side() == side && !matches!(f, Field::DisaggCtxDispatch));
            let mut lo = i64::MAX;
            let mut hi = i64::MIN;
            for f in own {
                if let Some(t) = req.time(f) {
                    lo = lo.min(t);
                    hi = hi.max(t);
                }
            }
            for &(_, a, b) in &segs {
                lo = lo.min(a);
                hi = hi.max(b);
            }
            if lo > hi {
                continue;
            }
            let server = Self::server_of(&p, side);
            let track = self.track_for(role, server);
            let parent = self.trace.add_slice(Slice {
                ts: lo,
                dur: hi - lo,
                track,
                name: parent_name,
                category: Some(cat_request),
                args: req.details,
                correlation: Some(correlation),
                parent: None,
                depth: 0,
                kind: SliceKind::Span,
            });
            req.parent_slice[side.index()] = Some(parent);
            for (s, a, b) in segs {
                let name = self.name(s.name);
                // `decode` starts at the first token, inside *_postprocessing
                // (which ends when the server sends that token), so it cannot
                // nest beside them: it (with its steps) is its own unit on the
                // role, tied to the request by the correlation id.
                let seg_parent = if s.name == "decode" {
                    None
                } else {
                    Some(parent)
                };
                let id = self.trace.add_slice(Slice {
                    ts: a,
                    dur: b - a,
                    track,
                    name,
                    category: Some(cat_segment),
                    args: if seg_parent.is_none() {
                        decode_args
                    } else {
                        Args::None
                    },
                    correlation: Some(correlation),
                    parent: seg_parent,
                    depth: 0,
                    kind: SliceKind::Span,
                });
                seg_slices.insert(s.name, id);
            }
            // time_breakdown_metrics: prefill chunks on ctx, decode steps on gen
            // (both on the single server when aggregated).
            let half = match side {
                Side::Ctx => p.ctx.as_ref(),
                Side::Gen => p.gen.as_ref(),
                Side::Router => None,
            };
            if let Some(b) = half.and_then(|h| h.breakdown.as_ref()) {
                let prefix = half.map(|h| h.prefix.as_str()).unwrap_or("");
                let chunk_parent = seg_slices
                    .get("ctx_processing")
                    .copied()
                    .filter(|_| side == Side::Ctx)
                    .unwrap_or(parent);
                let step_parent = seg_slices.get("decode").copied().unwrap_or(parent);
                self.add_steps(
                    &cursor,
                    b.ctx_chunk_metrics,
                    &format!("{prefix}time_breakdown_metrics.ctx_chunk_metrics"),
                    "prefill chunk",
                    Some((track, chunk_parent)),
                    correlation,
                );
                self.add_steps(
                    &cursor,
                    b.step_metrics,
                    &format!("{prefix}time_breakdown_metrics.step_metrics"),
                    "decode step",
                    Some((track, step_parent)),
                    correlation,
                );
                let mut extra = Vec::new();
                for (k, v) in [
                    ("ctx_gpu_forward_ms", b.ctx_gpu_forward_time),
                    ("ctx_gpu_sample_ms", b.ctx_gpu_sample_time),
                ] {
                    if let Some(a) = v.and_then(crate::json::scalar) {
                        extra.push((self.trace.intern(k), a));
                    }
                }
                if !extra.is_empty() {
                    // Attach to the prefill segment if there is one.
                    if let Some(&ps) = seg_slices.get("ctx_processing") {
                        let args = self.trace.add_args(extra);
                        self.trace.slices[ps.index()].args = args;
                    }
                }
            }
            seg_slices.retain(|_, _| true);
        }

        // Flows: router → ctx → gen → router.
        let router = req.parent_slice[Side::Router.index()];
        let ctx = req.parent_slice[Side::Ctx.index()];
        let gen = req.parent_slice[Side::Gen.index()];
        let pick =
            |name: &str, fallback: Option<SliceId>| seg_slices.get(name).copied().or(fallback);
        let pairs = [
            (pick("disagg_preprocessing", router), ctx),
            (ctx, pick("gen_kv_transfer", gen)),
            (
                pick("gen_postprocessing", gen),
                pick("disagg_postprocessing", router),
            ),
        ];
        if p.kind == RequestKind::Disaggregated {
            for (from, to) in pairs {
                if let (Some(from), Some(to)) = (from, to) {
                    if self.trace.slice(from).ts <= self.trace.slice(to).ts {
                        self.trace.flows.push(Flow { from, to });
                    } else {
                        cursor.warn(self.trace, "flow_against_time", "", "a hand-off starts before its source (clocks not aligned?); flow not drawn");
                    }
                }
            }
        }
        self.trace.requests.push(req);
    }

    /// The warnings the timeline of `req` would give, without building
    /// it: time-breakdown steps that cannot be drawn, hand-offs against
    /// time. Mirrors the slice-building half of [`Builder::add_request`].
    fn check_timeline(&mut self, p: &Parsed, req: &Request, cursor: &Cursor) {
        // Start of each side's parent slice and of each present segment.
        let mut parent_ts: [Option<i64>; 3] = [None; 3];
        let mut seg_ts: FxHashMap<&'static str, i64> = FxHashMap::default();
        for side in Side::ALL {
            if !req.has_side[side.index()] {
                continue;
            }
            let mut lo = i64::MAX;
            let mut hi = i64::MIN;
            let own =
                Field::all().filter(|f| f.side() == side && !matches!(f, Field::DisaggCtxDispatch));
            for f in own {
                if let Some(t) = req.time(f) {
                    lo = lo.min(t);
                    hi = hi.max(t);
                }
            }
            let mut segs = Vec::new();
            for s in segments::for_kind(p.kind).filter(|s| s.side == side) {
                if let Span::Present { start, end } = segments::evaluate(s, req) {
                    lo = lo.min(start);
                    hi = hi.max(end);
                    segs.push((s.name, start));
                }
            }
            if lo > hi {
                continue;
            }
            parent_ts[side.index()] = Some(lo);
            seg_ts.extend(segs);
            let half = match side {
                Side::Ctx => p.ctx.as_ref(),
                Side::Gen => p.gen.as_ref(),
                Side::Router => None,
            };
            if let Some(b) = half.and_then(|h| h.breakdown.as_ref()) {
                let prefix = half.map(|h| h.prefix.as_str()).unwrap_or("");
                for (raw, what, label) in [
                    (b.ctx_chunk_metrics, "ctx_chunk_metrics", "prefill chunk"),
                    (b.step_metrics, "step_metrics", "decode step"),
                ] {
                    let field = format!("{prefix}time_breakdown_metrics.{what}");
                    self.add_steps(cursor, raw, &field, label, None, req.correlation);
                }
            }
        }
        if p.kind != RequestKind::Disaggregated {
            return;
        }
        let [router, ctx, gen] = parent_ts;
        let pick = |name: &str, fallback: Option<i64>| seg_ts.get(name).copied().or(fallback);
        let pairs = [
            (pick("disagg_preprocessing", router), ctx),
            (ctx, pick("gen_kv_transfer", gen)),
            (
                pick("gen_postprocessing", gen),
                pick("disagg_postprocessing", router),
            ),
        ];
        for (from, to) in pairs {
            if let (Some(from), Some(to)) = (from, to) {
                if from > to {
                    cursor.warn(
                        self.trace,
                        "flow_against_time",
                        "",
                        "a hand-off starts before its source (clocks not aligned?); flow not drawn",
                    );
                }
            }
        }
    }

    /// Adds the steps of a time-breakdown list under `draw` = (track,
    /// parent slice); with `None` only their warnings.
    fn add_steps(
        &mut self,
        c: &Cursor,
        raw: Raw,
        field: &str,
        label: &str,
        draw: Option<(TrackId, SliceId)>,
        correlation: u64,
    ) {
        let Some(raw) = raw.filter(|v| !is_null(v)) else {
            return;
        };
        let Ok(steps) = serde_json::from_str::<Vec<&RawValue>>(raw.get()) else {
            c.warn(
                self.trace,
                "bad_time_breakdown",
                field,
                "expected an array of steps; ignored",
            );
            return;
        };
        let cat = self.name("step");
        let fwd = self.name("forward");
        let smp = self.name("sample");
        for (k, step) in steps.into_iter().enumerate() {
            let f = format!("{field}[{k}]");
            let Ok(Pairs(pairs)) = serde_json::from_str::<Pairs>(step.get()) else {
                c.warn(
                    self.trace,
                    "bad_time_breakdown",
                    &f,
                    "expected an object; ignored",
                );
                continue;
            };
            let mut st = [Stamp::Missing; 4];
            let mut args: Vec<(String, ArgValue)> = Vec::new();
            let mut iter = None;
            for (key, v) in &pairs {
                let slot = match key.as_ref() {
                    "forward_start_time" => Some(0),
                    "forward_end_time" => Some(1),
                    "sample_start_time" => Some(2),
                    "sample_end_time" => Some(3),
                    _ => None,
                };
                match slot {
                    Some(i) => st[i] = stamp_of(Some(v)).unwrap_or(Stamp::Missing),
                    None => {
                        let name = match key.as_ref() {
                            // These are milliseconds (torch.cuda.Event.elapsed_time).
                            "gpu_forward_time" => "gpu_forward_ms".to_owned(),
                            "gpu_sample_time" => "gpu_sample_ms".to_owned(),
                            other => other.to_owned(),
                        };
                        if key == "iter" {
                            iter = int_of(v);
                        }
                        flatten(&name, v, &mut args);
                    }
                }
            }
            let (Some(fs), fe, ss, se) = (st[0].get(), st[1].get(), st[2].get(), st[3].get())
            else {
                c.warn(
                    self.trace,
                    "step_timestamp_absent",
                    &format!("{f}.forward_start_time"),
                    "step without a forward start; not drawn",
                );
                continue;
            };
            let end = [fe, se].into_iter().flatten().max().unwrap_or(fs);
            if end < fs {
                c.warn(
                    self.trace,
                    "step_timestamp_absent",
                    &f,
                    "step ends before it starts; not drawn",
                );
                continue;
            }
            let Some((track, parent)) = draw else {
                for (a, b, key) in [
                    (Some(fs), fe, "forward_end_time"),
                    (ss, se, "sample_end_time"),
                ] {
                    if !matches!((a, b), (Some(a), Some(b)) if b >= a) {
                        c.warn(
                            self.trace,
                            "step_timestamp_absent",
                            &format!("{f}.{key}"),
                            "absent or reversed; sub-step not drawn",
                        );
                    }
                }
                continue;
            };
            let name = self.trace.intern(&match iter {
                Some(i) => format!("{label} {i}"),
                None => format!("{label} {k}"),
            });
            let args: Vec<(StrId, ArgValue)> = args
                .into_iter()
                .map(|(k, v)| (self.trace.intern(&k), v))
                .collect();
            let args = self.trace.add_args(args);
            let step_id = self.trace.add_slice(Slice {
                ts: fs,
                dur: end - fs,
                track,
                name,
                category: Some(cat),
                args,
                correlation: Some(correlation),
                parent: Some(parent),
                depth: 0,
                kind: SliceKind::Span,
            });
            for (nm, a, b, key) in [
                (fwd, Some(fs), fe, "forward_end_time"),
                (smp, ss, se, "sample_end_time"),
            ] {
                match (a, b) {
                    (Some(a), Some(b)) if b >= a => {
                        self.trace.add_slice(Slice {
                            ts: a,
                            dur: b - a,
                            track,
                            name: nm,
                            category: Some(cat),
                            args: Args::None,
                            correlation: Some(correlation),
                            parent: Some(step_id),
                            depth: 0,
                            kind: SliceKind::Span,
                        });
                    }
                    _ => c.warn(
                        self.trace,
                        "step_timestamp_absent",
                        &format!("{f}.{key}"),
                        "absent or reversed; sub-step not drawn",
                    ),
                }
            }
        }
    }
}

/// The JSON path of a stamp in this record, for warnings.
fn field_path(p: &Parsed, f: Field) -> String {
    let tm = "perf_metrics.timing_metrics.";
    match f {
        Field::DisaggArrival => "disagg_server_arrival_time".into(),
        Field::DisaggCtxDispatch => "disagg_ctx_dispatch_time".into(),
        Field::DisaggFirstToken => "disagg_server_first_token_time".into(),
        Field::Ctx(w) => format!(
            "{}{tm}{}",
            p.ctx.as_ref().map_or("", |h| h.prefix.as_str()),
            w.key()
        ),
        Field::Gen(w) => format!(
            "{}{tm}{}",
            p.gen.as_ref().map_or("", |h| h.prefix.as_str()),
            w.key()
        ),
    }
}

fn label_of(p: &Parsed) -> String {
    if let Some(d) = p.disagg_request_id {
        return d.to_string();
    }
    let half_text = |h: &Option<Half>| h.as_ref().and_then(|h| h.request_id_text.clone());
    match p.kind {
        RequestKind::Aggregated => half_text(&p.ctx).unwrap_or_else(|| "?".into()),
        RequestKind::Disaggregated => {
            let join = p
                .ctx
                .as_ref()
                .and_then(|h| h.ctx_request_id.or(h.request_id))
                .or(p.gen.as_ref().and_then(|h| h.ctx_request_id));
            match join {
                Some(j) => format!("ctx {j}"),
                None => half_text(&p.gen).map_or_else(|| "?".into(), |g| format!("gen {g}")),
            }
        }
    }
}
