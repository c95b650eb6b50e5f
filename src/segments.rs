//! The table of request segments: the single definition used by the Perfetto
//! converter, the SQL `request_segment` table, `stats` and the HTML report.
//!
//! The twelve rows from `disagg_preprocessing` to `disagg_postprocessing`
//! follow the newest upstream `time_breakdown` tool (FORMATS.md §1.6); `decode`
//! (first token → last token) is ours. Unlike upstream, an absent or reversed
//! segment is *absent* with a reason, never a zero.

use crate::model::{Field, Request, RequestKind, Side, Stamp, WorkerField as W};

/// Which deployments a segment exists in.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applies {
    Aggregated,
    Disaggregated,
    Both,
}

impl Applies {
    pub fn includes(self, kind: RequestKind) -> bool {
        matches!(
            (self, kind),
            (Applies::Both, _)
                | (Applies::Aggregated, RequestKind::Aggregated)
                | (Applies::Disaggregated, RequestKind::Disaggregated)
        )
    }
}

/// A server role as shown on the timeline: one top-level track each.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Router,
    Ctx,
    Gen,
    /// The single server of an aggregated deployment.
    Server,
}

impl Role {
    pub fn of(kind: RequestKind, side: Side) -> Role {
        match (kind, side) {
            (RequestKind::Aggregated, _) => Role::Server,
            (_, Side::Router) => Role::Router,
            (_, Side::Ctx) => Role::Ctx,
            (_, Side::Gen) => Role::Gen,
        }
    }

    /// Track name, also the `role` column in SQL.
    pub fn name(self) -> &'static str {
        match self {
            Role::Router => "disagg router",
            Role::Ctx => "context servers",
            Role::Gen => "generation servers",
            Role::Server => "server",
        }
    }

    /// Top-to-bottom order on the timeline.
    pub fn rank(self) -> i32 {
        match self {
            Role::Router => 0,
            Role::Ctx => 1,
            Role::Gen => 2,
            Role::Server => 3,
        }
    }
}

/// One row of the segment table.
#[derive(Clone, Copy, Debug)]
pub struct Segment {
    /// Stable name (slice name, SQL `segment` column).
    pub name: &'static str,
    /// Which side's timestamps it uses, hence its role's track.
    pub side: Side,
    pub start: Field,
    pub end: Field,
    pub applies: Applies,
    /// What the time includes, for the report and the track help text.
    pub description: &'static str,
    /// Colour in the HTML report (CSS hex).
    pub colour: &'static str,
}

impl Segment {
    pub fn role(&self, kind: RequestKind) -> Role {
        Role::of(kind, self.side)
    }
}

