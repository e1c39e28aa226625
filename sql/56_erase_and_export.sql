-- cdp.export and cdp.erase as a compliance role: the whole resolved person
-- (merged profiles included), asked for by any of its identifiers; a receipt
-- with counts, also in the audit log, never with the raw value; suppression
-- of every identifier hash of the person and of the one asked for; another
-- person and another tenant untouched; tenant isolation of the calls.
GRANT USAGE ON SCHEMA cdp_test TO PUBLIC;
SELECT cdp.create_tenant('er-a') AS ta \gset
SELECT cdp.create_tenant('er-b') AS tb \gset
CREATE ROLE r56_dpo IN ROLE cdp_compliance;
CREATE ROLE r56_dpo_b IN ROLE cdp_compliance;
CREATE ROLE r56_admin IN ROLE cdp_admin;
SELECT cdp.grant_access('r56_dpo', 'er-a');
SELECT cdp.grant_access('r56_dpo_b', 'er-b');

-- Person: 5601 canonical, 5602 merged into it (an earlier anonymous visit).
-- Another person 5603 in er-a; 5604 in er-b with the same email.
INSERT INTO cdp.profiles (tenant_id, profile_id, merged_into, traits) VALUES
  (:ta, 5601, NULL, '{"email": "zoe@example.com", "plan": "pro"}'),
  (:ta, 5602, 5601, '{}'),
  (:ta, 5603, NULL, '{"email": "yan@example.com"}'),
  (:tb, 5604, NULL, '{"email": "zoe@example.com"}');
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'zoe@example.com'), 5601),
  (:ta, 'anonymous_id', cdp._identifier_hash(:ta, 'anonymous_id', 'anon-zoe'), 5601),
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'yan@example.com'), 5603),
  (:tb, 'email', cdp._identifier_hash(:tb, 'email', 'zoe@example.com'), 5604);
INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, event_name) VALUES
  (:ta, '2026-05-01', 560101, 5601, 1, 'z1', 'identify', NULL),
  (:ta, '1990-01-01', 560201, 5602, 1, 'z2', 'page', 'Home'),
  (:ta, '2026-05-02', 560301, 5603, 1, 'y1', 'track', 'Signed Up'),
  (:tb, '2026-05-01', 560401, 5604, 1, 'z1', 'identify', NULL);
INSERT INTO cdp.merges (tenant_id, winner_id, loser_id, trigger_id_type, message_id) VALUES (:ta, 5601, 5602, 'email', 'z1');
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 5601, 'analytics', 'granted', '2026-01-01'), (:ta, 5602, 'marketing', 'denied', '2026-01-02');
INSERT INTO cdp.quarantine (tenant_id, message_id, payload, reason, sqlstate, id_hashes) VALUES
  (:ta, 'zq', '{"userId": 7}', 'bad type', '22023', ARRAY[cdp._identifier_hash(:ta, 'anonymous_id', 'anon-zoe')]),
  (:ta, 'gq', '{"email": "ghost@example.com"}', 'bad type', '22023', ARRAY[cdp._identifier_hash(:ta, 'email', 'ghost@example.com')]);

-- Export by the anonymous id finds the whole person.
SET ROLE r56_dpo;
SELECT doc->'profile_id' AS profile_id, doc->'requested' AS requested, doc->'suppressed' AS suppressed,
       jsonb_path_query_array(doc, '$.profiles[*].profile_id') AS profiles,
       jsonb_path_query_array(doc, '$.identifiers[*].id_type') AS identifier_types,
       jsonb_path_query_array(doc, '$.events[*].event_id') AS events,
       jsonb_path_query_array(doc, '$.consent_ledger[*].decision') AS ledger,
       doc->'consent_current' AS consent_current,
       jsonb_path_query_array(doc, '$.merges[*].loser_id') AS merges,
       jsonb_path_query_array(doc, '$.quarantine[*].message_id') AS quarantine,
       doc->'profiles'->0->'traits' AS traits
  FROM cdp.export('er-a', 'anonymous_id', 'anon-zoe') doc;
