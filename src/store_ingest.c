/* The ingest side of the store: mailbox state, the per-UID log and attempts, duplicates,
 * threading, new tickets with their acknowledgement queued, and the quarantine. Runs inside the
 * transaction the ingest pass drives. */
#include "store_priv.h"

#include "commands.h"
#include "thread.h"

#include <string.h>

const char *store_outcome_name(enum ingest_outcome outcome)
{
	static const char *const names[] = {"ticket",	 "reply",	"duplicate",
					    "automatic", "quarantined", "taken"};

	return names[outcome];
}

int store_mailbox_sync(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       gboolean *changed_r, uint32_t *last_uid_r, struct errbuf *err)
{
	char uv[16];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	const char *p[] = {mailbox, uv};
	/* Insert or fetch in one statement; a changed UIDVALIDITY resets last_uid. */
	res = store_sql_run(
	    st, "mailbox_state",
	    "WITH old AS (SELECT uidvalidity, last_uid FROM mailbox_state WHERE mailbox = $1)"
	    " INSERT INTO mailbox_state AS s (mailbox, uidvalidity, last_uid)"
	    " VALUES ($1, $2::bigint, 0)"
	    " ON CONFLICT (mailbox) DO UPDATE SET"
	    "  uidvalidity = EXCLUDED.uidvalidity,"
	    "  last_uid = CASE WHEN s.uidvalidity = EXCLUDED.uidvalidity"
	    "             THEN s.last_uid ELSE 0 END,"
	    "  updated_at = now()"
	    " RETURNING s.last_uid,"
	    "  coalesce((SELECT uidvalidity FROM old) <> $2::bigint, false)",
	    2, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*last_uid_r = (uint32_t)store_sql_i64(res, 0, 0);
	*changed_r = PQgetvalue(res, 0, 1)[0] == 't';
	PQclear(res);
	return SPOC_OK;
}

int store_mailbox_advance(struct store *st, const char *mailbox, uint32_t uidvalidity,
			  uint32_t last_uid, struct errbuf *err)
{
	char uv[16], lu[16];

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	g_snprintf(lu, sizeof(lu), "%u", last_uid);
	const char *p[] = {mailbox, uv, lu};
	return store_sql_exec(st, "mailbox_state",
			      "UPDATE mailbox_state SET last_uid = greatest(last_uid, $3::bigint),"
			      " updated_at = now() WHERE mailbox = $1 AND uidvalidity = $2::bigint",
			      3, p, err);
}

static enum ingest_outcome outcome_from_name(const char *name)
{
	for (int o = INGEST_TICKET; o <= INGEST_QUARANTINED; o++)
		if (strcmp(name, store_outcome_name(o)) == 0)
			return o;
	return INGEST_DUPLICATE;
}

/* Advisory lock keys: a class for spocd's mailbox locks and the hash of the mailbox name. */
#define MAILBOX_LOCK_CLASS "1936749411" /* "spoc" */

int store_mailbox_lock(struct store *st, const char *mailbox, gboolean *got_r, struct errbuf *err)
{
	const char *p[] = {MAILBOX_LOCK_CLASS, mailbox};
	int rc = SPOC_OK;
	PGresult *res =
	    store_sql_run(st, "mailbox lock", "SELECT pg_try_advisory_lock($1::int, hashtext($2))",
			  2, p, NULL, &rc, err);

	if (res == NULL)
		return rc;
	*got_r = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return SPOC_OK;
}

void store_mailbox_unlock(struct store *st, const char *mailbox)
{
	const char *p[] = {MAILBOX_LOCK_CLASS, mailbox};
	int rc;

	PQclear(store_sql_run(st, "mailbox unlock",
			      "SELECT pg_advisory_unlock($1::int, hashtext($2))", 2, p, NULL, &rc,
			      NULL));
}

/* UIDs as a PostgreSQL array literal ("{1,2,3}"); caller frees. */
static char *uid_array(const uint32_t *uids, size_t n)
{
	GString *arr = g_string_new("{");

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(arr, "%s%u", i ? "," : "", uids[i]);
	g_string_append_c(arr, '}');
	return g_string_free(arr, FALSE);
}

/* Runs sql with $1 mailbox, $2 UIDVALIDITY, $3 the UIDs as bigint[]. */
static PGresult *run_uids(struct store *st, const char *what, const char *sql, const char *mailbox,
			  uint32_t uidvalidity, const uint32_t *uids, size_t n, int *rc_r,
			  struct errbuf *err)
{
	char uv[16], *arr = uid_array(uids, n);
	PGresult *res;

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	const char *p[] = {mailbox, uv, arr};
	res = store_sql_run(st, what, sql, 3, p, NULL, rc_r, err);
	g_free(arr);
	return res;
}

/* A table uid -> GINT_TO_POINTER(value(res, row)) of a (uid, ...) result, which it clears. */
static GHashTable *uid_map(PGresult *res, int (*value)(PGresult *, int))
{
	GHashTable *map = g_hash_table_new(g_direct_hash, g_direct_equal);

	for (int i = 0; i < PQntuples(res); i++)
		g_hash_table_insert(map, GUINT_TO_POINTER((guint)store_sql_i64(res, i, 0)),
				    GINT_TO_POINTER(value(res, i)));
	PQclear(res);
	return map;
}

static int attempts_value(PGresult *res, int row)
{
	return (int)store_sql_i64(res, row, 1);
}

/* outcome + 1, so that no outcome is the NULL pointer */
static int outcome_value(PGresult *res, int row)
{
	return (int)outcome_from_name(PQgetvalue(res, row, 1)) + 1;
}

int store_attempts_get(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       const uint32_t *uids, size_t n, GHashTable **attempts_r, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run_uids(st, "ingest_attempts",
				 "SELECT uid, attempts FROM ingest_attempts"
				 " WHERE mailbox = $1 AND uidvalidity = $2::bigint"
				 " AND uid = ANY($3::bigint[])",
				 mailbox, uidvalidity, uids, n, &rc, err);

	if (res == NULL)
		return rc;
	*attempts_r = uid_map(res, attempts_value);
	return SPOC_OK;
}

int store_attempts_mark(struct store *st, const char *mailbox, uint32_t uidvalidity,
			const uint32_t *uids, size_t n, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run_uids(st, "ingest_attempts",
				 "INSERT INTO ingest_attempts AS a (mailbox, uidvalidity, uid)"
				 " SELECT $1, $2::bigint, u FROM unnest($3::bigint[]) AS u"
				 " ON CONFLICT (mailbox, uidvalidity, uid) DO UPDATE"
				 " SET attempts = a.attempts + 1, last_attempt_at = now()",
				 mailbox, uidvalidity, uids, n, &rc, err);

	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}

int store_attempts_clear(struct store *st, const char *mailbox, uint32_t uidvalidity,
			 const uint32_t *uids, size_t n, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run_uids(st, "ingest_attempts",
				 "DELETE FROM ingest_attempts WHERE mailbox = $1"
				 " AND uidvalidity = $2::bigint AND uid = ANY($3::bigint[])",
				 mailbox, uidvalidity, uids, n, &rc, err);

	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}

int store_ingested_uids(struct store *st, const char *mailbox, uint32_t uidvalidity,
			const uint32_t *uids, size_t n, GHashTable **seen_r, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = run_uids(st, "ingest_log",
				 "SELECT uid, outcome FROM ingest_log"
				 " WHERE mailbox = $1 AND uidvalidity = $2::bigint"
				 " AND uid = ANY($3::bigint[])",
				 mailbox, uidvalidity, uids, n, &rc, err);

	if (res == NULL)
		return rc;
	*seen_r = uid_map(res, outcome_value);
	return SPOC_OK;
}

/* Stores the message's attachments: the bytes once per SHA-256 in blobs, one attachments row
 * each. */
static int insert_attachments(struct store *st, const char *message_row, const struct mail *m,
			      struct errbuf *err)
{
	for (guint i = 0; m->attachments != NULL && i < m->attachments->len; i++) {
		const struct mail_attachment *a = g_ptr_array_index(m->attachments, i);
		gsize size;
		const char *data = g_bytes_get_data(a->data, &size);
		char ord[16], sz[24];
		int rc = SPOC_OK;

		g_snprintf(ord, sizeof(ord), "%u", i + 1);
		g_snprintf(sz, sizeof(sz), "%" G_GSIZE_FORMAT, size);
		const char *bp[] = {a->sha256, sz, data != NULL ? data : ""};
		/* an empty attachment goes as text: "" is an empty bytea too */
		int blens[G_N_ELEMENTS(bp)] = {0, 0, (int)size};
		PGresult *res = store_sql_run(st, "blobs",
					      "INSERT INTO blobs (sha256, size, data)"
					      " VALUES ($1, $2::bigint, $3::bytea)"
					      " ON CONFLICT (sha256) DO NOTHING",
					      G_N_ELEMENTS(bp), bp, blens, &rc, err);

		if (res == NULL)
			return rc;
		PQclear(res);
		const char *ap[] = {message_row, ord,	    a->name,	   a->content_type,
				    sz,		 a->sha256, a->content_id, a->disposition,
				    a->origin,	 a->text};
		if ((rc = store_sql_exec(st, "attachments",
					 "INSERT INTO attachments (message_row, ordinal, name,"
					 " content_type, size, sha256, content_id, disposition,"
					 " origin, text) VALUES ($1::bigint, $2::integer, $3, $4,"
					 " $5::bigint, $6, $7, $8, $9, $10)",
					 G_N_ELEMENTS(ap), ap, err)) != SPOC_OK)
			return rc;
	}
	return SPOC_OK;
}

/* What the limits left out, one line each, for a text[] parameter. Caller frees. */
static char *left_out_lines(const struct mail *m)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; m->limits_hit != NULL && i < m->limits_hit->len; i++) {
		const struct mail_limit_hit *h = g_ptr_array_index(m->limits_hit, i);

		if (s->len > 0)
			g_string_append_c(s, '\n');
		g_string_append(s, h->detail);
	}
	return g_string_free(s, FALSE);
}

