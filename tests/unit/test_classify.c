/* Unit tests of classify.c. Mails are built from raw text through mime_parse(), as in the
 * daemon, so the header rules are exercised on what mime.c really produces. Every automatic-mail
 * rule is tested both ways: it fires on its header, and an ordinary mail does not trip it. The
 * kinds of classify_automatic() are tested rule by rule, in English and Spanish, next to the
 * person's mail that looks like them (a holiday mentioned, an Outlook user, a ticket about the
 * out-of-office feature itself). */
#include "classify.h"

#include "testlib.h"

static const char *const desk[] = {"soporte@example.com", "helpdesk@example.com", NULL};

/* A mail with the given extra header lines (each ending in \n), From, subject and body. */
static struct mail *mk(const char *from, const char *extra, const char *subject, const char *body)
{
	char *headers = g_strdup_printf("From: %s\nTo: soporte@example.com\n%sSubject: %s\n", from,
					extra, subject);
	struct mail *m = testlib_mail(headers, body);

	g_free(headers);
	return m;
}

/* Machine mail or not, as ingest asks it of a desk with these addresses and lists counted as
 * automatic. */
static gboolean is_automatic(const struct mail *m, const char *const *desk_addresses,
			     const char **why_r)
{
	const struct classify_auto_ctx c = {.desk_addresses = desk_addresses,
					    .lists_are_automatic = TRUE};

	return classify_automatic(m, &c, why_r) != CLASSIFY_PERSON;
}

/* Asserts the verdict and, when automatic, that the reason contains want. */
static void check_auto(const char *from, const char *extra, gboolean expect, const char *want)
{
	struct mail *m = mk(from, extra, "Hola", "La impresora no funciona.");
	const char *why = NULL;
	gboolean got = is_automatic(m, desk, &why);

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
	assert_true(is_automatic(m, desk, &why));
	assert_string_equal(why, "From is one of the desk's own addresses");
	assert_false(is_automatic(m, NULL, &why)); /* no desk list: nothing to compare */
	assert_false(is_automatic(m, (const char *const[]){"other@example.com", NULL}, NULL));
	mail_free(&m);
}

static void test_auto_report(void **state)
{
	static const char raw[] =
	    "From: Mail Delivery System <mta@mx.example.org>\nSubject: Undelivered Mail\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\nIt bounced.\n"
	    "--b\nContent-Type: message/delivery-status\n\nAction: failed\n--b--\n";
	struct mail *m = testlib_parse(raw);
	const char *why = NULL;

	(void)state;
	assert_true(is_automatic(m, desk, &why));
	assert_string_equal(why, "Content-Type: multipart/report (delivery or read report)");
	mail_free(&m);
}

/* --- classify_automatic(): kinds and reasons --- */

static const struct classify_auto_ctx ctx = {
    .desk_addresses = desk, .message_id_domain = "desk.example", .lists_are_automatic = TRUE};

/* Asserts kind and that the reason contains want (NULL: any), and that the yes/no question
 * without a Message-ID domain agrees. */
static void check_mail_kind(const struct mail *m, const struct classify_auto_ctx *c,
			    enum classify_auto_kind expect, const char *want, const char *label)
{
	const char *why = NULL, *old_why = NULL;
	enum classify_auto_kind got = classify_automatic(m, c, &why);

	if (got != expect || (want != NULL && strstr(why, want) == NULL))
		fail_msg("%s: %s (%s), expected %s (%s)", label, classify_auto_kind_name(got), why,
			 classify_auto_kind_name(expect), want != NULL ? want : "any reason");
	if (c == &ctx && expect != CLASSIFY_OURS)
		assert_int_equal(is_automatic(m, desk, &old_why), got != CLASSIFY_PERSON);
}

