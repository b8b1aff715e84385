/* The outbox side of the store: claim one due row with FOR UPDATE SKIP LOCKED with what the rate
 * limits count for it, then record what became of it (sent with its bytes on the ticket, retry
 * later, held by a limit, refused, or failed) and commit. */
#include "store_priv.h"

#include <string.h>

void outbox_row_free(struct outbox_row **row)
{
	struct outbox_row *r = *row;

	if (r == NULL)
		return;
	g_free(r->kind);
	g_free(r->bounce_reason);
	g_free(r->body);
	g_free(r->author);
	g_free(r->ticket_number);
	g_free(r->ticket_subject);
	g_free(r->recipient);
	g_free(r->recipient_name);
	g_free(r->language);
	g_free(r->message_id);
	g_free(r->in_reply_to);
	g_free(r->ticket_status);
	g_free(r->requester);
	g_free(r->status_from);
	g_free(r->status_to);
	g_free(r->actor);
	g_free(r->actor_name);
	g_free(r->via);
	g_free(r->sla_target);
	g_free(r->sender_verdict);
	g_free(r->sender_verdict_why);
	g_free(r->recipient_key);
	if (r->references != NULL)
		g_ptr_array_unref(r->references);
	g_free(r);
	*row = NULL;
}

int store_outbox_mint_ids(struct store *st, char *(*mint)(int64_t ticket_id, void *ctx), void *ctx,
			  unsigned *minted_r, struct errbuf *err)
{
	unsigned minted = 0;
	int rc;
	PGresult *res;

	if (minted_r != NULL)
		*minted_r = 0;
	if ((rc = store_begin(st, err)) != SPOC_OK)
		return rc;
	res = store_sql_run(st, "outbox ids",
			    "SELECT id, ticket_id FROM outbox"
			    " WHERE state = 'pending' AND message_id IS NULL"
			    " ORDER BY id LIMIT 1000 FOR UPDATE SKIP LOCKED",
			    0, NULL, NULL, &rc, err);
	if (res == NULL) {
		store_rollback(st);
		return rc;
	}
	for (int i = 0; i < PQntuples(res) && rc == SPOC_OK; i++) {
		char *mid = mint(store_sql_i64(res, i, 1), ctx);

		if (mid == NULL)
			continue;
		const char *p[] = {PQgetvalue(res, i, 0), mid};
		rc = store_sql_exec(st, "outbox id",
				    "UPDATE outbox SET message_id = $2 WHERE id = $1::bigint", 2, p,
				    err);
		g_free(mid);
		minted++;
	}
	PQclear(res);
	if (rc == SPOC_OK && (rc = store_commit(st, err)) == SPOC_OK) {
		if (minted_r != NULL)
			*minted_r = minted;
		return SPOC_OK;
	}
	store_rollback(st);
	return rc;
}

/* Advisory lock keys: a class for the notifier's recipient locks (not the mailbox locks' class,
 * store_ingest.c) and the hash of the recipient key. */
#define RECIPIENT_LOCK_CLASS "1936749419"

/* What claim_facts() counts among the rows sent in the last day to the recipient key or on the
 * ticket, in the order of struct caps_facts: the automatic kinds' windows, then the row's own
 * kind's (enum caps_window). */
static const char *const facts_filters[2 * CAPS_WINDOWS] = {
    "to_key AND auto AND hour", "to_key AND auto", "on_ticket AND auto",
    "to_key AND own AND hour",	"to_key AND own",  "on_ticket AND own",
};

/* Gathers what the rate limits need for r (caps.h) in the claim's transaction: what was sent in
 * the last hour and day to its recipient key and on its ticket, of automatic kinds and of its own
 * kind, and all automatic mail in the last hour. Two notifiers sending to one recipient key
 * take turns (an advisory lock until the transaction ends), so neither sends past a budget of
 * that key; the ticket's and the desk's budgets are not locked, and each notifier running at
 * once may send one mail past them. */
