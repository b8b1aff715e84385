/* Unit tests of authres.c: dkim, spf and dmarc results, alignment, which header counts (the
 * topmost one from the trusted authserv-id, or Microsoft 365's without one; foreign ones and
 * forged ones below it are ignored), comments, quoting, versions and CFWS, hostile values, the
 * DMARC policy each producer writes in its own way, and the headers of the real producers
 * (OpenDMARC, OpenDKIM, rspamd, authentication_milter, Gmail, Microsoft 365) as they write them,
 * with the domains and addresses replaced. */

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

static const struct authres_border border_id = {AUTHRES_RFC8601, ID};
static const struct authres_border border_m365 = {AUTHRES_MICROSOFT365, NULL};

/* What a verdict must say; NULL strings are not checked. */
struct want {
	enum authres_result result;
	enum authres_dmarc dmarc;
	enum authres_policy policy;
	const char *domain;
	const char *why;
};

/* Fails unless the values (NULL-terminated), read as border's, give w for from. Returns the
 * verdict for further checks. */
static struct authres_verdict verdict(const char *const *values, const struct authres_border *b,
				      const char *from, struct want w)
{
	struct authres_verdict v;

	authres_read(values, b, from, &v);
	if (v.result != w.result || v.dmarc != w.dmarc || v.policy != w.policy ||
	    (w.domain != NULL && strcmp(v.domain, w.domain) != 0) ||
	    (w.why != NULL && strcmp(v.why, w.why) != 0))
		fail_msg("\"%s\" from %s\n  got  result %d dmarc %s policy %s domain \"%s\" "
			 "\"%s\"\n  want result %d dmarc %s policy %s domain \"%s\" \"%s\"",
			 values != NULL && values[0] != NULL ? values[0] : "(none)", from, v.result,
			 authres_dmarc_name(v.dmarc), authres_policy_name(v.policy), v.domain,
			 v.why, w.result, authres_dmarc_name(w.dmarc),
			 authres_policy_name(w.policy), w.domain ? w.domain : "(any)",
			 w.why ? w.why : "(any)");
	return v;
}

/* one value */
static struct authres_verdict verdict1(const char *value, const struct authres_border *b,
				       const char *from, struct want w)
{
	const char *values[] = {value, NULL};

	return verdict(values, b, from, w);
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
	/* both fail: DMARC's is the domain's own verdict, and the one named */
	expect1("mx.desk; dkim=fail header.d=example.org; dmarc=fail header.from=example.org", FROM,
		FALSE, "dmarc=fail header.from=example.org by mx.desk");
	/* dmarc needs an exact header.from */
	expect1("mx.desk; dmarc=pass header.from=example.org", "sub.example.org", FALSE,
		"dmarc=pass header.from=example.org is not sub.example.org by mx.desk");
	expect1("mx.desk; dmarc=pass", FROM, FALSE,
		"dmarc=pass header.from=(none) is not example.org by mx.desk");
	/* an aligned spf pass proves the domain (test_spf has the rest) */
	expect1("mx.desk; spf=pass smtp.mailfrom=example.org", FROM, TRUE,
		"spf=pass smtp.mailfrom=example.org by mx.desk");
	expect1("mx.desk; none", FROM, FALSE, "no dkim, dmarc or spf result by mx.desk");
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
		"no dkim, dmarc or spf result by mx.desk");
	/* malformed resinfos are skipped, a good one after them still counts */
	expect1("mx.desk; =pass; dkim==pass header.d=example.org; dkim=; ; dkim=pass "
		"header.d=example.org",
		FROM, TRUE, "dkim=pass header.d=example.org by mx.desk");
	/* an '=' right after a value belongs to it (unquoted by some producers) */
	expect1("mx.desk; dkim=pass header.d=example.org header.b=Ab12Cd34Ef56==", FROM, TRUE,
		"dkim=pass header.d=example.org by mx.desk");
	expect1("mx.desk; spf=pass smtp.mailfrom=SRS0=63fc=V7=example.org=ana@fwd.example.net",
		FROM, FALSE,
		"spf=pass smtp.mailfrom=fwd.example.net not aligned with example.org by mx.desk");
	expect1("mx.desk; dkim=pass header.d=evil.example=x header.d=example.org", FROM, FALSE,
		"dkim=pass with conflicting properties by mx.desk");
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
	assert_string_equal(why, "dmarc=fail (p=reject) header.from=example.org by mx.desk");
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

