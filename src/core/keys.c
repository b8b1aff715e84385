/* The HMAC keys of Message-IDs and reply tokens, from the configuration or the database. */
#include "keys.h"

#include <string.h>

int keys_load(const struct spoc_conf *conf, struct store *st, struct thread_keys **keys_r,
	      struct errbuf *err)
{
	char *secret = NULL;
	int rc;

	*keys_r = NULL;
	if (conf->threading.secrets != NULL) {
		*keys_r = thread_keys_new((const char *const *)conf->threading.secrets, err);
		return *keys_r != NULL ? SPOC_OK : SPOC_EPERM;
	}
	if ((rc = store_secret(st, "threading", &secret, err)) != SPOC_OK)
		return rc;
	*keys_r = thread_keys_new((const char *const[]){secret, NULL}, err);
	memset(secret, 0, strlen(secret));
	g_free(secret);
	return *keys_r != NULL ? SPOC_OK : SPOC_EPERM;
}