static int claim_facts(struct store *st, struct outbox_row *r, struct errbuf *err)
{
	const char *lock[] = {RECIPIENT_LOCK_CLASS, r->recipient_key};
	GString *sql = g_string_new(NULL);
	char tk[24];
	int rc = SPOC_OK;
	PGresult *res;

	/* its own statement: the counts below must see what the other one committed */
	if ((rc = store_sql_exec(st, "outbox recipient lock",
				 "SELECT pg_advisory_xact_lock($1::int, hashtext($2))", 2, lock,
				 err)) != SPOC_OK)
		return rc;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, r->ticket_id);
	g_string_append(sql,
			"WITH r AS (SELECT sent_at, recipient_key = $1 AS to_key,"
			" ticket_id = $2::bigint AS on_ticket,"
			" sent_at > now() - interval '1 hour' AS hour,"
			" kind IN ('ack', 'status', 'my-tickets', 'requester-result') AS auto,"
			" kind = $3 AS own"
			" FROM outbox WHERE state = 'sent' AND sent_at > now() - interval '1 day'"
			" AND (recipient_key = $1 OR ticket_id = $2::bigint)),"
			" a AS (SELECT sent_at FROM outbox WHERE state = 'sent'"
			" AND kind IN ('ack', 'status', 'my-tickets', 'requester-result') AND sent_at > now() - interval '1 hour')"
			" SELECT");
	for (size_t i = 0; i < G_N_ELEMENTS(facts_filters); i++)
		g_string_append_printf(
		    sql,
		    " (SELECT count(*) FROM r WHERE %s),"
		    " (SELECT coalesce(extract(epoch FROM min(sent_at))::bigint, 0)"
		    " FROM r WHERE %s),",
		    facts_filters[i], facts_filters[i]);
	g_string_append(sql,
			" (SELECT count(*) FROM a),"
			" (SELECT coalesce(extract(epoch FROM min(sent_at))::bigint, 0) FROM a),"
			" (SELECT coalesce(extract(epoch FROM last_bounce_at)::bigint, 0)"
			"  FROM address_status WHERE address = lower($4) AND bouncing),"
			" (SELECT last_reason FROM address_status WHERE address = lower($4)"
			"  AND bouncing)");
	const char *p[] = {r->recipient_key, tk, r->kind, r->recipient};
	res = store_sql_run(st, "outbox counts", sql->str, G_N_ELEMENTS(p), p, NULL, &rc, err);
	g_string_free(sql, TRUE);
	if (res == NULL)
		return rc;
	for (int w = 0; w < CAPS_WINDOWS; w++) {
		r->caps.automatic[w].n = store_sql_i64(res, 0, 2 * w);
		r->caps.automatic[w].oldest = store_sql_i64(res, 0, 2 * w + 1);
		r->caps.kind[w].n = store_sql_i64(res, 0, 2 * (CAPS_WINDOWS + w));
		r->caps.kind[w].oldest = store_sql_i64(res, 0, 2 * (CAPS_WINDOWS + w) + 1);
	}
	r->caps.automatic_hour.n = store_sql_i64(res, 0, 4 * CAPS_WINDOWS);
	r->caps.automatic_hour.oldest = store_sql_i64(res, 0, 4 * CAPS_WINDOWS + 1);
	r->caps.bouncing_since = store_sql_i64(res, 0, 4 * CAPS_WINDOWS + 2);
	g_free(r->bounce_reason);
	r->bounce_reason = PQgetisnull(res, 0, 4 * CAPS_WINDOWS + 3)
			       ? NULL
			       : g_strdup(PQgetvalue(res, 0, 4 * CAPS_WINDOWS + 3));
	r->caps.bounce_reason = r->bounce_reason;
	PQclear(res);
	return SPOC_OK;
}

/* How many of a recipient's latest messages the claim reads besides the first: room for the
 * THREAD_MAX_REFERENCES the headers keep when some of them cannot go into a header. */
#define CHAIN_LATEST "44"
G_STATIC_ASSERT(44 == 4 * THREAD_MAX_REFERENCES);

int store_outbox_claim(struct store *st, int automatic_per_hour, struct outbox_row **row_r,
		       struct errbuf *err)
{
	struct outbox_row *r;
	char cap[16];
	int rc;
	PGresult *res;

