/*
 * scheduler.c — the per-database background worker that runs cdp's jobs.
 *
 * Started by the launcher with the database OID as its argument. It leaves
 * at once if the database has no cdp (the launcher looks again later), and
 * when the extension is dropped. Each look for work follows pg_cron's loop:
 * interrupts and config reload first, then the due jobs, then WaitLatch for
 * cdp.naptime seconds outside any transaction.
 *
 * A job runs in up to three transactions (TimescaleDB's bookkeeping):
 *   A  cdp._job_claim(): picks a due job, takes its lock for the session
 *      (a private lock tag, locks.c: no role can take it with
 *      pg_advisory_lock) and commits a 'running' run, so a worker that dies mid-job
 *      leaves a trace that cdp._job_recover() turns into 'crashed';
 *   B  cdp._job_execute() and, on success, cdp._job_finish() in the same
 *      transaction, under a statement timeout of the job's max_runtime;
 *   C  after an error: cdp._job_finish(..., 'failed', message, SQLSTATE),
 *      which also backs the job off.
 * Every transaction first takes a share lock on the extension object and
 * checks that the extension still exists: DROP EXTENSION waits for the
 * statement in flight instead of pulling the tables from under it.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_extension.h"
#include "catalog/pg_type.h"
#include "commands/extension.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "pgstat.h"
#include "postmaster/bgworker.h"
#include "postmaster/interrupt.h"
#include "storage/ipc.h"
#include "storage/latch.h"
#include "storage/lmgr.h"
#include "storage/lock.h"
#include "tcop/tcopprot.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/memutils.h"
#include "utils/snapmgr.h"
#include "utils/timeout.h"

#include "cdp.h"
#include "scheduler.h"
#include "worker.h"

typedef enum JobOutcome
{
	JOB_NOTHING_DUE,
	JOB_RAN,
	JOB_NO_EXTENSION
} JobOutcome;

static Oid	scheduler_db = InvalidOid;
static bool scheduler_has_cdp = false;

static void
SchedulerExit(int code, Datum arg)
{
	cdp_slot_release_scheduler(scheduler_db, MyProcPid, scheduler_has_cdp);
}

/*
 * Share-locks the extension (DROP EXTENSION takes an exclusive lock on it)
 * and checks that it still exists once the lock is held.
 */
static bool
LockExtension(void)
{
	Oid			ext = get_extension_oid("cdp", true);

	if (!OidIsValid(ext))
		return false;
	LockDatabaseObject(ExtensionRelationId, ext, 0, AccessShareLock);
	return get_extension_oid("cdp", true) == ext;
}

/* Starts a transaction with SPI and a snapshot; false if cdp is gone. */
static bool
BeginJobTransaction(const char *activity)
{
	SetCurrentStatementStartTimestamp();
	StartTransactionCommand();
	pgstat_report_activity(STATE_RUNNING, activity);
	if (!LockExtension())
	{
		CommitTransactionCommand();
		pgstat_report_activity(STATE_IDLE, NULL);
		return false;
	}
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	PushActiveSnapshot(GetTransactionSnapshot());
	return true;
}

static void
EndJobTransaction(void)
{
	SPI_finish();
	PopActiveSnapshot();
	CommitTransactionCommand();
	pgstat_report_activity(STATE_IDLE, NULL);
}

/* Runs one SQL statement of the job protocol; returns its first column. */
static Datum
RunStatement(const char *sql, int nargs, Oid *types, Datum *values, const char *nulls, bool *isnull)
{
	int			rc = SPI_execute_with_args(sql, nargs, types, values, nulls, false, 1);

	if (rc != SPI_OK_SELECT || SPI_processed != 1)
		elog(ERROR, "cdp scheduler: \"%s\" failed: %s", sql, SPI_result_code_string(rc));
	return SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, isnull);
}

