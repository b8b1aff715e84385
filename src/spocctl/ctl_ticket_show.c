/* `spocctl ticket show`, and the fields of a ticket that list shares: one ticket with everything
 * about it, as text for people or as one JSON object (its fields, then participants, links,
 * events and messages, each message with its attachments). Subjects, names, addresses and the
 * conversation are strangers' text: the text is printed through ctl_say(), and what must stay
 * on its line through ctl_line(), so that nothing in it acts on the operator's terminal or starts
 * a line that reads as spocctl's own ("Sender: verified"). */
#include "csat.h"
#include "ctl_ticket.h"

#include <string.h>

/* ---- the ticket's fields ---- */

const struct ctl_column ctl_ticket_columns[CTL_TICKET_COLUMNS] = {
    {.key = "ticket", .head = "TICKET", .width = 10},
    {.key = "status", .head = "STATUS", .width = 11},
    {.key = "priority"},
    {.head = "PRI", .width = 3},
    {.key = "kind"},
    {.key = "assignee", .head = "ASSIGNEE", .width = 20, .cut = TRUE},
    {.key = "requester", .head = "REQUESTER", .width = 26, .cut = TRUE},
    {.key = "updated_at", .head = "UPDATED (UTC)", .width = 20},
    {.head = "SLA", .width = 20},
    {.key = "subject"},
    {.head = "SUBJECT"},
    {.key = "number"},
    {.key = "assignee_name"},
    {.key = "team"},
    {.key = "requester_name"},
    {.key = "created_at"},
    {.key = "first_response_due"},
    {.key = "first_response_at"},
    {.key = "first_response_breached"},
    {.key = "resolution_due"},
    {.key = "resolved_at"},
    {.key = "resolution_breached"},
    {.key = "breached"},
    {.key = "closed_at"},
    {.key = "language"},
    {.key = "impact"},
    {.key = "urgency"},
    {.key = "triage"},
    {.key = "kind_rule"},
    {.key = "priority_rule"},
    {.key = "paused"},
    {.key = "paused_since"},
    {.key = "paused_minutes"},
};

static gboolean is_open(const struct ticket_info *t)
{
	enum ticket_status s;

	return ticket_status_parse(t->status, &s) && ticket_status_is_open(s);
}

/* The table's SLA cell: an open ticket's next due time, that it is breached, or paused while
 * pending; for one no longer open, whether its targets were met. */
static const char *sla_cell(const struct ticket_info *t)
{
	gboolean breached = t->first_response_breached || t->resolution_breached;

	if (t->first_response_due == NULL && t->resolution_due == NULL)
		return "";
	if (!is_open(t))
		return breached ? "missed" : "met";
	/* waiting for its requester: the resolution clock is stopped */
	if (strcmp(t->status, "pending") == 0)
		return "paused";
	if (breached)
		return "BREACHED";
	if (t->first_response_at == NULL && t->first_response_due != NULL)
		return t->first_response_due;
	return t->resolution_due != NULL ? t->resolution_due : "";
}

