//! TensorRT-LLM perf metrics → .pftrace, checked by decoding the output with
//! the upstream Perfetto schema. Expected durations are computed by hand from
//! the fixture values (noted beside each), not by the code under test.

mod common;

use std::collections::BTreeSet;

use common::{decode, fixture, run, DSlice, Decoded, Val};

fn convert_paths(inputs: &[String]) -> (Decoded, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let mut args = vec!["convert".to_owned()];
    args.extend(inputs.iter().cloned());
    args.push("-o".into());
    args.push(out.display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run(&argv);
    assert!(ok, "convert failed: {stderr}");
    (decode(&out), stderr)
}

fn convert(inputs: &[&str]) -> (Decoded, String) {
    let paths: Vec<String> = inputs
        .iter()
        .map(|i| fixture(i).display().to_string())
        .collect();
    convert_paths(&paths)
}

const US: u64 = 1_000;
const MS: u64 = 1_000_000;

/// The parent slice `request <label>` on the role whose top-level track is `role`.
fn parent<'a>(d: &'a Decoded, label: &str, role: &str) -> &'a DSlice {
    let name = format!("request {label}");
    let found: Vec<&DSlice> = d
        .named(&name)
        .filter(|s| d.track_path(s.track)[0] == role)
        .collect();
    assert_eq!(found.len(), 1, "one `{name}` on `{role}`");
    found[0]
}

/// Duration of segment `seg` of the request whose parent is `p` (same
/// correlation id, same role), or None when absent.
fn seg(d: &Decoded, p: &DSlice, seg: &str) -> Option<u64> {
    let role = &d.track_path(p.track)[0];
    let found: Vec<&DSlice> = d
        .named(seg)
        .filter(|s| s.correlation == p.correlation && &d.track_path(s.track)[0] == role)
        .collect();
    assert!(found.len() <= 1, "segment {seg} at most once");
    found.first().map(|s| s.dur)
}

fn children(d: &Decoded, p: &DSlice) -> Vec<String> {
    let idx = d.slices.iter().position(|s| std::ptr::eq(s, p)).unwrap();
    d.slices
        .iter()
        .filter(|s| s.parent == Some(idx))
        .map(|s| s.name.clone())
        .collect()
}

