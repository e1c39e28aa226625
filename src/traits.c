/*
 * traits.c — merging traits by event time.
 */
#include "postgres.h"

#include "traits.h"

static void
PushPair(JsonbParseState **st, JsonbValue *key, JsonbValue *val)
{
	pushJsonbValue(st, WJB_KEY, key);
	pushJsonbValue(st, WJB_VALUE, val);
}

static void
PushString(JsonbParseState **st, JsonbValue *key, const char *s, int len)
{
	JsonbValue	v;

	v.type = jbvString;
	v.val.string.val = (char *) s;
	v.val.string.len = len;
	PushPair(st, key, &v);
}

bool
cdp_traits_merge(Jsonb *a_traits, Jsonb *a_times,
				 Jsonb *b_traits, Jsonb *b_times, const char *b_time,
				 bool b_wins_ties, Jsonb **out_traits, Jsonb **out_times)
{
	JsonbParseState *ts = NULL;
	JsonbParseState *tt = NULL;
	JsonbIterator *it;
	JsonbValue	k,
				v;
	JsonbIteratorToken tok;
	bool		changed = false;
	JsonbValue *rt,
			   *rtt;

	*out_traits = NULL;
	*out_times = NULL;
	if (b_traits == NULL || !JB_ROOT_IS_OBJECT(b_traits) || JB_ROOT_COUNT(b_traits) == 0)
		return false;

	pushJsonbValue(&ts, WJB_BEGIN_OBJECT, NULL);
	pushJsonbValue(&tt, WJB_BEGIN_OBJECT, NULL);

	/* Everything a has, with its times... */
	if (a_traits && JB_ROOT_IS_OBJECT(a_traits))
	{
		it = JsonbIteratorInit(&a_traits->root);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			JsonbIteratorNext(&it, &v, true);
			PushPair(&ts, &k, &v);
		}
	}
	if (a_times && JB_ROOT_IS_OBJECT(a_times))
	{
		it = JsonbIteratorInit(&a_times->root);
		while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
		{
			if (tok != WJB_KEY)
				continue;
			JsonbIteratorNext(&it, &v, true);
			PushPair(&tt, &k, &v);
		}
	}

	/* ...then each trait of b that is newer: a later key replaces an earlier one. */
	it = JsonbIteratorInit(&b_traits->root);
	while ((tok = JsonbIteratorNext(&it, &k, true)) != WJB_DONE)
	{
		JsonbValue	abuf,
					bbuf;
		JsonbValue *at = NULL;
		const char *bt = b_time;
		int			btlen = b_time ? strlen(b_time) : 0;
		bool		wins;

		if (tok != WJB_KEY)
			continue;
		JsonbIteratorNext(&it, &v, true);
		if (b_times)
		{
			JsonbValue *x = getKeyJsonValueFromContainer(&b_times->root, k.val.string.val,
														 k.val.string.len, &bbuf);

			if (x && x->type == jbvString)
			{
				bt = x->val.string.val;
				btlen = x->val.string.len;
			}
			else
				bt = NULL;
		}
		if (a_times && JB_ROOT_IS_OBJECT(a_times))
			at = getKeyJsonValueFromContainer(&a_times->root, k.val.string.val, k.val.string.len, &abuf);

		if (bt == NULL)
			wins = (at == NULL);	/* an untimed trait only fills a gap */
		else if (at == NULL || at->type != jbvString)
			wins = true;
		else
		{
			int			cmp = memcmp(bt, at->val.string.val, Min(btlen, at->val.string.len));

			if (cmp == 0)
				cmp = btlen - at->val.string.len;
			wins = cmp > 0 || (cmp == 0 && b_wins_ties);
		}
		if (!wins)
			continue;
		changed = true;
		PushPair(&ts, &k, &v);
		if (bt)
			PushString(&tt, &k, bt, btlen);
	}

	rt = pushJsonbValue(&ts, WJB_END_OBJECT, NULL);
	rtt = pushJsonbValue(&tt, WJB_END_OBJECT, NULL);
	if (!changed)
		return false;
	*out_traits = JsonbValueToJsonb(rt);
	*out_times = JsonbValueToJsonb(rtt);
	return true;
}
