/* OAuth 2.0 access tokens (RFC 6749) for IMAP and SMTP logins, and the SASL messages carrying
 * them: XOAUTH2 (Google's and Microsoft's) and OAUTHBEARER (RFC 7628).
 *
 * A token request is one HTTPS POST with libcurl: certificate and host name verified (the
 * configured ca_file or the system store), https only, no redirects, a timeout for the whole
 * request, proxies from the environment (https_proxy, no_proxy) as libcurl reads them. The
 * answer is parsed with json-glib. Everything that holds a secret (the form, the answer, the
 * cached tokens, the SASL responses) sits in its own mapping excluded from core dumps
 * (MADV_DONTDUMP) and is wiped before it is unmapped; no secret is ever copied into an error.
 *
 * The cache is process-wide (spocd is one thread): one entry per token endpoint, client, grant,
 * scope and refresh token file. A token is used until a margin before its expiry (a fifth of its
 * lifetime, at most five minutes, plus up to half as much again at random so that several
 * processes do not renew at the same second); a failed request makes the endpoint wait 5 s,
 * doubling to 5 minutes, before the next one. */
#include "oauth2.h"
#include "oauth2_priv.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <json-glib/json-glib.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

/* Longest answer read from a token endpoint, and longest token kept. */
#define OAUTH2_MAX_ANSWER    (64 * 1024)
#define OAUTH2_MAX_TOKEN     (16 * 1024)
#define OAUTH2_BACKOFF_MIN_S 5
#define OAUTH2_BACKOFF_MAX_S 300
/* expires_in missing from an answer (RFC 6749 makes it optional): assume this */
#define OAUTH2_DEFAULT_LIFETIME_S 600

static void wipe_free(char *s)
{
	if (s != NULL) {
		explicit_bzero(s, strlen(s));
		g_free(s);
	}
}

/* ---- the cache ---- */

struct entry {
	char *access;	 /* oauth2_secret_alloc(); NULL: none */
	char *refresh;	 /* oauth2_secret_alloc(); the newest refresh token (rotations included) */
	char origin[65]; /* SHA-256 of the refresh token the configuration gave when adopted */
	char secret[65]; /* SHA-256 of the client secret (or certificate key) last used */
	gint64 renew_at; /* monotonic µs: fetch a new one from then on */
	gint64 expires_at; /* monotonic µs: the server's expiry of access */
	gint64 retry_at;   /* monotonic µs: after a failure, no request before */
	int backoff_s;	   /* the next delay after a failure */
	char last_error[400];
};

static GHashTable *cache; /* key (g_free) -> struct entry * */

static void entry_free(gpointer p)
{
	struct entry *e = p;

	oauth2_secret_free(e->access);
	oauth2_secret_free(e->refresh);
	explicit_bzero(e, sizeof(*e));
	g_free(e);
}

void oauth2_reset(void)
{
	g_clear_pointer(&cache, g_hash_table_unref);
}

static char *cache_key(const struct spoc_oauth2_conf *o)
{
	return g_strdup_printf("%s\n%s\n%d\n%s\n%s\n%s\n%s", o->token_url,
			       o->client_id != NULL ? o->client_id : "", (int)o->grant,
			       o->scope != NULL ? o->scope : "",
			       o->refresh_token_file != NULL ? o->refresh_token_file : "",
			       o->service_account_file != NULL ? o->service_account_file : "",
			       o->subject != NULL ? o->subject : "");
}

static struct entry *entry_of(const struct spoc_oauth2_conf *o)
{
	char *key = cache_key(o);
	struct entry *e;

