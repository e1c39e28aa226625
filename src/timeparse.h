/*
 * timeparse.h — strict ISO 8601 timestamps as SDKs send them
 * ("2026-11-22T07:40:35.957Z", "+02:00" offsets, date only), parsed without
 * raising errors so that a bad timestamp rejects one message, not a batch.
 */
#ifndef CDP_TIMEPARSE_H
#define CDP_TIMEPARSE_H

#include "datatype/timestamp.h"

typedef enum CdpTimeParse
{
	CDP_TIME_OK,
	CDP_TIME_BAD_FORMAT,		/* 22007 */
	CDP_TIME_OUT_OF_RANGE		/* 22008 */
} CdpTimeParse;

/* Accepted event times: from 1970-01-01 up to (not including) year 10000. */
extern CdpTimeParse cdp_parse_time(const char *s, int len, TimestampTz *out);
extern bool cdp_time_in_range(TimestampTz t);

/* Fixed-width UTC text "YYYY-MM-DDTHH:MM:SS.ffffffZ": sorts as it orders. */
extern char *cdp_time_key(TimestampTz t);

#endif							/* CDP_TIMEPARSE_H */
