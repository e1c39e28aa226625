-- Views for BI tools (DESIGN 3 and 6). They run with the caller's rights
-- (security_invoker), so the row-level security of the base tables decides
-- what each role sees; the views add the canonical-profile resolution and
-- the masking of PII for grants without see_pii. Views are parsed once, at
-- install, with the install's search_path: a caller's search_path cannot
-- change what their names and operators mean.

CREATE VIEW cdp.profile_360 WITH (security_invoker = true) AS
SELECT p.tenant_id,
       t.name AS tenant,
       p.profile_id,
       CASE WHEN p.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) THEN p.traits
            ELSE p.traits - (SELECT cdp._pii_keys()) END AS traits,
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
COMMENT ON VIEW cdp.profile_360 IS
  'cdp: one row per canonical profile the caller may see: traits (PII masked without see_pii), identifier counts by type, merged profile ids, current consent per purpose. Runs with the caller''s rights (row-level security decides the rows).';

CREATE VIEW cdp.event_stream WITH (security_invoker = true) AS
SELECT e.tenant_id,
       e.event_id,
       e.event_time,
       coalesce(p.merged_into, e.profile_id) AS profile_id,
       e.profile_id AS original_profile_id,
       e.source_id,
       e.message_id,
       e.event_type,
       e.event_name,
       e.user_id,
       e.anonymous_id,
       e.group_id,
       e.previous_id,
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) OR jsonb_typeof(e.properties) <> 'object'
            THEN e.properties ELSE e.properties - (SELECT cdp._pii_keys()) END AS properties,
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) OR jsonb_typeof(e.traits) <> 'object'
            THEN e.traits ELSE e.traits - (SELECT cdp._pii_keys()) END AS traits,
       CASE WHEN e.tenant_id = ANY ((SELECT cdp._pii_tenants())::integer[]) OR jsonb_typeof(e.context) <> 'object'
              THEN e.context
            WHEN jsonb_typeof(e.context -> 'traits') = 'object'
              THEN jsonb_set(e.context - (SELECT cdp._pii_keys()), '{traits}',
                             (e.context -> 'traits') - (SELECT cdp._pii_keys()))
            ELSE e.context - (SELECT cdp._pii_keys()) END AS context,
       e.received_at
  FROM cdp.events e
  LEFT JOIN cdp.profiles p ON p.tenant_id = e.tenant_id AND p.profile_id = e.profile_id;
COMMENT ON VIEW cdp.event_stream IS
  'cdp: events the caller may see, with the canonical profile they belong to now (original_profile_id: the profile at ingestion). PII keys of properties, traits and context are masked without see_pii. Runs with the caller''s rights.';

CREATE VIEW cdp.consent_status WITH (security_invoker = true) AS
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
COMMENT ON VIEW cdp.consent_status IS
  'cdp: the current consent decision per canonical profile and purpose (status granted, denied, withdrawn or expired; consent_id names the ledger row). Runs with the caller''s rights: readers see only the grants of their purpose.';

GRANT SELECT ON cdp.profile_360, cdp.event_stream, cdp.consent_status TO cdp_admin, cdp_reader, cdp_compliance;
