-- Identifier normalization and the keyed hash (DESIGN 4): the contract the
-- privacy functions (erase, export, set_consent by id_type + value) rely on.
SELECT cdp.create_tenant('norm-gb', '{"default_country": "GB", "blocked_values": ["N/A", " unknown@example.org "]}') > 0 AS gb;
SELECT cdp.create_tenant('norm-us', '{"default_country": "US"}') > 0 AS us;
SELECT cdp.create_tenant('norm-it', '{"default_country": "IT"}') > 0 AS it;
SELECT cdp.create_tenant('norm-ru', '{"default_country": "RU"}') > 0 AS ru;
SELECT cdp.create_tenant('norm-none') > 0 AS none;
CREATE FUNCTION pg_temp.tid(name text) RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE tenants.name = tid.name $$;

-- email: trimmed and lower-cased; other types: trimmed only (case matters).
SELECT v, cdp._normalize_identifier(pg_temp.tid('norm-gb'), 'email', v) AS email,
       cdp._normalize_identifier(pg_temp.tid('norm-gb'), 'user_id', v) AS user_id
  FROM (VALUES ('  Ana.Lima@Example.ORG '), (E'\tBob@x.io\n'), ('User-42')) t(v);

-- phone: E.164. International forms need no default country; national forms
-- take the tenant's (trunk prefix: 0, 1 in the NANP, 8 in Russia, none in Italy).
SELECT t, v, cdp._normalize_identifier(pg_temp.tid(t), 'phone', v) AS e164
  FROM (VALUES ('norm-gb', '+44 20 7946 0911'), ('norm-gb', '020 7946 0911'), ('norm-gb', '0044 (20) 7946-0911'),
               ('norm-us', '(415) 555-0123'), ('norm-us', '1-415-555-0123'), ('norm-us', '+1 415 555 0123'),
               ('norm-it', '06 1234 5678'), ('norm-ru', '8 495 123-45-67'),
               ('norm-none', '+49 30 1234567'), ('norm-none', '030 1234567'),
               ('norm-gb', '+999 1234 5678'), ('norm-gb', '12ab34'), ('norm-gb', '+44 1'),
               ('norm-gb', '+44 2079 4609 1100 000')) p(t, v);

-- Blocked values are not identifiers: the defaults (any case, padded) and the tenant's own list.
SELECT v, cdp._normalize_identifier(pg_temp.tid('norm-gb'), 'anonymous_id', v) IS NULL AS blocked
  FROM (VALUES (''), ('  '), ('null'), ('NULL'), ('undefined'), ('0'), ('-1'), ('Anonymous'),
               ('n/a'), ('N/A'), ('unknown@example.org'), ('a0'), ('00')) b(v);
SELECT cdp._normalize_identifier(pg_temp.tid('norm-gb'), 'email', ' Unknown@Example.org') IS NULL AS tenant_blocked_email;
SELECT cdp._normalize_identifier(pg_temp.tid('norm-us'), 'user_id', 'n/a') AS other_tenant_not_blocked;

-- The hash is HMAC-SHA-256 under the tenant secret of id_type || ':' || normalized value.
SELECT cdp._identifier_hash(pg_temp.tid('norm-gb'), 'email', ' Ana.Lima@Example.ORG')
       = public.hmac('email:ana.lima@example.org',
                     (SELECT secret FROM cdp.tenant_secrets WHERE tenant_id = pg_temp.tid('norm-gb')), 'sha256')
       AS is_hmac_sha256;
SELECT length(cdp._identifier_hash(pg_temp.tid('norm-gb'), 'user_id', 'u1')) AS hash_bytes;
-- The type is part of the hashed text; the secret is per tenant.
SELECT cdp._identifier_hash(pg_temp.tid('norm-gb'), 'user_id', 'x') <> cdp._identifier_hash(pg_temp.tid('norm-gb'), 'anonymous_id', 'x') AS type_matters,
       cdp._identifier_hash(pg_temp.tid('norm-gb'), 'user_id', 'x') <> cdp._identifier_hash(pg_temp.tid('norm-us'), 'user_id', 'x') AS tenant_matters,
       cdp._identifier_hash(pg_temp.tid('norm-gb'), 'phone', '020 7946 0911') = cdp._identifier_hash(pg_temp.tid('norm-gb'), 'phone', '+44 20 7946 0911') AS phone_forms_match;
SELECT cdp._identifier_hash(pg_temp.tid('norm-gb'), 'user_id', 'undefined') IS NULL AS blocked_hash_is_null,
       cdp._identifier_hash(pg_temp.tid('norm-none'), 'phone', '030 1234567') IS NULL AS ambiguous_phone_is_null,
       cdp._identifier_hash(pg_temp.tid('norm-gb'), 'user_id', NULL) IS NULL AS null_is_null,
       cdp._identifier_hash(pg_temp.tid('norm-gb'), 'crm_id', 'C-1') IS NOT NULL AS custom_type_ok;

-- Errors: bad type name, unknown tenant.
SELECT cdp_test.error_of($$SELECT cdp._identifier_hash(1, 'Email', 'x')$$);
SELECT cdp_test.error_of($$SELECT cdp._identifier_hash(1, 'user id', 'x')$$);
SELECT cdp_test.error_of($$SELECT cdp._identifier_hash(-7, 'email', 'x')$$);

-- Definer rights, pinned search_path, and no role may call it directly.
SELECT p.proname, p.prosecdef, p.proconfig
  FROM pg_proc p WHERE p.pronamespace = 'cdp'::regnamespace AND p.proname IN ('_identifier_hash', '_normalize_identifier')
 ORDER BY 1;
SELECT r AS role, has_function_privilege(r, 'cdp._identifier_hash(integer, text, text)', 'EXECUTE') AS can_hash
  FROM unnest(ARRAY['cdp_admin', 'cdp_writer', 'cdp_reader', 'cdp_compliance']) r ORDER BY 1;
