/*
 * hash.h — keyed identifier hashes: HMAC-SHA-256 under the tenant's secret
 * of id_type || ':' || normalized value (DESIGN 4). A plain SHA-256 of an
 * email would be reversible with a dictionary; the keyed hash is not without
 * the secret, which only the extension owner can read.
 */
#ifndef CDP_HASH_H
#define CDP_HASH_H

#include "common/sha2.h"

#include "tenant.h"

#define CDP_HASH_LEN PG_SHA256_DIGEST_LENGTH

extern void cdp_hash_identifier(CdpTenant *t, const char *id_type, const char *normalized,
								uint8 *out);

#endif							/* CDP_HASH_H */