static void
FinishRun(int64 run_id, const char *status, int64 rows, bool rows_null, const char *message,
		  const char *sqlstate)
{
	Oid			types[5] = {INT8OID, TEXTOID, INT8OID, TEXTOID, TEXTOID};
	Datum		values[5];
	char		nulls[5] = {' ', ' ', rows_null ? 'n' : ' ', message ? ' ' : 'n', sqlstate ? ' ' : 'n'};
	bool		isnull;

	values[0] = Int64GetDatum(run_id);
	values[1] = CStringGetTextDatum(status);
	values[2] = Int64GetDatum(rows);
	values[3] = message ? CStringGetTextDatum(message) : (Datum) 0;
	values[4] = sqlstate ? CStringGetTextDatum(sqlstate) : (Datum) 0;
	(void) RunStatement("SELECT cdp._job_finish($1, $2, $3, $4, $5)", 5, types, values, nulls, &isnull);
}

/* Transaction A. False when nothing is due; *no_ext when cdp is gone. */
static bool
ClaimJob(MemoryContext cxt, int64 *run_id, char **job_name, int *max_runtime_ms, bool *no_ext)
{
	bool		isnull;
	Datum		d;
	bool		claimed = false;

	*no_ext = false;
	if (!BeginJobTransaction("cdp scheduler: looking for due jobs"))
	{
		*no_ext = true;
		return false;
	}
	if (SPI_execute("SELECT run_id, job_name, max_runtime_ms FROM cdp._job_claim()", false, 1) != SPI_OK_SELECT ||
		SPI_processed != 1)
		elog(ERROR, "cdp scheduler: cdp._job_claim() failed");
	d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull);
	if (!isnull)
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);

		*run_id = DatumGetInt64(d);
		*job_name = SPI_getvalue(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2);
		d = SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 3, &isnull);
		*max_runtime_ms = isnull ? 0 : DatumGetInt32(d);
		MemoryContextSwitchTo(old);
		claimed = true;
	}
	EndJobTransaction();
	return claimed;
}

