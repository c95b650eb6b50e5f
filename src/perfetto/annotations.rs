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

use serde::de::{Deserializer, MapAccess, SeqAccess, Visitor};

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
            let parsed = serde_json::from_str::<Pairs>(text).ok();
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
                    value: Some(debug_annotation::Value::StringValue(text.to_owned())),
                    ..Default::default()
                }],
            }
        }
    }
}

/// Appends the debug annotations of one slice to `out` as encoded
/// `TrackEvent.debug_annotations` (field 4) entries: byte for byte what
/// prost writes for [`encode`]'s result (a test checks it), but raw JSON
/// args go straight from the text to the wire without building
/// `DebugAnnotation`s, which was most of the writer's allocation.
pub fn encode_into(
    trace: &Trace,
    args: Args,
    names: &mut ChunkNames,
    bufs: &mut Vec<Vec<u8>>,
    out: &mut Vec<u8>,
) {
    if let Args::Raw { .. } = args {
        let text = trace.raw_args(args).unwrap_or_default();
        let start = out.len();
        if raw_object(text, names, bufs, out) {
            return;
        }
        // Importers validate raw args; keep whatever `encode` keeps.
        out.truncate(start);
    }
    for a in encode(trace, args, names) {
        prost::encoding::message::encode(4, &a, out);
    }
}

/// Field keys (tag << 3 | wire type) of `DebugAnnotation` and `TrackEvent`.
const NAME_IID: u8 = 1 << 3;
const NAME: u8 = 10 << 3 | 2;
const BOOL: u8 = 2 << 3;
const UINT: u8 = 3 << 3;
const INT: u8 = 4 << 3;
const DOUBLE: u8 = 5 << 3 | 1;
const STRING: u8 = 6 << 3 | 2;
const DICT_ENTRY: u8 = 11 << 3 | 2;
const ARRAY_VALUE: u8 = 12 << 3 | 2;
const DEBUG_ANNOTATION: u8 = 4 << 3 | 2;

fn put_bytes(out: &mut Vec<u8>, key: u8, bytes: &[u8]) {
    out.push(key);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

/// A buffer for nesting level `level`, taken out of `bufs` (put it back).
fn take(bufs: &mut Vec<Vec<u8>>, level: usize) -> Vec<u8> {
    if bufs.len() <= level {
        bufs.resize_with(level + 1, Vec::new);
    }
    let mut b = std::mem::take(&mut bufs[level]);
    b.clear();
    b
}

/// The top-level args object: one annotation per non-null entry, named by
/// an interned iid. False when the text is not a JSON object.
fn raw_object(
    text: &str,
    names: &mut ChunkNames,
    bufs: &mut Vec<Vec<u8>>,
    out: &mut Vec<u8>,
) -> bool {
    let mut ann = take(bufs, 0);
    let ok = for_each_entry(text, |key, v| {
        if v.get().starts_with('n') {
            // `null`: no annotation, and its name is not interned.
            return;
        }
        ann.clear();
        ann.push(NAME_IID);
        prost::encoding::encode_varint(names.dynamic(&key), &mut ann);
        if raw_value(v, 1, bufs, &mut ann) {
            put_bytes(out, DEBUG_ANNOTATION, &ann);
        }
    });
    bufs[0] = ann;
    ok
}

/// Appends the value fields of the annotation for `v` (see [`from_raw`],
/// whose encoding this is); false for `null`, which has no annotation.
fn raw_value(v: &RawValue, level: usize, bufs: &mut Vec<Vec<u8>>, out: &mut Vec<u8>) -> bool {
    let text = v.get();
    let first = text.as_bytes().first().copied();
    if level >= crate::json::MAX_DEPTH && matches!(first, Some(b'{' | b'[')) {
        put_bytes(out, STRING, text.as_bytes());
        return true;
    }
    match first {
        None | Some(b'n') => return false,
        Some(b't') => out.extend_from_slice(&[BOOL, 1]),
        Some(b'f') => out.extend_from_slice(&[BOOL, 0]),
        Some(b'"') => match serde_json::from_str::<Str>(text) {
            Ok(s) => put_bytes(out, STRING, s.0.as_bytes()),
            Err(_) => return false,
        },
        Some(b'[') => {
            let mut child = take(bufs, level);
            // A null element stays in its place as an annotation without
            // value, so the elements after it keep their index.
            let ok = for_each_element(text, |e| {
                child.clear();
                raw_value(e, level + 1, bufs, &mut child);
                put_bytes(out, ARRAY_VALUE, &child);
            });
            bufs[level] = child;
            return ok;
        }
        Some(b'{') => {
            let mut child = take(bufs, level);
            let ok = for_each_entry(text, |key, e| {
                child.clear();
                put_bytes(&mut child, NAME, key.as_bytes());
                if raw_value(e, level + 1, bufs, &mut child) {
                    put_bytes(out, DICT_ENTRY, &child);
                }
            });
            bufs[level] = child;
            return ok;
        }
        Some(_) => {
            if let Ok(i) = text.parse::<i64>() {
                out.push(INT);
                prost::encoding::encode_varint(i as u64, out);
            } else if let Ok(u) = text.parse::<u64>() {
                out.push(UINT);
                prost::encoding::encode_varint(u, out);
            } else if let Ok(f) = text.parse::<f64>() {
                out.push(DOUBLE);
                out.extend_from_slice(&f.to_bits().to_le_bytes());
            } else {
                put_bytes(out, STRING, text.as_bytes());
            }
        }
    }
    true
}

/// Calls `f` for each element of the JSON array `text`; false if it is not one.
fn for_each_element<'a>(text: &'a str, f: impl FnMut(&'a RawValue)) -> bool {
    struct V<F>(F);
    impl<'de, F: FnMut(&'de RawValue)> Visitor<'de> for V<F> {
        type Value = ();
        fn expecting(&self, fm: &mut std::fmt::Formatter) -> std::fmt::Result {
            fm.write_str("a JSON array")
        }
        fn visit_seq<S: SeqAccess<'de>>(mut self, mut seq: S) -> Result<(), S::Error> {
            while let Some(v) = seq.next_element::<&'de RawValue>()? {
                (self.0)(v);
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_seq(V(f)).is_ok()
}

