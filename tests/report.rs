//! The HTML report in headless Chromium (Debian's `chromium`, driven by
//! playwright-core from tests/report/; `.ci/run` installs both): for each
//! input kind and for a mixed input it loads with no console errors and no
//! network requests, has exactly the sections of the kinds given, and every
//! statistics table on the page holds the numbers `stats --format json`
//! prints (cell for cell, exact values from the cells' `data-v`). The
//! fixture's values are also checked against hand-computed ones, and the
//! request chart's geometry (absent segments placed between the known
//! stamps around them) against the fixture's stamps. Screenshots (full page
//! and per section) are kept under the test's target tmp dir
//! (`target/tmp/report/`).

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixture, run};
use serde_json::Value;

/// Installs playwright-core (pinned in tests/report/package-lock.json) once.
fn node_deps() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let dir = common::manifest_dir().join("tests/report");
        if dir.join("node_modules/playwright-core").exists() {
            return;
        }
        let st = Command::new("npm")
            .args(["ci", "--no-audit", "--no-fund", "--loglevel=error"])
            .current_dir(&dir)
            .status()
            .expect("npm (Node.js) is needed for the report test");
        assert!(st.success(), "npm ci in tests/report failed");
    });
    assert!(
        Path::new(&std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into()))
            .exists(),
        "the report test needs Debian's Chromium: apt-get install chromium (.ci/run does)"
    );
}

fn check(html: &Path, png: &Path) -> Value {
    node_deps();
    let script = common::manifest_dir().join("tests/report/check.mjs");
    let out = Command::new("node")
        .arg(&script)
        .arg(html)
        .arg(png)
        .output()
        .expect("node (see .ci/run)");
    assert!(
        out.status.success(),
        "check.mjs failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("check.mjs prints JSON");
    assert_eq!(v["errors"], serde_json::json!([]), "console errors");
    assert_eq!(v["requests"], serde_json::json!([]), "network requests");
    assert_eq!(v["overflow_x"], false, "the page is wider than the window");
    v
}

fn artefacts() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&d).unwrap();
    d
}

fn report(inputs: &[PathBuf], html: &Path) {
    let mut args = vec!["report".to_owned()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".into(), html.display().to_string()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run(&argv);
    assert!(ok, "{stderr}");
    let page = std::fs::read_to_string(html).unwrap();
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "self-contained, no URLs"
    );
}

/// `stats` as JSON (object keyed by query name).
fn stats_json(inputs: &[PathBuf]) -> serde_json::Map<String, Value> {
    {
        let flag = "--output-format";
        let mut args = vec!["stats".to_owned()];
        args.extend(inputs.iter().map(|p| p.display().to_string()));
        args.extend([flag.into(), "json".into()]);
        let argv: Vec<&str> = args.iter().map(String::as_str).collect();
        let (ok, out, _) = run(&argv);
        if ok {
            return serde_json::from_str::<Value>(&out)
                .expect("stats JSON")
                .as_object()
                .unwrap()
                .clone();
        }
    }
    panic!("stats --output-format json / --format json failed");
}

/// The page's table for `query`.
fn page_table<'a>(page: &'a Value, query: &str) -> &'a Value {
    page["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["query"] == query)
        .unwrap_or_else(|| panic!("no table [{query}] on the page"))
}

/// Every `stats` section is on the page with the same columns and values.
fn same_numbers_as_stats(page: &Value, stats: &serde_json::Map<String, Value>) {
    assert!(!stats.is_empty());
    for (query, rows) in stats {
        let t = page_table(page, query);
        let columns: Vec<&str> = t["columns"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c.as_str().unwrap())
            .collect();
        let rows = rows.as_array().unwrap();
        let page_rows = t["rows"].as_array().unwrap();
        assert_eq!(page_rows.len(), rows.len().min(500), "[{query}] row count");
        for (i, (want, got)) in rows.iter().zip(page_rows).enumerate() {
            let want = want.as_object().unwrap();
            assert_eq!(want.len(), columns.len(), "[{query}] columns {columns:?}");
            for (j, c) in columns.iter().enumerate() {
                let (w, g) = (&want[*c], &got[j]);
                let same = match (w.as_f64(), g.as_f64()) {
                    (Some(a), Some(b)) => a == b,
                    _ => w == g,
                };
                assert!(same, "[{query}] row {i} column {c}: stats {w}, page {g}");
            }
        }
    }
}

