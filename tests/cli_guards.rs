//! Guards around the command line (issue 12, "Also"): an output that is an
//! input is refused before anything is read; outputs get the permissions
//! the umask gives; a forced format that finds nothing of its kind is an
//! error, not an empty trace; unknown query parameters and valid inputs
//! with nothing for a command get the right exit codes.

mod common;

use std::path::Path;

use common::{fixture, run};

/// Exit code and stderr (the common runner also checks for panics).
fn code(args: &[&str]) -> (i32, String) {
    let (out, stderr) = common::run_env(args, &[]);
    (out.status.code().unwrap_or(-1), stderr)
}

#[test]
fn an_output_that_is_an_input_is_refused_and_the_input_kept() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("trace.json");
    std::fs::copy(fixture("chrome/kineto_small.json"), &input).unwrap();
    let before = std::fs::read(&input).unwrap();
    let link = dir.path().join("link.json");
    let hard = dir.path().join("hard.json");
    #[cfg(unix)]
    std::os::unix::fs::symlink(&input, &link).unwrap();
    std::fs::hard_link(&input, &hard).unwrap();
    let i = input.display().to_string();
    for out in [&input, &link, &hard] {
        let o = out.display().to_string();
        for cmd in ["convert", "db"] {
            let (c, err) = code(&[cmd, &i, "-o", &o]);
            assert_eq!(c, 2, "{cmd} -o {o}: {err}");
            assert!(err.contains("refusing to overwrite"), "{err}");
        }
    }
    // report reads request inputs: the same guard.
    let req = dir.path().join("agg.json");
    std::fs::copy(fixture("trtllm/aggregated-perf_metrics.json"), &req).unwrap();
    let r = req.display().to_string();
    let (c, err) = code(&["report", &r, "-o", &r]);
    assert_eq!(c, 2, "{err}");
    assert_eq!(std::fs::read(&input).unwrap(), before, "input untouched");
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(
        std::fs::read(&req).unwrap(),
        std::fs::read(fixture("trtllm/aggregated-perf_metrics.json")).unwrap()
    );
}

#[cfg(unix)]
#[test]
fn outputs_get_the_permissions_the_umask_gives() {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempfile::tempdir().unwrap();
    // What a plain new file gets here (mode 0666 less the umask).
    let probe = dir.path().join("probe");
    std::fs::File::create(&probe).unwrap();
    let want = std::fs::metadata(&probe).unwrap().permissions().mode() & 0o777;
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let agg = fixture("trtllm/aggregated-perf_metrics.json")
        .display()
        .to_string();
    let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
    for (args, name) in [
        (vec!["convert", &k], "t.pftrace"),
        (vec!["db", &k], "t.sqlite"),
        (vec!["report", &agg], "t.html"),
    ] {
        let out = dir.path().join(name);
        let o = out.display().to_string();
        let mut a = args.clone();
        a.extend(["-o", &o]);
        let (ok, _, err) = run(&a);
        assert!(ok, "{err}");
        assert_eq!(mode(&out), want, "{name}");
    }
}

#[test]
fn a_forced_format_that_finds_nothing_is_an_error() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let aiperf = fixture("aiperf/new-schema.jsonl").display().to_string();
    for (forced, input, looks) in [
        ("aiperf", &k, "chrome-json"),
        ("trtllm-iteration-stats", &k, "chrome-json"),
        ("chrome-json", &aiperf, "aiperf"),
    ] {
        let (c, err) = code(&["info", "--input-format", forced, input]);
        assert_eq!(c, 1, "{forced}: {err}");
        assert!(
            err.contains(&format!("--input-format {forced} found none of")),
            "{err}"
        );
        assert!(
            err.contains(&format!("looks like `--input-format {looks}`")),
            "{err}"
        );
        assert!(err.contains(input.as_str()), "names the file: {err}");
    }
    // An empty poll is empty in any format.
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, "[]\n").unwrap();
    let (c, err) = code(&[
        "info",
        "--input-format",
        "chrome-json",
        &empty.display().to_string(),
    ]);
    assert_eq!(c, 0, "{err}");
}

#[test]
fn an_unknown_query_parameter_is_a_usage_error_listing_the_parameters() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let (c, err) = code(&["query", "gpu-idle", &k, "--param", "topp=2"]);
    assert_eq!(c, 2, "{err}");
    assert!(
        err.contains("no parameter :topp") && err.contains(":top"),
        "{err}"
    );
    let (c, err) = code(&["query", "kernel-stats", &k, "--param", "top=2"]);
    assert_eq!(c, 2, "{err}");
    assert!(err.contains("it has none"), "{err}");
    let (c, err) = code(&["query", "gpu-idle", &k, "--param", "top=1"]);
    assert_eq!(c, 0, "{err}");
}

#[test]
fn valid_inputs_with_nothing_for_the_command_exit_1_not_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.json");
    std::fs::write(&empty, r#"{"traceEvents":[]}"#).unwrap();
    let empty = empty.display().to_string();
    let (c, err) = code(&["stats", &empty]);
    assert_eq!(c, 1, "{err}");
    assert!(err.contains("nothing to summarize"), "{err}");
    let o = dir.path().join("r.html").display().to_string();
    let (c, err) = code(&["report", &empty, "-o", &o]);
    assert_eq!(c, 1, "{err}");
    assert!(!Path::new(&o).exists());
}

