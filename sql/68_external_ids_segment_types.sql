-- context.externalIds with the type names Segment's own spec uses
-- ("ios.idfa", "android.id", "ios.push_token") and RudderStack's
-- ("HUBSPOT-contacts", lower-cased) are identifiers, not a reason to reject
-- the message: dots and hyphens are allowed in a type after its first letter.
-- Review 8: on main every such message was rejected (22023) and its event lost
-- to the quarantine.
SELECT cdp.create_tenant('ext-seg-types') > 0 AS created;
SELECT cdp.create_source('ext-seg-types', 'app', 'mobile') AS key \gset

SELECT message_id, status, sqlstate, error
  FROM cdp.ingest_batch(:'key', '[
    {"type": "identify", "userId": "es-1", "messageId": "es-1", "timestamp": "2026-05-01T00:00:00Z",
     "context": {"externalIds": [{"id": "6D92078A-8246-4BA4-AE5B-76104861E7DC", "type": "ios.idfa", "collection": "users", "encoding": "none"},
                                 {"id": "tok-1", "type": "ios.push_token", "collection": "users", "encoding": "none"}]}},
    {"type": "track", "event": "Opened", "anonymousId": "es-anon-2", "messageId": "es-2", "timestamp": "2026-05-01T00:01:00Z",
     "context": {"externalIds": [{"id": "a-9774d56d", "type": "android.id", "collection": "users", "encoding": "none"}]}},
    {"type": "track", "event": "Synced", "userId": "es-3", "messageId": "es-3", "timestamp": "2026-05-01T00:02:00Z",
     "context": {"externalIds": [{"id": "hs-3", "type": "HUBSPOT-contacts"}]}},
    {"type": "track", "event": "Again", "messageId": "es-4", "timestamp": "2026-05-01T00:03:00Z",
     "context": {"externalIds": [{"id": "6D92078A-8246-4BA4-AE5B-76104861E7DC", "type": "ios.idfa"}]}}]');

-- The identifiers are stored under those types and found by cdp.lookup.
SELECT id_type, count(*) FROM cdp.identifiers
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'ext-seg-types')
 GROUP BY id_type ORDER BY id_type;
SELECT cdp.lookup('ext-seg-types', 'ios.idfa', '6D92078A-8246-4BA4-AE5B-76104861E7DC') = cdp.lookup('ext-seg-types', 'user_id', 'es-1') AS idfa_is_es_1,
       cdp.lookup('ext-seg-types', 'android.id', 'a-9774d56d') = cdp.lookup('ext-seg-types', 'anonymous_id', 'es-anon-2') AS android_id_is_anon_2,
       cdp.lookup('ext-seg-types', 'hubspot-contacts', 'hs-3') = cdp.lookup('ext-seg-types', 'user_id', 'es-3') AS hubspot_is_es_3;
-- The message carrying only the IDFA went to the same person.
SELECT e.profile_id = cdp.lookup('ext-seg-types', 'user_id', 'es-1') AS idfa_only_message_on_es_1
  FROM cdp.events e
 WHERE e.tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'ext-seg-types') AND e.message_id = 'es-4';
SELECT count(*) AS quarantined FROM cdp.quarantine
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'ext-seg-types');

-- Still refused: a type that does not begin with a letter, or has spaces,
-- quotes or a colon (the colon separates type and value in the hashed text).
SELECT message_id, status, sqlstate, error
  FROM cdp.ingest_batch(:'key', '[
    {"type": "track", "event": "x", "userId": "es-5", "messageId": "es-5", "context": {"externalIds": [{"id": "1", "type": ".idfa"}]}},
    {"type": "track", "event": "x", "userId": "es-6", "messageId": "es-6", "context": {"externalIds": [{"id": "1", "type": "my id"}]}},
    {"type": "track", "event": "x", "userId": "es-7", "messageId": "es-7", "context": {"externalIds": [{"id": "1", "type": "a:b"}]}},
    {"type": "track", "event": "x", "userId": "es-8", "messageId": "es-8", "context": {"externalIds": [{"id": "1", "type": "-x"}]}}]');
SELECT cdp_test.error_of($$SELECT cdp.lookup('ext-seg-types', 'a:b', 'x')$$);
