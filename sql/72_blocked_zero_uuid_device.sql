-- The all-zero UUID (iOS's advertising id when tracking is denied, sent by
-- some SDKs as the device id) is a blocked value: two visitors whose
-- devices both send it stay two people. It used to be an identifier, so the
-- second visitor was merged into the first.
SELECT cdp.create_tenant('t72') AS tid \gset
SELECT cdp.create_source('t72', 'mobile', 'mobile') AS key \gset
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","anonymousId":"v72-1","messageId":"m72-1",
  "context":{"device":{"id":"00000000-0000-0000-0000-000000000000"}}}');
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","anonymousId":"v72-2","messageId":"m72-2",
  "context":{"device":{"id":" 00000000-0000-0000-0000-000000000000 "}}}');
SELECT cdp.lookup('t72', 'anonymous_id', 'v72-1') <> cdp.lookup('t72', 'anonymous_id', 'v72-2') AS two_people,
       (SELECT count(*) FROM cdp.merges WHERE tenant_id = :tid) AS merges,
       (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = :tid AND id_type = 'device_id') AS device_ids;
-- the same value as a custom identifier, and alone: no identifier at all
SELECT status, error FROM cdp.ingest(:'key', '{"type":"track","event":"e","messageId":"m72-3",
  "context":{"externalIds":[{"type":"ios.idfa","id":"00000000-0000-0000-0000-000000000000"}]}}');
-- a real device id still links
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","anonymousId":"v72-3","messageId":"m72-4",
  "context":{"device":{"id":"6f1c0a52-8d1e-4f55-a0c4-3b2f1e9d7a10"}}}');
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","anonymousId":"v72-4","messageId":"m72-5",
  "context":{"device":{"id":"6f1c0a52-8d1e-4f55-a0c4-3b2f1e9d7a10"}}}');
SELECT cdp.lookup('t72', 'anonymous_id', 'v72-3') = cdp.lookup('t72', 'anonymous_id', 'v72-4') AS same_device_same_person;
