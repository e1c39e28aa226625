/*
 * worker.h — background workers: a launcher and one scheduler per database.
 *
 * worker.c owns the settings and the small shared-memory table through which
 * the launcher (launcher.c), the schedulers (scheduler.c) and ordinary
 * backends (dbguard.c, cdp._workers_notify) talk about databases.
 */
#ifndef CDP_WORKER_H
#define CDP_WORKER_H

#include "datatype/timestamp.h"
#include "storage/latch.h"

extern bool cdp_workers_enabled;
extern bool cdp_audit_purge;
extern int	cdp_naptime;
extern int	cdp_max_workers;

/* Most databases the shared table tracks (schedulers, holds and wake-ups). */
#define CDP_MAX_DB_SLOTS 256

/* Per database state shared between launcher, schedulers and backends. */
typedef struct CdpDbSlot
{
	Oid			dboid;			/* InvalidOid: free slot */
	pid_t		scheduler_pid;	/* running scheduler, 0 if none */
	bool		has_cdp;		/* its last scheduler found the extension */
	bool		wake;			/* start a scheduler now (CREATE EXTENSION) */
	TimestampTz hold_until;		/* no scheduler before this (DROP DATABASE...) */
} CdpDbSlot;

/* True when cdp was preloaded and the shared table exists. */
extern bool cdp_workers_shmem_ready(void);

/*
 * Slot operations; each takes the table's spinlock itself. A copy of the
 * slot is returned so callers never read shared memory unlocked.
 */
extern bool cdp_slot_get(Oid dboid, CdpDbSlot *copy);
extern bool cdp_slot_claim_scheduler(Oid dboid, pid_t pid);
extern void cdp_slot_release_scheduler(Oid dboid, pid_t pid, bool has_cdp);
extern void cdp_slot_set_has_cdp(Oid dboid, bool has_cdp);
extern bool cdp_slot_take_wake(Oid dboid);
extern pid_t cdp_slot_hold(Oid dboid, TimestampTz until);
extern void cdp_slot_forget(Oid dboid);

extern void cdp_launcher_set_latch(Latch *latch);
extern void cdp_launcher_wake(void);

/* Entry points of the background workers (bgw_function_name). */
extern PGDLLEXPORT void cdp_launcher_main(Datum main_arg);
extern PGDLLEXPORT void cdp_scheduler_main(Datum main_arg);

/* dbguard.c */
extern void cdp_dbguard_init(void);

#endif							/* CDP_WORKER_H */
