-- Consent: the ledger's current state, the hooks identity resolution and
-- ingestion call, the merge rule, expiry and cdp.set_consent. See docs/consent.md.
--
-- cdp.consent_ledger (20_tables.sql) is the append-only history. Row-level
-- security must not scan history per row, so the current decision per
-- (tenant, profile, purpose) lives in cdp.consent_current, maintained by a
-- trigger on the ledger and by cdp._after_merge. It holds a row for every
-- profile of a person: the canonical profile and each profile merged into it
-- carry the same decision, so that policies on events (whose profile_id is
-- the profile at ingestion) are one indexed equality, with no join through
-- cdp.profiles.

CREATE TABLE cdp.consent_current (
  tenant_id    integer NOT NULL,
  profile_id   bigint NOT NULL,
  purpose      text NOT NULL,
  decision     text NOT NULL CHECK (decision IN ('granted', 'denied', 'withdrawn')),
  recorded_at  timestamptz NOT NULL,
  expires_at   timestamptz,
  consent_id   bigint NOT NULL,
  PRIMARY KEY (tenant_id, profile_id, purpose)
);
CREATE INDEX consent_current_expiry_idx ON cdp.consent_current (expires_at)
  WHERE decision = 'granted' AND expires_at IS NOT NULL;
COMMENT ON TABLE cdp.consent_current IS
  'cdp: the current consent decision per profile and purpose, derived from cdp.consent_ledger (latest decision wins; merges combine conservatively). One row for every profile of a person, merged ones included. Row-level security of readers is a plain join on this table.';
COMMENT ON COLUMN cdp.consent_current.consent_id IS
  'The ledger row that made this decision (it may belong to another profile of the same person).';
SELECT pg_catalog.pg_extension_config_dump('cdp.consent_current', '');

-- The canonical profile of a profile id (itself when not merged or unknown).
CREATE FUNCTION cdp._canonical_profile(p_tenant_id integer, p_profile_id bigint) RETURNS bigint
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce((SELECT p.merged_into FROM cdp.profiles p
                    WHERE p.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
                      AND p.profile_id OPERATOR(pg_catalog.=) p_profile_id), p_profile_id);
$$;
COMMENT ON FUNCTION cdp._canonical_profile(integer, bigint) IS
  'cdp internal: the canonical profile of a profile (merged_into is always one hop), or the id itself.';

-- Every profile of the person a canonical profile stands for.
CREATE FUNCTION cdp._person_profiles(p_tenant_id integer, p_canonical bigint) RETURNS bigint[]
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.array_agg(x.id ORDER BY x.id) FROM (
    SELECT p_canonical AS id
    UNION
    SELECT p.profile_id FROM cdp.profiles p
     WHERE p.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND p.merged_into OPERATOR(pg_catalog.=) p_canonical) x;
$$;
COMMENT ON FUNCTION cdp._person_profiles(integer, bigint) IS
  'cdp internal: a canonical profile and every profile merged into it, sorted.';

-- The ledger is append-only: decisions are corrected by appending a newer
-- one. DELETE is reserved to erasure and retention (cdp._purge_profiles),
-- which set cdp_purge.consent_ledger for their own transaction (the cdp.
-- prefix is reserved by the library for its GUCs).
CREATE TRIGGER consent_ledger_append_only
  BEFORE UPDATE OR DELETE ON cdp.consent_ledger
  FOR EACH ROW EXECUTE FUNCTION cdp._append_only_guard(
    'cdp_purge.consent_ledger', 'consent decisions',
    'Record a new decision with cdp.set_consent; erasure removes a person''s decisions.');
CREATE TRIGGER consent_ledger_no_truncate
  BEFORE TRUNCATE ON cdp.consent_ledger
  FOR EACH STATEMENT EXECUTE FUNCTION cdp._append_only_guard(
    'cdp_purge.consent_ledger', 'consent decisions',
    'Record a new decision with cdp.set_consent; erasure removes a person''s decisions.');

