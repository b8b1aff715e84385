/* The notifier's run. It claims due outbox rows a batch at a time (notify.batch_size, in one
 * transaction, the rows locked so a second spocd skips them), refuses a recipient no desk should
 * write to and holds a row over a rate limit (caps.h, counting the batch's own sends as it
 * goes), asks the knowledge base for the suggestions of every acknowledgement of the batch in
 * one query, renders and builds each mail (outbox.c) and sends it over one SMTP connection kept
 * open across batches while there is work (or smtp.connections of them, one thread each, the
 * database left to the main thread), then records every outcome in one statement and
 * commits: sent (with the bytes, on the ticket), retry later with an exponential, jittered
 * delay, failed for good, held or refused. A server that cannot be reached ends the run after
 * one attempt, so a dead relay is not hammered once per row (the batch's rows not tried are
 * left as they were); a poison row (an address the server refuses) fails alone and the rest go
 * on. A crash after the server accepted some of a batch's mails and before the commit sends
 * them again on the next run, once, with the same Message-ID. */
#include "outbox_priv.h"

#include "caps.h"
#include "keys.h"
#include "store_admin.h"

#include <string.h>
#include <syslog.h>

/* One claimed row on its way: its mark for the store, the mail built for it, and what log_fn
 * hears once the batch is committed. */
struct pending {
	struct outbox_mark mark;
	gboolean sendable; /* the limits let it go: it is built and sent */
	gboolean tried;	   /* it has a mark: the row is recorded with the batch */
	struct outgoing out;
	int send_rc;	      /* how building and sending it went */
	struct errbuf why;    /* and why, when it failed */
	gboolean unreachable; /* no connection could be opened for it */
	char *suggestions;
	char *reason; /* owned: mark.reason */
	char *what;
	int prio;
};

static void pending_clear(struct pending *p)
{
	outgoing_clear(&p->out);
	g_free(p->suggestions);
	g_free(p->reason);
	g_free(p->what);
}

/* Counts into later a row of the batch decided to go out (sent), as the store would count it
 * once sent (claim_facts() in store_outbox.c): the limits of a later row of the same batch see
 * it, at the database's clock of the claim. It is counted whether or not the server then takes
 * it: a limit errs on holding a mail back, never on sending one too many. */
static void count_sent(const struct outbox_row *sent, struct outbox_row *later)
{
	gboolean automatic = caps_automatic(sent->kind);
	gboolean same_key = g_strcmp0(sent->recipient_key, later->recipient_key) == 0;
	gboolean same_ticket = sent->ticket_id != 0 && sent->ticket_id == later->ticket_id;
	gboolean same_kind = g_strcmp0(sent->kind, later->kind) == 0;
	gboolean in[CAPS_WINDOWS] = {same_key, same_key, same_ticket};

	for (int w = 0; w < CAPS_WINDOWS; w++) {
		struct caps_count *c[2] = {automatic ? &later->caps.automatic[w] : NULL,
					   same_kind ? &later->caps.kind[w] : NULL};

		for (size_t k = 0; k < G_N_ELEMENTS(c); k++)
			if (in[w] && c[k] != NULL && c[k]->n++ == 0)
				c[k]->oldest = sent->now;
	}
	if (automatic && later->caps.automatic_hour.n++ == 0)
		later->caps.automatic_hour.oldest = sent->now;
}

/* What the desk's policy makes of row before anything is built for it: a recipient the desk
 * refuses is refused, a rate limit holds it until its release (or gives it up when it has been
 * held too long), both with the reason; otherwise p->sendable. */
static void gate(const struct outbox *ob, const struct outbox_row *row, struct pending *p,
		 struct outbox_stats *stats)
{
	const struct spoc_conf *conf = ob->conf;
	const struct caps_row cr = {
	    .kind = row->kind, .age_s = row->age_s, .waived = row->waived, .held = row->held};
	char *refused = caps_recipient_refused(row->recipient, (const char *const *)ob->own,
					       (const char *const *)conf->smtp.refused_domains);
	struct caps_verdict v = {0};