static void check_kind_auto(const char *headers, const char *body, enum classify_auto_kind expect,
			    const char *want)
{
	char *h = g_strdup_printf(
	    "%s%sTo: help@desk.example\n",
	    strstr(headers, "From:") != NULL ? "" : "From: Ana <ana@example.org>\n", headers);
	struct mail *m = testlib_mail(h, body);

	check_mail_kind(m, &ctx, expect, want, headers);
	mail_free(&m);
	g_free(h);
}

/* Out-of-office by subject only, with an ordinary body. */
static void check_subject(const char *subject, enum classify_auto_kind expect, const char *want)
{
	char *h = g_strdup_printf("Subject: %s\n", subject);

	check_kind_auto(h, "Gracias. Thanks.", expect, want);
	g_free(h);
}

static void check_body(const char *subject, const char *body, enum classify_auto_kind expect,
		       const char *want)
{
	char *h = g_strdup_printf("Subject: %s\n", subject);

	check_kind_auto(h, body, expect, want);
	g_free(h);
}

static void test_kinds_bounce(void **state)
{
	static const char *const reports[][3] = {
	    {"delivery-status", "bounce", "multipart/report"},
	    {"disposition-notification", "other-auto", "read receipt"},
	    {"feedback-report", "other-auto", "abuse report"},
	};
	(void)state;
	check_kind_auto("From: MAILER-DAEMON@mx.example.org\nSubject: failure notice\n", "x",
			CLASSIFY_BOUNCE, "sender mailer-daemon");
	check_kind_auto("From: Mail Delivery Subsystem <mail-daemon@mx.example.org>\nSubject: x\n",
			"x", CLASSIFY_BOUNCE, "mailer-daemon");
	check_kind_auto("From: MAILER-DAEMON <>\nSubject: Returned mail\n", "x", CLASSIFY_BOUNCE,
			"mailer-daemon (display name)");
	check_kind_auto("From: \"Mail Delivery System\" <mta@mx.example.org>\nSubject: x\n", "x",
			CLASSIFY_BOUNCE, "mailer-daemon (display name)");
	check_kind_auto("From: postmaster@corp.example.com\nSubject: Undeliverable: x\n", "x",
			CLASSIFY_BOUNCE, "sender postmaster");
	/* a null sender's bounce subject and words; a no-reply robot needs the words too */
	check_kind_auto("Return-Path: <>\nFrom: <mx@isp.example>\n"
			"Subject: Undelivered Mail Returned to Sender\n",
			"Your message could not be delivered.", CLASSIFY_BOUNCE,
			"bounce from a machine sender");
	check_kind_auto("From: no-reply@carrier.example\nSubject: Mensaje no entregado\n",
			"No se ha podido entregar el mensaje a pepe@example.es.", CLASSIFY_BOUNCE,
			"bounce from a machine sender");
	check_kind_auto("From: no-reply@shop.example\nSubject: Undeliverable parcel\n",
			"Your parcel is waiting.", CLASSIFY_OTHER_AUTO, "no-reply");
	for (size_t i = 0; i < G_N_ELEMENTS(reports); i++) {
		char *raw = g_strdup_printf(
		    "From: Ana <ana@example.org>\nSubject: report\n"
		    "Content-Type: multipart/report; report-type=\"%s\"; boundary=b\n\n"
		    "--b\nContent-Type: text/plain\n\nreport\n--b--\n",
		    reports[i][0]);
		struct mail *m = testlib_parse(raw);
		const char *why = NULL;
		enum classify_auto_kind k;

		k = classify_automatic(m, &ctx, &why);
		assert_string_equal(classify_auto_kind_name(k), reports[i][1]);
		assert_non_null(strstr(why, reports[i][2]));
		mail_free(&m);
		g_free(raw);
	}
	{
		/* a message/delivery-status part in a multipart/mixed (report-type lost) */
		static const char raw[] =
		    "From: Sistema <correo@isp.example.ar>\nSubject: Error\n"
		    "Content-Type: multipart/mixed; boundary=b\n\n"
		    "--b\nContent-Type: text/plain\n\nError.\n"
		    "--b\nContent-Type: message/delivery-status\n\nAction: failed\n--b--\n";
		struct mail *m = testlib_parse(raw);

		check_mail_kind(m, &ctx, CLASSIFY_BOUNCE, "message/delivery-status part", "mixed");
		mail_free(&m);
	}
}

