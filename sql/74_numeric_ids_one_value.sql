-- An id sent as a JSON number is its value: 12345, 12345.0 and 1.2345e4 are
-- one identifier (review 9, F7: they were three people), and events store it
-- written without trailing zeros. A string keeps its text: "12345.0" is
-- another identifier than the number.
SELECT cdp.create_tenant('numeric-ids') AS tid \gset
SELECT cdp.create_source('numeric-ids', 'app') AS key \gset
SELECT message_id, status, error FROM cdp.ingest_batch(:'key', '[
  {"type": "identify", "messageId": "n-1", "userId": 12345, "traits": {"plan": "pro"}},
  {"type": "track", "messageId": "n-2", "userId": 12345.0, "event": "Viewed"},
  {"type": "track", "messageId": "n-3", "userId": 1.2345e4, "event": "Viewed"},
  {"type": "track", "messageId": "n-4", "userId": "12345.0", "event": "Viewed"},
  {"type": "track", "messageId": "n-5", "anonymousId": 7.50, "event": "Viewed"}
]');
SELECT count(DISTINCT profile_id) AS profiles_of_the_number,
       count(*) FILTER (WHERE profile_id = cdp.lookup('numeric-ids', 'user_id', '12345')) AS events_on_it
  FROM cdp.events WHERE tenant_id = :tid AND message_id IN ('n-1', 'n-2', 'n-3');
SELECT cdp.lookup('numeric-ids', 'user_id', '12345.0') <> cdp.lookup('numeric-ids', 'user_id', '12345') AS string_is_another;
SELECT message_id, user_id, anonymous_id FROM cdp.events WHERE tenant_id = :tid ORDER BY message_id;
-- A messageId sent as a number is deduplicated by its value too.
SELECT message_id, status FROM cdp.ingest(:'key', '{"type": "track", "messageId": 42.0, "userId": "u", "event": "E"}')
UNION ALL
SELECT message_id, status FROM cdp.ingest(:'key', '{"type": "track", "messageId": 42, "userId": "u", "event": "E"}');
