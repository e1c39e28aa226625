-- bench/sql/mask_pii_cost.sql — cost per call of cdp._mask_pii (review 2, P4).
-- Run with psql in a scratch database where cdp is installed:
--   psql -X -d DB -f bench/sql/mask_pii_cost.sql | grep Time
-- Creates table mb (100 000 rows: flat traits with PII, flat properties without
-- PII, nested PII); each timed query masks one column of every row.
\set QUIET on
SET jit = off;
DROP TABLE IF EXISTS mb;
CREATE TABLE mb AS
SELECT jsonb_build_object('email', 'u'||g||'@example.com', 'name', 'User '||g, 'plan', 'pro', 'age', g % 90,
                          'company', 'ACME', 'created', '2026-01-01') AS flat,
       jsonb_build_object('sku', 'X'||g, 'price', g, 'user', jsonb_build_object('email', 'u'||g||'@x', 'tier', 1),
                          'items', jsonb_build_array(jsonb_build_object('id', g, 'qty', 2))) AS nested,
       jsonb_build_object('sku', 'X'||g, 'price', g, 'currency', 'EUR', 'category', 'shoes') AS clean
  FROM generate_series(1, 100000) g;
VACUUM ANALYZE mb;
\timing on
SELECT count(*) FROM mb WHERE flat IS NOT NULL;
SELECT count(cdp._mask_pii(flat)) AS flat FROM mb;
SELECT count(cdp._mask_pii(flat)) AS flat FROM mb;
SELECT count(cdp._mask_pii(flat)) AS flat FROM mb;
SELECT count(cdp._mask_pii(clean)) AS clean FROM mb;
SELECT count(cdp._mask_pii(clean)) AS clean FROM mb;
SELECT count(cdp._mask_pii(clean)) AS clean FROM mb;
SELECT count(cdp._mask_pii(nested)) AS nested FROM mb;
SELECT count(cdp._mask_pii(nested)) AS nested FROM mb;