	if (cache == NULL)
		cache = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, entry_free);
	e = g_hash_table_lookup(cache, key);
	if (e == NULL) {
		e = g_new0(struct entry, 1);
		g_hash_table_insert(cache, key, e);
	} else {
		g_free(key);
	}
	/* A refresh token the configuration now gives that differs from the one last adopted
	 * was put there by a person (a new consent): it replaces ours. One we rotated and
	 * could not save leaves the file as it was, and ours stays. */
	if (o->refresh_token != NULL) {
		char sum[65];

		spoc_sha256_hex(o->refresh_token, strlen(o->refresh_token), sum);
		if (strcmp(sum, e->origin) != 0) {
			oauth2_secret_free(e->refresh);
			e->refresh = oauth2_secret_dup(o->refresh_token, strlen(o->refresh_token));
			memcpy(e->origin, sum, sizeof(sum));
			e->retry_at = 0; /* a new token is worth a try at once */
			e->backoff_s = 0;
			if (o->refresh_token_read_only) {
				char *kept = oauth2_keeper_adopt(o, e->origin);

				if (kept != NULL) {
					oauth2_secret_free(e->refresh);
					e->refresh = kept;
				}
			}
		}
	}
	/* so is a new client secret or key (the old one expired, or was refused) */
	{
		char sum[65];
		const char *secret = o->client_secret != NULL ? o->client_secret
				     : o->client_key != NULL  ? o->client_key
							      : "";

		spoc_sha256_hex(secret, strlen(secret), sum);
		if (strcmp(sum, e->secret) != 0) {
			memcpy(e->secret, sum, sizeof(sum));
			e->retry_at = 0;
			e->backoff_s = 0;
		}
	}
	return e;
}

void oauth2_token_refused(const struct spoc_endpoint *ep)
{
	struct entry *e;

	if (ep->oauth2 == NULL)
		return;
	e = entry_of(ep->oauth2);
	g_clear_pointer(&e->access, oauth2_secret_free);
	e->renew_at = e->expires_at = 0;
	/* a refusal is no failure of the endpoint: the new token is asked for at once */
	e->retry_at = 0;
}

/* ---- the request ---- */

struct answer {
	char *buf; /* oauth2_secret_alloc(OAUTH2_MAX_ANSWER) */
	size_t len;
	gboolean overflow;
};

static size_t on_data(char *data, size_t size, size_t n, void *ctx)
{
	struct answer *a = ctx;
	size_t len = size * n;

	if (len > OAUTH2_MAX_ANSWER - a->len) {
		a->overflow = TRUE;
		return 0; /* libcurl stops with CURLE_WRITE_ERROR */
	}
	memcpy(a->buf + a->len, data, len);
	a->len += len;
	a->buf[a->len] = '\0';
	return len;
}

/* Appends name=value (value percent-encoded, application/x-www-form-urlencoded) to form, which
 * has room for cap bytes. FALSE when it does not fit. */
static gboolean form_add(char *form, size_t cap, size_t *len, const char *name, const char *value)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t n = *len;

	if (n > 0) {
		if (n + 1 >= cap)
			return FALSE;
		form[n++] = '&';
	}
	for (const char *p = name; *p != '\0'; p++) {
		if (n + 1 >= cap)
			return FALSE;
		form[n++] = *p;
	}
	if (n + 1 >= cap)
		return FALSE;
	form[n++] = '=';
	for (const unsigned char *p = (const unsigned char *)value; *p != '\0'; p++) {
		if (n + 3 >= cap)
			return FALSE;
		if (g_ascii_isalnum(*p) || strchr("-._~", *p) != NULL) {
			form[n++] = (char)*p;
		} else {
			form[n++] = '%';
			form[n++] = hex[*p >> 4];
			form[n++] = hex[*p & 15];
		}
	}
	form[n] = '\0';
	*len = n;
	return TRUE;
}

/* A text from a stranger's server made fit for one log line: printable ASCII, at most max
 * bytes. Caller frees. */
static char *printable(const char *s, size_t max)
{
	GString *out = g_string_new(NULL);

	for (const char *p = s; p != NULL && *p != '\0' && out->len < max; p++)
		g_string_append_c(out, (*p >= 0x20 && *p < 0x7f) ? *p : '?');
	if (s != NULL && strlen(s) > max)
		g_string_append(out, "...");
	return g_string_free(out, FALSE);
}

/* expires_in as a number of seconds: a JSON number or, as some servers send, a string of
 * digits; -1 when absent or nonsense; at most G_MAXINT32. */
static gint64 member_seconds(JsonObject *obj, const char *name)
{
	JsonNode *n = json_object_get_member(obj, name);
	const char *s;
	gint64 v;

	if (n == NULL || JSON_NODE_TYPE(n) != JSON_NODE_VALUE)
		return -1;
	if (json_node_get_value_type(n) == G_TYPE_INT64)
		return CLAMP(json_node_get_int(n), -1, G_MAXINT32);
	if (json_node_get_value_type(n) == G_TYPE_DOUBLE) {
		double d = json_node_get_double(n);

		return d >= 0 && d <= G_MAXINT32 ? (gint64)d : -1;
	}
	s = json_node_get_value_type(n) == G_TYPE_STRING ? json_node_get_string(n) : NULL;
	if (s == NULL || !g_ascii_string_to_signed(s, 10, 0, G_MAXINT32, &v, NULL))
		return -1;
	return v;
}

