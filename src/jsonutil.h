/*
 * jsonutil.h — small read helpers over jsonb containers, so that message
 * parsing reads fields in place (no detoast copies, no text round trips).
 */
#ifndef CDP_JSONUTIL_H
#define CDP_JSONUTIL_H

#include "utils/jsonb.h"

/* The value under key in an object container, or NULL (not an object, no key). */
extern JsonbValue *cdp_json_get(JsonbContainer *c, const char *key, JsonbValue *buf);

/* The container of an object or array value, or NULL for scalars and NULL input. */
extern JsonbContainer *cdp_json_object(JsonbValue *v);
extern JsonbContainer *cdp_json_array(JsonbValue *v);

/* Follows a dotted path ("context.device.id", optional "$." prefix) from c. */
extern JsonbValue *cdp_json_path(JsonbContainer *c, const char *path, JsonbValue *buf);

/* The JSON type name of a value, as jsonb_typeof spells it. */
extern const char *cdp_json_typeof(JsonbValue *v);

/* A jsonb datum holding v (a copy). */
extern Jsonb *cdp_json_to_jsonb(JsonbValue *v);

#endif							/* CDP_JSONUTIL_H */
