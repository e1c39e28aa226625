#!/usr/bin/env bash
# Job locks are private (issue 4/3 leftovers): one run of a job at a time is
# enforced with a lock tag that pg_advisory_lock cannot build, so a plain role
# holding advisory locks — the key cdp used before (hashtext('cdp.jobs') << 32
# | hashtext(job)) for every job, and thousands of other keys of both forms —
# stops neither the scheduler nor cdp.run_job; the role cannot call the lock
# function itself (42501). Two runs of one job still exclude each other
# (spec run_job_concurrent): a session holding the scheduler's claim makes
# cdp.run_job answer 55P03 until it lets go. TAP output.
set -uo pipefail
. "$(dirname "$0")/../lib.sh"
PORT=$((CDP_TEST_PORT + 6))
DIR=$PWD/tmp_job_locks_private
q() { cpsql "$DIR" "$PORT" cdp_jl -Atc "$1"; }
as_role() { psql -X -q -h "$DIR" -p "$PORT" -U "$1" -d cdp_jl -v VERBOSITY=verbose -Atc "$2" 2>&1; }

echo "1..8"
start_cluster "$DIR" "$PORT" || { echo "Bail out! cluster did not start"; cat "$DIR/server.log"; exit 1; }
squat=
trap '[ -n "$squat" ] && kill "$squat" 2>/dev/null; stop_cluster "$DIR"' EXIT
cdp_database "$DIR" "$PORT" cdp_jl
q 'CREATE ROLE squatter LOGIN' >/dev/null
# Nothing due while the squatter settles in.
q "UPDATE cdp.jobs SET next_run = now() + interval '1 day'" >/dev/null

# The squatter holds the old key of every job, and 2 000 other keys of both forms.
psql -X -q -h "$DIR" -p "$PORT" -U squatter -d cdp_jl -At \
  -c "SET application_name = 'squatter'" \
  -c "SELECT count(pg_advisory_lock((hashtext('cdp.jobs')::bigint << 32) | (hashtext(j)::bigint & 4294967295)))
        FROM unnest(ARRAY['partition_maintenance', 'retention', 'dedupe_cleanup', 'consent_expiry', 'statistics', 'access_cleanup']) j" \
  -c "SELECT count(pg_advisory_lock(k)) + count(pg_advisory_lock(k::int, k::int)) FROM generate_series(1, 1000) k" \
  -c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
squat=$!
wait_for_sleeper "$DIR" "$PORT" cdp_jl squatter
is "$(q "SELECT count(*) > 2000 FROM pg_locks l JOIN pg_stat_activity a USING (pid)
          WHERE a.application_name = 'squatter' AND l.locktype = 'advisory'")" "t" \
   "a plain role holds the old job lock keys and 2 000 more advisory locks"

jobs=$(q "SELECT string_agg(job_name, ',' ORDER BY job_name) FROM cdp.jobs")
old=$(q "SELECT count(*) FROM cdp.jobs j JOIN pg_locks l ON l.locktype = 'advisory' AND l.objsubid = 1
           AND l.classid::bigint = (hashtext('cdp.jobs')::bigint & 4294967295)
           AND l.objid::bigint = (hashtext(j.job_name)::bigint & 4294967295)")
is "$old" "$(q "SELECT count(*) FROM cdp.jobs")" "among them the old key of every job ($jobs)"

# cdp.run_job as the owner: not stopped.
is "$(q "SELECT status FROM cdp.run_job('statistics')")" "succeeded" "cdp.run_job runs the job all the same"

# The scheduler: make one job due and wake it; its run must succeed.
q "SELECT cdp.alter_job('consent_expiry', next_run => now())" >/dev/null
q "SELECT cdp._workers_notify()" >/dev/null 2>&1
ran=f
for _ in $(seq 1 300); do
  ran=$(q "SELECT EXISTS (SELECT 1 FROM cdp.job_runs WHERE job_name = 'consent_expiry' AND runner = 'scheduler' AND status = 'succeeded')")
  [ "$ran" = t ] && break
  sleep 0.1
done
is "$ran" "t" "the scheduler claims and runs a due job all the same"

is "$(as_role squatter "SELECT cdp._job_try_lock('statistics', true)" | grep -o 'ERROR:  42501')" "ERROR:  42501" \
   "the role cannot take a job lock itself (42501)"
q "CREATE ROLE jl_admin LOGIN IN ROLE cdp_admin" >/dev/null
is "$(as_role jl_admin "SELECT cdp._job_try_lock('statistics', true)" | grep -o 'ERROR:  42501: permission denied for function _job_try_lock')" \
   "ERROR:  42501: permission denied for function _job_try_lock" "nor can a cdp_admin member (only the owner executes it)"

# One run at a time still: a session holding the claim (session-level, as
# the scheduler does) makes cdp.run_job refuse; once it ends, the job runs.
cpsql "$DIR" "$PORT" cdp_jl -At -c "SET application_name = 'claimer'" \
  -c "SELECT cdp._job_try_lock('statistics', true)" -c "SELECT pg_sleep(300)" >/dev/null 2>&1 &
claimer=$!
wait_for_sleeper "$DIR" "$PORT" cdp_jl claimer
state=$(cpsql "$DIR" "$PORT" cdp_jl -At -c "DO \$\$ BEGIN PERFORM cdp.run_job('statistics'); RAISE NOTICE 'state=ok';
          EXCEPTION WHEN OTHERS THEN RAISE NOTICE 'state=%', SQLSTATE; END \$\$" 2>&1 | sed -n 's/.*state=\([0-9A-Za-z]*\).*/\1/p')
is "$state" "55P03" "while another session holds a job's claim, cdp.run_job of it answers 55P03"
q "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'claimer'" >/dev/null
wait "$claimer" 2>/dev/null
is "$(q "SELECT status FROM cdp.run_job('statistics')")" "succeeded" "once that session lets go, it runs"

kill "$squat" 2>/dev/null; wait "$squat" 2>/dev/null; squat=
[ $failed -eq 0 ]
