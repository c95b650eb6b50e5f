//! Prometheus inputs (`--input-format prometheus`): the text exposition format
//! (single and concatenated scrapes, with and without sample timestamps, the
//! TensorRT-LLM timestamp gauge, `--scrape-interval`) and API query JSON.
//! Expected values are written out by hand from the fixtures
//! (`fixtures/prometheus/`); counter values are checked on the wire with the
//! upstream Perfetto schema (`common::decode`).

mod common;

use std::path::PathBuf;

use breakdown_trace::ingest::{self, Format, LoadOptions};
use common::{decode, fixture, run, shared};

fn convert(inputs: &[PathBuf], extra: &[&str]) -> (common::Decoded, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let mut args = vec!["convert".to_owned()];
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["-o".to_owned(), out.display().to_string()]);
    args.extend(extra.iter().map(|s| s.to_string()));
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run(&argv);
    assert!(ok, "convert failed: {stderr}");
    (decode(&out), stderr)
}

fn load(path: &PathBuf, interval: Option<i64>) -> breakdown_trace::model::Trace {
    let opts = LoadOptions {
        scrape_interval_ns: interval,
        ..Default::default()
    };
    ingest::load_with(std::slice::from_ref(path), &opts).unwrap()
}

/// Rows of a query as CSV lines (header first).
fn query_csv(args: &[&str]) -> Vec<String> {
    let mut argv = vec!["query"];
    argv.extend_from_slice(args);
    argv.extend_from_slice(&["--output-format", "csv"]);
    let (ok, out, err) = run(&argv);
    assert!(ok, "query failed: {err}");
    out.lines().map(str::to_owned).collect()
}

const T0: u64 = 1_733_011_200_000_000_000; // 2024-12-01T00:00:00Z

/// Three concatenated Triton scrapes timed by the TensorRT-LLM timestamp
/// gauge in microseconds (newer backends): 0 s, 1.5 s, 3 s. The server
/// restarted before the third scrape, so the counters drop.
#[test]
fn triton_scrapes_timed_by_the_trtllm_gauge() {
    let path = fixture("prometheus/triton-trtllm-scrapes.prom");
    let input = ingest::Input::read(&path).unwrap();
    assert_eq!(ingest::detect(&input).unwrap(), Format::Prometheus);
    let trace = load(&path, None);
    assert_eq!(trace.provenance.inputs[0].records, 21);
    assert_eq!(trace.warnings.get("counter_reset"), 2);
    assert_eq!(trace.warnings.total(), 2);

    let (d, _) = convert(&[path], &[]);
    assert_eq!(
        d.top_level_tracks(),
        vec!["triton-trtllm-scrapes.prom", "breakdown-trace"]
    );
    let (t1, t2) = (T0 + 1_500_000_000, T0 + 3_000_000_000);
    let ok = "nv_inference_request_success{model=\"tensorrt_llm\",version=\"1\"}";
    assert_eq!(
        d.counter_series("nv_inference_request_success", ok),
        (
            Some("count".into()),
            vec![(T0, 10.0), (t1, 16.0), (t2, 4.0)]
        )
    );
    // (16 − 10) / 1.5 s; after the drop the increase counts from 0: 4 / 1.5 s.
    assert_eq!(
        d.counter_series("nv_inference_request_success", &format!("rate({ok})")),
        (Some("/s".into()), vec![(t1, 4.0), (t2, 4.0 / 1.5)])
    );
    let dur = "nv_inference_request_duration_us{model=\"tensorrt_llm\",version=\"1\"}";
    assert_eq!(
        d.counter_series("nv_inference_request_duration_us", dur),
        (
            Some("us".into()),
            vec![(T0, 500_000.0), (t1, 1_100_000.0), (t2, 200_000.0)]
        )
    );
    assert_eq!(
        d.counter_series("nv_inference_request_duration_us", &format!("rate({dur})")),
        (
            Some("us/s".into()),
            vec![(t1, 400_000.0), (t2, 200_000.0 / 1.5)]
        )
    );
    // Gauges: no rate track; the name says no unit (none on the wire).
    let used = "nv_trt_llm_kv_cache_block_metrics{kv_cache_block_type=\"used\",model=\"tensorrt_llm\",version=\"1\"}";
    assert_eq!(
        d.counter_series("nv_trt_llm_kv_cache_block_metrics", used),
        (Some(String::new()), vec![(T0, 3.0), (t1, 7.0), (t2, 2.0)])
    );
    assert!(!d.tracks.iter().any(|t| t.name == format!("rate({used})")));
    let pending = "nv_inference_pending_request_count{model=\"tensorrt_llm\",version=\"1\"}";
    assert!(!d
        .tracks
        .iter()
        .any(|t| t.name == format!("rate({pending})")));
}

