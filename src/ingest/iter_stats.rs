//! TensorRT-LLM iteration statistics (`GET /metrics` on trtllm-serve,
//! FORMATS.md §2): JSON arrays of per-iteration objects with camelCase keys.
//! Several polls may be concatenated in one file (`[...][...]` or one array
//! per line); gaps in `iter` are normal (the queue is bounded and drained).
//!
//! Every field is kept in [`Iteration`] (for the SQL `iteration` table); a
//! chosen set becomes counter tracks with units under one `iteration stats`
//! group (one sub-group per rank when records carry several ranks).
//!
//! **Clock.** `timestamp` is the server's *local* wall clock formatted as
//! `%m-%d-%Y %H:%M:%S.%f`, with no zone. We read it as if it were UTC and
//! store Unix-epoch ns: the value is exact when the server ran in UTC and
//! off by the server's UTC offset otherwise (use `convert --shift` to
//! correct). It is unrelated to the steady clock of TensorRT-LLM perf
//! metrics. Sub-objects that are `null` (unset stats) are kept as absent and
//! warned about; missing values are never filled with 0.

use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::value::RawValue;

use crate::error::{InputError, Result};
use crate::ingest::jsonrec::{kind_of, records, Cursor};
use crate::ingest::Input;
use crate::json::{flatten, is_null, Pairs};
use crate::model::{
    ArgValue, Counter, CounterUnit, Iteration, LanePolicy, Trace, Track, TrackId, TrackKind,
};

/// Name of the top-level group track.
pub const GROUP: &str = "iteration stats";

/// The timestamp format TensorRT-LLM writes (Python `%f` = 6 digits).
const TIMESTAMP_FORMAT: &str = "%m-%d-%Y %H:%M:%S%.f";

/// Unit of a counter track and how input values convert to it.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unit {
    Count,
    Bytes,
    /// Input in ms, written as ns (Perfetto's TIME_NS unit).
    MsAsNs,
    /// Free-form unit name, value unchanged.
    Named(&'static str),
}

/// One counter track: its name, the fields it reads (first present wins),
/// and its unit.
pub struct CounterSpec {
    pub name: &'static str,
    pub keys: &'static [&'static str],
    pub unit: Unit,
}

