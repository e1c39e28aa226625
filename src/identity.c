/*
 * identity.c — identity resolution in the ingesting transaction.
 *
 * Rules (docs/identity.md): no known identifier creates a profile; one
 * known profile gets the new identifiers; several profiles merge into the
 * oldest. A profile never holds more identifiers of a type than the
 * tenant's limit for it (default: one user_id): the message then goes to
 * the profile of its highest-priority identifier (a new profile if that
 * identifier is new), and every link that the limit forbids is written to
 * cdp.refused_links. Merges re-point the loser's identifiers and earlier
 * losers to the winner, so every identifier row names a canonical profile
 * and every merged profile is one hop from its canonical one.
 *
 * Concurrency, without advisory locks (a batch of 10 000 messages would
 * hold more than the shared lock table has room for):
 *  - profiles are locked FOR UPDATE in profile_id order before anything
 *    changes; a profile found merged meanwhile restarts the resolution;
 *  - a new identifier is claimed with INSERT ... ON CONFLICT DO NOTHING:
 *    when another transaction claimed it first we wait for it, and then
 *    resolve again, now seeing its profile (an empty profile we created
 *    for the attempt is deleted);
 *  - the loop is bounded; whatever deadlock remains possible between
 *    concurrent multi-message batches is retried by the caller (ingest.c);
 *  - a message of a known person that changes nothing locks no row: it
 *    takes the profile's private event lock in share mode (locks.c; past a
 *    budget per transaction, one lock for all of the tenant's profiles), so
 *    that the inactive-profile purge cannot delete the profile under the
 *    event being stored.
 */
#include "postgres.h"

#include "access/xact.h"
#include "catalog/pg_type.h"
#include "executor/spi.h"
#include "miscadmin.h"
#include "utils/builtins.h"
#include "utils/jsonb.h"
#include "utils/timestamp.h"

#include "identity.h"
#include "locks.h"
#include "normalize.h"
#include "plans.h"
#include "traits.h"

#define MAX_ATTEMPTS 50
#define MAX_PROFILES 64
#define MAX_TYPES 32

typedef struct Counts
{
	const char *id_type[MAX_TYPES];
	int			n[MAX_TYPES];
	int			ntypes;
} Counts;

typedef struct Profile
{
	int64		id;
	TimestampTz created_at;
	int			via;			/* index of the first identifier that led to it */
	Jsonb	   *traits;			/* as locked */
	Jsonb	   *trait_times;
} Profile;

typedef struct Refusal
{
	int64		other;			/* 0: a new identifier, not stored */
	CdpIdent   *id;
	char	   *reason;
} Refusal;

static bytea *
HashDatum(const uint8 *hash)
{
	bytea	   *b = palloc(VARHDRSZ + CDP_HASH_LEN);

	SET_VARSIZE(b, VARHDRSZ + CDP_HASH_LEN);
	memcpy(VARDATA(b), hash, CDP_HASH_LEN);
	return b;
}

static int64
FindId(CdpBatch *b, const char *id_type, const uint8 *hash)
{
	return cdp_probe_identifier(&b->probe, b->tenant->tenant_id, id_type, hash);
}

/* Looks each identifier up; types an alias's previousId. */
static void
LookUp(CdpBatch *b, CdpMessage *m)
{
	for (int i = 0; i < m->nids; i++)
	{
		CdpIdent   *id = &m->ids[i];

		if (id->alias_previous)
		{
			/* A known user_id, else a known anonymous_id, else a new anonymous_id. */
			id->profile_id = FindId(b, CDP_ID_USER_ID, id->hash);
			if (id->profile_id == 0)
			{
				id->id_type = CDP_ID_ANONYMOUS_ID;
				memcpy(id->hash, id->anon_hash, CDP_HASH_LEN);
				id->rank = cdp_tenant_rank(b->tenant, CDP_ID_ANONYMOUS_ID);
				id->alias_previous = false;
			}
			else
				continue;
		}
		id->profile_id = FindId(b, id->id_type, id->hash);
	}
}

