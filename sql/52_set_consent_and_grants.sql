-- cdp.grant_access / revoke_access (administrators) and cdp.set_consent
-- (writers and compliance roles granted the tenant): argument checks with
-- precise SQLSTATEs, withdrawn versus denied, expiry, tenant isolation of
-- both the grant and the identifier, and an audit trail without raw values.
GRANT USAGE ON SCHEMA cdp_test TO PUBLIC;
SELECT cdp.create_tenant('sc-a') AS ta \gset
SELECT cdp.create_tenant('sc-b') AS tb \gset
SELECT cdp.create_source('sc-a', 'web') IS NOT NULL AS source_made;
CREATE ROLE r52_app IN ROLE cdp_writer;
CREATE ROLE r52_dpo IN ROLE cdp_compliance;
CREATE ROLE r52_nobody;
CREATE ROLE r52_admin IN ROLE cdp_admin;

-- Profiles carrying real identifiers (hashed as ingestion hashes them).
INSERT INTO cdp.profiles (tenant_id, profile_id) VALUES (:ta, 5201), (:ta, 5202), (:tb, 5203);
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id) VALUES
  (:ta, 'email', cdp._identifier_hash(:ta, 'email', 'ann@example.com'), 5201),
  (:ta, 'user_id', cdp._identifier_hash(:ta, 'user_id', 'u-2'), 5202),
  (:tb, 'email', cdp._identifier_hash(:tb, 'email', 'bob@example.com'), 5203);

-- Grants: administrators only; checked arguments.
SET ROLE r52_app;
SELECT cdp_test.error_of($$SELECT cdp.grant_access('r52_app', 'sc-a')$$) AS writer_grants_itself;
RESET ROLE;
SET ROLE r52_admin;
SELECT cdp.grant_access('r52_app', 'sc-a');
SELECT cdp.grant_access('r52_dpo', 'sc-a', 'marketing', true);
SELECT cdp_test.error_of($$SELECT cdp.grant_access('r52_nobody', 'sc-a')$$) AS not_a_cdp_role;
SELECT cdp_test.error_of($$SELECT cdp.grant_access('r52_app', 'sc-a', 'telepathy')$$) AS unknown_purpose;
SELECT cdp_test.error_of($$SELECT cdp.grant_access('r52_app', 'no-such-tenant')$$) AS unknown_tenant;
SELECT cdp_test.error_of($$SELECT cdp.grant_access(NULL, 'sc-a')$$) AS null_role;
SELECT cdp_test.error_of($$SELECT cdp.grant_access('r52_app', 'sc-a', 'analytics', NULL)$$) AS null_see_pii;
SELECT cdp_test.error_of($$SELECT cdp.grant_access('no_such_role', 'sc-a')$$) AS unknown_role;
-- purposes beyond the defaults
SELECT cdp.add_purpose('sc-a', 'research', 'Product research panels.');
SELECT cdp_test.error_of($$SELECT cdp.add_purpose('sc-a', 'research')$$) AS duplicate_purpose;
SELECT cdp_test.error_of($$SELECT cdp.add_purpose('sc-a', 'Bad Purpose')$$) AS bad_purpose;
SELECT cdp_test.error_of($$SELECT cdp.add_purpose('sc-a', NULL)$$) AS null_purpose;
SELECT purpose FROM cdp.purposes WHERE tenant_id = :ta ORDER BY 1;
SELECT count(*) AS research_in_b FROM cdp.purposes WHERE tenant_id = :tb AND purpose = 'research';
-- granting again replaces the grant
SELECT cdp.grant_access('r52_dpo', 'sc-a', 'analytics', false);
SELECT role_id::regrole, purpose, see_pii FROM cdp.access_grants WHERE tenant_id = :ta ORDER BY 1::text;
RESET ROLE;

