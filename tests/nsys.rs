//! Nsight Systems SQLite exports (issue 18, item 1).
//!
//! Expectations come from the source database itself, read here with plain
//! SQL (rusqlite on the export), never from the importer: row counts per
//! table, and the `nsys stats --report cuda_gpu_kern_sum` columns computed
//! from the raw `CUPTI_ACTIVITY_KIND_KERNEL` durations. The real export is
//! nsys 2022.2 (`../shared/realdata/pipit`); the newer layout (2024+:
//! `META_DATA_EXPORT`, `ENUM_*` tables, `greenContextId`, tables only when
//! they have rows, columns in another order) is built here to NVIDIA's
//! "SQLite Export Schema Reference" and "SQLite Schema Event Values".

mod common;

use std::path::{Path, PathBuf};

use breakdown_trace::ingest::{self, Format};
use breakdown_trace::sql::Database;
use common::{run, shared};
use rusqlite::types::Value;
use rusqlite::Connection;

fn real() -> PathBuf {
    shared("realdata/pipit/tests/data/saxpy-mpi-cuda_nsys_perlmutter0.sqlite")
}

fn count(conn: &Connection, sql: &str) -> i64 {
    conn.query_row(sql, [], |r| r.get(0)).unwrap()
}

/// Rows of `sql` over what the importer made of `paths`.
fn ours(paths: &[PathBuf], sql: &str) -> Vec<Vec<Value>> {
    let trace = ingest::load(paths, None).unwrap();
    let db = Database::in_memory(trace).unwrap();
    db.run("test", sql, &[]).unwrap().rows
}

fn int(v: &Value) -> i64 {
    match v {
        Value::Integer(i) => *i,
        Value::Real(f) => *f as i64,
        other => panic!("not a number: {other:?}"),
    }
}

fn real_of(v: &Value) -> f64 {
    match v {
        Value::Integer(i) => *i as f64,
        Value::Real(f) => *f,
        other => panic!("not a number: {other:?}"),
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::Text(s) => s.clone(),
        Value::Null => String::new(),
        other => format!("{other:?}"),
    }
}

fn one(paths: &[PathBuf], sql: &str) -> i64 {
    int(&ours(paths, sql)[0][0])
}

#[test]
fn the_real_export_is_detected_by_its_tables() {
    // Under a name that says nothing (and one that lies).
    let dir = tempfile::tempdir().unwrap();
    for name in ["trace.json", "noext"] {
        let p = dir.path().join(name);
        std::fs::copy(real(), &p).unwrap();
        let input = ingest::Input::read(&p).unwrap();
        assert_eq!(ingest::detect(&input).unwrap(), Format::NsysSqlite);
    }
}

