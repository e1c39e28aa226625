-- A data error that validation did not foresee (here: a trigger a DBA added
-- on cdp.groups) rejects only its message: the batch is run again message by
-- message, each in its own subtransaction, and the message is quarantined with
-- the error's SQLSTATE. Any other error (not a data error) fails the call, and
-- nothing of the batch is stored.
SELECT cdp.create_tenant('ing-unexpected') > 0 AS created;
SELECT cdp.create_source('ing-unexpected', 'web') AS key \gset
CREATE FUNCTION pg_temp.tid() RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = 'ing-unexpected' $$;
CREATE FUNCTION public.cdp_test_group_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.group_id = 'boom' THEN
    RAISE EXCEPTION 'group boom is not allowed here' USING ERRCODE = 'check_violation';
  END IF;
  IF NEW.group_id = 'fatal' THEN
    RAISE EXCEPTION 'not a data error' USING ERRCODE = 'insufficient_privilege';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER cdp_test_group_guard BEFORE INSERT ON cdp.groups
  FOR EACH ROW EXECUTE FUNCTION public.cdp_test_group_guard();

SELECT message_id, status, sqlstate, error FROM cdp.ingest_batch(:'key', '[
  {"type": "track", "event": "Before", "userId": "u1", "messageId": "x-1", "timestamp": "2026-02-01T00:00:00Z"},
  {"type": "group", "userId": "u1", "groupId": "boom", "messageId": "x-2", "timestamp": "2026-02-01T00:00:01Z"},
  {"type": "group", "userId": "u1", "groupId": "fine", "messageId": "x-3", "timestamp": "2026-02-01T00:00:02Z"},
  {"type": "identify", "userId": "u2", "traits": {"plan": "pro"}, "messageId": "x-4", "timestamp": "2026-02-01T00:00:03Z"}
]');
SELECT message_id FROM cdp.events WHERE tenant_id = pg_temp.tid() ORDER BY message_id;
SELECT message_id, sqlstate, reason, payload->>'groupId' AS group_id FROM cdp.quarantine WHERE tenant_id = pg_temp.tid();
-- The rejected message did not claim its messageId: fixed, it goes in.
SELECT message_id, status FROM cdp.ingest(:'key', '{"type": "group", "userId": "u1", "groupId": "boom-fixed", "messageId": "x-2", "timestamp": "2026-02-01T00:00:01Z"}');
-- The same for a single message.
SELECT message_id, status, sqlstate FROM cdp.ingest(:'key', '{"type": "group", "userId": "u1", "groupId": "boom", "messageId": "x-5", "timestamp": "2026-02-01T00:00:05Z"}');

-- Not a data error: the call fails and stores nothing.
SELECT cdp_test.error_of(format($$SELECT * FROM cdp.ingest_batch(%L, '[
  {"type": "track", "event": "Lost", "userId": "u3", "messageId": "y-1", "timestamp": "2026-02-01T00:00:00Z"},
  {"type": "group", "userId": "u3", "groupId": "fatal", "messageId": "y-2", "timestamp": "2026-02-01T00:00:01Z"}]')$$, :'key'));
SELECT count(*) AS stored_of_failed_call FROM cdp.events WHERE tenant_id = pg_temp.tid() AND message_id LIKE 'y-%';
SELECT cdp.lookup('ing-unexpected', 'user_id', 'u3') IS NULL AS no_profile_of_failed_call;

DROP TRIGGER cdp_test_group_guard ON cdp.groups;
DROP FUNCTION public.cdp_test_group_guard();
