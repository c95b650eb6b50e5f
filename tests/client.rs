//! Client benchmark records (aiperf, vLLM bench) and TensorRT-LLM iteration
//! stats: statistics against aiperf's own aggregates on the real run, and
//! fixtures converted to .pftrace and decoded with the upstream schema.
//! Fixture expectations are worked out by hand in the comments.

mod common;

use std::path::PathBuf;

use breakdown_trace::client_stats::Options;
use breakdown_trace::ingest;
use breakdown_trace::model::Trace;
use breakdown_trace::model::{ArgValue, ClientStatus};
use breakdown_trace::sql;
use common::{decode, fixture, run, shared, Val};

const MS: u64 = 1_000_000;

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

/// One row of the SQL `client-stats` query (what `stats` prints).
#[derive(Clone)]
struct Stat {
    count: usize,
    mean: f64,
    min: f64,
    max: f64,
    std: f64,
    p: std::collections::BTreeMap<u32, f64>,
}

impl Stat {
    fn percentile(&self, p: f64) -> f64 {
        self.p[&(p as u32)]
    }

    fn median(&self) -> f64 {
        self.percentile(50.0)
    }
}

struct Row {
    name: String,
    unit: String,
    summary: Option<Stat>,
}

/// The client statistics as `stats` computes them: the bundled SQL query.
fn stats_rows(trace: &mut Trace, o: &Options) -> Vec<Row> {
    let db = sql::Database::in_memory(std::mem::take(trace)).unwrap();
    let sections = sql::sections::sections(&db, o.include_warmup).unwrap();
    let rows = &sections
        .iter()
        .find(|s| s.query == "client-stats")
        .unwrap()
        .rows;
    let col = |n: &str| rows.columns.iter().position(|c| c == n).unwrap();
    let f = |r: &Vec<rusqlite::types::Value>, n: &str| match &r[col(n)] {
        rusqlite::types::Value::Real(x) => *x,
        rusqlite::types::Value::Integer(i) => *i as f64,
        other => panic!("{n}: {other:?}"),
    };
    let t = |r: &Vec<rusqlite::types::Value>, n: &str| match &r[col(n)] {
        rusqlite::types::Value::Text(x) => x.clone(),
        other => panic!("{n}: {other:?}"),
    };
    let out = rows
        .rows
        .iter()
        .map(|r| Row {
            name: t(r, "stat"),
            unit: t(r, "unit"),
            summary: Some(Stat {
                count: f(r, "count") as usize,
                mean: f(r, "avg"),
                min: f(r, "min"),
                max: f(r, "max"),
                std: f(r, "std"),
                p: [1, 5, 25, 50, 75, 90, 95, 99]
                    .into_iter()
                    .map(|p| (p, f(r, &format!("p{p}"))))
                    .collect(),
            }),
        })
        .collect();
    drop(sections);
    *trace = db.into_trace().unwrap();
    out
}

fn close(got: f64, want: f64, what: &str) {
    let tol = 1e-6 * want.abs().max(1e-12);
    assert!(
        (got - want).abs() <= tol,
        "{what}: got {got}, aiperf says {want}"
    );
}

/// Our statistics on aiperf's real run equal aiperf's own aggregates.
#[test]
fn real_aiperf_run_matches_aiperf_aggregates() {
    let dir = shared("realdata/aiperf/examples/artifacts/run1");
    let mut trace = ingest::load(&[dir.join("profile_export.jsonl")], None).unwrap();
    assert_eq!(trace.provenance.inputs[0].format, "aiperf");
    let ok = trace
        .client_requests
        .iter()
        .filter(|r| r.status == ClientStatus::Ok)
        .count();
    let cancelled = trace
        .client_requests
        .iter()
        .filter(|r| r.status == ClientStatus::Cancelled)
        .count();
    assert_eq!((trace.client_requests.len(), ok, cancelled), (100, 89, 11));

    let agg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("profile_export_aiperf.json")).unwrap())
            .unwrap();
    let rows = stats_rows(&mut trace, &Options::default());
    let pairs = [
        ("ttft", "time_to_first_token"),
        ("ttst", "time_to_second_token"),
        ("inter_token_latency", "inter_token_latency"),
        ("inter_chunk_latency", "inter_chunk_latency"),
        ("request_latency", "request_latency"),
        (
            "output_token_throughput_per_user",
            "output_token_throughput_per_user",
        ),
        ("output_sequence_length", "output_sequence_length"),
    ];
    for (tag, ours) in pairs {
        let a = &agg["records"][tag];
        let row = rows.iter().find(|r| r.name == ours).unwrap();
        assert_eq!(row.unit, a["unit"].as_str().unwrap(), "{ours} unit");
        let s = row.summary.as_ref().unwrap();
        assert_eq!(s.count as u64, a["count"].as_u64().unwrap(), "{ours} count");
        close(s.mean, a["avg"].as_f64().unwrap(), &format!("{ours} avg"));
        close(s.min, a["min"].as_f64().unwrap(), &format!("{ours} min"));
        close(s.max, a["max"].as_f64().unwrap(), &format!("{ours} max"));
        close(s.std, a["std"].as_f64().unwrap(), &format!("{ours} std"));
        for p in [1, 5, 25, 50, 75, 90, 95, 99] {
            close(
                s.percentile(p as f64),
                a[format!("p{p}")].as_f64().unwrap(),
                &format!("{ours} p{p}"),
            );
        }
    }
}

