/*
 * message.c — parsing and validation of one Segment-spec message.
 *
 * Fields are read in place from the jsonb container; nothing here raises an
 * error for bad input (a bad message is rejected and quarantined with the
 * reason and a precise SQLSTATE, while the rest of its batch goes on):
 *
 *   not an object                          2203C  sql_json_object_not_found
 *   missing type / event / groupId / ...   2203A  sql_json_member_not_found
 *   an id that is not a string or number   2203F  sql_json_scalar_required
 *   properties/traits/context not objects  2203C
 *   unknown type, bad externalIds          22023  invalid_parameter_value
 *   no identifier at all                   2203A
 *   only blocked identifiers               22023
 *   messageId longer than the limit        22001  string_data_right_truncation
 *   payload larger than the limit          54000  program_limit_exceeded
 *   too many properties or traits          2203E  too_many_json_object_members
 *   unparseable timestamp                  22007  invalid_datetime_format
 *   timestamp before 1970 or after 9999    22008  datetime_field_overflow
 */
#include "postgres.h"

#include "common/cryptohash.h"
#include "common/sha2.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/numeric.h"

#include "ingest.h"
#include "jsonutil.h"
#include "message.h"
#include "normalize.h"
#include "timeparse.h"

#define MAX_IDS 64

static const char *const message_types[] = {"identify", "track", "page", "screen", "group", "alias"};

static bool
Reject(CdpMessage *m, int sqlstate, char *error)
{
	m->sqlstate = sqlstate;
	m->error = error;
	return false;
}

/*
 * A string or number as text; NULL for JSON null or a missing field. A
 * number is written by its value, without trailing zeros (numeric_normalize:
 * 12345.0 and 1.2345e4 are "12345"), so that one id sent as a number in two
 * spellings is one identifier (review 9, F7: they were two people).
 */
static bool
ScalarText(JsonbValue *v, char **out)
{
	*out = NULL;
	if (v == NULL || v->type == jbvNull)
		return true;
	if (v->type == jbvString)
	{
		*out = pnstrdup(v->val.string.val, v->val.string.len);
		return true;
	}
	if (v->type == jbvNumeric)
	{
		*out = numeric_normalize(v->val.numeric);
		return true;
	}
	return false;
}

/* Reads an id field (string or number); false if it has another JSON type. */
static bool
IdField(CdpMessage *m, const char *name, char **out)
{
	JsonbValue	buf;
	JsonbValue *v = cdp_json_get(m->root, name, &buf);

	if (!ScalarText(v, out))
		return Reject(m, ERRCODE_SQL_JSON_SCALAR_REQUIRED,
					  psprintf("%s must be a string or a number, not %s", name, cdp_json_typeof(v)));
	return true;
}

/* An optional object field, as jsonb; false if present with another type. */
static bool
ObjectField(CdpMessage *m, JsonbContainer *c, const char *name, Jsonb **out, bool count)
{
	JsonbValue	buf;
	JsonbValue *v = cdp_json_get(c, name, &buf);
	JsonbContainer *o;

	*out = NULL;
	if (v == NULL || v->type == jbvNull)
		return true;
	if ((o = cdp_json_object(v)) == NULL)
		return Reject(m, ERRCODE_SQL_JSON_OBJECT_NOT_FOUND,
					  psprintf("%s must be a JSON object, not %s", name, cdp_json_typeof(v)));
	if (count && JsonContainerSize(o) > (uint32) cdp_max_properties)
		return Reject(m, ERRCODE_TOO_MANY_JSON_OBJECT_MEMBERS,
					  psprintf("%s has %u keys, more than cdp.max_properties (%d)",
							   name, JsonContainerSize(o), cdp_max_properties));
	*out = cdp_json_to_jsonb(v);
	return true;
}

