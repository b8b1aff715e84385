/* OAuth 2.0 login for a mailbox or the SMTP server (auth = "oauth2"): where the access token
 * comes from. Read and checked by conf_oauth.c; tokens themselves are fetched by net/oauth2.c. */
#ifndef SPOC_CONF_OAUTH_H
#define SPOC_CONF_OAUTH_H

#include "spoc.h"

enum spoc_oauth2_provider {
	SPOC_OAUTH2_MICROSOFT, /* Microsoft 365 / Exchange Online (Entra ID) */
	SPOC_OAUTH2_GOOGLE,    /* Google Workspace / Gmail */
	SPOC_OAUTH2_GENERIC,   /* any RFC 6749 token endpoint: token_url required */
};

enum spoc_oauth2_grant {
	SPOC_OAUTH2_CLIENT_CREDENTIALS, /* app-only: client id + secret (RFC 6749 4.4) */
	SPOC_OAUTH2_REFRESH_TOKEN,	/* a person consented once: refresh token (RFC 6749 6) */
	/* a service account's signed JWT (RFC 7523), e.g. Google's with domain-wide delegation */
	SPOC_OAUTH2_JWT_BEARER,
};

struct spoc_oauth2_conf {
	enum spoc_oauth2_provider provider;
	enum spoc_oauth2_grant grant;
	char *token_url; /* https:// only; the provider's default unless set */
	/* the device authorization endpoint (RFC 8628) spocctl oauth login starts at; the
	 * provider's default unless set; NULL: none known (generic without device_url) */
	char *device_url;
	char *tenant; /* Microsoft: the directory (tenant id or domain); NULL otherwise */
	char *client_id;
	char *scope; /* space-separated; NULL: none sent (generic provider without scope) */
	/* read from client_secret_file / client_secret_credential; NULL: a public client (only
	 * with grant = "refresh_token"), or one proven by its certificate (client_key below) */
	char *client_secret;
	char *client_secret_file;
	/* grant = "client_credentials" with a certificate instead of a secret (Microsoft): the
	 * certificate (PEM, as read from client_certificate_file) and its private key (PEM, from
	 * client_key_file / client_key_credential), which signs the client assertion; key_setting
	 * and certificate_setting name their settings for errors ("spocd.conf:12:
	 * imap.oauth2.client_key_file") */
	char *client_certificate;
	char *client_certificate_file;
	char *client_key;
	char *client_key_file;
	char *key_setting;
	char *certificate_setting;
	/* grant = "refresh_token": the token as read at start and the file it came from, where a
	 * token the server rotates is written back; read-only when it is a systemd credential.
	 * An empty file is allowed (refresh_token NULL): spocctl oauth login fills it. */
	char *refresh_token;
	char *refresh_token_file;
	gboolean refresh_token_read_only;
	/* grant = "jwt_bearer": the service account's JSON key (client_email, private_key...) as
	 * read from service_account_file / _credential, and the mailbox the token acts for (the
	 * endpoint's user unless subject says otherwise) */
	char *service_account_key;
	char *service_account_file;
	char *subject;
	char *ca_file; /* trust for the token endpoint; NULL: the system store */
	int timeout_s; /* the whole token request */
};

/* The provider's name as written in the configuration ("microsoft"...); static. */
const char *conf_oauth2_provider_name(enum spoc_oauth2_provider p);

/* Frees o (secrets wiped first) and sets it to NULL. */
void conf_oauth2_free(struct spoc_oauth2_conf **o);

#endif
