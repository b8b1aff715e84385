/* Unit tests of compose_parts.c: a mail with attachments is parsed back with GMime and its
 * structure checked (text first, each file base64 with its bytes intact, an inline image with
 * its Content-ID), hostile stored names cannot break a header or name a path, a non-ASCII name
 * goes by RFC 2231, types a part may not carry base64 become application/octet-stream, and the
 * choice against the budget (in order, programs never) bounds the mail's size. */
#include "compose.h"

#include "testlib.h"

#include <gmime/gmime.h>

/* A PNG's signature and a few bytes of every value, so a text conversion would show. */
static GBytes *binary_bytes(gsize n)
{
	static const guint8 sig[] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'};
	guint8 *b = g_malloc(n);

	for (gsize i = 0; i < n; i++)
		b[i] = i < sizeof(sig) ? sig[i] : (guint8)((i * 7 + 3) & 0xff);
	return g_bytes_new_take(b, n);
}

static struct compose_attachment *att(int64_t id, const char *name, const char *type,
				      const char *cid, gboolean inline_, gsize size)
{
	struct compose_attachment *a = g_new0(struct compose_attachment, 1);

	a->id = id;
	a->name = g_strdup(name);
	a->content_type = g_strdup(type);
	a->content_id = g_strdup(cid);
	a->inline_ = inline_;
	a->size = (int64_t)size;
	a->data = binary_bytes(size);
	a->fate = COMPOSE_FATE_ATTACH;
	return a;
}

static void base_input(struct compose_input *in, const GPtrArray *atts)
{
	memset(in, 0, sizeof(*in));
	in->from_name = "Service Desk";
	in->from_addr = "help@example.org";
	in->to_name = "Ana";
	in->to_addr = "ana@example.com";
	in->subject = "[INC-000007] Screen broken";
	in->body = "Here is what the requester sent.\n";
	in->message_id = "n.7.abc@desk.example.org";
	in->auto_submitted = "auto-generated";
	in->loop_value = "desk.example.org";
	in->language = "en";
	in->attachments = atts;
}

static GByteArray *compose_ok(const GPtrArray *atts)
{
	struct compose_input in;
	struct errbuf err = {{0}};
	GByteArray *raw;

	base_input(&in, atts);
	raw = compose_message(&in, &err);
	if (raw == NULL)
		fail_msg("compose_message: %s", err.msg);
	return raw;
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

/* The decoded bytes of part. Caller unrefs. */
static GBytes *part_bytes(GMimeObject *obj)
{
	GMimeDataWrapper *content = g_mime_part_get_content(GMIME_PART(obj));
	GMimeStream *mem = g_mime_stream_mem_new();
	GByteArray *arr;
	GBytes *out;

	assert_true(g_mime_data_wrapper_write_to_stream(content, mem) >= 0);
	arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	out = g_bytes_new(arr->data, arr->len);
	g_object_unref(mem);
	return out;
}

static gboolean raw_contains(const GByteArray *raw, const char *s)
{
	return g_strstr_len((const char *)raw->data, (gssize)raw->len, s) != NULL;
}

static void test_parts_and_bytes(void **state)
{
	GPtrArray *atts = g_ptr_array_new_with_free_func(compose_attachment_free);
	GByteArray *raw;
	GMimeMessage *msg;
	GMimeObject *body, *text, *p1, *p2;
	GBytes *got;
	char *s;

	(void)state;
	g_ptr_array_add(atts, att(11, "screenshot.png", "image/png", NULL, FALSE, 5000));
	g_ptr_array_add(atts, att(12, "report.pdf", "application/pdf", NULL, FALSE, 70001));
	raw = compose_ok(atts);
	msg = parse(raw);
	body = g_mime_message_get_mime_part(msg);
	assert_true(GMIME_IS_MULTIPART(body));
	assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(body), "multipart",
						"mixed"));
	assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 3);
	text = g_mime_multipart_get_part(GMIME_MULTIPART(body), 0);
	assert_true(GMIME_IS_TEXT_PART(text));
	s = g_mime_text_part_get_text(GMIME_TEXT_PART(text));
	assert_non_null(strstr(s, "Here is what the requester sent."));
	g_free(s);

	p1 = g_mime_multipart_get_part(GMIME_MULTIPART(body), 1);
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(p1)), "screenshot.png");
	assert_string_equal(g_mime_object_get_disposition(p1), "attachment");
	assert_int_equal(g_mime_part_get_content_encoding(GMIME_PART(p1)),
			 GMIME_CONTENT_ENCODING_BASE64);
	assert_true(
	    g_mime_content_type_is_type(g_mime_object_get_content_type(p1), "image", "png"));
	got = part_bytes(p1);
	assert_true(g_bytes_equal(got, ((struct compose_attachment *)atts->pdata[0])->data));
	g_bytes_unref(got);

	p2 = g_mime_multipart_get_part(GMIME_MULTIPART(body), 2);
	assert_string_equal(g_mime_part_get_filename(GMIME_PART(p2)), "report.pdf");
	got = part_bytes(p2);
	assert_true(g_bytes_equal(got, ((struct compose_attachment *)atts->pdata[1])->data));
	g_bytes_unref(got);

	g_object_unref(msg);
	g_byte_array_unref(raw);
	g_ptr_array_unref(atts);
}

