-- Consent carried in Segment's documented shape: context.consent.
-- categoryPreferences keyed by the consent manager's category ids
-- ("Advertising", "Analytics", "DataSharing", OneTrust "C0002"), not by cdp
-- purpose names. Keys resolve case-insensitively to purposes, or through the
-- tenant setting consent_categories; a withdrawal in that shape hides the
-- person from readers of the purpose. Categories that resolve to no purpose
-- are kept in the audit log, never dropped silently.

-- the setting is validated
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('cc-bad1', '{"consent_categories": ["analytics"]}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('cc-bad2', '{"consent_categories": {"C0002": "Analytics"}}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('cc-bad3', '{"consent_categories": {"C0002": 2}}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('cc-bad4', '{"consent_categories": {"": "analytics"}}')$$);
SELECT count(*) AS bad_tenants_created FROM cdp.tenants WHERE name LIKE 'cc-bad%';

-- Segment's own category names, no mapping: matched case-insensitively
SELECT cdp.create_tenant('cc-segment') AS t \gset
SELECT cdp.create_source('cc-segment', 'web') AS key \gset
CREATE ROLE r51_analytics IN ROLE cdp_reader;
CREATE ROLE r51_ads IN ROLE cdp_reader;
SELECT cdp.grant_access('r51_analytics', 'cc-segment', 'analytics');
SELECT cdp.grant_access('r51_ads', 'cc-segment', 'advertising');

SELECT status FROM cdp.ingest(:'key', '{"type":"identify","userId":"u51","messageId":"cc1",
  "timestamp":"2026-01-01T00:00:00Z","traits":{"plan":"pro"},
  "context":{"consent":{"categoryPreferences":{"Advertising":true,"Analytics":true,"Functional":true,"DataSharing":false}}}}');
SELECT purpose, decision FROM cdp.consent_ledger WHERE tenant_id = :t ORDER BY purpose;
SET ROLE r51_analytics;
SELECT count(*) AS analytics_sees FROM cdp.profile_360;
RESET ROLE;

-- the withdrawal, in the same shape: the person disappears for analytics
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"Banner Closed","userId":"u51","messageId":"cc2",
  "timestamp":"2026-01-02T00:00:00Z",
  "context":{"consent":{"categoryPreferences":{"Advertising":true,"Analytics":false,"Functional":true,"DataSharing":false}}}}');
SELECT purpose, status FROM cdp.consent_status WHERE tenant_id = :t ORDER BY purpose;
SET ROLE r51_analytics;
SELECT count(*) AS analytics_sees FROM cdp.profile_360;
SELECT count(*) AS analytics_events FROM cdp.event_stream;
RESET ROLE;
SET ROLE r51_ads;
SELECT count(*) AS advertising_sees FROM cdp.profile_360;
RESET ROLE;

-- categories that are no purpose of the tenant ("Functional", "DataSharing")
-- and non-boolean values are in the audit log, one row per message
SELECT args->>'message_id' AS message_id, args->'categories' AS categories,
       args->'profile_id' = to_jsonb(cdp.lookup('cc-segment', 'user_id', 'u51')) AS right_profile
  FROM cdp.audit_log WHERE tenant_id = :t AND action = 'consent_unmapped' ORDER BY audit_id;

-- OneTrust ids through the mapping; a null entry marks a category as known
-- and deliberately without a purpose (no audit row for it)
SELECT cdp.create_tenant('cc-onetrust', '{"consent_categories": {"C0001": null, "C0002": "analytics", "C0004": "advertising", "c0005": "advertising"}}') AS t2 \gset
SELECT cdp.create_source('cc-onetrust', 'web') AS key2 \gset
SELECT cdp.grant_access('r51_analytics', 'cc-onetrust', 'analytics');
SELECT cdp.grant_access('r51_ads', 'cc-onetrust', 'advertising');
SELECT status FROM cdp.ingest(:'key2', '{"type":"identify","userId":"o51","messageId":"ot1",
  "timestamp":"2026-01-01T00:00:00Z",
  "context":{"consent":{"categoryPreferences":{"C0001":true,"C0002":true,"C0004":true,"c0005":false,"C0003":"maybe"}}}}');
-- C0004 granted and c0005 denied both map to advertising: the refusal wins
SELECT purpose, decision, message_id FROM cdp.consent_ledger WHERE tenant_id = :t2 ORDER BY purpose;
SELECT args->'categories' AS categories FROM cdp.audit_log
 WHERE tenant_id = :t2 AND action = 'consent_unmapped' ORDER BY audit_id;
SELECT status FROM cdp.ingest(:'key2', '{"type":"track","event":"x","userId":"o51","messageId":"ot2",
  "timestamp":"2026-01-02T00:00:00Z","context":{"consent":{"categoryPreferences":{"C0001":true,"C0002":false}}}}');
SET ROLE r51_analytics;
SELECT count(*) AS analytics_sees_onetrust FROM cdp.profile_360 WHERE tenant_id = :t2;
RESET ROLE;
SELECT count(*) AS onetrust_audit_rows FROM cdp.audit_log WHERE tenant_id = :t2 AND action = 'consent_unmapped';
