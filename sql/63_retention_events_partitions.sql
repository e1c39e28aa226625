-- Events retention: partitions wholly beyond the longest horizon are dropped
-- (checked in the catalog), a tenant with a shorter horizon loses only its
-- own older rows (batched DELETE), rows in the default partition go by their
-- tenant's horizon, and nothing inside a horizon is touched.
SELECT cdp.create_tenant('ret-ev-short') AS t_short \gset
SELECT cdp.create_tenant('ret-ev-long') AS t_long \gset

-- The longest horizon becomes pg_partman's retention (dropping, not detaching).
SELECT cdp.set_retention('ret-ev-short', 'events', '7 days');
SELECT cdp.set_retention(NULL, 'events', '12 months');
SELECT retention, retention_keep_table FROM public.part_config WHERE parent_table = 'cdp.events';
SELECT tenant, kind, keep, set_by FROM cdp.retention_policies
 WHERE tenant IN ('ret-ev-short', 'ret-ev-long') AND kind = 'events' ORDER BY tenant;

-- An old monthly partition (March 1987), far beyond every horizon.
SELECT public.create_partition_time('cdp.events', ARRAY['1987-03-15 12:00+00'::timestamptz], false);

INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name)
SELECT t.id, w.at, 1, 1, t.name || '-' || w.label, 'track', w.label
  FROM (VALUES (:t_short, 'short'), (:t_long, 'long')) t(id, name),
       (VALUES ('1960 (default partition)', timestamptz '1960-01-01 00:00+00'),
               ('1987 (old partition)', timestamptz '1987-03-15 12:00+00'),
               ('10 days ago', now() - interval '10 days'),
               ('1 hour ago', now() - interval '1 hour'),
               ('2099 (default partition)', timestamptz '2099-01-01 00:00+00')) w(label, at);
SELECT tableoid::regclass AS old_partition FROM cdp.events
 WHERE tenant_id = :t_short AND event_time = '1987-03-15 12:00+00' \gset
SELECT count(*) AS partitions_before FROM pg_inherits WHERE inhparent = 'cdp.events'::regclass \gset
-- The 1987 rows are in their own partition, the 1960 ones in the default one.
SELECT event_name, e.tableoid = :'old_partition'::regclass AS in_old_partition,
       pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS in_default_partition, count(*)
  FROM cdp.events e JOIN pg_class c ON c.oid = e.tableoid
 WHERE tenant_id IN (:t_short, :t_long) AND event_time < '1990-01-01' GROUP BY 1, 2, 3 ORDER BY 1;

SELECT job_name, status, message, sqlstate FROM cdp.run_job('retention');

-- The old partition is gone from the catalog; only it was dropped.
SELECT to_regclass(:'old_partition') IS NULL AS old_partition_dropped;
SELECT :partitions_before - count(*) AS partitions_dropped FROM pg_inherits WHERE inhparent = 'cdp.events'::regclass;
SELECT EXISTS (SELECT 1 FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
                WHERE i.inhparent = 'cdp.events'::regclass
                  AND pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT') AS default_partition_kept;

-- What is left, per tenant: the short horizon took the short tenant's rows
-- of 10 days ago, not the long tenant's.
SELECT CASE tenant_id WHEN :t_short THEN 'short' ELSE 'long' END AS tenant, event_name AS kept
  FROM cdp.events WHERE tenant_id IN (:t_short, :t_long) ORDER BY 1 DESC, event_time;

-- A second run finds nothing more of these tenants to remove.
SELECT count(*) AS rows_before FROM cdp.events WHERE tenant_id IN (:t_short, :t_long) \gset
SELECT status FROM cdp.run_job('retention');
SELECT count(*) = :rows_before AS unchanged FROM cdp.events WHERE tenant_id IN (:t_short, :t_long);

-- Bounded batches: with batch_size 2 and max_batches 1 one run deletes at
-- most 2 of a tenant's expired rows; the next run continues.
SELECT cdp.create_tenant('ret-ev-batch') AS t_batch \gset
SELECT cdp.set_retention('ret-ev-batch', 'events', '1 day');
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type)
SELECT :t_batch, now() - interval '3 days' - g * interval '1 minute', 1, 1, 'b' || g, 'track' FROM generate_series(1, 5) g;
UPDATE cdp.jobs SET config = '{"batch_size": 2, "max_batches": 1}' WHERE job_name = 'retention';
SELECT status FROM cdp.run_job('retention');
SELECT count(*) AS batch_rows_left FROM cdp.events WHERE tenant_id = :t_batch;
SELECT status FROM cdp.run_job('retention');
SELECT count(*) AS batch_rows_left FROM cdp.events WHERE tenant_id = :t_batch;
UPDATE cdp.jobs SET config = '{"batch_size": 0}' WHERE job_name = 'retention';
SELECT status, sqlstate, message FROM cdp.run_job('retention');
UPDATE cdp.jobs SET config = '{}' WHERE job_name = 'retention';

-- Back to the built-in default: pg_partman's retention follows.
SELECT cdp.set_retention(NULL, 'events', NULL);
SELECT retention FROM public.part_config WHERE parent_table = 'cdp.events';
