//! Nsight Systems SQLite exports (`nsys export --type sqlite`) → [`Trace`].
//!
//! Detected by its tables, never by the file name: an SQLite database with
//! `StringIds` and any of `TARGET_INFO_*`, `CUPTI_ACTIVITY_KIND_*`,
//! `NVTX_EVENTS` or the export meta data ([`is_export`]). The database is
//! opened read-only from the bytes already read (so gzip and stdin inputs
//! work like files) and every table is read by column name (`PRAGMA
//! table_info`): nsys creates a table only when it has rows (2023+), adds
//! columns between versions (`greenContextId`, ...), and renamed
//! `EXPORT_META_DATA` to `META_DATA_EXPORT` (2024+). A missing table reads
//! as empty; a missing optional column as NULL; a missing required one
//! (`start`, `end`, `deviceId`, ...) is an error naming the table and column.
//!
//! What is read, and where it goes (the layout of Kineto traces, so the GPU
//! analyses and bundled queries run unchanged):
//!
//! | table | slices | category |
//! |---|---|---|
//! | `CUPTI_ACTIVITY_KIND_KERNEL` | process `GPU <deviceId>`, thread `stream <streamId>`; name `demangledName` (else `shortName`) through `StringIds` | `kernel` |
//! | `CUPTI_ACTIVITY_KIND_MEMCPY` | same tracks; name `[CUDA memcpy <copyKind label>]` as `nsys stats` names it | `gpu_memcpy` |
//! | `CUPTI_ACTIVITY_KIND_MEMSET` | same tracks; name `[CUDA memset]` | `gpu_memset` |
//! | `CUPTI_ACTIVITY_KIND_SYNCHRONIZATION` | the stream's track (context-wide syncs: thread `context sync`); name the sync type's label | `cuda_sync` |
//! | `CUPTI_ACTIVITY_KIND_RUNTIME` (and `_DRIVER` where present) | the calling thread (`globalTid`) of its process; name through `nameId`, CUPTI's version suffix (`_v3020`) dropped | `cuda_runtime` / `cuda_driver` by `eventClass` |
//! | `NVTX_EVENTS` | the calling thread; push/pop and start/end ranges as slices, marks as instants; text inline or through `textId` | `user_annotation` |
//!
//! Rows of `CUPTI_ACTIVITY_KIND_RUNTIME` with event class
//! `TRACE_PROCESS_EVENT_CUDABACKTRACE` (67) are not calls: nsys repeats the
//! call's interval and correlation id to attach a backtrace. They become the
//! `callchainId` arg of their call, not slices. Launch → GPU work flows
//! link a CUDA API call and the kernel, memcpy or memset with its
//! `correlationId` in the same process, as Kineto's `ac2g` flows do.
//!
//! Identifiers: `globalTid`/`globalPid` are serialized global ids:
//! `pid = (g >> 24) & 0xFFFFFF`, `tid = g & 0xFFFFFF` (NVIDIA, "Common
//! SQLite examples: serialized process and thread identifiers"). Names come
//! from `ThreadNames` and `PROCESSES`. A device's name (`TARGET_INFO_GPU`,
//! matched to the CUDA device id by `cuDevice` or, in newer exports,
//! through `TARGET_INFO_CUDA_DEVICE`'s `cudaId → gpuId`) becomes the label
//! of its process.
//!
//! Time: nsys timestamps are integer ns since the session start;
//! `TARGET_INFO_SESSION_START_TIME.utcEpochNs` is added, so the trace's
//! times are Unix-epoch ns like Kineto's and can be aligned with other
//! inputs (`--align`). Without that table times stay session-relative and a
//! `no_session_start` warning says so. A NULL or reversed `start`/`end`
//! makes that row absent — never zero-filled — and is a warning naming the
//! table, row id and column.
//!
//! Enumerations (copy kinds, memory kinds, sync types, event classes, NVTX
//! event types) take their labels from the `ENUM_*` tables where the export
//! has them, else from the numeric values NVIDIA documents ("SQLite Schema
//! Event Values" in the Nsight Systems user guide; CUPTI's
//! `CUpti_ActivitySynchronizationType`).

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::Connection;
use rustc_hash::{FxHashMap, FxHashSet};

use crate::error::{InputError, Position, Result};
use crate::model::{
    gpu, ArgValue, Args, Flow, Location, Slice, SliceId, SliceKind, StrId, Trace, Track, TrackId,
    TrackKind, Warning,
};

/// SQLite's file header: the first 16 bytes of every database file.
pub const SQLITE_HEADER: &[u8; 16] = b"SQLite format 3\0";

/// `eventClass` of CUDA runtime API calls (`TRACE_PROCESS_EVENT_CUDA_RUNTIME`).
pub const CLASS_RUNTIME: i64 = 0;
/// `eventClass` of CUDA driver API calls (`TRACE_PROCESS_EVENT_CUDA_DRIVER`).
pub const CLASS_DRIVER: i64 = 1;
/// `eventClass` of backtrace records (`TRACE_PROCESS_EVENT_CUDABACKTRACE`):
/// a copy of a call's interval and correlation id carrying `callchainId`.
pub const CLASS_BACKTRACE: i64 = 67;

/// NVTX `eventType` values (NVIDIA, "SQLite Schema Event Values").
pub mod nvtx_type {
    /// `NvtxCategory`: names category `category` of domain `domainId` (`text`).
    pub const CATEGORY: i64 = 33;
    /// `NvtxMark`: an instant at `start` (an instant in the trace).
    pub const MARK: i64 = 34;
    /// `NvtxThread`: names an OS thread (`text`; `ThreadNames` has it too).
    pub const THREAD: i64 = 39;
    /// `NvtxPushPopRange`: a nested range `[start, end)` on one thread.
    pub const PUSH_POP_RANGE: i64 = 59;
    /// `NvtxStartEndRange`: a range that may end on another thread
    /// (`endGlobalTid`).
    pub const START_END_RANGE: i64 = 60;
    /// `NvtxDomainCreate`: names domain `domainId` (`text`).
    pub const DOMAIN_CREATE: i64 = 75;
    /// `NvtxDomainDestroy`.
    pub const DOMAIN_DESTROY: i64 = 76;
}

/// Label of a `copyKind` (`CUDA_MEMCPY_KIND_*`), as `ENUM_CUDA_MEMCPY_OPER`
/// labels them.
pub fn copy_kind_label(v: i64) -> Option<&'static str> {
    Some(match v {
        0 => "Unknown",
        1 => "Host-to-Device",
        2 => "Device-to-Host",
        3 => "Host-to-Array",
        4 => "Array-to-Host",
        5 => "Array-to-Array",
        6 => "Array-to-Device",
        7 => "Device-to-Array",
        8 => "Device-to-Device",
        9 => "Host-to-Host",
        10 => "Peer-to-Peer",
        11 => "Unified Host-to-Device",
        12 => "Unified Device-to-Host",
        13 => "Unified Device-to-Device",
        _ => return None,
    })
}

/// Label of a memory kind (`CUDA_MEMOPR_MEMORY_KIND_*`), as
/// `ENUM_CUDA_MEM_KIND` labels them.
pub fn memory_kind_label(v: i64) -> Option<&'static str> {
    Some(match v {
        0 => "Pageable",
        1 => "Pinned",
        2 => "Device",
        3 => "Array",
        4 => "Managed",
        5 => "Device Static",
        6 => "Managed Static",
        7 => "Unknown",
        _ => return None,
    })
}

