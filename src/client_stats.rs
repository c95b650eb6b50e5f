//! Client-side latency statistics with aiperf's definitions
//! (FORMATS.md §6, aiperf `docs/metrics-reference.md`):
//!
//! | stat | unit | per request |
//! |---|---|---|
//! | `time_to_first_token` | ms | reported TTFT (`time_to_first_token`, old `ttft`; vLLM `ttfts`) |
//! | `time_to_second_token` | ms | reported TTST (old `ttst`), else the first inter-chunk latency |
//! | `inter_token_latency` | ms | reported, else `(request_latency − TTFT) / (OSL − 1)` when OSL ≥ 2 |
//! | `inter_chunk_latency` | ms | every gap between consecutive chunks (all requests pooled) |
//! | `output_token_throughput_per_user` | tokens/sec/user | reported, else `1000 / ITL_ms` |
//! | `request_latency` | ms | reported (`request_latency`; vLLM `latencies`) |
//! | `input_sequence_length`, `output_sequence_length` | tokens | reported (vLLM `input_lens`, `output_lens`) |
//!
//! Like aiperf, only successful requests count: failed and cancelled records
//! are left out (the real run's aggregate counts 89 of 100 records, the 11
//! cancelled ones excluded). Warmup records are left out unless
//! [`Options::include_warmup`]. This module defines the per-request values;
//! the SQL layer loads them (`client_stat_value`) and the bundled query
//! `client-stats` aggregates them (mean, population std, numpy-linear
//! percentiles via `stats::percentile`, as aiperf reports) — `stats` prints
//! that query, so there is one aggregation, not two.

use crate::model::{ClientRequest, ClientStatus, Metric, MetricValue};

/// Which requests count.
#[derive(Clone, Copy, Debug, Default)]
pub struct Options {
    pub include_warmup: bool,
}

/// The client statistics, in output order: (name, unit).
pub const STATS: &[(&str, &str)] = &[
    ("time_to_first_token", "ms"),
    ("time_to_second_token", "ms"),
    ("inter_token_latency", "ms"),
    ("inter_chunk_latency", "ms"),
    ("output_token_throughput_per_user", "tokens/sec/user"),
    ("request_latency", "ms"),
    ("input_sequence_length", "tokens"),
    ("output_sequence_length", "tokens"),
];

const TTFT: &[&str] = &["time_to_first_token", "ttft", "ttfts"];
const TTST: &[&str] = &["time_to_second_token", "ttst"];
const ICL: &[&str] = &["inter_chunk_latency", "itls"];
const ITL: &[&str] = &["inter_token_latency"];
const TPU: &[&str] = &["output_token_throughput_per_user"];
const LATENCY: &[&str] = &["request_latency", "latencies"];
const ISL: &[&str] = &["input_sequence_length", "input_lens"];
const OSL: &[&str] = &["output_sequence_length", "output_lens"];

/// Factor from a metric's unit to ms; `None` for non-time units.
fn to_ms(unit: &str) -> Option<f64> {
    match unit {
        "ms" => Some(1.0),
        "s" | "sec" => Some(1e3),
        "us" | "µs" => Some(1e-3),
        "ns" => Some(1e-6),
        _ => None,
    }
}

fn number(m: &Metric) -> Option<f64> {
    match m.value {
        MetricValue::Number(v) => Some(v),
        MetricValue::List(_) => None,
    }
}

fn ms(r: &ClientRequest, tags: &[&str]) -> Option<f64> {
    let m = r.metric(tags)?;
    Some(number(m)? * to_ms(&m.unit)?)
}

fn count(r: &ClientRequest, tags: &[&str]) -> Option<f64> {
    number(r.metric(tags)?)
}

fn chunk_gaps_ms(r: &ClientRequest) -> Option<Vec<f64>> {
    let m = r.metric(ICL)?;
    let f = to_ms(&m.unit)?;
    match &m.value {
        MetricValue::List(v) => Some(v.iter().map(|x| x * f).collect()),
        MetricValue::Number(x) => Some(vec![x * f]),
    }
}

