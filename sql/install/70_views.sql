-- Views for BI tools (DESIGN 3 and 6). The public views cdp.profile_360,
-- cdp.event_stream and cdp.consent_status run with the caller's rights
-- (security_invoker): the caller's own grants decide, and a BI tool points
-- at them directly. Each is a plain SELECT * of an internal view
-- (cdp._profile_360, cdp._event_stream, cdp._consent_status) that does the
-- work: the canonical-profile resolution and the masking of PII for callers
-- without see_pii. The internal views are NOT security_invoker: they are
-- owned by cdp_view_owner (65_access.sql), so the base tables are read with
-- its privileges under its policies (through_views), which decide with the
-- querying role's grants (CURRENT_USER is still the querying role inside a
-- view). That is what lets readers hold no privilege on the base tables:
-- see_pii = false cannot be read around by selecting cdp.profiles. They are
-- security_barrier, so no function of the caller's WHERE clause runs before
-- their own conditions, and selecting them directly gives exactly what the
-- public views give. Views are parsed once, at install, with the install's
-- search_path: a caller's search_path cannot change what their names and
-- operators mean.

-- PII masking for callers without see_pii: every key that normalizes to one
-- of cdp._pii_keys() (case-insensitive, "_", "-" and spaces ignored: Email,
-- email_address, phoneNumber, First Name) at any depth of a document
-- (objects inside objects and arrays: traits.address, properties.user.email,
-- context.device.ip, ...), and the "id" of each entry of an externalIds
-- array (Segment's context.externalIds: [{"id": <an email or a CRM id>,
-- "type": ...}]). Segment's context objects that describe the software, not
-- the person (library, os, app, screen, network, campaign, page, locale,
-- userAgentData, timezone: "name" there is a library's or an app's name) are
-- left as they are when they appear at the top level.
-- One call per row and column. The keys are matched by one case-insensitive
-- regular expression built here, at install, from cdp._pii_keys() and
-- written into the function as constants (with the two jsonpaths that use
-- it): parsing them on every call would cost more than the masking. Fast
-- path, evaluated in C: a jsonpath test finds no PII key below the top
-- level, and a second jsonpath lists the top-level keys to remove (they
-- match the expression, so they are plain letters, "_", "-" and spaces, and
-- the jsonb array of them reads as a text[] literal once its brackets are
-- braces). Only documents with nested PII take the walk, a single recursive
-- query that does not descend into values it removes.
DO $mask$
DECLARE
  re constant text := '^[-_ ]*(' || (SELECT pg_catalog.string_agg(
                          pg_catalog.array_to_string(pg_catalog.regexp_split_to_array(k, ''), '[-_ ]*'), '|' ORDER BY k)
                                       FROM pg_catalog.unnest(cdp._pii_keys()) k) || ')[-_ ]*$';
