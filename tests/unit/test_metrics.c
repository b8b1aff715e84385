/* Unit tests of metrics.c: the exposition text byte for byte for a small set of recorded values
 * (HELP and TYPE lines, label order, counters, the latency histogram with cumulative buckets and
 * +Inf equal to _count, the gauges of a database snapshot), label values escaped (backslash,
 * double quote, newline, invalid UTF-8), record functions that do nothing before metrics are
 * enabled, and the libmicrohttpd endpoint spoken to over a plain socket on 127.0.0.1 (a free
 * port): 200 with the exposition content type, 404, 405, a port in use, moving the endpoint,
 * and addresses refused before anything is bound (non-loopback, malformed). */
#include "metrics.h"

#include "testlib.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* What metrics_render() gives after the build_info and process_start_time_seconds families,
 * which every render starts with; checks that start on the way. Caller frees. */
static char *render_body(void)
{
	char *all = metrics_render();
	const char *prefix = "# HELP spocd_build_info The spocd version running, always 1.\n"
			     "# TYPE spocd_build_info gauge\n"
			     "spocd_build_info{version=\"" SPOCD_VERSION "\"} 1\n"
			     "# HELP process_start_time_seconds Start time of the process since "
			     "the Unix epoch, seconds.\n"
			     "# TYPE process_start_time_seconds gauge\n"
			     "process_start_time_seconds ";
	const char *p;
	double started, now = (double)g_get_real_time() / G_USEC_PER_SEC;
	char *end, *body;

	if (strncmp(all, prefix, strlen(prefix)) != 0)
		fail_msg("render does not start with build info and start time:\n%s", all);
	p = all + strlen(prefix);
	started = g_ascii_strtod(p, &end);
	/* this test process started within the last hour, not in the future */
	if (!(started > now - 3600 && started <= now + 1) || *end != '\n')
		fail_msg("process_start_time_seconds %.3f, now %.3f", started, now);
	body = g_strdup(end + 1);
	g_free(all);
	return body;
}

/* The value of the sample line that starts with "series " in text; fails when there is none. */
static double sample(const char *text, const char *series)
{
	char *needle = g_strdup_printf("\n%s ", series);
	const char *p = strstr(text, needle);
	double v;

	if (p == NULL)
		fail_msg("no sample %s in:\n%s", series, text);
	v = g_ascii_strtod(p + strlen(needle), NULL);
	g_free(needle);
	return v;
}

static void test_noop_before_enabling(void **state)
{
	struct metrics_snapshot snap = {.outbox_pending = 5};
	char *body;

	(void)state;
	metrics_stop();
	metrics_mailbox_pass("INBOX", TRUE);
	metrics_mailbox_pass("INBOX", FALSE);
	metrics_message("INBOX", "ticket", 1.5);
	metrics_ticket_created("incident", 1);
	metrics_notification("ack", "failed");
	metrics_set_snapshot(&snap);
	assert_int_equal(metrics_port(), 0);
	body = render_body();
	assert_string_equal(body, "");
	g_free(body);

	/* enabling starts from nothing: what came before was not kept */
	metrics_reset_for_tests();
	body = render_body();
	assert_null(strstr(body, "spocd_messages_total"));
	assert_null(strstr(body, "INBOX"));
	assert_null(strstr(body, "spocd_outbox_pending"));
	assert_non_null(strstr(body, "\nspocd_ingest_latency_seconds_count 0\n"));
	g_free(body);
	metrics_stop();
}

