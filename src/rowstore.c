/*
 * rowstore.c — messageId claims, events, new identifiers and last_seen_at
 * written straight into the heap and its indexes (see rowstore.h).
 *
 * Why: an INSERT through SPI plans nothing (the plan is kept) but starts an
 * executor, sets up partition routing, opens the partition and its indexes
 * and re-reads the CHECK constraint's expression on every statement; for a
 * single message that cost more than writing its two rows (perf, bench/
 * single_ingest.sh: docs/performance.md). Here the relations are opened once
 * per call, the partition is found by a binary search of the parent's
 * bounds, and each row costs what COPY pays for it: heap_insert and one
 * insertion per index, unique checks included. And no plan is made for
 * them: a generic plan made before the tables have statistics can be
 * disastrous for a statement over many rows (PLAN_BULK_SEEN hashed every
 * profile of the tenant per chunk).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
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
#include "optimizer/optimizer.h"
#include "partitioning/partbounds.h"
#include "partitioning/partdesc.h"
#include "storage/lmgr.h"
#include "utils/acl.h"
#include "utils/fmgroids.h"
#include "utils/inval.h"
#include "utils/memutils.h"
#include "utils/syscache.h"
#include "utils/lsyscache.h"
#include "utils/partcache.h"
#include "utils/rel.h"
#include "utils/rls.h"
#include "utils/snapmgr.h"

#include "cdp.h"
#include "plans.h"
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
static const char *const identifier_columns[CDP_IDENTIFIER_COLUMNS] = {
	"tenant_id", "id_type", "id_hash", "profile_id", "source_id", "first_seen_at", "last_seen_at"
};
static const Oid identifier_types[CDP_IDENTIFIER_COLUMNS] = {
	INT4OID, TEXTOID, BYTEAOID, INT8OID, INT4OID, TIMESTAMPTZOID, TIMESTAMPTZOID
};
#define PROFILE_COLUMNS 9
static const char *const profile_columns[PROFILE_COLUMNS] = {
	"tenant_id", "profile_id", "merged_into", "traits", "trait_times", "first_seen_at", "last_seen_at",
	"created_at", "updated_at"
};
static const Oid profile_types[PROFILE_COLUMNS] = {
	INT4OID, INT8OID, INT8OID, JSONBOID, JSONBOID, TIMESTAMPTZOID, TIMESTAMPTZOID, TIMESTAMPTZOID,
	TIMESTAMPTZOID
};
#define PROFILE_MERGED_INTO 3
#define PROFILE_FIRST_SEEN 6
#define PROFILE_LAST_SEEN 7

#define EVENT_TIME_ATTNUM 2

static void UseCachedChecks(ResultRelInfo *rri, EState *estate);

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
 * Is index's key exactly these columns, in this order? The scans and the
 * ON CONFLICT arbiter here are built for the keys cdp created; a key
 * changed by a DBA goes to the statement.
 */
static bool
IndexKeyIs(Relation index, const AttrNumber *attnums, int n)
{
	Form_pg_index ix = index->rd_index;

	if (ix->indnkeyatts != n)
		return false;
	for (int i = 0; i < n; i++)
		if (ix->indkey.values[i] != attnums[i])
			return false;
	return true;
}

