/* caps.c: which budget holds a notification and until when, the key a recipient is counted
 * by, and the recipients the desk refuses. */
#include "testlib.h"

#include "caps.h"

#define NOW   INT64_C(1800000000)
#define DAY_S 86400

/* The daemon's defaults (conf.c). */
static struct caps_conf defaults(void)
{
	struct caps_conf c = {.automatic = {{10, 40, 50}}, .automatic_per_hour = 500};

	c.kinds[CAPS_AGENT_REPLY] = (struct caps_budget){{30, 200, 100}};
	return c;
}

static struct caps_verdict decide(const struct caps_conf *c, const char *kind,
				  const struct caps_facts *f)
{
	const struct caps_row row = {.kind = kind, .age_s = 10};
	struct caps_verdict v;

	caps_decide(c, &row, f, NOW, 2 * DAY_S, &v);
	return v;
}

static void test_under_every_limit_sends(void **state)
{
	struct caps_conf c = defaults();
	struct caps_facts f = {0};
	struct caps_verdict v;

	(void)state;
	v = decide(&c, "ack", &f);
	assert_int_equal(v.action, CAPS_SEND);
	assert_string_equal(v.reason, "");
	f.automatic[CAPS_RECIPIENT_HOUR] = (struct caps_count){9, NOW - 100};
	f.automatic[CAPS_RECIPIENT_DAY] = (struct caps_count){39, NOW - 5000};
	f.automatic[CAPS_TICKET_DAY] = (struct caps_count){49, NOW - 5000};
	f.automatic_hour = (struct caps_count){499, NOW - 3000};
	assert_int_equal(decide(&c, "status", &f).action, CAPS_SEND);
}

static void test_shared_hour_holds_until_oldest_leaves(void **state)
{
	struct caps_conf c = defaults();
	struct caps_facts f = {0};
	struct caps_verdict v;

	(void)state;
	c.automatic.per[CAPS_RECIPIENT_HOUR] = 3;
	f.automatic[CAPS_RECIPIENT_HOUR] = (struct caps_count){3, NOW - 600};
	v = decide(&c, "ack", &f);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_int_equal(v.release, NOW - 600 + 3600);
	assert_string_equal(v.reason,
			    "rate_limits.per_recipient_hour = 3: already 3 automatic mails "
			    "to this address in the last hour");
	/* the automatic mail to people outside the desk shares it, the status trigger's rows
	 * too */
	assert_int_equal(decide(&c, "status", &f).action, CAPS_HOLD);
	/* a notice to the desk's own agents and a person's relayed reply are counted by their
	 * own kind's budget only */
	assert_int_equal(decide(&c, "sla-breach", &f).action, CAPS_SEND);
	assert_int_equal(decide(&c, "follow-up", &f).action, CAPS_SEND);
	assert_int_equal(decide(&c, "agent-reply", &f).action, CAPS_SEND);
	f.kind[CAPS_RECIPIENT_HOUR] = (struct caps_count){5, NOW - 100};
	c.kinds[CAPS_FOLLOW_UP].per[CAPS_RECIPIENT_HOUR] = 5;
	v = decide(&c, "follow-up", &f);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_string_equal(v.reason, "rate_limits.follow-up.per_recipient_hour = 5: already 5 "
				      "follow-up mails to this address in the last hour");
}

static void test_latest_release_binds(void **state)
{
	struct caps_conf c = defaults();
	struct caps_facts f = {0};
	struct caps_verdict v;

	(void)state;
	f.automatic[CAPS_RECIPIENT_HOUR] = (struct caps_count){10, NOW - 3000};
	f.automatic[CAPS_RECIPIENT_DAY] = (struct caps_count){40, NOW - 80000};
	f.automatic[CAPS_TICKET_DAY] = (struct caps_count){50, NOW - 20000};
	v = decide(&c, "ack", &f);
	assert_int_equal(v.action, CAPS_HOLD);
	/* the ticket's day frees last: it is the one named */
	assert_int_equal(v.release, NOW - 20000 + DAY_S);
	assert_string_equal(v.reason,
			    "rate_limits.per_ticket_day = 50: already 50 automatic mails on "
			    "this ticket in the last day");
}

