//! Metric series (Prometheus inputs, `ingest::prometheus`) as domain
//! records: which counter track holds a series' samples, what the series is
//! (metric name, labels, declared type) and which track holds its rate. The
//! SQL `metric_series` table and the `metric-summary` query read them.

use super::TrackId;

/// The type a metric family declares (`# TYPE`), as the Prometheus text
/// exposition format names them; `Untyped` when there is no `# TYPE` line
/// (and for every series of a `query` / `query_range` JSON result).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MetricType {
    Counter,
    Gauge,
    Histogram,
    Summary,
    Untyped,
}

impl MetricType {
    /// The `# TYPE` word (`counter`, `gauge`, `histogram`, `summary`, `untyped`).
    pub fn name(self) -> &'static str {
        match self {
            MetricType::Counter => "counter",
            MetricType::Gauge => "gauge",
            MetricType::Histogram => "histogram",
            MetricType::Summary => "summary",
            MetricType::Untyped => "untyped",
        }
    }
}

/// One time series: a metric name plus a label set, from one input.
#[derive(Clone, Debug, PartialEq)]
pub struct MetricSeries {
    /// Index into `Provenance::inputs`.
    pub input: u32,
    /// The counter track holding the samples (values as written).
    pub track: TrackId,
    /// The counter track holding the per-second rate of a monotonic series
    /// (see `ingest::prometheus` for which series are), else `None`.
    pub rate_track: Option<TrackId>,
    /// Sample name as written (`vllm:prompt_tokens_total`, `x_bucket`).
    pub metric: String,
    /// The family the sample belongs to (`x` for `x_bucket`), as declared
    /// by `# HELP` / `# TYPE`; the metric name when nothing declares one.
    pub family: String,
    /// Labels sorted by name, values unescaped.
    pub labels: Vec<(String, String)>,
    pub kind: MetricType,
    /// Values only grow, except at a counter reset.
    pub monotonic: bool,
    /// The family's `# HELP` text, unescaped.
    pub help: Option<String>,
    /// Samples kept on `track`.
    pub samples: u64,
    /// Drops of a monotonic series (counter resets): the rate starts over.
    pub resets: u64,
}
