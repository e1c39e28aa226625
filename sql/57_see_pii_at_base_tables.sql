-- see_pii = false holds at the base tables, not only in the views (issue 4):
-- readers hold no privilege on the tables of customer data; the public
-- views (security_invoker) read internal views owned by cdp_view_owner
-- (security_barrier, not security_invoker) whose policies decide with the
-- querying role's grants. As non-owner roles:
-- * a reader without see_pii: every base table refused (42501), the internal
--   views give exactly the masked rows of the public views; with see_pii
--   unmasked; a writer reads nothing; compliance sees all of its tenant;
-- * a leaky function in WHERE on every view sees only visible, masked values;
-- * cdp.profile() masks nested PII and shows no hashes without see_pii;
-- * a withdrawal and revoke_access take effect for the next query;
-- * no role can become cdp_view_owner or reach its privileges.
GRANT USAGE ON SCHEMA cdp_test TO PUBLIC;
SELECT cdp.create_tenant('pii57-a') AS ta \gset
SELECT cdp.create_tenant('pii57-b') AS tb \gset
CREATE ROLE r57p_bi IN ROLE cdp_reader;
CREATE ROLE r57p_pii IN ROLE cdp_reader;
CREATE ROLE r57p_dpo IN ROLE cdp_compliance;
CREATE ROLE r57p_app IN ROLE cdp_writer;
SELECT cdp.grant_access('r57p_bi', 'pii57-a', 'analytics', false);
SELECT cdp.grant_access('r57p_pii', 'pii57-a', 'analytics', true);
SELECT cdp.grant_access('r57p_dpo', 'pii57-a');
SELECT cdp.grant_access('r57p_app', 'pii57-a');
CREATE SCHEMA r57p_evil AUTHORIZATION r57p_bi;
GRANT USAGE ON SCHEMA r57p_evil TO PUBLIC;

-- 5711 consented (nested PII in traits, an email as user_id), 5712 not;
-- 5713 consented, in tenant b.
INSERT INTO cdp.profiles (tenant_id, profile_id, traits) VALUES
  (:ta, 5711, '{"email": "ann@example.com", "plan": "pro", "address": {"city": "Graz"}, "company": {"name": "ACME", "contact": {"phone": "+43 1 234"}}}'),
  (:ta, 5712, '{"email": "bob@example.com", "plan": "free"}'),
  (:tb, 5713, '{"email": "eve@example.com", "plan": "pro"}');
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'ann@example.com'), 5711),
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'bob@example.com'), 5712),
  (:tb, 'email', cdp._identifier_hash(:tb, 'email', 'eve@example.com'), 5713);
INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, event_name,
                        user_id, anonymous_id, properties, context) VALUES
  (:ta, '2026-05-01', 571101, 5711, 1, 'p1', 'track', 'Viewed', 'ann@example.com', 'dev-ann',
   '{"sku": "X1", "email": "ann@example.com"}', '{"ip": "10.0.0.1", "locale": "de-AT"}'),
  (:ta, '2026-05-02', 571201, 5712, 1, 'p2', 'track', 'Viewed', 'bob@example.com', 'dev-bob',
   '{"sku": "X2", "email": "bob@example.com"}', '{"ip": "10.0.0.2"}'),
  (:tb, '2026-05-03', 571301, 5713, 1, 'p3', 'track', 'Viewed', 'eve@example.com', 'dev-eve', '{"sku": "X3"}', NULL);
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES
  (:ta, 5711, 'analytics', 'granted'), (:tb, 5713, 'analytics', 'granted');

-- The model in the catalogs: the internal views are owned by
-- cdp_view_owner, which cannot log in, bypasses no policy, is nobody's role.
SELECT c.relname, pg_get_userbyid(c.relowner) AS owner, c.reloptions
  FROM pg_class c WHERE c.relnamespace = 'cdp'::regnamespace AND c.relkind = 'v'
   AND c.relname IN ('profile_360', 'event_stream', 'consent_status', '_profile_360', '_event_stream', '_consent_status')
 ORDER BY c.relname;
SELECT rolsuper, rolbypassrls, rolcanlogin, (SELECT count(*) FROM pg_auth_members m WHERE m.roleid = r.oid) AS members
  FROM pg_roles r WHERE rolname = 'cdp_view_owner';
SELECT p.oid::regprocedure AS function, pg_get_userbyid(p.proowner) AS owner, p.prosecdef
  FROM pg_proc p WHERE p.oid IN ('cdp.lookup(text, text, text)'::regprocedure, 'cdp.profile(text, bigint)'::regprocedure)
 ORDER BY 1::text;

-- A reader without see_pii.
SET ROLE r57p_bi;
SELECT cdp_test.error_of(format('SELECT * FROM cdp.%I', t)) AS base_table_refused
  FROM unnest(ARRAY['profiles', 'identifiers', 'events', 'consent_current', 'consent_ledger', 'tenants', 'merges',
                    'quarantine', 'refused_links', 'audit_log']) t;
-- the public views and the internal ones: one consented customer, masked
SELECT profile_id, traits, identifiers FROM cdp.profile_360;
SELECT profile_id, traits, identifiers FROM cdp._profile_360;
SELECT event_id, user_id, anonymous_id, properties, context FROM cdp.event_stream;
SELECT event_id, user_id, anonymous_id, properties, context FROM cdp._event_stream;
SELECT profile_id, purpose, status FROM cdp._consent_status;
-- the reading functions: the same rows, masked at any depth, no hashes
SELECT cdp.lookup('pii57-a', 'email', 'ann@example.com') AS ann, cdp.lookup('pii57-a', 'email', 'bob@example.com') AS bob;
SELECT p->'traits' AS traits, jsonb_path_query_array(p->'identifiers', '$[*].id_hash') AS id_hashes
  FROM cdp.profile('pii57-a', 5711) p;
