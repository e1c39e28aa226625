-- Identity resolution (DESIGN 4, docs/identity.md): create, attach, merge
-- into the oldest, flatten, per-type limits with refused links recorded,
-- priorities, custom identifiers, traits by event time.
SELECT cdp.create_tenant('idr') > 0 AS created;
SELECT cdp.create_source('idr', 'web') AS key \gset
SELECT set_config('cdp_test.key', :'key', false) IS NOT NULL AS key_set;
CREATE FUNCTION pg_temp.tid(t text DEFAULT 'idr') RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = t $$;
-- Ingest one message of tenant idr; the status.
CREATE FUNCTION pg_temp.send(msg text) RETURNS text LANGUAGE sql AS
  $$ SELECT r.status FROM cdp.ingest(current_setting('cdp_test.key'), msg::jsonb) r $$;
-- The canonical profile of an identifier, as a stable label (its first user_id or anonymous_id seen).
CREATE FUNCTION pg_temp.who(t text, id_type text, v text) RETURNS bigint LANGUAGE sql AS
  $$ SELECT cdp.lookup(t, id_type, v) $$;

-- 1. Anonymous browsing, then sign-up: the anonymous profile gets the user.
SELECT pg_temp.send('{"type": "page", "anonymousId": "a-1", "messageId": "r1", "timestamp": "2026-04-01T10:00:00Z"}');
SELECT pg_temp.send('{"type": "identify", "anonymousId": "a-1", "userId": "ana", "traits": {"email": "ana@example.org"}, "messageId": "r2", "timestamp": "2026-04-01T10:05:00Z"}');
SELECT pg_temp.who('idr', 'anonymous_id', 'a-1') = pg_temp.who('idr', 'user_id', 'ana') AS same_person,
       (SELECT count(*) FROM cdp.merges WHERE tenant_id = pg_temp.tid()) AS merges;

-- 2. Two known profiles meet: they merge into the oldest; the merge is logged with its cause.
SELECT pg_temp.send('{"type": "page", "anonymousId": "a-2", "messageId": "r3", "timestamp": "2026-04-01T11:00:00Z"}');
SELECT pg_temp.send('{"type": "track", "event": "Login", "anonymousId": "a-2", "userId": "ana", "messageId": "r4", "timestamp": "2026-04-01T11:01:00Z"}');
SELECT pg_temp.who('idr', 'anonymous_id', 'a-2') = pg_temp.who('idr', 'user_id', 'ana') AS merged,
       m.winner_id = pg_temp.who('idr', 'user_id', 'ana') AS oldest_won, m.trigger_id_type, m.message_id,
       m.trigger_id_hash = cdp._identifier_hash(pg_temp.tid(), m.trigger_id_type, 'ana') AS trigger_is_user_id
  FROM cdp.merges m WHERE m.tenant_id = pg_temp.tid() ORDER BY m.merge_id DESC LIMIT 1;

-- 3. Chains are flattened: z into y, then y into x leaves z pointing at x (one hop).
SELECT pg_temp.send('{"type": "page", "anonymousId": "x", "messageId": "c1", "timestamp": "2026-04-02T00:00:00Z"}');
SELECT pg_temp.send('{"type": "page", "anonymousId": "y", "messageId": "c2", "timestamp": "2026-04-02T00:00:00Z"}');
SELECT pg_temp.send('{"type": "page", "anonymousId": "z", "messageId": "c3", "timestamp": "2026-04-02T00:00:00Z"}');
SELECT pg_temp.send('{"type": "page", "anonymousId": "y", "context": {"device": {"id": "dev-yz"}}, "messageId": "c4", "timestamp": "2026-04-02T00:00:00Z"}');
SELECT pg_temp.send('{"type": "page", "anonymousId": "z", "context": {"device": {"id": "dev-yz"}}, "messageId": "c5", "timestamp": "2026-04-02T00:00:00Z"}');
SELECT pg_temp.send('{"type": "page", "anonymousId": "x", "context": {"device": {"id": "dev-yz"}}, "messageId": "c6", "timestamp": "2026-04-02T00:00:00Z"}');
SELECT pg_temp.who('idr', 'anonymous_id', 'x') = pg_temp.who('idr', 'anonymous_id', 'z') AS xz_same,
       pg_temp.who('idr', 'anonymous_id', 'y') = pg_temp.who('idr', 'anonymous_id', 'z') AS yz_same;
