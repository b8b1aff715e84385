/* spocd: the single point of contact daemon. Reads mail from the help mailbox, turns it into
 * tickets in PostgreSQL and sends what the desk owes people by SMTP.
 *
 * This file is the only place that decides policy: command line, signals, when to connect,
 * when to retry, what to log and with which exit code to leave. */
#include "conf.h"
#include "imap.h"
#include "ingest.h"
#include "log.h"
#include "mime.h"
#include "outbox.h"
#include "sla_watch.h"
#include "store.h"

#include <errno.h>
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

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
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

static void log_line(int priority, const char *line, void *ctx)
{
	(void)ctx;
	log_msg(priority, "%s", line);
}

static void log_outbox(int priority, const struct outbox_row *row, const char *what, void *ctx)
{
	(void)ctx;
	log_msg(priority, "outbox %" G_GINT64_FORMAT " %s %s to %s <%s>: %s", row->id, row->kind,
		row->ticket_number, row->recipient, row->message_id, what);
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

/* The notifier is woken by NOTIFY on this channel (sql/006_notifier.sql), and looks anyway at
 * least this often for retries that came due and SLA targets. */
#define OUTBOX_CHANNEL	  "spocd_outbox"
#define NOTIFY_FALLBACK_S 60

/* What one process does: everything, or only one side (several notifiers may run beside one
 * reader; the outbox's row locks keep them from sending anything twice). */
enum role {
	ROLE_ALL,
	ROLE_INGEST,
	ROLE_NOTIFY,
};

struct daemon {
	struct spoc_conf *conf;
	enum role role;
	struct store *st;
	struct imap_session *imap;
	struct outbox *outbox;
	gboolean migrated;
	gboolean listening; /* d->st LISTENs on OUTBOX_CHANNEL */
};

/* Makes sure the database connection is there and the schema current. */
static int ensure_store(struct daemon *d, struct errbuf *err)
{
	int applied = 0;

	if (d->st == NULL && store_open(d->conf->database_conninfo, &d->st, err) != SPOC_OK)
		return SPOC_ETEMP;
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
	if (d->role != ROLE_INGEST && !d->listening) {
		if (store_listen(d->st, OUTBOX_CHANNEL, err) != SPOC_OK) {
			store_close(&d->st);
			return SPOC_ETEMP;
		}
		d->listening = TRUE;
		log_msg(LOG_DEBUG, "database: listening on %s for queued notifications",
			OUTBOX_CHANNEL);
	}
	return SPOC_OK;
}

/* Drops the database connection (and with it the LISTEN), to be made afresh. */
static void drop_store(struct daemon *d)
{
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
		log_msg(LOG_INFO, "mailbox %s: %s", mailbox, line->str + 2);
	g_string_free(line, TRUE);
}

/* Opens what is missing and works the mailbox once. SPOC_OK or SPOC_ETEMP. */
static int ingest_once(struct daemon *d, struct ingest_stats *stats, struct errbuf *err)
{
	struct ingest_hooks hooks = {.log = log_line,
				     .after_parse = fault_after_parse,
				     .after_commit = fault_after_commit,
				     .stop = &stop_requested};

	if (ensure_store(d, err) != SPOC_OK)
		return SPOC_ETEMP;
	if (d->imap == NULL && imap_open(&d->conf->imap, &d->imap, err) != SPOC_OK)
		return SPOC_ETEMP;
	if (ingest_run(d->conf, d->st, d->imap, &hooks, stats, err) != SPOC_OK) {
		imap_close(&d->imap);
		drop_store(d);
		return SPOC_ETEMP;
	}
	return SPOC_OK;
}

/* Every due notification. SPOC_OK, or SPOC_ETEMP when the database or the SMTP server could not
 * be reached. */
static int notify_once(struct daemon *d)
{
	struct outbox_stats ostats = {0};
	struct errbuf err = {{0}};
	GDateTime *now;
	unsigned queued = 0;
	int rc;

	if (ensure_store(d, &err) != SPOC_OK) {
		log_msg(LOG_ERR, "%s", err.msg);
		return SPOC_ETEMP;
	}
	/* SLA warnings and breaches first, so that they go out in this same run */
	now = g_date_time_new_now_utc();
	rc = sla_watch_run(d->conf, d->st, now, &queued, &err);
	g_date_time_unref(now);
	if (rc == SPOC_ETEMP) {
		log_msg(LOG_ERR, "sla: %s", err.msg);
		drop_store(d);
		return SPOC_ETEMP;
	}
	if (rc != SPOC_OK)
		log_msg(LOG_ERR, "sla: %s", err.msg);
	if (queued > 0)
		log_msg(LOG_INFO, "sla: %u warning or breach notice(s) queued", queued);
	if (outbox_run(d->outbox, d->st, &ostats, log_outbox, NULL, &err) != SPOC_OK) {
		log_msg(LOG_ERR, "outbox: %s", err.msg);
		drop_store(d);
		return SPOC_ETEMP;
	}
	return outbox_unreachable(d->outbox) ? SPOC_ETEMP : SPOC_OK;
}

/* One full cycle: every message of the mailbox, then every due notification (each side only
 * when it is this process's role). Returns SPOC_OK or SPOC_ETEMP (a server was unreachable;
 * connections are dropped to be made afresh). */
static int cycle(struct daemon *d)
{
	struct ingest_stats stats = {0};
	struct errbuf err = {{0}};
	gboolean reused = d->imap != NULL;
	int rc = SPOC_OK;

	if (d->role == ROLE_NOTIFY)
		return notify_once(d);
	rc = ingest_once(d, &stats, &err);
	if (rc != SPOC_OK && reused && !stop_requested) {
		/* Connections kept since the last cycle may have been closed meanwhile (a server's
		 * idle timeout): one fresh attempt before it counts as a failure. */
		log_msg(LOG_NOTICE, "mailbox %s: %s; connecting again", d->conf->imap.mailbox,
			err.msg);
		rc = ingest_once(d, &stats, &err);
	}
	if (rc != SPOC_OK)
		log_msg(LOG_ERR, "mailbox %s: %s", d->conf->imap.mailbox, err.msg);
	log_stats(d->conf->imap.mailbox, &stats);

	/* On SIGTERM, stop after the batch in hand: queued notifications wait for the next start.
	 */
	if (stop_requested || d->role == ROLE_INGEST)
		return rc;
	if (notify_once(d) != SPOC_OK)
		rc = SPOC_ETEMP;
	return rc;
}

/* Sleeps up to seconds, waking early on a stop request. */
static void nap(int seconds)
{
	for (int i = 0; i < seconds * 10 && !stop_requested; i++) {
		struct timespec ts = {0, 100 * 1000 * 1000};

		nanosleep(&ts, NULL);
	}
}

/* Waits seconds before the next cycle. A notifier meanwhile sends what is queued as soon as the
 * database says so (NOTIFY from sql/006_notifier.sql: an acknowledgement queued by another
 * process, a status changed from psql), and looks anyway every NOTIFY_FALLBACK_S seconds for
 * retries that came due; without a database connection it just sleeps. */
static void wait_next(struct daemon *d, int seconds)
{
	gint64 end = g_get_monotonic_time() + (gint64)seconds * G_USEC_PER_SEC;
	gint64 fallback = g_get_monotonic_time() + (gint64)NOTIFY_FALLBACK_S * G_USEC_PER_SEC;

	while (!stop_requested) {
		gint64 now = g_get_monotonic_time();
		struct errbuf err = {{0}};
		gboolean woken = FALSE;

		if (now >= end)
			return;
		if (d->role == ROLE_INGEST || d->st == NULL || !d->listening) {
			nap((int)MIN((end - now + G_USEC_PER_SEC - 1) / G_USEC_PER_SEC, 1));
			continue;
		}
		if (store_wait(d->st, (int)MIN((end - now) / 1000, 500), &woken, &err) != SPOC_OK) {
			log_msg(LOG_ERR, "%s", err.msg);
			drop_store(d);
			continue;
		}
		if (woken || g_get_monotonic_time() >= fallback) {
			notify_once(d);
			fallback =
			    g_get_monotonic_time() + (gint64)NOTIFY_FALLBACK_S * G_USEC_PER_SEC;
		}
	}
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
	int opt, status = EXIT_SUCCESS, backoff = 0;

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
	d.conf = conf_load(conf_path, &err);
	g_free(conf_path);
	if (d.conf == NULL) {
		log_msg(LOG_ERR, "%s", err.msg);
		return EXIT_CONFIG;
	}
	log_set_level(d.conf->log_level);
	d.outbox = outbox_new(d.conf, &err);
	if (d.outbox == NULL) {
		log_msg(LOG_ERR, "%s", err.msg);
		conf_free(&d.conf);
		return EXIT_CONFIG;
	}
	if (check) {
		printf("%s: configuration and templates are valid\n", d.conf->path);
		goto out;
	}
	install_signals();

	if (migrate) {
		if (ensure_store(&d, &err) != SPOC_OK) {
			log_msg(LOG_ERR, "%s", err.msg);
			status = EXIT_TEMPFAIL;
		}
		goto out;
	}
	if (once) {
		status = cycle(&d) == SPOC_OK ? EXIT_SUCCESS : EXIT_TEMPFAIL;
		goto out;
	}

	if (d.role == ROLE_NOTIFY)
		log_msg(LOG_NOTICE,
			"spocd %s: sending notifications as they are queued (looking anyway "
			"every %d s)",
			SPOCD_VERSION, MIN(NOTIFY_FALLBACK_S, d.conf->imap.poll_interval_s));
	else
		log_msg(LOG_NOTICE, "spocd %s: watching %s on %s:%u every %d s%s", SPOCD_VERSION,
			d.conf->imap.mailbox, d.conf->imap.ep.host, d.conf->imap.ep.port,
			d.conf->imap.poll_interval_s,
			d.role == ROLE_INGEST ? " (notifications left to other processes)" : "");
	sd_notify(0, "READY=1");
	while (!stop_requested) {
		if (cycle(&d) == SPOC_OK) {
			backoff = 0;
			wait_next(&d, d.conf->imap.poll_interval_s);
		} else {
			/* 5 s, 10 s, 20 s... up to 5 minutes, never longer than a poll would be. */
			backoff = backoff == 0 ? 5 : MIN(backoff * 2, 300);
			wait_next(&d, MIN(backoff, MAX(d.conf->imap.poll_interval_s, 5)));
		}
	}
	sd_notify(0, "STOPPING=1");
	log_msg(LOG_NOTICE, "spocd: stopping on request");
out:
	imap_close(&d.imap);
	store_close(&d.st);
	outbox_free(&d.outbox);
	conf_free(&d.conf);
	return status;
}
