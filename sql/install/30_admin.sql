-- Administration: tenants, sources and write keys, the audit trail.
-- Every function here is SECURITY DEFINER with search_path pinned to
-- pg_catalog, pg_temp, and names every object with its schema.

CREATE FUNCTION cdp._random_bytes(n integer) RETURNS bytea
  LANGUAGE c STRICT VOLATILE PARALLEL SAFE
  AS 'MODULE_PATHNAME', 'cdp_random_bytes';
COMMENT ON FUNCTION cdp._random_bytes(integer) IS
  'cdp internal: n bytes from the operating system''s cryptographic random source.';

CREATE FUNCTION cdp._audit(p_tenant_id integer, p_action text, p_args jsonb DEFAULT '{}')
RETURNS void
LANGUAGE sql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
  -- Inside a SECURITY DEFINER function current_user is the owner: record
  -- the role the session acts as (SET ROLE, else the session user) instead.
  INSERT INTO cdp.audit_log (tenant_id, action, args, current_user_name)
  VALUES (coalesce(p_tenant_id, 0), p_action, coalesce(p_args, '{}'::jsonb),
          CASE WHEN pg_catalog.current_setting('role') OPERATOR(pg_catalog.=) 'none' THEN SESSION_USER
               ELSE pg_catalog.current_setting('role')::name END);
$$;
COMMENT ON FUNCTION cdp._audit(integer, text, jsonb) IS
  'cdp internal: appends one row to cdp.audit_log (tenant 0 = system). Callers pass arguments without raw PII.';

-- Append-only tables (the audit log here, the consent ledger later) share
-- one guard: no UPDATE or TRUNCATE, and DELETE only in a transaction that set
-- the purge setting named by the trigger's first argument (retention and
-- erasure do, for their own transaction). Arguments: purge setting, what the
-- rows are (for DETAIL), HINT.
CREATE FUNCTION cdp._append_only_guard() RETURNS trigger
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF TG_OP = 'DELETE' AND pg_catalog.current_setting(TG_ARGV[0], true) = 'on' THEN
    RETURN OLD;
  END IF;
  RAISE EXCEPTION '%.% is append-only', TG_TABLE_SCHEMA, TG_TABLE_NAME
    USING ERRCODE = 'insufficient_privilege',
          DETAIL = pg_catalog.format('%s of %s is not allowed.', TG_OP, TG_ARGV[1]),
          HINT = TG_ARGV[2];
END
$$;
COMMENT ON FUNCTION cdp._append_only_guard() IS
  'cdp internal: keeps a table append-only (trigger arguments: purge setting, what the rows are, hint).';

CREATE TRIGGER audit_log_append_only
  BEFORE UPDATE OR DELETE ON cdp.audit_log
  FOR EACH ROW EXECUTE FUNCTION cdp._append_only_guard(
    'cdp.audit_purge', 'audit entries',
    'Old entries are removed by the audit retention job (cdp.set_retention(tenant, ''audit'', ...)).');
CREATE TRIGGER audit_log_no_truncate
  BEFORE TRUNCATE ON cdp.audit_log
  FOR EACH STATEMENT EXECUTE FUNCTION cdp._append_only_guard(
    'cdp.audit_purge', 'audit entries',
    'Old entries are removed by the audit retention job (cdp.set_retention(tenant, ''audit'', ...)).');

-- Resolve a tenant name to its id, with the errors every API function shares.
CREATE FUNCTION cdp._tenant_id(p_tenant text) RETURNS integer
LANGUAGE plpgsql STABLE SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id integer;
BEGIN
  IF p_tenant IS NULL THEN
    RAISE EXCEPTION 'tenant must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT t.tenant_id INTO id FROM cdp.tenants t WHERE t.name OPERATOR(pg_catalog.=) p_tenant;
  IF id IS NULL THEN
    RAISE EXCEPTION 'tenant "%" does not exist', p_tenant
      USING ERRCODE = 'undefined_object', HINT = 'Create it with cdp.create_tenant(name).';
  END IF;
  RETURN id;
END
$$;
COMMENT ON FUNCTION cdp._tenant_id(text) IS
  'cdp internal: the id of a tenant by name; raises 22004 for NULL and 42704 for an unknown tenant.';

