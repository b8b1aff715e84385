/* The outbox as the operator sees it: list the notifications, show one with what was sent, and
 * push one that failed or was held back to the notifier. Claiming and sending are the
 * notifier's (store_outbox.c). */
#include "store_admin.h"
#include "store_priv.h"

#include <string.h>

#define OUTBOX_DEFAULT_LIMIT 50

/* What an operator's retry leaves in last_error: the old reason, said to be old (a retry of a
 * retried row does not stack the words). */
#define OUTBOX_BEFORE_RETRY "before the retry: "

void outbox_entry_free(gpointer entry)
{
	struct outbox_entry *e = entry;

	if (e == NULL)
		return;
	g_free(e->kind);
	g_free(e->state);
	g_free(e->ticket_display);
	g_free(e->recipient);
	g_free(e->created_at);
	g_free(e->next_attempt_at);
	g_free(e->last_error);
	g_free(e->recipient_name);
	g_free(e->language);
	g_free(e->message_id);
	g_free(e->sent_at);
	g_free(e->retried_at);
	g_free(e->bounced_at);
	g_free(e->bounce_reason);
	g_free(e->detail);
	g_free(e->body);
	g_clear_pointer(&e->raw, g_bytes_unref);
	g_free(e);
}

static char *opt_value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : g_strdup(PQgetvalue(res, row, col));
}

/* a timestamptz column as ISO 8601 in UTC: "to_char(col " OUTBOX_UTC */
#define OUTBOX_UTC " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

#define OUTBOX_COLUMNS                                                                             \
	"o.id, o.kind, o.state, coalesce(t.display, ''), o.recipient, o.attempts,"                               \
	" to_char(o.created_at" OUTBOX_UTC ", to_char(o.next_attempt_at" OUTBOX_UTC                \
	", o.last_error"

/* Columns 0..8 of OUTBOX_COLUMNS -> a new entry. */
static struct outbox_entry *entry_from_row(PGresult *res, int row)
{
	struct outbox_entry *e = g_new0(struct outbox_entry, 1);

	e->id = store_sql_i64(res, row, 0);
	e->kind = g_strdup(PQgetvalue(res, row, 1));
	e->state = g_strdup(PQgetvalue(res, row, 2));
	e->ticket_display = g_strdup(PQgetvalue(res, row, 3));
	e->recipient = g_strdup(PQgetvalue(res, row, 4));
	e->attempts = (int)store_sql_i64(res, row, 5);
	e->created_at = g_strdup(PQgetvalue(res, row, 6));
	e->next_attempt_at = g_strdup(PQgetvalue(res, row, 7));
	e->last_error = g_strdup(PQgetvalue(res, row, 8));
	return e;
}

int store_outbox_list(struct store *st, const char *state, int limit, GPtrArray **rows_r,
		      struct errbuf *err)
{
	char lim[16];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(lim, sizeof(lim), "%d", limit > 0 ? limit : OUTBOX_DEFAULT_LIMIT);
	const char *p[] = {state, lim};
	res = store_sql_run(st, "outbox",
			    "SELECT " OUTBOX_COLUMNS
			    " FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id"
			    " WHERE $1::text IS NULL OR o.state = $1"
			    " ORDER BY o.created_at DESC, o.id DESC LIMIT $2::int",
			    G_N_ELEMENTS(p), p, NULL, &rc, err);
	*rows_r = NULL;
	if (res == NULL)
		return rc;
	*rows_r = g_ptr_array_new_with_free_func(outbox_entry_free);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(*rows_r, entry_from_row(res, i));
	PQclear(res);
	return SPOC_OK;
}

int store_outbox_show(struct store *st, int64_t id, struct outbox_entry **e_r, struct errbuf *err)
{
	char ids[24];
	int rc = SPOC_OK;
	PGresult *res;
	struct outbox_entry *e;

	*e_r = NULL;
	g_snprintf(ids, sizeof(ids), "%" G_GINT64_FORMAT, id);
	const char *p[] = {ids};
	/* what was sent is the outgoing message that carries the row's Message-ID */
	res = store_sql_run(st, "outbox",
			    "SELECT " OUTBOX_COLUMNS ", o.recipient_name, o.language, o.message_id,"
			    " to_char(o.sent_at" OUTBOX_UTC ", to_char(o.retried_at" OUTBOX_UTC ","
			    " to_char(o.bounced_at" OUTBOX_UTC ", o.bounce_reason, o.detail::text,"
			    " o.body, (SELECT m.raw FROM messages m WHERE m.direction = 'out'"
			    "  AND m.message_id = o.message_id AND m.ticket_id IS NOT DISTINCT FROM o.ticket_id"
			    "  ORDER BY m.id LIMIT 1)"
			    " FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id"
			    " WHERE o.id = $1::bigint",
			    1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return SPOC_OK;
	}
	e = entry_from_row(res, 0);
	e->recipient_name = opt_value(res, 0, 9);
	e->language = opt_value(res, 0, 10);
	e->message_id = opt_value(res, 0, 11);
	e->sent_at = opt_value(res, 0, 12);
	e->retried_at = opt_value(res, 0, 13);
	e->bounced_at = opt_value(res, 0, 14);
	e->bounce_reason = opt_value(res, 0, 15);
	e->detail = opt_value(res, 0, 16);
	e->body = opt_value(res, 0, 17);
	if (!PQgetisnull(res, 0, 18)) {
		size_t len = 0;
		unsigned char *raw =
		    PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 18), &len);

		if (raw == NULL) {
			PQclear(res);
			outbox_entry_free(e);
			return errbuf_set(err, SPOC_ETEMP,
					  "outbox %s: cannot decode the sent bytes", ids);
		}
		e->raw = g_bytes_new(raw, len);
		PQfreemem(raw);
	}
	PQclear(res);
	*e_r = e;
	return SPOC_OK;
}

int store_outbox_requeue(struct store *st, int64_t id, int *result_r, struct errbuf *err)
{
	char ids[24];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(ids, sizeof(ids), "%" G_GINT64_FORMAT, id);
	const char *p[] = {ids, OUTBOX_BEFORE_RETRY};
	/* The UPDATE waits while a notifier holds the row (it is sending it now) and then sees
	 * the row as that notifier left it: a row it sent meanwhile is not sent again. An
	 * existing row the UPDATE left alone is therefore a sent one. */
	res = store_sql_run(
	    st, "outbox retry",
	    "WITH u AS (UPDATE outbox SET state = 'pending', next_attempt_at = now(),"
	    "  attempts = 0, retried_at = now(),"
	    "  last_error = CASE WHEN last_error = '' THEN ''"
	    "   ELSE $2 || CASE WHEN starts_with(last_error, $2)"
	    "    THEN substr(last_error, length($2) + 1) ELSE last_error END END"
	    "  WHERE id = $1::bigint AND state IN ('pending', 'failed', 'held') RETURNING id)"
	    " SELECT (SELECT count(*) FROM u), EXISTS (SELECT 1 FROM outbox WHERE id = $1::bigint)",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	*result_r = OUTBOX_REQUEUE_NOT_FOUND;
	if (res == NULL)
		return rc;
	if (store_sql_i64(res, 0, 0) > 0)
		*result_r = OUTBOX_REQUEUE_DONE;
	else if (strcmp(PQgetvalue(res, 0, 1), "t") == 0)
		*result_r = OUTBOX_REQUEUE_ALREADY_SENT;
	PQclear(res);
	return SPOC_OK;
}
