//! Kineto / Chrome trace JSON → .pftrace, checked by decoding the output with
//! the upstream Perfetto schema. Fixture expectations are computed by hand
//! (see comments); real-file expectations come from an independent pass over
//! the input with `serde_json::Value`.

mod common;

use std::collections::HashMap;
use std::io::Read;
use std::path::{Path, PathBuf};

use common::{decode, fixture, run, shared, DSlice, Decoded, Val};
use serde_json::Value;

fn convert_path(input: &Path) -> (Decoded, String) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let (ok, _, stderr) = run(&[
        "convert",
        &input.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert!(ok, "convert {} failed: {stderr}", input.display());
    (decode(&out), stderr)
}

/// Slices of the input: everything but the writer's provenance instant.
fn input_slices(d: &Decoded) -> Vec<&DSlice> {
    d.slices
        .iter()
        .filter(|s| d.track(s.track).name != "breakdown-trace")
        .collect()
}

/// The thread track a slice sits on (walking up from a lane track).
fn thread_of(d: &Decoded, track: u64) -> &common::DTrack {
    let mut t = d.track(track);
    while t.tid.is_none() {
        t = d.track(t.parent.expect("slice below a thread track"));
    }
    t
}

fn process_name(d: &Decoded, pid: i32) -> &str {
    &d.tracks
        .iter()
        .find(|t| t.pid == Some(pid) && t.tid.is_none())
        .expect("process track")
        .name
}

const BASE: u64 = 1_700_000_000_000_000_000;
const US: u64 = 1_000;

#[test]
fn kineto_small_fixture() {
    let (d, stderr) = convert_path(&fixture("chrome/kineto_small.json"));
    let slices = input_slices(&d);
    // 5 X + 1 B/E pair; 2 instants (thread `[memory]`, global `Record Window End`).
    assert_eq!(slices.iter().filter(|s| !s.instant).count(), 6);
    assert_eq!(slices.iter().filter(|s| s.instant).count(), 2);

    let one = |name: &str| -> &DSlice {
        let v: Vec<_> = slices.iter().filter(|s| s.name == name).collect();
        assert_eq!(v.len(), 1, "{name}");
        v[0]
    };
    // baseTimeNanoseconds + ts µs (3 decimals) → exact ns.
    let add = one("aten::add");
    assert_eq!((add.ts, add.dur), (BASE + 10 * US, 20_500));
    assert_eq!(add.category, "cpu_op");
    assert_eq!(add.args["External id"], Val::Int(5));
    let launch = one("cudaLaunchKernel");
    assert_eq!((launch.ts, launch.dur), (BASE + 12_250, 5_125));
    let k = one("add_kernel");
    assert_eq!((k.ts, k.dur), (BASE + 20_001, 3_000));
    assert_eq!(k.category, "kernel");
    assert_eq!(k.args["device"], Val::Int(0));
    assert_eq!(k.args["grid[0]"], Val::Int(4));
    assert_eq!(k.args["blocks per SM"], Val::Real(0.5));
    let step = one("step");
    assert_eq!((step.ts, step.dur), (BASE + 5 * US, 35_000));
    assert_eq!(step.args["step"], Val::Int(1));
    assert_eq!(one("Memcpy HtoD (Pageable -> Device)").dur, 0);

    // Placement: GPU 0 / stream 7 (trailing space trimmed); CPU keeps names.
    let kt = thread_of(&d, k.track);
    assert_eq!(
        (kt.pid, kt.tid, kt.name.as_str()),
        (Some(0), Some(7), "stream 7")
    );
    assert_eq!(process_name(&d, 0), "GPU 0");
    let at = thread_of(&d, add.track);
    assert_eq!(
        (at.pid, at.tid, at.name.as_str()),
        (Some(4242), Some(4243), "python3")
    );
    assert_eq!(process_name(&d, 4242), "python3");
    // GPU 1 only has metadata: no track for it.
    assert!(!d.tracks.iter().any(|t| t.name == "GPU 1"));

    // crossing_kernel [22.000, 26.000] starts 1.001 µs before add_kernel
    // [20.001, 23.001] ends, on the same stream: more than the 1 µs of
    // timing noise, so a profiler artifact (overlapping_gpu_work) that moves
    // to a lane of its own below stream 7, with its timestamps untouched.
    let c = one("crossing_kernel");
    assert_eq!((c.ts, c.dur), (BASE + 22 * US, 4 * US));
    assert_ne!(c.track, k.track);
    let lane = d.track(c.track);
    assert_eq!(lane.name, "stream 7 (profiler artifacts)");
    assert_eq!(d.track(lane.parent.unwrap()).tid, Some(7));
    assert!(
        stderr.contains("overlapping_gpu_work                1"),
        "{stderr}"
    );
    assert!(stderr.contains("slices moved to lanes=0"), "{stderr}");

    // Nesting on the CPU thread: step ⊃ aten::add ⊃ cudaLaunchKernel ⊃ [memory].
    assert_eq!(add.depth, 1);
    assert_eq!(launch.depth, 2);
    let mem = one("[memory]");
    assert!(mem.instant);
    assert_eq!((mem.ts, mem.depth), (BASE + 15 * US, 3));
    let rwe = one("Record Window End");
    assert_eq!(d.track(rwe.track).name, "global");

    // One ac2g flow: launch → kernel.
    let flows = d.flows();
    assert_eq!(flows.len(), 1);
    assert_eq!(d.slices[flows[0].0].name, "cudaLaunchKernel");
    assert_eq!(d.slices[flows[0].1].name, "add_kernel");

    // Counter `memory` (one series → named after the event), string number parsed.
    let mt = d
        .tracks
        .iter()
        .find(|t| t.is_counter)
        .expect("counter track");
    assert_eq!(mt.name, "memory");
    let vals: Vec<(u64, f64)> = d
        .counters
        .iter()
        .filter(|c| c.0 == mt.uuid)
        .map(|c| (c.1, c.2))
        .collect();
    assert_eq!(
        vals,
        vec![(BASE + 16 * US, 1024.0), (BASE + 18 * US, 2048.0)]
    );
}

#[test]
fn quirks_fixture() {
    let (d, stderr) = convert_path(&fixture("chrome/quirks.json"));
    let slices = input_slices(&d);
    // 5 X (Trace, neg, zero, cudaLaunchKernel, legacy_kernel) and the
    // never-ending B, kept as unfinished; the unmatched E is a warning.
    assert_eq!(slices.len(), 6);
    assert!(stderr.contains("unmatched_end"), "{stderr}");
    assert!(stderr.contains("unmatched_begin"), "{stderr}");
    let one = |name: &str| -> &DSlice { slices.iter().find(|s| s.name == name).unwrap() };
    // Nothing later on its thread: it ends where it starts.
    let never = one("never_ends");
    assert_eq!((never.ts, never.dur), (1_712_195_495_505_600_000, 0));
    assert_eq!(never.args["unfinished"], Val::Bool(true));

    // Absolute epoch µs with 3 decimals: exact ns (f64 would give …543232).
    let span = one("PyTorch Profiler (0)");
    assert_eq!((span.ts, span.dur), (1_712_195_495_505_543_217, 100_500));
    // String pid/tid → synthetic int32 ids, names kept.
    let st = thread_of(&d, span.track);
    assert_eq!(st.name, "PyTorch Profiler");
    let spid = st.pid.unwrap();
    assert!((0x4000_0000..0x6000_0000).contains(&spid), "{spid:#x}");
    assert_eq!(process_name(&d, spid), "Spans");

    // String-typed numbers, negative tid, big integers in args.
    let neg = one("neg");
    assert_eq!((neg.ts, neg.dur), (1_712_195_495_505_550_001, 2_500));
    let nt = thread_of(&d, neg.track);
    assert_eq!((nt.pid, nt.tid), (Some(77), Some(-549452224)));
    assert_eq!(process_name(&d, 77), "trainer");
    assert_eq!(neg.args["Comms Id"], Val::Uint(10159970886766084423));
    assert_eq!(neg.args["size"], Val::Str("2560".into()));
    assert_eq!(neg.args["stream"], Val::Str("0x0".into()));
    assert_eq!(neg.args["nested.a[1]"], Val::Int(2));
    assert_eq!(one("zero").dur, 0);

    // Legacy `Kernel` category: its pid becomes a GPU process.
    let k = one("legacy_kernel");
    assert_eq!(k.category, "Kernel");
    let kt = thread_of(&d, k.track);
    assert_eq!((kt.name.as_str(), kt.tid), ("stream 7", Some(7)));
    assert_eq!(process_name(&d, 0), "GPU 0");
    // Legacy async_gpu flow whose `f` precedes its `s` in the file.
    let flows = d.flows();
    assert_eq!(flows.len(), 1);
    assert_eq!(d.slices[flows[0].0].name, "cudaLaunchKernel");
    assert_eq!(d.slices[flows[0].1].name, "legacy_kernel");
}

#[test]
fn bad_timestamp_is_an_error_naming_event_and_field() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let (ok, _, stderr) = run(&[
        "convert",
        &fixture("chrome/bad_ts.json").display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("bad_ts.json"), "{stderr}");
    assert!(stderr.contains("record 1"), "{stderr}");
    assert!(stderr.contains("traceEvents[1].ts"), "{stderr}");
    assert!(!out.exists(), "no output on error");
}

#[test]
fn truncated_json_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("cut.json");
    let text = std::fs::read_to_string(fixture("chrome/kineto_small.json")).unwrap();
    std::fs::write(&input, &text[..text.len() / 2]).unwrap();
    let out = dir.path().join("out.pftrace");
    let (ok, _, stderr) = run(&[
        "convert",
        &input.display().to_string(),
        "-o",
        &out.display().to_string(),
    ]);
    assert!(!ok);
    assert!(stderr.contains("cut.json"), "{stderr}");
}