static void test_render_exact(void **state)
{
	struct metrics_snapshot snap = {
	    .outbox_pending = 3,
	    .outbox_held = 1,
	    .outbox_failed = 2,
	    .outbox_oldest_age_s = 42.5,
	    .sla_breached_open = 4,
	    .sla_notices_sent = 7,
	    .sla_paused = 5,
	};
	char *body;

	(void)state;
	metrics_reset_for_tests();
	metrics_mailbox_pass("INBOX", FALSE);
	metrics_mailbox_pass("INBOX", FALSE);
	metrics_message("INBOX", "ticket", 0.0625);
	metrics_message("INBOX", "ticket", 2);
	metrics_message("INBOX", "automatic", -1); /* arrival unknown: counted, no latency */
	metrics_message("help", "quarantined", 7200);
	metrics_ticket_created("incident", 2);
	metrics_ticket_created("request", 4);
	metrics_ticket_created("incident", 2);
	metrics_notification("ack", "sent");
	metrics_notification("ack", "retry");
	metrics_notification("status", "failed");
	metrics_set_snapshot(&snap);
	body = render_body();
	assert_string_equal(
	    body,
	    "# HELP spocd_mailbox_failures_total Passes over the mailbox that failed.\n"
	    "# TYPE spocd_mailbox_failures_total counter\n"
	    "spocd_mailbox_failures_total{mailbox=\"INBOX\"} 2\n"
	    "# HELP spocd_messages_total Mails committed, by mailbox and outcome (ticket, reply, "
	    "duplicate, automatic, quarantined...).\n"
	    "# TYPE spocd_messages_total counter\n"
	    "spocd_messages_total{mailbox=\"INBOX\",outcome=\"automatic\"} 1\n"
	    "spocd_messages_total{mailbox=\"INBOX\",outcome=\"ticket\"} 2\n"
	    "spocd_messages_total{mailbox=\"help\",outcome=\"quarantined\"} 1\n"
	    "# HELP spocd_ingest_latency_seconds Time from the mail's arrival on the IMAP server "
	    "to its COMMIT in the database.\n"
	    "# TYPE spocd_ingest_latency_seconds histogram\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"0.1\"} 1\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"0.25\"} 1\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"0.5\"} 1\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"1\"} 1\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"2.5\"} 2\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"5\"} 2\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"10\"} 2\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"30\"} 2\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"60\"} 2\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"300\"} 2\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"900\"} 2\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"3600\"} 2\n"
	    "spocd_ingest_latency_seconds_bucket{le=\"+Inf\"} 3\n"
	    "spocd_ingest_latency_seconds_sum 7202.0625\n"
	    "spocd_ingest_latency_seconds_count 3\n"
	    "# HELP spocd_tickets_created_total Tickets created, by kind and priority (1 highest "
	    ".. 5).\n"
	    "# TYPE spocd_tickets_created_total counter\n"
	    "spocd_tickets_created_total{kind=\"incident\",priority=\"2\"} 2\n"
	    "spocd_tickets_created_total{kind=\"request\",priority=\"4\"} 1\n"
	    "# HELP spocd_notifications_total Outbox rows the notifier handled, by kind and "
	    "result (sent, retry, failed).\n"
	    "# TYPE spocd_notifications_total counter\n"
	    "spocd_notifications_total{kind=\"ack\",result=\"retry\"} 1\n"
	    "spocd_notifications_total{kind=\"ack\",result=\"sent\"} 1\n"
	    "spocd_notifications_total{kind=\"status\",result=\"failed\"} 1\n"
	    "# HELP spocd_smtp_failures_total SMTP deliveries that failed, by class (temporary: "
	    "retried later, permanent: given up).\n"
	    "# TYPE spocd_smtp_failures_total counter\n"
	    "spocd_smtp_failures_total{class=\"permanent\"} 1\n"
	    "spocd_smtp_failures_total{class=\"temporary\"} 1\n"
	    "# HELP spocd_outbox_pending Notifications waiting to be sent (due now or retried "
	    "later).\n"
	    "# TYPE spocd_outbox_pending gauge\n"
	    "spocd_outbox_pending 3\n"
	    "# HELP spocd_outbox_oldest_pending_age_seconds Age of the oldest pending "
	    "notification that is due, 0 when none is.\n"
	    "# TYPE spocd_outbox_oldest_pending_age_seconds gauge\n"
	    "spocd_outbox_oldest_pending_age_seconds 42.5\n"
	    "# HELP spocd_outbox_held Notifications kept back by a rate limit, waiting for an "
	    "operator.\n"
	    "# TYPE spocd_outbox_held gauge\n"
	    "spocd_outbox_held 1\n"
	    "# HELP spocd_outbox_failed Notifications given up for good (permanent SMTP failure "
	    "or too many tries).\n"
	    "# TYPE spocd_outbox_failed gauge\n"
	    "spocd_outbox_failed 2\n"
	    "# HELP spocd_sla_breached_open_tickets Open tickets past their first-response or "
	    "resolution due time (not pending: a pending ticket's clock is stopped).\n"
	    "# TYPE spocd_sla_breached_open_tickets gauge\n"
	    "spocd_sla_breached_open_tickets 4\n"
	    "# HELP spocd_sla_breach_notices_total SLA breach notifications ever sent (from the "
	    "outbox).\n"
	    "# TYPE spocd_sla_breach_notices_total counter\n"
	    "spocd_sla_breach_notices_total 7\n"
	    "# HELP spocd_sla_paused_tickets Pending tickets, whose resolution clock is stopped "
	    "while they wait for the requester.\n"
	    "# TYPE spocd_sla_paused_tickets gauge\n"
	    "spocd_sla_paused_tickets 5\n");
	g_free(body);
	metrics_stop();
}