/// The real run as a trace: 89 request spans with TTFT and chunk children,
/// 11 cancelled requests as instants; the timeline spans the benchmark.
#[test]
fn real_aiperf_run_converts() {
    let input = shared("realdata/aiperf/examples/artifacts/run1/profile_export.jsonl");
    let (d, stderr) = convert(&[input], &[]);
    assert!(stderr.contains("missing_end"), "{stderr}");
    assert_eq!(d.named("request").count(), 89);
    let cancelled: Vec<_> = d.named("request (cancelled)").collect();
    assert_eq!(cancelled.len(), 11);
    assert!(cancelled.iter().all(|s| s.instant));
    assert_eq!(d.named("TTFT").count(), 89);
    // aiperf counts 21537 inter-chunk latencies: one chunk slice each.
    assert_eq!(d.named("chunk").count(), 21537);
    // A known record (FORMATS.md §6): start 1759522419159192408, TTFT
    // 1680.543782 ms, last response 1759522427096160677.
    let r = d
        .named("request")
        .find(|s| s.ts == 1_759_522_419_159_192_408)
        .unwrap();
    assert_eq!(r.dur, 1_759_522_427_096_160_677 - 1_759_522_419_159_192_408);
    let ttft = d
        .named("TTFT")
        .find(|s| s.correlation == r.correlation)
        .unwrap();
    assert_eq!(ttft.dur, 1_680_543_782);
    assert_eq!(
        ttft.parent.map(|p| &d.slices[p].name),
        Some(&"request".to_owned())
    );
    let chunks: Vec<_> = d
        .named("chunk")
        .filter(|s| s.correlation == r.correlation)
        .collect();
    // First gap 134.440792 ms (= ttst); chunks tile first token → end.
    assert_eq!(chunks[0].ts, ttft.ts + ttft.dur);
    assert_eq!(chunks[0].dur, 134_440_792);
    let last = chunks.last().unwrap();
    assert_eq!(last.ts + last.dur, r.ts + r.dur);
}