/* Inserts the incoming message row and its attachments; *id_r gets its id. ticket may be NULL
 * (no ticket). */
static int insert_message(struct store *st, const char *ticket, const char *raw, size_t raw_len,
			  const struct mail *m, const char *automatic, int64_t *id_r,
			  struct errbuf *err)
{
	char *refs = store_join_ids(NULL, m->references);
	char *date = m->date != NULL ? g_date_time_format_iso8601(m->date) : NULL;
	char *left_out = left_out_lines(m);
	int rc = SPOC_OK;
	PGresult *res;

	const char *p[] = {ticket,
			   m->message_id,
			   m->message_id_synthetic ? "t" : "f",
			   m->in_reply_to,
			   refs,
			   m->from.addr != NULL ? m->from.addr : "",
			   m->from.name != NULL ? m->from.name : "",
			   m->to_text,
			   m->cc_text,
			   m->subject,
			   date,
			   m->text,
			   raw,
			   m->sha256,
			   automatic,
			   m->text_new != NULL ? m->text_new : m->text,
			   m->text_quoted != NULL ? m->text_quoted : "",
			   m->text_signature != NULL ? m->text_signature : "",
			   m->body_source != NULL ? m->body_source : "text/plain",
			   left_out};
	int lens[G_N_ELEMENTS(p)] = {0};
	lens[12] = (int)raw_len;
	res = store_sql_run(
	    st, "messages",
	    "INSERT INTO messages (ticket_id, direction, message_id, message_id_synthetic,"
	    " in_reply_to, refs, from_addr, from_name, to_addrs, cc_addrs, subject, sent_at,"
	    " body_text, raw, raw_sha256, automatic, body_new, body_quoted, body_signature,"
	    " body_source, left_out)"
	    " VALUES ($1::bigint, 'in', $2, $3::boolean, $4,"
	    "  coalesce(string_to_array(nullif($5, ''), E'\\n'), '{}'), $6, $7, $8, $9, $10,"
	    "  $11::timestamptz, $12, $13::bytea, $14, $15, $16, $17, $18, $19,"
	    "  coalesce(string_to_array(nullif($20, ''), E'\\n'), '{}'))"
	    " RETURNING id",
	    G_N_ELEMENTS(p), p, lens, &rc, err);
	g_free(refs);
	g_free(date);
	g_free(left_out);
	if (res == NULL)
		return rc;
	*id_r = store_sql_i64(res, 0, 0);
	rc = insert_attachments(st, PQgetvalue(res, 0, 0), m, err);
	PQclear(res);
	return rc;
}

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

/* TRUE when addr (any case) is one of the desk's own addresses. */
static gboolean is_desk_address(const struct ingest_decision *d, const char *addr)
{
	for (size_t i = 0; d->desk_addresses != NULL && d->desk_addresses[i] != NULL; i++)
		if (g_ascii_strcasecmp(addr, d->desk_addresses[i]) == 0)
			return TRUE;
	return FALSE;
}

/* The requester, and the Cc'd people when the configuration makes them watchers, as the
 * participants of a new ticket; never the desk itself. */
