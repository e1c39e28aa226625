/*
 * ingest.c — cdp.ingest and cdp.ingest_batch: authenticate the write key,
 * then for each message, in the caller's transaction: validate (a bad
 * message is quarantined and answered "rejected"), drop it if it names an
 * erased person ("suppressed"), deduplicate by messageId ("duplicate"),
 * resolve identity, merge traits, store group traits, consent and the event.
 *
 * Work shared by a batch is done once per call: authentication, tenant
 * settings and secret, the suppression check, sequence lookups. Every
 * statement is a plan prepared once per backend (plans.c).
 *
 * A batch runs in one subtransaction: a deadlock or serialization failure
 * (possible between concurrent multi-message batches that touch the same
 * people in different orders) rolls it back and runs it again, so callers
 * do not see them. An unexpected data error in one message (which
 * validation did not foresee) makes the batch run again message by message,
 * each in its own subtransaction, so that only that message is rejected.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "common/cryptohash.h"
#include "common/sha2.h"
#include "executor/spi.h"
#include "fmgr.h"
#include "funcapi.h"
#include "miscadmin.h"
#include "utils/array.h"
#include "utils/builtins.h"
#include "utils/guc.h"
#include "utils/jsonb.h"
#include "utils/lsyscache.h"
#include "utils/memutils.h"
#include "utils/resowner.h"
#include "utils/timestamp.h"

#include "cdp.h"
#include "identity.h"
#include "ingest.h"
#include "jsonutil.h"
#include "message.h"
#include "plans.h"
#include "tenant.h"
#include "timeparse.h"
#include "traits.h"

PG_FUNCTION_INFO_V1(cdp_ingest);
PG_FUNCTION_INFO_V1(cdp_ingest_batch);

int			cdp_max_payload_bytes = 1024 * 1024;
int			cdp_max_properties = 1000;
int			cdp_max_message_id_length = 255;
int			cdp_max_batch_messages = 100000;

#define MAX_BATCH_RETRIES 10

typedef struct CdpResult
{
	char	   *message_id;
	const char *status;
	int64		profile_id;
	int64		event_id;
	char	   *error;
	int			sqlstate;
} CdpResult;

typedef struct CdpCall
{
	CdpBatch	batch;
	JsonbContainer *array;		/* the messages, or NULL for one message */
	JsonbValue	single;			/* the one message of cdp.ingest */
	int			n;
	CdpResult  *results;
	bool		has_suppressions;
	Oid			event_seq;
	MemoryContext callcxt;		/* results: outlives SPI_finish */
	MemoryContext msgcxt;		/* reset after each message */
} CdpCall;

void
cdp_ingest_init(void)
{
	DefineCustomIntVariable("cdp.max_payload_bytes",
							"Largest accepted message, in bytes of its JSON text.",
							"Larger messages are quarantined with SQLSTATE 54000.",
							&cdp_max_payload_bytes,
							1024 * 1024, 1024, 64 * 1024 * 1024,
							PGC_USERSET, GUC_UNIT_BYTE, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_properties",
							"Most top-level keys accepted in properties or traits of one message.",
							NULL,
							&cdp_max_properties,
							1000, 1, 100000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_message_id_length",
							"Longest accepted messageId, in bytes.",
							NULL,
							&cdp_max_message_id_length,
							255, 16, 4096,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_batch_messages",
							"Most messages accepted in one cdp.ingest_batch call.",
							"A larger batch is refused whole with SQLSTATE 54000.",
							&cdp_max_batch_messages,
							100000, 1, 10000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
}

/* ---------- authentication ---------- */

static void
BadKey(const char *detail)
{
	ereport(ERROR,
			(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
			 errmsg("invalid write key"),
			 errdetail("%s", detail),
			 errhint("Use the key cdp.create_source or cdp.rotate_write_key returned.")));
}

/*
 * A write key is "cdpk_<tenant id>_<48 hex digits>"; it is looked up by
 * (tenant id, SHA-256 of the key). Sets the tenant and source of the call.
 */
static void
Authenticate(CdpCall *call, text *key_text)
{
	char	   *key = text_to_cstring(key_text);
	char	   *p = key + 5;
	char	   *end;
	long		tenant_id;
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	pg_cryptohash_ctx *ctx;
	bytea	   *hash;
	Datum		v[2];
	bool		isnull;

	if (strncmp(key, "cdpk_", 5) != 0 || !(*p >= '1' && *p <= '9'))
		BadKey("A write key begins with \"cdpk_\" and the tenant id.");
	errno = 0;
	tenant_id = strtol(p, &end, 10);
	if (errno != 0 || tenant_id <= 0 || tenant_id > PG_INT32_MAX || *end != '_' ||
		strlen(end + 1) != 48 || strspn(end + 1, "0123456789abcdef") != 48)
		BadKey("A write key is \"cdpk_\", the tenant id, \"_\" and 48 hexadecimal digits.");

	ctx = pg_cryptohash_create(PG_SHA256);
	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) key, strlen(key)) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
	hash = palloc(VARHDRSZ + sizeof(digest));
	SET_VARSIZE(hash, VARHDRSZ + sizeof(digest));
	memcpy(VARDATA(hash), digest, sizeof(digest));

	v[0] = Int32GetDatum((int32) tenant_id);
	v[1] = PointerGetDatum(hash);
	if (cdp_plan_exec(PLAN_AUTH, v, NULL) != 1)
		BadKey("No source has this write key (it may have been rotated).");
	call->batch.source_id = DatumGetInt32(cdp_plan_value(0, 1, &isnull));
	if (!DatumGetBool(cdp_plan_value(0, 2, &isnull)))
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("write key of a disabled source"),
				 errdetail("Source %d of tenant %ld is disabled; nothing it sends is stored.",
						   call->batch.source_id, tenant_id),
				 errhint("An administrator can enable it with cdp.set_source_enabled.")));
	cdp_plan_done();
	call->batch.tenant = cdp_tenant_load((int32) tenant_id, call->callcxt);
}

