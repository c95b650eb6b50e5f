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

/// Appends `s` as a JSON string (quoted and escaped).
pub fn write_string(out: &mut String, s: &str) {
    out.push_str(&serde_json::to_string(s).expect("a string serializes"));
}

/// Appends a scalar argument value as JSON text: numbers and booleans as
/// themselves, strings quoted, and a real JSON cannot carry (NaN, ±inf) as
/// the string of its word (`"NaN"`, `"inf"`) — the rule every raw-args
/// blob rebuilt from a trace or a `db` file follows.
pub fn write_scalar(out: &mut String, v: &ArgValue) {
    use std::fmt::Write;
    match v {
        ArgValue::Int(i) => {
            let _ = write!(out, "{i}");
        }
        ArgValue::Uint(u) => {
            let _ = write!(out, "{u}");
        }
        ArgValue::Real(f) if f.is_finite() => {
            out.push_str(&serde_json::to_string(f).expect("a finite number serializes"))
        }
        ArgValue::Real(f) => write_string(out, &f.to_string()),
        ArgValue::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        ArgValue::Str(t) => write_string(out, t),
    }
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

/// A number JSON cannot carry, as C's printf (`nan`, `-nan`, `inf`,
/// `-inf`; any case, `+` sign, `infinity`, `nan(…)`) and Python's json
/// module (`NaN`, `Infinity`, `-Infinity`) write it: the word itself.
pub fn is_non_finite(word: &str) -> bool {
    let w = word.strip_prefix(['-', '+']).unwrap_or(word);
    if w.eq_ignore_ascii_case("nan")
        || w.eq_ignore_ascii_case("inf")
        || w.eq_ignore_ascii_case("infinity")
    {
        return true;
    }
    // C99 `nan(n-char-sequence)`.
    w.len() > 4
        && w[..4].eq_ignore_ascii_case("nan(")
        && w.ends_with(')')
        && w[4..w.len() - 1]
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// What [`non_finite`] says about a non-finite token: a NaN or an infinity,
/// and who writes it that way.
pub fn non_finite_kind(token: &str) -> &'static str {
    if token
        .trim_start_matches(['-', '+'])
        .to_ascii_lowercase()
        .starts_with("nan")
    {
        "a NaN, as C's printf (`nan`, `-nan`) or Python's json module (`NaN`) writes it"
    } else {
        "an infinity, as C's printf (`inf`, `-inf`) or Python's json module (`Infinity`) writes it"
    }
}

/// One non-finite number found by [`non_finite`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NonFinite<'a> {
    /// Where it sits in the scanned value, as a path: `args.sys`,
    /// `x[2].y`; empty for the value itself. Only the first
    /// [`MAX_DEPTH`] levels are named.
    pub path: String,
    /// Byte offset of the token in the whole text.
    pub at: usize,
    pub token: &'a str,
}

/// A JSON value with its non-finite numbers replaced by `null`.
#[derive(Debug)]
pub struct Sanitized<'a> {
    /// Offset of the value in the whole text.
    pub start: usize,
    /// The value's text, each token replaced by `null`.
    pub text: String,
    /// The tokens replaced, in text order (at least one).
    pub tokens: Vec<NonFinite<'a>>,
    /// The offset just past the value in the whole text; `None` when the
    /// text ends inside it.
    pub end: Option<usize>,
}

impl Sanitized<'_> {
    /// The offset in the whole text of offset `at` of [`Sanitized::text`]
    /// (an offset inside a `null` that replaced a token maps to the
    /// token's start).
    pub fn original(&self, at: usize) -> usize {
        let mut shift = 0isize;
        for t in &self.tokens {
            // Where the `null` of `t` starts in `text`.
            let s = (t.at - self.start) as isize - shift;
            let s = s as usize;
            if at < s {
                break;
            }
            if at < s + 4 {
                return t.at;
            }
            shift += t.token.len() as isize - 4;
        }
        (self.start as isize + at as isize + shift) as usize
    }
}

