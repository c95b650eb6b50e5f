//! Malformed inputs, one table: each case is an input written here (or cut
//! from a fixture), the command line, and the exact error fragment (after
//! `<path>: `) or warning kind and count it must produce. Every run checks
//! that the binary did not panic, the exit code (1 bad input, 2 usage), and
//! that an error leaves no output file behind — and leaves an existing
//! output file untouched.

mod common;

use std::path::{Path, PathBuf};

use common::fixture;

enum Expect {
    /// Exit code and the stderr text that follows `error: <input path>: `.
    Error(i32, &'static str),
    /// A usage error (exit 2) whose stderr contains this text.
    Usage(&'static str),
    /// Success with `count` warnings of `kind` in the summary.
    Warn(&'static str, u64),
    /// Success with no warnings at all.
    Clean,
}

struct Case {
    name: &'static str,
    input: Vec<u8>,
    /// Extra arguments after `convert IN -o OUT`.
    args: &'static [&'static str],
    expect: Expect,
}

fn case(
    name: &'static str,
    input: impl Into<Vec<u8>>,
    args: &'static [&'static str],
    expect: Expect,
) -> Case {
    Case {
        name,
        input: input.into(),
        args,
        expect,
    }
}

const X: &str = r#"{"ph":"X","name":"a","ts":1,"dur":2,"pid":1,"tid":1}"#;

/// A Chrome event array: `X`, then `second` as the second event.
fn chrome2(second: &str) -> String {
    format!("[{X},\n{second}]")
}

/// The first `lines` complete lines of a fixture plus `extra` bytes of the next.
fn cut(rel: &str, lines: usize, extra: usize) -> Vec<u8> {
    let text = std::fs::read(fixture(rel)).unwrap();
    let mut at = 0;
    for _ in 0..lines {
        at += text[at..].iter().position(|&b| b == b'\n').unwrap() + 1;
    }
    text[..at + extra].to_vec()
}

/// A Chrome trace of `n` events, gzipped, cut to 60 % of its bytes.
fn cut_gzip(n: usize) -> Vec<u8> {
    use std::io::Write;
    let events: Vec<String> = (0..n)
        .map(|i| format!(r#"{{"ph":"X","name":"e{i}","ts":{i},"dur":1,"pid":1,"tid":1}}"#))
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(format!("[{}]", events.join(",\n")).as_bytes())
        .unwrap();
    let mut bytes = gz.finish().unwrap();
    bytes.truncate(bytes.len() * 6 / 10);
    bytes
}

fn cases() -> Vec<Case> {
    use Expect::*;
    let deep = format!(
        r#"[{{"ph":"X","name":"a","ts":1,"dur":2,"pid":1,"tid":1,"args":{{"x":{}{}}}}}]"#,
        "[".repeat(100_000),
        "]".repeat(100_000)
    );
    let long = format!(
        r#"[{{"ph":"X","name":"{}","ts":1,"dur":2,"pid":1,"tid":1}}]"#,
        "n".repeat(100_000)
    );
    vec![
        // --- truncated inputs -------------------------------------------
        case(
            "chrome array cut mid-event",
            format!("[{X},\n{X},\n{{\"ph\":\"X\",\"name\":\"c\",\"ts\":"),
            &[],
            Error(1, "line 3, column 26: the JSON ends early (EOF while parsing a value); the file looks truncated; 2 complete records precede the cut (--salvage keeps them)"),
        ),
        case(
            "chrome array cut mid-event, salvaged",
            format!("[{X},\n{X},\n{{\"ph\":\"X\",\"name\":\"c\",\"ts\":"),
            &["--salvage"],
            Warn("truncated_input", 1),
        ),
        case(
            "chrome array cut inside a UTF-8 character",
            [format!("[{X},\n{{\"ph\":\"X\",\"name\":\"caf").as_bytes(), b"\xc3"].concat(),
            &[],
            Error(1, "line 2, column 21: the JSON ends early (EOF while parsing a string); the file looks truncated; 1 complete record precedes the cut (--salvage keeps it)"),
        ),
        case(
            "chrome array cut inside a UTF-8 character, salvaged",
            [format!("[{X},\n{{\"ph\":\"X\",\"name\":\"caf").as_bytes(), b"\xc3"].concat(),
            &["--salvage"],
            Warn("truncated_input", 1),
        ),
        case(
            "a broken UTF-8 character after complete JSON",
            [format!("[{X}]").as_bytes(), b"\xc3"].concat(),
            &[],
            Error(1, "line 1, column 55: not UTF-8 text (byte 0xc3); JSON must be UTF-8"),
        ),
        case(
            "traceEvents object cut mid-string",
            format!("{{\"traceEvents\":[{X},{X},{{\"ph\":\"X\",\"na"),
            &[],
            Error(1, "line 1, column 135: the JSON ends early (EOF while parsing a string); the file looks truncated; 2 complete records precede the cut (--salvage keeps them)"),
        ),
        // What follows a complete events array never costs the events.
        case(
            "traceEvents object cut after the array",
            format!("{{\"traceEvents\":[{X}],\"deviceProperties\":[{{\"id\":0,"),
            &[],
            Warn("broken_tail", 1),
        ),
        case(
            "traceEvents object cut after the array, --salvage has nothing to add",
            format!("{{\"traceEvents\":[{X}],\"deviceProperties\":[{{\"id\":0,"),
            &["--salvage"],
            Warn("truncated_input", 0),
        ),
        case(
            "traceEvents object without its closing brace",
            format!("{{\"traceEvents\":[{X}]\n"),
            &[],
            Warn("broken_tail", 1),
        ),
        case(
            "traceEvents object, broken after the array",
            format!("{{\"traceEvents\":[{X}] \"x\": 1}}"),
            &[],
            Warn("broken_tail", 1),
        ),
        case(
            "event array without its closing bracket (the Array Format allows it)",
            format!("[{X},\n{X}\n"),
            &[],
            Warn("unclosed_array", 1),
        ),
        case(
            "event array without its closing bracket, after a comma",
            format!("[{X},\n{X},\n"),
            &[],
            Warn("unclosed_array", 1),
        ),
        case(
            "traceEvents array without its closing bracket: a cut",
            format!("{{\"traceEvents\":[{X},\n"),
            &[],
            Error(1, "line 2, column 0: the JSON ends early (EOF while parsing a value); the file looks truncated; 1 complete record precedes the cut (--salvage keeps it)"),
        ),
        case(
            "perf-metrics JSONL, last line cut",
            cut("trtllm/perf_metrics-disagg-hostA-4242-20261123T101500Z.jsonl", 1, 100),
            &[],
            Error(1, "line 2, column 100: the JSON ends early (EOF while parsing an object); the file looks truncated; 1 complete record precedes the cut (--salvage keeps it)"),
        ),
        case(
            "perf-metrics JSONL, last line cut, salvaged",
            cut("trtllm/perf_metrics-disagg-hostA-4242-20261123T101500Z.jsonl", 1, 100),
            &["--salvage"],
            Warn("truncated_input", 1),
        ),
        case(
            "perf-metrics array cut",
            cut("trtllm/aggregated-perf_metrics.json", 30, 10),
            &["--salvage"],
            Warn("truncated_input", 1),
        ),
        case(
            "aiperf JSONL cut",
            cut("aiperf/new-schema.jsonl", 2, 50),
            &[],
            Error(1, "line 3, column 50: the JSON ends early (EOF while parsing a string); the file looks truncated; 2 complete records precede the cut (--salvage keeps them)"),
        ),
        case(
            "aiperf JSONL cut, salvaged",
            cut("aiperf/new-schema.jsonl", 2, 50),
            &["--salvage"],
            Warn("truncated_input", 1),
        ),
        case(
            "iteration stats array cut, salvaged",
            cut("iter_stats/old-keys.json", 6, 5),
            &["--salvage"],
            Warn("truncated_input", 1),
        ),
        case(
            "vLLM result cut: one object, nothing to salvage",
            cut("vllm/vllm-detailed.json", 12, 3),
            &["--salvage"],
            Error(1, "line 13, column 3: the JSON ends early (EOF while parsing a string); the file looks truncated; --salvage cannot help: a vLLM bench result is one object"),
        ),
        // --- tokens and numbers -----------------------------------------
        case(
            "NaN (Python json.dumps)",
            chrome2(r#"{"ph":"X","name":"b","ts":NaN,"dur":1,"pid":1,"tid":1}"#),
            &[],
            Error(1, "line 2, column 27: field `traceEvents[1]`: `NaN` is not a JSON number (Python's json.dumps writes it for float('nan')); write null or a string instead"),
        ),
        case(
            "-Infinity",
            chrome2(r#"{"ph":"X","name":"b","ts":1,"dur":-Infinity,"pid":1,"tid":1}"#),
            &[],
            Error(1, "line 2, column 36: field `traceEvents[1]`: `-Infinity` is not a JSON number (Python's json.dumps writes it for float('inf')); write null or a string instead"),
        ),
        case(
            "nan (C printf) in ts",
            chrome2(r#"{"ph":"X","name":"b","ts":nan,"dur":1,"pid":1,"tid":1}"#),
            &[],
            Error(1, "line 2, column 28: field `traceEvents[1]`: `nan` in `ts` is not a number (a NaN, as C's printf (`nan`, `-nan`) or Python's json module (`NaN`) writes it); a time must be a finite number"),
        ),
        case(
            "-inf (C printf) in dur",
            chrome2(r#"{"ph":"X","name":"b","ts":1,"dur":-inf,"pid":1,"tid":1}"#),
            &[],
            Error(1, "line 2, column 36: field `traceEvents[1]`: `-inf` in `dur` is not a number (an infinity, as C's printf (`inf`, `-inf`) or Python's json module (`Infinity`) writes it); a time must be a finite number"),
        ),
        case(
            "inf in a pid",
            chrome2(r#"{"ph":"X","name":"b","ts":1,"dur":1,"pid":inf,"tid":1}"#),
            &[],
            Error(1, "line 2, column 43: field `traceEvents[1]`: `inf` in `pid` is not a number (an infinity, as C's printf (`inf`, `-inf`) or Python's json module (`Infinity`) writes it); an id must be a finite number"),
        ),
        case(
            "non-finite numbers in args: kept as null, warned",
            chrome2(r#"{"ph":"X","name":"b","ts":1,"dur":1,"pid":1,"tid":1,"args":{"a":nan,"b":-Infinity,"c":[inf]}}"#),
            &[],
            Warn("non_finite_number", 3),
        ),
        case(
            "non-finite number in top-level metadata",
            format!("{{\"deviceProperties\":[{{\"bw\":inf}}],\"traceEvents\":[{X}]}}"),
            &[],
            Warn("non_finite_number", 1),
        ),
        case(
            "nan in baseTimeNanoseconds",
            format!("{{\"baseTimeNanoseconds\":nan,\"traceEvents\":[{X}]}}"),
            &[],
            Error(1, "field `baseTimeNanoseconds`: `nan` is not a number (a NaN, as C's printf (`nan`, `-nan`) or Python's json module (`NaN`) writes it); a time must be a finite number"),
        ),
        case(
            "non-finite number in args of an event cut at the end",
            format!("[{X},\n{{\"ph\":\"X\",\"args\":{{\"a\":nan}},\"ts\":1,\"du"),
            &["--salvage"],
            Warn("truncated_input", 1),
        ),
        case(
            "non-finite number and another syntax error in one event",
            chrome2(r#"{"ph":"X","args":{"a":nan},"ts":1,"dur":1,"pid":1 "tid":1}"#),
            &[],
            Error(1, "line 2, column 51: field `traceEvents[1]`: expected `,` or `}`"),
        ),
        case(
            "NaN in perf-metrics JSONL",
            "{\"request_id\": 1, \"perf_metrics\": {\"timing_metrics\": {\"arrival_time\": NaN}}}\n",
            &[],
            Error(1, "line 1, column 71: `NaN` is not a JSON number (Python's json.dumps writes it for float('nan')); write null or a string instead"),
        ),
        case(
            "ts beyond i64 nanoseconds",
            chrome2(r#"{"ph":"X","name":"b","ts":1e30,"dur":1,"pid":1,"tid":1}"#),
            &[],
            Error(1, "record 1: field `traceEvents[1].ts`: 1e30 is out of range (times are limited to ±2^62 ns, about ±146 years)"),
        ),
        case(
            "ts beyond u64",
            chrome2(r#"{"ph":"X","name":"b","ts":99999999999999999999999,"dur":1,"pid":1,"tid":1}"#),
            &[],
            Error(1, "record 1: field `traceEvents[1].ts`: 99999999999999999999999 is out of range (times are limited to ±2^62 ns, about ±146 years)"),
        ),
        case(
            "ts near i64::MAX nanoseconds",
            chrome2(r#"{"ph":"X","name":"b","ts":9223372036854775,"dur":9223372036854775,"pid":1,"tid":1}"#),
            &[],
            Error(1, "record 1: field `traceEvents[1].ts`: 9223372036854775 is out of range (times are limited to ±2^62 ns, about ±146 years)"),
        ),
        case(
            "baseTimeNanoseconds beyond the time range",
            format!("{{\"traceEvents\":[{X}],\"baseTimeNanoseconds\":9223372036854775807}}"),
            &[],
            Error(1, "field `baseTimeNanoseconds`: 9223372036854775807 is out of range (times are limited to ±2^62 ns, about ±146 years)"),
        ),
        case(
            "pid beyond u64 gets a synthetic pid",
            chrome2(r#"{"ph":"X","name":"b","ts":1,"dur":1,"pid":99999999999999999999999,"tid":1}"#),
            &[],
            Clean,
        ),
        case(
            // Look like event boundaries to the chunked parser's cut
            // guesses; they must be re-parsed, not taken as events.
            "`},{` inside args: nested objects and strings",
            chrome2(&format!(
                r#"{{"ph":"X","name":"b","ts":1,"dur":1,"pid":1,"tid":1,"args":{{"shapes":[{{"a":1}},{{"ph":"X","name":"fake","ts":5,"dur":1,"pid":1,"tid":1}}],"note":"x}},{{\"ph\":\"i\"}}"}}}},{X}"#
            )),
            &[],
            Clean,
        ),
        // --- text hygiene -----------------------------------------------
        case(
            "non-UTF-8 byte in a name",
            b"[{\"ph\":\"X\",\"name\":\"\xff\xfe\",\"ts\":1,\"dur\":2,\"pid\":1,\"tid\":1}]".to_vec(),
            &[],
            Error(1, "line 1, column 20: not UTF-8 text (byte 0xff); JSON must be UTF-8"),
        ),
        case(
            "non-UTF-8 byte in perf metrics",
            b"[{\"request_id\":1,\"perf_metrics\":{\"timing_metrics\":{\"arrival_time\":\"\xff\"}}}]".to_vec(),
            &[],
            Error(1, "line 1, column 68: not UTF-8 text (byte 0xff); JSON must be UTF-8"),
        ),
        case(
            "raw newline inside a string",
            chrome2("{\"ph\":\"X\",\"name\":\"b\nc\",\"ts\":1,\"dur\":1,\"pid\":1,\"tid\":1}"),
            &[],
            Error(1, "line 3, column 0: field `traceEvents[1]`: control character (\\u0000-\\u001F) found while parsing a string"),
        ),
        case(
            "escaped control character in a name",
            chrome2(r#"{"ph":"X","name":"b\u0001c","ts":1,"dur":1,"pid":1,"tid":1}"#),
            &[],
            Warn("control_character", 1),
        ),
        case("name of 100 000 bytes", long, &[], Warn("long_name", 1)),
        case("args nested 100 000 deep", deep, &[], Warn("args_too_deep", 1)),
        // --- empty and wrong JSON ---------------------------------------
        case("empty file", "", &[], Error(1, "the file is empty")),
        case(
            "UTF-16 file (Windows editor)",
            b"\xff\xfe[\x00]\x00".to_vec(),
            &[],
            Error(1, "the file is UTF-16 or UTF-32 text (it starts with a byte order mark); JSON must be UTF-8: save it as UTF-8"),
        ),
        case(
            "UTF-16 file with a forced format",
            b"\xff\xfe[\x00]\x00".to_vec(),
            &["--input-format", "chrome-json"],
            Error(1, "the file is UTF-16 or UTF-32 text (it starts with a byte order mark); JSON must be UTF-8: save it as UTF-8"),
        ),
        case(
            "blank file with a forced format",
            " \n\t ",
            &["--input-format", "aiperf"],
            Error(1, "the file is empty"),
        ),
        case("empty array", "[]", &[], Warn("empty_input", 1)),
        case(
            "some other JSON object",
            r#"{"hello": [1, 2]}"#,
            &[],
            Error(1, "unknown format: expected TensorRT-LLM perf metrics"),
        ),
        case(
            "not JSON at all",
            "hello, world\n",
            &[],
            Error(1, "not JSON and not Prometheus metrics text: expected a JSON array, object or JSON Lines, or `# HELP` / `# TYPE` lines and `metric{label=\"value\"} value` samples"),
        ),
        case(
            "traceEvents is not an array",
            r#"{"traceEvents": 5}"#,
            &[],
            Error(1, "line 1, column 17: invalid type: integer `5`, expected an array of trace events"),
        ),
        case(
            "duplicate traceEvents",
            format!("{{\"traceEvents\":[{X}],\"traceEvents\":[]}}"),
            &[],
            Error(1, "line 1, column 83: duplicate key `traceEvents`"),
        ),
        case(
            "numbers forced as Chrome events",
            "[1,2,3]",
            &["--input-format", "chrome-json"],
            Error(1, "line 1, column 2: field `traceEvents[0]`: invalid type: integer `1`, expected struct RawEvent"),
        ),
        case(
            "numbers forced as perf metrics",
            "[1,2,3]",
            &["--input-format", "trtllm-perf-metrics"],
            Error(1, "record 0: expected a perf-metrics record (an object), found `1`"),
        ),
        case(
            "numbers forced as aiperf",
            "[1,2,3]",
            &["--input-format", "aiperf"],
            Error(1, "record 0: expected a record object, found `1`"),
        ),
        case(
            "numbers forced as iteration stats",
            "[1,2,3]",
            &["--input-format", "trtllm-iteration-stats"],
            Error(1, "record 0: expected an iteration object, found `1`"),
        ),
        case(
            "array forced as a vLLM result",
            "[1,2,3]",
            &["--input-format", "vllm-bench"],
            Error(1, "expected a vLLM bench result object, found an array"),
        ),
        case(
            "vLLM arrays of different lengths",
            r#"{"ttfts": [0.1, 0.2], "latencies": [0.3]}"#,
            &[],
            Error(1, "field `latencies`: has 1 entries but `ttfts` has 2"),
        ),
        case(
            "trailing garbage after the event array",
            format!("[{X}] garbage"),
            &[],
            Warn("broken_tail", 1),
        ),
        case(
            "trailing comma",
            format!("[{X},]"),
            &[],
            Error(1, "line 1, column 55: field `traceEvents[1]`: trailing comma"),
        ),
        case(
            "X event without dur",
            chrome2(r#"{"ph":"X","name":"b","ts":1,"pid":1,"tid":1}"#),
            &[],
            Error(1, "record 1: field `traceEvents[1].dur`: missing"),
        ),
        case(
            "damaged gzip",
            b"\x1f\x8b\x08\x00\x00\x00\x00\x00garbage".to_vec(),
            &[],
            Error(1, "gzip stream is damaged"),
        ),
        case(
            "gzip cut mid-stream",
            cut_gzip(2000),
            &[],
            Error(1, "gzip stream is damaged: incomplete deflate stream (the file looks truncated; --salvage keeps what inflates)"),
        ),
        case(
            "gzip cut mid-stream, salvaged",
            cut_gzip(2000),
            &["--salvage"],
            Warn("truncated_input", 1),
        ),
        // --- usage ------------------------------------------------------
        case(
            "unknown --input-format",
            X,
            &["--input-format", "nope"],
            Usage("unknown input format `nope`; known: trtllm-perf-metrics"),
        ),
        case(
            "bad --shift",
            format!("[{X}]"),
            &["--shift", "7=1s"],
            Usage("--shift 7=1s: there are 1 inputs, numbered from 0"),
        ),
    ]
}

/// Runs the binary; asserts it did not panic; returns (exit code, stderr).
fn run(args: &[&std::ffi::OsStr]) -> (i32, String) {
    let (out, stderr) = common::run_env(args, &[]);
    (out.status.code().expect("exited, not killed"), stderr)
}

/// The count of warning `kind` in a summary on stderr (0 when absent).
fn warning_count(stderr: &str, kind: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(kind)).then(|| w.next()?.parse().ok())?
        })
        .next()
        .unwrap_or(0)
}

/// `convert INPUT -o OUT` and the case's own arguments.
fn convert_args<'a>(c: &'a Case, input: &'a Path, out: &'a Path) -> Vec<&'a std::ffi::OsStr> {
    let mut args: Vec<&std::ffi::OsStr> = vec![
        "convert".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ];
    args.extend(c.args.iter().map(std::ffi::OsStr::new));
    args
}

fn check(c: &Case, dir: &Path, out: &Path, previous: Option<&[u8]>, mismatches: &mut Vec<String>) {
    let input: PathBuf = dir.join("in.json");
    std::fs::write(&input, &c.input).unwrap();
    if let Some(p) = previous {
        std::fs::write(out, p).unwrap();
    } else {
        let _ = std::fs::remove_file(out);
    }
    let (code, stderr) = run(&convert_args(c, &input, out));
    let name = c.name;
    let failed = match &c.expect {
        Expect::Error(want, msg) => {
            assert_eq!(code, *want, "{name}: exit code; stderr: {stderr}");
            let full = format!("error: {}: {msg}", input.display());
            if !stderr.contains(&full) {
                mismatches.push(format!("{name}: expected `{full}`\n got: {stderr}"));
            }
            true
        }
        Expect::Usage(msg) => {
            assert_eq!(code, 2, "{name}: exit code; stderr: {stderr}");
            assert!(
                stderr.contains(msg),
                "{name}: expected `{msg}`\n got: {stderr}"
            );
            true
        }
        Expect::Warn(kind, n) => {
            assert_eq!(code, 0, "{name}: should succeed; stderr: {stderr}");
            assert_eq!(
                warning_count(&stderr, kind),
                *n,
                "{name}: {kind}; stderr: {stderr}"
            );
            common::decode(out);
            false
        }
        Expect::Clean => {
            assert_eq!(code, 0, "{name}: should succeed; stderr: {stderr}");
            assert!(stderr.contains("warnings none"), "{name}: {stderr}");
            common::decode(out);
            false
        }
    };
    if failed {
        match previous {
            None => assert!(!out.exists(), "{name}: an error left an output file"),
            Some(p) => assert_eq!(
                std::fs::read(out).unwrap(),
                p,
                "{name}: an error replaced the existing output"
            ),
        }
    }
    // No temporary file is left beside the target either way.
    let stray: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok())
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tmp"))
        .collect();
    assert!(stray.is_empty(), "{name}: temporary files left: {stray:?}");
}

#[test]
fn malformed_inputs_give_exact_errors_and_warnings() {
    let cases = cases();
    assert!(cases.len() >= 25, "the table has {} cases", cases.len());
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let mut mismatches = Vec::new();
    for c in &cases {
        check(c, dir.path(), &out, None, &mut mismatches);
        check(
            c,
            dir.path(),
            &out,
            Some(b"previous trace"),
            &mut mismatches,
        );
    }
    assert!(mismatches.is_empty(), "{}", mismatches.join("\n"));
}

/// Every case read with one thread and one chunk, then with 1-byte chunks
/// on two threads (every element its own chunk): the same exit code, the
/// same message, the same output.
#[test]
fn chunked_parsing_gives_the_same_errors_and_warnings() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.json");
    let out = dir.path().join("out.pftrace");
    for c in cases() {
        std::fs::write(&input, &c.input).unwrap();
        let args = convert_args(&c, &input, &out);
        let mut runs = Vec::new();
        for (threads, chunk) in [("1", "1000000000000"), ("2", "1")] {
            let _ = std::fs::remove_file(&out);
            let (r, stderr) = common::run_env(
                &args,
                &[
                    ("RAYON_NUM_THREADS", threads),
                    ("BREAKDOWN_TRACE_CHUNK_BYTES", chunk),
                ],
            );
            runs.push((r.status.code(), stderr, std::fs::read(&out).ok()));
        }
        assert_eq!(runs[0].0, runs[1].0, "{}: exit code", c.name);
        assert_eq!(runs[0].1, runs[1].1, "{}: stderr", c.name);
        assert!(runs[0].2 == runs[1].2, "{}: output", c.name);
    }
}

#[test]
fn salvage_says_how_many_records_were_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cut.json");
    std::fs::write(
        &input,
        format!("[{X},\n{X},\n{{\"ph\":\"X\",\"name\":\"c\",\"ts\":"),
    )
    .unwrap();
    let out = dir.path().join("out.pftrace");
    let (code, stderr) = run(&[
        "convert".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--salvage".as_ref(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    let msg = format!(
        "warning: salvaged 2 complete records of {} (cut at line 3, column 26)",
        input.display()
    );
    assert!(stderr.contains(&msg), "{stderr}");
    let d = common::decode(&out);
    assert_eq!(d.named("a").count(), 2, "{:?}", d.slices);
    // The flag works on every loading command.
    for cmd in ["info", "query"] {
        let mut args: Vec<&std::ffi::OsStr> = vec![cmd.as_ref()];
        if cmd == "query" {
            args.push(std::ffi::OsStr::new("--sql"));
            args.push(std::ffi::OsStr::new("select count(*) from slice"));
        }
        args.push(input.as_os_str());
        args.push("--salvage".as_ref());
        let (code, stderr) = run(&args);
        assert_eq!(code, 0, "{cmd}: {stderr}");
        assert!(stderr.contains(&msg), "{cmd}: {stderr}");
    }
}

#[test]
fn salvage_works_for_stats_and_db() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cut.jsonl");
    std::fs::write(&input, cut("aiperf/new-schema.jsonl", 2, 50)).unwrap();
    let msg = format!(
        "warning: salvaged 2 complete records of {} (cut at line 3, column 50)",
        input.display()
    );
    let (code, stderr) = run(&["stats".as_ref(), input.as_os_str()]);
    assert_eq!(code, 1, "{stderr}");
    let (code, stderr) = run(&["stats".as_ref(), input.as_os_str(), "--salvage".as_ref()]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&msg), "{stderr}");
    let out = dir.path().join("out.sqlite");
    let (code, stderr) = run(&[
        "db".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
        "--salvage".as_ref(),
    ]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stderr.contains(&msg), "{stderr}");
    let db = rusqlite::Connection::open(&out).unwrap();
    let kinds: String = db
        .query_row("SELECT group_concat(kind) FROM warning", [], |r| r.get(0))
        .unwrap();
    assert!(kinds.contains("truncated_input"), "{kinds}");
}

#[test]
fn db_and_report_outputs_are_atomic_too() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, "[{\"ph\":\"X\",\"ts\":").unwrap();
    let out = dir.path().join("out.sqlite");
    std::fs::write(&out, b"previous db").unwrap();
    let (code, stderr) = run(&[
        "db".as_ref(),
        bad.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the JSON ends early"), "{stderr}");
    assert_eq!(std::fs::read(&out).unwrap(), b"previous db");
    let html = dir.path().join("out.html");
    std::fs::write(&html, b"previous report").unwrap();
    let (code, stderr) = run(&[
        "report".as_ref(),
        bad.as_os_str(),
        "-o".as_ref(),
        html.as_os_str(),
    ]);
    assert_eq!(code, 1, "{stderr}");
    assert!(stderr.contains("the JSON ends early"), "{stderr}");
    assert_eq!(std::fs::read(&html).unwrap(), b"previous report");
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        3,
        "no temporary file left"
    );
}

#[test]
fn missing_input_and_missing_output_option() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.json");
    let out = dir.path().join("out.pftrace");
    let (code, stderr) = run(&[
        "convert".as_ref(),
        missing.as_os_str(),
        "-o".as_ref(),
        out.as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "error: {}: No such file or directory",
            missing.display()
        )),
        "{stderr}"
    );
    assert!(!out.exists());
    let (code, stderr) = run(&["convert".as_ref(), missing.as_os_str()]);
    assert_eq!(code, 2);
    assert!(
        stderr.contains("required arguments were not provided"),
        "{stderr}"
    );
    // Unwritable targets: exit 1, the target named, nothing left behind.
    let input = dir.path().join("ok.json");
    std::fs::write(&input, format!("[{X}]")).unwrap();
    let nodir = dir.path().join("nodir").join("x.pftrace");
    let (code, stderr) = run(&[
        "convert".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        nodir.as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "error: {}: cannot write: No such file or directory",
            nodir.display()
        )),
        "{stderr}"
    );
    let (code, stderr) = run(&[
        "convert".as_ref(),
        input.as_os_str(),
        "-o".as_ref(),
        dir.path().as_os_str(),
    ]);
    assert_eq!(code, 1);
    assert!(
        stderr.contains(&format!(
            "error: {}: cannot write: Is a directory",
            dir.path().display()
        )),
        "{stderr}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "only the input remains"
    );
}
