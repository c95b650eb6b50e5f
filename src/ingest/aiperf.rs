//! aiperf per-request export `profile_export.jsonl` (FORMATS.md §6), both
//! schema generations:
//! - old: metadata `timestamp_ns`, `credit_phase`; metric tags `ttft`, `ttst`,
//!   per-record `min_request_timestamp` / `max_response_timestamp`;
//! - new: `request_start_ns` / `request_ack_ns` / `request_end_ns`,
//!   `benchmark_phase`, tags `time_to_first_token`, `time_to_second_token`.
//!
//! Every metadata field and metric is kept verbatim in
//! [`ClientRequest`]; the token timeline is start → start + TTFT (first
//! chunk) → each later chunk after `inter_chunk_latency[k]`, computed from
//! the exact decimal text in integer ns. Clock: Unix-epoch ns (aiperf's
//! `MonotonicClock`), unchanged.
//!
//! Failed and cancelled records are kept and marked (`status`, slice name);
//! `warmup` records are kept and marked (statistics skip them by default).

use serde::Deserialize;
use serde_json::value::RawValue;

use crate::error::{InputError, Result};
use crate::ingest::client::{add_request_slices, client_track};
use crate::ingest::jsonrec::{kind_of, records, Cursor};
use crate::ingest::Input;
use crate::json::{flatten, is_null, present, Pairs};
use crate::model::{
    ClientError, ClientRequest, ClientSource, ClientStatus, Metric, MetricValue, Trace,
};
use crate::time::{self, Unit};

type Raw<'a> = Option<&'a RawValue>;

#[derive(Deserialize)]
struct RecordJson<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    metadata: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    metrics: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    error: Raw<'a>,
}

#[derive(Deserialize)]
struct MetricJson<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    value: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    unit: Raw<'a>,
}

#[derive(Deserialize)]
struct ErrorJson<'a> {
    #[serde(borrow, default, deserialize_with = "present")]
    code: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    r#type: Raw<'a>,
    #[serde(borrow, default, deserialize_with = "present")]
    message: Raw<'a>,
}

/// The time unit of an aiperf metric unit string.
pub fn time_unit(unit: &str) -> Option<Unit> {
    match unit {
        "ns" => Some(Unit::Nanos),
        "us" | "µs" => Some(Unit::Micros),
        "ms" => Some(Unit::Millis),
        "s" | "sec" => Some(Unit::Seconds),
        _ => None,
    }
}

