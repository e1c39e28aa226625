-- Tenants and sources: the happy path and every error path, each with its SQLSTATE.
SELECT cdp.create_tenant('acme') AS acme_id \gset
SELECT cdp.create_tenant('globex', '{"default_country": "DE", "identifier_limits": {"user_id": 1, "email": 3}}') > :acme_id AS globex_after_acme;
SELECT name, settings FROM cdp.tenants ORDER BY tenant_id;

-- each tenant gets a 32-byte secret and the default purposes
SELECT t.name, length(s.secret) AS secret_bytes FROM cdp.tenants t JOIN cdp.tenant_secrets s USING (tenant_id) ORDER BY t.tenant_id;
SELECT count(DISTINCT secret) AS distinct_secrets FROM cdp.tenant_secrets;
SELECT string_agg(purpose, ',' ORDER BY purpose) FROM cdp.purposes WHERE tenant_id = :acme_id;

-- tenant errors
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('acme')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant(NULL)$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('   ')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant(' padded')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant(repeat('x', 201))$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '[]')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '{"default_contry": "DE"}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '{"default_country": "Germany"}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '{"identifier_limits": {"user_id": 0}}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '{"identifier_limits": {"user_id": "one"}}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '{"blocked_values": ["a", 1]}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '{"dedupe_window": "soon"}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '{"dedupe_window": "-1 day"}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t1', '{"custom_identifiers": {"CRM": "$.crm"}}')$$);
-- a failed create leaves nothing behind
SELECT count(*) AS tenants FROM cdp.tenants;

-- sources: the key names its tenant, only its SHA-256 is stored
SELECT cdp.create_source('acme', 'web', 'web') AS web_key \gset
SELECT :'web_key' ~ ('^cdpk_' || :acme_id || '_[0-9a-f]{48}$') AS key_format;
SELECT name, kind, enabled, write_key_hash = sha256(convert_to(:'web_key', 'UTF8')) AS hash_matches
  FROM cdp.sources WHERE tenant_id = :acme_id;
SELECT cdp.create_source('acme', 'backend') <> :'web_key' AS keys_differ;
SELECT cdp.create_source('globex', 'web') IS NOT NULL AS same_name_other_tenant;

-- source errors
SELECT cdp_test.error_of($$SELECT cdp.create_source('nope', 'web')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_source(NULL, 'web')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_source('acme', NULL)$$);
SELECT cdp_test.error_of($$SELECT cdp.create_source('acme', '')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_source('acme', 'web')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_source('acme', 'ios', 'satellite')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_source('acme', 'ios', NULL)$$);

-- disable, enable, rotate
SELECT cdp.set_source_enabled('acme', 'web', false);
SELECT name, enabled FROM cdp.sources WHERE tenant_id = :acme_id ORDER BY source_id;
SELECT cdp.set_source_enabled('acme', 'web', true);
SELECT cdp.rotate_write_key('acme', 'web') AS new_key \gset
SELECT :'new_key' <> :'web_key' AS rotated,
       (SELECT write_key_hash FROM cdp.sources WHERE tenant_id = :acme_id AND name = 'web') = sha256(convert_to(:'new_key', 'UTF8')) AS new_hash_stored;
SELECT cdp_test.error_of($$SELECT cdp.set_source_enabled('acme', 'nope', false)$$);
SELECT cdp_test.error_of($$SELECT cdp.set_source_enabled('acme', 'web', NULL)$$);
SELECT cdp_test.error_of($$SELECT cdp.rotate_write_key('acme', NULL)$$);

-- every admin call is in the audit log, which is append-only
SELECT action, args - 'settings' AS args FROM cdp.audit_log ORDER BY audit_id;
SELECT cdp_test.error_of($$UPDATE cdp.audit_log SET action = 'x'$$);
SELECT cdp_test.error_of($$DELETE FROM cdp.audit_log$$);
SELECT cdp_test.error_of($$TRUNCATE cdp.audit_log$$);
