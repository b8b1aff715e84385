/* spocd: the single point of contact daemon. Reads mail from the desk's mailboxes, turns it into
 * tickets in PostgreSQL and sends what the desk owes people by SMTP.
 *
 * One thread and one poll() loop: each mailbox is worked on its own schedule (IDLE where the
 * server offers it, polling otherwise, a full pass every poll interval either way) and fails and
 * recovers on its own; the notifier is woken by the database's NOTIFY; systemd hears READY,
 * STATUS, WATCHDOG and STOPPING; SIGHUP reloads the configuration and templates.
 *
 * This file is the only place that decides policy: command line, signals, when to connect,
 * when to retry, what to log and with which exit code to leave. */
#include "conf.h"
#include "imap.h"
#include "ingest.h"
#include "lease.h"
#include "log.h"
#include "metrics.h"
#include "mime.h"
#include "oauth2.h"
#include "oauth_keep.h"
#include "outbox.h"
#include "rules.h"
#include "sla_watch.h"
#include "store.h"
#include "store_metrics.h"
#include "store_sla.h"

#include <errno.h>
#include <poll.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define EXIT_CONFIG   1
#define EXIT_USAGE    2
#define EXIT_TEMPFAIL 75 /* sysexits.h EX_TEMPFAIL: a server could not be reached */

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static void install_signals(void)
{
	struct sigaction sa;

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	/* No SA_RESTART: a sleep between polls must end at once. */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
}

/* Where the migrations are: $SPOCD_SQL_DIR, else the source tree for a binary run from its build
 * tree, else the installed copy. */
static const char *sql_dir(void)
{
	const char *env = g_getenv("SPOCD_SQL_DIR");
	char *exe;
	gboolean in_build_tree;

	if (env != NULL && env[0] != '\0')
		return env;
	exe = g_file_read_link("/proc/self/exe", NULL);
	in_build_tree = exe != NULL && g_file_test(SPOCD_SOURCE_SQL_DIR, G_FILE_TEST_IS_DIR) &&
			!g_str_has_prefix(exe, "/usr/");
	g_free(exe);
	if (in_build_tree && !g_file_test(SPOCD_SQL_DIR, G_FILE_TEST_IS_DIR))
		return SPOCD_SOURCE_SQL_DIR;
	return g_file_test(SPOCD_SQL_DIR, G_FILE_TEST_IS_DIR) ? SPOCD_SQL_DIR
							      : SPOCD_SOURCE_SQL_DIR;
}

static void log_line(int priority, const char *event, const struct log_fields *f, const char *line,
		     void *ctx)
{
	(void)ctx;
	log_event(priority, event, f, "%s", line);
}

/* One outbox row's outcome: logged with its fields, counted in the metrics. */
static void log_outbox(int priority, const struct outbox_row *row, const char *what, void *ctx)
{
	const struct log_fields f = {
	    .message_id = row->message_id, .ticket = row->ticket_number, .outbox_id = row->id};
	const char *event = NULL, *result = NULL;

	(void)ctx;
	if (g_str_has_prefix(what, "sent")) {
		event = LOG_EV_OUTBOX_SENT;
		result = "sent";
	} else if (g_str_has_prefix(what, "not sent")) {
		event = LOG_EV_OUTBOX_RETRY;
		result = "retry";
	} else if (g_str_has_prefix(what, "failed")) {
		event = LOG_EV_OUTBOX_FAILED;
		result = "failed";
	} else if (g_str_has_prefix(what, "refused")) {
		/* the desk's policy, not the SMTP server: not an SMTP failure */
		event = LOG_EV_OUTBOX_FAILED;
		result = "refused";
	} else if (g_str_has_prefix(what, "held")) {
		event = LOG_EV_OUTBOX_HELD;
		result = "held";
	}
	log_event(priority, event, &f, "outbox %" G_GINT64_FORMAT " %s %s to %s <%s>: %s", row->id,
		  row->kind, row->ticket_number, row->recipient, row->message_id, what);
	if (result != NULL)
		metrics_notification(row->kind, result);
}

/* Fault injection for the crash-safety tests: SPOCD_FAULT=crash-after-commit kills the process
 * the way a power cut would, between the database COMMIT and the IMAP move. */
static void fault_after_commit(void *ctx)
{
	const char *fault = g_getenv("SPOCD_FAULT");

	(void)ctx;
	if (fault != NULL && strcmp(fault, "crash-after-commit") == 0) {
		log_msg(LOG_WARNING, "SPOCD_FAULT=crash-after-commit: killing myself");
		raise(SIGKILL);
	}
}

/* Fault injection for the poison-message tests: SPOCD_FAULT=crash-on-subject:TEXT kills the
 * process while it handles a message whose subject contains TEXT, as a parser crash would. */
static void fault_after_parse(const struct mail *mail, void *ctx)
{
	const char *fault = g_getenv("SPOCD_FAULT");

	(void)ctx;
	if (fault != NULL && g_str_has_prefix(fault, "crash-on-subject:") &&
	    strstr(mail->subject, fault + strlen("crash-on-subject:")) != NULL) {
		log_msg(LOG_WARNING, "SPOCD_FAULT=%s: killing myself", fault);
		raise(SIGKILL);
	}
}

/* For the shutdown test, SPOCD_FAULT=slow-message:MS makes writing each message take that long,
 * so that a SIGTERM lands in the middle of a batch's transaction. */
