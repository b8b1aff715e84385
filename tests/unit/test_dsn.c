/* Unit tests of dsn.c: header blocks as MTAs return them (folded, CR LF, blank lines, garbage),
 * the Message-IDs and addresses in them, status codes, and the recipient groups of an RFC 3464
 * message/delivery-status part. bounce_parse() is tested whole in test_bounce.c. */
#include "dsn.h"

#include "bounce.h"

#include <gmime/gmime.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static gboolean join_fn(const char *name, const char *value, void *ud)
{
	g_string_append_printf(ud, "[%s=%s]", name, value);
	return TRUE;
}

/* The fields of the block at the start of data as "[name=value]...", and where it ended. */
static char *fields(const char *data, size_t *end_r)
{
	GString *out = g_string_new(NULL);
	const char *end = dsn_fields_each(data, data + strlen(data), join_fn, out);

	if (end_r != NULL)
		*end_r = (size_t)(end - data);
	return g_string_free(out, FALSE);
}

static void expect_fields(const char *data, const char *want)
{
	char *got = fields(data, NULL);

	if (strcmp(got, want) != 0)
		fail_msg("fields of \"%s\"\n  got  %s\n  want %s", data, got, want);
	g_free(got);
}

static gboolean stop_fn(const char *name, const char *value, void *ud)
{
	(void)value;
	g_string_append(ud, name);
	return FALSE;
}

static void test_fields(void **state)
{
	size_t end;
	char *got;

	(void)state;
	/* folded with CR LF and with LF, by spaces and by tabs */
	expect_fields("Final-Recipient: rfc822;\r\n a@b.example\r\nAction: failed\r\n",
		      "[Final-Recipient=rfc822; a@b.example][Action=failed]");
	expect_fields(
	    "Diagnostic-Code: smtp; 550 5.1.1\n\tUser unknown\n    in table\nStatus: 5.1.1",
	    "[Diagnostic-Code=smtp; 550 5.1.1\tUser unknown    in table][Status=5.1.1]");
	/* blank lines before the block are skipped; one after it (even of blanks) ends it */
	got = fields("\r\n\n  \r\nA: 1\r\nB:2\r\n \t\r\nC: 3\r\n", &end);
	assert_string_equal(got, "[A=1][B=2]");
	assert_int_equal(end, strlen("\r\n\n  \r\nA: 1\r\nB:2\r\n \t\r\n"));
	g_free(got);
	/* name and value trimmed; a line that is no field is skipped; a field without a name is
	 * none, and a line folded under it is read as a line of its own */
	expect_fields(" Lead : x \nno colon here\nA: y", "[Lead=x][A=y]");
	expect_fields(": nameless\n folded: under it\n more\nB: z", "[folded=under it more][B=z]");
	expect_fields("A:\nB: \n", "[A=][B=]");
	/* a folded line before any field is a field of its own */
	expect_fields("  folded: nothing before\nA: 1", "[folded=nothing before][A=1]");
	/* fn stops the walk */
	{
		static const char two[] = "A: 1\nB: 2\n";
		GString *names = g_string_new(NULL);

		dsn_fields_each(two, two + strlen(two), stop_fn, names);
		assert_string_equal(names->str, "A");
		g_string_free(names, TRUE);
	}
}

/* Far more than DSN_SCAN_MAX: only that much is read, in time linear in it. */
static void test_fields_overlong(void **state)
{
	GString *raw = g_string_new("Final-Recipient: rfc822; a@b.example\nX-Long: ");
	gint64 start;
	size_t end;
	char *got;

	(void)state;
	for (int i = 0; i < 100000; i++)
		g_string_append(raw, "word\n ");
	g_string_append(raw, "\nAfter: never read\n");
	start = g_get_monotonic_time();
	got = fields(raw->str, &end);
	assert_true(g_get_monotonic_time() - start < 5 * G_USEC_PER_SEC);
	assert_int_equal(end, DSN_SCAN_MAX);
	assert_true(g_str_has_prefix(got, "[Final-Recipient=rfc822; a@b.example][X-Long=word"));
	assert_null(strstr(got, "After"));
	g_free(got);
	g_string_free(raw, TRUE);
}

/* fn(in, strlen(in), flag) is want (NULL: refused). */
#define expect(fn, in, flag, want) expect_clean(fn, #fn, in, flag, want)

static void expect_clean(char *(*fn)(const char *, size_t, gboolean), const char *fn_name,
			 const char *in, gboolean flag, const char *want)
{
	char *got = fn(in, strlen(in), flag);

	if (g_strcmp0(got, want) != 0)
		fail_msg("%s(\"%s\", %d)\n  got  %s\n  want %s", fn_name, in, flag,
			 got != NULL ? got : "NULL", want != NULL ? want : "NULL");
	g_free(got);
}

