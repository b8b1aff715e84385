/* Unit tests of rtf.c: compressed RTF as MS-OXRTFCP's own examples write it, then cut short,
 * with a wrong CRC or type, over the caller's cap, and with a declared size that lies (the
 * expansion bomb: a few bytes that claim 4 GiB, or that really expand eightfold); RTF turned into
 * text, and Windows code pages. The RTF reader is tested through TNEF streams in test_tnef.c too.
 */
#include "rtf.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

/* MS-OXRTFCP 4.1 and 4.2: a simple stream, and one whose references run over what they write. */
static const guint8 ex_simple[] = {0x2d, 0x00, 0x00, 0x00, 0x2b, 0x00, 0x00, 0x00, 0x4c, 0x5a,
				   0x46, 0x75, 0xf1, 0xc5, 0xc7, 0xa7, 0x03, 0x00, 0x0a, 0x00,
				   0x72, 0x63, 0x70, 0x67, 0x31, 0x32, 0x35, 0x42, 0x32, 0x0a,
				   0xf3, 0x20, 0x68, 0x65, 0x6c, 0x09, 0x00, 0x20, 0x62, 0x77,
				   0x05, 0xb0, 0x6c, 0x64, 0x7d, 0x0a, 0x80, 0x0f, 0xa0};
static const char ex_simple_rtf[] = "{\\rtf1\\ansi\\ansicpg1252\\pard hello world}\r\n";
static const guint8 ex_run[] = {0x1a, 0x00, 0x00, 0x00, 0x1c, 0x00, 0x00, 0x00, 0x4c, 0x5a,
				0x46, 0x75, 0xe2, 0xd4, 0x4b, 0x51, 0x41, 0x00, 0x04, 0x20,
				0x57, 0x58, 0x59, 0x5a, 0x0d, 0x6e, 0x7d, 0x01, 0x0e, 0xb0};
static const char ex_run_rtf[] = "{\\rtf1 WXYZWXYZWXYZWXYZWXYZ}";

static void put32(guint8 *p, guint32 v)
{
	p[0] = (guint8)v;
	p[1] = (guint8)(v >> 8);
	p[2] = (guint8)(v >> 16);
	p[3] = (guint8)(v >> 24);
}

/* Decompresses data with max_out; checks the result is SPOC_OK with the flaws given and that the
 * message is empty exactly when there are none; returns the RTF (caller unrefs). */
static GByteArray *decompress(const void *data, size_t len, size_t max_out, unsigned flaws,
			      struct errbuf *err)
{
	GByteArray *rtf = NULL;
	unsigned got = 0xFFFF;

	assert_int_equal(rtf_decompress(data, len, max_out, &rtf, &got, err), SPOC_OK);
	assert_non_null(rtf);
	if (got != flaws)
		fail_msg("flaws 0x%x, want 0x%x (%s)", got, flaws, err->msg);
	assert_int_equal(err->msg[0] == '\0', flaws == 0);
	return rtf;
}

static void assert_rtf(const GByteArray *rtf, const char *want, size_t n)
{
	assert_int_equal(rtf->len, n);
	assert_memory_equal(rtf->data, want, n);
}

static void test_valid(void **state)
{
	struct errbuf err;
	GByteArray *rtf;
	guint8 stored[16 + 5];

	(void)state;
	rtf = decompress(ex_simple, sizeof(ex_simple), 1 << 20, 0, &err);
	assert_rtf(rtf, ex_simple_rtf, strlen(ex_simple_rtf));
	g_byte_array_unref(rtf);
	rtf = decompress(ex_run, sizeof(ex_run), 1 << 20, 0, &err);
	assert_rtf(rtf, ex_run_rtf, strlen(ex_run_rtf));
	g_byte_array_unref(rtf);
	/* the cap may be exactly the size; flaws_r and err may be NULL */
	assert_int_equal(
	    rtf_decompress(ex_run, sizeof(ex_run), strlen(ex_run_rtf), &rtf, NULL, NULL), SPOC_OK);
	assert_rtf(rtf, ex_run_rtf, strlen(ex_run_rtf));
	g_byte_array_unref(rtf);
	/* stored ("MELA"), with its CRC of 0 */
	put32(stored, 12 + 5);
	put32(stored + 4, 5);
	memcpy(stored + 8, "MELA", 4);
	put32(stored + 12, 0);
	memcpy(stored + 16, "{\\b}x", 5);
	rtf = decompress(stored, sizeof(stored), 100, 0, &err);
	assert_rtf(rtf, "{\\b}x", 5);
	g_byte_array_unref(rtf);
}

/* Every cut of a valid stream: too short for a header is refused; after that, what the bytes
 * there give, a prefix of the whole, said to be cut short: without its end marker even when
 * all of the text came out. */
