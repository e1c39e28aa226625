/*
 * accessmemo.h — the access helpers' answers (cdp._my_roles and the tenant
 * sets of the policies and views), remembered per role and snapshot.
 */
#ifndef CDP_ACCESSMEMO_H
#define CDP_ACCESSMEMO_H

#include "fmgr.h"

extern Datum cdp_my_roles(PG_FUNCTION_ARGS);
extern Datum cdp_granted_tenants(PG_FUNCTION_ARGS);
extern Datum cdp_view_tenants(PG_FUNCTION_ARGS);
extern Datum cdp_full_tenants(PG_FUNCTION_ARGS);
extern Datum cdp_pii_tenants(PG_FUNCTION_ARGS);

#endif							/* CDP_ACCESSMEMO_H */