/* Without an attachment to carry, the mail is one text/plain part as before; one listed (not
 * chosen) or without its bytes does not go. */
static void test_only_chosen_go(void **state)
{
	GPtrArray *atts = g_ptr_array_new_with_free_func(compose_attachment_free);
	struct compose_attachment *big = att(21, "huge.zip", "application/zip", NULL, FALSE, 300);
	struct compose_attachment *gone = att(22, "gone.png", "image/png", NULL, FALSE, 10);
	GByteArray *raw;
	GMimeMessage *msg;

	(void)state;
	big->fate = COMPOSE_FATE_TOO_BIG;
	g_clear_pointer(&gone->data, g_bytes_unref);
	g_ptr_array_add(atts, big);
	g_ptr_array_add(atts, gone);
	raw = compose_ok(atts);
	msg = parse(raw);
	assert_true(GMIME_IS_TEXT_PART(g_mime_message_get_mime_part(msg)));
	assert_false(raw_contains(raw, "huge.zip"));
	assert_false(raw_contains(raw, "gone.png"));
	g_object_unref(msg);
	g_byte_array_unref(raw);
	g_ptr_array_unref(atts);
}

/* Stored names are a stranger's: a quote, CR LF with a header after it, a path, 300 characters
 * and non-ASCII. None can end the parameter, start a header or name a directory. */
static void test_hostile_names(void **state)
{
	static const char *const names[] = {
	    "a\"b\r\nX-Evil: 1\r\n\r\nbody.pdf",
	    "../../etc/passwd",
	    NULL, /* 300 characters, below */
	    "Presupuesto año 2026 — €.pdf",
	    "..\\..\\Windows\\evil.doc",
	};
	GPtrArray *atts = g_ptr_array_new_with_free_func(compose_attachment_free);
	char *long_name = g_strnfill(300, 'x');
	char *long_pdf = g_strconcat(long_name, ".pdf", NULL);
	GByteArray *raw;
	GMimeMessage *msg;
	GMimeObject *body;

	(void)state;
	for (guint i = 0; i < G_N_ELEMENTS(names); i++)
		g_ptr_array_add(atts, att(30 + i, names[i] != NULL ? names[i] : long_pdf,
					  "application/pdf", NULL, FALSE, 100));
	raw = compose_ok(atts);
	msg = parse(raw);
	/* no header of the attacker's anywhere: not on the message, not on a part */
	assert_false(raw_contains(raw, "X-Evil:"));
	assert_null(g_mime_object_get_header(GMIME_OBJECT(msg), "X-Evil"));
	body = g_mime_message_get_mime_part(msg);
	assert_int_equal(g_mime_multipart_get_count(GMIME_MULTIPART(body)), 6);
	for (int i = 1; i < 6; i++) {
		GMimeObject *p = g_mime_multipart_get_part(GMIME_MULTIPART(body), i);
		const char *fn = g_mime_part_get_filename(GMIME_PART(p));

		assert_non_null(fn);
		assert_null(g_mime_object_get_header(p, "X-Evil"));
		assert_null(strchr(fn, '"'));
		assert_null(strchr(fn, '\r'));
		assert_null(strchr(fn, '\n'));
		assert_null(strchr(fn, '/'));
		assert_null(strchr(fn, '\\'));
		assert_false(g_str_has_prefix(fn, "."));
		assert_true(strlen(fn) <= 200);
		assert_true(g_utf8_validate(fn, -1, NULL));
	}
	assert_string_equal(g_mime_part_get_filename(
				GMIME_PART(g_mime_multipart_get_part(GMIME_MULTIPART(body), 2))),
			    "passwd");
	/* the long one keeps its extension */
	assert_true(g_str_has_suffix(g_mime_part_get_filename(GMIME_PART(
					 g_mime_multipart_get_part(GMIME_MULTIPART(body), 3))),
				     ".pdf"));
	/* non-ASCII round-trips, written as RFC 2231 in UTF-8 */
	assert_string_equal(g_mime_part_get_filename(
				GMIME_PART(g_mime_multipart_get_part(GMIME_MULTIPART(body), 4))),
			    "Presupuesto año 2026 — €.pdf");
	assert_true(raw_contains(raw, "filename*=UTF-8''Presupuesto%20a%C3%B1o"));
	assert_string_equal(g_mime_part_get_filename(
				GMIME_PART(g_mime_multipart_get_part(GMIME_MULTIPART(body), 5))),
			    "evil.doc");
	g_object_unref(msg);
	g_byte_array_unref(raw);
	g_ptr_array_unref(atts);
	g_free(long_name);
	g_free(long_pdf);
}