static void test_kinds_ours(void **state)
{
	struct mail *m;

	(void)state;
	check_kind_auto("Subject: [#12] Printer\nX-Spocd-Loop: desk.example\n", "x", CLASSIFY_OURS,
			"X-Spocd-Loop");
	check_kind_auto("From: Soporte <Soporte@Example.COM>\nSubject: x\n", "x", CLASSIFY_OURS,
			"desk's own addresses");
	check_kind_auto("Subject: [#12] Printer\nMessage-ID: <spocd.0f1e-22@DESK.example>\n", "x",
			CLASSIFY_OURS, "own Message-ID");
	/* a colleague's Thunderbird makes its Message-ID from the same domain: a person */
	check_kind_auto("From: Luis <luis@desk.example>\nSubject: VPN\n"
			"Message-ID: <3f2a-11@desk.example>\n",
			"La VPN no funciona.", CLASSIFY_PERSON, NULL);
	/* a reply to our notification refers to our id: a person */
	check_kind_auto("Subject: Re: [#12] Printer\nIn-Reply-To: <spocd.0f1e-22@desk.example>\n"
			"References: <spocd.0f1e-22@desk.example>\n"
			"Message-ID: <CAF+1@mail.gmail.com>\n",
			"Sigue sin funcionar.", CLASSIFY_PERSON, NULL);
	/* another desk's domain, or no domain configured */
	check_kind_auto("Subject: x\nMessage-ID: <spocd.0f1e-22@other.example>\n", "x",
			CLASSIFY_PERSON, NULL);
	m = testlib_mail(
	    "From: Ana <ana@example.org>\nSubject: x\nMessage-ID: <spocd.1@desk.example>\n", "x");
	check_mail_kind(m, NULL, CLASSIFY_PERSON, NULL, "no ctx");
	check_mail_kind(m, &(struct classify_auto_ctx){.lists_are_automatic = TRUE},
			CLASSIFY_PERSON, NULL, "no domain");
	mail_free(&m);
}

static void test_kinds_auto_reply_headers(void **state)
{
	(void)state;
	check_kind_auto("Subject: Re: VPN\nAuto-Submitted: auto-replied (vacation)\n", "x",
			CLASSIFY_AUTO_REPLY, "Auto-Submitted: auto-replied");
	check_kind_auto("Subject: Re: VPN\nPrecedence: auto_reply\n", "x", CLASSIFY_AUTO_REPLY,
			"Precedence: auto_reply");
	check_kind_auto("Subject: Re: VPN\nX-Autoreply: yes\nPrecedence: bulk\n", "x",
			CLASSIFY_AUTO_REPLY, "X-Autoreply");
	/* X-Autorespond names the machine, but only out-of-office words make it an auto-reply */
	check_kind_auto("Subject: Update your info\nX-Autorespond: Update your info\n", "x",
			CLASSIFY_OTHER_AUTO, "X-Autorespond");
	check_kind_auto("Subject: Out of Office\nX-Autorespond: Out of Office\n", "x",
			CLASSIFY_AUTO_REPLY, "out-of-office subject (en)");
	/* Auto-Submitted: auto-generated is a notification, unless it is an out-of-office */
	check_kind_auto("Subject: Your password expires\nAuto-Submitted: auto-generated\n", "x",
			CLASSIFY_OTHER_AUTO, "auto-generated");
	check_kind_auto("Subject: Automatic reply: VPN\nAuto-Submitted: auto-generated\n", "x",
			CLASSIFY_AUTO_REPLY, "out-of-office subject");
}

