-- Events: partitioned by event time, one partition per month, managed by
-- pg_partman 4.7 (native). A default partition takes event times outside the
-- premade range (a device clock in 1999 or 2099) instead of failing the
-- message; retention drops whole partitions rather than deleting rows.

CREATE SEQUENCE cdp.event_id_seq CACHE 256;
COMMENT ON SEQUENCE cdp.event_id_seq IS 'cdp: event ids, unique across tenants and partitions.';

CREATE TABLE cdp.events (
  tenant_id     integer NOT NULL,
  event_time    timestamptz NOT NULL,
  event_id      bigint NOT NULL DEFAULT pg_catalog.nextval('cdp.event_id_seq'),
  profile_id    bigint NOT NULL,
  source_id     integer NOT NULL,
  message_id    text NOT NULL,
  event_type    text NOT NULL CHECK (event_type IN ('identify', 'track', 'page', 'screen', 'group', 'alias')),
  event_name    text,
  user_id       text,
  anonymous_id  text,
  group_id      text,
  previous_id   text,
  received_at   timestamptz NOT NULL DEFAULT pg_catalog.now(),
  properties    jsonb,
  traits        jsonb,
  context       jsonb,
  PRIMARY KEY (tenant_id, event_time, event_id)
) PARTITION BY RANGE (event_time);
CREATE INDEX events_profile_idx ON cdp.events (tenant_id, profile_id, event_time);
COMMENT ON TABLE cdp.events IS
  'cdp: every accepted message, partitioned monthly by event time (pg_partman). profile_id is the profile at ingestion; cdp.event_stream resolves it to the canonical profile.';
COMMENT ON COLUMN cdp.events.event_time IS
  'Per the Segment spec: timestamp if given, else receivedAt - (sentAt - originalTimestamp), else the time received.';
COMMENT ON COLUMN cdp.events.event_name IS 'track: the event; page and screen: the name; identify, group, alias: NULL.';
COMMENT ON COLUMN cdp.events.context IS 'The message context as sent (library, device, consent, ...).';

-- Hand the table to pg_partman. pg_partman may live in any schema (CREATE
-- EXTENSION cdp CASCADE puts it in the first schema of search_path), so its
-- functions are found through pg_extension and called with quoted names.
-- A previous install of cdp dropped with DROP EXTENSION leaves its
-- part_config row and template table behind: clear them first.
DO $partman$
DECLARE
  partman_schema text;
  partition regclass;
BEGIN
  SELECT n.nspname INTO STRICT partman_schema
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'pg_partman';

  EXECUTE pg_catalog.format('DELETE FROM %I.part_config WHERE parent_table = $1', partman_schema)
    USING 'cdp.events';
  EXECUTE pg_catalog.format('DROP TABLE IF EXISTS %I.template_cdp_events', partman_schema);

  EXECUTE pg_catalog.format(
    'SELECT %I.create_parent(p_parent_table => $1, p_control => $2, p_type => $3, p_interval => $4, '
    'p_premake => $5, p_start_partition => $6, p_jobmon => false)', partman_schema)
  USING 'cdp.events', 'event_time', 'native', '1 month', 4,
        pg_catalog.to_char(pg_catalog.date_trunc('month', pg_catalog.now()) - interval '1 month', 'YYYY-MM-DD');

  -- Retention drops whole partitions (never a DELETE over a month); the
  -- default horizon is 25 months, changed with cdp.set_retention.
  EXECUTE pg_catalog.format(
    'UPDATE %I.part_config SET retention = $2, retention_keep_table = false, retention_keep_index = false, '
    'infinite_time_partitions = true WHERE parent_table = $1', partman_schema)
  USING 'cdp.events', '25 months';

  -- Partitions made now belong to the extension by default and pg_dump would
  -- skip their rows; partitions made later by maintenance would not. Treat
  -- them all alike: release them from the extension.
  FOR partition IN
    SELECT i.inhrelid::regclass FROM pg_catalog.pg_inherits i WHERE i.inhparent = 'cdp.events'::regclass
  LOOP
    EXECUTE pg_catalog.format('ALTER EXTENSION cdp DROP TABLE %s', partition);
  END LOOP;
END
$partman$;
