//! `vllm bench serve --save-result --save-detailed` result JSON (FORMATS.md
//! §7): one object with summary fields and per-request parallel arrays
//! `input_lens`, `output_lens`, `ttfts` (s), `itls` (list of lists, s),
//! `latencies` (s), `start_times` (s), `generated_texts`, `errors`.
//!
//! Clock: `start_times` are `time.perf_counter()` seconds — process-relative
//! monotonic, no epoch — kept as they are (in ns). Requests with a non-empty
//! `errors[i]` are failed (vLLM reports them with TTFT 0 and no ITLs).
//! Every per-request array value is kept in [`ClientRequest`] (numbers as
//! metrics with the array's name as tag, strings as metadata).

use serde_json::value::RawValue;

use crate::error::{InputError, Position, Result};
use crate::ingest::client::{add_request_slices, client_track};
use crate::ingest::jsonrec::{kind_of, Cursor};
use crate::ingest::Input;
use crate::json::{is_null, Pairs};
use crate::model::{
    ArgValue, ClientError, ClientRequest, ClientSource, ClientStatus, Location, Metric,
    MetricValue, Trace,
};
use crate::time::{self, Unit};

/// Per-request numeric arrays and their units.
const NUMERIC: &[(&str, &str)] = &[
    ("ttfts", "s"),
    ("latencies", "s"),
    ("start_times", "s"),
    ("queue_times", "s"),
    ("input_lens", "tokens"),
    ("output_lens", "tokens"),
];
/// Per-request list-of-number arrays.
const LISTS: &[(&str, &str)] = &[("itls", "s")];
/// Per-request string arrays and the metadata key each value is kept under.
const STRINGS: &[(&str, &str)] = &[("generated_texts", "generated_text"), ("errors", "error")];

