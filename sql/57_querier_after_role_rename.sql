-- cdp._querier() is CURRENT_USER's oid, not CURRENT_USER's name looked up in
-- pg_roles (review 10). The name comes from the catalog cache, which follows
-- a committed (or this transaction's) rename at once, while pg_roles is read
-- with the query's snapshot: a cursor, or a REPEATABLE READ transaction,
-- opened before two roles swapped names found its role's new name on the
-- other role and was answered with that role's grants (its tenant, its PII
-- unmasked).
SELECT cdp.create_tenant('querier-a') AS ta \gset
SELECT cdp.create_tenant('querier-b') AS tb \gset
CREATE ROLE r57q_plain IN ROLE cdp_reader;     -- tenant A, PII masked
CREATE ROLE r57q_pii IN ROLE cdp_reader;       -- tenant B, PII shown
SELECT cdp.grant_access('r57q_plain', 'querier-a', 'analytics', false);
SELECT cdp.grant_access('r57q_pii', 'querier-b', 'analytics', true);
INSERT INTO cdp.profiles (tenant_id, profile_id, traits) VALUES
  (:ta, 5781, '{"email": "ann@example.com", "plan": "pro"}'),
  (:tb, 5782, '{"email": "bob@example.com", "plan": "free"}');
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 5781, 'analytics', 'granted', '2026-01-01'),
  (:tb, 5782, 'analytics', 'granted', '2026-01-01');

-- The querying role's oid, whatever its name.
SET ROLE r57q_plain;
SELECT cdp._querier() = 'r57q_plain'::regrole AS querier_is_current_user;
RESET ROLE;

-- A cursor of r57q_plain opened before the two roles swap names: fetched
-- after the swap, it still sees only tenant A, PII masked (r57q_plain's own
-- grant), not tenant B unmasked.
BEGIN;
SET LOCAL ROLE r57q_plain;
DECLARE c CURSOR FOR
  SELECT p.tenant_id = :ta AS in_a, p.tenant_id = :tb AS in_b, p.traits ->> 'email' AS email,
         cdp._querier() = (SELECT oid FROM pg_roles WHERE rolname = 'r57q_plain') AS answered_as_itself
    FROM cdp.profile_360 p WHERE p.profile_id IN (5781, 5782);
RESET ROLE;
ALTER ROLE r57q_plain RENAME TO r57q_tmp;
ALTER ROLE r57q_pii RENAME TO r57q_plain;
ALTER ROLE r57q_tmp RENAME TO r57q_pii;
SET LOCAL ROLE r57q_pii;   -- the same role as before, under its new name
SELECT current_user;
FETCH ALL FROM c;
-- A new statement (its snapshot sees the new names) agrees.
SELECT p.tenant_id = :ta AS in_a, p.traits ->> 'email' AS email
  FROM cdp.profile_360 p WHERE p.profile_id IN (5781, 5782);
ROLLBACK;
