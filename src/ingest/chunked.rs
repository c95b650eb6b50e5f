//! One large JSON array, parsed in chunks on several threads and handed to
//! the caller element by element, in file order.
//!
//! Parsing is most of the time spent reading a big Chrome trace (and the
//! record arrays of the other formats, via `jsonrec`), and it is the part
//! that can run in parallel. The array's text is cut about every
//! `chunk_bytes` where it looks like an element starts (`}`, `,`, `{` with
//! only whitespace between); worker threads parse the chunks while the
//! caller consumes the ones before. A cut is trusted only when the chunk
//! before it, itself trusted, ended exactly there. A cut that fell inside a
//! string or a nested array therefore costs a re-parse of that chunk on the
//! caller's thread, never a wrong element, and the elements, their order,
//! and every error's message and position are those of one pass over the
//! whole file. The chunk size changes nothing but speed: the unit tests
//! below, `tests/chrome_json.rs` and `tests/malformed.rs` parse with tiny
//! chunks and compare, and so does the `chunked` fuzz target.
//!
//! [`walk_with`] also lets the caller judge what plain JSON refuses: an
//! element serde_json rejects goes to the caller's `repair` (on the
//! caller's thread, at a true element start only), and a text that ends
//! between elements without the closing `]` is reported as such
//! ([`Ended::Open`]) rather than as a fault.
//!
//! Memory stays bounded: workers run at most `2 × threads` chunks ahead of
//! the caller.

use std::sync::{mpsc, Condvar, Mutex};

use serde::de::{DeserializeSeed, Visitor};
use serde::Deserialize;
use serde_json::error::Category;

use crate::error::JsonFault;

/// How to split the work.
#[derive(Clone, Debug)]
pub struct Options {
    /// Bytes of array text per chunk.
    pub chunk_bytes: usize,
    /// Parsing threads (besides the caller's).
    pub threads: usize,
}

/// Chunk size: large enough that the per-chunk hand-over is noise, small
/// enough that the chunks in flight stay a few tens of MB.
pub const DEFAULT_CHUNK_BYTES: usize = 4 << 20;

impl Default for Options {
    /// Rayon's thread count (so `RAYON_NUM_THREADS` applies here too) and
    /// [`DEFAULT_CHUNK_BYTES`], or the chunk size in the environment
    /// variable `BREAKDOWN_TRACE_CHUNK_BYTES`, which exists for tests.
    fn default() -> Self {
        let chunk_bytes = std::env::var("BREAKDOWN_TRACE_CHUNK_BYTES")
            .ok()
            .and_then(|v| v.parse().ok())
            .filter(|&n: &usize| n > 0)
            .unwrap_or(DEFAULT_CHUNK_BYTES);
        Options {
            chunk_bytes,
            threads: rayon::current_num_threads(),
        }
    }
}

/// Why a walk stopped before the array's end.
#[derive(Debug)]
pub enum Stop<E> {
    /// The JSON is broken (or cut) there.
    Fault(JsonFault),
    /// The caller's sink refused an element.
    Sink(E),
}

/// JSON whitespace, as serde_json skips it.
fn is_ws(b: u8) -> bool {
    matches!(b, b' ' | b'\n' | b'\t' | b'\r')
}

/// The first non-whitespace offset at or after `pos`.
pub fn skip_ws(body: &[u8], mut pos: usize) -> usize {
    while pos < body.len() && is_ws(body[pos]) {
        pos += 1;
    }
    pos
}

/// A fault at the byte at `pos` (serde_json reports the position just past
/// the byte it peeked at).
pub fn fault_at(body: &[u8], pos: usize, category: Category, message: &str) -> JsonFault {
    JsonFault::at(body, (pos + 1).min(body.len()), category, message)
}

/// The end of the input, inside the value `what` ("a list", "an object").
pub fn eof(body: &[u8], what: &str) -> JsonFault {
    JsonFault::at(
        body,
        body.len(),
        Category::Eof,
        format!("EOF while parsing {what}"),
    )
}

