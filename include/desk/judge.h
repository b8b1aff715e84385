/* The judge: what one parsed mail means for the desk, decided from the facts the store gathered,
 * as a plan that the store only carries out. thread_decide() says which ticket the mail points
 * at; the judge adds what the desk's policy makes of that: a delivery report goes with the
 * notification it returns, automatic mail never reopens a ticket nor opens one, nor does a
 * person's reply that only thanks for a resolved or closed one (it is kept as a note), nor the
 * requester's rating of one (recorded, and kept as a note), a mail from
 * an agent's address that is not proven theirs stays inert, a requester's answer ends the wait on
 * them, and which people the mail sets off (the agent's commands and relay, the unproven agent
 * told why nothing ran, the assignee told of the requester's answer). Pure: no I/O, no clock, no
 * database. */
#ifndef SPOC_JUDGE_H
#define SPOC_JUDGE_H

#include "authres.h"
#include "bounce.h"
#include "classify.h"
#include "csat.h"
#include "noise.h"
#include "thread.h"
#include "ticket.h"

#include <stdint.h>

/* What ingest decided about one mail before the store looked anything up: its judgement (kind,
 * priority, SLA), whether it is automatic, its sender, and the settings the store needs to carry
 * the plan out. Strings point into the mail, the configuration or static storage, never into the
 * struct itself, so a copy is as good as the original. */
struct ingest_decision {
	enum classify_auto_kind auto_kind; /* CLASSIFY_PERSON unless automatic_why */
	/* a delivery failure about mail spocd sent: tied back to its outbox row (may be NULL) */
	const struct bounce_report *bounce;
	/* the outbox row the bounce's VERP address names (HMAC verified), 0: none */
	int64_t bounce_outbox_id;
	/* a delivery report that names no verified VERP address: why it is only recorded
	 * (static), NULL otherwise */
	const char *bounce_ignored_why;
	enum spoc_kind kind;
	/* what decided the kind, in the words of the mail that matched (rules_verdict.kind_why),
	 * or "default", "default of this mailbox" */
	char kind_rule[256];
	gboolean triage;	 /* no rule decided the kind: a person should look */
	int impact;		 /* 1 (high) .. 3 */
	int urgency;		 /* 1 (high) .. 3 */
	int priority;		 /* TICKET_PRIORITY_MIN .. MAX from the impact x urgency matrix */
	char priority_rule[256]; /* rules_verdict.priority_why: 'impact: high ("...") ...' */
	char team[65];		 /* the team a rule gave a new ticket (rules_verdict.team), or "" */
	/* SLA due times from now on the desk's calendar, Unix seconds; 0 when unreachable */
	int64_t first_response_due;
	int64_t resolution_due;
	const char *automatic_why; /* non-NULL: automatic mail, no ack */
	const char *language;
	const char *message_id_domain;
	/* Number named by a "[INC-000123]" tag in the subject, 0 if none. It threads the mail only
	 * when the sender is a participant of that ticket: a stranger who knows or guesses a
	 * number never gets into someone else's ticket. */
	int64_t subject_tag;
	/* Who the ticket is for (From, or Reply-To by policy); NULL when the mail has no sender. */
	const char *requester_addr;
	const char *requester_name;
	/* People in Cc become watchers of a new ticket (judge_watchers()); never the desk's own
	 * addresses. */
	gboolean cc_watchers;
	const char *const *desk_addresses;
	const char *const *watcher_domains; /* NULL-terminated, lower case; NULL: none */
	int max_watchers;
	/* trust.unverified = "accept": a sender the border did not authenticate still counts as
	 * the participant their address names (a desk without an authenticating border) */
	gboolean accept_unverified;
	/* HMAC keys of the Message-IDs and reply tokens spocd mints (thread.h); a reply to a
	 * resolved ticket within reopen_window_s reopens it */
	const struct thread_keys *keys;
	int reopen_window_s;
	/* the From is proven by the trusted border MTA (DMARC pass, aligned DKIM or SPF pass) */
	gboolean from_proven;
	/* the trusted border says the From domain failed (dmarc=fail, aligned dkim=fail): it
	 * vetoes any reply token */
	gboolean from_failed;
	gboolean border; /* a border is configured (conf_border()): the verdict means something */
	/* what the border found, as messages.sender_verdict_why keeps it: "dmarc=fail (p=reject)
	 * header.from=example.com by mx.desk", "no Authentication-Results from mx.desk", ... */
	char from_proven_why[AUTHRES_WHY_SIZE];
	/* the border's DMARC result for the From domain and the policy it reports for it, so the
	 * domain's own wish (p=quarantine, p=reject) can be honoured for a fail */
	enum authres_dmarc from_dmarc;
	enum authres_policy from_dmarc_policy;
	/* lower case: the domain the border authenticated (a pass: DMARC's header.from, DKIM's d,
	 * the aligned envelope domain) or failed (the From's); empty otherwise */
	char from_auth_domain[AUTHRES_DOMAIN_SIZE];
	/* How an agent proves a mail theirs (judge_agent_proven): their reply token for the
	 * ticket, issued on a UTC day (days since 1970-01-01) at most token_days before today,
	 * and, with token_and_domain, the trusted border's pass for their domain too. */
	int64_t today;
	int token_days;
	gboolean token_and_domain;
	const char *desk_language; /* of the answers to agents' commands */
	/* who hears of a new ticket (conf notify.new_ticket: NULL off, "team", or an address),
	 * and of one nobody has and no team owns (desk.triage_address; NULL: every agent) */
	const char *notify_new_ticket;
	const char *triage_address;
	/* What the sender wrote (mail->text_new, no attachment) only thanks or acknowledges
	 * (noise_thanks_only()): on a resolved or closed ticket it is kept as a note. thanks_why
	 * says what matched, or why it is more than thanks. */
	gboolean thanks_only;
	char thanks_why[NOISE_WHY_SIZE];
	/* The requester's own commands (judge_read_requester_commands()): "#my tickets", "#close";
	 * and whether the mail says nothing else (no other text, no attachment), so that it opens
	 * no ticket. */
	gboolean wants_list;
	gboolean wants_close;
	gboolean commands_only;
	/* What the sender wrote, read as an answer to the resolution notice's "how did we do?"
	 * (csat_read()): csat.rating 1..5 when it starts with a rating, csat.problem when the rest
	 * says it is still broken (then it is no rating). */
	struct csat_reading csat;
};

