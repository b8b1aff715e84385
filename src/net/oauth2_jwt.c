/* The signed JWTs (RFC 7519) some token requests present instead of a client secret, signed with
 * GnuTLS: a Google service account's assertion for grant = "jwt_bearer" (RFC 7523 2.1, RS256),
 * and the client assertion of client credentials with a certificate (RFC 7523 2.2), as
 * Microsoft's identity platform documents it ("certificate credentials"): PS256, the
 * certificate named by its SHA-256 thumbprint (x5t#S256) and, for servers that still look for it,
 * its SHA-1 one (x5t); aud the token endpoint, iss = sub the client id, a random jti, valid ten
 * minutes. Also the check that a configured key is an RSA key matching its certificate, so
 * --check-config refuses a mismatch before any request is made. Keys never reach an error
 * text. */
#include "oauth2_priv.h"

#include <gnutls/abstract.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <string.h>

/* A client assertion lives this long (Microsoft: "5-10 minutes after nbf at most"). */
#define CLIENT_ASSERTION_LIFETIME_S 600

/* base64url without padding (RFC 7515 2) of len bytes; caller frees. */
static char *b64url(const void *data, size_t len)
{
	char *b = g_base64_encode(data, len);
	size_t n = strlen(b);

	while (n > 0 && b[n - 1] == '=')
		b[--n] = '\0';
	g_strdelimit(b, "+", '-');
	g_strdelimit(b, "/", '_');
	return b;
}

/* A JSON object of string members (NULL-terminated name, value pairs; a NULL value is left
 * out) and, when iat > 0, the integer members iat and exp (and nbf = iat when nbf), as
 * base64url. Caller frees. */
static char *b64url_json(gint64 iat, gint64 exp, gboolean nbf, const char *const *pairs)
{
	JsonBuilder *b = json_builder_new();
	JsonGenerator *g = json_generator_new();
	JsonNode *root;
	gsize len = 0;
	char *text, *out;

	json_builder_begin_object(b);
	for (size_t i = 0; pairs[i] != NULL; i += 2)
		if (pairs[i + 1] != NULL) {
			json_builder_set_member_name(b, pairs[i]);
			json_builder_add_string_value(b, pairs[i + 1]);
		}
	if (iat > 0) {
		json_builder_set_member_name(b, "iat");
		json_builder_add_int_value(b, iat);
		if (nbf) {
			json_builder_set_member_name(b, "nbf");
			json_builder_add_int_value(b, iat);
		}
		json_builder_set_member_name(b, "exp");
		json_builder_add_int_value(b, exp);
	}
	json_builder_end_object(b);
	root = json_builder_get_root(b);
	json_generator_set_root(g, root);
	text = json_generator_to_data(g, &len);
	out = b64url(text, len);
	g_free(text);
	json_node_unref(root);
	g_object_unref(g);
	g_object_unref(b);
	return out;
}

/* head.claims.signature, signed by pk with alg. Caller frees with oauth2_secret_free(); NULL
 * with the reason in err, whose is the key's name for it. */
static char *jwt_sign(gnutls_privkey_t pk, gnutls_sign_algorithm_t alg, const char *head,
		      const char *claims, const char *whose, struct errbuf *err)
{
	char *input = g_strconcat(head, ".", claims, NULL), *s64, *jwt;
	gnutls_datum_t data = {(unsigned char *)input, (unsigned)strlen(input)}, sig = {NULL, 0};
	size_t cap;
	int r;

	if ((r = gnutls_privkey_sign_data2(pk, alg, 0, &data, &sig)) < 0) {
		errbuf_set(err, SPOC_ETEMP, "oauth2: signing with %s: %s", whose,
			   gnutls_strerror(r));
		g_free(input);
		return NULL;
	}
	s64 = b64url(sig.data, sig.size);
	gnutls_free(sig.data);
	cap = strlen(input) + strlen(s64) + 2;
	jwt = oauth2_secret_alloc(cap);
	g_snprintf(jwt, cap, "%s.%s", input, s64);
	g_free(input);
	g_free(s64);
	return jwt;
}

/* An RSA private key from PEM (PKCS#1 or PKCS#8). SPOC_OK with *pk_r (caller deinits), else
 * SPOC_EPERM with the reason in err, naming whose. */
static int load_key(const char *pem, const char *whose, gnutls_privkey_t *pk_r, struct errbuf *err)
{
	gnutls_datum_t d = {(unsigned char *)(uintptr_t)pem, (unsigned)strlen(pem)};
	int r;

	*pk_r = NULL;
	if ((r = gnutls_privkey_init(pk_r)) < 0 ||
	    (r = gnutls_privkey_import_x509_raw(*pk_r, &d, GNUTLS_X509_FMT_PEM, NULL, 0)) < 0) {
		if (*pk_r != NULL)
			gnutls_privkey_deinit(*pk_r);
		*pk_r = NULL;
		return errbuf_set(err, SPOC_EPERM, "%s cannot be read as a PEM private key: %s",
				  whose, gnutls_strerror(r));
	}
	if (gnutls_privkey_get_pk_algorithm(*pk_r, NULL) != GNUTLS_PK_RSA) {
		gnutls_privkey_deinit(*pk_r);
		*pk_r = NULL;
		return errbuf_set(err, SPOC_EPERM,
				  "%s is not an RSA key (RS256 and PS256 need one)", whose);
	}
	return SPOC_OK;
}

