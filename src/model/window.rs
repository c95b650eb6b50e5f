//! A time window (`--from` / `--to` of `query`, `stats`, `report` and
//! `diff`): keeps the events of a trace that fall in `[from, to)` and drops
//! the others, before any output reads the trace.
//!
//! A window *selects* events, it never clips them: a kept kernel keeps its
//! whole duration, so a statistic over kernels counts whole kernels. The
//! rule per kind of record:
//!
//! - **slices**: kept when they overlap the window, `ts < to` and
//!   `ts + dur > from`; an instant (or a zero-length slice) when
//!   `from <= ts < to`. A parent contains its children, so the parent of a
//!   kept slice is kept too; nesting is computed afterwards by the layout
//!   over the kept slices (a slice's intended parent that was dropped
//!   leaves it without one).
//! - **launches**: the CPU call that launched a kept piece of GPU work
//!   (`gpu_work.launch_id`, [`super::gpu::launches`]) is kept too, even
//!   when it lies before `from` (its CPU parents follow the slice rule), so
//!   launch statistics, `host_wait` idle and queue lengths of the kept work
//!   do not depend on where the window opens.
//! - **flows**: kept when both of their slices are.
//! - **counter samples**: those with `from <= ts < to`, plus, on each
//!   counter track, the last sample before `from` — the value in force when
//!   the window opens, so a step function (memory, queue length, a
//!   Prometheus counter's increase) has its value at the window's start.
//!   That sample keeps its own time (before `from`); it is not kept when
//!   `from` lies at or after the trace's end.
//! - **domain records** — TensorRT-LLM requests (`request`,
//!   `request_segment`), client benchmark records (`client_request`) and
//!   iteration statistics (`iteration`): kept when their *start* is in the
//!   window, `from <= start < to`. A request's start is its earliest
//!   timestamp (its arrival at the router or server when the record has
//!   it), a client record's its `start_ns`, an iteration's its `timestamp`.
//!   Records without a time are dropped. A request's slices follow the slice
//!   rule, so a request that arrived before the window still has its slices
//!   that reach into it.
//!
//! Tracks are all kept (empty ones too); warnings, provenance and the
//! strings stay as the import left them: they describe the inputs. Metric
//! series count their kept samples (`samples`, and `resets` over them).
//!
//! Bounds are absolute timestamps in the trace's own clock (ns, what SQL's
//! `ts` column shows) or durations after the trace's start: its earliest
//! timestamp after alignment (`--shift`/`--align`), of any slice (profiler
//! artifacts left out, as [`Trace::time_range`] does), counter sample or
//! domain record — what the Perfetto UI shows as 0. A missing bound leaves
//! that side open.

use rustc_hash::FxHashMap;

use super::{SliceId, SliceKind, Trace, TrackId};

/// One end of a window, as the user gave it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Bound {
    /// This many ns after the trace's start (never negative).
    AfterStart(i64),
    /// A timestamp in the trace's clock (ns): `ts=NS`.
    At(i64),
}

impl Bound {
    /// Parses a bound: a duration after the trace start (`2s`, `1500ms`,
    /// `250us`, `0`; units as [`super::align::parse_duration`], no unit
    /// means ns), or `ts=` and an absolute timestamp in ns (`ts=1700000000123456789`;
    /// a unit may follow, `ts=1700000000.5s`). Errors on a negative
    /// duration after the start: nothing precedes the start.
    pub fn parse(text: &str) -> Result<Bound, String> {
        let t = text.trim();
        if let Some(abs) = t.strip_prefix("ts=") {
            return super::align::parse_duration(abs).map(Bound::At);
        }
        let ns = super::align::parse_duration(t).map_err(|e| {
            if t.contains('=') {
                format!("{e}; an absolute timestamp is written ts=NS")
            } else {
                e
            }
        })?;
        if ns < 0 {
            return Err(format!(
                "`{text}` is before the trace's start: a time after the start cannot be negative \
                 (an absolute timestamp is written ts=NS)"
            ));
        }
        Ok(Bound::AfterStart(ns))
    }