/* Drops repeated identifiers (an alias previousId equal to the anonymousId) and sorts by priority. */
static void
SortByPriority(CdpMessage *m)
{
	int			n = 0;

	for (int i = 0; i < m->nids; i++)
	{
		bool		dup = false;

		for (int j = 0; j < n; j++)
			if (strcmp(m->ids[j].id_type, m->ids[i].id_type) == 0 &&
				memcmp(m->ids[j].hash, m->ids[i].hash, CDP_HASH_LEN) == 0)
				dup = true;
		if (!dup)
			m->ids[n++] = m->ids[i];
	}
	m->nids = n;
	/* Insertion sort: stable, and messages carry a handful of identifiers. */
	for (int i = 1; i < n; i++)
	{
		CdpIdent	x = m->ids[i];
		int			j = i - 1;

		while (j >= 0 && m->ids[j].rank > x.rank)
		{
			m->ids[j + 1] = m->ids[j];
			j--;
		}
		m->ids[j + 1] = x;
	}
}

static int
CountOf(Counts *c, const char *id_type)
{
	for (int i = 0; i < c->ntypes; i++)
		if (strcmp(c->id_type[i], id_type) == 0)
			return c->n[i];
	return 0;
}

/*
 * Counts only the types the tenant limits: the others can never refuse a
 * link, and a sender may invent any number of them (context.externalIds).
 * Dropping a limited type would let a link past its limit, so running out
 * of room is an error, never silent.
 */
static void
CountAdd(CdpTenant *t, Counts *c, const char *id_type, int n)
{
	if (cdp_tenant_limit(t, id_type) <= 0)
		return;
	for (int i = 0; i < c->ntypes; i++)
		if (strcmp(c->id_type[i], id_type) == 0)
		{
			c->n[i] += n;
			return;
		}
	if (c->ntypes >= MAX_TYPES)
		ereport(ERROR,
				(errcode(ERRCODE_PROGRAM_LIMIT_EXCEEDED),
				 errmsg("more than %d identifier types have a limit in identifier_limits", MAX_TYPES),
				 errhint("Limit fewer identifier types in the tenant's identifier_limits setting.")));
	c->id_type[c->ntypes] = id_type;
	c->n[c->ntypes++] = n;
}

static void
ProfileCounts(CdpBatch *b, int64 profile_id, Counts *c)
{
	Datum		v[2];
	uint64		rows;

	memset(c, 0, sizeof(Counts));
	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = Int64GetDatum(profile_id);
	/* Committed now, not as of a REPEATABLE READ snapshot: see cdp_plan_exec_latest. */
	rows = cdp_plan_exec_latest(PLAN_COUNT_TYPES, v, NULL);
	for (uint64 r = 0; r < rows; r++)
	{
		bool		isnull;
		char	   *t = TextDatumGetCString(cdp_plan_value(r, 1, &isnull));

		CountAdd(b->tenant, c, t, (int) DatumGetInt64(cdp_plan_value(r, 2, &isnull)));
	}
	cdp_plan_done();
}

/* NULL if add fits into group under the tenant's limits, else the reason. */
static char *
Exceeds(CdpTenant *t, Counts *group, Counts *add)
{
	for (int i = 0; i < add->ntypes; i++)
	{
		int			limit = cdp_tenant_limit(t, add->id_type[i]);

		if (limit > 0 && add->n[i] > 0 && CountOf(group, add->id_type[i]) + add->n[i] > limit)
			return psprintf("identifier_limits: a profile holds at most %d %s", limit, add->id_type[i]);
	}
	return NULL;
}

