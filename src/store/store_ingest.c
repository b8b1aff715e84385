/* The ingest side of the store: mailbox state, the per-UID log and attempts, duplicates, the
 * message with its attachments, new tickets with their participants and acknowledgement, and
 * the quarantine. Threading is store_thread.c's, what a reply sets off store_notices.c's. Runs
 * inside the transaction the ingest pass drives. */
#include "store_priv.h"

#include <stdlib.h>
#include <string.h>

int store_mailbox_sync(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       gboolean *changed_r, struct errbuf *err)
{
	char uv[16];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	const char *p[] = {mailbox, uv};
	/* Insert or update in one statement, saying whether the stored value differed. */
	res = store_sql_run(
	    st, "mailbox_state",
	    "WITH old AS (SELECT uidvalidity FROM mailbox_state WHERE mailbox = $1)"
	    " INSERT INTO mailbox_state AS s (mailbox, uidvalidity) VALUES ($1, $2::bigint)"
	    " ON CONFLICT (mailbox) DO UPDATE SET"
	    "  uidvalidity = EXCLUDED.uidvalidity, updated_at = now()"
	    " RETURNING coalesce((SELECT uidvalidity FROM old) <> $2::bigint, false)",
	    2, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*changed_r = PQgetvalue(res, 0, 0)[0] == 't';
	PQclear(res);
	return SPOC_OK;
}

static enum ingest_outcome outcome_from_name(const char *name)
{
	for (int o = INGEST_TICKET; o <= INGEST_COMMAND; o++)
		if (strcmp(name, store_outcome_name(o)) == 0)
			return o;
	return INGEST_DUPLICATE;
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
		const char *bp[] = {a->sha256, sz, store_bytes_param(data, size)};
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

/* The messages columns an incoming mail fills, and their values but the first (the ticket,
 * $1), in the order of struct message_params. When another message carried this Message-ID
 * first, the clash is kept (message_id_clash_of). */
#define MESSAGE_COLUMNS                                                                            \
	"ticket_id, direction, message_id, message_id_synthetic, in_reply_to, refs, from_addr,"    \
	" from_name, to_addrs, cc_addrs, subject, sent_at, body_text, raw, raw_sha256, automatic," \
	" body_new, body_quoted, body_signature, body_source, left_out, sender_verdict,"           \
	" sender_verdict_why, body_sha256, content_sha256, message_id_clash_of, note_why"
#define MESSAGE_VALUES_REST                                                                        \
	"'in', $2, $3::boolean, $4, coalesce(string_to_array(nullif($5, ''), E'\\n'), '{}'), $6,"  \
	" $7, $8, $9, $10, $11::timestamptz, $12, $13::bytea, $14, $15, $16, $17, $18, $19,"       \
	" coalesce(string_to_array(nullif($20, ''), E'\\n'), '{}'), $21, $22, $23, $24,"           \
	" (SELECT min(id) FROM messages WHERE message_id = $2 AND direction = 'in'"                \
	"  AND NOT message_id_synthetic AND NOT $3::boolean), $25"
#define MESSAGE_PARAMS 25

/* The parameters of an incoming message row: p[0] is the ticket. */
struct message_params {
	const char *p[MESSAGE_PARAMS];
	int lens[MESSAGE_PARAMS];
	char *refs, *date, *left_out;
};

static void message_params_init(struct message_params *mp, const char *ticket, const char *raw,
				size_t raw_len, const struct mail *m,
				const struct ingest_decision *d, const char *automatic,
				const char *note)
{
	mp->refs = store_join_ids(NULL, m->references);
	mp->date = m->date != NULL ? g_date_time_format_iso8601(m->date) : NULL;
	mp->left_out = left_out_lines(m);
	const char *p[] = {ticket,
			   m->message_id,
			   m->message_id_synthetic ? "t" : "f",
			   m->in_reply_to,
			   mp->refs,
			   m->from.addr != NULL ? m->from.addr : "",
			   m->from.name != NULL ? m->from.name : "",
			   m->to_text,
			   m->cc_text,
			   m->subject,
			   mp->date,
			   m->text,
			   store_bytes_param(raw, raw_len),
			   m->sha256,
			   automatic,
			   m->text_new != NULL ? m->text_new : m->text,
			   m->text_quoted != NULL ? m->text_quoted : "",
			   m->text_signature != NULL ? m->text_signature : "",
			   m->body_source != NULL ? m->body_source : "text/plain",
			   mp->left_out,
			   judge_sender_verdict(d),
			   d->from_proven_why,
			   m->body_sha256,
			   m->content_sha256,
			   note};
	G_STATIC_ASSERT(G_N_ELEMENTS(p) == MESSAGE_PARAMS);
	memcpy(mp->p, p, sizeof(p));
	memset(mp->lens, 0, sizeof(mp->lens));
	mp->lens[12] = (int)raw_len;
}

static void message_params_clear(struct message_params *mp)
{
	g_free(mp->refs);
	g_free(mp->date);
	g_free(mp->left_out);
}

/* Inserts the incoming message row and its attachments; *id_r gets its id. ticket may be NULL
 * (no ticket); note (may be NULL) is why it is only a note on it (judge_plan.note). */
static int insert_message(struct store *st, const char *ticket, const char *raw, size_t raw_len,
			  const struct mail *m, const struct ingest_decision *d,
			  const char *automatic, const char *note, int64_t *id_r,
			  struct errbuf *err)
{
	struct message_params mp;
	int rc = SPOC_OK;
	PGresult *res;

	message_params_init(&mp, ticket, raw, raw_len, m, d, automatic, note);
	res = store_sql_run(st, "messages",
			    "INSERT INTO messages (" MESSAGE_COLUMNS ")"
			    " VALUES ($1::bigint, " MESSAGE_VALUES_REST ") RETURNING id",
			    MESSAGE_PARAMS, mp.p, mp.lens, &rc, err);
	message_params_clear(&mp);
	if (res == NULL)
		return rc;
	*id_r = store_sql_i64(res, 0, 0);
	rc = insert_attachments(st, PQgetvalue(res, 0, 0), m, err);
	PQclear(res);
	return rc;
}

/* The Cc'd people as watchers of a new ticket, when the configuration makes them watchers; never
 * the desk itself. */
static int add_watchers(struct store *st, const char *ticket, const struct mail *m,
			const struct ingest_decision *d, struct errbuf *err)
{
	GPtrArray *watchers = judge_watchers(d, m->cc);
	int rc = SPOC_OK;

	for (guint i = 0; i < watchers->len && rc == SPOC_OK; i++) {
		const struct mail_addr *a = g_ptr_array_index(watchers, i);
		const char *wp[] = {ticket, a->addr, a->name != NULL ? a->name : ""};

		rc = store_sql_exec(st, "participants",
				    "INSERT INTO participants (ticket_id, address, name, role)"
				    " VALUES ($1::bigint, lower($2), $3, 'watcher')"
				    " ON CONFLICT DO NOTHING",
				    3, wp, err);
	}
	g_ptr_array_unref(watchers);
	return rc;
}

/* spocd_ticket_kb_text() (sql/028_less_per_mail.sql) of a ticket whose subject is $3 and whose
 * first inbound mail has body_new $15 and body_text $16. */
#define KB_NEW_TICKET_TEXT "left($3 || E'\\n' || coalesce(nullif($15, ''), $16, ''), 10000)"
#define TICKET_PARAMS	   16

/* sql with every $N made $(N + by). Caller frees. */
static char *params_shifted(const char *sql, int by)
{
	GString *out = g_string_new(NULL);

	for (const char *p = sql; *p != '\0'; p++) {
		char *end;

		if (*p != '$' || !g_ascii_isdigit(p[1])) {
			g_string_append_c(out, *p);
			continue;
		}
		g_string_append_printf(out, "$%ld", strtol(p + 1, &end, 10) + by);
		p = end - 1;
	}
	return g_string_free(out, FALSE);
}

/* One statement, one round trip, for a new ticket: the ticket ($1..$16), its requester as a
 * participant, and the mail's message row (struct message_params from $17 on, without the
 * ticket, which the row takes from the ticket inserted beside it). NEW_TICKET_ID: the ticket
 * takes the id reserved for the mail ($41, store_window_ticket_id()), so that a window's tickets
 * keep its order; NEW_TICKET_ACK: besides, the acknowledgement to the requester is queued in the
 * same statement, under the Message-ID minted for that id ($42), as queue_ack() queues it. */
enum new_ticket { NEW_TICKET, NEW_TICKET_ID, NEW_TICKET_ACK };
#define NEW_TICKET_ID_PARAM  (TICKET_PARAMS + MESSAGE_PARAMS)
#define NEW_TICKET_ACK_PARAM (NEW_TICKET_ID_PARAM + 1)
static const char *new_ticket_sql(enum new_ticket how)
{
	static gsize once;
	static char *sql[3];

	if (g_once_init_enter(&once)) {
		char *rest = params_shifted(MESSAGE_VALUES_REST, TICKET_PARAMS - 1);

		for (int v = NEW_TICKET; v <= NEW_TICKET_ACK; v++) {
			gboolean with = v != NEW_TICKET, ack = v == NEW_TICKET_ACK;
			char *id = g_strdup_printf("$%d", NEW_TICKET_ID_PARAM);
			char *mid = g_strdup_printf("$%d", NEW_TICKET_ACK_PARAM);

			/* the audit trail says who opened it: the requester, by email; the
			 * knowledge-base vectors are those of the mail it is opened with (the message
			 * row has $15 as body_new and $16 as body_text), which the messages_kb
			 * trigger would otherwise write in an UPDATE, and the digest of that text
			 * tells the trigger so without analysing it again (sql/030_kb_digest.sql) */
			sql[v] = g_strconcat(
			    "WITH t AS (INSERT INTO tickets (", with ? "id, " : "",
			    "kind, kind_rule, subject, requester,"
			    " requester_name, language, priority, impact, urgency, priority_rule, triage,"
			    " first_response_due, resolution_due, team, changed_by, changed_via,"
			    " kb_en, kb_es, kb_digest)",
			    with ? " OVERRIDING SYSTEM VALUE" : "", " VALUES (", with ? id : "",
			    with ? "::bigint, " : "",
			    "$1, $2, $3, lower($4), $5, $6, $7::smallint, $8::smallint,"
			    "  $9::smallint, $10, $11::boolean, to_timestamp($12::bigint),"
			    "  to_timestamp($13::bigint), $14, lower($4), 'email',"
			    "  to_tsvector('english', " KB_NEW_TICKET_TEXT "),"
			    "  to_tsvector('spanish', " KB_NEW_TICKET_TEXT "),"
			    "  md5(" KB_NEW_TICKET_TEXT ")::uuid)"
			    " RETURNING id, display),"
			    " r AS (INSERT INTO participants (ticket_id, address, name, role)"
			    "  VALUES ((SELECT id FROM t), lower($4), $5, 'requester') ON CONFLICT DO "
			    "NOTHING),"
			    " m AS (INSERT INTO messages (" MESSAGE_COLUMNS ")"
			    "  VALUES ((SELECT id FROM t), ",
			    rest, ") RETURNING id)",
			    ack ? ", a AS (INSERT INTO outbox (kind, ticket_id, in_reply_to_message,"
				   " recipient, recipient_name, language, message_id, state, body,"
				   " author, detail)"
				   " SELECT 'ack', t.id, m.id, $4, coalesce($5, ''), $6, "
				 : "",
			    ack ? mid : "",
			    ack ? ", 'pending', '', '', '{}'::jsonb FROM t, m RETURNING id)"
				   " SELECT t.id, t.display, m.id, a.id FROM t, m, a"
				 : " SELECT t.id, t.display, m.id, NULL FROM t, m",
			    NULL);
			g_free(id);
			g_free(mid);
		}
		g_free(rest);
		g_once_init_leave(&once, 1);
	}
	return sql[how];
}

/* Opens a ticket with the mail: the ticket, its participants, the message row and its
 * attachments; with a ticket id reserved for the mail (reserved, else 0) and ack, its
 * acknowledgement too (res_r->outbox_id; *acked_r says whether it was queued). */
static int create_ticket(struct store *st, const char *raw, size_t raw_len, const struct mail *m,
			 const struct ingest_decision *d, int64_t reserved, gboolean ack,
			 struct ingest_result *res_r, int64_t *message_row_r, gboolean *acked_r,
			 struct errbuf *err)
{
	/* without Re:/Fwd: and without other tickets' tags: a later reply must name this ticket
	 * only, and a stranger's mail never echoes another ticket's number back */
	char *subject = thread_subject_base(m->subject);
	char prio[4], imp[4], urg[4], frd[24], rsd[24], id[24];
	struct message_params mp;
	const char *p[NEW_TICKET_ACK_PARAM];
	int lens[G_N_ELEMENTS(p)] = {0};
	enum new_ticket how = reserved <= 0 ? NEW_TICKET : ack ? NEW_TICKET_ACK : NEW_TICKET_ID;
	gboolean with = how == NEW_TICKET_ACK;
	char *mid = with ? thread_mint_message_id(d->keys, reserved, d->message_id_domain) : NULL;
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(prio, sizeof(prio), "%d", d->priority > 0 ? d->priority : 3);
	g_snprintf(imp, sizeof(imp), "%d", d->impact > 0 ? d->impact : 3);
	g_snprintf(urg, sizeof(urg), "%d", d->urgency > 0 ? d->urgency : 3);
	g_snprintf(frd, sizeof(frd), "%" G_GINT64_FORMAT, d->first_response_due);
	g_snprintf(rsd, sizeof(rsd), "%" G_GINT64_FORMAT, d->resolution_due);
	g_snprintf(id, sizeof(id), "%" G_GINT64_FORMAT, reserved);
	const char *tp[] = {ticket_kind_name(d->kind),
			    d->kind_rule,
			    subject,
			    d->requester_addr,
			    d->requester_name != NULL ? d->requester_name : "",
			    d->language,
			    prio,
			    imp,
			    urg,
			    d->priority_rule,
			    d->triage ? "t" : "f",
			    d->first_response_due > 0 ? frd : NULL,
			    d->resolution_due > 0 ? rsd : NULL,
			    d->team,
			    m->text_new != NULL ? m->text_new : m->text,
			    m->text};
	G_STATIC_ASSERT(G_N_ELEMENTS(tp) == TICKET_PARAMS);
	message_params_init(&mp, NULL, raw, raw_len, m, d, NULL, NULL);
	memcpy(p, tp, sizeof(tp));
	memcpy(p + TICKET_PARAMS, mp.p + 1, sizeof(mp.p) - sizeof(mp.p[0]));
	memcpy(lens + TICKET_PARAMS, mp.lens + 1, sizeof(mp.lens) - sizeof(mp.lens[0]));
	p[NEW_TICKET_ID_PARAM - 1] = id;
	p[NEW_TICKET_ACK_PARAM - 1] = mid;
	res = store_sql_run(st, "tickets", new_ticket_sql(how),
			    how == NEW_TICKET	? NEW_TICKET_ID_PARAM - 1
			    : how == NEW_TICKET_ID ? NEW_TICKET_ID_PARAM
						   : NEW_TICKET_ACK_PARAM,
			    p, lens, &rc, err);
	message_params_clear(&mp);
	g_free(subject);
	g_free(mid);
	*acked_r = with;
	if (res == NULL)
		return rc;
	res_r->ticket_id = store_sql_i64(res, 0, 0);
	g_strlcpy(res_r->ticket_number, PQgetvalue(res, 0, 1), sizeof(res_r->ticket_number));
	*message_row_r = store_sql_i64(res, 0, 2);
	if (with)
		res_r->outbox_id = store_sql_i64(res, 0, 3);
	rc = add_watchers(st, PQgetvalue(res, 0, 0), m, d, err);
	if (rc == SPOC_OK)
		rc = insert_attachments(st, PQgetvalue(res, 0, 2), m, err);
	PQclear(res);
	return rc;
}

static int queue_ack(struct store *st, const struct ingest_decision *d, int64_t message_row,
		     struct ingest_result *res_r, struct errbuf *err)
{
	const struct store_notice n = {.kind = "ack",
				       .ticket_id = res_r->ticket_id,
				       .message_row = message_row,
				       .recipient = d->requester_addr,
				       .recipient_name = d->requester_name,
				       .language = d->language};

	return store_queue_notice(st, d, &n, &res_r->outbox_id, err);
}

static int record_threaded(struct store *st, const char *raw, size_t raw_len,
			   const struct mail *mail, const struct ingest_decision *d,
			   const struct judge_sender *who, const struct thread_verdict *v,
			   int64_t reserved, struct ingest_result *res_r, int64_t *message_row_r,
			   const char **detail_r, const char **reachable_r, struct errbuf *err);

/* Whether the From is the requester of the resolved or closed ticket v answers, into
 * who->requester; asked only of a reply that starts with a rating (judge_may_rate() decides
 * whether it may rate). */
static int requester_find(struct store *st, const struct mail *mail,
			  const struct ingest_decision *d, const struct thread_verdict *v,
			  struct judge_sender *who, struct errbuf *err)
{
	int64_t ticket =
	    v->action == THREAD_REOPEN ? v->ticket_id
	    : v->action == THREAD_NEW_LINKED && g_strcmp0(v->link_kind, THREAD_LINK_FOLLOW_UP) == 0
		? v->link_ticket_id
		: 0;
	char tk[24];
	int rc = SPOC_OK;
	PGresult *res;

	who->requester = FALSE;
	if (d->csat.rating <= 0 || ticket == 0 || mail->from.addr == NULL)
		return SPOC_OK;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket);
	const char *p[] = {tk, mail->from.addr};
	res = store_sql_run(st, "participants",
			    "SELECT 1 FROM participants WHERE ticket_id = $1::bigint"
			    " AND role = 'requester' AND address = lower($2)",
			    2, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	who->requester = PQntuples(res) > 0;
	PQclear(res);
	return SPOC_OK;
}

/* Records one parsed mail (duplicate check, threading, ticket, acknowledgement) in the caller's
 * transaction, without any ingest_log row: res_r gets the outcome, *message_row_r the message row
 * it became or duplicates (0 if none), *detail_r the reason for the log (static or borrowed),
 * *reachable_r the sender who wrote as a person (NULL: none), for the caller to mark reachable. */
static int record_mail(struct store *st, struct store_window *w, const char *raw, size_t raw_len,
		       const struct mail *mail, const struct ingest_decision *d,
		       struct ingest_result *res_r, int64_t *message_row_r, const char **detail_r,
		       const char **reachable_r, struct errbuf *err)
{
	struct thread_verdict verdict;
	struct judge_sender who;
	int rc = SPOC_OK, row = 0, col = 0;
	PGresult *res = NULL, *facts;

	*message_row_r = 0;
	*detail_r = NULL;
	*reachable_r = NULL;
	/* the duplicate check and, in the same round trip, the agent the From names
	 * (store_sender_fill()): read for the whole window before its first mail was recorded,
	 * else asked now */
	if (w != NULL && store_window_fact(w, mail, &facts, &row))
		col = 1;
	else {
		g_autofree char *date = NULL;
		const char *keys[6];

		store_dup_keys(mail, &date, keys);
		res = store_sql_run(st, "duplicate check",
				    "SELECT d.id, d.ticket_id, d.display, a.agent_id, a.agent_name,"
				    " a.agent_generation FROM (SELECT 1) one"
				    " LEFT JOIN LATERAL (" STORE_DUP_OF("$1", "$2", "$3", "$4", "$5",
									"$6") ") d ON true"
				    " LEFT JOIN LATERAL (" STORE_SENDER_AGENT(
					"$4") " LIMIT 1) a ON true",
				    G_N_ELEMENTS(keys), keys, NULL, &rc, err);
		if (res == NULL)
			return rc;
		facts = res;
	}
	if (!PQgetisnull(facts, row, col)) {
		res_r->outcome = INGEST_DUPLICATE;
		res_r->ticket_id = store_sql_i64(facts, row, col + 1);
		g_strlcpy(res_r->ticket_number, PQgetvalue(facts, row, col + 2),
			  sizeof(res_r->ticket_number));
		*message_row_r = store_sql_i64(facts, row, col);
		*detail_r = "the same message as an earlier one";
		if (res != NULL)
			PQclear(res);
		return SPOC_OK;
	}
	store_sender_fill(mail, d, facts, row, col + 3, &who);
	if (res != NULL)
		PQclear(res);

	rc = store_thread_find(st, mail, d, &who, &verdict, err);
	if (rc == SPOC_OK)
		rc = requester_find(st, mail, d, &verdict, &who, err);
	if (rc == SPOC_OK)
		rc = record_threaded(st, raw, raw_len, mail, d, &who, &verdict,
				     w != NULL ? store_window_ticket_id(w, mail) : 0, res_r,
				     message_row_r, detail_r, reachable_r, err);
	g_free(who.agent_name);
	return rc;
}

/* The requester's rating of plan->ticket_id, from message_row: the ticket's one rating, which a
 * later one replaces (sql/021_csat.sql audits each: by the rater, by email, as it names
 * message_row). */
static int record_rating(struct store *st, const struct judge_plan *plan, const struct mail *mail,
			 int64_t message_row, struct errbuf *err)
{
	char tk[24], rating[8], row[24];

	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, plan->ticket_id);
	g_snprintf(rating, sizeof(rating), "%d", plan->csat_rating);
	g_snprintf(row, sizeof(row), "%" G_GINT64_FORMAT, message_row);
	const char *p[] = {tk, rating, plan->csat_comment != NULL ? plan->csat_comment : "", row,
			   mail->from.addr != NULL ? mail->from.addr : ""};
	return store_sql_exec(
	    st, "ticket_csat",
	    "INSERT INTO ticket_csat (ticket_id, rating, comment, team, message_row, rated_by)"
	    " SELECT t.id, $2::smallint, $3, t.team, $4::bigint, lower($5) FROM tickets t"
	    "  WHERE t.id = $1::bigint"
	    " ON CONFLICT (ticket_id) DO UPDATE SET rating = EXCLUDED.rating,"
	    "  comment = EXCLUDED.comment, team = EXCLUDED.team,"
	    "  message_row = EXCLUDED.message_row, rated_by = EXCLUDED.rated_by, rated_at = now()",
	    G_N_ELEMENTS(p), p, err);
}

/* record_mail() once the sender and the thread are known: carries out the judge's plan. */
static int record_threaded(struct store *st, const char *raw, size_t raw_len,
			   const struct mail *mail, const struct ingest_decision *d,
			   const struct judge_sender *who, const struct thread_verdict *v,
			   int64_t reserved, struct ingest_result *res_r, int64_t *message_row_r,
			   const char **detail_r, const char **reachable_r, struct errbuf *err)
{
	struct judge_plan plan;
	int64_t bounced_ticket = 0;
	gboolean acked;
	g_autofree char *unreachable = NULL;
	char tk[24];
	int rc = SPOC_OK;
	PGresult *res;

	if (d->bounce != NULL && d->bounce_outbox_id != 0 &&
	    (rc = store_bounce_record(st, d->bounce, d->bounce_outbox_id, &bounced_ticket,
				      &unreachable, err)) != SPOC_OK)
		return rc;
	/* A person writing from an address that bounced is reachable again: the caller clears it
	 * (store_window_reachable()) before the transaction records a later bounce or ends. */
	*reachable_r = d->automatic_why == NULL ? mail->from.addr : NULL;
	judge_mail(d, who, v, bounced_ticket, &plan);
	res_r->outcome = plan.outcome;
	*detail_r = plan.detail;

	/* what the message row says of automatic mail: its classification, and for a delivery
	 * report that proved nothing, that it changed nothing */
	g_autofree char *automatic =
	    d->automatic_why != NULL && d->bounce_ignored_why != NULL
		? g_strdup_printf("%s; delivery report %s", d->automatic_why, d->bounce_ignored_why)
		: g_strdup(d->automatic_why);

	if (plan.action == JUDGE_RECORD) {
		if ((rc = insert_message(st, NULL, raw, raw_len, mail, d, automatic, NULL,
					 message_row_r, err)) != SPOC_OK)
			return rc;
		return store_requester_commands(st, mail, d, &plan, *message_row_r, err);
	}
	if (plan.action == JUDGE_ATTACH) {
		g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, plan.ticket_id);
		if ((rc = insert_message(st, tk, raw, raw_len, mail, d, automatic, plan.note,
					 message_row_r, err)) != SPOC_OK)
			return rc;
		char mr[24];

		g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, *message_row_r);
		const char *tp[] = {tk, plan.reopen ? "t" : "f", mail->from.addr,
				    plan.end_wait ? "t" : "f", mr};
		/* the audit trail and the status update name the sender, by email, and this mail */
		res = store_sql_run(
		    st, "tickets",
		    "UPDATE tickets SET updated_at = now(), status = CASE WHEN $2::boolean"
		    "  THEN 'in-progress' WHEN $4::boolean AND status = 'pending' THEN "
		    "'in-progress'"
		    "  ELSE status END,"
		    " changed_by = nullif($3, ''), changed_via = 'email',"
		    " changed_by_message = $5::bigint"
		    " WHERE id = $1::bigint RETURNING display",
		    G_N_ELEMENTS(tp), tp, NULL, &rc, err);
		if (res == NULL)
			return rc;
		res_r->ticket_id = plan.ticket_id;
		g_strlcpy(res_r->ticket_number, PQntuples(res) ? PQgetvalue(res, 0, 0) : "",
			  sizeof(res_r->ticket_number));
		PQclear(res);
		/* by email, as the sender: the audit of the rating says so */
		if (plan.csat_rating > 0 &&
		    (rc = record_rating(st, &plan, mail, *message_row_r, err)) != SPOC_OK)
			return rc;
		/* the requester (or a watcher) can no longer be reached: the desk is told once */
		if (unreachable != NULL && plan.ticket_id == bounced_ticket &&
		    (rc = store_notify_desk(st, d, mail, "unreachable", plan.ticket_id,
					    *message_row_r, unreachable, err)) != SPOC_OK)
			return rc;
		if ((rc = store_after_reply(st, mail, d, who, &plan, plan.ticket_id, *message_row_r,
					    err)) != SPOC_OK)
			return rc;
		return store_requester_commands(st, mail, d, &plan, *message_row_r, err);
	}

	if ((rc = create_ticket(st, raw, raw_len, mail, d, reserved, plan.ack, res_r, message_row_r,
				&acked, err)) != SPOC_OK)
		return rc;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, res_r->ticket_id);
	if (plan.ack && !acked && (rc = queue_ack(st, d, *message_row_r, res_r, err)) != SPOC_OK)
		return rc;
	/* the desk hears of every new ticket (notify.new_ticket), acknowledged or not */
	if ((rc = store_notify_desk(st, d, mail, "new-ticket", res_r->ticket_id, *message_row_r,
				    NULL, err)) != SPOC_OK)
		return rc;
	if (plan.link_ticket_id != 0) {
		char linked[24];

		g_snprintf(linked, sizeof(linked), "%" G_GINT64_FORMAT, plan.link_ticket_id);
		const char *lp[] = {tk, linked, plan.link_kind};
		if ((rc = store_sql_exec(
			 st, "ticket_links",
			 "INSERT INTO ticket_links (ticket_id, linked_ticket_id, kind)"
			 " VALUES ($1::bigint, $2::bigint, $3) ON CONFLICT DO NOTHING",
			 3, lp, err)) != SPOC_OK)
			return rc;
	}
	if ((rc = store_after_reply(st, mail, d, who, &plan, res_r->ticket_id, *message_row_r,
				    err)) != SPOC_OK)
		return rc;
	return store_requester_commands(st, mail, d, &plan, *message_row_r, err);
}