    /// The timestamp this bound stands for in a trace starting at `start`.
    pub fn resolve(self, start: i64) -> Option<i64> {
        match self {
            Bound::At(t) => Some(t),
            Bound::AfterStart(d) => start.checked_add(d),
        }
    }
}

impl std::fmt::Display for Bound {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Bound::AfterStart(d) => write!(f, "{}", seconds(*d)),
            Bound::At(t) => write!(f, "ts={t}"),
        }
    }
}

/// `[from, to)`; `None` leaves that side open.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Window {
    pub from: Option<Bound>,
    pub to: Option<Bound>,
}

impl Window {
    /// No bound given: the window keeps everything (and is not applied).
    pub fn is_unbounded(&self) -> bool {
        self.from.is_none() && self.to.is_none()
    }

    /// What can be checked before reading the trace: two bounds of the same
    /// kind in order. (A relative and an absolute one are compared by
    /// [`apply`].)
    pub fn check(&self) -> Result<(), String> {
        match (self.from, self.to) {
            (Some(Bound::AfterStart(a)), Some(Bound::AfterStart(b)))
            | (Some(Bound::At(a)), Some(Bound::At(b)))
                if b <= a =>
            {
                Err(self.order_error())
            }
            _ => Ok(()),
        }
    }

    fn order_error(&self) -> String {
        let show = |b: Option<Bound>| b.map_or_else(String::new, |b| b.to_string());
        format!(
            "--to {} is not after --from {}: the window [from, to) would be empty",
            show(self.to),
            show(self.from)
        )
    }
}

/// How many records of one kind a window kept, of how many.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Kept {
    pub kept: u64,
    pub total: u64,
}

/// What [`apply`] did: the window resolved to timestamps, the trace's
/// extent before it, and what was kept of each kind of record.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WindowSummary {
    /// The window as given.
    pub window: Window,
    /// Earliest and latest timestamp of the trace before the window (see
    /// [`extent`]); `None` when it has no timed record.
    pub extent: Option<(i64, i64)>,
    /// The bounds as timestamps (ns, the trace's clock); `None` = open.
    pub from: Option<i64>,
    pub to: Option<i64>,
    pub slices: Kept,
    pub flows: Kept,
    /// Counter samples, including [`WindowSummary::in_force`].
    pub counters: Kept,
    /// Of the kept counter samples, those before `from` kept as the value
    /// in force at the window's start.
    pub in_force: u64,
    pub requests: Kept,
    pub client_requests: Kept,
    pub iterations: Kept,
}

impl WindowSummary {
    /// No record falls in the window (samples kept only as the value in
    /// force at its start do not count).
    pub fn holds_nothing(&self) -> bool {
        self.slices.kept == 0
            && self.counters.kept == self.in_force
            && self.requests.kept == 0
            && self.client_requests.kept == 0
            && self.iterations.kept == 0
    }

    /// The window in words: `window 2.000 s – 2.500 s of the trace (ts
    /// 1700000002000000000 – 1700000002500000000)`; times after the trace's
    /// start in s, then the timestamps.
    pub fn describe(&self) -> String {
        let start = self.extent.map_or(0, |e| e.0);
        let rel = |t: i64| seconds(t.saturating_sub(start));
        match (self.from, self.to) {
            (Some(a), Some(b)) => {
                format!("window {} – {} of the trace (ts {a} – {b})", rel(a), rel(b))
            }
            (Some(a), None) => format!(
                "window {} – the end of the trace (ts {a} and later)",
                rel(a)
            ),
            (None, Some(b)) => {
                format!("window the start of the trace – {} (ts before {b})", rel(b))
            }
            (None, None) => "no window".to_owned(),
        }
    }

