/* Unit tests of text.c: the visible form of strangers' text for a terminal (every control, bidi
 * and invisible character and every byte that is not UTF-8 as an escape), its cut to a table's
 * column, the columns text takes, and JSON made safe for a terminal without changing what it
 * says. */
#include "text.h"

#include "testlib.h"

#include <string.h>

/* text_for_terminal() of the first len bytes of s compared with want. */
static void expect(const char *s, gssize len, enum text_terminal how, const char *want)
{
	char *got = text_for_terminal(s, len, how);

	assert_string_equal(got, want);
	g_free(got);
}

static void expect_line(const char *s, const char *want)
{
	expect(s, -1, TEXT_TERMINAL_LINE, want);
}

static void expect_cut(const char *s, glong columns, const char *want)
{
	char *got = text_for_terminal_cut(s, -1, columns);

	assert_string_equal(got, want);
	assert_true(text_columns(got) <= columns);
	g_free(got);
}

/* TRUE when s holds no byte a terminal acts on: no C0 control but newline and tab when lines
 * are kept, no DEL, valid UTF-8 with no character text_terminal_escapes() names. */
static gboolean harmless(const char *s, enum text_terminal how)
{
	if (!g_utf8_validate(s, -1, NULL))
		return FALSE;
	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (how == TEXT_TERMINAL_LINES && (c == '\n' || c == '\t'))
			continue;
		if (text_terminal_escapes(c))
			return FALSE;
	}
	return TRUE;
}

static void test_plain_text_unchanged(void **state)
{
	static const char *const texts[] = {
	    "La impresora de la planta 2 no imprime",
	    "Ana Pérez <ana@customer.test>",
	    "Ñandú, cigüeña, ÅÄÖ, Ελληνικά, Кириллица",
	    "日本語のテキスト、中文文本",
	    "שלום עולם and مرحبا (right-to-left letters without bidi controls)",
	    "C:\\Users\\ana\\informe.pdf", /* a backslash stays */
	    "❤️ 👍🏽 (emoji with a variation selector and a skin tone)",
	    "e\xcc\x81 (a combining accent)",
	    "",
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		expect(texts[i], -1, TEXT_TERMINAL_LINE, texts[i]);
		expect(texts[i], -1, TEXT_TERMINAL_LINES, texts[i]);
	}
	expect(NULL, -1, TEXT_TERMINAL_LINE, "");
}

static void test_c0_controls(void **state)
{
	(void)state;
	/* OSC 52: writes the operator's clipboard */
	expect_line("\x1b]52;c;ZWNobyBwd25lZAo=\x07", "\\e]52;c;ZWNobyBwd25lZAo=\\x07");
	/* clear screen, colours, a title */
	expect_line("\x1b[2Jbye\x1b[31mred\x1b[0m", "\\e[2Jbye\\e[31mred\\e[0m");
	expect_line("\x1b]0;root@prod\x1b\\", "\\e]0;root@prod\\e\\");
	expect_line("bell\x07 backspace\x08 ff\x0c vt\x0b so\x0e del\x7f",
		    "bell\\x07 backspace\\x08 ff\\x0c vt\\x0b so\\x0e del\\x7f");
	expect("a\0b", 3, TEXT_TERMINAL_LINE, "a\\x00b");
	expect("a\0b", 3, TEXT_TERMINAL_LINES, "a\\x00b");
	expect("\x1b", 1, TEXT_TERMINAL_LINES, "\\e");
}

static void test_lines(void **state)
{
	const char *text = "Hola,\n\tsangría\r\nfin\rFAKE\n";

	(void)state;
	/* a cell or a name is one line: nothing in it starts another */
	expect(text, -1, TEXT_TERMINAL_LINE, "Hola,\\n\\tsangría\\r\\nfin\\rFAKE\\n");
	/* a mail's text keeps its lines and tabs; CRLF is a line end; a lone CR (which would let
	 * the rest of the line overwrite its start) is shown */
	expect(text, -1, TEXT_TERMINAL_LINES, "Hola,\n\tsangría\nfin\\rFAKE\n");
	expect("\r", -1, TEXT_TERMINAL_LINES, "\\r");
	expect("end\r", -1, TEXT_TERMINAL_LINES, "end\\r");
}

static void test_c1_controls(void **state)
{
	(void)state;
	/* U+009B is CSI, U+009D OSC, U+009C ST, U+0085 NEL in a single character */
	expect_line("a\xc2\x9b"
		    "2Jb",
		    "a\\u009B2Jb");
	expect_line("\xc2\x9d"
		    "0;title\xc2\x9c",
		    "\\u009D0;title\\u009C");
	expect("x\xc2\x85y", -1, TEXT_TERMINAL_LINES, "x\\u0085y");
	for (gunichar c = 0x80; c <= 0x9f; c++) {
		char buf[8] = {0}, want[16];

		g_unichar_to_utf8(c, buf);
		g_snprintf(want, sizeof(want), "\\u%04X", c);
		expect_line(buf, want);
	}
	assert_false(text_terminal_escapes(0xA0)); /* no-break space is a space */
}

