/*
 * plans.h — every statement the ingestion engine runs, prepared once per
 * backend (SPI_prepare + SPI_keepplan) and executed with bound parameters.
 * They run inside the definer functions, whose search_path is pinned to
 * pg_catalog, pg_temp, so unqualified operators resolve to pg_catalog's.
 */
#ifndef CDP_PLANS_H
#define CDP_PLANS_H

#include "postgres.h"

#include "datatype/timestamp.h"

typedef enum CdpPlanId
{
	PLAN_AUTH,
	PLAN_IS_SUPPRESSED,
	PLAN_FIND_ID,
	PLAN_LOCK_PROFILE,
	PLAN_NEW_PROFILE,
	PLAN_DELETE_PROFILE,
	PLAN_INSERT_ID,
	PLAN_COUNT_TYPES,
	PLAN_REPOINT_AND_LOG,
	PLAN_FLATTEN,
	PLAN_MARK_MERGED,
	PLAN_GET_TRAITS,
	PLAN_SET_TRAITS,
	PLAN_REFUSED,
	PLAN_AFTER_MERGE,
	PLAN_DEDUPE,
	PLAN_DUPLICATE_OF,
	PLAN_EVENT,
	PLAN_QUARANTINE,
	PLAN_GROUP_INSERT,
	PLAN_GROUP_LOCK,
	PLAN_GROUP_UPDATE,
	PLAN_CONSENT,
	PLAN_SEEN,
	PLAN_BULK_SEEN,
	PLAN_BULK_DEDUPE,
	PLAN_DEDUPE_AND_EVENT,
	PLAN_DEDUPE_EVENT_SEEN,
	PLAN_BULK_ORIGINALS,
	PLAN_BULK_EVENTS,
	PLAN_CLAIM_AND_EVENT,
	PLAN_CLAIM_EVENT_SEEN,
	PLAN_CLAIM,
	PLAN_CANONICAL_OF,
	NUM_PLANS
} CdpPlanId;

/*
 * last_seen_at / first_seen_at are written only when they move by more than
 * this (PLAN_SEEN); ingest.c skips the statement when it knows it would not.
 */
#define CDP_SEEN_GRANULARITY_MINUTES 30
#define CDP_SEEN_GRANULARITY_USECS ((int64) CDP_SEEN_GRANULARITY_MINUTES * 60 * USECS_PER_SEC)

/*
 * Would PLAN_SEEN leave a profile row with these times as it is, for events
 * seen from first to last? The one rule, also for the direct path
 * (rowstore.c) and the skip of a known person's update (locks.c).
 */
static inline bool
cdp_seen_covers(TimestampTz row_first, TimestampTz row_last, TimestampTz first, TimestampTz last)
{
	return row_last >= last - CDP_SEEN_GRANULARITY_USECS && row_first <= first;
}

/*
 * Executes a plan (nulls as for SPI_execute_plan, NULL for none). Raises on
 * an SPI failure. Keeps CurrentMemoryContext (SPI would leave its own
 * procedure context current). Returns the number of rows processed; rows
 * are in SPI_tuptable until cdp_plan_done().
 */
extern uint64 cdp_plan_exec(CdpPlanId id, Datum *values, const char *nulls);

/*
 * The same, but at REPEATABLE READ and SERIALIZABLE with the latest
 * snapshot instead of the transaction's (as the RI checks do): for the
 * identifiers of a profile this transaction holds locked, which another
 * transaction may have attached and committed after our snapshot was taken.
 */
extern uint64 cdp_plan_exec_latest(CdpPlanId id, Datum *values, const char *nulls);

/* Column col (1-based) of row row of the last result; copied into CurrentMemoryContext. */
extern Datum cdp_plan_value(uint64 row, int col, bool *isnull);

extern void cdp_plan_done(void);

#endif							/* CDP_PLANS_H */
