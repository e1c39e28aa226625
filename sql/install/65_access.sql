-- Access: who may see which tenant's rows, and which customers (DESIGN 6).
-- See docs/consent.md, "Access".
--
-- cdp.grant_access(role, tenant, purpose, see_pii) writes cdp.access_grants.
-- Policies are plain predicates over tenant_id, the grants table and
-- cdp.consent_current, correlated on tenant_id (the Citus rule: a subquery
-- joins on the distribution column). The caller's roles are computed once
-- per query by (SELECT cdp._my_roles()), an initplan, never per row.
--   * cdp_reader: rows of the tenants granted to it, and only of profiles
--     whose current consent for the grant's purpose is granted and not expired.
--   * cdp_compliance: every row of the tenants granted to it, whatever the
--     consent (ledger and audit log included).
--   * cdp_writer: nothing to read; a grant only names the tenants in which it
--     may record consent (cdp.set_consent).
-- A role without a grant sees nothing: policies are permissive, and no
-- policy matches without a grants row.

CREATE TABLE cdp.access_grants (
  tenant_id   integer NOT NULL REFERENCES cdp.tenants (tenant_id) ON DELETE CASCADE,
  role_id     oid NOT NULL,
  purpose     text NOT NULL,
  see_pii     boolean NOT NULL DEFAULT false,
  granted_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  granted_by  name NOT NULL DEFAULT session_user,
  PRIMARY KEY (tenant_id, role_id),
  FOREIGN KEY (tenant_id, purpose) REFERENCES cdp.purposes (tenant_id, purpose)
);
CREATE INDEX access_grants_role_idx ON cdp.access_grants (role_id);
COMMENT ON TABLE cdp.access_grants IS
  'cdp: what a role may see (cdp.grant_access): one tenant, the purpose whose consent decides which customers, and whether PII traits are shown unmasked in the views.';
COMMENT ON COLUMN cdp.access_grants.role_id IS 'The role (pg_roles.oid) the grant is for; members of the role inherit it.';
SELECT pg_catalog.pg_extension_config_dump('cdp.access_grants', '');