static void test_kind_budget(void **state)
{
	struct caps_conf c = defaults();
	struct caps_facts f = {0};
	struct caps_verdict v;

	(void)state;
	c.kinds[CAPS_ACK].per[CAPS_RECIPIENT_HOUR] = 2;
	f.kind[CAPS_RECIPIENT_HOUR] = (struct caps_count){2, NOW - 60};
	f.automatic[CAPS_RECIPIENT_HOUR] = (struct caps_count){2, NOW - 60};
	v = decide(&c, "ack", &f);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_int_equal(v.release, NOW - 60 + 3600);
	assert_string_equal(v.reason, "rate_limits.ack.per_recipient_hour = 2: already 2 ack mails "
				      "to this address in the last hour");
	/* another kind's own budget is unset (0): only the shared one counts for it */
	assert_int_equal(decide(&c, "status", &f).action, CAPS_SEND);
}

static void test_agent_reply_own_budget(void **state)
{
	struct caps_conf c = defaults();
	struct caps_facts f = {0};
	struct caps_verdict v;

	(void)state;
	/* automatic mail to the address and the desk's global cap do not hold a person's reply */
	f.automatic[CAPS_RECIPIENT_HOUR] = (struct caps_count){100, NOW - 60};
	f.automatic_hour = (struct caps_count){10000, NOW - 60};
	assert_int_equal(decide(&c, "agent-reply", &f).action, CAPS_SEND);
	/* but a runaway does stop */
	f.kind[CAPS_RECIPIENT_HOUR] = (struct caps_count){30, NOW - 1200};
	v = decide(&c, "agent-reply", &f);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_int_equal(v.release, NOW - 1200 + 3600);
	assert_string_equal(v.reason, "rate_limits.agent-reply.per_recipient_hour = 30: already 30 "
				      "agent-reply mails to this address in the last hour");
	f.kind[CAPS_RECIPIENT_HOUR] = (struct caps_count){0, 0};
	f.kind[CAPS_TICKET_DAY] = (struct caps_count){100, NOW - 1200};
	v = decide(&c, "agent-reply", &f);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_non_null(strstr(v.reason, "rate_limits.agent-reply.per_ticket_day = 100"));
}

static void test_global_cap(void **state)
{
	struct caps_conf c = defaults();
	struct caps_facts f = {0};
	struct caps_verdict v;

	(void)state;
	f.automatic_hour = (struct caps_count){500, NOW - 3599};
	v = decide(&c, "ack", &f);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_int_equal(v.release, NOW + 1);
	assert_string_equal(v.reason, "rate_limits.automatic_per_hour = 500: already 500 automatic "
				      "mails to all recipients in the last hour");
	c.automatic_per_hour = 0; /* no cap */
	assert_int_equal(decide(&c, "ack", &f).action, CAPS_SEND);
}

static void test_release_never_now(void **state)
{
	struct caps_conf c = defaults();
	struct caps_facts f = {0};
	struct caps_verdict v;

	(void)state;
	/* a clock that moved back makes the oldest look older than the window */
	f.automatic[CAPS_RECIPIENT_HOUR] = (struct caps_count){10, NOW - 7200};
	v = decide(&c, "ack", &f);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_true(v.release > NOW);
}