/// New schema: warmup excluded by default, failed kept and marked, a
/// duplicated metric key resolved last-wins with a warning.
#[test]
fn aiperf_new_schema_fixture() {
    let path = fixture("aiperf/new-schema.jsonl");
    let mut trace = ingest::load(std::slice::from_ref(&path), None).unwrap();
    assert_eq!(trace.warnings.get("duplicate_metric"), 1);
    let c = &trace.client_requests;
    assert_eq!(c.len(), 3);
    assert!(c[0].warmup && c[0].status == ClientStatus::Ok);
    assert_eq!(c[2].status, ClientStatus::Failed);
    assert_eq!(c[2].error.as_ref().unwrap().code, Some(500));
    assert_eq!(
        c[1].meta("conversation_id"),
        Some(&ArgValue::Str("conv-1".into()))
    );
    // req-1: start 1000.1 s; TTFT 12.5 ms (the second of the two keys);
    // chunks after 7.5 and 10 ms → 1000.1125, 1000.12, 1000.13 s.
    assert_eq!(c[1].first_token_ns, Some(1_000_112_500_000));
    assert_eq!(c[1].chunk_ns, vec![1_000_120_000_000, 1_000_130_000_000]);

    let mut stat = |o: &Options, name: &str| {
        let rows = stats_rows(&mut trace, o);
        rows.into_iter()
            .find(|r| r.name == name)
            .unwrap()
            .summary
            .unwrap()
    };
    // Default: only req-1 counts.
    let ttft = stat(&Options::default(), "time_to_first_token");
    assert_eq!((ttft.count, ttft.mean), (1, 12.5));
    // With warmup: TTFT {10, 12.5} → mean 11.25; ITL {20, 8.75} → 14.375.
    let all = Options {
        include_warmup: true,
    };
    assert_eq!(stat(&all, "time_to_first_token").mean, 11.25);
    assert_eq!(stat(&all, "inter_token_latency").mean, 14.375);

    let (d, _) = convert(&[path], &[]);
    assert_eq!(d.top_level_tracks()[0], "client: new-schema.jsonl");
    let w = d.named("warmup request").next().unwrap();
    assert_eq!((w.ts, w.dur), (1_000_000_000_000, 50 * MS));
    let r = d.named("request").next().unwrap();
    assert_eq!((r.ts, r.dur), (1_000_100_000_000, 30 * MS));
    assert_eq!(r.args.get("x_request_id"), Some(&Val::Str("req-1".into())));
    assert_eq!(r.args.get("status"), Some(&Val::Str("ok".into())));
    let kids: Vec<(String, u64, u64)> = d
        .slices
        .iter()
        .filter(|s| s.correlation == r.correlation && s.depth == 1)
        .map(|s| (s.name.clone(), s.ts, s.dur))
        .collect();
    assert_eq!(
        kids,
        vec![
            ("TTFT".to_owned(), 1_000_100_000_000, 12_500_000),
            ("chunk".to_owned(), 1_000_112_500_000, 7_500_000),
            ("chunk".to_owned(), 1_000_120_000_000, 10 * MS),
        ]
    );
    let f = d.named("request (failed)").next().unwrap();
    assert_eq!((f.ts, f.dur), (1_000_200_000_000, 5 * MS));
    assert_eq!(f.args.get("error.code"), Some(&Val::Int(500)));
    assert_eq!(
        f.args.get("error.type"),
        Some(&Val::Str("InternalServerError".into()))
    );
}

/// vLLM detailed results, statistics worked out by hand:
/// ok requests 0 and 1 (request 2 has an error).
/// TTFT {100, 200} ms: avg 150, std 50, p90 = 100 + 0.9·100 = 190.
/// TTST = first ITL {50, 20}: avg 35, std 15, p99 = 20 + 0.99·30 = 49.7.
/// ITL = (latency − TTFT)/(OSL − 1) = {200/3, 60/2 = 30}: avg 145/3.
/// tokens/s/user = 1000/ITL = {15, 100/3}: avg 145/6.
/// latency {300, 260}: avg 280, std 20, p50 280.
/// inter-chunk pooled {50, 50, 100, 20, 40}: avg 52, p90 = 50 + 0.6·50 = 80,
/// std = sqrt((32² + 2² + 2² + 48² + 12²)/5) = sqrt(696).
#[test]
fn vllm_fixture_statistics_and_slices() {
    let path = fixture("vllm/vllm-detailed.json");
    let mut trace = ingest::load(std::slice::from_ref(&path), None).unwrap();
    assert_eq!(trace.provenance.inputs[0].format, "vllm-bench");
    let rows = stats_rows(&mut trace, &Options::default());
    let s = |n: &str| {
        rows.iter()
            .find(|r| r.name == n)
            .unwrap()
            .summary
            .clone()
            .unwrap()
    };
    let near = |a: f64, b: f64| assert!((a - b).abs() < 1e-9, "{a} vs {b}");
    let ttft = s("time_to_first_token");
    assert_eq!(ttft.count, 2);
    near(ttft.mean, 150.0);
    near(ttft.std, 50.0);
    near(ttft.percentile(90.0), 190.0);
    let ttst = s("time_to_second_token");
    near(ttst.mean, 35.0);
    near(ttst.std, 15.0);
    near(ttst.percentile(99.0), 49.7);
    let itl = s("inter_token_latency");
    near(itl.mean, 145.0 / 3.0);
    near(itl.min, 30.0);
    near(itl.max, 200.0 / 3.0);
    let tpu = s("output_token_throughput_per_user");
    near(tpu.mean, 145.0 / 6.0);
    near(tpu.min, 15.0);
    let lat = s("request_latency");
    near(lat.mean, 280.0);
    near(lat.std, 20.0);
    near(lat.median(), 280.0);
    let icl = s("inter_chunk_latency");
    assert_eq!(icl.count, 5);
    near(icl.mean, 52.0);
    near(icl.percentile(90.0), 80.0);
    near(icl.std, 696f64.sqrt());

    // Slices: start_times are perf_counter seconds (100.0 s = 1e11 ns).
    let (d, _) = convert(&[path], &[]);
    let r0 = d
        .named("request")
        .find(|s| s.ts == 100_000_000_000)
        .unwrap();
    assert_eq!(r0.dur, 300 * MS);
    let kids: Vec<(String, u64, u64)> = d
        .slices
        .iter()
        .filter(|s| s.correlation == r0.correlation && s.depth == 1)
        .map(|s| (s.name.clone(), s.ts - 100_000_000_000, s.dur))
        .collect();
    assert_eq!(
        kids,
        vec![
            ("TTFT".to_owned(), 0, 100 * MS),
            ("chunk".to_owned(), 100 * MS, 50 * MS),
            ("chunk".to_owned(), 150 * MS, 50 * MS),
            ("chunk".to_owned(), 200 * MS, 100 * MS),
        ]
    );
    let failed = d.named("request (failed)").next().unwrap();
    assert_eq!((failed.ts, failed.dur), (100_500_000_000, 0));
    assert_eq!(
        failed.args.get("error"),
        Some(&Val::Str("Bad Request: prompt too long".into()))
    );
}

