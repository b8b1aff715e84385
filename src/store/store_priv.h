/* What the store_*.c files share and nobody else sees: the connection and the statement
 * helpers. Values always travel as parameters. */
#ifndef SPOC_STORE_PRIV_H
#define SPOC_STORE_PRIV_H

#include "store.h"
#include "thread.h"

#include <libpq-fe.h>

struct store {
	PGconn *conn;
	/* The statements prepared on this connection: SQL text -> its name ("s1", "s2"...).
	 * Parsed and planned once per connection instead of once per call. */
	GHashTable *prepared;
	unsigned prepared_next; /* the number in the next name */
	/* Longest wait for the server's answer to one statement, in seconds; 0: no limit. */
	int timeout_s;
	/* The last statement had no answer within timeout_s: the connection was shut down. */
	gboolean timed_out;
	/* Statements run on this connection, and how many there will have been when the plans
	 * are made again (store_commit(): the count doubles between two replans). */
	uint64_t runs, replan_at;
};

/* Runs one parameterised statement; params may contain NULLs (SQL NULL). A parameter whose
 * length in lens is non-zero is sent as binary (bytea). Returns the result on success (caller
 * PQclear()s) or NULL with err set and *rc_r the class of failure (SPOC_ETEMP/SPOC_EPERM). */
/* The value of a bytea parameter of len bytes for store_sql_run(): data, or "" when len is 0. A
 * zero length sends the parameter as text, which libpq reads up to a NUL that bytes need not
 * have (an empty attachment's points at the end of its buffer); "" is the empty bytea. */
static inline const char *store_bytes_param(const void *data, size_t len)
{
	return len > 0 && data != NULL ? (const char *)data : "";
}

PGresult *store_sql_run(struct store *st, const char *what, const char *sql, int n,
			const char *const *params, const int *lens, int *rc_r, struct errbuf *err);
/* SPOC_ETEMP when the failure of res (may be NULL) is the connection's or passing (rollback,
 * resources, shutdown, system), else SPOC_EPERM: what store_sql_run() reports. */
int store_error_class(struct store *st, const PGresult *res);
/* store_sql_run() for a change the database may refuse by a rule of the data (a constraint, the
 * status model's trigger: SQLSTATE class 23): then NULL with *refused_r TRUE, *rc_r SPOC_EPERM
 * and the database's own sentence alone in err ("ticket INC-000001: status cannot go from
 * closed to new"); on any other failure NULL with *rc_r and err as store_sql_run() sets them. */
PGresult *store_sql_run_refusable(struct store *st, const char *what, const char *sql, int n,
				  const char *const *p, gboolean *refused_r, int *rc_r,
				  struct errbuf *err);
/* store_sql_run() for statements whose result is not needed. */
int store_sql_exec(struct store *st, const char *what, const char *sql, int n,
		   const char *const *params, struct errbuf *err);
/* The bytea at (row, col) of a text result, decoded; NULL with err set when it cannot be.
 * Caller unrefs. */
GBytes *store_sql_bytea(PGresult *res, int row, int col, const char *what, struct errbuf *err);
/* The value at (row, col) as an integer, 0 for NULL. */
int64_t store_sql_i64(PGresult *res, int row, int col);
/* Message-IDs as one newline-separated parameter for string_to_array(); ids that could break the
 * separation are left out. Caller frees. */
char *store_join_ids(const char *first, GPtrArray *more);
/* v as one element of a PostgreSQL array literal ("{...}") appended to s: NULL, or quoted. */
void store_array_append_text(GString *s, const char *v);

/* ---- what store_ingest.c shares with store_thread.c and store_notices.c ---- */

/* Who sent the mail, as far as agents go: the active agent the From names (0: none), whether
 * the border MTA proved that From, and the reply token the mail came through. */
/* A notification of kind for ticket, answering message_row, to recipient. */
struct store_notice {
	const char *kind; /* "ack", "agent-reply", "follow-up", "command-result", ... (sql/) */
	int64_t ticket_id;
	int64_t message_row;
	const char *recipient;
	const char *recipient_name;
	const char *language;
	const char *body;   /* the text to relay, "" for an acknowledgement */
	const char *author; /* whose text it is */
	int64_t agent_id;   /* the agent it is for or from, 0: none */
	/* an agent's reply whose forwarded message was withheld: its files stay on the ticket too
	 * (outbox.detail "attachments": "withheld") */
	gboolean withhold_attachments;
};

/* The active agent whose address is $N (lower-cased here): id, name (the address when it has
 * none) and reply-token generation, as columns for store_sender_fill(); a query joins it as a
 * LATERAL subquery, so that it costs no round trip of its own. */
#define STORE_SENDER_AGENT(N)                                                                      \
	"SELECT id AS agent_id, CASE WHEN name = '' THEN address ELSE name END AS agent_name,"     \
	" token_generation AS agent_generation FROM agents WHERE address = lower(" N ") AND active"
