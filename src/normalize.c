/*
 * normalize.c — identifier normalization before hashing.
 *
 * email: trimmed and lower-cased (the whole address: providers that treat the
 * local part case-sensitively do not exist in practice, and a CDP that splits
 * Ana@x.org from ana@x.org splits a person). phone: E.164 ("+" and 8 to 15
 * digits), using the tenant's default country for numbers written without an
 * international prefix; a number that cannot be put in E.164 is not an
 * identifier. Every other type: trimmed (of ASCII and, in UTF-8, Unicode
 * spaces). Blocked values (placeholders SDKs
 * send when they know nothing: '', 'null', 'undefined', '0', '-1',
 * 'anonymous', the all-zero UUID, plus the tenant's own list) are not
 * identifiers.
 */
#include "postgres.h"

#include <ctype.h>

#include "lib/stringinfo.h"
#include "mb/pg_wchar.h"

#include "normalize.h"

typedef struct CountryCode
{
	const char	iso[3];
	int			code;
} CountryCode;

/*
 * ITU-T E.164 country calling codes by ISO 3166-1 alpha-2 country (ITU
 * "List of ITU-T Recommendation E.164 assigned country codes"). Territories
 * that share a code (NANP +1, +7, +44, +47, +61, +262, +590, +599) repeat it.
 */
static const CountryCode country_codes[] = {
	{"AD", 376}, {"AE", 971}, {"AF", 93}, {"AG", 1}, {"AI", 1}, {"AL", 355}, {"AM", 374},
	{"AO", 244}, {"AR", 54}, {"AS", 1}, {"AT", 43}, {"AU", 61}, {"AW", 297}, {"AX", 358},
	{"AZ", 994}, {"BA", 387}, {"BB", 1}, {"BD", 880}, {"BE", 32}, {"BF", 226}, {"BG", 359},
	{"BH", 973}, {"BI", 257}, {"BJ", 229}, {"BL", 590}, {"BM", 1}, {"BN", 673}, {"BO", 591},
	{"BQ", 599}, {"BR", 55}, {"BS", 1}, {"BT", 975}, {"BW", 267}, {"BY", 375}, {"BZ", 501},
	{"CA", 1}, {"CC", 61}, {"CD", 243}, {"CF", 236}, {"CG", 242}, {"CH", 41}, {"CI", 225},
	{"CK", 682}, {"CL", 56}, {"CM", 237}, {"CN", 86}, {"CO", 57}, {"CR", 506}, {"CU", 53},
	{"CV", 238}, {"CW", 599}, {"CX", 61}, {"CY", 357}, {"CZ", 420}, {"DE", 49}, {"DJ", 253},
	{"DK", 45}, {"DM", 1}, {"DO", 1}, {"DZ", 213}, {"EC", 593}, {"EE", 372}, {"EG", 20},
	{"EH", 212}, {"ER", 291}, {"ES", 34}, {"ET", 251}, {"FI", 358}, {"FJ", 679}, {"FK", 500},
	{"FM", 691}, {"FO", 298}, {"FR", 33}, {"GA", 241}, {"GB", 44}, {"GD", 1}, {"GE", 995},
	{"GF", 594}, {"GG", 44}, {"GH", 233}, {"GI", 350}, {"GL", 299}, {"GM", 220}, {"GN", 224},
	{"GP", 590}, {"GQ", 240}, {"GR", 30}, {"GT", 502}, {"GU", 1}, {"GW", 245}, {"GY", 592},
	{"HK", 852}, {"HN", 504}, {"HR", 385}, {"HT", 509}, {"HU", 36}, {"ID", 62}, {"IE", 353},
	{"IL", 972}, {"IM", 44}, {"IN", 91}, {"IO", 246}, {"IQ", 964}, {"IR", 98}, {"IS", 354},
	{"IT", 39}, {"JE", 44}, {"JM", 1}, {"JO", 962}, {"JP", 81}, {"KE", 254}, {"KG", 996},
	{"KH", 855}, {"KI", 686}, {"KM", 269}, {"KN", 1}, {"KP", 850}, {"KR", 82}, {"KW", 965},
	{"KY", 1}, {"KZ", 7}, {"LA", 856}, {"LB", 961}, {"LC", 1}, {"LI", 423}, {"LK", 94},
	{"LR", 231}, {"LS", 266}, {"LT", 370}, {"LU", 352}, {"LV", 371}, {"LY", 218}, {"MA", 212},
	{"MC", 377}, {"MD", 373}, {"ME", 382}, {"MF", 590}, {"MG", 261}, {"MH", 692}, {"MK", 389},
	{"ML", 223}, {"MM", 95}, {"MN", 976}, {"MO", 853}, {"MP", 1}, {"MQ", 596}, {"MR", 222},
	{"MS", 1}, {"MT", 356}, {"MU", 230}, {"MV", 960}, {"MW", 265}, {"MX", 52}, {"MY", 60},
	{"MZ", 258}, {"NA", 264}, {"NC", 687}, {"NE", 227}, {"NF", 672}, {"NG", 234}, {"NI", 505},
	{"NL", 31}, {"NO", 47}, {"NP", 977}, {"NR", 674}, {"NU", 683}, {"NZ", 64}, {"OM", 968},
	{"PA", 507}, {"PE", 51}, {"PF", 689}, {"PG", 675}, {"PH", 63}, {"PK", 92}, {"PL", 48},
	{"PM", 508}, {"PR", 1}, {"PS", 970}, {"PT", 351}, {"PW", 680}, {"PY", 595}, {"QA", 974},
	{"RE", 262}, {"RO", 40}, {"RS", 381}, {"RU", 7}, {"RW", 250}, {"SA", 966}, {"SB", 677},
	{"SC", 248}, {"SD", 249}, {"SE", 46}, {"SG", 65}, {"SH", 290}, {"SI", 386}, {"SJ", 47},
	{"SK", 421}, {"SL", 232}, {"SM", 378}, {"SN", 221}, {"SO", 252}, {"SR", 597}, {"SS", 211},
	{"ST", 239}, {"SV", 503}, {"SX", 1}, {"SY", 963}, {"SZ", 268}, {"TC", 1}, {"TD", 235},
	{"TG", 228}, {"TH", 66}, {"TJ", 992}, {"TK", 690}, {"TL", 670}, {"TM", 993}, {"TN", 216},
	{"TO", 676}, {"TR", 90}, {"TT", 1}, {"TV", 688}, {"TW", 886}, {"TZ", 255}, {"UA", 380},
	{"UG", 256}, {"US", 1}, {"UY", 598}, {"UZ", 998}, {"VA", 39}, {"VC", 1}, {"VE", 58},
	{"VG", 1}, {"VI", 1}, {"VN", 84}, {"VU", 678}, {"WF", 681}, {"WS", 685}, {"XK", 383},
	{"YE", 967}, {"YT", 262}, {"ZA", 27}, {"ZM", 260}, {"ZW", 263},
};

