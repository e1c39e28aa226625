-- Contracts of the foundation: the group roles exist, PUBLIC has nothing,
-- writers cannot read base tables, RLS is enabled and forced on every tenant
-- table, and every SECURITY DEFINER function pins its search_path. The checks
-- query the catalogs, so objects added later are covered without editing this.
BEGIN;
SELECT plan(16);

SELECT has_role('cdp_admin');
SELECT has_role('cdp_writer');
SELECT has_role('cdp_reader');
SELECT has_role('cdp_compliance');

SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c, aclexplode(c.relacl) a
   WHERE c.relnamespace = 'cdp'::regnamespace AND a.grantee = 0
$$, 'PUBLIC holds no privilege on any table, view or sequence of cdp');

SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.pronamespace = 'cdp'::regnamespace
     AND (p.proacl IS NULL OR EXISTS (SELECT 1 FROM aclexplode(p.proacl) a WHERE a.grantee = 0))
$$, 'PUBLIC cannot execute any function of cdp');

SELECT is(has_schema_privilege('public', 'cdp', 'USAGE'), false, 'PUBLIC has no usage on schema cdp');

SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c
   WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind IN ('r', 'p')
     AND (has_table_privilege('cdp_writer', c.oid, 'SELECT') OR has_table_privilege('cdp_writer', c.oid, 'INSERT')
          OR has_table_privilege('cdp_writer', c.oid, 'UPDATE') OR has_table_privilege('cdp_writer', c.oid, 'DELETE'))
$$, 'cdp_writer has no direct privilege on any base table');

SELECT is_empty($$
  SELECT r.rolname FROM pg_roles r
   WHERE r.rolname IN ('cdp_admin', 'cdp_writer', 'cdp_reader', 'cdp_compliance')
     AND has_table_privilege(r.oid, 'cdp.tenant_secrets', 'SELECT')
$$, 'no cdp role can read the tenant secrets');

SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c
   WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     AND EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid AND a.attname = 'tenant_id' AND NOT a.attisdropped)
     AND NOT (c.relrowsecurity AND c.relforcerowsecurity)
$$, 'every table holding tenant data has row-level security enabled and forced');

SELECT isnt_empty($$
  SELECT 1 FROM pg_class c WHERE c.relnamespace = 'cdp'::regnamespace AND c.relrowsecurity AND c.relforcerowsecurity
$$, 'the RLS check above looked at some tables');

SELECT is_empty($$
  SELECT p.oid::regprocedure::text FROM pg_proc p
   WHERE p.prosecdef
     AND (p.pronamespace = 'cdp'::regnamespace
          OR EXISTS (SELECT 1 FROM pg_depend d JOIN pg_extension e ON e.oid = d.refobjid
                      WHERE d.classid = 'pg_proc'::regclass AND d.objid = p.oid AND d.deptype = 'e' AND e.extname = 'cdp'))
     AND NOT coalesce(p.proconfig @> ARRAY['search_path=pg_catalog, pg_temp'], false)
$$, 'every SECURITY DEFINER function of cdp pins search_path to pg_catalog, pg_temp');

SELECT isnt_empty($$
  SELECT 1 FROM pg_proc p WHERE p.pronamespace = 'cdp'::regnamespace AND p.prosecdef
$$, 'the search_path check above looked at some definer functions');

-- Behaviour, not only catalogs: a writer is refused a base table and an admin call.
SET LOCAL ROLE cdp_writer;
SELECT throws_ok('SELECT * FROM cdp.tenants', '42501', NULL, 'a writer cannot read cdp.tenants');
SELECT throws_ok($$SELECT cdp.create_tenant('sneaky')$$, '42501', NULL, 'a writer cannot create a tenant');
RESET ROLE;

-- an administrator can, and sees the row through RLS
SET LOCAL ROLE cdp_admin;
SELECT cdp.create_tenant('tap-tenant');
SELECT results_eq($$SELECT name FROM cdp.tenants WHERE name = 'tap-tenant'$$, ARRAY['tap-tenant'],
                  'an administrator creates a tenant and sees it');
RESET ROLE;

SELECT * FROM finish();
ROLLBACK;
