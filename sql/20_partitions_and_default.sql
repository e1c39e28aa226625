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
