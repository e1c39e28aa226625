/*
 * launcher.c — the static background worker that keeps one scheduler
 * running in every database that has cdp installed.
 *
 * Shape after TimescaleDB's loader/bgw_launcher.c: the launcher connects to
 * no database (it reads only the shared catalog pg_database) and starts a
 * dynamic worker per database with the database's OID as its argument. It
 * cannot see inside a database, so the scheduler it starts finds out whether
 * cdp is installed and exits at once if not; the launcher then looks again
 * only every CDP_PROBE_INTERVAL, so a database without cdp costs one short
 * connection a while and holds none. A committed CREATE EXTENSION cdp wakes
 * the launcher (cdp._workers_notify), so the normal case needs no waiting.
 */
#include "postgres.h"

#include "access/heapam.h"
#include "access/htup_details.h"
#include "access/table.h"
#include "access/tableam.h"
#include "access/xact.h"
#include "catalog/pg_database.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "tcop/tcopprot.h"
#include "utils/guc.h"
#include "utils/hsearch.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timestamp.h"

#include "cdp.h"
#include "launcher.h"
#include "worker.h"

/* How often a database whose scheduler found no cdp is looked at again. */
#define CDP_PROBE_INTERVAL_MS	(30 * 1000)
/* Pause before restarting the scheduler of a database that has cdp. */
#define CDP_RESTART_DELAY_MS	(5 * 1000)

typedef struct LauncherDb
{
	Oid			dboid;			/* hash key */
	char		datname[NAMEDATALEN];
	BackgroundWorkerHandle *handle; /* NULL when no worker was started */
	TimestampTz started_at;
	TimestampTz stopped_at;
	bool		had_cdp;		/* its last scheduler found the extension */
	bool		seen;			/* still in pg_database at the last scan */
} LauncherDb;

static HTAB *launcher_dbs = NULL;

/* A database the launcher may serve, as read from pg_database. */
typedef struct DbEntry
{
	Oid			oid;
	char		name[NAMEDATALEN];
} DbEntry;

/*
 * Databases that accept connections and are not templates. Templates are
 * left alone: a connection to one makes CREATE DATABASE wait or fail.
 */
static List *
ListDatabases(MemoryContext cxt)
{
	List	   *dbs = NIL;
	Relation	rel;
	TableScanDesc scan;
	HeapTuple	tup;

	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	PushActiveSnapshot(GetTransactionSnapshot());
	pgstat_report_activity(STATE_RUNNING, "cdp launcher: reading pg_database");

	rel = table_open(DatabaseRelationId, AccessShareLock);
	scan = table_beginscan_catalog(rel, 0, NULL);
	while (HeapTupleIsValid(tup = heap_getnext(scan, ForwardScanDirection)))
	{
		Form_pg_database db = (Form_pg_database) GETSTRUCT(tup);
		MemoryContext old;
		DbEntry    *entry;

		if (!db->datallowconn || db->datistemplate)
			continue;
		old = MemoryContextSwitchTo(cxt);
		entry = palloc(sizeof(DbEntry));
		entry->oid = db->oid;
		strlcpy(entry->name, NameStr(db->datname), NAMEDATALEN);
		dbs = lappend(dbs, entry);
		MemoryContextSwitchTo(old);
	}
	table_endscan(scan);
	table_close(rel, AccessShareLock);

	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
	return dbs;
}

static bool
StartScheduler(LauncherDb *db)
{
	BackgroundWorker worker;
	BackgroundWorkerHandle *handle;
	MemoryContext old;
	bool		ok;

	memset(&worker, 0, sizeof(worker));
	worker.bgw_flags = BGWORKER_SHMEM_ACCESS | BGWORKER_BACKEND_DATABASE_CONNECTION;
	worker.bgw_start_time = BgWorkerStart_RecoveryFinished;
	worker.bgw_restart_time = BGW_NEVER_RESTART;	/* the launcher decides */
	snprintf(worker.bgw_library_name, BGW_MAXLEN, "cdp");
	snprintf(worker.bgw_function_name, BGW_MAXLEN, "cdp_scheduler_main");
	snprintf(worker.bgw_name, BGW_MAXLEN, "cdp scheduler %s", db->datname);
	snprintf(worker.bgw_type, BGW_MAXLEN, "cdp scheduler");
	worker.bgw_main_arg = ObjectIdGetDatum(db->dboid);
	worker.bgw_notify_pid = MyProcPid;

	old = MemoryContextSwitchTo(TopMemoryContext);
	ok = RegisterDynamicBackgroundWorker(&worker, &handle);
	MemoryContextSwitchTo(old);
	if (!ok)
	{
		/* Out of worker slots: not an error, try again at the next look. */
		ereport(LOG,
				(errmsg("cdp launcher could not start a scheduler for database \"%s\"", db->datname),
				 errhint("Raise max_worker_processes.")));
		return false;
	}
	db->handle = handle;
	db->started_at = GetCurrentTimestamp();
	return true;
}