    /// What was kept, kinds that the trace has: `4 of 8 slices, 0 of 1
    /// flows, 1 of 2 counter samples (1 the value in force at the start)`.
    pub fn counts(&self) -> String {
        let mut parts = Vec::new();
        let mut add = |k: Kept, what: &str| {
            if k.total > 0 {
                parts.push(format!("{} of {} {what}", k.kept, k.total));
            }
        };
        add(self.slices, "slices");
        add(self.flows, "flows");
        add(self.counters, "counter samples");
        add(self.requests, "requests");
        add(self.client_requests, "client records");
        add(self.iterations, "iterations");
        if self.in_force > 0 {
            if let Some(last) = parts.iter_mut().find(|p| p.ends_with("counter samples")) {
                last.push_str(&format!(
                    " ({} the value in force at the start)",
                    self.in_force
                ));
            }
        }
        if parts.is_empty() {
            "no records".to_owned()
        } else {
            parts.join(", ")
        }
    }

    /// Why the window holds nothing, for a warning: the trace's extent.
    pub fn extent_text(&self) -> String {
        match self.extent {
            Some((lo, hi)) => format!(
                "the trace spans {} – {} (ts {lo} – {hi})",
                seconds(0),
                seconds(hi.saturating_sub(lo))
            ),
            None => "the trace has no timed records".to_owned(),
        }
    }
}

/// A duration in ns as seconds: 3 decimals, more when they are needed to be
/// exact (`2.000 s`, `0.0015 s`, `-1.000 s`).
pub fn seconds(ns: i64) -> String {
    let sign = if ns < 0 { "-" } else { "" };
    let a = ns.unsigned_abs();
    let frac = format!("{:09}", a % 1_000_000_000);
    let frac = frac.trim_end_matches('0');
    let frac = if frac.len() < 3 {
        format!("{frac:0<3}")
    } else {
        frac.to_owned()
    };
    format!("{sign}{}.{frac} s", a / 1_000_000_000)
}

/// The earliest timestamp of a request (its start for a window).
fn request_start(r: &super::Request) -> Option<i64> {
    r.stamps.iter().filter_map(|s| s.get()).min()
}

/// Earliest and latest timestamp of everything in `trace`: slices (start
/// and end; profiler artifacts left out), counter samples, request stamps,
/// client records (start, first token, chunks, end) and iterations.
/// `None` when nothing has a time.
pub fn extent(trace: &Trace) -> Option<(i64, i64)> {
    let mut lo = i64::MAX;
    let mut hi = i64::MIN;
    let mut see = |a: i64, b: i64| {
        lo = lo.min(a);
        hi = hi.max(b);
    };
    if let Some((a, b)) = trace.time_range() {
        see(a, b);
    }
    for r in &trace.requests {
        for t in r.stamps.iter().filter_map(|s| s.get()) {
            see(t, t);
        }
    }
    for c in &trace.client_requests {
        let times = [c.start_ns, c.first_token_ns, c.end_ns];
        for t in times
            .into_iter()
            .flatten()
            .chain(c.chunk_ns.iter().copied())
        {
            see(t, t);
        }
    }
    for t in trace.iterations.iter().filter_map(|i| i.ts) {
        see(t, t);
    }
    (lo <= hi).then_some((lo, hi))
}

/// Which of `n` records to keep, and their new indexes: `prefix[i]` is the
/// number of kept records before `i` (the new index of a kept `i`), for
/// `i` in `0..=n`.
struct Keep {
    mask: Vec<bool>,
    prefix: Vec<u32>,
}

impl Keep {
    fn new(mask: Vec<bool>) -> Keep {
        let mut prefix = Vec::with_capacity(mask.len() + 1);
        let mut n = 0u32;
        for &k in &mask {
            prefix.push(n);
            n += k as u32;
        }
        prefix.push(n);
        Keep { mask, prefix }
    }

    fn kept(&self) -> Kept {
        Kept {
            kept: *self.prefix.last().unwrap_or(&0) as u64,
            total: self.mask.len() as u64,
        }
    }