static void test_truncated(void **state)
{
	(void)state;
	for (size_t cut = 0; cut < sizeof(ex_simple); cut++) {
		struct errbuf err;
		GByteArray *rtf = NULL;
		unsigned flaws = 0;
		int rc = rtf_decompress(ex_simple, cut, 1 << 20, &rtf, &flaws, &err);

		if (cut < 16) {
			assert_int_equal(rc, SPOC_EPERM);
			assert_null(rtf);
			assert_non_null(strstr(err.msg, "shorter than its 16-byte header"));
			continue;
		}
		assert_int_equal(rc, SPOC_OK);
		assert_true((flaws & RTF_CUT_SHORT) != 0);
		assert_true(rtf->len <= strlen(ex_simple_rtf));
		assert_memory_equal(rtf->data, ex_simple_rtf, rtf->len);
		assert_non_null(strstr(err.msg, "input ends after"));
		g_byte_array_unref(rtf);
	}
	assert_int_equal(rtf_decompress(NULL, 0, 100, &(GByteArray *){NULL}, NULL, NULL),
			 SPOC_EPERM);
}

static void test_bad_crc_and_type(void **state)
{
	guint8 copy[sizeof(ex_simple)];
	struct errbuf err;
	GByteArray *rtf = NULL;

	(void)state;
	/* a wrong CRC is said, the text still read */
	memcpy(copy, ex_simple, sizeof(copy));
	copy[12] ^= 0x01;
	rtf = decompress(copy, sizeof(copy), 1 << 20, RTF_BAD_CRC, &err);
	assert_rtf(rtf, ex_simple_rtf, strlen(ex_simple_rtf));
	assert_string_equal(err.msg, "compressed RTF: CRC 0xa7c7c5f0, computed 0xa7c7c5f1");
	g_byte_array_unref(rtf);
	/* so is a changed literal, which changes the text */
	memcpy(copy, ex_simple, sizeof(copy));
	copy[20] = 'R';
	rtf = decompress(copy, sizeof(copy), 1 << 20, RTF_BAD_CRC, &err);
	assert_int_equal(rtf->len, strlen(ex_simple_rtf));
	g_byte_array_unref(rtf);
	/* a stored stream's CRC must be 0 */
	{
		guint8 stored[16 + 2] = {14,  0,   0,	0, 2, 0, 0, 0,	 'M',
					 'E', 'L', 'A', 1, 0, 0, 0, '{', '}'};

		rtf = decompress(stored, sizeof(stored), 100, RTF_BAD_CRC, &err);
		assert_rtf(rtf, "{}", 2);
		g_byte_array_unref(rtf);
	}
	/* another type is not compressed RTF at all */
	memcpy(copy, ex_simple, sizeof(copy));
	memcpy(copy + 8, "LZFv", 4);
	rtf = NULL;
	assert_int_equal(rtf_decompress(copy, sizeof(copy), 1 << 20, &rtf, NULL, &err), SPOC_EPERM);
	assert_null(rtf);
	assert_string_equal(err.msg, "not compressed RTF: type 0x76465a4c");
}

/* The caller's cap holds wherever it falls, and is said. */
static void test_cap(void **state)
{
	(void)state;
	for (size_t cap = 0; cap < strlen(ex_run_rtf); cap++) {
		struct errbuf err;
		GByteArray *rtf = decompress(ex_run, sizeof(ex_run), cap, RTF_CAPPED, &err);
		char *want =
		    g_strdup_printf("compressed RTF: cut at max %zu bytes of 28 declared", cap);

		assert_rtf(rtf, ex_run_rtf, cap);
		assert_string_equal(err.msg, want);
		g_free(want);
		g_byte_array_unref(rtf);
	}
}

/* A stream of n bytes of input that claims 4 GiB and writes eight bytes for every one: a flag
 * byte, then eight references of the longest length (17), none of them the end marker. */
static GByteArray *bomb(size_t n)
{
	GByteArray *b = g_byte_array_sized_new((guint)n);
	guint8 head[16];
	size_t w = 207; /* where the dictionary's initial contents end */

	put32(head, (guint32)(n - 4));
	put32(head + 4, 0xFFFFFFFFu);
	memcpy(head + 8, "LZFu", 4);
	put32(head + 12, 0);
	g_byte_array_append(b, head, 16);
	while (b->len + 17 <= n) {
		guint8 unit[17] = {0xFF};

		for (int k = 0; k < 8; k++) {
			size_t off = (w + 2048) & 4095;

			unit[1 + 2 * k] = (guint8)(off >> 4);
			unit[2 + 2 * k] = (guint8)((off & 0x0F) << 4 | 0x0F);
			w = (w + 17) & 4095;
		}
		g_byte_array_append(b, unit, 17);
	}
	put32(b->data, b->len - 4);
	return b;
}

/* Declared sizes that lie: larger than the data (the end marker comes first), smaller (cut at the
 * declared size), and 4 GiB over an eightfold expansion, which only the cap bounds. */
