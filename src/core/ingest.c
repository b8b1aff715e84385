/* The ingest pipeline for one mailbox pass: IMAP -> mime -> classify -> store, in windows of
 * UIDs and, within each, in batches.
 *
 * Order is what keeps mail from being lost or doubled: the database COMMIT comes before any
 * change on the server; a UID already in ingest_log (a crash between COMMIT and MOVE) is only
 * moved, never processed again; and a message that fails for good is recorded with its raw
 * bytes and reason in the same transaction before it goes to the failed folder. */
#include "ingest.h"

#include "authres.h"
#include "bounce.h"
#include "classify.h"
#include "csat.h"
#include "keys.h"
#include "lease.h"
#include "metrics.h"
#include "mime.h"
#include "noise.h"
#include "rules.h"
#include "sla.h"
#include "spam.h"
#include "thread.h"
#include "ticket.h"

#include <string.h>
#include <syslog.h>

/* A message that spocd died processing this many times is quarantined unparsed: one poison
 * message must not keep a mailbox in a crash loop. */
#define INGEST_MAX_ATTEMPTS 3

/* Upper bound of message bytes held in memory for one UID FETCH (a larger message is fetched
 * alone). A window's messages are all parsed before its transaction opens and held until it
 * commits, each parse some times its message's size, and the next batch's first window is read
 * meanwhile: this bounds what a stranger's two windows of worst-case mail cost, whatever
 * imap.batch_size says. */
#define FETCH_BUDGET_BYTES (16 * 1024 * 1024)

/* At most this many subtransactions in one transaction: PostgreSQL keeps the first 64 of a
 * backend in shared memory; past them every other session's snapshots look them up on disk. */
#define INGEST_SUBXACTS_MAX 64

struct pass {
	const struct spoc_conf *conf;
	const struct spoc_imap_conf *mb; /* the mailbox worked */
	struct store *st;
	struct store_lease *lease; /* the mailbox's, held for the whole pass */
	gboolean lost;		   /* another instance took the lease: the pass is over */
	gint64 renewed;		   /* monotonic µs of the lease's last renewal */
	struct imap_session *imap;
	const struct ingest_hooks *hooks;
	struct ingest_stats *stats;
	uint32_t uidvalidity;
	GHashTable *attempts;	  /* uid -> earlier passes that died while processing it */
	struct ingest_owed *owed; /* may be NULL */
	struct thread_keys *keys; /* of the Message-IDs and reply tokens spocd mints */
	GArray *to_processed;	  /* uint32_t UIDs to move after COMMIT */
	GArray *to_failed;
};

static void G_GNUC_PRINTF(5, 0) say_v(struct pass *p, int priority, const char *event,
				      const struct log_fields *f, const char *fmt, va_list ap)
{
	struct log_fields all = f != NULL ? *f : (struct log_fields){0};
	char *line;

	if (p->hooks == NULL || p->hooks->log == NULL)
		return;
	all.mailbox = p->mb->name;
	line = g_strdup_vprintf(fmt, ap);
	p->hooks->log(priority, event, &all, line, p->hooks->ctx);
	g_free(line);
}

/* A line about the mailbox. */
static void G_GNUC_PRINTF(3, 4) say(struct pass *p, int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_v(p, priority, NULL, NULL, fmt, ap);
	va_end(ap);
}

/* A line about one event of one message. */
static void G_GNUC_PRINTF(5, 6) say_event(struct pass *p, int priority, const char *event,
					  const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	say_v(p, priority, event, f, fmt, ap);
	va_end(ap);
}

static gboolean stopping(struct pass *p)
{
	/* asked by the threads that read a window too: lost is set on the pass's own thread */
	return g_atomic_int_get(&p->lost) ||
	       (p->hooks != NULL && p->hooks->stop != NULL && *p->hooks->stop);
}

/* Ends the pass: the lease that was ours (fencing ours) changed hands meanwhile; what was
 * written since the last COMMIT has been rolled back (what), and nothing is moved. */
static void lease_lost(struct pass *p, int64_t ours, const char *what)
{
	const struct store_lease *l = p->lease;
	/* ours again under a new number, or another's */
	const char *holder = l->fencing != 0 ? l->holder : l->other;
	int64_t fencing = l->fencing != 0 ? l->fencing : l->other_fencing;

	g_atomic_int_set(&p->lost, TRUE);
	say(p, LOG_WARNING,
	    "mailbox %s: another spocd took it over (lease now: holder %s, fencing "
	    "%" G_GINT64_FORMAT "; ours was %" G_GINT64_FORMAT
	    "): %s, nothing moved; this one tries for the lease again later",
	    p->mb->name, holder[0] ? holder : "unknown", fencing, ours, what);
}

/* Renews the lease between batches, every lease_interval_us(). When another holder had it
 * meanwhile (someone else holds it, or it came back to us with a new fencing number), the pass is
 * over: what it listed and fetched may be stale. */
static int lease_renew(struct pass *p, struct errbuf *err)
{
	int64_t ours = p->lease->fencing;
	gint64 now = g_get_monotonic_time();
	int rc;

	/* as often as a holder renews between passes: the COMMIT's check is what fences */
	if (now - p->renewed < lease_interval_us(p->lease))
		return SPOC_OK;
	p->renewed = now;
	rc = lease_take(p->st, p->lease, NULL, err);
	if (rc == SPOC_OK && p->lease->fencing != ours)
		lease_lost(p, ours, "nothing was being written");
	return rc;
}

static int move_pending(struct pass *p, struct errbuf *err)
{
	int rc = SPOC_OK;

	if (p->to_processed->len > 0)
		rc = imap_move(p->imap, (uint32_t *)(void *)p->to_processed->data,
			       p->to_processed->len, p->mb->processed_folder, err);
	if (rc == SPOC_OK && p->to_failed->len > 0)
		rc = imap_move(p->imap, (uint32_t *)(void *)p->to_failed->data, p->to_failed->len,
			       p->mb->failed_folder, err);
	g_array_set_size(p->to_processed, 0);
	g_array_set_size(p->to_failed, 0);
	return rc;
}

/* The largest message any mailbox takes: the parser's own limit (each mailbox checks its own
 * before downloading). */
static int64_t max_message_bytes(const struct spoc_conf *conf)
{
	int64_t most = 1024;

	for (size_t i = 0; conf->mailboxes != NULL && conf->mailboxes[i] != NULL; i++)
		most = MAX(most, conf->mailboxes[i]->max_message_bytes);
	return most;
}

void ingest_mime_limits(const struct spoc_conf *conf, struct mime_limits *limits)
{
	*limits = (struct mime_limits){
	    .max_message_bytes = max_message_bytes(conf),
	    .max_parts = conf->parsing.max_parts,
	    .max_depth = conf->parsing.max_depth,
	    .max_attachment_bytes = conf->parsing.max_attachment_bytes,
	    .max_header_bytes = conf->parsing.max_header_bytes,
	    .fallback_charsets = (const char *const *)conf->parsing.fallback_charsets,
	};
}

