//! The SQL layer: schema, loader and every bundled query, checked against
//! expectations computed by hand (comments show the arithmetic), and the
//! RTP-LLM doc's queries run verbatim against the bundled equivalents.

mod common;

use breakdown_trace::model::{Args, Slice, SliceKind, Trace, TrackId};
use breakdown_trace::sql::{self, Database, Rows};
use common::{fixture, manifest_dir, run};
use rusqlite::types::Value;
use serde_json::Value as J;

// ---------------------------------------------------------------- helpers

use common::{add_process as process, add_thread as thread};

fn slice(t: &mut Trace, track: TrackId, cat: &str, name: &str, ts: i64, dur: i64) {
    let (n, c) = (t.intern(name), t.intern(cat));
    t.add_slice(Slice {
        ts,
        dur,
        track,
        name: n,
        category: Some(c),
        args: Args::None,
        correlation: None,
        parent: None,
        depth: 0,
        kind: SliceKind::Span,
    });
}

/// Two GPUs, three streams, one CPU thread (times in ns):
/// GPU 0 / stream 7: A gemm [1000,1500] kernel, B relu [2000,2100] kernel, C Memcpy HtoD [2100,2500] gpu_memcpy
/// GPU 0 / stream 8: D gemm [1200,2200] kernel, E Memset [3000,3050] gpu_memset
/// GPU 1 / stream 7: F softmax [5000,5300] kernel, G gemm [6000,7500] kernel
/// CPU 100 / thread 100: aten::mm [900,2900] cpu_op
fn kernels() -> Trace {
    let mut t = Trace::new();
    let g0 = process(&mut t, 0, "GPU 0");
    let g1 = process(&mut t, 1, "GPU 1");
    let cpu = process(&mut t, 100, "python");
    let s07 = thread(&mut t, g0, 0, 7, "stream 7");
    let s08 = thread(&mut t, g0, 0, 8, "stream 8");
    let s17 = thread(&mut t, g1, 1, 7, "stream 7");
    let main = thread(&mut t, cpu, 100, 100, "python");
    slice(&mut t, main, "cpu_op", "aten::mm", 900, 2000);
    slice(&mut t, s07, "kernel", "gemm", 1000, 500);
    slice(&mut t, s07, "kernel", "relu", 2000, 100);
    slice(&mut t, s07, "gpu_memcpy", "Memcpy HtoD", 2100, 400);
    slice(&mut t, s08, "kernel", "gemm", 1200, 1000);
    slice(&mut t, s08, "gpu_memset", "Memset", 3000, 50);
    slice(&mut t, s17, "kernel", "softmax", 5000, 300);
    slice(&mut t, s17, "kernel", "gemm", 6000, 1500);
    t
}

fn bundled(db: &Database, name: &str) -> Rows {
    let b = sql::Bundled::find(name).expect("bundled query");
    db.run(name, b.sql, &[]).unwrap()
}

fn verbatim(db: &Database, file: &str) -> Rows {
    let path = manifest_dir().join("tests/sql").join(file);
    let text = std::fs::read_to_string(&path).unwrap();
    db.run(file, &text, &[]).unwrap()
}

fn i(v: i64) -> Value {
    Value::Integer(v)
}
fn r(v: f64) -> Value {
    Value::Real(v)
}
fn s(v: &str) -> Value {
    Value::Text(v.to_owned())
}
const NULL: Value = Value::Null;

/// Rows as comparable text, sorted (for result sets whose ORDER BY has ties).
fn sorted(rows: &Rows) -> Vec<Vec<String>> {
    let mut v: Vec<Vec<String>> = rows
        .rows
        .iter()
        .map(|r| r.iter().map(|c| format!("{c:?}")).collect())
        .collect();
    v.sort();
    v
}

// ------------------------------------------------------- kernel queries

#[test]
fn kernel_stats_by_hand() {
    let db = Database::in_memory(kernels()).unwrap();
    let got = bundled(&db, "kernel-stats");
    assert_eq!(
        got.columns,
        ["avg_us", "max_us", "min_us", "sum_ms", "percent", "count", "name"]
    );
    // kernel + gpu_memcpy total = 500+1000+100+400+300+1500 = 3800 ns.
    // gemm: 500,1000,1500 → avg 1000 ns = 1.0 µs; max 1500/1000 = 1 and min 500/1000 = 0
    // (integer division, as trace processor computes the doc's query); sum 3000 ns = 0.003 ms → 0.0;
    // 300000/3800 = 78.947 → 78.9.
    let want = vec![
        vec![r(1.0), i(1), i(0), r(0.0), r(78.9), i(3), s("gemm")],
        vec![r(0.4), i(0), i(0), r(0.0), r(10.5), i(1), s("Memcpy HtoD")], // 40000/3800 = 10.526
        vec![r(0.3), i(0), i(0), r(0.0), r(7.9), i(1), s("softmax")],      // 7.894
        vec![r(0.1), i(0), i(0), r(0.0), r(2.6), i(1), s("relu")],         // 2.631
    ];
    assert_eq!(got.rows, want);
    assert_eq!(verbatim(&db, "rtp_llm_kernel_stats.sql").rows, want);
}

