/* The database side of the metrics: what the notifier reads now and then for the gauges of
 * metrics.h (outbox depth and age, open tickets past their SLA). */
#ifndef SPOC_STORE_METRICS_H
#define SPOC_STORE_METRICS_H

#include "metrics.h"
#include "spoc.h"

struct store;

/* Fills *s from one statement (outside or inside a transaction; it changes nothing): pending,
 * held and failed outbox rows, the age of the oldest pending row that is due (from when it was
 * queued, or pushed again by an operator; 0 when none is due), open tickets past a due time
 * they have not met, and sla-breach notifications sent. SPOC_OK / SPOC_ETEMP. */
int store_metrics_snapshot(struct store *st, struct metrics_snapshot *s, struct errbuf *err);

#endif
