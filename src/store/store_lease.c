/* Leases on singleton work (sql/026_leases.sql): taking, renewing and taking over in one
 * statement, the fencing check a write transaction makes before its COMMIT, and the release at a
 * clean stop. Every time is the database's now(), never this host's clock. */
#include "store_priv.h"

#include <string.h>

/* Sets l->other, l->other_fencing and l->other_node from (holder, fencing, node) at row 0 of
 * res, if any. */
static void note_other(struct store_lease *l, PGresult *res, int holder_col)
{
	gboolean any = res != NULL && PQntuples(res) > 0;

	g_strlcpy(l->other, any ? PQgetvalue(res, 0, holder_col) : "", sizeof(l->other));
	l->other_fencing = any ? store_sql_i64(res, 0, holder_col + 1) : 0;
	g_strlcpy(l->other_node, any ? PQgetvalue(res, 0, holder_col + 2) : "",
		  sizeof(l->other_node));
}

int store_lease_take(struct store *st, struct store_lease *l, struct errbuf *err)
{
	char secs[16];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(secs, sizeof(secs), "%d", l->seconds);
	const char *p[] = {l->name, l->holder, secs, l->node};
	/* ON CONFLICT ... WHERE is judged on the row's latest version, under its lock: of two
	 * instances taking an expired lease at once, one gets it, the other sees it held. The
	 * second half reports who holds it when the first took nothing. */
	res = store_sql_run(
	    st, "lease take",
	    "WITH took AS (INSERT INTO leases AS l (name, holder, node, expires_at)"
	    "  VALUES ($1, $2, $4, now() + $3::int * interval '1 second')"
	    "  ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder,"
	    "   node = EXCLUDED.node, expires_at = EXCLUDED.expires_at,"
	    "   fencing = l.fencing + CASE WHEN l.holder = EXCLUDED.holder THEN 0 ELSE 1 END,"
	    "   taken_at = CASE WHEN l.holder = EXCLUDED.holder THEN l.taken_at ELSE now() END"
	    "  WHERE l.holder = EXCLUDED.holder OR l.expires_at <= now()"
	    "  RETURNING fencing)"
	    " SELECT true, '', fencing, '' FROM took"
	    " UNION ALL SELECT false, holder, fencing, node FROM leases"
	    "  WHERE name = $1 AND NOT EXISTS (SELECT 1 FROM took)",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0 && PQgetvalue(res, 0, 0)[0] == 't') {
		l->fencing = store_sql_i64(res, 0, 2);
		note_other(l, NULL, 1);
	} else {
		l->fencing = 0;
		note_other(l, res, 1);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_lease_take_from_dead(struct store *st, struct store_lease *l, struct errbuf *err)
{
	char secs[16], fencing[24];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(secs, sizeof(secs), "%d", l->seconds);
	g_snprintf(fencing, sizeof(fencing), "%" G_GINT64_FORMAT, (gint64)l->other_fencing);
	const char *p[] = {l->name, l->holder, secs, l->node, l->other, fencing};
	res = store_sql_run(st, "lease take-over",
			    "UPDATE leases SET holder = $2, node = $4,"
			    "  expires_at = now() + $3::int * interval '1 second',"
			    "  fencing = fencing + 1, taken_at = now()"
			    " WHERE name = $1 AND holder = $5 AND fencing = $6::bigint"
			    " RETURNING fencing",
			    G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	l->fencing = PQntuples(res) == 1 ? store_sql_i64(res, 0, 0) : 0;
	PQclear(res);
	return SPOC_OK;
}

int store_lease_check(struct store *st, struct store_lease *l, gboolean *ours_r, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res;
	const char *p[] = {l->name};

	*ours_r = FALSE;
	res = store_sql_run(st, "lease check",
			    "SELECT holder, fencing, node FROM leases WHERE name = $1 FOR UPDATE",
			    1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*ours_r = l->fencing > 0 && PQntuples(res) == 1 &&
		  strcmp(PQgetvalue(res, 0, 0), l->holder) == 0 &&
		  store_sql_i64(res, 0, 1) == l->fencing;
	note_other(l, *ours_r ? NULL : res, 0);
	PQclear(res);
	return SPOC_OK;
}

int store_lease_release(struct store *st, struct store_lease *l, struct errbuf *err)
{
	char fencing[24];
	int rc;

	if (l->fencing == 0)
		return SPOC_OK;
	g_snprintf(fencing, sizeof(fencing), "%" G_GINT64_FORMAT, (gint64)l->fencing);
	const char *p[] = {l->name, l->holder, fencing};
	rc = store_sql_exec(st, "lease release",
			    "UPDATE leases SET expires_at = now()"
			    " WHERE name = $1 AND holder = $2 AND fencing = $3::bigint",
			    G_N_ELEMENTS(p), p, err);
	l->fencing = 0;
	return rc;
}
