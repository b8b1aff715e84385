/* What a requester's own commands set off ("#close", "#my tickets", commands.h), once the judge
 * said the border verified them (judge.h): the ticket closed under the requester's name, only
 * when they are its requester; the list of their open tickets; and the answer to #close, codes
 * only (command_results.h), which the notifier puts into words. Runs in the ingest transaction. */
#include "store_priv.h"

#include "command_results.h"
#include "commands.h"
#include "ticket_list.h"

#include <string.h>

/* Closes ticket as the requester from, by email, the audit trail naming message_row (which keeps
 * the reason); *code_r says what happened: applied, not-yours (from is not its requester) or
 * already-closed. */
static int close_ticket(struct store *st, int64_t ticket, const char *from, const char *message_row,
			enum command_result_code *code_r, struct errbuf *err)
{
	char tk[24];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(tk, sizeof(tk), "%" G_GINT64_FORMAT, ticket);
	const char *p[] = {tk, from, message_row};
	res =
	    store_sql_run(st, "requester close",
			  "WITH t AS (SELECT id, status FROM tickets WHERE id = $1::bigint"
			  "  AND requester = lower($2) FOR UPDATE),"
			  " u AS (UPDATE tickets SET status = 'closed', changed_by = lower($2),"
			  "  changed_via = 'email', changed_by_message = $3::bigint"
			  "  WHERE id IN (SELECT id FROM t WHERE status <> 'closed') RETURNING id)"
			  " SELECT (SELECT count(*) FROM t), (SELECT count(*) FROM u)",
			  G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	*code_r = store_sql_i64(res, 0, 0) == 0	  ? COMMAND_RESULT_NOT_YOURS
		  : store_sql_i64(res, 0, 1) == 0 ? COMMAND_RESULT_ALREADY_CLOSED
						  : COMMAND_RESULT_APPLIED;
	PQclear(res);
	return SPOC_OK;
}

/* Queues the list of from's open tickets (ticket_list.h), oldest first, on no ticket. */
static int queue_list(struct store *st, const struct mail *m, const struct ingest_decision *d,
		      int64_t message_row, struct errbuf *err)
{
	GString *list = g_string_new(NULL);
	int rc = SPOC_OK;
	const char *p[] = {m->from.addr};
	PGresult *res = store_sql_run(
	    st, "requester tickets",
	    "SELECT display, status,"
	    "  CASE WHEN first_response_at IS NULL AND first_response_due IS NOT NULL"
	    "   THEN 'first-response' WHEN resolution_due IS NOT NULL THEN 'resolution' END,"
	    "  coalesce(extract(epoch FROM CASE WHEN first_response_at IS NULL"
	    "   AND first_response_due IS NOT NULL THEN first_response_due"
	    "   ELSE resolution_due END)::bigint, 0), subject"
	    " FROM tickets WHERE requester = lower($1)"
	    "  AND status IN ('new', 'in-progress', 'pending') ORDER BY id LIMIT 200",
	    1, p, NULL, &rc, err);

	if (res == NULL) {
		g_string_free(list, TRUE);
		return rc;
	}
	for (int i = 0; i < PQntuples(res); i++)
		ticket_list_add(list, PQgetvalue(res, i, 0), PQgetvalue(res, i, 1),
				PQgetisnull(res, i, 2) ? NULL : PQgetvalue(res, i, 2),
				store_sql_i64(res, i, 3), PQgetvalue(res, i, 4));
	PQclear(res);
	const struct store_notice n = {.kind = "my-tickets",
				       .message_row = message_row,
				       .recipient = m->from.addr,
				       .recipient_name = m->from.name,
				       .language = d->language,
				       .body = list->str};
	rc = store_queue_notice(st, d, &n, NULL, err);
	g_string_free(list, TRUE);
	return rc;
}

int store_requester_commands(struct store *st, const struct mail *m,
			     const struct ingest_decision *d, const struct judge_plan *plan,
			     int64_t message_row, struct errbuf *err)
{
	struct command_block b = {0};
	GString *results = g_string_new(NULL);
	char *text = NULL;
	char mr[24];
	int64_t on_ticket = 0;
	int rc = SPOC_OK;

	if ((!plan->requester_list && !plan->requester_answer) || m->from.addr == NULL)
		goto out;
	if (plan->requester_list && (rc = queue_list(st, m, d, message_row, err)) != SPOC_OK)
		goto out;
	if (!plan->requester_answer)
		goto out;
	g_snprintf(mr, sizeof(mr), "%" G_GINT64_FORMAT, message_row);
	text = judge_requester_text(m);
	commands_parse_requester(text, &b);
	for (guint i = 0; i < b.errors->len; i++) {
		const struct command_error *e = g_ptr_array_index(b.errors, i);

		/* an agent's command given wrong is an agent's command all the same */
		if (e->kind == COMMAND_CLOSE || e->kind == COMMAND_MY_TICKETS)
			command_results_add_error(results, e);
		else
			command_results_add(results, COMMAND_RESULT_AGENTS_ONLY, e->kind, e->line,
					    NULL);
	}
	for (guint i = 0; i < b.commands->len; i++) {
		const struct command *c = g_ptr_array_index(b.commands, i);
		enum command_result_code code = COMMAND_RESULT_NOT_YOURS;

		if (c->kind == COMMAND_MY_TICKETS)
			continue; /* answered by the list itself */
		if (c->kind != COMMAND_CLOSE) {
			command_results_add(results, COMMAND_RESULT_AGENTS_ONLY, c->kind, c->line,
					    NULL);
			continue;
		}
		if (plan->close_ticket_id != 0 &&
		    (rc = close_ticket(st, plan->close_ticket_id, m->from.addr, mr, &code, err)) !=
			SPOC_OK)
			goto out;
		/* only a ticket of theirs is named in the answer */
		if (code != COMMAND_RESULT_NOT_YOURS)
			on_ticket = plan->close_ticket_id;
		command_results_add(results, code, c->kind, c->line, NULL);
	}
	{
		const struct store_notice n = {.kind = "requester-result",
					       .ticket_id = on_ticket,
					       .message_row = message_row,
					       .recipient = m->from.addr,
					       .recipient_name = m->from.name,
					       .language = d->language,
					       .body = results->str};
		rc = store_queue_notice(st, d, &n, NULL, err);
	}
out:
	command_block_clear(&b);
	g_free(text);
	g_string_free(results, TRUE);
	return rc;
}
