-- cdp.ingest claims a message's messageId with a plain INSERT (no ON
-- CONFLICT: no speculative insertion): before identity work takes any lock,
-- or for a known person in the statement that stores its event, ahead of its
-- last_seen_at update (review 3, H1). A messageId that is already taken
-- makes that INSERT fail; everything the message did (identity, traits,
-- last_seen_at, group, consent) is rolled back with its subtransaction and
-- it is answered 'duplicate', naming the stored event, exactly as with ON
-- CONFLICT.
SELECT cdp.create_tenant('dd44') AS tid \gset
SELECT cdp.create_source('dd44', 'web') AS key \gset
CREATE FUNCTION pg_temp.state(p_tid integer) RETURNS TABLE (profiles bigint, identifiers bigint, events bigint,
                                                            message_ids bigint, groups bigint, ledger bigint)
LANGUAGE sql AS $$
  SELECT (SELECT count(*) FROM cdp.profiles WHERE tenant_id = p_tid),
         (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = p_tid),
         (SELECT count(*) FROM cdp.events WHERE tenant_id = p_tid),
         (SELECT count(*) FROM cdp.message_ids WHERE tenant_id = p_tid),
         (SELECT count(*) FROM cdp.groups WHERE tenant_id = p_tid),
         (SELECT count(*) FROM cdp.consent_ledger WHERE tenant_id = p_tid)
$$;

-- The original: an identify of a new person (traits, email) with consent.
SELECT status, profile_id IS NOT NULL AS has_profile FROM cdp.ingest(:'key', '{"type": "identify", "userId": "ann",
  "traits": {"email": "ann@example.org", "plan": "free"}, "messageId": "m44-1", "timestamp": "2026-06-01T00:00:00Z",
  "context": {"consent": {"categoryPreferences": {"analytics": true}}}}');
SELECT event_id AS original_event FROM cdp.events WHERE tenant_id = :tid AND message_id = 'm44-1' \gset
CREATE TEMP TABLE before44 AS SELECT * FROM pg_temp.state(:tid);
SELECT * FROM before44;
SELECT traits, first_seen_at, last_seen_at FROM cdp.profiles WHERE tenant_id = :tid
   AND profile_id = cdp.lookup('dd44', 'user_id', 'ann') \gset orig_

-- Retries of m44-1 that would each change something if they were accepted:
-- newer traits, a new anonymousId, a second email, consent withdrawn, an older
-- event time (first_seen_at), a new person, a group.
SELECT status, profile_id, event_id = :original_event AS names_original FROM cdp.ingest(:'key', '{"type": "identify",
  "userId": "ann", "anonymousId": "ann-phone", "traits": {"email": "ann@work.example", "plan": "pro"}, "messageId": "m44-1",
  "timestamp": "2026-07-01T00:00:00Z", "context": {"consent": {"categoryPreferences": {"analytics": false}}}}');
SELECT status, event_id = :original_event AS names_original
  FROM cdp.ingest(:'key', '{"type": "track", "event": "Old", "userId": "ann", "messageId": "m44-1", "timestamp": "2020-01-01T00:00:00Z"}');
SELECT status, event_id = :original_event AS names_original
  FROM cdp.ingest(:'key', '{"type": "page", "name": "Home", "userId": "bob", "anonymousId": "bob-anon", "messageId": "m44-1"}');
SELECT status, event_id = :original_event AS names_original
  FROM cdp.ingest(:'key', '{"type": "group", "groupId": "acme44", "userId": "ann", "traits": {"name": "Acme"}, "messageId": "m44-1"}');
-- A batch of one message takes the same path.
SELECT status, event_id = :original_event AS names_original
  FROM cdp.ingest_batch(:'key', '[{"type": "alias", "userId": "ann", "previousId": "ann-old", "messageId": "m44-1"}]');

-- Nothing changed.
SELECT (SELECT row(b.*) FROM before44 b) = (SELECT row(s.*) FROM pg_temp.state(:tid) s) AS counts_unchanged;
SELECT traits = :'orig_traits'::jsonb AS traits_unchanged, first_seen_at = :'orig_first_seen_at' AS first_seen_unchanged,
       last_seen_at = :'orig_last_seen_at' AS last_seen_unchanged
  FROM cdp.profiles WHERE tenant_id = :tid AND profile_id = cdp.lookup('dd44', 'user_id', 'ann');
SELECT cdp.lookup('dd44', 'anonymous_id', 'ann-phone') IS NULL AS no_anon, cdp.lookup('dd44', 'email', 'ann@work.example') IS NULL AS no_email,
       cdp.lookup('dd44', 'user_id', 'bob') IS NULL AS no_bob, cdp.lookup('dd44', 'anonymous_id', 'ann-old') IS NULL AS no_alias;
SELECT purpose, decision FROM cdp.consent_ledger WHERE tenant_id = :tid ORDER BY consent_id;

-- In one caller transaction: the repeat is a duplicate of the event stored
-- just before (not yet committed), and the transaction goes on.
BEGIN;
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Buy", "userId": "ann", "messageId": "m44-2", "timestamp": "2026-06-02T00:00:00Z"}');
SELECT status, event_id = (SELECT event_id FROM cdp.events WHERE tenant_id = :tid AND message_id = 'm44-2') AS names_first
  FROM cdp.ingest(:'key', '{"type": "track", "event": "Buy", "userId": "ann", "messageId": "m44-2", "timestamp": "2026-06-02T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type": "identify", "userId": "ann", "traits": {"plan": "team"}, "messageId": "m44-3", "timestamp": "2026-06-03T00:00:00Z"}');
COMMIT;
SELECT message_id, count(*) FROM cdp.events WHERE tenant_id = :tid AND message_id IN ('m44-2', 'm44-3') GROUP BY 1 ORDER BY 1;
SELECT traits->>'plan' AS plan FROM cdp.profiles WHERE tenant_id = :tid AND profile_id = cdp.lookup('dd44', 'user_id', 'ann');

-- A messageId first sent by a transaction that rolled back is free again.
BEGIN;
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Gone", "userId": "ann", "messageId": "m44-4", "timestamp": "2026-06-04T00:00:00Z"}');
ROLLBACK;
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Kept", "userId": "ann", "messageId": "m44-4", "timestamp": "2026-06-04T00:00:00Z"}');
SELECT event_name FROM cdp.events WHERE tenant_id = :tid AND message_id = 'm44-4';
