/* What the messages of one ingest transaction leave to be written once for all of them: the
 * outcome of each on its ingest_log row, and the senders who wrote as persons (an address that
 * bounced is reachable again). Each is one set statement over arrays instead of one statement
 * per message. */
#include "store_priv.h"

const char *store_outcome_name(enum ingest_outcome outcome)
{
	static const char *const names[] = {"ticket",	 "reply",	"reopened", "duplicate",
					    "automatic", "quarantined", "command",  "taken"};

	return names[outcome];
}

struct store_window {
	/* array literals of the ingest_log rows to finish, column by column */
	GString *ids, *outcomes, *message_rows, *ticket_ids, *details;
	guint finished;	  /* rows in them */
	GString *senders; /* array literal of the senders who wrote as persons */
	guint reachable;  /* addresses in it */
};

struct store_window *store_window_new(void)
{
	struct store_window *w = g_new0(struct store_window, 1);

	w->ids = g_string_new(NULL);
	w->outcomes = g_string_new(NULL);
	w->message_rows = g_string_new(NULL);
	w->ticket_ids = g_string_new(NULL);
	w->details = g_string_new(NULL);
	w->senders = g_string_new(NULL);
	return w;
}

void store_window_free(struct store_window **w)
{
	if (*w == NULL)
		return;
	g_string_free((*w)->ids, TRUE);
	g_string_free((*w)->outcomes, TRUE);
	g_string_free((*w)->message_rows, TRUE);
	g_string_free((*w)->ticket_ids, TRUE);
	g_string_free((*w)->details, TRUE);
	g_string_free((*w)->senders, TRUE);
	g_free(*w);
	*w = NULL;
}

/* Appends an integer to an array literal under construction; 0 is NULL. */
static void append_id(GString *arr, gboolean first, int64_t v)
{
	if (!first)
		g_string_append_c(arr, ',');
	if (v == 0)
		g_string_append(arr, "NULL");
	else
		g_string_append_printf(arr, "%" G_GINT64_FORMAT, v);
}

static void append_text(GString *arr, gboolean first, const char *v)
{
	if (!first)
		g_string_append_c(arr, ',');
	store_array_append_text(arr, v);
}

void store_window_log(struct store_window *w, const char *log_id, enum ingest_outcome outcome,
		      int64_t message_row, int64_t ticket_id, const char *detail)
{
	gboolean first = w->finished == 0;

	append_id(w->ids, first, g_ascii_strtoll(log_id, NULL, 10));
	append_text(w->outcomes, first, store_outcome_name(outcome));
	append_id(w->message_rows, first, message_row);
	append_id(w->ticket_ids, first, ticket_id);
	append_text(w->details, first, detail != NULL ? detail : "");
	w->finished++;
}

void store_window_reachable(struct store_window *w, const char *address)
{
	append_text(w->senders, w->reachable == 0, address);
	w->reachable++;
}

/* A bounced address a person wrote from is reachable again: the mail held back from it is tried
 * at once. $1: the addresses, text[]. */
#define REACHABLE_SQL                                                                              \
	"WITH c AS (UPDATE address_status SET bouncing = false"                                    \
	"  WHERE address IN (SELECT lower(a) FROM unnest($1::text[]) AS a) AND bouncing"           \
	"  RETURNING address)"                                                                     \
	" UPDATE outbox SET next_attempt_at = now() WHERE state = 'held'"                          \
	"  AND lower(recipient) IN (SELECT address FROM c)"

#define FINISH_SQL                                                                                 \
	"UPDATE ingest_log l SET outcome = u.outcome, message_row = u.message_row,"                \
	" ticket_id = u.ticket_id, detail = u.detail"                                              \
	" FROM unnest($1::bigint[], $2::text[], $3::bigint[], $4::bigint[], $5::text[])"           \
	"  AS u(id, outcome, message_row, ticket_id, detail)"                                      \
	" WHERE l.id = u.id"

/* The array literal of arr, "{...}"; caller frees. */
static char *literal(const GString *arr)
{
	return g_strdup_printf("{%s}", arr->str);
}

int store_reachable_now(struct store *st, const char *address, struct errbuf *err)
{
	struct store_window *w = store_window_new();
	int rc;

	store_window_reachable(w, address);
	rc = store_window_senders(st, w, err);
	store_window_free(&w);
	return rc;
}

int store_window_senders(struct store *st, struct store_window *w, struct errbuf *err)
{
	char *senders;
	int rc;

	if (w->reachable == 0)
		return SPOC_OK;
	senders = literal(w->senders);
	const char *p[] = {senders};
	rc = store_sql_exec(st, "address_status", REACHABLE_SQL, 1, p, err);
	g_free(senders);
	g_string_truncate(w->senders, 0);
	w->reachable = 0;
	return rc;
}

int store_window_finish(struct store *st, struct store_window *w, struct errbuf *err)
{
	char *ids = literal(w->ids), *outcomes = literal(w->outcomes),
	     *rows = literal(w->message_rows), *tickets = literal(w->ticket_ids),
	     *details = literal(w->details);
	const char *p[] = {ids, outcomes, rows, tickets, details};
	int rc = store_window_senders(st, w, err);

	if (rc == SPOC_OK && w->finished > 0)
		rc = store_sql_exec(st, "ingest_log", FINISH_SQL, G_N_ELEMENTS(p), p, err);
	g_free(ids);
	g_free(outcomes);
	g_free(rows);
	g_free(tickets);
	g_free(details);
	g_string_truncate(w->ids, 0);
	g_string_truncate(w->outcomes, 0);
	g_string_truncate(w->message_rows, 0);
	g_string_truncate(w->ticket_ids, 0);
	g_string_truncate(w->details, 0);
	w->finished = 0;
	return rc;
}
