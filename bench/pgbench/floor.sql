-- bench/single_ingest.sh floor: the least work a message of a known person
-- needs under cdp's promises, as one plain statement with nothing of the
-- engine: look up its identifiers (their hashes made beforehand: columns uh
-- and ah of bench.live_pool), claim its messageId in cdp.message_ids (exact
-- dedupe) and store its event. No validation, hashing, merge or limit
-- checks, traits, last_seen_at, consent or result row; and the claim is a
-- plain INSERT, so a repeated messageId would fail the transaction where cdp
-- answers "duplicate" (cdp pays a subtransaction per call for that). So it
-- is generous: an implementation of the same promises does more. Reads its
-- message as insert.sql and ingest.sql do.
\set i random(0, 499999)
WITH p AS (SELECT f.m || jsonb_build_object('messageId', gen_random_uuid()::text) AS m, f.uh, f.ah
             FROM bench.live_pool f WHERE f.i = :i),
     who AS (SELECT least((SELECT d.profile_id FROM cdp.identifiers d
                            WHERE d.tenant_id = current_setting('bench.floor_tenant_id')::integer
                              AND d.id_type = 'user_id' AND d.id_hash = p.uh),
                          (SELECT d.profile_id FROM cdp.identifiers d
                            WHERE d.tenant_id = current_setting('bench.floor_tenant_id')::integer
                              AND d.id_type = 'anonymous_id' AND d.id_hash = p.ah)) AS profile_id
               FROM p),
     claim AS (INSERT INTO cdp.message_ids (tenant_id, message_id, event_time, event_id)
               SELECT current_setting('bench.tenant_id')::integer, p.m ->> 'messageId',
                      (p.m ->> 'timestamp')::timestamptz, nextval('cdp.event_id_seq')
                 FROM p
               RETURNING message_id, event_id)
INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, event_name,
                        user_id, anonymous_id, properties, traits, context)
SELECT current_setting('bench.tenant_id')::integer, (p.m ->> 'timestamp')::timestamptz, claim.event_id,
       coalesce(who.profile_id, 0), current_setting('bench.source_id')::integer, claim.message_id, p.m ->> 'type',
       coalesce(p.m ->> 'event', p.m ->> 'name'), p.m ->> 'userId', p.m ->> 'anonymousId',
       p.m -> 'properties', p.m -> 'traits', p.m -> 'context'
  FROM p, who, claim;
