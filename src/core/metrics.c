/* The daemon's Prometheus metrics: a small registry of labelled counters, gauges and the ingest
 * latency histogram, kept in this process under one mutex, and the libmicrohttpd endpoint that
 * serves it as the text exposition format 0.0.4 from its own thread. The endpoint is bound to a
 * loopback address only: it has no authentication, and what it shows (mailbox names, volumes)
 * is not for the whole network. Until metrics_start() (or metrics_reset_for_tests()) enabled the
 * registry every record function returns at once, so a spocd without metrics.listen pays one
 * mutex and nothing else. */
#include "metrics.h"

#include <microhttpd.h>

#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* The labelled families; the histogram and the database gauges are kept apart. */
enum metrics_family {
	FAM_MAILBOX_LAST_SUCCESS,
	FAM_MAILBOX_FAILURES,
	FAM_MESSAGES,
	FAM_TICKETS,
	FAM_NOTIFICATIONS,
	FAM_SMTP_FAILURES,
	FAM_CSAT_RATINGS, /* from the database's snapshot, replaced whole by each */
	FAM_CSAT_AVERAGE,
	FAM_OAUTH2_REQUESTS,
	FAM_OAUTH2_EXPIRY, /* holds the Unix time; served as the seconds left */
	FAM_N,
};

struct family_def {
	const char *name;
	const char *type;
	const char *help;
	const char *labels[2]; /* NULL-padded */
};

static const struct family_def families[FAM_N] = {
    [FAM_MAILBOX_LAST_SUCCESS] = {"spocd_mailbox_last_success_timestamp_seconds",
				  "gauge",
				  "Unix time the mailbox was last read successfully.",
				  {"mailbox", NULL}},
    [FAM_MAILBOX_FAILURES] = {"spocd_mailbox_failures_total",
			      "counter",
			      "Passes over the mailbox that failed.",
			      {"mailbox", NULL}},
    [FAM_MESSAGES] = {"spocd_messages_total",
		      "counter",
		      "Mails committed, by mailbox and outcome (ticket, reply, duplicate, "
		      "automatic, quarantined...).",
		      {"mailbox", "outcome"}},
    [FAM_TICKETS] = {"spocd_tickets_created_total",
		     "counter",
		     "Tickets created, by kind and priority (1 highest .. 5).",
		     {"kind", "priority"}},
    [FAM_NOTIFICATIONS] = {"spocd_notifications_total",
			   "counter",
			   "Outbox rows the notifier handled, by kind and result (sent, retry, "
			   "failed).",
			   {"kind", "result"}},
    [FAM_SMTP_FAILURES] = {"spocd_smtp_failures_total",
			   "counter",
			   "SMTP deliveries that failed, by class (temporary: retried later, "
			   "permanent: given up).",
			   {"class", NULL}},
    [FAM_CSAT_RATINGS] =
	{"spocd_csat_ratings",
	 "gauge",
	 "Satisfaction ratings requesters gave in the last 7 days, by the team of the "
	 "ticket and rating (1 bad .. 5 excellent).",
	 {"team", "rating"}},
    [FAM_CSAT_AVERAGE] =
	{"spocd_csat_average",
	 "gauge",
	 "Mean satisfaction rating (1 .. 5) requesters gave in the last 7 days, by the "
	 "team of the ticket.",
	 {"team", NULL}},
    [FAM_OAUTH2_REQUESTS] = {"spocd_oauth2_token_requests_total",
			     "counter",
			     "Requests to an OAuth 2.0 token endpoint for a new access token, by "
			     "endpoint and result (ok, failed).",
			     {"endpoint", "result"}},
    [FAM_OAUTH2_EXPIRY] = {"spocd_oauth2_token_expiry_seconds",
			   "gauge",
			   "Seconds until the last access token from the endpoint expires (0: "
			   "expired; spocd renews it before).",
			   {"endpoint", NULL}},
};

/* Upper bounds of the ingest latency buckets, seconds: from a fast local delivery to an hour
 * behind (a mailbox that was unreachable for a while). */
