-- End to end through the ingestion engine: consent carried by messages
-- captured from Segment's Node SDK (context.consent.categoryPreferences)
-- decides what readers of each purpose see; a merge made by identity
-- resolution combines the two profiles' consent by the conservative rule;
-- after erasure, messages carrying any identifier of the person are
-- answered 'suppressed' and nothing is stored.
GRANT USAGE ON SCHEMA cdp_test TO PUBLIC;
SELECT cdp.create_tenant('e2e-consent') AS t \gset
SELECT cdp.create_source('e2e-consent', 'node') AS key \gset
CREATE ROLE r59_analytics IN ROLE cdp_reader;
CREATE ROLE r59_marketing IN ROLE cdp_reader;
CREATE ROLE r59_ads IN ROLE cdp_reader;
CREATE ROLE r59_dpo IN ROLE cdp_compliance;
SELECT cdp.grant_access('r59_analytics', 'e2e-consent', 'analytics');
SELECT cdp.grant_access('r59_marketing', 'e2e-consent', 'marketing');
SELECT cdp.grant_access('r59_ads', 'e2e-consent', 'advertising');
SELECT cdp.grant_access('r59_dpo', 'e2e-consent');

\set fixture `cat test/fixtures/segment-analytics-node-3.1.0.json`
SELECT r.status, count(*)
  FROM jsonb_array_elements(:'fixture'::jsonb) req, cdp.ingest_batch(:'key', req->'body') r
 GROUP BY 1 ORDER BY 1;
-- the SDK's six customers: analytics granted by all, marketing by four,
-- advertising denied by all
SELECT purpose, status, count(*) FROM cdp.consent_status WHERE tenant_id = :t GROUP BY 1, 2 ORDER BY 1, 2;

SET ROLE r59_analytics;
SELECT count(*) AS profiles, count(*) FILTER (WHERE traits ? 'email' OR traits ? 'phone' OR traits ? 'first_name') AS with_pii,
       min(traits->>'plan') AS some_plan
  FROM cdp.profile_360 WHERE tenant = 'e2e-consent';
SELECT count(DISTINCT profile_id) AS people_with_events FROM cdp.event_stream WHERE tenant_id = :t;
SELECT cdp.lookup('e2e-consent', 'email', 'customer.3@example.org') IS NOT NULL AS customer_3_visible;
RESET ROLE;
SET ROLE r59_marketing;
SELECT count(*) AS marketing_profiles FROM cdp.profile_360;
SELECT cdp.lookup('e2e-consent', 'email', 'customer.3@example.org') IS NOT NULL AS customer_3_visible;
RESET ROLE;
SET ROLE r59_ads;
SELECT count(*) AS advertising_profiles FROM cdp.profile_360;
RESET ROLE;

-- Merges made by identity resolution. Device d-1 (anonymous) denied
-- analytics on 2026-03-02; user u-merge granted it on 2026-03-01, earlier.
-- An identify links them: the later refusal stands. Device d-2 granted
-- marketing on 2026-03-05, after the user withdrew it on 2026-03-03: the
-- later grant stands.
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Viewed", "anonymousId": "d-1", "messageId": "mg-1",
  "timestamp": "2026-03-02T00:00:00Z", "context": {"consent": {"categoryPreferences": {"analytics": false}}}}');
SELECT status FROM cdp.ingest(:'key', '{"type": "identify", "userId": "u-merge", "messageId": "mg-2",
  "timestamp": "2026-03-01T00:00:00Z", "traits": {"email": "merge@example.com"},
  "context": {"consent": {"categoryPreferences": {"analytics": true, "marketing": true}}}}');
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Opted out", "userId": "u-merge", "messageId": "mg-3",
  "timestamp": "2026-03-03T00:00:00Z", "context": {"consent": {"categoryPreferences": {"marketing": false}}}}');
SELECT status FROM cdp.ingest(:'key', '{"type": "track", "event": "Viewed", "anonymousId": "d-2", "messageId": "mg-4",
  "timestamp": "2026-03-05T00:00:00Z", "context": {"consent": {"categoryPreferences": {"marketing": true}}}}');
SELECT count(DISTINCT cdp.lookup('e2e-consent', x.t, x.v)) AS profiles_before_merge
  FROM (VALUES ('anonymous_id', 'd-1'), ('user_id', 'u-merge'), ('anonymous_id', 'd-2')) x(t, v);
SELECT status FROM cdp.ingest(:'key', '{"type": "identify", "userId": "u-merge", "anonymousId": "d-1", "messageId": "mg-5",
  "timestamp": "2026-03-06T00:00:00Z"}');
SELECT status FROM cdp.ingest(:'key', '{"type": "identify", "userId": "u-merge", "anonymousId": "d-2", "messageId": "mg-6",
  "timestamp": "2026-03-07T00:00:00Z"}');
SELECT count(DISTINCT cdp.lookup('e2e-consent', x.t, x.v)) AS profiles_after_merge
  FROM (VALUES ('anonymous_id', 'd-1'), ('user_id', 'u-merge'), ('anonymous_id', 'd-2')) x(t, v);
SELECT c.purpose, c.status FROM cdp.consent_status c
 WHERE c.tenant_id = :t AND c.profile_id = cdp.lookup('e2e-consent', 'user_id', 'u-merge') ORDER BY 1;
-- every profile of the person carries the same decisions
SELECT count(DISTINCT (cc.purpose, cc.decision)) AS decisions, count(DISTINCT cc.profile_id) AS profiles
  FROM cdp.consent_current cc
 WHERE cc.tenant_id = :t
   AND cc.profile_id IN (SELECT p.profile_id FROM cdp.profiles p WHERE p.tenant_id = :t
                           AND cdp.lookup('e2e-consent', 'user_id', 'u-merge') IN (p.profile_id, p.merged_into));

-- Erasure of customer 3 by email, then the SDK sends again.
SET ROLE r59_dpo;
SELECT r - 'erased_at' - 'profile_id' AS receipt FROM cdp.erase('e2e-consent', 'email', 'Customer.3@Example.org') r;
RESET ROLE;
SELECT r.status, count(*)
  FROM cdp.ingest_batch(:'key', (
         SELECT jsonb_agg(m || jsonb_build_object('messageId', (m->>'messageId') || '-again'))
           FROM jsonb_array_elements(:'fixture'::jsonb) req, jsonb_array_elements(req->'body'->'batch') m
          WHERE m->>'userId' = 'customer-3' OR m->>'anonymousId' = 'web-visitor-3')) r
 GROUP BY 1 ORDER BY 1;
SELECT status FROM cdp.ingest(:'key', '{"type": "identify", "anonymousId": "brand-new-device", "messageId": "e-1",
  "traits": {"email": " CUSTOMER.3@example.org"}}') AS email_with_new_device;
SELECT count(*) AS customer_3_rows FROM cdp.events
 WHERE tenant_id = :t AND (user_id = 'customer-3' OR anonymous_id IN ('web-visitor-3', 'brand-new-device'));
SET ROLE r59_analytics;
SELECT count(*) AS analytics_profiles_after_erasure FROM cdp.profile_360;
RESET ROLE;
