-- Two small input cases of reviews 8 and 9. An identify whose "traits" is an
-- empty object takes its traits from context.traits, as one without "traits"
-- does (they were dropped); top-level traits that are not empty still win.
-- A groupId of only spaces names no group: a group message with it is
-- rejected as having no groupId (2203A, quarantined), and another message
-- stores no group for it (it made a cdp.groups row keyed by spaces).
SELECT cdp.create_tenant('empty-traits') AS tid \gset
SELECT cdp.create_source('empty-traits', 'app') AS key \gset

SELECT message_id, status, error FROM cdp.ingest_batch(:'key', '[
  {"type": "identify", "messageId": "et-1", "userId": "u-ctx", "traits": {},
   "context": {"traits": {"plan": "pro", "email": "Ctx@Example.org"}}},
  {"type": "identify", "messageId": "et-2", "userId": "u-top", "traits": {"plan": "free"},
   "context": {"traits": {"plan": "pro"}}},
  {"type": "identify", "messageId": "et-3", "userId": "u-none", "traits": {}},
  {"type": "group", "messageId": "et-4", "userId": "u-ctx", "groupId": "   ", "traits": {"name": "Blank"}},
  {"type": "group", "messageId": "et-5", "userId": "u-ctx", "groupId": "\t"},
  {"type": "track", "messageId": "et-6", "userId": "u-ctx", "event": "Viewed", "groupId": "  "},
  {"type": "group", "messageId": "et-7", "userId": "u-ctx", "groupId": " g-1 ", "traits": {"name": "Acme"}}
]');

-- Profile traits: from context.traits beside {}; the top level's otherwise.
SELECT 'u-ctx' AS who, cdp.profile('empty-traits', cdp.lookup('empty-traits', 'user_id', 'u-ctx')) -> 'traits' ->> 'plan' AS plan
UNION ALL
SELECT 'u-top', cdp.profile('empty-traits', cdp.lookup('empty-traits', 'user_id', 'u-top')) -> 'traits' ->> 'plan'
UNION ALL
SELECT 'u-none', cdp.profile('empty-traits', cdp.lookup('empty-traits', 'user_id', 'u-none')) ->> 'traits';
-- context.traits' email was an identifier of the same person all along.
SELECT cdp.lookup('empty-traits', 'email', 'ctx@example.org') = cdp.lookup('empty-traits', 'user_id', 'u-ctx') AS same_person;
-- The stored events: traits as resolved, group_id NULL for spaces, as sent otherwise.
SELECT message_id, event_type, traits, group_id FROM cdp.events WHERE tenant_id = :tid ORDER BY message_id;
-- The blank groups were quarantined with their payload; only g-1 is a group.
SELECT payload ->> 'messageId' AS message_id, sqlstate, reason FROM cdp.quarantine WHERE tenant_id = :tid ORDER BY 1;
SELECT group_id, traits FROM cdp.groups WHERE tenant_id = :tid;
