/*
 * probe.h — the hot lookups of ingestion done as direct B-tree probes (no
 * SPI, no executor): identifier -> profile, and "is this identifier
 * suppressed". Both are equality lookups on a primary key
 * (tenant_id, id_type, id_hash).
 */
#ifndef CDP_PROBE_H
#define CDP_PROBE_H

#include "postgres.h"

#include "utils/relcache.h"
#include "utils/resowner.h"
#include "utils/snapshot.h"

typedef struct CdpProbe
{
	Relation	identifiers;
	Relation	identifiers_pkey;
	Relation	suppressions;
	Relation	suppressions_pkey;
	Snapshot	snapshot;		/* taken by cdp_probe_refresh */
	Snapshot	latest;			/* suppressions, REPEATABLE READ and up */
	ResourceOwner owner;		/* the call's: survives our subtransactions' aborts */
} CdpProbe;

/* Opens the relations (AccessShareLock, held to the end of the transaction). */
extern void cdp_probe_open(CdpProbe *p);
extern void cdp_probe_close(CdpProbe *p);

/*
 * Takes a fresh snapshot for the probes that follow (like a new statement in
 * READ COMMITTED: it sees what committed before it, and what this
 * transaction wrote before it).
 */
extern void cdp_probe_refresh(CdpProbe *p);

/* The profile an identifier belongs to, or 0. */
extern int64 cdp_probe_identifier(CdpProbe *p, int32 tenant_id, const char *id_type, const uint8 *hash);

/*
 * Whether the tenant has any suppression at all (an index entry is enough:
 * a false positive only costs the per-message probes).
 */
extern bool cdp_probe_any_suppression(CdpProbe *p, int32 tenant_id);

/* Whether the identifier hash is in cdp.suppressions. */
extern bool cdp_probe_suppressed(CdpProbe *p, int32 tenant_id, const char *id_type, const uint8 *hash);

#endif							/* CDP_PROBE_H */
