//! The SQL layer: an embedded SQLite whose tables look like Perfetto trace
//! processor's, bundled queries (`queries/*.sql`, embedded at build time),
//! the `median`/`percentile` functions and result output.
//!
//! The data's path: the model ([`crate::model::Trace`]) → [`tables`] (each
//! SQL table's columns, read from the model in place) → [`vtab`] (SQLite
//! virtual tables over them, with constraint push-down) → SQL. Nothing is
//! copied row by row; a table is built the first time a query reads it.
//! [`write_db`] copies the tables into an ordinary SQLite file, atomically.

pub mod format;
pub mod functions;
pub mod schema;
pub mod sections;
pub mod tables;
pub mod vtab;

use std::path::Path;

use rusqlite::fallible_iterator::FallibleIterator;
use rusqlite::types::Value;
use std::sync::Arc;

use rusqlite::{Batch, Connection};

use crate::error::{Error, Result};
use crate::model::Trace;
use tables::Store;

pub use format::{render, render_styled, OutputFormat, Rows, Style};

/// Rows per table of a database, for `db`'s summary and the benchmark.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    pub slices: u64,
    pub args: u64,
    pub tracks: u64,
    pub requests: u64,
    /// Every row, all tables.
    pub rows: u64,
}

/// A bundled query: `queries/<name>.sql`.
#[derive(Clone, Copy, Debug)]
pub struct Bundled {
    pub name: &'static str,
    pub sql: &'static str,
}

macro_rules! bundled {
    ($($name:literal),* $(,)?) => {
        &[$(Bundled { name: $name, sql: include_str!(concat!("../../queries/", $name, ".sql")) }),*]
    };
}

/// Every bundled query, in the order `queries` lists them.
pub const BUNDLED: &[Bundled] = bundled!(
    "kernel-stats",
    "idle-gaps",
    "idle-total",
    "gpu-idle",
    "kernel-summary",
    "segment-stats",
    "latency",
    "slow-requests",
    "client-stats",
    "kernel-launches",
    "kernel-launch-stats",
    "kernel-type-breakdown",
    "idle-time-breakdown",
    "comm-comp-overlap",
    "queue-length",
    "queue-length-series",
    "profiler-step-stats",
    "cuda-gpu-mem-time-sum",
    "cuda-gpu-mem-size-sum",
    "cuda-api-sum",
    "nvtx-sum",
    "metric-summary",
    "rank-summary",
    "stragglers",
);

impl Bundled {
    pub fn find(name: &str) -> Option<Bundled> {
        BUNDLED.iter().copied().find(|b| b.name == name)
    }

    /// The first line of the leading comment (what the query answers).
    /// The SQL without its header comment (the `--` lines before the first
    /// statement).
    pub fn sql_without_header(&self) -> String {
        let mut lines = self.sql.lines().peekable();
        while lines
            .peek()
            .is_some_and(|l| l.trim().is_empty() || l.trim_start().starts_with("--"))
        {
            lines.next();
        }
        let mut s: String = lines.collect::<Vec<_>>().join("\n");
        s.push('\n');
        s
    }

    pub fn description(&self) -> String {
        self.sql
            .lines()
            .find_map(|l| l.trim().strip_prefix("--").map(|s| s.trim().to_owned()))
            .unwrap_or_default()
    }
}

/// A database: virtual tables over an in-memory trace, or a file written
/// by `db`.
pub struct Database {
    pub conn: Connection,
    /// The trace the virtual tables read (`None` for a file).
    store: Option<Arc<Store>>,
    /// The virtual tables over `store`, shared with [`Database::sibling`]s
    /// so a table built by one connection serves all.
    tables: Vec<Arc<vtab::Lazy>>,
}

/// How many databases SQL may attach. 0 for queries: `ATTACH` and
/// `VACUUM INTO` would create files, and queries never write files.
fn set_attach_limit(conn: &Connection, n: i32) {
    // SAFETY: an open connection; sqlite3_limit only reads and sets a limit.
    unsafe {
        rusqlite::ffi::sqlite3_limit(conn.handle(), rusqlite::ffi::SQLITE_LIMIT_ATTACHED, n);
    }
}

fn sql_err(query: &str) -> impl Fn(rusqlite::Error) -> Error + '_ {
    move |e| Error::Query {
        query: query.to_owned(),
        message: e.to_string(),
    }
}

fn load_err(e: rusqlite::Error) -> Error {
    Error::Sql(format!("building the database: {e}"))
}

