//! `export` checked by another engine: DuckDB (the `duckdb` package from
//! PyPI, in a test-only virtual environment) reads the Parquet directory
//! through the exported `views.sql` and must give, per input, exactly the
//! rows `breakdown-trace query` gives for the bundled single-input queries
//! (kernel-stats, idle-gaps, idle-total, gpu-idle, kernel-summary,
//! segment-stats, latency, slow-requests, client-stats and every other one
//! but those in [`NOT_DUCKDB`]), the same rows as our
//! `db` file in every table, and over all inputs the same rows as the tool's
//! own SQLite for the cross-input queries (rank-summary, stragglers).
//! Inputs: fixtures of every format, four small real traces from
//! `../shared/realdata`, and three generated Kineto ranks with ProfilerSteps.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

const DUCKDB: &str = "duckdb==2.0.1";

/// The bundled queries over several inputs (compared over all of them).
const CROSS_INPUT: &[&str] = &["rank-summary", "stragglers"];

/// Bundled queries written in SQLite's dialect where DuckDB's differs (the
/// README lists them): two-argument scalar `MAX(a, b)` / `MIN(a, b)`
/// (DuckDB: `greatest` / `least`), a column neither grouped nor aggregated,
/// `x IS NOT 'text'`, an integer used as a truth value (`m.monotonic AND ...`).
/// Every other bundled query must give the same rows.
const NOT_DUCKDB: &[&str] = &[
    "kernel-launches",
    "kernel-launch-stats",
    "kernel-type-breakdown",
    "comm-comp-overlap",
    "profiler-step-stats",
    "metric-summary",
];

/// The comparison, run by DuckDB's Python interpreter. Prints one JSON
/// object: mismatches (must be empty) and what was compared.
const SCRIPT: &str = r#"
import duckdb, json, math, sqlite3, subprocess, sys

bin_, out_dir, spec = sys.argv[1], sys.argv[2], json.load(open(sys.argv[3]))
con = duckdb.connect()
con.execute(open(out_dir + "/views.sql").read())
mismatches, compared = [], {"query_rows": 0, "table_rows": 0, "cross_rows": 0, "tables": 0}

def norm(v):
    # Whole-valued reals compare with integers (SQLite gives 5.0 as 5 in JSON only when it is an integer).
    if isinstance(v, float) and v.is_integer() and abs(v) < 2**53:
        return int(v)
    return v

def key(row):
    return json.dumps([[x is None, str(type(x) is str), x if x is not None else 0] for x in row])

def ours(args):
    p = subprocess.run([bin_, "query", *args, "--output-format", "json"], capture_output=True, text=True)
    if p.returncode != 0:
        raise SystemExit(f"breakdown-trace query {args}: {p.stderr}")
    rows = json.loads(p.stdout) if p.stdout.strip() else []
    return rows

def duck(sql):
    # The documented translation: `:name` parameters become `$name`, each bound to NULL (DuckDB refuses unbound ones).
    import re
    names = sorted(set(re.findall(r":([A-Za-z_]\w*)", sql)))
    for n in names:
        sql = sql.replace(":" + n, "$" + n)
    r = con.execute(sql, {n: None for n in names}) if names else con.execute(sql)
    cols = [d[0] for d in r.description]
    return cols, r.fetchall()

def compare(what, cols, drows, orows, ordered, label_of=None):
    # Our JSON objects list their keys sorted; the column order is DuckDB's.
    if orows and sorted(orows[0].keys()) != sorted(cols):
        mismatches.append(f"{what}: columns {cols} vs ours {list(orows[0].keys())}")
        return 0
    o = [[norm(r[c]) for c in cols] for r in orows]
    d = [[norm(x) for x in r] for r in drows]
    if label_of:
        o = [[label_of.get(x, x) if isinstance(x, str) else x for x in r] for r in o]
    if not ordered:
        o, d = sorted(o, key=key), sorted(d, key=key)
    if o != d:
        first = next((i for i, (a, b) in enumerate(zip(o, d)) if a != b), min(len(o), len(d)))
        mismatches.append(f"{what}: {len(d)} DuckDB rows vs {len(o)} ours; first difference at row {first}: "
                          f"duckdb {d[first] if first < len(d) else None} ours {o[first] if first < len(o) else None}")
    return len(o)

