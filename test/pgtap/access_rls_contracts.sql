-- Contracts of the access model (DESIGN 6), checked in the catalogs so that
-- objects added later are covered, and in behaviour as non-owner roles:
-- public views run with the caller's rights, over internal views owned by a
-- role that bypasses no policy; readers hold no privilege on the tables of
-- customer data (see_pii cannot be read around); readers and compliance
-- roles can never write; policies use the grants and consent tables with
-- the caller's roles computed once per query; a reader without a grant sees
-- nothing, one with a grant sees only consented customers of its tenant;
-- unique keys can not be probed across tenants.
BEGIN;
SELECT plan(29);

SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c
   WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind = 'v' AND c.relname !~ '^_'
     AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)
$$, 'every public view of cdp runs with the caller''s rights (security_invoker)');
SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c
   WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind = 'v'
     AND NOT coalesce(c.reloptions @> ARRAY['security_invoker=true'], false)
     AND NOT (pg_get_userbyid(c.relowner) = 'cdp_view_owner' AND c.reloptions @> ARRAY['security_barrier=true'])
$$, 'every other view (internal) is a security_barrier view owned by cdp_view_owner');
SELECT is_empty($$
  SELECT r.rolname FROM pg_roles r
   WHERE (r.rolname = 'cdp_view_owner' AND (r.rolsuper OR r.rolbypassrls OR r.rolcanlogin
                                            OR r.rolcreaterole OR r.rolcreatedb OR r.rolreplication
                                            OR EXISTS (SELECT 1 FROM pg_auth_members m
                                                        WHERE m.roleid = r.oid OR m.member = r.oid)))
      OR (r.rolname IN ('cdp_admin', 'cdp_writer', 'cdp_reader', 'cdp_compliance')
          AND pg_has_role(r.oid, 'cdp_view_owner', 'MEMBER'))
$$, 'cdp_view_owner is no superuser, bypasses no policy, cannot log in or create roles, has no member and is a member of no role');
SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c
   WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind IN ('r', 'p')
     AND has_table_privilege('cdp_view_owner', c.oid, 'INSERT, UPDATE, DELETE, TRUNCATE')
$$, 'cdp_view_owner cannot write any table');
SELECT isnt_empty($$SELECT 1 FROM pg_class WHERE relnamespace = 'cdp'::regnamespace AND relkind = 'v'$$,
                  'the view check above looked at some views');

SELECT is_empty($$
  SELECT r.rolname || ' ' || c.oid::regclass::text FROM pg_class c, pg_roles r
   WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind IN ('r', 'p', 'v')
     AND r.rolname IN ('cdp_reader', 'cdp_compliance')
     AND (has_table_privilege(r.oid, c.oid, 'INSERT') OR has_table_privilege(r.oid, c.oid, 'UPDATE')
          OR has_table_privilege(r.oid, c.oid, 'DELETE') OR has_table_privilege(r.oid, c.oid, 'TRUNCATE'))
$$, 'readers and compliance roles cannot write any table or view directly');

SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c
   WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind IN ('r', 'p')
     AND has_table_privilege('cdp_reader', c.oid, 'SELECT')
     AND c.relname NOT IN ('access_grants')
$$, 'readers may select no table of customer data (only their own grants, which the policy functions read)');

SELECT is_empty($$
  SELECT c.oid::regclass::text FROM pg_class c
   WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
     AND (has_table_privilege('cdp_reader', c.oid, 'SELECT') OR has_table_privilege('cdp_compliance', c.oid, 'SELECT'))
     AND NOT EXISTS (SELECT 1 FROM pg_policy p WHERE p.polrelid = c.oid
                      AND p.polroles && ARRAY['cdp_reader'::regrole::oid, 'cdp_compliance'::regrole::oid])
$$, 'every table readers or compliance may select has a policy for them (else they would see nothing, by design)');

SELECT policies_are('cdp', 'profiles', ARRAY['admin_all', 'compliance_tenant', 'through_views'],
                    'cdp.profiles has exactly the admin, compliance and through-the-views policies');
SELECT policies_are('cdp', 'events', ARRAY['admin_all', 'compliance_tenant', 'through_views'],
                    'cdp.events has exactly the admin, compliance and through-the-views policies');
