//! Round trip: input → `.pftrace` → read back (`perfetto-proto`) → every SQL
//! table compared, as data, with the one built from the original input.
//!
//! Rows are compared in a canonical form: slices by their content (time,
//! track, names, depth, parent's content, args as key/type/value text), so
//! two slices that tie on (ts, dur, depth) may swap SQL ids without the
//! comparison caring; flows by the content of both ends; the id-numbered
//! tables (process, thread, track, ..., request, request_segment) as they
//! are. What a `.pftrace` cannot hold (README "Reading traces back") is left
//! out: `warning` detail rows, `iteration`, `client_request`,
//! `client_metric`, `client_metadata`.

mod common;

use std::path::{Path, PathBuf};

use breakdown_trace::ingest;
use breakdown_trace::perfetto;
use breakdown_trace::sql::Database;
use rusqlite::types::Value;

/// Canonical queries, one per table (or aspect of one).
const CANON: &[(&str, &str)] = &[
    ("process", "SELECT * FROM process ORDER BY upid"),
    ("thread", "SELECT * FROM thread ORDER BY utid"),
    ("track", "SELECT * FROM track ORDER BY id"),
    ("thread_track", "SELECT * FROM thread_track ORDER BY id"),
    ("process_track", "SELECT * FROM process_track ORDER BY id"),
    ("counter_track", "SELECT * FROM counter_track ORDER BY id"),
    (
        "slice",
        "SELECT s.ts, s.dur, s.track_id, s.category, s.name, s.depth, \
                p.ts, p.dur, p.track_id, p.name, \
                (SELECT group_concat(a.key || '=' || a.value_type || ':' || COALESCE(a.display_value, ''), '|') \
                   FROM args a WHERE a.arg_set_id = s.arg_set_id) \
         FROM slice s LEFT JOIN slice p ON p.id = s.parent_id \
         ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11",
    ),
    (
        "args (sets and rows)",
        "SELECT COUNT(DISTINCT arg_set_id), COUNT(*) FROM args",
    ),
    (
        "args (rows)",
        "SELECT flat_key, key, int_value, string_value, real_value, value_type, display_value \
         FROM args ORDER BY 1, 2, 3, 4, 5, 6, 7",
    ),
    (
        "flow",
        "SELECT o.ts, o.dur, o.track_id, o.name, i.ts, i.dur, i.track_id, i.name \
         FROM flow f JOIN slice o ON o.id = f.slice_out JOIN slice i ON i.id = f.slice_in \
         ORDER BY 1, 2, 3, 4, 5, 6, 7, 8",
    ),
    (
        "counter",
        "SELECT ts, track_id, value FROM counter ORDER BY 1, 2, 3",
    ),
    (
        "gpu_work",
        "SELECT s.ts, s.dur, s.track_id, s.name, g.kind, g.utid, g.upid, g.artifact \
         FROM gpu_work g JOIN slice s USING (id) ORDER BY 1, 2, 3, 4",
    ),
    (
        "request",
        "SELECT r.*, (SELECT group_concat(a.key || '=' || COALESCE(a.display_value, ''), '|') \
                        FROM args a WHERE a.arg_set_id = r.arg_set_id) \
         FROM request r ORDER BY id",
    ),
    ("request_segment", "SELECT * FROM request_segment ORDER BY id"),
    ("warning_count", "SELECT * FROM warning_count ORDER BY kind"),
    (
        "warning",
        "SELECT kind, input, location, record_index, line, field, message FROM warning ORDER BY id",
    ),
];

/// Tables a `.pftrace` holds (as records on the provenance track) but a
/// `db` file is not read back into.
const RECORDS: &[(&str, &str)] = &[
    ("iteration", "SELECT * FROM iteration ORDER BY id"),
    (
        "client_request",
        "SELECT c.*, s.ts, s.dur, s.track_id, s.name FROM client_request c \
         LEFT JOIN slice s ON s.id = c.slice_id ORDER BY c.id",
    ),
    ("client_metric", "SELECT * FROM client_metric ORDER BY id"),
    (
        "client_metadata",
        "SELECT * FROM client_metadata ORDER BY id",
    ),
];

/// Columns that hold ids into a table compared by content (replaced by
/// the content above), so left out of the row-for-row tables.
fn rows(db: &Database, sql: &str, dir: &str) -> (Vec<String>, Vec<Vec<Value>>) {
    let r = db.run("canon", sql, &[]).expect(sql);
    let cols = r.columns.clone();
    let rows = r
        .rows
        .into_iter()
        .map(|row| {
            row.into_iter()
                .zip(&cols)
                // An arg set id is a number given in slice order: compared
                // through the args' content instead.
                .map(|(v, c)| match (c.as_str(), v) {
                    // Ids numbered in slice order: compared through the
                    // content they point at instead.
                    ("arg_set_id" | "slice_id", _) => Value::Null,
                    // A trace names its inputs by file name only (no
                    // directories: README "What a trace says about its maker").
                    ("input", Value::Text(p)) => {
                        Value::Text(p.rsplit('/').next().unwrap_or_default().to_owned())
                    }
                    // Nor do warning messages (they name the file).
                    ("message", Value::Text(m)) => Value::Text(m.replace(dir, "")),
                    (_, v) => v,
                })
                .collect()
        })
        .collect();
    (cols, rows)
}