static void test_bidi_controls(void **state)
{
	static const gunichar bidi[] = {0x061C, 0x200E, 0x200F, 0x202A, 0x202B, 0x202C,
					0x202D, 0x202E, 0x2066, 0x2067, 0x2068, 0x2069};

	(void)state;
	/* "invoice.gnp.exe" would read as "invoice.exe.png" */
	expect_line("invoice.\xe2\x80\xae"
		    "gnp.exe",
		    "invoice.\\u202Egnp.exe");
	for (size_t i = 0; i < G_N_ELEMENTS(bidi); i++) {
		char buf[8] = {0}, want[16];

		g_unichar_to_utf8(bidi[i], buf);
		g_snprintf(want, sizeof(want), "\\u%04X", bidi[i]);
		expect_line(buf, want);
		expect(buf, -1, TEXT_TERMINAL_LINES, want);
	}
}

static void test_invisible_characters(void **state)
{
	static const struct {
		gunichar c;
		const char *want;
	} cases[] = {
	    {0x200B, "\\u200B"},      /* zero-width space */
	    {0x200C, "\\u200C"},      /* zero-width non-joiner */
	    {0x200D, "\\u200D"},      /* zero-width joiner */
	    {0x2060, "\\u2060"},      /* word joiner */
	    {0xFEFF, "\\uFEFF"},      /* zero-width no-break space, the BOM */
	    {0x180E, "\\u180E"},      /* Mongolian vowel separator */
	    {0x2028, "\\u2028"},      /* line separator */
	    {0x2029, "\\u2029"},      /* paragraph separator */
	    {0x00AD, "\\u00AD"},      /* soft hyphen */
	    {0x034F, "\\u034F"},      /* combining grapheme joiner */
	    {0x2062, "\\u2062"},      /* invisible times */
	    {0x206A, "\\u206A"},      /* inhibit symmetric swapping */
	    {0xFFF9, "\\uFFF9"},      /* interlinear annotation anchor */
	    {0x115F, "\\u115F"},      /* Hangul choseong filler */
	    {0x3164, "\\u3164"},      /* Hangul filler: an "empty" name */
	    {0xFFA0, "\\uFFA0"},      /* halfwidth Hangul filler */
	    {0x17B4, "\\u17B4"},      /* Khmer vowel inherent aq */
	    {0xE0001, "\\U000E0001"}, /* language tag */
	    {0xE0041, "\\U000E0041"}, /* tag latin capital A: text hidden in tags */
	    {0xE007F, "\\U000E007F"}, /* cancel tag */
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char buf[8] = {0}, *in;

		g_unichar_to_utf8(cases[i].c, buf);
		in = g_strconcat("a", buf, "b", NULL);
		{
			char *want = g_strconcat("a", cases[i].want, "b", NULL);

			expect_line(in, want);
			g_free(want);
		}
		g_free(in);
	}
	/* variation selectors are what emoji and ideographs need */
	assert_false(text_terminal_escapes(0xFE0F));
	assert_false(text_terminal_escapes(0xE0100));
	assert_false(text_terminal_escapes(0x1F600));
	assert_false(text_terminal_escapes(' '));
}

static void test_invalid_utf8(void **state)
{
	(void)state;
	expect_line("\xff", "\\xff");
	expect_line("caf\xe9 ok", "caf\\xe9 ok"); /* Latin-1 */
	expect_line("\x9b"
		    "2J",
		    "\\x9b2J");					     /* an 8-bit C1 CSI */
	expect_line("\xc0\xaf", "\\xc0\\xaf");			     /* overlong "/" */
	expect_line("\xed\xa0\x80", "\\xed\\xa0\\x80");		     /* a surrogate */
	expect_line("\xf4\x90\x80\x80", "\\xf4\\x90\\x80\\x80");     /* above U+10FFFF */
	expect_line("ok\xe2\x80", "ok\\xe2\\x80");		     /* cut short at the end */
	expect_line("\xe2\x80z\xe2\x80\xae", "\\xe2\\x80z\\u202E");  /* cut short, then again */
	expect("\xe2\x80\xae", 2, TEXT_TERMINAL_LINE, "\\xe2\\x80"); /* len counts */
	expect("x\xfe\ny", -1, TEXT_TERMINAL_LINES, "x\\xfe\ny");
}