#[test]
fn idle_gaps_and_total_by_hand() {
    let db = Database::in_memory(kernels()).unwrap();
    let got = bundled(&db, "idle-gaps");
    assert_eq!(got.columns, ["ts", "name", "prev_name", "diff"]);
    // kernel+memcpy in ts order: A 1000+500, D 1200+1000, B 2000+100, C 2100+400, F 5000+300, G 6000+1500.
    let want = vec![
        vec![i(5000), s("softmax"), s("Memcpy HtoD"), i(2500)], // 5000 - 2100 - 400
        vec![i(6000), s("gemm"), s("softmax"), i(700)],         // 6000 - 5000 - 300
        vec![i(2100), s("Memcpy HtoD"), s("relu"), i(0)],       // 2100 - 2000 - 100
        vec![i(2000), s("relu"), s("gemm"), i(-200)],           // 2000 - 1200 - 1000
        vec![i(1200), s("gemm"), s("gemm"), i(-300)],           // 1200 - 1000 - 500
        vec![i(1000), s("gemm"), NULL, NULL],                   // first kernel
    ];
    assert_eq!(got.rows, want);
    assert_eq!(verbatim(&db, "rtp_llm_idle_gaps.sql").rows, want);
    // 2500 + 700 + 0 - 200 - 300 = 2700
    assert_eq!(bundled(&db, "idle-total").rows, vec![vec![i(2700)]]);
    assert_eq!(
        verbatim(&db, "rtp_llm_idle_total.sql").rows,
        vec![vec![i(2700)]]
    );
}

#[test]
fn gpu_idle_by_hand() {
    let db = Database::in_memory(kernels()).unwrap();
    let got = bundled(&db, "gpu-idle");
    assert_eq!(
        got.columns,
        [
            "scope",
            "device",
            "stream",
            "kernels",
            "span_ns",
            "busy_ns",
            "idle_ns",
            "idle_pct",
            "gap_rank",
            "gap_ts",
            "gap_ns",
            "kernel_before",
            "kernel_after"
        ]
    );
    let want = vec![
        // GPU 0: union of [1000,2200] [2000,2500] [3000,3050] → one gap 2500..3000; span 3050-1000.
        // 500/2050 = 24.39 %. The work ending at 2500 is the memcpy.
        vec![
            s("device"),
            s("GPU 0"),
            NULL,
            i(5),
            i(2050),
            i(1550),
            i(500),
            r(24.39),
            i(1),
            i(2500),
            i(500),
            s("Memcpy HtoD"),
            s("Memset"),
        ],
        // GPU 1: gap 5300..6000; span 7500-5000 = 2500; 700/2500 = 28 %.
        vec![
            s("device"),
            s("GPU 1"),
            NULL,
            i(2),
            i(2500),
            i(1800),
            i(700),
            r(28.0),
            i(1),
            i(5300),
            i(700),
            s("softmax"),
            s("gemm"),
        ],
        // GPU 0 stream 7: gap 1500..2000; C starts where B ends (no gap); span 2500-1000; 500/1500.
        vec![
            s("stream"),
            s("GPU 0"),
            s("stream 7"),
            i(3),
            i(1500),
            i(1000),
            i(500),
            r(33.33),
            i(1),
            i(1500),
            i(500),
            s("gemm"),
            s("relu"),
        ],
        // GPU 0 stream 8: gap 2200..3000; span 3050-1200 = 1850; 800/1850 = 43.24 %.
        vec![
            s("stream"),
            s("GPU 0"),
            s("stream 8"),
            i(2),
            i(1850),
            i(1050),
            i(800),
            r(43.24),
            i(1),
            i(2200),
            i(800),
            s("gemm"),
            s("Memset"),
        ],
        vec![
            s("stream"),
            s("GPU 1"),
            s("stream 7"),
            i(2),
            i(2500),
            i(1800),
            i(700),
            r(28.0),
            i(1),
            i(5300),
            i(700),
            s("softmax"),
            s("gemm"),
        ],
    ];
    assert_eq!(got.rows, want);
    // :top limits the gaps per unit; a unit without gaps keeps one row.
    let none = db
        .run(
            "gpu-idle",
            sql::Bundled::find("gpu-idle").unwrap().sql,
            &[("top".into(), "0".into())],
        )
        .unwrap();
    assert_eq!(none.rows.len(), 5);
    assert!(none.rows.iter().all(|r| r[8] == NULL));
}

