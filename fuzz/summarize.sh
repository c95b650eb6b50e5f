#!/usr/bin/env bash
# One line per fuzz log: target, commit, runs, seconds, result.
cd "$(dirname "$0")"
echo "| target | commit | runs | seconds | result |"
echo "|---|---|---|---|---|"
for f in logs/*.log; do
  t=$(basename "$f" .log)
  rev=$(head -1 "$f" | awk '{print $4}')
  done_line=$(grep -m1 "^Done [0-9]* runs in" "$f")
  runs=$(echo "$done_line" | awk '{print $2}')
  secs=$(echo "$done_line" | awk '{print $5}')
  if grep -q "ERROR: libFuzzer\|panicked at\|deadly signal" "$f"; then res="CRASH (see artifacts/$t)"; elif [ -n "$done_line" ]; then res="no crash"; else res="running or not finished"; fi
  echo "| $t | $rev | ${runs:--} | ${secs:--} | $res |"
done
