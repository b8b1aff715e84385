/* The desk in numbers (spocctl stats) and what spocctl health judges: counts gathered in one
 * statement each, every one of them a scan of an index or of a table a desk keeps small. */
#include "store_admin.h"
#include "store_priv.h"

#include "csat.h"

#include <string.h>

const char *const stats_outcome_names[STATS_OUTCOMES] = {"ticket", "reply", "duplicate",
							 "automatic", "quarantined"};
const char *const stats_state_names[STATS_STATES] = {"pending", "sent", "failed", "held"};

#define OPEN_STATUSES "('new', 'in-progress', 'pending')"
/* open with the SLA clock running: a pending ticket waits for its requester, nothing is due */
#define CLOCK_STATUSES "('new', 'in-progress')"

/* The index of name in names, -1 when it is not there. */
static int index_of(const char *const *names, int n, const char *name)
{
	for (int i = 0; i < n; i++)
		if (strcmp(names[i], name) == 0)
			return i;
	return -1;
}

/* One (section, key, value) row of the stats statement into s. */
static void stats_put(struct desk_stats *s, const char *section, const char *key, int64_t v)
{
	int i;

	if (strcmp(section, "status") == 0) {
		if ((i = index_of(ticket_status_names, STATS_STATUSES, key)) >= 0)
			s->status[i] = v;
	} else if (strcmp(section, "open-incident") == 0 || strcmp(section, "open-request") == 0) {
		int k = strcmp(section, "open-incident") == 0 ? 0 : 1;
		int p = (int)g_ascii_strtoll(key, NULL, 10);

		if (p >= 1 && p <= 5)
			s->open[k][p - 1] = v;
	} else if (strcmp(section, "ingest") == 0) {
		if ((i = index_of(stats_outcome_names, STATS_OUTCOMES, key)) >= 0)
			s->ingested_24h[i] = v;
	} else if (strcmp(section, "outbox") == 0) {
		if ((i = index_of(stats_state_names, STATS_STATES, key)) >= 0)
			s->outbox[i] = v;
	} else if (strcmp(section, "n") == 0) {
		static const struct {
			const char *key;
			size_t offset;
		} scalars[] = {
		    {"created-today", G_STRUCT_OFFSET(struct desk_stats, created_today)},
		    {"created-7d", G_STRUCT_OFFSET(struct desk_stats, created_7d)},
		    {"sent-24h", G_STRUCT_OFFSET(struct desk_stats, sent_24h)},
		    {"outbox-due", G_STRUCT_OFFSET(struct desk_stats, outbox_due)},
		    {"quarantine", G_STRUCT_OFFSET(struct desk_stats, quarantine_waiting)},
		    {"breached-first-response",
		     G_STRUCT_OFFSET(struct desk_stats, breached_first_response)},
		    {"breached-resolution",
		     G_STRUCT_OFFSET(struct desk_stats, breached_resolution)},
		    {"responses-30d", G_STRUCT_OFFSET(struct desk_stats, responses_30d)},
		    {"mean-response-s", G_STRUCT_OFFSET(struct desk_stats, mean_response_s)},
		};

		for (size_t j = 0; j < G_N_ELEMENTS(scalars); j++)
			if (strcmp(key, scalars[j].key) == 0)
				G_STRUCT_MEMBER(int64_t, s, scalars[j].offset) = v;
	}
}

