/* The outbox side of the store: claim a batch of due rows with FOR UPDATE SKIP LOCKED with what
 * the rate limits count for each, then record what became of every one (sent with its bytes on
 * the ticket, retry later, held by a limit, refused, or failed) in one statement and commit. */
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

/* outbox_row_free() as a GDestroyNotify. */
static void outbox_row_destroy(gpointer row)
{
	struct outbox_row *r = row;

	outbox_row_free(&r);
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

/* The rows' field picked by get as one PostgreSQL array literal. Caller frees. */
static char *rows_array(const GPtrArray *rows, const char *(*get)(const struct outbox_row *r,
								  char buf[24]))
{
	GString *s = g_string_new("{");

	for (guint i = 0; i < rows->len; i++) {
		char buf[24];

		if (i > 0)
			g_string_append_c(s, ',');
		store_array_append_text(s, get(g_ptr_array_index(rows, i), buf));
	}
	g_string_append_c(s, '}');
	return g_string_free(s, FALSE);
}

static const char *row_key(const struct outbox_row *r, char buf[24])
{
	(void)buf;
	return r->recipient_key;
}

static const char *row_ticket(const struct outbox_row *r, char buf[24])
{
	g_snprintf(buf, 24, "%" G_GINT64_FORMAT, r->ticket_id);
	return buf;
}

static const char *row_kind(const struct outbox_row *r, char buf[24])
{
	(void)buf;
	return r->kind;
}

static const char *row_recipient(const struct outbox_row *r, char buf[24])
{
	(void)buf;
	return r->recipient;
}

/* What claim_facts() knows of one row sent in the last day to the recipient key b.key or on the
 * ticket b.ticket. The rows are read in two parts, those to the key and those on the ticket to
 * another (a row to the key on the ticket is in the first alone), each from its own index of
 * sent rows, which holds every column named here (sql/029): an index-only scan each, where one
 * scan for "key OR ticket" went through a bitmap of both to the table. */
#define SENT_FACTS                                                                                 \
	"sent_at, recipient_key = b.key AS to_key, ticket_id = b.ticket AS on_ticket,"             \
	" sent_at > now() - interval '1 hour' AS hour,"                                            \
	" kind IN ('ack', 'status', 'my-tickets', 'requester-result') AS auto,"                    \
	" kind = b.kind AS own"

/* Gathers what the rate limits need for every row of rows (caps.h) in the claim's transaction:
 * what was sent in the last hour and day to its recipient key and on its ticket, of automatic
 * kinds and of its own kind, and all automatic mail in the last hour. Two notifiers sending to
 * one recipient key take turns (advisory locks until the transaction ends, taken in one order
 * so that two batches cannot wait on each other), so neither sends past a budget of that key;
 * the ticket's and the desk's budgets are not locked, and each notifier running at once may
 * send one mail past them. */
static int claim_facts(struct store *st, GPtrArray *rows, struct errbuf *err)
{
	char *keys = rows_array(rows, row_key), *tickets = rows_array(rows, row_ticket);
	char *kinds = rows_array(rows, row_kind), *rcpts = rows_array(rows, row_recipient);
	GString *sql = g_string_new(NULL);
	int rc;
	PGresult *res;

	const char *lock[] = {RECIPIENT_LOCK_CLASS, keys};
	/* its own statement: the counts below must see what the other one committed */
	rc = store_sql_exec(st, "outbox recipient locks",
			    "SELECT pg_advisory_xact_lock($1::int, h) FROM (SELECT DISTINCT"
			    " hashtext(k) AS h FROM unnest($2::text[]) k ORDER BY 1) x",
			    2, lock, err);
	g_string_append(
	    sql, "WITH a AS (SELECT sent_at FROM outbox WHERE state = 'sent'"
		 " AND kind IN ('ack', 'status', 'my-tickets', 'requester-result')"
		 " AND sent_at > now() - interval '1 hour'),"
		 " b AS (SELECT * FROM unnest($1::text[], $2::bigint[], $3::text[], $4::text[])"
		 " WITH ORDINALITY AS b(key, ticket, kind, rcpt, n))"
		 " SELECT f.* FROM b CROSS JOIN LATERAL ("
		 " WITH r AS (SELECT " SENT_FACTS " FROM outbox WHERE state = 'sent'"
		 " AND sent_at > now() - interval '1 day' AND recipient_key = b.key"
		 " UNION ALL SELECT " SENT_FACTS " FROM outbox WHERE state = 'sent'"
		 " AND sent_at > now() - interval '1 day' AND ticket_id = b.ticket"
		 " AND (recipient_key = b.key) IS NOT TRUE)"
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
			"  FROM address_status WHERE address = lower(b.rcpt) AND bouncing),"
			" (SELECT last_reason FROM address_status WHERE address = lower(b.rcpt)"
			"  AND bouncing)) f ORDER BY b.n");
	const char *p[] = {keys, tickets, kinds, rcpts};
	res = rc != SPOC_OK ? NULL
			    : store_sql_run(st, "outbox counts", sql->str, G_N_ELEMENTS(p), p, NULL,
					    &rc, err);
	g_string_free(sql, TRUE);
	g_free(keys);
	g_free(tickets);
	g_free(kinds);
	g_free(rcpts);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res) && i < (int)rows->len; i++) {
		struct outbox_row *r = g_ptr_array_index(rows, i);

		for (int w = 0; w < CAPS_WINDOWS; w++) {
			r->caps.automatic[w].n = store_sql_i64(res, i, 2 * w);
			r->caps.automatic[w].oldest = store_sql_i64(res, i, 2 * w + 1);
			r->caps.kind[w].n = store_sql_i64(res, i, 2 * (CAPS_WINDOWS + w));
			r->caps.kind[w].oldest = store_sql_i64(res, i, 2 * (CAPS_WINDOWS + w) + 1);
		}
		r->caps.automatic_hour.n = store_sql_i64(res, i, 4 * CAPS_WINDOWS);
		r->caps.automatic_hour.oldest = store_sql_i64(res, i, 4 * CAPS_WINDOWS + 1);
		r->caps.bouncing_since = store_sql_i64(res, i, 4 * CAPS_WINDOWS + 2);
		g_free(r->bounce_reason);
		r->bounce_reason = PQgetisnull(res, i, 4 * CAPS_WINDOWS + 3)
				       ? NULL
				       : g_strdup(PQgetvalue(res, i, 4 * CAPS_WINDOWS + 3));
		r->caps.bounce_reason = r->bounce_reason;
	}
	PQclear(res);
	return SPOC_OK;
}

