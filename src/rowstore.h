/*
 * rowstore.h — a message's messageId claim (cdp.message_ids) and its event
 * (the monthly partition of cdp.events its time falls in) written straight
 * into the heap and its indexes, as COPY writes rows: no plan, no executor
 * start-up and no partition routing set-up per statement.
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

extern void cdp_rowstore_close(CdpRowStore *rs);

#endif							/* CDP_ROWSTORE_H */