void ingest_bounce(const struct spoc_conf *conf, const struct thread_keys *keys,
		   const struct mail *mail, struct bounce_report *bounce, struct ingest_decision *d)
{
	const char *from = conf->smtp.from_address;
	const char *at = from != NULL ? strrchr(from, '@') : NULL;
	char *verp_local = at != NULL ? g_strndup(from, (gsize)(at - from)) : NULL;
	int64_t outbox_id = 0;

	memset(bounce, 0, sizeof(*bounce));
	/* Anyone can write a delivery report naming any address and any Message-ID: only the
	 * VERP address the notifier minted for one outbox row (its HMAC verifies) ties a report
	 * to that row, so nothing else may mark a row bounced or an address unreachable. */
	if (d->auto_kind == CLASSIFY_BOUNCE && bounce_parse(mail, verp_local, bounce)) {
		if (bounce->verp_token == NULL)
			d->bounce_ignored_why = "not sent to a VERP address of ours: recorded,"
						" nothing changed";
		else if (!thread_verify_verp_token(keys, bounce->verp_token, &outbox_id))
			d->bounce_ignored_why = "its VERP address does not verify: recorded,"
						" nothing changed";
		else {
			d->bounce = bounce;
			d->bounce_outbox_id = outbox_id;
		}
	}
	g_free(verp_local);
}

const struct spoc_imap_conf *ingest_mailbox(const struct spoc_conf *conf, const char *name)
{
	for (size_t i = 0; name != NULL && conf->mailboxes != NULL && conf->mailboxes[i] != NULL;
	     i++)
		if (g_strcmp0(conf->mailboxes[i]->name, name) == 0)
			return conf->mailboxes[i];
	return NULL;
}

const char *ingest_decide_in(const struct spoc_conf *conf, const char *mailbox,
			     const struct mail *mail, struct ingest_decision *d)
{
	const struct spoc_imap_conf *mb = ingest_mailbox(conf, mailbox);
	enum spoc_kind tag_kind;

	struct rules_verdict v;

	memset(d, 0, sizeof(*d));
	rules_decide_in(conf->rules, mail, NULL, mailbox, &v);
	/* whole explanations: a cut would split a character */
	G_STATIC_ASSERT(sizeof(d->kind_rule) >= RULES_WHY_MAX &&
			sizeof(d->priority_rule) >= RULES_WHY_MAX);
	d->kind = v.kind;
	g_strlcpy(d->kind_rule, v.kind_why, sizeof(d->kind_rule));
	if (mb != NULL && mb->default_kind >= 0 && strcmp(v.kind_rule, "default") == 0) {
		/* no rule decided: what this mailbox receives (incidencias@, solicitudes@); before
		 * the SLA targets, which are the kind's */
		d->kind = (enum spoc_kind)mb->default_kind;
		g_strlcpy(d->kind_rule, "default of this mailbox", sizeof(d->kind_rule));
	}
	d->triage = v.triage;
	d->impact = v.impact;
	d->urgency = v.urgency;
	d->priority = v.priority;
	g_strlcpy(d->priority_rule, v.priority_why, sizeof(d->priority_rule));
	G_STATIC_ASSERT(sizeof(d->team) > RULES_TEAM_MAX);
	g_strlcpy(d->team, v.team != NULL ? v.team : "", sizeof(d->team));
	if (conf->sla != NULL) {
		const struct sla_target *t = sla_target(conf->sla, d->priority, d->kind);
		GDateTime *now = g_date_time_new_now_utc();
		GDateTime *first = sla_due(t->calendar, now, t->first_response);
		GDateTime *resolution = sla_due(t->calendar, now, t->resolution);

		d->first_response_due = first != NULL ? g_date_time_to_unix(first) : 0;
		d->resolution_due = resolution != NULL ? g_date_time_to_unix(resolution) : 0;
		g_clear_pointer(&first, g_date_time_unref);
		g_clear_pointer(&resolution, g_date_time_unref);
		g_date_time_unref(now);
	}
	{
		const struct classify_auto_ctx ctx = {
		    .desk_addresses = (const char *const *)conf->desk.addresses,
		    .message_id_domain = conf->desk.message_id_domain,
		    .lists_are_automatic = conf->desk.lists_are_automatic,
		};

		d->auto_kind = classify_automatic(mail, &ctx, &d->automatic_why);
		if (d->auto_kind == CLASSIFY_PERSON)
			d->automatic_why = NULL;
	}
	d->language = classify_language(mail, conf->desk.default_language);
	/* what the sender wrote now, as the agent reads it: a thank-you under a long quote is
	 * still only a thank-you, a screenshot is never one */
	d->thanks_only = noise_thanks_only(
	    mail->text_new != NULL ? mail->text_new : mail->text, mail->subject,
	    mail->attachments != NULL ? mail->attachments->len : 0, d->thanks_why);
	/* "#my tickets", "#close": the requester's own commands, run only for a verified sender */
	judge_read_requester_commands(mail, d);
	/* the same text, read as an answer to the resolution notice's "how did we do?" */
	csat_read(mail->text_new != NULL ? mail->text_new : mail->text,
		  mail->attachments != NULL ? mail->attachments->len : 0, &d->csat);
	if (!ticket_find_tag(mail->subject, &tag_kind, &d->subject_tag))
		d->subject_tag = 0;
	d->message_id_domain = conf->desk.message_id_domain;
	d->cc_watchers = conf->desk.cc_watchers;
	d->watcher_domains = (const char *const *)conf->desk.watcher_domains;
	d->max_watchers = conf->desk.max_watchers;
	d->accept_unverified = conf->trust_accept_unverified;
	d->border = conf_border(conf) != NULL;
	d->reopen_window_s = conf->threading.reopen_window_s;
	d->desk_language = conf->desk.default_language;
	d->notify_new_ticket = conf->desk.notify_new_ticket;
	d->triage_address = conf->desk.triage_address;
	d->token_days = conf->agents_token_days;
	/* the UTC day, as agent tokens count it (the notifier mints them on the database's) */
	d->today = g_get_real_time() / G_USEC_PER_SEC / 86400;
	d->token_and_domain = conf->agents_token_and_domain;
	g_strlcpy(d->from_proven_why,
		  "no border configured (agents.trusted_authserv_id, agents.border)",
		  sizeof(d->from_proven_why));
	if (conf_border(conf) != NULL && mail->from.addr != NULL) {
		GPtrArray *values = g_ptr_array_new();
		const char *at = strrchr(mail->from.addr, '@');
		struct authres_verdict sender;

		/* only Authentication-Results itself: Exchange Online's renamed
		 * Authentication-Results-Original and ARC's copies are other MTAs' word */
		for (guint i = 0; i < mail->headers->len; i++) {
			const struct mail_header *h = g_ptr_array_index(mail->headers, i);

			/* raw: an encoded-word must never become syntax (authres.h) */
			if (g_ascii_strcasecmp(h->name, "Authentication-Results") == 0)
				g_ptr_array_add(values, h->raw);
		}
		g_ptr_array_add(values, NULL);
		authres_read((const char *const *)values->pdata, conf_border(conf),
			     at != NULL ? at + 1 : NULL, &sender);
		d->from_proven = sender.result == AUTHRES_PASS;
		d->from_failed = sender.result == AUTHRES_FAIL;
		d->from_dmarc = sender.dmarc;
		d->from_dmarc_policy = sender.policy;
		g_strlcpy(d->from_auth_domain, sender.domain, sizeof(d->from_auth_domain));
		g_strlcpy(d->from_proven_why, sender.why, sizeof(d->from_proven_why));
		g_ptr_array_free(values, TRUE);
	}
	d->desk_addresses = (const char *const *)conf->desk.addresses;
	/* after the sender verdict: Reply-To names the requester only for a verified sender */
	judge_requester(mail, conf->desk.requester_reply_to, judge_sender_verified(d),
			&d->requester_addr, &d->requester_name);
	/* A person's message we could never answer: keep it for an operator. */
	if (d->automatic_why == NULL && mail->from.addr == NULL)
		return "no sender address (From and Sender missing or unparsable)";
	return NULL;
}

