//! The command line's vocabulary (issue 14): one name per concept in every
//! subcommand's `--help`, the old `--format` refused with the new names,
//! `-` as stdin and as stdout, pipes and FIFOs as inputs, binary outputs
//! refused on a terminal, `info --output-format json`, `queries NAME`,
//! completions, man page and `--version`.

mod common;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Stdio};

use common::{fixture, run, run_env};

fn bin() -> Command {
    Command::new(assert_cmd::cargo::cargo_bin("breakdown-trace"))
}

/// The subcommands listed by `--help`.
fn subcommands() -> Vec<String> {
    let (ok, out, _) = run(&["--help"]);
    assert!(ok);
    let mut names = Vec::new();
    let mut in_commands = false;
    for line in out.lines() {
        if line.starts_with("Commands:") {
            in_commands = true;
            continue;
        }
        if in_commands {
            if !line.starts_with("  ") {
                break;
            }
            let name = line.split_whitespace().next().unwrap();
            if name != "help" {
                names.push(name.to_owned());
            }
        }
    }
    names
}

/// One option of a `--help` page: short flag, long name, value name.
#[derive(Debug)]
struct Opt {
    short: Option<char>,
    long: String,
    value: Option<String>,
}

/// The options of `breakdown-trace SUB --help` and its usage line.
fn options(sub: &str) -> (Vec<Opt>, String) {
    let (ok, out, err) = run(&[sub, "--help"]);
    assert!(ok, "{sub} --help: {err}");
    let usage = out
        .lines()
        .find(|l| l.starts_with("Usage:"))
        .unwrap()
        .to_owned();
    let mut opts = Vec::new();
    for line in out.lines() {
        let t = line.trim_start();
        if !(t.starts_with("--") || (t.starts_with('-') && t.get(2..4) == Some(", "))) {
            continue;
        }
        let (short, rest) = if t.starts_with("--") {
            (None, t)
        } else {
            (t.chars().nth(1), &t[4..])
        };
        let mut words = rest.split_whitespace();
        let long = words.next().unwrap().to_owned();
        let value = words
            .next()
            .filter(|w| w.starts_with('<'))
            .map(|w| w.trim_matches(['<', '>']).to_owned());
        opts.push(Opt { short, long, value });
    }
    (opts, usage)
}

#[test]
fn every_subcommand_speaks_one_vocabulary() {
    let subs = subcommands();
    for must in [
        "convert", "info", "stats", "report", "query", "queries", "db",
    ] {
        assert!(subs.iter().any(|s| s == must), "{must} in {subs:?}");
    }
    for sub in &subs {
        let (opts, usage) = options(sub);
        let has = |l: &str| opts.iter().find(|o| o.long == l);
        // Global options everywhere.
        let quiet = has("--quiet").unwrap_or_else(|| panic!("{sub}: no --quiet"));
        assert_eq!(quiet.short, Some('q'), "{sub}: -q, --quiet");
        assert!(has("--salvage").is_some(), "{sub}: no --salvage");
        for o in &opts {
            // One name per concept: formats are --input-format / --output-format.
            assert_ne!(o.long, "--format", "{sub}: the old --format is shown");
            if o.long.contains("format") {
                assert!(
                    o.long == "--input-format" || o.long == "--output-format",
                    "{sub}: {} is not a vocabulary name",
                    o.long
                );
            }
            if o.long == "--output-format" {
                let v = o.value.as_deref().unwrap_or("");
                assert!(
                    v.split('|').all(|f| ["table", "csv", "json"].contains(&f)),
                    "{sub}: --output-format <{v}>"
                );
            }
            // Short letters mean one thing.
            match o.short {
                Some('o') => assert_eq!(o.long, "--output", "{sub}: -o"),
                Some('q') => assert_eq!(o.long, "--quiet", "{sub}: -q"),
                _ => {}
            }
            if o.long == "--output" {
                assert_eq!(o.short, Some('o'), "{sub}: --output without -o");
                assert_eq!(o.value.as_deref(), Some("PATH"), "{sub}: --output <PATH>");
            }
            for synonym in [
                "--out",
                "--output-file",
                "--fmt",
                "--in-format",
                "--silent",
                "--input",
            ] {
                assert_ne!(o.long, synonym, "{sub}: a second name for a concept");
            }
        }
        // A command that reads inputs can force their format.
        if usage.contains("INPUT") {
            assert!(
                has("--input-format").is_some(),
                "{sub} reads inputs but has no --input-format: {usage}"
            );
        }
    }
}

