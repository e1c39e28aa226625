-- Row-level security through the BI views and the reading functions, as
-- non-owner roles. A reader sees only its granted tenant, and there only the
-- customers whose current consent for its grant's purpose is granted and
-- unexpired (merged profiles and their events included); PII traits are
-- masked without see_pii; a withdrawal hides the person from the next query;
-- a role without a grant sees nothing; compliance sees its tenant whatever the
-- consent; a writer reads nothing.
GRANT USAGE ON SCHEMA cdp_test TO PUBLIC;
SELECT cdp.create_tenant('rls-a') AS ta \gset
SELECT cdp.create_tenant('rls-b') AS tb \gset
CREATE ROLE r57_bi IN ROLE cdp_reader;
CREATE ROLE r57_bi_pii IN ROLE cdp_reader;
CREATE ROLE r57_mkt IN ROLE cdp_reader;
CREATE ROLE r57_none IN ROLE cdp_reader;
CREATE ROLE r57_team IN ROLE cdp_reader;        -- a group: its members inherit its grant
CREATE ROLE r57_analyst IN ROLE r57_team;
CREATE ROLE r57_dpo IN ROLE cdp_compliance;
CREATE ROLE r57_app IN ROLE cdp_writer;
SELECT cdp.grant_access('r57_bi', 'rls-a', 'analytics', false);
SELECT cdp.grant_access('r57_bi_pii', 'rls-a', 'analytics', true);
SELECT cdp.grant_access('r57_mkt', 'rls-a', 'marketing');
SELECT cdp.grant_access('r57_team', 'rls-a');
SELECT cdp.grant_access('r57_dpo', 'rls-a');
SELECT cdp.grant_access('r57_app', 'rls-a');

-- rls-a: 5701 granted analytics (5704 merged into it), 5702 withdrew,
-- 5703 never decided, 5705's grant expired (the expiry job has not run).
-- rls-b: 5706 granted analytics.
INSERT INTO cdp.profiles (tenant_id, profile_id, merged_into, traits) VALUES
  (:ta, 5701, NULL, '{"email": "ann@example.com", "name": "Ann", "plan": "pro"}'),
  (:ta, 5702, NULL, '{"email": "bea@example.com", "plan": "free"}'),
  (:ta, 5703, NULL, '{"email": "cid@example.com", "plan": "free"}'),
  (:ta, 5704, 5701, '{"phone": "+4915112345678"}'),
  (:ta, 5705, NULL, '{"email": "dan@example.com", "plan": "pro"}'),
  (:tb, 5706, NULL, '{"email": "eve@example.com", "plan": "pro"}');
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'ann@example.com'), 5701),
  (:ta, 'phone', cdp._identifier_hash(:ta, 'phone', '+4915112345678'), 5701),
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'bea@example.com'), 5702),
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'cid@example.com'), 5703),
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'dan@example.com'), 5705),
  (:tb, 'email', cdp._identifier_hash(:tb, 'email', 'eve@example.com'), 5706);
INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, event_name, traits, context) VALUES
  (:ta, '2026-05-01', 570101, 5701, 1, 'a1', 'identify', NULL, '{"email": "ann@example.com", "plan": "pro"}',
   '{"ip": "10.0.0.1", "traits": {"email": "ann@example.com", "tier": 2}, "locale": "de-DE"}'),
  (:ta, '2026-05-02', 570401, 5704, 1, 'a2', 'track', 'Order Completed', NULL, NULL),
  (:ta, '2026-05-03', 570201, 5702, 1, 'a3', 'track', 'Order Completed', NULL, NULL),
  (:ta, '2026-05-04', 570301, 5703, 1, 'a4', 'track', 'Order Completed', NULL, NULL),
  (:ta, '2026-05-05', 570501, 5705, 1, 'a5', 'track', 'Order Completed', NULL, NULL),
  (:tb, '2026-05-06', 570601, 5706, 1, 'b1', 'track', 'Order Completed', NULL, NULL);
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at, expires_at) VALUES
  (:ta, 5701, 'analytics', 'granted', '2026-01-01', NULL),
  (:ta, 5702, 'analytics', 'granted', '2026-01-01', NULL),
  (:ta, 5702, 'analytics', 'withdrawn', '2026-02-01', NULL),
  (:ta, 5705, 'analytics', 'granted', '2026-01-01', '2026-01-31'),
  (:tb, 5706, 'analytics', 'granted', '2026-01-01', NULL);
