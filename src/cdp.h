/*
 * cdp.h — shared declarations of the cdp extension.
 *
 * Each concern keeps its own header (ingest.h, worker.h, ...); this one holds
 * only what every module needs: the module-init entry points that _PG_init
 * calls and the schema name.
 */
#ifndef CDP_H
#define CDP_H

#define CDP_SCHEMA "cdp"

/* Each module defines its own GUCs (and, when preloaded, its shared state). */
extern void cdp_ingest_init(void);
extern void cdp_worker_init(void);

#endif							/* CDP_H */
