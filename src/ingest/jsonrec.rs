//! Record splitting and error/warning helpers shared by the client and
//! iteration-stats importers.
//!
//! An input is a stream of top-level JSON values: JSON Lines, one array,
//! or several arrays written one after another (repeated `/metrics` polls
//! appended to one file). Array elements are records numbered from 0 across
//! the whole file; top-level objects are records positioned by line.

use std::path::Path;

use serde_json::value::RawValue;

use crate::error::{strip_position, InputError, JsonFault, Position};
use crate::ingest::Input;
use crate::json::is_null;
use crate::model::{Location, Trace, Warning};

/// An input split into records.
pub struct Split<'a> {
    pub records: Vec<(Position, &'a RawValue)>,
    /// Where a truncated input was cut (line, column), when `--salvage`
    /// kept its complete records.
    pub cut: Option<(u64, u64)>,
}

impl Split<'_> {
    /// Records the salvage (if any) as a `truncated_input` warning.
    pub fn warn_cut(&self, trace: &mut Trace, input: &Input, index: u32) {
        if let Some((line, column)) = self.cut {
            crate::ingest::warn_salvaged(
                trace,
                index,
                &input.path,
                self.records.len() as u64,
                line,
                column,
            );
        }
    }
}

/// Splits `text` into raw records with their positions. A text cut in the
/// middle of a value is an error naming where it stops, or with `salvage`
/// keeps every complete record before the cut (the elements of a cut
/// array, the complete lines of JSON Lines).
pub fn records<'a>(input: &Input, text: &'a str, salvage: bool) -> Result<Split<'a>, InputError> {
    let body = text.trim_start_matches('\u{feff}');
    let mut out = Vec::new();
    let mut stream = serde_json::Deserializer::from_str(body).into_iter::<&RawValue>();
    let mut line = 1u64;
    let mut scanned = 0usize;
    let mut index = 0u64;
    loop {
        let before = stream.byte_offset();
        let v = match stream.next() {
            None => break,
            Some(Ok(v)) => v,
            Some(Err(e)) => {
                let e = JsonFault::from(&e);
                if !crate::error::is_cut(body, &e) {
                    return Err(InputError::json_in(&input.path, body, &e, None));
                }
                // The rest is one cut value: keep the complete elements of
                // a cut array.
                let rest = body[before..].trim_start();
                let mut items = Vec::new();
                if rest.starts_with('[') {
                    let mut de = serde_json::Deserializer::from_str(rest);
                    let _ = serde::de::DeserializeSeed::deserialize(Collect(&mut items), &mut de);
                }
                if !salvage {
                    let kept = out.len() as u64 + items.len() as u64;
                    return Err(InputError::json_in(&input.path, body, &e, Some(kept)));
                }
                for item in items {
                    out.push((Position::Record(index), item));
                    index += 1;
                }
                return Ok(Split {
                    records: out,
                    cut: Some((e.line, e.column)),
                });
            }
        };
        let start = v.get().as_ptr() as usize - body.as_ptr() as usize;
        line += body.as_bytes()[scanned..start]
            .iter()
            .filter(|&&b| b == b'\n')
            .count() as u64;
        scanned = start;
        if v.get().starts_with('[') {
            let mut items = Vec::new();
            let mut de = serde_json::Deserializer::from_str(v.get());
            serde::de::DeserializeSeed::deserialize(Collect(&mut items), &mut de).map_err(|e| {
                InputError::json(&input.path, &JsonFault::within(&e, body.as_bytes(), start))
            })?;
            for item in items {
                out.push((Position::Record(index), item));
                index += 1;
            }
        } else {
            out.push((Position::Line(line), v));
        }
    }
    Ok(Split {
        records: out,
        cut: None,
    })
}

/// Collects the elements of a JSON array into a vector it does not own, so
/// the elements before a syntax error or a cut survive the error.
struct Collect<'v, 'a>(&'v mut Vec<&'a RawValue>);

impl<'de, 'v> serde::de::DeserializeSeed<'de> for Collect<'v, 'de> {
    type Value = ();
    fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
        d.deserialize_seq(self)
    }
}

impl<'de, 'v> serde::de::Visitor<'de> for Collect<'v, 'de> {
    type Value = ();
    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
        f.write_str("a JSON array")
    }
    fn visit_seq<S: serde::de::SeqAccess<'de>>(self, mut seq: S) -> Result<(), S::Error> {
        while let Some(v) = seq.next_element::<&'de RawValue>()? {
            self.0.push(v);
        }
        Ok(())
    }
}

/// Where an importer is, for errors and warnings.
pub struct Cursor<'p> {
    pub path: &'p Path,
    pub input: u32,
    pub position: Position,
}

