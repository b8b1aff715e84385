/* What spocd owes people because of a mail, queued in the caller's transaction: notices
 * (rate-limited when the notifier sends them), bounces tied back to the notice they return, and
 * what an agent's reply sets off (commands applied under their name, their text relayed) or a
 * requester's reply (the assignee told). */
#include "store_priv.h"

#include "command_results.h"
#include "commands.h"

#include <string.h>

/* A Message-ID for a notice on no ticket (a requester's list): random, under domain, proving
 * nothing. Caller frees. */
static char *plain_message_id(const char *domain)
{
	char *uuid = g_uuid_string_random();
	char *mid = g_strdup_printf("spocd.list.%s@%s", uuid,
				    domain != NULL && domain[0] != '\0' ? domain : "localhost");

	g_free(uuid);
	return mid;
}

int store_queue_notice(struct store *st, const struct ingest_decision *d,
		       const struct store_notice *n, int64_t *id_r, struct errbuf *err)
{
	char tk[24], mr[24];
	/* HMAC-tagged: a reply naming it proves which ticket it answers (thread.c); a notice on no
	 * ticket (a requester's list) gets one that proves nothing */
	char *mid = n->ticket_id != 0
			? thread_mint_message_id(d->keys, n->ticket_id, d->message_id_domain)
			: plain_message_id(d->message_id_domain);
	char ag[24];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, n->ticket_id);
	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, n->message_row);
	g_snprintf(ag, sizeof(ag), "%" G_GINT64_FORMAT, n->agent_id);
	const char *p[] = {n->ticket_id != 0 ? tk : NULL,
			   n->message_row != 0 ? mr : NULL,
			   n->recipient,
			   n->recipient_name != NULL ? n->recipient_name : "",
			   n->language,
			   mid,
			   n->kind,
			   n->body != NULL ? n->body : "",
			   n->author != NULL ? n->author : "",
			   n->agent_id != 0 ? ag : NULL,
			   n->withhold_attachments ? "t" : "f"};
	/* Queued pending: the rate limits are the notifier's, when it sends (caps.h), so that they
	 * see every row whoever queued it. */
	res = store_sql_run(
	    st, "outbox",
	    /* An agent's reply that also changed the status: the requester gets one mail, the
	     * reply with the new status, not the reply and the status update the trigger queued
	     * for this same mail (message row $2; sql/023_actor_in_rows.sql). */
	    "WITH gone AS (DELETE FROM outbox WHERE $7 = 'agent-reply' AND ticket_id = $1::bigint"
	    "  AND kind = 'status' AND lower(recipient) = lower($3) AND state = 'pending'"
	    "  AND caused_by_message = $2::bigint RETURNING detail)"
	    " INSERT INTO outbox (kind, ticket_id, in_reply_to_message, recipient,"
	    " recipient_name, language, message_id, state, body, author, agent_id, detail)"
	    " VALUES ($7, $1::bigint, $2::bigint, $3, $4, $5, $6, 'pending', $8, $9, $10::bigint,"
	    "  coalesce((SELECT detail FROM gone LIMIT 1), '{}') || CASE WHEN $11::boolean"
	    "  THEN '{\"attachments\": \"withheld\"}'::jsonb ELSE '{}'::jsonb END)"
	    " RETURNING id",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	g_free(mid);
	if (res == NULL)
		return rc;
	if (id_r != NULL)
		*id_r = store_sql_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

/* Ties a bounce back to the notification its verified VERP address names (outbox_id, never 0):
 * marks that outbox row bounced on a permanent failure and counts the failure against that
 * row's recipient alone (a delay does not mark the address as bouncing). The report's own list
 * of failed addresses is the sender's to write, so it never marks anyone: a requester who
 * copies the VERP address of a notice sent to them can only speak for themselves. *ticket_r is
 * that notification's ticket, 0 when none. */
int store_bounce_record(struct store *st, const struct bounce_report *b, int64_t outbox_id,
			int64_t *ticket_r, char **newly_r, struct errbuf *err)
{
	char *reason = g_strdup_printf("%s%s%s", b->status != NULL ? b->status : "",
				       b->status != NULL && b->diagnostic != NULL ? " " : "",
				       b->diagnostic != NULL ? b->diagnostic : "");
	int rc = SPOC_OK;
	PGresult *res;
	char oid[24];

	*ticket_r = 0;
	g_snprintf(oid, sizeof(oid), "%" G_GINT64_FORMAT, outbox_id);
	const char *p[] = {oid, reason, b->permanent ? "t" : "f"};
	res = store_sql_run(
	    st, "bounce",
	    "WITH r AS (SELECT ticket_id, recipient FROM outbox WHERE id = $1::bigint),"
	    " o AS (UPDATE outbox SET bounced_at = now(), bounce_reason = $2"
	    "  WHERE id = $1::bigint AND $3::boolean RETURNING 1),"
	    " was AS (SELECT bouncing FROM address_status"
	    "  WHERE address = (SELECT lower(recipient) FROM r)),"
	    " a AS (INSERT INTO address_status AS s (address, bouncing, bounces, last_bounce_at,"
	    "   last_reason)"
	    "  SELECT lower(recipient), $3::boolean, 1, now(), $2 FROM r"
	    "  ON CONFLICT (address) DO UPDATE SET bounces = s.bounces + 1,"
	    "   bouncing = s.bouncing OR excluded.bouncing, last_bounce_at = now(),"
	    "   last_reason = excluded.last_reason RETURNING bouncing)"
	    " SELECT coalesce((SELECT ticket_id FROM r), 0), (SELECT count(*) FROM o),"
	    "  (SELECT count(*) FROM a),"
	    /* it bounces for good from now on: the desk is told once */
	    "  coalesce((SELECT bouncing FROM a), false)"
	    "   AND NOT coalesce((SELECT bouncing FROM was), false),"
	    "  (SELECT recipient FROM r)",
	    3, p, NULL, &rc, err);
	if (res == NULL) {
		g_free(reason);
		return rc;
	}
	*ticket_r = store_sql_i64(res, 0, 0);
	if (newly_r != NULL && strcmp(PQgetvalue(res, 0, 3), "t") == 0 && *ticket_r != 0)
		*newly_r = g_strdup_printf("%s%s%s", PQgetvalue(res, 0, 4),
					   reason[0] != '\0' ? ": " : "", reason);
	PQclear(res);
	g_free(reason);
	return SPOC_OK;
}

/* Runs one statement that changes a ticket as the agent, by email, from message_row: the
 * statement names them in the row it writes ($3 the agent, $4 the message row), for the audit
 * trail and the notices; PGresult or NULL (a change the database refuses has its own sentence
 * alone in err). */
static PGresult *as_agent(struct store *st, const char *agent_addr, const char *message_row,
			  const char *sql, const char *a1, const char *a2, int *rc_r,
			  struct errbuf *err)
{
	gboolean refused;
	const char *p[] = {a1, a2, agent_addr, message_row};

	return store_sql_run_refusable(st, "agent command", sql, 4, p, &refused, rc_r, err);
}

/* Who is acting, in the SET list of each statement as_agent() runs. */
#define AS_AGENT_SET " changed_by = $3, changed_via = 'email', changed_by_message = $4::bigint"

/* The statements of the commands that set one column of the ticket, by enum command_kind. */
static const char *const set_sql[] = {
    [COMMAND_STATUS] = "UPDATE tickets SET status = $2," AS_AGENT_SET " WHERE id = $1::bigint",
    [COMMAND_PRIORITY] =
	"UPDATE tickets SET priority = $2::smallint," AS_AGENT_SET " WHERE id = $1::bigint",
    [COMMAND_KIND] = "UPDATE tickets SET kind = $2," AS_AGENT_SET " WHERE id = $1::bigint",
};

/* Applies an authenticated agent's commands on ticket, all or none (a savepoint), and appends
 * what happened to results (command_results.h): a done per command, or, when one is refused or
 * names no active agent, that one and rolled-back instead. */
static int apply_commands(struct store *st, const struct command_block *b, const char *ticket,
			  const char *agent_addr, const char *message_row, GString *results,
			  struct errbuf *err)
{
	struct errbuf why = {{0}};
	const struct command *failed = NULL;
	enum command_result_code failure = COMMAND_RESULT_REFUSED;
	gsize before = results->len;
	gboolean refused;
	int rc;

	if ((rc = store_sql_exec(st, "SAVEPOINT", "SAVEPOINT spoc_commands", 0, NULL, err)) !=
	    SPOC_OK)
		return rc;
	for (guint i = 0; i < b->commands->len && failed == NULL; i++) {
		const struct command *c = g_ptr_array_index(b->commands, i);
		PGresult *res = NULL;
		int crc = SPOC_OK;

		switch (c->kind) {
		case COMMAND_FORWARD:
			/* nothing on the ticket: store_after_reply() puts the forward into the
			 * relay */
			command_results_add(results, COMMAND_RESULT_APPLIED, c->kind, c->line,
					    NULL);
			continue;
		case COMMAND_STATUS:
		case COMMAND_PRIORITY:
		case COMMAND_KIND:
			res = as_agent(st, agent_addr, message_row, set_sql[c->kind], ticket,
				       c->value, &crc, &why);
			break;
		case COMMAND_ASSIGN:
			/* by address, name or local part; the ticket takes the agent's team */
			res = as_agent(
			    st, agent_addr, message_row,
			    "UPDATE tickets t SET (assignee_id, team) = (a.id,"
			    "  CASE WHEN a.team = '' THEN t.team ELSE a.team END)," AS_AGENT_SET
			    " FROM (SELECT id, team FROM agents WHERE active"
			    "  AND (address = lower($2) OR lower(name) = lower($2)"
			    "   OR split_part(address, '@', 1) = lower($2))"
			    "  ORDER BY address LIMIT 1) a"
			    " WHERE t.id = $1::bigint RETURNING t.id",
			    ticket, c->value, &crc, &why);
			if (res != NULL && PQntuples(res) == 0) {
				failure = COMMAND_RESULT_NO_AGENT;
				failed = c;
			}
			break;
		case COMMAND_CLOSE:
		case COMMAND_MY_TICKETS:
			/* a requester's words: commands_parse() never gives them */
			continue;
		case COMMAND_INTERNAL:
			/* the message, not the ticket: nothing to audit */
			res = store_sql_run_refusable(
			    st, "agent command",
			    "UPDATE messages SET internal = true WHERE id = $1::bigint", 1,
			    &message_row, &refused, &crc, &why);
			break;
		}
		if (res == NULL && crc == SPOC_ETEMP) {
			g_strlcpy(err->msg, why.msg, sizeof(err->msg));
			return SPOC_ETEMP;
		}
		/* a refused move ("status cannot go from closed to ..."): the reason as it is */
		if (res == NULL)
			failed = c;
		PQclear(res);
		if (failed == NULL)
			command_results_add(results, COMMAND_RESULT_APPLIED, c->kind, c->line,
					    NULL);
	}
	if (failed != NULL) {
		/* what was done is undone: only the parse errors before stay */
		g_string_truncate(results, before);
		command_results_add(results, failure, failed->kind, failed->line,
				    failure == COMMAND_RESULT_NO_AGENT ? failed->value : why.msg);
		command_results_add(results, COMMAND_RESULT_ROLLED_BACK, 0, NULL, NULL);
		return store_sql_exec(st, "ROLLBACK TO SAVEPOINT",
				      "ROLLBACK TO SAVEPOINT spoc_commands", 0, NULL, err);
	}
	return store_sql_exec(st, "RELEASE SAVEPOINT", "RELEASE SAVEPOINT spoc_commands", 0, NULL,
			      err);
}

/* Queues one notice to every participant of ticket (requester and watchers). */
static int notify_participants(struct store *st, const struct ingest_decision *d,
			       const struct store_notice *base, struct errbuf *err)
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
		struct store_notice n = *base;

		n.recipient = PQgetvalue(res, i, 0);
		n.recipient_name = PQgetvalue(res, i, 1);
		n.language = PQgetvalue(res, i, 2);
		rc = store_queue_notice(st, d, &n, NULL, err);
	}
	PQclear(res);
	return rc;
}

