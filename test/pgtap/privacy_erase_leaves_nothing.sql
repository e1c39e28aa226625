-- Erasure leaves nothing of the person in any table of cdp, found through
-- the catalogs: every column that names a profile (profile_id, winner_id,
-- loser_id, other_profile_id, merged_into) and every identifier hash column
-- (id_hash, trigger_id_hash, id_hashes), so tables added later are covered
-- without editing this test. Only cdp.suppressions keeps the hashes (that is
-- its purpose). Run as a compliance role; the other person is untouched.
BEGIN;
SELECT plan(8);

SELECT cdp.create_tenant('tap-erase') AS t \gset
CREATE ROLE tap_erase_dpo IN ROLE cdp_compliance;
SELECT cdp.grant_access('tap_erase_dpo', 'tap-erase');
INSERT INTO cdp.profiles (tenant_id, profile_id, merged_into) VALUES
  (:t, 92001, NULL), (:t, 92002, 92001), (:t, 92003, NULL);
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:t, 'email', cdp._identifier_hash(:t, 'email', 'gone@example.com'), 92001),
  (:t, 'device_id', cdp._identifier_hash(:t, 'device_id', 'dev-1'), 92001),
  (:t, 'email', cdp._identifier_hash(:t, 'email', 'stays@example.com'), 92003);
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type) VALUES
  (:t, now(), 92001, 1, 'g1', 'track'), (:t, '2001-01-01', 92002, 1, 'g2', 'track'),
  (:t, now() + interval '2 months', 92002, 1, 'g3', 'track'), (:t, now(), 92003, 1, 's1', 'track');
INSERT INTO cdp.message_ids (tenant_id, message_id) VALUES (:t, 'g1'), (:t, 'g2'), (:t, 'g3'), (:t, 's1');
INSERT INTO cdp.merges (tenant_id, winner_id, loser_id, trigger_id_type, trigger_id_hash) VALUES
  (:t, 92001, 92002, 'device_id', cdp._identifier_hash(:t, 'device_id', 'dev-1'));
INSERT INTO cdp.refused_links (tenant_id, profile_id, other_profile_id, id_type, id_hash, reason) VALUES
  (:t, 92003, 92001, 'user_id', '\x01', 'limit'),
  (:t, 92003, NULL, 'email', cdp._identifier_hash(:t, 'email', 'gone@example.com'), 'limit');
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES
  (:t, 92001, 'analytics', 'granted'), (:t, 92003, 'analytics', 'granted');
INSERT INTO cdp.quarantine (tenant_id, payload, reason, sqlstate, id_hashes) VALUES
  (:t, '{}', 'x', '22023', ARRAY[cdp._identifier_hash(:t, 'device_id', 'dev-1')]);

-- What to look for, and a helper that counts it in every table.
CREATE TEMP TABLE person AS
  SELECT ARRAY[92001, 92002]::bigint[] AS ids,
         ARRAY[cdp._identifier_hash(:t, 'email', 'gone@example.com'), cdp._identifier_hash(:t, 'device_id', 'dev-1')] AS hashes;
CREATE FUNCTION pg_temp.traces(p_tenant integer) RETURNS TABLE (tbl text, col text, n bigint)
LANGUAGE plpgsql AS $$
DECLARE
  r record;
BEGIN
  FOR r IN
    SELECT c.oid::regclass AS rel, a.attname, format_type(a.atttypid, a.atttypmod) AS typ
      FROM pg_class c JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped
     WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind IN ('r', 'p') AND NOT c.relispartition
       AND c.relname <> 'suppressions'
       AND EXISTS (SELECT 1 FROM pg_attribute t WHERE t.attrelid = c.oid AND t.attname = 'tenant_id')
       AND ((a.attname IN ('profile_id', 'winner_id', 'loser_id', 'other_profile_id', 'merged_into') AND a.atttypid = 'int8'::regtype)
            OR (a.attname IN ('id_hash', 'trigger_id_hash') AND a.atttypid = 'bytea'::regtype)
            OR (a.attname = 'id_hashes' AND a.atttypid = 'bytea[]'::regtype))
  LOOP
    tbl := r.rel::text; col := r.attname;
    IF r.typ = 'bigint' THEN
      EXECUTE format('SELECT count(*) FROM %s x, person WHERE x.tenant_id = $1 AND x.%I = ANY (person.ids)', r.rel, r.attname)
        INTO n USING p_tenant;
    ELSIF r.typ = 'bytea' THEN
      EXECUTE format('SELECT count(*) FROM %s x, person WHERE x.tenant_id = $1 AND x.%I = ANY (person.hashes)', r.rel, r.attname)
        INTO n USING p_tenant;
    ELSE
      EXECUTE format('SELECT count(*) FROM %s x, person WHERE x.tenant_id = $1 AND x.%I && person.hashes', r.rel, r.attname)
        INTO n USING p_tenant;
    END IF;
    RETURN NEXT;
  END LOOP;
END
$$;

SELECT cmp_ok((SELECT count(*) FROM pg_temp.traces(:t)), '>=', 10::bigint,
              'the trace finder looks at the profile and hash columns of at least 10 table columns');
SELECT isnt_empty($$SELECT 1 FROM pg_temp.traces($$ || :t || $$) WHERE n > 0$$,
                  'before erasure the person has traces (the finder finds them)');
SELECT cmp_ok((SELECT count(*) FROM cdp.events WHERE tenant_id = :t AND profile_id IN (92001, 92002)
                 AND tableoid = 'cdp.events_default'::regclass), '>=', 1::bigint,
              'one of the person''s events sits in the default partition');

SET LOCAL ROLE tap_erase_dpo;
SELECT is((cdp.erase('tap-erase', 'device_id', 'dev-1')->'deleted'->>'profiles')::int, 2,
          'erasure by any identifier of the person removes both of its profiles');
RESET ROLE;

SELECT is_empty($$SELECT tbl || '.' || col || ': ' || n FROM pg_temp.traces($$ || :t || $$) WHERE n > 0$$,
                'after erasure no table of cdp holds the person''s profile ids or identifier hashes');
SELECT is((SELECT count(*) FROM cdp.message_ids WHERE tenant_id = :t AND message_id LIKE 'g%'), 0::bigint,
          'the message ids of the person''s events are gone');
SELECT results_eq($$SELECT profile_id FROM cdp.profiles WHERE tenant_id = $$ || :t || $$ ORDER BY 1$$,
                  ARRAY[92003::bigint], 'the other person is untouched');
SELECT is((SELECT count(*) FROM cdp.suppressions s, person WHERE s.tenant_id = :t AND s.id_hash = ANY (person.hashes)),
          2::bigint, 'both identifier hashes of the person are suppressed');

SELECT * FROM finish();
ROLLBACK;