/* Locks a profile; false if it is gone or merged since we looked. */
static bool
LockProfile(CdpBatch *b, Profile *p)
{
	Datum		v[2];
	bool		isnull,
				ok = false;

	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = Int64GetDatum(p->id);
	if (cdp_plan_exec(PLAN_LOCK_PROFILE, v, NULL) > 0)
	{
		(void) cdp_plan_value(0, 1, &isnull);
		ok = isnull;			/* merged_into IS NULL: still canonical */
		p->created_at = DatumGetTimestampTz(cdp_plan_value(0, 2, &isnull));
		p->traits = DatumGetJsonbP(cdp_plan_value(0, 3, &isnull));
		p->trait_times = DatumGetJsonbP(cdp_plan_value(0, 4, &isnull));
	}
	cdp_plan_done();
	return ok;
}

static int
CompareProfileId(const void *a, const void *b)
{
	int64		x = ((const Profile *) a)->id;
	int64		y = ((const Profile *) b)->id;

	return (x > y) - (x < y);
}

static int
CompareIdentHash(const void *a, const void *b)
{
	const CdpIdent *x = *(CdpIdent *const *) a;
	const CdpIdent *y = *(CdpIdent *const *) b;
	int			c = strcmp(x->id_type, y->id_type);

	return c != 0 ? c : memcmp(x->hash, y->hash, CDP_HASH_LEN);
}

/*
 * Merges loser into winner (both locked): identifiers (logged with the
 * winner's traits before the merge, see PLAN_REPOINT_AND_LOG), earlier
 * losers, traits, hook.
 */
static void
Merge(CdpBatch *b, CdpMessage *m, int64 winner, int64 loser, CdpIdent *via)
{
	Datum		v[9];
	char		nulls[9];
	bool		isnull;
	Jsonb	   *l_traits,
			   *l_times,
			   *w_traits = NULL,
			   *w_times = NULL,
			   *out_traits,
			   *out_times;
	TimestampTz l_first,
				l_last;
	int32		tid = b->tenant->tenant_id;

	v[0] = Int32GetDatum(tid);
	v[1] = Int64GetDatum(winner);
	if (cdp_plan_exec(PLAN_GET_TRAITS, v, NULL) == 1)
	{
		w_traits = DatumGetJsonbP(cdp_plan_value(0, 1, &isnull));
		w_times = DatumGetJsonbP(cdp_plan_value(0, 2, &isnull));
	}
	cdp_plan_done();

	memset(nulls, ' ', sizeof(nulls));
	v[2] = Int64GetDatum(loser);
	v[3] = CStringGetTextDatum(via->id_type);
	v[4] = PointerGetDatum(HashDatum(via->hash));
	v[5] = CStringGetTextDatum(m->message_id);
	v[6] = Int32GetDatum(b->source_id);
	v[7] = w_traits ? JsonbPGetDatum(w_traits) : (Datum) 0;
	nulls[7] = w_traits ? ' ' : 'n';
	v[8] = w_times ? JsonbPGetDatum(w_times) : (Datum) 0;
	nulls[8] = w_times ? ' ' : 'n';
	cdp_plan_exec_latest(PLAN_REPOINT_AND_LOG, v, nulls);

	cdp_probe_note_merge(&b->probe, loser, winner);
	b->merged = true;
	cdp_plan_exec_latest(PLAN_FLATTEN, v, NULL);
	if (cdp_plan_exec(PLAN_MARK_MERGED, v, NULL) != 1)
		elog(ERROR, "profile " INT64_FORMAT " vanished during a merge", loser);
	l_traits = DatumGetJsonbP(cdp_plan_value(0, 1, &isnull));
	l_times = DatumGetJsonbP(cdp_plan_value(0, 2, &isnull));
	l_first = DatumGetTimestampTz(cdp_plan_value(0, 3, &isnull));
	l_last = DatumGetTimestampTz(cdp_plan_value(0, 4, &isnull));
	cdp_plan_done();

	/* The loser's traits fill in, or replace older values; on a tie the winner keeps its own. */
	cdp_traits_merge(w_traits, w_times, l_traits, l_times, NULL, false, &out_traits, &out_times);
	memset(nulls, ' ', sizeof(nulls));
	v[1] = Int64GetDatum(winner);
	v[2] = out_traits ? JsonbPGetDatum(out_traits) : (Datum) 0;
	nulls[2] = out_traits ? ' ' : 'n';
	v[3] = out_times ? JsonbPGetDatum(out_times) : (Datum) 0;
	nulls[3] = out_times ? ' ' : 'n';
	v[4] = TimestampTzGetDatum(l_first);
	v[5] = TimestampTzGetDatum(l_last);
	cdp_plan_exec(PLAN_SET_TRAITS, v, nulls);

	v[1] = Int64GetDatum(winner);
	v[2] = Int64GetDatum(loser);
	cdp_plan_exec(PLAN_AFTER_MERGE, v, NULL);
	cdp_plan_done();
}