/* ---------- per-message work ---------- */

static bytea *
HashBytea(const uint8 *h)
{
	bytea	   *b = palloc(VARHDRSZ + CDP_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + CDP_HASH_LEN);
	memcpy(VARDATA(b), h, CDP_HASH_LEN);
	return b;
}

static void
Quarantine(CdpCall *call, CdpMessage *m, JsonbValue *element, const char *error, int sqlstate)
{
	CdpBatch   *b = &call->batch;
	Datum		v[8];
	char		nulls[8];
	Datum	   *hashes = palloc(sizeof(Datum) * (m->nids * 2 + 1));
	int			nh = 0;

	for (int i = 0; i < m->nids; i++)
	{
		hashes[nh++] = PointerGetDatum(HashBytea(m->ids[i].hash));
		if (m->ids[i].alias_previous)
			hashes[nh++] = PointerGetDatum(HashBytea(m->ids[i].anon_hash));
	}
	memset(nulls, ' ', sizeof(nulls));
	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = Int32GetDatum(b->source_id);
	v[2] = TimestampTzGetDatum(b->received_at);
	v[3] = m->message_id ? CStringGetTextDatum(m->message_id) : (Datum) 0;
	nulls[3] = m->message_id ? ' ' : 'n';
	v[4] = JsonbPGetDatum(cdp_message_payload(element));
	v[5] = CStringGetTextDatum(error);
	v[6] = CStringGetTextDatum(unpack_sql_state(sqlstate));
	v[7] = PointerGetDatum(construct_array(hashes, nh, BYTEAOID, -1, false, TYPALIGN_INT));
	cdp_plan_exec(PLAN_QUARANTINE, v, nulls);
}

static bool
Suppressed(CdpCall *call, CdpMessage *m)
{
	Datum		v[3];

	v[0] = Int32GetDatum(call->batch.tenant->tenant_id);
	for (int i = 0; i < m->nids; i++)
	{
		for (int k = 0; k < (m->ids[i].alias_previous ? 2 : 1); k++)
		{
			uint64		found;

			v[1] = CStringGetTextDatum(k == 0 ? m->ids[i].id_type : "anonymous_id");
			v[2] = PointerGetDatum(HashBytea(k == 0 ? m->ids[i].hash : m->ids[i].anon_hash));
			found = cdp_plan_exec(PLAN_IS_SUPPRESSED, v, NULL);
			cdp_plan_done();
			if (found)
				return true;
		}
	}
	return false;
}

