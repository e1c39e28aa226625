-- see_pii = false masks PII keys whatever their spelling (review 2, P4): a
-- key is PII when, in lower case and without "_", "-" and spaces, it is one
-- of cdp._pii_keys() (Email, emailAddress, e_mail, phone_number,
-- phoneNumber, mobile, firstName, first_name, Last Name, IP, Zip-Code ...),
-- at the top level and at any depth, in the views and in cdp.profile
-- (traits and trait_times). Keys that only contain such a word
-- (company_name, emails_sent) are not PII and stay. A reader with see_pii
-- sees everything.
SELECT cdp.create_tenant('spell53') AS t \gset
SELECT cdp.create_source('spell53', 's') IS NOT NULL AS source_created;
SELECT source_id AS s FROM cdp.sources WHERE tenant_id = :t \gset
CREATE ROLE r53_bi IN ROLE cdp_reader;
CREATE ROLE r53_pii IN ROLE cdp_reader;
SELECT cdp.grant_access('r53_bi', 'spell53');
SELECT cdp.grant_access('r53_pii', 'spell53', 'analytics', true);
INSERT INTO cdp.profiles (tenant_id, profile_id, traits, trait_times) VALUES
  (:t, 5301, '{"Email": "ann@example.com", "emailAddress": "ann@example.com", "e_mail": "ann@example.com",
              "phone_number": "+4312345", "phoneNumber": "+4312345", "mobile": "+4367", "firstName": "Ann",
              "first_name": "Ann", "Last Name": "Lee", "FULLNAME": "Ann Lee", "IP": "10.0.0.1", "Zip-Code": "1010",
              "dateOfBirth": "1990-01-01", "plan": "pro", "company_name": "ACME", "emails_sent": 3,
              "shipping": {"Street": "Main St 1", "postalCode": "1010", "country": "AT"},
              "contacts": [{"EMAIL": "bob@example.com", "role": "assistant"}]}',
   '{"Email": "2026-05-01T00:00:00Z", "plan": "2026-05-01T00:00:00Z", "phone_number": "2026-05-01T00:00:00Z"}');
INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, event_name,
                        properties, context)
VALUES (:t, '2026-05-01', 530101, 5301, :s, 'm53', 'track', 'Signed Up',
        '{"sku": "X1", "User": {"E-Mail": "ann@example.com", "tier": 1}, "Mobile_Number": "+4367"}',
        '{"IP": "10.0.0.1", "ip_address": "10.0.0.1", "library": {"name": "analytics.js"}, "locale": "de-AT"}');
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision) VALUES (:t, 5301, 'analytics', 'granted');

SET ROLE r53_bi;
SELECT traits FROM cdp.profile_360 WHERE profile_id = 5301;
SELECT p->'traits' AS traits, p->'trait_times' AS trait_times FROM cdp.profile('spell53', 5301) p;
SELECT properties, context FROM cdp.event_stream WHERE event_id = 530101;
RESET ROLE;
SET ROLE r53_pii;
SELECT (SELECT count(*) FROM jsonb_object_keys(traits)) AS trait_keys_with_see_pii FROM cdp.profile_360 WHERE profile_id = 5301;
SELECT properties, context FROM cdp.event_stream WHERE event_id = 530101;
RESET ROLE;

-- The masking function alone: documents that are not objects, and arrays.
SELECT cdp._mask_pii('[{"Email": 1}, {"a": 2}]'::jsonb) AS array_doc, cdp._mask_pii('"x"'::jsonb) AS scalar_doc,
       cdp._mask_pii('{}'::jsonb) AS empty_doc, cdp._mask_pii('{"user name": "ann", "username_hint": 1}'::jsonb) AS spaces;

SELECT cdp.revoke_access('r53_bi', 'spell53'), cdp.revoke_access('r53_pii', 'spell53');
DROP ROLE r53_bi;
DROP ROLE r53_pii;
