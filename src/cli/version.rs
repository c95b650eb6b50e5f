//! `--version` details: commit, compiler, features, SQLite.

/// The text of `breakdown-trace --version` (long form).
pub fn long() -> String {
    format!(
        "{}\ncommit:   {}\ncompiler: {}\nfeatures: none (breakdown-trace has no optional Cargo features; every format and command is built in)\nsqlite:   {} (bundled)",
        env!("CARGO_PKG_VERSION"),
        env!("BREAKDOWN_TRACE_GIT_COMMIT"),
        env!("BREAKDOWN_TRACE_RUSTC"),
        rusqlite::version(),
    )
}