/* A token as servers send them: visible ASCII (RFC 6750 b64token and JWTs are), bounded. */
static gboolean token_plausible(const char *t)
{
	if (t == NULL || *t == '\0' || strlen(t) > OAUTH2_MAX_TOKEN)
		return FALSE;
	for (const char *p = t; *p != '\0'; p++)
		if (*p <= 0x20 || *p >= 0x7f)
			return FALSE;
	return TRUE;
}

/* Writes a rotated refresh token to its file: a new file beside it (mode 0600), synced, renamed
 * over it, the directory synced. FALSE with the reason in why. */
static gboolean save_refresh(const char *file, const char *token, char *why, size_t why_len)
{
	char *tmp = g_strdup_printf("%s.new-XXXXXX", file), *dir;
	size_t len = strlen(token);
	gboolean ok = FALSE;
	int fd = g_mkstemp_full(tmp, O_WRONLY | O_CLOEXEC, 0600), dfd;

	if (fd < 0) {
		g_snprintf(why, why_len, "cannot create a file beside %s: %s", file,
			   g_strerror(errno));
		g_free(tmp);
		return FALSE;
	}
	if (write(fd, token, len) != (ssize_t)len || write(fd, "\n", 1) != 1 || fsync(fd) != 0)
		g_snprintf(why, why_len, "cannot write %s: %s", tmp, g_strerror(errno));
	else if (close(fd) != 0 || (fd = -1, rename(tmp, file) != 0))
		g_snprintf(why, why_len, "cannot replace %s: %s", file, g_strerror(errno));
	else
		ok = TRUE;
	if (fd >= 0)
		close(fd);
	if (!ok) {
		unlink(tmp);
	} else {
		dir = g_path_get_dirname(file);
		dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dfd >= 0) {
			(void)fsync(dfd);
			close(dfd);
		}
		g_free(dir);
	}
	g_free(tmp);
	return ok;
}

/* Takes a rotated refresh token: kept in memory, and written back where the configuration
 * read it when that can be done. */
static void rotate(struct entry *e, const struct spoc_oauth2_conf *o, const char *token)
{
	char why[512];

	if (e->refresh != NULL && strcmp(e->refresh, token) == 0)
		return;
	oauth2_secret_free(e->refresh);
	e->refresh = oauth2_secret_dup(token, strlen(token));
	if (o->refresh_token_read_only)
		oauth2_keeper_rotated(o, e->origin, token);
	else if (!save_refresh(o->refresh_token_file, token, why, sizeof(why)))
		oauth2_notice(
		    LOG_WARNING,
		    "oauth2 %s: the server rotated the refresh token, but it could not be "
		    "saved (%s): the new one is kept in memory only, and after a restart the "
		    "old one in %s may be refused",
		    o->token_url, why, o->refresh_token_file);
	else
		oauth2_notice(LOG_INFO, "oauth2 %s: rotated refresh token saved to %s",
			      o->token_url, o->refresh_token_file);
}

void oauth2_answer_clear(struct oauth2_answer *a)
{
	g_clear_pointer(&a->access, oauth2_secret_free);
	g_clear_pointer(&a->refresh, oauth2_secret_free);
	a->lifetime_s = 0;
}

int oauth2_answer_parse(const char *url, long status, const char *body, size_t len,
			struct oauth2_answer *a, struct errbuf *err)
{
	JsonParser *parser = json_parser_new();
	JsonNode *root;
	JsonObject *obj;
	const char *access, *type, *refresh, *code;
	gint64 lifetime;
	int rc = SPOC_ETEMP;

