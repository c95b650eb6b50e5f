//! Per-input time alignment (`convert --shift/--align/--align-start`).
//!
//! Every input keeps its own clock (DESIGN.md "Time"): aiperf is Unix-epoch
//! ns, vLLM bench is `perf_counter` seconds, TensorRT-LLM perf metrics are
//! steady-clock seconds, iteration stats are wall-clock strings. Nothing
//! relates these clocks, so putting them on one timeline is the user's call:
//! an [`Alignment`] adds one constant per input to every timestamp that input
//! produced (slices, counters and the domain records), never anything else.
//!
//! Inputs that one importer reads together (TensorRT-LLM perf-metrics files
//! are merged and de-duplicated across files) share one clock and move
//! together: they must be given the same alignment.

use std::collections::BTreeMap;
use std::ops::Range;

use super::{Stamp, Trace};

/// What one import call appended to the trace, and which inputs it read.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Source {
    pub inputs: Vec<u32>,
    pub slices: Range<usize>,
    pub counters: Range<usize>,
    pub requests: Range<usize>,
    pub iterations: Range<usize>,
    pub client_requests: Range<usize>,
    /// Tracks the import call added (lane tracks the layout adds later are
    /// not in any source; their logical track is).
    pub tracks: Range<usize>,
}

/// Lengths of the trace's tables before an import, see [`Trace::mark`].
#[derive(Clone, Copy, Debug)]
pub struct Mark([usize; 6]);

impl Mark {
    /// The number of slices the trace had at the mark.
    pub fn slices(self) -> usize {
        self.0[0]
    }

    /// The number of tracks the trace had at the mark.
    pub fn tracks(self) -> usize {
        self.0[5]
    }
}

impl Trace {
    /// Remembers where the tables end, before an import call.
    pub fn mark(&self) -> Mark {
        Mark([
            self.slices.len(),
            self.counters.len(),
            self.requests.len(),
            self.iterations.len(),
            self.client_requests.len(),
            self.tracks.len(),
        ])
    }

    /// Records that `inputs` produced everything appended since `mark`.
    pub fn record_source(&mut self, inputs: Vec<u32>, mark: Mark) {
        let m = mark.0;
        self.sources.push(Source {
            inputs,
            slices: m[0]..self.slices.len(),
            counters: m[1]..self.counters.len(),
            requests: m[2]..self.requests.len(),
            iterations: m[3]..self.iterations.len(),
            client_requests: m[4]..self.client_requests.len(),
            tracks: m[5]..self.tracks.len(),
        });
    }
}

/// How to move one input in time.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// Add this many ns to every timestamp.
    Shift(i64),
    /// Shift so that the input's earliest event sits at this time (ns).
    StartAt(i64),
}

/// Per-input anchors, plus a default for inputs without one.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Alignment {
    pub per_input: BTreeMap<u32, Anchor>,
    /// Applies to inputs not in `per_input` (`--align-start` = `StartAt(0)`).
    pub default: Option<Anchor>,
}

impl Alignment {
    pub fn is_empty(&self) -> bool {
        self.per_input.is_empty() && self.default.is_none()
    }
}

/// The earliest timestamp of a source (slices, counters, domain records).
/// Profiler artifacts (a `ts: 0` kernel) do not count.
fn first_event(trace: &Trace, s: &Source) -> Option<i64> {
    let artifacts = trace.artifact_slices();
    let slices = s
        .slices
        .clone()
        .filter(|i| !artifacts.contains(&(*i as u32)))
        .map(|i| trace.slices[i].ts);
    let counters = trace.counters[s.counters.clone()].iter().map(|c| c.ts);
    let iters = trace.iterations[s.iterations.clone()]
        .iter()
        .filter_map(|i| i.ts);
    let clients = trace.client_requests[s.client_requests.clone()]
        .iter()
        .filter_map(|c| c.start_ns);
    let requests = trace.requests[s.requests.clone()]
        .iter()
        .flat_map(|r| r.stamps.iter().filter_map(|st| st.get()));
    slices
        .chain(counters)
        .chain(iters)
        .chain(clients)
        .chain(requests)
        .min()
}