static int add_participants(struct store *st, const char *ticket, const struct mail *m,
			    const struct ingest_decision *d, struct errbuf *err)
{
	int rc;
	const char *rp[] = {ticket, d->requester_addr,
			    d->requester_name != NULL ? d->requester_name : ""};

	if ((rc = store_sql_exec(st, "participants",
				 "INSERT INTO participants (ticket_id, address, name, role)"
				 " VALUES ($1::bigint, lower($2), $3, 'requester')"
				 " ON CONFLICT DO NOTHING",
				 3, rp, err)) != SPOC_OK)
		return rc;
	for (guint i = 0; d->cc_watchers && m->cc != NULL && i < m->cc->len; i++) {
		const struct mail_addr *a = g_ptr_array_index(m->cc, i);

		if (a->addr == NULL || strchr(a->addr, '@') == NULL || is_desk_address(d, a->addr))
			continue;
		const char *wp[] = {ticket, a->addr, a->name != NULL ? a->name : ""};
		if ((rc = store_sql_exec(st, "participants",
					 "INSERT INTO participants (ticket_id, address, name, role)"
					 " VALUES ($1::bigint, lower($2), $3, 'watcher')"
					 " ON CONFLICT DO NOTHING",
					 3, wp, err)) != SPOC_OK)
			return rc;
	}
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
	res = store_sql_run(
	    st, "threading",
	    "WITH ids AS (SELECT id, ord FROM unnest(string_to_array($1, E'\\n'))"
	    "              WITH ORDINALITY AS u(id, ord))"
	    " SELECT t.ticket_id FROM ("
	    "  SELECT m.ticket_id, ids.ord FROM messages m JOIN ids ON m.message_id = ids.id"
	    "   WHERE m.ticket_id IS NOT NULL AND NOT m.message_id_synthetic"
	    "  UNION ALL"
	    "  SELECT o.ticket_id, ids.ord FROM outbox o JOIN ids ON o.message_id = ids.id"
	    " ) t ORDER BY t.ord LIMIT 1",
	    1, p, NULL, &rc, err);
	g_free(joined);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0)
		*ticket_r = store_sql_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

static int finish_log(struct store *st, const char *log_id, const char *outcome,
		      int64_t message_row, int64_t ticket_id, const char *detail,
		      struct errbuf *err)
{
	char mr[24], tk[24];

	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, message_row);
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket_id);
	const char *p[] = {log_id, outcome, message_row ? mr : NULL, ticket_id ? tk : NULL,
			   detail != NULL ? detail : ""};
	return store_sql_exec(st, "ingest_log",
			      "UPDATE ingest_log SET outcome = $2, message_row = $3::bigint,"
			      " ticket_id = $4::bigint, detail = $5 WHERE id = $1::bigint",
			      5, p, err);
}

/* Claims (mailbox, uidvalidity, uid) in ingest_log. *log_id_r is "" when the key was already
 * taken (an earlier run, or a concurrent worker that committed first). */
