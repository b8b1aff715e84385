/* The auth setting of a mailbox or of smtp, and its oauth2 group: which provider issues the access
 * token, for which client and grant, and where the client secret or certificate and key, and the
 * refresh token are read (files or systemd credentials, checked as password files are). Every
 * refusal names the setting and says what to write instead. Whether the key matches the
 * certificate needs GnuTLS, so net/oauth2 checks that (oauth2_conf_check()). */
#include "conf_oauth.h"
#include "conf_priv.h"

#include <string.h>
#include <sys/stat.h>

const char *conf_oauth2_provider_name(enum spoc_oauth2_provider p)
{
	switch (p) {
	case SPOC_OAUTH2_MICROSOFT:
		return "microsoft";
	case SPOC_OAUTH2_GOOGLE:
		return "google";
	case SPOC_OAUTH2_GENERIC:
	default:
		return "generic";
	}
}

static void wipe_free(char **s)
{
	if (*s != NULL)
		memset(*s, 0, strlen(*s));
	g_clear_pointer(s, g_free);
}

void conf_oauth2_free(struct spoc_oauth2_conf **op)
{
	struct spoc_oauth2_conf *o = *op;

	if (o == NULL)
		return;
	g_free(o->token_url);
	g_free(o->device_url);
	g_free(o->tenant);
	g_free(o->client_id);
	g_free(o->scope);
	wipe_free(&o->client_secret);
	g_free(o->client_secret_file);
	g_free(o->client_certificate);
	g_free(o->client_certificate_file);
	wipe_free(&o->client_key);
	g_free(o->client_key_file);
	g_free(o->key_setting);
	g_free(o->certificate_setting);
	wipe_free(&o->refresh_token);
	wipe_free(&o->service_account_key);
	g_free(o->service_account_file);
	g_free(o->subject);
	g_free(o->refresh_token_file);
	g_free(o->ca_file);
	g_free(o);
	*op = NULL;
}

/* Every setting the oauth2 group may hold; anything else is a typo or a feature not there. */
static const char *const known[] = {
    "provider",
    "tenant",
    "token_url",
    "client_id",
    "scope",
    "grant",
    "client_secret_file",
    "client_secret_credential",
    "ca_file",
    "timeout",
    "refresh_token_file",
    "refresh_token_credential",
    "device_url",
    "service_account_file",
    "service_account_credential",
    "subject",
    "client_certificate_file",
    "client_key_file",
    "client_key_credential",
    NULL,
};

static gboolean in_list(const char *name, const char *const *list)
{
	for (const char *const *l = list; *l != NULL; l++)
		if (strcmp(*l, name) == 0)
			return TRUE;
	return FALSE;
}

static void check_names(struct reader *r, const char *group)
{
	config_setting_t *g = config_lookup(&r->cfg, group);
	char name[160];

	if (g == NULL)
		return;
	if (!config_setting_is_group(g)) {
		conf_fail(r, group, "must be a group: oauth2: { provider = ...; ... };");
		return;
	}
	for (int i = 0; i < config_setting_length(g); i++) {
		const char *n = config_setting_name(config_setting_get_elem(g, (unsigned)i));

		g_snprintf(name, sizeof(name), "%s.%s", group, n);
		if (!in_list(n, known)) {
			char *list = g_strjoinv(", ", (char **)known);

			conf_fail(r, name, "unknown setting: the oauth2 group takes %s", list);
			g_free(list);
		}
	}
}

/* A client id or tenant: printable ASCII without spaces or URL syntax, at most 256 bytes. */
static gboolean plain_token(const char *s, const char *extra)
{
	if (s == NULL || *s == '\0' || strlen(s) > 256)
		return FALSE;
	for (const char *p = s; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && strchr(extra, *p) == NULL)
			return FALSE;
	return TRUE;
}

/* An https URL with a host and neither user information nor fragment. */
static gboolean token_url_valid(const char *url, const char **why_r)
{
	GUri *uri = g_uri_parse(url, G_URI_FLAGS_NONE, NULL);
	gboolean ok = FALSE;

	if (uri == NULL)
		*why_r = "is not a URL";
	else if (g_ascii_strcasecmp(g_uri_get_scheme(uri), "https") != 0)
		*why_r = "must be an https:// URL (the client secret and tokens travel in it)";
	else if (g_uri_get_host(uri) == NULL || *g_uri_get_host(uri) == '\0')
		*why_r = "has no host";
	else if (g_uri_get_userinfo(uri) != NULL)
		*why_r = "must not hold a user or password (the client secret goes in "
			 "client_secret_file)";
	else if (g_uri_get_fragment(uri) != NULL)
		*why_r = "must not have a #fragment";
	else
		ok = TRUE;
	if (uri != NULL)
		g_uri_unref(uri);
	return ok;
}

