/* Unit tests of ticket_list.c: the record of a requester's open tickets, written as
 * ticket_list.h says, put into words by the shipped ticket-line.txt of each language with the
 * due time in the desk's zone; a subject the requester wrote is echoed inert, and a body in any
 * other shape is never shown as a list. */

#include "ticket_list.h"

#include "testlib.h"

#include <string.h>

static struct template *shipped(const char *lang)
{
	char *rel = g_build_filename("conf", "templates", lang, "ticket-line.txt", NULL);
	char *path = testlib_source_path(rel);
	struct errbuf err = {{0}};
	struct template *t = template_load(path, ticket_list_fields, &err);

	if (t == NULL)
		fail_msg("%s", err.msg);
	g_free(rel);
	g_free(path);
	return t;
}

/* 2026-12-08 16:05 UTC: Tuesday, 17:05 in Madrid */
#define DUE 1796745900

static void test_write(void **state)
{
	GString *rec = g_string_new(NULL);

	(void)state;
	ticket_list_add(rec, "INC-000001", "in-progress", "resolution", DUE, "VPN\tdown\r\nnow");
	ticket_list_add(rec, "REQ-000002", "new", NULL, DUE, "");
	assert_string_equal(rec->str,
			    "INC-000001\tin-progress\tresolution\t1796745900\tVPN down  now\n"
			    "REQ-000002\tnew\t\t0\t\n");
	g_string_free(rec, TRUE);
}

static void expect_render(const char *lang, const char *rec, const char *want)
{
	struct template *t = shipped(lang);
	GTimeZone *tz = g_time_zone_new_identifier("Europe/Madrid");
	char *out = ticket_list_render(t, rec, tz, lang);

	assert_non_null(tz);
	if (out == NULL || strcmp(out, want) != 0)
		fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", lang, out != NULL ? out : "(null)",
			 want);
	g_free(out);
	g_time_zone_unref(tz);
	template_free(&t);
}

static void test_render(void **state)
{
	GString *rec = g_string_new(NULL);

	(void)state;
	ticket_list_add(rec, "INC-000001", "in-progress", "resolution", DUE, "La VPN no conecta");
	ticket_list_add(rec, "REQ-000002", "new", "first-response", DUE, "Alta de usuario");
	ticket_list_add(rec, "INC-000003", "pending", NULL, 0, "Impresora");
	expect_render("en", rec->str,
		      "- [INC-000001] La VPN no conecta\n"
		      "  in progress\n"
		      "  resolution due Tue 8 Dec 2026, 17:05 CET\n"
		      "- [REQ-000002] Alta de usuario\n"
		      "  new\n"
		      "  first answer due Tue 8 Dec 2026, 17:05 CET\n"
		      "- [INC-000003] Impresora\n"
		      "  waiting for your reply");
	expect_render("es", rec->str,
		      "- [INC-000001] La VPN no conecta\n"
		      "  en curso\n"
		      "  resolución prevista: martes 8 dic 2026, 17:05 CET\n"
		      "- [REQ-000002] Alta de usuario\n"
		      "  nueva\n"
		      "  primera respuesta prevista: martes 8 dic 2026, 17:05 CET\n"
		      "- [INC-000003] Impresora\n"
		      "  a la espera de su respuesta");
	/* no tickets: nothing, which the mail's template words as such */
	expect_render("en", "", "");
	g_string_free(rec, TRUE);
}

/* The subject is the requester's words, echoed as every subject is: one line, links defanged,
 * bidi controls removed. */
static void test_hostile_subject(void **state)
{
	GString *rec = g_string_new(NULL);
	struct template *t = shipped("en");
	char *out;

	(void)state;
	ticket_list_add(rec, "INC-000009", "new", NULL, 0,
			"Log in at https://evil.example/\xe2\x80\xae now\nBcc: x@y.com");
	out = ticket_list_render(t, rec->str, NULL, "en");
	assert_non_null(out);
	assert_null(strstr(out, "https://"));
	assert_non_null(strstr(out, "https[:]//evil[.]example/"));
	assert_null(strstr(out, "\xe2\x80\xae"));
	assert_non_null(strstr(out, "now Bcc: x@y[.]com"));
	g_free(out);
	template_free(&t);
	g_string_free(rec, TRUE);
}

/* Anything not in the format is no list: a closed ticket, a bad status or target, a bad time,
 * missing fields, a missing final line end, invalid UTF-8. */
static void test_refused(void **state)
{
	static const char *const bad[] = {
	    "INC-000001\tclosed\t\t0\tx\n",
	    "INC-000001\tresolved\t\t0\tx\n",
	    "INC-000001\topen\t\t0\tx\n",
	    "INC-000001\tnew\tsoon\t0\tx\n",
	    "INC-000001\tnew\tresolution\tlater\tx\n",
	    "INC-000001\tnew\t\t0\n",
	    "INC-000001\tnew\t\t0\tx\textra\n",
	    "\tnew\t\t0\tx\n",
	    "INC-000001\tnew\t\t0\tx",
	    "INC-000001\tnew\t\t0\t\xff\n",
	    "Your tickets are: INC-000001\n",
	};
	struct template *t = shipped("en");

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		char *out = ticket_list_render(t, bad[i], NULL, "en");

		if (out != NULL)
			fail_msg("rendered as a list: \"%s\" -> \"%s\"", bad[i], out);
	}
	assert_null(ticket_list_render(t, NULL, NULL, "en"));
	template_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write),
	    cmocka_unit_test(test_render),
	    cmocka_unit_test(test_hostile_subject),
	    cmocka_unit_test(test_refused),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
