/* Unit tests of bounce.c: RFC 3464 DSNs (with the returned message whole, or its header only), the
 * home-made reports of qmail, Exim, Postfix, Exchange and Gmail, delay warnings, VERP addresses,
 * mail that is not a bounce, and hostile input. Messages are built as raw text and go through
 * mime_parse(), as in the daemon. */
#include "bounce.h"

#include "testlib.h"

/* Parses raw, runs bounce_parse() and checks the report's invariants (valid UTF-8, bounded
 * diagnostic, lower-case recipients); returns whether it was a bounce. */
static gboolean run(const char *raw, const char *verp_local, struct bounce_report *r)
{
	struct mail *m = testlib_parse(raw);
	gboolean got = bounce_parse(m, verp_local, r);

	mail_free(&m);
	if (!got) {
		/* cleared */
		assert_null(r->recipients);
		assert_null(r->original_message_id);
		assert_null(r->status);
		assert_null(r->diagnostic);
		assert_null(r->verp_token);
		assert_false(r->permanent);
		return FALSE;
	}
	assert_non_null(r->recipients);
	for (guint i = 0; i < r->recipients->len; i++) {
		const char *a = g_ptr_array_index(r->recipients, i);
		char *low = g_ascii_strdown(a, -1);

		assert_true(g_utf8_validate(a, -1, NULL));
		assert_non_null(strchr(a, '@'));
		assert_string_equal(a, low);
		g_free(low);
	}
	if (r->diagnostic != NULL) {
		assert_true(g_utf8_validate(r->diagnostic, -1, NULL));
		assert_true(strlen(r->diagnostic) <= BOUNCE_DIAGNOSTIC_MAX);
		assert_null(strpbrk(r->diagnostic, "\r\n\t"));
	}
	if (r->original_message_id != NULL) {
		assert_true(g_utf8_validate(r->original_message_id, -1, NULL));
		assert_null(strpbrk(r->original_message_id, "<> \r\n"));
	}
	return TRUE;
}

static void assert_recipients(const struct bounce_report *r, const char *const *want)
{
	guint n = 0;

	while (want[n] != NULL)
		n++;
	if (r->recipients->len != n)
		fail_msg("%u recipients, expected %u (first: %s)", r->recipients->len, n,
			 r->recipients->len > 0 ? (char *)g_ptr_array_index(r->recipients, 0)
						: "none");
	for (guint i = 0; i < n; i++)
		assert_string_equal(g_ptr_array_index(r->recipients, i), want[i]);
}

/* Postfix's DSN: two failed recipients, one delivered; the whole message returned. */
static const char dsn_rfc822[] =
    "Return-Path: <>\n"
    "From: MAILER-DAEMON@mx.example.org (Mail Delivery System)\n"
    "To: help@desk.example\n"
    "Subject: Undelivered Mail Returned to Sender\n"
    "Message-Id: <20240101.AAA@mx.example.org>\n"
    "MIME-Version: 1.0\n"
    "Content-Type: multipart/report; report-type=delivery-status; boundary=\"B1\"\n"
    "\n"
    "--B1\n"
    "Content-Type: text/plain; charset=us-ascii\n"
    "\n"
    "I'm sorry to have to inform you that your message could not\n"
    "be delivered to one or more recipients.\n"
    "\n"
    "<ana@example.com>: host mx.example.com said: 550 5.1.1 User unknown\n"
    "--B1\n"
    "Content-Type: message/delivery-status\n"
    "\n"
    "Reporting-MTA: dns; mx.example.org\n"
    "X-Postfix-Sender: rfc822; help@desk.example\n"
    "\n"
    "Final-Recipient: rfc822; Ana@Example.com\n"
    "Original-Recipient: rfc822;ana@example.com\n"
    "Action: failed\n"
    "Status: 5.1.1\n"
    "Diagnostic-Code: smtp; 550 5.1.1 <ana@example.com>: Recipient address\n"
    "    rejected: User unknown in virtual mailbox table\n"
    "\n"
    "Final-Recipient: rfc822; luis@example.com\n"
    "Action: delivered\n"
    "Status: 2.0.0\n"
    "\n"
    "Final-Recipient: rfc822; <\"odd..name\"@example.net>\n"
    "Action: failed\n"
    "Status: 5.2.2\n"
    "\n"
    "--B1\n"
    "Content-Type: message/rfc822\n"
    "\n"
    "From: Soporte <help@desk.example>\n"
    "To: ana@example.com, luis@example.com\n"
    "Subject: [#42] Your printer\n"
    "Message-ID: <spocd.1234@desk.example>\n"
    "\n"
    "Hello.\n"
    "--B1--\n";

