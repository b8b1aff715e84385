/* Where the HMAC keys of spocd's Message-IDs and reply tokens come from: the configured secret
 * files, else the random secret spocd keeps in its database. Ingest, replay and the notifier
 * share it. */
#ifndef SPOC_KEYS_H
#define SPOC_KEYS_H

#include "conf.h"
#include "store.h"
#include "thread.h"

/* SPOC_OK with *keys_r (caller frees with thread_keys_free()); SPOC_EPERM for unusable secrets,
 * SPOC_ETEMP when the database could not be asked. */
int keys_load(const struct spoc_conf *conf, struct store *st, struct thread_keys **keys_r,
	      struct errbuf *err);

#endif
