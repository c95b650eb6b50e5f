//! Compiles our Perfetto proto subset with prost-build, using protox (a pure-Rust
//! protobuf compiler) so that no system `protoc` is needed; records the git
//! commit and the compiler for `--version` (both "unknown" when not
//! available, e.g. a build from a source archive without git).

use std::process::Command;

fn main() {
    let proto = "protos/perfetto_subset.proto";
    println!("cargo:rerun-if-changed={proto}");
    let fds =
        protox::compile([proto], ["protos"]).expect("protos/perfetto_subset.proto must compile");
    prost_build::Config::new()
        .compile_fds(fds)
        .expect("prost-build code generation");

    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .and_then(|o| String::from_utf8(o.stdout).ok())
            .map(|s| s.trim().to_owned())
            .filter(|s| !s.is_empty())
    };
    let commit = match git(&["rev-parse", "--short=12", "HEAD"]) {
        Some(c) => {
            // Uncommitted changes to tracked files make the build differ
            // from the commit.
            let dirty = git(&["status", "--porcelain", "--untracked-files=no"]).is_some();
            if dirty {
                format!("{c}-modified")
            } else {
                c
            }
        }
        None => "unknown (not built from a git checkout)".to_owned(),
    };
    println!("cargo:rustc-env=BREAKDOWN_TRACE_GIT_COMMIT={commit}");
    // Rebuild the version text when HEAD moves (a commit, a checkout) or
    // the sources change (the `-modified` mark).
    for p in ["src", "queries", "Cargo.toml"] {
        println!("cargo:rerun-if-changed={p}");
    }
    for p in ["HEAD", "logs/HEAD", "index"] {
        if let Some(path) = git(&["rev-parse", "--git-path", p]) {
            println!("cargo:rerun-if-changed={path}");
        }
    }
    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".into());
    let version = Command::new(rustc)
        .arg("-V")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .map(|s| s.trim().to_owned())
        .unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=BREAKDOWN_TRACE_RUSTC={version}");
}
