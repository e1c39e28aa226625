/*
 * rowstore.c — messageId claims and events written straight into the heap
 * and its indexes (see rowstore.h).
 *
 * Why: an INSERT through SPI plans nothing (the plan is kept) but starts an
 * executor, sets up partition routing, opens the partition and its indexes
 * and re-reads the CHECK constraint's expression on every statement; for a
 * single message that cost more than writing its two rows (perf, bench/
 * single_ingest.sh: docs/performance.md). Here the relations are opened once
 * per call, the partition is found by a binary search of the parent's
 * bounds, and each row costs what COPY pays for it: heap_insert and one
 * insertion per index, unique checks included.
 */
#include "postgres.h"

#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_class.h"
#include "catalog/pg_type.h"
#include "executor/executor.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "nodes/makefuncs.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/rls.h"

#include "cdp.h"
#include "rowstore.h"

static const char *const event_columns[CDP_EVENT_COLUMNS] = {
	"tenant_id", "event_time", "event_id", "profile_id", "source_id", "message_id", "event_type",
	"event_name", "user_id", "anonymous_id", "group_id", "previous_id", "received_at", "properties",
	"traits", "context"
};
static const Oid event_types[CDP_EVENT_COLUMNS] = {
	INT4OID, TIMESTAMPTZOID, INT8OID, INT8OID, INT4OID, TEXTOID, TEXTOID,
	TEXTOID, TEXTOID, TEXTOID, TEXTOID, TEXTOID, TIMESTAMPTZOID, JSONBOID,
	JSONBOID, JSONBOID
};
static const char *const claim_columns[CDP_CLAIM_COLUMNS] = {
	"tenant_id", "message_id", "received_at", "event_time", "event_id"
};
static const Oid claim_types[CDP_CLAIM_COLUMNS] = {
	INT4OID, TEXTOID, TIMESTAMPTZOID, TIMESTAMPTZOID, INT8OID
};

#define EVENT_TIME_ATTNUM 2

void
cdp_rowstore_init(CdpRowStore *rs)
{
	memset(rs, 0, sizeof(CdpRowStore));
	rs->owner = CurrentResourceOwner;
	rs->cxt = CurrentMemoryContext;
}

/*
 * The columns cdp writes, in this order, of the types its values have, and
 * no others (none dropped). The INSERT coerces each value to its column's
 * type (a varchar(n), a domain, int4 for int8 would check or convert); a
 * Datum stored here is taken as is, so any other type or a typmod goes to
 * the INSERT. So does an identity column GENERATED ALWAYS, which an INSERT
 * of an explicit value refuses.
 */
static bool
LayoutIs(Relation rel, const char *const *names, const Oid *types, int n)
{
	TupleDesc	desc = RelationGetDescr(rel);

	if (desc->natts != n)
		return false;
	for (int i = 0; i < n; i++)
	{
		Form_pg_attribute att = TupleDescAttr(desc, i);

		if (att->attisdropped || strcmp(NameStr(att->attname), names[i]) != 0 ||
			att->atttypid != types[i] || att->atttypmod != -1 ||
			att->attidentity == ATTRIBUTE_IDENTITY_ALWAYS)
			return false;
	}
	return true;
}

/*
 * Would an INSERT into rel by the current user do anything beyond writing
 * the row and its index entries and checking its constraints (NOT NULL and
 * CHECK, which Insert checks with the executor's own ExecConstraints)? A
 * trigger, a policy, a generated column. (The target's privileges are
 * checked in Open: an INSERT checks them on the table it names, not on the
 * partition it routes to.)
 */
static bool
PlainTarget(Relation rel)
{
	TupleConstr *constr = RelationGetDescr(rel)->constr;

	if (rel->trigdesc != NULL)
		return false;
	if (check_enable_rls(RelationGetRelid(rel), InvalidOid, true) == RLS_ENABLED)
		return false;
	if (constr != NULL && constr->has_generated_stored)
		return false;
	return true;
}

/* May the current user INSERT into rel (as the INSERT's permission check)? */
static bool
MayInsert(Relation rel)
{
	return pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_INSERT) == ACLCHECK_OK;
}

/* Indexes whose unique checks happen at the insert, not at commit. */
static bool
IndexesImmediate(ResultRelInfo *rri)
{
	for (int i = 0; i < rri->ri_NumIndices; i++)
		if (!rri->ri_IndexRelationDescs[i]->rd_index->indimmediate)
			return false;
	return true;
}

/*
 * Opens relid and its indexes for inserts, into *rri and *slot as it goes:
 * an error part way (a deadlock or lock_timeout while waiting for a lock,
 * which the caller's subtransaction may catch and retry) leaves them
 * holding what is open, for CloseTarget. The indexes are locked before
 * ExecOpenIndices opens them, so that it cannot fail half way through (its
 * array of indexes would then hold garbage past the failed one).
 */
