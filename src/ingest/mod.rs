//! Inputs → [`Trace`]. One module per input format; formats are detected
//! from content, never from file names.

pub mod aiperf;
pub mod breakdown_db;
pub mod chrome_json;
pub mod chunked;
pub mod client;
pub mod iter_stats;
pub mod jsonrec;
pub mod nsys;
pub mod perfetto_proto;
pub mod prometheus;
pub mod trtllm;
pub mod vllm;

use std::io::Read;
use std::path::{Path, PathBuf};

use crate::error::{Error, InputError, Position, Result};
use crate::model::{InputInfo, Trace};

/// An input format breakdown-trace reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Format {
    /// TensorRT-LLM per-request perf metrics: `/perf_metrics` JSON arrays,
    /// benchmark_serving's `*-perf_metrics.json`, and `perf_metrics-*.jsonl`.
    TrtllmPerfMetrics,
    /// TensorRT-LLM iteration statistics (`GET /metrics` JSON arrays).
    TrtllmIterationStats,
    /// aiperf per-request export (`profile_export.jsonl`), both schemas.
    Aiperf,
    /// `vllm bench serve --save-detailed` result JSON.
    VllmBench,
    /// Chrome trace-event JSON from Kineto / the PyTorch profiler / RTP-LLM
    /// `gen_timeline`: `{"traceEvents": [...]}` or a bare event array.
    ChromeJson,
    /// Nsight Systems SQLite export (`nsys export --type sqlite`), detected
    /// by its tables.
    NsysSqlite,
    /// Prometheus metrics: the text exposition format (one or many scrapes)
    /// or an HTTP API `query` / `query_range` JSON result.
    Prometheus,
    /// Perfetto protobuf traces (`.pftrace`): TrackEvent data of any
    /// producer, and ours read back (see [`perfetto_proto`]).
    PerfettoProto,
    /// A SQLite database written by `db` (see [`breakdown_db`]).
    BreakdownDb,
}

impl Format {
    pub const ALL: &'static [Format] = &[
        Format::TrtllmPerfMetrics,
        Format::TrtllmIterationStats,
        Format::Aiperf,
        Format::VllmBench,
        Format::ChromeJson,
        Format::NsysSqlite,
        Format::Prometheus,
        Format::PerfettoProto,
        Format::BreakdownDb,
    ];

    /// Name used on the command line and in `info`.
    pub fn name(self) -> &'static str {
        match self {
            Format::TrtllmPerfMetrics => "trtllm-perf-metrics",
            Format::TrtllmIterationStats => "trtllm-iteration-stats",
            Format::Aiperf => "aiperf",
            Format::VllmBench => "vllm-bench",
            Format::ChromeJson => "chrome-json",
            Format::NsysSqlite => "nsys-sqlite",
            Format::Prometheus => "prometheus",
            Format::PerfettoProto => "perfetto-proto",
            Format::BreakdownDb => "breakdown-db",
        }
    }

    pub fn from_name(name: &str) -> Option<Format> {
        Format::ALL.iter().copied().find(|f| f.name() == name)
    }
}

/// How standard input (the input path `-`) is named in messages and in the
/// trace's provenance.
pub const STDIN_NAME: &str = "<stdin>";

/// An input file read into memory (gzip already inflated).
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    pub bytes: Vec<u8>,
    /// Size on disk.
    pub disk_bytes: u64,
    /// SHA-256 of the bytes on disk (before inflating gzip).
    pub sha256: [u8; 32],
}

impl Input {
    /// Reads `path`, inflating it if it starts with the gzip magic.
    pub fn read(path: &Path) -> Result<Input> {
        Input::read_with(path, false)
    }

