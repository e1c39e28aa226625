-- Privacy: purge (shared by erasure and inactive-profile retention), erasure,
-- export. See docs/privacy.md.

-- Deletes profiles and everything they own, in one statement per table.
-- The profiles given are expanded with every profile merged into them (a
-- merged profile belongs to its canonical one). Rows go from: events (the
-- partitioned parent, so every monthly partition and the default one),
-- message_ids of those events, identifiers, merges and refused_links naming
-- any of the profiles, consent_ledger and consent_current, quarantined
-- payloads whose id_hashes overlap the person's identifier hashes, group
-- memberships when that table exists, and the profiles. With suppress the
-- identifier hashes are added to cdp.suppressions first, so ingestion answers
-- later messages carrying them 'suppressed'. Returns the count per table.
CREATE FUNCTION cdp._purge_profiles(tenant_id integer, profile_ids bigint[], suppress boolean)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid constant integer := _purge_profiles.tenant_id;
  ids bigint[];
  hashes bytea[];
  n bigint;
  counts jsonb := '{}';
  sc record;
  scrubbed_traits bigint;
  scrubbed_events bigint;
BEGIN
  IF tid IS NULL OR suppress IS NULL THEN
    RAISE EXCEPTION 'tenant_id and suppress must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF profile_ids IS NULL OR pg_catalog.cardinality(profile_ids) = 0 THEN
    RETURN pg_catalog.jsonb_build_object('profiles', 0, 'events', 0, 'message_ids', 0, 'identifiers', 0,
             'merges', 0, 'refused_links', 0, 'consent_ledger', 0, 'consent_current', 0, 'quarantine', 0,
             'group_members', 0, 'suppressions', 0, 'scrubbed_other_profiles', 0, 'scrubbed_other_events', 0);
  END IF;

  -- Suppressing: no ingestion of the tenant in flight meanwhile (see
  -- cdp.erase; a no-op when cdp.erase took it already). Taken first, before
  -- any row lock, so that lock order is the same as ingestion's.
  IF suppress THEN
    PERFORM cdp._lock_tenant_for_erasure(tid);
  END IF;

  -- The person: the profiles given and every profile merged into them. The
  -- rows are locked so that identity resolution, which locks the profiles
  -- it changes (new identifiers, merges, traits), waits for this transaction
  -- and then finds them gone. (A message for a known identifier locks no
  -- profile row; when suppressing, the tenant's erasure lock above covers
  -- that path, and inactive-profile retention takes the profiles' private
  -- event locks first: see cdp._retention_profiles.)
  PERFORM 1 FROM cdp.profiles p
    WHERE p.tenant_id OPERATOR(pg_catalog.=) tid
      AND (p.profile_id OPERATOR(pg_catalog.=) ANY (profile_ids) OR p.merged_into OPERATOR(pg_catalog.=) ANY (profile_ids))
    ORDER BY p.profile_id
    FOR UPDATE;
  SELECT pg_catalog.array_agg(DISTINCT x.id ORDER BY x.id) INTO ids FROM (
    SELECT pg_catalog.unnest(profile_ids) AS id
    UNION
    SELECT p.profile_id FROM cdp.profiles p
     WHERE p.tenant_id OPERATOR(pg_catalog.=) tid AND p.merged_into OPERATOR(pg_catalog.=) ANY (profile_ids)) x
   WHERE x.id IS NOT NULL;

  SELECT pg_catalog.array_agg(i.id_hash ORDER BY i.id_hash) INTO hashes
    FROM cdp.identifiers i
   WHERE i.tenant_id OPERATOR(pg_catalog.=) tid AND i.profile_id OPERATOR(pg_catalog.=) ANY (ids);
  hashes := coalesce(hashes, '{}');

  IF suppress THEN
    WITH ins AS (
      INSERT INTO cdp.suppressions (tenant_id, id_type, id_hash)
      SELECT tid, i.id_type, i.id_hash FROM cdp.identifiers i
       WHERE i.tenant_id OPERATOR(pg_catalog.=) tid AND i.profile_id OPERATOR(pg_catalog.=) ANY (ids)
      ON CONFLICT DO NOTHING
      RETURNING 1)
    SELECT pg_catalog.count(*) INTO n FROM ins;
  ELSE
    n := 0;
  END IF;
  counts := counts || pg_catalog.jsonb_build_object('suppressions', n);

  WITH del AS (
    DELETE FROM cdp.events e
     WHERE e.tenant_id OPERATOR(pg_catalog.=) tid AND e.profile_id OPERATOR(pg_catalog.=) ANY (ids)
    RETURNING e.message_id),
  dm AS (
    DELETE FROM cdp.message_ids m
     WHERE m.tenant_id OPERATOR(pg_catalog.=) tid
       AND m.message_id OPERATOR(pg_catalog.=) ANY (SELECT d.message_id FROM del d)
    RETURNING 1)
  SELECT counts || pg_catalog.jsonb_build_object('events', (SELECT pg_catalog.count(*) FROM del),
                                                 'message_ids', (SELECT pg_catalog.count(*) FROM dm))
    INTO counts;

  DELETE FROM cdp.identifiers i
   WHERE i.tenant_id OPERATOR(pg_catalog.=) tid AND i.profile_id OPERATOR(pg_catalog.=) ANY (ids);
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := counts || pg_catalog.jsonb_build_object('identifiers', n);

  DELETE FROM cdp.merges m
   WHERE m.tenant_id OPERATOR(pg_catalog.=) tid
     AND (m.winner_id OPERATOR(pg_catalog.=) ANY (ids) OR m.loser_id OPERATOR(pg_catalog.=) ANY (ids));
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := counts || pg_catalog.jsonb_build_object('merges', n);

  -- Copies held by other people (erasure only). When identity resolution
  -- refused to link one of the person's identifiers to another profile
  -- (family email, shared device), the message was stored on that profile
  -- with the raw value, and an identify's traits were merged into it. The
  -- refusals say where: before they are deleted, remove the value from the
  -- other person's profiles (traits and trait_times, canonical and merged
  -- ones) and events (traits, context.traits, user_id/anonymous_id columns)
  -- wherever it hashes to the person's identifier. Only equal values go:
  -- the other person's own data stays.
  scrubbed_traits := 0;
  scrubbed_events := 0;
  IF suppress THEN
    FOR sc IN
      SELECT r.id_type, r.id_hash, pg_catalog.array_agg(DISTINCT x.pid) AS pids
        FROM cdp.refused_links r
        CROSS JOIN LATERAL pg_catalog.unnest(
          cdp._person_profiles(tid, cdp._canonical_profile(tid, r.profile_id))) x(pid)
       WHERE r.tenant_id OPERATOR(pg_catalog.=) tid AND r.id_hash OPERATOR(pg_catalog.=) ANY (hashes)
         AND x.pid OPERATOR(pg_catalog.<>) ALL (ids)
       GROUP BY r.id_type, r.id_hash
    LOOP
      UPDATE cdp.profiles p
         SET traits = p.traits OPERATOR(pg_catalog.-) sc.id_type,
             trait_times = p.trait_times OPERATOR(pg_catalog.-) sc.id_type
       WHERE p.tenant_id OPERATOR(pg_catalog.=) tid AND p.profile_id OPERATOR(pg_catalog.=) ANY (sc.pids)
         AND pg_catalog.jsonb_typeof(p.traits) OPERATOR(pg_catalog.=) 'object'
         AND cdp._identifier_hash(tid, sc.id_type, p.traits OPERATOR(pg_catalog.->>) sc.id_type)
             OPERATOR(pg_catalog.=) sc.id_hash;
      GET DIAGNOSTICS n = ROW_COUNT;
      scrubbed_traits := scrubbed_traits + n;
      WITH hit AS (
        SELECT e.tenant_id, e.event_time, e.event_id,
               coalesce(cdp._identifier_hash(tid, sc.id_type,
                          CASE WHEN pg_catalog.jsonb_typeof(e.traits) OPERATOR(pg_catalog.=) 'object'
                               THEN e.traits OPERATOR(pg_catalog.->>) sc.id_type END)
                        OPERATOR(pg_catalog.=) sc.id_hash, false) AS in_traits,
               coalesce(cdp._identifier_hash(tid, sc.id_type,
                          CASE WHEN pg_catalog.jsonb_typeof(e.context OPERATOR(pg_catalog.->) 'traits') OPERATOR(pg_catalog.=) 'object'
                               THEN e.context OPERATOR(pg_catalog.->) 'traits' OPERATOR(pg_catalog.->>) sc.id_type END)
                        OPERATOR(pg_catalog.=) sc.id_hash, false) AS in_context,
               coalesce(sc.id_type OPERATOR(pg_catalog.=) 'user_id'
                        AND cdp._identifier_hash(tid, sc.id_type, e.user_id) OPERATOR(pg_catalog.=) sc.id_hash, false) AS in_user_id,
               coalesce(sc.id_type OPERATOR(pg_catalog.=) 'anonymous_id'
                        AND cdp._identifier_hash(tid, sc.id_type, e.anonymous_id) OPERATOR(pg_catalog.=) sc.id_hash, false) AS in_anonymous_id
          FROM cdp.events e
         WHERE e.tenant_id OPERATOR(pg_catalog.=) tid AND e.profile_id OPERATOR(pg_catalog.=) ANY (sc.pids)),
      upd AS (
        UPDATE cdp.events e
           SET traits = CASE WHEN h.in_traits THEN e.traits OPERATOR(pg_catalog.-) sc.id_type ELSE e.traits END,
               context = CASE WHEN h.in_context
                              THEN pg_catalog.jsonb_set(e.context, '{traits}',
                                     (e.context OPERATOR(pg_catalog.->) 'traits') OPERATOR(pg_catalog.-) sc.id_type)
                              ELSE e.context END,
               user_id = CASE WHEN h.in_user_id THEN NULL ELSE e.user_id END,
               anonymous_id = CASE WHEN h.in_anonymous_id THEN NULL ELSE e.anonymous_id END
          FROM hit h
         WHERE e.tenant_id OPERATOR(pg_catalog.=) h.tenant_id AND e.event_time OPERATOR(pg_catalog.=) h.event_time
           AND e.event_id OPERATOR(pg_catalog.=) h.event_id
           AND (h.in_traits OR h.in_context OR h.in_user_id OR h.in_anonymous_id)
        RETURNING 1)
      SELECT pg_catalog.count(*) INTO n FROM upd;
      scrubbed_events := scrubbed_events + n;
    END LOOP;
  END IF;
  counts := counts || pg_catalog.jsonb_build_object('scrubbed_other_profiles', scrubbed_traits,
                                                    'scrubbed_other_events', scrubbed_events);

  DELETE FROM cdp.refused_links r
   WHERE r.tenant_id OPERATOR(pg_catalog.=) tid
     AND (r.profile_id OPERATOR(pg_catalog.=) ANY (ids) OR r.other_profile_id OPERATOR(pg_catalog.=) ANY (ids)
          OR r.id_hash OPERATOR(pg_catalog.=) ANY (hashes));
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := counts || pg_catalog.jsonb_build_object('refused_links', n);

  PERFORM pg_catalog.set_config('cdp_purge.consent_ledger', 'on', true);
  DELETE FROM cdp.consent_ledger c
   WHERE c.tenant_id OPERATOR(pg_catalog.=) tid AND c.profile_id OPERATOR(pg_catalog.=) ANY (ids);
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM pg_catalog.set_config('cdp_purge.consent_ledger', 'off', true);
  counts := counts || pg_catalog.jsonb_build_object('consent_ledger', n);

  DELETE FROM cdp.consent_current c
   WHERE c.tenant_id OPERATOR(pg_catalog.=) tid AND c.profile_id OPERATOR(pg_catalog.=) ANY (ids);
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := counts || pg_catalog.jsonb_build_object('consent_current', n);

  DELETE FROM cdp.quarantine q
   WHERE q.tenant_id OPERATOR(pg_catalog.=) tid AND q.id_hashes OPERATOR(pg_catalog.&&) hashes;
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := counts || pg_catalog.jsonb_build_object('quarantine', n);

  -- Group memberships are kept by identity resolution when it tracks them;
  -- the table is optional here so that this function does not depend on it.
  n := 0;
  IF pg_catalog.to_regclass('cdp.group_members') IS NOT NULL THEN
    EXECUTE 'DELETE FROM cdp.group_members g WHERE g.tenant_id OPERATOR(pg_catalog.=) $1 '
            'AND g.profile_id OPERATOR(pg_catalog.=) ANY ($2)' USING tid, ids;
    GET DIAGNOSTICS n = ROW_COUNT;
  END IF;
  counts := counts || pg_catalog.jsonb_build_object('group_members', n);

  DELETE FROM cdp.profiles p
   WHERE p.tenant_id OPERATOR(pg_catalog.=) tid AND p.profile_id OPERATOR(pg_catalog.=) ANY (ids);
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := counts || pg_catalog.jsonb_build_object('profiles', n);

  RETURN counts;
