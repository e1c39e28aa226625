-- profiles.last_seen_at follows every accepted event, not only identify: a
-- track-only customer survives inactive-profile retention (review: active
-- customers were purged). Through the one-statement fast path (known
-- person), the resolving path (a new identifier) and a batch. A message from
-- the future counts only up to the time received (+ 5 minutes of clock skew):
-- it cannot freeze traits or keep a profile active for ever.
SELECT cdp.create_tenant('seen48') AS tid \gset
SELECT cdp.create_source('seen48', 'web') AS key \gset

-- Three customers first seen in 2024, then active now by track/page/alias only.
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"fast","timestamp":"2024-01-01T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"slow","timestamp":"2024-01-01T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"batch","timestamp":"2024-01-01T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"gone","timestamp":"2024-01-01T00:00:00Z"}');
-- known person, nothing new: the fast path
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"fast"}');
-- a new anonymousId: the resolving path
SELECT status FROM cdp.ingest(:'key', '{"type":"page","name":"p","userId":"slow","anonymousId":"slow-anon"}');
-- a batch, twice the same person in one chunk
SELECT status FROM cdp.ingest_batch(:'key', '[{"type":"screen","name":"s","userId":"batch"},
  {"type":"group","groupId":"g48","userId":"batch","timestamp":"2024-06-01T00:00:00Z"}]');
SELECT u AS user_id, p.last_seen_at > now() - interval '1 day' AS seen_recently,
       p.first_seen_at = '2024-01-01T00:00:00Z' AS first_seen_kept
  FROM unnest(ARRAY['fast', 'slow', 'batch', 'gone']) u
  JOIN cdp.profiles p ON p.tenant_id = :tid AND p.profile_id = cdp.lookup('seen48', 'user_id', u)
 ORDER BY u;
-- An older event does not move last_seen_at back; it moves first_seen_at.
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"fast","timestamp":"2023-01-01T00:00:00Z"}');
SELECT last_seen_at > now() - interval '1 day' AS still_recent, first_seen_at = '2023-01-01T00:00:00Z' AS first_moved
  FROM cdp.profiles WHERE tenant_id = :tid AND profile_id = cdp.lookup('seen48', 'user_id', 'fast');

-- Retention of inactive profiles (365 days) purges only the inactive one.
BEGIN;
SELECT cdp.set_retention('seen48', 'inactive_profiles', '365 days') IS NOT NULL AS set;
SELECT cdp._retention_profiles(1000, 10) AS purged;
SELECT u AS user_id, cdp.lookup('seen48', 'user_id', u) IS NOT NULL AS still_there,
       (SELECT count(*) FROM cdp.events e WHERE e.tenant_id = :tid AND e.user_id = u) AS events
  FROM unnest(ARRAY['fast', 'slow', 'batch', 'gone']) u ORDER BY u;
ROLLBACK;

-- A future timestamp: traits and last_seen_at count it as "received now"
-- (plus cdp.max_clock_skew, 5 minutes by default: 0 here, so that the next
-- statement's "now" is later).
SET cdp.max_clock_skew = 0;
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"fut","traits":{"plan":"bogus"},"timestamp":"9999-01-01T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"fut","traits":{"plan":"real"},"timestamp":"2026-01-01T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"fut","traits":{"plan":"later"}}');
SELECT traits, last_seen_at <= now() AS last_seen_capped,
       (trait_times->>'plan')::timestamptz <= now() AS trait_time_capped
  FROM cdp.profiles WHERE tenant_id = :tid AND profile_id = cdp.lookup('seen48', 'user_id', 'fut');
-- the event itself keeps the time it was sent with
SELECT event_time FROM cdp.events WHERE tenant_id = :tid AND user_id = 'fut' ORDER BY event_time DESC LIMIT 1;
-- a group from the future does not freeze the group's traits either
SELECT status FROM cdp.ingest(:'key', '{"type":"group","groupId":"g-fut","userId":"fut","traits":{"tier":"bogus"},"timestamp":"9999-01-01T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"group","groupId":"g-fut","userId":"fut","traits":{"tier":"real"}}');
SELECT traits FROM cdp.groups WHERE tenant_id = :tid AND group_id = 'g-fut';
RESET cdp.max_clock_skew;
SHOW cdp.max_clock_skew;
