-- Identifiers are trimmed of Unicode spaces too (in a UTF-8 database): a
-- no-break space (U+00A0) after an email pasted from a web page, an
-- ideographic space (U+3000), a zero-width space or a BOM does not make a
-- second person. Inner ones are kept. Review 8: on main only ASCII spaces
-- were trimmed, and 'kim@example.org' + U+00A0 was another email.
SELECT cdp.create_tenant('uspace', '{"default_country": "GB"}') > 0 AS created;
CREATE FUNCTION pg_temp.tid() RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE name = 'uspace' $$;
SELECT getdatabaseencoding() AS encoding;

SELECT label, cdp._normalize_identifier(pg_temp.tid(), 'email', v) = 'kim@example.org' AS same_email
  FROM (VALUES ('no-break space after', E'Kim@Example.org\u00a0'),
               ('em space before, tab after', E'\u2003Kim@Example.org\t'),
               ('ideographic space', E'\u3000kim@example.org\u3000'),
               ('zero-width space and BOM', E'\ufeffkim@example.org\u200b'),
               ('mixed, repeated', E' \u00a0 \u202f kim@example.org \u2028\u00a0 '),
               ('narrow no-break inside', E'kim\u202f@example.org')) t(label, v);
SELECT cdp._normalize_identifier(pg_temp.tid(), 'user_id', E'\u00a0u-1\u00a0') AS user_id,
       cdp._normalize_identifier(pg_temp.tid(), 'phone', E'\u00a0020 7946 0007\u00a0') AS phone,
       cdp._normalize_identifier(pg_temp.tid(), 'anonymous_id', E'\u00a0null\u3000') IS NULL AS blocked_after_trim,
       cdp._normalize_identifier(pg_temp.tid(), 'user_id', E'\u00a0') IS NULL AS only_spaces_blocked,
       cdp._normalize_identifier(pg_temp.tid(), 'user_id', E'\u00e9') AS e_acute_kept;

-- Through ingestion: one person.
SELECT cdp.create_source('uspace', 'web') AS key \gset
SELECT message_id, status FROM cdp.ingest_batch(:'key', jsonb_build_array(
  jsonb_build_object('type', 'identify', 'anonymousId', 'us-a', 'traits', jsonb_build_object('email', E'kim@example.org\u00a0'),
                     'messageId', 'us-1', 'timestamp', '2026-05-01T00:00:00Z'),
  jsonb_build_object('type', 'identify', 'userId', 'us-kim', 'traits', jsonb_build_object('email', 'Kim@Example.org'),
                     'messageId', 'us-2', 'timestamp', '2026-05-01T00:01:00Z')));
SELECT cdp.lookup('uspace', 'anonymous_id', 'us-a') = cdp.lookup('uspace', 'user_id', 'us-kim') AS one_person,
       (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = pg_temp.tid() AND id_type = 'email') AS email_identifiers;
