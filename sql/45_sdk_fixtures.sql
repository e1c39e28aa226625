-- Request bodies captured from Segment's and RudderStack's Node SDKs
-- (test/fixtures/, see its README) are accepted unchanged by cdp.ingest_batch.
SELECT cdp.create_tenant('fx-segment', '{"default_country": "GB"}') > 0 AS created;
SELECT cdp.create_tenant('fx-rudder', '{"default_country": "GB"}') > 0 AS created;
SELECT cdp.create_source('fx-segment', 'node', 'server') AS seg_key \gset
SELECT cdp.create_source('fx-rudder', 'node', 'server') AS rud_key \gset
\set seg `cat test/fixtures/segment-analytics-node-3.1.0.json`
\set rud `cat test/fixtures/rudderstack-rudder-sdk-node-3.0.13.json`
CREATE TEMP TABLE fixture (sdk text, n integer, body jsonb);
INSERT INTO fixture SELECT 'segment', r.n, r.req->'body' FROM jsonb_array_elements(:'seg'::jsonb) WITH ORDINALITY r(req, n);
INSERT INTO fixture SELECT 'rudder', r.n, r.req->'body' FROM jsonb_array_elements(:'rud'::jsonb) WITH ORDINALITY r(req, n);
SELECT sdk, count(*) AS requests, sum(jsonb_array_length(body->'batch')) AS messages FROM fixture GROUP BY 1 ORDER BY 1;

-- Every request body as the SDK sent it.
CREATE TEMP TABLE result AS
SELECT f.sdk, f.n, r.*
  FROM fixture f,
       LATERAL cdp.ingest_batch(CASE f.sdk WHEN 'segment' THEN :'seg_key' ELSE :'rud_key' END, f.body) r;
SELECT sdk, status, count(*) FROM result GROUP BY 1, 2 ORDER BY 1, 2;
SELECT sdk, error, sqlstate FROM result WHERE status <> 'accepted';

-- Sent again (an SDK retry): every message is a duplicate.
SELECT f.sdk, r.status, count(*)
  FROM fixture f, LATERAL cdp.ingest_batch(CASE f.sdk WHEN 'segment' THEN :'seg_key' ELSE :'rud_key' END, f.body) r
 GROUP BY 1, 2 ORDER BY 1, 2;

-- The story: six customers, each one profile (anonymous visit, sign-up, orders),
-- the CRM alias on customer 2, three groups, consent in the ledger.
SELECT t.name,
       (SELECT count(*) FROM cdp.profiles p WHERE p.tenant_id = t.tenant_id AND p.merged_into IS NULL) AS profiles,
       (SELECT count(*) FROM cdp.events e WHERE e.tenant_id = t.tenant_id) AS events,
       (SELECT count(*) FROM cdp.groups g WHERE g.tenant_id = t.tenant_id) AS groups,
       (SELECT count(*) FROM cdp.consent_ledger c WHERE c.tenant_id = t.tenant_id) AS consent_rows,
       (SELECT count(*) FROM cdp.refused_links r WHERE r.tenant_id = t.tenant_id) AS refused_links
  FROM cdp.tenants t WHERE t.name IN ('fx-segment', 'fx-rudder') ORDER BY 1;
SELECT t, i,
       cdp.lookup(t, 'user_id', 'customer-' || i) = cdp.lookup(t, 'anonymous_id', 'web-visitor-' || i) AS visit_joined,
       cdp.lookup(t, 'email', 'customer.' || i || '@example.org') = cdp.lookup(t, 'user_id', 'customer-' || i) AS email,
       cdp.lookup(t, 'phone', '020 7946 091' || i) = cdp.lookup(t, 'user_id', 'customer-' || i) AS phone
  FROM unnest(ARRAY['fx-segment', 'fx-rudder']) t, generate_series(1, 6) i ORDER BY 1, 2;
SELECT t, cdp.lookup(t, 'anonymous_id', 'crm-00042') = cdp.lookup(t, 'user_id', 'customer-2') AS crm_alias
  FROM unnest(ARRAY['fx-segment', 'fx-rudder']) t ORDER BY 1;
SELECT t.name, g.group_id, g.traits FROM cdp.groups g JOIN cdp.tenants t USING (tenant_id)
 WHERE t.name IN ('fx-segment', 'fx-rudder') ORDER BY 1, 2;
-- RudderStack sends originalTimestamp + sentAt, no timestamp: event time is
-- receivedAt - (sentAt - originalTimestamp), i.e. within a second of receipt here.
SELECT t.name, bool_and(abs(extract(epoch FROM e.received_at - e.event_time)) < 1) AS skew_corrected
  FROM cdp.events e JOIN cdp.tenants t USING (tenant_id) WHERE t.name = 'fx-rudder' GROUP BY 1;
SELECT t.name, min(e.event_time) = '2026-11-22T07:40:35.957Z' AS segment_timestamp_used
  FROM cdp.events e JOIN cdp.tenants t USING (tenant_id) WHERE t.name = 'fx-segment' GROUP BY 1;
