-- bench/single_ingest.sh: one message through cdp.ingest (write key in GUC bench.key).
\set p random(0, 99999)
SELECT status FROM cdp.ingest(current_setting('bench.key'), bench.live_message(:p));
