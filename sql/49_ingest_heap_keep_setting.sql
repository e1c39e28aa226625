-- cdp.ingest_heap_keep: the free heap memory a backend that ingests keeps
-- for its next transactions instead of trimming it back to the kernel at
-- the end of each (glibc malloc thresholds, fixed at the backend's first
-- ingest call; src/heapkeep.c, docs/performance.md). In kB, superuser only,
-- 0 (the default) leaves malloc's defaults.
SELECT name, setting, unit, context, min_val, max_val, boot_val FROM pg_settings WHERE name = 'cdp.ingest_heap_keep';
SHOW cdp.ingest_heap_keep;
CREATE ROLE r49_plain;
SET ROLE r49_plain;
SET cdp.ingest_heap_keep = 0;
RESET ROLE;
DROP ROLE r49_plain;
SET cdp.ingest_heap_keep = '-1';
-- Ingestion is the same with any value (it only changes when memory goes back to the kernel).
SELECT cdp.create_tenant('heap49') > 0 AS created;
SELECT cdp.create_source('heap49', 'web') AS key \gset
SET cdp.ingest_heap_keep = 0;
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "E", "userId": "u49", "messageId": "h49-1", "timestamp": "2026-06-01T00:00:00Z"}');
SET cdp.ingest_heap_keep = '64MB';
SHOW cdp.ingest_heap_keep;
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "E", "userId": "u49", "messageId": "h49-2", "timestamp": "2026-06-01T00:00:00Z"}');
SELECT status FROM cdp.ingest_batch(:'key', '[{"type": "track", "event": "E", "userId": "u49", "messageId": "h49-3"}, {"type": "page", "name": "P", "userId": "u49", "messageId": "h49-4"}]');
RESET cdp.ingest_heap_keep;
