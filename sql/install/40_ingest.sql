-- Ingestion and identity resolution (DESIGN 2, 3, 4): the C engine behind
-- cdp.ingest / cdp.ingest_batch, the keyed identifier hash, and the reading
-- functions cdp.lookup and cdp.profile. See docs/ingestion.md and docs/identity.md.

CREATE TYPE cdp.ingest_result AS (
  message_id  text,
  status      text,
  profile_id  bigint,
  event_id    bigint,
  error       text,
  sqlstate    text
);
COMMENT ON TYPE cdp.ingest_result IS
  'cdp: outcome of one ingested message. status: accepted, duplicate (messageId already stored in the dedupe window), rejected (quarantined; error and sqlstate say why) or suppressed (an identifier of an erased person; nothing stored).';

-- Ingestion rewrites profile rows often (last_seen_at, traits): room left
-- on each page lets those updates stay HOT (no new index entries, the old
-- version pruned in place). See docs/performance.md.
ALTER TABLE cdp.profiles SET (fillfactor = 75);

-- The keyed hash under which identifiers are stored and looked up. Definer
-- rights because it reads the tenant secret; no role may call it directly
-- (the definer functions of the extension call it as owner).
CREATE FUNCTION cdp._identifier_hash(tenant_id integer, id_type text, value text)
RETURNS bytea
LANGUAGE c STABLE STRICT SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cdp_identifier_hash';
COMMENT ON FUNCTION cdp._identifier_hash(integer, text, text) IS
  'cdp internal: HMAC-SHA-256 under the tenant secret of id_type || '':'' || the normalized value; NULL when the value is not an identifier (blocked, or a phone that is not E.164). Errors: bad id_type 22023, unknown tenant 42704.';

CREATE FUNCTION cdp._normalize_identifier(tenant_id integer, id_type text, value text)
RETURNS text
LANGUAGE c STABLE STRICT SECURITY DEFINER PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cdp_normalize_identifier_sql';
COMMENT ON FUNCTION cdp._normalize_identifier(integer, text, text) IS
  'cdp internal: the normalized form of an identifier (email trimmed and lower-cased, phone in E.164 with the tenant default country, others trimmed), NULL for blocked values.';

CREATE FUNCTION cdp.ingest(write_key text, message jsonb)
RETURNS cdp.ingest_result
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cdp_ingest';
COMMENT ON FUNCTION cdp.ingest(text, jsonb) IS
  'Ingests one Segment-spec message (identify, track, page, screen, group, alias) in the caller''s transaction: validate, resolve identity, deduplicate, store. Returns one cdp.ingest_result. Errors: NULL argument 22004, unknown or disabled write key 28000. See docs/ingestion.md.';

CREATE FUNCTION cdp.ingest_batch(write_key text, messages jsonb)
RETURNS SETOF cdp.ingest_result
LANGUAGE c VOLATILE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cdp_ingest_batch';
COMMENT ON FUNCTION cdp.ingest_batch(text, jsonb) IS
  'Ingests a batch (a JSON array of messages, or {"batch": [...]} as Segment and RudderStack SDKs send it): one cdp.ingest_result per message, in order; a bad message is quarantined and the rest go on. Errors: NULL argument 22004, bad write key 28000, not an array or batch object 22023, more than cdp.max_batch_messages 54000.';

-- Helpers for the reading functions, which run with the caller's rights (so
-- row-level security applies to what they return) but need the tenant id
-- and the keyed hash, which only the owner can compute. The tenant is
-- resolved only for a caller with a grant on it (any purpose) or an
-- administrator; everyone else gets the 42501 of cdp._authorized_tenant
-- (65_access.sql, called at run time), the same for a tenant that does not
-- exist, so that neither the keyed hash nor tenant names can be probed.
CREATE FUNCTION cdp._reader_tenant_id(tenant text) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer;
BEGIN
  IF tenant IS NULL THEN
    RAISE EXCEPTION 'tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT t.tenant_id INTO tid FROM cdp.tenants t WHERE t.name OPERATOR(pg_catalog.=) tenant;
  IF tid IS NOT NULL AND EXISTS (
       SELECT 1 FROM cdp.access_grants g
        WHERE g.tenant_id OPERATOR(pg_catalog.=) tid
          AND pg_catalog.pg_has_role(cdp._caller(), g.role_id, 'USAGE')) THEN
    RETURN tid;
  END IF;
  -- Administrators: the id, or 42704 for an unknown tenant; anyone else: 42501.
  RETURN cdp._authorized_tenant(tenant, 'read');
END
$$;
COMMENT ON FUNCTION cdp._reader_tenant_id(text) IS
  'cdp internal: the id of a tenant the calling role may read (a grant on it, any purpose, or cdp_admin); 22004 for NULL, 42501 for a tenant it may not read or that does not exist (administrators: 42704 if unknown).';

CREATE FUNCTION cdp._lookup_key(tenant text, id_type text, value text, OUT tenant_id integer, OUT id_hash bytea)
RETURNS record
LANGUAGE c STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS 'MODULE_PATHNAME', 'cdp_lookup_key';
COMMENT ON FUNCTION cdp._lookup_key(text, text, text) IS
  'cdp internal: for cdp.lookup, in one definer call, the tenant id (through cdp._reader_tenant_id: only a tenant the caller may read) and the keyed hash of a raw identifier (NULL if not an identifier). Errors: NULL tenant or id_type 22004, tenant not readable or unknown 42501 (administrators: unknown 42704), bad id_type 22023.';

