//! Slice arguments → Perfetto debug annotations.
//!
//! Annotation names are interned. Names of stored args are known up front
//! and defined in the first packet; names found in raw JSON args are interned
//! while chunks are encoded in parallel, and each chunk re-defines the names
//! it uses at its start (a repeated definition of an iid is harmless), so a
//! definition always precedes its use in the file.
//!
//! Which parallel chunk meets a new name first is a race, but the output
//! must not depend on it: after each batch of chunks, [`AnnotationNames::settle`]
//! renumbers the batch's new names in file order and says which chunks used
//! a number that changed, and the writer encodes those again. New names
//! are rare after the first chunks, so this almost never costs anything.

use std::borrow::Cow;
use std::sync::Mutex;

use rustc_hash::FxHashMap;
use serde_json::value::RawValue;

use crate::json::{Pairs, Str};

use super::proto::{debug_annotation, DebugAnnotation};
use crate::model::{ArgValue, Args, Trace};

/// Trace-wide annotation-name interning.
pub struct AnnotationNames {
    /// iid of each stored-arg key, indexed by `StrId` (0 = unused).
    by_str: Vec<u64>,
    /// Names first seen in raw JSON args, and the next free iid.
    dynamic: Mutex<(FxHashMap<Box<str>, u64>, u64)>,
    /// iids below this are settled (numbered in file order).
    settled: Mutex<u64>,
    /// (iid, name) defined in the first packet.
    pub initial: Vec<(u64, String)>,
}

impl AnnotationNames {
    pub fn new(trace: &Trace) -> Self {
        let mut by_str = vec![0u64; trace.strings.len()];
        let mut initial = Vec::new();
        let mut next = 1u64;
        for a in &trace.args {
            let slot = &mut by_str[a.key.index()];
            if *slot == 0 {
                *slot = next;
                initial.push((next, trace.str(a.key).to_owned()));
                next += 1;
            }
        }
        AnnotationNames {
            by_str,
            dynamic: Mutex::new((FxHashMap::default(), next)),
            settled: Mutex::new(next),
            initial,
        }
    }

    /// Renumbers the names first met in the latest batch of chunks (`used`:
    /// each chunk's names in first-use order, chunks in file order) as a
    /// sequential encoder would have, and returns which chunks used an iid
    /// that changed (they must be encoded again).
    pub fn settle(&self, used: &[&[(u64, String)]]) -> Vec<bool> {
        let mut settled = self.settled.lock().expect("no panics while interning");
        let mut g = self.dynamic.lock().expect("no panics while interning");
        let (map, next) = &mut *g;
        let mut fixed: FxHashMap<&str, u64> = FxHashMap::default();
        let mut n = *settled;
        for chunk in used {
            for (iid, name) in chunk.iter() {
                if *iid >= *settled && !fixed.contains_key(name.as_str()) {
                    fixed.insert(name, n);
                    n += 1;
                }
            }
        }
        let mut changed: FxHashMap<&str, ()> = FxHashMap::default();
        for (name, &iid) in &fixed {
            let slot = map.get_mut(*name).expect("a used name is interned");
            if *slot != iid {
                *slot = iid;
                changed.insert(name, ());
            }
        }
        *next = n;
        *settled = n;
        used.iter()
            .map(|chunk| {
                chunk
                    .iter()
                    .any(|(_, name)| changed.contains_key(name.as_str()))
            })
            .collect()
    }
}

/// Per-chunk encoding context: caches dynamic names and remembers which
/// ones the chunk uses so it can define them up front.
pub struct ChunkNames<'a> {
    names: &'a AnnotationNames,
    cache: FxHashMap<String, u64>,
    pub used: Vec<(u64, String)>,
}

impl<'a> ChunkNames<'a> {
    pub fn new(names: &'a AnnotationNames) -> Self {
        ChunkNames {
            names,
            cache: FxHashMap::default(),
            used: Vec::new(),
        }
    }

    fn dynamic(&mut self, name: &str) -> u64 {
        if let Some(&iid) = self.cache.get(name) {
            return iid;
        }
        let iid = {
            let mut g = self
                .names
                .dynamic
                .lock()
                .expect("no panics while interning");
            let (map, next) = &mut *g;
            match map.get(name) {
                Some(&iid) => iid,
                None => {
                    let iid = *next;
                    *next += 1;
                    map.insert(name.into(), iid);
                    iid
                }
            }
        };
        self.cache.insert(name.to_owned(), iid);
        self.used.push((iid, name.to_owned()));
        iid
    }
}

