//! Per-request domain records: every timestamp of one request, by side.
//!
//! The segment table (`crate::segments`) turns these stamps into durations;
//! importers only record what the input said, including *why* a stamp is
//! absent, so statistics can report absent segments by cause.

use super::{Args, Location, SliceId};

/// Which part of a deployment a stamp or segment belongs to.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side {
    /// The disaggregated router / proxy.
    Router,
    /// The context (prefill) server, or the single server of an aggregated
    /// deployment.
    Ctx,
    /// The generation (decode) server.
    Gen,
}

impl Side {
    pub const ALL: [Side; 3] = [Side::Router, Side::Ctx, Side::Gen];

    pub fn index(self) -> usize {
        self as usize
    }
}

/// A timestamp reported by a worker (`timing_metrics.*`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum WorkerField {
    ServerArrival,
    Arrival,
    FirstScheduled,
    FirstToken,
    ServerFirstToken,
    LastToken,
    KvTransferStart,
    KvTransferEnd,
}

impl WorkerField {
    pub const ALL: [WorkerField; 8] = [
        WorkerField::ServerArrival,
        WorkerField::Arrival,
        WorkerField::FirstScheduled,
        WorkerField::FirstToken,
        WorkerField::ServerFirstToken,
        WorkerField::LastToken,
        WorkerField::KvTransferStart,
        WorkerField::KvTransferEnd,
    ];

    /// The key in `timing_metrics`.
    pub fn key(self) -> &'static str {
        match self {
            WorkerField::ServerArrival => "server_arrival_time",
            WorkerField::Arrival => "arrival_time",
            WorkerField::FirstScheduled => "first_scheduled_time",
            WorkerField::FirstToken => "first_token_time",
            WorkerField::ServerFirstToken => "server_first_token_time",
            WorkerField::LastToken => "last_token_time",
            WorkerField::KvTransferStart => "kv_cache_transfer_start",
            WorkerField::KvTransferEnd => "kv_cache_transfer_end",
        }
    }
}

/// Any timestamp of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Field {
    /// `disagg_server_arrival_time`.
    DisaggArrival,
    /// `disagg_ctx_dispatch_time`.
    DisaggCtxDispatch,
    /// `disagg_server_first_token_time` (PR text: `..._ts`).
    DisaggFirstToken,
    Ctx(WorkerField),
    Gen(WorkerField),
}

impl Field {
    pub const COUNT: usize = 3 + 2 * WorkerField::ALL.len();

    pub fn index(self) -> usize {
        match self {
            Field::DisaggArrival => 0,
            Field::DisaggCtxDispatch => 1,
            Field::DisaggFirstToken => 2,
            Field::Ctx(w) => 3 + w as usize,
            Field::Gen(w) => 3 + WorkerField::ALL.len() + w as usize,
        }
    }

    pub fn all() -> impl Iterator<Item = Field> {
        [
            Field::DisaggArrival,
            Field::DisaggCtxDispatch,
            Field::DisaggFirstToken,
        ]
        .into_iter()
        .chain(WorkerField::ALL.into_iter().map(Field::Ctx))
        .chain(WorkerField::ALL.into_iter().map(Field::Gen))
    }

    pub fn side(self) -> Side {
        match self {
            Field::DisaggArrival | Field::DisaggCtxDispatch | Field::DisaggFirstToken => {
                Side::Router
            }
            Field::Ctx(_) => Side::Ctx,
            Field::Gen(_) => Side::Gen,
        }
    }

    /// Stable name used in SQL, warnings and docs: `disagg_server_arrival_time`,
    /// `ctx.arrival_time`, `gen.kv_cache_transfer_end`, ...
    pub fn name(self) -> String {
        match self {
            Field::DisaggArrival => "disagg_server_arrival_time".into(),
            Field::DisaggCtxDispatch => "disagg_ctx_dispatch_time".into(),
            Field::DisaggFirstToken => "disagg_server_first_token_time".into(),
            Field::Ctx(w) => format!("ctx.{}", w.key()),
            Field::Gen(w) => format!("gen.{}", w.key()),
        }
    }
}

/// Why a timestamp is absent, or its value.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Stamp {
    /// The key was not in the record (or its half was null).
    #[default]
    Missing,
    /// The value was JSON `null`.
    Null,
    /// The value was 0 (an unset steady-clock TimePoint).
    Zero,
    /// Nanoseconds in the input's clock.
    At(i64),
    /// A `server_first_token_time` at or after `last_token_time`: the
    /// server answered without streaming and stamped it when it sent the
    /// whole response (FORMATS.md §1.7). Kept (ns), but it is not a
    /// first-token time, so segments ending or starting there are absent.
    NonStreaming(i64),
}

impl Stamp {
    /// The time, when it is one (`At`).
    pub fn get(self) -> Option<i64> {
        match self {
            Stamp::At(t) => Some(t),
            _ => None,
        }
    }
}

/// Aggregated (one server does everything) or disaggregated (router → ctx → gen).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RequestKind {
    Aggregated,
    Disaggregated,
}

/// One request as every output sees it.
#[derive(Clone, Debug)]
pub struct Request {
    /// Index into `Provenance::inputs`.
    pub input: u32,
    pub location: Location,
    pub kind: RequestKind,
    /// Display id, unique within the trace (e.g. `ctx 3 → gen 7`).
    pub label: String,
    /// `request_id` of the worker record (aggregated) or the ctx half.
    pub ctx_request_id: Option<i64>,
    /// `request_id` of the gen half (disaggregated).
    pub gen_request_id: Option<i64>,
    pub disagg_request_id: Option<i64>,
    pub ctx_server: Option<String>,
    pub gen_server: Option<String>,
    pub status: Option<String>,
    /// Indexed by [`Field::index`].
    pub stamps: [Stamp; Field::COUNT],
    /// Which halves the record had (by [`Side::index`]).
    pub has_side: [bool; 3],
    /// Identity, KV-cache and speculative-decoding details (also on the
    /// parent slices as debug annotations).
    pub details: Args,
    /// The request's parent slice on each side, when it has one.
    pub parent_slice: [Option<SliceId>; 3],
    /// Shared by all slices of this request.
    pub correlation: u64,
    /// The server answered without streaming (see [`Stamp::NonStreaming`]).
    pub non_streaming: bool,
}

impl Request {
    pub fn stamp(&self, f: Field) -> Stamp {
        self.stamps[f.index()]
    }

    pub fn time(&self, f: Field) -> Option<i64> {
        self.stamp(f).get()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn field_indexes_are_dense_and_unique() {
        let idx: Vec<usize> = Field::all().map(Field::index).collect();
        assert_eq!(idx, (0..Field::COUNT).collect::<Vec<_>>());
        assert_eq!(
            Field::Gen(WorkerField::KvTransferEnd).name(),
            "gen.kv_cache_transfer_end"
        );
    }
}
