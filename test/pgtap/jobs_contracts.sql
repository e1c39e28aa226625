-- Contracts of the jobs and retention API (DESIGN 3 and docs/operations.md):
-- names and signatures, who may call them, the built-in jobs and their job
-- functions, the documented retention defaults, and that a fresh install
-- leaves every job for later.
BEGIN;
SELECT plan(17);

SELECT has_function('cdp', 'set_retention', ARRAY['text', 'text', 'interval'], 'cdp.set_retention(tenant, kind, keep)');
SELECT has_function('cdp', 'run_maintenance', ARRAY[]::text[], 'cdp.run_maintenance()');
SELECT has_function('cdp', 'run_job', ARRAY['text'], 'cdp.run_job(name)');
SELECT function_returns('cdp', 'run_maintenance', ARRAY[]::text[], 'setof cdp.job_runs');

SELECT ok(has_function_privilege('cdp_admin', 'cdp.set_retention(text, text, interval)', 'EXECUTE')
          AND has_function_privilege('cdp_admin', 'cdp.run_maintenance()', 'EXECUTE')
          AND has_function_privilege('cdp_admin', 'cdp.run_job(text)', 'EXECUTE'),
          'cdp_admin may set retention and run jobs');
SELECT is_empty($$
  SELECT r.rolname || ' ' || f FROM pg_roles r,
         unnest(ARRAY['cdp.set_retention(text, text, interval)', 'cdp.run_maintenance()', 'cdp.run_job(text)',
                      'cdp.alter_job(text, interval, boolean, jsonb, timestamptz, interval, integer, interval)']) f
   WHERE r.rolname IN ('cdp_writer', 'cdp_reader', 'cdp_compliance') AND has_function_privilege(r.oid, f, 'EXECUTE')
$$, 'writers, readers and compliance officers cannot run jobs or change retention');

SELECT has_table('cdp', 'jobs', 'cdp.jobs');
SELECT has_table('cdp', 'job_runs', 'cdp.job_runs');
SELECT has_view('cdp', 'job_status', 'cdp.job_status');
SELECT has_view('cdp', 'retention_policies', 'cdp.retention_policies');

SELECT set_eq($$SELECT job_name FROM cdp.jobs$$,
              ARRAY['partition_maintenance', 'retention', 'dedupe_cleanup', 'consent_expiry', 'statistics', 'access_cleanup'],
              'the built-in jobs');
SELECT is_empty($$
  SELECT j.kind FROM cdp.jobs j
   WHERE to_regprocedure(format('cdp.%I(jsonb)', '_job_' || j.kind)) IS NULL
$$, 'every job kind has its job function cdp._job_<kind>(jsonb)');
SELECT is_empty($$SELECT job_name FROM cdp.jobs WHERE next_run <= now() OR NOT enabled$$,
                'a fresh install has every job enabled and none due yet');
SELECT is_empty($$SELECT job_name FROM cdp.jobs WHERE schedule < interval '1 hour'$$,
                'built-in schedules are hourly or longer');

SELECT results_eq(
  $$SELECT kind, keep FROM cdp.retention_policies WHERE tenant_id = 0 ORDER BY kind$$,
  $$VALUES ('audit', interval '90 days'), ('events', interval '25 months'), ('inactive_profiles', interval '7 years'),
           ('job_runs', interval '90 days'), ('rejected', interval '30 days')$$,
  'documented retention defaults');

SELECT throws_ok($$SELECT cdp.set_retention(NULL, 'everything', '1 day')$$, '22023', NULL,
                 'an unknown retention kind is refused');
SELECT is((SELECT c.retention::interval FROM public.part_config c WHERE c.parent_table = 'cdp.events'),
          interval '25 months', 'pg_partman drops event partitions beyond the longest horizon (25 months)');

SELECT * FROM finish();
ROLLBACK;