/* How many of a recipient's latest messages the claim reads besides the first: room for the
 * THREAD_MAX_REFERENCES the headers keep when some of them cannot go into a header. */
#define CHAIN_LATEST "44"
G_STATIC_ASSERT(44 == 4 * THREAD_MAX_REFERENCES);

int store_outbox_claim(struct store *st, int automatic_per_hour, guint max, GPtrArray **rows_r,
		       struct errbuf *err)
{
	GPtrArray *rows;
	char cap[16], lim[16];
	int rc;
	PGresult *res;

	*rows_r = NULL;
	if ((rc = store_begin(st, err)) != SPOC_OK)
		return rc;
	/* The claim's plan is the same whatever its parameters, but PostgreSQL prices a plan made
	 * once for LIMIT $2 as a tenth of the due rows it estimates, and ANALYZE estimates those few
	 * rows among an outbox of millions from a sample: when the estimate passes ten batches, it
	 * plans the claim again at every call, which costs more than running it. */
	rc = store_sql_exec(st, "outbox claim plan", "SET LOCAL plan_cache_mode = force_generic_plan",
			    0, NULL, err);
	if (rc != SPOC_OK) {
		store_rollback(st);
		return rc;
	}
	g_snprintf(cap, sizeof(cap), "%d", automatic_per_hour);
	g_snprintf(lim, sizeof(lim), "%u", MAX(max, 1));
	const char *p[] = {cap, lim};
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
	    " ORDER BY o.next_attempt_at, o.id LIMIT $2::int"
	    " FOR UPDATE OF o SKIP LOCKED",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL) {
		store_rollback(st);
		return rc;
	}
	rows = g_ptr_array_new_with_free_func(outbox_row_destroy);
	for (int i = 0; i < PQntuples(res); i++) {
		struct outbox_row *r = g_new0(struct outbox_row, 1);

		r->id = store_sql_i64(res, i, 0);
		r->kind = g_strdup(PQgetvalue(res, i, 1));
		r->ticket_id = store_sql_i64(res, i, 2);
		r->ticket_number = g_strdup(PQgetvalue(res, i, 3));
		r->ticket_kind =
		    strcmp(PQgetvalue(res, i, 4), "request") == 0 ? SPOC_KIND_REQUEST : SPOC_KIND_INCIDENT;
		r->ticket_subject = g_strdup(PQgetvalue(res, i, 5));
		r->recipient = g_strdup(PQgetvalue(res, i, 6));
		r->recipient_name = g_strdup(PQgetvalue(res, i, 7));
		r->language = g_strdup(PQgetvalue(res, i, 8));
		r->message_id = g_strdup(PQgetvalue(res, i, 9));
		if (!PQgetisnull(res, i, 10) && PQgetvalue(res, i, 10)[0] != '\0') {
			char **ids = g_strsplit(PQgetvalue(res, i, 10), "\n", -1);
			GPtrArray *chain = g_ptr_array_new();

			for (char **id = ids; *id != NULL; id++)
				g_ptr_array_add(chain, *id);
			thread_reply_headers(chain, &r->in_reply_to, &r->references);
			g_ptr_array_unref(chain);
			g_strfreev(ids);
		} else {
			thread_reply_headers(NULL, &r->in_reply_to, &r->references);
		}
		r->attempts = (int)store_sql_i64(res, i, 11);
		r->ticket_priority = (int)store_sql_i64(res, i, 12);
		r->first_response_due = store_sql_i64(res, i, 13);
		r->resolution_due = store_sql_i64(res, i, 14);
		r->body = g_strdup(PQgetvalue(res, i, 15));
		r->author = g_strdup(PQgetvalue(res, i, 16));
		r->agent_id = store_sql_i64(res, i, 17);
		r->ticket_status = g_strdup(PQgetvalue(res, i, 18));
		r->requester = g_strdup(PQgetvalue(res, i, 19));
		r->age_s = store_sql_i64(res, i, 20);
		r->status_from = g_strdup(PQgetvalue(res, i, 21));
		r->status_to = g_strdup(PQgetvalue(res, i, 22));
		r->actor = g_strdup(PQgetvalue(res, i, 23));
		r->actor_name = g_strdup(PQgetvalue(res, i, 24));
		r->via = g_strdup(PQgetvalue(res, i, 25));
		r->sla_target = g_strdup(PQgetvalue(res, i, 26));
		r->sla_due = store_sql_i64(res, i, 27);
		r->sla_share = (int)store_sql_i64(res, i, 28);
		r->agent_generation = store_sql_i64(res, i, 29);
		r->today = store_sql_i64(res, i, 30);
		r->sender_verdict = PQgetisnull(res, i, 31) ? NULL : g_strdup(PQgetvalue(res, i, 31));
		r->sender_verdict_why = PQgetisnull(res, i, 32) ? NULL : g_strdup(PQgetvalue(res, i, 32));
		r->recipient_key = g_strdup(PQgetvalue(res, i, 33));
		r->held = strcmp(PQgetvalue(res, i, 34), "t") == 0;
		r->waived = strcmp(PQgetvalue(res, i, 35), "t") == 0;
		r->now = store_sql_i64(res, i, 36);
		g_ptr_array_add(rows, r);
	}
	PQclear(res);
	if (rows->len == 0) {
		store_rollback(st);
		*rows_r = rows;
		return SPOC_OK;
	}
	if ((rc = claim_facts(st, rows, err)) != SPOC_OK) {
		g_ptr_array_unref(rows);
		store_rollback(st);
		return rc;
	}
	*rows_r = rows;
	return SPOC_OK;
}