/* A secret read from group.<what>_file or group.<what>_credential; NULL when neither is set
 * (*file_r NULL too), when the file is empty and may_be_empty, or on error (recorded).
 * *credential_r: it came from a credential. text: the whole file (a PEM key), else one line. */
static char *read_secret_setting(struct reader *r, const char *group, const char *what,
				 gboolean may_be_empty, gboolean text, char **file_r,
				 gboolean *credential_r)
{
	struct stat st;
	char file_name[160], cred_name[160];
	gboolean has_file, has_cred;

	g_snprintf(file_name, sizeof(file_name), "%s.%s_file", group, what);
	g_snprintf(cred_name, sizeof(cred_name), "%s.%s_credential", group, what);
	has_file = config_lookup(&r->cfg, file_name) != NULL;
	has_cred = config_lookup(&r->cfg, cred_name) != NULL;
	*file_r = NULL;
	if (credential_r != NULL)
		*credential_r = has_cred;
	if (has_file && has_cred) {
		conf_fail(r, cred_name, "set %s_file or %s_credential, not both", what, what);
		return NULL;
	}
	if (has_cred) {
		char *cred = conf_get_string(r, cred_name, NULL);

		*file_r = conf_credential(r, cred_name, cred);
		g_free(cred);
	} else if (has_file) {
		*file_r = conf_resolve(r, conf_get_string(r, file_name, NULL));
	}
	if (*file_r == NULL)
		return NULL;
	if (may_be_empty && stat(*file_r, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == 0)
		return NULL;
	if (text)
		return conf_read_secret_text(r, has_cred ? cred_name : file_name, *file_r);
	return conf_read_secret(r, has_cred ? cred_name : file_name, *file_r);
}

/* The provider's scope when none is configured; NULL for none. */
static const char *default_scope(enum spoc_oauth2_provider p, enum spoc_oauth2_grant g,
				 gboolean smtp)
{
	switch (p) {
	case SPOC_OAUTH2_MICROSOFT:
		/* app-only tokens carry the permissions granted to the app (".default");
		 * delegated ones name the protocol, and offline_access keeps the refresh
		 * token coming */
		if (g == SPOC_OAUTH2_CLIENT_CREDENTIALS)
			return "https://outlook.office365.com/.default";
		return smtp ? "https://outlook.office365.com/SMTP.Send offline_access"
			    : "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access";
	case SPOC_OAUTH2_GOOGLE:
		return "https://mail.google.com/";
	case SPOC_OAUTH2_GENERIC:
	default:
		return NULL;
	}
}

/* "spocd.conf:12: imap.oauth2.client_key_file", as conf_fail() names a setting; caller frees. */
static char *setting_place(struct reader *r, const char *name)
{
	int line = conf_line_of(r, name);

	return line > 0 ? g_strdup_printf("%s:%d: %s", r->path, line, name)
			: g_strdup_printf("%s: %s", r->path, name);
}

/* client_certificate_file and client_key_file (or client_key_credential): the certificate the
 * app registration holds and its private key, which signs the client assertion instead of a
 * client secret. Only with grant = "client_credentials", both or neither, and not beside a
 * client secret. The certificate is public: any readable file; the key is checked as secrets
 * are. */
static void read_certificate(struct reader *r, const char *group, struct spoc_oauth2_conf *o)
{
	char name[160];
	GError *gerr = NULL;
	gboolean cred = FALSE;

#define NAME(s) (g_snprintf(name, sizeof(name), "%s.%s", group, s), name)
	if (config_lookup(&r->cfg, NAME("client_certificate_file")) != NULL)
		o->client_certificate_file = conf_resolve(r, conf_get_string(r, name, NULL));
	o->client_key =
	    read_secret_setting(r, group, "client_key", FALSE, TRUE, &o->client_key_file, &cred);
	if (o->client_certificate_file == NULL && o->client_key_file == NULL)
		return;
	o->key_setting = setting_place(r, NAME(cred ? "client_key_credential" : "client_key_file"));
	o->certificate_setting = setting_place(r, NAME("client_certificate_file"));
	if (o->grant != SPOC_OAUTH2_CLIENT_CREDENTIALS) {
		conf_fail(r,
			  NAME(o->client_certificate_file != NULL ? "client_certificate_file"
								  : "client_key_file"),
			  "a certificate signs the client assertion of grant = "
			  "\"client_credentials\" only: set that grant, or remove it");
	} else if (o->client_secret_file != NULL) {
		conf_fail(r, NAME("client_certificate_file"),
			  "set client_secret_file or client_certificate_file, not both (the "
			  "certificate replaces the secret)");
	} else if (o->client_key_file == NULL) {
		conf_fail(r, NAME("client_key_file"),
			  "missing: client_certificate_file needs the certificate's private key, "
			  "in client_key_file or client_key_credential");
	} else if (o->client_certificate_file == NULL) {
		conf_fail(r, NAME("client_certificate_file"),
			  "missing: client_key_file needs the certificate uploaded to the app "
			  "registration, in client_certificate_file (PEM)");
	} else if (!g_file_get_contents(o->client_certificate_file, &o->client_certificate, NULL,
					&gerr)) {
		conf_fail(r, NAME("client_certificate_file"), "cannot read %s: %s",
			  o->client_certificate_file, gerr->message);
		g_error_free(gerr);
	}
#undef NAME
}

static struct spoc_oauth2_conf *read_oauth2(struct reader *r, const char *section, const char *user)
{
	static const char *const providers[] = {"microsoft", "google", "generic", NULL};
	static const char *const grants[] = {"client_credentials", "refresh_token", "jwt_bearer",
					     NULL};
	struct spoc_oauth2_conf *o = g_new0(struct spoc_oauth2_conf, 1);
	char group[96], name[160];
	gboolean smtp = strcmp(section, "smtp") == 0, cred = FALSE;
	int grant;

#define NAME(s) (g_snprintf(name, sizeof(name), "%s.%s", group, s), name)
	g_snprintf(group, sizeof(group), "%s.oauth2", section);
	if (config_lookup(&r->cfg, group) == NULL) {
		conf_fail(r, group,
			  "missing: auth = \"oauth2\" needs an oauth2 group (provider, client_id, "
			  "client_secret_file or refresh_token_file...)");
		return o;
	}
	check_names(r, group);
	if (config_lookup(&r->cfg, NAME("provider")) == NULL)
		conf_fail(r, NAME("provider"),
			  "missing: use \"microsoft\", \"google\" or \"generic\" (with token_url)");
	o->provider = (enum spoc_oauth2_provider)conf_get_choice(r, NAME("provider"), providers, 2);
	grant =
	    conf_get_choice(r, NAME("grant"), grants, o->provider == SPOC_OAUTH2_GOOGLE ? 1 : 0);
	o->grant = grant == 2	? SPOC_OAUTH2_JWT_BEARER
		   : grant == 1 ? SPOC_OAUTH2_REFRESH_TOKEN
				: SPOC_OAUTH2_CLIENT_CREDENTIALS;
	if (o->provider == SPOC_OAUTH2_MICROSOFT && o->grant == SPOC_OAUTH2_JWT_BEARER)
		conf_fail(r, NAME("grant"),
			  "\"jwt_bearer\" is for a service account's key (Google); for Microsoft's "
			  "certificate use \"client_credentials\" with client_certificate_file and "
			  "client_key_file");
	if (o->provider == SPOC_OAUTH2_GOOGLE && o->grant == SPOC_OAUTH2_CLIENT_CREDENTIALS)
		conf_fail(r, NAME("grant"),
			  "Google issues no mail tokens for \"client_credentials\": use "
			  "\"jwt_bearer\" (a service account with domain-wide delegation) or "
			  "\"refresh_token\"");

	/* a service account names itself in its key */
	if (o->grant != SPOC_OAUTH2_JWT_BEARER || config_lookup(&r->cfg, NAME("client_id")) != NULL)
		o->client_id = conf_get_string(r, NAME("client_id"), NULL);
	if (o->client_id != NULL && !plain_token(o->client_id, "-._~:@+"))
		conf_fail(r, NAME("client_id"),
			  "\"%s\" is not a client id (letters, digits and -._~:@+, at most 256)",
			  o->client_id);

	if (o->provider == SPOC_OAUTH2_MICROSOFT) {
		o->tenant = conf_get_string(r, NAME("tenant"), NULL);
		if (o->tenant != NULL && !plain_token(o->tenant, "-._"))
			conf_fail(r, NAME("tenant"),
				  "\"%s\" is not a tenant: use the directory (tenant) id or its "
				  "domain, e.g. \"contoso.onmicrosoft.com\"",
				  o->tenant);
	} else if (config_lookup(&r->cfg, NAME("tenant")) != NULL) {
		conf_fail(r, NAME("tenant"), "is for provider = \"microsoft\" only");
	}

	if (config_lookup(&r->cfg, NAME("token_url")) != NULL)
		o->token_url = conf_get_string(r, NAME("token_url"), NULL);
	else if (o->provider == SPOC_OAUTH2_MICROSOFT && o->tenant != NULL)
		o->token_url = g_strdup_printf(
		    "https://login.microsoftonline.com/%s/oauth2/v2.0/token", o->tenant);
	else if (o->provider == SPOC_OAUTH2_GOOGLE)
		o->token_url = g_strdup("https://oauth2.googleapis.com/token");
	else if (o->provider == SPOC_OAUTH2_GENERIC)
		conf_fail(
		    r, NAME("token_url"),
		    "missing: provider = \"generic\" needs the token endpoint's https:// URL");
	if (o->token_url != NULL) {
		const char *why = NULL;

		if (!token_url_valid(o->token_url, &why))
			conf_fail(r, NAME("token_url"), "\"%s\" %s", o->token_url, why);
	}

	if (config_lookup(&r->cfg, NAME("device_url")) != NULL)
		o->device_url = conf_get_string(r, NAME("device_url"), NULL);
	else if (o->provider == SPOC_OAUTH2_MICROSOFT && o->tenant != NULL)
		o->device_url = g_strdup_printf(
		    "https://login.microsoftonline.com/%s/oauth2/v2.0/devicecode", o->tenant);
	else if (o->provider == SPOC_OAUTH2_GOOGLE)
		o->device_url = g_strdup("https://oauth2.googleapis.com/device/code");
	if (o->device_url != NULL) {
		const char *why = NULL;

		if (!token_url_valid(o->device_url, &why))
			conf_fail(r, NAME("device_url"), "\"%s\" %s", o->device_url, why);
	}

	/* a generic server may want none: then none is sent */
	if (config_lookup(&r->cfg, NAME("scope")) != NULL ||
	    default_scope(o->provider, o->grant, smtp) != NULL)
		o->scope =
		    conf_get_string(r, NAME("scope"), default_scope(o->provider, o->grant, smtp));
	if (o->scope != NULL && (*o->scope == '\0' || strpbrk(o->scope, "\r\n\t\"\\") != NULL))
		conf_fail(r, NAME("scope"),
			  "\"%s\" is not a scope list (scopes separated by single spaces)",
			  o->scope);
	if (config_lookup(&r->cfg, NAME("ca_file")) != NULL) {
		o->ca_file = conf_resolve(r, conf_get_string(r, NAME("ca_file"), NULL));
		if (o->ca_file != NULL && !g_file_test(o->ca_file, G_FILE_TEST_IS_REGULAR))
			conf_fail(r, NAME("ca_file"), "%s is not a readable file", o->ca_file);
	}
	o->timeout_s = conf_get_int(r, NAME("timeout"), 30, 1, 300);

	o->client_secret = read_secret_setting(r, group, "client_secret", FALSE, FALSE,
					       &o->client_secret_file, NULL);
	if (o->grant == SPOC_OAUTH2_JWT_BEARER) {
		char *file = NULL;
		gboolean has_cred =
		    config_lookup(&r->cfg, NAME("service_account_credential")) != NULL;

		if (has_cred && config_lookup(&r->cfg, NAME("service_account_file")) != NULL) {
			conf_fail(
			    r, NAME("service_account_credential"),
			    "set service_account_file or service_account_credential, not both");
		} else if (has_cred) {
			char *cname = conf_get_string(r, NAME("service_account_credential"), NULL);

			file = conf_credential(r, NAME("service_account_credential"), cname);
			g_free(cname);
		} else if (config_lookup(&r->cfg, NAME("service_account_file")) != NULL) {
			file =
			    conf_resolve(r, conf_get_string(r, NAME("service_account_file"), NULL));
		} else {
			conf_fail(
			    r, NAME("service_account_file"),
			    "missing: grant = \"jwt_bearer\" needs the service account's JSON "
			    "key, in service_account_file or service_account_credential");
		}
		o->service_account_file = file;
		if (file != NULL)
			o->service_account_key =
			    conf_read_secret_text(r,
						  has_cred ? NAME("service_account_credential")
							   : NAME("service_account_file"),
						  file);
		o->subject = conf_get_string(r, NAME("subject"), user);
		if (o->subject != NULL &&
		    (*o->subject == '\0' || strpbrk(o->subject, "\"\\\r\n") != NULL))
			conf_fail(r, NAME("subject"), "\"%s\" is not a mailbox address",
				  o->subject);
		if (o->client_secret_file != NULL)
			conf_fail(
			    r, NAME("client_secret_file"),
			    "is not used with grant = \"jwt_bearer\" (the key signs): remove it");
	} else if (config_lookup(&r->cfg, NAME("service_account_file")) != NULL ||
		   config_lookup(&r->cfg, NAME("service_account_credential")) != NULL ||
		   config_lookup(&r->cfg, NAME("subject")) != NULL) {
		conf_fail(r, NAME("grant"),
			  "a service account key or subject is set: they need grant = "
			  "\"jwt_bearer\"");
	}
	read_certificate(r, group, o);
	if (o->grant == SPOC_OAUTH2_CLIENT_CREDENTIALS && o->client_secret_file == NULL &&
	    o->client_certificate_file == NULL)
		conf_fail(r, NAME("client_secret_file"),
			  "missing: grant = \"client_credentials\" needs the client secret (in "
			  "client_secret_file or client_secret_credential) or a certificate "
			  "(client_certificate_file and client_key_file)");

	if (o->grant == SPOC_OAUTH2_REFRESH_TOKEN) {
		/* empty until spocctl oauth login has written it */
		o->refresh_token = read_secret_setting(r, group, "refresh_token", TRUE, FALSE,
						       &o->refresh_token_file, &cred);
		o->refresh_token_read_only = cred;
		if (o->refresh_token_file == NULL)
			conf_fail(r, NAME("refresh_token_file"),
				  "missing: grant = \"refresh_token\" needs the refresh token, in "
				  "refresh_token_file (written back when the server rotates it) "
				  "or refresh_token_credential");
	} else if (config_lookup(&r->cfg, NAME("refresh_token_file")) != NULL ||
		   config_lookup(&r->cfg, NAME("refresh_token_credential")) != NULL) {
		conf_fail(r, NAME("grant"),
			  "a refresh token is set but grant is \"client_credentials\": set grant "
			  "= \"refresh_token\" or remove the refresh token");
	}
#undef NAME
	return o;
}

gboolean conf_read_auth(struct reader *r, const char *section, struct spoc_endpoint *ep)
{
	static const char *const auths[] = {"password", "oauth2", NULL};
	static const char *const password_settings[] = {"password_file", "password_credential",
							NULL};
	char name[128];

#define NAME(s) (g_snprintf(name, sizeof(name), "%s.%s", section, s), name)
	if (conf_get_choice(r, NAME("auth"), auths, 0) != 1) {
		if (config_lookup(&r->cfg, NAME("oauth2")) != NULL)
			conf_fail(r, NAME("oauth2"),
				  "is used only with auth = \"oauth2\": add that, or remove the "
				  "group");
		return FALSE;
	}
	for (const char *const *p = password_settings; *p != NULL; p++)
		if (config_lookup(&r->cfg, NAME(*p)) != NULL)
			conf_fail(r, name,
				  "is for auth = \"password\": remove it (auth = \"oauth2\" logs "
				  "in with an access token)");
	/* XOAUTH2 and OAUTHBEARER name the mailbox the token is for */
	ep->user = conf_get_string(r, NAME("user"), NULL);
	if (ep->user != NULL && (*ep->user == '\0' || strpbrk(ep->user, "\001\r\n,=") != NULL))
		conf_fail(r, NAME("user"),
			  "\"%s\" cannot be sent in an OAuth login (no control characters, ',' "
			  "or '=')",
			  ep->user);
	ep->oauth2 = read_oauth2(r, section, ep->user);
#undef NAME
	return TRUE;
}