/// Scans the JSON value at `start` for non-finite numbers (see
/// [`is_non_finite`]) outside strings and returns its text with each made
/// `null`, or `None` when it has none. It checks no other syntax: the
/// caller parses [`Sanitized::text`]. A byte scan, no recursion; meant for
/// the rare value serde_json refused.
pub fn non_finite(text: &str, start: usize) -> Option<Sanitized<'_>> {
    enum Frame {
        Object { key: Option<String>, want_key: bool },
        Array { index: usize },
    }
    let b = text.as_bytes();
    let structural = |c: u8| matches!(c, b'{' | b'}' | b'[' | b']' | b',' | b':' | b'"');
    let mut stack: Vec<Frame> = Vec::new();
    let mut out = String::new();
    let mut copied = start;
    let mut tokens = Vec::new();
    let mut pos = start;
    let path = |stack: &[Frame]| {
        let mut p = String::new();
        for f in stack.iter().take(MAX_DEPTH) {
            match f {
                Frame::Object { key, .. } => {
                    if !p.is_empty() {
                        p.push('.');
                    }
                    p.push_str(key.as_deref().unwrap_or(""));
                }
                Frame::Array { index } => p.push_str(&format!("[{index}]")),
            }
        }
        p
    };
    let end = loop {
        while pos < b.len() && matches!(b[pos], b' ' | b'\n' | b'\t' | b'\r') {
            pos += 1;
        }
        let Some(&c) = b.get(pos) else { break None };
        match c {
            b'{' => {
                stack.push(Frame::Object {
                    key: None,
                    want_key: true,
                });
                pos += 1;
                continue;
            }
            b'[' => {
                stack.push(Frame::Array { index: 0 });
                pos += 1;
                continue;
            }
            b'}' | b']' => {
                stack.pop();
                pos += 1;
            }
            b',' => {
                match stack.last_mut() {
                    Some(Frame::Object { want_key, .. }) => *want_key = true,
                    Some(Frame::Array { index }) => *index += 1,
                    None => {}
                }
                pos += 1;
                continue;
            }
            b':' => {
                if let Some(Frame::Object { want_key, .. }) = stack.last_mut() {
                    *want_key = false;
                }
                pos += 1;
                continue;
            }
            b'"' => {
                let from = pos;
                pos += 1;
                let mut escaped = false;
                while pos < b.len() && (escaped || b[pos] != b'"') {
                    escaped = !escaped && b[pos] == b'\\';
                    pos += 1;
                }
                if pos >= b.len() {
                    break None;
                }
                pos += 1;
                if let Some(Frame::Object { key, want_key }) = stack.last_mut() {
                    if *want_key {
                        let raw = &text[from..pos];
                        *key = Some(
                            serde_json::from_str::<String>(raw)
                                .unwrap_or_else(|_| raw[1..raw.len() - 1].to_owned()),
                        );
                    }
                }
            }
            _ => {
                let from = pos;
                while pos < b.len()
                    && !structural(b[pos])
                    && !matches!(b[pos], b' ' | b'\n' | b'\t' | b'\r')
                {
                    pos += 1;
                }
                if pos == from {
                    // A byte that starts no value (cannot happen: every
                    // other byte is a word byte); stop scanning.
                    return None;
                }
                // A word at the end of the text may be cut short.
                if pos >= b.len() && !stack.is_empty() {
                    break None;
                }
                let word = &text[from..pos];
                if is_non_finite(word) {
                    out.push_str(&text[copied..from]);
                    out.push_str("null");
                    copied = pos;
                    tokens.push(NonFinite {
                        path: path(&stack),
                        at: from,
                        token: word,
                    });
                }
            }
        }
        if stack.is_empty() {
            break Some(pos);
        }
    };
    if tokens.is_empty() {
        return None;
    }
    out.push_str(&text[copied..end.unwrap_or(b.len())]);
    Some(Sanitized {
        start,
        text: out,
        tokens,
        end,
    })
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

#[cfg(test)]
mod non_finite_tests {
    use super::*;

    #[test]
    fn words_c_and_python_write_for_non_finite_numbers() {
        for w in [
            "nan",
            "-nan",
            "NaN",
            "NAN",
            "inf",
            "-inf",
            "+inf",
            "INF",
            "Infinity",
            "-Infinity",
            "infinity",
            "nan(ind)",
            "-nan(0x7ff)",
        ] {
            assert!(is_non_finite(w), "{w}");
        }
        for w in [
            "null", "true", "1e5", "-1", "nan(", "nan(a b)", "in", "nana", "1.#INF",
        ] {
            assert!(!is_non_finite(w), "{w}");
        }
    }

    #[test]
    fn tokens_become_null_with_their_paths() {
        let text =
            r#"[{"a": nan, "s": "inf, nan", "b": {"c": [1, -inf, {"d\u0041": Infinity}]}}, 2]"#;
        let s = non_finite(text, 1).unwrap();
        assert_eq!(
            s.text,
            r#"{"a": null, "s": "inf, nan", "b": {"c": [1, null, {"d\u0041": null}]}}"#
        );
        let got: Vec<(&str, &str)> = s
            .tokens
            .iter()
            .map(|t| (t.path.as_str(), t.token))
            .collect();
        assert_eq!(
            got,
            [("a", "nan"), ("b.c[1]", "-inf"), ("b.c[2].dA", "Infinity")]
        );
        assert_eq!(s.end, Some(text.len() - 4));
        assert_eq!(&text[s.tokens[1].at..s.tokens[1].at + 4], "-inf");
        // Offsets map back to the whole text.
        let close = s.text.len() - 1;
        assert_eq!(s.original(close), text.len() - 5);
        let null_of_b = s.text.find("[1, null").unwrap() + 4;
        assert_eq!(s.original(null_of_b), s.tokens[1].at);
        assert_eq!(s.original(null_of_b + 2), s.tokens[1].at);
        assert_eq!(s.original(0), 1);
    }

    #[test]
    fn no_token_no_copy_and_cut_values() {
        assert!(non_finite(r#"{"a": 1, "b": "nan"}"#, 0).is_none());
        assert!(non_finite(r#"{"a": tru}"#, 0).is_none());
        let cut = non_finite(r#"{"a": nan, "b": "x"#, 0).unwrap();
        assert_eq!(cut.end, None);
        assert_eq!(cut.text, r#"{"a": null, "b": "x"#);
        // A scalar value.
        let s = non_finite("-inf, 3", 0).unwrap();
        assert_eq!(
            (s.text.as_str(), s.end, s.tokens[0].path.as_str()),
            ("null", Some(4), "")
        );
    }
}
