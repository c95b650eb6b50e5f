//! Deterministic lane packing: slices that would cross on one logical track
//! are moved to sibling lane tracks so that every track nests like a call
//! stack (Perfetto mis-nests crossing slices; see PERFETTO.md §1.9).
//!
//! Timestamps are never edited, nothing is dropped. Lanes are filled first
//! fit in start order, ties broken by input order.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use rayon::prelude::*;

use super::{LanePolicy, SliceId, Trace, Track, TrackId, TrackKind};

/// The result of [`lay_out`]: slices grouped by their final track in the
/// order a writer emits them.
#[derive(Clone, Debug, Default)]
pub struct Layout {
    /// Slice ids grouped by final track; within a track sorted by
    /// (ts, longer first, shallower first, input order).
    pub order: Vec<SliceId>,
    /// `order[track_start[t]..track_start[t + 1]]` are track t's slices.
    pub track_start: Vec<u32>,
    /// Slices of [`LanePolicy::Nest`] tracks that had to leave lane 0.
    pub moved_to_lanes: u64,
    /// Slices that crossed a sibling or left their parent inside one
    /// request and were laid out (with their descendants) on their own.
    pub detached: u64,
    /// Lane tracks created.
    pub lane_tracks: u64,
}

impl Layout {
    pub fn slices_on(&self, track: TrackId) -> &[SliceId] {
        let t = track.index();
        if t + 1 >= self.track_start.len() {
            return &[];
        }
        &self.order[self.track_start[t] as usize..self.track_start[t + 1] as usize]
    }
}

/// Where one slice goes on its logical track.
#[derive(Clone, Copy)]
struct Place {
    slice: u32,
    lane: u32,
    parent: Option<u32>,
    depth: u32,
}

struct TrackResult {
    places: Vec<Place>,
    lanes: u32,
    detached: u64,
}

/// Assigns every slice to a lane track, sets `parent`/`depth`, and stores
/// the emission order in `trace.layout`. Idempotent.
pub fn lay_out(trace: &mut Trace) -> &Layout {
    if trace.layout.is_some() {
        return trace.layout.as_ref().unwrap();
    }
    let n_logical = trace.tracks.len();
    let groups = group_by_track(trace, n_logical);

    let slices = &trace.slices;
    let tracks = &trace.tracks;
    let results: Vec<(usize, TrackResult)> = groups
        .into_par_iter()
        .enumerate()
        .filter(|(_, ids)| !ids.is_empty())
        .map(|(t, mut ids)| {
            let r = match tracks[t].lanes {
                LanePolicy::Nest => pack_nested(slices, &mut ids),
                LanePolicy::Exclusive => pack_exclusive(slices, TrackId(t as u32), &mut ids),
            };
            (t, r)
        })
        .collect();

    let mut layout = Layout::default();
    for (t, r) in results {
        let logical = TrackId(t as u32);
        let policy = trace.tracks[t].lanes;
        // Lane track ids: lane k of this logical track.
        let mut lane_ids = Vec::with_capacity(r.lanes as usize);
        for k in 0..r.lanes {
            if policy == LanePolicy::Nest && k == 0 {
                lane_ids.push(logical);
                continue;
            }
            let base = &trace.tracks[t];
            let name = base.lane_name.unwrap_or(base.name);
            let mut lane = Track::new(name, Some(logical), TrackKind::Plain);
            lane.lane_of = Some((logical, k));
            lane.rank = Some(k as i32);
            lane_ids.push(trace.add_track(lane));
            layout.lane_tracks += 1;
        }
        if policy == LanePolicy::Exclusive {
            trace.tracks[t].explicit_child_order = true;
        }
        for p in &r.places {
            let s = &mut trace.slices[p.slice as usize];
            s.track = lane_ids[p.lane as usize];
            s.parent = p.parent.map(SliceId);
            s.depth = p.depth;
            if policy == LanePolicy::Nest && p.lane > 0 {
                layout.moved_to_lanes += 1;
            }
        }
        layout.detached += r.detached;
    }

    // Emission order per final track.
    let mut groups = group_by_track(trace, trace.tracks.len());
    let slices = &trace.slices;
    groups.par_iter_mut().for_each(|ids| {
        ids.sort_unstable_by_key(|&i| {
            let s = &slices[i as usize];
            (s.ts, Reverse(s.dur), s.depth, i)
        })
    });
    layout.track_start.reserve(groups.len() + 1);
    layout.order.reserve(trace.slices.len());
    for g in groups {
        layout.track_start.push(layout.order.len() as u32);
        layout.order.extend(g.into_iter().map(SliceId));
    }
    layout.track_start.push(layout.order.len() as u32);
    trace.layout = Some(layout);
    trace.layout.as_ref().unwrap()
}