static void fault_before_store(void *ctx)
{
	const char *fault = g_getenv("SPOCD_FAULT");

	(void)ctx;
	if (fault != NULL && g_str_has_prefix(fault, "slow-message:"))
		g_usleep((gulong)g_ascii_strtoull(fault + strlen("slow-message:"), NULL, 10) *
			 1000);
}

/* The notifier is woken by NOTIFY on this channel (sql/006_notifier.sql), and looks anyway at
 * least this often for retries that came due and SLA targets. */
#define OUTBOX_CHANNEL	  "spocd_outbox"
#define NOTIFY_FALLBACK_S 60
/* Behind a transaction-pooling pooler there is no LISTEN: the notifier looks this often. */
#define NOTIFY_POOLED_S 2
/* IDLE is ended and begun again after this long: servers may drop it after 30 minutes. */
#define IDLE_RENEW_S (25 * 60)
/* Longest a poll() waits: the watchdog is fed and signals are seen at least this often. */
#define TICK_MS 500
/* READY=1 is sent once the database and every mailbox answered; if one does not within this
 * long, it is sent anyway (the others work) and STATUS says which one is failing. */
#define READY_GRACE_S 60

/* What one process does: everything, or only one side (several notifiers may run beside one
 * reader; the outbox's row locks keep them from sending anything twice). */
enum role {
	ROLE_ALL,
	ROLE_INGEST,
	ROLE_NOTIFY,
};

/* One mailbox's connection and schedule. */
struct worker {
	const struct spoc_imap_conf *mb; /* borrowed from the daemon's conf */
	struct imap_session *imap;
	struct imap_mark quiet;	 /* the folder when last seen empty (CONDSTORE), see ingest_run() */
	struct ingest_owed owed; /* attempt marks of handled failures, to take back */
	gint64 next_pass;	 /* monotonic µs */
	gint64 idle_since;	 /* monotonic µs, 0: not in IDLE */
	gboolean woken;		 /* the server spoke during IDLE */
	gboolean idled;		 /* IDLE worked on this session */
	int backoff_s;		 /* after failures: 5, 10, 20... 300 */
	gboolean ok;		 /* the last pass succeeded */
	gboolean tried;		 /* a pass was made at all */
	unsigned mails;		 /* taken since start */
	char error[256];	 /* the last failure, for STATUS */

	/* "mailbox:NAME": this process works the mailbox while it holds it */
	struct store_lease lease;
	gint64 next_lease; /* monotonic µs: renew it, or look whether it came free */
};

struct daemon {
	struct spoc_conf *conf;
	char *conf_path;
	enum role role;
	struct store *st;
	struct outbox *outbox;
	gboolean migrated;
	gboolean sla_policy_set; /* this configuration's SLA policy is in the database */
	gboolean teams_checked;	 /* the rules' teams were looked up among the agents */
	gboolean listening;	 /* d->st LISTENs on OUTBOX_CHANNEL */
	GPtrArray *workers;	 /* struct worker *, one per mailbox (none for ROLE_NOTIFY) */
	gint64 next_notify;	 /* monotonic µs */
	gboolean notify_woken;
	int notify_backoff_s;
	/* the last failure was losing the database (or not reaching it): the next attempt comes
	 * within database.reconnect seconds, not after the growing back-off, so that a promoted
	 * standby is found soon after a failover */
	gboolean db_lost;
	gboolean notify_ok;
	unsigned sent;	   /* notifications sent since start */
	gboolean ready;	   /* READY=1 was sent */
	gint64 started;	   /* monotonic µs */
	char *last_status; /* the last STATUS= sent */

	char *holder; /* this process's name in the leases */
	char *node;   /* and where it runs (lease_node_new()) */
	/* "sla-watch": only its holder runs the SLA watch */
	struct store_lease sla_lease;
	gint64 next_sla_lease; /* monotonic µs */
};

struct rule_teams {
	GHashTable *staffed; /* teams of active agents */
	const char *path;
};

static void warn_rule_team(const char *rule, const char *team, void *ctx)
{
	struct rule_teams *t = ctx;

	if (!g_hash_table_contains(t->staffed, team))
		log_msg(LOG_WARNING,
			"%s: rules: rule \"%s\": team \"%s\": no active agent is in it (spocctl "
			"agent add ADDRESS --team %s); its tickets are announced as if they had no "
			"team",
			t->path, rule, team, team);
}

/* Says which teams the rules give tickets to that no active agent is in: agents' teams live in
 * the database, so the configuration cannot check them when it is read. */
static void check_rule_teams(struct daemon *d)
{
	struct errbuf err = {{0}};
	GPtrArray *agents = NULL;
	struct rule_teams t = {g_hash_table_new(g_str_hash, g_str_equal), d->conf->path};

	d->teams_checked = TRUE;
	if (store_agent_list(d->st, FALSE, &agents, &err) != SPOC_OK) {
		log_msg(LOG_WARNING, "rules: the agents' teams cannot be read: %s", err.msg);
	} else {
		for (guint i = 0; i < agents->len; i++)
			g_hash_table_add(t.staffed,
					 ((struct agent *)g_ptr_array_index(agents, i))->team);
		rules_each_team(d->conf->rules, warn_rule_team, &t);
	}
	g_hash_table_unref(t.staffed);
	if (agents != NULL)
		g_ptr_array_unref(agents);
}

