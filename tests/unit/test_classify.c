/* Unit tests of classify.c. Mails are built from raw text through mime_parse(), as in the
 * daemon, so the header rules are exercised on what mime.c really produces. Every automatic-mail
 * rule is tested both ways: it fires on its header, and an ordinary mail does not trip it. */
#include "classify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

static const char *const desk[] = {"soporte@example.com", "helpdesk@example.com", NULL};

/* A mail with the given extra header lines (each ending in \n), From, subject and body. */
static struct mail *mk(const char *from, const char *extra, const char *subject, const char *body)
{
	static const struct mime_limits lim = {
	    .max_message_bytes = 26214400, .max_parts = 500, .max_depth = 20};
	char *raw = g_strdup_printf("From: %s\nTo: soporte@example.com\n%sSubject: %s\n"
				    "MIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
				    "Content-Transfer-Encoding: 8bit\n\n%s\n",
				    from, extra, subject, body);
	struct errbuf err = {""};
	struct mail *m = NULL;

	if (mime_parse(raw, strlen(raw), &lim, &m, &err) != SPOC_OK)
		fail_msg("mime_parse: %s", err.msg);
	g_free(raw);
	return m;
}

/* Asserts the verdict and, when automatic, that the reason contains want. */
static void check_auto(const char *from, const char *extra, gboolean expect, const char *want)
{
	struct mail *m = mk(from, extra, "Hola", "La impresora no funciona.");
	const char *why = NULL;
	gboolean got = classify_is_automatic(m, desk, &why);

	if (got != expect)
		fail_msg("From %s, header \"%s\": automatic=%d, expected %d (%s)", from, extra, got,
			 expect, why);
	assert_non_null(why);
	if (expect)
		assert_non_null(strstr(why, want));
	mail_free(&m);
}

static void test_auto_person(void **state)
{
	(void)state;
	check_auto("Ana <ana@example.org>", "", FALSE, NULL);
	/* Outlook stamps this on mail people write: not a rule */
	check_auto("Ana <ana@example.org>", "X-Auto-Response-Suppress: All\n", FALSE, NULL);
	check_auto("Ana <ana@example.org>", "Return-Path: <ana@example.org>\n", FALSE, NULL);
	check_auto("Ana <ana@example.org>", "Content-Language: es-ES\n", FALSE, NULL);
}

static void test_auto_submitted(void **state)
{
	(void)state;
	check_auto("a@example.org", "Auto-Submitted: auto-replied\n", TRUE,
		   "Auto-Submitted: auto-replied");
	check_auto("a@example.org", "Auto-Submitted: Auto-Generated; owner-email=x@y\n", TRUE,
		   "auto-generated");
	check_auto("a@example.org", "Auto-Submitted: no\n", FALSE, NULL);
	check_auto("a@example.org", "Auto-Submitted: No (a person wrote this)\n", FALSE, NULL);
	check_auto("a@example.org", "Auto-Submitted: auto-something-new\n", TRUE,
		   "Auto-Submitted present");
}

static void test_auto_precedence(void **state)
{
	(void)state;
	check_auto("a@example.org", "Precedence: bulk\n", TRUE, "Precedence: bulk");
	check_auto("a@example.org", "Precedence: JUNK\n", TRUE, "Precedence: junk");
	check_auto("a@example.org", "Precedence: list\n", TRUE, "Precedence: list");
	check_auto("a@example.org", "Precedence: auto_reply\n", TRUE, "auto_reply");
	check_auto("a@example.org", "Precedence: first-class\n", FALSE, NULL);
}

static void test_auto_x_headers(void **state)
{
	(void)state;
	check_auto("a@example.org", "X-Autoreply: yes\n", TRUE, "X-Autoreply");
	check_auto("a@example.org", "X-Autorespond: Out of office\n", TRUE, "X-Autorespond");
	check_auto("a@example.org", "List-Id: <users.lists.example.org>\n", TRUE, "List-Id");
	check_auto("a@example.org", "X-Spocd-Loop: desk.example.com\n", TRUE, "X-Spocd-Loop");
	check_auto("a@example.org", "X-Mailer: Outlook\n", FALSE, NULL);
}

