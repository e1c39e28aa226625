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
  -- ignore_default_data: an event stamped 2197 by a broken clock sits in the
  -- default partition; without this pg_partman would take it as "now" and
  -- try to premake every month up to 2197.
  EXECUTE pg_catalog.format(
    'UPDATE %I.part_config SET retention = $2, retention_keep_table = false, retention_keep_index = false, '
    'infinite_time_partitions = true, ignore_default_data = true WHERE parent_table = $1', partman_schema)
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

-- Events stamped a few months ahead (beyond the premade partitions) land in
-- the default partition. When their month comes due, PostgreSQL refuses to
-- create the partition while the default holds rows of its range. So before
-- pg_partman premakes, the months it is about to create that have rows in
-- the default are created here, their rows moved out first, all in the
-- maintenance transaction (nothing is visible half-moved). Months further
-- ahead, and the distant past, stay in the default.
CREATE FUNCTION cdp._events_release_default() RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  partman_schema text;
  premake integer;
  month_start timestamptz;
  horizon timestamptz;
  rows_moved bigint;
  held cdp.events_default[];
  total bigint := 0;
BEGIN
  SELECT n.nspname INTO STRICT partman_schema
    FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'pg_partman';
  EXECUTE pg_catalog.format('SELECT premake FROM %I.part_config WHERE parent_table = $1', partman_schema)
    INTO premake USING 'cdp.events';
  -- From the upper bound of the newest partition up to the premake horizon.
  SELECT pg_catalog.max(pg_catalog.substring(pg_catalog.pg_get_expr(c.relpartbound, c.oid),
                                             'TO \(''([^'']+)''\)')::timestamptz)
    INTO month_start
    FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'cdp.events'::regclass AND NOT c.relname = 'events_default';
  horizon := pg_catalog.date_trunc('month', pg_catalog.now()) + pg_catalog.make_interval(months => coalesce(premake, 4) + 1);
  IF month_start IS NULL THEN
    RETURN 0;
  END IF;

  -- The moved rows are held in a variable, never in a temporary table: this
  -- runs inside SECURITY DEFINER jobs, and a temporary table of a fixed name
  -- could have been planted by the caller, with a trigger, beforehand.
  WHILE month_start < horizon LOOP
    WITH moved AS (
      DELETE FROM cdp.events_default d
       WHERE d.event_time >= month_start AND d.event_time < month_start + interval '1 month'
      RETURNING d AS row_moved)
    SELECT pg_catalog.array_agg(m.row_moved), pg_catalog.count(*) INTO held, rows_moved FROM moved m;
    IF rows_moved > 0 THEN
      EXECUTE pg_catalog.format('SELECT %I.create_partition_time($1, ARRAY[$2]::timestamptz[], false)', partman_schema)
        USING 'cdp.events', month_start;
      INSERT INTO cdp.events SELECT * FROM pg_catalog.unnest(held);
      total := total + rows_moved;
    END IF;
    month_start := month_start + interval '1 month';
  END LOOP;
  RETURN total;
END
$$;
COMMENT ON FUNCTION cdp._events_release_default() IS
  'cdp internal: before pg_partman premakes partitions, moves rows of those months out of the default partition (which would otherwise block their creation). Returns rows moved.';