char *ingest_spam_why(const struct spoc_conf *conf, const struct mail *mail,
		      const struct ingest_decision *d)
{
	char *why = spam_verdict(mail, conf->spam_rules);

	/* the From domain's own wish: it asked receivers to quarantine or reject what fails
	 * DMARC for it, and the trusted border says this mail did */
	if (why == NULL && conf->spam_dmarc_fail && d->from_failed &&
	    d->from_dmarc == AUTHRES_DMARC_FAIL &&
	    (d->from_dmarc_policy == AUTHRES_POLICY_QUARANTINE ||
	     d->from_dmarc_policy == AUTHRES_POLICY_REJECT))
		why = g_strdup_printf("spam: %s", d->from_proven_why);
	return why;
}

/* One message of a window, fetched, parsed and judged before the transaction opens; the
 * transaction only writes it. */
struct item {
	uint32_t uid;
	gboolean download;		/* asked for in the window's UID FETCH */
	const struct imap_message *msg; /* its bytes; NULL when not downloaded */
	char sha256[65];		/* of the raw bytes, for its ingest_log claim */
	char log_id[24];		/* its claim; "" when another worker holds it */
	struct mail *mail;		/* NULL for a message to quarantine */
	struct ingest_decision d;
	struct bounce_report bounce;
	const char *category; /* "error" or "spam": quarantined for reason; NULL: a mail */
	char *reason;
	struct ingest_result res; /* what the store made of the mail */
};

static struct item *item_new(uint32_t uid)
{
	struct item *it = g_new0(struct item, 1);

	it->uid = uid;
	spoc_sha256_hex("", 0, it->sha256);
	return it;
}

static void item_free(gpointer data)
{
	struct item *it = data;

	bounce_report_clear(&it->bounce);
	mail_free(&it->mail);
	g_free(it->reason);
	g_free(it);
}

/* Makes it a message to quarantine in category for reason, which it takes. */
static void item_quarantine(struct item *it, const char *category, char *reason)
{
	bounce_report_clear(&it->bounce);
	mail_free(&it->mail);
	g_free(it->reason);
	it->category = category;
	it->reason = reason;
}

/* Reads one fetched message outside any transaction: parse, decide, spam verdict, delivery
 * report. A message that will never work, or spam, becomes one to quarantine. */
static void item_prepare(struct pass *p, struct item *it)
{
	struct mime_limits limits;
	const char *raw = (const char *)it->msg->raw->data;
	const char *refusal;
	struct errbuf why = {{0}};
	char *spam;
	int died = GPOINTER_TO_INT(g_hash_table_lookup(p->attempts, GUINT_TO_POINTER(it->uid)));

	spoc_sha256_hex(raw, it->msg->raw->len, it->sha256);
	if (died >= INGEST_MAX_ATTEMPTS) {
		item_quarantine(it, "error",
				g_strdup_printf("spocd stopped %d times while processing this "
						"message (a crash?): kept unparsed",
						died));
		return;
	}
	if (it->msg->truncated) {
		item_quarantine(
		    it, "error",
		    g_strdup_printf("message over max_message_bytes (more than %" G_GINT64_FORMAT
				    " bytes sent although RFC822.SIZE was within it; first bytes "
				    "kept)",
				    p->mb->max_message_bytes));
		return;
	}
	ingest_mime_limits(p->conf, &limits);
	if (mime_parse(raw, it->msg->raw->len, &limits, &it->mail, &why) != SPOC_OK) {
		item_quarantine(it, "error", g_strdup(why.msg));
		return;
	}
	if (p->hooks != NULL && p->hooks->after_parse != NULL)
		p->hooks->after_parse(it->mail, p->hooks->ctx);
	if ((refusal = ingest_decide_in(p->conf, p->mb->name, it->mail, &it->d)) != NULL) {
		item_quarantine(it, "error", g_strdup(refusal));
		return;
	}
	/* spam: kept whole in the quarantine for an operator to release, no ticket, and nobody
	 * answered (an acknowledgement to a forged sender is backscatter) */
	if ((spam = ingest_spam_why(p->conf, it->mail, &it->d)) != NULL) {
		item_quarantine(it, "spam", spam);
		return;
	}
	it->d.keys = p->keys;
	ingest_bounce(p->conf, p->keys, it->mail, &it->bounce, &it->d);
}

/* Writes one prepared message in the open transaction under its claim, and says what became of
 * it. SPOC_EPERM: it broke a rule of the schema (why in err); the transaction is then aborted
 * up to the caller's savepoint. SPOC_ETEMP aborts the batch. */
static int item_store(struct pass *p, struct store_window *w, struct item *it, struct errbuf *err)
{
	const char *raw = it->msg != NULL ? (const char *)it->msg->raw->data : "";
	size_t len = it->msg != NULL ? it->msg->raw->len : 0;
	const struct mail *mail = it->mail;
	const struct ingest_decision *d = &it->d;
	int rc;

	if (it->category != NULL) {
		rc = store_quarantine_claimed(p->st, p->mb->name, p->uidvalidity, it->uid,
					      it->log_id, raw, len, it->category, it->reason, err);
		if (rc == SPOC_OK)
			say_event(p, strcmp(it->category, "spam") == 0 ? LOG_NOTICE : LOG_WARNING,
				  LOG_EV_MAIL_QUARANTINE, &(struct log_fields){.uid = it->uid},
				  "mailbox %s uid %u: %s: quarantined", p->mb->name, it->uid,
				  it->reason);
		return rc;
	}
	if ((rc = store_ingest_claimed(p->st, w, it->log_id, raw, len, mail, d, &it->res, err)) !=
	    SPOC_OK)
		return rc;
	say_event(
	    p, LOG_INFO, LOG_EV_MAIL_TAKEN,
	    &(struct log_fields){.uid = it->uid,
				 .message_id = mail->message_id,
				 .ticket = it->res.ticket_number[0] ? it->res.ticket_number : NULL},
	    "mailbox %s uid %u <%s>: %s%s%s%s%s", p->mb->name, it->uid, mail->message_id,
	    store_outcome_name(it->res.outcome), it->res.ticket_number[0] ? " " : "",
	    it->res.ticket_number, d->automatic_why != NULL ? ", automatic: " : "",
	    d->automatic_why != NULL ? d->automatic_why : "");
	return SPOC_OK;
}

