-- A batch-level sentAt that cannot be used ({"sentAt": "garbage", "batch":
-- [...]}) rejects the messages that would inherit it (22007, or 22008 out of
-- range), as their own such sentAt would, and they are quarantined; messages
-- with their own sentAt go on. Review 8: on main it was silently ignored,
-- and a message with only originalTimestamp was stored at its device's clock,
-- uncorrected (here 10 minutes off).
SELECT cdp.create_tenant('bsent') > 0 AS created;
SELECT cdp.create_source('bsent', 'web') AS key \gset

SELECT message_id, status, sqlstate, error
  FROM cdp.ingest_batch(:'key', '{"sentAt": "yesterday", "batch": [
    {"type": "track", "event": "e", "userId": "bs-1", "messageId": "bs-1", "originalTimestamp": "2026-05-01T12:10:00Z", "receivedAt": "2026-05-01T12:00:05Z"},
    {"type": "track", "event": "e", "userId": "bs-1", "messageId": "bs-2", "originalTimestamp": "2026-05-01T12:10:00Z", "receivedAt": "2026-05-01T12:00:05Z",
     "sentAt": "2026-05-01T12:10:05Z"}]}');
SELECT message_id, status, sqlstate, error
  FROM cdp.ingest_batch(:'key', '{"sentAt": 1777636805, "batch": [
    {"type": "track", "event": "e", "userId": "bs-1", "messageId": "bs-3", "timestamp": "2026-05-01T12:00:00Z"}]}');
SELECT message_id, status, sqlstate, error
  FROM cdp.ingest_batch(:'key', '{"sentAt": "1969-12-31T23:59:59Z", "batch": [
    {"type": "track", "event": "e", "userId": "bs-1", "messageId": "bs-4", "timestamp": "2026-05-01T12:00:00Z"}]}');
-- A null sentAt is no sentAt; a good one still corrects the device clock.
SELECT message_id, status, sqlstate, error
  FROM cdp.ingest_batch(:'key', '{"sentAt": null, "batch": [
    {"type": "track", "event": "e", "userId": "bs-1", "messageId": "bs-5", "timestamp": "2026-05-01T12:00:00Z"}]}');
SELECT message_id, status
  FROM cdp.ingest_batch(:'key', '{"sentAt": "2026-05-01T12:10:05Z", "batch": [
    {"type": "track", "event": "e", "userId": "bs-1", "messageId": "bs-6", "originalTimestamp": "2026-05-01T12:10:00Z", "receivedAt": "2026-05-01T12:00:05Z"}]}');
SELECT message_id, event_time AT TIME ZONE 'UTC' AS event_time_utc FROM cdp.events
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'bsent') ORDER BY message_id;
SELECT message_id, sqlstate, reason FROM cdp.quarantine
 WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'bsent') ORDER BY quarantine_id;
