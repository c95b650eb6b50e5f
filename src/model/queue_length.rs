//! Queue length per GPU stream: the GPU work launched on a stream that has
//! not started executing yet, over time — HTA's augmented counter
//! (`TraceAnalysis.generate_trace_with_counters`, series
//! `get_queue_length_time_series`), as one counter track per stream.
//!
//! Definition (HTA, `hta/analyzers/trace_counters.py`): the queue of a
//! stream grows by 1 at each launch's start (the `ts` of the CUDA runtime
//! call that enqueued the work) and shrinks by 1 when the launched work
//! starts executing on the stream (its `ts`). The work counted is every
//! piece of GPU work ([`super::gpu`]: kernels, memcpys, memsets) on a
//! stream (a thread track), profiler artifacts left out, that has a launch
//! ([`super::gpu::launches_in`], the pairing of SQL `gpu_work.launch_id`:
//! the other end of its first incoming flow — Kineto's `ac2g`, nsys' launch
//! flows — else the first `cuda_runtime` / `cuda_driver` slice with the
//! same integer `correlation` argument; work without one is left out, as
//! HTA keeps only work whose runtime call it finds).
//!
//! This is the bundled query `queue-length-series` computed in the model,
//! so the trace, the SQL `counter` table and that query agree: the counter
//! has one sample per distinct timestamp of a stream's changes, the value
//! after every change at that timestamp (the query lists each change, a
//! launch before a start at equal times). Work is paired with launches
//! within one import call (one input), never across inputs, where
//! correlation ids of different processes would collide.
//!
//! The track is a child of the stream's thread track, named
//! [`TRACK_NAME`], unit [`CounterUnit::Count`]. A stream that already has
//! such a track (a trace of ours read back) gets no second one.

use std::ops::Range;

use rustc_hash::{FxHashMap, FxHashSet};

use super::gpu;
use super::{Counter, CounterUnit, Trace, Track, TrackId, TrackKind};

/// Name of the counter track, HTA's counter name.
pub const TRACK_NAME: &str = "Queue Length";

/// The help text the Perfetto UI shows for the track.
pub const DESCRIPTION: &str = "GPU work launched on this stream that has not started yet \
     (HTA queue length): +1 at the launching CUDA runtime call's start, -1 when the work starts.";

/// The queue length of one stream: `samples` are (ts ns, value after every
/// change at ts), ts strictly increasing.
#[derive(Clone, Debug, PartialEq)]
pub struct StreamQueue {
    /// The stream's thread track (the first with its pid and tid).
    pub stream: TrackId,
    pub samples: Vec<(i64, i64)>,
}

/// The queue length of every stream with launched GPU work among the
/// slices `slices` (model indexes: one import call's), ordered by stream
/// track. Flows count when they end on one of these slices; launches by
/// correlation are looked up among these slices.
pub fn series(trace: &Trace, slices: Range<usize>) -> Vec<StreamQueue> {
    // Per track: (pid, tid) of its stream when it is (a lane of) a thread.
    let device_pids: FxHashSet<i32> = trace
        .tracks
        .iter()
        .filter_map(|t| match t.kind {
            TrackKind::Process { pid, .. } if gpu::is_device_name(trace.str(t.name)) => Some(pid),
            _ => None,
        })
        .collect();
    let thread_of = |track: TrackId| -> Option<(TrackId, i32, i64)> {
        let logical = trace.track(track).lane_of.map_or(track, |(l, _)| l);
        match trace.track(logical).kind {
            TrackKind::Thread { pid, tid, .. } => Some((logical, pid, tid)),
            _ => None,
        }
    };
    let artifacts = trace.artifact_slices();
    // Work that counts: GPU work on a stream, not an artifact.
    let stream_of = |i: usize| -> Option<(TrackId, i32, i64)> {
        let s = &trace.slices[i];
        let thread = thread_of(s.track)?;
        let on_device = device_pids.contains(&thread.1);
        gpu::kind_of(
            s.category.map(|c| trace.str(c)),
            trace.str(s.name),
            on_device,
        )?;
        (!artifacts.contains(&(i as u32))).then_some(thread)
    };

    // (pid, tid) -> index into `queues`.
    let mut index: FxHashMap<(i32, i64), usize> = FxHashMap::default();
    let mut queues: Vec<(TrackId, Vec<(i64, i32)>)> = Vec::new();
    let mut change = |stream: (TrackId, i32, i64), ts: i64, delta: i32| {
        let k = *index.entry((stream.1, stream.2)).or_insert_with(|| {
            queues.push((stream.0, Vec::new()));
            queues.len() - 1
        });
        let q = &mut queues[k];
        q.0 = q.0.min(stream.0);
        q.1.push((ts, delta));
    };

    // Launches: the same pairing as `gpu_work.launch_id`.
    let start = slices.start;
    // Each slice's stream, worked out once (the pairing asks again per flow).
    let streams: Vec<Option<(TrackId, i32, i64)>> = slices.clone().map(stream_of).collect();
    let launches = gpu::launches_in(trace, slices, |i| streams[i - start].is_some());
    for (k, (launch, &stream)) in launches.into_iter().zip(&streams).enumerate() {
        let (Some(launch), Some(stream)) = (launch, stream) else {
            continue;
        };
        change(stream, trace.slice(launch).ts, 1);
        change(stream, trace.slices[start + k].ts, -1);
    }

    let mut out: Vec<StreamQueue> = queues
        .into_iter()
        .map(|(stream, mut changes)| {
            changes.sort_unstable_by_key(|c| c.0);
            let mut samples: Vec<(i64, i64)> = Vec::new();
            let mut value = 0i64;
            for (ts, delta) in changes {
                value += i64::from(delta);
                match samples.last_mut() {
                    Some(last) if last.0 == ts => last.1 = value,
                    _ => samples.push((ts, value)),
                }
            }
            StreamQueue { stream, samples }
        })
        .collect();
    out.sort_by_key(|q| q.stream);
    out
}

