/*
 * probe.c — direct primary-key probes for the lookups every message makes.
 *
 * An SPI statement costs an executor start and end per message; a probe is
 * a B-tree descent and a heap fetch. Each probe takes a fresh snapshot, so
 * (in READ COMMITTED, like a statement) it sees what committed before it
 * and what this transaction wrote before it (SPI bumps the command counter
 * after each write).
 */
#include "postgres.h"

#include "access/genam.h"
#include "access/relscan.h"
#include "access/stratnum.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/namespace.h"
#include "executor/tuptable.h"
#include "miscadmin.h"
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/rel.h"
#include "utils/snapmgr.h"

#include "cdp.h"
#include "hash.h"
#include "probe.h"

static Relation
OpenByName(Oid nsp, const char *name, bool index)
{
	Oid			relid = get_relname_relid(name, nsp);

	if (!OidIsValid(relid))
		elog(ERROR, "relation cdp.%s is missing", name);
	return index ? index_open(relid, AccessShareLock) : table_open(relid, AccessShareLock);
}

void
cdp_probe_open(CdpProbe *p)
{
	Oid			nsp = get_namespace_oid(CDP_SCHEMA, false);

	memset(p, 0, sizeof(CdpProbe));
	p->owner = CurrentResourceOwner;
	p->profiles.owner = p->owner;

	p->identifiers = OpenByName(nsp, "identifiers", false);
	p->identifiers_pkey = OpenByName(nsp, "identifiers_pkey", true);
	p->suppressions = OpenByName(nsp, "suppressions", false);
	p->suppressions_pkey = OpenByName(nsp, "suppressions_pkey", true);
}

void
cdp_probe_refresh(CdpProbe *p)
{
	if (p->snapshot)
		UnregisterSnapshotFromOwner(p->snapshot, p->owner);
	if (p->latest)
		UnregisterSnapshotFromOwner(p->latest, p->owner);
	p->snapshot = RegisterSnapshotOnOwner(GetTransactionSnapshot(), p->owner);
	/*
	 * REPEATABLE READ and SERIALIZABLE: the transaction snapshot may predate
	 * an erasure that committed since (or that the call's erasure lock waited
	 * for). The suppression list is read as it is now, so that a message of
	 * an erased person is suppressed at any isolation level.
	 */
	p->latest = IsolationUsesXactSnapshot() ? RegisterSnapshotOnOwner(GetLatestSnapshot(), p->owner) : NULL;
}

void
cdp_probe_close(CdpProbe *p)
{
	if (p->snapshot)
		UnregisterSnapshotFromOwner(p->snapshot, p->owner);
	if (p->latest)
		UnregisterSnapshotFromOwner(p->latest, p->owner);
	cdp_probe_forget_chunk(p);
	cdp_profile_rels_close(&p->profiles);
	if (p->identifiers_pkey)
	{
		index_close(p->identifiers_pkey, NoLock);
		table_close(p->identifiers, NoLock);
		index_close(p->suppressions_pkey, NoLock);
		table_close(p->suppressions, NoLock);
	}
	memset(p, 0, sizeof(CdpProbe));
}

/*
 * Looks up (tenant_id, id_type, id_hash) in index; if found and attno > 0,
 * stores that column (an int8) in *value. Returns whether a row was found.
 */
