//! Small JSON helpers shared by importers and writers: borrowed strings,
//! objects as ordered (key, raw value) pairs, raw values → argument values.

use std::borrow::Cow;
use std::fmt;

use serde::de::{self, Deserializer, MapAccess, Visitor};
use serde::Deserialize;
use serde_json::value::RawValue;

use crate::model::ArgValue;

/// A JSON string, borrowed when it has no escapes.
pub struct Str<'a>(pub Cow<'a, str>);

impl<'de: 'a, 'a> Deserialize<'de> for Str<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Str<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E: de::Error>(self, v: &'de str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Borrowed(v)))
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v.to_owned())))
            }
            fn visit_string<E: de::Error>(self, v: String) -> Result<Self::Value, E> {
                Ok(Str(Cow::Owned(v)))
            }
        }
        d.deserialize_str(V)
    }
}

/// A JSON object as (key, raw value) pairs in file order.
pub struct Pairs<'a>(pub Vec<(Cow<'a, str>, &'a RawValue)>);

impl<'de: 'a, 'a> Deserialize<'de> for Pairs<'a> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Pairs<'de>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<M: MapAccess<'de>>(self, mut m: M) -> Result<Self::Value, M::Error> {
                let mut out = Vec::with_capacity(m.size_hint().unwrap_or(8));
                while let Some((k, v)) = m.next_entry::<Str<'de>, &'de RawValue>()? {
                    out.push((k.0, v));
                }
                Ok(Pairs(out))
            }
        }
        d.deserialize_map(V)
    }
}

/// Deserializes a field so that JSON `null` is kept (as the raw text
/// `null`) instead of becoming `None`; with `#[serde(default)]` a missing key
/// is `None`. Lets importers tell "missing" from "null".
pub fn present<'de, D: Deserializer<'de>>(d: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&'de RawValue>::deserialize(d).map(Some)
}

/// True for the raw JSON `null`.
pub fn is_null(v: &RawValue) -> bool {
    v.get() == "null"
}

/// A scalar raw value as an argument value; `None` for null, objects and
/// arrays (see [`flatten`]).
pub fn scalar(v: &RawValue) -> Option<ArgValue> {
    let text = v.get();
    match text.as_bytes().first()? {
        b'n' | b'{' | b'[' => None,
        b't' => Some(ArgValue::Bool(true)),
        b'f' => Some(ArgValue::Bool(false)),
        b'"' => serde_json::from_str::<Str>(text)
            .ok()
            .map(|s| ArgValue::Str(s.0.into_owned())),
        _ => Some(if let Ok(i) = text.parse::<i64>() {
            ArgValue::Int(i)
        } else if let Ok(u) = text.parse::<u64>() {
            ArgValue::Uint(u)
        } else if let Ok(f) = text.parse::<f64>() {
            ArgValue::Real(f)
        } else {
            ArgValue::Str(text.to_owned())
        }),
    }
}

/// Deepest nesting of arguments converted into nested values; a value
/// nested deeper is kept as its JSON text (a string). Protobuf decoders
/// (trace processor, the `protobuf` crate) refuse messages nested ~100 deep,
/// and recursion over arbitrarily deep input would overflow the stack.
pub const MAX_DEPTH: usize = 32;

/// Nesting depth of a JSON text: 0 for a scalar, 1 for `{}` or `[1]`, ...
/// A byte scan, no recursion.
pub fn depth(text: &str) -> usize {
    depth_exact(text)
}

/// `Some(depth)` when `text` nests deeper than `limit`. Cheap for the common
/// shallow case: nesting never exceeds the number of opening brackets, and
/// counting bytes is far cheaper than tracking strings.
pub fn deeper_than(text: &str, limit: usize) -> Option<usize> {
    let opens = text
        .as_bytes()
        .iter()
        .filter(|&&b| b == b'{' || b == b'[')
        .count();
    if opens <= limit {
        return None;
    }
    Some(depth_exact(text)).filter(|&d| d > limit)
}