/// Every kernel, memcpy, memset, runtime/driver call and NVTX range of the
/// real export is a slice: counts equal the source tables'.
#[test]
fn the_real_export_keeps_every_row() {
    let src = Connection::open(real()).unwrap();
    let p = [real()];
    let cat = |c: &str| {
        one(
            &p,
            &format!("SELECT COUNT(*) FROM slice WHERE category = '{c}'"),
        )
    };
    assert_eq!(
        cat("kernel"),
        count(&src, "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL")
    );
    assert_eq!(
        cat("gpu_memcpy"),
        count(&src, "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_MEMCPY")
    );
    assert_eq!(
        cat("gpu_memset"),
        count(&src, "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_MEMSET")
    );
    assert_eq!(
        cat("cuda_sync"),
        count(
            &src,
            "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_SYNCHRONIZATION"
        )
    );
    // Calls: runtime (class 0) and driver (class 1). Class 67 rows are
    // backtraces of those calls, not calls ("SQLite Schema Event Values").
    assert_eq!(
        cat("cuda_runtime"),
        count(
            &src,
            "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE eventClass = 0"
        )
    );
    assert_eq!(
        cat("cuda_driver"),
        count(
            &src,
            "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE eventClass = 1"
        )
    );
    assert_eq!(
        count(
            &src,
            "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE eventClass NOT IN (0, 1, 67)"
        ),
        0
    );
    // Each backtrace is its call's `callchainId`.
    assert_eq!(
        one(
            &p,
            "SELECT COUNT(*) FROM slice WHERE category = 'cuda_runtime' \
             AND EXTRACT_ARG(arg_set_id, 'debug.callchainId') IS NOT NULL"
        ),
        count(
            &src,
            "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE eventClass = 67"
        )
    );
    // NVTX: push/pop (59) and start/end (60) ranges are slices, marks (34)
    // instants.
    assert_eq!(
        one(
            &p,
            "SELECT COUNT(*) FROM slice WHERE category = 'user_annotation' AND dur > 0"
        ),
        count(
            &src,
            "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType IN (59, 60)"
        )
    );
    assert_eq!(
        one(&p, "SELECT COUNT(*) FROM instant"),
        count(
            &src,
            "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType = 34"
        )
    );
    // Times: ns since the session start plus its UTC start, exactly.
    let utc = count(
        &src,
        "SELECT utcEpochNs FROM TARGET_INFO_SESSION_START_TIME",
    );
    let (lo, hi): (i64, i64) = src
        .query_row(
            "SELECT MIN(start), MAX(end) FROM CUPTI_ACTIVITY_KIND_KERNEL",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    let got = &ours(
        &p,
        "SELECT MIN(ts), MAX(ts + dur) FROM slice WHERE category = 'kernel'",
    )[0];
    assert_eq!((int(&got[0]), int(&got[1])), (lo + utc, hi + utc));
    // Every launch → kernel/memcpy is a flow (correlation ids of the source).
    let linked = count(
        &src,
        "SELECT COUNT(*) FROM (SELECT correlationId FROM CUPTI_ACTIVITY_KIND_KERNEL \
         UNION ALL SELECT correlationId FROM CUPTI_ACTIVITY_KIND_MEMCPY) g \
         WHERE g.correlationId IN (SELECT correlationId FROM CUPTI_ACTIVITY_KIND_RUNTIME \
         WHERE eventClass IN (0, 1))",
    );
    assert!(linked > 0);
    assert_eq!(one(&p, "SELECT COUNT(*) FROM flow"), linked);
    assert_eq!(
        one(
            &p,
            "SELECT COUNT(*) FROM flow f JOIN slice a ON a.id = f.slice_out \
             JOIN slice b ON b.id = f.slice_in WHERE a.category = 'cuda_runtime' \
             AND b.category IN ('kernel', 'gpu_memcpy') \
             AND EXTRACT_ARG(a.arg_set_id, 'debug.correlationId') = \
                 EXTRACT_ARG(b.arg_set_id, 'debug.correlationId')"
        ),
        linked
    );
    // The nsys-shaped bundled queries answer on it: every call in
    // `cuda-api-sum`, every range in `nvtx-sum`.
    let sum_of = |query: &str, col: usize| -> i64 {
        let sql = breakdown_trace::sql::Bundled::find(query).unwrap().sql;
        ours(&p, sql).iter().map(|r| int(&r[col])).sum()
    };
    assert_eq!(
        sum_of("cuda-api-sum", 2),
        count(
            &src,
            "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_RUNTIME WHERE eventClass IN (0, 1)"
        )
    );
    assert_eq!(
        sum_of("nvtx-sum", 2),
        count(
            &src,
            "SELECT COUNT(*) FROM NVTX_EVENTS WHERE eventType IN (59, 60)"
        )
    );
    // Names: threads from ThreadNames, the device from TARGET_INFO_GPU.
    let rows = ours(
        &p,
        "SELECT name FROM thread WHERE name IS NOT NULL ORDER BY name",
    );
    let names: Vec<String> = rows.iter().map(|r| text(&r[0])).collect();
    assert_eq!(names, ["MPI Rank 0", "stream 7"]);
}

/// `nsys stats --report cuda_gpu_kern_sum`'s columns, computed from the raw
/// kernel table: Time (%), Total Time, Instances, Avg, Med, Min, Max,
/// StdDev (sample), Name — ordered by total time, largest first.
fn kern_sum(path: &Path) -> Vec<(f64, i64, i64, f64, f64, i64, i64, f64, String)> {
    let src = Connection::open(path).unwrap();
    let mut st = src
        .prepare(
            "SELECT s.value, k.end - k.start FROM CUPTI_ACTIVITY_KIND_KERNEL k \
             JOIN StringIds s ON s.id = k.demangledName",
        )
        .unwrap();
    let mut by: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
    for r in st
        .query_map([], |r| Ok((r.get::<_, String>(0)?, r.get::<_, i64>(1)?)))
        .unwrap()
    {
        let (n, d) = r.unwrap();
        by.entry(n).or_default().push(d);
    }
    let all: i64 = by.values().flatten().sum();
    let round1 = |x: f64| (x * 10.0).round() / 10.0;
    let mut out: Vec<_> = by
        .into_iter()
        .map(|(name, mut d)| {
            d.sort_unstable();
            let n = d.len();
            let total: i64 = d.iter().sum();
            let avg = total as f64 / n as f64;
            let med = if n % 2 == 1 {
                d[n / 2] as f64
            } else {
                (d[n / 2 - 1] + d[n / 2]) as f64 / 2.0
            };
            let sd = if n > 1 {
                (d.iter().map(|&x| (x as f64 - avg).powi(2)).sum::<f64>() / (n - 1) as f64).sqrt()
            } else {
                0.0
            };
            (
                round1(100.0 * total as f64 / all as f64),
                total,
                n as i64,
                round1(avg),
                round1(med),
                d[0],
                d[n - 1],
                round1(sd),
                name,
            )
        })
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(a.8.cmp(&b.8)));
    out
}

