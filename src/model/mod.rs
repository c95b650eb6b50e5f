//! The in-memory trace every output reads.
//!
//! Importers (`crate::ingest`) fill a [`Trace`]; [`layout::lay_out`] assigns
//! slices to overlap-free lane tracks and computes nesting; the Perfetto
//! writer, the SQL loader, `stats` and `report` only read it.
//!
//! Times are integer nanoseconds (`i64`) in the clock domain of the input
//! they came from; nothing here converts or rebases them.

pub mod align;
pub mod client;
pub mod gpu;
pub mod iteration;
pub mod layout;
pub mod metric;
pub mod queue_length;
pub mod request;
pub mod strings;
pub mod window;

use std::collections::BTreeMap;

pub use client::{ClientError, ClientRequest, ClientSource, ClientStatus, Metric, MetricValue};
pub use iteration::Iteration;
pub use metric::{MetricSeries, MetricType};
pub use request::{Field, Request, RequestKind, Side, Stamp, WorkerField};
pub use strings::{StrId, Strings};

/// Index of a track in [`Trace::tracks`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TrackId(pub u32);

/// Index of a slice in [`Trace::slices`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SliceId(pub u32);

impl TrackId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

impl SliceId {
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// What kind of Perfetto track a [`Track`] becomes.
#[derive(Clone, Debug, PartialEq)]
pub enum TrackKind {
    /// A named track: a group (server role, server address) or a slice track.
    Plain,
    /// A process (timeline inputs). `pid` is the Perfetto pid we chose.
    Process {
        pid: i32,
        labels: Vec<String>,
        sort_index: Option<i32>,
    },
    /// A thread of a process (CPU thread, or GPU stream in timeline inputs).
    Thread {
        pid: i32,
        tid: i64,
        sort_index: Option<i32>,
    },
    /// A counter track; values in [`Trace::counters`].
    Counter { unit: CounterUnit },
}

/// Unit of a counter track, as Perfetto's CounterDescriptor knows them.
#[derive(Clone, Debug, PartialEq)]
pub enum CounterUnit {
    Count,
    Bytes,
    TimeNs,
    /// Free-form unit name (e.g. "ms", "%", "blocks").
    Other(String),
}

/// How slices on a track avoid crossing each other.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LanePolicy {
    /// Slices nest like a call stack. A slice that would cross an open one
    /// moves to the first lane where it nests; lane 0 is the track itself,
    /// further lanes are child tracks with the same name (timeline threads).
    Nest,
    /// Each top-level slice, with its descendants, needs a lane to itself for
    /// its whole time range (one request per lane at a time). All lanes are
    /// child tracks sharing one name; the track itself holds no slices.
    Exclusive,
}

#[derive(Clone, Debug)]
pub struct Track {
    pub name: StrId,
    pub parent: Option<TrackId>,
    pub kind: TrackKind,
    pub lanes: LanePolicy,
    /// Name given to lane tracks under an [`LanePolicy::Exclusive`] track.
    pub lane_name: Option<StrId>,
    /// Help text shown by the Perfetto UI.
    pub description: Option<String>,
    /// Position among siblings when the parent orders children explicitly.
    pub rank: Option<i32>,
    /// Children are ordered by their `rank`.
    pub explicit_child_order: bool,
    /// Set on lane tracks made by the layout: (logical track, lane index).
    pub lane_of: Option<(TrackId, u32)>,
}

impl Track {
    pub fn new(name: StrId, parent: Option<TrackId>, kind: TrackKind) -> Self {
        Track {
            name,
            parent,
            kind,
            lanes: LanePolicy::Nest,
            lane_name: None,
            description: None,
            rank: None,
            explicit_child_order: false,
            lane_of: None,
        }
    }
}

/// Arguments of a slice: none, a range of [`Trace::args`], or raw JSON text
/// in one of [`Trace::blobs`] (kept unparsed until an output needs it).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Args {
    #[default]
    None,
    List {
        start: u32,
        len: u32,
    },
    /// A JSON object: `blobs[blob][start..start + len]`.
    Raw {
        blob: u32,
        start: u64,
        len: u32,
    },
}

#[derive(Clone, Debug, PartialEq)]
pub enum ArgValue {
    Int(i64),
    Uint(u64),
    Real(f64),
    Bool(bool),
    Str(String),
}

