/* `spocctl outbox list|show|retry`: the notifier's outbox. An operator looks at what was sent,
 * what failed or is held by a rate limit and why, and pushes a failed, held or pending
 * notification again (sent then whatever the rate limits say: the operator decided); a sent one
 * is never sent twice. A notice relays a requester's text and a bounce's reason, strangers' words:
 * show prints them visible (ctl_say()), and only --raw gives the bytes as sent, never to a
 * terminal unless --force. */
#include "ctl.h"
#include "store_admin.h"

#include <string.h>

static const char *const outbox_states[] = {"pending", "sent", "failed", "held", NULL};

static gboolean outbox_state_ok(const char *s)
{
	for (const char *const *p = outbox_states; *p != NULL; p++)
		if (strcmp(s, *p) == 0)
			return TRUE;
	return FALSE;
}

/* A notification's fields: the first OUTBOX_LIST_COLUMNS are those of list (its JSON and its
 * table, which orders them for reading), the rest are show's JSON only. */
#define OUTBOX_LIST_COLUMNS 12
static const struct ctl_column outbox_columns[] = {
    {.key = "id", .head = "ID", .width = 6},
    {.head = "STATE", .width = 7},
    {.key = "kind", .head = "KIND", .width = 14},
    {.key = "state"},
    {.key = "ticket", .head = "TICKET", .width = 10},
    {.key = "recipient"},
    {.key = "attempts", .head = "TRIES", .width = 5, .right = TRUE},
    {.key = "created_at", .head = "QUEUED (UTC)", .width = 20},
    {.head = "RECIPIENT", .width = 28, .cut = TRUE},
    {.key = "next_attempt_at"},
    {.key = "last_error"},
    {.head = "DUE (UTC) / LAST ERROR"},
    {.key = "recipient_name"},
    {.key = "language"},
    {.key = "message_id"},
    {.key = "sent_at"},
    {.key = "retried_at"},
    {.key = "bounced_at"},
    {.key = "bounce_reason"},
    {.key = "detail"},
    {.key = "body"},
    {.key = "sent_bytes"},
};

/* e as a row of t, with show's fields when t has them. */
static void outbox_row(struct ctl_table *t, const struct outbox_entry *e, gboolean full)
{
	/* a held row is due again at its release, when the limits are asked again */
	gboolean pending = strcmp(e->state, "pending") == 0 || strcmp(e->state, "held") == 0;
	const char *why;

	ctl_table_row(t);
	ctl_table_int(t, e->id);
	ctl_table_str(t, e->state);
	ctl_table_str(t, e->kind);
	ctl_table_str(t, e->state);
	ctl_table_str(t, e->ticket_display);
	ctl_table_str(t, e->recipient);
	ctl_table_int(t, e->attempts);
	ctl_table_str(t, e->created_at);
	ctl_table_str(t, e->recipient);
	ctl_table_str(t, e->next_attempt_at);
	ctl_table_str(t, e->last_error);
	why = ctl_table_cut(t, e->last_error, 60);
	ctl_table_printf(t, "%s%s%s", pending ? e->next_attempt_at : "",
			 pending && *why != '\0' ? " " : "", why);
	if (!full)
		return;
	ctl_table_str(t, e->recipient_name);
	ctl_table_str(t, e->language);
	ctl_table_str(t, e->message_id);
	ctl_table_str(t, e->sent_at);
	ctl_table_str(t, e->retried_at);
	ctl_table_str(t, e->bounced_at);
	ctl_table_str(t, e->bounce_reason);
	ctl_table_raw(t, e->detail); /* jsonb's text is JSON already */
	ctl_table_str(t, e->body);
	if (e->raw != NULL)
		ctl_table_int(t, (int64_t)g_bytes_get_size(e->raw));
	else
		ctl_table_null(t);
}

static int outbox_list(struct ctl *c, const char *state, int limit)
{
	struct errbuf err = {{0}};
	struct ctl_table *t;
	GPtrArray *list = NULL;
	char *empty;
	int rc = store_outbox_list(c->st, state, limit, &list, &err);

	if (rc != SPOC_OK)
		return ctl_fail(rc, &err);
	t = ctl_table_new(outbox_columns, OUTBOX_LIST_COLUMNS);
	for (guint i = 0; i < list->len; i++)
		outbox_row(t, g_ptr_array_index(list, i), FALSE);
	empty = state != NULL ? g_strdup_printf("No notification is %s.", state)
			      : g_strdup("The outbox is empty.");
	ctl_table_print(c, t, empty);
	if (!c->json && list->len > 0 && list->len == (guint)limit)
		ctl_say("(the newest %d; --limit N shows more)\n", limit);
	g_free(empty);
	ctl_table_free(&t);
	g_ptr_array_unref(list);
	return 0;
}

