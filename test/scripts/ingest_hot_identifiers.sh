#!/usr/bin/env bash
# test/scripts/ingest_hot_identifiers.sh — issue 3, concurrency: pgbench runs
# 8 clients that hammer 200 hot identifiers (50 people x user_id,
# anonymous_id, email, device_id) through cdp.ingest. Every message carries a
# random non-empty subset of one person's identifiers, so sessions race to
# create, attach and merge the same profiles. Afterwards: every client
# succeeded, every message is stored, each person has exactly one canonical
# profile holding all four identifiers, no two people share a profile, no
# canonical profile is without identifiers (orphan), no identifier is lost or
# points at a merged profile, and merges stay one hop. TAP output.
set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/lib.sh"
PORT=$(( ${CDP_TEST_PORT:-55432} + 0 ))
DIR=$PWD/tmp_hot_identifiers
CLIENTS=8
TX_PER_CLIENT=${HOT_TX_PER_CLIENT:-250}
PEOPLE=50

q() { cpsql "$DIR" "$PORT" cdp_hot -v ON_ERROR_STOP=1 -Atc "$1"; }

start_cluster "$DIR" "$PORT" || { echo "1..0 # SKIP could not start a cluster"; cat "$DIR/server.log"; exit 1; }
trap 'stop_cluster "$DIR"' EXIT
cdp_database "$DIR" "$PORT" cdp_hot
echo "1..12"

q "SELECT cdp.create_tenant('hot')" >/dev/null
key=$(q "SELECT cdp.create_source('hot', 'hammer')")
tid=$(q "SELECT tenant_id FROM cdp.tenants WHERE name = 'hot'")

# One message: person p, identifier subset m (bits: user_id, anonymous_id,
# email, device_id; anonymousId is added when neither id of the spec is set).
cat > "$DIR/hot.sql" <<'SQL'
\set p random(0, 49)
\set m random(1, 15)
SELECT r.status FROM cdp.ingest(current_setting('hot.key'), jsonb_strip_nulls(jsonb_build_object(
  'type', 'identify',
  'messageId', gen_random_uuid()::text,
  'userId', CASE WHEN :m & 1 <> 0 THEN 'hot-user-' || :p END,
  'anonymousId', CASE WHEN :m & 2 <> 0 OR :m & 3 = 0 THEN 'hot-anon-' || :p END,
  'traits', CASE WHEN :m & 4 <> 0 THEN jsonb_build_object('email', 'Hot' || :p || '@Example.com ') END,
  'context', CASE WHEN :m & 8 <> 0 THEN jsonb_build_object('device', jsonb_build_object('id', 'hot-device-' || :p)) END,
  'timestamp', now()))) r;
SQL

out=$(PGOPTIONS="-c hot.key=$key" "$PGBIN/pgbench" -n -h "$DIR" -p "$PORT" -U postgres \
        -c $CLIENTS -j 2 -t "$TX_PER_CLIENT" -f "$DIR/hot.sql" cdp_hot 2>&1)
rc=$?
is "$rc" 0 "pgbench: $CLIENTS clients x $TX_PER_CLIENT messages, no client aborted (no deadlock or unique violation surfaced)"
[ "$rc" = 0 ] || echo "$out" | sed 's/^/# /' | tail -20
processed=$(echo "$out" | sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p')
is "$processed" $((CLIENTS * TX_PER_CLIENT)) "every transaction processed"

is "$(q "SELECT count(*) FROM cdp.events WHERE tenant_id = $tid")" $((CLIENTS * TX_PER_CLIENT)) \
   "every message stored as an event"
is "$(q "SELECT count(*) FROM cdp.quarantine WHERE tenant_id = $tid")" 0 "nothing quarantined"

# The 200 raw identifiers and the profile each resolves to now.
q "CREATE TABLE hot_ids AS
     SELECT p, t.id_type, t.value, cdp.lookup('hot', t.id_type, t.value) AS profile_id
       FROM generate_series(0, $((PEOPLE - 1))) p,
            LATERAL (VALUES ('user_id', 'hot-user-' || p), ('anonymous_id', 'hot-anon-' || p),
                            ('email', 'hot' || p || '@example.com'), ('device_id', 'hot-device-' || p)) t(id_type, value)" >/dev/null

is "$(q "SELECT count(*) FROM hot_ids WHERE profile_id IS NULL")" 0 "no identifier lost: all 200 resolve through cdp.lookup"
is "$(q "SELECT count(*) FROM (SELECT p FROM hot_ids GROUP BY p HAVING count(DISTINCT profile_id) <> 1) x")" 0 \
   "exactly one profile per person: all four identifiers of a person resolve to the same profile"
is "$(q "SELECT count(DISTINCT profile_id) FROM hot_ids")" $PEOPLE "no two people joined: $PEOPLE distinct profiles"
is "$(q "SELECT count(*) FROM cdp.profiles WHERE tenant_id = $tid AND merged_into IS NULL")" $PEOPLE \
   "exactly $PEOPLE canonical profiles in the tenant"
is "$(q "SELECT count(*) FROM cdp.profiles p WHERE p.tenant_id = $tid AND p.merged_into IS NULL
           AND NOT EXISTS (SELECT 1 FROM cdp.identifiers i WHERE i.tenant_id = p.tenant_id AND i.profile_id = p.profile_id)")" 0 \
   "zero orphan profiles (canonical profiles without identifiers)"
is "$(q "SELECT count(*) || '/' || count(*) FILTER (WHERE p.profile_id IS NULL OR p.merged_into IS NOT NULL)
           FROM cdp.identifiers i LEFT JOIN cdp.profiles p ON p.tenant_id = i.tenant_id AND p.profile_id = i.profile_id
          WHERE i.tenant_id = $tid")" "$((PEOPLE * 4))/0" \
   "the identity graph holds exactly the 200 identifiers, each on a canonical profile"
is "$(q "SELECT count(*) FROM cdp.profiles l LEFT JOIN cdp.profiles w ON w.tenant_id = l.tenant_id AND w.profile_id = l.merged_into
          WHERE l.tenant_id = $tid AND l.merged_into IS NOT NULL AND (w.profile_id IS NULL OR w.merged_into IS NOT NULL)")" 0 \
   "every merged profile points at a canonical profile (one hop)"
is "$(q "SELECT count(*) FROM cdp.events e WHERE e.tenant_id = $tid AND NOT EXISTS
           (SELECT 1 FROM cdp.profiles p WHERE p.tenant_id = e.tenant_id AND p.profile_id = e.profile_id)")" 0 \
   "every event belongs to an existing profile"
q "SELECT format('# %s merges, %s refused links', (SELECT count(*) FROM cdp.merges WHERE tenant_id = $tid),
                 (SELECT count(*) FROM cdp.refused_links WHERE tenant_id = $tid))"
[ $failed = 0 ]
