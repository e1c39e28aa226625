#!/usr/bin/env bash
# test/scripts/crash_exactly_once.sh — issue 3, durability: kill -9 the
# postmaster while four clients ingest (three send single messages through
# cdp.ingest, one sends batches of 10 through cdp.ingest_batch), restart, and
# check that every acknowledged message (a result row the client received) is
# stored exactly once. Then every client retries everything it meant to send,
# as a client does after a failure: acknowledged messages answer duplicate, and
# in the end every message is stored exactly once. TAP output.
set -uo pipefail
HERE=$(cd "$(dirname "$0")/.." && pwd)
. "$HERE/lib.sh"
PORT=$(( ${CDP_TEST_PORT:-55432} + 1 ))
DIR=$PWD/tmp_crash_exactly_once
PER_CLIENT=${CRASH_MESSAGES_PER_CLIENT:-3000}   # far more than get sent before the kill
ACKS_BEFORE_KILL=${CRASH_ACKS_BEFORE_KILL:-200}

q() { cpsql "$DIR" "$PORT" cdp_crash -v ON_ERROR_STOP=1 -Atc "$1"; }

start_cluster "$DIR" "$PORT" "fsync = on" "synchronous_commit = on" \
  || { echo "1..0 # SKIP could not start a cluster"; cat "$DIR/server.log"; exit 1; }
trap 'stop_cluster "$DIR"' EXIT
cdp_database "$DIR" "$PORT" cdp_crash
echo "1..9"

q "SELECT cdp.create_tenant('crash')" >/dev/null
key=$(q "SELECT cdp.create_source('crash', 'clients')")
tid=$(q "SELECT tenant_id FROM cdp.tenants WHERE name = 'crash'")

# Message j of client c: one of 100 people, so identity resolution (creates,
# attaches, merges through the email) runs while the server dies.
message() {   # awk program printing the JSON of message j of client c
  cat <<'AWK'
function msg(c, j,   p) {
  p = (c * 7919 + j * 104729) % 100
  return sprintf("{\"type\": \"%s\", \"messageId\": \"crash-%d-%d\", \"anonymousId\": \"crash-anon-%d-%d\", \"userId\": \"crash-user-%d\", \"event\": \"Crash Test\", \"traits\": {\"email\": \"crash%d@example.com\"}, \"properties\": {\"client\": %d, \"n\": %d}}",
                 (j % 3 == 0) ? "identify" : "track", c, j, p, c, p, p, c, j)
}
AWK
}
for c in 1 2 3; do
  awk -v c=$c -v n="$PER_CLIENT" "$(message)"'
    BEGIN { for (j = 1; j <= n; j++) printf "SELECT message_id, status FROM cdp.ingest(:'"'"'key'"'"', '"'"'%s'"'"');\n", msg(c, j) }' \
    > "$DIR/client$c.sql"
done
# The batch client sends ten messages per statement: give it ten times as many
# so that it, too, is still sending when the postmaster dies.
awk -v c=4 -v n=$((PER_CLIENT * 10)) "$(message)"'
  BEGIN { for (j = 1; j <= n; j += 10) {
            b = msg(c, j); for (k = j + 1; k < j + 10 && k <= n; k++) b = b ", " msg(c, k)
            printf "SELECT message_id, status FROM cdp.ingest_batch(:'"'"'key'"'"', '"'"'[%s]'"'"');\n", b } }' \
  > "$DIR/client4.sql"

# Run the clients; a row in clientN.out is an acknowledged message.
pids=()
for c in 1 2 3 4; do
  psql -X -q -At -h "$DIR" -p "$PORT" -U postgres -d cdp_crash -v key="$key" -v ON_ERROR_STOP=1 \
       -f "$DIR/client$c.sql" > "$DIR/client$c.out" 2> "$DIR/client$c.err" &
  pids+=($!)
done
# psql buffers its output: count progress on the server instead.
for _ in $(seq 1 600); do
  [ "$(q "SELECT count(*) >= $ACKS_BEFORE_KILL FROM cdp.events WHERE tenant_id = $tid" 2>/dev/null)" = t ] && break
  sleep 0.1