#[test]
fn aggregated_segments_lanes_and_annotations() {
    let (d, stderr) = convert(&["trtllm/aggregated-perf_metrics.json"]);
    assert_eq!(d.top_level_tracks(), vec!["server", "breakdown-trace"]);

    // Request 7: 100.000 → 100.001 → 100.003 → 100.020 → 100.021; last token 100.500.
    let r7 = parent(&d, "7", "server");
    assert_eq!(r7.dur, 500 * MS);
    assert_eq!(seg(&d, r7, "ctx_preprocessing"), Some(MS));
    assert_eq!(seg(&d, r7, "ctx_queue"), Some(2 * MS));
    assert_eq!(seg(&d, r7, "ctx_processing"), Some(17 * MS));
    assert_eq!(seg(&d, r7, "ctx_postprocessing"), Some(MS));
    assert_eq!(seg(&d, r7, "decode"), Some(480 * MS));
    assert_eq!(
        children(&d, r7),
        vec![
            "ctx_preprocessing",
            "ctx_queue",
            "ctx_processing",
            "ctx_postprocessing"
        ]
    );

    // Request 8: 100.010 → 100.0105 → 100.030 → 100.060 → 100.0612; last 100.300.
    let r8 = parent(&d, "8", "server");
    assert_eq!(r8.dur, 290 * MS);
    assert_eq!(seg(&d, r8, "ctx_preprocessing"), Some(500 * US));
    assert_eq!(seg(&d, r8, "ctx_queue"), Some(19_500 * US));
    assert_eq!(seg(&d, r8, "ctx_processing"), Some(30 * MS));
    assert_eq!(seg(&d, r8, "ctx_postprocessing"), Some(1_200 * US));
    assert_eq!(seg(&d, r8, "decode"), Some(240 * MS));
    assert_eq!(r8.args.get("request_id"), Some(&Val::Str("8".into())));
    assert_eq!(r8.args.get("first_iter"), Some(&Val::Int(43)));
    assert_eq!(
        r8.args.get("kv_cache_metrics.num_reused_blocks"),
        Some(&Val::Int(2))
    );
    assert_eq!(
        r8.args.get("speculative_decoding.acceptance_rate"),
        Some(&Val::Real(0.71))
    );
    assert!(
        matches!(r8.args.get("source"), Some(Val::Str(s)) if s.ends_with("aggregated-perf_metrics.json: record 1"))
    );

    // time_breakdown_metrics of request 8: one prefill chunk 100.030 → 100.059
    // inside ctx_processing; decode steps 44 (100.061 → 100.071: forward 9 ms,
    // sample 1 ms) and 45 inside decode.
    let chunk: Vec<&DSlice> = d.named("prefill chunk 0").collect();
    assert_eq!(chunk.len(), 1);
    assert_eq!(chunk[0].dur, 29 * MS);
    assert_eq!(d.slices[chunk[0].parent.unwrap()].name, "ctx_processing");
    assert_eq!(
        d.slices[chunk[0].parent.unwrap()]
            .args
            .get("ctx_gpu_forward_ms"),
        Some(&Val::Real(24.5))
    );
    let step: Vec<&DSlice> = d.named("decode step 44").collect();
    assert_eq!(step.len(), 1);
    assert_eq!(step[0].dur, 10 * MS);
    assert_eq!(d.slices[step[0].parent.unwrap()].name, "decode");
    assert_eq!(step[0].args.get("gpu_forward_ms"), Some(&Val::Real(8.0)));
    assert_eq!(step[0].correlation, r8.correlation);
    let i44 = d
        .slices
        .iter()
        .position(|s| std::ptr::eq(s, step[0]))
        .unwrap();
    let sub: Vec<(String, u64)> = d
        .slices
        .iter()
        .filter(|s| s.parent == Some(i44))
        .map(|s| (s.name.clone(), s.dur))
        .collect();
    assert_eq!(sub, vec![("forward".into(), 9 * MS), ("sample".into(), MS)]);
    assert_eq!(d.named("decode step 45").count(), 1);

    // Request 9: server_arrival null, first_scheduled 0.0 → three segments absent.
    let r9 = parent(&d, "9", "server");
    assert_eq!(r9.dur, 230 * MS); // 100.020 → 100.250
    assert_eq!(seg(&d, r9, "ctx_preprocessing"), None);
    assert_eq!(seg(&d, r9, "ctx_queue"), None);
    assert_eq!(seg(&d, r9, "ctx_processing"), None);
    assert_eq!(seg(&d, r9, "ctx_postprocessing"), Some(MS));
    assert_eq!(seg(&d, r9, "decode"), Some(160 * MS));

    // Request 10 has no last_token_time: decode absent.
    let r10 = parent(&d, "10", "server");
    assert_eq!(r10.dur, 51 * MS);
    assert_eq!(seg(&d, r10, "decode"), None);
    assert_eq!(seg(&d, r10, "ctx_processing"), Some(48 * MS));

    // Requests 7, 8 and 9 overlap: three distinct lanes, all named `requests`
    // under `server`.
    let lanes: BTreeSet<u64> = [r7, r8, r9].iter().map(|s| s.track).collect();
    assert_eq!(lanes.len(), 3);
    for s in [r7, r8, r9, r10] {
        assert_eq!(d.track_path(s.track), vec!["server", "requests"]);
        assert_eq!(s.depth, 0);
        assert_eq!(s.category, "request");
    }
    // Correlation ids: one per request, shared by all its slices.
    let ids: BTreeSet<u64> = [r7, r8, r9, r10]
        .iter()
        .map(|s| s.correlation.unwrap())
        .collect();
    assert_eq!(ids.len(), 4);
    assert!(d
        .slices
        .iter()
        .filter(|s| d.track(s.track).name != "breakdown-trace")
        .all(|s| s.correlation.is_some()));

    assert!(stderr.contains("null_timestamp"), "{stderr}");
    assert!(stderr.contains("zero_timestamp"));
    assert!(stderr.contains("missing_timestamp"));
    assert!(
        d.flows().is_empty(),
        "aggregated requests have no hand-offs"
    );
}