/* Calling codes not tied to one country (ITU global services). */
static const int global_codes[] = {800, 808, 870, 878, 881, 882, 883, 888, 979};

/*
 * The all-zero UUID is what iOS gives for the advertising id (and some SDKs
 * for a device id) when the user denies tracking: shared by millions of
 * devices, it would join every such user into one profile.
 */
static const char *const default_blocked[] = {"", "null", "undefined", "0", "-1", "anonymous",
"00000000-0000-0000-0000-000000000000"};

bool
cdp_valid_id_type(const char *name)
{
	int			n = 0;

	if (name == NULL || !(name[0] >= 'a' && name[0] <= 'z'))
		return false;
	for (; name[n]; n++)
	{
		char		c = name[n];

		/*
		 * '.' and '-' as well: Segment's own externalIds types are
		 * "ios.idfa", "android.id", "ios.push_token"; RudderStack's look
		 * like "hubspot-contacts". Never ':', which separates the type from
		 * the value in the hashed text.
		 */
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' || c == '-'))
			return false;
	}
	return n <= 63;
}

int
cdp_country_calling_code(const char *iso2)
{
	int			lo = 0,
				hi = lengthof(country_codes) - 1;

	if (iso2 == NULL || strlen(iso2) != 2)
		return 0;
	while (lo <= hi)
	{
		int			mid = (lo + hi) / 2;
		int			cmp = strncmp(iso2, country_codes[mid].iso, 2);

		if (cmp == 0)
			return country_codes[mid].code;
		if (cmp < 0)
			hi = mid - 1;
		else
			lo = mid + 1;
	}
	return 0;
}

static bool
IsCallingCode(int code)
{
	for (int i = 0; i < lengthof(country_codes); i++)
		if (country_codes[i].code == code)
			return true;
	for (int i = 0; i < lengthof(global_codes); i++)
		if (global_codes[i] == code)
			return true;
	return false;
}

