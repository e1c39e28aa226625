-- A batch looks up the identifiers of each chunk in one sorted pass
-- (probe.c cdp_probe_chunk) and resolves its messages from that pass; what
-- the chunk itself changes must show in the answers of its later messages:
-- an identifier claimed by an earlier message, a profile merged by an
-- earlier message (every identifier of the loser now names the winner, not
-- only the one that triggered the merge), an alias's previousId, and a
-- refused link. Each message's profile is compared with the one its
-- identifiers resolve to after the batch, and with its stored event.
SELECT cdp.create_tenant('chunk48') AS tid \gset
SELECT cdp.create_source('chunk48', 'web') AS key \gset

-- k: known before the batch (anonymous id k1, device kd)
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","anonymousId":"k1","context":{"device":{"id":"kd"}},"messageId":"c48-0","timestamp":"2024-01-01T00:00:00Z"}');

CREATE TEMP TABLE c48 AS
SELECT row_number() OVER () AS n, r.* FROM cdp.ingest_batch(:'key', '[
  {"type":"identify","userId":"u1","anonymousId":"a1","traits":{"plan":"pro"},"messageId":"c48-1","timestamp":"2024-02-01T00:00:00Z"},
  {"type":"track","event":"e","anonymousId":"a1","messageId":"c48-2","timestamp":"2024-02-01T00:01:00Z"},
  {"type":"track","event":"e","anonymousId":"a2","context":{"device":{"id":"d2"}},"messageId":"c48-3","timestamp":"2024-02-01T00:02:00Z"},
  {"type":"track","event":"e","userId":"u1","anonymousId":"a2","messageId":"c48-4","timestamp":"2024-02-01T00:03:00Z"},
  {"type":"track","event":"e","context":{"device":{"id":"d2"}},"messageId":"c48-5","timestamp":"2024-02-01T00:04:00Z"},
  {"type":"alias","previousId":"a2","userId":"u1","messageId":"c48-6","timestamp":"2024-02-01T00:05:00Z"},
  {"type":"track","event":"e","anonymousId":"k1","userId":"u2","messageId":"c48-7","timestamp":"2024-02-01T00:06:00Z"},
  {"type":"track","event":"e","userId":"u2","messageId":"c48-8","timestamp":"2024-02-01T00:07:00Z"},
  {"type":"track","event":"e","userId":"u1","anonymousId":"k1","messageId":"c48-9","timestamp":"2024-02-01T00:08:00Z"},
  {"type":"track","event":"e","context":{"device":{"id":"kd"}},"messageId":"c48-10","timestamp":"2024-02-01T00:09:00Z"}
]') r;

-- p1: u1's profile (a1, a2 and d2 joined it); k: k1's (u2 joined it; u1 was refused)
SELECT c.n, c.message_id, c.status,
       CASE c.profile_id WHEN cdp.lookup('chunk48', 'user_id', 'u1') THEN 'p1'
                         WHEN cdp.lookup('chunk48', 'anonymous_id', 'k1') THEN 'k'
                         ELSE (SELECT CASE p.merged_into WHEN cdp.lookup('chunk48', 'user_id', 'u1') THEN 'merged into p1'
                                                         ELSE 'other' END
                                 FROM cdp.profiles p WHERE p.tenant_id = :tid AND p.profile_id = c.profile_id) END AS profile,
       -- the event keeps the profile it was stored on; the result names its canonical one (test 71)
       (SELECT coalesce(p.merged_into, p.profile_id) FROM cdp.profiles p
         WHERE p.tenant_id = :tid AND p.profile_id = e.profile_id) = c.profile_id AS event_on_it
  FROM c48 c LEFT JOIN cdp.events e ON e.tenant_id = :tid AND e.event_id = c.event_id
 ORDER BY c.n;

SELECT cdp.lookup('chunk48', 'anonymous_id', 'a1') = cdp.lookup('chunk48', 'user_id', 'u1') AS a1_p1,
       cdp.lookup('chunk48', 'anonymous_id', 'a2') = cdp.lookup('chunk48', 'user_id', 'u1') AS a2_p1,
       cdp.lookup('chunk48', 'device_id', 'd2') = cdp.lookup('chunk48', 'user_id', 'u1') AS d2_p1,
       cdp.lookup('chunk48', 'user_id', 'u2') = cdp.lookup('chunk48', 'anonymous_id', 'k1') AS u2_k,
       cdp.lookup('chunk48', 'device_id', 'kd') = cdp.lookup('chunk48', 'anonymous_id', 'k1') AS kd_k;
SELECT count(*) FILTER (WHERE merged_into IS NULL) AS canonical, count(*) FILTER (WHERE merged_into IS NOT NULL) AS merged
  FROM cdp.profiles WHERE tenant_id = :tid;
SELECT (SELECT count(*) FROM cdp.merges WHERE tenant_id = :tid) AS merges,
       (SELECT count(*) FROM cdp.refused_links WHERE tenant_id = :tid) AS refused_links,
       (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = :tid) AS identifiers;