/// Old keys, null sub-objects, a gap in `iter` (10, 11, 13).
/// Timestamps read as UTC: 03-04-2024 05:06:07 = 1709528767 s.
#[test]
fn iteration_stats_old_keys() {
    let path = fixture("iter_stats/old-keys.json");
    let trace = ingest::load(std::slice::from_ref(&path), None).unwrap();
    assert_eq!(trace.provenance.inputs[0].format, "trtllm-iteration-stats");
    let iters: Vec<Option<i64>> = trace.iterations.iter().map(|i| i.iter).collect();
    assert_eq!(iters, vec![Some(10), Some(11), Some(13)]);
    // staticBatchingStats ×3, specDecodingStats ×3, kvCacheStats ×1.
    assert_eq!(trace.warnings.get("null_stats_object"), 7);
    assert_eq!(trace.warnings.get("missing_value"), 0);
    let it = &trace.iterations[0];
    assert_eq!(it.number("kvCacheStats.tokensPerBlock"), Some(32.0));
    assert_eq!(it.number("maxNumActiveRequests"), Some(64.0));
    assert_eq!(
        it.get("timestamp"),
        Some(&ArgValue::Str("03-04-2024 05:06:07.000000".into()))
    );
    assert!(trace.iterations[2]
        .null_fields
        .contains(&"kvCacheStats".to_owned()));

    let (d, _) = convert(&[path], &[]);
    let t0: u64 = 1_709_528_767_000_000_000;
    let (t1, t2) = (t0 + 7_500_000, t0 + 20_000_000);
    let g = "iteration stats";
    assert_eq!(d.top_level_tracks(), vec![g, "breakdown-trace"]);
    assert_eq!(
        d.counter_series(g, "KV cache blocks used"),
        (Some("count".into()), vec![(t0, 10.0), (t1, 12.0)])
    );
    assert_eq!(
        d.counter_series(g, "KV cache blocks free"),
        (Some("count".into()), vec![(t0, 90.0), (t1, 88.0)])
    );
    assert_eq!(
        d.counter_series(g, "KV cache hit rate"),
        (Some("ratio".into()), vec![(t0, 0.0), (t1, 0.25)])
    );
    assert_eq!(
        d.counter_series(g, "iteration latency"),
        (
            Some("ns".into()),
            vec![(t0, 7_500_000.0), (t1, 6_250_000.0), (t2, 6_000_000.0)]
        )
    );
    assert_eq!(
        d.counter_series(g, "GPU memory"),
        (
            Some("bytes".into()),
            vec![(t0, 1000.0), (t1, 1000.0), (t2, 1024.0)]
        )
    );
    assert_eq!(
        d.counter_series(g, "scheduled context tokens").1,
        vec![(t0, 300.0), (t1, 0.0), (t2, 0.0)]
    );
    assert_eq!(
        d.counter_series(g, "scheduled generation requests").1,
        vec![(t0, 0.0), (t1, 2.0), (t2, 1.0)]
    );
    assert_eq!(
        d.counter_series(g, "queued requests").1,
        vec![(t0, 1.0), (t1, 0.0), (t2, 0.0)]
    );
    // No speculative decoding in this dump: no such track.
    assert!(!d.tracks.iter().any(|t| t.name.starts_with("spec decoding")));
}

