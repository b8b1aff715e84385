/* Unit tests of log.c: the exact journal fields of an event (all set, none set), values made one
 * bounded line (control characters, invalid UTF-8, over-long values), the JOURNAL_STREAM check
 * against a real descriptor, and what stderr receives: exactly "<N>text\n", nothing below the
 * configured level, never more than LOG_LINE_MAX bytes. */
#include "../../src/base/log_priv.h"

#include "testlib.h"

#include <fcntl.h>
#include <glib/gstdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* Checks that fields holds exactly the NULL-terminated want, in order. */
static void assert_fields(GPtrArray *fields, const char *const *want)
{
	guint n = 0;

	while (want[n] != NULL) {
		assert_true(n < fields->len);
		assert_string_equal(fields->pdata[n], want[n]);
		n++;
	}
	assert_int_equal(fields->len, n);
}

/* Every byte of s is printable ASCII or part of a valid UTF-8 sequence, with no control
 * character: the journal's native protocol and a terminal both get one plain line. */
static void assert_one_safe_line(const char *s)
{
	assert_true(g_utf8_validate(s, -1, NULL));
	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p))
		assert_false(g_unichar_iscntrl(g_utf8_get_char(p)));
}

static void test_event_ids_are_distinct_id128s(void **state)
{
	static const char *const ids[] = {
	    LOG_EV_STARTED,	   LOG_EV_STOPPING,	 LOG_EV_RELOADED,
	    LOG_EV_RELOAD_FAILED,  LOG_EV_MAIL_TAKEN,	 LOG_EV_MAIL_QUARANTINE,
	    LOG_EV_MAILBOX_FAILED, LOG_EV_MAILBOX_OK,	 LOG_EV_OUTBOX_SENT,
	    LOG_EV_OUTBOX_RETRY,   LOG_EV_OUTBOX_FAILED, LOG_EV_DATABASE_FAILED,
	    LOG_EV_SLA_QUEUED,
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
		/* sd-id128(3): journalctl MESSAGE_ID= matches 32 lowercase hexadecimal digits */
		assert_int_equal(strlen(ids[i]), 32);
		assert_int_equal(strspn(ids[i], "0123456789abcdef"), 32);
		for (size_t j = 0; j < i; j++)
			assert_string_not_equal(ids[i], ids[j]);
	}
}

static void test_fields_all_set(void **state)
{
	const struct log_fields f = {.mailbox = "INBOX",
				     .uid = 4294967295u,
				     .message_id = "<CAF=x1@mail.example.com>",
				     .ticket = "INC-000123",
				     .outbox_id = INT64_C(9007199254740993)};
	static const char *const want[] = {
	    "MESSAGE=mailbox INBOX uid 4294967295 <CAF=x1@mail.example.com>: ticket INC-000123",
	    "PRIORITY=6",
	    "SYSLOG_IDENTIFIER=spocd",
	    "MESSAGE_ID=" LOG_EV_MAIL_TAKEN,
	    "MAILBOX=INBOX",
	    "UID=4294967295",
	    "MAIL_MESSAGE_ID=<CAF=x1@mail.example.com>",
	    "TICKET=INC-000123",
	    "OUTBOX_ID=9007199254740993",
	    NULL,
	};
	GPtrArray *fields = log_build_fields(
	    LOG_INFO, "spocd", LOG_EV_MAIL_TAKEN, &f,
	    "mailbox INBOX uid 4294967295 <CAF=x1@mail.example.com>: ticket INC-000123");

	(void)state;
	assert_fields(fields, want);
	g_ptr_array_unref(fields);
}