#[test]
fn disaggregated_roles_servers_flows() {
    let (d, stderr) = convert(&["trtllm/disagg-perf_metrics.json"]);
    assert_eq!(
        d.top_level_tracks(),
        vec![
            "disagg router",
            "context servers",
            "generation servers",
            "breakdown-trace"
        ]
    );

    // Record 0 (joined on ctx_request_id 3), servers ctx-0 and gen-0.
    let router = parent(&d, "ctx 3", "disagg router");
    assert_eq!(router.dur, 66 * MS); // 200.000 → 200.066
    assert_eq!(seg(&d, router, "disagg_preprocessing"), Some(2 * MS)); // → ctx 200.002
    assert_eq!(seg(&d, router, "disagg_relay"), Some(3 * MS)); // 200.042 → 200.045
    assert_eq!(seg(&d, router, "disagg_postprocessing"), Some(3 * MS)); // 200.063 → 200.066
    let ctx = parent(&d, "ctx 3", "context servers");
    assert_eq!(
        d.track_path(ctx.track),
        vec!["context servers", "http://ctx-0:8001", "requests"]
    );
    assert_eq!(ctx.dur, 40 * MS); // 200.002 → 200.042
    assert_eq!(seg(&d, ctx, "ctx_preprocessing"), Some(MS));
    assert_eq!(seg(&d, ctx, "ctx_queue"), Some(2 * MS));
    assert_eq!(seg(&d, ctx, "ctx_processing"), Some(35 * MS));
    assert_eq!(seg(&d, ctx, "ctx_postprocessing"), Some(2 * MS));
    let gen = parent(&d, "ctx 3", "generation servers");
    assert_eq!(
        d.track_path(gen.track),
        vec!["generation servers", "http://gen-0:8002", "requests"]
    );
    assert_eq!(gen.dur, 355 * MS); // 200.045 → 200.400
    assert_eq!(seg(&d, gen, "gen_preprocessing"), Some(MS));
    assert_eq!(seg(&d, gen, "gen_queue_wait"), Some(2 * MS));
    assert_eq!(seg(&d, gen, "gen_kv_transfer"), Some(10 * MS));
    assert_eq!(seg(&d, gen, "gen_post_transfer"), Some(2 * MS));
    assert_eq!(seg(&d, gen, "gen_postprocessing"), Some(3 * MS));
    assert_eq!(seg(&d, gen, "decode"), Some(339 * MS)); // 200.061 → 200.400
    assert_eq!(router.correlation, ctx.correlation);
    assert_eq!(router.correlation, gen.correlation);
    assert_eq!(
        gen.args.get("gen.kv_cache_size"),
        Some(&Val::Int(1_048_576))
    );
    assert_eq!(
        gen.args.get("ctx_server"),
        Some(&Val::Str("http://ctx-0:8001".into()))
    );

    // Record 1: ctx half null → router and gen only.
    let r1 = parent(&d, "ctx 4", "disagg router");
    assert_eq!(r1.dur, 50 * MS); // 200.010 → 200.060
    assert_eq!(seg(&d, r1, "disagg_preprocessing"), None);
    assert_eq!(seg(&d, r1, "disagg_relay"), None);
    assert_eq!(seg(&d, r1, "disagg_postprocessing"), Some(2 * MS));
    assert_eq!(
        d.named("request ctx 4").count(),
        2,
        "no context-server slice"
    );
    let g1 = parent(&d, "ctx 4", "generation servers");
    assert_eq!(seg(&d, g1, "gen_postprocessing"), Some(2 * MS)); // 200.056 → 200.058
    assert_eq!(seg(&d, g1, "decode"), Some(243 * MS));
    assert!(stderr.contains("missing_half"));

    // Record 2: ctx first_token 200.070 > server_first_token 200.069 (reversed),
    // and the PR spelling `disagg_server_first_token_ts`.
    let c2 = parent(&d, "ctx 5", "context servers");
    assert_eq!(d.track_path(c2.track)[1], "http://ctx-1:8001");
    assert_eq!(seg(&d, c2, "ctx_postprocessing"), None);
    assert_eq!(seg(&d, c2, "ctx_processing"), Some(45 * MS)); // 200.025 → 200.070
    let rr2 = parent(&d, "ctx 5", "disagg router");
    assert_eq!(seg(&d, rr2, "disagg_relay"), Some(6 * MS)); // 200.069 → 200.075
    assert_eq!(seg(&d, rr2, "disagg_postprocessing"), Some(2 * MS)); // 200.083 → 200.085
    assert!(stderr.contains("reversed_pair"));

    // Flows: router → ctx → gen → router for records 0 and 2; gen → router for 1.
    let flows: Vec<(String, String, Vec<String>)> = d
        .flows()
        .into_iter()
        .map(|(a, b)| {
            let (sa, sb) = (&d.slices[a], &d.slices[b]);
            assert_eq!(
                sa.correlation, sb.correlation,
                "flows stay within a request"
            );
            assert!(sa.ts <= sb.ts);
            (sa.name.clone(), sb.name.clone(), d.track_path(sb.track))
        })
        .collect();
    assert_eq!(flows.len(), 7, "{flows:?}");
    let count = |a: &str, b: &str| flows.iter().filter(|(x, y, _)| x == a && y == b).count();
    assert_eq!(count("disagg_preprocessing", "request ctx 3"), 1);
    assert_eq!(count("request ctx 3", "gen_kv_transfer"), 1);
    assert_eq!(count("gen_postprocessing", "disagg_postprocessing"), 3);
    assert_eq!(count("disagg_preprocessing", "request ctx 5"), 1);
}