static void
OpenTarget(Oid relid, ResultRelInfo **rri, TupleTableSlot **slot)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	ResultRelInfo *r = makeNode(ResultRelInfo);
	List	   *indexes;
	ListCell   *lc;

	InitResultRelInfo(r, rel, 0, NULL, 0);
	*rri = r;
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
		LockRelationOid(lfirst_oid(lc), RowExclusiveLock);
	ExecOpenIndices(r, false);
	/* ExecOpenIndices holds its own lock on each; ExecCloseIndices releases it, as an INSERT does. */
	foreach(lc, indexes)
		UnlockRelationOid(lfirst_oid(lc), RowExclusiveLock);
	list_free(indexes);
	*slot = table_slot_create(rel, NULL);
}

static void
CloseTarget(ResultRelInfo *rri, TupleTableSlot *slot)
{
	if (slot != NULL)
		ExecDropSingleTupleTableSlot(slot);
	if (rri == NULL)
		return;
	ExecCloseIndices(rri);
	table_close(rri->ri_RelationDesc, NoLock);
}

static Oid
CdpRelid(const char *name)
{
	Oid			relid = get_relname_relid(name, get_namespace_oid(CDP_SCHEMA, false));

	if (!OidIsValid(relid))
		elog(ERROR, "relation cdp.%s is missing", name);
	return relid;
}

/* Runs fn(rs, arg) with the call's resource owner and memory context current. */
static void
AsCall(CdpRowStore *rs, void (*fn) (CdpRowStore *, void *), void *arg)
{
	ResourceOwner save_owner = CurrentResourceOwner;
	MemoryContext save_cxt = MemoryContextSwitchTo(rs->cxt);

	CurrentResourceOwner = rs->owner;
	PG_TRY();
	{
		fn(rs, arg);
	}
	PG_FINALLY();
	{
		CurrentResourceOwner = save_owner;
		MemoryContextSwitchTo(save_cxt);
	}
	PG_END_TRY();
}

/*
 * rs->opened first and each relation recorded as soon as it is open: if a
 * lock wait fails here (deadlock, lock_timeout), Close still closes what was
 * opened, and the rest of the call runs the INSERT (usable stays false).
 */
static void
Open(CdpRowStore *rs, void *arg)
{
	Relation	claims;

	rs->opened = true;
	rs->estate = CreateExecutorState();
	rs->events = table_open(CdpRelid("events"), RowExclusiveLock);
	OpenTarget(CdpRelid("message_ids"), &rs->claims, &rs->claim_slot);
	claims = rs->claims->ri_RelationDesc;
	/*
	 * heap_insert does not check for a read-only transaction (the INSERT's
	 * executor does): today nextval() for the event id refuses first, but
	 * the direct path must not rely on it.
	 */
	rs->usable = !XactReadOnly && rs->events->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
		LayoutIs(rs->events, event_columns, event_types, CDP_EVENT_COLUMNS) &&
		PlainTarget(rs->events) && MayInsert(rs->events) &&
		claims->rd_rel->relkind == RELKIND_RELATION &&
		LayoutIs(claims, claim_columns, claim_types, CDP_CLAIM_COLUMNS) &&
		PlainTarget(claims) && MayInsert(claims) && IndexesImmediate(rs->claims);
}

bool
cdp_rowstore_usable(CdpRowStore *rs)
{
	if (!rs->opened)
		AsCall(rs, Open, NULL);
	return rs->usable;
}

static void
Insert(CdpRowStore *rs, ResultRelInfo *rri, TupleTableSlot *slot, Datum *values, const char *nulls)
{
	Relation	rel = rri->ri_RelationDesc;
	int			natts = RelationGetDescr(rel)->natts;

	ExecClearTuple(slot);
	for (int i = 0; i < natts; i++)
	{
		slot->tts_values[i] = values[i];
		slot->tts_isnull[i] = nulls != NULL && nulls[i] == 'n';
	}
	ExecStoreVirtualTuple(slot);
	/* NOT NULL and CHECK constraints, with the INSERT's own errors (ExecInsert does the same). */
	if (RelationGetDescr(rel)->constr != NULL)
		ExecConstraints(rri, slot, rs->estate);
	table_tuple_insert(rel, slot, GetCurrentCommandId(true), 0, NULL);
	if (rri->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(rri, slot, rs->estate, false, false, NULL, NIL));
	ResetPerTupleExprContext(rs->estate);
}

void
cdp_rowstore_claim(CdpRowStore *rs, Datum *values)
{
	Assert(rs->opened && rs->usable);
	Insert(rs, rs->claims, rs->claim_slot, values, NULL);
}

typedef struct LeafOpen
{
	Oid			relid;
	CdpRowLeaf *leaf;
} LeafOpen;

