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
	guint finished;	       /* rows in them */
	GString *senders;      /* array literal of the senders who wrote as persons */
	guint reachable;       /* addresses in it */
	PGresult *facts;       /* store_window_facts()'s, or NULL */
	GHashTable *fact_rows; /* const struct mail * -> its row in facts + 1 */
	GHashTable *recorded;  /* the keys (keys_of()) of the mails recorded in the window */
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
	w->fact_rows = g_hash_table_new(g_direct_hash, g_direct_equal);
	w->recorded = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
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
	if ((*w)->facts != NULL)
		PQclear((*w)->facts);
	g_hash_table_unref((*w)->fact_rows);
	g_hash_table_unref((*w)->recorded);
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

void store_dup_keys(const struct mail *m, char **date, const char *keys[6])
{
	*date = m->date != NULL ? g_date_time_format_iso8601(m->date) : NULL;
	keys[0] = m->sha256;
	keys[1] = m->message_id_synthetic ? NULL : m->message_id;
	keys[2] = m->content_sha256;
	keys[3] = m->from.addr != NULL ? m->from.addr : "";
	keys[4] = *date;
	keys[5] = m->body_sha256;
}

/* The keys by which a later mail can be a duplicate of m (STORE_DUP_OF()): its bytes, its
 * content, its Message-ID; NULL where it has none. Caller frees each. */
static void keys_of(const struct mail *m, char *keys[3])
{
	keys[0] = m->sha256[0] != '\0' ? g_strconcat("raw:", m->sha256, NULL) : NULL;
	keys[1] =
	    m->content_sha256[0] != '\0' ? g_strconcat("content:", m->content_sha256, NULL) : NULL;
	keys[2] = !m->message_id_synthetic && m->message_id != NULL
		      ? g_strconcat("id:", m->message_id, NULL)
		      : NULL;
}

int store_window_facts(struct store *st, struct store_window *w, const struct mail *const *mails,
		       guint n, struct errbuf *err)
{
	GString *arrays[6];
	int rc = SPOC_OK;

	if (w->facts != NULL)
		PQclear(w->facts);
	w->facts = NULL;
	g_hash_table_remove_all(w->fact_rows);
	if (n == 0)
		return SPOC_OK;
	for (guint k = 0; k < G_N_ELEMENTS(arrays); k++)
		arrays[k] = g_string_new("{");
	for (guint i = 0; i < n; i++) {
		g_autofree char *date = NULL;
		const char *keys[6];

		store_dup_keys(mails[i], &date, keys);
		for (guint k = 0; k < G_N_ELEMENTS(arrays); k++) {
			if (i > 0)
				g_string_append_c(arrays[k], ',');
			store_array_append_text(arrays[k], keys[k]);
		}
		g_hash_table_insert(w->fact_rows, (gpointer)mails[i], GUINT_TO_POINTER(i + 1));
	}
	for (guint k = 0; k < G_N_ELEMENTS(arrays); k++)
		g_string_append_c(arrays[k], '}');
	const char *p[] = {arrays[0]->str, arrays[1]->str, arrays[2]->str,
			   arrays[3]->str, arrays[4]->str, arrays[5]->str};
	/* each mail's row looked up on its own (LATERAL), through the indexes, in the window's
	 * order */
	w->facts = store_sql_run(
	    st, "duplicate check",
	    "SELECT f.n, d.id, d.ticket_id, d.display, a.agent_id, a.agent_name, a.agent_generation,"
	    " nextval((SELECT pg_get_serial_sequence('tickets', 'id'))::regclass)"
	    " FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[])"
	    "  WITH ORDINALITY AS f(sha, mid, csha, from_addr, sent, bsha, n)"
	    " LEFT JOIN LATERAL (" STORE_DUP_OF("f.sha", "f.mid", "f.csha", "f.from_addr", "f.sent",
					      "f.bsha") ") d ON true"
	    " LEFT JOIN LATERAL (" STORE_SENDER_AGENT("f.from_addr") " LIMIT 1) a ON true"
	    " ORDER BY f.n",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	for (guint k = 0; k < G_N_ELEMENTS(arrays); k++)
		g_string_free(arrays[k], TRUE);
	if (w->facts != NULL && PQntuples(w->facts) != (int)n) {
		rc = errbuf_set(err, SPOC_ETEMP, "duplicate check: %d rows for %u mails",
				PQntuples(w->facts), n);
		PQclear(w->facts);
		w->facts = NULL;
	}
	if (w->facts == NULL)
		g_hash_table_remove_all(w->fact_rows);
	return rc;
}

gboolean store_window_fact(struct store_window *w, const struct mail *m, PGresult **res_r,
			   int *row_r)
{
	guint row = GPOINTER_TO_UINT(g_hash_table_lookup(w->fact_rows, m));
	char *keys[3];
	gboolean seen = FALSE;

	if (w->facts == NULL || row == 0)
		return FALSE;
	keys_of(m, keys);
	for (guint k = 0; k < G_N_ELEMENTS(keys); k++) {
		seen = seen || (keys[k] != NULL && g_hash_table_contains(w->recorded, keys[k]));
		g_free(keys[k]);
	}
	if (seen)
		return FALSE;
	*res_r = w->facts;
	*row_r = (int)row - 1;
	return TRUE;
}

void store_window_recorded(struct store_window *w, const struct mail *m)
{
	char *keys[3];

	keys_of(m, keys);
	for (guint k = 0; k < G_N_ELEMENTS(keys); k++)
		if (keys[k] != NULL)
			g_hash_table_add(w->recorded, keys[k]);
}

int64_t store_window_ticket_id(struct store_window *w, const struct mail *m)
{
	guint row = GPOINTER_TO_UINT(g_hash_table_lookup(w->fact_rows, m));

	return w->facts != NULL && row > 0 ? store_sql_i64(w->facts, (int)row - 1, 7) : 0;
}