static void test_dsn_rfc822(void **state)
{
	static const char *const want[] = {"ana@example.com", "\"odd..name\"@example.net", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(dsn_rfc822, "help-bounces", &r));
	assert_true(r.permanent);
	assert_string_equal(r.original_message_id, "spocd.1234@desk.example");
	assert_recipients(&r, want);
	assert_string_equal(r.status, "5.1.1");
	assert_string_equal(r.diagnostic, "550 5.1.1 <ana@example.com>: Recipient address "
					  "rejected: User unknown in virtual mailbox table");
	assert_null(r.verp_token);
	bounce_report_clear(&r);
	/* clearing twice, or a zeroed report, is fine */
	bounce_report_clear(&r);
}

/* Sendmail's DSN returns only the header of the message, as text/rfc822-headers. */
static void test_dsn_headers_only(void **state)
{
	static const char raw[] =
	    "From: Mail Delivery Subsystem <MAILER-DAEMON@relay.example.org>\n"
	    "To: <help-bounces+T42x7@desk.example>\n"
	    "Subject: Returned mail: see transcript for details\n"
	    "Auto-Submitted: auto-generated (failure)\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: multipart/report; report-type=delivery-status;\n"
	    "\tboundary=\"x.y/relay\"\n"
	    "\n"
	    "--x.y/relay\n"
	    "\n"
	    "The original message was received at Mon, 1 Jan 2024\n"
	    "\n"
	    "   ----- The following addresses had permanent fatal errors -----\n"
	    "<pedro@example.es>\n"
	    "\n"
	    "--x.y/relay\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Reporting-MTA: dns; relay.example.org\n"
	    "\n"
	    "Final-Recipient: RFC822; pedro@example.es\n"
	    "Action: failed\n"
	    "Status: 5.2.1\n"
	    "Diagnostic-Code: SMTP; 550 5.2.1 Mailbox disabled\n"
	    "\n"
	    "--x.y/relay\n"
	    "Content-Type: text/rfc822-headers\n"
	    "\n"
	    "Received: from desk.example by relay.example.org\n"
	    "From: help@desk.example\n"
	    "To: pedro@example.es\n"
	    "Message-ID:\n"
	    " <spocd.abcd-0001@desk.example>\n"
	    "Subject: [#7] Alta de usuario\n"
	    "\n"
	    "--x.y/relay--\n";
	static const char *const want[] = {"pedro@example.es", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(raw, "help-bounces", &r));
	assert_true(r.permanent);
	assert_string_equal(r.original_message_id, "spocd.abcd-0001@desk.example");
	assert_recipients(&r, want);
	assert_string_equal(r.status, "5.2.1");
	assert_string_equal(r.diagnostic, "550 5.2.1 Mailbox disabled");
	assert_string_equal(r.verp_token, "T42x7");
	bounce_report_clear(&r);
}

static void test_qmail(void **state)
{
	static const char raw[] =
	    "Return-Path: <>\n"
	    "From: MAILER-DAEMON@mx4.example.jp\n"
	    "To: help@desk.example\n"
	    "Subject: failure notice\n"
	    "\n"
	    "Hi. This is the qmail-send program at mx4.example.jp.\n"
	    "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
	    "This is a permanent error; I've given up. Sorry it didn't work out.\n"
	    "\n"
	    "<kiji@example.ne.jp>:\n"
	    "192.0.2.32 does not like recipient.\n"
	    "Remote host said: 550 5.1.1 Unknown user kiji@example.ne.jp\n"
	    "Giving up on 192.0.2.32.\n"
	    "\n"
	    "--- Below this line is a copy of the message.\n"
	    "\n"
	    "Return-Path: <help@desk.example>\n"
	    "Message-ID: <spocd.q1@desk.example>\n"
	    "From: help@desk.example\n"
	    "To: kiji@example.ne.jp, other@example.ne.jp\n"
	    "Subject: [#9] VPN\n"
	    "\n"
	    "text\n";
	static const char *const want[] = {"kiji@example.ne.jp", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(raw, NULL, &r));
	assert_true(r.permanent);
	assert_string_equal(r.original_message_id, "spocd.q1@desk.example");
	assert_recipients(&r, want);
	assert_string_equal(r.status, "5.1.1");
	assert_string_equal(r.diagnostic,
			    "Remote host said: 550 5.1.1 Unknown user kiji@example.ne.jp");
	bounce_report_clear(&r);
}