/// Newer keys (flat ForwardPassMetrics, attentionDpRank, requestStats,
/// hostStepTimeMS), two concatenated dumps, iter 100, 101, 105.
/// 11-23-2026 10:00:00 UTC = 1795428000 s.
#[test]
fn iteration_stats_new_keys_concatenated() {
    let path = fixture("iter_stats/new-keys-concatenated.json");
    let trace = ingest::load(std::slice::from_ref(&path), None).unwrap();
    let iters: Vec<Option<i64>> = trace.iterations.iter().map(|i| i.iter).collect();
    assert_eq!(iters, vec![Some(100), Some(101), Some(105)]);
    assert_eq!(trace.iterations[0].request_stats.len(), 1);
    assert_eq!(
        trace.iterations[0].request_stats[0]
            .iter()
            .find(|(k, _)| k == "stage")
            .map(|(_, v)| v.clone()),
        Some(ArgValue::Str("CONTEXT_IN_PROGRESS".into()))
    );
    assert_eq!(
        trace.iterations[2].get("schedulerMode"),
        Some(&ArgValue::Str("overlap".into()))
    );
    // iter 101 lacks numQueuedRequests.
    assert_eq!(trace.warnings.get("missing_value"), 1);
    let w = trace
        .warnings
        .list
        .iter()
        .find(|w| w.kind == "missing_value")
        .unwrap();
    assert_eq!(w.field, "numQueuedRequests");

    let (d, _) = convert(&[path], &[]);
    let t0: u64 = 1_795_428_000_000_000_000;
    let (t1, t2) = (t0 + 12_000_000, t0 + 1_500_000_000);
    let g = "iteration stats";
    assert_eq!(
        d.counter_series(g, "spec decoding acceptance length"),
        (Some("tokens/step".into()), vec![(t0, 4.0), (t1, 2.0)])
    );
    assert_eq!(
        d.counter_series(g, "spec decoding accepted tokens").1,
        vec![(t0, 6.0), (t1, 3.0)]
    );
    // inflightBatchingStats is null: falls back to scheduledSumPrefillTokens.
    assert_eq!(
        d.counter_series(g, "scheduled context tokens").1,
        vec![(t0, 512.0), (t1, 0.0), (t2, 0.0)]
    );
    assert_eq!(
        d.counter_series(g, "scheduled generation requests").1,
        vec![(t0, 2.0), (t1, 3.0), (t2, 2.0)]
    );
    assert_eq!(
        d.counter_series(g, "queued requests").1,
        vec![(t0, 2.0), (t2, 0.0)]
    );
    assert_eq!(
        d.counter_series(g, "host step time"),
        (
            Some("ns".into()),
            vec![(t0, 11_500_000.0), (t1, 7_750_000.0), (t2, 8_000_000.0)]
        )
    );
    assert_eq!(
        d.counter_series(g, "pinned memory"),
        (
            Some("bytes".into()),
            vec![(t0, 64.0), (t1, 64.0), (t2, 64.0)]
        )
    );
}