/// Label of a `syncType` (CUPTI's `CUpti_ActivitySynchronizationType`), as
/// `ENUM_CUPTI_SYNC_TYPE` labels them.
pub fn sync_type_label(v: i64) -> Option<&'static str> {
    Some(match v {
        0 => "Unknown",
        1 => "Event sync",
        2 => "Stream wait sync",
        3 => "Stream sync",
        4 => "Context sync",
        _ => return None,
    })
}

/// Opens an SQLite database held in `bytes`, read-only, in memory (a copy:
/// SQLite owns its buffer). Errors name `path`; a file that is not a
/// database mostly fails later, at the first read ([`table_names`]).
pub fn open(path: &Path, bytes: &[u8]) -> Result<Connection, InputError> {
    let err = |e: rusqlite::Error| {
        InputError::new(
            path,
            Position::File,
            format!("cannot open as an SQLite database: {e}"),
        )
    };
    let mut conn = Connection::open_in_memory().map_err(err)?;
    conn.deserialize_read_exact(rusqlite::MAIN_DB, bytes, bytes.len(), true)
        .map_err(err)?;
    Ok(conn)
}

/// The tables of `conn` (names as stored). An error naming `path` when
/// SQLite cannot read the schema (not a database, or a damaged one).
pub fn table_names(path: &Path, conn: &Connection) -> Result<FxHashSet<String>, InputError> {
    let run = || -> rusqlite::Result<FxHashSet<String>> {
        let mut st = conn.prepare("SELECT name FROM sqlite_master WHERE type = 'table'")?;
        let names = st.query_map([], |r| r.get::<_, String>(0))?;
        names.collect()
    };
    run().map_err(|e| {
        InputError::new(
            path,
            Position::File,
            format!("not a readable SQLite database: {e}"),
        )
    })
}

/// Whether tables named `tables` are an Nsight Systems export: `StringIds`
/// plus a `TARGET_INFO_*`, `CUPTI_ACTIVITY_KIND_*` or `NVTX_EVENTS` table or
/// the export meta data.
pub fn is_export(tables: &FxHashSet<String>) -> bool {
    tables.contains("StringIds")
        && tables.iter().any(|t| {
            t.starts_with("TARGET_INFO_")
                || t.starts_with("CUPTI_ACTIVITY_KIND_")
                || t == "NVTX_EVENTS"
                || t == "EXPORT_META_DATA"
                || t == "META_DATA_EXPORT"
        })
}

/// Whether the file at `path` is an Nsight Systems export (false for
/// anything unreadable). Opens the file itself, read-only.
pub fn is_export_file(path: &Path) -> bool {
    let flags =
        rusqlite::OpenFlags::SQLITE_OPEN_READ_ONLY | rusqlite::OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let Ok(conn) = Connection::open_with_flags(path, flags) else {
        return false;
    };
    table_names(path, &conn).is_ok_and(|t| is_export(&t))
}

/// Whether a column is needed for a row to mean anything.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Need {
    Required,
    Optional,
}
use Need::{Optional as Opt, Required as Req};

/// One row of a table being read; values by the position of their column
/// in the list given to [`Reader::rows`].
struct Row<'r, 's> {
    row: &'r rusqlite::Row<'s>,
    table: &'r str,
    cols: &'r [(&'static str, Need)],
    rowid: i64,
    path: &'r Path,
}

impl Row<'_, '_> {
    fn err(&self, k: usize, message: impl Into<String>) -> InputError {
        InputError::new(
            self.path,
            Position::Record(self.rowid.max(0) as u64),
            message,
        )
        .field(format!("{}.{}", self.table, self.cols[k].0))
    }

    fn value(&self, k: usize) -> Result<ValueRef<'_>, InputError> {
        self.row.get_ref(k + 1).map_err(|e| {
            self.err(
                k,
                format!("row id {} of table {}: {e}", self.rowid, self.table),
            )
        })
    }

    /// An integer column: NULL is `None`; text, blobs and fractional reals
    /// are errors.
    fn int(&self, k: usize) -> Result<Option<i64>, InputError> {
        match self.value(k)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v)),
            ValueRef::Real(f) if f.fract() == 0.0 && f.abs() < 9.0e18 => Ok(Some(f as i64)),
            other => Err(self.err(
                k,
                format!(
                    "row id {} of table {}: expected an integer, found {}",
                    self.rowid,
                    self.table,
                    describe(other)
                ),
            )),
        }
    }

    /// A real column (integers widen).
    fn real(&self, k: usize) -> Result<Option<f64>, InputError> {
        match self.value(k)? {
            ValueRef::Null => Ok(None),
            ValueRef::Integer(v) => Ok(Some(v as f64)),
            ValueRef::Real(f) => Ok(Some(f)),
            other => Err(self.err(
                k,
                format!(
                    "row id {} of table {}: expected a number, found {}",
                    self.rowid,
                    self.table,
                    describe(other)
                ),
            )),
        }
    }

    /// A text column (numbers are written as text; invalid UTF-8 is
    /// replaced).
    fn text(&self, k: usize) -> Result<Option<String>, InputError> {
        Ok(match self.value(k)? {
            ValueRef::Null => None,
            ValueRef::Text(t) => Some(String::from_utf8_lossy(t).into_owned()),
            ValueRef::Integer(v) => Some(v.to_string()),
            ValueRef::Real(f) => Some(f.to_string()),
            ValueRef::Blob(_) => {
                return Err(self.err(
                    k,
                    format!(
                        "row id {} of table {}: expected text, found a blob",
                        self.rowid, self.table
                    ),
                ))
            }
        })
    }
}

fn describe(v: ValueRef<'_>) -> String {
    match v {
        ValueRef::Null => "NULL".into(),
        ValueRef::Integer(i) => format!("the integer {i}"),
        ValueRef::Real(f) => format!("the real {f}"),
        ValueRef::Text(t) => format!("the text {:?}", String::from_utf8_lossy(t)),
        ValueRef::Blob(b) => format!("a {}-byte blob", b.len()),
    }
}

/// Reads tables by column name.
struct Reader<'c> {
    conn: &'c Connection,
    path: &'c Path,
    tables: FxHashSet<String>,
}

