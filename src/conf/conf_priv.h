/* What the conf_*.c files share and nobody else sees: the libconfig reader and its checked
 * getters. Each getter records the first error (file, line, setting, what is allowed) in the
 * reader and returns the default, so a reader can go on and the caller checks r->failed once. */
#ifndef SPOC_CONF_PRIV_H
#define SPOC_CONF_PRIV_H

#include "conf.h"

#include <libconfig.h>

struct reader {
	config_t cfg;
	const char *path;
	char *dir; /* the config file's directory: relative paths start there */
	struct errbuf *err;
	gboolean failed;
};

/* Line of the setting in the file, 0 when absent. */
int conf_line_of(struct reader *r, const char *name);
/* Records an error about setting name, unless one was recorded already. */
void conf_fail(struct reader *r, const char *name, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* A string setting (UTF-8); dflt when absent, and an error when dflt is NULL. Caller frees. */
char *conf_get_string(struct reader *r, const char *name, const char *dflt);
int64_t conf_get_int64(struct reader *r, const char *name, int64_t dflt, int64_t min, int64_t max);
gboolean conf_get_bool(struct reader *r, const char *name, gboolean dflt);
int conf_get_int(struct reader *r, const char *name, int dflt, int min, int max);
/* Index of the value in allowed (NULL-terminated), or dflt_index when the setting is absent. */
int conf_get_choice(struct reader *r, const char *name, const char *const *allowed, int dflt_index);
/* The one line of a password or secret file (one trailing newline dropped); NULL with the
 * error recorded against setting name. Caller wipes and frees. */
char *conf_read_secret(struct reader *r, const char *name, const char *file);
/* The whole text of a secret file of several lines (a JSON key), with the same checks as
 * conf_read_secret(); NULL with the error recorded. Caller wipes and frees. */
char *conf_read_secret_text(struct reader *r, const char *name, const char *file);
/* The path of systemd credential name ($CREDENTIALS_DIRECTORY/name, from LoadCredential=);
 * NULL with the error recorded against setting when there is no such directory or the name is
 * not a plain file name. Caller frees. */
char *conf_credential(struct reader *r, const char *setting, const char *name);
/* section.auth: TRUE when it is "oauth2", with section.user and the section.oauth2 group read
 * into ep (conf_oauth.c); FALSE for "password" (the default), ep left alone. */
gboolean conf_read_auth(struct reader *r, const char *section, struct spoc_endpoint *ep);
/* path made absolute against the config file's directory; takes and returns ownership. */
char *conf_resolve(struct reader *r, char *path);

#endif