	memset(a, 0, sizeof(*a));
	if (len > OAUTH2_MAX_ANSWER || !g_utf8_validate(body, (gssize)len, NULL) ||
	    !json_parser_load_from_data(parser, body, (gssize)len, NULL) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		errbuf_set(err, SPOC_ETEMP,
			   "oauth2 token endpoint %s: answered HTTP %ld with %zu bytes that are "
			   "not a JSON object",
			   url, status, len);
		goto out;
	}
	obj = json_node_get_object(root);
	code = oauth2_member_string(obj, "error");
	if (status != 200 || code != NULL) {
		char *c = printable(code != NULL ? code : "(no error code)", 80);
		char *d = printable(oauth2_member_string(obj, "error_description"), 240);

		errbuf_set(err, SPOC_ETEMP, "oauth2 token endpoint %s: refused (HTTP %ld): %s%s%s",
			   url, status, c, *d != '\0' ? ": " : "", d);
		g_free(c);
		g_free(d);
		goto out;
	}
	access = oauth2_member_string(obj, "access_token");
	type = oauth2_member_string(obj, "token_type");
	refresh = oauth2_member_string(obj, "refresh_token");
	lifetime = member_seconds(obj, "expires_in");
	if (!token_plausible(access)) {
		errbuf_set(err, SPOC_ETEMP,
			   "oauth2 token endpoint %s: the answer has no usable access_token", url);
		goto out;
	}
	if (type != NULL && g_ascii_strcasecmp(type, "bearer") != 0) {
		char *t = printable(type, 40);

		errbuf_set(err, SPOC_ETEMP,
			   "oauth2 token endpoint %s: token_type \"%s\", not Bearer: unusable for "
			   "IMAP or SMTP",
			   url, t);
		g_free(t);
		goto out;
	}
	if (refresh != NULL && !token_plausible(refresh)) {
		errbuf_set(err, SPOC_ETEMP,
			   "oauth2 token endpoint %s: the answer's refresh_token is unusable", url);
		goto out;
	}
	a->access = oauth2_secret_dup(access, strlen(access));
	if (refresh != NULL)
		a->refresh = oauth2_secret_dup(refresh, strlen(refresh));
	/* a day at most: a token that claims to last for years is still renewed daily */
	a->lifetime_s = lifetime > 0 ? MIN(lifetime, 86400) : OAUTH2_DEFAULT_LIFETIME_S;
	rc = SPOC_OK;
out:
	/* json-glib copied the strings into its nodes: they go with the parser */
	g_object_unref(parser);
	return rc;
}

/* Takes a token endpoint's answer into the entry: SPOC_OK, or SPOC_ETEMP with why. */
static int take_answer(struct entry *e, const struct spoc_oauth2_conf *o, long status,
		       const struct answer *ans, struct errbuf *err)
{
	struct oauth2_answer a;
	gint64 margin;

	if (oauth2_answer_parse(o->token_url, status, ans->buf, ans->len, &a, err) != SPOC_OK) {
		oauth2_answer_clear(&a);
		return SPOC_ETEMP;
	}
	oauth2_secret_free(e->access);
	e->access = a.access;
	a.access = NULL;
	/* renewed a fifth of its life before it ends (at most 5 min), plus up to half as much
	 * again at random */
	margin = MIN((gint64)300 * G_USEC_PER_SEC, a.lifetime_s * G_USEC_PER_SEC / 5);
	margin += g_random_int_range(0, (gint32)MAX(1, margin / 2));
	e->expires_at = g_get_monotonic_time() + a.lifetime_s * G_USEC_PER_SEC;
	e->renew_at = e->expires_at - margin;
	if (a.refresh != NULL && o->grant == SPOC_OAUTH2_REFRESH_TOKEN)
		rotate(e, o, a.refresh);
	oauth2_answer_clear(&a);
	return SPOC_OK;
}

/* POSTs form (form_len bytes, application/x-www-form-urlencoded) to url as o says (CA file,
 * timeout) and reads the answer into a (its buf from oauth2_secret_alloc(OAUTH2_MAX_ANSWER)).
 * SPOC_OK with *status_r, whatever the HTTP status; SPOC_ETEMP when no answer came. */
