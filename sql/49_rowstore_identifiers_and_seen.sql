-- New identifiers (rowstore.c cdp_rowstore_identifier, for identity.c Claim)
-- and last_seen_at / first_seen_at updates (cdp_rowstore_seen, for ingest.c
-- Seen and BulkSeen) are written directly in READ COMMITTED and by the
-- statements they replace (PLAN_INSERT_ID, PLAN_SEEN, PLAN_BULK_SEEN) under
-- REPEATABLE READ, or when a trigger is on cdp.identifiers or cdp.profiles.
-- The same messages are sent to three tenants: rc (direct paths), rr (the
-- statements, REPEATABLE READ) and trg (the statements, forced by triggers,
-- which must fire); every profile and identifier must end the same.
CREATE TABLE cdp_test.ris49_steps (step int PRIMARY KEY, batch bool NOT NULL, payload jsonb NOT NULL);
COMMENT ON TABLE cdp_test.ris49_steps IS 'test 49: messages sent to each tenant, in step order';
CREATE TABLE cdp_test.ris49_keys (tenant text PRIMARY KEY, key text NOT NULL);
COMMENT ON TABLE cdp_test.ris49_keys IS 'test 49: write keys (random: never printed)';
CREATE FUNCTION cdp_test.ris49_send(tenant text, payload jsonb, batch bool) RETURNS text LANGUAGE plpgsql AS $$
DECLARE
  k text := (SELECT key FROM cdp_test.ris49_keys WHERE ris49_keys.tenant = ris49_send.tenant);
  r text;
BEGIN
  IF batch THEN
    SELECT string_agg(coalesce(status || coalesce(' ' || sqlstate, ''), 'null'), ',' ORDER BY ord) INTO r
      FROM cdp.ingest_batch(k, payload) WITH ORDINALITY AS b(message_id, status, profile_id, event_id, error, sqlstate, ord);
  ELSE
    SELECT status || coalesce(' ' || sqlstate, '') INTO r FROM cdp.ingest(k, payload);
  END IF;
  RETURN r;
END $$;
COMMENT ON FUNCTION cdp_test.ris49_send(text, jsonb, bool) IS 'test 49: sends messages to a tenant, returns their statuses';
CREATE FUNCTION cdp_test.ris49_step(tenant text, n int) RETURNS text LANGUAGE sql AS $$
  SELECT n || ': ' || cdp_test.ris49_send(tenant, payload, batch) FROM cdp_test.ris49_steps WHERE step = n
$$;
COMMENT ON FUNCTION cdp_test.ris49_step(text, int) IS 'test 49: sends step n''s messages to tenant';