-- set_consent as the writer granted sc-a. The raw value is normalized as
-- ingestion normalizes it.
SET ROLE r52_app;
SELECT cdp.set_consent('sc-a', 'email', '  Ann@Example.COM ', 'analytics', true) > 0 AS granted;
SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'analytics', false) > 0 AS withdrawn;
SELECT cdp.set_consent('sc-a', 'user_id', 'u-2', 'marketing', false) > 0 AS denied;
SELECT cdp.set_consent('sc-a', 'user_id', 'u-2', 'advertising', true, 'contract', now() + interval '30 days', 'web') > 0 AS granted_with_expiry;
SELECT cdp.set_consent('sc-a', 'user_id', 'u-2', 'research', true) > 0 AS added_purpose;
-- errors
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-b', 'email', 'bob@example.com', 'analytics', true)$$) AS other_tenant;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('no-such-tenant', 'email', 'x@example.com', 'analytics', true)$$) AS unknown_tenant;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'bob@example.com', 'analytics', true)$$) AS identifier_of_other_tenant;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'nobody@example.com', 'analytics', true)$$) AS unknown_person;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'null', 'analytics', true)$$) AS blocked_value;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'shoe_size', '42', 'analytics', true)$$) AS unknown_id_type;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'Bad Type!', '42', 'analytics', true)$$) AS malformed_id_type;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', NULL, 'analytics', true)$$) AS null_value;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'telepathy', true)$$) AS unknown_purpose;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'analytics', NULL)$$) AS null_granted;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'analytics', true, 'consent', now() - interval '1 day')$$) AS past_expiry;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'analytics', false, 'consent', now() + interval '1 day')$$) AS expiring_refusal;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'analytics', true, '')$$) AS empty_legal_basis;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'analytics', true, 'consent', NULL, 'nope')$$) AS unknown_source;
-- a writer reads nothing
SELECT cdp_test.error_of($$SELECT * FROM cdp.consent_ledger$$) AS writer_reads_ledger;
SELECT cdp_test.error_of($$SELECT * FROM cdp.consent_status$$) AS writer_reads_view;
SELECT cdp_test.error_of($$SELECT cdp.erase('sc-a', 'email', 'ann@example.com')$$) AS writer_erases;
SELECT cdp_test.error_of($$SELECT cdp.add_purpose('sc-a', 'sneaky')$$) AS writer_adds_purpose;
RESET ROLE;

-- A role outside cdp, or a compliance role without a grant on sc-b.
SET ROLE r52_nobody;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'analytics', true)$$) AS outsider;
RESET ROLE;
SET ROLE r52_dpo;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-b', 'email', 'bob@example.com', 'analytics', true)$$) AS dpo_other_tenant;
SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'marketing', true, 'consent') > 0 AS dpo_records;
RESET ROLE;

-- The ledger and the current state.
SELECT profile_id, purpose, decision, legal_basis, expires_at IS NOT NULL AS expires, source_id IS NOT NULL AS has_source
  FROM cdp.consent_ledger WHERE tenant_id = :ta ORDER BY consent_id;
SELECT profile_id, purpose, status, granted FROM cdp.consent_status WHERE tenant_id = :ta ORDER BY 1, 2;
SELECT count(*) AS ledger_rows_in_b FROM cdp.consent_ledger WHERE tenant_id = :tb;

-- The audit trail: who and what, never the raw identifier.
SELECT action, current_user_name, args - 'consent_id' - 'expires_at' - 'source_id' AS args
  FROM cdp.audit_log WHERE tenant_id = :ta AND action <> 'create_source' ORDER BY audit_id;
SELECT count(*) AS audit_rows_with_raw_values FROM cdp.audit_log
 WHERE args::text ~* '(ann|bob|nobody)@example|u-2';

-- Revoking: the writer can no longer record consent in sc-a.
SET ROLE r52_admin;
SELECT cdp.revoke_access('r52_app', 'sc-a') AS had_grant;
SELECT cdp.revoke_access('r52_app', 'sc-a') AS had_grant_again;
RESET ROLE;
SET ROLE r52_app;
SELECT cdp_test.error_of($$SELECT cdp.set_consent('sc-a', 'email', 'ann@example.com', 'analytics', true)$$) AS after_revoke;
RESET ROLE;
SELECT action, args FROM cdp.audit_log WHERE tenant_id = :ta AND action = 'revoke_access' ORDER BY audit_id;
