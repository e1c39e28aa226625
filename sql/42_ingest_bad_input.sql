-- Bad input, one case per statement: a clear result (rejected, with reason
-- and SQLSTATE, and a quarantine row keeping the payload) or a clear error,
-- never a crash, and the good messages of a batch still go in.
SELECT cdp.create_tenant('ing-bad') > 0 AS created;
SELECT cdp.create_source('ing-bad', 'web') AS key \gset
CREATE FUNCTION pg_temp.tid() RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = 'ing-bad' $$;
-- One message through cdp.ingest: status, error, SQLSTATE.
CREATE FUNCTION pg_temp.one(msg text) RETURNS TABLE (status text, sqlstate text, error text)
LANGUAGE sql AS $$
  SELECT r.status, r.sqlstate, r.error FROM cdp.ingest(current_setting('cdp_test.key'), msg::jsonb) r
$$;
SELECT set_config('cdp_test.key', :'key', false) IS NOT NULL AS key_set;

-- A batch that is not an array or a {"batch": [...]} object is an error.
SELECT cdp_test.error_of(format($$SELECT * FROM cdp.ingest_batch(%L, '5')$$, :'key'));
SELECT cdp_test.error_of(format($$SELECT * FROM cdp.ingest_batch(%L, '"text"')$$, :'key'));
SELECT cdp_test.error_of(format($$SELECT * FROM cdp.ingest_batch(%L, 'null')$$, :'key'));
SELECT cdp_test.error_of(format($$SELECT * FROM cdp.ingest_batch(%L, '{"messages": []}')$$, :'key'));
SELECT cdp_test.error_of(format($$SELECT * FROM cdp.ingest_batch(%L, '{"batch": {"type": "track"}}')$$, :'key'));
SELECT count(*) AS empty_batch_results FROM cdp.ingest_batch(:'key', '[]');
SELECT count(*) AS empty_batch_object_results FROM cdp.ingest_batch(:'key', '{"batch": []}');

-- An array of non-objects: each element rejected (2203C), the good one accepted, order kept.
SELECT message_id, status, sqlstate, error
  FROM cdp.ingest_batch(:'key', '[1, "text", null, [], true, {"type": "track", "event": "ok", "userId": "u1", "messageId": "good-1", "timestamp": "2026-01-05T00:00:00Z"}]');

-- Missing, wrongly typed and unknown type.
SELECT * FROM pg_temp.one('{"userId": "u1", "event": "x", "messageId": "no-type"}');
SELECT * FROM pg_temp.one('{"type": 7, "userId": "u1", "messageId": "type-number"}');
SELECT * FROM pg_temp.one('{"type": "purchase", "userId": "u1", "messageId": "type-unknown"}');
SELECT * FROM pg_temp.one('{"type": "TRACK", "event": "Case", "userId": "u1", "messageId": "type-upper", "timestamp": "2026-01-05T00:00:00Z"}');

-- Wrong JSON types of fields.
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": {"id": 1}, "messageId": "uid-object"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": true, "messageId": "uid-bool"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": 12345, "messageId": "uid-number", "timestamp": "2026-01-05T00:00:00Z"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "properties": [1, 2], "messageId": "props-array"}');
SELECT * FROM pg_temp.one('{"type": "identify", "userId": "u1", "traits": "vip", "messageId": "traits-string"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "context": 5, "messageId": "context-number"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": {"a": 1}}');
SELECT * FROM pg_temp.one('{"type": "track", "userId": "u1", "messageId": "no-event"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": 42, "userId": "u1", "messageId": "event-number"}');
SELECT * FROM pg_temp.one('{"type": "group", "userId": "u1", "messageId": "no-group-id"}');
SELECT * FROM pg_temp.one('{"type": "alias", "userId": "u1", "messageId": "no-previous-id"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "context": {"externalIds": {"id": "1"}}, "messageId": "ext-not-array"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "context": {"externalIds": [{"id": "1", "type": "Bad Type!"}]}, "messageId": "ext-bad-type"}');