char *oauth2_jwt_service_account(const struct spoc_oauth2_conf *o, struct errbuf *err)
{
	JsonParser *parser = json_parser_new();
	JsonNode *root;
	JsonObject *key;
	const char *email = NULL, *pem = NULL, *kid = NULL;
	gnutls_privkey_t pk = NULL;
	char *head = NULL, *claims = NULL, *jwt = NULL, *whose = NULL;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (o->service_account_key == NULL ||
	    !json_parser_load_from_data(parser, o->service_account_key, -1, NULL) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		errbuf_set(err, SPOC_ETEMP, "oauth2: service account key %s is not a JSON object",
			   o->service_account_file);
		goto out;
	}
	key = json_node_get_object(root);
	email = oauth2_member_string(key, "client_email");
	pem = oauth2_member_string(key, "private_key");
	kid = oauth2_member_string(key, "private_key_id");
	if (email == NULL || *email == '\0' || pem == NULL) {
		errbuf_set(err, SPOC_ETEMP,
			   "oauth2: service account key %s has no client_email or private_key",
			   o->service_account_file);
		goto out;
	}
	whose =
	    g_strdup_printf("the private_key of service account key %s", o->service_account_file);
	if (load_key(pem, whose, &pk, err) != SPOC_OK) {
		errbuf_prefix(err, SPOC_ETEMP, "oauth2");
		goto out;
	}
	head = b64url_json(0, 0, FALSE,
			   (const char *const[]){"alg", "RS256", "typ", "JWT", "kid", kid, NULL});
	claims = b64url_json(now, now + 3600, FALSE,
			     (const char *const[]){"iss", email, "sub", o->subject, "aud",
						   o->token_url, "scope", o->scope, NULL});
	jwt = jwt_sign(pk, GNUTLS_SIGN_RSA_SHA256, head, claims, whose, err);
out:
	if (pk != NULL)
		gnutls_privkey_deinit(pk);
	g_free(whose);
	g_free(head);
	g_free(claims);
	g_object_unref(parser);
	return jwt;
}

/* The certificate (PEM) of client_certificate_file: SPOC_OK with *crt_r (caller deinits), else
 * SPOC_EPERM with the reason in err. */
static int load_certificate(const struct spoc_oauth2_conf *o, gnutls_x509_crt_t *crt_r,
			    struct errbuf *err)
{
	gnutls_datum_t d = {(unsigned char *)o->client_certificate,
			    (unsigned)strlen(o->client_certificate)};
	int r;

	*crt_r = NULL;
	if ((r = gnutls_x509_crt_init(crt_r)) < 0 ||
	    (r = gnutls_x509_crt_import(*crt_r, &d, GNUTLS_X509_FMT_PEM)) < 0) {
		if (*crt_r != NULL)
			gnutls_x509_crt_deinit(*crt_r);
		*crt_r = NULL;
		return errbuf_set(err, SPOC_EPERM,
				  "client_certificate_file %s is not a PEM certificate: %s",
				  o->client_certificate_file, gnutls_strerror(r));
	}
	return SPOC_OK;
}

/* base64url of the hash alg of the certificate's DER encoding (its thumbprint); caller frees. */
static char *thumbprint(gnutls_x509_crt_t crt, gnutls_digest_algorithm_t alg)
{
	unsigned char buf[64];
	size_t len = sizeof(buf);

	if (gnutls_x509_crt_get_fingerprint(crt, alg, buf, &len) < 0)
		return NULL;
	return b64url(buf, len);
}

/* SPOC_OK when key pk is the one whose public half crt holds, else SPOC_EPERM with why. */
static int key_matches(const struct spoc_oauth2_conf *o, gnutls_privkey_t pk, gnutls_x509_crt_t crt,
		       struct errbuf *err)
{
	gnutls_pubkey_t from_key = NULL, from_crt = NULL;
	unsigned char id1[64], id2[64];
	size_t l1 = sizeof(id1), l2 = sizeof(id2);
	gboolean same = FALSE;

	if (gnutls_pubkey_init(&from_key) >= 0 && gnutls_pubkey_init(&from_crt) >= 0 &&
	    gnutls_pubkey_import_privkey(from_key, pk, 0, 0) >= 0 &&
	    gnutls_pubkey_import_x509(from_crt, crt, 0) >= 0 &&
	    gnutls_pubkey_get_key_id(from_key, GNUTLS_KEYID_USE_SHA256, id1, &l1) >= 0 &&
	    gnutls_pubkey_get_key_id(from_crt, GNUTLS_KEYID_USE_SHA256, id2, &l2) >= 0)
		same = l1 == l2 && memcmp(id1, id2, l1) == 0;
	if (from_key != NULL)
		gnutls_pubkey_deinit(from_key);
	if (from_crt != NULL)
		gnutls_pubkey_deinit(from_crt);
	if (!same)
		return errbuf_set(err, SPOC_EPERM,
				  "%s is not the private key of the certificate in %s (another "
				  "key pair: use the key the certificate was made with)",
				  o->client_key_file, o->client_certificate_file);
	return SPOC_OK;
}