/* The fates as the mark statement reads them, by enum outbox_fate. */
static const char *const fate_names[] = {"sent", "retry", "failed", "held", "refused"};

int store_outbox_mark(struct store *st, const struct outbox_mark *marks, guint n,
		      const char *from_addr, struct errbuf *err)
{
	/* one array each: id, fate, delay, release, reason, raw (hex), sha, subject, body, refs,
	 * in_reply_to, carried */
	GString *a[12];
	int rc;

	if (n == 0) {
		store_rollback(st);
		return SPOC_OK;
	}
	for (size_t k = 0; k < G_N_ELEMENTS(a); k++)
		a[k] = g_string_new("{");
	for (guint i = 0; i < n; i++) {
		const struct outbox_mark *m = &marks[i];
		gboolean sent = m->fate == OUTBOX_SENT;
		char sha[65], *refs = sent ? store_join_ids(NULL, m->row->references) : NULL;
		char *hex = NULL;

		if (sent) {
			spoc_sha256_hex(m->raw, m->len, sha);
			hex = g_malloc(2 * m->len + 1);
			for (size_t j = 0; j < m->len; j++)
				g_snprintf(hex + 2 * j, 3, "%02x", (unsigned char)m->raw[j]);
			hex[2 * m->len] = '\0';
		}
		for (size_t k = 0; k < G_N_ELEMENTS(a) && i > 0; k++)
			g_string_append_c(a[k], ',');
		g_string_append_printf(a[0], "%" G_GINT64_FORMAT, m->row->id);
		g_string_append(a[1], fate_names[m->fate]);
		g_string_append_printf(a[2], "%d", m->delay_s);
		g_string_append_printf(a[3], "%" G_GINT64_FORMAT, m->release);
		store_array_append_text(a[4], sent ? "" : m->reason != NULL ? m->reason : "");
		store_array_append_text(a[5], hex);
		store_array_append_text(a[6], sent ? sha : NULL);
		store_array_append_text(a[7], sent ? m->subject : NULL);
		store_array_append_text(a[8], sent ? m->body_text : NULL);
		store_array_append_text(a[9], refs);
		store_array_append_text(a[10], sent ? m->row->in_reply_to : NULL);
		store_array_append_text(a[11], sent ? m->carried : NULL);
		g_free(hex);
		g_free(refs);
	}
	const char *p[G_N_ELEMENTS(a) + 1];
	for (size_t k = 0; k < G_N_ELEMENTS(a); k++) {
		g_string_append_c(a[k], '}');
		p[k] = a[k]->str;
	}
	p[G_N_ELEMENTS(a)] = from_addr;
	/* A row given up after an attempt counts the attempt; one refused or held was never
	 * attempted. A sent row's message goes on its ticket with the headers as sent: what the
	 * recipient's client threads on. */
	rc = store_sql_exec(
	    st, "outbox marks",
	    "WITH b AS (SELECT * FROM unnest($1::bigint[], $2::text[], $3::int[], $4::bigint[],"
	    "  $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[],"
	    "  $11::text[], $12::text[]) AS b(id, fate, delay, release, reason, raw, sha, subject,"
	    "  body, refs, irt, carried)),"
	    " o AS (UPDATE outbox o SET"
	    "  state = CASE b.fate WHEN 'sent' THEN 'sent' WHEN 'retry' THEN 'pending'"
	    "   WHEN 'held' THEN 'held' ELSE 'failed' END,"
	    "  attempts = o.attempts + CASE WHEN b.fate IN ('sent', 'retry', 'failed') THEN 1"
	    "   ELSE 0 END,"
	    "  sent_at = CASE WHEN b.fate = 'sent' THEN now() ELSE o.sent_at END,"
	    "  last_error = b.reason,"
	    "  next_attempt_at = CASE b.fate"
	    "   WHEN 'retry' THEN now() + make_interval(secs => b.delay)"
	    "   WHEN 'held' THEN to_timestamp(b.release) ELSE o.next_attempt_at END,"
	    "  detail = CASE WHEN b.fate = 'sent' AND b.carried IS NOT NULL THEN o.detail ||"
	    "   jsonb_build_object('carried', string_to_array(b.carried, ',')::bigint[])"
	    "   ELSE o.detail END"
	    "  FROM b WHERE o.id = b.id"
	    "  RETURNING o.ticket_id, o.message_id, o.recipient, b.*)"
	    " INSERT INTO messages (ticket_id, direction, message_id, in_reply_to, refs,"
	    "  from_addr, to_addrs, subject, sent_at, body_text, raw, raw_sha256)"
	    " SELECT o.ticket_id, 'out', o.message_id, o.irt,"
	    "  coalesce(string_to_array(nullif(o.refs, ''), E'\\n'), '{}'), $13, o.recipient,"
	    "  o.subject, now(), o.body, decode(o.raw, 'hex'), o.sha FROM o"
	    "  WHERE o.fate = 'sent' ORDER BY o.id",
	    G_N_ELEMENTS(p), p, err);
	for (size_t k = 0; k < G_N_ELEMENTS(a); k++)
		g_string_free(a[k], TRUE);
	if (rc == SPOC_OK && (rc = store_commit(st, err)) == SPOC_OK)
		return SPOC_OK;
	store_rollback(st);
	return rc;
}