static int claim_uid(struct store *st, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     const char *sha256, const char *outcome, char log_id_r[24], struct errbuf *err)
{
	char uv[16], u[16];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	g_snprintf(u, sizeof(u), "%u", uid);
	const char *p[] = {mailbox, uv, u, sha256, outcome};
	res =
	    store_sql_run(st, "ingest_log",
			  "INSERT INTO ingest_log (mailbox, uidvalidity, uid, raw_sha256, outcome)"
			  " VALUES ($1, $2::bigint, $3::bigint, $4, $5)"
			  " ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING RETURNING id",
			  5, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	g_strlcpy(log_id_r, PQntuples(res) > 0 ? PQgetvalue(res, 0, 0) : "", 24);
	PQclear(res);
	return SPOC_OK;
}

static int create_ticket(struct store *st, const struct mail *m, const struct ingest_decision *d,
			 struct ingest_result *res_r, struct errbuf *err)
{
	/* without Re:/Fwd: and without other tickets' tags: a later reply must name this ticket
	 * only, and a stranger's mail never echoes another ticket's number back */
	char *subject = thread_subject_base(m->subject);
	char prio[4], imp[4], urg[4], frd[24], rsd[24];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(prio, sizeof(prio), "%d", d->priority > 0 ? d->priority : 3);
	g_snprintf(imp, sizeof(imp), "%d", d->impact > 0 ? d->impact : 3);
	g_snprintf(urg, sizeof(urg), "%d", d->urgency > 0 ? d->urgency : 3);
	g_snprintf(frd, sizeof(frd), "%" G_GINT64_FORMAT, d->first_response_due);
	g_snprintf(rsd, sizeof(rsd), "%" G_GINT64_FORMAT, d->resolution_due);
	const char *p[] = {conf_kind_name(d->kind),
			   d->kind_rule != NULL ? d->kind_rule : "",
			   subject,
			   d->requester_addr,
			   d->requester_name != NULL ? d->requester_name : "",
			   d->language,
			   prio,
			   imp,
			   urg,
			   d->priority_rule != NULL ? d->priority_rule : "",
			   d->triage ? "t" : "f",
			   d->first_response_due > 0 ? frd : NULL,
			   d->resolution_due > 0 ? rsd : NULL};
	res = store_sql_run(
	    st, "tickets",
	    "INSERT INTO tickets (kind, kind_rule, subject, requester, requester_name, language,"
	    " priority, impact, urgency, priority_rule, triage, first_response_due,"
	    " resolution_due)"
	    " VALUES ($1, $2, $3, lower($4), $5, $6, $7::smallint, $8::smallint, $9::smallint, $10,"
	    "  $11::boolean, to_timestamp($12::bigint), to_timestamp($13::bigint))"
	    " RETURNING id, display",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	g_free(subject);
	if (res == NULL)
		return rc;
	res_r->ticket_id = store_sql_i64(res, 0, 0);
	g_strlcpy(res_r->ticket_number, PQgetvalue(res, 0, 1), sizeof(res_r->ticket_number));
	rc = add_participants(st, PQgetvalue(res, 0, 0), m, d, err);
	PQclear(res);
	return rc;
}

/* A notification of kind for ticket, answering message_row, to recipient: rate-limited
 * (kept as 'held' with the reason) unless it relays a person's reply. *id_r and *held_r may be
 * NULL. */
struct notice {
	const char *kind; /* "ack", "agent-reply", "follow-up", "command-result" */
	int64_t ticket_id;
	int64_t message_row;
	const char *recipient;
	const char *recipient_name;
	const char *language;
	const char *body;   /* the text to relay, "" for an acknowledgement */
	const char *author; /* whose text it is */
	int64_t agent_id;   /* the agent it is for or from, 0: none */
};

static int queue_notice(struct store *st, const struct ingest_decision *d, const struct notice *n,
			int64_t *id_r, gboolean *held_r, struct errbuf *err)
{
	char tk[24], mr[24], hour[16], day[16], tday[16];
	/* HMAC-tagged: a reply naming it proves which ticket it answers (thread.c) */
	char *mid = thread_mint_message_id(d->keys, n->ticket_id, d->message_id_domain);
	char ag[24];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, n->ticket_id);
	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, n->message_row);
	g_snprintf(ag, sizeof(ag), "%" G_GINT64_FORMAT, n->agent_id);

	g_snprintf(hour, sizeof(hour), "%d", d->rate != NULL ? d->rate->per_recipient_hour : 0);
	g_snprintf(day, sizeof(day), "%d", d->rate != NULL ? d->rate->per_recipient_day : 0);
	g_snprintf(tday, sizeof(tday), "%d", d->rate != NULL ? d->rate->per_ticket_day : 0);
	const char *p[] = {tk,
			   n->message_row != 0 ? mr : NULL,
			   n->recipient,
			   n->recipient_name != NULL ? n->recipient_name : "",
			   n->language,
			   mid,
			   hour,
			   day,
			   tday,
			   n->kind,
			   n->body != NULL ? n->body : "",
			   n->author != NULL ? n->author : "",
			   n->agent_id != 0 ? ag : NULL};
	/* Over a limit the row is kept as 'held' with the reason: never sent, never lost. The
	 * counts take automatic kinds only; a person's relayed reply is not automatic. */
	res = store_sql_run(
	    st, "outbox",
	    "WITH c AS (SELECT"
	    "  (SELECT count(*) FROM outbox WHERE lower(recipient) = lower($3)"
	    "    AND kind <> 'agent-reply' AND state <> 'held'"
	    "    AND created_at > now() - interval '1 hour') AS hour,"
	    "  (SELECT count(*) FROM outbox WHERE lower(recipient) = lower($3)"
	    "    AND kind <> 'agent-reply' AND state <> 'held'"
	    "    AND created_at > now() - interval '1 day') AS day,"
	    "  (SELECT count(*) FROM outbox WHERE ticket_id = $1::bigint"
	    "    AND kind <> 'agent-reply' AND state <> 'held'"
	    "    AND created_at > now() - interval '1 day') AS tday),"
	    " r AS (SELECT CASE"
	    "  WHEN $10 = 'agent-reply' THEN NULL"
	    "  WHEN $7::int > 0 AND c.hour >= $7::int THEN"
	    "   'rate limit: already ' || c.hour || ' automatic mails to this address in the last"
	    " hour (rate_limits.per_recipient_hour = ' || $7 || ')'"
	    "  WHEN $8::int > 0 AND c.day >= $8::int THEN"
	    "   'rate limit: already ' || c.day || ' automatic mails to this address in the last"
	    " day (rate_limits.per_recipient_day = ' || $8 || ')'"
	    "  WHEN $9::int > 0 AND c.tday >= $9::int THEN"
	    "   'rate limit: already ' || c.tday || ' automatic mails on this ticket in the last"
	    " day (rate_limits.per_ticket_day = ' || $9 || ')'"
	    "  END AS why FROM c)"
	    " INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient,"
	    " recipient_name, language, message_id, state, last_error, body, author, agent_id)"
	    " SELECT $10, $1::bigint, $2::bigint, $3, $4, $5, $6,"
	    "  CASE WHEN r.why IS NULL THEN 'pending' ELSE 'held' END, coalesce(r.why, ''),"
	    "  $11, $12, $13::bigint"
	    " FROM r RETURNING id, state = 'held'",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	g_free(mid);
	if (res == NULL)
		return rc;
	if (held_r != NULL)
		*held_r = strcmp(PQgetvalue(res, 0, 1), "t") == 0;
	if (id_r != NULL)
		*id_r = store_sql_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

static int queue_ack(struct store *st, const struct ingest_decision *d, int64_t message_row,
		     struct ingest_result *res_r, struct errbuf *err)
{
	const struct notice n = {.kind = "ack",
				 .ticket_id = res_r->ticket_id,
				 .message_row = message_row,
				 .recipient = d->requester_addr,
				 .recipient_name = d->requester_name,
				 .language = d->language};

	return queue_notice(st, d, &n, &res_r->outbox_id, &res_r->held, err);
}

/* Ties a bounce back to the notification it is about (by the returned Message-ID), marks that
 * outbox row bounced, and counts the failure against each failed address (a delay does not
 * mark an address as bouncing). *ticket_r is that notification's ticket, 0 when none. */
static int bounce_record(struct store *st, const struct bounce_report *b, int64_t *ticket_r,
			 struct errbuf *err)
{
	char *recipients = store_join_ids(NULL, b->recipients);
	char *reason = g_strdup_printf("%s%s%s", b->status != NULL ? b->status : "",
				       b->status != NULL && b->diagnostic != NULL ? " " : "",
				       b->diagnostic != NULL ? b->diagnostic : "");
	int rc = SPOC_OK;
	PGresult *res;

	*ticket_r = 0;
	const char *p[] = {b->original_message_id, reason, recipients, b->permanent ? "t" : "f"};
	res = store_sql_run(
	    st, "bounce",
	    "WITH o AS (UPDATE outbox SET bounced_at = now(), bounce_reason = $2"
	    "  WHERE $1::text IS NOT NULL AND message_id = $1 AND $4::boolean"
	    "  RETURNING ticket_id),"
	    " a AS (INSERT INTO address_status AS s (address, bouncing, bounces, last_bounce_at,"
	    "   last_reason)"
	    "  SELECT lower(r), $4::boolean, 1, now(), $2"
	    "   FROM unnest(string_to_array(nullif($3, ''), E'\\n')) AS r"
	    "  ON CONFLICT (address) DO UPDATE SET bounces = s.bounces + 1,"
	    "   bouncing = s.bouncing OR excluded.bouncing, last_bounce_at = now(),"
	    "   last_reason = excluded.last_reason RETURNING 1)"
	    " SELECT coalesce((SELECT ticket_id FROM o LIMIT 1),"
	    "  (SELECT ticket_id FROM outbox WHERE $1::text IS NOT NULL AND message_id = $1),"
	    "  0), (SELECT count(*) FROM a)",
	    4, p, NULL, &rc, err);
	g_free(recipients);
	g_free(reason);
	if (res == NULL)
		return rc;
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

/* The ticket a verified reply token in a recipient address (desk+TOKEN@) names; 0 when none. */
static int64_t token_ticket(const struct mail *m, const struct ingest_decision *d, int64_t *agent_r)
{
	const GPtrArray *lists[] = {m->to, m->cc};
	int64_t ticket = 0, agent = 0;

	*agent_r = 0;
	for (size_t l = 0; d->keys != NULL && l < G_N_ELEMENTS(lists); l++)
		for (guint i = 0; lists[l] != NULL && i < lists[l]->len; i++) {
			const struct mail_addr *a = g_ptr_array_index(lists[l], i);
			char *token = a->addr != NULL
					  ? thread_token_from_address(a->addr, d->desk_addresses)
					  : NULL;
			gboolean ok = token != NULL &&
				      thread_verify_reply_token(d->keys, token, &ticket, &agent);

			g_free(token);
			if (ok) {
				*agent_r = agent;
				return ticket;
			}
		}
	return 0;
}

static enum thread_status status_from_name(const char *name)
{
	static const char *const names[] = {"new", "in-progress", "pending", "resolved", "closed"};

	for (size_t i = 0; i < G_N_ELEMENTS(names); i++)
		if (strcmp(name, names[i]) == 0)
			return (enum thread_status)i;
	return THREAD_CLOSED; /* unknown: treat as final */
}

/* Who sent the mail, as far as agents go: the active agent the From names (0: none), whether
 * the border MTA proved that From, and the reply token the mail came through. */
struct sender {
	int64_t agent_id;
	char *agent_name;
	gboolean proven;
	int64_t token_ticket, token_agent;
};

static int sender_find(struct store *st, const struct mail *m, const struct ingest_decision *d,
		       struct sender *who, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res;

	memset(who, 0, sizeof(*who));
	who->proven = d->from_proven;
	who->token_ticket = token_ticket(m, d, &who->token_agent);
	if (m->from.addr == NULL)
		return SPOC_OK;
	const char *p[] = {m->from.addr};
	res = store_sql_run(st, "agents",
			    "SELECT id, CASE WHEN name = '' THEN address ELSE name END FROM agents"
			    " WHERE address = lower($1) AND active",
			    1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0) {
		who->agent_id = store_sql_i64(res, 0, 0);
		who->agent_name = g_strdup(PQgetvalue(res, 0, 1));
	}
	PQclear(res);
	return SPOC_OK;
}

/* Fills what thread_decide() needs to know about one ticket: its status, when it was resolved,
 * and whether the sender is one of its participants. */
static int candidate_fill(struct store *st, int64_t ticket, const struct mail *m,
			  const struct sender *who, struct thread_candidate *c, struct errbuf *err)
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
		c->sender_is_participant = strcmp(PQgetvalue(res, 0, 2), "t") == 0;
		/* Agent authority needs proof (this agent's reply token for this ticket, or aligned
		 * DKIM/DMARC from the trusted authserv-id); a From that names an agent is not. */
		c->sender_is_agent =
		    who->agent_id != 0 && (who->proven || (who->token_agent == who->agent_id &&
							   who->token_ticket == ticket));
	}
	PQclear(res);
	return SPOC_OK;
}

/* Where the mail belongs, decided by thread_decide() from what the database knows. */
static int thread_find(struct store *st, const struct mail *m, const struct ingest_decision *d,
		       const struct sender *who, struct thread_verdict *v, struct errbuf *err)
{
	struct thread_facts f = {0};
	int64_t stored = 0, tagged = 0;
	int rc;

	if ((rc = find_thread(st, m, &stored, err)) != SPOC_OK ||
	    (rc = find_tagged(st, d->subject_tag, &tagged, err)) != SPOC_OK)
		return rc;
	if ((rc = candidate_fill(st, minted_ticket(m, d), m, who, &f.by_minted_id, err)) ==
		SPOC_OK &&
	    (rc = candidate_fill(st, stored, m, who, &f.by_stored_id, err)) == SPOC_OK &&
	    (rc = candidate_fill(st, who->token_ticket, m, who, &f.by_token, err)) == SPOC_OK)
		rc = candidate_fill(st, tagged, m, who, &f.by_subject_tag, err);
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

/* Forgets who is acting: the settings are local to the batch's transaction, and the next
 * message's changes are not this sender's. */
static int actor_reset(struct store *st, struct errbuf *err)
{
	return store_sql_exec(st, "actor",
			      "SELECT set_config('spocd.actor', '', true),"
			      " set_config('spocd.via', '', true),"
			      " set_config('spocd.message_row', '', true)",
			      0, NULL, err);
}

/* Runs one statement as the agent, by email, for the audit trail; PGresult or NULL. */
static PGresult *as_agent(struct store *st, const char *agent_addr, const char *message_row,
			  const char *sql, const char *a1, const char *a2, int *rc_r,
			  struct errbuf *err)
{
	char *full = g_strconcat("WITH who AS (SELECT set_config('spocd.actor', $3, true),"
				 " set_config('spocd.via', 'email', true),"
				 " set_config('spocd.message_row', $4, true)) ",
				 sql, NULL);
	const char *p[] = {a1, a2, agent_addr, message_row};
	PGresult *res = store_sql_run(st, "agent command", full, 4, p, NULL, rc_r, err);

	g_free(full);
	return res;
}

/* The statements of the commands that set one column of the ticket, by enum command_kind. */
static const char *const set_sql[] = {
    [COMMAND_STATUS] = "UPDATE tickets SET status = $2 WHERE id = $1::bigint"
		       " AND (SELECT count(*) FROM who) = 1",
    [COMMAND_PRIORITY] = "UPDATE tickets SET priority = $2::smallint WHERE id = $1::bigint"
			 " AND (SELECT count(*) FROM who) = 1",
    [COMMAND_KIND] = "UPDATE tickets SET kind = $2 WHERE id = $1::bigint"
		     " AND (SELECT count(*) FROM who) = 1",
};

/* Applies an authenticated agent's commands on ticket, all or none (a savepoint), and says what
 * happened, one line each, into results. */
static int apply_commands(struct store *st, const struct command_block *b, const char *ticket,
			  const char *agent_addr, const char *message_row, gboolean es,
			  GString *results, struct errbuf *err)
{
	struct errbuf why = {{0}};
	int rc;

	if ((rc = store_sql_exec(st, "SAVEPOINT", "SAVEPOINT spoc_commands", 0, NULL, err)) !=
	    SPOC_OK)
		return rc;
	for (guint i = 0; i < b->commands->len && why.msg[0] == '\0'; i++) {
		const struct command *c = g_ptr_array_index(b->commands, i);
		PGresult *res = NULL;
		int crc = SPOC_OK;

		switch (c->kind) {
		case COMMAND_STATUS:
		case COMMAND_PRIORITY:
		case COMMAND_KIND:
			res = as_agent(st, agent_addr, message_row, set_sql[c->kind], ticket,
				       c->value, &crc, &why);
			break;
		case COMMAND_ASSIGN:
			/* by address, name or local part; the ticket takes the agent's team */
			res = as_agent(st, agent_addr, message_row,
				       "UPDATE tickets t SET (assignee_id, team) = (a.id,"
				       "  CASE WHEN a.team = '' THEN t.team ELSE a.team END)"
				       " FROM (SELECT id, team FROM agents WHERE active"
				       "  AND (address = lower($2) OR lower(name) = lower($2)"
				       "   OR split_part(address, '@', 1) = lower($2))"
				       "  ORDER BY address LIMIT 1) a"
				       " WHERE t.id = $1::bigint AND (SELECT count(*) FROM who) = 1"
				       " RETURNING t.id",
				       ticket, c->value, &crc, &why);
			if (res != NULL && PQntuples(res) == 0)
				g_snprintf(why.msg, sizeof(why.msg),
					   es ? "%s: no hay ningún agente activo \"%s\""
					      : "%s: no active agent \"%s\"",
					   c->line, c->value);
			break;
		case COMMAND_INTERNAL:
			res =
			    as_agent(st, agent_addr, message_row,
				     "UPDATE messages SET internal = true WHERE id = $2::bigint"
				     " AND $1::text IS NOT NULL AND (SELECT count(*) FROM who) = 1",
				     ticket, message_row, &crc, &why);
			break;
		}
		if (res == NULL && crc == SPOC_ETEMP) {
			g_strlcpy(err->msg, why.msg, sizeof(err->msg));
			return SPOC_ETEMP;
		}
		if (res == NULL) {
			/* a refused move ("status cannot go from closed to ..."): say it as is */
			char *line = g_strdup_printf("%s: %s", c->line, why.msg);

			g_strlcpy(why.msg, line, sizeof(why.msg));
			g_free(line);
		}
		PQclear(res);
		if (why.msg[0] == '\0')
			g_string_append_printf(results, "%s: %s\n", c->line, es ? "hecho" : "done");
	}
	if (why.msg[0] != '\0') {
		g_string_truncate(results, 0);
		g_string_append_printf(results, "%s\n%s\n", why.msg,
				       es ? "No se ha cambiado nada del ticket."
					  : "Nothing on the ticket was changed.");
		return store_sql_exec(st, "ROLLBACK TO SAVEPOINT",
				      "ROLLBACK TO SAVEPOINT spoc_commands", 0, NULL, err);
	}
	return store_sql_exec(st, "RELEASE SAVEPOINT", "RELEASE SAVEPOINT spoc_commands", 0, NULL,
			      err);
}

/* Queues one notice to every participant of ticket (requester and watchers). */
static int notify_participants(struct store *st, const struct ingest_decision *d,
			       const struct notice *base, struct errbuf *err)
{
	char tk[24];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, base->ticket_id);
	const char *p[] = {tk};
	res = store_sql_run(st, "participants",
			    "SELECT p.address, p.name, t.language FROM participants p"
			    " JOIN tickets t ON t.id = p.ticket_id WHERE p.ticket_id = $1::bigint"
			    " ORDER BY p.role DESC, p.address",
			    1, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res) && rc == SPOC_OK; i++) {
		struct notice n = *base;

		n.recipient = PQgetvalue(res, i, 0);
		n.recipient_name = PQgetvalue(res, i, 1);
		n.language = PQgetvalue(res, i, 2);
		rc = queue_notice(st, d, &n, NULL, NULL, err);
	}
	PQclear(res);
	return rc;
}

