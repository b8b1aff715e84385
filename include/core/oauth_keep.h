/* The database as the keeper of refresh tokens rotated from read-only systemd credentials
 * (net/oauth2.h struct oauth2_keeper): sealed under a key derived from the HMAC key family. */
#ifndef SPOC_OAUTH_KEEP_H
#define SPOC_OAUTH_KEEP_H

#include "conf.h"

/* Installs the database of *conf (read at each use, so a reload is followed) as oauth2's
 * keeper. */
void oauth_keep_install(struct spoc_conf *const *conf);

#endif