int store_ingest_claim(struct store *st, const char *mailbox, uint32_t uidvalidity,
		       const uint32_t *uids, const char *const *sha256s, size_t n,
		       char (*log_ids_r)[24], struct errbuf *err)
{
	GString *shas = g_string_new("{");
	char uv[16], *arr = uid_array(uids, n);
	GHashTable *ids = g_hash_table_new(g_direct_hash, g_direct_equal);
	int rc = SPOC_OK;
	PGresult *res;

	for (size_t i = 0; i < n; i++)
		g_string_append_printf(shas, "%s%s", i ? "," : "", sha256s[i]);
	g_string_append_c(shas, '}');
	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	const char *p[] = {mailbox, uv, arr, shas->str};
	/* the outcome is a placeholder until the message's own work sets it, in this transaction */
	res =
	    store_sql_run(st, "ingest_log",
			  "INSERT INTO ingest_log (mailbox, uidvalidity, uid, raw_sha256, outcome)"
			  " SELECT $1, $2::bigint, c.uid, c.sha, 'duplicate'"
			  "  FROM unnest($3::bigint[], $4::text[]) AS c(uid, sha)"
			  " ON CONFLICT (mailbox, uidvalidity, uid) DO NOTHING RETURNING uid, id",
			  G_N_ELEMENTS(p), p, NULL, &rc, err);
	g_free(arr);
	g_string_free(shas, TRUE);
	if (res != NULL) {
		for (int i = 0; i < PQntuples(res); i++)
			g_hash_table_insert(ids, GUINT_TO_POINTER((guint)store_sql_i64(res, i, 0)),
					    PQgetvalue(res, i, 1));
		for (size_t i = 0; i < n; i++) {
			const char *id = g_hash_table_lookup(ids, GUINT_TO_POINTER(uids[i]));

			g_strlcpy(log_ids_r[i], id != NULL ? id : "", 24);
		}
		PQclear(res);
	}
	g_hash_table_unref(ids);
	return res != NULL ? SPOC_OK : rc;
}

