-- Retention of rejected messages, audit entries and job runs, dedupe-window
-- cleanup and inactive profiles, each by its tenant's horizon.
SELECT cdp.create_tenant('ret-k-short') AS t_short \gset
SELECT cdp.create_tenant('ret-k-default') AS t_def \gset
SELECT cdp.create_tenant('ret-k-dedupe', '{"dedupe_window": "1 day"}') AS t_dd \gset

-- Rejected (cdp.quarantine): 30 days by default, 1 day for the short tenant.
SELECT cdp.set_retention('ret-k-short', 'rejected', '1 day');
INSERT INTO cdp.quarantine (tenant_id, received_at, reason, sqlstate, payload)
SELECT t, now() - a, 'test', '22023', jsonb_build_object('age', a::text)
  FROM unnest(ARRAY[:t_short, :t_def]) t, unnest(ARRAY[interval '1 hour', '2 days', '40 days']) a;

-- Audit: 90 days by default, 5 days for the short tenant.
SELECT cdp.set_retention('ret-k-short', 'audit', '5 days');
INSERT INTO cdp.audit_log (tenant_id, at, action, args)
SELECT t, now() - a, 'test_old_entry', jsonb_build_object('age', a::text)
  FROM unnest(ARRAY[:t_short, :t_def]) t, unnest(ARRAY[interval '1 hour', '10 days', '100 days']) a;

-- Job runs: 90 days (not per tenant).
INSERT INTO cdp.job_runs (job_name, runner, status, started_at, finished_at)
VALUES ('test_old_run', 'session', 'succeeded', now() - interval '100 days', now() - interval '100 days'),
       ('test_recent_run', 'session', 'succeeded', now() - interval '10 days', now() - interval '10 days');

-- Inactive profiles: 7 years by default, 30 days for the short tenant. A
-- person counts as active if any of its merged profiles was seen recently.
SELECT cdp.set_retention('ret-k-short', 'inactive_profiles', '30 days');
INSERT INTO cdp.profiles (tenant_id, last_seen_at, traits) VALUES
  (:t_short, now() - interval '60 days', '{"n": "inactive"}'),
  (:t_short, now() - interval '1 day', '{"n": "active"}'),
  (:t_short, now() - interval '60 days', '{"n": "inactive, merged one active"}'),
  (:t_def, now() - interval '60 days', '{"n": "inactive, default horizon"}');
SELECT profile_id AS p_old FROM cdp.profiles WHERE tenant_id = :t_short AND traits->>'n' = 'inactive' \gset
SELECT profile_id AS p_kept FROM cdp.profiles WHERE tenant_id = :t_short AND traits->>'n' = 'inactive, merged one active' \gset
INSERT INTO cdp.profiles (tenant_id, last_seen_at, merged_into, traits) VALUES
  (:t_short, now() - interval '90 days', :p_old, '{"n": "merged into inactive"}'),
  (:t_short, now() - interval '1 day', :p_kept, '{"n": "merged, active"}');
INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id)
SELECT :t_short, 'user_id', sha256(convert_to(p.traits->>'n', 'UTF8')), p.profile_id
  FROM cdp.profiles p WHERE p.tenant_id = :t_short;
INSERT INTO cdp.events (tenant_id, event_time, profile_id, source_id, message_id, event_type)
SELECT :t_short, now() - interval '60 days', p.profile_id, 1, 'ev-' || p.profile_id, 'track'
  FROM cdp.profiles p WHERE p.tenant_id = :t_short;

BEGIN;
SELECT job_name, status, message, sqlstate FROM cdp.run_job('retention');
-- The audit purge switch is off again before the job returns: the log is
-- still append-only for the rest of this transaction.
SELECT current_setting('cdp.audit_purge') AS audit_purge;
SELECT cdp_test.error_of($$DELETE FROM cdp.audit_log WHERE action = 'test_old_entry'$$);
COMMIT;

SELECT CASE tenant_id WHEN :t_short THEN 'short' ELSE 'default' END AS tenant, payload->>'age' AS rejected_kept
  FROM cdp.quarantine WHERE tenant_id IN (:t_short, :t_def) ORDER BY 1 DESC, received_at DESC;
SELECT CASE tenant_id WHEN :t_short THEN 'short' ELSE 'default' END AS tenant, args->>'age' AS audit_kept
  FROM cdp.audit_log WHERE tenant_id IN (:t_short, :t_def) AND action = 'test_old_entry' ORDER BY 1 DESC, at DESC;
SELECT job_name AS job_run_kept FROM cdp.job_runs WHERE job_name LIKE 'test\_%' ORDER BY 1;
SELECT CASE tenant_id WHEN :t_short THEN 'short' ELSE 'default' END AS tenant, traits->>'n' AS profile_kept
  FROM cdp.profiles WHERE tenant_id IN (:t_short, :t_def) ORDER BY 1 DESC, 2;
-- What the purged person owned went with it; nothing was suppressed.
SELECT count(*) AS identifiers_left FROM cdp.identifiers WHERE tenant_id = :t_short;
SELECT count(*) AS events_left FROM cdp.events WHERE tenant_id = :t_short;
SELECT count(*) AS owned_by_purged FROM cdp.identifiers
 WHERE tenant_id = :t_short AND profile_id NOT IN (SELECT profile_id FROM cdp.profiles WHERE tenant_id = :t_short);
SELECT count(*) AS suppressed FROM cdp.suppressions WHERE tenant_id = :t_short;
SELECT action, args->'profiles' AS profiles FROM cdp.audit_log WHERE tenant_id = :t_short AND action LIKE 'retention%';

-- Dedupe window: message ids older than the tenant's window are forgotten.
INSERT INTO cdp.message_ids (tenant_id, message_id, received_at)
SELECT t, 'm-' || a::text, now() - a
  FROM unnest(ARRAY[:t_dd, :t_def]) t, unnest(ARRAY[interval '1 hour', '2 days', '8 days']) a;
SELECT job_name, status FROM cdp.run_job('dedupe_cleanup');
SELECT CASE tenant_id WHEN :t_dd THEN '1 day window' ELSE 'default window' END AS tenant, message_id AS kept
  FROM cdp.message_ids WHERE tenant_id IN (:t_dd, :t_def) ORDER BY 1, received_at DESC;