/// `metric-summary` on the Triton scrapes, against values worked out by hand
/// from the fixture (no slices: the window is every sample).
#[test]
fn metric_summary_by_hand() {
    let path = fixture("prometheus/triton-trtllm-scrapes.prom");
    let p = path.display().to_string();
    let rows = query_csv(&["metric-summary", &p]);
    assert_eq!(
        rows[0],
        "input,series,type,unit,samples,first_ts,last_ts,min,mean,max,last,increase,rate_per_s,resets,window_start_ns,window_end_ns"
    );
    let find = |series: &str| -> Vec<String> {
        rows.iter()
            .find(|r| r.contains(&format!("{p},\"{}\"", series.replace('"', "\"\""))))
            .unwrap_or_else(|| panic!("no row for {series}: {rows:?}"))
            .split(',')
            .map(str::to_owned)
            .collect()
    };
    let tail = |r: &[String]| r[r.len() - 12..].join(",");
    // 10, 16, 4: increase 6 + 4 (reset) = 10 over 3 s.
    let ok = find("nv_inference_request_success{model=\"tensorrt_llm\",version=\"1\"}");
    assert_eq!(
        tail(&ok),
        format!(
            "3,{T0},{},4.0,10.0,16.0,4.0,10.0,{},1,,",
            T0 + 3_000_000_000,
            10.0 / 3.0
        )
    );
    assert_eq!(ok[ok.len() - 14], "counter");
    assert_eq!(ok[ok.len() - 13], "count");
    // 500000, 1100000, 200000: increase 600000 + 200000 over 3 s.
    let dur = find("nv_inference_request_duration_us{model=\"tensorrt_llm\",version=\"1\"}");
    assert_eq!(
        tail(&dur),
        format!(
            "3,{T0},{},200000.0,600000.0,1100000.0,200000.0,800000.0,{},1,,",
            T0 + 3_000_000_000,
            800_000.0 / 3.0
        )
    );
    // A gauge: 2, 0, 1; no increase, rate or resets.
    let pending = find("nv_inference_pending_request_count{model=\"tensorrt_llm\",version=\"1\"}");
    assert_eq!(
        tail(&pending),
        format!("3,{T0},{},0.0,1.0,2.0,1.0,,,,,", T0 + 3_000_000_000)
    );
    assert_eq!(rows.len(), 1 + 7, "{rows:?}");

    // `stats` has the section; `metric_series` lists every series.
    let (ok_, out, err) = run(&["stats", "--output-format", "table", &p]);
    assert!(ok_, "{err}");
    assert!(out.contains("[metric-summary]"), "{out}");
    let series = query_csv(&[
        "--sql",
        "SELECT name, type, monotonic, rate_track_id IS NOT NULL, samples, resets FROM metric_series ORDER BY id",
        &p,
    ]);
    assert_eq!(series.len(), 1 + 7);
    assert_eq!(
        series[1],
        "\"nv_inference_request_success{model=\"\"tensorrt_llm\"\",version=\"\"1\"\"}\",counter,1,1,3,1"
    );
}

