//! Benchmark of `export` over many rank traces (issue "Beyond one machine"):
//! `BENCH_RANKS` (8) generated Kineto traces of `BENCH_KERNELS` (250000)
//! kernels each (`../shared/bench/gen_kineto.py K --rank R --seed 100+R`,
//! cached in the temp directory; `BENCH_RANKS_DIR=DIR` uses the `*.json`
//! traces of DIR instead). Runs the release binary as a user would and
//! prints, each measured by `wait4` on the child (wall s, CPU s, peak RSS):
//!
//! 1. `convert` of every input, one after another, and two at a time;
//! 2. `export DIR -o OUT --jobs 1` and `--jobs 2`, with throughput in input
//!    MB/s, and peak RSS against the bound the README gives (2 × the largest
//!    input × the inputs in flight);
//! 3. DuckDB (`duckdb` from PyPI, in the test suite's venv) running
//!    `views.sql` and then `queries/rank-summary.sql` over the export:
//!    seconds of the query alone, best of 3;
//! 4. with `BENCH_HTA=1`, HTA 0.5.0's multi-rank load (`TraceAnalysis` over
//!    a directory of the first 4 ranks), for comparison.
//!
//! `cargo bench --bench export`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Wall seconds, CPU seconds (user + system) and peak RSS (MB) of one child.
struct Usage {
    wall: f64,
    cpu: f64,
    rss_mb: f64,
}

/// Runs `cmd` to completion, reaping it with `wait4` for its own rusage.
fn measure(cmd: &mut Command) -> Usage {
    cmd.stdout(std::process::Stdio::null());
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: `ru` is a plain C struct that wait4 fills; the child is ours
    // and not waited for elsewhere (std's Child is dropped unwaited).
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = start.elapsed().as_secs_f64();
    assert_eq!(r, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed: status {status}"
    );
    drop(child);
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        wall,
        cpu: secs(ru.ru_utime) + secs(ru.ru_stime),
        rss_mb: ru.ru_maxrss as f64 / 1024.0,
    }
}

fn inputs() -> Vec<PathBuf> {
    if let Ok(dir) = std::env::var("BENCH_RANKS_DIR") {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&dir)
            .expect("BENCH_RANKS_DIR")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        v.sort();
        return v;
    }
    let env = |k: &str, d: usize| {
        std::env::var(k)
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(d)
    };
    let (ranks, kernels) = (env("BENCH_RANKS", 8), env("BENCH_KERNELS", 250_000));
    let dir = std::env::temp_dir().join(format!("bt-bench-ranks-{ranks}x{kernels}"));
    std::fs::create_dir_all(&dir).unwrap();
    let script = common::manifest_dir().join("../shared/bench/gen_kineto.py");
    (0..ranks)
        .map(|r| {
            let path = dir.join(format!("rank-{r}.json"));
            if !path.exists() {
                eprintln!("generating {}", path.display());
                let out = Command::new("python3")
                    .arg(&script)
                    .arg(kernels.to_string())
                    .args(["--rank", &r.to_string(), "--seed", &(100 + r).to_string()])
                    .output()
                    .expect("python3 runs gen_kineto.py");
                assert!(out.status.success(), "gen_kineto.py failed");
                let tmp = path.with_extension("json.part");
                std::fs::write(&tmp, &out.stdout).unwrap();
                std::fs::rename(&tmp, &path).unwrap();
            }
            path
        })
        .collect()
}

fn mb(bytes: u64) -> f64 {
    bytes as f64 / 1e6
}

fn dir_bytes(dir: &Path) -> u64 {
    let mut n = 0;
    for e in std::fs::read_dir(dir).unwrap() {
        let e = e.unwrap();
        let m = e.metadata().unwrap();
        n += if m.is_dir() {
            dir_bytes(&e.path())
        } else {
            m.len()
        };
    }
    n
}