int store_notify_desk(struct store *st, const struct ingest_decision *d, const struct mail *m,
		      const char *kind, int64_t ticket, int64_t message_row, const char *body,
		      struct errbuf *err)
{
	gboolean es = d->desk_language != NULL && strcmp(d->desk_language, "es") == 0;
	gboolean new_ticket = strcmp(kind, "new-ticket") == 0;
	/* a team mailbox named by notify.new_ticket, else the triage address as the last resort */
	const char *mailbox =
	    new_ticket && d->notify_new_ticket != NULL && strcmp(d->notify_new_ticket, "team") != 0
		? d->notify_new_ticket
		: NULL;
	char tk[24];
	int rc = SPOC_OK;
	PGresult *res;

	if (new_ticket && d->notify_new_ticket == NULL)
		return SPOC_OK;
	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket);
	const char *p[] = {tk, new_ticket ? "t" : "f", mailbox, d->triage_address};
	/* The assignee (a follow-up), else the agents of the ticket's team; when that is nobody,
	 * the named mailbox or the triage address (an agent's own when it is one), else every
	 * active agent: a requester's words never reach nobody. */
	res = store_sql_run(
	    st, "tickets",
	    "WITH t AS (SELECT assignee_id, team FROM tickets WHERE id = $1::bigint),"
	    " direct AS (SELECT a.id, a.address, a.name FROM t JOIN agents a ON a.active"
	    "  AND $3::text IS NULL AND ((NOT $2::boolean AND a.id = t.assignee_id) OR"
	    "   ((t.assignee_id IS NULL OR $2::boolean) AND t.team <> '' AND a.team = t.team))),"
	    " named AS (SELECT coalesce(a.id, 0) AS id, lower(x.addr) AS address,"
	    "   coalesce(a.name, '') AS name FROM (SELECT coalesce($3, $4) AS addr) x"
	    "  LEFT JOIN agents a ON a.address = lower(x.addr) AND a.active"
	    "  WHERE x.addr IS NOT NULL AND NOT EXISTS (SELECT 1 FROM direct)),"
	    " everyone AS (SELECT a.id, a.address, a.name FROM agents a WHERE a.active"
	    "  AND NOT EXISTS (SELECT 1 FROM direct) AND NOT EXISTS (SELECT 1 FROM named))"
	    " SELECT id, address, CASE WHEN name = '' THEN address ELSE name END FROM ("
	    "  SELECT * FROM direct UNION ALL SELECT * FROM named UNION ALL SELECT * FROM everyone"
	    " ) r ORDER BY address",
	    G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	for (int i = 0; i < PQntuples(res) && rc == SPOC_OK; i++) {
		const struct store_notice n = {.kind = kind,
					       .ticket_id = ticket,
					       .message_row = message_row,
					       .recipient = PQgetvalue(res, i, 1),
					       .recipient_name = PQgetvalue(res, i, 2),
					       .language = es ? "es" : "en",
					       .body = body != NULL ? body : m->text_new,
					       .author = m->from.name != NULL ? m->from.name
									      : m->from.addr,
					       .agent_id = store_sql_i64(res, i, 0)};
		rc = store_queue_notice(st, d, &n, NULL, err);
	}
	PQclear(res);
	return rc;
}

