//! `args`: debug annotations as trace processor shows them — key
//! `debug.<name>`, nested objects `debug.a.b`, arrays `debug.x[0]` with
//! `flat_key` `debug.x` (PERFETTO.md §1.8), `null` skipped, values typed
//! `int` / `uint` / `real` / `bool` / `string`.
//!
//! Arg set ids: numbered in order of first use — slices in id order, then
//! requests — over the distinct sets with at least one row. Like trace
//! processor, identical sets share one id: a request's details, carried by
//! its parent slice on every role and by its `request` row, are one set.
//! (Sets are "identical" when they are the same stored arguments; two
//! events that happen to carry equal values keep their own sets.) Built on
//! first use of `args` or of an `arg_set_id` column (raw JSON args are
//! parsed then).

use std::sync::Arc;

use rustc_hash::FxHashMap;
use serde_json::value::RawValue;

use super::{def, id_column, Store};
use crate::json::Pairs;
use crate::model::{ArgValue, Args, Strings, Trace};
use crate::sql::vtab::{Access, Cell, Column, Lazy, Table};

use super::slice::SliceIds;

const NONE: u32 = u32::MAX;

/// One row of `args`.
pub struct ArgRow {
    pub set: u32,
    pub flat_key: u32,
    pub key: u32,
    pub value: ArgValue,
}

/// The arg set of every slice and request, and the rows of `args`.
pub struct ArgSets {
    /// By slice SQL id; `NONE` when the slice has no arg rows.
    slice: Vec<u32>,
    /// By request index.
    request: Vec<u32>,
    /// The rows of `args`; empty when [`ArgSets::stream`] handed them out.
    pub rows: Vec<ArgRow>,
    /// Whether `rows` holds every row (false after [`ArgSets::stream`]).
    kept: bool,
    keys: Strings,
}

/// One step of a key path below its parent key: `.name` or `[i]`.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
enum Step<'t> {
    Member(&'t str),
    Index(u32),
}

