/*
 * locks.c — cdp's private heavyweight locks (see locks.h for the map).
 *
 * Why not pg_advisory_lock: any role may call it with any key, so a role
 * that holds the key of a job stops that job forever, and a table lock on a
 * shared table (cdp.suppressions, as erasure took before) stops every
 * tenant. These tags carry a fourth field SQL never uses; the lock manager
 * treats them like any advisory lock (deadlock detection, lock_timeout,
 * pg_locks, release at transaction end or, for session locks, at
 * LockReleaseSession(USER_LOCKMETHOD) and backend exit).
 *
 * Profile event locks and the inactive-profile purge (issue 3): the
 * single-message fast path stores an event for a known profile without
 * locking its row. The purge (cdp._retention_profiles) takes the profile's
 * lock exclusively before it locks the rows and checks again that the
 * person is inactive, so its DELETE sees every event stored for them. It
 * never waits for a lock ingestion holds (review 2, L1/L2): ingestion keeps
 * its share locks to its commit, in message order, across calls, so a purge
 * that waited could close a cycle with it (40P01 that ingestion's retries
 * cannot cure) and would fence off the tenant while it waited. So the purge
 * takes the tenant's profiles lock and each event lock conditionally and
 * goes on with the people it got: one whose lock is busy is being written
 * to right now, hence not inactive, and waits for the next run. So that a
 * purge of 5 000 people does not hold 5 000 locks to the end of its
 * transaction, it releases them after its DELETEs, before it commits;
 * ingestion therefore looks at the profile row with a dirty snapshot once it
 * holds its share lock: a row deleted by a transaction still in progress
 * makes it wait for that transaction (the purge waits for nobody's locks,
 * so this wait cannot close a cycle), and a row that is gone makes it
 * resolve the message again (a new profile, as for anyone unknown). An
 * event is thus stored only for a profile that exists and that no purge
 * can delete before the event commits.
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "common/hashfn.h"
#include "executor/tuptable.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "storage/latch.h"
#include "storage/lock.h"
#include "storage/proc.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/lsyscache.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "cdp.h"
#include "plans.h"
#include "locks.h"

PG_FUNCTION_INFO_V1(cdp_lock_tenant_for_erasure);
PG_FUNCTION_INFO_V1(cdp_lock_profiles_for_purge);
PG_FUNCTION_INFO_V1(cdp_unlock_profiles_after_purge);
PG_FUNCTION_INFO_V1(cdp_job_try_lock);

/* Share profile locks taken by the current transaction (see the budget). */
static int	profile_locks_taken = 0;
static LocalTransactionId profile_locks_lxid = InvalidLocalTransactionId;

static void
TenantTag(LOCKTAG *tag, int32 tenant_id, uint16 kind)
{
	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) tenant_id, 0, kind);
}

/*
 * Profile ids come from one sequence; the high half is folded into the low
 * one, so two profiles share a lock only beyond 2^32 of them per tenant,
 * and then merely wait for each other.
 */
static void
ProfileTag(LOCKTAG *tag, int32 tenant_id, int64 profile_id)
{
	uint64		id = (uint64) profile_id;

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, (uint32) tenant_id, (uint32) (id ^ (id >> 32)),
						 CDP_LOCK_PROFILE);
}

/* Two independent 32-bit hashes of the job name: a collision needs both. */
static void
JobTag(LOCKTAG *tag, text *job_name)
{
	const unsigned char *s = (const unsigned char *) VARDATA_ANY(job_name);
	int			len = VARSIZE_ANY_EXHDR(job_name);
	uint32		h1 = hash_bytes(s, len);
	uint32		h2 = (uint32) hash_bytes_extended(s, len, (uint64) CDP_LOCK_JOB);

	SET_LOCKTAG_ADVISORY(*tag, MyDatabaseId, h1, h2, CDP_LOCK_JOB);
}

/* ---------- erasure ---------- */

void
cdp_lock_tenant_for_ingest(int32 tenant_id)
{
	LOCKTAG		tag;

	TenantTag(&tag, tenant_id, CDP_LOCK_TENANT_ERASE);
	(void) LockAcquire(&tag, ShareLock, false, false);
}

