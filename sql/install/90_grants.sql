-- Privileges of the group roles on the core objects. Each later concern grants
-- on its own objects in its own file; 99_lockdown.sql removes PUBLIC's
-- default EXECUTE on every function.

-- Administrators read every table but the secrets (RLS: policy admin_all).
GRANT SELECT ON cdp.tenants, cdp.sources, cdp.profiles, cdp.identifiers, cdp.merges, cdp.refused_links,
                cdp.message_ids, cdp.quarantine, cdp.groups, cdp.purposes, cdp.consent_ledger,
                cdp.suppressions, cdp.audit_log, cdp.events
  TO cdp_admin;

GRANT EXECUTE ON FUNCTION cdp.create_tenant(text, jsonb),
                          cdp.create_source(text, text, text),
                          cdp.set_source_enabled(text, text, boolean),
                          cdp.rotate_write_key(text, text)
  TO cdp_admin;