BEGIN
EXECUTE pg_catalog.replace(pg_catalog.replace(pg_catalog.replace($fn$
CREATE FUNCTION cdp._mask_pii(doc jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE STRICT PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  pii_key constant text := @RE@;
  skip constant text[] := ARRAY['library', 'os', 'app', 'screen', 'network', 'campaign', 'page', 'locale',
                                'userAgentData', 'timezone'];
  nested constant jsonpath := @NESTED@;
  top constant jsonpath := @TOP@;
  p text[];
BEGIN
  IF pg_catalog.jsonb_typeof(doc) OPERATOR(pg_catalog.=) 'object' THEN
    IF NOT (doc OPERATOR(pg_catalog.?) 'externalIds')
       AND NOT pg_catalog.jsonb_path_exists(doc OPERATOR(pg_catalog.-) skip, nested) THEN
      RETURN doc OPERATOR(pg_catalog.-)
             pg_catalog.translate(pg_catalog.jsonb_path_query_array(doc, top)::text, '[]', '{}')::text[];
    END IF;
  ELSIF pg_catalog.jsonb_typeof(doc) OPERATOR(pg_catalog.<>) 'array' THEN
    RETURN doc;   -- a scalar holds no key
  END IF;
  FOR p IN
    WITH RECURSIVE walk(path, value, masked) AS (
      SELECT ARRAY[]::text[], doc, false
      UNION ALL
      SELECT w.path OPERATOR(pg_catalog.||) c.k, c.v,
             (c.is_key AND c.k OPERATOR(pg_catalog.~*) pii_key)
             OR (c.is_key AND c.k OPERATOR(pg_catalog.=) 'id'
                 AND pg_catalog.cardinality(w.path) OPERATOR(pg_catalog.>=) 2
                 AND w.path[pg_catalog.cardinality(w.path) OPERATOR(pg_catalog.-) 1] OPERATOR(pg_catalog.=) 'externalIds')
        FROM walk w
        CROSS JOIN LATERAL (
          SELECT e.key AS k, e.value AS v, true AS is_key
            FROM pg_catalog.jsonb_each(CASE WHEN pg_catalog.jsonb_typeof(w.value) OPERATOR(pg_catalog.=) 'object'
                                            THEN w.value END) e
          UNION ALL
          SELECT (a.o OPERATOR(pg_catalog.-) 1)::text, a.v, false
            FROM pg_catalog.jsonb_array_elements(CASE WHEN pg_catalog.jsonb_typeof(w.value) OPERATOR(pg_catalog.=) 'array'
                                                      THEN w.value END) WITH ORDINALITY a(v, o)) c
       WHERE NOT w.masked
         AND pg_catalog.jsonb_typeof(w.value) OPERATOR(pg_catalog.=) ANY (ARRAY['object', 'array'])
         AND NOT (pg_catalog.cardinality(w.path) OPERATOR(pg_catalog.=) 1
                  AND pg_catalog.jsonb_typeof(doc) OPERATOR(pg_catalog.=) 'object'
                  AND w.path[1] OPERATOR(pg_catalog.=) ANY (skip)))
    SELECT w.path FROM walk w WHERE w.masked
  LOOP
    doc := doc OPERATOR(pg_catalog.#-) p;
  END LOOP;
  RETURN doc;
END
$$;
$fn$, '@RE@', pg_catalog.quote_literal(re)),
      '@NESTED@', pg_catalog.quote_literal('$.*.** ? (@.type() == "object").keyvalue() ? (@.key like_regex '
                                           || pg_catalog.to_json(re)::text || ' flag "i")') || '::jsonpath'),
      '@TOP@', pg_catalog.quote_literal('$.keyvalue() ? (@.key like_regex ' || pg_catalog.to_json(re)::text
                                        || ' flag "i").key') || '::jsonpath');
END
$mask$;
COMMENT ON FUNCTION cdp._mask_pii(jsonb) IS
  'cdp internal: a JSON document without PII for callers without see_pii: removes every key that normalizes (case-insensitive, "_", "-" and spaces ignored) to one of cdp._pii_keys(), at any depth (except inside the top-level software descriptions library, os, app, screen, network, campaign, page, locale, userAgentData, timezone), and the id of each externalIds entry.';
GRANT EXECUTE ON FUNCTION cdp._mask_pii(jsonb) TO cdp_admin, cdp_reader, cdp_compliance, cdp_writer, cdp_view_owner;

CREATE VIEW cdp._profile_360 WITH (security_barrier = true) AS
SELECT p.tenant_id,
       t.name AS tenant,
       p.profile_id,
       CASE WHEN p.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN p.traits
            ELSE cdp._mask_pii(p.traits) END AS traits,
       p.first_seen_at,
       p.last_seen_at,
       p.created_at,
       p.updated_at,
       coalesce(ids.identifiers, '{}'::jsonb) AS identifiers,
       coalesce(m.merged_profiles, '{}'::bigint[]) AS merged_profiles,
       coalesce(cs.consents, '{}'::jsonb) AS consents
  FROM cdp.profiles p
  JOIN cdp.tenants t ON t.tenant_id = p.tenant_id
  LEFT JOIN LATERAL (
    SELECT jsonb_object_agg(x.id_type, x.n) AS identifiers
      FROM (SELECT i.id_type, count(*) AS n FROM cdp.identifiers i
             WHERE i.tenant_id = p.tenant_id AND i.profile_id = p.profile_id
             GROUP BY i.id_type) x) ids ON true
  LEFT JOIN LATERAL (
    SELECT array_agg(q.profile_id ORDER BY q.profile_id) AS merged_profiles
      FROM cdp.profiles q
     WHERE q.tenant_id = p.tenant_id AND q.merged_into = p.profile_id) m ON true
  LEFT JOIN LATERAL (
    SELECT jsonb_object_agg(c.purpose,
             CASE WHEN c.decision = 'granted' AND c.expires_at <= now() THEN 'expired' ELSE c.decision END) AS consents
      FROM cdp.consent_current c
     WHERE c.tenant_id = p.tenant_id AND c.profile_id = p.profile_id) cs ON true
 WHERE p.merged_into IS NULL;
COMMENT ON VIEW cdp._profile_360 IS
  'cdp: one row per canonical profile the caller may see: traits (PII masked without see_pii), identifier counts by type, merged profile ids, current consent per purpose. Internal: owned by cdp_view_owner, read through cdp.profile_360.';

CREATE VIEW cdp._event_stream WITH (security_barrier = true) AS
SELECT e.tenant_id,
       e.event_id,
       e.event_time,
       coalesce(p.merged_into, e.profile_id) AS profile_id,
       e.profile_id AS original_profile_id,
       e.source_id,
       e.message_id,
       e.event_type,
       e.event_name,
       -- a userId is often an email, an anonymousId a device id: without
       -- see_pii they are NULL (profile_id still groups a person's events)
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN e.user_id END AS user_id,
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN e.anonymous_id END AS anonymous_id,
       e.group_id,
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN e.previous_id END AS previous_id,
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN e.properties
            ELSE cdp._mask_pii(e.properties) END AS properties,
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN e.traits
            ELSE cdp._mask_pii(e.traits) END AS traits,
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN e.context
            ELSE cdp._mask_pii(e.context) END AS context,
       e.received_at
  FROM cdp.events e
  LEFT JOIN cdp.profiles p ON p.tenant_id = e.tenant_id AND p.profile_id = e.profile_id;
COMMENT ON VIEW cdp._event_stream IS
  'cdp: events the caller may see, with the canonical profile they belong to now (original_profile_id: the profile at ingestion). Without see_pii: PII keys at any depth of properties, traits and context (and context.externalIds ids) are removed, and user_id, anonymous_id and previous_id are NULL. Internal: owned by cdp_view_owner, read through cdp.event_stream.';

CREATE VIEW cdp._consent_status WITH (security_barrier = true) AS
SELECT c.tenant_id,
       c.profile_id,
       c.purpose,
       CASE WHEN c.decision = 'granted' AND c.expires_at <= now() THEN 'expired' ELSE c.decision END AS status,
       (c.decision = 'granted' AND (c.expires_at IS NULL OR c.expires_at > now())) AS granted,
       c.recorded_at,
       c.expires_at,
       c.consent_id
  FROM cdp.consent_current c
  JOIN cdp.profiles p ON p.tenant_id = c.tenant_id AND p.profile_id = c.profile_id
 WHERE p.merged_into IS NULL;
COMMENT ON VIEW cdp._consent_status IS
  'cdp: the current consent decision per canonical profile and purpose (status granted, denied, withdrawn or expired; consent_id names the ledger row). Readers see only the grants of their purpose. Internal: owned by cdp_view_owner, read through cdp.consent_status.';

-- What the reading functions cdp.profile and cdp.lookup (40_ingest.sql,
-- SECURITY INVOKER) read: one internal view per table, owned by
-- cdp_view_owner like the ones above, so that the rows are decided by the
-- through_views policies for CURRENT_USER, the real caller of the function.
-- Masking is done here, not in the functions: a reader selecting these
-- views directly gets what cdp.profile gives.
CREATE VIEW cdp._profile_rows WITH (security_barrier = true) AS
SELECT p.tenant_id,
       p.profile_id,
       p.merged_into,
       CASE WHEN p.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN p.traits
            ELSE cdp._mask_pii(p.traits) END AS traits,
       CASE WHEN p.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN p.trait_times
            ELSE cdp._mask_pii(p.trait_times) END AS trait_times,
       p.first_seen_at,
       p.last_seen_at,
       p.created_at,
       p.updated_at
  FROM cdp.profiles p;
COMMENT ON VIEW cdp._profile_rows IS
  'cdp: the profiles (merged ones included) the caller may see, traits and trait_times with PII keys masked without see_pii. Internal: owned by cdp_view_owner, read by cdp.profile (SECURITY INVOKER), so CURRENT_USER''s grants decide.';

-- id_hash only for administrators and compliance (the tenants the caller
-- sees whatever the consent); readers and writers get the types alone.
CREATE VIEW cdp._identifier_rows WITH (security_barrier = true) AS
SELECT i.tenant_id,
       i.profile_id,
       i.id_type,
       CASE WHEN i.tenant_id = ANY ((SELECT cdp._full_tenants())::integer[]) THEN i.id_hash END AS id_hash,
       i.first_seen_at
  FROM cdp.identifiers i;
COMMENT ON VIEW cdp._identifier_rows IS
  'cdp: the identifiers the caller may see; id_hash only for administrators and compliance roles (NULL for readers). Internal: owned by cdp_view_owner, read by cdp.profile (SECURITY INVOKER).';

CREATE VIEW cdp._event_times WITH (security_barrier = true) AS
SELECT e.tenant_id, e.profile_id, e.event_time
  FROM cdp.events e;
COMMENT ON VIEW cdp._event_times IS
  'cdp: tenant, profile at ingestion and time of the events the caller may see (no content), for the event summary of cdp.profile. Internal: owned by cdp_view_owner.';

-- The identifier matching the keyed hash that cdp.lookup computed in the
-- same call (cdp._lookup_key) and put in the transaction-local settings
-- cdp_lookup.tenant_id, cdp_lookup.id_type and cdp_lookup.id_hash (hex):
-- readers never see hashes, so the match must happen inside the view. Empty
-- settings match nothing. See cdp.lookup for why a setting is enough.
-- The settings are read by three LEAKPROOF functions without arguments (they
-- see no row, so they can leak none; not inlined, because of SET
-- search_path): a view condition containing a function that is not
-- leakproof (current_setting, decode, a cast) may not run before the
-- row-level security conditions, so it could not be an index condition and
-- every lookup scanned all identifiers. With these, the primary key
-- (tenant_id, id_type, id_hash) is probed as before.
CREATE FUNCTION cdp._lookup_tenant_id() RETURNS integer
LANGUAGE sql STABLE LEAKPROOF PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT NULLIF(pg_catalog.current_setting('cdp_lookup.tenant_id', true), '')::integer $$;
COMMENT ON FUNCTION cdp._lookup_tenant_id() IS
  'cdp internal: the tenant id cdp.lookup is matching (setting cdp_lookup.tenant_id), or NULL. LEAKPROOF (no arguments) so that cdp._lookup_hit probes the primary key.';
CREATE FUNCTION cdp._lookup_id_type() RETURNS text
LANGUAGE sql STABLE LEAKPROOF PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.current_setting('cdp_lookup.id_type', true) $$;
COMMENT ON FUNCTION cdp._lookup_id_type() IS
  'cdp internal: the identifier type cdp.lookup is matching (setting cdp_lookup.id_type), or NULL. LEAKPROOF (no arguments) so that cdp._lookup_hit probes the primary key.';
CREATE FUNCTION cdp._lookup_id_hash() RETURNS bytea
LANGUAGE sql STABLE LEAKPROOF PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.decode(pg_catalog.current_setting('cdp_lookup.id_hash', true), 'hex') $$;
COMMENT ON FUNCTION cdp._lookup_id_hash() IS
  'cdp internal: the keyed hash cdp.lookup is matching (setting cdp_lookup.id_hash, hex), or NULL. LEAKPROOF (no arguments) so that cdp._lookup_hit probes the primary key.';
GRANT EXECUTE ON FUNCTION cdp._lookup_tenant_id(), cdp._lookup_id_type(), cdp._lookup_id_hash()
  TO cdp_admin, cdp_reader, cdp_compliance, cdp_writer;

CREATE VIEW cdp._lookup_hit WITH (security_barrier = true) AS
SELECT i.profile_id
  FROM cdp.identifiers i
 WHERE i.tenant_id = cdp._lookup_tenant_id()
   AND i.id_type = cdp._lookup_id_type()
   AND i.id_hash = cdp._lookup_id_hash();
COMMENT ON VIEW cdp._lookup_hit IS
  'cdp: the profile id of the identifier named by the settings cdp_lookup.tenant_id, cdp_lookup.id_type and cdp_lookup.id_hash (set by cdp.lookup for one call), if the caller may see it. Internal: owned by cdp_view_owner, read by cdp.lookup (SECURITY INVOKER).';

ALTER VIEW cdp._profile_rows OWNER TO cdp_view_owner;
ALTER VIEW cdp._identifier_rows OWNER TO cdp_view_owner;
ALTER VIEW cdp._event_times OWNER TO cdp_view_owner;
ALTER VIEW cdp._lookup_hit OWNER TO cdp_view_owner;
-- Every role that may call cdp.profile and cdp.lookup; the policies give a
-- writer nothing (cdp._view_tenants() is empty for it).
GRANT SELECT ON cdp._profile_rows, cdp._identifier_rows, cdp._event_times, cdp._lookup_hit
  TO cdp_admin, cdp_reader, cdp_compliance, cdp_writer;

DO $owner$
DECLARE
  v text;
BEGIN
  FOREACH v IN ARRAY ARRAY['profile_360', 'event_stream', 'consent_status'] LOOP
    EXECUTE pg_catalog.format('ALTER VIEW cdp.%I OWNER TO cdp_view_owner', '_' || v);
    EXECUTE pg_catalog.format('CREATE VIEW cdp.%I WITH (security_invoker = true) AS SELECT * FROM cdp.%I', v, '_' || v);
  END LOOP;
END
$owner$;
COMMENT ON VIEW cdp.profile_360 IS
  'cdp: one row per canonical profile the caller may see: traits (PII masked without see_pii), identifier counts by type, merged profile ids, current consent per purpose. Runs with the caller''s rights over cdp._profile_360: the caller''s grants and the consent of each customer decide the rows.';
COMMENT ON VIEW cdp.event_stream IS
  'cdp: events the caller may see, with the canonical profile they belong to now (original_profile_id: the profile at ingestion). Without see_pii: PII keys at any depth of properties, traits and context (and context.externalIds ids) are removed, and user_id, anonymous_id and previous_id are NULL. Runs with the caller''s rights over cdp._event_stream.';
COMMENT ON VIEW cdp.consent_status IS
  'cdp: the current consent decision per canonical profile and purpose (status granted, denied, withdrawn or expired; consent_id names the ledger row). Runs with the caller''s rights over cdp._consent_status: readers see only the grants of their purpose.';

-- The callers of the public views need SELECT on the internal ones (the
-- public views run with their rights); both give the same rows and columns.
GRANT SELECT ON cdp._profile_360, cdp._event_stream, cdp._consent_status,
                cdp.profile_360, cdp.event_stream, cdp.consent_status
  TO cdp_admin, cdp_reader, cdp_compliance;
