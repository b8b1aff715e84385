/* The judge (judge.h): thread_decide()'s verdict and the facts about the sender become a plan.
 * Each rule below says why it is there; the store carries the plan out and decides nothing. */
#include "judge.h"

#include "caps.h"
#include "commands.h"

#include <string.h>

const char *judge_sender_verdict(const struct ingest_decision *d)
{
	if (!d->border)
		return "unchecked";
	return d->from_failed ? "fail" : d->from_proven ? "pass" : "none";
}

gboolean judge_sender_verified(const struct ingest_decision *d)
{
	return d->accept_unverified || (d->from_proven && !d->from_failed);
}

gboolean judge_may_rate(const struct ingest_decision *d, const struct judge_sender *who)
{
	return who->requester && who->agent_id == 0 && !d->from_failed && judge_sender_verified(d);
}

static const char *domain_of(const char *addr)
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;

	return at != NULL && at[1] != '\0' ? at + 1 : NULL;
}

static gboolean in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list != NULL && s != NULL && list[i] != NULL; i++)
		if (g_ascii_strcasecmp(list[i], s) == 0)
			return TRUE;
	return FALSE;
}

GPtrArray *judge_watchers(const struct ingest_decision *d, const GPtrArray *cc)
{
	GPtrArray *out = g_ptr_array_new();
	/* people by the key the rate limits count them by (caps.h): victim+1@ and victim+2@ are
	 * one mailbox, watching once; the requester's key is taken */
	GHashTable *seen = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);

	if (!d->cc_watchers || !judge_sender_verified(d)) {
		g_hash_table_unref(seen);
		return out;
	}
	if (d->requester_addr != NULL)
		g_hash_table_add(seen, caps_recipient_key(d->requester_addr));
	for (guint i = 0; cc != NULL && i < cc->len && (int)out->len < d->max_watchers; i++) {
		const struct mail_addr *a = g_ptr_array_index(cc, i);
		g_autofree char *refused = NULL;

		if (a->addr == NULL || !in_list(d->watcher_domains, domain_of(a->addr)))
			continue;
		/* never an address no notice may be sent to, the desk's own (+tag forms too) */
		refused = caps_recipient_refused(a->addr, d->desk_addresses, NULL);
		if (refused != NULL)
			continue;
		if (g_hash_table_add(seen, caps_recipient_key(a->addr)))
			g_ptr_array_add(out, (gpointer)a);
	}
	g_hash_table_unref(seen);
	return out;
}

void judge_requester(const struct mail *m, gboolean reply_to_policy, gboolean verified,
		     const char **addr_r, const char **name_r)
{
	const char *from_domain = domain_of(m->from.addr),
		   *reply_domain = domain_of(m->reply_to.addr);

	*addr_r = m->from.addr;
	*name_r = m->from.name;
	if (reply_to_policy && verified && from_domain != NULL && reply_domain != NULL &&
	    g_ascii_strcasecmp(from_domain, reply_domain) == 0) {
		*addr_r = m->reply_to.addr;
		*name_r = m->reply_to.name;
	}
}

/* Why the token in who does not prove the agent for ticket, NULL when it does. */
static const char *token_fault(const struct ingest_decision *d, const struct judge_sender *who,
			       int64_t ticket)
{
	if (who->token_agent == 0 || who->token_agent != who->agent_id || ticket == 0 ||
	    who->token_ticket != ticket)
		return "no reply address of yours for this ticket among the recipients (To)";
	if (who->token_day == 0)
		return "the reply address is of an old kind that no longer proves an agent";
	if (who->token_generation != who->agent_generation)
		return "the reply address was revoked";
	if (d->today - who->token_day > d->token_days || who->token_day - d->today > 1)
		return "the reply address has expired";
	return NULL;
}