/* The three scan keys of (tenant_id, id_type, id_hash) on an identifiers-shaped key. */
static void
IdentifierKey(ScanKey skey, Relation index, int32 tenant_id, text *id_type, bytea *hash)
{
	ScanKeyEntryInitialize(&skey[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyEntryInitialize(&skey[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_TEXTEQ, PointerGetDatum(id_type));
	ScanKeyEntryInitialize(&skey[2], 0, 3, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[2], F_BYTEAEQ, PointerGetDatum(hash));
}

static bool
Probe(Snapshot p_snapshot, Relation heap, Relation index, int32 tenant_id, const char *id_type, const uint8 *hash,
	  AttrNumber attno, int64 *value)
{
	ScanKeyData skey[3];
	IndexScanDesc scan;
	TupleTableSlot *slot;
	Snapshot	snapshot;
	text	   *type_text = cstring_to_text(id_type);
	bytea	   *hash_bytea = palloc(VARHDRSZ + CDP_HASH_LEN);
	bool		found;

	SET_VARSIZE(hash_bytea, VARHDRSZ + CDP_HASH_LEN);
	memcpy(VARDATA(hash_bytea), hash, CDP_HASH_LEN);
	IdentifierKey(skey, index, tenant_id, type_text, hash_bytea);

	if (p_snapshot == NULL)
		elog(ERROR, "cdp_probe_refresh was not called");
	snapshot = p_snapshot;
	slot = table_slot_create(heap, NULL);
	scan = index_beginscan(heap, index, snapshot, 3, 0);
	index_rescan(scan, skey, 3, NULL, 0);
	found = index_getnext_slot(scan, ForwardScanDirection, slot);
	if (found && attno > 0)
	{
		bool		isnull;
		Datum		d = slot_getattr(slot, attno, &isnull);

		*value = isnull ? 0 : DatumGetInt64(d);
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);
	pfree(type_text);
	pfree(hash_bytea);
	return found;
}

/* The snapshot suppressions are read with: see cdp_probe_refresh. */
static Snapshot
SuppressionSnapshot(CdpProbe *p)
{
	return p->latest ? p->latest : p->snapshot;
}

/* cdp.identifiers: tenant_id, id_type, id_hash, profile_id */
#define ATTNUM_IDENTIFIERS_PROFILE_ID 4

static int
CompareKey(const void *a, const void *b)
{
	const CdpProbeKey *x = (const CdpProbeKey *) a;
	const CdpProbeKey *y = (const CdpProbeKey *) b;
	int			c = strcmp(x->id_type, y->id_type);

	return c != 0 ? c : memcmp(x->hash, y->hash, CDP_HASH_LEN);
}

static CdpProbeKey *
FindKey(CdpProbe *p, const char *id_type, const uint8 *hash)
{
	CdpProbeKey k;

	if (p->keys == NULL)
		return NULL;
	k.id_type = id_type;
	memcpy(k.hash, hash, CDP_HASH_LEN);
	return bsearch(&k, p->keys, p->nkeys, sizeof(CdpProbeKey), CompareKey);
}

int64
cdp_probe_identifier(CdpProbe *p, int32 tenant_id, const char *id_type, const uint8 *hash)
{
	int64		profile_id = 0;
	CdpProbeKey *k = FindKey(p, id_type, hash);

	if (k != NULL && p->use_chunk)
		return k->profile_id;
	if (!Probe(p->snapshot, p->identifiers, p->identifiers_pkey, tenant_id, id_type, hash,
			   ATTNUM_IDENTIFIERS_PROFILE_ID, &profile_id))
		profile_id = 0;
	/* A fresh answer replaces the pass's. */
	if (k != NULL)
		k->profile_id = profile_id;
	return profile_id;
}

void
cdp_probe_forget_chunk(CdpProbe *p)
{
	p->keys = NULL;
	p->nkeys = 0;
	p->use_chunk = false;
}

/*
 * The chunk's identifiers in key order, one index scan re-scanned for each:
 * the descents walk the index from left to right (the pages each needs are
 * those the previous one touched, or next to them), and the scan, its slot
 * and its keys are set up once instead of once per identifier per message.
 */
void
cdp_probe_chunk(CdpProbe *p, int32 tenant_id, CdpProbeKey *keys, int n)
{
	ScanKeyData skey[3];
	IndexScanDesc scan;
	TupleTableSlot *slot;
	bytea	   *hash_bytea;
	text	   *type_text = NULL;
	const char *prev_type = NULL;
	Relation	index = p->identifiers_pkey;
	int			k = 0;

	cdp_probe_forget_chunk(p);
	if (p->snapshot == NULL)
		elog(ERROR, "cdp_probe_refresh was not called");
	qsort(keys, n, sizeof(CdpProbeKey), CompareKey);
	for (int i = 0; i < n; i++)
		if (k == 0 || CompareKey(&keys[i], &keys[k - 1]) != 0)
			keys[k++] = keys[i];
	n = k;

	hash_bytea = palloc(VARHDRSZ + CDP_HASH_LEN);
	SET_VARSIZE(hash_bytea, VARHDRSZ + CDP_HASH_LEN);
	slot = table_slot_create(p->identifiers, NULL);
	scan = index_beginscan(p->identifiers, index, p->snapshot, 3, 0);
	for (int i = 0; i < n; i++)
	{
		if (prev_type == NULL || strcmp(prev_type, keys[i].id_type) != 0)
		{
			type_text = cstring_to_text(keys[i].id_type);
			prev_type = keys[i].id_type;
		}
		memcpy(VARDATA(hash_bytea), keys[i].hash, CDP_HASH_LEN);
		IdentifierKey(skey, index, tenant_id, type_text, hash_bytea);
		index_rescan(scan, skey, 3, NULL, 0);
		keys[i].profile_id = 0;
		if (index_getnext_slot(scan, ForwardScanDirection, slot))
		{
			bool		isnull;
			Datum		d = slot_getattr(slot, ATTNUM_IDENTIFIERS_PROFILE_ID, &isnull);

			keys[i].profile_id = isnull ? 0 : DatumGetInt64(d);
		}
		CHECK_FOR_INTERRUPTS();
	}
	index_endscan(scan);
	ExecDropSingleTupleTableSlot(slot);

	p->keys = keys;
	p->nkeys = n;
	p->use_chunk = true;
}

void
cdp_probe_note_claim(CdpProbe *p, const char *id_type, const uint8 *hash, int64 profile_id)
{
	CdpProbeKey *k = FindKey(p, id_type, hash);

	if (k != NULL)
		k->profile_id = profile_id;
}

/*
 * The chunk merged loser into winner: answers that led to the loser lead to
 * the winner now (kept flat, as merged_into is, so a merge of the winner
 * later in the chunk moves them again).
 */
void
cdp_probe_note_merge(CdpProbe *p, int64 loser, int64 winner)
{
	for (int i = 0; i < p->nkeys; i++)
		if (p->keys[i].profile_id == loser)
			p->keys[i].profile_id = winner;
}

bool
cdp_probe_any_suppression(CdpProbe *p, int32 tenant_id)
{
	ScanKeyData skey[1];
	IndexScanDesc scan;
	bool		found;

	ScanKeyEntryInitialize(&skey[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   p->suppressions_pkey->rd_indcollation[0], F_INT4EQ, Int32GetDatum(tenant_id));
	if (p->snapshot == NULL)
		elog(ERROR, "cdp_probe_refresh was not called");
	scan = index_beginscan(p->suppressions, p->suppressions_pkey, SuppressionSnapshot(p), 1, 0);
	index_rescan(scan, skey, 1, NULL, 0);
	found = index_getnext_tid(scan, ForwardScanDirection) != NULL;
	index_endscan(scan);
	return found;
}

bool
cdp_probe_suppressed(CdpProbe *p, int32 tenant_id, const char *id_type, const uint8 *hash)
{
	return Probe(SuppressionSnapshot(p), p->suppressions, p->suppressions_pkey, tenant_id, id_type, hash, 0, NULL);
}