/* A plain table with these columns that an INSERT by the current user would only write to. */
static bool
PlainTable(ResultRelInfo *rri, const char *const *columns, const Oid *types, int ncolumns)
{
	Relation	rel = rri->ri_RelationDesc;

	return rel->rd_rel->relkind == RELKIND_RELATION && LayoutIs(rel, columns, types, ncolumns) &&
		PlainTarget(rel) && MayInsert(rel) && IndexesImmediate(rri);
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
OpenTarget(Oid relid, EState *estate, ResultRelInfo **rri, TupleTableSlot **slot, bool speculative)
{
	Relation	rel = table_open(relid, RowExclusiveLock);
	ResultRelInfo *r = makeNode(ResultRelInfo);
	List	   *indexes;
	ListCell   *lc;

	InitResultRelInfo(r, rel, 0, NULL, 0);
	*rri = r;
	UseCachedChecks(r, estate);
	indexes = RelationGetIndexList(rel);
	foreach(lc, indexes)
		LockRelationOid(lfirst_oid(lc), RowExclusiveLock);
	ExecOpenIndices(r, speculative);
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
	rs->opened = true;
	rs->estate = CreateExecutorState();
	rs->events = table_open(CdpRelid("events"), RowExclusiveLock);
	OpenTarget(CdpRelid("message_ids"), rs->estate, &rs->claims, &rs->claim_slot, false);
	/*
	 * heap_insert does not check for a read-only transaction (the INSERT's
	 * executor does): today nextval() for the event id refuses first, but
	 * the direct path must not rely on it.
	 */
	rs->usable = !XactReadOnly && rs->events->rd_rel->relkind == RELKIND_PARTITIONED_TABLE &&
		LayoutIs(rs->events, event_columns, event_types, CDP_EVENT_COLUMNS) &&
		PlainTarget(rs->events) && MayInsert(rs->events) &&
		PlainTable(rs->claims, claim_columns, claim_types, CDP_CLAIM_COLUMNS);
}

bool
cdp_rowstore_usable(CdpRowStore *rs)
{
	if (!rs->opened)
		AsCall(rs, Open, NULL);
	return rs->usable;
}

/*
 * The planned CHECK constraints of a relation, kept across calls: the
 * executor re-reads each constraint's expression from its text and plans it
 * (eval_const_expressions: inlining, folding, catalog lookups) for every
 * statement (ExecRelCheck, once per ResultRelInfo), which cost about as
 * much as writing the event row (perf, bench/single_ingest.sh).
 *
 * Only the planned expression trees are kept, never ExprStates: an
 * ExprState keeps state of its own between evaluations that lives in the
 * EState it ran in, freed at the end of the call (a whole-row Var's tuple
 * descriptor, ExecEvalWholeRowVar; a hashed IN list), and it bakes in at
 * initialization what can change without an invalidation of the relation
 * (a domain's constraints, the EXECUTE privilege of the functions it
 * calls). So each ResultRelInfo of ours gets its own copy of the trees,
 * initialized in the call's EState as ExecRelCheck would, into
 * ri_ConstraintExprs; nothing it holds points into the cache, which may
 * then drop an entry at any time.
 *
 * An entry is valid until an invalidation of its relation (any change to
 * its constraints sends one), of any relation (InvalidOid: a cache reset),
 * or of a function or type (an inlined SQL function's body, a domain
 * without constraints planned away as a relabeling: what makes the
 * plancache replan) arrives, also while the entry is being built; invalid
 * entries are dropped at the next open of any relation with CHECK
 * constraints, those of dropped relations too.
 */
typedef struct CheckCacheEntry
{
	Oid			relid;
	bool		valid;			/* no invalidation since the build began */
	bool		building;		/* being built: not to be dropped */
	int			ncheck;
	MemoryContext cxt;			/* owns checks and their trees */
	Expr	  **checks;			/* planned, in constr->check's order */
} CheckCacheEntry;

static HTAB *check_cache = NULL;
static MemoryContext check_cxt = NULL;

static void
ChecksStale(Datum arg, Oid relid)
{
	HASH_SEQ_STATUS status;
	CheckCacheEntry *e;

	if (check_cache == NULL)
		return;
	hash_seq_init(&status, check_cache);
	while ((e = hash_seq_search(&status)) != NULL)
		if (!OidIsValid(relid) || e->relid == relid)
			e->valid = false;
}

static void
CatalogStale(Datum arg, int cacheid, uint32 hashvalue)
{
	ChecksStale(arg, InvalidOid);
}

/* Drops the invalid entries (none is in use: see above) but one being built. */
static void
DropStaleChecks(void)
{
	HASH_SEQ_STATUS status;
	CheckCacheEntry *e;

	hash_seq_init(&status, check_cache);
	while ((e = hash_seq_search(&status)) != NULL)
		if (!e->valid && !e->building)
		{
			if (e->cxt != NULL)
				MemoryContextDelete(e->cxt);
			hash_search(check_cache, &e->relid, HASH_REMOVE, NULL);
		}
}

/* Plans relation's CHECK constraints into a new entry's context. */
static void
BuildChecks(CheckCacheEntry *e, TupleConstr *constr)
{
	e->building = true;
	e->valid = true;
	PG_TRY();
	{
		MemoryContext old;
		Expr	  **checks;

		e->cxt = AllocSetContextCreate(check_cxt, "cdp check constraints of a relation", ALLOCSET_SMALL_SIZES);
		old = MemoryContextSwitchTo(e->cxt);
		checks = palloc(sizeof(Expr *) * constr->num_check);
		for (int i = 0; i < constr->num_check; i++)
			checks[i] = expression_planner((Expr *) stringToNode(constr->check[i].ccbin));
		MemoryContextSwitchTo(old);
		e->checks = checks;
		e->ncheck = constr->num_check;
	}
	PG_CATCH();
	{
		/* Dropped, its context with it, at the next open. */
		e->valid = false;
		e->building = false;
		PG_RE_THROW();
	}
	PG_END_TRY();
	e->building = false;
}

/*
 * Sets rri's ri_ConstraintExprs, in estate (the call's), from the cache,
 * planning the constraints if need be; leaves them to ExecConstraints when
 * the cache cannot serve (the relation's entry is being built by an outer
 * call, or disagrees with the relation).
 */
static void
UseCachedChecks(ResultRelInfo *rri, EState *estate)
{
	Relation	rel = rri->ri_RelationDesc;
	TupleConstr *constr = RelationGetDescr(rel)->constr;
	Oid			relid = RelationGetRelid(rel);
	CheckCacheEntry *e;
	bool		found;
	MemoryContext old;
	ExprState **exprs;

	if (constr == NULL || constr->num_check == 0)
		return;
	if (check_cache == NULL)
	{
		HASHCTL		ctl;

		check_cxt = AllocSetContextCreate(TopMemoryContext, "cdp check constraints", ALLOCSET_SMALL_SIZES);
		ctl.keysize = sizeof(Oid);
		ctl.entrysize = sizeof(CheckCacheEntry);
		ctl.hcxt = check_cxt;
		check_cache = hash_create("cdp check constraints", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
		CacheRegisterRelcacheCallback(ChecksStale, (Datum) 0);
		CacheRegisterSyscacheCallback(PROCOID, CatalogStale, (Datum) 0);
		CacheRegisterSyscacheCallback(TYPEOID, CatalogStale, (Datum) 0);
	}
	DropStaleChecks();
	e = hash_search(check_cache, &relid, HASH_ENTER, &found);
	if (!found)
	{
		e->valid = false;
		e->building = false;
		e->ncheck = 0;
		e->cxt = NULL;
		e->checks = NULL;
		BuildChecks(e, constr);
	}
	if (e->building || e->ncheck != constr->num_check)
		return;
	/* As ExecRelCheck prepares them, from copies. */
	old = MemoryContextSwitchTo(estate->es_query_cxt);
	exprs = palloc(sizeof(ExprState *) * e->ncheck);
	for (int i = 0; i < e->ncheck; i++)
		exprs[i] = ExecInitExpr(copyObject(e->checks[i]), NULL);
	MemoryContextSwitchTo(old);
	rri->ri_ConstraintExprs = exprs;
}

/* The row to write, in slot, checked as an INSERT checks it: NOT NULL and CHECK constraints. */
static void
Fill(CdpRowStore *rs, ResultRelInfo *rri, TupleTableSlot *slot, Datum *values, const char *nulls)
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
	/* With the INSERT's own errors (ExecInsert does the same). */
	if (RelationGetDescr(rel)->constr != NULL)
		ExecConstraints(rri, slot, rs->estate);
}

/*
 * After each write, as after each statement: what this call reads next
 * (the identifier probes' fresh snapshots, a unique check) sees it.
 */
static void
Written(CdpRowStore *rs)
{
	ResetPerTupleExprContext(rs->estate);
	CommandCounterIncrement();
}

static void
Insert(CdpRowStore *rs, ResultRelInfo *rri, TupleTableSlot *slot, Datum *values, const char *nulls)
{
	Relation	rel = rri->ri_RelationDesc;

	Fill(rs, rri, slot, values, nulls);
	table_tuple_insert(rel, slot, GetCurrentCommandId(true), 0, NULL);
	if (rri->ri_NumIndices > 0)
		list_free(ExecInsertIndexTuples(rri, slot, rs->estate, false, false, NULL, NIL));
	Written(rs);
}

void
cdp_rowstore_claim(CdpRowStore *rs, Datum *values)
{
	Assert(rs->opened && rs->usable);
	Insert(rs, rs->claims, rs->claim_slot, values, NULL);
}

/*
 * The arbiters ON CONFLICT (tenant_id, id_type, id_hash) infers
 * (infer_arbiter_indexes): every valid unique index, not partial, without
 * expressions, on exactly those columns, in any order. NIL unless the
 * primary key is one of them.
 */
static List *
IdentifierArbiters(ResultRelInfo *rri)
{
	static const AttrNumber key[3] = {1, 2, 3};
	Oid			pkey = RelationGetPrimaryKeyIndex(rri->ri_RelationDesc);
	List	   *arbiters = NIL;
	bool		has_pkey = false;

	for (int i = 0; i < rri->ri_NumIndices; i++)
	{
		Relation	index = rri->ri_IndexRelationDescs[i];
		Form_pg_index ix = index->rd_index;
		Bitmapset  *cols = NULL;

		if (!ix->indisunique || !ix->indisvalid || ix->indnkeyatts != 3 ||
			RelationGetIndexPredicate(index) != NIL)
			continue;
		for (int k = 0; k < 3; k++)
			cols = bms_add_member(cols, ix->indkey.values[k]);
		if (bms_num_members(cols) == 3 && bms_is_member(1, cols) && bms_is_member(2, cols) && bms_is_member(3, cols))
		{
			arbiters = lappend_oid(arbiters, RelationGetRelid(index));
			if (RelationGetRelid(index) == pkey && IndexKeyIs(index, key, 3))
				has_pkey = true;
		}
		bms_free(cols);
	}
	if (!has_pkey)
	{
		list_free(arbiters);
		return NIL;
	}
	return arbiters;
}

/* cdp.identifiers: opened by the first new identifier of the call (most calls have none). */
static void
OpenIdentifiers(CdpRowStore *rs, void *arg)
{
	Relation	rel;

	OpenTarget(CdpRelid("identifiers"), rs->estate, &rs->idents, &rs->ident_slot, true);
	rel = rs->idents->ri_RelationDesc;
	rs->conflict_slot = table_slot_create(rel, NULL);
	rs->ident_arbiters = IdentifierArbiters(rs->idents);
	rs->idents_usable = PlainTable(rs->idents, identifier_columns, identifier_types, CDP_IDENTIFIER_COLUMNS) &&
		rs->ident_arbiters != NIL;
}

/*
 * ON CONFLICT DO NOTHING found a committed (or own) conflicting row: under
 * REPEATABLE READ and SERIALIZABLE it must be visible to the transaction's
 * snapshot, else 40001, as the executor checks (ExecCheckTIDVisible).
 */
static void
CheckConflictVisible(CdpRowStore *rs, Relation rel, ItemPointer tid)
{
	TupleTableSlot *slot = rs->conflict_slot;

	if (!IsolationUsesXactSnapshot())
		return;
	if (!table_tuple_fetch_row_version(rel, tid, SnapshotAny, slot))
		elog(ERROR, "failed to fetch conflicting tuple for ON CONFLICT");
	/* A copy, no buffer pin: the error below then leaks nothing. */
	ExecMaterializeSlot(slot);
	if (!table_tuple_satisfies_snapshot(rel, slot, GetActiveSnapshot()))
	{
		bool		isnull;
		TransactionId xmin = DatumGetTransactionId(slot_getsysattr(slot, MinTransactionIdAttributeNumber, &isnull));

		/* A row this transaction inserted is no conflict with itself. */
		if (!TransactionIdIsCurrentTransactionId(xmin))
			ereport(ERROR,
					(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
					 errmsg("could not serialize access due to concurrent update")));
	}
	ExecClearTuple(slot);
}

bool
cdp_rowstore_identifier(CdpRowStore *rs, Datum *values, bool *inserted)
{
	ResultRelInfo *rri;
	Relation	rel;
	TupleTableSlot *slot;

	if (!cdp_rowstore_usable(rs))
		return false;
	if (rs->idents == NULL)
		AsCall(rs, OpenIdentifiers, NULL);
	if (!rs->idents_usable)
		return false;
	rri = rs->idents;
	rel = rri->ri_RelationDesc;
	slot = rs->ident_slot;
	for (;;)
	{
		ItemPointerData conflict;
		bool		spec_conflict = false;
		uint32		token;

		CHECK_FOR_INTERRUPTS();
		Fill(rs, rri, slot, values, NULL);
		/* Waits for a transaction in progress that inserted the key. */
		if (!ExecCheckIndexConstraints(rri, slot, rs->estate, &conflict, rs->ident_arbiters))
		{
			CheckConflictVisible(rs, rel, &conflict);
			Written(rs);
			*inserted = false;
			return true;
		}
		/* Others inserting the key wait for our decision, not for our transaction. */
		token = SpeculativeInsertionLockAcquire(GetCurrentTransactionId());
		table_tuple_insert_speculative(rel, slot, GetCurrentCommandId(true), 0, NULL, token);
		list_free(ExecInsertIndexTuples(rri, slot, rs->estate, false, true, &spec_conflict, rs->ident_arbiters));
		table_tuple_complete_speculative(rel, slot, token, !spec_conflict);
		SpeculativeInsertionLockRelease(GetCurrentTransactionId());
		Written(rs);
		if (!spec_conflict)
		{
			*inserted = true;
			return true;
		}
		/* Someone inserted the key meanwhile: the pre-check finds it now. */
	}
}

/* cdp.profiles: opened by the first last_seen_at update of the call (see OpenTarget on failures). */
static void
OpenProfiles(CdpRowStore *rs, void *arg)
{
	static const AttrNumber profile_key[2] = {1, 2};	/* FetchProfile's scan keys */
	Relation	rel;
	Oid			pkey;

	OpenTarget(CdpRelid("profiles"), rs->estate, &rs->profiles, &rs->profile_new, false);
	rel = rs->profiles->ri_RelationDesc;
	rs->profile_old = table_slot_create(rel, NULL);
	pkey = RelationGetPrimaryKeyIndex(rel);
	for (int i = 0; i < rs->profiles->ri_NumIndices; i++)
		if (RelationGetRelid(rs->profiles->ri_IndexRelationDescs[i]) == pkey &&
			IndexKeyIs(rs->profiles->ri_IndexRelationDescs[i], profile_key, 2))
			rs->profiles_pkey = rs->profiles->ri_IndexRelationDescs[i];
	/*
	 * TrySeen reads both times as they are: a NULL one (its NOT NULL dropped)
	 * is left to the UPDATE, whose greatest() and least() skip it.
	 */
	rs->profiles_usable = rs->profiles_pkey != NULL && rel->rd_rel->relkind == RELKIND_RELATION &&
		LayoutIs(rel, profile_columns, profile_types, PROFILE_COLUMNS) &&
		TupleDescAttr(RelationGetDescr(rel), PROFILE_FIRST_SEEN - 1)->attnotnull &&
		TupleDescAttr(RelationGetDescr(rel), PROFILE_LAST_SEEN - 1)->attnotnull &&
		PlainTarget(rel) && pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_UPDATE) == ACLCHECK_OK &&
		/* the UPDATE also reads the row (its WHERE and SET): SELECT privilege */
		pg_class_aclcheck(RelationGetRelid(rel), GetUserId(), ACL_SELECT) == ACLCHECK_OK &&
		IndexesImmediate(rs->profiles);
}

