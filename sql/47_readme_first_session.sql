-- The "first session" of README.md, statement for statement (test/scripts/readme_example.sh
-- checks that the two stay identical), so the newcomer's first example cannot rot.
-- an administrator creates a tenant and a source; the write key is shown once
SELECT cdp.create_tenant('my-shop', '{"default_country": "US"}') AS tenant_id \gset
SELECT cdp.create_source('my-shop', 'website', 'web') AS key \gset

-- an application sends events (any Segment or RudderStack SDK payload, unchanged)
SELECT message_id, status, error FROM cdp.ingest(:'key', '{"type": "identify", "messageId": "m-1",
  "userId": "u-42", "traits": {"email": "Ana@Example.org", "plan": "pro"}}');
SELECT message_id, status, error FROM cdp.ingest_batch(:'key', '{"batch": [
  {"type": "track", "messageId": "m-2", "anonymousId": "web-7", "event": "Product Viewed"},
  {"type": "alias", "messageId": "m-3", "userId": "u-42", "previousId": "web-7"},
  {"type": "track", "messageId": "m-2", "anonymousId": "web-7", "event": "Product Viewed"}]}');

-- who is ana@example.org? (identifiers are normalized before they are hashed)
SELECT cdp.lookup('my-shop', 'email', ' ana@EXAMPLE.org') = cdp.lookup('my-shop', 'user_id', 'u-42') AS same_person;
SELECT jsonb_pretty(cdp.profile('my-shop', cdp.lookup('my-shop', 'anonymous_id', 'web-7')) -> 'traits');
