/* What the operator manages through spocctl beyond the quarantine and the agents: the
 * knowledge-base articles that acknowledgements suggest, and the notifier's outbox (look at a
 * notification, push a failed or held one again). Same conventions as store.h: SPOC_OK /
 * SPOC_ETEMP / SPOC_EPERM, detail in err. */
#ifndef SPOC_STORE_ADMIN_H
#define SPOC_STORE_ADMIN_H

#include "store.h"

#include <stdint.h>

/* ---- knowledge base ---- */

struct kb_article {
	int64_t id;
	char *title;
	char *url;	  /* "" when none */
	char *language;	  /* "es" / "en" */
	char *created_at; /* ISO 8601, UTC */
};
void kb_article_free(gpointer article);

/* Adds an article in language ("es" or "en"; the table refuses anything else, and an empty
 * title, with SPOC_EPERM); body and url may be NULL. *id_r is its id. */
int store_kb_add(struct store *st, const char *title, const char *body, const char *url,
		 const char *language, int64_t *id_r, struct errbuf *err);
/* Every article, by id. A new array of struct kb_article *. */
int store_kb_list(struct store *st, GPtrArray **articles_r, struct errbuf *err);
/* Deletes an article for good. *found_r FALSE when there is no such id. */
int store_kb_remove(struct store *st, int64_t id, gboolean *found_r, struct errbuf *err);

struct kb_suggestion {
	char *title;	      /* the article's title, or the earlier ticket's subject */
	char *url;	      /* "" when none (always for a ticket) */
	char *ticket_display; /* "" for an article, e.g. "INC-000123" for an earlier ticket */
};
void kb_suggestion_free(gpointer suggestion);

/* Up to limit suggestions for ticket_id, by PostgreSQL full-text search of its subject and the
 * new text of its first inbound mail: matching articles first (those in language, NULL: the
 * ticket's own, before the others, then by rank), then the requester's own resolved or closed
 * tickets that match (never anybody else's: that would show a stranger's ticket). Empty, not
 * an error, for an unknown ticket, a text with no searchable word, or limit <= 0 (which does
 * not query). A new array of struct kb_suggestion *. */
int store_kb_suggest(struct store *st, int64_t ticket_id, const char *language, int limit,
		     GPtrArray **suggestions_r, struct errbuf *err);

/* store_kb_suggest() for n tickets at once, in one statement (the notifier's batch):
 * *suggestions_r is a new NULL-terminated array of n arrays of struct kb_suggestion *, the i-th
 * for ticket_ids[i] with languages[i] (may be NULL); free with kb_suggestions_free(). */
int store_kb_suggest_batch(struct store *st, const int64_t *ticket_ids,
			   const char *const *languages, guint n, int limit,
			   GPtrArray ***suggestions_r, struct errbuf *err);
void kb_suggestions_free(GPtrArray ***lists);

/* The ticket an operator names: its display number ("INC-000123", any case) or its bare number.
 * *id_r 0 when there is none. */
int store_ticket_by_ref(struct store *st, const char *ref, int64_t *id_r, struct errbuf *err);

/* ---- outbox ---- */

struct outbox_entry {
	int64_t id;
	char *kind;  /* "ack", "status", ... */
	char *state; /* "pending", "sent", "failed", "held" */
	char *ticket_display;
	char *recipient;
	int attempts;
	char *created_at;      /* ISO 8601, UTC */
	char *next_attempt_at; /* ISO 8601, UTC */
	char *last_error;      /* "" when none */
	/* store_outbox_show() only (NULL in lists) */
	char *recipient_name;
	char *language;
	char *message_id;    /* NULL until the notifier mints it */
	char *sent_at;	     /* NULL until sent */
	char *retried_at;    /* NULL until an operator pushes it again */
	char *bounced_at;    /* NULL unless a bounce came back */
	char *bounce_reason; /* NULL unless a bounce came back */
	char *detail;	     /* JSON object as text */
	char *body;	     /* the text the notice relays, "" for most */
	GBytes *raw;	     /* the message as sent, NULL when nothing was sent */
};
void outbox_entry_free(gpointer entry);