/* What a reply on a ticket sets off: an authenticated agent's commands are applied and answered,
 * and their text relayed to the participants (unless #internal); a participant's reply is
 * forwarded to the assignee. An agent whose mail is not proven theirs is told why nothing ran. */
static int after_reply(struct store *st, const struct mail *m, const struct ingest_decision *d,
		       const struct sender *who, int64_t ticket, int64_t message_row,
		       struct errbuf *err)
{
	gboolean es = d->desk_language != NULL && strcmp(d->desk_language, "es") == 0;
	gboolean authenticated =
	    who->agent_id != 0 &&
	    (who->proven || (who->token_agent == who->agent_id && who->token_ticket == ticket));
	struct command_block b = {0};
	GString *results = g_string_new(NULL);
	char tk[24], mr[24];
	int rc = SPOC_OK;

	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket);
	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, message_row);
	commands_parse(m->text_new != NULL ? m->text_new : "", es ? "es" : "en", &b);
	if (who->agent_id != 0 && !authenticated) {
		{
			const struct notice n = {
			    .kind = "command-result",
			    .ticket_id = ticket,
			    .message_row = message_row,
			    .recipient = m->from.addr,
			    .recipient_name = who->agent_name,
			    .language = es ? "es" : "en",
			    .agent_id = who->agent_id,
			    .author = who->agent_name,
			    .body =
				es ? "No se ha ejecutado ningún comando: no se ha podido comprobar "
				     "que el mensaje sea suyo (responda al aviso que recibió del "
				     "ticket)."
				   : "No command was run: the message could not be proven to be "
				     "yours (reply to the notification you received for the "
				     "ticket)."};
			rc = queue_notice(st, d, &n, NULL, NULL, err);
		}
		goto out;
	}
	if (authenticated) {
		gboolean internal = FALSE;

		for (guint i = 0; i < b.commands->len; i++)
			internal |= ((struct command *)g_ptr_array_index(b.commands, i))->kind ==
				    COMMAND_INTERNAL;
		for (guint i = 0; i < b.errors->len; i++)
			g_string_append_printf(results, "%s\n",
					       (char *)g_ptr_array_index(b.errors, i));
		if (b.commands->len > 0 && (rc = apply_commands(st, &b, tk, m->from.addr, mr, es,
								results, err)) != SPOC_OK)
			goto out;
		if (!internal && b.rest[0] != '\0') {
			const struct notice n = {.kind = "agent-reply",
						 .ticket_id = ticket,
						 .message_row = message_row,
						 .body = b.rest,
						 .author = who->agent_name,
						 .agent_id = who->agent_id};
			const char *fp[] = {tk};

			if ((rc = notify_participants(st, d, &n, err)) != SPOC_OK ||
			    (rc = store_sql_exec(
				 st, "tickets",
				 "UPDATE tickets SET first_response_at = now()"
				 " WHERE id = $1::bigint AND first_response_at IS NULL",
				 1, fp, err)) != SPOC_OK)
				goto out;
		}
		while (results->len > 0 && results->str[results->len - 1] == '\n')
			g_string_truncate(results, results->len - 1);
		if (results->len > 0) {
			const struct notice n = {.kind = "command-result",
						 .ticket_id = ticket,
						 .message_row = message_row,
						 .recipient = m->from.addr,
						 .recipient_name = who->agent_name,
						 .language = es ? "es" : "en",
						 .agent_id = who->agent_id,
						 .author = who->agent_name,
						 .body = results->str};
			rc = queue_notice(st, d, &n, NULL, NULL, err);
		}
		goto out;
	}
	{
		/* a participant's reply goes to the assignee, or to the ticket's team when nobody
		 * has it yet */
		const char *p[] = {tk};
		PGresult *res = store_sql_run(
		    st, "tickets",
		    "SELECT a.id, a.address, CASE WHEN a.name = '' THEN a.address ELSE a.name END"
		    " FROM tickets t JOIN agents a ON a.active AND (a.id = t.assignee_id OR"
		    "  (t.assignee_id IS NULL AND t.team <> '' AND a.team = t.team))"
		    " WHERE t.id = $1::bigint ORDER BY a.address",
		    1, p, NULL, &rc, err);

		if (res == NULL)
			goto out;
		for (int i = 0; i < PQntuples(res) && rc == SPOC_OK; i++) {
			const struct notice n = {.kind = "follow-up",
						 .ticket_id = ticket,
						 .message_row = message_row,
						 .recipient = PQgetvalue(res, i, 1),
						 .recipient_name = PQgetvalue(res, i, 2),
						 .language = es ? "es" : "en",
						 .body = m->text_new,
						 .author = m->from.name != NULL ? m->from.name
										: m->from.addr,
						 .agent_id = store_sql_i64(res, i, 0)};
			rc = queue_notice(st, d, &n, NULL, NULL, err);
		}
		PQclear(res);
	}
