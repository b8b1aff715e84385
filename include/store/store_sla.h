/* The SQL of the SLA watcher (sla_watch.h): the open tickets whose targets still run, and each
 * warning or breach notice recorded and queued once; and the SLA policy the database keeps to
 * recompute due times itself (sql/020_sla_clocks.sql). */
#ifndef SPOC_STORE_SLA_H
#define SPOC_STORE_SLA_H

#include "sla.h"

#include <stdint.h>

struct store;

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
	int paused_minutes;	  /* calendar minutes paused (pending) before, in resolution_due */
};

/* Up to limit open tickets not pending (a pending ticket's clock is stopped) with id above
 * after_id, by id, each with a running target whose breach is not recorded yet. A new array of
 * struct sla_watch_ticket in *tickets_r. */
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

/* Stores the policy (sla_conf_policy_json()) unless it is the one stored, in one transaction of
 * its own; when it changed, every open ticket's due times are recomputed from it. *recomputed_r
 * (may be NULL) gets how many tickets changed, -1 when the policy was already stored. A zone
 * PostgreSQL does not know is SPOC_EPERM with the zone named. */
int store_sla_policy_set(struct store *st, const char *policy_json, int *recomputed_r,
			 struct errbuf *err);

#endif
