/* PostgreSQL through libpq: every SQL statement of the project lives here or in sql/. One struct
 * store is one connection; callers drive transactions explicitly (ingest commits a batch, the
 * notifier a batch of outbox rows). Functions return SPOC_OK / SPOC_ETEMP (connection or
 * server trouble: retry later) / SPOC_EPERM (this data violates a rule and never will fit). */
#ifndef SPOC_STORE_H
#define SPOC_STORE_H

#include "bounce.h"
#include "classify.h"
#include "compose.h"
#include "conf.h"
#include "judge.h"
#include "mime.h"

#include <stdint.h>

struct store;
struct thread_keys;

/* prepare: statements are prepared once on the session and run by name after that; FALSE
 * behind a transaction-pooling pooler, where the next transaction may get another session. */
int store_open(const char *conninfo, gboolean prepare, struct store **st_r, struct errbuf *err);
/* store_open() whose statements wait at most timeout_s seconds each for the server's answer (0:
 * no limit): a server, proxy or network that stops answering mid-statement makes the statement
 * fail with SPOC_ETEMP naming database.timeout, and the connection is shut down for the caller
 * to close and open again. Migrations (store_migrate) are not limited: they may take long. */
int store_open_bounded(const char *conninfo, gboolean prepare, int timeout_s, struct store **st_r,
		       struct errbuf *err);
void store_close(struct store **st);
/* Applies sql/NNN_*.sql not yet in schema_migrations, in order, in one transaction under an
 * advisory lock. *applied_r counts the files applied now. */
int store_migrate(struct store *st, const char *sql_dir, int *applied_r, struct errbuf *err);

int store_begin(struct store *st, struct errbuf *err);
int store_commit(struct store *st, struct errbuf *err);
void store_rollback(struct store *st);
int store_savepoint(struct store *st, struct errbuf *err);
int store_rollback_to_savepoint(struct store *st, struct errbuf *err);
int store_release_savepoint(struct store *st, struct errbuf *err);

/* Records a pass over mailbox (its configured name): error NULL when it was read successfully,
 * else what failed. Outside a transaction. */
int store_mailbox_health(struct store *st, const char *mailbox, const char *error,
			 struct errbuf *err);

/* LISTEN on channel (outside a transaction: it takes effect at once). */
int store_listen(struct store *st, const char *channel, struct errbuf *err);
/* The connection's socket, for poll() beside other sources; -1 when there is none. */
int store_fd(const struct store *st);
/* Whether the connection is still up (a failed statement may have been the server going away). */
gboolean store_connected(const struct store *st);
/* Waits up to timeout_ms for a notification on a channel this connection listens on; *woken_r
 * says whether one (or several: they are all consumed) came. SPOC_ETEMP when the connection
 * failed. A signal ends the wait early with SPOC_OK. */
int store_wait(struct store *st, int timeout_ms, gboolean *woken_r, struct errbuf *err);

/* ---- ingest ---- */

/* Remembers UIDVALIDITY; *changed_r is TRUE when the server's value differs from the stored one
 * (every UID in the mailbox is new again). There is no high-water UID: what is in the mailbox is
 * what is left to do, and ingest_log says which of it was taken before. */
int store_mailbox_sync(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       gboolean *changed_r, struct errbuf *err);

const char *store_outcome_name(enum ingest_outcome outcome);

/* A lease on singleton work (sql/026_leases.sql): one mailbox's worker ("mailbox:NAME"), the SLA
 * watcher ("sla-watch"). Held by one process (holder) until the database's now() passes its
 * expiry; fencing grows whenever the holder changes. */
struct store_lease {
	char *name;	    /* owned: g_free() */
	const char *holder; /* borrowed: this process's identity, "HOST:PID:RANDOM" */
	const char *node;   /* borrowed: its kernel boot and PID namespace ("" unknown) */
	int seconds;	    /* how long a take or renewal holds it */
	int64_t fencing;    /* ours while held; 0: not held */
	/* who held it when it was not ours ("" when it could not be read), and where */
	char other[128];
	char other_node[128];
	int64_t other_fencing;
};