static int post_form(const struct spoc_oauth2_conf *o, const char *url, const char *form,
		     size_t form_len, struct answer *a, long *status_r, struct errbuf *err)
{
	char curl_err[CURL_ERROR_SIZE] = "";
	struct curl_slist *headers = NULL;
	CURLcode cr;
	CURL *curl = curl_easy_init();

	*status_r = 0;
	if (curl == NULL)
		return errbuf_set(err, SPOC_ETEMP, "oauth2 %s: libcurl could not start", url);
	headers = curl_slist_append(headers, "Accept: application/json");
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(curl, CURLOPT_SSL_VERIFYHOST, 2L);
	if (o->ca_file != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, o->ca_file);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)o->timeout_s);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT, (long)o->timeout_s);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "spocd/" SPOCD_VERSION);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, form);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)form_len);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(curl, CURLOPT_ERRORBUFFER, curl_err);
	cr = curl_easy_perform(curl);
	curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, status_r);
	curl_easy_cleanup(curl);
	curl_slist_free_all(headers);
	if (cr == CURLE_WRITE_ERROR && a->overflow)
		return errbuf_set(err, SPOC_ETEMP, "oauth2 token endpoint %s: answer over %d bytes",
				  url, OAUTH2_MAX_ANSWER);
	if (cr != CURLE_OK)
		return errbuf_set(err, SPOC_ETEMP, "oauth2 token endpoint %s: %s (%s)", url,
				  curl_easy_strerror(cr),
				  curl_err[0] != '\0' ? curl_err : "no detail");
	return SPOC_OK;
}

/* The client's part of every form: client_id, the secret when there is one, and the scope. */
static gboolean form_client(const struct spoc_oauth2_conf *o, char *form, size_t cap, size_t *len,
			    gboolean with_secret)
{
	gboolean fits = form_add(form, cap, len, "client_id", o->client_id);

	if (fits && with_secret && o->client_secret != NULL)
		fits = form_add(form, cap, len, "client_secret", o->client_secret);
	if (fits && o->scope != NULL)
		fits = form_add(form, cap, len, "scope", o->scope);
	return fits;
}

/* One request for a new token with the configured grant. */
static int fetch(struct entry *e, const struct spoc_oauth2_conf *o, struct errbuf *err)
{
	struct answer a = {.buf = oauth2_secret_alloc(OAUTH2_MAX_ANSWER)};
	size_t form_cap = 4 * OAUTH2_MAX_TOKEN, form_len = 0;
	char *form = oauth2_secret_alloc(form_cap);
	gboolean fits;
	long status = 0;
	int rc;

	if (o->grant == SPOC_OAUTH2_JWT_BEARER) {
		/* RFC 7523 2.1: the assertion alone; the scope is inside it */
		char *jwt = oauth2_jwt_service_account(o, err);

		if (jwt == NULL) {
			rc = SPOC_ETEMP;
			goto out;
		}
		fits = form_add(form, form_cap, &form_len, "grant_type",
				"urn:ietf:params:oauth:grant-type:jwt-bearer") &&
		       form_add(form, form_cap, &form_len, "assertion", jwt);
		oauth2_secret_free(jwt);
	} else if (o->grant == SPOC_OAUTH2_REFRESH_TOKEN) {
		fits = form_add(form, form_cap, &form_len, "grant_type", "refresh_token") &&
		       form_add(form, form_cap, &form_len, "refresh_token",
				e->refresh != NULL ? e->refresh : "") &&
		       form_client(o, form, form_cap, &form_len, TRUE);
	} else if (o->client_key != NULL) {
		/* RFC 7521 4.2, RFC 7523 2.2: the app proves itself with a JWT its certificate's
		 * key signed, instead of a secret */
		char *jwt = oauth2_jwt_client_assertion(o, err);

		if (jwt == NULL) {
			rc = SPOC_ETEMP;
			goto out;
		}
		fits = form_add(form, form_cap, &form_len, "grant_type", "client_credentials") &&
		       form_client(o, form, form_cap, &form_len, FALSE) &&
		       form_add(form, form_cap, &form_len, "client_assertion_type",
				"urn:ietf:params:oauth:client-assertion-type:jwt-bearer") &&
		       form_add(form, form_cap, &form_len, "client_assertion", jwt);
		oauth2_secret_free(jwt);
	} else {
		fits = form_add(form, form_cap, &form_len, "grant_type", "client_credentials") &&
		       form_client(o, form, form_cap, &form_len, TRUE);
	}
	if (!fits)
		rc = errbuf_set(err, SPOC_ETEMP, "oauth2 %s: the request would be too long",
				o->token_url);
	else if ((rc = post_form(o, o->token_url, form, form_len, &a, &status, err)) == SPOC_OK)
		rc = take_answer(e, o, status, &a, err);
out:
	oauth2_secret_free(form);
	oauth2_secret_free(a.buf);
	return rc;
}

