-- A single message's messageId claim and event are written straight into
-- the heap and its indexes (src/rowstore.c), not by INSERT. The result must
-- be the INSERT's: the same partition, the same constraint errors, the same
-- duplicates; and where an INSERT would do more (a trigger, a column type
-- that converts or checks its value) the INSERT runs instead. Each case
-- below fails if the direct path skipped what the INSERT does. Everything
-- added to cdp's tables is removed at the end.
SET client_min_messages = warning;
SELECT cdp.create_tenant('rowstore49') AS tid \gset
SELECT cdp.create_source('rowstore49', 'web') AS key \gset
CREATE TEMP TABLE key49 AS SELECT :'key'::text AS k;
-- One message: its answer (status, SQLSTATE, error).
CREATE FUNCTION pg_temp.ing(m jsonb) RETURNS TABLE (status text, sqlstate text, error text)
LANGUAGE sql AS $$ SELECT r.status, r.sqlstate, r.error FROM cdp.ingest((SELECT k FROM pg_temp.key49), m) r $$;
-- Where the event of a messageId of this tenant is stored.
CREATE FUNCTION pg_temp.stored_in(p_message_id text) RETURNS text
LANGUAGE sql AS $$
  SELECT string_agg(e.tableoid::regclass::text, ', ') FROM cdp.events e
   WHERE e.tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'rowstore49') AND e.message_id = p_message_id
$$;
CREATE SCHEMA r49;
-- Partitions of months far ahead, made here: their names do not depend on today.
CREATE TABLE r49.events_2091_03 PARTITION OF cdp.events FOR VALUES FROM ('2091-03-01 00:00:00+00') TO ('2091-04-01 00:00:00+00');
CREATE TABLE r49.events_2091_05 PARTITION OF cdp.events FOR VALUES FROM ('2091-05-01 00:00:00+00') TO ('2091-06-01 00:00:00+00');

-- 1. Routing: the bounds of a partition (lower included, upper excluded)
-- and the default partition for times outside every partition.
SELECT * FROM pg_temp.ing('{"type": "identify", "userId": "ann", "messageId": "route-lower", "timestamp": "2091-03-01T00:00:00Z"}');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "route-last", "timestamp": "2091-03-31T23:59:59.999999Z"}');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "route-upper", "timestamp": "2091-04-01T00:00:00Z"}');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "route-before", "timestamp": "2091-02-28T23:59:59.999999Z"}');
SELECT * FROM pg_temp.ing('{"type": "page", "name": "P", "userId": "ann", "messageId": "route-1999", "timestamp": "1999-12-31T23:59:59Z"}');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "bob", "messageId": "route-new-2099", "timestamp": "2099-07-01T00:00:00Z"}');
SELECT status FROM cdp.ingest_batch(:'key', '[{"type": "track", "event": "E", "userId": "ann", "messageId": "route-batch-of-one", "timestamp": "2091-05-15T00:00:00Z"}]');
-- ... and where an INSERT of the same rows routes them (copies, rolled back).
BEGIN;
WITH copies AS (
  INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type)
  SELECT e.tenant_id, e.event_time, -e.event_id, e.profile_id, e.source_id, 'copy:' || e.message_id, e.event_type
    FROM cdp.events e WHERE e.tenant_id = :tid AND e.message_id LIKE 'route-%'
  RETURNING substr(message_id, 6) AS message_id, tableoid)
SELECT e.message_id, to_char(e.event_time AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') AS event_time_utc, e.tableoid::regclass AS stored_in, c.tableoid = e.tableoid AS insert_routes_there
  FROM cdp.events e JOIN copies c USING (message_id) WHERE e.tenant_id = :tid ORDER BY e.event_time;
ROLLBACK;

-- 2. A messageId already taken is a duplicate naming the stored event: in
-- the same transaction (a new person: claim, then identity; a known person:
-- claim and event together) and in later calls, single or batch of one.
BEGIN;
SELECT status FROM pg_temp.ing('{"type": "identify", "userId": "carl", "messageId": "dup-new", "timestamp": "2091-03-02T00:00:00Z"}');
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "dup-known", "timestamp": "2091-03-02T00:00:00Z"}');
SELECT r.status, r.event_id = (SELECT event_id FROM cdp.events WHERE tenant_id = :tid AND message_id = 'dup-new') AS names_stored_event
  FROM cdp.ingest(:'key', '{"type": "identify", "userId": "carl", "messageId": "dup-new", "timestamp": "2091-03-03T00:00:00Z"}') r;
