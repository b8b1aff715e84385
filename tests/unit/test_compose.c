/* Unit tests of compose.c: what it writes is parsed back with GMime and every header checked
 * (identifiers, threading, RFC 3834 marks, the loop header, a non-ASCII subject round trip), the
 * bytes are checked for CRLF line ends only, free text with CR LF cannot add a header, and a
 * golden acknowledgement (tests/data/compose/) pins the exact layout. */
#include "classify.h"
#include "compose.h"

#include "testlib.h"

#include <gmime/gmime.h>

static const char *const body_es =
    "Hola, María:\n\nHemos recibido su incidencia y la hemos registrado con el número "
    "INC-000123.\n.\nUna línea que empieza por punto y otra muy larga que obliga a partir la "
    "línea con saltos suaves del quoted-printable, porque pasa de setenta y seis caracteres.\n"
    "Línea con espacio final \nfin\n";

static void base_input(struct compose_input *in, GPtrArray *refs)
{
	memset(in, 0, sizeof(*in));
	in->from_name = "Service Desk TI";
	in->from_addr = "soporte@example.org";
	in->to_name = "María López";
	in->to_addr = "maria.lopez@example.com";
	in->subject = "[INC-000123] Impresora caída — planta 2";
	in->body = body_es;
	in->message_id = "ack.42.abcdef@desk.example.org";
	in->in_reply_to = "CAF=xyz+1@mail.example.com";
	in->references = refs;
	in->auto_submitted = "auto-replied";
	in->loop_value = "desk.example.org";
	in->language = "es";
}

static GPtrArray *refs_of(const char *first, ...)
{
	GPtrArray *refs = g_ptr_array_new();
	va_list ap;

	va_start(ap, first);
	for (const char *r = first; r != NULL; r = va_arg(ap, const char *))
		g_ptr_array_add(refs, (gpointer)r);
	va_end(ap);
	return refs;
}

static GMimeMessage *parse(const GByteArray *raw)
{
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer((const char *)raw->data, raw->len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);

	g_object_unref(parser);
	g_object_unref(stream);
	assert_non_null(msg);
	return msg;
}

/* Every line ends with CRLF: no bare LF, no bare CR, the last byte ends a line, no line over the
 * 998 octets of RFC 5322, and (with RFC 2047 and a transfer encoding) only 7-bit bytes. */
static void check_crlf_7bit(const GByteArray *raw)
{
	size_t line = 0;

	assert_true(raw->len >= 2);
	assert_memory_equal(raw->data + raw->len - 2, "\r\n", 2);
	for (size_t i = 0; i < raw->len; i++) {
		guint8 c = raw->data[i];

		assert_true(c < 0x80);
		assert_true(c != 0);
		if (c == '\n')
			assert_true(i > 0 && raw->data[i - 1] == '\r');
		if (c == '\r')
			assert_true(i + 1 < raw->len && raw->data[i + 1] == '\n');
		line = c == '\n' ? 0 : line + 1;
		assert_true(line <= 998);
	}
}

static const char *header(GMimeMessage *msg, const char *name)
{
	return g_mime_object_get_header(GMIME_OBJECT(msg), name);
}

/* The header names of msg, in order, as one ","-separated string; caller g_free()s. */
static char *header_names(GMimeMessage *msg)
{
	GMimeHeaderList *list = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GString *s = g_string_new(NULL);

	for (int i = 0; i < g_mime_header_list_get_count(list); i++)
		g_string_append_printf(
		    s, "%s%s", i > 0 ? "," : "",
		    g_mime_header_get_name(g_mime_header_list_get_header_at(list, i)));
	return g_string_free(s, FALSE);
}

/* The decoded text of the message's single text/plain part, with CRLF turned into LF. */
static char *body_text(GMimeMessage *msg)
{
	GMimeObject *part = g_mime_message_get_mime_part(msg);
	char *text, *p, *q;

	assert_true(GMIME_IS_TEXT_PART(part));
	assert_string_equal(g_mime_object_get_content_type_parameter(part, "charset"), "utf-8");
	text = g_mime_text_part_get_text(GMIME_TEXT_PART(part));
	for (p = q = text; *p != '\0'; p++)
		if (!(p[0] == '\r' && p[1] == '\n'))
			*q++ = *p;
	*q = '\0';
	return text;
}