void ctl_ticket_row(struct ctl_table *tb, const struct ticket_info *t, gboolean full)
{
	ctl_table_row(tb);
	ctl_table_str(tb, t->display);
	ctl_table_str(tb, t->status);
	ctl_table_int(tb, t->priority);
	ctl_table_printf(tb, "P%d", t->priority);
	ctl_table_str(tb, t->kind);
	ctl_table_str(tb, t->assignee);
	ctl_table_str(tb, t->requester);
	ctl_table_str(tb, t->updated_at);
	ctl_table_str(tb, sla_cell(t));
	ctl_table_str(tb, t->subject);
	ctl_table_str(tb, ctl_table_cut(tb, t->subject, 60));
	ctl_table_int(tb, t->number);
	ctl_table_str(tb, t->assignee_name);
	ctl_table_str(tb, t->team);
	ctl_table_str(tb, t->requester_name);
	ctl_table_str(tb, t->created_at);
	ctl_table_str(tb, t->first_response_due);
	ctl_table_str(tb, t->first_response_at);
	ctl_table_bool(tb, t->first_response_breached);
	ctl_table_str(tb, t->resolution_due);
	ctl_table_str(tb, t->resolved_at);
	ctl_table_bool(tb, t->resolution_breached);
	if (!full)
		return;
	ctl_table_bool(tb, t->first_response_breached || t->resolution_breached);
	ctl_table_str(tb, t->closed_at);
	ctl_table_str(tb, t->language);
	ctl_table_int(tb, t->impact);
	ctl_table_int(tb, t->urgency);
	ctl_table_bool(tb, t->triage);
	ctl_table_str(tb, t->kind_rule);
	ctl_table_str(tb, t->priority_rule);
	ctl_table_bool(tb, t->paused_at != NULL);
	ctl_table_str(tb, t->paused_at);
	ctl_table_int(tb, t->paused_minutes);
}

/* ---- show ---- */

static const struct ctl_column participant_columns[] = {
    {.key = "address"}, {.key = "name"}, {.key = "role"}, {.key = "added_at"},
    {.key = "unreachable"}};
static const struct ctl_column link_columns[] = {{.key = "kind"},    {.key = "direction"},
						 {.key = "ticket"},  {.key = "status"},
						 {.key = "subject"}, {.key = "created_at"}};
static const struct ctl_column event_columns[] = {
    {.key = "at"},	  {.key = "actor"},	{.key = "via"},	       {.key = "field"},
    {.key = "old_value"}, {.key = "new_value"}, {.key = "message_row"}};
static const struct ctl_column attachment_columns[] = {
    {.key = "name"}, {.key = "content_type"}, {.key = "size"}, {.key = "disposition"}};
static const struct ctl_column message_columns[] = {{.key = "id"},
						    {.key = "direction"},
						    {.key = "from"},
						    {.key = "from_name"},
						    {.key = "to"},
						    {.key = "cc"},
						    {.key = "subject"},
						    {.key = "date"},
						    {.key = "stored_at"},
						    {.key = "message_id"},
						    {.key = "internal"},
						    {.key = "automatic"},
						    {.key = "note"},
						    {.key = "sender_verdict"},
						    {.key = "sender_verdict_why"},
						    {.key = "quoted_left_out"},
						    {.key = "text"},
						    {.key = "attachments"}};

/* The elements of array as a JSON array appended to out: each a row of a table of cols,
 * filled by fill. */
static void json_list(GString *out, const struct ctl_column *cols, guint ncols,
		      const GPtrArray *array, void (*fill)(struct ctl_table *t, gconstpointer x))
{
	struct ctl_table *t = ctl_table_new(cols, ncols);

	g_string_append_c(out, '[');
	for (guint i = 0; i < array->len; i++) {
		ctl_table_row(t);
		fill(t, g_ptr_array_index(array, i));
		if (i > 0)
			g_string_append_c(out, ',');
		ctl_table_json_row(t, i, out);
	}
	g_string_append_c(out, ']');
	ctl_table_free(&t);
}

static void fill_participant(struct ctl_table *t, gconstpointer x)
{
	const struct ticket_participant *p = x;

	ctl_table_str(t, p->address);
	ctl_table_str(t, p->name);
	ctl_table_str(t, p->role);
	ctl_table_str(t, p->added_at);
	ctl_table_str(t, p->unreachable);
}

static void fill_link(struct ctl_table *t, gconstpointer x)
{
	const struct ticket_link *l = x;

	ctl_table_str(t, l->kind);
	ctl_table_str(t, l->outgoing ? "to" : "from");
	ctl_table_str(t, l->display);
	ctl_table_str(t, l->status);
	ctl_table_str(t, l->subject);
	ctl_table_str(t, l->created_at);
}