    /// Like [`Input::read`]; with `salvage`, a gzip stream that ends early
    /// keeps what inflated before the cut (the JSON importers then keep its
    /// complete records).
    ///
    /// The path `-` is standard input (named `<stdin>` in messages). Any
    /// input is read exactly once, front to back, so pipes, FIFOs and
    /// process substitutions (`<(zcat f.gz)`) work like files.
    pub fn read_with(path: &Path, salvage: bool) -> Result<Input> {
        let stdin = path.as_os_str() == "-";
        let path: &Path = if stdin { Path::new(STDIN_NAME) } else { path };
        let rerr = |source| Error::Read {
            path: path.to_owned(),
            source,
        };
        let raw = {
            let name = path.file_name().map_or_else(
                || path.display().to_string(),
                |n| n.to_string_lossy().into_owned(),
            );
            let mut raw = Vec::new();
            if stdin {
                let stage = crate::progress::stage(
                    format!("reading {name}"),
                    None,
                    Some(crate::progress::Unit::Bytes),
                );
                stage
                    .reader(std::io::stdin().lock())
                    .read_to_end(&mut raw)
                    .map_err(rerr)?;
            } else {
                let file = std::fs::File::open(path).map_err(rerr)?;
                // A regular file's size is the capacity and the bar's
                // total; a pipe's is unknown.
                let size = file
                    .metadata()
                    .ok()
                    .filter(|m| m.is_file())
                    .map(|m| m.len());
                raw.reserve_exact(size.unwrap_or(0) as usize);
                let stage = crate::progress::stage(
                    format!("reading {name}"),
                    size,
                    Some(crate::progress::Unit::Bytes),
                );
                stage.reader(file).read_to_end(&mut raw).map_err(rerr)?;
            }
            raw
        };
        let disk_bytes = raw.len() as u64;
        let sha256 = sha256(&raw);
        let bytes = if raw.starts_with(&[0x1f, 0x8b]) {
            // The gzip trailer holds the inflated size mod 2^32: a good
            // first capacity (bounded, since the trailer may lie).
            let isize = raw
                .len()
                .checked_sub(4)
                .and_then(|at| raw.get(at..))
                .and_then(|t| <[u8; 4]>::try_from(t).ok())
                .map_or(0, |t| u32::from_le_bytes(t) as usize);
            let hint = if isize >= raw.len() {
                isize
            } else {
                raw.len().saturating_mul(4)
            };
            let mut out = Vec::with_capacity(hint.min(raw.len().saturating_mul(16)));
            let stage = crate::progress::stage(
                format!("inflating {}", path.display()),
                Some(raw.len() as u64),
                Some(crate::progress::Unit::Bytes),
            );
            let inflated =
                flate2::read::MultiGzDecoder::new(stage.reader(&raw[..])).read_to_end(&mut out);
            drop(stage);
            match inflated {
                Ok(_) => {}
                // `read_to_end` keeps what it read before the error.
                Err(e) if salvage && e.kind() == std::io::ErrorKind::UnexpectedEof => {}
                Err(e) => {
                    let hint = if e.kind() == std::io::ErrorKind::UnexpectedEof {
                        " (the file looks truncated; --salvage keeps what inflates)"
                    } else {
                        ""
                    };
                    return Err(InputError::new(
                        path,
                        Position::File,
                        format!("gzip stream is damaged: {e}{hint}"),
                    )
                    .into());
                }
            }
            out
        } else {
            raw
        };
        Ok(Input {
            path: path.to_owned(),
            bytes,
            disk_bytes,
            sha256,
        })
    }

    /// Builds an input from bytes already in memory (tests, benchmarks).
    pub fn from_bytes(path: impl Into<PathBuf>, bytes: Vec<u8>) -> Input {
        let disk_bytes = bytes.len() as u64;
        let sha256 = sha256(&bytes);
        Input {
            path: path.into(),
            bytes,
            disk_bytes,
            sha256,
        }
    }

    /// The content as UTF-8 text, or an error naming the first bad byte.
    pub fn text(&self) -> Result<&str, InputError> {
        std::str::from_utf8(&self.bytes)
            .map_err(|e| utf8_error(&self.path, &self.bytes, e.valid_up_to()))
    }
}

/// SHA-256 of `bytes` (FIPS 180-4, through the `sha2` crate).
pub fn sha256(bytes: &[u8]) -> [u8; 32] {
    use sha2::Digest;
    sha2::Sha256::digest(bytes).into()
}