fn assert_kernel_summary(path: &Path) {
    let want = kern_sum(path);
    assert!(!want.is_empty());
    let sql = breakdown_trace::sql::Bundled::find("kernel-summary")
        .unwrap()
        .sql;
    let got = ours(&[path.to_owned()], sql);
    assert_eq!(got.len(), want.len(), "{got:?}");
    for (g, w) in got.iter().zip(&want) {
        let row = (
            real_of(&g[0]),
            int(&g[1]),
            int(&g[2]),
            real_of(&g[3]),
            real_of(&g[4]),
            int(&g[5]),
            int(&g[6]),
            real_of(&g[7]),
            text(&g[8]),
        );
        assert_eq!(&row, w);
    }
}

#[test]
fn kernel_summary_reproduces_nsys_stats_on_the_real_export() {
    assert_kernel_summary(&real());
}

const UTC0: i64 = 1_700_000_000_123_456_789;
/// Serialized global ids (vm 1): pid 4242, threads 4242 and 4250.
const T_MAIN: i64 = (1 << 48) | (4242 << 24) | 4242;
const T_WORK: i64 = (1 << 48) | (4242 << 24) | 4250;
const P_MAIN: i64 = (1 << 48) | (4242 << 24);

/// A 2024-style export, built to NVIDIA's documentation.
fn newer_layout(path: &Path) {
    let c = Connection::open(path).unwrap();
    c.execute_batch(&format!(
        r#"
        CREATE TABLE StringIds (id INTEGER NOT NULL PRIMARY KEY, value TEXT NOT NULL);
        INSERT INTO StringIds VALUES
          (1, 'python3'), (2, 'MainThread'), (3, 'worker'),
          (10, 'cudaLaunchKernel_v7000'), (11, 'cuLaunchKernel'), (12, 'cudaLaunchKernel'),
          (13, 'cudaMemcpyAsync_v3020'), (14, 'cudaMemsetAsync_v3020'),
          (15, 'cudaStreamSynchronize_v3020'),
          (20, 'void gemm<float>(float*, int)'), (21, 'gemm'), (22, '_Z4gemmIfEvPfi'),
          (23, 'void relu(float*)'), (24, 'relu'),
          (30, 'step'), (31, '{{"batch": 8}}');
        CREATE TABLE META_DATA_EXPORT (name TEXT NOT NULL, value TEXT);
        INSERT INTO META_DATA_EXPORT VALUES
          ('EXPORT_PRODUCT_VERSION', '2024.5.1.113'), ('EXPORT_SCHEMA_VERSION', '3.13.0');
        CREATE TABLE ENUM_CUDA_MEMCPY_OPER (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, label TEXT);
        INSERT INTO ENUM_CUDA_MEMCPY_OPER VALUES
          (1, 'CUDA_MEMCPY_KIND_HTOD', 'Host-to-Device'), (2, 'CUDA_MEMCPY_KIND_DTOH', 'Device-to-Host'),
          (8, 'CUDA_MEMCPY_KIND_DTOD', 'Device-to-Device');
        CREATE TABLE ENUM_CUDA_MEM_KIND (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, label TEXT);
        INSERT INTO ENUM_CUDA_MEM_KIND VALUES
          (0, 'CUDA_MEMOPR_MEMORY_KIND_PAGEABLE', 'Pageable'), (1, 'CUDA_MEMOPR_MEMORY_KIND_PINNED', 'Pinned'),
          (2, 'CUDA_MEMOPR_MEMORY_KIND_DEVICE', 'Device');
        CREATE TABLE ENUM_CUPTI_SYNC_TYPE (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, label TEXT);
        INSERT INTO ENUM_CUPTI_SYNC_TYPE VALUES
          (3, 'CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_STREAM_SYNCHRONIZE', 'Stream sync'),
          (4, 'CUPTI_ACTIVITY_SYNCHRONIZATION_TYPE_CONTEXT_SYNCHRONIZE', 'Context sync');
        CREATE TABLE ENUM_NSYS_EVENT_CLASS (id INTEGER NOT NULL PRIMARY KEY, name TEXT NOT NULL, label TEXT);
        INSERT INTO ENUM_NSYS_EVENT_CLASS VALUES
          (0, 'TRACE_PROCESS_EVENT_CUDA_RUNTIME', 'CUDA runtime'),
          (1, 'TRACE_PROCESS_EVENT_CUDA_DRIVER', 'CUDA driver'),
          (67, 'TRACE_PROCESS_EVENT_CUDABACKTRACE', 'CUDA backtrace');
        CREATE TABLE TARGET_INFO_SESSION_START_TIME (utcEpochNs INTEGER, utcTime TEXT, localTime TEXT);
        INSERT INTO TARGET_INFO_SESSION_START_TIME VALUES ({UTC0}, '2023-11-14T22:13:20', '2023-11-14T23:13:20');
        -- GPU 3 of the machine is CUDA device 0 of the process.
        CREATE TABLE TARGET_INFO_GPU (vmId INTEGER NOT NULL, id INTEGER NOT NULL, name TEXT, busLocation TEXT, totalMemory INTEGER, smCount INTEGER);
        INSERT INTO TARGET_INFO_GPU VALUES (1, 3, 'NVIDIA H100 80GB HBM3', '0000:18:00.0', 85520809984, 132);
        CREATE TABLE TARGET_INFO_CUDA_DEVICE (gpuId INTEGER, cudaId INTEGER, pid INTEGER, uuid TEXT, numMultiprocessors INTEGER);
        INSERT INTO TARGET_INFO_CUDA_DEVICE VALUES (3, 0, 4242, 'GPU-0000', 132);
        CREATE TABLE PROCESSES (globalPid INTEGER, pid INTEGER, name TEXT);
        INSERT INTO PROCESSES VALUES ({P_MAIN}, 4242, 'python3');
        CREATE TABLE ThreadNames (nameId INTEGER NOT NULL, priority INTEGER, globalTid INTEGER);
        INSERT INTO ThreadNames VALUES (2, 10, {T_MAIN}), (3, 10, {T_WORK});
        -- Columns in another order than 2022's, plus greenContextId.
        CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (
          globalPid INTEGER, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,
          greenContextId INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER,
          start INTEGER NOT NULL, end INTEGER NOT NULL,
          demangledName INTEGER NOT NULL, shortName INTEGER NOT NULL, mangledName INTEGER,
          registersPerThread INTEGER NOT NULL, gridX INTEGER NOT NULL, gridY INTEGER NOT NULL,
          gridZ INTEGER NOT NULL, blockX INTEGER NOT NULL, blockY INTEGER NOT NULL, blockZ INTEGER NOT NULL,
          staticSharedMemory INTEGER NOT NULL, dynamicSharedMemory INTEGER NOT NULL, graphNodeId INTEGER);
        INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES
          ({P_MAIN}, 0, 1, 5, 7, 101, 10000, 11000, 20, 21, 22, 64, 128, 1, 1, 256, 1, 1, 1024, 4096, NULL),
          ({P_MAIN}, 0, 1, 5, 7, 102, 12000, 15000, 20, 21, 22, 64, 128, 1, 1, 256, 1, 1, 1024, 4096, NULL),
          ({P_MAIN}, 0, 1, 5, 7, 103, 16000, 18000, 20, 21, 22, 64, 128, 1, 1, 256, 1, 1, 1024, 4096, 77),
          ({P_MAIN}, 0, 1, NULL, 13, 104, 11000, 11500, 23, 24, NULL, 16, 64, 1, 1, 128, 1, 1, 0, 0, NULL),
          ({P_MAIN}, 0, 1, NULL, 13, 105, 20000, 20700, 23, 24, NULL, 16, 64, 1, 1, 128, 1, 1, 0, 0, NULL);
        CREATE TABLE CUPTI_ACTIVITY_KIND_MEMCPY (
          start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,
          greenContextId INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER,
          bytes INTEGER NOT NULL, copyKind INTEGER NOT NULL, srcKind INTEGER, dstKind INTEGER,
          srcDeviceId INTEGER, dstDeviceId INTEGER, graphNodeId INTEGER);
        INSERT INTO CUPTI_ACTIVITY_KIND_MEMCPY VALUES
          (5000, 9000, 0, 1, NULL, 7, 106, {P_MAIN}, 1048576, 1, 1, 2, NULL, 0, NULL);
        CREATE TABLE CUPTI_ACTIVITY_KIND_MEMSET (
          start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,
          greenContextId INTEGER, streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER,
          value INTEGER NOT NULL, bytes INTEGER NOT NULL, graphNodeId INTEGER, memKind INTEGER);
        INSERT INTO CUPTI_ACTIVITY_KIND_MEMSET VALUES
          (9500, 9800, 0, 1, NULL, 13, 107, {P_MAIN}, 0, 4096, NULL, 2);
        CREATE TABLE CUPTI_ACTIVITY_KIND_SYNCHRONIZATION (
          start INTEGER NOT NULL, end INTEGER NOT NULL, deviceId INTEGER NOT NULL, contextId INTEGER NOT NULL,
          streamId INTEGER NOT NULL, correlationId INTEGER, globalPid INTEGER, syncType INTEGER NOT NULL,
          eventId INTEGER NOT NULL);
        INSERT INTO CUPTI_ACTIVITY_KIND_SYNCHRONIZATION VALUES
          (18500, 19000, 0, 1, 7, 108, {P_MAIN}, 3, 0),
          (21000, 21500, 0, 1, 4294967295, 109, {P_MAIN}, 4, 0);
        CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (
          start INTEGER NOT NULL, end INTEGER NOT NULL, eventClass INTEGER NOT NULL, globalTid INTEGER,
          correlationId INTEGER, nameId INTEGER NOT NULL, returnValue INTEGER NOT NULL, callchainId INTEGER);
        INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES
          (4000, 4900, 0, {T_MAIN}, 106, 13, 0, NULL),
          (9100, 9400, 0, {T_MAIN}, 107, 14, 0, NULL),
          (9900, 10100, 0, {T_MAIN}, 101, 10, 0, NULL),
          (9899, 10101, 67, {T_MAIN}, 101, 12, 0, 9),
          (9950, 10050, 1, {T_MAIN}, 101, 11, 0, NULL),
          (11900, 12100, 0, {T_MAIN}, 102, 10, 0, NULL),
          (15900, 16100, 0, {T_WORK}, 103, 10, 0, NULL),
          (10900, 11100, 0, {T_WORK}, 104, 10, 0, NULL),
          (19900, 20100, 0, {T_WORK}, 105, 10, 0, NULL),
          (18400, 19100, 0, {T_MAIN}, 108, 15, 0, NULL);
        CREATE TABLE NVTX_EVENTS (
          start INTEGER NOT NULL, end INTEGER, eventType INTEGER NOT NULL, rangeId INTEGER,
          category INTEGER, color INTEGER, text TEXT, globalTid INTEGER, endGlobalTid INTEGER,
          textId INTEGER, domainId INTEGER, uint64Value INTEGER, int64Value INTEGER,
          doubleValue REAL, uint32Value INTEGER, int32Value INTEGER, floatValue REAL,
          jsonTextId INTEGER, jsonText TEXT);
        INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, domainId) VALUES
          (100, NULL, 75, 'trainer', {T_MAIN}, 1);
        INSERT INTO NVTX_EVENTS (start, end, eventType, category, text, globalTid, domainId) VALUES
          (110, NULL, 33, 5, 'phase', {T_MAIN}, 1);
        INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid) VALUES
          (120, NULL, 39, 'MainThread', {T_MAIN});
        INSERT INTO NVTX_EVENTS (start, end, eventType, category, color, globalTid, textId, domainId, int64Value) VALUES
          (3000, 19500, 59, 5, 4278255360, {T_MAIN}, 30, 1, 42);
        INSERT INTO NVTX_EVENTS (start, end, eventType, rangeId, text, globalTid, endGlobalTid, jsonTextId) VALUES
          (9000, 20500, 60, 1, 'async region', {T_MAIN}, {T_WORK}, 31);
        INSERT INTO NVTX_EVENTS (start, end, eventType, text, globalTid, doubleValue) VALUES
          (12000, NULL, 34, 'checkpoint', {T_WORK}, 2.5);
        "#
    ))
    .unwrap();
}