static void fill_event(struct ctl_table *t, gconstpointer x)
{
	const struct ticket_event *e = x;

	ctl_table_str(t, e->at);
	ctl_table_str(t, e->actor);
	ctl_table_str(t, e->via);
	ctl_table_str(t, e->field);
	ctl_table_str(t, e->old_value);
	ctl_table_str(t, e->new_value);
	if (e->message_row > 0)
		ctl_table_int(t, e->message_row);
	else
		ctl_table_null(t);
}

static void fill_attachment(struct ctl_table *t, gconstpointer x)
{
	const struct ticket_attachment *a = x;

	ctl_table_str(t, a->name);
	ctl_table_str(t, a->content_type);
	ctl_table_int(t, a->size);
	ctl_table_str(t, a->disposition);
}

static void fill_message(struct ctl_table *t, gconstpointer x)
{
	const struct ticket_message *m = x;
	GString *att = g_string_new(NULL);

	ctl_table_int(t, m->id);
	ctl_table_str(t, m->direction);
	ctl_table_str(t, m->from_addr);
	ctl_table_str(t, m->from_name);
	ctl_table_str(t, m->to_addrs);
	ctl_table_str(t, m->cc_addrs);
	ctl_table_str(t, m->subject);
	ctl_table_str(t, m->date);
	ctl_table_str(t, m->stored_at);
	ctl_table_str(t, m->message_id);
	ctl_table_bool(t, m->internal);
	ctl_table_str(t, m->automatic);
	ctl_table_str(t, m->note_why);
	ctl_table_str(t, m->sender_verdict);
	ctl_table_str(t, m->sender_verdict_why);
	ctl_table_bool(t, m->quoted);
	ctl_table_str(t, m->text);
	json_list(att, attachment_columns, G_N_ELEMENTS(attachment_columns), m->attachments,
		  fill_attachment);
	ctl_table_raw(t, att->str);
	g_string_free(att, TRUE);
}

static void show_json(const struct ticket_detail *d)
{
	struct ctl_table *t = ctl_table_new(ctl_ticket_columns, CTL_TICKET_COLUMNS);
	GString *out = g_string_new(NULL);

	ctl_ticket_row(t, d->ticket, TRUE);
	ctl_table_json_row(t, 0, out);
	ctl_table_free(&t);
	g_string_truncate(out, out->len - 1); /* the object goes on */
	g_string_append(out, ",\"participants\":");
	json_list(out, participant_columns, G_N_ELEMENTS(participant_columns), d->participants,
		  fill_participant);
	g_string_append(out, ",\"links\":");
	json_list(out, link_columns, G_N_ELEMENTS(link_columns), d->links, fill_link);
	g_string_append(out, ",\"events\":");
	json_list(out, event_columns, G_N_ELEMENTS(event_columns), d->events, fill_event);
	g_string_append(out, ",\"messages\":");
	json_list(out, message_columns, G_N_ELEMENTS(message_columns), d->messages, fill_message);
	g_string_append(out, "}\n");
	ctl_json_out(out->str);
	g_string_free(out, TRUE);
}

/* "Name <address>", or the address alone */
static void print_person(const char *label, const char *name, const char *address)
{
	if (name != NULL && name[0] != '\0')
		ctl_say("  %-16s %s <%s>\n", label, ctl_line(name), ctl_line(address));
	else
		ctl_say("  %-16s %s\n", label, ctl_line(address));
}

static void print_target(const char *label, const char *due, const char *met, gboolean breached)
{
	if (due == NULL && met == NULL)
		return;
	ctl_say("  %-16s due %s", label, due != NULL ? due : "(no target)");
	if (met != NULL)
		ctl_say(", met %s", met);
	ctl_say("%s\n", breached ? "  BREACHED" : "");
}

static void print_text(const char *text, const char *prefix)
{
	char **lines = g_strsplit(text, "\n", -1);
	guint n = g_strv_length(lines);

	while (n > 0 && g_strstrip(lines[n - 1])[0] == '\0')
		n--; /* trailing blank lines */
	for (guint i = 0; i < n; i++) {
		g_strchomp(lines[i]);
		/* no blank at the end of a line of the conversation */
		ctl_say("%.*s%s\n",
			lines[i][0] != '\0' ? (int)strlen(prefix) : (int)strlen(prefix) - 1, prefix,
			lines[i]);
	}
	g_strfreev(lines);
}

