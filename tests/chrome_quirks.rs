//! Real-world Chrome trace quirks (`../shared/cases/`, read in place), seen
//! in the Perfetto output: decoded with the upstream schema, whose checks
//! (END matches an open BEGIN, no crossing slices on a track) run on every
//! trace. The same cases' SQL answers are golden tests (`tests/golden/`).
//! Expected values were worked out by hand from the inputs.

mod common;

use std::path::{Path, PathBuf};

use common::{decode, shared, DSlice, Decoded, Val};

/// `convert` of one input; the decoded trace and stderr.
fn convert(input: &Path) -> (Decoded, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let (run, stderr) = common::run_env(
        &[
            "convert".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
        &[],
    );
    assert_eq!(run.status.code(), Some(0), "{}: {stderr}", input.display());
    (decode(&out), stderr)
}

fn case(rel: &str) -> PathBuf {
    shared(&format!("cases/{rel}"))
}

/// The slices of the input (not the provenance track's).
fn slices(d: &Decoded) -> Vec<&DSlice> {
    d.slices
        .iter()
        .filter(|s| !d.track_path(s.track)[0].starts_with("breakdown-trace"))
        .collect()
}

fn one<'a>(d: &'a Decoded, name: &str) -> &'a DSlice {
    let mut it = d.named(name);
    let s = it.next().unwrap_or_else(|| panic!("no slice `{name}`"));
    assert!(it.next().is_none(), "several slices `{name}`");
    s
}

/// The count of warning `kind` in a summary on stderr (0 when absent).
fn warnings(stderr: &str, kind: &str) -> u64 {
    stderr
        .lines()
        .filter_map(|l| {
            let mut w = l.split_whitespace();
            (w.next() == Some(kind)).then(|| w.next()?.parse().ok())?
        })
        .next()
        .unwrap_or(0)
}

#[test]
fn a_named_end_closes_the_begin_of_that_name() {
    let (d, stderr) = convert(&case("be-named-ends/unclosed-begin-named-ends.json"));
    assert_eq!(slices(&d).len(), 3);
    let (a, b, fail) = (one(&d, "A"), one(&d, "B"), one(&d, "FAIL!"));
    assert_eq!((a.ts, a.dur), (0, 4000));
    assert_eq!((b.ts, b.dur), (1000, 2000));
    assert_eq!(b.parent.map(|p| d.slices[p].name.as_str()), Some("A"));
    // Never ended: kept up to the thread's last event (the `E` of A at
    // 4 µs), marked, and on a lane of its own since it crosses B's end.
    assert_eq!((fail.ts, fail.dur), (2000, 2000));
    assert_eq!(fail.args["unfinished"], Val::Bool(true));
    assert!(!a.args.contains_key("unfinished"));
    assert_ne!(fail.track, b.track);
    assert_eq!(d.track(fail.track).name, d.track(b.track).name);
    assert_eq!(warnings(&stderr, "unmatched_begin"), 1, "{stderr}");
    assert!(stderr.contains("`B` `FAIL!` never ended"), "{stderr}");
}

#[test]
fn named_ends_that_cross_go_to_lanes() {
    for file in ["overlap-named-end.json", "overlap-unnamed-end.json"] {
        let (d, stderr) = convert(&case(&format!("be-named-ends/{file}")));
        let (e5, e6) = (one(&d, "Event5"), one(&d, "Event6"));
        assert_eq!((e5.ts, e5.dur), (209_700_000, 283_000), "{file}");
        assert_eq!((e6.ts, e6.dur), (209_948_000, 64_000), "{file}");
        assert_ne!(e5.track, e6.track, "{file}: crossing slices share a track");
        assert!(stderr.contains("warnings none"), "{file}: {stderr}");
    }
    let (d, _) = convert(&case("be-named-ends/overlap-unnamed-end.json"));
    let e3 = one(&d, "Event3");
    assert_eq!((e3.ts, e3.dur), (209_124_000, 476_000));
}

