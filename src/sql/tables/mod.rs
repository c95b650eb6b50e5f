//! The SQL layer's tables, read in place from the model (see
//! [`super::vtab`]): one file per group of tables, each defining its
//! tables' columns once — for the virtual tables and for `db` files.
//!
//! | file | tables |
//! |---|---|
//! | `track.rs` | `process`, `thread`, `track`, `thread_track`, `process_track`, `counter_track` |
//! | `slice.rs` | `slice`, `flow`, `counter` |
//! | `args.rs` | `args` (and the `arg_set_id` numbering) |
//! | `gpu.rs` | `gpu_work` (kernels, memcpy, memset in any spelling; artifacts) |
//! | `request.rs` | `request`, `request_segment` |
//! | `client.rs` | `iteration`, `client_request`, `client_metric`, `client_metadata` |
//! | `metric.rs` | `metric_series` (Prometheus series: counter track, rate track, type, labels) |
//! | `warning.rs` | `warning`, `warning_count` |
//!
//! Ids follow trace processor's conventions and do not depend on which
//! tables were built first: slices are numbered in (`ts`, longer first,
//! shallower first, input order) order; arg sets are numbered over the
//! slices in id order, then the requests.

pub mod args;
pub mod client;
pub mod gpu;
pub mod metric;
pub mod request;
pub mod slice;
pub mod track;
pub mod warning;

use std::sync::{Arc, OnceLock};

use rusqlite::types::Value;

use super::vtab::{Access, Cell, Column, Lazy, Table, TableDef};
use crate::model::{layout, Trace};

/// The trace the tables read, with the numberings several tables share,
/// each computed on first use.
pub struct Store {
    pub trace: Trace,
    slice_ids: OnceLock<slice::SliceIds>,
    tracks: OnceLock<track::TrackIds>,
    arg_sets: OnceLock<args::ArgSets>,
}

impl Store {
    /// Lays `trace` out (lanes, nesting) if it was not yet and wraps it.
    pub fn new(mut trace: Trace) -> Arc<Store> {
        layout::lay_out(&mut trace);
        Arc::new(Store {
            trace,
            slice_ids: OnceLock::new(),
            tracks: OnceLock::new(),
            arg_sets: OnceLock::new(),
        })
    }

    /// Slice ids (sorted order) and their inverse.
    pub fn slice_ids(&self) -> &slice::SliceIds {
        self.slice_ids
            .get_or_init(|| slice::SliceIds::new(&self.trace))
    }

    /// Process and thread numbering, track types.
    pub fn tracks(&self) -> &track::TrackIds {
        self.tracks
            .get_or_init(|| track::TrackIds::new(&self.trace))
    }

    /// Arg sets and the rows of `args`.
    pub fn arg_sets(&self) -> &args::ArgSets {
        self.arg_sets
            .get_or_init(|| args::ArgSets::new(&self.trace, self.slice_ids()))
    }

    /// Hands the rows of `args` to `f` in order, `chunk` rows at a time,
    /// without keeping them all (unless [`Store::arg_sets`] already did):
    /// afterwards the arg set numbering is there for the `arg_set_id`
    /// columns, but the `args` table of this store must not be read (it
    /// panics). For `export`, which writes each table once.
    pub fn stream_args<E>(
        &self,
        chunk: usize,
        mut f: impl FnMut(args::ArgRows<'_>) -> std::result::Result<(), E>,
    ) -> std::result::Result<(), E> {
        if let Some(a) = self.arg_sets.get() {
            let all = a.all_rows();
            for start in (0..all.rows.len()).step_by(chunk.max(1)) {
                let end = (start + chunk.max(1)).min(all.rows.len());
                f(all.range(start..end))?;
            }
            return Ok(());
        }
        let a = args::ArgSets::stream(&self.trace, self.slice_ids(), chunk, f)?;
        // Another thread may have built the kept sets meanwhile: the same
        // numbering, so either will do.
        let _ = self.arg_sets.set(a);
        Ok(())
    }

    /// Input path of input `i`, as given on the command line.
    pub fn input_path(&self, i: u32) -> Option<&str> {
        self.trace
            .provenance
            .inputs
            .get(i as usize)
            .map(|x| x.path.as_str())
    }
}

/// Every table, in the order `db` writes them.
pub fn all(store: &Arc<Store>) -> Vec<Arc<Lazy>> {
    let mut v = Vec::new();
    v.extend(track::tables(store));
    v.extend(slice::tables(store));
    v.push(args::table(store));
    v.push(gpu::table(store));
    v.extend(request::tables(store));
    v.extend(client::tables(store));
    v.push(metric::table(store));
    v.extend(warning::tables(store));
    v
}

/// Helper for a table definition: column 0 is `id`, rows in id order.
pub(crate) fn def(name: &'static str, columns: Vec<Column>) -> TableDef {
    TableDef {
        name,
        columns,
        order: vec![0],
        unique_first: true,
    }
}

/// A table whose `id` column ascends with the rows without being the row
/// index (a subset of another table's rows): binary search on `id`.
pub(crate) fn def_sorted_id(name: &'static str, mut columns: Vec<Column>) -> TableDef {
    columns[0].access = Access::Sorted;
    def(name, columns)
}

/// Column helpers: an `INTEGER`, `TEXT` or `REAL` column named `name`.
pub(crate) fn int(name: &str) -> Column {
    Column::new(name, "INTEGER")
}
pub(crate) fn text(name: &str) -> Column {
    Column::new(name, "TEXT")
}
pub(crate) fn real(name: &str) -> Column {
    Column::new(name, "REAL")
}

/// `id INTEGER` equal to the row index.
pub(crate) fn id_column() -> Column {
    Column::new("id", "INTEGER").access(Access::RowIndex)
}

/// A small table held as values (tracks, processes, warnings).
pub(crate) struct ValueRows(pub Vec<Vec<Value>>);

impl Table for ValueRows {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        Cell::from(&self.0[row][col])
    }
}

/// `Some(i64)` from an optional value that fits.
pub(crate) fn opt_int<T: TryInto<i64>>(v: Option<T>) -> Value {
    v.and_then(|v| v.try_into().ok())
        .map_or(Value::Null, Value::Integer)
}

pub(crate) fn opt_text(v: Option<&str>) -> Value {
    v.map_or(Value::Null, |s| Value::Text(s.to_owned()))
}