-- A new ledger row becomes the current decision of every profile of its
-- person unless a later decision is already current: "later" is recorded_at,
-- then consent_id, so a late-arriving message with an old timestamp never
-- overrides a newer decision.
CREATE FUNCTION cdp._consent_ledger_apply() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  canon bigint;
BEGIN
  -- queries inline rather than through the SQL helpers: PL/pgSQL keeps
  -- their plans for the session (this runs for every consent a message carries)
  SELECT coalesce(p.merged_into, p.profile_id) INTO canon FROM cdp.profiles p
   WHERE p.tenant_id OPERATOR(pg_catalog.=) NEW.tenant_id AND p.profile_id OPERATOR(pg_catalog.=) NEW.profile_id;
  canon := coalesce(canon, NEW.profile_id);
  INSERT INTO cdp.consent_current AS c (tenant_id, profile_id, purpose, decision, recorded_at, expires_at, consent_id)
  SELECT NEW.tenant_id, x.id, NEW.purpose, NEW.decision, NEW.recorded_at, NEW.expires_at, NEW.consent_id
    FROM (SELECT canon AS id
          UNION
          SELECT p.profile_id FROM cdp.profiles p
           WHERE p.tenant_id OPERATOR(pg_catalog.=) NEW.tenant_id AND p.merged_into OPERATOR(pg_catalog.=) canon) x
  ON CONFLICT (tenant_id, profile_id, purpose) DO UPDATE
     SET decision = excluded.decision, recorded_at = excluded.recorded_at,
         expires_at = excluded.expires_at, consent_id = excluded.consent_id
   WHERE (excluded.recorded_at, excluded.consent_id) OPERATOR(pg_catalog.>) (c.recorded_at, c.consent_id);
  RETURN NULL;
END
$$;
COMMENT ON FUNCTION cdp._consent_ledger_apply() IS
  'cdp internal: trigger that makes a new ledger row the current decision of its person (unless a later one is current).';

CREATE TRIGGER consent_ledger_apply
  AFTER INSERT ON cdp.consent_ledger
  FOR EACH ROW EXECUTE FUNCTION cdp._consent_ledger_apply();

-- Consent carried by a message (Segment's context.consent.categoryPreferences).
-- Its keys are the consent manager's category ids ("Analytics",
-- "Advertising", "DataSharing", OneTrust's "C0002", ...), not cdp purposes.
-- Each key is resolved to a purpose:
--   * the tenant setting consent_categories maps it explicitly (a JSON null
--     there means "known, carries no purpose": ignored without a trace);
--   * otherwise it is matched case-insensitively to a purpose name.
-- One ledger row per purpose so resolved, granted for true and denied for
-- false; when several categories resolve to one purpose, the purpose is
-- granted only if all of them are true (a refusal wins). A category missing
-- from the map is not a decision. A category that resolves to no purpose of
-- the tenant, or whose value is not a boolean, is never dropped silently:
-- the message's unresolved decisions go to the audit log (action
-- consent_unmapped), where compliance roles read them (docs/consent.md). The
-- decision is recorded at the event time, but never later than now: a device
-- clock in 2099 must not make a grant outrank every withdrawal until then.
CREATE FUNCTION cdp._record_message_consent(p_tenant_id integer, p_profile_id bigint, p_source_id integer,
                                            p_prefs jsonb, p_recorded_at timestamptz, p_message_id text)
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  map jsonb;
  canon bigint;
  n integer;
  unmapped jsonb;
