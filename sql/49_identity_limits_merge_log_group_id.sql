-- Identity fixes from the review.
-- 1. A profile with more than 32 identifier types still counts its user_id:
--    a second user_id is refused, not merged (types beyond 32 used to be
--    dropped from the count, and user_id, sorting last, was one of them).
-- 2. A merge row lists the identifiers it moved and the winner's traits
--    before the merge (what an undo needs).
-- 3. A groupId too long for cdp.groups' index is a clean per-message
--    rejection (22001), not an index error replaying the batch.
SELECT cdp.create_tenant('ids49') AS tid \gset
SELECT cdp.create_source('ids49', 'web') AS key \gset

SELECT status FROM cdp.ingest(:'key', jsonb_build_object('type', 'identify', 'userId', 'ua', 'context',
  jsonb_build_object('externalIds', (SELECT jsonb_agg(jsonb_build_object('type', 't' || lpad(g::text, 2, '0'), 'id', 'x' || g))
                                       FROM generate_series(1, 40) g))));
SELECT count(DISTINCT id_type) AS types FROM cdp.identifiers WHERE tenant_id = :tid;
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"ub"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"ub","context":{"externalIds":[{"type":"t01","id":"x1"}]}}');
SELECT cdp.lookup('ids49', 'user_id', 'ua') <> cdp.lookup('ids49', 'user_id', 'ub') AS two_profiles,
       (SELECT count(*) FROM cdp.merges WHERE tenant_id = :tid) AS merges;
SELECT id_type, reason FROM cdp.refused_links WHERE tenant_id = :tid;
-- the same in a batch
SELECT status FROM cdp.ingest_batch(:'key', '[{"type":"identify","userId":"uc"},
  {"type":"track","event":"e","userId":"uc","context":{"externalIds":[{"type":"t02","id":"x2"}]}}]');
SELECT cdp.lookup('ids49', 'user_id', 'ua') <> cdp.lookup('ids49', 'user_id', 'uc') AS still_two,
       (SELECT count(*) FROM cdp.merges WHERE tenant_id = :tid) AS merges;

-- A merge: an anonymous visitor (older) and a user, linked by identify.
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","anonymousId":"anon-m","traits":{"plan":"free"},"timestamp":"2026-01-01T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"user-m","traits":{"email":"m@x.com"},"timestamp":"2026-01-02T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"user-m","anonymousId":"anon-m","messageId":"link-m"}');
SELECT m.winner_id = cdp.lookup('ids49', 'anonymous_id', 'anon-m') AS winner_is_anon_profile,
       m.trigger_id_type, m.message_id, m.moved_id_types,
       m.moved_id_hashes = ARRAY[cdp._identifier_hash(:tid, 'email', 'm@x.com'),
                                 cdp._identifier_hash(:tid, 'user_id', 'user-m')] AS moved_hashes,
       m.winner_traits, m.winner_trait_times ? 'plan' AS winner_times
  FROM cdp.merges m WHERE m.tenant_id = :tid;

-- groupId length: 22001 for that message, the others of the batch accepted.
SELECT message_id, status, sqlstate, error FROM cdp.ingest_batch(:'key', jsonb_build_array(
  jsonb_build_object('type', 'group', 'userId', 'ua', 'groupId', 'g-ok', 'messageId', 'g1'),
  jsonb_build_object('type', 'group', 'userId', 'ua', 'groupId', repeat('g', 10000), 'messageId', 'g2'),
  jsonb_build_object('type', 'track', 'event', 'e', 'userId', 'ua', 'messageId', 'g3')));
SELECT status, sqlstate FROM cdp.ingest(:'key', jsonb_build_object('type', 'group', 'userId', 'ua', 'groupId', repeat('g', 1025)));
SET cdp.max_group_id_length = 2000;
SELECT status, sqlstate FROM cdp.ingest(:'key', jsonb_build_object('type', 'group', 'userId', 'ua', 'groupId', repeat('g', 1025)));
RESET cdp.max_group_id_length;
SELECT reason, sqlstate FROM cdp.quarantine WHERE tenant_id = :tid ORDER BY quarantine_id;
