-- A reader without see_pii reads no PII through the views, at any depth:
-- keys of cdp._pii_keys() nested in properties, traits and context
-- (properties.user.email, traits.address inside another object,
-- context.device.ip), the ids of context.externalIds, and event_stream's
-- user_id, anonymous_id and previous_id (NULL). Software descriptions stay
-- (context.library.name), the device's name goes. A see_pii reader of the same
-- tenant sees everything; the other keys stay for both.
SELECT cdp.create_tenant('mask-deep') AS t \gset
SELECT cdp.create_source('mask-deep', 's') AS k \gset
CREATE ROLE r53_nopii IN ROLE cdp_reader;
CREATE ROLE r53_pii IN ROLE cdp_reader;
SELECT cdp.grant_access('r53_nopii', 'mask-deep', 'analytics', false);
SELECT cdp.grant_access('r53_pii', 'mask-deep', 'analytics', true);

SELECT status FROM cdp.ingest(:'k', '{"type":"identify","userId":"deep@x.com","anonymousId":"anon-53",
  "messageId":"d1","timestamp":"2026-01-01T00:00:00Z",
  "traits":{"plan":"pro","email":"deep@x.com","company":{"name":"Acme","address":{"city":"Berlin"},"phone":"+4930123"}},
  "context":{"ip":"10.0.0.1","device":{"ip":"10.0.0.2","model":"P9","name":"Dee phone"},
             "library":{"name":"analytics-node","version":"3.1.0"},"traits":{"email":"deep@x.com","tier":2},
             "externalIds":[{"id":"deep@x.com","type":"email","collection":"users","encoding":"none"}],
             "consent":{"categoryPreferences":{"analytics":true}}}}');
SELECT status FROM cdp.ingest(:'k', '{"type":"track","event":"Order","userId":"deep@x.com","messageId":"d2",
  "timestamp":"2026-01-02T00:00:00Z",
  "properties":{"total":9,"user":{"email":"deep@x.com","firstName":"Dee"},"items":[{"sku":"a","recipient":{"name":"Kim","email":"kim@x.com"}}]}}');
SELECT status FROM cdp.ingest(:'k', '{"type":"alias","userId":"deep@x.com","previousId":"old@x.com","messageId":"d3",
  "timestamp":"2026-01-03T00:00:00Z"}');

SET ROLE r53_nopii;
SELECT traits FROM cdp.profile_360 WHERE tenant_id = :t;
SELECT message_id, user_id, anonymous_id, previous_id, properties, traits, context
  FROM cdp.event_stream WHERE tenant_id = :t ORDER BY message_id;
-- nothing that looks like an email, a phone or an IP reaches this reader
SELECT count(*) AS rows_with_pii FROM (
  SELECT to_jsonb(v)::text AS doc FROM cdp.event_stream v
  UNION ALL SELECT to_jsonb(v)::text FROM cdp.profile_360 v) x
 WHERE doc ~ '@|\+4930|10\.0\.0|Berlin|Kim|Dee';
RESET ROLE;

SET ROLE r53_pii;
SELECT count(*) FILTER (WHERE user_id = 'deep@x.com') AS user_ids,
       count(*) FILTER (WHERE context #>> '{externalIds,0,id}' = 'deep@x.com') AS external_ids,
       count(*) FILTER (WHERE properties #>> '{user,email}' = 'deep@x.com') AS nested_emails,
       count(*) FILTER (WHERE previous_id = 'old@x.com') AS previous_ids
  FROM cdp.event_stream WHERE tenant_id = :t;
SELECT traits #>> '{company,address,city}' AS city FROM cdp.profile_360 WHERE tenant_id = :t;
RESET ROLE;

-- the masking function alone: scalars and arrays pass through, a flat
-- object loses its PII keys, nothing else changes
SELECT cdp._mask_pii('"email"') AS scalar, cdp._mask_pii('["email", {"email": 1, "n": [{"phone": 2, "c": 3}]}]') AS arr,
       cdp._mask_pii('{"a": 1, "email": "e"}') AS flat, cdp._mask_pii(NULL) AS null_doc;
