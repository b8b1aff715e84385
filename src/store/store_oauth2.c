/* Refresh tokens rotated from read-only systemd credentials, as the database keeps them (sealed
 * by the caller; the store never sees them in clear). */
#include "store_priv.h"

int store_oauth2_token_put(struct store *st, const char *label, const char *origin, GBytes *sealed,
			   struct errbuf *err)
{
	gsize len = 0;
	const void *data = g_bytes_get_data(sealed, &len);
	const char *p[] = {label, origin, store_bytes_param(data, len)};
	const int lens[] = {0, 0, (int)len};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(
	    st, "oauth2_refresh_tokens",
	    "INSERT INTO spocd_private.oauth2_refresh_tokens (label, origin_sha256, sealed)"
	    " VALUES ($1, $2, $3::bytea) ON CONFLICT (label) DO UPDATE"
	    " SET origin_sha256 = $2, sealed = $3::bytea, updated_at = now()",
	    3, p, lens, &rc, err);

	if (res == NULL)
		return rc;
	PQclear(res);
	return SPOC_OK;
}

int store_oauth2_token_get(struct store *st, const char *label, char **origin_r, GBytes **sealed_r,
			   struct errbuf *err)
{
	const char *p[] = {label};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(st, "oauth2_refresh_tokens",
				      "SELECT origin_sha256, sealed"
				      " FROM spocd_private.oauth2_refresh_tokens WHERE label = $1",
				      1, p, NULL, &rc, err);

	*origin_r = NULL;
	*sealed_r = NULL;
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 1) {
		*sealed_r = store_sql_bytea(res, 0, 1, "oauth2_refresh_tokens", err);
		if (*sealed_r == NULL)
			rc = SPOC_ETEMP;
		else
			*origin_r = g_strdup(PQgetvalue(res, 0, 0));
	}
	PQclear(res);
	return rc;
}
