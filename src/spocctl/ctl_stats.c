/* `spocctl stats` and `spocctl health`: the desk in numbers for people, and the checks a
 * monitoring system runs (exit 0 healthy, 1 not, 75 when the database cannot be reached): every
 * mailbox read recently, no notification stuck in the outbox, no SLA breach left without its
 * notice. */
#include "ctl.h"
#include "inspect.h"
#include "store_admin.h"

#include <string.h>

/* How long a notification may stay due before the outbox counts as stuck, at least (or three
 * poll intervals of the slowest mailbox when that is longer), and how long a breach may wait
 * for its notice: the notifier and the SLA watch run every minute or so. */
#define HEALTH_STUCK_MIN_S    (15 * 60)
#define HEALTH_BREACH_GRACE_S (15 * 60)
/* Weeks of satisfaction ratings shown: the current ISO week and the ones before it. */
#define STATS_CSAT_WEEKS 8

/* A duration for people: "45 s", "12 min", "2 h 05 min", "3 d 4 h". Caller frees. */
static char *duration(int64_t s)
{
	if (s < 120)
		return g_strdup_printf("%" G_GINT64_FORMAT " s", s);
	if (s < 3600)
		return g_strdup_printf("%" G_GINT64_FORMAT " min", s / 60);
	if (s < 86400)
		return g_strdup_printf("%" G_GINT64_FORMAT " h %02" G_GINT64_FORMAT " min",
				       s / 3600, s % 3600 / 60);
	return g_strdup_printf("%" G_GINT64_FORMAT " d %" G_GINT64_FORMAT " h", s / 86400,
			       s % 86400 / 3600);
}

/* ---- stats ---- */

/* "name n, name n, ..." of n counts */
static void print_counts(const char *label, const char *const *names, const int64_t *v, int n)
{
	ctl_say("%-34s", label);
	for (int i = 0; i < n; i++)
		ctl_say("%s%s %" G_GINT64_FORMAT, i > 0 ? ", " : "", names[i], v[i]);
	ctl_say("\n");
}

/* {"name":n,...} of n counts */
static void json_counts(GString *out, const char *const *names, const int64_t *v, int n)
{
	g_string_append_c(out, '{');
	for (int i = 0; i < n; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		json_string(out, names[i]);
		g_string_append_printf(out, ":%" G_GINT64_FORMAT, v[i]);
	}
	g_string_append_c(out, '}');
}

/* A share of n in percent, rounded to one decimal; 0 when total is 0. */
static double percent(int64_t n, int64_t total)
{
	return total > 0 ? (double)((n * 1000 + total / 2) / total) / 10.0 : 0;
}

/* ,"csat":{"weeks":N,"by_team_week":[{"team":...,"week":...,"count":...,"average":...,
 * "satisfied":...,"satisfied_pct":...},...]} */
static void csat_json(GString *out, const GPtrArray *csat)
{
	char avg[G_ASCII_DTOSTR_BUF_SIZE], pct[G_ASCII_DTOSTR_BUF_SIZE];

	g_string_append_printf(out, ",\"csat\":{\"weeks\":%d,\"by_team_week\":[", STATS_CSAT_WEEKS);
	for (guint i = 0; i < csat->len; i++) {
		const struct csat_week *w = g_ptr_array_index(csat, i);

		g_string_append(out, i > 0 ? ",{\"team\":" : "{\"team\":");
		json_string(out, w->team);
		g_string_append(out, ",\"week\":");
		json_string(out, w->week);
		g_ascii_formatd(avg, sizeof(avg), "%.2f", w->average);
		g_ascii_formatd(pct, sizeof(pct), "%.1f", percent(w->satisfied, w->count));
		g_string_append_printf(out,
				       ",\"count\":%" G_GINT64_FORMAT ",\"average\":%s"
				       ",\"satisfied\":%" G_GINT64_FORMAT ",\"satisfied_pct\":%s}",
				       w->count, avg, w->satisfied, pct);
	}
	g_string_append(out, "]}");
}

