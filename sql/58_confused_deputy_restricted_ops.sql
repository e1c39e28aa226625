-- The API judges the role that calls it, not the session's role (review 2,
-- P1 and P1b). PostgreSQL runs one role's code inside a more privileged
-- session in two ways, and neither may lend that session's grants to the
-- code:
-- * security-restricted operations: an index expression of a table owned by
--   an attacker is evaluated, as the attacker, by a superuser's ANALYZE (and
--   by autovacuum, VACUUM, CREATE INDEX, REINDEX, CLUSTER, REFRESH
--   MATERIALIZED VIEW). Every cdp function that decides by role is refused
--   there (42501): cdp.profile, cdp.lookup, cdp.export, cdp.set_consent,
--   cdp.erase. Nothing is read, exported or changed.
-- * a SECURITY DEFINER function of the attacker called by a privileged
--   reader: cdp.profile and cdp.lookup are SECURITY INVOKER and read only
--   views judged as CURRENT_USER (the attacker), so the attacker's code sees
--   what the attacker may see (here nothing), not what the reader sees.
-- The attacker is a writer and compliance role with a grant on tenant
-- dep58-a only (so it holds EXECUTE on every function tried); the targets
-- are all in dep58-b. Every attempt is recorded with its SQLSTATE in the
-- attacker's own table (loot).
SELECT cdp.create_tenant('dep58-a') AS ta \gset
SELECT cdp.create_tenant('dep58-b') AS tb \gset
CREATE ROLE d58_app IN ROLE cdp_writer, cdp_compliance;
CREATE ROLE d58_boss IN ROLE cdp_reader;
SELECT cdp.grant_access('d58_app', 'dep58-a');
SELECT cdp.grant_access('d58_boss', 'dep58-b', 'analytics', true);
INSERT INTO cdp.profiles (tenant_id, profile_id, traits) VALUES
  (:ta, 5811, '{"email": "ann@example.com", "plan": "pro"}'),
  (:ta, 5812, '{"email": "bob@example.com", "plan": "free"}'),
  (:tb, 5821, '{"email": "eve@example.com", "plan": "pro"}'),
  (:tb, 5822, '{"email": "zed@example.com", "plan": "free"}');
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'ann@example.com'), 5811),
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'bob@example.com'), 5812),
  (:tb, 'email', cdp._identifier_hash(:tb, 'email', 'eve@example.com'), 5821),
  (:tb, 'email', cdp._identifier_hash(:tb, 'email', 'zed@example.com'), 5822);
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES
  (:ta, 5811, 'analytics', 'granted'), (:tb, 5821, 'analytics', 'granted');
-- the reading functions are invoker again; nothing of cdp is owned by cdp_view_owner but views
SELECT p.oid::regprocedure AS function, pg_get_userbyid(p.proowner) = 'cdp_view_owner' AS view_owner, p.prosecdef
  FROM pg_proc p WHERE p.oid IN ('cdp.lookup(text, text, text)'::regprocedure, 'cdp.profile(text, bigint)'::regprocedure)
 ORDER BY 1::text;
SELECT count(*) AS functions_owned_by_view_owner FROM pg_proc WHERE proowner = 'cdp_view_owner'::regrole;

CREATE FUNCTION cdp_test.plan58(q text) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  l text;
  r text := '';
BEGIN
  FOR l IN EXECUTE 'EXPLAIN (COSTS OFF) ' || q LOOP
    r := r || l || E'\n';
  END LOOP;
  RETURN r;
END $$;
GRANT USAGE ON SCHEMA cdp_test TO PUBLIC;
GRANT EXECUTE ON FUNCTION cdp_test.plan58(text) TO PUBLIC;

