-- Row-level security: enabled and FORCED on every table that holds tenant
-- data, so that not even a non-superuser owner reads around the policies.
-- Policies are plain predicates over tenant_id (DESIGN 5 and 6). Here: the
-- administrator sees every tenant. Reader and compliance policies, which
-- depend on access grants and consent, are added in the consent files.
DO $rls$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenants', 'tenant_secrets', 'sources', 'profiles', 'identifiers', 'merges',
                           'refused_links', 'message_ids', 'quarantine', 'groups', 'purposes',
                           'consent_ledger', 'suppressions', 'audit_log', 'events'] LOOP
    EXECUTE pg_catalog.format('ALTER TABLE cdp.%I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE pg_catalog.format('ALTER TABLE cdp.%I FORCE ROW LEVEL SECURITY', t);
    IF t <> 'tenant_secrets' THEN
      EXECUTE pg_catalog.format('CREATE POLICY admin_all ON cdp.%I TO cdp_admin USING (true)', t);
      EXECUTE pg_catalog.format(
        'COMMENT ON POLICY admin_all ON cdp.%I IS %L', t,
        'cdp: administrators see every tenant''s rows.');
    END IF;
  END LOOP;
END
$rls$;
