/* Unit tests of authres.c: dkim and dmarc results, alignment, which header counts (the topmost
 * one from the trusted authserv-id; foreign ones and forged ones below it are ignored), comments,
 * quoting, versions and CFWS, and hostile values. */

#include "authres.h"

#include "testlib.h"

#include <string.h>

#define ID   "mx.desk"
#define FROM "example.org"

/* Fails unless the values (NULL-terminated) give proven and an explanation equal to why. */
static void expect(const char *const *values, const char *from, gboolean proven, const char *why)
{
	const char *got = NULL;
	gboolean r = authres_from_proven(values, ID, from, &got);

	if (r != proven || got == NULL || strcmp(got, why) != 0)
		fail_msg("\"%s\" from %s\n  got  %d \"%s\"\n  want %d \"%s\"",
			 values != NULL && values[0] != NULL ? values[0] : "(none)", from, r,
			 got ? got : "(null)", proven, why);
}

/* one value */
static void expect1(const char *value, const char *from, gboolean proven, const char *why)
{
	const char *values[] = {value, NULL};

	expect(values, from, proven, why);
}

static void test_dkim(void **state)
{
	(void)state;
	expect1("mx.desk; dkim=pass header.d=example.org", FROM, TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	expect1("mx.desk; dkim=fail header.d=example.org", FROM, FALSE,
		"dkim=fail header.d=example.org by mx.desk");
	expect1("mx.desk; dkim=none", FROM, FALSE, "dkim=none by mx.desk");
	/* relaxed alignment: From a subdomain of d, not the other way round */
	expect1("mx.desk; dkim=pass header.d=example.org", "mail.eu.example.org", TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.d=mail.example.org", FROM, FALSE,
		"dkim=pass header.d=mail.example.org not aligned with example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.d=evil.net", FROM, FALSE,
		"dkim=pass header.d=evil.net not aligned with example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.d=badexample.org", FROM, FALSE,
		"dkim=pass header.d=badexample.org not aligned with example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.d=org", FROM, FALSE,
		"dkim=pass header.d=org not aligned with example.org by mx.desk");
	/* header.i when there is no header.d; case and trailing dots */
	expect1("mx.desk; dkim=pass header.i=@Example.ORG", FROM, TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.i=ana@sub.example.org", "sub.example.org", TRUE,
		"dkim=pass header.d=sub.example.org by mx.desk");
	expect1("MX.DESK; DKIM=PASS Header.D=EXAMPLE.ORG.", "Example.Org.", TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.s=sel", FROM, FALSE,
		"dkim=pass without header.d by mx.desk");
	/* several signatures: any aligned pass */
	expect1("mx.desk; dkim=pass header.d=esp.example.net header.s=s1; "
		"dkim=pass header.d=example.org header.s=s2",
		FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	/* two different header.d in one resinfo: ambiguous, not a pass */
	expect1("mx.desk; dkim=pass header.d=evil.net header.d=example.org", FROM, FALSE,
		"dkim=pass with conflicting properties by mx.desk");
	expect1("mx.desk; dmarc=pass header.from=evil.net header.from=example.org", FROM, FALSE,
		"dmarc=pass with conflicting properties by mx.desk");
}

static void test_dmarc(void **state)
{
	(void)state;
	expect1("mx.desk; dmarc=pass header.from=example.org", FROM, TRUE,
		"dmarc=pass header.from=example.org by mx.desk");
	expect1("mx.desk; dmarc=pass (p=reject dis=none) header.from=Example.org", FROM, TRUE,
		"dmarc=pass header.from=example.org by mx.desk");
	expect1("mx.desk; dkim=fail header.d=example.org; dmarc=fail header.from=example.org", FROM,
		FALSE, "dkim=fail header.d=example.org by mx.desk");
	/* dmarc needs an exact header.from */
	expect1("mx.desk; dmarc=pass header.from=example.org", "sub.example.org", FALSE,
		"dmarc=pass header.from=example.org is not sub.example.org by mx.desk");
	expect1("mx.desk; dmarc=pass", FROM, FALSE,
		"dmarc=pass header.from=(none) is not example.org by mx.desk");
	/* spf alone proves nothing */
	expect1("mx.desk; spf=pass smtp.mailfrom=example.org", FROM, FALSE,
		"no dkim or dmarc result by mx.desk");
	expect1("mx.desk; none", FROM, FALSE, "no dkim or dmarc result by mx.desk");
}

static void test_which_header(void **state)
{
	(void)state;
	/* no header at all, or none from our authserv-id */
	expect(NULL, FROM, FALSE, "no Authentication-Results from mx.desk");
	const char *none[] = {NULL};
	expect(none, FROM, FALSE, "no Authentication-Results from mx.desk");
	expect1("mx.evil; dkim=pass header.d=example.org", FROM, FALSE,
		"no Authentication-Results from mx.desk");
	expect1("mx.desk.evil; dkim=pass header.d=example.org", FROM, FALSE,
		"no Authentication-Results from mx.desk");
	expect1("desk; dkim=pass header.d=example.org", FROM, FALSE,
		"no Authentication-Results from mx.desk");

	/* a forged trusted-looking header below the real top one is ignored */
	const char *forged_below[] = {"mx.desk; dkim=fail header.d=example.org",
				      "mx.desk; dkim=pass header.d=example.org", NULL};
	expect(forged_below, FROM, FALSE, "dkim=fail header.d=example.org by mx.desk");

	/* a foreign header above ours (an internal hop after the border MTA) does not hide it */
	const char *foreign_above[] = {"filter.internal; dkim=fail header.d=example.org",
				       "mx.desk; dkim=pass header.d=example.org", NULL};
	expect(foreign_above, FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	const char *foreign_pass[] = {"mx.evil; dmarc=pass header.from=example.org",
				      "mx.desk; dmarc=fail header.from=example.org", NULL};
	expect(foreign_pass, FROM, FALSE, "dmarc=fail header.from=example.org by mx.desk");

	/* the topmost trusted one over the limit: nothing below it counts */
	GString *big = g_string_new("mx.desk; dkim=fail header.d=example.org (");
	while (big->len <= AUTHRES_MAX_VALUE)
		g_string_append(big, "xxxxxxxx");
	g_string_append(big, ")");
	const char *too_long[] = {big->str, "mx.desk; dkim=pass header.d=example.org", NULL};
	expect(too_long, FROM, FALSE,
	       "Authentication-Results from mx.desk over 8192 bytes: ignored");
	/* a foreign one over the limit is skipped like any foreign one */
	g_string_overwrite(big, 0, "mx.evi");
	expect(too_long, FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	g_string_free(big, TRUE);
}

static void test_syntax(void **state)
{
	(void)state;
	/* version, comments (nested, with ';' and '=' inside), quoted strings, CFWS */
	expect1("mx.desk 1; dkim=pass header.d=example.org", FROM, TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	expect1("(comment) mx.desk (more) 1 (v); dkim (x) = (y) pass (2048-bit key; "
		"header.d=evil.net (nested) ) header . d = example.org",
		FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	expect1("\"mx.desk\"; dkim=pass reason=\"signature ok; header.d=evil.net\" "
		"header.d=\"example.org\"",
		FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	expect1("mx.desk;\r\n\tspf=pass smtp.mailfrom=ana@example.org;\r\n\tdkim/1=pass "
		"header.i=@example.org header.s=sel header.b=abcd;\r\n\tdmarc=pass "
		"(p=none) header.from=example.org",
		FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	/* a ';' in a comment does not start a resinfo, in a quoted string neither */
	expect1("mx.desk; dkim=fail (bad; dkim=pass header.d=example.org) header.d=example.org",
		FROM, FALSE, "dkim=fail header.d=example.org by mx.desk");
	expect1("mx.desk; dkim=fail reason=\"x; dkim=pass header.d=example.org\"", FROM, FALSE,
		"dkim=fail by mx.desk");
	/* no ';' after the authserv-id: the results are not read */
	expect1("mx.desk dkim=pass header.d=example.org", FROM, FALSE,
		"no dkim or dmarc result by mx.desk");
	/* malformed resinfos are skipped, a good one after them still counts */
	expect1("mx.desk; =pass; dkim==pass header.d=example.org; dkim=; ; dkim=pass "
		"header.d=example.org",
		FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	/* unterminated comment and quoted string */
	expect1("mx.desk; dkim=pass header.d=example.org (oops", FROM, TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.d=\"example.org", FROM, TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.d=(c \\) still comment) example.org", FROM, TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	/* empty and junk values */
	expect1("", FROM, FALSE, "no Authentication-Results from mx.desk");
	expect1(";;;===", FROM, FALSE, "no Authentication-Results from mx.desk");
	expect1("((((((", FROM, FALSE, "no Authentication-Results from mx.desk");
}

static void test_arguments(void **state)
{
	const char *values[] = {"mx.desk; dkim=pass header.d=example.org", NULL};
	const char *why = NULL;

	(void)state;
	assert_false(authres_from_proven(values, NULL, FROM, &why));
	assert_string_equal(why, "no trusted authserv-id configured");
	assert_false(authres_from_proven(values, "", FROM, &why));
	assert_false(authres_from_proven(values, ID, NULL, &why));
	assert_string_equal(why, "no From domain");
	assert_false(authres_from_proven(values, ID, "", NULL));
	assert_true(authres_from_proven(values, "MX.Desk", FROM, NULL));
}

static void test_hostile(void **state)
{
	GString *s = g_string_new("mx.desk; ");

	(void)state;
	/* deep nesting and many resinfos within the limit: bounded, and a late pass counts */
	for (int i = 0; i < 2000; i++)
		g_string_append_c(s, '(');
	for (int i = 0; i < 2000; i++)
		g_string_append_c(s, ')');
	while (s->len < AUTHRES_MAX_VALUE - 100)
		g_string_append(s, "; x=y");
	g_string_append(s, "; dkim=pass header.d=example.org");
	const char *values[] = {s->str, NULL};
	expect(values, FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");

	/* control characters and long names do not reach the explanation */
	g_string_assign(s, "mx.desk; dkim=\x01\x1b[31m");
	for (int i = 0; i < 500; i++)
		g_string_append_c(s, 'f');
	values[0] = s->str;
	const char *why = NULL;
	assert_false(authres_from_proven(values, ID, FROM, &why));
	assert_true(strlen(why) < 200);
	for (const char *p = why; *p != '\0'; p++)
		assert_true(g_ascii_isprint(*p));

	/* many headers, none of them ours */
	GPtrArray *many = g_ptr_array_new();
	for (int i = 0; i < 10000; i++)
		g_ptr_array_add(many, "mx.other; dkim=pass header.d=example.org");
	g_ptr_array_add(many, NULL);
	expect((const char *const *)many->pdata, FROM, FALSE,
	       "no Authentication-Results from mx.desk");
	g_ptr_array_free(many, TRUE);
	g_string_free(s, TRUE);
}

/* A fail for the From domain from the trusted border is told apart from nothing: it vetoes an
 * agent's reply token, and it outweighs a pass elsewhere in the same header. */
static void test_fail_verdict(void **state)
{
	const char *why = NULL;
	const char *v1[] = {"mx.desk; dmarc=fail (p=reject) header.from=example.org", NULL};
	const char *v2[] = {"mx.desk; dkim=fail header.d=example.org; spf=pass", NULL};
	const char *v3[] = {
	    "mx.desk; dkim=pass header.d=example.org; dmarc=fail header.from=example.org", NULL};
	const char *v4[] = {"mx.desk; dkim=fail header.d=other.net; dkim=pass header.d=example.org",
			    NULL};
	const char *v5[] = {"mx.desk; dmarc=fail header.from=other.net", NULL};
	const char *v6[] = {"mx.desk; dmarc=none header.from=example.org", NULL};
	const char *v7[] = {"mx.evil; dmarc=fail header.from=example.org",
			    "mx.desk; dkim=pass header.d=example.org", NULL};

	(void)state;
	assert_int_equal(authres_from_verdict(v1, ID, FROM, &why), AUTHRES_FAIL);
	assert_string_equal(why, "dmarc=fail header.from=example.org by mx.desk");
	assert_int_equal(authres_from_verdict(v2, ID, FROM, &why), AUTHRES_FAIL);
	assert_int_equal(authres_from_verdict(v2, ID, "sub.example.org", &why), AUTHRES_FAIL);
	assert_int_equal(authres_from_verdict(v3, ID, FROM, &why), AUTHRES_FAIL);
	assert_false(authres_from_proven(v3, ID, FROM, NULL));
	/* a fail for another domain's signature is no veto */
	assert_int_equal(authres_from_verdict(v4, ID, FROM, &why), AUTHRES_PASS);
	assert_int_equal(authres_from_verdict(v5, ID, FROM, &why), AUTHRES_NONE);
	assert_int_equal(authres_from_verdict(v6, ID, FROM, &why), AUTHRES_NONE);
	/* a foreign authserv-id's fail counts no more than its pass */
	assert_int_equal(authres_from_verdict(v7, ID, FROM, &why), AUTHRES_PASS);
}

/* Encoded-words: what a border MTA copies verbatim from the sender (the envelope sender, the HELO
 * name) into its own header, and an authserv-id written as an encoded-word by the sender. Read
 * raw, neither can become syntax; a trusted header holding one proves nothing at all. */
static void test_encoded_words(void **state)
{
	(void)state;
	/* decoded, this would be "mx.desk; spf=pass smtp.mailfrom=x ();dkim=pass
	 * header.d=example.org;()" */
	expect1("mx.desk; spf=pass smtp.mailfrom==?utf-8?q?x=40evil.net_=28=29=3Bdkim=3Dpass_"
		"header.d=3Dexample.org=3B=28?=",
		FROM, FALSE,
		"Authentication-Results from mx.desk holds an RFC 2047 encoded-word: not trusted");
	/* the same in a comment, base64 */
	expect1(
	    "mx.desk; spf=none (helo =?utf-8?b?KTtka2ltPXBhc3MgaGVhZGVyLmQ9ZXhhbXBsZS5vcmc7KA==?=)",
	    FROM, FALSE,
	    "Authentication-Results from mx.desk holds an RFC 2047 encoded-word: not trusted");
	/* an encoded-word beside a real pass still spoils the whole header */
	expect1("mx.desk; dkim=pass header.d=example.org; spf=pass smtp.mailfrom==?us-ascii?Q?a?=",
		FROM, FALSE,
		"Authentication-Results from mx.desk holds an RFC 2047 encoded-word: not trusted");
	/* an encoded authserv-id is not the trusted one, whatever it decodes to */
	expect1("=?us-ascii?q?mx.desk?=; dkim=pass header.d=example.org", FROM, FALSE,
		"no Authentication-Results from mx.desk");
	const char *smuggled_above[] = {"=?utf-8?b?bXguZGVzaw==?=; dkim=pass header.d=example.org",
					"mx.desk; dkim=fail header.d=example.org", NULL};
	expect(smuggled_above, FROM, FALSE, "dkim=fail header.d=example.org by mx.desk");
	/* hostile: thousands of encoded-word openings that never close, within the size limit,
	 * are no encoded-word; one closing at the very end makes the whole header one */
	GString *many = g_string_new("mx.desk; dkim=pass header.d=example.org (");
	while (many->len < AUTHRES_MAX_VALUE - 10)
		g_string_append(many, "=?a?q?x ");
	g_string_append(many, ")");
	expect1(many->str, FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	g_string_truncate(many, many->len - 1);
	g_string_append(many, "x?=)");
	expect1(many->str, FROM, FALSE,
		"Authentication-Results from mx.desk holds an RFC 2047 encoded-word: not trusted");
	g_string_free(many, TRUE);
	/* '=?' alone (not an encoded-word) is no reason to refuse */
	expect1("mx.desk; dkim=pass header.d=example.org (why=?)", FROM, TRUE,
		"dkim=pass header.d=example.org by mx.desk");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dkim),	  cmocka_unit_test(test_dmarc),
	    cmocka_unit_test(test_which_header),  cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_arguments),	  cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_encoded_words), cmocka_unit_test(test_fail_verdict),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
