#!/usr/bin/env bash
# Busy workers and the server: a fast shutdown while a scheduler is in a job
# takes no longer than one without cdp; after the restart the abandoned run
# is marked failed. A worker killed with SIGKILL in a job (the postmaster
# then restarts every backend) leaves its run marked crashed, and the
# scheduler carries on with the next due job.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
PORT=$((CDP_TEST_PORT + 1))
BASE_PORT=$((CDP_TEST_PORT + 2))
DIR=$PWD/tmp_worker_shutdown
BASE=$PWD/tmp_worker_shutdown_base
q() { cpsql "$DIR" "$PORT" app -Atc "$1"; }
wait_for() {  # wait_for SQL-returning-t SECONDS
  local i; for ((i = 0; i < $2 * 10; i++)); do [ "$(q "$1" 2>/dev/null)" = t ] && return 0; sleep 0.1; done; return 1
}
# Holds a lock the dedupe job needs, in the background, for up to a minute.
hold_lock() {
  cpsql "$DIR" "$PORT" app -c "BEGIN" -c "LOCK TABLE cdp.message_ids IN ACCESS EXCLUSIVE MODE" \
        -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
}
# Makes dedupe_cleanup due and waits until the scheduler is stuck in it. The
# lock is held before the job is made due: on a loaded machine the job could
# otherwise finish before the lock is taken, and the scheduler be found
# waiting in another job (statistics analyzes cdp.message_ids).
busy_job() {
  hold_lock
  wait_for "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE relation = 'cdp.message_ids'::regclass
                            AND mode = 'AccessExclusiveLock' AND granted)" 30 || return 1
  q "UPDATE cdp.jobs SET next_run = now(), max_runtime = NULL WHERE job_name = 'dedupe_cleanup'" >/dev/null
  wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cdp scheduler'
                            AND datname = 'app' AND wait_event_type = 'Lock')
            AND EXISTS (SELECT 1 FROM cdp.job_runs WHERE job_name = 'dedupe_cleanup' AND status = 'running')" 30
}
stop_ms() {  # stop_ms DATADIR: fast shutdown, prints milliseconds
  local start=$(date +%s%N)
  "$PGBIN/pg_ctl" -D "$1" -m fast -w -t 60 stop >/dev/null 2>&1
  echo $(( ($(date +%s%N) - start) / 1000000 ))
}

echo "1..9"

# Baseline: the same busy shape (a session sleeping in a transaction) without cdp.
start_cluster "$BASE" "$BASE_PORT" "shared_preload_libraries = ''" || { echo "Bail out! no baseline cluster"; exit 1; }
cpsql "$BASE" "$BASE_PORT" postgres -c "BEGIN" -c "SELECT pg_sleep(60)" >/dev/null 2>&1 &
sleep 1
base_ms=$(stop_ms "$BASE/data")
wait

start_cluster "$DIR" "$PORT" || { echo "Bail out! cluster did not start"; cat "$DIR/server.log"; exit 1; }
cpsql "$DIR" "$PORT" postgres -qc "CREATE DATABASE app"
q "CREATE EXTENSION cdp CASCADE" >/dev/null 2>&1
q "SELECT cdp.create_tenant('shutdown-test')" >/dev/null   # dedupe_cleanup works tenant by tenant
wait_for "SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE backend_type = 'cdp scheduler' AND datname = 'app')" 15
ok $? "the scheduler runs"

busy_job
ok $? "the scheduler is busy in a job (waiting for a lock)"
cdp_ms=$(stop_ms "$DIR/data")
wait
# Not a benchmark: a scheduler that ignored SIGTERM in a job would hold the
# shutdown until pg_ctl's 60 s timeout; the margin absorbs a loaded machine.
[ $cdp_ms -le $((base_ms + 8000)) ] && [ ! -f "$DIR/data/postmaster.pid" ]
ok $? "fast shutdown with a busy scheduler completes promptly"
echo "# fast shutdown: ${cdp_ms} ms with a busy cdp scheduler, ${base_ms} ms without cdp"

"$PGBIN/pg_ctl" -D "$DIR/data" -l "$DIR/server.log" -w -t 60 start >/dev/null
wait_for "SELECT EXISTS (SELECT 1 FROM cdp.job_runs WHERE job_name = 'dedupe_cleanup' AND status <> 'running')" 30
ok $? "after the restart the abandoned run is settled"
[ "$(q "SELECT status || ': ' || message FROM cdp.job_runs WHERE job_name = 'dedupe_cleanup' ORDER BY run_id DESC LIMIT 1")" = \
  "failed: the server restarted while this job ran" ]
ok $? "... as failed, because the server restarted"

# SIGKILL in a job: the postmaster restarts all backends (same server start time).
q "UPDATE cdp.jobs SET consecutive_failures = 0 WHERE job_name = 'dedupe_cleanup'" >/dev/null
busy_job
pid=$(q "SELECT pid FROM pg_stat_activity WHERE backend_type = 'cdp scheduler' AND datname = 'app'")
kill -9 "$pid"
wait
wait_for "SELECT EXISTS (SELECT 1 FROM cdp.job_runs WHERE job_name = 'dedupe_cleanup' AND status <> 'running'
                          AND started_at > now() - interval '5 minutes' AND run_id = (SELECT max(run_id) FROM cdp.job_runs))" 60
ok $? "after SIGKILL of a busy scheduler the run is settled"
[ "$(q "SELECT status FROM cdp.job_runs WHERE job_name = 'dedupe_cleanup' ORDER BY run_id DESC LIMIT 1")" = crashed ]
ok $? "... as crashed"
[ "$(q "SELECT consecutive_failures FROM cdp.jobs WHERE job_name = 'dedupe_cleanup'")" = 1 ]
ok $? "... and the job is backed off (one failure counted)"

# The scheduler carries on: another job made due runs.
q "UPDATE cdp.jobs SET next_run = now() WHERE job_name = 'consent_expiry'" >/dev/null
wait_for "SELECT EXISTS (SELECT 1 FROM cdp.job_runs WHERE job_name = 'consent_expiry' AND status = 'succeeded' AND runner = 'scheduler')" 30
ok $? "the scheduler runs the next due job after the crash"

stop_cluster "$DIR"
[ $failed = 0 ] && rm -rf "$DIR" "$BASE"
exit $((failed > 0))
