-- The psql examples of docs/ingestion.md and docs/identity.md, in order
-- (test/scripts/docs_examples.sh checks they are the same statements).
SELECT cdp.create_tenant('docs-shop', '{"default_country": "GB"}') > 0 AS created;
SELECT cdp.create_source('docs-shop', 'website', 'web') AS key \gset
SELECT message_id, status, error, sqlstate
  FROM cdp.ingest_batch(:'key', '{"sentAt": "2026-03-01T12:00:05Z", "batch": [
    {"type": "page", "anonymousId": "visitor-7", "name": "Home", "messageId": "doc-1",
     "originalTimestamp": "2026-03-01T12:00:00Z"},
    {"type": "identify", "anonymousId": "visitor-7", "userId": "cust-7",
     "traits": {"email": "Kim@Example.org", "phone": "020 7946 0007", "plan": "pro"},
     "messageId": "doc-2", "timestamp": "2026-03-01T12:01:00Z"},
    {"type": "track", "userId": "cust-7", "event": "Order Completed",
     "properties": {"revenue": 42}, "messageId": "doc-3", "timestamp": "2026-03-01T12:02:00Z"},
    {"type": "track", "userId": "cust-7", "messageId": "doc-4"}]}');
SELECT message_id, status, sqlstate, error
  FROM cdp.ingest(:'key', '{"type": "track", "event": "Late", "userId": "cust-7",
                            "messageId": "doc-5", "timestamp": "1969-07-20T20:17:00Z"}');
SELECT message_id, reason, sqlstate FROM cdp.quarantine
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'docs-shop') ORDER BY quarantine_id;
SELECT message_id, status FROM cdp.ingest(:'key', '{"type": "track", "userId": "cust-7", "event": "Order Completed",
                            "properties": {"revenue": 42}, "messageId": "doc-3", "timestamp": "2026-03-01T12:02:00Z"}');
SELECT cdp.lookup('docs-shop', 'email', '  KIM@example.org') = cdp.lookup('docs-shop', 'user_id', 'cust-7') AS same_person,
       cdp.lookup('docs-shop', 'phone', '+44 20 7946 0007') = cdp.lookup('docs-shop', 'user_id', 'cust-7') AS phone_matches;
SELECT status FROM cdp.ingest(:'key', '{"type": "identify", "userId": "cust-7", "traits": {"plan": "free", "city": "York"},
                                        "messageId": "doc-6", "timestamp": "2026-02-01T00:00:00Z"}');
SELECT traits FROM cdp.profiles
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'docs-shop')
   AND profile_id = cdp.lookup('docs-shop', 'user_id', 'cust-7');
SELECT status FROM cdp.ingest(:'key', '{"type": "identify", "userId": "cust-8", "anonymousId": "visitor-7",
                                        "messageId": "doc-7", "timestamp": "2026-03-02T00:00:00Z"}');
SELECT cdp.lookup('docs-shop', 'user_id', 'cust-8') <> cdp.lookup('docs-shop', 'user_id', 'cust-7') AS two_people;
SELECT id_type, reason, message_id FROM cdp.refused_links
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'docs-shop');
SELECT cdp.create_tenant('docs-b2b', '{"identifier_limits": {"user_id": null, "email": 1},
                                        "identifier_priority": ["email", "user_id", "custom", "anonymous_id"],
                                        "custom_identifiers": {"crm_id": "properties.crm.id"}}') > 0 AS created;
