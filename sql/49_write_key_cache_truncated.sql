-- A write key cached by this backend whose source row is gone and whose
-- block VACUUM truncated away: 28000 "invalid write key", not a read error
-- on a block past the end of cdp.sources (XX001).
SELECT cdp.create_tenant('cache49') AS tid \gset
SELECT count(cdp.create_source('cache49', 's' || g)) FROM generate_series(1, 400) g;
SELECT cdp.create_source('cache49', 'last') AS key \gset
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"c49"}');
SELECT (ctid::text::point)[0] > 1 AS beyond_first_blocks FROM cdp.sources WHERE tenant_id = :tid AND name = 'last';
DELETE FROM cdp.sources WHERE tenant_id = :tid;
VACUUM cdp.sources;
SELECT cdp_test.error_of(format($$SELECT cdp.ingest(%L, '{"type":"track","event":"e","userId":"c49"}')$$, :'key')) AS after_truncation;
