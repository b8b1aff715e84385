/* Unit tests of mime.c: raw bytes -> struct mail. Golden inputs live in tests/data/mime/; inputs
 * whose exact line ends or NUL bytes matter (CRLF, bare CR) are built here in C so that no git
 * setting can rewrite them. Regressions for the GMime 3.2.13 defects of shared/LIBRARY-DEFECTS.md
 * that touch incoming mail, each failing without mime.c's workaround: #1 adjacent base64
 * encoded-words (test_adjacent_encoded_words), #2 padded base64 chunks in bodies and attachments
 * (test_padded_base64), #4 undeclared 8-bit charsets (test_cp1252_undeclared,
 * test_fallback_charsets), #6 nesting down to GMime's own limit (test_deep_nesting). */
#include "mime.h"

#include "testlib.h"

/* Contents of tests/data/mime/name; caller frees. */
static char *load(const char *name, gsize *len_r)
{
	char *rel = g_build_filename("mime", name, NULL);
	char *buf = testlib_read_data(rel, len_r);

	g_free(rel);
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
	struct mail *m = testlib_parse_len(raw, len);

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
				     "¡Gracias por la ayuda!");
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
	assert_string_equal(m->text, "Café “quoted” costs € 5");
	mail_free(&m);
}

static void test_utf8_mislabelled(void **state)
{
	struct mail *m = parse_file("utf8-mislabelled.eml");

	(void)state;
	assert_string_equal(m->text, "Niño pequeño");
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
	assert_string_equal(m->text, "Hello");
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
	assert_string_equal(parse_fail("", 0, testlib_limits()), "empty message");
	assert_string_equal(parse_fail(" \r\n\n\t", 5, testlib_limits()), "empty message");
	assert_string_equal(parse_fail("just some words\nand more\n", 25, testlib_limits()),
			    "no header block");
	assert_int_equal(mime_parse(NULL, 0, testlib_limits(), &m, NULL), SPOC_EPERM);
	assert_null(m);
}

/* The attachment called name, or a failure. */
static const struct mail_attachment *att(const struct mail *m, const char *name)
{
	for (guint i = 0; i < m->attachments->len; i++) {
		const struct mail_attachment *a = g_ptr_array_index(m->attachments, i);

		if (strcmp(a->name, name) == 0)
			return a;
	}
	fail_msg("no attachment \"%s\" among %u", name, m->attachments->len);
	return NULL;
}

static const char *hit(const struct mail *m, guint i)
{
	assert_true(i < m->limits_hit->len);
	return ((const struct mail_limit_hit *)g_ptr_array_index(m->limits_hit, i))->limit;
}

/* Size, header, part and depth limits refuse the message (the last three before GMime reads it,
 * prescan.c); the attachment limit keeps it and lists what was left out (test_attachment_limit). */
