/*
 * secrets.c — random material for tenant secrets and write keys.
 *
 * pg_strong_random draws from the operating system's CSPRNG (or OpenSSL), the
 * same source PostgreSQL uses for SCRAM salts and cancel keys.
 */
#include "postgres.h"

#include "fmgr.h"
#include "port.h"

PG_FUNCTION_INFO_V1(cdp_random_bytes);

/* cdp._random_bytes(n integer) RETURNS bytea */
Datum
cdp_random_bytes(PG_FUNCTION_ARGS)
{
	int32		len = PG_GETARG_INT32(0);
	bytea	   *result;

	if (len < 1 || len > 1024)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("random byte count must be between 1 and 1024, not %d", len)));

	result = (bytea *) palloc(VARHDRSZ + len);
	SET_VARSIZE(result, VARHDRSZ + len);
	if (!pg_strong_random(VARDATA(result), len))
		ereport(ERROR,
				(errcode(ERRCODE_INTERNAL_ERROR),
				 errmsg("could not generate random bytes")));

	PG_RETURN_BYTEA_P(result);
}