enum ingest_outcome {
	INGEST_TICKET,	  /* created a ticket */
	INGEST_REPLY,	  /* threaded onto an existing ticket */
	INGEST_REOPENED,  /* threaded onto a resolved ticket, which it reopened */
	INGEST_DUPLICATE, /* same bytes or Message-ID seen before */
	INGEST_AUTOMATIC, /* recorded, no ticket and no acknowledgement */
	INGEST_QUARANTINED,
	INGEST_COMMAND, /* only a requester's commands: recorded and answered, on no ticket */
	INGEST_TAKEN,	 /* another worker recorded this UID first: it moves it, not us */
	INGEST_OUTCOMES, /* how many there are */
};

/* Who sent the mail, as far as the desk is concerned (the store looks it up). */
struct judge_sender {
	int64_t agent_id;	  /* the active agent whose address is the From, 0: none */
	char *agent_name;	  /* owned by whoever filled it */
	int64_t agent_generation; /* that agent's token generation now */
	gboolean proven;	  /* the trusted border authenticated the From's domain */
	gboolean failed;	  /* the trusted border says the From's domain failed */
	/* The From is the requester of the resolved or closed ticket the mail answers (the store
	 * looks it up after threading, only for a reply that starts with a rating); whether it may
	 * rate is judge_may_rate()'s question. */
	gboolean requester;
	/* A valid token in To or Delivered-To (never Cc: a token leaks whenever an agent copies a
	 * requester or a vendor), 0: none. token_day is 0 for a token without one. */
	int64_t token_ticket, token_agent, token_day, token_generation;
};

/* What the trusted border said of the From's domain, as messages.sender_verdict keeps it:
 * "pass", "fail", "none" (nothing either way) or "unchecked" (no trusted border configured).
 * Static. */
const char *judge_sender_verdict(const struct ingest_decision *d);

/* TRUE when the sender may count as the participant their From names: the trusted border
 * authenticated the From's domain (and did not fail it), or the desk accepts unverified senders
 * (trust.unverified). Otherwise their mail about a ticket is a stranger's. */
gboolean judge_sender_verified(const struct ingest_decision *d);

/* The Cc'd people of a new ticket who become its watchers: none unless d->cc_watchers and the
 * sender is verified (a forged mail must not make its Cc a watcher of someone's ticket); only
 * addresses whose domain is in d->watcher_domains, never one the notifier refuses (the desk's
 * own, +tag forms too, an address literal, a single-label or localhost domain: caps.h) nor the
 * requester; one per mailbox (caps_recipient_key()); at most d->max_watchers. A new array of
 * borrowed struct mail_addr * (g_ptr_array_unref). */
GPtrArray *judge_watchers(const struct ingest_decision *d, const GPtrArray *cc);

/* Who a new ticket is for: the From, or with reply_to_policy (desk.requester = "reply-to") the
 * Reply-To when its domain is the From's and the sender is verified (a forged From plus
 * Reply-To: attacker must not make the attacker the requester). Points into m. */
void judge_requester(const struct mail *m, gboolean reply_to_policy, gboolean verified,
		     const char **addr_r, const char **name_r);

/* TRUE when who is an agent proven to be that agent for ticket. The one place that says what
 * proves an agent:
 *   - a fail for the agent's domain from the trusted border vetoes everything;
 *   - the agent's token: for this ticket, this agent, this agent's current generation (spocctl
 *     agent revoke ends the others), issued at most d->token_days days before d->today;
 *   - the trusted border's pass for the agent's domain;
 *   - with d->token_and_domain both are needed (a domain pass proves the domain, not the
 *     mailbox; a token proves the mailbox but may leak), else either does.
 * *why_r (may be NULL) gets why not, static, or NULL when proven. */
