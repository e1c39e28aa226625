/*
 * authcache.c — write-key lookups cached per backend, validated against the
 * row versions they came from on every use.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "catalog/namespace.h"
#include "storage/bufmgr.h"
#include "storage/smgr.h"
#include "utils/rel.h"
#include "utils/hsearch.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"

#include "authcache.h"
#include "cdp.h"

#define MAX_ENTRIES 256

static HTAB *cache = NULL;

/*
 * Does block exist in rel (opened with a lock)? The size this backend last
 * measured is kept by smgr (smgr_cached_nblocks) and is forgotten when
 * another backend truncates the relation: its truncation sends an smgr
 * invalidation, which closes our smgr handle, and we have processed it
 * when we took our lock (a truncation needs AccessExclusiveLock, so none
 * can happen while we hold ours). Below that size the block exists;
 * otherwise ask the file system (an lseek, which costs more than the rest
 * of the check on some machines).
 */
static bool
BlockExists(Relation rel, BlockNumber block)
{
	BlockNumber known = RelationGetSmgr(rel)->smgr_cached_nblocks[MAIN_FORKNUM];

	if (known != InvalidBlockNumber && block < known)
		return true;
	return block < RelationGetNumberOfBlocks(rel);
}

/*
 * Is the row version at tid, created by xmin, still the visible one? The
 * row may be gone and the table truncated by VACUUM since it was cached:
 * a block past the end is a miss, not a read error. xmin is compared raw
 * (as SQL's xmin column gave it), so a frozen row still hits.
 */
static bool
StillVisible(Oid relid, ItemPointer tid, TransactionId xmin, Snapshot snapshot)
{
	Relation	rel = table_open(relid, AccessShareLock);
	HeapTupleData tuple;
	Buffer		buf;
	bool		ok = false;

	if (BlockExists(rel, ItemPointerGetBlockNumber(tid)))
	{
		tuple.t_self = *tid;
		ok = heap_fetch(rel, snapshot, &tuple, &buf, false);
		if (ok)
		{
			ok = TransactionIdEquals(HeapTupleHeaderGetRawXmin(tuple.t_data), xmin);
			ReleaseBuffer(buf);
		}
	}
	table_close(rel, NoLock);
	return ok;
}

/*
 * The tenant secret lives in the cache only while its entry is valid: it
 * is wiped before the memory is freed on eviction or replacement.
 */
static void
FreeEntry(CdpAuthEntry *e)
{
	pfree(e->settings);
	explicit_bzero(e->secret, VARSIZE_ANY(e->secret));
	pfree(e->secret);
}

CdpAuthEntry *
cdp_authcache_get(const uint8 *key_hash)
{
	CdpAuthEntry *e;
	Oid			nsp;
	Snapshot	snapshot;
	bool		ok;

	if (cache == NULL)
		return NULL;
	e = hash_search(cache, key_hash, HASH_FIND, NULL);
	if (e == NULL)
		return NULL;
	/* The same tables as when it was cached (not a reinstalled extension)? */
	nsp = get_namespace_oid(CDP_SCHEMA, true);
	if (!OidIsValid(nsp) || get_relname_relid("sources", nsp) != e->sources_relid ||
		get_relname_relid("tenants", nsp) != e->tenants_relid)
		ok = false;
	else
	{
		snapshot = RegisterSnapshot(GetLatestSnapshot());
		ok = StillVisible(e->sources_relid, &e->source_tid, e->source_xmin, snapshot) &&
			StillVisible(e->tenants_relid, &e->tenant_tid, e->tenant_xmin, snapshot);
		UnregisterSnapshot(snapshot);
	}
	if (!ok)
	{
		FreeEntry(e);
		hash_search(cache, key_hash, HASH_REMOVE, NULL);
		return NULL;
	}
	return e;
}

void
cdp_authcache_put(const CdpAuthEntry *src)
{
	CdpAuthEntry *e;
	bool		found;
	Oid			nsp = get_namespace_oid(CDP_SCHEMA, false);

	if (cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(src->key_hash);
		ctl.entrysize = sizeof(CdpAuthEntry);
		ctl.hcxt = TopMemoryContext;
		cache = hash_create("cdp write keys", 16, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	if (hash_get_num_entries(cache) >= MAX_ENTRIES)
		return;					/* a backend serving that many keys just asks each time */
	e = hash_search(cache, src->key_hash, HASH_ENTER, &found);
	if (found)
		FreeEntry(e);
	*e = *src;
	e->sources_relid = get_relname_relid("sources", nsp);
	e->tenants_relid = get_relname_relid("tenants", nsp);
	e->settings = MemoryContextAlloc(TopMemoryContext, VARSIZE(src->settings));
	memcpy(e->settings, src->settings, VARSIZE(src->settings));
	e->secret = MemoryContextAlloc(TopMemoryContext, VARSIZE_ANY(src->secret));
	memcpy(e->secret, src->secret, VARSIZE_ANY(src->secret));
}