/* Takes the lease, renews it when it is ours, or takes it over once it expired, in one
 * statement: l->fencing is then the lease's fencing number (which differs from the one held
 * before when another holder had it meanwhile), else 0, with l->other and l->other_fencing
 * naming the holder. */
int store_lease_take(struct store *st, struct store_lease *l, struct errbuf *err);
/* Takes the lease over from its holder other, as l->other_fencing, whatever its expiry (that
 * holder is known to be dead): only if it still has it under that fencing number. l->fencing is
 * the new fencing number, or 0 when the lease had moved on meanwhile. */
int store_lease_take_from_dead(struct store *st, struct store_lease *l, struct errbuf *err);
/* Inside a write transaction, right before its COMMIT: locks the lease row and says whether
 * holder and fencing are still l's (*ours_r); when not, l->other and l->other_fencing name who
 * has it. The lock holds off any take-over until the transaction ends. */
int store_lease_check(struct store *st, struct store_lease *l, gboolean *ours_r,
		      struct errbuf *err);
/* Gives the lease up (its expiry becomes now()) if it is still l's; l->fencing becomes 0. */
int store_lease_release(struct store *st, struct store_lease *l, struct errbuf *err);

/* The UIDs among uids (for this mailbox and UIDVALIDITY) that are already recorded, with the
 * outcome: a crash after COMMIT and before MOVE leaves them in the mailbox. Caller frees the
 * table (uid -> GINT_TO_POINTER(outcome + 1)). */
int store_ingested_uids(struct store *st, const char *mailbox, uint32_t uidvalidity,
			const uint32_t *uids, size_t n, GHashTable **seen_r, struct errbuf *err);

/* Unfinished attempts of the UIDs (uid -> GINT_TO_POINTER(attempts)), only those that have any:
 * each is a pass that died while processing it. Caller frees the table. */
int store_attempts_get(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       const uint32_t *uids, size_t n, GHashTable **attempts_r, struct errbuf *err);
/* Counts one more attempt for each UID, committed at once (outside any transaction) so that it
 * survives a crash. */
int store_attempts_mark(struct store *st, const char *mailbox, uint32_t uidvalidity,
			const uint32_t *uids, size_t n, struct errbuf *err);
/* Forgets the attempts of the UIDs: in the batch transaction, or on its own after a failure
 * that spocd handled. */
int store_attempts_clear(struct store *st, const char *mailbox, uint32_t uidvalidity,
			 const uint32_t *uids, size_t n, struct errbuf *err);

struct ingest_result {
	enum ingest_outcome outcome;
	int64_t ticket_id;	/* 0 when none */
	char ticket_number[32]; /* e.g. INC-000123, "" when none */
	int64_t outbox_id;	/* 0 when nothing was queued */
};

/* Claims the UIDs of a batch in ingest_log with one statement, each with the SHA-256 of its raw
 * bytes: log_ids_r[i] gets the claim of uids[i], or "" when another worker (or an earlier run)
 * holds it. Runs in the caller's transaction. */
int store_ingest_claim(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       const uint32_t *uids, const char *const *sha256s, size_t n,
		       char (*log_ids_r)[24], struct errbuf *err);
/* Gives claims back (a batch cut short by a stop request): those UIDs are new again. Empty
 * claims are skipped. */
int store_ingest_unclaim(struct store *st, char (*log_ids)[24], size_t n, struct errbuf *err);

/* What the messages of one ingest transaction leave to be written once for all of them (their
 * ingest_log outcomes, the senders reachable again); see store_window.c. */
struct store_window;
/* caller frees with store_window_free() */
struct store_window *store_window_new(void);
/* Reads the duplicate check and the sender's agent of each of mails (those the window records,
 * in order) in one statement, before the first is recorded, and reserves each a ticket id (a
 * new ticket's acknowledgement is then queued in the statement that opens it, under a
 * Message-ID minted for that id); store_ingest_claimed() asks again only for a mail that shares
 * a key with one recorded before it in the window. */
int store_window_facts(struct store *st, struct store_window *w, const struct mail *const *mails,
		       guint n, struct errbuf *err);
void store_window_free(struct store_window **w);
/* Adds the outcome of the mail claimed as log_id (detail: why, may be NULL). */
void store_window_log(struct store_window *w, const char *log_id, enum ingest_outcome outcome,
		      int64_t message_row, int64_t ticket_id, const char *detail);