/* An optional timestamp field; *found says whether it was given. */
static bool
TimeField(CdpMessage *m, JsonbContainer *c, const char *name, TimestampTz *out, bool *found)
{
	JsonbValue	buf;
	JsonbValue *v = cdp_json_get(c, name, &buf);

	*found = false;
	if (v == NULL || v->type == jbvNull)
		return true;
	if (v->type != jbvString)
		return Reject(m, ERRCODE_INVALID_DATETIME_FORMAT,
					  psprintf("%s must be an ISO 8601 string, not %s", name, cdp_json_typeof(v)));
	switch (cdp_parse_time(v->val.string.val, v->val.string.len, out))
	{
		case CDP_TIME_OK:
			*found = true;
			return true;
		case CDP_TIME_BAD_FORMAT:
			return Reject(m, ERRCODE_INVALID_DATETIME_FORMAT,
						  psprintf("%s \"%s\" is not an ISO 8601 timestamp", name,
								   pnstrdup(v->val.string.val, Min(v->val.string.len, 64))));
		default:
			return Reject(m, ERRCODE_DATETIME_FIELD_OVERFLOW,
						  psprintf("%s \"%s\" is outside the accepted range (1970-01-01 to 9999-12-31)", name,
								   pnstrdup(v->val.string.val, Min(v->val.string.len, 64))));
	}
}

/*
 * Event time per the Segment spec: timestamp if given; else receivedAt -
 * (sentAt - originalTimestamp), which corrects the device clock by the skew
 * seen at sending; else originalTimestamp; else the time received.
 */
static bool
EventTime(CdpMessage *m, CdpBatch *batch)
{
	TimestampTz ts,
				orig,
				sent,
				recv;
	bool		has_ts,
				has_orig,
				has_sent,
				has_recv;

	if (!TimeField(m, m->root, "timestamp", &ts, &has_ts) ||
		!TimeField(m, m->root, "originalTimestamp", &orig, &has_orig) ||
		!TimeField(m, m->root, "sentAt", &sent, &has_sent) ||
		!TimeField(m, m->root, "receivedAt", &recv, &has_recv))
		return false;
	if (!has_sent && batch->bad_sent_at)
		return Reject(m, batch->bad_sent_at_sqlstate, pstrdup(batch->bad_sent_at));
	if (!has_sent && batch->has_sent_at)
	{
		sent = batch->sent_at;
		has_sent = true;
	}
	if (!has_recv)
		recv = batch->received_at;

	if (has_ts)
		m->event_time = ts;
	else if (has_orig && has_sent)
		m->event_time = recv - (sent - orig);
	else if (has_orig)
		m->event_time = orig;
	else
		m->event_time = recv;

	if (!cdp_time_in_range(m->event_time))
		return Reject(m, ERRCODE_DATETIME_FIELD_OVERFLOW,
					  pstrdup("event time computed from receivedAt - (sentAt - originalTimestamp) is outside the accepted range (1970-01-01 to 9999-12-31)"));
	m->seen_time = Min(m->event_time, batch->received_at + (TimestampTz) cdp_max_clock_skew * USECS_PER_SEC);
	return true;
}

typedef struct IdCollector
{
	CdpMessage *m;
	CdpBatch   *batch;
	int			candidates;		/* identifier fields present, blocked or not */
} IdCollector;

/* Normalizes, hashes and adds one identifier (unless blocked or repeated). */
static void
AddId(IdCollector *col, const char *id_type, const char *value, bool alias_previous)
{
	CdpMessage *m = col->m;
	CdpTenant  *t = col->batch->tenant;
	char	   *norm;
	CdpIdent   *id;

	if (value == NULL)
		return;
	col->candidates++;
	norm = cdp_normalize_identifier(id_type, value, strlen(value), t->default_country, t->blocked,
									t->blocked_phones);
	if (norm == NULL)
		return;
	for (int i = 0; i < m->nids; i++)
		if (strcmp(m->ids[i].id_type, id_type) == 0 && strcmp(m->ids[i].normalized, norm) == 0)
			return;
	if (m->nids >= MAX_IDS)
		return;
	if (m->nids == m->ids_cap)
	{
		/* Most messages carry two to four identifiers: grow only for the rare ones with more. */
		m->ids_cap *= 2;
		m->ids = repalloc(m->ids, sizeof(CdpIdent) * m->ids_cap);
	}
	id = &m->ids[m->nids++];
	memset(id, 0, sizeof(CdpIdent));
	id->id_type = id_type;
	id->normalized = norm;
	id->rank = cdp_tenant_rank(t, id_type);
	id->alias_previous = alias_previous;
	cdp_hash_identifier(t, id_type, norm, id->hash);
	if (alias_previous)
		cdp_hash_identifier(t, CDP_ID_ANONYMOUS_ID, norm, id->anon_hash);
}