/// Whether `track` is a queue-length track of a thread with `pid`, `tid`.
fn is_queue_track(trace: &Trace, track: &Track, pid: i32, tid: i64) -> bool {
    matches!(track.kind, TrackKind::Counter { .. })
        && trace.str(track.name) == TRACK_NAME
        && track.parent.is_some_and(|p| {
            matches!(trace.track(p).kind, TrackKind::Thread { pid: p2, tid: t2, .. } if p2 == pid && t2 == tid)
        })
}

/// Adds a queue-length counter track (see the module doc) under each
/// stream with launched GPU work among `slices`, unless a track among
/// `tracks` (the same import call's) already is its queue-length track.
/// Returns the number of tracks added.
pub fn add(trace: &mut Trace, slices: Range<usize>, tracks: Range<usize>) -> usize {
    let queues = series(trace, slices);
    let mut added = 0;
    for q in queues {
        let TrackKind::Thread { pid, tid, .. } = trace.track(q.stream).kind else {
            continue;
        };
        if trace.tracks[tracks.clone()]
            .iter()
            .any(|t| is_queue_track(trace, t, pid, tid))
        {
            continue;
        }
        let name = trace.intern(TRACK_NAME);
        let mut t = Track::new(
            name,
            Some(q.stream),
            TrackKind::Counter {
                unit: CounterUnit::Count,
            },
        );
        t.description = Some(DESCRIPTION.to_owned());
        let track = trace.add_track(t);
        trace
            .counters
            .extend(q.samples.iter().map(|&(ts, v)| Counter {
                track,
                ts,
                value: v as f64,
            }));
        added += 1;
    }
    added
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{ArgValue, Flow, Slice, SliceId, SliceKind};

    fn slice(
        trace: &mut Trace,
        track: TrackId,
        ts: i64,
        cat: Option<&str>,
        corr: Option<ArgValue>,
    ) -> SliceId {
        let name = trace.intern("work");
        let category = cat.map(|c| trace.intern(c));
        let key = trace.intern("correlation");
        let args = trace.add_args(corr.map(|v| (key, v)));
        trace.add_slice(Slice {
            ts,
            dur: 1,
            track,
            name,
            category,
            args,
            correlation: None,
            parent: None,
            depth: 0,
            kind: SliceKind::Span,
        })
    }

    /// By hand: stream 7 gets +1@100 (flow), +1@150 (`CUDA_RUNTIME` call
    /// with correlation 5, the earlier of two), -1@200 (flowed work, on a
    /// lane of the stream), -1@200 (uncategorised work on the device, by
    /// correlation): samples (100, 1), (150, 2), (200, 0). Work without a
    /// launch and work on a CPU thread's `cpu_op` do not count.
    #[test]
    fn launches_by_flow_and_by_correlation() {
        let mut t = Trace::new();
        let gpu = t.intern("GPU 0");
        let dev = t.add_track(Track::new(
            gpu,
            None,
            TrackKind::Process {
                pid: 0,
                labels: vec![],
                sort_index: None,
            },
        ));
        let s7 = t.intern("stream 7");
        let stream = t.add_track(Track::new(
            s7,
            Some(dev),
            TrackKind::Thread {
                pid: 0,
                tid: 7,
                sort_index: None,
            },
        ));
        let mut lane = Track::new(s7, Some(stream), TrackKind::Plain);
        lane.lane_of = Some((stream, 1));
        let lane = t.add_track(lane);
        let py = t.intern("python");
        let cpu = t.add_track(Track::new(
            py,
            None,
            TrackKind::Thread {
                pid: 100,
                tid: 101,
                sort_index: None,
            },
        ));
        let launch = slice(&mut t, cpu, 100, Some("cuda_runtime"), None);
        slice(
            &mut t,
            cpu,
            150,
            Some("CUDA_RUNTIME"),
            Some(ArgValue::Uint(5)),
        );
        slice(
            &mut t,
            cpu,
            170,
            Some("cuda_driver"),
            Some(ArgValue::Int(5)),
        );
        slice(&mut t, cpu, 90, Some("cpu_op"), Some(ArgValue::Int(5)));
        let flowed = slice(&mut t, lane, 200, Some("kernel"), None);
        slice(&mut t, stream, 200, None, Some(ArgValue::Int(5)));
        slice(
            &mut t,
            stream,
            300,
            Some("Kernel"),
            Some(ArgValue::Str("5".into())),
        );
        slice(&mut t, stream, 400, None, None);
        t.flows.push(Flow {
            from: launch,
            to: flowed,
        });
        let n = t.slices.len();
        let q = series(&t, 0..n);
        assert_eq!(
            q,
            [StreamQueue {
                stream,
                samples: vec![(100, 1), (150, 2), (200, 0)]
            }]
        );
        // Only the slices of an import call count.
        assert!(series(&t, 0..4).is_empty());
        let tracks = t.tracks.len();
        assert_eq!(add(&mut t, 0..n, 0..tracks), 1);
        assert_eq!(t.counters.len(), 3);
        // Again over the same tracks: it is there already.
        let tracks = t.tracks.len();
        assert_eq!(add(&mut t, 0..n, 0..tracks), 0);
    }
}