/// The debug annotations of one slice.
pub fn encode(trace: &Trace, args: Args, names: &mut ChunkNames) -> Vec<DebugAnnotation> {
    match args {
        Args::None => Vec::new(),
        Args::List { .. } => trace
            .arg_list(args)
            .iter()
            .map(|a| DebugAnnotation {
                name_field: Some(debug_annotation::NameField::NameIid(
                    names.names.by_str[a.key.index()],
                )),
                value: Some(value_of(&a.value)),
                ..Default::default()
            })
            .collect(),
        Args::Raw { .. } => {
            let text = trace.raw_args(args).unwrap_or_default();
            // One UTF-8 check of the whole object, then `from_str`, which does
            // not re-check every string the way `from_slice` does.
            let parsed = std::str::from_utf8(text)
                .ok()
                .and_then(|t| serde_json::from_str::<Pairs>(t).ok());
            match parsed {
                Some(Pairs(pairs)) => pairs
                    .into_iter()
                    .filter_map(|(k, v)| {
                        let mut a = from_raw(v, 1)?;
                        a.name_field =
                            Some(debug_annotation::NameField::NameIid(names.dynamic(&k)));
                        Some(a)
                    })
                    .collect(),
                // Importers validate raw args; keep the text if that ever fails.
                None => vec![DebugAnnotation {
                    name_field: Some(debug_annotation::NameField::NameIid(names.dynamic("args"))),
                    value: Some(debug_annotation::Value::StringValue(
                        String::from_utf8_lossy(text).into_owned(),
                    )),
                    ..Default::default()
                }],
            }
        }
    }
}

pub fn value_of(v: &ArgValue) -> debug_annotation::Value {
    use debug_annotation::Value as V;
    match v {
        ArgValue::Int(i) => V::IntValue(*i),
        ArgValue::Uint(u) => V::UintValue(*u),
        ArgValue::Real(f) => V::DoubleValue(*f),
        ArgValue::Bool(b) => V::BoolValue(*b),
        ArgValue::Str(s) => V::StringValue(s.clone()),
    }
}

/// A raw JSON value as an unnamed annotation; `None` for `null`.
/// Below [`crate::json::MAX_DEPTH`] levels a value is kept as its JSON text.
fn from_raw(v: &RawValue, level: usize) -> Option<DebugAnnotation> {
    use debug_annotation::Value as V;
    let text = v.get();
    let mut a = DebugAnnotation::default();
    if level >= crate::json::MAX_DEPTH && matches!(text.as_bytes().first(), Some(b'{' | b'[')) {
        a.value = Some(V::StringValue(text.to_owned()));
        return Some(a);
    }
    match text.as_bytes().first()? {
        b'n' => return None,
        b't' => a.value = Some(V::BoolValue(true)),
        b'f' => a.value = Some(V::BoolValue(false)),
        b'"' => {
            let s: Cow<str> = serde_json::from_str::<Str>(text).ok()?.0;
            a.value = Some(V::StringValue(s.into_owned()));
        }
        b'[' => {
            let items: Vec<&RawValue> = serde_json::from_str(text).ok()?;
            a.array_values = items
                .into_iter()
                .filter_map(|v| from_raw(v, level + 1))
                .collect();
        }
        b'{' => {
            let Pairs(pairs) = serde_json::from_str(text).ok()?;
            a.dict_entries = pairs
                .into_iter()
                .filter_map(|(k, v)| {
                    let mut e = from_raw(v, level + 1)?;
                    e.name_field = Some(debug_annotation::NameField::Name(k.into_owned()));
                    Some(e)
                })
                .collect();
        }
        _ => {
            a.value = Some(if let Ok(i) = text.parse::<i64>() {
                V::IntValue(i)
            } else if let Ok(u) = text.parse::<u64>() {
                V::UintValue(u)
            } else if let Ok(f) = text.parse::<f64>() {
                V::DoubleValue(f)
            } else {
                V::StringValue(text.to_owned())
            })
        }
    }
    Some(a)
}