static void
Refuse(CdpBatch *b, CdpMessage *m, int64 profile, Refusal *r)
{
	Datum		v[8];
	char		nulls[8];

	memset(nulls, ' ', sizeof(nulls));
	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = Int64GetDatum(profile);
	v[2] = Int64GetDatum(r->other);
	if (r->other == 0)
		nulls[2] = 'n';
	v[3] = CStringGetTextDatum(r->id->id_type);
	v[4] = PointerGetDatum(HashDatum(r->id->hash));
	v[5] = CStringGetTextDatum(r->reason);
	v[6] = CStringGetTextDatum(m->message_id);
	v[7] = Int32GetDatum(b->source_id);
	cdp_plan_exec(PLAN_REFUSED, v, nulls);
}

static int64
NewProfile(CdpBatch *b, CdpMessage *m)
{
	Datum		v[2];
	bool		isnull;
	int64		id;

	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = TimestampTzGetDatum(m->seen_time);
	if (cdp_plan_exec(PLAN_NEW_PROFILE, v, NULL) != 1)
		elog(ERROR, "could not create a profile");
	id = DatumGetInt64(cdp_plan_value(0, 1, &isnull));
	cdp_plan_done();
	return id;
}

/* Claims a new identifier for profile; false if another transaction claimed it first. */
static bool
Claim(CdpBatch *b, CdpMessage *m, CdpIdent *id, int64 profile)
{
	Datum		v[CDP_IDENTIFIER_COLUMNS];
	bool		claimed;

	v[0] = Int32GetDatum(b->tenant->tenant_id);
	v[1] = CStringGetTextDatum(id->id_type);
	v[2] = PointerGetDatum(HashDatum(id->hash));
	v[3] = Int64GetDatum(profile);
	v[4] = Int32GetDatum(b->source_id);
	v[5] = TimestampTzGetDatum(b->received_at);
	v[6] = v[5];
	if (cdp_rowstore_identifier(&b->rows, v, &claimed))
		return claimed;
	claimed = cdp_plan_exec(PLAN_INSERT_ID, v, NULL) == 1;
	cdp_plan_done();
	return claimed;
}

/*
 * One attempt. Returns the canonical profile, or 0 when something changed
 * under us (a profile merged, an identifier claimed) and it must start over.
 */