-- Checks a name given to a tenant or source.
CREATE FUNCTION cdp._check_name(p_what text, p_name text) RETURNS text
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF p_name IS NULL THEN
    RAISE EXCEPTION '% name must not be NULL', p_what USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF pg_catalog.btrim(p_name) = '' THEN
    RAISE EXCEPTION '% name must not be empty', p_what USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF pg_catalog.length(p_name) > 200 THEN
    RAISE EXCEPTION '% name is too long (% characters, at most 200)', p_what, pg_catalog.length(p_name)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF p_name <> pg_catalog.btrim(p_name) THEN
    RAISE EXCEPTION '% name must not begin or end with white space', p_what
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN p_name;
END
$$;
COMMENT ON FUNCTION cdp._check_name(text, text) IS
  'cdp internal: rejects NULL (22004), empty, padded or over-long (22023) names.';

-- Tenant settings: known keys only, each of the right shape, so that a typo is
-- an error today rather than a surprise in identity resolution next month.
CREATE FUNCTION cdp._validate_settings(p_settings jsonb) RETURNS jsonb
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  allowed constant text[] := ARRAY['default_country', 'identifier_limits', 'identifier_priority',
                                   'blocked_values', 'dedupe_window', 'custom_identifiers',
                                   'consent_categories'];
  k text;
  v jsonb;
