/*
 * normalize.h — identifier normalization (DESIGN 4): what makes two spellings
 * of one email or phone number the same identifier, and which values are not
 * identifiers at all.
 */
#ifndef CDP_NORMALIZE_H
#define CDP_NORMALIZE_H

#include "nodes/pg_list.h"

/* Built-in identifier types; any other valid name is a custom type. */
#define CDP_ID_USER_ID		"user_id"
#define CDP_ID_ANONYMOUS_ID "anonymous_id"
#define CDP_ID_EMAIL		"email"
#define CDP_ID_PHONE		"phone"
#define CDP_ID_DEVICE_ID	"device_id"

/* True if name is a valid identifier type name: ^[a-z][a-z0-9_.-]{0,62}$. */
extern bool cdp_valid_id_type(const char *name);

/* The calling code of an ISO 3166-1 alpha-2 country, or 0 if unknown. */
extern int	cdp_country_calling_code(const char *iso2);

/*
 * The normalized form of value (len bytes, not NUL-terminated) as an
 * identifier of id_type, or NULL when it is not an identifier: a blocked
 * value (the defaults or one of the tenant's, compared case-insensitively
 * after trimming), or a phone number that cannot be put in E.164.
 * blocked is a List of lower-cased C strings (may be NIL); blocked_phones
 * the E.164 forms of those that are phone numbers (CdpTenant.blocked_phones,
 * may be NIL), so that a blocked number is blocked however it is written;
 * default_country an ISO code or NULL.
 */
extern char *cdp_normalize_identifier(const char *id_type, const char *value, int len,
									  const char *default_country, List *blocked, List *blocked_phones);

#endif							/* CDP_NORMALIZE_H */
