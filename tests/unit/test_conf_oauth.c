/* Unit tests of conf_oauth.c: auth = "oauth2" for a mailbox and for smtp, the providers'
 * defaults, secrets read as password files are, and every refusal naming its setting. */

#include "conf.h"
#include "conf_oauth.h"

#include "testlib.h"

#include <glib/gstdio.h>
#include <string.h>
#include <unistd.h>

static char *dir;

/* the shape of a Google service account key: several lines */
#define SA_JSON                                                                                    \
	"{\n  \"type\": \"service_account\",\n"                                                    \
	"  \"client_email\": \"spocd@project.iam.gserviceaccount.com\",\n"                         \
	"  \"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMII\"\n}\n"

/* A valid file around the imap and smtp groups' auth lines (frame[0] imap frame[1] smtp
 * frame[2]). */
static const char *const frame[] = {"database: { conninfo = \"host=/tmp dbname=spocd\"; };\n"
				    "imap: {\n"
				    "  host = \"outlook.office365.com\";\n"
				    "  user = \"help@contoso.example\";\n",
				    "};\n"
				    "smtp: {\n"
				    "  host = \"smtp.office365.com\";\n"
				    "  tls = \"starttls\";\n"
				    "  from_address = \"help@contoso.example\";\n",
				    "};\n"
				    "desk: {\n"
				    "  name = \"Desk\";\n"
				    "  addresses = [ \"help@contoso.example\" ];\n"
				    "  default_language = \"en\";\n"
				    "  templates_dir = \"tpl\";\n"
				    "};\n"};

static struct spoc_conf *load(const char *imap, const char *smtp, struct errbuf *err)
{
	char *text =
	    g_strconcat(frame[0], imap, frame[1], smtp != NULL ? smtp : "", frame[2], NULL);
	char *path = g_build_filename(dir, "spocd.conf", NULL);
	struct spoc_conf *c;

	assert_true(g_file_set_contents(path, text, -1, NULL));
	c = conf_load(path, err);
	g_free(text);
	g_free(path);
	return c;
}

static void write_secret(const char *name, const char *text, int mode)
{
	char *path = g_build_filename(dir, name, NULL);

	g_unlink(path);
	assert_true(g_file_set_contents(path, text, -1, NULL));
	assert_int_equal(g_chmod(path, mode), 0);
	g_free(path);
}

static int setup(void **state)
{
	char *tpl;

	(void)state;
	dir = g_dir_make_tmp("spoc-conf-oauth-XXXXXX", NULL);
	tpl = g_build_filename(dir, "tpl", NULL);
	g_mkdir(tpl, 0700);
	g_free(tpl);
	write_secret("client.secret", "app-secret-value\n", 0600);
	write_secret("refresh.token", "1.refresh-token-value\n", 0600);
	write_secret("sa.json", SA_JSON, 0600);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
	return 0;
}

#define MS_APP                                                                                     \
	"  auth = \"oauth2\";\n"                                                                   \
	"  oauth2: { provider = \"microsoft\"; tenant = \"contoso.onmicrosoft.com\";\n"            \
	"            client_id = \"00000000-1111-2222-3333-444444444444\";\n"                      \
	"            client_secret_file = \"client.secret\"; };\n"

/* Microsoft app-only: the tenant's token URL, the .default scope, the secret read, no password
 * anywhere; a password mailbox beside it keeps oauth2 NULL. */
static void test_microsoft_client_credentials(void **state)
{
	struct errbuf err = {{0}};
	struct spoc_conf *c = load(MS_APP, "  user = \"help@contoso.example\";\n" MS_APP, &err);
	const struct spoc_oauth2_conf *o;

	(void)state;
	if (c == NULL)
		fail_msg("%s", err.msg);
	o = c->mailboxes[0]->ep.oauth2;
	assert_non_null(o);
	assert_int_equal(o->provider, SPOC_OAUTH2_MICROSOFT);
	assert_int_equal(o->grant, SPOC_OAUTH2_CLIENT_CREDENTIALS);
	assert_string_equal(o->token_url, "https://login.microsoftonline.com/"
					  "contoso.onmicrosoft.com/oauth2/v2.0/token");
	assert_string_equal(o->scope, "https://outlook.office365.com/.default");
	assert_string_equal(o->client_secret, "app-secret-value");
	assert_null(o->refresh_token);
	assert_null(c->mailboxes[0]->ep.password);
	assert_string_equal(c->mailboxes[0]->ep.user, "help@contoso.example");
	assert_int_equal(o->timeout_s, 30);
	assert_non_null(c->smtp.ep.oauth2);
	assert_string_equal(c->smtp.ep.user, "help@contoso.example");
	assert_string_equal(conf_oauth2_provider_name(o->provider), "microsoft");
	conf_free(&c);
}