for inp in spec["inputs"]:
    label = inp["label"]
    con.execute("SET VARIABLE input = " + "'" + label.replace("'", "''") + "'")
    for name in spec["queries"]:
        sql = open(spec["queries_dir"] + "/" + name + ".sql").read()
        try:
            cols, drows = duck(sql)
        except duckdb.Error as e:
            mismatches.append(f"{label} {name}: DuckDB: {e}".splitlines()[0])
            continue
        orows = ours([name, inp["path"]])
        # idle-gaps orders by diff only: rows with equal diffs come in either order in both engines.
        compared["query_rows"] += compare(f"{label} {name}", cols, drows, orows, ordered=(name != "idle-gaps"),
                                          label_of={inp["path"]: label})
    lite = sqlite3.connect(inp["db"])
    for t in spec["tables"]:
        cols = [r[1] for r in lite.execute(f"PRAGMA table_xinfo({t})")]
        dcols = [d[0] for d in con.execute(f"SELECT * FROM {t} LIMIT 0").description]
        extra = [c for c in ("rank", "host", "pid") if c not in cols]
        want = [c for c in cols if c != "input"] + extra + ["input"]
        if sorted(dcols) != sorted(want) and t != "iteration":
            mismatches.append(f"{label} table {t}: DuckDB columns {dcols}, expected {want}")
            continue
        common = [c for c in cols if c != "input"]
        q = ", ".join('"' + c + '"' for c in common)
        lrows = [[norm(x) for x in r] for r in lite.execute(f"SELECT {q} FROM {t}")]
        drows = [[norm(x) for x in r] for r in con.execute(f"SELECT {q} FROM {t}").fetchall()]
        if sorted(lrows, key=key) != sorted(drows, key=key):
            mismatches.append(f"{label} table {t}: {len(drows)} DuckDB rows differ from the {len(lrows)} of the db file")
        if con.execute(f"SELECT COUNT(*) FROM {t} WHERE input IS DISTINCT FROM $l", {"l": label}).fetchone()[0]:
            mismatches.append(f"{label} table {t}: rows with another input")
        compared["table_rows"] += len(lrows)
        compared["tables"] += 1

con.execute("RESET VARIABLE input")
label_of = {i["path"]: i["label"] for i in spec["inputs"]}
for name in spec["cross"]:
    cols, drows = duck(open(spec["queries_dir"] + "/" + name + ".sql").read())
    orows = ours([name, *[i["path"] for i in spec["inputs"] if i["kineto"]]])
    # Ordered by input in each engine: paths there, labels here; so compared as sets of rows.
    compared["cross_rows"] += compare(f"all inputs {name}", cols, drows, orows, ordered=False, label_of=label_of)
    compared[name] = len(drows)
print(json.dumps({"mismatches": mismatches, "compared": compared}))
"#;

fn bin() -> PathBuf {
    assert_cmd::cargo::cargo_bin("breakdown-trace")
}

fn run(args: &[&std::ffi::OsStr]) -> std::process::Output {
    Command::new(bin()).args(args).output().unwrap()
}