/* Adds a sender who wrote as a person: an address that bounced is reachable again. */
void store_window_reachable(struct store_window *w, const char *address);
/* Marks the senders added so far reachable, in one statement (none when there are none): before
 * the transaction records a bounce, which may mark one of them bouncing again. */
int store_window_senders(struct store *st, struct store_window *w, struct errbuf *err);
/* Marks the senders reachable and writes every outcome added, one set statement each (none for
 * what is empty); in the caller's transaction, before its COMMIT. */
int store_window_finish(struct store *st, struct store_window *w, struct errbuf *err);
/* store_window_senders() for one address, at once. */
int store_reachable_now(struct store *st, const char *address, struct errbuf *err);

/* Records one fetched mail claimed by store_ingest_claim() inside the caller's transaction:
 * duplicate check (SHA-256, then a real Message-ID), threading by In-Reply-To/References onto
 * stored messages, ticket creation with the acknowledgement queued in the outbox. Its outcome
 * for its ingest_log row, and its sender when reachable again, go to w only once it is
 * recorded, for store_window_finish(). An empty log_id (claimed elsewhere) is INGEST_TAKEN. */
int store_ingest_claimed(struct store *st, struct store_window *w, const char *log_id,
			 const char *raw, size_t raw_len, const struct mail *mail,
			 const struct ingest_decision *d, struct ingest_result *res,
			 struct errbuf *err);

/* Records a message that cannot become a ticket under its claim log_id (nothing when it is
 * empty: recorded elsewhere): raw bytes, where it came from and why, and its category: "spam"
 * (a verdict said so) or "error" (spocd could not handle it). Runs in the caller's
 * transaction. */
int store_quarantine_claimed(struct store *st, const char *mailbox, uint32_t uidvalidity,
			     uint32_t uid, const char *log_id, const char *raw, size_t raw_len,
			     const char *category, const char *reason, struct errbuf *err);

/* The secret called name that spocd keeps in the database (migration 004), into *value_r;
 * caller wipes and frees. */
int store_secret(struct store *st, const char *name, char **value_r, struct errbuf *err);

/* A refresh token rotated from a read-only credential (migration 025), sealed by the caller:
 * label names it, origin is the SHA-256 (hex) of the credential's token it descends from. */
int store_oauth2_token_put(struct store *st, const char *label, const char *origin, GBytes *sealed,
			   struct errbuf *err);
/* The row of label: SPOC_OK with *origin_r and *sealed_r (caller frees and unrefs), both NULL
 * when there is none; SPOC_ETEMP / SPOC_EPERM with the reason in err. */
int store_oauth2_token_get(struct store *st, const char *label, char **origin_r, GBytes **sealed_r,
			   struct errbuf *err);

/* ---- quarantine ---- */

struct quarantine_entry {
	int64_t id;
	char *mailbox;
	int64_t uidvalidity;
	int64_t uid;
	char *reason;
	char *category;	      /* "spam", or "error" for everything else */
	char *created_at;     /* ISO 8601 */
	char *replayed_at;    /* NULL until replayed */
	char *replay_outcome; /* what the replay made of it, or NULL */
	char *replay_ticket;  /* e.g. INC-000123, or NULL */
	char *replay_error;   /* why the last replay failed, or NULL */
	char *raw_sha256;
	int64_t size;
	GBytes *raw; /* NULL in lists */
};
void quarantine_entry_free(gpointer entry);

/* Entries, oldest first; only those not replayed yet unless all, only of category unless it is
 * NULL. A new array of struct quarantine_entry * without raw bytes. */
int store_quarantine_list(struct store *st, gboolean all, const char *category,
			  GPtrArray **entries_r, struct errbuf *err);
/* One entry with its raw bytes; *entry_r NULL when there is no such id. With lock, the row is
 * locked FOR UPDATE until the caller's transaction ends (one replay at a time). */
int store_quarantine_get(struct store *st, int64_t id, gboolean lock,
			 struct quarantine_entry **entry_r, struct errbuf *err);
/* Records a successful replay of entry id: what it became, on the quarantine row and on the
 * ingest_log row of its (mailbox, UIDVALIDITY, UID). Runs in the caller's transaction. */
