/* Refresh tokens rotated from a read-only systemd credential: handed to the keeper spocd
 * installs (the database, core/oauth_keep.c) and taken back from it when a process adopts the
 * credential's token, with a log line saying where the token lives. And the sealing that keeps
 * them there: AES-256-GCM (GnuTLS), a fresh random 96-bit nonce for every seal, and associated
 * data that binds the sealed bytes to the row they are written to, so a row copied over another
 * does not open. The sealed form is nonce || ciphertext || tag; the key comes from the caller. */
#include "oauth2_priv.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <string.h>
#include <syslog.h>

#define SEAL_NONCE 12
#define SEAL_TAG   16

static const struct oauth2_keeper *keeper;

void oauth2_set_keeper(const struct oauth2_keeper *k)
{
	keeper = k;
}

/* What names o's refresh token where the keeper keeps it: the endpoint, the client and the
 * credential's name (not its directory, which systemd may move). Caller frees. */
static char *keeper_label(const struct spoc_oauth2_conf *o)
{
	char *cred = g_path_get_basename(o->refresh_token_file);
	char *label = g_strdup_printf("%s %s %s", o->token_url,
				      o->client_id != NULL ? o->client_id : "", cred);

	g_free(cred);
	return label;
}

char *oauth2_keeper_adopt(const struct spoc_oauth2_conf *o, const char *origin)
{
	struct errbuf why = {{0}};
	char *label, *kept = NULL;
	gboolean stale = FALSE;

	if (keeper == NULL)
		return NULL;
	label = keeper_label(o);
	if (keeper->load(label, origin, &kept, &stale, &why) != SPOC_OK) {
		oauth2_notice(
		    LOG_WARNING,
		    "oauth2 %s: the refresh token rotated from credential %s cannot be read "
		    "from the database (%s): trying the credential's",
		    o->token_url, o->refresh_token_file, why.msg);
	} else if (kept != NULL) {
		oauth2_notice(
		    LOG_NOTICE,
		    "oauth2 %s: using the refresh token kept in the database (rotated from "
		    "the one in credential %s)",
		    o->token_url, o->refresh_token_file);
	} else if (stale) {
		oauth2_notice(
		    LOG_NOTICE,
		    "oauth2 %s: credential %s holds a new refresh token: it replaces the one "
		    "kept in the database",
		    o->token_url, o->refresh_token_file);
	}
	g_free(label);
	return kept;
}

/* A rotated token of a read-only credential goes to the keeper (the database), and the log
 * says where it is. */
void oauth2_keeper_rotated(const struct spoc_oauth2_conf *o, const char *origin, const char *token)
{
	struct errbuf why = {{0}};
	char *label;

	if (keeper == NULL) {
		oauth2_notice(
		    LOG_WARNING,
		    "oauth2 %s: the server rotated the refresh token, but %s is a systemd "
		    "credential (read-only): the new one is kept in memory only, and after a "
		    "restart the old one may be refused; use refresh_token_file to keep it",
		    o->token_url, o->refresh_token_file);
		return;
	}
	label = keeper_label(o);
	if (keeper->save(label, origin, token, &why) != SPOC_OK)
		oauth2_notice(
		    LOG_WARNING,
		    "oauth2 %s: the server rotated the refresh token, but %s is a systemd "
		    "credential (read-only) and the database could not keep the new one (%s): "
		    "it is kept in memory only, and after a restart the old one may be refused",
		    o->token_url, o->refresh_token_file, why.msg);
	else
		oauth2_notice(
		    LOG_INFO,
		    "oauth2 %s: the server rotated the refresh token; %s is a systemd "
		    "credential (read-only), so the new one is kept in the database, encrypted "
		    "(spocd_private.oauth2_refresh_tokens)",
		    o->token_url, o->refresh_token_file);
	g_free(label);
}

GBytes *oauth2_seal(const unsigned char key[OAUTH2_SEAL_KEY], const char *ad, const char *plain,
		    struct errbuf *err)
{
	gnutls_datum_t k = {(unsigned char *)(uintptr_t)key, OAUTH2_SEAL_KEY};
	gnutls_aead_cipher_hd_t h = NULL;
	size_t plen = strlen(plain), out_len = plen + SEAL_TAG;
	unsigned char *buf = g_malloc(SEAL_NONCE + out_len);
	int r;

	if ((r = gnutls_rnd(GNUTLS_RND_RANDOM, buf, SEAL_NONCE)) < 0 ||
	    (r = gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &k)) < 0 ||
	    (r = gnutls_aead_cipher_encrypt(h, buf, SEAL_NONCE, ad, strlen(ad), SEAL_TAG, plain,
					    plen, buf + SEAL_NONCE, &out_len)) < 0) {
		if (h != NULL)
			gnutls_aead_cipher_deinit(h);
		g_free(buf);
		errbuf_set(err, SPOC_ETEMP, "sealing with AES-256-GCM: %s", gnutls_strerror(r));
		return NULL;
	}
	gnutls_aead_cipher_deinit(h);
	return g_bytes_new_take(buf, SEAL_NONCE + out_len);
}

char *oauth2_unseal(const unsigned char key[OAUTH2_SEAL_KEY], const char *ad, const void *sealed,
		    size_t len)
{
	gnutls_datum_t k = {(unsigned char *)(uintptr_t)key, OAUTH2_SEAL_KEY};
	gnutls_aead_cipher_hd_t h = NULL;
	const unsigned char *in = sealed;
	size_t out_len;
	char *out;
	int r;

	if (len <= SEAL_NONCE + SEAL_TAG)
		return NULL;
	out_len = len - SEAL_NONCE;
	out = oauth2_secret_alloc(out_len);
	if (gnutls_aead_cipher_init(&h, GNUTLS_CIPHER_AES_256_GCM, &k) < 0)
		r = -1;
	else
		r = gnutls_aead_cipher_decrypt(h, in, SEAL_NONCE, ad, strlen(ad), SEAL_TAG,
					       in + SEAL_NONCE, len - SEAL_NONCE, out, &out_len);
	if (h != NULL)
		gnutls_aead_cipher_deinit(h);
	if (r < 0 || memchr(out, '\0', out_len) != NULL) {
		oauth2_secret_free(out);
		return NULL;
	}
	out[out_len] = '\0';
	return out;
}
