/* identity_digests(): which copies of a mail are one message, and which are not. */
#include "testlib.h"

#include "identity.h"
#include "spoc.h"

#include <string.h>

struct digests {
	char body[65];
	char content[65];
};

static struct digests of(const char *raw)
{
	struct digests d;

	identity_digests(raw, strlen(raw), d.body, d.content);
	return d;
}

static const char base[] = "From: Marta <marta@example.com>\r\n"
			   "To: help@desk.test\r\n"
			   "Subject: La VPN no conecta\r\n"
			   "Date: Mon, 7 Dec 2026 09:00:00 +0100\r\n"
			   "Message-ID: <abc@example.com>\r\n"
			   "\r\n"
			   "Hola,\r\nla VPN no conecta.\r\n";

static void same(const char *a, const char *b)
{
	struct digests x = of(a), y = of(b);

	if (strcmp(x.content, y.content) != 0)
		fail_msg("should be one message:\n%s\n---\n%s", a, b);
}

static void different(const char *a, const char *b)
{
	struct digests x = of(a), y = of(b);

	if (strcmp(x.content, y.content) == 0)
		fail_msg("should be two messages:\n%s\n---\n%s", a, b);
}

static void test_trace_fields(void **state)
{
	char *traced =
	    g_strconcat("Return-Path: <marta@example.com>\r\n"
			"Delivered-To: help@desk.test\r\n"
			"Received: from mx1.example.com (mx1.example.com [192.0.2.1])\r\n"
			"\tby mx.desk.test with ESMTPS; Mon, 7 Dec 2026 09:00:02 +0100\r\n"
			"Authentication-Results: mx.desk.test; dkim=pass header.d=example.com\r\n"
			"X-Spam-Status: No, score=-0.1\r\n"
			"ARC-Seal: i=1; a=rsa-sha256; cv=none; d=example.com; s=arc; b=xyz\r\n",
			base, NULL);

	(void)state;
	same(base, traced);
	/* line ends and folding are transport's too */
	same("From: Marta <marta@example.com>\nTo: help@desk.test\nSubject: La VPN no conecta\n"
	     "Date: Mon, 7 Dec 2026 09:00:00 +0100\nMessage-ID: <abc@example.com>\n\n"
	     "Hola,\nla VPN no conecta.\n",
	     base);
	same("From: Marta\r\n <marta@example.com>\r\nTo:   help@desk.test\r\n"
	     "Subject: La VPN no conecta\r\nDate: Mon, 7 Dec 2026 09:00:00 +0100\r\n"
	     "Message-ID: <abc@example.com>\r\n\r\nHola,\r\nla VPN no conecta.\r\n",
	     base);
	g_free(traced);
}

static void test_what_tells_apart(void **state)
{
	(void)state;
	/* a reused Message-ID on another sender's, another date's or another body's mail */
	different(base, "From: Eve <eve@attacker.example>\r\nTo: help@desk.test\r\n"
			"Subject: La VPN no conecta\r\nDate: Mon, 7 Dec 2026 09:00:00 +0100\r\n"
			"Message-ID: <abc@example.com>\r\n\r\nHola,\r\nla VPN no conecta.\r\n");
	different(base, "From: Marta <marta@example.com>\r\nTo: help@desk.test\r\n"
			"Subject: La VPN no conecta\r\nDate: Mon, 7 Dec 2026 09:00:00 +0100\r\n"
			"Message-ID: <abc@example.com>\r\n\r\nHola,\r\nla VPN ya conecta.\r\n");
	different(base, "From: Marta <marta@example.com>\r\nTo: help@desk.test\r\n"
			"Subject: La VPN no conecta\r\nDate: Mon, 7 Dec 2026 09:00:00 +0100\r\n"
			"Message-ID: <abc@example.com>\r\nCc: boss@example.com\r\n\r\n"
			"Hola,\r\nla VPN no conecta.\r\n");
	/* a blank inside a value is the sender's; only runs and folds are transport's */
	different("Subject: ab\r\n\r\nx", "Subject: a b\r\n\r\nx");
	/* the body's own blanks count */
	different("Subject: a\r\n\r\nx  y\r\n", "Subject: a\r\n\r\nx y\r\n");
	/* a field's name, not a prefix of it, is what makes it trace */
	different("Received-By-Desk: 1\r\n\r\nx", "Received-By-Desk: 2\r\n\r\nx");
	different("X-Spammy: 1\r\n\r\nx", "X-Spammy: 2\r\n\r\nx");
}

static void test_body_digest(void **state)
{
	struct digests a = of(base), b = of("Other: header\n\nHola,\nla VPN no conecta.\n");
	char hex[65];

	(void)state;
	assert_string_equal(a.body, b.body);
	spoc_sha256_hex("Hola,\nla VPN no conecta.\n", strlen("Hola,\nla VPN no conecta.\n"), hex);
	assert_string_equal(a.body, hex);
	/* no header block end: all header, an empty body */
	a = of("Subject: only a header");
	spoc_sha256_hex("", 0, hex);
	assert_string_equal(a.body, hex);
	a = of("");
	assert_string_equal(a.body, hex);
}

static void test_is_trace(void **state)
{
	(void)state;
	assert_true(identity_is_trace("Received", 8));
	assert_true(identity_is_trace("DELIVERED-TO", 12));
	assert_true(identity_is_trace("X-Spam-Flag", 11));
	assert_false(identity_is_trace("From", 4));
	assert_false(identity_is_trace("Message-ID", 10));
	assert_false(identity_is_trace("Receive", 7));
	assert_false(identity_is_trace("DKIM-Signature", 14));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_trace_fields),
	    cmocka_unit_test(test_what_tells_apart),
	    cmocka_unit_test(test_body_digest),
	    cmocka_unit_test(test_is_trace),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
