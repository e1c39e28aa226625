-- cdp's private locks (src/locks.c, docs/operations.md "Locks"): advisory-type
-- lock tags with a fourth field (pg_locks.objsubid) of cdp's own, taken only
-- through functions that the extension owner alone may execute.

SELECT cdp.create_tenant('locks-budget') > 0 AS created;
CREATE TEMP TABLE locks_key AS SELECT cdp.create_source('locks-budget', 'app') AS key;

-- 300 known people.
SELECT status, count(*) FROM cdp.ingest_batch((SELECT key FROM locks_key),
  (SELECT jsonb_agg(jsonb_build_object('type', 'identify', 'userId', 'u-' || i, 'messageId', 'id-' || i))
     FROM generate_series(1, 300) i)) GROUP BY status;

-- One transaction storing tracks of all 300 (no profile row lock on this
-- path): the tenant's erasure lock in share mode, a share event lock for
-- each of the first 32 people (CDP_PROFILE_LOCK_BUDGET, well under
-- max_locks_per_transaction: advisory locks all take shared lock table
-- entries), then one share lock on all of the tenant's profiles instead of
-- more (the lock table stays small for big batches).
BEGIN;
SELECT status, count(*) FROM cdp.ingest_batch((SELECT key FROM locks_key),
  (SELECT jsonb_agg(jsonb_build_object('type', 'track', 'event', 'e', 'userId', 'u-' || i, 'messageId', 'tr-' || i))
     FROM generate_series(1, 300) i)) GROUP BY status;
SELECT l.objsubid, l.mode, count(*) AS locks,
       bool_and(l.classid = (SELECT tenant_id FROM cdp.tenants WHERE name = 'locks-budget')) AS tenant_keyed
  FROM pg_locks l
 WHERE l.pid = pg_backend_pid() AND l.locktype = 'advisory'
 GROUP BY 1, 2 ORDER BY 1, 2;
-- a single message more of a known person takes no further lock
SELECT status FROM cdp.ingest((SELECT key FROM locks_key),
  jsonb_build_object('type', 'page', 'name', 'Home', 'userId', 'u-1', 'messageId', 'pg-1'));
SELECT count(*) AS locks FROM pg_locks l
 WHERE l.pid = pg_backend_pid() AND l.locktype = 'advisory';
COMMIT;

-- The same numbers through pg_advisory_lock are other locks (objsubid 1 and
-- 2): holding them does not stop a job run in this session either.
SELECT pg_advisory_lock(((SELECT tenant_id FROM cdp.tenants WHERE name = 'locks-budget')::bigint << 32)) IS NOT NULL AS held,
       pg_advisory_lock((hashtext('cdp.jobs')::bigint << 32) | (hashtext('statistics')::bigint & 4294967295)) IS NOT NULL AS old_job_key;
SELECT job_name, status FROM cdp.run_job('statistics');
SELECT objsubid, count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' GROUP BY 1 ORDER BY 1;
SELECT pg_advisory_unlock_all();

-- Job locks: one per job, for the transaction or the session; never waits.
BEGIN;
SELECT cdp._job_try_lock('statistics', false) AS first, cdp._job_try_lock('statistics', false) AS again_same_xact;
SELECT objsubid, mode, count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' GROUP BY 1, 2;
COMMIT;
SELECT count(*) AS after_commit FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory';
SELECT cdp._job_try_lock('statistics', true) AS session_lock;
SELECT count(*) AS held_across_transactions FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND objsubid = 4304;
SELECT pg_advisory_unlock_all();
SELECT count(*) AS released FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory';