/// vLLM scrapes without timestamps and without the TensorRT-LLM gauge: an
/// error that names the file, the scrape and the option; with
/// `--scrape-interval 2s` scrape k sits at k × 2 s.
#[test]
fn vllm_scrapes_need_the_scrape_interval() {
    let path = fixture("prometheus/vllm-scrapes.prom");
    let p = path.display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("x.pftrace");
    let o = out.display().to_string();
    let (ok, _, err) = run(&["convert", &p, "-o", &o]);
    assert!(!ok);
    assert!(
        err.contains(&format!(
            "{p}: line 1: scrape 0 (lines 1-19, of 2 in the file)"
        )) && err.contains("--scrape-interval"),
        "{err}"
    );
    assert!(!out.exists(), "no output on error");

    let (d, _) = convert(std::slice::from_ref(&path), &["--scrape-interval", "2s"]);
    let m = r#"{engine="0",model_name="C:\\models\\llama \"8B\"\nv2"}"#;
    let two = 2_000_000_000u64;
    assert_eq!(
        d.counter_series(
            "vllm:num_requests_running",
            &format!("vllm:num_requests_running{m}")
        ),
        (Some(String::new()), vec![(0, 3.0), (two, 5.0)])
    );
    assert_eq!(
        d.counter_series(
            "vllm:gpu_cache_usage_perc",
            &format!("vllm:gpu_cache_usage_perc{m}")
        ),
        (Some(String::new()), vec![(0, 0.25), (two, 0.5)])
    );
    // The counter family is declared with its `_total` name (prometheus_client).
    assert_eq!(
        d.counter_series(
            "vllm:prompt_tokens_total",
            &format!("rate(vllm:prompt_tokens_total{m})")
        ),
        (Some("/s".into()), vec![(two, 400.0)])
    );
    // Histogram: buckets (no rate tracks), `_count` and `_sum` with rates.
    let fam = "vllm:e2e_request_latency_seconds";
    let bucket = r#"vllm:e2e_request_latency_seconds_bucket{engine="0",le="+Inf",model_name="C:\\models\\llama \"8B\"\nv2"}"#;
    assert_eq!(
        d.counter_series(fam, bucket),
        (Some("count".into()), vec![(0, 4.0), (two, 8.0)])
    );
    assert!(!d.tracks.iter().any(|t| t.name == format!("rate({bucket})")));
    assert_eq!(
        d.counter_series(fam, &format!("rate({fam}_sum{m})")),
        (Some("s/s".into()), vec![(two, 3.0)])
    );
    assert_eq!(
        d.counter_series(fam, &format!("rate({fam}_count{m})")),
        (Some("/s".into()), vec![(two, 2.0)])
    );
    // The escaped label value comes back unescaped in SQL.
    let rows = query_csv(&[
        "--sql",
        "SELECT DISTINCT json_extract(labels, '$.model_name') FROM metric_series",
        &p,
        "--scrape-interval",
        "2s",
    ]);
    assert_eq!(rows[1..].join("\n"), "\"C:\\models\\llama \"\"8B\"\"\nv2\"");
    // A zero or negative interval is a usage error.
    let (ok, _, err) = run(&["info", &p, "--scrape-interval", "0s"]);
    assert!(!ok && err.contains("must be positive"), "{err}");
}

/// trtllm-serve `/prometheus/metrics` in OpenMetrics form: scrapes end with
/// `# EOF`, sample timestamps are decimal seconds (kept to the ns).
#[test]
fn trtllm_serve_openmetrics_timestamps() {
    let path = fixture("prometheus/trtllm-serve-openmetrics.prom");
    let trace = load(&path, None);
    assert_eq!(trace.warnings.get("non_finite_value"), 1);
    let (d, _) = convert(&[path], &[]);
    let (a, b) = (T0 + 250_000_000, T0 + 2_000_000_001);
    let stop = r#"trtllm_request_success_total{engine_type="pytorch",finished_reason="stop",model_name="llama"}"#;
    assert_eq!(
        d.counter_series("trtllm_request_success", stop),
        (Some("count".into()), vec![(a, 5.0), (b, 9.0)])
    );
    let dt = (b - a) as f64 / 1e9;
    assert_eq!(
        d.counter_series("trtllm_request_success", &format!("rate({stop})"))
            .1,
        vec![(b, 4.0 / dt)]
    );
    // NaN is no sample (never 0).
    let util = r#"trtllm_kv_cache_utilization{engine_type="pytorch",model_name="llama"}"#;
    assert_eq!(
        d.counter_series("trtllm_kv_cache_utilization", util).1,
        vec![(a, 0.125)]
    );
}