-- No identifier at all; only blocked identifiers.
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "messageId": "no-ids"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "undefined", "anonymousId": "", "traits": {"email": "null"}, "messageId": "only-blocked"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": " 0 ", "anonymousId": "ANONYMOUS", "messageId": "only-blocked-2"}');

-- messageId: 10 KB is rejected (22001); missing is generated from the content,
-- so a retried identical payload is still a duplicate.
SELECT * FROM pg_temp.one(format('{"type": "track", "event": "x", "userId": "u1", "messageId": "%s"}', repeat('m', 10240)));
SELECT message_id LIKE 'sha256:%' AS generated, length(message_id) AS len, status
  FROM cdp.ingest(:'key', '{"type": "track", "event": "No Id", "userId": "u1", "timestamp": "2026-01-05T00:00:00Z"}');
SELECT message_id LIKE 'sha256:%' AS generated, status
  FROM cdp.ingest(:'key', '{"type": "track", "event": "No Id", "userId": "u1", "timestamp": "2026-01-05T00:00:00Z"}');
SELECT status AS other_content_other_id
  FROM cdp.ingest(:'key', '{"type": "track", "event": "No Id", "userId": "u1", "timestamp": "2026-01-05T00:00:01Z"}');
SELECT status AS empty_message_id_generated
  FROM cdp.ingest(:'key', '{"type": "track", "event": "Empty Id", "userId": "u1", "messageId": "", "timestamp": "2026-01-05T00:00:00Z"}');

-- Timestamps: unparseable (22007), year 10000 and before 1970 (22008), offsets honoured.
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-words", "timestamp": "yesterday"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-number", "timestamp": 1700000000}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-feb-30", "timestamp": "2026-02-30T00:00:00Z"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-hour-25", "timestamp": "2026-02-01T25:00:00Z"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-10000", "timestamp": "10000-01-01T00:00:00Z"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-1969", "timestamp": "1969-12-31T23:59:59Z"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-sent-bad", "originalTimestamp": "2026-01-05T00:00:00Z", "sentAt": "soon"}');
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-skew-1969", "originalTimestamp": "1970-01-01T00:00:00Z", "sentAt": "2026-01-01T00:00:00Z", "receivedAt": "2025-12-31T00:00:00Z"}');
SELECT status FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-offset", "timestamp": "2026-01-05T12:00:00.5+02:00"}');
SELECT status FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-date", "timestamp": "2026-01-06"}');
SELECT status FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "ts-far-future", "timestamp": "2999-01-01T00:00:00Z"}');
SELECT message_id, event_time FROM cdp.events
 WHERE tenant_id = pg_temp.tid() AND message_id IN ('ts-offset', 'ts-date', 'ts-far-future') ORDER BY 1;

-- Event time per the spec: receivedAt - (sentAt - originalTimestamp); a batch-level sentAt counts.
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Skew", "userId": "u1", "messageId": "skew-1", "originalTimestamp": "2026-01-05T10:00:00Z", "sentAt": "2026-01-05T10:05:00Z", "receivedAt": "2026-01-05T09:10:00Z"}');
SELECT status FROM cdp.ingest_batch(:'key', '{"sentAt": "2026-01-05T10:05:00Z", "batch": [{"type": "track", "event": "Skew", "userId": "u1", "messageId": "skew-2", "originalTimestamp": "2026-01-05T10:00:00Z", "receivedAt": "2026-01-05T09:10:00Z"}]}');
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Orig", "userId": "u1", "messageId": "orig-only", "originalTimestamp": "2026-01-05T08:00:00Z"}');
SELECT message_id, event_time FROM cdp.events
 WHERE tenant_id = pg_temp.tid() AND message_id IN ('skew-1', 'skew-2', 'orig-only') ORDER BY 1;

