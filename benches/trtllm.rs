//! Benchmark: convert a generated 100k-request disaggregated `/perf_metrics`
//! dump (4 context servers, 2 generation servers, ~300 requests in flight)
//! to .pftrace and print requests/s and peak memory.
//!
//! Run: `cargo bench --bench trtllm` (optionally `-- 200000` for the count).
//! The conversion runs in a child process so its peak RSS is not polluted by
//! generating the input.

use std::fmt::Write as _;
use std::path::Path;
use std::time::Instant;

use breakdown_trace::{ingest, model::layout, perfetto};

fn generate(n: usize) -> String {
    let mut s = String::with_capacity(n * 1600);
    s.push('[');
    // Deterministic pseudo-random jitter.
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = |m: u64| {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x % m
    };
    for i in 0..n {
        let t0 = 1000.0 + i as f64 * 0.01; // 100 requests/s
        let ms = |v: u64| v as f64 / 1000.0;
        let d_pre = ms(1 + rnd(3));
        let c_arr = t0 + d_pre;
        let c_enq = c_arr + ms(1);
        let c_sched = c_enq + ms(rnd(40));
        let c_tok = c_sched + ms(20 + rnd(60));
        let c_sft = c_tok + ms(1);
        let g_arr = c_sft + ms(2);
        let g_enq = g_arr + ms(1);
        let kv_s = g_enq + ms(rnd(5));
        let kv_e = kv_s + ms(5 + rnd(10));
        let g_sched = kv_e + ms(1);
        let g_tok = g_sched + ms(1);
        let g_sft = g_tok + ms(1);
        let g_last = g_tok + ms(1000 + rnd(3000));
        let d_ft = g_sft + ms(1);
        if i > 0 {
            s.push(',');
        }
        let _ = write!(
            s,
            r#"{{"ctx_server":"http://ctx-{c}:8001","gen_server":"http://gen-{g}:8002","disagg_server_arrival_time":{t0:.9},"disagg_server_first_token_time":{d_ft:.9},
"ctx_perf_metrics":{{"request_id":{i},"ctx_request_id":{i},"perf_metrics":{{"first_iter":{i},"last_iter":{i},"timing_metrics":{{"server_arrival_time":{c_arr:.9},"arrival_time":{c_enq:.9},"first_scheduled_time":{c_sched:.9},"first_token_time":{c_tok:.9},"server_first_token_time":{c_sft:.9},"last_token_time":{c_tok:.9}}},"kv_cache_metrics":{{"num_total_allocated_blocks":4,"num_new_allocated_blocks":4,"num_reused_blocks":0,"num_missed_blocks":4}}}}}},
"gen_perf_metrics":{{"request_id":{i},"ctx_request_id":{i},"perf_metrics":{{"first_iter":{i},"last_iter":{l},"timing_metrics":{{"server_arrival_time":{g_arr:.9},"arrival_time":{g_enq:.9},"first_scheduled_time":{g_sched:.9},"first_token_time":{g_tok:.9},"server_first_token_time":{g_sft:.9},"last_token_time":{g_last:.9},"kv_cache_size":1048576,"kv_cache_transfer_start":{kv_s:.9},"kv_cache_transfer_end":{kv_e:.9}}},"kv_cache_metrics":{{"num_total_allocated_blocks":8,"num_new_allocated_blocks":8,"num_reused_blocks":0,"num_missed_blocks":8}}}}}}}}"#,
            c = i % 4,
            g = i % 2,
            l = i + 100,
        );
    }
    s.push(']');
    s
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        })
        .unwrap_or(0)
}

fn child(input: &Path, n: usize) {
    let out = input.with_extension("pftrace");
    let t = Instant::now();
    let mut trace = ingest::load(&[input.to_owned()], None).expect("load");
    let t_load = t.elapsed();
    let rss_load = peak_rss_kib();
    layout::lay_out(&mut trace);
    let t_layout = t.elapsed();
    let rss_layout = peak_rss_kib();
    let stats = perfetto::write_file(&mut trace, &out).expect("write");
    let total = t.elapsed();
    let in_bytes = std::fs::metadata(input).unwrap().len();
    println!("requests            {n}");
    println!("slices              {}", trace.slices.len());
    println!("input               {:.1} MB", in_bytes as f64 / 1e6);
    println!(
        "output              {:.1} MB ({} packets)",
        stats.bytes as f64 / 1e6,
        stats.packets
    );
    println!(
        "time                load {:.2} s, layout {:.2} s, write {:.2} s, total {:.2} s",
        t_load.as_secs_f64(),
        (t_layout - t_load).as_secs_f64(),
        (total - t_layout).as_secs_f64(),
        total.as_secs_f64()
    );
    println!(
        "throughput          {:.0} requests/s",
        n as f64 / total.as_secs_f64()
    );
    println!(
        "peak RSS            {:.1} MB (after load {:.1} MB, after layout {:.1} MB)",
        peak_rss_kib() as f64 / 1024.0,
        rss_load as f64 / 1024.0,
        rss_layout as f64 / 1024.0
    );
    let _ = std::fs::remove_file(out);
}

fn main() {
    if let Ok(path) = std::env::var("BREAKDOWN_BENCH_CHILD") {
        let n = std::env::var("BREAKDOWN_BENCH_N").unwrap().parse().unwrap();
        child(Path::new(&path), n);
        return;
    }
    let n: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("perf_metrics.json");
    std::fs::write(&input, generate(n)).unwrap();
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .env("BREAKDOWN_BENCH_CHILD", &input)
        .env("BREAKDOWN_BENCH_N", n.to_string())
        .status()
        .unwrap();
    assert!(status.success());
}