#[test]
fn kernel_summary_by_hand() {
    let db = Database::in_memory(kernels()).unwrap();
    let got = bundled(&db, "kernel-summary");
    assert_eq!(
        got.columns,
        [
            "Time (%)",
            "Total Time (ns)",
            "Instances",
            "Avg (ns)",
            "Med (ns)",
            "Min (ns)",
            "Max (ns)",
            "StdDev (ns)",
            "Name"
        ]
    );
    // kernels only (no memcpy): total 3400. gemm 3000 → 88.2 %; sample sd of 500,1000,1500 =
    // sqrt((500² + 0 + 500²) / 2) = 500.
    let want = vec![
        vec![
            r(88.2),
            i(3000),
            i(3),
            r(1000.0),
            r(1000.0),
            i(500),
            i(1500),
            r(500.0),
            s("gemm"),
        ],
        vec![
            r(8.8),
            i(300),
            i(1),
            r(300.0),
            r(300.0),
            i(300),
            i(300),
            r(0.0),
            s("softmax"),
        ],
        vec![
            r(2.9),
            i(100),
            i(1),
            r(100.0),
            r(100.0),
            i(100),
            i(100),
            r(0.0),
            s("relu"),
        ],
    ];
    assert_eq!(got.rows, want);
}

// ------------------------------------------------------------- schema

#[test]
fn trace_processor_tables_and_aliases() {
    let db = Database::in_memory(kernels()).unwrap();
    let q = |sql: &str| db.run("test", sql, &[]).unwrap().rows;
    // ids follow ts; cat and slice_id are aliases.
    assert_eq!(
        q("SELECT id, slice_id, ts, cat, category FROM slice ORDER BY id LIMIT 2"),
        vec![
            vec![i(0), i(0), i(900), s("cpu_op"), s("cpu_op")],
            vec![i(1), i(1), i(1000), s("kernel"), s("kernel")]
        ]
    );
    // upid/utid 0 are the unknown rows; real ones start at 1.
    assert_eq!(
        q("SELECT upid, pid, name FROM process ORDER BY upid"),
        vec![
            vec![i(0), NULL, NULL],
            vec![i(1), i(0), s("GPU 0")],
            vec![i(2), i(1), s("GPU 1")],
            vec![i(3), i(100), s("python")]
        ]
    );
    assert_eq!(
        q("SELECT process_name, thread_name, tid, COUNT(*) FROM thread_slice GROUP BY utid ORDER BY utid"),
        vec![
            vec![s("GPU 0"), s("stream 7"), i(7), i(3)],
            vec![s("GPU 0"), s("stream 8"), i(8), i(2)],
            vec![s("GPU 1"), s("stream 7"), i(7), i(2)],
            vec![s("python"), s("python"), i(100), i(1)]
        ]
    );
    assert_eq!(
        q("SELECT is_main_thread FROM thread WHERE tid = 100"),
        vec![vec![i(1)]]
    );
    assert_eq!(
        q("SELECT type, COUNT(*) FROM track GROUP BY type ORDER BY type"),
        vec![
            vec![s("process_track_event"), i(3)],
            vec![s("thread_track_event"), i(4)]
        ]
    );
    for t in [
        "slice",
        "slices",
        "instant",
        "track",
        "thread_track",
        "process_track",
        "counter_track",
        "counter",
        "thread",
        "process",
        "args",
        "flow",
        "thread_slice",
        "process_slice",
        "request",
        "request_segment",
        "warning",
    ] {
        db.run("test", &format!("SELECT * FROM {t} LIMIT 1"), &[])
            .unwrap_or_else(|e| panic!("{t}: {e}"));
    }
}

#[test]
fn lanes_keep_their_thread() {
    // Two kernels crossing on one stream: the layout moves one to a lane
    // track; both still belong to the stream in thread_slice.
    let mut t = Trace::new();
    let g = process(&mut t, 0, "GPU 0");
    let st = thread(&mut t, g, 0, 7, "stream 7");
    slice(&mut t, st, "kernel", "a", 0, 100);
    slice(&mut t, st, "kernel", "b", 50, 100);
    let db = Database::in_memory(t).unwrap();
    let rows = db
        .run(
            "t",
            "SELECT name, thread_name, track_id FROM thread_slice ORDER BY ts",
            &[],
        )
        .unwrap()
        .rows;
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[1][1], s("stream 7"));
    assert_ne!(rows[0][2], rows[1][2], "second kernel is on a lane track");
}