/* Exchange: X-Auto-Response-Suppress only counts with the rules agent's own headers, and not on
 * a forward a rule sent on. */
static void test_kinds_exchange(void **state)
{
	(void)state;
	check_kind_auto("Subject: Automatic reply: VPN\nX-Auto-Response-Suppress: All\n"
			"X-MS-Exchange-Inbox-Rules-Loop: ana@example.org\n",
			"x", CLASSIFY_AUTO_REPLY, "out-of-office subject (en)");
	check_kind_auto("Subject: Re: VPN\nX-Auto-Response-Suppress: All\n"
			"X-MS-Exchange-Inbox-Rules-Loop: ana@example.org\n",
			"Thanks, we got it.", CLASSIFY_AUTO_REPLY,
			"X-MS-Exchange-Inbox-Rules-Loop");
	check_kind_auto("Subject: VPN\nX-Auto-Response-Suppress: All\n"
			"X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent\n",
			"Thanks.", CLASSIFY_AUTO_REPLY, "Mailbox Rules Agent");
	check_kind_auto("Subject: Policy notice\nX-Auto-Response-Suppress: All\n"
			"X-MS-Exchange-Generated-Message-Source: Transport Rule Agent\n",
			"x", CLASSIFY_OTHER_AUTO, "Generated-Message-Source");
	/* a person's mail that an inbox rule forwarded to the desk */
	check_kind_auto("Subject: FW: La impresora no funciona\nX-Auto-Response-Suppress: All\n"
			"X-MS-Exchange-Inbox-Rules-Loop: ana@example.org\n",
			"La impresora de la planta 2 no imprime.", CLASSIFY_PERSON, NULL);
	check_kind_auto("Subject: RV: VPN\nX-Auto-Response-Suppress: All\n"
			"X-MS-Exchange-Inbox-Rules-Loop: ana@example.org\n",
			"x", CLASSIFY_PERSON, NULL);
	/* X-Auto-Response-Suppress alone: an Outlook user */
	check_kind_auto(
	    "Subject: No puedo imprimir\nX-Auto-Response-Suppress: All\n"
	    "X-Mailer: Microsoft Outlook 16.0\nX-MS-Has-Attach:\nX-MS-TNEF-Correlator:\n"
	    "Thread-Index: AdkXyz==\nContent-Language: es-ES\n",
	    "Hola, desde esta mañana no puedo imprimir. Gracias.", CLASSIFY_PERSON, NULL);
}

static void test_kinds_ooo_subject_en(void **state)
{
	static const char *const subjects[] = {
	    "Out of Office: [#12] Printer",
	    "OUT OF OFFICE",
	    "Out of the office",
	    "Out of Office AutoReply: VPN",
	    "Out of office until Monday 5 June",
	    "Out of Office (returning 5 June)",
	    "Automatic reply: [#12] Printer",
	    "Autoreply: VPN",
	    "Auto-Reply: VPN",
	    "Auto Reply: VPN",
	    "AutoResponse: VPN",
	    "AUTO: Jane Doe is out of the office (returning 09/18/2014)",
	    "Auto: VPN",
	    "Away from my desk",
	    "Away from the office: VPN",
	    "Vacation",
	    "On vacation",
	    "On vacation until 5 June",
	    "Vacation reply: VPN",
	    "I'm away from my mail",
	    "I am out of the office",
	    "[EXT] Automatic reply: VPN",
	    "[support.example.de #33575] AutoReply: FYI",
	    "Automatic reply： VPN",
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(subjects); i++)
		check_subject(subjects[i], CLASSIFY_AUTO_REPLY, "out-of-office subject (en)");
}

