//! The `Queue Length` counter track of each GPU stream (issue 15, item 5;
//! `model::queue_length`): HTA's queue length — +1 at the launching
//! runtime call's start, -1 when the launched work starts on its stream —
//! one sample per distinct timestamp, the value after every change there.
//!
//! Expected values by hand from `fixtures/chrome/queue_length.json` (µs →
//! ns), launches on the CPU thread, work on GPU 0:
//!
//! stream 7 — launches (ac2g flows) at 1, 2, 3, 10 of k1 @10, k2 @20,
//! k3 @25, k4 @30; `overlapping` (launched at 4, starts at 21 inside k2) is
//! a profiler artifact and does not count: +1@1 → 1, +1@2 → 2, +1@3 → 3,
//! at 10 k1 starts (-1) and k4 is launched (+1) → 3, -1@20 → 2, -1@25 → 1,
//! -1@30 → 0.
//!
//! stream 8 — `by_correlation` @40 has no flow: its launch is the runtime /
//! driver call with correlation 5, the earliest of cudaMemcpyAsync @35 and
//! cuLaunchKernel @36; the memset @45 is launched at 38 (flow): +1@35 → 1,
//! +1@38 → 2, -1@40 → 1, -1@45 → 0. `no_call` (correlation 99, no such
//! call) does not count.
//!
//! stream 9 — only `no_correlation`, which has no launch: no track.

mod common;

use common::{decode, fixture, run, shared, Decoded, Val};

const STREAM_7: [(u64, f64); 7] = [
    (1_000, 1.0),
    (2_000, 2.0),
    (3_000, 3.0),
    (10_000, 3.0),
    (20_000, 2.0),
    (25_000, 1.0),
    (30_000, 0.0),
];
const STREAM_8: [(u64, f64); 4] = [(35_000, 1.0), (38_000, 2.0), (40_000, 1.0), (45_000, 0.0)];

fn convert(args: &[&str]) {
    let (ok, _, err) = run(&[&["convert", "-q"][..], args].concat());
    assert!(ok, "convert {args:?}: {err}");
}

/// A queue-length track: (tid of the stream it sits under, unit, samples
/// (ts, value) in write order).
type QueueTrack = (i32, Option<String>, Vec<(u64, f64)>);

/// The queue-length tracks of a decoded trace, by tid.
fn queue_tracks(d: &Decoded) -> Vec<QueueTrack> {
    let mut out: Vec<_> = d
        .tracks
        .iter()
        .filter(|t| t.is_counter && t.name == "Queue Length")
        .map(|t| {
            let parent = d.track(t.parent.expect("under a stream"));
            assert_eq!(parent.pid, Some(0), "under a stream of GPU 0: {parent:?}");
            let samples = d
                .counters
                .iter()
                .filter(|c| c.0 == t.uuid)
                .map(|c| (c.1, c.2))
                .collect();
            (
                parent.tid.expect("a thread track"),
                t.counter_unit.clone(),
                samples,
            )
        })
        .collect();
    out.sort_by_key(|q| q.0);
    out
}

fn expected() -> Vec<QueueTrack> {
    vec![
        (7, Some("count".into()), STREAM_7.to_vec()),
        (8, Some("count".into()), STREAM_8.to_vec()),
    ]
}

#[test]
fn each_launched_stream_gets_its_queue_length() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("q.pftrace");
    let input = fixture("chrome/queue_length.json");
    convert(&[input.to_str().unwrap(), "-o", out.to_str().unwrap()]);
    let d = decode(&out);
    assert_eq!(queue_tracks(&d), expected());
    // The stream's thread track is the parent, by name too.
    let (unit, values) = d.counter_series("stream 7", "Queue Length");
    assert_eq!(unit.as_deref(), Some("count"));
    assert_eq!(values, STREAM_7.to_vec());
}

