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
 * validation did not foresee) makes the batch run again in halves, each in
 * bulk in its own subtransaction, a failing half split again down to a few
 * messages, which run one by one: only the bad message is rejected.
 */
#include "postgres.h"

#include "access/xact.h"
#include "storage/itemptr.h"
#include "utils/fmgrprotos.h"
#include "catalog/namespace.h"
#include "catalog/pg_type.h"
#include "commands/sequence.h"
#include "common/cryptohash.h"
#include "common/hmac.h"
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

#include "authcache.h"
#include "cdp.h"
#include "heapkeep.h"
#include "identity.h"
#include "ingest.h"
#include "jsonutil.h"
#include "locks.h"
#include "message.h"
#include "normalize.h"
#include "plans.h"
#include "rowstore.h"
#include "tenant.h"
#include "timeparse.h"
#include "traits.h"

PG_FUNCTION_INFO_V1(cdp_ingest);
PG_FUNCTION_INFO_V1(cdp_ingest_batch);

int			cdp_max_payload_bytes = 1024 * 1024;
int			cdp_max_properties = 1000;
int			cdp_max_message_id_length = 255;
int			cdp_max_group_id_length = 1024;
int			cdp_max_clock_skew = 300;
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
	bool		claim_plain;	/* claim messageIds with a plain INSERT: see ProcessAll */
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
	DefineCustomIntVariable("cdp.max_clock_skew",
							"How far ahead of the time received an event time counts for traits and last_seen_at.",
							"A later event time (a sender's wrong clock) counts as received_at plus this; the event keeps its own time.",
							&cdp_max_clock_skew,
							300, 0, 86400,
							PGC_USERSET, GUC_UNIT_S, NULL, NULL, NULL);
	/* groupId is a key of cdp.groups: a B-tree entry must fit in a third of a page. */
	DefineCustomIntVariable("cdp.max_group_id_length",
							"Longest accepted groupId, in bytes.",
							"A longer groupId is rejected with SQLSTATE 22001.",
							&cdp_max_group_id_length,
							1024, 16, 2000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	DefineCustomIntVariable("cdp.max_batch_messages",
							"Most messages accepted in one cdp.ingest_batch call.",
							"A larger batch is refused whole with SQLSTATE 54000.",
							&cdp_max_batch_messages,
							100000, 1, 10000000,
							PGC_USERSET, 0, NULL, NULL, NULL);
	cdp_heapkeep_init();
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
	CdpAuthEntry *e;
	CdpAuthEntry fresh;
	MemoryContext old;

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

	if ((e = cdp_authcache_get(digest)) == NULL)
	{
		v[0] = Int32GetDatum((int32) tenant_id);
		v[1] = PointerGetDatum(hash);
		if (cdp_plan_exec(PLAN_AUTH, v, NULL) != 1)
			BadKey("No source has this write key (it may have been rotated).");
		memset(&fresh, 0, sizeof(fresh));
		memcpy(fresh.key_hash, digest, sizeof(digest));
		fresh.tenant_id = (int32) tenant_id;
		fresh.source_id = DatumGetInt32(cdp_plan_value(0, 1, &isnull));
		fresh.enabled = DatumGetBool(cdp_plan_value(0, 2, &isnull));
		fresh.settings = DatumGetJsonbP(cdp_plan_value(0, 3, &isnull));
		fresh.secret = DatumGetByteaPP(cdp_plan_value(0, 4, &isnull));
		fresh.source_tid = *(ItemPointer) DatumGetPointer(cdp_plan_value(0, 5, &isnull));
		fresh.source_xmin = DatumGetTransactionId(cdp_plan_value(0, 6, &isnull));
		fresh.tenant_tid = *(ItemPointer) DatumGetPointer(cdp_plan_value(0, 7, &isnull));
		fresh.tenant_xmin = DatumGetTransactionId(cdp_plan_value(0, 8, &isnull));
		cdp_plan_done();
		cdp_authcache_put(&fresh);
		e = &fresh;
	}
	if (!e->enabled)
		ereport(ERROR,
				(errcode(ERRCODE_INVALID_AUTHORIZATION_SPECIFICATION),
				 errmsg("write key of a disabled source"),
				 errdetail("Source %d of tenant %ld is disabled; nothing it sends is stored.",
						   e->source_id, tenant_id),
				 errhint("An administrator can enable it with cdp.set_source_enabled.")));
	call->batch.source_id = e->source_id;
	old = MemoryContextSwitchTo(call->callcxt);
	call->batch.tenant = cdp_tenant_make((int32) tenant_id, e->settings, e->secret);
	MemoryContextSwitchTo(old);
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
	CdpBatch   *b = &call->batch;

	cdp_probe_refresh(&b->probe);
	for (int i = 0; i < m->nids; i++)
	{
		if (cdp_probe_suppressed(&b->probe, b->tenant->tenant_id, m->ids[i].id_type, m->ids[i].hash))
			return true;
		if (m->ids[i].alias_previous &&
			cdp_probe_suppressed(&b->probe, b->tenant->tenant_id, "anonymous_id", m->ids[i].anon_hash))
			return true;
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
	if (m->profile_traits_known)
	{
		traits = m->profile_traits;
		times = m->profile_trait_times;
	}
	else if (m->traits && JB_ROOT_COUNT(m->traits) > 0)
	{
		if (cdp_plan_exec(PLAN_GET_TRAITS, v, NULL) == 1)
		{
			traits = DatumGetJsonbP(cdp_plan_value(0, 1, &isnull));
			times = DatumGetJsonbP(cdp_plan_value(0, 2, &isnull));
		}
		cdp_plan_done();
	}
	cdp_traits_merge(traits, times, m->traits, NULL, cdp_time_key(m->seen_time), true,
					 &out_traits, &out_times);
	memset(nulls, ' ', sizeof(nulls));
	v[2] = out_traits ? JsonbPGetDatum(out_traits) : (Datum) 0;
	nulls[2] = out_traits ? ' ' : 'n';
	v[3] = out_times ? JsonbPGetDatum(out_times) : (Datum) 0;
	nulls[3] = out_times ? ' ' : 'n';
	v[4] = TimestampTzGetDatum(m->seen_time);
	v[5] = TimestampTzGetDatum(m->seen_time);
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
	char	   *key = cdp_time_key(m->seen_time);

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
EventValues(CdpCall *call, CdpMessage *m, int64 profile, int64 event_id, Datum *v, char *nulls)
{
	CdpBatch   *b = &call->batch;

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
}

/* The event row: written directly where it can be (rowstore.c), else by INSERT. */
static void
StoreEventValues(CdpCall *call, Datum *v, char *nulls)
{
	if (!cdp_rowstore_usable(&call->batch.rows) || !cdp_rowstore_event(&call->batch.rows, v, nulls))
		cdp_plan_exec(PLAN_EVENT, v, nulls);
}

static void
StoreEvent(CdpCall *call, CdpMessage *m, int64 profile, int64 event_id)
{
	Datum		v[CDP_EVENT_COLUMNS];
	char		nulls[CDP_EVENT_COLUMNS];

	memset(nulls, ' ', sizeof(nulls));
	EventValues(call, m, profile, event_id, v, nulls);
	StoreEventValues(call, v, nulls);
}

/*
 * Profiles whose last_seen_at this backend checked (or wrote) through the
 * one-statement path, and the time it used: within SEEN_WINDOW of it, the
 * next event of the profile skips the check (an UPDATE of cdp.profiles in
 * the statement costs about half again as much as the statement without).
 * The stored last_seen_at is then at most CDP_SEEN_GRANULARITY + SEEN_WINDOW
 * (one hour) behind, even if the checking transaction rolled back: after
 * the window the check runs again. Bounded: emptied when full.
 */
#define SEEN_WINDOW (30 * 60 * USECS_PER_SEC)
#define SEEN_CACHE_MAX 16384

typedef struct SeenKey
{
	int64		profile_id;
	int32		tenant_id;
	int32		pad;			/* zeroed: the key is hashed as bytes */
} SeenKey;

typedef struct SeenEntry
{
	SeenKey		key;
	TimestampTz checked;
} SeenEntry;

static HTAB *seen_cache = NULL;

static SeenKey
MakeSeenKey(int32 tenant_id, int64 profile_id)
{
	SeenKey		k;

	memset(&k, 0, sizeof(k));
	k.tenant_id = tenant_id;
	k.profile_id = profile_id;
	return k;
}

static bool
SeenRecently(int32 tenant_id, int64 profile_id, TimestampTz t)
{
	SeenKey		k = MakeSeenKey(tenant_id, profile_id);
	SeenEntry  *e;

	if (seen_cache == NULL)
		return false;
	e = hash_search(seen_cache, &k, HASH_FIND, NULL);
	return e != NULL && t >= e->checked - SEEN_WINDOW && t <= e->checked + SEEN_WINDOW;
}

static void
SeenChecked(int32 tenant_id, int64 profile_id, TimestampTz t)
{
	SeenKey		k = MakeSeenKey(tenant_id, profile_id);
	SeenEntry  *e;

	if (seen_cache != NULL && hash_get_num_entries(seen_cache) >= SEEN_CACHE_MAX)
	{
		hash_destroy(seen_cache);
		seen_cache = NULL;
	}
	if (seen_cache == NULL)
	{
		HASHCTL		ctl;

		ctl.keysize = sizeof(SeenKey);
		ctl.entrysize = sizeof(SeenEntry);
		ctl.hcxt = TopMemoryContext;
		seen_cache = hash_create("cdp last_seen checks", 256, &ctl, HASH_ELEM | HASH_BLOBS | HASH_CONTEXT);
	}
	e = hash_search(seen_cache, &k, HASH_ENTER, NULL);
	e->checked = t;
}

/* Keeps the profile's last_seen_at (and first_seen_at) current; see PLAN_SEEN. */
static void
Seen(CdpCall *call, CdpMessage *m, int64 profile)
{
	Datum		v[3];

	if (cdp_rowstore_seen(&call->batch.rows, call->batch.tenant->tenant_id, profile, m->seen_time, m->seen_time))
		return;
	v[0] = Int32GetDatum(call->batch.tenant->tenant_id);
	v[1] = Int64GetDatum(profile);
	v[2] = TimestampTzGetDatum(m->seen_time);
	cdp_plan_exec(PLAN_SEEN, v, NULL);
}

/*
 * Claims the messageId with a plain INSERT (see PLAN_CLAIM): a taken id
 * raises a unique violation, which ProcessAll catches; the message then
 * runs again with call->claim_plain off.
 */
static void
Claim(CdpCall *call, CdpMessage *m, int64 event_id)
{
	CdpBatch   *b = &call->batch;
	Datum		v[CDP_CLAIM_COLUMNS];

	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = CStringGetTextDatum(m->message_id);
	v[2] = TimestampTzGetDatum(b->received_at);
	v[3] = TimestampTzGetDatum(m->event_time);
	v[4] = Int64GetDatum(event_id);
	if (cdp_rowstore_usable(&call->batch.rows))
		cdp_rowstore_claim(&call->batch.rows, v);
	else
		cdp_plan_exec(PLAN_CLAIM, v, NULL);
}

/*
 * Claims the messageId (a taken id raises a unique violation, which
 * ProcessAll catches: the message then runs again with call->claim_plain
 * off), stores the event, and with seen keeps last_seen_at current: the
 * claim first, so that a claim waiting for a concurrent holder of the id
 * holds no row lock of the profile meanwhile (review 3, H1). Written
 * directly (rowstore.c), else in one statement (PLAN_CLAIM_AND_EVENT).
 */
static void
ClaimAndStore(CdpCall *call, CdpMessage *m, int64 profile, int64 event_id, bool seen)
{
	Datum		v[CDP_EVENT_COLUMNS + 1];	/* the event's, then the seen time */
	char		nulls[CDP_EVENT_COLUMNS + 1];

	memset(nulls, ' ', sizeof(nulls));
	EventValues(call, m, profile, event_id, v, nulls);
	if (cdp_rowstore_usable(&call->batch.rows))
	{
		Claim(call, m, event_id);
		StoreEventValues(call, v, nulls);
		if (seen)
			Seen(call, m, profile);
		return;
	}
	v[CDP_EVENT_COLUMNS] = TimestampTzGetDatum(m->seen_time);
	cdp_plan_exec(seen ? PLAN_CLAIM_EVENT_SEEN : PLAN_CLAIM_AND_EVENT, v, nulls);
}

/*
 * Claims the messageId and stores the event (keeping last_seen_at current,
 * unless checked lately or the profile row just read already covers the
 * event's time); false for a duplicate.
 */
static bool
DedupeAndStore(CdpCall *call, CdpMessage *m, int64 profile, int64 event_id)
{
	Datum		v[18];
	char		nulls[18];
	bool		stored;
	int32		tid = call->batch.tenant->tenant_id;
	bool		check_seen = !SeenRecently(tid, profile, m->seen_time) &&
		!cdp_profile_seen_covers(&call->batch.probe.profiles, profile, m->seen_time);

	if (call->claim_plain)
	{
		ClaimAndStore(call, m, profile, event_id, check_seen);
		if (check_seen)
			SeenChecked(tid, profile, m->seen_time);
		return true;
	}
	memset(nulls, ' ', sizeof(nulls));
	EventValues(call, m, profile, event_id, v, nulls);
	v[16] = TimestampTzGetDatum(call->batch.received_at - call->batch.tenant->dedupe_window);
	v[17] = TimestampTzGetDatum(m->seen_time);
	stored = cdp_plan_exec(check_seen ? PLAN_DEDUPE_EVENT_SEEN : PLAN_DEDUPE_AND_EVENT, v, nulls) == 1;
	cdp_plan_done();
	if (stored && check_seen)
		SeenChecked(tid, profile, m->seen_time);
	return stored;
}

static int64
OriginalEvent(CdpCall *call, CdpMessage *m)
{
	Datum		v[2];
	bool		isnull;
	int64		original = 0;

	v[0] = Int32GetDatum(call->batch.tenant->tenant_id);
	v[1] = CStringGetTextDatum(m->message_id);
	if (cdp_plan_exec(PLAN_DUPLICATE_OF, v, NULL) == 1)
	{
		Datum		d = cdp_plan_value(0, 1, &isnull);

		if (!isnull)
			original = DatumGetInt64(d);
	}
	cdp_plan_done();
	return original;
}

static void
Reject(CdpCall *call, CdpMessage *m, JsonbValue *element, CdpResult *r, const char *error, int sqlstate)
{
	Quarantine(call, m, element, error, sqlstate);
	r->status = "rejected";
	r->error = MemoryContextStrdup(call->callcxt, error);
	r->sqlstate = sqlstate;
}

/*
 * Messages that write to their profile's state (identify: traits; consent:
 * ledger rows that must follow a merge) lock the profile, so that a
 * concurrent merge waits for them or they see it.
 */
static bool
NeedsLock(CdpMessage *m)
{
	return strcmp(m->type, "identify") == 0 || m->consent != NULL;
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

	/* Known person, nothing to change: dedupe and store in one statement. */
	if (!NeedsLock(&m) && (profile = cdp_identity_peek(&call->batch, &m)) != 0)
	{
		if (!DedupeAndStore(call, &m, profile, event_id))
		{
			r->status = "duplicate";
			r->event_id = OriginalEvent(call, &m);
			return;
		}
		if (strcmp(m.type, "group") == 0)
			GroupTraits(call, &m);
		if (m.consent)
			Consent(call, &m, profile);
		r->status = "accepted";
		r->profile_id = profile;
		r->event_id = event_id;
		return;
	}

	/*
	 * The messageId is claimed before identity work takes any lock: a claim
	 * that waits for a concurrent holder of the id then holds nothing another
	 * session could be waiting for (review 3, H1).
	 */
	if (call->claim_plain)
		Claim(call, &m, event_id);
	else if (!Dedupe(call, &m, event_id, &original))
	{
		r->status = "duplicate";
		r->event_id = original;
		return;
	}

	profile = cdp_identity_resolve(&call->batch, &m, NeedsLock(&m));
	if (strcmp(m.type, "identify") == 0)
		ProfileTraits(call, &m, profile);	/* also sets last_seen_at */
	else
	{
		if (strcmp(m.type, "group") == 0)
			GroupTraits(call, &m);
		Seen(call, &m, profile);
	}
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

/* ---------- batches: chunks of messages, bulk statements ---------- */

#define CHUNK_SIZE 1000

typedef struct Pending
{
	CdpMessage	m;
	int			index;			/* in the batch */
	int64		event_id;
	bool		fresh;			/* claimed its messageId */
} Pending;

static ArrayType *
MakeArray(Datum *elems, bool *nulls, int n, Oid type)
{
	int16		typlen;
	bool		typbyval;
	char		typalign;
	int			dims[1] = {n};
	int			lbs[1] = {1};

	get_typlenbyvalalign(type, &typlen, &typbyval, &typalign);
	return construct_md_array(elems, nulls, 1, dims, lbs, type, typlen, typbyval, typalign);
}

static int
ComparePendingId(const void *a, const void *b)
{
	const Pending *x = *(Pending *const *) a;
	const Pending *y = *(Pending *const *) b;
	int			c = strcmp(x->m.message_id, y->m.message_id);

	return c != 0 ? c : x->index - y->index;
}

static Pending *
FindPending(Pending **sorted, int n, const char *message_id)
{
	int			lo = 0,
				hi = n - 1;

	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			c = strcmp(message_id, sorted[mid]->m.message_id);

		if (c == 0)
			return sorted[mid];
		if (c < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return NULL;
}

/* Claims the messageIds of a chunk in one statement; marks the fresh ones. */
static void
BulkDedupe(CdpCall *call, Pending **uniq, int nu)
{
	CdpBatch   *b = &call->batch;
	Datum	   *ids = palloc(sizeof(Datum) * nu);
	Datum	   *times = palloc(sizeof(Datum) * nu);
	Datum	   *eids = palloc(sizeof(Datum) * nu);
	Datum		v[6];
	uint64		rows;
	bool		isnull;

	for (int i = 0; i < nu; i++)
	{
		ids[i] = CStringGetTextDatum(uniq[i]->m.message_id);
		times[i] = TimestampTzGetDatum(uniq[i]->m.event_time);
		eids[i] = Int64GetDatum(uniq[i]->event_id);
	}
	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = TimestampTzGetDatum(b->received_at);
	v[2] = PointerGetDatum(MakeArray(ids, NULL, nu, TEXTOID));
	v[3] = PointerGetDatum(MakeArray(times, NULL, nu, TIMESTAMPTZOID));
	v[4] = PointerGetDatum(MakeArray(eids, NULL, nu, INT8OID));
	v[5] = TimestampTzGetDatum(b->received_at - b->tenant->dedupe_window);
	rows = cdp_plan_exec(PLAN_BULK_DEDUPE, v, NULL);
	for (uint64 r = 0; r < rows; r++)
	{
		char	   *id = TextDatumGetCString(cdp_plan_value(r, 1, &isnull));
		Pending    *x = FindPending(uniq, nu, id);

		if (x)
			x->fresh = true;
	}
	cdp_plan_done();
}

/* The stored event of each duplicate, in one statement. */
static void
BulkOriginals(CdpCall *call, Pending **dups, int nd)
{
	Datum	   *ids = palloc(sizeof(Datum) * nd);
	Datum		v[2];
	uint64		rows;
	bool		isnull;

	for (int i = 0; i < nd; i++)
		ids[i] = CStringGetTextDatum(dups[i]->m.message_id);
	v[0] = Int32GetDatum(call->batch.tenant->tenant_id);
	v[1] = PointerGetDatum(MakeArray(ids, NULL, nd, TEXTOID));
	rows = cdp_plan_exec(PLAN_BULK_ORIGINALS, v, NULL);
	for (uint64 r = 0; r < rows; r++)
	{
		char	   *id = TextDatumGetCString(cdp_plan_value(r, 1, &isnull));
		Datum		e = cdp_plan_value(r, 2, &isnull);
		Pending    *x = FindPending(dups, nd, id);

		if (x && !isnull)
			x->event_id = DatumGetInt64(e);
	}
	cdp_plan_done();
}

typedef struct SeenRow
{
	int64		profile_id;
	TimestampTz first;
	TimestampTz last;
} SeenRow;

/* A message of the chunk that is new and was accepted (its event and profile times are to be written). */
static bool
Accepted(CdpCall *call, Pending *p)
{
	CdpResult  *r = &call->results[p->index];

	return p->fresh && r->status != NULL && strcmp(r->status, "accepted") == 0;
}

static int
CompareSeenRow(const void *a, const void *b)
{
	int64		x = ((const SeenRow *) a)->profile_id;
	int64		y = ((const SeenRow *) b)->profile_id;

	return (x > y) - (x < y);
}

/*
 * last_seen_at / first_seen_at of the chunk's profiles, once per profile
 * (see PLAN_BULK_SEEN). Messages whose profile row this chunk already wrote
 * with their time are left out: identify (PLAN_SET_TRAITS sets both) and a
 * profile created for the message (PLAN_NEW_PROFILE). The rest are folded
 * here into one row per profile (earliest and latest time), sorted by
 * profile id, and updated in that order (the order identity resolution
 * locks profiles): directly (rowstore.c), else by one statement. The direct
 * path is not only cheaper: that statement's plan is made once per backend
 * and may be made before the tables have statistics, when the planner joins
 * by hashing every profile of the tenant, for every chunk, until the next
 * ANALYZE (seen in bench/batch_ingest.sh: docs/performance.md).
 */
static void
BulkSeen(CdpCall *call, Pending *p, int np)
{
	int32		tid = call->batch.tenant->tenant_id;
	SeenRow    *rows = palloc(sizeof(SeenRow) * np);
	Datum	   *ids,
			   *firsts,
			   *lasts;
	Datum		v[4];
	int			n = 0,
				k = 0,
				done = 0;

	for (int i = 0; i < np; i++)
	{
		CdpResult  *r = &call->results[p[i].index];

		if (!Accepted(call, &p[i]))
			continue;
		if (p[i].m.created_profile || strcmp(p[i].m.type, "identify") == 0)
			continue;
		rows[n].profile_id = r->profile_id;
		rows[n].first = p[i].m.seen_time;
		rows[n].last = p[i].m.seen_time;
		n++;
	}
	if (n == 0)
		return;
	qsort(rows, n, sizeof(SeenRow), CompareSeenRow);
	for (int i = 1; i < n; i++)
	{
		if (rows[i].profile_id == rows[k].profile_id)
		{
			rows[k].first = Min(rows[k].first, rows[i].first);
			rows[k].last = Max(rows[k].last, rows[i].last);
		}
		else
			rows[++k] = rows[i];
	}
	n = k + 1;
	/* Directly (rowstore.c), one profile after the other, in profile id order; the rest by the statement. */
	while (done < n && cdp_rowstore_seen(&call->batch.rows, tid, rows[done].profile_id, rows[done].first,
										 rows[done].last))
		done++;
	if (done == n)
		return;
	rows += done;
	n -= done;
	ids = palloc(sizeof(Datum) * n);
	firsts = palloc(sizeof(Datum) * n);
	lasts = palloc(sizeof(Datum) * n);
	for (int i = 0; i < n; i++)
	{
		ids[i] = Int64GetDatum(rows[i].profile_id);
		firsts[i] = TimestampTzGetDatum(rows[i].first);
		lasts[i] = TimestampTzGetDatum(rows[i].last);
	}
	v[0] = Int32GetDatum(tid);
	v[1] = PointerGetDatum(MakeArray(ids, NULL, n, INT8OID));
	v[2] = PointerGetDatum(MakeArray(firsts, NULL, n, TIMESTAMPTZOID));
	v[3] = PointerGetDatum(MakeArray(lasts, NULL, n, TIMESTAMPTZOID));
	cdp_plan_exec(PLAN_BULK_SEEN, v, NULL);
}

/*
 * Inserts the events of a chunk in one statement. (Written row by row
 * through rowstore.c instead, a batch took the same backend CPU time within
 * the noise, bench/ab_batch_cpu.sh: the statement's set-up is paid once per
 * chunk.)
 */
static void
BulkEvents(CdpCall *call, Pending *p, int np)
{
	CdpBatch   *b = &call->batch;
	int			n = 0;
	Datum	   *col[13];
	bool	   *nul[13];
	static const Oid types[13] = {TIMESTAMPTZOID, INT8OID, INT8OID, TEXTOID, TEXTOID, TEXTOID, TEXTOID,
		TEXTOID, TEXTOID, TEXTOID, JSONBOID, JSONBOID, JSONBOID};
	Datum		v[16];

	for (int c = 0; c < 13; c++)
	{
		col[c] = palloc(sizeof(Datum) * np);
		nul[c] = palloc0(sizeof(bool) * np);
	}
	for (int i = 0; i < np; i++)
	{
		CdpMessage *m = &p[i].m;
		CdpResult  *r = &call->results[p[i].index];
		const char *texts[7] = {m->message_id, m->type, m->event_name, m->user_id, m->anonymous_id,
		m->group_id, m->previous_id};
		Jsonb	   *jsons[3] = {m->properties, m->traits, m->context};

		if (!Accepted(call, &p[i]))
			continue;
		col[0][n] = TimestampTzGetDatum(m->event_time);
		col[1][n] = Int64GetDatum(r->event_id);
		col[2][n] = Int64GetDatum(r->profile_id);
		for (int t = 0; t < 7; t++)
		{
			nul[3 + t][n] = texts[t] == NULL;
			col[3 + t][n] = texts[t] ? CStringGetTextDatum(texts[t]) : (Datum) 0;
		}
		for (int j = 0; j < 3; j++)
		{
			nul[10 + j][n] = jsons[j] == NULL;
			col[10 + j][n] = jsons[j] ? JsonbPGetDatum(jsons[j]) : (Datum) 0;
		}
		n++;
	}
	if (n == 0)
		return;
	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = Int32GetDatum(b->source_id);
	v[2] = TimestampTzGetDatum(b->received_at);
	for (int c = 0; c < 13; c++)
		v[3 + c] = PointerGetDatum(MakeArray(col[c], nul[c], n, types[c]));
	cdp_plan_exec(PLAN_BULK_EVENTS, v, NULL);
}

/*
 * The identifiers of the chunk's fresh messages, looked up in one sorted
 * pass (cdp_probe_chunk): an alias's previousId as a user_id and as an
 * anonymous_id (identity.c looks up both).
 */
static void
ProbeChunk(CdpCall *call, Pending **uniq, int nu)
{
	CdpProbeKey *keys;
	int			n = 0,
				max = 0;

	for (int i = 0; i < nu; i++)
		if (uniq[i]->fresh)
			max += uniq[i]->m.nids * 2;
	if (max == 0)
		return;
	keys = palloc(sizeof(CdpProbeKey) * max);
	for (int i = 0; i < nu; i++)
	{
		CdpMessage *m = &uniq[i]->m;

		if (!uniq[i]->fresh)
			continue;
		for (int j = 0; j < m->nids; j++)
		{
			keys[n].id_type = m->ids[j].alias_previous ? CDP_ID_USER_ID : m->ids[j].id_type;
			memcpy(keys[n].hash, m->ids[j].hash, CDP_HASH_LEN);
			n++;
			if (m->ids[j].alias_previous)
			{
				keys[n].id_type = CDP_ID_ANONYMOUS_ID;
				memcpy(keys[n].hash, m->ids[j].anon_hash, CDP_HASH_LEN);
				n++;
			}
		}
	}
	cdp_probe_refresh(&call->batch.probe);
	cdp_probe_chunk(&call->batch.probe, call->batch.tenant->tenant_id, keys, n);
}

/*
 * Messages first..last of a batch: parse all, claim their messageIds in one
 * statement, resolve identity message by message (in order), insert their
 * events in one statement. Same results as ProcessMessage one by one.
 */
static void
ProcessChunk(CdpCall *call, int first, int last)
{
	int			cap = last - first + 1;
	Pending    *p = palloc0(sizeof(Pending) * cap);
	Pending   **sorted = palloc(sizeof(Pending *) * cap);
	Pending   **uniq = palloc(sizeof(Pending *) * cap);
	Pending   **dups = palloc(sizeof(Pending *) * cap);
	int			np = 0,
				nu = 0,
				nd = 0;

	for (int i = first; i <= last; i++)
	{
		JsonbValue	buf;
		JsonbValue *element = Element(call, i, &buf);
		CdpResult  *r = &call->results[i];
		Pending    *x = &p[np];

		memset(r, 0, sizeof(CdpResult));
		if (!cdp_message_parse(&x->m, element, &call->batch))
		{
			if (x->m.message_id && !x->m.message_id_generated)
				r->message_id = MemoryContextStrdup(call->callcxt, x->m.message_id);
			Reject(call, &x->m, element, r, x->m.error, x->m.sqlstate);
			continue;
		}
		r->message_id = MemoryContextStrdup(call->callcxt, x->m.message_id);
		if (call->has_suppressions && Suppressed(call, &x->m))
		{
			r->status = "suppressed";
			continue;
		}
		x->index = i;
		x->event_id = nextval_internal(call->event_seq, false);
		sorted[np] = x;
		np++;
	}
	if (np == 0)
		return;

	/* A messageId repeated within the chunk: the first occurrence decides. */
	qsort(sorted, np, sizeof(Pending *), ComparePendingId);
	for (int i = 0; i < np; i++)
		if (i == 0 || strcmp(sorted[i]->m.message_id, sorted[i - 1]->m.message_id) != 0)
			uniq[nu++] = sorted[i];
	BulkDedupe(call, uniq, nu);
	for (int i = 0; i < nu; i++)
		if (!uniq[i]->fresh)
		{
			uniq[i]->event_id = 0;
			dups[nd++] = uniq[i];
		}
	if (nd > 0)
		BulkOriginals(call, dups, nd);
	ProbeChunk(call, uniq, nu);

	for (int i = 0; i < np; i++)
	{
		Pending    *x = &p[i];
		Pending    *owner = FindPending(uniq, nu, x->m.message_id);
		CdpResult  *r = &call->results[x->index];
		int64		profile;

		if (owner != x || !x->fresh)
		{
			/* A repeat of an earlier message of the chunk, or of one stored before. */
			x->fresh = false;
			r->status = "duplicate";
			r->event_id = owner->event_id;
			continue;
		}
		profile = cdp_identity_resolve(&call->batch, &x->m, NeedsLock(&x->m));
		if (strcmp(x->m.type, "identify") == 0)
			ProfileTraits(call, &x->m, profile);
		else if (strcmp(x->m.type, "group") == 0)
			GroupTraits(call, &x->m);
		if (x->m.consent)
			Consent(call, &x->m, profile);
		r->status = "accepted";
		r->profile_id = profile;
		r->event_id = x->event_id;
		CHECK_FOR_INTERRUPTS();
	}
	cdp_probe_forget_chunk(&call->batch.probe);
	BulkSeen(call, p, np);
	BulkEvents(call, p, np);
}

/* Errors a message may cause that reject it rather than fail the call. */
static bool
IsDataError(int sqlerrcode)
{
	int			cls = ERRCODE_TO_CATEGORY(sqlerrcode);

	return cls == ERRCODE_DATA_EXCEPTION || cls == ERRCODE_INTEGRITY_CONSTRAINT_VIOLATION ||
		cls == ERRCODE_PROGRAM_LIMIT_EXCEEDED;
}

/*
 * A deadlock is worth another attempt; a serialization failure only under
 * READ COMMITTED, where the next attempt reads with a new snapshot. Under
 * REPEATABLE READ and SERIALIZABLE it would fail again with the same
 * snapshot: the caller gets it at once and retries its transaction.
 */
static bool
IsRetryable(int sqlerrcode)
{
	if (sqlerrcode == ERRCODE_T_R_DEADLOCK_DETECTED)
		return true;
	return sqlerrcode == ERRCODE_T_R_SERIALIZATION_FAILURE && !IsolationUsesXactSnapshot();
}

/*
 * Runs fn(call, i) for messages first..last in a subtransaction. Returns
 * NULL on success, else the error (the subtransaction rolled back).
 */
static ErrorData *
InSubtransaction(CdpCall *call, int first, int last, bool bulk)
{
	MemoryContext oldcxt = CurrentMemoryContext;
	ResourceOwner oldowner = CurrentResourceOwner;
	ErrorData  *volatile edata = NULL;

	BeginInternalSubTransaction(NULL);
	MemoryContextSwitchTo(oldcxt);
	PG_TRY();
	{
		for (int i = first; i <= last; i += bulk ? CHUNK_SIZE : 1)
		{
			JsonbValue	buf;
			MemoryContext prev = MemoryContextSwitchTo(call->msgcxt);

			if (bulk)
				ProcessChunk(call, i, Min(i + CHUNK_SIZE - 1, last));
			else
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
		/* The chunk's identifiers (ProcessChunk) are in msgcxt, reset below. */
		cdp_probe_forget_chunk(&call->batch.probe);
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
ProcessCarefully(CdpCall *call, int first, int last)
{
	for (int i = first; i <= last; i++)
	{
		for (int attempt = 0;; attempt++)
		{
			ErrorData  *e = InSubtransaction(call, i, i, false);

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

/*
 * After a data error in a bulk run, messages first..last run again in two
 * halves, each in bulk in its own subtransaction; a half that fails again is
 * split again, down to BISECT_MIN messages, which go message by message. One
 * bad message in a batch of 10 000 then costs about two more bulk runs of
 * the batch and a few single messages, instead of 10 000 single messages
 * (each several times the cost of a message in bulk). *budget is how many
 * messages may still be re-run in bulk: with many bad messages splitting
 * would cost more than it saves, and the rest goes message by message.
 * Messages keep their order: a half commits (its subtransaction is
 * released) before the next one runs.
 */
#define BISECT_MIN 16

static void BulkRange(CdpCall *call, int first, int last, int *budget);

static void
Bisect(CdpCall *call, int first, int last, int *budget)
{
	int			mid = first + (last - first + 1) / 2 - 1;

	BulkRange(call, first, mid, budget);
	BulkRange(call, mid + 1, last, budget);
}

static void
BulkRange(CdpCall *call, int first, int last, int *budget)
{
	int			n = last - first + 1;
	ErrorData  *e;

	if (n <= BISECT_MIN || *budget < n)
	{
		ProcessCarefully(call, first, last);
		return;
	}
	*budget -= n;
	for (int attempt = 0;; attempt++)
	{
		e = InSubtransaction(call, first, last, true);
		if (e == NULL)
			return;
		if (IsRetryable(e->sqlerrcode) && attempt < MAX_BATCH_RETRIES)
		{
			Backoff(attempt);
			continue;
		}
		break;
	}
	if (!IsDataError(e->sqlerrcode) && !IsRetryable(e->sqlerrcode))
		ReThrowError(e);
	Bisect(call, first, last, budget);
}

/* The unique violation of a plain messageId claim (PLAN_CLAIM, PLAN_CLAIM_AND_EVENT)? */
static bool
IsClaimConflict(ErrorData *e)
{
	return e->sqlerrcode == ERRCODE_UNIQUE_VIOLATION &&
		e->schema_name != NULL && strcmp(e->schema_name, CDP_SCHEMA) == 0 &&
		e->table_name != NULL && strcmp(e->table_name, "message_ids") == 0;
}

/*
 * A single message is first run expecting its messageId to be new (nearly
 * always: duplicates are client retries): it claims the id with a plain
 * INSERT, before identity work takes any lock (PLAN_CLAIM), or for a known
 * person in the statement that stores the event, ahead of its last_seen_at
 * update (PLAN_CLAIM_EVENT_SEEN). If the id is taken (by a committed
 * transaction, by this one, or by a concurrent one that commits while we
 * wait for it, holding no lock of ours) that INSERT fails with a unique
 * violation, the subtransaction rolls everything of the message back, and
 * the message runs again claiming its id with ON CONFLICT (PLAN_DEDUPE):
 * "duplicate", or a re-claim of an id older than the dedupe window. Same
 * answers and rows as ON CONFLICT, without its speculative insertion.
 */
static void
ProcessAll(CdpCall *call)
{
	bool		bulk = call->array != NULL && call->n > 1;

	call->claim_plain = !bulk;
	for (int attempt = 0;; attempt++)
	{
		ErrorData  *e = InSubtransaction(call, 0, call->n - 1, bulk);

		if (e == NULL)
			return;
		if (call->claim_plain && IsClaimConflict(e))
		{
			call->claim_plain = false;
			continue;
		}
		call->claim_plain = false;
		if (IsRetryable(e->sqlerrcode) && attempt < MAX_BATCH_RETRIES)
		{
			Backoff(attempt);
			continue;
		}
		if (IsDataError(e->sqlerrcode) || IsRetryable(e->sqlerrcode))
		{
			int			budget = 3 * call->n;

			if (bulk && call->n > BISECT_MIN)
				Bisect(call, 0, call->n - 1, &budget);
			else
				ProcessCarefully(call, 0, call->n - 1);
			return;
		}
		ReThrowError(e);
	}
}

/* ---------- entry points ---------- */

/*
 * The memory context chunks of a batch are parsed into, kept for the
 * backend's life under TopMemoryContext. A chunk needs a few MB; a keeper
 * block that survives every reset saves malloc'ing and page-faulting fresh
 * memory in for each chunk, and keeping the context across calls saves it
 * for each call too (a batch of 1 000 messages is a single chunk: with a
 * context per call it paid ~40 ms of page faults per call). Reset when a
 * call starts using it (an error may have skipped the reset at its end) and
 * when the call's own context goes away (end of call, or error cleanup),
 * which also frees it for the next call; a call made while another one is
 * using it (not expected) gets a context of its own.
 */
#define CHUNK_CONTEXT_KEEP ((Size) CHUNK_SIZE * 8192)

static MemoryContext chunk_cxt = NULL;
static bool chunk_cxt_busy = false;

static void
ReleaseChunkContext(void *arg)
{
	MemoryContextReset(chunk_cxt);
	chunk_cxt_busy = false;
}

static void
UseChunkContext(CdpCall *call)
{
	MemoryContextCallback *cb;

	if (chunk_cxt_busy)
	{
		Size		keep = (Size) Min(call->n, CHUNK_SIZE) * 8192;

		MemoryContextDelete(call->msgcxt);
		call->msgcxt = AllocSetContextCreate(call->callcxt, "cdp ingest chunk", keep, keep,
											 ALLOCSET_DEFAULT_MAXSIZE);
		return;
	}
	if (chunk_cxt == NULL)
		chunk_cxt = AllocSetContextCreate(TopMemoryContext, "cdp ingest chunk",
										  CHUNK_CONTEXT_KEEP, CHUNK_CONTEXT_KEEP,
										  ALLOCSET_DEFAULT_MAXSIZE);
	MemoryContextReset(chunk_cxt);
	cb = MemoryContextAlloc(call->callcxt, sizeof(MemoryContextCallback));
	cb->func = ReleaseChunkContext;
	cb->arg = NULL;
	MemoryContextRegisterResetCallback(call->callcxt, cb);
	chunk_cxt_busy = true;
	MemoryContextDelete(call->msgcxt);
	call->msgcxt = chunk_cxt;
}


static void
StartCall(CdpCall *call, FunctionCallInfo fcinfo, const char *argname)
{
	memset(call, 0, sizeof(CdpCall));
	if (PG_ARGISNULL(0))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED), errmsg("write_key must not be NULL")));
	if (PG_ARGISNULL(1))
		ereport(ERROR, (errcode(ERRCODE_NULL_VALUE_NOT_ALLOWED),
						errmsg("%s must not be NULL", argname)));
	cdp_heapkeep_apply();
	call->callcxt = AllocSetContextCreate(CurrentMemoryContext, "cdp ingest call", ALLOCSET_DEFAULT_SIZES);
	call->msgcxt = AllocSetContextCreate(call->callcxt, "cdp ingest message", ALLOCSET_DEFAULT_SIZES);
	/*
	 * The clock when the call began, not the caller's transaction start
	 * (now()): a loader that keeps one transaction open across many calls
	 * would otherwise date every message without a timestamp, and correct
	 * every device clock (receivedAt - (sentAt - originalTimestamp)), by the
	 * age of its transaction.
	 */
	call->batch.received_at = GetCurrentTimestamp();
	if (SPI_connect() != SPI_OK_CONNECT)
		elog(ERROR, "SPI_connect failed");
	Authenticate(call, PG_GETARG_TEXT_PP(0));
	/*
	 * One HMAC context for every hash of the call, created here so that it
	 * belongs to the caller's resource owner, not to a subtransaction of ours.
	 */
	call->batch.tenant->hmac = pg_hmac_create(PG_SHA256);
	if (call->batch.tenant->hmac == NULL)
		ereport(ERROR, (errcode(ERRCODE_OUT_OF_MEMORY), errmsg("out of memory")));
	/* Before reading suppressions: wait while an erasure of the tenant runs. */
	cdp_lock_tenant_for_ingest(call->batch.tenant->tenant_id);
	cdp_probe_open(&call->batch.probe);
	cdp_rowstore_init(&call->batch.rows);
	/* Suppressions can appear at any time (an erasure): checked on every call. */
	cdp_probe_refresh(&call->batch.probe);
	call->has_suppressions = cdp_probe_any_suppression(&call->batch.probe, call->batch.tenant->tenant_id);
	call->event_seq = get_relname_relid("event_id_seq", get_namespace_oid(CDP_SCHEMA, false));
	if (!OidIsValid(call->event_seq))
		elog(ERROR, "sequence cdp.event_id_seq is missing");
}

static void
FinishCall(CdpCall *call)
{
	cdp_rowstore_close(&call->batch.rows);
	cdp_probe_close(&call->batch.probe);
	pg_hmac_free(call->batch.tenant->hmac);
	call->batch.tenant->hmac = NULL;
	memset(call->batch.tenant->secret, 0, sizeof(call->batch.tenant->secret));
	SPI_finish();
}

static int
CompareInt64Pair(const void *a, const void *b)
{
	int64		x = ((const int64 *) a)[0];
	int64		y = ((const int64 *) b)[0];

	return (x > y) - (x < y);
}

/*
 * A result names the canonical profile (docs/ingestion.md). A message's
 * profile was canonical when its event was stored, but a later message of
 * the same call may have merged it into another: such results are mapped to
 * the winner (merged_into is one hop). One statement, only for a batch that
 * merged (b->merged is set also by attempts rolled back: harmless); a single
 * message's result is its winner already.
 */
static void
CanonicalResults(CdpCall *call)
{
	Datum	   *ids;
	Datum		v[2];
	int64	   *map;
	int			n = 0;
	uint64		rows;

	if (!call->batch.merged)
		return;
	ids = palloc(sizeof(Datum) * call->n);
	for (int i = 0; i < call->n; i++)
		if (call->results[i].profile_id != 0)
			ids[n++] = Int64GetDatum(call->results[i].profile_id);
	if (n == 0)
		return;
	v[0] = Int32GetDatum(call->batch.tenant->tenant_id);
	v[1] = PointerGetDatum(MakeArray(ids, NULL, n, INT8OID));
	rows = cdp_plan_exec(PLAN_CANONICAL_OF, v, NULL);
	map = palloc(sizeof(int64) * 2 * Max(rows, 1));
	for (uint64 r = 0; r < rows; r++)
	{
		bool		isnull;

		map[2 * r] = DatumGetInt64(cdp_plan_value(r, 1, &isnull));
		map[2 * r + 1] = DatumGetInt64(cdp_plan_value(r, 2, &isnull));
	}
	cdp_plan_done();
	qsort(map, rows, sizeof(int64) * 2, CompareInt64Pair);
	for (int i = 0; i < call->n && rows > 0; i++)
	{
		int64		key[2] = {call->results[i].profile_id, 0};
		int64	   *hit;

		if (key[0] == 0)
			continue;
		hit = bsearch(key, map, rows, sizeof(int64) * 2, CompareInt64Pair);
		if (hit)
			call->results[i].profile_id = hit[1];
	}
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

/* Reads the batch-level sentAt into call->batch (see CdpBatch.bad_sent_at). */
static void
BatchSentAt(CdpCall *call, JsonbValue *sent)
{
	CdpBatch   *b = &call->batch;
	char	   *text;

	if (sent->type != jbvString)
	{
		b->bad_sent_at = MemoryContextStrdup(call->callcxt,
											 psprintf("the batch's sentAt must be an ISO 8601 string, not %s",
													  cdp_json_typeof(sent)));
		b->bad_sent_at_sqlstate = ERRCODE_INVALID_DATETIME_FORMAT;
		return;
	}
	switch (cdp_parse_time(sent->val.string.val, sent->val.string.len, &b->sent_at))
	{
		case CDP_TIME_OK:
			b->has_sent_at = true;
			return;
		case CDP_TIME_BAD_FORMAT:
			b->bad_sent_at_sqlstate = ERRCODE_INVALID_DATETIME_FORMAT;
			text = "is not an ISO 8601 timestamp";
			break;
		default:
			b->bad_sent_at_sqlstate = ERRCODE_DATETIME_FIELD_OVERFLOW;
			text = "is outside the accepted range (1970-01-01 to 9999-12-31)";
			break;
	}
	b->bad_sent_at = MemoryContextStrdup(call->callcxt,
										 psprintf("the batch's sentAt \"%s\" %s",
												  pnstrdup(sent->val.string.val, Min(sent->val.string.len, 64)),
												  text));
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
		/*
		 * A batch-level sentAt applies to messages without their own; one
		 * that cannot be used rejects them, as their own would (not ignored:
		 * their device clock would go uncorrected, their times silently off).
		 */
		sent = cdp_json_get(&messages->root, "sentAt", &sbuf);
		if (sent && sent->type != jbvNull)
			BatchSentAt(&call, sent);
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
	if (call.n > 1)
		UseChunkContext(&call);
	if (call.n > 0)
		ProcessAll(&call);
	CanonicalResults(&call);
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