/// The data the page was rendered from (the JSON in its data script).
fn embedded(html: &Path) -> Value {
    let page = std::fs::read_to_string(html).unwrap();
    let start = page
        .find(r#"<script type="application/json" id="data">"#)
        .unwrap();
    let rest = &page[start..];
    let body = &rest[rest.find('>').unwrap() + 1..rest.find("</script>").unwrap()];
    serde_json::from_str(&body.replace("<\\/", "</")).unwrap()
}

fn sections(page: &Value) -> Vec<&str> {
    page["sections"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s.as_str().unwrap())
        .collect()
}

fn row<'a>(t: &'a Value, first: &str) -> Vec<&'a Value> {
    t["rows"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r[0] == first)
        .unwrap_or_else(|| panic!("row {first}"))
        .as_array()
        .unwrap()
        .iter()
        .collect()
}

fn col(t: &Value, name: &str) -> usize {
    t["columns"]
        .as_array()
        .unwrap()
        .iter()
        .position(|c| c == name)
        .unwrap_or_else(|| panic!("column {name}"))
}

#[test]
fn report_of_the_aggregated_fixture_loads_cleanly_with_expected_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("breakdown.html");
    let input = fixture("trtllm/aggregated-perf_metrics.json");
    report(std::slice::from_ref(&input), &html);
    let r = check(&html, &artefacts().join("aggregated.png"));
    assert_eq!(sections(&r), ["sec-requests"]);
    assert_eq!(r["bars"], 4, "one bar per request (7, 8, 9, 10)");
    assert_eq!(r["columns"], 4);
    assert_eq!(
        page_table(&r, "segments")["rows"].as_array().unwrap().len(),
        5,
        "ctx_* segments and decode"
    );
    same_numbers_as_stats(&r, &stats_json(&[input]));
    // Hovering the first bar (sorted by arrival: request 7) lists its
    // segments: 100.000 → 100.001 → 100.003 → 100.020 → 100.021, last token
    // 100.500, as ms since its arrival.
    let tip = r["tooltip"].as_str().unwrap();
    assert!(tip.starts_with("request 7 (aggregated)"), "{tip}");
    assert!(tip.contains("ctx_processing\t17 ms\t3 → 20"), "{tip}");
    assert!(tip.contains("TTFT\t21 ms"), "{tip}");
    assert!(tip.contains("end-to-end\t500 ms"), "{tip}");

    // Statistics by hand. ctx_queue present for 7 (2 ms), 8 (19.5), 10 (1);
    // 9 has first_scheduled 0.0 → absent (zero). Sorted [1, 2, 19.5]: p50 2,
    // p90 at rank 1.8 → 2 + 0.8·17.5 = 16, p99 19.15.
    let ss = page_table(&r, "segment-stats");
    let q = row(ss, "ctx_queue");
    assert_eq!(q[col(ss, "count")], 3);
    assert_eq!(q[col(ss, "absent_zero")], 1);
    assert_eq!(q[col(ss, "p50_ms")], 2.0);
    assert_eq!(q[col(ss, "p90_ms")], 16.0);
    assert_eq!(q[col(ss, "p99_ms")], 19.15);
    // decode: 480, 240, 160 ms; 10 has no last_token_time (missing).
    let d = row(ss, "decode");
    assert_eq!(d[col(ss, "p50_ms")], 240.0);
    assert_eq!(d[col(ss, "absent_missing")], 1);
    assert_eq!(row(ss, "total to first token")[col(ss, "p50_ms")], 51.0);
    // The displayed text is the value, rounded for reading.
    let text = &ss["text"];
    let p99 = col(ss, "p99_ms");
    assert!(text
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r[0] == "ctx_queue" && r[p99] == "19.15"));

    // Request 9 (server_arrival_time null, first_scheduled_time 0.0) is drawn
    // from its arrival_time 100.02: ctx_queue and ctx_processing are absent
    // and drawn hatched between the stamps around them, arrival_time (0 ms)
    // and first_token_time (100.09 → 70 ms); ctx_postprocessing 70 → 71 ms;
    // ctx_preprocessing (null start) ends at the arrival: position known
    // on one side only.
    let data = embedded(&html);
    let req = &data["requests"];
    let segs: Vec<&str> = req["segments"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["name"].as_str().unwrap())
        .collect();
    let item = req["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["l"] == "9")
        .unwrap();
    let absent = |name: &str| {
        item["a"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| segs[a[0].as_u64().unwrap() as usize] == name)
            .unwrap_or_else(|| panic!("{name} absent"))
            .clone()
    };
    assert_eq!(
        absent("ctx_queue"),
        serde_json::json!([1, 0.0, 70.0, 1, "zero"])
    );
    assert_eq!(
        absent("ctx_processing"),
        serde_json::json!([2, 0.0, 70.0, 1, "zero"])
    );
    assert_eq!(
        absent("ctx_preprocessing"),
        serde_json::json!([0, null, 0.0, 1, "null"])
    );
    assert_eq!(
        item["p"],
        serde_json::json!([[3, 70.0, 71.0, 1], [4, 70.0, 230.0, 1]])
    );
    assert_eq!(item["t"], Value::Null, "TTFT needs server_arrival_time");
    // The CDF is a step per value: TTFT of 7, 8, 10 = 21, 51.2, 51 ms.
    assert_eq!(
        req["cdfs"][0]["points"],
        serde_json::json!([[21.0, 1.0 / 3.0], [51.0, 2.0 / 3.0], [51.2, 1.0]])
    );
}

