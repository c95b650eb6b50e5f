//! `export`: the SQL layer's tables of many inputs as Parquet files that
//! DuckDB, Spark or Trino read, one Hive partition per input:
//! `DIR/<table>/input=<label>/part-0.parquet`, plus `DIR/views.sql`
//! (DuckDB views, [`views`]).
//!
//! - Tables: every table of [`crate::sql::tables::all`], with the same names,
//!   columns and types ([`parquet`] says how SQL types map), so one
//!   definition serves SQLite, `db` files and Parquet. Ids are unique per
//!   input; the partition makes them unique together.
//! - Every row carries `input` (the partition: the input's [`labels`]) and,
//!   as columns, `rank` (Kineto `distributedInfo.rank`), `host` and `pid`
//!   (a TensorRT-LLM `perf_metrics-{kind}-{host}-{pid}-{stamp}.jsonl` file
//!   name), NULL where the input does not say — except in a table that has a
//!   column of that name already (`process.pid` is the process's own pid,
//!   `process.rank` the same rank, `iteration.rank` the record's own).
//! - Inputs are exported independently and in parallel, `jobs` at a time:
//!   each is imported alone, its tables written in row groups (`args`
//!   first, streamed as its rows are flattened, never all in memory; the
//!   tables that number arg sets after it; the others meanwhile), the
//!   column chunks of a row group encoded in parallel; then the model is
//!   dropped and its memory handed back. Peak memory is about `jobs` × the
//!   memory of the largest input's model (see the README's limits), not
//!   their sum.
//! - Atomic per input: every table of an input is written to a temporary
//!   file in its partition directory, then all are renamed into place and a
//!   completion marker `DIR/_export/<label>.json` records the input's path,
//!   size and modification time. `resume` skips an input whose marker
//!   matches it and whose partitions all exist. A failing input is reported
//!   and leaves its earlier partitions (if any) as they were; the others
//!   still export.

pub mod parquet;
pub mod views;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::error::{Error, Result};
use crate::ingest::{self, Format};
use crate::model::Trace;
use crate::sql::tables::{self, Store};
use parquet::{Extra, ExtraValue, Kind};

/// What `export` does.
#[derive(Clone, Debug)]
pub struct Options {
    /// The export directory (created if missing).
    pub dir: PathBuf,
    /// Force the input format instead of detecting it.
    pub format: Option<Format>,
    pub salvage: bool,
    /// Inputs in flight at once (≥ 1).
    pub jobs: usize,
    /// Skip inputs whose partitions are complete.
    pub resume: bool,
    /// Rows per Parquet row group.
    pub rows_per_group: usize,
}

/// What happened to one input, as it happens (for progress output).
#[derive(Debug)]
pub enum Event<'a> {
    Exported {
        path: &'a Path,
        label: &'a str,
        rows: u64,
        seconds: f64,
    },
    Skipped {
        path: &'a Path,
        label: &'a str,
    },
    Failed {
        path: &'a Path,
        error: &'a Error,
    },
}

/// Totals of a run.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Summary {
    pub exported: usize,
    pub skipped: usize,
    pub failed: usize,
    pub rows: u64,
}

/// File names that `expand` picks from a directory: what the importers read
/// (JSON, JSON Lines, gzip, Perfetto traces, SQLite databases, Prometheus text).
const TRACE_EXTENSIONS: &[&str] = &[
    "json",
    "jsonl",
    "gz",
    "pftrace",
    "perfetto-trace",
    "sqlite",
    "prom",
];

/// The inputs: files as given, directories replaced by the files in them
/// (recursively, sorted by path; hidden entries and `skip` — the export
/// directory — left out) whose extension is one of the trace extensions.
pub fn expand(args: &[PathBuf], skip: &Path) -> Result<Vec<PathBuf>> {
    let skip = std::fs::canonicalize(skip).ok();
    let mut out = Vec::new();
    for a in args {
        if a.is_dir() {
            let before = out.len();
            walk(a, skip.as_deref(), &mut out)?;
            out[before..].sort();
        } else {
            out.push(a.clone());
        }
    }
    Ok(out)
}

