//! Every shell example of the README runs as written: the lines of its
//! ```sh blocks and the inline `cargo run --release -- ...` /
//! `breakdown-trace ...` examples that are commands rather than synopses
//! (no `INPUT...`-style placeholders). They run in order, with `bash -c`, in
//! a temporary directory holding a link to `fixtures/`, with HOME there and
//! the built binary first on PATH; `cargo run --release --` is that binary.
//! File names that stand for the reader's own data are mapped to fixtures
//! (the list below); the few examples that cannot run here are skipped by
//! name, each with its reason.

mod common;

use std::path::Path;
use std::process::Command;

/// Names in examples that stand for the reader's data → a fixture (copied
/// into the working directory under that name).
const PLACEHOLDERS: &[(&str, &str)] = &[
    (
        "rank-0.pt.trace.json.gz",
        "fixtures/chrome/kineto_small.json",
    ),
    (
        "report.sqlite",
        "../shared/realdata/pipit/tests/data/saxpy-mpi-cuda_nsys_perlmutter0.sqlite",
    ),
    ("iter.json", "fixtures/iter_stats/old-keys.json"),
    ("aiperf.jsonl", "fixtures/aiperf/new-schema.jsonl"),
    ("vllm-scrapes.prom", "fixtures/prometheus/vllm-scrapes.prom"),
    (
        "scrapes.prom",
        "fixtures/prometheus/triton-trtllm-scrapes.prom",
    ),
    ("range.json", "fixtures/prometheus/query_range.json"),
];

/// Examples that do not run here, by their first words, and why.
const SKIP: &[(&str, &str)] = &[
    ("cargo test", "this is the test suite itself"),
    (
        "cargo install",
        "builds and installs a second copy of the tool (minutes on 2 cores)",
    ),
    (
        "nsys export",
        "Nsight Systems is not installed here; its output is mapped to a fixture",
    ),
    (
        "curl -s 'prom:9090",
        "asks a live Prometheus server; its output is mapped to a fixture",
    ),
    (
        "duckdb ",
        "the DuckDB CLI is not installed here; tests/export_duckdb.rs runs the same views with DuckDB's Python package",
    ),
    (
        "while sleep 1; do curl",
        "scrapes a live server; its output is mapped to a fixture",
    ),
    (
        "breakdown-trace open",
        "serves until a browser fetches the trace; tests/open.rs drives it",
    ),
];

/// Skips examples that serve a trace (they wait for a browser).
fn waits_for_a_browser(cmd: &str) -> bool {
    cmd.contains(" --open")
}

/// The README's shell examples, in order.
fn examples(readme: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_sh = false;
    for line in readme.lines() {
        if line.starts_with("```") {
            in_sh = !in_sh && line.trim() == "```sh";
            continue;
        }
        if in_sh {
            let cmd = match line.find(" #") {
                Some(i) => &line[..i],
                None => line,
            }
            .trim();
            if !cmd.is_empty() && !cmd.starts_with('#') {
                out.push(cmd.to_owned());
            }
            continue;
        }
        // Inline examples: `cargo run --release -- ...` or `breakdown-trace ...`.
        for (i, span) in line.split('`').enumerate() {
            if i % 2 == 0 {
                continue;
            }
            let is_cmd = span.starts_with("cargo run --release -- ")
                || (span.starts_with("breakdown-trace ") && span.len() > "breakdown-trace ".len());
            let synopsis = span.contains("...")
                || span.contains('[')
                || span
                    .split_whitespace()
                    .any(|w| w.chars().any(|c| c.is_ascii_uppercase()) && !w.contains('.'));
            if is_cmd && !synopsis {
                out.push(span.to_owned());
            }
        }
    }
    out
}

#[test]
fn every_readme_example_runs_as_written() {
    let root = common::manifest_dir();
    let readme = std::fs::read_to_string(root.join("README.md")).unwrap();
    let list = examples(&readme);
    assert!(list.len() >= 8, "found the examples: {list:#?}");
    let dir = tempfile::tempdir().unwrap();
    let work = dir.path();
    #[cfg(unix)]
    std::os::unix::fs::symlink(root.join("fixtures"), work.join("fixtures")).unwrap();
    for (name, src) in PLACEHOLDERS {
        let src = root.join(src);
        if !src.exists() {
            eprintln!("SKIP placeholder {name}: {} is missing", src.display());
            continue;
        }
        let bytes = std::fs::read(&src).unwrap();
        let bytes = if name.ends_with(".gz") && !bytes.starts_with(&[0x1f, 0x8b]) {
            use std::io::Write;
            let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
            e.write_all(&bytes).unwrap();
            e.finish().unwrap()
        } else {
            bytes
        };
        std::fs::write(work.join(name), bytes).unwrap();
    }
    // The `export` example's directory of rank traces.
    let runs = work.join("runs").join("2026-11-30");
    std::fs::create_dir_all(&runs).unwrap();
    std::fs::copy(
        root.join("fixtures/chrome/kineto_small.json"),
        runs.join("rank-1.pt.trace.json"),
    )
    .unwrap();
    let bin = assert_cmd::cargo::cargo_bin("breakdown-trace");
    let path = format!(
        "{}:{}",
        bin.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let mut ran = 0;
    for ex in &list {
        if let Some((_, why)) = SKIP.iter().find(|(p, _)| ex.starts_with(p)) {
            eprintln!("SKIP `{ex}`: {why}");
            continue;
        }
        if waits_for_a_browser(ex) {
            eprintln!("SKIP `{ex}`: serves until a browser fetches the trace");
            continue;
        }
        let cmd = ex.replacen("cargo run --release -- ", "breakdown-trace ", 1);
        // A placeholder whose data is missing: skip, saying so.
        if let Some((name, _)) = PLACEHOLDERS
            .iter()
            .find(|(n, _)| cmd.contains(n) && !work.join(n).exists())
        {
            eprintln!("SKIP `{ex}`: no data for {name}");
            continue;
        }
        assert!(
            cmd.starts_with("breakdown-trace ") || cmd.starts_with("mkdir "),
            "an example that is neither ours nor skipped: `{ex}`"
        );
        let out = Command::new("bash")
            .arg("-c")
            .arg(&cmd)
            .current_dir(work)
            .env("PATH", &path)
            .env("HOME", work)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success(),
            "README example `{ex}` failed ({}):\n{err}",
            out.status
        );
        assert!(!err.contains("panicked"), "{err}");
        ran += 1;
    }
    assert!(ran >= 6, "ran {ran} of {} examples", list.len());
    assert!(Path::new(&work.join("disagg.pftrace")).exists());
}

#[test]
fn synopses_are_not_taken_for_examples() {
    let ex = examples(
        "| `breakdown-trace convert INPUT... -o OUT.pftrace` | x |\n\
         Run `breakdown-trace queries idle-gaps` or `cargo run --release -- stats a.json`.\n\
         ```sh\nbreakdown-trace info x.json   # comment\n```\n",
    );
    assert_eq!(
        ex,
        [
            "breakdown-trace queries idle-gaps",
            "cargo run --release -- stats a.json",
            "breakdown-trace info x.json"
        ]
    );
}