int store_ingest_unclaim(struct store *st, char (*log_ids)[24], size_t n, struct errbuf *err)
{
	GString *arr = g_string_new("{");
	int rc;

	for (size_t i = 0; i < n; i++)
		if (log_ids[i][0] != '\0')
			g_string_append_printf(arr, "%s%s", arr->len > 1 ? "," : "", log_ids[i]);
	g_string_append_c(arr, '}');
	const char *p[] = {arr->str};
	rc = store_sql_exec(st, "ingest_log", "DELETE FROM ingest_log WHERE id = ANY($1::bigint[])",
			    1, p, err);
	g_string_free(arr, TRUE);
	return rc;
}

int store_ingest_claimed(struct store *st, struct store_window *w, const char *log_id,
			 const char *raw, size_t raw_len, const struct mail *mail,
			 const struct ingest_decision *d, struct ingest_result *res_r,
			 struct errbuf *err)
{
	int64_t message_row = 0;
	const char *detail = NULL, *reachable = NULL;
	int rc;

	memset(res_r, 0, sizeof(*res_r));
	if (log_id[0] == '\0') {
		res_r->outcome = INGEST_TAKEN;
		return SPOC_OK;
	}
	if ((rc = record_mail(st, w, raw, raw_len, mail, d, res_r, &message_row, &detail,
			      &reachable, err)) != SPOC_OK)
		return rc;
	/* only once the mail is recorded: one that fails leaves nothing behind in w */
	store_window_recorded(w, mail);
	if (reachable != NULL)
		store_window_reachable(w, reachable);
	store_window_log(w, log_id, res_r->outcome, message_row, res_r->ticket_id, detail);
	return SPOC_OK;
}