INSERT INTO cdp_test.ris49_steps VALUES
  -- single messages with identity work (Seen): a new profile, then a new identifier of it later, earlier,
  -- within the 30 minutes (no write) and past them
  (1, false, '{"type":"track","event":"e","userId":"u1","timestamp":"2024-01-01T00:00:00Z"}'),
  (2, false, '{"type":"track","event":"e","userId":"u1","anonymousId":"a1","timestamp":"2024-03-01T00:00:00Z"}'),
  (3, false, '{"type":"page","name":"p","userId":"u1","anonymousId":"a2","timestamp":"2023-06-01T00:00:00Z"}'),
  (4, false, '{"type":"track","event":"e","userId":"u1","anonymousId":"a3","timestamp":"2024-03-01T00:29:00Z"}'),
  (5, false, '{"type":"track","event":"e","userId":"u1","anonymousId":"a4","timestamp":"2024-03-01T00:31:00Z"}'),
  -- a merge in the same call as the last_seen_at update: b1's profile and u1's
  (6, false, '{"type":"track","event":"e","anonymousId":"b1","timestamp":"2022-02-01T00:00:00Z"}'),
  (7, false, '{"type":"track","event":"e","userId":"u1","anonymousId":"b1","timestamp":"2024-05-01T00:00:00Z"}'),
  -- a chunk that merges two profiles after events of the loser, then more events of the loser's identifier
  (8, true, '[
    {"type":"track","event":"e","anonymousId":"x1","timestamp":"2024-01-10T00:00:00Z"},
    {"type":"track","event":"e","userId":"c","timestamp":"2024-01-05T00:00:00Z"},
    {"type":"track","event":"e","userId":"c","timestamp":"2024-08-01T00:00:00Z"},
    {"type":"identify","userId":"c","anonymousId":"x1","timestamp":"2024-02-01T00:00:00Z"},
    {"type":"track","event":"e","anonymousId":"x1","timestamp":"2024-09-01T00:00:00Z"},
    {"type":"track","event":"e","userId":"c","anonymousId":"x2","timestamp":"2023-01-01T00:00:00Z"}]'),
  -- two losers merged into one profile in a chunk, events of both before and after
  (9, true, '[
    {"type":"track","event":"e","anonymousId":"y1","timestamp":"2021-01-01T00:00:00Z"},
    {"type":"track","event":"e","anonymousId":"y2","timestamp":"2021-02-01T00:00:00Z"},
    {"type":"track","event":"e","userId":"d","timestamp":"2021-03-01T00:00:00Z"},
    {"type":"track","event":"e","userId":"d","anonymousId":"y1","timestamp":"2021-04-01T00:00:00Z"},
    {"type":"track","event":"e","userId":"d","anonymousId":"y2","timestamp":"2021-05-01T00:00:00Z"},
    {"type":"track","event":"e","anonymousId":"y1","timestamp":"2021-06-01T00:00:00Z"},
    {"type":"track","event":"e","anonymousId":"y2","timestamp":"2020-12-01T00:00:00Z"}]'),
  -- identify (PLAN_SET_TRAITS writes the times) then tracks of the same profile, in one chunk
  (10, true, '[
    {"type":"identify","userId":"f","traits":{"plan":"pro"},"timestamp":"2024-05-01T00:00:00Z"},
    {"type":"track","event":"e","userId":"f","anonymousId":"f1","timestamp":"2024-04-01T00:00:00Z"},
    {"type":"track","event":"e","userId":"f","timestamp":"2024-06-01T00:00:00Z"}]'),
  -- the same identifier twice in one chunk (the second finds the first's row), and a known one
  (11, true, '[
    {"type":"track","event":"e","userId":"g","anonymousId":"g1","timestamp":"2024-02-01T00:00:00Z"},
    {"type":"track","event":"e","userId":"g","anonymousId":"g1","timestamp":"2024-02-02T00:00:00Z"},
    {"type":"track","event":"e","userId":"u1","anonymousId":"g2","timestamp":"2024-02-03T00:00:00Z"}]');

SELECT cdp.create_tenant('rowstore49rc') AS rc \gset
SELECT cdp.create_tenant('rowstore49rr') AS rr \gset
SELECT cdp.create_tenant('rowstore49trg') AS trg \gset
INSERT INTO cdp_test.ris49_keys SELECT t, cdp.create_source(t, 'web') FROM unnest(ARRAY['rowstore49rc', 'rowstore49rr', 'rowstore49trg']) t;

-- 1. READ COMMITTED: the direct paths
SELECT format('SELECT cdp_test.ris49_step(%L, %s)', 'rowstore49rc', step) FROM cdp_test.ris49_steps ORDER BY step \gexec

-- 2. REPEATABLE READ: the statements
SET default_transaction_isolation = 'repeatable read';
SELECT format('SELECT cdp_test.ris49_step(%L, %s)', 'rowstore49rr', step) FROM cdp_test.ris49_steps ORDER BY step \gexec
RESET default_transaction_isolation;

-- 3. READ COMMITTED with a trigger on cdp.identifiers and one on cdp.profiles: the statements, and the triggers fire
CREATE TABLE cdp_test.ris49_fired (tg_table text, tg_op text, n int);
COMMENT ON TABLE cdp_test.ris49_fired IS 'test 49: rows the triggers saw';
CREATE FUNCTION cdp_test.ris49_log() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF NEW.tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = 'rowstore49trg') THEN
    INSERT INTO cdp_test.ris49_fired VALUES (TG_TABLE_NAME, TG_OP, 1);
  END IF;
  RETURN NEW;
