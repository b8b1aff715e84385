/* The metrics' snapshot of the database: one statement of counts that each use an index (the
 * partial index of pending rows, (state, created_at), the partial index of open tickets), so
 * that the notifier can take it every minute whatever the size of the history. */
#include "store_metrics.h"

#include "store_priv.h"

#include <string.h>

int store_metrics_snapshot(struct store *st, struct metrics_snapshot *s, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(
	    st, "metrics snapshot",
	    "SELECT"
	    " (SELECT count(*) FROM outbox WHERE state = 'pending'),"
	    " (SELECT count(*) FROM outbox WHERE state = 'held'),"
	    " (SELECT count(*) FROM outbox WHERE state = 'failed'),"
	    " (SELECT coalesce(extract(epoch FROM now() - min(coalesce(retried_at, created_at))),"
	    "   0)::float8 FROM outbox WHERE state = 'pending' AND next_attempt_at <= now()),"
	    " (SELECT count(*) FROM tickets"
	    "   WHERE status IN ('new', 'in-progress')"
	    "   AND ((first_response_at IS NULL AND first_response_due < now())"
	    "     OR (resolved_at IS NULL AND resolution_due < now()))),"
	    " (SELECT count(*) FROM outbox WHERE state = 'sent' AND kind = 'sla-breach'),"
	    " (SELECT count(*) FROM tickets WHERE status IN ('new', 'in-progress', 'pending')"
	    "   AND paused_at IS NOT NULL)",
	    0, NULL, NULL, &rc, err);

	memset(s, 0, sizeof(*s));
	if (res == NULL)
		return rc;
	s->outbox_pending = store_sql_i64(res, 0, 0);
	s->outbox_held = store_sql_i64(res, 0, 1);
	s->outbox_failed = store_sql_i64(res, 0, 2);
	s->outbox_oldest_age_s = g_ascii_strtod(PQgetvalue(res, 0, 3), NULL);
	s->sla_breached_open = store_sql_i64(res, 0, 4);
	s->sla_notices_sent = store_sql_i64(res, 0, 5);
	s->sla_paused = store_sql_i64(res, 0, 6);
	PQclear(res);

	/* the ratings of the last 7 days, by the team of the ticket when it was rated */
	res = store_sql_run(st, "metrics snapshot",
			    "SELECT team, rating, count(*) FROM ticket_csat"
			    " WHERE rated_at >= now() - interval '7 days'"
			    " GROUP BY team, rating ORDER BY team, rating",
			    0, NULL, NULL, &rc, err);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *team = PQgetvalue(res, i, 0);
		int64_t rating = store_sql_i64(res, i, 1);
		struct metrics_csat *c = s->csat != NULL && s->csat->len > 0
					     ? g_ptr_array_index(s->csat, s->csat->len - 1)
					     : NULL;

		if (rating < 1 || rating > 5)
			continue;
		if (s->csat == NULL)
			s->csat = g_ptr_array_new();
		if (c == NULL || strcmp(c->team, team) != 0) {
			c = g_new0(struct metrics_csat, 1);
			c->team = g_strdup(team);
			g_ptr_array_add(s->csat, c);
		}
		c->count[rating - 1] = store_sql_i64(res, i, 2);
	}
	PQclear(res);
	return SPOC_OK;
}

void store_metrics_snapshot_clear(struct metrics_snapshot *s)
{
	for (guint i = 0; s->csat != NULL && i < s->csat->len; i++) {
		struct metrics_csat *c = g_ptr_array_index(s->csat, i);

		g_free(c->team);
		g_free(c);
	}
	g_clear_pointer(&s->csat, g_ptr_array_unref);
}
