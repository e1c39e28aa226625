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
 * The hook runs before PostgreSQL's own permission checks, so it repeats
 * them: a command that is going to fail on them (a role that does not own
 * the database, lacks CREATEDB, may not copy the template or create in the
 * tablespace) must not stop anything, or any login role could keep a
 * database's scheduler down by failing such a command in a loop.
 *
 * Installed only when cdp is preloaded: without it there are no schedulers.
 */
#include "postgres.h"

#include <signal.h>

#include "access/htup_details.h"
#include "catalog/pg_database.h"
#include "commands/dbcommands.h"
#include "commands/defrem.h"
#include "commands/tablespace.h"
#include "miscadmin.h"
#include "nodes/parsenodes.h"
#include "storage/latch.h"
#include "tcop/utility.h"
#include "utils/acl.h"
#include "utils/syscache.h"
#include "utils/timestamp.h"
#include "utils/wait_event.h"

#include "cdp.h"
#include "worker.h"

/* Longest the hook waits for a scheduler to exit. */
#define CDP_STOP_WAIT_MS	10000
/* A hold outlives a backend that dies mid-command by at most this long. */
#define CDP_HOLD_MS			(120 * 1000)

static ProcessUtility_hook_type prev_ProcessUtility = NULL;

/* The value of a command's option, or NULL when it is absent (or DEFAULT). */
static const char *
OptionString(List *options, const char *name)
{
	ListCell   *lc;

	foreach(lc, options)
	{
		DefElem    *opt = lfirst_node(DefElem, lc);

		if (strcmp(opt->defname, name) == 0 && opt->arg != NULL)
			return defGetString(opt);
	}
	return NULL;
}

static bool
IsTemplate(Oid dboid)
{
	HeapTuple	tup = SearchSysCache1(DATABASEOID, ObjectIdGetDatum(dboid));
	bool		result = false;

	if (HeapTupleIsValid(tup))
	{
		result = ((Form_pg_database) GETSTRUCT(tup))->datistemplate;
		ReleaseSysCache(tup);
	}
	return result;
}

/*
 * Whether the command passes the checks PostgreSQL 15 makes before it would
 * wait for the database's other sessions (dbcommands.c: dropdb,
 * RenameDatabase, movedb, createdb), for the current user. Only a copy may
 * name the current database; the others refuse it by themselves.
 */
static bool
PassesPermissionChecks(Node *parsetree, Oid dboid)
{
	Oid			roleid = GetUserId();

	if (dboid == MyDatabaseId && !IsA(parsetree, CreatedbStmt))
		return false;
	switch (nodeTag(parsetree))
	{
		case T_DropdbStmt:
			return pg_database_ownercheck(dboid, roleid);
		case T_RenameStmt:
			return pg_database_ownercheck(dboid, roleid) && have_createdb_privilege();
		case T_AlterDatabaseStmt:
			{
				const char *spc = OptionString(((AlterDatabaseStmt *) parsetree)->options, "tablespace");
				Oid			spcoid = spc ? get_tablespace_oid(spc, true) : InvalidOid;

				return pg_database_ownercheck(dboid, roleid) && OidIsValid(spcoid) &&
					pg_tablespace_aclcheck(spcoid, roleid, ACL_CREATE) == ACLCHECK_OK;
			}
		case T_CreatedbStmt:
			return have_createdb_privilege() &&
				(IsTemplate(dboid) || pg_database_ownercheck(dboid, roleid));
		default:
			return false;
	}
}

/*
 * The database a command needs to have to itself, or InvalidOid: none, a
 * database that does not exist, or a command that will fail its checks.
 */
static Oid
DatabaseNeedingExclusiveUse(Node *parsetree)
{
	const char *name = NULL;
	Oid			dboid;

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
			if (OptionString(((AlterDatabaseStmt *) parsetree)->options, "tablespace"))
				name = ((AlterDatabaseStmt *) parsetree)->dbname;
			break;
		case T_CreatedbStmt:
			name = OptionString(((CreatedbStmt *) parsetree)->options, "template");
			break;
		default:
			break;
	}
	if (name == NULL)
		return InvalidOid;
	dboid = get_database_oid(name, true);
	if (!OidIsValid(dboid) || !PassesPermissionChecks(parsetree, dboid))
		return InvalidOid;
	return dboid;
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