#[test]
fn args_flatten_like_debug_annotations() {
    let mut t = kernels();
    let json = r#"{"External id": 5, "grid": [512, 1, 1], "nested": {"a": 1.5, "b": "x\"y"}, "n": null, "ok": true, "big": 10159970886766084423}"#;
    t.blobs.push(json.to_owned());
    t.slices[1].args = Args::Raw {
        blob: 0,
        start: 0,
        len: json.len() as u32,
    };
    let k = t.intern("note");
    t.slices[2].args = t.add_args([(k, "hello".into())]);
    let db = Database::in_memory(t).unwrap();
    let rows = db
        .run(
            "t",
            "SELECT s.name, a.flat_key, a.key, a.int_value, a.string_value, a.real_value, a.value_type, a.display_value \
             FROM slice s JOIN args a USING (arg_set_id) ORDER BY a.id",
            &[],
        )
        .unwrap()
        .rows;
    let want = vec![
        vec![
            s("gemm"),
            s("debug.External id"),
            s("debug.External id"),
            i(5),
            NULL,
            NULL,
            s("int"),
            s("5"),
        ],
        vec![
            s("gemm"),
            s("debug.grid"),
            s("debug.grid[0]"),
            i(512),
            NULL,
            NULL,
            s("int"),
            s("512"),
        ],
        vec![
            s("gemm"),
            s("debug.grid"),
            s("debug.grid[1]"),
            i(1),
            NULL,
            NULL,
            s("int"),
            s("1"),
        ],
        vec![
            s("gemm"),
            s("debug.grid"),
            s("debug.grid[2]"),
            i(1),
            NULL,
            NULL,
            s("int"),
            s("1"),
        ],
        vec![
            s("gemm"),
            s("debug.nested.a"),
            s("debug.nested.a"),
            NULL,
            NULL,
            r(1.5),
            s("real"),
            s("1.5"),
        ],
        vec![
            s("gemm"),
            s("debug.nested.b"),
            s("debug.nested.b"),
            NULL,
            s("x\"y"),
            NULL,
            s("string"),
            s("x\"y"),
        ],
        vec![
            s("gemm"),
            s("debug.ok"),
            s("debug.ok"),
            i(1),
            NULL,
            NULL,
            s("bool"),
            s("true"),
        ],
        vec![
            s("gemm"),
            s("debug.big"),
            s("debug.big"),
            NULL,
            NULL,
            r(10159970886766084423u64 as f64),
            s("uint"),
            s("10159970886766084423"),
        ],
        vec![
            s("relu"),
            s("debug.note"),
            s("debug.note"),
            NULL,
            s("hello"),
            NULL,
            s("string"),
            s("hello"),
        ],
    ];
    assert_eq!(rows, want);
}

#[test]
fn median_and_percentile_match_numpy_linear() {
    let db = Database::in_memory(Trace::new()).unwrap();
    let q = |sql: &str| db.run("t", sql, &[]).unwrap().rows;
    // numpy.percentile([1, 2, 3, 4], [50, 90]) = [2.5, 3.7]; NULLs ignored.
    let v = "(SELECT 1 AS x UNION ALL SELECT 2 UNION ALL SELECT 3 UNION ALL SELECT 4 UNION ALL SELECT NULL)";
    assert_eq!(
        q(&format!("SELECT median(x), percentile(x, 90) FROM {v}")),
        vec![vec![r(2.5), r(3.0 + 0.7 * 1.0)]]
    );
    assert_eq!(
        q("SELECT median(x) FROM (SELECT 1 AS x) WHERE x > 1"),
        vec![vec![NULL]]
    );
    let e = db
        .run("pct", &format!("SELECT percentile(x, 101) FROM {v}"), &[])
        .unwrap_err()
        .to_string();
    assert!(e.contains("query `pct`") && e.contains("0..100"), "{e}");
}

#[test]
fn bundled_and_verbatim_agree_on_random_traces() {
    // Ties in ts, zero durations, overlaps across streams: the LAG() forms
    // give the same rows as the doc's ROW_NUMBER() self-join.
    let mut seed = 0x9e3779b97f4a7c15u64;
    let mut rnd = |n: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % n
    };
    for _ in 0..20 {
        let mut t = Trace::new();
        let g = process(&mut t, 0, "GPU 0");
        let streams: Vec<TrackId> = (0..3).map(|k| thread(&mut t, g, 0, k, "s")).collect();
        for _ in 0..200 {
            let st = streams[rnd(3) as usize];
            let cat = ["kernel", "gpu_memcpy", "gpu_memset", "cpu_op"][rnd(4) as usize];
            let name = format!("k{}", rnd(5));
            slice(
                &mut t,
                st,
                cat,
                &name,
                rnd(400) as i64 * 10,
                rnd(5) as i64 * 7,
            );
        }
        let db = Database::in_memory(t).unwrap();
        let (b, v) = (
            bundled(&db, "idle-gaps"),
            verbatim(&db, "rtp_llm_idle_gaps.sql"),
        );
        assert_eq!(sorted(&b), sorted(&v));
        assert_eq!(
            bundled(&db, "idle-total").rows,
            verbatim(&db, "rtp_llm_idle_total.sql").rows
        );
        assert_eq!(
            sorted(&bundled(&db, "kernel-stats")),
            sorted(&verbatim(&db, "rtp_llm_kernel_stats.sql"))
        );
    }
}

