//! The order events are written in: per track a call-stack sweep (END before
//! BEGIN at equal timestamps, children inside parents), then one k-way merge
//! of all tracks by timestamp so the file is time-ordered. At equal
//! timestamps ENDs go first and flow sources before flow destinations.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use crate::model::{SliceId, SliceKind, Trace, TrackId};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Ev {
    Begin(SliceId),
    End(SliceId),
    Instant(SliceId),
    /// Index into `Trace::counters`.
    Counter(u32),
}

/// Per-slice flow ids (compressed sparse rows), ids start at 1.
pub struct FlowIndex {
    out_start: Vec<u32>,
    out_ids: Vec<u64>,
    in_start: Vec<u32>,
    in_ids: Vec<u64>,
}

impl FlowIndex {
    pub fn new(trace: &Trace) -> Option<FlowIndex> {
        if trace.flows.is_empty() {
            return None;
        }
        let n = trace.slices.len();
        let csr = |key: &dyn Fn(usize) -> usize| {
            let mut start = vec![0u32; n + 1];
            for i in 0..trace.flows.len() {
                start[key(i) + 1] += 1;
            }
            for i in 0..n {
                start[i + 1] += start[i];
            }
            let mut fill = start.clone();
            let mut ids = vec![0u64; trace.flows.len()];
            for i in 0..trace.flows.len() {
                let k = key(i);
                ids[fill[k] as usize] = i as u64 + 1;
                fill[k] += 1;
            }
            (start, ids)
        };
        let (out_start, out_ids) = csr(&|i| trace.flows[i].from.index());
        let (in_start, in_ids) = csr(&|i| trace.flows[i].to.index());
        Some(FlowIndex {
            out_start,
            out_ids,
            in_start,
            in_ids,
        })
    }

    pub fn outgoing(&self, s: SliceId) -> &[u64] {
        let i = s.index();
        &self.out_ids[self.out_start[i] as usize..self.out_start[i + 1] as usize]
    }

    pub fn incoming(&self, s: SliceId) -> &[u64] {
        let i = s.index();
        &self.in_ids[self.in_start[i] as usize..self.in_start[i + 1] as usize]
    }
}

/// Events of one track in write order, with their timestamps.
fn track_events(trace: &Trace, track: TrackId) -> Vec<(i64, Ev)> {
    let layout = trace.layout.as_ref().expect("layout before writing");
    let ids = layout.slices_on(track);
    let mut out = Vec::with_capacity(ids.len() * 2);
    let mut stack: Vec<SliceId> = Vec::new();
    for &id in ids {
        let s = trace.slice(id);
        while let Some(&top) = stack.last() {
            let e = trace.slice(top).end();
            if e <= s.ts {
                out.push((e, Ev::End(top)));
                stack.pop();
            } else {
                break;
            }
        }
        match s.kind {
            SliceKind::Instant => out.push((s.ts, Ev::Instant(id))),
            SliceKind::Span => {
                out.push((s.ts, Ev::Begin(id)));
                stack.push(id);
            }
        }
    }
    while let Some(top) = stack.pop() {
        out.push((trace.slice(top).end(), Ev::End(top)));
    }
    out
}

/// All events of the trace in write order.
pub fn events(trace: &Trace, flows: Option<&FlowIndex>) -> Vec<(i64, Ev)> {
    let n_tracks = trace.tracks.len();
    let mut per_track: Vec<Vec<(i64, Ev)>> = (0..n_tracks)
        .into_par_iter()
        .map(|t| track_events(trace, TrackId(t as u32)))
        .collect();
    // Counters: each counter track is its own sequence, sorted by time.
    if !trace.counters.is_empty() {
        let mut by_track: Vec<Vec<(i64, Ev)>> = vec![Vec::new(); n_tracks];
        for (i, c) in trace.counters.iter().enumerate() {
            by_track[c.track.index()].push((c.ts, Ev::Counter(i as u32)));
        }
        for (t, mut v) in by_track.into_iter().enumerate() {
            if !v.is_empty() {
                v.sort_by_key(|&(ts, _)| ts); // stable: input order among equal ts
                per_track[t].extend(v);
            }
        }
    }
    let phase = |ev: Ev| -> u8 {
        match ev {
            Ev::End(_) => 0,
            Ev::Begin(s) | Ev::Instant(s) => match flows {
                Some(f) if !f.outgoing(s).is_empty() => 1,
                _ => 2,
            },
            Ev::Counter(_) => 2,
        }
    };
    let total: usize = per_track.iter().map(Vec::len).sum();
    let mut out = Vec::with_capacity(total);
    let mut heap: BinaryHeap<Reverse<(i64, u8, u32, u32)>> = BinaryHeap::new();
    for (t, v) in per_track.iter().enumerate() {
        if let Some(&(ts, ev)) = v.first() {
            heap.push(Reverse((ts, phase(ev), t as u32, 0)));
        }
    }
    while let Some(Reverse((_, _, t, pos))) = heap.pop() {
        let v = &per_track[t as usize];
        out.push(v[pos as usize]);
        let next = pos as usize + 1;
        if let Some(&(ts, ev)) = v.get(next) {
            heap.push(Reverse((ts, phase(ev), t, next as u32)));
        }
    }
    out
}
