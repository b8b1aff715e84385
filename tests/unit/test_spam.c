/* spam_verdict(): the border's spam verdicts, as each filter writes them. */
#include "testlib.h"

#include "spam.h"

static GPtrArray *presets(void)
{
	GPtrArray *rules = g_ptr_array_new_with_free_func(spam_rule_free);

	for (const char *const *p = spam_presets; *p != NULL; p++)
		assert_true(spam_add_preset(rules, *p));
	return rules;
}

/* The verdict for a mail with these header lines on top of a plain one. */
static char *verdict_of(const GPtrArray *rules, const char *headers)
{
	char *raw = g_strconcat(headers, "From: someone@example.com\r\nTo: help@desk.test\r\n"
				"Subject: hello\r\nMessage-ID: <s@example.com>\r\n\r\nbody\r\n",
				NULL);
	struct mail *m = testlib_parse(raw);
	char *why = spam_verdict(m, rules);

	mail_free(&m);
	g_free(raw);
	return why;
}

static void expect_spam(const GPtrArray *rules, const char *headers, const char *want)
{
	char *why = verdict_of(rules, headers);

	if (why == NULL || strcmp(why, want) != 0)
		fail_msg("%s\n  got  %s\n  want %s", headers, why != NULL ? why : "(not spam)", want);
	g_free(why);
}

static void expect_ham(const GPtrArray *rules, const char *headers)
{
	char *why = verdict_of(rules, headers);

	if (why != NULL)
		fail_msg("%s\n  got  %s\n  want not spam", headers, why);
}

static void test_spamassassin(void **state)
{
	GPtrArray *rules = presets();

	(void)state;
	expect_spam(rules, "X-Spam-Flag: YES\r\n", "spam: X-Spam-Flag: YES (spamassassin)");
	expect_spam(rules,
		    "X-Spam-Status: Yes, score=15.2 required=5.0 tests=BAYES_99,\r\n"
		    "\tURIBL_BLACK autolearn=no version=3.4.6\r\n",
		    "spam: X-Spam-Status: Yes, score=15.2 required=5.0 tests=BAYES_99, URIBL_BLACK "
		    "autolearn=no version=3.… (spamassassin)");
	expect_ham(rules, "X-Spam-Flag: NO\r\n");
	expect_ham(rules, "X-Spam-Status: No, score=-0.1 required=5.0\r\n");
	expect_ham(rules, "X-Spam-Level: ***************\r\n");
	g_ptr_array_unref(rules);
}

static void test_rspamd(void **state)
{
	GPtrArray *rules = presets();

	(void)state;
	expect_spam(rules, "X-Spam: Yes\r\n", "spam: X-Spam: Yes (rspamd)");
	expect_spam(rules, "X-Spamd-Result: default: True [16.20 / 15.00];\r\n BAYES_SPAM(5.10)\r\n",
		    "spam: X-Spamd-Result: default: True [16.20 / 15.00]; BAYES_SPAM(5.10) (rspamd)");
	expect_spam(rules, "X-Spam-Action: add header\r\n",
		    "spam: X-Spam-Action: add header (rspamd)");
	expect_spam(rules, "X-Spam-Action: rewrite subject\r\n",
		    "spam: X-Spam-Action: rewrite subject (rspamd)");
	expect_ham(rules, "X-Spamd-Result: default: False [1.20 / 15.00];\r\n");
	expect_ham(rules, "X-Spam-Action: no action\r\n");
	expect_ham(rules, "X-Spam-Action: greylist\r\n");
	g_ptr_array_unref(rules);
}

static void test_microsoft365(void **state)
{
	GPtrArray *rules = presets();

	(void)state;
	expect_spam(rules, "X-MS-Exchange-Organization-SCL: 5\r\n",
		    "spam: X-MS-Exchange-Organization-SCL: 5 (microsoft365)");
	expect_spam(rules, "X-MS-Exchange-Organization-SCL: 9\r\n",
		    "spam: X-MS-Exchange-Organization-SCL: 9 (microsoft365)");
	expect_ham(rules, "X-MS-Exchange-Organization-SCL: 1\r\n");
	expect_ham(rules, "X-MS-Exchange-Organization-SCL: -1\r\n");
	expect_spam(rules,
		    "X-Forefront-Antispam-Report: CIP:192.0.2.1;CTRY:US;LANG:en;SCL:6;SRV:;"
		    "IPV:NLI;SFV:SPM;H:mail.example.com;PTR:mail.example.com;CAT:SPM;SFS:(13230031);"
		    "DIR:INB;\r\n",
		    "spam: X-Forefront-Antispam-Report: CIP:192.0.2.1;CTRY:US;LANG:en;SCL:6;SRV:;"
		    "IPV:NLI;SFV:SPM;H:mail.example.com;PTR:… (microsoft365)");
	expect_spam(rules, "X-Forefront-Antispam-Report: SFV:SKS;DIR:INB\r\n",
		    "spam: X-Forefront-Antispam-Report: SFV:SKS;DIR:INB (microsoft365)");
	expect_ham(rules, "X-Forefront-Antispam-Report: CIP:192.0.2.1;SFV:NSPM;H:x;DIR:INB;\r\n");
	expect_ham(rules, "X-Forefront-Antispam-Report: CIP:192.0.2.1;SFV:SFE;DIR:INB;\r\n");
	g_ptr_array_unref(rules);
}

static void test_custom_and_none(void **state)
{
	GPtrArray *rules = g_ptr_array_new_with_free_func(spam_rule_free);
	char *error = NULL;

	(void)state;
	/* no rule: nothing is spam */
	expect_ham(rules, "X-Spam-Flag: YES\r\n");
	expect_ham(NULL, "X-Spam-Flag: YES\r\n");
	assert_true(spam_add_rule(rules, "X-Barracuda-Spam-Status", "^yes", &error));
	expect_spam(rules, "X-Barracuda-Spam-Status: Yes, SCORE=9.1\r\n",
		    "spam: X-Barracuda-Spam-Status: Yes, SCORE=9.1 (custom)");
	/* only the configured headers: the presets are not on */
	expect_ham(rules, "X-Spam-Flag: YES\r\n");
	assert_false(spam_add_rule(rules, "X-Bad", "(unclosed", &error));
	assert_non_null(error);
	g_free(error);
	error = NULL;
	assert_false(spam_add_rule(rules, "X-Bad: value", "x", &error));
	assert_string_equal(error, "not a header field name");
	g_free(error);
	assert_false(spam_add_preset(rules, "postini"));
	g_ptr_array_unref(rules);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spamassassin),
	    cmocka_unit_test(test_rspamd),
	    cmocka_unit_test(test_microsoft365),
	    cmocka_unit_test(test_custom_and_none),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
