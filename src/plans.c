/*
 * plans.c — the engine's statements, prepared once per backend.
 *
 * A kept plan survives DROP EXTENSION / CREATE EXTENSION in the same
 * session: the plan cache re-analyzes it against the new tables.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "nodes/parsenodes.h"
#include "utils/datum.h"
#include "utils/lsyscache.h"
#include "utils/snapmgr.h"

#include "plans.h"

#define MAX_ARGS 18

/* See PLAN_SEEN and CDP_SEEN_GRANULARITY_MINUTES. */
#define CDP_SEEN_GRANULARITY "interval '" CppAsString2(CDP_SEEN_GRANULARITY_MINUTES) " minutes'"

typedef struct PlanDef
{
	const char *sql;
	int			nargs;
	Oid			argtypes[MAX_ARGS];
} PlanDef;

#define TEXTARR 1009
#define BYTEAARR 1001
#define INT8ARR 1016
#define TIMESTAMPTZARR 1185
#define JSONBARR 3807

static const PlanDef plan_defs[NUM_PLANS] = {
	/* One round trip sets up a call: source, tenant settings, secret, any suppressions. */
	[PLAN_AUTH] = {
		"SELECT s.source_id, s.enabled, t.settings, x.secret, s.ctid, s.xmin, t.ctid, t.xmin "
		"FROM cdp.sources s JOIN cdp.tenants t ON t.tenant_id = s.tenant_id "
		"JOIN cdp.tenant_secrets x ON x.tenant_id = s.tenant_id "
		"WHERE s.tenant_id = $1 AND s.write_key_hash = $2",
		2, {INT4OID, BYTEAOID}},
	[PLAN_IS_SUPPRESSED] = {
		"SELECT 1 FROM cdp.suppressions WHERE tenant_id = $1 AND id_type = $2 AND id_hash = $3",
		3, {INT4OID, TEXTOID, BYTEAOID}},
	[PLAN_FIND_ID] = {
		"SELECT profile_id FROM cdp.identifiers WHERE tenant_id = $1 AND id_type = $2 AND id_hash = $3",
		3, {INT4OID, TEXTOID, BYTEAOID}},
	[PLAN_LOCK_PROFILE] = {
		"SELECT merged_into, created_at, traits, trait_times FROM cdp.profiles WHERE tenant_id = $1 AND profile_id = $2 FOR UPDATE",
		2, {INT4OID, INT8OID}},
	[PLAN_NEW_PROFILE] = {
		"INSERT INTO cdp.profiles (tenant_id, first_seen_at, last_seen_at) VALUES ($1, $2, $2) "
		"RETURNING profile_id, created_at",
		2, {INT4OID, TIMESTAMPTZOID}},
	[PLAN_DELETE_PROFILE] = {
		"DELETE FROM cdp.profiles WHERE tenant_id = $1 AND profile_id = $2",
		2, {INT4OID, INT8OID}},
	[PLAN_INSERT_ID] = {
		"INSERT INTO cdp.identifiers (tenant_id, id_type, id_hash, profile_id, source_id, first_seen_at, last_seen_at) "
		"VALUES ($1, $2, $3, $4, $5, $6, $6) ON CONFLICT (tenant_id, id_type, id_hash) DO NOTHING RETURNING 1",
		6, {INT4OID, TEXTOID, BYTEAOID, INT8OID, INT4OID, TIMESTAMPTZOID}},
	[PLAN_COUNT_TYPES] = {
		"SELECT id_type, count(*) FROM cdp.identifiers WHERE tenant_id = $1 AND profile_id = $2 GROUP BY id_type",
		2, {INT4OID, INT8OID}},
	/*
	 * A merge moves the loser's identifiers to the winner and logs, in the
	 * same statement, which ones moved and the winner's traits before the
	 * merge: what an undo needs (the loser keeps its own traits).
	 */
	[PLAN_REPOINT_AND_LOG] = {
		"WITH moved AS (UPDATE cdp.identifiers SET profile_id = $2 WHERE tenant_id = $1 AND profile_id = $3 "
		"RETURNING id_type, id_hash) "
		"INSERT INTO cdp.merges (tenant_id, winner_id, loser_id, trigger_id_type, trigger_id_hash, message_id, source_id, "
		"moved_id_types, moved_id_hashes, winner_traits, winner_trait_times) "
		"SELECT $1, $2, $3, $4, $5, $6, $7, "
		"coalesce(array_agg(id_type ORDER BY id_type, id_hash), '{}'), "
		"coalesce(array_agg(id_hash ORDER BY id_type, id_hash), '{}'), $8, $9 FROM moved",
		9, {INT4OID, INT8OID, INT8OID, TEXTOID, BYTEAOID, TEXTOID, INT4OID, JSONBOID, JSONBOID}},
	[PLAN_FLATTEN] = {
		"UPDATE cdp.profiles SET merged_into = $2, updated_at = now() WHERE tenant_id = $1 AND merged_into = $3",
		3, {INT4OID, INT8OID, INT8OID}},
	[PLAN_MARK_MERGED] = {
		"UPDATE cdp.profiles SET merged_into = $2, updated_at = now() WHERE tenant_id = $1 AND profile_id = $3 "
		"RETURNING traits, trait_times, first_seen_at, last_seen_at",
		3, {INT4OID, INT8OID, INT8OID}},
	[PLAN_GET_TRAITS] = {
		"SELECT traits, trait_times FROM cdp.profiles WHERE tenant_id = $1 AND profile_id = $2",
		2, {INT4OID, INT8OID}},
	[PLAN_SET_TRAITS] = {
		"UPDATE cdp.profiles SET traits = coalesce($3, traits), trait_times = coalesce($4, trait_times), "
		"first_seen_at = least(first_seen_at, $5), last_seen_at = greatest(last_seen_at, $6), updated_at = now() "
		"WHERE tenant_id = $1 AND profile_id = $2",
		6, {INT4OID, INT8OID, JSONBOID, JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID}},
	[PLAN_REFUSED] = {
		"INSERT INTO cdp.refused_links (tenant_id, profile_id, other_profile_id, id_type, id_hash, reason, message_id, source_id) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		8, {INT4OID, INT8OID, INT8OID, TEXTOID, BYTEAOID, TEXTOID, TEXTOID, INT4OID}},
	[PLAN_AFTER_MERGE] = {
		"SELECT cdp._after_merge($1, $2, $3)",
		3, {INT4OID, INT8OID, INT8OID}},
	[PLAN_DEDUPE] = {
		"INSERT INTO cdp.message_ids AS m (tenant_id, message_id, received_at, event_time, event_id) "
		"VALUES ($1, $2, $3, $4, $5) ON CONFLICT (tenant_id, message_id) DO UPDATE "
		"SET received_at = excluded.received_at, event_time = excluded.event_time, event_id = excluded.event_id "
		"WHERE m.received_at < $6 RETURNING 1",
		6, {INT4OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID, TIMESTAMPTZOID}},
	[PLAN_DUPLICATE_OF] = {
		"SELECT event_id FROM cdp.message_ids WHERE tenant_id = $1 AND message_id = $2",
		2, {INT4OID, TEXTOID}},
	[PLAN_EVENT] = {
		"INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, "
		"event_name, user_id, anonymous_id, group_id, previous_id, received_at, properties, traits, context) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
		16, {INT4OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TIMESTAMPTZOID, JSONBOID, JSONBOID, JSONBOID}},
	[PLAN_QUARANTINE] = {
		"INSERT INTO cdp.quarantine (tenant_id, source_id, received_at, message_id, payload, reason, sqlstate, id_hashes) "
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
		8, {INT4OID, INT4OID, TIMESTAMPTZOID, TEXTOID, JSONBOID, TEXTOID, TEXTOID, BYTEAARR}},
	[PLAN_GROUP_INSERT] = {
		"INSERT INTO cdp.groups (tenant_id, group_id, traits, trait_times) VALUES ($1, $2, $3, $4) "
		"ON CONFLICT (tenant_id, group_id) DO NOTHING RETURNING 1",
		4, {INT4OID, TEXTOID, JSONBOID, JSONBOID}},
	[PLAN_GROUP_LOCK] = {
		"SELECT traits, trait_times FROM cdp.groups WHERE tenant_id = $1 AND group_id = $2 FOR UPDATE",
		2, {INT4OID, TEXTOID}},
	[PLAN_GROUP_UPDATE] = {
		"UPDATE cdp.groups SET traits = $3, trait_times = $4, updated_at = now() WHERE tenant_id = $1 AND group_id = $2",
		4, {INT4OID, TEXTOID, JSONBOID, JSONBOID}},
	[PLAN_CONSENT] = {
		"SELECT cdp._record_message_consent($1, $2, $3, $4, $5, $6)",
		6, {INT4OID, INT8OID, INT4OID, JSONBOID, TIMESTAMPTZOID, TEXTOID}},
	/*
	 * last_seen_at / first_seen_at of the profile of an accepted event.
	 * Written only when they move by more than CDP_SEEN_GRANULARITY (30
	 * minutes; inactive-profile retention counts in days), so that a steady
	 * stream of events of one person does not rewrite its row each time.
	 * The one-statement path also skips the check for a profile this
	 * backend checked within another 30 minutes (ingest.c SeenRecently):
	 * last_seen_at lags the latest event by at most an hour.
	 */
	[PLAN_SEEN] = {
		"UPDATE cdp.profiles SET last_seen_at = greatest(last_seen_at, $3), first_seen_at = least(first_seen_at, $3) "
		"WHERE tenant_id = $1 AND profile_id = $2 "
		"AND (last_seen_at < $3 - " CDP_SEEN_GRANULARITY " OR first_seen_at > $3)",
		3, {INT4OID, INT8OID, TIMESTAMPTZOID}},
	/*
	 * The same for a chunk of a batch: one row per profile (ingest.c
	 * BulkSeen), its earliest and latest time.
	 */
	[PLAN_BULK_SEEN] = {
		"UPDATE cdp.profiles p SET last_seen_at = greatest(p.last_seen_at, u.l), first_seen_at = least(p.first_seen_at, u.f) "
		/* A profile merged later in the chunk (or meanwhile): its canonical profile. */
		"FROM (SELECT coalesce(q.merged_into, q.profile_id) AS id, min(x.f) AS f, max(x.l) AS l "
		"FROM unnest($2::int8[], $3::timestamptz[], $4::timestamptz[]) AS x(id, f, l) "
		"JOIN cdp.profiles q ON q.tenant_id = $1 AND q.profile_id = x.id GROUP BY 1) u "
		"WHERE p.tenant_id = $1 AND p.profile_id = u.id "
		"AND (p.last_seen_at < u.l - " CDP_SEEN_GRANULARITY " OR p.first_seen_at > u.f)",
		4, {INT4OID, INT8ARR, TIMESTAMPTZARR, TIMESTAMPTZARR}},
	/* Batches: one statement per chunk of messages instead of one per message. */
	[PLAN_BULK_DEDUPE] = {
		"INSERT INTO cdp.message_ids AS m (tenant_id, message_id, received_at, event_time, event_id) "
		"SELECT $1, u.id, $2, u.t, u.e FROM unnest($3::text[], $4::timestamptz[], $5::int8[]) AS u(id, t, e) "
		"ON CONFLICT (tenant_id, message_id) DO UPDATE "
		"SET received_at = excluded.received_at, event_time = excluded.event_time, event_id = excluded.event_id "
		"WHERE m.received_at < $6 RETURNING m.message_id",
		6, {INT4OID, TIMESTAMPTZOID, TEXTARR, TIMESTAMPTZARR, INT8ARR, TIMESTAMPTZOID}},
	/* One message whose profile is already known: claim its messageId and store it in one statement. */
#define INSERT_EVENT_COLUMNS \
		"INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, " \
		"event_name, user_id, anonymous_id, group_id, previous_id, received_at, properties, traits, context) "
#define DEDUPE_CTE \
		"WITH d AS (INSERT INTO cdp.message_ids AS m (tenant_id, message_id, received_at, event_time, event_id) " \
		"VALUES ($1, $6, $13, $2, $3) ON CONFLICT (tenant_id, message_id) DO UPDATE " \
		"SET received_at = excluded.received_at, event_time = excluded.event_time, event_id = excluded.event_id " \
		"WHERE m.received_at < $17 RETURNING 1) "
#define EVENT_IF_CLAIMED \
		INSERT_EVENT_COLUMNS \
		"SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16 WHERE EXISTS (SELECT 1 FROM d) " \
		"RETURNING 1"
	[PLAN_DEDUPE_AND_EVENT] = {
		DEDUPE_CTE EVENT_IF_CLAIMED,
		17, {INT4OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TIMESTAMPTZOID, JSONBOID, JSONBOID, JSONBOID, TIMESTAMPTZOID}},
	/* The same, and last_seen_at in the same statement (see PLAN_SEEN; rarely writes). */
	[PLAN_DEDUPE_EVENT_SEEN] = {
		DEDUPE_CTE
		", s AS (UPDATE cdp.profiles SET last_seen_at = greatest(last_seen_at, $18), "
		"first_seen_at = least(first_seen_at, $18) WHERE tenant_id = $1 AND profile_id = $4 "
		"AND (last_seen_at < $18 - " CDP_SEEN_GRANULARITY " OR first_seen_at > $18) AND EXISTS (SELECT 1 FROM d)) "
		EVENT_IF_CLAIMED,
		18, {INT4OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TIMESTAMPTZOID, JSONBOID, JSONBOID, JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID}},
	[PLAN_BULK_ORIGINALS] = {
		"SELECT message_id, event_id FROM cdp.message_ids WHERE tenant_id = $1 AND message_id = ANY ($2::text[])",
		2, {INT4OID, TEXTARR}},
	[PLAN_BULK_EVENTS] = {
		"INSERT INTO cdp.events (tenant_id, event_time, event_id, profile_id, source_id, message_id, event_type, "
		"event_name, user_id, anonymous_id, group_id, previous_id, received_at, properties, traits, context) "
		"SELECT $1, u.t, u.e, u.p, $2, u.m, u.ty, u.n, u.uid, u.aid, u.gid, u.pid, $3, u.props, u.tr, u.ctx "
		"FROM unnest($4::timestamptz[], $5::int8[], $6::int8[], $7::text[], $8::text[], $9::text[], $10::text[], "
		"$11::text[], $12::text[], $13::text[], $14::jsonb[], $15::jsonb[], $16::jsonb[]) "
		"AS u(t, e, p, m, ty, n, uid, aid, gid, pid, props, tr, ctx)",
		16, {INT4OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZARR, INT8ARR, INT8ARR, TEXTARR, TEXTARR, TEXTARR,
		TEXTARR, TEXTARR, TEXTARR, TEXTARR, JSONBARR, JSONBARR, JSONBARR}},
	/*
	 * One message (cdp.ingest): claim its messageId with a plain INSERT and
	 * store the event in the same statement. A messageId already stored
	 * fails the statement with a unique violation on cdp.message_ids, and
	 * ingest.c runs the message again with PLAN_DEDUPE, which answers
	 * "duplicate" (or re-claims an id older than the dedupe window). Without
	 * ON CONFLICT the claim is one B-tree descent, no speculative insertion
	 * token and one WAL record fewer; duplicates (retries) are rare.
	 */
#define CLAIM_CTE \
		"WITH d AS (INSERT INTO cdp.message_ids (tenant_id, message_id, received_at, event_time, event_id) " \
		"VALUES ($1, $6, $13, $2, $3) RETURNING 1) "
#define EVENT_VALUES \
		INSERT_EVENT_COLUMNS \
		"VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)"
	[PLAN_CLAIM_AND_EVENT] = {
		CLAIM_CTE EVENT_VALUES,
		16, {INT4OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TIMESTAMPTZOID, JSONBOID, JSONBOID, JSONBOID}},
	/*
	 * The same, and last_seen_at in the same statement (see PLAN_SEEN; rarely
	 * writes). The UPDATE reads d, so the claim runs first: a claim that
	 * waits for a concurrent holder of the messageId must not hold the
	 * profile's row lock meanwhile (review 3, H1: deadlocks and convoys).
	 */
	[PLAN_CLAIM_EVENT_SEEN] = {
		CLAIM_CTE
		", s AS (UPDATE cdp.profiles SET last_seen_at = greatest(last_seen_at, $17), "
		"first_seen_at = least(first_seen_at, $17) WHERE tenant_id = $1 AND profile_id = $4 "
		"AND (last_seen_at < $17 - " CDP_SEEN_GRANULARITY " OR first_seen_at > $17) AND EXISTS (SELECT 1 FROM d)) "
		EVENT_VALUES,
		17, {INT4OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TIMESTAMPTZOID, JSONBOID, JSONBOID, JSONBOID, TIMESTAMPTZOID}},
	/*
	 * One message that resolves identity with writes or locks (identify,
	 * alias, group, consent, a new person): its messageId claimed first, with
	 * a plain INSERT, before any lock is taken (review 3, H1); a taken id
	 * fails it with a unique violation, as PLAN_CLAIM_AND_EVENT does.
	 */
	[PLAN_CLAIM] = {
		"INSERT INTO cdp.message_ids (tenant_id, message_id, received_at, event_time, event_id) "
		"VALUES ($1, $2, $3, $4, $5)",
		5, {INT4OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID}},
	/* Which of these profiles are merged, and into what (ingest.c CanonicalResults). */
	[PLAN_CANONICAL_OF] = {
		"SELECT profile_id, merged_into FROM cdp.profiles "
		"WHERE tenant_id = $1 AND profile_id = ANY ($2::int8[]) AND merged_into IS NOT NULL",
		2, {INT4OID, INT8ARR}},
};

static SPIPlanPtr plans[NUM_PLANS];

static SPIPlanPtr
GetPlan(CdpPlanId id)
{
	if (plans[id] == NULL)
	{
		const PlanDef *d = &plan_defs[id];
		Oid			argtypes[MAX_ARGS];
		SPIPlanPtr	p;

		memcpy(argtypes, d->argtypes, sizeof(argtypes));
		/* Always the generic plan: these statements gain nothing from planning per value. */
		p = SPI_prepare_cursor(d->sql, d->nargs, argtypes, CURSOR_OPT_GENERIC_PLAN);
		if (p == NULL)
			elog(ERROR, "SPI_prepare failed for \"%s\": %s", d->sql, SPI_result_code_string(SPI_result));
		if (SPI_keepplan(p) != 0)
			elog(ERROR, "SPI_keepplan failed");
		plans[id] = p;
	}
	return plans[id];
}

uint64
cdp_plan_exec(CdpPlanId id, Datum *values, const char *nulls)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc = SPI_execute_plan(GetPlan(id), values, nulls, false, 0);

	MemoryContextSwitchTo(cxt);
	if (rc < 0)
		elog(ERROR, "SPI_execute_plan failed for \"%s\": %s", plan_defs[id].sql, SPI_result_code_string(rc));
	return SPI_processed;
}