SELECT r.status, r.event_id = (SELECT event_id FROM cdp.events WHERE tenant_id = :tid AND message_id = 'dup-known') AS names_stored_event
  FROM cdp.ingest(:'key', '{"type": "track", "event": "E", "userId": "ann", "messageId": "dup-known", "timestamp": "2091-03-03T00:00:00Z"}') r;
COMMIT;
SELECT r.status, r.event_id = (SELECT event_id FROM cdp.events WHERE tenant_id = :tid AND message_id = 'dup-new') AS names_stored_event
  FROM cdp.ingest(:'key', '{"type": "track", "event": "E", "userId": "dave", "messageId": "dup-new", "timestamp": "2091-03-04T00:00:00Z"}') r;
SELECT r.status, r.event_id = (SELECT event_id FROM cdp.events WHERE tenant_id = :tid AND message_id = 'dup-known') AS names_stored_event
  FROM cdp.ingest_batch(:'key', '[{"type": "track", "event": "E", "userId": "ann", "messageId": "dup-known", "timestamp": "2091-03-04T00:00:00Z"}]') r;
SELECT message_id, count(*) AS events FROM cdp.events WHERE tenant_id = :tid AND message_id LIKE 'dup-%' GROUP BY 1 ORDER BY 1;
SELECT cdp.lookup('rowstore49', 'user_id', 'dave') IS NULL AS duplicate_left_no_person;

-- 3. A CHECK constraint a DBA adds to cdp.events holds for ingested events:
-- the message is rejected with the INSERT's error (23514) and quarantined;
-- its claim and its new person are rolled back with it, so it can be sent
-- again once the constraint is gone.
ALTER TABLE cdp.events ADD CONSTRAINT r49_no_forbidden CHECK (event_name IS DISTINCT FROM 'Forbidden');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "Forbidden", "userId": "erin", "messageId": "chk-new", "timestamp": "2099-08-01T00:00:00Z"}');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "Forbidden", "userId": "ann", "messageId": "chk-known", "timestamp": "2091-03-05T00:00:00Z"}');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "Allowed", "userId": "ann", "messageId": "chk-allowed", "timestamp": "2091-03-05T00:00:00Z"}');
-- A batch: the bulk INSERT fails, then message by message (the direct path), only the bad one is rejected.
SELECT message_id, status, sqlstate FROM cdp.ingest_batch(:'key', '[
  {"type": "track", "event": "Fine", "userId": "ann", "messageId": "chk-batch-1", "timestamp": "2091-03-06T00:00:00Z"},
  {"type": "track", "event": "Forbidden", "userId": "fay", "messageId": "chk-batch-2", "timestamp": "2091-03-06T00:00:00Z"},
  {"type": "track", "event": "Fine", "userId": "gus", "messageId": "chk-batch-3", "timestamp": "2091-03-06T00:00:00Z"}]');
SELECT message_id, sqlstate, reason FROM cdp.quarantine WHERE tenant_id = :tid AND message_id LIKE 'chk-%' ORDER BY message_id;
SELECT m.message_id, pg_temp.stored_in(m.message_id) AS stored_in,
       EXISTS (SELECT 1 FROM cdp.message_ids WHERE tenant_id = :tid AND message_id = m.message_id) AS claimed
  FROM unnest(ARRAY['chk-new', 'chk-known', 'chk-allowed', 'chk-batch-1', 'chk-batch-2', 'chk-batch-3']) AS m(message_id) ORDER BY 1;
SELECT cdp.lookup('rowstore49', 'user_id', 'erin') IS NULL AS rejected_left_no_person;
ALTER TABLE cdp.events DROP CONSTRAINT r49_no_forbidden;
SELECT status FROM pg_temp.ing('{"type": "track", "event": "Forbidden", "userId": "erin", "messageId": "chk-new", "timestamp": "2099-08-01T00:00:00Z"}');
SELECT status FROM pg_temp.ing('{"type": "track", "event": "Forbidden", "userId": "ann", "messageId": "chk-known", "timestamp": "2091-03-05T00:00:00Z"}');

-- The same with a constraint on one partition only.
ALTER TABLE r49.events_2091_03 ADD CONSTRAINT r49_partition_check CHECK (event_name IS DISTINCT FROM 'Partition');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "Partition", "userId": "ann", "messageId": "chk-partition", "timestamp": "2091-03-07T00:00:00Z"}');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "Partition", "userId": "ann", "messageId": "chk-other-partition", "timestamp": "2091-05-07T00:00:00Z"}');
ALTER TABLE r49.events_2091_03 DROP CONSTRAINT r49_partition_check;