/* SPF proves the From domain when smtp.mailfrom (an address or a domain) aligns with it, like
 * DKIM's d: the same domain or a parent of the From's. A pass for another domain, for the HELO
 * name or for the null sender proves nothing; an aligned fail alone is no veto. */
static void test_spf(void **state)
{
	struct authres_verdict v;

	(void)state;
	v = verdict1("mx.desk; spf=pass smtp.mailfrom=ana@example.org", &border_id, FROM,
		     (struct want){.result = AUTHRES_PASS,
				   .dmarc = AUTHRES_DMARC_ABSENT,
				   .policy = AUTHRES_POLICY_UNKNOWN,
				   .domain = "example.org",
				   .why = "spf=pass smtp.mailfrom=example.org by mx.desk"});
	assert_true(v.spf_pass);
	assert_false(v.spf_fail || v.dkim_pass || v.dkim_fail);
	verdict1("mx.desk; spf=pass smtp.mailfrom=<Ana@Example.ORG.>", &border_id, FROM,
		 (struct want){.result = AUTHRES_PASS, .domain = "example.org"});
	/* relaxed: the From a subdomain of the envelope domain, not the other way round */
	verdict1("mx.desk; spf=pass smtp.mailfrom=bounce@example.org", &border_id, "eu.example.org",
		 (struct want){.result = AUTHRES_PASS,
			       .domain = "example.org",
			       .why = "spf=pass smtp.mailfrom=example.org by mx.desk"});
	verdict1("mx.desk; spf=pass smtp.mailfrom=bounce@mail.example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE,
			       .domain = "",
			       .why = "spf=pass smtp.mailfrom=mail.example.org not aligned with "
				      "example.org by mx.desk"});
	/* an unaligned pass proves nothing */
	v = verdict1("mx.desk; spf=pass smtp.mailfrom=bounces+ana=example.org@esp.example.net",
		     &border_id, FROM,
		     (struct want){.result = AUTHRES_NONE,
				   .domain = "",
				   .why = "spf=pass smtp.mailfrom=esp.example.net not aligned with "
					  "example.org by mx.desk"});
	assert_false(v.spf_pass);
	verdict1("mx.desk; spf=pass smtp.mailfrom=ana@badexample.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE});
	verdict1("mx.desk; spf=pass smtp.mailfrom=ana@org", &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE});
	/* the HELO name and the null sender */
	verdict1("mx.desk; spf=pass smtp.helo=example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE,
			       .why = "spf=pass without smtp.mailfrom by mx.desk"});
	verdict1("mx.desk; spf=pass smtp.mailfrom=<> smtp.helo=mail.example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE,
			       .why = "spf=pass without smtp.mailfrom by mx.desk"});
	/* two envelope senders in one resinfo: conflicting, not a pass */
	verdict1("mx.desk; spf=pass smtp.mailfrom=ana@evil.example smtp.mailfrom=ana@example.org",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE,
			       .why = "spf=pass with conflicting properties by mx.desk"});
	/* where the domain has no DMARC record, the aligned SPF pass still proves it */
	verdict1("mx.desk; dkim=none; spf=pass smtp.mailfrom=ana@example.org; dmarc=none "
		 "header.from=example.org",
		 &border_id, FROM,
		 (struct want){
		     .result = AUTHRES_PASS, .dmarc = AUTHRES_DMARC_NONE, .domain = "example.org"});
	/* an aligned fail alone is told, but is no veto; beside an aligned DKIM pass it is what
	 * forwarding does */
	v = verdict1("mx.desk; dkim=none; spf=fail smtp.mailfrom=ana@example.org", &border_id, FROM,
		     (struct want){.result = AUTHRES_NONE,
				   .domain = "",
				   .why = "spf=fail smtp.mailfrom=example.org by mx.desk"});
	assert_true(v.spf_fail);
	verdict1("mx.desk; spf=fail smtp.mailfrom=ana@example.org; dkim=pass header.d=example.org",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_PASS,
			       .why = "dkim=pass header.d=example.org by mx.desk"});
	/* a DMARC or aligned DKIM fail still outweighs an SPF pass */
	verdict1("mx.desk; spf=pass smtp.mailfrom=ana@example.org; dmarc=fail "
		 "header.from=example.org",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL, .dmarc = AUTHRES_DMARC_FAIL});
	verdict1("mx.desk; spf=pass smtp.mailfrom=ana@example.org; dkim=fail header.d=example.org",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .domain = "example.org",
			       .why = "dkim=fail header.d=example.org by mx.desk"});
	/* DKIM or DMARC is named before SPF: it proves the message, SPF only its path */
	verdict1("mx.desk; spf=pass smtp.mailfrom=ana@example.org; dkim=pass header.d=example.org",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_PASS,
			       .why = "dkim=pass header.d=example.org by mx.desk"});
}

