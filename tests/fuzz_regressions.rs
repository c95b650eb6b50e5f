//! Replays every input kept in `fuzz/regressions/<target>/` through the same
//! driver as the fuzz target (byte 0 bit 0 = `--salvage`; roundtrip inputs
//! first carry the format index): the importer must return Ok or Err, and
//! an accepted trace must encode to a Trace proto the upstream schema parses.

use std::path::Path;

use breakdown_trace::ingest::Format;
use breakdown_trace::model::layout;
use breakdown_trace::perfetto;
use protobuf::Message;

/// The fuzz targets' own driver, so replay and fuzzing cannot drift apart.
#[path = "../fuzz/src/lib.rs"]
mod driver;
use driver::import;

fn round_trip(trace: &mut breakdown_trace::model::Trace) {
    layout::lay_out(trace);
    let mut out = Vec::new();
    let stats = perfetto::write(trace, &mut out).unwrap();
    let decoded = perfetto_protos::trace::Trace::parse_from_bytes(&out).expect("parses");
    assert_eq!(decoded.packet.len() as u64, stats.packets);
}

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fuzz/regressions")
        .join(target);
    let mut v: Vec<_> = std::fs::read_dir(&dir)
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.path())
                .filter(|p| p.is_file() && !p.ends_with(".gitkeep"))
                .map(|p| (p.display().to_string(), std::fs::read(&p).unwrap()))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn replay(target: &str, format: Format) {
    for (name, data) in inputs(target) {
        eprintln!("{name}");
        if let Some(mut t) = import(format, &data) {
            round_trip(&mut t);
        }
    }
}

#[test]
fn chrome_json() {
    replay("chrome_json", Format::ChromeJson);
}

#[test]
fn trtllm() {
    replay("trtllm", Format::TrtllmPerfMetrics);
}

#[test]
fn iter_stats() {
    replay("iter_stats", Format::TrtllmIterationStats);
}

#[test]
fn aiperf() {
    replay("aiperf", Format::Aiperf);
}

#[test]
fn vllm() {
    replay("vllm", Format::VllmBench);
}

#[test]
fn nsys() {
    replay("nsys", Format::NsysSqlite);
}

#[test]
fn roundtrip() {
    for (name, data) in inputs("roundtrip") {
        eprintln!("{name}");
        let Some((&pick, rest)) = data.split_first() else {
            continue;
        };
        let format = Format::ALL[pick as usize % Format::ALL.len()];
        if let Some(mut t) = import(format, rest) {
            round_trip(&mut t);
        }
    }
}
