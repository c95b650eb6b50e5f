//! GPU work under every category spelling (issue 12, case 1): Kineto
//! traces from before 2022 say `Kernel`, `Memcpy`, `Memset`. Expected values
//! by hand from ../shared/cases/legacy-categories/legacy-categories.json
//! (µs after 1665536373729000 → ns): gemm_a [80, 100) and [130, 140),
//! memcpy [110, 115), all on GPU 0 / stream 7 → 2 × gemm_a = 30000 ns of
//! kernels; span 80 → 140 = 60000 ns; busy 20000 + 5000 + 10000 = 35000 ns;
//! idle 25000 ns = 41.67 %.

mod common;

use common::{run, shared};

fn csv(args: &[&str]) -> (Vec<Vec<String>>, String) {
    let (ok, out, err) = run(args);
    assert!(ok, "{args:?}: {err}");
    let rows = out
        .lines()
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect();
    (rows, err)
}

#[test]
fn legacy_categories_are_gpu_work_for_every_bundled_query() {
    let f = shared("cases/legacy-categories/legacy-categories.json")
        .display()
        .to_string();
    let (rows, _) = csv(&["query", "kernel-summary", &f, "--output-format", "csv"]);
    assert_eq!(rows.len(), 2, "{rows:?}");
    // Time (%), Total Time (ns), Instances, ..., Name
    assert_eq!(
        (
            rows[1][1].as_str(),
            rows[1][2].as_str(),
            rows[1][8].as_str()
        ),
        ("30000", "2", "gemm_a")
    );
    let (rows, _) = csv(&[
        "query",
        "gpu-idle",
        &f,
        "--output-format",
        "csv",
        "--param",
        "top=1",
    ]);
    let device = rows.iter().find(|r| r[0] == "device").unwrap();
    // scope, device, stream, kernels, span_ns, busy_ns, idle_ns, idle_pct
    assert_eq!(
        &device[1..8],
        ["GPU 0", "", "3", "60000", "35000", "25000", "41.67"]
    );
    let (rows, _) = csv(&["query", "kernel-stats", &f, "--output-format", "csv"]);
    assert_eq!(rows.len(), 3, "gemm_a and the memcpy: {rows:?}");
    let (rows, _) = csv(&["query", "idle-gaps", &f, "--output-format", "csv"]);
    assert_eq!(
        rows.len(),
        4,
        "three kernels and memcpy, a header: {rows:?}"
    );
    // stats has its sections.
    let (ok, out, err) = run(&["stats", &f, "--output-format", "table"]);
    assert!(ok, "{err}");
    assert!(
        out.contains("[kernel-summary]") && out.contains("[gpu-idle]"),
        "{out}"
    );
    // The category column stays verbatim.
    let (rows, _) = csv(&[
        "query",
        "--sql",
        "SELECT DISTINCT category, kind FROM gpu_work ORDER BY 1",
        &f,
        "--output-format",
        "csv",
    ]);
    assert_eq!(
        rows[1..],
        [
            vec!["Kernel".to_owned(), "kernel".into()],
            vec!["Memcpy".into(), "memcpy".into()]
        ]
    );
}

#[test]
fn the_docs_verbatim_sql_finds_nothing_and_says_why() {
    let f = shared("cases/legacy-categories/legacy-categories.json")
        .display()
        .to_string();
    let doc = common::manifest_dir()
        .join("tests/sql/rtp_llm_kernel_stats.sql")
        .display()
        .to_string();
    let (rows, err) = csv(&["query", &doc, &f, "--output-format", "csv"]);
    assert_eq!(rows.len(), 1, "header only: the user's SQL as written");
    assert!(
        err.contains("categorised `Kernel` (2), `Memcpy` (1)"),
        "{err}"
    );
    assert!(err.contains("gpu_work"), "{err}");
    // No note where the doc's spelling is the trace's.
    let k = common::fixture("chrome/kineto_small.json")
        .display()
        .to_string();
    let (_, err) = csv(&["query", &doc, &k, "--output-format", "csv"]);
    assert!(!err.contains("categorised"), "{err}");
}

#[test]
fn the_real_legacy_trace_has_gpu_statistics() {
    let f = shared("realdata/hta/tests/data/trace_file_list/inference_rank_1.json.gz")
        .display()
        .to_string();
    let (rows, _) = csv(&["query", "kernel-summary", &f, "--output-format", "csv"]);
    assert_eq!(rows.len(), 5, "4 kernels: {rows:?}");
}