/// Applies `a` to `trace` (before layout). Returns the shift applied to each
/// input (also stored in `Provenance::inputs[i].time_shift_ns`). Errors when
/// inputs read together are given different anchors, or a shift overflows.
pub fn apply(trace: &mut Trace, a: &Alignment) -> Result<Vec<i64>, String> {
    let n_inputs = trace.provenance.inputs.len();
    if let Some(&bad) = a.per_input.keys().find(|&&i| i as usize >= n_inputs) {
        return Err(format!(
            "input {bad} does not exist (inputs are numbered 0..{} in command-line order)",
            n_inputs
        ));
    }
    let mut shifts = vec![0i64; n_inputs];
    if a.is_empty() {
        return Ok(shifts);
    }
    let sources = trace.sources.clone();
    for s in &sources {
        let anchors: Vec<Option<Anchor>> = s
            .inputs
            .iter()
            .map(|i| a.per_input.get(i).copied().or(a.default))
            .collect();
        let Some(first_anchor) = anchors.first().copied() else {
            continue;
        };
        if anchors.iter().any(|x| *x != first_anchor) {
            let list: Vec<String> = s.inputs.iter().map(|i| i.to_string()).collect();
            return Err(format!(
                "inputs {} are read together (one format, one clock) and must get the same alignment",
                list.join(", ")
            ));
        }
        let Some(anchor) = first_anchor else {
            continue;
        };
        for &i in &s.inputs {
            trace.provenance.inputs[i as usize].anchor = Some(anchor);
        }
        let delta = match anchor {
            Anchor::Shift(d) => d,
            Anchor::StartAt(at) => match first_event(trace, s) {
                Some(first) => at
                    .checked_sub(first)
                    .ok_or_else(|| "alignment offset out of range".to_owned())?,
                None => 0,
            },
        };
        if delta == 0 {
            continue;
        }
        shift_source(trace, s, delta)?;
        for &i in &s.inputs {
            shifts[i as usize] = delta;
            trace.provenance.inputs[i as usize].time_shift_ns = delta;
        }
    }
    Ok(shifts)
}

fn shift_source(trace: &mut Trace, s: &Source, d: i64) -> Result<(), String> {
    // Shifted times stay within the limit every input's times keep (±2^62
    // ns), so spans and sums of two times still cannot overflow.
    let add = |t: i64| {
        crate::time::add_ns(t, d).ok_or_else(|| {
            format!(
                "shifting {t} ns by {d} ns leaves the range of times (±2^62 ns, about ±146 years)"
            )
        })
    };
    for x in &mut trace.slices[s.slices.clone()] {
        x.ts = add(x.ts)?;
    }
    for c in &mut trace.counters[s.counters.clone()] {
        c.ts = add(c.ts)?;
    }
    for r in &mut trace.requests[s.requests.clone()] {
        for st in r.stamps.iter_mut() {
            if let Stamp::At(t) | Stamp::NonStreaming(t) = st {
                *t = add(*t)?;
            }
        }
    }
    for it in &mut trace.iterations[s.iterations.clone()] {
        if let Some(t) = it.ts.as_mut() {
            *t = add(*t)?;
        }
    }
    for c in &mut trace.client_requests[s.client_requests.clone()] {
        for t in [&mut c.start_ns, &mut c.end_ns, &mut c.first_token_ns]
            .into_iter()
            .flatten()
        {
            *t = add(*t)?;
        }
        for t in &mut c.chunk_ns {
            *t = add(*t)?;
        }
    }
    Ok(())
}

