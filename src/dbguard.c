/*
 * dbguard.c — gets a scheduler out of the way of database-level commands.
 *
 * DROP DATABASE, ALTER DATABASE ... RENAME / SET TABLESPACE and CREATE
 * DATABASE ... TEMPLATE refuse to run while another session is connected to
 * the database (PostgreSQL 15 waits 5 seconds, then fails), and a scheduler
 * is such a session. Like TimescaleDB, cdp intercepts these commands with a
 * ProcessUtility hook: before the command runs, the database's scheduler is
 * put on hold (the launcher will not restart it) and stopped with SIGTERM,
 * and the hook waits for it to exit. When the command ends, the hold is
 * lifted; after a DROP there is nothing left to restart.
 *
 * Installed only when cdp is preloaded: without it there are no schedulers.
 */
#include "postgres.h"

#include <signal.h>

#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "cdp.h"
#include "worker.h"

/* Longest the hook waits for a scheduler to exit. */
#define CDP_STOP_WAIT_MS	10000
/* A hold outlives a backend that dies mid-command by at most this long. */
#define CDP_HOLD_MS			(120 * 1000)

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

static bool
HasOption(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, name) == 0)
			return true;
	}
	return false;
}

static const char *
TemplateOption(List *options)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, "template") == 0 && opt->arg != NULL)
			return defGetString(opt);
	}
	return NULL;
}

/* The database a command needs to have to itself, or InvalidOid. */
static Oid
DatabaseNeedingExclusiveUse(Node *parsetree)
{
	const char *name = NULL;

	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			name = ((DropdbStmt *) parsetree)->dbname;
			break;
		case T_RenameStmt:
			if (((RenameStmt *) parsetree)->renameType == OBJECT_DATABASE)
				name = ((RenameStmt *) parsetree)->subname;
			break;
		case T_AlterDatabaseStmt:
			if (HasOption(((AlterDatabaseStmt *) parsetree)->options, "tablespace"))
				name = ((AlterDatabaseStmt *) parsetree)->dbname;
			break;
		case T_CreatedbStmt:
			name = TemplateOption(((CreatedbStmt *) parsetree)->options);
			break;
		default:
			break;
	}
	return name ? get_database_oid(name, true) : InvalidOid;
}

static void
StopScheduler(Oid dboid)
{
	TimestampTz now = GetCurrentTimestamp();
	TimestampTz deadline = TimestampTzPlusMilliseconds(now, CDP_STOP_WAIT_MS);
	pid_t		pid = cdp_slot_hold(dboid, TimestampTzPlusMilliseconds(now, CDP_HOLD_MS));
	CdpDbSlot	slot;

	if (pid == 0)
		return;
	kill(pid, SIGTERM);
	while (cdp_slot_get(dboid, &slot) && slot.scheduler_pid == pid && kill(pid, 0) == 0 &&
		   GetCurrentTimestamp() < deadline)
	{
		(void) WaitLatch(MyLatch, WL_LATCH_SET | WL_TIMEOUT | WL_EXIT_ON_PM_DEATH, 10, PG_WAIT_EXTENSION);
		ResetLatch(MyLatch);
		CHECK_FOR_INTERRUPTS();
	}
}

static void
CdpProcessUtility(PlannedStmt *pstmt, const char *queryString, bool readOnlyTree,
				  ProcessUtilityContext context, ParamListInfo params,
				  QueryEnvironment *queryEnv, DestReceiver *dest, QueryCompletion *qc)
{
	volatile Oid dboid = InvalidOid;

	if (cdp_workers_shmem_ready())
		dboid = DatabaseNeedingExclusiveUse(pstmt->utilityStmt);

	if (OidIsValid(dboid))
		StopScheduler(dboid);

	PG_TRY();
	{
		if (prev_ProcessUtility)
			prev_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
		else
			standard_ProcessUtility(pstmt, queryString, readOnlyTree, context, params, queryEnv, dest, qc);
	}
	PG_FINALLY();
	{
		if (OidIsValid(dboid))
		{
			(void) cdp_slot_hold(dboid, 0);
			cdp_launcher_wake();
		}
	}
	PG_END_TRY();
}

void
cdp_dbguard_init(void)
{
	prev_ProcessUtility = ProcessUtility_hook;
	ProcessUtility_hook = CdpProcessUtility;
}
