/* OAuth 2.0 access tokens for IMAP and SMTP logins (auth = "oauth2"), and the SASL messages that
 * carry them (XOAUTH2, OAUTHBEARER RFC 7628).
 *
 * Tokens are fetched over HTTPS (libcurl, certificate verified, proxies from the environment)
 * from the configured token endpoint with the client credentials or refresh token grant, and
 * kept in a process-wide cache keyed by endpoint, client, grant and scope, so mailboxes and the
 * notifier that share an app share its token, and a configuration reload keeps it. A token is
 * renewed a jittered margin before it expires; after a failed request the endpoint is left alone
 * for a growing delay (5 s doubling to 5 min), so a broken set-up never hammers it. A refresh
 * token the server rotates is written back atomically to its file, or, when that is a read-only
 * systemd credential, handed to the keeper (the database, sealed). Tokens and secrets live in
 * memory excluded from core dumps, and never appear in an error text. */
#ifndef SPOC_OAUTH2_H
#define SPOC_OAUTH2_H

#include "conf.h"
#include "conf_oauth.h"

/* An access token for ep (whose oauth2 is set). SPOC_OK with *token_r pointing into the cache
 * (valid until the next oauth2_* call; do not free) and *fresh_r TRUE when it was fetched by this
 * call; SPOC_ETEMP with the reason (endpoint, HTTP status, the server's error code) in err. */
int oauth2_token(const struct spoc_endpoint *ep, const char **token_r, gboolean *fresh_r,
		 struct errbuf *err);

/* The mail server refused the token oauth2_token() gave for ep: it is dropped, and the next
 * oauth2_token() asks the endpoint for a new one. */
void oauth2_token_refused(const struct spoc_endpoint *ep);

/* Where oauth2.c reports what is not an error of the call at hand but must be seen (a rotated
 * refresh token that could not be saved): level is a syslog priority. NULL: nowhere. */
void oauth2_set_notice(void (*fn)(int level, const char *text));

/* Told of every request to a token endpoint, for the metrics: token_url (no secret in it), ok, and
 * when ok the Unix time the new token expires. NULL: nobody. */
void oauth2_set_observer(void (*fn)(const char *token_url, gboolean ok, int64_t expires_unix));
/* The certificates and keys of c's oauth2 groups (client_certificate_file, client_key_file):
 * SPOC_OK when each key is an RSA key that belongs to its certificate and the certificate has not
 * expired; SPOC_EPERM with the setting and the reason in err otherwise. The configuration reader
 * cannot tell without GnuTLS: run it after conf_load(). */
int oauth2_conf_check(const struct spoc_conf *c, struct errbuf *err);

/* Forgets every cached token (wiped) and the back-off state. */
void oauth2_reset(void);

/* A token endpoint's answer, read by oauth2_answer_parse(). */
struct oauth2_answer {
	char *access;	    /* the access token; free with oauth2_secret_free() */
	char *refresh;	    /* a new refresh token when the server rotated it, else NULL; same */
	int64_t lifetime_s; /* expires_in, or a default when the server gave none */
};

/* Reads the answer (HTTP status and body) of the token endpoint url: SPOC_OK with a filled;
 * SPOC_ETEMP when it refused (its error code and description, made printable), is not a JSON
 * object, or holds no usable Bearer token, with the reason in err (never a token). Caller clears
 * a with oauth2_answer_clear() in both cases. */
int oauth2_answer_parse(const char *url, long status, const char *body, size_t len,
			struct oauth2_answer *a, struct errbuf *err);
void oauth2_answer_clear(struct oauth2_answer *a);

/* The device authorization grant (RFC 8628) that spocctl oauth login runs: a person opens
 * verification_uri, enters user_code and consents; meanwhile the client polls. */
struct oauth2_device {
	char *device_code; /* secret; free with oauth2_device_clear() */
	char *user_code;   /* printable, to show */
	char *verification_uri;
	char *verification_uri_complete; /* NULL unless the server gave one */
	int interval_s;			 /* between polls; slow_down adds 5 */
	int64_t expires_in_s;
};