-- The roles whose privileges the current user has (itself included). Not
-- SECURITY DEFINER: it must see the caller, not the owner.
CREATE FUNCTION cdp._my_roles() RETURNS oid[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.array_agg(r.oid)
    FROM pg_catalog.pg_roles r
   WHERE pg_catalog.pg_has_role(CURRENT_USER, r.oid, 'USAGE');
$$;
COMMENT ON FUNCTION cdp._my_roles() IS
  'cdp internal: oids of every role whose privileges the current user has. Policies call it as (SELECT cdp._my_roles()), once per query.';

-- Tenants whose PII the caller may see unmasked in the views: those granted
-- with see_pii, or every tenant granted to a compliance role, or all for an
-- administrator.
CREATE FUNCTION cdp._pii_tenants() RETURNS integer[]
LANGUAGE sql STABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE
    WHEN pg_catalog.pg_has_role(CURRENT_USER, 'cdp_admin', 'USAGE')
      THEN (SELECT pg_catalog.array_agg(t.tenant_id) FROM cdp.tenants t)
    ELSE (SELECT pg_catalog.array_agg(g.tenant_id) FROM cdp.access_grants g
           WHERE g.role_id OPERATOR(pg_catalog.=) ANY (cdp._my_roles())
             AND (g.see_pii OR pg_catalog.pg_has_role(CURRENT_USER, 'cdp_compliance', 'USAGE')))
  END;
$$;
COMMENT ON FUNCTION cdp._pii_tenants() IS
  'cdp internal: tenants whose PII traits the current user sees unmasked in the views (see_pii grants, compliance grants, administrators).';

-- PII trait keys masked for grants without see_pii (Segment's reserved
-- traits that identify a person).
CREATE FUNCTION cdp._pii_keys() RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT ARRAY['email', 'phone', 'name', 'firstName', 'lastName', 'first_name', 'last_name', 'address',
               'birthday', 'username', 'avatar', 'ip']::text[];
$$;
COMMENT ON FUNCTION cdp._pii_keys() IS
  'cdp internal: trait and context keys masked for roles without see_pii (email, phone, name, address, ...).';

-- The role on whose behalf a SECURITY DEFINER function runs. Inside such a
-- function CURRENT_USER is the owner, so the caller is taken from the
-- session: the role set by SET ROLE, else the session user. A definer
-- function of another role calling ours is judged by the session's role,
-- which can only refuse more, never allow more, than that role's own rights.
CREATE FUNCTION cdp._caller() RETURNS oid
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT r.oid FROM pg_catalog.pg_roles r
   WHERE r.rolname OPERATOR(pg_catalog.=)
         CASE WHEN pg_catalog.current_setting('role') OPERATOR(pg_catalog.=) 'none'
              THEN SESSION_USER::text ELSE pg_catalog.current_setting('role') END;
$$;
COMMENT ON FUNCTION cdp._caller() IS
  'cdp internal: the calling role as seen from a SECURITY DEFINER function (the SET ROLE role, else the session user).';

-- Checks that the caller of an API function may act on a tenant:
-- administrators always, other roles when one of their grants names the
-- tenant. Raises 42501 otherwise.
CREATE FUNCTION cdp._check_tenant_access(p_tenant_id integer, p_tenant text, p_need text) RETURNS void
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  caller oid := cdp._caller();
BEGIN
  IF caller IS NOT NULL AND (pg_catalog.pg_has_role(caller, 'cdp_admin', 'USAGE')
     OR EXISTS (SELECT 1 FROM cdp.access_grants g
                 WHERE g.tenant_id OPERATOR(pg_catalog.=) p_tenant_id
                   AND pg_catalog.pg_has_role(caller, g.role_id, 'USAGE')
                   AND (pg_catalog.pg_has_role(g.role_id, 'cdp_compliance', 'USAGE')
                        OR (p_need OPERATOR(pg_catalog.=) 'write' AND pg_catalog.pg_has_role(g.role_id, 'cdp_writer', 'USAGE'))))) THEN
    RETURN;
  END IF;
  RAISE EXCEPTION 'permission denied for tenant "%"', p_tenant
    USING ERRCODE = 'insufficient_privilege',
          HINT = 'An administrator grants a role access to a tenant with cdp.grant_access(role, tenant).';
END
$$;
COMMENT ON FUNCTION cdp._check_tenant_access(integer, text, text) IS
  'cdp internal: raises 42501 unless the calling role (cdp._caller) is an administrator or holds a grant for the tenant through a compliance role (p_need ''compliance'') or a compliance or writer role (p_need ''write'').';

-- The tenant an API function acts on, after the access check. For a caller
-- without access an unknown tenant and a forbidden one give the same error
-- (42501), so tenant names cannot be probed; administrators get 42704.
CREATE FUNCTION cdp._authorized_tenant(p_tenant text, p_need text) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer;
BEGIN
  IF p_tenant IS NULL THEN
    RAISE EXCEPTION 'tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT t.tenant_id INTO tid FROM cdp.tenants t WHERE t.name OPERATOR(pg_catalog.=) p_tenant;
  IF tid IS NULL AND pg_catalog.pg_has_role(cdp._caller(), 'cdp_admin', 'USAGE') THEN
    tid := cdp._tenant_id(p_tenant);   -- raises 42704 with its hint
  END IF;
  PERFORM cdp._check_tenant_access(coalesce(tid, -1), p_tenant, p_need);
  RETURN tid;
END
$$;
COMMENT ON FUNCTION cdp._authorized_tenant(text, text) IS
  'cdp internal: the id of a tenant the calling role may act on (see _check_tenant_access); 42501 for a tenant it may not act on or that does not exist, 42704 for an unknown tenant asked by an administrator.';

CREATE FUNCTION cdp.grant_access(role regrole, tenant text, purpose text DEFAULT 'analytics',
                                 see_pii boolean DEFAULT false)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._tenant_id(tenant);
BEGIN
  IF role IS NULL OR purpose IS NULL OR see_pii IS NULL THEN
    RAISE EXCEPTION 'role, purpose and see_pii must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM cdp.purposes p
                  WHERE p.tenant_id OPERATOR(pg_catalog.=) tid AND p.purpose OPERATOR(pg_catalog.=) grant_access.purpose) THEN
    RAISE EXCEPTION 'purpose "%" does not exist in tenant "%"', purpose, tenant
      USING ERRCODE = 'undefined_object',
            HINT = 'Purposes: ' || (SELECT pg_catalog.string_agg(p.purpose, ', ' ORDER BY p.purpose) FROM cdp.purposes p
                                     WHERE p.tenant_id OPERATOR(pg_catalog.=) tid) || '.';
  END IF;
  IF NOT (pg_catalog.pg_has_role(role, 'cdp_reader', 'USAGE') OR pg_catalog.pg_has_role(role, 'cdp_compliance', 'USAGE')
          OR pg_catalog.pg_has_role(role, 'cdp_writer', 'USAGE')) THEN
    RAISE EXCEPTION 'role "%" is not a member of cdp_reader, cdp_compliance or cdp_writer', role
      USING ERRCODE = 'invalid_grant_operation',
            DETAIL = 'Row-level security policies apply to those group roles only, so the grant would show nothing.',
            HINT = pg_catalog.format('GRANT cdp_reader TO %s; then grant access again.', role);
  END IF;
  INSERT INTO cdp.access_grants AS g (tenant_id, role_id, purpose, see_pii)
  VALUES (tid, role, grant_access.purpose, grant_access.see_pii)
  ON CONFLICT (tenant_id, role_id) DO UPDATE
     SET purpose = excluded.purpose, see_pii = excluded.see_pii,
         granted_at = excluded.granted_at, granted_by = excluded.granted_by;
  PERFORM cdp._audit(tid, 'grant_access',
                     pg_catalog.jsonb_build_object('role', role::text, 'purpose', purpose, 'see_pii', see_pii));
