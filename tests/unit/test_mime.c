/* Unit tests of mime.c: raw bytes -> struct mail. Golden inputs live in tests/data/mime/; inputs
 * whose exact line ends or NUL bytes matter (CRLF, bare CR) are built here in C so that no git
 * setting can rewrite them. Two tests are regressions for GMime 3.2.13 defects (#1 adjacent
 * base64 encoded-words, #2 padded base64 chunks): they fail without mime.c's workarounds. */
#include "mime.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const struct mime_limits limits = {26214400, 500, 20};

/* Contents of tests/data/mime/name; caller frees. */
static char *load(const char *name, gsize *len_r)
{
	const char *dir = g_getenv("SPOC_TEST_DATA");
	GError *error = NULL;
	char *path, *buf = NULL;

	if (dir == NULL)
		fail_msg("SPOC_TEST_DATA is not set");
	path = g_build_filename(dir, "mime", name, NULL);
	if (!g_file_get_contents(path, &buf, len_r, &error))
		fail_msg("%s: %s", path, error->message);
	g_free(path);
	return buf;
}

/* Every string of a parsed mail must be valid UTF-8; NUL cannot hide inside a C string. */
static void assert_mail_utf8(const struct mail *m)
{
	const char *const fields[] = {m->message_id, m->subject, m->text, m->to_text, m->cc_text};

	for (size_t i = 0; i < G_N_ELEMENTS(fields); i++) {
		assert_non_null(fields[i]);
		assert_true(g_utf8_validate(fields[i], -1, NULL));
	}
	for (guint i = 0; i < m->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(m->headers, i);

		assert_true(g_utf8_validate(h->name, -1, NULL));
		assert_true(g_utf8_validate(h->value, -1, NULL));
	}
	assert_true(m->from.addr == NULL || g_utf8_validate(m->from.addr, -1, NULL));
	assert_int_equal(strlen(m->sha256), 64);
}

static struct mail *parse_mem(const char *raw, size_t len)
{
	struct errbuf err = {""};
	struct mail *m = NULL;
	int rc = mime_parse(raw, len, &limits, &m, &err);

	if (rc != SPOC_OK)
		fail_msg("rc %d: %s", rc, err.msg);
	assert_non_null(m);
	assert_mail_utf8(m);
	return m;
}

static struct mail *parse_file(const char *name)
{
	gsize len;
	char *raw = load(name, &len);
	struct mail *m = parse_mem(raw, len);

	g_free(raw);
	return m;
}

/* Parses raw expecting SPOC_EPERM; returns the reason (static buffer). */
static const char *parse_fail(const char *raw, size_t len, const struct mime_limits *lim)
{
	static struct errbuf err;
	struct mail *m = NULL;

	err.msg[0] = '\0';
	assert_int_equal(mime_parse(raw, len, lim, &m, &err), SPOC_EPERM);
	assert_null(m);
	assert_true(err.msg[0] != '\0');
	return err.msg;
}

static void test_latin1_qp(void **state)
{
	struct mail *m = parse_file("latin1-qp.eml");
	const struct mail_addr *a;

	(void)state;
	assert_string_equal(m->text, "Buenos días, la impresora de la segunda planta no funciona.\n"
				     "¡Gracias por la ayuda!\n");
	assert_string_equal(m->subject, "La impresora no funciona");
	assert_string_equal(m->from.name, "José Martínez");
	assert_string_equal(m->from.addr, "jose.martinez@example.es");
	assert_string_equal(m->message_id, "latin1-qp-1@example.es");
	assert_false(m->message_id_synthetic);
	assert_int_equal(m->to->len, 2);
	a = g_ptr_array_index(m->to, 1);
	assert_string_equal(a->name, "Ana");
	assert_string_equal(a->addr, "ana@example.com");
	assert_string_equal(m->to_text, "Soporte <soporte@example.com>, Ana <ana@example.com>");
	assert_string_equal(m->cc_text, "jefe@example.com");
	assert_null(m->reply_to.addr);
	assert_non_null(m->date);
	assert_int_equal(g_date_time_to_unix(m->date), 1709626500);
	/* the whole top-level header, Content-* included, in order */
	assert_string_equal(mail_header(m, "content-type"), "text/plain; charset=ISO-8859-1");
	assert_string_equal(mail_header(m, "SUBJECT"), "La impresora no funciona");
	assert_null(mail_header(m, "X-Nope"));
	assert_int_equal(m->headers->len, 9);
	assert_string_equal(((struct mail_header *)g_ptr_array_index(m->headers, 0))->name, "From");
	assert_string_equal(((struct mail_header *)g_ptr_array_index(m->headers, 8))->name,
			    "Content-Transfer-Encoding");
	mail_free(&m);
	assert_null(m);
}