#[test]
fn jsonl_with_status_dedups_and_names_the_proxy() {
    let (d, stderr) = convert(&["trtllm/perf_metrics-disagg-hostA-4242-20261123T101500Z.jsonl"]);
    let p = parent(&d, "1001", "disagg router");
    assert_eq!(
        d.track_path(p.track),
        vec!["disagg router", "hostA pid 4242", "requests"]
    );
    assert_eq!(p.args.get("status"), Some(&Val::Str("complete".into())));
    assert_eq!(p.args.get("disagg_request_id"), Some(&Val::Int(1001)));
    assert_eq!(p.args.get("gen.request_id"), Some(&Val::Str("31".into())));
    // 300.000 → 300.050; gen half 300.033 → 300.250; KV 300.036 → 300.042.
    assert_eq!(p.dur, 50 * MS);
    let g = parent(&d, "1001", "generation servers");
    assert_eq!(g.dur, 217 * MS);
    assert_eq!(seg(&d, g, "gen_kv_transfer"), Some(6 * MS));
    assert_eq!(d.named("request 1002").count(), 3);
    // Line 3 repeats line 1.
    assert_eq!(d.named("request 1001").count(), 3);
    assert!(stderr.contains("duplicate_record"), "{stderr}");
}

#[test]
fn successive_dumps_are_concatenated_and_duplicates_kept_once() {
    let a = fixture("trtllm/aggregated-perf_metrics.json")
        .display()
        .to_string();
    let b = fixture("trtllm/disagg-perf_metrics.json")
        .display()
        .to_string();
    let (d, stderr) = convert_paths(&[a.clone(), b, a]);
    assert_eq!(d.named("request 7").count(), 1);
    assert!(stderr.contains("requests 7"), "{stderr}");
    let line = stderr
        .lines()
        .find(|l| l.trim_start().starts_with("duplicate_record"))
        .unwrap();
    assert!(line.split_whitespace().nth(1) == Some("4"), "{line}");
    // Aggregated and disaggregated roles side by side.
    assert_eq!(
        d.top_level_tracks(),
        vec![
            "disagg router",
            "context servers",
            "generation servers",
            "server",
            "breakdown-trace"
        ]
    );
}