// ---------------------------------------------------------------- real files

fn real_files() -> Vec<PathBuf> {
    let out = common::files_ending(&shared("realdata/hta"), ".json.gz");
    assert!(out.len() >= 9, "real Chrome traces found: {out:?}");
    out
}

fn read_json(path: &Path) -> Value {
    let mut text = String::new();
    flate2::read::GzDecoder::new(std::fs::File::open(path).unwrap())
        .read_to_string(&mut text)
        .unwrap();
    serde_json::from_str(&text).unwrap()
}

fn id_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

struct Expected {
    spans: usize,
    instants: usize,
    flows: usize,
}

/// Straightforward pass over the events, independent of the importer.
fn expected(events: &[Value]) -> Expected {
    let mut spans = 0;
    let mut instants = 0;
    let mut open: HashMap<(String, String), usize> = HashMap::new();
    let mut flow_groups: HashMap<(String, String), (usize, usize, usize)> = HashMap::new();
    for e in events {
        let ph = e["ph"].as_str().unwrap_or("");
        let key = || (id_text(&e["pid"]), id_text(&e["tid"]));
        match ph {
            "X" => spans += 1,
            "B" => *open.entry(key()).or_default() += 1,
            "E" => {
                let n = open.entry(key()).or_default();
                if *n > 0 {
                    *n -= 1;
                    spans += 1;
                }
            }
            "i" | "I" => instants += 1,
            "s" | "t" | "f" => {
                let g = flow_groups
                    .entry((id_text(&e["cat"]), id_text(&e["id"])))
                    .or_default();
                match ph {
                    "s" => g.0 += 1,
                    "t" => g.1 += 1,
                    _ => g.2 += 1,
                }
            }
            _ => {}
        }
    }
    // Real Kineto files: one s and one f per correlation id when matched.
    let flows = flow_groups
        .values()
        .filter(|g| g.0 == 1 && g.1 == 0 && g.2 == 1)
        .count();
    assert!(
        flow_groups.values().all(|g| g.1 == 0 && g.0 <= 1),
        "real files have no t steps or repeated starts"
    );
    Expected {
        spans,
        instants,
        flows,
    }
}