	*row_r = NULL;
	if ((rc = store_begin(st, err)) != SPOC_OK)
		return rc;
	g_snprintf(cap, sizeof(cap), "%d", automatic_per_hour);
	const char *p[] = {cap};
	res = store_sql_run(
	    st, "outbox claim",
	    /* a notice on no ticket (a requester's list) answers a mail: its subject stands in */
	    "SELECT o.id, o.kind, coalesce(o.ticket_id, 0), coalesce(t.display, ''),"
	    "  coalesce(t.kind, 'incident'), coalesce(t.subject, m.subject, ''), o.recipient,"
	    "  o.recipient_name, o.language, o.message_id,"
	    "  ch.ids, o.attempts, coalesce(t.priority, 3),"
	    "  coalesce(extract(epoch FROM t.first_response_due)::bigint, 0),"
	    "  coalesce(extract(epoch FROM t.resolution_due)::bigint, 0),"
	    "  o.body, o.author, coalesce(o.agent_id, 0), coalesce(t.status, ''),"
	    "  coalesce(t.requester, ''),"
	    "  extract(epoch FROM now() - coalesce(o.retried_at, o.created_at))::bigint,"
	    "  o.detail->>'from', o.detail->>'to', o.detail->>'actor', o.detail->>'actor_name',"
	    "  o.detail->>'via', o.detail->>'target',"
	    "  coalesce((o.detail->>'due')::bigint, 0), coalesce((o.detail->>'share')::int, 0),"
	    "  coalesce(a.token_generation, 0), (now() AT TIME ZONE 'UTC')::date - date "
	    "'1970-01-01', m.sender_verdict, m.sender_verdict_why,"
	    "  o.recipient_key, o.state = 'held', o.retried_at IS NOT NULL,"
	    "  extract(epoch FROM now())::bigint"
	    " FROM outbox o LEFT JOIN tickets t ON t.id = o.ticket_id"
	    " LEFT JOIN messages m ON m.id = o.in_reply_to_message"
	    " LEFT JOIN agents a ON a.id = o.agent_id"
	    /* The conversation as the recipient has it: what they sent to the desk on this ticket
	     * and what the desk sent them. The desk's side (an agent, or the triage mailbox getting
	     * the desk's notices) also saw the mail of the ticket's requester and watchers, relayed
	     * to it anyway; nobody is shown another agent's. What machines sent (an out-of-office
	     * answer) is no one's turn in it. Its first message and the latest ones are enough for
	     * the headers (thread_reply_headers()). */
	    " CROSS JOIN LATERAL (SELECT array_to_string(array_agg(x.message_id ORDER BY x.id),"
	    "   E'\\n') AS ids FROM (SELECT c.id, c.message_id,"
	    "   row_number() OVER (ORDER BY c.id) AS n, count(*) OVER () AS total"
	    "   FROM messages c WHERE (c.ticket_id = o.ticket_id"
	    /* a notice on no ticket (a requester's list) answers the mail that asked */
	    "    OR (o.ticket_id IS NULL AND c.id = o.in_reply_to_message))"
	    "   AND NOT c.message_id_synthetic"
	    "    AND ((c.direction = 'out' AND lower(c.to_addrs) = lower(o.recipient))"
	    "     OR (c.direction = 'in' AND c.automatic IS NULL"
	    "      AND lower(c.from_addr) = lower(o.recipient))"
	    "     OR (c.direction = 'in' AND c.automatic IS NULL AND NOT c.internal"
	    "      AND (o.kind IN ('follow-up', 'command-result', 'command-unproven',"
	    "        'sla-warning', 'sla-breach', 'new-ticket', 'assigned', 'unreachable')"
	    "       OR EXISTS (SELECT 1 FROM agents WHERE address = lower(o.recipient)))"
	    "      AND NOT EXISTS (SELECT 1 FROM agents WHERE address = lower(c.from_addr))))) x"
	    "  WHERE x.n = 1 OR x.n > x.total - " CHAIN_LATEST ") ch"
	    " WHERE o.state IN ('pending', 'held') AND o.next_attempt_at <= now()"
	    "  AND o.message_id IS NOT NULL"
	    /* While the desk's hourly cap on automatic mail is full, the rows it holds are not
	     * asked again one by one (each would only be held again): the first slot that frees
	     * goes to the longest waiting. */
	    "  AND NOT (o.state = 'held' AND o.kind IN ('ack', 'status', 'my-tickets', 'requester-result') AND o.retried_at IS NULL"
	    "   AND (SELECT count(*) FROM outbox WHERE state = 'sent' AND kind IN ('ack', 'status', 'my-tickets', 'requester-result')"
	    "    AND sent_at > now() - interval '1 hour') >= $1::int)"
	    " ORDER BY o.next_attempt_at, o.id LIMIT 1"
	    " FOR UPDATE OF o SKIP LOCKED",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL) {
		store_rollback(st);
		return rc;
	}
	if (PQntuples(res) == 0) {
		PQclear(res);
		store_rollback(st);
		return SPOC_OK;
	}
	r = g_new0(struct outbox_row, 1);
	r->id = store_sql_i64(res, 0, 0);
	r->kind = g_strdup(PQgetvalue(res, 0, 1));
	r->ticket_id = store_sql_i64(res, 0, 2);
	r->ticket_number = g_strdup(PQgetvalue(res, 0, 3));
	r->ticket_kind =
	    strcmp(PQgetvalue(res, 0, 4), "request") == 0 ? SPOC_KIND_REQUEST : SPOC_KIND_INCIDENT;
	r->ticket_subject = g_strdup(PQgetvalue(res, 0, 5));
	r->recipient = g_strdup(PQgetvalue(res, 0, 6));
	r->recipient_name = g_strdup(PQgetvalue(res, 0, 7));
	r->language = g_strdup(PQgetvalue(res, 0, 8));
	r->message_id = g_strdup(PQgetvalue(res, 0, 9));
	if (!PQgetisnull(res, 0, 10) && PQgetvalue(res, 0, 10)[0] != '\0') {
		char **ids = g_strsplit(PQgetvalue(res, 0, 10), "\n", -1);
		GPtrArray *chain = g_ptr_array_new();

		for (char **id = ids; *id != NULL; id++)
			g_ptr_array_add(chain, *id);
		thread_reply_headers(chain, &r->in_reply_to, &r->references);
		g_ptr_array_unref(chain);
		g_strfreev(ids);
	} else {
		thread_reply_headers(NULL, &r->in_reply_to, &r->references);
	}
	r->attempts = (int)store_sql_i64(res, 0, 11);
	r->ticket_priority = (int)store_sql_i64(res, 0, 12);
	r->first_response_due = store_sql_i64(res, 0, 13);
	r->resolution_due = store_sql_i64(res, 0, 14);
	r->body = g_strdup(PQgetvalue(res, 0, 15));
	r->author = g_strdup(PQgetvalue(res, 0, 16));
	r->agent_id = store_sql_i64(res, 0, 17);
	r->ticket_status = g_strdup(PQgetvalue(res, 0, 18));
	r->requester = g_strdup(PQgetvalue(res, 0, 19));
	r->age_s = store_sql_i64(res, 0, 20);
	r->status_from = g_strdup(PQgetvalue(res, 0, 21));
	r->status_to = g_strdup(PQgetvalue(res, 0, 22));
	r->actor = g_strdup(PQgetvalue(res, 0, 23));
	r->actor_name = g_strdup(PQgetvalue(res, 0, 24));
	r->via = g_strdup(PQgetvalue(res, 0, 25));
	r->sla_target = g_strdup(PQgetvalue(res, 0, 26));
	r->sla_due = store_sql_i64(res, 0, 27);
	r->sla_share = (int)store_sql_i64(res, 0, 28);
	r->agent_generation = store_sql_i64(res, 0, 29);
	r->today = store_sql_i64(res, 0, 30);
	r->sender_verdict = PQgetisnull(res, 0, 31) ? NULL : g_strdup(PQgetvalue(res, 0, 31));
	r->sender_verdict_why = PQgetisnull(res, 0, 32) ? NULL : g_strdup(PQgetvalue(res, 0, 32));
	r->recipient_key = g_strdup(PQgetvalue(res, 0, 33));
	r->held = strcmp(PQgetvalue(res, 0, 34), "t") == 0;
	r->waived = strcmp(PQgetvalue(res, 0, 35), "t") == 0;
	r->now = store_sql_i64(res, 0, 36);
	PQclear(res);
	if ((rc = claim_facts(st, r, err)) != SPOC_OK) {
		outbox_row_free(&r);
		store_rollback(st);
		return rc;
	}
	*row_r = r;
	return SPOC_OK;
}

