/* The SQL of the SLA watcher (sla_watch.c): which open tickets still have a target whose breach
 * has not gone out, and the notice itself. A notice is recorded and queued by one statement: the
 * INSERT into sla_notices ... ON CONFLICT DO NOTHING decides whether it goes out, and the outbox
 * rows are made from what that INSERT returned, so a second spocd doing the same at the same
 * moment waits for the first one's commit, finds the key taken, and queues nothing. */
#include "store_priv.h"

#include "store_sla.h"

#include <string.h>

int store_sla_candidates(struct store *st, int64_t after_id, int limit, GArray **tickets_r,
			 struct errbuf *err)
{
	char after[24], lim[16];
	int rc = SPOC_OK;
	PGresult *res;

	*tickets_r = NULL;
	g_snprintf(after, sizeof(after), "%" G_GINT64_FORMAT, after_id);
	g_snprintf(lim, sizeof(lim), "%d", limit);
	const char *p[] = {after, lim};
	/* A target whose breach is recorded has nothing more to say: only the others are read, so
	 * tickets long past both targets cost one look at sla_notices each. A notice recorded for
	 * a due time later than the ticket's (recomputed earlier since) still speaks for it; one
	 * for an earlier due time (the ticket was given more time) does not. A pending ticket
	 * waits for its requester: its clock is stopped, nothing is due. */
	res = store_sql_run(
	    st, "sla_notices",
	    "SELECT t.id, t.priority, t.kind, (extract(epoch FROM t.created_at) * 1000000)::bigint,"
	    "  CASE WHEN t.first_response_at IS NULL"
	    "   THEN (extract(epoch FROM t.first_response_due) * 1000000)::bigint END,"
	    "  CASE WHEN t.resolved_at IS NULL"
	    "   THEN (extract(epoch FROM t.resolution_due) * 1000000)::bigint END,"
	    "  n.fw, n.fb, n.rw, n.rb, t.paused_minutes"
	    " FROM tickets t CROSS JOIN LATERAL (SELECT"
	    "   coalesce(bool_or(target = 'first-response' AND level = 'warning'"
	    "     AND due >= t.first_response_due), false) AS fw,"
	    "   coalesce(bool_or(target = 'first-response' AND level = 'breach'"
	    "     AND due >= t.first_response_due), false) AS fb,"
	    "   coalesce(bool_or(target = 'resolution' AND level = 'warning'"
	    "     AND due >= t.resolution_due), false) AS rw,"
	    "   coalesce(bool_or(target = 'resolution' AND level = 'breach'"
	    "     AND due >= t.resolution_due), false) AS rb"
	    "   FROM sla_notices WHERE ticket_id = t.id) n"
	    " WHERE t.id > $1::bigint AND t.status IN ('new', 'in-progress')"
	    "  AND ((t.first_response_at IS NULL AND t.first_response_due IS NOT NULL AND NOT n.fb)"
	    "   OR (t.resolved_at IS NULL AND t.resolution_due IS NOT NULL AND NOT n.rb))"
	    " ORDER BY t.id LIMIT $2::int",
	    2, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*tickets_r =
	    g_array_sized_new(FALSE, TRUE, sizeof(struct sla_watch_ticket), (guint)PQntuples(res));
	for (int i = 0; i < PQntuples(res); i++) {
		struct sla_watch_ticket t = {
		    .id = store_sql_i64(res, i, 0),
		    .priority = (int)store_sql_i64(res, i, 1),
		    .kind = strcmp(PQgetvalue(res, i, 2), "request") == 0 ? SPOC_KIND_REQUEST
									  : SPOC_KIND_INCIDENT,
		    .created_us = store_sql_i64(res, i, 3),
		    .due_us = {store_sql_i64(res, i, 4), store_sql_i64(res, i, 5)},
		    .warned = {strcmp(PQgetvalue(res, i, 6), "t") == 0,
			       strcmp(PQgetvalue(res, i, 8), "t") == 0},
		    .breach_noted = {strcmp(PQgetvalue(res, i, 7), "t") == 0,
				     strcmp(PQgetvalue(res, i, 9), "t") == 0},
		    .paused_minutes = (int)store_sql_i64(res, i, 10),
		};

		g_array_append_val(*tickets_r, t);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_sla_notice(struct store *st, const struct sla_watch_notice *n, unsigned *rows_r,
		     struct errbuf *err)
{
	char tk[24], due[24], share[8];
	char *notify = n->notify != NULL ? g_strjoinv("\n", (char **)n->notify) : g_strdup("");
	int rc = SPOC_OK;
	PGresult *res;

	*rows_r = 0;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, n->ticket_id);
	g_snprintf(due, sizeof(due), "%" G_GINT64_FORMAT, n->due_us);
	g_snprintf(share, sizeof(share), "%d", n->share);
	const char *p[] = {tk,
			   sla_watch_target_name(n->target),
			   n->level == SLA_WATCH_BREACH ? "breach" : "warning",
			   due,
			   n->language,
			   notify,
			   share};
	/* The ticket row is held FOR SHARE and checked again: an agent's answer or resolution, a
	 * pause or a recomputed due time committed since the candidates were read stops the
	 * notice, and one in flight is waited for. Recipients: the active assignee; else the active
	 * agents of the ticket's team; else sla.notify (an address that is an agent's gets their
	 * name and token); else every active agent. */
	res = store_sql_run(
	    st, "sla_notices",
	    "WITH t AS (SELECT id, assignee_id, team FROM tickets WHERE id = $1::bigint"
	    "   AND status IN ('new', 'in-progress')"
	    "   AND CASE $2::text WHEN 'first-response' THEN first_response_at IS NULL"
	    "    AND first_response_due = timestamptz 'epoch'"
	    "     + $4::bigint * interval '1 microsecond'"
	    "    ELSE resolved_at IS NULL"
	    "    AND resolution_due = timestamptz 'epoch'"
	    "     + $4::bigint * interval '1 microsecond'"
	    "    END FOR SHARE),"
	    " assignee AS (SELECT a.id, a.address, a.name FROM t"
	    "   JOIN agents a ON a.id = t.assignee_id AND a.active),"
	    " team AS (SELECT a.id, a.address, a.name FROM t"
	    "   JOIN agents a ON t.team <> '' AND a.team = t.team AND a.active"
	    "  WHERE NOT EXISTS (SELECT 1 FROM assignee)),"
	    " listed AS (SELECT a.id, l.address, coalesce(a.name, '') AS name"
	    "  FROM (SELECT DISTINCT lower(x) AS address"
	    "   FROM unnest(string_to_array(nullif($6, ''), E'\\n')) AS x) l"
	    "  LEFT JOIN agents a ON a.address = l.address AND a.active"
	    "  WHERE NOT EXISTS (SELECT 1 FROM assignee) AND NOT EXISTS (SELECT 1 FROM team)),"
	    " everyone AS (SELECT a.id, a.address, a.name FROM agents a WHERE a.active"
	    "  AND NOT EXISTS (SELECT 1 FROM assignee) AND NOT EXISTS (SELECT 1 FROM team)"
	    "  AND NOT EXISTS (SELECT 1 FROM listed)),"
	    " r AS (SELECT * FROM assignee UNION ALL SELECT * FROM team"
	    "  UNION ALL SELECT * FROM listed UNION ALL SELECT * FROM everyone),"
	    " n AS (INSERT INTO sla_notices (ticket_id, target, level, due)"
	    "  SELECT t.id, $2::text, $3::text,"
	    "   timestamptz 'epoch' + $4::bigint * interval '1 microsecond'"
	    "  FROM t WHERE EXISTS (SELECT 1 FROM r)"
	    "  ON CONFLICT DO NOTHING RETURNING ticket_id)"
	    " INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient, recipient_name,"
	    "  language, message_id, state, detail, agent_id)"
	    " SELECT 'sla-' || $3::text, n.ticket_id,"
	    "  (SELECT min(m.id) FROM messages m WHERE m.ticket_id = n.ticket_id"
	    "    AND m.direction = 'in'),"
	    "  r.address, r.name, $5, NULL, 'pending',"
	    "  jsonb_build_object('target', $2::text, 'due', $4::bigint / 1000000,"
	    "   'share', $7::int), r.id"
	    " FROM n CROSS JOIN r ORDER BY r.address RETURNING id",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	g_free(notify);
	if (res == NULL)
		return rc;
	*rows_r = (unsigned)PQntuples(res);
	PQclear(res);
	return SPOC_OK;
}

int store_sla_policy_set(struct store *st, const char *policy_json, int *recomputed_r,
			 struct errbuf *err)
{
	const char *p[] = {policy_json};
	int rc = SPOC_OK;
	PGresult *res;

	if (recomputed_r != NULL)
		*recomputed_r = -1;
	/* one statement: its own transaction, the function takes the lock */
	res = store_sql_run(st, "sla_policy", "SELECT sla_policy_set($1::jsonb)", 1, p, NULL, &rc,
			    err);
	if (res == NULL)
		return rc;
	if (recomputed_r != NULL)
		*recomputed_r = (int)store_sql_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}
