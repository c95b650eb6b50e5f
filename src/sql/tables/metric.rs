//! `metric_series`: one row per metric series of a Prometheus input
//! ([`crate::model::MetricSeries`]), linking its counter track (samples in
//! `counter`) to what the series is and to its rate track.
//!
//! | column | meaning |
//! |---|---|
//! | `id` | row number |
//! | `track_id` | the `counter_track` holding the samples, values as written |
//! | `rate_track_id` | the `counter_track` holding the per-second rate, or NULL |
//! | `input` | input path as given |
//! | `name` | the series: `metric{label="value",...}` (the track's name) |
//! | `metric` | sample name (`x_bucket`, `vllm:num_requests_running`) |
//! | `family` | metric family (`x` for `x_bucket`) |
//! | `labels` | labels as a JSON object (sorted by name) |
//! | `type` | `counter`, `gauge`, `histogram`, `summary` or `untyped` |
//! | `monotonic` | 1 when values only grow except at resets (rates apply) |
//! | `unit` | the counter track's unit, NULL when the name does not say |
//! | `help` | the family's `# HELP` text |
//! | `samples` | samples on the track |
//! | `resets` | drops of a monotonic series (counter resets) |

use std::sync::Arc;

use rusqlite::types::Value;

use super::{def, id_column, int, opt_int, opt_text, text, Store, ValueRows};
use crate::model::{CounterUnit, TrackKind};
use crate::sql::vtab::Lazy;

/// `metric_series` over `store`.
pub fn table(store: &Arc<Store>) -> Arc<Lazy> {
    let s = store.clone();
    Arc::new(Lazy::new(
        def(
            "metric_series",
            vec![
                id_column(),
                int("track_id").not_null(),
                int("rate_track_id"),
                text("input"),
                text("name"),
                text("metric"),
                text("family"),
                text("labels"),
                text("type").not_null(),
                int("monotonic").not_null(),
                text("unit"),
                text("help"),
                int("samples").not_null(),
                int("resets").not_null(),
            ],
        ),
        move || {
            let t = &s.trace;
            let rows = t
                .metric_series
                .iter()
                .enumerate()
                .map(|(i, m)| {
                    let track = t.track(m.track);
                    let unit = match &track.kind {
                        TrackKind::Counter { unit } => match unit {
                            CounterUnit::Count => Some("count"),
                            CounterUnit::Bytes => Some("bytes"),
                            CounterUnit::TimeNs => Some("ns"),
                            CounterUnit::Other(u) if u.is_empty() => None,
                            CounterUnit::Other(u) => Some(u.as_str()),
                        },
                        _ => None,
                    };
                    let labels: serde_json::Map<String, serde_json::Value> = m
                        .labels
                        .iter()
                        .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                        .collect();
                    vec![
                        Value::Integer(i as i64),
                        Value::Integer(m.track.index() as i64),
                        opt_int(m.rate_track.map(|r| r.index() as i64)),
                        opt_text(s.input_path(m.input)),
                        Value::Text(t.str(track.name).to_owned()),
                        Value::Text(m.metric.clone()),
                        Value::Text(m.family.clone()),
                        Value::Text(serde_json::Value::Object(labels).to_string()),
                        Value::Text(m.kind.name().to_owned()),
                        Value::Integer(i64::from(m.monotonic)),
                        opt_text(unit),
                        opt_text(m.help.as_deref()),
                        opt_int(Some(m.samples)),
                        opt_int(Some(m.resets)),
                    ]
                })
                .collect();
            Box::new(ValueRows(rows))
        },
    ))
}
