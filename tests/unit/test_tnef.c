/* Unit tests of tnef.c: what comes out of the winmail.dat files in tests/data/tnef (the project's
 * own, written by make_seeds.py, and small samples kept with their licences), and that anything
 * else, not TNEF, cut short or with flipped bytes, is refused without harm. The real ones of the
 * shared corpus are checked in test_tnef_corpus.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "tnef_fixture.h"

#include "mime.h"

/* The project's own Outlook message (make_seeds.py): its winmail.dat holds the text as
 * compressed RTF (back-references, \'hh in code page 1252, \uN), a photo named in code page 1252
 * with a MIME tag, and two embedded messages; the message's own text/plain part says the same as
 * the RTF. */
#define NOTE_EML "tnef/synthetic-note.eml"

static const struct want note_photo = {
    "página de prueba.jpg", "image/jpeg", 2992,
    "be5ad8c7c2b5f663e2b2d1dc13f80a11ea42d27fd6f693d2064057729dcfb3bb"};
static const struct want note_reply = {
    "RE: Franja gris en la impresora", "application/ms-tnef", 270,
    "c2682a0ac587919d0edcdfda046c02c86064c8b4ecba6ec3571e24dd3e9b5bf5"};
static const struct want note_report = {
    "Informe de estado HP-3F-02", "application/ms-tnef", 1397,
    "6f0c836e4365feb743ba5f43d888b80ef6d0baed5f7658a0b7d090494c68630b"};

static void test_note(void **state)
{
	const struct want want[] = {note_photo, note_reply, note_report};
	GBytes *tnef = message_part("SPOC_TEST_DATA", NOTE_EML, "application", "ms-tnef");
	GBytes *plain = message_part("SPOC_TEST_DATA", NOTE_EML, "text", "plain");
	GBytes *bare = read_file("SPOC_TEST_DATA", "tnef/synthetic-note.tnef");
	struct errbuf err;
	GPtrArray *files;
	char *body, *expected;

	(void)state;
	/* the part decodes to the stream make_seeds.py wrote beside it */
	assert_int_equal(g_bytes_get_size(tnef), 6327);
	assert_true(g_bytes_equal(tnef, bare));
	assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	check_files(files, want, G_N_ELEMENTS(want));
	assert_non_null(body);
	assert_true(g_str_has_prefix(body, "Hola equipo de soporte:\n\nDesde el lunes la impresora "
					   "de la tercera planta (HP-3F-02) deja una franja gris "
					   "en todas las\npáginas, también en las copias."));
	assert_non_null(strstr(body, "(el cartucho nuevo costó 89 €)\n"));
	assert_non_null(strstr(body, "mantenimiento → MNT-2024-117\n"));
	assert_true(
	    g_str_has_suffix(body, "\nCarmen Ortega\nAdministración, tercera planta\nExt. 4417"));
	assert_int_equal(strlen(body), 869);
	expected = normalized(g_bytes_get_data(plain, NULL), g_bytes_get_size(plain));
	assert_string_equal(body, expected);
	g_free(expected);
	g_free(body);
	g_ptr_array_unref(files);

	/* without body_r and err */
	assert_int_equal(unpack(tnef, 0, 0, &files, NULL, NULL), SPOC_OK);
	assert_int_equal(files->len, 3);
	g_ptr_array_unref(files);
	g_bytes_unref(bare);
	g_bytes_unref(plain);
	g_bytes_unref(tnef);
}

