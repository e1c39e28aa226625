/*
 * locks.h — cdp's heavyweight locks, in a lock space no SQL role can reach.
 *
 * Every lock here is an advisory-type LOCKTAG (USER_LOCKMETHOD: in memory,
 * no WAL, visible in pg_locks as locktype 'advisory') whose fourth field is
 * a value of cdp's own (4301..4304). The SQL functions pg_advisory_* only ever
 * build tags with 1 (one bigint key) or 2 (two integer keys) there, so no
 * role can take, hold or wait for these locks except through the functions
 * below, whose SQL wrappers only the extension owner may execute.
 *
 *   tenant erasure lock   ingestion: shared, once per call, to the end of
 *                         the transaction; cdp.erase: exclusive (per tenant)
 *   profile event lock    an event stored for a known profile without a row
 *                         lock: shared; inactive-profile purge: exclusive
 *   tenant profiles lock  the shared profile locks of one transaction past
 *                         a budget (escalation), against the purge's
 *   job lock              one run of a job at a time (scheduler, run_job)
 */
#ifndef CDP_LOCKS_H
#define CDP_LOCKS_H

#include "postgres.h"

#include "datatype/timestamp.h"

#include "utils/relcache.h"
#include "utils/resowner.h"

/*
 * The fourth field of cdp's lock tags, shown as pg_locks.objsubid (a
 * smallint: keep them below 32768). pg_locks.classid is the tenant id, or
 * the first hash of the job name.
 */
#define CDP_LOCK_TENANT_ERASE		4301
#define CDP_LOCK_PROFILE			4302
#define CDP_LOCK_TENANT_PROFILES	4303
#define CDP_LOCK_JOB				4304

/*
 * Shared profile locks one transaction takes before it switches to one
 * shared lock on all of the tenant's profiles. Advisory locks never use the
 * fast-path slots: each takes an entry of the shared lock table, which holds
 * max_locks_per_transaction (64 by default) per backend for the whole
 * cluster; a transaction should stay well under that. The tenant lock
 * conflicts only with a purge, which then skips the tenant until its next
 * run (see docs/operations.md, "Locks").
 */
#define CDP_PROFILE_LOCK_BUDGET		32

/*
 * People one purge slice locks at once (cdp._retention_profiles): at most
 * this many event locks plus the tenant's profiles lock.
 */
#define CDP_PURGE_SLICE				256

/* Looks again at a busy tenant's profiles lock, 10 ms apart, per slice. */
#define CDP_PURGE_TENANT_TRIES		10

/*
 * Ingestion: the tenant's erasure lock in share mode, held to the end of the
 * transaction. Waits while an erasure of the tenant runs; call it once per
 * ingest call, before reading cdp.suppressions.
 */
extern void cdp_lock_tenant_for_ingest(int32 tenant_id);

/*
 * cdp.profiles and its primary key, opened by the first look at a profile
 * of an ingest call and kept open to its end (under the call's resource
 * owner, so that its subtransactions do not release them), instead of
 * opened and closed per message. All zero: not open.
 */
typedef struct CdpProfileRels
{
	Relation	heap;
	Relation	index;
	ResourceOwner owner;
	/*
	 * first_seen_at and last_seen_at of the profile the last look found
	 * alive (seen_profile; 0: none, or a version written by a transaction
	 * still in progress, which may roll back).
	 */
	int64		seen_profile;
	TimestampTz first_seen;
	TimestampTz last_seen;
} CdpProfileRels;

extern void cdp_profile_rels_close(CdpProfileRels *rels);

/*
 * Does the profile's row, as the last look at it found it (see
 * CdpProfileRels), already cover an event at t (cdp_seen_covers), so that
 * the last_seen_at update would write nothing? (Both times only ever move
 * outwards, so what a committed version covers stays covered.)
 */
extern bool cdp_profile_seen_covers(CdpProfileRels *rels, int64 profile_id, TimestampTz t);

/*
 * Before storing an event for a known profile without locking its row: the
 * profile's event lock in share mode (to the end of the transaction), then
 * a look at the row as it is now (committed or not). Waits for a purge that
 * is deleting it. False when the profile is gone: resolve the message again
 * (under REPEATABLE READ or SERIALIZABLE: 40001 at once, since no retry in
 * the same snapshot can succeed). With canonical, also false when a merge
 * into another profile has committed (the caller's identifier lookup was
 * older than that merge: it resolves again). rels: the call's open
 * relations (NULL: opened and closed here).
 */
extern bool cdp_lock_profile_for_event(int32 tenant_id, int64 profile_id, CdpProfileRels *rels, bool canonical);

#endif							/* CDP_LOCKS_H */
