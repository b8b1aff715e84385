/* Attachments as they leave the store: what the mails a batch of notices relays carried (their
 * metadata first, for the whole batch in one query, so the notifier chooses before any bytes
 * are read, then the bytes of each chosen one), and what spocctl lists and fetches. */
#include "store_admin.h"
#include "store_priv.h"

#include <string.h>

static char *opt_text(PGresult *res, int row, int col)
{
	return PQgetisnull(res, row, col) ? NULL : g_strdup(PQgetvalue(res, row, col));
}

void store_outbox_attachments_free(GPtrArray ***lists)
{
	if (lists == NULL || *lists == NULL)
		return;
	for (GPtrArray **l = *lists; *l != NULL; l++)
		g_ptr_array_unref(*l);
	g_free(*lists);
	*lists = NULL;
}

int store_outbox_attachments(struct store *st, const int64_t *outbox_ids, guint n,
			     GPtrArray ***lists_r, struct errbuf *err)
{
	GString *ids = g_string_new("{");
	int rc = SPOC_OK;
	PGresult *res;

	*lists_r = g_new0(GPtrArray *, n + 1);
	for (guint i = 0; i < n; i++) {
		(*lists_r)[i] = g_ptr_array_new_with_free_func(compose_attachment_free);
		g_string_append_printf(ids, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "", outbox_ids[i]);
	}
	g_string_append_c(ids, '}');
	const char *p[] = {ids->str};
	res = store_sql_run(st, "attachments",
			    "SELECT u.n, a.id, a.name, a.content_type, a.content_id,"
			    " a.disposition = 'inline', a.size"
			    " FROM unnest($1::bigint[]) WITH ORDINALITY AS u(id, n)"
			    " JOIN outbox o ON o.id = u.id"
			    " JOIN attachments a ON a.message_row = o.in_reply_to_message"
			    " WHERE coalesce(o.detail->>'attachments', '') <> 'withheld'"
			    " ORDER BY u.n, a.ordinal",
			    1, p, NULL, &rc, err);
	g_string_free(ids, TRUE);
	if (res == NULL) {
		store_outbox_attachments_free(lists_r);
		return rc;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t k = store_sql_i64(res, i, 0) - 1;
		struct compose_attachment *a;

		if (k < 0 || k >= (int64_t)n)
			continue;
		a = g_new0(struct compose_attachment, 1);
		a->id = store_sql_i64(res, i, 1);
		a->name = g_strdup(PQgetvalue(res, i, 2));
		a->content_type = g_strdup(PQgetvalue(res, i, 3));
		a->content_id = opt_text(res, i, 4);
		a->inline_ = strcmp(PQgetvalue(res, i, 5), "t") == 0;
		a->size = store_sql_i64(res, i, 6);
		g_ptr_array_add((*lists_r)[k], a);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_attachment_data(struct store *st, int64_t id, GBytes **data_r, struct errbuf *err)
{
	char aid[24], *what;
	int rc = SPOC_OK;
	PGresult *res;

	*data_r = NULL;
	g_snprintf(aid, sizeof(aid), "%" G_GINT64_FORMAT, id);
	const char *p[] = {aid};
	res = store_sql_run(st, "attachment bytes",
			    "SELECT b.data FROM attachments a JOIN blobs b ON b.sha256 = a.sha256"
			    " WHERE a.id = $1::bigint",
			    1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 1) {
		what = g_strdup_printf("attachment %s", aid);
		*data_r = store_sql_bytea(res, 0, 0, what, err);
		g_free(what);
		if (*data_r == NULL) {
			PQclear(res);
			return SPOC_ETEMP;
		}
	}
	PQclear(res);
	return SPOC_OK;
}

void attachment_info_free(gpointer info)
{
	struct attachment_info *a = info;

	if (a == NULL)
		return;
	g_free(a->ticket);
	g_free(a->direction);
	g_free(a->from_addr);
	g_free(a->stored_at);
	g_free(a->name);
	g_free(a->content_type);
	g_free(a->disposition);
	g_free(a->sha256);
	g_free(a);
}

#define ATTACHMENT_COLUMNS                                                                         \
	"a.id, a.message_row, t.display, m.direction, coalesce(m.from_addr, ''),"                  \
	" to_char(m.created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), a.name,"     \
	" a.content_type, a.size, a.disposition, a.sha256"                                         \
	" FROM attachments a JOIN messages m ON m.id = a.message_row"                              \
	" JOIN tickets t ON t.id = m.ticket_id"

static struct attachment_info *info_from_row(PGresult *res, int i)
{
	struct attachment_info *a = g_new0(struct attachment_info, 1);

	a->id = store_sql_i64(res, i, 0);
	a->message_row = store_sql_i64(res, i, 1);
	a->ticket = g_strdup(PQgetvalue(res, i, 2));
	a->direction = g_strdup(PQgetvalue(res, i, 3));
	a->from_addr = g_strdup(PQgetvalue(res, i, 4));
	a->stored_at = g_strdup(PQgetvalue(res, i, 5));
	a->name = g_strdup(PQgetvalue(res, i, 6));
	a->content_type = g_strdup(PQgetvalue(res, i, 7));
	a->size = store_sql_i64(res, i, 8);
	a->disposition = g_strdup(PQgetvalue(res, i, 9));
	a->sha256 = g_strdup(PQgetvalue(res, i, 10));
	return a;
}

int store_attachment_list(struct store *st, int64_t ticket, GPtrArray **list_r, struct errbuf *err)
{
	char tk[24];
	int rc = SPOC_OK;
	PGresult *res;

	*list_r = NULL;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket);
	const char *p[] = {tk};
	res = store_sql_run(st, "attachments",
			    "SELECT " ATTACHMENT_COLUMNS
			    " WHERE m.ticket_id = $1::bigint ORDER BY a.message_row, a.ordinal",
			    1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*list_r = g_ptr_array_new_with_free_func(attachment_info_free);
	for (int i = 0; i < PQntuples(res); i++)
		g_ptr_array_add(*list_r, info_from_row(res, i));
	PQclear(res);
	return SPOC_OK;
}

int store_attachment_get(struct store *st, int64_t id, struct attachment_info **info_r,
			 GBytes **data_r, struct errbuf *err)
{
	char aid[24];
	int rc = SPOC_OK;
	PGresult *res;

	*info_r = NULL;
	if (data_r != NULL)
		*data_r = NULL;
	g_snprintf(aid, sizeof(aid), "%" G_GINT64_FORMAT, id);
	const char *p[] = {aid};
	res =
	    store_sql_run(st, "attachment", "SELECT " ATTACHMENT_COLUMNS " WHERE a.id = $1::bigint",
			  1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 1)
		*info_r = info_from_row(res, 0);
	PQclear(res);
	if (*info_r == NULL || data_r == NULL)
		return SPOC_OK;
	if ((rc = store_attachment_data(st, id, data_r, err)) != SPOC_OK || *data_r == NULL) {
		attachment_info_free(*info_r);
		*info_r = NULL;
		return rc != SPOC_OK ? rc
				     : errbuf_set(err, SPOC_ETEMP,
						  "attachment %s: its bytes are missing", aid);
	}
	return SPOC_OK;
}