/// Parses a signed duration: an integer or decimal with an optional unit
/// `ns` (default), `us` (or `µs`), `ms`, `s`, `min` or `h`, e.g. `-1.5s`,
/// `250ms`, `-2h`, `1000`. Exact: decimals are converted from their text
/// (no float rounding); `1.5h` is 5 400 000 000 000 ns.
pub fn parse_duration(text: &str) -> Result<i64, String> {
    use crate::time::{to_ns, Unit};
    let t = text.trim();
    let bad = |e: String| format!("bad duration `{text}`: {e}");
    // The unit is what follows the number: from the first letter that is
    // not an exponent's `e` (so `1e3s` is 1000 s and `2parsecs` names an
    // unknown unit rather than a bad number).
    let split = t
        .char_indices()
        .find(|&(_, c)| c.is_alphabetic() && c != 'e' && c != 'E')
        .map_or(t.len(), |(i, _)| i);
    let (num, unit) = t.split_at(split);
    let num = num.trim();
    let num = num.strip_prefix('+').unwrap_or(num);
    if num.is_empty() {
        return Err(bad(
            "no number (write a number, then optionally a unit: 2s, 1500ms, 250us, 1.5h)".into(),
        ));
    }
    // Minutes and hours: seconds scaled exactly by an integer factor.
    let (unit, factor) = match unit.trim() {
        "" | "ns" => (Unit::Nanos, 1i64),
        "us" | "µs" => (Unit::Micros, 1),
        "ms" => (Unit::Millis, 1),
        "s" => (Unit::Seconds, 1),
        "min" => (Unit::Seconds, 60),
        "h" => (Unit::Seconds, 3600),
        other => {
            return Err(bad(format!(
                "unknown unit `{other}` (units: ns, us, ms, s, min, h; no unit means ns)"
            )))
        }
    };
    let v = to_ns(num, unit).map_err(|e| {
        bad(format!(
            "{e} (units: ns, us, ms, s, min, h; no unit means ns)"
        ))
    })?;
    v.checked_mul(factor)
        .filter(|v| v.abs() <= crate::time::MAX_ABS_NS)
        .ok_or_else(|| bad("out of range (times are limited to ±2^62 ns)".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Counter, Track, TrackKind};

    #[test]
    fn durations() {
        assert_eq!(parse_duration("1000"), Ok(1000));
        assert_eq!(parse_duration("-1.5s"), Ok(-1_500_000_000));
        assert_eq!(parse_duration("+250ms"), Ok(250_000_000));
        assert_eq!(parse_duration("3us"), Ok(3000));
        assert!(parse_duration("abc").is_err());
        assert_eq!(parse_duration("1e3s"), Ok(1_000_000_000_000));
        assert_eq!(parse_duration("1.5min"), Ok(90_000_000_000));
        assert_eq!(parse_duration("-2h"), Ok(-7_200_000_000_000));
        assert_eq!(parse_duration("2 ms"), Ok(2_000_000));
        let e = parse_duration("2parsecs").unwrap_err();
        assert!(e.contains("unknown unit `parsecs`"), "{e}");
        assert!(parse_duration("5sec")
            .unwrap_err()
            .contains("unknown unit `sec`"));
        assert_eq!(parse_duration("-2h"), Ok(-7_200_000_000_000));
        assert_eq!(parse_duration("1.5min"), Ok(90_000_000_000));
        assert_eq!(parse_duration("0.5h"), Ok(1_800_000_000_000));
    }

    #[test]
    fn start_at_and_shift_per_source() {
        let mut t = Trace::new();
        t.provenance.inputs = vec![Default::default(), Default::default()];
        let name = t.intern("c");
        let track = t.add_track(Track::new(
            name,
            None,
            TrackKind::Counter {
                unit: crate::model::CounterUnit::Count,
            },
        ));
        for (input, ts) in [(0u32, [500i64, 700]), (1, [10, 40])] {
            let m = t.mark();
            for x in ts {
                t.counters.push(Counter {
                    track,
                    ts: x,
                    value: 1.0,
                });
            }
            t.record_source(vec![input], m);
        }
        let mut a = Alignment {
            default: Some(Anchor::StartAt(0)),
            ..Default::default()
        };
        a.per_input.insert(1, Anchor::Shift(-5));
        assert_eq!(apply(&mut t, &a), Ok(vec![-500, -5]));
        let ts: Vec<i64> = t.counters.iter().map(|c| c.ts).collect();
        assert_eq!(ts, vec![0, 200, 5, 35]);
        assert_eq!(t.provenance.inputs[0].time_shift_ns, -500);
    }
}