static void test_headers_round_trip(void **state)
{
	GPtrArray *refs = refs_of("root@a.example", "CAF=xyz+1@mail.example.com", NULL);
	struct compose_input in;
	struct errbuf err = {{0}};
	GByteArray *raw;
	GMimeMessage *msg;
	InternetAddressList *list;
	InternetAddress *addr;
	char *text, *names;

	(void)state;
	base_input(&in, refs);
	raw = compose_message(&in, &err);
	assert_non_null(raw);
	check_crlf_7bit(raw);
	msg = parse(raw);

	assert_string_equal(g_mime_message_get_message_id(msg), "ack.42.abcdef@desk.example.org");
	assert_string_equal(header(msg, "Message-Id"), "<ack.42.abcdef@desk.example.org>");
	assert_string_equal(header(msg, "In-Reply-To"), "<CAF=xyz+1@mail.example.com>");
	assert_string_equal(header(msg, "References"),
			    "<root@a.example> <CAF=xyz+1@mail.example.com>");
	assert_string_equal(header(msg, "Auto-Submitted"), "auto-replied");
	assert_string_equal(header(msg, SPOC_LOOP_HEADER), "desk.example.org");
	assert_string_equal(header(msg, "X-Auto-Response-Suppress"), "All");
	assert_string_equal(header(msg, "MIME-Version"), "1.0");
	/* GMime files Content-* headers under the body part when it parses */
	assert_string_equal(
	    g_mime_object_get_header(g_mime_message_get_mime_part(msg), "Content-Language"), "es");
	assert_non_null(header(msg, "Date"));
	assert_non_null(g_mime_message_get_date(msg));

	/* the subject went out as RFC 2047 words and comes back intact */
	assert_string_equal(g_mime_message_get_subject(msg),
			    "[INC-000123] Impresora caída — planta 2");
	/* raw is not NUL-terminated: search a bounded copy */
	text = g_strndup((const char *)raw->data, raw->len);
	assert_non_null(strstr(text, "Subject: [INC-000123] Impresora =?"));
	g_free(text);

	list = g_mime_message_get_from(msg);
	assert_int_equal(internet_address_list_length(list), 1);
	addr = internet_address_list_get_address(list, 0);
	assert_string_equal(internet_address_get_name(addr), "Service Desk TI");
	assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(addr)),
			    "soporte@example.org");
	list = g_mime_message_get_to(msg);
	assert_int_equal(internet_address_list_length(list), 1);
	addr = internet_address_list_get_address(list, 0);
	assert_string_equal(internet_address_get_name(addr), "María López");
	assert_string_equal(internet_address_mailbox_get_addr(INTERNET_ADDRESS_MAILBOX(addr)),
			    "maria.lopez@example.com");

	/* Spanish text goes quoted-printable, and decodes to what was given */
	assert_int_equal(
	    g_mime_part_get_content_encoding(GMIME_PART(g_mime_message_get_mime_part(msg))),
	    GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE);
	text = body_text(msg);
	assert_string_equal(text, body_es);
	g_free(text);

	names = header_names(msg);
	assert_string_equal(names, "Date,From,Subject,To,Message-Id,In-Reply-To,References,"
				   "MIME-Version,Auto-Submitted,X-Spocd-Loop,"
				   "X-Auto-Response-Suppress");
	g_free(names);

	g_object_unref(msg);
	g_byte_array_unref(raw);
	g_ptr_array_unref(refs);
}

static void test_base64_body(void **state)
{
	const char *body = "Ελληνικά κείμενα και 中文文本\r\nδεύτερη γραμμή\r\n";
	struct compose_input in;
	struct errbuf err = {{0}};
	GByteArray *raw;
	GMimeMessage *msg;
	char *text;

	(void)state;
	base_input(&in, NULL);
	in.body = body;
	in.in_reply_to = NULL;
	in.language = NULL;
	raw = compose_message(&in, &err);
	assert_non_null(raw);
	check_crlf_7bit(raw);
	msg = parse(raw);
	assert_int_equal(
	    g_mime_part_get_content_encoding(GMIME_PART(g_mime_message_get_mime_part(msg))),
	    GMIME_CONTENT_ENCODING_BASE64);
	text = body_text(msg);
	assert_string_equal(text, "Ελληνικά κείμενα και 中文文本\nδεύτερη γραμμή\n");
	g_free(text);
	assert_null(header(msg, "In-Reply-To"));
	assert_null(header(msg, "References"));
	assert_null(
	    g_mime_object_get_header(g_mime_message_get_mime_part(msg), "Content-Language"));
	g_object_unref(msg);
	g_byte_array_unref(raw);
}

/* A minimal RFC 2047 decoder for UTF-8 B-words, independent of GMime: 3.2.13 decodes only the
 * first of adjacent encoded-words (LIBRARY-DEFECTS GMime 1), which other mail readers do not.
 * Caller g_free()s. */