int store_stats(struct store *st, struct desk_stats *s, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res;

	memset(s, 0, sizeof(*s));
	s->mean_response_s = -1;
	/* One statement, one snapshot. A count that is 0 has no row: the struct starts at 0. */
	res = store_sql_run(
	    st, "stats",
	    "SELECT 'status', status, count(*) FROM tickets GROUP BY status"
	    " UNION ALL SELECT 'open-' || kind, priority::text, count(*) FROM tickets"
	    "  WHERE status IN " OPEN_STATUSES " GROUP BY kind, priority"
	    " UNION ALL SELECT 'n', 'created-today', count(*) FROM tickets"
	    "  WHERE created_at >= date_trunc('day', now())"
	    " UNION ALL SELECT 'n', 'created-7d', count(*) FROM tickets"
	    "  WHERE created_at >= now() - interval '7 days'"
	    " UNION ALL SELECT 'ingest', outcome, count(*) FROM ingest_log"
	    "  WHERE created_at >= now() - interval '24 hours' GROUP BY outcome"
	    " UNION ALL SELECT 'n', 'sent-24h', count(*) FROM outbox"
	    "  WHERE state = 'sent' AND sent_at >= now() - interval '24 hours'"
	    " UNION ALL SELECT 'outbox', state, count(*) FROM outbox GROUP BY state"
	    " UNION ALL SELECT 'n', 'outbox-due', count(*) FROM outbox"
	    "  WHERE state = 'pending' AND next_attempt_at <= now()"
	    " UNION ALL SELECT 'n', 'quarantine', count(*) FROM quarantine"
	    "  WHERE replayed_at IS NULL"
	    " UNION ALL SELECT 'n', 'breached-first-response', count(*) FROM tickets"
	    "  WHERE status IN " CLOCK_STATUSES
	    "  AND first_response_at IS NULL AND first_response_due < now()"
	    " UNION ALL SELECT 'n', 'breached-resolution', count(*) FROM tickets"
	    "  WHERE status IN " CLOCK_STATUSES
	    "  AND resolved_at IS NULL AND resolution_due < now()"
	    " UNION ALL SELECT 'n', 'responses-30d', count(*) FROM tickets"
	    "  WHERE first_response_at >= now() - interval '30 days'"
	    " UNION ALL SELECT 'n', 'mean-response-s',"
	    "  round(extract(epoch FROM avg(first_response_at - created_at)))::bigint FROM tickets"
	    "  WHERE first_response_at >= now() - interval '30 days'"
	    "  HAVING count(*) > 0",
	    0, NULL, NULL, &rc, err);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res); i++)
		stats_put(s, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
			  store_sql_i64(res, i, 2));
	PQclear(res);
	return SPOC_OK;
}

/* ---- satisfaction ---- */

static void csat_week_free(gpointer p)
{
	struct csat_week *w = p;

	g_free(w->team);
	g_free(w->week);
	g_free(w);
}

