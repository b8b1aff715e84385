/* echo_text(): what a notice repeats of a stranger's name or subject is bounded and inert. */
#include "testlib.h"

#include "echo.h"

static void expect_echo(const char *text, size_t max, const char *want)
{
	char *got = echo_text(text, max);

	if (strcmp(got, want) != 0)
		fail_msg("echo_text(\"%s\", %zu)\n  got  \"%s\"\n  want \"%s\"",
			 text != NULL ? text : "(null)", max, got, want);
	g_free(got);
}

static void test_plain_text_kept(void **state)
{
	(void)state;
	expect_echo("Marta Ruiz", ECHO_NAME_MAX, "Marta Ruiz");
	expect_echo("No puedo imprimir: error 0x80070005 (v2.0)", ECHO_SUBJECT_MAX,
		    "No puedo imprimir: error 0x80070005 (v2.0)");
	expect_echo("Fichero informe.xlsx y Mr.Smith, i.e. nada", ECHO_SUBJECT_MAX,
		    "Fichero informe.xlsx y Mr.Smith, i.e. nada");
	expect_echo(NULL, ECHO_NAME_MAX, "");
	expect_echo("  \t ", ECHO_NAME_MAX, "");
}

static void test_controls_and_format_characters(void **state)
{
	(void)state;
	/* ESC sequences, BEL, C1 CSI/OSC, line breaks: blanks, collapsed */
	expect_echo("a\x1b]52;c;ZXZpbA==\x07 b\r\n\tc", 0, "a ]52;c;ZXZpbA== b c");
	expect_echo("x\xc2\x9b"
		    "31m\xc2\x9d"
		    "y",
		    0, "x 31m y");
	/* right-to-left override: "gnp.exe" must not read as "exe.png" */
	expect_echo("invoice \xe2\x80\xae"
		    "gnp.exe",
		    0, "invoice gnp.exe");
	/* zero-width space, joiner, BOM, soft hyphen, isolates: removed */
	expect_echo("pay\xe2\x80\x8b"
		    "pal \xef\xbb\xbf"
		    "se\xc2\xad"
		    "cure \xe2\x81\xa6"
		    "x\xe2\x81\xa9",
		    0, "paypal secure x");
	/* line and paragraph separators: blanks */
	expect_echo("a\xe2\x80\xa8"
		    "b\xe2\x80\xa9"
		    "c",
		    0, "a b c");
	/* invalid UTF-8 is repaired, never passed on */
	expect_echo("caf\xe9!", 0, "caf\xef\xbf\xbd!");
}

static void test_links_defanged(void **state)
{
	(void)state;
	expect_echo("Your mailbox is full, log in at http://evil.example/login", 0,
		    "Your mailbox is full, log in at http[:]//evil[.]example/login");
	expect_echo("https://login.micros0ft.com?x=1", 0, "https[:]//login[.]micros0ft[.]com?x=1");
	expect_echo("visit www.evil.net now", 0, "visit www[.]evil[.]net now");
	expect_echo("(secure-bank.com)", 0, "(secure-bank[.]com)");
	expect_echo("write to admin@evil.ru.", 0, "write to admin@evil[.]ru.");
	expect_echo("see paypal.co.uk/verify", 0, "see paypal[.]co[.]uk/verify");
	expect_echo("ftp://10.0.0.1/x", 0, "ftp[:]//10[.]0[.]0[.]1/x");
	/* a host inside a word, after what a parser took away */
	expect_echo("//mail.desk-test.support/verify", 0, "//mail[.]desk-test[.]support/verify");
	expect_echo("login:bank.com/x", 0, "login:bank[.]com/x");
}

static void test_bounded(void **state)
{
	GString *long_name = g_string_new(NULL);
	char *got;

	(void)state;
	for (int i = 0; i < 1000; i++)
		g_string_append(long_name, "ñ");
	got = echo_text(long_name->str, ECHO_NAME_MAX);
	assert_int_equal(g_utf8_strlen(got, -1), ECHO_NAME_MAX);
	assert_true(g_str_has_suffix(got, "…"));
	g_free(got);
	expect_echo("Hello world and more", 12, "Hello world…");
	/* never half of a defanged marker */
	expect_echo("at https://x.com", 10, "at https…");
	expect_echo("at https://x.com", 11, "at https…");
	expect_echo("at https://x.com", 12, "at https[:]…");
	expect_echo("see www.x.com", 9, "see www…");
	expect_echo("see www.x.com", 10, "see www…");
	/* defanging counts toward the bound */
	got = echo_text(
	    "a.com b.com c.com d.com e.com f.com g.com h.com i.com j.com k.com l.com m.com",
	    ECHO_NAME_MAX);
	assert_true(g_utf8_strlen(got, -1) <= ECHO_NAME_MAX);
	assert_null(strstr(got, ".com"));
	g_free(got);
	g_string_free(long_name, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plain_text_kept),
	    cmocka_unit_test(test_controls_and_format_characters),
	    cmocka_unit_test(test_links_defanged),
	    cmocka_unit_test(test_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