gboolean judge_agent_proven(const struct ingest_decision *d, const struct judge_sender *who,
			    int64_t ticket, const char **why_r);

/* TRUE when the sender may rate the ticket they answer (judge_mail() records the rating): they
 * are its requester (who->requester), not an agent, and the From is theirs as far as the desk
 * can tell: the trusted border did not fail it, and proved it or the desk accepts unverified
 * senders (judge_sender_verified()). A rating is low-stakes, but one per ticket: a forged From
 * must not replace the requester's. */
gboolean judge_may_rate(const struct ingest_decision *d, const struct judge_sender *who);

enum judge_action {
	JUDGE_RECORD,	  /* keep the message, on no ticket */
	JUDGE_ATTACH,	  /* add it to ticket_id */
	JUDGE_NEW_TICKET, /* open a ticket for it (linked to link_ticket_id when not 0) */
};

/* What the mail sets off once it is recorded. */
enum judge_reply {
	JUDGE_REPLY_NONE,
	JUDGE_REPLY_AGENT,	    /* a proven agent: commands applied, text relayed */
	JUDGE_REPLY_UNPROVEN_AGENT, /* an agent's address without proof: they are told why not */
	JUDGE_REPLY_PARTICIPANT,    /* a participant's reply: the assignee (or team) is told */
};

struct judge_plan {
	enum judge_action action;
	int64_t ticket_id; /* JUDGE_ATTACH */
	/* JUDGE_ATTACH: the ticket goes back to in-progress (a reopen within the window) */
	gboolean reopen;
	/* JUDGE_ATTACH: a pending ticket goes back to in-progress (the requester answered) */
	gboolean end_wait;
	/* JUDGE_ATTACH: a person's thanks for a resolved or closed ticket, kept on it as a note
	 * (no status change, nobody told): what matched (d->thanks_why); NULL otherwise */
	const char *note;
	/* JUDGE_ATTACH: the requester's rating of the ticket (1..5, 0: none) and its comment
	 * (d->csat), recorded as the ticket's rating; the mail is a note as thanks are */
	int csat_rating;
	const char *csat_comment;
	int64_t link_ticket_id; /* JUDGE_NEW_TICKET: 0, or the ticket it is linked to */
	const char *link_kind;	/* THREAD_LINK_* when link_ticket_id */
	gboolean ack;		/* JUDGE_NEW_TICKET: acknowledge it to the requester */
	enum judge_reply reply;
	enum ingest_outcome outcome;
	const char *detail; /* why, for ingest_log and the logs (static or from d) */
	/* JUDGE_REPLY_UNPROVEN_AGENT: why, for the agent (static or from d) */
	const char *unproven_why;
	/* A requester's commands from a sender the border verified: answer with the list of their
	 * open tickets; answer what became of their #close; and the ticket it closes, 0 when the
	 * mail reached none (the store closes it only when the sender is its requester) */
	gboolean requester_list;
	gboolean requester_answer;
	int64_t close_ticket_id;
};

/* The text a requester's commands are read from: what the sender wrote above any message they
 * forwarded (never the quoted history); when that is blank, the subject without "Re:" and ticket
 * tags, so that a mail whose subject alone says "#my tickets" is one. Caller g_free()s. */
char *judge_requester_text(const struct mail *m);

/* Fills d's wants_list, wants_close and commands_only from m (commands_parse_requester() on
 * judge_requester_text()); a mail is commands only when, besides them, it at most thanks and
 * signs off (noise_thanks_only()) and carries no attachment. Such a mail has no other words to
 * tell its language by: d->language becomes that of the command words ("#mis tickets": "es"),
 * unless they mix both. */
void judge_read_requester_commands(const struct mail *m, struct ingest_decision *d);

/* The plan for a mail that is not a duplicate. v is thread_decide()'s verdict; bounced_ticket the
 * ticket whose notification a delivery report returns (0: none or not a report).
 *
 * A requester's commands (d->wants_list, d->wants_close) run only for a person (no agent, no
 * automatic mail) whom the trusted border verified: d->from_proven without d->from_failed,
 * trust.unverified playing no part, since the answer lists tickets and the command closes one.
 * From anyone else they run nothing and are not answered (the answer would go to the address
 * the mail claims, a forgery's victim). #close closes the ticket the mail reaches (a reply, a
 * reopen, or the closed or old ticket a follow-up would be linked to), never a new one, and
 * keeps it from being reopened by the same mail. A mail that is only such commands opens no
 * ticket: it is kept on the ticket it reaches, else on none; a close is passed on to the
 * assignee like any reply of the requester. */
void judge_mail(const struct ingest_decision *d, const struct judge_sender *who,
		const struct thread_verdict *v, int64_t bounced_ticket, struct judge_plan *plan);

#endif