#[test]
fn reading_a_trace_back_adds_no_second_copy() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("chrome/queue_length.json");
    let first = dir.path().join("first.pftrace");
    let again = dir.path().join("again.pftrace");
    convert(&[input.to_str().unwrap(), "-o", first.to_str().unwrap()]);
    convert(&[first.to_str().unwrap(), "-o", again.to_str().unwrap()]);
    assert_eq!(queue_tracks(&decode(&again)), expected());
    // Through a database written by `db` and back.
    let db = dir.path().join("t.sqlite");
    let (ok, _, err) = run(&[
        "db",
        "-q",
        input.to_str().unwrap(),
        "-o",
        db.to_str().unwrap(),
    ]);
    assert!(ok, "{err}");
    let from_db = dir.path().join("db.pftrace");
    convert(&[db.to_str().unwrap(), "-o", from_db.to_str().unwrap()]);
    assert_eq!(queue_tracks(&decode(&from_db)), expected());
}

#[test]
fn no_queue_length_leaves_it_out_and_a_read_back_trace_recomputes_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = fixture("chrome/queue_length.json");
    let without = dir.path().join("without.pftrace");
    convert(&[
        input.to_str().unwrap(),
        "--no-queue-length",
        "-o",
        without.to_str().unwrap(),
    ]);
    let d = decode(&without);
    assert!(queue_tracks(&d).is_empty());
    assert!(d.counters.is_empty(), "{:?}", d.counters);
    // The provenance says so.
    let prov = d.named("provenance").next().expect("provenance instant");
    assert_eq!(
        prov.args.get("options.no_queue_length"),
        Some(&Val::Bool(true))
    );
    // The trace read back (its args and flows as the reader rebuilds them)
    // gives the same series.
    let again = dir.path().join("again.pftrace");
    convert(&[without.to_str().unwrap(), "-o", again.to_str().unwrap()]);
    assert_eq!(queue_tracks(&decode(&again)), expected());
}

/// (device, stream) → [(ts, value)] from CSV rows `ts,device,stream,value`.
type Series = std::collections::BTreeMap<(String, String), Vec<(i64, i64)>>;

fn csv_rows(args: &[&str]) -> Vec<Vec<String>> {
    let (ok, out, err) = run(args);
    assert!(ok, "{args:?}: {err}");
    out.lines()
        .skip(1)
        .map(|l| l.split(',').map(str::to_owned).collect())
        .collect()
}

/// `queue-length-series` lists every change; at one timestamp its rows are
/// the launches' values, rising by 1 each, then the starts', falling by 1
/// each, in no particular output order. Collapsed to the value after every
/// change at each timestamp: with `prev` the value before, `n` rows and
/// `max` their largest value, there were `l = max(max - prev, 0)` launches
/// and `n - l` starts, so the value after is `prev + l - (n - l)`. Checks
/// that the rows are exactly those values.
fn collapse(rows: &[Vec<String>]) -> Series {
    let mut by_ts: std::collections::BTreeMap<
        (String, String),
        std::collections::BTreeMap<i64, Vec<i64>>,
    > = Default::default();
    for r in rows {
        let ts: i64 = r[0].parse().unwrap();
        let v: i64 = r[3].parse().unwrap();
        by_ts
            .entry((r[1].clone(), r[2].clone()))
            .or_default()
            .entry(ts)
            .or_default()
            .push(v);
    }
    let mut out = Series::new();
    for (stream, groups) in by_ts {
        let mut prev = 0i64;
        let mut series = Vec::new();
        for (ts, mut values) in groups {
            let n = values.len() as i64;
            let max = *values.iter().max().unwrap();
            let l = (max - prev).max(0);
            let s = n - l;
            let mut want: Vec<i64> = (1..=l)
                .map(|k| prev + k)
                .chain((1..=s).map(|k| prev + l - k))
                .collect();
            want.sort_unstable();
            values.sort_unstable();
            assert_eq!(values, want, "{stream:?} at {ts}: not launches then starts");
            prev += l - s;
            series.push((ts, prev));
        }
        out.insert(stream, series);
    }
    out
}