/* Before any notification both SMTP classes are there at 0, and a mailbox read successfully
 * has its time and a failure count of 0. */
static void test_initial_series(void **state)
{
	double before, after, at;
	char *body;

	(void)state;
	metrics_reset_for_tests();
	before = (double)g_get_real_time() / G_USEC_PER_SEC;
	metrics_mailbox_pass("support", TRUE);
	after = (double)g_get_real_time() / G_USEC_PER_SEC;
	body = render_body();
	at = sample(body, "spocd_mailbox_last_success_timestamp_seconds{mailbox=\"support\"}");
	assert_true(at >= before && at <= after);
	assert_non_null(strstr(body, "\nspocd_mailbox_failures_total{mailbox=\"support\"} 0\n"));
	assert_non_null(strstr(body, "\nspocd_smtp_failures_total{class=\"permanent\"} 0\n"
				     "spocd_smtp_failures_total{class=\"temporary\"} 0\n"));
	assert_non_null(
	    strstr(body, "# TYPE spocd_mailbox_last_success_timestamp_seconds gauge\n"));
	/* no snapshot yet: no database gauges rather than zeros nobody measured */
	assert_null(strstr(body, "spocd_outbox"));
	assert_null(strstr(body, "spocd_sla"));
	g_free(body);

	/* a later success moves the time, a failure keeps it */
	g_usleep(2000);
	metrics_mailbox_pass("support", FALSE);
	body = render_body();
	assert_true(
	    sample(body, "spocd_mailbox_last_success_timestamp_seconds{mailbox=\"support\"}") ==
	    at);
	assert_true(sample(body, "spocd_mailbox_failures_total{mailbox=\"support\"}") == 1);
	g_free(body);
	metrics_mailbox_pass("support", TRUE);
	body = render_body();
	assert_true(
	    sample(body, "spocd_mailbox_last_success_timestamp_seconds{mailbox=\"support\"}") > at);
	g_free(body);
	metrics_stop();
}

static void test_label_escaping(void **state)
{
	char *body;

	(void)state;
	metrics_reset_for_tests();
	metrics_message("a\"b\\c\nd", "ticket", -1);
	metrics_message("a\"b\\c\nd", "ticket", -1);
	metrics_message("caf\xe9", "reply", -1); /* Latin-1: not UTF-8 */
	metrics_ticket_created("incident", 1);
	body = render_body();
	assert_non_null(strstr(
	    body, "\nspocd_messages_total{mailbox=\"a\\\"b\\\\c\\nd\",outcome=\"ticket\"} 2\n"));
	assert_non_null(strstr(
	    body, "\nspocd_messages_total{mailbox=\"caf\xef\xbf\xbd\",outcome=\"reply\"} 1\n"));
	assert_true(g_utf8_validate(body, -1, NULL));
	/* no raw newline inside a sample line: every line is a comment or name{...} value */
	{
		char **lines = g_strsplit(body, "\n", -1);

		for (char **l = lines; *l != NULL; l++) {
			if (**l == '\0' || **l == '#')
				continue;
			if (!g_str_has_prefix(*l, "spocd_"))
				fail_msg("stray line: %s", *l);
		}
		g_strfreev(lines);
	}
	g_free(body);
	metrics_stop();
}

