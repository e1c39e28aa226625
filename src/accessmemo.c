/*
 * accessmemo.c — the answers of the access helpers, computed once per
 * snapshot instead of once per reference.
 *
 * The views and policies ask the same questions many times per query: which
 * roles the querying role has (cdp._my_roles), which tenants are granted to
 * it (cdp._granted_tenants), which it sees through the views
 * (cdp._view_tenants, cdp._full_tenants) and whose PII it sees unmasked
 * (cdp._pii_tenants). Each reference is an initplan of its own, and each
 * answer is a chain of plpgsql calls and catalog queries (a recursive walk of
 * pg_auth_members among them). A reader's cdp.profile made ~20 of them:
 * two thirds of its time (docs/performance.md).
 *
 * The SQL implementations stay as they were (cdp._my_roles_query() and the
 * others, 65_access.sql); these C functions remember each answer with what
 * it depends on and compute it again when any of that changed:
 *   - the role asking (CURRENT_USER: GetUserId());
 *   - the transaction (its local id);
 *   - the active snapshot's contents (xmin, xmax, the in-progress xids and
 *     the command id): two snapshots that are equal in these see the same
 *     rows of cdp.access_grants, cdp.tenants and pg_auth_members, since any
 *     commit in between changes xmax or the in-progress list, and any write
 *     of this transaction advances the command id;
 *   - role memberships and roles as the catalog caches see them (pg_has_role
 *     reads those, not the snapshot): any invalidation of pg_authid or
 *     pg_auth_members forgets every answer.
 * Every answer is also forgotten at the end of each transaction and at the
 * abort of a subtransaction. Without an active snapshot nothing is
 * remembered.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "nodes/pg_list.h"
#include "nodes/value.h"
#include "parser/parse_func.h"
#include "storage/proc.h"
#include "utils/builtins.h"
#include "utils/datum.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/snapshot.h"
#include "utils/syscache.h"

#include "accessmemo.h"

typedef enum MemoKind
{
	MEMO_MY_ROLES,
	MEMO_GRANTED_TENANTS,
	MEMO_VIEW_TENANTS,
	MEMO_FULL_TENANTS,
	MEMO_PII_TENANTS,
	MEMO_KINDS
} MemoKind;

/* Which SQL function answers each question (all answer with an array). */
typedef struct MemoQuestion
{
	const char *function;		/* in schema cdp */
	bool		has_flag;		/* takes the boolean argument below */
	bool		flag;
} MemoQuestion;

static const MemoQuestion questions[MEMO_KINDS] = {
	[MEMO_MY_ROLES] = {"_my_roles_query", false, false},
	[MEMO_GRANTED_TENANTS] = {"_granted_tenants_query", false, false},
	[MEMO_VIEW_TENANTS] = {"_seen_tenants", true, false},
	[MEMO_FULL_TENANTS] = {"_seen_tenants", true, true},
	[MEMO_PII_TENANTS] = {"_pii_tenants_query", false, false},
};

/* One remembered answer and what it was computed under. */
typedef struct MemoEntry
{
	bool		valid;
	Oid			userid;
	LocalTransactionId lxid;
	uint64		generation;
	TransactionId xmin;
	TransactionId xmax;
	uint32		xcnt;
	TransactionId *xip;
	int32		subxcnt;
	TransactionId *subxip;
	bool		suboverflowed;
	CommandId	curcid;
	bool		isnull;
	Datum		value;
} MemoEntry;

static MemoEntry memo[MEMO_KINDS];
static MemoryContext memo_cxt = NULL;
static uint64 memo_generation = 0;

static void
ForgetAll(void)
{
	for (int k = 0; k < MEMO_KINDS; k++)
	{
		memo[k].valid = false;
		memo[k].xip = NULL;
		memo[k].subxip = NULL;
		memo[k].value = (Datum) 0;
		memo[k].isnull = true;
	}
	if (memo_cxt)
		MemoryContextReset(memo_cxt);
}