/* Exim: the failed addresses indented under "failed:", the original after a dashed line. The
 * original's own sender, named in the text ("envelope-from"), is not a failed recipient; the
 * address an alias was "generated from" (the one we wrote to) is, as well as the one it became. */
static void test_exim(void **state)
{
	static const char raw[] =
	    "Return-path: <>\n"
	    "From: Mail Delivery System <Mailer-Daemon@smtp.example.net>\n"
	    "To: help-bounces-Zz9@desk.example\n"
	    "Subject: Mail delivery failed: returning message to sender\n"
	    "Auto-Submitted: auto-replied\n"
	    "\n"
	    "This message was created automatically by mail delivery software.\n"
	    "\n"
	    "A message that you sent could not be delivered to one or more of its\n"
	    "recipients. This is a permanent error. The following address(es) failed:\n"
	    "\n"
	    "  maria@example.com\n"
	    "    SMTP error from remote mail server after RCPT TO:<maria@example.com>:\n"
	    "    host mx.example.com [192.0.2.1]: 550 5.1.1 <maria@example.com>: User unknown\n"
	    "  jose@example.com\n"
	    "    (generated from info@example.com)\n"
	    "    mailbox is full: retry timeout exceeded\n"
	    "\n"
	    "------ This is a copy of the message, including all the headers. ------\n"
	    "\n"
	    "Return-path: <help-bounces-Zz9@desk.example>\n"
	    "Received: from desk.example (envelope-from <help-bounces-Zz9@desk.example>)\n"
	    "Message-Id: <spocd.exim-1@desk.example>\n"
	    "From: help@desk.example\n"
	    "To: maria@example.com\n"
	    "\n"
	    "body\n";
	static const char *const want[] = {"maria@example.com", "jose@example.com",
					   "info@example.com", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(raw, "help-bounces", &r));
	assert_true(r.permanent);
	assert_string_equal(r.original_message_id, "spocd.exim-1@desk.example");
	assert_recipients(&r, want);
	assert_string_equal(r.status, "5.1.1");
	assert_string_equal(r.verp_token, "Zz9");
	bounce_report_clear(&r);
}

/* Exim's X-Failed-Recipients header is taken when the text says nothing usable. */
static void test_exim_header(void **state)
{
	static const char raw[] = "Return-path: <>\n"
				  "From: Mail Delivery System <Mailer-Daemon@smtp.example.net>\n"
				  "To: help@desk.example\n"
				  "X-Failed-Recipients: Uno@Example.com, dos@example.com\n"
				  "Subject: Mail delivery failed\n"
				  "\n"
				  "Fehler.\n";
	static const char *const want[] = {"uno@example.com", "dos@example.com", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(raw, NULL, &r));
	assert_recipients(&r, want);
	assert_null(r.original_message_id);
	assert_null(r.status);
	bounce_report_clear(&r);
}

/* Postfix without DSN: one text/plain body, the original quoted below. The bounce's In-Reply-To
 * is not needed: the quoted Message-ID comes first. */
static void test_postfix_text(void **state)
{
	static const char raw[] =
	    "Return-Path: <>\n"
	    "From: MAILER-DAEMON (Mail Delivery System)\n"
	    "To: help@desk.example\n"
	    "Subject: Undelivered Mail Returned to Sender\n"
	    "In-Reply-To: <not-this-one@desk.example>\n"
	    "\n"
	    "This is the mail system at host mx.example.org.\n"
	    "\n"
	    "I'm sorry to have to inform you that your message could not\n"
	    "be delivered to one or more recipients. It's attached below.\n"
	    "\n"
	    "                   The mail system\n"
	    "\n"
	    "<carla@example.org> (expanded from <ventas@example.org>): host\n"
	    "    mail.example.org[192.0.2.5] said: 552 5.2.2 Mailbox full (in reply to RCPT\n"
	    "    TO command)\n"
	    "\n"
	    "--- Original message follows.\n"
	    "Message-ID: <spocd.pf-77@desk.example>\n"
	    "From: help@desk.example\n";
	static const char *const want[] = {"carla@example.org", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(raw, NULL, &r));
	assert_true(r.permanent);
	assert_string_equal(r.original_message_id, "spocd.pf-77@desk.example");
	assert_recipients(&r, want);
	assert_string_equal(r.status, "5.2.2");
	bounce_report_clear(&r);
}