fn depth_exact(text: &str) -> usize {
    let (mut d, mut max, mut in_str, mut esc) = (0usize, 0usize, false, false);
    for &b in text.as_bytes() {
        if in_str {
            match b {
                _ if esc => esc = false,
                b'\\' => esc = true,
                b'"' => in_str = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_str = true,
            b'[' | b'{' => {
                d += 1;
                max = max.max(d);
            }
            b']' | b'}' => d = d.saturating_sub(1),
            _ => {}
        }
    }
    max
}

/// Flattens a raw value into `(dotted.key, value)` pairs: objects recurse
/// with `prefix.key`, arrays with `prefix[i]`, nulls are skipped; below
/// [`MAX_DEPTH`] levels a value is kept as its JSON text.
pub fn flatten(prefix: &str, v: &RawValue, out: &mut Vec<(String, ArgValue)>) {
    flatten_at(prefix, v, out, 0)
}

fn flatten_at(prefix: &str, v: &RawValue, out: &mut Vec<(String, ArgValue)>, level: usize) {
    let text = v.get();
    if level >= MAX_DEPTH && matches!(text.as_bytes().first(), Some(b'{' | b'[')) {
        out.push((prefix.to_owned(), ArgValue::Str(text.to_owned())));
        return;
    }
    match text.as_bytes().first() {
        Some(b'{') => {
            if let Ok(Pairs(pairs)) = serde_json::from_str::<Pairs>(text) {
                for (k, v) in pairs {
                    let key = if prefix.is_empty() {
                        k.into_owned()
                    } else {
                        format!("{prefix}.{k}")
                    };
                    flatten_at(&key, v, out, level + 1);
                }
            }
        }
        Some(b'[') => {
            if let Ok(items) = serde_json::from_str::<Vec<&RawValue>>(text) {
                for (i, v) in items.into_iter().enumerate() {
                    flatten_at(&format!("{prefix}[{i}]"), v, out, level + 1);
                }
            }
        }
        _ => {
            if let Some(a) = scalar(v) {
                out.push((prefix.to_owned(), a));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flatten_objects_and_arrays() {
        let v: &RawValue =
            serde_json::from_str(r#"{"a": 1, "b": {"c": 2.5, "d": null}, "e": [true, "x\"y"], "big": 10159970886766084423}"#)
                .unwrap();
        let mut out = Vec::new();
        flatten("", v, &mut out);
        assert_eq!(
            out,
            vec![
                ("a".into(), ArgValue::Int(1)),
                ("b.c".into(), ArgValue::Real(2.5)),
                ("e[0]".into(), ArgValue::Bool(true)),
                ("e[1]".into(), ArgValue::Str("x\"y".into())),
                ("big".into(), ArgValue::Uint(10159970886766084423)),
            ]
        );
    }
}

#[cfg(test)]
mod depth_tests {
    use super::*;

    #[test]
    fn depth_counts_nesting_outside_strings() {
        assert_eq!(depth("1"), 0);
        assert_eq!(depth("{}"), 1);
        assert_eq!(depth(r#"{"a": [1, {"b": "[[[{"}]}"#), 3);
        assert_eq!(depth(r#"["\"[", [[]]]"#), 3);
        assert_eq!(deeper_than(r#"["\"[", [[]]]"#, 2), Some(3));
        assert_eq!(deeper_than(r#"["\"[", [[]]]"#, 3), None);
        assert_eq!(deeper_than(r#"["{{{{", 1]"#, 1), None);
    }

    #[test]
    fn flatten_stops_at_max_depth() {
        let text = format!(
            "{}1{}",
            "[".repeat(MAX_DEPTH + 5),
            "]".repeat(MAX_DEPTH + 5)
        );
        let v: &RawValue = serde_json::from_str(&text).unwrap();
        let mut out = Vec::new();
        flatten("x", v, &mut out);
        assert_eq!(out.len(), 1);
        let (k, ArgValue::Str(s)) = &out[0] else {
            panic!("kept as text: {out:?}")
        };
        assert_eq!(k, &format!("x{}", "[0]".repeat(MAX_DEPTH)));
        assert_eq!(s, "[[[[[1]]]]]");
    }
}
