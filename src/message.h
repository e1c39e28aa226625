/*
 * message.h — one Segment-spec message, parsed and validated: its type, ids,
 * event time, the parts stored with the event, and its identifiers
 * (normalized and hashed). Parsing never raises for bad input: it sets
 * error and sqlstate, and the message is quarantined.
 */
#ifndef CDP_MESSAGE_H
#define CDP_MESSAGE_H

#include "datatype/timestamp.h"
#include "utils/jsonb.h"

#include "hash.h"
#include "probe.h"
#include "rowstore.h"
#include "tenant.h"

/* How far ahead of the time received an event time may count for traits and last_seen_at (seconds). */
extern int	cdp_max_clock_skew;

/* Per-call state shared by every message of a batch. */
typedef struct CdpBatch
{
	CdpTenant  *tenant;
	int32		source_id;
	TimestampTz received_at;	/* when cdp received the call */
	bool		has_sent_at;	/* batch-level sentAt ({"batch": [...], "sentAt": ...}) */
	TimestampTz sent_at;
	/*
	 * A batch-level sentAt that cannot be used: why (NULL if none), and the
	 * SQLSTATE of a message's own such sentAt, for the messages that would
	 * inherit it (they are rejected as if it were theirs).
	 */
	const char *bad_sent_at;
	int			bad_sent_at_sqlstate;
	CdpProbe	probe;			/* direct index lookups */
	CdpRowStore rows;			/* direct row writes (rowstore.c) */
	bool		merged;			/* a merge ran in this call: see CanonicalResults (ingest.c) */
} CdpBatch;

typedef struct CdpIdent
{
	const char *id_type;
	char	   *normalized;
	uint8		hash[CDP_HASH_LEN];
	int			rank;			/* priority: 0 is highest */
	/* alias previousId: known user_id, else known anonymous_id, else a new anonymous_id */
	bool		alias_previous;
	uint8		anon_hash[CDP_HASH_LEN];
	/* identity resolution state */
	int64		profile_id;		/* canonical profile holding it, 0 = new */
} CdpIdent;

typedef struct CdpMessage
{
	JsonbContainer *root;		/* the message object */
	int			root_len;		/* its size in bytes (jsonb) */
	const char *type;			/* identify, track, page, screen, group, alias */
	char	   *message_id;
	bool		message_id_generated;
	TimestampTz event_time;
	/*
	 * The time used for trait ordering, first/last_seen_at and group traits:
	 * event_time capped at received_at + cdp.max_clock_skew, so that one
	 * message from the future (9999-01-01) cannot freeze a profile's traits
	 * or keep it "active" for ever. The event itself keeps event_time.
	 */
	TimestampTz seen_time;
	char	   *event_name;
	char	   *user_id;
	char	   *anonymous_id;
	char	   *group_id;
	char	   *previous_id;
	Jsonb	   *properties;
	Jsonb	   *traits;			/* identify: the person's; group: the group's */
	Jsonb	   *context;
	Jsonb	   *consent;		/* context.consent.categoryPreferences, if an object */
	CdpIdent   *ids;
	int			nids;
	int			ids_cap;		/* allocated entries of ids */
	/* identity resolution created the profile (its seen times are this message's) */
	bool		created_profile;
	/* the resolved profile's traits, as read when it was locked (identify) */
	bool		profile_traits_known;
	Jsonb	   *profile_traits;
	Jsonb	   *profile_trait_times;
	/* validation outcome */
	const char *error;
	int			sqlstate;		/* ERRCODE_* */
} CdpMessage;

/*
 * Parses and validates one batch element. Returns false (with error and
 * sqlstate set, and whatever identifiers were found) when the message must
 * be rejected.
 */
extern bool cdp_message_parse(CdpMessage *m, JsonbValue *element, CdpBatch *batch);

/* The payload of a message as a jsonb datum (for the quarantine). */
extern Jsonb *cdp_message_payload(JsonbValue *element);

#endif							/* CDP_MESSAGE_H */