/* The version of the profile's row visible to snapshot, into slot; false if none. */
static bool
FetchProfile(CdpRowStore *rs, Snapshot snapshot, int32 tenant_id, int64 profile_id, TupleTableSlot *slot)
{
	Relation	index = rs->profiles_pkey;
	ScanKeyData skey[2];
	IndexScanDesc scan;
	bool		found;

	/*
	 * Not found leaves the slot as it was: a row of an earlier look that
	 * ended in an error (a CHECK violation rejecting that message) must not
	 * be taken for this profile's.
	 */
	ExecClearTuple(slot);
	ScanKeyEntryInitialize(&skey[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyEntryInitialize(&skey[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_INT8EQ, Int64GetDatum(profile_id));
	scan = index_beginscan(rs->profiles->ri_RelationDesc, index, snapshot, 2, 0);
	index_rescan(scan, skey, 2, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	index_endscan(scan);
	/* A copy, no buffer pin: an error before the slot is cleared then leaks nothing. */
	if (found)
		ExecMaterializeSlot(slot);
	return found;
}

/*
 * One try: finds the profile (one hop along merged_into) in a snapshot that
 * sees what committed and what this transaction wrote, and updates it if
 * its times must move. TM_Ok also when nothing was to be done.
 */
static TM_Result
TrySeen(CdpRowStore *rs, int32 tenant_id, int64 profile_id, TimestampTz first, TimestampTz last)
{
	Relation	rel = rs->profiles->ri_RelationDesc;
	TupleTableSlot *old = rs->profile_old;
	TupleTableSlot *new = rs->profile_new;
	Snapshot	snapshot = RegisterSnapshot(GetLatestSnapshot());
	TimestampTz old_first,
				old_last;
	bool		isnull;
	TM_Result	result = TM_Ok;
	TM_FailureData tmfd;
	LockTupleMode lockmode;
	bool		update_indexes;

	if (FetchProfile(rs, snapshot, tenant_id, profile_id, old))
	{
		Datum		merged = slot_getattr(old, PROFILE_MERGED_INTO, &isnull);

		if (!isnull && !FetchProfile(rs, snapshot, tenant_id, DatumGetInt64(merged), old))
			ExecClearTuple(old);
	}
	if (!TTS_EMPTY(old))
	{
		old_first = DatumGetTimestampTz(slot_getattr(old, PROFILE_FIRST_SEEN, &isnull));
		old_last = DatumGetTimestampTz(slot_getattr(old, PROFILE_LAST_SEEN, &isnull));
		if (!cdp_seen_covers(old_first, old_last, first, last))
		{
			slot_getallattrs(old);
			ExecClearTuple(new);
			memcpy(new->tts_values, old->tts_values, sizeof(Datum) * PROFILE_COLUMNS);
			memcpy(new->tts_isnull, old->tts_isnull, sizeof(bool) * PROFILE_COLUMNS);
			new->tts_values[PROFILE_FIRST_SEEN - 1] = TimestampTzGetDatum(Min(old_first, first));
			new->tts_values[PROFILE_LAST_SEEN - 1] = TimestampTzGetDatum(Max(old_last, last));
			ExecStoreVirtualTuple(new);
			ExecConstraints(rs->profiles, new, rs->estate);
			result = table_tuple_update(rel, &old->tts_tid, new, GetCurrentCommandId(true), snapshot,
										InvalidSnapshot, true, &tmfd, &lockmode, &update_indexes);
			if (result == TM_Ok && update_indexes)
				list_free(ExecInsertIndexTuples(rs->profiles, new, rs->estate, true, false, NULL, NIL));
			Written(rs);
		}
	}
	ExecClearTuple(old);
	UnregisterSnapshot(snapshot);
	return result;
}

bool
cdp_rowstore_seen(CdpRowStore *rs, int32 tenant_id, int64 profile_id, TimestampTz first, TimestampTz last)
{
	if (IsolationUsesXactSnapshot() || !cdp_rowstore_usable(rs))
		return false;
	if (rs->profiles == NULL)
		AsCall(rs, OpenProfiles, NULL);
	if (!rs->profiles_usable)
		return false;
	/* What this call wrote before (an SPI statement's update too) is then visible: see TrySeen. */
	CommandCounterIncrement();
	for (;;)
	{
		TM_Result	result = TrySeen(rs, tenant_id, profile_id, first, last);

		switch (result)
		{
			case TM_Ok:
			case TM_Deleted:	/* gone meanwhile: as the UPDATE skips it */
				return true;
			case TM_Updated:	/* updated meanwhile (we waited for it): look again */
				CHECK_FOR_INTERRUPTS();
				continue;
			default:
				elog(ERROR, "unexpected result %d updating the last_seen_at of profile %lld",
					 (int) result, (long long) profile_id);
		}
	}
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
	OpenTarget(lo->relid, rs->estate, &leaf->rri, &leaf->slot, false);
	rel = leaf->rri->ri_RelationDesc;
	/*
	 * Routed rows fire the partition's row triggers (PlainTarget refuses
	 * any); its policies do not apply, nor its privileges (the INSERT
	 * checks the parent's), so this is PlainTable without MayInsert.
	 */
	leaf->usable = rel->rd_rel->relkind == RELKIND_RELATION &&
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
	if (rs->conflict_slot != NULL)
		ExecDropSingleTupleTableSlot(rs->conflict_slot);
	CloseTarget(rs->idents, rs->ident_slot);
	if (rs->profile_old != NULL)
		ExecDropSingleTupleTableSlot(rs->profile_old);
	CloseTarget(rs->profiles, rs->profile_new);
	if (rs->events != NULL)
		table_close(rs->events, NoLock);
	if (rs->estate != NULL)
		FreeExecutorState(rs->estate);
	/* Nothing open, as at the call's start: AsCall made its owner and context current. */
	cdp_rowstore_init(rs);
}

void
cdp_rowstore_close(CdpRowStore *rs)
{
	if (rs->opened)
		AsCall(rs, Close, NULL);
}