static void test_auto_return_path(void **state)
{
	(void)state;
	check_auto("a@example.org", "Return-Path: <>\n", TRUE, "Return-Path: <>");
	check_auto("a@example.org", "Return-Path: < >\n", TRUE, "null sender");
	check_auto("a@example.org", "Return-Path: <a@example.org>\n", FALSE, NULL);
}

static void test_auto_sender_names(void **state)
{
	(void)state;
	check_auto("Mail Delivery Subsystem <MAILER-DAEMON@mx.example.org>", "", TRUE,
		   "mailer-daemon");
	check_auto("postmaster@example.org", "", TRUE, "postmaster");
	check_auto("noreply@example.org", "", TRUE, "no-reply");
	check_auto("No Reply <no-reply@example.org>", "", TRUE, "no-reply");
	check_auto("do_not_reply@example.org", "", TRUE, "no-reply");
	check_auto("DoNotReply@example.org", "", TRUE, "no-reply");
	check_auto("noreply-calendar@example.org", "", TRUE, "no-reply");
	check_auto("replyto@example.org", "", FALSE, NULL);
	check_auto("postmaster.assistant@example.org", "", FALSE, NULL);
	check_auto("Mailer Daemon Fan <fan@example.org>", "", FALSE, NULL);
	/* bounces that carry no address at all, only a name */
	check_auto("MAILER-DAEMON <>", "", TRUE, "mailer-daemon");
	check_auto("Mail Delivery System <>", "", TRUE, "mailer-daemon");
	check_auto("Ana Ruiz <>", "", FALSE, NULL);
}

static void test_auto_desk_address(void **state)
{
	struct mail *m = mk("Soporte <SOPORTE@Example.COM>", "", "x", "y");
	const char *why = NULL;

	(void)state;
	assert_true(classify_is_automatic(m, desk, &why));
	assert_string_equal(why, "From is one of the desk's own addresses");
	assert_false(classify_is_automatic(m, NULL, &why)); /* no desk list: nothing to compare */
	assert_false(
	    classify_is_automatic(m, (const char *const[]){"other@example.com", NULL}, NULL));
	mail_free(&m);
}

static void test_auto_report(void **state)
{
	static const char raw[] =
	    "From: Mail Delivery System <mta@mx.example.org>\nSubject: Undelivered Mail\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nIt bounced.\n"
	    "--b\nContent-Type: message/delivery-status\n\nAction: failed\n--b--\n";
	static const struct mime_limits lim = {.max_message_bytes = 0};
	struct mail *m = NULL;
	const char *why = NULL;

	(void)state;
	assert_int_equal(mime_parse(raw, strlen(raw), &lim, &m, NULL), SPOC_OK);
	assert_true(classify_is_automatic(m, desk, &why));
	assert_string_equal(why, "Content-Type: multipart/report (delivery or read report)");
	mail_free(&m);
}

/* Asserts the kind and the rule that decided it. */
static void check_kind(const char *subject, const char *body, enum spoc_kind dflt,
		       enum spoc_kind expect, const char *rule)
{
	struct mail *m = mk("Ana <ana@example.org>", "", subject, body);
	const char *got_rule = NULL;
	enum spoc_kind got = classify_kind(m, dflt, &got_rule);

	if (got != expect || strcmp(got_rule, rule) != 0)
		fail_msg("\"%s\" / \"%s\": got %d (%s), expected %d (%s)", subject, body, got,
			 got_rule, expect, rule);
	mail_free(&m);
}

static void test_kind_spanish(void **state)
{
	(void)state;
	check_kind("La impresora no funciona", "", SPOC_KIND_REQUEST, SPOC_KIND_INCIDENT,
		   "subject: incident keyword \"no funciona\"");
	check_kind("Servidor CAÍDO", "", SPOC_KIND_REQUEST, SPOC_KIND_INCIDENT,
		   "subject: incident keyword \"caído\"");
	check_kind("Consulta", "Hola, no puedo acceder al correo desde ayer.", SPOC_KIND_REQUEST,
		   SPOC_KIND_INCIDENT, "text: incident keyword \"no puedo acceder\"");
	check_kind("Solicitud de alta de usuario", "Para la nueva compañera.", SPOC_KIND_INCIDENT,
		   SPOC_KIND_REQUEST, "subject: request keyword \"solicitud\"");
	check_kind("Portátil", "Necesito instalar el programa de contabilidad.", SPOC_KIND_INCIDENT,
		   SPOC_KIND_REQUEST, "text: request keyword \"necesito\"");
	check_kind("Contraseña", "Quiero restablecer la contraseña, por favor.", SPOC_KIND_INCIDENT,
		   SPOC_KIND_REQUEST, "text: request keyword \"restablecer contraseña\"");
}