#[test]
fn flow_v2_binds_the_events_own_slices() {
    let (d, stderr) = convert(&case("flow-v2/flow-v2.json"));
    let mut flows: Vec<(&str, &str)> = d
        .flows()
        .into_iter()
        .map(|(a, b)| (d.slices[a].name.as_str(), d.slices[b].name.as_str()))
        .collect();
    flows.sort();
    assert_eq!(flows, [("A", "B"), ("C", "D")]);
    // D is a `B`/`E` pair: its flow binds when the `E` closes it.
    let dd = one(&d, "D");
    assert_eq!((dd.ts, dd.dur), (1200, 100));
    assert!(stderr.contains("warnings none"), "{stderr}");
}

#[test]
fn an_event_array_may_lack_its_closing_bracket() {
    for file in ["no-bracket.json", "no-bracket-trailing-comma.json"] {
        let (d, stderr) = convert(&case(&format!("no-closing-bracket/{file}")));
        let (t, c) = (one(&d, "typecheck"), one(&d, "codegen"));
        assert_eq!((t.ts, t.dur), (4_619_295_550_000, 8_000_000), "{file}");
        assert_eq!((c.ts, c.dur), (4_619_303_550_000, 1_000_000), "{file}");
        assert_eq!(slices(&d).len(), 2, "{file}");
        assert_eq!(warnings(&stderr, "unclosed_array"), 1, "{file}: {stderr}");
        assert_eq!(warnings(&stderr, "truncated_input"), 0, "{file}: {stderr}");
    }
}

#[test]
fn non_finite_args_and_counter_values_become_null() {
    let (d, stderr) = convert(&case("c-style-nan-inf/kineto-memcpy-inf.json"));
    assert_eq!(slices(&d).len(), 2);
    let m = one(&d, "Memcpy HtoD (Pageable -> Device)");
    assert_eq!(m.args["bytes"], Val::Int(200));
    assert!(
        !m.args.contains_key("memory bandwidth (GB/s)"),
        "{:?}",
        m.args
    );
    assert_eq!(one(&d, "sgemm").dur, 12_000);
    assert!(stderr.contains("warnings 1"), "{stderr}");
    assert_eq!(warnings(&stderr, "non_finite_number"), 1, "{stderr}");

    let (d, stderr) = convert(&case("c-style-nan-inf/counter-nan.json"));
    for (series, first, third) in [("sys", 1.5, 2.0), ("usr", 20.0, 21.0), ("idle", 78.5, 77.0)] {
        let (_, values) = d.counter_series("process 1", &format!("CPU {series}"));
        assert_eq!(
            values,
            [
                (1_587_074_269_993_000_000, first),
                (1_587_074_269_994_000_000, third)
            ],
            "{series}"
        );
    }
    assert_eq!(warnings(&stderr, "non_finite_number"), 3, "{stderr}");
}

/// The case files and the golden tests' own inputs, converted with one
/// thread and one chunk and with 1-byte chunks on two and three threads:
/// the same bytes and the same stderr.
#[test]
fn quirks_do_not_depend_on_threads_or_chunk_size() {
    let mut inputs = Vec::new();
    for dir in [
        "be-named-ends",
        "flow-v2",
        "no-closing-bracket",
        "c-style-nan-inf",
    ] {
        for e in std::fs::read_dir(case(dir)).unwrap() {
            inputs.push(e.unwrap().path());
        }
    }
    for e in std::fs::read_dir(common::manifest_dir().join("tests/golden")).unwrap() {
        let p = e.unwrap().path().join("in.json");
        if p.exists() {
            inputs.push(p);
        }
    }
    inputs.sort();
    assert!(inputs.len() >= 14, "{inputs:?}");
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    for input in &inputs {
        let mut runs = Vec::new();
        for (threads, chunk) in [("1", "1000000000000"), ("2", "1"), ("3", "7")] {
            let _ = std::fs::remove_file(&out);
            let (r, stderr) = common::run_env(
                &[
                    "convert".as_ref(),
                    input.as_os_str(),
                    "-o".as_ref(),
                    out.as_os_str(),
                ],
                &[
                    ("RAYON_NUM_THREADS", threads),
                    ("BREAKDOWN_TRACE_CHUNK_BYTES", chunk),
                ],
            );
            runs.push((r.status.code(), stderr, std::fs::read(&out).ok()));
        }
        for r in &runs[1..] {
            assert_eq!(r.0, runs[0].0, "{}: exit code", input.display());
            assert_eq!(r.1, runs[0].1, "{}: stderr", input.display());
            assert!(r.2 == runs[0].2, "{}: output", input.display());
        }
    }
}