/* ---- the device authorization grant (RFC 8628), for spocctl oauth login ---- */

void oauth2_device_clear(struct oauth2_device *d)
{
	g_clear_pointer(&d->device_code, oauth2_secret_free);
	g_clear_pointer(&d->user_code, g_free);
	g_clear_pointer(&d->verification_uri, g_free);
	g_clear_pointer(&d->verification_uri_complete, g_free);
	d->interval_s = 0;
	d->expires_in_s = 0;
}

/* A printable, bounded copy of member name, or NULL. */
static char *member_printable(JsonObject *obj, const char *name, size_t max)
{
	const char *v = oauth2_member_string(obj, name);

	return v != NULL && *v != '\0' ? printable(v, max) : NULL;
}

int oauth2_device_start(const struct spoc_oauth2_conf *o, struct oauth2_device *d,
			struct errbuf *err)
{
	struct answer a = {.buf = oauth2_secret_alloc(OAUTH2_MAX_ANSWER)};
	size_t form_cap = 4 * OAUTH2_MAX_TOKEN, form_len = 0;
	char *form = oauth2_secret_alloc(form_cap);
	JsonParser *parser = NULL;
	JsonNode *root;
	JsonObject *obj;
	const char *code;
	long status = 0;
	int rc;

	memset(d, 0, sizeof(*d));
	if (o->device_url == NULL) {
		rc = errbuf_set(err, SPOC_EPERM,
				"oauth2: no device authorization endpoint: set device_url (the "
				"provider's RFC 8628 endpoint)");
		goto out;
	}
	/* the device request names the client, not its secret (RFC 8628 3.1) */
	if (!form_client(o, form, form_cap, &form_len, FALSE)) {
		rc = errbuf_set(err, SPOC_EPERM, "oauth2 %s: the request would be too long",
				o->device_url);
		goto out;
	}
	if ((rc = post_form(o, o->device_url, form, form_len, &a, &status, err)) != SPOC_OK)
		goto out;
	parser = json_parser_new();
	rc = SPOC_ETEMP;
	if (!g_utf8_validate(a.buf, (gssize)a.len, NULL) ||
	    !json_parser_load_from_data(parser, a.buf, (gssize)a.len, NULL) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		errbuf_set(err, SPOC_ETEMP,
			   "oauth2 device endpoint %s: answered HTTP %ld with %zu bytes that are "
			   "not a JSON object",
			   o->device_url, status, a.len);
		goto out;
	}
	obj = json_node_get_object(root);
	code = oauth2_member_string(obj, "device_code");
	d->user_code = member_printable(obj, "user_code", 64);
	/* Google says verification_url */
	d->verification_uri = member_printable(obj, "verification_uri", 400);
	if (d->verification_uri == NULL)
		d->verification_uri = member_printable(obj, "verification_url", 400);
	d->verification_uri_complete = member_printable(obj, "verification_uri_complete", 600);
	if (status != 200 || oauth2_member_string(obj, "error") != NULL || !token_plausible(code) ||
	    d->user_code == NULL || d->verification_uri == NULL) {
		char *c = printable(oauth2_member_string(obj, "error"), 80);
		char *desc = printable(oauth2_member_string(obj, "error_description"), 240);

		errbuf_set(err, SPOC_EPERM, "oauth2 device endpoint %s: refused (HTTP %ld): %s%s%s",
			   o->device_url, status,
			   *c != '\0' ? c : "no device_code, user_code or verification_uri",
			   *desc != '\0' ? ": " : "", desc);
		g_free(c);
		g_free(desc);
		rc = SPOC_EPERM;
		goto out;
	}
	d->device_code = oauth2_secret_dup(code, strlen(code));
	d->interval_s = (int)member_seconds(obj, "interval");
	if (d->interval_s <= 0)
		d->interval_s = 5; /* RFC 8628 3.2 */
	d->interval_s = MIN(d->interval_s, 60);
	d->expires_in_s = member_seconds(obj, "expires_in");
	if (d->expires_in_s <= 0)
		d->expires_in_s = 900;
	rc = SPOC_OK;
out:
	if (rc != SPOC_OK)
		oauth2_device_clear(d);
	if (parser != NULL)
		g_object_unref(parser);
	oauth2_secret_free(form);
	oauth2_secret_free(a.buf);
	return rc;
}