END $$;
COMMENT ON FUNCTION cdp_test.ris49_log() IS 'test 49: logs the trigger''s row';
CREATE TRIGGER ris49_identifiers AFTER INSERT ON cdp.identifiers FOR EACH ROW EXECUTE FUNCTION cdp_test.ris49_log();
CREATE TRIGGER ris49_profiles BEFORE UPDATE OF last_seen_at, first_seen_at ON cdp.profiles
  FOR EACH ROW WHEN (OLD.last_seen_at IS DISTINCT FROM NEW.last_seen_at OR OLD.first_seen_at IS DISTINCT FROM NEW.first_seen_at)
  EXECUTE FUNCTION cdp_test.ris49_log();
SELECT format('SELECT cdp_test.ris49_step(%L, %s)', 'rowstore49trg', step) FROM cdp_test.ris49_steps ORDER BY step \gexec
DROP TRIGGER ris49_identifiers ON cdp.identifiers;
DROP TRIGGER ris49_profiles ON cdp.profiles;
-- one per new identifier; profile updates that moved a time (the direct path never writes less)
SELECT tg_table, tg_op, sum(n) FROM cdp_test.ris49_fired GROUP BY 1, 2 ORDER BY 1, 2;
SELECT count(*) AS identifiers_of_trg FROM cdp.identifiers WHERE tenant_id = :trg;

-- The profiles as READ COMMITTED left them, each identifier's canonical profile
CREATE FUNCTION cdp_test.ris49_profiles(tenant text) RETURNS TABLE (id text, canonical_of text, first_seen text, last_seen text)
LANGUAGE sql AS $$
  SELECT i.id_type || ':' || v,
         (SELECT min(j.id_type || ':' || w) FROM unnest(ARRAY['user_id', 'anonymous_id']) j(id_type),
                 unnest(ARRAY['u1','a1','a2','a3','a4','b1','c','x1','x2','y1','y2','d','f','f1','g','g1','g2']) w
           WHERE cdp.lookup(tenant, j.id_type, w) = p.profile_id),
         to_char(p.first_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), to_char(p.last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
    FROM unnest(ARRAY['user_id', 'anonymous_id']) i(id_type)
   CROSS JOIN unnest(ARRAY['u1','a1','a2','a3','a4','b1','c','x1','x2','y1','y2','d','f','f1','g','g1','g2']) v
    JOIN cdp.profiles p ON p.tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = tenant)
                       AND p.profile_id = cdp.lookup(tenant, i.id_type, v)
$$;
COMMENT ON FUNCTION cdp_test.ris49_profiles(text) IS 'test 49: the canonical profile of each identifier sent, and its times';
SELECT * FROM cdp_test.ris49_profiles('rowstore49rc') ORDER BY id;
-- the same in the other two tenants: no row differs
(SELECT * FROM cdp_test.ris49_profiles('rowstore49rc') EXCEPT SELECT * FROM cdp_test.ris49_profiles('rowstore49rr'))
UNION ALL
(SELECT * FROM cdp_test.ris49_profiles('rowstore49rr') EXCEPT SELECT * FROM cdp_test.ris49_profiles('rowstore49rc'));
(SELECT * FROM cdp_test.ris49_profiles('rowstore49rc') EXCEPT SELECT * FROM cdp_test.ris49_profiles('rowstore49trg'))
UNION ALL
(SELECT * FROM cdp_test.ris49_profiles('rowstore49trg') EXCEPT SELECT * FROM cdp_test.ris49_profiles('rowstore49rc'));
-- every profile row, merged ones too (in creation order): the same in the three tenants
CREATE FUNCTION cdp_test.ris49_rows(tenant text) RETURNS TABLE (n bigint, merged bool, first_seen text, last_seen text)
LANGUAGE sql AS $$
  SELECT row_number() OVER (ORDER BY profile_id), merged_into IS NOT NULL,
         to_char(first_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI'), to_char(last_seen_at AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI')
    FROM cdp.profiles WHERE tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = tenant)