#[test]
fn the_old_format_option_names_the_new_ones() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    for args in [
        vec!["info", "--format", "json", k.as_str()],
        vec!["stats", k.as_str(), "--format", "csv"],
        vec!["query", "kernel-stats", k.as_str(), "--format=json"],
        vec![
            "convert",
            k.as_str(),
            "-o",
            "x.pftrace",
            "--format",
            "chrome-json",
        ],
    ] {
        let (out, err) = run_env(&args, &[]);
        assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
        assert!(
            err.contains("--input-format") && err.contains("--output-format"),
            "{args:?}: {err}"
        );
    }
}

/// Runs `args` with `stdin` as standard input; returns (ok, stdout, stderr).
fn run_stdin(args: &[&str], stdin: &[u8]) -> (bool, Vec<u8>, String) {
    let mut child = bin()
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut i = child.stdin.take().unwrap();
    let data = stdin.to_vec();
    let writer = std::thread::spawn(move || {
        let _ = i.write_all(&data);
    });
    let out = child.wait_with_output().unwrap();
    writer.join().unwrap();
    let err = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!err.contains("panicked"), "{err}");
    (out.status.success(), out.stdout, err)
}

/// Every command that reads inputs reads `-` (stdin) and a FIFO (what
/// `<(zcat f.gz)` gives) exactly as the file, gzip included.
#[cfg(unix)]
#[test]
fn stdin_and_fifos_are_inputs_in_every_command() {
    let dir = tempfile::tempdir().unwrap();
    let k = fixture("chrome/kineto_small.json");
    let agg = fixture("trtllm/aggregated-perf_metrics.json");
    let gz = dir.path().join("k.json.gz");
    {
        let mut e = flate2::write::GzEncoder::new(
            std::fs::File::create(&gz).unwrap(),
            flate2::Compression::default(),
        );
        e.write_all(&std::fs::read(&k).unwrap()).unwrap();
        e.finish().unwrap();
    }
    let out = |n: &str| dir.path().join(n).display().to_string();
    // (args with INPUT as the placeholder, the input file)
    let cases: Vec<(Vec<String>, &Path)> = vec![
        (vec!["info".into(), "INPUT".into()], &k),
        (vec!["stats".into(), "INPUT".into()], &k),
        (vec!["stats".into(), "INPUT".into()], &agg),
        (
            vec!["query".into(), "kernel-stats".into(), "INPUT".into()],
            &k,
        ),
        (vec!["query".into(), "latency".into(), "INPUT".into()], &agg),
        (
            vec![
                "convert".into(),
                "INPUT".into(),
                "-o".into(),
                out("a.pftrace"),
            ],
            &k,
        ),
        (
            vec!["db".into(), "INPUT".into(), "-o".into(), out("a.sqlite")],
            &k,
        ),
        (
            vec!["report".into(), "INPUT".into(), "-o".into(), out("a.html")],
            &agg,
        ),
    ];
    for (args, input) in &cases {
        let with = |x: &str| -> Vec<String> {
            args.iter()
                .map(|a| {
                    if a == "INPUT" {
                        x.to_owned()
                    } else {
                        a.clone()
                    }
                })
                .collect()
        };
        let file_args = with(&input.display().to_string());
        let fa: Vec<&str> = file_args.iter().map(String::as_str).collect();
        let (ok, from_file, err) = run_stdin(&fa, b"");
        assert!(ok, "{fa:?}: {err}");
        let bytes = std::fs::read(input).unwrap();
        // stdin
        let sa = with("-");
        let sa: Vec<&str> = sa.iter().map(String::as_str).collect();
        let (ok, from_stdin, err) = run_stdin(&sa, &bytes);
        assert!(ok, "{sa:?}: {err}");
        // a FIFO fed by another process, gzipped for the Chrome trace
        let fifo = dir.path().join("fifo");
        let _ = std::fs::remove_file(&fifo);
        assert!(Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success());
        let feed = if *input == k.as_path() {
            gz.clone()
        } else {
            input.to_path_buf()
        };
        let fifo_s = fifo.display().to_string();
        let writer = {
            let fifo = fifo.clone();
            std::thread::spawn(move || {
                let mut f = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
                let _ = f.write_all(&std::fs::read(&feed).unwrap());
            })
        };
        let fa2 = with(&fifo_s);
        let fa2: Vec<&str> = fa2.iter().map(String::as_str).collect();
        let (ok, from_fifo, err) = run_stdin(&fa2, b"");
        writer.join().unwrap();
        assert!(ok, "{fa2:?}: {err}");
        // Query and stats output does not name the input: identical.
        if args[0] == "query" || args[0] == "stats" {
            assert_eq!(from_stdin, from_file, "{sa:?}");
            assert_eq!(from_fifo, from_file, "{fa2:?}");
        }
        if args[0] == "info" {
            let s = String::from_utf8(from_stdin).unwrap();
            assert!(s.contains("input    <stdin>  format=chrome-json"), "{s}");
        }
    }
    // stdin can be read once.
    let (ok, _, err) = run_stdin(&["info", "-", "-"], b"[]");
    assert!(!ok && err.contains("more than once"), "{err}");
}

