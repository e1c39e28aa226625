-- A batch's result rows name canonical profiles (docs/ingestion.md), also
-- when a later message of the same batch merged the profile an earlier
-- message was stored on: message 1 creates a profile for visitor x, message
-- 3 merges it into w's older profile. Message 1's result used to name x's
-- profile, merged by the time the call returned.
SELECT cdp.create_tenant('t71') AS tid \gset
SELECT cdp.create_source('t71', 'web') AS key \gset
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","anonymousId":"w71","messageId":"m71-0"}');
CREATE TEMP TABLE r71 AS
SELECT * FROM cdp.ingest_batch(:'key', '[
  {"type":"track","event":"e","anonymousId":"x71","messageId":"m71-1"},
  {"type":"track","event":"e","anonymousId":"x71","context":{"device":{"id":"d71"}},"messageId":"m71-2"},
  {"type":"identify","anonymousId":"w71","context":{"device":{"id":"d71"}},"messageId":"m71-3"},
  {"type":"track","event":"e","anonymousId":"y71","messageId":"m71-4"}]');
SELECT (SELECT count(*) FROM cdp.merges WHERE tenant_id = :tid) AS merges;
SELECT r.message_id, r.status,
       r.profile_id = cdp.lookup('t71', 'anonymous_id', 'w71') AS names_w,
       p.merged_into IS NULL AS canonical
  FROM r71 r JOIN cdp.profiles p ON p.tenant_id = :tid AND p.profile_id = r.profile_id
 ORDER BY r.message_id;
-- the events keep the profile they were stored with; event_stream resolves it
SELECT e.message_id, e.profile_id = e.original_profile_id AS stored_on_canonical,
       e.profile_id = r.profile_id AS result_matches_event_stream
  FROM cdp.event_stream e JOIN r71 r USING (message_id)
 WHERE e.tenant_id = :tid ORDER BY 1;