/* The DMARC result and the policy each producer writes its own way; the authenticated domain. */
static void test_dmarc_policy(void **state)
{
	(void)state;
	/* OpenDMARC and Gmail: in a comment */
	verdict1("mx.desk; dmarc=fail (p=reject dis=none) header.from=example.org", &border_id,
		 FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_REJECT,
			       .domain = "example.org",
			       .why = "dmarc=fail (p=reject) header.from=example.org by mx.desk"});
	verdict1("mx.desk; dmarc=fail (p=QUARANTINE sp=REJECT dis=QUARANTINE) "
		 "header.from=example.org",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_QUARANTINE});
	verdict1("mx.desk; dmarc=pass (p=none dis=none) header.from=example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_PASS,
			       .dmarc = AUTHRES_DMARC_PASS,
			       .policy = AUTHRES_POLICY_NONE,
			       .domain = "example.org",
			       .why = "dmarc=pass header.from=example.org by mx.desk"});
	/* rspamd: "(policy=...)", after header.from on a fail */
	verdict1("mx.desk; dmarc=fail reason=\"No valid SPF, No valid DKIM\" "
		 "header.from=example.org (policy=quarantine)",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_QUARANTINE,
			       .why = "dmarc=fail (p=quarantine) header.from=example.org by "
				      "mx.desk"});
	/* authentication_milter's properties; policy.policy-from=sp names the one applied */
	verdict1("mx.desk; dmarc=fail policy.published-domain-policy=reject "
		 "policy.applied-disposition=quarantine policy.evaluated-disposition=reject "
		 "(p=none,d=quarantine) policy.policy-from=p header.from=example.org",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_REJECT});
	verdict1("mx.desk; dmarc=fail policy.published-domain-policy=reject "
		 "policy.published-subdomain-policy=quarantine (p=reject,sp=quarantine) "
		 "policy.policy-from=sp header.from=eu.example.org",
		 &border_id, "eu.example.org",
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_QUARANTINE});
	/* policy.dmarc (Cloudflare) and DMARCbis's polrec.p */
	verdict1("mx.desk; dmarc=pass header.from=example.org policy.dmarc=reject", &border_id,
		 FROM,
		 (struct want){.result = AUTHRES_PASS,
			       .dmarc = AUTHRES_DMARC_PASS,
			       .policy = AUTHRES_POLICY_REJECT});
	verdict1("mx.desk; dmarc=fail polrec.p=quarantine header.from=example.org", &border_id,
		 FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_QUARANTINE});
	/* no policy said, or one nobody knows */
	verdict1("mx.desk; dmarc=fail header.from=example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_UNKNOWN,
			       .why = "dmarc=fail header.from=example.org by mx.desk"});
	verdict1("mx.desk; dmarc=fail (p=maybe) header.from=example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_UNKNOWN});
	/* action= is Microsoft 365's; another producer's means nothing */
	verdict1("mx.desk; dmarc=fail action=oreject header.from=example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_UNKNOWN});
	/* the policy of another domain's result is not the From's */
	verdict1("mx.desk; dmarc=fail (p=reject) header.from=example.net; dmarc=none (p=none) "
		 "header.from=example.org",
		 &border_id, FROM,
		 (struct want){
		     .result = AUTHRES_NONE,
		     .dmarc = AUTHRES_DMARC_NONE,
		     .policy = AUTHRES_POLICY_NONE,
		     .domain = "",
		     .why = "dmarc=fail header.from=example.net is not example.org by mx.desk"});
	/* errors, and a fail outweighing a pass for the same domain */
	verdict1("mx.desk; dmarc=temperror header.from=example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE,
			       .dmarc = AUTHRES_DMARC_TEMPERROR,
			       .why = "dmarc=temperror by mx.desk"});
	verdict1("mx.desk; dmarc=permerror header.from=example.org", &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE, .dmarc = AUTHRES_DMARC_PERMERROR});
	verdict1("mx.desk; dmarc=pass header.from=example.org; dmarc=fail (p=reject) "
		 "header.from=example.org",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_REJECT});
	/* the authenticated domain: DKIM's d for a subdomain's From */
	verdict1("mx.desk; dkim=pass header.d=example.org", &border_id, "eu.example.org",
		 (struct want){.result = AUTHRES_PASS, .domain = "example.org"});
	/* nothing found: nothing filled */
	struct authres_verdict v =
	    verdict(NULL, &border_id, FROM, (struct want){.result = AUTHRES_NONE});
	assert_false(v.found);
	assert_string_equal(v.domain, "");
	v = verdict1("mx.desk; none", &border_id, FROM, (struct want){.result = AUTHRES_NONE});
	assert_true(v.found);
}