out:
	command_block_clear(&b);
	g_string_free(results, TRUE);
	if (rc == SPOC_OK)
		rc = actor_reset(st, err);
	return rc;
}

static int record_threaded(struct store *st, const char *raw, size_t raw_len,
			   const struct mail *mail, const struct ingest_decision *d,
			   const struct sender *who, struct thread_verdict *v,
			   struct ingest_result *res_r, int64_t *message_row_r,
			   const char **detail_r, struct errbuf *err);

/* Records one parsed mail (duplicate check, threading, ticket, acknowledgement) in the caller's
 * transaction, without any ingest_log row: res_r gets the outcome, *message_row_r the message row
 * it became or duplicates (0 if none), *detail_r the reason for the log (static or borrowed). */
static int record_mail(struct store *st, const char *raw, size_t raw_len, const struct mail *mail,
		       const struct ingest_decision *d, struct ingest_result *res_r,
		       int64_t *message_row_r, const char **detail_r, struct errbuf *err)
{
	struct thread_verdict verdict;
	struct sender who;
	int rc = SPOC_OK;
	PGresult *res;

	*message_row_r = 0;
	*detail_r = NULL;
	/* The same bytes, or the same real Message-ID, taken before (from another UID, another
	 * mailbox or a redelivery): nothing new to record. */
	const char *dp[] = {mail->sha256, mail->message_id_synthetic ? NULL : mail->message_id};
	res = store_sql_run(
	    st, "duplicate check",
	    "SELECT m.id, coalesce(m.ticket_id, 0), coalesce(t.display, '') FROM messages m"
	    " LEFT JOIN tickets t ON t.id = m.ticket_id"
	    " WHERE m.direction = 'in' AND (m.raw_sha256 = $1 OR"
	    "  ($2::text IS NOT NULL AND m.message_id = $2 AND NOT m.message_id_synthetic))"
	    " ORDER BY m.id LIMIT 1",
	    2, dp, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0) {
		res_r->outcome = INGEST_DUPLICATE;
		res_r->ticket_id = store_sql_i64(res, 0, 1);
		g_strlcpy(res_r->ticket_number, PQgetvalue(res, 0, 2),
			  sizeof(res_r->ticket_number));
		*message_row_r = store_sql_i64(res, 0, 0);
		*detail_r = "same raw bytes or Message-ID as an earlier message";
		PQclear(res);
		return SPOC_OK;
	}
	PQclear(res);

	if ((rc = sender_find(st, mail, d, &who, err)) != SPOC_OK)
		return rc;
	rc = thread_find(st, mail, d, &who, &verdict, err);
	if (rc == SPOC_OK)
		rc = record_threaded(st, raw, raw_len, mail, d, &who, &verdict, res_r,
				     message_row_r, detail_r, err);
	g_free(who.agent_name);
	return rc;
}