/* Exchange's home-made NDR (no DSN part): the address alone under "Delivery has failed". The
 * sender is postmaster@, so bounce words are needed, and the In-Reply-To is the last resort for
 * the original Message-ID. */
static void test_exchange_ndr(void **state)
{
	static const char raw[] =
	    "From: postmaster@corp.example.com\n"
	    "To: help@desk.example\n"
	    "Subject: Undeliverable: [#12] Printer on floor 3\n"
	    "In-Reply-To: <spocd.ex-12@desk.example>\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "\n"
	    "Delivery has failed to these recipients or groups:\n"
	    "\n"
	    "Jorge Pérez (jorge.perez@corp.example.com)\n"
	    "jorge.perez@corp.example.com\n"
	    "The email address you entered couldn't be found. Please check the recipient's\n"
	    "email address and try to resend the message.\n"
	    "\n"
	    "Diagnostic information for administrators:\n"
	    "\n"
	    "Generating server: EX01.corp.example.com\n"
	    "\n"
	    "jorge.perez@corp.example.com\n"
	    "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##\n"
	    "\n"
	    "Original message headers:\n"
	    "\n"
	    "Received: from desk.example\n"
	    "To: <jorge.perez@corp.example.com>\n";
	static const char *const want[] = {"jorge.perez@corp.example.com", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(raw, NULL, &r));
	assert_true(r.permanent);
	assert_string_equal(r.original_message_id, "spocd.ex-12@desk.example");
	assert_recipients(&r, want);
	assert_string_equal(r.status, "5.1.1");
	assert_string_equal(r.diagnostic, "#550 5.1.1 RESOLVER.ADR.RecipNotFound; not found ##");
	bounce_report_clear(&r);
}

static void test_gmail_and_spanish(void **state)
{
	static const char gmail[] = "Return-Path: <>\n"
				    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
				    "To: help@desk.example\n"
				    "Subject: Delivery Status Notification (Failure)\n"
				    "\n"
				    "Delivery to the following recipient failed permanently:\n"
				    "\n"
				    "     sofia.ruiz@example.com\n"
				    "\n"
				    "Technical details of permanent failure:\n"
				    "The email account that you tried to reach does not exist.\n";
	static const char spanish[] =
	    "Return-Path: <>\n"
	    "From: Sistema de correo <correo@isp.example.ar>\n"
	    "To: help@desk.example\n"
	    "Subject: =?utf-8?q?Notificaci=C3=B3n_de_estado_de_entrega?=\n"
	    "MIME-Version: 1.0\n"
	    "Content-Type: text/plain; charset=utf-8\n"
	    "Content-Transfer-Encoding: 8bit\n"
	    "\n"
	    "No se ha podido entregar el mensaje a los siguientes destinatarios:\n"
	    "\n"
	    "    andres@isp.example.ar (usuario desconocido)\n";
	static const char *const want_g[] = {"sofia.ruiz@example.com", NULL};
	static const char *const want_s[] = {"andres@isp.example.ar", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(gmail, NULL, &r));
	assert_recipients(&r, want_g);
	assert_true(r.permanent);
	bounce_report_clear(&r);
	assert_true(run(spanish, NULL, &r));
	assert_recipients(&r, want_s);
	assert_true(r.permanent);
	bounce_report_clear(&r);
}

