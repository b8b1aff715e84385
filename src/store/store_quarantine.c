/* The quarantine as the operator sees it: list, show and the bookkeeping of a replay. Storing a
 * message into the quarantine is part of ingest (store_ingest.c). */
#include "store_priv.h"

#include <string.h>

void quarantine_entry_free(gpointer entry)
{
	struct quarantine_entry *e = entry;

	if (e == NULL)
		return;
	g_free(e->mailbox);
	g_free(e->reason);
	g_free(e->category);
	g_free(e->created_at);
	g_free(e->replayed_at);
	g_free(e->replay_outcome);
	g_free(e->replay_ticket);
	g_free(e->replay_error);
	g_free(e->raw_sha256);
	g_clear_pointer(&e->raw, g_bytes_unref);
	g_free(e);
}

static char *opt_value(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : g_strdup(PQgetvalue(res, row, col));
}

/* The columns of QUARANTINE_COLUMNS -> a new entry (raw left NULL). */
static struct quarantine_entry *entry_from_row(PGresult *res, int row)
{
	struct quarantine_entry *e = g_new0(struct quarantine_entry, 1);

	e->id = store_sql_i64(res, row, 0);
	e->mailbox = opt_value(res, row, 1);
	e->uidvalidity = store_sql_i64(res, row, 2);
	e->uid = store_sql_i64(res, row, 3);
	e->reason = opt_value(res, row, 4);
	e->created_at = opt_value(res, row, 5);
	e->replayed_at = opt_value(res, row, 6);
	e->replay_outcome = opt_value(res, row, 7);
	e->replay_ticket = opt_value(res, row, 8);
	e->replay_error = opt_value(res, row, 9);
	e->raw_sha256 = opt_value(res, row, 10);
	e->size = store_sql_i64(res, row, 11);
	e->category = opt_value(res, row, 12);
	return e;
}

#define QUARANTINE_COLUMNS                                                                         \
	"q.id, q.mailbox, q.uidvalidity, q.uid, q.reason,"                                         \
	" to_char(q.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"             \
	" to_char(q.replayed_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"            \
	" q.replay_outcome, t.display, q.replay_error, q.raw_sha256, length(q.raw), q.category"

int store_quarantine_list(struct store *st, gboolean all, const char *category,
			  GPtrArray **entries_r, struct errbuf *err)
{
	const char *p[] = {all ? "t" : "f", category};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(st, "quarantine",
				      "SELECT " QUARANTINE_COLUMNS " FROM quarantine q"
				      " LEFT JOIN tickets t ON t.id = q.replay_ticket_id"
				      " WHERE ($1::boolean OR q.replayed_at IS NULL)"
				      "  AND ($2::text IS NULL OR q.category = $2) ORDER BY q.id",
				      2, p, NULL, &rc, err);

	*entries_r = NULL;
	if (res == NULL)
		return rc;
	*entries_r = g_ptr_array_new_with_free_func(quarantine_entry_free);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(*entries_r, entry_from_row(res, i));
	PQclear(res);
	return SPOC_OK;
}

int store_quarantine_get(struct store *st, int64_t id, gboolean lock,
			 struct quarantine_entry **entry_r, struct errbuf *err)
{
	char ids[24];
	int rc = SPOC_OK;
	PGresult *res;

	*entry_r = NULL;
	g_snprintf(ids, sizeof(ids), "%" G_GINT64_FORMAT, id);
	const char *p[] = {ids};
	/* Lock first, read after: a read that waited for the lock in the same statement would
	 * see the entry as its holder left it but not the ticket that holder created. */
	if (lock &&
	    (rc = store_sql_exec(st, "quarantine",
				 "SELECT 1 FROM quarantine WHERE id = $1::bigint FOR UPDATE", 1, p,
				 err)) != SPOC_OK)
		return rc;
	res = store_sql_run(st, "quarantine",
			    "SELECT " QUARANTINE_COLUMNS ", q.raw FROM quarantine q"
			    " LEFT JOIN tickets t ON t.id = q.replay_ticket_id"
			    " WHERE q.id = $1::bigint",
			    1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0) {
		size_t len = 0;
		unsigned char *raw =
		    PQunescapeBytea((const unsigned char *)PQgetvalue(res, 0, 13), &len);

		if (raw == NULL) {
			PQclear(res);
			return errbuf_set(err, SPOC_ETEMP, "quarantine %s: cannot decode raw bytes",
					  ids);
		}
		*entry_r = entry_from_row(res, 0);
		(*entry_r)->raw = g_bytes_new(raw, len);
		PQfreemem(raw);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_quarantine_replayed(struct store *st, const struct quarantine_entry *e,
			      const struct ingest_result *res, int64_t message_row,
			      struct errbuf *err)
{
	char id[24], uv[24], uid[24], tk[24], mr[24];
	char *detail = g_strdup_printf("replayed from quarantine %" G_GINT64_FORMAT, e->id);
	int rc;

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, e->id);
	g_snprintf(uv, sizeof(uv), "%" G_GINT64_FORMAT, e->uidvalidity);
	g_snprintf(uid, sizeof(uid), "%" G_GINT64_FORMAT, e->uid);
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, res->ticket_id);
	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, message_row);
	const char *p[] = {id,
			   store_outcome_name(res->outcome),
			   res->ticket_id != 0 ? tk : NULL,
			   message_row != 0 ? mr : NULL,
			   e->mailbox,
			   uv,
			   uid,
			   detail};
	rc = store_sql_exec(st, "quarantine",
			    "WITH q AS (UPDATE quarantine SET replayed_at = now(),"
			    "  replay_outcome = $2, replay_ticket_id = $3::bigint,"
			    "  replay_message_row = $4::bigint, replay_error = NULL"
			    "  WHERE id = $1::bigint RETURNING id)"
			    " UPDATE ingest_log SET outcome = $2, ticket_id = $3::bigint,"
			    "  message_row = $4::bigint, detail = detail || '; ' || $8"
			    " WHERE mailbox = $5 AND uidvalidity = $6::bigint AND uid = $7::bigint"
			    "  AND EXISTS (SELECT 1 FROM q)",
			    G_N_ELEMENTS(p), p, err);
	g_free(detail);
	return rc;
}

int store_quarantine_replay_failed(struct store *st, int64_t id, const char *reason,
				   struct errbuf *err)
{
	char ids[24];

	g_snprintf(ids, sizeof(ids), "%" G_GINT64_FORMAT, id);
	const char *p[] = {ids, reason};
	return store_sql_exec(st, "quarantine",
			      "UPDATE quarantine SET replay_error = $2 WHERE id = $1::bigint", 2, p,
			      err);
}