/* Delegated tokens: IMAP and SMTP each get their own Microsoft scope with offline_access;
 * Google defaults to the refresh token grant and its one mail scope. */
static void test_refresh_token_defaults(void **state)
{
	struct errbuf err = {{0}};
	struct spoc_conf *c;

	(void)state;
	c = load("  auth = \"oauth2\";\n"
		 "  oauth2: { provider = \"microsoft\"; tenant = \"common-tenant\";\n"
		 "    client_id = \"cid\"; grant = \"refresh_token\";\n"
		 "    refresh_token_file = \"refresh.token\"; };\n",
		 "  user = \"help@contoso.example\";\n  auth = \"oauth2\";\n"
		 "  oauth2: { provider = \"microsoft\"; tenant = \"common-tenant\";\n"
		 "    client_id = \"cid\"; grant = \"refresh_token\";\n"
		 "    refresh_token_file = \"refresh.token\"; };\n",
		 &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_string_equal(c->mailboxes[0]->ep.oauth2->scope,
			    "https://outlook.office365.com/IMAP.AccessAsUser.All offline_access");
	assert_string_equal(c->smtp.ep.oauth2->scope,
			    "https://outlook.office365.com/SMTP.Send offline_access");
	assert_string_equal(c->mailboxes[0]->ep.oauth2->refresh_token, "1.refresh-token-value");
	assert_true(
	    g_str_has_suffix(c->mailboxes[0]->ep.oauth2->refresh_token_file, "/refresh.token"));
	assert_false(c->mailboxes[0]->ep.oauth2->refresh_token_read_only);
	assert_string_equal(
	    c->mailboxes[0]->ep.oauth2->device_url,
	    "https://login.microsoftonline.com/common-tenant/oauth2/v2.0/devicecode");
	/* a public client: no secret needed with a refresh token */
	assert_null(c->mailboxes[0]->ep.oauth2->client_secret);
	conf_free(&c);

	c = load(
	    "  auth = \"oauth2\";\n"
	    "  oauth2: { provider = \"google\"; client_id = \"x.apps.googleusercontent.com\";\n"
	    "    client_secret_file = \"client.secret\";\n"
	    "    refresh_token_file = \"refresh.token\"; };\n",
	    NULL, &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(c->mailboxes[0]->ep.oauth2->grant, SPOC_OAUTH2_REFRESH_TOKEN);
	assert_string_equal(c->mailboxes[0]->ep.oauth2->token_url,
			    "https://oauth2.googleapis.com/token");
	assert_string_equal(c->mailboxes[0]->ep.oauth2->scope, "https://mail.google.com/");
	assert_string_equal(c->mailboxes[0]->ep.oauth2->device_url,
			    "https://oauth2.googleapis.com/device/code");
	assert_null(c->smtp.ep.oauth2);
	conf_free(&c);

	/* an empty refresh token file is there to be filled by spocctl oauth login */
	write_secret("refresh.token", "", 0600);
	c = load(
	    "  auth = \"oauth2\";\n"
	    "  oauth2: { provider = \"google\"; client_id = \"x.apps.googleusercontent.com\";\n"
	    "    refresh_token_file = \"refresh.token\"; };\n",
	    NULL, &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_null(c->mailboxes[0]->ep.oauth2->refresh_token);
	assert_non_null(c->mailboxes[0]->ep.oauth2->refresh_token_file);
	conf_free(&c);
	write_secret("refresh.token", "1.refresh-token-value\n", 0600);
	/* a generic provider has no device endpoint unless one is given */
	c = load("  auth = \"oauth2\";\n"
		 "  oauth2: { provider = \"generic\"; token_url = \"https://idp.example/t\";\n"
		 "    client_id = \"c\"; client_secret_file = \"client.secret\"; };\n",
		 NULL, &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_null(c->mailboxes[0]->ep.oauth2->device_url);
	conf_free(&c);
}

/* A generic provider with its own URL, scope, CA file and timeout; a refresh token from a
 * systemd credential is marked read-only (rotation cannot be written back there). */
static void test_generic_and_credential(void **state)
{
	char *creds = g_build_filename(dir, "creds", NULL);
	char *tok = g_build_filename(creds, "mail-refresh", NULL);
	struct errbuf err = {{0}};
	struct spoc_conf *c;

	(void)state;
	write_secret("ca.pem", "not parsed here\n", 0644);
	g_mkdir(creds, 0700);
	assert_true(g_file_set_contents(tok, "cred-refresh\n", -1, NULL));
	assert_int_equal(g_chmod(tok, 0440), 0);
	g_setenv("CREDENTIALS_DIRECTORY", creds, TRUE);
	c = load("  auth = \"oauth2\";\n"
		 "  oauth2: { provider = \"generic\"; token_url = \"https://127.0.0.1:8443/t\";\n"
		 "    scope = \"mail\"; client_id = \"spocd\"; grant = \"refresh_token\";\n"
		 "    ca_file = \"ca.pem\"; timeout = 5;\n"
		 "    refresh_token_credential = \"mail-refresh\"; };\n",
		 NULL, &err);
	g_unsetenv("CREDENTIALS_DIRECTORY");
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_string_equal(c->mailboxes[0]->ep.oauth2->token_url, "https://127.0.0.1:8443/t");
	assert_string_equal(c->mailboxes[0]->ep.oauth2->scope, "mail");
	assert_int_equal(c->mailboxes[0]->ep.oauth2->timeout_s, 5);
	assert_true(g_str_has_suffix(c->mailboxes[0]->ep.oauth2->ca_file, "/ca.pem"));
	assert_string_equal(c->mailboxes[0]->ep.oauth2->refresh_token, "cred-refresh");
	assert_string_equal(c->mailboxes[0]->ep.oauth2->refresh_token_file, tok);
	assert_true(c->mailboxes[0]->ep.oauth2->refresh_token_read_only);
	conf_free(&c);
	g_free(tok);
	g_free(creds);
}

/* A Google service account: its JSON key read whole (several lines), the mailbox it acts for
 * the endpoint's user unless subject says otherwise; no client id or secret needed. */
static void test_service_account(void **state)
{
	struct errbuf err = {{0}};
	struct spoc_conf *c;

	(void)state;
	c = load(
	    "  auth = \"oauth2\";\n"
	    "  oauth2: { provider = \"google\"; grant = \"jwt_bearer\";\n"
	    "    service_account_file = \"sa.json\"; };\n",
	    "  user = \"help@contoso.example\";\n  auth = \"oauth2\";\n"
	    "  oauth2: { provider = \"google\"; grant = \"jwt_bearer\";\n"
	    "    service_account_file = \"sa.json\"; subject = \"sender@contoso.example\"; };\n",
	    &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(c->mailboxes[0]->ep.oauth2->grant, SPOC_OAUTH2_JWT_BEARER);
	assert_non_null(strstr(c->mailboxes[0]->ep.oauth2->service_account_key,
			       "\"private_key\": \"-----BEGIN PRIVATE KEY-----\\nMII\"\n"));
	assert_string_equal(c->mailboxes[0]->ep.oauth2->subject, "help@contoso.example");
	assert_string_equal(c->smtp.ep.oauth2->subject, "sender@contoso.example");
	assert_null(c->mailboxes[0]->ep.oauth2->client_id);
	assert_string_equal(c->mailboxes[0]->ep.oauth2->scope, "https://mail.google.com/");
	conf_free(&c);
	/* the key is a secret like any other */
	write_secret("sa.json", "{}\n", 0644);
	assert_null(load("  auth = \"oauth2\";\n"
			 "  oauth2: { provider = \"google\"; grant = \"jwt_bearer\";\n"
			 "    service_account_file = \"sa.json\"; };\n",
			 NULL, &err));
	assert_non_null(strstr(err.msg, "imap.oauth2.service_account_file"));
	assert_non_null(strstr(err.msg, "has mode 0644"));
	write_secret("sa.json", SA_JSON, 0600);
}

/* Every mistake refused with the setting's full name and what to do. */
static void test_refusals(void **state)
{
	static const struct {
		const char *imap, *want1, *want2;
	} bad[] = {
	    {"  auth = \"oauth\";\n", "imap.auth", "\"password\", \"oauth2\""},
	    {"  auth = \"oauth2\";\n", "imap.oauth2", "needs an oauth2 group"},
	    {"  auth = \"oauth2\";\n  oauth2: { client_id = \"c\"; };\n", "imap.oauth2.provider",
	     "missing"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"yahoo\"; };\n", "imap.oauth2.provider",
	     "\"yahoo\" is not allowed"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; client_id = \"c\";\n"
	     "  client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.tenant", "missing"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"a/b\";\n"
	     "  client_id = \"c\"; client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.tenant", "is not a tenant"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; };\n",
	     "imap.oauth2.client_secret_file", "needs the client secret"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"google\"; client_id = \"c\";\n"
	     "  grant = \"client_credentials\"; client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.grant", "Google issues no mail tokens"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"google\"; client_id = \"c\";\n"
	     "  grant = \"jwt_bearer\"; };\n",
	     "imap.oauth2.service_account_file", "needs the service account's JSON key"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  grant = \"jwt_bearer\"; service_account_file = \"sa.json\"; };\n",
	     "imap.oauth2.grant", "for Microsoft's certificate use \"client_credentials\""},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"google\"; grant = \"jwt_bearer\";\n"
	     "  service_account_file = \"sa.json\"; client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.client_secret_file", "is not used with grant = \"jwt_bearer\""},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"google\"; client_id = \"c\";\n"
	     "  refresh_token_file = \"refresh.token\"; subject = \"x@y\"; };\n",
	     "imap.oauth2.grant", "need grant = \"jwt_bearer\""},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_certificate_file = \"c.pem\"; };\n",
	     "imap.oauth2.client_key_file", "missing: client_certificate_file needs"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_key_file = \"client.secret\"; };\n",
	     "imap.oauth2.client_certificate_file", "missing: client_key_file needs"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_secret_file = \"client.secret\";\n"
	     "  client_certificate_file = \"c.pem\"; client_key_file = \"client.secret\"; };\n",
	     "imap.oauth2.client_certificate_file", "not both"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"generic\"; client_id = \"c\";\n"
	     "  client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.token_url", "needs the token endpoint"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"generic\"; client_id = \"c\";\n"
	     "  token_url = \"http://idp.example/token\";\n"
	     "  client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.token_url", "must be an https:// URL"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"generic\"; client_id = \"c\";\n"
	     "  token_url = \"https://u:p@idp.example/token\";\n"
	     "  client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.token_url", "must not hold a user or password"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c d\"; client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.client_id", "is not a client id"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_secret_file = \"client.secret\"; tokenurl = \"x\"; };\n",
	     "imap.oauth2.tokenurl", "unknown setting"},
	    {"  auth = \"oauth2\";\n  password_file = \"client.secret\";\n"
	     "  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_secret_file = \"client.secret\"; };\n",
	     "imap.password_file", "is for auth = \"password\""},
	    {"  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_secret_file = \"client.secret\"; };\n"
	     "  password_file = \"client.secret\";\n",
	     "imap.oauth2", "only with auth = \"oauth2\""},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_secret_file = \"nowhere.secret\"; };\n",
	     "imap.oauth2.client_secret_file", "cannot read"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; grant = \"refresh_token\"; };\n",
	     "imap.oauth2.refresh_token_file", "needs the refresh token"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_secret_file = \"client.secret\";\n"
	     "  refresh_token_file = \"refresh.token\"; };\n",
	     "imap.oauth2.grant", "a refresh token is set"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\"; tenant = \"t\";\n"
	     "  client_id = \"c\"; client_secret_file = \"client.secret\";\n"
	     "  client_secret_credential = \"x\"; };\n",
	     "imap.oauth2.client_secret_credential", "not both"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"generic\"; client_id = \"c\";\n"
	     "  token_url = \"https://idp.example/token\"; device_url = \"http://idp.example/d\";\n"
	     "  client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.device_url", "must be an https:// URL"},
	    {"  auth = \"oauth2\";\n  oauth2: { provider = \"generic\"; client_id = \"c\";\n"
	     "  token_url = \"https://idp.example/token\"; scope = \"\";\n"
	     "  client_secret_file = \"client.secret\"; };\n",
	     "imap.oauth2.scope", "is not a scope list"},
	};
	struct errbuf err = {{0}};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct spoc_conf *c = load(bad[i].imap, NULL, &err);

		if (c != NULL)
			fail_msg("case %zu accepted:\n%s", i, bad[i].imap);
		if (strstr(err.msg, bad[i].want1) == NULL || strstr(err.msg, bad[i].want2) == NULL)
			fail_msg("case %zu: \"%s\" does not say \"%s\" and \"%s\"", i, err.msg,
				 bad[i].want1, bad[i].want2);
		/* the file and line are named too */
		assert_non_null(strstr(err.msg, "spocd.conf"));
	}
	/* smtp: a user is required for OAuth, and the password settings are refused there too */
	assert_null(load(MS_APP,
			 "  auth = \"oauth2\";\n  oauth2: { provider = \"microsoft\";\n"
			 "  tenant = \"t\"; client_id = \"c\";\n"
			 "  client_secret_file = \"client.secret\"; };\n",
			 &err));
	assert_non_null(strstr(err.msg, "smtp.user"));
	assert_non_null(strstr(err.msg, "missing"));
}

/* The secrets are files others must not read, exactly as password files. */
static void test_secret_modes(void **state)
{
	struct errbuf err = {{0}};

	(void)state;
	write_secret("client.secret", "app-secret-value\n", 0644);
	assert_null(load(MS_APP, NULL, &err));
	assert_non_null(strstr(err.msg, "imap.oauth2.client_secret_file"));
	assert_non_null(strstr(err.msg, "has mode 0644"));
	write_secret("client.secret", "two\nlines\n", 0600);
	assert_null(load(MS_APP, NULL, &err));
	assert_non_null(strstr(err.msg, "on one line"));
	write_secret("client.secret", "app-secret-value\n", 0600);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_microsoft_client_credentials),
	    cmocka_unit_test(test_refresh_token_defaults),
	    cmocka_unit_test(test_generic_and_credential),
	    cmocka_unit_test(test_service_account),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_secret_modes),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