$$;
COMMENT ON FUNCTION cdp_test.ris49_rows(text) IS 'test 49: a tenant''s profile rows in creation order';
SELECT * FROM cdp_test.ris49_rows('rowstore49rc') ORDER BY n;
SELECT t, (SELECT count(*) FROM
              ((SELECT * FROM cdp_test.ris49_rows('rowstore49rc') EXCEPT SELECT * FROM cdp_test.ris49_rows(t))
               UNION ALL (SELECT * FROM cdp_test.ris49_rows(t) EXCEPT SELECT * FROM cdp_test.ris49_rows('rowstore49rc'))) d)
         AS differing_rows
  FROM unnest(ARRAY['rowstore49rr', 'rowstore49trg']) t ORDER BY t;
-- identifiers: the same rows (first_seen_at = last_seen_at = the time received, the source)
SELECT t.name, count(*) AS identifiers, count(*) FILTER (WHERE i.first_seen_at = i.last_seen_at) AS same_times,
       count(*) FILTER (WHERE i.source_id = s.source_id) AS from_source,
       string_agg(i.id_type, ',' ORDER BY i.id_type) FILTER (WHERE i.id_type <> 'anonymous_id') AS other_types
  FROM cdp.identifiers i JOIN cdp.tenants t USING (tenant_id) JOIN cdp.sources s USING (tenant_id)
 WHERE t.name IN ('rowstore49rc', 'rowstore49rr', 'rowstore49trg') GROUP BY t.name ORDER BY t.name;

-- 4. A CHECK constraint on cdp.profiles is evaluated by the direct update as by
-- the UPDATE (ExecConstraints): the message whose time would break it is
-- rejected with 23514 on both paths, alone and in a batch.
ALTER TABLE cdp.profiles ADD CONSTRAINT ris49_seen_since_2000
  CHECK (first_seen_at >= '2000-01-01' OR tenant_id NOT IN (:rc, :rr)) NOT VALID;
SELECT cdp_test.ris49_send('rowstore49rc', '{"type":"track","event":"e","userId":"u1","anonymousId":"h1","timestamp":"1999-01-01T00:00:00Z"}', false) AS rc;
SELECT cdp_test.ris49_send('rowstore49rc', '[{"type":"track","event":"e","userId":"u1","anonymousId":"h2","timestamp":"1999-01-01T00:00:00Z"},
  {"type":"track","event":"e","userId":"u1","anonymousId":"h3","timestamp":"2024-07-01T00:00:00Z"}]', true) AS rc;
SET default_transaction_isolation = 'repeatable read';
SELECT cdp_test.ris49_send('rowstore49rr', '{"type":"track","event":"e","userId":"u1","anonymousId":"h1","timestamp":"1999-01-01T00:00:00Z"}', false) AS rr;
SELECT cdp_test.ris49_send('rowstore49rr', '[{"type":"track","event":"e","userId":"u1","anonymousId":"h2","timestamp":"1999-01-01T00:00:00Z"},
  {"type":"track","event":"e","userId":"u1","anonymousId":"h3","timestamp":"2024-07-01T00:00:00Z"}]', true) AS rr;
RESET default_transaction_isolation;
ALTER TABLE cdp.profiles DROP CONSTRAINT ris49_seen_since_2000;
SELECT t, sqlstate, reason FROM cdp.quarantine q JOIN unnest(ARRAY['rowstore49rc', 'rowstore49rr']) t
    ON q.tenant_id = (SELECT tenant_id FROM cdp.tenants WHERE name = t)
 ORDER BY t, reason;