END
$$;
COMMENT ON FUNCTION cdp._purge_profiles(integer, bigint[], boolean) IS
  'cdp internal (erasure, inactive-profile retention): deletes the profiles, every profile merged into them and everything they own (events in every partition, message ids, identifiers, merges, refused links, consent, quarantined payloads, group memberships); with suppress (erasure), first adds their identifier hashes to cdp.suppressions and removes copies of their identifier values from the other profiles that were refused them (traits, event traits and context.traits, user_id/anonymous_id). Returns the count per table.';

-- The canonical profile of the person, locked. A concurrent merge may turn
-- the profile found into a merged one between the lookup and the lock: then
-- look again (merges are one hop, so this settles at once).
CREATE FUNCTION cdp._lock_person(p_tenant_id integer, p_id_type text, p_value text,
                                 OUT profile_id bigint, OUT id_hash bytea)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  canon_now bigint;
BEGIN
  FOR attempt IN 1..10 LOOP
    SELECT r.profile_id, r.id_hash INTO profile_id, id_hash FROM cdp._resolve_identifier(p_tenant_id, p_id_type, p_value) r;
    IF profile_id IS NULL THEN
      RETURN;
    END IF;
    SELECT coalesce(p.merged_into, p.profile_id) INTO canon_now
      FROM cdp.profiles p
     WHERE p.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND p.profile_id OPERATOR(pg_catalog.=) _lock_person.profile_id
       FOR UPDATE;
    IF canon_now OPERATOR(pg_catalog.=) profile_id THEN
      RETURN;
    END IF;
  END LOOP;
  RAISE EXCEPTION 'could not lock the profile of this identifier' USING ERRCODE = 'lock_not_available',
    DETAIL = 'It kept being merged while erasure or export ran.', HINT = 'Try again.';
