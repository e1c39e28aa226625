-- With cdp preloaded (test/cdp.conf, cdp.naptime = 1) this database has a
-- scheduler; a job made due runs on its own within seconds and is recorded.

-- The scheduler is visible in pg_stat_activity under its own type and name.
SELECT cdp_test.jobs_wait_for($$SELECT EXISTS (SELECT 1 FROM cdp.workers
  WHERE backend_type = 'cdp scheduler' AND datname = current_database())$$) AS scheduler_running;
SELECT backend_type, application_name FROM cdp.workers
 WHERE datname = current_database() OR backend_type = 'cdp launcher' ORDER BY backend_type;
-- Exactly one scheduler per database.
SELECT count(*) AS schedulers FROM pg_stat_activity
 WHERE backend_type = 'cdp scheduler' AND datname = current_database();
-- Between runs it holds no transaction open.
SELECT cdp_test.jobs_wait_for($$SELECT EXISTS (SELECT 1 FROM pg_stat_activity
  WHERE backend_type = 'cdp scheduler' AND datname = current_database()
    AND state = 'idle' AND backend_xid IS NULL AND xact_start IS NULL)$$) AS idle_outside_transaction;

SELECT max(run_id) AS last_run FROM cdp.job_runs \gset
SELECT (cdp.alter_job('dedupe_cleanup', next_run => now())).job_name;
SELECT cdp_test.jobs_wait_for(format($$SELECT EXISTS (SELECT 1 FROM cdp.job_runs
  WHERE run_id > %s AND job_name = 'dedupe_cleanup' AND status <> 'running')$$, :last_run)) AS ran_on_its_own;
SELECT job_name, runner, status, rows_affected IS NOT NULL AS counted, message, sqlstate,
       finished_at >= started_at AS timed
  FROM cdp.job_runs WHERE run_id > :last_run ORDER BY run_id;
SELECT job_name, last_status, consecutive_failures, next_run = last_finished_at + schedule AS next_is_schedule_after
  FROM cdp.jobs WHERE job_name = 'dedupe_cleanup';
-- Nothing else ran: the other jobs were not due.
SELECT count(*) AS other_runs FROM cdp.job_runs WHERE run_id > :last_run AND job_name <> 'dedupe_cleanup';