	p->mark.row = row;
	if (refused == NULL) {
		caps_decide(&conf->caps, &cr, &row->caps, row->now, conf->smtp.max_retry_age_s, &v);
		if (v.action == CAPS_SEND) {
			p->sendable = TRUE;
			return;
		}
	}
	p->tried = TRUE;
	if (refused == NULL && v.action == CAPS_HOLD) {
		GDateTime *at = g_date_time_new_from_unix_utc(v.release);
		char *when = g_date_time_format(at, "%Y-%m-%dT%H:%M:%SZ");

		p->mark.fate = OUTBOX_HELD;
		p->mark.release = v.release;
		p->reason = g_strdup(v.reason);
		p->what = g_strdup_printf("held until %s: %s", when, v.reason);
		g_free(when);
		g_date_time_unref(at);
		p->prio = LOG_NOTICE;
		stats->held++;
	} else {
		p->reason = refused != NULL ? g_strdup(refused) : g_strdup(v.reason);
		p->mark.fate = OUTBOX_REFUSED;
		/* "refused": the desk's own policy said no, not the SMTP server */
		p->what = g_str_has_prefix(p->reason, "refused")
			      ? g_strdup(p->reason)
			      : g_strdup_printf("refused: %s", p->reason);
		p->prio = LOG_WARNING;
		stats->refused++;
	}
	p->mark.reason = p->reason;
	g_free(refused);
}

/* The outcome of a row that was built and maybe sent (send_rc and why from building or sending
 * it) as its mark, counted in stats. */
static void settle(const struct outbox *ob, struct pending *p, int send_rc, const char *why,
		   struct outbox_stats *stats)
{
	const struct spoc_smtp_conf *sc = &ob->conf->smtp;
	const struct outbox_row *row = p->mark.row;
	int attempt = row->attempts + 1, delay = outbox_retry_delay(sc, row->attempts);

	p->tried = TRUE;
	if (send_rc == SPOC_OK) {
		const GByteArray *kept = p->out.record != NULL ? p->out.record : p->out.raw;

		p->mark.fate = OUTBOX_SENT;
		p->mark.raw = (const char *)kept->data;
		p->mark.len = kept->len;
		p->mark.subject = p->out.subject;
		p->mark.body_text = p->out.body;
		p->mark.carried = p->out.carried;
		p->what = g_strdup("sent");
		p->prio = LOG_INFO;
		stats->sent++;
	} else if (send_rc == SPOC_ETEMP && attempt < sc->max_attempts &&
		   row->age_s + delay <= sc->max_retry_age_s) {
		p->mark.fate = OUTBOX_RETRY;
		p->mark.delay_s = delay;
		p->reason = g_strdup(why);
		p->what = g_strdup_printf("not sent (attempt %d of %d), retry in %ds: %s", attempt,
					  sc->max_attempts, delay, why);
		p->prio = LOG_WARNING;
		stats->retried++;
	} else {
		p->mark.fate = OUTBOX_FAILED;
		p->reason = send_rc != SPOC_ETEMP ? g_strdup(why)
			    : attempt >= sc->max_attempts
				? g_strdup_printf("gave up after %d attempts: %s", attempt, why)
				: g_strdup_printf("gave up after %d attempts over %" G_GINT64_FORMAT
						  " s (smtp.max_retry_age = %d): %s",
						  attempt, row->age_s, sc->max_retry_age_s, why);
		p->what = g_strdup_printf("failed: %s", p->reason);
		p->prio = LOG_ERR;
		stats->failed++;
	}
	p->mark.reason = p->reason;
}

/* The suggestions of every sendable acknowledgement of the batch, from one query, as the lines
 * of its {{suggestions}}: "- title <url>" or "- [REQ-000012] subject". Suggestions are a
 * courtesy: a search that fails leaves them out (under a savepoint, so the batch's transaction
 * goes on; log_fn hears why for each row) and only a lost connection is an error (SPOC_ETEMP). */
