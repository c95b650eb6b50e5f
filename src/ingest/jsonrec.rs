//! Record splitting and error/warning helpers shared by the client and
//! iteration-stats importers.
//!
//! An input is a stream of top-level JSON values: JSON Lines, one array,
//! or several arrays written one after another (repeated `/metrics` polls
//! appended to one file). Array elements are records numbered from 0 across
//! the whole file; top-level objects are records positioned by line.

use std::path::Path;

use serde_json::value::RawValue;

use crate::error::{strip_position, InputError, Position};
use crate::ingest::{chunked, Input};
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
/// array, the complete lines of JSON Lines). Arrays go through
/// [`chunked::walk`], so a big one is split on all cores.
pub fn records<'a>(input: &Input, text: &'a str, salvage: bool) -> Result<Split<'a>, InputError> {
    let body = text.trim_start_matches('\u{feff}');
    let bytes = body.as_bytes();
    let opts = chunked::Options::default();
    let mut out = Vec::new();
    let mut line = 1u64;
    let mut scanned = 0usize;
    let mut index = 0u64;
    let mut pos = 0usize;
    loop {
        pos = chunked::skip_ws(bytes, pos);
        if pos >= bytes.len() {
            return Ok(Split {
                records: out,
                cut: None,
            });
        }
        line += bytes[scanned..pos].iter().filter(|&&b| b == b'\n').count() as u64;
        scanned = pos;
        let fault = if bytes[pos] == b'[' {
            let walked = chunked::walk(
                body,
                pos,
                &opts,
                |v: &'a RawValue| v,
                |v| {
                    out.push((Position::Record(index), v));
                    index += 1;
                    Ok::<(), ()>(())
                },
            );
            match walked {
                Ok(end) => {
                    pos = end;
                    continue;
                }
                Err(chunked::Stop::Fault(f)) => f,
                Err(chunked::Stop::Sink(())) => unreachable!("the sink accepts every record"),
            }
        } else {
            match chunked::value::<&RawValue>(body, pos) {
                Ok((v, end)) => {
                    out.push((Position::Line(line), v));
                    pos = end;
                    continue;
                }
                Err(f) => f,
            }
        };
        // Syntax errors end the read; a cut keeps what precedes it.
        if !crate::error::is_cut(body, &fault) {
            return Err(InputError::json_in(&input.path, body, &fault, None));
        }
        if !salvage {
            let kept = out.len() as u64;
            return Err(InputError::json_in(&input.path, body, &fault, Some(kept)));
        }
        return Ok(Split {
            records: out,
            cut: Some((fault.line, fault.column)),
        });
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
            Position::Record(i) | Position::Packet(i) => Location::Index(i),
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