BEGIN
  IF p_prefs IS NULL OR pg_catalog.jsonb_typeof(p_prefs) OPERATOR(pg_catalog.<>) 'object' THEN
    RETURN 0;
  END IF;
  SELECT t.settings -> 'consent_categories' INTO map FROM cdp.tenants t
   WHERE t.tenant_id OPERATOR(pg_catalog.=) p_tenant_id;
  map := coalesce(map, '{}');
  canon := cdp._canonical_profile(p_tenant_id, p_profile_id);

  WITH cat AS (
    SELECT e.key, e.value,
           CASE WHEN map ? e.key THEN map ->> e.key ELSE pg_catalog.lower(e.key) END AS purpose
      FROM pg_catalog.jsonb_each(p_prefs) e),
  resolved AS (
    SELECT c.key, c.value, p.purpose
      FROM cat c
      LEFT JOIN cdp.purposes p ON p.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
                               AND p.purpose OPERATOR(pg_catalog.=) c.purpose),
  ins AS (
    INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, source_id, legal_basis,
                                    recorded_at, message_id)
    SELECT p_tenant_id, canon, r.purpose,
           CASE WHEN pg_catalog.bool_and(r.value OPERATOR(pg_catalog.=) 'true'::jsonb) THEN 'granted' ELSE 'denied' END,
           p_source_id, 'consent', LEAST(coalesce(p_recorded_at, pg_catalog.now()), pg_catalog.now()),
           p_message_id
      FROM resolved r
     WHERE r.purpose IS NOT NULL AND pg_catalog.jsonb_typeof(r.value) OPERATOR(pg_catalog.=) 'boolean'
     GROUP BY r.purpose
     ORDER BY r.purpose
    RETURNING 1)
  SELECT (SELECT pg_catalog.count(*)::integer FROM ins),
         (SELECT pg_catalog.jsonb_object_agg(r.key, r.value) FROM resolved r
           WHERE (r.purpose IS NULL AND NOT (map ? r.key AND pg_catalog.jsonb_typeof(map -> r.key) OPERATOR(pg_catalog.=) 'null'))
              OR (r.purpose IS NOT NULL AND pg_catalog.jsonb_typeof(r.value) OPERATOR(pg_catalog.<>) 'boolean'))
    INTO n, unmapped;

  IF unmapped IS NOT NULL THEN
    PERFORM cdp._audit(p_tenant_id, 'consent_unmapped',
      pg_catalog.jsonb_build_object('profile_id', canon, 'message_id', p_message_id, 'source_id', p_source_id,
                                    'categories', unmapped,
                                    'hint', 'map these category ids to purposes in the tenant setting consent_categories'));
  END IF;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cdp._record_message_consent(integer, bigint, integer, jsonb, timestamptz, text) IS
  'cdp internal: records the consent decisions a message carries (categoryPreferences, category ids resolved through the tenant setting consent_categories, else case-insensitively) in the ledger; categories resolving to no purpose and non-boolean values go to the audit log as consent_unmapped. Returns the ledger rows written.';

-- Called by identity resolution after it merged loser into winner, in the
-- same transaction. The merge rule (docs/consent.md), per purpose:
--   * the later decision of the two wins (recorded_at, then ledger order);
--   * at the same instant a refusal (denied, withdrawn) beats a grant;
-- so a withdrawal is never overridden by an older grant of the other profile.
-- The combined decision becomes current for every profile of the person.
CREATE FUNCTION cdp._after_merge(p_tenant_id integer, p_winner bigint, p_loser bigint)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  -- Most merges join profiles that never decided anything: nothing to do.
  IF NOT EXISTS (SELECT 1 FROM cdp.consent_current c
                  WHERE c.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
                    AND c.profile_id OPERATOR(pg_catalog.=) ANY (ARRAY[p_winner, p_loser])) THEN
    RETURN;
  END IF;
  WITH best AS (
    SELECT DISTINCT ON (c.purpose) c.purpose, c.decision, c.recorded_at, c.expires_at, c.consent_id
      FROM cdp.consent_current c
     WHERE c.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
       AND c.profile_id OPERATOR(pg_catalog.=) ANY (ARRAY[p_winner, p_loser])
     ORDER BY c.purpose, c.recorded_at DESC, (c.decision OPERATOR(pg_catalog.<>) 'granted') DESC, c.consent_id DESC),
  -- the winner, the loser, and whatever was merged into either (identity
  -- resolution re-points the loser's earlier losers, before or after this)
  members AS (
    SELECT p_winner AS id
    UNION
    SELECT p_loser
    UNION
    SELECT p.profile_id FROM cdp.profiles p
     WHERE p.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
       AND p.merged_into OPERATOR(pg_catalog.=) ANY (ARRAY[p_winner, p_loser]))
  INSERT INTO cdp.consent_current AS c (tenant_id, profile_id, purpose, decision, recorded_at, expires_at, consent_id)
  SELECT p_tenant_id, m.id, b.purpose, b.decision, b.recorded_at, b.expires_at, b.consent_id
    FROM best b CROSS JOIN members m
  ON CONFLICT (tenant_id, profile_id, purpose) DO UPDATE
     SET decision = excluded.decision, recorded_at = excluded.recorded_at,
         expires_at = excluded.expires_at, consent_id = excluded.consent_id;
END
$$;
COMMENT ON FUNCTION cdp._after_merge(integer, bigint, bigint) IS
  'cdp internal: hook run by identity resolution after a merge: combines the consent of the two profiles (later decision wins, a refusal wins a tie) and applies it to every profile of the person.';

-- Expiry: a grant with expires_at in the past stops counting at once (the
-- policies compare expires_at with now()); this job, scheduled by the
-- workers, records the expiry in the ledger as a withdrawal with legal basis
-- 'expired', so the history says when and why consent ended.
CREATE FUNCTION cdp._expire_consents() RETURNS bigint
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH due AS (
    SELECT c.tenant_id, c.profile_id, c.purpose, c.consent_id
      FROM cdp.consent_current c
      JOIN cdp.profiles p ON p.tenant_id OPERATOR(pg_catalog.=) c.tenant_id
                         AND p.profile_id OPERATOR(pg_catalog.=) c.profile_id
     WHERE c.decision OPERATOR(pg_catalog.=) 'granted'
       AND c.expires_at OPERATOR(pg_catalog.<=) pg_catalog.now()
       AND p.merged_into IS NULL
     ORDER BY c.tenant_id, c.profile_id, c.purpose
       FOR UPDATE OF c SKIP LOCKED),
  ins AS (
    INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, legal_basis, recorded_at)
    SELECT d.tenant_id, d.profile_id, d.purpose, 'withdrawn', 'expired', pg_catalog.now()
      FROM due d
    RETURNING 1)
  SELECT pg_catalog.count(*) FROM ins;