/* Makes sure the database connection is there and the schema current. */
static int ensure_store(struct daemon *d, struct errbuf *err)
{
	int applied = 0;

	if (d->st == NULL &&
	    store_open_bounded(d->conf->database_conninfo, !d->conf->database_pooled,
			       d->conf->database_timeout_s, &d->st, err) != SPOC_OK) {
		d->db_lost = TRUE;
		return SPOC_ETEMP;
	}
	d->db_lost = FALSE;
	if (!d->migrated) {
		if (store_migrate(d->st, sql_dir(), &applied, err) != SPOC_OK) {
			store_close(&d->st);
			return SPOC_ETEMP;
		}
		if (applied > 0)
			log_msg(LOG_NOTICE, "database: %d migration(s) applied from %s", applied,
				sql_dir());
		d->migrated = TRUE;
	}
	if (!d->sla_policy_set && d->conf->sla != NULL) {
		/* the database recomputes due times itself (a priority changed by SQL, a pause): it
		 * needs the policy ingest uses */
		g_autofree char *policy = sla_conf_policy_json(d->conf->sla);
		struct errbuf why = {{0}};
		int recomputed = -1;
		int rc = store_sla_policy_set(d->st, policy, &recomputed, &why);

		if (rc == SPOC_ETEMP) {
			g_strlcpy(err->msg, why.msg, sizeof(err->msg));
			store_close(&d->st);
			return SPOC_ETEMP;
		}
		/* a policy the database refuses is said once; mail still flows, with the due times
		 * ingest computes */
		if (rc != SPOC_OK)
			log_event(
			    LOG_ERR, LOG_EV_DATABASE_FAILED, NULL,
			    "sla: the policy could not be stored, so due times changed in the "
			    "database follow the one stored before: %s",
			    why.msg);
		else if (recomputed >= 0)
			log_msg(LOG_NOTICE,
				"sla: policy stored; due times of %d open ticket(s) recomputed",
				recomputed);
		d->sla_policy_set = TRUE;
	}
	if (!d->teams_checked)
		check_rule_teams(d);
	if (d->role != ROLE_INGEST && !d->listening && !d->conf->database_pooled) {
		if (store_listen(d->st, OUTBOX_CHANNEL, err) != SPOC_OK) {
			store_close(&d->st);
			return SPOC_ETEMP;
		}
		d->listening = TRUE;
		/* what was queued while nothing listened (a NOTIFY sent before the connection
		 * broke, and not read yet, is gone with it) is looked at now, not at the next
		 * fallback run */
		d->notify_woken = TRUE;
		log_msg(LOG_DEBUG, "database: listening on %s for queued notifications",
			OUTBOX_CHANNEL);
	}
	return SPOC_OK;
}

/* Drops the database connection (and with it the LISTEN), to be made afresh. */
static void drop_store(struct daemon *d)
{
	d->db_lost = !store_connected(d->st);
	store_close(&d->st);
	d->listening = FALSE;
}

/* One line for a pass that did anything: "mailbox INBOX: 2 ticket, 1 reply, 1 recovered". */
static void log_stats(const char *mailbox, const struct ingest_stats *stats)
{
	GString *line = g_string_new(NULL);

	for (int o = 0; o < INGEST_OUTCOMES; o++)
		if (stats->outcomes[o] > 0)
			g_string_append_printf(line, ", %u %s", stats->outcomes[o],
					       store_outcome_name(o));
	if (stats->recovered > 0)
		g_string_append_printf(line, ", %u recovered", stats->recovered);
	if (line->len > 0)
		log_event(LOG_INFO, NULL, &(struct log_fields){.mailbox = mailbox},
			  "mailbox %s: %s", mailbox, line->str + 2);
	g_string_free(line, TRUE);
}

/* Takes, renews or takes over a lease now and at every lease_interval_us() (*next_r), and says
 * when it changed hands. Returns what changed; LEASE_SAME when the database cannot be reached
 * (the pass that follows says why). */
static enum lease_change keep_lease(struct daemon *d, struct store_lease *l, const char *what,
				    gint64 *next_r)
{
	enum lease_change change = LEASE_SAME;
	struct errbuf err = {{0}};
	char *line = NULL;

	*next_r = g_get_monotonic_time() + lease_interval_us(l);
	if (ensure_store(d, &err) != SPOC_OK ||
	    lease_keep(d->st, l, what, &change, &line, &err) != SPOC_OK) {
		log_msg(LOG_DEBUG, "%s: lease not renewed: %s", what, err.msg);
		return LEASE_SAME;
	}
	if (line != NULL)
		log_msg(change == LEASE_LOST ? LOG_WARNING : LOG_NOTICE, "%s", line);
	g_free(line);
	return change;
}

/* A mailbox's lease, kept between passes (in IDLE too): a lease taken or lost calls for a pass
 * at once, which works the mailbox or says who does. */
static void keep_mailbox_lease(struct daemon *d, struct worker *w)
{
	char *what = g_strdup_printf("mailbox %s", w->mb->name);

	if (keep_lease(d, &w->lease, what, &w->next_lease) != LEASE_SAME)
		w->next_pass = g_get_monotonic_time();
	g_free(what);
}

/* Gives every lease up at a clean stop, for another instance to take at once. */
static void release_leases(struct daemon *d)
{
	struct errbuf err = {{0}};
	gboolean held = d->sla_lease.fencing != 0;

	for (guint i = 0; i < d->workers->len; i++)
		held |= ((struct worker *)g_ptr_array_index(d->workers, i))->lease.fencing != 0;
	/* a pass cut short by the stop may have dropped the connection */
	if (!held || ensure_store(d, &err) != SPOC_OK)
		return;
	for (guint i = 0; i < d->workers->len; i++) {
		struct worker *w = g_ptr_array_index(d->workers, i);

		if (w->lease.fencing != 0 && store_lease_release(d->st, &w->lease, &err) != SPOC_OK)
			log_msg(LOG_WARNING, "mailbox %s: lease not released: %s", w->mb->name,
				err.msg);
	}
	if (d->sla_lease.fencing != 0 && store_lease_release(d->st, &d->sla_lease, &err) != SPOC_OK)
		log_msg(LOG_WARNING, "sla watch: lease not released: %s", err.msg);
}