/// Builds [`ArgSets`]: the rows of the sets in numbering order, keys
/// interned through a cache of (parent key, step) → key so that a key seen
/// before costs one small hash lookup and no formatting.
struct Builder<'t> {
    sets: ArgSets,
    /// Interned `debug`, the parent of every top-level key.
    root: u32,
    children: FxHashMap<(u32, Step<'t>), u32>,
    /// The last two keys looked up at each position of a set (the `n`th
    /// key of this set is most likely the `n`th key of a recent one: events
    /// of one kind carry the same keys in the same order), and the position.
    recent: Vec<[(u32, Step<'t>, u32); 2]>,
    pos: usize,
}

impl<'t> Builder<'t> {
    /// The key `parent` + `step`, interned.
    fn child(&mut self, parent: u32, step: Step<'t>) -> u32 {
        let pos = self.pos;
        self.pos += 1;
        if let Some(slot) = self.recent.get_mut(pos) {
            for &(p, s, k) in slot.iter() {
                if p == parent && s == step {
                    return k;
                }
            }
        } else {
            self.recent
                .resize(pos + 1, [(NONE, Step::Index(0), NONE); 2]);
        }
        let k = self.lookup(parent, step);
        let slot = &mut self.recent[pos];
        slot[1] = slot[0];
        slot[0] = (parent, step, k);
        k
    }

    /// [`Builder::child`] without the recent keys.
    fn lookup(&mut self, parent: u32, step: Step<'t>) -> u32 {
        if let Some(&k) = self.children.get(&(parent, step)) {
            return k;
        }
        let p = self.sets.keys.resolve(crate::model::StrId(parent));
        let name = match step {
            Step::Member(m) => format!("{p}.{m}"),
            Step::Index(i) => format!("{p}[{i}]"),
        };
        let k = self.sets.keys.intern(&name).0;
        self.children.insert((parent, step), k);
        k
    }

    /// The key `parent` + `.name` for a name that is not borrowed from the
    /// trace (it had escapes): interned without the cache.
    fn member(&mut self, parent: u32, name: &std::borrow::Cow<'t, str>) -> u32 {
        match name {
            std::borrow::Cow::Borrowed(m) => self.child(parent, Step::Member(m)),
            std::borrow::Cow::Owned(m) => {
                let p = self.sets.keys.resolve(crate::model::StrId(parent));
                let name = format!("{p}.{m}");
                self.sets.keys.intern(&name).0
            }
        }
    }

    fn row(&mut self, set: u32, flat_key: u32, key: u32, value: ArgValue) {
        self.sets.rows.push(ArgRow {
            set,
            flat_key,
            key,
            value,
        });
    }

    /// Adds the rows of `args` as set `set`; whether any row was added.
    fn write(&mut self, trace: &'t Trace, args: Args, set: u32) -> bool {
        let before = self.sets.rows.len();
        self.pos = 0;
        match args {
            Args::None => {}
            Args::List { .. } => {
                for a in trace.arg_list(args) {
                    let k = self.child(self.root, Step::Member(trace.str(a.key)));
                    self.row(set, k, k, a.value.clone());
                }
            }
            Args::Raw { .. } => {
                let text = trace.raw_args(args).unwrap_or_default();
                match serde_json::from_str::<Pairs>(text) {
                    Ok(Pairs(pairs)) => {
                        for (k, v) in pairs {
                            let key = self.member(self.root, &k);
                            self.raw(set, key, key, v, 1);
                        }
                    }
                    // Importers validate raw args; keep the text if that ever fails.
                    Err(_) => {
                        let k = self.child(self.root, Step::Member("args"));
                        self.row(set, k, k, ArgValue::Str(text.into()))
                    }
                }
            }
        }
        self.sets.rows.len() > before
    }

    /// One raw JSON value, flattened like the Perfetto writer's debug
    /// annotations; below [`crate::json::MAX_DEPTH`] levels a value is kept
    /// as its JSON text.
    fn raw(&mut self, set: u32, flat_key: u32, key: u32, v: &'t RawValue, level: usize) {
        let text = v.get();
        let nested = matches!(text.as_bytes().first(), Some(b'{' | b'['));
        if level >= crate::json::MAX_DEPTH && nested {
            return self.row(set, flat_key, key, ArgValue::Str(text.to_owned()));
        }
        match text.as_bytes().first() {
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text).unwrap_or_default();
                for (i, item) in items.into_iter().enumerate() {
                    let k = self.child(key, Step::Index(i as u32));
                    self.raw(set, flat_key, k, item, level + 1);
                }
            }
            Some(b'{') => {
                if let Ok(Pairs(pairs)) = serde_json::from_str(text) {
                    for (k, item) in pairs {
                        let f = self.member(flat_key, &k);
                        let kk = self.member(key, &k);
                        self.raw(set, f, kk, item, level + 1);
                    }
                }
            }
            // Scalars convert exactly as everywhere else; null is skipped.
            _ => {
                if let Some(value) = crate::json::scalar(v) {
                    self.row(set, flat_key, key, value);
                }
            }
        }
    }
}

impl ArgSets {
    /// Flattens every slice's and request's args, numbering the sets.
    pub fn new(trace: &Trace, ids: &SliceIds) -> ArgSets {
        match Self::build(trace, ids, None, |_| Ok::<(), std::convert::Infallible>(())) {
            Ok(a) => a,
            Err(e) => match e {},
        }
    }