/* TRUE when m has a file attached as such: an image shown inline (a signature's) is not one. */
static gboolean has_attached_file(const struct mail *m)
{
	for (guint i = 0; m->attachments != NULL && i < m->attachments->len; i++) {
		const struct mail_attachment *a = g_ptr_array_index(m->attachments, i);

		if (strcmp(a->disposition, "attachment") == 0)
			return TRUE;
	}
	return FALSE;
}

/* What a reply on a ticket sets off: an authenticated agent's commands are applied and answered,
 * and their text relayed to the participants (unless #internal); a participant's reply is
 * forwarded to the assignee. An agent whose mail is not proven theirs is told why nothing ran. */
int store_after_reply(struct store *st, const struct mail *m, const struct ingest_decision *d,
		      const struct judge_sender *who, const struct judge_plan *plan, int64_t ticket,
		      int64_t message_row, struct errbuf *err)
{
	gboolean es = d->desk_language != NULL && strcmp(d->desk_language, "es") == 0;
	struct command_block b = {0};
	GString *results = g_string_new(NULL);
	char tk[24], mr[24];
	int rc = SPOC_OK;

	/* Commands are read from, and the relay is made of, what the sender wrote; a message they
	 * forwarded below it (a vendor's mail, a colleague's thread) is someone else's words. */
	const char *text_new = m->text_new != NULL ? m->text_new : "";
	size_t own_len = MIN(m->text_new_forward_at, strlen(text_new));
	g_autofree char *own = g_strndup(text_new, own_len);
	const char *forwarded = text_new + own_len;

	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket);
	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, message_row);
	commands_parse(own, &b);
	if (plan->reply == JUDGE_REPLY_NONE)
		goto out;
	if (plan->reply == JUDGE_REPLY_UNPROVEN_AGENT) {
		{
			/* the sentence is the template's; the body is the border's reason */
			const struct store_notice n = {.kind = "command-unproven",
						       .ticket_id = ticket,
						       .message_row = message_row,
						       .recipient = m->from.addr,
						       .recipient_name = who->agent_name,
						       .language = es ? "es" : "en",
						       .agent_id = who->agent_id,
						       .author = who->agent_name,
						       .body = plan->unproven_why};
			rc = store_queue_notice(st, d, &n, NULL, err);
		}
		goto out;
	}
	if (plan->reply == JUDGE_REPLY_AGENT) {
		gboolean internal = FALSE, forward = FALSE;

		for (guint i = 0; i < b.commands->len; i++) {
			const struct command *c = g_ptr_array_index(b.commands, i);

			internal |= c->kind == COMMAND_INTERNAL;
			forward |= c->kind == COMMAND_FORWARD;
		}
		for (guint i = 0; i < b.errors->len; i++)
			command_results_add_error(results, g_ptr_array_index(b.errors, i));
		if (b.commands->len > 0 &&
		    (rc = apply_commands(st, &b, tk, m->from.addr, mr, results, err)) != SPOC_OK)
			goto out;
		if (!internal && !forward && forwarded[0] != '\0') {
			/* its separator line names it for the agent, as commands.h quotes lines */
			g_autofree char *line = g_strndup(forwarded, strcspn(forwarded, "\n"));
			g_autofree char *first = NULL;

			if (g_utf8_strlen(line, -1) > 80) {
				g_autofree char *cut = g_utf8_substring(line, 0, 80);

				first = g_strconcat(cut, "…", NULL);
			} else {
				first = g_strdup(line);
			}

			command_results_add(results, COMMAND_RESULT_WITHHELD, COMMAND_FORWARD,
					    first, NULL);
		}
		g_autofree char *relayed =
		    forward && forwarded[0] != '\0'
			? g_strconcat(b.rest, b.rest[0] != '\0' ? "\n\n" : "", forwarded, NULL)
			: g_strdup(b.rest);

		/* a forwarded message withheld keeps the mail's files on the ticket too (they
		 * cannot be told from the forward's); a file the agent attached is relayed even
		 * without a word beside it */
		gboolean withhold = !forward && forwarded[0] != '\0';

		if (!internal && (relayed[0] != '\0' || (!withhold && has_attached_file(m)))) {
			const struct store_notice n = {.kind = "agent-reply",
						       .ticket_id = ticket,
						       .message_row = message_row,
						       .body = relayed,
						       .author = who->agent_name,
						       .agent_id = who->agent_id,
						       .withhold_attachments = withhold};
			const char *fp[] = {tk};
			PGresult *moved;

			/* An agent's first public answer: the ticket is being worked on. Before the
			 * relay, so the requester gets one mail, the answer with the new status. */
			moved = as_agent(st, m->from.addr, mr,
					 "UPDATE tickets SET status = 'in-progress'," AS_AGENT_SET
					 " WHERE id = $1::bigint AND status = 'new'"
					 " AND $2::text IS NOT NULL",
					 tk, "", &rc, err);
			if (moved == NULL && rc != SPOC_OK)
				goto out;
			PQclear(moved);
			if ((rc = notify_participants(st, d, &n, err)) != SPOC_OK ||
			    (rc = store_sql_exec(
				 st, "tickets",
				 "UPDATE tickets SET first_response_at = now()"
				 " WHERE id = $1::bigint AND first_response_at IS NULL",
				 1, fp, err)) != SPOC_OK)
				goto out;
		}
		if (results->len > 0) {
			/* the record of results->str; the notifier puts it into words */
			const struct store_notice n = {.kind = "command-result",
						       .ticket_id = ticket,
						       .message_row = message_row,
						       .recipient = m->from.addr,
						       .recipient_name = who->agent_name,
						       .language = es ? "es" : "en",
						       .agent_id = who->agent_id,
						       .author = who->agent_name,
						       .body = results->str};
			rc = store_queue_notice(st, d, &n, NULL, err);
		}
		goto out;
	}
	rc = store_notify_desk(st, d, m, "follow-up", ticket, message_row, NULL, err);
out:
	command_block_clear(&b);
	g_string_free(results, TRUE);
	return rc;
}
