-- Tenant settings changed after create_tenant (UPDATE cdp.tenants, the only
-- way there is) get the same checks: without them {"identifier_limits":
-- {"user_id": 0}} went in unchecked, and the engine, reading 0 as "no
-- limit", merged two users into one profile.
ALTER TABLE cdp.tenants ADD CONSTRAINT tenants_settings_valid
  CHECK (cdp._validate_settings(settings) IS NOT NULL);
