#!/usr/bin/env bash
# Launcher and schedulers over a database's life: a scheduler only where cdp
# is installed (picked up at CREATE EXTENSION), gone after DROP EXTENSION and
# back after re-creation; DROP DATABASE, CREATE DATABASE ... TEMPLATE and
# ALTER DATABASE ... RENAME succeed while a scheduler runs (also for a database
# owner who is not superuser), while the same commands failing on their
# permission checks leave the scheduler alone; cdp.workers_enabled
# is reloaded on SIGHUP; no ERROR in the server log.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
PORT=$((CDP_TEST_PORT + 0))
DIR=$PWD/tmp_worker_lifecycle
q() { cpsql "$DIR" "$PORT" "$1" -Atc "$2"; }
schedulers() { q postgres "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'cdp scheduler' AND datname = '$1'"; }
wait_schedulers() {  # wait_schedulers DB COUNT SECONDS
  local i; for ((i = 0; i < $3 * 10; i++)); do [ "$(schedulers "$1")" = "$2" ] && return 0; sleep 0.1; done; return 1
}

echo "1..19"
start_cluster "$DIR" "$PORT" || { echo "Bail out! cluster did not start"; cat "$DIR/server.log"; exit 1; }

q postgres "SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cdp launcher'" | grep -q 1
ok $? "the launcher runs"

q postgres "CREATE DATABASE plain" >/dev/null && q postgres "CREATE DATABASE app" >/dev/null
q app "CREATE EXTENSION cdp CASCADE" >/dev/null 2>&1
wait_schedulers app 1 10
ok $? "CREATE EXTENSION starts a scheduler in that database within seconds"

# The launcher looks at "plain" when it appears and every 30 s after, with a
# worker that leaves at once: sampled for 3 s, a worker is seen connected at
# most briefly (a probe), never throughout.
sleep 3
busy=0
for i in $(seq 30); do [ "$(schedulers plain)" = 0 ] || busy=$((busy + 1)); sleep 0.1; done
[ $busy -lt 10 ]
ok $? "a database without cdp has no worker connected (seen in $busy of 30 samples)"
busy=0
for i in $(seq 10); do
  [ "$(schedulers template1)" = 0 ] || busy=$((busy + 10))
  [ "$(schedulers postgres)" = 0 ] || busy=$((busy + 1))
  sleep 0.1
done
[ $busy -lt 4 ]
ok $? "templates are never visited; postgres (no cdp) has no scheduler"

q app "DROP EXTENSION cdp" >/dev/null
wait_schedulers app 0 10
ok $? "DROP EXTENSION: the scheduler leaves"

q app "CREATE EXTENSION cdp" >/dev/null
wait_schedulers app 1 10
ok $? "re-created extension: the scheduler is back"

# Roles that may not drop, rename, move or copy "app". Their errors are
# expected: kept out of the server log, which must otherwise stay clean.
scheduler_pid() { q postgres "SELECT pid FROM pg_stat_activity WHERE backend_type = 'cdp scheduler' AND datname = '$1'"; }
as_role() { psql -X -q -h "$DIR" -p "$PORT" -U "$1" -d postgres -Atc "$2"; }
q postgres "CREATE ROLE intruder LOGIN; CREATE ROLE copier LOGIN CREATEDB; CREATE ROLE dbowner LOGIN CREATEDB" >/dev/null
q postgres "ALTER ROLE intruder SET log_min_messages = fatal; ALTER ROLE copier SET log_min_messages = fatal" >/dev/null
before=$(scheduler_pid app)
rc=0
as_role intruder "DROP DATABASE app" 2>/dev/null && rc=1
as_role intruder "ALTER DATABASE app RENAME TO app_stolen" 2>/dev/null && rc=1
as_role intruder "ALTER DATABASE app SET TABLESPACE pg_default" 2>/dev/null && rc=1
as_role intruder "CREATE DATABASE app_stolen TEMPLATE app" 2>/dev/null && rc=1
as_role copier "CREATE DATABASE app_stolen TEMPLATE app" 2>/dev/null && rc=1
as_role copier "ALTER DATABASE app RENAME TO app_stolen" 2>/dev/null && rc=1
ok $rc "a non-owner's DROP, RENAME, SET TABLESPACE and CREATE ... TEMPLATE of app fail"
sleep 1
after=$(scheduler_pid app)
[ -n "$before" ] && [ "$before" = "$after" ]
ok $? "... and leave its scheduler running (pid $before, then $after)"

