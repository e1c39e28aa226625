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
#include "storage/lmgr.h"
#include "utils/builtins.h"
#include "utils/fmgroids.h"
#include "utils/lsyscache.h"
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

	p->owner = CurrentResourceOwner;
	p->snapshot = NULL;
	p->latest = NULL;

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
	ScanKeyEntryInitialize(&skey[0], 0, 1, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[0], F_INT4EQ, Int32GetDatum(tenant_id));
	ScanKeyEntryInitialize(&skey[1], 0, 2, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[1], F_TEXTEQ, PointerGetDatum(type_text));
	ScanKeyEntryInitialize(&skey[2], 0, 3, BTEqualStrategyNumber, InvalidOid,
						   index->rd_indcollation[2], F_BYTEAEQ, PointerGetDatum(hash_bytea));

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

int64
cdp_probe_identifier(CdpProbe *p, int32 tenant_id, const char *id_type, const uint8 *hash)
{
	int64		profile_id = 0;

	/* cdp.identifiers: tenant_id, id_type, id_hash, profile_id */
	if (!Probe(p->snapshot, p->identifiers, p->identifiers_pkey, tenant_id, id_type, hash, 4, &profile_id))
		return 0;
	return profile_id;
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