    /// The new index of record `i`, when it is kept.
    fn map(&self, i: usize) -> Option<u32> {
        self.mask
            .get(i)
            .copied()
            .unwrap_or(false)
            .then(|| self.prefix[i])
    }

    fn slice(&self, id: SliceId) -> Option<SliceId> {
        self.map(id.index()).map(SliceId)
    }

    fn range(&self, r: &std::ops::Range<usize>) -> std::ops::Range<usize> {
        let at = |i: usize| self.prefix[i.min(self.mask.len())] as usize;
        at(r.start)..at(r.end)
    }

    /// Keeps the elements of `v` (in step with the mask) in place.
    fn retain<T>(&self, v: &mut Vec<T>) {
        let mut i = 0;
        v.retain(|_| {
            i += 1;
            self.mask[i - 1]
        });
    }
}

/// Keeps the records of `trace` that fall in `w` (see the module's rules)
/// and renumbers slices so that every reference — slice parents, flows,
/// GPU artifacts, requests' and client records' slices, the import
/// sources' ranges — stays consistent. Call it after alignment and before
/// the layout (a laid-out trace is laid out again, over the kept slices).
/// Stores and returns what it kept. Errors when `--to` is not after
/// `--from` once both are timestamps, or a bound leaves the range of
/// times.
pub fn apply(trace: &mut Trace, w: Window) -> Result<WindowSummary, String> {
    w.check()?;
    let ext = extent(trace);
    let start = ext.map_or(0, |e| e.0);
    let resolve = |b: Option<Bound>, opt: &str| -> Result<Option<i64>, String> {
        b.map(|b| {
            b.resolve(start)
                .filter(|t| t.abs() <= crate::time::MAX_ABS_NS)
                .ok_or_else(|| {
                    format!(
                        "{opt} {b}: leaves the range of times (±2^62 ns, about ±146 years) \
                         from the trace's start at ts {start}"
                    )
                })
        })
        .transpose()
    };
    let from = resolve(w.from, "--from")?;
    let to = resolve(w.to, "--to")?;
    if let (Some(a), Some(b)) = (from, to) {
        if b <= a {
            return Err(format!("{} (ts {b} is not after ts {a})", w.order_error()));
        }
    }
    let lo = from.unwrap_or(i64::MIN);
    let hi = to.unwrap_or(i64::MAX);
    let point_in = |t: i64| lo <= t && t < hi;
    let mut summary = WindowSummary {
        window: w,
        extent: ext,
        from,
        to,
        ..Default::default()
    };

    // Slices.
    let mut mask: Vec<bool> = trace
        .slices
        .iter()
        .map(|s| {
            if s.kind == SliceKind::Instant || s.dur == 0 {
                point_in(s.ts)
            } else {
                s.ts < hi && s.end() > lo
            }
        })
        .collect();
    // The launch of kept GPU work, wherever it lies: launch figures,
    // host_wait and queue lengths must not depend on where the window opens.
    let launches = super::gpu::launches(trace, &super::gpu::classify(trace));
    for (i, l) in launches.iter().enumerate() {
        if let Some(l) = l {
            if mask[i] {
                mask[l.index()] = true;
            }
        }
    }
    let keep = Keep::new(mask);
    summary.slices = keep.kept();
    keep.retain(&mut trace.slices);
    for s in &mut trace.slices {
        s.parent = s.parent.and_then(|p| keep.slice(p));
    }
    summary.flows.total = trace.flows.len() as u64;
    trace
        .flows
        .retain_mut(|f| match (keep.slice(f.from), keep.slice(f.to)) {
            (Some(a), Some(b)) => {
                f.from = a;
                f.to = b;
                true
            }
            _ => false,
        });
    summary.flows.kept = trace.flows.len() as u64;
    trace
        .gpu_artifacts
        .retain_mut(|a| match keep.slice(a.slice) {
            Some(s) => {
                a.slice = s;
                true
            }
            None => false,
        });
    for r in &mut trace.requests {
        for p in &mut r.parent_slice {
            *p = p.and_then(|p| keep.slice(p));
        }
    }
    for c in &mut trace.client_requests {
        c.slice = c.slice.and_then(|p| keep.slice(p));
    }
    let slice_keep = keep;

    // Counter samples: in the window, or the last before it on its track.
    let mut in_force: FxHashMap<TrackId, (i64, usize)> = FxHashMap::default();
    let opens_inside = from.is_some_and(|f| ext.is_some_and(|(_, end)| f < end));
    if opens_inside {
        for (i, c) in trace.counters.iter().enumerate() {
            if c.ts < lo {
                let e = in_force.entry(c.track).or_insert((c.ts, i));
                if c.ts >= e.0 {
                    *e = (c.ts, i);
                }
            }
        }
    }
    let keep = Keep::new(
        trace
            .counters
            .iter()
            .enumerate()
            .map(|(i, c)| point_in(c.ts) || in_force.get(&c.track).is_some_and(|e| e.1 == i))
            .collect(),
    );
    summary.counters = keep.kept();
    summary.in_force = in_force.len() as u64;
    keep.retain(&mut trace.counters);
    let counter_keep = keep;
    recount_metric_series(trace);

    // Domain records: by their start.
    let keep = Keep::new(
        trace
            .requests
            .iter()
            .map(|r| request_start(r).is_some_and(point_in))
            .collect(),
    );
    summary.requests = keep.kept();
    keep.retain(&mut trace.requests);
    let request_keep = keep;
    let keep = Keep::new(
        trace
            .client_requests
            .iter()
            .map(|c| c.start_ns.is_some_and(point_in))
            .collect(),
    );
    summary.client_requests = keep.kept();
    keep.retain(&mut trace.client_requests);
    let client_keep = keep;
    let keep = Keep::new(
        trace
            .iterations
            .iter()
            .map(|i| i.ts.is_some_and(point_in))
            .collect(),
    );
    summary.iterations = keep.kept();
    keep.retain(&mut trace.iterations);
    let iteration_keep = keep;

    for s in &mut trace.sources {
        s.slices = slice_keep.range(&s.slices);
        s.counters = counter_keep.range(&s.counters);
        s.requests = request_keep.range(&s.requests);
        s.client_requests = client_keep.range(&s.client_requests);
        s.iterations = iteration_keep.range(&s.iterations);
    }
    // A layout made before describes slices that may be gone: the next
    // reader lays the kept ones out again (on the lane tracks already made,
    // which nest as they are).
    trace.layout = None;
    trace.window = Some(summary.clone());
    Ok(summary)
}