/* Every code point, alone: an escape exactly when text_terminal_escapes() says, nothing a
 * terminal acts on either way, and the same once more when escaped again. */
static void test_every_code_point(void **state)
{
	(void)state;
	for (gunichar c = 0; c <= 0x10FFFF; c++) {
		char buf[8] = {0}, *once, *twice;
		int n;

		if (c >= 0xD800 && c <= 0xDFFF)
			continue;
		n = g_unichar_to_utf8(c, buf);
		once = text_for_terminal(buf, n, TEXT_TERMINAL_LINE);
		if (text_terminal_escapes(c) != (once[0] == '\\' && c != '\\'))
			fail_msg("U+%04X: escaped %d, got \"%s\"", c, text_terminal_escapes(c),
				 once);
		if (!harmless(once, TEXT_TERMINAL_LINE))
			fail_msg("U+%04X: \"%s\" is not harmless", c, once);
		twice = text_for_terminal(once, -1, TEXT_TERMINAL_LINE);
		if (strcmp(once, twice) != 0)
			fail_msg("U+%04X: \"%s\" escaped again is \"%s\"", c, once, twice);
		g_free(once);
		g_free(twice);
	}
}

/* Random bytes: the output is harmless, at most 4 bytes per byte in, and a fixed point. */
/* text_nfc_prefix() leaves a text with nothing from U+0300 up as it is: every character and every
 * pair of characters below U+0300 must be NFC already (the slow way agrees), and a text with a
 * combining mark is still composed. */
static void test_nfc_fast(void **state)
{
	char *t, *want;

	(void)state;
	for (gunichar a = 1; a < 0x300; a++)
		for (gunichar b = 1; b < 0x300; b++) {
			char pair[16];
			int n = g_unichar_to_utf8(a, pair);

			n += g_unichar_to_utf8(b, pair + n);
			pair[n] = '\0';
			want = g_utf8_normalize(pair, -1, G_NORMALIZE_NFC);
			if (strcmp(want, pair) != 0)
				fail_msg("U+%04X U+%04X is not its own NFC", a, b);
			g_free(want);
		}
	t = text_nfc_prefix("cafe\xcc\x81 y man\xcc\x83" "ana", 100);
	assert_string_equal(t, "caf\xc3\xa9 y ma\xc3\xb1" "ana");
	g_free(t);
	/* a stranger's bytes that are not UTF-8, below U+0300 or not: kept as they are, as
	 * g_utf8_normalize() refusing them always left them */
	t = text_nfc_prefix("a\x80" "b\xc3", 100);
	assert_string_equal(t, "a\x80" "b\xc3");
	g_free(t);
	t = text_nfc_prefix("e\xcc\x81\xff", 100);
	assert_string_equal(t, "e\xcc\x81\xff");
	g_free(t);
	t = text_nfc_prefix("se ha ca\xc3\xad" "do", 7);
	assert_string_equal(t, "se ha c");
	g_free(t);
	t = text_nfc_prefix("se ha ca\xc3\xad" "do", 9);
	assert_string_equal(t, "se ha ca");
	g_free(t);
}

static void test_random_bytes(void **state)
{
	GRand *rand = g_rand_new_with_seed(20240513);

	(void)state;
	for (int round = 0; round < 2000; round++) {
		guint8 buf[64];
		gint32 len = g_rand_int_range(rand, 0, sizeof(buf));

		for (gint32 i = 0; i < len; i++)
			buf[i] = (guint8)g_rand_int_range(rand, 0, 256);
		for (int how = TEXT_TERMINAL_LINE; how <= TEXT_TERMINAL_LINES; how++) {
			char *once = text_for_terminal((const char *)buf, len, how);
			char *twice = text_for_terminal(once, -1, how);
			char *cut = text_for_terminal_cut((const char *)buf, len, 17);

			assert_true(harmless(once, how));
			assert_true(strlen(once) <= 4 * (size_t)len);
			assert_string_equal(once, twice);
			assert_true(harmless(cut, TEXT_TERMINAL_LINE));
			assert_true(text_columns(cut) <= 17);
			g_free(once);
			g_free(twice);
			g_free(cut);
		}
	}
	g_rand_free(rand);
}