/* Each producer's header as it writes it (layout, comments, properties, their order), with the
 * names replaced; what spocd makes of it. */
static void test_producers(void **state)
{
	struct authres_verdict v;

	(void)state;
	/* OpenDMARC: its own header, the policy applied in the comment */
	verdict1("mx.desk; dmarc=pass (p=reject dis=none) header.from=example.org", &border_id,
		 FROM,
		 (struct want){.result = AUTHRES_PASS,
			       .dmarc = AUTHRES_DMARC_PASS,
			       .policy = AUTHRES_POLICY_REJECT,
			       .domain = "example.org"});
	/* OpenDKIM: one header per message, signatures folded, key size and DNSSEC in a comment
	 * with a ';' inside */
	v = verdict1("mx.desk;\r\n\tdkim=pass (2048-bit key; unprotected) header.d=example.org "
		     "header.i=@example.org header.b=\"Ab12Cd34\";\r\n\tdkim=pass (1024-bit key; "
		     "unprotected) header.d=esp.example.net header.i=@esp.example.net "
		     "header.b=\"Ef56Gh78\"",
		     &border_id, FROM,
		     (struct want){.result = AUTHRES_PASS,
				   .dmarc = AUTHRES_DMARC_ABSENT,
				   .policy = AUTHRES_POLICY_UNKNOWN,
				   .domain = "example.org",
				   .why = "dkim=pass header.d=example.org by mx.desk"});
	assert_true(v.dkim_pass);
	verdict1("mx.desk; dkim=fail reason=\"signature verification failed\" (2048-bit key; "
		 "unprotected) header.d=example.org header.i=@example.org header.b=\"Ab12Cd34\"",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_FAIL,
			       .why = "dkim=fail header.d=example.org by mx.desk"});
	/* OpenDKIM and OpenDMARC together: OpenDMARC's header is on top and the only one read; a
	 * domain without a DMARC record is not proven by OpenDKIM's pass below it */
	const char *milters[] = {"mx.desk; dmarc=none (p=none dis=none) header.from=example.org",
				 "mx.desk; dkim=pass (2048-bit key; unprotected) "
				 "header.d=example.org header.i=@example.org header.b=\"Ab12Cd34\"",
				 NULL};
	verdict(milters, &border_id, FROM,
		(struct want){.result = AUTHRES_NONE,
			      .dmarc = AUTHRES_DMARC_NONE,
			      .policy = AUTHRES_POLICY_NONE,
			      .domain = "",
			      .why = "dmarc=none by mx.desk"});

	/* rspamd: everything in one header, the envelope sender quoted */
	v = verdict1("mx.desk; dkim=pass header.d=example.org header.s=dkim header.b=Ab12Cd34; "
		     "spf=pass (mx.desk: domain of ana@example.org designates 192.0.2.10 as "
		     "permitted sender) smtp.mailfrom=ana@example.org; dmarc=pass (policy=reject) "
		     "header.from=example.org",
		     &border_id, FROM,
		     (struct want){.result = AUTHRES_PASS,
				   .dmarc = AUTHRES_DMARC_PASS,
				   .policy = AUTHRES_POLICY_REJECT,
				   .domain = "example.org",
				   .why = "dkim=pass header.d=example.org by mx.desk"});
	assert_true(v.dkim_pass && v.spf_pass);
	v = verdict1(
	    "mx.desk; dkim=none; spf=softfail (mx.desk: 198.51.100.7 is neither permitted "
	    "nor denied by domain of ana@example.org) smtp.mailfrom=ana@example.org; "
	    "dmarc=fail reason=\"No valid SPF, No valid DKIM\" header.from=example.org "
	    "(policy=quarantine)",
	    &border_id, FROM,
	    (struct want){.result = AUTHRES_FAIL,
			  .dmarc = AUTHRES_DMARC_FAIL,
			  .policy = AUTHRES_POLICY_QUARANTINE,
			  .domain = "example.org",
			  .why = "dmarc=fail (p=quarantine) header.from=example.org by mx.desk"});
	assert_false(v.spf_fail); /* softfail */
	/* rspamd quotes an envelope sender it copies into its SPF comment; the ")" and ";" in the
	 * quoted string are not syntax (read as RFC 5322 would, this one proves example.org) */
	verdict1("mx.desk; dkim=none; spf=fail (mx.desk: domain of "
		 "\"\\\"x);dkim=pass header.d=example.org;(y\\\"@evil.example\" does not designate "
		 "198.51.100.7 as permitted sender) smtp.mailfrom=\"\\\"x);dkim=pass "
		 "header.d=example.org;(y\\\"@evil.example\"",
		 &border_id, FROM,
		 (struct want){.result = AUTHRES_NONE, .why = "dkim=none by mx.desk"});

	/* authentication_milter: policy properties and a comma-separated comment, several From
	 * domains' dmarc results in one header */
	v = verdict1("mx.desk;\r\n    dkim=pass (2048-bit rsa key sha256) header.d=example.org "
		     "header.i=@example.org header.b=Ab12Cd34 header.a=rsa-sha256 header.s=sel "
		     "x-bits=2048;\r\n    dmarc=fail policy.published-domain-policy=reject "
		     "policy.applied-disposition=reject policy.evaluated-disposition=reject "
		     "(p=reject,d=reject,d.eval=reject) policy.policy-from=p "
		     "header.from=example.net;\r\n    dmarc=pass "
		     "policy.published-domain-policy=quarantine policy.applied-disposition=none "
		     "policy.evaluated-disposition=none (p=quarantine,d=none,d.eval=none) "
		     "policy.policy-from=p header.from=example.org;\r\n    iprev=pass "
		     "smtp.remote-ip=192.0.2.10 (mail.example.org);\r\n    spf=pass "
		     "smtp.mailfrom=ana@example.org smtp.helo=mail.example.org;\r\n    "
		     "x-aligned-from=pass (Address match)",
		     &border_id, FROM,
		     (struct want){.result = AUTHRES_PASS,
				   .dmarc = AUTHRES_DMARC_PASS,
				   .policy = AUTHRES_POLICY_QUARANTINE,
				   .domain = "example.org",
				   .why = "dkim=pass header.d=example.org by mx.desk"});
	assert_true(v.dkim_pass && v.spf_pass);

	/* Gmail (and Google Workspace): mx.google.com, DKIM by header.i, both policies in the
	 * comment in capitals (p is taken: Gmail does not say which one applied) */
	static const struct authres_border gmail = {AUTHRES_RFC8601, "mx.google.com"};
	verdict1("mx.google.com;\r\n       dkim=pass header.i=@example.org header.s=20230601 "
		 "header.b=Ab12Cd34;\r\n       spf=pass (google.com: domain of ana@example.org "
		 "designates 192.0.2.10 as permitted sender) smtp.mailfrom=ana@example.org;\r\n  "
		 "     dmarc=pass (p=REJECT sp=QUARANTINE dis=NONE) header.from=example.org",
		 &gmail, FROM,
		 (struct want){.result = AUTHRES_PASS,
			       .dmarc = AUTHRES_DMARC_PASS,
			       .policy = AUTHRES_POLICY_REJECT,
			       .domain = "example.org",
			       .why = "dkim=pass header.d=example.org by mx.google.com"});
	verdict1(
	    "mx.google.com; dkim=pass header.i=@esp.example.net header.s=s1 header.b=Ab12Cd34; "
	    "spf=pass (google.com: domain of bounce@esp.example.net designates 192.0.2.20 as "
	    "permitted sender) smtp.mailfrom=bounce@esp.example.net; dmarc=fail (p=REJECT "
	    "sp=REJECT dis=REJECT) header.from=example.org",
	    &gmail, FROM,
	    (struct want){.result = AUTHRES_FAIL,
			  .dmarc = AUTHRES_DMARC_FAIL,
			  .policy = AUTHRES_POLICY_REJECT,
			  .domain = "example.org",
			  .why = "dmarc=fail (p=reject) header.from=example.org by mx.google.com"});
	/* a bounce: the null sender's "smtp.mailfrom=;" is malformed, the HELO proves nothing */
	verdict1("mx.google.com; spf=pass (google.com: best guess record for domain of "
		 "postmaster@mail.example.org designates 192.0.2.10 as permitted sender) "
		 "smtp.mailfrom=; dkim=none; dmarc=none header.from=example.org",
		 &gmail, FROM, (struct want){.result = AUTHRES_NONE, .dmarc = AUTHRES_DMARC_NONE});
	/* Gmail's header does not speak for a desk whose border is another */
	verdict1(
	    "mx.google.com; dkim=pass header.i=@example.org; dmarc=pass (p=REJECT) "
	    "header.from=example.org",
	    &border_id, FROM,
	    (struct want){.result = AUTHRES_NONE, .why = "no Authentication-Results from mx.desk"});
}

