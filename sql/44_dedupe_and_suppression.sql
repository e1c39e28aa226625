-- Exact deduplication by (tenant, messageId) within the dedupe window, and
-- suppression of erased people (an identifier hash in cdp.suppressions).
SELECT cdp.create_tenant('dd') > 0 AS created;
SELECT cdp.create_tenant('dd-other') > 0 AS created_other;
SELECT cdp.create_source('dd', 'web') AS key \gset
SELECT cdp.create_source('dd', 'app') AS app_key \gset
SELECT cdp.create_source('dd-other', 'web') AS other_key \gset
CREATE FUNCTION pg_temp.tid(t text DEFAULT 'dd') RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = t $$;

-- Within one batch, across calls, across sources of the tenant: stored once.
SELECT message_id, status, event_id IS NOT NULL AS has_event_id
  FROM cdp.ingest_batch(:'key', '[
  {"type": "track", "event": "Buy", "userId": "u1", "messageId": "dup-1", "timestamp": "2026-06-01T00:00:00Z"},
  {"type": "track", "event": "Buy", "userId": "u1", "messageId": "dup-1", "timestamp": "2026-06-01T00:00:00Z"},
  {"type": "track", "event": "Buy again", "userId": "u1", "messageId": "dup-1", "timestamp": "2026-06-02T00:00:00Z"}
]');
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Buy", "userId": "u1", "messageId": "dup-1", "timestamp": "2026-06-01T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'app_key', '{"type": "track", "event": "Buy", "userId": "u1", "messageId": "dup-1", "timestamp": "2026-06-01T00:00:00Z"}');
-- The duplicate answer names the stored event.
SELECT d.event_id = e.event_id AS names_original
  FROM cdp.ingest(:'key', '{"type": "track", "event": "Buy", "userId": "u1", "messageId": "dup-1"}') d,
       cdp.events e WHERE e.tenant_id = pg_temp.tid() AND e.message_id = 'dup-1';
-- Another tenant may use the same messageId.
SELECT status AS other_tenant FROM cdp.ingest(:'other_key', '{"type": "track", "event": "Buy", "userId": "u1", "messageId": "dup-1", "timestamp": "2026-06-01T00:00:00Z"}');
SELECT count(*) AS stored FROM cdp.events WHERE tenant_id = pg_temp.tid() AND message_id = 'dup-1';
-- A duplicate does nothing: no identifier, no profile change.
SELECT status FROM cdp.ingest(:'key', '{"type": "identify", "userId": "u1", "anonymousId": "new-anon", "messageId": "dup-1"}');
SELECT cdp.lookup('dd', 'anonymous_id', 'new-anon') IS NULL AS duplicate_changed_nothing;

-- A rejected message does not claim its messageId: the corrected retry is accepted.
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "userId": "u1", "messageId": "fix-1"}');
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Fixed", "userId": "u1", "messageId": "fix-1", "timestamp": "2026-06-01T00:00:00Z"}');

-- The window: an entry older than settings.dedupe_window (default 7 days) no longer counts.
UPDATE cdp.message_ids SET received_at = received_at - interval '8 days' WHERE tenant_id = pg_temp.tid() AND message_id = 'dup-1';
SELECT status AS after_window FROM cdp.ingest(:'key', '{"type": "track", "event": "Buy", "userId": "u1", "messageId": "dup-1", "timestamp": "2026-06-01T00:00:00Z"}');
SELECT status AS right_after FROM cdp.ingest(:'key', '{"type": "track", "event": "Buy", "userId": "u1", "messageId": "dup-1", "timestamp": "2026-06-01T00:00:00Z"}');
SELECT cdp.create_tenant('dd-short', '{"dedupe_window": "1 hour"}') > 0 AS created_short;
SELECT cdp.create_source('dd-short', 'web') AS short_key \gset
SELECT status FROM cdp.ingest(:'short_key', '{"type": "track", "event": "E", "userId": "u1", "messageId": "s-1", "timestamp": "2026-06-01T00:00:00Z"}');
UPDATE cdp.message_ids SET received_at = received_at - interval '2 hours' WHERE tenant_id = pg_temp.tid('dd-short');
SELECT status AS short_window_expired FROM cdp.ingest(:'short_key', '{"type": "track", "event": "E", "userId": "u1", "messageId": "s-1", "timestamp": "2026-06-01T00:00:00Z"}');

-- Suppression: a message carrying any identifier of an erased person is
-- answered "suppressed" and nothing of it is stored.
INSERT INTO cdp.suppressions (tenant_id, id_type, id_hash)
VALUES (pg_temp.tid(), 'email', cdp._identifier_hash(pg_temp.tid(), 'email', 'gone@example.org'));
SELECT message_id, status, profile_id IS NOT NULL AS has_profile, event_id IS NOT NULL AS has_event FROM cdp.ingest_batch(:'key', '[
  {"type": "identify", "userId": "new-user", "traits": {"email": "GONE@example.org"}, "messageId": "sup-1", "timestamp": "2026-06-03T00:00:00Z"},
  {"type": "track", "event": "E", "anonymousId": "x", "context": {"traits": {"email": "gone@example.org "}}, "messageId": "sup-2", "timestamp": "2026-06-03T00:00:00Z"},
  {"type": "track", "event": "E", "userId": "kept", "messageId": "sup-3", "timestamp": "2026-06-03T00:00:00Z"}
]');
SELECT count(*) AS suppressed_stored FROM cdp.events WHERE tenant_id = pg_temp.tid() AND message_id IN ('sup-1', 'sup-2');
SELECT cdp.lookup('dd', 'user_id', 'new-user') IS NULL AS no_profile, cdp.lookup('dd', 'anonymous_id', 'x') IS NULL AS no_anon,
       (SELECT count(*) FROM cdp.message_ids WHERE tenant_id = pg_temp.tid() AND message_id IN ('sup-1', 'sup-2')) AS no_dedupe_entry;
-- Suppression is per tenant.
SELECT status AS other_tenant_not_suppressed FROM cdp.ingest(:'other_key', '{"type": "track", "event": "E", "userId": "u9", "traits": {"email": "gone@example.org"}, "messageId": "sup-1", "timestamp": "2026-06-03T00:00:00Z"}');