-- NUL characters and lone surrogates cannot even become jsonb: the cast fails
-- before cdp is called, with PostgreSQL's own SQLSTATE.
SELECT cdp_test.error_of(format($$SELECT cdp.ingest(%L, '{"type": "track", "event": "a\u0000b", "userId": "u1"}'::jsonb)$$, :'key'));
SELECT cdp_test.error_of(format($$SELECT cdp.ingest(%L, '{"type": "track", "event": "\ud800", "userId": "u1"}'::jsonb)$$, :'key'));
SELECT cdp_test.error_of(format($$SELECT cdp.ingest(%L, '{"type": "track", "event": "\udc00\ud800", "userId": "u1"}'::jsonb)$$, :'key'));
-- A valid surrogate pair is fine.
SELECT status FROM pg_temp.one('{"type": "track", "event": "\ud83d\ude00", "userId": "u1", "messageId": "emoji", "timestamp": "2026-01-05T00:00:00Z"}');

-- Sizes: a 5 MB payload (54000, kept whole in quarantine), too many properties (2203E).
SELECT status, sqlstate, error
  FROM cdp.ingest(:'key', jsonb_build_object('type', 'track', 'event', 'Huge', 'userId', 'u1', 'messageId', 'huge-1',
                                             'properties', jsonb_build_object('blob', repeat('x', 5 * 1024 * 1024))));
SELECT length(payload->'properties'->>'blob') AS quarantined_blob_length
  FROM cdp.quarantine WHERE tenant_id = pg_temp.tid() AND message_id = 'huge-1';
SET cdp.max_payload_bytes = '8MB';
SELECT status FROM cdp.ingest(:'key', jsonb_build_object('type', 'track', 'event', 'Huge', 'userId', 'u1', 'messageId', 'huge-2',
                                      'timestamp', '2026-01-05T00:00:00Z', 'properties', jsonb_build_object('blob', repeat('x', 5 * 1024 * 1024))));
RESET cdp.max_payload_bytes;
SET cdp.max_properties = 3;
SELECT * FROM pg_temp.one('{"type": "track", "event": "x", "userId": "u1", "messageId": "many-props", "properties": {"a": 1, "b": 2, "c": 3, "d": 4}}');
RESET cdp.max_properties;

-- Quarantine: every rejected message is kept with source, reason, SQLSTATE and the hashes of its identifiers.
SELECT message_id, sqlstate, reason, coalesce(array_length(id_hashes, 1), 0) AS id_hashes, source_id IS NOT NULL AS has_source
  FROM cdp.quarantine WHERE tenant_id = pg_temp.tid() ORDER BY quarantine_id;
SELECT payload FROM cdp.quarantine WHERE tenant_id = pg_temp.tid() AND message_id = 'uid-object';
-- Nothing rejected was stored as an event.
SELECT count(*) AS rejected_but_stored FROM cdp.events e
  JOIN cdp.quarantine q ON q.tenant_id = e.tenant_id AND q.message_id = e.message_id
 WHERE e.tenant_id = pg_temp.tid();

-- 100 000 messages in one batch are accepted; one more than cdp.max_batch_messages is an error.
SELECT status, count(*) FROM cdp.ingest_batch(:'key',
  (SELECT jsonb_agg(jsonb_build_object('type', 'track', 'event', 'Bulk', 'anonymousId', 'bulk-' || (i % 100),
                                       'messageId', 'bulk-' || i, 'timestamp', '2026-01-07T00:00:00Z'))
     FROM generate_series(1, 100000) i)) GROUP BY 1;
SELECT count(*) AS bulk_events, count(DISTINCT profile_id) AS bulk_profiles
  FROM cdp.events WHERE tenant_id = pg_temp.tid() AND event_name = 'Bulk';
SET cdp.max_batch_messages = 10;
SELECT cdp_test.error_of(format($$SELECT * FROM cdp.ingest_batch(%L, (SELECT jsonb_agg(i) FROM generate_series(1, 11) i))$$, :'key'));
RESET cdp.max_batch_messages;