/// A parsed record plus the raw texts the timeline needs.
struct Parsed<'a> {
    req: ClientRequest,
    /// (raw value, unit, field path).
    ttft: Option<(&'a RawValue, String, String)>,
    icl: Option<(Vec<&'a RawValue>, String)>,
    latency: Option<(&'a RawValue, String)>,
    max_response: Option<(&'a RawValue, String)>,
}

fn parse_record<'a>(
    c: &Cursor,
    raw: &'a RawValue,
    trace: &mut Trace,
) -> Result<Parsed<'a>, InputError> {
    if !raw.get().starts_with('{') {
        return Err(c.error(
            "",
            format!("expected a record object, found {}", kind_of(raw)),
        ));
    }
    let rec: RecordJson = c.parse(raw, "")?;
    let mut req = ClientRequest::new(c.input, c.location(), ClientSource::AiperfOld);
    // metadata
    let meta = match rec.metadata {
        Some(m) if !is_null(m) => {
            if !m.get().starts_with('{') {
                return Err(c.error(
                    "metadata",
                    format!("expected an object, found {}", kind_of(m)),
                ));
            }
            c.parse::<Pairs>(m, "metadata")?.0
        }
        _ => {
            c.warn(
                trace,
                "missing_metadata",
                "metadata",
                "record has no metadata",
            );
            Vec::new()
        }
    };
    let get = |k: &str| meta.iter().rev().find(|(n, _)| n == k).map(|(_, v)| *v);
    for (k, v) in &meta {
        flatten(k, v, &mut req.metadata);
    }
    let ns = |k: &str| c.int(get(k), &format!("metadata.{k}"));
    let new_schema = get("request_start_ns").is_some() || get("benchmark_phase").is_some();
    req.source = if new_schema {
        ClientSource::AiperfNew
    } else {
        ClientSource::AiperfOld
    };
    let start_key = if new_schema {
        "request_start_ns"
    } else {
        "timestamp_ns"
    };
    req.start_ns = ns(start_key)?;
    if req.start_ns.is_none() {
        c.warn(
            trace,
            "missing_start",
            &format!("metadata.{start_key}"),
            "no request start; the request has no slices",
        );
    }
    let end_ns = ns("request_end_ns")?;
    // Checked for type only (kept verbatim in metadata).
    for k in ["request_ack_ns", "cancellation_time_ns", "clock_offset_ns"] {
        ns(k)?;
    }
    req.request_id = c.string(get("x_request_id"), "metadata.x_request_id")?;
    let phase_key = if get("benchmark_phase").is_some() {
        "benchmark_phase"
    } else {
        "credit_phase"
    };
    req.phase = c.string(get(phase_key), &format!("metadata.{phase_key}"))?;
    req.warmup = req.phase.as_deref() == Some("warmup");
    let cancelled = c
        .boolean(get("was_cancelled"), "metadata.was_cancelled")?
        .unwrap_or(false);

    // error
    if let Some(e) = rec.error.filter(|e| !is_null(e)) {
        if !e.get().starts_with('{') {
            return Err(c.error("error", format!("expected an object, found {}", kind_of(e))));
        }
        let ej: ErrorJson = c.parse(e, "error")?;
        req.error = Some(ClientError {
            code: c.int(ej.code, "error.code")?,
            kind: c.string(ej.r#type, "error.type")?,
            message: c.string(ej.message, "error.message")?,
        });
    }
    req.status = match &req.error {
        Some(e) if cancelled || e.kind.as_deref() == Some("RequestCancellationError") => {
            ClientStatus::Cancelled
        }
        Some(_) => ClientStatus::Failed,
        None if cancelled => ClientStatus::Cancelled,
        None => ClientStatus::Ok,
    };

    // metrics
    let mut out = Parsed {
        req,
        ttft: None,
        icl: None,
        latency: None,
        max_response: None,
    };
    if let Some(m) = rec.metrics.filter(|m| !is_null(m)) {
        if !m.get().starts_with('{') {
            return Err(c.error(
                "metrics",
                format!("expected an object, found {}", kind_of(m)),
            ));
        }
        let Pairs(pairs) = c.parse::<Pairs>(m, "metrics")?;
        for (tag, v) in pairs {
            let field = format!("metrics.{tag}");
            if !v.get().starts_with('{') {
                return Err(c.error(
                    &field,
                    format!("expected {{value, unit}}, found {}", kind_of(v)),
                ));
            }
            let mj: MetricJson = c.parse(v, &field)?;
            let unit = c
                .string(mj.unit, &format!("{field}.unit"))?
                .unwrap_or_default();
            let Some(value) = mj.value.filter(|v| !is_null(v)) else {
                c.warn(
                    trace,
                    "null_metric",
                    &format!("{field}.value"),
                    "metric without a value",
                );
                continue;
            };
            let vfield = format!("{field}.value");
            let (mv, items) =
                if value.get().starts_with('[') {
                    let items: Vec<&RawValue> = c.parse(value, &vfield)?;
                    let mut nums = Vec::with_capacity(items.len());
                    for (i, it) in items.iter().enumerate() {
                        nums.push(c.number(Some(it), &format!("{vfield}[{i}]"))?.ok_or_else(
                            || c.error(&format!("{vfield}[{i}]"), "null in a metric list"),
                        )?);
                    }
                    (MetricValue::List(nums), Some(items))
                } else {
                    let n = c.number(Some(value), &vfield)?.expect("not null");
                    (MetricValue::Number(n), None)
                };
            if let Some(i) = out.req.metrics.iter().position(|x| x.tag == tag) {
                c.warn(
                    trace,
                    "duplicate_metric",
                    &field,
                    "metric appears twice in the record; the last one is used",
                );
                out.req.metrics.remove(i);
            }
            match (tag.as_ref(), items) {
                ("ttft" | "time_to_first_token", None) => {
                    out.ttft = Some((value, unit.clone(), vfield.clone()))
                }
                ("request_latency", None) => out.latency = Some((value, unit.clone())),
                ("max_response_timestamp", None) => out.max_response = Some((value, unit.clone())),
                ("inter_chunk_latency", Some(items)) => out.icl = Some((items, unit.clone())),
                _ => {}
            }
            out.req.metrics.push(Metric {
                tag: tag.into_owned(),
                unit,
                value: mv,
            });
        }
    } else if out.req.status == ClientStatus::Ok {
        c.warn(
            trace,
            "missing_metrics",
            "metrics",
            "successful record without metrics",
        );
    }
    out.req.end_ns = end_ns;
    Ok(out)
}

/// Exact ns from a metric's raw text and unit.
fn to_ns(c: &Cursor, raw: &RawValue, unit: &str, field: &str) -> Result<i64, InputError> {
    let u = time_unit(unit)
        .ok_or_else(|| c.error(field, format!("unit `{unit}` is not a time unit")))?;
    time::to_ns(raw.get(), u).map_err(|e| c.error(field, e.to_string()))
}

/// Fills the token timeline (first token, chunks, end) of a parsed record.
fn timeline(c: &Cursor, p: &mut Parsed, trace: &mut Trace) -> Result<(), InputError> {
    let Some(start) = p.req.start_ns else {
        return Ok(());
    };
    if let Some((raw, unit, field)) = &p.ttft {
        let ttft = to_ns(c, raw, unit, field)?;
        let add = |a: i64, b: i64, field: &str| {
            crate::time::add_ns(a, b)
                .ok_or_else(|| c.error(field, "time out of range for i64 nanoseconds"))
        };
        let first = add(start, ttft, field)?;
        p.req.first_token_ns = Some(first);
        if let Some((items, unit)) = &p.icl {
            let mut t = first;
            for (i, it) in items.iter().enumerate() {
                let f = format!("metrics.inter_chunk_latency.value[{i}]");
                t = add(t, to_ns(c, it, unit, &f)?, &f)?;
                p.req.chunk_ns.push(t);
            }
        }
    }
    if p.req.end_ns.is_none() {
        p.req.end_ns = if let Some((raw, _)) = &p.max_response {
            Some(
                time::to_ns(raw.get(), Unit::Nanos)
                    .map_err(|e| c.error("metrics.max_response_timestamp.value", e.to_string()))?,
            )
        } else if let Some((raw, unit)) = &p.latency {
            Some(
                crate::time::add_ns(start, to_ns(c, raw, unit, "metrics.request_latency")?)
                    .ok_or_else(|| {
                        c.error(
                            "metrics.request_latency",
                            "time out of range for i64 nanoseconds",
                        )
                    })?,
            )
        } else {
            None
        };
    }
    if p.req.end_ns.is_none() {
        c.warn(
            trace,
            "missing_end",
            "metadata.request_end_ns",
            format!(
                "no request end ({} request); shown as an instant at its start",
                p.req.status.name()
            ),
        );
    }
    Ok(())
}

/// Reads one aiperf input into `trace`.
pub fn import(trace: &mut Trace, index: u32, input: &Input, salvage: bool) -> Result<()> {
    let text = input.text()?;
    let split = records(input, text, salvage)?;
    split.warn_cut(trace, input, index);
    let recs = split.records;
    trace.provenance.inputs[index as usize].records = recs.len() as u64;
    let track = client_track(
        trace,
        &input.path,
        "aiperf",
        "Unix-epoch ns (aiperf MonotonicClock)",
    );
    for (position, raw) in recs {
        let c = Cursor {
            path: &input.path,
            input: index,
            position,
        };
        let mut p = parse_record(&c, raw, trace)?;
        timeline(&c, &mut p, trace)?;
        add_request_slices(trace, &c, track, p.req);
    }
    Ok(())
}
