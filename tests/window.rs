//! The time window `--from`/`--to` of `query`, `stats`, `report` and `diff`
//! (issue 14): which events it keeps, computed by hand here from small
//! inputs, the same rows whether the window is given relative to the trace
//! start or as absolute `ts=` timestamps, its notes and warnings on stderr,
//! and its usage errors (exit 2).

mod common;

use std::path::{Path, PathBuf};

use common::{fixture, run, run_env};
use serde_json::Value;

/// The trace start of [`timeline`]: its earliest event, `step` at 1000 µs
/// after `baseTimeNanoseconds`.
const START: i64 = 1_700_000_000_001_000_000;

/// A Kineto trace written into `dir`, times in µs after 1 700 000 000 s:
///
/// - CPU thread: `step` [1000, 1100); `forward` [1000, 1050) and
///   [1050, 1100); `cudaLaunchKernel` [1015, 1017) → k1 and [1035, 1037) →
///   k2 (flows); instants `mark` at 1025 and at 1065;
/// - GPU 0 stream 7: k0 gemm [1000, 1010), k1 gemm [1020, 1030), k2 relu
///   [1040, 1045), k3 gemm [1048, 1060), k4 relu [1070, 1080), k5 gemm
///   [1090, 1100);
/// - counter `memory` at 1005 (1), 1030 (2), 1070 (3).
fn timeline(dir: &Path) -> PathBuf {
    let kernel = |name: &str, ts: u32, dur: u32, corr: u32| {
        format!(
            r#"{{"ph": "X", "cat": "kernel", "name": "{name}", "pid": 0, "tid": 7, "ts": {ts}, "dur": {dur}, "args": {{"device": 0, "stream": 7, "correlation": {corr}}}}}"#
        )
    };
    let cpu = |cat: &str, name: &str, ts: u32, dur: u32, corr: u32| {
        format!(
            r#"{{"ph": "X", "cat": "{cat}", "name": "{name}", "pid": 4242, "tid": 4243, "ts": {ts}, "dur": {dur}, "args": {{"correlation": {corr}}}}}"#
        )
    };
    let flow = |id: u32, start: u32, end: u32| {
        format!(
            r#"{{"ph": "s", "id": {id}, "pid": 4242, "tid": 4243, "ts": {start}, "cat": "ac2g", "name": "ac2g"}},
{{"ph": "f", "id": {id}, "pid": 0, "tid": 7, "ts": {end}, "cat": "ac2g", "name": "ac2g", "bp": "e"}}"#
        )
    };
    let events = [
        r#"{"ph": "M", "name": "process_name", "pid": 4242, "tid": 0, "args": {"name": "python3"}}"#.to_owned(),
        r#"{"ph": "M", "name": "process_labels", "pid": 4242, "tid": 0, "args": {"labels": "CPU"}}"#.to_owned(),
        r#"{"ph": "M", "name": "process_name", "pid": 0, "tid": 0, "args": {"name": "python3"}}"#.to_owned(),
        r#"{"ph": "M", "name": "process_labels", "pid": 0, "tid": 0, "args": {"labels": "GPU 0"}}"#.to_owned(),
        r#"{"ph": "M", "name": "thread_name", "pid": 0, "tid": 7, "args": {"name": "stream 7"}}"#.to_owned(),
        cpu("user_annotation", "step", 1000, 100, 0),
        cpu("cpu_op", "forward", 1000, 50, 0),
        cpu("cpu_op", "forward", 1050, 50, 0),
        cpu("cuda_runtime", "cudaLaunchKernel", 1015, 2, 101),
        cpu("cuda_runtime", "cudaLaunchKernel", 1035, 2, 102),
        flow(101, 1015, 1020),
        flow(102, 1035, 1040),
        r#"{"ph": "i", "s": "t", "cat": "cpu_instant_event", "name": "mark", "pid": 4242, "tid": 4243, "ts": 1025}"#.to_owned(),
        r#"{"ph": "i", "s": "t", "cat": "cpu_instant_event", "name": "mark", "pid": 4242, "tid": 4243, "ts": 1065}"#.to_owned(),
        kernel("gemm", 1000, 10, 100),
        kernel("gemm", 1020, 10, 101),
        kernel("relu", 1040, 5, 102),
        kernel("gemm", 1048, 12, 103),
        kernel("relu", 1070, 10, 104),
        kernel("gemm", 1090, 10, 105),
        r#"{"ph": "C", "name": "memory", "pid": 4242, "ts": 1005, "args": {"allocated": 1}}"#.to_owned(),
        r#"{"ph": "C", "name": "memory", "pid": 4242, "ts": 1030, "args": {"allocated": 2}}"#.to_owned(),
        r#"{"ph": "C", "name": "memory", "pid": 4242, "ts": 1070, "args": {"allocated": 3}}"#.to_owned(),
    ];
    let json = format!(
        r#"{{"schemaVersion": 1, "baseTimeNanoseconds": 1700000000000000000, "traceEvents": [
{}
]}}"#,
        events.join(",\n")
    );
    let path = dir.join("timeline.json");
    std::fs::write(&path, json).unwrap();
    path
}