/* text indented by prefix on every line, for the body of a notice; ctl_say() keeps the lines and
 * tabs and escapes everything else a terminal would act on */
static void print_indented(const char *text, const char *prefix)
{
	char **lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l != NULL; l++) {
		if (l[1] == NULL && **l == '\0')
			break; /* the text's final newline */
		g_strchomp(*l);
		ctl_say("%s%s\n", prefix, *l);
	}
	g_strfreev(lines);
}

/* The notification as text; len is the size of what was sent. */
static void outbox_print(const struct outbox_entry *e, gsize len)
{
	ctl_say("Outbox notification %" G_GINT64_FORMAT ": %s, %s\n", e->id, ctl_line(e->kind),
		ctl_line(e->state));
	ctl_say("  ticket:       %s\n", ctl_line(e->ticket_display));
	if (e->recipient_name != NULL && e->recipient_name[0] != '\0')
		ctl_say("  to:           %s <%s>\n", ctl_line(e->recipient_name),
			ctl_line(e->recipient));
	else
		ctl_say("  to:           %s\n", ctl_line(e->recipient));
	ctl_say("  language:     %s\n", ctl_line(e->language));
	ctl_say("  Message-ID:   %s\n",
		e->message_id != NULL ? ctl_line(e->message_id) : "(not minted yet)");
	ctl_say("  queued:       %s (UTC)\n", ctl_line(e->created_at));
	ctl_say("  attempts:     %d\n", e->attempts);
	if (strcmp(e->state, "pending") == 0)
		ctl_say("  due:          %s (UTC)\n", ctl_line(e->next_attempt_at));
	if (strcmp(e->state, "held") == 0)
		ctl_say("  held until:   %s (UTC), then the rate limits are asked again\n",
			ctl_line(e->next_attempt_at));
	if (e->retried_at != NULL)
		ctl_say("  retried:      %s (UTC), by an operator\n", ctl_line(e->retried_at));
	if (e->sent_at != NULL)
		ctl_say("  sent:         %s (UTC)\n", ctl_line(e->sent_at));
	if (e->last_error[0] != '\0')
		ctl_say("  last error:   %s\n", ctl_line(e->last_error));
	if (e->bounced_at != NULL)
		ctl_say("  bounced:      %s (UTC): %s\n", ctl_line(e->bounced_at),
			ctl_line(e->bounce_reason));
	if (e->detail != NULL && strcmp(e->detail, "{}") != 0)
		ctl_say("  detail:       %s\n", ctl_line(e->detail));
	if (e->body != NULL && e->body[0] != '\0') {
		ctl_say("  text:\n");
		print_indented(e->body, "    | ");
	}
	if (e->raw != NULL)
		ctl_say("\nSent as %" G_GSIZE_FORMAT
			" bytes; see them with: spocctl outbox show %" G_GINT64_FORMAT " --raw\n",
			len, e->id);
	else if (strcmp(e->state, "held") == 0)
		ctl_say("\nSend it now, whatever the rate limits say, with: spocctl outbox retry "
			"%" G_GINT64_FORMAT "\n",
			e->id);
	else if (strcmp(e->state, "sent") != 0)
		ctl_say("\nSend it again now with: spocctl outbox retry %" G_GINT64_FORMAT "\n",
			e->id);
}

/* raw_only: the bytes as sent, which ctl_outbox() let through only to a file or a pipe, or
 * with --force. */
static int outbox_show(struct ctl *c, int64_t id, gboolean raw_only)
{
	struct errbuf err = {{0}};
	struct outbox_entry *e = NULL;
	int rc = store_outbox_show(c->st, id, &e, &err);
	gsize len = 0;
	const char *raw;

	if (rc != SPOC_OK)
		return ctl_fail(rc, &err);
	if (e == NULL) {
		ctl_err("outbox %" G_GINT64_FORMAT ": no such notification", id);
		return CTL_EXIT_FAIL;
	}
	raw = e->raw != NULL ? g_bytes_get_data(e->raw, &len) : NULL;
	if (raw_only) {
		if (e->raw == NULL) {
			ctl_err("outbox %" G_GINT64_FORMAT
				": nothing was sent (it is %s), so there is no message to print",
				id, e->state);
			outbox_entry_free(e);
			return CTL_EXIT_FAIL;
		}
		fwrite(raw, 1, len, stdout);
	} else if (c->json) {
		struct ctl_table *t = ctl_table_new(outbox_columns, G_N_ELEMENTS(outbox_columns));
		GString *out = g_string_new(NULL);

		outbox_row(t, e, TRUE);
		ctl_table_json_row(t, 0, out);
		g_string_append_c(out, '\n');
		ctl_json_out(out->str);
		g_string_free(out, TRUE);
		ctl_table_free(&t);
	} else {
		outbox_print(e, len);
	}
	outbox_entry_free(e);
	return 0;
}