/* Rows newest first, at most limit (<= 0: 50), only those in state unless it is NULL. A new
 * array of struct outbox_entry * without the show-only fields. */
int store_outbox_list(struct store *st, const char *state, int limit, GPtrArray **rows_r,
		      struct errbuf *err);
/* One row with everything about it; *e_r NULL when there is no such id. Caller frees with
 * outbox_entry_free(). */
int store_outbox_show(struct store *st, int64_t id, struct outbox_entry **e_r, struct errbuf *err);

enum outbox_requeue_result {
	OUTBOX_REQUEUE_DONE,	     /* pending again, due now, attempts from 0 */
	OUTBOX_REQUEUE_NOT_FOUND,    /* no such row */
	OUTBOX_REQUEUE_ALREADY_SENT, /* sent rows are never sent twice */
};
/* The operator's retry (not the notifier's store_outbox_retry()): a pending, failed or held row
 * becomes pending, due now, with attempts 0 and retried_at now (the rate limits then let it
 * go: the operator decided); its last error is kept, marked as from before the retry. *result_r is
 * one of enum outbox_requeue_result. Runs on its own (autocommit); waits while a notifier is
 * sending that very row. */
int store_outbox_requeue(struct store *st, int64_t id, int *result_r, struct errbuf *err);

/* ---- tickets, stats and health (spocctl ticket, stats, health: store_tickets.c and
 * store_stats.c) ---- */

/* A ticket as the operator sees it. Times are ISO 8601 in UTC; an optional one is NULL. */
struct ticket_info {
	int64_t id;
	int64_t number;
	char *display; /* INC-000123 */
	char *kind;    /* "incident" / "request" */
	char *status;  /* "new", "in-progress", "pending", "resolved", "closed" */
	int priority;  /* 1..5 */
	char *subject;
	char *requester;
	char *requester_name;
	char *assignee;	     /* the agent's address, NULL when nobody is assigned */
	char *assignee_name; /* "" when none */
	char *team;	     /* "" when none */
	char *created_at;
	char *updated_at;
	char *first_response_due; /* NULL: no target */
	char *first_response_at;  /* NULL: not answered yet */
	char *resolution_due;	  /* NULL: no target */
	char *resolved_at;	  /* NULL: not resolved */
	/* the target passed before it was met (still open and past it, or met late) */
	gboolean first_response_breached;
	gboolean resolution_breached;
	/* store_ticket_show() only (NULL / 0 in lists) */
	char *language;
	int impact, urgency; /* 1 (high) .. 3 */
	gboolean triage;     /* no rule decided the kind */
	char *kind_rule;
	char *priority_rule;
	char *closed_at;
	/* pending: since when the resolution clock is stopped (NULL when it runs), and the
	 * calendar minutes of the pauses before, by which resolution_due moved on */
	char *paused_at;
	int64_t paused_minutes;
};
void ticket_info_free(gpointer ticket);

/* Which tickets store_ticket_list() returns. */
struct ticket_filter {
	const char *status;    /* a status, "open" (new, in-progress or pending), NULL: any */
	int64_t assignee_id;   /* the agent's id, 0: anyone */
	const char *requester; /* an address, any case; NULL: anyone */
	int limit;	       /* <= 0: 50 */
};
/* Tickets newest first (by creation). A new array of struct ticket_info * without the
 * show-only fields. */
int store_ticket_list(struct store *st, const struct ticket_filter *f, GPtrArray **tickets_r,
		      struct errbuf *err);

/* The agent an operator names, as the #assign command finds them: their address, name or the
 * local part of the address, any case (the first by address when several match); only active
 * ones unless any. *id_r 0 when there is none; else *address_r (may be NULL) is their address,
 * caller frees. */
int store_agent_by_ref(struct store *st, const char *ref, gboolean any, int64_t *id_r,
		       char **address_r, struct errbuf *err);

struct ticket_participant {
	char *address;
	char *name;
	char *role; /* "requester" / "watcher" */
	char *added_at;
	/* the address bounced for good: why, as the bounce said; NULL when it is reachable */
	char *unreachable;
};

struct ticket_link {
	char *kind;	   /* "possibly-related" / "follow-up" */
	gboolean outgoing; /* this ticket links to the other; FALSE: the other links here */
	char *display;	   /* the other ticket */
	char *status;
	char *subject;
	char *created_at;
};