done
running=0
for pid in "${pids[@]}"; do kill -0 "$pid" 2>/dev/null && running=$((running + 1)); done
postmaster=$(head -1 "$DIR/data/postmaster.pid")
kill -9 "$postmaster"
is "$running" 4 "postmaster killed with kill -9 while all four clients were ingesting"

for pid in "${pids[@]}"; do
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -0 "$pid" 2>/dev/null && kill "$pid"
  wait "$pid" 2>/dev/null
done
acked=$(cat "$DIR"/client?.out | grep -c '|accepted$')
echo "# $acked messages acknowledged before the crash"
is "$(cat "$DIR"/client?.out | grep -vc '|accepted$')" 0 "every acknowledged result before the crash says accepted"

# Restart: orphaned backends must exit before a new postmaster may start.
started=no
for _ in $(seq 1 60); do
  if "$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null 2>&1; then started=yes; break; fi
  sleep 0.5
done
is "$started" yes "server restarts after the crash (recovery)"

cat "$DIR"/client?.out | cut -d'|' -f1 > "$DIR/acked.txt"
q "CREATE TABLE acked (message_id text)" >/dev/null
cpsql "$DIR" "$PORT" cdp_crash -c "\\copy acked FROM '$DIR/acked.txt'"
is "$(q "SELECT count(*) FROM acked")" "$acked" "acknowledged message ids loaded"
is "$(q "SELECT count(*) FROM acked a WHERE NOT EXISTS
           (SELECT 1 FROM cdp.events e WHERE e.tenant_id = $tid AND e.message_id = a.message_id)")" 0 \
   "no acknowledged message lost"
is "$(q "SELECT count(*) FROM (SELECT message_id FROM cdp.events WHERE tenant_id = $tid
                              GROUP BY message_id HAVING count(*) > 1) d")" 0 "no message stored twice"

# Retry everything each client meant to send, in batches of 500.
retry_out=$(for c in 1 2 3 4; do
  awk -v c=$c -v n=$(( c == 4 ? PER_CLIENT * 10 : PER_CLIENT )) "$(message)"'
    BEGIN { for (j = 1; j <= n; j += 500) {
              b = msg(c, j); for (k = j + 1; k < j + 500 && k <= n; k++) b = b ", " msg(c, k)
              printf "SELECT message_id, status FROM cdp.ingest_batch(:'"'"'key'"'"', '"'"'[%s]'"'"');\n", b } }'
done | psql -X -q -At -h "$DIR" -p "$PORT" -U postgres -d cdp_crash -v key="$key" -v ON_ERROR_STOP=1 2>&1)
echo "$retry_out" | grep -v '|accepted$' | grep -v '|duplicate$' | head -5 | sed 's/^/# unexpected: /'
dups=$(echo "$retry_out" | grep -c '|duplicate$')
echo "# $((dups - acked)) messages were stored but not acknowledged (in flight when the server died)"
echo "$retry_out" | grep '|duplicate$' | cut -d'|' -f1 > "$DIR/dups.txt"
q "CREATE TABLE dups (message_id text)" >/dev/null
cpsql "$DIR" "$PORT" cdp_crash -c "\\copy dups FROM '$DIR/dups.txt'"
is "$(q "SELECT count(*) FROM acked a WHERE NOT EXISTS (SELECT 1 FROM dups d WHERE d.message_id = a.message_id)")" 0 \
   "the retry answers duplicate for every acknowledged message ($dups duplicates in all)"
is "$(q "SELECT count(*) || '/' || count(DISTINCT message_id) FROM cdp.events WHERE tenant_id = $tid")" \
   "$((PER_CLIENT * 13))/$((PER_CLIENT * 13))" "after the retry every message is stored exactly once"
is "$(q "SELECT count(*) FROM cdp.profiles p WHERE p.tenant_id = $tid AND p.merged_into IS NULL
           AND NOT EXISTS (SELECT 1 FROM cdp.identifiers i WHERE i.tenant_id = p.tenant_id AND i.profile_id = p.profile_id)")" 0 \
   "zero orphan profiles after crash recovery and retry"
[ $failed = 0 ]