fn walk(dir: &Path, skip: Option<&Path>, out: &mut Vec<PathBuf>) -> Result<()> {
    let rerr = |source| Error::Read {
        path: dir.to_owned(),
        source,
    };
    if skip.is_some() && std::fs::canonicalize(dir).ok().as_deref() == skip {
        return Ok(());
    }
    for e in std::fs::read_dir(dir).map_err(rerr)? {
        let e = e.map_err(rerr)?;
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') {
            continue;
        }
        let p = e.path();
        if p.is_dir() {
            walk(&p, skip, out)?;
        } else if p.is_file()
            && p.extension()
                .is_some_and(|x| TRACE_EXTENSIONS.contains(&&*x.to_string_lossy()))
        {
            out.push(p);
        }
    }
    Ok(())
}

/// Extensions left off a file name to make its label.
const STRIPPED: &[&str] = &[
    "gz",
    "json",
    "jsonl",
    "pftrace",
    "perfetto-trace",
    "sqlite",
    "prom",
    "txt",
    "trace",
    "pt",
];

/// Characters kept in a label; others become `_` (so a label is one
/// directory name, the same in DuckDB, Spark and any file system, and never
/// needs Hive's `%XX` escaping).
fn label_char(c: char) -> char {
    if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
        c
    } else {
        '_'
    }
}

fn stem(path: &Path) -> String {
    let mut name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    while let Some((head, ext)) = name.rsplit_once('.') {
        if head.is_empty() || !STRIPPED.contains(&ext.to_ascii_lowercase().as_str()) {
            break;
        }
        name = head.to_owned();
    }
    name
}

fn clean(s: &str) -> String {
    let s: String = s.chars().map(label_char).collect();
    let s = s.trim_matches('.').to_owned();
    if s.is_empty() {
        "input".into()
    } else {
        s
    }
}

/// One partition label per input, unique: the file name without its trace
/// extensions (`rank-0.pt.trace.json.gz` → `rank-0`), characters other than
/// ASCII letters, digits, `-`, `_`, `.` replaced by `_`. Inputs whose labels
/// collide get their parent directories' names in front (`run1_rank-0`,
/// `run2_rank-0`), as many as it takes; if that is not enough, `-2`, `-3`, ...
/// after the later ones, in argument order.
pub fn labels(inputs: &[PathBuf]) -> Vec<String> {
    let comps: Vec<Vec<String>> = inputs
        .iter()
        .map(|p| {
            let abs = std::path::absolute(p).unwrap_or_else(|_| p.clone());
            let mut v: Vec<String> = abs
                .parent()
                .map(|d| {
                    d.components()
                        .filter_map(|c| match c {
                            std::path::Component::Normal(s) => {
                                Some(s.to_string_lossy().into_owned())
                            }
                            _ => None,
                        })
                        .collect()
                })
                .unwrap_or_default();
            v.reverse(); // nearest parent first
            v
        })
        .collect();
    let mut depth = vec![0usize; inputs.len()];
    let make = |i: usize, d: usize| -> String {
        let mut parts: Vec<String> = comps[i].iter().take(d).cloned().collect();
        parts.reverse();
        parts.push(stem(&inputs[i]));
        clean(&parts.join("_"))
    };
    let mut out: Vec<String> = (0..inputs.len()).map(|i| make(i, 0)).collect();
    // Every label that collides takes one more directory, all at once, until
    // none collides or the directories run out.
    loop {
        let dups: Vec<usize> = (0..out.len())
            .filter(|&i| (0..out.len()).any(|j| j != i && out[j] == out[i]))
            .filter(|&i| depth[i] < comps[i].len())
            .collect();
        if dups.is_empty() {
            break;
        }
        for i in dups {
            depth[i] += 1;
            out[i] = make(i, depth[i]);
        }
    }
    for i in 0..out.len() {
        if (0..i).any(|j| out[j] == out[i]) {
            let mut k = 2;
            while out.iter().any(|o| *o == format!("{}-{k}", out[i])) {
                k += 1;
            }
            out[i] = format!("{}-{k}", out[i]);
        }
    }
    out
}

/// The tables every input gets, in order (names only; shapes come from the
/// input's own model since `iteration`'s columns depend on it).
pub fn table_names() -> Vec<&'static str> {
    tables::all(&Store::new(Trace::new()))
        .iter()
        .map(|t| t.def.name)
        .collect()
}

/// Path of the partition file of `table` for `label`.
pub fn partition_file(dir: &Path, table: &str, label: &str) -> PathBuf {
    dir.join(table)
        .join(format!("input={label}"))
        .join("part-0.parquet")
}

fn marker_file(dir: &Path, label: &str) -> PathBuf {
    dir.join("_export").join(format!("{label}.json"))
}

