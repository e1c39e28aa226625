-- The reading functions check the caller's grant before they touch a
-- tenant: no keyed hash of a tenant the caller has no grant on (that was an
-- oracle for dictionary attacks on its emails), and the same 42501 for a
-- tenant that exists and one that does not (no probing of tenant names).
-- cdp.profile masks PII traits without see_pii, as the views do, and shows
-- identifier hashes to administrators and compliance only.
GRANT USAGE ON SCHEMA cdp_test TO PUBLIC;
SELECT cdp.create_tenant('acc49-a') AS ta \gset
SELECT cdp.create_tenant('acc49-b') AS tb \gset
SELECT cdp.create_source('acc49-a', 'web') AS key \gset
CREATE ROLE r49_bi IN ROLE cdp_reader;
CREATE ROLE r49_pii IN ROLE cdp_reader;
CREATE ROLE r49_app IN ROLE cdp_writer;
SELECT cdp.grant_access('r49_bi', 'acc49-a', 'analytics', false);
SELECT cdp.grant_access('r49_pii', 'acc49-a', 'analytics', true);
SELECT cdp.grant_access('r49_app', 'acc49-a');
INSERT INTO cdp.purposes (tenant_id, purpose) VALUES (:ta, 'analytics') ON CONFLICT DO NOTHING;
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"ann49","traits":{"email":"ann@x.com","plan":"pro"},
  "context":{"consent":{"categoryPreferences":{"analytics":true}}}}');
SELECT cdp.lookup('acc49-a', 'user_id', 'ann49') AS pid \gset

SELECT to_regprocedure('cdp._reader_hash(integer, text, text)') IS NULL AS reader_hash_dropped;

SET ROLE r49_bi;
SELECT cdp_test.error_of($$SELECT cdp._lookup_key('acc49-b', 'email', 'bob@x.com')$$) AS key_other_tenant;
SELECT cdp_test.error_of($$SELECT cdp._lookup_key('no-such-49', 'email', 'bob@x.com')$$) AS key_no_tenant;
SELECT cdp_test.error_of($$SELECT cdp.lookup('acc49-b', 'email', 'bob@x.com')$$) AS lookup_other_tenant;
SELECT cdp_test.error_of($$SELECT cdp.lookup('no-such-49', 'email', 'bob@x.com')$$) AS lookup_no_tenant;
SELECT cdp_test.error_of($$SELECT cdp.profile('acc49-b', 1)$$) AS profile_other_tenant;
SELECT cdp_test.error_of($$SELECT cdp.profile('no-such-49', 1)$$) AS profile_no_tenant;
SELECT cdp_test.error_of($$SELECT cdp._reader_tenant_id('acc49-b')$$) AS tenant_id_other;
-- its own tenant: answers, PII masked, no hashes
SELECT cdp.lookup('acc49-a', 'user_id', 'ann49') = :pid AS lookup_own;
SELECT p->'traits' AS traits, p->'trait_times' ? 'email' AS email_time_shown,
       jsonb_path_query_array(p->'identifiers', '$[*].id_type') AS id_types,
       jsonb_path_query_array(p->'identifiers', '$[*].id_hash') AS id_hashes
  FROM cdp.profile('acc49-a', :pid) p;
RESET ROLE;
SET ROLE r49_pii;
SELECT p->'traits' AS traits, jsonb_path_query_array(p->'identifiers', '$[*].id_hash') AS id_hashes
  FROM cdp.profile('acc49-a', :pid) p;
RESET ROLE;
-- a writer of the tenant: the same rules
SET ROLE r49_app;
SELECT cdp_test.error_of($$SELECT cdp.lookup('acc49-b', 'email', 'bob@x.com')$$) AS writer_other_tenant;
RESET ROLE;
-- the owner (administrator): 42704 for an unknown tenant, hashes shown
SELECT cdp_test.error_of($$SELECT cdp.lookup('no-such-49', 'email', 'bob@x.com')$$) AS admin_no_tenant;
SELECT jsonb_array_length(p->'identifiers') AS ids, p->'identifiers'->0->>'id_hash' IS NOT NULL AS hash_shown,
       p->'traits' AS traits
  FROM cdp.profile('acc49-a', :pid) p;
SELECT p.proconfig FROM pg_proc p WHERE p.oid = 'cdp.lookup(text, text, text)'::regprocedure;