/* Transactions B and C for a claimed run. */
static JobOutcome
ExecuteJob(MemoryContext cxt, int64 run_id, const char *job_name, int max_runtime_ms)
{
	char	   *activity = psprintf("cdp job %s", job_name);
	ErrorData  *edata = NULL;
	JobOutcome	outcome = JOB_RAN;

	PG_TRY();
	{
		if (!BeginJobTransaction(activity))
			outcome = JOB_NO_EXTENSION;
		else
		{
			Oid			type = TEXTOID;
			Datum		name = CStringGetTextDatum(job_name);
			bool		isnull;
			Datum		rows;

			if (max_runtime_ms > 0)
				enable_timeout_after(STATEMENT_TIMEOUT, max_runtime_ms);
			rows = RunStatement("SELECT cdp._job_execute($1)", 1, &type, &name, NULL, &isnull);
			disable_timeout(STATEMENT_TIMEOUT, false);
			FinishRun(run_id, "succeeded", isnull ? 0 : DatumGetInt64(rows), false, NULL, NULL);
			EndJobTransaction();
		}
	}
	PG_CATCH();
	{
		disable_timeout(STATEMENT_TIMEOUT, false);
		MemoryContextSwitchTo(cxt);
		edata = CopyErrorData();
		FlushErrorState();
		AbortCurrentTransaction();
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();

	if (edata != NULL)
	{
		ereport(LOG,
				(errmsg("cdp job \"%s\" failed: %s", job_name, edata->message),
				 errdetail("SQLSTATE %s. The job backs off and is retried.", unpack_sql_state(edata->sqlerrcode))));
		if (BeginJobTransaction(activity))
		{
			FinishRun(run_id, "failed", 0, true, edata->message, unpack_sql_state(edata->sqlerrcode));
			EndJobTransaction();
		}
		else
			outcome = JOB_NO_EXTENSION;
	}

	/* The claim's session-level job lock (an advisory-type tag: USER_LOCKMETHOD). */
	LockReleaseSession(USER_LOCKMETHOD);
	return outcome;
}

static JobOutcome
RunNextJob(MemoryContext cxt)
{
	int64		run_id = 0;
	char	   *job_name = NULL;
	int			max_runtime_ms = 0;
	bool		no_ext;

	if (!ClaimJob(cxt, &run_id, &job_name, &max_runtime_ms, &no_ext))
		return no_ext ? JOB_NO_EXTENSION : JOB_NOTHING_DUE;
	return ExecuteJob(cxt, run_id, job_name, max_runtime_ms);
}

/*
 * Runs jobs until none is due. An error outside a job's own work (in the
 * bookkeeping: a bug, or a table changed under us) is logged and the
 * scheduler naps rather than dies, so one bad row cannot stop maintenance
 * of the database. False when the extension is gone.
 */
static bool
RunDueJobs(MemoryContext cxt)
{
	volatile bool has_cdp = true;

	PG_TRY();
	{
		for (;;)
		{
			JobOutcome	outcome;

			CHECK_FOR_INTERRUPTS();
			MemoryContextReset(cxt);
			outcome = RunNextJob(cxt);
			if (outcome == JOB_NO_EXTENSION)
				has_cdp = false;
			if (outcome != JOB_RAN)
				break;
		}
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(TopMemoryContext);
		disable_timeout(STATEMENT_TIMEOUT, false);
		EmitErrorReport();
		FlushErrorState();
		AbortCurrentTransaction();
		LockReleaseSession(USER_LOCKMETHOD);
		pgstat_report_activity(STATE_IDLE, NULL);
	}
	PG_END_TRY();
	return has_cdp;
}

/* At start: is cdp here, and which runs did a dead worker leave behind? */
static bool
RecoverRuns(void)
{
	bool		isnull;
	Datum		n;

	if (!BeginJobTransaction("cdp scheduler: recovering abandoned runs"))
		return false;
	n = RunStatement("SELECT cdp._job_recover()", 0, NULL, NULL, NULL, &isnull);
	if (!isnull && DatumGetInt32(n) > 0)
		ereport(LOG, (errmsg("cdp scheduler marked %d abandoned job runs as crashed or failed", DatumGetInt32(n))));
	EndJobTransaction();
	return true;
}

void
cdp_scheduler_main(Datum main_arg)
{
	MemoryContext loop_cxt;

	scheduler_db = DatumGetObjectId(main_arg);

	pqsignal(SIGHUP, SignalHandlerForConfigReload);
	pqsignal(SIGTERM, die);
	BackgroundWorkerUnblockSignals();

	/* Register first: see cdp_slot_claim_scheduler. */
	if (!cdp_slot_claim_scheduler(scheduler_db, MyProcPid))
		proc_exit(0);
	before_shmem_exit(SchedulerExit, (Datum) 0);

	BackgroundWorkerInitializeConnectionByOid(scheduler_db, InvalidOid, 0);
	pgstat_report_appname("cdp scheduler");

	loop_cxt = AllocSetContextCreate(TopMemoryContext, "cdp scheduler loop context",
									 ALLOCSET_DEFAULT_SIZES);

	/* No cdp here: leave; the launcher looks again later. */
	if (!RecoverRuns())
		proc_exit(0);
	scheduler_has_cdp = true;
	cdp_slot_set_has_cdp(scheduler_db, true);

	for (;;)
	{
		CHECK_FOR_INTERRUPTS();
		if (ConfigReloadPending)
		{
			ConfigReloadPending = false;
			ProcessConfigFile(PGC_SIGHUP);
		}
		if (!cdp_workers_enabled)
			proc_exit(0);

		if (!RunDueJobs(loop_cxt))
		{
			scheduler_has_cdp = false;
			proc_exit(0);
		}

		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH,
						 cdp_naptime * 1000L, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
	}
}
