/*
 * caller.c — the role on whose behalf a cdp SECURITY DEFINER function acts.
 *
 * Inside a SECURITY DEFINER function CURRENT_USER is the function's owner,
 * so cdp._caller() answers with the session's role: the role set by SET ROLE,
 * else the session user (GetOuterUserId(), what current_setting('role') and
 * SESSION_USER gave in SQL before).
 *
 * That answer is wrong whenever PostgreSQL runs one role's code inside
 * another role's session, and the worst of those cases needs no victim at
 * all: a security-restricted operation (index expressions and predicates
 * evaluated by ANALYZE, VACUUM, CREATE INDEX, REINDEX, CLUSTER, REFRESH
 * MATERIALIZED VIEW, and autovacuum, whose session user is the bootstrap
 * superuser) runs the table owner's functions as the table owner while the
 * session role is the maintenance role. PostgreSQL marks those operations
 * precisely so that untrusted owners gain nothing; answering with the
 * session's role would hand the owner's code the maintenance role's grants.
 * So cdp._caller() refuses to answer there (42501), and every API function
 * that decides with it (set_consent, erase, export, the tenant checks of
 * lookup and profile) is refused.
 *
 * What remains (docs/consent.md, "Known limits"): an ordinary SECURITY
 * DEFINER function of another role, called by a more privileged session,
 * still acts with the session's grants when it calls set_consent, erase or
 * export. PostgreSQL keeps no record of the user a definer function switched
 * away from that an extension could read; the reading functions
 * (cdp.lookup, cdp.profile) are not affected, they are SECURITY INVOKER and
 * judge CURRENT_USER.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"

#include "caller.h"

PG_FUNCTION_INFO_V1(cdp_caller);

/* cdp._caller() RETURNS oid */
Datum
cdp_caller(PG_FUNCTION_ARGS)
{
	if (InSecurityRestrictedOperation())
		ereport(ERROR,
				(errcode(ERRCODE_INSUFFICIENT_PRIVILEGE),
				 errmsg("cdp functions cannot be called in a security-restricted operation"),
				 errdetail("Index expressions, ANALYZE, VACUUM, REINDEX, CLUSTER, REFRESH MATERIALIZED VIEW and autovacuum run a table owner's code in another role's session; cdp cannot tell on whose behalf it is called there."),
				 errhint("Call cdp functions from ordinary queries, not from index expressions or materialized views.")));

	PG_RETURN_OID(GetOuterUserId());
}

PG_FUNCTION_INFO_V1(cdp_querier);

/*
 * cdp._querier() RETURNS oid: the role a query is answered for, CURRENT_USER,
 * as its oid (GetUserId(), what CURRENT_USER names). Not looked up by name:
 * CURRENT_USER's name comes from the catalog cache, which follows renames as
 * soon as they are committed, while a query of pg_roles reads the
 * transaction's snapshot. In REPEATABLE READ (or a cursor) after roles were
 * renamed, the new name of the querying role could be another role's name in
 * that snapshot, and the query would be answered with that role's grants
 * (review 10).
 */
Datum
cdp_querier(PG_FUNCTION_ARGS)
{
	PG_RETURN_OID(GetUserId());
}