fn main() {
    let bin = env!("CARGO_BIN_EXE_breakdown-trace");
    let inputs = inputs();
    assert!(!inputs.is_empty(), "no inputs");
    let sizes: Vec<u64> = inputs
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().len())
        .collect();
    let total = sizes.iter().sum::<u64>();
    let largest = *sizes.iter().max().unwrap();
    println!(
        "{} inputs, {:.0} MB in all, largest {:.0} MB",
        inputs.len(),
        mb(total),
        mb(largest)
    );
    let work = tempfile::tempdir().unwrap();

    // 1. convert, one input after another, then two at a time.
    let (mut wall, mut cpu, mut rss) = (0.0, 0.0, 0.0f64);
    for (i, p) in inputs.iter().enumerate() {
        let out = work.path().join(format!("{i}.pftrace"));
        let u = measure(
            Command::new(bin)
                .args(["-q", "convert"])
                .arg(p)
                .arg("-o")
                .arg(&out),
        );
        (wall, cpu, rss) = (wall + u.wall, cpu + u.cpu, rss.max(u.rss_mb));
        std::fs::remove_file(&out).unwrap();
    }
    println!(
        "convert, one at a time: {wall:.1} s wall, {cpu:.1} s CPU, peak {rss:.0} MB; {:.0} MB/s",
        mb(total) / wall
    );
    let start = Instant::now();
    let mut cpu2 = 0.0;
    for pair in inputs.chunks(2) {
        let handles: Vec<_> = pair
            .iter()
            .enumerate()
            .map(|(j, p)| {
                let out = work.path().join(format!("pair{j}.pftrace"));
                let p = p.clone();
                std::thread::spawn(move || {
                    measure(
                        Command::new(bin)
                            .args(["-q", "convert"])
                            .arg(&p)
                            .arg("-o")
                            .arg(&out),
                    )
                })
            })
            .collect();
        for h in handles {
            cpu2 += h.join().unwrap().cpu;
        }
    }
    let wall2 = start.elapsed().as_secs_f64();
    println!(
        "convert, two at a time: {wall2:.1} s wall, {cpu2:.1} s CPU; {:.0} MB/s",
        mb(total) / wall2
    );

    // 2. export, one input in flight and two.
    let dir = work.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    for p in &inputs {
        std::os::unix::fs::symlink(p, dir.join(p.file_name().unwrap())).unwrap();
    }
    let out = work.path().join("export.d");
    for jobs in [1usize, 2] {
        let _ = std::fs::remove_dir_all(&out);
        let u = measure(
            Command::new(bin)
                .args(["-q", "export"])
                .arg(&dir)
                .arg("-o")
                .arg(&out)
                .args(["--jobs", &jobs.to_string()]),
        );
        let bound = 2.0 * mb(largest) * jobs as f64;
        println!(
            "export --jobs {jobs}: {:.1} s wall, {:.1} s CPU, peak {:.0} MB (bound 2 × {:.0} MB × {jobs} = {bound:.0} MB); \
             {:.0} MB/s; output {:.0} MB",
            u.wall,
            u.cpu,
            u.rss_mb,
            mb(largest),
            mb(total) / u.wall,
            mb(dir_bytes(&out))
        );
    }

    // 3. DuckDB over the export.
    match common::python_with("duckdb", &["duckdb==2.0.1"]) {
        None => println!("duckdb: skipped (see the message above)"),
        Some(python) => {
            let query =
                std::fs::read_to_string(common::manifest_dir().join("queries/rank-summary.sql"))
                    .unwrap();
            let script = r#"
import duckdb, sys, time
con = duckdb.connect()
t = time.perf_counter()
con.execute(open(sys.argv[1]).read())
views = time.perf_counter() - t
q = open(sys.argv[2]).read()
best = None
for _ in range(3):
    t = time.perf_counter()
    rows = con.execute(q).fetchall()
    d = time.perf_counter() - t
    best = d if best is None else min(best, d)
print(f"duckdb {duckdb.__version__}: views.sql {views:.2f} s; rank-summary best of 3 {best:.3f} s, {len(rows)} rows")
for r in rows:
    print("  ", r)
"#;
            let qfile = work.path().join("rank-summary.sql");
            std::fs::write(&qfile, query).unwrap();
            let o = Command::new(python)
                .arg("-c")
                .arg(script)
                .arg(out.join("views.sql"))
                .arg(&qfile)
                .output()
                .unwrap();
            print!("{}", String::from_utf8_lossy(&o.stdout));
            assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        }
    }

    // 4. HTA's multi-rank load, for comparison.
    if std::env::var("BENCH_HTA").is_ok_and(|v| v == "1") {
        let Some(python) = common::python_with(
            "hta",
            &[
                "HolisticTraceAnalysis==0.5.0",
                "pandas==3.1.1",
                "numpy==2.4.6",
                "plotly==7.1.0",
            ],
        ) else {
            println!("hta: skipped");
            return;
        };
        let hdir = work.path().join("hta");
        std::fs::create_dir(&hdir).unwrap();
        for p in inputs.iter().take(4) {
            std::os::unix::fs::symlink(p, hdir.join(p.file_name().unwrap())).unwrap();
        }
        let u = measure(Command::new(python).arg("-c").arg(
            "import sys\nfrom hta.trace_analysis import TraceAnalysis\nTraceAnalysis(trace_dir=sys.argv[1])",
        ).arg(&hdir));
        println!(
            "HTA 0.5.0 TraceAnalysis over {} ranks: {:.1} s wall, {:.1} s CPU, peak {:.0} MB",
            inputs.len().min(4),
            u.wall,
            u.cpu,
            u.rss_mb
        );
    }
}