q postgres "CREATE DATABASE owned OWNER dbowner" >/dev/null && q owned "CREATE EXTENSION cdp CASCADE" >/dev/null 2>&1
wait_schedulers owned 1 15 &&
  as_role dbowner "ALTER DATABASE owned RENAME TO owned_renamed" >/dev/null &&
  wait_schedulers owned_renamed 1 15 &&
  as_role dbowner "CREATE DATABASE owned_copy TEMPLATE owned_renamed" >/dev/null
ok $? "the owner (not superuser) renames and copies its database while the scheduler runs"
wait_schedulers owned_renamed 1 15 &&
  as_role dbowner "DROP DATABASE owned_renamed" >/dev/null && as_role dbowner "DROP DATABASE owned_copy" >/dev/null
ok $? "... and drops them"

start=$(date +%s%N)
q postgres "CREATE DATABASE app_copy TEMPLATE app" >/dev/null
ok $? "CREATE DATABASE ... TEMPLATE a database whose scheduler runs"
wait_schedulers app_copy 1 15 && wait_schedulers app 1 15
ok $? "the copy gets its own scheduler and the original gets its back"

q postgres "ALTER DATABASE app_copy RENAME TO app_renamed" >/dev/null
ok $? "ALTER DATABASE ... RENAME while its scheduler runs"

wait_schedulers app_renamed 1 15
start=$(date +%s%N)
q postgres "DROP DATABASE app_renamed" >/dev/null
rc=$?; ms=$(( ($(date +%s%N) - start) / 1000000 ))
# Without the hook PostgreSQL waits 5 s for the scheduler and then fails.
ok $rc "DROP DATABASE while its scheduler runs"
echo "# DROP DATABASE took ${ms} ms"
[ "$(q postgres "SELECT count(*) FROM pg_database WHERE datname = 'app_renamed'")" = 0 ]
ok $? "... and the database is gone"

# DROP DATABASE right after CREATE EXTENSION races with the scheduler's start.
rc=0
for i in 1 2 3 4 5; do
  q postgres "CREATE DATABASE race_$i" >/dev/null && q "race_$i" "CREATE EXTENSION cdp CASCADE" >/dev/null 2>&1 &&
    q postgres "DROP DATABASE race_$i" >/dev/null || rc=1
done
ok $rc "DROP DATABASE at once after CREATE EXTENSION (a scheduler starting), five times"

q postgres "ALTER SYSTEM SET cdp.workers_enabled = off" >/dev/null && q postgres "SELECT pg_reload_conf()" >/dev/null
wait_schedulers app 0 15
ok $? "cdp.workers_enabled = off (SIGHUP): schedulers exit"
q postgres "ALTER SYSTEM RESET cdp.workers_enabled" >/dev/null && q postgres "SELECT pg_reload_conf()" >/dev/null
wait_schedulers app 1 45
ok $? "cdp.workers_enabled back on: the scheduler returns"

stop_cluster "$DIR"
errors=$(grep -E '(ERROR|PANIC|WARNING):' "$DIR/server.log")
[ -z "$errors" ]
ok $? "no ERROR, WARNING or PANIC in the server log"
[ -n "$errors" ] && echo "$errors" | sed 's/^/# /'

[ $failed = 0 ] && rm -rf "$DIR"
exit $((failed > 0))
