//! The HTML report in headless Chromium (Debian's `chromium`, driven by
//! playwright-core from tests/report/; `.ci/run` installs both): it loads
//! with no console errors and no network requests, draws one bar per
//! request, and its statistics panel shows the fixture's hand-computed values.
//! Screenshots are kept under the test's target tmp dir as artefacts.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::{fixture, run};

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

fn check(html: &Path, png: &Path) -> serde_json::Value {
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
    serde_json::from_slice(&out.stdout).expect("check.mjs prints JSON")
}

fn artefacts() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report");
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn report_of_the_aggregated_fixture_loads_cleanly_with_expected_numbers() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("breakdown.html");
    let input = fixture("trtllm/aggregated-perf_metrics.json");
    let (ok, _, stderr) = run(&[
        "report",
        input.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let page = std::fs::read_to_string(&html).unwrap();
    assert!(
        !page.contains("http://") && !page.contains("https://"),
        "self-contained, no URLs"
    );

    let png = artefacts().join("aggregated.png");
    let r = check(&html, &png);
    assert_eq!(r["errors"], serde_json::json!([]), "console errors");
    assert_eq!(r["requests"], serde_json::json!([]), "network requests");
    assert_eq!(r["bars"], 4, "one bar per request (7, 8, 9, 10)");
    assert_eq!(r["columns"], 4);
    assert_eq!(r["definitions"], 5, "ctx_* segments and decode");
    // Hovering the first bar (sorted by arrival: request 7) lists its segments:
    // 100.000 → 100.001 → 100.003 → 100.020 → 100.021, last token 100.500.
    let tip = r["tooltip"].as_str().unwrap();
    assert!(tip.starts_with("request 7 (aggregated)"), "{tip}");
    assert!(tip.contains("ctx_processing\t17 ms"), "{tip}");
    assert!(tip.contains("TTFT\t21 ms"), "{tip}");
    assert!(tip.contains("end-to-end\t500 ms"), "{tip}");

    // Statistics panel = segment-stats rows. By hand: ctx_queue present for
    // 7 (2 ms), 8 (19.5), 10 (1); 9 has first_scheduled 0.0 → absent (zero).
    // Sorted [1, 2, 19.5]: p50 2, p90 1.8 → 2 + 0.8·17.5 = 16, p99 19.15.
    let stats = r["stats"].as_array().unwrap();
    let header: Vec<&str> = stats[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    let col = |n: &str| header.iter().position(|h| *h == n).unwrap();
    let row = |seg: &str| {
        stats[1..]
            .iter()
            .map(|r| r.as_array().unwrap())
            .find(|r| r[0] == seg)
            .unwrap_or_else(|| panic!("row {seg}"))
            .clone()
    };
    let q = row("ctx_queue");
    assert_eq!(q[col("count")], "3");
    assert_eq!(q[col("absent")], "1");
    assert_eq!(q[col("absent_zero")], "1");
    assert_eq!(q[col("p50_ms")], "2");
    assert_eq!(q[col("p90_ms")], "16");
    assert_eq!(q[col("p99_ms")], "19.15");
    // decode: 480, 240, 160 ms; 10 has no last_token_time (missing).
    let d = row("decode");
    assert_eq!(d[col("p50_ms")], "240");
    assert_eq!(d[col("absent_missing")], "1");
    // Total to first token of complete requests: 21, 51.2, 51 → median 51.
    assert_eq!(row("total to first token")[col("p50_ms")], "51");
    assert!(png.exists());
}

#[test]
fn report_mixes_roles_and_aggregates_100k_requests() {
    // Disaggregated + aggregated fixtures: 9 requests, every segment listed.
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("mixed.html");
    let mut args = vec!["report".to_owned()];
    for f in [
        "trtllm/disagg-perf_metrics.json",
        "trtllm/aggregated-perf_metrics.json",
        "trtllm/perf_metrics-disagg-hostA-4242-20261123T101500Z.jsonl",
    ] {
        args.push(fixture(f).display().to_string());
    }
    args.extend(["-o".into(), html.display().to_string()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run(&argv);
    assert!(ok, "{stderr}");
    let r = check(&html, &artefacts().join("mixed.png"));
    assert_eq!(r["errors"], serde_json::json!([]));
    assert_eq!(r["bars"], 9);
    assert_eq!(r["definitions"], 13);
    // decode starts hidden; the check ticks it afterwards.
    let legend = r["legend"].as_array().unwrap();
    assert!(legend.iter().any(|e| e[0] == "decode" && e[1] == false));

    // 100k generated aggregated requests: more requests than pixels, so the
    // page aggregates columns (and says so) instead of drawing 100k bars.
    let big = dir.path().join("big.json");
    let mut s = String::from("[");
    for i in 0..100_000u64 {
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
    let big_html = dir.path().join("big.html");
    let (ok, _, stderr) = run(&[
        "report",
        big.to_str().unwrap(),
        "-o",
        big_html.to_str().unwrap(),
    ]);
    assert!(ok, "{stderr}");
    let r = check(&big_html, &artefacts().join("100k.png"));
    assert_eq!(r["errors"], serde_json::json!([]));
    assert_eq!(r["bars"], 100_000);
    let cols = r["columns"].as_u64().unwrap();
    assert!(
        cols > 0 && cols < 2000,
        "aggregated into pixel columns: {cols}"
    );
}

#[test]
fn report_needs_requests() {
    let dir = tempfile::tempdir().unwrap();
    let html = dir.path().join("x.html");
    let input = fixture("chrome/kineto_small.json");
    let (ok, _, stderr) = run(&[
        "report",
        input.to_str().unwrap(),
        "-o",
        html.to_str().unwrap(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("per-request inputs"), "{stderr}");
    assert!(!html.exists());
}