    /// Numbers the sets as [`ArgSets::new`] does but hands the rows of
    /// `args` to `f` in order, `chunk` rows at a time (the last chunk may be
    /// shorter), instead of keeping them: the result has the numbering
    /// only. Stops at `f`'s first error.
    pub fn stream<E>(
        trace: &Trace,
        ids: &SliceIds,
        chunk: usize,
        f: impl FnMut(ArgRows<'_>) -> Result<(), E>,
    ) -> Result<ArgSets, E> {
        Self::build(trace, ids, Some(chunk.max(1)), f)
    }

    fn build<'t, E>(
        trace: &'t Trace,
        ids: &SliceIds,
        chunk: Option<usize>,
        mut f: impl FnMut(ArgRows<'_>) -> Result<(), E>,
    ) -> Result<ArgSets, E> {
        let mut keys = Strings::new();
        let root = keys.intern("debug").0;
        let mut b = Builder {
            sets: ArgSets {
                slice: vec![NONE; trace.slices.len()],
                request: vec![NONE; trace.requests.len()],
                rows: Vec::new(),
                kept: chunk.is_none(),
                keys,
            },
            root,
            children: FxHashMap::default(),
            recent: Vec::new(),
            pos: 0,
        };
        let mut next = 0u32;
        // Rows handed to `f` so far (the id of the next row).
        let mut emitted = 0usize;
        let mut seen: FxHashMap<(u32, u64, u32), u32> = FxHashMap::default();
        let mut set_of = |b: &mut Builder<'t>, args: Args| -> u32 {
            let key = match args {
                Args::None => return NONE,
                Args::List { start, len } => (0, start as u64, len),
                Args::Raw { blob, start, len } => (blob + 1, start, len),
            };
            if let Some(&set) = seen.get(&key) {
                return set;
            }
            let set = if b.write(trace, args, next) {
                next += 1;
                next - 1
            } else {
                NONE
            };
            seen.insert(key, set);
            set
        };
        // Hands out every full chunk (all rows when `last`).
        let mut flush = |b: &mut Builder<'t>, last: bool| -> Result<(), E> {
            let Some(n) = chunk else { return Ok(()) };
            while b.sets.rows.len() >= n || (last && !b.sets.rows.is_empty()) {
                let take = n.min(b.sets.rows.len());
                f(ArgRows {
                    first_id: emitted,
                    rows: &b.sets.rows[..take],
                    keys: &b.sets.keys,
                })?;
                emitted += take;
                b.sets.rows.drain(..take);
            }
            Ok(())
        };
        for (id, &i) in ids.order.iter().enumerate() {
            b.sets.slice[id] = set_of(&mut b, trace.slices[i as usize].args);
            flush(&mut b, false)?;
        }
        for (i, r) in trace.requests.iter().enumerate() {
            b.sets.request[i] = set_of(&mut b, r.details);
            flush(&mut b, false)?;
        }
        flush(&mut b, true)?;
        let mut a = b.sets;
        if !a.kept {
            a.rows = Vec::new();
        }
        Ok(a)
    }

    /// Arg set of the slice with SQL id `id`.
    pub fn slice_set(&self, id: usize) -> Option<i64> {
        Some(self.slice[id]).filter(|&s| s != NONE).map(i64::from)
    }

    /// Arg set of request `i`.
    pub fn request_set(&self, i: usize) -> Option<i64> {
        Some(self.request[i]).filter(|&s| s != NONE).map(i64::from)
    }

    /// Whether the rows are kept (not streamed out).
    pub fn kept(&self) -> bool {
        self.kept
    }

    /// All the rows, as a table.
    pub fn all_rows(&self) -> ArgRows<'_> {
        assert!(self.kept, "the rows of `args` were streamed, not kept");
        ArgRows {
            first_id: 0,
            rows: &self.rows,
            keys: &self.keys,
        }
    }
}

/// Consecutive rows of `args` (all of them, or a chunk that
/// [`ArgSets::stream`] hands out) as a table with the columns of `args`:
/// the one definition of the cells, whether SQLite or `export` reads them.
pub struct ArgRows<'a> {
    /// `id` of the first row.
    pub first_id: usize,
    pub rows: &'a [ArgRow],
    keys: &'a Strings,
}

