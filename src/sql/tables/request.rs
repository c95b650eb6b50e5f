//! `request` and `request_segment` (TensorRT-LLM perf metrics).
//!
//! - `request`: one row per request; every timestamp is an ns column named
//!   after its field with `.` → `_` (`ctx_arrival_time`), NULL when absent;
//!   last, `non_streaming` (1 when the server answered without streaming:
//!   its `server_first_token_time` column is then NULL, the stamp marking
//!   the response's end).
//! - `request_segment`: one row per request and applicable segment of
//!   `crate::segments::SEGMENTS` (rows in (request, segment-table) order):
//!   `start_ts`, `end_ts`, `dur` (ns; NULL when absent) and
//!   `absent_reason` (`missing`, `null`, `zero`, `reversed`).
//!
//! Both read the requests in place; segments are evaluated per row.

use std::sync::{Arc, LazyLock};

use super::{def, id_column, int, text, Store};
use crate::model::{Field, RequestKind, Side};
use crate::segments::{self, Role, Span, SEGMENTS};
use crate::sql::vtab::{Access, Cell, Lazy, Table};

/// SQL column name of a request timestamp: [`Field::name`] with `.` → `_`.
pub fn stamp_column(f: Field) -> String {
    f.name().replace('.', "_")
}

/// Columns before the stamps.
const FIXED: usize = 16;

struct Requests(Arc<Store>);

impl Table for Requests {
    fn len(&self) -> usize {
        self.0.trace.requests.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let st = &self.0;
        let r = &st.trace.requests[row];
        match col {
            0 => Cell::Int(row as i64),
            1 => Cell::Text(&r.label),
            2 => Cell::Text(match r.kind {
                RequestKind::Aggregated => "aggregated",
                RequestKind::Disaggregated => "disaggregated",
            }),
            3 => st.input_path(r.input).into(),
            4 => Cell::Owned(r.location.to_string()),
            5 => r.ctx_server.as_deref().into(),
            6 => r.gen_server.as_deref().into(),
            7 => r.ctx_request_id.into(),
            8 => r.gen_request_id.into(),
            9 => r.disagg_request_id.into(),
            10 => r.status.as_deref().into(),
            11..=13 => Cell::Int(r.has_side[col - 11] as i64),
            14 => Cell::Int(r.correlation as i64),
            15 => st.arg_sets().request_set(row).into(),
            c if c == FIXED + Field::COUNT => Cell::Int(r.non_streaming as i64),
            _ => r.stamps[col - FIXED].get().into(),
        }
    }
}

/// Per segment-table entry: its start and end field names.
struct SegmentNames {
    start: Vec<String>,
    end: Vec<String>,
}

struct Segments {
    /// (request, segment-table index) of each row.
    rows: Vec<(u32, u8)>,
    /// Each row's span, evaluated once.
    spans: Vec<Span>,
    /// Each row's role and the ranks that are the keys of `segment` and
    /// `role` (computed once: an ordered scan would otherwise visit the
    /// requests out of order for them).
    roles: Vec<(Role, u8, u8)>,
    names: SegmentNames,
}

impl Table for Segments {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let (ri, seq) = self.rows[row];
        let seg = &SEGMENTS[seq as usize];
        let span = || self.spans[row];
        match col {
            0 => Cell::Int(row as i64),
            1 => Cell::Int(ri as i64),
            2 => Cell::Int(seq as i64),
            SEGMENT => Cell::Text(seg.name),
            ROLE => Cell::Text(self.roles[row].0.name()),
            5 => Cell::Text(match seg.side {
                Side::Router => "router",
                Side::Ctx => "ctx",
                Side::Gen => "gen",
            }),
            6 => Cell::Text(&self.names.start[seq as usize]),
            7 => Cell::Text(&self.names.end[seq as usize]),
            8..=10 => match span() {
                Span::Present { start, end } => Cell::Int([start, end, end - start][col - 8]),
                Span::Absent(_) => Cell::Null,
            },
            11 => match span() {
                Span::Present { .. } => Cell::Null,
                Span::Absent(a) => Cell::Text(a.name()),
            },
            _ => Cell::Null,
        }
    }

    fn key(&self, row: usize, col: usize) -> Option<i64> {
        match col {
            SEGMENT => Some(self.roles[row].1 as i64),
            ROLE => Some(self.roles[row].2 as i64),
            _ => match self.cell(row, col) {
                Cell::Int(i) => Some(i),
                _ => None,
            },
        }
    }

    fn text_key(&self, col: usize, text: &str) -> Option<Option<i64>> {
        match col {
            SEGMENT => Some(rank(segment_names(), text)),
            ROLE => Some(rank(role_names(), text)),
            _ => None,
        }
    }
}

