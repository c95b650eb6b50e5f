#![no_main]

//! Importer output → layout → Perfetto writer → decoded with the upstream
//! schema (`perfetto_protos`): every trace an importer accepts must encode
//! to a parseable Trace proto with one packet per written packet.

use breakdown_trace::ingest::Format;
use breakdown_trace::model::layout;
use breakdown_trace::perfetto;
use libfuzzer_sys::fuzz_target;
use protobuf::Message;

fuzz_target!(|data: &[u8]| {
    // Byte 0 picks the importer; the rest goes to `import` (salvage bit first).
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let format = Format::ALL[pick as usize % Format::ALL.len()];
    let Some(mut trace) = breakdown_trace_fuzz::import(format, rest) else {
        return;
    };
    layout::lay_out(&mut trace);
    let mut out = Vec::new();
    let stats = perfetto::write(&trace, &mut out).expect("writing to a Vec cannot fail");
    assert_eq!(stats.bytes as usize, out.len(), "byte count");
    let decoded = perfetto_protos::trace::Trace::parse_from_bytes(&out)
        .expect("the writer's output parses as a Trace proto");
    assert_eq!(decoded.packet.len() as u64, stats.packets, "packet count");
});
