/*
 * worker.c — background worker settings, registration and shared state.
 *
 * With cdp in shared_preload_libraries, _PG_init (through cdp_worker_init)
 * registers one static launcher (launcher.c), which starts a scheduler
 * (scheduler.c) in every database that has the extension. The launcher,
 * the schedulers and ordinary backends share one small table, kept here:
 *
 *   - a scheduler records its pid in its database's slot, so that a backend
 *     about to DROP (or rename, or copy) that database can stop it first
 *     (dbguard.c) and hold the launcher off while the command runs;
 *   - a backend that commits CREATE EXTENSION cdp sets its database's wake
 *     flag and the launcher's latch, so the new scheduler starts at once
 *     rather than at the launcher's next look (at most a minute later).
 *
 * Without preloading none of this exists and every SQL function still works;
 * cdp.run_maintenance() then runs the jobs.
 */
#include "postgres.h"

#include <signal.h>

#include "access/xact.h"
#include "fmgr.h"
#include "miscadmin.h"
#include "postmaster/bgworker.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lwlock.h"
#include "storage/shmem.h"
#include "utils/guc.h"
#include "utils/timestamp.h"

#include "cdp.h"
#include "worker.h"

bool		cdp_workers_enabled = true;
bool		cdp_audit_purge = false;
int			cdp_naptime = 10;
int			cdp_max_workers = 8;

typedef struct CdpWorkerShared
{
	LWLock	   *lock;			/* protects everything below */
	Latch	   *launcher_latch;
	CdpDbSlot	slots[CDP_MAX_DB_SLOTS];
} CdpWorkerShared;

static CdpWorkerShared *WorkerShared = NULL;

static shmem_request_hook_type prev_shmem_request_hook = NULL;
static shmem_startup_hook_type prev_shmem_startup_hook = NULL;

/* Set by cdp._workers_notify(); acted on when the transaction commits. */
static bool notify_on_commit = false;
static bool xact_callback_registered = false;

PG_FUNCTION_INFO_V1(cdp_workers_notify);

static void
WorkerShmemRequest(void)
{
	if (prev_shmem_request_hook)
		prev_shmem_request_hook();
	RequestAddinShmemSpace(MAXALIGN(sizeof(CdpWorkerShared)));
	RequestNamedLWLockTranche("cdp workers", 1);
}

static void
WorkerShmemStartup(void)
{
	bool		found;

	if (prev_shmem_startup_hook)
		prev_shmem_startup_hook();

	LWLockAcquire(AddinShmemInitLock, LW_EXCLUSIVE);
	WorkerShared = ShmemInitStruct("cdp workers", sizeof(CdpWorkerShared), &found);
	if (!found)
	{
		memset(WorkerShared, 0, sizeof(CdpWorkerShared));
		WorkerShared->lock = &(GetNamedLWLockTranche("cdp workers"))->lock;
	}
	LWLockRelease(AddinShmemInitLock);
}

static void
RegisterLauncher(void)
{
	BackgroundWorker worker;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	/* Jobs write: nothing to do on a standby until it is promoted. */
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = 10;
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cdp");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cdp_launcher_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cdp launcher");
	snprintf(worker.bgw_type, BGW_MAXLEN, "cdp launcher");
	RegisterBackgroundWorker(&worker);
}

void
cdp_worker_init(void)
{
	DefineCustomBoolVariable("cdp.workers_enabled",
							 "Runs cdp's scheduled jobs in background workers.",
							 "When off, the launcher starts no scheduler and running schedulers exit at their next look; cdp.run_maintenance() still runs the jobs by hand.",
							 &cdp_workers_enabled,
							 true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.naptime",
							"Seconds a scheduler sleeps between looks for due jobs.",
							"The launcher looks for new databases at the same pace.",
							&cdp_naptime,
							10, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_workers",
							"Most databases served by a cdp scheduler at once.",
							"Each scheduler is one background worker: max_worker_processes must leave room for them.",
							&cdp_max_workers,
							8, 1, 128,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);

	/*
	 * The audit log's guard trigger lets a DELETE through only while this is
	 * on; the retention job turns it on for its own (sub)transaction. The
	 * "cdp" prefix is reserved, so it must exist as a real setting.
	 */
	DefineCustomBoolVariable("cdp.audit_purge",
							 "Lets the audit retention job delete old entries of cdp.audit_log.",
							 "Set only by cdp's retention job, for one transaction.",
							 &cdp_audit_purge,
							 false,
							 PGC_SUSET, GUC_NO_SHOW_ALL | GUC_NOT_IN_SAMPLE, NULL, NULL, NULL);

	if (!process_shared_preload_libraries_in_progress)
		return;

	prev_shmem_request_hook = shmem_request_hook;
	shmem_request_hook = WorkerShmemRequest;
	prev_shmem_startup_hook = shmem_startup_hook;
	shmem_startup_hook = WorkerShmemStartup;

	RegisterLauncher();
	cdp_dbguard_init();
}

bool
cdp_workers_shmem_ready(void)
{
	return WorkerShared != NULL;
}

/* Caller holds the lock. */
static CdpDbSlot *
FindSlot(Oid dboid, bool create)
{
	CdpDbSlot  *free_slot = NULL;

	for (int i = 0; i < CDP_MAX_DB_SLOTS; i++)
	{
		CdpDbSlot  *slot = &WorkerShared->slots[i];

		if (slot->dboid == dboid)
			return slot;
		if (slot->dboid == InvalidOid && free_slot == NULL)
			free_slot = slot;
	}
	if (create && free_slot != NULL)
	{
		memset(free_slot, 0, sizeof(CdpDbSlot));
		free_slot->dboid = dboid;
		return free_slot;
	}
	return NULL;
}