impl From<i64> for ArgValue {
    fn from(v: i64) -> Self {
        ArgValue::Int(v)
    }
}
impl From<u64> for ArgValue {
    fn from(v: u64) -> Self {
        ArgValue::Uint(v)
    }
}
impl From<f64> for ArgValue {
    fn from(v: f64) -> Self {
        ArgValue::Real(v)
    }
}
impl From<bool> for ArgValue {
    fn from(v: bool) -> Self {
        ArgValue::Bool(v)
    }
}
impl From<&str> for ArgValue {
    fn from(v: &str) -> Self {
        ArgValue::Str(v.to_owned())
    }
}
impl From<String> for ArgValue {
    fn from(v: String) -> Self {
        ArgValue::Str(v)
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Arg {
    pub key: StrId,
    pub value: ArgValue,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SliceKind {
    /// A slice with a duration (which may be 0).
    Span,
    /// A point event (Perfetto INSTANT).
    Instant,
}

#[derive(Clone, Debug)]
pub struct Slice {
    pub ts: i64,
    /// Duration in ns, never negative.
    pub dur: i64,
    /// Before layout: the logical track. After: the lane track.
    pub track: TrackId,
    pub name: StrId,
    pub category: Option<StrId>,
    pub args: Args,
    /// Groups all slices of one request (Perfetto `correlation_id`).
    pub correlation: Option<u64>,
    /// Before layout: the intended parent (slices of one request on one
    /// role). After: the slice it actually nests in on its lane.
    pub parent: Option<SliceId>,
    /// Nesting depth on the lane; set by the layout.
    pub depth: u32,
    pub kind: SliceKind,
}

impl Slice {
    /// `ts + dur`. Importers reject slices whose end leaves the i64 range;
    /// saturating keeps a model built by other code from panicking.
    pub fn end(&self) -> i64 {
        self.ts.saturating_add(self.dur)
    }
}

/// A causal arrow between two slices.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Flow {
    pub from: SliceId,
    pub to: SliceId,
}

#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Counter {
    pub track: TrackId,
    pub ts: i64,
    pub value: f64,
}

/// Where in an input a record sits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Location {
    /// The whole input.
    File,
    /// 0-based index in a JSON array (or event list).
    Index(u64),
    /// 1-based line of a JSONL file.
    Line(u64),
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Location::File => write!(f, "file"),
            Location::Index(i) => write!(f, "record {i}"),
            Location::Line(l) => write!(f, "line {l}"),
        }
    }
}

/// A missing or inconsistent value that did not stop the import.
#[derive(Clone, Debug, PartialEq)]
pub struct Warning {
    /// Short machine-readable kind, e.g. `null_timestamp`.
    pub kind: &'static str,
    /// Index into [`Provenance::inputs`].
    pub input: u32,
    pub location: Location,
    /// JSON path of the field, e.g. `ctx_perf_metrics.perf_metrics.timing_metrics.arrival_time`.
    pub field: String,
    pub message: String,
}

/// Warnings, counted by kind; details are kept for the first
/// [`Warnings::DETAIL_LIMIT`] of each kind so a bad multi-GB input cannot
/// exhaust memory with warnings.
#[derive(Clone, Debug, Default)]
pub struct Warnings {
    pub list: Vec<Warning>,
    pub counts: BTreeMap<&'static str, u64>,
}

impl Warnings {
    pub const DETAIL_LIMIT: u64 = 10_000;

    pub fn push(&mut self, w: Warning) {
        let n = self.counts.entry(w.kind).or_insert(0);
        *n += 1;
        if *n <= Self::DETAIL_LIMIT {
            self.list.push(w);
        }
    }

    /// Counts `n` occurrences of `kind` without keeping details.
    pub fn count(&mut self, kind: &'static str, n: u64) {
        if n > 0 {
            *self.counts.entry(kind).or_insert(0) += n;
        }
    }

    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }

    pub fn get(&self, kind: &str) -> u64 {
        self.counts.get(kind).copied().unwrap_or(0)
    }
}