int store_quarantine_replayed(struct store *st, const struct quarantine_entry *e,
			      const struct ingest_result *res, int64_t message_row,
			      struct errbuf *err);
/* Records why a replay failed again. Runs in the caller's transaction. */
int store_quarantine_replay_failed(struct store *st, int64_t id, const char *reason,
				   struct errbuf *err);
/* Like store_ingest_claimed() for a message that is not in a mailbox any more (a replay): no
 * ingest_log claim. *message_row_r is the message row it became or duplicates. */
int store_record_mail(struct store *st, const char *raw, size_t raw_len, const struct mail *mail,
		      const struct ingest_decision *d, struct ingest_result *res,
		      int64_t *message_row_r, struct errbuf *err);

/* ---- agents ---- */

struct agent {
	int64_t id;
	char *address; /* lower case */
	char *name;
	char *team;
	gboolean active;
	int64_t open_tickets; /* assigned and not resolved or closed */
};
void agent_free(gpointer agent);

/* Adds an agent, or updates the name and team of an existing address and makes it active
 * again; *created_r tells which. SPOC_EPERM for an address the table refuses. */
int store_agent_add(struct store *st, const char *address, const char *name, const char *team,
		    gboolean *created_r, struct errbuf *err);
/* Agents by address; only active ones unless all. A new array of struct agent *. */
int store_agent_list(struct store *st, gboolean all, GPtrArray **agents_r, struct errbuf *err);

/* What bounces said of an address (address_status), for spocctl address. */
struct address_state {
	char *address;
	gboolean bouncing; /* bounced for good: automatic mail to it is held */
	int64_t bounces;
	char *last_bounce_at; /* ISO 8601, "" when never */
	char *last_reason;
	int64_t held; /* outbox rows held for it */
};
void address_state_free(gpointer a);
/* The addresses that bounce for good (all: every address a bounce named), by address. A new
 * array of struct address_state *. */
int store_address_list(struct store *st, gboolean all, GPtrArray **list_r, struct errbuf *err);
/* The address is reachable again: its mark is cleared and the mail held for it is due now
 * (*released_r rows). *found_r: it was marked. Committed by the caller's transaction, or
 * alone outside one. */
int store_address_clear(struct store *st, const char *address, int64_t *released_r,
			gboolean *found_r, struct errbuf *err);
/* Marks an agent inactive (kept: the audit trail names them), or with revoke ends every reply
 * token issued to the agent so far (their next notices carry new ones). *found_r FALSE when
 * unknown. */
int store_agent_disable(struct store *st, const char *address, gboolean revoke, gboolean *found_r,
			struct errbuf *err);

/* ---- outbox ---- */

struct outbox_row {
	int64_t id;
	char *kind; /* "ack", "status", "sla-warning"... (sql/006_notifier.sql) */
	int64_t ticket_id;
	char *ticket_number; /* INC-000123 */
	enum spoc_kind ticket_kind;
	char *ticket_subject;
	char *recipient;       /* addr-spec */
	char *recipient_name;  /* may be "" */
	char *language;	       /* "es" / "en" */
	char *message_id;      /* ours, without brackets, minted before the first attempt */
	char *in_reply_to;     /* the message we answer, without brackets, or NULL */
	GPtrArray *references; /* char *, without brackets */
	int attempts;
	char *body;		    /* the text a notice relays ("" for an acknowledgement) */
	char *author;		    /* whose text it is */
	int64_t agent_id;	    /* the agent it is for or from, 0: none */
	int ticket_priority;	    /* 1..5 */
	int64_t first_response_due; /* Unix seconds, 0: none */
	int64_t resolution_due;
	char *ticket_status; /* "new", "in-progress"... */
	char *requester;     /* the ticket's requester address */
	int64_t age_s;	     /* since it was queued, or since an operator pushed it again */
	/* a status update: the move and who made it (actor_name: an agent's name, or "") */
	char *status_from, *status_to, *actor, *actor_name, *via;
	/* an SLA notice: "first-response" or "resolution", its due time, the share reached */
	char *sla_target;
	int64_t sla_due;
	int sla_share;
	/* for an agent's reply token: the agent's token generation now, and today's UTC day
	 * (days since 1970-01-01, the database's clock) */
	int64_t agent_generation;
	int64_t today;
	/* what the border said of the sender of the mail it answers (messages.sender_verdict) and
	 * why; NULL when unknown */
	char *sender_verdict, *sender_verdict_why;
	/* the rate limits (caps.h): the key the recipient is counted by, what was sent to it, on
	 * the ticket and by the desk (counted when the row was claimed), whether the row is held
	 * already and whether an operator pushed it, and the database's clock, Unix seconds */
	char *recipient_key;
	struct caps_facts caps;
	char *bounce_reason; /* owned: what caps.bounce_reason points to */
	gboolean held, waived;
	int64_t now;
};
void outbox_row_free(struct outbox_row **row);