/* Delay warnings: a DSN with Action: delayed, and a text-only warning. */
static void test_delay(void **state)
{
	static const char dsn[] =
	    "Return-Path: <>\n"
	    "From: Mail Delivery Subsystem <mailer-daemon@googlemail.com>\n"
	    "To: help@desk.example\n"
	    "Subject: Delivery Status Notification (Delay)\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
	    "\n"
	    "--b\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "Delivery to the following recipient has been delayed:\n"
	    "\n"
	    "     slow@example.com\n"
	    "\n"
	    "Message will be retried for 2 more day(s)\n"
	    "--b\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Reporting-MTA: dns; googlemail.com\n"
	    "\n"
	    "Final-Recipient: rfc822; slow@example.com\n"
	    "Action: delayed\n"
	    "Status: 4.4.7\n"
	    "Diagnostic-Code: smtp; 421 4.4.7 Try again later\n"
	    "Will-Retry-Until: Tue, 2 Jan 2024 00:00:00 +0000\n"
	    "--b--\n";
	static const char text[] =
	    "Return-Path: <>\n"
	    "From: Mail Delivery System <Mailer-Daemon@mx.example.net>\n"
	    "To: help@desk.example\n"
	    "Subject: Warning: message 1Gdrvl-0006Gp-PU delayed 24 hours\n"
	    "\n"
	    "This message was created automatically by mail delivery software.\n"
	    "A message that you sent has not yet been delivered to one or more of\n"
	    "its recipients after more than 24 hours on the queue.\n"
	    "\n"
	    "  lento@example.net\n"
	    "    Delay reason: SMTP error from remote mail server: 451 4.3.0 "
	    "greylisted\n"
	    "\n"
	    "No action is required on your part.\n";
	static const char *const want[] = {"slow@example.com", NULL};
	static const char *const want_t[] = {"lento@example.net", NULL};
	struct bounce_report r;

	(void)state;
	assert_true(run(dsn, NULL, &r));
	assert_false(r.permanent);
	assert_string_equal(r.status, "4.4.7");
	assert_recipients(&r, want);
	bounce_report_clear(&r);
	assert_true(run(text, NULL, &r));
	assert_false(r.permanent);
	assert_string_equal(r.status, "4.3.0");
	assert_recipients(&r, want_t);
	bounce_report_clear(&r);
}

/* The DSN fields decide permanence over the words of the text. */
static void test_dsn_no_action(void **state)
{
	static const char raw[] =
	    "From: postmaster@mx.example.org\n"
	    "Subject: Delivery report\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n"
	    "\n"
	    "--b\n"
	    "Content-Type: text/plain\n"
	    "\n"
	    "We will keep trying.\n"
	    "--b\n"
	    "Content-Type: message/delivery-status\n"
	    "\n"
	    "Final-Recipient: rfc822;nobody@example.org\n"
	    "--b--\n";
	static const char *const want[] = {"nobody@example.org", NULL};
	struct bounce_report r;

	(void)state;
	/* no Action, no Status: a failure */
	assert_true(run(raw, NULL, &r));
	assert_true(r.permanent);
	assert_null(r.status);
	assert_recipients(&r, want);
	bounce_report_clear(&r);
}

static void test_verp(void **state)
{
	static const char tmpl[] = "Return-Path: <>\n"
				   "From: MAILER-DAEMON@mx.example.org\n"
				   "%s"
				   "Subject: failure notice\n"
				   "\n"
				   "<x@example.com>: user unknown\n";
	static const struct {
		const char *headers, *local, *token;
	} cases[] = {
	    {"To: help-bounces+AbC.123=x@desk.example\n", "help-bounces", "AbC.123=x"},
	    {"To: help@desk.example\nDelivered-To: help-bounces-77@desk.example\n", "help-bounces",
	     "77"},
	    {"X-Original-To: <HELP-BOUNCES+t1@desk.example>\n", "help-bounces", "t1"},
	    {"Envelope-To: other@desk.example, help-bounces+e2@desk.example\n", "help-bounces",
	     "e2"},
	    /* the bare envelope sender carries no token */
	    {"To: help-bounces@desk.example\n", "help-bounces", NULL},
	    /* another local part that only starts the same */
	    {"To: help-bouncesX+t@desk.example\n", "help-bounces", NULL},
	    {"To: help-bounces+bad/token@desk.example\n", "help-bounces", NULL},
	    {"To: help-bounces+T9@desk.example\n", NULL, NULL},
	    {"To: help-bounces+T9@desk.example\n", "", NULL},
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *raw = g_strdup_printf(tmpl, cases[i].headers);
		struct bounce_report r;

		assert_true(run(raw, cases[i].local, &r));
		if (g_strcmp0(r.verp_token, cases[i].token) != 0)
			fail_msg("case %zu: token %s, expected %s", i, r.verp_token,
				 cases[i].token);
		bounce_report_clear(&r);
		g_free(raw);
	}
}