/// SQL whose later statements use what earlier ones created runs in order
/// (the parameter check must not prepare them all first).
#[test]
fn statements_run_in_order() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let (ok, out, err) = run(&[
        "query",
        "--sql",
        "CREATE TEMP TABLE t AS SELECT id FROM slice; SELECT count(*) AS n FROM t",
        &k,
        "--output-format",
        "csv",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.replace("\r\n", "\n"), "n\n8\n");
}

/// `query` and `stats` read a pipe like the other commands (looking for a
/// database file's header must not eat the pipe's first bytes).
#[cfg(unix)]
#[test]
fn query_and_stats_read_a_pipe() {
    use std::io::Write;
    use std::process::{Command, Stdio};
    let text = std::fs::read(fixture("chrome/kineto_small.json")).unwrap();
    for args in [
        vec![
            "query",
            "--sql",
            "SELECT count(*) FROM slice",
            "/dev/stdin",
            "--output-format",
            "csv",
        ],
        vec!["stats", "/dev/stdin", "--output-format", "csv"],
    ] {
        let mut child = Command::new(env!("CARGO_BIN_EXE_breakdown-trace"))
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        child.stdin.take().unwrap().write_all(&text).unwrap();
        let out = child.wait_with_output().unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "{args:?}: {err}");
        assert!(!out.stdout.is_empty(), "{args:?}");
    }
}

/// Output that cannot be written is an error (exit 1), never lost with
/// exit 0 and never a panic.
#[cfg(target_os = "linux")]
#[test]
fn unwritable_standard_output_is_an_error() {
    use std::process::{Command, Stdio};
    let k = fixture("chrome/kineto_small.json").display().to_string();
    for args in [
        vec![
            "query",
            "kernel-stats",
            k.as_str(),
            "--output-format",
            "csv",
        ],
        vec![
            "query",
            "kernel-stats",
            k.as_str(),
            "--output-format",
            "json",
        ],
        vec!["stats", k.as_str()],
        vec!["info", k.as_str()],
        vec!["queries"],
    ] {
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_breakdown-trace"))
            .args(&args)
            .stdout(Stdio::from(full))
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("standard output") && !err.contains("panicked"),
            "{err}"
        );
    }
}

/// Bundled queries take counts: anything else is a usage error naming the
/// parameter (a text `top` used to compare as always-true).
#[test]
fn bundled_query_parameters_are_counts() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    for v in ["abc", "-1", "1.5"] {
        let (c, err) = code(&["query", "gpu-idle", &k, "--param", &format!("top={v}")]);
        assert_eq!(c, 2, "{v}: {err}");
        assert!(err.contains(&format!("--param top={v}")), "{err}");
    }
}

/// SQL cannot create files: no ATTACH, no VACUUM INTO.
#[test]
fn queries_write_no_files() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("x.sqlite");
    let t = target.display().to_string();
    for sql in [format!("ATTACH '{t}' AS a"), format!("VACUUM INTO '{t}'")] {
        let (c, err) = code(&["query", "--sql", &sql, &k]);
        assert_eq!(c, 1, "{sql}: {err}");
        assert!(!target.exists(), "{sql}");
    }
}

/// Iteration fields whose column names differ only in case, or that two
/// keys share (`a.b` and `a_b`), get columns of their own: no failure, no
/// merged values (SQLite's column names ignore case).
#[test]
fn iteration_columns_never_collide() {
    let dir = tempfile::tempdir().unwrap();
    let f = dir.path().join("iters.json");
    std::fs::write(
        &f,
        r#"[{"timestamp":"03-04-2024 05:06:07.000000","iter":10,"ID":7,"numActiveRequests":1,
            "numactiverequests":2,"inflightBatchingStats":{"numCtxTokens":5},
            "inflightBatchingStats_numCtxTokens":6}]"#,
    )
    .unwrap();
    let p = f.display().to_string();
    let (ok, out, err) = run(&[
        "query",
        "--sql",
        "SELECT ID_2, numActiveRequests, numactiverequests_2, inflightBatchingStats_numCtxTokens, \
         inflightBatchingStats_numCtxTokens_2 FROM iteration",
        &p,
        "--output-format",
        "csv",
    ]);
    assert!(ok, "{err}");
    assert_eq!(out.lines().nth(1), Some("7,1,2,5,6"));
    let db = dir.path().join("i.sqlite").display().to_string();
    let (ok, _, err) = run(&["db", &p, "-o", &db]);
    assert!(ok, "{err}");
}

/// A `db` file is read back by the commands that need a trace (`info`,
/// `convert`); an SQLite file that `db` did not write is named for what it is.
#[test]
fn a_db_file_is_read_back_and_another_sqlite_file_named() {
    let k = fixture("chrome/kineto_small.json").display().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("t.sqlite").display().to_string();
    let (ok, _, err) = run(&["db", &k, "-o", &db]);
    assert!(ok, "{err}");
    let out = dir.path().join("o.pftrace").display().to_string();
    let (ok, info, err) = run(&["info", &db]);
    assert!(ok, "{err}");
    assert!(info.contains("format=breakdown-db"), "{info}");
    let (ok, _, err) = run(&["convert", &db, "-o", &out]);
    assert!(ok, "{err}");
    // Another SQLite database.
    let other = dir.path().join("other.sqlite");
    rusqlite::Connection::open(&other)
        .unwrap()
        .execute_batch("CREATE TABLE StringIds (id INTEGER, value TEXT);")
        .unwrap();
    let other = other.display().to_string();
    let (c, err) = code(&["info", &other]);
    assert_eq!(c, 1, "{err}");
    assert!(
        err.contains("an SQLite database, but not one written by `db`"),
        "{err}"
    );
}
