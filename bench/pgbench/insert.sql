-- bench/single_ingest.sh baseline: the same message as one plain INSERT into cdp.events.
\set p random(0, 99999)
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name,
                        user_id, anonymous_id, properties, traits, context)
SELECT current_setting('bench.tenant_id')::integer, (m ->> 'timestamp')::timestamptz, 1000000000 + :p,
       current_setting('bench.source_id')::integer, m ->> 'messageId', m ->> 'type',
       coalesce(m ->> 'event', m ->> 'name'), m ->> 'userId', m ->> 'anonymousId',
       m -> 'properties', m -> 'traits', m -> 'context'
  FROM bench.live_message(:p) m;