/* email and phone from a traits object (strings; phone may be a number). */
static void
TraitIds(IdCollector *col, JsonbContainer *traits)
{
	JsonbValue	buf;
	char	   *s;

	if (traits == NULL)
		return;
	if (ScalarText(cdp_json_get(traits, "email", &buf), &s) && s && buf.type == jbvString)
		AddId(col, CDP_ID_EMAIL, s, false);
	if (ScalarText(cdp_json_get(traits, "phone", &buf), &s) && s)
		AddId(col, CDP_ID_PHONE, s, false);
}

/* context.externalIds: [{"id": ..., "type": ...}, ...] */
static bool
ExternalIds(IdCollector *col, JsonbContainer *context)
{
	CdpMessage *m = col->m;
	JsonbValue	buf;
	JsonbValue *v = cdp_json_get(context, "externalIds", &buf);
	JsonbContainer *arr;

	if (v == NULL || v->type == jbvNull)
		return true;
	if ((arr = cdp_json_array(v)) == NULL)
		return Reject(m, ERRCODE_INVALID_PARAMETER_VALUE,
					  psprintf("context.externalIds must be an array, not %s", cdp_json_typeof(v)));
	for (uint32 i = 0; i < JsonContainerSize(arr); i++)
	{
		JsonbValue *e = getIthJsonbValueFromContainer(arr, i);
		JsonbContainer *o = cdp_json_object(e);
		JsonbValue	tbuf,
					ibuf;
		JsonbValue *tv,
				   *iv;
		char	   *type,
				   *id;

		if (o == NULL)
			return Reject(m, ERRCODE_INVALID_PARAMETER_VALUE,
						  psprintf("context.externalIds[%u] must be an object with id and type", i));
		/*
		 * Segment's collection says whose id it is: "users", or "accounts"
		 * for a company (e.g. {"type": "group_id", "collection":
		 * "accounts"}). An account's id is not an identifier of a person:
		 * taken as one, it would join everyone of the company.
		 */
		tv = cdp_json_get(o, "collection", &tbuf);
		if (tv && tv->type == jbvString &&
			!(tv->val.string.len == 5 && pg_strncasecmp(tv->val.string.val, "users", 5) == 0))
			continue;
		tv = cdp_json_get(o, "type", &tbuf);
		iv = cdp_json_get(o, "id", &ibuf);
		if (tv == NULL || tv->type != jbvString || !ScalarText(iv, &id) || id == NULL)
			return Reject(m, ERRCODE_INVALID_PARAMETER_VALUE,
						  psprintf("context.externalIds[%u] must have a string type and a string or number id", i));
		type = pnstrdup(tv->val.string.val, tv->val.string.len);
		for (char *p = type; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p += 'a' - 'A';
		if (!cdp_valid_id_type(type))
			return Reject(m, ERRCODE_INVALID_PARAMETER_VALUE,
						  psprintf("context.externalIds[%u].type \"%s\" is not a valid identifier type", i, type));
		AddId(col, type, id, false);
	}
	return true;
}

static bool
Identifiers(CdpMessage *m, CdpBatch *batch)
{
	IdCollector col = {m, batch, 0};
	JsonbValue	buf;
	JsonbContainer *context = m->context ? &m->context->root : NULL;
	ListCell   *lc;
	char	   *s;

	/*
	 * Room for a few identifiers, not MAX_IDS: a batch parses a chunk of
	 * messages into one memory context, and 64 * 100 bytes per message
	 * would make it touch (page-fault) ~6 MB per chunk.
	 */
	m->ids_cap = 4;
	m->ids = palloc(sizeof(CdpIdent) * m->ids_cap);
	m->nids = 0;
	AddId(&col, CDP_ID_USER_ID, m->user_id, false);
	if (m->previous_id)
		AddId(&col, CDP_ID_USER_ID, m->previous_id, true);
	AddId(&col, CDP_ID_ANONYMOUS_ID, m->anonymous_id, false);
	/* A group message's traits describe the group, not the person. */
	if (strcmp(m->type, "group") != 0 && m->traits)
		TraitIds(&col, &m->traits->root);
	TraitIds(&col, cdp_json_object(cdp_json_get(context, "traits", &buf)));
	if (ScalarText(cdp_json_path(context, "device.id", &buf), &s) && s)
		AddId(&col, CDP_ID_DEVICE_ID, s, false);
	if (!ExternalIds(&col, context))
		return false;
	foreach(lc, batch->tenant->custom_ids)
	{
		CdpCustomId *ci = lfirst(lc);

		if (ScalarText(cdp_json_path(m->root, ci->path, &buf), &s) && s)
			AddId(&col, ci->id_type, s, false);
	}

	if (col.candidates == 0)
		return Reject(m, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND,
					  pstrdup("message has no identifier (userId, anonymousId, traits.email, traits.phone, context.device.id, context.externalIds)"));
	if (m->nids == 0)
		return Reject(m, ERRCODE_INVALID_PARAMETER_VALUE,
					  pstrdup("message has no usable identifier: every identifier is a blocked value (such as \"\", \"null\", \"undefined\", \"0\", \"anonymous\") or not a valid phone number"));
	return true;
}

/* A messageId for a message without one: a digest of its content (see docs/ingestion.md). */
static char *
GeneratedMessageId(CdpMessage *m)
{
	pg_cryptohash_ctx *ctx = pg_cryptohash_create(PG_SHA256);
	uint8		digest[PG_SHA256_DIGEST_LENGTH];
	char		hex[PG_SHA256_DIGEST_LENGTH * 2 + 1];

	if (ctx == NULL || pg_cryptohash_init(ctx) < 0 ||
		pg_cryptohash_update(ctx, (uint8 *) m->root, m->root_len) < 0 ||
		pg_cryptohash_final(ctx, digest, sizeof(digest)) < 0)
		elog(ERROR, "could not compute SHA-256");
	pg_cryptohash_free(ctx);
	hex_encode((char *) digest, sizeof(digest), hex);
	hex[sizeof(hex) - 1] = '\0';
	return psprintf("sha256:%s", hex);
}

static bool
MessageId(CdpMessage *m)
{
	JsonbValue	buf;
	JsonbValue *v = cdp_json_get(m->root, "messageId", &buf);
	char	   *id;

	if (!ScalarText(v, &id))
		return Reject(m, ERRCODE_SQL_JSON_SCALAR_REQUIRED,
					  psprintf("messageId must be a string, not %s", cdp_json_typeof(v)));
	if (id != NULL && strlen(id) > (size_t) cdp_max_message_id_length)
	{
		size_t		len = strlen(id);

		m->message_id = NULL;
		return Reject(m, ERRCODE_STRING_DATA_RIGHT_TRUNCATION,
					  psprintf("messageId is %zu bytes, longer than cdp.max_message_id_length (%d)",
							   len, cdp_max_message_id_length));
	}
	if (id == NULL || id[strspn(id, " \t\r\n")] == '\0')
	{
		m->message_id = GeneratedMessageId(m);
		m->message_id_generated = true;
	}
	else
		m->message_id = id;
	return true;
}

/*
 * The size of a message as JSON text, computed only when it may matter: the
 * text is at most six times the jsonb (a control character is one byte in
 * jsonb and six, "\u0001", in JSON), so below a sixth of the limit it fits.
 */
static bool
PayloadSize(CdpMessage *m)
{
	int			len = m->root_len;

	if (len > cdp_max_payload_bytes / 6)
	{
		char	   *text = JsonbToCString(NULL, m->root, len);

		len = strlen(text);
		pfree(text);
	}
	if (len > cdp_max_payload_bytes)
		return Reject(m, ERRCODE_PROGRAM_LIMIT_EXCEEDED,
					  psprintf("message is %d bytes of JSON, more than cdp.max_payload_bytes (%d)",
							   len, cdp_max_payload_bytes));
	return true;
}

static bool
TypeAndFields(CdpMessage *m)
{
	JsonbValue	buf;
	JsonbValue *v = cdp_json_get(m->root, "type", &buf);

	if (v == NULL || v->type == jbvNull)
		return Reject(m, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND, pstrdup("message has no type"));
	if (v->type != jbvString)
		return Reject(m, ERRCODE_SQL_JSON_SCALAR_REQUIRED,
					  psprintf("type must be a string, not %s", cdp_json_typeof(v)));
	for (int i = 0; i < lengthof(message_types); i++)
		if (v->val.string.len == (int) strlen(message_types[i]) &&
			pg_strncasecmp(v->val.string.val, message_types[i], v->val.string.len) == 0)
			m->type = message_types[i];
	if (m->type == NULL)
		return Reject(m, ERRCODE_INVALID_PARAMETER_VALUE,
					  psprintf("unknown message type \"%s\"",
							   pnstrdup(v->val.string.val, Min(v->val.string.len, 64))));

	if (!IdField(m, "userId", &m->user_id) || !IdField(m, "anonymousId", &m->anonymous_id) ||
		!IdField(m, "groupId", &m->group_id) || !IdField(m, "previousId", &m->previous_id))
		return false;
	/*
	 * A groupId of spaces names no group (review 8: "groupId": "  " made a
	 * cdp.groups row keyed by spaces): it counts as none, so a group message
	 * without another is rejected as having no groupId.
	 */
	if (m->group_id && m->group_id[strspn(m->group_id, " \t\r\n")] == '\0')
		m->group_id = NULL;
	/*
	 * groupId is stored in an index (cdp.groups' key): a value too long for
	 * it is this message's fault, found here rather than as an index error
	 * that would make its batch run again in halves (ingest.c Bisect).
	 */
	if (m->group_id && strlen(m->group_id) > (size_t) cdp_max_group_id_length)
		return Reject(m, ERRCODE_STRING_DATA_RIGHT_TRUNCATION,
					  psprintf("groupId is %zu bytes, longer than cdp.max_group_id_length (%d)",
							   strlen(m->group_id), cdp_max_group_id_length));

	if (strcmp(m->type, "track") == 0)
	{
		v = cdp_json_get(m->root, "event", &buf);
		if (v == NULL || v->type == jbvNull)
			return Reject(m, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND, pstrdup("track message has no event"));
		if (v->type != jbvString)
			return Reject(m, ERRCODE_SQL_JSON_SCALAR_REQUIRED,
						  psprintf("event must be a string, not %s", cdp_json_typeof(v)));
		m->event_name = pnstrdup(v->val.string.val, v->val.string.len);
	}
	else if (strcmp(m->type, "page") == 0 || strcmp(m->type, "screen") == 0)
	{
		v = cdp_json_get(m->root, "name", &buf);
		if (v != NULL && v->type != jbvNull && !ScalarText(v, &m->event_name))
			return Reject(m, ERRCODE_SQL_JSON_SCALAR_REQUIRED,
						  psprintf("name must be a string, not %s", cdp_json_typeof(v)));
	}
	else if (strcmp(m->type, "group") == 0 && m->group_id == NULL)
		return Reject(m, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND, pstrdup("group message has no groupId"));
	else if (strcmp(m->type, "alias") == 0)
	{
		if (m->previous_id == NULL)
			return Reject(m, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND, pstrdup("alias message has no previousId"));
		if (m->user_id == NULL)
			return Reject(m, ERRCODE_SQL_JSON_MEMBER_NOT_FOUND, pstrdup("alias message has no userId"));
	}
	if (strcmp(m->type, "alias") != 0)
		m->previous_id = NULL;	/* only an alias links a previous id */

	if (!ObjectField(m, m->root, "properties", &m->properties, true) ||
		!ObjectField(m, m->root, "traits", &m->traits, true) ||
		!ObjectField(m, m->root, "context", &m->context, false))
		return false;
	/*
	 * identify: traits may come in context.traits only (as RudderStack
	 * duplicates them), also beside an empty "traits": {} (review 9, F6:
	 * those traits were dropped).
	 */
	if (strcmp(m->type, "identify") == 0 && m->context &&
		(m->traits == NULL || JB_ROOT_COUNT(m->traits) == 0))
	{
		Jsonb	   *from_context;

		if (!ObjectField(m, &m->context->root, "traits", &from_context, true))
			return false;
		if (from_context != NULL)
			m->traits = from_context;
	}
	return true;
}

/* For a rejected message: whatever well-formed identifier fields it has. */
static void
Salvage(CdpMessage *m)
{
	JsonbValue	buf;
	JsonbContainer *c;

	if (m->user_id == NULL)
		(void) ScalarText(cdp_json_get(m->root, "userId", &buf), &m->user_id);
	if (m->anonymous_id == NULL)
		(void) ScalarText(cdp_json_get(m->root, "anonymousId", &buf), &m->anonymous_id);
	if (m->previous_id == NULL)
		(void) ScalarText(cdp_json_get(m->root, "previousId", &buf), &m->previous_id);
	if (m->traits == NULL && (c = cdp_json_object(cdp_json_get(m->root, "traits", &buf))) != NULL)
		m->traits = cdp_json_to_jsonb(&buf);
	if (m->context == NULL && (c = cdp_json_object(cdp_json_get(m->root, "context", &buf))) != NULL)
		m->context = cdp_json_to_jsonb(&buf);
}

bool
cdp_message_parse(CdpMessage *m, JsonbValue *element, CdpBatch *batch)
{
	JsonbValue	buf;

	memset(m, 0, sizeof(CdpMessage));
	if (element->type != jbvBinary || !JsonContainerIsObject(element->val.binary.data))
		return Reject(m, ERRCODE_SQL_JSON_OBJECT_NOT_FOUND,
					  psprintf("message must be a JSON object, not %s", cdp_json_typeof(element)));
	m->root = element->val.binary.data;
	m->root_len = element->val.binary.len;

	/* messageId first, so that a rejected message still names itself. */
	if (!MessageId(m) || !PayloadSize(m) || !TypeAndFields(m) || !EventTime(m, batch))
	{
		/* Keep what identifiers we can find, so erasure finds quarantined payloads too. */
		if (m->type == NULL)
			m->type = "track";
		if (m->ids == NULL)
		{
			int			save_state = m->sqlstate;
			const char *save_error = m->error;

			Salvage(m);

			(void) Identifiers(m, batch);
			m->sqlstate = save_state;
			m->error = save_error;
		}
		return false;
	}
	if (!Identifiers(m, batch))
		return false;

	if (m->context)
	{
		JsonbContainer *prefs = cdp_json_object(cdp_json_path(&m->context->root,
															  "consent.categoryPreferences", &buf));

		if (prefs)
			m->consent = cdp_json_to_jsonb(&buf);
	}
	return true;
}

Jsonb *
cdp_message_payload(JsonbValue *element)
{
	return cdp_json_to_jsonb(element);
}