SELECT count(*) AS chains FROM cdp.profiles p JOIN cdp.profiles q ON q.tenant_id = p.tenant_id AND q.profile_id = p.merged_into
 WHERE p.tenant_id = pg_temp.tid() AND q.merged_into IS NOT NULL;
SELECT count(*) AS identifiers_on_merged_profiles FROM cdp.identifiers i
  JOIN cdp.profiles p ON p.tenant_id = i.tenant_id AND p.profile_id = i.profile_id
 WHERE i.tenant_id = pg_temp.tid() AND p.merged_into IS NOT NULL;

-- 4. A shared device never joins two users (limit: one user_id per profile).
SELECT pg_temp.send('{"type": "identify", "userId": "mia", "context": {"device": {"id": "tablet-1"}}, "messageId": "d1", "timestamp": "2026-04-03T00:00:00Z"}');
SELECT pg_temp.send('{"type": "identify", "userId": "leo", "context": {"device": {"id": "tablet-1"}}, "messageId": "d2", "timestamp": "2026-04-03T00:01:00Z"}');
SELECT pg_temp.who('idr', 'user_id', 'mia') <> pg_temp.who('idr', 'user_id', 'leo') AS two_people,
       pg_temp.who('idr', 'device_id', 'tablet-1') = pg_temp.who('idr', 'user_id', 'mia') AS device_stays_with_first;
SELECT r.profile_id = pg_temp.who('idr', 'user_id', 'leo') AS refused_for_leo,
       r.other_profile_id = pg_temp.who('idr', 'user_id', 'mia') AS other_is_mia,
       r.id_type, r.reason, r.message_id
  FROM cdp.refused_links r WHERE r.tenant_id = pg_temp.tid() AND r.message_id = 'd2';
-- The event went to the profile of the message's highest-priority identifier.
SELECT e.profile_id = pg_temp.who('idr', 'user_id', 'leo') AS event_on_leo
  FROM cdp.events e WHERE e.tenant_id = pg_temp.tid() AND e.message_id = 'd2';

-- 5. A family email: the same, for email.
SELECT pg_temp.send('{"type": "identify", "userId": "mom", "traits": {"email": "family@example.org"}, "messageId": "f1", "timestamp": "2026-04-04T00:00:00Z"}');
SELECT pg_temp.send('{"type": "identify", "userId": "kid", "traits": {"email": "Family@Example.org"}, "messageId": "f2", "timestamp": "2026-04-04T00:01:00Z"}');
SELECT pg_temp.who('idr', 'user_id', 'mom') <> pg_temp.who('idr', 'user_id', 'kid') AS two_people,
       (SELECT count(*) FROM cdp.refused_links WHERE tenant_id = pg_temp.tid() AND message_id = 'f2' AND id_type = 'email') AS refused;
-- A later message carrying only the email goes to the profile that holds it.
SELECT pg_temp.send('{"type": "track", "event": "Open", "traits": {"email": "family@example.org"}, "messageId": "f3", "timestamp": "2026-04-04T00:02:00Z"}');
SELECT e.profile_id = pg_temp.who('idr', 'user_id', 'mom') AS email_only_goes_to_holder
  FROM cdp.events e WHERE e.tenant_id = pg_temp.tid() AND e.message_id = 'f3';

-- 6. A message whose identifiers point at two users: it stays with its user_id's profile.
SELECT pg_temp.send('{"type": "track", "event": "Mixed", "userId": "mia", "anonymousId": "a-1", "messageId": "m1", "timestamp": "2026-04-05T00:00:00Z"}');
SELECT e.profile_id = pg_temp.who('idr', 'user_id', 'mia') AS on_mia,
       pg_temp.who('idr', 'anonymous_id', 'a-1') = pg_temp.who('idr', 'user_id', 'ana') AS a1_still_ana,
       (SELECT r.reason FROM cdp.refused_links r WHERE r.tenant_id = pg_temp.tid() AND r.message_id = 'm1') AS reason
  FROM cdp.events e WHERE e.tenant_id = pg_temp.tid() AND e.message_id = 'm1';

