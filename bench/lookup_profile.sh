#!/usr/bin/env bash
# bench/lookup_profile.sh — issue 6, benchmark 3: cdp.lookup and cdp.profile
# latency with BENCH_PROFILES profiles (default 1 000 000) in one tenant, each
# with a user_id, an email, traits and one event (plus the events table
# around them). pgbench, BENCH_CLIENTS clients (default 1: latency, not
# throughput), BENCH_DURATION seconds per run (default 20), random existing
# people. Baselines in the same run: SELECT 1 (the round trip alone) and a
# plain primary-key read of one profile row.
#
# The identity graph is created directly (bench.bulk_profiles), hashed by the
# engine's own cdp._identifier_hash.
. "$(dirname "$0")/lib.sh"
as_postgres "$0" "$@"

N=${BENCH_PROFILES:-1000000}
DURATION=${BENCH_DURATION:-20}
CLIENTS=${BENCH_CLIENTS:-1}
BASE=1000000000

bench_start
trap 'bench_stop final' EXIT
key=$(bqv "SELECT bench.new_tenant('lookup')")
tid=$(bqv "SELECT bench.tenant_id('lookup')")
sid=$(bqv "SELECT bench.source_id('lookup')")

have_api=no
has_function 'cdp.lookup(text,text,text)' && has_function 'cdp.profile(text,bigint)' && have_api=yes
t0=$(date +%s)
say "creating $N profiles, $((2 * N)) identifiers (hashed by cdp._identifier_hash), $N events directly"
bq -c "SELECT bench.bulk_profiles($tid, $sid, $N, $BASE)" >/dev/null
bq -c "VACUUM ANALYZE" -c CHECKPOINT
say "graph ready in $(( $(date +%s) - t0 ))s: $(bqv "SELECT count(*) FROM cdp.profiles WHERE tenant_id = $tid") profiles"

run() {   # run NAME SCRIPT: prints "tps p50 p95 p99 load"
  local name=$1 l0 out
  rm -f "$BENCH_WORK/log_$name".*
  l0=$(load1)
  out=$(bpgbench -n -c "$CLIENTS" -j 1 -T "$DURATION" -M prepared -D profiles="$N" -D tid="$tid" \
                 -f "$2" -l --log-prefix="$BENCH_WORK/log_$name" 2>&1) || { echo "$out" >&2; return 1; }
  echo "$(echo "$out" | sed -n 's/^tps = \([0-9.]*\) .*/\1/p' | head -1) $(percentiles "$BENCH_WORK/log_$name") $l0->$(load1)"
}
report() {   # report LABEL "tps p50 p95 p99 load"
  local tps p50 p95 p99 l
  read -r tps p50 p95 p99 l <<<"$2"
  row "$1, p50 / p99 ms" "$p50/$p99" "$l"
}

s1=$(run select1 "$BENCH_HOME/pgbench/select1.sql"); report "SELECT 1 (round trip)" "$s1"
pk=$(run pk "$BENCH_HOME/pgbench/pk_select.sql"); report "primary-key read of a profile row" "$pk"
if [ $have_api = yes ]; then
  lk=$(run lookup "$BENCH_HOME/pgbench/lookup.sql"); report "cdp.lookup at $N profiles" "$lk"
  pr=$(run profile "$BENCH_HOME/pgbench/profile.sql"); report "cdp.profile at $N profiles" "$pr"
  read -r _ lk50 _ lk99 _ <<<"$lk"; read -r _ pr50 _ pr99 _ <<<"$pr"; read -r _ pk50 _ pk99 _ <<<"$pk"
  row "cdp.lookup p99 ms (target < 1)" "$lk99"
  row "cdp.profile p99 ms (target < 5)" "$pr99"
  row "ratio cdp.lookup / primary-key read, p50; p99" "$(ratio "$lk50" "$pk50"); $(ratio "$lk99" "$pk99")"
  row "ratio cdp.profile / primary-key read, p50; p99" "$(ratio "$pr50" "$pk50"); $(ratio "$pr99" "$pk99")"
  # The same calls timed inside the server: clock_timestamp() around each
  # call in one backend (static SQL in plpgsql: planned once, like pgbench
  # -M prepared), so a client or pgbench thread waiting for a core is not
  # counted (a preempted backend still is). Random people, as above.
  inside() {   # inside LABEL STATEMENT (uses n, the person; ends INTO r)
    row "$1, timed in the server, p50 / p99 ms" "$(bqv "
      DO \$\$
      DECLARE t0 timestamptz; n bigint; r text; ms float8[] := '{}';
      BEGIN
        FOR i IN 1..${BENCH_INSIDE_CALLS:-20000} LOOP
          n := 1 + floor(random() * $N)::bigint;
          t0 := clock_timestamp();
          $2;
          ms := ms || 1000 * extract(epoch FROM clock_timestamp() - t0)::float8;
        END LOOP;
        CREATE TEMP TABLE inside_ms AS SELECT unnest(ms) AS ms;
      END \$\$;
      SELECT round(percentile_cont(0.5) WITHIN GROUP (ORDER BY ms)::numeric, 3) || '/' ||
             round(percentile_cont(0.99) WITHIN GROUP (ORDER BY ms)::numeric, 3) FROM inside_ms")"
  }
  inside "primary-key read of a profile row" \
    "SELECT p.traits::text INTO r FROM cdp.profiles p WHERE p.tenant_id = $tid AND p.profile_id = $BASE + n"
  inside "cdp.lookup at $N profiles" "SELECT cdp.lookup('lookup', 'user_id', 'lk-user-' || n)::text INTO r"
  inside "cdp.profile at $N profiles" "SELECT cdp.profile('lookup', $BASE + n)::text INTO r"
  say "sample profile: $(bqv "SELECT left(cdp.profile('lookup', $BASE + 1)::text, 300)")"
else
  row "cdp.lookup at $N profiles, p50 / p99 ms" pending
  row "cdp.profile at $N profiles, p50 / p99 ms" pending
  say "cdp.lookup / cdp.profile do not exist yet (ingest branch not merged): figures pending"
fi