/* Counts the written items once their transaction committed, and queues their moves. */
static void items_committed(struct pass *p, GPtrArray *items, guint from, guint to)
{
	for (guint i = from; i < to; i++) {
		const struct item *it = g_ptr_array_index(items, i);
		enum ingest_outcome o = it->res.outcome;

		if (it->category != NULL) {
			metrics_message(p->mb->name,
					strcmp(it->category, "spam") == 0 ? "spam" : "quarantined",
					-1);
			p->stats->outcomes[INGEST_QUARANTINED]++;
			g_array_append_val(p->to_failed, it->uid);
			continue;
		}
		p->stats->outcomes[o]++;
		/* Two workers moving one UID at once make Dovecot copy it twice: the one that
		 * recorded it moves it. */
		if (o != INGEST_TAKEN)
			g_array_append_val(p->to_processed, it->uid);
		/* from the server's arrival to the COMMIT */
		metrics_message(p->mb->name, store_outcome_name(o),
				it->msg->arrived > 0 ? (double)(g_get_real_time() / G_USEC_PER_SEC -
								it->msg->arrived)
						     : -1);
		if (o == INGEST_TICKET)
			metrics_ticket_created(ticket_kind_name(it->d.kind), it->d.priority);
	}
}

/* The UIDs of a window whose attempts a commit forgets: those of the window, or, once a stop
 * request cut the batch, every one left in the batch (a stop is no crash). */
struct span {
	const uint32_t *uids;
	size_t window; /* UIDs of this window */
	size_t rest;   /* UIDs from this window to the end of the batch */
};

/* What the database knows of the mails of items[from..from + n) this transaction claimed (ids)
 * and will record, read for all of them in one statement before the first is written. */
static int window_facts(struct pass *p, struct store_window *w, GPtrArray *items, guint from,
			char (*ids)[24], guint n, struct errbuf *err)
{
	const struct mail **mails = g_new(const struct mail *, n + 1);
	guint k = 0;
	int rc;

	for (guint i = 0; i < n; i++) {
		const struct item *it = g_ptr_array_index(items, from + i);

		if (it->category == NULL && ids[i][0] != '\0')
			mails[k++] = it->mail;
	}
	rc = store_window_facts(p->st, w, mails, k, err);
	g_free(mails);
	return rc;
}

/* Writes items[from..to) in one transaction: claims their UIDs in one statement, stores each,
 * commits, moves. per_message puts each under its own savepoint, so that one that breaks a
 * rule of the schema is quarantined alone; otherwise there is no subtransaction at all and such
 * a message rolls the run back with SPOC_EPERM, for the caller to write it again per message.
 * A stop request ends the run after the message in hand (*cut_r): the rest is given back.
 * last: the window ends with this run (its commit forgets the attempts of the window). */
static int write_run(struct pass *p, GPtrArray *items, guint from, guint to, gboolean per_message,
		     const struct span *span, gboolean last, gboolean *cut_r, struct errbuf *err)
{
	guint n = to - from, done;
	uint32_t *uids = g_new(uint32_t, n + 1);
	const char **shas = g_new(const char *, n + 1);
	char(*ids)[24] = g_malloc0_n(n + 1, sizeof(*ids));
	struct store_window *w = store_window_new();
	gboolean ours = FALSE;
	int rc;

	for (guint i = 0; i < n; i++) {
		const struct item *it = g_ptr_array_index(items, from + i);

		uids[i] = it->uid;
		shas[i] = it->sha256;
	}
	if ((rc = store_begin(p->st, err)) != SPOC_OK ||
	    (rc = store_ingest_claim(p->st, p->mb->name, p->uidvalidity, uids, shas, n, ids,
				     err)) != SPOC_OK ||
	    (rc = window_facts(p, w, items, from, ids, n, err)) != SPOC_OK)
		goto rollback;
	for (done = 0; done < n; done++) {
		struct item *it = g_ptr_array_index(items, from + done);

		if (*cut_r || stopping(p)) {
			*cut_r = TRUE;
			break;
		}
		g_strlcpy(it->log_id, ids[done], sizeof(it->log_id));
		if (p->hooks != NULL && p->hooks->before_store != NULL)
			p->hooks->before_store(p->hooks->ctx);
		/* the senders before a bounce are reachable before it may mark one bouncing */
		if (it->category == NULL && it->d.bounce != NULL &&
		    (rc = store_window_senders(p->st, w, err)) != SPOC_OK)
			goto rollback;
		if (!per_message) {
			if ((rc = item_store(p, w, it, err)) == SPOC_EPERM)
				say(p, LOG_NOTICE,
				    "mailbox %s uid %u: %s: the batch is rolled back and written "
				    "again one message at a time",
				    p->mb->name, it->uid, err->msg);
			if (rc != SPOC_OK)
				goto rollback;
			continue;
		}
		if ((rc = store_savepoint(p->st, err)) != SPOC_OK)
			goto rollback;
		if ((rc = item_store(p, w, it, err)) == SPOC_EPERM) {
			/* The data broke a rule of the schema: undo this message alone and keep
			 * it. */
			item_quarantine(it, "error", g_strdup(err->msg));
			if ((rc = store_rollback_to_savepoint(p->st, err)) == SPOC_OK)
				rc = item_store(p, w, it, err);
		}
		if (rc != SPOC_OK || (rc = store_release_savepoint(p->st, err)) != SPOC_OK)
			goto rollback;
	}
	if ((rc = store_window_finish(p->st, w, err)) != SPOC_OK)
		goto rollback;
	if (done < n && (rc = store_ingest_unclaim(p->st, ids + done, n - done, err)) != SPOC_OK)
		goto rollback;
	if (*cut_r)
		rc = store_attempts_clear(p->st, p->mb->name, p->uidvalidity, span->uids,
					  span->rest, err);
	else if (last)
		rc = store_attempts_clear(p->st, p->mb->name, p->uidvalidity, span->uids,
					  span->window, err);
	else
		rc = store_attempts_clear(p->st, p->mb->name, p->uidvalidity, uids, n, err);
	/* the fencing check, last before COMMIT: from here the lease row is locked until the
	 * transaction ends, so no take-over can come between it and the COMMIT */
	if (rc != SPOC_OK || (rc = store_lease_check(p->st, p->lease, &ours, err)) != SPOC_OK)
		goto rollback;
	if (!ours) {
		int64_t was = p->lease->fencing;
		char *what =
		    g_strdup_printf("its batch of %u message(s) (uid %u..%u) is rolled back", n,
				    n > 0 ? uids[0] : 0, n > 0 ? uids[n - 1] : 0);

		store_rollback(p->st);
		p->lease->fencing = 0;
		lease_lost(p, was, what);
		g_free(what);
		goto out;
	}
	if ((rc = store_commit(p->st, err)) != SPOC_OK)
		goto rollback;
	if (p->hooks != NULL && p->hooks->after_commit != NULL)
		p->hooks->after_commit(p->hooks->ctx);
	items_committed(p, items, from, from + done);
	rc = move_pending(p, err);
	goto out;
rollback:
	store_rollback(p->st);
out:
	g_free(uids);
	g_free(shas);
	g_free(ids);
	store_window_free(&w);
	return rc;
}

