#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 600), one at a time, on a
# snapshot of the committed HEAD (so edits in the worktree never break a
# build mid-run). Logs: fuzz/logs/<target>.log; crashes: fuzz/artifacts/<target>/.
# Usage: fuzz/run-all.sh [SECONDS] [TARGET...]
set -uo pipefail
here=$(cd "$(dirname "$0")" && pwd)
secs=${1:-600}; shift || true
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(chrome_json chunked trtllm iter_stats aiperf vllm nsys prometheus perfetto_proto roundtrip)
snap=/tmp/breakdown-fuzz-snapshot
mkdir -p "$here/logs"
for t in "${targets[@]}"; do
  rm -rf "$snap" && mkdir -p "$snap"
  git -C "$here/.." archive HEAD | tar -x -C "$snap"
  rev=$(git -C "$here/.." rev-parse --short HEAD)
  mkdir -p "$here/artifacts/$t" "$here/corpus/$t"
  echo "== $t at $rev for ${secs}s, started $(date -u +%FT%TZ)" >"$here/logs/$t.log"
  # chunked spawns threads per input; LeakSanitizer reports glibc's 32-byte
  # thread-exit registration of each as a leak, so leaks are not checked there.
  extra=(); [ "$t" = chunked ] && extra=(-detect_leaks=0)
  # nsys seeds are whole SQLite databases (the real export is 1.6 MB).
  len=65536; [ "$t" = nsys ] && len=2000000
  (cd "$snap/fuzz" && RUSTC_BOOTSTRAP=1 cargo fuzz run -a --target-dir /tmp/breakdown-fuzz-target "$t" \
      "$here/corpus/$t" -- -max_total_time="$secs" -timeout=20 -rss_limit_mb=4096 -max_len="$len" "${extra[@]}" \
      -artifact_prefix="$here/artifacts/$t/" -print_final_stats=1) >>"$here/logs/$t.log" 2>&1
  echo "== $t exit $? finished $(date -u +%FT%TZ)" >>"$here/logs/$t.log"
done