SELECT cdp.export('er-a', 'email', 'nobody@example.com') - 'exported_at' - 'note' AS unknown_person;
-- isolation and argument errors
SELECT cdp_test.error_of($$SELECT cdp.export('er-b', 'email', 'zoe@example.com')$$) AS other_tenant;
SELECT cdp_test.error_of($$SELECT cdp.erase('er-b', 'email', 'zoe@example.com')$$) AS erase_other_tenant;
SELECT cdp_test.error_of($$SELECT cdp.erase('no-such-tenant', 'email', 'zoe@example.com')$$) AS unknown_tenant;
SELECT cdp_test.error_of($$SELECT cdp.erase('er-a', 'email', 'undefined')$$) AS blocked_value;
SELECT cdp_test.error_of($$SELECT cdp.erase('er-a', NULL, 'zoe@example.com')$$) AS null_type;
SELECT cdp_test.error_of($$SELECT cdp.erase(NULL, 'email', 'zoe@example.com')$$) AS null_tenant;

-- Erasure needs READ COMMITTED (a snapshot taken before it waits for
-- ingestion in flight would miss that ingestion's rows).
BEGIN ISOLATION LEVEL REPEATABLE READ;
SELECT cdp_test.error_of($$SELECT cdp.erase('er-a', 'email', 'zoe@example.com')$$) AS repeatable_read;
ROLLBACK;

-- Erase by email: one call, the whole person.
SELECT cdp.erase('er-a', 'email', ' ZOE@example.com') - 'erased_at' AS receipt;
RESET ROLE;

SELECT 'profiles' AS tbl, count(*) FROM cdp.profiles WHERE tenant_id = :ta AND profile_id IN (5601, 5602)
UNION ALL SELECT 'identifiers', count(*) FROM cdp.identifiers WHERE tenant_id = :ta AND profile_id IN (5601, 5602)
UNION ALL SELECT 'events', count(*) FROM cdp.events WHERE tenant_id = :ta AND profile_id IN (5601, 5602)
UNION ALL SELECT 'merges', count(*) FROM cdp.merges WHERE tenant_id = :ta AND 5602 IN (winner_id, loser_id)
UNION ALL SELECT 'consent_ledger', count(*) FROM cdp.consent_ledger WHERE tenant_id = :ta AND profile_id IN (5601, 5602)
UNION ALL SELECT 'consent_current', count(*) FROM cdp.consent_current WHERE tenant_id = :ta AND profile_id IN (5601, 5602)
UNION ALL SELECT 'quarantine', count(*) FROM cdp.quarantine WHERE tenant_id = :ta AND message_id = 'zq'
UNION ALL SELECT 'suppressions', count(*) FROM cdp.suppressions WHERE tenant_id = :ta;
-- the same person's name in another tenant, and another person, are untouched
SELECT tenant_id = :ta AS tenant_a, profile_id FROM cdp.profiles WHERE tenant_id IN (:ta, :tb) ORDER BY 2;
SELECT count(*) AS suppressions_in_b FROM cdp.suppressions WHERE tenant_id = :tb;

-- Erasing someone unknown still suppresses the identifier and removes
-- quarantined payloads that carried it; erasing twice is harmless.
SET ROLE r56_dpo;
SELECT cdp.erase('er-a', 'email', 'ghost@example.com') - 'erased_at' AS receipt_unknown;
SELECT (cdp.erase('er-a', 'email', 'zoe@example.com') - 'erased_at')->'suppressed_identifiers' AS again;
SELECT cdp.export('er-a', 'email', 'zoe@example.com')->'suppressed' AS export_says_suppressed;
RESET ROLE;
SELECT count(*) AS suppressions_in_a, count(*) FILTER (WHERE id_hash = cdp._identifier_hash(:ta, 'email', 'ghost@example.com')) AS ghost
  FROM cdp.suppressions WHERE tenant_id = :ta;

-- The audit log has every call, by the compliance role, with no raw value.
SELECT action, current_user_name, args->'id_type' AS id_type, args->'person_found' AS found
  FROM cdp.audit_log WHERE tenant_id = :ta AND action IN ('erase', 'export') ORDER BY audit_id;
SELECT count(*) AS audit_rows_with_raw_values FROM cdp.audit_log
 WHERE args::text ~* '(zoe|ghost|nobody)@example|anon-zoe';

-- An administrator may erase in any tenant and gets 42704 for an unknown one.
SET ROLE r56_admin;
SELECT (cdp.erase('er-b', 'email', 'zoe@example.com') - 'erased_at')->'deleted'->'profiles' AS admin_erases_in_b;
SELECT cdp_test.error_of($$SELECT cdp.erase('no-such-tenant', 'email', 'zoe@example.com')$$) AS admin_unknown_tenant;
RESET ROLE;