-- the merge hook gives the merged profile the person's consent
SELECT cdp._after_merge(:ta, 5701, 5704);

-- Reader with analytics, no PII: one person, PII masked, merged events
-- resolved to the canonical profile; nothing of rls-b, where it has no grant.
SET ROLE r57_bi;
SELECT tenant, profile_id, traits, identifiers, merged_profiles, consents FROM cdp.profile_360 ORDER BY profile_id;
SELECT event_id, profile_id, original_profile_id, event_name, traits, context FROM cdp.event_stream ORDER BY event_id;
SELECT tenant_id = :ta AS tenant_a, profile_id, purpose, status FROM cdp.consent_status ORDER BY profile_id;
-- the base tables are not for readers at all (only the views; see
-- sql/57_see_pii_at_base_tables): else see_pii could be read around
SELECT cdp_test.error_of($$SELECT count(*) FROM cdp.profiles$$) AS profiles,
       cdp_test.error_of($$SELECT count(*) FROM cdp.tenants$$) AS tenants;
-- the reading functions obey the same rules
SELECT cdp.lookup('rls-a', 'email', 'ANN@example.com ') AS ann, cdp.lookup('rls-a', 'phone', '+49 151 12345678') AS ann_phone,
       cdp.lookup('rls-a', 'email', 'bea@example.com') AS bea_withdrawn, cdp.lookup('rls-a', 'email', 'cid@example.com') AS cid_undecided,
       cdp.lookup('rls-a', 'email', 'dan@example.com') AS dan_expired;
SELECT cdp.profile('rls-a', 5704)->'profile_id' AS merged_answers_canonical, cdp.profile('rls-a', 5702) AS bea,
       cdp.profile('rls-a', 5703) AS cid;
-- a tenant without a grant: refused (42501), as an unknown tenant is (sql/49_reader_lookup_access)
SELECT cdp_test.error_of($$SELECT cdp.lookup('rls-b', 'email', 'eve@example.com')$$) AS eve_other_tenant,
       cdp_test.error_of($$SELECT cdp.profile('rls-b', 5706)$$) AS eve_profile_other_tenant;
-- no table of the privileged kind, no writes
SELECT cdp_test.error_of($$SELECT * FROM cdp.consent_ledger$$) AS ledger;
SELECT cdp_test.error_of($$SELECT * FROM cdp.audit_log$$) AS audit_log;
SELECT cdp_test.error_of($$SELECT * FROM cdp.tenant_secrets$$) AS secrets;
SELECT cdp_test.error_of($$INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES (1, 'email', '\x00', 1)$$) AS insert_probe;
SELECT cdp_test.error_of($$UPDATE cdp.profiles SET traits = '{}'$$) AS update;
SELECT cdp_test.error_of($$DELETE FROM cdp.events$$) AS delete;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('rls-a', 'email', 'cid@example.com', 'analytics', true)$$) AS reader_sets_consent;
SELECT cdp_test.error_of($$SELECT cdp.export('rls-a', 'email', 'ann@example.com')$$) AS reader_exports;
RESET ROLE;

-- see_pii shows the traits unmasked.
SET ROLE r57_bi_pii;
SELECT profile_id, traits FROM cdp.profile_360 ORDER BY profile_id;
SELECT event_id, traits, context FROM cdp.event_stream WHERE event_id = 570101;
RESET ROLE;

