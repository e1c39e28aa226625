/*
 * tenant.c — tenant settings and secret, parsed once per call.
 *
 * Settings are validated by cdp._validate_settings when they are written, so
 * here a value of an unexpected shape is simply ignored (the default stands)
 * rather than failing ingestion.
 */
#include "postgres.h"

#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "utils/builtins.h"
#include "utils/datetime.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "jsonutil.h"
#include "normalize.h"
#include "tenant.h"

#define DEFAULT_DEDUPE_WINDOW (7 * USECS_PER_DAY)

static const char *const default_priority[] = {
	CDP_ID_USER_ID, CDP_ID_EMAIL, CDP_ID_PHONE, CDP_ID_DEVICE_ID, CDP_ID_ANONYMOUS_ID, "custom"
};

static SPIPlanPtr tenant_plan = NULL;

static char *
JsonString(JsonbValue *v)
{
	if (v == NULL || v->type != jbvString)
		return NULL;
	return pnstrdup(v->val.string.val, v->val.string.len);
}

static void
SetLimit(CdpTenant *t, const char *id_type, int limit)
{
	ListCell   *lc;
	CdpTypeLimit *l;

	foreach(lc, t->limits)
	{
		l = lfirst(lc);
		if (strcmp(l->id_type, id_type) == 0)
		{
			l->limit = limit;
			return;
		}
	}
	l = palloc(sizeof(CdpTypeLimit));
	l->id_type = pstrdup(id_type);
	l->limit = limit;
	t->limits = lappend(t->limits, l);
}

/* An interval text such as "7 days" in microseconds (months as 30 days). */
static int64
IntervalMicros(const char *text, int64 fallback)
{
	Datum		d;
	Interval   *iv;
	int64		us;

	d = DirectFunctionCall3(interval_in, CStringGetDatum(text),
							ObjectIdGetDatum(InvalidOid), Int32GetDatum(-1));
	iv = DatumGetIntervalP(d);
	us = iv->time + (int64) iv->day * USECS_PER_DAY + (int64) iv->month * DAYS_PER_MONTH * USECS_PER_DAY;
	return us > 0 ? us : fallback;
}

void
cdp_tenant_parse_settings(CdpTenant *t, Jsonb *settings)
{
	JsonbContainer *root = &settings->root;
	JsonbValue	buf;
	JsonbValue *v;
	JsonbContainer *c;

	t->default_country = JsonString(cdp_json_get(root, "default_country", &buf));
	t->blocked = NIL;
	t->blocked_phones = NIL;
	t->limits = NIL;
	t->priority = NIL;
	t->custom_ids = NIL;
	t->dedupe_window = DEFAULT_DEDUPE_WINDOW;

	SetLimit(t, CDP_ID_USER_ID, 1);
	if ((c = cdp_json_object(cdp_json_get(root, "identifier_limits", &buf))) != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(c);
		JsonbValue	k,
					val;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			tok = JsonbIteratorNext(&it, &val, true);
			if (val.type == jbvNull)
				SetLimit(t, pnstrdup(k.val.string.val, k.val.string.len), 0);
			else if (val.type == jbvNumeric)
				SetLimit(t, pnstrdup(k.val.string.val, k.val.string.len),
						 DatumGetInt32(DirectFunctionCall1(numeric_int4,
														   NumericGetDatum(val.val.numeric))));
		}
	}

	if ((c = cdp_json_array(cdp_json_get(root, "identifier_priority", &buf))) != NULL)
	{
		for (uint32 i = 0; i < JsonContainerSize(c); i++)
		{
			char	   *s = JsonString(getIthJsonbValueFromContainer(c, i));

			if (s)
				t->priority = lappend(t->priority, s);
		}
	}
	if (t->priority == NIL)
		for (int i = 0; i < lengthof(default_priority); i++)
			t->priority = lappend(t->priority, (char *) default_priority[i]);

	if ((c = cdp_json_array(cdp_json_get(root, "blocked_values", &buf))) != NULL)
	{
		for (uint32 i = 0; i < JsonContainerSize(c); i++)
		{
			char	   *s = JsonString(getIthJsonbValueFromContainer(c, i));

			if (s)
			{
				/* Compared trimmed and case-insensitively, like the defaults. */
				char	   *n = cdp_normalize_identifier("blocked", s, strlen(s), NULL, NIL, NIL);
				char	   *phone;

				if (n == NULL)
					continue;
				t->blocked = lappend(t->blocked, n);
				/* The number it is, if it is one: blocked in any spelling. */
				phone = cdp_normalize_identifier(CDP_ID_PHONE, n, strlen(n), t->default_country, NIL, NIL);
				if (phone)
					t->blocked_phones = lappend(t->blocked_phones, phone);
			}
		}
	}

	if ((v = cdp_json_get(root, "dedupe_window", &buf)) != NULL && v->type == jbvString)
		t->dedupe_window = IntervalMicros(pnstrdup(v->val.string.val, v->val.string.len),
										  DEFAULT_DEDUPE_WINDOW);

	if ((c = cdp_json_object(cdp_json_get(root, "custom_identifiers", &buf))) != NULL)
	{
		JsonbIterator *it = JsonbIteratorInit(c);
		JsonbValue	k,
					val;
		JsonbIteratorToken tok;

		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			tok = JsonbIteratorNext(&it, &val, true);
			if (val.type == jbvString)
			{
				CdpCustomId *ci = palloc(sizeof(CdpCustomId));

				ci->id_type = pnstrdup(k.val.string.val, k.val.string.len);
				ci->path = pnstrdup(val.val.string.val, val.val.string.len);
				if (cdp_valid_id_type(ci->id_type))
					t->custom_ids = lappend(t->custom_ids, ci);
			}
		}
	}
}

