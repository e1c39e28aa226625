-- A context.externalIds entry of Segment's "accounts" collection names a
-- company ({"type": "group_id", "collection": "accounts"}), not a person: it
-- is not an identifier, so two anonymous visitors from the same company stay
-- two people. Entries of the "users" collection (any case), or without a
-- collection, are identifiers as before. Review 8: on main the account id was
-- a "group_id" identifier and merged everyone who carried it.
SELECT cdp.create_tenant('ext-accounts') > 0 AS created;
SELECT cdp.create_source('ext-accounts', 'web') AS key \gset
CREATE FUNCTION pg_temp.tid() RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = 'ext-accounts' $$;

SELECT message_id, status, sqlstate FROM cdp.ingest_batch(:'key', '[
  {"type": "page", "anonymousId": "ea-visitor-1", "messageId": "ea-1", "timestamp": "2026-05-01T00:00:00Z",
   "context": {"externalIds": [{"id": "acme", "type": "group_id", "collection": "accounts", "encoding": "none"}]}},
  {"type": "page", "anonymousId": "ea-visitor-2", "messageId": "ea-2", "timestamp": "2026-05-01T00:01:00Z",
   "context": {"externalIds": [{"id": "acme", "type": "group_id", "collection": "accounts", "encoding": "none"}]}},
  {"type": "page", "anonymousId": "ea-visitor-3", "messageId": "ea-3", "timestamp": "2026-05-01T00:02:00Z",
   "context": {"externalIds": [{"id": "ea-crm-3", "type": "crm_id", "collection": "Users", "encoding": "none"}]}},
  {"type": "page", "messageId": "ea-4", "timestamp": "2026-05-01T00:03:00Z",
   "context": {"externalIds": [{"id": "ea-crm-3", "type": "crm_id"}]}},
  {"type": "track", "event": "x", "messageId": "ea-5", "timestamp": "2026-05-01T00:04:00Z",
   "context": {"externalIds": [{"id": "acme", "type": "group_id", "collection": "accounts"}]}}]');
SELECT cdp.lookup('ext-accounts', 'anonymous_id', 'ea-visitor-1') <> cdp.lookup('ext-accounts', 'anonymous_id', 'ea-visitor-2') AS two_people,
       cdp.lookup('ext-accounts', 'group_id', 'acme') IS NULL AS account_not_an_identifier,
       cdp.lookup('ext-accounts', 'crm_id', 'ea-crm-3') = cdp.lookup('ext-accounts', 'anonymous_id', 'ea-visitor-3') AS users_collection_is;
SELECT e.profile_id = cdp.lookup('ext-accounts', 'anonymous_id', 'ea-visitor-3') AS no_collection_is
  FROM cdp.events e WHERE e.tenant_id = pg_temp.tid() AND e.message_id = 'ea-4';
SELECT id_type, count(*) FROM cdp.identifiers WHERE tenant_id = pg_temp.tid() GROUP BY 1 ORDER BY 1;