#define expect_id(in, need_at, want) expect(dsn_msgid_clean, in, need_at, want)
#define expect_addr(in, field, want) expect(dsn_addr_clean, in, field, want)

static void test_msgid(void **state)
{
	char *id;
	GString *big;

	(void)state;
	expect_id("<abc.123@mx.example.org>", TRUE, "abc.123@mx.example.org");
	expect_id("  <abc@x.example>  (sent by x)", TRUE, "abc@x.example");
	expect_id("<abc@x.example", TRUE, "abc@x.example"); /* never closed */
	expect_id("abc@x.example", TRUE, "abc@x.example");
	/* prose before the id, as in In-Reply-To of old and in bounce texts */
	expect_id("your message <abc@x.example> of Monday", TRUE, "abc@x.example");
	/* without an '@' only where a header says it is a Message-ID */
	expect_id("<20240101.AAA>", FALSE, "20240101.AAA");
	expect_id("<20240101.AAA>", TRUE, NULL);
	/* nothing, spaces, brackets, controls inside */
	expect_id("", FALSE, NULL);
	expect_id("<>", FALSE, NULL);
	expect_id("< >", FALSE, NULL);
	expect_id("<a b@x.example>", FALSE, NULL);
	expect_id("<a\r\nb@x.example>", FALSE, NULL);
	expect_id("<a\x7f@x.example>", FALSE, NULL);
	expect_id("<<a@x.example>>", FALSE, NULL);
	expect_id("<\xff\xfe@x.example>", FALSE, NULL);
	expect_id("<caf\xc3\xa9@x.example>", TRUE, "caf\xc3\xa9@x.example");
	/* only len bytes are read */
	id = dsn_msgid_clean("<abc@x.example>tail", 15, TRUE);
	assert_string_equal(id, "abc@x.example");
	g_free(id);
	/* at most MIME_MAX_ID_LEN bytes */
	big = g_string_new("<");
	while (big->len < 1 + MIME_MAX_ID_LEN - 10)
		g_string_append_c(big, 'a');
	g_string_append(big, "@x.example>");
	{
		char *want = g_strndup(big->str + 1, big->len - 2);

		assert_int_equal(strlen(want), MIME_MAX_ID_LEN);
		expect_id(big->str, TRUE, want);
		g_string_insert_c(big, 1, 'a');
		expect_id(big->str, TRUE, NULL);
		g_free(want);
	}
	g_string_free(big, TRUE);
}

static void test_addr(void **state)
{
	GString *big;

	(void)state;
	expect_addr("rfc822; <Ana@Example.COM>", TRUE, "ana@example.com");
	expect_addr("rfc822;ana@example.com", TRUE, "ana@example.com");
	expect_addr("RFC822;\tana@example.com\r", TRUE, "ana@example.com");
	expect_addr("rfc822; ana@localhost", TRUE, "ana@localhost"); /* fields may omit the dot */
	expect_addr("ana@localhost", FALSE, NULL);		     /* prose may not */
	/* words of prose lose the punctuation around them */
	expect_addr("ana@example.com.", FALSE, "ana@example.com");
	expect_addr("'ana@example.com'", FALSE, "ana@example.com");
	expect_addr("\"ana@example.com\"", FALSE, "ana@example.com");
	expect_addr("(ana@example.com),", FALSE, "ana@example.com");
	/* a source route goes, a quoted local part stays quoted */
	expect_addr("rfc822; @relay.example:ana@example.com", TRUE, "ana@example.com");
	expect_addr("rfc822; \"odd..name\"@example.net", TRUE, "\"odd..name\"@example.net");
	/* the local parts Japanese carriers gave out, as their bounces name them */
	expect_addr("rfc822; taro..yamada.@docomo.ne.jp", TRUE, "taro..yamada.@docomo.ne.jp");
	expect_addr("taro..yamada.@docomo.ne.jp", FALSE, "taro..yamada.@docomo.ne.jp");
	/* not addresses */
	expect_addr("rfc822; <>", TRUE, NULL);
	expect_addr("rfc822; @@@", TRUE, NULL);
	expect_addr("rfc822; a@", TRUE, NULL);
	expect_addr("rfc822; a@b@c.example", TRUE, NULL);
	expect_addr("rfc822; a@[192.0.2.1]", TRUE, NULL);
	expect_addr("rfc822; a@.example.com", TRUE, NULL);
	expect_addr("rfc822; a@-example.com", TRUE, NULL);
	expect_addr("rfc822; a@exa_mple.com", TRUE, NULL);
	expect_addr("rfc822; a b@example.com", TRUE, NULL);
	expect_addr("rfc822; a,b@example.com", TRUE, NULL);
	expect_addr("rfc822; a\\b@example.com", TRUE, NULL);
	/* CR LF and quotes inside a quoted local part: never an envelope address */
	expect_addr("rfc822; \"a\r\nRCPT TO:<x@evil.example>\"@example.com", TRUE, NULL);
	expect_addr("rfc822; \"a\\\"b\"@example.com", TRUE, NULL);
	expect_addr("rfc822; \"a b\"@example.com", TRUE, NULL);
	/* at most DSN_ADDR_MAX bytes */
	big = g_string_new("rfc822; ");
	while (big->len < 8 + DSN_ADDR_MAX - 12)
		g_string_append_c(big, 'a');
	g_string_append(big, "@example.com");
	{
		char *want = g_strdup(big->str + 8);

		assert_int_equal(strlen(want), DSN_ADDR_MAX);
		expect_addr(big->str, TRUE, want);
		g_string_insert_c(big, 8, 'a');
		expect_addr(big->str, TRUE, NULL);
		g_free(want);
	}
	g_string_free(big, TRUE);
}

