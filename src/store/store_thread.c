/* Threading as the database sees it: which tickets a mail names (a verified spocd Message-ID, a
 * stored Message-ID, a signed reply address, the subject tag), who its sender is to each of them
 * (participant, proven agent), and thread_decide()'s verdict on that. */
#include "store_priv.h"

#include <string.h>

/* The ticket numbered by the subject tag, whoever sends; 0 when there is none. Whether the
 * sender may write to it is thread_decide()'s question. */
static int find_tagged(struct store *st, int64_t number, int64_t *ticket_r, struct errbuf *err)
{
	char num[24];
	int rc = SPOC_OK;
	PGresult *res;

	*ticket_r = 0;
	if (number <= 0)
		return SPOC_OK;
	g_snprintf(num, sizeof(num), "%" G_GINT64_FORMAT, number);
	const char *p[] = {num};
	res =
	    store_sql_run(st, "threading by subject tag",
			  "SELECT id FROM tickets WHERE number = $1::bigint", 1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0)
		*ticket_r = store_sql_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

/* The ticket an existing message names through In-Reply-To or References, nearest first; 0 when
 * none. Our own notifications count from the moment they are queued. */
static int find_thread(struct store *st, const struct mail *m, int64_t *ticket_r,
		       struct errbuf *err)
{
	GPtrArray *ids = g_ptr_array_new();
	char *joined;
	int rc = SPOC_OK;
	PGresult *res;

	*ticket_r = 0;
	/* References are oldest first; look from the newest back. */
	for (guint i = m->references != NULL ? m->references->len : 0; i > 0; i--)
		g_ptr_array_add(ids, g_ptr_array_index(m->references, i - 1));
	joined = store_join_ids(m->in_reply_to, ids);
	g_ptr_array_unref(ids);
	if (joined[0] == '\0') {
		g_free(joined);
		return SPOC_OK;
	}
	const char *p[] = {joined};
	/* The list is split in a sub-select: the planner then counts on as many IDs whatever the
	 * list, the plan made once for the prepared statement costs what each custom one would,
	 * and is kept. Split where it could see the list, each call was planned again (custom
	 * plans look cheaper for a list of three than a generic one), which on a table of
	 * millions of messages took four times what the lookup did (bench/scale). Each ID is
	 * looked up on its own (LATERAL), in the list's order, until one names a ticket: joined
	 * with the list instead, a desk of a few thousand messages without statistics yet
	 * (before autovacuum's first ANALYZE) was planned a hash join that read every message
	 * for each lookup. */
	res = store_sql_run(
	    st, "threading",
	    "SELECT x.ticket_id FROM unnest((SELECT string_to_array($1, E'\\n')))"
	    "  WITH ORDINALITY AS u(id, ord)"
	    " CROSS JOIN LATERAL ("
	    "  SELECT m.ticket_id FROM messages m WHERE m.message_id = u.id"
	    "   AND m.ticket_id IS NOT NULL AND NOT m.message_id_synthetic"
	    /* a Message-ID that two different mails carried (message_id_clash_of) names
	     * no ticket: whoever sent it first must not get the other's replies */
	    "   AND NOT EXISTS (SELECT 1 FROM messages c WHERE c.message_id = m.message_id"
	    "    AND c.direction = 'in' AND NOT c.message_id_synthetic"
	    "    AND c.ticket_id IS DISTINCT FROM m.ticket_id)"
	    "  UNION ALL"
	    "  SELECT o.ticket_id FROM outbox o WHERE o.message_id = u.id"
	    " ) x ORDER BY u.ord LIMIT 1",
	    1, p, NULL, &rc, err);
	g_free(joined);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0)
		*ticket_r = store_sql_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

/* The first ticket a minted Message-ID (verified HMAC) in In-Reply-To or References names,
 * newest first; 0 when none. */
static int64_t minted_ticket(const struct mail *m, const struct ingest_decision *d)
{
	int64_t ticket = 0;

	if (d->keys == NULL)
		return 0;
	if (m->in_reply_to != NULL &&
	    thread_verify_message_id(d->keys, m->in_reply_to, d->message_id_domain, &ticket))
		return ticket;
	for (guint i = m->references != NULL ? m->references->len : 0; i > 0; i--)
		if (thread_verify_message_id(d->keys, g_ptr_array_index(m->references, i - 1),
					     d->message_id_domain, &ticket))
			return ticket;
	return 0;
}

/* A verified token in addr (desk+TOKEN@), into *t; FALSE when none. */
static gboolean token_in(const char *addr, const struct ingest_decision *d, struct thread_token *t)
{
	char *token = addr != NULL ? thread_token_from_address(addr, d->desk_addresses) : NULL;
	gboolean ok = token != NULL && thread_verify_token(d->keys, token, t);

	g_free(token);
	return ok;
}

/* The first verified reply token among the mail's own recipients: the To addresses, then the
 * Delivered-To headers the desk's own delivery added. Never Cc: an agent who copies a requester
 * or a vendor hands them the token in Cc of every answer, and it must prove nothing there. */
static void token_find(const struct mail *m, const struct ingest_decision *d,
		       struct thread_token *t)
{
	memset(t, 0, sizeof(*t));
	if (d->keys == NULL)
		return;
	for (guint i = 0; m->to != NULL && i < m->to->len; i++)
		if (token_in(((const struct mail_addr *)g_ptr_array_index(m->to, i))->addr, d, t))
			return;
	for (guint i = 0; m->headers != NULL && i < m->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(m->headers, i);
		char *addr;
		gboolean ok;

		if (g_ascii_strcasecmp(h->name, "Delivered-To") != 0)
			continue;
		addr = g_strstrip(g_strdelimit(g_strdup(h->raw), "<>", ' '));
		ok = token_in(addr, d, t);
		g_free(addr);
		if (ok)
			return;
	}
	memset(t, 0, sizeof(*t));
}

static enum ticket_status status_from_name(const char *name)
{
	enum ticket_status s;

	return ticket_status_parse(name, &s) ? s : TICKET_CLOSED; /* unknown: treat as final */
}

void store_sender_fill(const struct mail *m, const struct ingest_decision *d, PGresult *res,
		       int row, int col, struct judge_sender *who)
{
	struct thread_token t;

	memset(who, 0, sizeof(*who));
	who->proven = d->from_proven;
	who->failed = d->from_failed;
	token_find(m, d, &t);
	who->token_ticket = t.ticket;
	who->token_agent = t.agent;
	who->token_day = t.day;
	who->token_generation = t.generation;
	if (m->from.addr == NULL || PQntuples(res) <= row || PQgetisnull(res, row, col))
		return;
	who->agent_id = store_sql_i64(res, row, col);
	who->agent_name = g_strdup(PQgetvalue(res, row, col + 1));
	who->agent_generation = store_sql_i64(res, row, col + 2);
}

/* Fills what thread_decide() needs to know about one ticket: its status, when it was resolved,
 * and whether the sender is one of its participants. */
static int candidate_fill(struct store *st, int64_t ticket, const struct mail *m,
			  const struct ingest_decision *d, const struct judge_sender *who,
			  struct thread_candidate *c, struct errbuf *err)
{
	char tk[24];
	int rc = SPOC_OK;
	PGresult *res;

	memset(c, 0, sizeof(*c));
	if (ticket == 0)
		return SPOC_OK;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket);
	const char *p[] = {tk, m->from.addr};
	res = store_sql_run(st, "threading",
			    "SELECT t.status, extract(epoch FROM t.resolved_at)::bigint,"
			    " $2::text IS NOT NULL AND EXISTS (SELECT 1 FROM participants p"
			    "  WHERE p.ticket_id = t.id AND p.address = lower($2))"
			    " FROM tickets t WHERE t.id = $1::bigint",
			    2, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0) {
		c->ticket_id = ticket;
		c->status = status_from_name(PQgetvalue(res, 0, 0));
		if (!PQgetisnull(res, 0, 1))
			c->resolved_at = g_date_time_new_from_unix_utc(store_sql_i64(res, 0, 1));
		/* an address on the ticket counts only when the border vouches for the sender (or
		 * the desk accepts unverified senders): a forged From is a stranger */
		c->sender_is_participant =
		    strcmp(PQgetvalue(res, 0, 2), "t") == 0 && judge_sender_verified(d);
		/* Agent authority needs proof (this agent's reply token for this ticket, or aligned
		 * DKIM/DMARC from the trusted authserv-id); a From that names an agent is not. */
		c->sender_is_agent = judge_agent_proven(d, who, ticket, NULL);
	}
	PQclear(res);
	return SPOC_OK;
}

