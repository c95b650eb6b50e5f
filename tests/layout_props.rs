//! Property tests for lane packing: whatever the input, no two slices cross
//! on any final track, nothing is lost and no timestamp is edited.

use breakdown_trace::model::layout::{find_crossing, lay_out};
use breakdown_trace::model::{
    Args, LanePolicy, Slice, SliceId, SliceKind, Trace, Track, TrackKind,
};
use proptest::prelude::*;

fn build(policy: LanePolicy, items: &[(i64, i64, Option<usize>, bool)]) -> Trace {
    let mut t = Trace::new();
    let name = t.intern("track");
    let mut track = Track::new(name, None, TrackKind::Plain);
    track.lanes = policy;
    let tr = t.add_track(track);
    let sname = t.intern("s");
    for (i, &(ts, dur, parent, instant)) in items.iter().enumerate() {
        // Parents must precede children (as importers create them).
        let parent = parent.filter(|&p| p < i).map(|p| SliceId(p as u32));
        t.add_slice(Slice {
            ts,
            dur: if instant { 0 } else { dur },
            track: tr,
            name: sname,
            category: None,
            args: Args::None,
            correlation: None,
            parent,
            depth: 0,
            kind: if instant {
                SliceKind::Instant
            } else {
                SliceKind::Span
            },
        });
    }
    t
}

fn items() -> impl Strategy<Value = Vec<(i64, i64, Option<usize>, bool)>> {
    prop::collection::vec(
        (
            0i64..200,
            0i64..60,
            prop::option::of(0usize..40),
            prop::bool::weighted(0.1),
        ),
        0..60,
    )
}

proptest! {
    #[test]
    fn nest_policy_never_crosses(items in items()) {
        let mut t = build(LanePolicy::Nest, &items);
        let before: Vec<(i64, i64)> = t.slices.iter().map(|s| (s.ts, s.dur)).collect();
        let layout = lay_out(&mut t).clone();
        prop_assert_eq!(find_crossing(&t), None);
        let after: Vec<(i64, i64)> = t.slices.iter().map(|s| (s.ts, s.dur)).collect();
        prop_assert_eq!(before, after);
        prop_assert_eq!(layout.order.len(), items.len());
        for s in &t.slices {
            if let Some(p) = s.parent {
                let ps = t.slice(p);
                prop_assert_eq!(ps.track, s.track);
                prop_assert!(ps.ts <= s.ts && s.end() <= ps.end());
                prop_assert_eq!(ps.depth + 1, s.depth);
            }
        }
    }

    #[test]
    fn exclusive_policy_never_crosses_and_units_do_not_share_lanes(items in items()) {
        let mut t = build(LanePolicy::Exclusive, &items);
        let layout = lay_out(&mut t).clone();
        prop_assert_eq!(find_crossing(&t), None);
        prop_assert_eq!(layout.order.len(), items.len());
        // Top-level slices on one lane never overlap, even at a single instant.
        let mut by_lane: std::collections::BTreeMap<u32, Vec<(i64, i64)>> = Default::default();
        for s in t.slices.iter().filter(|s| s.parent.is_none()) {
            by_lane.entry(s.track.0).or_default().push((s.ts, s.end()));
        }
        for (_, mut v) in by_lane {
            v.sort();
            for w in v.windows(2) {
                prop_assert!(w[0].1 < w[1].0, "units {:?} and {:?} share a lane", w[0], w[1]);
            }
        }
    }
}