/* An image the original showed inline keeps disposition inline and its Content-ID; a stored
 * Content-ID that could break its brackets is left out, the image still goes. */
static void test_inline_image_content_id(void **state)
{
	GPtrArray *atts = g_ptr_array_new_with_free_func(compose_attachment_free);
	GByteArray *raw;
	GMimeMessage *msg;
	GMimeObject *body, *img, *bad;

	(void)state;
	g_ptr_array_add(atts, att(41, "image001.png", "image/png", "image001.png@01DA2B3C.4D5E6F70",
				  TRUE, 900));
	g_ptr_array_add(atts,
			att(42, "image002.png", "image/png", "a> <b@evil\r\nX-Evil: 1", TRUE, 900));
	raw = compose_ok(atts);
	msg = parse(raw);
	body = g_mime_message_get_mime_part(msg);
	img = g_mime_multipart_get_part(GMIME_MULTIPART(body), 1);
	assert_string_equal(g_mime_object_get_disposition(img), "inline");
	assert_string_equal(g_mime_object_get_content_id(img), "image001.png@01DA2B3C.4D5E6F70");
	assert_true(raw_contains(raw, "Content-Id: <image001.png@01DA2B3C.4D5E6F70>") ||
		    raw_contains(raw, "Content-ID: <image001.png@01DA2B3C.4D5E6F70>"));
	bad = g_mime_multipart_get_part(GMIME_MULTIPART(body), 2);
	assert_string_equal(g_mime_object_get_disposition(bad), "inline");
	assert_null(g_mime_object_get_content_id(bad));
	assert_false(raw_contains(raw, "X-Evil"));
	g_object_unref(msg);
	g_byte_array_unref(raw);
	g_ptr_array_unref(atts);
}

/* A forwarded message (message/rfc822) may not be base64: it goes as application/octet-stream;
 * so does a type that is not a plain type/subtype. The bytes stay as they were. */
static void test_types_made_safe(void **state)
{
	GPtrArray *atts = g_ptr_array_new_with_free_func(compose_attachment_free);
	GByteArray *raw;
	GMimeMessage *msg;
	GMimeObject *body;

	(void)state;
	g_ptr_array_add(atts, att(51, "fwd.eml", "message/rfc822", NULL, FALSE, 200));
	g_ptr_array_add(
	    atts, att(52, "x.bin", "text/html; charset=\"x\"\r\nX-Evil: 1", NULL, FALSE, 200));
	raw = compose_ok(atts);
	msg = parse(raw);
	body = g_mime_message_get_mime_part(msg);
	for (int i = 1; i <= 2; i++) {
		GMimeObject *p = g_mime_multipart_get_part(GMIME_MULTIPART(body), i);
		GBytes *got = part_bytes(p);

		assert_true(GMIME_IS_PART(p));
		assert_true(g_mime_content_type_is_type(g_mime_object_get_content_type(p),
							"application", "octet-stream"));
		assert_true(
		    g_bytes_equal(got, ((struct compose_attachment *)atts->pdata[i - 1])->data));
		g_bytes_unref(got);
	}
	assert_false(raw_contains(raw, "X-Evil"));
	g_object_unref(msg);
	g_byte_array_unref(raw);
	g_ptr_array_unref(atts);
}

