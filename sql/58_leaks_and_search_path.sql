-- Attacks by a non-owner role on what row-level security hides:
-- * a leaky function (RAISE NOTICE) in a WHERE clause, on the views and the
--   internal views behind them: policies are applied before the caller's
--   non-leakproof functions, so it only ever sees rows the role may see; the
--   base tables refuse the role outright;
-- * a search_path hijack: the role puts its own lower() and = operator for
--   text ahead of pg_catalog and calls every definer function and view; none
--   of them resolves to the role's objects.
GRANT USAGE ON SCHEMA cdp_test TO PUBLIC;
SELECT cdp.create_tenant('leak-a') AS ta \gset
CREATE ROLE r58_bi IN ROLE cdp_reader;
CREATE ROLE r58_dpo IN ROLE cdp_compliance;
SELECT cdp.grant_access('r58_bi', 'leak-a');
SELECT cdp.grant_access('r58_dpo', 'leak-a');
CREATE SCHEMA r58_evil AUTHORIZATION r58_bi;
GRANT USAGE ON SCHEMA r58_evil TO PUBLIC;
INSERT INTO cdp.profiles (tenant_id, profile_id, traits) VALUES
  (:ta, 5801, '{"secret": "visible-one"}'), (:ta, 5802, '{"secret": "hidden-two"}');
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'one@example.com'), 5801),
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'two@example.com'), 5802);
INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, properties) VALUES
  (:ta, '2026-05-01', 580101, 5801, 1, 'l1', 'track', '{"secret": "visible-one"}'),
  (:ta, '2026-05-01', 580201, 5802, 1, 'l2', 'track', '{"secret": "hidden-two"}');
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES (:ta, 5801, 'analytics', 'granted');

SET ROLE r58_bi;
CREATE FUNCTION r58_evil.leak(j jsonb) RETURNS boolean
LANGUAGE plpgsql COST 0.0000001 AS $$
BEGIN
  RAISE NOTICE 'leaked: %', j;
  RETURN true;
END
$$;
-- only "visible-one" may appear in the notices below
SELECT count(*) AS profiles FROM cdp.profile_360 WHERE r58_evil.leak(traits);
SELECT count(*) AS events FROM cdp.event_stream WHERE r58_evil.leak(properties);
-- the internal views behind them (security_barrier, owned by cdp_view_owner)
SELECT count(*) AS internal_profiles FROM cdp._profile_360 WHERE r58_evil.leak(traits);
SELECT count(*) AS internal_events FROM cdp._event_stream WHERE r58_evil.leak(properties);
-- a leaky function over the consent view
SELECT count(*) AS consent_rows FROM cdp.consent_status WHERE r58_evil.leak(to_jsonb(profile_id));
-- the base tables themselves are refused before any function runs
SELECT cdp_test.error_of($$SELECT count(*) FROM cdp.profiles WHERE r58_evil.leak(traits)$$) AS base_profiles;
SELECT cdp_test.error_of($$SELECT count(*) FROM cdp.consent_current WHERE r58_evil.leak(to_jsonb(profile_id))$$) AS base_consent;

-- The hijack: the role's lower() and text = text come first on its path.
CREATE FUNCTION r58_evil.lower(t text) RETURNS text
LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'hijacked lower(%)', t; RETURN pg_catalog.lower(t); END $$;
CREATE FUNCTION r58_evil.texteq(a text, b text) RETURNS boolean
LANGUAGE plpgsql AS $$ BEGIN RAISE NOTICE 'hijacked = (%, %)', a, b; RETURN pg_catalog.texteq(a, b); END $$;
CREATE OPERATOR r58_evil.= (LEFTARG = text, RIGHTARG = text, FUNCTION = r58_evil.texteq);
SET search_path = r58_evil, pg_catalog, public;
-- the trap is live for the role's own unqualified SQL ...
SELECT lower('ABC') AS own_lower, 'a'::text = 'a'::text AS own_eq;
-- ... and sprung by nothing of cdp
SELECT cdp.lookup('leak-a', 'email', 'ONE@example.com') AS lookup;
SELECT cdp.profile('leak-a', 5801)->'profile_id' AS profile;
SELECT count(*) AS profile_360 FROM cdp.profile_360;
-- (the role's own WHERE clause does use its own operator: on visible rows only)
SELECT count(*) AS event_stream FROM cdp.event_stream WHERE event_type = 'track';
SELECT count(*) AS consent_status FROM cdp.consent_status WHERE purpose = 'analytics';
RESET ROLE;
SET ROLE r58_dpo;
SELECT cdp.set_consent('leak-a', 'email', 'Two@Example.com', 'analytics', false) > 0 AS set_consent;
SELECT cdp.export('leak-a', 'email', 'Two@Example.com')->'profile_id' AS export;
SELECT (cdp.erase('leak-a', 'email', 'Two@Example.com') - 'erased_at')->'deleted'->'profiles' AS erase;
RESET ROLE;
RESET search_path;
