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
 * becomes pending, due now, with attempts 0 and retried_at now; its last error is kept,
 * marked as from before the retry. *result_r is one of enum outbox_requeue_result. Runs on its
 * own (autocommit); waits while a notifier is sending that very row. */
int store_outbox_requeue(struct store *st, int64_t id, int *result_r, struct errbuf *err);

#endif
