-- bench/sql/reading_functions_cost.sql — cdp.lookup and cdp.profile as a granted reader
-- (review 2, P1: invoker functions over internal views vs the former definer ones).
-- Run with psql in a scratch database where cdp is installed:
--   psql -X -d DB -f bench/sql/reading_functions_cost.sql | grep Time
-- One tenant of 20 000 consented profiles with an email each; 5 000 calls per query.
\set QUIET on
SET client_min_messages = warning;
SELECT cdp.create_tenant('ex') AS t \gset
DO $$ BEGIN CREATE ROLE ex_bi IN ROLE cdp_reader; EXCEPTION WHEN duplicate_object THEN NULL; END $$;
SELECT cdp.grant_access('ex_bi', 'ex');
INSERT INTO cdp.profiles (tenant_id, profile_id, traits) SELECT :t, g, jsonb_build_object('email', 'u'||g||'@x.com', 'plan', 'pro') FROM generate_series(1, 20000) g;
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) SELECT :t, 'email', cdp._identifier_hash(:t, 'email', 'u'||g||'@x.com'), g FROM generate_series(1, 20000) g;
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) SELECT :t, g, 'analytics', 'granted' FROM generate_series(1, 20000) g;
ANALYZE cdp.identifiers; ANALYZE cdp.profiles; ANALYZE cdp.consent_current;
SET ROLE ex_bi;
SET jit = off;
\timing on
SELECT count(cdp.lookup('ex', 'email', 'u'||g||'@x.com')) AS lookups FROM generate_series(1, 5000) g;
SELECT count(cdp.lookup('ex', 'email', 'u'||g||'@x.com')) AS lookups FROM generate_series(1, 5000) g;
SELECT count(cdp.profile('ex', g)) AS profiles FROM generate_series(1, 5000) g;
SELECT count(cdp.profile('ex', g)) AS profiles FROM generate_series(1, 5000) g;
