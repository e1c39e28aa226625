-- cdp.ingest / cdp.ingest_batch: write-key authentication, every message
-- type, what is stored, and the reading functions cdp.lookup / cdp.profile.
SELECT cdp.create_tenant('ing-basic', '{"default_country": "DE"}') > 0 AS created;
SELECT cdp.create_source('ing-basic', 'web') AS key \gset
SELECT cdp.create_source('ing-basic', 'crm', 'server') AS crm_key \gset
CREATE FUNCTION pg_temp.tid() RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = 'ing-basic' $$;

-- Authentication: NULLs, malformed, unknown, rotated and disabled keys are
-- errors (nothing stored), with SQLSTATE 22004 for NULL and 28000 for keys.
SELECT cdp_test.error_of($$SELECT cdp.ingest(NULL, '{"type": "track"}')$$);
SELECT cdp_test.error_of($$SELECT cdp.ingest('x', NULL)$$);
SELECT cdp_test.error_of($$SELECT * FROM cdp.ingest_batch(NULL, '[]')$$);
SELECT cdp_test.error_of($$SELECT * FROM cdp.ingest_batch('x', NULL)$$);
SELECT cdp_test.error_of($$SELECT cdp.ingest('not-a-key', '{"type": "track", "event": "e", "userId": "u"}')$$);
SELECT cdp_test.error_of($$SELECT cdp.ingest('cdpk_1_00', '{"type": "track", "event": "e", "userId": "u"}')$$);
SELECT cdp_test.error_of(format($$SELECT cdp.ingest('cdpk_%s_%s', '{"type": "track", "event": "e", "userId": "u"}')$$,
                                pg_temp.tid(), repeat('ab', 24)));
SELECT cdp_test.error_of($$SELECT cdp.ingest('cdpk_99999999999_' || repeat('ab', 24), '{"type": "track", "event": "e", "userId": "u"}')$$);
SELECT cdp.rotate_write_key('ing-basic', 'crm') AS new_crm_key \gset
SELECT cdp_test.error_of(format($$SELECT cdp.ingest(%L, '{"type": "track", "event": "e", "userId": "u"}')$$, :'crm_key')) AS old_key;
SELECT cdp.set_source_enabled('ing-basic', 'crm', false);
SELECT cdp_test.error_of(format($$SELECT cdp.ingest(%L, '{"type": "track", "event": "e", "userId": "u"}')$$, :'new_crm_key')) AS disabled;
SELECT count(*) AS stored_after_auth_errors FROM cdp.events WHERE tenant_id = pg_temp.tid();
-- A key that just worked (and is cached by this backend) stops working as
-- soon as its source is disabled or the key rotated, even inside the same transaction.
SELECT cdp.create_tenant('ing-cache') > 0 AS created;
SELECT cdp.create_source('ing-cache', 'cached') AS cached_key \gset
SELECT set_config('cdp_test.cached_key', :'cached_key', false) IS NOT NULL AS key_set;
CREATE FUNCTION pg_temp.send_cached(n text) RETURNS text LANGUAGE sql AS $$
  SELECT cdp_test.error_of(format('SELECT cdp.ingest(%L, %L)', current_setting('cdp_test.cached_key'),
         jsonb_build_object('type', 'track', 'event', 'Cached', 'userId', 'cache-user', 'messageId', n,
                            'timestamp', '2026-03-03T00:00:00Z')))
$$;
SELECT pg_temp.send_cached('cache-1') AS works;
SELECT cdp.set_source_enabled('ing-cache', 'cached', false);
SELECT pg_temp.send_cached('cache-2') AS after_disable;
SELECT cdp.set_source_enabled('ing-cache', 'cached', true);
SELECT pg_temp.send_cached('cache-3') AS after_enable;
BEGIN;
SELECT cdp.set_source_enabled('ing-cache', 'cached', false);
SELECT pg_temp.send_cached('cache-4') AS disabled_in_this_transaction;
ROLLBACK;
SELECT pg_temp.send_cached('cache-5') AS after_rollback;
SELECT cdp.rotate_write_key('ing-cache', 'cached') IS NOT NULL AS rotated;
SELECT pg_temp.send_cached('cache-6') AS after_rotation;
SELECT string_agg(message_id, ', ' ORDER BY message_id) AS stored FROM cdp.events
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'ing-cache');

-- Every message type is accepted; the result names the message.
SELECT message_id, status, profile_id IS NOT NULL AS has_profile, event_id IS NOT NULL AS has_event, error, sqlstate
  FROM cdp.ingest_batch(:'key', $$[
  {"type": "page", "anonymousId": "anon-1", "name": "Home", "properties": {"path": "/"}, "messageId": "b-1", "timestamp": "2026-03-01T10:00:00Z"},
  {"type": "track", "anonymousId": "anon-1", "event": "Viewed", "properties": {"sku": "p1"}, "messageId": "b-2", "timestamp": "2026-03-01T10:01:00Z"},
  {"type": "identify", "anonymousId": "anon-1", "userId": "user-1", "traits": {"email": " Ana@Example.org ", "phone": "030 1234567", "plan": "free"}, "messageId": "b-3", "timestamp": "2026-03-01T10:02:00Z"},
  {"type": "screen", "userId": "user-1", "name": "Settings", "messageId": "b-4", "timestamp": "2026-03-01T10:03:00Z"},
  {"type": "group", "userId": "user-1", "groupId": "acme", "traits": {"name": "Acme", "email": "info@acme.example"}, "messageId": "b-5", "timestamp": "2026-03-01T10:04:00Z"},
  {"type": "alias", "userId": "user-1", "previousId": "anon-old", "messageId": "b-6", "timestamp": "2026-03-01T10:05:00Z"}
]$$);

