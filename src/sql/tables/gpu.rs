//! `gpu_work`: every slice that is GPU work — kernels, memory copies and
//! memsets in any category spelling (`crate::model::gpu`) — one row per
//! slice, in slice id order:
//! `id` (the slice's id), `ts`, `dur` (ns), `name`, `category` (verbatim),
//! `kind` (`kernel`, `memcpy`, `memset`), `track_id`, `utid` / `upid` (the
//! stream's thread and the device's process; NULL off a thread track),
//! `device` and `stream` (their names), and `artifact`: NULL, or why the
//! stream cannot have executed it as recorded (a profiler artifact, kept
//! out of the bundled GPU statistics); `launch_id`: the `slice.id` of the
//! CPU call that launched it (its incoming `ac2g` flow's other end, else the
//! CUDA runtime/driver call with the same `correlation` argument;
//! `crate::model::gpu::launches`), NULL when unknown; `input` (the path of the input it
//! came from, as given) and `rank` (that input's Kineto
//! `distributedInfo.rank`), for queries over several inputs.

use std::sync::Arc;

use rustc_hash::FxHashMap;

use super::{def_sorted_id, Store};
use crate::model::gpu::{self, GpuKind};
use crate::model::TrackKind;
use crate::sql::vtab::{Access, Cell, Column, Lazy, Table};

struct Row {
    id: u32,
    kind: GpuKind,
    utid: Option<i64>,
    upid: Option<i64>,
    artifact: Option<&'static str>,
    /// SQL id of the launching call.
    launch_id: Option<u32>,
}

struct GpuWork {
    store: Arc<Store>,
    rows: Vec<Row>,
}

const CATEGORY: usize = 4;
const KIND: usize = 5;
const INPUT: usize = 13;
const RANK: usize = 14;

impl Table for GpuWork {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let st = &self.store;
        let trace = &st.trace;
        let r = &self.rows[row];
        let s = &trace.slices[st.slice_ids().order[r.id as usize] as usize];
        let ids = st.tracks();
        match col {
            0 => Cell::Int(r.id as i64),
            1 => Cell::Int(s.ts),
            2 => Cell::Int(s.dur),
            3 => Cell::Text(trace.str(s.name)),
            CATEGORY => s.category.map(|c| trace.str(c)).into(),
            KIND => Cell::Text(r.kind.name()),
            6 => Cell::Int(s.track.index() as i64),
            7 => r.utid.into(),
            8 => r.upid.into(),
            9 => r
                .upid
                .and_then(|u| ids.processes.get(u as usize - 1))
                .and_then(|p| p.1.as_deref())
                .into(),
            10 => r
                .utid
                .and_then(|u| ids.threads.get(u as usize - 1))
                .map(|&(_, _, t)| trace.str(trace.tracks[t].name))
                .into(),
            11 => r.artifact.into(),
            12 => r.launch_id.map(i64::from).into(),
            INPUT => trace
                .input_of_slice(st.slice_ids().order[r.id as usize] as usize)
                .and_then(|i| st.input_path(i))
                .into(),
            RANK => trace
                .input_of_slice(st.slice_ids().order[r.id as usize] as usize)
                .and_then(|i| trace.provenance.inputs.get(i as usize))
                .and_then(|i| i.rank)
                .into(),
            _ => Cell::Null,
        }
    }

    fn key(&self, row: usize, col: usize) -> Option<i64> {
        match col {
            KIND => Some(self.rows[row].kind as i64),
            _ => match self.cell(row, col) {
                Cell::Int(i) => Some(i),
                _ => None,
            },
        }
    }

    fn text_key(&self, col: usize, text: &str) -> Option<Option<i64>> {
        match col {
            KIND => Some(
                [GpuKind::Kernel, GpuKind::Memcpy, GpuKind::Memset]
                    .into_iter()
                    .find(|k| k.name() == text)
                    .map(|k| k as i64),
            ),
            _ => None,
        }
    }
}

/// The `gpu_work` table over `store`.
pub fn table(store: &Arc<Store>) -> Arc<Lazy> {
    let mut d = def_sorted_id(
        "gpu_work",
        vec![
            Column::new("id", "INTEGER"),
            Column::new("ts", "INTEGER")
                .not_null()
                .access(Access::Sorted),
            Column::new("dur", "INTEGER").not_null(),
            Column::new("name", "TEXT"),
            Column::new("category", "TEXT"),
            // Kernel < Memcpy < Memset: the keys sort as the names do.
            Column::new("kind", "TEXT")
                .not_null()
                .access(Access::Lookup)
                .keys_sorted(),
            Column::new("track_id", "INTEGER").not_null(),
            Column::new("utid", "INTEGER").access(Access::Lookup),
            Column::new("upid", "INTEGER").access(Access::Lookup),
            Column::new("device", "TEXT"),
            Column::new("stream", "TEXT"),
            Column::new("artifact", "TEXT"),
            Column::new("launch_id", "INTEGER"),
            Column::new("input", "TEXT"),
            Column::new("rank", "INTEGER"),
        ],
    );
    // Slice ids follow ts: rows are in (ts, id) order.
    d.order = vec![1, 0];
    let s = store.clone();
    Arc::new(Lazy::new(d, move || {
        let trace = &s.trace;
        let kinds = gpu::classify(trace);
        let launches = gpu::launches(trace, &kinds);
        let id_of = &s.slice_ids().id_of;
        let artifacts: FxHashMap<u32, &'static str> = trace
            .gpu_artifacts
            .iter()
            .map(|a| (a.slice.0, a.reason))
            .collect();
        let ids = s.tracks();
        let mut rows = Vec::new();
        for (id, &i) in s.slice_ids().order.iter().enumerate() {
            let Some(kind) = kinds[i as usize] else {
                continue;
            };
            let track = trace.slices[i as usize].track.index();
            let logical = trace.tracks[track]
                .lane_of
                .map_or(track, |(l, _)| l.index());
            let (utid, upid) = match trace.tracks[logical].kind {
                TrackKind::Thread { pid, tid, .. } => (
                    ids.utid.get(&(pid, tid)).copied(),
                    ids.upid.get(&pid).copied(),
                ),
                _ => (None, None),
            };
            rows.push(Row {
                id: id as u32,
                kind,
                utid,
                upid,
                artifact: artifacts.get(&i).copied(),
                launch_id: launches[i as usize].map(|l| id_of[l.index()]),
            });
        }
        Box::new(GpuWork {
            store: s.clone(),
            rows,
        })
    }))
}