/// Runs a query, asserting success; returns (CSV stdout, stderr).
fn query(sql: &str, input: &Path, window: &[&str]) -> (String, String) {
    let mut args = vec!["query", "--sql", sql, input.to_str().unwrap()];
    args.extend_from_slice(window);
    let (ok, out, err) = run(&args);
    assert!(ok, "{args:?}: {err}");
    (out, err)
}

/// The lines of a CSV result after its header.
fn rows(csv: &str) -> Vec<&str> {
    csv.lines().skip(1).collect()
}

/// `stats INPUT --section SECTION --output-format json` with `window`:
/// the section's rows and stderr (the command must succeed).
fn stats_section(input: &str, section: &str, window: &[&str]) -> (Vec<Value>, String) {
    let mut args = vec![
        "stats",
        input,
        "--section",
        section,
        "--output-format",
        "json",
    ];
    args.extend_from_slice(window);
    let (ok, out, err) = run(&args);
    assert!(ok, "{args:?}: {err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    (v.as_array().expect("rows").clone(), err)
}

const SLICES: &str = "SELECT name, ts, dur FROM slice ORDER BY ts, name";

/// The window 25 µs – 65 µs after the start (ts 1025 – 1065 µs): every form
/// of writing it.
fn the_window_spelled_every_way() -> Vec<Vec<String>> {
    let abs = |us: i64| format!("ts={}", START + (us - 1000) * 1000);
    vec![
        vec!["--from".into(), "25us".into(), "--to".into(), "65us".into()],
        vec!["--from=0.025ms".into(), "--to=65000".into()],
        vec!["--from".into(), abs(1025), "--to".into(), abs(1065)],
        vec!["--from".into(), "25us".into(), "--to".into(), abs(1065)],
        // A unit after ts=: 1 700 000 000 001 025 µs.
        vec![
            "--from".into(),
            "ts=1700000000001025us".into(),
            "--to".into(),
            "ts=1700000000.001065s".into(),
        ],
    ]
}

#[test]
fn query_keeps_the_slices_that_overlap_the_window_whole() {
    let dir = tempfile::tempdir().unwrap();
    let input = timeline(dir.path());
    let ts = |us: i64| 1_700_000_000_000_000_000 + us * 1000;
    // Overlap [1025, 1065): step, both forwards, the launch at 1035, the
    // mark at 1025 (not the one at 1065: the end is open), k1 (starts
    // before the window, kept whole), k2, k3; and the launch at 1015, which
    // ends before the window but launched k1 (a kept kernel keeps its
    // launch), so both flows stay. Not: k0, k4, k5.
    // Counters: `memory` (1005, 1030, 1070) and stream 7's queue length
    // (launches with flows only: +1@1015 -1@1020 +1@1035 -1@1040, 4
    // samples): 7 in all; kept: memory's 1005 (in force at 1025) and 1030,
    // the queue's 1020 (in force) and 1035, 1040: 5, 2 of them in force.
    let mut expected = vec![
        format!("step,{},100000", ts(1000)),
        format!("forward,{},50000", ts(1000)),
        format!("cudaLaunchKernel,{},2000", ts(1015)),
        format!("gemm,{},10000", ts(1020)),
        format!("mark,{},0", ts(1025)),
        format!("cudaLaunchKernel,{},2000", ts(1035)),
        format!("relu,{},5000", ts(1040)),
        format!("gemm,{},12000", ts(1048)),
        format!("forward,{},50000", ts(1050)),
    ];
    expected.sort_by_key(|r| {
        let f: Vec<&str> = r.split(',').collect();
        (f[1].parse::<i64>().unwrap(), f[0].to_owned())
    });
    for w in the_window_spelled_every_way() {
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        let (out, err) = query(SLICES, &input, &w);
        assert_eq!(rows(&out), expected, "{w:?}");
        assert!(
            err.contains(&format!(
                "note: window 0.000025 s – 0.000065 s of the trace (ts {} – {}): 9 of 13 slices, 2 of 2 flows, \
                 5 of 7 counter samples (2 the value in force at the start)",
                ts(1025),
                ts(1065)
            )),
            "{w:?}: {err}"
        );
        // The kept flows join the kept launches to k1 and k2, by the new ids.
        let (out, _) = query(
            "SELECT o.name, o.ts, i.name, i.ts FROM flow f JOIN slice o ON o.id = f.slice_out \
             JOIN slice i ON i.id = f.slice_in ORDER BY o.ts",
            &input,
            &w,
        );
        assert_eq!(
            rows(&out),
            vec![
                format!("cudaLaunchKernel,{},gemm,{}", ts(1015), ts(1020)),
                format!("cudaLaunchKernel,{},relu,{}", ts(1035), ts(1040)),
            ]
        );
        // Nesting over the kept slices: every parent is kept and contains
        // its child.
        let (out, _) = query(
            "SELECT c.name, p.name FROM slice c JOIN slice p ON p.id = c.parent_id \
             WHERE p.ts > c.ts OR p.ts + p.dur < c.ts + c.dur OR p.depth + 1 != c.depth \
             UNION ALL SELECT name, 'missing' FROM slice WHERE parent_id IS NOT NULL \
             AND parent_id NOT IN (SELECT id FROM slice)",
            &input,
            &w,
        );
        assert_eq!(rows(&out), Vec::<&str>::new());
        let (out, _) = query(
            "SELECT name FROM slice WHERE parent_id = (SELECT id FROM slice WHERE name = 'step') ORDER BY ts",
            &input,
            &w,
        );
        assert_eq!(rows(&out), vec!["forward", "forward"]);
        // Counter samples: memory's 1030 inside, 1005 the value in force
        // at 1025; the queue length's 1035 and 1040 inside, 1020 in force.
        let (out, _) = query(
            "SELECT t.name, c.ts, c.value FROM counter c JOIN counter_track t ON t.id = c.track_id \
             ORDER BY t.name, c.ts",
            &input,
            &w,
        );
        assert_eq!(
            rows(&out),
            vec![
                format!("Queue Length,{},0.0", ts(1020)),
                format!("Queue Length,{},1.0", ts(1035)),
                format!("Queue Length,{},0.0", ts(1040)),
                format!("memory,{},1.0", ts(1005)),
                format!("memory,{},2.0", ts(1030)),
            ]
        );
    }
    // Only --to: everything before 1025 µs (the mark at 1025 is not).
    let (out, err) = query(SLICES, &input, &["--to", "25us"]);
    let names: Vec<&str> = rows(&out)
        .iter()
        .map(|r| r.split(',').next().unwrap())
        .collect();
    assert_eq!(
        names,
        vec!["forward", "gemm", "step", "cudaLaunchKernel", "gemm"]
    );
    assert!(
        err.contains("window the start of the trace – 0.000025 s"),
        "{err}"
    );
}

#[test]
fn bundled_queries_and_stats_see_only_the_kept_kernels() {
    let dir = tempfile::tempdir().unwrap();
    let input = timeline(dir.path());
    let input_s = input.to_str().unwrap();
    for w in the_window_spelled_every_way() {
        let w: Vec<&str> = w.iter().map(String::as_str).collect();
        // kernel-stats: gemm k1 (10 µs) + k3 (12 µs) whole, relu k2 (5 µs).
        let mut args = vec!["query", "kernel-stats", input_s, "--output-format", "json"];
        args.extend_from_slice(&w);
        let (ok, out, err) = run(&args);
        assert!(ok, "{err}");
        let v: Value = serde_json::from_str(&out).unwrap();
        let got: Vec<(String, i64, f64)> = v
            .as_array()
            .unwrap()
            .iter()
            .map(|r| {
                (
                    r["name"].as_str().unwrap().to_owned(),
                    r["count"].as_i64().unwrap(),
                    r["avg_us"].as_f64().unwrap(),
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![("gemm".to_owned(), 2, 11.0), ("relu".to_owned(), 1, 5.0)]
        );
        // stats gpu-idle: the kept kernels span [1020, 1060) = 40 µs, busy
        // 10 + 5 + 12 = 27 µs, idle 13 µs.
        let (rows, err) = stats_section(input_s, "gpu-idle", &w);
        let device = rows.iter().find(|r| r["scope"] == "device").unwrap();
        assert_eq!(device["kernels"], 3);
        assert_eq!(device["span_ns"], 40_000);
        assert_eq!(device["busy_ns"], 27_000);
        assert_eq!(device["idle_ns"], 13_000);
        assert!(
            err.contains("note: window 0.000025 s – 0.000065 s"),
            "{err}"
        );
    }
    // Without a window: all six kernels, span 100 µs.
    let (v, _) = stats_section(input_s, "gpu-idle", &[]);
    assert_eq!(v[0]["kernels"], 6);
    assert_eq!(v[0]["span_ns"], 100_000);
}

#[test]
fn report_and_diff_honour_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let input = timeline(dir.path());
    let input_s = input.to_str().unwrap();
    let html = dir.path().join("r.html");
    let (ok, _, err) = run(&[
        "report",
        input_s,
        "-o",
        html.to_str().unwrap(),
        "--from",
        "25us",
        "--to",
        "65us",
    ]);
    assert!(ok, "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    // The page says which window it shows, and counts 3 kernels.
    assert!(
        page.contains("3 kernels from 1 input · window 0.000025 s – 0.000065 s of the trace"),
        "{}",
        &page[page.find("subtitle").unwrap_or(0)..][..300.min(page.len())]
    );
    // diff of a run with itself, windowed: counts per name from the window.
    let (ok, out, err) = run(&[
        "diff",
        input_s,
        input_s,
        "--output-format",
        "json",
        "--from",
        "25us",
        "--to",
        "65us",
    ]);
    assert!(ok, "{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    let counts: Vec<(String, i64, i64)> = v["kernels"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["name"].as_str().unwrap().to_owned(),
                r["count_a"].as_i64().unwrap(),
                r["count_b"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        counts,
        vec![("gemm".to_owned(), 2, 2), ("relu".to_owned(), 1, 1)]
    );
    assert!(
        err.contains("note: A (") && err.contains("note: B ("),
        "{err}"
    );
}

#[test]
fn requests_client_records_and_iterations_are_kept_by_their_start() {
    // TensorRT-LLM requests 7, 8, 9, 10 start (earliest stamp) at 100.000,
    // 100.010, 100.020 (its server_arrival_time is null: arrival_time) and
    // 100.600 s; the trace starts at 100.000 s. 5 ms – 25 ms: 8 and 9.
    let agg = fixture("trtllm/aggregated-perf_metrics.json");
    for w in [
        ["--from", "5ms", "--to", "25ms"],
        ["--from", "ts=100005000000", "--to", "ts=100025000000"],
    ] {
        let (out, err) = query("SELECT ctx_request_id FROM request ORDER BY 1", &agg, &w);
        assert_eq!(rows(&out), vec!["8", "9"]);
        assert!(err.contains("2 of 4 requests"), "{err}");
        // stats reads the requests without their timeline: same start,
        // same requests. decode (first → last token) exists for both: 8
        // 100.060 → 100.300 (240 ms), 9 100.090 → 100.250 (160 ms).
        let (rows, err) = stats_section(agg.to_str().unwrap(), "latency", &w);
        let decode = rows.iter().find(|r| r["metric"] == "decode").unwrap();
        assert_eq!(decode["count"], 2);
        assert_eq!(decode["min_ms"].as_f64(), Some(160.0));
        assert_eq!(decode["max_ms"].as_f64(), Some(240.0));
        assert!(err.contains("note: window 0.005 s – 0.025 s of the trace (ts 100005000000 – 100025000000): 2 of 4 requests"), "{err}");
    }

    // aiperf records start at 0, 100 and 200 ms: 50 – 150 ms keeps req-1,
    // whose slice id still names its own slice.
    let aiperf = fixture("aiperf/new-schema.jsonl");
    let (out, _) = query(
        "SELECT c.request_id, s.ts = c.start_ts FROM client_request c JOIN slice s ON s.id = c.slice_id",
        &aiperf,
        &["--from", "50ms", "--to", "150ms"],
    );
    assert_eq!(rows(&out), vec!["req-1,1"]);

    // Iterations at 0, 7.5 and 20 ms: 5 – 20 ms keeps iter 11 only.
    let iters = fixture("iter_stats/old-keys.json");
    let (out, err) = query(
        "SELECT iter FROM iteration",
        &iters,
        &["--from", "5ms", "--to", "20ms"],
    );
    assert_eq!(rows(&out), vec!["11"]);
    assert!(err.contains("1 of 3 iterations"), "{err}");
}

#[test]
fn a_window_past_the_end_warns_and_quiet_silences_it() {
    let k = fixture("chrome/kineto_small.json");
    let ks = k.to_str().unwrap();
    let (ok, out, err) = run(&[
        "query",
        "--sql",
        "SELECT count(*) FROM slice",
        ks,
        "--from",
        "1h",
    ]);
    assert!(ok, "{err}");
    assert_eq!(rows(&out), vec!["0"]);
    // kineto_small spans 5 µs – 50 µs after its base.
    assert!(
        err.contains("warning: the window holds no events: the trace spans 0.000 s – 0.000045 s"),
        "{err}"
    );
    let (ok, _, err) = run(&[
        "-q",
        "query",
        "--sql",
        "SELECT count(*) FROM slice",
        ks,
        "--from",
        "1h",
    ]);
    assert!(ok);
    assert_eq!(err, "");
    // stats has nothing to summarise in it, and says it is the window.
    let (out, err) = run_env(&["stats", ks, "--from", "1h"], &[]);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("the window holds no events"), "{err}");
    assert!(err.contains("in the window --from 3600.000 s"), "{err}");
}

#[test]
fn bad_windows_are_usage_errors_naming_the_option() {
    let k = fixture("chrome/kineto_small.json");
    let ks = k.to_str().unwrap();
    let cases: &[(&[&str], &[&str])] = &[
        (&["--from", "-2s"], &["--from", "cannot be negative"]),
        (&["--to", "2 parsecs"], &["--to", "bad duration"]),
        (&["--from", "t=5"], &["--from", "ts=NS"]),
        (
            &["--from", "2s", "--to", "1s"],
            &["--to 1.000 s", "--from 2.000 s"],
        ),
        (
            &["--from", "2s", "--to", "2s"],
            &["--to", "--from", "not after"],
        ),
        (
            &[
                "--from",
                "ts=1700000000000020000",
                "--to",
                "ts=1700000000000010000",
            ],
            &[
                "--to ts=1700000000000010000",
                "--from ts=1700000000000020000",
            ],
        ),
        // Mixed forms are compared once the trace's start is known.
        (
            &["--from", "20us", "--to", "ts=1700000000000010000"],
            &[
                "--to ts=1700000000000010000",
                "--from 0.00002 s",
                "not after",
            ],
        ),
    ];
    for (window, words) in cases {
        for cmd in [
            vec!["query", "kernel-stats", ks],
            vec!["stats", ks],
            vec!["diff", ks, ks],
        ] {
            let mut args = cmd.clone();
            args.extend_from_slice(window);
            let (out, err) = run_env(&args, &[]);
            assert_eq!(out.status.code(), Some(2), "{args:?}: {err}");
            for w in *words {
                assert!(err.contains(w), "{args:?}: `{w}` not in {err}");
            }
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("r.html");
    let (out, err) = run_env(
        &["report", ks, "-o", html.to_str().unwrap(), "--from", "-1ms"],
        &[],
    );
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(!html.exists());
    // A database written by `db` is already read: a window is refused.
    let db = dir.path().join("k.sqlite");
    let (ok, _, err) = run(&["db", ks, "-o", db.to_str().unwrap()]);
    assert!(ok, "{err}");
    let (out, err) = run_env(&["stats", db.to_str().unwrap(), "--from", "1us"], &[]);
    assert_eq!(out.status.code(), Some(2), "{err}");
    assert!(err.contains("--from/--to") && err.contains("`ts`"), "{err}");
}

/// `convert --from/--to` writes only the kept events, decoded with the
/// upstream Perfetto schema: the same 9 slices as `query` keeps for
/// [1025, 1065) µs (see the first test: step, both forwards, both launches,
/// the mark at 1025, k1..k3), both flows, and the provenance records the
/// bounds in the input's clock.
#[test]
fn convert_writes_the_window() {
    let dir = tempfile::tempdir().unwrap();
    let input = timeline(dir.path());
    let out = dir.path().join("w.pftrace");
    let (ok, _, err) = run(&[
        "convert",
        input.to_str().unwrap(),
        "--from",
        "25us",
        "--to",
        "65us",
        "-o",
        out.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    assert!(
        err.contains("note: window 0.000025 s – 0.000065 s"),
        "{err}"
    );
    let d = common::decode(&out);
    let mut names: Vec<&str> = d
        .slices
        .iter()
        .filter(|s| s.name != "provenance" && s.category != "breakdown_trace")
        .map(|s| s.name.as_str())
        .filter(|n| !n.is_empty() && *n != "request record" && *n != "gpu artifact")
        .collect();
    names.sort();
    assert_eq!(
        names,
        vec![
            "cudaLaunchKernel",
            "cudaLaunchKernel",
            "forward",
            "forward",
            "gemm",
            "gemm",
            "mark",
            "relu",
            "step"
        ]
    );
    assert_eq!(d.flows().len(), 2);
    let prov = d.named("provenance").next().expect("provenance instant");
    assert_eq!(
        prov.args.get("options.window_from_ts"),
        Some(&common::Val::Int(START + 25_000))
    );
    assert_eq!(
        prov.args.get("options.window_to_ts"),
        Some(&common::Val::Int(START + 65_000))
    );
}
