#!/usr/bin/env bash
# `../shared/bench/compare.sh benches/compare-bin.sh`: the release binary
# under compare.sh's older spelling. compare.sh calls `query ... --format csv`;
# the one-vocabulary CLI names the output format `--output-format` (and
# refuses `--format`, naming both), so this maps that one option and execs
# the binary — one exec, nothing else changes.
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bin="${BREAKDOWN_TRACE_BIN:-$here/../target/release/breakdown-trace}"
args=()
for a in "$@"; do
  if [ "$a" = "--format" ]; then args+=("--output-format"); else args+=("$a"); fi
done
exec "$bin" "${args[@]}"