/* The certificate and key of o, checked: readable, RSA, a pair, the certificate in its validity
 * period. SPOC_OK with *crt_r and *pk_r (caller deinits both), else SPOC_EPERM with why and in
 * *setting_r the setting at fault (o->certificate_setting or o->key_setting). */
static int load_pair(const struct spoc_oauth2_conf *o, gnutls_x509_crt_t *crt_r,
		     gnutls_privkey_t *pk_r, const char **setting_r, struct errbuf *err)
{
	time_t now = time(NULL);
	char *whose = g_strdup_printf("client key %s", o->client_key_file);
	int rc;

	*pk_r = NULL;
	*setting_r = o->certificate_setting;
	if ((rc = load_certificate(o, crt_r, err)) != SPOC_OK) {
		/* the certificate's fault */
	} else if ((*setting_r = o->key_setting, rc = load_key(o->client_key, whose, pk_r, err)) !=
		       SPOC_OK ||
		   (rc = key_matches(o, *pk_r, *crt_r, err)) != SPOC_OK) {
		/* the key's */
	} else if (*setting_r = o->certificate_setting,
		   gnutls_x509_crt_get_expiration_time(*crt_r) < now) {
		GDateTime *t =
		    g_date_time_new_from_unix_utc(gnutls_x509_crt_get_expiration_time(*crt_r));
		char *when = g_date_time_format_iso8601(t);

		rc = errbuf_set(err, SPOC_EPERM,
				"the certificate in %s expired on %s: make a new one and upload it "
				"to the app registration",
				o->client_certificate_file, when);
		g_free(when);
		g_date_time_unref(t);
	}
	g_free(whose);
	if (rc != SPOC_OK) {
		if (*pk_r != NULL)
			gnutls_privkey_deinit(*pk_r);
		if (*crt_r != NULL)
			gnutls_x509_crt_deinit(*crt_r);
		*pk_r = NULL;
		*crt_r = NULL;
	}
	return rc;
}

char *oauth2_jwt_client_assertion(const struct spoc_oauth2_conf *o, struct errbuf *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_privkey_t pk = NULL;
	char *head, *claims, *jwt, *x5t, *x5t256, *jti, *whose;
	const char *setting;
	gint64 now = g_get_real_time() / G_USEC_PER_SEC;

	if (load_pair(o, &crt, &pk, &setting, err) != SPOC_OK) {
		errbuf_prefix(err, SPOC_ETEMP, "oauth2 %s", o->token_url);
		return NULL;
	}
	x5t = thumbprint(crt, GNUTLS_DIG_SHA1);
	x5t256 = thumbprint(crt, GNUTLS_DIG_SHA256);
	jti = g_uuid_string_random();
	head = b64url_json(0, 0, FALSE,
			   (const char *const[]){"alg", "PS256", "typ", "JWT", "x5t#S256", x5t256,
						 "x5t", x5t, NULL});
	claims = b64url_json(now, now + CLIENT_ASSERTION_LIFETIME_S, TRUE,
			     (const char *const[]){"aud", o->token_url, "iss", o->client_id, "sub",
						   o->client_id, "jti", jti, NULL});
	whose = g_strdup_printf("client key %s", o->client_key_file);
	/* PS256 is RSASSA-PSS with SHA-256 and a salt as long as the hash (RFC 7518 3.5), which
	 * is what GnuTLS uses */
	jwt = jwt_sign(pk, GNUTLS_SIGN_RSA_PSS_SHA256, head, claims, whose, err);
	g_free(whose);
	g_free(head);
	g_free(claims);
	g_free(jti);
	g_free(x5t);
	g_free(x5t256);
	gnutls_privkey_deinit(pk);
	gnutls_x509_crt_deinit(crt);
	return jwt;
}

/* One endpoint's oauth2 group: SPOC_OK, or SPOC_EPERM with the key's setting named. */
static int check_one(const struct spoc_oauth2_conf *o, struct errbuf *err)
{
	gnutls_x509_crt_t crt = NULL;
	gnutls_privkey_t pk = NULL;
	const char *setting;

	if (o == NULL || o->client_key == NULL || o->client_certificate == NULL)
		return SPOC_OK;
	if (load_pair(o, &crt, &pk, &setting, err) != SPOC_OK)
		return errbuf_prefix(err, SPOC_EPERM, "%s", setting);
	gnutls_privkey_deinit(pk);
	gnutls_x509_crt_deinit(crt);
	return SPOC_OK;
}

int oauth2_conf_check(const struct spoc_conf *c, struct errbuf *err)
{
	for (size_t i = 0; c->mailboxes != NULL && c->mailboxes[i] != NULL; i++)
		if (check_one(c->mailboxes[i]->ep.oauth2, err) != SPOC_OK)
			return SPOC_EPERM;
	return check_one(c->smtp.ep.oauth2, err);
}