static void test_kinds_ooo_subject_es_de(void **state)
{
	static const char *const es[] = {
	    "Respuesta automática: [#12] Impresora",
	    "Respuesta automatica: Impresora",
	    "RESPUESTA AUTOMÁTICA: Impresora",
	    "Fuera de la oficina",
	    "Fuera de la oficina: Impresora",
	    "Fuera de oficina hasta el lunes",
	    "Ausente: Juan Pérez",
	    "Ausente hasta el 3 de junio",
	    "Ausencia: Impresora",
	    "De vacaciones",
	    "De vacaciones: Impresora",
	    "Estoy de vacaciones",
	    "Autorespuesta: Impresora",
	    "Aviso de ausencia: Impresora",
	};
	static const char *const de[] = {
	    "Abwesenheitsnotiz: Drucker",
	    "Automatische Antwort: Drucker",
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(es); i++)
		check_subject(es[i], CLASSIFY_AUTO_REPLY, "out-of-office subject (es)");
	for (size_t i = 0; i < G_N_ELEMENTS(de); i++)
		check_subject(de[i], CLASSIFY_AUTO_REPLY, "out-of-office subject (de)");
	check_subject("Réponse automatique: Imprimante", CLASSIFY_AUTO_REPLY,
		      "out-of-office subject (fr)");
}

static void test_kinds_ooo_text(void **state)
{
	(void)state;
	check_body("Re: [#12] Printer",
		   "Thank you for your email.\n\nI am out of the office until Monday 5 June with "
		   "limited access to email.\nFor urgent matters please contact Luis.",
		   CLASSIFY_AUTO_REPLY, "out-of-office text (en)");
	check_body("Re: VPN",
		   "I will be out of the office from 1 to 15 August. I will reply on my return.",
		   CLASSIFY_AUTO_REPLY, "out-of-office text (en)");
	check_body("VPN", "Hello!\n\nI'm currently out and will be back on Monday.",
		   CLASSIFY_AUTO_REPLY, "out-of-office text (en)");
	check_body("Re: VPN", "I’m on annual leave until 3 June. Contact help@example.org.",
		   CLASSIFY_AUTO_REPLY, "out-of-office text (en)");
	check_body("Re: [#12] Impresora",
		   "Gracias por su mensaje.\n\nEstoy fuera de la oficina hasta el lunes 5 de "
		   "junio.\nPara temas urgentes contacte con Luis.",
		   CLASSIFY_AUTO_REPLY, "out-of-office text (es)");
	check_body("Re: Impresora",
		   "Estaré fuera hasta el 15 de agosto, con acceso limitado al correo.",
		   CLASSIFY_AUTO_REPLY, "out-of-office text (es)");
	check_body("Re: Impresora",
		   "Buenos días:\nActualmente me encuentro fuera de la oficina. A mi regreso "
		   "responderé su correo.",
		   CLASSIFY_AUTO_REPLY, "out-of-office text (es)");
	check_body("Impresora", "Hola, estoy de vacaciones hasta el día 20.", CLASSIFY_AUTO_REPLY,
		   "out-of-office text (es)");
	check_body("Drucker", "Ich bin derzeit nicht im Büro und ab dem 5. Juni wieder zurück.",
		   CLASSIFY_AUTO_REPLY, "out-of-office text (de)");
}