static char *decode_2047(const char *raw)
{
	GString *out = g_string_new(NULL);
	char **tokens = g_strsplit_set(raw, " \t\r\n", -1);
	gboolean prev_encoded = FALSE;

	for (char **t = tokens; *t != NULL; t++) {
		size_t len = strlen(*t);

		if (len == 0)
			continue;
		if (g_str_has_prefix(*t, "=?UTF-8?B?") && g_str_has_suffix(*t, "?=")) {
			char *b64 = g_strndup(*t + 10, len - 12);
			gsize n = 0;
			guchar *dec = g_base64_decode(b64, &n);

			if (out->len > 0 && !prev_encoded)
				g_string_append_c(out, ' ');
			g_string_append_len(out, (const char *)dec, (gssize)n);
			g_free(dec);
			g_free(b64);
			prev_encoded = TRUE;
		} else {
			if (out->len > 0)
				g_string_append_c(out, ' ');
			g_string_append(out, *t);
			prev_encoded = FALSE;
		}
	}
	g_strfreev(tokens);
	return g_string_free(out, FALSE);
}

static void test_long_non_ascii_subject(void **state)
{
	const char *subject = "[INC-000125] Ελληνικά κείμενα και 中文文本 Ελληνικά κείμενα και "
			      "中文文本 Ελληνικά κείμενα και 中文文本 Ελληνικά κείμενα";
	struct compose_input in;
	struct errbuf err = {{0}};
	GByteArray *raw;
	GMimeMessage *msg;
	GMimeHeader *h;
	char *decoded;

	(void)state;
	base_input(&in, NULL);
	in.subject = subject;
	raw = compose_message(&in, &err);
	assert_non_null(raw);
	check_crlf_7bit(raw); /* folded into several encoded-words, none over the limit */
	msg = parse(raw);
	h = g_mime_header_list_get_header(g_mime_object_get_header_list(GMIME_OBJECT(msg)),
					  "Subject");
	assert_non_null(h);
	decoded = decode_2047(g_mime_header_get_raw_value(h));
	assert_string_equal(decoded, subject);
	g_free(decoded);
	g_object_unref(msg);
	g_byte_array_unref(raw);
}

/* CR LF inside free text must not start a header of its own. */
static void test_no_header_injection(void **state)
{
	struct compose_input in;
	struct errbuf err = {{0}};
	GByteArray *raw;
	GMimeMessage *msg;
	char *names;

	(void)state;
	base_input(&in, NULL);
	in.subject = "[INC-000124] Hello\r\nBcc: victim@evil.example\r\n\r\nbody";
	in.to_name = "Eve\r\nX-Injected: yes";
	in.from_name = "Desk\nReply-To: evil@evil.example";
	in.in_reply_to = "a@b\r\nX-Injected: 1";
	raw = compose_message(&in, &err);
	assert_non_null(raw);
	check_crlf_7bit(raw);
	msg = parse(raw);
	names = header_names(msg);
	assert_string_equal(names, "Date,From,Subject,To,Message-Id,MIME-Version,Auto-Submitted,"
				   "X-Spocd-Loop,X-Auto-Response-Suppress");
	g_free(names);
	assert_null(header(msg, "Bcc"));
	assert_null(header(msg, "X-Injected"));
	assert_null(header(msg, "Reply-To"));
	assert_string_equal(g_mime_message_get_subject(msg),
			    "[INC-000124] Hello Bcc: victim@evil.example body");
	assert_string_equal(internet_address_get_name(
				internet_address_list_get_address(g_mime_message_get_to(msg), 0)),
			    "Eve X-Injected: yes");
	assert_int_equal(internet_address_list_length(g_mime_message_get_bcc(msg)), 0);
	g_object_unref(msg);
	g_byte_array_unref(raw);
}

static void test_invalid_ids_skipped(void **state)
{
	GPtrArray *refs =
	    refs_of("ok1@x.example", "has space@x.example", "a<b@x.example", "c@x.example>",
		    "d@x.example\r\nX-Evil: 1", "", "no-at-sign", "ok2@x.example", NULL);
	struct compose_input in;
	struct errbuf err = {{0}};
	GByteArray *raw;
	GMimeMessage *msg;

	(void)state;
	base_input(&in, refs);
	in.in_reply_to = "bad id@x.example";
	raw = compose_message(&in, &err);
	assert_non_null(raw);
	msg = parse(raw);
	assert_null(header(msg, "In-Reply-To"));
	assert_string_equal(header(msg, "References"), "<ok1@x.example> <ok2@x.example>");
	assert_null(header(msg, "X-Evil"));
	g_object_unref(msg);
	g_byte_array_unref(raw);
	g_ptr_array_unref(refs);
}

