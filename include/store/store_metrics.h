/* The database side of the metrics: what the notifier reads now and then for the gauges of
 * metrics.h (outbox depth and age, open tickets past their SLA). */
#ifndef SPOC_STORE_METRICS_H
#define SPOC_STORE_METRICS_H

#include "spoc.h"

#include <glib.h>
#include <stdint.h>

struct store;

/* Gauges read from the database by the notifier (store_metrics_snapshot()): pending rows, age of
 * the oldest due one, held and failed rows, and open tickets whose SLA target is breached, shown
 * as spocd_outbox_pending, spocd_outbox_oldest_pending_age_seconds, spocd_outbox_held,
 * spocd_outbox_failed, spocd_sla_breached_open_tickets, spocd_sla_breach_notices_total and
 * spocd_sla_paused_tickets (none of them before the first snapshot), and the week's satisfaction
 * ratings by team. A pending ticket's clock is stopped: it is paused, never breached. */
struct metrics_snapshot {
	int64_t outbox_pending, outbox_held, outbox_failed;
	double outbox_oldest_age_s;
	int64_t sla_breached_open;
	int64_t sla_notices_sent; /* sla-breach notifications ever sent */
	int64_t sla_paused;	  /* open tickets whose resolution clock is stopped (pending) */
	/* customer satisfaction: struct metrics_csat *, one per team with a rating given in the
	 * last 7 days (spocd_csat_ratings, spocd_csat_average); NULL: none. Owned: freed by
	 * store_metrics_snapshot_clear(). */
	GPtrArray *csat;
};

/* The ratings (sql/021_csat.sql) given in the last 7 days to one team's tickets. */
struct metrics_csat {
	char *team;	  /* "" for tickets of no team */
	int64_t count[5]; /* by rating, count[0] for 1 .. count[4] for 5 */
};

/* Fills *s from one statement (outside or inside a transaction; it changes nothing): pending,
 * held and failed outbox rows, the age of the oldest pending row that is due (from when it was
 * queued, or pushed again by an operator; 0 when none is due), open tickets not pending past a
 * due time they have not met, sla-breach notifications sent, and pending tickets. SPOC_OK /
 * SPOC_ETEMP. */
int store_metrics_snapshot(struct store *st, struct metrics_snapshot *s, struct errbuf *err);
/* Frees what *s owns (s->csat). */
void store_metrics_snapshot_clear(struct metrics_snapshot *s);

#endif
