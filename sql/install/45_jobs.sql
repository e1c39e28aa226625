-- Jobs, run history and retention (issue 5). The background scheduler
-- (src/scheduler.c) and the SQL entry points cdp.run_maintenance() and
-- cdp.run_job(name) run the same built-in job functions, so a database without
-- cdp in shared_preload_libraries (or one that prefers pg_cron) loses nothing.
--
-- The scheduler runs a job in three transactions, as TimescaleDB does:
-- cdp._job_claim() commits a 'running' run before the job starts, so a worker
-- that dies mid-job leaves evidence; cdp._job_execute() does the work and
-- cdp._job_finish() records the outcome in the same transaction; on error a
-- fresh transaction records the failure. A run by hand does all of it in the
-- caller's transaction, the job's work in a subtransaction.

CREATE TABLE cdp.jobs (
  job_name              text NOT NULL,
  kind                  text NOT NULL,
  schedule              interval NOT NULL,
  next_run              timestamptz NOT NULL,
  enabled               boolean NOT NULL DEFAULT true,
  config                jsonb NOT NULL DEFAULT '{}',
  max_runtime           interval,
  max_retries           integer,
  retry_delay           interval NOT NULL DEFAULT '5 minutes',
  consecutive_failures  integer NOT NULL DEFAULT 0,
  last_run_id           bigint,
  last_status           text,
  last_finished_at      timestamptz,
  PRIMARY KEY (job_name),
  CHECK (kind IN ('partition_maintenance', 'retention', 'dedupe_cleanup', 'consent_expiry', 'statistics', 'access_cleanup')),
  CHECK (schedule BETWEEN interval '1 second' AND interval '1 year'),
  CHECK (max_runtime IS NULL OR (max_runtime > interval '0' AND max_runtime <= interval '24 days')),
  CHECK (max_retries IS NULL OR max_retries >= 0),
  CHECK (retry_delay > interval '0' AND retry_delay <= interval '1 year'),
  CHECK (jsonb_typeof(config) = 'object')
);
COMMENT ON TABLE cdp.jobs IS
  'cdp: the maintenance jobs the scheduler runs (one row per job). Change them with cdp.alter_job; see docs/operations.md.';
COMMENT ON COLUMN cdp.jobs.kind IS 'Which built-in job function runs (cdp._job_<kind>).';
COMMENT ON COLUMN cdp.jobs.schedule IS 'Interval between successful runs.';
COMMENT ON COLUMN cdp.jobs.next_run IS 'When the job is next due. Built-in jobs are first due one schedule after installation.';
COMMENT ON COLUMN cdp.jobs.max_runtime IS
  'Longest a scheduled run may take; the scheduler cancels it after that (SQLSTATE 57014). NULL: no limit.';
COMMENT ON COLUMN cdp.jobs.max_retries IS
  'Failed runs retried with exponential backoff (retry_delay, doubling, at most schedule) before the job falls back to its schedule. NULL: always back off.';
COMMENT ON COLUMN cdp.jobs.consecutive_failures IS 'Failed or crashed runs since the last success.';

CREATE TABLE cdp.job_runs (
  run_id           bigint GENERATED ALWAYS AS IDENTITY,
  job_name         text NOT NULL,
  runner           text NOT NULL,
  status           text NOT NULL DEFAULT 'running',
  started_at       timestamptz NOT NULL DEFAULT pg_catalog.clock_timestamp(),
  finished_at      timestamptz,
  rows_affected    bigint,
  message          text,
  sqlstate         text,
  pid              integer NOT NULL DEFAULT pg_catalog.pg_backend_pid(),
  server_started   timestamptz NOT NULL DEFAULT pg_catalog.pg_postmaster_start_time(),
  PRIMARY KEY (run_id),
  CHECK (runner IN ('scheduler', 'session')),
  CHECK (status IN ('running', 'succeeded', 'failed', 'crashed')),
  CHECK (sqlstate IS NULL OR sqlstate ~ '^[0-9A-Z]{5}$')
);
CREATE INDEX job_runs_job_idx ON cdp.job_runs (job_name, started_at);
CREATE INDEX job_runs_running_idx ON cdp.job_runs (status) WHERE status = 'running';
COMMENT ON TABLE cdp.job_runs IS
  'cdp: history of every job run (scheduler or by hand): start, end, status, rows affected, error message and SQLSTATE. Kept for the job_runs retention (default 90 days).';
COMMENT ON COLUMN cdp.job_runs.status IS
  'running; succeeded; failed (an error, or the server restarted during the run); crashed (the worker died during the run).';
COMMENT ON COLUMN cdp.job_runs.runner IS 'scheduler: the background worker; session: cdp.run_job or cdp.run_maintenance.';
COMMENT ON COLUMN cdp.job_runs.server_started IS
  'pg_postmaster_start_time() when the run began: tells a crashed worker from a server restart.';

-- Retention settings: tenant_id 0 holds the defaults for every tenant (and
-- for what belongs to no tenant: job runs, system audit entries).
CREATE TABLE cdp.retention_settings (
  tenant_id   integer NOT NULL,
  kind        text NOT NULL,
  keep        interval NOT NULL,
  updated_at  timestamptz NOT NULL DEFAULT pg_catalog.now(),
  PRIMARY KEY (tenant_id, kind),
  CHECK (kind IN ('events', 'inactive_profiles', 'rejected', 'job_runs', 'audit')),
  CHECK (keep > interval '0'),
  CHECK (kind <> 'job_runs' OR tenant_id = 0)
);
COMMENT ON TABLE cdp.retention_settings IS
  'cdp: retention horizons set with cdp.set_retention. tenant_id 0 overrides the built-in default for every tenant; cdp.retention_policies shows what applies.';
ALTER TABLE cdp.retention_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE cdp.retention_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY admin_all ON cdp.retention_settings TO cdp_admin USING (true);
COMMENT ON POLICY admin_all ON cdp.retention_settings IS 'cdp: administrators see every tenant''s rows.';

SELECT pg_catalog.pg_extension_config_dump('cdp.retention_settings', '');

CREATE FUNCTION cdp._retention_builtin(p_kind text) RETURNS interval
LANGUAGE sql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT CASE p_kind
           WHEN 'events' THEN interval '25 months'
           WHEN 'inactive_profiles' THEN interval '7 years'
           WHEN 'rejected' THEN interval '30 days'
           WHEN 'job_runs' THEN interval '90 days'
           WHEN 'audit' THEN interval '90 days'
         END
$$;
COMMENT ON FUNCTION cdp._retention_builtin(text) IS
  'cdp internal: built-in retention defaults: events 25 months, inactive_profiles 7 years, rejected 30 days, job_runs and audit 90 days.';

