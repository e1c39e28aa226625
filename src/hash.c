/*
 * hash.c — HMAC-SHA-256 of identifiers (PostgreSQL's common/hmac.h, which
 * uses OpenSSL when the server is built with it), and the SQL functions
 * cdp._identifier_hash and cdp._normalize_identifier that expose the same
 * code to the privacy functions and to tests.
 */
#include "postgres.h"

#include "common/hmac.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "utils/builtins.h"

#include "hash.h"
#include "normalize.h"
#include "tenant.h"

PG_FUNCTION_INFO_V1(cdp_identifier_hash);
PG_FUNCTION_INFO_V1(cdp_normalize_identifier_sql);

void
cdp_hash_identifier(CdpTenant *t, const char *id_type, const char *normalized, uint8 *out)
{
	pg_hmac_ctx *ctx = t->hmac ? t->hmac : pg_hmac_create(PG_SHA256);

	if (ctx == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	if (pg_hmac_init(ctx, t->secret, t->secret_len) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) id_type, strlen(id_type)) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) ":", 1) < 0 ||
		pg_hmac_update(ctx, (const uint8 *) normalized, strlen(normalized)) < 0 ||
		pg_hmac_final(ctx, out, CDP_HASH_LEN) < 0)
	{
		const char *err = pg_hmac_error(ctx);

		elog(ERROR, "could not compute HMAC-SHA-256: %s", err);
	}
	if (ctx != t->hmac)
		pg_hmac_free(ctx);
}

/* Checks an id_type argument of the SQL functions. */
static char *
IdTypeArg(text *arg)
{
	char	   *id_type = text_to_cstring(arg);

	if (!cdp_valid_id_type(id_type))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("invalid identifier type \"%s\"", id_type),
				 errdetail("Identifier types are user_id, anonymous_id, email, phone, device_id, or a custom name of lower-case letters, digits, underscores, dots and hyphens, beginning with a letter.")));
	return id_type;
}

/* Normalizes value for tenant; loads the tenant (settings, secret). */
static char *
NormalizeFor(int32 tenant_id, const char *id_type, text *value, CdpTenant **tenant)
{
	CdpTenant  *t;
	MemoryContext cxt = CurrentMemoryContext;

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	t = cdp_tenant_load(tenant_id, cxt);
	SPI_finish();
	*tenant = t;
	return cdp_normalize_identifier(id_type, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value),
									t->default_country, t->blocked, t->blocked_phones);
}

/*
 * cdp._identifier_hash(tenant_id integer, id_type text, value text) RETURNS bytea
 * NULL when value is not an identifier (blocked, or a phone number that is
 * not E.164 even with the tenant's default country).
 */
Datum
cdp_identifier_hash(PG_FUNCTION_ARGS)
{
	int32		tenant_id = PG_GETARG_INT32(0);
	char	   *id_type = IdTypeArg(PG_GETARG_TEXT_PP(1));
	CdpTenant  *t;
	char	   *normalized = NormalizeFor(tenant_id, id_type, PG_GETARG_TEXT_PP(2), &t);
	bytea	   *result;

	if (normalized == NULL)
		PG_RETURN_NULL();
	result = palloc(VARHDRSZ + CDP_HASH_LEN);
	SET_VARSIZE(result, VARHDRSZ + CDP_HASH_LEN);
	cdp_hash_identifier(t, id_type, normalized, (uint8 *) VARDATA(result));
	memset(t->secret, 0, sizeof(t->secret));
	PG_RETURN_BYTEA_P(result);
}

/* cdp._normalize_identifier(tenant_id integer, id_type text, value text) RETURNS text */
Datum
cdp_normalize_identifier_sql(PG_FUNCTION_ARGS)
{
	int32		tenant_id = PG_GETARG_INT32(0);
	char	   *id_type = IdTypeArg(PG_GETARG_TEXT_PP(1));
	CdpTenant  *t;
	char	   *normalized = NormalizeFor(tenant_id, id_type, PG_GETARG_TEXT_PP(2), &t);

	memset(t->secret, 0, sizeof(t->secret));
	if (normalized == NULL)
		PG_RETURN_NULL();
	PG_RETURN_TEXT_P(cstring_to_text(normalized));
}