/// Time to first token, ms.
pub fn ttft_ms(r: &ClientRequest) -> Option<f64> {
    ms(r, TTFT)
}

/// Time to second token, ms.
pub fn ttst_ms(r: &ClientRequest) -> Option<f64> {
    ms(r, TTST).or_else(|| chunk_gaps_ms(r)?.first().copied())
}

pub fn request_latency_ms(r: &ClientRequest) -> Option<f64> {
    ms(r, LATENCY)
}

/// Inter-token latency, ms (aiperf's definition, excluding TTFT).
pub fn itl_ms(r: &ClientRequest) -> Option<f64> {
    if let Some(v) = ms(r, ITL) {
        return Some(v);
    }
    let osl = count(r, OSL)?;
    if osl < 2.0 {
        return None;
    }
    Some((request_latency_ms(r)? - ttft_ms(r)?) / (osl - 1.0))
}

/// Output tokens per second per user (`1 / ITL` in seconds).
pub fn throughput_per_user(r: &ClientRequest) -> Option<f64> {
    if let Some(m) = r.metric(TPU) {
        return number(m);
    }
    let itl = itl_ms(r)?;
    (itl > 0.0).then(|| 1000.0 / itl)
}

/// Whether a request counts in the statistics.
pub fn counts(r: &ClientRequest, o: &Options) -> bool {
    r.status == ClientStatus::Ok && (o.include_warmup || !r.warmup)
}

/// The value of a single-valued statistic for one request, whatever its
/// status (`inter_chunk_latency`, a list, is `None` here).
pub fn value_of(r: &ClientRequest, name: &str) -> Option<f64> {
    match name {
        "time_to_first_token" => ttft_ms(r),
        "time_to_second_token" => ttst_ms(r),
        "inter_token_latency" => itl_ms(r),
        "output_token_throughput_per_user" => throughput_per_user(r),
        "request_latency" => request_latency_ms(r),
        "input_sequence_length" => count(r, ISL),
        "output_sequence_length" => count(r, OSL),
        _ => None,
    }
}

/// The values of statistic `name` over `requests` (those that count).
pub fn values<'a>(
    requests: impl IntoIterator<Item = &'a ClientRequest>,
    name: &str,
    o: &Options,
) -> Vec<f64> {
    let mut out = Vec::new();
    for r in requests.into_iter().filter(|r| counts(r, o)) {
        if name == "inter_chunk_latency" {
            out.extend(chunk_gaps_ms(r).unwrap_or_default());
        } else {
            out.extend(value_of(r, name));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ClientSource, Location};

    fn req(metrics: Vec<(&str, &str, MetricValue)>) -> ClientRequest {
        let mut r = ClientRequest::new(0, Location::Index(0), ClientSource::VllmBench);
        r.metrics = metrics
            .into_iter()
            .map(|(t, u, v)| Metric {
                tag: t.into(),
                unit: u.into(),
                value: v,
            })
            .collect();
        r
    }

    #[test]
    fn derived_when_not_reported() {
        use MetricValue::*;
        // TTFT 0.1 s, latency 0.5 s, 5 output tokens: ITL = 400/4 = 100 ms,
        // 10 tokens/s/user; TTST = first gap = 80 ms.
        let r = req(vec![
            ("ttfts", "s", Number(0.1)),
            ("latencies", "s", Number(0.5)),
            ("output_lens", "tokens", Number(5.0)),
            ("itls", "s", List(vec![0.08, 0.12, 0.1, 0.1])),
        ]);
        assert!((ttft_ms(&r).unwrap() - 100.0).abs() < 1e-9);
        assert!((itl_ms(&r).unwrap() - 100.0).abs() < 1e-9);
        assert!((throughput_per_user(&r).unwrap() - 10.0).abs() < 1e-9);
        assert!((ttst_ms(&r).unwrap() - 80.0).abs() < 1e-9);
        let one = req(vec![("output_lens", "tokens", Number(1.0))]);
        assert_eq!(itl_ms(&one), None);
    }
}