#[test]
fn a_newer_layout_export_imports() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("report.sqlite");
    newer_layout(&path);
    let p = [path.clone()];
    let trace = ingest::load(&p, None).unwrap();
    let producer = trace.provenance.inputs[0].producer.clone().unwrap();
    assert!(
        producer.contains("Nsight Systems 2024.5.1.113") && producer.contains("schema 3.13.0"),
        "{producer}"
    );
    assert_eq!(trace.warnings.total(), 0, "{:?}", trace.warnings.list);

    let rows = ours(
        &p,
        "SELECT s.ts, s.dur, s.name, s.category, t.name, p.name \
         FROM slice s JOIN thread_track tt ON tt.id = s.track_id \
         JOIN thread t ON t.utid = tt.utid JOIN process p ON p.upid = t.upid \
         ORDER BY s.ts, s.category, s.name",
    );
    let got: Vec<(i64, i64, String, String, String, String)> = rows
        .iter()
        .map(|r| {
            (
                int(&r[0]) - UTC0,
                int(&r[1]),
                text(&r[2]),
                text(&r[3]),
                text(&r[4]),
                text(&r[5]),
            )
        })
        .collect();
    let s = |ts: i64, dur: i64, n: &str, c: &str, t: &str, p: &str| {
        (
            ts,
            dur,
            n.to_owned(),
            c.to_owned(),
            t.to_owned(),
            p.to_owned(),
        )
    };
    let gemm = "void gemm<float>(float*, int)";
    let want = vec![
        s(
            3000,
            16500,
            "step",
            "user_annotation",
            "MainThread",
            "python3",
        ),
        s(
            4000,
            900,
            "cudaMemcpyAsync",
            "cuda_runtime",
            "MainThread",
            "python3",
        ),
        s(
            5000,
            4000,
            "[CUDA memcpy Host-to-Device]",
            "gpu_memcpy",
            "stream 7",
            "GPU 0",
        ),
        s(
            9000,
            11500,
            "async region",
            "user_annotation",
            "MainThread",
            "python3",
        ),
        s(
            9100,
            300,
            "cudaMemsetAsync",
            "cuda_runtime",
            "MainThread",
            "python3",
        ),
        s(
            9500,
            300,
            "[CUDA memset]",
            "gpu_memset",
            "stream 13",
            "GPU 0",
        ),
        s(
            9900,
            200,
            "cudaLaunchKernel",
            "cuda_runtime",
            "MainThread",
            "python3",
        ),
        s(
            9950,
            100,
            "cuLaunchKernel",
            "cuda_driver",
            "MainThread",
            "python3",
        ),
        s(10000, 1000, gemm, "kernel", "stream 7", "GPU 0"),
        s(
            10900,
            200,
            "cudaLaunchKernel",
            "cuda_runtime",
            "worker",
            "python3",
        ),
        s(
            11000,
            500,
            "void relu(float*)",
            "kernel",
            "stream 13",
            "GPU 0",
        ),
        s(
            11900,
            200,
            "cudaLaunchKernel",
            "cuda_runtime",
            "MainThread",
            "python3",
        ),
        s(12000, 3000, gemm, "kernel", "stream 7", "GPU 0"),
        s(
            12000,
            0,
            "checkpoint",
            "user_annotation",
            "worker",
            "python3",
        ),
        s(
            15900,
            200,
            "cudaLaunchKernel",
            "cuda_runtime",
            "worker",
            "python3",
        ),
        s(16000, 2000, gemm, "kernel", "stream 7", "GPU 0"),
        s(
            18400,
            700,
            "cudaStreamSynchronize",
            "cuda_runtime",
            "MainThread",
            "python3",
        ),
        s(18500, 500, "Stream sync", "cuda_sync", "stream 7", "GPU 0"),
        s(
            19900,
            200,
            "cudaLaunchKernel",
            "cuda_runtime",
            "worker",
            "python3",
        ),
        s(
            20000,
            700,
            "void relu(float*)",
            "kernel",
            "stream 13",
            "GPU 0",
        ),
        s(
            21000,
            500,
            "Context sync",
            "cuda_sync",
            "context sync",
            "GPU 0",
        ),
    ];
    assert_eq!(got, want);

    // Args by nsys column name; enum labels from the ENUM_* tables.
    let arg = |where_: &str, key: &str| {
        let r = ours(
            &p,
            &format!(
                "SELECT EXTRACT_ARG(arg_set_id, 'debug.{key}') FROM slice WHERE {where_} ORDER BY ts LIMIT 1"
            ),
        );
        r[0][0].clone()
    };
    let k = "category = 'kernel'";
    assert_eq!(arg(k, "greenContextId"), Value::Integer(5));
    assert_eq!(arg(k, "gridX"), Value::Integer(128));
    assert_eq!(arg(k, "blockX"), Value::Integer(256));
    assert_eq!(arg(k, "staticSharedMemory"), Value::Integer(1024));
    assert_eq!(arg(k, "dynamicSharedMemory"), Value::Integer(4096));
    assert_eq!(arg(k, "registersPerThread"), Value::Integer(64));
    assert_eq!(arg(k, "correlationId"), Value::Integer(101));
    assert_eq!(arg(k, "shortName"), Value::Text("gemm".into()));
    assert_eq!(
        arg(
            "category = 'kernel' AND ts = 16000 + 1700000000123456789",
            "graphNodeId"
        ),
        Value::Integer(77)
    );
    let m = "category = 'gpu_memcpy'";
    assert_eq!(arg(m, "bytes"), Value::Integer(1_048_576));
    assert_eq!(arg(m, "copyKind"), Value::Text("Host-to-Device".into()));
    assert_eq!(arg(m, "srcKind"), Value::Text("Pinned".into()));
    assert_eq!(arg(m, "dstKind"), Value::Text("Device".into()));
    assert_eq!(
        arg("category = 'gpu_memset'", "memKind"),
        Value::Text("Device".into())
    );
    let step = "name = 'step'";
    assert_eq!(arg(step, "domain"), Value::Text("trainer".into()));
    assert_eq!(arg(step, "category_name"), Value::Text("phase".into()));
    assert_eq!(arg(step, "color"), Value::Text("#00ff00".into()));
    assert_eq!(arg(step, "payload"), Value::Integer(42));
    assert_eq!(
        arg("name = 'async region'", "payload"),
        Value::Text(r#"{"batch": 8}"#.into())
    );
    assert_eq!(arg("name = 'checkpoint'", "payload"), Value::Real(2.5));
    // The backtrace row is its call's callchainId, and not a call.
    assert_eq!(
        arg("name = 'cudaLaunchKernel'", "callchainId"),
        Value::Integer(9)
    );
    assert_eq!(
        arg("name = 'cudaLaunchKernel'", "nsys_name"),
        Value::Text("cudaLaunchKernel_v7000".into())
    );
    // The device's model is its process label.
    let gpu = trace_label(&path);
    assert_eq!(gpu, ["NVIDIA H100 80GB HBM3"]);

    // Flows: launch → work by correlation id; the runtime call, not the
    // driver call it made.
    let flows = ours(
        &p,
        "SELECT a.name, a.category, b.name FROM flow f JOIN slice a ON a.id = f.slice_out \
         JOIN slice b ON b.id = f.slice_in ORDER BY b.ts",
    );
    let flows: Vec<(String, String, String)> = flows
        .iter()
        .map(|r| (text(&r[0]), text(&r[1]), text(&r[2])))
        .collect();
    assert_eq!(flows.len(), 7, "{flows:?}");
    assert!(flows.iter().all(|f| f.1 == "cuda_runtime"), "{flows:?}");
    assert_eq!(flows[0].2, "[CUDA memcpy Host-to-Device]");

    // The GPU analyses run unchanged.
    assert_kernel_summary(&path);
    let idle = ours(
        &p,
        breakdown_trace::sql::Bundled::find("gpu-idle").unwrap().sql,
    );
    // Device: span 5000 → 20700; busy = union of [5000,9000) [9500,9800)
    // [10000,11000) [11000,11500) [12000,15000) [16000,18000) [20000,20700)
    // = 4000 + 300 + 1000 + 500 + 3000 + 2000 + 700 = 11500.
    assert_eq!(text(&idle[0][0]), "device");
    assert_eq!(int(&idle[0][4]), 15_700);
    assert_eq!(int(&idle[0][5]), 11_500);
}

