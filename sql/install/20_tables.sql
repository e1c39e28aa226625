-- Core tables. Rules (DESIGN 5): tenant_id leads every primary, unique and
-- foreign key; every table that holds tenant data has RLS enabled and forced
-- (policies in 60_policies.sql). High-volume tables (profiles, identifiers,
-- events) carry no foreign keys: the C engine keeps them consistent in one
-- transaction and the test suite checks for orphans, while an RI trigger per
-- row would cost more than the insert itself.

CREATE TABLE cdp.tenants (
  tenant_id   integer GENERATED ALWAYS AS IDENTITY,
  name        text NOT NULL,
  settings    jsonb NOT NULL DEFAULT '{}',
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id),
  UNIQUE (name),
  CHECK (name <> '' AND length(name) <= 200),
  CHECK (jsonb_typeof(settings) = 'object')
);
COMMENT ON TABLE cdp.tenants IS
  'cdp: one row per tenant (a company or brand whose customer data is kept apart from every other). Created by cdp.create_tenant.';
COMMENT ON COLUMN cdp.tenants.settings IS
  'Per-tenant configuration (validated by cdp.create_tenant): default_country, identifier_limits, identifier_priority, blocked_values, dedupe_window. See docs/schema.md.';

CREATE TABLE cdp.tenant_secrets (
  tenant_id   integer NOT NULL REFERENCES cdp.tenants (tenant_id) ON DELETE CASCADE,
  secret      bytea NOT NULL CHECK (length(secret) >= 32),
  created_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id)
);
COMMENT ON TABLE cdp.tenant_secrets IS
  'cdp: the per-tenant HMAC-SHA-256 key under which identifiers are hashed. No role but the extension owner can read it.';

CREATE TABLE cdp.sources (
  tenant_id      integer NOT NULL REFERENCES cdp.tenants (tenant_id) ON DELETE CASCADE,
  source_id      integer GENERATED ALWAYS AS IDENTITY,
  name           text NOT NULL,
  kind           text NOT NULL DEFAULT 'api',
  write_key_hash bytea NOT NULL,
  enabled        boolean NOT NULL DEFAULT true,
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id, source_id),
  UNIQUE (tenant_id, name),
  UNIQUE (tenant_id, write_key_hash),
  CHECK (name <> '' AND length(name) <= 200),
  CHECK (kind IN ('api', 'web', 'mobile', 'server', 'warehouse', 'import'))
);
COMMENT ON TABLE cdp.sources IS
  'cdp: where events come from. Each source has a write key (only its SHA-256 is stored); a disabled source''s key is refused.';
COMMENT ON COLUMN cdp.sources.write_key_hash IS
  'SHA-256 of the write key returned once by cdp.create_source. The key embeds the tenant id, so lookups stay inside one tenant.';

CREATE SEQUENCE cdp.profile_id_seq CACHE 64;
COMMENT ON SEQUENCE cdp.profile_id_seq IS 'cdp: profile ids, unique across tenants.';

CREATE TABLE cdp.profiles (
  tenant_id      integer NOT NULL,
  profile_id     bigint NOT NULL DEFAULT pg_catalog.nextval('cdp.profile_id_seq'),
  merged_into    bigint,
  traits         jsonb NOT NULL DEFAULT '{}',
  trait_times    jsonb NOT NULL DEFAULT '{}',
  first_seen_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_seen_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  created_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  updated_at     timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id, profile_id),
  CHECK (merged_into IS DISTINCT FROM profile_id)
);
CREATE INDEX profiles_merged_into_idx ON cdp.profiles (tenant_id, merged_into) WHERE merged_into IS NOT NULL;
COMMENT ON TABLE cdp.profiles IS
  'cdp: unified customer profiles. A merged profile keeps its row with merged_into set to the canonical profile (always one hop: merges re-point earlier losers).';
COMMENT ON COLUMN cdp.profiles.merged_into IS
  'NULL for a canonical profile; else the canonical profile it was merged into (kept flat, never a chain).';