// ------------------------------------------------ request queries (CLI)

fn query_json(args: &[&str]) -> Vec<J> {
    let mut argv = vec!["query"];
    argv.extend_from_slice(args);
    argv.extend(["--output-format", "json"]);
    let (ok, out, err) = run(&argv);
    assert!(ok, "query failed: {err}");
    serde_json::from_str::<Vec<J>>(&out).unwrap()
}

fn f(j: &J, k: &str) -> f64 {
    j[k].as_f64().unwrap_or_else(|| panic!("{k} in {j}"))
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() < 1e-9
}

#[test]
fn segment_stats_on_the_aggregated_fixture() {
    let agg = fixture("trtllm/aggregated-perf_metrics.json");
    let rows = query_json(&["segment-stats", agg.to_str().unwrap()]);
    let names: Vec<&str> = rows
        .iter()
        .map(|r| r["segment"].as_str().unwrap())
        .collect();
    assert_eq!(
        names,
        [
            "ctx_preprocessing",
            "ctx_queue",
            "ctx_processing",
            "ctx_postprocessing",
            "decode",
            "total to first token"
        ]
    );
    assert!(rows[..5].iter().all(|r| r["role"] == "server"));
    // Absent by cause: 9's server_arrival is null (ctx_preprocessing), its
    // first_scheduled 0.0 (ctx_queue, ctx_processing); 10 has no last token (decode).
    let cause = |i: usize| {
        [
            "absent_missing",
            "absent_null",
            "absent_zero",
            "absent_reversed",
        ]
        .map(|k| rows[i][k].as_i64().unwrap())
    };
    assert_eq!(cause(0), [0, 1, 0, 0]);
    assert_eq!(cause(1), [0, 0, 1, 0]);
    assert_eq!(cause(2), [0, 0, 1, 0]);
    assert_eq!(cause(3), [0, 0, 0, 0]);
    assert_eq!(cause(4), [1, 0, 0, 0]);
    // Total to first token, complete requests only: 7: 1+2+17+1 = 21,
    // 8: 0.5+19.5+30+1.2 = 51.2, 10: 1+1+48+1 = 51; 9 is incomplete.
    let t = &rows[5];
    assert_eq!(
        (t["count"].as_i64(), t["absent"].as_i64()),
        (Some(3), Some(1))
    );
    for (k, v) in [("min_ms", 21.0), ("p50_ms", 51.0), ("max_ms", 51.2)] {
        assert!(close(f(t, k), v), "total {k} = {} ≠ {v}", f(t, k));
    }
    // ctx_queue: 7: 100.001→100.003 = 2 ms; 8: 100.0105→100.030 = 19.5; 9: first_scheduled 0.0 → absent;
    // 10: 1 ms. Sorted [1, 2, 19.5]: p50 2; p90 h = 1.8 → 2 + 0.8·17.5 = 16; p99 h = 1.98 → 19.15.
    let q = &rows[1];
    assert_eq!(
        (q["count"].as_i64(), q["absent"].as_i64()),
        (Some(3), Some(1))
    );
    for (k, v) in [
        ("min_ms", 1.0),
        ("p50_ms", 2.0),
        ("p90_ms", 16.0),
        ("p99_ms", 19.15),
        ("max_ms", 19.5),
        ("mean_ms", 7.5),
    ] {
        assert!(close(f(q, k), v), "ctx_queue {k} = {} ≠ {v}", f(q, k));
    }
    // ctx_preprocessing: 7: 1 ms, 8: 0.5, 9: server_arrival null → absent, 10: 1.
    let p = &rows[0];
    assert_eq!(
        (p["count"].as_i64(), p["absent"].as_i64()),
        (Some(3), Some(1))
    );
    assert!(close(f(p, "mean_ms"), 2.5 / 3.0));
    // decode: 480, 240, 160; request 10 has no last_token_time.
    let d = &rows[4];
    assert_eq!(
        (d["count"].as_i64(), d["absent"].as_i64()),
        (Some(3), Some(1))
    );
    assert!(close(f(d, "p50_ms"), 240.0));
}

