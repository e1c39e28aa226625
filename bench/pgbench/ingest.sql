-- bench/single_ingest.sh: one message through cdp.ingest (write key in GUC bench.key),
-- read from bench.live_pool with a fresh messageId (the same as insert.sql reads).
\set i random(0, 499999)
SELECT status FROM cdp.ingest(current_setting('bench.key'),
  (SELECT m || jsonb_build_object('messageId', gen_random_uuid()::text) FROM bench.live_pool WHERE i = :i));