/* Runs the statement, then COMMIT; on any failure rolls back. */
static int exec_commit(struct store *st, const char *what, const char *sql, int n,
		       const char *const *params, const int *lens, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(st, what, sql, n, params, lens, &rc, err);

	PQclear(res);
	if (res != NULL && (rc = store_commit(st, err)) == SPOC_OK)
		return SPOC_OK;
	store_rollback(st);
	return rc;
}

int store_outbox_sent(struct store *st, const struct outbox_row *row, const char *raw, size_t len,
		      const char *from_addr, const char *subject, const char *body_text,
		      struct errbuf *err)
{
	char id[24], sha[65];
	char *refs = store_join_ids(NULL, row->references);
	int rc;

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, row->id);
	spoc_sha256_hex(raw, len, sha);
	const char *p[] = {id, raw, sha, from_addr, subject, body_text, refs, row->in_reply_to};
	int lens[G_N_ELEMENTS(p)] = {0};
	lens[1] = (int)len;
	rc = exec_commit(
	    st, "outbox sent",
	    "WITH o AS (UPDATE outbox SET state = 'sent', attempts = attempts + 1,"
	    "  sent_at = now(), last_error = '' WHERE id = $1::bigint"
	    "  RETURNING ticket_id, message_id, recipient)"
	    " INSERT INTO messages (ticket_id, direction, message_id, in_reply_to, refs,"
	    "  from_addr, to_addrs, subject, sent_at, body_text, raw, raw_sha256)"
	    /* the headers as sent: what the recipient's client threads on */
	    " SELECT o.ticket_id, 'out', o.message_id, $8,"
	    "  coalesce(string_to_array(nullif($7, ''), E'\\n'), '{}'), $4, o.recipient,"
	    "  $5, now(), $6, $2::bytea, $3 FROM o",
	    G_N_ELEMENTS(p), p, lens, err);
	g_free(refs);
	return rc;
}