static int outbox_retry(struct ctl *c, int64_t id)
{
	struct errbuf err = {{0}};
	int result = OUTBOX_REQUEUE_NOT_FOUND;
	int rc = store_outbox_requeue(c->st, id, &result, &err);

	if (rc != SPOC_OK) {
		ctl_err("outbox retry %" G_GINT64_FORMAT ": %s", id, err.msg);
		return ctl_exit_for(rc);
	}
	if (result == OUTBOX_REQUEUE_NOT_FOUND) {
		ctl_err("outbox %" G_GINT64_FORMAT ": no such notification", id);
		return CTL_EXIT_FAIL;
	}
	if (result == OUTBOX_REQUEUE_ALREADY_SENT) {
		ctl_err("outbox %" G_GINT64_FORMAT
			": already sent; a sent notification is never sent again",
			id);
		return CTL_EXIT_FAIL;
	}
	if (c->json)
		printf("{\"id\":%" G_GINT64_FORMAT ",\"state\":\"pending\",\"retried\":true}\n",
		       id);
	else
		ctl_say("outbox %" G_GINT64_FORMAT
			": pending again, due now and outside the rate limits (the running spocd "
			"sends it at once)\n",
			id);
	return 0;
}

int ctl_outbox(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *state = NULL, *limit_arg = NULL;
	gboolean raw = FALSE, force = FALSE, list;
	int64_t id = -1;
	int limit = 50, rc;

	if (!ctl_subcommand("outbox", sub, (const char *const[]){"list", "show", "retry", NULL}))
		return CTL_EXIT_USAGE;
	list = strcmp(sub, "list") == 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = TRUE;
		else if (strcmp(argv[i], "--raw") == 0 && strcmp(sub, "show") == 0)
			raw = TRUE;
		else if (strcmp(argv[i], "--force") == 0 && strcmp(sub, "show") == 0)
			force = TRUE;
		else if (strcmp(argv[i], "--state") == 0 && list) {
			if (!ctl_option_value(argc, argv, &i, "outbox list", &state))
				return CTL_EXIT_USAGE;
		} else if (strcmp(argv[i], "--limit") == 0 && list) {
			if (!ctl_option_value(argc, argv, &i, "outbox list", &limit_arg))
				return CTL_EXIT_USAGE;
		} else if (id < 0 && !list && argv[i][0] != '-') {
			if ((id = ctl_parse_id(argv[i])) <= 0) {
				ctl_err("outbox %s: \"%s\" is not a notification ID (a positive "
					"number)",
					sub, argv[i]);
				return CTL_EXIT_USAGE;
			}
		} else {
			ctl_err("outbox %s: unexpected \"%s\"", sub, argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (state != NULL && !outbox_state_ok(state)) {
		ctl_err("outbox list: --state: \"%s\" is not a state (pending, sent, failed, held)",
			state);
		return CTL_EXIT_USAGE;
	}
	if (limit_arg != NULL && (limit = ctl_parse_limit(limit_arg)) < 0) {
		ctl_err("outbox list: --limit: \"%s\" is not a number from 1 to 10000", limit_arg);
		return CTL_EXIT_USAGE;
	}
	if (!list && id <= 0) {
		ctl_err("outbox %s: give the notification's ID (a positive number)", sub);
		return CTL_EXIT_USAGE;
	}
	if (force && !raw) {
		ctl_err("outbox show: --force goes with --raw (it lets the bytes as sent reach a "
			"terminal)");
		return CTL_EXIT_USAGE;
	}
	if (raw) {
		char *what = g_strdup_printf("outbox show %" G_GINT64_FORMAT, id);

		rc = ctl_raw_allowed(what, force);
		g_free(what);
		if (rc != 0)
			return rc;
	}
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	if (list)
		return outbox_list(c, state, limit);
	if (strcmp(sub, "show") == 0)
		return outbox_show(c, id, raw);
	return outbox_retry(c, id);
}
