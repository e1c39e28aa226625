-- Consent: the hooks identity resolution and ingestion call. The consent and
-- privacy work (issue 4) extends this file: current-state table, ledger
-- rules, set_consent, consent_status.

-- Consent carried by a message (Segment's context.consent.categoryPreferences):
-- one ledger row per category the tenant knows as a purpose, granted for true
-- and denied for false. A category missing from the map is not a decision.
CREATE FUNCTION cdp._record_message_consent(p_tenant_id integer, p_profile_id bigint, p_source_id integer,
                                            p_prefs jsonb, p_recorded_at timestamptz, p_message_id text)
RETURNS integer
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  WITH ins AS (
    INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, source_id, legal_basis,
                                    recorded_at, message_id)
    SELECT p_tenant_id, p_profile_id, p.purpose,
           CASE WHEN e.value = 'true'::jsonb THEN 'granted' ELSE 'denied' END,
           p_source_id, 'consent', p_recorded_at, p_message_id
      FROM pg_catalog.jsonb_each(p_prefs) e
      JOIN cdp.purposes p ON p.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND p.purpose OPERATOR(pg_catalog.=) e.key
     WHERE pg_catalog.jsonb_typeof(e.value) = 'boolean'
    RETURNING 1)
  SELECT pg_catalog.count(*)::integer FROM ins;
$$;
COMMENT ON FUNCTION cdp._record_message_consent(integer, bigint, integer, jsonb, timestamptz, text) IS
  'cdp internal: records the consent decisions a message carries (categoryPreferences) in the ledger; returns how many.';

-- Called by identity resolution after it merged loser into winner, in the
-- same transaction, so consent state follows the merged profile.
CREATE FUNCTION cdp._after_merge(p_tenant_id integer, p_winner bigint, p_loser bigint)
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$ SELECT NULL::void $$;
COMMENT ON FUNCTION cdp._after_merge(integer, bigint, bigint) IS
  'cdp internal: hook run by identity resolution after a merge (combines consent state of the two profiles).';