/// Calls `f` for each entry of the JSON object `text`, in file order;
/// false if it is not one.
fn for_each_entry<'a>(text: &'a str, f: impl FnMut(Cow<'a, str>, &'a RawValue)) -> bool {
    struct V<F>(F);
    impl<'de, F: FnMut(Cow<'de, str>, &'de RawValue)> Visitor<'de> for V<F> {
        type Value = ();
        fn expecting(&self, fm: &mut std::fmt::Formatter) -> std::fmt::Result {
            fm.write_str("a JSON object")
        }
        fn visit_map<M: MapAccess<'de>>(mut self, mut m: M) -> Result<(), M::Error> {
            while let Some((k, v)) = m.next_entry::<Str<'de>, &'de RawValue>()? {
                (self.0)(k.0, v);
            }
            Ok(())
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    de.deserialize_map(V(f)).is_ok()
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
                .map(|v| from_raw(v, level + 1).unwrap_or_default())
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ArgValue;

    /// `encode_into` writes what prost writes for `encode`'s annotations,
    /// and interns the same names in the same order.
    #[test]
    fn direct_encoding_is_prosts() {
        let texts = [
            r#"{"External id": 7, "grid": [128, 1, 1], "name": "a\"b\u00e9", "ok": true, "no": false}"#,
            r#"{"x": null, "y": -0, "big": 18446744073709551615, "bigger": 18446744073709551616, "f": 1.0, "e": 1e-7, "neg": -9223372036854775808}"#,
            r#"{"nested": {"a": [1, {"b": null, "c": "d"}, [], {}], "n": null}, "empty": [], "obj": {}}"#,
            r#"{"deep": [[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]}"#,
            r#"{"dup": 1, "dup": 2, "k\u0000": "\ud83d\ude00"}"#,
            r#"{}"#,
        ];
        let mut trace = Trace::new();
        let key = trace.intern("stored");
        let listed = trace.add_args([(key, ArgValue::Str("v".into()))]);
        let mut blob = Vec::new();
        let mut raws = Vec::new();
        for t in texts {
            raws.push(Args::Raw {
                blob: 0,
                start: blob.len() as u64,
                len: t.len() as u32,
            });
            blob.extend_from_slice(t.as_bytes());
        }
        trace.blobs.push(String::from_utf8(blob).unwrap());
        let names = AnnotationNames::new(&trace);
        let (mut a, mut b) = (ChunkNames::new(&names), ChunkNames::new(&names));
        for args in raws.into_iter().chain([listed, Args::None]) {
            let mut want = Vec::new();
            for ann in encode(&trace, args, &mut a) {
                prost::encoding::message::encode(4, &ann, &mut want);
            }
            let mut got = Vec::new();
            encode_into(&trace, args, &mut b, &mut Vec::new(), &mut got);
            assert_eq!(got, want, "{:?}", trace.raw_args(args));
        }
        assert_eq!(a.used, b.used);
    }
}