gboolean judge_agent_proven(const struct ingest_decision *d, const struct judge_sender *who,
			    int64_t ticket, const char **why_r)
{
	const char *token_why, *why = NULL;

	if (who->agent_id == 0) {
		why = "not an agent";
	} else if (who->failed) {
		/* a fail for the agent's own domain: somebody else wrote it, whatever it carries */
		why = d->from_proven_why[0] != '\0' ? d->from_proven_why
						    : "the border says the domain failed";
	} else {
		token_why = token_fault(d, who, ticket);
		if (token_why != NULL && d->token_and_domain)
			why = token_why;
		else if (token_why != NULL && !who->proven)
			/* neither proof: without any token of theirs the border's verdict says more
			 */
			why = who->token_agent == 0 ? d->from_proven_why : token_why;
		else if (token_why == NULL && d->token_and_domain && !who->proven)
			why = d->from_proven_why;
	}
	if (why_r != NULL)
		*why_r = why;
	return why == NULL;
}

char *judge_requester_text(const struct mail *m)
{
	const char *text_new = m->text_new != NULL ? m->text_new : "";
	char *own = g_strndup(text_new, MIN(m->text_new_forward_at, strlen(text_new)));

	if (*g_strstrip(own) == '\0' && m->subject != NULL) {
		g_free(own);
		own = thread_subject_base(m->subject);
	}
	return own;
}

void judge_read_requester_commands(const struct mail *m, struct ingest_decision *d)
{
	char *text = judge_requester_text(m);
	struct command_block b = {0};

	const char *lang = NULL;

	d->wants_list = d->wants_close = d->commands_only = FALSE;
	commands_parse_requester(text, &b);
	for (guint i = 0; i < b.commands->len; i++) {
		const struct command *c = g_ptr_array_index(b.commands, i);

		if (c->kind != COMMAND_MY_TICKETS && c->kind != COMMAND_CLOSE)
			continue;
		d->wants_list |= c->kind == COMMAND_MY_TICKETS;
		d->wants_close |= c->kind == COMMAND_CLOSE;
		lang = lang == NULL || strcmp(lang, c->lang) == 0 ? c->lang : "";
	}
	/* around the commands at most thanks and a sign-off ("Gracias, Marta"): in doubt the rest
	 * is something to say, and the mail is a reply or a ticket as any */
	d->commands_only = (d->wants_list || d->wants_close) &&
			   (m->attachments == NULL || m->attachments->len == 0) &&
			   (b.rest[0] == '\0' || noise_thanks_only(b.rest, NULL, 0, NULL));
	/* a mail of commands alone has no other words to tell its language by: "#mis tickets" is
	 * answered in Spanish, "#my tickets" in English (both kinds at once: the mail's) */
	if (d->commands_only && lang != NULL && lang[0] != '\0')
		d->language = lang;
	command_block_clear(&b);
	g_free(text);
}

/* The requester's commands (judge.h): sets what they set off in plan; TRUE when the mail is
 * only such commands and plan is complete. */
static gboolean requester_commands(const struct ingest_decision *d, const struct judge_sender *who,
				   const struct thread_verdict *v, struct judge_plan *plan)
{
	/* the border's word alone: trust.unverified lets a mail join a ticket, never act on one */
	gboolean verified = d->border && d->from_proven && !d->from_failed;
	int64_t reached = 0;

	if (d->automatic_why != NULL || who->agent_id != 0 || (!d->wants_list && !d->wants_close))
		return FALSE;
	if (v->action == THREAD_ATTACH || v->action == THREAD_REOPEN)
		reached = v->ticket_id;
	else if (v->action == THREAD_NEW_LINKED &&
		 strcmp(v->link_kind, THREAD_LINK_FOLLOW_UP) == 0)
		reached = v->link_ticket_id;
	if (verified) {
		plan->requester_list = d->wants_list;
		plan->requester_answer = d->wants_close;
		plan->close_ticket_id = d->wants_close ? reached : 0;
	}
	if (!d->commands_only)
		return FALSE;
	plan->action = reached != 0 ? JUDGE_ATTACH : JUDGE_RECORD;
	plan->ticket_id = reached;
	/* the assignee hears of a close as of any reply of the requester; a list is nobody's
	 * business but the requester's */
	plan->reply = plan->close_ticket_id != 0 ? JUDGE_REPLY_PARTICIPANT : JUDGE_REPLY_NONE;
	plan->outcome = reached != 0 ? INGEST_REPLY : INGEST_COMMAND;
	plan->detail = verified ? "only the requester's commands: run and answered, no ticket"
				  " opened"
				: "only requester's commands, from a sender the border did not"
				  " verify: not run, not answered, no ticket opened";
	return TRUE;
}

