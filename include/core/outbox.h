/* The notifier: claims due outbox rows, renders each from its template, builds it with compose.c,
 * sends it with smtp.c over one connection per run, and records the outcome. */
#ifndef SPOC_OUTBOX_H
#define SPOC_OUTBOX_H

#include "conf.h"
#include "store.h"

struct outbox;

/* Loads and checks every template under conf->desk.templates_dir for every language shipped.
 * NULL with the reason in err (file, line, placeholder) when one is missing or wrong. */
struct outbox *outbox_new(const struct spoc_conf *conf, struct errbuf *err);
void outbox_free(struct outbox **ob);

struct outbox_stats {
	unsigned sent, retried, failed;
	unsigned held;	  /* over a rate limit: asked again at its release */
	unsigned refused; /* a refused recipient, or held past smtp.max_retry_age */
};

/* Sends every due row. SPOC_OK when the outbox was worked through (individual rows may have been
 * rescheduled or failed: see stats and the per-row log callback); SPOC_ETEMP when the database
 * went away. log_fn (may be NULL) is told about each row's outcome. */
typedef void (*outbox_log_fn)(int priority, const struct outbox_row *row, const char *what,
			      void *ctx);
int outbox_run(struct outbox *ob, struct store *st, struct outbox_stats *stats_r,
	       outbox_log_fn log_fn, void *log_ctx, struct errbuf *err);

/* TRUE when the last outbox_run() stopped early because the SMTP server could not be reached
 * (smtp_open() failed: the row it had claimed is rescheduled and the others wait for the next
 * run). A 4xx for one row does not count: the server answered. */
gboolean outbox_unreachable(const struct outbox *ob);

#endif