/// The counter tracks made from iteration stats, in display order.
pub const COUNTERS: &[CounterSpec] = &[
    CounterSpec {
        name: "KV cache blocks used",
        keys: &["kvCacheStats.usedNumBlocks"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "KV cache blocks free",
        keys: &["kvCacheStats.freeNumBlocks"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "KV cache blocks max",
        keys: &["kvCacheStats.maxNumBlocks"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "KV cache hit rate",
        keys: &["kvCacheStats.cacheHitRate"],
        unit: Unit::Named("ratio"),
    },
    CounterSpec {
        name: "active requests",
        keys: &["numActiveRequests"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "queued requests",
        keys: &["numQueuedRequests"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "new active requests",
        keys: &["numNewActiveRequests"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "completed requests",
        keys: &["numCompletedRequests"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "iteration latency",
        keys: &["iterLatencyMS"],
        unit: Unit::MsAsNs,
    },
    CounterSpec {
        name: "new requests queue latency",
        keys: &["newActiveRequestsQueueLatencyMS"],
        unit: Unit::MsAsNs,
    },
    CounterSpec {
        name: "scheduled context requests",
        keys: &[
            "inflightBatchingStats.numContextRequests",
            "staticBatchingStats.numContextRequests",
            "scheduledNumPrefillRequests",
        ],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "scheduled context tokens",
        keys: &[
            "inflightBatchingStats.numCtxTokens",
            "staticBatchingStats.numCtxTokens",
            "scheduledSumPrefillTokens",
        ],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "scheduled generation requests",
        keys: &[
            "inflightBatchingStats.numGenRequests",
            "scheduledNumDecodeRequests",
        ],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "paused requests",
        keys: &["inflightBatchingStats.numPausedRequests"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "GPU memory",
        keys: &["gpuMemUsage"],
        unit: Unit::Bytes,
    },
    CounterSpec {
        name: "CPU memory",
        keys: &["cpuMemUsage"],
        unit: Unit::Bytes,
    },
    CounterSpec {
        name: "pinned memory",
        keys: &["pinnedMemUsage"],
        unit: Unit::Bytes,
    },
    CounterSpec {
        name: "spec decoding draft tokens",
        keys: &["specDecodingStats.numDraftTokens"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "spec decoding accepted tokens",
        keys: &["specDecodingStats.numAcceptedTokens"],
        unit: Unit::Count,
    },
    CounterSpec {
        name: "spec decoding acceptance length",
        keys: &["specDecodingStats.acceptanceLength"],
        unit: Unit::Named("tokens/step"),
    },
    CounterSpec {
        name: "host step time",
        keys: &["hostStepTimeMS"],
        unit: Unit::MsAsNs,
    },
    CounterSpec {
        name: "GPU forward time",
        keys: &["gpuForwardTimeMS"],
        unit: Unit::MsAsNs,
    },
];

/// Sub-objects whose `null` means "not collected".
const OBJECTS: &[&str] = &[
    "kvCacheStats",
    "staticBatchingStats",
    "inflightBatchingStats",
    "specDecodingStats",
];

/// Reads `/metrics` timestamps: local wall clock read as UTC → epoch ns.
pub fn parse_timestamp(text: &str) -> Option<i64> {
    chrono::NaiveDateTime::parse_from_str(text.trim(), TIMESTAMP_FORMAT)
        .ok()?
        .and_utc()
        .timestamp_nanos_opt()
}

/// The rank a record belongs to, when records name one.
fn series_of(it: &Iteration) -> Option<String> {
    let text = |v: &ArgValue| match v {
        ArgValue::Int(i) => i.to_string(),
        ArgValue::Uint(u) => u.to_string(),
        ArgValue::Str(s) => s.clone(),
        other => format!("{other:?}"),
    };
    match (it.get("rank"), it.get("attentionDpRank")) {
        (Some(r), Some(a)) => Some(format!("rank {} (attention DP rank {})", text(r), text(a))),
        (Some(r), None) => Some(format!("rank {}", text(r))),
        (None, Some(a)) => Some(format!("attention DP rank {}", text(a))),
        (None, None) => None,
    }
}

fn parse_record(c: &Cursor, raw: &RawValue, trace: &mut Trace) -> Result<Iteration, InputError> {
    if !raw.get().starts_with('{') {
        return Err(c.error(
            "",
            format!("expected an iteration object, found {}", kind_of(raw)),
        ));
    }
    let Pairs(pairs) = c.parse::<Pairs>(raw, "")?;
    let mut it = Iteration {
        input: c.input,
        location: c.location(),
        iter: None,
        timestamp_text: None,
        ts: None,
        fields: Vec::with_capacity(pairs.len() + 16),
        null_fields: Vec::new(),
        request_stats: Vec::new(),
    };
    let mut seen_keys: FxHashSet<&str> = FxHashSet::default();
    for (k, v) in &pairs {
        if !seen_keys.insert(k.as_ref()) {
            c.warn(
                trace,
                "duplicate_key",
                k,
                "key appears twice; the last value is used",
            );
            it.fields
                .retain(|(f, _)| f != k && !f.starts_with(&format!("{k}.")));
        }
        match k.as_ref() {
            "requestStats" => {
                if is_null(v) {
                    continue;
                }
                let items: Vec<&RawValue> = c.parse(v, "requestStats")?;
                it.request_stats = items
                    .into_iter()
                    .map(|item| {
                        let mut out = Vec::new();
                        flatten("", item, &mut out);
                        out
                    })
                    .collect();
            }
            "timestamp" => {
                it.timestamp_text = c.string(Some(v), "timestamp")?;
                if let Some(t) = &it.timestamp_text {
                    it.fields
                        .push(("timestamp".into(), ArgValue::Str(t.clone())));
                }
            }
            key => {
                if is_null(v) {
                    it.null_fields.push(key.to_owned());
                    if OBJECTS.contains(&key) {
                        c.warn(
                            trace,
                            "null_stats_object",
                            key,
                            "sub-object is null (not collected); its counters are absent here",
                        );
                    } else {
                        c.warn(trace, "null_value", key, "value is null; absent here");
                    }
                    continue;
                }
                if OBJECTS.contains(&key) && !v.get().starts_with('{') {
                    return Err(c.error(
                        key,
                        format!("expected an object or null, found {}", kind_of(v)),
                    ));
                }
                if key == "iter" {
                    it.iter = c.int(Some(v), "iter")?;
                }
                let text = v.get();
                if text.starts_with('{') || text.starts_with('[') {
                    flatten(key, v, &mut it.fields);
                } else if let Some(a) = crate::json::scalar(v) {
                    it.fields.push((key.to_owned(), a));
                }
            }
        }
    }
    match &it.timestamp_text {
        None if !it.null_fields.iter().any(|f| f == "timestamp") => c.warn(
            trace,
            "missing_timestamp",
            "timestamp",
            "no timestamp; this iteration has no counter samples",
        ),
        None => {}
        Some(t) => {
            it.ts = parse_timestamp(t);
            if it.ts.is_none() {
                c.warn(
                    trace,
                    "unreadable_timestamp",
                    "timestamp",
                    format!(
                        "`{t}` is not `MM-DD-YYYY HH:MM:SS.ffffff`; this iteration has no counter samples"
                    ),
                );
            }
        }
    }
    if it.iter.is_none() && !it.null_fields.iter().any(|f| f == "iter") {
        c.warn(trace, "missing_iter", "iter", "no `iter` number");
    }
    // Counter fields must be numbers when present.
    for spec in COUNTERS {
        for key in spec.keys {
            if let Some(v) = it.get(key) {
                if !matches!(v, ArgValue::Int(_) | ArgValue::Uint(_) | ArgValue::Real(_)) {
                    return Err(c.error(key, format!("expected a number, found {v:?}")));
                }
            }
        }
    }
    Ok(it)
}

/// Finds or makes the group track (shared by all iteration-stats inputs).
fn group_track(trace: &mut Trace, name: &str, parent: Option<TrackId>) -> TrackId {
    if let Some(i) = trace
        .tracks
        .iter()
        .position(|t| t.parent == parent && t.kind == TrackKind::Plain && trace.str(t.name) == name)
    {
        return TrackId(i as u32);
    }
    let id = trace.intern(name);
    let mut t = Track::new(id, parent, TrackKind::Plain);
    t.lanes = LanePolicy::Nest;
    t.explicit_child_order = true;
    if parent.is_none() {
        t.description = Some(
            "TensorRT-LLM iteration statistics (GET /metrics). Timestamps are the server's local \
             wall clock read as UTC."
                .into(),
        );
    }
    trace.add_track(t)
}

fn counter_track(trace: &mut Trace, parent: TrackId, rank: i32, spec: &CounterSpec) -> TrackId {
    if let Some(i) = trace
        .tracks
        .iter()
        .position(|t| t.parent == Some(parent) && trace.str(t.name) == spec.name)
    {
        return TrackId(i as u32);
    }
    let unit = match spec.unit {
        Unit::Count => CounterUnit::Count,
        Unit::Bytes => CounterUnit::Bytes,
        Unit::MsAsNs => CounterUnit::TimeNs,
        Unit::Named(n) => CounterUnit::Other(n.to_owned()),
    };
    let name = trace.intern(spec.name);
    let mut t = Track::new(name, Some(parent), TrackKind::Counter { unit });
    t.rank = Some(rank);
    t.description = Some(format!(
        "From `{}`{}.",
        spec.keys.join("` (else `"),
        if spec.keys.len() > 1 { ")" } else { "" }
    ));
    trace.add_track(t)
}

/// Reads iteration-stats inputs into `trace`.
pub fn import(trace: &mut Trace, inputs: &[(u32, &Input)], salvage: bool) -> Result<()> {
    let mut parsed: Vec<Iteration> = Vec::new();
    let mut seen: FxHashSet<(Option<String>, Option<i64>, Option<String>)> = FxHashSet::default();
    for &(index, input) in inputs {
        let text = input.text()?;
        let split = records(input, text, salvage)?;
        split.warn_cut(trace, input, index);
        let recs = split.records;
        trace.provenance.inputs[index as usize].records = recs.len() as u64;
        if recs.is_empty() {
            Cursor {
                path: &input.path,
                input: index,
                position: crate::error::Position::File,
            }
            .warn(
                trace,
                "empty_input",
                "",
                "no iterations (an empty /metrics poll returns [])",
            );
        }
        for (position, raw) in recs {
            let c = Cursor {
                path: &input.path,
                input: index,
                position,
            };
            let it = parse_record(&c, raw, trace)?;
            let key = (series_of(&it), it.iter, it.timestamp_text.clone());
            if it.iter.is_some() && !seen.insert(key) {
                c.warn(
                    trace,
                    "duplicate_iteration",
                    "iter",
                    "same rank, iter and timestamp as an earlier record; kept once",
                );
                continue;
            }
            parsed.push(it);
        }
    }
    // Which counters each series has at all: only those get tracks, and only
    // there is a missing value worth a warning.
    let mut used: FxHashMap<Option<String>, Vec<bool>> = FxHashMap::default();
    for it in &parsed {
        let u = used
            .entry(series_of(it))
            .or_insert_with(|| vec![false; COUNTERS.len()]);
        for (i, spec) in COUNTERS.iter().enumerate() {
            if spec.keys.iter().any(|k| it.get(k).is_some()) {
                u[i] = true;
            }
        }
    }
    let several = used.len() > 1;
    let mut series_names: Vec<Option<String>> = used.keys().cloned().collect();
    series_names.sort();
    let group = if parsed.is_empty() {
        None
    } else {
        Some(group_track(trace, GROUP, None))
    };
    let mut tracks: FxHashMap<(Option<String>, usize), TrackId> = FxHashMap::default();
    if let Some(group) = group {
        for s in &series_names {
            let parent = match (several, s) {
                (true, Some(name)) => group_track(trace, name, Some(group)),
                (true, None) => group_track(trace, "(no rank)", Some(group)),
                _ => group,
            };
            for (i, spec) in COUNTERS.iter().enumerate() {
                if used[s][i] {
                    tracks.insert((s.clone(), i), counter_track(trace, parent, i as i32, spec));
                }
            }
        }
    }
    let paths: FxHashMap<u32, &std::path::Path> = inputs
        .iter()
        .map(|(i, inp)| (*i, inp.path.as_path()))
        .collect();
    for it in &parsed {
        let Some(ts) = it.ts else { continue };
        let s = series_of(it);
        for (i, spec) in COUNTERS.iter().enumerate() {
            let Some(&track) = tracks.get(&(s.clone(), i)) else {
                continue;
            };
            match spec.keys.iter().find_map(|k| it.number(k)) {
                Some(v) => {
                    let value = if spec.unit == Unit::MsAsNs {
                        v * 1e6
                    } else {
                        v
                    };
                    trace.counters.push(Counter { track, ts, value });
                }
                None => {
                    // A null parent object was warned about already.
                    let parent_null = spec.keys.iter().any(|k| {
                        k.split_once('.')
                            .is_some_and(|(p, _)| it.null_fields.iter().any(|f| f == p))
                    });
                    if !parent_null {
                        let c = Cursor {
                            path: paths
                                .get(&it.input)
                                .copied()
                                .unwrap_or(std::path::Path::new("")),
                            input: it.input,
                            position: match it.location {
                                crate::model::Location::Index(i) => {
                                    crate::error::Position::Record(i)
                                }
                                crate::model::Location::Line(l) => crate::error::Position::Line(l),
                                crate::model::Location::File => crate::error::Position::File,
                            },
                        };
                        c.warn(
                            trace,
                            "missing_value",
                            spec.keys[0],
                            format!(
                                "no value for `{}` in this iteration (other iterations have one)",
                                spec.name
                            ),
                        );
                    }
                }
            }
        }
    }
    trace.iterations.extend(parsed);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_read_as_utc() {
        // 2024-03-04 05:06:07.123456 UTC = 1709528767.123456 s.
        assert_eq!(
            parse_timestamp("03-04-2024 05:06:07.123456"),
            Some(1_709_528_767_123_456_000)
        );
        assert_eq!(parse_timestamp("01:23:56"), None);
        assert_eq!(parse_timestamp("02-30-2024 00:00:00.000000"), None);
    }
}
