//! Benchmark: a generated Kineto-style trace with 1M GPU kernels (plus their
//! launching runtime calls and ac2g flows) through the real path
//! load → layout → write. Prints events/s, MB/s and peak RSS.
//!
//! `cargo bench --bench chrome_json` (optional argument: kernel count;
//! `--write FILE` writes the generated trace to FILE instead, for measuring
//! the command line on it).

use std::io::Write;
use std::time::Instant;

use breakdown_trace::ingest::{self, Format, Input};
use breakdown_trace::perfetto;

fn generate(kernels: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(kernels * 700);
    out.extend_from_slice(
        br#"{"schemaVersion": 1, "displayTimeUnit": "ms", "baseTimeNanoseconds": 1700000000000000000, "traceEvents": [
{"ph": "M", "name": "process_name", "pid": 4242, "tid": 0, "args": {"name": "python3"}},
{"ph": "M", "name": "process_labels", "pid": 0, "tid": 0, "args": {"labels": "GPU 0"}},
{"ph": "M", "name": "thread_name", "pid": 0, "tid": 7, "args": {"name": "stream 7 "}}"#,
    );
    let names = [
        "void at::native::vectorized_elementwise_kernel<4, at::native::CUDAFunctor_add<float>, at::detail::Array<char*, 3> >(int, at::native::CUDAFunctor_add<float>, at::detail::Array<char*, 3>)",
        "ampere_sgemm_128x64_tn",
        "void flash_fwd_kernel<Flash_fwd_kernel_traits<128, 128, 64, 4, false, false, cutlass::half_t> >(Flash_fwd_params)",
        "ncclDevKernel_AllReduce_Sum_f32_RING_LL(ncclDevComm*, unsigned long, ncclWork*)",
    ];
    for i in 0..kernels {
        // Launch every 2 µs on the CPU, kernels 1.5 µs long on streams 7/20.
        let t = 1000 + i as u64 * 2000; // ns
        let corr = 100_000 + i;
        let stream = if i % 4 == 3 { 20 } else { 7 };
        let name = names[i % names.len()];
        write!(
            out,
            r#",
{{"ph": "X", "cat": "cuda_runtime", "name": "cudaLaunchKernel", "pid": 4242, "tid": 4243, "ts": {}.{:03}, "dur": 0.800, "args": {{"External id": {}, "cbid": 211, "correlation": {corr}}}}},
{{"ph": "s", "id": {corr}, "pid": 4242, "tid": 4243, "ts": {}.{:03}, "cat": "ac2g", "name": "ac2g"}},
{{"ph": "X", "cat": "kernel", "name": "{name}", "pid": 0, "tid": {stream}, "ts": {}.{:03}, "dur": 1.500, "args": {{"External id": {}, "queued": 0, "device": 0, "context": 1, "stream": {stream}, "correlation": {corr}, "registers per thread": 32, "shared memory": 0, "blocks per SM": 0.5, "warps per SM": 2.0, "grid": [{}, 1, 1], "block": [128, 1, 1], "est. achieved occupancy %": 3}}}},
{{"ph": "f", "id": {corr}, "pid": 0, "tid": {stream}, "ts": {}.{:03}, "cat": "ac2g", "name": "ac2g", "bp": "e"}}"#,
            t / 1000,
            t % 1000,
            i / 8,
            t / 1000,
            t % 1000,
            (t + 900) / 1000,
            (t + 900) % 1000,
            i / 8,
            1 + i % 512,
            (t + 900) / 1000,
            (t + 900) % 1000,
        )
        .unwrap();
    }
    out.extend_from_slice(b"\n]}\n");
    out
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1)?.parse().ok())
        })
        .unwrap_or(0)
}

/// CPU seconds (user + system) this process has used, all threads.
fn cpu_s() -> f64 {
    std::fs::read_to_string("/proc/self/stat")
        .ok()
        .and_then(|s| {
            let f: Vec<u64> = s
                .rsplit(')')
                .next()?
                .split_whitespace()
                .skip(11)
                .take(2)
                .filter_map(|x| x.parse().ok())
                .collect();
            Some((f.first()? + f.get(1)?) as f64 / 100.0)
        })
        .unwrap_or(0.0)
}

fn main() {
    let kernels: usize = std::env::args()
        .skip(1)
        .find_map(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let t0 = Instant::now();
    let json = generate(kernels);
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--write") {
        let path = args.get(i + 1).expect("--write FILE");
        std::fs::write(path, &json).unwrap();
        eprintln!("wrote {} ({} bytes)", path, json.len());
        return;
    }
    let gen_s = t0.elapsed().as_secs_f64();
    let input_bytes = json.len();
    let rss_before = peak_rss_kib();
    // Events in the file: 4 per kernel (launch, s, kernel, f) + 3 metadata.
    let events = kernels * 4 + 3;
    eprintln!(
        "generated {kernels} kernels, {events} events, {:.1} MB in {gen_s:.2} s (peak RSS so far {:.1} MB)",
        input_bytes as f64 / 1e6,
        rss_before as f64 / 1024.0
    );

    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("bench.pftrace");
    let t = Instant::now();
    let cpu0 = cpu_s();
    let input = Input::from_bytes("generated.json", json);
    let mut trace = ingest::load_inputs(vec![(input, Format::ChromeJson)]).unwrap();
    let load_s = t.elapsed().as_secs_f64();
    let cpu_load = cpu_s() - cpu0;
    let rss_load = peak_rss_kib();
    breakdown_trace::model::layout::lay_out(&mut trace);
    let layout_s = t.elapsed().as_secs_f64() - load_s;
    let stats = perfetto::write_file(&mut trace, &out).unwrap();
    let total_s = t.elapsed().as_secs_f64();
    let cpu_total = cpu_s() - cpu0;
    let peak = peak_rss_kib() as f64 * 1024.0;
    assert_eq!(trace.slices.len(), kernels * 2);
    assert_eq!(trace.flows.len(), kernels);
    println!(
        "chrome_json: {kernels} kernels, {events} events, input {:.1} MB, output {:.1} MB",
        input_bytes as f64 / 1e6,
        stats.bytes as f64 / 1e6
    );
    println!(
        "  load {load_s:.2} s (peak RSS {:.1} MB), layout {layout_s:.2} s, write {:.2} s, total {total_s:.2} s",
        rss_load as f64 / 1024.0,
        total_s - load_s - layout_s
    );
    println!(
        "  CPU time: load {cpu_load:.2} s, all {cpu_total:.2} s on {} threads",
        rayon::current_num_threads()
    );
    println!(
        "  {:.2} M events/s, {:.1} MB/s (uncompressed input)",
        events as f64 / total_s / 1e6,
        input_bytes as f64 / total_s / 1e6
    );
    println!(
        "  peak RSS {:.1} MB = {:.2}x input (incl. the generated input buffer)",
        peak / 1e6,
        peak / input_bytes as f64
    );
}
