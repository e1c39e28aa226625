#!/usr/bin/env bash
# bench/rls_overhead.sh — issue 6, benchmark 5: row-level security overhead.
#
# Three tenants of BENCH_PEOPLE people each (default 100 000) with 3 events
# each over the last two months; every customer of the measured tenant has
# granted 'analytics' consent, so the reader and the owner count the same
# rows. The BI query (events per name in the last 30 days, one tenant) runs as
# a reader granted the tenant (cdp.grant_access; RLS decides tenant and
# consent) and as the owner with an explicit tenant filter, on cdp.events and
# through the view cdp.event_stream. pgbench, 1 client, BENCH_DURATION seconds
# per query (default 20), simple protocol (planned per execution, as BI
# tools send ad-hoc queries). Prints mean latency of each and reader/owner.
# BENCH_CONF="jit = off" shows the cost without JIT compilation.
. "$(dirname "$0")/lib.sh"
as_postgres "$0" "$@"

PEOPLE=${BENCH_PEOPLE:-100000}
DURATION=${BENCH_DURATION:-20}

bench_start
trap 'bench_stop final' EXIT
if ! has_function 'cdp.grant_access(regrole,text,text,boolean)'; then
  row "RLS overhead, reader / owner" pending
  say "cdp.grant_access does not exist yet (privacy branch not merged): figures pending"
  exit 0
fi
say "RLS overhead: 3 tenants x $PEOPLE people x 3 events"
for t in rls_a rls_b rls_c; do
  bqv "SELECT bench.new_tenant('$t')" >/dev/null
  bq -c "SELECT bench.crowd(bench.tenant_id('$t'), bench.source_id('$t'), 1000000000 + 10000000 * bench.tenant_id('$t'),
                            $PEOPLE, 3, 2)" >/dev/null
done
tid=$(bqv "SELECT bench.tenant_id('rls_a')")
bq -c "SELECT bench.consent_all($tid, 'analytics')" \
   -c "CREATE ROLE bench_reader LOGIN IN ROLE cdp_reader" \
   -c "SELECT cdp.grant_access('bench_reader', 'rls_a')" \
   -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null

q="SELECT count(*) FROM cdp.events WHERE event_time > now() - interval '30 days'"
same_reader=$(psql -X -h "$BENCH_WORK" -p "$BENCH_PORT" -U bench_reader -d "$BENCH_DB" -Atc "$q")
same_owner=$(bqv "$q AND tenant_id = $tid")
say "rows counted: reader $same_reader, owner $same_owner"
[ "$same_reader" = "$same_owner" ] || say "WARNING: the reader and the owner do not count the same rows"

run() {   # run NAME USER SCRIPT: prints "mean_ms p50 p95 p99 load"
  local name=$1 user=$2 script=$3 l0 out
  rm -f "$BENCH_WORK/log_$name".*
  l0=$(load1)
  out=$(pgbench -h "$BENCH_WORK" -p "$BENCH_PORT" -U "$user" -n -c 1 -T "$DURATION" -M simple -D tid="$tid" \
                -f "$script" -l --log-prefix="$BENCH_WORK/log_$name" "$BENCH_DB" 2>&1) || { echo "$out" >&2; return 1; }
  echo "$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p') $(percentiles "$BENCH_WORK/log_$name") $l0->$(load1)"
}

for v in "" _view; do
  what=$([ -z "$v" ] && echo "cdp.events" || echo "cdp.event_stream")
  own=$(run owner$v postgres "$BENCH_HOME/pgbench/bi_owner$v.sql")
  rdr=$(run reader$v bench_reader "$BENCH_HOME/pgbench/bi_reader$v.sql")
  read -r om _ _ _ ol <<<"$own"; read -r rm _ _ _ rl <<<"$rdr"
  row "BI query on $what, owner + tenant filter, mean ms" "$om" "$ol"
  row "BI query on $what, granted reader under RLS, mean ms" "$rm" "$rl"
  row "ratio reader / owner on $what (target <= 1.5)" "$(ratio "$rm" "$om")"
done
say "reader plan: $(psql -X -h "$BENCH_WORK" -p "$BENCH_PORT" -U bench_reader -d "$BENCH_DB" -Atc "EXPLAIN $q" | tr '\n' ' ' | tr -s ' ' | cut -c1-600)"
