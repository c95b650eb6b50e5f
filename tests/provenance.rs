//! What a trace records about its making (the `provenance` instant): file
//! names but no paths, sizes and SHA-256 computed here by `sha256sum`, the
//! options that change the output, and the command line only with
//! `--provenance full`.

mod common;

use std::collections::BTreeMap;
use std::io::Write;
use std::path::{Path, PathBuf};

use common::{decode, fixture, run, Val};

/// A directory whose path has a distinctive component, so a leak is found by
/// a plain byte search of the trace.
fn private_dir() -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let private = dir.path().join("home-of-alice-on-host-zebra");
    std::fs::create_dir(&private).unwrap();
    (dir, private)
}

/// `sha256sum FILE` of coreutils: an implementation independent of ours.
fn sha256sum(path: &Path) -> String {
    let out = std::process::Command::new("sha256sum")
        .arg(path)
        .output()
        .expect("sha256sum (coreutils) runs");
    assert!(out.status.success());
    String::from_utf8(out.stdout).unwrap()[..64].to_owned()
}

/// The provenance instant's annotations, and the raw trace bytes.
fn convert(args: &[&str], out: &Path) -> (BTreeMap<String, Val>, Vec<u8>) {
    let mut all = vec!["convert", "-o", out.to_str().unwrap()];
    all.extend_from_slice(args);
    let (ok, _, err) = run(&all);
    assert!(ok, "{err}");
    let d = decode(out);
    let p: Vec<_> = d
        .named("provenance")
        .filter(|s| d.track(s.track).name == "breakdown-trace")
        .collect();
    assert_eq!(p.len(), 1);
    assert!(p[0].instant);
    (p[0].args.clone(), std::fs::read(out).unwrap())
}

fn s(v: &str) -> Option<Val> {
    Some(Val::Str(v.into()))
}

#[test]
fn minimal_provenance_names_files_but_no_paths() {
    let (_keep, dir) = private_dir();
    let a = dir.join("aggregated-perf_metrics.json");
    std::fs::copy(fixture("trtllm/aggregated-perf_metrics.json"), &a).unwrap();
    // The second input gzipped: its hash and size are those on disk.
    let plain = std::fs::read(fixture("aiperf/new-schema.jsonl")).unwrap();
    let b = dir.join("profile_export.jsonl.gz");
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&plain).unwrap();
    std::fs::write(&b, gz.finish().unwrap()).unwrap();
    let out = dir.join("out.pftrace");
    let (args, bytes) = convert(&[a.to_str().unwrap(), b.to_str().unwrap()], &out);

    assert_eq!(args.get("tool").cloned(), s("breakdown-trace"));
    assert_eq!(
        args.get("tool_version").cloned(),
        s(env!("CARGO_PKG_VERSION"))
    );
    assert_eq!(args.get("provenance").cloned(), s("minimal"));
    assert_eq!(args.get("command_line").cloned(), None);
    assert!(!args.keys().any(|k| k.starts_with("options")), "{args:?}");

    assert_eq!(
        args.get("input_0.name").cloned(),
        s("aggregated-perf_metrics.json")
    );
    assert_eq!(args.get("input_0.sha256").cloned(), s(&sha256sum(&a)));
    let len_a = std::fs::metadata(&a).unwrap().len();
    assert_eq!(args.get("input_0.bytes").cloned(), Some(Val::Uint(len_a)));
    assert_eq!(
        args.get("input_0.uncompressed_bytes").cloned(),
        Some(Val::Uint(len_a))
    );
    assert_eq!(
        args.get("input_0.format").cloned(),
        s("trtllm-perf-metrics")
    );
    assert_eq!(args.get("input_0.records").cloned(), Some(Val::Uint(4)));
    assert_eq!(
        args.get("input_0.time_shift_ns").cloned(),
        Some(Val::Int(0))
    );
    assert_eq!(args.get("input_0.alignment").cloned(), None);

    assert_eq!(
        args.get("input_1.name").cloned(),
        s("profile_export.jsonl.gz")
    );
    assert_eq!(args.get("input_1.sha256").cloned(), s(&sha256sum(&b)));
    assert_ne!(
        sha256sum(&b),
        sha256sum(&fixture("aiperf/new-schema.jsonl"))
    );
    let len_b = std::fs::metadata(&b).unwrap().len();
    assert_eq!(args.get("input_1.bytes").cloned(), Some(Val::Uint(len_b)));
    assert_eq!(
        args.get("input_1.uncompressed_bytes").cloned(),
        Some(Val::Uint(plain.len() as u64))
    );
    assert_eq!(args.get("input_1.format").cloned(), s("aiperf"));

    // Nowhere in the whole file: not the directory, not the temp root.
    for leak in [
        "home-of-alice-on-host-zebra",
        dir.parent().unwrap().to_str().unwrap(),
    ] {
        assert!(
            !bytes.windows(leak.len()).any(|w| w == leak.as_bytes()),
            "the trace contains `{leak}`"
        );
    }
}