/// Compares every canonical table of two databases.
fn same_tables(
    input: &Path,
    what: &str,
    original: &Database,
    back: &Database,
    extra: &[(&str, &str)],
) {
    for (table, sql) in CANON.iter().chain(extra) {
        let dir = format!("{}/", input.parent().unwrap().display());
        let (ca, mut a) = rows(original, sql, &dir);
        let (cb, mut b) = rows(back, sql, &dir);
        // A trace or `db` file read back attributes processes and their GPU
        // work to itself, not to the inputs it was made from (README,
        // "Reading traces back"): `input` is not compared. `rank` is: the
        // file read back takes the rank its inputs agree on.
        if ["process", "gpu_work", "thread_slice", "process_slice"].contains(table) {
            for (k, c) in ca.iter().enumerate() {
                if c == "input" {
                    for r in a.iter_mut().chain(b.iter_mut()) {
                        r[k] = Value::Null;
                    }
                }
            }
        }
        assert_eq!(ca, cb, "{table} columns");
        assert_eq!(
            a.len(),
            b.len(),
            "{} ({what}): {table}: {} rows from the input, {} read back",
            input.display(),
            a.len(),
            b.len()
        );
        for (i, (x, y)) in a.iter().zip(&b).enumerate() {
            assert_eq!(
                x,
                y,
                "{} ({what}): {table} row {i} ({ca:?})",
                input.display()
            );
        }
    }
}

/// input → `db` file → read back into the model (`breakdown-db`): the
/// tables equal the source's, the `warning` rows too.
fn db_roundtrip(input: &Path) {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t.sqlite");
    let trace = ingest::load(&[input.to_owned()], None).unwrap();
    breakdown_trace::sql::write_db(trace, &out).unwrap();
    let original = Database::in_memory(ingest::load(&[input.to_owned()], None).unwrap()).unwrap();
    let back = ingest::load(std::slice::from_ref(&out), None).expect("the db reads back");
    assert_eq!(back.provenance.inputs[0].format, "breakdown-db");
    let back = Database::in_memory(back).unwrap();
    same_tables(input, "db", &original, &back, &[]);
}

fn roundtrip(input: &Path) {
    db_roundtrip(input);
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("t.pftrace");
    let mut trace = ingest::load(&[input.to_owned()], None).expect("original loads");
    perfetto::write_file(&mut trace, &out).expect("writes");
    let original = Database::in_memory(ingest::load(&[input.to_owned()], None).unwrap()).unwrap();
    let back = ingest::load(std::slice::from_ref(&out), None).expect("the trace reads back");
    assert_eq!(
        back.provenance.inputs[0].format,
        "perfetto-proto",
        "{}",
        input.display()
    );
    // The original input is named again, with its format.
    let orig = &back.provenance.inputs[1];
    assert_eq!(
        orig.name,
        input.file_name().unwrap().to_string_lossy().as_ref()
    );
    assert_eq!(
        orig.format,
        ingest::detect(&ingest::Input::read(input).unwrap())
            .unwrap()
            .name()
    );
    let back = Database::in_memory(back).unwrap();
    same_tables(input, "pftrace", &original, &back, RECORDS);
}

fn fixtures() -> Vec<PathBuf> {
    let mut v = Vec::new();
    for dir in ["aiperf", "chrome", "iter_stats", "trtllm", "vllm"] {
        for p in common::files_ending(&common::fixture(dir), "") {
            if ingest::load(std::slice::from_ref(&p), None).is_ok() {
                v.push(p);
            }
        }
    }
    v
}

#[test]
fn every_fixture_round_trips() {
    let f = fixtures();
    assert!(f.len() >= 9, "{f:?}");
    for p in f {
        roundtrip(&p);
    }
}

/// Real traces: GPU timelines of several producers (NVIDIA and AMD
/// Kineto, TraceLens' SGLang and vLLM captures, HTA's samples) and an aiperf
/// export; small enough that the test takes seconds.
#[test]
fn real_traces_round_trip() {
    let picks = [
        "realdata/hta/tests/data/amd_trace/mi250_minitoy_train_ROCm6_2_kineto.json.gz",
        "realdata/hta/tests/data/critical_path/cuda_event_sync_multi_stream/event_sync_trace.json.gz",
        "realdata/hta/tests/data/with_gpu_user_annotation/step_based_trace_2543932.json.gz",
        "realdata/hta/tests/data/critical_path/simple_add/benchmark_result_493459_1694039959_trace.json.gz",
        "realdata/hta/tests/data/timeline_analysis/sampled_rank-0.json.gz",
        "realdata/tracelens/tests/traces/inference/sglang_decode/sglang_Qwen3-8B_decode.json.gz",
        "realdata/tracelens/tests/traces/inference/vllm_decode_full/graph_execution.json.gz",
        "realdata/hta/tests/data/triton_example/triton_example.json.gz",
        "realdata/aiperf/examples/artifacts/run1/profile_export.jsonl",
    ];
    for p in picks {
        let path = common::shared(p);
        assert!(path.exists(), "{} missing", path.display());
        roundtrip(&path);
    }
}
