/*
 * tenant.h — what identity resolution needs to know about a tenant: its
 * hashing secret and its settings (cdp.tenants.settings), parsed once per
 * call and shared by every message of a batch.
 */
#ifndef CDP_TENANT_H
#define CDP_TENANT_H

#include "datatype/timestamp.h"
#include "nodes/pg_list.h"
#include "utils/jsonb.h"
#include "utils/palloc.h"

#define CDP_SECRET_MAX 256

/* settings.custom_identifiers: an identifier type read from a JSON path. */
typedef struct CdpCustomId
{
	char	   *id_type;
	char	   *path;
} CdpCustomId;

/* settings.identifier_limits entry; limit 0 means no limit. */
typedef struct CdpTypeLimit
{
	char	   *id_type;
	int			limit;
} CdpTypeLimit;

typedef struct CdpTenant
{
	int32		tenant_id;
	char	   *default_country;	/* ISO 3166-1 alpha-2, or NULL */
	List	   *blocked;		/* lower-cased extra blocked values (char *) */
	List	   *blocked_phones; /* those that are phone numbers, in E.164 */
	List	   *limits;			/* CdpTypeLimit *, defaults merged in */
	List	   *priority;		/* type names, highest first; "custom" = any custom type */
	int64		dedupe_window;	/* microseconds */
	List	   *custom_ids;		/* CdpCustomId * */
	uint8		secret[CDP_SECRET_MAX];
	int			secret_len;
	struct pg_hmac_ctx *hmac;	/* reused by a call for all its hashes, or NULL */
} CdpTenant;

/*
 * Reads tenant tenant_id (settings and secret) through SPI; the caller is
 * connected to SPI. Raises 42704 if there is no such tenant. The result is
 * allocated in cxt (outlives SPI_finish).
 */
extern CdpTenant *cdp_tenant_load(int32 tenant_id, MemoryContext cxt);

/* A tenant from its settings and secret (detoasted as needed), in CurrentMemoryContext. */
extern CdpTenant *cdp_tenant_make(int32 tenant_id, Jsonb *settings, bytea *secret);

/* Parses settings jsonb into t (defaults for missing keys). */
extern void cdp_tenant_parse_settings(CdpTenant *t, Jsonb *settings);

/* The per-profile limit of a type (0 = none) and its priority rank (0 = highest). */
extern int	cdp_tenant_limit(CdpTenant *t, const char *id_type);
extern int	cdp_tenant_rank(CdpTenant *t, const char *id_type);

#endif							/* CDP_TENANT_H */