fn group_by_track(trace: &Trace, n_tracks: usize) -> Vec<Vec<u32>> {
    let mut counts = vec![0usize; n_tracks];
    for s in &trace.slices {
        counts[s.track.index()] += 1;
    }
    let mut groups: Vec<Vec<u32>> = counts.into_iter().map(Vec::with_capacity).collect();
    for (i, s) in trace.slices.iter().enumerate() {
        groups[s.track.index()].push(i as u32);
    }
    groups
}

/// Call-stack packing: each slice goes to the first lane where it nests.
fn pack_nested(slices: &[super::Slice], ids: &mut [u32]) -> TrackResult {
    ids.sort_unstable_by_key(|&i| {
        let s = &slices[i as usize];
        (s.ts, Reverse(s.dur), i)
    });
    // One stack of (end, slice) per lane.
    let mut lanes: Vec<Vec<(i64, u32)>> = Vec::new();
    let mut places = Vec::with_capacity(ids.len());
    for &i in ids.iter() {
        let s = &slices[i as usize];
        let (ts, end) = (s.ts, s.end());
        let mut placed = false;
        for (k, stack) in lanes.iter_mut().enumerate() {
            while matches!(stack.last(), Some(&(e, _)) if e <= ts) {
                stack.pop();
            }
            if let Some(&(top_end, top)) = stack.last() {
                if top_end < end {
                    continue;
                }
                places.push(Place {
                    slice: i,
                    lane: k as u32,
                    parent: Some(top),
                    depth: stack.len() as u32,
                });
            } else {
                places.push(Place {
                    slice: i,
                    lane: k as u32,
                    parent: None,
                    depth: 0,
                });
            }
            stack.push((end, i));
            placed = true;
            break;
        }
        if !placed {
            places.push(Place {
                slice: i,
                lane: lanes.len() as u32,
                parent: None,
                depth: 0,
            });
            lanes.push(vec![(end, i)]);
        }
    }
    TrackResult {
        places,
        lanes: lanes.len() as u32,
        detached: 0,
    }
}

