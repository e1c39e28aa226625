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

#include "hash.h"
#include "locks.h"

/*
 * One identifier key of a chunk and the profile it led to (0: none), as the
 * chunk's sorted pass found it and the chunk's own writes changed it since.
 */
typedef struct CdpProbeKey
{
	const char *id_type;
	uint8		hash[CDP_HASH_LEN];
	int64		profile_id;
} CdpProbeKey;

typedef struct CdpProbe
{
	Relation	identifiers;
	Relation	identifiers_pkey;
	Relation	suppressions;
	Relation	suppressions_pkey;
	Snapshot	snapshot;		/* taken by cdp_probe_refresh */
	Snapshot	latest;			/* suppressions, REPEATABLE READ and up */
	ResourceOwner owner;		/* the call's: survives our subtransactions' aborts */
	/* cdp.profiles and its primary key, opened on first use (locks.c) */
	CdpProfileRels profiles;
	/*
	 * The identifiers of the chunk being resolved (cdp_probe_chunk), sorted;
	 * NULL outside a chunk. They live in the chunk's memory context, and are
	 * forgotten at the end of the chunk or when it fails. use_chunk: answer from them (the first
	 * attempt of a message); otherwise probe afresh and update them.
	 */
	CdpProbeKey *keys;
	int			nkeys;
	bool		use_chunk;
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

/*
 * The profile an identifier belongs to, or 0. Inside a chunk with use_chunk
 * set, the answer of the chunk's pass (as this chunk's writes changed it),
 * which may be stale as to other sessions: the caller locks and checks again
 * (identity.c).
 */
extern int64 cdp_probe_identifier(CdpProbe *p, int32 tenant_id, const char *id_type, const uint8 *hash);

/*
 * Looks up the n identifier keys of a chunk (duplicates allowed) in one
 * pass: sorted, one index scan re-scanned per distinct key in key order.
 * Keeps keys (sorted and deduplicated in place): the caller forgets them
 * (cdp_probe_forget_chunk) before their memory goes, at the end of the
 * chunk and when it fails.
 */
extern void cdp_probe_chunk(CdpProbe *p, int32 tenant_id, CdpProbeKey *keys, int n);
extern void cdp_probe_forget_chunk(CdpProbe *p);

/* This transaction gave the identifier to profile_id (a claim). */
extern void cdp_probe_note_claim(CdpProbe *p, const char *id_type, const uint8 *hash, int64 profile_id);

/* This transaction merged loser into winner (every identifier of loser moved). */
extern void cdp_probe_note_merge(CdpProbe *p, int64 loser, int64 winner);

/*
 * Whether the tenant has any suppression at all (an index entry is enough:
 * a false positive only costs the per-message probes).
 */
extern bool cdp_probe_any_suppression(CdpProbe *p, int32 tenant_id);

/* Whether the identifier hash is in cdp.suppressions. */
extern bool cdp_probe_suppressed(CdpProbe *p, int32 tenant_id, const char *id_type, const uint8 *hash);

#endif							/* CDP_PROBE_H */
