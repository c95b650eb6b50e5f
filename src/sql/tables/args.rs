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
    pub rows: Vec<ArgRow>,
    keys: Strings,
}

impl ArgSets {
    /// Flattens every slice's and request's args, numbering the sets.
    pub fn new(trace: &Trace, ids: &SliceIds) -> ArgSets {
        let mut a = ArgSets {
            slice: vec![NONE; trace.slices.len()],
            request: vec![NONE; trace.requests.len()],
            rows: Vec::new(),
            keys: Strings::new(),
        };
        let mut next = 0u32;
        let mut seen: FxHashMap<(u32, u64, u32), u32> = FxHashMap::default();
        let mut set_of = |a: &mut ArgSets, args: Args| -> u32 {
            let key = match args {
                Args::None => return NONE,
                Args::List { start, len } => (0, start as u64, len),
                Args::Raw { blob, start, len } => (blob + 1, start, len),
            };
            if let Some(&set) = seen.get(&key) {
                return set;
            }
            let set = if a.write(trace, args, next) {
                next += 1;
                next - 1
            } else {
                NONE
            };
            seen.insert(key, set);
            set
        };
        for (id, &i) in ids.order.iter().enumerate() {
            a.slice[id] = set_of(&mut a, trace.slices[i as usize].args);
        }
        for (i, r) in trace.requests.iter().enumerate() {
            a.request[i] = set_of(&mut a, r.details);
        }
        a
    }

    /// Arg set of the slice with SQL id `id`.
    pub fn slice_set(&self, id: usize) -> Option<i64> {
        Some(self.slice[id]).filter(|&s| s != NONE).map(i64::from)
    }

    /// Arg set of request `i`.
    pub fn request_set(&self, i: usize) -> Option<i64> {
        Some(self.request[i]).filter(|&s| s != NONE).map(i64::from)
    }

    fn row(&mut self, set: u32, flat_key: &str, key: &str, value: ArgValue) {
        let flat_key = self.keys.intern(flat_key).0;
        let key = self.keys.intern(key).0;
        self.rows.push(ArgRow {
            set,
            flat_key,
            key,
            value,
        });
    }

    /// Adds the rows of `args` as set `set`; whether any row was added.
    fn write(&mut self, trace: &Trace, args: Args, set: u32) -> bool {
        let before = self.rows.len();
        match args {
            Args::None => {}
            Args::List { .. } => {
                for a in trace.arg_list(args) {
                    let k = format!("debug.{}", trace.str(a.key));
                    self.row(set, &k, &k, a.value.clone());
                }
            }
            Args::Raw { .. } => {
                let text = trace.raw_args(args).unwrap_or_default();
                match serde_json::from_str::<Pairs>(text) {
                    Ok(Pairs(pairs)) => {
                        for (k, v) in pairs {
                            let key = format!("debug.{k}");
                            self.raw(set, &key, &key, v, 1);
                        }
                    }
                    // Importers validate raw args; keep the text if that ever fails.
                    Err(_) => self.row(set, "debug.args", "debug.args", ArgValue::Str(text.into())),
                }
            }
        }
        self.rows.len() > before
    }

    /// One raw JSON value, flattened like the Perfetto writer's debug
    /// annotations; below [`crate::json::MAX_DEPTH`] levels a value is kept
    /// as its JSON text.
    fn raw(&mut self, set: u32, flat_key: &str, key: &str, v: &RawValue, level: usize) {
        let text = v.get();
        let nested = matches!(text.as_bytes().first(), Some(b'{' | b'['));
        if level >= crate::json::MAX_DEPTH && nested {
            return self.row(set, flat_key, key, ArgValue::Str(text.to_owned()));
        }
        match text.as_bytes().first() {
            Some(b'[') => {
                let items: Vec<&RawValue> = serde_json::from_str(text).unwrap_or_default();
                for (i, item) in items.into_iter().enumerate() {
                    self.raw(set, flat_key, &format!("{key}[{i}]"), item, level + 1);
                }
            }
            Some(b'{') => {
                if let Ok(Pairs(pairs)) = serde_json::from_str(text) {
                    for (k, item) in pairs {
                        self.raw(
                            set,
                            &format!("{flat_key}.{k}"),
                            &format!("{key}.{k}"),
                            item,
                            level + 1,
                        );
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

struct ArgsTable(Arc<Store>);

impl Table for ArgsTable {
    fn len(&self) -> usize {
        self.0.arg_sets().rows.len()
    }

    fn cell(&self, row: usize, col: usize) -> Cell<'_> {
        let a = self.0.arg_sets();
        let r = &a.rows[row];
        let v = &r.value;
        match col {
            0 => Cell::Int(row as i64),
            1 => Cell::Int(r.set as i64),
            2 => Cell::Text(a.keys.resolve(crate::model::StrId(r.flat_key))),
            3 => Cell::Text(a.keys.resolve(crate::model::StrId(r.key))),
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