/* Who sent m (the active agent its From names, from res's row at columns col..col + 2 of
 * STORE_SENDER_AGENT, NULL when none; the border MTA's proof; the reply token it came through);
 * free agent_name with g_free(). */
void store_sender_fill(const struct mail *m, const struct ingest_decision *d, PGresult *res,
		       int row, int col, struct judge_sender *who);

/* The same message taken before (from another UID, another mailbox, a redelivery or a second
 * route): the same bytes (SHA); the same fields and body but for what delivery added (CSHA); or
 * the same Message-ID (MID, NULL when synthetic) with the same sender (FROM), date (SENT) and body
 * (BSHA), as a list that tags the subject sends it. A Message-ID alone is not enough: a broken
 * mailer or a stranger who sends a predicted one first would make the desk lose the real mail.
 * Rows stored before the digests existed compare by Message-ID alone, as they did. The earliest
 * such row, as id, ticket_id (0: none) and display, for a LATERAL join. */
#define STORE_DUP_OF(SHA, MID, CSHA, FROM, SENT, BSHA)                                             \
	"SELECT m.id, coalesce(m.ticket_id, 0) AS ticket_id,"                                      \
	"  coalesce(t.display, '') AS display FROM messages m"                                     \
	"  LEFT JOIN tickets t ON t.id = m.ticket_id"                                              \
	"  WHERE m.direction = 'in' AND (m.raw_sha256 = " SHA " OR m.content_sha256 = " CSHA       \
	" OR   (" MID "::text IS NOT NULL AND m.message_id = " MID " AND NOT m.message_id_synthetic" \
	"    AND (m.body_sha256 IS NULL OR (m.body_sha256 = " BSHA " AND m.from_addr = " FROM      \
	"     AND m.sent_at IS NOT DISTINCT FROM " SENT "::timestamptz))))"                        \
	"  ORDER BY m.id LIMIT 1"
/* The values of m that STORE_DUP_OF() and STORE_SENDER_AGENT() compare, in STORE_DUP_OF()'s
 * order (FROM is the agent's too); date: m's date as ISO 8601, which the caller frees. */
void store_dup_keys(const struct mail *m, char **date, const char *keys[6]);
/* The row of res (store_window_facts()'s) that holds m's duplicate check (columns 1..3) and
 * agent (4..6), read before any mail of the window was recorded; FALSE when m has none, or
 * when a mail recorded since in the window shares a key with it (then only asking again sees
 * it). */
gboolean store_window_fact(struct store_window *w, const struct mail *m, PGresult **res_r,
			   int *row_r);
/* The ticket id store_window_facts() reserved for m, whichever ticket it opens (nextval() of
 * tickets' identity: one that opens none leaves a gap); 0 when none was. */
int64_t store_window_ticket_id(struct store_window *w, const struct mail *m);
/* m is recorded in the window: a later mail that shares a key with it asks again. */
void store_window_recorded(struct store_window *w, const struct mail *m);
/* Where m belongs, decided by thread_decide() from what the database knows. */
int store_thread_find(struct store *st, const struct mail *m, const struct ingest_decision *d,
		      const struct judge_sender *who, struct thread_verdict *v, struct errbuf *err);

/* Queues a notification, pending: the notifier applies the rate limits when it sends it
 * (caps.h). *id_r may be NULL. */
int store_queue_notice(struct store *st, const struct ingest_decision *d,
		       const struct store_notice *n, int64_t *id_r, struct errbuf *err);
/* Ties a bounce back to the outbox row its verified VERP address names and counts it against
 * that row's recipient only; *ticket_r is that notification's ticket, 0 when none. When the
 * address bounces for good from now on, *newly_r (may be NULL) gets "address: reason" (caller
 * frees), else stays as it was. */
int store_bounce_record(struct store *st, const struct bounce_report *b, int64_t outbox_id,
			int64_t *ticket_r, char **newly_r, struct errbuf *err);
/* Tells the desk's people of m on ticket: kind "follow-up" (a requester's reply) goes to the
 * assignee, else the ticket's team; "new-ticket" as notify.new_ticket says (off, the team, or
 * a mailbox). When that is nobody: desk.triage_address, else every active agent. */
int store_notify_desk(struct store *st, const struct ingest_decision *d, const struct mail *m,
		      const char *kind, int64_t ticket, int64_t message_row, const char *body,
		      struct errbuf *err);
/* What a requester's commands set off (judge_plan.requester_list, requester_answer,
 * close_ticket_id): their ticket closed under their name, the list of their open tickets and
 * the answer to #close queued to them; see store_requester.c. */
int store_requester_commands(struct store *st, const struct mail *m,
			     const struct ingest_decision *d, const struct judge_plan *plan,
			     int64_t message_row, struct errbuf *err);
/* What a reply on ticket sets off: an agent's commands and relay, or the follow-up to the
 * assignee; see store_notices.c. */
int store_after_reply(struct store *st, const struct mail *m, const struct ingest_decision *d,
		      const struct judge_sender *who, const struct judge_plan *plan, int64_t ticket,
		      int64_t message_row, struct errbuf *err);

#endif
