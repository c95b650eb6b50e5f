//! Golden tests as data: every folder `tests/golden/<case>/` is one case.
//!
//! - `cmd`: one line, the breakdown-trace arguments, split like a shell
//!   would (whitespace; `"..."` and `'...'` group; `\"` and `\\` inside
//!   double quotes). Input paths are relative to the project root, where
//!   the binary runs: `../shared/cases/...` for the shared inputs (never
//!   copied into the repository), `tests/golden/<case>/...` for an input
//!   written for the case.
//! - `expected`: the exact stdout.
//! - `exit` (optional): the expected exit code; 0 when absent.
//! - `expected_stderr_contains` (optional): each non-empty line must occur
//!   in stderr.
//!
//! Each case also runs with 1-byte parse chunks on two threads, which must
//! not change a byte of stdout or stderr, nor the exit code.
//!
//! `GOLDEN_BLESS=1 cargo test --release --test golden` rewrites every
//! `expected` with the stdout the binary prints now (exit codes and stderr
//! are still checked). Read the diff of a blessed file by hand before
//! committing it: a golden file that records a wrong answer is worse than
//! none.

mod common;

use std::path::{Path, PathBuf};

/// Splits a `cmd` line into arguments.
fn split(line: &str) -> Result<Vec<String>, String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_arg = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_arg {
                    out.push(std::mem::take(&mut cur));
                    in_arg = false;
                }
            }
            '"' => {
                in_arg = true;
                loop {
                    match chars.next() {
                        None => return Err("unclosed `\"`".into()),
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(e @ ('"' | '\\')) => cur.push(e),
                            Some(e) => {
                                cur.push('\\');
                                cur.push(e);
                            }
                            None => return Err("`\\` at the end".into()),
                        },
                        Some(c) => cur.push(c),
                    }
                }
            }
            '\'' => {
                in_arg = true;
                loop {
                    match chars.next() {
                        None => return Err("unclosed `'`".into()),
                        Some('\'') => break,
                        Some(c) => cur.push(c),
                    }
                }
            }
            c => {
                in_arg = true;
                cur.push(c);
            }
        }
    }
    if in_arg {
        out.push(cur);
    }
    Ok(out)
}

fn cases() -> Vec<PathBuf> {
    let root = common::manifest_dir().join("tests").join("golden");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap_or_else(|e| panic!("{}: {e}", root.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read_opt(dir: &Path, name: &str) -> Option<String> {
    std::fs::read_to_string(dir.join(name)).ok()
}

/// Runs the binary from the project root; (exit code, stdout, stderr).
fn run(args: &[String], env: &[(&str, &str)]) -> (i32, String, String) {
    let (out, stderr) = common::run_env(args, env);
    (
        out.status.code().expect("exited, not killed"),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr,
    )
}

/// The first differing line of two texts, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<&str>, Vec<&str>) = (want.lines().collect(), got.lines().collect());
    for i in 0..w.len().max(g.len()) {
        if w.get(i) != g.get(i) {
            return format!(
                "line {}:\n  expected: {:?}\n  got:      {:?}",
                i + 1,
                w.get(i),
                g.get(i)
            );
        }
    }
    "(they differ in line endings only)".into()
}

#[test]
fn golden_cases() {
    // Paths in `cmd` are relative to the project root.
    std::env::set_current_dir(common::manifest_dir()).unwrap();
    let bless = std::env::var_os("GOLDEN_BLESS").is_some_and(|v| v == "1");
    let cases = cases();
    assert!(!cases.is_empty(), "no golden cases found");
    let mut failures = Vec::new();
    for dir in &cases {
        let name = dir.file_name().unwrap().to_string_lossy().into_owned();
        let cmd = read_opt(dir, "cmd").unwrap_or_else(|| panic!("{name}: no `cmd` file"));
        let lines: Vec<&str> = cmd.lines().filter(|l| !l.trim().is_empty()).collect();
        assert_eq!(lines.len(), 1, "{name}: `cmd` must be one line");
        let args = split(lines[0]).unwrap_or_else(|e| panic!("{name}: cmd: {e}"));
        let want_exit: i32 = read_opt(dir, "exit")
            .map(|t| t.trim().parse().expect("`exit` is an integer"))
            .unwrap_or(0);
        let (code, stdout, stderr) = run(&args, &[]);
        if code != want_exit {
            failures.push(format!(
                "{name}: exit code {code}, expected {want_exit}; stderr:\n{stderr}"
            ));
        }
        if let Some(want) = read_opt(dir, "expected_stderr_contains") {
            for l in want.lines().filter(|l| !l.trim().is_empty()) {
                if !stderr.contains(l) {
                    failures.push(format!("{name}: stderr lacks `{l}`; stderr:\n{stderr}"));
                }
            }
        }
        let expected_path = dir.join("expected");
        if bless {
            std::fs::write(&expected_path, &stdout).unwrap();
        } else {
            match read_opt(dir, "expected") {
                None => failures.push(format!(
                    "{name}: no `expected` file (GOLDEN_BLESS=1 writes it; check it by hand)"
                )),
                Some(want) if want != stdout => failures.push(format!(
                    "{name}: stdout differs from `expected`, {}",
                    first_difference(&want, &stdout)
                )),
                Some(_) => {}
            }
        }
        // The parse's chunk size and thread count change nothing.
        let tiny = run(
            &args,
            &[
                ("RAYON_NUM_THREADS", "2"),
                ("BREAKDOWN_TRACE_CHUNK_BYTES", "1"),
            ],
        );
        if tiny != (code, stdout, stderr) {
            failures.push(format!(
                "{name}: 1-byte chunks on 2 threads change the result"
            ));
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} golden cases failed:\n\n{}",
        failures.len(),
        cases.len(),
        failures.join("\n\n")
    );
}

#[test]
fn cmd_lines_split_like_a_shell() {
    assert_eq!(
        split(r#"query --sql "SELECT name, 'a b' FROM \"t\"" x.json --output-format csv"#).unwrap(),
        [
            "query",
            "--sql",
            r#"SELECT name, 'a b' FROM "t""#,
            "x.json",
            "--output-format",
            "csv"
        ]
    );
    assert_eq!(split("a  'b \"c'  \"\"").unwrap(), ["a", "b \"c", ""]);
    assert!(split("a \"b").is_err());
}