/* Mail sent to our VERP address by the null sender is a bounce even when its words are in a
 * language we do not read; an auto-reply sent there is not. */
static void test_verp_alone(void **state)
{
	static const char bounce[] = "Return-Path: <>\n"
				     "From: <>\n"
				     "To: help-bounces+tok1@desk.example\n"
				     "Subject: Mail\n"
				     "\n"
				     "Nachricht konnte nicht zugestellt werden.\n";
	static const char vacation[] = "Return-Path: <>\n"
				       "From: ana@example.com\n"
				       "To: help-bounces+tok1@desk.example\n"
				       "Subject: Re: [#1] VPN\n"
				       "Auto-Submitted: auto-replied (vacation)\n"
				       "\n"
				       "I am away until Monday.\n";
	struct bounce_report r;

	(void)state;
	assert_true(run(bounce, "help-bounces", &r));
	assert_string_equal(r.verp_token, "tok1");
	bounce_report_clear(&r);
	assert_false(run(vacation, "help-bounces", &r));
}

static void test_not_bounces(void **state)
{
	static const char *const raws[] = {
	    /* a person, who writes about a bounce */
	    "From: Ana <ana@example.com>\n"
	    "To: help@desk.example\n"
	    "Subject: FW: Undeliverable: report\n"
	    "\n"
	    "My mail could not be delivered, it says User unknown for bob@example.com\n",
	    /* a person whose mail was forwarded by a rule: no machine sender */
	    "From: Luis <luis@example.com>\n"
	    "Subject: Delivery Status Notification (Failure)\n"
	    "\n"
	    "Why do I get these?\n",
	    /* no From at all, person-like text that happens to say "unknown user" */
	    "To: help@desk.example\n"
	    "Subject: Ticket by unknown user\n"
	    "\n"
	    "This is a ticket submitted by an unknown user.\n",
	    /* a no-reply robot that is not a bounce */
	    "From: noreply@shop.example\n"
	    "Subject: Your order was not delivered yet\n"
	    "\n"
	    "Track it here.\n",
	    /* a vacation reply from the null sender */
	    "Return-Path: <>\n"
	    "From: ana@example.com\n"
	    "Subject: Auto: VPN\n"
	    "Auto-Submitted: auto-replied\n"
	    "\n"
	    "I am out of the office.\n",
	    /* a read receipt */
	    "From: ana@example.com\n"
	    "Subject: Read: VPN\n"
	    "Content-Type: multipart/report; report-type=disposition-notification; boundary=b\n"
	    "\n"
	    "--b\nContent-Type: text/plain\n\nYour message was read.\n"
	    "--b\nContent-Type: message/disposition-notification\n\n"
	    "Final-Recipient: rfc822;ana@example.com\nDisposition: manual-action/MDN-sent-"
	    "manually; displayed\n--b--\n",
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(raws); i++) {
		struct bounce_report r;

		memset(&r, 0x5a, sizeof(r)); /* need not be initialised */
		if (run(raws[i], "help-bounces", &r)) {
			bounce_report_clear(&r);
			fail_msg("case %zu taken for a bounce", i);
		}
	}
}

