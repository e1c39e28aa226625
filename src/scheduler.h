/*
 * scheduler.h — the per-database scheduler worker (entry point declared in
 * worker.h, next to the launcher's).
 */
#ifndef CDP_SCHEDULER_H
#define CDP_SCHEDULER_H

#include "worker.h"

#endif							/* CDP_SCHEDULER_H */
