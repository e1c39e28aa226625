-- DROP ROLE leaves the role's access grants behind (a regrole column records
-- no dependency): a bare oid that a new role would inherit after oid
-- wraparound. The access_cleanup job deletes exactly those grants, each with
-- an audit entry, and keeps every grant of a role that still exists.
SELECT cdp.create_tenant('cleanup-a') AS tid \gset
CREATE ROLE r65c_gone IN ROLE cdp_reader;
CREATE ROLE r65c_kept IN ROLE cdp_reader;
SELECT cdp.grant_access('r65c_gone', 'cleanup-a', 'analytics', true);
SELECT cdp.grant_access('r65c_kept', 'cleanup-a', 'analytics', false);
SELECT 'r65c_gone'::regrole::oid AS gone_oid \gset
DROP ROLE r65c_gone;
-- The grant row is still there, under the dropped role's oid.
SELECT role_id::oid = :gone_oid AS dropped_role, see_pii FROM cdp.access_grants WHERE tenant_id = :tid ORDER BY see_pii;
-- (Other tests' dropped roles may have left grants too: at least this one.)
SELECT job_name, status, rows_affected >= 1 AS deleted_some FROM cdp.run_job('access_cleanup');
SELECT role_id::text AS role, see_pii FROM cdp.access_grants WHERE tenant_id = :tid;
SELECT action, (args ->> 'dropped_role_oid')::oid = :gone_oid AS that_role, args ->> 'see_pii' AS see_pii
  FROM cdp.audit_log WHERE tenant_id = :tid AND action = 'access_cleanup';
-- Nothing left to do: a second run deletes nothing.
SELECT job_name, status, rows_affected FROM cdp.run_job('access_cleanup');