-- The horizon that applies to one tenant (0: the default) for one kind.
CREATE FUNCTION cdp._retention_keep(p_tenant_id integer, p_kind text) RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT coalesce(
    (SELECT r.keep FROM cdp.retention_settings r
      WHERE r.tenant_id OPERATOR(pg_catalog.=) p_tenant_id AND r.kind OPERATOR(pg_catalog.=) p_kind),
    (SELECT r.keep FROM cdp.retention_settings r
      WHERE r.tenant_id OPERATOR(pg_catalog.=) 0 AND r.kind OPERATOR(pg_catalog.=) p_kind),
    cdp._retention_builtin(p_kind))
$$;
COMMENT ON FUNCTION cdp._retention_keep(integer, text) IS
  'cdp internal: the retention horizon of a tenant for a kind: its own setting, else the tenant-0 default, else the built-in one.';

CREATE VIEW cdp.retention_policies WITH (security_invoker = true) AS
  SELECT t.tenant_id, t.name AS tenant, k.kind, cdp._retention_keep(t.tenant_id, k.kind) AS keep,
         CASE WHEN r.tenant_id IS NOT NULL THEN 'tenant'
              WHEN d.tenant_id IS NOT NULL THEN 'default'
              ELSE 'built-in' END AS set_by
    FROM cdp.tenants t
   CROSS JOIN (VALUES ('events'), ('inactive_profiles'), ('rejected'), ('audit')) k(kind)
    LEFT JOIN cdp.retention_settings r ON r.tenant_id = t.tenant_id AND r.kind = k.kind
    LEFT JOIN cdp.retention_settings d ON d.tenant_id = 0 AND d.kind = k.kind
  UNION ALL
  SELECT 0, NULL, k.kind, cdp._retention_keep(0, k.kind),
         CASE WHEN d.tenant_id IS NOT NULL THEN 'default' ELSE 'built-in' END
    FROM (VALUES ('events'), ('inactive_profiles'), ('rejected'), ('job_runs'), ('audit')) k(kind)
    LEFT JOIN cdp.retention_settings d ON d.tenant_id = 0 AND d.kind = k.kind;
COMMENT ON VIEW cdp.retention_policies IS
  'cdp: the retention horizon in force per tenant and kind, and whether the tenant, the default (tenant NULL in cdp.set_retention) or the built-in value sets it. tenant_id 0 rows are the defaults.';

-- pg_partman lives wherever CREATE EXTENSION ... CASCADE put it.
CREATE FUNCTION cdp._partman_schema() RETURNS text
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT n.nspname::text FROM pg_catalog.pg_extension e JOIN pg_catalog.pg_namespace n ON n.oid = e.extnamespace
   WHERE e.extname = 'pg_partman'
$$;
COMMENT ON FUNCTION cdp._partman_schema() IS 'cdp internal: the schema pg_partman is installed in.';

-- The longest events horizon of any tenant (and of the default) becomes
-- pg_partman's retention for cdp.events: partitions wholly beyond it are
-- dropped, never emptied row by row.
CREATE FUNCTION cdp._events_longest_keep() RETURNS interval
LANGUAGE sql STABLE
SET search_path = pg_catalog, pg_temp
AS $$
  SELECT pg_catalog.max(k) FROM (
    SELECT cdp._retention_keep(0, 'events') AS k
    UNION ALL
    SELECT r.keep FROM cdp.retention_settings r WHERE r.kind OPERATOR(pg_catalog.=) 'events') s
$$;
COMMENT ON FUNCTION cdp._events_longest_keep() IS
  'cdp internal: the longest events horizon in force: partitions older than this are dropped whole.';

CREATE FUNCTION cdp._sync_partman_retention() RETURNS interval
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
SET intervalstyle = postgres
AS $$
DECLARE
  longest interval := cdp._events_longest_keep();
