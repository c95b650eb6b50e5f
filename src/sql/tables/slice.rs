//! `slice`, `flow`, `counter`: trace processor's columns, read from the
//! laid-out model in place.
//!
//! Slice ids follow trace processor's order — sorted by `ts`, an enclosing
//! slice before what it encloses (longer first, then shallower), input order
//! last — so `slice` is stored sorted by `(ts, id)`: `ts` ranges are binary
//! searches and `ORDER BY ts` costs nothing. Counters likewise by `(ts, id)`.

use std::sync::Arc;

use rayon::prelude::*;

use super::{def, id_column, int, text, Store};
use crate::model::Trace;
use crate::sql::vtab::{Access, Cell, Column, Lazy, Table};

/// The slice numbering: `order[id]` is the model slice of SQL id `id`,
/// `id_of[model index]` its SQL id.
pub struct SliceIds {
    pub order: Vec<u32>,
    pub id_of: Vec<u32>,
}

impl SliceIds {
    /// Sorts the slices into trace processor's id order (on all cores).
    pub fn new(trace: &Trace) -> SliceIds {
        let n = trace.slices.len();
        let mut order: Vec<u32> = (0..n as u32).collect();
        order.par_sort_unstable_by_key(|&i| trace.id_order_key(i as usize));
        let mut id_of = vec![0u32; n];
        for (k, &i) in order.iter().enumerate() {
            id_of[i as usize] = k as u32;
        }
        SliceIds { order, id_of }
    }
}

const ARG_SET: usize = 8;
const CATEGORY: usize = 4;
const NAME: usize = 5;

struct Slices(Arc<Store>);

impl Table for Slices {
    fn len(&self) -> usize {
        self.0.trace.slices.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let st = &self.0;
        let trace = &st.trace;
        let ids = st.slice_ids();
        let s = &trace.slices[ids.order[row] as usize];
        match col {
            0 | 14 => Cell::Int(row as i64),
            1 => Cell::Int(s.ts),
            2 => Cell::Int(s.dur),
            3 => Cell::Int(s.track.index() as i64),
            CATEGORY | 13 => s.category.map(|c| trace.str(c)).into(),
            NAME => Cell::Text(trace.str(s.name)),
            6 => Cell::Int(s.depth as i64),
            7 => s.parent.map(|p| ids.id_of[p.index()] as i64).into(),
            ARG_SET => st.arg_sets().slice_set(row).into(),
            _ => Cell::Null,
        }
    }

    fn key(&self, row: usize, col: usize) -> Option<i64> {
        let st = &self.0;
        let s = &st.trace.slices[st.slice_ids().order[row] as usize];
        match col {
            CATEGORY => s.category.map(|c| c.0 as i64),
            NAME => Some(s.name.0 as i64),
            _ => match self.cell(row, col) {
                Cell::Int(i) => Some(i),
                _ => None,
            },
        }
    }

    fn text_key(&self, col: usize, text: &str) -> Option<Option<i64>> {
        match col {
            CATEGORY | NAME => Some(self.0.trace.strings.get(text).map(|id| id.0 as i64)),
            _ => None,
        }
    }
}

struct Flows(Arc<Store>);

impl Table for Flows {
    fn len(&self) -> usize {
        self.0.trace.flows.len()
    }
    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let f = &self.0.trace.flows[row];
        let ids = self.0.slice_ids();
        match col {
            0 => Cell::Int(row as i64),
            1 => Cell::Int(ids.id_of[f.from.index()] as i64),
            2 => Cell::Int(ids.id_of[f.to.index()] as i64),
            _ => Cell::Null,
        }
    }
}

/// Counters in `(ts, input order)` order.
struct Counters {
    store: Arc<Store>,
    order: Vec<u32>,
}

impl Table for Counters {
    fn len(&self) -> usize {
        self.order.len()
    }
    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let c = &self.store.trace.counters[self.order[row] as usize];
        match col {
            0 => Cell::Int(row as i64),
            1 => Cell::Int(c.ts),
            2 => Cell::Int(c.track.index() as i64),
            3 => Cell::Real(c.value),
            _ => Cell::Null,
        }
    }
}

/// `slice`, `flow` and `counter` over `store`.
pub fn tables(store: &Arc<Store>) -> Vec<Arc<Lazy>> {
    let mut slice_def = def(
        "slice",
        vec![
            id_column(),
            int("ts").not_null().access(Access::Sorted),
            int("dur").not_null(),
            int("track_id").not_null().access(Access::Lookup),
            text("category").access(Access::Lookup),
            text("name").access(Access::Lookup),
            int("depth").not_null(),
            int("parent_id").access(Access::Lookup),
            int("arg_set_id").access(Access::Lookup),
            int("thread_ts"),
            int("thread_dur"),
            int("thread_instruction_count"),
            int("thread_instruction_delta"),
            text("cat").generated("category"),
            int("slice_id").generated("id"),
        ],
    );
    slice_def.order = vec![1, 0];
    let s = store.clone();
    let slice = Lazy::new(slice_def, move || Box::new(Slices(s.clone())));

    let s = store.clone();
    let flow = Lazy::new(
        def(
            "flow",
            vec![
                id_column(),
                int("slice_out").not_null().access(Access::Lookup),
                int("slice_in").not_null().access(Access::Lookup),
                int("trace_id"),
                int("arg_set_id"),
            ],
        ),
        move || Box::new(Flows(s.clone())),
    );

    let mut counter_def = def(
        "counter",
        vec![
            id_column(),
            int("ts").not_null().access(Access::Sorted),
            int("track_id").not_null().access(Access::Lookup),
            Column::new("value", "REAL"),
            int("arg_set_id"),
        ],
    );
    counter_def.order = vec![1, 0];
    let s = store.clone();
    let counter = Lazy::new(counter_def, move || {
        let counters = &s.trace.counters;
        let mut order: Vec<u32> = (0..counters.len() as u32).collect();
        order.par_sort_unstable_by_key(|&i| (counters[i as usize].ts, i));
        Box::new(Counters {
            store: s.clone(),
            order,
        })
    });
    [slice, flow, counter].into_iter().map(Arc::new).collect()
}