/* Length of the calling code that digits start with (1 to 3), or 0. */
static int
CallingCodeLength(const char *digits)
{
	int			code = 0;

	for (int len = 1; len <= 3 && digits[len - 1]; len++)
	{
		code = code * 10 + (digits[len - 1] - '0');
		if (IsCallingCode(code))
			return len;
	}
	return 0;
}

static bool
IsSpace(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

/*
 * Length of the Unicode space that the len bytes at p are exactly (UTF-8),
 * or 0: no-break space, the typographic spaces U+2000-U+200A, zero-width
 * space, line/paragraph separators, narrow and ideographic spaces, the BOM.
 * Values copied from web pages and spreadsheets carry them ("kim@example.org"
 * followed by U+00A0): trimmed like ASCII spaces, or one person is two.
 */
static int
UnicodeSpace(const unsigned char *p, int len)
{
	if (len == 2)
		return (p[0] == 0xC2 && (p[1] == 0x85 || p[1] == 0xA0)) ? 2 : 0;
	if (len != 3)
		return 0;
	if (p[0] == 0xE2 && p[1] == 0x80)
		return (p[2] <= 0x8B || p[2] == 0xA8 || p[2] == 0xA9 || p[2] == 0xAF) && p[2] >= 0x80 ? 3 : 0;
	if ((p[0] == 0xE2 && p[1] == 0x81 && p[2] == 0x9F) ||
		(p[0] == 0xE1 && p[1] == 0x9A && p[2] == 0x80) ||
		(p[0] == 0xE3 && p[1] == 0x80 && p[2] == 0x80) ||
		(p[0] == 0xEF && p[1] == 0xBB && p[2] == 0xBF))
		return 3;
	return 0;
}

/* Trims ASCII spaces, and in a UTF-8 database Unicode ones, from [*s, *e). */
static void
Trim(const char **s, const char **e)
{
	bool		utf8 = GetDatabaseEncoding() == PG_UTF8;
	bool		more = true;

	while (more)
	{
		more = false;
		while (*s < *e && IsSpace(**s))
			(*s)++;
		while (*e > *s && IsSpace((*e)[-1]))
			(*e)--;
		if (!utf8)
			break;
		for (int k = 2; k <= 3; k++)
		{
			if (*e - *s >= k && UnicodeSpace((const unsigned char *) *s, k) == k)
			{
				*s += k;
				more = true;
				break;
			}
		}
		for (int k = 2; k <= 3; k++)
		{
			if (*e - *s >= k && UnicodeSpace((const unsigned char *) *e - k, k) == k)
			{
				*e -= k;
				more = true;
				break;
			}
		}
	}
}

/* Is s (already trimmed, len bytes) a blocked value? */
static bool
IsBlocked(const char *s, int len, List *blocked)
{
	ListCell   *lc;

	for (int i = 0; i < lengthof(default_blocked); i++)
		if ((int) strlen(default_blocked[i]) == len && pg_strncasecmp(s, default_blocked[i], len) == 0)
			return true;
	foreach(lc, blocked)
	{
		const char *b = lfirst(lc);

		if ((int) strlen(b) == len && pg_strncasecmp(s, b, len) == 0)
			return true;
	}
	return false;
}

/*
 * Is the NANP number "+1" followed by national (10 digits: NPA-NXX-XXXX, the
 * area code and the exchange each beginning with 2-9)? Anything else under
 * +1 is a local 7-digit number (the same digits in every area code) or a
 * placeholder such as 123-456-7890 or 000-000-0000: not one person.
 */
static bool
ValidNanp(const char *national)
{
	return strlen(national) == 10 && national[0] >= '2' && national[3] >= '2';
}

/*
 * A phone number in E.164, or NULL. Separators (space, -, ., /, parentheses)
 * are dropped; "+" or "00" starts an international number, whose calling code
 * must exist; otherwise the tenant's default country supplies it, after the
 * national trunk prefix (0; 1 in the NANP; 8 in Russia and Kazakhstan; none in
 * Italy, San Marino and the Vatican, where the 0 belongs to the number). A
 * parenthesized 0 right after the calling code ("+44 (0)20 7946 0007", as
 * numbers are commonly written in the UK, Germany, France, Switzerland...,
 * or "+49 (030) 1234567") is that trunk prefix, shown for national dialling:
 * it is dropped, except under +39, +378, +225, +241 and +242, where a
 * national number begins with 0.
 */
static char *
NormalizePhone(const char *s, int len, const char *default_country)
{
	char		digits[64];
	int			n = 0;
	bool		plus = false;
	int			paren_zero = -1;	/* index in digits of a 0 after "(", or -1 */
	const char *p = s;
	const char *end = s + len;
	StringInfoData out;

	if (p < end && *p == '+')
	{
		plus = true;
		p++;
	}
	for (; p < end; p++)
	{
		if (*p == '(' && end - p >= 2 && p[1] == '0' && paren_zero < 0)
			paren_zero = n;
		if (*p >= '0' && *p <= '9')
		{
			if (n >= (int) sizeof(digits) - 1)
				return NULL;
			digits[n++] = *p;
		}
		else if (*p == ' ' || *p == '-' || *p == '.' || *p == '/' || *p == '(' || *p == ')')
			continue;
		else
			return NULL;		/* letters, extensions, a second "+": not a number we can match */
	}
	digits[n] = '\0';

	initStringInfo(&out);
	appendStringInfoChar(&out, '+');
	if (!plus && n > 2 && digits[0] == '0' && digits[1] == '0')
	{
		plus = true;
		memmove(digits, digits + 2, n - 1);
		n -= 2;
		paren_zero -= 2;
	}
	if (plus)
	{
		int			cclen = CallingCodeLength(digits);
		int			cc = 0;

		if (cclen == 0)
			return NULL;
		for (int i = 0; i < cclen; i++)
			cc = cc * 10 + (digits[i] - '0');
		if (paren_zero == cclen && cc != 39 && cc != 378 && cc != 225 && cc != 241 && cc != 242)
		{
			memmove(digits + cclen, digits + cclen + 1, n - cclen);
			n--;
		}
		if (cc == 1 && !ValidNanp(digits + 1))
			return NULL;
		appendStringInfoString(&out, digits);
	}
	else
	{
		int			code = cdp_country_calling_code(default_country);
		const char *national = digits;

		if (code == 0)
			return NULL;		/* no default country: the number is ambiguous */
		if (code == 1)
		{
			if (n == 11 && digits[0] == '1')
				national++;
			if (!ValidNanp(national))
				return NULL;
		}
		else if (code == 7)
		{
			if (n == 11 && digits[0] == '8')
				national++;
		}
		else if (strcmp(default_country, "IT") != 0 && strcmp(default_country, "SM") != 0 &&
				 strcmp(default_country, "VA") != 0)
		{
			if (digits[0] == '0')
				national++;
		}
		appendStringInfo(&out, "%d%s", code, national);
	}

	/* E.164: at most 15 digits; fewer than 8 is no real subscriber number. */
	if (out.len - 1 < 8 || out.len - 1 > 15)
		return NULL;
	return out.data;
}

/*
 * e164, or NULL if the tenant's list blocks that number however either is
 * written: "+442079460000" and "020 7946 0000" in the list both block
 * "+44 20 7946 0000" and "020 7946 0000" for a GB tenant. blocked_phones
 * holds the list's numbers in E.164, normalized once when the tenant's
 * settings are read (tenant.c), not for every message.
 */
static char *
BlockedPhone(char *e164, List *blocked_phones)
{
	ListCell   *lc;

	if (e164 == NULL)
		return NULL;
	foreach(lc, blocked_phones)
		if (strcmp(lfirst(lc), e164) == 0)
			return NULL;
	return e164;
}

char *
cdp_normalize_identifier(const char *id_type, const char *value, int len,
						 const char *default_country, List *blocked, List *blocked_phones)
{
	const char *s = value;
	const char *e = value + len;
	char	   *result;

	Trim(&s, &e);
	len = e - s;

	if (IsBlocked(s, len, blocked))
		return NULL;

	if (strcmp(id_type, CDP_ID_PHONE) == 0)
		return BlockedPhone(NormalizePhone(s, len, default_country), blocked_phones);

	result = pnstrdup(s, len);
	if (strcmp(id_type, CDP_ID_EMAIL) == 0)
	{
		/* ASCII lower-casing: multibyte UTF-8 bytes are all >= 0x80 and stay. */
		for (int i = 0; i < len; i++)
			if (result[i] >= 'A' && result[i] <= 'Z')
				result[i] += 'a' - 'A';
	}
	return result;
}
