-- A batch keeps first_seen_at / last_seen_at exact with one statement per
-- chunk (ingest.c BulkSeen): the messages of a chunk are folded into one row
-- per profile; identify messages and profiles created by the chunk are
-- written by their own statements. Covers a new profile then later and
-- earlier events of it, identify then track, a profile merged later in the
-- same chunk (its events count for the winner), and an in-batch duplicate
-- (it does not count).
SELECT cdp.create_tenant('seen48b') AS tid \gset
SELECT cdp.create_source('seen48b', 'web') AS key \gset

-- a: created by the first message, then a later and an earlier one
SELECT status, count(*) FROM cdp.ingest_batch(:'key', '[
  {"type":"track","event":"e","userId":"a","timestamp":"2024-01-01T00:00:00Z"},
  {"type":"track","event":"e","userId":"a","timestamp":"2024-03-01T00:00:00Z"},
  {"type":"page","name":"p","userId":"a","timestamp":"2023-12-01T00:00:00Z"}]') GROUP BY 1 ORDER BY 1;
-- b: identify creates it, tracks before and after
SELECT status, count(*) FROM cdp.ingest_batch(:'key', '[
  {"type":"identify","userId":"b","traits":{"plan":"pro"},"timestamp":"2024-05-01T00:00:00Z"},
  {"type":"track","event":"e","userId":"b","timestamp":"2024-04-01T00:00:00Z"},
  {"type":"track","event":"e","userId":"b","timestamp":"2024-06-01T00:00:00Z"}]') GROUP BY 1 ORDER BY 1;
-- c: seen on its own profile, which the last message merges into x1's (older) one
SELECT status, count(*) FROM cdp.ingest_batch(:'key', '[
  {"type":"track","event":"e","anonymousId":"x1","timestamp":"2024-01-10T00:00:00Z"},
  {"type":"track","event":"e","userId":"c","timestamp":"2024-01-05T00:00:00Z"},
  {"type":"track","event":"e","userId":"c","timestamp":"2024-08-01T00:00:00Z"},
  {"type":"identify","userId":"c","anonymousId":"x1","timestamp":"2024-02-01T00:00:00Z"}]') GROUP BY 1 ORDER BY 1;
-- d: the repeat of a messageId is a duplicate and does not move last_seen_at
SELECT status, count(*) FROM cdp.ingest_batch(:'key', '[
  {"type":"track","event":"e","userId":"d","messageId":"m48b","timestamp":"2024-01-01T00:00:00Z"},
  {"type":"track","event":"e","userId":"d","messageId":"m48b","timestamp":"2025-01-01T00:00:00Z"}]') GROUP BY 1 ORDER BY 1;
-- e: known before the batch; two events of it in one chunk, the later one counts
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"e","timestamp":"2024-01-01T00:00:00Z"}');
SELECT status, count(*) FROM cdp.ingest_batch(:'key', '[
  {"type":"track","event":"e","userId":"e","timestamp":"2024-09-01T00:00:00Z"},
  {"type":"track","event":"e","userId":"e","timestamp":"2024-07-01T00:00:00Z"},
  {"type":"track","event":"e","userId":"e","timestamp":"2023-07-01T00:00:00Z"}]') GROUP BY 1 ORDER BY 1;

SELECT u AS user_id, p.merged_into IS NULL AS canonical,
       p.first_seen_at AT TIME ZONE 'UTC' AS first_seen, p.last_seen_at AT TIME ZONE 'UTC' AS last_seen
  FROM unnest(ARRAY['a', 'b', 'c', 'd', 'e']) u
  JOIN cdp.profiles p ON p.tenant_id = :tid AND p.profile_id = cdp.lookup('seen48b', 'user_id', u)
 ORDER BY u;
-- c's merged profile and x1 resolve to the same canonical profile
SELECT cdp.lookup('seen48b', 'user_id', 'c') = cdp.lookup('seen48b', 'anonymous_id', 'x1') AS merged;
SELECT count(*) AS merges FROM cdp.merges WHERE tenant_id = :tid;