static void
RoleCacheChanged(Datum arg, int cacheid, uint32 hashvalue)
{
	memo_generation++;
	ForgetAll();
}

static void
TransactionEnded(XactEvent event, void *arg)
{
	ForgetAll();
}

static void
SubtransactionEnded(SubXactEvent event, SubTransactionId mySubid, SubTransactionId parentSubid, void *arg)
{
	if (event == SUBXACT_EVENT_ABORT_SUB)
		ForgetAll();
}

/*
 * Once per backend: the callbacks that forget, each registered once, then
 * the memory. Nothing is remembered until every callback is in place, so a
 * registration that fails (out of memory) leaves no memo that cannot forget.
 */
static void
MemoInit(void)
{
	static bool roles_watched = false;
	static bool members_watched = false;
	static bool xact_watched = false;
	static bool subxact_watched = false;

	if (memo_cxt)
		return;
	if (!roles_watched)
	{
		CacheRegisterSyscacheCallback(AUTHOID, RoleCacheChanged, (Datum) 0);
		roles_watched = true;
	}
	if (!members_watched)
	{
		CacheRegisterSyscacheCallback(AUTHMEMROLEMEM, RoleCacheChanged, (Datum) 0);
		members_watched = true;
	}
	if (!xact_watched)
	{
		RegisterXactCallback(TransactionEnded, NULL);
		xact_watched = true;
	}
	if (!subxact_watched)
	{
		RegisterSubXactCallback(SubtransactionEnded, NULL);
		subxact_watched = true;
	}
	memo_cxt = AllocSetContextCreate(TopMemoryContext, "cdp access memo", ALLOCSET_SMALL_SIZES);
	ForgetAll();
}

static bool
SameXids(const TransactionId *a, const TransactionId *b, int n)
{
	return n == 0 || memcmp(a, b, sizeof(TransactionId) * n) == 0;
}

/* Whether e was computed by this role, in this transaction, under a snapshot equal to s. */
static bool
StillValid(const MemoEntry *e, Snapshot s)
{
	return e->valid &&
		e->userid == GetUserId() &&
		e->lxid == MyProc->lxid &&
		e->generation == memo_generation &&
		e->curcid == s->curcid &&
		TransactionIdEquals(e->xmin, s->xmin) &&
		TransactionIdEquals(e->xmax, s->xmax) &&
		e->xcnt == s->xcnt &&
		e->subxcnt == s->subxcnt &&
		e->suboverflowed == s->suboverflowed &&
		SameXids(e->xip, s->xip, s->xcnt) &&
		SameXids(e->subxip, s->subxip, s->subxcnt);
}

static TransactionId *
CopyXids(const TransactionId *xids, int n)
{
	TransactionId *copy;

	if (n <= 0)
		return NULL;
	copy = MemoryContextAlloc(memo_cxt, sizeof(TransactionId) * n);
	memcpy(copy, xids, sizeof(TransactionId) * n);
	return copy;
}

/* Frees what e holds (its answer and its copy of the snapshot's xids). */
static void
Release(MemoEntry *e)
{
	e->valid = false;
	if (e->xip)
		pfree(e->xip);
	if (e->subxip)
		pfree(e->subxip);
	if (!e->isnull && DatumGetPointer(e->value) != NULL)
		pfree(DatumGetPointer(e->value));
	e->xip = NULL;
	e->subxip = NULL;
	e->value = (Datum) 0;
	e->isnull = true;
}

