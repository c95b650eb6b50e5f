//! Per-iteration server statistics (TensorRT-LLM `GET /metrics`, FORMATS.md §2)
//! as domain records: every field of the input is kept, so a SQL loader can
//! build an `iteration` table (one row per iteration, one column per field)
//! without re-parsing the input.

use super::{ArgValue, Location};

/// One iteration-stats record.
#[derive(Clone, Debug, PartialEq)]
pub struct Iteration {
    /// Index into `Provenance::inputs`.
    pub input: u32,
    pub location: Location,
    /// `iter` as given.
    pub iter: Option<i64>,
    /// `timestamp` verbatim (local wall clock without zone, `%m-%d-%Y %H:%M:%S.%f`).
    pub timestamp_text: Option<String>,
    /// `timestamp` read as UTC and expressed as Unix-epoch ns (see
    /// `ingest::iter_stats` for why); `None` when missing or unreadable.
    pub ts: Option<i64>,
    /// Every scalar field, flattened with dotted camelCase paths as in the
    /// input (`kvCacheStats.usedNumBlocks`), in input order; `null` values
    /// and `requestStats` are not in here.
    pub fields: Vec<(String, ArgValue)>,
    /// Sub-objects that were JSON `null` (e.g. `kvCacheStats`).
    pub null_fields: Vec<String>,
    /// `requestStats[]`, each entry flattened like [`Iteration::fields`].
    pub request_stats: Vec<Vec<(String, ArgValue)>>,
}

impl Iteration {
    /// The value of a flattened field, e.g. `kvCacheStats.cacheHitRate`.
    pub fn get(&self, key: &str) -> Option<&ArgValue> {
        self.fields.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// A numeric field as `f64` (integers converted; booleans and strings are `None`).
    pub fn number(&self, key: &str) -> Option<f64> {
        match self.get(key)? {
            ArgValue::Int(i) => Some(*i as f64),
            ArgValue::Uint(u) => Some(*u as f64),
            ArgValue::Real(f) => Some(*f),
            _ => None,
        }
    }
}