/// What identifies an input for `resume`: absolute path, size, mtime (ns).
fn identity(path: &Path) -> Option<serde_json::Value> {
    let m = std::fs::metadata(path).ok()?;
    let mtime = m
        .modified()
        .ok()?
        .duration_since(std::time::UNIX_EPOCH)
        .ok()?
        .as_nanos() as u64;
    let abs = std::path::absolute(path).ok()?;
    Some(serde_json::json!({
        "path": abs.to_string_lossy(),
        "bytes": m.len(),
        "mtime_ns": mtime,
    }))
}

/// Whether `label`'s partitions are complete for this very input.
fn complete(dir: &Path, label: &str, path: &Path) -> bool {
    let Some(id) = identity(path) else {
        return false;
    };
    let Ok(text) = std::fs::read_to_string(marker_file(dir, label)) else {
        return false;
    };
    let Ok(m) = serde_json::from_str::<serde_json::Value>(&text) else {
        return false;
    };
    m.get("input") == Some(&id)
        && m.get("tool_version").and_then(|v| v.as_str()) == Some(env!("CARGO_PKG_VERSION"))
        && table_names()
            .iter()
            .all(|t| partition_file(dir, t, label).is_file())
}

/// The per-input columns of `trace`'s only input.
fn extras(trace: &Trace) -> Vec<Extra> {
    let info = trace.provenance.inputs.first();
    vec![
        Extra {
            name: "rank",
            kind: Kind::Int,
            value: info.and_then(|i| i.rank).map(ExtraValue::Int),
        },
        Extra {
            name: "host",
            kind: Kind::Text,
            value: info.and_then(|i| i.host.clone()).map(ExtraValue::Text),
        },
        Extra {
            name: "pid",
            kind: Kind::Int,
            value: info.and_then(|i| i.pid).map(ExtraValue::Int),
        },
    ]
}

/// A new temporary file in the partition directory of `table` for
/// `label`, and the partition file it becomes.
fn staging(opts: &Options, table: &str, label: &str) -> Result<(tempfile::NamedTempFile, PathBuf)> {
    let target = partition_file(&opts.dir, table, label);
    let part_dir = target.parent().expect("a partition file has a directory");
    let werr = |source: std::io::Error| Error::Write {
        path: target.clone(),
        source,
    };
    std::fs::create_dir_all(part_dir).map_err(werr)?;
    let tmp = tempfile::Builder::new()
        .prefix(".part-0.")
        .suffix(".tmp")
        .permissions(std::os::unix::fs::PermissionsExt::from_mode(0o666))
        .tempfile_in(part_dir)
        .map_err(werr)?;
    Ok((tmp, target))
}

/// What every partition file of one input shares.
struct Input<'a> {
    opts: &'a Options,
    label: &'a str,
    extras: Vec<Extra>,
    /// The input's file name and SHA-256, for the footer.
    name: String,
    sha256: String,
}

/// A written temporary file, the partition file it becomes, its rows.
type Staged = (tempfile::NamedTempFile, PathBuf, u64);

impl Input<'_> {
    /// Stages the partition file of table `def`: `write` fills it.
    fn stage(
        &self,
        def: &crate::sql::vtab::TableDef,
        write: impl FnOnce(
            &mut std::io::BufWriter<&std::fs::File>,
            Vec<(String, String)>,
        ) -> std::result::Result<u64, String>,
    ) -> Result<Staged> {
        let (tmp, target) = staging(self.opts, def.name, self.label)?;
        let werr = |source: std::io::Error| Error::Write {
            path: target.clone(),
            source,
        };
        let mut w = std::io::BufWriter::with_capacity(1 << 20, tmp.as_file());
        // The footer names the input as a trace's provenance does: file
        // name and SHA-256, no directories.
        let meta = vec![
            ("breakdown_trace.input".to_owned(), self.name.clone()),
            (
                "breakdown_trace.input_sha256".to_owned(),
                self.sha256.clone(),
            ),
            ("breakdown_trace.table".to_owned(), def.name.to_owned()),
        ];
        let rows = write(&mut w, meta).map_err(|m| werr(std::io::Error::other(m)))?;
        use std::io::Write;
        w.flush().map_err(werr)?;
        drop(w);
        Ok((tmp, target, rows))
    }

    /// Writes table `t` (then drops it, and the rows it built).
    fn table(&self, t: Arc<crate::sql::vtab::Lazy>) -> Result<Staged> {
        self.stage(&t.def, |w, meta| {
            parquet::write_table(
                w,
                &t.def,
                t.table(),
                &self.extras,
                meta,
                self.opts.rows_per_group,
            )
        })
    }

    /// Writes `args` (shape `def`) as [`Store::stream_args`] hands out its
    /// rows, one row group at a time: they are never all in memory.
    fn args(&self, store: &Store, def: &crate::sql::vtab::TableDef) -> Result<Staged> {
        self.stage(def, |w, meta| {
            // Every column of `args` is typed: no cells needed for the schema.
            debug_assert!(def.columns.iter().all(|c| !c.ty.is_empty()));
            let none = crate::sql::tables::ValueRows(Vec::new());
            let mut tw = parquet::TableWriter::new(w, def, &none, &self.extras, meta)?;
            store.stream_args(self.opts.rows_per_group, |chunk| {
                tw.write_group(&chunk, 0..chunk.rows.len())
            })?;
            tw.finish()
        })
    }
}

