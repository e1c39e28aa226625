#!/usr/bin/env bash
# bench/single_ingest.sh — issue 6, benchmark 2: single-message ingest.
#
# pgbench, BENCH_CLIENTS clients (default 8), BENCH_DURATION seconds each run
# (default 30), prepared statements, one message per transaction about one of
# 100 000 people known beforehand (bench.live_pool, made before the runs: a
# quarter identify; each transaction reads one by key and gives it a new messageId).
# BENCH_ROUNDS rounds (default 2), each: a plain INSERT of the same message
# into cdp.events (bench/pgbench/insert.sql), cdp.ingest
# (bench/pgbench/ingest.sql) and, with BENCH_FLOOR=1 (the default), the floor
# (bench/pgbench/floor.sql: the least a message needs under cdp's promises,
# one plain statement); a last INSERT run closes. The runs alternate because
# the machine drifts between runs (review 7 saw two INSERT runs 25 % apart).
# Each figure is the mean of its runs, with the spread; ratios are of means.
# Latency percentiles come from all of a script's per-transaction logs
# (pgbench -l). All three scripts read their message from bench.live_pool.
. "$(dirname "$0")/lib.sh"
as_postgres "$0" "$@"

CLIENTS=${BENCH_CLIENTS:-8}
DURATION=${BENCH_DURATION:-30}
ROUNDS=${BENCH_ROUNDS:-2}

bench_start
trap 'bench_stop final' EXIT
say "single-message ingest: pgbench -c $CLIENTS -j 2 -T $DURATION -M prepared, $ROUNDS rounds"

key=$(bqv "SELECT bench.new_tenant('single')")
bqv "SELECT bench.new_tenant('insert')" >/dev/null
TID=$(bqv "SELECT bench.tenant_id('insert')")
SID=$(bqv "SELECT bench.source_id('insert')")
# Steady state: every person is known already (one message each, through
# cdp.ingest_batch, before any timing), so the runs mix returning people with
# identifies that attach a userId, as live traffic does.
if has_function 'cdp.ingest_batch(text,jsonb)'; then
  say "pre-loading 100 000 people"
  for b in $(seq 0 9); do
    bq -c "SELECT count(*) FROM cdp.ingest_batch('$key', (SELECT jsonb_agg(bench.message(i, 100000, now() - interval '1 day'))
                                                           FROM generate_series($b * 10000, $b * 10000 + 9999) i))" >/dev/null
  done
fi
say "making 500 000 live messages (bench.live_pool, not timed)"
bq -c "SELECT bench.make_live_pool(100000)" -c "VACUUM ANALYZE bench.live_pool" >/dev/null
FLOOR=${BENCH_FLOOR:-1}
if [ "$FLOOR" = 1 ]; then
  bq -c "SELECT bench.add_floor_hashes(bench.tenant_id('single'))" -c "VACUUM ANALYZE bench.live_pool" >/dev/null
fi
FTID=$(bqv "SELECT bench.tenant_id('single')")
export PGOPTIONS="-c bench.key=$key -c bench.tenant_id=$TID -c bench.source_id=$SID -c bench.floor_tenant_id=$FTID"

run() {   # run NAME SCRIPT ROUND: one pgbench run; prints "tps failed"
  local name=$1 script=$2 k=$3 out l0 tps failed
  bq -c 'CHECKPOINT'
  l0=$(load1)
  out=$(bpgbench -n -c "$CLIENTS" -j 2 -T "$DURATION" -M prepared -f "$script" \
                 -l --log-prefix="$BENCH_WORK/log_$name.r$k" 2>&1) || { echo "$out" >&2; return 1; }
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
  failed=$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
  say "  $name, run $k: $tps tps, load $l0->$(load1)"
  echo "$tps ${failed:-0}"
}

declare -A TPS FAILED
each() {   # each NAME SCRIPT ROUND: runs it and keeps its tps
  local r
  r=$(run "$1" "$2" "$3") || exit 1
  TPS[$1]="${TPS[$1]:-} ${r%% *}"
  FAILED[$1]=$(( ${FAILED[$1]:-0} + ${r##* } ))
}
mean() { echo "$1" | awk '{ for (i = 1; i <= NF; i++) s += $i; printf "%.1f\n", s / NF }'; }
spread() { echo "$1" | awk '{ lo = hi = $1; for (i = 2; i <= NF; i++) { if ($i < lo) lo = $i; if ($i > hi) hi = $i }; printf "%.0f-%.0f\n", lo, hi }'; }

report() {   # report NAME LABEL: mean tps (spread over its runs) and latency percentiles of all its runs
  local t=${TPS[$1]}
  row "$2, tps (mean, $(echo $t | wc -w) runs x ${DURATION} s)" "$(mean "$t")"
  row "$2, tps spread (lowest-highest run)" "$(spread "$t")"
  row "$2, latency p50 / p95 / p99 ms" "$(percentiles "$BENCH_WORK/log_$1" | tr ' ' /)"
  if [ "${FAILED[$1]}" != 0 ]; then say "  $2: ${FAILED[$1]} failed transactions"; fi
}

rm -f "$BENCH_WORK"/log_*
HAS_INGEST=0
if has_function 'cdp.ingest(text,jsonb)'; then HAS_INGEST=1; fi
# Alternating rounds (the machine drifts between runs): INSERT, cdp.ingest,
# the floor; a last INSERT closes, so every run has an INSERT on each side.
for k in $(seq 1 "$ROUNDS"); do
  each insert "$BENCH_HOME/pgbench/insert.sql" "$k"
  if [ "$HAS_INGEST" = 1 ]; then each ingest "$BENCH_HOME/pgbench/ingest.sql" "$k"; fi
  if [ "$FLOOR" = 1 ]; then each floor "$BENCH_HOME/pgbench/floor.sql" "$k"; fi
done
each insert "$BENCH_HOME/pgbench/insert.sql" "$((ROUNDS + 1))"

report insert "plain INSERT into cdp.events"
if [ "$HAS_INGEST" = 1 ]; then
  report ingest "cdp.ingest"
  say "  $(bqv "SELECT format('cdp.ingest stored %s events, %s profiles, %s quarantined',
      (SELECT count(*) FROM cdp.events WHERE tenant_id = bench.tenant_id('single')),
      (SELECT count(*) FROM cdp.profiles WHERE tenant_id = bench.tenant_id('single')),
      (SELECT count(*) FROM cdp.quarantine WHERE tenant_id = bench.tenant_id('single')))")"
else
  row "cdp.ingest, tps" pending
  say "cdp.ingest does not exist yet (ingest branch not merged): figures pending"
fi
if [ "$FLOOR" = 1 ]; then report floor "floor: identifier lookups + messageId claim + event, one statement"; fi

ins_mean=$(mean "${TPS[insert]}")
if [ "$HAS_INGEST" = 1 ]; then
  row "ratio cdp.ingest / INSERT tps (target >= 0.90)" "$(ratio "$(mean "${TPS[ingest]}")" "$ins_mean")"
fi
if [ "$FLOOR" = 1 ]; then
  row "ratio floor / INSERT tps (the most an implementation of the promises reaches)" "$(ratio "$(mean "${TPS[floor]}")" "$ins_mean")"
  if [ "$HAS_INGEST" = 1 ]; then row "ratio cdp.ingest / floor tps" "$(ratio "$(mean "${TPS[ingest]}")" "$(mean "${TPS[floor]}")")"; fi
fi
if [ "$HAS_INGEST" = 1 ]; then
  row "cdp.ingest p95 ms (target <= 3)" "$(percentiles "$BENCH_WORK/log_ingest" | cut -d' ' -f2)"
fi