/* TRUE when verdict answers a ticket whose work is done: a resolved one (it would reopen) or a
 * closed one, or one resolved before the reopen window (a follow-up would be opened). */
static gboolean answers_done_ticket(const struct thread_verdict *verdict)
{
	return verdict->action == THREAD_REOPEN ||
	       (verdict->action == THREAD_NEW_LINKED &&
		strcmp(verdict->link_kind, THREAD_LINK_FOLLOW_UP) == 0);
}

/* Plans a mail as a note on the done ticket verdict answers: status untouched, nobody told;
 * why says what it was read as, resolved/closed the plan's detail for either case. */
static void keep_as_note(const struct thread_verdict *verdict, const char *why,
			 struct judge_plan *plan, const char *resolved, const char *closed)
{
	gboolean on_resolved = verdict->action == THREAD_REOPEN;

	plan->action = JUDGE_ATTACH;
	plan->ticket_id = on_resolved ? verdict->ticket_id : verdict->link_ticket_id;
	plan->note = why;
	plan->reply = JUDGE_REPLY_NONE;
	plan->outcome = INGEST_REPLY;
	plan->detail = on_resolved ? resolved : closed;
}

void judge_mail(const struct ingest_decision *d, const struct judge_sender *who,
		const struct thread_verdict *v, int64_t bounced_ticket, struct judge_plan *plan)
{
	struct thread_verdict verdict = *v;
	gboolean automatic = d->automatic_why != NULL;

	memset(plan, 0, sizeof(*plan));
	/* a delivery failure belongs with the ticket whose notification bounced */
	if (bounced_ticket != 0) {
		verdict.action = THREAD_ATTACH;
		verdict.ticket_id = bounced_ticket;
	}
	/* Automatic mail (an out-of-office, our own notification coming back) is recorded on the
	 * ticket it names, whoever of the ticket's people sent it: nothing is ever sent because of
	 * it, so it opens no way into the ticket; and it never reopens one or opens a follow-up. A
	 * machine that is no participant (or cannot be verified as one) and names someone's ticket
	 * gets nothing onto it: its mail is kept on no ticket. */
	if (automatic && verdict.action == THREAD_REOPEN)
		verdict.action = THREAD_ATTACH;
	if (automatic && verdict.action == THREAD_NEW_LINKED) {
		if (strcmp(verdict.link_kind, THREAD_LINK_FOLLOW_UP) == 0) {
			verdict.action = THREAD_ATTACH;
			verdict.ticket_id = verdict.link_ticket_id;
		} else {
			plan->action = JUDGE_RECORD;
			plan->outcome = INGEST_AUTOMATIC;
			/* the classification is the detail; no ticket_id says where it went */
			plan->detail = d->automatic_why;
			return;
		}
	}
	if (requester_commands(d, who, &verdict, plan))
		return;
	/* The requester's answer to the resolution notice's "how did we do?" ("5 ¡genial!",
	 * "muy bien", "2, tardasteis mucho") rates the resolved or closed ticket it answers: the
	 * rating is recorded (a later one replaces it), the mail kept on that ticket as a note; it
	 * reopens nothing and opens no follow-up, and nobody is told (the rating is for the
	 * desk's numbers; a low one is there for whoever looks, and a complaint that it is still
	 * broken is no rating: csat.problem). Anyone else's rating-shaped reply (a watcher, a
	 * sender the border did not prove to be the requester) is nothing special: the rules below
	 * decide it as any other reply. */
	if (!automatic && d->csat.rating > 0 && !d->csat.problem && judge_may_rate(d, who) &&
	    plan->close_ticket_id == 0 && answers_done_ticket(&verdict)) {
		keep_as_note(&verdict, d->csat.why, plan,
			     "the requester's rating of a resolved ticket: recorded,"
			     " kept on it as a note, not reopened, nobody told",
			     "the requester's rating of a closed ticket (or one resolved"
			     " before the reopen window): recorded, kept on it as a"
			     " note, no follow-up ticket, nobody told");
		plan->csat_rating = d->csat.rating;
		plan->csat_comment = d->csat.comment;
		return;
	}
	/* A person's reply that only thanks or acknowledges ("¡Gracias!", 👍) once the work is
	 * done reopens nothing and opens nothing: it goes on the resolved or closed ticket it
	 * answers as a note, its status untouched, nobody told (the agent has nothing to do, the
	 * requester knows what they wrote). A question, a problem or more than thanks still
	 * reopens within the window or opens a follow-up; an agent's mail is never thanks. */
	if (!automatic && who->agent_id == 0 && d->thanks_only && plan->close_ticket_id == 0 &&
	    answers_done_ticket(&verdict)) {
		keep_as_note(&verdict, d->thanks_why, plan,
			     "only thanks for a resolved ticket: kept on it as a note,"
			     " not reopened, nobody told",
			     "only thanks for a closed ticket (or one resolved before the"
			     " reopen window): kept on it as a note, no follow-up ticket,"
			     " nobody told");
		return;
	}
	if (verdict.action == THREAD_ATTACH || verdict.action == THREAD_REOPEN) {
		plan->action = JUDGE_ATTACH;
		plan->ticket_id = verdict.ticket_id;
		plan->reopen = verdict.action == THREAD_REOPEN;
		/* A requester's answer to a ticket pending on them moves it on (ITIL: the wait is
		 * over); an agent's own mail never changes the status except by command. */
		plan->end_wait = !automatic && who->agent_id == 0;
		/* the requester closes it: neither reopened nor back in progress first */
		if (plan->close_ticket_id == plan->ticket_id) {
			plan->reopen = FALSE;
			plan->end_wait = FALSE;
		}
		plan->outcome = automatic      ? INGEST_AUTOMATIC
				: plan->reopen ? INGEST_REOPENED
					       : INGEST_REPLY;
		plan->detail = automatic ? d->automatic_why : verdict.why;
		if (automatic)
			plan->reply = JUDGE_REPLY_NONE;
		else if (who->agent_id == 0)
			plan->reply = JUDGE_REPLY_PARTICIPANT;
		else if (judge_agent_proven(d, who, plan->ticket_id, &plan->unproven_why))
			plan->reply = JUDGE_REPLY_AGENT;
		else
			plan->reply = JUDGE_REPLY_UNPROVEN_AGENT;
		return;
	}
	if (automatic) {
		plan->action = JUDGE_RECORD;
		plan->outcome = INGEST_AUTOMATIC;
		plan->detail = d->automatic_why;
		return;
	}
	plan->action = JUDGE_NEW_TICKET;
	/* A sender whose domain the trusted border failed DMARC for is never answered, whatever
	 * the policy: the From is likely forged, and the answer would go to its victim. */
	plan->ack = d->from_dmarc != AUTHRES_DMARC_FAIL;
	plan->outcome = INGEST_TICKET;
	plan->detail = d->kind_rule;
	if (verdict.action == THREAD_NEW_LINKED) {
		plan->link_ticket_id = verdict.link_ticket_id;
		plan->link_kind = verdict.link_kind;
		plan->detail = verdict.why;
	}
	/* Mail from an agent's address that is not proven theirs and names a ticket goes on a new
	 * ticket linked to it, never onto that ticket as theirs: nothing in it runs or reaches
	 * the requester, it is acknowledged to nobody (the agent's address did not ask), and the
	 * agent is told why. */
	if (who->agent_id != 0 && verdict.action == THREAD_NEW_LINKED &&
	    strcmp(verdict.link_kind, THREAD_LINK_POSSIBLY_RELATED) == 0) {
		plan->ack = FALSE;
		plan->reply = JUDGE_REPLY_UNPROVEN_AGENT;
		plan->detail =
		    "from an agent's address, not proven: a new ticket linked to the one "
		    "it names";
		judge_agent_proven(d, who, verdict.link_ticket_id, &plan->unproven_why);
		return;
	}
	/* an agent whose mail could not be proven theirs is told why their commands did not run */
	if (who->agent_id != 0 && (who->failed || !who->proven)) {
		plan->reply = JUDGE_REPLY_UNPROVEN_AGENT;
		plan->unproven_why = d->from_proven_why;
	}
}