END
$$;
COMMENT ON FUNCTION cdp.grant_access(regrole, text, text, boolean) IS
  'Lets a role (a member of cdp_reader, cdp_compliance or cdp_writer) see a tenant: readers see the customers who consented to purpose, with PII traits masked unless see_pii; compliance sees everything of the tenant; writers may record consent there. Replaces an earlier grant of the role on the tenant. Audited.';

CREATE FUNCTION cdp.revoke_access(role regrole, tenant text)
RETURNS boolean
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._tenant_id(tenant);
  n integer;
BEGIN
  IF role IS NULL THEN
    RAISE EXCEPTION 'role must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  DELETE FROM cdp.access_grants g
   WHERE g.tenant_id OPERATOR(pg_catalog.=) tid AND g.role_id OPERATOR(pg_catalog.=) role::oid;
  GET DIAGNOSTICS n = ROW_COUNT;
  PERFORM cdp._audit(tid, 'revoke_access', pg_catalog.jsonb_build_object('role', role::text, 'had_grant', n > 0));
  RETURN n > 0;
END
$$;
COMMENT ON FUNCTION cdp.revoke_access(regrole, text) IS
  'Removes a role''s access to a tenant (effective for the role''s next query); returns whether it had one. Audited.';

GRANT EXECUTE ON FUNCTION cdp.grant_access(regrole, text, text, boolean), cdp.revoke_access(regrole, text) TO cdp_admin;
-- Policies and the views call these as the querying role.
GRANT EXECUTE ON FUNCTION cdp._my_roles(), cdp._pii_tenants(), cdp._pii_keys()
  TO cdp_admin, cdp_reader, cdp_compliance, cdp_writer;

-- Row-level security on the new tables.
ALTER TABLE cdp.consent_current ENABLE ROW LEVEL SECURITY;
ALTER TABLE cdp.consent_current FORCE ROW LEVEL SECURITY;
ALTER TABLE cdp.access_grants ENABLE ROW LEVEL SECURITY;
ALTER TABLE cdp.access_grants FORCE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON cdp.consent_current TO cdp_admin USING (true);
COMMENT ON POLICY admin_all ON cdp.consent_current IS 'cdp: administrators see every tenant''s rows.';
CREATE POLICY admin_all ON cdp.access_grants TO cdp_admin USING (true);
COMMENT ON POLICY admin_all ON cdp.access_grants IS 'cdp: administrators see every tenant''s rows.';