/* Writes a window's prepared items: all in one transaction without a subtransaction; when one
 * of them breaks a rule of the schema, all again one message at a time, in transactions of at
 * most INGEST_SUBXACTS_MAX savepoints. */
static int write_window(struct pass *p, GPtrArray *items, const struct span *span, gboolean *cut_r,
			struct errbuf *err)
{
	int rc = write_run(p, items, 0, items->len, FALSE, span, TRUE, cut_r, err);

	if (rc != SPOC_EPERM)
		return rc;
	rc = SPOC_OK;
	for (guint from = 0; rc == SPOC_OK && !*cut_r && from < items->len;
	     from += INGEST_SUBXACTS_MAX) {
		guint to = MIN(items->len, from + INGEST_SUBXACTS_MAX);

		rc = write_run(p, items, from, to, TRUE, span, to == items->len, cut_r, err);
	}
	return rc;
}

/* Names the UIDs asked for that the server sent no body for; they stay where they are and are
 * looked at again on the next pass. */
static void say_missing(struct pass *p, GArray *wanted, GPtrArray *msgs)
{
	GHashTable *got = g_hash_table_new(g_direct_hash, g_direct_equal);

	for (guint j = 0; j < msgs->len; j++)
		g_hash_table_add(
		    got,
		    GUINT_TO_POINTER(((struct imap_message *)g_ptr_array_index(msgs, j))->uid));
	for (guint j = 0; j < wanted->len; j++) {
		uint32_t uid = g_array_index(wanted, uint32_t, j);

		if (!g_hash_table_contains(got, GUINT_TO_POINTER(uid)))
			say(p, LOG_WARNING,
			    "mailbox %s uid %u: the server sent no body for it; left in place for "
			    "the next pass",
			    p->mb->name, uid);
	}
	g_hash_table_unref(got);
}

/* Collects from uids[*i..n) one window of UIDs whose bodies fit the fetch budget (at least one),
 * as items in mailbox order; those over max_message_bytes are quarantined without being
 * downloaded, those gone are named and skipped. wanted gets the UIDs to download. */
static void collect_window(struct pass *p, const uint32_t *uids, size_t n, size_t *i,
			   GHashTable *sizes, GArray *wanted, GPtrArray *items)
{
	gsize budget = 0;

	for (; *i < n; (*i)++) {
		uint32_t uid = uids[*i];
		struct item *it;
		gpointer sz;
		gsize size;

		if (!g_hash_table_lookup_extended(sizes, GUINT_TO_POINTER(uid), NULL, &sz)) {
			say(p, LOG_NOTICE,
			    "mailbox %s uid %u: gone before it could be fetched (expunged by "
			    "someone else?)",
			    p->mb->name, uid);
			continue;
		}
		size = GPOINTER_TO_SIZE(sz);
		if ((int64_t)size <= p->mb->max_message_bytes && wanted->len > 0 &&
		    budget + size > FETCH_BUDGET_BYTES)
			break;
		it = item_new(uid);
		g_ptr_array_add(items, it);
		if ((int64_t)size > p->mb->max_message_bytes) {
			item_quarantine(
			    it, "error",
			    g_strdup_printf("message over max_message_bytes (%" G_GSIZE_FORMAT
					    " > %" G_GINT64_FORMAT
					    "): not downloaded; it stays whole in "
					    "the failed folder",
					    size, p->mb->max_message_bytes));
			continue;
		}
		budget += size;
		it->download = TRUE;
		g_array_append_val(wanted, uid);
	}
}

/* A window's downloads being read on several threads: each takes the next one in mailbox order
 * until none is left or a stop is requested, so those taken are always a prefix of todo. */
struct readers {
	struct pass *p;
	GPtrArray *todo; /* struct item * to read, in mailbox order */
	gint next;	 /* todo's next index to take, atomic; past the end once all are taken */
};

static gpointer readers_run(gpointer data)
{
	struct readers *r = data;

	while (!stopping(r->p)) {
		gint i = g_atomic_int_add(&r->next, 1);

		if (i >= (gint)r->todo->len)
			break;
		item_prepare(r->p, g_ptr_array_index(r->todo, i));
	}
	return NULL;
}

/* How many threads read a window of n downloads: ingest.parse_threads, 0 for one per processor
 * (at most 8), never more than there are downloads. */
static guint readers_wanted(const struct pass *p, guint n)
{
	guint want = p->conf->parse_threads > 0 ? (guint)p->conf->parse_threads
						: (guint)MIN(g_get_num_processors(), 8);

	return MAX(1, MIN(want, n));
}

/* Reads todo's items on readers_wanted() threads, this one among them; *threads_r gets how many
 * ran. Returns how many were read: all of them, or fewer when a stop was requested meanwhile. */
static guint readers_read(struct pass *p, GPtrArray *todo, guint *threads_r)
{
	struct readers r = {.p = p, .todo = todo, .next = 0};
	guint n = readers_wanted(p, todo->len);
	GThread **threads = g_new0(GThread *, n);

	*threads_r = 1;
	/* a thread that cannot be started leaves its share to the others */
	for (guint t = 1; t < n; t++)
		if ((threads[t] = g_thread_try_new("spocd-read", readers_run, &r, NULL)) != NULL)
			(*threads_r)++;
	readers_run(&r);
	for (guint t = 1; t < n; t++)
		if (threads[t] != NULL)
			g_thread_join(threads[t]);
	g_free(threads);
	return (guint)MIN(g_atomic_int_get(&r.next), (gint)todo->len);
}

/* One batch of new UIDs on its way, window by window: sizes, bodies, then reading (parsing and
 * judgement) outside any transaction, then one transaction that only writes, then the moves.
 * The next batch's first window is fetched and read while this one is written. */
