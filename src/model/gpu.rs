//! GPU work: which slices are kernels, memory copies and memsets, however
//! the profiler spelled their category — one classification that every
//! statistic and bundled query uses (SQL table `gpu_work`).
//!
//! Spellings (FORMATS.md, Kineto section): `kernel`, `gpu_memcpy`,
//! `gpu_memset` since 2022; `Kernel`, `Memcpy`, `Memset` before (the
//! category is compared without case). Work without a category that sits on
//! a GPU device's stream (a process named `GPU <n>`, as the importers name
//! devices) is classified by its name: `Memcpy…` / `Memset…`, else a kernel.
//! Slices of other categories on a GPU stream (`gpu_user_annotation`, …)
//! are not GPU work: they annotate it.
//!
//! Profiler artifacts — GPU work that a stream cannot have executed as
//! recorded (see [`Artifact`]) — are found by the importers, which know the
//! raw timestamps and the event index their warning names, with the rules
//! here ([`ZERO_TIMESTAMP`], [`OVERLAPPING`]); they stay in the trace on a
//! lane of their own under the stream and are kept out of span, busy, idle
//! and gap statistics.

use super::{ArgValue, Args, SliceId, Trace, TrackKind};

/// What a piece of GPU work does.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum GpuKind {
    Kernel,
    Memcpy,
    Memset,
}

impl GpuKind {
    /// The SQL `gpu_work.kind` value.
    pub fn name(self) -> &'static str {
        match self {
            GpuKind::Kernel => "kernel",
            GpuKind::Memcpy => "memcpy",
            GpuKind::Memset => "memset",
        }
    }

    /// The kind a category names, in any spelling; `None` for others.
    /// (Called for every event of a trace: compares without allocating.)
    pub fn of_category(category: &str) -> Option<GpuKind> {
        const SPELLINGS: [(&str, GpuKind); 7] = [
            ("kernel", GpuKind::Kernel),
            ("gpu_kernel", GpuKind::Kernel),
            ("cuda_kernel", GpuKind::Kernel),
            ("gpu_memcpy", GpuKind::Memcpy),
            ("memcpy", GpuKind::Memcpy),
            ("gpu_memset", GpuKind::Memset),
            ("memset", GpuKind::Memset),
        ];
        SPELLINGS
            .iter()
            .find(|(s, _)| s.eq_ignore_ascii_case(category))
            .map(|&(_, k)| k)
    }

    /// The kind of uncategorised work on a GPU stream, from its name.
    pub fn of_name(name: &str) -> GpuKind {
        let n = name.trim_start().to_ascii_lowercase();
        if n.starts_with("memcpy") {
            GpuKind::Memcpy
        } else if n.starts_with("memset") {
            GpuKind::Memset
        } else {
            GpuKind::Kernel
        }
    }
}

/// Whether a process name is a GPU device's (`GPU 0`, `GPU 1`, …).
pub fn is_device_name(name: &str) -> bool {
    name.strip_prefix("GPU ")
        .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
}

/// The GPU-work kind of a slice from its category and name, and whether it
/// sits on a thread (stream) of a GPU device: the one classification every
/// statistic, query and importer check uses.
pub fn kind_of(category: Option<&str>, name: &str, on_device: bool) -> Option<GpuKind> {
    match category {
        Some(c) => GpuKind::of_category(c),
        None if on_device => Some(GpuKind::of_name(name)),
        None => None,
    }
}

/// A slice that a GPU stream cannot have executed as recorded.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Artifact {
    pub slice: SliceId,
    /// Short machine-readable reason, also the warning's kind:
    /// [`ZERO_TIMESTAMP`] or [`OVERLAPPING`].
    pub reason: &'static str,
}

/// GPU work whose timestamp as written is 0 — what Kineto writes when
/// CUPTI could not collect the time (its `ts: 0, dur: 0` records) and
/// what its clamp makes of a time before the trace's base — while the
/// input's other events lie far from 0 ([`zero_timestamp_is_far`]).
pub const ZERO_TIMESTAMP: &str = "zero_timestamp_gpu_work";

