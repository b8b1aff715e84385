/* SLA warnings and breaches: the watcher that tells the assignee (or the ticket's team, or
 * sla.notify, or every agent) when a running target has used sla.warn_share percent of its time
 * and when it is breached, once per ticket, target, level and due time: the primary key of
 * sla_notices says what went out, so two spocd processes watching at once queue each notice once;
 * the daemon runs it only while it holds the "sla-watch" lease (sql/026_leases.sql).
 * The decision is pure (sla_watch_decide, in sla.h); sla_watch_run() drives it over the open
 * tickets, and the store part (store_sla.h) holds the SQL. */
#ifndef SPOC_SLA_WATCH_H
#define SPOC_SLA_WATCH_H

#include "conf.h"
#include "sla.h"
#include "store_sla.h"

#include <stdint.h>

struct store;
struct store_lease;

/* Queues the SLA notices that open tickets (new, in-progress; a pending ticket's clock is
 * stopped) call for at now, each
 * ticket in its own transaction: a notice is recorded in sla_notices and queued in the outbox
 * (in the desk's default language) to the active assignee; else the active agents of the
 * ticket's team; else the addresses of sla.notify; else every active agent. A target breached
 * before its warning went out gets the breach only. *queued_r counts the outbox rows queued
 * (one per recipient). SPOC_ETEMP when the database failed (what was committed stays);
 * SPOC_EPERM when some ticket's notices could not be queued (the others were), with the first
 * such ticket in err. Must run outside a transaction. lease (NULL: none, for an operator's
 * run by hand) is the "sla-watch" lease the caller holds: each ticket's transaction commits only
 * while its holder and fencing are still the caller's; when they are not, that transaction is
 * rolled back, the run ends (SPOC_OK) and lease->fencing is 0. */
int sla_watch_run(const struct spoc_conf *conf, struct store *st, struct store_lease *lease,
		  GDateTime *now, unsigned *queued_r, struct errbuf *err);

#endif