/* Opens what is missing and works the mailbox once. SPOC_OK or SPOC_ETEMP. */
static int ingest_once(struct daemon *d, struct worker *w, struct ingest_stats *stats,
		       struct errbuf *err)
{
	struct ingest_hooks hooks = {.log = log_line,
				     .after_parse = fault_after_parse,
				     .before_store = fault_before_store,
				     .after_commit = fault_after_commit,
				     .stop = &stop_requested};

	if (ensure_store(d, err) != SPOC_OK)
		return SPOC_ETEMP;
	if (w->imap == NULL) {
		memset(&w->quiet, 0, sizeof(w->quiet)); /* a new session proves nothing */
		w->idled = FALSE;
		if (imap_open(w->mb, &w->imap, err) != SPOC_OK)
			return SPOC_ETEMP;
	}
	if (ingest_run(d->conf, w->mb, d->st, &w->lease, w->imap, &w->quiet, &w->owed, &hooks, stats,
		       err) !=
	    SPOC_OK) {
		/* the database may be half way through a transaction: start both afresh */
		imap_close(&w->imap);
		drop_store(d);
		return SPOC_ETEMP;
	}
	return SPOC_OK;
}

/* One pass over one mailbox, with one fresh attempt when a kept connection turns out dead; its
 * outcome recorded for spocctl health, the metrics and STATUS. */
/* One look at a mailbox; *took_r: how many messages it took (may be NULL). */
static int mailbox_pass(struct daemon *d, struct worker *w, unsigned *took_r)
{
	struct ingest_stats stats = {0};
	struct errbuf err = {{0}}, herr = {{0}};
	const struct log_fields f = {.mailbox = w->mb->name};
	gboolean reused = w->imap != NULL;
	int rc;

	/* held: the pass renews it; else say so when it comes free */
	if (w->lease.fencing == 0)
		keep_mailbox_lease(d, w);
	rc = ingest_once(d, w, &stats, &err);
	if (rc != SPOC_OK && reused && !stop_requested) {
		/* Connections kept since the last pass may have been closed meanwhile (a server's
		 * idle timeout): one fresh attempt before it counts as a failure. */
		log_event(LOG_NOTICE, NULL, &f, "mailbox %s: %s; connecting again", w->mb->name,
			  err.msg);
		rc = ingest_once(d, w, &stats, &err);
	}
	log_stats(w->mb->name, &stats);
	if (took_r != NULL)
		*took_r = 0;
	for (int o = 0; o < INGEST_OUTCOMES; o++) {
		w->mails += stats.outcomes[o];
		if (took_r != NULL)
			*took_r += stats.outcomes[o];
	}
	w->tried = TRUE;
	if (rc == SPOC_OK) {
		if (!w->ok && w->error[0] != '\0')
			log_event(LOG_NOTICE, LOG_EV_MAILBOX_OK, &f, "mailbox %s: working again",
				  w->mb->name);
		w->ok = TRUE;
		w->error[0] = '\0';
	} else {
		/* the first failure after a good pass is most often a server restarting: a
		 * warning; an error when it goes on */
		log_event(w->ok ? LOG_WARNING : LOG_ERR, LOG_EV_MAILBOX_FAILED, &f,
			  "mailbox %s: %s", w->mb->name, err.msg);
		w->ok = FALSE;
		g_strlcpy(w->error, err.msg, sizeof(w->error));
	}
	metrics_mailbox_pass(w->mb->name, rc == SPOC_OK);
	/* best effort: when the database is what failed, there is nowhere to write it */
	if (d->st != NULL && store_mailbox_health(d->st, w->mb->name,
						  rc == SPOC_OK ? NULL : err.msg, &herr) != SPOC_OK)
		log_msg(LOG_WARNING, "mailbox %s: health not recorded: %s", w->mb->name, herr.msg);
	return rc;
}

/* The SLA watch, by the holder of the sla-watch lease alone: SPOC_OK at once while another
 * instance holds it. A lease lost during the run stops it, the notices of the ticket in hand
 * rolled back. */
static int sla_watch_leased(struct daemon *d, unsigned *queued_r, struct errbuf *err)
{
	int64_t ours;
	GDateTime *now;
	int rc;

	keep_lease(d, &d->sla_lease, "sla watch", &d->next_sla_lease);
	if ((ours = d->sla_lease.fencing) == 0) {
		log_msg(LOG_DEBUG,
			"sla watch: left to the lease holder %s (fencing %" G_GINT64_FORMAT ")",
			lease_other_name(&d->sla_lease), d->sla_lease.other_fencing);
		return SPOC_OK;
	}
	now = g_date_time_new_now_utc();
	rc = sla_watch_run(d->conf, d->st, &d->sla_lease, now, queued_r, err);
	g_date_time_unref(now);
	if (rc == SPOC_OK && d->sla_lease.fencing == 0)
		log_msg(LOG_WARNING,
			"sla watch: another spocd took the lease over (holder %s, fencing "
			"%" G_GINT64_FORMAT "; ours was %" G_GINT64_FORMAT
			"): this run stopped, the notices of the ticket in hand rolled back",
			lease_other_name(&d->sla_lease), d->sla_lease.other_fencing, ours);
	return rc;
}

