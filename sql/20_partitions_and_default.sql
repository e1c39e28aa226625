-- Events are partitioned monthly through pg_partman: the current month and the
-- premade months ahead exist, and event times far outside them land in the
-- default partition instead of failing.
SELECT count(*) >= 5 AS enough_partitions,
       bool_or(c.relname = 'events_p' || to_char(now(), 'YYYY_MM')) AS current_month,
       bool_or(c.relname = 'events_p' || to_char(now() + interval '3 months', 'YYYY_MM')) AS three_months_ahead,
       bool_or(c.relname = 'events_default') AS has_default
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'cdp.events'::regclass;

INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name)
VALUES (1, now(), 1, 1, 'm-now', 'track', 'Now'),
       (1, '1999-12-31 23:59:59+00', 1, 1, 'm-1999', 'track', 'Old clock'),
       (1, '2099-01-01 00:00:00+00', 1, 1, 'm-2099', 'track', 'Future clock'),
       (1, '1970-01-01 00:00:00+00', 1, 1, 'm-epoch', 'track', 'Epoch');
SELECT message_id, tableoid::regclass = 'cdp.events_default'::regclass AS in_default,
       tableoid::regclass::text = 'cdp.events_p' || to_char(now(), 'YYYY_MM') AS in_current_month
  FROM cdp.events ORDER BY event_time;

-- partitions are not extension members, so pg_dump keeps their rows
SELECT count(*) AS member_partitions
  FROM pg_depend d JOIN pg_inherits i ON i.inhrelid = d.objid
 WHERE d.deptype = 'e' AND i.inhparent = 'cdp.events'::regclass;
DELETE FROM cdp.events;

-- A broken clock far in the future must not make pg_partman premake every
-- month up to it (ignore_default_data), and rows a few months ahead, parked in
-- the default partition, must not block the creation of their month when it
-- comes due: maintenance moves them into their new partition.
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type)
VALUES (1, '2197-06-01 00:00:00+00', 1, 1, 'm-2197', 'track'),
       (1, date_trunc('month', now()) + interval '6 months' + interval '3 days', 1, 1, 'm-ahead', 'track');
UPDATE public.part_config SET premake = 6 WHERE parent_table = 'cdp.events';
SELECT cdp._events_release_default() AS rows_moved;
SELECT public.run_maintenance('cdp.events', p_jobmon => false);
SELECT message_id, tableoid::regclass = 'cdp.events_default'::regclass AS in_default,
       tableoid::regclass::text = 'cdp.events_p' || to_char(now() + interval '6 months', 'YYYY_MM') AS in_its_month
  FROM cdp.events ORDER BY event_time;
SELECT max(substring(c.relname FROM 'events_p(\d{4})_')::int) <= extract(year FROM now() + interval '7 months') AS no_runaway_premake
  FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
 WHERE i.inhparent = 'cdp.events'::regclass;
UPDATE public.part_config SET premake = 4 WHERE parent_table = 'cdp.events';
DELETE FROM cdp.events;

-- The release runs inside SECURITY DEFINER jobs: a temporary table with a
-- trigger, planted by an administrator under a name the job might use, must
-- never run as the job's owner (the moved rows are held in a variable).
-- (cdp_test.release_as_owner stands in for the maintenance job's definer context.)
CREATE ROLE cdp_test_admin IN ROLE cdp_admin;
CREATE FUNCTION cdp_test.release_as_owner() RETURNS bigint LANGUAGE sql SECURITY DEFINER
  SET search_path = pg_catalog, pg_temp AS 'SELECT cdp._events_release_default()';
GRANT USAGE ON SCHEMA cdp_test TO cdp_test_admin;
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type)
VALUES (1, date_trunc('month', now()) + interval '9 months' + interval '1 day', 1, 1, 'm-ahead-2', 'track');
SELECT tableoid::regclass AS parked_in FROM cdp.events WHERE message_id = 'm-ahead-2';
UPDATE public.part_config SET premake = 9 WHERE parent_table = 'cdp.events';
SET ROLE cdp_test_admin;
CREATE TEMP TABLE cdp_events_moving (LIKE cdp.events);
CREATE FUNCTION pg_temp.planted() RETURNS trigger LANGUAGE plpgsql AS
  $$ BEGIN RAISE NOTICE 'planted trigger ran as %', current_user; RETURN NULL; END $$;
CREATE TRIGGER planted AFTER INSERT ON cdp_events_moving FOR EACH STATEMENT EXECUTE FUNCTION pg_temp.planted();
SELECT cdp_test.release_as_owner() AS rows_moved;
RESET ROLE;
SELECT message_id, tableoid::regclass = 'cdp.events_default'::regclass AS still_in_default, tableoid::regclass::text = 'cdp.events_p' || to_char(now() + interval '9 months', 'YYYY_MM') AS in_its_month
  FROM cdp.events WHERE message_id = 'm-ahead-2';
DROP TABLE pg_temp.cdp_events_moving;
DROP FUNCTION pg_temp.planted();
DROP FUNCTION cdp_test.release_as_owner();
REVOKE USAGE ON SCHEMA cdp_test FROM cdp_test_admin;
DROP ROLE cdp_test_admin;
UPDATE public.part_config SET premake = 4 WHERE parent_table = 'cdp.events';
DELETE FROM cdp.events;