-- The reading functions: SECURITY DEFINER, owned by cdp_view_owner
-- (65_access.sql), like the internal views: readers hold no privilege on the
-- tables, and the policies of cdp_view_owner (through_views) decide with the
-- calling role's grants and consent (cdp._querier()). plpgsql keeps its plans
-- for the session. Everything is schema-qualified.
CREATE FUNCTION cdp.lookup(tenant text, id_type text, value text)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  k record;
  result bigint;
BEGIN
  SELECT x.tenant_id, x.id_hash INTO k FROM cdp._lookup_key(tenant, id_type, value) x;
  IF k.id_hash IS NULL THEN
    RETURN NULL;
  END IF;
  -- Identifier rows always name the canonical profile (merges re-point them).
  SELECT i.profile_id INTO result
    FROM cdp.identifiers i
   WHERE i.tenant_id OPERATOR(pg_catalog.=) k.tenant_id
     AND i.id_type OPERATOR(pg_catalog.=) lookup.id_type
     AND i.id_hash OPERATOR(pg_catalog.=) k.id_hash;
  RETURN result;
END
$$;
COMMENT ON FUNCTION cdp.lookup(text, text, text) IS
  'The canonical profile id of a raw identifier (normalized and hashed as ingestion does), or NULL if unknown or hidden from the caller by row-level security. Errors: NULL tenant or id_type 22004, tenant the caller has no grant on or unknown 42501 (administrators: unknown 42704), bad id_type 22023.';

CREATE FUNCTION cdp.profile(tenant text, profile_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._reader_tenant_id(tenant);
  canonical bigint;
  p cdp.profiles;
  pii boolean;
  show_hash boolean;
BEGIN
  IF profile_id IS NULL THEN
    RAISE EXCEPTION 'profile_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT coalesce(x.merged_into, x.profile_id) INTO canonical
    FROM cdp.profiles x
   WHERE x.tenant_id OPERATOR(pg_catalog.=) tid AND x.profile_id OPERATOR(pg_catalog.=) profile.profile_id;
  IF canonical IS NULL THEN
    RETURN NULL;
  END IF;
  SELECT * INTO p FROM cdp.profiles x
   WHERE x.tenant_id OPERATOR(pg_catalog.=) tid AND x.profile_id OPERATOR(pg_catalog.=) canonical;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  -- As the views (70_views.sql) do: PII keys masked at any depth without
  -- see_pii (trait_times is flat: one time per top-level trait).
  pii := coalesce(tid OPERATOR(pg_catalog.=) ANY (cdp._pii_tenants()), false);
  -- Identifier hashes only for administrators and compliance: readers and
  -- writers get the types alone.
  show_hash := pg_catalog.pg_has_role(cdp._querier(), 'cdp_admin', 'USAGE')
               OR pg_catalog.pg_has_role(cdp._querier(), 'cdp_compliance', 'USAGE');
  RETURN pg_catalog.jsonb_build_object(
    'profile_id', p.profile_id,
    'requested_profile_id', profile.profile_id,
    'traits', CASE WHEN pii THEN p.traits ELSE cdp._mask_pii(p.traits) END,
    'trait_times', CASE WHEN pii THEN p.trait_times ELSE p.trait_times OPERATOR(pg_catalog.-) cdp._pii_keys() END,
    'first_seen_at', p.first_seen_at,
    'last_seen_at', p.last_seen_at,
    'created_at', p.created_at,
    'updated_at', p.updated_at,
    'merged_profile_ids', coalesce((
      SELECT pg_catalog.jsonb_agg(m.profile_id ORDER BY m.profile_id)
        FROM cdp.profiles m
       WHERE m.tenant_id OPERATOR(pg_catalog.=) tid AND m.merged_into OPERATOR(pg_catalog.=) p.profile_id), '[]'),
    'identifiers', coalesce((
      SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'id_type', i.id_type, 'id_hash', CASE WHEN show_hash THEN pg_catalog.encode(i.id_hash, 'hex') END,
               'first_seen_at', i.first_seen_at) ORDER BY i.id_type, i.id_hash)
        FROM cdp.identifiers i
       WHERE i.tenant_id OPERATOR(pg_catalog.=) tid AND i.profile_id OPERATOR(pg_catalog.=) p.profile_id), '[]'),
    'events', (
      SELECT pg_catalog.jsonb_build_object('count', pg_catalog.count(*), 'first_at', pg_catalog.min(e.event_time),
                                           'last_at', pg_catalog.max(e.event_time))
        FROM cdp.events e
       WHERE e.tenant_id OPERATOR(pg_catalog.=) tid
         AND e.profile_id IN (SELECT m.profile_id FROM cdp.profiles m
                               WHERE m.tenant_id OPERATOR(pg_catalog.=) tid
                                 AND (m.profile_id OPERATOR(pg_catalog.=) p.profile_id
                                      OR m.merged_into OPERATOR(pg_catalog.=) p.profile_id))));
END
$$;
COMMENT ON FUNCTION cdp.profile(text, bigint) IS
  'The 360 view of one profile as jsonb (a merged profile id answers with its canonical profile): traits and their times (PII keys masked at any depth, as in the views, for a caller without see_pii), identifiers (type; the hash only for administrators and compliance), merged profiles, event summary. NULL if unknown or hidden by row-level security. Errors: NULL 22004, tenant the caller has no grant on or unknown 42501 (administrators: unknown 42704).';

GRANT EXECUTE ON FUNCTION cdp.ingest(text, jsonb), cdp.ingest_batch(text, jsonb) TO cdp_writer;
GRANT EXECUTE ON FUNCTION cdp.lookup(text, text, text), cdp.profile(text, bigint), cdp._lookup_key(text, text, text),
                          cdp._reader_tenant_id(text)
  TO cdp_reader, cdp_writer, cdp_compliance, cdp_admin;
