//! Error types. Every input error names the file, the record and the field.

use std::fmt;
use std::path::PathBuf;

/// Where in an input file an error sits.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Position {
    /// The file as a whole (empty, unknown format...).
    File,
    /// 0-based index of a record in a JSON array.
    Record(u64),
    /// 1-based line of a JSONL file.
    Line(u64),
    /// 1-based line and column of a JSON syntax error.
    LineColumn(u64, u64),
    /// 0-based index of a packet in a Perfetto protobuf trace.
    Packet(u64),
}

impl fmt::Display for Position {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Position::File => Ok(()),
            Position::Record(i) => write!(f, "record {i}"),
            Position::Line(l) => write!(f, "line {l}"),
            Position::LineColumn(l, c) => write!(f, "line {l}, column {c}"),
            Position::Packet(i) => write!(f, "packet {i}"),
        }
    }
}

/// A problem with the content of an input file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct InputError {
    pub path: PathBuf,
    pub position: Position,
    /// JSON path of the offending field, when there is one.
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for InputError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.path.display())?;
        if self.position != Position::File {
            write!(f, ": {}", self.position)?;
        }
        if let Some(field) = &self.field {
            write!(f, ": field `{field}`")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for InputError {}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: cannot write: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("{0}")]
    Usage(String),
    /// Valid inputs that hold nothing this command can use (exit 1: not a
    /// usage error).
    #[error("{0}")]
    NothingToDo(String),
    /// Serving a trace (`open`) failed: a port in use, no browser, ...
    #[error("{0}")]
    Serve(String),
    #[error("SQL: {0}")]
    Sql(String),
    /// A query failed: names the query (bundled name, file or `--sql`) and
    /// carries SQLite's message.
    #[error("query `{query}`: {message}")]
    Query { query: String, message: String },
    /// `export`: some inputs failed (each was reported as it failed); the
    /// others were written.
    #[error("{0}")]
    Export(String),
}

/// Byte offset of serde_json's (1-based line, column) in `text`.
pub fn offset_of(text: &str, line: usize, column: usize) -> usize {
    let mut start = 0;
    if line > 1 {
        match text.match_indices('\n').nth(line - 2).map(|(i, _)| i + 1) {
            Some(s) => start = s,
            None => return text.len(),
        }
    }
    (start + column.saturating_sub(1)).min(text.len())
}

/// A JSON error positioned in a whole input file, the way serde_json
/// reports it (1-based line; column = bytes from the start of that line to
/// the error). serde_json's own errors convert into it; so do errors from
/// parsing a piece of the file ([`JsonFault::within`]) and the syntax errors
/// the chunked parser finds between elements ([`JsonFault::at`]), so all of
/// them print the same way.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JsonFault {
    pub line: u64,
    pub column: u64,
    pub category: serde_json::error::Category,
    /// The message without serde_json's " at line L column C".
    pub message: String,
}

impl JsonFault {
    /// A fault at byte `index` of `body`, positioned like serde_json does.
    pub fn at(
        body: &[u8],
        index: usize,
        category: serde_json::error::Category,
        message: impl Into<String>,
    ) -> JsonFault {
        let index = index.min(body.len());
        let start_of_line = body[..index]
            .iter()
            .rposition(|&b| b == b'\n')
            .map_or(0, |p| p + 1);
        JsonFault {
            line: 1 + body[..start_of_line]
                .iter()
                .filter(|&&b| b == b'\n')
                .count() as u64,
            column: (index - start_of_line) as u64,
            category,
            message: message.into(),
        }
    }

    /// The fault `e` that serde_json found parsing `body[base..]`,
    /// positioned in the whole of `body`.
    pub fn within(e: &serde_json::Error, body: &[u8], base: usize) -> JsonFault {
        let piece = &body[base.min(body.len())..];
        let (line, column) = (e.line(), e.column());
        if line == 0 {
            // An error serde_json could not position: the piece's start.
            return JsonFault::at(body, base, e.classify(), strip_position(e));
        }
        let mut start_of_line = 0;
        if line > 1 {
            match piece
                .iter()
                .enumerate()
                .filter(|&(_, &b)| b == b'\n')
                .nth(line - 2)
            {
                Some((i, _)) => start_of_line = i + 1,
                None => start_of_line = piece.len(),
            }
        }
        JsonFault::at(
            body,
            base + start_of_line + column,
            e.classify(),
            strip_position(e),
        )
    }
}

impl From<&serde_json::Error> for JsonFault {
    fn from(e: &serde_json::Error) -> JsonFault {
        JsonFault {
            line: e.line() as u64,
            column: e.column() as u64,
            category: e.classify(),
            message: strip_position(e),
        }
    }
}

/// serde_json's message without its " at line L column C".
pub fn strip_position(e: &serde_json::Error) -> String {
    let m = e.to_string();
    match m.rsplit_once(" at line ") {
        Some((a, _)) if e.line() > 0 => a.to_owned(),
        _ => m,
    }
}

