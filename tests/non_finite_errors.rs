//! Non-finite numbers in the inputs of the importers other than Chrome
//! JSON (TensorRT-LLM perf metrics, iteration statistics, aiperf, vLLM
//! bench): they stay errors, and the message names the token and who
//! writes it so, for C's printf spellings (`nan`, `-nan`, `inf`, `-inf`,
//! `nan(...)`) as for Python's (`NaN`, `Infinity`, `-Infinity`).

mod common;

/// Other importers keep non-finite numbers errors; the message names C's
/// spellings (`nan`, `-inf`, ...) as it names Python's (`NaN`).
#[test]
fn c_style_non_finite_numbers_are_named_in_errors() {
    let dir = tempfile::tempdir().unwrap();
    let fixture = |rel: &str| std::fs::read_to_string(common::fixture(rel)).unwrap();
    let cases = [
        (
            "perf.jsonl",
            "{\"request_id\": 1, \"perf_metrics\": {\"timing_metrics\": {\"arrival_time\": nan}}}\n".to_owned(),
            "line 1, column 72: `nan` is not a JSON number (a NaN, as C's printf (`nan`, `-nan`) or Python's json module (`NaN`) writes it); write null or a string instead",
        ),
        (
            "perf2.jsonl",
            "{\"request_id\": 1, \"perf_metrics\": {\"timing_metrics\": {\"arrival_time\": -inf}}}\n".to_owned(),
            "line 1, column 72: `-inf` is not a JSON number (an infinity, as C's printf (`inf`, `-inf`) or Python's json module (`Infinity`) writes it)",
        ),
        (
            "iter.json",
            fixture("iter_stats/old-keys.json").replacen("\"iterLatencyMS\": 7.5", "\"iterLatencyMS\": inf", 1),
            "`inf` is not a JSON number (an infinity, as C's printf",
        ),
        (
            "aiperf.jsonl",
            fixture("aiperf/new-schema.jsonl").replacen("\"request_start_ns\":1000000000000", "\"request_start_ns\":-nan", 1),
            "`-nan` is not a JSON number (a NaN, as C's printf",
        ),
        (
            "vllm.json",
            fixture("vllm/vllm-detailed.json").replacen("\"ttfts\": [0.1", "\"ttfts\": [nan", 1),
            "line 12, column 14: `nan` is not a JSON number (a NaN, as C's printf",
        ),
        (
            "nan-payload.jsonl",
            "{\"request_id\": 1, \"perf_metrics\": {\"timing_metrics\": {\"arrival_time\": nan(0x7ff), \"x\": 1}}}\n".to_owned(),
            "`nan(0x7ff)` is not a JSON number",
        ),
        // Python's spelling: the message it had.
        (
            "python.jsonl",
            "{\"request_id\": 1, \"perf_metrics\": {\"timing_metrics\": {\"arrival_time\": NaN}}}\n".to_owned(),
            "line 1, column 71: `NaN` is not a JSON number (Python's json.dumps writes it for float('nan')); write null or a string instead",
        ),
        // A word that is no number at all: serde_json's message.
        (
            "word.jsonl",
            "{\"request_id\": 1, \"perf_metrics\": {\"timing_metrics\": {\"arrival_time\": infinite}}}\n".to_owned(),
            "line 1, column 71: expected value",
        ),
    ];
    for (name, text, want) in cases {
        // The token the message names is in the input (the fixture's value
        // was replaced).
        if let Some(token) = want.split('`').nth(1) {
            assert!(
                [": ", ":", "["]
                    .iter()
                    .any(|p| text.contains(&format!("{p}{token}"))),
                "{name}"
            );
        }
        let path = dir.path().join(name);
        std::fs::write(&path, &text).unwrap();
        let (out, err) = common::run_env(&["info", &path.display().to_string()], &[]);
        assert_eq!(out.status.code(), Some(1), "{name}: {err}");
        assert!(err.contains(want), "{name}: {err}");
    }
}