#[test]
fn provenance_is_in_the_trace() {
    let (d, _) = convert(&["trtllm/aggregated-perf_metrics.json"]);
    let p: Vec<&DSlice> = d.named("provenance").collect();
    assert_eq!(p.len(), 1);
    let a = &p[0].args;
    assert_eq!(
        a.get("tool_version"),
        Some(&Val::Str(env!("CARGO_PKG_VERSION").into()))
    );
    assert_eq!(a.get("requests"), Some(&Val::Uint(4)));
    assert_eq!(
        a.get("input_0.format"),
        Some(&Val::Str("trtllm-perf-metrics".into()))
    );
    assert_eq!(a.get("input_0.records"), Some(&Val::Uint(4)));
    assert_eq!(
        a.get("warnings_by_kind.zero_timestamp"),
        Some(&Val::Uint(1))
    );
}

#[test]
fn info_reports_format_counts_and_warnings() {
    let (ok, out, _) = run(&[
        "info",
        &fixture("trtllm/disagg-perf_metrics.json")
            .display()
            .to_string(),
    ]);
    assert!(ok);
    assert!(out.contains("format=trtllm-perf-metrics"), "{out}");
    assert!(out.contains("records=3"));
    assert!(out.contains("requests 3  (aggregated 0, disaggregated 3)"));
    assert!(out.contains("time     200000000000 .. 200400000000 ns"));
    assert!(out.contains("missing_half"));
    assert!(out.contains("reversed_pair"));
}

fn write_tmp(dir: &tempfile::TempDir, name: &str, text: &str) -> String {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p.display().to_string()
}

#[test]
fn bad_input_names_file_record_and_field_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace").display().to_string();
    let bad = write_tmp(
        &dir,
        "bad.json",
        r#"[{"request_id": 1, "perf_metrics": {"timing_metrics": {"arrival_time": 1.0}}},
            {"request_id": 2, "perf_metrics": {"timing_metrics": {"arrival_time": "soon"}}}]"#,
    );
    let (ok, _, stderr) = run(&["convert", &bad, "-o", &out]);
    assert!(!ok);
    assert!(
        stderr.contains("bad.json: record 1: field `perf_metrics.timing_metrics.arrival_time`"),
        "{stderr}"
    );
    assert!(stderr.contains("expected a number of seconds"), "{stderr}");
    assert!(!std::path::Path::new(&out).exists());

    let truncated = write_tmp(
        &dir,
        "cut.json",
        "[{\"request_id\": 1, \"perf_metrics\": {\"timing_",
    );
    let (ok, _, stderr) = run(&["convert", &truncated, "-o", &out]);
    assert!(!ok);
    assert!(stderr.contains("cut.json: line 1, column"), "{stderr}");

    let jsonl = write_tmp(
        &dir,
        "perf_metrics-server-hostA-0-run.jsonl",
        "{\"request_id\": 1, \"perf_metrics\": {}}\n{\"request_id\": 2, \"perf_metrics\": []}\n",
    );
    let (ok, _, stderr) = run(&["convert", &jsonl, "-o", &out]);
    assert!(!ok);
    assert!(
        stderr.contains("line 2: field `perf_metrics`: expected an object"),
        "{stderr}"
    );

    let other = write_tmp(&dir, "other.json", r#"{"hello": "world"}"#);
    let (ok, _, stderr) = run(&["convert", &other, "-o", &out]);
    assert!(!ok);
    assert!(stderr.contains("other.json: unknown format"), "{stderr}");

    let empty = write_tmp(&dir, "empty.json", "");
    let (ok, _, stderr) = run(&["info", &empty]);
    assert!(!ok);
    assert!(stderr.contains("empty.json: the file is empty"), "{stderr}");
    assert!(!std::path::Path::new(&out).exists());
}