static const double latency_bounds[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
#define LATENCY_N G_N_ELEMENTS(latency_bounds)

/* One series of a family: its rendered label pairs (also the key in the family's table). */
struct series {
	char *labels;
	double value;
};

static struct {
	GMutex lock;
	gboolean enabled;
	GHashTable *series[FAM_N];	   /* labels -> struct series */
	guint64 latency_counts[LATENCY_N]; /* per bucket, not cumulative */
	guint64 latency_count;
	double latency_sum;
	gboolean have_snapshot;
	struct metrics_snapshot snap;
	struct MHD_Daemon *daemon;
	char *listen; /* what the running daemon was started with */
	int port;
} reg;

/* ---- the registry ---- */

static void series_free(gpointer p)
{
	struct series *s = p;

	g_free(s->labels);
	g_free(s);
}

/* Appends v as a label value: valid UTF-8 (the format demands it), with backslash, double quote
 * and newline escaped. */
static void put_label_value(GString *out, const char *v)
{
	char *valid = g_utf8_make_valid(v != NULL ? v : "", -1);

	for (const char *p = valid; *p != '\0'; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '"')
			g_string_append(out, "\\\"");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_free(valid);
}

/* Appends v the way Prometheus reads it back: the shortest of %.15g / %.17g that round-trips,
 * "+Inf", "-Inf", "NaN"; never the locale's decimal comma. */
static void put_value(GString *out, double v)
{
	char buf[G_ASCII_DTOSTR_BUF_SIZE];

	if (isnan(v)) {
		g_string_append(out, "NaN");
		return;
	}
	if (isinf(v)) {
		g_string_append(out, v > 0 ? "+Inf" : "-Inf");
		return;
	}
	g_ascii_formatd(buf, sizeof(buf), "%.15g", v);
	if (g_ascii_strtod(buf, NULL) != v)
		g_ascii_formatd(buf, sizeof(buf), "%.17g", v);
	g_string_append(out, buf);
}

/* The series of family f with these label values, created at 0; under the lock. */
static struct series *series_get(enum metrics_family f, const char *const *values)
{
	const struct family_def *def = &families[f];
	GString *key = g_string_new(NULL);
	struct series *s;

	for (size_t i = 0; i < G_N_ELEMENTS(def->labels) && def->labels[i] != NULL; i++) {
		g_string_append_printf(key, "%s%s=\"", i > 0 ? "," : "", def->labels[i]);
		put_label_value(key, values[i]);
		g_string_append_c(key, '"');
	}
	s = g_hash_table_lookup(reg.series[f], key->str);
	if (s != NULL) {
		g_string_free(key, TRUE);
		return s;
	}
	s = g_new0(struct series, 1);
	s->labels = g_string_free(key, FALSE);
	g_hash_table_insert(reg.series[f], s->labels, s);
	return s;
}

static void registry_clear(void)
{
	for (int f = 0; f < FAM_N; f++)
		g_clear_pointer(&reg.series[f], g_hash_table_destroy);
	memset(reg.latency_counts, 0, sizeof(reg.latency_counts));
	reg.latency_count = 0;
	reg.latency_sum = 0;
	reg.have_snapshot = FALSE;
	memset(&reg.snap, 0, sizeof(reg.snap));
	reg.enabled = FALSE;
}

/* Empties the registry and starts recording; under the lock. */
static void registry_enable(void)
{
	registry_clear();
	for (int f = 0; f < FAM_N; f++)
		reg.series[f] = g_hash_table_new_full(g_str_hash, g_str_equal, NULL, series_free);
	/* both classes exist from the start, so that rate() and increase() see the first one */
	series_get(FAM_SMTP_FAILURES, (const char *const[]){"temporary"});
	series_get(FAM_SMTP_FAILURES, (const char *const[]){"permanent"});
	reg.enabled = TRUE;
}

void metrics_reset_for_tests(void)
{
	g_mutex_lock(&reg.lock);
	registry_enable();
	g_mutex_unlock(&reg.lock);
}

void metrics_mailbox_pass(const char *mailbox, gboolean ok)
{
	const char *v[] = {mailbox};

	g_mutex_lock(&reg.lock);
	if (reg.enabled) {
		struct series *failures = series_get(FAM_MAILBOX_FAILURES, v);

		if (ok)
			series_get(FAM_MAILBOX_LAST_SUCCESS, v)->value =
			    (double)g_get_real_time() / G_USEC_PER_SEC;
		else
			failures->value++;
	}
	g_mutex_unlock(&reg.lock);
}

void metrics_message(const char *mailbox, const char *outcome, double latency_s)
{
	const char *v[] = {mailbox, outcome};

	g_mutex_lock(&reg.lock);
	if (reg.enabled) {
		series_get(FAM_MESSAGES, v)->value++;
		/* unknown (< 0, NaN, infinite) stays out of the histogram; over the last bound is
		 * only in +Inf, which is the count */
		if (latency_s >= 0 && isfinite(latency_s)) {
			for (size_t i = 0; i < LATENCY_N; i++) {
				if (latency_s <= latency_bounds[i]) {
					reg.latency_counts[i]++;
					break;
				}
			}
			reg.latency_count++;
			reg.latency_sum += latency_s;
		}
	}
	g_mutex_unlock(&reg.lock);
}

void metrics_ticket_created(const char *kind, int priority)
{
	char prio[16];
	const char *v[] = {kind, prio};

	g_snprintf(prio, sizeof(prio), "%d", priority);
	g_mutex_lock(&reg.lock);
	if (reg.enabled)
		series_get(FAM_TICKETS, v)->value++;
	g_mutex_unlock(&reg.lock);
}

void metrics_notification(const char *kind, const char *result)
{
	const char *v[] = {kind, result};
	const char *smtp_class = NULL;

	if (g_strcmp0(result, "retry") == 0)
		smtp_class = "temporary";
	else if (g_strcmp0(result, "failed") == 0)
		smtp_class = "permanent";
	g_mutex_lock(&reg.lock);
	if (reg.enabled) {
		series_get(FAM_NOTIFICATIONS, v)->value++;
		if (smtp_class != NULL)
			series_get(FAM_SMTP_FAILURES, (const char *const[]){smtp_class})->value++;
	}
	g_mutex_unlock(&reg.lock);
}

void metrics_oauth2_token(const char *token_url, gboolean ok, int64_t expires_unix)
{
	g_mutex_lock(&reg.lock);
	if (reg.enabled) {
		series_get(FAM_OAUTH2_REQUESTS, (const char *const[]){token_url, ok ? "ok" : "failed"})
		    ->value++;
		if (ok)
			series_get(FAM_OAUTH2_EXPIRY, (const char *const[]){token_url})->value =
			    (double)expires_unix;
	}
	g_mutex_unlock(&reg.lock);
}

void metrics_set_snapshot(const struct metrics_snapshot *s)
{
	g_mutex_lock(&reg.lock);
	if (reg.enabled) {
		reg.snap = *s;
		reg.snap.csat = NULL; /* the caller's: its values go into the two families */
		reg.have_snapshot = TRUE;
		g_hash_table_remove_all(reg.series[FAM_CSAT_RATINGS]);
		g_hash_table_remove_all(reg.series[FAM_CSAT_AVERAGE]);
		for (guint i = 0; s->csat != NULL && i < s->csat->len; i++) {
			const struct metrics_csat *c = g_ptr_array_index(s->csat, i);
			double n = 0, sum = 0;

			for (int r = 1; r <= 5; r++) {
				char rating[4];

				g_snprintf(rating, sizeof(rating), "%d", r);
				series_get(FAM_CSAT_RATINGS, (const char *const[]){c->team, rating})
				    ->value = (double)c->count[r - 1];
				n += (double)c->count[r - 1];
				sum += (double)(r * c->count[r - 1]);
			}
			if (n > 0)
				series_get(FAM_CSAT_AVERAGE, (const char *const[]){c->team})
				    ->value = sum / n;
		}
	}
	g_mutex_unlock(&reg.lock);
}

/* ---- the exposition text ---- */

static void put_header(GString *out, const char *name, const char *type, const char *help)
{
	g_string_append_printf(out, "# HELP %s ", name);
	/* HELP escapes backslash and newline only */
	for (const char *p = help; *p != '\0'; p++) {
		if (*p == '\\')
			g_string_append(out, "\\\\");
		else if (*p == '\n')
			g_string_append(out, "\\n");
		else
			g_string_append_c(out, *p);
	}
	g_string_append_printf(out, "\n# TYPE %s %s\n", name, type);
}

/* One unlabelled sample. */
static void put_sample(GString *out, const char *name, const char *type, const char *help, double v)
{
	put_header(out, name, type, help);
	g_string_append_printf(out, "%s ", name);
	put_value(out, v);
	g_string_append_c(out, '\n');
}

static gint compare_series(gconstpointer a, gconstpointer b)
{
	const struct series *const *x = a, *const *y = b;

	return strcmp((*x)->labels, (*y)->labels);
}

/* A family with its series in label order, each value less minus (never below 0 when minus is
 * not 0: a time left); nothing at all when it has none yet. */
static void put_family_less(GString *out, enum metrics_family f, double minus)
{
	const struct family_def *def = &families[f];
	GPtrArray *all;
	GHashTableIter it;
	gpointer value;

	if (g_hash_table_size(reg.series[f]) == 0)
		return;
	all = g_ptr_array_new();
	g_hash_table_iter_init(&it, reg.series[f]);
	while (g_hash_table_iter_next(&it, NULL, &value))
		g_ptr_array_add(all, value);
	g_ptr_array_sort(all, compare_series);
	put_header(out, def->name, def->type, def->help);
	for (guint i = 0; i < all->len; i++) {
		const struct series *s = all->pdata[i];

		g_string_append_printf(out, "%s{%s} ", def->name, s->labels);
		put_value(out, minus != 0 ? MAX(s->value - minus, 0) : s->value);
		g_string_append_c(out, '\n');
	}
	g_ptr_array_free(all, TRUE);
}

static void put_family(GString *out, enum metrics_family f)
{
	put_family_less(out, f, 0);
}

static void put_latency(GString *out)
{
	static const char name[] = "spocd_ingest_latency_seconds";
	guint64 cumulative = 0;

	put_header(out, name, "histogram",
		   "Time from the mail's arrival on the IMAP server to its COMMIT in the "
		   "database.");
	for (size_t i = 0; i < LATENCY_N; i++) {
		cumulative += reg.latency_counts[i];
		g_string_append_printf(out, "%s_bucket{le=\"", name);
		put_value(out, latency_bounds[i]);
		g_string_append_printf(out, "\"} %" G_GUINT64_FORMAT "\n", cumulative);
	}
	g_string_append_printf(out, "%s_bucket{le=\"+Inf\"} %" G_GUINT64_FORMAT "\n", name,
			       reg.latency_count);
	g_string_append_printf(out, "%s_sum ", name);
	put_value(out, reg.latency_sum);
	g_string_append_printf(out, "\n%s_count %" G_GUINT64_FORMAT "\n", name, reg.latency_count);
}

static void put_snapshot(GString *out)
{
	const struct metrics_snapshot *s = &reg.snap;

	put_sample(out, "spocd_outbox_pending", "gauge",
		   "Notifications waiting to be sent (due now or retried later).",
		   (double)s->outbox_pending);
	put_sample(out, "spocd_outbox_oldest_pending_age_seconds", "gauge",
		   "Age of the oldest pending notification that is due, 0 when none is.",
		   s->outbox_oldest_age_s);
	put_sample(out, "spocd_outbox_held", "gauge",
		   "Notifications kept back by a rate limit, waiting for an operator.",
		   (double)s->outbox_held);
	put_sample(out, "spocd_outbox_failed", "gauge",
		   "Notifications given up for good (permanent SMTP failure or too many tries).",
		   (double)s->outbox_failed);
	put_sample(out, "spocd_sla_breached_open_tickets", "gauge",
		   "Open tickets past their first-response or resolution due time (not pending: "
		   "a pending ticket's clock is stopped).",
		   (double)s->sla_breached_open);
	put_sample(out, "spocd_sla_breach_notices_total", "counter",
		   "SLA breach notifications ever sent (from the outbox).",
		   (double)s->sla_notices_sent);
	put_sample(out, "spocd_sla_paused_tickets", "gauge",
		   "Pending tickets, whose resolution clock is stopped while they wait for the "
		   "requester.",
		   (double)s->sla_paused);
}

/* When this process started, Unix seconds: /proc/self/stat's start time (clock ticks after
 * boot) plus the boot time; the first call's clock when /proc says nothing. */
static double process_start_time(void)
{
	static gsize once;
	static double start;

	if (g_once_init_enter(&once)) {
		char *self = NULL, *stat = NULL, **fields = NULL;
		const char *btime, *paren;
		long ticks = sysconf(_SC_CLK_TCK);

		start = (double)g_get_real_time() / G_USEC_PER_SEC;
		if (ticks > 0 && g_file_get_contents("/proc/self/stat", &self, NULL, NULL) &&
		    g_file_get_contents("/proc/stat", &stat, NULL, NULL) &&
		    (paren = strrchr(self, ')')) != NULL &&
		    (btime = strstr(stat, "\nbtime ")) != NULL) {
			/* fields from the third on (state); starttime is the 22nd */
			fields = g_strsplit(paren + 1 + strspn(paren + 1, " "), " ", 0);
			if (g_strv_length(fields) > 19)
				start = (double)g_ascii_strtoull(btime + 7, NULL, 10) +
					(double)g_ascii_strtoull(fields[19], NULL, 10) / ticks;
		}
		g_strfreev(fields);
		g_free(self);
		g_free(stat);
		g_once_init_leave(&once, 1);
	}
	return start;
}

char *metrics_render(void)
{
	GString *out = g_string_sized_new(4096);
	double started = process_start_time();

	put_header(out, "spocd_build_info", "gauge", "The spocd version running, always 1.");
	g_string_append(out, "spocd_build_info{version=\"");
	put_label_value(out, SPOCD_VERSION);
	g_string_append(out, "\"} 1\n");
	put_sample(out, "process_start_time_seconds", "gauge",
		   "Start time of the process since the Unix epoch, seconds.", started);

	g_mutex_lock(&reg.lock);
	if (reg.enabled) {
		put_family(out, FAM_MAILBOX_LAST_SUCCESS);
		put_family(out, FAM_MAILBOX_FAILURES);
		put_family(out, FAM_MESSAGES);
		put_latency(out);
		put_family(out, FAM_TICKETS);
		put_family(out, FAM_NOTIFICATIONS);
		put_family(out, FAM_SMTP_FAILURES);
		if (reg.have_snapshot)
			put_snapshot(out);
		put_family(out, FAM_CSAT_RATINGS);
		put_family(out, FAM_CSAT_AVERAGE);
		put_family(out, FAM_OAUTH2_REQUESTS);
		put_family_less(out, FAM_OAUTH2_EXPIRY, (double)g_get_real_time() / G_USEC_PER_SEC);
	}
	g_mutex_unlock(&reg.lock);
	return g_string_free(out, FALSE);
}

/* ---- the endpoint ---- */

/* Queues status with body (g_malloc()ed, taken) as the answer. */
static enum MHD_Result respond(struct MHD_Connection *c, unsigned int status, char *body,
			       const char *content_type)
{
	struct MHD_Response *r =
	    MHD_create_response_from_buffer_with_free_callback(strlen(body), body, g_free);
	enum MHD_Result ret;

	if (r == NULL) {
		g_free(body);
		return MHD_NO;
	}
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(c, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result handle(void *cls, struct MHD_Connection *c, const char *url,
			      const char *method, const char *version, const char *upload_data,
			      size_t *upload_data_size, void **con_cls)
{
	(void)cls;
	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)con_cls;
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0 && strcmp(method, MHD_HTTP_METHOD_HEAD) != 0)
		return respond(c, MHD_HTTP_METHOD_NOT_ALLOWED, g_strdup("method not allowed\n"),
			       "text/plain; charset=utf-8");
	if (strcmp(url, "/metrics") != 0)
		return respond(c, MHD_HTTP_NOT_FOUND, g_strdup("not found: try /metrics\n"),
			       "text/plain; charset=utf-8");
	return respond(c, MHD_HTTP_OK, metrics_render(),
		       "text/plain; version=0.0.4; charset=utf-8");
}

/* Reads "host:port" or "[v6]:port" into *sa; the host must be loopback (127.0.0.0/8, ::1 or
 * localhost). SPOC_EPERM with err naming metrics.listen otherwise. */
static int parse_listen(const char *listen, struct sockaddr_storage *sa, gboolean *v6_r,
			struct errbuf *err)
{
	const char *colon, *port_s;
	char *host;
	guint64 port;
	int rc = SPOC_OK;

	memset(sa, 0, sizeof(*sa));
	if (listen[0] == '[') {
		const char *end = strchr(listen, ']');

		if (end == NULL || end[1] != ':')
			return errbuf_set(err, SPOC_EPERM,
					  "metrics.listen: \"%s\": expected [IPv6 address]:port",
					  listen);
		host = g_strndup(listen + 1, end - listen - 1);
		port_s = end + 2;
	} else {
		colon = strrchr(listen, ':');
		if (colon == NULL)
			return errbuf_set(err, SPOC_EPERM,
					  "metrics.listen: \"%s\": expected host:port, e.g. "
					  "127.0.0.1:9464",
					  listen);
		host = g_strndup(listen, colon - listen);
		if (strchr(host, ':') != NULL) {
			g_free(host);
			return errbuf_set(err, SPOC_EPERM,
					  "metrics.listen: \"%s\": write an IPv6 address in "
					  "brackets, e.g. [::1]:9464",
					  listen);
		}
		port_s = colon + 1;
	}
	if (!g_ascii_string_to_unsigned(port_s, 10, 0, 65535, &port, NULL)) {
		rc = errbuf_set(err, SPOC_EPERM,
				"metrics.listen: \"%s\": the port must be a number 0..65535",
				listen);
	} else if (g_ascii_strcasecmp(host, "localhost") == 0 || strchr(host, ':') == NULL) {
		struct sockaddr_in *in = (struct sockaddr_in *)sa;
		const char *ip = g_ascii_strcasecmp(host, "localhost") == 0 ? "127.0.0.1" : host;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		*v6_r = FALSE;
		if (inet_pton(AF_INET, ip, &in->sin_addr) != 1)
			rc = errbuf_set(err, SPOC_EPERM,
					"metrics.listen: \"%s\": the host must be a loopback IP "
					"address (127.0.0.1, [::1]) or localhost",
					listen);
		else if ((ntohl(in->sin_addr.s_addr) >> 24) != 127)
			rc =
			    errbuf_set(err, SPOC_EPERM,
				       "metrics.listen: %s is not a loopback address (127.0.0.0/8, "
				       "[::1], localhost): the metrics endpoint has no "
				       "authentication, put a proxy in front to publish it",
				       listen);
	} else {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		*v6_r = TRUE;
		if (inet_pton(AF_INET6, host, &in6->sin6_addr) != 1)
			rc = errbuf_set(err, SPOC_EPERM,
					"metrics.listen: \"%s\": not an IPv6 address", listen);
		else if (!IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr))
			rc =
			    errbuf_set(err, SPOC_EPERM,
				       "metrics.listen: %s is not a loopback address (127.0.0.0/8, "
				       "[::1], localhost): the metrics endpoint has no "
				       "authentication, put a proxy in front to publish it",
				       listen);
	}
	g_free(host);
	return rc;
}

