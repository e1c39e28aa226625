-- Demo data for ./cdp.sh demo. Safe to run again: it only adds what is missing.
-- Later issues extend it with ingested events from shared/fixtures.
DO $demo$
BEGIN
  IF NOT EXISTS (SELECT 1 FROM cdp.tenants WHERE name = 'acme') THEN
    PERFORM cdp.create_tenant('acme', '{"default_country": "US"}');
    PERFORM cdp.create_source('acme', 'website', 'web');
    PERFORM cdp.create_source('acme', 'ios-app', 'mobile');
  END IF;
  IF NOT EXISTS (SELECT 1 FROM cdp.tenants WHERE name = 'globex') THEN
    PERFORM cdp.create_tenant('globex', '{"default_country": "DE", "identifier_limits": {"email": 3}}');
    PERFORM cdp.create_source('globex', 'shop', 'web');
  END IF;
END
$demo$;
SELECT t.name AS tenant, s.name AS source, s.kind, s.enabled
  FROM cdp.tenants t JOIN cdp.sources s USING (tenant_id) ORDER BY 1, 2;
