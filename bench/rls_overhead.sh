#!/usr/bin/env bash
# bench/rls_overhead.sh — issue 6, benchmark 5: row-level security overhead.
#
# Three tenants of BENCH_PEOPLE people each (default 100 000) with 3 events
# each over the last two months; every customer of the measured tenant has
# granted 'analytics' consent, so the reader and the owner count the same
# rows. The BI query (events per name in the last 30 days, one tenant) runs as
# a reader granted the tenant (cdp.grant_access; RLS decides tenant and
# consent) through the view cdp.event_stream, and as the owner with an
# explicit tenant filter on cdp.events and through the view. Readers hold no
# privilege on cdp.events itself (see_pii holds at the tables, docs/consent.md):
# the script checks that the reader is refused the table, and compares the
# reader's view with the owner's table and the owner's view.
# pgbench, 1 client, BENCH_DURATION seconds
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

q="SELECT count(*) FROM cdp.event_stream WHERE event_time > now() - interval '30 days'"
same_reader=$(psql -X -h "$BENCH_WORK" -p "$BENCH_PORT" -U bench_reader -d "$BENCH_DB" -Atc "$q")
same_owner=$(bqv "SELECT count(*) FROM cdp.events WHERE event_time > now() - interval '30 days' AND tenant_id = $tid")
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

run_pt() {   # run_pt NAME USER SCRIPT: as run, with the people count and the tenant's id base
  local name=$1 user=$2 script=$3 l0 out
  rm -f "$BENCH_WORK/log_$name".*
  l0=$(load1)
  out=$(pgbench -h "$BENCH_WORK" -p "$BENCH_PORT" -U "$user" -n -c 1 -T "$DURATION" -M prepared -D tid="$tid" \
                -D people="$PEOPLE" -D base="$((1000000000 + 10000000 * tid))" \
                -f "$script" -l --log-prefix="$BENCH_WORK/log_$name" "$BENCH_DB" 2>&1) || { echo "$out" >&2; return 1; }
  echo "$(echo "$out" | sed -n 's/^latency average = \([0-9.]*\) ms/\1/p') $(percentiles "$BENCH_WORK/log_$name") $l0->$(load1)"
}

refused=$(psql -X -h "$BENCH_WORK" -p "$BENCH_PORT" -U bench_reader -d "$BENCH_DB" -Atc \
          "SELECT count(*) FROM cdp.events" 2>&1 | grep -c 'permission denied' || true)
[ "$refused" = 1 ] || say "WARNING: the reader was not refused cdp.events"
own=$(run owner postgres "$BENCH_HOME/pgbench/bi_owner.sql")
ownv=$(run owner_view postgres "$BENCH_HOME/pgbench/bi_owner_view.sql")
rdr=$(run reader_view bench_reader "$BENCH_HOME/pgbench/bi_reader_view.sql")
read -r om _ _ _ ol <<<"$own"; read -r ovm _ _ _ ovl <<<"$ownv"; read -r rm _ _ _ rl <<<"$rdr"
row "BI query on cdp.events, owner + tenant filter, mean ms" "$om" "$ol"
row "BI query on cdp.event_stream, owner + tenant filter, mean ms" "$ovm" "$ovl"
row "BI query on cdp.event_stream, granted reader under RLS, mean ms" "$rm" "$rl"
row "ratio reader view / owner table (target <= 1.5)" "$(ratio "$rm" "$om")"
row "ratio reader view / owner view (target <= 1.5)" "$(ratio "$rm" "$ovm")"
row "reader refused cdp.events (1 = yes)" "$refused"

# Point reads: the consent test must stay cheap for one customer, not only
# for scans (a hashed consent set costs its build on every query).
for what in lookup profile_360; do
  o=$(DURATION=$(( (DURATION + 1) / 2 )) run_pt "owner_$what" postgres "$BENCH_HOME/pgbench/rls_$what.sql")
  r=$(DURATION=$(( (DURATION + 1) / 2 )) run_pt "reader_$what" bench_reader "$BENCH_HOME/pgbench/rls_$what.sql")
  read -r om o50 _ o99 ol <<<"$o"; read -r rm r50 _ r99 rl <<<"$r"
  row "$what of one customer, owner, mean / p50 / p99 ms" "$om / $o50 / $o99" "$ol"
  row "$what of one customer, granted reader, mean / p50 / p99 ms" "$rm / $r50 / $r99" "$rl"
done
say "reader plan: $(psql -X -h "$BENCH_WORK" -p "$BENCH_PORT" -U bench_reader -d "$BENCH_DB" -Atc "EXPLAIN $q" | tr '\n' ' ' | tr -s ' ' | cut -c1-600)"