static int suggest(const struct outbox *ob, struct store *st, struct pending *ps, guint n,
		   outbox_log_fn log_fn, void *log_ctx, struct errbuf *err)
{
	GArray *at = g_array_new(FALSE, FALSE, sizeof(guint));
	GArray *ids = g_array_new(FALSE, FALSE, sizeof(int64_t));
	GPtrArray *langs = g_ptr_array_new();
	GPtrArray **found = NULL;
	struct errbuf why = {{0}};
	int rc = SPOC_OK;

	for (guint i = 0; i < n; i++)
		if (ps[i].sendable && strcmp(ps[i].mark.row->kind, "ack") == 0) {
			g_array_append_val(at, i);
			g_array_append_val(ids, ps[i].mark.row->ticket_id);
			g_ptr_array_add(langs, ps[i].mark.row->language);
		}
	if (at->len > 0 && ob->conf->kb_suggestions > 0 &&
	    (rc = store_savepoint(st, err)) == SPOC_OK) {
		int src = store_kb_suggest_batch(st, (const int64_t *)(void *)ids->data,
						 (const char *const *)langs->pdata, at->len,
						 ob->conf->kb_suggestions, &found, &why);

		if (src == SPOC_OK)
			src = store_release_savepoint(st, &why);
		if (src != SPOC_OK && store_rollback_to_savepoint(st, err) != SPOC_OK)
			rc = SPOC_ETEMP;
	}
	for (guint k = 0; rc == SPOC_OK && k < at->len; k++) {
		struct pending *p = &ps[g_array_index(at, guint, k)];
		GString *text = g_string_new(NULL);

		for (guint i = 0; found != NULL && i < found[k]->len; i++) {
			const struct kb_suggestion *s = g_ptr_array_index(found[k], i);
			char *title = outbox_flat_text(s->title), *url = outbox_flat_text(s->url);

			if (*s->ticket_display != '\0')
				g_string_append_printf(text, "- [%s] %s\n", s->ticket_display,
						       title);
			else if (*url != '\0')
				g_string_append_printf(text, "- %s <%s>\n", title, url);
			else
				g_string_append_printf(text, "- %s\n", title);
			g_free(title);
			g_free(url);
		}
		if (text->len > 0)
			g_string_truncate(text,
					  text->len - 1); /* the template ends the last line */
		p->suggestions = g_string_free(text, FALSE);
		if (why.msg[0] != '\0' && log_fn != NULL) {
			char *what = g_strdup_printf("no suggestions: %s", why.msg);

			log_fn(LOG_WARNING, p->mark.row, what, log_ctx);
			g_free(what);
		}
	}
	kb_suggestions_free(&found);
	g_array_unref(at);
	g_array_unref(ids);
	g_ptr_array_unref(langs);
	return rc;
}

/* What the senders share: the rows of a batch built and waiting (struct pending *), the next one
 * to take, and whether the server could not be reached (then nobody takes another). */
struct sending {
	const struct outbox *ob;
	GPtrArray *jobs;
	gint next;
	gint stop;
	GMutex opening; /* one connection opened at a time: the OAuth 2.0 token cache is shared */
};

/* One SMTP connection's share of the batch: takes rows until none is left, opening *smtp when
 * needed and closing it when it broke. Runs on its own thread when there are several; touches
 * no database. */
static void send_share(struct sending *sd, struct smtp_session **smtp)
{
	const struct outbox *ob = sd->ob;

	while (!g_atomic_int_get(&sd->stop)) {
		gint i = g_atomic_int_add(&sd->next, 1);
		struct pending *p;
		char *sender;

		if (i >= (gint)sd->jobs->len)
			break;
		p = g_ptr_array_index(sd->jobs, i);
		if (*smtp == NULL) {
			int rc;

			g_mutex_lock(&sd->opening);
			rc = smtp_open(&ob->conf->smtp, smtp, &p->why);
			g_mutex_unlock(&sd->opening);
			if (rc != SPOC_OK) {
				/* The server is down or refuses us: this row waits, and so do the
				 * others, until the next run. */
				p->send_rc = SPOC_ETEMP;
				p->unreachable = TRUE;
				g_atomic_int_set(&sd->stop, 1);
				break;
			}
		}
		sender = outbox_envelope_sender(ob, p->mark.row);
		p->send_rc = smtp_send(*smtp, sender, p->mark.row->recipient,
				       (const char *)p->out.raw->data, p->out.raw->len, &p->why);
		g_free(sender);
		if (p->send_rc != SPOC_OK && smtp_broken(*smtp))
			smtp_close(smtp); /* the next row opens a new one */
	}
}