/* Is db's worker (if any) still starting or running? Notes when it stopped. */
static bool
SchedulerAlive(LauncherDb *db, TimestampTz now)
{
	pid_t		pid;
	CdpDbSlot	slot;

	if (db->handle == NULL)
		return false;
	if (GetBackgroundWorkerPid(db->handle, &pid) != BGWH_STOPPED)
		return true;

	pfree(db->handle);
	db->handle = NULL;
	db->stopped_at = now;
	db->had_cdp = cdp_slot_get(db->dboid, &slot) && slot.has_cdp;
	return false;
}

/* Should a scheduler be started in db now? */
static bool
SchedulerDue(LauncherDb *db, TimestampTz now)
{
	CdpDbSlot	slot;

	if (cdp_slot_get(db->dboid, &slot) && slot.hold_until > now)
		return false;
	if (cdp_slot_take_wake(db->dboid))
		return true;
	if (db->started_at == 0)
		return true;
	if (db->had_cdp)
		return TimestampDifferenceExceeds(db->stopped_at, now, CDP_RESTART_DELAY_MS);
	return TimestampDifferenceExceeds(db->started_at, now, CDP_PROBE_INTERVAL_MS);
}

static void
LauncherTick(MemoryContext tick_cxt)
{
	List	   *dbs = ListDatabases(tick_cxt);
	HASH_SEQ_STATUS seq;
	LauncherDb *db;
	ListCell   *lc;
	int			running = 0;
	TimestampTz now = GetCurrentTimestamp();

	hash_seq_init(&seq, launcher_dbs);
	while ((db = hash_seq_search(&seq)) != NULL)
	{
		db->seen = false;
		if (SchedulerAlive(db, now))
			running++;
	}

	foreach(lc, dbs)
	{
		DbEntry    *entry = lfirst(lc);
		bool		found;

		db = hash_search(launcher_dbs, &entry->oid, HASH_ENTER, &found);
		if (!found)
		{
			memset(((char *) db) + sizeof(Oid), 0, sizeof(LauncherDb) - sizeof(Oid));
			strlcpy(db->datname, entry->name, NAMEDATALEN);
		}
		db->seen = true;
		if (db->handle != NULL || !cdp_workers_enabled || running >= cdp_max_workers)
			continue;
		if (SchedulerDue(db, now) && StartScheduler(db))
			running++;
	}

	/* Forget dropped databases whose worker is gone. */
	hash_seq_init(&seq, launcher_dbs);
	while ((db = hash_seq_search(&seq)) != NULL)
	{
		if (!db->seen && db->handle == NULL)
		{
			cdp_slot_forget(db->dboid);
			hash_search(launcher_dbs, &db->dboid, HASH_REMOVE, NULL);
		}
	}
}

static void
LauncherExit(int code, Datum arg)
{
	cdp_launcher_set_latch(NULL);
}

void
cdp_launcher_main(Datum main_arg)
{
	HASHCTL		ctl;
	MemoryContext tick_cxt;

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* No database: the launcher reads only shared catalogs. */
	BackgroundWorkerInitializeConnection(NULL, NULL, 0);
	pgstat_report_appname("cdp launcher");

	memset(&ctl, 0, sizeof(ctl));
	ctl.keysize = sizeof(Oid);
	ctl.entrysize = sizeof(LauncherDb);
	launcher_dbs = hash_create("cdp launcher databases", 16, &ctl, HASH_ELEM | HASH_BLOBS);
	tick_cxt = AllocSetContextCreate(TopMemoryContext, "cdp launcher loop context",
									 ALLOCSET_DEFAULT_SIZES);

	cdp_launcher_set_latch(MyLatch);
	before_shmem_exit(LauncherExit, (Datum) 0);
	ereport(LOG, (errmsg("cdp launcher started")));

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}

		MemoryContextReset(tick_cxt);
		LauncherTick(tick_cxt);

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 cdp_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
