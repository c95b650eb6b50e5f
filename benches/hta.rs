//! Benchmark of the HTA-style bundled queries on a generated Kineto trace:
//! `../shared/bench/gen_kineto.py N` (1M kernels by default; `BENCH_KERNELS=N`
//! changes it, `BENCH_KINETO=FILE` uses an existing trace instead of
//! generating one into the temp directory). Loads the trace, opens the
//! virtual tables, then runs each query once and prints its seconds, then
//! `stats`' sections. `cargo bench --bench hta`.

use std::path::PathBuf;
use std::time::Instant;

use breakdown_trace::ingest;
use breakdown_trace::sql::{self, Database};

const QUERIES: &[&str] = &[
    "kernel-launches",
    "kernel-launch-stats",
    "kernel-type-breakdown",
    "idle-time-breakdown",
    "comm-comp-overlap",
    "queue-length",
    "queue-length-series",
    "profiler-step-stats",
    "cuda-gpu-mem-time-sum",
    "cuda-gpu-mem-size-sum",
    "cuda-api-sum",
    "nvtx-sum",
];

/// This process's CPU time (user + system) in seconds, from /proc (Linux):
/// on a shared machine wall time also counts the other processes' turns.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
    let f: Vec<f64> = after
        .split_whitespace()
        .map(|x| x.parse().unwrap_or(0.0))
        .collect();
    // Fields 14 and 15 of stat (utime, stime) are 12 and 13 after the name.
    (f.get(11).copied().unwrap_or(0.0) + f.get(12).copied().unwrap_or(0.0)) / 100.0
}

fn main() {
    let path = match std::env::var("BENCH_KINETO") {
        Ok(p) => PathBuf::from(p),
        Err(_) => {
            let n: usize = std::env::var("BENCH_KERNELS")
                .ok()
                .and_then(|v| v.parse().ok())
                .unwrap_or(1_000_000);
            let path = std::env::temp_dir().join(format!("bt-bench-kineto-{n}.json"));
            if !path.exists() {
                let script =
                    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/gen_kineto.py");
                let out = std::process::Command::new("python3")
                    .arg(&script)
                    .arg(n.to_string())
                    .output()
                    .expect("python3 runs gen_kineto.py");
                assert!(out.status.success(), "gen_kineto.py failed");
                std::fs::write(&path, &out.stdout).unwrap();
            }
            path
        }
    };
    let t = Instant::now();
    let trace = ingest::load(std::slice::from_ref(&path), None).expect("trace loads");
    println!(
        "load {}: {:.2} s",
        path.display(),
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let db = Database::in_memory(trace).unwrap();
    println!("open: {:.2} s", t.elapsed().as_secs_f64());
    // The tables are built on first read: build them outside the timings.
    let t = Instant::now();
    db.run("warm", "SELECT COUNT(*) FROM gpu_work; SELECT COUNT(*) FROM flow; SELECT COUNT(*) FROM slice WHERE ts < 0", &[])
        .unwrap();
    println!(
        "first read of gpu_work, flow, slice: {:.2} s",
        t.elapsed().as_secs_f64()
    );
    for name in QUERIES {
        let b = sql::Bundled::find(name).unwrap();
        let (t, c) = (Instant::now(), cpu_seconds());
        let rows = db.run(name, b.sql, &[]).unwrap();
        println!(
            "{name}: {:.2} s wall, {:.2} s CPU ({} rows)",
            t.elapsed().as_secs_f64(),
            cpu_seconds() - c,
            rows.rows.len()
        );
    }
    let (t, c) = (Instant::now(), cpu_seconds());
    let sections = sql::sections::sections(&db, false).unwrap();
    println!(
        "stats sections ({}): {:.2} s wall, {:.2} s CPU",
        sections.len(),
        t.elapsed().as_secs_f64(),
        cpu_seconds() - c
    );
}