SELECT cdp.profile('pii57-a', 5712) AS bob_profile;
-- its own view (owner: the reader) over the tables is refused at query
-- time; over an internal view it gives nothing more
CREATE VIEW r57p_evil.v AS SELECT * FROM cdp.events;
SELECT cdp_test.error_of($$SELECT * FROM r57p_evil.v$$) AS own_view_over_table;
DROP VIEW r57p_evil.v;
CREATE VIEW r57p_evil.w AS SELECT * FROM cdp._profile_360;
SELECT profile_id, traits FROM r57p_evil.w;
DROP VIEW r57p_evil.w;

-- Leaky functions in WHERE: only the visible customer, masked, appears.
CREATE FUNCTION r57p_evil.leak(v anyelement) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
  RAISE NOTICE 'leaked: %', v;
  RETURN true;
END
$$;
SELECT count(*) AS profile_360 FROM cdp.profile_360 WHERE r57p_evil.leak(traits) AND r57p_evil.leak(profile_id);
SELECT count(*) AS event_stream FROM cdp.event_stream
 WHERE r57p_evil.leak(user_id) AND r57p_evil.leak(anonymous_id) AND r57p_evil.leak(properties) AND r57p_evil.leak(context);
SELECT count(*) AS consent_status FROM cdp.consent_status WHERE r57p_evil.leak(profile_id);
SELECT count(*) AS internal_profile_360 FROM cdp._profile_360 WHERE r57p_evil.leak(traits);
SELECT count(*) AS internal_event_stream FROM cdp._event_stream WHERE r57p_evil.leak(properties) AND r57p_evil.leak(user_id);
SELECT count(*) AS internal_consent_status FROM cdp._consent_status WHERE r57p_evil.leak(profile_id);
RESET ROLE;

-- see_pii: the same rows, unmasked; the base tables stay refused.
SET ROLE r57p_pii;
SELECT profile_id, traits FROM cdp.profile_360;
SELECT event_id, user_id, anonymous_id, properties, context FROM cdp.event_stream;
SELECT cdp_test.error_of($$SELECT * FROM cdp.profiles$$) AS base_profiles;
SELECT p->'traits' AS traits FROM cdp.profile('pii57-a', 5711) p;
RESET ROLE;

-- A writer reads nothing.
SET ROLE r57p_app;
SELECT cdp_test.error_of(format('SELECT * FROM cdp.%I', v)) AS view_refused
  FROM unnest(ARRAY['profile_360', '_profile_360', 'event_stream', '_event_stream', 'consent_status', '_consent_status',
                    'events']) v;
SELECT cdp.lookup('pii57-a', 'email', 'ann@example.com') AS lookup, cdp.profile('pii57-a', 5711) AS profile;
RESET ROLE;

-- Compliance: every customer of its tenant, unmasked, in views and tables.
SET ROLE r57p_dpo;
SELECT profile_id, traits->>'email' AS email FROM cdp.profile_360 ORDER BY profile_id;
SELECT event_id, user_id FROM cdp.event_stream ORDER BY event_id;
SELECT profile_id, traits->>'email' AS email FROM cdp.profiles ORDER BY profile_id;
SELECT cdp.lookup('pii57-a', 'email', 'bob@example.com') AS bob,
       cdp.profile('pii57-a', 5712)->'identifiers'->0->>'id_hash' IS NOT NULL AS hash_shown;
RESET ROLE;

-- An administrator that is not a superuser: every customer, through the
-- views and the reading functions (cdp_view_owner's policies, with the
-- session's role), unmasked, hashes shown.
CREATE ROLE r57p_admin IN ROLE cdp_admin;
SET ROLE r57p_admin;
SELECT profile_id, traits->>'email' AS email FROM cdp.profile_360 WHERE tenant_id IN (:ta, :tb) ORDER BY profile_id;
SELECT cdp.lookup('pii57-b', 'email', 'eve@example.com') AS eve,
       cdp.profile('pii57-a', 5712)->'traits'->>'email' AS bob_email,
       cdp.profile('pii57-a', 5712)->'identifiers'->0->>'id_hash' IS NOT NULL AS hash_shown;
RESET ROLE;

-- A withdrawal hides the customer from the next query, everywhere.
SELECT cdp.set_consent('pii57-a', 'email', 'ann@example.com', 'analytics', false) > 0 AS withdrawn;
SET ROLE r57p_pii;
SELECT (SELECT count(*) FROM cdp.profile_360) AS profiles, (SELECT count(*) FROM cdp.event_stream) AS events,
       (SELECT count(*) FROM cdp.consent_status) AS consents,
       cdp.lookup('pii57-a', 'email', 'ann@example.com') AS lookup, cdp.profile('pii57-a', 5711) AS profile;
RESET ROLE;
SELECT cdp.set_consent('pii57-a', 'email', 'ann@example.com', 'analytics', true) > 0 AS granted_again;
SET ROLE r57p_pii;
SELECT count(*) AS profiles_after_new_grant FROM cdp.profile_360;
RESET ROLE;

-- revoke_access removes everything at once.
SELECT cdp.revoke_access('r57p_pii', 'pii57-a');
SET ROLE r57p_pii;
SELECT (SELECT count(*) FROM cdp.profile_360) AS profiles, (SELECT count(*) FROM cdp._event_stream) AS events,
       (SELECT count(*) FROM cdp.consent_status) AS consents, (SELECT count(*) FROM cdp.access_grants) AS grants;
SELECT cdp_test.error_of($$SELECT cdp.lookup('pii57-a', 'email', 'ann@example.com')$$) AS lookup,
       cdp_test.error_of($$SELECT cdp.profile('pii57-a', 5711)$$) AS profile;
RESET ROLE;