/// One input file as the trace remembers it.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct InputInfo {
    /// The path as given on the command line. Used in messages on this
    /// machine only: a trace records [`InputInfo::name`] instead (see
    /// `perfetto` "Provenance").
    pub path: String,
    /// The file name without its directories (`-` for standard input).
    pub name: String,
    /// SHA-256 of the bytes as read (on disk, so compressed for `.gz`),
    /// 64 lowercase hex digits: what `sha256sum FILE` prints.
    pub sha256: String,
    /// Format name (see `ingest::Format::name`).
    pub format: String,
    /// Bytes as read from disk (compressed size for `.gz`).
    pub bytes: u64,
    /// Bytes after inflating gzip (equal to `bytes` for plain files).
    pub raw_bytes: u64,
    /// Records (requests, events, iterations) read from it.
    pub records: u64,
    /// Added to every timestamp of this input by `--shift`/`--align` (ns).
    pub time_shift_ns: i64,
    /// The alignment option that moved this input, if any.
    pub anchor: Option<align::Anchor>,
    /// What wrote the input, when it says (`Nsight Systems 2022.2.1.31,
    /// export schema 2.9.1, ...`), for `info`.
    pub producer: Option<String>,
    /// Distributed rank the input says it recorded: Kineto's top-level
    /// `distributedInfo.rank`. `None` when the input does not say.
    pub rank: Option<i64>,
    /// Host and process id of the server that wrote the input: from a
    /// TensorRT-LLM `perf_metrics-{kind}-{host}-{pid}-{stamp}.jsonl` file name.
    pub host: Option<String>,
    pub pid: Option<i64>,
}

/// How much a written trace tells about the run that made it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProvenanceDetail {
    /// Input file names, sizes and SHA-256, the tool version and the
    /// options that change the output; no paths, no command line.
    #[default]
    Minimal,
    /// All of `Minimal` plus the full command line as typed (which may hold
    /// absolute paths, hence user and host names).
    Full,
}

impl ProvenanceDetail {
    /// The name used by `--provenance` and in the trace.
    pub fn name(self) -> &'static str {
        match self {
            ProvenanceDetail::Minimal => "minimal",
            ProvenanceDetail::Full => "full",
        }
    }

    pub fn from_name(name: &str) -> Option<ProvenanceDetail> {
        match name {
            "minimal" => Some(ProvenanceDetail::Minimal),
            "full" => Some(ProvenanceDetail::Full),
            _ => None,
        }
    }
}

/// What produced the trace.
#[derive(Clone, Debug, Default)]
pub struct Provenance {
    pub tool_version: String,
    /// The process's arguments; written to a trace only with
    /// [`ProvenanceDetail::Full`].
    pub command_line: Vec<String>,
    pub inputs: Vec<InputInfo>,
    /// The input format forced with `--input-format`/`--format`, if any.
    pub forced_format: Option<String>,
    /// `--salvage` was given.
    pub salvage: bool,
    /// `--no-queue-length` was given (GPU streams got no queue-length track).
    pub no_queue_length: bool,
    /// How much of this a written trace records.
    pub detail: ProvenanceDetail,
}

/// The whole in-memory trace.
#[derive(Debug, Default)]
pub struct Trace {
    pub strings: Strings,
    pub tracks: Vec<Track>,
    pub slices: Vec<Slice>,
    pub args: Vec<Arg>,
    /// Raw input buffers that [`Args::Raw`] point into.
    pub blobs: Vec<String>,
    pub flows: Vec<Flow>,
    pub counters: Vec<Counter>,
    pub requests: Vec<Request>,
    /// Server iteration statistics (TensorRT-LLM `/metrics`).
    pub iterations: Vec<Iteration>,
    /// Client benchmark records (aiperf, vLLM bench).
    pub client_requests: Vec<ClientRequest>,
    /// Metric series (Prometheus inputs); their samples are in `counters`.
    pub metric_series: Vec<MetricSeries>,
    /// Which inputs each import call read and what it appended (for
    /// per-input time alignment, see [`align`]).
    pub sources: Vec<align::Source>,
    pub warnings: Warnings,
    /// GPU work a stream cannot have executed as recorded (see [`gpu`]).
    pub gpu_artifacts: Vec<gpu::Artifact>,
    pub provenance: Provenance,
    /// Filled by [`layout::lay_out`].
    pub layout: Option<layout::Layout>,
    /// The time window applied by [`window::apply`], if any.
    pub window: Option<window::WindowSummary>,
}

impl Trace {
    pub fn new() -> Self {
        Trace {
            provenance: Provenance {
                tool_version: env!("CARGO_PKG_VERSION").to_owned(),
                ..Default::default()
            },
            ..Default::default()
        }
    }

    pub fn intern(&mut self, s: &str) -> StrId {
        self.strings.intern(s)
    }

    pub fn str(&self, id: StrId) -> &str {
        self.strings.resolve(id)
    }

    pub fn track(&self, id: TrackId) -> &Track {
        &self.tracks[id.index()]
    }

