/* SLA warnings and breaches: the watcher that tells the assignee (or the ticket's team, or
 * sla.notify, or every agent) when a running target has used sla.warn_share percent of its time
 * and when it is breached, once per ticket, target and level: the primary key of sla_notices says
 * what went out, so two spocd processes watching at once queue each notice once. The decision is
 * pure (sla_watch_decide); sla_watch_run() drives it over the open tickets, and the store part
 * (store_sla.c) holds the SQL. */
#ifndef SPOC_SLA_WATCH_H
#define SPOC_SLA_WATCH_H

#include "sla.h"

#include <stdint.h>

struct store;

enum sla_watch_level {
	SLA_WATCH_NONE,
	SLA_WATCH_WARNING,
	SLA_WATCH_BREACH,
};

/* What a running target that started at created and falls due at due calls for at now: a
 * breach once now is not before due; a warning when the share of the target's time used has
 * reached warn_share percent; else nothing. The share counts cal's minutes (business time, or
 * every minute for 24x7; NULL counts every minute too), and plain minutes when cal counts none
 * between created and due (a target that was not on this calendar). *share_r (may be NULL) gets
 * the percent used: 100 at a breach, at most 99 before it. */
enum sla_watch_level sla_watch_decide(const struct sla_calendar *cal, GDateTime *created,
				      GDateTime *due, GDateTime *now, int warn_share, int *share_r);

/* Queues the SLA notices that open tickets (new, in-progress, pending) call for at now, each
 * ticket in its own transaction: a notice is recorded in sla_notices and queued in the outbox
 * (in the desk's default language) to the active assignee; else the active agents of the
 * ticket's team; else the addresses of sla.notify; else every active agent. A target breached
 * before its warning went out gets the breach only. *queued_r counts the outbox rows queued
 * (one per recipient). SPOC_ETEMP when the database failed (what was committed stays);
 * SPOC_EPERM when some ticket's notices could not be queued (the others were), with the first
 * such ticket in err. Must run outside a transaction. */
int sla_watch_run(const struct spoc_conf *conf, struct store *st, GDateTime *now,
		  unsigned *queued_r, struct errbuf *err);

/* ---- the store part (store_sla.c) ---- */

enum sla_watch_target {
	SLA_WATCH_FIRST_RESPONSE,
	SLA_WATCH_RESOLUTION,
};

/* A ticket with a target still running whose breach has not been recorded. Times are Unix
 * microseconds; a due of 0 means that target is not running (met, resolved or none). */
struct sla_watch_ticket {
	int64_t id;
	int priority;
	enum spoc_kind kind;
	int64_t created_us;
	int64_t due_us[2];	  /* [enum sla_watch_target] */
	gboolean warned[2];	  /* its warning is recorded */
	gboolean breach_noted[2]; /* its breach is recorded */
};

/* "first-response" / "resolution", as sla_notices and outbox.detail spell them. */
const char *sla_watch_target_name(enum sla_watch_target target);

/* Up to limit open tickets with id above after_id, by id, each with a running target whose
 * breach is not recorded yet. A new array of struct sla_watch_ticket in *tickets_r. */
int store_sla_candidates(struct store *st, int64_t after_id, int limit, GArray **tickets_r,
			 struct errbuf *err);

/* One notice to queue with store_sla_notice(). */
struct sla_watch_notice {
	int64_t ticket_id;
	enum sla_watch_target target;
	enum sla_watch_level level; /* SLA_WATCH_WARNING or SLA_WATCH_BREACH */
	int64_t due_us;
	int share; /* percent, 100 for a breach */
	const char *language;
	const char *const *notify; /* sla.notify, NULL-terminated; may be NULL */
};

/* In the caller's transaction: records the notice in sla_notices unless it is there already
 * (the primary key decides, also against a concurrent spocd), and only then queues it in the
 * outbox to its recipients. When nobody would receive it (no active agent, no sla.notify)
 * nothing is recorded, so it goes out once someone can read it. *rows_r is how many outbox rows
 * were queued: 0 when the notice had gone out already. */
int store_sla_notice(struct store *st, const struct sla_watch_notice *n, unsigned *rows_r,
		     struct errbuf *err);

#endif