/// One report per input kind, and one of all of them: sections present,
/// every statistics table equal to `stats`.
#[test]
fn every_input_kind_gets_its_section_with_the_numbers_stats_prints() {
    let dir = tempfile::tempdir().unwrap();
    let cpu = dir.path().join("cpu-only.json");
    std::fs::write(
        &cpu,
        r#"{"traceEvents":[{"ph":"X","name":"forward","pid":1,"tid":1,"ts":10,"dur":50},
            {"ph":"X","name":"matmul","pid":1,"tid":1,"ts":20,"dur":30},
            {"ph":"X","name":"matmul","pid":1,"tid":1,"ts":60,"dur":10}]}"#,
    )
    .unwrap();
    let trt = vec![
        fixture("trtllm/disagg-perf_metrics.json"),
        fixture("trtllm/aggregated-perf_metrics.json"),
        fixture("trtllm/perf_metrics-disagg-hostA-4242-20261123T101500Z.jsonl"),
    ];
    let aiperf = vec![fixture("aiperf/new-schema.jsonl")];
    let vllm = vec![fixture("vllm/vllm-detailed.json")];
    let kineto = vec![fixture("chrome/kineto_small.json")];
    let iters = vec![
        fixture("iter_stats/old-keys.json"),
        fixture("iter_stats/new-keys-concatenated.json"),
    ];
    let mixed: Vec<PathBuf> = [&trt, &aiperf, &vllm, &kineto, &iters]
        .into_iter()
        .flatten()
        .cloned()
        .collect();
    let mut cases: Vec<(&str, Vec<PathBuf>, Vec<&str>)> = vec![
        ("trtllm", trt, vec!["sec-requests"]),
        ("aiperf", aiperf, vec!["sec-client"]),
        ("vllm", vllm, vec!["sec-client"]),
        ("kineto", kineto, vec!["sec-gpu"]),
        ("iteration-stats", iters, vec!["sec-iterations"]),
        ("cpu-timeline", vec![cpu], vec!["sec-timeline"]),
        (
            "mixed",
            mixed,
            vec!["sec-requests", "sec-client", "sec-gpu", "sec-iterations"],
        ),
    ];
    // An Nsight Systems SQLite export (real data beside the checkout).
    let nsys = common::shared("realdata/pipit/tests/data/saxpy-mpi-cuda_nsys_perlmutter0.sqlite");
    if nsys.exists() {
        cases.push(("nsys", vec![nsys], vec!["sec-gpu"]));
    } else {
        eprintln!("SKIP nsys report: {} is missing", nsys.display());
    }
    for (name, inputs, want) in cases {
        let html = dir.path().join(format!("{name}.html"));
        report(&inputs, &html);
        let r = check(&html, &artefacts().join(format!("{name}.png")));
        assert_eq!(sections(&r), want, "{name}");
        same_numbers_as_stats(&r, &stats_json(&inputs));
        let subtitle = r["subtitle"].as_str().unwrap();
        for (section, word) in [
            ("sec-requests", "requests"),
            ("sec-client", "client records"),
            ("sec-gpu", "kernels"),
            ("sec-iterations", "iterations"),
            ("sec-timeline", "slices"),
        ] {
            assert_eq!(
                subtitle.contains(word),
                want.contains(&section),
                "{name}: subtitle {subtitle:?} names exactly the kinds shown"
            );
        }
        match name {
            "trtllm" => {
                assert_eq!(r["bars"], 9);
                let legend = r["legend"].as_array().unwrap();
                assert!(legend.iter().any(|e| e[0] == "decode" && e[1] == false));
                assert_eq!(r["cdfs"], serde_json::json!(["TTFT", "end-to-end"]));
            }
            "aiperf" | "vllm" => {
                // Failed requests are counted, not dropped.
                let st = page_table(&r, "client-status");
                assert!(
                    st["rows"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .any(|r| r[1] == "failed" && r[3] == 1),
                    "{name}: {st}"
                );
                let cdfs = r["cdfs"].as_array().unwrap();
                assert!(cdfs.contains(&"TTFT".into()) && cdfs.contains(&"request latency".into()));
            }
            "kineto" => {
                // kineto_small: one kernel of 3 µs; GPU 0 spans 9.999 µs of work.
                let ks = page_table(&r, "kernel-summary");
                assert_eq!(ks["rows"][0][col(ks, "Total Time (ns)")], 3000);
                let gaps = page_table(&r, "gpu-idle:gaps");
                assert_eq!(gaps["rows"][0][col(gaps, "gap_ns")], 6999);
                assert_eq!(gaps["rows"][0][col(gaps, "kernel_before")], "add_kernel");
                // The launch / overlap analyses with every column, as their bundled
                // queries print them (the short forms `stats` prints are compared above).
                for q in [
                    "kernel-launch-stats",
                    "comm-comp-overlap",
                    "kernel-type-breakdown",
                    "idle-time-breakdown",
                ] {
                    let input = inputs[0].to_str().unwrap();
                    let (ok, out, err) = run(&["query", q, input, "--output-format", "csv"]);
                    assert!(ok, "{err}");
                    let rows = out.lines().count() - 1;
                    let all = page_table(&r, &format!("{q}:all"));
                    assert_eq!(all["rows"].as_array().unwrap().len(), rows, "{q}");
                }
            }
            "iteration-stats" => {
                // old-keys.json by hand: iterLatencyMS 7.5, 6.25, 6.0 → mean
                // 6.5833…, p90 at rank 1.8 → 6.25 + 0.8·1.25 = 7.25; KV cache
                // used 10/100, 12/100 (third record: kvCacheStats null) → 11 %.
                let t = page_table(&r, "iteration-stats");
                let rows = t["rows"].as_array().unwrap();
                let get = |metric: &str| {
                    rows.iter()
                        .find(|r| {
                            r[0].as_str().unwrap().ends_with("old-keys.json") && r[1] == metric
                        })
                        .unwrap_or_else(|| panic!("{metric}"))
                };
                let l = get("iterLatencyMS");
                assert!((l[col(t, "mean")].as_f64().unwrap() - 79.0 / 12.0).abs() < 1e-12);
                assert_eq!(l[col(t, "p90")], 7.25);
                let kv = get("kvCacheStats.usedNumBlocks / maxNumBlocks");
                assert_eq!(kv[col(t, "count")], 2);
                assert_eq!(kv[col(t, "mean")], 11.0);
                // numActiveRequests / maxNumActiveRequests: 2/64, 2/64, 1/64.
                let u = get("numActiveRequests / maxNumActiveRequests");
                assert_eq!(u[col(t, "max")], 3.125);
                assert_eq!(u[col(t, "min")], 1.5625);
                let charts = r["charts"].as_array().unwrap();
                for c in [
                    "KV-cache use",
                    "Requests: numActive",
                    "Batch composition",
                    "Iteration latency",
                ] {
                    assert!(
                        charts.iter().any(|x| x.as_str().unwrap().starts_with(c)),
                        "{c}"
                    );
                }
            }
            "cpu-timeline" => {
                // matmul 30 + 10 µs = 40000 ns in 2 instances; forward 50000.
                let t = page_table(&r, "slice-summary");
                assert_eq!(row(t, "forward")[col(t, "total_ns")], 50000);
                assert_eq!(row(t, "matmul")[col(t, "total_ns")], 40000);
                assert_eq!(row(t, "matmul")[col(t, "instances")], 2);
            }
            _ => {}
        }
    }
}