/// The SQL `counter` rows of the queue-length tracks.
fn counter_rows(input: &str) -> Series {
    let sql = "SELECT c.ts, p.name, th.name, CAST(c.value AS INTEGER) \
               FROM counter c JOIN counter_track ct ON ct.id = c.track_id \
               JOIN thread_track tt ON tt.id = ct.parent_id JOIN thread th USING (utid) \
               LEFT JOIN process p ON p.upid = th.upid \
               WHERE ct.name = 'Queue Length' ORDER BY 2, 3, 1";
    let mut out = Series::new();
    for r in csv_rows(&["query", "--sql", sql, input, "--output-format", "csv"]) {
        out.entry((r[1].clone(), r[2].clone()))
            .or_default()
            .push((r[0].parse().unwrap(), r[3].parse().unwrap()));
    }
    out
}

fn series_query(input: &str) -> Series {
    collapse(&csv_rows(&[
        "query",
        "queue-length-series",
        input,
        "--output-format",
        "csv",
    ]))
}

/// Two independent paths agree: the bundled query (SQL over slices, flows
/// and args) and the model's counter tracks, on real Kineto traces.
#[test]
fn counter_rows_equal_the_bundled_query_on_real_traces() {
    for rel in [
        "realdata/hta/tests/data/timeline_analysis/sampled_rank-0.json.gz",
        "realdata/hta/tests/data/nccl_parser_config/nccl_data.json.gz",
        "realdata/hta/tests/data/critical_path/cuda_event_sync_multi_stream/event_sync_trace.json.gz",
        "realdata/hta/tests/data/amd_trace/mi250_minitoy_train_ROCm6_2_kineto.json.gz",
    ] {
        let path = shared(rel);
        if !path.exists() {
            panic!("{} is missing", path.display());
        }
        let input = path.to_str().unwrap();
        let from_sql = series_query(input);
        assert!(!from_sql.is_empty(), "{rel}: no queue length");
        assert_eq!(counter_rows(input), from_sql, "{rel}");
    }
    // The fixture, and the expected values above, too.
    let f = fixture("chrome/queue_length.json");
    let from_sql = series_query(f.to_str().unwrap());
    let key = |s: &str| ("GPU 0".to_owned(), s.to_owned());
    let ints = |v: &[(u64, f64)]| -> Vec<(i64, i64)> {
        v.iter().map(|&(t, x)| (t as i64, x as i64)).collect()
    };
    assert_eq!(from_sql.get(&key("stream 7")), Some(&ints(&STREAM_7)));
    assert_eq!(from_sql.get(&key("stream 8")), Some(&ints(&STREAM_8)));
    assert_eq!(from_sql.len(), 2);
    assert_eq!(counter_rows(f.to_str().unwrap()), from_sql);
}

/// No bundled figure moves because of the new counter rows: every
/// bundled query and every `stats` section give the same rows on a trace
/// loaded with and without the tracks (`LoadOptions::no_queue_length`).
#[test]
fn bundled_queries_and_stats_do_not_see_the_tracks() {
    use breakdown_trace::ingest::{self, LoadOptions};
    use breakdown_trace::sql::{self, Database};
    for rel in [
        "realdata/hta/tests/data/timeline_analysis/sampled_rank-0.json.gz",
        "realdata/hta/tests/data/nccl_parser_config/nccl_data.json.gz",
    ] {
        let path = shared(rel);
        let db = |no_queue_length| {
            let opts = LoadOptions {
                no_queue_length,
                ..Default::default()
            };
            Database::in_memory(ingest::load_with(std::slice::from_ref(&path), &opts).unwrap())
                .unwrap()
        };
        let (with, without) = (db(false), db(true));
        let tracks = |d: &Database| {
            d.run(
                "t",
                "SELECT COUNT(*) FROM counter_track WHERE name = 'Queue Length'",
                &[],
            )
            .unwrap()
            .rows
        };
        assert_ne!(
            tracks(&with),
            tracks(&without),
            "{rel}: the tracks are there"
        );
        for b in sql::BUNDLED {
            let a = with.run(b.name, b.sql, &[]).map(|r| r.rows);
            let z = without.run(b.name, b.sql, &[]).map(|r| r.rows);
            assert_eq!(
                format!("{a:?}"),
                format!("{z:?}"),
                "{rel}: query {} changed",
                b.name
            );
        }
        let stats = |d: &Database| format!("{:?}", sql::sections::sections(d, false).unwrap());
        assert_eq!(stats(&with), stats(&without), "{rel}: stats changed");
    }
}