static void test_limits(void **state)
{
	static const char flat[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
	    "--b\n\none\n--b\n\ntwo\n--b\n\nthree\n--b--\n";
	static const char deep[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=o\n\n"
	    "--o\nContent-Type: multipart/mixed; boundary=i\n\n"
	    "--i\n\nleaf\n--i--\n--o--\n";
	const struct mime_limits bytes = {.max_message_bytes = 10}, parts3 = {.max_parts = 3},
				 parts4 = {.max_parts = 4}, header = {.max_header_bytes = 40};
	const struct mime_limits depth2 = {.max_depth = 2}, depth3 = {.max_depth = 3},
				 none = {.max_parts = 0};
	char expect[128];
	struct mail *m = NULL;

	(void)state;
	g_snprintf(expect, sizeof(expect), "message over max_message_bytes (%zu > 10)",
		   strlen(flat));
	assert_string_equal(parse_fail(flat, strlen(flat), &bytes), expect);
	assert_string_equal(parse_fail(flat, strlen(flat), &header),
			    "header over max_header_bytes (62 > 40)");
	/* the multipart itself and its three leaves are four parts; nameless inline text parts
	 * after the body are part of what the person wrote */
	assert_string_equal(parse_fail(flat, strlen(flat), &parts3),
			    "message over max_parts (more than 3 MIME parts, counted before "
			    "parsing)");
	assert_int_equal(mime_parse(flat, strlen(flat), &parts4, &m, NULL), SPOC_OK);
	assert_string_equal(m->text, "one\n\ntwo\n\nthree");
	assert_int_equal(m->limits_hit->len, 0);
	mail_free(&m);
	assert_string_equal(parse_fail(deep, strlen(deep), &depth2),
			    "message over max_depth (MIME parts nested more than 2 deep, counted "
			    "before parsing)");
	assert_int_equal(mime_parse(deep, strlen(deep), &depth3, &m, NULL), SPOC_OK);
	assert_string_equal(m->text, "leaf");
	assert_int_equal(m->limits_hit->len, 0);
	mail_free(&m);
	assert_int_equal(mime_parse(deep, strlen(deep), &none, &m, NULL), SPOC_OK);
	mail_free(&m);
}

/* GMime 3.2.13 follows nesting down to 1024 levels (defect #6): spocd's own max_depth refuses
 * far earlier, before GMime reads any of it, and 3000 levels neither crash nor hang. */
static void test_deep_nesting(void **state)
{
	GString *raw = g_string_new("From: a@example.com\n");

	(void)state;
	for (int i = 0; i < 3000; i++)
		g_string_append_printf(
		    raw, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n", i, i);
	g_string_append(raw, "Content-Type: text/plain\n\ndeep down\n");
	assert_string_equal(parse_fail(raw->str, raw->len, testlib_limits()),
			    "message over max_depth (MIME parts nested more than 20 deep, counted "
			    "before parsing)");
	g_string_free(raw, TRUE);
}

static void test_attachments(void **state)
{
	static const char raw[] =
	    "From: a@example.com\nSubject: files\nMIME-Version: 1.0\n"
	    "Content-Type: multipart/mixed; boundary=XX\n\n"
	    "--XX\nContent-Type: text/plain; charset=utf-8\n\nSee attached.\n"
	    "--XX\nContent-Type: application/pdf\nContent-Transfer-Encoding: base64\n"
	    "Content-Disposition: attachment; filename*=utf-8''Informe%20t%C3%A9cnico.pdf\n\n"
	    "SGVsbG8=\n"
	    "--XX\nContent-Type: text/plain; name=\"../../etc/passwd\"\n"
	    "Content-Disposition: attachment; filename=\"../../etc/passwd\"\n\nroot\n"
	    "--XX\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment; filename=\"invoice\xe2\x80\xaegpj.exe\"\n\nMZ\n"
	    "--XX\nContent-Type: image/png\nContent-ID: <logo@x>\nContent-Transfer-Encoding: "
	    "base64\n\niVBORw0KGgo=\n"
	    "--XX\nContent-Type: application/octet-stream\n"
	    "Content-Disposition: attachment\n\n\x01\x02\n"
	    "--XX\nContent-Type: application/pdf; name=\"=?ISO-8859-1?Q?n=F3mina.pdf?=\"\n"
	    "Content-Disposition: attachment\nContent-Transfer-Encoding: base64\n\nSGVsbG8=\n"
	    "--XX--\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);
	const struct mail_attachment *a;

	(void)state;
	assert_string_equal(m->text, "See attached.");
	assert_int_equal(m->attachments->len, 6);
	a = att(m, "Informe técnico.pdf");
	assert_int_equal(g_bytes_get_size(a->data), 5);
	assert_string_equal(a->content_type, "application/pdf");
	assert_string_equal(a->disposition, "attachment");
	assert_string_equal(a->origin, "mime");
	/* sha256("Hello") */
	assert_string_equal(a->sha256,
			    "185f8db32271fe25f561a6fc938b2e264306ec304eda518007d1764826381969");
	assert_int_equal(g_bytes_get_size(att(m, "passwd")->data), 4);
	/* the right-to-left override that makes "exe" read as "jpg" is gone */
	assert_string_equal(att(m, "invoicegpj.exe")->content_type, "application/octet-stream");
	a = att(m, "attachment-4.png");
	assert_string_equal(a->disposition, "inline");
	assert_string_equal(a->content_id, "logo@x");
	assert_int_equal(g_bytes_get_size(a->data), 8);
	assert_int_equal(g_bytes_get_size(att(m, "attachment-5.bin")->data), 2);
	assert_int_equal(g_bytes_get_size(att(m, "nómina.pdf")->data), 5);
	assert_int_equal(m->limits_hit->len, 0);
	mail_free(&m);
}

static void test_attachment_limit(void **state)
{
	static const char raw[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=XX\n\n"
	    "--XX\n\nbody\n"
	    "--XX\nContent-Type: application/zip\nContent-Disposition: attachment; "
	    "filename=big.zip\n\n0123456789abcdef\n"
	    "--XX\nContent-Type: application/zip\nContent-Disposition: attachment; "
	    "filename=small.zip\n\n0123\n"
	    "--XX--\n";
	const struct mime_limits lim = {.max_attachment_bytes = 10};
	struct mail *m = NULL;
	const struct mail_limit_hit *h;

	(void)state;
	assert_int_equal(mime_parse(raw, sizeof(raw) - 1, &lim, &m, NULL), SPOC_OK);
	assert_string_equal(m->text, "body");
	assert_int_equal(m->attachments->len, 1);
	assert_int_equal(g_bytes_get_size(att(m, "small.zip")->data), 4);
	assert_int_equal(m->limits_hit->len, 1);
	h = g_ptr_array_index(m->limits_hit, 0);
	assert_string_equal(h->limit, "max_attachment_bytes");
	assert_non_null(strstr(h->detail, "big.zip"));
	assert_non_null(strstr(h->detail, "16 bytes"));
	mail_free(&m);
}

/* The HTML alternative of the body is the body in another form, not an attachment; the images
 * of its multipart/related are. */
static void test_alternative_and_related(void **state)
{
	static const char raw[] =
	    "From: a@example.com\nContent-Type: multipart/alternative; boundary=A\n\n"
	    "--A\nContent-Type: text/plain\n\nplain body\n"
	    "--A\nContent-Type: multipart/related; boundary=R\n\n"
	    "--R\nContent-Type: text/html\n\n<p>html <img src=cid:i1></p>\n"
	    "--R\nContent-Type: image/gif; name=dot.gif\nContent-ID: <i1>\n"
	    "Content-Transfer-Encoding: base64\n\nR0lGODlh\n"
	    "--R--\n--A--\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);

	(void)state;
	assert_string_equal(m->body_source, "text/plain");
	assert_string_equal(m->text, "plain body");
	assert_int_equal(m->attachments->len, 1);
	assert_string_equal(att(m, "dot.gif")->content_id, "i1");
	assert_string_equal(att(m, "dot.gif")->disposition, "inline");
	mail_free(&m);
}

/* A forwarded message is kept whole as an .eml named after its subject, with its text for
 * search; its own text never becomes the body. */
static void test_forwarded_message(void **state)
{
	static const char raw[] =
	    "From: a@example.com\nSubject: Fwd: error\nContent-Type: multipart/mixed; "
	    "boundary=F\n\n"
	    "--F\nContent-Type: text/plain\n\nSee below.\n"
	    "--F\nContent-Type: message/rfc822\n\n"
	    "From: app@example.com\nSubject: Job 12/7 failed: disk\n"
	    "Content-Type: text/html\n\n<p>Disk <b>full</b></p>\n"
	    "--F--\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);
	const struct mail_attachment *a;
	gsize len;
	const char *data;

	(void)state;
	assert_string_equal(m->text, "See below.");
	assert_int_equal(m->attachments->len, 1);
	a = att(m, "Job 12-7 failed_ disk.eml");
	assert_string_equal(a->origin, "message");
	assert_string_equal(a->content_type, "message/rfc822");
	assert_string_equal(a->text, "Disk full");
	data = g_bytes_get_data(a->data, &len);
	assert_true(len > 20 && g_str_has_prefix(data, "From: app@example.com"));
	mail_free(&m);
}

/* Text around an inline image (Apple Mail) reads as one body. */
static void test_inline_text_joins_body(void **state)
{
	static const char raw[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=M\n\n"
	    "--M\nContent-Type: text/plain\n\nBefore the screenshot.\n"
	    "--M\nContent-Type: image/png\nContent-Disposition: inline; filename=shot.png\n\nPNG\n"
	    "--M\nContent-Type: text/plain\n\nAfter it.\n--M--\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);

	(void)state;
	assert_string_equal(m->text, "Before the screenshot.\n\nAfter it.");
	assert_int_equal(m->attachments->len, 1);
	assert_string_equal(att(m, "shot.png")->disposition, "inline");
	mail_free(&m);
}

/* ISO-2022-JP is 7-bit: without a declared charset it passes for ASCII unless sniffed. */
static void test_undeclared_iso2022jp(void **state)
{
	static const char raw[] = "From: a@example.com\nSubject: jp\n\n"
				  "\x1b$B$3$s$K$A$O\x1b(B\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);

	(void)state;
	assert_string_equal(m->text, "こんにちは");
	mail_free(&m);
}

/* The fallback charsets for undeclared 8-bit text come from the configuration. */
static void test_fallback_charsets(void **state)
{
	/* "Привет" in KOI8-R, no charset declared */
	static const char raw[] = "From: a@example.com\nSubject: \xf0\xd2\xc9\xd7\xc5\xd4\n\n"
				  "\xf0\xd2\xc9\xd7\xc5\xd4\n";
	static const char *const koi[] = {"utf-8", "koi8-r", NULL};
	const struct mime_limits lim = {.fallback_charsets = koi};
	struct mail *m = NULL;

	(void)state;
	assert_int_equal(mime_parse(raw, sizeof(raw) - 1, &lim, &m, NULL), SPOC_OK);
	assert_string_equal(m->text, "Привет");
	assert_string_equal(m->subject, "Привет");
	mail_free(&m);
	/* the default (utf-8, windows-1252) reads the same bytes as Latin letters */
	m = parse_mem(raw, sizeof(raw) - 1);
	assert_string_equal(m->text, "ðÒÉ×ÅÔ");
	mail_free(&m);
}

/* A stray byte spoils one word of a raw 8-bit name, not the whole name. */
static void test_raw_name_word_by_word(void **state)
{
	/* "José Pérez Muñoz" in UTF-8, but "Muñoz" pasted in as Latin-1 */
	static const char raw[] = "From: Jos\xc3\xa9 P\xc3\xa9rez Mu\xf1"
				  "oz <jose@example.com>\n"
				  "Subject: Impresi\xc3\xb3n rota \xbf"
				  "ayuda?\n\nhola\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);

	(void)state;
	assert_string_equal(m->from.addr, "jose@example.com");
	assert_string_equal(m->from.name, "José Pérez Muñoz");
	assert_string_equal(m->subject, "Impresión rota ¿ayuda?");
	mail_free(&m);
}

/* A stranger's name made of nothing but stray bytes, words glued to encoded-words and thousands
 * of them: one pass, valid UTF-8 out, the encoded-words still decoded. */
static void test_raw_name_hostile(void **state)
{
	GString *raw = g_string_new("From: =?utf-8?q?Jos=C3=A9?= \xff\xfe=?utf-8?q?x?=");

	(void)state;
	for (int i = 0; i < 20000; i++)
		g_string_append(raw, i % 2 ? " \xe9\xe9\xe9" : " \xc3\xa9\x80");
	g_string_append(raw, " <eve@example.com>\nSubject: \x81\x82\x83\n\nx\n");
	struct mail *m = parse_mem(raw->str, raw->len);

	assert_non_null(m);
	assert_string_equal(m->from.addr, "eve@example.com");
	assert_true(g_utf8_validate(m->from.name, -1, NULL));
	assert_true(g_str_has_prefix(m->from.name, "José "));
	assert_true(g_utf8_validate(m->subject, -1, NULL));
	mail_free(&m);
	g_string_free(raw, TRUE);
}

static void test_safe_filename(void **state)
{
	static const struct {
		const char *in, *type, *want;
	} cases[] = {
	    {"report.pdf", "application/pdf", "report.pdf"},
	    {"C:\\Users\\ana\\report.pdf", NULL, "report.pdf"},
	    {"../../.bashrc", NULL, "bashrc"},
	    {"a\x01"
	     "b\tc.txt",
	     NULL, "abc.txt"},
	    {"photo\xe2\x80\xae"
	     "gnp.exe",
	     NULL, "photognp.exe"},
	    {"\xe2\x81\xa6x.txt", NULL, "x.txt"},
	    {"what?<>|\":*.doc", NULL, "what_______.doc"},
	    {" . ", "image/png", "att.png"},
	    {NULL, "message/rfc822", "att.eml"},
	    {NULL, "application/x-unknown", "att.bin"},
	    {"", "text/plain", "att.txt"},
	    {"trailing. . .", NULL, "trailing"},
	    {"bad\xff"
	     "byte.txt",
	     NULL,
	     "bad\xef\xbf\xbd"
	     "byte.txt"},
	};
	GString *longname = g_string_new(NULL);
	char *got;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		got = mime_safe_filename(cases[i].in, cases[i].type, "att");
		if (strcmp(got, cases[i].want) != 0)
			fail_msg("mime_safe_filename(\"%s\") = \"%s\", want \"%s\"",
				 cases[i].in ? cases[i].in : "(null)", got, cases[i].want);
		g_free(got);
	}
	/* long names are cut on a character boundary and keep their extension */
	for (int i = 0; i < 150; i++)
		g_string_append(longname, "é");
	g_string_append(longname, ".xlsx");
	got = mime_safe_filename(longname->str, NULL, "att");
	assert_true(strlen(got) <= 200);
	assert_true(g_str_has_suffix(got, "é.xlsx"));
	assert_true(g_utf8_validate(got, -1, NULL));
	g_free(got);
	g_string_free(longname, TRUE);
}

/* RFC 3676: soft line breaks joined, stuffed spaces removed, DelSp honoured, the signature
 * separator never joined. */
static void test_format_flowed(void **state)
{
	static const char flowed[] =
	    "From: a@example.com\nContent-Type: text/plain; format=flowed\n\n"
	    "The printer on the second \nfloor is broken.\n"
	    " >not a quote, stuffed\n"
	    "> quoted and \n> flowed\n"
	    "-- \nAna\n";
	static const char delsp[] = "From: a@example.com\nContent-Type: text/plain; format=flowed; "
				    "delsp=yes\n\nsplit in the mid \ndle of a word\n";
	struct mail *m = parse_mem(flowed, sizeof(flowed) - 1);

	(void)state;
	assert_string_equal(m->text, "The printer on the second floor is broken.\n"
				     ">not a quote, stuffed\n"
				     "> quoted and flowed\n"
				     "-- \nAna");
	mail_free(&m);
	m = parse_mem(delsp, sizeof(delsp) - 1);
	assert_string_equal(m->text, "split in the middle of a word");
	mail_free(&m);
}

/* raw parses to text and one attachment name of content type type holding n bytes want. */
static void expect_uu(const char *raw, const char *text, const char *name, const char *type,
		      const void *want, gsize n)
{
	struct mail *m = parse_mem(raw, strlen(raw));
	const struct mail_attachment *a;
	gsize len;

	assert_string_equal(m->text, text);
	assert_int_equal(m->attachments->len, 1);
	a = att(m, name);
	assert_string_equal(a->content_type, type);
	assert_memory_equal(g_bytes_get_data(a->data, &len), want, n);
	assert_int_equal(len, n);
	mail_free(&m);
}

/* A uuencoded file in a text body becomes an attachment and leaves the text. */
static void test_uuencode(void **state)
{
	(void)state;
	expect_uu("From: a@example.com\nSubject: uu\n\n"
		  "Here is the file.\n\n"
		  "begin 644 hello.txt\n"
		  "&:&5L;&\\*\n"
		  "`\n"
		  "end\n"
		  "Bye.\n",
		  "Here is the file.\n\nBye.", "hello.txt", "text/plain", "hello\n", 6);
}

/* Lines the way relays and encoders leave them: a line whose trailing blanks (zeros, in old
 * encoders) were stripped still gives the bytes its length character counts, as Python's
 * binascii.a2b_uu() reads it, and a character after the counted ones (some encoders add a
 * checksum) is not the next line's length. Decoding the block in one
 * g_mime_encoding_uudecode_step() call gets both wrong. */
static void test_uuencode_damaged_lines(void **state)
{
	static const char want[] = "AB\0\0\0\0secondthrsecond";

	(void)state;
	expect_uu("From: a@example.com\nSubject: uu\n\n"
		  "begin 644 zeros.bin\n"
		  "&04(\n"	/* "AB\0\0\0\0", its five trailing blanks stripped */
		  "&<V5C;VYD\n" /* "second" */
		  "#=&ARX\n"	/* "thr", then a checksum character */
		  "&<V5C;VYD\n"
		  "`\n"
		  "end\n",
		  "", "zeros.bin", "application/octet-stream", want, sizeof(want) - 1);
}

/* A begin line without its end, a name with a path, a body of nothing but length characters:
 * the text stays, the name loses its path, the work stays linear. */
static void test_uuencode_hostile(void **state)
{
	GString *raw =
	    g_string_new("From: a@example.com\nSubject: uu\n\nbegin 644 ../../etc/passwd\n");
	struct mail *m;
	gint64 start;

	(void)state;
	g_string_append(raw, "&:&5L;&\\*\nend\n"
			     "begin 644 never-ended.bin\n&:&5L;&\\*\nthe rest\n");
	m = parse_mem(raw->str, raw->len);
	assert_int_equal(m->attachments->len, 1);
	assert_memory_equal(g_bytes_get_data(att(m, "passwd")->data, NULL), "hello\n", 6);
	assert_string_equal(m->text, "begin 644 never-ended.bin\n&:&5L;&\\*\nthe rest");
	mail_free(&m);

	g_string_assign(raw, "From: a@example.com\nSubject: uu\n\nbegin 600 big.bin\n");
	for (int i = 0; i < 200000; i++)
		g_string_append(raw, "M\n");
	g_string_append(raw, "end\n");
	start = g_get_monotonic_time();
	m = parse_mem(raw->str, raw->len);
	assert_true(g_get_monotonic_time() - start < 10 * G_USEC_PER_SEC);
	assert_int_equal(g_bytes_get_size(att(m, "big.bin")->data), 200000 * 45);
	mail_free(&m);
	g_string_free(raw, TRUE);
}

/* Uuencoded files are parts too: no more attachments than max_parts (the rest stay in the text,
 * listed as left out), and a text of "begin" lines without "end" is read once, not once per line
 * (quadratic: hours for a few megabytes). */
static void test_uuencode_many(void **state)
{
	GString *raw = g_string_new("From: a@example.com\nSubject: uu\n\n");
	struct mail *m;

	(void)state;
	for (int i = 0; i < 2000; i++)
		g_string_append_printf(raw, "begin 644 f%d.txt\n#:&D*\n`\nend\n", i);
	m = parse_mem(raw->str, raw->len);
	assert_int_equal(m->attachments->len, 500);
	assert_memory_equal(g_bytes_get_data(att(m, "f499.txt")->data, NULL), "hi\n", 3);
	assert_int_equal(m->limits_hit->len, 1);
	assert_string_equal(hit(m, 0), "max_parts");
	assert_true(g_str_has_prefix(m->text, "begin 644 f500.txt\n"));
	mail_free(&m);

	g_string_assign(raw, "From: a@example.com\nSubject: uu\n\n");
	for (int i = 0; i < 300000; i++)
		g_string_append(raw, "begin 644 a.bin\n");
	m = parse_mem(raw->str, raw->len);
	assert_int_equal(m->attachments->len, 0);
	assert_int_equal(strlen(m->text), 300000 * 16 - 1);
	mail_free(&m);
	g_string_free(raw, TRUE);
}

/* In a CRLF message GMime 3.2.13 leaves the CR of the line break before a boundary on the
 * part's content: a 7bit attachment would grow by one byte. */
static void test_crlf_attachment_size(void **state)
{
	static const char raw[] =
	    "From: a@example.com\r\nContent-Type: multipart/mixed; boundary=B\r\n\r\n"
	    "--B\r\nContent-Type: text/plain\r\n\r\nbody\r\n"
	    "--B\r\nContent-Type: text/plain; name=data.txt\r\n"
	    "Content-Disposition: attachment; filename=data.txt\r\n\r\n"
	    "this is the data\r\n\r\n--B--\r\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);
	gsize len;

	(void)state;
	assert_memory_equal(g_bytes_get_data(att(m, "data.txt")->data, &len),
			    "this is the data\r\n", 18);
	assert_int_equal(len, 18);
	mail_free(&m);
}

/* Outlook's forward looks like its reply; the subject tells them apart. */
static void test_forward_is_new_text(void **state)
{
	static const char raw[] = "From: a@example.com\nSubject: FW: disk alert\n\n"
				  "-----Original Message-----\nFrom: monitor@example.com\n"
				  "Sent: Monday, 23 November 2026 09:00\nTo: ops@example.com\n"
				  "Subject: disk alert\n\nDisk C: is 97% full.\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);

	(void)state;
	assert_non_null(strstr(m->text_new, "Disk C: is 97% full."));
	assert_string_equal(m->text_quoted, "");
	mail_free(&m);
}

static void test_synthetic_message_id(void **state)
{
	gsize len;
	char *raw = load("no-message-id.eml", &len);
	struct mail *a = parse_mem(raw, len), *b = parse_mem(raw, len), *c, *d;
	char expect[128];
	char *traced =
	    g_strconcat("Received: from mx2.example.net by mx.desk.test; Mon, 7 Dec 2026\n"
			"Delivered-To: help@desk.test\n",
			raw, NULL);

	(void)state;
	assert_true(a->message_id_synthetic);
	g_snprintf(expect, sizeof(expect), "%s@spocd.invalid", a->content_sha256);
	assert_string_equal(a->message_id, expect);
	assert_string_equal(a->message_id, b->message_id);
	/* another copy that delivery handled differently is the same message */
	d = parse_mem(traced, strlen(traced));
	assert_string_not_equal(a->sha256, d->sha256);
	assert_string_equal(a->message_id, d->message_id);
	mail_free(&d);
	g_free(traced);
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
/* Every header keeps its raw value beside the decoded one: a structured field's encoded-word
 * stays as written in raw (folded lines joined, nothing decoded), while value is for people. */
static void test_raw_headers(void **state)
{
	static const char raw[] = "Authentication-Results: mx.desk;\r\n"
				  "\tspf=pass smtp.mailfrom==?utf-8?q?x_=28=29=3Bdkim=3Dpass?=\r\n"
				  "Auto-Submitted: =?us-ascii?q?no?=\r\n"
				  "From: =?utf-8?q?Mar=C3=ADa?= <maria@example.com>\r\n"
				  "Subject: =?utf-8?q?Impresora_=C3=B1?=\r\n"
				  "authentication-results: mx.desk; dkim=pass\r\n"
				  "\r\nbody\r\n";
	struct mail *m = parse_mem(raw, sizeof(raw) - 1);

	(void)state;
	assert_string_equal(mail_header_raw(m, "Authentication-Results"),
			    "mx.desk; spf=pass smtp.mailfrom==?utf-8?q?x_=28=29=3Bdkim=3Dpass?=");
	assert_string_equal(mail_header(m, "Authentication-Results"),
			    "mx.desk; spf=pass smtp.mailfrom=x ();dkim=pass");
	/* an encoded "no" must not turn an auto-reply into a person's mail */
	assert_string_equal(mail_header_raw(m, "auto-submitted"), "=?us-ascii?q?no?=");
	assert_string_equal(mail_header(m, "Subject"), "Impresora \xc3\xb1");
	assert_string_equal(mail_header_raw(m, "Subject"), "=?utf-8?q?Impresora_=C3=B1?=");
	assert_null(mail_header_raw(m, "Received-SPF"));
	/* both headers of the same name are kept, in order, each with its raw value */
	int n = 0;
	for (guint i = 0; i < m->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(m->headers, i);

		if (g_ascii_strcasecmp(h->name, "Authentication-Results") == 0)
			n++;
		assert_true(g_utf8_validate(h->raw, -1, NULL));
		assert_null(strchr(h->raw, '\n'));
	}
	assert_int_equal(n, 2);
	mail_free(&m);
}

static void test_adjacent_encoded_words(void **state)
{
	struct mail *m = parse_file("adjacent-b.eml");

	(void)state;
	assert_string_equal(m->subject, "Re: [INC-000123] Impresora");
	mail_free(&m);
}

/* GMime 3.2.13 defect #2: base64 "SGVsbG8=V29ybGQ=" decodes to "Hello". */
/* GMime defect #2: base64 made of padded chunks is cut at the first padding, in bodies and in
 * attachments alike. */
static void test_padded_base64(void **state)
{
	static const char att_raw[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=P\n\n"
	    "--P\n\nsee file\n"
	    "--P\nContent-Type: application/octet-stream; name=chunks.bin\n"
	    "Content-Transfer-Encoding: base64\n\nSGVsbG8=V29ybGQ=\nIQ==\n--P--\n";
	struct mail *m = parse_file("padded-base64.eml");
	gsize len;

	(void)state;
	assert_string_equal(m->text, "HelloWorld!");
	mail_free(&m);
	m = parse_mem(att_raw, sizeof(att_raw) - 1);
	assert_memory_equal(g_bytes_get_data(att(m, "chunks.bin")->data, &len), "HelloWorld!", 11);
	assert_int_equal(len, 11);
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
	assert_string_equal(m->text, "line one\nline two");
	mail_free(&m);
	m = parse_mem(cr, sizeof(cr) - 1);
	assert_string_equal(m->subject, "Old Mac");
	assert_string_equal(m->from.addr, "f@example.com");
	assert_string_equal(m->text, "first\nsecond");
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
	    cmocka_unit_test(test_deep_nesting),
	    cmocka_unit_test(test_attachments),
	    cmocka_unit_test(test_attachment_limit),
	    cmocka_unit_test(test_alternative_and_related),
	    cmocka_unit_test(test_forwarded_message),
	    cmocka_unit_test(test_inline_text_joins_body),
	    cmocka_unit_test(test_undeclared_iso2022jp),
	    cmocka_unit_test(test_fallback_charsets),
	    cmocka_unit_test(test_raw_name_word_by_word),
	    cmocka_unit_test(test_raw_name_hostile),
	    cmocka_unit_test(test_safe_filename),
	    cmocka_unit_test(test_format_flowed),
	    cmocka_unit_test(test_uuencode),
	    cmocka_unit_test(test_uuencode_damaged_lines),
	    cmocka_unit_test(test_uuencode_hostile),
	    cmocka_unit_test(test_uuencode_many),
	    cmocka_unit_test(test_crlf_attachment_size),
	    cmocka_unit_test(test_forward_is_new_text),
	    cmocka_unit_test(test_synthetic_message_id),
	    cmocka_unit_test(test_sha256),
	    cmocka_unit_test(test_html_only),
	    cmocka_unit_test(test_html_linear),
	    cmocka_unit_test(test_mixed_attachment),
	    cmocka_unit_test(test_malformed_header),
	    cmocka_unit_test(test_reply_ids),
	    cmocka_unit_test(test_id_limits),
	    cmocka_unit_test(test_adjacent_encoded_words),
	    cmocka_unit_test(test_raw_headers),
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
