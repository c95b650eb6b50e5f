//! Client-side benchmark records (aiperf `profile_export.jsonl`, vLLM
//! `bench serve --save-detailed`): one [`ClientRequest`] per request with
//! every field the input had, plus the absolute token timeline derived from
//! it. A SQL loader can build a client-request table from these directly;
//! `crate::client_stats` computes the statistics from them.

use super::{ArgValue, Location, SliceId};

/// Which tool wrote the record.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientSource {
    /// aiperf, older schema (`timestamp_ns`, `credit_phase`, tags `ttft`/`ttst`).
    AiperfOld,
    /// aiperf, newer schema (`request_start_ns`, `benchmark_phase`, ...).
    AiperfNew,
    /// `vllm bench serve --save-detailed` (seconds since an arbitrary
    /// `perf_counter` origin).
    VllmBench,
}

impl ClientSource {
    pub fn name(self) -> &'static str {
        match self {
            ClientSource::AiperfOld => "aiperf (old schema)",
            ClientSource::AiperfNew => "aiperf",
            ClientSource::VllmBench => "vllm bench serve",
        }
    }
}

/// Outcome of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ClientStatus {
    Ok,
    /// An error record (HTTP error, timeout, ...).
    Failed,
    /// Cancelled by the benchmark (`was_cancelled`, or aiperf's
    /// `RequestCancellationError`).
    Cancelled,
}

impl ClientStatus {
    pub fn name(self) -> &'static str {
        match self {
            ClientStatus::Ok => "ok",
            ClientStatus::Failed => "failed",
            ClientStatus::Cancelled => "cancelled",
        }
    }
}

/// A metric value as exported: one number or a list (`inter_chunk_latency`).
#[derive(Clone, Debug, PartialEq)]
pub enum MetricValue {
    Number(f64),
    List(Vec<f64>),
}

/// One metric of a record, with the tag and unit exactly as in the input
/// (aiperf: `{"ttft": {"value": 12.5, "unit": "ms"}}`; vLLM: `ttfts[i]` is
/// stored as tag `ttft`, unit `s`).
#[derive(Clone, Debug, PartialEq)]
pub struct Metric {
    pub tag: String,
    pub unit: String,
    pub value: MetricValue,
}

/// The error object of a failed record.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct ClientError {
    pub code: Option<i64>,
    pub kind: Option<String>,
    pub message: Option<String>,
}

/// One client request.
#[derive(Clone, Debug, PartialEq)]
pub struct ClientRequest {
    /// Index into `Provenance::inputs`.
    pub input: u32,
    pub location: Location,
    pub source: ClientSource,
    pub status: ClientStatus,
    /// `benchmark_phase` / `credit_phase` verbatim (`profiling`, `warmup`).
    pub phase: Option<String>,
    /// Excluded from statistics unless asked for.
    pub warmup: bool,
    /// `x_request_id` (aiperf) or the array index (vLLM).
    pub request_id: Option<String>,
    /// Request start in the source's clock, ns (aiperf `request_start_ns` /
    /// `timestamp_ns`: Unix epoch; vLLM `start_times`: perf_counter).
    pub start_ns: Option<i64>,
    /// Last response (aiperf `request_end_ns`, else `max_response_timestamp`,
    /// else start + `request_latency`; vLLM start + latency).
    pub end_ns: Option<i64>,
    /// First content response (start + TTFT).
    pub first_token_ns: Option<i64>,
    /// Every later content response: `first_token_ns` + running sum of the
    /// inter-chunk latencies (aiperf `inter_chunk_latency`, vLLM `itls`).
    pub chunk_ns: Vec<i64>,
    /// Every metadata field (scalars flattened with dotted paths), verbatim.
    pub metadata: Vec<(String, ArgValue)>,
    /// Every metric, verbatim.
    pub metrics: Vec<Metric>,
    pub error: Option<ClientError>,
    /// The request's parent slice in the trace, when it has one.
    pub slice: Option<SliceId>,
}

impl ClientRequest {
    /// A successful request with nothing read yet; importers fill it in.
    pub fn new(input: u32, location: Location, source: ClientSource) -> Self {
        ClientRequest {
            input,
            location,
            source,
            status: ClientStatus::Ok,
            phase: None,
            warmup: false,
            request_id: None,
            start_ns: None,
            end_ns: None,
            first_token_ns: None,
            chunk_ns: Vec::new(),
            metadata: Vec::new(),
            metrics: Vec::new(),
            error: None,
            slice: None,
        }
    }

    /// The first metric whose tag is one of `tags`.
    pub fn metric(&self, tags: &[&str]) -> Option<&Metric> {
        tags.iter()
            .find_map(|t| self.metrics.iter().find(|m| m.tag == *t))
    }

    pub fn meta(&self, key: &str) -> Option<&ArgValue> {
        self.metadata.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }
}