struct sender {
	struct sending *sd;
	struct smtp_session **smtp;
};

static gpointer sender_thread(gpointer data)
{
	struct sender *s = data;

	send_share(s->sd, s->smtp);
	return NULL;
}

/* Builds the sendable rows of the batch (reading their attachments), then sends them over the
 * connections in smtp[] (smtp.connections of them, opened when needed and kept open for the
 * next batch): in order over one, or shared among as many threads as there are connections
 * and rows. *stop_r TRUE when the server could not be reached: the rows no connection took
 * are left untried. SPOC_ETEMP when the database failed while reading a row's attachments. */
static int send_all(struct outbox *ob, struct store *st, struct pending *ps, guint n,
		    struct smtp_session **smtp, gboolean *stop_r, struct outbox_stats *stats,
		    struct errbuf *err)
{
	struct sending sd = {.ob = ob, .jobs = g_ptr_array_new()};
	const struct outbox_row **rows = g_new(const struct outbox_row *, n);
	GPtrArray **lists = NULL;
	guint threads, m = 0;

	*stop_r = FALSE;
	for (guint i = 0; i < n; i++)
		if (ps[i].sendable)
			rows[m++] = ps[i].mark.row;
	if (outbox_batch_attachments(st, rows, m, &lists, err) != SPOC_OK) {
		g_free(rows);
		g_ptr_array_unref(sd.jobs);
		return SPOC_ETEMP;
	}
	for (guint i = 0, j = 0; i < n; i++) {
		struct pending *p = &ps[i];
		GPtrArray *atts;

		if (!p->sendable)
			continue;
		atts = lists[j++];
		if (outbox_attachments_read(ob, st, atts, err) != SPOC_OK) {
			outbox_attachments_free(&lists, m);
			g_free(rows);
			g_ptr_array_unref(sd.jobs);
			return SPOC_ETEMP;
		}
		p->send_rc =
		    outbox_build(ob, p->mark.row, p->suggestions != NULL ? p->suggestions : "",
				 atts, &p->out, &p->why);
		/* the mail has the bytes now: the blobs go before it is sent */
		g_clear_pointer(&lists[j - 1], g_ptr_array_unref);
		if (p->send_rc == SPOC_OK)
			g_ptr_array_add(sd.jobs, p);
		else
			settle(ob, p, p->send_rc, p->why.msg, stats);
	}
	outbox_attachments_free(&lists, m);
	g_free(rows);
	threads = MIN((guint)ob->conf->smtp.connections, sd.jobs->len);
	g_mutex_init(&sd.opening);
	if (threads <= 1) {
		send_share(&sd, &smtp[0]);
	} else {
		GThread **t = g_new0(GThread *, threads);
		struct sender *s = g_new0(struct sender, threads);

		for (guint k = 0; k < threads; k++) {
			s[k] = (struct sender){.sd = &sd, .smtp = &smtp[k]};
			t[k] = g_thread_new("smtp", sender_thread, &s[k]);
		}
		for (guint k = 0; k < threads; k++)
			g_thread_join(t[k]);
		g_free(t);
		g_free(s);
	}
	g_mutex_clear(&sd.opening);
	for (guint i = 0; i < sd.jobs->len; i++) {
		struct pending *p = g_ptr_array_index(sd.jobs, i);

		if (p->unreachable) {
			*stop_r = TRUE;
			ob->unreachable = TRUE;
		}
		/* a row no connection took (the server could not be reached) stays as it was */
		if (i < (guint)MIN(g_atomic_int_get(&sd.next), (gint)sd.jobs->len))
			settle(ob, p, p->send_rc, p->why.msg, stats);
	}
	g_ptr_array_unref(sd.jobs);
	return SPOC_OK;
}

/* One claimed batch, from the limits to the commit; log_fn hears each recorded row after the
 * commit. *stop_r TRUE when the run must end (the server could not be reached). */