impl<'a> ArgRows<'a> {
    /// Rows `range` of these rows.
    pub fn range(&self, range: std::ops::Range<usize>) -> ArgRows<'a> {
        ArgRows {
            first_id: self.first_id + range.start,
            rows: &self.rows[range],
            keys: self.keys,
        }
    }

    /// The cell at `row`, `col`, borrowing from the rows (not from `self`).
    fn get(&self, row: usize, col: usize) -> Cell<'a> {
        let keys = self.keys;
        let r = &self.rows[row];
        let v = &r.value;
        match col {
            0 => Cell::Int((self.first_id + row) as i64),
            1 => Cell::Int(r.set as i64),
            2 => Cell::Text(keys.resolve(crate::model::StrId(r.flat_key))),
            3 => Cell::Text(keys.resolve(crate::model::StrId(r.key))),
            4 => match v {
                ArgValue::Int(i) => Cell::Int(*i),
                ArgValue::Uint(u) => i64::try_from(*u).ok().into(),
                ArgValue::Bool(b) => Cell::Int(*b as i64),
                _ => Cell::Null,
            },
            5 => match v {
                ArgValue::Str(s) => Cell::Text(s),
                _ => Cell::Null,
            },
            6 => match v {
                ArgValue::Real(f) => Cell::Real(*f),
                // Beyond i64: the nearest real (display_value keeps the digits).
                ArgValue::Uint(u) if i64::try_from(*u).is_err() => Cell::Real(*u as f64),
                _ => Cell::Null,
            },
            7 => Cell::Text(match v {
                ArgValue::Int(_) => "int",
                ArgValue::Uint(_) => "uint",
                ArgValue::Real(_) => "real",
                ArgValue::Bool(_) => "bool",
                ArgValue::Str(_) => "string",
            }),
            8 => match v {
                ArgValue::Str(s) => Cell::Text(s),
                ArgValue::Int(i) => Cell::Owned(i.to_string()),
                ArgValue::Uint(u) => Cell::Owned(u.to_string()),
                ArgValue::Real(f) => Cell::Owned(f.to_string()),
                ArgValue::Bool(b) => Cell::Text(if *b { "true" } else { "false" }),
            },
            _ => Cell::Null,
        }
    }
}

impl Table for ArgRows<'_> {
    fn len(&self) -> usize {
        self.rows.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        self.get(row, col)
    }
}

struct ArgsTable(Arc<Store>);

impl Table for ArgsTable {
    fn len(&self) -> usize {
        self.0.arg_sets().all_rows().len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        self.0.arg_sets().all_rows().get(row, col)
    }
}

