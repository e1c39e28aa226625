-- bench/sql/setup.sql — message generators and drivers for the benchmarks.
-- Everything is generated inside the server (jsonb_build_object over
-- generate_series) so that the client is never the bottleneck.
CREATE SCHEMA bench;

-- The i-th message (0-based) of a synthetic Segment-spec stream of n messages
-- about `people` people: message i belongs to person p = i % people and is
-- that person's k-th message (k = i / people), so a batch holds distinct
-- people and each person's messages spread over the whole run.
--  * about a quarter of the messages are identify ((p + k) % 4 = 0), the rest
--    track (half) and page (quarter);
--  * every message carries anonymousId anon-<p>; identify and every message
--    from k = 5 on also carry userId user-<p>; identify carries traits.email;
--  * a tenth of people (p % 10 = 3) merge: messages k < 4 are anonymous
--    (profile A), k = 4..7 come from a second device anon2-<p> logged in as
--    user-<p> (profile B), and k = 8 is an identify carrying anon-<p> and
--    user-<p>, which merges A and B.
CREATE FUNCTION bench.message(i bigint, people integer, t0 timestamptz, step interval DEFAULT '1 second')
RETURNS jsonb LANGUAGE sql STABLE AS $$
  SELECT jsonb_strip_nulls(jsonb_build_object(
           'type', typ,
           'messageId', 'bench-' || i,
           'anonymousId', CASE WHEN merger AND k BETWEEN 4 AND 7 THEN 'anon2-' || p ELSE 'anon-' || p END,
           'userId', CASE WHEN merger THEN CASE WHEN k >= 4 THEN 'user-' || p END
                          WHEN typ = 'identify' OR k >= 5 THEN 'user-' || p END,
           'event', CASE typ WHEN 'track' THEN (ARRAY['Product Viewed', 'Product Added', 'Order Completed',
                                                       'Signed In', 'Search'])[1 + (i % 5)] END,
           'name', CASE typ WHEN 'page' THEN (ARRAY['Home', 'Pricing', 'Docs', 'Blog'])[1 + (i % 4)] END,
           'properties', CASE WHEN typ <> 'identify' THEN jsonb_build_object(
                           'product_id', 'sku-' || (i % 5000), 'price', (i % 10000) / 100.0,
                           'currency', 'EUR', 'path', '/p/' || (i % 977), 'referrer', 'https://example.org/') END,
           'traits', CASE WHEN typ = 'identify' THEN jsonb_build_object(
                       'email', CASE WHEN NOT merger OR k = 8 THEN 'person' || p || '@example.com' END,
                       'name', 'Person ' || p, 'plan', (ARRAY['free', 'pro', 'team'])[1 + p % 3],
                       'logins', k) END,
           'context', jsonb_build_object(
                        'library', jsonb_build_object('name', 'analytics.js', 'version', '4.1.0'),
                        'ip', '10.' || (p % 250) || '.' || (k % 250) || '.1',
                        'userAgent', 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 bench',
                        'locale', 'en-US'),
           'timestamp', to_char((t0 + i * step) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"'),
           'sentAt', to_char((t0 + i * step) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))
    FROM (SELECT (i % people)::integer AS p, (i / people)::integer AS k) pk,
         LATERAL (SELECT (pk.p % 10 = 3) AS merger) m,
         LATERAL (SELECT CASE WHEN m.merger AND pk.k = 8 THEN 'identify'
                              WHEN (pk.p + pk.k) % 4 = 0 THEN 'identify'
                              WHEN (pk.p + pk.k) % 4 = 1 THEN 'page'
                              ELSE 'track' END AS typ) t
$$;
COMMENT ON FUNCTION bench.message(bigint, integer, timestamptz, interval) IS 'bench: the i-th synthetic message.';

-- A tenant with one source; returns the write key.
CREATE FUNCTION bench.new_tenant(p_name text, p_settings jsonb DEFAULT '{}') RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  PERFORM cdp.create_tenant(p_name, p_settings);
  RETURN cdp.create_source(p_name, 'bench', 'api');
END $$;

-- Pre-built request bodies: bench.batches(size, b) holds messages
-- [b*size, (b+1)*size) as one JSON array, built before any timing starts.
CREATE TABLE bench.batches (size integer, b integer, body jsonb, PRIMARY KEY (size, b));
ALTER TABLE bench.batches ALTER COLUMN body SET STORAGE EXTERNAL;  -- no decompression in the timed loop

CREATE FUNCTION bench.make_batches(p_size integer, p_n bigint, p_people integer, p_t0 timestamptz,
                                   p_step interval DEFAULT '1 second')
RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO bench.batches (size, b, body)
  SELECT p_size, (i / p_size)::integer, jsonb_agg(bench.message(i, p_people, p_t0, p_step) ORDER BY i)
    FROM generate_series(0::bigint, p_n - 1) i
   GROUP BY i / p_size;
  SELECT count(*) FROM bench.batches WHERE size = p_size;
$$;

-- Feed every pre-built batch of one size to cdp.ingest_batch, one transaction
-- per batch (as an application would), and time it inside the server.
CREATE PROCEDURE bench.run_batches(p_key text, p_size integer,
                                   INOUT accepted bigint DEFAULT 0, INOUT others bigint DEFAULT 0,
                                   INOUT seconds double precision DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  nb integer;
  a bigint; o bigint;
BEGIN
  SELECT count(*) INTO nb FROM bench.batches WHERE size = p_size;
  FOR bn IN 0 .. nb - 1 LOOP
    SELECT count(*) FILTER (WHERE r.status = 'accepted'), count(*) FILTER (WHERE r.status <> 'accepted')
      INTO a, o
      FROM cdp.ingest_batch(p_key, (SELECT body FROM bench.batches WHERE size = p_size AND b = bn)) r;
    accepted := accepted + a; others := others + o;
    COMMIT;
  END LOOP;
  seconds := extract(epoch FROM clock_timestamp() - t0);
END $$;

-- The cost of only fetching the same batches (what the loop above pays
-- besides cdp.ingest_batch itself).
CREATE PROCEDURE bench.read_batches(p_size integer, INOUT messages bigint DEFAULT 0,
                                    INOUT seconds double precision DEFAULT 0)
LANGUAGE plpgsql AS $$
DECLARE
  t0 timestamptz := clock_timestamp();
  nb integer; m integer;
BEGIN
  SELECT count(*) INTO nb FROM bench.batches WHERE size = p_size;
  FOR bn IN 0 .. nb - 1 LOOP
    SELECT jsonb_array_length(body) INTO m FROM bench.batches WHERE size = p_size AND b = bn;
    messages := messages + m;
  END LOOP;
  seconds := extract(epoch FROM clock_timestamp() - t0);
END $$;

-- The same n messages as events rows, already resolved (profile_id of person
-- p is p_profile_base + p), in the column order of the COPY baseline.
CREATE FUNCTION bench.resolved_rows(p_n bigint, p_people integer, p_t0 timestamptz, p_tenant_id integer,
                                    p_source_id integer, p_profile_base bigint,
                                    p_step interval DEFAULT '1 second')
RETURNS TABLE (tenant_id integer, event_time timestamptz, profile_id bigint, source_id integer,
               message_id text, event_type text, event_name text, user_id text, anonymous_id text,
               properties jsonb, traits jsonb, context jsonb)
LANGUAGE sql STABLE AS $$
  SELECT p_tenant_id, (m ->> 'timestamp')::timestamptz, p_profile_base + (i % p_people), p_source_id,
         m ->> 'messageId', m ->> 'type', coalesce(m ->> 'event', m ->> 'name'), m ->> 'userId',
         m ->> 'anonymousId', m -> 'properties', m -> 'traits', m -> 'context'
    FROM generate_series(0::bigint, p_n - 1) i, LATERAL bench.message(i, p_people, p_t0, p_step) m
$$;

CREATE FUNCTION bench.tenant_id(p_name text) RETURNS integer LANGUAGE sql STABLE AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = p_name $$;
CREATE FUNCTION bench.source_id(p_name text) RETURNS integer LANGUAGE sql STABLE AS
  $$ SELECT source_id FROM cdp.sources s JOIN cdp.tenants t USING (tenant_id) WHERE t.name = p_name $$;

-- Messages for bench/single_ingest.sh, made before the timed runs: 5 per
-- person (message i is about person i % 100 000, as bench.message numbers
-- them; a quarter identify), stamped with the time they were made. The
-- pgbench scripts read one by primary key and give it a fresh messageId, so
-- that building the message costs both sides one index lookup. (A SQL
-- generator called per transaction took half of each backend's CPU and its
-- per-call planning memory made malloc trim the heap of some backends and not
-- others: the ratio then measured the allocator, see docs/performance.md.)
CREATE FUNCTION bench.make_live_pool(people integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  DROP TABLE IF EXISTS bench.live_pool;
  CREATE TABLE bench.live_pool (i integer PRIMARY KEY, m jsonb NOT NULL);
  INSERT INTO bench.live_pool
  SELECT i, bench.message(i, people, now(), '0'::interval) FROM generate_series(0, 5 * people - 1) i;
END $$;

-- Adds the hashes of each message's userId and anonymousId under a tenant's
-- secret (cdp._identifier_hash, the engine's own) to bench.live_pool, for
-- bench/pgbench/floor.sql, which looks them up without hashing. The table is
-- rebuilt rather than updated, so that all three pgbench scripts read the
-- same table, of the same size, with no dead rows.
CREATE FUNCTION bench.add_floor_hashes(p_tenant_id integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  CREATE TABLE bench.live_pool_hashed (i integer PRIMARY KEY, m jsonb NOT NULL, uh bytea, ah bytea);
  INSERT INTO bench.live_pool_hashed
  SELECT i, m, cdp._identifier_hash(p_tenant_id, 'user_id', m ->> 'userId'),
         cdp._identifier_hash(p_tenant_id, 'anonymous_id', m ->> 'anonymousId')
    FROM bench.live_pool;
  DROP TABLE bench.live_pool;
  ALTER TABLE bench.live_pool_hashed RENAME TO live_pool;
END $$;

-- n profiles with ids base+1 .. base+n, each with a user_id (lk-user-<i>) and
-- an email (lk<i>@example.com), traits, and one event each, hashed by the
-- engine's own cdp._identifier_hash, so cdp.lookup finds them.
CREATE FUNCTION bench.bulk_profiles(p_tenant_id integer, p_source_id integer, p_n integer, p_base bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cdp.profiles (tenant_id, profile_id, traits, trait_times)
  SELECT p_tenant_id, p_base + i,
         jsonb_build_object('email', 'lk' || i || '@example.com', 'name', 'Person ' || i,
                            'plan', (ARRAY['free', 'pro', 'team'])[1 + i % 3]),
         jsonb_build_object('email', now(), 'name', now(), 'plan', now())
    FROM generate_series(1, p_n) i;
  INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id, source_id)
  SELECT p_tenant_id, t.id_type, cdp._identifier_hash(p_tenant_id, t.id_type, t.v), p_base + i, p_source_id
    FROM generate_series(1, p_n) i,
         LATERAL (VALUES ('user_id', 'lk-user-' || i), ('email', 'lk' || i || '@example.com')) t(id_type, v);
  INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name,
                          user_id, properties, context)
  SELECT p_tenant_id, now() - (i % 86400) * interval '1 second', p_base + i, p_source_id, 'lk-' || i,
         'track', 'Signed In', 'lk-user-' || i, '{"method": "password"}', '{"library": {"name": "bench"}}'
    FROM generate_series(1, p_n) i;
END $$;

-- Monthly partitions of cdp.events for the `months` months up to now
-- (pg_partman premakes only one month back).
CREATE FUNCTION bench.make_months(months integer) RETURNS void LANGUAGE plpgsql AS $$
DECLARE s text;
BEGIN
  SELECT n.nspname INTO s FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_partman';
  EXECUTE format('SELECT %I.create_partition_time($1, $2)', s)
    USING 'cdp.events', (SELECT array_agg(date_trunc('month', now()) - m * interval '1 month')
                           FROM generate_series(0, months - 1) m);
END $$;

-- A person for the erasure benchmark: canonical profile p_id with user_id,
-- email and anonymous_id identifiers, a second profile p_id + 1 merged into
-- it (one tenth of the events), consent, and n events spread evenly over the
-- last `months` months, with their message_ids rows.
CREATE FUNCTION bench.person(p_tenant_id integer, p_source_id integer, p_id bigint, p_name text,
                             p_events integer, p_months integer) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
  INSERT INTO cdp.profiles (tenant_id, profile_id, traits) VALUES
    (p_tenant_id, p_id, jsonb_build_object('email', p_name || '@example.com', 'name', p_name));
  INSERT INTO cdp.profiles (tenant_id, profile_id, merged_into) VALUES (p_tenant_id, p_id + 1, p_id);
  INSERT INTO cdp.merges (tenant_id, winner_id, loser_id) VALUES (p_tenant_id, p_id, p_id + 1);
  INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id, source_id)
  SELECT p_tenant_id, t, cdp._identifier_hash(p_tenant_id, t, v), p_id, p_source_id
    FROM (VALUES ('user_id', p_name), ('email', p_name || '@example.com'), ('anonymous_id', 'anon-' || p_name)) x(t, v);
  INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, source_id, legal_basis)
  VALUES (p_tenant_id, p_id, 'analytics', 'granted', p_source_id, 'consent');
  INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name,
                          user_id, properties, context)
  SELECT p_tenant_id,
         least(date_trunc('month', now()) - (i % p_months) * interval '1 month' + (i % 600) * interval '1 hour',
               now() - interval '1 minute'),
         CASE WHEN i % 10 = 0 THEN p_id + 1 ELSE p_id END, p_source_id, p_name || '-' || i, 'track', 'Product Viewed',
         p_name, jsonb_build_object('product_id', 'sku-' || i % 100, 'price', 9.99), '{"library": {"name": "bench"}}'
    FROM generate_series(1, p_events) i;
  -- their messageIds, as ingestion leaves them for deduplication
  INSERT INTO cdp.message_ids (tenant_id, message_id, event_time, event_id)
  SELECT tenant_id, message_id, event_time, event_id FROM cdp.events
   WHERE tenant_id = p_tenant_id AND profile_id IN (p_id, p_id + 1);
END $$;

-- Everyone else: n people with k events each over the same months.
CREATE FUNCTION bench.crowd(p_tenant_id integer, p_source_id integer, p_base bigint, p_people integer,
                            p_events_each integer, p_months integer) RETURNS void LANGUAGE sql AS $$
  INSERT INTO cdp.profiles (tenant_id, profile_id) SELECT p_tenant_id, p_base + i FROM generate_series(1, p_people) i;
  INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id, source_id)
  SELECT p_tenant_id, 'user_id', cdp._identifier_hash(p_tenant_id, 'user_id', 'crowd-' || i), p_base + i, p_source_id
    FROM generate_series(1, p_people) i;
  INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name, user_id,
                          properties)
  SELECT p_tenant_id, now() - ((i * 7 + j * 13) % (p_months * 28)) * interval '1 day' - (i % 86400) * interval '1 second',
         p_base + i, p_source_id, 'crowd-' || i || '-' || j, 'track',
         (ARRAY['Product Viewed', 'Product Added', 'Order Completed', 'Signed In', 'Search'])[1 + (i + j) % 5],
         'crowd-' || i, jsonb_build_object('n', j)
    FROM generate_series(1, p_people) i, generate_series(1, p_events_each) j;
$$;

-- Milliseconds one statement takes, inside the server.
CREATE FUNCTION bench.time_ms(p_sql text) RETURNS double precision LANGUAGE plpgsql AS $$
DECLARE t0 timestamptz := clock_timestamp();
BEGIN
  EXECUTE p_sql;
  RETURN extract(epoch FROM clock_timestamp() - t0) * 1000;
END $$;

-- Current consent granted for a purpose to every profile of a tenant, as the
-- ledger trigger would leave it (bulk, for the RLS benchmark).
CREATE FUNCTION bench.consent_all(p_tenant_id integer, p_purpose text) RETURNS bigint LANGUAGE sql AS $$
  INSERT INTO cdp.consent_current (tenant_id, profile_id, purpose, decision, recorded_at, consent_id)
  SELECT tenant_id, profile_id, p_purpose, 'granted', now(), 0 FROM cdp.profiles WHERE tenant_id = p_tenant_id;
  SELECT count(*) FROM cdp.consent_current WHERE tenant_id = p_tenant_id AND purpose = p_purpose;
$$;