/* Claims the messageId; false (and the original event id) if it is a duplicate. */
static bool
Dedupe(CdpCall *call, CdpMessage *m, int64 event_id, int64 *original)
{
	CdpBatch   *b = &call->batch;
	Datum		v[6];
	bool		isnull;
	bool		fresh;

	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = CStringGetTextDatum(m->message_id);
	v[2] = TimestampTzGetDatum(b->received_at);
	v[3] = TimestampTzGetDatum(m->event_time);
	v[4] = Int64GetDatum(event_id);
	v[5] = TimestampTzGetDatum(b->received_at - b->tenant->dedupe_window);
	fresh = cdp_plan_exec(PLAN_DEDUPE, v, NULL) == 1;
	cdp_plan_done();
	if (fresh)
		return true;
	*original = 0;
	if (cdp_plan_exec(PLAN_DUPLICATE_OF, v, NULL) == 1)
	{
		Datum		d = cdp_plan_value(0, 1, &isnull);

		if (!isnull)
			*original = DatumGetInt64(d);
	}
	cdp_plan_done();
	return false;
}

/* identify: the message's traits merge into the profile by event time. */
static void
ProfileTraits(CdpCall *call, CdpMessage *m, int64 profile)
{
	Datum		v[6];
	char		nulls[6];
	bool		isnull;
	Jsonb	   *traits = NULL,
			   *times = NULL,
			   *out_traits,
			   *out_times;

	v[0] = Int32GetDatum(call->batch.tenant->tenant_id);
	v[1] = Int64GetDatum(profile);
	if (m->traits && JB_ROOT_COUNT(m->traits) > 0)
	{
		if (cdp_plan_exec(PLAN_GET_TRAITS, v, NULL) == 1)
		{
			traits = DatumGetJsonbP(cdp_plan_value(0, 1, &isnull));
			times = DatumGetJsonbP(cdp_plan_value(0, 2, &isnull));
		}
		cdp_plan_done();
	}
	cdp_traits_merge(traits, times, m->traits, NULL, cdp_time_key(m->event_time), true,
					 &out_traits, &out_times);
	memset(nulls, ' ', sizeof(nulls));
	v[2] = out_traits ? JsonbPGetDatum(out_traits) : (Datum) 0;
	nulls[2] = out_traits ? ' ' : 'n';
	v[3] = out_times ? JsonbPGetDatum(out_times) : (Datum) 0;
	nulls[3] = out_times ? ' ' : 'n';
	v[4] = TimestampTzGetDatum(m->event_time);
	v[5] = TimestampTzGetDatum(m->event_time);
	cdp_plan_exec(PLAN_SET_TRAITS, v, nulls);
}

/* group: the group's traits merge into cdp.groups by event time. */
static void
GroupTraits(CdpCall *call, CdpMessage *m)
{
	Datum		v[4];
	bool		isnull;
	Jsonb	   *empty = DatumGetJsonbP(DirectFunctionCall1(jsonb_in, CStringGetDatum("{}")));
	Jsonb	   *traits,
			   *times;
	char	   *key = cdp_time_key(m->event_time);

	v[0] = Int32GetDatum(call->batch.tenant->tenant_id);
	v[1] = CStringGetTextDatum(m->group_id);
	if (!cdp_traits_merge(NULL, NULL, m->traits, NULL, key, true, &traits, &times))
	{
		traits = empty;
		times = empty;
	}
	v[2] = JsonbPGetDatum(traits);
	v[3] = JsonbPGetDatum(times);
	if (cdp_plan_exec(PLAN_GROUP_INSERT, v, NULL) == 1)
	{
		cdp_plan_done();
		return;
	}
	cdp_plan_done();
	if (cdp_plan_exec(PLAN_GROUP_LOCK, v, NULL) == 1)
	{
		Jsonb	   *old_traits = DatumGetJsonbP(cdp_plan_value(0, 1, &isnull));
		Jsonb	   *old_times = DatumGetJsonbP(cdp_plan_value(0, 2, &isnull));

		cdp_plan_done();
		if (cdp_traits_merge(old_traits, old_times, m->traits, NULL, key, true, &traits, &times))
		{
			v[2] = JsonbPGetDatum(traits);
			v[3] = JsonbPGetDatum(times);
			cdp_plan_exec(PLAN_GROUP_UPDATE, v, NULL);
		}
	}
	cdp_plan_done();
}

static void
Consent(CdpCall *call, CdpMessage *m, int64 profile)
{
	Datum		v[6];

	v[0] = Int32GetDatum(call->batch.tenant->tenant_id);
	v[1] = Int64GetDatum(profile);
	v[2] = Int32GetDatum(call->batch.source_id);
	v[3] = JsonbPGetDatum(m->consent);
	v[4] = TimestampTzGetDatum(m->event_time);
	v[5] = CStringGetTextDatum(m->message_id);
	cdp_plan_exec(PLAN_CONSENT, v, NULL);
	cdp_plan_done();
}