/* In their order: what fits what is left goes, a bigger one is listed and a smaller one after
 * it may still go; a program never goes; budget 0 sends none. */
static void test_choose(void **state)
{
	GPtrArray *atts = g_ptr_array_new_with_free_func(compose_attachment_free);
	struct compose_attachment *a1, *a2, *a3, *a4, *a5;
	int64_t budget;

	(void)state;
	a1 = att(1, "one.png", "image/png", NULL, FALSE, 3000);
	a2 = att(2, "big.pdf", "application/pdf", NULL, FALSE, 9000);
	a3 = att(3, "setup.EXE", "application/octet-stream", NULL, FALSE, 10);
	a4 = att(4, "two.png", "image/png", NULL, FALSE, 3000);
	a5 = att(5, "run.bin", "application/x-msdownload", NULL, FALSE, 10);
	g_ptr_array_add(atts, a1);
	g_ptr_array_add(atts, a2);
	g_ptr_array_add(atts, a3);
	g_ptr_array_add(atts, a4);
	g_ptr_array_add(atts, a5);
	/* base64 makes 3000 bytes 4000, and the budget counts what travels */
	assert_true(compose_attachment_cost(a1) > 4000);
	budget = compose_attachment_cost(a1) + compose_attachment_cost(a4) + 100;
	assert_true(budget < compose_attachment_cost(a2));
	compose_attachments_choose(atts, budget);
	assert_int_equal(a1->fate, COMPOSE_FATE_ATTACH);
	assert_int_equal(a2->fate, COMPOSE_FATE_TOO_BIG);
	assert_int_equal(a3->fate, COMPOSE_FATE_RISKY);
	assert_int_equal(a4->fate, COMPOSE_FATE_ATTACH);
	assert_int_equal(a5->fate, COMPOSE_FATE_RISKY);

	/* one less byte and the second image no longer fits */
	compose_attachments_choose(atts,
				   compose_attachment_cost(a1) + compose_attachment_cost(a4) - 1);
	assert_int_equal(a1->fate, COMPOSE_FATE_ATTACH);
	assert_int_equal(a4->fate, COMPOSE_FATE_TOO_BIG);

	compose_attachments_choose(atts, 0);
	for (guint i = 0; i < atts->len; i++)
		assert_int_not_equal(((struct compose_attachment *)atts->pdata[i])->fate,
				     COMPOSE_FATE_ATTACH);
	g_ptr_array_unref(atts);
}

/* The mail stays within its text plus the budget: whatever the files, the attachments add no
 * more than what compose_attachment_cost() counted. */
static void test_size_bounded(void **state)
{
	GPtrArray *none = g_ptr_array_new_with_free_func(compose_attachment_free);
	GPtrArray *atts = g_ptr_array_new_with_free_func(compose_attachment_free);
	char *long_name = g_strnfill(190, 'y'), *name;
	GByteArray *plain, *full;
	int64_t budget = 200000, spent = 0;

	(void)state;
	name = g_strconcat("ñ", long_name, ".png", NULL);
	for (int i = 0; i < 8; i++)
		g_ptr_array_add(atts, att(60 + i, i % 2 ? name : "x.png", "image/png",
					  i % 3 ? "cid.1@x.example" : NULL, i % 3 == 0,
					  (gsize)(1000 + i * 9000)));
	compose_attachments_choose(atts, budget);
	for (guint i = 0; i < atts->len; i++) {
		const struct compose_attachment *a = atts->pdata[i];

		if (a->fate == COMPOSE_FATE_ATTACH)
			spent += compose_attachment_cost(a);
	}
	assert_true(spent > 0 && spent <= budget);
	plain = compose_ok(none);
	full = compose_ok(atts);
	assert_true((int64_t)full->len <= (int64_t)plain->len + spent);
	g_byte_array_unref(plain);
	g_byte_array_unref(full);
	g_ptr_array_unref(none);
	g_ptr_array_unref(atts);
	g_free(long_name);
	g_free(name);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parts_and_bytes), cmocka_unit_test(test_only_chosen_go),
	    cmocka_unit_test(test_hostile_names),   cmocka_unit_test(test_inline_image_content_id),
	    cmocka_unit_test(test_types_made_safe), cmocka_unit_test(test_choose),
	    cmocka_unit_test(test_size_bounded),
	};
	int rc;

	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