/// Parses the JSON value at `pos` (a char boundary) as `T`; returns it and
/// the offset just past it. The text is known to be UTF-8, so serde_json
/// does not check every string again.
pub fn value<'a, T: Deserialize<'a>>(text: &'a str, pos: usize) -> Result<(T, usize), JsonFault> {
    let mut stream = serde_json::Deserializer::from_str(&text[pos..]).into_iter::<T>();
    match stream.next() {
        Some(Ok(v)) => Ok((v, pos + stream.byte_offset())),
        Some(Err(e)) => Err(JsonFault::within(&e, text.as_bytes(), pos)),
        None => Err(eof(text.as_bytes(), "a value")),
    }
}

/// The error for the value at `pos` not being what the caller wanted:
/// serde_json's "invalid type: ..., expected {expected}" (or the syntax
/// error it meets first).
pub fn wrong_type(text: &str, pos: usize, expected: &'static str) -> JsonFault {
    struct Expect(&'static str);
    impl<'de> Visitor<'de> for Expect {
        type Value = ();
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str(self.0)
        }
    }
    impl<'de> DeserializeSeed<'de> for Expect {
        type Value = ();
        fn deserialize<D: serde::Deserializer<'de>>(self, d: D) -> Result<(), D::Error> {
            d.deserialize_any(self)
        }
    }
    let mut de = serde_json::Deserializer::from_str(&text[pos..]);
    match Expect(expected).deserialize(&mut de) {
        Err(e) => JsonFault::within(&e, text.as_bytes(), pos),
        // A visitor without visit methods accepts nothing.
        Ok(()) => unreachable!("Expect accepts no value"),
    }
}

/// How one chunk's parse ended.
enum End {
    /// At an element starting at or past the chunk's limit (its offset).
    Next(usize),
    /// At the array's `]` (the offset just past it).
    Close(usize),
    /// At the end of the text between two elements (after `[`, after an
    /// element, or after its `,`): the array is not closed. The fault is
    /// the one a plain walk reports there.
    Open(JsonFault),
    Fault(JsonFault),
    /// serde_json refused the element at `start` and `run` was not to
    /// try `repair` (a worker's chunk, whose start may not be an
    /// element's: the caller repairs once it trusts the chunk).
    Refused {
        start: usize,
        fault: JsonFault,
    },
}

/// How a walk that did not stop ended (see [`walk_with`]).
#[derive(Debug, PartialEq, Eq)]
pub enum Ended {
    /// At the closing `]`; the offset just past it.
    Closed(usize),
    /// The text ends between two elements without the closing `]` (after
    /// `[`, after an element, or after an element's `,`, then only
    /// whitespace). The fault says where, as [`walk`] reports it.
    Open(JsonFault),
}

/// What [`walk_with`]'s `repair` made of an element serde_json refused.
pub enum Repair<U> {
    /// Nothing: the fault stands.
    Keep,
    /// A better-worded fault for the element.
    Fault(JsonFault),
    /// The element after all, and the offset just past it.
    Element(U, usize),
}

/// Parses elements from `pos` (an element's start, or just past `[` when
/// `first`) until an element starts at or past `limit`, handing each to
/// `push`. Separators are checked the way serde_json checks a sequence.
fn run<'a, T, U, E>(
    text: &'a str,
    mut pos: usize,
    first: bool,
    limit: usize,
    prepare: &(impl Fn(T) -> U + Sync),
    repair: Option<&(impl Fn(&'a str, usize, &JsonFault) -> Repair<U> + Sync)>,
    push: &mut impl FnMut(U) -> Result<(), E>,
) -> Result<End, E>
where
    T: Deserialize<'a>,
{
    let body = text.as_bytes();
    if first {
        pos = skip_ws(body, pos);
        match body.get(pos) {
            None => return Ok(End::Open(eof(body, "a list"))),
            Some(b']') => return Ok(End::Close(pos + 1)),
            Some(_) => {}
        }
    }
    loop {
        if pos >= limit {
            return Ok(End::Next(pos));
        }
        let (u, end) = match value::<T>(text, pos) {
            Ok((v, end)) => (prepare(v), end),
            Err(fault) => match repair {
                None => return Ok(End::Refused { start: pos, fault }),
                Some(repair) => match repair(text, pos, &fault) {
                    Repair::Keep => return Ok(End::Fault(fault)),
                    Repair::Fault(g) => return Ok(End::Fault(g)),
                    Repair::Element(u, end) => (u, end),
                },
            },
        };
        push(u)?;
        pos = match separator(body, end) {
            Ok(next) => next,
            Err(end) => return Ok(end),
        };
    }
}

/// After an element ending at `end`: the next element's start, or how the
/// array ends there. Checked the way serde_json checks a sequence.
fn separator(body: &[u8], end: usize) -> Result<usize, End> {
    let pos = skip_ws(body, end);
    match body.get(pos) {
        Some(b',') => {
            let pos = skip_ws(body, pos + 1);
            match body.get(pos) {
                Some(b']') => Err(End::Fault(fault_at(
                    body,
                    pos,
                    Category::Syntax,
                    "trailing comma",
                ))),
                None => Err(End::Open(eof(body, "a value"))),
                Some(_) => Ok(pos),
            }
        }
        Some(b']') => Err(End::Close(pos + 1)),
        None => Err(End::Open(eof(body, "a list"))),
        Some(_) => Err(End::Fault(fault_at(
            body,
            pos,
            Category::Syntax,
            "expected `,` or `]`",
        ))),
    }
}

/// A `repair` function's type, for a `run` that does not repair.
type RepairFn<'a, U> = fn(&'a str, usize, &JsonFault) -> Repair<U>;

