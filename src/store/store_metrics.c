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
	return SPOC_OK;
}
