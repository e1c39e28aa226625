-- Erasure also removes copies of the person's identifier values that other
-- people hold because identity resolution refused a link (the family email,
-- the shared device of DESIGN 4): the refused profile's traits and the events
-- it received keep the raw value otherwise. Only values equal to the
-- person's identifiers go (compared by keyed hash, so "ER@X.com" is the same
-- email); the other person's own data stays. The receipt counts them.
SELECT cdp.create_tenant('rl-copies') AS t \gset
SELECT cdp.create_source('rl-copies', 's') AS k \gset

-- the review's reproduction, plus context.traits and a second spelling
SELECT status FROM cdp.ingest(:'k', '{"type":"identify","userId":"eraseme","anonymousId":"dev-shared",
  "traits":{"email":"er@x.com"},"messageId":"er1"}');
SELECT status FROM cdp.ingest(:'k', '{"type":"identify","userId":"other","traits":{"email":"er@x.com","name":"Olga"},
  "context":{"traits":{"email":"er@x.com"}},"messageId":"er2"}');
SELECT status FROM cdp.ingest(:'k', '{"type":"track","event":"Viewed","userId":"other","properties":{"sku":"a1"},
  "context":{"traits":{"email":"ER@X.com","plan":"pro"}},"messageId":"er3"}');
-- the shared device: another user on the erased person's anonymousId
SELECT status FROM cdp.ingest(:'k', '{"type":"page","name":"Home","userId":"other","anonymousId":"dev-shared","messageId":"er4"}');
-- the other person's own email, later: not the erased person's, stays
SELECT status FROM cdp.ingest(:'k', '{"type":"identify","userId":"other","traits":{"email":"olga@x.com"},"messageId":"er5"}');
-- before erasure the other person's profile holds the erased email (er2)
-- until its own email replaces it; the events keep it regardless
SELECT id_type, reason, message_id,
       profile_id = cdp.lookup('rl-copies', 'user_id', 'other') AS refused_to_other
  FROM cdp.refused_links WHERE tenant_id = :t ORDER BY refusal_id;

SELECT (cdp.erase('rl-copies', 'user_id', 'eraseme') - 'erased_at' - 'profile_id') AS receipt;

SELECT message_id, user_id, anonymous_id, traits, context FROM cdp.events WHERE tenant_id = :t ORDER BY message_id;
SELECT traits, trait_times ? 'email' AS email_time_kept, trait_times ? 'name' AS name_time_kept FROM cdp.profiles
 WHERE profile_id = cdp.lookup('rl-copies', 'user_id', 'other');
-- nothing anywhere still holds the erased email
SELECT count(*) AS rows_with_erased_email
  FROM (SELECT to_jsonb(e)::text AS doc FROM cdp.events e WHERE e.tenant_id = :t
        UNION ALL SELECT to_jsonb(p)::text FROM cdp.profiles p WHERE p.tenant_id = :t) x
 WHERE lower(doc) LIKE '%er@x.com%' OR doc LIKE '%dev-shared%';
SELECT count(*) AS refused_links_left FROM cdp.refused_links WHERE tenant_id = :t;

-- the refused profile still carries the erased email as its trait at erasure
SELECT cdp.create_source('rl-copies', 's2') AS k2 \gset
SELECT status FROM cdp.ingest(:'k2', '{"type":"identify","userId":"mum","traits":{"email":"fam@x.com","plan":"gold"},"messageId":"f1"}');
SELECT status FROM cdp.ingest(:'k2', '{"type":"identify","userId":"kid","traits":{"email":"fam@x.com","plan":"free"},"messageId":"f2"}');
SELECT traits FROM cdp.profiles WHERE profile_id = cdp.lookup('rl-copies', 'user_id', 'kid');
SELECT (cdp.erase('rl-copies', 'email', 'FAM@x.com'))->'scrubbed_elsewhere' AS scrubbed;
SELECT traits, trait_times ? 'email' AS email_time_kept FROM cdp.profiles
 WHERE profile_id = cdp.lookup('rl-copies', 'user_id', 'kid');
SELECT message_id, traits FROM cdp.events WHERE tenant_id = :t AND message_id LIKE 'f%' ORDER BY message_id;