/* Parts that are empty, missing or garbage; bounce_parse still answers and its report holds. */
static void test_hostile_parts(void **state)
{
	static const char *const raws[] = {
	    /* empty DSN and returned parts */
	    "From: MAILER-DAEMON@x.example\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
	    "--b\nContent-Type: text/plain\n\n"
	    "--b\nContent-Type: message/delivery-status\n\n"
	    "--b\nContent-Type: message/rfc822\n\n"
	    "--b\nContent-Type: text/rfc822-headers\n\n"
	    "--b--\n",
	    /* fields without values, garbage addresses, a Message-ID that is not one */
	    "From: MAILER-DAEMON@x.example\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
	    "--b\nContent-Type: message/delivery-status\n\n"
	    "Final-Recipient:\nAction:\nStatus: 9.9.9.9\n\n"
	    "Final-Recipient: rfc822; @@@\nOriginal-Recipient: rfc822; <>\n"
	    "Diagnostic-Code: ;\n\n"
	    "Final-Recipient: rfc822; a@\nX-Original-Message-ID: <>\n"
	    "--b\nContent-Type: text/rfc822-headers\n\nMessage-ID: < >\nTo: @\n"
	    "--b--\n",
	    /* a Diagnostic-Code in Latin-1 bytes, 8-bit in the field */
	    "From: MAILER-DAEMON@x.example\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
	    "--b\nContent-Type: message/delivery-status\n\n"
	    "Final-Recipient: rfc822;jose@x.example\nAction: failed\n"
	    "Diagnostic-Code: smtp; 550 Usuario \xe1\xe9\xed desconocido \xff\xfe\n"
	    "--b--\n",
	    /* a header block that never ends, with a folded line first */
	    "From: MAILER-DAEMON@x.example\n"
	    "Content-Type: multipart/report; report-type=delivery-status; boundary=b\n\n"
	    "--b\nContent-Type: message/delivery-status\n\n"
	    "  folded: nothing before\nFinal-Recipient: rfc822;z@x.example\n"
	    "Action: failed\nStatus: 5.0.0",
	};
	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(raws); i++) {
		struct bounce_report r;

		assert_true(run(raws[i], NULL, &r));
		bounce_report_clear(&r);
	}
}

/* Huge lines, thousands of '@' and an endless diagnostic: bounded time, bounded output. */
static void test_hostile_sizes(void **state)
{
	GString *raw = g_string_new("Return-Path: <>\n"
				    "From: MAILER-DAEMON@x.example\n"
				    "Subject: failure notice\n"
				    "X-Failed-Recipients: ");
	struct bounce_report r;
	gint64 start;

	(void)state;
	for (int i = 0; i < 3000; i++)
		g_string_append_printf(raw, "u%d@x.example, ", i);
	g_string_append(raw, "\n\nThe following address(es) failed:\n\n");
	/* one 2 MB line of '@' */
	for (int i = 0; i < 1024 * 1024; i++)
		g_string_append(raw, "a@");
	g_string_append(raw, "\n<long@x.example>: 550 5.1.1 ");
	for (int i = 0; i < 10000; i++)
		g_string_append(raw, "diagnostic words ");
	g_string_append(raw, "\n");
	for (int i = 0; i < 50000; i++)
		g_string_append(raw, "<r@x.example>: failed\n");
	start = g_get_monotonic_time();
	assert_true(run(raw->str, NULL, &r));
	/* well under a second even with sanitizers; seconds would mean quadratic work */
	assert_true(g_get_monotonic_time() - start < 10 * G_USEC_PER_SEC);
	assert_true(r.recipients->len <= 100);
	assert_string_equal(g_ptr_array_index(r.recipients, 0), "u0@x.example");
	bounce_report_clear(&r);
	g_string_free(raw, TRUE);
}

static void test_subject_why(void **state)
{
	(void)state;
	assert_non_null(bounce_subject_why("Undelivered Mail Returned to Sender"));
	assert_non_null(bounce_subject_why("Mail delivery failed: returning message to sender"));
	assert_non_null(bounce_subject_why("Delivery Status Notification (Failure)"));
	assert_non_null(bounce_subject_why("Undeliverable: [#12] Printer"));
	assert_non_null(bounce_subject_why("No se ha podido entregar: Re: hola"));
	assert_non_null(bounce_subject_why("Notificación de estado de entrega (error)"));
	assert_null(bounce_subject_why("Printer not working"));
	assert_null(bounce_subject_why("Your parcel is on its way"));
	assert_null(bounce_subject_why(""));
	assert_null(bounce_subject_why(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dsn_rfc822),	  cmocka_unit_test(test_dsn_headers_only),
	    cmocka_unit_test(test_qmail),	  cmocka_unit_test(test_exim),
	    cmocka_unit_test(test_exim_header),	  cmocka_unit_test(test_postfix_text),
	    cmocka_unit_test(test_exchange_ndr),  cmocka_unit_test(test_gmail_and_spanish),
	    cmocka_unit_test(test_delay),	  cmocka_unit_test(test_dsn_no_action),
	    cmocka_unit_test(test_verp),	  cmocka_unit_test(test_verp_alone),
	    cmocka_unit_test(test_not_bounces),	  cmocka_unit_test(test_hostile_parts),
	    cmocka_unit_test(test_hostile_sizes), cmocka_unit_test(test_subject_why),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
