-- A phone number in the tenant's blocked_values is blocked however it is
-- written: the list and the value are compared as E.164 numbers too, so the
-- placeholder number a form fills in cannot join strangers whatever spaces,
-- prefixes or national form it comes in. Review 8: on main only the exact
-- text (trimmed, any case) was blocked, and "+44 20 7946 0000" passed a list
-- holding "+442079460000".
SELECT cdp.create_tenant('blk-phone', '{"default_country": "GB",
  "blocked_values": ["+442079460000", "020 7946 1111", "n/a"]}') > 0 AS created;
CREATE FUNCTION pg_temp.tid() RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = 'blk-phone' $$;

SELECT v, cdp._normalize_identifier(pg_temp.tid(), 'phone', v) AS e164
  FROM (VALUES ('+442079460000'), ('+44 20 7946 0000'), ('020 7946 0000'), ('0044 (0)20 7946 0000'),
               ('020 7946 1111'), ('+44 20 7946 1111'), ('  +442079461111 '),
               ('020 7946 0001'), ('N/A')) p(v);
-- Other types keep comparing the text only.
SELECT cdp._normalize_identifier(pg_temp.tid(), 'user_id', '+44 20 7946 0000') AS user_id_not_blocked;

-- Through ingestion: two visitors with the placeholder number stay two people.
SELECT cdp.create_source('blk-phone', 'web') AS key \gset
SELECT message_id, status FROM cdp.ingest_batch(:'key', '[
  {"type": "identify", "anonymousId": "blk-a", "traits": {"phone": "020 7946 0000"}, "messageId": "blk-1", "timestamp": "2026-05-01T00:00:00Z"},
  {"type": "identify", "anonymousId": "blk-b", "traits": {"phone": "+44 20 7946 0000"}, "messageId": "blk-2", "timestamp": "2026-05-01T00:01:00Z"}]');
SELECT cdp.lookup('blk-phone', 'anonymous_id', 'blk-a') <> cdp.lookup('blk-phone', 'anonymous_id', 'blk-b') AS two_people,
       (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = pg_temp.tid() AND id_type = 'phone') AS phone_identifiers;
