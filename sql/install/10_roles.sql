-- Group roles. Roles are cluster-wide and outlive the extension, so they are
-- created only when missing: DROP EXTENSION cdp; CREATE EXTENSION cdp works
-- in a cluster where they already exist.
DO $roles$
DECLARE
  r text;
BEGIN
  FOREACH r IN ARRAY ARRAY['cdp_admin', 'cdp_writer', 'cdp_reader', 'cdp_compliance'] LOOP
    IF NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles WHERE rolname = r) THEN
      EXECUTE pg_catalog.format('CREATE ROLE %I NOLOGIN', r);
    END IF;
  END LOOP;
END
$roles$;

COMMENT ON ROLE cdp_admin IS 'cdp: manages tenants, sources, access grants and retention; sees every tenant.';
COMMENT ON ROLE cdp_writer IS 'cdp: applications that ingest events; may only call the ingest functions.';
COMMENT ON ROLE cdp_reader IS 'cdp: BI and analysts; sees, through the views, only what cdp.grant_access allows.';
COMMENT ON ROLE cdp_compliance IS 'cdp: privacy officers; consent ledger, erasure, export and audit of their tenants.';

-- Nothing in the schema is for PUBLIC; each role gets what it needs in 90_grants.sql.
REVOKE ALL ON SCHEMA cdp FROM PUBLIC;
GRANT USAGE ON SCHEMA cdp TO cdp_admin, cdp_writer, cdp_reader, cdp_compliance;
