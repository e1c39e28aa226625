-- Partition maintenance with rows in the default partition. An outlier far in
-- the future does not make pg_partman premake every month up to it (which
-- exhausts the lock table); rows sent a few months ahead into a month that has
-- no partition yet do not stop maintenance ("updated partition constraint for
-- default partition would be violated"): the partition is made and the rows
-- move into it.
SELECT cdp.create_tenant('pm-default-rows') AS t \gset
SELECT ignore_default_data, retention_keep_table FROM public.part_config WHERE parent_table = 'cdp.events';

-- Take away the furthest premade partition, so its month has none.
SELECT partition_tablename AS last_part FROM public.show_partitions('cdp.events', 'DESC') LIMIT 1 \gset
SELECT child_start_time + interval '1 day' AS ahead FROM public.show_partition_info('cdp.' || :'last_part') \gset
SELECT count(*) AS rows_in_last_partition FROM cdp.:"last_part";
DROP TABLE cdp.:"last_part";
SELECT count(*) AS partitions_before FROM pg_inherits WHERE inhparent = 'cdp.events'::regclass \gset

INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type, event_name)
VALUES (:t, :'ahead', 1, 1, 'ahead-1', 'track', 'months ahead'),
       (:t, :'ahead'::timestamptz + interval '1 hour', 1, 1, 'ahead-2', 'track', 'months ahead'),
       (:t, '2199-06-01 00:00+00', 1, 1, 'outlier', 'track', 'far future');
SELECT event_name, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS in_default_partition
  FROM cdp.events e JOIN pg_class c ON c.oid = e.tableoid WHERE e.tenant_id = :t ORDER BY e.event_time;

SELECT job_name, status, message, sqlstate FROM cdp.run_job('partition_maintenance');

-- The month ahead has its partition again, holding its rows; the outlier
-- stays in the default partition and no run of months was premade up to it.
SELECT to_regclass('cdp.' || :'last_part') IS NOT NULL AS partition_made;
SELECT event_name, pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT' AS in_default_partition,
       e.tableoid = ('cdp.' || :'last_part')::regclass AS in_new_partition
  FROM cdp.events e JOIN pg_class c ON c.oid = e.tableoid WHERE e.tenant_id = :t ORDER BY e.event_time;
SELECT count(*) - :partitions_before BETWEEN 1 AND 2 AS one_or_two_partitions_made
  FROM pg_inherits WHERE inhparent = 'cdp.events'::regclass;
SELECT count(*) AS partitions_beyond_2100 FROM public.show_partitions('cdp.events') s
 WHERE s.partition_tablename > 'events_p2100';