static void test_cp1252_undeclared(void **state)
{
	struct mail *m = parse_file("cp1252-undeclared.eml");

	(void)state;
	assert_string_equal(m->text, "Café “quoted” costs € 5\n");
	mail_free(&m);
}

static void test_utf8_mislabelled(void **state)
{
	struct mail *m = parse_file("utf8-mislabelled.eml");

	(void)state;
	assert_string_equal(m->text, "Niño pequeño\n");
	mail_free(&m);
}

/* No sender is not a parse failure: the mail comes back without an address, and ingest decides
 * (a bounce is recorded, a person's message quarantined). */
static void test_no_from(void **state)
{
	struct mail *m = parse_file("no-from.eml");

	(void)state;
	assert_null(m->from.addr);
	assert_string_equal(m->subject, "Nobody sent this");
	assert_string_equal(m->message_id, "nofrom@example.com");
	assert_string_equal(m->text, "Hello\n");
	mail_free(&m);
}

static void test_sender_fallback(void **state)
{
	struct mail *m = parse_file("sender-only.eml");

	(void)state;
	assert_string_equal(m->from.addr, "owner@example.com");
	assert_string_equal(m->from.name, "Robot Owner");
	mail_free(&m);
}

static void test_from_rescued(void **state)
{
	static const char raw[] = "From: Big Bug bb@bug.example.com\nSubject: s\n\nx\n";
	struct mail *m = parse_mem(raw, strlen(raw));

	(void)state;
	assert_string_equal(m->from.addr, "bb@bug.example.com");
	assert_string_equal(m->from.name, "Big Bug");
	mail_free(&m);
}

static void test_empty_and_headerless(void **state)
{
	struct mail *m = NULL;

	(void)state;
	assert_string_equal(parse_fail("", 0, &limits), "empty message");
	assert_string_equal(parse_fail(" \r\n\n\t", 5, &limits), "empty message");
	assert_string_equal(parse_fail("just some words\nand more\n", 25, &limits),
			    "no header block");
	assert_int_equal(mime_parse(NULL, 0, &limits, &m, NULL), SPOC_EPERM);
	assert_null(m);
}