-- 7. A second user_id in one message (externalIds) is refused, not stored.
SELECT pg_temp.send('{"type": "track", "event": "Two", "userId": "ana", "context": {"externalIds": [{"id": "ana-2", "type": "user_id"}]}, "messageId": "t1", "timestamp": "2026-04-05T00:00:00Z"}');
SELECT pg_temp.who('idr', 'user_id', 'ana-2') IS NULL AS second_user_id_not_stored,
       r.other_profile_id IS NULL AS no_other_profile, r.id_type, r.reason
  FROM cdp.refused_links r WHERE r.tenant_id = pg_temp.tid() AND r.message_id = 't1';

-- 8. Alias: a known anonymous previousId merges; a known user_id is refused by the limit;
--    an unknown previousId becomes an anonymous_id of the user.
SELECT pg_temp.send('{"type": "page", "anonymousId": "pre-1", "messageId": "al0", "timestamp": "2026-04-06T00:00:00Z"}');
SELECT pg_temp.send('{"type": "alias", "userId": "leo", "previousId": "pre-1", "messageId": "al1", "timestamp": "2026-04-06T00:01:00Z"}');
SELECT pg_temp.send('{"type": "alias", "userId": "leo", "previousId": "mom", "messageId": "al2", "timestamp": "2026-04-06T00:02:00Z"}');
SELECT pg_temp.send('{"type": "alias", "userId": "leo", "previousId": "crm-77", "messageId": "al3", "timestamp": "2026-04-06T00:03:00Z"}');
SELECT pg_temp.who('idr', 'anonymous_id', 'pre-1') = pg_temp.who('idr', 'user_id', 'leo') AS known_anonymous_merged,
       pg_temp.who('idr', 'user_id', 'mom') <> pg_temp.who('idr', 'user_id', 'leo') AS two_users_not_merged,
       (SELECT count(*) FROM cdp.refused_links WHERE tenant_id = pg_temp.tid() AND message_id = 'al2') AS refused,
       pg_temp.who('idr', 'anonymous_id', 'crm-77') = pg_temp.who('idr', 'user_id', 'leo') AS unknown_previous_is_anonymous;

-- 9. Traits merge by event time: an older message never overwrites a newer value.
SELECT pg_temp.send('{"type": "identify", "userId": "tim", "traits": {"plan": "pro"}, "messageId": "tr1", "timestamp": "2026-05-02T00:00:00Z"}');
SELECT pg_temp.send('{"type": "identify", "userId": "tim", "traits": {"plan": "free", "city": "Lyon"}, "messageId": "tr2", "timestamp": "2026-05-01T00:00:00Z"}');
SELECT traits, trait_times FROM cdp.profiles WHERE tenant_id = pg_temp.tid() AND profile_id = pg_temp.who('idr', 'user_id', 'tim');
SELECT pg_temp.send('{"type": "identify", "userId": "tim", "context": {"traits": {"plan": "team"}}, "messageId": "tr3", "timestamp": "2026-05-03T00:00:00Z"}');
SELECT traits FROM cdp.profiles WHERE tenant_id = pg_temp.tid() AND profile_id = pg_temp.who('idr', 'user_id', 'tim');
-- On a merge, the loser's newer traits win, its older ones do not.
SELECT pg_temp.send('{"type": "identify", "anonymousId": "tim-phone", "traits": {"plan": "old", "lang": "fr"}, "messageId": "tr4", "timestamp": "2026-04-20T00:00:00Z"}');
SELECT pg_temp.send('{"type": "identify", "anonymousId": "tim-phone", "traits": {"city": "Paris"}, "messageId": "tr5", "timestamp": "2026-05-09T00:00:00Z"}');
SELECT pg_temp.send('{"type": "track", "event": "Link", "userId": "tim", "anonymousId": "tim-phone", "messageId": "tr6", "timestamp": "2026-05-10T00:00:00Z"}');
SELECT traits FROM cdp.profiles WHERE tenant_id = pg_temp.tid() AND profile_id = pg_temp.who('idr', 'user_id', 'tim');