static Datum
TextOrNull(const char *s, char *null)
{
	*null = s ? ' ' : 'n';
	return s ? CStringGetTextDatum(s) : (Datum) 0;
}

static Datum
JsonbOrNull(Jsonb *j, char *null)
{
	*null = j ? ' ' : 'n';
	return j ? JsonbPGetDatum(j) : (Datum) 0;
}

static void
StoreEvent(CdpCall *call, CdpMessage *m, int64 profile, int64 event_id)
{
	CdpBatch   *b = &call->batch;
	Datum		v[16];
	char		nulls[16];

	memset(nulls, ' ', sizeof(nulls));
	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = TimestampTzGetDatum(m->event_time);
	v[2] = Int64GetDatum(event_id);
	v[3] = Int64GetDatum(profile);
	v[4] = Int32GetDatum(b->source_id);
	v[5] = CStringGetTextDatum(m->message_id);
	v[6] = CStringGetTextDatum(m->type);
	v[7] = TextOrNull(m->event_name, &nulls[7]);
	v[8] = TextOrNull(m->user_id, &nulls[8]);
	v[9] = TextOrNull(m->anonymous_id, &nulls[9]);
	v[10] = TextOrNull(m->group_id, &nulls[10]);
	v[11] = TextOrNull(m->previous_id, &nulls[11]);
	v[12] = TimestampTzGetDatum(b->received_at);
	v[13] = JsonbOrNull(m->properties, &nulls[13]);
	v[14] = JsonbOrNull(m->traits, &nulls[14]);
	v[15] = JsonbOrNull(m->context, &nulls[15]);
	cdp_plan_exec(PLAN_EVENT, v, nulls);
}

static void
Reject(CdpCall *call, CdpMessage *m, JsonbValue *element, CdpResult *r, const char *error, int sqlstate)
{
	Quarantine(call, m, element, error, sqlstate);
	r->status = "rejected";
	r->error = MemoryContextStrdup(call->callcxt, error);
	r->sqlstate = sqlstate;
}

static void
ProcessMessage(CdpCall *call, JsonbValue *element, CdpResult *r)
{
	CdpMessage	m;
	int64		event_id,
				profile,
				original;

	memset(r, 0, sizeof(CdpResult));
	if (!cdp_message_parse(&m, element, &call->batch))
	{
		if (m.message_id && !m.message_id_generated)
			r->message_id = MemoryContextStrdup(call->callcxt, m.message_id);
		Reject(call, &m, element, r, m.error, m.sqlstate);
		return;
	}
	r->message_id = MemoryContextStrdup(call->callcxt, m.message_id);

	if (call->has_suppressions && Suppressed(call, &m))
	{
		r->status = "suppressed";
		return;
	}

	event_id = nextval_internal(call->event_seq, false);
	if (!Dedupe(call, &m, event_id, &original))
	{
		r->status = "duplicate";
		r->event_id = original;
		return;
	}

	profile = cdp_identity_resolve(&call->batch, &m, strcmp(m.type, "identify") == 0);
	if (strcmp(m.type, "identify") == 0)
		ProfileTraits(call, &m, profile);
	else if (strcmp(m.type, "group") == 0)
		GroupTraits(call, &m);
	if (m.consent)
		Consent(call, &m, profile);
	StoreEvent(call, &m, profile, event_id);

	r->status = "accepted";
	r->profile_id = profile;
	r->event_id = event_id;
}

static JsonbValue *
Element(CdpCall *call, int i, JsonbValue *buf)
{
	if (call->array == NULL)
		return &call->single;
	return getIthJsonbValueFromContainer(call->array, i);
}

/* Errors a message may cause that reject it rather than fail the call. */
static bool
IsDataError(int sqlerrcode)
{
	int			cls = ERRCODE_TO_CATEGORY(sqlerrcode);

	return cls == ERRCODE_DATA_EXCEPTION || cls == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION ||
		cls == ERRCODE_PROGRAM_LIMIT_EXCEEDED;
}

static bool
IsRetryable(int sqlerrcode)
{
	return sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED ||
		sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE;
}

/*
 * Runs fn(call, i) for messages first..last in a subtransaction. Returns
 * NULL on success, else the error (the subtransaction rolled back).
 */
