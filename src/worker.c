/*
 * worker.c — background worker settings. The launcher and schedulers come
 * with the jobs issue; the settings exist from the start so that
 * postgresql.conf can name them.
 */
#include "postgres.h"

#include "miscadmin.h"
#include "utils/guc.h"

#include "cdp.h"
#include "worker.h"

bool		cdp_workers_enabled = true;
int			cdp_naptime = 10;
int			cdp_max_workers = 8;

void
cdp_worker_init(void)
{
	DefineCustomBoolVariable("cdp.workers_enabled",
							 "Runs cdp's scheduled jobs in background workers.",
							 NULL,
							 &cdp_workers_enabled,
							 true,
							 PGC_SIGHUP, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.naptime",
							"Seconds a scheduler sleeps between looks for due jobs.",
							NULL,
							&cdp_naptime,
							10, 1, 3600,
							PGC_SIGHUP, GUC_UNIT_S, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_workers",
							"Most databases served by a cdp scheduler at once.",
							NULL,
							&cdp_max_workers,
							8, 1, 128,
							PGC_POSTMASTER, 0, NULL, NULL, NULL);
}