pub const SEGMENTS: &[Segment] = &[
    Segment {
        name: "disagg_preprocessing",
        side: Side::Router,
        start: Field::DisaggArrival,
        end: Field::Ctx(W::ServerArrival),
        applies: Applies::Disaggregated,
        description: "Router: request received until the context server's HTTP layer sees it (routing, forwarding).",
        colour: "#8c564b",
    },
    Segment {
        name: "ctx_preprocessing",
        side: Side::Ctx,
        start: Field::Ctx(W::ServerArrival),
        end: Field::Ctx(W::Arrival),
        applies: Applies::Both,
        description: "Server: HTTP arrival until the request is enqueued in the executor (parsing, tokenization).",
        colour: "#1f77b4",
    },
    Segment {
        name: "ctx_queue",
        side: Side::Ctx,
        start: Field::Ctx(W::Arrival),
        end: Field::Ctx(W::FirstScheduled),
        applies: Applies::Both,
        description: "Server: waiting in the executor queue until first scheduled.",
        colour: "#ff7f0e",
    },
    Segment {
        name: "ctx_processing",
        side: Side::Ctx,
        start: Field::Ctx(W::FirstScheduled),
        end: Field::Ctx(W::FirstToken),
        applies: Applies::Both,
        description: "Server: first scheduled until the first token is produced (prefill).",
        colour: "#2ca02c",
    },
    Segment {
        name: "ctx_postprocessing",
        side: Side::Ctx,
        start: Field::Ctx(W::FirstToken),
        end: Field::Ctx(W::ServerFirstToken),
        applies: Applies::Both,
        description: "Server: first token until the HTTP layer sends it (detokenization, response). Non-streaming requests stamp the end at response end.",
        colour: "#d62728",
    },
    Segment {
        name: "disagg_relay",
        side: Side::Router,
        start: Field::Ctx(W::ServerFirstToken),
        end: Field::Gen(W::ServerArrival),
        applies: Applies::Disaggregated,
        description: "Router: context response sent until the generation server's HTTP layer sees the request.",
        colour: "#9467bd",
    },
    Segment {
        name: "gen_preprocessing",
        side: Side::Gen,
        start: Field::Gen(W::ServerArrival),
        end: Field::Gen(W::Arrival),
        applies: Applies::Disaggregated,
        description: "Generation server: HTTP arrival until enqueued in the executor.",
        colour: "#17becf",
    },
    Segment {
        name: "gen_queue_wait",
        side: Side::Gen,
        start: Field::Gen(W::Arrival),
        end: Field::Gen(W::KvTransferStart),
        applies: Applies::Disaggregated,
        description: "Generation server: enqueued until the KV-cache transfer starts.",
        colour: "#bcbd22",
    },
    Segment {
        name: "gen_kv_transfer",
        side: Side::Gen,
        start: Field::Gen(W::KvTransferStart),
        end: Field::Gen(W::KvTransferEnd),
        applies: Applies::Disaggregated,
        description: "Generation server: KV-cache transfer from the context server.",
        colour: "#e377c2",
    },
    Segment {
        name: "gen_post_transfer",
        side: Side::Gen,
        start: Field::Gen(W::KvTransferEnd),
        end: Field::Gen(W::FirstScheduled),
        applies: Applies::Disaggregated,
        description: "Generation server: KV-cache transfer done until first scheduled.",
        colour: "#7f7f7f",
    },
    Segment {
        name: "gen_postprocessing",
        side: Side::Gen,
        start: Field::Gen(W::FirstScheduled),
        end: Field::Gen(W::ServerFirstToken),
        applies: Applies::Disaggregated,
        description: "Generation server: first scheduled until its HTTP layer sends the first token.",
        colour: "#aec7e8",
    },
    Segment {
        name: "disagg_postprocessing",
        side: Side::Router,
        start: Field::Gen(W::ServerFirstToken),
        end: Field::DisaggFirstToken,
        applies: Applies::Disaggregated,
        description: "Router: generation server's first token sent until the router forwards it to the client.",
        colour: "#c49c94",
    },
    Segment {
        name: "decode",
        side: Side::Ctx,
        start: Field::Ctx(W::FirstToken),
        end: Field::Ctx(W::LastToken),
        applies: Applies::Aggregated,
        description: "Server: first token until last token (token generation).",
        colour: "#98df8a",
    },
    Segment {
        name: "decode",
        side: Side::Gen,
        start: Field::Gen(W::FirstToken),
        end: Field::Gen(W::LastToken),
        applies: Applies::Disaggregated,
        description: "Generation server: first token until last token (token generation).",
        colour: "#98df8a",
    },
];

/// Distinct segment names in table order (`decode` once).
pub fn names() -> Vec<&'static str> {
    let mut out: Vec<&'static str> = Vec::new();
    for s in SEGMENTS {
        if !out.contains(&s.name) {
            out.push(s.name);
        }
    }
    out
}

/// The rows that apply to requests of `kind`, in table order.
pub fn for_kind(kind: RequestKind) -> impl Iterator<Item = &'static Segment> {
    SEGMENTS.iter().filter(move |s| s.applies.includes(kind))
}

/// Why a segment has no duration.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Absence {
    /// A timestamp (or the whole half) was not in the record.
    Missing,
    /// A timestamp was JSON null.
    Null,
    /// A timestamp was 0 (unset).
    Zero,
    /// Both present but the end is before the start.
    Reversed,
    /// A `server_first_token_time` of a non-streaming response (it marks
    /// the response's end, not the first token).
    NonStreaming,
}

impl Absence {
    pub fn name(self) -> &'static str {
        match self {
            Absence::Missing => "missing",
            Absence::Null => "null",
            Absence::Zero => "zero",
            Absence::Reversed => "reversed",
            Absence::NonStreaming => "non_streaming",
        }
    }
}