fn trace_label(path: &Path) -> Vec<String> {
    let trace = ingest::load(&[path.to_owned()], None).unwrap();
    trace
        .tracks
        .iter()
        .find_map(|t| match &t.kind {
            breakdown_trace::model::TrackKind::Process { labels, .. }
                if trace.str(t.name) == "GPU 0" =>
            {
                Some(labels.clone())
            }
            _ => None,
        })
        .unwrap()
}

#[test]
fn every_command_reads_the_real_export() {
    let f = real().display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("n.pftrace").display().to_string();
    let (ok, _, err) = run(&["convert", &f, "-o", &out]);
    assert!(ok, "{err}");
    let d = common::decode(Path::new(&out));
    common::assert_no_crossing(&d);
    let src = Connection::open(real()).unwrap();
    let kernels = count(&src, "SELECT COUNT(*) FROM CUPTI_ACTIVITY_KIND_KERNEL") as usize;
    assert_eq!(
        d.slices.iter().filter(|s| s.category == "kernel").count(),
        kernels
    );
    assert_eq!(
        d.named("saxpy(double *, double *, double *, double, int)")
            .filter(|s| !s.flow_in.is_empty())
            .count(),
        kernels
    );

    let (ok, info, err) = run(&["info", &f]);
    assert!(ok, "{err}");
    assert!(info.contains("format=nsys-sqlite"), "{info}");
    assert!(info.contains("Nsight Systems 2022.2.1.31"), "{info}");

    let (ok, stats, err) = run(&["stats", &f]);
    assert!(ok, "{err}");
    assert!(
        stats.contains("kernel-summary") && stats.contains("gpu-idle"),
        "{stats}"
    );
    assert!(stats.contains("saxpy"), "{stats}");

    let (ok, q, err) = run(&["query", "kernel-stats", &f]);
    assert!(ok, "{err}");
    assert!(q.contains("[CUDA memcpy Host-to-Device]"), "{q}");

    // `db` writes our database; reading it back answers the same.
    let db = dir.path().join("n.db").display().to_string();
    let (ok, _, err) = run(&["db", &f, "-o", &db]);
    assert!(ok, "{err}");
    let (ok, q2, err) = run(&["query", "kernel-stats", &db]);
    assert!(ok, "{err}");
    assert_eq!(q, q2);
}