/*
 * cdp._lock_tenant_for_erasure(tenant_id integer) RETURNS void: the tenant's
 * erasure lock, exclusive, to the end of the transaction. Waits for the
 * tenant's ingesting transactions in flight (as long as lock_timeout allows:
 * 55P03 after it).
 */
Datum
cdp_lock_tenant_for_erasure(PG_FUNCTION_ARGS)
{
	LOCKTAG		tag;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tenant_id must not be NULL")));
	TenantTag(&tag, PG_GETARG_INT32(0), CDP_LOCK_TENANT_ERASE);
	(void) LockAcquire(&tag, ExclusiveLock, false, false);
	PG_RETURN_VOID();
}

/* ---------- profiles: events vs the inactive-profile purge ---------- */

/*
 * cdp.profiles and its primary key, looked up once per transaction rather
 * than per message (review 2, L6): the name lookups hash and probe the
 * syscache. A relcache invalidation of either (or of everything) forgets
 * them, so a DROP and CREATE EXTENSION in the same transaction is seen.
 */
static Oid	profiles_oid = InvalidOid;
static Oid	profiles_pkey_oid = InvalidOid;
static LocalTransactionId profiles_oids_lxid = InvalidLocalTransactionId;
static bool profiles_callback_registered = false;

static void
ForgetProfilesOids(Datum arg, Oid relid)
{
	if (!OidIsValid(relid) || relid == profiles_oid || relid == profiles_pkey_oid)
		profiles_oids_lxid = InvalidLocalTransactionId;
}

static void
ProfilesOids(Oid *heap_oid, Oid *index_oid)
{
	if (profiles_oids_lxid != MyProc->lxid || profiles_oids_lxid == InvalidLocalTransactionId)
	{
		Oid			nsp = get_namespace_oid(CDP_SCHEMA, false);

		if (!profiles_callback_registered)
		{
			CacheRegisterRelcacheCallback(ForgetProfilesOids, (Datum) 0);
			profiles_callback_registered = true;
		}
		profiles_oid = get_relname_relid("profiles", nsp);
		profiles_pkey_oid = get_relname_relid("profiles_pkey", nsp);
		if (!OidIsValid(profiles_oid) || !OidIsValid(profiles_pkey_oid))
			elog(ERROR, "relation cdp.profiles or its primary key is missing");
		profiles_oids_lxid = MyProc->lxid;
	}
	*heap_oid = profiles_oid;
	*index_oid = profiles_pkey_oid;
}

typedef enum ProfileState
{
	PROFILE_ALIVE,
	PROFILE_MERGED,
	PROFILE_MERGING,			/* merged by a transaction still in progress */
	PROFILE_GONE,
	PROFILE_BEING_DELETED
} ProfileState;

/* cdp.profiles.merged_into */
#define ATTNUM_PROFILES_MERGED_INTO 3
#define ATTNUM_PROFILES_FIRST_SEEN_AT 6
#define ATTNUM_PROFILES_LAST_SEEN_AT 7

/*
 * Opens cdp.profiles and its primary key into rels, under rels->owner (or
 * the current resource owner), unless open already.
 */
static void
OpenProfileRels(CdpProfileRels *rels)
{
	Oid			heap_oid;
	Oid			index_oid;
	ResourceOwner save = CurrentResourceOwner;

	if (rels->heap != NULL)
		return;
	ProfilesOids(&heap_oid, &index_oid);
	if (rels->owner != NULL)
		CurrentResourceOwner = rels->owner;
	PG_TRY();
	{
		rels->heap = table_open(heap_oid, AccessShareLock);
		rels->index = index_open(index_oid, AccessShareLock);
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = save;
	}
	PG_END_TRY();
}

void
cdp_profile_rels_close(CdpProfileRels *rels)
{
	if (rels->index != NULL)
		index_close(rels->index, NoLock);
	if (rels->heap != NULL)
		table_close(rels->heap, NoLock);
	rels->heap = NULL;
	rels->index = NULL;
}