static void test_waived_and_max_age(void **state)
{
	struct caps_conf c = defaults();
	struct caps_facts f = {0};
	struct caps_row row = {.kind = "ack", .waived = TRUE};
	struct caps_verdict v;

	(void)state;
	f.automatic[CAPS_RECIPIENT_DAY] = (struct caps_count){40, NOW - 3600};
	/* an operator pushed it: sent whatever the limits */
	caps_decide(&c, &row, &f, NOW, 2 * DAY_S, &v);
	assert_int_equal(v.action, CAPS_SEND);
	/* held until NOW + 23 h: fine for a row one day old, not for one 1.5 days old */
	row.waived = FALSE;
	row.age_s = DAY_S;
	caps_decide(&c, &row, &f, NOW, 2 * DAY_S, &v);
	assert_int_equal(v.action, CAPS_HOLD);
	row.age_s = DAY_S + DAY_S / 2;
	caps_decide(&c, &row, &f, NOW, 2 * DAY_S, &v);
	assert_int_equal(v.action, CAPS_FAIL);
	assert_string_equal(
	    v.reason, "gave up: it would be held past smtp.max_retry_age (172800 s) by "
		      "rate_limits.per_recipient_day = 40: already 40 automatic mails to this "
		      "address in the last day");
	/* a held row that is already too old is given up even when it could go now */
	memset(&f, 0, sizeof(f));
	row.held = TRUE;
	row.age_s = 2 * DAY_S + 1;
	caps_decide(&c, &row, &f, NOW, 2 * DAY_S, &v);
	assert_int_equal(v.action, CAPS_FAIL);
	assert_non_null(strstr(v.reason, "smtp.max_retry_age (172800 s)"));
	/* a pending one of that age is the SMTP retries' business, not the limits' */
	row.held = FALSE;
	caps_decide(&c, &row, &f, NOW, 2 * DAY_S, &v);
	assert_int_equal(v.action, CAPS_SEND);
}

static void test_kinds(void **state)
{
	(void)state;
	for (int k = 0; k < CAPS_KINDS; k++)
		assert_int_equal(caps_kind_of(caps_kind_names[k]), k);
	assert_int_equal(caps_kind_of("bounce"), -1);
	assert_int_equal(caps_kind_of(NULL), -1);
	assert_false(caps_automatic("agent-reply"));
	assert_false(caps_automatic("follow-up"));
	assert_false(caps_automatic("assigned"));
	assert_true(caps_automatic("ack"));
	assert_true(caps_automatic("status"));
	assert_true(caps_automatic("something-new"));
	/* the answers to a requester's commands go outside the desk: the shared budgets count */
	assert_true(caps_automatic("my-tickets"));
	assert_true(caps_automatic("requester-result"));
	assert_int_equal(caps_kind_of("my-tickets"), CAPS_MY_TICKETS);
	assert_int_equal(caps_kind_of("requester-result"), CAPS_REQUESTER_RESULT);
}

/* A requester asking for their list again and again is held by the shared budget to their
 * address, like any automatic mail. */
static void test_requester_answers_capped(void **state)
{
	struct caps_conf c = {.automatic = {{3, 10, 0}}, .automatic_per_hour = 500};
	const struct caps_row row = {.kind = "my-tickets"};
	struct caps_facts f = {0};
	struct caps_verdict v;

	(void)state;
	f.automatic[CAPS_RECIPIENT_HOUR] = (struct caps_count){.n = 3, .oldest = 1000};
	caps_decide(&c, &row, &f, 2000, 172800, &v);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_int_equal(v.release, 1000 + 3600);
	assert_non_null(strstr(v.reason, "rate_limits.per_recipient_hour = 3"));
	/* and by its own kind's budget */
	memset(&f, 0, sizeof(f));
	c.kinds[CAPS_MY_TICKETS].per[CAPS_RECIPIENT_DAY] = 2;
	f.kind[CAPS_RECIPIENT_DAY] = (struct caps_count){.n = 2, .oldest = 1500};
	caps_decide(&c, &row, &f, 2000, 172800, &v);
	assert_int_equal(v.action, CAPS_HOLD);
	assert_non_null(strstr(v.reason, "rate_limits.my-tickets.per_recipient_day = 2"));
}

static void expect_key(const char *addr, const char *want)
{
	char *got = caps_recipient_key(addr);

	if (strcmp(got, want) != 0)
		fail_msg("caps_recipient_key(\"%s\")\n  got  \"%s\"\n  want \"%s\"",
			 addr != NULL ? addr : "(null)", got, want);
	g_free(got);
}