/* One row of the audit trail (ticket_events). */
struct ticket_event {
	char *at;
	char *actor;
	char *via;	     /* "email", "spocctl", "sql", ... */
	char *field;	     /* "created", "status", "priority", "assignee", "kind" */
	char *old_value;     /* NULL when none */
	char *new_value;     /* NULL when none */
	int64_t message_row; /* the mail that made it, 0: none */
};

struct ticket_attachment {
	char *name;
	char *content_type;
	int64_t size;
	char *disposition; /* "attachment" / "inline" */
};

struct ticket_message {
	int64_t id;
	char *direction; /* "in" / "out" */
	char *from_addr;
	char *from_name;
	char *to_addrs;
	char *cc_addrs;
	char *subject;
	char *date;	 /* its Date:, NULL when it had none */
	char *stored_at; /* when spocd stored it */
	char *message_id;
	/* the new text of a reply, without the quoted history it carried (quoted TRUE); else the
	 * whole text */
	char *text;
	gboolean quoted;
	gboolean internal; /* an agent's note that only agents see */
	char *automatic;   /* why it is automatic mail, NULL: a person's */
	/* a person's thanks for a resolved or closed ticket, kept only as a note (it changed
	 * nothing, told nobody): what the desk read in it; NULL otherwise */
	char *note_why;
	/* what the trusted border said of its sender ("pass", "fail", "none", "unchecked"),
	 * and why; NULL for mail spocd sent or stored before it kept this */
	char *sender_verdict, *sender_verdict_why;
	GPtrArray *attachments; /* of struct ticket_attachment * */
};

/* A ticket with everything about it, read in one snapshot. */
struct ticket_detail {
	struct ticket_info *ticket;
	GPtrArray *participants; /* of struct ticket_participant *, requester first */
	GPtrArray *links;	 /* of struct ticket_link * */
	GPtrArray *events;	 /* of struct ticket_event *, in order */
	GPtrArray *messages;	 /* of struct ticket_message *, in order */
};
void ticket_detail_free(struct ticket_detail **d);
/* Ticket id in full; *d_r NULL when there is no such ticket. */
int store_ticket_show(struct store *st, int64_t id, struct ticket_detail **d_r, struct errbuf *err);

enum ticket_field {
	TICKET_FIELD_STATUS,   /* value: a status */
	TICKET_FIELD_PRIORITY, /* value: "1".."5" */
	TICKET_FIELD_ASSIGNEE, /* value: an active agent as store_agent_by_ref() finds them, or
				  NULL to unassign */
	TICKET_FIELD_KIND,     /* value: "incident" / "request" */
};

enum ticket_set_result {
	TICKET_SET_DONE,
	TICKET_SET_UNCHANGED, /* it already had that value: nothing was written */
	TICKET_SET_NOT_FOUND,
	TICKET_SET_NO_AGENT, /* no active agent by that name */
	TICKET_SET_REFUSED,  /* the database refused the change: why in the errbuf */
};

/* What store_ticket_set() did; free the strings with ticket_change_clear(). Values are written
 * as the audit trail writes them ("P3", an agent's address). */
struct ticket_change {
	int result;	 /* enum ticket_set_result */
	char *old_value; /* NULL: none (nobody assigned) */
	char *new_value;
	char *display; /* the ticket's number afterwards: a kind change turns INC- into REQ- */
	int notices;   /* status updates the change queued (the database's trigger) */
};
void ticket_change_clear(struct ticket_change *ch);

/* Sets one field of ticket id in one transaction, as actor via spocctl (named in the row the
 * change writes, which the audit trail and the status update record): the status model, the
 * audit trail and the status updates to the participants are the database's triggers. An
 * assignee brings their team to the ticket, as #assign does. SPOC_OK with ch->result saying
 * what happened (TICKET_SET_REFUSED: the reason in err). */
int store_ticket_set(struct store *st, int64_t id, enum ticket_field field, const char *value,
		     const char *actor, struct ticket_change *ch, struct errbuf *err);