/* The row's first_seen_at and last_seen_at, for cdp_profile_seen_covers. */
static void
RememberSeen(CdpProfileRels *rels, int64 profile_id, TupleTableSlot *slot)
{
	bool		first_null,
				last_null;
	Datum		first = slot_getattr(slot, ATTNUM_PROFILES_FIRST_SEEN_AT, &first_null);
	Datum		last = slot_getattr(slot, ATTNUM_PROFILES_LAST_SEEN_AT, &last_null);

	if (first_null || last_null)
		return;
	rels->seen_profile = profile_id;
	rels->first_seen = DatumGetTimestampTz(first);
	rels->last_seen = DatumGetTimestampTz(last);
}

bool
cdp_profile_seen_covers(CdpProfileRels *rels, int64 profile_id, TimestampTz t)
{
	return rels->seen_profile == profile_id && profile_id != 0 &&
		cdp_seen_covers(rels->first_seen, rels->last_seen, t, t);
}

/*
 * The profile row as it is now, committed or not (SnapshotDirty, as unique
 * and foreign key checks look). Every version the index leads to is looked
 * at: one that no transaction in progress deletes or replaces means the
 * profile lives (an update in progress leaves it alive either way); if
 * that version has merged_into set, merged (committed, or by this
 * transaction) or merging (by a transaction in progress: *xid); only
 * versions being deleted or replaced: wait for *xid and look again; none
 * at all: gone.
 */
