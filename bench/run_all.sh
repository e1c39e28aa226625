#!/usr/bin/env bash
# bench/run_all.sh — every benchmark of issue 6, one after the other, each on
# its own fresh cluster; figures go to stdout and to $BENCH_RESULTS (default
# /tmp/cdp-bench-results-<time>.txt), with uptime before and after each.
# Takes about 15 minutes at the default scale on 2 cores. Same environment
# knobs as the scripts (see bench/lib.sh and the header of each script).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${BENCH_RESULTS:-/tmp/cdp-bench-results-$(date -u +%Y%m%dT%H%M%SZ).txt}
: > "$OUT"; chmod 666 "$OUT" 2>/dev/null || true
for b in batch_ingest single_ingest lookup_profile erasure rls_overhead memory; do
  {
    printf '\n## %s   (start %s UTC, uptime:%s)\n' "$b" "$(date -u +%H:%M:%S)" "$(uptime | sed 's/.*load average://')"
    bash "$HERE/$b.sh" 2>&1
    printf '## end %s UTC, uptime:%s\n' "$(date -u +%H:%M:%S)" "$(uptime | sed 's/.*load average://')"
  } | tee -a "$OUT"
done
echo "results in $OUT"