struct batch {
	struct pass *p;
	const uint32_t *uids; /* the batch, borrowed from the listed window */
	size_t n;
	size_t i;	   /* uids[0..i) are in the windows collected so far */
	GHashTable *sizes; /* uid -> RFC822.SIZE */
	GArray *wanted;	   /* the window's UIDs to download */
	GPtrArray *items;  /* the window's struct item, in mailbox order */
	GPtrArray *msgs;   /* the window's bodies, NULL when none was downloaded */
	gsize bytes;	   /* in msgs */
	GPtrArray *todo;   /* the window's items to read, in mailbox order */
	struct span span;
	gboolean cut;	 /* a stop request ended the batch */
	GThread *reader; /* reading the window while another batch is written, or NULL */
	guint read;	 /* of todo, read */
	guint threads;	 /* threads that read them */
};

static struct batch *batch_new(struct pass *p, const uint32_t *uids, size_t n)
{
	struct batch *b = g_new0(struct batch, 1);

	b->p = p;
	b->uids = uids;
	b->n = n;
	b->wanted = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	b->items = g_ptr_array_new_with_free_func(item_free);
	b->todo = g_ptr_array_new();
	return b;
}

static gpointer batch_reader(gpointer data)
{
	struct batch *b = data;

	b->read = readers_read(b->p, b->todo, &b->threads);
	return NULL;
}

/* Waits for the window's reading, if it is still going on. */
static void batch_join(struct batch *b)
{
	if (b->reader != NULL)
		g_thread_join(b->reader);
	b->reader = NULL;
}

static void batch_free(gpointer data)
{
	struct batch *b = data;

	batch_join(b);
	g_ptr_array_unref(b->todo);
	g_ptr_array_unref(b->items);
	if (b->msgs != NULL)
		g_ptr_array_unref(b->msgs);
	if (b->sizes != NULL)
		g_hash_table_unref(b->sizes);
	g_array_unref(b->wanted);
	g_free(b);
}

/* A failure spocd handled is no crash: the batch's attempts are not counted against its
 * messages. When the database itself is gone this cannot be recorded now: the next pass of this
 * process does it (if this process dies first, the count errs towards caution). */
static void batch_forget(struct batch *b)
{
	struct pass *p = b->p;

	g_array_set_size(p->to_processed, 0);
	g_array_set_size(p->to_failed, 0);
	if (store_attempts_clear(p->st, p->mb->name, p->uidvalidity, b->uids, b->n, NULL) !=
		SPOC_OK &&
	    p->owed != NULL) {
		if (p->owed->uids == NULL || p->owed->uidvalidity != p->uidvalidity) {
			ingest_owed_free(p->owed);
			p->owed->uids = g_array_new(FALSE, FALSE, sizeof(uint32_t));
			p->owed->uidvalidity = p->uidvalidity;
		}
		g_array_append_vals(p->owed->uids, b->uids, (guint)b->n);
	}
}

/* Collects the batch's next window of UIDs and downloads their bodies. After a stop request it
 * downloads nothing and the batch is cut: the commit only forgets the attempts. */
static int window_fetch(struct batch *b, struct errbuf *err)
{
	struct pass *p = b->p;
	int rc;

	g_array_set_size(b->wanted, 0);
	g_ptr_array_set_size(b->todo, 0);
	g_ptr_array_set_size(b->items, 0);
	g_clear_pointer(&b->msgs, g_ptr_array_unref);
	b->read = b->threads = 0;
	b->bytes = 0;
	b->span = (struct span){.uids = b->uids + b->i, .rest = b->n - b->i};
	collect_window(p, b->uids, b->n, &b->i, b->sizes, b->wanted, b->items);
	b->span.window = b->i - (size_t)(b->span.uids - b->uids);
	if ((b->cut = stopping(p))) {
		g_ptr_array_set_size(b->items, 0);
		return SPOC_OK;
	}
	if (b->wanted->len == 0)
		return SPOC_OK;
	if ((rc = imap_fetch_messages(p->imap, (uint32_t *)(void *)b->wanted->data, b->wanted->len,
				      p->mb->max_message_bytes, &b->msgs, err)) != SPOC_OK)
		return rc;
	for (guint j = 0; j < b->msgs->len; j++)
		b->bytes += ((const struct imap_message *)g_ptr_array_index(b->msgs, j))->raw->len;
	return SPOC_OK;
}

/* Pairs the window's downloads with the bodies the server sent (a download the server sent
 * nothing for is dropped, named by say_missing()) and starts reading them: on threads of their
 * own when ahead (another batch is being written meanwhile), else before returning. A message's
 * reading touches nothing but its item. */
static void window_read(struct batch *b, gboolean ahead)
{
	struct pass *p = b->p;
	GHashTable *by_uid = g_hash_table_new(g_direct_hash, g_direct_equal);

	for (guint j = 0; b->msgs != NULL && j < b->msgs->len; j++) {
		const struct imap_message *m = g_ptr_array_index(b->msgs, j);

		g_hash_table_insert(by_uid, GUINT_TO_POINTER(m->uid), (gpointer)m);
	}
	if (b->msgs != NULL && b->msgs->len < b->wanted->len)
		say_missing(p, b->wanted, b->msgs);
	for (guint j = 0; j < b->items->len;) {
		struct item *it = g_ptr_array_index(b->items, j);

		if (it->download &&
		    (it->msg = g_hash_table_lookup(by_uid, GUINT_TO_POINTER(it->uid))) == NULL) {
			g_ptr_array_remove_index(b->items, j);
			continue;
		}
		if (it->download)
			g_ptr_array_add(b->todo, it);
		j++;
	}
	g_hash_table_unref(by_uid);
	if (ahead && b->todo->len > 0 &&
	    (b->reader = g_thread_try_new("spocd-ahead", batch_reader, b, NULL)) != NULL)
		return;
	batch_reader(b);
}

/* Waits for the window's reading. A stop request ended it after the messages in hand: the
 * window ends before the first message not read. */
static void window_read_finish(struct batch *b)
{
	struct pass *p = b->p;

	batch_join(b);
	if (b->todo->len > 0)
		say(p, LOG_DEBUG, "mailbox %s: read %u of %u message(s) on %u thread(s)",
		    p->mb->name, b->read, b->todo->len, b->threads);
	if (b->read < b->todo->len) {
		guint j;

		for (j = 0; g_ptr_array_index(b->items, j) != g_ptr_array_index(b->todo, b->read);
		     j++)
			;
		g_ptr_array_set_size(b->items, j);
	} else if (b->todo->len == 0 && stopping(p)) {
		g_ptr_array_set_size(b->items, 0);
	}
	g_ptr_array_set_size(b->todo, 0);
}

/* Opens a batch: marks its UIDs attempted (committed before anything else: if this pass dies,
 * the next one knows), asks their sizes, downloads the first window and starts reading it. */