#define M365_PASS                                                                                  \
	"spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=pass (signature was "   \
	"verified) header.d=contoso.com;dmarc=pass action=none "                                   \
	"header.from=contoso.com;compauth=pass reason=100"
#define M365_FAIL                                                                                  \
	"spf=fail (sender IP is 198.51.100.7) smtp.mailfrom=contoso.com; dkim=none (message not "  \
	"signed) header.d=none;dmarc=fail action=oreject "                                         \
	"header.from=contoso.com;compauth=fail reason=000"

/* Microsoft 365's own dialect: no authserv-id, the policy in action=, compauth. */
static void test_microsoft365(void **state)
{
	struct authres_verdict v;

	(void)state;
	v = verdict1(M365_PASS, &border_m365, "contoso.com",
		     (struct want){.result = AUTHRES_PASS,
				   .dmarc = AUTHRES_DMARC_PASS,
				   .policy = AUTHRES_POLICY_UNKNOWN,
				   .domain = "contoso.com",
				   .why = "dkim=pass header.d=contoso.com by Microsoft 365"});
	assert_true(v.found && v.dkim_pass && v.spf_pass);
	verdict1(
	    M365_FAIL, &border_m365, "contoso.com",
	    (struct want){.result = AUTHRES_FAIL,
			  .dmarc = AUTHRES_DMARC_FAIL,
			  .policy = AUTHRES_POLICY_REJECT,
			  .domain = "contoso.com",
			  .why = "dmarc=fail (p=reject) header.from=contoso.com by Microsoft 365"});
	/* folded as Exchange folds it, with the stray "outlook.com;" it writes between results */
	verdict1("spf=pass (sender IP is 192.0.2.1)\r\n smtp.helo=mail.contoso.com; outlook.com; "
		 "dkim=pass (signature was verified)\r\n header.d=contoso.com;outlook.com; "
		 "dmarc=pass action=none\r\n header.from=contoso.com;",
		 &border_m365, "contoso.com",
		 (struct want){
		     .result = AUTHRES_PASS, .dmarc = AUTHRES_DMARC_PASS, .domain = "contoso.com"});
	/* action= gives the policy: a fail with none, quarantine not applied this time */
	verdict1("spf=fail (sender IP is 198.51.100.7) smtp.mailfrom=contoso.com; dkim=none "
		 "(message not signed) header.d=none;dmarc=fail action=none "
		 "header.from=contoso.com;compauth=fail reason=001",
		 &border_m365, "contoso.com",
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_NONE});
	verdict1("spf=softfail (sender IP is 198.51.100.7) smtp.mailfrom=contoso.com; dkim=none "
		 "(message not signed) header.d=none;dmarc=fail action=pct.quarantine "
		 "header.from=contoso.com;compauth=fail reason=000",
		 &border_m365, "contoso.com",
		 (struct want){.result = AUTHRES_FAIL,
			       .dmarc = AUTHRES_DMARC_FAIL,
			       .policy = AUTHRES_POLICY_QUARANTINE});
	verdict1("spf=none (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=none (message "
		 "not signed) header.d=none;dmarc=none action=permerror "
		 "header.from=contoso.com;compauth=none reason=905",
		 &border_m365, "contoso.com",
		 (struct want){.result = AUTHRES_NONE, .dmarc = AUTHRES_DMARC_PERMERROR});
	/* bestguesspass: no DMARC record; the aligned SPF pass proves the domain */
	verdict1("spf=pass (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=none (message "
		 "not signed) header.d=none;dmarc=bestguesspass action=none "
		 "header.from=contoso.com;compauth=pass reason=109",
		 &border_m365, "contoso.com",
		 (struct want){.result = AUTHRES_PASS,
			       .dmarc = AUTHRES_DMARC_NONE,
			       .domain = "contoso.com",
			       .why = "spf=pass smtp.mailfrom=contoso.com by Microsoft 365"});
	/* compauth=pass is Microsoft's guess, no proof */
	verdict1("spf=none (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=none (message "
		 "not signed) header.d=none;dmarc=none action=none "
		 "header.from=contoso.com;compauth=pass reason=109",
		 &border_m365, "contoso.com",
		 (struct want){.result = AUTHRES_NONE,
			       .dmarc = AUTHRES_DMARC_NONE,
			       .domain = "",
			       .why = "dmarc=none by Microsoft 365"});
	/* the sender's header, forged below Exchange Online's, counts for nothing: neither the
	 * pass it claims nor to hide the fail above it */
	const char *forged_below[] = {M365_FAIL, M365_PASS, NULL};
	verdict(forged_below, &border_m365, "contoso.com",
		(struct want){.result = AUTHRES_FAIL,
			      .dmarc = AUTHRES_DMARC_FAIL,
			      .policy = AUTHRES_POLICY_REJECT});
	const char *forged_below_none[] = {
	    "spf=none (sender IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=none (message not "
	    "signed) header.d=none;dmarc=none action=none header.from=contoso.com",
	    M365_PASS, NULL};
	verdict(forged_below_none, &border_m365, "contoso.com",
		(struct want){.result = AUTHRES_NONE,
			      .dmarc = AUTHRES_DMARC_NONE,
			      .why = "dmarc=none by Microsoft 365"});
	/* headers with an authserv-id are another MTA's: above Exchange Online's (a later hop)
	 * they hide nothing, alone they prove nothing */
	const char *other_above[] = {"mx.desk; dkim=pass header.d=contoso.com; dmarc=pass "
				     "header.from=contoso.com",
				     M365_FAIL, NULL};
	verdict(other_above, &border_m365, "contoso.com",
		(struct want){.result = AUTHRES_FAIL,
			      .dmarc = AUTHRES_DMARC_FAIL,
			      .policy = AUTHRES_POLICY_REJECT});
	verdict1("mx.desk; dkim=pass header.d=contoso.com", &border_m365, "contoso.com",
		 (struct want){.result = AUTHRES_NONE,
			       .why = "no Authentication-Results from Microsoft 365"});
	verdict1("\"contoso.com\"=pass; dkim=pass header.d=contoso.com", &border_m365,
		 "contoso.com", (struct want){.result = AUTHRES_NONE});
	/* and the other way round: a header without an authserv-id is nobody's for a desk that
	 * trusts one, even one named like a method */
	verdict1(
	    M365_PASS, &border_id, "contoso.com",
	    (struct want){.result = AUTHRES_NONE, .why = "no Authentication-Results from mx.desk"});
	const char *values[] = {"dkim=pass header.d=contoso.com", NULL};
	assert_false(authres_from_proven(values, "dkim", "contoso.com", NULL));
	/* encoded-words and overlong values as for any border */
	verdict1("spf=pass (sender IP is 192.0.2.1) smtp.helo==?utf-8?q?x=3Bdkim=3Dpass?=; "
		 "dkim=pass header.d=contoso.com",
		 &border_m365, "contoso.com",
		 (struct want){.result = AUTHRES_NONE,
			       .why = "Authentication-Results from Microsoft 365 holds "
				      "an RFC 2047 encoded-word: not trusted"});
	GString *big = g_string_new(M365_FAIL " (");
	while (big->len <= AUTHRES_MAX_VALUE)
		g_string_append(big, "xxxxxxxx");
	const char *too_long[] = {big->str, M365_PASS, NULL};
	verdict(too_long, &border_m365, "contoso.com",
		(struct want){.result = AUTHRES_NONE,
			      .why = "Authentication-Results from Microsoft 365 over "
				     "8192 bytes: ignored"});
	g_string_free(big, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dkim),	  cmocka_unit_test(test_dmarc),
	    cmocka_unit_test(test_which_header),  cmocka_unit_test(test_syntax),
	    cmocka_unit_test(test_arguments),	  cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_encoded_words), cmocka_unit_test(test_fail_verdict),
	    cmocka_unit_test(test_spf),		  cmocka_unit_test(test_dmarc_policy),
	    cmocka_unit_test(test_producers),	  cmocka_unit_test(test_microsoft365),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