#[test]
fn real_kineto_traces_convert_faithfully() {
    for path in real_files() {
        let json = read_json(&path);
        let (events, base) = match &json {
            Value::Array(a) => (a.as_slice(), 0u64),
            Value::Object(o) => (
                o["traceEvents"].as_array().unwrap().as_slice(),
                o.get("baseTimeNanoseconds")
                    .and_then(Value::as_u64)
                    .unwrap_or(0),
            ),
            _ => panic!("{}: not a trace", path.display()),
        };
        let exp = expected(events);
        let (d, stderr) = convert_path(&path);
        let name = path.display();
        let slices = input_slices(&d);
        assert_eq!(
            slices.iter().filter(|s| !s.instant).count(),
            exp.spans,
            "{name}: spans"
        );
        assert_eq!(
            slices.iter().filter(|s| s.instant).count(),
            exp.instants,
            "{name}: instants"
        );
        assert_eq!(d.flows().len(), exp.flows, "{name}: flows");
        // decode() already asserted no crossing slices on any track.

        // Every flow goes from a CPU slice to a slice on another thread;
        // ac2g-style flows end on GPU work.
        for (from, to) in d.flows() {
            let (a, b) = (&d.slices[from], &d.slices[to]);
            assert!(a.ts <= b.ts + 1_000, "{name}: flow goes back in time");
        }

        // Sample of GPU events: name, category, placement, times.
        let mut by_name: HashMap<&str, Vec<&DSlice>> = HashMap::new();
        for s in &slices {
            by_name.entry(s.name.as_str()).or_default().push(s);
        }
        let gpu: Vec<&Value> = events
            .iter()
            .filter(|e| {
                e["ph"] == "X"
                    && matches!(
                        e["cat"].as_str(),
                        Some("kernel" | "gpu_memcpy" | "gpu_memset" | "Kernel")
                    )
            })
            .collect();
        let step = (gpu.len() / 50).max(1);
        let mut checked = 0;
        for e in gpu.iter().step_by(step) {
            let pid = e["pid"].as_i64().unwrap() as i32;
            let tid = e["tid"].as_i64().unwrap() as i32;
            let ts_ns = (e["ts"].as_f64().unwrap() * 1000.0).round() as i64 + base as i64;
            let dur_ns = (e["dur"].as_f64().unwrap() * 1000.0).round() as i64;
            let cands = by_name
                .get(e["name"].as_str().unwrap())
                .unwrap_or_else(|| panic!("{name}: kernel {} missing", e["name"]));
            let s = cands
                .iter()
                .find(|s| {
                    (s.ts as i64 - ts_ns).abs() <= 200 && thread_of(&d, s.track).tid == Some(tid)
                })
                .unwrap_or_else(|| panic!("{name}: no slice for {e}"));
            assert!((s.dur as i64 - dur_ns).abs() <= 200, "{name}: dur of {e}");
            assert_eq!(s.category, e["cat"].as_str().unwrap(), "{name}");
            let t = thread_of(&d, s.track);
            assert_eq!(t.pid, Some(pid), "{name}: device of {e}");
            assert_eq!(t.name, format!("stream {tid}"), "{name}");
            assert_eq!(process_name(&d, pid), format!("GPU {pid}"), "{name}");
            if let Some(c) = e["args"].get("correlation").and_then(Value::as_i64) {
                assert_eq!(s.args.get("correlation"), Some(&Val::Int(c)), "{name}");
            }
            checked += 1;
        }
        let has_gpu = !gpu.is_empty();
        assert!(!has_gpu || checked > 0);
        assert!(stderr.contains("slices moved to lanes="), "{stderr}");
    }
}