int store_outbox_retry(struct store *st, const struct outbox_row *row, int delay_s,
		       const char *reason, struct errbuf *err)
{
	char id[24], delay[16];

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, row->id);
	g_snprintf(delay, sizeof(delay), "%d", delay_s);
	const char *p[] = {id, delay, reason};
	return exec_commit(
	    st, "outbox retry",
	    "UPDATE outbox SET state = 'pending', attempts = attempts + 1,"
	    " last_error = $3, next_attempt_at = now() + make_interval(secs => $2::int)"
	    " WHERE id = $1::bigint",
	    3, p, NULL, err);
}

int store_outbox_failed(struct store *st, const struct outbox_row *row, const char *reason,
			struct errbuf *err)
{
	char id[24];

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, row->id);
	const char *p[] = {id, reason};
	return exec_commit(st, "outbox failed",
			   "UPDATE outbox SET state = 'failed', attempts = attempts + 1,"
			   " last_error = $2 WHERE id = $1::bigint",
			   2, p, NULL, err);
}

int store_outbox_held(struct store *st, const struct outbox_row *row, int64_t release,
		      const char *reason, struct errbuf *err)
{
	char id[24], at[24];

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, row->id);
	g_snprintf(at, sizeof(at), "%" G_GINT64_FORMAT, release);
	const char *p[] = {id, at, reason};
	return exec_commit(st, "outbox held",
			   "UPDATE outbox SET state = 'held', last_error = $3,"
			   " next_attempt_at = to_timestamp($2::bigint) WHERE id = $1::bigint",
			   3, p, NULL, err);
}

int store_outbox_refused(struct store *st, const struct outbox_row *row, const char *reason,
			 struct errbuf *err)
{
	char id[24];

	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, row->id);
	const char *p[] = {id, reason};
	return exec_commit(
	    st, "outbox refused",
	    "UPDATE outbox SET state = 'failed', last_error = $2 WHERE id = $1::bigint", 2, p, NULL,
	    err);
}