impl Database {
    /// A database over `trace` (laid out first if it was not): its tables
    /// are SQLite virtual tables that read the trace in place, each built
    /// when a query first reads it.
    pub fn in_memory(trace: Trace) -> Result<Database> {
        let conn = Connection::open_in_memory().map_err(load_err)?;
        let store = Store::new(trace);
        let tables = tables::all(&store);
        let conn = Self::connect(conn, &tables)?;
        Ok(Database {
            conn,
            store: Some(store),
            tables,
        })
    }

    fn connect(conn: Connection, tables: &[Arc<vtab::Lazy>]) -> Result<Connection> {
        vtab::register(&conn, tables).map_err(load_err)?;
        conn.execute_batch(&schema::views()).map_err(load_err)?;
        functions::register(&conn).map_err(load_err)?;
        set_attach_limit(&conn, 0);
        Ok(conn)
    }

    /// A second connection over the same trace and the same (lazily built)
    /// tables, for running queries on another thread: a SQLite connection
    /// runs one statement at a time. `None` for a `db` file. Temporary
    /// views made on `self` are not seen by the sibling.
    pub fn sibling(&self) -> Result<Option<Database>> {
        let Some(store) = &self.store else {
            return Ok(None);
        };
        let conn = Connection::open_in_memory().map_err(load_err)?;
        Ok(Some(Database {
            conn: Self::connect(conn, &self.tables)?,
            store: Some(store.clone()),
            tables: self.tables.clone(),
        }))
    }

    /// The trace behind the virtual tables (`None` for a `db` file).
    pub fn trace(&self) -> Option<&Trace> {
        self.store.as_deref().map(|s| &s.trace)
    }

    /// Closes the database and gives the trace back (laid out).
    pub fn into_trace(self) -> Option<Trace> {
        let Database {
            conn,
            store,
            tables,
        } = self;
        drop(conn); // the virtual tables hold the other references
        drop(tables);
        store.and_then(|s| Arc::try_unwrap(s).ok()).map(|s| s.trace)
    }

    /// Opens, read-only, a database file that `db` wrote, so queries run
    /// without loading the inputs again.
    pub fn open(path: &Path) -> Result<Database> {
        use rusqlite::OpenFlags;
        let bad = |why: String| Error::Sql(format!("{}: {why}", path.display()));
        let conn = Connection::open_with_flags(
            path,
            OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )
        .map_err(|e| bad(e.to_string()))?;
        set_attach_limit(&conn, 0);
        let tables: i64 = conn
            .query_row(
                "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name IN ('slice', 'track', 'request')",
                [],
                |r| r.get(0),
            )
            .map_err(|e| bad(e.to_string()))?;
        if tables < 3 {
            return Err(bad(
                "not a database written by `breakdown-trace db` (no slice, track and request tables)".into(),
            ));
        }
        functions::register(&conn).map_err(load_err)?;
        Ok(Database {
            conn,
            store: None,
            tables: Vec::new(),
        })
    }