/// Imports `path` alone and writes its partitions; returns the rows written.
fn export_one(path: &Path, label: &str, opts: &Options) -> Result<u64> {
    let lo = ingest::LoadOptions {
        format: opts.format,
        salvage: opts.salvage,
        requests_only: false,
        ..Default::default()
    };
    let trace = ingest::load_with(&[path.to_owned()], &lo)?;
    let (name, sha256) = trace
        .provenance
        .inputs
        .first()
        .map(|i| (i.name.clone(), i.sha256.clone()))
        .unwrap_or_default();
    let input = Input {
        opts,
        label,
        extras: extras(&trace),
        name,
        sha256,
    };
    let store = Store::new(trace);
    // `args` first, streamed; the tables with an `arg_set_id` column after
    // it (they read the numbering it leaves); the others meanwhile, in
    // parallel.
    let (mut args, mut numbered, mut others) = (None, Vec::new(), Vec::new());
    for t in tables::all(&store) {
        if t.def.name == "args" {
            args = Some(t);
        } else if t.def.column("arg_set_id").is_some() {
            numbered.push(t);
        } else {
            others.push(t);
        }
    }
    let args = args.expect("`args` is one of the tables");
    let (first, rest) = rayon::join(
        || -> Result<Vec<Staged>> {
            let mut v = vec![input.args(&store, &args.def)?];
            drop(args);
            for t in numbered {
                v.push(input.table(t)?);
            }
            Ok(v)
        },
        || -> Result<Vec<Staged>> {
            use rayon::prelude::*;
            others.into_par_iter().map(|t| input.table(t)).collect()
        },
    );
    let staged: Vec<Staged> = first?.into_iter().chain(rest?).collect();
    drop(store);
    release_freed_memory();
    let mut rows = 0;
    for (tmp, target, n) in staged {
        rows += n;
        tmp.persist(&target).map_err(|e| Error::Write {
            path: target.clone(),
            source: e.error,
        })?;
    }
    let marker = marker_file(&opts.dir, label);
    let m = serde_json::json!({
        "input": identity(path),
        "label": label,
        "tool_version": env!("CARGO_PKG_VERSION"),
        "rows": rows,
    });
    std::fs::create_dir_all(marker.parent().expect("marker has a directory")).map_err(
        |source| Error::Write {
            path: marker.clone(),
            source,
        },
    )?;
    crate::output::write_atomically(&marker, |w| {
        use std::io::Write;
        w.write_all(m.to_string().as_bytes())
            .map_err(|source| Error::Write {
                path: marker.clone(),
                source,
            })
    })?;
    Ok(rows)
}

