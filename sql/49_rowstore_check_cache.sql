-- The CHECK constraints of the tables the direct write path writes to
-- (src/rowstore.c) are planned once per backend and relation, and each call
-- initializes its own copy. Each case fails if what was kept outlived what
-- it depends on: state an expression keeps in the EState of the call that
-- ran it, a domain's constraints, a function's body. All in one session,
-- over many calls, as a pooled connection runs them. Everything added to
-- cdp's tables is removed at the end.
SET client_min_messages = warning;
SELECT cdp.create_tenant('rowstore49c') AS tid \gset
SELECT cdp.create_source('rowstore49c', 'web') AS key \gset
CREATE SCHEMA r49c;
-- Calls 1..n, one message each (one call each): how many got each answer.
CREATE FUNCTION r49c.calls(p_key text, p_prefix text, n int) RETURNS TABLE (status text, sqlstate text, error text, calls bigint)
LANGUAGE sql AS $$
  SELECT r.status, r.sqlstate, r.error, count(*)
    FROM generate_series(1, n) g,
         LATERAL cdp.ingest(p_key, jsonb_build_object('type', 'track', 'event', 'E', 'userId', 'ann',
                                                      'messageId', p_prefix || g, 'timestamp', '2099-09-01T00:00:00Z')) r
   GROUP BY 1, 2, 3 ORDER BY 1, 2, 3
$$;

-- 1. A whole-row reference: its first evaluation keeps the row's tuple
-- descriptor in the EState it ran in (ExecEvalWholeRowVar), freed at the
-- end of that call. An expression kept across calls read freed memory in
-- later calls ("tuple descriptor for type ... lacks attribute ...", or
-- worse); every call must be accepted, as its INSERT is.
ALTER TABLE cdp.message_ids ADD CONSTRAINT r49c_whole_row CHECK (length(row_to_json(message_ids)::text) > 10);
SELECT * FROM r49c.calls(:'key', 'whole-row-', 20);
ALTER TABLE cdp.message_ids DROP CONSTRAINT r49c_whole_row;

-- 2. A domain without constraints is planned away (a relabeling, which the
-- plancache replans when the domain changes); one with constraints has
-- them read when the expression is initialized. A constraint added to the
-- domain afterwards holds for the next call, as it does for an INSERT
-- (23514, the message quarantined).
CREATE DOMAIN r49c.bare AS text;
CREATE DOMAIN r49c.checked AS text CHECK (VALUE <> '');
ALTER TABLE cdp.message_ids ADD CONSTRAINT r49c_domains CHECK ((message_id)::r49c.bare IS NOT NULL AND (message_id)::r49c.checked IS NOT NULL);
SELECT * FROM r49c.calls(:'key', 'dom-before-', 2);
ALTER DOMAIN r49c.bare ADD CONSTRAINT r49c_no_bare CHECK (VALUE NOT LIKE 'dom-bare-%');
SELECT * FROM r49c.calls(:'key', 'dom-bare-', 2);
ALTER DOMAIN r49c.checked ADD CONSTRAINT r49c_no_checked CHECK (VALUE NOT LIKE 'dom-checked-%');
SELECT * FROM r49c.calls(:'key', 'dom-checked-', 2);
SELECT * FROM r49c.calls(:'key', 'dom-after-', 2);
ALTER TABLE cdp.message_ids DROP CONSTRAINT r49c_domains;

-- 3. A CHECK calling an SQL function, inlined into the planned expression:
-- CREATE OR REPLACE changes what the next call checks.
CREATE FUNCTION r49c.allowed(m text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT m NOT LIKE 'fn-a-%' $$;
ALTER TABLE cdp.message_ids ADD CONSTRAINT r49c_function CHECK (r49c.allowed(message_id));
SELECT * FROM r49c.calls(:'key', 'fn-a-before-', 2);
SELECT * FROM r49c.calls(:'key', 'fn-b-before-', 2);
CREATE OR REPLACE FUNCTION r49c.allowed(m text) RETURNS boolean LANGUAGE sql IMMUTABLE AS $$ SELECT m NOT LIKE 'fn-b-%' $$;
SELECT * FROM r49c.calls(:'key', 'fn-a-after-', 2);
SELECT * FROM r49c.calls(:'key', 'fn-b-after-', 2);
ALTER TABLE cdp.message_ids DROP CONSTRAINT r49c_function;

-- What was rejected went to quarantine with the INSERT's error.
SELECT message_id, sqlstate, reason FROM cdp.quarantine WHERE tenant_id = :tid ORDER BY message_id;

-- Nothing of this test is left on cdp's tables.
DROP SCHEMA r49c CASCADE;
DELETE FROM cdp.events WHERE tenant_id = :tid;
SELECT count(*) AS constraints_left FROM pg_constraint WHERE conname LIKE 'r49c%';