/// A database written to `path` by `sql`.
fn db_with(dir: &Path, name: &str, sql: &str) -> String {
    let p = dir.join(name);
    Connection::open(&p).unwrap().execute_batch(sql).unwrap();
    p.display().to_string()
}

const MIN_KERNEL: &str = "CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT);
    INSERT INTO StringIds VALUES (1, 'k');
    CREATE TABLE TARGET_INFO_SESSION_START_TIME (utcEpochNs INTEGER);
    INSERT INTO TARGET_INFO_SESSION_START_TIME VALUES (0);";

#[test]
fn bad_input_is_an_error_or_a_warning_naming_table_row_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();

    // Not a database at all past the header: an error naming the file.
    let p = d.join("corrupt.sqlite");
    let mut bytes = b"SQLite format 3\0".to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 4096));
    std::fs::write(&p, &bytes).unwrap();
    let f = p.display().to_string();
    let (ok, _, err) = run(&["info", &f]);
    assert!(!ok && err.contains(&f), "{err}");

    // The real export cut in half.
    let p = d.join("cut.sqlite");
    let raw = std::fs::read(real()).unwrap();
    std::fs::write(&p, &raw[..raw.len() / 2]).unwrap();
    let f = p.display().to_string();
    let (ok, _, err) = run(&["info", &f]);
    assert!(!ok && err.contains(&f), "{err}");

    // A foreign SQLite database.
    let f = db_with(d, "foreign.sqlite", "CREATE TABLE foo (a INTEGER);");
    let (ok, _, err) = run(&[
        "convert",
        &f,
        "-o",
        &d.join("x.pftrace").display().to_string(),
    ]);
    assert!(
        !ok && err.contains("an SQLite database, but not one written by `db`"),
        "{err}"
    );
    assert!(!d.join("x.pftrace").exists());

    // A required column missing.
    let f = db_with(
        d,
        "nocol.sqlite",
        &format!(
            "{MIN_KERNEL} CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, deviceId INTEGER, streamId INTEGER, demangledName INTEGER);
             INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (1, 0, 7, 1);"
        ),
    );
    let (ok, _, err) = run(&["info", &f]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("CUPTI_ACTIVITY_KIND_KERNEL.end") && err.contains("no column `end`"),
        "{err}"
    );

    // Text where a time belongs: an error naming row id and column.
    let f = db_with(
        d,
        "text.sqlite",
        &format!(
            "{MIN_KERNEL} CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, deviceId INTEGER, streamId INTEGER, demangledName INTEGER);
             INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (1, 5, 0, 7, 1), ('soon', 9, 0, 7, 1);"
        ),
    );
    let (ok, _, err) = run(&["info", &f]);
    assert!(!ok, "{err}");
    assert!(
        err.contains("record 2")
            && err.contains("CUPTI_ACTIVITY_KIND_KERNEL.start")
            && err.contains("row id 2"),
        "{err}"
    );

    // NULL and reversed ends: those rows are absent (never zero-length),
    // warned about by table, row id and column; the rest stays.
    let f = db_with(
        d,
        "nullend.sqlite",
        &format!(
            "{MIN_KERNEL} CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, deviceId INTEGER, streamId INTEGER, demangledName INTEGER);
             INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (1, 5, 0, 7, 1), (6, NULL, 0, 7, 1), (9, 8, 0, 7, 1), (10, 12, 0, 7, 1);"
        ),
    );
    let trace = ingest::load(&[PathBuf::from(&f)], None).unwrap();
    assert_eq!(trace.slices.len(), 2);
    assert_eq!(trace.warnings.get("null_timestamp"), 1);
    assert_eq!(trace.warnings.get("reversed_pair"), 1);
    let w = trace
        .warnings
        .list
        .iter()
        .find(|w| w.kind == "null_timestamp")
        .unwrap();
    assert_eq!(w.field, "CUPTI_ACTIVITY_KIND_KERNEL.end");
    assert!(w.message.contains("row id 2"), "{}", w.message);
    let (ok, info, err) = run(&["info", &f]);
    assert!(ok, "{err}");
    assert!(
        info.contains("null_timestamp") && info.contains("reversed_pair"),
        "{info}"
    );

    // Work overlapping other work on its stream by more than 1 µs cannot
    // have run as recorded: a profiler artifact (the rule Kineto traces
    // get), kept on a lane and out of the GPU statistics.
    let f = db_with(
        d,
        "overlap.sqlite",
        &format!(
            "{MIN_KERNEL} CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, deviceId INTEGER, streamId INTEGER, demangledName INTEGER);
             INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (0, 10000, 0, 7, 1), (5000, 20000, 0, 7, 1), (20000, 21000, 0, 7, 1), (21500, 23000, 0, 9, 1);"
        ),
    );
    let trace = ingest::load(&[PathBuf::from(&f)], None).unwrap();
    assert_eq!(trace.warnings.get("overlapping_gpu_work"), 1);
    let w = &trace.warnings.list[0];
    assert_eq!(w.field, "CUPTI_ACTIVITY_KIND_KERNEL.start");
    assert!(
        w.message.contains("row id 2") && w.message.contains("5000 ns"),
        "{}",
        w.message
    );
    assert_eq!(trace.gpu_artifacts.len(), 1);
    let rows = ours(
        &[PathBuf::from(&f)],
        "SELECT COUNT(*), SUM(dur) FROM gpu_work WHERE artifact IS NULL",
    );
    assert_eq!(
        (int(&rows[0][0]), int(&rows[0][1])),
        (3, 10000 + 1000 + 1500)
    );

    // No session start: times stay session-relative, with a warning.
    let f = db_with(
        d,
        "nostart.sqlite",
        "CREATE TABLE StringIds (id INTEGER PRIMARY KEY, value TEXT);
         INSERT INTO StringIds VALUES (1, 'k');
         CREATE TABLE CUPTI_ACTIVITY_KIND_KERNEL (start INTEGER, end INTEGER, deviceId INTEGER, streamId INTEGER, shortName INTEGER);
         INSERT INTO CUPTI_ACTIVITY_KIND_KERNEL VALUES (100, 250, 0, 7, 1);",
    );
    let trace = ingest::load(&[PathBuf::from(&f)], None).unwrap();
    assert_eq!((trace.slices[0].ts, trace.slices[0].dur), (100, 150));
    assert_eq!(trace.warnings.get("no_session_start"), 1);
}
