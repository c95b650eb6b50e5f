//! What a terminal sees, on a real pseudo-terminal (util-linux `script`):
//! progress bars on stderr only when it is a terminal and without `-q`;
//! tables fit the terminal's width; a binary output refuses a terminal.

mod common;

use std::path::Path;
use std::process::Command;

/// Runs `breakdown-trace ARGS` under a pseudo-terminal (stdin, stdout and
/// stderr are the pty); returns what the terminal received, or `None`
/// when `script` is missing.
fn on_pty(args: &str, env: &[(&str, &str)]) -> Option<(bool, String)> {
    let bin = assert_cmd::cargo::cargo_bin("breakdown-trace");
    let mut cmd = Command::new("script");
    cmd.args(["-qec", &format!("'{}' {args}", bin.display()), "/dev/null"]);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = match cmd.output() {
        Ok(o) => o,
        Err(e) => {
            eprintln!("SKIP: util-linux `script` is not available ({e})");
            return None;
        }
    };
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(!text.contains("panicked"), "{text}");
    Some((out.status.success(), text))
}

/// A Kineto-style trace of `n` kernels with launches and flows (a few MB:
/// parsing it takes long enough for a bar without a delay).
fn big_trace(dir: &Path, n: usize) -> String {
    let mut s = String::from("{\"traceEvents\":[\n");
    for i in 0..n {
        let ts = 1000 + i * 10;
        s.push_str(&format!(
            "{{\"ph\":\"X\",\"cat\":\"cuda_runtime\",\"name\":\"cudaLaunchKernel\",\"pid\":1,\"tid\":1,\"ts\":{ts},\"dur\":2,\"args\":{{\"correlation\":{i}}}}},\n\
             {{\"ph\":\"X\",\"cat\":\"kernel\",\"name\":\"_ZN7kernels4gemmILi128EEEvPKfPf\",\"pid\":0,\"tid\":7,\"ts\":{},\"dur\":5,\"args\":{{\"correlation\":{i},\"device\":0,\"stream\":7}}}},\n",
            ts + 3
        ));
    }
    s.push_str("{\"ph\":\"i\",\"name\":\"end\",\"pid\":1,\"tid\":1,\"ts\":1,\"s\":\"t\"}]}\n");
    let p = dir.join("big.json");
    std::fs::write(&p, s).unwrap();
    p.display().to_string()
}

#[test]
fn progress_bars_appear_on_a_terminal_and_never_in_pipes() {
    let dir = tempfile::tempdir().unwrap();
    let input = big_trace(dir.path(), 60_000);
    let out = dir.path().join("t.pftrace").display().to_string();
    let now = [("BREAKDOWN_TRACE_PROGRESS_DELAY_MS", "0")];
    let Some((ok, tty)) = on_pty(&format!("convert '{input}' -o '{out}'"), &now) else {
        return;
    };
    assert!(ok, "{tty}");
    assert!(
        tty.contains("parsing") && tty.contains("big.json"),
        "a bar names the step and the input: {tty:?}"
    );
    assert!(
        tty.contains('\u{1b}'),
        "drawn with terminal escapes: {tty:?}"
    );
    // -q: nothing but errors.
    let (ok, quiet) = on_pty(&format!("convert '{input}' -o '{out}' -q"), &now).unwrap();
    assert!(ok);
    assert!(quiet.trim().is_empty(), "-q prints nothing: {quiet:?}");
    // Piped stderr: the summary, no bar.
    let (o, err) = common::run_env(&["convert", &input, "-o", &out], &now);
    assert!(o.status.success());
    assert!(err.contains("wrote"), "{err}");
    assert!(
        !err.contains("parsing") && !err.contains('\u{1b}') && !err.contains('\r'),
        "no bar when piped: {err:?}"
    );
    // A query on a terminal: its spinner goes, the table stays, stdout
    // (piped) has no trace of a bar.
    let (o, err) = common::run_env(&["query", "kernel-stats", &input], &now);
    assert!(o.status.success(), "{err}");
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(
        !stdout.contains('\u{1b}') && !stdout.contains("running"),
        "{stdout}"
    );
}

#[test]
fn tables_fit_the_terminal_and_binary_outputs_refuse_it() {
    let dir = tempfile::tempdir().unwrap();
    let input = big_trace(dir.path(), 3);
    let env = [("COLUMNS", "60")];
    let Some((ok, tty)) = on_pty(&format!("query idle-gaps '{input}'"), &env) else {
        return;
    };
    assert!(ok, "{tty}");
    // The kernel names are demangled and shortened in the middle; the
    // numbers (diff) are whole.
    let lines: Vec<&str> = tty.lines().map(|l| l.trim_end_matches('\r')).collect();
    assert!(lines[0].trim_start().starts_with("ts"), "{tty}");
    for l in &lines {
        assert!(
            unicode_width(l) <= 60,
            "{} cells: {l:?}\n{tty}",
            unicode_width(l)
        );
    }
    assert!(tty.contains('…'), "{tty}");
    assert!(
        tty.contains("void kerne") && tty.contains("float*)"),
        "demangled: {tty}"
    );
    assert!(!tty.contains("_ZN7kernels"), "{tty}");
    let first = lines[2];
    assert!(
        first.ends_with(" 5000"),
        "diff 10 - 5 = 5 µs, in ns, whole: {first:?}"
    );
    // --wide: whole names.
    let (_, wide) = on_pty(&format!("query idle-gaps '{input}' --wide"), &env).unwrap();
    assert!(
        wide.contains("void kernels::gemm<128>(float const*, float*)"),
        "{wide}"
    );
    // CSV keeps the raw name.
    let (o, _) = common::run_env(&["query", "idle-gaps", &input], &[]);
    assert!(String::from_utf8(o.stdout)
        .unwrap()
        .contains("_ZN7kernels4gemmILi128EEEvPKfPf"));
    // A trace or a database to a terminal: refused, nothing written.
    for cmd in ["convert", "db"] {
        let (ok, text) = on_pty(&format!("{cmd} '{input}' -o -"), &[]).unwrap();
        assert!(!ok, "{cmd}: {text}");
        assert!(text.contains("refusing to write"), "{text}");
        assert!(!text.contains("SQLite format"), "{text}");
    }
}

/// Terminal cells of `s` (the kernel names here are ASCII plus `…`).
fn unicode_width(s: &str) -> usize {
    s.chars().count()
}