/// Reads one vLLM bench result into `trace`.
pub fn import(trace: &mut Trace, index: u32, input: &Input, salvage: bool) -> Result<()> {
    let text = input.text()?;
    let body = text.trim_start_matches('\u{feff}');
    let file = Cursor {
        path: &input.path,
        input: index,
        position: Position::File,
    };
    let top: &RawValue = serde_json::from_str(body).map_err(|e| {
        let e = crate::error::JsonFault::from(&e);
        let mut err = InputError::json_in(&input.path, body, &e, None);
        if salvage && crate::error::is_cut(body, &e) {
            // One object of parallel arrays: no record is complete on its own.
            err.message
                .push_str("; --salvage cannot help: a vLLM bench result is one object");
        }
        err
    })?;
    if !top.get().starts_with('{') {
        return Err(file
            .error(
                "",
                format!(
                    "expected a vLLM bench result object, found {}",
                    kind_of(top)
                ),
            )
            .into());
    }
    let Pairs(pairs) = file.parse::<Pairs>(top, "")?;
    let get = |k: &str| {
        pairs
            .iter()
            .rev()
            .find(|(n, _)| n == k)
            .map(|(_, v)| *v)
            .filter(|v| !is_null(v))
    };
    let arrays = |k: &str| -> Result<Option<Vec<&RawValue>>, InputError> {
        match get(k) {
            None => Ok(None),
            Some(v) if v.get().starts_with('[') => file.parse(v, k).map(Some),
            Some(v) => Err(file.error(k, format!("expected an array, found {}", kind_of(v)))),
        }
    };
    let Some(ttfts) = arrays("ttfts")? else {
        return Err(file
            .error(
                "ttfts",
                "no per-request arrays; run `vllm bench serve` with --save-detailed",
            )
            .into());
    };
    let n = ttfts.len();
    trace.provenance.inputs[index as usize].records = n as u64;
    let mut cols: Vec<(&str, &str, Vec<&RawValue>)> = Vec::new();
    let mut lists: Vec<(&str, &str, Vec<&RawValue>)> = Vec::new();
    let mut strs: Vec<(&str, &str, Vec<&RawValue>)> = Vec::new();
    for &(k, unit) in NUMERIC.iter().chain(LISTS) {
        if let Some(v) = arrays(k)? {
            if v.len() != n {
                return Err(file
                    .error(k, format!("has {} entries but `ttfts` has {n}", v.len()))
                    .into());
            }
            if LISTS.iter().any(|(l, _)| *l == k) {
                lists.push((k, unit, v));
            } else {
                cols.push((k, unit, v));
            }
        }
    }
    for &(k, meta) in STRINGS {
        if let Some(v) = arrays(k)? {
            if v.len() != n {
                return Err(file
                    .error(k, format!("has {} entries but `ttfts` has {n}", v.len()))
                    .into());
            }
            strs.push((k, meta, v));
        }
    }
    if !cols.iter().any(|(k, _, _)| *k == "start_times") {
        file.warn(
            trace,
            "missing_start",
            "start_times",
            "no start_times (older vLLM); requests have statistics but no slices",
        );
    }
    let track = client_track(
        trace,
        &input.path,
        "vllm bench serve",
        "perf_counter seconds of the benchmark process (arbitrary origin), as ns",
    );
    for i in 0..n {
        let c = Cursor {
            path: &input.path,
            input: index,
            position: Position::Record(i as u64),
        };
        let mut req = ClientRequest::new(index, Location::Index(i as u64), ClientSource::VllmBench);
        req.request_id = Some(i.to_string());
        req.metadata = vec![("index".into(), ArgValue::Int(i as i64))];
        let ns_of = |k: &str| -> Result<Option<i64>, InputError> {
            let Some((_, _, v)) = cols.iter().find(|(name, _, _)| *name == k) else {
                return Ok(None);
            };
            let raw = v[i];
            if is_null(raw) {
                return Ok(None);
            }
            time::to_ns(raw.get(), Unit::Seconds)
                .map(Some)
                .map_err(|e| c.error(&format!("{k}[{i}]"), e.to_string()))
        };
        let start = ns_of("start_times")?;
        let ttft = ns_of("ttfts")?;
        let latency = ns_of("latencies")?;
        for (k, unit, v) in &cols {
            if let Some(x) = c.number(Some(v[i]), &format!("{k}[{i}]"))? {
                req.metrics.push(Metric {
                    tag: (*k).to_owned(),
                    unit: (*unit).to_owned(),
                    value: MetricValue::Number(x),
                });
            }
        }
        let mut gaps_ns = Vec::new();
        for (k, unit, v) in &lists {
            let field = format!("{k}[{i}]");
            if is_null(v[i]) {
                continue;
            }
            if !v[i].get().starts_with('[') {
                return Err(c
                    .error(&field, format!("expected a list, found {}", kind_of(v[i])))
                    .into());
            }
            let items: Vec<&RawValue> = c.parse(v[i], &field)?;
            let mut nums = Vec::with_capacity(items.len());
            for (j, it) in items.iter().enumerate() {
                let f = format!("{field}[{j}]");
                nums.push(
                    c.number(Some(it), &f)?
                        .ok_or_else(|| c.error(&f, "null in a list"))?,
                );
                if *k == "itls" {
                    gaps_ns.push(
                        time::to_ns(it.get(), Unit::Seconds)
                            .map_err(|e| c.error(&f, e.to_string()))?,
                    );
                }
            }
            req.metrics.push(Metric {
                tag: (*k).to_owned(),
                unit: (*unit).to_owned(),
                value: MetricValue::List(nums),
            });
        }
        for (k, meta, v) in &strs {
            if let Some(s) = c.string(Some(v[i]), &format!("{k}[{i}]"))? {
                if *k == "errors" && !s.is_empty() {
                    req.status = ClientStatus::Failed;
                    req.error = Some(ClientError {
                        code: None,
                        kind: None,
                        message: Some(s.clone()),
                    });
                }
                req.metadata.push(((*meta).to_owned(), ArgValue::Str(s)));
            }
        }
        if let Some(s) = start {
            req.start_ns = Some(s);
            let range = |f: &str| c.error(f, "time out of range for i64 nanoseconds");
            req.end_ns = match latency {
                Some(l) => Some(crate::time::add_ns(s, l).ok_or_else(|| range("latencies"))?),
                None => None,
            };
            if req.status == ClientStatus::Ok {
                if let Some(t) = ttft {
                    let first = crate::time::add_ns(s, t).ok_or_else(|| range("ttfts"))?;
                    req.first_token_ns = Some(first);
                    let mut t = first;
                    for g in &gaps_ns {
                        t = crate::time::add_ns(t, *g).ok_or_else(|| range("itls"))?;
                        req.chunk_ns.push(t);
                    }
                }
            }
            if req.end_ns.is_none() {
                c.warn(
                    trace,
                    "missing_end",
                    "latencies",
                    "no latency; shown as an instant at its start",
                );
            }
        }
        add_request_slices(trace, &c, track, req);
    }
    Ok(())
}
