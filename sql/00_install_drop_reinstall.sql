-- The extension installs with its dependencies, drops cleanly, and installs
-- again in a cluster where its roles (cluster-wide) already exist.
CREATE EXTENSION cdp CASCADE;
SELECT extversion FROM pg_extension WHERE extname = 'cdp';
SELECT count(*) AS roles FROM pg_roles WHERE rolname IN ('cdp_admin', 'cdp_writer', 'cdp_reader', 'cdp_compliance');
SELECT cdp.create_tenant('before-drop') > 0 AS created;
DROP EXTENSION cdp;
-- The schema itself stays (PostgreSQL does not drop a schema named by a control
-- file), but nothing is left in it.
SELECT count(*) AS objects_left_in_cdp FROM pg_class WHERE relnamespace = 'cdp'::regnamespace;
SELECT count(*) AS functions_left_in_cdp FROM pg_proc WHERE pronamespace = 'cdp'::regnamespace;
SELECT count(*) AS roles_kept FROM pg_roles WHERE rolname IN ('cdp_admin', 'cdp_writer', 'cdp_reader', 'cdp_compliance');
-- pg_partman keeps its row for cdp.events (it cannot see the drop); the next
-- install replaces it rather than failing on it.
SELECT count(*) AS stale_part_config FROM public.part_config WHERE parent_table = 'cdp.events';
CREATE EXTENSION cdp;
SELECT count(*) AS part_config_rows FROM public.part_config WHERE parent_table = 'cdp.events';
SELECT count(*) AS tenants_after_reinstall FROM cdp.tenants;
SELECT parent_table, partition_type, partition_interval, premake, retention, retention_keep_table,
       infinite_time_partitions, ignore_default_data
  FROM public.part_config WHERE parent_table = 'cdp.events';

-- Helpers shared by the later tests: run a statement and show its SQLSTATE
-- and message instead of psql's error text.
CREATE SCHEMA cdp_test;
CREATE FUNCTION cdp_test.error_of(stmt text) RETURNS text
LANGUAGE plpgsql AS $$
BEGIN
  EXECUTE stmt;
  RETURN 'no error';
EXCEPTION WHEN OTHERS THEN
  RETURN SQLSTATE || ': ' || SQLERRM;
END
$$;