/* dsn_message_id() reads a returned header's Message-ID as mime_parse() read it when that
 * message came in (both through GMime's msg-id reader), so the two meet in the store. */
static void test_message_id_as_mime(void **state)
{
	static const struct {
		const char *value, *want;
	} cases[] = {
	    {"<abc.123@mx.example.org>", "abc.123@mx.example.org"},
	    /* a comment with an id in it before the real one */
	    {"(was <old@x.example>) <new@x.example>", "new@x.example"},
	    {"<(comment)abc@x.example> (trailing)", "abc@x.example"},
	    /* RFC 5322's obsolete form: white space and comments inside */
	    {"<1234   @   local(blah)  .machine .example>", "1234@local.machine.example"},
	    /* folded inside the brackets, with CR LF */
	    {"<abc.def\r\n @x.example>", "abc.def@x.example"},
	    {"\r\n\t<abc@x.example>", "abc@x.example"},
	    /* GMime stops at a second '@' here and there alike */
	    {"<a@b@c.example>", "a@b"},
	    {"<no-at-sign>", "no-at-sign"},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *block =
		    g_strdup_printf("Message-ID: %s\r\nTo: a@b.example\r\n\r\n", cases[i].value);
		char *raw = g_strconcat(block, "body\r\n", NULL);
		char *got = dsn_message_id(block, strlen(block));
		struct errbuf err = {""};
		struct mail *m = NULL;

		assert_int_equal(mime_parse(raw, strlen(raw), NULL, &m, &err), SPOC_OK);
		if (g_strcmp0(got, cases[i].want) != 0 || strcmp(m->message_id, cases[i].want) != 0)
			fail_msg("Message-ID: %s\n  dsn  %s\n  mime %s\n  want %s", cases[i].value,
				 got != NULL ? got : "NULL", m->message_id, cases[i].want);
		mail_free(&m);
		g_free(got);
		g_free(raw);
		g_free(block);
	}
	/* no Message-ID, or none that is one */
	assert_null(dsn_message_id("To: a@b.example\n\nMessage-ID: <late@x.example>\n", 48));
	assert_null(dsn_message_id("Message-ID: <a b>\n", 19));
	assert_null(dsn_message_id(NULL, 0));
}

/* Hostile Message-IDs: overlong, comments nested without end; refused, in bounded time. */
static void test_msgid_hostile(void **state)
{
	static const struct {
		const char *head, *unit, *tail, *want;
	} cases[] = {
	    {"<", "a.", "a@x.example>", NULL}, /* far over MIME_MAX_ID_LEN */
	    /* a comment that never closes: the id is read from the '<' */
	    {"", "(", "<a@x.example>", "a@x.example"},
	    /* nor does one whose every ')' is escaped: no id */
	    {"<", "(\\)", "a@x.example>", NULL},
	    /* comments that close are skipped, however many */
	    {"<", "(x) ", "a@x.example>", "a@x.example"},
	};
	gint64 start = g_get_monotonic_time();

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GString *s = g_string_new(cases[i].head);

		for (int k = 0; k < 200000; k++)
			g_string_append(s, cases[i].unit);
		g_string_append(s, cases[i].tail);
		expect_id(s->str, TRUE, cases[i].want);
		g_string_free(s, TRUE);
	}
	assert_true(g_get_monotonic_time() - start < 5 * G_USEC_PER_SEC);
}

/* Why dsn_addr_clean() reads addresses itself: GMime 3.2.13's parser refuses the Japanese
 * carriers' local parts and cuts at a second '@'. When this fails, GMime has learned to read them
 * and dsn_addr_clean() can become a call to it. */