/* Counts for spocctl stats (store_stats.c). */
#define STATS_STATUSES TICKET_STATUSES /* ticket_status_names */
#define STATS_KINDS    TICKET_KINDS    /* ticket_kind_names */
#define STATS_OUTCOMES 5	       /* ticket, reply, duplicate, automatic, quarantined */
#define STATS_STATES   4	       /* pending, sent, failed, held */
struct desk_stats {
	int64_t status[STATS_STATUSES];
	int64_t open[STATS_KINDS]
		    [TICKET_PRIORITY_MAX]; /* open tickets by kind and priority (P1 first) */
	int64_t created_today;		   /* since midnight in the database's time zone */
	int64_t created_7d;
	int64_t ingested_24h[STATS_OUTCOMES]; /* mail read from the mailboxes, by outcome */
	int64_t sent_24h;		      /* notifications sent */
	int64_t outbox[STATS_STATES];
	int64_t outbox_due;	    /* pending and due now */
	int64_t quarantine_waiting; /* not replayed */
	/* open tickets past a target not met */
	int64_t breached_first_response;
	int64_t breached_resolution;
	int64_t responses_30d;	 /* first responses given in the last 30 days */
	int64_t mean_response_s; /* their mean time from creation (wall clock), -1: none */
};
extern const char *const stats_outcome_names[STATS_OUTCOMES];
extern const char *const stats_state_names[STATS_STATES];
int store_stats(struct store *st, struct desk_stats *s, struct errbuf *err);

/* Customer satisfaction (sql/021_csat.sql) of one team in one ISO week (UTC), from the ratings
 * given in it: how many, their mean, how many were satisfied (CSAT_SATISFIED and above). */
struct csat_week {
	char *team; /* the ticket's team when it was rated, "" for none */
	char *week; /* "2026-W49" */
	int64_t count;
	double average;
	int64_t satisfied;
};
/* The ISO weeks from weeks - 1 weeks before the current one to the current one, newest first,
 * team by team: a new array of struct csat_week * (g_ptr_array_unref frees them), no row for a
 * week without ratings. */
int store_csat_weeks(struct store *st, int weeks, GPtrArray **rows_r, struct errbuf *err);

/* What the daemon last recorded of one mailbox (mailbox_health). */
struct mailbox_health_row {
	char *mailbox;
	char *last_ok_at;    /* NULL: never read successfully */
	int64_t ok_age_s;    /* seconds since last_ok_at, -1 when NULL */
	char *last_error;    /* "" when none */
	char *last_error_at; /* NULL when none */
};

/* What spocctl health judges. */
struct health_facts {
	GPtrArray *mailboxes; /* of struct mailbox_health_row *, every row there is */
	/* pending notifications due for longer than stuck_after_s */
	int64_t stuck;
	int64_t stuck_oldest_id; /* the one due longest, 0: none */
	int64_t stuck_oldest_s;	 /* for how long */
	/* open tickets past a target (not met) for longer than grace_s whose breach notice was
	 * not sent, and the first few of them ("INC-000001 resolution, ...") */
	int64_t unhandled;
	char *unhandled_first;
};
void health_facts_clear(struct health_facts *h);
int store_health(struct store *st, int stuck_after_s, int grace_s, struct health_facts *h,
		 struct errbuf *err);

/* ---- attachments (spocctl attachment) ---- */

struct attachment_info {
	int64_t id;
	int64_t message_row;
	char *ticket;	 /* INC-000123 */
	char *direction; /* "in" / "out" */
	char *from_addr; /* "" when none */
	char *stored_at; /* ISO 8601, UTC */
	char *name;
	char *content_type;
	int64_t size;
	char *disposition; /* "attachment" / "inline" */
	char *sha256;
};
void attachment_info_free(gpointer info);
/* The attachments of ticket's messages in the order of the conversation: a new array of struct
 * attachment_info *. */
int store_attachment_list(struct store *st, int64_t ticket, GPtrArray **list_r, struct errbuf *err);
/* Attachment id and, when data_r is not NULL, its bytes (caller unrefs); *info_r NULL when
 * there is no such attachment. */
int store_attachment_get(struct store *st, int64_t id, struct attachment_info **info_r,
			 GBytes **data_r, struct errbuf *err);

#endif