/* Every due SLA notice and notification. SPOC_OK, or SPOC_ETEMP when the database or the SMTP
 * server could not be reached. */
static int notify_once(struct daemon *d)
{
	struct outbox_stats ostats = {0};
	struct metrics_snapshot snap = {0};
	struct errbuf err = {{0}};
	unsigned queued = 0;
	int rc;

	if (ensure_store(d, &err) != SPOC_OK) {
		log_event(LOG_ERR, LOG_EV_DATABASE_FAILED, NULL, "%s", err.msg);
		return SPOC_ETEMP;
	}
	/* SLA warnings and breaches first, so that they go out in this same run */
	rc = sla_watch_leased(d, &queued, &err);
	if (rc == SPOC_ETEMP) {
		log_event(LOG_ERR, LOG_EV_DATABASE_FAILED, NULL, "sla: %s", err.msg);
		drop_store(d);
		return SPOC_ETEMP;
	}
	if (rc != SPOC_OK)
		log_msg(LOG_ERR, "sla: %s", err.msg);
	if (queued > 0)
		log_event(LOG_INFO, LOG_EV_SLA_QUEUED, NULL,
			  "sla: %u warning or breach notice(s) queued", queued);
	if (outbox_run(d->outbox, d->st, &ostats, log_outbox, NULL, &err) != SPOC_OK) {
		log_event(LOG_ERR, LOG_EV_DATABASE_FAILED, NULL, "outbox: %s", err.msg);
		drop_store(d);
		return SPOC_ETEMP;
	}
	d->sent += ostats.sent;
	if (store_metrics_snapshot(d->st, &snap, &err) == SPOC_OK)
		metrics_set_snapshot(&snap);
	else
		log_msg(LOG_WARNING, "metrics: %s", err.msg);
	store_metrics_snapshot_clear(&snap);
	return outbox_unreachable(d->outbox) ? SPOC_ETEMP : SPOC_OK;
}

static void workers_free(struct daemon *d)
{
	for (guint i = 0; d->workers != NULL && i < d->workers->len; i++) {
		struct worker *w = g_ptr_array_index(d->workers, i);

		imap_close(&w->imap);
		lease_clear(&w->lease);
		ingest_owed_free(&w->owed);
		g_free(w);
	}
	g_clear_pointer(&d->workers, g_ptr_array_unref);
}

/* One worker per configured mailbox, each due at once. */
static void workers_new(struct daemon *d)
{
	d->workers = g_ptr_array_new();
	for (size_t i = 0; d->role != ROLE_NOTIFY && d->conf->mailboxes[i] != NULL; i++) {
		struct worker *w = g_new0(struct worker, 1);
		char *name = g_strdup_printf("mailbox:%s", d->conf->mailboxes[i]->name);

		w->mb = d->conf->mailboxes[i];
		lease_init(&w->lease, name, d->holder, d->node, d->conf->lease_seconds);
		g_free(name);
		g_ptr_array_add(d->workers, w);
	}
}

/* "incidencias ok (IDLE), solicitudes failing: ...; 12 mails, 5 notifications since start" */
static char *status_line(const struct daemon *d)
{
	unsigned mails = 0;
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < d->workers->len; i++) {
		const struct worker *w = g_ptr_array_index(d->workers, i);

		g_string_append_printf(s, "%s%s ", i > 0 ? ", " : "", w->mb->name);
		if (!w->tried)
			g_string_append(s, "connecting");
		else if (w->ok)
			g_string_append_printf(s, "ok (%s)",
					       w->idle_since != 0 ? "IDLE" : "polling");
		else
			g_string_append_printf(s, "failing: %.80s", w->error);
	}
	if (d->role != ROLE_INGEST)
		g_string_append_printf(s, "%snotifier %s", s->len > 0 ? "; " : "",
				       d->notify_ok ? "ok" : "waiting for the database or SMTP");
	for (guint i = 0; i < d->workers->len; i++)
		mails += ((const struct worker *)g_ptr_array_index(d->workers, i))->mails;
	g_string_append_printf(s, "; %u mails, %u notifications since start", mails, d->sent);
	return g_string_free(s, FALSE);
}

/* Tells systemd how things are: READY=1 once (when every part answered, or after the grace),
 * STATUS= when it changed. */
static void tell_systemd(struct daemon *d)
{
	gboolean all_ok = d->role == ROLE_INGEST || d->notify_ok;
	char *status;

	for (guint i = 0; i < d->workers->len; i++)
		all_ok = all_ok && ((const struct worker *)g_ptr_array_index(d->workers, i))->ok;
	status = status_line(d);
	if (!d->ready &&
	    (all_ok || g_get_monotonic_time() - d->started > READY_GRACE_S * G_USEC_PER_SEC)) {
		sd_notifyf(0, "READY=1\nSTATUS=%s", status);
		d->ready = TRUE;
		log_event(LOG_NOTICE, LOG_EV_STARTED, NULL, "spocd %s ready: %s", SPOCD_VERSION,
			  status);
	} else if (g_strcmp0(status, d->last_status) != 0) {
		sd_notifyf(0, "STATUS=%s", status);
	}
	g_free(d->last_status);
	d->last_status = status;
}

/* SIGHUP: the configuration and templates are read again; an invalid new configuration is
 * reported and the old one kept. Mailbox connections are made afresh from the new settings. */
