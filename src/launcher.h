/*
 * launcher.h — the static launcher worker (entry point declared in worker.h).
 */
#ifndef CDP_LAUNCHER_H
#define CDP_LAUNCHER_H

#include "worker.h"

#endif							/* CDP_LAUNCHER_H */