static void stats_json(const struct desk_stats *s, const GPtrArray *csat)
{
	static const char *const prios[] = {"P1", "P2", "P3", "P4", "P5"};
	GString *out = g_string_new("{\"tickets\":{\"by_status\":");

	json_counts(out, ticket_status_names, s->status, STATS_STATUSES);
	g_string_append(out, ",\"open\":{");
	for (int k = 0; k < STATS_KINDS; k++) {
		if (k > 0)
			g_string_append_c(out, ',');
		json_string(out, ticket_kind_names[k]);
		g_string_append_c(out, ':');
		json_counts(out, prios, s->open[k], 5);
	}
	g_string_append_printf(out,
			       "},\"created_today\":%" G_GINT64_FORMAT
			       ",\"created_7d\":%" G_GINT64_FORMAT "},\"ingested_24h\":",
			       s->created_today, s->created_7d);
	json_counts(out, stats_outcome_names, s->ingested_24h, STATS_OUTCOMES);
	g_string_append_printf(out, ",\"sent_24h\":%" G_GINT64_FORMAT ",\"outbox\":", s->sent_24h);
	json_counts(out, stats_state_names, s->outbox, STATS_STATES);
	g_string_truncate(out, out->len - 1);
	g_string_append_printf(out,
			       ",\"due\":%" G_GINT64_FORMAT
			       "},\"quarantine_waiting\":%" G_GINT64_FORMAT
			       ",\"sla_breached\":{\"first-response\":%" G_GINT64_FORMAT
			       ",\"resolution\":%" G_GINT64_FORMAT "},\"first_response_30d\":{"
			       "\"count\":%" G_GINT64_FORMAT ",\"mean_seconds\":",
			       s->outbox_due, s->quarantine_waiting, s->breached_first_response,
			       s->breached_resolution, s->responses_30d);
	if (s->mean_response_s >= 0)
		g_string_append_printf(out, "%" G_GINT64_FORMAT "}", s->mean_response_s);
	else
		g_string_append(out, "null}");
	csat_json(out, csat);
	g_string_append(out, "}\n");
	ctl_json_out(out->str);
	g_string_free(out, TRUE);
}

/* One line per team and ISO week: ratings, their mean, the share of satisfied ones (4-5). */
static void csat_text(const GPtrArray *csat)
{
	if (csat->len == 0) {
		ctl_say("%-34sno ratings in the last %d weeks\n",
			"Satisfaction (CSAT):", STATS_CSAT_WEEKS);
		return;
	}
	ctl_say("%-34s%-10s%8s%9s%11s  %s\n", "Satisfaction (CSAT):", "week", "ratings", "average",
		"satisfied", "team");
	for (guint i = 0; i < csat->len; i++) {
		const struct csat_week *w = g_ptr_array_index(csat, i);

		ctl_say("%-34s%-10s%8" G_GINT64_FORMAT "%9.2f%10.0f%%  %s\n", "", w->week, w->count,
			w->average, percent(w->satisfied, w->count),
			w->team[0] != '\0' ? ctl_line(w->team) : "(no team)");
	}
}

static void stats_text(const struct desk_stats *s, const GPtrArray *csat)
{
	int64_t total = 0, open_total = 0;
	char *mean;

	for (int i = 0; i < STATS_STATUSES; i++)
		total += s->status[i];
	print_counts("Tickets by status:", ticket_status_names, s->status, STATS_STATUSES);
	ctl_say("%-34s%" G_GINT64_FORMAT "\n", "Tickets in all:", total);
	ctl_say("%-34s%6s%6s%6s%6s%6s%8s\n", "Open tickets by kind and priority:", "P1", "P2", "P3",
		"P4", "P5", "total");
	for (int k = 0; k < STATS_KINDS; k++) {
		int64_t sum = 0;

		ctl_say("  %-32s", ticket_kind_names[k]);
		for (int p = 0; p < 5; p++) {
			ctl_say("%6" G_GINT64_FORMAT, s->open[k][p]);
			sum += s->open[k][p];
		}
		ctl_say("%8" G_GINT64_FORMAT "\n", sum);
		open_total += sum;
	}
	ctl_say("  %-32s%38" G_GINT64_FORMAT "\n", "all open", open_total);
	ctl_say("%-34stoday %" G_GINT64_FORMAT ", last 7 days %" G_GINT64_FORMAT "\n",
		"Tickets created:", s->created_today, s->created_7d);
	print_counts("Mail read in the last 24 h:", stats_outcome_names, s->ingested_24h,
		     STATS_OUTCOMES);
	ctl_say("%-34s%" G_GINT64_FORMAT "\n", "Notifications sent, last 24 h:", s->sent_24h);
	print_counts("Outbox:", stats_state_names, s->outbox, STATS_STATES);
	ctl_say("%-34s%" G_GINT64_FORMAT "\n", "  pending and due now:", s->outbox_due);
	ctl_say("%-34s%" G_GINT64_FORMAT "\n", "Quarantined, not replayed:", s->quarantine_waiting);
	ctl_say("%-34sfirst response %" G_GINT64_FORMAT ", resolution %" G_GINT64_FORMAT "\n",
		"Open tickets past an SLA target:", s->breached_first_response,
		s->breached_resolution);
	mean = s->mean_response_s >= 0 ? duration(s->mean_response_s) : g_strdup("-");
	ctl_say("%-34s%" G_GINT64_FORMAT " ticket%s, mean %s after creation\n",
		"First responses, last 30 days:", s->responses_30d,
		s->responses_30d == 1 ? "" : "s", mean);
	g_free(mean);
	csat_text(csat);
}

