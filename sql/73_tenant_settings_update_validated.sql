-- Settings changed later with UPDATE cdp.tenants (there is no other way) are
-- validated as cdp.create_tenant validates them (constraint
-- tenants_settings_valid). Before, {"identifier_limits": {"user_id": 0}} was
-- accepted, read by the engine as "no limit", and the next message merged
-- two users into one profile.
SELECT cdp.create_tenant('t73') AS tid \gset
SELECT cdp.create_source('t73', 'web') AS key \gset
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"alice73","anonymousId":"shared73","messageId":"m73-1"}');
SELECT cdp_test.error_of($$UPDATE cdp.tenants SET settings = '{"identifier_limits": {"user_id": 0}}' WHERE name = 't73'$$);
SELECT cdp_test.error_of($$UPDATE cdp.tenants SET settings = '{"identifier_limit": {"user_id": 2}}' WHERE name = 't73'$$);
SELECT cdp_test.error_of($$UPDATE cdp.tenants SET settings = '{"identifier_priority": ["Email"]}' WHERE name = 't73'$$);
SELECT settings FROM cdp.tenants WHERE tenant_id = :tid;
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"bob73","anonymousId":"shared73","messageId":"m73-2"}');
SELECT cdp.lookup('t73', 'user_id', 'alice73') <> cdp.lookup('t73', 'user_id', 'bob73') AS two_people;
-- a valid change is taken, and the next call applies it
UPDATE cdp.tenants SET settings = '{"identifier_limits": {"user_id": null}}' WHERE tenant_id = :tid;
SELECT status FROM cdp.ingest(:'key', '{"type":"track","event":"e","userId":"carol73","anonymousId":"shared73","messageId":"m73-3"}');
SELECT cdp.lookup('t73', 'user_id', 'alice73') = cdp.lookup('t73', 'user_id', 'carol73') AS limit_lifted;