#[test]
fn duckdb_over_the_export_gives_the_rows_of_query() {
    let Some(python) = common::python_with("duckdb", &[DUCKDB]) else {
        eprintln!("SKIP: no Python environment with {DUCKDB}");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    // Three generated ranks with ProfilerStep annotations (for stragglers).
    let mut inputs: Vec<(PathBuf, bool)> = Vec::new();
    for r in 0..3 {
        let p = tmp.path().join(format!("rank-{r}.pt.trace.json"));
        let out = Command::new("python3")
            .arg(common::shared("bench/gen_kineto.py"))
            .args([
                "1600",
                "--rank",
                &r.to_string(),
                "--seed",
                &(40 + r).to_string(),
            ])
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::write(&p, out.stdout).unwrap();
        inputs.push((p, true));
    }
    for f in [
        "chrome/kineto_small.json",
        "trtllm/disagg-perf_metrics.json",
        "trtllm/perf_metrics-disagg-hostA-4242-20261123T101500Z.jsonl",
        "trtllm/aggregated-perf_metrics.json",
        "aiperf/new-schema.jsonl",
        "vllm/vllm-detailed.json",
        "iter_stats/old-keys.json",
    ] {
        inputs.push((common::fixture(f), f.starts_with("chrome")));
    }
    for r in [
        "realdata/hta/tests/data/timeline_analysis/sampled_rank-0.json.gz",
        "realdata/hta/tests/data/trace_file_list/inference_rank_1.json.gz",
        "realdata/hta/tests/data/amd_trace/mi250_minitoy_train_ROCm6_2_kineto.json.gz",
        "realdata/tracelens/tests/traces/inference/sglang_decode/sglang_Qwen3-8B_decode.json.gz",
    ] {
        inputs.push((common::shared(r), true));
    }
    let dir = tmp.path().join("export");
    let mut args: Vec<&std::ffi::OsStr> = vec!["export".as_ref(), "-q".as_ref()];
    args.extend(inputs.iter().map(|(p, _)| p.as_os_str()));
    args.extend([
        "--jobs".as_ref(),
        "3".as_ref(),
        "-o".as_ref(),
        dir.as_os_str(),
    ]);
    let out = run(&args);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let labels =
        breakdown_trace::export::labels(&inputs.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>());
    // A `db` file per input: the table rows DuckDB must reproduce.
    let mut spec_inputs = Vec::new();
    for (i, ((p, kineto), label)) in inputs.iter().zip(&labels).enumerate() {
        let db = tmp.path().join(format!("{i}.sqlite"));
        let out = run(&[
            "db".as_ref(),
            "-q".as_ref(),
            p.as_os_str(),
            "-o".as_ref(),
            db.as_os_str(),
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        spec_inputs.push(serde_json::json!({
            "label": label, "path": p, "db": db, "kineto": kineto,
        }));
    }
    let single: Vec<&str> = breakdown_trace::sql::BUNDLED
        .iter()
        .map(|b| b.name)
        .filter(|n| !CROSS_INPUT.contains(n) && !NOT_DUCKDB.contains(n))
        .collect();
    for must in [
        "kernel-stats",
        "idle-gaps",
        "idle-total",
        "gpu-idle",
        "segment-stats",
    ] {
        assert!(single.contains(&must), "{must}");
    }
    let spec = serde_json::json!({
        "inputs": spec_inputs,
        "queries": single,
        "cross": CROSS_INPUT,
        "tables": breakdown_trace::export::table_names(),
        "queries_dir": common::manifest_dir().join("queries"),
    });
    let spec_file = tmp.path().join("spec.json");
    std::fs::write(&spec_file, spec.to_string()).unwrap();
    let script = tmp.path().join("compare.py");
    std::fs::write(&script, SCRIPT).unwrap();
    let out = Command::new(&python)
        .arg(&script)
        .arg(bin())
        .arg(&dir)
        .arg(&spec_file)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    let mismatches = report["mismatches"].as_array().unwrap();
    assert!(
        mismatches.is_empty(),
        "{} mismatches:\n{}",
        mismatches.len(),
        mismatches
            .iter()
            .map(|m| m.as_str().unwrap_or_default())
            .collect::<Vec<_>>()
            .join("\n")
    );
    let c = &report["compared"];
    eprintln!("compared: {c}");
    // Not vacuous: rows were compared in each part, all tables of all inputs.
    assert!(c["query_rows"].as_u64().unwrap() > 1000, "{c}");
    assert!(c["table_rows"].as_u64().unwrap() > 10_000, "{c}");
    assert_eq!(
        c["tables"].as_u64().unwrap() as usize,
        inputs.len() * breakdown_trace::export::table_names().len()
    );
    // rank-summary: one row per Kineto input with GPU work; stragglers: the 3
    // ProfilerSteps the generated ranks share (1600 kernels, a step per 500).
    assert!(c["rank-summary"].as_u64().unwrap() >= 6, "{c}");
    assert!(c["stragglers"].as_u64().unwrap() >= 3, "{c}");
}

/// Reads the `breakdown_trace.input` key of a Parquet file's footer with a
/// plain byte search (the footer is Thrift; the key and value are stored verbatim).
fn footer_names(file: &Path, needle: &str) -> bool {
    let bytes = std::fs::read(file).unwrap();
    bytes.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn a_failing_input_is_reported_and_the_others_export_and_resume_skips_them() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("out");
    let good = common::fixture("chrome/kineto_small.json");
    let bad = common::fixture("chrome/bad_ts.json");
    let trt = common::fixture("trtllm/perf_metrics-disagg-hostA-4242-20261123T101500Z.jsonl");
    let out = Command::new(bin())
        .args(["export"])
        .args([&good, &bad, &trt])
        .args(["--jobs", "2", "-o"])
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(err.contains("bad_ts.json"), "{err}");
    assert!(err.contains("1 of 3 inputs failed"), "{err}");
    let tables = breakdown_trace::export::table_names();
    for t in &tables {
        assert!(breakdown_trace::export::partition_file(&dir, t, "kineto_small").is_file());
        assert!(!dir.join(t).join("input=bad_ts").exists());
    }
    let slice = breakdown_trace::export::partition_file(&dir, "slice", "kineto_small");
    assert!(footer_names(&slice, "kineto_small.json"));
    assert!(dir.join("views.sql").is_file());
    // No temporary file left behind.
    let mut stack = vec![dir.clone()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            assert!(!p.to_string_lossy().ends_with(".tmp"), "{}", p.display());
            if p.is_dir() {
                stack.push(p);
            }
        }
    }
    let before = std::fs::metadata(&slice).unwrap().modified().unwrap();
    // --resume: the complete inputs are skipped, the failing one is tried again.
    let out = Command::new(bin())
        .args(["export", "--resume"])
        .args([&good, &bad, &trt])
        .arg("-o")
        .arg(&dir)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("skipped") && err.contains("input=kineto_small"),
        "{err}"
    );
    assert!(err.contains("2 skipped, 1 failed"), "{err}");
    assert_eq!(
        std::fs::metadata(&slice).unwrap().modified().unwrap(),
        before
    );
    // Without --resume every input is written again.
    let out = Command::new(bin())
        .args(["export"])
        .arg(&good)
        .arg("-o")
        .arg(&dir)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("1 exported, 0 skipped"));
}