/// Sets each metric series' `samples` and `resets` to what its counter
/// track holds now.
fn recount_metric_series(trace: &mut Trace) {
    if trace.metric_series.is_empty() {
        return;
    }
    // (samples, resets, last value) per track.
    let mut per: FxHashMap<TrackId, (u64, u64, f64)> = trace
        .metric_series
        .iter()
        .map(|m| (m.track, (0, 0, f64::NAN)))
        .collect();
    for c in &trace.counters {
        if let Some(e) = per.get_mut(&c.track) {
            if e.0 > 0 && c.value < e.2 {
                e.1 += 1;
            }
            e.0 += 1;
            e.2 = c.value;
        }
    }
    for m in &mut trace.metric_series {
        let (n, resets, _) = per[&m.track];
        m.samples = n;
        if m.monotonic {
            m.resets = resets;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Args, Counter, CounterUnit, Flow, Slice, Track, TrackKind};

    #[test]
    fn bounds_parse() {
        assert_eq!(Bound::parse("2s"), Ok(Bound::AfterStart(2_000_000_000)));
        assert_eq!(Bound::parse("1500us"), Ok(Bound::AfterStart(1_500_000)));
        assert_eq!(Bound::parse("0"), Ok(Bound::AfterStart(0)));
        assert_eq!(
            Bound::parse("ts=1700000000123456789"),
            Ok(Bound::At(1_700_000_000_123_456_789))
        );
        assert_eq!(Bound::parse("ts=-5"), Ok(Bound::At(-5)));
        assert_eq!(
            Bound::parse("ts=1700000000.5s"),
            Ok(Bound::At(1_700_000_000_500_000_000))
        );
        assert!(Bound::parse("-2s").unwrap_err().contains("negative"));
        assert!(Bound::parse("2 parsecs").is_err());
        assert!(Bound::parse("t=5").unwrap_err().contains("ts=NS"));
    }

    #[test]
    fn seconds_are_exact() {
        assert_eq!(seconds(2_000_000_000), "2.000 s");
        assert_eq!(seconds(2_500_000_000), "2.500 s");
        assert_eq!(seconds(1_500_000), "0.0015 s");
        assert_eq!(seconds(-1_000_000_000), "-1.000 s");
        assert_eq!(seconds(1), "0.000000001 s");
    }

    #[test]
    fn same_kind_bounds_out_of_order_are_refused() {
        let w = Window {
            from: Some(Bound::AfterStart(5)),
            to: Some(Bound::AfterStart(5)),
        };
        let e = w.check().unwrap_err();
        assert!(e.contains("--to") && e.contains("--from"), "{e}");
    }

    fn span(t: &mut Trace, track: TrackId, ts: i64, dur: i64, kind: SliceKind) -> SliceId {
        let name = t.intern("s");
        t.add_slice(Slice {
            ts,
            dur,
            track,
            name,
            category: None,
            args: Args::None,
            correlation: None,
            parent: None,
            depth: 0,
            kind,
        })
    }

    /// Slices at 100..: a [100, 200), b [150, 160) child of a, c [210, 220),
    /// instant d at 190, e [300, 301); a flow b → c, a flow a → b; counter
    /// samples at 100, 140, 170, 250.
    fn sample() -> Trace {
        let mut t = Trace::new();
        let n = t.intern("t");
        let tr = t.add_track(Track::new(n, None, TrackKind::Plain));
        let m = t.mark();
        let a = span(&mut t, tr, 100, 100, SliceKind::Span);
        let b = span(&mut t, tr, 150, 10, SliceKind::Span);
        t.slices[b.index()].parent = Some(a);
        let c = span(&mut t, tr, 210, 10, SliceKind::Span);
        span(&mut t, tr, 190, 0, SliceKind::Instant);
        span(&mut t, tr, 300, 1, SliceKind::Span);
        t.flows.push(Flow { from: b, to: c });
        t.flows.push(Flow { from: a, to: b });
        let cn = t.intern("c");
        let ct = t.add_track(Track::new(
            cn,
            None,
            TrackKind::Counter {
                unit: CounterUnit::Count,
            },
        ));
        for (ts, v) in [(100, 1.0), (140, 2.0), (170, 3.0), (250, 4.0)] {
            t.counters.push(Counter {
                track: ct,
                ts,
                value: v,
            });
        }
        t.record_source(vec![0], m);
        t
    }

    #[test]
    fn keeps_overlapping_slices_and_remaps_references() {
        let mut t = sample();
        // Relative 55..95 = ts 155..195.
        let s = apply(
            &mut t,
            Window {
                from: Some(Bound::AfterStart(55)),
                to: Some(Bound::AfterStart(95)),
            },
        )
        .unwrap();
        assert_eq!((s.from, s.to), (Some(155), Some(195)));
        // a overlaps, b overlaps [150, 160), instant 190 inside; c and e not.
        let ts: Vec<i64> = t.slices.iter().map(|s| s.ts).collect();
        assert_eq!(ts, vec![100, 150, 190]);
        assert_eq!(t.slices[1].parent, Some(SliceId(0)));
        assert_eq!(s.slices, Kept { kept: 3, total: 5 });
        // Only a → b survives (c is gone), renumbered.
        assert_eq!(
            t.flows,
            vec![Flow {
                from: SliceId(0),
                to: SliceId(1)
            }]
        );
        // 170 inside, 140 in force at 155; 100 and 250 not.
        let cs: Vec<i64> = t.counters.iter().map(|c| c.ts).collect();
        assert_eq!(cs, vec![140, 170]);
        assert_eq!(s.in_force, 1);
        assert_eq!(t.sources[0].slices, 0..3);
        assert_eq!(t.sources[0].counters, 0..2);
        assert!(!s.holds_nothing());
        assert_eq!(
            s.describe(),
            "window 0.000000055 s – 0.000000095 s of the trace (ts 155 – 195)"
        );
    }

    #[test]
    fn ends_are_half_open() {
        let mut t = sample();
        // [200, 210): a ends at 200 (out), c starts at 210 (out).
        let s = apply(
            &mut t,
            Window {
                from: Some(Bound::At(200)),
                to: Some(Bound::At(210)),
            },
        )
        .unwrap();
        assert_eq!(s.slices.kept, 0);
        // Only the sample in force (170) is kept: nothing in the window.
        assert_eq!(t.counters.len(), 1);
        assert!(s.holds_nothing());
    }

    #[test]
    fn a_window_past_the_end_keeps_nothing() {
        let mut t = sample();
        let s = apply(
            &mut t,
            Window {
                from: Some(Bound::AfterStart(1_000_000)),
                to: None,
            },
        )
        .unwrap();
        assert!(s.holds_nothing());
        assert!(t.slices.is_empty() && t.counters.is_empty() && t.flows.is_empty());
        assert!(
            s.extent_text().contains("ts 100 – 301"),
            "{}",
            s.extent_text()
        );
    }

    #[test]
    fn mixed_bounds_out_of_order_are_refused_after_resolving() {
        let mut t = sample();
        let e = apply(
            &mut t,
            Window {
                from: Some(Bound::AfterStart(50)),
                to: Some(Bound::At(150)),
            },
        )
        .unwrap_err();
        assert!(e.contains("--to ts=150") && e.contains("--from"), "{e}");
    }

    #[test]
    fn metric_series_count_their_kept_samples_and_resets() {
        use crate::model::{MetricSeries, MetricType};
        let build = || {
            let mut t = Trace::new();
            let n = t.intern("x_total");
            let track = t.add_track(Track::new(
                n,
                None,
                TrackKind::Counter {
                    unit: CounterUnit::Count,
                },
            ));
            // A counter reset between 10 and 20 ns (10 → 3).
            for (ts, v) in [(0, 5.0), (10, 10.0), (20, 3.0), (30, 4.0), (40, 8.0)] {
                t.counters.push(Counter {
                    track,
                    ts,
                    value: v,
                });
            }
            t.metric_series.push(MetricSeries {
                input: 0,
                track,
                rate_track: None,
                metric: "x_total".into(),
                family: "x".into(),
                labels: vec![],
                kind: MetricType::Counter,
                monotonic: true,
                help: None,
                samples: 5,
                resets: 1,
            });
            t
        };
        let window = |from, to| Window {
            from: Some(Bound::At(from)),
            to: Some(Bound::At(to)),
        };
        // [15, 35): 10 in force, 20 and 30 inside; the reset is kept.
        let mut t = build();
        apply(&mut t, window(15, 35)).unwrap();
        assert_eq!(
            (t.metric_series[0].samples, t.metric_series[0].resets),
            (3, 1)
        );
        // [25, 45): 20 in force, 30 and 40: no reset.
        let mut t = build();
        apply(&mut t, window(25, 45)).unwrap();
        assert_eq!(
            (t.metric_series[0].samples, t.metric_series[0].resets),
            (3, 0)
        );
    }
}
