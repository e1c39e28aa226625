-- Experiment for bench/rls_overhead.sh (BENCH_EXTRA_SQL=bench/experiments/rls_tenant_first.sql):
-- the reader policy on cdp.events gains a sargable tenant predicate computed
-- once per query (an initplan), so partitions are scanned through the
-- (tenant_id, event_time, ...) primary key for the granted tenants only,
-- instead of every tenant's rows filtered by the consent subplan.
-- Proposed to the privacy branch (sql/install/65_access.sql); see
-- /work/notes/perf-findings.md.
CREATE OR REPLACE FUNCTION cdp._reader_tenants() RETURNS integer[] LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp AS $$
  SELECT pg_catalog.array_agg(g.tenant_id) FROM cdp.access_grants g
   WHERE g.role_id OPERATOR(pg_catalog.=) ANY (cdp._my_roles())
$$;
COMMENT ON FUNCTION cdp._reader_tenants() IS 'bench experiment: tenants granted to the current user.';
GRANT EXECUTE ON FUNCTION cdp._reader_tenants() TO cdp_reader;
ALTER POLICY reader_consented ON cdp.events USING (
  tenant_id = ANY ((SELECT cdp._reader_tenants())::integer[]) AND
  EXISTS (SELECT 1 FROM cdp.access_grants g JOIN cdp.consent_current c ON c.tenant_id = g.tenant_id AND c.purpose = g.purpose
          WHERE g.tenant_id = events.tenant_id AND c.profile_id = events.profile_id
            AND g.role_id = ANY ((SELECT cdp._my_roles())::oid[])
            AND c.decision = 'granted' AND (c.expires_at IS NULL OR c.expires_at > pg_catalog.now())));
