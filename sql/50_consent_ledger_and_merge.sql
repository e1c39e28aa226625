-- The consent ledger and its current state: the latest decision wins, a
-- late message with an old timestamp does not override a newer decision,
-- message-carried preferences (categoryPreferences) record only known
-- purposes with boolean values, merges combine conservatively (a refusal is
-- never overridden by an older grant of the other profile; a tie goes to the
-- refusal), and expiry is recorded in the ledger.
SELECT cdp.create_tenant('consent-a') AS ta \gset
INSERT INTO cdp.profiles (tenant_id, profile_id) VALUES (:ta, 2001), (:ta, 2002), (:ta, 2003), (:ta, 2004);

-- Latest decision wins, by recorded_at, whatever the order of arrival.
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 2001, 'analytics', 'granted', '2026-01-02');
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 2001, 'analytics', 'withdrawn', '2026-01-01');   -- arrives late, older: ignored
SELECT purpose, decision, recorded_at FROM cdp.consent_current WHERE tenant_id = :ta AND profile_id = 2001;
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 2001, 'analytics', 'withdrawn', '2026-01-03');
SELECT purpose, decision, recorded_at FROM cdp.consent_current WHERE tenant_id = :ta AND profile_id = 2001;
SELECT count(*) AS ledger_rows FROM cdp.consent_ledger WHERE tenant_id = :ta AND profile_id = 2001;

-- categoryPreferences: known purposes only, booleans only; a missing
-- category is not a decision. Non-object preferences record nothing.
SELECT cdp._record_message_consent(:ta, 2002, NULL,
  '{"marketing": true, "advertising": false, "unknown_cat": true, "analytics": "yes"}', '2026-02-01', 'msg-1') AS recorded;
SELECT cdp._record_message_consent(:ta, 2002, NULL, '[true]', '2026-02-01', 'msg-2') AS recorded_from_array;
SELECT cdp._record_message_consent(:ta, 2002, NULL, NULL, '2026-02-01', 'msg-3') AS recorded_from_null;
SELECT purpose, decision, legal_basis, message_id FROM cdp.consent_ledger
 WHERE tenant_id = :ta AND profile_id = 2002 ORDER BY purpose;
SELECT purpose, decision FROM cdp.consent_current WHERE tenant_id = :ta AND profile_id = 2002 ORDER BY purpose;

-- Merge rule. 2003 granted analytics later than 2004 withdrew it: the grant
-- wins. marketing: 2004 withdrew after 2003's grant: the withdrawal wins.
-- personalization: same instant, grant against denial: the denial wins.
-- advertising: only 2004 decided: kept.
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 2003, 'analytics', 'granted', '2026-03-05'),
  (:ta, 2004, 'analytics', 'withdrawn', '2026-03-01'),
  (:ta, 2003, 'marketing', 'granted', '2026-03-01'),
  (:ta, 2004, 'marketing', 'withdrawn', '2026-03-02'),
  (:ta, 2003, 'personalization', 'granted', '2026-03-03'),
  (:ta, 2004, 'personalization', 'denied', '2026-03-03'),
  (:ta, 2004, 'advertising', 'granted', '2026-03-03');
-- identity resolution merges 2004 into 2003 and calls the hook
UPDATE cdp.profiles SET merged_into = 2003 WHERE tenant_id = :ta AND profile_id = 2004;
SELECT cdp._after_merge(:ta, 2003, 2004);
SELECT profile_id, purpose, decision, recorded_at FROM cdp.consent_current
 WHERE tenant_id = :ta AND profile_id IN (2003, 2004) ORDER BY purpose, profile_id;
-- The same merge in the other direction gives the same decisions.
INSERT INTO cdp.profiles (tenant_id, profile_id) VALUES (:ta, 2005), (:ta, 2006);
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 2006, 'analytics', 'granted', '2026-03-05'),
  (:ta, 2005, 'analytics', 'withdrawn', '2026-03-01'),
  (:ta, 2006, 'marketing', 'granted', '2026-03-01'),
  (:ta, 2005, 'marketing', 'withdrawn', '2026-03-02'),
  (:ta, 2006, 'personalization', 'granted', '2026-03-03'),
  (:ta, 2005, 'personalization', 'denied', '2026-03-03');
UPDATE cdp.profiles SET merged_into = 2005 WHERE tenant_id = :ta AND profile_id = 2006;
SELECT cdp._after_merge(:ta, 2005, 2006);
SELECT purpose, decision FROM cdp.consent_current WHERE tenant_id = :ta AND profile_id = 2005 ORDER BY purpose;

-- A decision recorded for a merged profile is the person's decision: it
-- reaches the canonical profile and every merged one.
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at) VALUES
  (:ta, 2004, 'marketing', 'granted', '2026-04-01');
SELECT profile_id, decision FROM cdp.consent_current
 WHERE tenant_id = :ta AND profile_id IN (2003, 2004) AND purpose = 'marketing' ORDER BY profile_id;
SELECT profile_id FROM cdp.consent_ledger WHERE tenant_id = :ta AND recorded_at = '2026-04-01';

-- Expiry: an expired grant of a canonical profile is recorded as withdrawn
-- (legal basis "expired") for the person; a future expiry is left alone.
INSERT INTO cdp.profiles (tenant_id, profile_id) VALUES (:ta, 2007), (:ta, 2008);
INSERT INTO cdp.consent_ledger (tenant_id, profile_id, purpose, decision, recorded_at, expires_at) VALUES
  (:ta, 2007, 'analytics', 'granted', now() - interval '2 days', now() - interval '1 day'),
  (:ta, 2008, 'analytics', 'granted', now() - interval '2 days', now() + interval '1 day');
SELECT cdp._expire_consents() >= 1 AS expired_some;
SELECT profile_id, decision, expires_at IS NULL AS no_expiry FROM cdp.consent_current
 WHERE tenant_id = :ta AND profile_id IN (2007, 2008) ORDER BY profile_id;
SELECT decision, legal_basis FROM cdp.consent_ledger
 WHERE tenant_id = :ta AND profile_id = 2007 ORDER BY consent_id;
SELECT cdp._expire_consents() AS expired_again;
