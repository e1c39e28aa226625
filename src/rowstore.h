/*
 * rowstore.h — the engine's hot inserts written straight into the heap and
 * its indexes, as COPY writes rows: no plan, no executor start-up and no
 * partition routing set-up per statement. A message's messageId claim
 * (cdp.message_ids), its event (the monthly partition of cdp.events its
 * time falls in) and a new identifier (cdp.identifiers, ON CONFLICT DO
 * NOTHING semantics by speculative insertion, as the executor does it);
 * and one update: a profile's last_seen_at / first_seen_at (cdp.profiles).
 *
 * The rows, locks, constraint checks (NOT NULL and CHECK, by the
 * executor's ExecConstraints), unique checks and WAL are those of an INSERT
 * by the extension's owner. Where such an INSERT would do more or else (a
 * trigger, a row-level security policy that applies to the owner, a
 * generated column, an index checked at commit, a column layout or type cdp
 * does not know, no INSERT privilege), cdp_rowstore_usable() says no and the
 * caller runs the INSERT.
 */
#ifndef CDP_ROWSTORE_H
#define CDP_ROWSTORE_H

#include "postgres.h"

#include "nodes/execnodes.h"
#include "utils/relcache.h"
#include "utils/resowner.h"

#define CDP_EVENT_COLUMNS 16		/* cdp.events, in table order */
#define CDP_CLAIM_COLUMNS 5			/* cdp.message_ids, in table order */
#define CDP_IDENTIFIER_COLUMNS 7	/* cdp.identifiers, in table order */
#define CDP_ROWSTORE_MAX_LEAVES 8

typedef struct CdpRowLeaf
{
	Oid			relid;
	ResultRelInfo *rri;
	TupleTableSlot *slot;
	bool		usable;
} CdpRowLeaf;

typedef struct CdpRowStore
{
	ResourceOwner owner;		/* the call's: survives our subtransactions' aborts */
	MemoryContext cxt;			/* the call's */
	bool		opened;
	bool		usable;			/* the fast path applies (decided at open) */
	EState	   *estate;
	Relation	events;			/* the partitioned parent */
	ResultRelInfo *claims;		/* cdp.message_ids */
	TupleTableSlot *claim_slot;
	ResultRelInfo *idents;		/* cdp.identifiers (indexes opened for speculative insertion), or NULL */
	bool		idents_usable;
	TupleTableSlot *ident_slot;
	TupleTableSlot *conflict_slot;
	List	   *ident_arbiters; /* its primary key: ON CONFLICT (tenant_id, id_type, id_hash) */
	ResultRelInfo *profiles;	/* cdp.profiles, or NULL */
	Relation	profiles_pkey;
	TupleTableSlot *profile_old;
	TupleTableSlot *profile_new;
	bool		profiles_usable;
	CdpRowLeaf	leaves[CDP_ROWSTORE_MAX_LEAVES];
	int			nleaves;
} CdpRowStore;

/* Remembers the owner and memory context of the call; opens nothing yet. */
extern void cdp_rowstore_init(CdpRowStore *rs);

/* Opens on first use; false: the caller must run the INSERT instead. */
extern bool cdp_rowstore_usable(CdpRowStore *rs);

/*
 * Inserts one cdp.message_ids row (values in table order). A messageId
 * already there raises the unique violation an INSERT raises, after
 * waiting for a transaction in progress that holds it, as an INSERT waits.
 */
extern void cdp_rowstore_claim(CdpRowStore *rs, Datum *values);

/*
 * Inserts one event into its partition (values and nulls as for
 * SPI_execute_plan, in table order). False (nothing written) when the
 * partition it belongs in cannot take the fast path, or none exists: the
 * caller runs the INSERT, which routes it or raises PostgreSQL's error.
 */
extern bool cdp_rowstore_event(CdpRowStore *rs, Datum *values, const char *nulls);

/*
 * Inserts one cdp.identifiers row (values in table order) unless its key is
 * there: INSERT ... ON CONFLICT (tenant_id, id_type, id_hash) DO NOTHING,
 * by the executor's protocol (pre-check, speculative insertion, retry on a
 * concurrent conflict; under REPEATABLE READ and up, 40001 when the
 * conflicting row is not visible to the transaction's snapshot); *inserted
 * says whether it was. False (nothing done) when the fast path does not
 * apply: the caller runs the INSERT.
 */
extern bool cdp_rowstore_identifier(CdpRowStore *rs, Datum *values, bool *inserted);

/*
 * UPDATE cdp.profiles SET last_seen_at = greatest(last_seen_at, last),
 * first_seen_at = least(first_seen_at, first) of the profile, or of the
 * one it is merged into, unless cdp_seen_covers (plans.h) says the row already covers them: in
 * READ COMMITTED, as that statement would do it (a row updated meanwhile
 * is looked up again and rechecked; a deleted one is skipped). False
 * (nothing done) when the fast path does not apply (REPEATABLE READ and up,
 * or a table an UPDATE would do more to): the caller runs the statement.
 */
extern bool cdp_rowstore_seen(CdpRowStore *rs, int32 tenant_id, int64 profile_id,
							  TimestampTz first, TimestampTz last);

extern void cdp_rowstore_close(CdpRowStore *rs);

#endif							/* CDP_ROWSTORE_H */