/// `-o -` writes to stdout: the trace decodes, the database opens.
#[test]
fn dash_output_is_stdout() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let (ok, bytes, err) = run_stdin(&["convert", &k, "-o", "-", "-q"], b"");
    assert!(ok, "{err}");
    assert!(err.is_empty(), "-q: {err}");
    let d = common::decode_bytes(&bytes);
    assert!(d.named("add_kernel").count() >= 1);
    let (ok, bytes, err) = run_stdin(&["db", &k, "-o", "-"], b"");
    assert!(ok, "{err}");
    assert!(bytes.starts_with(b"SQLite format 3\0"));
    assert!(err.contains("wrote    <stdout>"), "{err}");
    assert!(!Path::new("-").exists(), "no file named `-`");
    // Text outputs take -o too, atomically.
    let dir = tempfile::tempdir().unwrap();
    let o = dir.path().join("k.csv");
    let (ok, stdout, err) = run_stdin(
        &["query", "kernel-stats", &k, "-o", &o.display().to_string()],
        b"",
    );
    assert!(ok && stdout.is_empty(), "{err}");
    let text = std::fs::read_to_string(&o).unwrap();
    let header = text.lines().next().unwrap();
    assert!(
        header.ends_with(",count,name"),
        "a file is not a terminal: CSV: {text}"
    );
}

#[test]
fn info_json_has_every_figure_of_the_text() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let (ok, text, _) = run(&["info", &k]);
    assert!(ok);
    let (ok, json, err) = run(&["info", &k, "--output-format", "json"]);
    assert!(ok, "{err}");
    let j: serde_json::Value = serde_json::from_str(&json).unwrap();
    // Every number the text prints appears in the JSON.
    let numbers_in_json = json
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .collect::<std::collections::HashSet<_>>();
    for word in text.split(|c: char| !c.is_ascii_digit() && c != '.') {
        let word = word.trim_matches('.');
        if word.is_empty() || word.contains('.') {
            continue; // 0.045 ms: the JSON has the ns
        }
        assert!(
            numbers_in_json.contains(word),
            "{word} of the text not in {json}"
        );
    }
    assert_eq!(j["inputs"][0]["format"], "chrome-json");
    assert_eq!(j["inputs"][0]["records"], 22);
    assert_eq!(j["time"]["duration_ns"], 45000);
    assert_eq!(j["slices"], 8);
    assert_eq!(j["warnings"]["total"], 1);
    assert_eq!(j["warnings"]["kinds"][0]["kind"], "overlapping_gpu_work");
    // Keys in the text's order.
    let keys: Vec<&str> = j.as_object().unwrap().keys().map(String::as_str).collect();
    assert_eq!(keys.len(), 9, "{keys:?}");
    let pos = |k: &str| json.find(&format!("\"{k}\"")).unwrap();
    assert!(
        pos("inputs") < pos("time")
            && pos("time") < pos("slices")
            && pos("slices") < pos("warnings")
    );
    let (c, err) = run_env(&["info", &k, "--output-format", "csv"], &[]);
    assert_eq!(c.status.code(), Some(2), "{err}");
}