END
$$;
COMMENT ON FUNCTION cdp._lock_person(integer, text, text) IS
  'cdp internal: resolves a raw identifier to its canonical profile and locks that profile row (NULL if no profile carries it).';

-- GDPR art. 17 / CCPA deletion of the whole resolved person, in one
-- transaction: every profile merged into the canonical one and everything
-- they own (cdp._purge_profiles), the identifier hashes suppressed, the
-- identifier asked for suppressed even when no profile carries it. The
-- receipt holds counts, never the raw value, and goes to the audit log.
CREATE FUNCTION cdp.erase(tenant text, id_type text, value text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._authorized_tenant(tenant, 'compliance');
  person record;
  counts jsonb;
  n bigint;
  receipt jsonb;
  lock_wait text;
  prev_timeout text;
BEGIN
  -- Serialize with the tenant's ingestion (docs/privacy.md, "Erasure racing
  -- ingestion"): every ingest call takes the tenant's erasure lock (a
  -- private lock, src/locks.c) in share mode before it reads
  -- cdp.suppressions and keeps it to the end of its transaction. Taking it
  -- exclusively here, before looking the person up, waits for the tenant's
  -- ingesting transactions in flight (whose rows the lookups below then
  -- see) and makes new ones of the tenant wait until this erasure commits
  -- (they then see the suppressions and answer 'suppressed'). Other tenants
  -- neither wait nor are waited for. That needs each statement to see what
  -- committed while it waited, i.e. READ COMMITTED: a transaction snapshot
  -- taken before the lock would miss the rows of the ingestion it waited for.
  IF pg_catalog.current_setting('transaction_isolation') OPERATOR(pg_catalog.<>) 'read committed' THEN
    RAISE EXCEPTION 'cdp.erase must run at isolation level READ COMMITTED'
      USING ERRCODE = 'invalid_transaction_state',
            DETAIL = pg_catalog.format('This transaction runs at %s: its snapshot could miss rows of an ingestion it waits for.',
                                       pg_catalog.upper(pg_catalog.current_setting('transaction_isolation'))),
            HINT = 'Call it in its own transaction, or in one begun with BEGIN ISOLATION LEVEL READ COMMITTED.';
  END IF;
  -- While erase waits for the lock, every new ingest call of the tenant
  -- queues behind the waiting request. So the wait is bounded
  -- (cdp_erase.lock_timeout, default 5s): an erasure that cannot get the
  -- lock fails with 55P03 and is retried later, instead of stalling the
  -- tenant's ingestion behind a long ingesting transaction.
  lock_wait := coalesce(NULLIF(pg_catalog.current_setting('cdp_erase.lock_timeout', true), ''), '5s');
  prev_timeout := pg_catalog.current_setting('lock_timeout');
  PERFORM pg_catalog.set_config('lock_timeout', lock_wait, true);
  BEGIN
    PERFORM cdp._lock_tenant_for_erasure(tid);
  EXCEPTION WHEN lock_not_available THEN
    RAISE EXCEPTION 'cdp.erase could not lock the ingestion of tenant "%" within %', tenant, lock_wait
      USING ERRCODE = 'lock_not_available',
            DETAIL = 'Ingesting transactions of this tenant in flight hold its erasure lock. Erasure waits at most cdp_erase.lock_timeout so that the tenant''s ingestion does not queue behind it; nothing was erased.',
            HINT = 'Retry the erasure; if it keeps failing, look for long-running transactions that called cdp.ingest for this tenant, or raise cdp_erase.lock_timeout for this session.';
  END;
  PERFORM pg_catalog.set_config('lock_timeout', prev_timeout, true);
  SELECT * INTO person FROM cdp._lock_person(tid, id_type, value);
  IF person.profile_id IS NOT NULL THEN
    counts := cdp._purge_profiles(tid, ARRAY[person.profile_id], true);
  ELSE
    counts := cdp._purge_profiles(tid, '{}', true);
    -- quarantined payloads of an unknown person may still carry the identifier
    DELETE FROM cdp.quarantine q
     WHERE q.tenant_id OPERATOR(pg_catalog.=) tid AND q.id_hashes OPERATOR(pg_catalog.&&) ARRAY[person.id_hash];
    GET DIAGNOSTICS n = ROW_COUNT;
    counts := counts || pg_catalog.jsonb_build_object('quarantine', n);
  END IF;
  INSERT INTO cdp.suppressions (tenant_id, id_type, id_hash) VALUES (tid, id_type, person.id_hash)
  ON CONFLICT DO NOTHING;
  GET DIAGNOSTICS n = ROW_COUNT;
  counts := pg_catalog.jsonb_set(counts, '{suppressions}', pg_catalog.to_jsonb((counts->>'suppressions')::bigint + n));
  receipt := pg_catalog.jsonb_build_object(
    'action', 'erase', 'tenant', tenant, 'id_type', id_type,
    'person_found', person.profile_id IS NOT NULL, 'profile_id', person.profile_id,
    'deleted', counts - ARRAY['suppressions', 'scrubbed_other_profiles', 'scrubbed_other_events'],
    'suppressed_identifiers', counts->'suppressions',
    -- copies of the person's identifier values held by other people
    -- (refused links): removed from their profiles' traits and events
    'scrubbed_elsewhere', pg_catalog.jsonb_build_object('profiles', counts->'scrubbed_other_profiles',
                                                        'events', counts->'scrubbed_other_events'),
    'erased_at', pg_catalog.clock_timestamp());
  PERFORM cdp._audit(tid, 'erase', receipt);
  RETURN receipt;
