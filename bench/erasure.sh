#!/usr/bin/env bash
# bench/erasure.sh — issue 6, benchmark 4: cdp.erase of a person with
# BENCH_EVENTS events (default 10 000) spread over 12 monthly partitions, two
# profiles (one merged into the other), three identifiers and consent, among
# BENCH_CROWD other people (default 100 000) with 3 events each. Baseline in
# the same run: the owner's plain DELETE of the events (and their message_ids
# rows) of an identical twin person. Prints the time of each (server side),
# the ratio, and the rows of the erased person left afterwards (must be 0).
. "$(dirname "$0")/lib.sh"
as_postgres "$0" "$@"

EVENTS=${BENCH_EVENTS:-10000}
CROWD=${BENCH_CROWD:-100000}
MONTHS=12

bench_start
trap 'bench_stop final' EXIT
bqv "SELECT bench.new_tenant('erase')" >/dev/null
tid=$(bqv "SELECT bench.tenant_id('erase')"); sid=$(bqv "SELECT bench.source_id('erase')")
say "erasure: a person with $EVENTS events over $MONTHS monthly partitions among $CROWD people x 3 events"
bq -c "SELECT bench.make_months($MONTHS)" \
   -c "SELECT bench.person($tid, $sid, 1000000000, 'victim', $EVENTS, $MONTHS)" \
   -c "SELECT bench.person($tid, $sid, 1000000010, 'twin', $EVENTS, $MONTHS)" \
   -c "SELECT bench.crowd($tid, $sid, 2000000000, $CROWD, 3, $MONTHS)" \
   -c "VACUUM ANALYZE" -c "CHECKPOINT" >/dev/null
parts=$(bqv "SELECT count(DISTINCT tableoid) FROM cdp.events WHERE tenant_id = $tid AND profile_id IN (1000000000, 1000000001)")
ev=$(bqv "SELECT count(*) FROM cdp.events WHERE tenant_id = $tid AND profile_id IN (1000000000, 1000000001)")
say "victim: $ev events in $parts partitions"

l0=$(load1)
base=$(bqv "SELECT bench.time_ms(\$\$WITH e AS (DELETE FROM cdp.events WHERE tenant_id = $tid AND profile_id IN (1000000010, 1000000011)
                                                RETURNING message_id)
                                 DELETE FROM cdp.message_ids m USING e WHERE m.tenant_id = $tid AND m.message_id = e.message_id\$\$)")
row "baseline: plain DELETE of the twin's events and messageIds, ms" "$(printf '%.1f' "$base")" "$l0"
if has_function 'cdp.erase(text,text,text)'; then
  l0=$(load1)
  ms=$(bqv "SELECT bench.time_ms(\$\$SELECT cdp.erase('erase', 'user_id', 'victim')\$\$)")
  row "cdp.erase of the whole person, ms (target < 1000)" "$(printf '%.1f' "$ms")" "$l0"
  row "ratio cdp.erase / plain DELETE" "$(ratio "$ms" "$base")"
  left=$(bqv "SELECT (SELECT count(*) FROM cdp.events WHERE tenant_id = $tid AND profile_id IN (1000000000, 1000000001))
                   + (SELECT count(*) FROM cdp.profiles WHERE tenant_id = $tid AND profile_id IN (1000000000, 1000000001))
                   + (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = $tid AND profile_id IN (1000000000, 1000000001))
                   + (SELECT count(*) FROM cdp.consent_ledger WHERE tenant_id = $tid AND profile_id IN (1000000000, 1000000001))
                   + (SELECT count(*) FROM cdp.message_ids WHERE tenant_id = $tid AND message_id LIKE 'victim-%')")
  row "rows of the erased person left (events, messageIds, profiles, identifiers, consent)" "$left"
  say "receipt: $(bqv "SELECT args FROM cdp.audit_log WHERE tenant_id = $tid AND action = 'erase' ORDER BY audit_id DESC LIMIT 1")"
else
  row "cdp.erase of the whole person, ms" pending
fi