#[test]
fn latency_and_slow_requests_on_the_aggregated_fixture() {
    let agg = fixture("trtllm/aggregated-perf_metrics.json");
    let agg = agg.to_str().unwrap();
    let rows = query_json(&["latency", agg]);
    let metrics: Vec<&str> = rows.iter().map(|r| r["metric"].as_str().unwrap()).collect();
    assert_eq!(metrics, ["ttft", "e2e", "queue", "decode"]);
    // ttft = server_first_token − server_arrival: 7: 21 ms, 8: 51.2, 9: arrival null → absent, 10: 51.
    // Sorted [21, 51, 51.2]: p50 51; p90 h = 1.8 → 51 + 0.8·0.2 = 51.16; avg 123.2/3.
    let t = &rows[0];
    assert_eq!(t["count"].as_i64(), Some(3));
    for (k, v) in [
        ("p50_ms", 51.0),
        ("p90_ms", 51.16),
        ("p95_ms", 51.18),
        ("p99_ms", 51.196),
        ("min_ms", 21.0),
        ("max_ms", 51.2),
        ("avg_ms", 123.2 / 3.0),
    ] {
        assert!((f(t, k) - v).abs() < 1e-6, "ttft {k} = {} ≠ {v}", f(t, k));
    }
    // e2e to last_token_time: 7: 500, 8: 290 (9 no arrival, 10 no last token) → p50 395.
    assert_eq!(rows[1]["count"].as_i64(), Some(2));
    assert!(close(f(&rows[1], "p50_ms"), 395.0));

    let slow = query_json(&["slow-requests", agg, "--param", "n=2"]);
    assert_eq!(slow.len(), 2);
    // Slowest by TTFT: 8 (51.2 ms; largest segment ctx_processing 100.030→100.060 = 30 ms),
    // then 10 (51 ms; ctx_processing 100.602→100.650 = 48 ms).
    assert_eq!(slow[0]["label"], "8");
    assert_eq!(slow[0]["largest_segment"], "ctx_processing");
    assert!((f(&slow[0], "largest_segment_ms") - 30.0).abs() < 1e-6);
    assert_eq!(slow[1]["label"], "10");
    assert!((f(&slow[1], "largest_segment_ms") - 48.0).abs() < 1e-6);
}

#[test]
fn request_tables_on_the_disagg_fixture() {
    let dis = fixture("trtllm/disagg-perf_metrics.json");
    let dis = dis.to_str().unwrap();
    let rows = query_json(&[
        "--sql",
        "SELECT kind, ctx_server, gen_request_id, disagg_server_arrival_time AS a, ctx_arrival_time AS ca, \
         gen_kv_cache_transfer_end AS kv FROM request ORDER BY id LIMIT 1",
        dis,
    ]);
    // Record 0: arrival 200.000 s, ctx arrival 200.003 s, kv end 200.058 s → ns.
    assert_eq!(rows[0]["kind"], "disaggregated");
    assert_eq!(rows[0]["ctx_server"], "http://ctx-0:8001");
    assert_eq!(rows[0]["gen_request_id"], 11);
    assert_eq!(rows[0]["a"], 200_000_000_000i64);
    assert_eq!(rows[0]["ca"], 200_003_000_000i64);
    assert_eq!(rows[0]["kv"], 200_058_000_000i64);
    // Record 1 has no ctx half: its ctx segments are absent as `missing`.
    let seg = query_json(&[
        "--sql",
        "SELECT segment, role, start_ts, end_ts, dur, absent_reason FROM request_segment WHERE request_id = 1 ORDER BY seq",
        dis,
    ]);
    assert_eq!(seg.len(), 13);
    assert_eq!(seg[1]["segment"], "ctx_preprocessing");
    assert_eq!(seg[1]["absent_reason"], "missing");
    assert!(seg[1]["dur"].is_null());
    // gen_kv_transfer of record 1: 200.052 → 200.054 = 2 ms.
    let kv = seg
        .iter()
        .find(|r| r["segment"] == "gen_kv_transfer")
        .unwrap();
    assert_eq!(kv["dur"], 2_000_000);
    assert_eq!(kv["role"], "generation servers");
}

// -------------------------------------------------------------- CLI

