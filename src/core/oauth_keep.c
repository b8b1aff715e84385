/* Refresh tokens rotated from a read-only systemd credential, kept in the database: sealed with
 * AES-256-GCM (net/oauth2_keep.c) under a key derived from the HMAC key family of Message-IDs and
 * reply tokens (keys.c), the label as associated data. The current key seals; every key of the
 * family is tried to open, so adding a new secret in front does not lose the token. Each use
 * opens its own connection: it happens once per token lifetime, and never borrows one that is
 * in the middle of a mailbox's transaction. */
#include "oauth_keep.h"

#include "keys.h"
#include "oauth2.h"

#include <string.h>

static struct spoc_conf *const *keep_conf;

/* The sealing key of one secret of the family: HMAC-SHA256(secret, purpose). */
static void derive(GBytes *secret, unsigned char key[OAUTH2_SEAL_KEY])
{
	static const char purpose[] = "spocd oauth2 refresh token seal v1";
	gsize len = 0, out = OAUTH2_SEAL_KEY;
	const guchar *s = g_bytes_get_data(secret, &len);
	GHmac *h = g_hmac_new(G_CHECKSUM_SHA256, s, len);

	g_hmac_update(h, (const guchar *)purpose, sizeof(purpose) - 1);
	g_hmac_get_digest(h, key, &out);
	g_hmac_unref(h);
}

/* The database and the key family: SPOC_OK with both (caller closes and frees), else why. */
static int open_keys(struct store **st_r, struct thread_keys **keys_r, struct errbuf *err)
{
	*keys_r = NULL;
	if (store_open_bounded((*keep_conf)->database_conninfo, !(*keep_conf)->database_pooled,
			       (*keep_conf)->database_timeout_s, st_r, err) != SPOC_OK)
		return SPOC_ETEMP;
	if (keys_load(*keep_conf, *st_r, keys_r, err) != SPOC_OK) {
		store_close(st_r);
		return SPOC_ETEMP;
	}
	return SPOC_OK;
}

static int keep_save(const char *label, const char *origin, const char *token, struct errbuf *err)
{
	struct store *st = NULL;
	struct thread_keys *keys = NULL;
	unsigned char key[OAUTH2_SEAL_KEY];
	GBytes *sealed;
	int rc;

	if ((rc = open_keys(&st, &keys, err)) != SPOC_OK)
		return rc;
	derive(g_ptr_array_index(keys->secrets, 0), key);
	sealed = oauth2_seal(key, label, token, err);
	explicit_bzero(key, sizeof(key));
	rc = sealed == NULL ? SPOC_ETEMP : store_oauth2_token_put(st, label, origin, sealed, err);
	if (sealed != NULL)
		g_bytes_unref(sealed);
	thread_keys_free(&keys);
	store_close(&st);
	return rc;
}

static int keep_load(const char *label, const char *origin, char **token_r, gboolean *stale_r,
		     struct errbuf *err)
{
	struct store *st = NULL;
	struct thread_keys *keys = NULL;
	unsigned char key[OAUTH2_SEAL_KEY];
	char *row_origin = NULL;
	GBytes *sealed = NULL;
	int rc;

	*token_r = NULL;
	*stale_r = FALSE;
	if ((rc = open_keys(&st, &keys, err)) != SPOC_OK)
		return rc;
	rc = store_oauth2_token_get(st, label, &row_origin, &sealed, err);
	if (rc == SPOC_OK && sealed != NULL && strcmp(row_origin, origin) != 0) {
		*stale_r = TRUE;
	} else if (rc == SPOC_OK && sealed != NULL) {
		gsize len = 0;
		const void *data = g_bytes_get_data(sealed, &len);

		for (guint i = 0; i < keys->secrets->len && *token_r == NULL; i++) {
			derive(g_ptr_array_index(keys->secrets, i), key);
			*token_r = oauth2_unseal(key, label, data, len);
		}
		explicit_bzero(key, sizeof(key));
		if (*token_r == NULL)
			rc = errbuf_set(err, SPOC_EPERM,
					"its row does not open with any key of the threading "
					"secrets (changed, or the row altered)");
	}
	g_free(row_origin);
	if (sealed != NULL)
		g_bytes_unref(sealed);
	thread_keys_free(&keys);
	store_close(&st);
	return rc;
}

void oauth_keep_install(struct spoc_conf *const *conf)
{
	static const struct oauth2_keeper keeper = {keep_save, keep_load};

	keep_conf = conf;
	oauth2_set_keeper(&keeper);
}