/// Generated aggregated requests: up to `MAX_BARS` a bar each; beyond, the
/// Rust side sends 1000 rank bins per sort order and the page draws them
/// (TTFT order by default: a percentile picture). Screenshots at 10k and
/// 100k requests.
#[test]
fn many_requests_are_binned_before_the_page_gets_them() {
    let dir = tempfile::tempdir().unwrap();
    for n in [10_000u64, 100_000] {
        let big = dir.path().join(format!("{n}.json"));
        let mut s = String::from("[");
        for i in 0..n {
            let t = 1000.0 + i as f64 * 0.01;
            if i > 0 {
                s.push(',');
            }
            s.push_str(&format!(
                r#"{{"request_id":{i},"perf_metrics":{{"timing_metrics":{{"server_arrival_time":{:.6},"arrival_time":{:.6},"first_scheduled_time":{:.6},"first_token_time":{:.6},"server_first_token_time":{:.6},"last_token_time":{:.6}}}}}}}"#,
                t,
                t + 0.001,
                t + 0.001 + (i % 7) as f64 * 0.001,
                t + 0.03,
                t + 0.031,
                t + 0.5
            ));
        }
        s.push(']');
        std::fs::write(&big, s).unwrap();
        let html = dir.path().join(format!("{n}.html"));
        report(std::slice::from_ref(&big), &html);
        let size = std::fs::metadata(&html).unwrap().len();
        assert!(size < 4_000_000, "{n} requests: {size} bytes of page");
        let r = check(&html, &artefacts().join(format!("{}k.png", n / 1000)));
        assert_eq!(r["bars"], n);
        assert_eq!(r["columns"], 1000, "rank bins");
        let data = embedded(&html);
        assert_eq!(data["requests"]["default_sort"], "ttft");
        // Each bin covers n / 1000 requests; their ctx_queue (0..6 ms, i % 7)
        // means over a bin of ranks are within that range.
        let items = data["requests"]["items"].as_array().unwrap();
        assert_eq!(items.len(), 3000, "1000 bins per sort order");
        assert!(items.iter().all(|c| c["n"] == n / 1000));
        // In flight: a request every 10 ms, each 500 ms long → 50 at a time.
        let ot = &data["requests"]["over_time"]["series"][0];
        let mean = ot["mean"].as_array().unwrap();
        let mid = mean[mean.len() / 2].as_f64().unwrap();
        assert!((mid - 50.0).abs() <= 1.0, "in flight mid-run: {mid}");
    }
}

#[test]
fn report_of_nothing_is_an_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("empty.json");
    std::fs::write(&input, r#"{"traceEvents":[]}"#).unwrap();
    let html = dir.path().join("x.html");
    let (ok, _, stderr) = run(&[
        "report",
        input.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("nothing to report"), "{stderr}");
    assert!(!html.exists());
}