/* Where the mail belongs, decided by thread_decide() from what the database knows. */
int store_thread_find(struct store *st, const struct mail *m, const struct ingest_decision *d,
		      const struct judge_sender *who, struct thread_verdict *v, struct errbuf *err)
{
	struct thread_facts f = {0};
	int64_t stored = 0, tagged = 0;
	int rc;

	if ((rc = find_thread(st, m, &stored, err)) != SPOC_OK ||
	    (rc = find_tagged(st, d->subject_tag, &tagged, err)) != SPOC_OK)
		return rc;
	if ((rc = candidate_fill(st, minted_ticket(m, d), m, d, who, &f.by_minted_id, err)) ==
		SPOC_OK &&
	    (rc = candidate_fill(st, stored, m, d, who, &f.by_stored_id, err)) == SPOC_OK &&
	    (rc = candidate_fill(st, who->token_ticket, m, d, who, &f.by_token, err)) == SPOC_OK)
		rc = candidate_fill(st, tagged, m, d, who, &f.by_subject_tag, err);
	if (rc == SPOC_OK) {
		f.now = g_date_time_new_now_utc();
		f.reopen_window_s = d->reopen_window_s;
		thread_decide(&f, v);
		g_date_time_unref(f.now);
	}
	g_clear_pointer(&f.by_minted_id.resolved_at, g_date_time_unref);
	g_clear_pointer(&f.by_stored_id.resolved_at, g_date_time_unref);
	g_clear_pointer(&f.by_token.resolved_at, g_date_time_unref);
	g_clear_pointer(&f.by_subject_tag.resolved_at, g_date_time_unref);
	return rc;
}