static void test_declared_size_lies(void **state)
{
	guint8 copy[sizeof(ex_simple)];
	struct errbuf err;
	GByteArray *rtf, *b;
	gint64 start;

	(void)state;
	memcpy(copy, ex_simple, sizeof(copy));
	put32(copy + 4, 0xFFFFFFFFu);
	rtf = decompress(copy, sizeof(copy), 64 << 20, RTF_SIZE_MISMATCH, &err);
	assert_rtf(rtf, ex_simple_rtf, strlen(ex_simple_rtf));
	assert_string_equal(err.msg, "compressed RTF: declares 4294967295 bytes, holds fewer");
	g_byte_array_unref(rtf);
	put32(copy + 4, 10);
	rtf = decompress(copy, sizeof(copy), 64 << 20, RTF_SIZE_MISMATCH, &err);
	assert_rtf(rtf, ex_simple_rtf, 10);
	assert_string_equal(err.msg, "compressed RTF: declares 10 bytes, holds more");
	g_byte_array_unref(rtf);
	/* a stored stream that holds more than it declares */
	{
		guint8 stored[16 + 4] = {16,  0,   0, 0, 2, 0, 0,   0,	 'M', 'E',
					 'L', 'A', 0, 0, 0, 0, '{', '}', 'x', 'y'};

		rtf = decompress(stored, sizeof(stored), 100, RTF_SIZE_MISMATCH, &err);
		assert_rtf(rtf, "{}", 2);
		g_byte_array_unref(rtf);
		put32(stored + 4, 1000);
		rtf = decompress(stored, sizeof(stored), 100, RTF_CUT_SHORT, &err);
		assert_rtf(rtf, "{}xy", 4);
		g_byte_array_unref(rtf);
		rtf = decompress(stored, sizeof(stored), 3, RTF_CAPPED, &err);
		assert_rtf(rtf, "{}x", 3);
		g_byte_array_unref(rtf);
	}

	b = bomb(1 << 20);
	start = g_get_monotonic_time();
	rtf = decompress(b->data, b->len, 64 * 1024, RTF_CAPPED | RTF_BAD_CRC, &err);
	assert_int_equal(rtf->len, 64 * 1024);
	g_byte_array_unref(rtf);
	/* uncapped in all but name: eight bytes out per byte in, and no more */
	rtf = decompress(b->data, b->len, G_MAXSIZE, RTF_CUT_SHORT | RTF_BAD_CRC, &err);
	assert_int_equal(rtf->len, (b->len - 16) / 17 * 8 * 17);
	assert_true(g_get_monotonic_time() - start < 10 * G_USEC_PER_SEC);
	g_byte_array_unref(rtf);
	g_byte_array_unref(b);
}

static void expect_text(const char *rtf, const char *want)
{
	char *got = rtf_to_text(rtf, strlen(rtf));

	assert_true(g_utf8_validate(got, -1, NULL));
	if (strcmp(got, want) != 0)
		fail_msg("rtf_to_text(%s)\n  got  \"%s\"\n  want \"%s\"", rtf, got, want);
	g_free(got);
}

static void test_to_text(void **state)
{
	GByteArray *rtf;
	char *text;

	(void)state;
	rtf = decompress(ex_simple, sizeof(ex_simple), 1 << 20, 0, &(struct errbuf){""});
	text = rtf_to_text(rtf->data, rtf->len);
	assert_string_equal(text, "hello world");
	g_free(text);
	g_byte_array_unref(rtf);
	expect_text("{\\rtf1\\ansi Hola\\par mundo}", "Hola\nmundo");
	expect_text("{\\rtf1\\ansi\\ansicpg1251 \\'cf\\'f0\\'e8}", "При");
	expect_text("{\\rtf1 {\\*\\htmltag <b>}x}", "x");
	expect_text("{\\rtf1\\fromhtml1 {\\*\\htmltag <p>}\\htmlrtf no\\htmlrtf0 si"
		    "{\\*\\htmltag </p>}}",
		    "si");
	expect_text("", "");
	text = rtf_to_text(NULL, 5);
	assert_string_equal(text, "");
	g_free(text);
}

static void test_codepage(void **state)
{
	static const struct {
		const char *in;
		size_t n;
		guint32 cp;
		const char *want;
	} cases[] = {
	    {"caf\xe9", 4, 0, "café"}, /* 0: Windows-1252 */
	    {"\xcf\xf0\xe8", 3, 1251, "При"},
	    {"ab\0cd", 5, 1252, "ab"}, /* up to the first NUL */
	    /* UTF-8 that is not valid in the code page is taken as UTF-8 */
	    {"\xe3\x81\x82", 3, 20127, "あ"},
	    /* no such code page, no UTF-8: Windows-1252, else (0x81 is none) Latin-1 */
	    {"\x80", 1, 70000, "€"},
	    {"\x80\x81", 2, 70000, "\xc2\x80\xc2\x81"},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *s = rtf_codepage_to_utf8(cases[i].in, cases[i].n, cases[i].cp);

		assert_string_equal(s, cases[i].want);
		g_free(s);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid),
	    cmocka_unit_test(test_truncated),
	    cmocka_unit_test(test_bad_crc_and_type),
	    cmocka_unit_test(test_cap),
	    cmocka_unit_test(test_declared_size_lies),
	    cmocka_unit_test(test_to_text),
	    cmocka_unit_test(test_codepage),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