SELECT policies_are('cdp', 'consent_ledger', ARRAY['admin_all', 'compliance_tenant'],
                    'readers have no policy on the consent ledger');

-- Policies: plain predicates; the caller's roles and granted tenants through
-- initplans, no per-row call of any other function.
SELECT is_empty($$
  SELECT p.tablename || '.' || p.policyname FROM pg_policies p
   WHERE p.schemaname = 'cdp' AND p.policyname IN ('through_views', 'compliance_tenant', 'own_grants')
     AND regexp_replace(regexp_replace(p.qual,
           '\( SELECT cdp\.(_my_roles|_granted_tenants|_view_tenants|_full_tenants|_is_admin)\(\) AS \1\)', '', 'g'),
           'now\(\)', '', 'g') ~ '[a-z_]+\('
$$, 'view and compliance policies call no function per row (only initplans of cdp._my_roles(), _granted_tenants(), _view_tenants(), _full_tenants(), _is_admin(), and now())');
SELECT is(count(*), 7::bigint, 'through_views policies exist on the six tables the views read (tenants, access_grants, consent_current, profiles, identifiers, events), own_grants on access_grants, and the check above saw them')
  FROM pg_policies p WHERE p.schemaname = 'cdp' AND p.policyname IN ('through_views', 'own_grants')
   AND p.tablename IN ('tenants', 'access_grants', 'consent_current', 'profiles', 'identifiers', 'events');

-- Every reader and compliance policy starts from a sargable tenant
-- predicate (tenant_id leads every key: partitions and indexes are searched
-- for the granted tenants only; distributable by tenant), and a consent
-- subquery correlates on tenant_id.
SELECT is_empty($$
  SELECT p.tablename || '.' || p.policyname FROM pg_policies p
   WHERE p.schemaname = 'cdp' AND (p.policyname = 'compliance_tenant'
                                   OR (p.policyname = 'through_views' AND p.tablename NOT IN ('tenants', 'access_grants')))
     AND (p.qual !~ '^\(?\(?tenant_id = ANY \(\( SELECT cdp\._(granted|view)_tenants\(\) AS _(granted|view)_tenants\)::integer\[\]\)'
          OR (p.qual ~ 'EXISTS' AND p.qual !~ format('g\.tenant_id = %s\.tenant_id', p.tablename))
          OR (p.qual ~ ' IN \(' AND p.qual !~ '\(tenant_id, (profile_id|purpose)\) IN \( SELECT [cg]\.tenant_id,'))
$$, 'view and compliance policies filter by visible tenant first and join their consent subquery on tenant_id');
SELECT is(count(*), 3::bigint, 'the consent test of through_views on profiles, identifiers and events is an EXISTS correlated on tenant_id and profile_id (point reads probe an index, not a hash of every consented customer)')
  FROM pg_policies p WHERE p.schemaname = 'cdp' AND p.policyname = 'through_views'
   AND p.qual ~ format('EXISTS.*g\.tenant_id = %s\.tenant_id.*c\.profile_id = %s\.profile_id', p.tablename, p.tablename);

-- The privacy internals run only inside the API functions and the workers.
SELECT is_empty($$
  SELECT r.rolname || ' ' || p.oid::regprocedure::text FROM pg_proc p, pg_roles r
   WHERE p.pronamespace = 'cdp'::regnamespace
     AND p.proname IN ('_purge_profiles', '_expire_consents', '_record_message_consent', '_after_merge',
                       '_export_profiles', '_resolve_identifier', '_lock_person', '_check_tenant_access',
                       '_authorized_tenant', '_caller', '_audit')
     AND r.rolname IN ('cdp_admin', 'cdp_writer', 'cdp_reader', 'cdp_compliance')
     AND has_function_privilege(r.oid, p.oid, 'EXECUTE')
$$, 'no cdp role can call the privacy internals directly (purge, expiry, hooks, access checks, audit)');

