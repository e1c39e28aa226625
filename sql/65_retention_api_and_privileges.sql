-- cdp.set_retention: defaults, per-tenant settings, errors, audit; and who
-- may call the job functions.
SELECT cdp.create_tenant('ret-api') AS t_api \gset

SELECT tenant_id, kind, keep, set_by FROM cdp.retention_policies WHERE tenant_id = 0 ORDER BY kind;
SELECT cdp.set_retention('ret-api', 'inactive_profiles', '2 years');
SELECT cdp.set_retention('ret-api', 'inactive_profiles', '3 years');
SELECT cdp.set_retention(NULL, 'rejected', '60 days');
SELECT cdp.set_retention(NULL, 'job_runs', '30 days');
SELECT kind, keep, set_by FROM cdp.retention_policies WHERE tenant = 'ret-api' ORDER BY kind;
SELECT cdp.set_retention('ret-api', 'inactive_profiles', NULL);
SELECT cdp.set_retention(NULL, 'rejected', NULL);
SELECT cdp.set_retention(NULL, 'job_runs', NULL);
SELECT kind, keep, set_by FROM cdp.retention_policies WHERE tenant = 'ret-api' ORDER BY kind;

SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', NULL, '1 day')$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', 'profiles', '1 day')$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention('no-such-tenant', 'events', '1 day')$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', 'job_runs', '1 day')$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', 'audit', '-1 day')$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', 'audit', '0')$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', 'events', '1 hour')$$);
-- The purge trusts last_seen_at, which may lag an hour behind the newest
-- event (review 2, L3): no inactive_profiles horizon under a day.
SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', 'inactive_profiles', '10 minutes')$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention(NULL, 'inactive_profiles', '23 hours 59 minutes')$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', 'audit', '200 years')$$);

-- Every change is audited, under the tenant (0 for the defaults).
SELECT tenant_id = :t_api AS own_tenant, action, args FROM cdp.audit_log
 WHERE action = 'set_retention' AND (tenant_id = :t_api OR (tenant_id = 0 AND args->>'kind' IN ('rejected', 'job_runs')))
 ORDER BY audit_id;

-- Privileges: administrators run and watch jobs; readers and writers cannot.
CREATE ROLE jobs_test_admin IN ROLE cdp_admin;
CREATE ROLE jobs_test_reader IN ROLE cdp_reader;
GRANT USAGE ON SCHEMA cdp_test TO jobs_test_admin, jobs_test_reader;
SET ROLE jobs_test_admin;
SELECT status FROM cdp.run_job('consent_expiry');
SELECT count(*) > 0 AS sees_jobs FROM cdp.job_status;
SELECT count(*) > 0 AS sees_policies FROM cdp.retention_policies WHERE tenant = 'ret-api';
SELECT cdp.set_retention('ret-api', 'audit', '1 year');
SELECT cdp_test.error_of($$UPDATE cdp.jobs SET enabled = false$$);
RESET ROLE;
SET ROLE jobs_test_reader;
SELECT cdp_test.error_of($$SELECT cdp.run_job('consent_expiry')$$);
SELECT cdp_test.error_of($$SELECT cdp.run_maintenance()$$);
SELECT cdp_test.error_of($$SELECT cdp.set_retention('ret-api', 'audit', '1 day')$$);
SELECT cdp_test.error_of($$SELECT * FROM cdp.job_runs$$);
RESET ROLE;
REVOKE USAGE ON SCHEMA cdp_test FROM jobs_test_admin, jobs_test_reader;
DROP ROLE jobs_test_admin;
DROP ROLE jobs_test_reader;