static ProfileState
ProfileNow(CdpProfileRels *rels, int32 tenant_id, int64 profile_id, TransactionId *xid)
{
	SnapshotData dirty;
	ScanKeyData skey[2];
	IndexScanDesc scan;
	TupleTableSlot *slot;
	ProfileState state = PROFILE_GONE;

	rels->seen_profile = 0;
	InitDirtySnapshot(dirty);
	ScanKeyEntryInitialize(&skey[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   rels->index->rd_indcollation[0], F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyEntryInitialize(&skey[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   rels->index->rd_indcollation[1], F_INT8EQ, Int64GetDatum(profile_id));
	slot = table_slot_create(rels->heap, NULL);
	scan = index_beginscan(rels->heap, rels->index, &dirty, 2, 0);
	index_rescan(scan, skey, 2, NULL, 0);
	while (index_getnext_slot(scan, ForwardScanDirection, slot))
	{
		/* dirty.xmax: the transaction in progress deleting or updating this version */
		if (!TransactionIdIsValid(dirty.xmax))
		{
			bool		isnull;

			state = PROFILE_ALIVE;
			/* dirty.xmin: set while the transaction that wrote the version is in progress */
			if (!TransactionIdIsValid(dirty.xmin))
				RememberSeen(rels, profile_id, slot);
			(void) slot_getattr(slot, ATTNUM_PROFILES_MERGED_INTO, &isnull);
			if (!isnull)
			{
				state = TransactionIdIsValid(dirty.xmin) ? PROFILE_MERGING : PROFILE_MERGED;
				*xid = dirty.xmin;
			}
			break;
		}
		state = PROFILE_BEING_DELETED;
		*xid = dirty.xmax;
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	return state;
}

bool
cdp_lock_profile_for_event(int32 tenant_id, int64 profile_id, CdpProfileRels *call_rels, bool canonical)
{
	LOCKTAG		tenant_tag;
	CdpProfileRels own = {0};
	CdpProfileRels *rels = call_rels ? call_rels : &own;
	bool		result = false;

	if (profile_locks_lxid != MyProc->lxid)
	{
		profile_locks_lxid = MyProc->lxid;
		profile_locks_taken = 0;
	}
	TenantTag(&tenant_tag, tenant_id, CDP_LOCK_TENANT_PROFILES);
	if (!LockHeldByMe(&tenant_tag, ShareLock))
	{
		if (profile_locks_taken >= CDP_PROFILE_LOCK_BUDGET)
			(void) LockAcquire(&tenant_tag, ShareLock, false, false);
		else
		{
			LOCKTAG		tag;

			ProfileTag(&tag, tenant_id, profile_id);
			if (LockAcquire(&tag, ShareLock, false, false) == LOCKACQUIRE_OK)
				profile_locks_taken++;
		}
	}

	OpenProfileRels(rels);
	for (;;)
	{
		TransactionId xid = InvalidTransactionId;
		ProfileState state = ProfileNow(rels, tenant_id, profile_id, &xid);

		/*
		 * A caller that needs the canonical profile waits for a merge in
		 * progress (review 3, M1): it commits (merged: resolve again) or
		 * aborts (alive). Others take the profile as it was at ingestion.
		 */
		if (state == PROFILE_BEING_DELETED || (state == PROFILE_MERGING && canonical))
		{
			XactLockTableWait(xid, NULL, NULL, XLTW_None);
			CHECK_FOR_INTERRUPTS();
			continue;
		}
		if (state == PROFILE_ALIVE || state == PROFILE_MERGING || (state == PROFILE_MERGED && !canonical))
			result = true;
		else if (state == PROFILE_GONE && IsolationUsesXactSnapshot())
		{
			/*
			 * A purge deleted the person after our snapshot was taken: in
			 * this snapshot every new attempt finds the same gone profile
			 * (review 2, L5).
			 */
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to a concurrent delete of the message's profile"),
					 errdetail("Profile %lld was deleted (inactive-profile purge) after this transaction's snapshot was taken.",
							   (long long) profile_id),
					 errhint("Retry the transaction.")));
		}
		break;
	}
	if (rels == &own)
		cdp_profile_rels_close(&own);
	return result;
}

static int
CompareInt64(const void *a, const void *b)
{
	int64		x = *(const int64 *) a;
	int64		y = *(const int64 *) b;

	return x < y ? -1 : (x > y ? 1 : 0);
}

/* The distinct non-NULL ids of an int8[] argument, sorted. */
static int64 *
SortedIds(ArrayType *arr, int *n)
{
	Datum	   *elems;
	bool	   *nulls;
	int			nelems;
	int64	   *ids;
	int			k = 0;

	if (ARR_ELEMTYPE(arr) != INT8OID)
		elog(ERROR, "expected a bigint array");
	deconstruct_array(arr, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE, &elems, &nulls, &nelems);
	ids = palloc(sizeof(int64) * Max(nelems, 1));
	for (int i = 0; i < nelems; i++)
		if (!nulls[i])
			ids[k++] = DatumGetInt64(elems[i]);
	qsort(ids, k, sizeof(int64), CompareInt64);
	*n = 0;
	for (int i = 0; i < k; i++)
		if (i == 0 || ids[i] != ids[i - 1])
			ids[(*n)++] = ids[i];
	return ids;
}

/*
 * The tenant's profiles lock for a purge slice. Busy while a transaction
 * past its budget of profile locks ingests into the tenant; such
 * transactions come and go, so look a few times, 10 ms apart, before
 * leaving the slice to the next run. Never queued behind them: a queued
 * request would make later batches of the tenant queue behind it (review
 * 2, L2), and a wait could close a cycle with ingestion waiting for this
 * transaction.
 */
static bool
TryTenantProfilesLock(LOCKTAG *tag)
{
	for (int attempt = 0;; attempt++)
	{
		if (LockAcquire(tag, RowExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
			return true;
		if (attempt >= CDP_PURGE_TENANT_TRIES)
			return false;
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

/* A lock that this transaction holds in the mode given: release it. */
static void
ReleaseIfHeld(LOCKTAG *tag, LOCKMODE mode)
{
	if (LockHeldByMe(tag, mode))
		(void) LockRelease(tag, mode, false);
}

/*
 * cdp._lock_profiles_for_purge(tenant_id integer, profile_ids bigint[])
 * RETURNS bigint[]: before the purge looks at the people again, the
 * tenant's profiles lock in ROW EXCLUSIVE mode (it conflicts only with
 * ingestion past its budget of profile locks) and each profile's event lock
 * exclusively, in profile_id order, none of them waiting (the tenant's is
 * tried a few times, 10 ms apart): returns the ids whose lock it got,
 * sorted (empty when the tenant's lock is busy); to the
 * end of the transaction or cdp._unlock_profiles_after_purge. At most
 * CDP_PURGE_SLICE ids per call, so that a purge stays a small user of the
 * shared lock table.
 */
Datum
cdp_lock_profiles_for_purge(PG_FUNCTION_ARGS)
{
	int32		tenant_id;
	int64	   *ids;
	int			n;
	Datum	   *held;
	int			nheld = 0;
	LOCKTAG		tag;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tenant_id and profile_ids must not be NULL")));
	tenant_id = PG_GETARG_INT32(0);
	ids = SortedIds(PG_GETARG_ARRAYTYPE_P(1), &n);
	if (n > CDP_PURGE_SLICE)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("cannot lock %d profiles at once for a purge", n),
				 errdetail("At most %d per call, so that a purge takes few entries of the shared lock table.",
						   CDP_PURGE_SLICE)));
	TenantTag(&tag, tenant_id, CDP_LOCK_TENANT_PROFILES);
	if (n == 0 || !TryTenantProfilesLock(&tag))
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(INT8OID));
	held = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		ProfileTag(&tag, tenant_id, ids[i]);
		if (LockAcquire(&tag, ExclusiveLock, false, true) != LOCKACQUIRE_NOT_AVAIL)
			held[nheld++] = Int64GetDatum(ids[i]);
		CHECK_FOR_INTERRUPTS();
	}
	if (nheld == 0)
	{
		/* Everybody is busy: keep nothing. */
		TenantTag(&tag, tenant_id, CDP_LOCK_TENANT_PROFILES);
		(void) LockRelease(&tag, RowExclusiveLock, false);
		PG_RETURN_ARRAYTYPE_P(construct_empty_array(INT8OID));
	}
	PG_RETURN_ARRAYTYPE_P(construct_array(held, nheld, INT8OID, sizeof(int64), FLOAT8PASSBYVAL, TYPALIGN_DOUBLE));
}

/*
 * cdp._unlock_profiles_after_purge(tenant_id integer, profile_ids bigint[])
 * RETURNS void: releases what cdp._lock_profiles_for_purge took (pass the
 * ids it returned; ids this transaction does not hold are ignored), once
 * the purge's DELETEs are done (ingestion then waits for the deleting
 * transaction through the row itself: see cdp_lock_profile_for_event).
 */
Datum
cdp_unlock_profiles_after_purge(PG_FUNCTION_ARGS)
{
	int32		tenant_id;
	int64	   *ids;
	int			n;
	LOCKTAG		tag;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tenant_id and profile_ids must not be NULL")));
	tenant_id = PG_GETARG_INT32(0);
	ids = SortedIds(PG_GETARG_ARRAYTYPE_P(1), &n);
	for (int i = 0; i < n; i++)
	{
		ProfileTag(&tag, tenant_id, ids[i]);
		ReleaseIfHeld(&tag, ExclusiveLock);
	}
	TenantTag(&tag, tenant_id, CDP_LOCK_TENANT_PROFILES);
	ReleaseIfHeld(&tag, RowExclusiveLock);
	PG_RETURN_VOID();
}

/* ---------- jobs ---------- */

/*
 * cdp._job_try_lock(job_name text, session boolean) RETURNS boolean: the
 * job's lock, exclusive, without waiting; for the session (the scheduler's
 * claim, released by LockReleaseSession(USER_LOCKMETHOD) after the run) or
 * for the transaction (cdp.run_job). False when someone runs the job.
 */
Datum
cdp_job_try_lock(PG_FUNCTION_ARGS)
{
	LOCKTAG		tag;

	if (PG_ARGISNULL(0) || PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("job_name and session must not be NULL")));
	JobTag(&tag, PG_GETARG_TEXT_PP(0));
	PG_RETURN_BOOL(LockAcquire(&tag, ExclusiveLock, PG_GETARG_BOOL(1), true) != LOCKACQUIRE_NOT_AVAIL);
}