BEGIN
  IF p_settings IS NULL THEN
    RETURN '{}'::jsonb;
  END IF;
  IF pg_catalog.jsonb_typeof(p_settings) <> 'object' THEN
    RAISE EXCEPTION 'tenant settings must be a JSON object, not %', pg_catalog.jsonb_typeof(p_settings)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  FOR k, v IN SELECT e.key, e.value FROM pg_catalog.jsonb_each(p_settings) e LOOP
    IF NOT k = ANY (allowed) THEN
      RAISE EXCEPTION 'unknown tenant setting "%"', k
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Known settings: ' || pg_catalog.array_to_string(allowed, ', ') || '.';
    END IF;
    IF k = 'default_country' AND NOT (pg_catalog.jsonb_typeof(v) = 'string' AND v #>> '{}' ~ '^[A-Z]{2}$') THEN
      RAISE EXCEPTION 'setting default_country must be an ISO 3166-1 alpha-2 code such as "DE", not %', v
        USING ERRCODE = 'invalid_parameter_value';
    ELSIF k = 'identifier_limits' AND NOT (
          pg_catalog.jsonb_typeof(v) = 'object'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_each(v) l
                          -- a type as messages spell it (lower case, as cdp_valid_id_type
                          -- in normalize.c): "Email" would never match
                          WHERE l.key !~ '^[a-z][a-z0-9_.-]{0,62}$'
                             OR NOT (pg_catalog.jsonb_typeof(l.value) = 'null'
                                     OR (pg_catalog.jsonb_typeof(l.value) = 'number'
                                         AND (l.value #>> '{}') ~ '^[1-9][0-9]{0,5}$')))) THEN
      RAISE EXCEPTION 'setting identifier_limits must map identifier types to a positive integer or null, not %', v
        USING ERRCODE = 'invalid_parameter_value',
              HINT = 'Identifier types are lower case: a letter, then letters, digits, _, . or - (email, user_id, ios.idfa).';
    ELSIF k = 'identifier_priority' AND NOT (
          pg_catalog.jsonb_typeof(v) = 'array'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(v) a
                          WHERE pg_catalog.jsonb_typeof(a.value) <> 'string'
                             OR (a.value #>> '{}') !~ '^[a-z][a-z0-9_.-]{0,62}$')) THEN
      RAISE EXCEPTION 'setting identifier_priority must be an array of identifier types (lower case, like "email"), not %', v
        USING ERRCODE = 'invalid_parameter_value';
    ELSIF k = 'blocked_values' AND NOT (
          pg_catalog.jsonb_typeof(v) = 'array'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_array_elements(v) a
                          WHERE pg_catalog.jsonb_typeof(a.value) <> 'string')) THEN
      RAISE EXCEPTION 'setting % must be an array of strings, not %', k, v
        USING ERRCODE = 'invalid_parameter_value';
    ELSIF k = 'custom_identifiers' AND NOT (
          pg_catalog.jsonb_typeof(v) = 'object'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_each(v) c
                          WHERE pg_catalog.jsonb_typeof(c.value) <> 'string'
                             OR c.key !~ '^[a-z][a-z0-9_]{0,62}$')) THEN
      RAISE EXCEPTION 'setting custom_identifiers must map lower-case type names to JSON paths (strings), not %', v
        USING ERRCODE = 'invalid_parameter_value';
    ELSIF k = 'consent_categories' AND NOT (
          pg_catalog.jsonb_typeof(v) = 'object'
          AND NOT EXISTS (SELECT 1 FROM pg_catalog.jsonb_each(v) c
                          WHERE c.key = ''
                             OR NOT (pg_catalog.jsonb_typeof(c.value) = 'null'
                                     OR (pg_catalog.jsonb_typeof(c.value) = 'string'
                                         AND (c.value #>> '{}') ~ '^[a-z][a-z0-9_]{0,62}$')))) THEN
      RAISE EXCEPTION 'setting consent_categories must map consent category ids to purpose names (lower case, like "analytics") or null, not %', v
        USING ERRCODE = 'invalid_parameter_value';
    ELSIF k = 'dedupe_window' THEN
      BEGIN
        IF pg_catalog.jsonb_typeof(v) <> 'string' OR (v #>> '{}')::interval <= interval '0' THEN
          RAISE EXCEPTION USING ERRCODE = 'invalid_parameter_value';
        END IF;
      EXCEPTION WHEN invalid_parameter_value OR invalid_datetime_format OR datetime_field_overflow THEN
        RAISE EXCEPTION 'setting dedupe_window must be a positive interval such as "7 days", not %', v
          USING ERRCODE = 'invalid_parameter_value';
      END;
    END IF;
  END LOOP;
  RETURN p_settings;
END
$$;
COMMENT ON FUNCTION cdp._validate_settings(jsonb) IS
  'cdp internal: checks tenant settings (known keys, right shapes) and raises 22023 naming the bad one.';

CREATE FUNCTION cdp.create_tenant(name text, settings jsonb DEFAULT '{}')
RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  new_id integer;
BEGIN
  PERFORM cdp._check_name('tenant', name);
  INSERT INTO cdp.tenants (name, settings)
  VALUES (name, cdp._validate_settings(settings))
  ON CONFLICT ON CONSTRAINT tenants_name_key DO NOTHING
  RETURNING tenant_id INTO new_id;
  IF new_id IS NULL THEN
    RAISE EXCEPTION 'tenant "%" already exists', name USING ERRCODE = 'unique_violation';
  END IF;

  INSERT INTO cdp.tenant_secrets (tenant_id, secret) VALUES (new_id, cdp._random_bytes(32));
  INSERT INTO cdp.purposes (tenant_id, purpose, description) VALUES
    (new_id, 'analytics', 'Measuring and understanding use of the product.'),
    (new_id, 'marketing', 'Marketing messages by email, SMS or push.'),
    (new_id, 'personalization', 'Tailoring content and offers to the person.'),
    (new_id, 'advertising', 'Targeted advertising and audiences shared with ad platforms.'),
    (new_id, 'sale_of_data', 'Sale or sharing of personal information (CCPA opt-out).');

  PERFORM cdp._audit(new_id, 'create_tenant',
                     pg_catalog.jsonb_build_object('name', name, 'settings', coalesce(settings, '{}'::jsonb)));
  RETURN new_id;
END
$$;
COMMENT ON FUNCTION cdp.create_tenant(text, jsonb) IS
  'Creates a tenant with its own hashing secret and the default consent purposes; returns its id. Errors: NULL name 22004, empty or invalid name or settings 22023, duplicate 23505.';

-- A write key names its tenant ("cdpk_<tenant id>_<48 hex>") so the lookup
-- uses (tenant_id, sha256(key)) and stays inside one tenant. Only the hash is kept.
CREATE FUNCTION cdp._new_write_key(p_tenant_id integer) RETURNS text
LANGUAGE sql VOLATILE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT 'cdpk_' || p_tenant_id || '_' || pg_catalog.encode(cdp._random_bytes(24), 'hex');
$$;
COMMENT ON FUNCTION cdp._new_write_key(integer) IS 'cdp internal: a fresh write key for a tenant (192 random bits).';

CREATE FUNCTION cdp._write_key_hash(p_key text) RETURNS bytea
LANGUAGE sql IMMUTABLE STRICT
SET search_path = pg_catalog, pg_temp
AS $$ SELECT pg_catalog.sha256(pg_catalog.convert_to(p_key, 'UTF8')) $$;
COMMENT ON FUNCTION cdp._write_key_hash(text) IS 'cdp internal: the SHA-256 under which a write key is stored.';

CREATE FUNCTION cdp.create_source(tenant text, name text, kind text DEFAULT 'api')
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._tenant_id(tenant);
  key text := cdp._new_write_key(tid);
  kinds constant text[] := ARRAY['api', 'web', 'mobile', 'server', 'warehouse', 'import'];
  new_id integer;
BEGIN
  PERFORM cdp._check_name('source', name);
  IF kind IS NULL OR NOT kind = ANY (kinds) THEN
    RAISE EXCEPTION 'source kind must be one of %, not %', pg_catalog.array_to_string(kinds, ', '),
                    coalesce(pg_catalog.quote_literal(kind), 'NULL')
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  INSERT INTO cdp.sources (tenant_id, name, kind, write_key_hash)
  VALUES (tid, name, kind, cdp._write_key_hash(key))
  ON CONFLICT ON CONSTRAINT sources_tenant_id_name_key DO NOTHING
  RETURNING source_id INTO new_id;
  IF new_id IS NULL THEN
    RAISE EXCEPTION 'source "%" already exists in tenant "%"', name, tenant USING ERRCODE = 'unique_violation';
  END IF;
  PERFORM cdp._audit(tid, 'create_source',
                     pg_catalog.jsonb_build_object('source', name, 'source_id', new_id, 'kind', kind));
  RETURN key;
END
$$;
COMMENT ON FUNCTION cdp.create_source(text, text, text) IS
  'Creates a source for a tenant and returns its write key (shown once; only its hash is kept). Errors: unknown tenant 42704, NULL 22004, bad name or kind 22023, duplicate 23505.';

CREATE FUNCTION cdp._source_id(p_tenant_id integer, p_tenant text, p_source text) RETURNS integer
LANGUAGE plpgsql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  id integer;
BEGIN
  IF p_source IS NULL THEN
    RAISE EXCEPTION 'source must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  SELECT s.source_id INTO id FROM cdp.sources s
   WHERE s.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND s.name OPERATOR(pg_catalog.=) p_source;
  IF id IS NULL THEN
    RAISE EXCEPTION 'source "%" does not exist in tenant "%"', p_source, p_tenant USING ERRCODE = 'undefined_object';
  END IF;
  RETURN id;
END
$$;
COMMENT ON FUNCTION cdp._source_id(integer, text, text) IS 'cdp internal: a source id by name; 22004 for NULL, 42704 if unknown.';

CREATE FUNCTION cdp.set_source_enabled(tenant text, source text, enabled boolean)
RETURNS void
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._tenant_id(tenant);
  sid integer := cdp._source_id(tid, tenant, source);
BEGIN
  IF enabled IS NULL THEN
    RAISE EXCEPTION 'enabled must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  UPDATE cdp.sources s SET enabled = set_source_enabled.enabled
   WHERE s.tenant_id OPERATOR(pg_catalog.=) tid AND s.source_id OPERATOR(pg_catalog.=) sid;
  PERFORM cdp._audit(tid, CASE WHEN enabled THEN 'enable_source' ELSE 'disable_source' END,
                     pg_catalog.jsonb_build_object('source', source, 'source_id', sid));
END
$$;
COMMENT ON FUNCTION cdp.set_source_enabled(text, text, boolean) IS
  'Enables or disables a source. A disabled source''s write key is refused (SQLSTATE 28000) and nothing it sends is stored.';

CREATE FUNCTION cdp.rotate_write_key(tenant text, source text)
RETURNS text
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  tid integer := cdp._tenant_id(tenant);
  sid integer := cdp._source_id(tid, tenant, source);
  key text := cdp._new_write_key(tid);
BEGIN
  UPDATE cdp.sources s SET write_key_hash = cdp._write_key_hash(key)
   WHERE s.tenant_id OPERATOR(pg_catalog.=) tid AND s.source_id OPERATOR(pg_catalog.=) sid;
  PERFORM cdp._audit(tid, 'rotate_write_key', pg_catalog.jsonb_build_object('source', source, 'source_id', sid));
  RETURN key;
END
$$;
COMMENT ON FUNCTION cdp.rotate_write_key(text, text) IS
  'Replaces a source''s write key and returns the new one; the old key stops working when this transaction commits.';
