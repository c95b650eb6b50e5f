#!/usr/bin/env bash
# Builds the fuzz seed corpora (fuzz/corpus/<target>/, not committed) from
# fixtures/ and ../shared/realdata/: small files as they are, larger ones cut
# to their first 32 KiB (a truncated profiler dump is a good seed too),
# .gz inflated. Each seed is prefixed with the driver's control byte(s):
# byte 0 bit 0 = --salvage; roundtrip seeds first carry the format index.
set -euo pipefail
cd "$(dirname "$0")"
root=..
shared=$root/../shared/realdata
rm -rf corpus && mkdir -p corpus
# format index in Format::ALL (see src/ingest/mod.rs)
declare -A idx=([trtllm]=0 [iter_stats]=1 [aiperf]=2 [vllm]=3 [chrome_json]=4 [prometheus]=6)  # 5 = nsys-sqlite (own corpus below)
add() { # target file
  local t=$1 f=$2 base body
  base=$(basename "$f" .gz)
  mkdir -p corpus/$t corpus/roundtrip
  body=$(mktemp)
  if [[ $f == *.gz ]]; then (gzip -dc "$f" 2>/dev/null | head -c 32768 >"$body") || true; else head -c 32768 "$f" >"$body"; fi
  for s in 0 1; do
    { printf "\\x0$s"; cat "$body"; } >corpus/$t/$s-$base
    { printf "\\x0${idx[$t]}\\x0$s"; cat "$body"; } >corpus/roundtrip/$t-$s-$base
  done
  rm -f "$body"
}
for f in $root/fixtures/trtllm/*; do add trtllm "$f"; done
for f in $root/fixtures/iter_stats/*; do add iter_stats "$f"; done
for f in $root/fixtures/aiperf/*; do add aiperf "$f"; done
for f in $root/fixtures/vllm/*; do add vllm "$f"; done
for f in $root/fixtures/chrome/*; do add chrome_json "$f"; done
for f in $root/fixtures/prometheus/*; do add prometheus "$f"; done
[ -d "$shared/triton" ] && for f in "$shared"/triton/*.prom; do add prometheus "$f"; done
[ -d "$shared" ] && for f in $(find "$shared" -name '*.json.gz' -size -200k); do add chrome_json "$f"; done
[ -f "$shared/aiperf/examples/artifacts/run1/profile_export_aiperf.json" ] || true
if [ -d ../fixtures/malformed ]; then
  for f in ../fixtures/malformed/*; do for t in trtllm iter_stats aiperf vllm chrome_json; do add $t "$f"; done; done
fi
# nsys: whole SQLite exports (a cut database is only a malformed one), the
# real one and any small ones under fixtures/nsys; run with -max_len=2000000.
mkdir -p corpus/nsys
for f in $(find "$shared" -name '*nsys*.sqlite' -size -4M 2>/dev/null) $root/fixtures/nsys/*.sqlite; do
  [ -f "$f" ] && { printf '\x00'; cat "$f"; } >corpus/nsys/$(basename "$f")
done
# perfetto_proto: the fixtures converted to traces (needs a release build).
bin=$root/target/release/breakdown-trace
if [ -x "$bin" ]; then
  mkdir -p corpus/perfetto_proto
  for f in $root/fixtures/*/*; do
    out=$(mktemp)
    if "$bin" convert -q "$f" -o "$out.pftrace" 2>/dev/null; then
      for s in 0 1; do { printf "\\x0$s"; head -c 32768 "$out.pftrace"; } >corpus/perfetto_proto/$s-$(basename "$f").pftrace; done
    fi
    rm -f "$out" "$out.pftrace"
  done
fi
# chunked: every JSON-array seed, its control byte read as the chunk size.
mkdir -p corpus/chunked
cp corpus/chrome_json/* corpus/trtllm/* corpus/chunked/
du -sh corpus/*