    /// True when `path` starts with SQLite's file header.
    /// Only regular files are looked at: reading a pipe's first bytes
    /// would take them from the importer.
    pub fn is_database(path: &Path) -> bool {
        use std::io::Read;
        if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
            return false;
        }
        let mut head = [0u8; 16];
        std::fs::File::open(path)
            .and_then(|mut f| f.read_exact(&mut head))
            .is_ok_and(|()| &head == b"SQLite format 3\0")
            // An Nsight Systems export is an input to import, not ours.
            && !crate::ingest::nsys::is_export_file(path)
    }

    /// Runs every statement of `sql`; returns the rows of the last one that
    /// returns columns. Named parameters (`:name`) are bound from `params`
    /// where the statement uses them; unbound ones are NULL. Errors name
    /// `query` and carry SQLite's message.
    pub fn run(&self, query: &str, sql: &str, params: &[(String, String)]) -> Result<Rows> {
        let err = sql_err(query);
        let mut batch = Batch::new(&self.conn, sql);
        let mut last: Option<Rows> = None;
        while let Some(mut stmt) = batch.next().map_err(&err)? {
            for (k, v) in params {
                let name = format!(":{k}");
                if let Some(idx) = stmt.parameter_index(&name).map_err(&err)? {
                    let value = parse_param(v);
                    stmt.raw_bind_parameter(idx, value).map_err(&err)?;
                }
            }
            let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
            let n = columns.len();
            let mut rows = Vec::new();
            let mut it = stmt.raw_query();
            while let Some(row) = it.next().map_err(&err)? {
                let mut r = Vec::with_capacity(n);
                for i in 0..n {
                    r.push(row.get::<_, Value>(i).map_err(&err)?);
                }
                rows.push(r);
            }
            if n > 0 {
                last = Some(Rows { columns, rows });
            }
        }
        Ok(last.unwrap_or_default())
    }

    /// Runs `sql` and writes its rows to `out` as CSV while SQLite produces
    /// them (a result of millions of rows is never held in memory), when
    /// `sql` is a single statement; returns `Ok(None)` otherwise, having run
    /// nothing (use [`Database::run`]). Returns the number of rows.
    pub fn run_csv(
        &self,
        query: &str,
        sql: &str,
        params: &[(String, String)],
        out: &mut dyn std::io::Write,
    ) -> Result<Option<u64>> {
        let err = sql_err(query);
        // `prepare` refuses text with a second statement.
        let Ok(mut stmt) = self.conn.prepare(sql) else {
            return Ok(None);
        };
        for (k, v) in params {
            if let Some(idx) = stmt.parameter_index(&format!(":{k}")).map_err(&err)? {
                stmt.raw_bind_parameter(idx, parse_param(v)).map_err(&err)?;
            }
        }
        let columns: Vec<String> = stmt.column_names().iter().map(|c| c.to_string()).collect();
        let n = columns.len();
        // A closed pipe (`| head`) ends the output quietly; other write
        // failures are errors.
        let closed = |e: &std::io::Error| e.kind() == std::io::ErrorKind::BrokenPipe;
        let werr = |e: std::io::Error| Error::Write {
            path: "standard output".into(),
            source: e,
        };
        if n > 0 {
            match out.write_all(format::csv_line(columns.into_iter()).as_bytes()) {
                Err(e) if closed(&e) => return Ok(Some(0)),
                r => r.map_err(werr)?,
            }
        }
        let mut rows = stmt.raw_query();
        let mut count = 0u64;
        while let Some(row) = rows.next().map_err(&err)? {
            let mut fields = Vec::with_capacity(n);
            for i in 0..n {
                fields.push(format::text(&row.get::<_, Value>(i).map_err(&err)?));
            }
            match out.write_all(format::csv_line(fields.into_iter()).as_bytes()) {
                Err(e) if closed(&e) => return Ok(Some(count + 1)),
                r => r.map_err(werr)?,
            }
            count += 1;
        }
        Ok(Some(count))
    }

    /// The named parameters (`:name`, without the colon) the statements of
    /// `sql` use, in order of first use; `None` when a statement cannot be
    /// prepared before the ones before it have run (it uses a table they
    /// create), or has an error that running it will report.
    pub fn parameters(&self, sql: &str) -> Option<Vec<String>> {
        let mut names: Vec<String> = Vec::new();
        let mut batch = Batch::new(&self.conn, sql);
        while let Some(stmt) = batch.next().ok()? {
            for i in 1..=stmt.parameter_count() {
                if let Some(n) = stmt.parameter_name(i) {
                    let n = n.trim_start_matches([':', '@', '$']).to_owned();
                    if !names.contains(&n) {
                        names.push(n);
                    }
                }
            }
        }
        Some(names)
    }

    /// Warnings of one kind counted while loading the inputs.
    pub fn warning_count(&self, kind: &str) -> i64 {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(count), 0) FROM warning_count WHERE kind = ?1",
                [kind],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }

    /// Warnings counted while loading the inputs (all kinds).
    pub fn warning_total(&self) -> i64 {
        self.conn
            .query_row(
                "SELECT COALESCE(SUM(count), 0) FROM warning_count",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }

    /// The categories GPU work carries in this trace other than the ones
    /// the RTP-LLM doc's SQL names (`kernel`, `gpu_memcpy`), with counts.
    pub fn other_gpu_categories(&self) -> Vec<(String, i64)> {
        let Ok(mut st) = self.conn.prepare(
            "SELECT category, COUNT(*) FROM gpu_work \
             WHERE category IS NULL OR category NOT IN ('kernel', 'gpu_memcpy', 'gpu_memset') \
             GROUP BY category ORDER BY COUNT(*) DESC",
        ) else {
            return Vec::new(); // a `db` file from before `gpu_work`
        };
        st.query_map([], |r| {
            Ok((
                r.get::<_, Option<String>>(0)?
                    .unwrap_or_else(|| "(none)".into()),
                r.get(1)?,
            ))
        })
        .map(|rows| rows.filter_map(|r| r.ok()).collect())
        .unwrap_or_default()
    }

    /// Number of slices the RTP-LLM kernel queries would look at.
    pub fn kernel_count(&self) -> i64 {
        self.conn
            .query_row(
                "SELECT COUNT(*) FROM gpu_work WHERE kind IN ('kernel', 'memcpy')",
                [],
                |r| r.get(0),
            )
            .unwrap_or(0)
    }
}