static void test_cut(void **state)
{
	(void)state;
	expect_cut("abcdef", 4, "abc…");
	expect_cut("abcd", 4, "abcd");
	expect_cut("", 4, "");
	/* an escape is never split: what the "…" follows is whole */
	expect_cut("ab\x1b"
		   "cd",
		   4, "ab…");
	expect_cut("ab\x1b"
		   "c",
		   5, "ab\\ec");
	expect_cut("x\xe2\x80\xae"
		   "yz",
		   5, "x…");
	expect_cut("x\xe2\x80\xae"
		   "yz",
		   8, "x\\u202E…");
	expect_cut("caf\xe9 latte", 6, "caf…");
	/* newlines are escaped, so a cut cell is one line */
	expect_cut("one\ntwo", 20, "one\\ntwo");
	/* wide characters take two columns */
	expect_cut("日本語テキスト", 5, "日本…");
	expect_cut("日本語テキスト", 6, "日本…");
	expect_cut("日本語", 6, "日本語");
	/* combining marks take none */
	expect_cut("e\xcc\x81"
		   "e\xcc\x81"
		   "e\xcc\x81",
		   3,
		   "e\xcc\x81"
		   "e\xcc\x81"
		   "e\xcc\x81");
	expect_cut("abc", 1, "…");
	expect_cut("a", 1, "a");
}

/* A cut reads no further than it writes: a few columns of a huge text come at once. */
static void test_cut_is_bounded(void **state)
{
	gsize len = 64 * 1024 * 1024;
	char *huge = g_malloc(len);
	gint64 start;
	char *got;

	(void)state;
	memset(huge, 0x1b, len);
	start = g_get_monotonic_time();
	got = text_for_terminal_cut(huge, (gssize)len, 10);
	assert_string_equal(got, "\\e\\e\\e\\e…");
	assert_true(g_get_monotonic_time() - start < G_USEC_PER_SEC / 2);
	g_free(got);
	g_free(huge);
}

/* The whole of a large hostile text in one pass: length exactly as predicted. */
static void test_linear(void **state)
{
	gsize n = 4 * 1024 * 1024;
	GString *in = g_string_sized_new(n * 4);
	char *got;

	(void)state;
	for (gsize i = 0; i < n; i++)
		g_string_append(in, i % 2 == 0 ? "\xff" : "\xe2\x80\xae");
	got = text_for_terminal(in->str, (gssize)in->len, TEXT_TERMINAL_LINES);
	assert_int_equal(strlen(got), n / 2 * strlen("\\xff") + n / 2 * strlen("\\u202E"));
	g_free(got);
	g_string_free(in, TRUE);
}

static void test_columns(void **state)
{
	(void)state;
	assert_int_equal(text_columns(""), 0);
	assert_int_equal(text_columns("abc"), 3);
	assert_int_equal(text_columns("Pérez"), 5);
	assert_int_equal(text_columns("e\xcc\x81"), 1);
	assert_int_equal(text_columns("日本"), 4);
	assert_int_equal(text_columns("…"), 1);
}

static void test_json(void **state)
{
	char *got;

	(void)state;
	got = text_json_for_terminal("{\"s\":\"a\xc2\x9b"
				     "2Jb\",\"n\":\"\xe2\x80\xae"
				     "gnp.exe\xe2\x80\x8b\"}\n",
				     -1);
	assert_string_equal(got, "{\"s\":\"a\\u009B2Jb\",\"n\":\"\\u202Egnp.exe\\u200B\"}\n");
	g_free(got);
	/* above U+FFFF: a surrogate pair, as JSON spells it */
	got = text_json_for_terminal("[\"\xf3\xa0\x81\x81\"]", -1);
	assert_string_equal(got, "[\"\\uDB40\\uDC41\"]");
	g_free(got);
	/* not UTF-8 */
	got = text_json_for_terminal("[\"caf\xe9\"]", -1);
	assert_string_equal(got, "[\"caf\\uFFFD\"]");
	g_free(got);
	/* what is already safe, escapes and all, stays */
	got = text_json_for_terminal(
	    "{\"a\":\"P\xc3\xa9rez \\u001b \\\\e 日本 ❤️\",\"b\":[1, 2]}\n", -1);
	assert_string_equal(got,
			    "{\"a\":\"P\xc3\xa9rez \\u001b \\\\e 日本 ❤️\",\"b\":[1, 2]}\n");
	g_free(got);
	got = text_json_for_terminal("\"\x1b\x7f\"", -1);
	assert_string_equal(got, "\"\\u001B\\u007F\"");
	g_free(got);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_text_unchanged),
	    cmocka_unit_test(test_c0_controls),
	    cmocka_unit_test(test_lines),
	    cmocka_unit_test(test_c1_controls),
	    cmocka_unit_test(test_bidi_controls),
	    cmocka_unit_test(test_invisible_characters),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_every_code_point),
	    cmocka_unit_test(test_random_bytes),
	    cmocka_unit_test(test_nfc_fast),
	    cmocka_unit_test(test_cut),
	    cmocka_unit_test(test_cut_is_bounded),
	    cmocka_unit_test(test_linear),
	    cmocka_unit_test(test_columns),
	    cmocka_unit_test(test_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