COMMENT ON COLUMN cdp.profiles.traits IS 'Current trait values, merged from identify messages by event time.';
COMMENT ON COLUMN cdp.profiles.trait_times IS
  'Per trait, the event time of the value held in traits: an older message never overwrites a newer value.';

CREATE TABLE cdp.identifiers (
  tenant_id      integer NOT NULL,
  id_type        text NOT NULL,
  id_hash        bytea NOT NULL,
  profile_id     bigint NOT NULL,
  source_id      integer,
  first_seen_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  last_seen_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id, id_type, id_hash)
);
CREATE INDEX identifiers_profile_idx ON cdp.identifiers (tenant_id, profile_id, id_type);
COMMENT ON TABLE cdp.identifiers IS
  'cdp: identity graph. Each normalized identifier, stored only as HMAC-SHA-256 under the tenant secret, points at its canonical profile.';
COMMENT ON COLUMN cdp.identifiers.id_hash IS
  'HMAC-SHA-256(tenant secret, id_type || '':'' || normalized value). The raw value is never stored here.';

CREATE TABLE cdp.merges (
  tenant_id        integer NOT NULL,
  merge_id         bigint GENERATED ALWAYS AS IDENTITY,
  winner_id        bigint NOT NULL,
  loser_id         bigint NOT NULL,
  trigger_id_type  text,
  trigger_id_hash  bytea,
  message_id       text,
  source_id        integer,
  merged_at        timestamptz NOT NULL DEFAULT pg_catalog.now(),
  -- what an undo needs: the identifiers moved from the loser (parallel
  -- arrays) and the winner's traits before the merge (the loser keeps its own)
  moved_id_types   text[],
  moved_id_hashes  bytea[],
  winner_traits    jsonb,
  winner_trait_times jsonb,
  PRIMARY KEY (tenant_id, merge_id)
);
CREATE INDEX merges_winner_idx ON cdp.merges (tenant_id, winner_id);
CREATE INDEX merges_loser_idx ON cdp.merges (tenant_id, loser_id);
COMMENT ON TABLE cdp.merges IS
  'cdp: every profile merge with its cause (the identifier and message that linked the two), the identifiers it moved from the loser (moved_id_types/moved_id_hashes, parallel arrays) and the winner''s traits and trait_times before it, so it can be explained and undone.';

CREATE TABLE cdp.refused_links (
  tenant_id        integer NOT NULL,
  refusal_id       bigint GENERATED ALWAYS AS IDENTITY,
  profile_id       bigint NOT NULL,
  other_profile_id bigint,
  id_type          text NOT NULL,
  id_hash          bytea NOT NULL,
  reason           text NOT NULL,
  message_id       text,
  source_id        integer,
  refused_at       timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id, refusal_id)
);
CREATE INDEX refused_links_profile_idx ON cdp.refused_links (tenant_id, profile_id);
COMMENT ON TABLE cdp.refused_links IS
  'cdp: links identity resolution refused (e.g. a second user_id on one profile), with both profiles and the reason: never a silent drop.';

CREATE TABLE cdp.message_ids (
  tenant_id    integer NOT NULL,
  message_id   text NOT NULL,
  received_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  event_time   timestamptz,
  event_id     bigint,
  PRIMARY KEY (tenant_id, message_id)
);
CREATE INDEX message_ids_received_idx ON cdp.message_ids (received_at);
COMMENT ON TABLE cdp.message_ids IS
  'cdp: exact deduplication of messageId per tenant within the dedupe window (default 7 days); the unique key makes concurrent retries wait for each other.';