static void
OpenLeaf(CdpRowStore *rs, void *arg)
{
	LeafOpen   *lo = (LeafOpen *) arg;
	CdpRowLeaf *leaf = &rs->leaves[rs->nleaves++];
	Relation	rel;

	memset(leaf, 0, sizeof(CdpRowLeaf));
	leaf->relid = lo->relid;
	lo->leaf = leaf;
	OpenTarget(lo->relid, &leaf->rri, &leaf->slot);
	rel = leaf->rri->ri_RelationDesc;
	/* Routed rows fire the partition's row triggers; its policies do not apply. */
	leaf->usable = rel->rd_rel->relkind == RELKIND_RELATION && rel->trigdesc == NULL &&
		LayoutIs(rel, event_columns, event_types, CDP_EVENT_COLUMNS) &&
		PlainTarget(rel) && IndexesImmediate(leaf->rri);
}

/*
 * The partition an event time belongs in, as the executor's tuple routing
 * finds it (get_partition_for_tuple, range strategy): the partition whose
 * upper bound follows the greatest bound <= t, else the default partition.
 * InvalidOid: no partition, or a partitioned one (the INSERT routes on).
 */
static Oid
Route(CdpRowStore *rs, TimestampTz t)
{
	PartitionKey key = RelationGetPartitionKey(rs->events);
	PartitionDesc pd = RelationGetPartitionDesc(rs->events, !IsolationUsesXactSnapshot());
	Datum		value = TimestampTzGetDatum(t);
	bool		equal;
	int			offset,
				index;

	if (key->strategy != PARTITION_STRATEGY_RANGE || key->partnatts != 1 ||
		key->partattrs[0] != EVENT_TIME_ATTNUM || pd->nparts == 0 || pd->boundinfo == NULL)
		return InvalidOid;
	offset = partition_range_datum_bsearch(key->partsupfunc, key->partcollation, pd->boundinfo, 1, &value, &equal);
	index = pd->boundinfo->indexes[offset + 1];
	if (index < 0)
		index = pd->boundinfo->default_index;
	if (index < 0 || !pd->is_leaf[index])
		return InvalidOid;
	return pd->oids[index];
}

/*
 * The open partition t belongs in; NULL: none, or one the fast path does
 * not serve (the caller runs the INSERT).
 */
static CdpRowLeaf *
Leaf(CdpRowStore *rs, TimestampTz t)
{
	Oid			relid = Route(rs, t);
	LeafOpen	lo;

	if (!OidIsValid(relid))
		return NULL;
	for (int i = 0; i < rs->nleaves; i++)
		if (rs->leaves[i].relid == relid)
			return rs->leaves[i].usable ? &rs->leaves[i] : NULL;
	if (rs->nleaves == CDP_ROWSTORE_MAX_LEAVES)
		return NULL;
	lo.relid = relid;
	lo.leaf = NULL;
	AsCall(rs, OpenLeaf, &lo);

	/*
	 * The parent's partitions may have been read before a partition was
	 * attached: ATTACH PARTITION takes a lock that does not conflict with
	 * ours on the parent, and this backend reads invalidations only when it
	 * takes a lock it did not hold. Taking the chosen partition's lock just
	 * did: route again. An attached partition takes its range from the
	 * default partition, which ATTACH keeps locked until it commits, so
	 * once we hold the default partition's lock its range cannot shrink
	 * again. The executor re-checks the default partition's constraint for
	 * the same reason (ExecFindPartition); here the INSERT runs instead and
	 * routes the event with what it now reads.
	 */
	if (Route(rs, t) != relid)
		return NULL;
	return lo.leaf->usable ? lo.leaf : NULL;
}

bool
cdp_rowstore_event(CdpRowStore *rs, Datum *values, const char *nulls)
{
	CdpRowLeaf *leaf;

	Assert(rs->opened && rs->usable);
	leaf = Leaf(rs, DatumGetTimestampTz(values[EVENT_TIME_ATTNUM - 1]));
	if (leaf == NULL)
		return false;
	Insert(rs, leaf->rri, leaf->slot, values, nulls);
	return true;
}

/* Closes whatever Open and OpenLeaf opened, also after either failed part way. */
static void
Close(CdpRowStore *rs, void *arg)
{
	for (int i = 0; i < rs->nleaves; i++)
		CloseTarget(rs->leaves[i].rri, rs->leaves[i].slot);
	CloseTarget(rs->claims, rs->claim_slot);
	if (rs->events != NULL)
		table_close(rs->events, NoLock);
	if (rs->estate != NULL)
		FreeExecutorState(rs->estate);
	rs->nleaves = 0;
	rs->claims = NULL;
	rs->claim_slot = NULL;
	rs->events = NULL;
	rs->estate = NULL;
	rs->opened = false;
	rs->usable = false;
}

void
cdp_rowstore_close(CdpRowStore *rs)
{
	if (rs->opened)
		AsCall(rs, Close, NULL);
}
