-- A failing job is recorded with its error and SQLSTATE, backs off
-- (retry_delay doubling, capped by the schedule; the schedule itself once
-- max_retries are spent) and does not stop the other jobs. A run that
-- exceeds max_runtime is cancelled and recorded; a worker killed in a run
-- leaves it 'crashed' and the next scheduler recovers.

SELECT max(run_id) AS last_run FROM cdp.job_runs \gset

-- Break the statistics job (a table that does not exist) and make it and
-- dedupe_cleanup due at once.
UPDATE cdp.jobs SET config = '{"tables": ["no_such_table"]}', schedule = '1 day', retry_delay = '1 hour'
 WHERE job_name = 'statistics';
SELECT (cdp.alter_job('statistics', next_run => now())).job_name, (cdp.alter_job('dedupe_cleanup', next_run => now())).job_name;
SELECT cdp_test.jobs_wait_for(format($$SELECT count(DISTINCT job_name) = 2 FROM cdp.job_runs
  WHERE run_id > %s AND status <> 'running'$$, :last_run)) AS both_ran;
SELECT job_name, runner, status, message, sqlstate FROM cdp.job_runs WHERE run_id > :last_run ORDER BY job_name;
SELECT job_name, last_status, consecutive_failures, last_message, last_sqlstate,
       next_run - last_finished_at AS backoff
  FROM cdp.job_status WHERE job_name IN ('statistics', 'dedupe_cleanup') ORDER BY job_name;

-- Failing again by hand doubles the backoff; past max_retries the job falls
-- back to its schedule.
SELECT status, sqlstate FROM cdp.run_job('statistics');
SELECT consecutive_failures, next_run - last_finished_at AS backoff FROM cdp.jobs WHERE job_name = 'statistics';
SELECT (cdp.alter_job('statistics', max_retries => 2)).max_retries;
SELECT status, sqlstate FROM cdp.run_job('statistics');
SELECT consecutive_failures, next_run - last_finished_at AS backoff FROM cdp.jobs WHERE job_name = 'statistics';

-- The longest delays allowed back off without overflow (retry_delay x 2^30
-- is no interval): after many failures the backoff is the schedule.
SELECT (cdp.alter_job('statistics', schedule => '1 year', retry_delay => '1 year', max_retries => 100)).schedule;
UPDATE cdp.jobs SET consecutive_failures = 40 WHERE job_name = 'statistics';
SELECT status, sqlstate FROM cdp.run_job('statistics');
SELECT consecutive_failures, next_run = last_finished_at + interval '1 year' AS backoff_is_schedule
  FROM cdp.jobs WHERE job_name = 'statistics';
UPDATE cdp.jobs SET schedule = '1 day', retry_delay = '1 hour', max_retries = 2, consecutive_failures = 3
 WHERE job_name = 'statistics';

-- Repaired, it succeeds and its failures are cleared.
SELECT (cdp.alter_job('statistics', config => '{"tables": ["profiles"]}')).config;
SELECT status, rows_affected FROM cdp.run_job('statistics');
SELECT consecutive_failures, next_run - last_finished_at AS backoff FROM cdp.jobs WHERE job_name = 'statistics';
UPDATE cdp.jobs SET config = '{}', schedule = '1 hour', retry_delay = '5 minutes', max_retries = NULL,
                    next_run = now() + interval '1 hour'
 WHERE job_name = 'statistics';

-- max_runtime: a scheduled run blocked past it is cancelled (57014). The
-- test holds a lock the job needs; while the scheduler runs the job, the job
-- cannot be started a second time by hand (55P03).
SELECT max(run_id) AS last_run FROM cdp.job_runs \gset
SELECT (cdp.alter_job('dedupe_cleanup', max_runtime => '4 seconds', next_run => now() + interval '3 seconds')).max_runtime;
BEGIN;
LOCK TABLE cdp.message_ids IN ACCESS EXCLUSIVE MODE;
SELECT cdp_test.jobs_wait_for(format($$SELECT EXISTS (SELECT 1 FROM cdp.job_runs
  WHERE run_id > %s AND job_name = 'dedupe_cleanup' AND status = 'running')$$, :last_run)) AS running;
SELECT cdp_test.error_of($$SELECT cdp.run_job('dedupe_cleanup')$$);
SELECT cdp_test.jobs_wait_for(format($$SELECT EXISTS (SELECT 1 FROM cdp.job_runs
  WHERE run_id > %s AND job_name = 'dedupe_cleanup' AND status <> 'running')$$, :last_run)) AS finished;
COMMIT;
SELECT job_name, runner, status, message, sqlstate FROM cdp.job_runs WHERE run_id > :last_run ORDER BY run_id;

-- A worker that dies in a run: terminate the scheduler while its job waits
-- for our lock. The launcher starts a new scheduler, which marks the run
-- crashed and backs the job off (its second failure in a row: 2 x retry_delay).
SELECT max(run_id) AS last_run FROM cdp.job_runs \gset
UPDATE cdp.jobs SET max_runtime = NULL, next_run = now() + interval '3 seconds' WHERE job_name = 'dedupe_cleanup';
BEGIN;
LOCK TABLE cdp.message_ids IN ACCESS EXCLUSIVE MODE;
SELECT cdp_test.jobs_wait_for(format($$SELECT EXISTS (SELECT 1 FROM cdp.job_runs
  WHERE run_id > %s AND job_name = 'dedupe_cleanup' AND status = 'running')$$, :last_run)) AS running;
SELECT cdp_test.jobs_wait_for($$SELECT EXISTS (SELECT 1 FROM pg_stat_activity
  WHERE backend_type = 'cdp scheduler' AND datname = current_database() AND wait_event_type = 'Lock')$$) AS waiting;
SELECT pid AS scheduler_pid FROM pg_stat_activity
 WHERE backend_type = 'cdp scheduler' AND datname = current_database() \gset
SELECT pg_terminate_backend(:scheduler_pid);
COMMIT;
SELECT cdp_test.jobs_wait_for(format($$SELECT EXISTS (SELECT 1 FROM cdp.job_runs
  WHERE run_id > %s AND job_name = 'dedupe_cleanup' AND status <> 'running')$$, :last_run)) AS recovered;
SELECT job_name, runner, status, message, sqlstate FROM cdp.job_runs WHERE run_id > :last_run ORDER BY run_id;
SELECT consecutive_failures, next_run - last_finished_at AS backoff FROM cdp.jobs WHERE job_name = 'dedupe_cleanup';
SELECT count(*) AS schedulers FROM pg_stat_activity
 WHERE backend_type = 'cdp scheduler' AND datname = current_database() AND pid <> :scheduler_pid;
UPDATE cdp.jobs SET max_runtime = '30 minutes', consecutive_failures = 0, next_run = now() + interval '1 hour'
 WHERE job_name = 'dedupe_cleanup';