static void test_histogram(void **state)
{
	static const double bounds[] = {0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600};
	/* on a bound counts in that bucket (le: less or equal) */
	static const double seen[] = {0,  0.1, 0.1000001, 0.3,	  1,	 1,  4,	  29.9, 30,
				      61, 899, 3600,	  3600.5, 86400, -3, 0.7, 12,	250};
	char *body;
	double prev = 0, sum = 0;
	int counted = 0;

	(void)state;
	metrics_reset_for_tests();
	for (size_t i = 0; i < G_N_ELEMENTS(seen); i++) {
		metrics_message("INBOX", "ticket", seen[i]);
		if (seen[i] >= 0) {
			sum += seen[i];
			counted++;
		}
	}
	body = render_body();
	for (size_t b = 0; b < G_N_ELEMENTS(bounds); b++) {
		char series[128], le[G_ASCII_DTOSTR_BUF_SIZE];
		int want = 0;
		double got;

		for (size_t i = 0; i < G_N_ELEMENTS(seen); i++)
			want += seen[i] >= 0 && seen[i] <= bounds[b];
		g_ascii_formatd(le, sizeof(le), "%g", bounds[b]);
		g_snprintf(series, sizeof(series), "spocd_ingest_latency_seconds_bucket{le=\"%s\"}",
			   le);
		got = sample(body, series);
		if (got != want)
			fail_msg("%s: %g, expected %d", series, got, want);
		assert_true(got >= prev);
		prev = got;
	}
	assert_true(sample(body, "spocd_ingest_latency_seconds_bucket{le=\"+Inf\"}") == counted);
	assert_true(sample(body, "spocd_ingest_latency_seconds_count") == counted);
	assert_true(sample(body, "spocd_ingest_latency_seconds_sum") == sum);
	assert_true(sample(body, "spocd_messages_total{mailbox=\"INBOX\",outcome=\"ticket\"}") ==
		    G_N_ELEMENTS(seen));
	g_free(body);
	metrics_stop();
}

static void test_snapshot(void **state)
{
	struct metrics_snapshot a = {.outbox_pending = 10, .outbox_oldest_age_s = 0.25};
	struct metrics_snapshot b = {
	    .outbox_pending = 0, .outbox_failed = 123456789012, .sla_breached_open = 1};
	char *body;

	(void)state;
	metrics_reset_for_tests();
	metrics_set_snapshot(&a);
	body = render_body();
	assert_non_null(strstr(body, "\nspocd_outbox_pending 10\n"));
	assert_non_null(strstr(body, "\nspocd_outbox_oldest_pending_age_seconds 0.25\n"));
	assert_non_null(strstr(body, "\nspocd_outbox_held 0\n"));
	assert_non_null(strstr(body, "\nspocd_sla_breached_open_tickets 0\n"));
	g_free(body);
	/* the latest snapshot replaces the one before */
	metrics_set_snapshot(&b);
	body = render_body();
	assert_non_null(strstr(body, "\nspocd_outbox_pending 0\n"));
	assert_non_null(strstr(body, "\nspocd_outbox_oldest_pending_age_seconds 0\n"));
	assert_non_null(strstr(body, "\nspocd_outbox_failed 123456789012\n"));
	assert_non_null(strstr(body, "\nspocd_sla_breached_open_tickets 1\n"));
	assert_non_null(strstr(body, "# TYPE spocd_sla_breach_notices_total counter\n"
				     "spocd_sla_breach_notices_total 0\n"));
	g_free(body);
	metrics_stop();
}

/* The satisfaction gauges: every rating of each team in the snapshot, and the team's mean; a
 * new snapshot replaces them whole (a team without ratings this week disappears). */