static ErrorData *
InSubtransaction(CdpCall *call, int first, int last)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		for (int i = first; i <= last; i++)
		{
			JsonbValue	buf;
			MemoryContext prev = MemoryContextSwitchTo(call->msgcxt);

			ProcessMessage(call, Element(call, i, &buf), &call->results[i]);
			MemoryContextSwitchTo(prev);
			MemoryContextReset(call->msgcxt);
			CHECK_FOR_INTERRUPTS();
		}
		ReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
	}
	PG_CATCH();
	{
		MemoryContextSwitchTo(call->callcxt);
		edata = CopyErrorData();
		FlushErrorState();
		RollbackAndReleaseCurrentSubTransaction();
		MemoryContextSwitchTo(oldcxt);
		CurrentResourceOwner = oldowner;
		MemoryContextReset(call->msgcxt);
	}
	PG_END_TRY();
	return edata;
}

static void
Backoff(int attempt)
{
	/* Let the transaction we collided with finish; a little jitter avoids lockstep. */
	pg_usleep((long) (1000 * (1 << Min(attempt, 6)) + (random() % 1000)));
}

/* Message by message, each in its own subtransaction: an error rejects only its message. */
static void
ProcessCarefully(CdpCall *call)
{
	for (int i = 0; i < call->n; i++)
	{
		for (int attempt = 0;; attempt++)
		{
			ErrorData  *e = InSubtransaction(call, i, i);

			if (e == NULL)
				break;
			if (IsRetryable(e->sqlerrcode) && attempt < MAX_BATCH_RETRIES)
			{
				Backoff(attempt);
				continue;
			}
			if (!IsDataError(e->sqlerrcode))
				ReThrowError(e);
			{
				JsonbValue	buf;
				CdpMessage	m;
				MemoryContext prev = MemoryContextSwitchTo(call->msgcxt);
				CdpResult  *r = &call->results[i];
				JsonbValue *element = Element(call, i, &buf);

				memset(r, 0, sizeof(CdpResult));
				(void) cdp_message_parse(&m, element, &call->batch);
				if (m.message_id && !m.message_id_generated)
					r->message_id = MemoryContextStrdup(call->callcxt, m.message_id);
				Reject(call, &m, element, r, e->message, e->sqlerrcode);
				MemoryContextSwitchTo(prev);
				MemoryContextReset(call->msgcxt);
			}
			break;
		}
	}
}

static void
ProcessAll(CdpCall *call)
{
	for (int attempt = 0;; attempt++)
	{
		ErrorData  *e = InSubtransaction(call, 0, call->n - 1);

		if (e == NULL)
			return;
		if (IsRetryable(e->sqlerrcode) && attempt < MAX_BATCH_RETRIES)
		{
			Backoff(attempt);
			continue;
		}
		if (IsDataError(e->sqlerrcode) || IsRetryable(e->sqlerrcode))
		{
			ProcessCarefully(call);
			return;
		}
		ReThrowError(e);
	}
}

/* ---------- entry points ---------- */