-- One person: every message landed on one canonical profile.
SELECT count(DISTINCT coalesce(p.merged_into, p.profile_id)) AS canonical_profiles
  FROM cdp.events e JOIN cdp.profiles p ON p.tenant_id = e.tenant_id AND p.profile_id = e.profile_id
 WHERE e.tenant_id = pg_temp.tid();
SELECT event_type, event_name, user_id, anonymous_id, group_id, previous_id, event_time, properties, source_id IS NOT NULL AS has_source
  FROM cdp.events WHERE tenant_id = pg_temp.tid() ORDER BY event_time;
-- Identifiers: hashed only; the group's email is not the person's.
SELECT id_type, count(*) FROM cdp.identifiers WHERE tenant_id = pg_temp.tid() GROUP BY 1 ORDER BY 1;
SELECT count(*) AS raw_values_in_identifiers FROM cdp.identifiers
 WHERE tenant_id = pg_temp.tid() AND (id_hash::text LIKE '%ana%' OR length(id_hash) <> 32);
SELECT group_id, traits, trait_times FROM cdp.groups WHERE tenant_id = pg_temp.tid();

-- lookup: raw identifiers in any spelling find the canonical profile.
SELECT cdp.lookup('ing-basic', 'email', 'ANA@example.org') = cdp.lookup('ing-basic', 'user_id', 'user-1') AS email_finds_user,
       cdp.lookup('ing-basic', 'phone', '+49 30 1234567') = cdp.lookup('ing-basic', 'user_id', 'user-1') AS phone_e164,
       cdp.lookup('ing-basic', 'anonymous_id', 'anon-1') = cdp.lookup('ing-basic', 'user_id', 'user-1') AS anon_merged,
       cdp.lookup('ing-basic', 'anonymous_id', 'anon-old') = cdp.lookup('ing-basic', 'user_id', 'user-1') AS alias_linked,
       cdp.lookup('ing-basic', 'email', 'info@acme.example') IS NULL AS group_email_not_person,
       cdp.lookup('ing-basic', 'user_id', 'nobody') IS NULL AS unknown_is_null,
       cdp.lookup('ing-basic', 'user_id', 'undefined') IS NULL AS blocked_is_null;
SELECT cdp_test.error_of($$SELECT cdp.lookup('no-such-tenant', 'user_id', 'x')$$);
SELECT cdp_test.error_of($$SELECT cdp.lookup(NULL, 'user_id', 'x')$$);
SELECT cdp_test.error_of($$SELECT cdp.lookup('ing-basic', NULL, 'x')$$);
SELECT cdp_test.error_of($$SELECT cdp.lookup('ing-basic', 'User Id', 'x')$$);

-- profile: the 360 view, reached from any profile id of the person.
SELECT p - '{profile_id,requested_profile_id,first_seen_at,last_seen_at,created_at,updated_at,identifiers,merged_profile_ids}'::text[] AS profile,
       jsonb_array_length(p->'identifiers') AS identifiers,
       jsonb_array_length(p->'merged_profile_ids') AS merged_profiles,
       (p->>'profile_id')::bigint = cdp.lookup('ing-basic', 'user_id', 'user-1') AS canonical
  FROM cdp.profile('ing-basic', (SELECT min(profile_id) FROM cdp.events WHERE tenant_id = pg_temp.tid())) p;
SELECT cdp.profile('ing-basic', -1) IS NULL AS unknown_profile_is_null;
SELECT cdp_test.error_of($$SELECT cdp.profile('ing-basic', NULL)$$);

-- Functions: definer rights and pinned search_path for ingestion, invoker for reading.
SELECT p.oid::regprocedure AS function, p.prosecdef AS definer, p.proconfig
  FROM pg_proc p WHERE p.pronamespace = 'cdp'::regnamespace AND p.proname IN ('ingest', 'ingest_batch', 'lookup', 'profile')
 ORDER BY 1::text;
SELECT r AS role, has_function_privilege(r, 'cdp.ingest(text, jsonb)', 'EXECUTE') AS ingest,
       has_function_privilege(r, 'cdp.ingest_batch(text, jsonb)', 'EXECUTE') AS ingest_batch,
       has_function_privilege(r, 'cdp.lookup(text, text, text)', 'EXECUTE') AS lookup
  FROM unnest(ARRAY['cdp_admin', 'cdp_writer', 'cdp_reader', 'cdp_compliance']) r ORDER BY 1;

-- A writer role ingests through the function without any table privilege.
CREATE ROLE ing_basic_app LOGIN IN ROLE cdp_writer;
SET ROLE ing_basic_app;
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "From App", "userId": "user-1", "messageId": "app-1", "timestamp": "2026-03-02T00:00:00Z"}');
RESET ROLE;
SELECT has_table_privilege('ing_basic_app', 'cdp.events', 'SELECT') AS app_reads_events,
       has_table_privilege('ing_basic_app', 'cdp.events', 'INSERT') AS app_inserts_events;
DROP ROLE ing_basic_app;
