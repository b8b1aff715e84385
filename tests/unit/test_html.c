/* Unit tests of html.c: what an agent reads of an HTML-only message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "html.h"

#include <string.h>

static void expect(const char *html, const char *text)
{
	char *got = html_to_text(html);

	if (strcmp(got, text) != 0)
		fail_msg("html_to_text(\"%s\")\n  got  \"%s\"\n  want \"%s\"", html, got, text);
	g_free(got);
}

static void test_blocks_become_lines(void **state)
{
	(void)state;
	expect("<html><body><p>Hola,</p><p>la impresora no funciona.</p></body></html>",
	       "Hola,\n\nla impresora no funciona.");
	expect("Primera línea<br>segunda<br/>tercera", "Primera línea\nsegunda\ntercera");
	expect("<div>a</div><div>b</div>", "a\n\nb");
}

static void test_hidden_parts_dropped(void **state)
{
	(void)state;
	expect("<head><title>T</title><style>p{color:red}</style></head><p>Texto</p>", "Texto");
	expect("<script>alert('x<p>y</p>')</script>visible", "visible");
	expect("antes<!-- <p>oculto</p> -->después", "antesdespués");
}

static void test_entities(void **state)
{
	(void)state;
	expect("Tom &amp; Jerry &lt;3 &quot;ok&quot; &apos;x&apos;", "Tom & Jerry <3 \"ok\" 'x'");
	expect("caf&#233; &#x2014; ni&ntilde;o", "café — ni&ntilde;o");
	expect("a&nbsp;b", "a b");
	expect("R&D; 5 & 6", "R&D; 5 & 6");
	expect("&#0; &#xD800; &#1114112;", "\xef\xbf\xbd \xef\xbf\xbd \xef\xbf\xbd");
}

static void test_whitespace(void **state)
{
	(void)state;
	expect("  muchos    espacios\n\n\n\ny   saltos  ", "muchos espacios y saltos");
	expect("<p>a</p>\n\n<p></p><p></p>\n<p>b</p>", "a\n\nb");
}

static void test_malformed(void **state)
{
	(void)state;
	/* an unclosed <style> keeps the text instead of swallowing everything after it */
	expect("<style>body{}<p>sigue aquí", "body{}\nsigue aquí");
	expect("<a href=\"x>y\">enlace</a> fin", "enlace fin");
	expect("1 < 2 y 3 > 2", "1 < 2 y 3 > 2");
	expect("<", "<");
	expect("", "");
}

static void test_linear_on_hostile_input(void **state)
{
	/* 200,000 bare '&' and unclosed tags: must finish at once (quadratic would take minutes) */
	GString *s = g_string_new(NULL);
	char *got;

	(void)state;
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "&<script");
	got = html_to_text(s->str);
	assert_non_null(got);
	assert_true(strlen(got) > 0);
	g_free(got);
	g_string_free(s, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blocks_become_lines),
	    cmocka_unit_test(test_hidden_parts_dropped),
	    cmocka_unit_test(test_entities),
	    cmocka_unit_test(test_whitespace),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_linear_on_hostile_input),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