static void
StartCall(CdpCall *call, FunctionCallInfo fcinfo, const char *argname)
{
	memset(call, 0, sizeof(CdpCall));
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("write_key must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("%s must not be NULL", argname)));
	call->callcxt = AllocSetContextCreate(CurrentMemoryContext, "cdp ingest call", ALLOCSET_DEFAULT_SIZES);
	call->msgcxt = AllocSetContextCreate(call->callcxt, "cdp ingest message", ALLOCSET_DEFAULT_SIZES);
	call->batch.received_at = GetCurrentTransactionStartTimestamp();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	Authenticate(call, PG_GETARG_TEXT_PP(0));
	call->has_suppressions = cdp_plan_exec(PLAN_HAS_SUPPRESSIONS,
										   (Datum[]) {Int32GetDatum(call->batch.tenant->tenant_id)}, NULL) > 0;
	cdp_plan_done();
	call->event_seq = get_relname_relid("event_id_seq", get_namespace_oid(CDP_SCHEMA, false));
	if (!OidIsValid(call->event_seq))
		elog(ERROR, "sequence cdp.event_id_seq is missing");
}

static void
FinishCall(CdpCall *call)
{
	SPI_finish();
}

static void
ResultValues(CdpResult *r, Datum *values, bool *nulls)
{
	values[0] = r->message_id ? CStringGetTextDatum(r->message_id) : (Datum) 0;
	nulls[0] = r->message_id == NULL;
	values[1] = CStringGetTextDatum(r->status);
	nulls[1] = false;
	values[2] = Int64GetDatum(r->profile_id);
	nulls[2] = r->profile_id == 0;
	values[3] = Int64GetDatum(r->event_id);
	nulls[3] = r->event_id == 0;
	values[4] = r->error ? CStringGetTextDatum(r->error) : (Datum) 0;
	nulls[4] = r->error == NULL;
	values[5] = r->sqlstate ? CStringGetTextDatum(unpack_sql_state(r->sqlstate)) : (Datum) 0;
	nulls[5] = r->sqlstate == 0;
}

/* cdp.ingest(write_key text, message jsonb) RETURNS cdp.ingest_result */
Datum
cdp_ingest(PG_FUNCTION_ARGS)
{
	CdpCall		call;
	Jsonb	   *message;
	TupleDesc	tupdesc;
	Datum		values[6];
	bool		nulls[6];
	HeapTuple	tuple;

	StartCall(&call, fcinfo, "message");
	message = PG_GETARG_JSONB_P(1);
	if (JB_ROOT_IS_SCALAR(message))
		JsonbExtractScalar(&message->root, &call.single);
	else
	{
		call.single.type = jbvBinary;
		call.single.val.binary.data = &message->root;
		call.single.val.binary.len = VARSIZE(message) - VARHDRSZ;
	}
	call.n = 1;
	call.results = MemoryContextAllocZero(call.callcxt, sizeof(CdpResult));
	ProcessAll(&call);
	FinishCall(&call);

	if (get_call_result_type(fcinfo, NULL, &tupdesc) != TYPEFUNC_COMPOSITE)
		elog(ERROR, "return type must be a row type");
	tupdesc = BlessTupleDesc(tupdesc);
	ResultValues(&call.results[0], values, nulls);
	tuple = heap_form_tuple(tupdesc, values, nulls);
	MemoryContextDelete(call.callcxt);
	PG_RETURN_DATUM(HeapTupleGetDatum(tuple));
}

/* cdp.ingest_batch(write_key text, messages jsonb) RETURNS SETOF cdp.ingest_result */
Datum
cdp_ingest_batch(PG_FUNCTION_ARGS)
{
	CdpCall		call;
	Jsonb	   *messages;
	ReturnSetInfo *rsinfo = (ReturnSetInfo *) fcinfo->resultinfo;

	StartCall(&call, fcinfo, "messages");
	messages = PG_GETARG_JSONB_P(1);
	if (JB_ROOT_IS_ARRAY(messages) && !JB_ROOT_IS_SCALAR(messages))
		call.array = &messages->root;
	else if (JB_ROOT_IS_OBJECT(messages))
	{
		JsonbValue	buf,
					sbuf;
		JsonbValue *sent;

		call.array = cdp_json_array(cdp_json_get(&messages->root, "batch", &buf));
		if (call.array == NULL)
			ereport(ERROR,
					(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
					 errmsg("a batch object must have a \"batch\" array of messages"),
					 errhint("Send a JSON array of messages, or {\"batch\": [...]} as the Segment and RudderStack SDKs do.")));
		/* A batch-level sentAt applies to messages without their own. */
		sent = cdp_json_get(&messages->root, "sentAt", &sbuf);
		if (sent && sent->type == jbvString &&
			cdp_parse_time(sent->val.string.val, sent->val.string.len, &call.batch.sent_at) == CDP_TIME_OK)
			call.batch.has_sent_at = true;
	}
	else
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_PARAMETER_VALUE),
				 errmsg("messages must be a JSON array or an object with a \"batch\" array, not a scalar")));

	call.n = JsonContainerSize(call.array);
	if (call.n > cdp_max_batch_messages)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("batch of %d messages is larger than cdp.max_batch_messages (%d)",
						call.n, cdp_max_batch_messages),
				 errhint("Split it into smaller batches.")));
	call.results = MemoryContextAllocZero(call.callcxt, sizeof(CdpResult) * Max(call.n, 1));
	if (call.n > 0)
		ProcessAll(&call);
	FinishCall(&call);

	InitMaterializedSRF(fcinfo, 0);
	for (int i = 0; i < call.n; i++)
	{
		Datum		values[6];
		bool		nulls[6];

		ResultValues(&call.results[i], values, nulls);
		tuplestore_putvalues(rsinfo->setResult, rsinfo->setDesc, values, nulls);
	}
	MemoryContextDelete(call.callcxt);
	return (Datum) 0;
}
