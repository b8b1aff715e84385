/* What oauth2.c shares with the other oauth2_*.c files of net/ and nobody else sees: memory for
 * secrets, JSON member access, and the signed JWTs some grants present. */
#ifndef SPOC_OAUTH2_PRIV_H
#define SPOC_OAUTH2_PRIV_H

#include "oauth2.h"

#include <json-glib/json-glib.h>

/* A buffer of len + 1 bytes in its own mapping, excluded from core dumps; free with
 * oauth2_secret_free(). */
char *oauth2_secret_alloc(size_t len);
/* A NUL-terminated copy of len bytes of s in such a buffer. */
char *oauth2_secret_dup(const char *s, size_t len);
/* The string member name of obj, or NULL when absent or not a string; owned by obj. */
const char *oauth2_member_string(JsonObject *obj, const char *name);

/* Reports text to the notice function oauth2_set_notice() installed, if any (level: syslog). */
void oauth2_notice(int level, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

/* o (whose refresh token is a read-only credential) has just adopted the credential's token,
 * whose SHA-256 is origin: a token rotated from it and kept by the keeper, which the endpoint
 * takes instead, or NULL (none, no keeper, or it could not be read: said). Caller frees with
 * oauth2_secret_free(). */
char *oauth2_keeper_adopt(const struct spoc_oauth2_conf *o, const char *origin);
/* The server rotated o's read-only refresh token (descending from origin) into token: handed to
 * the keeper, and the log says where it went. */
void oauth2_keeper_rotated(const struct spoc_oauth2_conf *o, const char *origin, const char *token);

/* The assertion of grant = "jwt_bearer" (RFC 7523 2.1): signed by the service account's key.
 * Caller frees with oauth2_secret_free(); NULL with the reason in err (the key file named, never
 * its content). */
char *oauth2_jwt_service_account(const struct spoc_oauth2_conf *o, struct errbuf *err);
/* The client assertion (RFC 7523 2.2) of client credentials with a certificate, as Microsoft's
 * identity platform takes it: signed by client_key, naming the certificate by its thumbprints.
 * Same ownership and errors. */
char *oauth2_jwt_client_assertion(const struct spoc_oauth2_conf *o, struct errbuf *err);

#endif