/// Inputs of different kinds in one trace, each on its own clock, aligned.
#[test]
fn mixed_inputs_and_alignment() {
    let vllm = fixture("vllm/vllm-detailed.json");
    let aiperf = fixture("aiperf/new-schema.jsonl");
    let iters = fixture("iter_stats/old-keys.json");
    let inputs = [vllm.clone(), aiperf.clone(), iters.clone()];

    // Unaligned: every source keeps its clock.
    let (d, _) = convert(&inputs, &[]);
    assert_eq!(
        d.top_level_tracks(),
        vec![
            // Tracks come in format order (iteration stats, aiperf, vLLM).
            "iteration stats",
            "client: new-schema.jsonl",
            "client: vllm-detailed.json",
            "breakdown-trace"
        ]
    );
    assert!(d.named("request").any(|s| s.ts == 100_000_000_000));
    assert!(d.named("request").any(|s| s.ts == 1_000_100_000_000));

    // --align-start puts vLLM (first event 100 s) and iteration stats at 0;
    // --align 1=2ms puts aiperf's first event (the warmup request) at 2 ms.
    let (d, _) = convert(&inputs, &["--align-start", "--align", "1=2ms"]);
    assert!(d.named("request").any(|s| s.ts == 0));
    assert_eq!(d.named("warmup request").next().unwrap().ts, 2 * MS);
    assert!(d.named("request").any(|s| s.ts == 100 * MS + 2 * MS));
    let (_, lat) = d.counter_series("iteration stats", "iteration latency");
    assert_eq!(lat[0].0, 0);
    assert_eq!(lat[2].0, 20 * MS);

    // --shift by path and by index, with units.
    let (d, _) = convert(
        &inputs,
        &[
            "--shift",
            &format!("{}=-99.5s", vllm.display()),
            "--shift",
            "2=+1us",
        ],
    );
    assert!(d.named("request").any(|s| s.ts == 500 * MS));
    let (_, lat) = d.counter_series("iteration stats", "iteration latency");
    assert_eq!(lat[0].0, 1_709_528_767_000_001_000);

    // Bad alignment options are usage errors (exit 2), not panics.
    let out = tempfile::tempdir().unwrap();
    let o = out.path().join("x.pftrace");
    for bad in [
        vec!["--shift", "7=1"],
        vec!["--shift", "0=abc"],
        vec!["--align", "nope.json=0"],
        vec!["--shift", "0=1", "--align", "0=0"],
    ] {
        let mut args = vec!["convert".to_owned()];
        args.extend(inputs.iter().map(|p| p.display().to_string()));
        args.extend(["-o".into(), o.display().to_string()]);
        args.extend(bad.iter().map(|s| s.to_string()));
        let status = assert_cmd::Command::cargo_bin("breakdown-trace")
            .unwrap()
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(status.status.code(), Some(2), "{bad:?}");
        assert!(!o.exists());
    }
}

