-- The access helpers (cdp._my_roles, cdp._granted_tenants, cdp._view_tenants,
-- cdp._full_tenants, cdp._pii_tenants) remember their answers per querying
-- role, transaction and snapshot (src/accessmemo.c). This proves both sides:
-- a reader's cdp.profile computes each answer once instead of once per
-- reference, and every change an answer depends on is seen by the next
-- statement: a grant or revoke in this transaction, a role membership
-- granted or revoked, another role (SET ROLE) in the same snapshot, a
-- subtransaction rolled back. (A revoke committed by another session:
-- isolation spec reader_sees_revoke_next_statement.)
SELECT cdp.create_tenant('memo-a') AS ta \gset
SELECT cdp.create_tenant('memo-b') AS tb \gset
CREATE ROLE r57m_one IN ROLE cdp_reader;
CREATE ROLE r57m_two IN ROLE cdp_reader;
CREATE ROLE r57m_group IN ROLE cdp_reader;   -- a group: its members inherit its grant
SELECT cdp.grant_access('r57m_one', 'memo-a', 'analytics', false);
SELECT cdp.grant_access('r57m_two', 'memo-b', 'analytics', true);
SELECT cdp.grant_access('r57m_group', 'memo-b', 'analytics', false);
INSERT INTO cdp.profiles (tenant_id, profile_id, traits) VALUES
  (:ta, 5771, '{"email": "ann@example.com", "plan": "pro"}'),
  (:tb, 5772, '{"email": "bob@example.com", "plan": "free"}');
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'ann@example.com'), 5771),
  (:tb, 'email', cdp._identifier_hash(:tb, 'email', 'bob@example.com'), 5772);
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 5771, 'analytics', 'granted', '2026-01-01'),
  (:tb, 5772, 'analytics', 'granted', '2026-01-01');
GRANT USAGE ON SCHEMA cdp_test TO r57m_one, r57m_two;

SELECT (SELECT tenant_id FROM cdp.tenants WHERE name = 'memo-a') AS ta,
       (SELECT tenant_id FROM cdp.tenants WHERE name = 'memo-b') AS tb \gset
-- What a role is answered, in one statement, with the tenants named A and B
-- (their ids vary with the tests before this one; "other" is any other).
CREATE FUNCTION cdp_test.named57(ids integer[], a integer, b integer) RETURNS text LANGUAGE sql AS $$
  SELECT CASE WHEN ids IS NULL THEN 'null' ELSE '{' || coalesce(pg_catalog.string_agg(
           CASE x WHEN a THEN 'A' WHEN b THEN 'B' ELSE 'other' END, ',' ORDER BY x = b, x = a), '') || '}' END
    FROM unnest(coalesce(ids, '{}')) x $$;
CREATE FUNCTION cdp_test.answers57(a integer, b integer) RETURNS text LANGUAGE sql AS $$
  SELECT pg_catalog.format('view %s full %s pii %s granted %s', cdp_test.named57(cdp._view_tenants(), a, b),
                           cdp_test.named57(cdp._full_tenants(), a, b), cdp_test.named57(cdp._pii_tenants(), a, b),
                           cdp_test.named57(cdp._granted_tenants(), a, b)) $$;
GRANT EXECUTE ON FUNCTION cdp_test.named57(integer[], integer, integer), cdp_test.answers57(integer, integer)
  TO r57m_one, r57m_two;

-- 1. Computed once per call: a reader's cdp.profile refers to the answers
-- about twenty times (every view, policy and mask is an initplan of its own).
-- The SQL that computes them is called once each; _seen_tenants twice (the
-- view and the full set).
BEGIN;
SET LOCAL track_functions = 'all';
SET LOCAL ROLE r57m_one;
SELECT cdp.profile('memo-a', 5771) ->> 'profile_id' AS profile_one;
RESET ROLE;
SELECT p.proname, pg_stat_get_xact_function_calls(p.oid) AS calls
  FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace
 WHERE n.nspname = 'cdp' AND p.proname IN ('_my_roles_query', '_granted_tenants_query', '_pii_tenants_query', '_seen_tenants')
 ORDER BY 1;
COMMIT;

-- 2. Another role in the same snapshot gets its own answers, and the first
-- role's are still its own afterwards.
BEGIN ISOLATION LEVEL REPEATABLE READ;
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS one;
SET LOCAL ROLE r57m_two;
SELECT cdp_test.answers57(:ta, :tb) AS two;
SELECT cdp.lookup('memo-b', 'email', 'bob@example.com') IS NOT NULL AS two_finds_bob;
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS one_again;
SELECT cdp.lookup('memo-a', 'email', 'ann@example.com') IS NOT NULL AS one_finds_ann;
COMMIT;

-- 3. A revoke and a grant in this transaction are seen by the next statement.
BEGIN;
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS before_revoke;
RESET ROLE;
SELECT cdp.revoke_access('r57m_one', 'memo-a');
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS after_revoke;
SELECT count(*) AS profiles_seen FROM cdp.profile_360;
RESET ROLE;
SELECT cdp.grant_access('r57m_one', 'memo-b', 'analytics', true);
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS after_grant;
SELECT tenant_id = :tb AS in_b, traits ->> 'email' AS email FROM cdp.profile_360;
ROLLBACK;

-- 4. A role membership granted and revoked in this transaction: r57m_one
-- inherits r57m_group's grant on memo-b while it is a member.
BEGIN;
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS not_member;
RESET ROLE;
GRANT r57m_group TO r57m_one;
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS member;
SELECT count(*) AS profiles_seen FROM cdp.profile_360;
RESET ROLE;
REVOKE r57m_group FROM r57m_one;
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS member_no_more;
SELECT count(*) AS profiles_seen FROM cdp.profile_360;
COMMIT;

-- 5. A grant made in a subtransaction that is rolled back is gone for the
-- next statement.
BEGIN;
SAVEPOINT s;
SELECT cdp.grant_access('r57m_one', 'memo-b', 'analytics', false);
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS in_savepoint;
ROLLBACK TO SAVEPOINT s;
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS rolled_back;
SELECT count(*) AS profiles_seen FROM cdp.profile_360;
COMMIT;

-- 6. An administrator sees every tenant (the memo of a reader is not reused).
BEGIN;
SET LOCAL ROLE r57m_one;
SELECT cdp_test.answers57(:ta, :tb) AS reader;
RESET ROLE;
CREATE ROLE r57m_admin IN ROLE cdp_admin;
SET LOCAL ROLE r57m_admin;
SELECT :ta = ANY (cdp._view_tenants()) AND :tb = ANY (cdp._view_tenants()) AS admin_sees_both,
       :ta = ANY (cdp._pii_tenants()) AS admin_sees_pii;
ROLLBACK;
