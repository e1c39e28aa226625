/*
 * timeparse.c — strict ISO 8601 / RFC 3339 timestamps.
 *
 * PostgreSQL's timestamptz_in accepts far more (and raises errors, which in
 * PostgreSQL 15 cannot be caught without a subtransaction per message), so
 * event times are parsed here: YYYY-MM-DD, optionally followed by T or a
 * space and HH:MM[:SS[.fraction]], optionally followed by Z or an offset
 * (+HH, +HHMM, +HH:MM). No zone means UTC, as in the Segment spec.
 */
#include "postgres.h"

#include "utils/datetime.h"

#include "timeparse.h"

/* 1970-01-01 and 10000-01-01 in PostgreSQL's timestamp epoch (2000-01-01). */
#define MIN_EVENT_TIME	(-INT64CONST(946684800) * USECS_PER_SEC)
#define MAX_EVENT_TIME	((INT64CONST(253402300800) - INT64CONST(946684800)) * USECS_PER_SEC)

static bool
Digits(const char **p, const char *end, int n, int *out)
{
	int			v = 0;

	for (int i = 0; i < n; i++)
	{
		if (*p >= end || **p < '0' || **p > '9')
			return false;
		v = v * 10 + (**p - '0');
		(*p)++;
	}
	*out = v;
	return true;
}

bool
cdp_time_in_range(TimestampTz t)
{
	return t >= MIN_EVENT_TIME && t < MAX_EVENT_TIME;
}

CdpTimeParse
cdp_parse_time(const char *s, int len, TimestampTz *out)
{
	const char *p = s;
	const char *end = s + len;
	int			year = 0,
				mon,
				day,
				hour = 0,
				min = 0,
				sec = 0,
				ydigits = 0;
	int64		frac = 0;
	int			offset = 0;		/* seconds east of UTC */
	int64		days;
	int64		usecs;

	/* Years of more than four digits parse, then fail the range check. */
	while (p < end && *p >= '0' && *p <= '9' && ydigits < 9)
	{
		year = year * 10 + (*p - '0');
		p++;
		ydigits++;
	}
	if (ydigits < 4 || p >= end || *p != '-')
		return CDP_TIME_BAD_FORMAT;
	p++;
	if (!Digits(&p, end, 2, &mon) || p >= end || *p++ != '-' || !Digits(&p, end, 2, &day))
		return CDP_TIME_BAD_FORMAT;
	if (mon < 1 || mon > 12 || day < 1 ||
		day > day_tab[isleap(year)][mon - 1])
		return CDP_TIME_BAD_FORMAT;

	if (p < end && (*p == 'T' || *p == 't' || *p == ' '))
	{
		p++;
		if (!Digits(&p, end, 2, &hour) || p >= end || *p++ != ':' || !Digits(&p, end, 2, &min))
			return CDP_TIME_BAD_FORMAT;
		if (p < end && *p == ':')
		{
			p++;
			if (!Digits(&p, end, 2, &sec))
				return CDP_TIME_BAD_FORMAT;
			if (p < end && (*p == '.' || *p == ','))
			{
				int			n = 0;
				int64		scale = 100000;

				p++;
				while (p < end && *p >= '0' && *p <= '9')
				{
					if (n < 6)
					{
						frac += (*p - '0') * scale;
						scale /= 10;
					}
					n++;
					p++;
				}
				if (n == 0)
					return CDP_TIME_BAD_FORMAT;
			}
		}
		if (hour > 23 || min > 59 || sec > 60)
			return CDP_TIME_BAD_FORMAT;
		if (p < end)
		{
			if (*p == 'Z' || *p == 'z')
				p++;
			else if (*p == '+' || *p == '-')
			{
				int			sign = (*p == '-') ? -1 : 1;
				int			oh,
							om = 0;

				p++;
				if (!Digits(&p, end, 2, &oh))
					return CDP_TIME_BAD_FORMAT;
				if (p < end && *p == ':')
					p++;
				if (p < end && !Digits(&p, end, 2, &om))
					return CDP_TIME_BAD_FORMAT;
				if (oh > 18 || om > 59)
					return CDP_TIME_BAD_FORMAT;
				offset = sign * (oh * 3600 + om * 60);
			}
		}
	}
	if (p != end)
		return CDP_TIME_BAD_FORMAT;
	if (year < 1970 - 1 || year > 9999 + 1)
		return CDP_TIME_OUT_OF_RANGE;

	days = (int64) date2j(year, mon, day) - POSTGRES_EPOCH_JDATE;
	usecs = ((days * 86400 + hour * 3600 + min * 60 + sec) - offset) * USECS_PER_SEC + frac;
	if (!cdp_time_in_range(usecs))
		return CDP_TIME_OUT_OF_RANGE;
	*out = usecs;
	return CDP_TIME_OK;
}

char *
cdp_time_key(TimestampTz t)
{
	int64		days = t / USECS_PER_DAY;
	int64		rem = t % USECS_PER_DAY;
	int			y,
				m,
				d;

	if (rem < 0)
	{
		rem += USECS_PER_DAY;
		days--;
	}
	j2date((int) (days + POSTGRES_EPOCH_JDATE), &y, &m, &d);
	return psprintf("%04d-%02d-%02dT%02d:%02d:%02d.%06dZ", y, m, d,
					(int) (rem / USECS_PER_HOUR), (int) (rem / USECS_PER_MINUTE % 60),
					(int) (rem / USECS_PER_SEC % 60), (int) (rem % USECS_PER_SEC));
}