#[test]
fn output_formats() {
    let agg = fixture("trtllm/aggregated-perf_metrics.json");
    let agg = agg.to_str().unwrap();
    let sql = "SELECT 'a,b' AS x, 'say \"hi\"' AS y, NULL AS z, 1.5 AS w, 3 AS v";
    let (ok, out, _) = run(&["query", "--sql", sql, agg, "--output-format", "csv"]);
    assert!(ok);
    assert_eq!(out, "x,y,z,w,v\n\"a,b\",\"say \"\"hi\"\"\",,1.5,3\n");
    // Not a terminal: CSV by default.
    let (_, out2, _) = run(&["query", "--sql", sql, agg]);
    assert_eq!(out2, out);
    let (ok, out, _) = run(&["query", "--sql", sql, agg, "--output-format", "table"]);
    assert!(ok);
    assert_eq!(out.lines().next().unwrap(), "x    y            z    w  v");
    assert!(out.contains("a,b  say \"hi\"  NULL  1.5  3"), "{out}");
    let (ok, out, _) = run(&["query", "--sql", sql, agg, "--output-format", "json"]);
    assert!(ok);
    let j: J = serde_json::from_str(&out).unwrap();
    assert_eq!(
        j,
        serde_json::json!([{"x": "a,b", "y": "say \"hi\"", "z": null, "w": 1.5, "v": 3}])
    );
}

#[test]
fn errors_name_the_query_and_exit_nonzero() {
    let agg = fixture("trtllm/aggregated-perf_metrics.json");
    let agg = agg.to_str().unwrap();
    let out = assert_cmd::Command::cargo_bin("breakdown-trace")
        .unwrap()
        .args(["query", "--sql", "SELECT * FROM nope", agg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("query `--sql`") && err.contains("no such table: nope"),
        "{err}"
    );

    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.sql");
    std::fs::write(&file, "SELECT nope FROM slice;").unwrap();
    let (ok, _, err) = run(&["query", file.to_str().unwrap(), agg]);
    assert!(!ok);
    assert!(
        err.contains("bad.sql") && err.contains("no such column: nope"),
        "{err}"
    );

    let out = assert_cmd::Command::cargo_bin("breakdown-trace")
        .unwrap()
        .args(["query", "no-such-query", agg])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("idle-gaps"));

    // A bad input is an input error (exit 1), never a panic.
    std::fs::write(dir.path().join("x.json"), "[{\"perf_metrics\": 3").unwrap();
    let out = assert_cmd::Command::cargo_bin("breakdown-trace")
        .unwrap()
        .args([
            "query",
            "latency",
            dir.path().join("x.json").to_str().unwrap(),
        ])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
}

#[test]
fn queries_lists_every_bundled_query() {
    let (ok, out, _) = run(&["queries"]);
    assert!(ok);
    for b in sql::BUNDLED {
        assert!(
            out.lines()
                .any(|l| l.starts_with(b.name) && l.len() > b.name.len() + 10),
            "{out}"
        );
    }
    assert_eq!(out.lines().count(), sql::BUNDLED.len());
}

#[test]
fn every_bundled_query_runs_on_every_fixture() {
    for fx in [
        "trtllm/aggregated-perf_metrics.json",
        "trtllm/disagg-perf_metrics.json",
        "trtllm/perf_metrics-disagg-hostA-4242-20261123T101500Z.jsonl",
    ] {
        for b in sql::BUNDLED {
            let (ok, _, err) = run(&["query", b.name, fixture(fx).to_str().unwrap()]);
            assert!(ok, "{} on {fx}: {err}", b.name);
        }
    }
}

#[test]
fn db_writes_a_sqlite_file_atomically() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("trace.sqlite");
    let dis = fixture("trtllm/disagg-perf_metrics.json");
    let (ok, _, err) = run(&["db", dis.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    assert!(ok, "{err}");
    // Only the target is left in the directory.
    let names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["trace.sqlite"]);
    let conn = rusqlite::Connection::open(&out).unwrap();
    let n: i64 = conn
        .query_row("SELECT COUNT(*) FROM request", [], |r| r.get(0))
        .unwrap();
    let segs: i64 = conn
        .query_row("SELECT COUNT(*) FROM request_segment", [], |r| r.get(0))
        .unwrap();
    assert_eq!(segs, 13 * n);
    let slices: i64 = conn
        .query_row("SELECT COUNT(*) FROM thread_slice", [], |r| r.get(0))
        .unwrap();
    assert_eq!(slices, 0, "request tracks are global tracks");
    // A failing write leaves nothing behind.
    let bad = dir.path().join("missing-dir").join("x.sqlite");
    let (ok, _, _) = run(&["db", dis.to_str().unwrap(), "-o", bad.to_str().unwrap()]);
    assert!(!ok);
}

