-- The built-in jobs exist with long default schedules and are first due one
-- schedule after installation, so a fresh database (and every other test
-- suite) is left alone; each can be run by hand, and every run is recorded.

-- Helper for the worker tests: polls a boolean query until it is true or
-- the timeout passes (each check sees newly committed rows).
CREATE FUNCTION cdp_test.jobs_wait_for(cond text, timeout_s float8 DEFAULT 60) RETURNS boolean
LANGUAGE plpgsql AS $$
DECLARE
  ok boolean;
  deadline timestamptz := clock_timestamp() + timeout_s * interval '1 second';
BEGIN
  LOOP
    EXECUTE cond INTO ok;
    IF ok THEN RETURN true; END IF;
    IF clock_timestamp() > deadline THEN RETURN false; END IF;
    PERFORM pg_sleep(0.1);
  END LOOP;
END
$$;

SELECT job_name, kind, schedule, enabled, max_runtime, max_retries, retry_delay, config
  FROM cdp.jobs ORDER BY job_name;
-- Installed by 00_install_drop_reinstall moments ago: nothing due for a while.
SELECT job_name, next_run > now() + schedule - interval '30 minutes' AS first_run_a_schedule_away
  FROM cdp.jobs ORDER BY job_name;
SELECT count(*) AS runs_so_far FROM cdp.job_runs;

-- Nothing is due, so run_maintenance runs nothing (and says so in the audit log).
SELECT count(*) AS runs FROM cdp.run_maintenance();

-- Each job runs by hand, due or not.
SELECT job_name, status, runner, message, sqlstate, finished_at >= started_at AS timed
  FROM cdp.run_job('partition_maintenance');
SELECT job_name, status, runner, message, sqlstate FROM cdp.run_job('dedupe_cleanup');
SELECT job_name, status, runner, message, sqlstate FROM cdp.run_job('consent_expiry');
SELECT job_name, status, runner, message, sqlstate FROM cdp.run_job('statistics');
SELECT job_name, status, runner, message, sqlstate FROM cdp.run_job('retention');

-- A successful run puts the next one a schedule later and clears failures.
SELECT j.job_name, j.last_status, j.consecutive_failures, j.next_run = r.finished_at + j.schedule AS next_is_schedule_after
  FROM cdp.jobs j JOIN cdp.job_runs r ON r.run_id = j.last_run_id ORDER BY j.job_name;

-- Pick one job due now: run_maintenance runs exactly that one. In one
-- transaction: this database's scheduler (cdp.naptime = 1) never sees the job
-- due, else it could claim it first and run_maintenance would return nothing.
BEGIN;
SELECT (cdp.alter_job('dedupe_cleanup', next_run => now() - interval '1 minute')).job_name;
SELECT job_name, status, runner FROM cdp.run_maintenance();
COMMIT;
SELECT job_name, next_run > now() AS rescheduled FROM cdp.jobs WHERE job_name = 'dedupe_cleanup';

-- Bad calls.
SELECT cdp_test.error_of($$SELECT cdp.run_job(NULL)$$);
SELECT cdp_test.error_of($$SELECT cdp.run_job('no_such_job')$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('no_such_job', enabled => false)$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job(NULL, enabled => false)$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', schedule => '0.5 seconds')$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', config => '[]')$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', max_runtime => '-1 minute')$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', max_retries => -1)$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', retry_delay => '0')$$);
-- Upper bounds: a schedule or retry delay past 1 year (or a max_runtime past
-- 24 days) would overflow next_run or the timeout.
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', schedule => '300000 years')$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', schedule => '1 year 1 second')$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', retry_delay => '300000 years')$$);
SELECT cdp_test.error_of($$SELECT cdp.alter_job('statistics', max_runtime => '25 days')$$);
SELECT cdp_test.error_of($$UPDATE cdp.jobs SET schedule = '2 years' WHERE job_name = 'statistics'$$);
SELECT schedule, retry_delay, max_runtime FROM cdp.jobs WHERE job_name = 'statistics';

-- Every run by hand and every change of a job is in the audit log.
SELECT action, args - 'next_run' AS args, args ? 'next_run' AS with_next_run FROM cdp.audit_log
 WHERE tenant_id = 0 AND action IN ('run_job', 'run_maintenance', 'alter_job')
 ORDER BY audit_id;

-- A disabled job is not run by run_maintenance, even when due.
SELECT (cdp.alter_job('consent_expiry', enabled => false, next_run => now() - interval '1 minute')).enabled;
SELECT count(*) AS runs FROM cdp.run_maintenance();
SELECT (cdp.alter_job('consent_expiry', enabled => true, next_run => now() + interval '1 hour')).enabled;
