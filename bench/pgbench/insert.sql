-- bench/single_ingest.sh baseline: the same message as one plain INSERT into cdp.events,
-- read from bench.live_pool with a fresh messageId (the same as ingest.sql reads).
\set i random(0, 499999)
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name,
                        user_id, anonymous_id, properties, traits, context)
SELECT current_setting('bench.tenant_id')::integer, (m ->> 'timestamp')::timestamptz, 1000000000 + :i % 100000,
       current_setting('bench.source_id')::integer, m ->> 'messageId', m ->> 'type',
       coalesce(m ->> 'event', m ->> 'name'), m ->> 'userId', m ->> 'anonymousId',
       m -> 'properties', m -> 'traits', m -> 'context'
  FROM (SELECT p.m || jsonb_build_object('messageId', gen_random_uuid()::text) AS m
          FROM bench.live_pool p WHERE p.i = :i) x;
