-- Private locks (src/locks.c): heavyweight locks in a lock space that the
-- SQL advisory lock functions cannot reach, so no role can take, hold or
-- block them. Only the extension owner may execute these functions (PUBLIC
-- loses EXECUTE in 99_lockdown.sql and nothing grants it back): erasure,
-- retention and job runs call them as the owner. See docs/operations.md,
-- "Locks".

CREATE FUNCTION cdp._lock_tenant_for_erasure(tenant_id integer)
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'cdp_lock_tenant_for_erasure';
COMMENT ON FUNCTION cdp._lock_tenant_for_erasure(integer) IS
  'cdp internal (erasure): the tenant''s erasure lock, exclusive, to the end of the transaction; ingestion of that tenant holds it in share mode from its first call to its commit. Waits at most lock_timeout (55P03). Other tenants are not affected.';

CREATE FUNCTION cdp._lock_profiles_for_purge(tenant_id integer, profile_ids bigint[])
RETURNS bigint[]
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'cdp_lock_profiles_for_purge';
COMMENT ON FUNCTION cdp._lock_profiles_for_purge(integer, bigint[]) IS
  'cdp internal (inactive-profile retention): the tenant''s profiles lock in ROW EXCLUSIVE mode and the profiles'' event locks, exclusive, in profile_id order, none of them waiting (ingestion holds them while it stores events without a row lock); returns the ids locked (empty when the tenant''s lock is busy); at most 256 ids (54000); until cdp._unlock_profiles_after_purge or the end of the transaction.';

CREATE FUNCTION cdp._unlock_profiles_after_purge(tenant_id integer, profile_ids bigint[])
RETURNS void
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'cdp_unlock_profiles_after_purge';
COMMENT ON FUNCTION cdp._unlock_profiles_after_purge(integer, bigint[]) IS
  'cdp internal (inactive-profile retention): releases the locks cdp._lock_profiles_for_purge took (pass the ids it returned; locks not held are ignored), once the purge''s deletes are done (ingestion then waits for the deleting transaction through the profile row).';

CREATE FUNCTION cdp._job_try_lock(job_name text, session boolean)
RETURNS boolean
LANGUAGE c VOLATILE
AS 'MODULE_PATHNAME', 'cdp_job_try_lock';
COMMENT ON FUNCTION cdp._job_try_lock(text, boolean) IS
  'cdp internal (jobs): the job''s lock, exclusive, without waiting; for the session (scheduler claim) or the transaction (cdp.run_job). False when the job is running elsewhere. No role can take this lock with pg_advisory_lock.';
