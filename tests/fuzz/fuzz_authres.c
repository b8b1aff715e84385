/* libFuzzer target for authres.c, which reads the Authentication-Results a stranger may have
 * written. The input is cut at newlines into header values, read as an RFC 8601 border's and as
 * Microsoft 365's. Besides crashes, leaks and UB it checks what must always hold: the explanation
 * is one short printable line, a pass names a domain the From aligns with and a fail the From's
 * own, nothing is decided without the border's header, and a header added below the one that
 * counts (a forger's) changes nothing. */
#include "authres.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FROM "eu.example.org"

/* what a forger would add below the border's header, for each border */
static const char *const forged[] = {
    "mx.desk; dkim=pass header.d=example.org; spf=pass smtp.mailfrom=example.org; dmarc=pass "
    "header.from=eu.example.org",
    "spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=example.org; dkim=pass header.d=example.org;"
    "dmarc=pass action=none header.from=eu.example.org",
};

static void check(const struct authres_verdict *v)
{
	static const char from[] = FROM;
	size_t n = strlen(v->why), d = strlen(v->domain), f = strlen(from);

	if (n == 0 || n >= sizeof(v->why))
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isprint(v->why[i]))
			__builtin_trap();
	if (v->result != AUTHRES_NONE && !v->found)
		__builtin_trap();
	if (v->result == AUTHRES_FAIL && strcmp(v->domain, from) != 0)
		__builtin_trap();
	/* the From is the domain authenticated or a subdomain of it */
	if (v->result == AUTHRES_PASS && (d == 0 || d > f || strcmp(&from[f - d], v->domain) != 0 ||
					  (d < f && from[f - d - 1] != '.')))
		__builtin_trap();
	if (v->result == AUTHRES_NONE && v->domain[0] != '\0')
		__builtin_trap();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = g_strndup((const char *)data, size);
	char **lines = g_strsplit(text, "\n", 64);
	guint n = g_strv_length(lines);
	const char **values = g_new0(const char *, n + 2);
	const struct authres_border borders[] = {{AUTHRES_RFC8601, "mx.desk"},
						 {AUTHRES_MICROSOFT365, NULL}};

	for (guint i = 0; i < n; i++)
		values[i] = lines[i];
	for (size_t b = 0; b < G_N_ELEMENTS(borders); b++) {
		struct authres_verdict v, below;

		values[n] = NULL;
		authres_read(values, &borders[b], FROM, &v);
		check(&v);
		/* a forged pass below the header that counts changes nothing */
		values[n] = forged[b];
		authres_read(values, &borders[b], FROM, &below);
		check(&below);
		if (v.found && (below.result != v.result || strcmp(below.why, v.why) != 0 ||
				below.dmarc != v.dmarc || below.policy != v.policy))
			__builtin_trap();
		/* and where the border wrote nothing, it is what counts */
		if (!v.found && below.result != AUTHRES_PASS)
			__builtin_trap();
	}
	g_free(values);
	g_strfreev(lines);
	g_free(text);
	return 0;
}
