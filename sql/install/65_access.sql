-- Access: row-level security for the tables added by the consent and privacy
-- files, access grants, and the reader and compliance policies (DESIGN 6).
-- See docs/consent.md.

ALTER TABLE cdp.consent_current ENABLE ROW LEVEL SECURITY;
ALTER TABLE cdp.consent_current FORCE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON cdp.consent_current TO cdp_admin USING (true);
COMMENT ON POLICY admin_all ON cdp.consent_current IS 'cdp: administrators see every tenant''s rows.';
GRANT SELECT ON cdp.consent_current TO cdp_admin;