static void test_csat(void **state)
{
	struct metrics_csat desk = {.team = "desk", .count = {1, 0, 0, 2, 5}};
	struct metrics_csat none = {.team = "", .count = {0, 0, 3, 0, 0}};
	GPtrArray *teams = g_ptr_array_new();
	struct metrics_snapshot a = {.csat = teams}, b = {0};
	char *body;

	(void)state;
	g_ptr_array_add(teams, &desk);
	g_ptr_array_add(teams, &none);
	metrics_reset_for_tests();
	body = render_body();
	assert_null(strstr(body, "spocd_csat"));
	g_free(body);
	metrics_set_snapshot(&a);
	body = render_body();
	assert_non_null(strstr(body, "# TYPE spocd_csat_ratings gauge\n"
				     "spocd_csat_ratings{team=\"\",rating=\"1\"} 0\n"));
	assert_true(sample(body, "spocd_csat_ratings{team=\"desk\",rating=\"1\"}") == 1);
	assert_true(sample(body, "spocd_csat_ratings{team=\"desk\",rating=\"3\"}") == 0);
	assert_true(sample(body, "spocd_csat_ratings{team=\"desk\",rating=\"5\"}") == 5);
	assert_true(sample(body, "spocd_csat_ratings{team=\"\",rating=\"3\"}") == 3);
	/* (1 + 2 * 4 + 5 * 5) / 8 */
	assert_true(sample(body, "spocd_csat_average{team=\"desk\"}") == 34.0 / 8);
	assert_true(sample(body, "spocd_csat_average{team=\"\"}") == 3);
	g_free(body);
	metrics_set_snapshot(&b);
	body = render_body();
	assert_null(strstr(body, "spocd_csat"));
	g_free(body);
	g_ptr_array_unref(teams);
	metrics_stop();
}

/* ---- the endpoint ---- */

/* Sends request to host:port and returns everything the server answered until it closed, or
 * NULL when the connection was refused. Caller frees. */
static char *http(int family, int port, const char *request)
{
	struct sockaddr_storage sa = {0};
	socklen_t len;
	struct timeval tv = {.tv_sec = 10};
	GString *got = g_string_new(NULL);
	char buf[4096];
	ssize_t n;
	int fd = socket(family, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	if (family == AF_INET6) {
		struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)&sa;

		in6->sin6_family = AF_INET6;
		in6->sin6_port = htons((uint16_t)port);
		in6->sin6_addr = in6addr_loopback;
		len = sizeof(*in6);
	} else {
		struct sockaddr_in *in = (struct sockaddr_in *)&sa;

		in->sin_family = AF_INET;
		in->sin_port = htons((uint16_t)port);
		in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		len = sizeof(*in);
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, len) != 0) {
		int e = errno;

		close(fd);
		g_string_free(got, TRUE);
		if (e != ECONNREFUSED)
			fail_msg("connect to port %d: %s", port, g_strerror(e));
		return NULL;
	}
	assert_int_equal(send(fd, request, strlen(request), MSG_NOSIGNAL),
			 (ssize_t)strlen(request));
	while ((n = recv(fd, buf, sizeof(buf), 0)) > 0)
		g_string_append_len(got, buf, n);
	if (n < 0)
		fail_msg("reading the answer: %s", g_strerror(errno));
	close(fd);
	return g_string_free(got, FALSE);
}

/* The header called name in the answer's head, or NULL. Caller frees. */
static char *header(const char *answer, const char *name)
{
	const char *end = strstr(answer, "\r\n\r\n");
	char *head = g_strndup(answer, end != NULL ? (gsize)(end - answer) : strlen(answer));
	char **lines = g_strsplit(head, "\r\n", -1);
	char *value = NULL;

	for (char **l = lines + 1; *l != NULL && value == NULL; l++) {
		const char *colon = strchr(*l, ':');

		if (colon != NULL && (size_t)(colon - *l) == strlen(name) &&
		    g_ascii_strncasecmp(*l, name, strlen(name)) == 0)
			value = g_strstrip(g_strdup(colon + 1));
	}
	g_strfreev(lines);
	g_free(head);
	return value;
}