/// Request packing: a slice without an intended parent on this track is the
/// root of a unit (a request on one role) and owns a lane for its whole time
/// range; its descendants follow it. A descendant that leaves its root's
/// range or crosses a sibling is cut off, with its own descendants, into a
/// unit of its own.
fn pack_exclusive(slices: &[super::Slice], track: TrackId, ids: &mut [u32]) -> TrackResult {
    let local: rustc_hash::FxHashMap<u32, usize> =
        ids.iter().enumerate().map(|(k, &i)| (i, k)).collect();
    let intended = |i: u32| -> Option<u32> {
        slices[i as usize]
            .parent
            .filter(|p| slices[p.index()].track == track && local.contains_key(&p.0))
            .map(|p| p.0)
    };
    let mut cut = vec![false; ids.len()];
    let mut detached = 0u64;
    let units = loop {
        // Unit root of every slice: its nearest cut ancestor-or-self, else the
        // topmost ancestor on this track.
        let root_of = |i: u32| -> (u32, u32) {
            let mut cur = i;
            let mut depth = 0;
            while !cut[local[&cur]] {
                match intended(cur) {
                    Some(p) if depth < 64 => {
                        cur = p;
                        depth += 1;
                    }
                    _ => break,
                }
            }
            (cur, depth)
        };
        let mut keyed: Vec<(u32, u32, u32)> = ids
            .iter()
            .map(|&i| {
                let (r, d) = root_of(i);
                (r, d, i)
            })
            .collect();
        keyed.sort_unstable_by_key(|&(r, d, i)| {
            let s = &slices[i as usize];
            (r, d != 0, s.ts, Reverse(s.dur), d, i)
        });
        let mut units: Vec<(u32, Vec<Place>)> = Vec::new();
        let mut new_cuts = Vec::new();
        let mut k = 0;
        while k < keyed.len() {
            let root = keyed[k].0;
            let r = &slices[root as usize];
            let mut members = vec![Place {
                slice: root,
                lane: 0,
                parent: None,
                depth: 0,
            }];
            let mut stack: Vec<(i64, u32)> = vec![(r.end(), root)];
            k += 1;
            while k < keyed.len() && keyed[k].0 == root {
                let i = keyed[k].2;
                k += 1;
                let s = &slices[i as usize];
                if s.ts >= r.ts && s.end() <= r.end() {
                    while stack.len() > 1 && stack.last().unwrap().0 <= s.ts {
                        stack.pop();
                    }
                    let &(top_end, top) = stack.last().unwrap();
                    if top_end >= s.end() {
                        members.push(Place {
                            slice: i,
                            lane: 0,
                            parent: Some(top),
                            depth: stack.len() as u32,
                        });
                        stack.push((s.end(), i));
                        continue;
                    }
                }
                new_cuts.push(i);
            }
            units.push((root, members));
        }
        if new_cuts.is_empty() {
            break units;
        }
        // Cut only the topmost crossing slice of a subtree: its descendants
        // travel with it and are checked again inside its unit.
        let newly: rustc_hash::FxHashSet<u32> = new_cuts.iter().copied().collect();
        new_cuts.retain(|&i| {
            let mut cur = i;
            while let Some(p) = intended(cur) {
                if newly.contains(&p) {
                    return false;
                }
                if cut[local[&p]] {
                    break;
                }
                cur = p;
            }
            true
        });
        detached += new_cuts.len() as u64;
        for i in new_cuts {
            cut[local[&i]] = true;
        }
    };

    let mut units = units;
    units.sort_unstable_by_key(|(root, _)| (slices[*root as usize].ts, *root));
    // Lanes are released only when a unit ended strictly before the next one
    // starts, so a zero-length slice at a unit's end can never be mistaken for
    // part of the next unit on the same lane.
    let mut busy: BinaryHeap<Reverse<(i64, u32)>> = BinaryHeap::new();
    let mut free: BinaryHeap<Reverse<u32>> = BinaryHeap::new();
    let mut n_lanes = 0u32;
    let mut places = Vec::with_capacity(ids.len());
    for (root, members) in units {
        let r = &slices[root as usize];
        while let Some(&Reverse((end, lane))) = busy.peek() {
            if end < r.ts {
                busy.pop();
                free.push(Reverse(lane));
            } else {
                break;
            }
        }
        let lane = match free.pop() {
            Some(Reverse(l)) => l,
            None => {
                n_lanes += 1;
                n_lanes - 1
            }
        };
        busy.push(Reverse((r.end(), lane)));
        places.extend(members.into_iter().map(|mut p| {
            p.lane = lane;
            p
        }));
    }
    TrackResult {
        places,
        lanes: n_lanes,
        detached,
    }
}