static int batch_open(struct batch *b, gboolean ahead, struct errbuf *err)
{
	struct pass *p = b->p;
	int rc;

	if ((rc = lease_renew(p, err)) != SPOC_OK || p->lost)
		return rc;
	if ((rc = store_attempts_mark(p->st, p->mb->name, p->uidvalidity, b->uids, b->n, err)) !=
	    SPOC_OK)
		return rc;
	if ((rc = imap_fetch_sizes(p->imap, b->uids, b->n, &b->sizes, err)) != SPOC_OK ||
	    (rc = window_fetch(b, err)) != SPOC_OK) {
		batch_forget(b);
		return rc;
	}
	window_read(b, ahead);
	return SPOC_OK;
}

/* Writes an open batch window by window. A stop request ends the batch after the message in
 * hand: what was written is committed and moved, the rest stays in the mailbox for the next
 * start. */
static int batch_write(struct batch *b, struct errbuf *err)
{
	struct pass *p = b->p;
	int rc;

	for (;;) {
		window_read_finish(b);
		/* the lease went while the window was read: written, it would be rolled back */
		if (p->lost) {
			rc = SPOC_OK;
			break;
		}
		if ((rc = write_window(p, b->items, &b->span, &b->cut, err)) != SPOC_OK)
			break;
		g_ptr_array_set_size(b->items, 0);
		g_clear_pointer(&b->msgs, g_ptr_array_unref);
		if (b->cut || p->lost || b->i >= b->n)
			break;
		/* a batch of many windows renews the lease before each */
		if ((rc = lease_renew(p, err)) != SPOC_OK || p->lost)
			break;
		if ((rc = window_fetch(b, err)) != SPOC_OK)
			break;
		window_read(b, FALSE);
	}
	if (rc != SPOC_OK) {
		batch_forget(b);
		return rc;
	}
	/* a lost lease leaves the attempts marked: that errs towards caution, as after a crash */
	if (b->cut && !p->lost)
		say(p, LOG_NOTICE,
		    "mailbox %s: stopping after the message in hand; the rest of the batch stays "
		    "in the mailbox for the next start",
		    p->mb->name);
	return SPOC_OK;
}

/* Where a window's UIDs are cut into batches: imap.batch_size at most, and a UID that an earlier
 * pass died on alone, so that a poison message cannot take its whole batch down with it again. */
struct batch_spec {
	guint from, n;
	gboolean alone;
};

static GArray *batch_specs(const struct pass *p, GArray *fresh)
{
	GArray *specs = g_array_new(FALSE, FALSE, sizeof(struct batch_spec));
	struct batch_spec cur = {0};

	for (guint i = 0; i < fresh->len; i++) {
		uint32_t uid = g_array_index(fresh, uint32_t, i);

		if (g_hash_table_contains(p->attempts, GUINT_TO_POINTER(uid))) {
			/* Keep mailbox order: what came before goes first (a reply after its
			 * original). */
			if (cur.n > 0)
				g_array_append_val(specs, cur);
			g_array_append_val(specs, ((struct batch_spec){i, 1, TRUE}));
			cur = (struct batch_spec){i + 1, 0, FALSE};
			continue;
		}
		if (cur.n == 0)
			cur.from = i;
		if (++cur.n == (guint)p->mb->batch_size || i + 1 == fresh->len) {
			g_array_append_val(specs, cur);
			cur = (struct batch_spec){i + 1, 0, FALSE};
		}
	}
	return specs;
}

/* Works the new UIDs of one window in batches (batch_specs()). While a batch is written, the
 * next one is downloaded and read, unless it is one taken alone (a message an earlier pass died
 * on is read only once everything before it is committed) or the batch's first window is one
 * message over the fetch budget. */
static int batches(struct pass *p, GArray *fresh, struct errbuf *err)
{
	const uint32_t *uids = (const uint32_t *)(const void *)fresh->data;
	GArray *specs = NULL;
	struct batch *cur = NULL, *ahead = NULL;
	int rc;

	/* marks of failures this process handled but could not take back then */
	if (p->owed != NULL && p->owed->uids != NULL) {
		if (p->owed->uidvalidity == p->uidvalidity &&
		    (rc = store_attempts_clear(p->st, p->mb->name, p->uidvalidity,
					       (uint32_t *)(void *)p->owed->uids->data,
					       p->owed->uids->len, err)) != SPOC_OK)
			goto out;
		ingest_owed_free(p->owed);
	}
	/* what the database knows of this window's UIDs only */
	g_clear_pointer(&p->attempts, g_hash_table_unref);
	if ((rc = store_attempts_get(p->st, p->mb->name, p->uidvalidity,
				     (uint32_t *)(void *)fresh->data, fresh->len, &p->attempts,
				     err)) != SPOC_OK)
		goto out;
	specs = batch_specs(p, fresh);
	for (guint s = 0; s < specs->len && rc == SPOC_OK && !stopping(p); s++) {
		const struct batch_spec *sp = &g_array_index(specs, struct batch_spec, s);
		const struct batch_spec *next =
		    s + 1 < specs->len ? &g_array_index(specs, struct batch_spec, s + 1) : NULL;
		struct errbuf ahead_err = {{0}};
		int ahead_rc = SPOC_OK;

		if (sp->alone)
			say(p, LOG_WARNING,
			    "mailbox %s uid %u: spocd stopped %d time(s) while processing it; "
			    "taking it alone",
			    p->mb->name, uids[sp->from],
			    GPOINTER_TO_INT(g_hash_table_lookup(p->attempts,
								GUINT_TO_POINTER(uids[sp->from]))));
		cur = ahead;
		ahead = NULL;
		if (cur == NULL) {
			cur = batch_new(p, uids + sp->from, sp->n);
			if ((rc = batch_open(cur, FALSE, err)) != SPOC_OK || p->lost)
				break;
		}
		/* not beside a message over the fetch budget, fetched alone: what the two windows
		 * hold stays within what one such message may */
		if (next != NULL && !next->alone && !stopping(p) && cur->bytes <= FETCH_BUDGET_BYTES) {
			say(p, LOG_DEBUG,
			    "mailbox %s: reading uid %u..%u ahead while uid %u..%u are written",
			    p->mb->name, uids[next->from], uids[next->from + next->n - 1],
			    uids[sp->from], uids[sp->from + sp->n - 1]);
			ahead = batch_new(p, uids + next->from, next->n);
			/* a batch that could not be opened forgot its attempts; its failure is the
			 * pass's once this batch is written */
			if ((ahead_rc = batch_open(ahead, TRUE, &ahead_err)) != SPOC_OK || p->lost)
				g_clear_pointer(&ahead, batch_free);
		}
		rc = batch_write(cur, err);
		g_clear_pointer(&cur, batch_free);
		if (rc == SPOC_OK && ahead_rc != SPOC_OK) {
			rc = ahead_rc;
			*err = ahead_err;
		}
	}
	/* read ahead and then not written (a stop, a failure): no crash, unless the lease went */
	if (ahead != NULL && !p->lost) {
		batch_join(ahead);
		batch_forget(ahead);
	}
out:
	if (cur != NULL)
		batch_free(cur);
	if (ahead != NULL)
		batch_free(ahead);
	if (specs != NULL)
		g_array_unref(specs);
	return rc;
}

