#!/usr/bin/env bash
# bench/run_all.sh — every benchmark of issue 6, one after the other, each on
# its own fresh cluster; figures go to stdout and to $BENCH_RESULTS (default
# /tmp/cdp-bench-results-<time>.txt), with uptime before and after each.
# Takes about 20 minutes at the default scale on 2 cores (BENCH_EXTRAS=1:
# variants with synchronous_commit = off, 2 clients and jit = off;
# BENCH_ONLY="erasure memory" runs a subset). Same environment
# knobs as the scripts (see bench/lib.sh and the header of each script).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
OUT=${BENCH_RESULTS:-/tmp/cdp-bench-results-$(date -u +%Y%m%dT%H%M%SZ).txt}
: > "$OUT"; chmod 666 "$OUT" 2>/dev/null || true
run() {   # run SCRIPT [VAR=value...]: one benchmark, with its settings in the heading
  local b=$1; shift
  {
    printf '\n## %s %s  (start %s UTC, uptime:%s)\n' "$b" "$*" "$(date -u +%H:%M:%S)" "$(uptime | sed 's/.*load average://')"
    env "$@" bash "$HERE/$b.sh" 2>&1
    printf '## end %s UTC, uptime:%s\n' "$(date -u +%H:%M:%S)" "$(uptime | sed 's/.*load average://')"
  } | tee -a "$OUT"
}
for b in ${BENCH_ONLY:-batch_ingest single_ingest lookup_profile erasure rls_overhead memory}; do run "$b"; done
# BENCH_EXTRAS=1: the variants docs/performance.md also reports (about 8 more minutes).
if [ "${BENCH_EXTRAS:-0}" = 1 ]; then
  run single_ingest BENCH_CONF='synchronous_commit = off'
  run single_ingest BENCH_CONF='synchronous_commit = off' BENCH_CLIENTS=2
  run rls_overhead BENCH_CONF='jit = off'
fi
echo "results in $OUT"