$$;
COMMENT ON FUNCTION cdp._expire_consents() IS
  'cdp internal (scheduled by the workers): records every expired grant of a canonical profile as withdrawn (legal basis "expired"); returns how many. Expired grants already stop counting before this runs.';

-- The canonical profile a raw identifier resolves to, or NULL when no
-- profile carries it. The value is hashed by identity resolution's own
-- cdp._identifier_hash (normalization + HMAC under the tenant secret), so a
-- value is found exactly when ingestion would have matched it. A value that
-- is not an identifier (blocked, empty) is an error. Returns the hash too,
-- for suppression.
CREATE FUNCTION cdp._resolve_identifier(p_tenant_id integer, p_id_type text, p_value text,
                                        OUT profile_id bigint, OUT id_hash bytea)
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_id_type IS NULL OR p_value IS NULL THEN
    RAISE EXCEPTION 'id_type and value must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  id_hash := cdp._identifier_hash(p_tenant_id, p_id_type, p_value);
  IF id_hash IS NULL THEN
    RAISE EXCEPTION 'value is not an identifier of type %', p_id_type
      USING ERRCODE = 'invalid_parameter_value',
            DETAIL = 'It is empty or a blocked value once normalized, so no profile can carry it.';
  END IF;
  SELECT cdp._canonical_profile(p_tenant_id, i.profile_id) INTO profile_id
    FROM cdp.identifiers i
   WHERE i.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND i.id_type OPERATOR(pg_catalog.=) p_id_type
     AND i.id_hash OPERATOR(pg_catalog.=) _resolve_identifier.id_hash;
END
$$;
COMMENT ON FUNCTION cdp._resolve_identifier(integer, text, text) IS
  'cdp internal: hashes a raw identifier like ingestion does and returns its canonical profile (NULL if none) and the hash; 22004 for NULL, 22023 for a blocked value.';

-- A consent decision by hand or by an application: appended to the ledger
-- for the person the identifier resolves to, effective for the next query.
-- granted = false records "withdrawn" when the person had granted the
-- purpose and "denied" otherwise.
CREATE FUNCTION cdp.set_consent(tenant text, id_type text, value text, purpose text, granted boolean,
                                legal_basis text DEFAULT 'consent', expires_at timestamptz DEFAULT NULL,
                                source text DEFAULT NULL)
RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._authorized_tenant(tenant, 'write');
  sid integer;
  person record;
  decision text;
  new_id bigint;