/// `digest` as lowercase hex digits, as `sha256sum` prints it.
pub fn hex(digest: &[u8]) -> String {
    use std::fmt::Write;
    digest
        .iter()
        .fold(String::with_capacity(digest.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

/// The file name of `path` without its directories, as a trace records it
/// (the whole text when it has no file name, e.g. `-` or `..`).
pub fn file_name(path: &Path) -> String {
    match path.file_name() {
        Some(n) => n.to_string_lossy().into_owned(),
        None => path.display().to_string(),
    }
}

/// The error for a byte that is not UTF-8 at `at` in `bytes`.
pub(crate) fn utf8_error(path: &Path, bytes: &[u8], at: usize) -> InputError {
    let upto = &bytes[..at.min(bytes.len())];
    let line = upto.iter().filter(|&&b| b == b'\n').count() as u64 + 1;
    let col = upto.iter().rev().take_while(|&&b| b != b'\n').count() as u64 + 1;
    let byte = bytes
        .get(at)
        .map_or(String::new(), |b| format!(" (byte 0x{b:02x})"));
    InputError::new(
        path,
        Position::LineColumn(line, col),
        format!("not UTF-8 text{byte}; JSON must be UTF-8"),
    )
}

/// Records that `--salvage` kept `kept` complete records of a cut input.
pub(crate) fn warn_salvaged(
    trace: &mut Trace,
    input: u32,
    path: &Path,
    kept: u64,
    line: u64,
    column: u64,
) {
    trace.warnings.push(crate::model::Warning {
        kind: "truncated_input",
        input,
        location: crate::model::Location::File,
        field: String::new(),
        message: format!(
            "salvaged {kept} complete record{} of {} (cut at line {line}, column {column})",
            if kept == 1 { "" } else { "s" },
            path.display()
        ),
    });
}

/// Rejects inputs no importer can read: empty or blank, or UTF-16/32
/// (a byte order mark, as Windows editors write).
fn check_text(input: &Input) -> Result<(), InputError> {
    let b = &input.bytes;
    let err = |msg: &str| Err(InputError::new(&input.path, Position::File, msg.to_owned()));
    let body = b.strip_prefix(b"\xef\xbb\xbf").unwrap_or(b);
    if body.iter().all(u8::is_ascii_whitespace) {
        return err("the file is empty");
    }
    if b.starts_with(b"SQLite format 3\0") {
        return err(
            "an SQLite database, but not one written by `db` (no slice, track and request tables)",
        );
    }
    if b.starts_with(&[0xff, 0xfe])
        || b.starts_with(&[0xfe, 0xff])
        || b.starts_with(&[0, 0, 0xfe, 0xff])
    {
        return err("the file is UTF-16 or UTF-32 text (it starts with a byte order mark); JSON must be UTF-8: save it as UTF-8");
    }
    Ok(())
}

/// Sniffs the format from the first bytes of `input` (an SQLite database
/// by its tables).
pub fn detect(input: &Input) -> Result<Format, InputError> {
    if perfetto_proto::looks_like(&input.bytes) {
        return Ok(Format::PerfettoProto);
    }
    if input.bytes.starts_with(nsys::SQLITE_HEADER) {
        return detect_sqlite(input);
    }
    check_text(input)?;
    let head = &input.bytes[..input.bytes.len().min(64 * 1024)];
    let text = String::from_utf8_lossy(head);
    let first = text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .chars()
        .next();
    let err = |msg: &str| InputError::new(&input.path, Position::File, msg.to_owned());
    match first {
        None => return Err(err("the file is empty")),
        Some('[') | Some('{') => {}
        Some(_) if prometheus::looks_like_text(&text) => return Ok(Format::Prometheus),
        Some(_) => {
            return Err(err(
                "not JSON and not Prometheus metrics text: expected a JSON array, object or JSON Lines, \
                 or `# HELP` / `# TYPE` lines and `metric{label=\"value\"} value` samples",
            ))
        }
    }
    let has = |k: &str| text.contains(k);
    if text
        .trim_start_matches('\u{feff}')
        .trim_start()
        .starts_with('{')
        && prometheus::looks_like_json(&text)
    {
        return Ok(Format::Prometheus);
    }
    if is_chrome_json(&text) {
        return Ok(Format::ChromeJson);
    }
    if has("\"metadata\"")
        && (has("\"x_request_id\"")
            || has("\"request_start_ns\"")
            || has("\"timestamp_ns\"")
            || has("\"benchmark_phase\"")
            || has("\"credit_phase\""))
    {
        return Ok(Format::Aiperf);
    }
    if has("\"iterLatencyMS\"")
        || has("\"kvCacheStats\"")
        || has("\"numActiveRequests\"")
        || has("\"inflightBatchingStats\"")
    {
        return Ok(Format::TrtllmIterationStats);
    }
    if has("\"ttfts\"") || (has("\"mean_ttft_ms\"") && has("\"completed\"")) {
        return Ok(Format::VllmBench);
    }
    if has("\"perf_metrics\"")
        || has("\"ctx_perf_metrics\"")
        || has("\"gen_perf_metrics\"")
        || has("\"disagg_server_arrival_time\"")
    {
        return Ok(Format::TrtllmPerfMetrics);
    }
    if text.trim_start().starts_with('[') && text.trim_start()[1..].trim_start().starts_with(']') {
        // `[]`: what /perf_metrics returns when nothing finished. Readable as
        // perf metrics with zero records.
        return Ok(Format::TrtllmPerfMetrics);
    }
    Err(err(
        "unknown format: expected TensorRT-LLM perf metrics (keys `perf_metrics`, `ctx_perf_metrics`, ...), TensorRT-LLM iteration stats (`iterLatencyMS`, `kvCacheStats`, ...), aiperf records (`metadata`, `metrics`), a vLLM bench result (`ttfts`) or a Chrome trace (`traceEvents`, or an array of events with `ph`) or a Prometheus query result (`resultType`); use --input-format to force one",
    ))
}

/// The format of an SQLite input, by its tables.
fn detect_sqlite(input: &Input) -> Result<Format, InputError> {
    let conn = nsys::open(&input.path, &input.bytes)?;
    let tables = nsys::table_names(&input.path, &conn)?;
    if nsys::is_export(&tables) {
        return Ok(Format::NsysSqlite);
    }
    // Ours: the tables `db` writes (read back by `breakdown_db`).
    if breakdown_db::OURS.iter().all(|t| tables.contains(*t)) {
        return Ok(Format::BreakdownDb);
    }
    Err(InputError::new(
        &input.path,
        Position::File,
        "an SQLite database, but not one written by `db` (no slice, track and request tables) nor an Nsight Systems export",
    ))
}

/// A Chrome trace: an object whose top level has a `traceEvents` key, or an
/// array whose first element has a `ph` key. Looks only at the head of the
/// file (Kineto writes `traceEvents` after `deviceProperties`, which can be
/// long, so the object case accepts the key anywhere in the head).
fn is_chrome_json(head: &str) -> bool {
    let t = head.trim_start_matches('\u{feff}').trim_start();
    if t.starts_with('{') {
        return t.contains("\"traceEvents\"");
    }
    let Some(rest) = t.strip_prefix('[') else {
        return false;
    };
    let rest = rest.trim_start();
    if !rest.starts_with('{') {
        return false;
    }
    // The first element's keys, up to its first closing brace.
    let first = &rest[..rest.find('}').unwrap_or(rest.len())];
    first.contains("\"ph\"")
}

/// How inputs are loaded.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadOptions {
    /// Overrides format detection for all inputs.
    pub format: Option<Format>,
    /// Keeps the complete records of a truncated input (a JSON array or
    /// JSON Lines file cut mid-way) instead of failing; counted as a
    /// `truncated_input` warning.
    pub salvage: bool,
    /// TensorRT-LLM records become requests only — no tracks, slices, flows
    /// or annotations — for commands that read nothing else (`stats` and
    /// `report` on request inputs). Warnings are the same.
    pub requests_only: bool,
    /// Time between the scrapes of a Prometheus text file (ns), for scrapes
    /// with neither sample timestamps nor the TensorRT-LLM timestamp gauge
    /// (`--scrape-interval`).
    pub scrape_interval_ns: Option<i64>,
    /// Leaves out the queue-length counter tracks that GPU timelines get
    /// per stream ([`crate::model::queue_length`]; `convert
    /// --no-queue-length`). Tracks a trace read back already has stay.
    pub no_queue_length: bool,
}

/// Reads `paths` into one trace. `forced` overrides detection for all inputs.
pub fn load(paths: &[PathBuf], forced: Option<Format>) -> Result<Trace> {
    load_with(
        paths,
        &LoadOptions {
            format: forced,
            ..Default::default()
        },
    )
}

/// Reads `paths` into one trace with `opts`.
///
/// A forced format (`opts.format`) that finds nothing of its kind in an
/// input with records is an error naming what was expected and what the
/// content looks like — not an empty trace.
pub fn load_with(paths: &[PathBuf], opts: &LoadOptions) -> Result<Trace> {
    let mut inputs = Vec::with_capacity(paths.len());
    let mut detected = Vec::with_capacity(paths.len());
    for p in paths {
        let input = Input::read_with(p, opts.salvage)?;
        let format = match opts.format {
            Some(f) => {
                // `[]` (a poll with nothing finished) is empty in any format.
                let empty = input.bytes.trim_ascii() == b"[]";
                detected.push(if empty { None } else { detect(&input).ok() });
                f
            }
            None => detect(&input)?,
        };
        inputs.push((input, format));
    }
    let mut trace = load_inputs_with(inputs, opts)?;
    trace.provenance.forced_format = opts.format.map(|f| f.name().to_owned());
    if let Some(forced) = opts.format {
        check_forced(&trace, forced, &detected)?;
    }
    Ok(trace)
}

/// What each format reads, for errors.
fn expects(f: Format) -> &'static str {
    match f {
        Format::TrtllmPerfMetrics => "TensorRT-LLM perf-metrics records",
        Format::TrtllmIterationStats => {
            "TensorRT-LLM iteration statistics (`iter`, `timestamp`, ...)"
        }
        Format::Aiperf => "aiperf per-request records (`metadata`, `metrics`)",
        Format::VllmBench => "a vLLM bench result with per-request arrays",
        Format::ChromeJson => "trace events (`traceEvents` or an event array)",
        Format::NsysSqlite => "Nsight Systems export tables",
        Format::Prometheus => "Prometheus metric samples (text exposition or query JSON)",
        Format::PerfettoProto => "TrackEvent packets (slices, counters or tracks)",
        Format::BreakdownDb => "the tables of a database written by `db`",
    }
}

/// Fails when a forced format took records from an input but made nothing
/// of them (slices, counters, requests, iterations or client records).
fn check_forced(trace: &Trace, forced: Format, detected: &[Option<Format>]) -> Result<()> {
    for src in &trace.sources {
        // Records the importer kept although they hold nothing of its
        // format (it warns about each) do not count.
        let iterations = trace.iterations[src.iterations.clone()]
            .iter()
            .filter(|it| it.iter.is_some() || it.ts.is_some());
        let clients = trace.client_requests[src.client_requests.clone()]
            .iter()
            .filter(|c| !c.metrics.is_empty() || !c.metadata.is_empty() || c.start_ns.is_some());
        let made = src.slices.len()
            + src.counters.len()
            + src.requests.len()
            + iterations.count()
            + clients.count();
        if made > 0 {
            continue;
        }
        for &i in &src.inputs {
            let info = &trace.provenance.inputs[i as usize];
            let other = detected
                .get(i as usize)
                .copied()
                .flatten()
                .filter(|&d| d != forced);
            // An input with no records is empty in any format, unless its
            // content is plainly another format's.
            if info.records == 0 && other.is_none() {
                continue;
            }
            let looks = match other {
                Some(d) => format!("; its content looks like `--input-format {}`", d.name()),
                None => String::new(),
            };
            return Err(InputError::new(
                &info.path,
                crate::error::Position::File,
                format!(
                    "--input-format {} found none of {} in its {} records{looks}",
                    forced.name(),
                    expects(forced),
                    info.records
                ),
            )
            .into());
        }
    }
    Ok(())
}

/// A progress spinner for parsing `inputs` of `format`.
fn parsing(inputs: &[&Input], format: Format) -> crate::progress::Stage {
    let names: Vec<String> = inputs
        .iter()
        .map(|i| i.path.display().to_string())
        .collect();
    crate::progress::stage(
        format!("parsing {} ({})", names.join(", "), format.name()),
        None,
        None,
    )
}

/// Like [`load`] for inputs already in memory.
pub fn load_inputs(inputs: Vec<(Input, Format)>) -> Result<Trace> {
    load_inputs_with(inputs, &LoadOptions::default())
}

/// Like [`load_with`] for inputs already in memory (`opts.format` is not
/// used: each input carries its format).
pub fn load_inputs_with(inputs: Vec<(Input, Format)>, opts: &LoadOptions) -> Result<Trace> {
    for (input, format) in &inputs {
        if !matches!(
            format,
            Format::NsysSqlite | Format::PerfettoProto | Format::BreakdownDb
        ) {
            check_text(input)?;
        } else if input.bytes.is_empty() {
            return Err(InputError::new(&input.path, Position::File, "the file is empty").into());
        }
    }
    let mut trace = Trace::new();
    trace.provenance.command_line = std::env::args().collect();
    trace.provenance.salvage = opts.salvage;
    trace.provenance.no_queue_length = opts.no_queue_length;
    for (input, format) in &inputs {
        trace.provenance.inputs.push(InputInfo {
            path: input.path.display().to_string(),
            name: file_name(&input.path),
            sha256: hex(&input.sha256),
            format: format.name().to_owned(),
            bytes: input.disk_bytes,
            raw_bytes: input.bytes.len() as u64,
            records: 0,
            time_shift_ns: 0,
            anchor: None,
            producer: None,
            ..Default::default()
        });
    }
    // Group by format: an importer sees all its inputs at once (TRT-LLM
    // dumps are concatenated and de-duplicated across files).
    for &format in Format::ALL {
        let mine: Vec<(u32, &Input)> = inputs
            .iter()
            .enumerate()
            .filter(|(_, (_, f))| *f == format)
            .map(|(i, (inp, _))| (i as u32, inp))
            .collect();
        if mine.is_empty() {
            continue;
        }
        match format {
            Format::TrtllmPerfMetrics => {
                let _stage = parsing(&mine.iter().map(|(_, i)| *i).collect::<Vec<_>>(), format);
                let mark = trace.mark();
                trtllm::import(&mut trace, &mine, opts.salvage, opts.requests_only)?;
                trace.record_source(mine.iter().map(|(i, _)| *i).collect(), mark);
            }
            // One clock per input: import (and record) each on its own.
            Format::TrtllmIterationStats
            | Format::Aiperf
            | Format::VllmBench
            | Format::Prometheus => {
                for &(i, input) in &mine {
                    let _stage = parsing(&[input], format);
                    let mark = trace.mark();
                    match format {
                        Format::TrtllmIterationStats => {
                            iter_stats::import(&mut trace, &[(i, input)], opts.salvage)?
                        }
                        Format::Aiperf => aiperf::import(&mut trace, i, input, opts.salvage)?,
                        Format::Prometheus => {
                            prometheus::import(&mut trace, i, input, opts.scrape_interval_ns)?
                        }
                        _ => vllm::import(&mut trace, i, input, opts.salvage)?,
                    }
                    trace.record_source(vec![i], mark);
                }
            }
            Format::PerfettoProto => {
                for &(i, input) in &mine {
                    let mark = trace.mark();
                    perfetto_proto::import(&mut trace, i, input, opts.salvage)?;
                    end_timeline(&mut trace, vec![i], mark, opts);
                }
            }
            Format::BreakdownDb => {
                for &(i, input) in &mine {
                    let mark = trace.mark();
                    breakdown_db::import(&mut trace, i, input)?;
                    end_timeline(&mut trace, vec![i], mark, opts);
                }
            }
            // Consume their inputs below (Chrome: the buffers become blobs;
            // nsys: each buffer is dropped once the database is read).
            Format::ChromeJson | Format::NsysSqlite => {}
        }
    }
    // Chrome traces take their input by value: the buffer moves into
    // `trace.blobs`, where the slices' raw args point.
    for (i, (input, format)) in inputs.into_iter().enumerate() {
        if format == Format::ChromeJson {
            let _stage = parsing(&[&input], format);
            let mark = trace.mark();
            chrome_json::import(&mut trace, i as u32, input, opts.salvage)?;
            end_timeline(&mut trace, vec![i as u32], mark, opts);
        } else if format == Format::NsysSqlite {
            let mark = trace.mark();
            nsys::import(&mut trace, i as u32, &input.path, &input.bytes)?;
            drop(input);
            end_timeline(&mut trace, vec![i as u32], mark, opts);
        }
    }
    Ok(trace)
}

/// Ends the import call of a format that can hold a GPU timeline: adds the
/// queue-length counter tracks of its streams (unless `opts` leaves them
/// out), then records what the call appended as one source.
fn end_timeline(
    trace: &mut Trace,
    inputs: Vec<u32>,
    mark: crate::model::align::Mark,
    opts: &LoadOptions,
) {
    if !opts.no_queue_length {
        let (slices, tracks) = (mark.slices(), mark.tracks());
        crate::model::queue_length::add(
            trace,
            slices..trace.slices.len(),
            tracks..trace.tracks.len(),
        );
    }
    trace.record_source(inputs, mark);
}
