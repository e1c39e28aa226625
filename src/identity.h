/*
 * identity.h — identity resolution (DESIGN 4): which canonical profile a
 * message belongs to, creating, attaching and merging profiles as its
 * identifiers require, within the per-type limits of the tenant.
 */
#ifndef CDP_IDENTITY_H
#define CDP_IDENTITY_H

#include "message.h"

/*
 * Resolves m to a canonical profile and returns its id. With lock (identify:
 * traits will be written), or whenever profiles change, the profile row is
 * locked FOR UPDATE until the end of the transaction.
 */
extern int64 cdp_identity_resolve(CdpBatch *batch, CdpMessage *m, bool lock);

/*
 * Read-only: the profile of m when every identifier is known and all are on
 * one profile (nothing to write), else 0.
 */
extern int64 cdp_identity_peek(CdpBatch *batch, CdpMessage *m);

#endif							/* CDP_IDENTITY_H */