static const char *body_of(const char *answer)
{
	const char *end = strstr(answer, "\r\n\r\n");

	assert_non_null(end);
	return end + 4;
}

static void test_http(void **state)
{
	struct errbuf err = {""};
	char *answer, *ctype;
	int port;

	(void)state;
	metrics_stop();
	if (metrics_start("127.0.0.1:0", &err) != SPOC_OK)
		fail_msg("metrics_start: %s", err.msg);
	port = metrics_port();
	assert_true(port > 0 && port < 65536);
	metrics_message("INBOX", "ticket", 0.5);

	answer = http(AF_INET, port,
		      "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n"
		      "Connection: close\r\n\r\n");
	assert_non_null(answer);
	if (!g_str_has_prefix(answer, "HTTP/1.1 200 OK\r\n"))
		fail_msg("answer: %s", answer);
	ctype = header(answer, "Content-Type");
	assert_non_null(ctype);
	assert_string_equal(ctype, "text/plain; version=0.0.4; charset=utf-8");
	g_free(ctype);
	assert_true(g_str_has_prefix(body_of(answer), "# HELP spocd_build_info "));
	assert_non_null(strstr(body_of(answer),
			       "\nspocd_messages_total{mailbox=\"INBOX\",outcome=\"ticket\"} 1\n"));
	assert_non_null(strstr(body_of(answer), "\nspocd_ingest_latency_seconds_count 1\n"));
	g_free(answer);

	/* a query string is not part of the path */
	answer = http(AF_INET, port, "GET /metrics?x=1 HTTP/1.0\r\n\r\n");
	assert_non_null(answer);
	assert_true(g_str_has_prefix(answer, "HTTP/1.") && strstr(answer, " 200 OK\r\n") != NULL);
	g_free(answer);

	answer = http(AF_INET, port, "GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(answer);
	if (!g_str_has_prefix(answer, "HTTP/1.1 404 Not Found\r\n"))
		fail_msg("answer: %s", answer);
	assert_null(strstr(answer, "spocd_"));
	g_free(answer);

	answer =
	    http(AF_INET, port, "GET /metricsx HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
	assert_non_null(answer);
	assert_true(g_str_has_prefix(answer, "HTTP/1.1 404 "));
	g_free(answer);

	answer = http(AF_INET, port,
		      "POST /metrics HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n"
		      "Connection: close\r\n\r\n");
	assert_non_null(answer);
	if (!g_str_has_prefix(answer, "HTTP/1.1 405 Method Not Allowed\r\n"))
		fail_msg("answer: %s", answer);
	ctype = header(answer, "Allow");
	assert_non_null(ctype);
	assert_string_equal(ctype, "GET, HEAD");
	g_free(ctype);
	g_free(answer);

	/* the same address again changes nothing */
	assert_int_equal(metrics_start("127.0.0.1:0", &err), SPOC_OK);
	assert_int_equal(metrics_port(), port);

	metrics_stop();
	assert_int_equal(metrics_port(), 0);
	answer = http(AF_INET, port, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_null(answer);
}

/* Another address moves the endpoint and keeps the values. */
static void test_http_move(void **state)
{
	struct errbuf err = {""};
	char *answer;
	int first, second;

	(void)state;
	metrics_stop();
	if (metrics_start("127.0.0.1:0", &err) != SPOC_OK)
		fail_msg("metrics_start: %s", err.msg);
	first = metrics_port();
	metrics_ticket_created("request", 3);
	if (metrics_start("localhost:0", &err) != SPOC_OK)
		fail_msg("metrics_start: %s", err.msg);
	second = metrics_port();
	assert_true(second > 0 && second != first);
	answer = http(AF_INET, first, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_null(answer);
	answer = http(AF_INET, second, "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(answer);
	assert_non_null(strstr(answer, "\nspocd_tickets_created_total{kind=\"request\","
				       "priority=\"3\"} 1\n"));
	g_free(answer);
	metrics_stop();
}

static void test_http_port_in_use(void **state)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t len = sizeof(sa);
	struct errbuf err = {""};
	char *listen_on;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	(void)state;
	metrics_stop();
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	listen_on = g_strdup_printf("127.0.0.1:%d", ntohs(sa.sin_port));
	assert_int_equal(metrics_start(listen_on, &err), SPOC_ETEMP);
	if (!g_str_has_prefix(err.msg, "metrics.listen: ") || strstr(err.msg, listen_on) == NULL ||
	    strstr(err.msg, g_strerror(EADDRINUSE)) == NULL)
		fail_msg("error: %s", err.msg);
	/* nothing runs and nothing records */
	assert_int_equal(metrics_port(), 0);
	metrics_message("INBOX", "ticket", 1);
	{
		char *body = render_body();

		assert_string_equal(body, "");
		g_free(body);
	}
	close(fd);
	g_free(listen_on);
}

static void test_http_ipv6(void **state)
{
	struct errbuf err = {""};
	char *answer;
	int rc;

	(void)state;
	metrics_stop();
	rc = metrics_start("[::1]:0", &err);
	if (rc != SPOC_OK && strstr(err.msg, g_strerror(EADDRNOTAVAIL)) != NULL) {
		/* a machine without IPv6 loopback */
		skip();
	}
	if (rc != SPOC_OK)
		fail_msg("metrics_start: %s", err.msg);
	answer = http(AF_INET6, metrics_port(), "GET /metrics HTTP/1.0\r\n\r\n");
	assert_non_null(answer);
	assert_non_null(strstr(answer, " 200 OK\r\n"));
	g_free(answer);
	metrics_stop();
}

static void test_refused_addresses(void **state)
{
	static const char *const bad[] = {
	    "10.1.2.3:9464",
	    "0.0.0.0:9464",
	    "192.168.1.10:9464",
	    "[::]:9464",
	    "[2001:db8::1]:9464",
	    "[::ffff:10.0.0.1]:9464",
	    "example.org:9464",
	    "127.0.0.1",
	    "127.0.0.1:",
	    "127.0.0.1:65536",
	    "127.0.0.1:-1",
	    "127.0.0.1:http",
	    "::1:9464",
	    "[::1]9464",
	    "[::1",
	    "",
	};

	(void)state;
	metrics_stop();
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		struct errbuf err = {""};
		int rc = metrics_start(bad[i], &err);

		if (rc != SPOC_EPERM || !g_str_has_prefix(err.msg, "metrics.listen: "))
			fail_msg("\"%s\": rc %d, error \"%s\"", bad[i], rc, err.msg);
		assert_int_equal(metrics_port(), 0);
	}
	/* the two the daemon's users are most likely to write say why */
	{
		struct errbuf err = {""};

		metrics_start("10.1.2.3:9464", &err);
		assert_string_equal(err.msg,
				    "metrics.listen: 10.1.2.3:9464 is not a loopback address "
				    "(127.0.0.0/8, [::1], localhost): the metrics endpoint has no "
				    "authentication, put a proxy in front to publish it");
		metrics_start("0.0.0.0:9464", &err);
		assert_non_null(strstr(err.msg, "metrics.listen: 0.0.0.0:9464 is not a loopback"));
	}
	assert_int_equal(metrics_start(NULL, NULL), SPOC_EPERM);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_noop_before_enabling),
	    cmocka_unit_test(test_render_exact),
	    cmocka_unit_test(test_initial_series),
	    cmocka_unit_test(test_label_escaping),
	    cmocka_unit_test(test_histogram),
	    cmocka_unit_test(test_snapshot),
	    cmocka_unit_test(test_csat),
	    cmocka_unit_test(test_http),
	    cmocka_unit_test(test_http_move),
	    cmocka_unit_test(test_http_port_in_use),
	    cmocka_unit_test(test_http_ipv6),
	    cmocka_unit_test(test_refused_addresses),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