static void print_message(const struct ticket_message *m, guint n)
{
	char *automatic =
	    m->automatic != NULL ? g_strdup_printf("  [automatic: %s]", m->automatic) : NULL;

	ctl_say("\n--- %u. %s, %s%s%s%s\n", n,
		strcmp(m->direction, "in") == 0 ? "received" : "sent by the desk",
		ctl_line(m->date != NULL ? m->date : m->stored_at),
		m->internal ? "  [internal note]" : "",
		m->note_why == NULL			       ? ""
		: g_str_has_prefix(m->note_why, CSAT_WHY_RATED) ? "  [rating, kept as a note]"
							       : "  [thanks, kept as a note]",
		automatic != NULL ? ctl_line(automatic) : "");
	g_free(automatic);
	if (m->from_addr[0] != '\0')
		print_person("From:", m->from_name, m->from_addr);
	/* whether the From can be believed: only the border's pass verifies it */
	if (m->sender_verdict != NULL && strcmp(m->sender_verdict, "pass") != 0)
		ctl_say("  %-16s %s (%s)\n", "Sender:",
			strcmp(m->sender_verdict, "fail") == 0 ? "FAILED the border's check"
							       : "not verified",
			ctl_line(m->sender_verdict_why));
	else if (m->sender_verdict != NULL)
		ctl_say("  %-16s verified (%s)\n", "Sender:", ctl_line(m->sender_verdict_why));
	if (m->to_addrs[0] != '\0')
		ctl_say("  %-16s %s\n", "To:", ctl_line(m->to_addrs));
	if (m->cc_addrs[0] != '\0')
		ctl_say("  %-16s %s\n", "Cc:", ctl_line(m->cc_addrs));
	ctl_say("  %-16s %s\n", "Subject:", ctl_line(m->subject));
	/* why it reopened nothing and told nobody */
	if (m->note_why != NULL)
		ctl_say("  %-16s %s\n", "Note:", ctl_line(m->note_why));
	for (guint i = 0; i < m->attachments->len; i++) {
		const struct ticket_attachment *a = g_ptr_array_index(m->attachments, i);

		ctl_say("  %-16s %s (%" G_GINT64_FORMAT " bytes, %s%s)\n",
			i == 0 ? "Attachments:" : "", ctl_line(a->name), a->size,
			ctl_line(a->content_type),
			strcmp(a->disposition, "inline") == 0 ? ", inline" : "");
	}
	if (m->text[0] != '\0')
		print_text(m->text, "    | ");
	if (m->quoted)
		ctl_say("    (%squoted history left out)\n", m->text[0] != '\0' ? "" : "only ");
}