BEGIN
  IF purpose IS NULL OR granted IS NULL THEN
    RAISE EXCEPTION 'purpose and granted must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM cdp.purposes p
                  WHERE p.tenant_id OPERATOR(pg_catalog.=) tid AND p.purpose OPERATOR(pg_catalog.=) set_consent.purpose) THEN
    RAISE EXCEPTION 'purpose "%" does not exist in tenant "%"', purpose, tenant USING ERRCODE = 'undefined_object';
  END IF;
  IF legal_basis IS NOT NULL AND (pg_catalog.btrim(legal_basis) = '' OR pg_catalog.length(legal_basis) > 100) THEN
    RAISE EXCEPTION 'legal_basis must be a short non-empty text' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF expires_at IS NOT NULL AND NOT granted THEN
    RAISE EXCEPTION 'only a grant can expire' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF expires_at IS NOT NULL AND expires_at <= pg_catalog.now() THEN
    RAISE EXCEPTION 'expires_at must be in the future' USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF source IS NOT NULL THEN
    sid := cdp._source_id(tid, tenant, source);
  END IF;
  -- The person's canonical profile, locked: an erasure running meanwhile
  -- either waits for this decision (and erases it) or has already removed
  -- the profile (then there is no one to record a decision for).
  SELECT * INTO person FROM cdp._lock_person(tid, id_type, value);
  IF person.profile_id IS NULL THEN
    RAISE EXCEPTION 'no profile in tenant "%" has this % identifier', tenant, id_type
      USING ERRCODE = 'no_data_found',
            HINT = 'Consent is recorded for known customers; ingest an identify message first.';
  END IF;
  decision := CASE
    WHEN granted THEN 'granted'
    WHEN EXISTS (SELECT 1 FROM cdp.consent_current c
                  WHERE c.tenant_id OPERATOR(pg_catalog.=) tid AND c.profile_id OPERATOR(pg_catalog.=) person.profile_id
                    AND c.purpose OPERATOR(pg_catalog.=) set_consent.purpose AND c.decision OPERATOR(pg_catalog.=) 'granted')
      THEN 'withdrawn'
    ELSE 'denied' END;
  INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, source_id, legal_basis, recorded_at, expires_at)
  VALUES (tid, person.profile_id, purpose, decision, sid, legal_basis, pg_catalog.clock_timestamp(), expires_at)
  RETURNING consent_id INTO new_id;
  PERFORM cdp._audit(tid, 'set_consent',
    pg_catalog.jsonb_build_object('id_type', id_type, 'profile_id', person.profile_id, 'purpose', purpose,
                                  'decision', decision, 'consent_id', new_id, 'legal_basis', legal_basis,
                                  'expires_at', expires_at, 'source_id', sid));
  RETURN new_id;
END
$$;
COMMENT ON FUNCTION cdp.set_consent(text, text, text, text, boolean, text, timestamptz, text) IS
  'Records a consent decision for the person a raw identifier resolves to (granted; or withdrawn/denied for granted = false), effective for the next query; returns the ledger id. For writers and compliance roles granted the tenant. Audited without the raw value. Errors: 42501 no grant, 42704 unknown purpose or source, P0002 unknown person, 22023 bad value or expiry.';
GRANT EXECUTE ON FUNCTION cdp.set_consent(text, text, text, text, boolean, text, timestamptz, text)
  TO cdp_writer, cdp_compliance, cdp_admin;

-- Purposes beyond the five defaults (e.g. "research"), per tenant.
CREATE FUNCTION cdp.add_purpose(tenant text, purpose text, description text DEFAULT NULL)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._tenant_id(tenant);
BEGIN
  IF purpose IS NULL THEN
    RAISE EXCEPTION 'purpose must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF purpose !~ '^[a-z][a-z0-9_]{0,62}$' THEN
    RAISE EXCEPTION 'purpose "%" is not a valid name', purpose
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'Lower-case letters, digits and underscores, starting with a letter, at most 63 characters (as Segment consent categories are usually written).';
  END IF;
  INSERT INTO cdp.purposes AS p (tenant_id, purpose, description)
  VALUES (tid, add_purpose.purpose, add_purpose.description)
  ON CONFLICT ON CONSTRAINT purposes_pkey DO NOTHING;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'purpose "%" already exists in tenant "%"', purpose, tenant USING ERRCODE = 'unique_violation';
  END IF;
  PERFORM cdp._audit(tid, 'add_purpose', pg_catalog.jsonb_build_object('purpose', purpose));
END
$$;
COMMENT ON FUNCTION cdp.add_purpose(text, text, text) IS
  'Adds a consent purpose to a tenant (messages'' categoryPreferences and cdp.set_consent then accept it). Audited. Errors: unknown tenant 42704, NULL 22004, bad name 22023, duplicate 23505.';
GRANT EXECUTE ON FUNCTION cdp.add_purpose(text, text, text) TO cdp_admin;