/* Asks o's device endpoint for a code. SPOC_OK with d filled (clear with
 * oauth2_device_clear()); SPOC_EPERM when refused or not configured, SPOC_ETEMP when it could not
 * be reached, with the reason in err. */
int oauth2_device_start(const struct spoc_oauth2_conf *o, struct oauth2_device *d,
			struct errbuf *err);
/* One poll of the token endpoint. SPOC_OK: the person consented and the refresh token was
 * written to o's refresh_token_file. SPOC_ETEMP with *pending_r TRUE: wait d->interval_s and
 * poll again; otherwise (denied, expired, no refresh token, file not writable, endpoint
 * unreachable) the reason in err. */
int oauth2_device_poll(const struct spoc_oauth2_conf *o, struct oauth2_device *d,
		       gboolean *pending_r, struct errbuf *err);
void oauth2_device_clear(struct oauth2_device *d);

/* Writes token to o's refresh_token_file atomically (mode 0600). SPOC_OK or SPOC_EPERM. */
int oauth2_refresh_save(const struct spoc_oauth2_conf *o, const char *token, struct errbuf *err);

enum oauth2_mech {
	OAUTH2_XOAUTH2,
	OAUTH2_OAUTHBEARER,
};

/* "XOAUTH2" or "OAUTHBEARER". */
const char *oauth2_mech_name(enum oauth2_mech m);

/* The base64 initial client response of mech for user and token (OAUTHBEARER also names host and
 * port). Caller frees with oauth2_secret_free(): it holds the token. */
char *oauth2_sasl_response(enum oauth2_mech mech, const char *user, const char *host, unsigned port,
			   const char *token);

/* What the client answers to the server's error challenge: "" for XOAUTH2, base64 of %x01 for
 * OAUTHBEARER (RFC 7628 3.2.3). Static. */
const char *oauth2_sasl_abort(enum oauth2_mech mech);

/* The server's error challenge (base64 of a JSON object, RFC 7628 3.2.2) as one printable line,
 * "status=invalid_token scope=..." or a note that it could not be decoded. Caller frees. */
char *oauth2_sasl_error_text(const char *b64, size_t len);

/* ---- rotated refresh tokens kept in the database ---- */

/* Where a refresh token the server rotated goes when its file is a read-only systemd
 * credential, and where it is looked for when a process adopts the credential's token. label
 * names the token (endpoint, client, credential); origin is the SHA-256 (hex) of the
 * credential's token it descends from. */
struct oauth2_keeper {
	/* Keeps token for label. SPOC_OK, or an error with the reason in err. */
	int (*save)(const char *label, const char *origin, const char *token, struct errbuf *err);
	/* SPOC_OK with *token_r (free with oauth2_secret_free()) when a token descending from
	 * origin is kept for label; SPOC_OK with *token_r NULL when none is, *stale_r TRUE when one
	 * descending from another credential token is; an error with the reason in err. */
	int (*load)(const char *label, const char *origin, char **token_r, gboolean *stale_r,
		    struct errbuf *err);
};
/* Installs k (static, or NULL for none: a rotated token is then kept in memory only). */
void oauth2_set_keeper(const struct oauth2_keeper *k);

#define OAUTH2_SEAL_KEY 32
/* plain sealed with AES-256-GCM under key, with a fresh random nonce and ad as associated data:
 * nonce || ciphertext || tag. Caller unrefs; NULL with the reason in err. */
GBytes *oauth2_seal(const unsigned char key[OAUTH2_SEAL_KEY], const char *ad, const char *plain,
		    struct errbuf *err);
/* The text oauth2_seal() sealed, when key and ad are those it was sealed with and the bytes are
 * intact; else NULL. Caller frees with oauth2_secret_free(). */
char *oauth2_unseal(const unsigned char key[OAUTH2_SEAL_KEY], const char *ad, const void *sealed,
		    size_t len);

/* Wipes and frees a buffer oauth2.c handed out. NULL is fine. */
void oauth2_secret_free(char *s);

#endif
