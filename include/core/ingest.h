/* One pass over the help mailbox, one window of consecutive UIDs at a time (so that memory does
 * not grow with the mailbox): list what is there, finish moves a crash interrupted, then fetch
 * new messages in batches, record each batch in one transaction (a SAVEPOINT per message, so one
 * bad message rolls back alone and is quarantined) and only after COMMIT move the batch to the
 * processed or failed folder. */
#ifndef SPOC_INGEST_H
#define SPOC_INGEST_H

#include "conf.h"
#include "imap.h"
#include "log.h"
#include "mime.h"
#include "store.h"

#include <signal.h>

struct ingest_stats {
	unsigned outcomes[INGEST_OUTCOMES]; /* messages by what became of them */
	unsigned recovered;		    /* recorded before a crash, moved now */
};

struct ingest_hooks {
	/* Told about each message and each notable event: event is a LOG_EV_* id (or NULL), f what
	 * it is about (mailbox, UID, Message-ID, ticket), line one readable sentence that names
	 * them too. May be NULL. */
	void (*log)(int priority, const char *event, const struct log_fields *f, const char *line,
		    void *ctx);
	/* Called for each message right after it was parsed, before the batch transaction opens.
	 * May be NULL. */
	void (*after_parse)(const struct mail *mail, void *ctx);
	/* Called for each message of a batch just before it is written, inside the batch
	 * transaction. May be NULL. */
	void (*before_store)(void *ctx);
	/* Called right after each batch COMMIT and before the IMAP move. May be NULL. */
	void (*after_commit)(void *ctx);
	void *ctx;
	/* When it becomes non-zero, the pass stops after the batch in hand. May be NULL. */
	volatile sig_atomic_t *stop;
};

/* The parser's limits and fallback charsets from the configuration. */
void ingest_mime_limits(const struct spoc_conf *conf, struct mime_limits *limits);

/* Decides what a parsed mail is (kind and the rule that chose it, automatic or not, language,
 * subject tag, requester, SLA due times) into d, whose strings are static or borrowed from conf
 * or mail; the caller sets d->keys. mailbox (may be NULL) names the configured mailbox it was
 * read from: rules with a mailbox condition need it, and a kind no rule decides is that
 * mailbox's default_kind, SLA targets included. Returns NULL, or the reason the mail must be
 * quarantined instead. The daemon, replay and inspect share it. */
const char *ingest_decide_in(const struct spoc_conf *conf, const char *mailbox,
			     const struct mail *mail, struct ingest_decision *d);
/* The configured mailbox of that name (borrowed from conf), or NULL. */
const struct spoc_imap_conf *ingest_mailbox(const struct spoc_conf *conf, const char *name);

/* Why mail is spam (a verdict header of spam.verdict_headers, or the border's DMARC fail under a
 * policy of quarantine or reject), NULL when it is not; d is ingest_decide_in()'s. Caller
 * g_free()s. */
char *ingest_spam_why(const struct spoc_conf *conf, const struct mail *mail,
		      const struct ingest_decision *d);

/* When d says the mail is a bounce, parses it into bounce (the caller clears it with
 * bounce_report_clear()). Only a bounce that came back to the VERP envelope sender of a
 * notification (smtp.from_address's local part + token) whose token verifies under keys points
 * d->bounce at it and sets d->bounce_outbox_id; any other delivery report gets
 * d->bounce_ignored_why and changes nothing. */
void ingest_bounce(const struct spoc_conf *conf, const struct thread_keys *keys,
		   const struct mail *mail, struct bounce_report *bounce,
		   struct ingest_decision *d);

/* The attempt marks (ingest_attempts) a process left on a batch's UIDs when the pass failed in a
 * way it handled (the database gone, or not answering) and so could not take them back: they
 * are no crash, and the next pass of the same process takes them back before it counts crashes.
 * Kept by the caller between passes over one mailbox, zero-initialised; ingest_owed_free()
 * empties it. */
struct ingest_owed {
	uint32_t uidvalidity;
	GArray *uids; /* uint32_t; NULL when nothing is owed */
};

void ingest_owed_free(struct ingest_owed *owed);

/* quiet (may be NULL) remembers, between passes over one connection, how the folder stood when
 * it was last seen empty: when the server offers CONDSTORE and nothing changed since, the pass
 * ends after SELECT. */
/* lease (the mailbox's, "mailbox:NAME") is taken or renewed first: when another instance holds
 * it, the pass ends there (SPOC_OK, lease->fencing 0). It is renewed between batches (every
 * third of its length), and each batch's transaction checks it before its COMMIT: when the
 * lease changed hands meanwhile, the batch is rolled back, nothing is moved, and the pass ends
 * with SPOC_OK and lease->fencing telling what the lease is now. The lease is kept (not
 * released) at the end of a pass.
 * SPOC_OK when the mailbox was worked through (some messages may have been quarantined);
 * SPOC_ETEMP when IMAP or the database failed (nothing uncommitted was moved). */
/* owed (may be NULL): see struct ingest_owed. */
int ingest_run(const struct spoc_conf *conf, const struct spoc_imap_conf *mb, struct store *st,
	       struct store_lease *lease, struct imap_session *imap, struct imap_mark *quiet,
	       struct ingest_owed *owed,
	       const struct ingest_hooks *hooks, struct ingest_stats *stats, struct errbuf *err);

#endif