static int64
Attempt(CdpBatch *b, CdpMessage *m, bool lock)
{
	CdpTenant  *t = b->tenant;
	Profile		profs[MAX_PROFILES];
	Profile		sorted[MAX_PROFILES];
	int			nprofs = 0;
	Refusal		refusals[MAX_PROFILES * 2];
	int			nrefusals = 0;
	CdpIdent   *attach[64];
	int			nattach = 0;
	int64		members[MAX_PROFILES];
	TimestampTz member_created[MAX_PROFILES];
	int			nmembers = 0;
	bool		need_counts = false;
	bool		anchor_new;
	Counts		group;
	int64		winner;
	bool		created_new = false;
	int			claimed = 0;

	m->profile_traits_known = false;
	m->created_profile = false;
	/* The chunk's pass answers the first attempt (see cdp_identity_resolve). */
	if (!b->probe.use_chunk)
		cdp_probe_refresh(&b->probe);
	LookUp(b, m);
	SortByPriority(m);

	for (int i = 0; i < m->nids; i++)
	{
		int64		p = m->ids[i].profile_id;
		bool		seen = false;

		if (p == 0)
		{
			if (cdp_tenant_limit(t, m->ids[i].id_type) > 0)
				need_counts = true;
			continue;
		}
		for (int j = 0; j < nprofs; j++)
			if (profs[j].id == p)
				seen = true;
		if (!seen && nprofs < MAX_PROFILES)
		{
			profs[nprofs].id = p;
			profs[nprofs].via = i;
			nprofs++;
		}
	}

	/* Known identifiers, one profile, nothing to add or write: no lock needed. */
	if (!lock && nprofs == 1)
	{
		bool		all_known = true;

		for (int i = 0; i < m->nids; i++)
			if (m->ids[i].profile_id == 0)
				all_known = false;
		/*
		 * No row lock: the profile's event lock instead (inactive-profile
		 * purge). An answer of the chunk's pass may predate a merge that
		 * committed since: then it must still be canonical, or the message
		 * resolves again with fresh lookups (under REPEATABLE READ they
		 * would find the same, so there it need not).
		 */
		if (all_known)
			return cdp_lock_profile_for_event(t->tenant_id, profs[0].id, &b->probe.profiles,
											  b->probe.use_chunk && !IsolationUsesXactSnapshot()) ? profs[0].id : 0;
	}

	/* Lock every profile involved, in profile_id order (no lock-order deadlocks). */
	memcpy(sorted, profs, sizeof(Profile) * nprofs);
	qsort(sorted, nprofs, sizeof(Profile), CompareProfileId);
	for (int i = 0; i < nprofs; i++)
	{
		if (!LockProfile(b, &sorted[i]))
			return 0;
		for (int j = 0; j < nprofs; j++)
			if (profs[j].id == sorted[i].id)
				profs[j] = sorted[i];
	}
	if (nprofs > 1)
		need_counts = true;

	/* The anchor: the profile of the highest-priority identifier, or a new one. */
	memset(&group, 0, sizeof(group));
	anchor_new = (m->ids[0].profile_id == 0);
	if (anchor_new)
	{
		CountAdd(t, &group, m->ids[0].id_type, 1);
		attach[nattach++] = &m->ids[0];
	}
	for (int i = 0; i < nprofs; i++)
	{
		Counts		c;
		char	   *reason = NULL;

		if (need_counts)
		{
			ProfileCounts(b, profs[i].id, &c);
			/* The anchor itself always stays (even if a lowered limit makes it hold too many). */
			if (i > 0 || anchor_new)
				reason = Exceeds(t, &group, &c);
		}
		if (reason)
		{
			refusals[nrefusals].other = profs[i].id;
			refusals[nrefusals].id = &m->ids[profs[i].via];
			refusals[nrefusals].reason = reason;
			nrefusals++;
			continue;
		}
		if (need_counts)
			for (int k = 0; k < c.ntypes; k++)
				CountAdd(t, &group, c.id_type[k], c.n[k]);
		members[nmembers] = profs[i].id;
		member_created[nmembers] = profs[i].created_at;
		nmembers++;
	}
	for (int i = anchor_new ? 1 : 0; i < m->nids; i++)
	{
		CdpIdent   *id = &m->ids[i];
		int			limit = cdp_tenant_limit(t, id->id_type);

		if (id->profile_id != 0)
			continue;
		if (limit > 0 && CountOf(&group, id->id_type) + 1 > limit)
		{
			refusals[nrefusals].other = 0;
			refusals[nrefusals].id = id;
			refusals[nrefusals].reason =
				psprintf("identifier_limits: a profile holds at most %d %s", limit, id->id_type);
			nrefusals++;
			continue;
		}
		CountAdd(t, &group, id->id_type, 1);
		if (nattach < (int) lengthof(attach))
			attach[nattach++] = id;
	}

	/* Apply: the oldest member wins; a new profile only when nothing known joins. */
	m->profile_traits_known = false;
	if (nmembers == 0)
	{
		winner = NewProfile(b, m);
		created_new = true;
		m->profile_traits_known = true;
		m->profile_traits = NULL;
		m->profile_trait_times = NULL;
	}
	else
	{
		int			w = 0;

		/* With no merge, the traits read under the lock are current. */
		if (nmembers == 1)
			for (int j = 0; j < nprofs; j++)
				if (profs[j].id == members[0])
				{
					m->profile_traits_known = true;
					m->profile_traits = profs[j].traits;
					m->profile_trait_times = profs[j].trait_times;
				}
		for (int i = 1; i < nmembers; i++)
			if (member_created[i] < member_created[w] ||
				(member_created[i] == member_created[w] && members[i] < members[w]))
				w = i;
		winner = members[w];
		for (int i = 0; i < nmembers; i++)
		{
			CdpIdent   *via = NULL;

			if (members[i] == winner)
				continue;
			for (int j = 0; j < nprofs; j++)
				if (profs[j].id == members[i])
					via = &m->ids[profs[j].via];
			Merge(b, m, winner, members[i], via);
		}
	}

	qsort(attach, nattach, sizeof(CdpIdent *), CompareIdentHash);
	for (int i = 0; i < nattach; i++)
	{
		if (!Claim(b, m, attach[i], winner))
		{
			if (created_new && claimed == 0)
			{
				Datum		v[2];

				v[0] = Int32GetDatum(t->tenant_id);
				v[1] = Int64GetDatum(winner);
				cdp_plan_exec(PLAN_DELETE_PROFILE, v, NULL);
			}
			return 0;
		}
		attach[i]->profile_id = winner;
		cdp_probe_note_claim(&b->probe, attach[i]->id_type, attach[i]->hash, winner);
		claimed++;
	}

	for (int i = 0; i < nrefusals; i++)
		Refuse(b, m, winner, &refusals[i]);
	m->created_profile = created_new;
	return winner;
}

