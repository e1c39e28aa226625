-- Privacy: purge (shared by erasure and inactive-profile retention), erasure,
-- export. See docs/privacy.md.

-- Deletes profiles and everything they own, in one statement per table.
-- The profiles given are expanded with every profile merged into them (a
-- merged profile belongs to its canonical one). Rows go from: events (the
-- partitioned parent, so every monthly partition and the default one),
-- message_ids of those events, identifiers, merges and refused_links naming
-- any of the profiles, consent_ledger and consent_current, quarantined
-- payloads whose id_hashes overlap the person's identifier hashes, group
-- memberships when that table exists, and the profiles. With p_suppress the
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
BEGIN
  IF tid IS NULL OR suppress IS NULL THEN
    RAISE EXCEPTION 'tenant_id and suppress must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF profile_ids IS NULL OR pg_catalog.cardinality(profile_ids) = 0 THEN
    RETURN pg_catalog.jsonb_build_object('profiles', 0, 'events', 0, 'message_ids', 0, 'identifiers', 0,
             'merges', 0, 'refused_links', 0, 'consent_ledger', 0, 'consent_current', 0, 'quarantine', 0,
             'group_members', 0, 'suppressions', 0);
  END IF;

  -- The person: the profiles given and every profile merged into them. The
  -- rows are locked so that identity resolution, which updates a profile it
  -- attaches to, waits for this transaction and then finds nothing.
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
  'cdp internal (erasure, inactive-profile retention): deletes the profiles, every profile merged into them and everything they own (events in every partition, message ids, identifiers, merges, refused links, consent, quarantined payloads, group memberships); with suppress, first adds their identifier hashes to cdp.suppressions. Returns the count per table.';