static void test_limits(void **state)
{
	static const char flat[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\none\n--b\n\ntwo\n--b\n\nthree\n--b--\n";
	static const char deep[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=o\n\n"
	    "--o\nContent-Type: multipart/mixed; boundary=i\n\n"
	    "--i\n\nleaf\n--i--\n--o--\n";
	const struct mime_limits bytes = {10, 0, 0}, parts3 = {0, 3, 0}, parts4 = {0, 4, 0};
	const struct mime_limits depth2 = {0, 0, 2}, depth3 = {0, 0, 3}, none = {0, 0, 0};
	char expect[128];
	struct mail *m = NULL;

	(void)state;
	g_snprintf(expect, sizeof(expect), "message over max_message_bytes (%zu > 10)",
		   strlen(flat));
	assert_string_equal(parse_fail(flat, strlen(flat), &bytes), expect);
	/* the multipart itself and its three leaves are four parts */
	assert_string_equal(parse_fail(flat, strlen(flat), &parts3), "more than 3 MIME parts");
	assert_int_equal(mime_parse(flat, strlen(flat), &parts4, &m, NULL), SPOC_OK);
	assert_string_equal(m->text, "one");
	mail_free(&m);
	assert_string_equal(parse_fail(deep, strlen(deep), &depth2), "MIME nesting deeper than 2");
	assert_int_equal(mime_parse(deep, strlen(deep), &depth3, &m, NULL), SPOC_OK);
	assert_string_equal(m->text, "leaf");
	mail_free(&m);
	assert_int_equal(mime_parse(deep, strlen(deep), &none, &m, NULL), SPOC_OK);
	mail_free(&m);
}

static void test_synthetic_message_id(void **state)
{
	gsize len;
	char *raw = load("no-message-id.eml", &len);
	struct mail *a = parse_mem(raw, len), *b = parse_mem(raw, len), *c;
	char expect[128];

	(void)state;
	assert_true(a->message_id_synthetic);
	g_snprintf(expect, sizeof(expect), "%s@spocd.invalid", a->sha256);
	assert_string_equal(a->message_id, expect);
	assert_string_equal(a->message_id, b->message_id);
	raw[len - 2] = '!'; /* "Hello there!" */
	c = parse_mem(raw, len);
	assert_true(c->message_id_synthetic);
	assert_string_not_equal(a->message_id, c->message_id);
	assert_int_equal(a->raw_len, len);
	mail_free(&a);
	mail_free(&b);
	mail_free(&c);
	g_free(raw);
}

static void test_sha256(void **state)
{
	static const char raw[] = "From: a@example.com\n\nabc\n";
	struct mail *m = parse_mem(raw, strlen(raw));
	char hex[65];

	(void)state;
	spoc_sha256_hex(raw, strlen(raw), hex);
	assert_string_equal(m->sha256, hex);
	mail_free(&m);
}

static void test_html_only(void **state)
{
	struct mail *m = parse_file("html-only.eml");

	(void)state;
	assert_string_equal(m->text, "Hello & welcome,\n\nthe VPN is down <again> today.\n\n"
				     "Café ☃ \"ok\"");
	assert_null(strstr(m->text, "Ignored"));
	assert_null(strstr(m->text, "alert"));
	assert_null(strstr(m->text, "color"));
	mail_free(&m);
}

/* Pathological HTML must stay linear: a megabyte of '&' without ';' and of unclosed <title>
 * once took minutes (each one scanned to the end of the text). */
static void test_html_linear(void **state)
{
	GString *raw = g_string_new("From: a@example.com\nContent-Type: text/html\n\n");
	struct mail *m;

	(void)state;
	for (int i = 0; i < 250000; i++)
		g_string_append(raw, "&amp");
	for (int i = 0; i < 100000; i++)
		g_string_append(raw, "<title>");
	m = parse_mem(raw->str, raw->len);
	assert_int_equal(strlen(m->text), 250000 * 4);
	mail_free(&m);
	g_string_free(raw, TRUE);
}

static void test_mixed_attachment(void **state)
{
	struct mail *m = parse_file("mixed-attachment.eml");

	(void)state;
	assert_string_equal(m->text, "Please find the report attached.");
	mail_free(&m);
}

static void test_malformed_header(void **state)
{
	struct mail *m = parse_file("malformed-header.eml");

	(void)state;
	assert_string_equal(m->from.addr, "x@example.com");
	assert_true(g_str_has_prefix(m->subject, "broken"));
	assert_true(g_str_has_suffix(m->subject, "tail"));
	assert_non_null(strstr(m->subject, "é"));
	assert_non_null(mail_header(m, "X-Weird"));
	mail_free(&m);
}

static void test_reply_ids(void **state)
{
	struct mail *m = parse_file("reply.eml");

	(void)state;
	assert_string_equal(m->in_reply_to, "notif-1@desk.example.com");
	assert_int_equal(m->references->len, 2);
	assert_string_equal(g_ptr_array_index(m->references, 0), "orig-0@example.com");
	assert_string_equal(g_ptr_array_index(m->references, 1), "notif-1@desk.example.com");
	assert_string_equal(m->subject, "Re: [INC-000123] Printer");
	mail_free(&m);

	m = parse_file("latin1-qp.eml");
	assert_null(m->in_reply_to);
	assert_int_equal(m->references->len, 0);
	mail_free(&m);
}

/* Identifiers beyond what a header line may hold are noise: an over-long Message-ID gives way to
 * the synthetic key, over-long references are dropped, and a huge References list keeps its root
 * and the latest MIME_MAX_REFS - 1. */
static void test_id_limits(void **state)
{
	GString *raw = g_string_new("From: a@example.com\r\nMessage-ID: <");
	struct mail *m;

	(void)state;
	for (int i = 0; i < MIME_MAX_ID_LEN; i++)
		g_string_append_c(raw, 'x');
	g_string_append(raw, "@example.com>\r\nReferences: <root@example.com> <");
	for (int i = 0; i < 2000; i++)
		g_string_append_c(raw, 'y');
	g_string_append(raw, "@example.com>");
	for (int i = 1; i <= 300; i++)
		g_string_append_printf(raw, "\r\n <r%d@example.com>", i);
	g_string_append(raw, "\r\nSubject: ids\r\n\r\nbody\r\n");
	m = parse_mem(raw->str, raw->len);
	assert_true(m->message_id_synthetic);
	assert_true(g_str_has_suffix(m->message_id, "@spocd.invalid"));
	assert_int_equal(m->references->len, MIME_MAX_REFS);
	assert_string_equal(g_ptr_array_index(m->references, 0), "root@example.com");
	assert_string_equal(g_ptr_array_index(m->references, 1), "r202@example.com");
	assert_string_equal(g_ptr_array_index(m->references, MIME_MAX_REFS - 1),
			    "r300@example.com");
	mail_free(&m);
	g_string_free(raw, TRUE);
}

/* GMime 3.2.13 defect #1: "=?UTF-8?B?UmU6?= =?UTF-8?B?IFtJTkMtMDAwMTIzXQ==?=" decodes to "Re:". */
static void test_adjacent_encoded_words(void **state)
{
	struct mail *m = parse_file("adjacent-b.eml");

	(void)state;
	assert_string_equal(m->subject, "Re: [INC-000123] Impresora");
	mail_free(&m);
}

/* GMime 3.2.13 defect #2: base64 "SGVsbG8=V29ybGQ=" decodes to "Hello". */
static void test_padded_base64(void **state)
{
	struct mail *m = parse_file("padded-base64.eml");

	(void)state;
	assert_string_equal(m->text, "HelloWorld!");
	mail_free(&m);
}

static void test_line_ends_and_nul(void **state)
{
	static const char crlf[] = "From: e@example.com\r\nSubject: CRLF\r\n\r\n"
				   "line one\0\r\nline two\r\n";
	static const char cr[] = "From: f@example.com\rSubject: Old Mac\r\rfirst\rsecond\r";
	struct mail *m = parse_mem(crlf, sizeof(crlf) - 1);

	(void)state;
	assert_string_equal(m->subject, "CRLF");
	assert_string_equal(m->text, "line one\nline two\n");
	mail_free(&m);
	m = parse_mem(cr, sizeof(cr) - 1);
	assert_string_equal(m->subject, "Old Mac");
	assert_string_equal(m->from.addr, "f@example.com");
	assert_string_equal(m->text, "first\nsecond\n");
	mail_free(&m);
}

static void test_groups_and_missing_lists(void **state)
{
	struct mail *m = parse_file("groups.eml");
	const struct mail_addr *a;

	(void)state;
	assert_int_equal(m->to->len, 1);
	a = g_ptr_array_index(m->to, 0);
	assert_string_equal(a->name, "undisclosed-recipients");
	assert_null(a->addr);
	assert_int_equal(m->cc->len, 3);
	a = g_ptr_array_index(m->cc, 1);
	assert_string_equal(a->name, "Two, Jr.");
	assert_string_equal(a->addr, "two@example.com");
	assert_string_equal(m->cc_text,
			    "one@example.com, Two, Jr. <two@example.com>, three@example.com");
	mail_free(&m);

	m = parse_file("padded-base64.eml");
	assert_int_equal(m->to->len, 0);
	assert_string_equal(m->to_text, "");
	assert_string_equal(m->cc_text, "");
	assert_null(m->date);
	mail_free(&m);
}

static void test_no_subject_no_body(void **state)
{
	static const char raw[] = "From: a@example.com\nContent-Type: image/png\n\niVBORw0K\n";
	struct mail *m = parse_mem(raw, strlen(raw));

	(void)state;
	assert_string_equal(m->subject, "");
	assert_string_equal(m->text, "");
	mail_free(&m);
	mail_free(&m); /* idempotent on NULL */
	mail_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_latin1_qp),
	    cmocka_unit_test(test_cp1252_undeclared),
	    cmocka_unit_test(test_utf8_mislabelled),
	    cmocka_unit_test(test_no_from),
	    cmocka_unit_test(test_sender_fallback),
	    cmocka_unit_test(test_from_rescued),
	    cmocka_unit_test(test_empty_and_headerless),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_synthetic_message_id),
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_html_only),
	    cmocka_unit_test(test_html_linear),
	    cmocka_unit_test(test_mixed_attachment),
	    cmocka_unit_test(test_malformed_header),
	    cmocka_unit_test(test_reply_ids),
	    cmocka_unit_test(test_id_limits),
	    cmocka_unit_test(test_adjacent_encoded_words),
	    cmocka_unit_test(test_padded_base64),
	    cmocka_unit_test(test_line_ends_and_nul),
	    cmocka_unit_test(test_groups_and_missing_lists),
	    cmocka_unit_test(test_no_subject_no_body),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