/// True when `e` says non-blank `text` stops in the middle of a value.
pub fn is_cut(text: &str, e: &JsonFault) -> bool {
    e.category == serde_json::error::Category::Eof && !text.trim().is_empty()
}

/// `NaN`, `Infinity` or `-Infinity` at or just before a syntax error.
fn non_json_number(text: &str, line: usize, column: usize) -> Option<&'static str> {
    let at = offset_of(text, line, column);
    let from = at.saturating_sub(2);
    let window = text.get(from..(at + 10).min(text.len())).or_else(|| {
        // Not on a char boundary: look from the error position only.
        text.get(at..(at + 10).min(text.len()))
    })?;
    ["-Infinity", "Infinity", "NaN"]
        .into_iter()
        .find(|t| window.contains(t))
}

/// A non-finite number as C's printf writes it (`nan`, `-nan`, `inf`,
/// `-inf`, `nan(...)`, any case) in which a syntax error falls: the whole
/// word around the error position.
fn c_non_finite(text: &str, line: usize, column: usize) -> Option<&str> {
    const MAX: usize = 64;
    let b = text.as_bytes();
    let at = offset_of(text, line, column).min(b.len());
    let word = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let sign = |c: u8| c == b'-' || c == b'+';
    let mut start = at;
    while start > 0 && at - start < MAX && word(b[start - 1]) {
        start -= 1;
    }
    let mut end = at;
    if start == end && end < b.len() && sign(b[end]) {
        // The error is at the sign itself.
        end += 1;
    } else if start > 0 && sign(b[start - 1]) {
        start -= 1;
    }
    while end < b.len() && end - start < MAX && word(b[end]) {
        end += 1;
    }
    // C99's `nan(n-char-sequence)`.
    if b.get(end) == Some(&b'(') {
        if let Some(close) = b[end..b.len().min(end + MAX)]
            .iter()
            .position(|&c| c == b')')
        {
            end += close + 1;
        }
    }
    let w = text.get(start..end)?;
    crate::json::is_non_finite(w).then_some(w)
}

impl Error {
    /// Process exit code: 1 for bad input or failed I/O, 2 for usage errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Usage(_) => 2,
            _ => 1,
        }
    }
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl InputError {
    pub fn new(path: impl Into<PathBuf>, position: Position, message: impl Into<String>) -> Self {
        InputError {
            path: path.into(),
            position,
            field: None,
            message: message.into(),
        }
    }

    pub fn field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// An error from serde_json while parsing `text` (the whole input, so
    /// the position is the file's): positioned at its line and column, with
    /// a plain explanation for the non-finite numbers JSON forbids but
    /// Python writes (`NaN`, `Infinity`, `-Infinity`) or C's printf (`nan`,
    /// `-nan`, `inf`, `-inf`) and for a cut (the text ends early).
    /// `complete` is how many complete records precede a cut, when known.
    pub fn json_in(
        path: impl Into<PathBuf>,
        text: &str,
        e: &JsonFault,
        complete: Option<u64>,
    ) -> Self {
        let path = path.into();
        if is_cut(text, e) {
            return InputError::truncated(path, e, complete);
        }
        if e.category == serde_json::error::Category::Syntax {
            if let Some(token) = non_json_number(text, e.line as usize, e.column as usize) {
                return InputError::new(
                    path,
                    Position::LineColumn(e.line, e.column),
                    format!(
                        "`{token}` is not a JSON number (Python's json.dumps writes it for float('{}')); \
                         write null or a string instead",
                        if token == "NaN" { "nan" } else { "inf" }
                    ),
                );
            }
            // (An importer that read past the token already explains it.)
            if let Some(token) = c_non_finite(text, e.line as usize, e.column as usize)
                .filter(|t| !e.message.contains(&format!("`{t}`")))
            {
                return InputError::new(
                    path,
                    Position::LineColumn(e.line, e.column),
                    format!(
                        "`{token}` is not a JSON number ({}); write null or a string instead",
                        crate::json::non_finite_kind(token)
                    ),
                );
            }
        }
        InputError::json(path, e)
    }

    /// The input ends in the middle of a JSON value.
    pub fn truncated(path: impl Into<PathBuf>, e: &JsonFault, complete: Option<u64>) -> Self {
        let mut msg = format!(
            "the JSON ends early ({}); the file looks truncated",
            e.message
        );
        if let Some(n) = complete {
            msg.push_str(&format!(
                "; {n} complete record{} precede{} the cut (--salvage keeps {})",
                if n == 1 { "" } else { "s" },
                if n == 1 { "s" } else { "" },
                if n == 1 { "it" } else { "them" },
            ));
        }
        InputError::new(path, Position::LineColumn(e.line, e.column), msg)
    }

    /// A JSON error, positioned at its line and column.
    pub fn json(path: impl Into<PathBuf>, e: &JsonFault) -> Self {
        InputError::new(
            path,
            Position::LineColumn(e.line, e.column),
            e.message.clone(),
        )
    }
}