/// `db` once, `query` and `stats` many times: every bundled query (and
/// `stats`) gives the same rows on the database file as on the inputs it
/// was written from.
#[test]
fn query_reads_a_database_written_by_db() {
    let dir = tempfile::tempdir().unwrap();
    for fx in [
        "trtllm/disagg-perf_metrics.json",
        "chrome/kineto_small.json",
        "aiperf/new-schema.jsonl",
    ] {
        let input = fixture(fx);
        let db = dir.path().join("t.sqlite");
        let (ok, _, err) = run(&["db", input.to_str().unwrap(), "-o", db.to_str().unwrap()]);
        assert!(ok, "{err}");
        for b in sql::BUNDLED {
            let direct = query_json(&[b.name, input.to_str().unwrap()]);
            let stored = query_json(&[b.name, db.to_str().unwrap()]);
            assert_eq!(direct, stored, "{} on {fx}", b.name);
        }
        // The database alone: no other inputs, no clock options.
        let (ok, _, err) = run(&[
            "query",
            "latency",
            db.to_str().unwrap(),
            input.to_str().unwrap(),
        ]);
        assert!(!ok);
        assert!(
            err.contains("is a database written by `db`; give it alone"),
            "{err}"
        );
        let (ok, _, err) = run(&["query", "latency", db.to_str().unwrap(), "--align-start"]);
        assert!(!ok);
        assert!(err.contains("give it alone"), "{err}");
        // `stats` reads it too, with the same sections.
        let (ok, direct, err) = run(&["stats", input.to_str().unwrap(), "--output-format", "json"]);
        assert!(ok, "{err}");
        let (ok, stored, err) = run(&["stats", db.to_str().unwrap(), "--output-format", "json"]);
        assert!(ok, "{err}");
        assert_eq!(direct, stored, "stats on {fx}");
    }
    // Some other SQLite file.
    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE t (x)")
        .unwrap();
    let (ok, _, err) = run(&["query", "latency", other.to_str().unwrap()]);
    assert!(!ok);
    assert!(
        err.contains("not a database written by `breakdown-trace db`"),
        "{err}"
    );
}

#[test]
fn slow_verbatim_form_gets_a_hint_on_big_traces() {
    // The hint needs SLOW_FORM_KERNELS kernels; check the detector and the
    // threshold rather than running the O(n²) form here.
    let text =
        std::fs::read_to_string(manifest_dir().join("tests/sql/rtp_llm_idle_gaps.sql")).unwrap();
    assert_eq!(sql::slow_form_equivalent(&text), Some("idle-gaps"));
    let text =
        std::fs::read_to_string(manifest_dir().join("tests/sql/rtp_llm_idle_total.sql")).unwrap();
    assert_eq!(sql::slow_form_equivalent(&text), Some("idle-total"));
    assert_eq!(
        sql::slow_form_equivalent(sql::Bundled::find("idle-gaps").unwrap().sql),
        None
    );
}

/// trace processor's `EXTRACT_ARG(arg_set_id, key)`: every (slice, arg)
/// pair of a real trace gives back the arg's typed value, in memory and in
/// a db file; an absent key or set gives NULL.
#[test]
fn extract_arg_reads_args_as_trace_processor_does() {
    let f = common::shared("realdata/hta/tests/data/trace_file_list/inference_rank_1.json.gz")
        .display()
        .to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite").display().to_string();
    let (ok, _, err) = run(&["db", &f, "-o", &db]);
    assert!(ok, "{err}");
    let sql = "SELECT COUNT(*) AS pairs, \
               SUM(EXTRACT_ARG(s.arg_set_id, a.key) IS NOT (CASE a.value_type WHEN 'string' THEN a.string_value \
                   WHEN 'real' THEN a.real_value ELSE a.int_value END)) AS wrong, \
               SUM(typeof(EXTRACT_ARG(s.arg_set_id, a.key)) <> CASE a.value_type WHEN 'string' THEN 'text' \
                   WHEN 'real' THEN 'real' ELSE 'integer' END) AS mistyped, \
               (SELECT EXTRACT_ARG(MIN(arg_set_id), 'debug.no such key') FROM slice) AS absent, \
               EXTRACT_ARG(NULL, 'debug.correlation') AS no_set \
               FROM slice s JOIN args a USING (arg_set_id) WHERE a.value_type <> 'uint' OR a.int_value IS NOT NULL";
    for input in [&f, &db] {
        let (ok, out, err) = run(&["query", "--sql", sql, input, "--output-format", "csv"]);
        assert!(ok, "{err}");
        let rows: Vec<Vec<String>> = out
            .lines()
            .map(|l| l.split(',').map(str::to_owned).collect())
            .collect();
        let r = &rows[1];
        assert!(r[0].parse::<i64>().unwrap() > 50, "{rows:?}");
        assert_eq!(&r[1..], ["0", "0", "", ""], "{input}: {rows:?}");
    }
}