BEGIN
  -- ignore_default_data: the default partition holds outliers (a device
  -- clock in 2199) by design; without it pg_partman would premake every
  -- month up to the outlier (pg_partman issue #462) and run out of locks.
  EXECUTE pg_catalog.format(
    'UPDATE %I.part_config SET retention = CASE WHEN retention::interval = $2::interval THEN retention ELSE $2 END, '
    'retention_keep_table = false, retention_keep_index = false, ignore_default_data = true '
    'WHERE parent_table = $1 AND (retention::interval IS DISTINCT FROM $2::interval OR NOT ignore_default_data '
    'OR retention_keep_table)', cdp._partman_schema())
  USING 'cdp.events', longest::text;
  RETURN longest;
END
$$;
COMMENT ON FUNCTION cdp._sync_partman_retention() IS
  'cdp internal: sets pg_partman''s retention for cdp.events to the longest events horizon (dropping, not detaching) and makes its maintenance ignore outliers in the default partition.';

CREATE FUNCTION cdp.set_retention(tenant text, kind text, keep interval)
RETURNS interval
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  kinds constant text[] := ARRAY['events', 'inactive_profiles', 'rejected', 'job_runs', 'audit'];
  tid integer := 0;
BEGIN
  IF kind IS NULL THEN
    RAISE EXCEPTION 'retention kind must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT kind = ANY (kinds) THEN
    RAISE EXCEPTION 'unknown retention kind "%"', kind
      USING ERRCODE = 'invalid_parameter_value', HINT = 'Kinds: ' || pg_catalog.array_to_string(kinds, ', ') || '.';
  END IF;
  IF tenant IS NOT NULL THEN
    IF kind = 'job_runs' THEN
      RAISE EXCEPTION 'job_runs retention is not set per tenant'
        USING ERRCODE = 'invalid_parameter_value', HINT = 'Pass NULL as the tenant.';
    END IF;
    tid := cdp._tenant_id(tenant);
  END IF;
  IF keep IS NOT NULL AND (keep <= interval '0' OR keep > interval '100 years') THEN
    RAISE EXCEPTION 'retention must be a positive interval of at most 100 years, not %', keep
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF kind = 'events' AND keep < interval '1 day' THEN
    RAISE EXCEPTION 'events retention must be at least 1 day, not %', keep
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- The purge re-checks last_seen_at, which ingestion moves at most about
  -- once an hour per person and connection (cheaper writes): a shorter
  -- horizon would purge people active right now.
  IF kind = 'inactive_profiles' AND keep < interval '1 day' THEN
    RAISE EXCEPTION 'inactive_profiles retention must be at least 1 day, not %', keep
      USING ERRCODE = 'invalid_parameter_value',
            HINT = 'last_seen_at may lag behind a person''s newest event by up to an hour; see docs/operations.md, "Retention".';
  END IF;

  IF keep IS NULL THEN
    DELETE FROM cdp.retention_settings r
     WHERE r.tenant_id OPERATOR(pg_catalog.=) tid AND r.kind OPERATOR(pg_catalog.=) set_retention.kind;
  ELSE
    INSERT INTO cdp.retention_settings AS r (tenant_id, kind, keep) VALUES (tid, kind, keep)
    ON CONFLICT ON CONSTRAINT retention_settings_pkey DO UPDATE SET keep = EXCLUDED.keep, updated_at = pg_catalog.now();
  END IF;
  IF kind = 'events' THEN
    PERFORM cdp._sync_partman_retention();
  END IF;
  PERFORM cdp._audit(tid, 'set_retention',
                     pg_catalog.jsonb_build_object('tenant', tenant, 'kind', kind, 'keep', keep::text));
  RETURN cdp._retention_keep(tid, kind);
END
$$;
COMMENT ON FUNCTION cdp.set_retention(text, text, interval) IS
  'Sets how long a tenant''s data of a kind is kept (events, inactive_profiles, rejected, audit; job_runs only with tenant NULL). Tenant NULL sets the default for all tenants; keep NULL removes the setting. Returns the horizon now in force. Errors: unknown tenant 42704, NULL kind 22004, bad kind or interval 22023 (events and inactive_profiles: at least 1 day).';

-- Deletes the rows of p_table selected by p_where ($1 = tenant id, $2 =
-- cutoff) in batches of about p_batch rows, walking p_time_col upwards
-- (keyset: each batch is the time range after the previous one, found
-- through the time index, so no batch rescans what earlier ones deleted and
-- partitions outside the range are pruned); at most p_max_batches batches,
-- so one run stays bounded. Rows sharing the batch's last timestamp go in
-- the same batch. Returns rows deleted.
CREATE FUNCTION cdp._delete_batched(p_table regclass, p_time_col text, p_where text, p_tenant_id integer,
                                    p_cutoff timestamptz, p_batch integer, p_max_batches integer)
RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  lo timestamptz;
  hi timestamptz;
  n bigint;
  total bigint := 0;
BEGIN
  FOR i IN 1 .. p_max_batches LOOP
    EXECUTE pg_catalog.format('SELECT %I FROM %s WHERE %s AND ($3::timestamptz IS NULL OR %I > $3) '
                              'ORDER BY %I OFFSET %s LIMIT 1',
                              p_time_col, p_table, p_where, p_time_col, p_time_col, p_batch - 1)
    INTO hi USING p_tenant_id, p_cutoff, lo;
    EXECUTE pg_catalog.format('DELETE FROM %s WHERE %s AND ($3::timestamptz IS NULL OR %I > $3) '
                              'AND ($4::timestamptz IS NULL OR %I <= $4)',
                              p_table, p_where, p_time_col, p_time_col)
    USING p_tenant_id, p_cutoff, lo, hi;
    GET DIAGNOSTICS n = ROW_COUNT;
    total := total + n;
    EXIT WHEN hi IS NULL;
    lo := hi;
  END LOOP;
  RETURN total;
END
$$;
COMMENT ON FUNCTION cdp._delete_batched(regclass, text, text, integer, timestamptz, integer, integer) IS
  'cdp internal: bounded, batched DELETE used by retention and cleanup jobs (rows of a tenant older than a cutoff, in time order, keyset batches).';

CREATE FUNCTION cdp._config_int(p_config jsonb, p_key text, p_default integer) RETURNS integer
LANGUAGE plpgsql IMMUTABLE
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  v jsonb := p_config -> p_key;
BEGIN
  IF v IS NULL THEN
    RETURN p_default;
  END IF;
  IF pg_catalog.jsonb_typeof(v) <> 'number' OR (v #>> '{}') !~ '^[1-9][0-9]{0,8}$' THEN
    RAISE EXCEPTION 'job setting % must be a positive integer, not %', p_key, v
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  RETURN (v #>> '{}')::integer;
END
$$;
COMMENT ON FUNCTION cdp._config_int(jsonb, text, integer) IS
  'cdp internal: a positive integer job setting (batch_size, max_batches) or its default; 22023 if malformed.';

-- ---------------------------------------------------------------------------
-- Built-in jobs. Each takes the job's config and returns rows affected.
-- ---------------------------------------------------------------------------

CREATE FUNCTION cdp._job_partition_maintenance(p_config jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  before integer;
  after integer;
BEGIN
  SELECT pg_catalog.count(*) INTO before FROM pg_catalog.pg_inherits WHERE inhparent = 'cdp.events'::regclass;
  PERFORM cdp._sync_partman_retention();
  -- Months about to be created that have rows in the default partition
  -- (events sent months ahead) get their partition first.
  PERFORM cdp._events_release_default();
  EXECUTE pg_catalog.format('SELECT %I.run_maintenance(p_parent_table => $1, p_analyze => false, p_jobmon => false)',
                            cdp._partman_schema())
  USING 'cdp.events';
  SELECT pg_catalog.count(*) INTO after FROM pg_catalog.pg_inherits WHERE inhparent = 'cdp.events'::regclass;
  RETURN pg_catalog.abs(after - before);
END
$$;
COMMENT ON FUNCTION cdp._job_partition_maintenance(jsonb) IS
  'cdp job: pg_partman maintenance of cdp.events (premade future partitions, retention by dropping); returns partitions created or dropped.';

-- Events retention. (1) Partitions wholly older than the longest horizon are
-- dropped by pg_partman. (2) A tenant whose horizon is shorter loses its own
-- older rows by a bounded, batched DELETE that names its tenant_id, so one
-- tenant's horizon never touches another's rows. (3) The default partition is
-- never dropped, so rows in it beyond their tenant's horizon are deleted too.
CREATE FUNCTION cdp._retention_events(p_batch integer, p_max_batches integer) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  longest interval := cdp._sync_partman_retention();
  dropped integer;
  total bigint := 0;
  t record;
  default_part regclass;
BEGIN
  EXECUTE pg_catalog.format('SELECT %I.drop_partition_time($1, p_retention => $2, p_keep_table => false)',
                            cdp._partman_schema())
  INTO dropped USING 'cdp.events', longest;
  total := total + coalesce(dropped, 0);

  SELECT i.inhrelid::regclass INTO default_part
    FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_class c ON c.oid = i.inhrelid
   WHERE i.inhparent = 'cdp.events'::regclass AND pg_catalog.pg_get_expr(c.relpartbound, c.oid) = 'DEFAULT';

  FOR t IN SELECT tn.tenant_id, cdp._retention_keep(tn.tenant_id, 'events') AS keep
             FROM cdp.tenants tn ORDER BY tn.tenant_id LOOP
    IF t.keep < longest THEN
      total := total + cdp._delete_batched('cdp.events', 'event_time',
                 'tenant_id = $1 AND event_time < $2', t.tenant_id, pg_catalog.now() - t.keep,
                 p_batch, p_max_batches);
    ELSIF default_part IS NOT NULL THEN
      total := total + cdp._delete_batched(default_part, 'event_time',
                 'tenant_id = $1 AND event_time < $2', t.tenant_id, pg_catalog.now() - t.keep,
                 p_batch, p_max_batches);
    END IF;
  END LOOP;
  RETURN total;
END
$$;
COMMENT ON FUNCTION cdp._retention_events(integer, integer) IS
  'cdp internal: events retention: drops partitions beyond the longest horizon, deletes (batched, per tenant) rows beyond a shorter one; returns partitions dropped plus rows deleted.';

-- Inactive profiles: canonical profiles not seen within the horizon (nor any
-- profile merged into them) are deleted with everything they own, as erasure
-- does but without suppressing their identifiers. The purge itself belongs to
-- the privacy module (cdp._purge_profiles); without it this step is skipped.
-- Candidates are locked and checked again before the purge (see below).
CREATE FUNCTION cdp._retention_profiles(p_batch integer, p_max_batches integer) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  t record;
  candidates bigint[];
  slice bigint[];
  held bigint[];
  row_locked bigint[];
  last_id bigint;
  busy bigint;
  ids bigint[];
  total bigint := 0;
  purged bigint;
BEGIN
  IF pg_catalog.to_regprocedure('cdp._purge_profiles(integer, bigint[], boolean)') IS NULL THEN
    RAISE DEBUG 'inactive profile retention skipped: cdp._purge_profiles is not installed';
    RETURN 0;
  END IF;
  FOR t IN SELECT tn.tenant_id, pg_catalog.now() - cdp._retention_keep(tn.tenant_id, 'inactive_profiles') AS cutoff
             FROM cdp.tenants tn ORDER BY tn.tenant_id LOOP
    purged := 0;
    busy := 0;
    last_id := NULL;
    <<batches>>
    FOR i IN 1 .. p_max_batches LOOP
      -- After the last candidate of the previous batch: people skipped as
      -- busy are not picked again in this run.
      SELECT pg_catalog.array_agg(p.profile_id) INTO candidates FROM (
        SELECT p.profile_id FROM cdp.profiles p
         WHERE p.tenant_id OPERATOR(pg_catalog.=) t.tenant_id AND p.merged_into IS NULL
           AND p.last_seen_at OPERATOR(pg_catalog.<) t.cutoff
           AND (last_id IS NULL OR p.profile_id OPERATOR(pg_catalog.>) last_id)
           AND NOT EXISTS (SELECT 1 FROM cdp.profiles m
                            WHERE m.tenant_id OPERATOR(pg_catalog.=) t.tenant_id
                              AND m.merged_into OPERATOR(pg_catalog.=) p.profile_id
                              AND m.last_seen_at OPERATOR(pg_catalog.>=) t.cutoff)
         ORDER BY p.profile_id LIMIT p_batch) p;
      EXIT WHEN candidates IS NULL;
      last_id := candidates[pg_catalog.cardinality(candidates)];
      -- The candidates were read without a lock: a person may have been seen
      -- (or merged) since. The purge never waits for a lock ingestion holds
      -- (it would deadlock with an ingesting transaction that locks people
      -- in message order, and stall the tenant's ingestion meanwhile): a
      -- person whose lock is busy is being written to, hence not inactive,
      -- and is left for the next run. In slices of at most 256 people (the
      -- shared lock table is small, src/locks.h):
      -- 1. the tenant's profiles lock (busy while a transaction past its
      --    budget of profile locks ingests: the slice is skipped) and the
      --    people's private event locks, exclusively, those free only:
      --    ingestion that locks no profile row (a known person's track)
      --    holds them while it stores an event, so the re-check below sees
      --    its last_seen_at and the purge's DELETE sees the events
      --    (src/locks.c; without it such an event could outlive its
      --    profile). Events name canonical profiles only: merged ones need
      --    no event lock;
      -- 2. the rows of those people and of every profile merged into them,
      --    in profile_id order, skipping rows locked (identity resolution
      --    working on the person), so that activity from now on waits for
      --    the purge;
      -- 3. look again (a new snapshot under READ COMMITTED) and keep only
      --    the people still canonical and inactive whose rows, merged ones
      --    included, are all locked;
      -- 4. purge, then release the event locks: ingestion that comes later
      --    sees the deleted rows and waits for this transaction.
      FOR s IN 0 .. (pg_catalog.cardinality(candidates) - 1) / 256 LOOP
        slice := candidates[s * 256 + 1 : s * 256 + 256];
        held := cdp._lock_profiles_for_purge(t.tenant_id, slice);
        IF pg_catalog.cardinality(held) OPERATOR(pg_catalog.=) 0 THEN
          -- The tenant's profiles lock stayed busy (or every person of the
          -- slice is): leave the tenant to the next run rather than try
          -- every slice again.
          busy := busy + pg_catalog.cardinality(candidates) OPERATOR(pg_catalog.-) s * 256;
          EXIT batches;
        END IF;
        SELECT coalesce(pg_catalog.array_agg(x.profile_id), '{}') INTO row_locked FROM (
          SELECT p.profile_id FROM cdp.profiles p
           WHERE p.tenant_id OPERATOR(pg_catalog.=) t.tenant_id
             AND (p.profile_id OPERATOR(pg_catalog.=) ANY (held)
                  OR p.merged_into OPERATOR(pg_catalog.=) ANY (held))
           ORDER BY p.profile_id
           FOR UPDATE SKIP LOCKED) x;
        SELECT pg_catalog.array_agg(p.profile_id ORDER BY p.profile_id) INTO ids
          FROM cdp.profiles p
         WHERE p.tenant_id OPERATOR(pg_catalog.=) t.tenant_id
           AND p.profile_id OPERATOR(pg_catalog.=) ANY (held)
           AND p.profile_id OPERATOR(pg_catalog.=) ANY (row_locked)
           AND p.merged_into IS NULL
           AND p.last_seen_at OPERATOR(pg_catalog.<) t.cutoff
           AND NOT EXISTS (SELECT 1 FROM cdp.profiles m
                            WHERE m.tenant_id OPERATOR(pg_catalog.=) t.tenant_id
                              AND m.merged_into OPERATOR(pg_catalog.=) p.profile_id
                              AND (m.last_seen_at OPERATOR(pg_catalog.>=) t.cutoff
                                   OR NOT m.profile_id OPERATOR(pg_catalog.=) ANY (row_locked)));
        -- busy: not locked whole (an event lock or a row lock held elsewhere)
        busy := busy + pg_catalog.cardinality(slice) OPERATOR(pg_catalog.-) (
          SELECT pg_catalog.count(*) FROM pg_catalog.unnest(held) h(id)
           WHERE h.id OPERATOR(pg_catalog.=) ANY (row_locked)
             AND NOT EXISTS (SELECT 1 FROM cdp.profiles m
                              WHERE m.tenant_id OPERATOR(pg_catalog.=) t.tenant_id
                                AND m.merged_into OPERATOR(pg_catalog.=) h.id
                                AND NOT m.profile_id OPERATOR(pg_catalog.=) ANY (row_locked)));
        IF ids IS NOT NULL THEN
          EXECUTE 'SELECT cdp._purge_profiles($1, $2, false)' USING t.tenant_id, ids;
          purged := purged + pg_catalog.cardinality(ids);
        END IF;
        PERFORM cdp._unlock_profiles_after_purge(t.tenant_id, held);
      END LOOP;
      EXIT WHEN pg_catalog.cardinality(candidates) < p_batch;
    END LOOP;
    -- Skipped people are looked at again by the next run; a tenant that is
    -- never free (big batches without pause) shows here.
    IF busy > 0 THEN
      RAISE LOG 'cdp inactive-profile retention: tenant %: % candidate people skipped as busy (locked by a transaction in flight), left for the next run',
        t.tenant_id, busy;
    END IF;
    -- Deleting people is a compliance-relevant act: say so in the audit log.
    IF purged > 0 THEN
      PERFORM cdp._audit(t.tenant_id, 'retention_purge_profiles',
                         pg_catalog.jsonb_build_object('profiles', purged, 'inactive_since', t.cutoff));
    END IF;
    total := total + purged;
  END LOOP;
  RETURN total;
END
$$;
COMMENT ON FUNCTION cdp._retention_profiles(integer, integer) IS
  'cdp internal: deletes canonical profiles inactive beyond their tenant''s horizon with everything they own (cdp._purge_profiles, no suppression); returns profiles purged.';

CREATE FUNCTION cdp._job_retention(p_config jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  batch integer := cdp._config_int(p_config, 'batch_size', 5000);
  max_batches integer := cdp._config_int(p_config, 'max_batches', 20);
  total bigint := 0;
  t record;
BEGIN
  total := total + cdp._retention_events(batch, max_batches);
  total := total + cdp._retention_profiles(batch, max_batches);

  FOR t IN SELECT tn.tenant_id FROM cdp.tenants tn ORDER BY tn.tenant_id LOOP
    total := total + cdp._delete_batched('cdp.quarantine', 'received_at',
               'tenant_id = $1 AND received_at < $2', t.tenant_id,
               pg_catalog.now() - cdp._retention_keep(t.tenant_id, 'rejected'), batch, max_batches);
  END LOOP;

  -- The audit log lets a DELETE through only while cdp.audit_purge is on,
  -- and only for this transaction (or subtransaction, for a run by hand).
  PERFORM pg_catalog.set_config('cdp.audit_purge', 'on', true);
  FOR t IN SELECT 0 AS tenant_id UNION ALL SELECT tn.tenant_id FROM cdp.tenants tn ORDER BY 1 LOOP
    total := total + cdp._delete_batched('cdp.audit_log', 'at',
               'tenant_id = $1 AND at < $2', t.tenant_id,
               pg_catalog.now() - cdp._retention_keep(t.tenant_id, 'audit'), batch, max_batches);
  END LOOP;
  PERFORM pg_catalog.set_config('cdp.audit_purge', 'off', true);

  total := total + cdp._delete_batched('cdp.job_runs', 'started_at',
             '$1 = 0 AND status <> ''running'' AND started_at < $2', 0,
             pg_catalog.now() - cdp._retention_keep(0, 'job_runs'), batch, max_batches);
  RETURN total;
END
$$;
COMMENT ON FUNCTION cdp._job_retention(jsonb) IS
  'cdp job: retention of every kind (events, inactive_profiles, rejected, audit, job_runs) by each tenant''s horizon, in bounded batches (config: batch_size, max_batches); returns rows and partitions removed.';

CREATE FUNCTION cdp._job_dedupe_cleanup(p_config jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  batch integer := cdp._config_int(p_config, 'batch_size', 5000);
  max_batches integer := cdp._config_int(p_config, 'max_batches', 20);
  total bigint := 0;
  t record;
BEGIN
  FOR t IN SELECT tn.tenant_id, coalesce((tn.settings ->> 'dedupe_window')::interval, interval '7 days') AS win
             FROM cdp.tenants tn ORDER BY tn.tenant_id LOOP
    total := total + cdp._delete_batched('cdp.message_ids', 'received_at',
               'tenant_id = $1 AND received_at < $2', t.tenant_id, pg_catalog.now() - t.win,
               batch, max_batches);
  END LOOP;
  RETURN total;
END
$$;
COMMENT ON FUNCTION cdp._job_dedupe_cleanup(jsonb) IS
  'cdp job: forgets message ids older than each tenant''s dedupe_window (default 7 days), in bounded batches; returns rows deleted.';

CREATE FUNCTION cdp._job_consent_expiry(p_config jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  n bigint;
BEGIN
  IF pg_catalog.to_regprocedure('cdp._expire_consents()') IS NULL THEN
    RETURN 0;
  END IF;
  EXECUTE 'SELECT cdp._expire_consents()' INTO n;
  RETURN coalesce(n, 0);
END
$$;
COMMENT ON FUNCTION cdp._job_consent_expiry(jsonb) IS
  'cdp job: expires consents past their expires_at (cdp._expire_consents of the consent module, when installed); returns consents expired.';

-- Grants of roles that no longer exist. cdp.access_grants.role_id is a
-- regrole, for which PostgreSQL records no dependency: DROP ROLE leaves the
-- role's grants (see_pii included) under a bare oid that matches nobody,
-- until the cluster's oid counter wraps around and a new role is given it
-- (review 10). An event trigger cannot see DROP ROLE, and roles belong to the
-- cluster while grants belong to each database: so a job deletes them, each
-- with an audit entry, as cdp.revoke_access would.
CREATE FUNCTION cdp._job_access_cleanup(p_config jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  g record;
  n bigint := 0;
BEGIN
  FOR g IN DELETE FROM cdp.access_grants ag
            WHERE NOT EXISTS (SELECT 1 FROM pg_catalog.pg_roles r WHERE r.oid OPERATOR(pg_catalog.=) ag.role_id::oid)
        RETURNING ag.tenant_id, ag.role_id::oid AS role_oid, ag.purpose, ag.see_pii LOOP
    PERFORM cdp._audit(g.tenant_id, 'access_cleanup',
      pg_catalog.jsonb_build_object('dropped_role_oid', g.role_oid, 'purpose', g.purpose, 'see_pii', g.see_pii));
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cdp._job_access_cleanup(jsonb) IS
  'cdp job: deletes the access grants of dropped roles (a regrole records no dependency, so DROP ROLE leaves them; a new role given the same oid after oid wraparound would inherit them), each with an audit entry; returns grants deleted.';

-- Autovacuum never analyzes a partitioned parent, so the planner's view of
-- cdp.events as a whole goes stale. ANALYZE it when its partitions changed by
-- more than threshold (default 10 %) since; config "tables" adds cdp tables
-- analyzed on every run.
CREATE FUNCTION cdp._job_statistics(p_config jsonb) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  threshold float8 := coalesce((p_config ->> 'threshold')::float8, 0.1);
  changed float8;
  total_rows float8;
  analyzed bigint := 0;
  t text;
BEGIN
  SELECT coalesce(pg_catalog.sum(s.n_mod_since_analyze), 0), coalesce(pg_catalog.sum(s.n_live_tup), 0)
    INTO changed, total_rows
    FROM pg_catalog.pg_inherits i JOIN pg_catalog.pg_stat_all_tables s ON s.relid = i.inhrelid
   WHERE i.inhparent = 'cdp.events'::regclass;
  IF changed > 0 AND changed >= threshold * total_rows THEN
    ANALYZE cdp.events;
    analyzed := analyzed + 1;
  END IF;
  IF p_config ? 'tables' THEN
    IF pg_catalog.jsonb_typeof(p_config -> 'tables') <> 'array' THEN
      RAISE EXCEPTION 'job setting tables must be an array of table names'
        USING ERRCODE = 'invalid_parameter_value';
    END IF;
    FOR t IN SELECT pg_catalog.jsonb_array_elements_text(p_config -> 'tables') LOOP
      IF pg_catalog.to_regclass(pg_catalog.format('cdp.%I', t)) IS NULL THEN
        RAISE EXCEPTION 'relation "cdp.%" does not exist', t USING ERRCODE = 'undefined_table';
      END IF;
      EXECUTE pg_catalog.format('ANALYZE cdp.%I', t);
      analyzed := analyzed + 1;
    END LOOP;
  END IF;
  RETURN analyzed;
END
$$;
COMMENT ON FUNCTION cdp._job_statistics(jsonb) IS
  'cdp job: ANALYZE of the partitioned cdp.events when its partitions changed enough (config threshold, default 0.1) and of the cdp tables listed in config tables; returns tables analyzed.';

-- ---------------------------------------------------------------------------
-- Running jobs: claim, execute, finish; crash recovery.
-- ---------------------------------------------------------------------------

-- Scheduler: the most overdue enabled job no one else is running; takes its
-- session-level job lock (cdp._job_try_lock, a private lock no role can take
-- with pg_advisory_lock; released by the scheduler after the run, or by its
-- exit) and records a 'running' run that commits before the work starts.
CREATE FUNCTION cdp._job_claim(OUT run_id bigint, OUT job_name text, OUT max_runtime_ms integer)
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  j record;
BEGIN
  FOR j IN SELECT jb.job_name, jb.max_runtime FROM cdp.jobs jb
            WHERE jb.enabled AND jb.next_run OPERATOR(pg_catalog.<=) pg_catalog.now()
            ORDER BY jb.next_run, jb.job_name LOOP
    IF cdp._job_try_lock(j.job_name, true) THEN
      INSERT INTO cdp.job_runs (job_name, runner) VALUES (j.job_name, 'scheduler') RETURNING job_runs.run_id INTO run_id;
      job_name := j.job_name;
      max_runtime_ms := LEAST(pg_catalog.date_part('epoch', j.max_runtime) * 1000, 2147483647)::integer;
      RETURN;
    END IF;
  END LOOP;
END
$$;
COMMENT ON FUNCTION cdp._job_claim() IS
  'cdp internal (scheduler): picks the most overdue idle job, locks it and records a running run; NULLs when nothing is due.';

CREATE FUNCTION cdp._job_execute(p_job_name text) RETURNS bigint
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  j cdp.jobs;
  n bigint;
BEGIN
  SELECT * INTO j FROM cdp.jobs jb WHERE jb.job_name OPERATOR(pg_catalog.=) p_job_name;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job "%" does not exist', p_job_name USING ERRCODE = 'undefined_object';
  END IF;
  EXECUTE pg_catalog.format('SELECT cdp.%I($1)', '_job_' || j.kind) INTO n USING j.config;
  RETURN coalesce(n, 0);
END
$$;
COMMENT ON FUNCTION cdp._job_execute(text) IS 'cdp internal: runs one job''s built-in function with its config; returns rows affected.';

-- Records the outcome of a run and schedules the next one: after a success
-- one schedule later; after a failure retry_delay x 2^(failures-1), at most
-- the schedule, or the schedule itself once max_retries are spent.
CREATE FUNCTION cdp._job_finish(p_run_id bigint, p_status text, p_rows bigint, p_message text, p_sqlstate text)
RETURNS void
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r cdp.job_runs;
  j cdp.jobs;
  fails integer;
  delay interval;
  next_at timestamptz;
BEGIN
  UPDATE cdp.job_runs jr SET status = p_status, finished_at = pg_catalog.clock_timestamp(),
         rows_affected = p_rows, message = p_message, sqlstate = p_sqlstate
   WHERE jr.run_id OPERATOR(pg_catalog.=) p_run_id
  RETURNING * INTO r;
  SELECT * INTO j FROM cdp.jobs jb WHERE jb.job_name OPERATOR(pg_catalog.=) r.job_name FOR UPDATE;
  IF NOT FOUND THEN
    RETURN;
  END IF;
  IF p_status = 'succeeded' THEN
    fails := 0;
    delay := j.schedule;
  ELSE
    fails := j.consecutive_failures + 1;
    IF j.max_retries IS NOT NULL AND fails > j.max_retries THEN
      delay := j.schedule;
    ELSE
      -- Doubling is compared in seconds (a double) first: retry_delay x 2^30
      -- as an interval overflows once retry_delay is 2 days or more.
      IF pg_catalog.date_part('epoch', j.retry_delay) * pg_catalog.power(2, LEAST(fails - 1, 30))
         OPERATOR(pg_catalog.>=) pg_catalog.date_part('epoch', j.schedule) THEN
        delay := j.schedule;
      ELSE
        delay := j.retry_delay * pg_catalog.power(2, LEAST(fails - 1, 30));
      END IF;
    END IF;
  END IF;
  -- delay is at most a year (the CHECKs on cdp.jobs); a timestamp so close
  -- to the end of the range that it still overflows means never.
  BEGIN
    next_at := r.finished_at + delay;
  EXCEPTION WHEN datetime_field_overflow THEN
    next_at := 'infinity';
  END;
  UPDATE cdp.jobs jb SET consecutive_failures = fails, last_run_id = r.run_id, last_status = p_status,
         last_finished_at = r.finished_at, next_run = next_at
   WHERE jb.job_name OPERATOR(pg_catalog.=) j.job_name;
END
$$;
COMMENT ON FUNCTION cdp._job_finish(bigint, text, bigint, text, text) IS
  'cdp internal: records a run''s outcome and the job''s next run (schedule after success, exponential backoff after failure).';

-- Runs the scheduler finds 'running' when it starts were abandoned: their
-- worker died (same server start: crashed) or the server restarted (failed).
CREATE FUNCTION cdp._job_recover() RETURNS integer
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  r cdp.job_runs;
  n integer := 0;
BEGIN
  FOR r IN SELECT * FROM cdp.job_runs jr
            WHERE jr.status OPERATOR(pg_catalog.=) 'running' AND jr.runner OPERATOR(pg_catalog.=) 'scheduler'
              AND jr.pid OPERATOR(pg_catalog.<>) pg_catalog.pg_backend_pid()
              AND NOT EXISTS (SELECT 1 FROM pg_catalog.pg_stat_activity a WHERE a.pid = jr.pid
                                AND a.backend_start OPERATOR(pg_catalog.<) jr.started_at)
            ORDER BY jr.run_id FOR UPDATE LOOP
    IF r.server_started = pg_catalog.pg_postmaster_start_time() THEN
      PERFORM cdp._job_finish(r.run_id, 'crashed', NULL, 'the worker running this job exited before it finished', NULL);
    ELSE
      PERFORM cdp._job_finish(r.run_id, 'failed', NULL, 'the server restarted while this job ran', NULL);
    END IF;
    n := n + 1;
  END LOOP;
  RETURN n;
END
$$;
COMMENT ON FUNCTION cdp._job_recover() IS
  'cdp internal (scheduler start): marks runs left running by a dead worker as crashed, or as failed after a server restart, and backs their jobs off.';

-- By hand: one job in the caller's transaction, its work in a subtransaction
-- so that a failure is recorded rather than raised.
CREATE FUNCTION cdp._run_job_here(p_job_name text) RETURNS cdp.job_runs
LANGUAGE plpgsql
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  rid bigint;
  n bigint;
  msg text;
  state text;
  result cdp.job_runs;
BEGIN
  IF NOT cdp._job_try_lock(p_job_name, false) THEN
    RAISE EXCEPTION 'job "%" is already running', p_job_name USING ERRCODE = 'lock_not_available';
  END IF;
  INSERT INTO cdp.job_runs (job_name, runner) VALUES (p_job_name, 'session') RETURNING run_id INTO rid;
  BEGIN
    n := cdp._job_execute(p_job_name);
    PERFORM cdp._job_finish(rid, 'succeeded', n, NULL, NULL);
  EXCEPTION WHEN OTHERS THEN
    GET STACKED DIAGNOSTICS msg = MESSAGE_TEXT, state = RETURNED_SQLSTATE;
    PERFORM cdp._job_finish(rid, 'failed', NULL, msg, state);
  END;
  SELECT * INTO result FROM cdp.job_runs jr WHERE jr.run_id OPERATOR(pg_catalog.=) rid;
  RETURN result;
END
$$;
COMMENT ON FUNCTION cdp._run_job_here(text) IS 'cdp internal: runs one job in this session and records the run.';

CREATE FUNCTION cdp.run_job(name text) RETURNS cdp.job_runs
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
BEGIN
  IF name IS NULL THEN
    RAISE EXCEPTION 'job name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  IF NOT EXISTS (SELECT 1 FROM cdp.jobs j WHERE j.job_name OPERATOR(pg_catalog.=) name) THEN
    RAISE EXCEPTION 'job "%" does not exist', name
      USING ERRCODE = 'undefined_object', HINT = 'The jobs are listed in cdp.job_status.';
  END IF;
  PERFORM cdp._audit(0, 'run_job', pg_catalog.jsonb_build_object('job', name));
  RETURN cdp._run_job_here(name);
END
$$;
COMMENT ON FUNCTION cdp.run_job(text) IS
  'Runs one job now in this session, due or not (for pg_cron or by hand), records the run and returns it; a failing job is recorded as failed, not raised. Errors: NULL 22004, unknown job 42704, already running 55P03.';

CREATE FUNCTION cdp.run_maintenance() RETURNS SETOF cdp.job_runs
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  j record;
BEGIN
  PERFORM cdp._audit(0, 'run_maintenance', '{}'::jsonb);
  FOR j IN SELECT jb.job_name FROM cdp.jobs jb
            WHERE jb.enabled AND jb.next_run OPERATOR(pg_catalog.<=) pg_catalog.now()
            ORDER BY jb.next_run, jb.job_name LOOP
    -- A job the scheduler is running right now is its business.
    CONTINUE WHEN NOT cdp._job_try_lock(j.job_name, false);
    RETURN NEXT cdp._run_job_here(j.job_name);
  END LOOP;
END
$$;
COMMENT ON FUNCTION cdp.run_maintenance() IS
  'Runs every due, enabled job now in this session (skipping one the scheduler is running) and returns their runs. For databases without the background workers, or to schedule cdp from pg_cron.';

CREATE FUNCTION cdp.alter_job(name text, schedule interval DEFAULT NULL, enabled boolean DEFAULT NULL,
                              config jsonb DEFAULT NULL, next_run timestamptz DEFAULT NULL,
                              max_runtime interval DEFAULT NULL, max_retries integer DEFAULT NULL,
                              retry_delay interval DEFAULT NULL)
RETURNS cdp.jobs
LANGUAGE plpgsql SECURITY DEFINER
SET search_path = pg_catalog, pg_temp
AS $$
DECLARE
  result cdp.jobs;
BEGIN
  IF name IS NULL THEN
    RAISE EXCEPTION 'job name must not be NULL' USING ERRCODE = 'null_value_not_allowed';
  END IF;
  -- Upper bounds keep next_run = finished_at + delay (and the backoff) far
  -- from timestamp and interval overflow.
  IF schedule IS NOT NULL AND (schedule < interval '1 second' OR schedule > interval '1 year') THEN
    RAISE EXCEPTION 'schedule must be between 1 second and 1 year, not %', schedule
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF config IS NOT NULL AND pg_catalog.jsonb_typeof(config) <> 'object' THEN
    RAISE EXCEPTION 'job config must be a JSON object, not %', pg_catalog.jsonb_typeof(config)
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  -- 24 days: about the longest timeout PostgreSQL can arm (INT_MAX ms).
  IF max_runtime IS NOT NULL AND (max_runtime <= interval '0' OR max_runtime > interval '24 days') THEN
    RAISE EXCEPTION 'max_runtime must be positive and at most 24 days, not %', max_runtime
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF max_retries IS NOT NULL AND max_retries < 0 THEN
    RAISE EXCEPTION 'max_retries must not be negative, not %', max_retries USING ERRCODE = 'invalid_parameter_value';
  END IF;
  IF retry_delay IS NOT NULL AND (retry_delay <= interval '0' OR retry_delay > interval '1 year') THEN
    RAISE EXCEPTION 'retry_delay must be positive and at most 1 year, not %', retry_delay
      USING ERRCODE = 'invalid_parameter_value';
  END IF;
  UPDATE cdp.jobs j SET
      schedule = coalesce(alter_job.schedule, j.schedule),
      enabled = coalesce(alter_job.enabled, j.enabled),
      config = coalesce(alter_job.config, j.config),
      next_run = coalesce(alter_job.next_run, j.next_run),
      max_runtime = coalesce(alter_job.max_runtime, j.max_runtime),
      max_retries = coalesce(alter_job.max_retries, j.max_retries),
      retry_delay = coalesce(alter_job.retry_delay, j.retry_delay)
   WHERE j.job_name OPERATOR(pg_catalog.=) name
  RETURNING * INTO result;
  IF NOT FOUND THEN
    RAISE EXCEPTION 'job "%" does not exist', name
      USING ERRCODE = 'undefined_object', HINT = 'The jobs are listed in cdp.job_status.';
  END IF;
  PERFORM cdp._audit(0, 'alter_job', pg_catalog.jsonb_strip_nulls(pg_catalog.jsonb_build_object(
    'job', name, 'schedule', schedule::text, 'enabled', enabled, 'config', config, 'next_run', next_run,
    'max_runtime', max_runtime::text, 'max_retries', max_retries, 'retry_delay', retry_delay::text)));
  RETURN result;
END
$$;
COMMENT ON FUNCTION cdp.alter_job(text, interval, boolean, jsonb, timestamptz, interval, integer, interval) IS
  'Changes a job''s schedule, enabled flag, config, next run, max runtime, retries or retry delay (NULL keeps the current value) and returns the job. Errors: NULL name 22004, unknown job 42704, bad value 22023 (schedule and retry_delay at most 1 year, max_runtime at most 24 days).';

-- ---------------------------------------------------------------------------
-- Monitoring.
-- ---------------------------------------------------------------------------

CREATE VIEW cdp.job_status WITH (security_invoker = true) AS
  SELECT j.job_name, j.kind, j.enabled, j.schedule, j.next_run, j.last_status, j.last_finished_at,
         j.consecutive_failures, r.message AS last_message, r.sqlstate AS last_sqlstate,
         (SELECT pg_catalog.count(*) FROM cdp.job_runs x
           WHERE x.job_name = j.job_name AND x.status = 'running') AS running,
         j.config, j.max_runtime, j.max_retries, j.retry_delay
    FROM cdp.jobs j
    LEFT JOIN cdp.job_runs r ON r.run_id = j.last_run_id;
COMMENT ON VIEW cdp.job_status IS
  'cdp: one row per job: schedule, next run, outcome of the last run (with its error), failures in a row, runs in progress.';

CREATE VIEW cdp.workers WITH (security_invoker = true) AS
  SELECT a.pid, a.backend_type, a.datname, a.application_name, a.state, a.backend_start, a.query_start,
         a.wait_event_type, a.wait_event, a.query
    FROM pg_catalog.pg_stat_activity a
   WHERE a.backend_type IN ('cdp launcher', 'cdp scheduler');
COMMENT ON VIEW cdp.workers IS
  'cdp: the background workers of the cluster (launcher and one scheduler per database with cdp) and what they are doing.';

CREATE FUNCTION cdp._workers_notify() RETURNS void
  LANGUAGE c VOLATILE
  AS 'MODULE_PATHNAME', 'cdp_workers_notify';
COMMENT ON FUNCTION cdp._workers_notify() IS
  'cdp internal: asks the launcher to start this database''s scheduler when the current transaction commits (no-op without shared_preload_libraries).';

-- Built-in jobs, first due one schedule from now: a fresh install (and every
-- test database) is left alone until then; cdp.run_maintenance() or
-- cdp.run_job() run them sooner.
INSERT INTO cdp.jobs (job_name, kind, schedule, next_run, max_runtime) VALUES
  ('partition_maintenance', 'partition_maintenance', '1 hour', pg_catalog.now() + interval '1 hour', '30 minutes'),
  ('retention', 'retention', '1 day', pg_catalog.now() + interval '1 day', '1 hour'),
  ('dedupe_cleanup', 'dedupe_cleanup', '1 hour', pg_catalog.now() + interval '1 hour', '30 minutes'),
  ('consent_expiry', 'consent_expiry', '1 hour', pg_catalog.now() + interval '1 hour', '30 minutes'),
  ('statistics', 'statistics', '1 hour', pg_catalog.now() + interval '1 hour', '30 minutes'),
  ('access_cleanup', 'access_cleanup', '1 hour', pg_catalog.now() + interval '1 hour', '30 minutes');

GRANT SELECT ON cdp.jobs, cdp.job_runs, cdp.retention_settings, cdp.retention_policies, cdp.job_status, cdp.workers
  TO cdp_admin;
GRANT EXECUTE ON FUNCTION cdp.set_retention(text, text, interval), cdp.run_job(text), cdp.run_maintenance(),
                          cdp.alter_job(text, interval, boolean, jsonb, timestamptz, interval, integer, interval)
  TO cdp_admin;
-- What the views above call on the reader's behalf.
GRANT EXECUTE ON FUNCTION cdp._retention_keep(integer, text), cdp._retention_builtin(text) TO cdp_admin;

-- pg_partman's settings for cdp.events as the jobs expect them.
SELECT cdp._sync_partman_retention();

SELECT cdp._workers_notify();