#[test]
fn a_directory_expands_to_its_trace_files() {
    let tmp = tempfile::tempdir().unwrap();
    let src = tmp.path().join("runs");
    std::fs::create_dir_all(src.join("b")).unwrap();
    std::fs::copy(
        common::fixture("chrome/kineto_small.json"),
        src.join("a.json"),
    )
    .unwrap();
    std::fs::copy(
        common::fixture("chrome/kineto_small.json"),
        src.join("b").join("a.json"),
    )
    .unwrap();
    std::fs::write(src.join("notes.md"), "not a trace").unwrap();
    std::fs::write(src.join(".hidden.json"), "[]").unwrap();
    let dir = src.join("export"); // inside the input directory: not an input
    let run = || {
        Command::new(bin())
            .arg("export")
            .arg(&src)
            .arg("-o")
            .arg(&dir)
            .output()
            .unwrap()
    };
    let out = run();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("2 exported"), "{err}");
    // Same stem twice: each label takes its directory.
    assert!(
        dir.join("slice/input=runs_a/part-0.parquet").is_file(),
        "{err}"
    );
    assert!(
        dir.join("slice/input=b_a/part-0.parquet").is_file(),
        "{err}"
    );
    // Again: the export directory inside is not read as input.
    let out = run();
    assert!(String::from_utf8_lossy(&out.stderr).contains("2 exported"));
}
