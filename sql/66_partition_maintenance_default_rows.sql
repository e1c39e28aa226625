-- The partition maintenance job with rows in the default partition. An
-- outlier far in the future does not make pg_partman premake every month up
-- to it (which exhausts the lock table); rows of a month beyond the newest
-- partition that maintenance is about to create do not stop it ("updated
-- partition constraint for default partition would be violated"): the job
-- makes the partition and the rows move into it (cdp._events_release_default).
SELECT cdp.create_tenant('pm-default-rows') AS t \gset
SELECT ignore_default_data, retention_keep_table FROM public.part_config WHERE parent_table = 'cdp.events';

-- Rows for the month after the newest partition, and one in 2199.
SELECT partition_tablename AS newest FROM public.show_partitions('cdp.events', 'DESC') LIMIT 1 \gset
SELECT child_end_time + interval '1 day' AS ahead FROM public.show_partition_info('cdp.' || :'newest') \gset
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name)
VALUES (:t, :'ahead', 1, 1, 'ahead-1', 'track', 'month ahead'),
       (:t, :'ahead'::timestamptz + interval '1 hour', 1, 1, 'ahead-2', 'track', 'month ahead'),
       (:t, '2199-06-01 00:00+00', 1, 1, 'outlier', 'track', 'far future');
SELECT event_name, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS in_default_partition
  FROM cdp.events e JOIN pg_class c ON c.oid = e.tableoid WHERE e.tenant_id = :t ORDER BY e.event_time;

-- A longer premake brings that month within reach of this run.
UPDATE public.part_config SET premake = 12 WHERE parent_table = 'cdp.events';
SELECT job_name, status, message, sqlstate FROM cdp.run_job('partition_maintenance');
UPDATE public.part_config SET premake = 4 WHERE parent_table = 'cdp.events';

-- The month has its partition, holding its rows; the outlier stays in the
-- default partition and no run of months was premade up to it.
SELECT event_name, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS in_default_partition
  FROM cdp.events e JOIN pg_class c ON c.oid = e.tableoid WHERE e.tenant_id = :t ORDER BY e.event_time;
SELECT count(*) AS partitions_beyond_2100 FROM public.show_partitions('cdp.events') s
 WHERE s.partition_tablename > 'events_p2100';