-- The attacker's objects.
CREATE SCHEMA evil58 AUTHORIZATION d58_app;
GRANT USAGE ON SCHEMA evil58 TO PUBLIC;
SET ROLE d58_app;
CREATE TABLE evil58.loot (what text, tenant text, arg text, result text);
-- what: profile, lookup, export, consent, erase
CREATE FUNCTION evil58.try(what text, t text, arg text) RETURNS void
LANGUAGE plpgsql VOLATILE SECURITY DEFINER SET search_path = pg_catalog AS $$
DECLARE
  r text;
BEGIN
  IF what = 'profile' THEN r := cdp.profile(t, arg::bigint)::text;
  ELSIF what = 'lookup' THEN r := cdp.lookup(t, 'email', arg)::text;
  ELSIF what = 'export' THEN r := cdp.export(t, 'email', arg)::text;
  ELSIF what = 'consent' THEN r := cdp.set_consent(t, 'email', arg, 'analytics', true)::text;
  ELSIF what = 'erase' THEN r := cdp.erase(t, 'email', arg)::text;
  END IF;
  INSERT INTO evil58.loot VALUES (what, t, arg, coalesce(r, 'NULL'));
EXCEPTION WHEN OTHERS THEN
  INSERT INTO evil58.loot VALUES (what, t, arg, SQLSTATE || ': ' || SQLERRM);
END $$;
CREATE FUNCTION evil58.steal(what text, t text, arg text) RETURNS text
LANGUAGE plpgsql IMMUTABLE SECURITY DEFINER SET search_path = pg_catalog AS $$
BEGIN
  PERFORM evil58.try(what, t, arg);
  RETURN arg;
END $$;
GRANT EXECUTE ON FUNCTION evil58.try(text, text, text), evil58.steal(text, text, text) TO PUBLIC;
CREATE TABLE evil58.bait (what text, t text, arg text);
INSERT INTO evil58.bait VALUES
  ('profile', 'dep58-b', '5821'), ('profile', 'dep58-b', '5822'), ('lookup', 'dep58-b', 'eve@example.com'),
  ('lookup', 'dep58-b', 'zed@example.com'), ('export', 'dep58-b', 'eve@example.com'),
  ('consent', 'dep58-b', 'zed@example.com'), ('erase', 'dep58-b', 'eve@example.com');
-- As the attacker itself: refused or nothing.
CREATE INDEX bait_steal ON evil58.bait ((evil58.steal(what, t, arg)));
SELECT what, tenant, arg, result FROM evil58.loot ORDER BY 1, 2, 3;
TRUNCATE evil58.loot;
RESET ROLE;

-- 1. A superuser's routine ANALYZE evaluates the index expression as the
-- attacker, in a security-restricted operation: every call is refused.
ANALYZE evil58.bait;
SELECT what, tenant, arg, result FROM evil58.loot ORDER BY 1, 2, 3;
-- REINDEX the same
TRUNCATE evil58.loot;
REINDEX INDEX evil58.bait_steal;
SELECT count(*) AS calls, count(*) FILTER (WHERE result LIKE '42501: cdp functions cannot be called in a security-restricted operation') AS refused
  FROM evil58.loot;
-- nothing was changed: no consent recorded for zed, eve not erased
SELECT count(*) AS zed_consents FROM cdp.consent_ledger WHERE tenant_id = :tb AND profile_id = 5822;
SELECT count(*) AS eve_profiles FROM cdp.profiles WHERE tenant_id = :tb AND profile_id = 5821;
SELECT count(*) AS exports_or_erasures_audited FROM cdp.audit_log
 WHERE tenant_id IN (:ta, :tb) AND action IN ('export', 'erase', 'set_consent');