/// One file, sample timestamps in ms, series repeated = a second scrape;
/// blanks inside the label set; a trailing comma; `+Inf` is no sample.
#[test]
fn millisecond_timestamps() {
    let path = fixture("prometheus/timestamped.prom");
    let trace = load(&path, None);
    assert_eq!(trace.warnings.get("non_finite_value"), 1);
    let (d, _) = convert(&[path], &[]);
    let t1 = T0 + 750_000_000;
    assert_eq!(
        d.counter_series("queue_depth", "queue_depth{pool=\"a\"}").1,
        vec![(T0, 7.0), (t1, 2.0)]
    );
    // Untyped `_total`: offered as a rate.
    assert_eq!(
        d.counter_series("untyped_total", "rate(untyped_total)").1,
        vec![(t1, 8.0)]
    );
    assert_eq!(
        d.counter_series("temperature_celsius", "temperature_celsius{gpu=\"0\"}")
            .1,
        vec![(t1, 61.5)]
    );
}

/// A `query_range` matrix: decimal-second times to exact ns, values from
/// strings, `NaN` skipped with a warning, a counter reset, a series without
/// `__name__`.
#[test]
fn query_range_matrix() {
    let path = fixture("prometheus/query_range.json");
    let trace = load(&path, None);
    assert_eq!(trace.warnings.get("non_finite_value"), 1);
    assert_eq!(trace.warnings.get("counter_reset"), 1);
    let (d, _) = convert(std::slice::from_ref(&path), &[]);
    let l = r#"{instance="10.0.0.7:8000",job="vllm",model_name="llama"}"#;
    let (t1, t2, t3) = (
        T0 + 15_500_000_000,
        T0 + 31_000_000_000,
        T0 + 46_500_000_000,
    );
    assert_eq!(
        d.counter_series(
            "vllm:num_requests_waiting",
            &format!("vllm:num_requests_waiting{l}")
        )
        .1,
        vec![(T0, 0.0), (t1, 4.0), (t3, 2.5)]
    );
    let g = format!("vllm:generation_tokens_total{l}");
    assert_eq!(
        d.counter_series("vllm:generation_tokens_total", &g),
        (
            Some("count".into()),
            vec![(T0, 100.0), (t1, 400.0), (t2, 40.0), (t3, 70.0)]
        )
    );
    assert_eq!(
        d.counter_series("vllm:generation_tokens_total", &format!("rate({g})"))
            .1,
        vec![(t1, 300.0 / 15.5), (t2, 40.0 / 15.5), (t3, 30.0 / 15.5)]
    );
    let unnamed = r#"{instance="10.0.0.7:8000",job="vllm"}"#;
    assert_eq!(
        d.counter_series("(no metric name)", unnamed).1,
        vec![(T0 + 1_000_000, 0.125)]
    );
    // metric-summary: increase 300 + 40 + 30 = 370 over 46.5 s.
    let p = path.display().to_string();
    let rows = query_csv(&["metric-summary", &p]);
    let row = rows
        .iter()
        .find(|r| r.contains("generation_tokens_total"))
        .unwrap();
    assert!(
        row.ends_with(&format!(
            ",4,{T0},{t3},40.0,152.5,400.0,70.0,370.0,{},1,,",
            370.0 / 46.5
        )),
        "{row}"
    );
}

/// A `query` vector at a sub-µs time; `+Inf` is no sample.
#[test]
fn query_vector() {
    let path = fixture("prometheus/query-vector.json");
    let (d, _) = convert(&[path], &[]);
    let s = r#"nv_inference_queue_duration_us{model="tensorrt_llm",version="1"}"#;
    assert_eq!(
        d.counter_series("nv_inference_queue_duration_us", s),
        (
            Some("us".into()),
            vec![(1_733_011_260_123_456_789, 250_000.0)]
        )
    );
    assert!(!d
        .tracks
        .iter()
        .any(|t| t.name.contains("model=\"ensemble\"")));
}