/// Parameter text → integer, real or text.
fn parse_param(v: &str) -> Value {
    if let Ok(i) = v.parse::<i64>() {
        Value::Integer(i)
    } else if let Ok(f) = v.parse::<f64>() {
        Value::Real(f)
    } else {
        Value::Text(v.to_owned())
    }
}

/// Kernel count above which the `ROW_NUMBER()` self-join form is slow
/// enough to deserve a hint (it is O(n²) in SQLite).
pub const SLOW_FORM_KERNELS: i64 = 20_000;

/// Whether `sql` is the RTP-LLM doc's idle-gap form: a `ROW_NUMBER()`
/// sequence joined to itself on `seqnum = prev.seqnum + 1`. Returns the
/// bundled query that computes the same rows with `LAG()`.
pub fn slow_form_equivalent(sql: &str) -> Option<&'static str> {
    let s: String = sql
        .to_ascii_lowercase()
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    if !(s.contains("row_number()") && s.contains("seqnum+1")) {
        return None;
    }
    Some(if s.contains("selectsum(diff)") {
        "idle-total"
    } else {
        "idle-gaps"
    })
}

/// Writes the database for `trace` to `path`, an ordinary SQLite file any
/// client opens without our functions: the virtual tables' rows are copied
/// into plain tables of the same names and columns in one transaction, then
/// the indexes ([`schema::INDEXES`]) and views are built. Written to a
/// temporary file beside `path` and renamed when complete.
pub fn write_db(trace: Trace, path: &Path) -> Result<LoadStats> {
    let db = Database::in_memory(trace)?;
    let tables = db.store.as_ref().map(tables::all).unwrap_or_default();
    crate::output::write_atomically_at(path, |tmp| {
        let conn = &db.conn;
        let file = tmp
            .to_str()
            .ok_or_else(|| Error::Sql(format!("{}: path is not UTF-8", tmp.display())))?;
        set_attach_limit(conn, 1);
        conn.execute("ATTACH DATABASE ?1 AS out", [file])
            .map_err(load_err)?;
        let mut st = LoadStats::default();
        let mut copy = || -> rusqlite::Result<()> {
            conn.execute_batch(
                "PRAGMA out.journal_mode = OFF; PRAGMA out.synchronous = OFF; \
                 PRAGMA out.cache_size = -65536; PRAGMA analysis_limit = 1000; BEGIN;",
            )?;
            for t in &tables {
                let d = &t.def;
                conn.execute_batch(&d.create_table("out"))?;
                let cols = d.stored_columns();
                let n = conn.execute(
                    &format!(
                        "INSERT INTO out.{0} ({cols}) SELECT {cols} FROM main.{0}",
                        d.name
                    ),
                    [],
                )? as u64;
                st.rows += n;
                match d.name {
                    "slice" => st.slices = n,
                    "args" => st.args = n,
                    "track" => st.tracks = n,
                    "request" => st.requests = n,
                    _ => {}
                }
            }
            // Views and indexes name their tables unqualified: create them
            // in `out`'s own schema text.
            for stmt in schema::INDEXES
                .split(';')
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                conn.execute_batch(&stmt.replacen("CREATE INDEX ", "CREATE INDEX out.", 1))?;
            }
            for stmt in schema::views()
                .split(";\n")
                .map(str::trim)
                .filter(|s| !s.is_empty())
            {
                conn.execute_batch(&stmt.replacen("CREATE VIEW ", "CREATE VIEW out.", 1))?;
            }
            conn.execute_batch("COMMIT; ANALYZE out; PRAGMA out.journal_mode = DELETE;")?;
            Ok(())
        };
        let r = copy();
        let detach = conn.execute_batch("DETACH DATABASE out");
        r.and(detach).map_err(load_err)?;
        Ok(st)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_the_slow_form() {
        let q = "WITH cte AS (SELECT name, ts, dur, ROW_NUMBER() OVER (ORDER BY ts) AS seqnum FROM slice) \
                 SELECT * FROM cte slice LEFT JOIN cte tprev ON slice.seqnum = tprev.seqnum + 1";
        assert_eq!(slow_form_equivalent(q), Some("idle-gaps"));
        assert_eq!(
            slow_form_equivalent(&format!("SELECT SUM(diff) FROM ({q})")),
            Some("idle-total")
        );
        assert_eq!(slow_form_equivalent("SELECT 1"), None);
    }

    #[test]
    fn every_bundled_query_has_a_description() {
        for b in BUNDLED {
            assert!(!b.description().is_empty(), "{}", b.name);
        }
    }
}