int store_secret(struct store *st, const char *name, char **value_r, struct errbuf *err)
{
	const char *p[] = {name};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(
	    st, "spocd_secrets", "SELECT value FROM spocd_private.spocd_secrets WHERE name = $1", 1,
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
	const char *detail, *reachable;
	int rc;

	memset(res, 0, sizeof(*res));
	if ((rc = record_mail(st, NULL, raw, raw_len, mail, d, res, message_row_r, &detail,
			      &reachable, err)) != SPOC_OK ||
	    reachable == NULL)
		return rc;
	return store_reachable_now(st, reachable, err);
}

int store_quarantine_claimed(struct store *st, const char *mailbox, uint32_t uidvalidity,
			     uint32_t uid, const char *log_id, const char *raw, size_t raw_len,
			     const char *category, const char *reason, struct errbuf *err)
{
	char uv[16], u[16], sha[65];

	if (log_id[0] == '\0')
		return SPOC_OK; /* recorded before */
	spoc_sha256_hex(raw, raw_len, sha);
	g_snprintf(uv, sizeof(uv), "%u", uidvalidity);
	g_snprintf(u, sizeof(u), "%u", uid);
	const char *p[] = {mailbox, uv, u, reason, store_bytes_param(raw, raw_len), sha, log_id,
			   category};
	int lens[G_N_ELEMENTS(p)] = {0};
	int rc = SPOC_OK;
	lens[4] = (int)raw_len;
	PGresult *res = store_sql_run(
	    st, "quarantine",
	    "WITH q AS (INSERT INTO quarantine (mailbox, uidvalidity, uid, reason,"
	    "  raw, raw_sha256, category) VALUES ($1, $2::bigint, $3::bigint, $4, $5::bytea, $6,"
	    "  $8)"
	    "  RETURNING id)"
	    " UPDATE ingest_log SET outcome = 'quarantined', raw_sha256 = $6,"
	    "  detail = $4 || ' (quarantine ' || (SELECT id FROM q) || ')' WHERE id = $7::bigint",
	    G_N_ELEMENTS(p), p, lens, &rc, err);
	PQclear(res);
	return res != NULL ? SPOC_OK : rc;
}