static void test_fields_none_set(void **state)
{
	const struct log_fields unset = {.mailbox = NULL, .message_id = "", .ticket = NULL};
	static const char *const want[] = {"MESSAGE=spocd: stopping on request", "PRIORITY=5",
					   "SYSLOG_IDENTIFIER=spocd", NULL};
	static const char *const want_event[] = {"MESSAGE=spocd: stopping on request", "PRIORITY=5",
						 "SYSLOG_IDENTIFIER=spocd",
						 "MESSAGE_ID=" LOG_EV_STOPPING, NULL};
	GPtrArray *fields;

	(void)state;
	fields = log_build_fields(LOG_NOTICE, "spocd", NULL, NULL, "spocd: stopping on request");
	assert_fields(fields, want);
	g_ptr_array_unref(fields);
	fields = log_build_fields(LOG_NOTICE, "spocd", NULL, &unset, "spocd: stopping on request");
	assert_fields(fields, want);
	g_ptr_array_unref(fields);
	fields = log_build_fields(LOG_NOTICE, "spocd", LOG_EV_STOPPING, &unset,
				  "spocd: stopping on request");
	assert_fields(fields, want_event);
	g_ptr_array_unref(fields);

	/* out-of-range priorities are clamped, an empty text is still a MESSAGE */
	fields = log_build_fields(99, "spocd", NULL, NULL, "");
	assert_string_equal(fields->pdata[0], "MESSAGE=");
	assert_string_equal(fields->pdata[1], "PRIORITY=7");
	g_ptr_array_unref(fields);
	fields = log_build_fields(-3, "spocd", NULL, NULL, "x");
	assert_string_equal(fields->pdata[1], "PRIORITY=0");
	g_ptr_array_unref(fields);
}

static void test_clean_control_characters(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"plain", "plain"},
	    {"a\r\nb\n\nc\rd", "a b c d"},
	    {"tab\there", "tab here"},
	    {"esc \x1b[31mred\x1b[0m", "esc ?[31mred?[0m"},
	    {"nul-free \x01\x07\x08\x7f end", "nul-free ???? end"},
	    {"c1 \xc2\x9b"
	     "2J csi",
	     "c1 ?2J csi"},
	    {"line\xe2\x80\xa8sep\xe2\x80\xa9par", "line?sep?par"},
	    {"bad \xff\xfe utf8", "bad \xef\xbf\xbd\xef\xbf\xbd utf8"},
	    {"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7",
	     "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x93\xa7"},
	    {"trailing newline\n", "trailing newline"},
	    {"\n", ""},
	    {"", ""},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *got = log_clean(cases[i].in, LOG_VALUE_MAX);

		assert_string_equal(got, cases[i].want);
		assert_one_safe_line(got);
		g_free(got);
	}
	{
		char *got = log_clean(NULL, LOG_VALUE_MAX);

		assert_string_equal(got, "");
		g_free(got);
	}
}

static void test_fields_cleaned(void **state)
{
	/* A Message-ID that tries to add a line of its own to the native protocol. */
	const struct log_fields f = {.mailbox = "INBOX\n",
				     .uid = 7,
				     .message_id = "<a@b>\nPRIORITY=0\nMESSAGE_ID=forged",
				     .ticket = "\r\n"};
	static const char *const want[] = {
	    "MESSAGE=line one line two ?[2J",
	    "PRIORITY=4",
	    "SYSLOG_IDENTIFIER=spocd",
	    "MESSAGE_ID=" LOG_EV_MAIL_QUARANTINE,
	    "MAILBOX=INBOX",
	    "UID=7",
	    "MAIL_MESSAGE_ID=<a@b> PRIORITY=0 MESSAGE_ID=forged",
	    NULL,
	};
	GPtrArray *fields = log_build_fields(LOG_WARNING, "spocd", LOG_EV_MAIL_QUARANTINE, &f,
					     "line one\nline two\n\x1b[2J");

	(void)state;
	assert_fields(fields, want);
	for (guint i = 0; i < fields->len; i++)
		assert_null(strchr(fields->pdata[i], '\n'));
	g_ptr_array_unref(fields);
}