/// `stats` prints the SQL layer's `client-stats` rows (the same numbers as
/// the library's definitions), in every format.
#[test]
fn stats_command_formats() {
    let path = fixture("vllm/vllm-detailed.json");
    let p = path.display().to_string();
    let (ok, out, err) = run(&["stats", &p, "--output-format", "json"]);
    assert!(ok, "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let ttft = j["client-stats"]
        .as_array()
        .unwrap()
        .iter()
        .find(|r| r["stat"] == "time_to_first_token")
        .unwrap();
    assert_eq!(ttft["count"], 2);
    assert_eq!(ttft["avg"].as_f64(), Some(150.0));
    assert_eq!(ttft["p90"].as_f64(), Some(190.0));
    assert_eq!(ttft["unit"], "ms");
    // One section's CSV is its query's table, one header.
    let (ok, out, _) = run(&[
        "stats",
        &p,
        "--output-format",
        "csv",
        "--section",
        "client-stats",
    ]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(
        lines[0],
        "source,stat,unit,count,avg,min,max,p1,p5,p25,p50,p75,p90,p95,p99,std"
    );
    assert!(
        lines[6].contains(",request_latency,ms,2,280.0,260.0,300.0,"),
        "{}",
        lines[6]
    );
    assert!(!out.contains('\r'), "LF line ends");
    // All sections: one tidy table, one header, a line per cell.
    let (ok, out, _) = run(&["stats", &p, "--output-format", "csv"]);
    assert!(ok);
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines[0], "section,row,column,value");
    assert_eq!(
        lines.iter().filter(|l| l.starts_with("section,")).count(),
        1
    );
    assert!(
        lines.contains(&"client-stats,5,avg,280.0"),
        "request_latency avg: {out}"
    );
    let (ok, out, _) = run(&["stats", &p]);
    assert!(ok);
    assert!(out.contains("output_token_throughput_per_user"));
    // Iteration statistics alone get their own section (tests/report.rs
    // checks its numbers by hand).
    let iters = fixture("iter_stats/old-keys.json").display().to_string();
    let (ok, out, err) = run(&["stats", "--output-format", "table", &iters]);
    assert!(ok, "{err}");
    assert!(out.contains("[iteration-stats]"), "{out}");
}

fn write_tmp(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

/// Bad values are errors naming file, record and field.
#[test]
fn bad_input_names_file_record_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let a = write_tmp(
        &dir,
        "bad.jsonl",
        "{\"metadata\":{\"x_request_id\":\"a\",\"request_start_ns\":1},\"metrics\":null,\"error\":null}\n\
         {\"metadata\":{\"x_request_id\":\"b\",\"request_start_ns\":2},\"metrics\":{\"time_to_first_token\":{\"value\":\"fast\",\"unit\":\"ms\"}},\"error\":null}\n",
    );
    let (ok, _, err) = run(&["stats", &a]);
    assert!(!ok);
    assert!(
        err.contains("bad.jsonl: line 2: field `metrics.time_to_first_token.value`"),
        "{err}"
    );
    let i = write_tmp(
        &dir,
        "iters.json",
        r#"[{"iter": 1, "timestamp": "01-01-2025 00:00:00.000000", "iterLatencyMS": 1.0},
            {"iter": 2, "timestamp": "01-01-2025 00:00:01.000000", "iterLatencyMS": "slow"}]"#,
    );
    let o = dir.path().join("o.pftrace").display().to_string();
    let (ok, _, err) = run(&["convert", &i, "-o", &o]);
    assert!(!ok);
    assert!(
        err.contains("iters.json: record 1: field `iterLatencyMS`"),
        "{err}"
    );
    let v = write_tmp(
        &dir,
        "v.json",
        r#"{"ttfts": [0.1, 0.2], "latencies": [0.3], "start_times": [1.0, 2.0]}"#,
    );
    let (ok, _, err) = run(&["stats", &v]);
    assert!(!ok);
    assert!(
        err.contains("v.json: field `latencies`: has 1 entries"),
        "{err}"
    );
    let u = write_tmp(
        &dir,
        "iters2.json",
        r#"[{"iter": 1, "timestamp": "01:23:56", "iterLatencyMS": 1.0, "numActiveRequests": 1}]"#,
    );
    let (ok, _, err) = run(&["convert", &u, "-o", &o]);
    assert!(ok, "{err}");
    assert!(err.contains("unreadable_timestamp"), "{err}");
    let k = write_tmp(&dir, "iters3.json", r#"[{"iter": 1, "kvCacheStats": 5}]"#);
    let (ok, _, err) = run(&["convert", &k, "-o", &o]);
    assert!(!ok);
    assert!(
        err.contains("iters3.json: record 0: field `kvCacheStats`: expected an object or null"),
        "{err}"
    );
    let t = write_tmp(
        &dir,
        "big.jsonl",
        "{\"metadata\":{\"request_start_ns\":1},\"metrics\":{\"time_to_first_token\":{\"value\":1e300,\"unit\":\"ms\"}},\"error\":null}\n",
    );
    let (ok, _, err) = run(&["convert", &t, "-o", &o]);
    assert!(!ok);
    assert!(
        err.contains(
            "big.jsonl: line 1: field `metrics.time_to_first_token.value`: 1e300 is out of range"
        ),
        "{err}"
    );
}

fn query_json(sql_or_name: &[&str], inputs: &[PathBuf]) -> Vec<serde_json::Value> {
    let mut args: Vec<String> = vec!["query".into()];
    args.extend(sql_or_name.iter().map(|s| s.to_string()));
    args.extend(inputs.iter().map(|p| p.display().to_string()));
    args.extend(["--output-format".into(), "json".into()]);
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, out, err) = run(&argv);
    assert!(ok, "query failed: {err}");
    serde_json::from_str::<serde_json::Value>(&out)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

/// The bundled `client-stats` query gives aiperf's aggregates too.
#[test]
fn sql_client_stats_match_aiperf_aggregates() {
    let dir = shared("realdata/aiperf/examples/artifacts/run1");
    let rows = query_json(&["client-stats"], &[dir.join("profile_export.jsonl")]);
    let agg: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("profile_export_aiperf.json")).unwrap())
            .unwrap();
    for (tag, ours) in [
        ("ttft", "time_to_first_token"),
        ("ttst", "time_to_second_token"),
        ("inter_token_latency", "inter_token_latency"),
        ("inter_chunk_latency", "inter_chunk_latency"),
        ("request_latency", "request_latency"),
        (
            "output_token_throughput_per_user",
            "output_token_throughput_per_user",
        ),
    ] {
        let a = &agg["records"][tag];
        let r = rows.iter().find(|r| r["stat"] == ours).unwrap();
        assert_eq!(r["count"], a["count"], "{ours}");
        for k in [
            "avg", "min", "max", "p1", "p5", "p25", "p50", "p75", "p90", "p95", "p99", "std",
        ] {
            close(
                r[k].as_f64().unwrap(),
                a[k].as_f64().unwrap(),
                &format!("SQL {ours} {k}"),
            );
        }
    }
}