static void test_long_references_trimmed(void **state)
{
	GPtrArray *refs = g_ptr_array_new_with_free_func(g_free);
	struct compose_input in;
	struct errbuf err = {{0}};
	GByteArray *raw;
	GMimeMessage *msg;
	GMimeReferences *parsed;

	(void)state;
	for (int i = 0; i < 60; i++)
		g_ptr_array_add(refs,
				g_strdup_printf("message-%02d.with.a.long.id@mail.example.com", i));
	base_input(&in, refs);
	raw = compose_message(&in, &err);
	assert_non_null(raw);
	check_crlf_7bit(raw); /* folded, no line over 998 */
	msg = parse(raw);
	parsed = g_mime_references_parse(NULL, header(msg, "References"));
	assert_int_equal(g_mime_references_length(parsed), 20);
	assert_string_equal(g_mime_references_get_message_id(parsed, 0),
			    "message-00.with.a.long.id@mail.example.com");
	assert_string_equal(g_mime_references_get_message_id(parsed, 1),
			    "message-41.with.a.long.id@mail.example.com");
	assert_string_equal(g_mime_references_get_message_id(parsed, 19),
			    "message-59.with.a.long.id@mail.example.com");
	g_mime_references_free(parsed);
	g_object_unref(msg);
	g_byte_array_unref(raw);
	g_ptr_array_unref(refs);
}

static void expect_refused(struct compose_input *in, const char *what)
{
	struct errbuf err = {{0}};

	assert_null(compose_message(in, &err));
	if (strstr(err.msg, what) == NULL)
		fail_msg("error \"%s\" does not mention \"%s\"", err.msg, what);
}

static void test_refuses_bad_input(void **state)
{
	struct compose_input in;

	(void)state;
	base_input(&in, NULL);
	in.to_addr = "maria@example.com\r\nBcc: x@evil.example";
	expect_refused(&in, "invalid To address");
	in.to_addr = "maria@example.com, x@evil.example";
	expect_refused(&in, "invalid To address");
	in.to_addr = "no-at-sign";
	expect_refused(&in, "invalid To address");
	base_input(&in, NULL);
	in.from_addr = "desk@example.org\n";
	expect_refused(&in, "invalid From address");
	base_input(&in, NULL);
	in.message_id = "<ack@desk.example.org>";
	expect_refused(&in, "invalid Message-ID");
	base_input(&in, NULL);
	in.body = "caf\xe9";
	expect_refused(&in, "not valid UTF-8");
	base_input(&in, NULL);
	in.loop_value = "x\r\ny";
	expect_refused(&in, SPOC_LOOP_HEADER);
	base_input(&in, NULL);
	in.language = "es\r\nX: y";
	expect_refused(&in, "language");
}

/* The whole message but its Date line, against tests/data/compose/ack-es.eml. SPOC_UPDATE_GOLDEN=1
 * rewrites the file (to be read by a person before it is committed). */
static void test_golden(void **state)
{
	GPtrArray *refs = refs_of("root@a.example", "CAF=xyz+1@mail.example.com", NULL);
	struct compose_input in;
	struct errbuf err = {{0}};
	GByteArray *raw;
	GString *got = g_string_new(NULL);
	char *path, *want = NULL;
	gsize want_len = 0;

	(void)state;
	base_input(&in, refs);
	raw = compose_message(&in, &err);
	assert_non_null(raw);
	g_string_append_len(got, (const char *)raw->data, raw->len);
	{
		/* Date is GMime's first header */
		char *end = strstr(got->str, "\r\n");

		assert_true(g_str_has_prefix(got->str, "Date: "));
		g_string_erase(got, 0, end + 2 - got->str);
		g_string_prepend(got, "Date: (masked)\r\n");
	}
	path = testlib_data_path("compose/ack-es.eml");
	if (g_strcmp0(g_getenv("SPOC_UPDATE_GOLDEN"), "1") == 0)
		assert_true(g_file_set_contents(path, got->str, (gssize)got->len, NULL));
	assert_true(g_file_get_contents(path, &want, &want_len, NULL));
	assert_int_equal(want_len, got->len);
	assert_memory_equal(want, got->str, got->len);
	g_free(want);
	g_free(path);
	g_string_free(got, TRUE);
	g_byte_array_unref(raw);
	g_ptr_array_unref(refs);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_headers_round_trip),
	    cmocka_unit_test(test_base64_body),
	    cmocka_unit_test(test_no_header_injection),
	    cmocka_unit_test(test_invalid_ids_skipped),
	    cmocka_unit_test(test_long_references_trimmed),
	    cmocka_unit_test(test_refuses_bad_input),
	    cmocka_unit_test(test_long_non_ascii_subject),
	    cmocka_unit_test(test_golden),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
