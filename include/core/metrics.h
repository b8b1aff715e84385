/* The daemon's Prometheus metrics: counters and gauges kept in this process, served as the text
 * exposition format by libmicrohttpd on metrics.listen (a loopback address) from its own thread.
 * Every function is safe to call from the main loop while a scrape runs; all do nothing until
 * metrics_start() succeeded, so spocd without metrics.listen pays nothing. */
#ifndef SPOC_METRICS_H
#define SPOC_METRICS_H

#include "spoc.h"
#include "store_metrics.h"

#include <stdint.h>

/* Serves GET /metrics on listen ("127.0.0.1:9464", "[::1]:9464", "localhost:9464"; port 0 takes
 * a free one, see metrics_port()); a non-loopback address is refused. SPOC_OK, or SPOC_EPERM
 * (a bad or non-loopback address, a port it may not bind) / SPOC_ETEMP (the port is in use) with
 * the reason in err, which names metrics.listen. Called again with the same listen it does
 * nothing; with another one it moves the endpoint and keeps the values (the old endpoint stays
 * when the new one fails). The server's thread starts with asynchronous signals blocked. */
int metrics_start(const char *listen, struct errbuf *err);
/* Stops the endpoint, forgets every value and stops recording. */
void metrics_stop(void);
/* The TCP port the endpoint listens on, 0 when it does not run. */
int metrics_port(void);
/* Forgets every value and starts recording without an endpoint (unit tests). */
void metrics_reset_for_tests(void);

/* A pass over mailbox ended: ok (sets spocd_mailbox_last_success_timestamp_seconds to now) or
 * not (counts spocd_mailbox_failures_total). */
void metrics_mailbox_pass(const char *mailbox, gboolean ok);
/* One mail of mailbox committed, by outcome ("ticket", "reply", "duplicate", "automatic",
 * "quarantined", ...): spocd_messages_total{mailbox,outcome}; latency_s (the server's arrival
 * time to COMMIT, < 0 when unknown) goes to the spocd_ingest_latency_seconds histogram. */
void metrics_message(const char *mailbox, const char *outcome, double latency_s);
/* A new ticket: spocd_tickets_created_total{kind,priority}. */
void metrics_ticket_created(const char *kind, int priority);
/* What a notifier run did with one row: spocd_notifications_total{kind,result} with result
 * "sent", "retry" or "failed"; a retry or failure also counts spocd_smtp_failures_total{class}
 * ("temporary" / "permanent"). */
void metrics_notification(const char *kind, const char *result);
/* One request to an OAuth 2.0 token endpoint (token_url): spocd_oauth2_token_requests_total by
 * result, and when ok spocd_oauth2_token_expiry_seconds counts down to expires_unix. */
void metrics_oauth2_token(const char *token_url, gboolean ok, int64_t expires_unix);
/* The gauges read from the database by the notifier (struct metrics_snapshot, store_metrics.h);
 * s->csat replaces spocd_csat_ratings{team,rating} (every rating 1..5 of each team listed) and
 * spocd_csat_average{team} whole. s stays the caller's. */
void metrics_set_snapshot(const struct metrics_snapshot *s);

/* The exposition text of the current values (for the endpoint and the tests). Caller frees. */
char *metrics_render(void);

#endif