-- cdp's own CHECK replaced by a stricter one of the same name (NOT VALID:
-- earlier tests stored screens): its name proves nothing, the constraint
-- itself is checked, as an INSERT checks it.
SELECT pg_get_constraintdef(oid) AS original_type_check FROM pg_constraint
 WHERE conrelid = 'cdp.events'::regclass AND conname = 'events_event_type_check';
ALTER TABLE cdp.events DROP CONSTRAINT events_event_type_check,
  ADD CONSTRAINT events_event_type_check CHECK (event_type IN ('identify', 'track', 'page', 'group', 'alias')) NOT VALID;
SELECT * FROM pg_temp.ing('{"type": "screen", "name": "Home", "userId": "ann", "messageId": "chk-screen", "timestamp": "2091-03-08T00:00:00Z"}');
ALTER TABLE cdp.events DROP CONSTRAINT events_event_type_check,
  ADD CONSTRAINT events_event_type_check CHECK (event_type IN ('identify', 'track', 'page', 'screen', 'group', 'alias'));
SELECT pg_get_constraintdef(oid) AS restored_type_check FROM pg_constraint
 WHERE conrelid = 'cdp.events'::regclass AND conname = 'events_event_type_check';
SELECT status FROM pg_temp.ing('{"type": "screen", "name": "Home", "userId": "ann", "messageId": "chk-screen", "timestamp": "2091-03-08T00:00:00Z"}');

-- 4. NOT NULL on a partition (event_name: NULL for an identify) is never
-- violated silently: 23502, as the INSERT raises it.
ALTER TABLE r49.events_2091_05 ALTER COLUMN event_name SET NOT NULL;
SELECT * FROM pg_temp.ing('{"type": "identify", "userId": "ann", "messageId": "nn-identify", "timestamp": "2091-05-02T00:00:00Z"}');
SELECT * FROM pg_temp.ing('{"type": "track", "event": "Named", "userId": "ann", "messageId": "nn-track", "timestamp": "2091-05-02T00:00:00Z"}');
SELECT pg_temp.stored_in('nn-identify') AS identify_stored_in, pg_temp.stored_in('nn-track') AS track_stored_in;
ALTER TABLE r49.events_2091_05 ALTER COLUMN event_name DROP NOT NULL;

-- 5. A column of another type: the INSERT converts and checks the value
-- (here its length), so it runs; a long messageId is rejected (22001), not
-- stored past its column's limit.
ALTER TABLE cdp.message_ids ALTER COLUMN message_id TYPE varchar(200);
SELECT status, sqlstate, error FROM pg_temp.ing(jsonb_build_object('type', 'track', 'event', 'E', 'userId', 'ann',
  'messageId', 'long-' || repeat('x', 225), 'timestamp', '2091-03-09T00:00:00Z'));
SELECT status, sqlstate, error FROM pg_temp.ing(jsonb_build_object('type', 'identify', 'userId', 'hal',
  'messageId', 'long-new-' || repeat('x', 221), 'timestamp', '2091-03-09T00:00:00Z'));
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "short", "timestamp": "2091-03-09T00:00:00Z"}');
SELECT count(*) FILTER (WHERE message_id LIKE 'long-%') AS long_claims, count(*) FILTER (WHERE message_id = 'short') AS short_claims
  FROM cdp.message_ids WHERE tenant_id = :tid;
ALTER TABLE cdp.message_ids ALTER COLUMN message_id TYPE text;