static void test_long_values_cut(void **state)
{
	GString *ascii = g_string_new(NULL);
	GString *wide = g_string_new(NULL);
	struct log_fields long_f = {.uid = 0, .outbox_id = 0};
	GPtrArray *fields;
	char *got;

	(void)state;
	for (int i = 0; i < 5000; i++)
		g_string_append_c(ascii, (char)('a' + i % 26));
	for (int i = 0; i < 2000; i++)
		g_string_append(wide, "\xe2\x82\xac"); /* U+20AC, 3 bytes */

	got = log_clean(ascii->str, LOG_VALUE_MAX);
	assert_int_equal(strlen(got), LOG_VALUE_MAX);
	assert_memory_equal(got, ascii->str, LOG_VALUE_MAX - 3);
	assert_string_equal(got + LOG_VALUE_MAX - 3, "...");
	g_free(got);

	/* cut at a character boundary: 331 euro signs (993 bytes) fit before "..." */
	got = log_clean(wide->str, LOG_VALUE_MAX);
	assert_int_equal(strlen(got), 331 * 3 + 3);
	assert_true(g_str_has_suffix(got, "\xe2\x82\xac..."));
	assert_one_safe_line(got);
	g_free(got);

	/* exactly the bound: kept whole */
	g_string_truncate(ascii, LOG_VALUE_MAX);
	got = log_clean(ascii->str, LOG_VALUE_MAX);
	assert_string_equal(got, ascii->str);
	g_free(got);
	g_string_append_c(ascii, 'x');

	long_f.mailbox = ascii->str;
	long_f.message_id = wide->str;
	long_f.ticket = ascii->str;
	fields = log_build_fields(LOG_INFO, "spocd", LOG_EV_MAIL_TAKEN, &long_f, wide->str);
	assert_int_equal(fields->len, 7);
	for (guint i = 0; i < fields->len; i++) {
		const char *eq = strchr(fields->pdata[i], '=');

		assert_non_null(eq);
		assert_true(strlen(eq + 1) <= (i == 0 ? LOG_TEXT_MAX : LOG_VALUE_MAX));
		assert_one_safe_line(fields->pdata[i]);
	}
	assert_true(g_str_has_prefix(fields->pdata[0], "MESSAGE="));
	assert_int_equal(strlen(fields->pdata[0]), strlen("MESSAGE=") + 680 * 3 + 3);
	assert_int_equal(strlen(fields->pdata[4]), strlen("MAILBOX=") + LOG_VALUE_MAX);
	g_ptr_array_unref(fields);
	g_string_free(ascii, TRUE);
	g_string_free(wide, TRUE);
}