#[test]
fn queries_name_prints_the_query() {
    let file =
        std::fs::read_to_string(common::manifest_dir().join("queries/idle-gaps.sql")).unwrap();
    let (ok, out, _) = run(&["queries", "idle-gaps"]);
    assert!(ok);
    assert_eq!(out, file);
    let (ok, out, _) = run(&["queries", "idle-gaps", "--sql-only"]);
    assert!(ok);
    assert!(out.starts_with("WITH k AS ("), "{out}");
    assert!(!out.contains("-- "), "{out}");
    assert!(file.ends_with(&out), "the SQL is the file's tail");
    let (c, err) = run_env(&["queries", "nope"], &[]);
    assert_eq!(c.status.code(), Some(2));
    assert!(err.contains("idle-gaps"), "lists the queries: {err}");
}

#[test]
fn completions_man_page_and_version() {
    let (ok, out, _) = run(&["completions", "bash"]);
    assert!(ok);
    assert!(
        out.contains("--output-format") && out.contains("_breakdown__trace()"),
        "{out}"
    );
    assert!(!out.contains("--format "), "the old name is not completed");
    for shell in ["zsh", "fish"] {
        let (ok, out, _) = run(&["completions", shell]);
        assert!(ok && out.contains("input-format"), "{shell}");
    }
    let (ok, out, _) = run(&["man"]);
    assert!(ok);
    assert!(out.starts_with(".ie") || out.contains(".TH"), "{out}");
    assert!(out.contains("breakdown\\-trace"), "{out}");
    let (ok, out, _) = run(&["--version"]);
    assert!(ok);
    assert!(out.starts_with(&format!("breakdown-trace {}\n", env!("CARGO_PKG_VERSION"))));
    let commit = out.lines().find(|l| l.starts_with("commit:")).unwrap();
    // A hex commit when built from git (the suite runs in a checkout).
    let id = commit.split_whitespace().nth(1).unwrap();
    let hex = id.split('-').next().unwrap();
    if Path::new(&common::manifest_dir().join(".git")).exists() {
        assert!(
            hex.len() >= 7 && hex.chars().all(|c| c.is_ascii_hexdigit()),
            "{commit}"
        );
    }
    assert!(
        out.contains("features:") && out.contains("sqlite:"),
        "{out}"
    );
}

/// `--shift 1=-2h` (the README's UTC-offset example) moves that input by
/// exactly two hours; an input can be named by its path as given.
#[test]
fn shift_takes_hours_and_inputs_by_path() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let start = |args: &[&str]| -> i64 {
        let mut a = vec!["info", "--output-format", "json"];
        a.extend_from_slice(args);
        let (ok, out, err) = run(&a);
        assert!(ok, "{a:?}: {err}");
        let j: serde_json::Value = serde_json::from_str(&out).unwrap();
        j["time"]["start_ns"].as_i64().unwrap()
    };
    let base = start(&[&k]);
    assert_eq!(start(&[&k, "--shift", "0=-2h"]), base - 7_200_000_000_000);
    assert_eq!(
        start(&[&k, "--shift", &format!("{k}=1.5min")]),
        base + 90_000_000_000
    );
    assert_eq!(start(&[&k, "--align", &format!("{k}=250ms")]), 250_000_000);
    let (c, err) = run_env(&["info", &k, "--shift", "0=2d"], &[]);
    assert_eq!(c.status.code(), Some(2));
    assert!(err.contains("ns, us, ms, s, min, h"), "{err}");
}