-- Every role sees its own grants (the other policies read them).
CREATE POLICY own_grants ON cdp.access_grants FOR SELECT TO cdp_reader, cdp_compliance
  USING (role_id = ANY ((SELECT cdp._my_roles())::oid[]));
COMMENT ON POLICY own_grants ON cdp.access_grants IS 'cdp: a role sees the grants it holds (directly or through membership).';

-- Compliance: every row of its tenants.
DO $compliance$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['tenants', 'sources', 'profiles', 'identifiers', 'merges', 'refused_links', 'quarantine',
                           'groups', 'purposes', 'consent_ledger', 'consent_current', 'suppressions', 'audit_log',
                           'events'] LOOP
    EXECUTE pg_catalog.format(
      'CREATE POLICY compliance_tenant ON cdp.%I FOR SELECT TO cdp_compliance USING ('
      'EXISTS (SELECT 1 FROM cdp.access_grants g WHERE g.tenant_id = %I.tenant_id '
      'AND g.role_id = ANY ((SELECT cdp._my_roles())::oid[])))', t, t);
    EXECUTE pg_catalog.format('COMMENT ON POLICY compliance_tenant ON cdp.%I IS %L', t,
      'cdp: compliance roles see every row of the tenants granted to them, whatever the consent.');
    EXECUTE pg_catalog.format('GRANT SELECT ON cdp.%I TO cdp_compliance', t);
  END LOOP;
END
$compliance$;
GRANT SELECT ON cdp.access_grants TO cdp_compliance;

-- Readers: tenants granted to them; customers by consent for the grant's
-- purpose. consent_current holds a row for every profile of a person, so the
-- same predicate serves profiles, identifiers and events (whose profile_id
-- may be a merged profile).
CREATE POLICY reader_tenant ON cdp.tenants FOR SELECT TO cdp_reader
  USING (EXISTS (SELECT 1 FROM cdp.access_grants g
                  WHERE g.tenant_id = tenants.tenant_id AND g.role_id = ANY ((SELECT cdp._my_roles())::oid[])));
COMMENT ON POLICY reader_tenant ON cdp.tenants IS 'cdp: readers see the tenants granted to them.';

CREATE POLICY reader_consented ON cdp.consent_current FOR SELECT TO cdp_reader
  USING (decision = 'granted' AND (expires_at IS NULL OR expires_at > pg_catalog.now())
         AND EXISTS (SELECT 1 FROM cdp.access_grants g
                      WHERE g.tenant_id = consent_current.tenant_id AND g.purpose = consent_current.purpose
                        AND g.role_id = ANY ((SELECT cdp._my_roles())::oid[])));
COMMENT ON POLICY reader_consented ON cdp.consent_current IS
  'cdp: readers see the unexpired grants of their purpose in their tenants, i.e. which customers they may see.';

DO $reader$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['profiles', 'identifiers', 'events'] LOOP
    EXECUTE pg_catalog.format(
      'CREATE POLICY reader_consented ON cdp.%I FOR SELECT TO cdp_reader USING ('
      'EXISTS (SELECT 1 FROM cdp.access_grants g JOIN cdp.consent_current c '
      'ON c.tenant_id = g.tenant_id AND c.purpose = g.purpose '
      'WHERE g.tenant_id = %I.tenant_id AND c.profile_id = %I.profile_id '
      'AND g.role_id = ANY ((SELECT cdp._my_roles())::oid[]) '
      'AND c.decision = ''granted'' AND (c.expires_at IS NULL OR c.expires_at > pg_catalog.now())))', t, t, t);
    EXECUTE pg_catalog.format('COMMENT ON POLICY reader_consented ON cdp.%I IS %L', t,
      'cdp: readers see the rows of customers whose current consent for the purpose of their grant is granted and unexpired.');
    EXECUTE pg_catalog.format('GRANT SELECT ON cdp.%I TO cdp_reader', t);
  END LOOP;
END
$reader$;
GRANT SELECT ON cdp.tenants, cdp.consent_current, cdp.access_grants TO cdp_reader;
GRANT SELECT ON cdp.consent_current, cdp.access_grants TO cdp_admin;