#[test]
fn worker_jsonl_names_its_server_from_the_file_name() {
    let dir = tempfile::tempdir().unwrap();
    let f = write_tmp(
        &dir,
        "perf_metrics-server-node-a-17-20261123T101500Z.jsonl",
        "{\"request_id\": 1, \"status\": \"complete\", \"perf_metrics\": {\"timing_metrics\": {\"server_arrival_time\": 5.0, \"arrival_time\": 5.25, \"first_scheduled_time\": 5.5, \"first_token_time\": 6.0, \"server_first_token_time\": 6.0, \"last_token_time\": 7.0}}}\n",
    );
    let (d, _) = convert_paths(&[f]);
    let p = parent(&d, "1", "server");
    assert_eq!(
        d.track_path(p.track),
        vec!["server", "node-a pid 17", "requests"]
    );
    assert_eq!(seg(&d, p, "ctx_preprocessing"), Some(250 * MS));
    assert_eq!(seg(&d, p, "ctx_postprocessing"), Some(0));
    assert_eq!(seg(&d, p, "decode"), Some(1_000 * MS));
}

/// `stats` and `report` read TensorRT-LLM records as requests only (no
/// timeline): the requests and every warning must be what a full import
/// gives, on every fixture and on records whose steps and hand-offs warn.
#[test]
fn requests_only_import_gives_the_same_requests_and_warnings() {
    use breakdown_trace::ingest::{load_with, LoadOptions};
    let dir = tempfile::tempdir().unwrap();
    // Steps that cannot be drawn and a hand-off against time (the KV-cache
    // transfer starts, at 10.05 s, before the context server has the
    // request, at 10.1 s).
    let odd = dir.path().join("odd-perf_metrics.json");
    std::fs::write(
        &odd,
        r#"[{"ctx_server": "c:1", "gen_server": "g:1", "disagg_server_arrival_time": 10.0,
            "disagg_server_first_token_time": 10.5,
            "ctx_perf_metrics": {"request_id": 1, "perf_metrics": {"timing_metrics": {
               "server_arrival_time": 10.1, "arrival_time": 10.11, "first_scheduled_time": 10.12,
               "first_token_time": 10.3, "server_first_token_time": 10.31}}},
            "gen_perf_metrics": {"request_id": 2, "ctx_request_id": 1, "perf_metrics": {
               "timing_metrics": {"server_arrival_time": 10.2, "arrival_time": 10.21,
               "first_scheduled_time": 10.4, "first_token_time": 10.41, "server_first_token_time": 10.45,
               "last_token_time": 11.0, "kv_cache_transfer_start": 10.05, "kv_cache_transfer_end": 10.3},
               "time_breakdown_metrics": {"step_metrics": [
                  {"iter": 1, "forward_start_time": 10.5, "forward_end_time": 10.6},
                  {"forward_end_time": 10.7},
                  {"iter": 3, "forward_start_time": 10.8, "forward_end_time": 10.75},
                  7]}}}}]"#,
    )
    .unwrap();
    let mut inputs: Vec<std::path::PathBuf> = std::fs::read_dir(fixture("trtllm"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    inputs.sort();
    inputs.push(odd);
    for input in inputs {
        let load = |requests_only| {
            let opts = LoadOptions {
                requests_only,
                ..Default::default()
            };
            load_with(std::slice::from_ref(&input), &opts).unwrap()
        };
        let (full, lean) = (load(false), load(true));
        assert!(
            lean.slices.is_empty() && lean.tracks.is_empty(),
            "{input:?}"
        );
        assert_eq!(full.warnings.counts, lean.warnings.counts, "{input:?}");
        assert_eq!(full.warnings.list, lean.warnings.list, "{input:?}");
        assert_eq!(full.requests.len(), lean.requests.len());
        for (a, b) in full.requests.iter().zip(&lean.requests) {
            assert_eq!((&a.label, a.stamps, a.kind), (&b.label, b.stamps, b.kind));
        }
        if input.ends_with("odd-perf_metrics.json") {
            let w = &full.warnings.counts;
            assert!(
                w.get("step_timestamp_absent").copied().unwrap_or(0) >= 3,
                "{w:?}"
            );
            assert_eq!(w.get("bad_time_breakdown"), Some(&1), "{w:?}");
            assert_eq!(w.get("flow_against_time"), Some(&1), "{w:?}");
        }
    }
}

/// Issue 12 case 3: a non-streaming response stamps server_first_token_time
/// when the whole response is sent, after last_token_time. By hand from
/// ../shared/cases/trtllm-nonstreaming: request 1 arrives 5000.000 s, first
/// token 5000.050 s → TTFT 50 ms; request 2 5000.010 → 5000.060 → 50 ms;
/// e2e 2100 and 2190 ms (p50 2145); ctx_postprocessing absent for both.
#[test]
fn non_streaming_requests_take_ttft_from_the_executor_and_say_so() {
    let case = common::shared("cases/trtllm-nonstreaming/nonstreaming-perf_metrics.json");
    let p = case.display().to_string();
    let (ok, out, err) = run(&["stats", &p, "--output-format", "json"]);
    assert!(ok, "{err}");
    assert!(err.contains("2 non-streaming request(s)"), "{err}");
    let j: serde_json::Value = serde_json::from_str(&out).unwrap();
    let metric = |q: &str, key: &str, val: &str| -> serde_json::Value {
        j[q].as_array()
            .unwrap()
            .iter()
            .find(|r| r[key] == val)
            .unwrap_or_else(|| panic!("{q} {val}"))
            .clone()
    };
    let ttft = metric("latency", "metric", "ttft");
    assert_eq!(
        (
            ttft["count"].as_i64(),
            ttft["min_ms"].as_f64(),
            ttft["max_ms"].as_f64()
        ),
        (Some(2), Some(50.0), Some(50.0))
    );
    let e2e = metric("latency", "metric", "e2e");
    assert_eq!(
        (
            e2e["min_ms"].as_f64(),
            e2e["p50_ms"].as_f64(),
            e2e["max_ms"].as_f64()
        ),
        (Some(2100.0), Some(2145.0), Some(2190.0))
    );
    let post = metric("segment-stats", "segment", "ctx_postprocessing");
    assert_eq!(
        (
            post["count"].as_i64(),
            post["absent_non_streaming"].as_i64()
        ),
        (Some(0), Some(2))
    );
    let decode = metric("segment-stats", "segment", "decode");
    assert_eq!(
        (decode["min_ms"].as_f64(), decode["max_ms"].as_f64()),
        (Some(2050.0), Some(2140.0))
    );
    // The request table says which requests, and the stamp is not a time.
    let (ok, out, err) = run(&[
        "query", "--sql",
        "SELECT id, non_streaming, ctx_server_first_token_time IS NULL AS sft_null, \
         (SELECT count FROM warning_count WHERE kind = 'non_streaming') AS warned FROM request ORDER BY id",
        &p, "--output-format", "csv",
    ]);
    assert!(ok, "{err}");
    assert_eq!(
        out.replace("\r\n", "\n"),
        "id,non_streaming,sft_null,warned\n0,1,1,2\n1,1,1,2\n"
    );
    // The trace draws no ctx_postprocessing; decode is there.
    let (d, _) = convert_paths(std::slice::from_ref(&p));
    let names: Vec<&str> = d.slices.iter().map(|s| s.name.as_str()).collect();
    assert!(!names.contains(&"ctx_postprocessing"), "{names:?}");
    assert_eq!(names.iter().filter(|n| **n == "decode").count(), 2);
}
