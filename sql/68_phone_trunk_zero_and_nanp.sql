-- Phone numbers: one person, one E.164 number, however it is written.
-- 1. "+44 (0)20 7946 0007" (the trunk 0 in parentheses after the calling
--    code, as numbers are written in the UK, Germany, France, Switzerland...)
--    is +442079460007, the same number as "020 7946 0007" (and "+49 (030)
--    1234567" is +49301234567); not under +39 (Italy), +378 (San Marino),
--    +225, +241 or +242, where national numbers begin with 0.
-- 2. A +1 (NANP) number has ten national digits, area code and exchange
--    beginning with 2-9: a 7-digit local number (the same digits in every
--    area code) or a placeholder (123-456-7890, 000-000-0000) is not an
--    identifier, so it cannot join strangers into one profile.
-- Review 8: on main, 1 gave +4402079460007 (a second identifier, the person
-- split) and 2 gave +15552671 / +11234567890 (strangers merged).
SELECT cdp.create_tenant('ph-gb', '{"default_country": "GB"}') > 0 AS created;
SELECT cdp.create_tenant('ph-us', '{"default_country": "US"}') > 0 AS created;
SELECT cdp.create_tenant('ph-it', '{"default_country": "IT"}') > 0 AS created;
CREATE FUNCTION pg_temp.tid(name text) RETURNS integer LANGUAGE sql AS
  $$ SELECT tenant_id FROM cdp.tenants WHERE tenants.name = tid.name $$;

SELECT t, v, cdp._normalize_identifier(pg_temp.tid(t), 'phone', v) AS e164
  FROM (VALUES ('ph-gb', '+44 (0)20 7946 0007'), ('ph-gb', '+44(0)2079460007'), ('ph-gb', '0044 (0)20 7946 0007'),
               ('ph-gb', '(0)20 7946 0007'), ('ph-gb', '020 7946 0007'),
               ('ph-gb', '+49 (0)30 1234567'), ('ph-gb', '+33 (0)1 23 45 67 89'), ('ph-gb', '+41 (0)44 123 45 67'),
               ('ph-gb', '+39 (0)6 1234 5678'), ('ph-gb', '+39 06 1234 5678'), ('ph-gb', '+378 (0)549 123456'),
               ('ph-it', '06 1234 5678'),
               ('ph-gb', '+44 20 (0)7946 0007'), ('ph-gb', '+49 (030) 1234567'), ('ph-gb', '+44 (020) 7946 0007'),
               ('ph-gb', '+225 (07) 12 34 56 78'), ('ph-gb', '+225 07 12 34 56 78'),
               ('ph-us', '(415) 555-2671'), ('ph-us', '1 415 555 2671'), ('ph-us', '+1 415 555 2671'), ('ph-us', '001 415 555 2671'),
               ('ph-gb', '+1 415 555 2671'),
               ('ph-us', '555-2671'), ('ph-us', '+1 555 2671'), ('ph-us', '123-456-7890'), ('ph-us', '(000) 000-0000'),
               ('ph-us', '+1 000 000 0000'), ('ph-us', '415 155 2671'), ('ph-us', '+1 415 555 26711'),
               ('ph-us', '+44 20 7946 0007')) p(t, v);

-- Through ingestion: the two spellings of one UK number are one person.
SELECT cdp.create_source('ph-gb', 'web') AS gb_key \gset
SELECT message_id, status FROM cdp.ingest_batch(:'gb_key', '[
  {"type": "identify", "anonymousId": "ph-visitor-1", "traits": {"phone": "+44 (0)20 7946 0007"}, "messageId": "ph-1", "timestamp": "2026-05-01T00:00:00Z"},
  {"type": "identify", "userId": "ph-user-1", "traits": {"phone": "020 7946 0007"}, "messageId": "ph-2", "timestamp": "2026-05-01T00:01:00Z"}]');
SELECT cdp.lookup('ph-gb', 'anonymous_id', 'ph-visitor-1') = cdp.lookup('ph-gb', 'user_id', 'ph-user-1') AS one_person,
       (SELECT count(*) FROM cdp.identifiers WHERE tenant_id = pg_temp.tid('ph-gb') AND id_type = 'phone') AS phone_identifiers;

-- Two US visitors who typed the same 7-digit local number stay two people.
SELECT cdp.create_source('ph-us', 'web') AS us_key \gset
SELECT message_id, status, sqlstate FROM cdp.ingest_batch(:'us_key', '[
  {"type": "identify", "anonymousId": "ph-us-a", "traits": {"phone": "555-2671"}, "messageId": "ph-3", "timestamp": "2026-05-01T00:00:00Z"},
  {"type": "identify", "anonymousId": "ph-us-b", "traits": {"phone": "555-2671"}, "messageId": "ph-4", "timestamp": "2026-05-01T00:01:00Z"},
  {"type": "identify", "anonymousId": "ph-us-c", "traits": {"phone": "123-456-7890"}, "messageId": "ph-5", "timestamp": "2026-05-01T00:02:00Z"},
  {"type": "identify", "anonymousId": "ph-us-d", "traits": {"phone": "123-456-7890"}, "messageId": "ph-6", "timestamp": "2026-05-01T00:03:00Z"}]');
SELECT count(DISTINCT cdp.lookup('ph-us', 'anonymous_id', a)) AS profiles
  FROM unnest(ARRAY['ph-us-a', 'ph-us-b', 'ph-us-c', 'ph-us-d']) a;
SELECT count(*) AS phone_identifiers FROM cdp.identifiers WHERE tenant_id = pg_temp.tid('ph-us') AND id_type = 'phone';