static void show_text(const struct ticket_detail *d)
{
	const struct ticket_info *t = d->ticket;

	ctl_say("%s  %s  P%d  %s\n", ctl_line(t->display), ctl_line(t->status), t->priority,
		ctl_line(t->kind));
	ctl_say("  %-16s %s\n", "subject:", ctl_line(t->subject));
	print_person("requester:", t->requester_name, t->requester);
	if (t->assignee != NULL)
		print_person("assignee:", t->assignee_name, t->assignee);
	else
		ctl_say("  %-16s nobody\n", "assignee:");
	if (t->team[0] != '\0')
		ctl_say("  %-16s %s\n", "team:", ctl_line(t->team));
	ctl_say("  %-16s impact %d, urgency %d%s%s\n", "priority:", t->impact, t->urgency,
		t->priority_rule[0] != '\0' ? "; " : "", ctl_line(t->priority_rule));
	ctl_say("  %-16s %s%s%s\n", "kind:", ctl_line(t->kind),
		t->kind_rule[0] != '\0' ? " by " : "", ctl_line(t->kind_rule));
	if (t->triage)
		ctl_say("  %-16s no rule decided the kind: a person should look\n", "triage:");
	ctl_say("  %-16s %s\n", "language:", ctl_line(t->language));
	ctl_say("  %-16s %s (UTC)\n", "created:", ctl_line(t->created_at));
	ctl_say("  %-16s %s (UTC)\n", "updated:", ctl_line(t->updated_at));
	print_target("first response:", t->first_response_due, t->first_response_at,
		     t->first_response_breached);
	print_target("resolution:", t->resolution_due, t->resolved_at, t->resolution_breached);
	/* the resolution clock stops while the ticket waits for its requester */
	if (t->paused_at != NULL)
		ctl_say("  %-16s since %s (UTC), the resolution clock is stopped; %" G_GINT64_FORMAT
			" min paused before\n",
			"paused:", ctl_line(t->paused_at), t->paused_minutes);
	else if (t->paused_minutes > 0)
		ctl_say("  %-16s %" G_GINT64_FORMAT
			" min in all, added to the resolution due time\n",
			"paused:", t->paused_minutes);
	if (t->closed_at != NULL)
		ctl_say("  %-16s %s\n", "closed:", ctl_line(t->closed_at));

	ctl_say("\nParticipants:\n");
	for (guint i = 0; i < d->participants->len; i++) {
		const struct ticket_participant *p = g_ptr_array_index(d->participants, i);

		ctl_say("  %-9s %s%s%s%s\n", ctl_line(p->role), ctl_line(p->address),
			p->name[0] != '\0' ? " (" : "", ctl_line(p->name),
			p->name[0] != '\0' ? ")" : "");
		if (p->unreachable != NULL)
			ctl_say("  %-9s UNREACHABLE: bounced %s\n", "",
				ctl_line(p->unreachable));
	}
	if (d->links->len > 0)
		ctl_say("\nLinks:\n");
	for (guint i = 0; i < d->links->len; i++) {
		const struct ticket_link *l = g_ptr_array_index(d->links, i);

		ctl_say("  %s %s %s (%s): %s\n", ctl_line(l->kind), l->outgoing ? "->" : "<-",
			ctl_line(l->display), ctl_line(l->status), ctl_line(l->subject));
	}
	ctl_say("\nHistory:\n");
	for (guint i = 0; i < d->events->len; i++) {
		const struct ticket_event *e = g_ptr_array_index(d->events, i);
		char *what = strcmp(e->field, "created") == 0
				 ? g_strdup_printf("created %s", e->new_value)
				 : g_strdup_printf("%s %s -> %s", e->field,
						   e->old_value != NULL ? e->old_value : "(none)",
						   e->new_value != NULL ? e->new_value : "(none)");

		ctl_say("  %s  %-36s by %s via %s\n", ctl_line(e->at), ctl_line(what),
			ctl_line(e->actor), ctl_line(e->via));
		g_free(what);
	}
	ctl_say("\nConversation: %u message%s\n", d->messages->len,
		d->messages->len == 1 ? "" : "s");
	for (guint i = 0; i < d->messages->len; i++)
		print_message(g_ptr_array_index(d->messages, i), i + 1);
}

int ctl_ticket_show(struct ctl *c, const char *ref)
{
	struct errbuf err = {{0}};
	struct ticket_detail *d = NULL;
	int64_t id = 0;
	int rc;

	if ((rc = ctl_ticket_find(c, "ticket show", ref, &id)) != 0)
		return rc;
	if ((rc = store_ticket_show(c->st, id, &d, &err)) != SPOC_OK)
		return ctl_fail(rc, &err);
	if (d == NULL) {
		ctl_err("ticket show: there is no ticket %s", ref);
		return CTL_EXIT_FAIL;
	}
	if (c->json)
		show_json(d);
	else
		show_text(d);
	ticket_detail_free(&d);
	return 0;
}