int store_csat_weeks(struct store *st, int weeks, GPtrArray **rows_r, struct errbuf *err)
{
	char n[16], satisfied[8];
	int rc = SPOC_OK;
	PGresult *res;

	*rows_r = NULL;
	g_snprintf(n, sizeof(n), "%d", weeks > 0 ? weeks - 1 : 0);
	g_snprintf(satisfied, sizeof(satisfied), "%d", CSAT_SATISFIED);
	const char *p[] = {n, satisfied};
	/* ISO weeks start on Monday, as date_trunc('week') does; in UTC, as the rest of the
	 * desk's records */
	res = store_sql_run(st, "csat",
			    "SELECT team, to_char(date_trunc('week', rated_at AT TIME ZONE 'UTC'),"
			    "  'IYYY-\"W\"IW') AS week, count(*), avg(rating)::float8,"
			    "  count(*) FILTER (WHERE rating >= $2::int)"
			    " FROM ticket_csat"
			    " WHERE rated_at >= (date_trunc('week', now() AT TIME ZONE 'UTC')"
			    "  - $1::int * interval '1 week') AT TIME ZONE 'UTC'"
			    " GROUP BY team, week ORDER BY week DESC, team",
			    G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*rows_r = g_ptr_array_new_with_free_func(csat_week_free);
	for (int i = 0; i < PQntuples(res); i++) {
		struct csat_week *w = g_new0(struct csat_week, 1);

		w->team = g_strdup(PQgetvalue(res, i, 0));
		w->week = g_strdup(PQgetvalue(res, i, 1));
		w->count = store_sql_i64(res, i, 2);
		w->average = g_ascii_strtod(PQgetvalue(res, i, 3), NULL);
		w->satisfied = store_sql_i64(res, i, 4);
		g_ptr_array_add(*rows_r, w);
	}
	PQclear(res);
	return SPOC_OK;
}

/* ---- health ---- */

static void health_row_free(gpointer p)
{
	struct mailbox_health_row *r = p;

	g_free(r->mailbox);
	g_free(r->last_ok_at);
	g_free(r->last_error);
	g_free(r->last_error_at);
	g_free(r);
}

void health_facts_clear(struct health_facts *h)
{
	g_clear_pointer(&h->mailboxes, g_ptr_array_unref);
	g_clear_pointer(&h->unhandled_first, g_free);
}

/* a timestamptz column as ISO 8601 in UTC: "to_char(col" UTC */
#define UTC " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"

/* How many tickets the health check names. */
#define HEALTH_FIRST_FEW "5"

int store_health(struct store *st, int stuck_after_s, int grace_s, struct health_facts *h,
		 struct errbuf *err)
{
	char stuck[16], grace[16];
	int rc = SPOC_OK;
	PGresult *res;

	memset(h, 0, sizeof(*h));
	res = store_sql_run(st, "mailbox health",
			    "SELECT mailbox, to_char(last_ok_at" UTC ","
			    " floor(extract(epoch FROM now() - last_ok_at))::bigint, last_error,"
			    " to_char(last_error_at" UTC " FROM mailbox_health ORDER BY mailbox",
			    0, NULL, NULL, &rc, err);
	if (res == NULL)
		return rc;
	h->mailboxes = g_ptr_array_new_with_free_func(health_row_free);
	for (int i = 0; i < PQntuples(res); i++) {
		struct mailbox_health_row *r = g_new0(struct mailbox_health_row, 1);

		r->mailbox = g_strdup(PQgetvalue(res, i, 0));
		r->last_ok_at = PQgetisnull(res, i, 1) ? NULL : g_strdup(PQgetvalue(res, i, 1));
		r->ok_age_s = PQgetisnull(res, i, 2) ? -1 : store_sql_i64(res, i, 2);
		r->last_error = g_strdup(PQgetvalue(res, i, 3));
		r->last_error_at = PQgetisnull(res, i, 4) ? NULL : g_strdup(PQgetvalue(res, i, 4));
		g_ptr_array_add(h->mailboxes, r);
	}
	PQclear(res);

	g_snprintf(stuck, sizeof(stuck), "%d", stuck_after_s);
	g_snprintf(grace, sizeof(grace), "%d", grace_s);
	const char *p[] = {stuck, grace};
	/* A breach is handled when its notice went out: the 'sla-breach' row of that target was
	 * sent for this due time or a later one (a due time recomputed later is a new breach). Each
	 * open ticket past a target by more than the grace counts once per target. */
	res = store_sql_run(
	    st, "health",
	    "WITH s AS (SELECT id,"
	    "  floor(extract(epoch FROM now() - next_attempt_at))::bigint AS age"
	    "  FROM outbox WHERE state = 'pending'"
	    "  AND next_attempt_at <= now() - $1::int * interval '1 second'),"
	    " b AS (SELECT t.id, t.display, x.target, x.due FROM tickets t"
	    "  CROSS JOIN LATERAL (VALUES"
	    "   ('first-response', CASE WHEN t.first_response_at IS NULL"
	    "    THEN t.first_response_due END),"
	    "   ('resolution', CASE WHEN t.resolved_at IS NULL THEN t.resolution_due END))"
	    "  AS x(target, due)"
	    "  WHERE t.status IN " CLOCK_STATUSES
	    "  AND x.due < now() - $2::int * interval '1 second'"
	    "  AND NOT EXISTS (SELECT 1 FROM outbox o WHERE o.ticket_id = t.id"
	    "   AND o.kind = 'sla-breach' AND o.state = 'sent' AND o.detail->>'target' = x.target"
	    "   AND (o.detail->>'due')::bigint >= floor(extract(epoch FROM x.due))::bigint))"
	    " SELECT (SELECT count(*) FROM s),"
	    "  (SELECT id FROM s ORDER BY age DESC, id LIMIT 1),"
	    "  (SELECT max(age) FROM s),"
	    "  (SELECT count(*) FROM b),"
	    "  (SELECT string_agg(display || ' ' || target, ', ' ORDER BY due, id)"
	    "   FROM (SELECT * FROM b ORDER BY due, id LIMIT " HEALTH_FIRST_FEW ") f)",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL) {
		health_facts_clear(h);
		return rc;
	}
	h->stuck = store_sql_i64(res, 0, 0);
	h->stuck_oldest_id = store_sql_i64(res, 0, 1);
	h->stuck_oldest_s = store_sql_i64(res, 0, 2);
	h->unhandled = store_sql_i64(res, 0, 3);
	h->unhandled_first = g_strdup(PQgetisnull(res, 0, 4) ? "" : PQgetvalue(res, 0, 4));
	PQclear(res);
	return SPOC_OK;
}