/// The real Triton / TensorRT-LLM backend README scrapes: the in-flight
/// batcher one carries the timestamp gauge in seconds (1700074049); the
/// other two need `--scrape-interval`.
#[test]
fn real_triton_scrapes() {
    let dir = shared("realdata/triton");
    let ifb = dir.join("inflight_batcher_nv_trt_llm.prom");
    let trace = load(&ifb, None);
    assert_eq!(trace.provenance.inputs[0].format, "prometheus");
    assert_eq!(trace.metric_series.len(), 16);
    assert!(trace
        .counters
        .iter()
        .all(|c| c.ts == 1_700_074_049_000_000_000));
    assert_eq!(trace.warnings.total(), 0);
    for (name, series) in [
        ("base_triton_nv_inference.prom", 10),
        ("v1_model_nv_trt_llm_v1.prom", 3),
    ] {
        let p = dir.join(name);
        let opts = LoadOptions::default();
        let e = ingest::load_with(std::slice::from_ref(&p), &opts).unwrap_err();
        assert!(e.to_string().contains("--scrape-interval"), "{e}");
        let t = load(&p, Some(1_000_000_000));
        assert_eq!(t.metric_series.len(), series, "{name}");
        assert!(t.counters.iter().all(|c| c.ts == 0), "{name}");
    }
    // Triton's cumulative counters get rate tracks (no second sample: empty).
    let t = load(&dir.join("base_triton_nv_inference.prom"), Some(1));
    let rates = t
        .metric_series
        .iter()
        .filter(|m| m.rate_track.is_some())
        .count();
    assert_eq!(
        rates, 9,
        "every nv_inference_* counter but the pending-count gauge"
    );
}

/// Two real scrapes concatenated: the second starts at its repeated
/// `# HELP`; the gauge did not advance, so the second scrape's samples are
/// duplicates (dropped, warned).
#[test]
fn concatenated_real_scrape_with_a_stale_gauge() {
    let real = std::fs::read(shared("realdata/triton/inflight_batcher_nv_trt_llm.prom")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("two.prom");
    std::fs::write(&p, [real.clone(), real].concat()).unwrap();
    let t = load(&p, None);
    assert_eq!(t.warnings.get("stale_scrape_time"), 1);
    assert_eq!(t.warnings.get("duplicate_sample"), 16);
    assert_eq!(t.counters.len(), 16);
}

/// Bad input: errors name the file, the line and the field; exit 1; no output.
#[test]
fn bad_input_errors() {
    let dir = tempfile::tempdir().unwrap();
    let cases: &[(&str, &str)] = &[
        (
            "# TYPE x gauge\nx{a=\"1\" 2\n",
            "line 2: field `labels.a`: expected `,` or `}`",
        ),
        (
            "# TYPE x gauge\nx{a=1} 2\n",
            "line 2: field `labels.a`: expected a quoted label value",
        ),
        (
            "# TYPE x gauge\nx{a=\"\\q\"} 2\n",
            "line 2: field `labels.a`: invalid escape `\\q`",
        ),
        (
            "# TYPE x gauge\nx{a=\"1\"} two\n",
            "line 2: field `value`: `two` is not a number",
        ),
        (
            "# TYPE x gauge\nx 1 soon\n",
            "line 2: field `timestamp`: expected a number, found soon",
        ),
        (
            "# TYPE x gauge\nx{a=\"1\",a=\"2\"} 1\n",
            "line 2: field `labels.a`: the label appears twice",
        ),
        (
            "# TYPE x gaug\nx 1\n",
            "line 1: field `TYPE`: unknown metric type `gaug`",
        ),
        (
            "# HELP x y\nx{a=\"unclosed} 1\n",
            "line 2: field `labels.a`: the label value is not closed",
        ),
        (
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"x"},"values":[[1,"1"],[2,"x"]]}]}}"#,
            "record 0: field `data.result[0].values[1][1]`: `x` is not a number",
        ),
        (
            r#"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[["t","1"]]}]}}"#,
            "record 0: field `data.result[0].values[0][0]`: expected a number",
        ),
        (
            r#"{"status":"error","errorType":"bad_data","error":"parse error","data":{"resultType":"x","result":[]}}"#,
            "field `status`: the Prometheus API answered with an error: bad_data: parse error",
        ),
    ];
    for (i, (text, want)) in cases.iter().enumerate() {
        let p = dir.path().join(format!("bad{i}.prom"));
        std::fs::write(&p, text).unwrap();
        let ps = p.display().to_string();
        let out = dir.path().join(format!("bad{i}.pftrace"));
        let (ok, _, err) = run(&["convert", &ps, "-o", &out.display().to_string()]);
        assert!(!ok, "case {i} accepted");
        assert!(err.contains(&format!("{ps}: {want}")), "case {i}: {err}");
        assert!(!out.exists());
        // Forcing the format gives the same error.
        let opts = LoadOptions {
            format: Some(Format::Prometheus),
            ..Default::default()
        };
        let forced = ingest::load_with(std::slice::from_ref(&p), &opts).unwrap_err();
        assert!(err.contains(&forced.to_string()), "case {i}: {forced}");
    }
    // Plain text that is not an exposition is not detected as one.
    let p = dir.path().join("notes.txt");
    std::fs::write(&p, "# notes\nhello world\n").unwrap();
    let (ok, _, err) = run(&["info", &p.display().to_string()]);
    assert!(!ok && err.contains("not Prometheus metrics text"), "{err}");
}