impl Reader<'_> {
    fn has(&self, table: &str) -> bool {
        self.tables.contains(table)
    }

    fn sql_err(&self, table: &str, e: rusqlite::Error) -> InputError {
        InputError::new(
            self.path,
            Position::File,
            format!("table {table} cannot be read: {e}"),
        )
        .field(table.to_owned())
    }

    /// The column names of `table`.
    fn columns(&self, table: &str) -> Result<FxHashSet<String>, InputError> {
        let run = || -> rusqlite::Result<FxHashSet<String>> {
            let mut st = self
                .conn
                .prepare(&format!("PRAGMA table_info({})", quote(table)))?;
            let names = st.query_map([], |r| r.get::<_, String>(1))?;
            names.collect()
        };
        run().map_err(|e| self.sql_err(table, e))
    }

    /// Calls `f` for each row of `table` (none when the table is absent),
    /// in row id order. `cols` lists the columns read; a required one the
    /// table lacks is an error, an optional one reads as NULL. Returns the
    /// number of rows.
    fn rows(
        &self,
        table: &str,
        cols: &[(&'static str, Need)],
        mut f: impl FnMut(&Row) -> Result<(), InputError>,
    ) -> Result<u64, InputError> {
        if !self.has(table) {
            return Ok(0);
        }
        let have = self.columns(table)?;
        let mut select = String::from("SELECT rowid");
        for &(c, need) in cols {
            if have.contains(c) {
                select.push_str(", ");
                select.push_str(&quote(c));
            } else if need == Req {
                return Err(InputError::new(
                    self.path,
                    Position::File,
                    format!(
                        "table {table} has no column `{c}`, which this importer needs (columns: {})",
                        sorted(&have).join(", ")
                    ),
                )
                .field(format!("{table}.{c}")));
            } else {
                select.push_str(", NULL");
            }
        }
        select.push_str(" FROM ");
        select.push_str(&quote(table));
        select.push_str(" ORDER BY rowid");
        let mut st = self
            .conn
            .prepare(&select)
            .map_err(|e| self.sql_err(table, e))?;
        let mut rows = st.query([]).map_err(|e| self.sql_err(table, e))?;
        let mut n = 0u64;
        while let Some(row) = rows.next().map_err(|e| self.sql_err(table, e))? {
            let rowid = match row.get_ref(0) {
                Ok(ValueRef::Integer(i)) => i,
                _ => n as i64,
            };
            f(&Row {
                row,
                table,
                cols,
                rowid,
                path: self.path,
            })?;
            n += 1;
        }
        Ok(n)
    }

    /// `id → label` of an `ENUM_*` table (`label`, else `name`); empty when
    /// the export has no such table.
    fn enum_labels(&self, table: &str) -> Result<FxHashMap<i64, String>, InputError> {
        let mut out = FxHashMap::default();
        if !self.has(table) {
            return Ok(out);
        }
        let have = self.columns(table)?;
        let col = if have.contains("label") {
            "label"
        } else {
            "name"
        };
        self.rows(table, &[("id", Req), (col, Req)], |r| {
            if let (Some(id), Some(l)) = (r.int(0)?, r.text(1)?) {
                out.insert(id, l);
            }
            Ok(())
        })?;
        Ok(out)
    }
}

fn quote(ident: &str) -> String {
    format!("\"{}\"", ident.replace('"', "\"\""))
}

fn sorted(s: &FxHashSet<String>) -> Vec<&str> {
    let mut v: Vec<&str> = s.iter().map(String::as_str).collect();
    v.sort_unstable();
    v
}

/// The process id in a serialized global id.
pub fn global_pid(g: i64) -> i64 {
    (g >> 24) & 0xFF_FFFF
}

/// The thread id in a serialized global id.
pub fn global_tid(g: i64) -> i64 {
    g & 0xFF_FFFF
}

/// Drops CUPTI's API version suffix: `cudaMalloc_v3020` → `cudaMalloc`.
pub fn api_name(name: &str) -> &str {
    match name.rfind("_v") {
        Some(at)
            if at > 0
                && name.len() > at + 2
                && name[at + 2..].bytes().all(|b| b.is_ascii_digit()) =>
        {
            &name[..at]
        }
        _ => name,
    }
}

/// What one API call is, for flows: (slice, is runtime).
type Launch = (SliceId, bool);

struct Importer<'a> {
    trace: &'a mut Trace,
    path: &'a Path,
    input: u32,
    /// Added to every timestamp (the session's UTC start), ns.
    offset: i64,
    strings: FxHashMap<i64, String>,
    used_pids: FxHashSet<i32>,
    /// By raw process id: (track, Perfetto pid).
    processes: FxHashMap<i64, (TrackId, i32)>,
    process_names: FxHashMap<i64, String>,
    threads: FxHashMap<(i64, i64), TrackId>,
    thread_names: FxHashMap<(i64, i64), String>,
    devices: FxHashMap<i64, (TrackId, i32)>,
    device_labels: FxHashMap<i64, String>,
    streams: FxHashMap<(i64, i64), TrackId>,
    /// (pid or -1, correlation id) → the API call that launched it.
    launches: FxHashMap<(i64, i64), Launch>,
    /// GPU work: (pid or -1, correlation id, slice).
    gpu_work: Vec<(i64, i64, SliceId)>,
    /// Every kernel, memcpy and memset: (slice, stream track, table, row id).
    work_rows: Vec<(SliceId, TrackId, &'static str, i64)>,
    keys: FxHashMap<&'static str, StrId>,
    records: u64,
}

impl Importer<'_> {
    fn key(&mut self, k: &'static str) -> StrId {
        if let Some(&id) = self.keys.get(k) {
            return id;
        }
        let id = self.trace.intern(k);
        self.keys.insert(k, id);
        id
    }

    fn warn(&mut self, kind: &'static str, table: &str, rowid: i64, col: &str, message: String) {
        self.trace.warnings.push(Warning {
            kind,
            input: self.input,
            location: Location::Index(rowid.max(0) as u64),
            field: format!("{table}.{col}"),
            message,
        });
    }

    fn string(&self, id: Option<i64>) -> Option<&str> {
        id.and_then(|i| self.strings.get(&i)).map(String::as_str)
    }

    fn free_pid(&mut self, want: i64) -> i32 {
        if let Ok(p) = i32::try_from(want) {
            if self.used_pids.insert(p) {
                return p;
            }
        }
        let mut p = 0x4000_0000 + (want.rem_euclid(0x1000_0000) as i32);
        while !self.used_pids.insert(p) {
            p = p.wrapping_add(1).max(0x4000_0000);
        }
        p
    }

    fn process(&mut self, pid: i64) -> (TrackId, i32) {
        if let Some(&p) = self.processes.get(&pid) {
            return p;
        }
        let name = match self.process_names.get(&pid) {
            Some(n) => n.clone(),
            None => format!("process {pid}"),
        };
        let name = self.trace.intern(&name);
        let ppid = self.free_pid(pid);
        let track = self.trace.add_track(Track::new(
            name,
            None,
            TrackKind::Process {
                pid: ppid,
                labels: Vec::new(),
                sort_index: None,
            },
        ));
        self.processes.insert(pid, (track, ppid));
        (track, ppid)
    }

    /// The thread track of a serialized global thread id.
    fn thread(&mut self, global: i64) -> TrackId {
        let (pid, tid) = (global_pid(global), global_tid(global));
        if let Some(&t) = self.threads.get(&(pid, tid)) {
            return t;
        }
        let (parent, ppid) = self.process(pid);
        let name = match self.thread_names.get(&(pid, tid)) {
            Some(n) => n.clone(),
            None => format!("thread {tid}"),
        };
        let name = self.trace.intern(&name);
        let track = self.trace.add_track(Track::new(
            name,
            Some(parent),
            TrackKind::Thread {
                pid: ppid,
                tid,
                sort_index: None,
            },
        ));
        self.threads.insert((pid, tid), track);
        track
    }

    fn device(&mut self, dev: i64) -> (TrackId, i32) {
        if let Some(&d) = self.devices.get(&dev) {
            return d;
        }
        let name = self.trace.intern(&format!("GPU {dev}"));
        let pid = self.free_pid(dev);
        let labels = self.device_labels.get(&dev).cloned().into_iter().collect();
        let track = self.trace.add_track(Track::new(
            name,
            None,
            TrackKind::Process {
                pid,
                labels,
                sort_index: None,
            },
        ));
        self.devices.insert(dev, (track, pid));
        (track, pid)
    }

    /// The track of a stream (`None`: a context-wide sync's track).
    fn stream(&mut self, dev: i64, stream: Option<i64>) -> TrackId {
        let key = (dev, stream.unwrap_or(-1));
        if let Some(&t) = self.streams.get(&key) {
            return t;
        }
        let (parent, pid) = self.device(dev);
        let (name, tid) = match stream {
            Some(s) => (format!("stream {s}"), s),
            None => ("context sync".to_owned(), i64::from(i32::MAX)),
        };
        let name = self.trace.intern(&name);
        let track = self.trace.add_track(Track::new(
            name,
            Some(parent),
            TrackKind::Thread {
                pid,
                tid,
                sort_index: None,
            },
        ));
        self.streams.insert(key, track);
        track
    }

    /// `[start, end)` of a row as trace times, or `None` (warned) when a
    /// stamp is NULL or the end precedes the start.
    fn span(
        &mut self,
        r: &Row,
        table: &str,
        start: Option<i64>,
        end: Option<i64>,
        what: &str,
    ) -> Result<Option<(i64, i64)>, InputError> {
        let (Some(s), Some(e)) = (start, end) else {
            let col = if start.is_none() { "start" } else { "end" };
            self.warn(
                "null_timestamp",
                table,
                r.rowid,
                col,
                format!(
                    "row id {} of table {table}: `{col}` is NULL; this {what} is left out (absent, not zero-length)",
                    r.rowid
                ),
            );
            return Ok(None);
        };
        if e < s {
            self.warn(
                "reversed_pair",
                table,
                r.rowid,
                "end",
                format!(
                    "row id {} of table {table}: `end` {e} precedes `start` {s}; this {what} is left out",
                    r.rowid
                ),
            );
            return Ok(None);
        }
        let ts = s.checked_add(self.offset);
        let te = e.checked_add(self.offset);
        match (ts, te) {
            (Some(ts), Some(te)) => Ok(Some((ts, te))),
            _ => Err(InputError::new(
                self.path,
                Position::Record(r.rowid.max(0) as u64),
                format!(
                    "row id {} of table {table}: the session start plus this time is beyond the i64 nanosecond range",
                    r.rowid
                ),
            )
            .field(format!("{table}.start"))),
        }
    }

    fn add(
        &mut self,
        track: TrackId,
        (ts, end): (i64, i64),
        name: &str,
        category: &str,
        args: Vec<(&'static str, ArgValue)>,
        kind: SliceKind,
    ) -> SliceId {
        let name = self.trace.intern(name);
        let category = Some(self.trace.intern(category));
        let args: Vec<(StrId, ArgValue)> =
            args.into_iter().map(|(k, v)| (self.key(k), v)).collect();
        let args = self.trace.add_args(args);
        self.trace.add_slice(Slice {
            ts,
            dur: end - ts,
            track,
            name,
            category,
            args,
            correlation: None,
            parent: None,
            depth: 0,
            kind,
        })
    }
}

fn push_int(args: &mut Vec<(&'static str, ArgValue)>, key: &'static str, v: Option<i64>) {
    if let Some(v) = v {
        args.push((key, ArgValue::Int(v)));
    }
}

/// Imports the Nsight Systems export in `bytes` (input `index`, read from
/// `path`) into `trace`: tracks, slices, args and flows as described in the
/// module docs; `records` of the input = the rows read.
///
/// Errors (naming `path`, and the table, row id and column where there is
/// one): not a readable SQLite database; an SQLite database without nsys
/// tables; a required column missing; a value of the wrong type; a time
/// beyond the i64 ns range once the session start is added. NULL or
/// reversed times are warnings, and that row is left out.
pub fn import(trace: &mut Trace, index: u32, path: &Path, bytes: &[u8]) -> Result<()> {
    let conn = open(path, bytes)?;
    let tables = table_names(path, &conn)?;
    if !is_export(&tables) {
        return Err(InputError::new(
            path,
            Position::File,
            "an SQLite database, but not an Nsight Systems export (no `StringIds` with `TARGET_INFO_*`, `CUPTI_ACTIVITY_KIND_*` or `NVTX_EVENTS` tables)",
        )
        .into());
    }
    let rd = Reader {
        conn: &conn,
        path,
        tables,
    };
    let used_pids = trace
        .tracks
        .iter()
        .filter_map(|t| match t.kind {
            TrackKind::Process { pid, .. } => Some(pid),
            _ => None,
        })
        .collect();
    let mut imp = Importer {
        trace,
        path,
        input: index,
        offset: 0,
        strings: FxHashMap::default(),
        used_pids,
        processes: FxHashMap::default(),
        process_names: FxHashMap::default(),
        threads: FxHashMap::default(),
        thread_names: FxHashMap::default(),
        devices: FxHashMap::default(),
        device_labels: FxHashMap::default(),
        streams: FxHashMap::default(),
        launches: FxHashMap::default(),
        gpu_work: Vec::new(),
        work_rows: Vec::new(),
        keys: FxHashMap::default(),
        records: 0,
    };
    read_context(&rd, &mut imp)?;
    read_api(&rd, &mut imp)?;
    read_gpu(&rd, &mut imp)?;
    read_nvtx(&rd, &mut imp)?;
    set_apart_artifacts(&mut imp);
    // Launch → GPU work flows, by correlation id within a process (or by
    // correlation id alone when the GPU row names no process).
    let mut flows = Vec::new();
    for &(pid, corr, to) in &imp.gpu_work {
        let from = imp.launches.get(&(pid, corr)).or_else(|| {
            if pid == -1 {
                None
            } else {
                imp.launches.get(&(-1, corr))
            }
        });
        if let Some(&(from, _)) = from {
            flows.push(Flow { from, to });
        }
    }
    imp.trace.flows.extend(flows);
    imp.trace.provenance.inputs[index as usize].records = imp.records;
    Ok(())
}

/// GPU work that overlaps other work on its stream by more than the
/// timing noise cannot have run as recorded ([`gpu::OVERLAPPING`], the rule
/// Kineto traces get): each such piece is warned about by table and row
/// id, listed in [`Trace::gpu_artifacts`] (left out of GPU statistics) and
/// moved to a lane `stream N (profiler artifacts)` under its stream.
/// (CUPTI's times are exact ns, so a real export should have none.)
fn set_apart_artifacts(imp: &mut Importer) {
    let mut by_stream: FxHashMap<TrackId, Vec<usize>> = FxHashMap::default();
    for (i, w) in imp.work_rows.iter().enumerate() {
        by_stream.entry(w.1).or_default().push(i);
    }
    let mut streams: Vec<(TrackId, Vec<usize>)> = by_stream.into_iter().collect();
    streams.sort_unstable_by_key(|(t, _)| *t);
    for (stream, rows) in streams {
        let spans: Vec<(i64, i64)> = rows
            .iter()
            .map(|&i| {
                let s = imp.trace.slice(imp.work_rows[i].0);
                (s.ts, s.end())
            })
            .collect();
        let found = gpu::overlapping(&spans);
        if found.is_empty() {
            continue;
        }
        // Lanes: first fit in start order, so artifacts never cross.
        let mut order: Vec<&gpu::Overlap> = found.iter().collect();
        order.sort_by_key(|o| (spans[o.artifact].0, std::cmp::Reverse(spans[o.artifact].1)));
        let mut lanes: Vec<(TrackId, i64)> = Vec::new();
        for o in order {
            let (ts, end) = spans[o.artifact];
            let (id, _, table, rowid) = imp.work_rows[rows[o.artifact]];
            let (_, _, other_table, other_rowid) = imp.work_rows[rows[o.other]];
            let lane = match lanes.iter_mut().find(|(_, free)| *free <= ts) {
                Some(l) => {
                    l.1 = end;
                    l.0
                }
                None => {
                    let name = format!(
                        "{} (profiler artifacts)",
                        imp.trace.str(imp.trace.track(stream).name)
                    );
                    let name = imp.trace.intern(&name);
                    let mut lane = Track::new(name, Some(stream), TrackKind::Plain);
                    lane.lane_of = Some((stream, u32::MAX - lanes.len() as u32));
                    lane.description = Some(
                        "GPU work this stream cannot have executed as recorded (profiler \
                         artifacts: see the warnings); left out of GPU statistics."
                            .into(),
                    );
                    let track = imp.trace.add_track(lane);
                    lanes.push((track, end));
                    track
                }
            };
            imp.trace.slices[id.index()].track = lane;
            let message = format!(
                "row id {rowid} of table {table} overlaps row id {other_rowid} of table \
                 {other_table} on the same stream by {} ns, more than the {} ns of timing noise; \
                 a stream runs one piece of work at a time, so this is a profiler artifact: kept \
                 on a lane of its own and left out of GPU statistics",
                o.by,
                gpu::OVERLAP_NOISE_NS
            );
            let col = if o.starts_inside { "start" } else { "end" };
            imp.warn(gpu::OVERLAPPING, table, rowid, col, message);
            imp.trace.gpu_artifacts.push(gpu::Artifact {
                slice: id,
                reason: gpu::OVERLAPPING,
            });
        }
    }
}

/// Strings, meta data, session start, names of processes, threads and GPUs.
fn read_context(rd: &Reader, imp: &mut Importer) -> Result<(), InputError> {
    rd.rows("StringIds", &[("id", Req), ("value", Req)], |r| {
        if let (Some(id), Some(v)) = (r.int(0)?, r.text(1)?) {
            imp.strings.insert(id, v);
        }
        Ok(())
    })?;
    // Export meta data: the nsys version, for `info`.
    let mut meta: FxHashMap<String, String> = FxHashMap::default();
    for table in ["EXPORT_META_DATA", "META_DATA_EXPORT"] {
        rd.rows(table, &[("name", Req), ("value", Opt)], |r| {
            if let (Some(k), Some(v)) = (r.text(0)?, r.text(1)?) {
                meta.insert(k, v);
            }
            Ok(())
        })?;
    }
    // The key has changed between versions: the known ones first, then any
    // `*VERSION` key that is not the schema's.
    let version = [
        "EXPORT_PRODUCT_VERSION",
        "NSIGHT_SYSTEMS_VERSION",
        "PRODUCT_VERSION",
    ]
    .iter()
    .find_map(|k| meta.get(*k))
    .or_else(|| {
        let mut keys: Vec<&String> = meta
            .keys()
            .filter(|k| k.ends_with("VERSION") && !k.contains("SCHEMA"))
            .collect();
        keys.sort();
        keys.first().and_then(|k| meta.get(*k))
    })
    .or_else(|| meta.get("EXPORT_PRODUCT_DATE"));
    let mut producer = match version {
        Some(v) => format!("Nsight Systems {v}"),
        None => "Nsight Systems (version not recorded)".to_owned(),
    };
    if let Some(s) = meta.get("EXPORT_SCHEMA_VERSION") {
        producer.push_str(&format!(", export schema {s}"));
    }
    // Session start.
    let mut start: Option<(i64, Option<String>)> = None;
    rd.rows(
        "TARGET_INFO_SESSION_START_TIME",
        &[("utcEpochNs", Req), ("utcTime", Opt)],
        |r| {
            if start.is_none() {
                if let Some(ns) = r.int(0)? {
                    start = Some((ns, r.text(1)?));
                }
            }
            Ok(())
        },
    )?;
    match start {
        Some((ns, utc)) => {
            imp.offset = ns;
            let at = utc.map_or(String::new(), |u| format!("{u} "));
            producer.push_str(&format!(
                ", session start {at}(utcEpochNs {ns}, added to every time)"
            ));
        }
        None => {
            producer.push_str(", times relative to the session start");
            imp.trace.warnings.push(Warning {
                kind: "no_session_start",
                input: imp.input,
                location: Location::File,
                field: "TARGET_INFO_SESSION_START_TIME.utcEpochNs".into(),
                message: "the export has no session start time: times stay in ns since the session start (not on the wall clock; --align or --shift can place them)".into(),
            });
        }
    }
    imp.trace.provenance.inputs[imp.input as usize].producer = Some(producer);
    // Names.
    rd.rows(
        "PROCESSES",
        &[("globalPid", Opt), ("pid", Opt), ("name", Opt)],
        |r| {
            let pid = match (r.int(1)?, r.int(0)?) {
                (Some(p), _) => p,
                (None, Some(g)) => global_pid(g),
                _ => return Ok(()),
            };
            if let Some(n) = r.text(2)? {
                imp.process_names.insert(pid, n);
            }
            Ok(())
        },
    )?;
    let mut names = Vec::new();
    rd.rows("ThreadNames", &[("nameId", Req), ("globalTid", Req)], |r| {
        if let (Some(n), Some(g)) = (r.int(0)?, r.int(1)?) {
            names.push((g, n));
        }
        Ok(())
    })?;
    for (g, n) in names {
        if let Some(s) = imp.strings.get(&n).cloned() {
            imp.thread_names.insert((global_pid(g), global_tid(g)), s);
        }
    }
    // GPUs: `TARGET_INFO_GPU` (id, name, and in 2022 exports cuDevice, the
    // CUDA device id the activity tables use); newer exports map CUDA
    // devices to GPUs in `TARGET_INFO_CUDA_DEVICE` (cudaId → gpuId).
    let mut gpus: Vec<(i64, Option<i64>, String)> = Vec::new();
    rd.rows(
        "TARGET_INFO_GPU",
        &[("id", Req), ("name", Opt), ("cuDevice", Opt)],
        |r| {
            if let (Some(id), Some(n)) = (r.int(0)?, r.text(1)?) {
                gpus.push((id, r.int(2)?, n));
            }
            Ok(())
        },
    )?;
    let mut cuda_to_gpu: Vec<(i64, i64)> = Vec::new();
    rd.rows(
        "TARGET_INFO_CUDA_DEVICE",
        &[("cudaId", Req), ("gpuId", Req)],
        |r| {
            if let (Some(c), Some(g)) = (r.int(0)?, r.int(1)?) {
                cuda_to_gpu.push((c, g));
            }
            Ok(())
        },
    )?;
    for (cuda, gpu) in cuda_to_gpu {
        if let Some((_, _, n)) = gpus.iter().find(|g| g.0 == gpu) {
            imp.device_labels.entry(cuda).or_insert_with(|| n.clone());
        }
    }
    for (id, cu, n) in gpus {
        imp.device_labels.entry(cu.unwrap_or(id)).or_insert(n);
    }
    Ok(())
}

/// CUDA runtime and driver API calls.
fn read_api(rd: &Reader, imp: &mut Importer) -> Result<(), InputError> {
    let classes = rd.enum_labels("ENUM_NSYS_EVENT_CLASS")?;
    // Backtrace records: (globalTid, correlation id) → callchain id.
    let mut backtraces: FxHashMap<(i64, i64), i64> = FxHashMap::default();
    let cols = [
        ("start", Req),
        ("end", Req),
        ("globalTid", Req),
        ("nameId", Req),
        ("eventClass", Opt),
        ("correlationId", Opt),
        ("returnValue", Opt),
        ("callchainId", Opt),
    ];
    for table in ["CUPTI_ACTIVITY_KIND_RUNTIME", "CUPTI_ACTIVITY_KIND_DRIVER"] {
        let driver_table = table.ends_with("DRIVER");
        let mut calls: Vec<(i64, i64, i64, SliceId)> = Vec::new();
        let n = rd.rows(table, &cols, |r| {
            let class = r.int(4)?;
            let (gtid, corr) = (r.int(2)?, r.int(5)?);
            if class == Some(CLASS_BACKTRACE) {
                if let (Some(g), Some(c), Some(chain)) = (gtid, corr, r.int(7)?) {
                    backtraces.insert((g, c), chain);
                }
                return Ok(());
            }
            let Some(span) = imp.span(r, table, r.int(0)?, r.int(1)?, "API call")? else {
                return Ok(());
            };
            let Some(g) = gtid else {
                imp.warn(
                    "null_field",
                    table,
                    r.rowid,
                    "globalTid",
                    format!("row id {} of table {table}: `globalTid` is NULL; the call has no thread and is left out", r.rowid),
                );
                return Ok(());
            };
            let raw = imp.string(r.int(3)?).unwrap_or("[unknown API]").to_owned();
            let (category, runtime) = match class {
                Some(CLASS_DRIVER) => ("cuda_driver", false),
                Some(CLASS_RUNTIME) => ("cuda_runtime", true),
                None if driver_table => ("cuda_driver", false),
                None => ("cuda_runtime", true),
                Some(c) => match classes.get(&c).map(String::as_str) {
                    Some(l) if l.to_ascii_lowercase().contains("driver") => ("cuda_driver", false),
                    _ => ("cuda_api", false),
                },
            };
            let mut args = Vec::new();
            push_int(&mut args, "correlationId", corr);
            push_int(&mut args, "returnValue", r.int(6)?);
            push_int(&mut args, "eventClass", class);
            push_int(&mut args, "callchainId", r.int(7)?);
            let name = api_name(&raw).to_owned();
            if name != raw {
                args.push(("nsys_name", ArgValue::Str(raw)));
            }
            let track = imp.thread(g);
            let id = imp.add(track, span, &name, category, args, SliceKind::Span);
            if let Some(c) = corr {
                let key = (global_pid(g), c);
                let entry = imp.launches.entry(key).or_insert((id, runtime));
                // A runtime call wins over the driver call it made.
                if runtime && !entry.1 {
                    *entry = (id, runtime);
                }
                calls.push((g, c, class.unwrap_or(-1), id));
            }
            Ok(())
        })?;
        imp.records += n;
        // Backtraces become their call's `callchainId`.
        for (g, c, _, id) in calls {
            if let Some(&chain) = backtraces.get(&(g, c)) {
                let s = imp.trace.slices[id.index()].clone();
                let has = imp
                    .trace
                    .arg_list(s.args)
                    .iter()
                    .any(|a| imp.trace.str(a.key) == "callchainId");
                if !has {
                    let mut list: Vec<(StrId, ArgValue)> = imp
                        .trace
                        .arg_list(s.args)
                        .iter()
                        .map(|a| (a.key, a.value.clone()))
                        .collect();
                    list.push((imp.key("callchainId"), ArgValue::Int(chain)));
                    let args: Args = imp.trace.add_args(list);
                    imp.trace.slices[id.index()].args = args;
                }
            }
        }
        backtraces.clear();
    }
    Ok(())
}

/// Kernels, memcpys, memsets and synchronizations.
fn read_gpu(rd: &Reader, imp: &mut Importer) -> Result<(), InputError> {
    let copy_kinds = rd.enum_labels("ENUM_CUDA_MEMCPY_OPER")?;
    let mem_kinds = rd.enum_labels("ENUM_CUDA_MEM_KIND")?;
    let sync_types = rd.enum_labels("ENUM_CUPTI_SYNC_TYPE")?;
    let label = |map: &FxHashMap<i64, String>, doc: fn(i64) -> Option<&'static str>, v: i64| {
        map.get(&v)
            .cloned()
            .or_else(|| doc(v).map(str::to_owned))
            .unwrap_or_else(|| format!("kind {v}"))
    };

    // Kernels.
    let t = "CUPTI_ACTIVITY_KIND_KERNEL";
    let kcols = [
        ("start", Req),
        ("end", Req),
        ("deviceId", Req),
        ("streamId", Req),
        ("demangledName", Opt),
        ("shortName", Opt),
        ("contextId", Opt),
        ("correlationId", Opt),
        ("globalPid", Opt),
        ("gridX", Opt),
        ("gridY", Opt),
        ("gridZ", Opt),
        ("blockX", Opt),
        ("blockY", Opt),
        ("blockZ", Opt),
        ("staticSharedMemory", Opt),
        ("dynamicSharedMemory", Opt),
        ("registersPerThread", Opt),
        ("graphNodeId", Opt),
        ("greenContextId", Opt),
        ("localMemoryPerThread", Opt),
        ("sharedMemoryExecuted", Opt),
        ("launchType", Opt),
        ("gridId", Opt),
        ("mangledName", Opt),
    ];
    if rd.has(t) {
        let have = rd.columns(t)?;
        if !have.contains("demangledName") && !have.contains("shortName") {
            return Err(InputError::new(
                rd.path,
                Position::File,
                format!("table {t} has neither `demangledName` nor `shortName`: kernels would have no names"),
            )
            .field(format!("{t}.demangledName")));
        }
    }
    let n = rd.rows(t, &kcols, |r| {
        let Some(span) = imp.span(r, t, r.int(0)?, r.int(1)?, "kernel")? else {
            return Ok(());
        };
        let (Some(dev), Some(stream)) = (r.int(2)?, r.int(3)?) else {
            let col = if r.int(2)?.is_none() { "deviceId" } else { "streamId" };
            imp.warn("null_field", t, r.rowid, col, format!("row id {} of table {t}: `{col}` is NULL; the kernel has no stream and is left out", r.rowid));
            return Ok(());
        };
        let (dn, sn) = (r.int(4)?, r.int(5)?);
        let name = imp
            .string(dn)
            .or_else(|| imp.string(sn))
            .map(str::to_owned)
            .unwrap_or_else(|| {
                format!("[kernel: StringIds id {} not found]", dn.or(sn).unwrap_or(-1))
            });
        let mut args = vec![("deviceId", ArgValue::Int(dev)), ("streamId", ArgValue::Int(stream))];
        push_int(&mut args, "contextId", r.int(6)?);
        let corr = r.int(7)?;
        push_int(&mut args, "correlationId", corr);
        for (k, key) in [
            (9, "gridX"),
            (10, "gridY"),
            (11, "gridZ"),
            (12, "blockX"),
            (13, "blockY"),
            (14, "blockZ"),
            (15, "staticSharedMemory"),
            (16, "dynamicSharedMemory"),
            (17, "registersPerThread"),
            (18, "graphNodeId"),
            (19, "greenContextId"),
            (20, "localMemoryPerThread"),
            (21, "sharedMemoryExecuted"),
            (22, "launchType"),
            (23, "gridId"),
        ] {
            push_int(&mut args, key, r.int(k)?);
        }
        if let Some(s) = imp.string(sn) {
            args.push(("shortName", ArgValue::Str(s.to_owned())));
        }
        if let Some(s) = imp.string(r.int(24)?) {
            args.push(("mangledName", ArgValue::Str(s.to_owned())));
        }
        let track = imp.stream(dev, Some(stream));
        let id = imp.add(track, span, &name, "kernel", args, SliceKind::Span);
        imp.work_rows.push((id, track, t, r.rowid));
        if let Some(c) = corr {
            imp.gpu_work.push((r.int(8)?.map_or(-1, global_pid), c, id));
        }
        Ok(())
    })?;
    imp.records += n;

    // Memcpys.
    let t = "CUPTI_ACTIVITY_KIND_MEMCPY";
    let mcols = [
        ("start", Req),
        ("end", Req),
        ("deviceId", Req),
        ("streamId", Req),
        ("copyKind", Opt),
        ("bytes", Opt),
        ("srcKind", Opt),
        ("dstKind", Opt),
        ("contextId", Opt),
        ("correlationId", Opt),
        ("globalPid", Opt),
        ("graphNodeId", Opt),
        ("srcDeviceId", Opt),
        ("dstDeviceId", Opt),
        ("greenContextId", Opt),
    ];
    let n = rd.rows(t, &mcols, |r| {
        let Some(span) = imp.span(r, t, r.int(0)?, r.int(1)?, "memcpy")? else {
            return Ok(());
        };
        let (Some(dev), Some(stream)) = (r.int(2)?, r.int(3)?) else {
            let col = if r.int(2)?.is_none() { "deviceId" } else { "streamId" };
            imp.warn("null_field", t, r.rowid, col, format!("row id {} of table {t}: `{col}` is NULL; the memcpy has no stream and is left out", r.rowid));
            return Ok(());
        };
        let kind = r.int(4)?;
        let name = match kind {
            Some(k) => format!("[CUDA memcpy {}]", label(&copy_kinds, copy_kind_label, k)),
            None => "[CUDA memcpy]".to_owned(),
        };
        let mut args = vec![("deviceId", ArgValue::Int(dev)), ("streamId", ArgValue::Int(stream))];
        push_int(&mut args, "bytes", r.int(5)?);
        if let Some(k) = kind {
            args.push(("copyKind", ArgValue::Str(label(&copy_kinds, copy_kind_label, k))));
        }
        if let Some(k) = r.int(6)? {
            args.push(("srcKind", ArgValue::Str(label(&mem_kinds, memory_kind_label, k))));
        }
        if let Some(k) = r.int(7)? {
            args.push(("dstKind", ArgValue::Str(label(&mem_kinds, memory_kind_label, k))));
        }
        push_int(&mut args, "contextId", r.int(8)?);
        let corr = r.int(9)?;
        push_int(&mut args, "correlationId", corr);
        push_int(&mut args, "graphNodeId", r.int(11)?);
        push_int(&mut args, "srcDeviceId", r.int(12)?);
        push_int(&mut args, "dstDeviceId", r.int(13)?);
        push_int(&mut args, "greenContextId", r.int(14)?);
        let track = imp.stream(dev, Some(stream));
        let id = imp.add(track, span, &name, "gpu_memcpy", args, SliceKind::Span);
        imp.work_rows.push((id, track, t, r.rowid));
        if let Some(c) = corr {
            imp.gpu_work.push((r.int(10)?.map_or(-1, global_pid), c, id));
        }
        Ok(())
    })?;
    imp.records += n;

    // Memsets.
    let t = "CUPTI_ACTIVITY_KIND_MEMSET";
    let scols = [
        ("start", Req),
        ("end", Req),
        ("deviceId", Req),
        ("streamId", Req),
        ("bytes", Opt),
        ("value", Opt),
        ("memKind", Opt),
        ("contextId", Opt),
        ("correlationId", Opt),
        ("globalPid", Opt),
        ("graphNodeId", Opt),
        ("greenContextId", Opt),
    ];
    let n = rd.rows(t, &scols, |r| {
        let Some(span) = imp.span(r, t, r.int(0)?, r.int(1)?, "memset")? else {
            return Ok(());
        };
        let (Some(dev), Some(stream)) = (r.int(2)?, r.int(3)?) else {
            let col = if r.int(2)?.is_none() { "deviceId" } else { "streamId" };
            imp.warn("null_field", t, r.rowid, col, format!("row id {} of table {t}: `{col}` is NULL; the memset has no stream and is left out", r.rowid));
            return Ok(());
        };
        let mut args = vec![("deviceId", ArgValue::Int(dev)), ("streamId", ArgValue::Int(stream))];
        push_int(&mut args, "bytes", r.int(4)?);
        push_int(&mut args, "value", r.int(5)?);
        if let Some(k) = r.int(6)? {
            args.push(("memKind", ArgValue::Str(label(&mem_kinds, memory_kind_label, k))));
        }
        push_int(&mut args, "contextId", r.int(7)?);
        let corr = r.int(8)?;
        push_int(&mut args, "correlationId", corr);
        push_int(&mut args, "graphNodeId", r.int(10)?);
        push_int(&mut args, "greenContextId", r.int(11)?);
        let track = imp.stream(dev, Some(stream));
        let id = imp.add(track, span, "[CUDA memset]", "gpu_memset", args, SliceKind::Span);
        imp.work_rows.push((id, track, t, r.rowid));
        if let Some(c) = corr {
            imp.gpu_work.push((r.int(9)?.map_or(-1, global_pid), c, id));
        }
        Ok(())
    })?;
    imp.records += n;

    // Synchronizations: on their stream; context-wide ones (no valid
    // stream) on the device's `context sync` thread.
    let t = "CUPTI_ACTIVITY_KIND_SYNCHRONIZATION";
    let ycols = [
        ("start", Req),
        ("end", Req),
        ("deviceId", Opt),
        ("streamId", Opt),
        ("contextId", Opt),
        ("syncType", Opt),
        ("correlationId", Opt),
        ("eventId", Opt),
    ];
    let n = rd.rows(t, &ycols, |r| {
        let Some(span) = imp.span(r, t, r.int(0)?, r.int(1)?, "synchronization")? else {
            return Ok(());
        };
        let Some(dev) = r.int(2)? else {
            imp.warn("null_field", t, r.rowid, "deviceId", format!("row id {} of table {t}: `deviceId` is NULL; the synchronization has no device and is left out", r.rowid));
            return Ok(());
        };
        // CUPTI writes an all-ones stream id (u32::MAX) for context syncs.
        let stream = r.int(3)?.filter(|&s| (0..i64::from(u32::MAX)).contains(&s));
        let kind = r.int(5)?;
        let name = match kind {
            Some(k) => label(&sync_types, sync_type_label, k),
            None => "Synchronization".to_owned(),
        };
        let mut args = vec![("deviceId", ArgValue::Int(dev))];
        push_int(&mut args, "streamId", r.int(3)?);
        push_int(&mut args, "contextId", r.int(4)?);
        push_int(&mut args, "syncType", kind);
        push_int(&mut args, "correlationId", r.int(6)?);
        push_int(&mut args, "eventId", r.int(7)?);
        let track = imp.stream(dev, stream);
        imp.add(track, span, &name, "cuda_sync", args, SliceKind::Span);
        Ok(())
    })?;
    imp.records += n;
    Ok(())
}

/// NVTX ranges and marks.
fn read_nvtx(rd: &Reader, imp: &mut Importer) -> Result<(), InputError> {
    let t = "NVTX_EVENTS";
    let cols = [
        ("start", Req),
        ("end", Opt),
        ("eventType", Req),
        ("text", Opt),
        ("textId", Opt),
        ("globalTid", Opt),
        ("endGlobalTid", Opt),
        ("domainId", Opt),
        ("category", Opt),
        ("color", Opt),
        ("rangeId", Opt),
        ("uint64Value", Opt),
        ("int64Value", Opt),
        ("doubleValue", Opt),
        ("uint32Value", Opt),
        ("int32Value", Opt),
        ("floatValue", Opt),
        ("jsonTextId", Opt),
        ("jsonText", Opt),
    ];
    // Domain and category names first: they are rows of the same table.
    let mut domains: FxHashMap<i64, String> = FxHashMap::default();
    let mut categories: FxHashMap<(i64, i64), String> = FxHashMap::default();
    rd.rows(t, &cols, |r| {
        let ty = r.int(2)?;
        if ty != Some(nvtx_type::DOMAIN_CREATE) && ty != Some(nvtx_type::CATEGORY) {
            return Ok(());
        }
        let text = match r.text(3)? {
            Some(s) => Some(s),
            None => imp.string(r.int(4)?).map(str::to_owned),
        };
        let Some(text) = text else { return Ok(()) };
        let domain = r.int(7)?.unwrap_or(0);
        if ty == Some(nvtx_type::DOMAIN_CREATE) {
            domains.insert(domain, text);
        } else if let Some(c) = r.int(8)? {
            categories.insert((domain, c), text);
        }
        Ok(())
    })?;
    let n = rd.rows(t, &cols, |r| {
        let ty = r.int(2)?;
        let kind = match ty {
            Some(nvtx_type::PUSH_POP_RANGE) | Some(nvtx_type::START_END_RANGE) => SliceKind::Span,
            Some(nvtx_type::MARK) => SliceKind::Instant,
            // Names (domains, categories, threads), not events.
            Some(nvtx_type::CATEGORY)
            | Some(nvtx_type::DOMAIN_CREATE)
            | Some(nvtx_type::DOMAIN_DESTROY)
            | Some(nvtx_type::THREAD) => return Ok(()),
            other => {
                imp.warn(
                    "unknown_nvtx_event_type",
                    t,
                    r.rowid,
                    "eventType",
                    format!(
                        "row id {} of table {t}: eventType {} is not an NVTX range or mark this importer knows; left out",
                        r.rowid,
                        other.map_or("NULL".into(), |v| v.to_string())
                    ),
                );
                return Ok(());
            }
        };
        let start = r.int(0)?;
        let end = if kind == SliceKind::Instant { start } else { r.int(1)? };
        let what = if kind == SliceKind::Instant { "NVTX mark" } else { "NVTX range" };
        let Some(span) = imp.span(r, t, start, end, what)? else {
            return Ok(());
        };
        let Some(g) = r.int(5)?.or(r.int(6)?) else {
            imp.warn("null_field", t, r.rowid, "globalTid", format!("row id {} of table {t}: `globalTid` is NULL; the {what} has no thread and is left out", r.rowid));
            return Ok(());
        };
        let text = match r.text(3)? {
            Some(s) => s,
            None => imp.string(r.int(4)?).unwrap_or("").to_owned(),
        };
        let domain = r.int(7)?;
        let mut args = Vec::new();
        args.push((
            "nvtx_type",
            ArgValue::Str(
                match ty {
                    Some(nvtx_type::PUSH_POP_RANGE) => "push/pop range",
                    Some(nvtx_type::START_END_RANGE) => "start/end range",
                    _ => "mark",
                }
                .to_owned(),
            ),
        ));
        if let Some(d) = domain {
            push_int(&mut args, "domainId", Some(d));
            if let Some(n) = domains.get(&d) {
                args.push(("domain", ArgValue::Str(n.clone())));
            }
        }
        if let Some(c) = r.int(8)? {
            push_int(&mut args, "category", Some(c));
            if let Some(n) = categories.get(&(domain.unwrap_or(0), c)) {
                args.push(("category_name", ArgValue::Str(n.clone())));
            }
        }
        if let Some(c) = r.int(9)? {
            args.push(("color", ArgValue::Str(format!("#{:06x}", c & 0xFF_FFFF))));
        }
        push_int(&mut args, "rangeId", r.int(10)?);
        // The payload: whichever member is set.
        if let Some(v) = r.int(11)? {
            // uint64 stored in SQLite's signed integer.
            args.push(("payload", ArgValue::Uint(v as u64)));
        } else if let Some(v) = r.int(12)? {
            args.push(("payload", ArgValue::Int(v)));
        } else if let Some(v) = r.real(13)? {
            args.push(("payload", ArgValue::Real(v)));
        } else if let Some(v) = r.int(14)? {
            args.push(("payload", ArgValue::Int(v)));
        } else if let Some(v) = r.int(15)? {
            args.push(("payload", ArgValue::Int(v)));
        } else if let Some(v) = r.real(16)? {
            args.push(("payload", ArgValue::Real(v)));
        } else if let Some(v) = r.text(18)? {
            args.push(("payload", ArgValue::Str(v)));
        } else if let Some(v) = imp.string(r.int(17)?) {
            args.push(("payload", ArgValue::Str(v.to_owned())));
        }
        if let Some(e) = r.int(6)? {
            if r.int(5)?.is_some_and(|s| s != e) {
                args.push(("endGlobalTid", ArgValue::Int(e)));
            }
        }
        let name = if text.is_empty() { "[NVTX]" } else { &text };
        let track = imp.thread(g);
        imp.add(track, span, name, "user_annotation", args, kind);
        Ok(())
    })?;
    imp.records += n;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn global_ids_and_names() {
        let g = 302_119_224_788_637i64;
        assert_eq!(global_pid(g), 1_230_493);
        assert_eq!(global_tid(g), 1_230_493);
        assert_eq!(api_name("cudaMalloc_v3020"), "cudaMalloc");
        assert_eq!(api_name("cudaLaunchKernel"), "cudaLaunchKernel");
        assert_eq!(api_name("cuda_v"), "cuda_v");
        assert_eq!(api_name("x_v2a"), "x_v2a");
        assert_eq!(copy_kind_label(1), Some("Host-to-Device"));
        assert_eq!(memory_kind_label(2), Some("Device"));
        assert_eq!(sync_type_label(3), Some("Stream sync"));
    }
}
