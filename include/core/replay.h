/* Replaying a quarantined message once its cause is fixed (a new spocd, a raised limit): the same
 * parse and decisions as the ingest pass, in one transaction that locks the entry, so a replay
 * creates at most one ticket however often or however concurrently it is asked for. */
#ifndef SPOC_REPLAY_H
#define SPOC_REPLAY_H

#include "conf.h"
#include "store.h"

struct replay_result {
	gboolean already;	/* replayed before: outcome and ticket are from then */
	char outcome[16];	/* "ticket", "reply", "duplicate", "automatic" */
	char ticket_number[32]; /* "" when none */
};

/* SPOC_OK with *r filled; SPOC_EPERM when there is no such entry or the message still cannot be
 * taken (err says why; the reason is also stored on the entry); SPOC_ETEMP on database trouble.
 * A replay judges spam again, as ingest would; with release, an operator has said the message is
 * not spam, and it is taken as if it arrived now (its SLA clocks start now), whatever the spam
 * verdicts say. Even then a sender whose domain failed DMARC is not acknowledged. */
int replay_quarantine(const struct spoc_conf *conf, struct store *st, int64_t id,
		      gboolean release, struct replay_result *r, struct errbuf *err);

#endif
