-- cdp._purge_profiles deletes a person's profiles (the ones given and every
-- profile merged into them) and everything they own, in every table and every
-- events partition (the default one included); with suppress it adds their
-- identifier hashes to cdp.suppressions. Another person of the same tenant and
-- a person of another tenant with the same hashes are left untouched.
SELECT cdp.create_tenant('purge-a') AS ta \gset
SELECT cdp.create_tenant('purge-b') AS tb \gset

-- Person 1 in tenant A: canonical 1001 with 1002 merged into it. Person 2: 1003.
-- Tenant B holds profile 1004 whose identifier has the same hash as person 1's.
INSERT INTO cdp.profiles (tenant_id, profile_id, merged_into) VALUES
  (:ta, 1001, NULL), (:ta, 1002, 1001), (:ta, 1003, NULL), (:tb, 1004, NULL);
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', '\x01', 1001), (:ta, 'anonymous_id', '\x02', 1001), (:ta, 'email', '\x03', 1003),
  (:tb, 'email', '\x01', 1004);
-- events this month, in an old month (default partition) and far ahead
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type) VALUES
  (:ta, now(), 1001, 1, 'm1', 'track'),
  (:ta, '1999-01-01', 1002, 1, 'm2', 'identify'),
  (:ta, '2099-01-01', 1002, 1, 'm3', 'page'),
  (:ta, now(), 1003, 1, 'm4', 'track'),
  (:tb, now(), 1004, 1, 'm1', 'track');
INSERT INTO cdp.message_ids (tenant_id, message_id) VALUES (:ta, 'm1'), (:ta, 'm2'), (:ta, 'm3'), (:ta, 'm4'), (:tb, 'm1');
SELECT count(DISTINCT tableoid) >= 2 AS events_in_several_partitions,
       bool_or(tableoid = 'cdp.events_default'::regclass) AS one_in_default
  FROM cdp.events WHERE tenant_id = :ta AND profile_id IN (1001, 1002);
INSERT INTO cdp.merges (tenant_id, winner_id, loser_id, trigger_id_type) VALUES
  (:ta, 1001, 1002, 'email'), (:ta, 1003, 999, 'email');
INSERT INTO cdp.refused_links (tenant_id, profile_id, other_profile_id, id_type, id_hash, reason) VALUES
  (:ta, 1003, 1002, 'user_id', '\x09', 'limit'),      -- names person 1 as the other profile
  (:ta, 1003, NULL, 'user_id', '\x08', 'limit');      -- person 2 only
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES
  (:ta, 1001, 'analytics', 'granted'), (:ta, 1003, 'analytics', 'granted');
INSERT INTO cdp.quarantine (tenant_id, payload, reason, sqlstate, id_hashes) VALUES
  (:ta, '{"x": 1}', 'bad', '22023', ARRAY['\x02'::bytea]),
  (:ta, '{"x": 2}', 'bad', '22023', ARRAY['\x03'::bytea]),
  (:tb, '{"x": 3}', 'bad', '22023', ARRAY['\x01'::bytea]);

-- Given the canonical profile only, the merged one goes too.
SELECT cdp._purge_profiles(:ta, ARRAY[1001]::bigint[], true) AS receipt;

SELECT 'profiles' AS tbl, count(*) FROM cdp.profiles WHERE tenant_id = :ta AND profile_id IN (1001, 1002)
UNION ALL SELECT 'events', count(*) FROM cdp.events WHERE tenant_id = :ta AND profile_id IN (1001, 1002)
UNION ALL SELECT 'identifiers', count(*) FROM cdp.identifiers WHERE tenant_id = :ta AND profile_id IN (1001, 1002)
UNION ALL SELECT 'merges', count(*) FROM cdp.merges WHERE tenant_id = :ta AND 1002 IN (winner_id, loser_id)
UNION ALL SELECT 'refused_links', count(*) FROM cdp.refused_links WHERE tenant_id = :ta AND other_profile_id = 1002
UNION ALL SELECT 'consent', count(*) FROM cdp.consent_ledger WHERE tenant_id = :ta AND profile_id = 1001
UNION ALL SELECT 'consent_current', count(*) FROM cdp.consent_current WHERE tenant_id = :ta AND profile_id IN (1001, 1002)
UNION ALL SELECT 'quarantine', count(*) FROM cdp.quarantine WHERE tenant_id = :ta AND id_hashes && ARRAY['\x01'::bytea, '\x02']
UNION ALL SELECT 'message_ids', count(*) FROM cdp.message_ids WHERE tenant_id = :ta AND message_id IN ('m1', 'm2', 'm3');

-- The suppression list has person 1's hashes, in tenant A only.
SELECT tenant_id = :ta AS tenant_a, id_type, id_hash FROM cdp.suppressions WHERE tenant_id IN (:ta, :tb) ORDER BY 2, 3;

-- Person 2 and tenant B are untouched.
SELECT tenant_id = :ta AS tenant_a, count(*) AS profiles FROM cdp.profiles WHERE tenant_id IN (:ta, :tb) GROUP BY 1 ORDER BY 1;
SELECT tenant_id = :ta AS tenant_a, count(*) AS events FROM cdp.events WHERE tenant_id IN (:ta, :tb) GROUP BY 1 ORDER BY 1;
SELECT tenant_id = :ta AS tenant_a, count(*) AS identifiers FROM cdp.identifiers WHERE tenant_id IN (:ta, :tb) GROUP BY 1 ORDER BY 1;
SELECT tenant_id = :ta AS tenant_a, count(*) AS quarantined FROM cdp.quarantine WHERE tenant_id IN (:ta, :tb) GROUP BY 1 ORDER BY 1;
SELECT count(*) AS merges_left, count(*) FILTER (WHERE winner_id = 1003) AS of_person_2 FROM cdp.merges WHERE tenant_id = :ta;
SELECT count(*) AS refusals_left FROM cdp.refused_links WHERE tenant_id = :ta;
SELECT profile_id, decision FROM cdp.consent_current WHERE tenant_id = :ta;

-- Retention use: without suppress, nothing is added to the list; purging
-- again or purging nothing is harmless.
SELECT cdp._purge_profiles(:ta, ARRAY[1003]::bigint[], false) AS receipt;
SELECT count(*) AS suppressions_in_a FROM cdp.suppressions WHERE tenant_id = :ta;
SELECT cdp._purge_profiles(:ta, ARRAY[1003]::bigint[], false)->>'profiles' AS again;
SELECT cdp._purge_profiles(:ta, '{}', true)->>'profiles' AS nothing;
SELECT cdp_test.error_of($$SELECT cdp._purge_profiles(NULL, ARRAY[1]::bigint[], true)$$);

-- The ledger stays append-only outside a purge.
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES (:tb, 1004, 'analytics', 'granted');
SELECT cdp_test.error_of($$DELETE FROM cdp.consent_ledger WHERE profile_id = 1004$$);
SELECT cdp_test.error_of($$UPDATE cdp.consent_ledger SET decision = 'denied' WHERE profile_id = 1004$$);
SELECT cdp_test.error_of($$TRUNCATE cdp.consent_ledger$$);