PG_FUNCTION_INFO_V1(cdp_lookup_key);

static SPIPlanPtr tenant_by_name_plan = NULL;

/*
 * cdp._lookup_key(tenant text, id_type text, value text,
 *                 OUT tenant_id integer, OUT id_hash bytea)
 * What cdp.lookup needs in one definer call: the tenant's id and the keyed
 * hash of the identifier (NULL when the value is not an identifier). The
 * tenant goes through cdp._reader_tenant_id, which refuses (42501) a
 * tenant the caller has no grant on: otherwise this would be an oracle for
 * any tenant's keyed hash (a dictionary attack on its emails).
 */
Datum
cdp_lookup_key(PG_FUNCTION_ARGS)
{
	MemoryContext cxt = CurrentMemoryContext;
	TupleDesc	tupdesc;
	Datum		values[2];
	bool		nulls[2] = {false, true};
	Datum		arg;
	bool		isnull;
	char	   *tenant;
	char	   *id_type;
	CdpTenant  *t;
	char	   *normalized;

	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("tenant must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("id_type must not be NULL")));
	tenant = text_to_cstring(PG_GETARG_TEXT_PP(0));
	id_type = IdTypeArg(PG_GETARG_TEXT_PP(1));
	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");

	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	if (tenant_by_name_plan == NULL)
	{
		Oid			argtypes[1] = {TEXTOID};
		SPIPlanPtr	p = SPI_prepare("SELECT t.tenant_id, t.settings, s.secret FROM cdp.tenants t "
									"JOIN cdp.tenant_secrets s ON s.tenant_id OPERATOR(pg_catalog.=) t.tenant_id "
									"WHERE t.tenant_id OPERATOR(pg_catalog.=) (SELECT cdp._reader_tenant_id($1))", 1, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		tenant_by_name_plan = p;
	}
	arg = PointerGetDatum(PG_GETARG_TEXT_PP(0));
	if (SPI_execute_plan(tenant_by_name_plan, &arg, NULL, true, 1) != SPI_OK_SELECT)
		elog(ERROR, "reading tenant \"%s\" failed", tenant);
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant \"%s\" does not exist", tenant),
				 errhint("Create it with cdp.create_tenant(name).")));
	{
		MemoryContext old = MemoryContextSwitchTo(cxt);
		HeapTuple	row = SPI_tuptable->vals[0];
		TupleDesc	desc = SPI_tuptable->tupdesc;

		values[0] = SPI_getbinval(row, desc, 1, &isnull);
		t = cdp_tenant_make(DatumGetInt32(values[0]),
							DatumGetJsonbP(SPI_getbinval(row, desc, 2, &isnull)),
							DatumGetByteaPP(SPI_getbinval(row, desc, 3, &isnull)));
		MemoryContextSwitchTo(old);
	}
	SPI_finish();

	if (!PG_ARGISNULL(2))
	{
		text	   *value = PG_GETARG_TEXT_PP(2);

		normalized = cdp_normalize_identifier(id_type, VARDATA_ANY(value), VARSIZE_ANY_EXHDR(value),
											  t->default_country, t->blocked, t->blocked_phones);
		if (normalized != NULL)
		{
			bytea	   *h = palloc(VARHDRSZ + CDP_HASH_LEN);

			SET_VARSIZE(h, VARHDRSZ + CDP_HASH_LEN);
			cdp_hash_identifier(t, id_type, normalized, (uint8 *) VARDATA(h));
			values[1] = PointerGetDatum(h);
			nulls[1] = false;
		}
	}
	memset(t->secret, 0, sizeof(t->secret));
	PG_RETURN_DATUM(HeapTupleGetDatum(heap_form_tuple(BlessTupleDesc(tupdesc), values, nulls)));
}