/// Every command reads a Prometheus input (report is the exception: it needs
/// per-request inputs); `db` writes `metric_series`.
#[test]
fn every_command_reads_it() {
    let p = fixture("prometheus/triton-trtllm-scrapes.prom")
        .display()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("m.sqlite").display().to_string();
    let (ok, out, err) = run(&["info", &p]);
    assert!(ok && out.contains("format=prometheus"), "{err}");
    let (ok, _, err) = run(&["db", &p, "-o", &db]);
    assert!(ok, "{err}");
    let rows = query_csv(&[
        "--sql",
        "SELECT COUNT(*), SUM(samples) FROM metric_series",
        &db,
    ]);
    assert_eq!(rows[1], "7,21");
    let rows = query_csv(&["metric-summary", &db]);
    assert_eq!(rows.len(), 1 + 7);
    let (ok, out, err) = run(&["stats", "--output-format", "json", &p]);
    assert!(ok, "{err}");
    assert!(ok && out.contains("\"metric-summary\""), "{out}");
}

/// Beside a timeline, `metric-summary` counts only the samples within the
/// span of its slices: a Chrome trace from 1 s to 2 s after the first
/// Triton scrape keeps only the scrape at 1.5 s.
#[test]
fn metric_summary_window_is_the_timeline() {
    let dir = tempfile::tempdir().unwrap();
    let chrome = dir.path().join("t.json");
    // Epoch µs (no baseTimeNanoseconds): 1733011201 s .. 1733011202 s.
    std::fs::write(
        &chrome,
        r#"{"traceEvents":[{"ph":"X","name":"step","pid":1,"tid":1,"ts":1733011201000000,"dur":1000000}]}"#,
    )
    .unwrap();
    let p = fixture("prometheus/triton-trtllm-scrapes.prom");
    let rows = query_csv(&[
        "metric-summary",
        &chrome.display().to_string(),
        &p.display().to_string(),
    ]);
    let row = rows
        .iter()
        .find(|r| r.contains("nv_inference_request_success"))
        .unwrap();
    let (lo, hi) = (T0 + 1_000_000_000, T0 + 2_000_000_000);
    let t1 = T0 + 1_500_000_000;
    // One sample (16): no increase between samples, no rate, no reset.
    assert!(
        row.ends_with(&format!(
            ",1,{t1},{t1},16.0,16.0,16.0,16.0,0.0,,0,{lo},{hi}"
        )),
        "{row}"
    );
}