/// `iteration`: one row per iteration, every field a column; `client_*`
/// tables keep every record, marked.
#[test]
fn sql_iteration_and_client_tables() {
    let rows = query_json(
        &[
            "--sql",
            "SELECT iter, ts, iterLatencyMS, kvCacheStats_usedNumBlocks, kvCacheStats_tokensPerBlock, \
             inflightBatchingStats_numCtxTokens, maxNumActiveRequests, null_fields FROM iteration ORDER BY id",
        ],
        &[fixture("iter_stats/old-keys.json")],
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["iter"], 10);
    assert_eq!(rows[0]["ts"].as_i64(), Some(1_709_528_767_000_000_000));
    assert_eq!(rows[1]["iterLatencyMS"].as_f64(), Some(6.25));
    assert_eq!(rows[1]["kvCacheStats_usedNumBlocks"], 12);
    assert_eq!(rows[0]["kvCacheStats_tokensPerBlock"], 32);
    assert_eq!(rows[0]["inflightBatchingStats_numCtxTokens"], 300);
    assert_eq!(rows[2]["maxNumActiveRequests"], 64);
    // iter 13 has kvCacheStats null: the column is NULL, not 0.
    assert_eq!(
        rows[2]["kvCacheStats_usedNumBlocks"],
        serde_json::Value::Null
    );
    assert_eq!(
        rows[2]["null_fields"],
        "kvCacheStats,staticBatchingStats,specDecodingStats"
    );

    let rows = query_json(
        &[
            "--sql",
            "SELECT attentionDpRank, hostStepTimeMS, schedulerMode, specDecodingStats_acceptanceLength, \
             json_extract(request_stats, '$[0].id') AS first_req FROM iteration ORDER BY id",
        ],
        &[fixture("iter_stats/new-keys-concatenated.json")],
    );
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[0]["attentionDpRank"], 0);
    assert_eq!(rows[1]["hostStepTimeMS"].as_f64(), Some(7.75));
    assert_eq!(rows[2]["schedulerMode"], "overlap");
    assert_eq!(
        rows[0]["specDecodingStats_acceptanceLength"].as_f64(),
        Some(4.0)
    );
    assert_eq!(rows[0]["first_req"], 7);
    assert_eq!(rows[1]["first_req"], serde_json::Value::Null);

    let rows = query_json(
        &[
            "--sql",
            "SELECT request_id, status, warmup, in_stats, start_ts, dur, ttft_ms, itl_ms, chunk_count, error_code, \
             (SELECT COUNT(*) FROM client_metric m WHERE m.client_request_id = r.id) AS metrics, \
             (SELECT string_value FROM client_metadata d WHERE d.client_request_id = r.id AND d.key = 'conversation_id') AS conv, \
             (SELECT name FROM slice s WHERE s.id = r.slice_id) AS slice_name \
             FROM client_request r ORDER BY id",
        ],
        &[fixture("aiperf/new-schema.jsonl")],
    );
    let get = |i: usize, k: &str| rows[i][k].clone();
    assert_eq!(get(0, "warmup"), 1);
    assert_eq!(get(0, "in_stats"), 0);
    assert_eq!(get(0, "slice_name"), "warmup request");
    assert_eq!(get(1, "in_stats"), 1);
    assert_eq!(get(1, "ttft_ms").as_f64(), Some(12.5));
    assert_eq!(get(1, "itl_ms").as_f64(), Some(8.75));
    assert_eq!(get(1, "start_ts").as_i64(), Some(1_000_100_000_000));
    assert_eq!(get(1, "dur").as_i64(), Some(30_000_000));
    // First chunk + 2 later chunks.
    assert_eq!(get(1, "chunk_count"), 3);
    // 8 metrics, the inter-chunk list as 2 rows; the duplicate key once.
    assert_eq!(get(1, "metrics"), 9);
    assert_eq!(get(1, "conv"), "conv-1");
    assert_eq!(get(2, "status"), "failed");
    assert_eq!(get(2, "in_stats"), 0);
    assert_eq!(get(2, "error_code"), 500);
    assert_eq!(get(2, "slice_name"), "request (failed)");

    // Different kinds in one database, with alignment applied.
    let rows = query_json(
        &[
            "--sql",
            "SELECT (SELECT MIN(start_ts) FROM client_request) AS first_client, \
             (SELECT MIN(ts) FROM iteration) AS first_iter, (SELECT COUNT(*) FROM client_request) AS n",
            "--align-start",
        ],
        &[
            fixture("vllm/vllm-detailed.json"),
            fixture("iter_stats/old-keys.json"),
        ],
    );
    assert_eq!(rows[0]["first_client"], 0);
    assert_eq!(rows[0]["first_iter"], 0);
    assert_eq!(rows[0]["n"], 3);
}