/// GPU work that overlaps other work on the same stream by more than
/// [`OVERLAP_NOISE_NS`]: a stream runs one piece of work at a time, so
/// not both ran as recorded. Of the work that overlaps, the fewest pieces
/// whose removal leaves the stream serial are the artifacts, the later
/// starting ones when the choice is open ([`overlapping`]): one corrupt
/// duration that runs over many kernels is one artifact, not many.
pub const OVERLAPPING: &str = "overlapping_gpu_work";

/// How far consecutive work on one stream may overlap and still be timing
/// noise (ns). Measured on the real Kineto traces in `../shared/realdata`
/// (13 files, 6.7k kernels, memcpys and memsets on 21 streams, NVIDIA and
/// AMD): consecutive work never overlaps; the closest pairs are 1 ns apart
/// (ROCm, where Kineto shifts starts by 1 ns so they do not tie), 960 ns
/// (nccl_data) and 1 µs (traces with whole-µs times). Times written in
/// whole µs are each cut or rounded to the µs, so two pieces of work that
/// touch can appear to overlap by up to 1 µs; anything longer cannot be
/// rounding.
pub const OVERLAP_NOISE_NS: i64 = 1_000;

/// The least distance between GPU work at timestamp 0 and the input's
/// other events that makes it an artifact, whatever their extent (ns).
pub const FAR_FROM_ZERO_NS: i64 = 1_000_000_000;

/// Whether GPU work written at `ts` 0 and ending at `end` lies far from the
/// input's other events — those whose timestamp as written is not 0,
/// covering `rest` = (earliest start, latest end): they begin more than
/// [`FAR_FROM_ZERO_NS`] after it ends, and further from it than their own
/// extent. A trace whose clock really starts at 0 has its other events
/// close to 0; Kineto's are hours to decades away (a base-relative `ts`
/// is up to three months, an absolute one ~1.7e15 µs). Without other
/// events there is nothing to be far from.
pub fn zero_timestamp_is_far(end: i64, rest: Option<(i64, i64)>) -> bool {
    let Some((lo, hi)) = rest else {
        return false;
    };
    let gap = lo.saturating_sub(end);
    gap > FAR_FROM_ZERO_NS && gap > hi.saturating_sub(lo)
}

/// One piece of work [`overlapping`] sets apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlap {
    /// Index of the artifact in the work given.
    pub artifact: usize,
    /// Index of kept work it overlaps by more than the noise.
    pub other: usize,
    /// By how much (ns).
    pub by: i64,
    /// The artifact starts inside `other` (else it starts before `other`
    /// and runs into it).
    pub starts_inside: bool,
}

/// The work on one stream, as (start, end) ns in a tie-breaking order
/// (file order), that cannot have run as recorded because it overlaps
/// other work by more than [`OVERLAP_NOISE_NS`].
///
/// Two pieces conflict when they overlap by more than the noise. The work
/// kept is a largest conflict-free set — so the fewest pieces are set
/// apart — and among those, the one that keeps the earliest starting work
/// (ties in start by the order given): when two pieces conflict on their
/// own, the later one is the artifact. Work no longer than the noise
/// conflicts with nothing. O(n log n); pieces in no conflict cost a scan.
pub fn overlapping(work: &[(i64, i64)]) -> Vec<Overlap> {
    let noise = OVERLAP_NOISE_NS;
    // Conflicts are those of the intervals [start, end - noise): overlap
    // beyond the noise is overlap of the shortened intervals.
    let cut = |i: usize| work[i].1.saturating_sub(noise);
    let mut order: Vec<usize> = (0..work.len()).filter(|&i| cut(i) > work[i].0).collect();
    order.sort_by_key(|&i| (work[i].0, i));
    let mut out = Vec::new();
    let mut first = 0;
    while first < order.len() {
        // A run of work each of which starts before some earlier one of
        // the run ends: conflicts stay inside such runs.
        let mut reach = cut(order[first]);
        let mut last = first + 1;
        while last < order.len() && work[order[last]].0 < reach {
            reach = reach.max(cut(order[last]));
            last += 1;
        }
        if last - first > 1 {
            settle(work, &order[first..last], &cut, &mut out);
        }
        first = last;
    }
    out.sort_by_key(|o| o.artifact);
    out
}