int oauth2_refresh_save(const struct spoc_oauth2_conf *o, const char *token, struct errbuf *err)
{
	char why[512];

	if (o->refresh_token_file == NULL || o->refresh_token_read_only)
		return errbuf_set(
		    err, SPOC_EPERM,
		    "the refresh token is read from a systemd credential, which cannot "
		    "be written: use refresh_token_file");
	if (!save_refresh(o->refresh_token_file, token, why, sizeof(why)))
		return errbuf_set(err, SPOC_EPERM, "%s", why);
	return SPOC_OK;
}

int oauth2_device_poll(const struct spoc_oauth2_conf *o, struct oauth2_device *d,
		       gboolean *pending_r, struct errbuf *err)
{
	struct answer a = {.buf = oauth2_secret_alloc(OAUTH2_MAX_ANSWER)};
	size_t form_cap = 4 * OAUTH2_MAX_TOKEN, form_len = 0;
	char *form = oauth2_secret_alloc(form_cap);
	struct oauth2_answer ans = {0};
	struct errbuf why = {{0}};
	long status = 0;
	int rc;

	*pending_r = FALSE;
	if (!form_add(form, form_cap, &form_len, "grant_type",
		      "urn:ietf:params:oauth:grant-type:device_code") ||
	    !form_add(form, form_cap, &form_len, "device_code", d->device_code) ||
	    !form_client(o, form, form_cap, &form_len, TRUE)) {
		rc = errbuf_set(err, SPOC_EPERM, "oauth2 %s: the request would be too long",
				o->token_url);
		goto out;
	}
	if ((rc = post_form(o, o->token_url, form, form_len, &a, &status, err)) != SPOC_OK)
		goto out;
	rc = oauth2_answer_parse(o->token_url, status, a.buf, a.len, &ans, &why);
	if (rc != SPOC_OK) {
		/* RFC 8628 3.5: still waiting for the person, or asked to poll more slowly */
		if (strstr(why.msg, "): authorization_pending") != NULL) {
			*pending_r = TRUE;
		} else if (strstr(why.msg, "): slow_down") != NULL) {
			*pending_r = TRUE;
			d->interval_s = MIN(d->interval_s + 5, 60);
		}
		rc = errbuf_set(err, *pending_r ? SPOC_ETEMP : SPOC_EPERM, "%s", why.msg);
		goto out;
	}
	if (ans.refresh == NULL) {
		rc =
		    errbuf_set(err, SPOC_EPERM,
			       "oauth2 token endpoint %s: consent given, but no refresh token came "
			       "with the access token (does the scope ask for offline access?)",
			       o->token_url);
		goto out;
	}
	rc = oauth2_refresh_save(o, ans.refresh, err);
out:
	oauth2_answer_clear(&ans);
	oauth2_secret_free(form);
	oauth2_secret_free(a.buf);
	return rc;
}

static void (*observer)(const char *token_url, gboolean ok, int64_t expires_unix);

void oauth2_set_observer(void (*fn)(const char *token_url, gboolean ok, int64_t expires_unix))
{
	observer = fn;
}

/* Tells the observer of one request to o's endpoint for e. */
static void observe(const struct spoc_oauth2_conf *o, const struct entry *e, gboolean ok)
{
	gint64 left_us = ok ? e->expires_at - g_get_monotonic_time() : 0;

	if (observer != NULL)
		observer(o->token_url, ok, ok ? (g_get_real_time() + left_us) / G_USEC_PER_SEC : 0);
}

int oauth2_token(const struct spoc_endpoint *ep, const char **token_r, gboolean *fresh_r,
		 struct errbuf *err)
{
	const struct spoc_oauth2_conf *o = ep->oauth2;
	gint64 now = g_get_monotonic_time();
	struct entry *e;