/// Checks that slices on every final track nest (no two cross). Returns the
/// first offending pair. Used by tests and debug assertions.
pub fn find_crossing(trace: &Trace) -> Option<(SliceId, SliceId)> {
    let layout = trace.layout.as_ref()?;
    for t in 0..trace.tracks.len() {
        let mut stack: Vec<SliceId> = Vec::new();
        for &id in layout.slices_on(TrackId(t as u32)) {
            let s = trace.slice(id);
            while let Some(&top) = stack.last() {
                if trace.slice(top).end() <= s.ts {
                    stack.pop();
                } else {
                    break;
                }
            }
            if let Some(&top) = stack.last() {
                if trace.slice(top).end() < s.end() {
                    return Some((top, id));
                }
            }
            stack.push(id);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Args, Slice, SliceKind};

    fn slice(
        trace: &mut Trace,
        track: TrackId,
        ts: i64,
        dur: i64,
        parent: Option<SliceId>,
    ) -> SliceId {
        let name = trace.intern("s");
        trace.add_slice(Slice {
            ts,
            dur,
            track,
            name,
            category: None,
            args: Args::None,
            correlation: None,
            parent,
            depth: 0,
            kind: SliceKind::Span,
        })
    }

    #[test]
    fn nested_policy_moves_only_crossing_slices() {
        let mut t = Trace::new();
        let n = t.intern("stream 7");
        let tr = t.add_track(Track::new(n, None, TrackKind::Plain));
        let a = slice(&mut t, tr, 0, 10, None);
        let b = slice(&mut t, tr, 2, 3, None); // nests in a
        let c = slice(&mut t, tr, 8, 5, None); // crosses a
        let d = slice(&mut t, tr, 10, 2, None); // starts when a ends
        let layout = lay_out(&mut t).clone();
        assert_eq!(layout.moved_to_lanes, 1);
        assert_eq!(t.slice(a).track, tr);
        assert_eq!(t.slice(b).track, tr);
        assert_eq!(t.slice(b).parent, Some(a));
        assert_eq!(t.slice(b).depth, 1);
        assert_ne!(t.slice(c).track, tr);
        assert_eq!(t.track(t.slice(c).track).parent, Some(tr));
        assert_eq!(t.slice(d).track, tr);
        assert_eq!(t.slice(d).depth, 0);
        assert_eq!(find_crossing(&t), None);
    }

    #[test]
    fn exclusive_policy_keeps_requests_apart_and_detaches_crossing_children() {
        let mut t = Trace::new();
        let n = t.intern("server");
        let mut track = Track::new(n, None, TrackKind::Plain);
        track.lanes = LanePolicy::Exclusive;
        let tr = t.add_track(track);
        let r1 = slice(&mut t, tr, 0, 100, None);
        let c1 = slice(&mut t, tr, 0, 40, Some(r1));
        let c2 = slice(&mut t, tr, 30, 50, Some(r1)); // crosses c1
        let g2 = slice(&mut t, tr, 35, 40, Some(c2)); // c2's child follows it
        let r2 = slice(&mut t, tr, 50, 10, None); // inside r1's range: another lane
        let r3 = slice(&mut t, tr, 100, 10, None); // starts exactly when r1 ends
        lay_out(&mut t);
        let lane = |s: SliceId| t.track(t.slice(s).track).lane_of.unwrap().1;
        assert_eq!(lane(r1), lane(c1));
        assert_eq!(t.slice(c1).parent, Some(r1));
        assert_eq!(t.slice(c2).parent, None, "crossing child is detached");
        assert_ne!(lane(c2), lane(r1));
        assert_eq!(lane(g2), lane(c2));
        assert_eq!(t.slice(g2).parent, Some(c2));
        assert_eq!(t.slice(g2).depth, 1);
        assert_ne!(lane(r2), lane(r1));
        assert_ne!(
            lane(r3),
            lane(r1),
            "strict release keeps back-to-back units apart"
        );
        assert_eq!(t.layout.as_ref().unwrap().detached, 1);
        assert_eq!(find_crossing(&t), None);
        assert_eq!(t.slices.len(), 6);
    }
}