static void test_gmime_address_defects(void **state)
{
	InternetAddressList *list;
	InternetAddress *ia;

	(void)state;
	assert_null(internet_address_list_parse(NULL, "<taro..yamada.@docomo.ne.jp>"));
	assert_null(internet_address_list_parse(NULL, "taro..yamada.@docomo.ne.jp"));
	list = internet_address_list_parse(NULL, "<a@b@c.example>");
	assert_non_null(list);
	ia = internet_address_list_get_address(list, 0);
	assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(ia)), "a@b");
	g_object_unref(list);
}

static void expect_status(const char *in, const char *want)
{
	char *got = dsn_status_find(in);

	if (g_strcmp0(got, want) != 0)
		fail_msg("dsn_status_find(\"%s\")\n  got  %s\n  want %s", in ? in : "NULL",
			 got ? got : "NULL", want ? want : "NULL");
	g_free(got);
}

static void test_status(void **state)
{
	(void)state;
	expect_status("5.1.1", "5.1.1");
	expect_status("smtp; 550 5.7.1 <a@b>: denied (4.4.7 later)", "5.7.1");
	expect_status("2.0.0 (success)", "2.0.0");
	expect_status("host 200.4.79.181 said", NULL);
	expect_status("9.9.9.9", NULL);
	expect_status("5.1.1234", NULL);
	expect_status(NULL, NULL);
}

/* Two parts: a failed, a delivered, a delayed recipient; the first failed one's words win. */
static void test_read(void **state)
{
	struct dsn_groups g = {0};

	(void)state;
	dsn_read("Reporting-MTA: dns; mx.example.org\n"
		 "X-Original-Message-ID: <spocd.7@desk.example>\n"
		 "\n"
		 "Final-Recipient: rfc822; slow@example.com\n"
		 "Action: delayed\n"
		 "Status: 4.4.7\n"
		 "Diagnostic-Code: smtp; 451 try later\n"
		 "\n"
		 "Final-Recipient: rfc822; ok@example.com\n"
		 "Action: delivered\n"
		 "Status: 2.0.0\n",
		 &g);
	dsn_read("Original-Recipient: rfc822; Gone@Example.com\n"
		 "Action: failed\n"
		 "Status: 5.1.1 (user unknown)\n"
		 "Diagnostic-Code: smtp; 550 5.1.1\n"
		 "  <gone@example.com>: no such user\n"
		 "\n"
		 "Final-Recipient: rfc822; slow@example.com\n"
		 "Action: failed\n",
		 &g);
	assert_true(g.any_group);
	assert_true(g.any_failed);
	assert_int_equal(g.recipients->len, 2);
	assert_string_equal(g_ptr_array_index(g.recipients, 0), "slow@example.com");
	assert_string_equal(g_ptr_array_index(g.recipients, 1), "gone@example.com");
	assert_string_equal(g.status_any, "4.4.7");
	assert_string_equal(g.status_fail, "5.1.1");
	assert_string_equal(g.diagnostic, "550 5.1.1 <gone@example.com>: no such user");
	assert_true(g.diagnostic_failed);
	assert_string_equal(g.message_id, "spocd.7@desk.example");
	dsn_groups_clear(&g);
	assert_null(g.recipients);

	/* no groups at all */
	dsn_read("Reporting-MTA: dns; mx.example.org\n", &g);
	assert_false(g.any_group);
	assert_null(g.recipients);
	dsn_groups_clear(&g);
}

/* A mailing-list explosion: at most DSN_MAX_RECIPIENTS, no repeats. */
static void test_read_many(void **state)
{
	GString *text = g_string_new(NULL);
	struct dsn_groups g = {0};

	(void)state;
	for (int i = 0; i < 5000; i++)
		g_string_append_printf(text, "Final-Recipient: rfc822; u%d@example.com\n\n",
				       i % 150);
	dsn_read(text->str, &g);
	assert_int_equal(g.recipients->len, DSN_MAX_RECIPIENTS);
	assert_string_equal(g_ptr_array_index(g.recipients, 99), "u99@example.com");
	dsn_groups_clear(&g);
	g_string_free(text, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fields),	  cmocka_unit_test(test_fields_overlong),
	    cmocka_unit_test(test_msgid),	  cmocka_unit_test(test_addr),
	    cmocka_unit_test(test_status),	  cmocka_unit_test(test_read),
	    cmocka_unit_test(test_read_many),	  cmocka_unit_test(test_message_id_as_mime),
	    cmocka_unit_test(test_msgid_hostile), cmocka_unit_test(test_gmime_address_defects),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