/* A person's mail that mentions holidays, absence or the out-of-office feature. */
static void test_kinds_person_lookalikes(void **state)
{
	GString *long_text = g_string_new("I am out of the office until Friday. ");

	(void)state;
	check_body("Laptop", "I was on vacation and now my laptop does not work.", CLASSIFY_PERSON,
		   NULL);
	check_body("Vacation request for August", "Please approve my vacation from 1 to 15 August.",
		   CLASSIFY_PERSON, NULL);
	check_body("Vacation photos lost", "My vacation photos are gone from OneDrive.",
		   CLASSIFY_PERSON, NULL);
	check_body("Out of office reply not working",
		   "Hi, my out of office reply does not work since Monday.", CLASSIFY_PERSON, NULL);
	check_body("Automatic reply settings", "How do I set an automatic reply in Outlook?",
		   CLASSIFY_PERSON, NULL);
	check_body("Respuesta automática no funciona",
		   "Hola, la respuesta automática de Outlook no se activa.", CLASSIFY_PERSON, NULL);
	check_body("Ausencias en el calendario", "No veo las ausencias del equipo.",
		   CLASSIFY_PERSON, NULL);
	check_body("Fuera de la oficina no tengo VPN",
		   "Cuando estoy fuera de la oficina no conecta la VPN.", CLASSIFY_PERSON, NULL);
	/* the wording, but no return date and a complaint */
	check_body("VPN", "Estoy fuera de la oficina y no puedo conectar a la VPN.",
		   CLASSIFY_PERSON, NULL);
	check_body("VPN", "Estoy fuera de la oficina hasta el lunes y la VPN no funciona.",
		   CLASSIFY_PERSON, NULL);
	check_body("VPN", "I'm out of the office today and the VPN is not working.",
		   CLASSIFY_PERSON, NULL);
	check_body("VPN", "I am currently out of the office, the VPN fails with an error.",
		   CLASSIFY_PERSON, NULL);
	/* a person answering an auto-reply */
	check_body("Re: Automatic reply: VPN", "OK, I will wait until you are back.",
		   CLASSIFY_PERSON, NULL);
	/* out-of-office words deep in a long message are not its first lines */
	for (int i = 0; i < 200; i++)
		g_string_append(long_text, "The printer on floor 2 prints blank pages. ");
	check_body("Printer", long_text->str, CLASSIFY_PERSON, NULL);
	check_body("Printer",
		   "Hi,\nthe printer prints blank pages.\nIt started yesterday.\nAny idea?\n\n"
		   "I am out of the office until Monday, please contact Luis.",
		   CLASSIFY_PERSON, NULL);
	g_string_free(long_text, TRUE);
}

static void test_kinds_bulk(void **state)
{
	static const struct classify_auto_ctx no_lists = {.desk_addresses = desk,
							  .message_id_domain = "desk.example",
							  .lists_are_automatic = FALSE};
	static const char *const lists[] = {
	    "List-Id: <users.lists.example.org>\n",
	    "List-Unsubscribe: <mailto:leave@lists.example.org>\n",
	    "List-Post: <mailto:users@lists.example.org>\n",
	    "Mailing-List: contact users-help@example.org; run by ezmlm\n",
	    "Precedence: list\n",
	};
	(void)state;
	check_kind_auto("Subject: News\nPrecedence: bulk\n", "x", CLASSIFY_BULK,
			"Precedence: bulk");
	check_kind_auto("Subject: News\nPrecedence: Junk\n", "x", CLASSIFY_BULK,
			"Precedence: junk");
	for (size_t i = 0; i < G_N_ELEMENTS(lists); i++) {
		char *h = g_strdup_printf("From: Ana <ana@example.org>\nSubject: [users] VPN\n%s"
					  "To: users@lists.example.org\n",
					  lists[i]);
		struct mail *m = testlib_mail(h, "La VPN no funciona.");

		check_mail_kind(m, &ctx, CLASSIFY_BULK, "list", lists[i]);
		/* a desk that takes tickets from a list */
		check_mail_kind(m, &no_lists, CLASSIFY_PERSON, NULL, lists[i]);
		mail_free(&m);
		g_free(h);
	}
	{
		struct mail *m =
		    testlib_mail("From: a@example.org\nSubject: x\nPrecedence: bulk\n", "x");

		check_mail_kind(m, &no_lists, CLASSIFY_BULK, "Precedence: bulk", "bulk, no lists");
		mail_free(&m);
	}
}