static void test_kind_english(void **state)
{
	(void)state;
	check_kind("VPN is down", "", SPOC_KIND_REQUEST, SPOC_KIND_INCIDENT,
		   "subject: incident keyword \"down\"");
	check_kind("Help", "Outlook keeps crashing and I can't log in.", SPOC_KIND_REQUEST,
		   SPOC_KIND_INCIDENT, "text: incident keyword \"can't log in\"");
	check_kind("New starter", "Could I get a new laptop for Sam?", SPOC_KIND_INCIDENT,
		   SPOC_KIND_REQUEST, "text: request keyword \"new laptop\"");
	check_kind("Password reset please", "", SPOC_KIND_INCIDENT, SPOC_KIND_REQUEST,
		   "subject: request keyword \"password reset\"");
	/* "downtown" is not "down" */
	check_kind("Office downtown", "See you there.", SPOC_KIND_REQUEST, SPOC_KIND_REQUEST,
		   "default");
}

static void test_kind_precedence(void **state)
{
	(void)state;
	/* the subject decides even when the body says otherwise */
	check_kind("Request: new monitor", "The old one is broken, it crashed, outage everywhere.",
		   SPOC_KIND_INCIDENT, SPOC_KIND_REQUEST, "subject: request keyword \"request\"");
	/* same field, both kinds, one match each: incident */
	check_kind("Solicito ayuda: la impresora no funciona", "", SPOC_KIND_REQUEST,
		   SPOC_KIND_INCIDENT, "subject: incident keyword \"no funciona\"");
	/* same field, more request matches than incident ones: request */
	check_kind("Hi",
		   "I need access to the share, please install Visio, request attached. "
		   "The old PC had an error.",
		   SPOC_KIND_INCIDENT, SPOC_KIND_REQUEST, "text: request keyword \"request\"");
	/* nothing matches anywhere: the default, both ways */
	check_kind("Hola", "Buenos días", SPOC_KIND_INCIDENT, SPOC_KIND_INCIDENT, "default");
	check_kind("Hola", "Buenos días", SPOC_KIND_REQUEST, SPOC_KIND_REQUEST, "default");
}

static void check_lang(const char *subject, const char *body, const char *dflt, const char *expect)
{
	struct mail *m = mk("Ana <ana@example.org>", "", subject, body);
	const char *got = classify_language(m, dflt);

	if (strcmp(got, expect) != 0)
		fail_msg("\"%s\": got %s, expected %s", body, got, expect);
	mail_free(&m);
}

static void test_language(void **state)
{
	static const char dflt[] = "es";

	(void)state;
	check_lang("Impresora", "Hola, la impresora de la planta está sin tóner. Gracias.", "en",
		   "es");
	check_lang("Printer", "Hello, the printer on my floor is out of toner. Thanks!", "es",
		   "en");
	/* ESTÁ / DÍAS in capitals are casefolded */
	check_lang("BUENOS DÍAS", "ESTÁ", "en", "es");
	/* too few words either way: the default, returned as given */
	check_lang("OK", "Vale.", "en", "en");
	check_lang("OK", "Vale.", "es", "es");
	{
		struct mail *m = mk("a@example.org", "", "x", "12345");

		assert_ptr_equal(classify_language(m, dflt), dflt);
		mail_free(&m);
	}
	/* a tie is undecided */
	check_lang("", "the and to el la de", "en", "en");
	check_lang("", "the and to el la de", "es", "es");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auto_person),	      cmocka_unit_test(test_auto_submitted),
	    cmocka_unit_test(test_auto_precedence),   cmocka_unit_test(test_auto_x_headers),
	    cmocka_unit_test(test_auto_return_path),  cmocka_unit_test(test_auto_sender_names),
	    cmocka_unit_test(test_auto_desk_address), cmocka_unit_test(test_auto_report),
	    cmocka_unit_test(test_kind_spanish),      cmocka_unit_test(test_kind_english),
	    cmocka_unit_test(test_kind_precedence),   cmocka_unit_test(test_language),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