/// Exports `inputs` (already expanded) into `opts.dir`, `opts.jobs` at a
/// time; `on_event` hears about each input as it finishes. Writes
/// `views.sql` at the end (also when some inputs failed). Returns the totals;
/// failures are counted there, not returned as errors (the caller decides
/// the exit code), except when the directory itself cannot be written.
pub fn export(
    inputs: &[PathBuf],
    opts: &Options,
    on_event: &(dyn Fn(Event<'_>) + Sync),
) -> Result<Summary> {
    std::fs::create_dir_all(&opts.dir).map_err(|source| Error::Write {
        path: opts.dir.clone(),
        source,
    })?;
    let labels = labels(inputs);
    let next = AtomicUsize::new(0);
    let summary = Arc::new(Mutex::new(Summary::default()));
    let jobs = opts.jobs.max(1).min(inputs.len().max(1));
    limit_arenas(jobs);
    std::thread::scope(|sc| {
        for _ in 0..jobs {
            sc.spawn(|| loop {
                let i = next.fetch_add(1, Ordering::SeqCst);
                let Some(path) = inputs.get(i) else {
                    break;
                };
                let label = &labels[i];
                if opts.resume && complete(&opts.dir, label, path) {
                    summary.lock().unwrap_or_else(|e| e.into_inner()).skipped += 1;
                    on_event(Event::Skipped { path, label });
                    continue;
                }
                let t0 = Instant::now();
                match export_one(path, label, opts) {
                    Ok(rows) => {
                        {
                            let mut s = summary.lock().unwrap_or_else(|e| e.into_inner());
                            s.exported += 1;
                            s.rows += rows;
                        }
                        on_event(Event::Exported {
                            path,
                            label,
                            rows,
                            seconds: t0.elapsed().as_secs_f64(),
                        });
                    }
                    Err(error) => {
                        summary.lock().unwrap_or_else(|e| e.into_inner()).failed += 1;
                        on_event(Event::Failed {
                            path,
                            error: &error,
                        });
                    }
                }
            });
        }
    });
    let dir = std::path::absolute(&opts.dir).unwrap_or_else(|_| opts.dir.clone());
    let sql = views::views_sql(&dir, &table_names());
    let target = opts.dir.join("views.sql");
    crate::output::write_atomically(&target, |w| {
        use std::io::Write;
        w.write_all(sql.as_bytes()).map_err(|source| Error::Write {
            path: target.clone(),
            source,
        })
    })?;
    let s = summary.lock().unwrap_or_else(|e| e.into_inner()).clone();
    Ok(s)
}

/// Default `--jobs`: the cores, at most 4 (each input in flight holds its
/// whole model; the import of one input already uses every core).
pub fn default_jobs() -> usize {
    std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 4)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn l(v: &[&str]) -> Vec<String> {
        labels(&v.iter().map(PathBuf::from).collect::<Vec<_>>())
    }

    #[test]
    fn labels_are_stems() {
        assert_eq!(
            l(&[
                "/a/rank-0.pt.trace.json.gz",
                "/a/perf_metrics-ctx-h-1-2.jsonl"
            ]),
            ["rank-0", "perf_metrics-ctx-h-1-2"]
        );
        assert_eq!(l(&["/a/my trace=1.json"]), ["my_trace_1"]);
        assert_eq!(l(&["/a/.json"]), ["json"]);
        assert_eq!(l(&["/a/..."]), ["input"]);
    }

    #[test]
    fn duplicate_labels_take_their_directories() {
        assert_eq!(
            l(&[
                "/x/run1/rank-0.json",
                "/x/run2/rank-0.json",
                "/x/run2/rank-1.json"
            ]),
            ["run1_rank-0", "run2_rank-0", "rank-1"]
        );
        assert_eq!(
            l(&["/x/r.json", "/x/r.json.gz", "/y/r.json"]),
            ["x_r", "x_r-2", "y_r"]
        );
    }
}

/// Caps glibc's malloc arenas at `max(2, jobs)` for the rest of the process.
/// By default every thread that allocates (the jobs, the rayon workers that
/// parse and encode) may get an arena of its own, each keeping what was
/// freed in it; with one input after another, resident memory then climbs
/// well past one input's peak (measured: 480 MB for eight 215 MB inputs
/// at `--jobs 1`, against 390 MB with two arenas, at the same speed).
fn limit_arenas(jobs: usize) {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: mallopt only changes an allocator parameter; M_ARENA_MAX
    // limits arenas created from now on.
    unsafe {
        libc::mallopt(libc::M_ARENA_MAX, jobs.max(2).min(64) as libc::c_int);
    }
    #[cfg(not(all(target_os = "linux", target_env = "gnu")))]
    let _ = jobs;
}

/// Hands the memory freed by an input back to the system. glibc keeps freed
/// memory in the arena of the thread that freed it (each rayon worker has
/// its own), where the next input's allocations in other threads cannot
/// reuse it: without this, resident memory grows with every input exported
/// one after another.
fn release_freed_memory() {
    #[cfg(all(target_os = "linux", target_env = "gnu"))]
    // SAFETY: malloc_trim only returns free pages of the allocator's arenas.
    unsafe {
        libc::malloc_trim(0);
    }
}