CdpTenant *
cdp_tenant_make(int32 tenant_id, Jsonb *settings, bytea *secret)
{
	CdpTenant  *t = palloc0(sizeof(CdpTenant));

	t->tenant_id = tenant_id;
	if (VARSIZE_ANY_EXHDR(secret) > CDP_SECRET_MAX)
		elog(ERROR, "secret of tenant %d is longer than %d bytes", tenant_id, CDP_SECRET_MAX);
	t->secret_len = VARSIZE_ANY_EXHDR(secret);
	memcpy(t->secret, VARDATA_ANY(secret), t->secret_len);
	cdp_tenant_parse_settings(t, settings);
	return t;
}

CdpTenant *
cdp_tenant_load(int32 tenant_id, MemoryContext cxt)
{
	Datum		args[1];
	int			rc;
	bool		isnull;
	CdpTenant  *t;
	MemoryContext old;
	Jsonb	   *settings;
	bytea	   *secret;

	if (tenant_plan == NULL)
	{
		Oid			argtypes[1] = {INT4OID};
		SPIPlanPtr	p = SPI_prepare("SELECT t.settings, s.secret FROM cdp.tenants t "
									"JOIN cdp.tenant_secrets s ON s.tenant_id OPERATOR(pg_catalog.=) t.tenant_id "
									"WHERE t.tenant_id OPERATOR(pg_catalog.=) $1", 1, argtypes);

		if (p == NULL)
			elog(ERROR, "SPI_prepare failed: %s", SPI_result_code_string(SPI_result));
		SPI_keepplan(p);
		tenant_plan = p;
	}
	args[0] = Int32GetDatum(tenant_id);
	rc = SPI_execute_plan(tenant_plan, args, NULL, true, 1);
	if (rc != SPI_OK_SELECT)
		elog(ERROR, "reading tenant %d failed: %s", tenant_id, SPI_result_code_string(rc));
	if (SPI_processed == 0)
		ereport(ERROR,
				(errcode(ERRCODE_UNDEFINED_OBJECT),
				 errmsg("tenant %d does not exist", tenant_id)));

	settings = DatumGetJsonbP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 1, &isnull));
	secret = DatumGetByteaPP(SPI_getbinval(SPI_tuptable->vals[0], SPI_tuptable->tupdesc, 2, &isnull));
	old = MemoryContextSwitchTo(cxt);
	t = cdp_tenant_make(tenant_id, settings, secret);
	MemoryContextSwitchTo(old);
	SPI_freetuptable(SPI_tuptable);
	return t;
}

int
cdp_tenant_limit(CdpTenant *t, const char *id_type)
{
	ListCell   *lc;

	foreach(lc, t->limits)
	{
		CdpTypeLimit *l = lfirst(lc);

		if (strcmp(l->id_type, id_type) == 0)
			return l->limit;
	}
	return 0;
}

static bool
IsBuiltinType(const char *id_type)
{
	return strcmp(id_type, CDP_ID_USER_ID) == 0 || strcmp(id_type, CDP_ID_ANONYMOUS_ID) == 0 ||
		strcmp(id_type, CDP_ID_EMAIL) == 0 || strcmp(id_type, CDP_ID_PHONE) == 0 ||
		strcmp(id_type, CDP_ID_DEVICE_ID) == 0;
}

int
cdp_tenant_rank(CdpTenant *t, const char *id_type)
{
	ListCell   *lc;
	int			i = 0;
	int			custom_rank = -1;

	foreach(lc, t->priority)
	{
		const char *p = lfirst(lc);

		if (strcmp(p, id_type) == 0)
			return i;
		if (strcmp(p, "custom") == 0)
			custom_rank = i;
		i++;
	}
	if (custom_rank >= 0 && !IsBuiltinType(id_type))
		return custom_rank;
	return i;					/* not listed: after every listed type */
}