	*token_r = NULL;
	*fresh_r = FALSE;
	if (o == NULL)
		return errbuf_set(err, SPOC_ETEMP, "oauth2: not configured for %s", ep->host);
	e = entry_of(o);
	if (e->access != NULL && now < e->renew_at) {
		*token_r = e->access;
		return SPOC_OK;
	}
	/* a renewal failed a moment ago: the token still valid serves until it expires */
	if (e->access != NULL && now < e->retry_at && now < e->expires_at) {
		*token_r = e->access;
		return SPOC_OK;
	}
	if (now < e->retry_at)
		return errbuf_set(err, SPOC_ETEMP, "%s; next attempt in %llds", e->last_error,
				  (long long)((e->retry_at - now) / G_USEC_PER_SEC + 1));
	if (o->grant == SPOC_OAUTH2_REFRESH_TOKEN && e->refresh == NULL)
		return errbuf_set(
		    err, SPOC_ETEMP,
		    "oauth2 %s: no refresh token yet (%s is empty): run spocctl oauth "
		    "login for this mailbox, then reload",
		    o->token_url,
		    o->refresh_token_file != NULL ? o->refresh_token_file : "its file");
	if (fetch(e, o, err) != SPOC_OK) {
		observe(o, e, FALSE);
		e->backoff_s = e->backoff_s == 0 ? OAUTH2_BACKOFF_MIN_S
						 : MIN(2 * e->backoff_s, OAUTH2_BACKOFF_MAX_S);
		e->retry_at = now + (gint64)e->backoff_s * G_USEC_PER_SEC;
		g_strlcpy(e->last_error, err->msg, sizeof(e->last_error));
		if (e->access != NULL && now < e->expires_at) {
			*token_r = e->access;
			return SPOC_OK;
		}
		g_clear_pointer(&e->access, oauth2_secret_free);
		return SPOC_ETEMP;
	}
	observe(o, e, TRUE);
	e->backoff_s = 0;
	e->retry_at = 0;
	*token_r = e->access;
	*fresh_r = TRUE;
	return SPOC_OK;
}

/* ---- SASL ---- */

const char *oauth2_mech_name(enum oauth2_mech m)
{
	return m == OAUTH2_OAUTHBEARER ? "OAUTHBEARER" : "XOAUTH2";
}

char *oauth2_sasl_response(enum oauth2_mech mech, const char *user, const char *host, unsigned port,
			   const char *token)
{
	size_t cap = strlen(user) + strlen(host) + strlen(token) + 64, len, out_len;
	char *raw = oauth2_secret_alloc(cap), *b64;
	gint state = 0, save = 0;

	if (mech == OAUTH2_OAUTHBEARER)
		/* RFC 7628 3.1: the GS2 header names the user; host and port are what the
		 * client connected to */
		len = (size_t)g_snprintf(raw, cap,
					 "n,a=%s,\001host=%s\001port=%u\001auth=Bearer %s\001\001",
					 user, host, port, token);
	else
		len =
		    (size_t)g_snprintf(raw, cap, "user=%s\001auth=Bearer %s\001\001", user, token);
	b64 = oauth2_secret_alloc((len / 3 + 1) * 4 + 4);
	out_len = g_base64_encode_step((const guchar *)raw, len, FALSE, b64, &state, &save);
	out_len += g_base64_encode_close(FALSE, b64 + out_len, &state, &save);
	b64[out_len] = '\0';
	oauth2_secret_free(raw);
	return b64;
}

const char *oauth2_sasl_abort(enum oauth2_mech mech)
{
	return mech == OAUTH2_OAUTHBEARER ? "AQ==" : "";
}

char *oauth2_sasl_error_text(const char *b64, size_t len)
{
	static const char *const fields[] = {"status", "schemes", "scope", NULL};
	char *text = g_strndup(b64, len), *out;
	guchar *json;
	gsize json_len = 0;
	JsonParser *parser = json_parser_new();
	JsonNode *root;
	GString *line = g_string_new(NULL);

	g_strstrip(text);
	json = g_base64_decode(text, &json_len);
	if (json_len == 0 ||
	    !json_parser_load_from_data(parser, (const char *)json, (gssize)json_len, NULL) ||
	    (root = json_parser_get_root(parser)) == NULL || !JSON_NODE_HOLDS_OBJECT(root)) {
		g_string_append(line, "an error challenge that is not base64 JSON");
	} else {
		JsonObject *obj = json_node_get_object(root);

		for (const char *const *f = fields; *f != NULL; f++) {
			char *v = printable(oauth2_member_string(obj, *f), 200);

			if (*v != '\0')
				g_string_append_printf(line, "%s%s=%s", line->len > 0 ? " " : "",
						       *f, v);
			g_free(v);
		}
		if (line->len == 0)
			g_string_append(line, "an error object without status or scope");
	}
	g_object_unref(parser);
	g_free(json);
	wipe_free(text);
	out = g_string_free(line, FALSE);
	return out;
}