-- A member of a granted group role inherits the grant.
SET ROLE r57_analyst;
SELECT profile_id FROM cdp.profile_360 ORDER BY profile_id;
RESET ROLE;

-- A withdrawal takes effect for the next query; a new grant brings the
-- person back.
SELECT cdp.set_consent('rls-a', 'email', 'ann@example.com', 'analytics', false) > 0 AS withdrawn;
SET ROLE r57_bi;
SELECT count(*) AS profiles_after_withdrawal FROM cdp.profile_360;
SELECT count(*) AS events_after_withdrawal FROM cdp.event_stream;
SELECT cdp.lookup('rls-a', 'email', 'ann@example.com') AS ann_after_withdrawal;
RESET ROLE;
SELECT cdp.set_consent('rls-a', 'email', 'cid@example.com', 'analytics', true) > 0 AS cid_grants;
SET ROLE r57_bi;
SELECT profile_id FROM cdp.profile_360 ORDER BY profile_id;
RESET ROLE;

-- The marketing reader sees nobody: nobody consented to marketing.
SET ROLE r57_mkt;
SELECT (SELECT count(*) FROM cdp.profile_360) AS profiles, (SELECT count(*) FROM cdp.event_stream) AS events,
       (SELECT count(*) FROM cdp.consent_status) AS consents;
RESET ROLE;

-- A reader without a grant sees nothing at all.
SET ROLE r57_none;
SELECT (SELECT count(*) FROM cdp.profile_360) AS profiles, (SELECT count(*) FROM cdp.event_stream) AS events,
       (SELECT count(*) FROM cdp.consent_status) AS consents, (SELECT count(*) FROM cdp.access_grants) AS grants;
SELECT cdp_test.error_of($$SELECT cdp.lookup('rls-a', 'email', 'cid@example.com')$$) AS cid;
RESET ROLE;

-- Compliance: every profile of its tenant whatever the consent (PII
-- unmasked), the ledger and the audit log of that tenant only.
SET ROLE r57_dpo;
SELECT profile_id, traits->>'email' AS email, consents FROM cdp.profile_360 ORDER BY profile_id;
SELECT count(*) AS events FROM cdp.event_stream;
SELECT profile_id, purpose, status FROM cdp.consent_status ORDER BY profile_id, purpose;
SELECT count(*) AS ledger_rows, count(DISTINCT tenant_id) AS tenants FROM cdp.consent_ledger;
SELECT count(DISTINCT tenant_id) AS audit_tenants, bool_and(tenant_id = :ta) AS only_rls_a FROM cdp.audit_log;
SELECT cdp_test.error_of($$SELECT cdp.lookup('rls-b', 'email', 'eve@example.com')$$) AS eve_other_tenant;
SELECT cdp_test.error_of($$INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES (1, 1, 'analytics', 'granted')$$) AS ledger_insert;
RESET ROLE;

-- A writer reads nothing, through any view or function (the reading
-- functions answer NULL: its grant names a tenant to record consent in, it
-- lets it see no customer).
SET ROLE r57_app;
SELECT cdp_test.error_of($$SELECT * FROM cdp.profile_360$$) AS profile_360;
SELECT cdp_test.error_of($$SELECT * FROM cdp.event_stream$$) AS event_stream;
SELECT cdp_test.error_of($$SELECT * FROM cdp.consent_status$$) AS consent_status;
SELECT cdp_test.error_of($$SELECT * FROM cdp.profiles$$) AS profiles;
SELECT cdp_test.error_of($$SELECT cdp.lookup('rls-a', 'email', 'cid@example.com')$$) AS lookup;
SELECT cdp_test.error_of($$SELECT cdp.profile('rls-a', 5703)$$) AS profile;
RESET ROLE;

-- Revoking a grant hides the tenant from the next query.
SELECT cdp.revoke_access('r57_bi', 'rls-a');
SET ROLE r57_bi;
SELECT count(*) AS profiles_after_revoke FROM cdp.profile_360;
RESET ROLE;