int ctl_stats(struct ctl *c, int argc, char **argv)
{
	struct errbuf err = {{0}};
	struct desk_stats s;
	GPtrArray *csat = NULL;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			ctl_err("stats: unexpected \"%s\"", argv[i]);
			return CTL_EXIT_USAGE;
		}
		c->json = TRUE;
	}
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	if ((rc = store_stats(c->st, &s, &err)) != SPOC_OK ||
	    (rc = store_csat_weeks(c->st, STATS_CSAT_WEEKS, &csat, &err)) != SPOC_OK)
		return ctl_fail(rc, &err);
	if (c->json)
		stats_json(&s, csat);
	else
		stats_text(&s, csat);
	g_ptr_array_unref(csat);
	return 0;
}

/* ---- health ---- */

static const struct ctl_column check_columns[] = {
    {.key = "check"}, {.key = "name"}, {.key = "ok"}, {.key = "detail"}};

/* One check: printed at once as a line "OK   what name: detail" (or "FAIL ..."), and kept as
 * a row of t for the JSON. Returns ok. */
static gboolean check(const struct ctl *c, struct ctl_table *t, const char *what, const char *name,
		      gboolean ok, char *detail)
{
	if (!c->json)
		ctl_say("%-4s %s%s%s: %s\n", ok ? "OK" : "FAIL", what, name != NULL ? " " : "",
			ctl_line(name), ctl_line(detail));
	ctl_table_row(t);
	ctl_table_str(t, what);
	ctl_table_str(t, name);
	ctl_table_bool(t, ok);
	ctl_table_str(t, detail);
	g_free(detail);
	return ok;
}

/* The configured mailbox mb against what the daemon last recorded of it. */
static gboolean check_mailbox(const struct ctl *c, struct ctl_table *t,
			      const struct spoc_imap_conf *mb, const struct health_facts *h)
{
	const struct mailbox_health_row *r = NULL;
	int n = c->conf->health_intervals > 0 ? c->conf->health_intervals : 3;
	int64_t window = (int64_t)n * mb->poll_interval_s;
	char *win = duration(window), *age, *why, *detail;
	gboolean ok;

	for (guint i = 0; i < h->mailboxes->len && r == NULL; i++) {
		const struct mailbox_health_row *x = g_ptr_array_index(h->mailboxes, i);

		if (strcmp(x->mailbox, mb->name) == 0)
			r = x;
	}
	why = r != NULL && r->last_error_at != NULL
		  ? g_strdup_printf("; last error %s: %s", r->last_error_at, r->last_error)
		  : g_strdup("");
	if (r == NULL) {
		ok = FALSE;
		detail = g_strdup("never read (no pass recorded)");
	} else if (r->last_ok_at == NULL) {
		ok = FALSE;
		detail = g_strdup_printf("never read successfully%s", why);
	} else {
		age = duration(r->ok_age_s);
		ok = r->ok_age_s <= window;
		detail = g_strdup_printf("read successfully %s ago (%s %s = %d x %d s poll "
					 "interval)%s",
					 age, ok ? "within" : "more than", win, n,
					 mb->poll_interval_s, ok ? "" : why);
		g_free(age);
	}
	g_free(why);
	g_free(win);
	return check(c, t, "mailbox", mb->name, ok, detail);
}

/* The threshold past which a due notification is stuck, and why it is that. */
static int stuck_after(const struct spoc_conf *conf, char **why_r)
{
	int slowest = 0;
	char *d;

	for (size_t i = 0; conf->mailboxes[i] != NULL; i++)
		slowest = MAX(slowest, conf->mailboxes[i]->poll_interval_s);
	if (3 * slowest > HEALTH_STUCK_MIN_S) {
		d = duration(3 * slowest);
		*why_r = g_strdup_printf("%s (3 x the largest poll interval, %d s)", d, slowest);
		g_free(d);
		return 3 * slowest;
	}
	d = duration(HEALTH_STUCK_MIN_S);
	*why_r = g_strdup_printf("%s (the minimum: 3 x the largest poll interval, %d s, is less)",
				 d, slowest);
	g_free(d);
	return HEALTH_STUCK_MIN_S;
}