/* Why libmicrohttpd could not listen on sa: binding a socket of our own there tells (it does
 * not say itself). */
static int listen_failure(const struct sockaddr_storage *sa, const char *listen, struct errbuf *err)
{
	socklen_t len =
	    sa->ss_family == AF_INET6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in);
	int fd = socket(sa->ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int one = 1, e = 0;

	if (fd < 0) {
		e = errno;
	} else {
		setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
		if (bind(fd, (const struct sockaddr *)sa, len) != 0)
			e = errno;
		close(fd);
	}
	if (e == 0)
		return errbuf_set(err, SPOC_ETEMP,
				  "metrics.listen: %s: libmicrohttpd could not start", listen);
	return errbuf_set(err, e == EADDRINUSE ? SPOC_ETEMP : SPOC_EPERM,
			  "metrics.listen: cannot listen on %s: %s", listen, g_strerror(e));
}

int metrics_start(const char *listen, struct errbuf *err)
{
	struct sockaddr_storage sa;
	struct MHD_Daemon *d, *old;
	const union MHD_DaemonInfo *info;
	gboolean v6 = FALSE;
	sigset_t all, saved;
	int rc;

	if (listen == NULL || *listen == '\0')
		return errbuf_set(err, SPOC_EPERM, "metrics.listen: empty");
	rc = parse_listen(listen, &sa, &v6, err);
	if (rc != SPOC_OK)
		return rc;
	g_mutex_lock(&reg.lock);
	if (reg.daemon != NULL && strcmp(reg.listen, listen) == 0) {
		g_mutex_unlock(&reg.lock);
		return SPOC_OK;
	}
	g_mutex_unlock(&reg.lock);

	/* Signals are the main loop's business: the server's thread starts with them blocked,
	 * but for the faults that must reach the thread that caused them. */
	sigfillset(&all);
	sigdelset(&all, SIGSEGV);
	sigdelset(&all, SIGBUS);
	sigdelset(&all, SIGFPE);
	sigdelset(&all, SIGILL);
	sigdelset(&all, SIGABRT);
	sigdelset(&all, SIGTRAP);
	pthread_sigmask(SIG_BLOCK, &all, &saved);
	d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_AUTO | (v6 ? MHD_USE_IPv6 : 0), 0, NULL, NULL,
	    handle, NULL, MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
	    (unsigned int)32, MHD_OPTION_CONNECTION_TIMEOUT, (unsigned int)10, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &saved, NULL);
	if (d == NULL)
		return listen_failure(&sa, listen, err);
	info = MHD_get_daemon_info(d, MHD_DAEMON_INFO_BIND_PORT);

	g_mutex_lock(&reg.lock);
	/* a new address keeps the values: only the endpoint moves */
	old = reg.daemon;
	reg.daemon = d;
	g_free(reg.listen);
	reg.listen = g_strdup(listen);
	reg.port = info != NULL ? info->port : 0;
	if (!reg.enabled)
		registry_enable();
	g_mutex_unlock(&reg.lock);
	/* outside the lock: a scrape in progress on it needs the lock to finish */
	if (old != NULL)
		MHD_stop_daemon(old);
	return SPOC_OK;
}

int metrics_port(void)
{
	int port;

	g_mutex_lock(&reg.lock);
	port = reg.daemon != NULL ? reg.port : 0;
	g_mutex_unlock(&reg.lock);
	return port;
}

void metrics_stop(void)
{
	struct MHD_Daemon *d;

	g_mutex_lock(&reg.lock);
	d = reg.daemon;
	reg.daemon = NULL;
	g_clear_pointer(&reg.listen, g_free);
	reg.port = 0;
	g_mutex_unlock(&reg.lock);
	if (d != NULL)
		MHD_stop_daemon(d);
	g_mutex_lock(&reg.lock);
	registry_clear();
	g_mutex_unlock(&reg.lock);
}