-- Behaviour as non-owner roles.
SELECT cdp.create_tenant('tap-acc-a') AS ta \gset
SELECT cdp.create_tenant('tap-acc-b') AS tb \gset
CREATE ROLE tap_acc_bi IN ROLE cdp_reader;
CREATE ROLE tap_acc_nogrant IN ROLE cdp_reader;
CREATE ROLE tap_acc_dpo IN ROLE cdp_compliance;
SELECT cdp.grant_access('tap_acc_bi', 'tap-acc-a');
SELECT cdp.grant_access('tap_acc_dpo', 'tap-acc-a');
INSERT INTO cdp.profiles (tenant_id, profile_id) VALUES (:ta, 91001), (:ta, 91002), (:tb, 91003);
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'p1@example.com'), 91001),
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'p2@example.com'), 91002),
  (:tb, 'email', cdp._identifier_hash(:tb, 'email', 'p3@example.com'), 91003);
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES
  (:ta, 91001, 'analytics', 'granted'), (:tb, 91003, 'analytics', 'granted');

SET LOCAL ROLE tap_acc_bi;
SELECT results_eq($$SELECT profile_id FROM cdp.profile_360 ORDER BY 1$$, ARRAY[91001::bigint],
                  'a reader sees the consented customer of its tenant, not the others nor other tenants');
SELECT is(cdp.lookup('tap-acc-a', 'email', 'p2@example.com'), NULL,
          'a reader cannot look up a customer without consent');
SELECT throws_ok($$SELECT cdp.lookup('tap-acc-b', 'email', 'p3@example.com')$$, '42501', NULL,
                 'a reader cannot look up a consented customer of another tenant (refused, as an unknown tenant is)');
SELECT throws_ok($$INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id)
                   SELECT tenant_id, id_type, id_hash, 1 FROM cdp.identifiers$$, '42501', NULL,
                 'a unique-key probe by insertion is refused before any key is compared');
SELECT throws_ok($$SELECT cdp.erase('tap-acc-a', 'email', 'p1@example.com')$$, '42501', NULL,
                 'a reader cannot erase');
RESET ROLE;
-- Planner statistics would show values of rows RLS hides (most common
-- values, histograms): PostgreSQL hides them from roles subject to RLS.
ANALYZE cdp.profiles;
ANALYZE cdp.identifiers;
SET LOCAL ROLE tap_acc_bi;
SELECT is((SELECT count(*) FROM pg_stats WHERE schemaname = 'cdp'), 0::bigint,
          'a reader sees no planner statistics of cdp tables (they would leak hidden values)');
RESET ROLE;

SET LOCAL ROLE tap_acc_nogrant;
SELECT is((SELECT count(*) FROM cdp.profile_360) + (SELECT count(*) FROM cdp.event_stream)
          + (SELECT count(*) FROM cdp.consent_status) + (SELECT count(*) FROM cdp._profile_360)
          + (SELECT count(*) FROM cdp._event_stream) + (SELECT count(*) FROM cdp.access_grants), 0::bigint,
          'a reader without a grant sees nothing in any view');
SELECT throws_ok($$SELECT count(*) FROM cdp.profiles$$, '42501', NULL,
                 'a reader cannot select a table of customer data');
RESET ROLE;

SET LOCAL ROLE tap_acc_dpo;
SELECT results_eq($$SELECT profile_id FROM cdp.profile_360 ORDER BY 1$$, ARRAY[91001::bigint, 91002],
                  'compliance sees every customer of its tenant whatever the consent, none of another tenant');
SELECT throws_ok($$SELECT cdp.export('tap-acc-b', 'email', 'p3@example.com')$$, '42501', NULL,
                 'compliance cannot export from another tenant');
SELECT throws_ok($$SELECT cdp.export('tap-acc-nonexistent', 'email', 'p3@example.com')$$, '42501', NULL,
                 'an unknown tenant looks the same as a forbidden one (names cannot be probed)');
SELECT throws_ok($$SELECT cdp.grant_access('tap_acc_dpo', 'tap-acc-b')$$, '42501', NULL,
                 'compliance cannot grant itself another tenant');
RESET ROLE;

-- An identifier hash is keyed per tenant: the same email is a different
-- hash in each tenant, so neither a hash nor a key collision crosses tenants.
SELECT isnt(cdp._identifier_hash(:ta, 'email', 'p1@example.com'), cdp._identifier_hash(:tb, 'email', 'p1@example.com'),
            'the same identifier hashes differently in two tenants');

SELECT * FROM finish();
ROLLBACK;
