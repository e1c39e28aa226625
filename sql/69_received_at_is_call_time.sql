-- "The time received" is the clock when the ingest call began, not the
-- start of the caller's transaction: a message without a timestamp sent a
-- while into a transaction is dated then, and a device clock is corrected
-- against it (receivedAt - (sentAt - originalTimestamp)). Review 8: on main
-- both used now(), so they were off by the age of the caller's transaction.
SELECT cdp.create_tenant('recv-call') > 0 AS created;
SELECT cdp.create_source('recv-call', 'loader', 'import') AS key \gset
CREATE FUNCTION pg_temp.tid() RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = 'recv-call' $$;

BEGIN;
SELECT pg_sleep(1.2);
SELECT message_id, status FROM cdp.ingest(:'key', '{"type": "track", "event": "e", "userId": "rc-1", "messageId": "rc-1"}');
SELECT message_id, status FROM cdp.ingest_batch(:'key', '{"sentAt": "2026-05-01T12:00:10Z", "batch": [
  {"type": "track", "event": "e", "userId": "rc-1", "messageId": "rc-2", "originalTimestamp": "2026-05-01T12:00:00Z"}]}');
-- Both are dated at least 1.2 s after the transaction began, and no later than now.
SELECT message_id,
       event_time >= now() + interval '1.2 seconds' AS dated_at_the_call,
       event_time <= clock_timestamp() AS not_in_the_future,
       received_at >= now() + interval '1.2 seconds' AS received_at_the_call
  FROM cdp.events WHERE tenant_id = pg_temp.tid() AND message_id = 'rc-1';
SELECT message_id,
       event_time >= now() + interval '1.2 seconds' - interval '10 seconds' AS corrected_against_the_call,
       received_at >= now() + interval '1.2 seconds' AS received_at_the_call
  FROM cdp.events WHERE tenant_id = pg_temp.tid() AND message_id = 'rc-2';
SELECT message_id, received_at >= now() + interval '1.2 seconds' AS claimed_at_the_call
  FROM cdp.message_ids WHERE tenant_id = pg_temp.tid() ORDER BY message_id;
COMMIT;