/* Every answer is an array (oid[] or integer[]): a varlena, passed by reference. */
static void
Remember(MemoEntry *e, Snapshot s, uint64 generation, Datum value, bool isnull)
{
	MemoryContext old;

	/* Something was forgotten while the answer was computed: keep nothing. */
	if (generation != memo_generation)
		return;
	Release(e);
	e->userid = GetUserId();
	e->lxid = MyProc->lxid;
	e->generation = generation;
	e->xmin = s->xmin;
	e->xmax = s->xmax;
	e->xcnt = s->xcnt;
	e->xip = CopyXids(s->xip, s->xcnt);
	e->subxcnt = s->subxcnt;
	e->subxip = CopyXids(s->subxip, s->subxcnt);
	e->suboverflowed = s->suboverflowed;
	e->curcid = s->curcid;
	e->isnull = isnull;
	if (!isnull)
	{
		old = MemoryContextSwitchTo(memo_cxt);
		e->value = datumCopy(value, false, -1);
		MemoryContextSwitchTo(old);
	}
	e->valid = true;
}

/* Calls the SQL function that answers question k (found by its qualified name, so search_path plays no part). */
static Datum
Ask(MemoKind k, bool *isnull)
{
	const MemoQuestion *q = &questions[k];
	Oid			argtypes[1] = {BOOLOID};
	List	   *name = list_make2(makeString("cdp"), makeString((char *) q->function));
	Oid			fn = LookupFuncName(name, q->has_flag ? 1 : 0, argtypes, false);
	LOCAL_FCINFO(fcinfo, 1);
	FmgrInfo	flinfo;
	Datum		result;

	fmgr_info(fn, &flinfo);
	InitFunctionCallInfoData(*fcinfo, &flinfo, q->has_flag ? 1 : 0, InvalidOid, NULL, NULL);
	if (q->has_flag)
	{
		fcinfo->args[0].value = BoolGetDatum(q->flag);
		fcinfo->args[0].isnull = false;
	}
	result = FunctionCallInvoke(fcinfo);
	*isnull = fcinfo->isnull;
	return result;
}

static Datum
Answer(FunctionCallInfo fcinfo, MemoKind k)
{
	MemoEntry  *e = &memo[k];
	Snapshot	s;
	uint64		generation;
	bool		isnull;
	Datum		value;

	MemoInit();
	if (!ActiveSnapshotSet())
	{
		value = Ask(k, &isnull);
		if (isnull)
			PG_RETURN_NULL();
		return value;
	}
	s = GetActiveSnapshot();
	if (!StillValid(e, s))
	{
		generation = memo_generation;
		value = Ask(k, &isnull);
		/* The call may have pushed and popped snapshots: remember it under the one it ran with. */
		Remember(e, s, generation, value, isnull);
		if (isnull)
			PG_RETURN_NULL();
		return value;
	}
	if (e->isnull)
		PG_RETURN_NULL();
	return datumCopy(e->value, false, -1);
}

PG_FUNCTION_INFO_V1(cdp_my_roles);
PG_FUNCTION_INFO_V1(cdp_granted_tenants);
PG_FUNCTION_INFO_V1(cdp_view_tenants);
PG_FUNCTION_INFO_V1(cdp_full_tenants);
PG_FUNCTION_INFO_V1(cdp_pii_tenants);

/* cdp._my_roles() RETURNS oid[] */
Datum
cdp_my_roles(PG_FUNCTION_ARGS)
{
	return Answer(fcinfo, MEMO_MY_ROLES);
}

/* cdp._granted_tenants() RETURNS integer[] */
Datum
cdp_granted_tenants(PG_FUNCTION_ARGS)
{
	return Answer(fcinfo, MEMO_GRANTED_TENANTS);
}

/* cdp._view_tenants() RETURNS integer[] */
Datum
cdp_view_tenants(PG_FUNCTION_ARGS)
{
	return Answer(fcinfo, MEMO_VIEW_TENANTS);
}

/* cdp._full_tenants() RETURNS integer[] */
Datum
cdp_full_tenants(PG_FUNCTION_ARGS)
{
	return Answer(fcinfo, MEMO_FULL_TENANTS);
}

/* cdp._pii_tenants() RETURNS integer[] */
Datum
cdp_pii_tenants(PG_FUNCTION_ARGS)
{
	return Answer(fcinfo, MEMO_PII_TENANTS);
}