bool
cdp_slot_get(Oid dboid, CdpDbSlot *copy)
{
	CdpDbSlot  *slot;
	bool		found = false;

	if (!WorkerShared)
		return false;
	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	slot = FindSlot(dboid, false);
	if (slot)
	{
		*copy = *slot;
		found = true;
	}
	LWLockRelease(WorkerShared->lock);
	return found;
}

/*
 * A scheduler registers itself, before it connects to the database; false
 * if another live scheduler already serves the database (a second one would
 * run every job twice) or if the database is on hold. Claim and hold are
 * decided under one lock, so a backend about to drop the database either
 * sees this scheduler's pid (and stops it) or this scheduler sees the hold.
 */
bool
cdp_slot_claim_scheduler(Oid dboid, pid_t pid)
{
	CdpDbSlot  *slot;
	pid_t		other = 0;
	bool		ok = false;

	/* Is another scheduler registered, and is it still alive? */
	LWLockAcquire(WorkerShared->lock, LW_SHARED);
	slot = FindSlot(dboid, false);
	if (slot)
		other = slot->scheduler_pid;
	LWLockRelease(WorkerShared->lock);
	if (other != 0 && other != pid && kill(other, 0) == 0)
		return false;

	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	slot = FindSlot(dboid, true);
	/* A hold (DROP DATABASE...) set before this claim: stay out. */
	if (slot && slot->scheduler_pid == other && slot->hold_until <= GetCurrentTimestamp())
	{
		slot->scheduler_pid = pid;
		ok = true;
	}
	LWLockRelease(WorkerShared->lock);
	return ok;
}

void
cdp_slot_release_scheduler(Oid dboid, pid_t pid, bool has_cdp)
{
	CdpDbSlot  *slot;

	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	slot = FindSlot(dboid, false);
	if (slot && slot->scheduler_pid == pid)
	{
		slot->scheduler_pid = 0;
		slot->has_cdp = has_cdp;
	}
	LWLockRelease(WorkerShared->lock);
}

void
cdp_slot_set_has_cdp(Oid dboid, bool has_cdp)
{
	CdpDbSlot  *slot;

	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	slot = FindSlot(dboid, false);
	if (slot)
		slot->has_cdp = has_cdp;
	LWLockRelease(WorkerShared->lock);
}

/* The launcher consumes a wake-up request. */
bool
cdp_slot_take_wake(Oid dboid)
{
	CdpDbSlot  *slot;
	bool		wake = false;

	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	slot = FindSlot(dboid, false);
	if (slot && slot->wake)
	{
		slot->wake = false;
		wake = true;
	}
	LWLockRelease(WorkerShared->lock);
	return wake;
}

/*
 * Keeps the launcher from starting a scheduler in dboid until "until" (0
 * lifts the hold) and returns the pid of the scheduler running there, if any.
 */
pid_t
cdp_slot_hold(Oid dboid, TimestampTz until)
{
	CdpDbSlot  *slot;
	pid_t		pid = 0;

	if (!WorkerShared)
		return 0;
	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	slot = FindSlot(dboid, until != 0);
	if (slot)
	{
		slot->hold_until = until;
		pid = slot->scheduler_pid;
	}
	LWLockRelease(WorkerShared->lock);
	return pid;
}

/* The launcher frees the slot of a database that no longer exists. */
void
cdp_slot_forget(Oid dboid)
{
	CdpDbSlot  *slot;

	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	slot = FindSlot(dboid, false);
	if (slot && slot->scheduler_pid == 0)
		slot->dboid = InvalidOid;
	LWLockRelease(WorkerShared->lock);
}

void
cdp_launcher_set_latch(Latch *latch)
{
	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	WorkerShared->launcher_latch = latch;
	LWLockRelease(WorkerShared->lock);
}

void
cdp_launcher_wake(void)
{
	Latch	   *latch;

	if (!WorkerShared)
		return;
	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	latch = WorkerShared->launcher_latch;
	LWLockRelease(WorkerShared->lock);
	if (latch)
		SetLatch(latch);
}

static void
NotifyXactCallback(XactEvent event, void *arg)
{
	CdpDbSlot  *slot;

	if (!notify_on_commit)
		return;
	if (event == XACT_EVENT_ABORT || event == XACT_EVENT_PARALLEL_ABORT)
	{
		notify_on_commit = false;
		return;
	}
	if (event != XACT_EVENT_COMMIT)
		return;
	notify_on_commit = false;

	LWLockAcquire(WorkerShared->lock, LW_EXCLUSIVE);
	slot = FindSlot(MyDatabaseId, true);
	if (slot)
		slot->wake = true;
	LWLockRelease(WorkerShared->lock);
	cdp_launcher_wake();
}

/*
 * cdp._workers_notify(): called by the install script. The scheduler can
 * only see the extension once CREATE EXTENSION has committed, so the launcher
 * is woken from a commit callback, not now.
 */
Datum
cdp_workers_notify(PG_FUNCTION_ARGS)
{
	if (!WorkerShared)
		PG_RETURN_VOID();
	if (!xact_callback_registered)
	{
		RegisterXactCallback(NotifyXactCallback, NULL);
		xact_callback_registered = true;
	}
	notify_on_commit = true;
	PG_RETURN_VOID();
}