-- 6. Triggers fire for every ingested row, as for an INSERT: a row trigger
-- and a statement trigger on cdp.events (cloned to every partition), then a
-- row trigger on one partition only, then one on cdp.message_ids.
CREATE TABLE r49.fired (n serial, kind text, message_id text, rel text);
CREATE FUNCTION r49.log_row() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO r49.fired (kind, message_id, rel) VALUES (TG_ARGV[0], NEW.message_id, TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE FUNCTION r49.log_statement() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO r49.fired (kind, message_id, rel) VALUES ('statement', NULL, TG_TABLE_NAME);
  RETURN NULL;
END $$;
CREATE TRIGGER r49_row AFTER INSERT ON cdp.events FOR EACH ROW EXECUTE FUNCTION r49.log_row('event row');
CREATE TRIGGER r49_statement AFTER INSERT ON cdp.events FOR EACH STATEMENT EXECUTE FUNCTION r49.log_statement();
SELECT status FROM pg_temp.ing('{"type": "identify", "userId": "ivy", "messageId": "trg-new", "timestamp": "2091-03-10T00:00:00Z"}');
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "trg-known", "timestamp": "2091-03-10T00:00:00Z"}');
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "trg-default", "timestamp": "2099-09-01T00:00:00Z"}');
SELECT status FROM cdp.ingest_batch(:'key', '[{"type": "page", "name": "P", "userId": "ann", "messageId": "trg-batch-of-one", "timestamp": "2091-05-10T00:00:00Z"}]');
SELECT status FROM cdp.ingest_batch(:'key', '[
  {"type": "track", "event": "E", "userId": "ann", "messageId": "trg-batch-1", "timestamp": "2091-03-11T00:00:00Z"},
  {"type": "track", "event": "E", "userId": "jon", "messageId": "trg-batch-2", "timestamp": "2091-03-11T00:00:00Z"}]');
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "trg-known", "timestamp": "2091-03-10T00:00:00Z"}');
SELECT kind, message_id, rel FROM r49.fired WHERE kind <> 'statement' ORDER BY n;
-- One INSERT statement per call: the batch's two messages in one, and the
-- duplicate's (an INSERT ... WHERE EXISTS that inserts no row) too.
SELECT count(*) AS statements, min(rel) AS rel FROM r49.fired WHERE kind = 'statement';
DROP TRIGGER r49_row ON cdp.events;
DROP TRIGGER r49_statement ON cdp.events;
TRUNCATE r49.fired;
CREATE TRIGGER r49_partition_row AFTER INSERT ON r49.events_2091_03 FOR EACH ROW EXECUTE FUNCTION r49.log_row('partition row');
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "trg-partition", "timestamp": "2091-03-12T00:00:00Z"}');
SELECT status FROM pg_temp.ing('{"type": "identify", "userId": "kim", "messageId": "trg-partition-new", "timestamp": "2091-03-12T00:00:00Z"}');
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "trg-elsewhere", "timestamp": "2091-05-12T00:00:00Z"}');
SELECT kind, message_id, rel FROM r49.fired ORDER BY n;
DROP TRIGGER r49_partition_row ON r49.events_2091_03;
TRUNCATE r49.fired;
CREATE TRIGGER r49_claim_row AFTER INSERT ON cdp.message_ids FOR EACH ROW EXECUTE FUNCTION r49.log_row('claim row');
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "trg-claim-known", "timestamp": "2091-03-13T00:00:00Z"}');
SELECT status FROM pg_temp.ing('{"type": "identify", "userId": "lea", "messageId": "trg-claim-new", "timestamp": "2091-03-13T00:00:00Z"}');
SELECT status FROM pg_temp.ing('{"type": "identify", "userId": "lea", "messageId": "trg-claim-new", "timestamp": "2091-03-13T00:00:00Z"}');
SELECT kind, message_id, rel FROM r49.fired ORDER BY n;
DROP TRIGGER r49_claim_row ON cdp.message_ids;

-- 7. Statistics count each row in the table it is written to, as for an
-- INSERT (counted within one transaction: nothing is flushed meanwhile).
BEGIN;
CREATE TEMP TABLE stat49 AS SELECT relid, n_tup_ins FROM pg_stat_xact_user_tables
 WHERE relid IN ('cdp.message_ids'::regclass, 'cdp.events_default'::regclass, 'cdp.events'::regclass);
SELECT status FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "stat-1", "timestamp": "2099-10-01T00:00:00Z"}');
SELECT s.relid::regclass AS rel, s.n_tup_ins - b.n_tup_ins AS inserted
  FROM pg_stat_xact_user_tables s JOIN stat49 b USING (relid) ORDER BY s.relid::regclass::text;
COMMIT;

-- 8. A read-only transaction writes nothing (the INSERT's executor refuses;
-- so does the direct path, without relying on nextval() refusing first).
BEGIN READ ONLY;
SELECT * FROM pg_temp.ing('{"type": "track", "event": "E", "userId": "ann", "messageId": "read-only", "timestamp": "2099-10-02T00:00:00Z"}');
ROLLBACK;
SELECT count(*) AS read_only_claims FROM cdp.message_ids WHERE tenant_id = :tid AND message_id = 'read-only';

-- Nothing of this test is left on cdp's tables (its events in the default partition neither).
DROP SCHEMA r49 CASCADE;
DELETE FROM cdp.events WHERE tenant_id = :tid;
SELECT count(*) AS triggers_left FROM pg_trigger WHERE tgname LIKE 'r49%';
SELECT count(*) AS constraints_left FROM pg_constraint WHERE conname LIKE 'r49%';
SELECT count(*) AS partitions_left FROM pg_inherits WHERE inhparent = 'cdp.events'::regclass AND inhrelid::regclass::text LIKE 'r49.%';
SELECT format_type(atttypid, atttypmod) AS message_id_type, attnotnull FROM pg_attribute
 WHERE attrelid = 'cdp.message_ids'::regclass AND attname = 'message_id';
RESET client_min_messages;