/* One window of UIDs, in mailbox order: those the database already recorded (committed before a
 * crash, never moved) are moved now and not taken again; the rest go through batches(). */
static int one_window(struct pass *p, GArray *uids, struct errbuf *err)
{
	GArray *fresh = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	GHashTable *seen = NULL;
	int rc;

	/* before the moves of what is recorded: two workers moving one UID copy it twice */
	if ((rc = lease_renew(p, err)) != SPOC_OK || p->lost)
		goto out;
	if ((rc = store_ingested_uids(p->st, p->mb->name, p->uidvalidity,
				      (uint32_t *)(void *)uids->data, uids->len, &seen, err)) !=
	    SPOC_OK)
		goto out;
	for (guint i = 0; i < uids->len; i++) {
		uint32_t uid = g_array_index(uids, uint32_t, i);
		gpointer o = g_hash_table_lookup(seen, GUINT_TO_POINTER(uid));

		if (o == NULL) {
			g_array_append_val(fresh, uid);
			continue;
		}
		p->stats->recovered++;
		say(p, LOG_NOTICE, "mailbox %s uid %u: already recorded (%s), moving it",
		    p->mb->name, uid, store_outcome_name(GPOINTER_TO_INT(o) - 1));
		if (GPOINTER_TO_INT(o) - 1 == INGEST_QUARANTINED)
			g_array_append_val(p->to_failed, uid);
		else
			g_array_append_val(p->to_processed, uid);
	}
	if ((rc = move_pending(p, err)) != SPOC_OK || fresh->len == 0)
		goto out;
	if (p->keys == NULL && (rc = keys_load(p->conf, p->st, &p->keys, err)) != SPOC_OK)
		goto out;
	rc = batches(p, fresh, err);
out:
	if (seen != NULL)
		g_hash_table_unref(seen);
	g_array_unref(fresh);
	return rc;
}

/* Consecutive UIDs listed, looked up in the database and worked per window: what a pass holds
 * (UIDs, what the database says of them, moves to make) stays the same whether the mailbox
 * holds a hundred messages or a million. A whole number of imap.batch_size (at least one), so
 * that a dense window never ends in a short batch. The environment's SPOCD_LIST_WINDOW
 * overrides it, for the tests that put a mailbox over many windows without writing thousands of
 * messages. */
#define LIST_WINDOW 2000

static uint32_t list_window(const struct spoc_imap_conf *mb)
{
	const char *env = g_getenv("SPOCD_LIST_WINDOW");
	uint32_t batch = (uint32_t)MAX(mb->batch_size, 1);
	guint64 w;

	if (env != NULL && g_ascii_string_to_unsigned(env, 10, 1, G_MAXUINT32, &w, NULL))
		return (uint32_t)w;
	return MAX(LIST_WINDOW / batch, 1) * batch;
}

/* Lists and works the mailbox window by window, in ascending UID order, up to the UIDNEXT seen
 * at SELECT (what arrives meanwhile is the next pass's). quiet: see ingest_run(). */
static int windows(struct pass *p, const struct imap_mark *now, struct imap_mark *quiet,
		   struct errbuf *err)
{
	uint32_t window = list_window(p->mb), from = 1;
	gboolean first = TRUE;
	int rc = SPOC_OK;

	while (from != 0 && (now->uidnext == 0 || from < now->uidnext) && !stopping(p)) {
		GArray *uids = NULL;

		if ((rc = imap_list_window(p->imap, from, window, &uids, &from, err)) != SPOC_OK)
			break;
		/* an empty folder seen with a modseq: the next look can stop at SELECT if it is
		 * unchanged; anything taken or moved now changes the modseq, so the next look
		 * lists again */
		if (first && quiet != NULL)
			*quiet = uids->len == 0 && from == 0 ? *now : (struct imap_mark){0};
		first = FALSE;
		if (uids->len > 0)
			rc = one_window(p, uids, err);
		g_array_unref(uids);
		if (rc != SPOC_OK)
			break;
	}
	return rc;
}

void ingest_owed_free(struct ingest_owed *owed)
{
	if (owed->uids != NULL)
		g_array_unref(owed->uids);
	owed->uids = NULL;
}

int ingest_run(const struct spoc_conf *conf, const struct spoc_imap_conf *mb, struct store *st,
	       struct store_lease *lease, struct imap_session *imap, struct imap_mark *quiet,
	       struct ingest_owed *owed,
	       const struct ingest_hooks *hooks, struct ingest_stats *stats, struct errbuf *err)
{
	struct imap_mark now = {0};
	struct pass p = {.conf = conf,
			 .mb = mb,
			 .st = st,
			 .lease = lease,
			 .imap = imap,
			 .owed = owed,
			 .hooks = hooks,
			 .stats = stats};
	gboolean changed = FALSE;
	int64_t had = lease->fencing;
	int rc;

	p.to_processed = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	p.to_failed = g_array_new(FALSE, FALSE, sizeof(uint32_t));
	p.renewed = g_get_monotonic_time();
	if ((rc = lease_take(st, lease, NULL, err)) != SPOC_OK)
		goto out;
	if (lease->fencing == 0) {
		/* a warning when it was ours: we let it lapse (the database was away?) */
		say(&p, had != 0 ? LOG_WARNING : LOG_INFO,
		    "mailbox %s: another spocd holds its lease (holder %s, fencing "
		    "%" G_GINT64_FORMAT "%s); leaving it to that one",
		    mb->name, lease_other_name(lease), lease->other_fencing,
		    had != 0 ? ", after ours lapsed" : "");
		goto out;
	}
	if ((rc = imap_select(imap, &now, err)) != SPOC_OK)
		goto out;
	p.uidvalidity = now.uidvalidity;
	if (quiet != NULL && quiet->modseq != 0 && now.modseq == quiet->modseq &&
	    now.uidnext == quiet->uidnext && now.uidvalidity == quiet->uidvalidity) {
		say(&p, LOG_DEBUG,
		    "mailbox %s: unchanged since the last look (CONDSTORE HIGHESTMODSEQ "
		    "%" G_GUINT64_FORMAT ", UIDNEXT %u): nothing to list",
		    mb->name, now.modseq, now.uidnext);
		goto out;
	}
	if ((rc = store_mailbox_sync(st, mb->name, p.uidvalidity, &changed, err)) != SPOC_OK)
		goto out;
	if (changed)
		say(&p, LOG_WARNING,
		    "mailbox %s: UIDVALIDITY changed to %u: every message is looked at again; "
		    "those already taken are recognised by their SHA-256",
		    mb->name, p.uidvalidity);
	rc = windows(&p, &now, quiet, err);
out:
	thread_keys_free(&p.keys);
	if (p.attempts != NULL)
		g_hash_table_unref(p.attempts);
	g_array_unref(p.to_processed);
	g_array_unref(p.to_failed);
	return rc;
}