-- Bad arguments.
SELECT cdp_test.error_of($$SELECT cdp._job_try_lock(NULL, true)$$);
SELECT cdp_test.error_of($$SELECT cdp._job_try_lock('statistics', NULL)$$);
SELECT cdp_test.error_of($$SELECT cdp._lock_tenant_for_erasure(NULL)$$);
SELECT cdp_test.error_of($$SELECT cdp._lock_profiles_for_purge(1, NULL)$$);
SELECT cdp_test.error_of($$SELECT cdp._unlock_profiles_after_purge(NULL, '{1}')$$);
SELECT cdp_test.error_of($$SELECT cdp._lock_profiles_for_purge(1, (SELECT array_agg(i::bigint) FROM generate_series(1, 257) i))$$);
-- NULL elements and repeats are ignored; the ids locked come back sorted
-- (nobody else holds them here); locks and unlocks pair up when called
-- from the same function run (as cdp._retention_profiles does); unlocking
-- what is not held is a no-op (no WARNING).
DO $$
DECLARE
  held text;
BEGIN
  RAISE NOTICE 'locked: %', cdp._lock_profiles_for_purge(1, '{3, NULL, 2, 3}');
  SELECT string_agg(objsubid || ' ' || mode || ' x' || n, ', ' ORDER BY objsubid) INTO held
    FROM (SELECT objsubid, mode, count(*) AS n FROM pg_locks
           WHERE pid = pg_backend_pid() AND locktype = 'advisory' GROUP BY 1, 2) l;
  RAISE NOTICE 'held: %', held;
  PERFORM cdp._unlock_profiles_after_purge(1, '{3, NULL, 2, 3}');
  PERFORM cdp._unlock_profiles_after_purge(1, '{4}');
  RAISE NOTICE 'left held: %', (SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() AND locktype = 'advisory');
END
$$;

-- Inactive-profile retention holds no event lock once its slice is purged
-- (before it commits): at most one slice (256 people) at a time.
SELECT cdp.create_tenant('locks-retention') > 0 AS created;
SELECT cdp.set_retention('locks-retention', 'inactive_profiles', '30 days') IS NOT NULL AS set;
SELECT status, count(*) FROM cdp.ingest_batch(cdp.create_source('locks-retention', 'app'),
  (SELECT jsonb_agg(jsonb_build_object('type', 'identify', 'userId', 'r-' || i, 'messageId', 'r-' || i))
     FROM generate_series(1, 3) i)) GROUP BY status;
UPDATE cdp.profiles SET first_seen_at = now() - interval '401 days', last_seen_at = now() - interval '400 days'
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'locks-retention');
BEGIN;
SELECT cdp._retention_profiles(100, 5) AS purged;
SELECT count(*) AS event_locks_still_held FROM pg_locks
 WHERE pid = pg_backend_pid() AND locktype = 'advisory' AND objsubid IN (4302, 4303);
COMMIT;
SELECT count(*) AS profiles_left FROM cdp.profiles
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'locks-retention');

-- Nobody but the owner executes them: not the cdp roles (cdp.erase,
-- cdp.run_job and retention call them as the owner).
CREATE ROLE locks_test_admin IN ROLE cdp_admin;
CREATE ROLE locks_test_compliance IN ROLE cdp_compliance;
CREATE ROLE locks_test_writer IN ROLE cdp_writer;
SELECT r.rolname, f.fn,
       has_function_privilege(r.rolname, f.fn, 'EXECUTE') AS can_execute
  FROM (VALUES ('locks_test_admin'), ('locks_test_compliance'), ('locks_test_writer')) r(rolname)
 CROSS JOIN (VALUES ('cdp._lock_tenant_for_erasure(integer)'), ('cdp._lock_profiles_for_purge(integer, bigint[])'),
                    ('cdp._unlock_profiles_after_purge(integer, bigint[])'), ('cdp._job_try_lock(text, boolean)')) f(fn)
 ORDER BY 1, 2;
GRANT USAGE ON SCHEMA cdp_test TO locks_test_admin;
SET ROLE locks_test_admin;
SELECT cdp_test.error_of($$SELECT cdp._job_try_lock('statistics', false)$$);
SELECT job_name, status FROM cdp.run_job('statistics');
RESET ROLE;
REVOKE USAGE ON SCHEMA cdp_test FROM locks_test_admin;
DROP ROLE locks_test_admin, locks_test_compliance, locks_test_writer;