SELECT t, first_seen, last_seen FROM unnest(ARRAY['rowstore49rc', 'rowstore49rr']) t, cdp_test.ris49_profiles(t) WHERE id = 'user_id:u1' ORDER BY t;

-- 5. last_seen_at without its NOT NULL (a DBA's change): a NULL time is what
-- the UPDATE makes of it (greatest() skips the NULL), not the Datum under it
ALTER TABLE cdp.profiles ALTER COLUMN last_seen_at DROP NOT NULL;
UPDATE cdp.profiles SET last_seen_at = NULL WHERE tenant_id IN (:rc, :rr) AND profile_id IN
  (cdp.lookup('rowstore49rc', 'user_id', 'u1'), cdp.lookup('rowstore49rr', 'user_id', 'u1'));
SELECT cdp_test.ris49_send('rowstore49rc', '{"type":"track","event":"e","userId":"u1","anonymousId":"k1","timestamp":"2019-01-01T00:00:00Z"}', false) AS rc;
SET default_transaction_isolation = 'repeatable read';
SELECT cdp_test.ris49_send('rowstore49rr', '{"type":"track","event":"e","userId":"u1","anonymousId":"k1","timestamp":"2019-01-01T00:00:00Z"}', false) AS rr;
RESET default_transaction_isolation;
SELECT t, first_seen, last_seen FROM unnest(ARRAY['rowstore49rc', 'rowstore49rr']) t, cdp_test.ris49_profiles(t) WHERE id = 'user_id:u1' ORDER BY t;
UPDATE cdp.profiles SET last_seen_at = first_seen_at WHERE tenant_id IN (:rc, :rr) AND last_seen_at IS NULL;
ALTER TABLE cdp.profiles ALTER COLUMN last_seen_at SET NOT NULL;

-- 6. A second unique index on the identifier's key (any column order) is an
-- arbiter of the INSERT's ON CONFLICT too; the direct insert uses both
CREATE UNIQUE INDEX ris49_identifiers_key ON cdp.identifiers (id_hash, tenant_id, id_type);
SELECT cdp_test.ris49_send('rowstore49rc', '[{"type":"track","event":"e","userId":"u6","anonymousId":"a1","timestamp":"2024-07-02T00:00:00Z"},
  {"type":"track","event":"e","userId":"u7","anonymousId":"n7","timestamp":"2024-07-02T00:00:00Z"},
  {"type":"track","event":"e","anonymousId":"n7","context":{"traits":{"email":"N7@example.com"}},"timestamp":"2024-07-03T00:00:00Z"}]', true) AS rc;
SET default_transaction_isolation = 'repeatable read';
SELECT cdp_test.ris49_send('rowstore49rr', '[{"type":"track","event":"e","userId":"u6","anonymousId":"a1","timestamp":"2024-07-02T00:00:00Z"},
  {"type":"track","event":"e","userId":"u7","anonymousId":"n7","timestamp":"2024-07-02T00:00:00Z"},
  {"type":"track","event":"e","anonymousId":"n7","context":{"traits":{"email":"N7@example.com"}},"timestamp":"2024-07-03T00:00:00Z"}]', true) AS rr;
RESET default_transaction_isolation;
DROP INDEX cdp.ris49_identifiers_key;
SELECT t.name, i.id_type, count(*) FROM cdp.identifiers i JOIN cdp.tenants t USING (tenant_id)
 WHERE t.name IN ('rowstore49rc', 'rowstore49rr') GROUP BY 1, 2 ORDER BY 1, 2;
SELECT t, (SELECT count(*) FROM
              ((SELECT * FROM cdp_test.ris49_rows('rowstore49rc') EXCEPT SELECT * FROM cdp_test.ris49_rows(t))
               UNION ALL (SELECT * FROM cdp_test.ris49_rows(t) EXCEPT SELECT * FROM cdp_test.ris49_rows('rowstore49rc'))) d)
         AS differing_rows
  FROM unnest(ARRAY['rowstore49rr']) t;
