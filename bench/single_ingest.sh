#!/usr/bin/env bash
# bench/single_ingest.sh — issue 6, benchmark 2: single-message ingest.
#
# pgbench, BENCH_CLIENTS clients (default 8), BENCH_DURATION seconds each run
# (default 60), prepared statements, one message per transaction about one of
# 100 000 people known beforehand (bench.live_pool, made before the runs: a
# quarter identify; each transaction reads one by key and gives it a new messageId).
# Runs: plain INSERT of the same message into cdp.events
# (bench/pgbench/insert.sql), then cdp.ingest (bench/pgbench/ingest.sql),
# then (BENCH_FLOOR=1, the default) the floor (bench/pgbench/floor.sql: the
# least a message needs under cdp's promises, one plain statement), then
# the INSERT again; the ratios use the mean of the two INSERT runs. Latency percentiles come from the
# per-transaction logs (pgbench -l).
. "$(dirname "$0")/lib.sh"
as_postgres "$0" "$@"

CLIENTS=${BENCH_CLIENTS:-8}
DURATION=${BENCH_DURATION:-60}

bench_start
trap 'bench_stop final' EXIT
say "single-message ingest: pgbench -c $CLIENTS -j 2 -T $DURATION -M prepared"

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
  bq -c "SELECT bench.make_floor_pool(bench.tenant_id('single'))" -c "VACUUM ANALYZE bench.floor_pool" >/dev/null
fi
FTID=$(bqv "SELECT bench.tenant_id('single')")
export PGOPTIONS="-c bench.key=$key -c bench.tenant_id=$TID -c bench.source_id=$SID -c bench.floor_tenant_id=$FTID"

run() {   # run NAME SCRIPT: prints "tps p50 p95 p99 failed load"
  local name=$1 script=$2 out l0
  bq -c 'CHECKPOINT'
  rm -f "$BENCH_WORK/log_$name".*
  l0=$(load1)
  out=$(bpgbench -n -c "$CLIENTS" -j 2 -T "$DURATION" -M prepared -f "$script" \
                 -l --log-prefix="$BENCH_WORK/log_$name" 2>&1) || { echo "$out" >&2; return 1; }
  local tps failed
  tps=$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1)
  failed=$(echo "$out" | sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p')
  echo "$tps $(percentiles "$BENCH_WORK/log_$name") ${failed:-0} $l0->$(load1)"
}

report() {   # report LABEL "tps p50 p95 p99 failed load"
  local tps p50 p95 p99 failed l
  read -r tps p50 p95 p99 failed l <<<"$2"
  row "$1, tps" "$tps" "$l"
  row "$1, latency p50 / p95 / p99 ms" "$p50/$p95/$p99" "$l"
  [ "$failed" = 0 ] || say "  $1: $failed failed transactions"
}

ins1=$(run insert1 "$BENCH_HOME/pgbench/insert.sql"); report "plain INSERT into cdp.events (before)" "$ins1"
if has_function 'cdp.ingest(text,jsonb)'; then
  ing=$(run ingest "$BENCH_HOME/pgbench/ingest.sql"); report "cdp.ingest" "$ing"
  say "  $(bqv "SELECT format('cdp.ingest stored %s events, %s profiles, %s quarantined',
      (SELECT count(*) FROM cdp.events WHERE tenant_id = bench.tenant_id('single')),
      (SELECT count(*) FROM cdp.profiles WHERE tenant_id = bench.tenant_id('single')),
      (SELECT count(*) FROM cdp.quarantine WHERE tenant_id = bench.tenant_id('single')))")"
else
  row "cdp.ingest, tps" pending
  say "cdp.ingest does not exist yet (ingest branch not merged): figures pending"
fi
if [ "$FLOOR" = 1 ]; then
  flo=$(run floor "$BENCH_HOME/pgbench/floor.sql")
  report "floor: identifier lookups + messageId claim + event, one statement" "$flo"
fi
ins2=$(run insert2 "$BENCH_HOME/pgbench/insert.sql"); report "plain INSERT into cdp.events (after)" "$ins2"

if [ -n "${ing:-}" ]; then
  ins_mean=$(awk -v a="${ins1%% *}" -v b="${ins2%% *}" 'BEGIN { print (a + b) / 2 }')
  row "ratio cdp.ingest / INSERT tps (target >= 0.90)" "$(ratio "${ing%% *}" "$ins_mean")"
  [ -z "${flo:-}" ] || row "ratio floor / INSERT tps (the most any implementation of the promises reaches)" "$(ratio "${flo%% *}" "$ins_mean")"
  [ -z "${flo:-}" ] || row "ratio cdp.ingest / floor tps" "$(ratio "${ing%% *}" "${flo%% *}")"
  read -r _ _ p95 _ <<<"$ing"
  row "cdp.ingest p95 ms (target <= 3)" "$p95"
fi
