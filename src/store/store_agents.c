/* The agents table as spocctl manages it. An agent is never deleted, only disabled: the audit
 * trail and old assignments keep naming them. */
#include "store_priv.h"

#include <string.h>

void agent_free(gpointer agent)
{
	struct agent *a = agent;

	if (a == NULL)
		return;
	g_free(a->address);
	g_free(a->name);
	g_free(a->team);
	g_free(a);
}

int store_agent_add(struct store *st, const char *address, const char *name, const char *team,
		    gboolean *created_r, struct errbuf *err)
{
	const char *p[] = {address, name != NULL ? name : "", team != NULL ? team : ""};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(
	    st, "agents",
	    "INSERT INTO agents (address, name, team) VALUES (lower($1), $2, $3)"
	    " ON CONFLICT (address) DO UPDATE SET name = CASE WHEN $2 = '' THEN agents.name"
	    "  ELSE $2 END, team = CASE WHEN $3 = '' THEN agents.team ELSE $3 END, active = true"
	    " RETURNING (xmax = 0)",
	    3, p, NULL, &rc, err);

	if (res == NULL)
		return rc;
	*created_r = strcmp(PQgetvalue(res, 0, 0), "t") == 0;
	PQclear(res);
	return SPOC_OK;
}

int store_agent_list(struct store *st, gboolean all, GPtrArray **agents_r, struct errbuf *err)
{
	const char *p[] = {all ? "t" : "f"};
	int rc = SPOC_OK;
	PGresult *res =
	    store_sql_run(st, "agents",
			  "SELECT a.id, a.address, a.name, a.team, a.active,"
			  " (SELECT count(*) FROM tickets t WHERE t.assignee_id = a.id"
			  "   AND t.status NOT IN ('resolved', 'closed'))"
			  " FROM agents a WHERE $1::boolean OR a.active ORDER BY a.address",
			  1, p, NULL, &rc, err);

	*agents_r = NULL;
	if (res == NULL)
		return rc;
	*agents_r = g_ptr_array_new_with_free_func(agent_free);
	for (int i = 0; i < PQntuples(res); i++) {
		struct agent *a = g_new0(struct agent, 1);

		a->id = store_sql_i64(res, i, 0);
		a->address = g_strdup(PQgetvalue(res, i, 1));
		a->name = g_strdup(PQgetvalue(res, i, 2));
		a->team = g_strdup(PQgetvalue(res, i, 3));
		a->active = strcmp(PQgetvalue(res, i, 4), "t") == 0;
		a->open_tickets = store_sql_i64(res, i, 5);
		g_ptr_array_add(*agents_r, a);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_agent_disable(struct store *st, const char *address, gboolean revoke, gboolean *found_r,
			struct errbuf *err)
{
	const char *p[] = {address};
	int rc = SPOC_OK;
	/* revoking bumps the generation the agent's reply tokens carry: each one issued before
	 * stops proving anything (the column's CHECK stops it at 999999, the most a token holds) */
	PGresult *res = store_sql_run(
	    st, "agents",
	    revoke ? "UPDATE agents SET token_generation = token_generation + 1"
		     " WHERE address = lower($1) RETURNING id"
		   : "UPDATE agents SET active = false WHERE address = lower($1) RETURNING id",
	    1, p, NULL, &rc, err);

	if (res == NULL)
		return rc;
	*found_r = PQntuples(res) > 0;
	PQclear(res);
	return SPOC_OK;
}

void address_state_free(gpointer p)
{
	struct address_state *a = p;

	g_free(a->address);
	g_free(a->last_bounce_at);
	g_free(a->last_reason);
	g_free(a);
}

int store_address_list(struct store *st, gboolean all, GPtrArray **list_r, struct errbuf *err)
{
	const char *p[] = {all ? "t" : "f"};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(
	    st, "address_status",
	    "SELECT s.address, s.bouncing, s.bounces,"
	    " coalesce(to_char(s.last_bounce_at AT TIME ZONE 'UTC',"
	    "  'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'), ''), s.last_reason,"
	    " (SELECT count(*) FROM outbox o WHERE o.state = 'held'"
	    "  AND lower(o.recipient) = s.address)"
	    " FROM address_status s WHERE $1::boolean OR s.bouncing ORDER BY s.address",
	    1, p, NULL, &rc, err);

	*list_r = NULL;
	if (res == NULL)
		return rc;
	*list_r = g_ptr_array_new_with_free_func(address_state_free);
	for (int i = 0; i < PQntuples(res); i++) {
		struct address_state *a = g_new0(struct address_state, 1);

		a->address = g_strdup(PQgetvalue(res, i, 0));
		a->bouncing = strcmp(PQgetvalue(res, i, 1), "t") == 0;
		a->bounces = store_sql_i64(res, i, 2);
		a->last_bounce_at = g_strdup(PQgetvalue(res, i, 3));
		a->last_reason = g_strdup(PQgetvalue(res, i, 4));
		a->held = store_sql_i64(res, i, 5);
		g_ptr_array_add(*list_r, a);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_address_clear(struct store *st, const char *address, int64_t *released_r,
			gboolean *found_r, struct errbuf *err)
{
	const char *p[] = {address};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(
	    st, "address_status",
	    "WITH c AS (UPDATE address_status SET bouncing = false"
	    "  WHERE address = lower($1) AND bouncing RETURNING address),"
	    " r AS (UPDATE outbox SET next_attempt_at = now() WHERE state = 'held'"
	    "  AND lower(recipient) IN (SELECT address FROM c) RETURNING 1)"
	    " SELECT (SELECT count(*) FROM c), (SELECT count(*) FROM r)",
	    1, p, NULL, &rc, err);

	if (res == NULL)
		return rc;
	*found_r = store_sql_i64(res, 0, 0) > 0;
	*released_r = store_sql_i64(res, 0, 1);
	PQclear(res);
	return SPOC_OK;
}
