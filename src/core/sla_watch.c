/* The SLA watcher: reads the open tickets whose targets still run, decides for each target
 * whether it is breached or has used sla.warn_share percent of its time, and has store_sla.c
 * record and queue each notice once. The share is measured in the minutes the target counts
 * (business time, or every minute for 24x7), so a ticket that came in on Friday evening is not
 * "90% gone" on Monday morning before anyone could work on it. A ticket does not record which
 * calendar its target ran on: the watcher takes the calendar the configuration gives the
 * ticket's priority and kind today, which is the one ingest used unless either changed since;
 * that only moves the warning, never the breach, which is the due time stored on the ticket.
 * A pending ticket is not read (its clock is stopped); the minutes it spent paused before, which
 * its resolution_due holds, are left out of the share. */
#include "sla_watch.h"

#include "store.h"

/* Tickets read per query: the candidates are walked by id, so a run sees every one of them
 * without holding a cursor open. */
#define SLA_WATCH_BATCH 200

/* Unix microseconds as a GDateTime in UTC; caller unrefs. */
static GDateTime *from_us(int64_t us)
{
	GDateTime *s = g_date_time_new_from_unix_utc(us / G_USEC_PER_SEC);
	GDateTime *t = g_date_time_add(s, us % G_USEC_PER_SEC);

	g_date_time_unref(s);
	return t;
}

/* The notices one ticket calls for at now, into notices (struct sla_watch_notice). */
static void ticket_notices(const struct spoc_conf *conf, const struct sla_watch_ticket *t,
			   GDateTime *now, GArray *notices)
{
	const struct sla_conf *sla = conf->sla;
	const struct sla_calendar *cal =
	    sla != NULL ? sla_target(sla, t->priority, t->kind)->calendar : NULL;
	int warn = sla != NULL && sla->warn_share > 0 ? sla->warn_share : SLA_WARN_SHARE;
	GDateTime *created = from_us(t->created_us);

	for (int k = SLA_WATCH_FIRST_RESPONSE; k <= SLA_WATCH_RESOLUTION; k++) {
		struct sla_watch_notice n = {
		    .ticket_id = t->id,
		    .target = (enum sla_watch_target)k,
		    .due_us = t->due_us[k],
		    .language = conf->desk.default_language,
		    .notify = sla != NULL ? (const char *const *)sla->notify : NULL,
		};
		GDateTime *due, *start = g_date_time_ref(created);

		if (t->due_us[k] == 0 || t->breach_noted[k]) {
			g_date_time_unref(start);
			continue;
		}
		if (k == SLA_WATCH_RESOLUTION && t->paused_minutes > 0) {
			/* resolution_due holds the minutes paused: the share counts them out, as if
			 * the clock had started that much later */
			GDateTime *later =
			    cal != NULL ? sla_due(cal, created, t->paused_minutes)
					: g_date_time_add_minutes(created, t->paused_minutes);

			if (later != NULL) {
				g_date_time_unref(start);
				start = later;
			}
		}
		due = from_us(t->due_us[k]);
		n.level = sla_watch_decide(cal, start, due, now, warn, &n.share);
		g_date_time_unref(due);
		g_date_time_unref(start);
		/* a breach whose warning never went out (spocd was down, the target was short)
		 * is told as the breach alone: a warning after the fact says nothing */
		if (n.level == SLA_WATCH_BREACH || (n.level == SLA_WATCH_WARNING && !t->warned[k]))
			g_array_append_val(notices, n);
	}
	g_date_time_unref(created);
}

/* Queues one ticket's notices in one transaction; *queued_r grows by the outbox rows. With a
 * lease, the transaction commits only while holder and fencing are still ours: else it is rolled
 * back and lease->fencing becomes 0. */
static int ticket_queue(struct store *st, struct store_lease *lease,
			const struct sla_watch_ticket *t, GArray *notices, unsigned *queued_r,
			struct errbuf *err)
{
	unsigned rows = 0, total = 0;
	gboolean ours = TRUE;
	int rc;

	if ((rc = store_begin(st, err)) != SPOC_OK)
		return rc;
	for (guint i = 0; i < notices->len && rc == SPOC_OK; i++) {
		rc = store_sla_notice(st, &g_array_index(notices, struct sla_watch_notice, i),
				      &rows, err);
		total += rows;
	}
	if (rc == SPOC_OK && lease != NULL)
		rc = store_lease_check(st, lease, &ours, err);
	if (rc == SPOC_OK && !ours) {
		store_rollback(st);
		lease->fencing = 0;
		return SPOC_OK;
	}
	if (rc == SPOC_OK)
		rc = store_commit(st, err);
	if (rc != SPOC_OK) {
		store_rollback(st);
		return errbuf_prefix(err, rc, "ticket %" G_GINT64_FORMAT ": SLA notice", t->id);
	}
	*queued_r += total;
	return SPOC_OK;
}

int sla_watch_run(const struct spoc_conf *conf, struct store *st, struct store_lease *lease,
		  GDateTime *now, unsigned *queued_r, struct errbuf *err)
{
	GArray *notices = g_array_new(FALSE, TRUE, sizeof(struct sla_watch_notice));
	struct errbuf why = {{0}};
	int64_t after = 0;
	int rc = SPOC_OK, failed = SPOC_OK;
	guint got;

	*queued_r = 0;
	do {
		GArray *tickets = NULL;

		if ((rc = store_sla_candidates(st, after, SLA_WATCH_BATCH, &tickets, err)) !=
		    SPOC_OK)
			break;
		got = tickets->len;
		for (guint i = 0; i < tickets->len && rc == SPOC_OK; i++) {
			const struct sla_watch_ticket *t =
			    &g_array_index(tickets, struct sla_watch_ticket, i);

			after = t->id;
			g_array_set_size(notices, 0);
			ticket_notices(conf, t, now, notices);
			if (notices->len == 0)
				continue;
			rc = ticket_queue(st, lease, t, notices, queued_r, &why);
			if (lease != NULL && lease->fencing == 0)
				break;
			/* one ticket whose notice the database refuses must not silence the
			 * others: it is reported, and the next run tries it again */
			if (rc != SPOC_OK && err != NULL && (rc != SPOC_EPERM || failed == SPOC_OK))
				g_strlcpy(err->msg, why.msg, sizeof(err->msg));
			if (rc == SPOC_EPERM) {
				failed = SPOC_EPERM;
				rc = SPOC_OK;
			}
		}
		g_array_unref(tickets);
	} while (rc == SPOC_OK && got == SLA_WATCH_BATCH && (lease == NULL || lease->fencing != 0));
	g_array_unref(notices);
	return rc != SPOC_OK ? rc : failed;
}