static void reload(struct daemon *d)
{
	struct errbuf err = {{0}};
	struct spoc_conf *conf;
	struct outbox *ob;

	reload_requested = 0;
	sd_notify(0, "RELOADING=1");
	conf = conf_load(d->conf_path, &err);
	ob = conf != NULL && oauth2_conf_check(conf, &err) == SPOC_OK ? outbox_new(conf, &err)
								      : NULL;
	if (ob == NULL) {
		log_event(LOG_ERR, LOG_EV_RELOAD_FAILED, NULL,
			  "reload: %s; keeping the configuration in use", err.msg);
		conf_free(&conf);
		sd_notify(0, "READY=1");
		return;
	}
	workers_free(d);
	outbox_free(&d->outbox);
	conf_free(&d->conf);
	drop_store(d);
	d->conf = conf;
	d->sla_policy_set = FALSE;
	d->teams_checked = FALSE;
	d->outbox = ob;
	log_set_level(d->conf->log_level);
	d->sla_lease.seconds = d->conf->lease_seconds;
	workers_new(d);
	d->next_notify = 0;
	log_event(LOG_NOTICE, LOG_EV_RELOADED, NULL, "reload: %s read again, with its templates",
		  d->conf->path);
	sd_notify(0, "READY=1");
}

/* Goes into IDLE after a pass. Where IDLE worked on this session, a failure means the server
 * ended it (as one does when the token it logged in with expires): connect again at once, with a
 * renewed token. Else wait for the next poll, not to ask a server refusing IDLE in a loop. */
static void idle_start(struct worker *w)
{
	struct errbuf err = {{0}};

	if (imap_idle_start(w->imap, &err) == SPOC_OK) {
		w->idle_since = g_get_monotonic_time();
		w->idled = TRUE;
		return;
	}
	log_event(LOG_NOTICE, NULL, &(struct log_fields){.mailbox = w->mb->name},
		  "mailbox %s: %s; connecting again", w->mb->name, err.msg);
	if (w->idled)
		w->next_pass = g_get_monotonic_time();
	imap_close(&w->imap);
}

/* Seconds until the next attempt after a failure whose back-off is backoff_s: when the database
 * was what failed, at most database.reconnect. */
static int retry_after(const struct daemon *d, int backoff_s)
{
	return d->db_lost ? MIN(backoff_s, d->conf->database_reconnect_s) : backoff_s;
}

/* Works whatever is due: mailboxes whose time came or whose server spoke in IDLE, then the
 * notifier when woken or due. */
static void run_due(struct daemon *d)
{
	for (guint i = 0; i < d->workers->len && !stop_requested; i++) {
		struct worker *w = g_ptr_array_index(d->workers, i);
		gint64 now = g_get_monotonic_time();
		struct errbuf err = {{0}};
		unsigned took = 0;

		if (now >= w->next_lease) {
			keep_mailbox_lease(d, w);
			now = g_get_monotonic_time();
		}
		if (w->idle_since != 0) {
			if (!w->woken && !imap_idle_pending(w->imap) && now < w->next_pass &&
			    now - w->idle_since < (gint64)IDLE_RENEW_S * G_USEC_PER_SEC)
				continue;
			w->idle_since = 0;
			w->woken = FALSE;
			if (imap_idle_done(w->imap, &err) != SPOC_OK) {
				log_event(LOG_NOTICE, NULL,
					  &(struct log_fields){.mailbox = w->mb->name},
					  "mailbox %s: %s; connecting again", w->mb->name, err.msg);
				imap_close(&w->imap);
			}
		} else if (now < w->next_pass) {
			continue;
		}
		if (mailbox_pass(d, w, &took) == SPOC_OK) {
			w->backoff_s = 0;
			/* Mail that came while the pass ran was announced (EXISTS) in the answers
			 * to its FETCH and MOVE, and will not be announced again in IDLE: a pass
			 * that took anything is followed by another look at once. */
			if (took > 0) {
				/* with no LISTEN, what this pass queued is seen here */
				d->notify_woken |= d->conf->database_pooled;
				w->next_pass = g_get_monotonic_time();
				continue;
			}
			w->next_pass = g_get_monotonic_time() +
				       (gint64)w->mb->poll_interval_s * G_USEC_PER_SEC;
			/* IDLE only while ours: another instance's mailbox is looked at when its
			 * lease may have come free (keep_mailbox_lease) or at the poll */
			if (!stop_requested && w->lease.fencing != 0 && imap_can_idle(w->imap))
				idle_start(w);
		} else {
			/* 5 s, 10 s, 20 s... up to 5 minutes, never longer than a poll would be */
			w->backoff_s = w->backoff_s == 0 ? 5 : MIN(w->backoff_s * 2, 300);
			w->next_pass = g_get_monotonic_time() +
				       (gint64)retry_after(d, MIN(w->backoff_s,
								  MAX(w->mb->poll_interval_s, 5))) *
					   G_USEC_PER_SEC;
		}
	}
	if (d->role == ROLE_INGEST || stop_requested)
		return;
	if (g_get_monotonic_time() >= d->next_sla_lease &&
	    keep_lease(d, &d->sla_lease, "sla watch", &d->next_sla_lease) == LEASE_GAINED)
		d->next_notify = 0;
	if (d->notify_woken || g_get_monotonic_time() >= d->next_notify) {
		d->notify_woken = FALSE;
		d->notify_ok = notify_once(d) == SPOC_OK;
		if (d->notify_ok) {
			d->notify_backoff_s = 0;
			d->next_notify = g_get_monotonic_time() +
					 (gint64)(d->conf->database_pooled ? NOTIFY_POOLED_S
									   : NOTIFY_FALLBACK_S) *
					     G_USEC_PER_SEC;
		} else {
			d->notify_backoff_s =
			    d->notify_backoff_s == 0 ? 5 : MIN(d->notify_backoff_s * 2, 300);
			d->next_notify = g_get_monotonic_time() +
					 (gint64)retry_after(d, d->notify_backoff_s) * G_USEC_PER_SEC;
		}
	}
}