END
$$;
COMMENT ON FUNCTION cdp.erase(text, text, text) IS
  'GDPR/CCPA erasure of the whole resolved person (all merged profiles, events in every partition, identifiers, traits, merges and refusals naming them, consent, quarantined payloads with their identifiers, and copies of their identifier values on other profiles that were refused them) in one transaction; suppresses the identifier hashes so later messages carrying them are answered suppressed. Returns a receipt (counts per table, copies scrubbed elsewhere, time), also written to the audit log. For compliance roles granted the tenant. Errors: 42501 no grant, 25000 not READ COMMITTED, 55P03 the tenant''s erasure lock (held by its ingesting transactions in flight; other tenants do not matter) not granted within cdp_erase.lock_timeout (default 5s; retry).';

-- Everything held on a set of profiles, as one document.
CREATE FUNCTION cdp._export_profiles(p_tenant_id integer, p_ids bigint[]) RETURNS jsonb
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  WITH hashes AS (
    SELECT pg_catalog.array_agg(i.id_hash) AS h FROM cdp.identifiers i
     WHERE i.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND i.profile_id OPERATOR(pg_catalog.=) ANY (p_ids))
  SELECT pg_catalog.jsonb_build_object(
    'profiles', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'profile_id', p.profile_id, 'merged_into', p.merged_into, 'traits', p.traits, 'trait_times', p.trait_times,
        'first_seen_at', p.first_seen_at, 'last_seen_at', p.last_seen_at, 'created_at', p.created_at,
        'updated_at', p.updated_at) ORDER BY p.profile_id)
      FROM cdp.profiles p WHERE p.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND p.profile_id OPERATOR(pg_catalog.=) ANY (p_ids)), '[]'),
    'identifiers', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'id_type', i.id_type, 'profile_id', i.profile_id, 'source_id', i.source_id,
        'first_seen_at', i.first_seen_at, 'last_seen_at', i.last_seen_at) ORDER BY i.id_type, i.first_seen_at, i.id_hash)
      FROM cdp.identifiers i WHERE i.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND i.profile_id OPERATOR(pg_catalog.=) ANY (p_ids)), '[]'),
    'events', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(e) - 'tenant_id' ORDER BY e.event_time, e.event_id)
      FROM cdp.events e WHERE e.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND e.profile_id OPERATOR(pg_catalog.=) ANY (p_ids)), '[]'),
    'consent_ledger', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.to_jsonb(c) - 'tenant_id' ORDER BY c.recorded_at, c.consent_id)
      FROM cdp.consent_ledger c WHERE c.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND c.profile_id OPERATOR(pg_catalog.=) ANY (p_ids)), '[]'),
    'consent_current', coalesce((SELECT pg_catalog.jsonb_object_agg(c.purpose, c.decision)
      FROM cdp.consent_current c WHERE c.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND c.profile_id OPERATOR(pg_catalog.=) p_ids[1]), '{}'),
    'merges', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'winner_id', m.winner_id, 'loser_id', m.loser_id, 'trigger_id_type', m.trigger_id_type,
        'message_id', m.message_id, 'source_id', m.source_id, 'merged_at', m.merged_at) ORDER BY m.merged_at, m.merge_id)
      FROM cdp.merges m WHERE m.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
       AND (m.winner_id OPERATOR(pg_catalog.=) ANY (p_ids) OR m.loser_id OPERATOR(pg_catalog.=) ANY (p_ids))), '[]'),
    'refused_links', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'profile_id', r.profile_id, 'id_type', r.id_type, 'reason', r.reason, 'message_id', r.message_id,
        'refused_at', r.refused_at) ORDER BY r.refused_at, r.refusal_id)
      FROM cdp.refused_links r WHERE r.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
       AND r.profile_id OPERATOR(pg_catalog.=) ANY (p_ids)), '[]'),
    'quarantine', coalesce((SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
        'received_at', q.received_at, 'message_id', q.message_id, 'payload', q.payload, 'reason', q.reason)
        ORDER BY q.received_at, q.quarantine_id)
      FROM cdp.quarantine q, hashes WHERE q.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
       AND q.id_hashes OPERATOR(pg_catalog.&&) hashes.h), '[]'));