/// [`overlapping`] within one run of work `run` (indices sorted by start).
fn settle(work: &[(i64, i64)], run: &[usize], cut: &dyn Fn(usize) -> i64, out: &mut Vec<Overlap>) {
    let n = run.len();
    let start = |k: usize| work[run[k]].0;
    // next[k]: the first piece after k that starts once k's (shortened)
    // interval ended — everything between conflicts with k.
    let next: Vec<usize> = (0..n)
        .map(|k| k + 1 + run[k + 1..].partition_point(|&j| work[j].0 < cut(run[k])))
        .collect();
    // most[k]: the largest conflict-free set within run[k..].
    let mut most = vec![0u32; n + 1];
    for k in (0..n).rev() {
        most[k] = most[k + 1].max(1 + most[next[k]]);
    }
    // Keep the earliest piece whenever that still reaches the largest set.
    let mut kept = Vec::new();
    let mut dropped = Vec::new();
    let mut k = 0;
    while k < n {
        if 1 + most[next[k]] >= most[k + 1] {
            kept.push(k);
            dropped.extend(k + 1..next[k]);
            k = next[k];
        } else {
            dropped.push(k);
            k += 1;
        }
    }
    // Each dropped piece conflicts with a kept one (else the set was not
    // largest): the last kept piece starting before it, or the first after.
    for d in dropped {
        let at = kept.partition_point(|&x| x < d);
        let before = at
            .checked_sub(1)
            .map(|x| kept[x])
            .filter(|&p| cut(run[p]) > start(d));
        let (other, starts_inside) = match before {
            Some(p) => (p, true),
            None => (kept[at], false),
        };
        let (a, b) = (work[run[d]], work[run[other]]);
        out.push(Overlap {
            artifact: run[d],
            other: run[other],
            by: a.1.min(b.1) - a.0.max(b.0),
            starts_inside,
        });
    }
}

/// The GPU-work kind of every slice (`None`: not GPU work), by model index.
pub fn classify(trace: &Trace) -> Vec<Option<GpuKind>> {
    // Per track: is it (a lane of) a thread of a GPU device?
    let device_pids: Vec<i32> = trace
        .tracks
        .iter()
        .filter_map(|t| match t.kind {
            TrackKind::Process { pid, .. } if is_device_name(trace.str(t.name)) => Some(pid),
            _ => None,
        })
        .collect();
    let on_device: Vec<bool> = (0..trace.tracks.len())
        .map(|i| {
            let logical = trace.tracks[i].lane_of.map_or(i, |(l, _)| l.index());
            matches!(trace.tracks[logical].kind, TrackKind::Thread { pid, .. } if device_pids.contains(&pid))
        })
        .collect();
    trace
        .slices
        .iter()
        .map(|s| {
            kind_of(
                s.category.map(|c| trace.str(c)),
                trace.str(s.name),
                on_device[s.track.index()],
            )
        })
        .collect()
}

/// Categories of the CPU calls that launch GPU work (Kineto's spellings,
/// compared without case): the CUDA runtime and driver APIs.
pub fn is_launch_category(category: &str) -> bool {
    category.eq_ignore_ascii_case("cuda_runtime") || category.eq_ignore_ascii_case("cuda_driver")
}

