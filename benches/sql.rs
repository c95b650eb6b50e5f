//! SQL layer benchmark: opens the virtual tables over a generated trace of
//! 1M GPU kernels (2 devices × 4 streams, kernel and gpu_memcpy, small args
//! on every tenth) and runs the bundled `idle-gaps` and `kernel-stats` (plus
//! `gpu-idle`, `kernel-summary`). Prints the open time and each query's time (the first query
//! also builds the slice numbering it reads). `cargo bench --bench sql`;
//! `BENCH_KERNELS=N` changes the size.

use std::time::Instant;

use breakdown_trace::model::{Args, Slice, SliceKind, Trace, Track, TrackKind};
use breakdown_trace::sql::{self, Database};

fn generate(n: usize) -> Trace {
    let mut t = Trace::new();
    let mut streams = Vec::new();
    for dev in 0..2 {
        let name = t.intern(&format!("GPU {dev}"));
        let p = t.add_track(Track::new(
            name,
            None,
            TrackKind::Process {
                pid: dev,
                labels: vec![],
                sort_index: None,
            },
        ));
        for s in 0..4 {
            let name = t.intern(&format!("stream {}", 7 + s));
            streams.push(t.add_track(Track::new(
                name,
                Some(p),
                TrackKind::Thread {
                    pid: dev,
                    tid: 7 + s as i64,
                    sort_index: None,
                },
            )));
        }
    }
    let names: Vec<_> = (0..200)
        .map(|i| {
            t.intern(&format!(
                "void kernel_{i}<float, 128>(float const*, float*, int)"
            ))
        })
        .collect();
    let (kernel, memcpy) = (t.intern("kernel"), t.intern("gpu_memcpy"));
    let key = t.intern("correlation");
    let mut clock = vec![1_700_000_000_000_000_000i64; streams.len()];
    let mut x = 0x2545f4914f6cdd1du64;
    for i in 0..n {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        let s = i % streams.len();
        let dur = 1_000 + (x % 50_000) as i64;
        let gap = (x >> 20) as i64 % 5_000;
        let ts = clock[s] + gap;
        clock[s] = ts + dur;
        let args = if i % 10 == 0 {
            t.add_args([(key, (i as i64).into())])
        } else {
            Args::None
        };
        t.add_slice(Slice {
            ts,
            dur,
            track: streams[s],
            name: names[(x >> 40) as usize % names.len()],
            category: Some(if i % 20 == 0 { memcpy } else { kernel }),
            args,
            correlation: None,
            parent: None,
            depth: 0,
            kind: SliceKind::Span,
        });
    }
    t
}

fn main() {
    let n: usize = std::env::var("BENCH_KERNELS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let t0 = Instant::now();
    let trace = generate(n);
    println!("generate  {n} kernels in {:.2?}", t0.elapsed());
    let t0 = Instant::now();
    let db = Database::in_memory(trace).unwrap();
    println!(
        "open      {n} kernels in {:.2?} (layout; tables are built by the first query that reads them)",
        t0.elapsed()
    );
    for name in [
        "idle-gaps",
        "idle-total",
        "kernel-stats",
        "kernel-summary",
        "gpu-idle",
    ] {
        let q = sql::Bundled::find(name).unwrap();
        let t0 = Instant::now();
        let rows = db.run(name, q.sql, &[]).unwrap();
        println!(
            "query     {name:<13} {:>8} rows in {:.2?}",
            rows.rows.len(),
            t0.elapsed()
        );
    }
}