$$;
COMMENT ON FUNCTION cdp._export_profiles(integer, bigint[]) IS
  'cdp internal: everything held on the given profiles (the first is the canonical one) as one jsonb document.';

-- GDPR art. 15/20 access and portability: everything held on the person.
CREATE FUNCTION cdp.export(tenant text, id_type text, value text)
RETURNS jsonb
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._authorized_tenant(tenant, 'compliance');
  person record;
  ids bigint[];
  doc jsonb;
BEGIN
  SELECT r.profile_id, r.id_hash INTO person FROM cdp._resolve_identifier(tid, id_type, value) r;
  IF person.profile_id IS NOT NULL THEN
    ids := ARRAY[person.profile_id] || pg_catalog.array_remove(cdp._person_profiles(tid, person.profile_id), person.profile_id);
    doc := cdp._export_profiles(tid, ids);
  ELSE
    doc := cdp._export_profiles(tid, '{}');
  END IF;
  doc := pg_catalog.jsonb_build_object('tenant', tenant, 'exported_at', pg_catalog.clock_timestamp(),
           'requested', pg_catalog.jsonb_build_object('id_type', id_type, 'value', value),
           'profile_id', person.profile_id,
           'suppressed', EXISTS (SELECT 1 FROM cdp.suppressions s WHERE s.tenant_id OPERATOR(pg_catalog.=) tid
                                   AND s.id_type OPERATOR(pg_catalog.=) export.id_type AND s.id_hash OPERATOR(pg_catalog.=) person.id_hash),
           'note', 'Identifiers are stored only as keyed hashes; their values appear where the person sent them (events, traits).')
         || doc;
  PERFORM cdp._audit(tid, 'export', pg_catalog.jsonb_build_object(
    'id_type', id_type, 'profile_id', person.profile_id,
    'profiles', pg_catalog.jsonb_array_length(doc->'profiles'), 'events', pg_catalog.jsonb_array_length(doc->'events'),
    'consent_ledger', pg_catalog.jsonb_array_length(doc->'consent_ledger')));
  RETURN doc;
END
$$;
COMMENT ON FUNCTION cdp.export(text, text, text) IS
  'GDPR/CCPA access and portability: everything held on the person a raw identifier resolves to (profiles incl. merged ones, identifiers as types and dates, events, consent ledger, merges, refusals, quarantined payloads) as one jsonb document. For compliance roles granted the tenant. Audited without the raw value.';

GRANT EXECUTE ON FUNCTION cdp.erase(text, text, text), cdp.export(text, text, text) TO cdp_compliance, cdp_admin;