/// A slice's top-level integer argument `correlation` (Kineto's CUPTI
/// correlation id), from listed or raw JSON args; `None` when absent or
/// not an integer.
pub fn correlation_arg(trace: &Trace, slice: &super::Slice) -> Option<i64> {
    match slice.args {
        Args::None => None,
        Args::List { .. } => trace
            .arg_list(slice.args)
            .iter()
            .find(|a| trace.str(a.key) == "correlation")
            .and_then(|a| match a.value {
                ArgValue::Int(v) => Some(v),
                ArgValue::Uint(v) => i64::try_from(v).ok(),
                _ => None,
            }),
        Args::Raw { .. } => {
            #[derive(serde::Deserialize)]
            struct Only {
                correlation: Option<serde_json::Number>,
            }
            let text = trace.raw_args(slice.args)?;
            if !text.contains("\"correlation\"") {
                return None;
            }
            serde_json::from_str::<Only>(text)
                .ok()?
                .correlation?
                .as_i64()
        }
    }
}

/// The CPU call that launched each piece of GPU work, by model index
/// (`None` for slices that are not GPU work, and for work whose launch is
/// unknown): the slice at the other end of the work's incoming flow
/// (Kineto's `ac2g` flow, which links a runtime call and its kernel by
/// CUPTI correlation id; nsys' launch flows; the first such flow when there
/// are several), else — for traces written without flows, as HTA pairs
/// them — the first (by [`Trace::id_order_key`]) `cuda_runtime`/`cuda_driver`
/// slice of the same import call (one input: correlation ids of different
/// processes collide) whose `correlation` argument equals the work's. The
/// SQL column `gpu_work.launch_id` and the queue-length counters
/// (`super::queue_length`) read this; `kinds` is [`classify`]'s answer.
pub fn launches(trace: &Trace, kinds: &[Option<GpuKind>]) -> Vec<Option<SliceId>> {
    let n = trace.slices.len();
    let mut out: Vec<Option<SliceId>> = vec![None; n];
    // Each import call's slices, and the slices of none (a model built by
    // other code) as ranges of their own.
    let mut ranges: Vec<std::ops::Range<usize>> =
        trace.sources.iter().map(|s| s.slices.clone()).collect();
    ranges.sort_by_key(|r| r.start);
    let mut at = 0;
    let mut all = Vec::new();
    for r in ranges {
        if r.start > at {
            all.push(at..r.start);
        }
        at = at.max(r.end);
        all.push(r);
    }
    if at < n {
        all.push(at..n);
    }
    for r in all {
        let start = r.start;
        for (k, l) in launches_in(trace, r, |i| kinds[i].is_some())
            .into_iter()
            .enumerate()
        {
            out[start + k] = l;
        }
    }
    out
}