/* record_mail() once the sender and the thread are known. */
static int record_threaded(struct store *st, const char *raw, size_t raw_len,
			   const struct mail *mail, const struct ingest_decision *d,
			   const struct sender *who, struct thread_verdict *v,
			   struct ingest_result *res_r, int64_t *message_row_r,
			   const char **detail_r, struct errbuf *err)
{
	struct thread_verdict verdict = *v;
	char tk[24];
	int64_t thread = 0;
	int rc = SPOC_OK;
	PGresult *res;

	if (d->bounce != NULL) {
		int64_t bounced_ticket = 0;

		if ((rc = bounce_record(st, d->bounce, &bounced_ticket, err)) != SPOC_OK)
			return rc;
		/* the failure belongs with the ticket whose notification bounced */
		if (bounced_ticket != 0) {
			verdict.action = THREAD_ATTACH;
			verdict.ticket_id = bounced_ticket;
		}
	}
	/* Automatic mail (an out-of-office, our own notification coming back) is recorded on the
	 * ticket it names, whoever sent it: nothing is ever sent because of it, so it opens no way
	 * into the ticket; and it never reopens one or opens a follow-up. */
	if (d->automatic_why != NULL && verdict.action == THREAD_REOPEN)
		verdict.action = THREAD_ATTACH;
	if (d->automatic_why != NULL && verdict.action == THREAD_NEW_LINKED) {
		verdict.action = THREAD_ATTACH;
		verdict.ticket_id = verdict.link_ticket_id;
	}
	/* Mail from an agent's address that could not be proven theirs is kept on the ticket it
	 * names as an ordinary message: nothing in it runs or reaches the requester, and the
	 * agent is told why (after_reply). */
	if (who->agent_id != 0 && verdict.action == THREAD_NEW_LINKED &&
	    strcmp(verdict.link_kind, THREAD_LINK_POSSIBLY_RELATED) == 0) {
		verdict.action = THREAD_ATTACH;
		verdict.ticket_id = verdict.link_ticket_id;
		verdict.why = "from an agent's address, not proven: kept as an ordinary message";
	}
	if (verdict.action == THREAD_ATTACH || verdict.action == THREAD_REOPEN) {
		thread = verdict.ticket_id;
		g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, thread);
		if ((rc = insert_message(st, tk, raw, raw_len, mail, d->automatic_why,
					 message_row_r, err)) != SPOC_OK)
			return rc;
		/* A requester's answer to a ticket pending on them moves it on (ITIL: the wait is
		 * over); an agent's own mail never changes the status except by command. */
		const char *tp[] = {tk, verdict.action == THREAD_REOPEN ? "t" : "f",
				    mail->from.addr,
				    d->automatic_why == NULL && who->agent_id == 0 ? "t" : "f"};
		res = store_sql_run(
		    st, "tickets",
		    "WITH who AS (SELECT set_config('spocd.actor', coalesce($3, ''), true),"
		    "  set_config('spocd.via', 'email', true))"
		    " UPDATE tickets SET updated_at = now(), status = CASE WHEN $2::boolean"
		    "  THEN 'in-progress' WHEN $4::boolean AND status = 'pending' THEN "
		    "'in-progress'"
		    "  ELSE status END"
		    " WHERE id = $1::bigint AND (SELECT count(*) FROM who) = 1 RETURNING display",
		    4, tp, NULL, &rc, err);
		if (res == NULL)
			return rc;
		res_r->ticket_id = thread;
		g_strlcpy(res_r->ticket_number, PQntuples(res) ? PQgetvalue(res, 0, 0) : "",
			  sizeof(res_r->ticket_number));
		PQclear(res);
		if ((rc = actor_reset(st, err)) != SPOC_OK)
			return rc;
		res_r->outcome = d->automatic_why != NULL ? INGEST_AUTOMATIC : INGEST_REPLY;
		*detail_r = d->automatic_why != NULL ? d->automatic_why : verdict.why;
		if (d->automatic_why != NULL)
			return SPOC_OK;
		return after_reply(st, mail, d, who, thread, *message_row_r, err);
	}

	if (d->automatic_why != NULL) {
		res_r->outcome = INGEST_AUTOMATIC;
		*detail_r = d->automatic_why;
		return insert_message(st, NULL, raw, raw_len, mail, d->automatic_why, message_row_r,
				      err);
	}

	if ((rc = create_ticket(st, mail, d, res_r, err)) != SPOC_OK)
		return rc;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, res_r->ticket_id);
	if ((rc = insert_message(st, tk, raw, raw_len, mail, NULL, message_row_r, err)) !=
		SPOC_OK ||
	    (rc = queue_ack(st, d, *message_row_r, res_r, err)) != SPOC_OK)
		return rc;
	if (verdict.action == THREAD_NEW_LINKED) {
		char linked[24];

		g_snprintf(linked, sizeof(linked), "%" G_GINT64_FORMAT, verdict.link_ticket_id);
		const char *lp[] = {tk, linked, verdict.link_kind};
		if ((rc = store_sql_exec(
			 st, "ticket_links",
			 "INSERT INTO ticket_links (ticket_id, linked_ticket_id, kind)"
			 " VALUES ($1::bigint, $2::bigint, $3) ON CONFLICT DO NOTHING",
			 3, lp, err)) != SPOC_OK)
			return rc;
	}
	res_r->outcome = INGEST_TICKET;
	*detail_r = verdict.action == THREAD_NEW_LINKED ? verdict.why : d->kind_rule;
	/* an agent whose mail could not be proven theirs is told why their commands did not run */
	if (who->agent_id != 0 && !who->proven)
		return after_reply(st, mail, d, who, res_r->ticket_id, *message_row_r, err);
	return SPOC_OK;
}