impl Cursor<'_> {
    pub fn error(&self, field: &str, message: impl Into<String>) -> InputError {
        let e = InputError::new(self.path, self.position.clone(), message);
        if field.is_empty() {
            e
        } else {
            e.field(field)
        }
    }

    pub fn location(&self) -> Location {
        match self.position {
            Position::Record(i) => Location::Index(i),
            Position::Line(l) | Position::LineColumn(l, _) => Location::Line(l),
            Position::File => Location::File,
        }
    }

    pub fn warn(
        &self,
        trace: &mut Trace,
        kind: &'static str,
        field: &str,
        message: impl Into<String>,
    ) {
        trace.warnings.push(Warning {
            kind,
            input: self.input,
            location: self.location(),
            field: field.to_owned(),
            message: message.into(),
        });
    }

    /// Parses `raw` as `T`, naming `field` on failure.
    pub fn parse<'a, T: serde::Deserialize<'a>>(
        &self,
        raw: &'a RawValue,
        field: &str,
    ) -> Result<T, InputError> {
        serde_json::from_str(raw.get()).map_err(|e| self.error(field, strip_position(&e)))
    }

    /// An optional number; `null` and missing are `None`, other types an error.
    pub fn number(&self, raw: Option<&RawValue>, field: &str) -> Result<Option<f64>, InputError> {
        match raw {
            None => Ok(None),
            Some(v) if is_null(v) => Ok(None),
            Some(v) => v
                .get()
                .parse::<f64>()
                .ok()
                .filter(|f| f.is_finite())
                .map(Some)
                .ok_or_else(|| {
                    self.error(field, format!("expected a number, found {}", kind_of(v)))
                }),
        }
    }

    /// An optional integer (also `3.0`).
    pub fn int(&self, raw: Option<&RawValue>, field: &str) -> Result<Option<i64>, InputError> {
        match raw {
            None => Ok(None),
            Some(v) if is_null(v) => Ok(None),
            Some(v) => {
                let t = v.get();
                t.parse::<i64>()
                    .ok()
                    .or_else(|| {
                        t.parse::<f64>()
                            .ok()
                            .filter(|f| f.fract() == 0.0 && f.abs() < 9e15)
                            .map(|f| f as i64)
                    })
                    .map(Some)
                    .ok_or_else(|| {
                        self.error(field, format!("expected an integer, found {}", kind_of(v)))
                    })
            }
        }
    }

    /// An optional string.
    pub fn string(
        &self,
        raw: Option<&RawValue>,
        field: &str,
    ) -> Result<Option<String>, InputError> {
        match raw {
            None => Ok(None),
            Some(v) if is_null(v) => Ok(None),
            Some(v) if v.get().starts_with('"') => self.parse::<String>(v, field).map(Some),
            Some(v) => Err(self.error(field, format!("expected a string, found {}", kind_of(v)))),
        }
    }

    /// An optional boolean.
    pub fn boolean(&self, raw: Option<&RawValue>, field: &str) -> Result<Option<bool>, InputError> {
        match raw.map(|v| v.get()) {
            None | Some("null") => Ok(None),
            Some("true") => Ok(Some(true)),
            Some("false") => Ok(Some(false)),
            Some(_) => Err(self.error(
                field,
                format!("expected a boolean, found {}", kind_of(raw.unwrap())),
            )),
        }
    }
}

/// Describes a raw value for an error message.
pub fn kind_of(v: &RawValue) -> String {
    let t = v.get();
    let short = |t: &str| {
        if t.len() > 40 {
            let cut = t.char_indices().nth(40).map_or(t.len(), |(i, _)| i);
            format!("{}…", &t[..cut])
        } else {
            t.to_owned()
        }
    };
    match t.as_bytes().first() {
        Some(b'"') => format!("the string {}", short(t)),
        Some(b'{') => "an object".into(),
        Some(b'[') => "an array".into(),
        Some(b't') | Some(b'f') => format!("the boolean {t}"),
        Some(b'n') => "null".into(),
        _ => format!("`{}`", short(t)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(text: &str, salvage: bool) -> Result<(Vec<String>, Option<(u64, u64)>), InputError> {
        let input = Input::from_bytes("t.json", text.as_bytes().to_vec());
        let s = records(&input, text, salvage)?;
        Ok((
            s.records
                .iter()
                .map(|(p, v)| format!("{p}={}", v.get()))
                .collect(),
            s.cut,
        ))
    }

    #[test]
    fn salvage_keeps_complete_elements_and_lines() {
        // A cut array: its complete elements, numbered on from earlier arrays.
        let (r, cut) = split("[1, 2]\n[3, {\"a\": [4", true).unwrap();
        assert_eq!(r, ["record 0=1", "record 1=2", "record 2=3"]);
        assert_eq!(cut, Some((2, 12)));
        // JSON Lines: the complete lines.
        let (r, cut) = split("{\"a\":1}\n{\"b\":2}\n{\"c\":", true).unwrap();
        assert_eq!(r, ["line 1={\"a\":1}", "line 2={\"b\":2}"]);
        assert_eq!(cut, Some((3, 5)));
        // Without salvage: an error at the cut that counts what would be kept.
        let e = split("{\"a\":1}\n{\"b\":2}\n{\"c\":", false).unwrap_err();
        assert_eq!(e.position, Position::LineColumn(3, 5));
        assert!(
            e.message.contains("2 complete records precede the cut"),
            "{}",
            e.message
        );
        // A syntax error is not a cut, salvage or not.
        let e = split("[1, 2,, 3]", true).unwrap_err();
        assert_eq!(e.position, Position::LineColumn(1, 7));
        // A complete input has no cut.
        assert_eq!(split("[1]", true).unwrap().1, None);
    }
}