/* The embedded messages are TNEF streams in turn: a caller can unpack them the same way. */
static void test_note_embedded_messages(void **state)
{
	const struct want log[] = {
	    {"estado.log", "text/plain", 798,
	     "067bd94ceec47a56d9404dc650c063b1b40abe86f63a02faacef2eaec6ed5714"}};
	GBytes *tnef = read_file("SPOC_TEST_DATA", "tnef/synthetic-note.tnef"), *inner;
	GPtrArray *files, *inner_files;
	struct errbuf err;
	char *body;

	(void)state;
	assert_int_equal(unpack(tnef, 0, 0, &files, NULL, &err), SPOC_OK);

	/* a plain PR_BODY in code page 1252, no attachment */
	inner = g_bytes_ref(((struct tnef_file *)files->pdata[1])->data);
	assert_int_equal(unpack(inner, 0, 0, &inner_files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	assert_int_equal(inner_files->len, 0);
	assert_string_equal(body,
			    "La franja aparece también en las copias, no solo al imprimir.\nLuis");
	g_free(body);
	g_ptr_array_unref(inner_files);
	g_bytes_unref(inner);

	/* compressed RTF and a file named only by its title */
	inner = g_bytes_ref(((struct tnef_file *)files->pdata[2])->data);
	assert_int_equal(unpack(inner, 0, 0, &inner_files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	check_files(inner_files, log, 1);
	assert_string_equal(body, "Informe semanal de la impresora HP-3F-02\n\nPáginas impresas: "
				  "4.812\nNivel de tóner negro: 12 %\nEstado del fusor: correcto\n"
				  "Último error: 59.F0 (franja en el tambor)");
	g_free(body);
	g_ptr_array_unref(inner_files);
	g_bytes_unref(inner);

	g_ptr_array_unref(files);
	g_bytes_unref(tnef);
}

/* Reports made of one property block: no attachment, no text (the project's own, and the
 * winmail.dat of an Amazon WorkMail delivery report kept in tests/data/tnef). */
static void test_reports(void **state)
{
	static const struct {
		const char *path;
		size_t len;
	} reports[] = {
	    {"tnef/synthetic-report.tnef", 214},
	    {"tnef/sisimai-amazonworkmail-03.tnef", 3473},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(reports); i++) {
		expect_properties_only(read_file("SPOC_TEST_DATA", reports[i].path),
				       reports[i].len);
	}
}

/* A part labelled application/ms-tnef that holds 8 bytes of text. */
static void test_labelled_but_not_tnef(void **state)
{
	GBytes *tnef =
	    message_part("SPOC_TEST_DATA", "tnef/labelled-not-tnef.eml", "application", "ms-tnef");
	GPtrArray *files = (GPtrArray *)"unset";
	char *body = (char *)"unset";
	struct errbuf err;

	(void)state;
	assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_EPERM);
	assert_string_equal(err.msg, "not TNEF: 8 bytes");
	assert_null(files);
	assert_null(body);
	g_bytes_unref(tnef);
}

static void test_note_limits(void **state)
{
	GBytes *tnef = read_file("SPOC_TEST_DATA", "tnef/synthetic-note.tnef");
	struct errbuf err;
	GPtrArray *files;
	char *body;

	(void)state;
	assert_int_equal(unpack(tnef, 1, 0, &files, &body, &err), SPOC_OK);
	check_files(files, &note_photo, 1);
	assert_string_equal(err.msg, "2 more files over max_files (1) left out");
	assert_non_null(body);
	g_free(body);
	g_ptr_array_unref(files);
	/* the photo does not fit in 270 bytes, the first embedded message does */
	assert_int_equal(unpack(tnef, 1, 270, &files, NULL, &err), SPOC_OK);
	check_files(files, &note_reply, 1);
	assert_string_equal(err.msg, "1 more file over max_files (1) left out; 1 file over "
				     "max_total_bytes (270) left out");
	g_ptr_array_unref(files);
	/* what is left of the total after the first file counts */
	assert_int_equal(unpack(tnef, 0, 2992 + 270, &files, NULL, &err), SPOC_OK);
	{
		const struct want want[] = {note_photo, note_reply};

		check_files(files, want, 2);
	}
	assert_string_equal(err.msg, "1 file over max_total_bytes (3262) left out");
	g_ptr_array_unref(files);
	g_bytes_unref(tnef);
}

/* Made-up streams (make_seeds.py): code pages, names three ways, what libytnef 2.0 chokes on
 * (a 150-byte subject, a 12000-byte icon, a long named property, PT_CURRENCY, a multi-valued
 * property last in its block), a name outside the BMP, RTF with \u, \'hh and a field. */
static void test_synthetic_code_pages(void **state)
{
	const struct want want[] = {
	    {"Отчёт 📎.pdf", "application/pdf", 521,
	     "1ce6fd0606193754530d0240b5aeba747c12bcbcc5bdae0568f019a110dc0762"},
	    {"Привет.txt", "text/plain", 6,
	     "3dc9aae309078c4cb7681132f7565b141aa1f91e64da206de1f3305def74bfcf"},
	    {"Сканер 2024.tiff", "image/tiff", 16,
	     "5196688e1eddd0ab6f506ab4f30a247c4374bb726d624ec15d09f4b412d610b2"},
	};
	GBytes *tnef = read_file("SPOC_TEST_DATA", "tnef/synthetic-1.tnef");
	struct errbuf err;
	GPtrArray *files;
	char *body;

	(void)state;
	assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	check_files(files, want, G_N_ELEMENTS(want));
	/* \ansicpg1251 applies to \'e9 as well, which makes it й */
	assert_string_equal(body, "Принтер не\nenlace cafй\tfin\n😀");
	g_free(body);
	g_ptr_array_unref(files);
	g_bytes_unref(tnef);
}

static void test_synthetic_bodies(void **state)
{
	const struct want nameless[] = {
	    {NULL, "application/octet-stream", 8,
	     "4c4b6a3be1314ab86138bef4314dde022e600960d8689a2c8f8631802d20dab6"}};
	GBytes *tnef = read_file("SPOC_TEST_DATA", "tnef/synthetic-2.tnef");
	struct errbuf err;
	GPtrArray *files;
	char *body;

	(void)state;
	/* PR_BODY wins over the down-level attBody */
	assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	check_files(files, nameless, 1);
	assert_string_equal(body, "Hola,\nla impresora no funciona.");
	g_free(body);
	g_ptr_array_unref(files);
	g_bytes_unref(tnef);

	/* RTF that wraps HTML is read as the HTML */
	tnef = read_file("SPOC_TEST_DATA", "tnef/synthetic-3.tnef");
	assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
	assert_int_equal(files->len, 0);
	assert_string_equal(body, "Buenos días\n\nel servidor no arranca & nada");
	g_free(body);
	g_ptr_array_unref(files);
	g_bytes_unref(tnef);

	/* the cut-down MimeKit sample that seeds the fuzzer */
	tnef = read_file("SPOC_TEST_DATA", "tnef/rich-text-small.tnef");
	{
		const struct want want[] = {
		    {kitten.name, kitten.type, 64,
		     "ccdbf108328a7937ec8765ea0d999031e9c227b8cc6504f17a49fd2f82312e68"},
		    train_table};

		assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
		assert_string_equal(err.msg, "");
		check_files(files, want, G_N_ELEMENTS(want));
		assert_int_equal(strlen(body), 1807);
	}
	g_free(body);
	g_ptr_array_unref(files);
	g_bytes_unref(tnef);
}

static GBytes *with_attr(GBytes *base, guint8 level, guint32 id, const void *data, guint32 len)
{
	GByteArray *out = g_byte_array_new();
	guint8 head[9] = {level,
			  (guint8)id,
			  (guint8)(id >> 8),
			  (guint8)(id >> 16),
			  (guint8)(id >> 24),
			  (guint8)len,
			  (guint8)(len >> 8),
			  (guint8)(len >> 16),
			  (guint8)(len >> 24)};
	guint16 sum = 0;

	for (guint32 i = 0; i < len; i++)
		sum = (guint16)(sum + ((const guint8 *)data)[i]);
	g_byte_array_append(out, g_bytes_get_data(base, NULL), (guint)g_bytes_get_size(base));
	g_byte_array_append(out, head, sizeof(head));
	g_byte_array_append(out, data, len);
	g_byte_array_append(out, (const guint8[]){(guint8)sum, (guint8)(sum >> 8)}, 2);
	return g_byte_array_free_to_bytes(out);
}

static void expect_eperm(GBytes *bytes, const char *why)
{
	GPtrArray *files = (GPtrArray *)"unset";
	char *body = (char *)"unset";
	struct errbuf err;

	assert_int_equal(unpack(bytes, 0, 0, &files, &body, &err), SPOC_EPERM);
	assert_null(files);
	assert_null(body);
	if (strstr(err.msg, why) == NULL)
		fail_msg("error \"%s\" does not say \"%s\"", err.msg, why);
}

/* ---- streams made here ---- */

static void put32(GByteArray *b, guint32 v)
{
	guint8 le[4] = {(guint8)v, (guint8)(v >> 8), (guint8)(v >> 16), (guint8)(v >> 24)};

	g_byte_array_append(b, le, 4);
}

/* One MAPI property of a counted type (one value) or PT_LONG (len 0, value in v). */
static void put_prop(GByteArray *b, guint32 type, guint32 id, const void *data, guint32 len,
		     guint32 v)
{
	static const guint8 zero[4] = {0};

	put32(b, id << 16 | type);
	if (type == 0x3) {
		put32(b, v);
		return;
	}
	put32(b, 1);
	put32(b, len);
	g_byte_array_append(b, data, len);
	g_byte_array_append(b, zero, (-len) & 3);
}

/* A stream of a message property block holding one PR_RTF_COMPRESSED value stored
 * uncompressed (MELA). */
static GBytes *rtf_stream(const char *rtf)
{
	static const guint8 sig[] = {0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00};
	GBytes *head = g_bytes_new_static(sig, sizeof(sig)), *out;
	GByteArray *value = g_byte_array_new(), *block = g_byte_array_new();
	guint32 n = (guint32)strlen(rtf);

	put32(value, n + 12);
	put32(value, n);
	put32(value, 0x414C454D);
	put32(value, 0);
	g_byte_array_append(value, (const guint8 *)rtf, n);
	put32(block, 1);
	put_prop(block, 0x102, 0x1009, value->data, value->len, 0);
	out = with_attr(head, 1, 0x00069003, block->data, block->len);
	g_byte_array_unref(value);
	g_byte_array_unref(block);
	g_bytes_unref(head);
	return out;
}

static void expect_rtf(const char *rtf, const char *text)
{
	GBytes *tnef = rtf_stream(rtf);
	struct errbuf err;
	GPtrArray *files;
	char *body;

	assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
	if (g_strcmp0(body, text) != 0)
		fail_msg("RTF %s\n  got  \"%s\"\n  want \"%s\"", rtf, body ? body : "(null)",
			 text ? text : "(null)");
	g_free(body);
	g_ptr_array_unref(files);
	g_bytes_unref(tnef);
}

static void test_rtf(void **state)
{
	(void)state;
	expect_rtf("{\\rtf1\\ansi Hola\\par mundo}", "Hola\nmundo");
	/* \ucN: how many fallback characters follow \u; \'hh counts as one */
	expect_rtf("{\\rtf1\\uc2 a\\u8364\\'80\\'80 b\\uc0\\u8364  c}", "a€ b€ c");
	expect_rtf("{\\rtf1 {\\*\\unknown x}{\\fonttbl{\\f0 Arial;}}{\\info{\\title T}}v}", "v");
	expect_rtf("{\\rtf1 {\\pict\\wmetafile8 0102}\\bin3 {}xdone}", "done");
	expect_rtf("{\\rtf1\\ansi\\ansicpg932 \\'82\\'a0\\'82\\'a2}", "あい");
	expect_rtf("{\\rtf1 a\\tab b\\cell c\\row d\\~e\\_f\\{\\}\\\\}", "a\tb\tc\nd e-f{}\\");
	expect_rtf("{\\rtf1 \\ldblquote x\\rdblquote \\emdash \\bullet}",
		   "\xe2\x80\x9cx\xe2\x80\x9d"
		   "\xe2\x80\x94\xe2\x80\xa2");
	/* a lone surrogate, \u0, an unknown byte in the code page */
	expect_rtf("{\\rtf1 \\u-10179?x\\u0?\\'81}", "\xef\xbf\xbdx\xef\xbf\xbd\xc2\x81");
	/* unbalanced, cut short, empty */
	expect_rtf("{\\rtf1 a}}}} b", "a b");
	expect_rtf("{\\rtf1 abc\\", "abc");
	expect_rtf("{\\rtf1 {\\*}x\\'4", "x4"); /* a cut-off hex escape is text */
	expect_rtf("{\\rtf1}", NULL);
	/* far deeper than the stack keeps */
	{
		GString *g = g_string_new("{\\rtf1 a");

		for (int i = 0; i < 100000; i++)
			g_string_append(g, "{\\b ");
		g_string_append(g, "b");
		for (int i = 0; i < 100000; i++)
			g_string_append_c(g, '}');
		g_string_append(g, "c}");
		expect_rtf(g->str, "abc");
		g_string_free(g, TRUE);
	}
}

/* A stream whose PR_RTF_COMPRESSED value (of about value_len bytes, under libytnef's 512 KiB)
 * expands as much as the format allows: "{\rtf1 x", then units of a flag byte and eight
 * references that each copy 17 'x' from just behind: 136 bytes out for 17 in. */
static GBytes *rtf_bomb_stream(size_t value_len)
{
	static const guint8 sig[] = {0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00};
	GBytes *head = g_bytes_new_static(sig, sizeof(sig)), *out;
	GByteArray *value = g_byte_array_new(), *block = g_byte_array_new();
	size_t w = 207; /* where the dictionary's initial contents end */

	put32(value, 0);
	put32(value, 0xFFFFFFFFu); /* the raw size it claims */
	put32(value, 0x75465A4C);  /* "LZFu" */
	put32(value, 0);
	g_byte_array_append(value, (const guint8 *)"\0{\\rtf1 x", 9);
	w += 8;
	while (value->len + 17 <= value_len) {
		guint8 unit[17] = {0xFF};

		for (int k = 0; k < 8; k++) {
			size_t off = (w - 1) & 4095;

			unit[1 + 2 * k] = (guint8)(off >> 4);
			unit[2 + 2 * k] = (guint8)((off & 0x0F) << 4 | 0x0F);
			w += 17;
		}
		g_byte_array_append(value, unit, 17);
	}
	value->data[0] = (guint8)(value->len - 4);
	value->data[1] = (guint8)((value->len - 4) >> 8);
	value->data[2] = (guint8)((value->len - 4) >> 16);
	put32(block, 1);
	put_prop(block, 0x102, 0x1009, value->data, value->len, 0);
	out = with_attr(head, 1, 0x00069003, block->data, block->len);
	g_byte_array_unref(value);
	g_byte_array_unref(block);
	g_bytes_unref(head);
	return out;
}

/* Compressed RTF of maximal expansion (half a megabyte that makes 4 MiB) stops at the cap the
 * caller gives, and never past TNEF_MAX_RTF_BYTES, saying so; through mime_parse() the cap is
 * max_attachment_bytes and the note is listed under it. */
static void test_rtf_expansion_capped(void **state)
{
	const size_t caps[] = {65536, 0, (size_t)100 << 20};
	const size_t want[] = {65536, TNEF_MAX_RTF_BYTES, TNEF_MAX_RTF_BYTES};
	GBytes *tnef = rtf_bomb_stream(500 * 1024);
	const struct mime_limits lim = {.max_attachment_bytes = 65536, .max_parts = 500};
	const struct mail_limit_hit *hit;
	char *b64, *note;
	GString *raw;
	struct mail *m = NULL;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(caps); i++) {
		gsize len = g_bytes_get_size(tnef);
		void *copy = g_memdup2(g_bytes_get_data(tnef, NULL), len);
		struct errbuf err;
		GPtrArray *files;
		char *body = NULL;

		assert_int_equal(tnef_unpack(copy, len, 0, 0, caps[i], &files, &body, &err),
				 SPOC_OK);
		/* everything after "{\rtf1 " is text */
		assert_int_equal(strlen(body), want[i] - 7);
		assert_int_equal(strspn(body, "x"), want[i] - 7);
		note = g_strdup_printf("the message's rich text over %zu bytes once decompressed: "
				       "its text after that left out",
				       want[i]);
		assert_string_equal(err.msg, note);
		g_free(note);
		g_free(body);
		g_ptr_array_unref(files);
		g_free(copy);
	}

	b64 = g_base64_encode(g_bytes_get_data(tnef, NULL), g_bytes_get_size(tnef));
	raw = g_string_new("From: a@example.com\nSubject: rich\n"
			   "Content-Type: multipart/mixed; boundary=b\n\n--b\n"
			   "Content-Type: application/ms-tnef; name=winmail.dat\n"
			   "Content-Transfer-Encoding: base64\n\n");
	g_string_append(raw, b64);
	g_string_append(raw, "\n--b--\n");
	assert_int_equal(mime_parse(raw->str, raw->len, &lim, &m, NULL), SPOC_OK);
	assert_string_equal(m->body_source, "tnef");
	assert_int_equal(strlen(m->text), 65536 - 7);
	assert_int_equal(m->limits_hit->len, 1);
	hit = g_ptr_array_index(m->limits_hit, 0);
	assert_string_equal(hit->limit, "max_attachment_bytes");
	assert_string_equal(hit->detail, "winmail.dat: the message's rich text over 65536 bytes "
					 "once decompressed: its text after that left out");
	mail_free(&m);
	g_string_free(raw, TRUE);
	g_free(b64);
	g_bytes_unref(tnef);
}

/* Compressed RTF cut short, with a bad magic, or whose size fields lie. */
static void test_lzfu_edges(void **state)
{
	static const guint8 sig[] = {0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00};
	/* "{\rtf1" from the dictionary (offset 0, length 6), then " hi}" and the end marker */
	static const guint8 good[] = {0x15, 0x00, 0x00, 0x00, 0x0a, 0x00, 0x00, 0x00, 0x4c,
				      0x5a, 0x46, 0x75, 0x00, 0x00, 0x00, 0x00, 0x21, 0x00,
				      0x04, ' ',  'h',	'i',  '}',  0x0d, 0x90};
	GBytes *head = g_bytes_new_static(sig, sizeof(sig));

	(void)state;
	for (size_t cut = 0; cut <= sizeof(good); cut++) {
		for (int variant = 0; variant < 4; variant++) {
			GByteArray *value = g_byte_array_new(), *block = g_byte_array_new();
			GBytes *tnef;
			struct errbuf err;
			GPtrArray *files;
			char *body;

			g_byte_array_append(value, good, (guint)cut);
			if (variant == 1 && cut >= 8)
				value->data[4] = 0xff; /* claims 255 bytes */
			if (variant == 2 && cut >= 8)
				memset(value->data + 4, 0xff, 4); /* claims 4 GB */
			if (variant == 3 && cut >= 12)
				value->data[8] = 'X'; /* unknown magic */
			put32(block, 1);
			put_prop(block, 0x102, 0x1009, value->data, value->len, 0);
			tnef = with_attr(head, 1, 0x00069003, block->data, block->len);
			assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
			if (cut == sizeof(good) && variant < 3)
				assert_string_equal(body, "hi");
			assert_true(body == NULL || g_utf8_validate(body, -1, NULL));
			g_free(body);
			g_ptr_array_unref(files);
			g_bytes_unref(tnef);
			g_byte_array_unref(value);
			g_byte_array_unref(block);
		}
	}
	g_bytes_unref(head);
}

/* What libytnef still refuses after the filtering (here a value over its 512 KB) costs only that
 * block: the attachment keeps its title and data, the message its down-level body. */
static void test_libytnef_refuses(void **state)
{
	static const guint8 sig[] = {0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00};
	static const guint8 rend[14] = {1, 0, 0, 0, 0, 0, 32, 0, 32, 0, 0, 0, 0, 0};
	const struct want want[] = {{"REPORT~1.TXT", "text/plain", 5, NULL},
				    {"otro.txt", "text/plain", 3, NULL}};
	GBytes *head = g_bytes_new_static(sig, sizeof(sig)), *b[8];
	GByteArray *big = g_byte_array_new(), *small = g_byte_array_new();
	char *huge = g_strnfill(600 * 1024, 'x');
	struct errbuf err;
	GPtrArray *files;
	char *body;

	(void)state;
	put32(big, 2);
	put_prop(big, 0x1E, 0x3707, "largo.txt", 10, 0);
	put_prop(big, 0x1E, 0x3001, huge, (guint32)strlen(huge) + 1, 0);
	put32(small, 1);
	put_prop(small, 0x1E, 0x3707, "otro.txt", 9, 0);
	b[0] = with_attr(head, 1, 0x0002800C, "cuerpo\0", 7);
	b[1] = with_attr(b[0], 1, 0x00069003, big->data, big->len);
	b[2] = with_attr(b[1], 2, 0x00069002, rend, sizeof(rend));
	b[3] = with_attr(b[2], 2, 0x00018010, "REPORT~1.TXT", 13);
	b[4] = with_attr(b[3], 2, 0x0006800F, "hola\n", 5);
	b[5] = with_attr(b[4], 2, 0x00069005, big->data, big->len);
	b[6] = with_attr(b[5], 2, 0x00069002, rend, sizeof(rend));
	b[7] = with_attr(b[6], 2, 0x00069005, small->data, small->len);
	{
		GBytes *last = with_attr(b[7], 2, 0x0006800F, "abc", 3);

		assert_int_equal(unpack(last, 0, 0, &files, &body, &err), SPOC_OK);
		check_files(files, want, G_N_ELEMENTS(want));
		assert_string_equal(body, "cuerpo");
		assert_string_equal(err.msg,
				    "libytnef could not read the message's properties, so not its "
				    "text; attachment 1: libytnef could not read its properties, "
				    "kept its short name and data");
		g_free(body);
		g_ptr_array_unref(files);
		g_bytes_unref(last);
	}
	for (size_t i = 0; i < G_N_ELEMENTS(b); i++)
		g_bytes_unref(b[i]);
	g_byte_array_unref(big);
	g_byte_array_unref(small);
	g_free(huge);
	g_bytes_unref(head);
}

static void test_not_tnef(void **state)
{
	static const guint8 sig[] = {0x78, 0x9F, 0x3E, 0x22, 0x01, 0x00};
	GBytes *head = g_bytes_new_static(sig, sizeof(sig)), *b, *c;
	GPtrArray *files;
	struct errbuf err;
	GRand *rand = g_rand_new_with_seed(20240501);

	(void)state;
	assert_int_equal(tnef_unpack(NULL, 0, 0, 0, 0, &files, NULL, &err), SPOC_EPERM);
	assert_string_equal(err.msg, "not TNEF: 0 bytes");
	b = g_bytes_new_static("", 0);
	expect_eperm(b, "not TNEF: 0 bytes");
	g_bytes_unref(b);
	expect_eperm(head, "not TNEF: 6 bytes");

	b = g_bytes_new_static("\x79\x9F\x3E\x22\x01\x00\x01\x06\x90\x08\x00\x04\x00\x00\x00"
			       "\x00\x00\x01\x00\x01\x00",
			       21);
	expect_eperm(b, "no TNEF signature");
	g_bytes_unref(b);

	/* an attribute that says it is longer than what is left */
	b = with_attr(head, 1, 0x00069003, "\x01\x00\x00\x00", 4);
	{
		GByteArray *longer = g_byte_array_new();

		g_byte_array_append(longer, g_bytes_get_data(b, NULL), (guint)g_bytes_get_size(b));
		longer->data[14] = 0x40; /* the length's high byte: 0x40000004 */
		c = g_byte_array_free_to_bytes(longer);
		expect_eperm(c,
			     "attMsgProps 0x00069003 at offset 6: length 1073741828 past the end");
		g_bytes_unref(c);
	}
	g_bytes_unref(b);

	/* a bad checksum */
	b = with_attr(head, 2, 0x00069002,
		      "\x01\x00\x00\x00\x00\x00\x20\x00\x20\x00\x00\x00\x00\x00", 14);
	{
		GByteArray *bad = g_byte_array_new();

		g_byte_array_append(bad, g_bytes_get_data(b, NULL), (guint)g_bytes_get_size(b));
		bad->data[bad->len - 1] ^= 0x10;
		c = g_byte_array_free_to_bytes(bad);
		expect_eperm(c, "attAttachRendData 0x00069002 at offset 6: bad checksum");
		g_bytes_unref(c);
	}

	/* the same attribute twice in one attachment */
	c = with_attr(b, 2, 0x0006800F, "abc", 3);
	g_bytes_unref(b);
	b = with_attr(c, 2, 0x0006800F, "def", 3);
	expect_eperm(b, "attAttachData 0x0006800f at offset 45 repeated");
	g_bytes_unref(b);
	g_bytes_unref(c);

	/* random bytes, with and without the signature in front */
	for (int i = 0; i < 2000; i++) {
		gsize len = (gsize)g_rand_int_range(rand, 0, 2048);
		guint8 *buf = g_malloc(len + 1);
		char *body;

		for (gsize k = 0; k < len; k++)
			buf[k] = (guint8)g_rand_int(rand);
		if (i % 2 == 0 && len >= sizeof(sig))
			memcpy(buf, sig, sizeof(sig));
		if (tnef_unpack(buf, len, 0, 0, 0, &files, &body, &err) == SPOC_OK) {
			g_ptr_array_unref(files);
			g_free(body);
		}
		g_free(buf);
	}
	g_rand_free(rand);
	g_bytes_unref(head);
}

/* Offsets where an attribute ends, for a stream whose framing is sound. */
static GArray *boundaries(GBytes *bytes)
{
	gsize len;
	const guint8 *p = g_bytes_get_data(bytes, &len);
	GArray *ends = g_array_new(FALSE, FALSE, sizeof(gsize));
	gsize off = 6;

	while (off + 11 <= len) {
		guint32 n =
		    p[off + 5] | p[off + 6] << 8 | p[off + 7] << 16 | (guint32)p[off + 8] << 24;

		if (n > len - off - 11)
			break;
		off += 11 + n;
		g_array_append_val(ends, off);
	}
	return ends;
}

/* Every result of a successful unpack is well-formed and no bigger than the input. */
static void check_sane(GPtrArray *files, const char *body, gsize len)
{
	gsize total = 0;

	for (guint i = 0; i < files->len; i++) {
		const struct tnef_file *f = files->pdata[i];

		assert_true(f->name == NULL || g_utf8_validate(f->name, -1, NULL));
		assert_non_null(strchr(f->content_type, '/'));
		total += g_bytes_get_size(f->data);
	}
	assert_true(total <= len);
	assert_true(body == NULL || g_utf8_validate(body, -1, NULL));
}

static const char *const samples[] = {
    "tnef/synthetic-1.tnef",	    "tnef/synthetic-2.tnef",
    "tnef/synthetic-3.tnef",	    "tnef/synthetic-note.tnef",
    "tnef/synthetic-report.tnef",   "tnef/rich-text-small.tnef",
    "tnef/rich-text-embedded.tnef", "tnef/sisimai-amazonworkmail-03.tnef"};

static void test_every_prefix(void **state)
{
	(void)state;
	for (size_t s = 0; s < G_N_ELEMENTS(samples); s++) {
		GBytes *whole = read_file("SPOC_TEST_DATA", samples[s]);
		GArray *ends = boundaries(whole);
		gsize max = MIN(g_bytes_get_size(whole), 4096);
		guint next = 0;

		for (gsize len = 0; len <= max; len++) {
			GBytes *prefix = g_bytes_new_from_bytes(whole, 0, len);
			gboolean boundary = FALSE;
			GPtrArray *files;
			struct errbuf err;
			char *body;
			int rc;

			while (next < ends->len && g_array_index(ends, gsize, next) < len)
				next++;
			boundary = next < ends->len && g_array_index(ends, gsize, next) == len;
			rc = unpack(prefix, 0, 0, &files, &body, &err);
			if (rc != (boundary ? SPOC_OK : SPOC_EPERM))
				fail_msg("%s cut at %zu: rc %d (%s)", samples[s], len, rc, err.msg);
			if (rc == SPOC_OK) {
				check_sane(files, body, len);
				g_ptr_array_unref(files);
				g_free(body);
			}
			g_bytes_unref(prefix);
		}
		g_array_unref(ends);
		g_bytes_unref(whole);
	}
}

/* Rewrites every attribute's checksum so that flipped bytes get past the framing check and
 * reach libytnef and the RTF reader. */
static void fix_checksums(guint8 *p, gsize len)
{
	gsize off = 6;

	while (off + 11 <= len) {
		guint32 n =
		    p[off + 5] | p[off + 6] << 8 | p[off + 7] << 16 | (guint32)p[off + 8] << 24;
		guint16 sum = 0;

		if (n > len - off - 11)
			return;
		for (guint32 i = 0; i < n; i++)
			sum = (guint16)(sum + p[off + 9 + i]);
		p[off + 9 + n] = (guint8)sum;
		p[off + 10 + n] = (guint8)(sum >> 8);
		off += 11 + n;
	}
}

static void test_flipped_bytes(void **state)
{
	GRand *rand = g_rand_new_with_seed(7);
	int ok = 0, refused = 0;

	(void)state;
	for (size_t s = 0; s < G_N_ELEMENTS(samples); s++) {
		GBytes *whole = read_file("SPOC_TEST_DATA", samples[s]);
		gsize len;
		const guint8 *orig = g_bytes_get_data(whole, &len);

		for (int i = 0; i < 1500; i++) {
			guint8 *buf = g_memdup2(orig, len);
			int flips = g_rand_int_range(rand, 1, 5);
			GPtrArray *files;
			struct errbuf err;
			char *body;

			for (int k = 0; k < flips; k++) {
				/* half the time near the front, where the framing and the
				 * property headers are */
				gsize at = (gsize)g_rand_int_range(
				    rand, 0, (gint32)(i % 2 ? len : MIN(len, 256)));

				buf[at] ^= (guint8)g_rand_int_range(rand, 1, 256);
			}
			if (i % 3 != 0)
				fix_checksums(buf, len);
			if (tnef_unpack(buf, len, 0, 0, 0, &files, &body, &err) == SPOC_OK) {
				check_sane(files, body, len);
				g_ptr_array_unref(files);
				g_free(body);
				ok++;
			} else {
				refused++;
			}
			g_free(buf);
		}
		g_bytes_unref(whole);
	}
	/* both ways were taken */
	assert_true(ok > 1000);
	assert_true(refused > 1000);
	g_rand_free(rand);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_note),
	    cmocka_unit_test(test_note_embedded_messages),
	    cmocka_unit_test(test_reports),
	    cmocka_unit_test(test_labelled_but_not_tnef),
	    cmocka_unit_test(test_note_limits),
	    cmocka_unit_test(test_synthetic_code_pages),
	    cmocka_unit_test(test_synthetic_bodies),
	    cmocka_unit_test(test_rtf),
	    cmocka_unit_test(test_rtf_expansion_capped),
	    cmocka_unit_test(test_lzfu_edges),
	    cmocka_unit_test(test_libytnef_refuses),
	    cmocka_unit_test(test_not_tnef),
	    cmocka_unit_test(test_every_prefix),
	    cmocka_unit_test(test_flipped_bytes),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