const SEGMENT: usize = 3;
const ROLE: usize = 4;

/// Keys of `segment` and `role`: ranks in byte order (SQLite's BINARY),
/// so they group and sort as the text does.
fn segment_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        let mut v: Vec<&'static str> = SEGMENTS.iter().map(|s| s.name).collect();
        v.sort_unstable();
        v.dedup();
        v
    });
    &NAMES
}

fn role_names() -> &'static [&'static str] {
    static NAMES: LazyLock<Vec<&'static str>> = LazyLock::new(|| {
        let mut v: Vec<&'static str> = [Role::Router, Role::Ctx, Role::Gen, Role::Server]
            .into_iter()
            .map(Role::name)
            .collect();
        v.sort_unstable();
        v
    });
    &NAMES
}

fn rank(sorted: &[&str], name: &str) -> Option<i64> {
    sorted.binary_search(&name).ok().map(|i| i as i64)
}

/// `request` and `request_segment` over `store`.
pub fn tables(store: &Arc<Store>) -> Vec<Arc<Lazy>> {
    let mut cols = vec![
        id_column(),
        text("label").not_null(),
        text("kind").not_null(),
        text("input"),
        text("location"),
        text("ctx_server"),
        text("gen_server"),
        int("ctx_request_id"),
        int("gen_request_id"),
        int("disagg_request_id"),
        text("status"),
        int("has_router").not_null(),
        int("has_ctx").not_null(),
        int("has_gen").not_null(),
        int("correlation_id"),
        int("arg_set_id"),
    ];
    debug_assert_eq!(cols.len(), FIXED);
    cols.extend(Field::all().map(|f| int(&stamp_column(f))));
    cols.push(int("non_streaming").not_null());
    let s = store.clone();
    let request = Lazy::new(def("request", cols), move || Box::new(Requests(s.clone())));

    let mut seg_def = def(
        "request_segment",
        vec![
            id_column(),
            int("request_id").not_null().access(Access::Sorted),
            int("seq").not_null(),
            text("segment")
                .not_null()
                .access(Access::Lookup)
                .keys_sorted(),
            text("role").not_null().access(Access::Lookup).keys_sorted(),
            text("side").not_null(),
            text("start_field").not_null(),
            text("end_field").not_null(),
            int("start_ts"),
            int("end_ts"),
            int("dur"),
            text("absent_reason"),
        ],
    );
    seg_def.order = vec![1, 2, 0];
    let s = store.clone();
    let request_segment = Lazy::new(seg_def, move || {
        let mut rows = Vec::new();
        for (i, r) in s.trace.requests.iter().enumerate() {
            for (seq, seg) in SEGMENTS.iter().enumerate() {
                if seg.applies.includes(r.kind) {
                    rows.push((i as u32, seq as u8));
                }
            }
        }
        let spans = rows
            .iter()
            .map(|&(r, seq)| {
                segments::evaluate(&SEGMENTS[seq as usize], &s.trace.requests[r as usize])
            })
            .collect();
        let roles = rows
            .iter()
            .map(|&(r, seq)| {
                let seg = &SEGMENTS[seq as usize];
                let role = seg.role(s.trace.requests[r as usize].kind);
                let seg_rank = rank(segment_names(), seg.name).unwrap_or(0) as u8;
                let role_rank = rank(role_names(), role.name()).unwrap_or(0) as u8;
                (role, seg_rank, role_rank)
            })
            .collect();
        Box::new(Segments {
            rows,
            spans,
            roles,
            names: SegmentNames {
                start: SEGMENTS.iter().map(|g| g.start.name()).collect(),
                end: SEGMENTS.iter().map(|g| g.end.name()).collect(),
            },
        })
    });
    vec![Arc::new(request), Arc::new(request_segment)]
}