static void test_stream_is_journal(void **state)
{
	char *path = NULL;
	int fd = g_file_open_tmp("spoc-log-XXXXXX", &path, NULL);
	int other = open("/dev/null", O_WRONLY);
	struct stat st;
	char *js, *wrong_ino, *wrong_dev;

	(void)state;
	assert_true(fd >= 0);
	assert_true(other >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	js = g_strdup_printf("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, (guint64)st.st_dev,
			     (guint64)st.st_ino);
	wrong_ino = g_strdup_printf("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT, (guint64)st.st_dev,
				    (guint64)st.st_ino + 1);
	wrong_dev = g_strdup_printf("%" G_GUINT64_FORMAT ":%" G_GUINT64_FORMAT,
				    (guint64)st.st_dev + 1, (guint64)st.st_ino);

	assert_true(log_stream_is_journal(js, fd));
	assert_false(log_stream_is_journal(js, other));
	assert_false(log_stream_is_journal(wrong_ino, fd));
	assert_false(log_stream_is_journal(wrong_dev, fd));
	assert_false(log_stream_is_journal(NULL, fd));
	assert_false(log_stream_is_journal("", fd));
	assert_false(log_stream_is_journal("1", fd));
	assert_false(log_stream_is_journal(":", fd));
	assert_false(log_stream_is_journal("set", fd));
	assert_false(log_stream_is_journal("x:y", fd));
	{
		char *spaced = g_strconcat(" ", js, NULL);
		char *extra = g_strconcat(js, ":1", NULL);
		char *negative = g_strconcat("-", js, NULL);

		assert_false(log_stream_is_journal(spaced, fd));
		assert_false(log_stream_is_journal(extra, fd));
		assert_false(log_stream_is_journal(negative, fd));
		g_free(spaced);
		g_free(extra);
		g_free(negative);
	}
	close(fd);
	assert_false(log_stream_is_journal(js, fd)); /* closed: fstat fails */
	close(other);
	g_unlink(path);
	g_free(path);
	g_free(js);
	g_free(wrong_ino);
	g_free(wrong_dev);
}

/* stderr redirected to a temporary file between capture_begin() and capture_end(). */
struct capture {
	int saved;
	int fd;
	char *path;
};

static void capture_begin(struct capture *c)
{
	c->fd = g_file_open_tmp("spoc-log-stderr-XXXXXX", &c->path, NULL);
	assert_true(c->fd >= 0);
	c->saved = dup(STDERR_FILENO);
	assert_true(c->saved >= 0);
	assert_true(dup2(c->fd, STDERR_FILENO) == STDERR_FILENO);
}

/* What was written to stderr since capture_begin(); caller g_free()s. */
static char *capture_end(struct capture *c)
{
	char *got = NULL;
	gsize len = 0;

	dup2(c->saved, STDERR_FILENO);
	close(c->saved);
	close(c->fd);
	assert_true(g_file_get_contents(c->path, &got, &len, NULL));
	assert_int_equal(strlen(got), len);
	g_unlink(c->path);
	g_free(c->path);
	return got;
}

/* stderr mode as spocd starts outside systemd: no JOURNAL_STREAM, or one naming another file
 * (a shell redirect in a unit: stderr is no longer the journal although the variable is set). */
static int setup_stderr_mode(void **state)
{
	(void)state;
	g_setenv("JOURNAL_STREAM", "1:1", TRUE);
	log_init("spocd");
	g_unsetenv("JOURNAL_STREAM");
	log_set_level(LOG_INFO);
	return 0;
}

static void test_stderr_exact_lines(void **state)
{
	const struct log_fields f = {.mailbox = "INBOX",
				     .uid = 7,
				     .message_id = "a@b",
				     .ticket = "INC-000001",
				     .outbox_id = 3};
	struct capture c;
	char *got;

	(void)state;
	capture_begin(&c);
	log_event(LOG_INFO, LOG_EV_MAIL_TAKEN, &f, "mailbox %s uid %u <%s>: ticket %s", f.mailbox,
		  f.uid, f.message_id, f.ticket);
	log_msg(LOG_ERR, "database: %s", "connection refused\nis the server running?\n");
	log_event(LOG_NOTICE, NULL, NULL, "evil \x1b]0;title\x07 %s", "\r\nforged line");
	got = capture_end(&c);
	assert_string_equal(got, "<6>mailbox INBOX uid 7 <a@b>: ticket INC-000001\n"
				 "<3>database: connection refused is the server running?\n"
				 "<5>evil ?]0;title?  forged line\n");
	g_free(got);
}

static void test_stderr_threshold(void **state)
{
	struct capture c;
	char *got;

	(void)state;
	capture_begin(&c);
	log_msg(LOG_DEBUG, "debug hidden at the default level");
	log_msg(LOG_INFO, "info shown");
	log_set_level(LOG_WARNING);
	log_msg(LOG_INFO, "info hidden");
	log_event(LOG_NOTICE, LOG_EV_OUTBOX_SENT, NULL, "notice hidden");
	log_event(LOG_WARNING, LOG_EV_OUTBOX_RETRY, NULL, "warning shown");
	log_msg(LOG_CRIT, "crit shown");
	log_set_level(LOG_DEBUG);
	log_msg(LOG_DEBUG, "debug shown");
	log_set_level(LOG_INFO);
	got = capture_end(&c);
	assert_string_equal(got, "<6>info shown\n"
				 "<4>warning shown\n"
				 "<2>crit shown\n"
				 "<7>debug shown\n");
	g_free(got);
}

static void test_stderr_line_bounded(void **state)
{
	char *big = g_strnfill(10000, 'm');
	struct capture c;
	char *got, *want;

	(void)state;
	capture_begin(&c);
	log_msg(LOG_INFO, "%s", big);
	got = capture_end(&c);
	assert_int_equal(strlen(got), LOG_LINE_MAX);
	big[LOG_TEXT_MAX - 3] = '\0';
	want = g_strconcat("<6>", big, "...\n", NULL);
	assert_string_equal(got, want);
	g_free(want);
	g_free(got);
	g_free(big);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_event_ids_are_distinct_id128s),
	    cmocka_unit_test(test_fields_all_set),
	    cmocka_unit_test(test_fields_none_set),
	    cmocka_unit_test(test_clean_control_characters),
	    cmocka_unit_test(test_fields_cleaned),
	    cmocka_unit_test(test_long_values_cut),
	    cmocka_unit_test(test_stream_is_journal),
	    cmocka_unit_test_setup(test_stderr_exact_lines, setup_stderr_mode),
	    cmocka_unit_test_setup(test_stderr_threshold, setup_stderr_mode),
	    cmocka_unit_test_setup(test_stderr_line_bounded, setup_stderr_mode),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