static void test_kinds_other(void **state)
{
	(void)state;
	check_kind_auto("Subject: Your password expires\nAuto-Submitted: auto-notified\n", "x",
			CLASSIFY_OTHER_AUTO, "auto-notified");
	check_kind_auto("Subject: Hola\nReturn-Path: <>\n", "Hola.", CLASSIFY_OTHER_AUTO,
			"null sender");
	check_kind_auto("From: noreply@portal.example\nSubject: Your invoice\n", "x",
			CLASSIFY_OTHER_AUTO, "no-reply");
	check_kind_auto("From: staff@hotmail.com\nSubject: complaint about message from "
			"192.0.2.222\n",
			"x", CLASSIFY_OTHER_AUTO, "JMRP");
	check_kind_auto("Subject: Re: VPN\nAuto-Submitted: no\n", "Sigue igual.", CLASSIFY_PERSON,
			NULL);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(classify_auto_kind_name(CLASSIFY_PERSON), "person");
	assert_string_equal(classify_auto_kind_name(CLASSIFY_AUTO_REPLY), "auto-reply");
	assert_string_equal(classify_auto_kind_name(CLASSIFY_BOUNCE), "bounce");
	assert_string_equal(classify_auto_kind_name(CLASSIFY_BULK), "bulk");
	assert_string_equal(classify_auto_kind_name(CLASSIFY_OURS), "ours");
	assert_string_equal(classify_auto_kind_name(CLASSIFY_OTHER_AUTO), "other-auto");
}

/* Asserts the kind and the rule that decided it. */
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
	/* the longest listed words count, in capitals and in letters that fold to theirs (U+212A
	 * KELVIN SIGN folds to "k"); a longer word never does */
	check_lang("", "GRACIAS gracias Gracias", "en", "es");
	check_lang("", "THAN\xe2\x84\xaaS THAN\xe2\x84\xaaS THAN\xe2\x84\xaaS", "es", "en");
	check_lang("", "graciass graciass graciass buenoss", "en", "en");
	/* a tie is undecided */
	check_lang("", "the and to el la de", "en", "en");
	check_lang("", "the and to el la de", "es", "es");
	/* too few words: the language the mail client declares decides; the words win over it */
	{
		static const struct {
			const char *header, *body, *expect;
		} cases[] = {
		    {"Content-Language: en-GB\n", "Laptop screen flickers since the update.", "en"},
		    {"Content-Language:  ES\n", "Pantalla rota.", "es"},
		    {"Accept-Language: en-US, es-ES\n", "Pantalla rota.", "en"},
		    {"Content-Language: eng\n", "Pantalla rota.", "es"}, /* not "en" */
		    {"Content-Language: de-DE\n", "Screen broken.", "es"},
		    {"Content-Language: en-GB\n", "Hola, la pantalla de mi portátil no va.", "es"},
		};

		for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
			struct mail *m =
			    mk("Ana <ana@example.org>", cases[i].header, "", cases[i].body);

			if (strcmp(classify_language(m, dflt), cases[i].expect) != 0)
				fail_msg("%s%s: got %s", cases[i].header, cases[i].body,
					 classify_language(m, dflt));
			mail_free(&m);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_auto_person),
	    cmocka_unit_test(test_auto_submitted),
	    cmocka_unit_test(test_auto_precedence),
	    cmocka_unit_test(test_auto_x_headers),
	    cmocka_unit_test(test_auto_return_path),
	    cmocka_unit_test(test_auto_sender_names),
	    cmocka_unit_test(test_auto_desk_address),
	    cmocka_unit_test(test_auto_report),
	    cmocka_unit_test(test_language),
	    cmocka_unit_test(test_kinds_bounce),
	    cmocka_unit_test(test_kinds_ours),
	    cmocka_unit_test(test_kinds_auto_reply_headers),
	    cmocka_unit_test(test_kinds_exchange),
	    cmocka_unit_test(test_kinds_ooo_subject_en),
	    cmocka_unit_test(test_kinds_ooo_subject_es_de),
	    cmocka_unit_test(test_kinds_ooo_text),
	    cmocka_unit_test(test_kinds_person_lookalikes),
	    cmocka_unit_test(test_kinds_bulk),
	    cmocka_unit_test(test_kinds_other),
	    cmocka_unit_test(test_kind_names),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