    /// The order of trace processor's slice ids (the SQL `slice.id`): by
    /// `ts`, longer first, shallower first, then model index. "The first"
    /// of several slices means the smallest of this key everywhere.
    pub fn id_order_key(&self, i: usize) -> (i64, std::cmp::Reverse<i64>, u32, usize) {
        let s = &self.slices[i];
        (s.ts, std::cmp::Reverse(s.dur), s.depth, i)
    }

    pub fn slice(&self, id: SliceId) -> &Slice {
        &self.slices[id.index()]
    }

    pub fn add_track(&mut self, track: Track) -> TrackId {
        let id = TrackId(self.tracks.len() as u32);
        self.tracks.push(track);
        id
    }

    /// Adds a slice. `dur` must not be negative: importers turn reversed
    /// pairs into warnings before they get here.
    pub fn add_slice(&mut self, slice: Slice) -> SliceId {
        debug_assert!(slice.dur >= 0, "negative duration");
        let id = SliceId(u32::try_from(self.slices.len()).expect("fewer than 2^32 slices"));
        self.slices.push(slice);
        id
    }

    /// Stores `args` and returns the range referring to them.
    pub fn add_args(&mut self, args: impl IntoIterator<Item = (StrId, ArgValue)>) -> Args {
        let start = self.args.len();
        self.args
            .extend(args.into_iter().map(|(key, value)| Arg { key, value }));
        let len = self.args.len() - start;
        if len == 0 {
            Args::None
        } else {
            Args::List {
                start: start as u32,
                len: len as u32,
            }
        }
    }

    /// The stored args of a [`Args::List`] (empty for the other kinds).
    pub fn arg_list(&self, args: Args) -> &[Arg] {
        match args {
            Args::List { start, len } => &self.args[start as usize..(start + len) as usize],
            _ => &[],
        }
    }

    /// The raw JSON text of a [`Args::Raw`].
    pub fn raw_args(&self, args: Args) -> Option<&str> {
        match args {
            Args::Raw { blob, start, len } => {
                let b = &self.blobs[blob as usize];
                Some(&b[start as usize..start as usize + len as usize])
            }
            _ => None,
        }
    }

    /// Earliest and latest instant covered by slices and counters.
    /// Profiler artifacts ([`gpu::Artifact`]) are left out: a `ts: 0`
    /// kernel would otherwise stretch the range over decades.
    pub fn time_range(&self) -> Option<(i64, i64)> {
        let artifacts = self.artifact_slices();
        let s = self
            .slices
            .iter()
            .enumerate()
            .filter(|(i, _)| !artifacts.contains(&(*i as u32)))
            .map(|(_, s)| (s.ts, s.end()));
        let c = self.counters.iter().map(|c| (c.ts, c.ts));
        s.chain(c)
            .fold(None, |acc: Option<(i64, i64)>, (a, b)| match acc {
                None => Some((a, b)),
                Some((lo, hi)) => Some((lo.min(a), hi.max(b))),
            })
    }

    /// Model indexes of the slices that are profiler artifacts.
    pub fn artifact_slices(&self) -> rustc_hash::FxHashSet<u32> {
        self.gpu_artifacts.iter().map(|a| a.slice.0).collect()
    }

    /// The input that produced the slice at model index `slice`: `None` when
    /// it came from an import call that read several inputs together
    /// (TensorRT-LLM perf-metrics files are merged) or from none.
    pub fn input_of_slice(&self, slice: usize) -> Option<u32> {
        self.sources
            .iter()
            .find(|s| s.slices.contains(&slice))
            .and_then(|s| single(&s.inputs))
    }

    /// The input that created `track` (for a lane track, its logical
    /// track's); `None` as for [`Trace::input_of_slice`].
    pub fn input_of_track(&self, track: usize) -> Option<u32> {
        let t = self.tracks.get(track)?;
        let logical = t.lane_of.map_or(track, |(l, _)| l.index());
        self.sources
            .iter()
            .find(|s| s.tracks.contains(&logical))
            .and_then(|s| single(&s.inputs))
    }

    /// The chain of ancestors of `track`, innermost first, including itself.
    pub fn track_path(&self, track: TrackId) -> Vec<TrackId> {
        let mut out = vec![track];
        let mut t = track;
        while let Some(p) = self.track(t).parent {
            out.push(p);
            t = p;
        }
        out
    }
}

/// The one input of a list that has exactly one.
fn single(inputs: &[u32]) -> Option<u32> {
    match inputs {
        [i] => Some(*i),
        _ => None,
    }
}