-- 10. Consent carried by a message lands in the ledger (context.consent.categoryPreferences).
SELECT pg_temp.send('{"type": "track", "event": "Consent", "userId": "tim", "context": {"consent": {"categoryPreferences": {"analytics": true, "advertising": false, "unknown_purpose": true}}}, "messageId": "cs1", "timestamp": "2026-05-11T00:00:00Z"}');
SELECT purpose, decision, profile_id = pg_temp.who('idr', 'user_id', 'tim') AS on_tim, message_id
  FROM cdp.consent_ledger WHERE tenant_id = pg_temp.tid() ORDER BY purpose;

-- 11. Configuration: limits, priority and custom identifiers per tenant.
SELECT cdp.create_tenant('idr-conf', '{"identifier_limits": {"user_id": null, "email": 1},
  "identifier_priority": ["email", "user_id", "custom", "anonymous_id"],
  "custom_identifiers": {"crm_id": "properties.crm.id", "loyalty": "$.context.loyalty"}}') > 0 AS created;
SELECT cdp.create_source('idr-conf', 'web') AS conf_key \gset
SELECT status FROM cdp.ingest_batch(:'conf_key', '[
  {"type": "identify", "userId": "u-1", "traits": {"email": "one@example.org"}, "messageId": "k1", "timestamp": "2026-04-01T00:00:00Z"},
  {"type": "identify", "userId": "u-2", "traits": {"email": "one@example.org"}, "messageId": "k2", "timestamp": "2026-04-01T00:01:00Z"},
  {"type": "identify", "userId": "u-3", "traits": {"email": "three@example.org"}, "messageId": "k3", "timestamp": "2026-04-01T00:02:00Z"},
  {"type": "track", "event": "Two Emails", "userId": "u-3", "traits": {"email": "one@example.org"}, "messageId": "k4", "timestamp": "2026-04-01T00:03:00Z"},
  {"type": "track", "event": "Custom", "userId": "u-1", "properties": {"crm": {"id": "CRM-9"}}, "context": {"loyalty": 4711, "externalIds": [{"id": "hs-1", "type": "HubSpot_Id", "collection": "users"}]}, "messageId": "k5", "timestamp": "2026-04-01T00:04:00Z"}
]');
-- user_id unlimited: one email, two user_ids, one profile.
SELECT cdp.lookup('idr-conf', 'user_id', 'u-1') = cdp.lookup('idr-conf', 'user_id', 'u-2') AS user_ids_unlimited,
       cdp.lookup('idr-conf', 'user_id', 'u-3') <> cdp.lookup('idr-conf', 'user_id', 'u-1') AS email_limit_kept_apart;
-- Priority email first: u-3's message carrying u-1's email goes to the profile holding that
-- email (the highest-priority identifier); joining u-3's profile would make two emails: refused.
SELECT e.profile_id = cdp.lookup('idr-conf', 'email', 'one@example.org') AS k4_on_email_holder,
       (SELECT r.id_type || ': ' || r.reason FROM cdp.refused_links r WHERE r.tenant_id = e.tenant_id AND r.message_id = 'k4') AS refusal
  FROM cdp.events e WHERE e.tenant_id = pg_temp.tid('idr-conf') AND e.message_id = 'k4';
SELECT cdp.lookup('idr-conf', 'crm_id', ' CRM-9 ') = cdp.lookup('idr-conf', 'user_id', 'u-1') AS custom_path,
       cdp.lookup('idr-conf', 'loyalty', '4711') = cdp.lookup('idr-conf', 'user_id', 'u-1') AS custom_number,
       cdp.lookup('idr-conf', 'hubspot_id', 'hs-1') = cdp.lookup('idr-conf', 'user_id', 'u-1') AS external_id;

-- No orphans: every canonical profile holds at least one identifier.
SELECT t.name, count(*) AS orphan_profiles FROM cdp.profiles p JOIN cdp.tenants t USING (tenant_id)
 WHERE t.name IN ('idr', 'idr-conf') AND p.merged_into IS NULL
   AND NOT EXISTS (SELECT 1 FROM cdp.identifiers i WHERE i.tenant_id = p.tenant_id AND i.profile_id = p.profile_id)
 GROUP BY 1 ORDER BY 1;