/* Gives every pending row queued without a Message-ID (by the database's status trigger, the SLA
 * watch) one from mint(ticket_id, ctx) (a g_free()d string, NULL to leave the row for later),
 * committed before any attempt so that every retry sends the same one. Rows another notifier
 * holds are skipped. *minted_r (may be NULL) counts them. */
int store_outbox_mint_ids(struct store *st, char *(*mint)(int64_t ticket_id, void *ctx), void *ctx,
			  unsigned *minted_r, struct errbuf *err);
/* Begins a transaction and locks up to max due rows, pending or held, in one statement with
 * FOR UPDATE SKIP LOCKED (the longest due first), takes the rate limits' locks of their
 * recipient keys and counts what the limits need for each (row->caps, as committed before this
 * batch: the caller counts the batch's own sends); held rows of automatic kinds wait while
 * automatic_per_hour (rate_limits.automatic_per_hour) mails went out in the last hour. *rows_r
 * is a new array of struct outbox_row * (free function set), empty (and the transaction already
 * ended) when nothing is due. The caller ends the transaction with store_outbox_mark(). */
int store_outbox_claim(struct store *st, int automatic_per_hour, guint max, GPtrArray **rows_r,
		       struct errbuf *err);

/* What became of one claimed row. */
enum outbox_fate {
	OUTBOX_SENT,	/* accepted by the SMTP server */
	OUTBOX_RETRY,	/* another attempt in delay_s seconds */
	OUTBOX_FAILED,	/* given up for good after an attempt */
	OUTBOX_HELD,	/* over a rate limit until release */
	OUTBOX_REFUSED, /* given up without an attempt (a refused recipient, held too long) */
};
struct outbox_mark {
	const struct outbox_row *row;
	enum outbox_fate fate;
	int delay_s;	    /* OUTBOX_RETRY */
	int64_t release;    /* OUTBOX_HELD: Unix seconds */
	const char *reason; /* all but OUTBOX_SENT */
	/* OUTBOX_SENT: the message as kept on the ticket (direction out, from smtp.from_address),
	 * and the attachments.id of the files it carried, comma-separated (outbox.detail
	 * "carried"), or NULL */
	const char *raw;
	size_t len;
	const char *subject, *body_text, *carried;
};
/* Records the fate of every mark in one statement (a sent row's message stored on its ticket,
 * from from_addr), then commits; rows of the batch without a mark stay as they were. On
 * failure everything is rolled back. */
int store_outbox_mark(struct store *st, const struct outbox_mark *marks, guint n,
		      const char *from_addr, struct errbuf *err);

/* ---- attachments that travel (store_attachments.c) ---- */

/* The attachments of the messages the outbox rows outbox_ids[0..n) are about (each row's
 * in_reply_to_message), in their order, without their bytes, in one query: (*lists_r)[i] is a
 * new array of struct compose_attachment * (compose.h) for outbox_ids[i], empty when there are
 * none or the row withholds them (an agent's reply whose forwarded message was withheld).
 * *lists_r has n arrays and a NULL after them; free with store_outbox_attachments_free(). */
int store_outbox_attachments(struct store *st, const int64_t *outbox_ids, guint n,
			     GPtrArray ***lists_r, struct errbuf *err);
void store_outbox_attachments_free(GPtrArray ***lists);
/* The bytes of attachment id into *data_r (caller unrefs), NULL when there is no such one. */
int store_attachment_data(struct store *st, int64_t id, GBytes **data_r, struct errbuf *err);

#endif