#[test]
fn full_provenance_adds_the_command_line() {
    let (_keep, dir) = private_dir();
    let a = dir.join("disagg.json");
    std::fs::copy(fixture("trtllm/disagg-perf_metrics.json"), &a).unwrap();
    let out = dir.join("out.pftrace");
    let (args, _) = convert(&[a.to_str().unwrap(), "--provenance", "full"], &out);
    assert_eq!(args.get("provenance").cloned(), s("full"));
    let Some(Val::Str(cl)) = args.get("command_line").cloned() else {
        panic!("no command_line: {args:?}")
    };
    assert!(cl.contains(a.to_str().unwrap()), "{cl}");
    assert!(cl.contains("--provenance full"), "{cl}");
    assert_eq!(args.get("input_0.name").cloned(), s("disagg.json"));
}

#[test]
fn options_that_change_the_output_are_recorded() {
    let (_keep, dir) = private_dir();
    let out = dir.join("out.pftrace");
    let a = fixture("trtllm/aggregated-perf_metrics.json");
    let b = fixture("aiperf/new-schema.jsonl");
    let c = fixture("vllm/vllm-detailed.json");
    let (args, _) = convert(
        &[
            a.to_str().unwrap(),
            b.to_str().unwrap(),
            c.to_str().unwrap(),
            "--shift",
            "0=-2.5ms",
            "--align",
            "1=1s",
            "--salvage",
        ],
        &out,
    );
    assert_eq!(args.get("options.salvage").cloned(), Some(Val::Bool(true)));
    assert_eq!(args.get("options.input_format").cloned(), None);
    assert_eq!(args.get("input_0.alignment").cloned(), s("shift"));
    assert_eq!(
        args.get("input_0.alignment_ns").cloned(),
        Some(Val::Int(-2_500_000))
    );
    assert_eq!(
        args.get("input_0.time_shift_ns").cloned(),
        Some(Val::Int(-2_500_000))
    );
    assert_eq!(args.get("input_1.alignment").cloned(), s("start_at"));
    assert_eq!(
        args.get("input_1.alignment_ns").cloned(),
        Some(Val::Int(1_000_000_000))
    );
    // The shift that put input 1's first record at 1 s: its first
    // `request_start_ns` in the fixture, read here with serde_json.
    let first: i64 = std::fs::read_to_string(&b)
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            let v: serde_json::Value = serde_json::from_str(l).unwrap();
            v["metadata"]["request_start_ns"].as_i64().unwrap()
        })
        .min()
        .unwrap();
    assert_eq!(
        args.get("input_1.time_shift_ns").cloned(),
        Some(Val::Int(1_000_000_000 - first))
    );
    assert_eq!(args.get("input_2.alignment").cloned(), None);
    assert_eq!(
        args.get("input_2.time_shift_ns").cloned(),
        Some(Val::Int(0))
    );

    let (args, _) = convert(&[c.to_str().unwrap(), "--input-format", "vllm-bench"], &out);
    assert_eq!(args.get("options.input_format").cloned(), s("vllm-bench"));
    assert_eq!(args.get("options.salvage").cloned(), None);

    let (args, _) = convert(&[c.to_str().unwrap(), "--align-start"], &out);
    assert_eq!(args.get("input_0.alignment").cloned(), s("start_at"));
    assert_eq!(args.get("input_0.alignment_ns").cloned(), Some(Val::Int(0)));
}

#[test]
fn unknown_provenance_level_is_a_usage_error() {
    let (ok, _, err) = run(&[
        "convert",
        fixture("trtllm/disagg-perf_metrics.json").to_str().unwrap(),
        "-o",
        "/nonexistent/x.pftrace",
        "--provenance",
        "everything",
    ]);
    assert!(!ok);
    assert!(err.contains("minimal, full"), "{err}");
}

/// Every fixture of every format, converted from a private directory: the
/// trace holds its file name but nothing of the directory, anywhere (track
/// names, descriptions, annotations).
#[test]
fn no_format_writes_the_input_directory_into_the_trace() {
    let (_keep, dir) = private_dir();
    let out = dir.join("out.pftrace");
    let mut converted = 0;
    for src in common::files_ending(&common::manifest_dir().join("fixtures"), "") {
        let name = src.file_name().unwrap().to_str().unwrap().to_owned();
        let copy = dir.join(&name);
        std::fs::copy(&src, &copy).unwrap();
        let (ok, _, _) = run(&[
            "convert",
            "-q",
            copy.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
        ]);
        if !ok {
            continue; // fixtures of bad input
        }
        converted += 1;
        let bytes = std::fs::read(&out).unwrap();
        let has = |s: &str| bytes.windows(s.len()).any(|w| w == s.as_bytes());
        assert!(
            !has("home-of-alice-on-host-zebra"),
            "{name}: the trace names its directory"
        );
        assert!(has(&name), "{name}: the trace does not name its input");
        // With --provenance full the command line holds the path: the search finds it.
        let (ok, _, err) = run(&[
            "convert",
            "-q",
            copy.to_str().unwrap(),
            "-o",
            out.to_str().unwrap(),
            "--provenance",
            "full",
        ]);
        assert!(ok, "{err}");
        let bytes = std::fs::read(&out).unwrap();
        let dir_name = b"home-of-alice-on-host-zebra";
        assert!(bytes.windows(dir_name.len()).any(|w| w == dir_name));
        std::fs::remove_file(&copy).unwrap();
    }
    assert!(converted >= 8, "only {converted} fixtures converted");
}
