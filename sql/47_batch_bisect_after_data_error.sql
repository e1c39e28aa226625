-- A data error that validation did not foresee, in a batch of more than 16
-- messages: the batch runs again in halves, each in bulk in its own
-- subtransaction, a failing half split again down to 16 messages, which run
-- one by one. Only the bad messages are rejected (quarantined with the
-- error's SQLSTATE); every other message is stored once, in order, with the
-- result row naming its stored event; their messageIds are claimed once.
-- The error comes from a trigger a DBA added on cdp.groups (as in
-- 47_batch_unexpected_errors).
SELECT cdp.create_tenant('ing-bisect') AS tid \gset
SELECT cdp.create_source('ing-bisect', 'web') AS key \gset
CREATE FUNCTION public.cdp_test_bisect_guard() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.group_id LIKE 'boom%' THEN
    RAISE EXCEPTION 'group % is not allowed here', NEW.group_id USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;
CREATE TRIGGER cdp_test_bisect_guard BEFORE INSERT ON cdp.groups
  FOR EACH ROW EXECUTE FUNCTION public.cdp_test_bisect_guard();

-- 100 messages of 10 people: groups at 7 (boom), 31 (boom), 32 (fine) and
-- 90 (boom), identify every tenth, track otherwise.
CREATE TEMP TABLE bisect_batch AS
SELECT jsonb_agg(CASE
         WHEN i IN (7, 31, 90) THEN jsonb_build_object('type', 'group', 'groupId', 'boom-' || i, 'userId', 'p' || (i % 10))
         WHEN i = 32 THEN jsonb_build_object('type', 'group', 'groupId', 'fine', 'userId', 'p' || (i % 10))
         WHEN i % 10 = 0 THEN jsonb_build_object('type', 'identify', 'userId', 'p' || (i % 10), 'traits', jsonb_build_object('n', i))
         ELSE jsonb_build_object('type', 'track', 'event', 'e', 'userId', 'p' || (i % 10), 'anonymousId', 'a' || i)
       END || jsonb_build_object('messageId', 'b-' || i,
                                 'timestamp', '2026-03-01T00:00:00Z'::timestamptz + i * interval '1 second')
       ORDER BY i) AS body
  FROM generate_series(1, 100) i;

CREATE TEMP TABLE bisect_result AS
SELECT r.ord, r.message_id, r.status, r.sqlstate, r.error, r.event_id, r.profile_id
  FROM bisect_batch b, cdp.ingest_batch(:'key', b.body) WITH ORDINALITY AS r(message_id, status, profile_id, event_id, error, sqlstate, ord);

-- one result per message, in order
SELECT count(*) AS results, bool_and(message_id = 'b-' || ord) AS in_order FROM bisect_result;
SELECT status, sqlstate, count(*) FROM bisect_result GROUP BY 1, 2 ORDER BY 1, 2;
SELECT message_id, error FROM bisect_result WHERE status = 'rejected' ORDER BY ord;
-- every accepted message stored once, as its result says; nothing else stored
SELECT count(*) AS events, count(DISTINCT e.message_id) AS distinct_messages,
       count(*) FILTER (WHERE r.event_id = e.event_id AND r.profile_id = e.profile_id AND r.status = 'accepted') AS matching_results
  FROM cdp.events e LEFT JOIN bisect_result r ON r.message_id = e.message_id
 WHERE e.tenant_id = :tid;
SELECT count(*) AS claimed_message_ids FROM cdp.message_ids WHERE tenant_id = :tid;
SELECT message_id, sqlstate FROM cdp.quarantine WHERE tenant_id = :tid ORDER BY message_id;
-- ten people, one profile each, one canonical; identify traits of the last identify
SELECT count(*) AS profiles FROM cdp.profiles WHERE tenant_id = :tid;
SELECT traits FROM cdp.profiles WHERE tenant_id = :tid AND profile_id = cdp.lookup('ing-bisect', 'user_id', 'p0');
SELECT group_id FROM cdp.groups WHERE tenant_id = :tid ORDER BY group_id;
-- the batch again: everything accepted before is a duplicate, the rejected ones are rejected again
SELECT r.status, count(*) FROM bisect_batch b, cdp.ingest_batch(:'key', b.body) r GROUP BY 1 ORDER BY 1;

DROP TRIGGER cdp_test_bisect_guard ON cdp.groups;
DROP FUNCTION public.cdp_test_bisect_guard();