#[test]
fn info_reports_lanes_and_sizes() {
    let (ok, stdout, stderr) = run(&[
        "info",
        &fixture("chrome/kineto_small.json").display().to_string(),
    ]);
    assert!(ok, "{stderr}");
    assert!(stdout.contains("format=chrome-json"), "{stdout}");
    // The one crossing GPU work of the fixture is a profiler artifact, on
    // its own lane made by the importer, not the layout.
    assert!(stdout.contains("slices moved to lanes=0"), "{stdout}");
    assert!(stdout.contains("records=22"), "{stdout}");
}

// ------------------------------------------------- parallel parse and write

/// `convert` with a thread count and parse chunk size; the output's bytes
/// and stderr (the output path is the same in every run).
fn convert_with(input: &Path, out: &Path, threads: &str, chunk: &str) -> (Vec<u8>, String) {
    let (run, stderr) = common::run_env(
        &[
            "convert".as_ref(),
            input.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
        ],
        &[
            ("RAYON_NUM_THREADS", threads),
            ("BREAKDOWN_TRACE_CHUNK_BYTES", chunk),
        ],
    );
    assert!(run.status.success(), "{}: {stderr}", input.display());
    (std::fs::read(out).unwrap(), stderr)
}

/// The events array is parsed in chunks on several threads and events are
/// encoded in parallel; neither may change a byte of the output. One
/// thread with one chunk is the reference; 64-byte chunks make most cut
/// guesses land inside an event, so the re-parse path runs too.
#[test]
fn output_does_not_depend_on_threads_or_chunk_size() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.pftrace");
    let mut inputs = real_files();
    for f in ["kineto_small.json", "quirks.json"] {
        inputs.push(fixture(&format!("chrome/{f}")));
    }
    for input in &inputs {
        let reference = convert_with(input, &out, "1", "1000000000000");
        for (threads, chunk) in [("2", "64"), ("2", "4096"), ("3", "100000")] {
            let got = convert_with(input, &out, threads, chunk);
            assert!(
                got.0 == reference.0,
                "{}: output differs with {threads} threads, {chunk}-byte chunks",
                input.display()
            );
            assert_eq!(got.1, reference.1, "{}: stderr", input.display());
        }
    }
}
