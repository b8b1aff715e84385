/* Unit tests of judge.c: every rule that turns thread_decide()'s verdict into the plan the store
 * carries out, and the one definition of a proven agent. No database, no clock. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "judge.h"

#include <string.h>

static const struct thread_verdict attach = {
    .action = THREAD_ATTACH, .ticket_id = 7, .why = "in-reply-to"};
static const struct thread_verdict reopen = {
    .action = THREAD_REOPEN, .ticket_id = 7, .why = "reopen"};
static const struct thread_verdict new_ticket = {.action = THREAD_NEW_TICKET, .why = "none"};
static const struct thread_verdict related = {.action = THREAD_NEW_LINKED,
					      .link_ticket_id = 7,
					      .link_kind = THREAD_LINK_POSSIBLY_RELATED,
					      .why = "not a participant"};
static const struct thread_verdict follow_up = {.action = THREAD_NEW_LINKED,
						.link_ticket_id = 7,
						.link_kind = THREAD_LINK_FOLLOW_UP,
						.why = "closed"};

#define TODAY 20430

static const struct judge_sender person = {0};
static const struct judge_sender proven_agent = {.agent_id = 3, .proven = TRUE};
static const struct judge_sender unproven_agent = {.agent_id = 3};
/* this agent's token for ticket 7, issued today under the current generation */
static const struct judge_sender token_agent = {
    .agent_id = 3, .token_agent = 3, .token_ticket = 7, .token_day = TODAY};

static struct ingest_decision decision(const char *automatic_why)
{
	struct ingest_decision d = {.kind_rule = "built-in: incident",
				    .automatic_why = automatic_why,
				    .today = TODAY,
				    .token_days = 30,
				    .token_and_domain = FALSE};

	g_strlcpy(d.from_proven_why, "dkim=none by mx.desk", sizeof(d.from_proven_why));
	return d;
}

static void expect_proof(const struct ingest_decision *d, const struct judge_sender *who,
			 int64_t ticket, const char *why)
{
	const char *got = "unset";
	gboolean ok = judge_agent_proven(d, who, ticket, &got);

	if (why == NULL ? (!ok || got != NULL) : (ok || got == NULL || strcmp(got, why) != 0))
		fail_msg("ticket %lld: proven %d, why \"%s\", want \"%s\"", (long long)ticket, ok,
			 got != NULL ? got : "(null)", why != NULL ? why : "(proven)");
}

static void test_agent_proof(void **state)
{
	struct ingest_decision d = decision(NULL);
	struct judge_sender w;

	(void)state;
	expect_proof(&d, &person, 7, "not an agent");
	expect_proof(&d, &proven_agent, 7, NULL);
	/* neither proof, and no token at all: the border's verdict is the reason */
	expect_proof(&d, &unproven_agent, 7, "dkim=none by mx.desk");
	expect_proof(&d, &token_agent, 7, NULL);
	/* a token proves the agent for its own ticket only, and only the agent it names */
	expect_proof(&d, &token_agent, 8,
		     "no reply address of yours for this ticket among the recipients (To)");
	w = token_agent;
	w.agent_id = 4;
	expect_proof(&d, &w, 7,
		     "no reply address of yours for this ticket among the recipients (To)");
	/* with the border's pass, a bad token does not matter when either proof suffices */
	w = token_agent;
	w.proven = TRUE;
	w.token_generation = 5;
	expect_proof(&d, &w, 7, NULL);
	/* expiry: token_days after its day it still works, the day after not */
	w = token_agent;
	w.token_day = TODAY - 30;
	expect_proof(&d, &w, 7, NULL);
	w.token_day = TODAY - 31;
	expect_proof(&d, &w, 7, "the reply address has expired");
	w.token_day = TODAY + 2; /* from the future: not ours */
	expect_proof(&d, &w, 7, "the reply address has expired");
	/* a token from before agent tokens carried a day */
	w.token_day = 0;
	expect_proof(&d, &w, 7,
		     "the reply address is of an old kind that no longer proves an agent");
	/* revoked: the agent's generation moved on */
	w = token_agent;
	w.agent_generation = 1;
	expect_proof(&d, &w, 7, "the reply address was revoked");
	/* a fail for the agent's domain vetoes a good token, and a pass */
	w = token_agent;
	w.failed = TRUE;
	g_strlcpy(d.from_proven_why, "dmarc=fail header.from=desk.test by mx.desk",
		  sizeof(d.from_proven_why));
	expect_proof(&d, &w, 7, "dmarc=fail header.from=desk.test by mx.desk");
	w.proven = TRUE;
	expect_proof(&d, &w, 7, "dmarc=fail header.from=desk.test by mx.desk");
	/* token and domain: each alone is not enough */
	d = decision(NULL);
	d.token_and_domain = TRUE;
	expect_proof(&d, &token_agent, 7, "dkim=none by mx.desk");
	expect_proof(&d, &proven_agent, 7,
		     "no reply address of yours for this ticket among the recipients (To)");
	w = token_agent;
	w.proven = TRUE;
	expect_proof(&d, &w, 7, NULL);
	w.token_day = TODAY - 31;
	expect_proof(&d, &w, 7, "the reply address has expired");
}

