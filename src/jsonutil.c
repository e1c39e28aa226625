/*
 * jsonutil.c — read helpers over jsonb containers.
 */
#include "postgres.h"

#include "jsonutil.h"

JsonbValue *
cdp_json_get(JsonbContainer *c, const char *key, JsonbValue *buf)
{
	if (c == NULL || !JsonContainerIsObject(c))
		return NULL;
	return getKeyJsonValueFromContainer(c, key, strlen(key), buf);
}

JsonbContainer *
cdp_json_object(JsonbValue *v)
{
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsObject(v->val.binary.data))
		return NULL;
	return v->val.binary.data;
}

JsonbContainer *
cdp_json_array(JsonbValue *v)
{
	if (v == NULL || v->type != jbvBinary || !JsonContainerIsArray(v->val.binary.data) ||
		JsonContainerIsScalar(v->val.binary.data))
		return NULL;
	return v->val.binary.data;
}

JsonbValue *
cdp_json_path(JsonbContainer *c, const char *path, JsonbValue *buf)
{
	const char *p = path;
	JsonbValue *v = NULL;

	if (strncmp(p, "$.", 2) == 0)
		p += 2;
	while (*p)
	{
		const char *dot = strchr(p, '.');
		int			len = dot ? dot - p : strlen(p);

		if (c == NULL || !JsonContainerIsObject(c))
			return NULL;
		v = getKeyJsonValueFromContainer(c, p, len, buf);
		if (v == NULL)
			return NULL;
		if (!dot)
			return v;
		c = cdp_json_object(v);
		p = dot + 1;
	}
	return NULL;
}

const char *
cdp_json_typeof(JsonbValue *v)
{
	if (v == NULL)
		return "missing";
	switch (v->type)
	{
		case jbvNull:
			return "null";
		case jbvString:
			return "string";
		case jbvNumeric:
			return "number";
		case jbvBool:
			return "boolean";
		case jbvBinary:
			if (JsonContainerIsScalar(v->val.binary.data))
			{
				JsonbValue	s;

				if (JsonbExtractScalar(v->val.binary.data, &s))
					return cdp_json_typeof(&s);
			}
			return JsonContainerIsObject(v->val.binary.data) ? "object" : "array";
		default:
			return "unknown";
	}
}

Jsonb *
cdp_json_to_jsonb(JsonbValue *v)
{
	return JsonbValueToJsonb(v);
}
