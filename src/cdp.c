/*
 * cdp.c — library entry point.
 *
 * _PG_init defines every cdp.* setting (each module owns its own), reserves
 * the "cdp" prefix so a typo in postgresql.conf is reported, and — only when
 * loaded through shared_preload_libraries — registers the background workers.
 */
#include "postgres.h"

#include "fmgr.h"
#include "miscadmin.h"
#include "utils/guc.h"

#include "cdp.h"

PG_MODULE_MAGIC;

void		_PG_init(void);

void
_PG_init(void)
{
	cdp_ingest_init();
	cdp_worker_init();

	MarkGUCPrefixReserved("cdp");
}
