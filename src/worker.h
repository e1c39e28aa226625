/*
 * worker.h — background workers: a launcher and one scheduler per database.
 */
#ifndef CDP_WORKER_H
#define CDP_WORKER_H

extern bool cdp_workers_enabled;
extern int	cdp_naptime;
extern int	cdp_max_workers;

#endif							/* CDP_WORKER_H */