int64
cdp_identity_peek(CdpBatch *b, CdpMessage *m)
{
	int64		profile = 0;

	cdp_probe_refresh(&b->probe);
	LookUp(b, m);
	SortByPriority(m);
	for (int i = 0; i < m->nids; i++)
	{
		if (m->ids[i].profile_id == 0 || (profile != 0 && m->ids[i].profile_id != profile))
			return 0;
		profile = m->ids[i].profile_id;
	}
	/* The event is stored without a row lock: see cdp_lock_profile_for_event. */
	if (profile != 0 && !cdp_lock_profile_for_event(b->tenant->tenant_id, profile, &b->probe.profiles, false))
		return 0;
	return profile;
}

/*
 * Inside a chunk (cdp_probe_chunk), the first attempt takes the identifiers'
 * profiles from the chunk's pass: what other sessions committed since may
 * differ, which the attempt finds as it finds what changed between a lookup
 * and a lock (a profile merged or gone, an identifier claimed first: see
 * Attempt), and the next attempts look up afresh.
 */
int64
cdp_identity_resolve(CdpBatch *batch, CdpMessage *m, bool lock)
{
	bool		chunk = batch->probe.keys != NULL;

	for (int attempt = 0; attempt < MAX_ATTEMPTS; attempt++)
	{
		int64		profile;

		batch->probe.use_chunk = chunk && attempt == 0;
		profile = Attempt(batch, m, lock);
		batch->probe.use_chunk = chunk;
		if (profile != 0)
			return profile;
		CHECK_FOR_INTERRUPTS();
	}
	ereport(ERROR,
			(errcode(ERRCODE_T_R_SERIALIZATION_FAILURE),
			 errmsg("could not resolve the identity of message \"%s\": its profiles kept changing",
					m->message_id),
			 errdetail("%d attempts were made while concurrent transactions merged or claimed its identifiers.",
					   MAX_ATTEMPTS)));
	return 0;
}