static int run_batch(struct outbox *ob, struct store *st, GPtrArray *rows,
		     struct smtp_session **smtp, gboolean *stop_r, struct outbox_stats *stats,
		     outbox_log_fn log_fn, void *log_ctx, struct errbuf *err)
{
	struct pending *ps = g_new0(struct pending, rows->len);
	struct outbox_mark *marks = g_new0(struct outbox_mark, rows->len);
	struct outbox_stats batch = {0};
	guint n = rows->len, nmarks = 0;
	int rc;

	*stop_r = FALSE;
	for (guint i = 0; i < n; i++) {
		gate(ob, g_ptr_array_index(rows, i), &ps[i], &batch);
		for (guint j = i + 1; ps[i].sendable && j < n; j++)
			count_sent(ps[i].mark.row, g_ptr_array_index(rows, j));
	}
	rc = suggest(ob, st, ps, n, log_fn, log_ctx, err);
	if (rc == SPOC_OK)
		rc = send_all(ob, st, ps, n, smtp, stop_r, &batch, err);
	for (guint i = 0; i < n; i++)
		if (ps[i].tried)
			marks[nmarks++] = ps[i].mark;
	if (rc == SPOC_OK)
		rc = store_outbox_mark(st, marks, nmarks, ob->conf->smtp.from_address, err);
	else
		store_rollback(st);
	for (guint i = 0; i < n; i++) {
		if (rc == SPOC_OK && ps[i].tried && log_fn != NULL)
			log_fn(ps[i].prio, ps[i].mark.row, ps[i].what, log_ctx);
		pending_clear(&ps[i]);
	}
	if (rc == SPOC_OK) {
		stats->sent += batch.sent;
		stats->retried += batch.retried;
		stats->failed += batch.failed;
		stats->held += batch.held;
		stats->refused += batch.refused;
	}
	g_free(ps);
	g_free(marks);
	return rc == SPOC_OK ? SPOC_OK : SPOC_ETEMP;
}

/* A Message-ID for a row the database queued (mint callback of store_outbox_mint_ids()). */
static char *mint_id(int64_t ticket_id, void *ctx)
{
	const struct outbox *ob = ctx;

	return thread_mint_message_id(ob->keys, ticket_id, ob->conf->desk.message_id_domain);
}

int outbox_run(struct outbox *ob, struct store *st, struct outbox_stats *stats_r,
	       outbox_log_fn log_fn, void *log_ctx, struct errbuf *err)
{
	struct outbox_stats stats = {0};
	/* one per smtp.connections, opened when needed and kept open while there is work */
	guint connections = (guint)MAX(ob->conf->smtp.connections, 1);
	struct smtp_session **smtp;
	int rc = SPOC_OK;

	ob->unreachable = FALSE;
	thread_keys_free(&ob->keys);
	if (keys_load(ob->conf, st, &ob->keys, err) != SPOC_OK)
		return SPOC_ETEMP;
	if (store_outbox_mint_ids(st, mint_id, ob, NULL, err) != SPOC_OK)
		return SPOC_ETEMP;
	smtp = g_new0(struct smtp_session *, connections);
	for (;;) {
		GPtrArray *rows = NULL;
		gboolean stop = FALSE;

		if (store_outbox_claim(st, ob->conf->caps.automatic_per_hour,
				       (guint)ob->conf->desk.notify_batch_size, &rows,
				       err) != SPOC_OK) {
			rc = SPOC_ETEMP;
			break;
		}
		if (rows->len == 0) {
			g_ptr_array_unref(rows);
			break; /* nothing (more) is due */
		}
		rc = run_batch(ob, st, rows, smtp, &stop, &stats, log_fn, log_ctx, err);
		g_ptr_array_unref(rows);
		if (rc != SPOC_OK || stop)
			break;
	}
	for (guint k = 0; k < connections; k++)
		smtp_close(&smtp[k]);
	g_free(smtp);
	if (stats_r != NULL)
		*stats_r = stats;
	return rc;
}

gboolean outbox_unreachable(const struct outbox *ob)
{
	return ob->unreachable;
}