/*
 * A transaction that attaches an identifier to an existing profile locks
 * the profile's row but need not update it. At REPEATABLE READ a later
 * locker of that row is therefore not refused (40001) once the attacher has
 * committed, yet its snapshot does not show the attached identifier: counted
 * with it, a second user_id passes the limit; moved with it, the identifier
 * stays behind on the merged profile. Holding the row lock, we read and move
 * what is committed now (nobody else can attach meanwhile).
 */
uint64
cdp_plan_exec_latest(CdpPlanId id, Datum *values, const char *nulls)
{
	MemoryContext cxt = CurrentMemoryContext;
	int			rc;

	if (!IsolationUsesXactSnapshot())
		return cdp_plan_exec(id, values, nulls);
	rc = SPI_execute_snapshot(GetPlan(id), values, nulls, GetLatestSnapshot(), InvalidSnapshot, false, true, 0);
	MemoryContextSwitchTo(cxt);
	if (rc < 0)
		elog(ERROR, "SPI_execute_snapshot failed for \"%s\": %s", plan_defs[id].sql, SPI_result_code_string(rc));
	return SPI_processed;
}

Datum
cdp_plan_value(uint64 row, int col, bool *isnull)
{
	Datum		d = SPI_getbinval(SPI_tuptable->vals[row], SPI_tuptable->tupdesc, col, isnull);
	Form_pg_attribute att = TupleDescAttr(SPI_tuptable->tupdesc, col - 1);

	if (*isnull)
		return (Datum) 0;
	return datumCopy(d, att->attbyval, att->attlen);
}

void
cdp_plan_done(void)
{
	if (SPI_tuptable)
		SPI_freetuptable(SPI_tuptable);
	SPI_tuptable = NULL;
}