static void test_person_replies(void **state)
{
	struct ingest_decision d = decision(NULL);
	struct judge_plan p;

	(void)state;
	judge_mail(&d, &person, &attach, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_int_equal(p.ticket_id, 7);
	assert_false(p.reopen);
	assert_true(p.end_wait); /* the requester answered: a pending ticket moves on */
	assert_int_equal(p.reply, JUDGE_REPLY_PARTICIPANT);
	assert_int_equal(p.outcome, INGEST_REPLY);
	assert_string_equal(p.detail, "in-reply-to");
	assert_false(p.ack);

	judge_mail(&d, &person, &reopen, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_true(p.reopen);
	/* logged as what it did, not as a plain reply */
	assert_int_equal(p.outcome, INGEST_REOPENED);
}

static void test_agents(void **state)
{
	struct ingest_decision d = decision(NULL);
	struct judge_plan p;

	(void)state;
	judge_mail(&d, &proven_agent, &attach, 0, &p);
	assert_int_equal(p.reply, JUDGE_REPLY_AGENT);
	assert_false(p.end_wait); /* an agent's mail changes the status by command only */

	judge_mail(&d, &token_agent, &attach, 0, &p);
	assert_int_equal(p.reply, JUDGE_REPLY_AGENT);

	/* an agent's address without proof, naming a ticket: never onto that ticket; a new one
	 * linked to it, acknowledged to nobody, and the agent told why */
	judge_mail(&d, &unproven_agent, &related, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_int_equal(p.ticket_id, 0);
	assert_int_equal(p.link_ticket_id, 7);
	assert_string_equal(p.link_kind, THREAD_LINK_POSSIBLY_RELATED);
	assert_false(p.ack);
	assert_int_equal(p.reply, JUDGE_REPLY_UNPROVEN_AGENT);
	assert_string_equal(p.unproven_why, "dkim=none by mx.desk");
	assert_string_equal(p.detail, "from an agent's address, not proven: a new ticket linked "
				      "to the one it names");

	/* a token for another ticket proves nothing here */
	const struct thread_verdict other = {.action = THREAD_ATTACH, .ticket_id = 8, .why = "x"};
	judge_mail(&d, &token_agent, &other, 0, &p);
	assert_int_equal(p.reply, JUDGE_REPLY_UNPROVEN_AGENT);

	/* a new ticket from an unproven agent's address: opened, and the agent told */
	judge_mail(&d, &unproven_agent, &new_ticket, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_int_equal(p.reply, JUDGE_REPLY_UNPROVEN_AGENT);
	judge_mail(&d, &proven_agent, &new_ticket, 0, &p);
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);
}

static void test_new_tickets(void **state)
{
	struct ingest_decision d = decision(NULL);
	struct judge_plan p;

	(void)state;
	judge_mail(&d, &person, &new_ticket, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_true(p.ack);
	assert_int_equal(p.link_ticket_id, 0);
	assert_int_equal(p.outcome, INGEST_TICKET);
	assert_string_equal(p.detail, "built-in: incident");
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);

	/* a stranger naming someone's ticket gets their own, linked, and never the other */
	judge_mail(&d, &person, &related, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_int_equal(p.ticket_id, 0);
	assert_int_equal(p.link_ticket_id, 7);
	assert_string_equal(p.link_kind, THREAD_LINK_POSSIBLY_RELATED);
	assert_string_equal(p.detail, "not a participant");

	judge_mail(&d, &person, &follow_up, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_string_equal(p.link_kind, THREAD_LINK_FOLLOW_UP);

	/* a domain the border failed DMARC for is never acknowledged, whatever its policy */
	d.from_dmarc = AUTHRES_DMARC_FAIL;
	d.from_dmarc_policy = AUTHRES_POLICY_NONE;
	judge_mail(&d, &person, &new_ticket, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_false(p.ack);
	d.from_dmarc = AUTHRES_DMARC_PERMERROR;
	judge_mail(&d, &person, &new_ticket, 0, &p);
	assert_true(p.ack);
}

static void test_automatic(void **state)
{
	struct ingest_decision d = decision("Auto-Submitted: auto-replied");
	struct judge_plan p;

	(void)state;
	/* never reopens, never opens a follow-up, never sets anything off */
	judge_mail(&d, &person, &reopen, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_false(p.reopen);
	assert_false(p.end_wait);
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);
	assert_int_equal(p.outcome, INGEST_AUTOMATIC);
	assert_string_equal(p.detail, "Auto-Submitted: auto-replied");

	judge_mail(&d, &person, &follow_up, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_int_equal(p.ticket_id, 7);

	judge_mail(&d, &person, &new_ticket, 0, &p);
	assert_int_equal(p.action, JUDGE_RECORD);
	assert_false(p.ack);
	assert_int_equal(p.outcome, INGEST_AUTOMATIC);

	/* a machine that is no participant of the ticket it names gets nothing onto it */
	judge_mail(&d, &person, &related, 0, &p);
	assert_int_equal(p.action, JUDGE_RECORD);
	assert_int_equal(p.ticket_id, 0);
	assert_string_equal(p.detail, "Auto-Submitted: auto-replied");

	/* an automatic mail from an agent's address sets nothing off either */
	judge_mail(&d, &unproven_agent, &attach, 0, &p);
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);
}

static void test_bounce(void **state)
{
	struct ingest_decision d = decision("delivery report");
	struct judge_plan p;

	(void)state;
	/* a delivery failure goes with the ticket whose notification it returns */
	judge_mail(&d, &person, &new_ticket, 42, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_int_equal(p.ticket_id, 42);
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);
	judge_mail(&d, &person, &attach, 42, &p);
	assert_int_equal(p.ticket_id, 42);
}

/* A person's reply that only thanks, once the ticket is resolved or closed: kept on that ticket
 * as a note, nothing reopened, nothing opened, nobody told. Anything else, or anyone else, as
 * before. */
static void test_thanks(void **state)
{
	struct ingest_decision d = decision(NULL);
	struct judge_plan p;

	(void)state;
	d.thanks_only = TRUE;
	g_strlcpy(d.thanks_why, "only thanks or acknowledgement: \"Gracias\"",
		  sizeof(d.thanks_why));
	/* resolved, within the reopen window */
	judge_mail(&d, &person, &reopen, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_int_equal(p.ticket_id, 7);
	assert_false(p.reopen);
	assert_false(p.end_wait);
	assert_false(p.ack);
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);
	assert_int_equal(p.outcome, INGEST_REPLY);
	assert_ptr_equal(p.note, d.thanks_why);
	assert_string_equal(p.detail, "only thanks for a resolved ticket: kept on it as a note, "
				      "not reopened, nobody told");
	/* closed, or resolved before the window: onto that ticket, no follow-up */
	judge_mail(&d, &person, &follow_up, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_int_equal(p.ticket_id, 7);
	assert_int_equal(p.link_ticket_id, 0);
	assert_false(p.reopen);
	assert_false(p.end_wait);
	assert_false(p.ack);
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);
	assert_ptr_equal(p.note, d.thanks_why);
	assert_string_equal(p.detail, "only thanks for a closed ticket (or one resolved before "
				      "the reopen window): kept on it as a note, no follow-up "
				      "ticket, nobody told");

	/* an open ticket: a reply as any other (the assignee hears of it, a wait ends) */
	judge_mail(&d, &person, &attach, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_true(p.end_wait);
	assert_int_equal(p.reply, JUDGE_REPLY_PARTICIPANT);
	assert_null(p.note);
	assert_string_equal(p.detail, "in-reply-to");
	/* a stranger's thanks never gets onto someone's ticket */
	judge_mail(&d, &person, &related, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_int_equal(p.link_ticket_id, 7);
	assert_null(p.note);
	/* nor does a new mail that names no ticket become a note */
	judge_mail(&d, &person, &new_ticket, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_true(p.ack);
	assert_null(p.note);
	/* an agent's mail is an agent's, whatever it says */
	judge_mail(&d, &proven_agent, &follow_up, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_null(p.note);
	judge_mail(&d, &proven_agent, &attach, 0, &p);
	assert_int_equal(p.reply, JUDGE_REPLY_AGENT);
	assert_null(p.note);
	/* automatic mail keeps its own rule */
	d.automatic_why = "Auto-Submitted: auto-replied";
	judge_mail(&d, &person, &reopen, 0, &p);
	assert_int_equal(p.outcome, INGEST_AUTOMATIC);
	assert_null(p.note);
	d.automatic_why = NULL;

	/* more than thanks: reopens within the window, follows up after it */
	d.thanks_only = FALSE;
	g_strlcpy(d.thanks_why, "\"pero\": says something is not right", sizeof(d.thanks_why));
	judge_mail(&d, &person, &reopen, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_true(p.reopen);
	assert_int_equal(p.reply, JUDGE_REPLY_PARTICIPANT);
	assert_null(p.note);
	judge_mail(&d, &person, &follow_up, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_true(p.ack);
	assert_int_equal(p.link_ticket_id, 7);
	assert_string_equal(p.link_kind, THREAD_LINK_FOLLOW_UP);
	assert_null(p.note);
}

/* The requester's rating of a resolved or closed ticket: recorded, kept on it as a note,
 * nothing reopened or opened, nobody told. Anyone else's, or one the border did not prove the
 * requester's, or one whose comment says it is still broken, is a reply as any other. */
static void test_rating(void **state)
{
	struct ingest_decision d = decision(NULL);
	struct judge_sender requester = {.requester = TRUE}, w;
	struct judge_plan p;

	(void)state;
	d.from_proven = TRUE;
	d.border = TRUE;
	assert_true(csat_read("5 ¡genial!", 0, &d.csat));
	judge_mail(&d, &requester, &reopen, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_int_equal(p.ticket_id, 7);
	assert_false(p.reopen);
	assert_false(p.end_wait);
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);
	assert_int_equal(p.outcome, INGEST_REPLY);
	assert_int_equal(p.csat_rating, 5);
	assert_string_equal(p.csat_comment, "¡genial!");
	assert_ptr_equal(p.note, d.csat.why);
	assert_string_equal(p.detail, "the requester's rating of a resolved ticket: recorded, kept "
				      "on it as a note, not reopened, nobody told");
	/* closed, or resolved before the window: that ticket is rated, no follow-up */
	judge_mail(&d, &requester, &follow_up, 0, &p);
	assert_int_equal(p.action, JUDGE_ATTACH);
	assert_int_equal(p.ticket_id, 7);
	assert_int_equal(p.link_ticket_id, 0);
	assert_int_equal(p.csat_rating, 5);
	assert_int_equal(p.reply, JUDGE_REPLY_NONE);
	/* a ticket never resolved (still open): a reply as any other, no rating */
	judge_mail(&d, &requester, &attach, 0, &p);
	assert_int_equal(p.csat_rating, 0);
	assert_int_equal(p.reply, JUDGE_REPLY_PARTICIPANT);
	assert_true(p.end_wait);
	/* a watcher's "5" is nothing special: it reopens as before */
	judge_mail(&d, &person, &reopen, 0, &p);
	assert_int_equal(p.csat_rating, 0);
	assert_true(p.reopen);
	assert_int_equal(p.reply, JUDGE_REPLY_PARTICIPANT);
	/* the requester's address, but the border failed it, or did not prove it */
	d.from_failed = TRUE;
	assert_false(judge_may_rate(&d, &requester));
	judge_mail(&d, &requester, &reopen, 0, &p);
	assert_int_equal(p.csat_rating, 0);
	assert_true(p.reopen);
	d.accept_unverified = TRUE; /* even a desk that accepts unverified senders */
	assert_false(judge_may_rate(&d, &requester));
	d.from_failed = FALSE;
	assert_true(judge_may_rate(&d, &requester));
	d.accept_unverified = FALSE;
	d.from_proven = FALSE;
	assert_false(judge_may_rate(&d, &requester));
	judge_mail(&d, &requester, &reopen, 0, &p);
	assert_int_equal(p.csat_rating, 0);
	d.from_proven = TRUE;
	/* an agent who is also the requester rates nothing: an agent's mail is an agent's */
	w = proven_agent;
	w.requester = TRUE;
	assert_false(judge_may_rate(&d, &w));
	judge_mail(&d, &w, &reopen, 0, &p);
	assert_int_equal(p.csat_rating, 0);
	/* automatic mail that starts with a digit rates nothing */
	d.automatic_why = "Auto-Submitted: auto-replied";
	judge_mail(&d, &requester, &reopen, 0, &p);
	assert_int_equal(p.csat_rating, 0);
	assert_int_equal(p.outcome, INGEST_AUTOMATIC);
	d.automatic_why = NULL;
	/* a rating whose comment says it is still broken reopens, within the window or not */
	assert_false(csat_read("1 sigue sin funcionar", 0, &d.csat));
	judge_mail(&d, &requester, &reopen, 0, &p);
	assert_int_equal(p.csat_rating, 0);
	assert_true(p.reopen);
	assert_null(p.note);
	assert_int_equal(p.outcome, INGEST_REOPENED);
	judge_mail(&d, &requester, &follow_up, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_string_equal(p.link_kind, THREAD_LINK_FOLLOW_UP);
	/* a stranger never reaches someone's ticket, rating or not */
	assert_true(csat_read("1", 0, &d.csat));
	judge_mail(&d, &person, &related, 0, &p);
	assert_int_equal(p.action, JUDGE_NEW_TICKET);
	assert_int_equal(p.csat_rating, 0);
}

/* The decision holds no pointer into itself: a copy outlives the original. */
static void test_decision_copy(void **state)
{
	struct ingest_decision *d = g_new0(struct ingest_decision, 1), copy;

	(void)state;
	g_strlcpy(d->priority_rule, "impact: a; urgency: b", sizeof(d->priority_rule));
	g_strlcpy(d->from_proven_why, "dkim=pass", sizeof(d->from_proven_why));
	g_strlcpy(d->thanks_why, "only thanks", sizeof(d->thanks_why));
	csat_read("4, tardasteis un poco", 0, &d->csat);
	copy = *d;
	memset(d, 0x55, sizeof(*d));
	g_free(d);
	assert_string_equal(copy.priority_rule, "impact: a; urgency: b");
	assert_string_equal(copy.from_proven_why, "dkim=pass");
	assert_string_equal(copy.thanks_why, "only thanks");
	assert_string_equal(copy.csat.comment, "tardasteis un poco");
	assert_string_equal(copy.csat.why, "rated 4 of 5 (\"4\") with a comment");
}

/* Who becomes a watcher, and who the requester is: only for a verified sender. */
static void test_participants(void **state)
{
	static const char *const desk[] = {"help@desk.test", NULL};
	static const char *const domains[] = {"example.com", NULL};
	struct mail_addr cc_list[] = {{NULL, "boss@example.com"},  {NULL, "attacker@evil.net"},
				      {NULL, "help@desk.test"},	   {NULL, "Help+x@desk.test"},
				      {NULL, "marta@example.com"}, {NULL, "marta+cc@example.com"},
				      {NULL, "BOSS@example.com"},  {NULL, "boss+copy@example.com"},
				      {NULL, "admin@intranet"},	   {NULL, "root@localhost"},
				      {NULL, "x@[192.0.2.1]"},	   {NULL, "peer@example.com"},
				      {NULL, "third@example.com"}};
	static const char *const every[] = {"example.com", "desk.test",	  "intranet",
					    "localhost",   "[192.0.2.1]", NULL};
	GPtrArray *cc = g_ptr_array_new();
	struct ingest_decision d = decision(NULL);
	GPtrArray *w;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cc_list); i++)
		g_ptr_array_add(cc, &cc_list[i]);
	d.cc_watchers = TRUE;
	d.desk_addresses = desk;
	d.watcher_domains = domains;
	d.max_watchers = 2;
	d.requester_addr = "marta@example.com";
	/* unverified, and the desk does not accept that: nobody */
	w = judge_watchers(&d, cc);
	assert_int_equal(w->len, 0);
	g_ptr_array_unref(w);
	/* verified: only the listed domains, never the desk nor the requester, no repeats, and
	 * at most max_watchers */
	d.from_proven = TRUE;
	w = judge_watchers(&d, cc);
	assert_int_equal(w->len, 2);
	assert_string_equal(((struct mail_addr *)g_ptr_array_index(w, 0))->addr,
			    "boss@example.com");
	assert_string_equal(((struct mail_addr *)g_ptr_array_index(w, 1))->addr,
			    "peer@example.com");
	g_ptr_array_unref(w);
	/* domains an operator lists still never take an address the notifier refuses, the
	 * desk's own in a +tag form, nor the requester's or a watcher's +tag forms again */
	d.watcher_domains = every;
	d.max_watchers = 10;
	w = judge_watchers(&d, cc);
	assert_int_equal(w->len, 3);
	assert_string_equal(((struct mail_addr *)g_ptr_array_index(w, 0))->addr,
			    "boss@example.com");
	assert_string_equal(((struct mail_addr *)g_ptr_array_index(w, 1))->addr,
			    "peer@example.com");
	assert_string_equal(((struct mail_addr *)g_ptr_array_index(w, 2))->addr,
			    "third@example.com");
	g_ptr_array_unref(w);
	d.watcher_domains = domains;
	d.max_watchers = 2;
	/* a Cc of thousands (a 256 KiB header) still gives at most max_watchers */
	{
		GPtrArray *flood = g_ptr_array_new_with_free_func(g_free);
		GPtrArray *addrs = g_ptr_array_new_with_free_func(g_free);

		for (int k = 0; k < 10000; k++) {
			struct mail_addr *a = g_new0(struct mail_addr, 1);

			a->addr = g_strdup_printf(
			    k % 2 == 0 ? "victim+%d@example.com" : "user%d@example.com", k);
			g_ptr_array_add(addrs, a->addr);
			g_ptr_array_add(flood, a);
		}
		d.max_watchers = 10;
		w = judge_watchers(&d, flood);
		assert_int_equal(w->len, 10);
		/* the victim's +tags are one mailbox: once, then other people */
		assert_string_equal(((struct mail_addr *)g_ptr_array_index(w, 0))->addr,
				    "victim+0@example.com");
		assert_string_equal(((struct mail_addr *)g_ptr_array_index(w, 1))->addr,
				    "user1@example.com");
		assert_string_equal(((struct mail_addr *)g_ptr_array_index(w, 2))->addr,
				    "user3@example.com");
		g_ptr_array_unref(w);
		d.max_watchers = 2;
		g_ptr_array_unref(flood);
		g_ptr_array_unref(addrs);
	}
	/* a fail outweighs the pass */
	d.from_failed = TRUE;
	w = judge_watchers(&d, cc);
	assert_int_equal(w->len, 0);
	g_ptr_array_unref(w);
	/* the verdict kept with the message */
	assert_string_equal(judge_sender_verdict(&d), "unchecked");
	d.border = TRUE;
	assert_string_equal(judge_sender_verdict(&d), "fail");
	d.from_failed = FALSE;
	assert_string_equal(judge_sender_verdict(&d), "pass");
	d.from_proven = FALSE;
	assert_string_equal(judge_sender_verdict(&d), "none");
	d.from_failed = TRUE;
	/* the desk accepts unverified senders */
	d.from_failed = FALSE;
	d.from_proven = FALSE;
	d.accept_unverified = TRUE;
	assert_true(judge_sender_verified(&d));
	d.cc_watchers = FALSE;
	w = judge_watchers(&d, cc);
	assert_int_equal(w->len, 0);
	g_ptr_array_unref(w);
	g_ptr_array_unref(cc);

	struct mail m = {.from = {"Marta", "marta@example.com"}, .reply_to = {"X", "x@evil.net"}};
	const char *addr, *name;
	judge_requester(&m, TRUE, TRUE, &addr, &name);
	assert_string_equal(addr, "marta@example.com"); /* another domain: not the requester */
	m.reply_to.addr = "marta.ruiz@example.com";
	judge_requester(&m, TRUE, FALSE, &addr, &name);
	assert_string_equal(addr, "marta@example.com"); /* unverified sender */
	judge_requester(&m, TRUE, TRUE, &addr, &name);
	assert_string_equal(addr, "marta.ruiz@example.com");
	assert_string_equal(name, "X");
	judge_requester(&m, FALSE, TRUE, &addr, &name);
	assert_string_equal(addr, "marta@example.com");
}

/* A decision for a requester's commands from a sender the border verified (or not). */
static struct ingest_decision requester_decision(gboolean list, gboolean close, gboolean only,
						 gboolean verified)
{
	struct ingest_decision d = decision(NULL);

	d.border = TRUE;
	d.from_proven = verified;
	d.wants_list = list;
	d.wants_close = close;
	d.commands_only = only;
	return d;
}

/* "#my tickets" and "#close": run only for a sender the border verified, never on a new ticket,
 * and a mail of commands alone opens no ticket. */
static void test_requester_commands(void **state)
{
	struct ingest_decision d;
	struct judge_plan plan;

	(void)state;
	/* a new mail that is only "#my tickets": no ticket, recorded, answered with the list */
	d = requester_decision(TRUE, FALSE, TRUE, TRUE);
	judge_mail(&d, &person, &new_ticket, 0, &plan);
	assert_int_equal(plan.action, JUDGE_RECORD);
	assert_int_equal(plan.outcome, INGEST_COMMAND);
	assert_true(plan.requester_list);
	assert_false(plan.requester_answer);
	assert_false(plan.ack);
	/* the same from a sender the border did not verify: recorded, nothing run, no answer */
	d = requester_decision(TRUE, FALSE, TRUE, FALSE);
	judge_mail(&d, &person, &new_ticket, 0, &plan);
	assert_int_equal(plan.action, JUDGE_RECORD);
	assert_false(plan.requester_list);
	assert_false(plan.requester_answer);
	assert_non_null(strstr(plan.detail, "did not verify"));
	/* trust.unverified lets a mail join a ticket, never act: still no list */
	d.accept_unverified = TRUE;
	judge_mail(&d, &person, &new_ticket, 0, &plan);
	assert_false(plan.requester_list);
	/* a fail vetoes a pass; without a border nothing verifies anyone */
	d = requester_decision(TRUE, TRUE, TRUE, TRUE);
	d.from_failed = TRUE;
	judge_mail(&d, &person, &attach, 0, &plan);
	assert_false(plan.requester_list || plan.requester_answer || plan.close_ticket_id != 0);
	d = requester_decision(TRUE, TRUE, TRUE, TRUE);
	d.border = FALSE;
	judge_mail(&d, &person, &attach, 0, &plan);
	assert_false(plan.requester_list || plan.requester_answer || plan.close_ticket_id != 0);

	/* "#close" alone in a reply: the ticket is closed and the assignee told, no reopen */
	d = requester_decision(FALSE, TRUE, TRUE, TRUE);
	judge_mail(&d, &person, &reopen, 0, &plan);
	assert_int_equal(plan.action, JUDGE_ATTACH);
	assert_int_equal(plan.ticket_id, 7);
	assert_int_equal(plan.close_ticket_id, 7);
	assert_true(plan.requester_answer);
	assert_false(plan.reopen);
	assert_false(plan.end_wait);
	assert_int_equal(plan.reply, JUDGE_REPLY_PARTICIPANT);
	assert_int_equal(plan.outcome, INGEST_REPLY);
	/* with more to say: a reply as any, but the ticket closed rather than reopened */
	d = requester_decision(FALSE, TRUE, FALSE, TRUE);
	judge_mail(&d, &person, &reopen, 0, &plan);
	assert_int_equal(plan.action, JUDGE_ATTACH);
	assert_int_equal(plan.close_ticket_id, 7);
	assert_false(plan.reopen);
	assert_int_equal(plan.reply, JUDGE_REPLY_PARTICIPANT);
	/* thanks with a #close is a close, not a note */
	d.thanks_only = TRUE;
	judge_mail(&d, &person, &reopen, 0, &plan);
	assert_null(plan.note);
	assert_int_equal(plan.close_ticket_id, 7);
	/* on a closed (or old resolved) ticket of theirs, the one a follow-up would link to */
	d = requester_decision(FALSE, TRUE, TRUE, TRUE);
	judge_mail(&d, &person, &follow_up, 0, &plan);
	assert_int_equal(plan.action, JUDGE_ATTACH);
	assert_int_equal(plan.close_ticket_id, 7);
	/* someone else's ticket (not a participant): nothing to close, recorded on no ticket,
	 * answered without naming it */
	judge_mail(&d, &person, &related, 0, &plan);
	assert_int_equal(plan.action, JUDGE_RECORD);
	assert_int_equal(plan.ticket_id, 0);
	assert_int_equal(plan.close_ticket_id, 0);
	assert_true(plan.requester_answer);
	/* with more text it is a new ticket as ever, and the #close still closes nothing */
	d = requester_decision(FALSE, TRUE, FALSE, TRUE);
	judge_mail(&d, &person, &related, 0, &plan);
	assert_int_equal(plan.action, JUDGE_NEW_TICKET);
	assert_int_equal(plan.close_ticket_id, 0);
	judge_mail(&d, &person, &new_ticket, 0, &plan);
	assert_int_equal(plan.action, JUDGE_NEW_TICKET);
	assert_int_equal(plan.close_ticket_id, 0);
	assert_true(plan.ack);

	/* automatic mail and agents: never a requester's command */
	d = requester_decision(TRUE, TRUE, TRUE, TRUE);
	d.automatic_why = "Auto-Submitted: auto-replied";
	judge_mail(&d, &person, &attach, 0, &plan);
	assert_false(plan.requester_list || plan.requester_answer || plan.close_ticket_id != 0);
	d = requester_decision(TRUE, TRUE, TRUE, TRUE);
	judge_mail(&d, &proven_agent, &attach, 0, &plan);
	assert_false(plan.requester_list || plan.requester_answer || plan.close_ticket_id != 0);
	assert_int_equal(plan.reply, JUDGE_REPLY_AGENT);
}

/* Which text the commands are read from: the sender's own, never a forwarded message; the
 * subject when they wrote nothing. */
static void test_requester_text(void **state)
{
	static const char fwd[] = "---------- Forwarded message ---------\nFrom: a@b.test\n\n#close\n";
	char *own = g_strconcat("#my tickets\n\n", fwd, NULL);
	struct mail m = {.from = {"Marta", "marta@example.com"}, .subject = "Fwd: ayuda"};
	struct ingest_decision d = decision(NULL);

	(void)state;
	m.text_new = own;
	m.text_new_forward_at = strlen("#my tickets\n\n");
	judge_read_requester_commands(&m, &d);
	assert_true(d.wants_list);
	assert_false(d.wants_close);
	assert_true(d.commands_only);
	/* only a forwarded message: nothing of theirs, and the subject is no command */
	m.text_new = (char *)fwd;
	m.text_new_forward_at = 0;
	judge_read_requester_commands(&m, &d);
	assert_false(d.wants_list || d.wants_close || d.commands_only);
	/* an empty body and a command for subject */
	m.text_new = (char *)"";
	m.subject = "Re: [INC-000007] #cerrar";
	judge_read_requester_commands(&m, &d);
	assert_true(d.wants_close);
	assert_true(d.commands_only);
	assert_string_equal(d.language, "es");
	/* thanks and a sign-off around the commands are still commands only */
	m.text_new = (char *)"#my tickets\n\nThanks!\nJohn\n";
	m.text_new_forward_at = strlen(m.text_new);
	d.language = "es";
	judge_read_requester_commands(&m, &d);
	assert_true(d.commands_only);
	assert_string_equal(d.language, "en");
	/* both languages: the mail's own stays */
	m.text_new = (char *)"#my tickets\n#cerrar\n";
	m.text_new_forward_at = strlen(m.text_new);
	d.language = "xx";
	judge_read_requester_commands(&m, &d);
	assert_string_equal(d.language, "xx");
	/* more text than the commands: not commands only, the language is the mail's */
	d.language = "en";
	m.text_new = (char *)"#mis tickets\n\nY la impresora sigue sin ir.\n";
	m.text_new_forward_at = strlen(m.text_new);
	judge_read_requester_commands(&m, &d);
	assert_true(d.wants_list);
	assert_false(d.commands_only);
	assert_string_equal(d.language, "en");
	g_free(own);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agent_proof),	 cmocka_unit_test(test_person_replies),
	    cmocka_unit_test(test_agents),	 cmocka_unit_test(test_new_tickets),
	    cmocka_unit_test(test_automatic),	 cmocka_unit_test(test_bounce),
	    cmocka_unit_test(test_thanks),	 cmocka_unit_test(test_decision_copy),
	    cmocka_unit_test(test_participants),
	    cmocka_unit_test(test_requester_commands),
	    cmocka_unit_test(test_requester_text),
	    cmocka_unit_test(test_rating),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
