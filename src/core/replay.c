/* Quarantine replay: parse the kept raw bytes again with today's code and configuration and, if
 * they now make a message, record it exactly as the ingest pass would have. */
#include "replay.h"

#include "ingest.h"
#include "keys.h"
#include "mime.h"
#include "thread.h"

#include <string.h>

/* Stores why the replay failed, in its own transaction, and returns SPOC_EPERM with it. */
static int replay_refused(struct store *st, int64_t id, const char *why, struct errbuf *err)
{
	struct errbuf ignored = {{0}};
	char *copy = g_strdup(why);

	store_rollback(st);
	if (store_begin(st, &ignored) == SPOC_OK &&
	    store_quarantine_replay_failed(st, id, copy, &ignored) == SPOC_OK)
		store_commit(st, &ignored);
	else
		store_rollback(st);
	errbuf_set(err, SPOC_EPERM, "quarantine %" G_GINT64_FORMAT ": %s", id, copy);
	g_free(copy);
	return SPOC_EPERM;
}

int replay_quarantine(const struct spoc_conf *conf, struct store *st, int64_t id, gboolean release,
		      struct replay_result *r, struct errbuf *err)
{
	struct quarantine_entry *e = NULL;
	struct thread_keys *keys = NULL;
	struct bounce_report bounce = {0};
	struct mime_limits limits;
	struct ingest_decision d;
	struct ingest_result res;
	struct mail *mail = NULL;
	struct errbuf why = {{0}};
	const char *refusal, *raw;
	int64_t message_row = 0;
	gsize len;
	int rc;

	memset(r, 0, sizeof(*r));
	if ((rc = store_begin(st, err)) != SPOC_OK)
		return rc;
	if ((rc = store_quarantine_get(st, id, TRUE, &e, err)) != SPOC_OK) {
		store_rollback(st);
		return rc;
	}
	if (e == NULL) {
		store_rollback(st);
		return errbuf_set(err, SPOC_EPERM, "quarantine %" G_GINT64_FORMAT ": no such entry",
				  id);
	}
	if (e->replayed_at != NULL) {
		r->already = TRUE;
		g_strlcpy(r->outcome, e->replay_outcome != NULL ? e->replay_outcome : "",
			  sizeof(r->outcome));
		g_strlcpy(r->ticket_number, e->replay_ticket != NULL ? e->replay_ticket : "",
			  sizeof(r->ticket_number));
		quarantine_entry_free(e);
		store_rollback(st);
		return SPOC_OK;
	}
	ingest_mime_limits(conf, &limits);
	raw = g_bytes_get_data(e->raw, &len);
	if (mime_parse(raw, len, &limits, &mail, &why) != SPOC_OK) {
		rc = replay_refused(st, id, why.msg, err);
		goto out;
	}
	/* judged as the mailbox it came from would have judged it */
	if ((refusal = ingest_decide_in(conf, e->mailbox, mail, &d)) != NULL) {
		rc = replay_refused(st, id, refusal, err);
		goto out;
	}
	if (!release) {
		g_autofree char *spam = ingest_spam_why(conf, mail, &d);

		if (spam != NULL) {
			g_autofree char *hint =
			    g_strdup_printf("%s (spocctl quarantine release %" G_GINT64_FORMAT
					    " takes it if it is not spam)",
					    spam, id);

			rc = replay_refused(st, id, hint, err);
			goto out;
		}
	}
	if ((rc = keys_load(conf, st, &keys, &why)) != SPOC_OK) {
		store_rollback(st);
		errbuf_set(err, rc, "quarantine %" G_GINT64_FORMAT ": %s", id, why.msg);
		goto out;
	}
	d.keys = keys;
	ingest_bounce(conf, keys, mail, &bounce, &d);
	rc = store_record_mail(st, raw, len, mail, &d, &res, &message_row, &why);
	if (rc == SPOC_OK)
		rc = store_quarantine_replayed(st, e, &res, message_row, &why);
	if (rc == SPOC_OK)
		rc = store_commit(st, &why);
	if (rc == SPOC_EPERM) {
		rc = replay_refused(st, id, why.msg, err);
		goto out;
	}
	if (rc != SPOC_OK) {
		store_rollback(st);
		errbuf_set(err, rc, "quarantine %" G_GINT64_FORMAT ": %s", id, why.msg);
		goto out;
	}
	g_strlcpy(r->outcome, store_outcome_name(res.outcome), sizeof(r->outcome));
	g_strlcpy(r->ticket_number, res.ticket_number, sizeof(r->ticket_number));
out:
	thread_keys_free(&keys);
	bounce_report_clear(&bounce);
	mail_free(&mail);
	quarantine_entry_free(e);
	return rc;
}
