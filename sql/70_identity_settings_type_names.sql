-- identifier_limits and identifier_priority name identifier types as
-- messages spell them (lower case). A key such as "Email" used to be
-- accepted and then never matched: the limit silently did nothing (a profile
-- took two emails) and the priority put email last. Now it is refused (22023).
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t70-a', '{"identifier_limits": {"Email": 1}}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t70-a', '{"identifier_limits": {"e mail": 1}}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t70-a', '{"identifier_limits": {"crm:id": 1}}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t70-a', '{"identifier_limits": {"": 1}}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t70-a', '{"identifier_priority": ["Email", "user_id"]}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t70-a', '{"identifier_priority": ["email", 1]}')$$);
SELECT cdp_test.error_of($$SELECT cdp.create_tenant('t70-a', '{"identifier_priority": "email"}')$$);
SELECT count(*) AS created FROM cdp.tenants WHERE name = 't70-a';

-- Lower-case types, custom ones and "custom" are accepted, and they work: the
-- second email (ranked above anonymous_id) gets a profile of its own, as the
-- first one's profile may hold one email only.
SELECT cdp.create_tenant('t70-b', '{"identifier_limits": {"email": 1, "crm_id": 2, "ios.idfa": 1, "hubspot-contacts": 1, "user_id": null},
                                    "identifier_priority": ["crm_id", "email", "custom", "user_id"]}') AS tid \gset
SELECT cdp.create_source('t70-b', 'web') AS key \gset
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","anonymousId":"a70","traits":{"email":"one@example.org"},"messageId":"m70-1"}');
SELECT status FROM cdp.ingest(:'key', '{"type":"identify","anonymousId":"a70","traits":{"email":"two@example.org"},"messageId":"m70-2"}');
SELECT profile_id = cdp.lookup('t70-b', 'anonymous_id', 'a70') AS visitors_profile, string_agg(id_type, ', ' ORDER BY id_type) AS types
  FROM cdp.identifiers WHERE tenant_id = :tid GROUP BY profile_id ORDER BY 1;
SELECT id_type, other_profile_id IS NULL AS new_identifier, reason, message_id FROM cdp.refused_links WHERE tenant_id = :tid;