/// Goes on after an element that ends at `after` (separator included),
/// as [`run`] would have, on the caller's thread.
fn run_after<'a, T, U, E>(
    text: &'a str,
    after: usize,
    limit: usize,
    prepare: &(impl Fn(T) -> U + Sync),
    repair: &(impl Fn(&'a str, usize, &JsonFault) -> Repair<U> + Sync),
    push: &mut impl FnMut(U) -> Result<(), E>,
) -> Result<End, E>
where
    T: Deserialize<'a>,
{
    match separator(text.as_bytes(), after) {
        Ok(next) => run(text, next, false, limit, prepare, Some(repair), push),
        Err(end) => Ok(end),
    }
}

/// The first offset in `from..to` that looks like an element's start: a `{`
/// preceded by a `,` preceded by a `}`, with only whitespace between.
fn find_cut(body: &[u8], from: usize, to: usize) -> Option<usize> {
    let back = |mut i: usize| {
        while i > 0 && is_ws(body[i - 1]) {
            i -= 1;
        }
        i.checked_sub(1).map(|j| (j, body[j]))
    };
    (from..to.min(body.len())).find(|&i| {
        body[i] == b'{' && matches!(back(i), Some((j, b',')) if matches!(back(j), Some((_, b'}'))))
    })
}

/// The guessed chunk starts after the first chunk's.
fn cuts(body: &[u8], open: usize, chunk: usize) -> Vec<usize> {
    let mut out = Vec::new();
    let mut guess = open.saturating_add(chunk);
    while guess < body.len() {
        let next = guess.saturating_add(chunk);
        if let Some(c) = find_cut(body, guess, next) {
            out.push(c);
        }
        guess = next;
    }
    out
}

struct Schedule {
    /// Next chunk a worker may take.
    next: usize,
    /// Chunks the caller has taken.
    taken: usize,
    cancel: bool,
}

/// Walks the array whose `[` is at `open`: parses each element as `T`,
/// turns it into `U` with `prepare` (on a worker thread) and hands it to
/// `sink` in order. Returns the offset just past the closing `]`.
pub fn walk<'a, T, U, E>(
    text: &'a str,
    open: usize,
    opts: &Options,
    prepare: impl Fn(T) -> U + Sync,
    sink: impl FnMut(U) -> Result<(), E>,
) -> Result<usize, Stop<E>>
where
    T: Deserialize<'a>,
    U: Send,
{
    match walk_with(text, open, opts, prepare, |_, _, _| Repair::Keep, sink)? {
        Ended::Closed(end) => Ok(end),
        Ended::Open(fault) => Err(Stop::Fault(fault)),
    }
}