/// [`launches`] among the slices `slices` (model indexes) for the work
/// `is_work` selects; indexed by `i - slices.start`. Flows count when they
/// end on one of these slices; launches by correlation are looked up among
/// these slices only.
pub fn launches_in(
    trace: &Trace,
    slices: std::ops::Range<usize>,
    is_work: impl Fn(usize) -> bool,
) -> Vec<Option<SliceId>> {
    let start = slices.start;
    let mut out: Vec<Option<SliceId>> = vec![None; slices.len()];
    for f in &trace.flows {
        let to = f.to.index();
        if slices.contains(&to) && out[to - start].is_none() && is_work(to) {
            out[to - start] = Some(f.from);
        }
    }
    let missing: Vec<(usize, i64)> = slices
        .clone()
        .filter(|&i| out[i - start].is_none() && is_work(i))
        .filter_map(|i| correlation_arg(trace, &trace.slices[i]).map(|c| (i, c)))
        .collect();
    if missing.is_empty() {
        return out;
    }
    let mut first: rustc_hash::FxHashMap<i64, usize> = rustc_hash::FxHashMap::default();
    for i in slices {
        let s = &trace.slices[i];
        if !s.category.is_some_and(|c| is_launch_category(trace.str(c))) {
            continue;
        }
        let Some(c) = correlation_arg(trace, s) else {
            continue;
        };
        first
            .entry(c)
            .and_modify(|j| {
                if trace.id_order_key(i) < trace.id_order_key(*j) {
                    *j = i;
                }
            })
            .or_insert(i);
    }
    for (i, c) in missing {
        out[i - start] = first.get(&c).map(|&j| SliceId(j as u32));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_spelling_of_a_category() {
        for (c, k) in [
            ("kernel", Some(GpuKind::Kernel)),
            ("Kernel", Some(GpuKind::Kernel)),
            ("gpu_memcpy", Some(GpuKind::Memcpy)),
            ("Memcpy", Some(GpuKind::Memcpy)),
            ("gpu_memset", Some(GpuKind::Memset)),
            ("Memset", Some(GpuKind::Memset)),
            ("gpu_user_annotation", None),
            ("Runtime", None),
            ("cuda_runtime", None),
        ] {
            assert_eq!(GpuKind::of_category(c), k, "{c}");
        }
        assert_eq!(
            GpuKind::of_name("Memcpy HtoD (Pageable -> Device)"),
            GpuKind::Memcpy
        );
        assert_eq!(GpuKind::of_name("void gemm<float>()"), GpuKind::Kernel);
        assert!(is_device_name("GPU 0") && is_device_name("GPU 12"));
        assert!(!is_device_name("GPU") && !is_device_name("python") && !is_device_name("GPU x"));
        assert_eq!(
            kind_of(None, "Memset (Device)", true),
            Some(GpuKind::Memset)
        );
        assert_eq!(kind_of(None, "gemm", false), None);
        assert_eq!(kind_of(Some("gpu_user_annotation"), "step", true), None);
        assert_eq!(kind_of(Some("KERNEL"), "x", false), Some(GpuKind::Kernel));
    }

    const US: i64 = 1_000;

    /// (artifact, other, by, starts_inside) of each piece set apart.
    fn apart(work: &[(i64, i64)]) -> Vec<(usize, usize, i64, bool)> {
        overlapping(work)
            .into_iter()
            .map(|o| (o.artifact, o.other, o.by, o.starts_inside))
            .collect()
    }

    #[test]
    fn serial_work_and_noise_are_not_artifacts() {
        assert!(apart(&[]).is_empty());
        // Back to back, 1 ns apart, touching.
        assert!(apart(&[(0, 10 * US), (10 * US, 20 * US), (20 * US + 1, 30 * US)]).is_empty());
        // Overlaps up to the noise, exactly 1 µs included.
        assert!(apart(&[(0, 10 * US), (9 * US, 20 * US), (19 * US + 500, 30 * US)]).is_empty());
        // Work no longer than the noise conflicts with nothing, even inside
        // other work; zero-length work neither.
        assert!(apart(&[(0, 10 * US), (5 * US, 6 * US), (5 * US, 5 * US)]).is_empty());
    }

    #[test]
    fn the_later_of_two_conflicting_pieces_is_the_artifact() {
        // Starts 1.001 µs before the first ends.
        assert_eq!(
            apart(&[(20_001, 23_001), (22_000, 26_000)]),
            [(1, 0, 1_001, true)]
        );
        // Inside the first: still the later one.
        assert_eq!(
            apart(&[(0, 100 * US), (50 * US, 60 * US)]),
            [(1, 0, 10 * US, true)]
        );
        // Same start: file order decides; the order given, not the start.
        assert_eq!(
            apart(&[(0, 10 * US), (0, 10 * US)]),
            [(1, 0, 10 * US, true)]
        );
        assert_eq!(
            apart(&[(50 * US, 60 * US), (0, 100 * US)]),
            [(0, 1, 10 * US, true)]
        );
    }

    #[test]
    fn one_corrupt_duration_is_one_artifact() {
        // A duration that runs over the next three kernels: that one piece
        // is set apart, not the three it covers.
        let work = [
            (0, 10 * US),
            (20 * US, 3_000_000 * US),
            (30 * US, 40 * US),
            (50 * US, 60 * US),
            (70 * US, 80 * US),
        ];
        assert_eq!(apart(&work), [(1, 2, 10 * US, false)]);
        // Two kernels inside a long one: dropping the long one keeps two.
        let work = [(0, 100 * US), (10 * US, 20 * US), (30 * US, 40 * US)];
        assert_eq!(apart(&work), [(0, 1, 10 * US, false)]);
    }

    #[test]
    fn fewest_artifacts_in_a_chain() {
        // a conflicts with b, b with c, c with d: keeping a and c (or b and
        // d) is largest; the earliest-start choice keeps a and c.
        let work = [
            (0, 10 * US),
            (8 * US, 18 * US),
            (16 * US, 26 * US),
            (24 * US, 34 * US),
        ];
        assert_eq!(apart(&work), [(1, 0, 2 * US, true), (3, 2, 2 * US, true)]);
        // Separate runs are settled separately.
        let work = [
            (0, 10 * US),
            (5 * US, 15 * US),
            (100 * US, 110 * US),
            (105 * US, 115 * US),
        ];
        assert_eq!(apart(&work).iter().map(|a| a.0).collect::<Vec<_>>(), [1, 3]);
    }

    /// The set kept is conflict-free and as large as a brute force finds.
    #[test]
    fn kept_work_is_a_largest_serial_set() {
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = |m: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % m) as i64
        };
        for _ in 0..2_000 {
            let n = 1 + next(9) as usize;
            let work: Vec<(i64, i64)> = (0..n)
                .map(|_| {
                    let ts = next(40) * 500;
                    (ts, ts + next(12) * 500)
                })
                .collect();
            let gone: Vec<usize> = overlapping(&work).iter().map(|o| o.artifact).collect();
            let conflict =
                |a: (i64, i64), b: (i64, i64)| a.1.min(b.1) - a.0.max(b.0) > OVERLAP_NOISE_NS;
            let kept: Vec<usize> = (0..n).filter(|i| !gone.contains(i)).collect();
            for (x, &i) in kept.iter().enumerate() {
                for &j in &kept[x + 1..] {
                    assert!(!conflict(work[i], work[j]), "{work:?}: {i} and {j} kept");
                }
            }
            let best = (0u32..1 << n)
                .filter(|m| {
                    (0..n).all(|i| {
                        (i + 1..n).all(|j| {
                            m & (1 << i) == 0 || m & (1 << j) == 0 || !conflict(work[i], work[j])
                        })
                    })
                })
                .map(|m| m.count_ones() as usize)
                .max()
                .unwrap();
            assert_eq!(kept.len(), best, "{work:?}");
            for o in overlapping(&work) {
                assert!(!gone.contains(&o.other) && conflict(work[o.artifact], work[o.other]));
            }
        }
    }

    #[test]
    fn a_zero_timestamp_is_far_only_from_something_far() {
        let s = 1_000_000_000;
        // Kineto: the other events are weeks or decades away.
        assert!(zero_timestamp_is_far(
            0,
            Some((2_413_669_097_444_592, 2_413_669_097_500_000))
        ));
        // Nothing else: nothing to be far from.
        assert!(!zero_timestamp_is_far(0, None));
        // A clock that starts at 0: the next events are close.
        assert!(!zero_timestamp_is_far(0, Some((1_000, 50 * s))));
        // Near, but less than a second: never.
        assert!(!zero_timestamp_is_far(0, Some((s, s))));
        assert!(zero_timestamp_is_far(0, Some((s + 1, s + 1))));
        // Further than a second, but not further than the others' extent.
        assert!(!zero_timestamp_is_far(0, Some((5 * s, 10 * s))));
        assert!(zero_timestamp_is_far(0, Some((5 * s, 9 * s))));
        // Measured from the end of the work.
        assert!(zero_timestamp_is_far(3 * s, Some((5 * s, 5 * s))));
        assert!(!zero_timestamp_is_far(9 * s / 2, Some((5 * s, 5 * s))));
        assert!(!zero_timestamp_is_far(6 * s, Some((5 * s, 5 * s))));
    }
}