/* Waits for the next thing to do, at most TICK_MS: a mailbox's time, a server speaking in IDLE,
 * a NOTIFY from the database, a signal. */
static void wait_events(struct daemon *d)
{
	GArray *fds = g_array_new(FALSE, FALSE, sizeof(struct pollfd));
	GPtrArray *owners = g_ptr_array_new(); /* the worker of each fd; NULL: the database */
	gint64 now = g_get_monotonic_time(), next = now + (gint64)TICK_MS * 1000;
	int r;

	for (guint i = 0; i < d->workers->len; i++) {
		struct worker *w = g_ptr_array_index(d->workers, i);
		struct pollfd p = {.fd = w->idle_since != 0 ? imap_idle_fd(w->imap) : -1,
				   .events = POLLIN};

		next = MIN(next, MIN(w->next_pass, w->next_lease));
		if (p.fd < 0)
			continue;
		if (imap_idle_pending(w->imap))
			next = now;
		g_array_append_val(fds, p);
		g_ptr_array_add(owners, w);
	}
	if (d->role != ROLE_INGEST) {
		next = MIN(next, MIN(d->next_notify, d->next_sla_lease));
		if (d->st != NULL && d->listening) {
			struct pollfd p = {.fd = store_fd(d->st), .events = POLLIN};
			struct errbuf err = {{0}};
			gboolean woken = FALSE;

			/* our own statements may have brought notifications along already
			 * (this process's own ingest among them): poll() would not see those */
			if (store_wait(d->st, 0, &woken, &err) == SPOC_OK && woken) {
				d->notify_woken = TRUE;
				next = now;
			}

			g_array_append_val(fds, p);
			g_ptr_array_add(owners, NULL);
		}
	}
	r = poll((struct pollfd *)(void *)fds->data, fds->len,
		 (int)CLAMP((next - now + 999) / 1000, 0, TICK_MS));
	for (guint i = 0; r > 0 && i < fds->len; i++) {
		const struct pollfd *p = &g_array_index(fds, struct pollfd, i);
		struct worker *w = g_ptr_array_index(owners, i);
		struct errbuf err = {{0}};
		gboolean woken = FALSE;

		if (p->revents == 0)
			continue;
		if (w != NULL) {
			w->woken = TRUE;
			continue;
		}
		if (store_wait(d->st, 0, &woken, &err) != SPOC_OK) {
			log_event(LOG_ERR, LOG_EV_DATABASE_FAILED, NULL, "%s", err.msg);
			drop_store(d);
		} else if (woken) {
			d->notify_woken = TRUE;
		}
	}
	g_array_unref(fds);
	g_ptr_array_unref(owners);
}

/* --once: every mailbox once, then every due notification. SPOC_OK or SPOC_ETEMP when any
 * server could not be reached. */
static int run_once(struct daemon *d)
{
	int rc = SPOC_OK;

	for (guint i = 0; i < d->workers->len && !stop_requested; i++)
		if (mailbox_pass(d, g_ptr_array_index(d->workers, i), NULL) != SPOC_OK)
			rc = SPOC_ETEMP;
	/* On SIGTERM, stop after the message in hand: queued notifications wait for the next
	 * start. */
	if (d->role != ROLE_INGEST && !stop_requested && notify_once(d) != SPOC_OK)
		rc = SPOC_ETEMP;
	return rc;
}

/* The daemon's life until SIGTERM. */
static void run(struct daemon *d)
{
	struct errbuf err = {{0}};
	uint64_t watchdog_us = 0;

	/* a notifier beside the main process shares its configuration: only one serves metrics */
	if (d->role != ROLE_NOTIFY && d->conf->metrics_listen != NULL &&
	    metrics_start(d->conf->metrics_listen, &err) != SPOC_OK)
		log_msg(LOG_ERR, "metrics: %s (no metrics endpoint)", err.msg);
	if (sd_watchdog_enabled(0, &watchdog_us) <= 0)
		watchdog_us = 0;
	for (guint i = 0; i < d->workers->len; i++) {
		const struct worker *w = g_ptr_array_index(d->workers, i);

		log_msg(LOG_NOTICE, "mailbox %s: %s on %s:%u, a full pass every %d s%s",
			w->mb->name, w->mb->mailbox, w->mb->ep.host, w->mb->ep.port,
			w->mb->poll_interval_s, w->mb->idle ? ", IDLE where offered" : "");
	}
	if (d->role == ROLE_NOTIFY)
		log_msg(LOG_NOTICE, "spocd %s: sending notifications as they are queued",
			SPOCD_VERSION);
	d->started = g_get_monotonic_time();
	while (!stop_requested) {
		if (reload_requested)
			reload(d);
		run_due(d);
		tell_systemd(d);
		if (watchdog_us != 0)
			sd_notify(0, "WATCHDOG=1");
		if (!stop_requested)
			wait_events(d);
	}
	sd_notify(0, "STOPPING=1");
	log_event(LOG_NOTICE, LOG_EV_STOPPING, NULL, "spocd: stopping on request");
	metrics_stop();
}

/* What oauth2.c reports beside its calls' errors (a rotated refresh token not saved). */
static void oauth2_notice(int level, const char *text)
{
	log_msg(level, "%s", text);
}