/// A segment of one request: its interval, or why it is absent.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Span {
    Present { start: i64, end: i64 },
    Absent(Absence),
}

impl Span {
    pub fn duration(self) -> Option<i64> {
        match self {
            Span::Present { start, end } => Some(end - start),
            Span::Absent(_) => None,
        }
    }
}

fn absence(s: Stamp) -> Option<Absence> {
    match s {
        Stamp::At(_) => None,
        Stamp::Missing => Some(Absence::Missing),
        Stamp::Null => Some(Absence::Null),
        Stamp::Zero => Some(Absence::Zero),
        Stamp::NonStreaming(_) => Some(Absence::NonStreaming),
    }
}

/// Evaluates `seg` on `req`. The start's absence reason wins over the end's.
pub fn evaluate(seg: &Segment, req: &Request) -> Span {
    span_of(req.stamp(seg.start), req.stamp(seg.end))
}

/// A request-level latency derived from two stamps, per deployment kind.
#[derive(Clone, Copy, Debug)]
pub struct Latency {
    pub name: &'static str,
    pub description: &'static str,
    /// (start, end) for aggregated requests.
    pub aggregated: (Field, Field),
    /// (start, end) for disaggregated requests.
    pub disaggregated: (Field, Field),
    /// For a non-streaming request, the end to use instead (its serving
    /// layer's first-token stamp marks the response's end).
    pub non_streaming_end: Option<Field>,
}

/// Request latencies as the server side saw them. TTFT ends when the
/// serving layer sent the first token; for a non-streaming request that
/// stamp is the response's end (FORMATS.md §1.7), so its TTFT ends at the
/// executor's `first_token_time` instead (the context server's when
/// disaggregated).
pub const LATENCIES: &[Latency] = &[
    Latency {
        name: "ttft",
        description:
            "Time to first token: server (or router) arrival until the first token is sent.",
        aggregated: (
            Field::Ctx(W::ServerArrival),
            Field::Ctx(W::ServerFirstToken),
        ),
        disaggregated: (Field::DisaggArrival, Field::DisaggFirstToken),
        non_streaming_end: Some(Field::Ctx(W::FirstToken)),
    },
    Latency {
        name: "e2e",
        description: "End to end: server (or router) arrival until the last token.",
        aggregated: (Field::Ctx(W::ServerArrival), Field::Ctx(W::LastToken)),
        disaggregated: (Field::DisaggArrival, Field::Gen(W::LastToken)),
        non_streaming_end: None,
    },
];

impl Latency {
    pub fn fields(&self, kind: RequestKind) -> (Field, Field) {
        match kind {
            RequestKind::Aggregated => self.aggregated,
            RequestKind::Disaggregated => self.disaggregated,
        }
    }

    /// The latency of `req`, or why it is absent.
    pub fn evaluate(&self, req: &Request) -> Span {
        let (a, mut b) = self.fields(req.kind);
        if req.non_streaming {
            b = self.non_streaming_end.unwrap_or(b);
        }
        span_of(req.stamp(a), req.stamp(b))
    }
}

fn span_of(a: Stamp, b: Stamp) -> Span {
    if let Some(r) = absence(a).or(absence(b)) {
        return Span::Absent(r);
    }
    let (start, end) = (a.get().unwrap(), b.get().unwrap());
    if end < start {
        Span::Absent(Absence::Reversed)
    } else {
        Span::Present { start, end }
    }
}

/// When the request reached the deployment: the earliest stamp it has.
pub fn arrival(req: &Request) -> Option<i64> {
    req.stamps.iter().filter_map(|s| s.get()).min()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn twelve_upstream_segments_plus_decode() {
        let upstream = [
            "disagg_preprocessing",
            "ctx_preprocessing",
            "ctx_queue",
            "ctx_processing",
            "ctx_postprocessing",
            "disagg_relay",
            "gen_preprocessing",
            "gen_queue_wait",
            "gen_kv_transfer",
            "gen_post_transfer",
            "gen_postprocessing",
            "disagg_postprocessing",
        ];
        let mut expected: Vec<&str> = upstream.to_vec();
        expected.push("decode");
        assert_eq!(names(), expected);
        assert_eq!(for_kind(RequestKind::Aggregated).count(), 5);
        assert_eq!(for_kind(RequestKind::Disaggregated).count(), 13);
    }
}