/// The `args` table over `store`.
pub fn table(store: &Arc<Store>) -> Arc<Lazy> {
    let mut d = def(
        "args",
        vec![
            id_column(),
            Column::new("arg_set_id", "INTEGER")
                .not_null()
                .access(Access::Sorted),
            Column::new("flat_key", "TEXT").not_null(),
            Column::new("key", "TEXT").not_null(),
            Column::new("int_value", "INTEGER"),
            Column::new("string_value", "TEXT"),
            Column::new("real_value", "REAL"),
            Column::new("value_type", "TEXT").not_null(),
            Column::new("display_value", "TEXT"),
        ],
    );
    d.order = vec![1, 0];
    let s = store.clone();
    Arc::new(Lazy::new(d, move || Box::new(ArgsTable(s.clone()))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ingest::{self, Format, Input};

    fn store(json: &str) -> Arc<Store> {
        let input = Input::from_bytes("t.json", json.as_bytes().to_vec());
        let trace = ingest::load_inputs(vec![(input, Format::ChromeJson)]).unwrap();
        Store::new(trace)
    }

    /// (id, arg_set_id, flat_key, key, display_value) of every row.
    fn rows(t: &dyn Table) -> Vec<(i64, i64, String, String, String)> {
        let text = |c: Cell<'_>| match c {
            Cell::Text(s) => s.to_owned(),
            Cell::Owned(s) => s,
            other => panic!("not text: {other:?}"),
        };
        let int = |c: Cell<'_>| match c {
            Cell::Int(i) => i,
            other => panic!("not an integer: {other:?}"),
        };
        (0..t.len())
            .map(|r| {
                (
                    int(t.cell(r, 0)),
                    int(t.cell(r, 1)),
                    text(t.cell(r, 2)),
                    text(t.cell(r, 3)),
                    text(t.cell(r, 8)),
                )
            })
            .collect()
    }

    const TRACE: &str = r#"{"traceEvents": [
        {"ph": "X", "name": "a", "pid": 1, "tid": 1, "ts": 0, "dur": 10, "args": {"grid": [1, 2], "k": "v", "n": null}},
        {"ph": "X", "name": "b", "pid": 1, "tid": 1, "ts": 1, "dur": 2, "args": {"grid": [3, 4], "k": "w"}},
        {"ph": "X", "name": "c", "pid": 1, "tid": 1, "ts": 3, "dur": 2, "args": {"n": null}},
        {"ph": "X", "name": "d", "pid": 1, "tid": 1, "ts": 5, "dur": 2, "args": {"o": {"p": {"q": 1}}, "e\"x": true}},
        {"ph": "X", "name": "e", "pid": 1, "tid": 1, "ts": 6, "dur": 1}
    ]}"#;

    #[test]
    fn rows_and_sets_as_trace_processor_names_them() {
        let st = store(TRACE);
        let a = st.arg_sets();
        let r = |id, set, flat: &str, key: &str, v: &str| {
            (id, set, flat.to_owned(), key.to_owned(), v.to_owned())
        };
        assert_eq!(
            rows(&a.all_rows()),
            [
                r(0, 0, "debug.grid", "debug.grid[0]", "1"),
                r(1, 0, "debug.grid", "debug.grid[1]", "2"),
                r(2, 0, "debug.k", "debug.k", "v"),
                r(3, 1, "debug.grid", "debug.grid[0]", "3"),
                r(4, 1, "debug.grid", "debug.grid[1]", "4"),
                r(5, 1, "debug.k", "debug.k", "w"),
                r(6, 2, "debug.o.p.q", "debug.o.p.q", "1"),
                r(7, 2, "debug.e\"x", "debug.e\"x", "true"),
            ]
        );
        // Slices by ts: a, b, c (only a null: no set), d, e (no args).
        let sets: Vec<Option<i64>> = (0..5).map(|i| a.slice_set(i)).collect();
        assert_eq!(sets, [Some(0), Some(1), None, Some(2), None]);
    }

    #[test]
    fn streamed_chunks_are_the_kept_rows() {
        let kept = store(TRACE);
        let want = rows(&kept.arg_sets().all_rows());
        for chunk in [1, 2, 3, 8, 100] {
            let st = store(TRACE);
            let mut got = Vec::new();
            let mut sizes = Vec::new();
            st.stream_args(chunk, |c| {
                sizes.push(c.len());
                got.extend(rows(&c));
                Ok::<(), ()>(())
            })
            .unwrap();
            assert_eq!(got, want, "chunk {chunk}");
            // Full chunks, then the rest.
            let mut expect = vec![chunk; 8 / chunk];
            if 8 % chunk != 0 {
                expect.push(8 % chunk);
            }
            assert_eq!(sizes, expect, "chunk {chunk}");
            // The numbering the `arg_set_id` columns read is left in place.
            let a = st.arg_sets();
            assert!(!a.kept());
            let sets: Vec<Option<i64>> = (0..5).map(|i| a.slice_set(i)).collect();
            assert_eq!(sets, [Some(0), Some(1), None, Some(2), None]);
        }
        // Streaming from a store that kept its rows hands out the same.
        let mut got = Vec::new();
        kept.stream_args(3, |c| {
            got.extend(rows(&c));
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(got, want);
    }
}