/* The JSON of the checks in t. */
static void health_json(const struct ctl_table *t, guint rows, gboolean ok)
{
	GString *out = g_string_new(NULL);

	g_string_append_printf(out, "{\"healthy\":%s,\"checks\":[", ok ? "true" : "false");
	for (guint i = 0; i < rows; i++) {
		if (i > 0)
			g_string_append_c(out, ',');
		ctl_table_json_row(t, i, out);
	}
	g_string_append(out, "]}\n");
	ctl_json_out(out->str);
	g_string_free(out, TRUE);
}

/* msg without the "database: " the store puts in front: the check says it already */
static const char *unprefixed(const char *msg)
{
	return g_str_has_prefix(msg, "database: ") ? msg + strlen("database: ") : msg;
}

int ctl_health(struct ctl *c, int argc, char **argv)
{
	struct errbuf err = {{0}};
	struct health_facts h = {0};
	struct ctl_table *t;
	char *why, *d;
	gboolean ok = TRUE;
	guint nchecks = 1;
	int rc, stuck;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			ctl_err("health: unexpected \"%s\"", argv[i]);
			return CTL_EXIT_USAGE;
		}
		c->json = TRUE;
	}
	if ((rc = ctl_load_conf(c, TRUE)) != 0)
		return rc;
	t = ctl_table_new(check_columns, G_N_ELEMENTS(check_columns));
	stuck = stuck_after(c->conf, &why);
	if (store_open(c->conf->database_conninfo, !c->conf->database_pooled, &c->st, &err) != SPOC_OK) {
		ok = check(c, t, "database", NULL, FALSE, g_strdup(unprefixed(err.msg)));
		rc = CTL_EXIT_TEMPFAIL;
	} else if ((rc = store_health(c->st, stuck, HEALTH_BREACH_GRACE_S, &h, &err)) != SPOC_OK) {
		ok = check(c, t, "database", NULL, FALSE, g_strdup(unprefixed(err.msg)));
		rc = ctl_exit_for(rc);
	} else {
		for (nchecks = 0; c->conf->mailboxes[nchecks] != NULL; nchecks++)
			ok &= check_mailbox(c, t, c->conf->mailboxes[nchecks], &h);
		nchecks += 2;
		d = h.stuck_oldest_id > 0 ? duration(h.stuck_oldest_s) : NULL;
		ok &= check(c, t, "outbox", NULL, h.stuck == 0,
			    h.stuck == 0
				? g_strdup_printf("no notification due for longer than %s", why)
				: g_strdup_printf("%" G_GINT64_FORMAT " notification%s due for "
						  "longer than %s; the oldest, %" G_GINT64_FORMAT
						  ", for %s (spocctl outbox show %" G_GINT64_FORMAT
						  ")",
						  h.stuck, h.stuck == 1 ? "" : "s", why,
						  h.stuck_oldest_id, d, h.stuck_oldest_id));
		g_free(d);
		d = duration(HEALTH_BREACH_GRACE_S);
		ok &=
		    check(c, t, "sla", NULL, h.unhandled == 0,
			  h.unhandled == 0
			      ? g_strdup_printf("every SLA breach older than %s was notified", d)
			      : g_strdup_printf("%" G_GINT64_FORMAT
						" SLA breach%s older than %s without a sent "
						"breach notice: %s%s",
						h.unhandled, h.unhandled == 1 ? "" : "es", d,
						h.unhandled_first, h.unhandled > 5 ? ", ..." : ""));
		g_free(d);
		/* not a failure (the desk chose it), but what it gives up is said here too */
		nchecks++;
		check(
		    c, t, "trust", NULL, TRUE,
		    conf_border_name(c->conf) == NULL
			? g_strdup("no agents.trusted_authserv_id: no sender can be verified, so a "
				   "forged From counts as the requester or watcher it names "
				   "(docs/security.md)")
		    : c->conf->trust_accept_unverified
			? g_strdup_printf("trust.unverified = accept: a sender %s did not "
					  "authenticate still counts as the participant it names",
					  conf_border_name(c->conf))
			: g_strdup_printf("participants and agents verified by the border %s",
					  conf_border_name(c->conf)));
		rc = ok ? 0 : CTL_EXIT_FAIL;
	}
	g_free(why);
	health_facts_clear(&h);
	if (c->json)
		health_json(t, nchecks, ok);
	ctl_table_free(&t);
	return rc;
}