/* Every token request is counted; a new token is said (a failure, by the login that needed it). */
static void oauth2_observed(const char *token_url, gboolean ok, int64_t expires_unix)
{
	metrics_oauth2_token(token_url, ok, expires_unix);
	if (ok)
		log_msg(LOG_INFO, "oauth2 %s: new access token, expires in %" G_GINT64_FORMAT " s",
			token_url, (gint64)expires_unix - g_get_real_time() / G_USEC_PER_SEC);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: spocd [-c FILE] [--role all|ingest|notify] [--check-config | --migrate | "
		"--once]\n"
		"  -c, --config FILE  configuration file (default %s/spocd.conf)\n"
		"      --check-config validate the configuration and templates, then exit 0 or 1\n"
		"      --migrate      apply database migrations, then exit\n"
		"      --once         one full cycle (fetch all, send all), then exit;\n"
		"                     exit status 75 when a server could not be reached\n"
		"      --role ROLE    all (default): read the mailbox and send notifications;\n"
		"                     ingest: only read; notify: only send (several may run)\n"
		"      --version      print the version\n",
		SPOCD_CONF_DIR);
}

int main(int argc, char **argv)
{
	enum { OPT_CHECK = 256, OPT_MIGRATE, OPT_ONCE, OPT_VERSION, OPT_ROLE };
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, OPT_CHECK},
	    {"migrate", no_argument, NULL, OPT_MIGRATE},
	    {"once", no_argument, NULL, OPT_ONCE},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"role", required_argument, NULL, OPT_ROLE},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	struct daemon d = {0};
	struct errbuf err = {{0}};
	char *conf_path = g_strdup(SPOCD_CONF_DIR "/spocd.conf");
	gboolean check = FALSE, migrate = FALSE, once = FALSE;
	int opt, status = EXIT_SUCCESS;

	while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			g_free(conf_path);
			conf_path = g_strdup(optarg);
			break;
		case OPT_CHECK:
			check = TRUE;
			break;
		case OPT_MIGRATE:
			migrate = TRUE;
			break;
		case OPT_ONCE:
			once = TRUE;
			break;
		case OPT_ROLE:
			if (strcmp(optarg, "all") == 0)
				d.role = ROLE_ALL;
			else if (strcmp(optarg, "ingest") == 0)
				d.role = ROLE_INGEST;
			else if (strcmp(optarg, "notify") == 0)
				d.role = ROLE_NOTIFY;
			else {
				fprintf(stderr,
					"spocd: --role: \"%s\" is not all, ingest or notify\n",
					optarg);
				g_free(conf_path);
				return EXIT_USAGE;
			}
			break;
		case OPT_VERSION:
			printf("spocd %s\n", SPOCD_VERSION);
			g_free(conf_path);
			return EXIT_SUCCESS;
		case 'h':
			usage(stdout);
			g_free(conf_path);
			return EXIT_SUCCESS;
		default:
			usage(stderr);
			g_free(conf_path);
			return EXIT_USAGE;
		}
	}
	if (optind != argc || check + migrate + once > 1) {
		usage(stderr);
		g_free(conf_path);
		return EXIT_USAGE;
	}

	log_init("spocd");
	mime_init();
	oauth2_set_notice(oauth2_notice);
	oauth2_set_observer(oauth2_observed);
	d.conf_path = conf_path;
	d.conf = conf_load(conf_path, &err);
	if (d.conf == NULL) {
		log_msg(LOG_ERR, "%s", err.msg);
		g_free(conf_path);
		return EXIT_CONFIG;
	}
	log_set_level(d.conf->log_level);
	oauth_keep_install(&d.conf);
	d.outbox = oauth2_conf_check(d.conf, &err) == SPOC_OK ? outbox_new(d.conf, &err) : NULL;
	if (d.outbox == NULL) {
		log_msg(LOG_ERR, "%s", err.msg);
		conf_free(&d.conf);
		g_free(conf_path);
		return EXIT_CONFIG;
	}
	if (check) {
		printf("%s: configuration and templates are valid\n", d.conf->path);
		goto out;
	}
	if (conf_border(d.conf) == NULL)
		log_msg(LOG_WARNING,
			"agents.trusted_authserv_id is not set (nor agents.border = "
			"\"microsoft365\"): no sender can be verified, so a forged From counts as "
			"the requester or watcher it names, and agents are proven by their reply "
			"addresses alone (docs/security.md)");
	install_signals();
	d.holder = lease_holder_new();
	d.node = lease_node_new();
	lease_init(&d.sla_lease, "sla-watch", d.holder, d.node, d.conf->lease_seconds);
	if (!migrate)
		log_msg(LOG_NOTICE, "spocd: lease holder %s (mailboxes and the SLA watch, %d s)",
			d.holder, d.conf->lease_seconds);
	workers_new(&d);

	if (migrate) {
		if (ensure_store(&d, &err) != SPOC_OK) {
			log_msg(LOG_ERR, "%s", err.msg);
			status = EXIT_TEMPFAIL;
		}
		goto out;
	}
	if (once) {
		status = run_once(&d) == SPOC_OK ? EXIT_SUCCESS : EXIT_TEMPFAIL;
		goto out;
	}
	run(&d);
out:
	if (d.workers != NULL)
		release_leases(&d);
	workers_free(&d);
	lease_clear(&d.sla_lease);
	g_free(d.holder);
	g_free(d.node);
	store_close(&d.st);
	outbox_free(&d.outbox);
	conf_free(&d.conf);
	oauth2_reset();
	g_free(d.last_status);
	g_free(d.conf_path);
	return status;
}