int store_ingest_mail(struct store *st, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		      const char *raw, size_t raw_len, const struct mail *mail,
		      const struct ingest_decision *d, struct ingest_result *res_r,
		      struct errbuf *err)
{
	char log_id[24];
	int64_t message_row = 0;
	const char *detail = NULL;
	int rc = SPOC_OK;

	memset(res_r, 0, sizeof(*res_r));
	if ((rc = claim_uid(st, mailbox, uidvalidity, uid, mail->sha256, "duplicate", log_id,
			    err)) != SPOC_OK)
		return rc;
	if (log_id[0] == '\0') {
		res_r->outcome = INGEST_TAKEN;
		return SPOC_OK;
	}
	if ((rc = record_mail(st, raw, raw_len, mail, d, res_r, &message_row, &detail, err)) !=
	    SPOC_OK)
		return rc;
	return finish_log(st, log_id, store_outcome_name(res_r->outcome), message_row,
			  res_r->ticket_id, detail, err);
}

int store_secret(struct store *st, const char *name, char **value_r, struct errbuf *err)
{
	const char *p[] = {name};
	int rc = SPOC_OK;
	PGresult *res =
	    store_sql_run(st, "spocd_secrets", "SELECT value FROM spocd_secrets WHERE name = $1", 1,
			  p, NULL, &rc, err);

	*value_r = NULL;
	if (res == NULL)
		return rc;
	if (PQntuples(res) == 0) {
		PQclear(res);
		return errbuf_set(err, SPOC_ETEMP, "spocd_secrets: no secret \"%s\" (migrations?)",
				  name);
	}
	*value_r = g_strdup(PQgetvalue(res, 0, 0));
	PQclear(res);
	return SPOC_OK;
}

int store_record_mail(struct store *st, const char *raw, size_t raw_len, const struct mail *mail,
		      const struct ingest_decision *d, struct ingest_result *res,
		      int64_t *message_row_r, struct errbuf *err)
{
	const char *detail;

	memset(res, 0, sizeof(*res));
	return record_mail(st, raw, raw_len, mail, d, res, message_row_r, &detail, err);
}

int store_quarantine(struct store *st, const char *mailbox, uint32_t uidvalidity, uint32_t uid,
		     const char *raw, size_t raw_len, const char *reason, struct errbuf *err)
{
	char uv[16], u[16], sha[65], log_id[24];
	int rc;

	spoc_sha256_hex(raw, raw_len, sha);
	if ((rc = claim_uid(st, mailbox, uidvalidity, uid, sha, "quarantined", log_id, err)) !=
	    SPOC_OK)
		return rc;
	if (log_id[0] == '\0')
		return SPOC_OK; /* recorded before */
	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	g_snprintf(u, sizeof(u), "%u", uid);
	const char *p[] = {mailbox, uv, u, reason, raw, sha, log_id};
	int lens[G_N_ELEMENTS(p)] = {0};
	lens[4] = (int)raw_len;
	PGresult *res = store_sql_run(
	    st, "quarantine",
	    "WITH q AS (INSERT INTO quarantine (mailbox, uidvalidity, uid, reason,"
	    "  raw, raw_sha256) VALUES ($1, $2::bigint, $3::bigint, $4, $5::bytea, $6)"
	    "  RETURNING id)"
	    " UPDATE ingest_log SET detail = $4 || ' (quarantine ' ||"
	    "  (SELECT id FROM q) || ')' WHERE id = $7::bigint",
	    G_N_ELEMENTS(p), p, lens, &rc, err);
	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}