/// [`walk`], with two more outcomes for the caller to judge:
///
/// - an element serde_json refuses goes to `repair(text, start, fault)`,
///   which may word the fault better or still produce the element (its
///   `U` and the offset past it). It must be a function of the text
///   alone, so that the chunk size and thread count still change nothing.
///   It runs on the caller's thread and only at true element starts (never
///   at a chunk start that was only guessed), so it may scan the element;
/// - a text that ends between elements, without the closing `]`, ends the
///   walk with [`Ended::Open`] (after every element was handed to `sink`)
///   instead of a fault.
pub fn walk_with<'a, T, U, E>(
    text: &'a str,
    open: usize,
    opts: &Options,
    prepare: impl Fn(T) -> U + Sync,
    repair: impl Fn(&'a str, usize, &JsonFault) -> Repair<U> + Sync,
    mut sink: impl FnMut(U) -> Result<(), E>,
) -> Result<Ended, Stop<E>>
where
    T: Deserialize<'a>,
    U: Send,
{
    let body = text.as_bytes();
    let cuts = cuts(body, open, opts.chunk_bytes.max(1));
    let finish = |end: End| match end {
        End::Close(p) => Ok(Ended::Closed(p)),
        End::Open(f) => Ok(Ended::Open(f)),
        End::Fault(f) => Err(Stop::Fault(f)),
        End::Next(_) => unreachable!("the last chunk has no limit"),
        End::Refused { .. } => unreachable!("repaired by the caller"),
    };
    if opts.threads <= 1 || cuts.is_empty() {
        let end = run(
            text,
            open + 1,
            true,
            usize::MAX,
            &prepare,
            Some(&repair),
            &mut sink,
        )
        .map_err(Stop::Sink)?;
        return finish(end);
    }
    let chunks = cuts.len() + 1;
    let start = |k: usize| if k == 0 { open + 1 } else { cuts[k - 1] };
    let limit = |k: usize| cuts.get(k).copied().unwrap_or(usize::MAX);
    let ahead = 2 * opts.threads;
    let schedule = Mutex::new(Schedule {
        next: 0,
        taken: 0,
        cancel: false,
    });
    let wake = Condvar::new();
    // Emptied chunk vectors go back to the workers: no allocation (and no
    // page faults) per chunk once the pipeline is full.
    let pool: Mutex<Vec<Vec<U>>> = Mutex::new(Vec::new());
    let stop_workers = || {
        schedule.lock().unwrap().cancel = true;
        wake.notify_all();
    };
    std::thread::scope(|scope| {
        let (tx, rx) = mpsc::channel::<(usize, Vec<U>, End)>();
        for _ in 0..opts.threads {
            let tx = tx.clone();
            let (schedule, wake, prepare, pool) = (&schedule, &wake, &prepare, &pool);
            let no_repair: Option<&RepairFn<'a, U>> = None;
            scope.spawn(move || loop {
                let k = {
                    let mut s = schedule.lock().unwrap();
                    while !s.cancel && s.next < chunks && s.next >= s.taken + ahead {
                        s = wake.wait(s).unwrap();
                    }
                    if s.cancel || s.next >= chunks {
                        return;
                    }
                    s.next += 1;
                    s.next - 1
                };
                let mut items = pool.lock().unwrap().pop().unwrap_or_default();
                let end = run(
                    text,
                    start(k),
                    k == 0,
                    limit(k),
                    prepare,
                    no_repair,
                    &mut |u| {
                        items.push(u);
                        Ok::<(), ()>(())
                    },
                )
                .unwrap_or_else(|()| unreachable!());
                if tx.send((k, items, end)).is_err() {
                    return;
                }
            });
        }
        drop(tx);
        let mut parked: Vec<Option<(Vec<U>, End)>> = (0..chunks).map(|_| None).collect();
        // Where the last trusted chunk stopped: the next element's start.
        let mut at = open + 1;
        for k in 0..chunks {
            while parked[k].is_none() {
                let (j, items, end) = rx.recv().expect("a chunk parser thread panicked");
                parked[j] = Some((items, end));
            }
            let (mut items, end) = parked[k].take().unwrap();
            schedule.lock().unwrap().taken = k + 1;
            wake.notify_all();
            let end = if k == 0 || at == start(k) {
                for u in items.drain(..) {
                    if let Err(e) = sink(u) {
                        stop_workers();
                        return Err(Stop::Sink(e));
                    }
                }
                pool.lock().unwrap().push(items);
                end
            } else {
                // The guessed start was not an element's: parse from where
                // the previous chunk really stopped.
                drop(items);
                match run(
                    text,
                    at,
                    false,
                    limit(k),
                    &prepare,
                    Some(&repair),
                    &mut sink,
                ) {
                    Ok(end) => end,
                    Err(e) => {
                        stop_workers();
                        return Err(Stop::Sink(e));
                    }
                }
            };
            // A worker met an element serde_json refused, at a start the
            // caller now trusts: repair it here and parse on from it.
            let end = match end {
                End::Refused { start, fault } => match repair(text, start, &fault) {
                    Repair::Keep => End::Fault(fault),
                    Repair::Fault(g) => End::Fault(g),
                    Repair::Element(u, after) => {
                        let more = sink(u).and_then(|()| {
                            run_after(text, after, limit(k), &prepare, &repair, &mut sink)
                        });
                        match more {
                            Ok(end) => end,
                            Err(e) => {
                                stop_workers();
                                return Err(Stop::Sink(e));
                            }
                        }
                    }
                },
                end => end,
            };
            match end {
                End::Next(p) => at = p,
                end => {
                    stop_workers();
                    return finish(end);
                }
            }
        }
        unreachable!("the last chunk has no limit")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::value::RawValue;

    fn all<'a>(
        body: &'a str,
        chunk: usize,
        threads: usize,
    ) -> Result<(Vec<&'a str>, usize), String> {
        let mut out = Vec::new();
        let open = body.find('[').unwrap();
        let opts = Options {
            chunk_bytes: chunk,
            threads,
        };
        walk(
            body,
            open,
            &opts,
            |v: &'a RawValue| v.get(),
            |s| {
                out.push(s);
                Ok::<(), ()>(())
            },
        )
        .map(|end| (out, end))
        .map_err(|e| match e {
            Stop::Fault(f) => format!("{}:{}: {}", f.line, f.column, f.message),
            Stop::Sink(()) => "sink".into(),
        })
    }

    #[test]
    fn any_chunk_size_gives_the_one_pass_result() {
        let texts = [
            r#"[{"a":1}, {"b":"}, {\"c\":2}"}, {"d":[{"e":1}, {"f":2}]},{"g":"},{"}]  "#,
            "[]",
            " [ ] ",
            "[{\"a\":1},\n{\"a\":2}\n,\n{\"a\":3}]",
            r#"[{"a":1},{"a":2},]"#,
            r#"[{"a":1},{"a":2} {"a":3}]"#,
            r#"[{"a":1},{"a":2},{"a":"#,
            r#"[{"a":1},{"a":2},"#,
            r#"[{"a":1},{"a":2}"#,
            "[",
            r#"[{"a":1},{"a":NaN},{"a":3}]"#,
        ];
        for text in texts {
            let one = all(text, usize::MAX / 4, 1);
            for chunk in 1..text.len() + 2 {
                for threads in [1, 2, 3] {
                    assert_eq!(all(text, chunk, threads), one, "{text} chunk {chunk}");
                }
            }
        }
        assert_eq!(
            all(texts[0], 1, 2).unwrap().0,
            [
                r#"{"a":1}"#,
                r#"{"b":"}, {\"c\":2}"}"#,
                r#"{"d":[{"e":1}, {"f":2}]}"#,
                r#"{"g":"},{"}"#
            ]
        );
        assert_eq!(all(texts[4], 1, 2), Err("1:18: trailing comma".into()));
        assert_eq!(all(texts[5], 1, 2), Err("1:18: expected `,` or `]`".into()));
        assert_eq!(
            all(texts[6], 1, 2),
            Err("1:22: EOF while parsing a value".into())
        );
    }

    /// `walk_with` over `body` with a repair that takes a bare `x` for
    /// an element and words the fault at a bare `y` its own way.
    fn all_with(body: &str, chunk: usize, threads: usize) -> (Vec<&str>, Result<Ended, String>) {
        let mut out = Vec::new();
        let open = body.find('[').unwrap();
        let opts = Options {
            chunk_bytes: chunk,
            threads,
        };
        let r = walk_with(
            body,
            open,
            &opts,
            |v: &'_ RawValue| v.get(),
            |text: &str, start, f: &JsonFault| match text.as_bytes()[start] {
                b'x' => Repair::Element(&text[start..start + 1], start + 1),
                b'y' => Repair::Fault(JsonFault {
                    message: format!("not a y ({})", f.message),
                    ..f.clone()
                }),
                _ => Repair::Keep,
            },
            |s| {
                out.push(s);
                Ok::<(), ()>(())
            },
        )
        .map_err(|e| match e {
            Stop::Fault(f) => format!("{}:{}: {}", f.line, f.column, f.message),
            Stop::Sink(()) => "sink".into(),
        });
        (out, r)
    }

    #[test]
    fn an_array_left_open_between_elements_ends_without_a_fault() {
        let open = |text: &str| -> (usize, String) {
            let (items, r) = all_with(text, usize::MAX / 4, 1);
            match r {
                Ok(Ended::Open(f)) => (
                    items.len(),
                    format!("{}:{}: {}", f.line, f.column, f.message),
                ),
                other => panic!("{text}: {other:?}"),
            }
        };
        assert_eq!(open("["), (0, "1:1: EOF while parsing a list".into()));
        assert_eq!(
            open("[{\"a\":1}"),
            (1, "1:8: EOF while parsing a list".into())
        );
        assert_eq!(
            open("[{\"a\":1},\n"),
            (1, "2:0: EOF while parsing a value".into())
        );
        assert_eq!(
            open("[{\"a\":1}, {\"a\":2} \n\n"),
            (2, "3:0: EOF while parsing a list".into())
        );
        // A cut inside an element is no open array.
        let (_, r) = all_with("[{\"a\":1},{\"a\"", usize::MAX / 4, 1);
        assert_eq!(r, Err("1:13: EOF while parsing an object".into()));
        // `walk` reports an open array as the fault it always did.
        assert_eq!(
            all("[{\"a\":1},\n", 4, 2),
            Err("2:0: EOF while parsing a value".into())
        );
    }

    #[test]
    fn repaired_elements_and_faults_do_not_depend_on_chunks() {
        let texts = [
            r#"[{"a":1}, x, {"b":"}, x, {"}, x ,{"c":3}]"#,
            r#"[x,x,x"#,
            r#"[{"a":1},x,{"b":2}, y, {"c":3}]"#,
            r#"[{"a":1},x,{"b":2}, z, {"c":3}]"#,
            r#"[{"a":1},{"b":[x]}]"#,
        ];
        for text in texts {
            let one = all_with(text, usize::MAX / 4, 1);
            for chunk in 1..text.len() + 2 {
                for threads in [1, 2, 3] {
                    assert_eq!(all_with(text, chunk, threads), one, "{text} chunk {chunk}");
                }
            }
        }
        let (items, r) = all_with(texts[0], 1, 2);
        assert_eq!(
            items,
            [r#"{"a":1}"#, "x", r#"{"b":"}, x, {"}"#, "x", r#"{"c":3}"#]
        );
        assert_eq!(r, Ok(Ended::Closed(texts[0].len())));
        assert_eq!(
            all_with(texts[1], 1, 2).1,
            Ok(Ended::Open(JsonFault::at(
                texts[1].as_bytes(),
                6,
                Category::Eof,
                "EOF while parsing a list"
            )))
        );
        assert_eq!(
            all_with(texts[2], 1, 2).1,
            Err("1:21: not a y (expected value)".into())
        );
        assert_eq!(
            all_with(texts[3], 1, 2).1,
            Err("1:21: expected value".into())
        );
        // Only elements of the array itself go to `repair`.
        assert_eq!(
            all_with(texts[4], 1, 2).1,
            Err("1:16: expected value".into())
        );
    }

    #[test]
    fn faults_inside_a_later_chunk_are_positioned_in_the_file() {
        let text = "[{\"a\":1},\n{\"a\":2},\n{\"a\": tru}]";
        assert_eq!(all(text, 1, 2), Err("3:10: expected ident".into()));
        assert_eq!(all(text, 1, 2), all(text, 1000, 1));
    }

    #[test]
    fn a_sink_error_stops_the_walk() {
        let text = r#"[{"a":1},{"a":2},{"a":3},{"a":4}]"#;
        for threads in [1, 2] {
            let mut seen = 0;
            let r = walk(
                text,
                0,
                &Options {
                    chunk_bytes: 3,
                    threads,
                },
                |v: &RawValue| v.get().len(),
                |_| {
                    seen += 1;
                    if seen == 2 {
                        Err("enough")
                    } else {
                        Ok(())
                    }
                },
            );
            assert!(matches!(r, Err(Stop::Sink("enough"))));
            assert_eq!(seen, 2);
        }
    }
}