static void test_recipient_key(void **state)
{
	(void)state;
	expect_key("Victim@Example.COM", "victim@example.com");
	expect_key("victim+1@example.com", "victim@example.com");
	expect_key("victim+a+b@example.com", "victim@example.com");
	/* dots are a mailbox's own elsewhere */
	expect_key("v.i.c.t.i.m@example.com", "v.i.c.t.i.m@example.com");
	/* Gmail ignores them, and googlemail.com is gmail.com */
	expect_key("V.i.c.t.i.m+spam@Gmail.com", "victim@gmail.com");
	expect_key("vic.tim@googlemail.com", "victim@gmail.com");
	/* a leading '+' is a name, not a tag */
	expect_key("+34600000000@sms.example", "+34600000000@sms.example");
	/* the last '@' splits */
	expect_key("\"a@b\"+x@example.com", "\"a@b\"@example.com");
	expect_key("no-at-sign", "no-at-sign");
	expect_key("@example.com", "@example.com");
	expect_key(NULL, "");
}

static void expect_refused(const char *addr, const char *want)
{
	static const char *const own[] = {"help@desk.test", "soporte@desk.test", NULL};
	static const char *const refused[] = {"blocked.example", "evil.test", NULL};
	char *got = caps_recipient_refused(addr, own, refused);

	if (g_strcmp0(got, want) != 0)
		fail_msg("caps_recipient_refused(\"%s\")\n  got  \"%s\"\n  want \"%s\"",
			 addr != NULL ? addr : "(null)", got != NULL ? got : "(null)",
			 want != NULL ? want : "(null)");
	g_free(got);
}

static void test_refused_recipients(void **state)
{
	(void)state;
	expect_refused("lucia.vidal@example.com", NULL);
	expect_refused("ana@sub.desk.test", NULL);
	expect_refused("x@[10.0.0.5]", "refused recipient: address literal [10.0.0.5]");
	expect_refused("x@[IPv6:::1]", "refused recipient: address literal [ipv6:::1]");
	expect_refused("x@10.0.0.5", "refused recipient: numeric domain 10.0.0.5 (an address, not "
				     "a name)");
	expect_refused("root@localhost", "refused recipient: localhost domain localhost");
	expect_refused("root@LocalHost.", "refused recipient: localhost domain localhost");
	expect_refused("a@app.localhost", "refused recipient: localhost domain app.localhost");
	expect_refused("a@localhost.localdomain",
		       "refused recipient: localhost domain localhost.localdomain");
	expect_refused("admin@intranet", "refused recipient: single-label domain intranet");
	expect_refused("admin@intranet.", "refused recipient: single-label domain intranet");
	expect_refused("admin@.com", "refused recipient: single-label domain .com");
	expect_refused("help@desk.test",
		       "refused recipient: the desk's own address help@desk.test");
	expect_refused("Help+x@Desk.Test",
		       "refused recipient: the desk's own address help@desk.test");
	expect_refused("soporte+b42k@desk.test",
		       "refused recipient: the desk's own address soporte@desk.test");
	expect_refused("helpdesk@desk.test", NULL);
	expect_refused("x@blocked.example",
		       "refused recipient: domain blocked.example in smtp.refused_domains "
		       "(blocked.example)");
	expect_refused("x@mx.Blocked.Example",
		       "refused recipient: domain mx.blocked.example in smtp.refused_domains "
		       "(blocked.example)");
	/* a domain that only ends like a refused one is another domain */
	expect_refused("x@notblocked.example", NULL);
	expect_refused("x@evil.test.example.com", NULL);
	expect_refused("no-at-sign", "refused recipient: not an address with a domain");
	expect_refused("x@", "refused recipient: not an address with a domain");
	expect_refused(NULL, "refused recipient: not an address with a domain");
	/* nothing configured */
	{
		char *why = caps_recipient_refused("a@example.org", NULL, NULL);

		assert_null(why);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_under_every_limit_sends),
	    cmocka_unit_test(test_shared_hour_holds_until_oldest_leaves),
	    cmocka_unit_test(test_latest_release_binds),
	    cmocka_unit_test(test_kind_budget),
	    cmocka_unit_test(test_agent_reply_own_budget),
	    cmocka_unit_test(test_global_cap),
	    cmocka_unit_test(test_release_never_now),
	    cmocka_unit_test(test_waived_and_max_age),
	    cmocka_unit_test(test_kinds),
	    cmocka_unit_test(test_requester_answers_capped),
	    cmocka_unit_test(test_recipient_key),
	    cmocka_unit_test(test_refused_recipients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