CREATE TABLE cdp.quarantine (
  tenant_id      integer NOT NULL,
  quarantine_id  bigint GENERATED ALWAYS AS IDENTITY,
  source_id      integer,
  received_at    timestamptz NOT NULL DEFAULT pg_catalog.now(),
  message_id     text,
  payload        jsonb,
  reason         text NOT NULL,
  sqlstate       text NOT NULL CHECK (sqlstate ~ '^[0-9A-Z]{5}$'),
  id_hashes      bytea[],
  PRIMARY KEY (tenant_id, quarantine_id)
);
CREATE INDEX quarantine_received_idx ON cdp.quarantine (tenant_id, received_at);
COMMENT ON TABLE cdp.quarantine IS
  'cdp: messages that could not be accepted, kept whole with source, time, reason and SQLSTATE. Nothing sent is ever dropped silently.';
COMMENT ON COLUMN cdp.quarantine.id_hashes IS
  'Hashes of the identifiers the payload carried, so erasure can find quarantined payloads of a person.';

CREATE TABLE cdp.groups (
  tenant_id    integer NOT NULL,
  group_id     text NOT NULL,
  traits       jsonb NOT NULL DEFAULT '{}',
  trait_times  jsonb NOT NULL DEFAULT '{}',
  updated_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id, group_id)
);
COMMENT ON TABLE cdp.groups IS 'cdp: accounts and organisations named by group messages, with their traits merged by event time.';

CREATE TABLE cdp.purposes (
  tenant_id    integer NOT NULL REFERENCES cdp.tenants (tenant_id) ON DELETE CASCADE,
  purpose      text NOT NULL CHECK (purpose ~ '^[a-z][a-z0-9_]{0,62}$'),
  description  text,
  PRIMARY KEY (tenant_id, purpose)
);
COMMENT ON TABLE cdp.purposes IS
  'cdp: processing purposes a tenant asks consent for. Defaults: analytics, marketing, personalization, advertising, sale_of_data.';

CREATE TABLE cdp.consent_ledger (
  tenant_id     integer NOT NULL,
  consent_id    bigint GENERATED ALWAYS AS IDENTITY,
  profile_id    bigint NOT NULL,
  purpose       text NOT NULL,
  decision      text NOT NULL CHECK (decision IN ('granted', 'denied', 'withdrawn')),
  source_id     integer,
  legal_basis   text,
  recorded_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  expires_at    timestamptz,
  message_id    text,
  PRIMARY KEY (tenant_id, consent_id)
);
CREATE INDEX consent_ledger_profile_idx ON cdp.consent_ledger (tenant_id, profile_id, purpose, recorded_at);
COMMENT ON TABLE cdp.consent_ledger IS
  'cdp: append-only consent decisions (set by cdp.set_consent or carried by context.consent.categoryPreferences).';

CREATE TABLE cdp.suppressions (
  tenant_id      integer NOT NULL,
  id_type        text NOT NULL,
  id_hash        bytea NOT NULL,
  suppressed_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id, id_type, id_hash)
);
COMMENT ON TABLE cdp.suppressions IS
  'cdp: identifier hashes of erased people. A later message carrying one is answered suppressed and not stored.';

CREATE TABLE cdp.audit_log (
  tenant_id     integer NOT NULL,
  audit_id      bigint GENERATED ALWAYS AS IDENTITY,
  at            timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  session_user_name name NOT NULL DEFAULT session_user,
  current_user_name name NOT NULL DEFAULT current_user,
  action        text NOT NULL,
  args          jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (tenant_id, audit_id)
);
CREATE INDEX audit_log_at_idx ON cdp.audit_log (at);
COMMENT ON TABLE cdp.audit_log IS
  'cdp: append-only log of admin and compliance actions: who (session and current role), when, what, arguments without raw PII. tenant_id 0 is the system (actions on no one tenant).';

-- pg_dump keeps the rows of configuration and state tables (not only their definitions).
SELECT pg_catalog.pg_extension_config_dump('cdp.tenants', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.tenant_secrets', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.sources', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.profiles', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.identifiers', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.merges', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.refused_links', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.message_ids', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.quarantine', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.groups', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.purposes', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.consent_ledger', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.suppressions', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.audit_log', '');
SELECT pg_catalog.pg_extension_config_dump('cdp.profile_id_seq', '');
