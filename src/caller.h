/*
 * caller.h — on whose behalf the API functions of cdp act.
 */
#ifndef CDP_CALLER_H
#define CDP_CALLER_H

#include "fmgr.h"

extern Datum cdp_caller(PG_FUNCTION_ARGS);
extern Datum cdp_querier(PG_FUNCTION_ARGS);

#endif							/* CDP_CALLER_H */
