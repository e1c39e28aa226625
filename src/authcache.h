/*
 * authcache.h — per-backend cache of write-key lookups (source, tenant
 * settings, secret), so a single-message cdp.ingest does not run a
 * three-table query per call. An entry is used only while the row versions
 * it was read from (cdp.sources, cdp.tenants) are still the visible ones:
 * disabling a source, rotating its key or changing tenant settings creates
 * new row versions, and the next call reads them again.
 */
#ifndef CDP_AUTHCACHE_H
#define CDP_AUTHCACHE_H

#include "postgres.h"

#include "storage/itemptr.h"
#include "utils/jsonb.h"

typedef struct CdpAuthEntry
{
	uint8		key_hash[32];	/* hash key: SHA-256 of the write key */
	int32		tenant_id;
	int32		source_id;
	bool		enabled;
	Oid			sources_relid;
	ItemPointerData source_tid;
	TransactionId source_xmin;
	Oid			tenants_relid;
	ItemPointerData tenant_tid;
	TransactionId tenant_xmin;
	Jsonb	   *settings;		/* in TopMemoryContext */
	bytea	   *secret;
} CdpAuthEntry;

/* A still-valid entry for this key, or NULL. */
extern CdpAuthEntry *cdp_authcache_get(const uint8 *key_hash);

/* Remembers a lookup (copies settings and secret). */
extern void cdp_authcache_put(const CdpAuthEntry *e);

#endif							/* CDP_AUTHCACHE_H */