-- 2. The reader with see_pii on dep58-b sees eve itself ...
TRUNCATE evil58.loot;
SET ROLE d58_boss;
SELECT cdp.lookup('dep58-b', 'email', 'eve@example.com') AS eve, cdp.profile('dep58-b', 5821)->'traits' AS eve_traits;
-- ... but the attacker's definer function, called by that reader, reads as
-- the attacker: nothing ...
SELECT evil58.steal('profile', 'dep58-b', '5821'), evil58.steal('lookup', 'dep58-b', 'eve@example.com');
RESET ROLE;
-- ... and by an administrator (who sees every tenant): nothing either
CREATE ROLE d58_admin IN ROLE cdp_admin;
SET ROLE d58_admin;
SELECT cdp.lookup('dep58-b', 'email', 'zed@example.com') AS zed_for_admin;
SELECT evil58.steal('profile', 'dep58-b', '5822'), evil58.steal('lookup', 'dep58-b', 'zed@example.com');
RESET ROLE;
DROP ROLE d58_admin;
SELECT what, tenant, arg, result FROM evil58.loot ORDER BY 1, 2, 3;
-- cdp.lookup leaves no key behind in its settings
SET ROLE d58_boss;
SELECT cdp.lookup('dep58-b', 'email', 'eve@example.com') AS eve,
       current_setting('cdp_lookup.id_hash', true) AS hash_left, current_setting('cdp_lookup.tenant_id', true) AS tenant_left;
-- cdp._lookup_hit probes an index: its conditions call only
-- leakproof functions, so they may be index conditions under row-level
-- security (otherwise every lookup would scan all identifiers; with four
-- rows here, a sequential scan is cheaper, so it is disabled)
BEGIN;
SET LOCAL enable_seqscan = off;
SELECT set_config('cdp_lookup.tenant_id', x.tenant_id::text, true) IS NOT NULL AS tenant_set,
       set_config('cdp_lookup.id_type', 'email', true) IS NOT NULL AS type_set,
       set_config('cdp_lookup.id_hash', encode(x.id_hash, 'hex'), true) IS NOT NULL AS hash_set
  FROM cdp._lookup_key('dep58-b', 'email', 'eve@example.com') x;
SELECT profile_id AS eve_by_settings FROM cdp._lookup_hit;
SELECT cdp_test.plan58('SELECT profile_id FROM cdp._lookup_hit')
       ~ 'Index Cond: [^\n]*tenant_id = cdp._lookup_tenant_id\(\)' AS settings_are_index_conditions;
COMMIT;
-- the internal views give the same as the functions, and nothing unset
SELECT count(*) AS hits_without_key FROM cdp._lookup_hit;
SELECT profile_id, traits FROM cdp._profile_rows ORDER BY 1;
SELECT profile_id, id_type, id_hash IS NULL AS hash_hidden FROM cdp._identifier_rows ORDER BY 1;
RESET ROLE;
-- the attacker itself reads in them only its own tenant (compliance: every customer)
SET ROLE d58_app;
SELECT tenant_id = :ta AS own_tenant, count(*) AS profiles FROM cdp._profile_rows GROUP BY 1;
SELECT tenant_id = :ta AS own_tenant, count(*) AS identifiers FROM cdp._identifier_rows GROUP BY 1;
RESET ROLE;

DROP SCHEMA evil58 CASCADE;
SELECT cdp.revoke_access('d58_app', 'dep58-a');
DROP ROLE d58_app;
SELECT cdp.revoke_access('d58_boss', 'dep58-b');
DROP ROLE d58_boss;

-- 3. The install refuses a pre-existing cdp_view_owner that has a member
-- (the role is cluster-wide: a member would read every table of customer
-- data without the masking of the views), naming the member.
\set regress_db :DBNAME
CREATE ROLE d58_member;
GRANT cdp_view_owner TO d58_member;
CREATE DATABASE cdp_test_58_member;
\c cdp_test_58_member
SET client_min_messages = warning;
CREATE EXTENSION cdp CASCADE;
\c :regress_db
REVOKE cdp_view_owner FROM d58_member;
DROP ROLE d58_member;
DROP DATABASE cdp_test_58_member;
SELECT count(*) AS view_owner_members FROM pg_auth_members m
 WHERE m.roleid = 'cdp_view_owner'::regrole OR m.member = 'cdp_view_owner'::regrole;
