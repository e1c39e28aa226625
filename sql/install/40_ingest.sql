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

-- The reading functions: SECURITY INVOKER. Readers hold no privilege on the
-- tables, so they read only internal views owned by cdp_view_owner
-- (70_views.sql: cdp._profile_rows, cdp._identifier_rows, cdp._event_times,
-- cdp._lookup_hit), where the policies of cdp_view_owner (through_views)
-- decide with CURRENT_USER's grants and consent. Inside an invoker function
-- CURRENT_USER is the role that called it, also when that is another role's
-- SECURITY DEFINER function or a table owner's index expression run by
-- ANALYZE or autovacuum: such code sees exactly what its own role may see.
-- (They were SECURITY DEFINER owned by cdp_view_owner and judged the
-- session's role, which let any role's code run by a privileged session read
-- every tenant: review 2, P1.) The tenant checks (cdp._reader_tenant_id,
-- cdp._lookup_key) are definer functions that judge cdp._caller() and refuse
-- inside security-restricted operations; the rows are judged by CURRENT_USER
-- whatever they answered. plpgsql keeps its plans for the session.
-- Everything is schema-qualified.
--
-- cdp.lookup matches on the keyed hash, which readers are not shown. The
-- hash is computed by cdp._lookup_key in this call and handed to the view
-- cdp._lookup_hit in three transaction-local settings (cdp_lookup.*), which
-- are cleared again before returning. A view takes no parameters; settings
-- are the one channel into a non-invoker view that keeps CURRENT_USER the
-- caller. Someone who sets them by hand learns through cdp._lookup_hit only
-- whether a hash it already knows belongs to a customer it may see, which is
-- what cdp.lookup answers anyway (only cdp._lookup_key computes hashes).
CREATE FUNCTION cdp.lookup(tenant text, id_type text, value text)
RETURNS bigint
LANGUAGE plpgsql STABLE SECURITY INVOKER
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
  PERFORM pg_catalog.set_config('cdp_lookup.tenant_id', k.tenant_id::text, true),
          pg_catalog.set_config('cdp_lookup.id_type', lookup.id_type, true),
          pg_catalog.set_config('cdp_lookup.id_hash', pg_catalog.encode(k.id_hash, 'hex'), true);
  -- Identifier rows always name the canonical profile (merges re-point them).
  SELECT h.profile_id INTO result FROM cdp._lookup_hit h;
  PERFORM pg_catalog.set_config('cdp_lookup.tenant_id', '', true),
          pg_catalog.set_config('cdp_lookup.id_type', '', true),
          pg_catalog.set_config('cdp_lookup.id_hash', '', true);
  RETURN result;
END
$$;
COMMENT ON FUNCTION cdp.lookup(text, text, text) IS
  'The canonical profile id of a raw identifier (normalized and hashed as ingestion does), or NULL if unknown or hidden from the caller (CURRENT_USER) by row-level security. Errors: NULL tenant or id_type 22004, tenant the caller has no grant on or unknown 42501 (administrators: unknown 42704), bad id_type 22023, called in a security-restricted operation 42501.';

-- Generic plans (plan_cache_mode): its statements read views whose policies
-- and masks make planning cost more than running (a custom plan per call
-- took half of its time: docs/performance.md). Their generic plans are the
-- same index scans by (tenant_id, profile_id) as the custom ones.
CREATE FUNCTION cdp.profile(tenant text, profile_id bigint)
RETURNS jsonb
LANGUAGE plpgsql STABLE SECURITY INVOKER
SET search_path = pg_catalog, pg_temp
SET plan_cache_mode = force_generic_plan
AS $$
DECLARE
  tid integer := cdp._reader_tenant_id(tenant);
  canonical bigint;
  p record;
  merged bigint[];   -- the profiles merged into the canonical one
BEGIN
  IF profile_id IS NULL THEN
    RAISE EXCEPTION 'profile_id must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT coalesce(x.merged_into, x.profile_id) INTO canonical
    FROM cdp._profile_rows x
   WHERE x.tenant_id OPERATOR(pg_catalog.=) tid AND x.profile_id OPERATOR(pg_catalog.=) profile.profile_id;
  IF canonical IS NULL THEN
    RETURN NULL;
  END IF;
  -- The view masks the PII keys (at any depth; trait_times is flat) for a
  -- caller without see_pii, as cdp._profile_360 does.
  SELECT * INTO p FROM cdp._profile_rows x
   WHERE x.tenant_id OPERATOR(pg_catalog.=) tid AND x.profile_id OPERATOR(pg_catalog.=) canonical;
  IF NOT FOUND THEN
    RETURN NULL;
  END IF;
  -- One array, so that the events are read by (tenant_id, profile_id) index
  -- scans: an IN (subquery) there gets a generic plan that hashes the
  -- subquery and scans every event of the tenant (100 ms at 100 000 events).
  merged := ARRAY(SELECT m.profile_id FROM cdp._profile_rows m
                   WHERE m.tenant_id OPERATOR(pg_catalog.=) tid
                     AND m.merged_into OPERATOR(pg_catalog.=) p.profile_id
                   ORDER BY m.profile_id);
  RETURN pg_catalog.jsonb_build_object(
    'profile_id', p.profile_id,
    'requested_profile_id', profile.profile_id,
    'traits', p.traits,
    'trait_times', p.trait_times,
    'first_seen_at', p.first_seen_at,
    'last_seen_at', p.last_seen_at,
    'created_at', p.created_at,
    'updated_at', p.updated_at,
    'merged_profile_ids', pg_catalog.to_jsonb(merged),
    -- id_hash: shown by the view to administrators and compliance only.
    'identifiers', coalesce((
      SELECT pg_catalog.jsonb_agg(pg_catalog.jsonb_build_object(
               'id_type', i.id_type, 'id_hash', pg_catalog.encode(i.id_hash, 'hex'),
               'first_seen_at', i.first_seen_at) ORDER BY i.id_type, i.id_hash, i.first_seen_at)
        FROM cdp._identifier_rows i
       WHERE i.tenant_id OPERATOR(pg_catalog.=) tid AND i.profile_id OPERATOR(pg_catalog.=) p.profile_id), '[]'),
    'events', (
      SELECT pg_catalog.jsonb_build_object('count', pg_catalog.count(*), 'first_at', pg_catalog.min(e.event_time),
                                           'last_at', pg_catalog.max(e.event_time))
        FROM cdp._event_times e
       WHERE e.tenant_id OPERATOR(pg_catalog.=) tid
         AND e.profile_id OPERATOR(pg_catalog.=) ANY (merged OPERATOR(pg_catalog.||) p.profile_id)));
END
$$;
COMMENT ON FUNCTION cdp.profile(text, bigint) IS
  'The 360 view of one profile as jsonb (a merged profile id answers with its canonical profile): traits and their times (PII keys masked at any depth, as in the views, for a caller without see_pii), identifiers (type; the hash only for administrators and compliance), merged profiles, event summary. Judged as CURRENT_USER (SECURITY INVOKER over internal views). NULL if unknown or hidden by row-level security. Errors: NULL 22004, tenant the caller has no grant on or unknown 42501 (administrators: unknown 42704), called in a security-restricted operation 42501.';

GRANT EXECUTE ON FUNCTION cdp.ingest(text, jsonb), cdp.ingest_batch(text, jsonb) TO cdp_writer;
GRANT EXECUTE ON FUNCTION cdp.lookup(text, text, text), cdp.profile(text, bigint), cdp._lookup_key(text, text, text),
                          cdp._reader_tenant_id(text)
  TO cdp_reader, cdp_writer, cdp_compliance, cdp_admin;
