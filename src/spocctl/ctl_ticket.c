/* `spocctl ticket list|show|set`: the tickets as an operator handles them. A change made here is
 * made under the operator's Unix name ("spocctl:alice") through the same database triggers as
 * any other writer's: the status model refuses what it refuses, the audit trail records it, and
 * the participants hear of a new status from the notifier. */
#include "ctl_ticket.h"
#include "inspect.h"

#include <pwd.h>
#include <string.h>
#include <unistd.h>

static gboolean in_list(const char *const *list, const char *s)
{
	for (; *list != NULL; list++)
		if (strcmp(*list, s) == 0)
			return TRUE;
	return FALSE;
}

/* INC-000123, REQ-000123 (any case) or a bare ticket number */
static gboolean ticket_ref_ok(const char *s)
{
	const char *digits = s;

	if (g_ascii_strncasecmp(s, "INC-", 4) == 0 || g_ascii_strncasecmp(s, "REQ-", 4) == 0)
		digits = s + 4;
	return digits[0] != '\0' && strspn(digits, "0123456789") == strlen(digits) &&
	       strlen(digits) <= 18;
}

int ctl_ticket_find(struct ctl *c, const char *what, const char *ref, int64_t *id_r)
{
	struct errbuf err = {{0}};
	int rc = store_ticket_by_ref(c->st, ref, id_r, &err);

	if (rc != SPOC_OK) {
		ctl_err("%s %s: %s", what, ref, err.msg);
		return ctl_exit_for(rc);
	}
	if (*id_r == 0) {
		ctl_err("%s: there is no ticket %s", what, ref);
		return CTL_EXIT_FAIL;
	}
	return 0;
}

/* ---- list ---- */

struct list_args {
	const char *status, *assignee, *requester;
	int limit;
};

static int ticket_list(struct ctl *c, const struct list_args *a)
{
	struct ticket_filter f = {
	    .status = a->status, .requester = a->requester, .limit = a->limit};
	struct errbuf err = {{0}};
	struct ctl_table *t;
	GPtrArray *list = NULL;
	int rc;

	if (a->assignee != NULL) {
		if ((rc = store_agent_by_ref(c->st, a->assignee, TRUE, &f.assignee_id, NULL,
					     &err)) != SPOC_OK)
			return ctl_fail(rc, &err);
		if (f.assignee_id == 0) {
			ctl_err("ticket list: there is no agent \"%s\" (an address, name "
				"or the part before the @; see spocctl agent list --all)",
				a->assignee);
			return CTL_EXIT_FAIL;
		}
	}
	if ((rc = store_ticket_list(c->st, &f, &list, &err)) != SPOC_OK)
		return ctl_fail(rc, &err);
	t = ctl_table_new(ctl_ticket_columns, CTL_TICKET_LIST_COLUMNS);
	for (guint i = 0; i < list->len; i++)
		ctl_ticket_row(t, g_ptr_array_index(list, i), FALSE);
	ctl_table_print(c, t, "No tickets.");
	if (!c->json && list->len > 0 && list->len == (guint)a->limit)
		ctl_say("(the newest %d; --limit N shows more)\n", a->limit);
	ctl_table_free(&t);
	g_ptr_array_unref(list);
	return 0;
}

/* ---- set ---- */

static const char *const set_fields[] = {"status", "priority", "assignee", "kind", NULL};

/* The value as store_ticket_set() takes it, in *value_r (NULL: unassign); FALSE after a
 * message naming it when it is not one. */
static gboolean set_value(enum ticket_field field, const char *v, const char **value_r)
{
	static const char *const prios[] = {"1", "2", "3", "4", "5", NULL};
	const char *p = v;

	*value_r = v;
	switch (field) {
	case TICKET_FIELD_STATUS:
		if (in_list(ticket_status_names, v))
			return TRUE;
		ctl_err("ticket set: status: \"%s\" is not a status (new, in-progress, pending, "
			"resolved, closed)",
			v);
		return FALSE;
	case TICKET_FIELD_PRIORITY:
		if (p[0] == 'P' || p[0] == 'p')
			p++;
		for (const char *const *x = prios; *x != NULL; x++)
			if (strcmp(p, *x) == 0) {
				*value_r = *x;
				return TRUE;
			}
		ctl_err("ticket set: priority: \"%s\" is not a priority (P1..P5 or 1..5)", v);
		return FALSE;
	case TICKET_FIELD_ASSIGNEE:
		if (strcmp(v, "none") == 0)
			*value_r = NULL;
		if (v[0] != '\0' && g_utf8_validate(v, -1, NULL))
			return TRUE;
		ctl_err("ticket set: assignee: \"%s\" is not an agent (an "
			"address, name or the part before the @; none unassigns)",
			v);
		return FALSE;
	case TICKET_FIELD_KIND:
		if (in_list(ticket_kind_names, v))
			return TRUE;
		ctl_err("ticket set: kind: \"%s\" is not incident or request", v);
		return FALSE;
	}
	return FALSE;
}

/* "spocctl:" and the Unix user running us, for the audit trail. Caller frees. */
static char *actor_name(void)
{
	struct passwd *pw = getpwuid(geteuid());

	if (pw != NULL && pw->pw_name != NULL && pw->pw_name[0] != '\0')
		return g_strconcat("spocctl:", pw->pw_name, NULL);
	return g_strdup_printf("spocctl:uid%lu", (unsigned long)geteuid());
}

static void set_json(const char *field, const struct ticket_change *ch, gboolean changed)
{
	GString *out = g_string_new("{\"ticket\":");

	json_string(out, ch->display);
	g_string_append(out, ",\"field\":");
	json_string(out, field);
	g_string_append(out, ",\"old\":");
	json_string(out, ch->old_value);
	g_string_append(out, ",\"new\":");
	json_string(out, ch->new_value);
	g_string_append_printf(out, ",\"changed\":%s,\"notices\":%d}\n", changed ? "true" : "false",
			       ch->notices);
	ctl_json_out(out->str);
	g_string_free(out, TRUE);
}

static int ticket_set(struct ctl *c, const char *ref, const char *field, enum ticket_field f,
		      const char *value)
{
	struct errbuf err = {{0}};
	struct ticket_change ch = {0};
	char *actor = actor_name();
	int64_t id = 0;
	int rc;

	if ((rc = ctl_ticket_find(c, "ticket set", ref, &id)) != 0) {
		g_free(actor);
		return rc;
	}
	rc = store_ticket_set(c->st, id, f, value, actor, &ch, &err);
	g_free(actor);
	if (rc != SPOC_OK) {
		ctl_err("ticket set %s %s: %s", ref, field, err.msg);
		ticket_change_clear(&ch);
		return ctl_exit_for(rc);
	}
	switch (ch.result) {
	case TICKET_SET_NOT_FOUND:
		ctl_err("ticket set: there is no ticket %s", ref);
		rc = CTL_EXIT_FAIL;
		break;
	case TICKET_SET_NO_AGENT:
		ctl_err("ticket set %s assignee: there is no active agent \"%s\" (see spocctl "
			"agent list)",
			ch.display, value);
		rc = CTL_EXIT_FAIL;
		break;
	case TICKET_SET_REFUSED:
		ctl_err("ticket set %s %s: refused: %s", ch.display, field, err.msg);
		rc = CTL_EXIT_FAIL;
		break;
	case TICKET_SET_UNCHANGED:
		if (c->json)
			set_json(field, &ch, FALSE);
		else
			ctl_say("%s: %s is already %s: nothing changed\n", ctl_line(ch.display),
				field, ch.new_value != NULL ? ctl_line(ch.new_value) : "nobody");
		break;
	default:
		if (c->json) {
			set_json(field, &ch, TRUE);
			break;
		}
		ctl_say("%s: %s %s -> %s", ctl_line(ch.display), field,
			ch.old_value != NULL ? ctl_line(ch.old_value) : "(nobody)",
			ch.new_value != NULL ? ctl_line(ch.new_value) : "(nobody)");
		if (ch.notices > 0)
			ctl_say("; %d status update%s queued for the participants", ch.notices,
				ch.notices == 1 ? "" : "s");
		if (f == TICKET_FIELD_KIND)
			ctl_say("; its number is now %s", ctl_line(ch.display));
		ctl_say("\n");
	}
	ticket_change_clear(&ch);
	return rc;
}

/* ---- arguments ---- */

int ctl_ticket(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *limit_arg = NULL, *pos[3] = {NULL};
	struct list_args la = {.limit = 50};
	gboolean list;
	int npos = 0, rc, f = -1;

	if (!ctl_subcommand("ticket", sub, (const char *const[]){"list", "show", "set", NULL}))
		return CTL_EXIT_USAGE;
	list = strcmp(sub, "list") == 0;
	for (int i = 2; i < argc; i++) {
		const char **value = NULL;

		if (strcmp(argv[i], "--json") == 0) {
			c->json = TRUE;
			continue;
		}
		if (list && strcmp(argv[i], "--status") == 0)
			value = &la.status;
		else if (list &&
			 (strcmp(argv[i], "--mine") == 0 || strcmp(argv[i], "--assignee") == 0)) {
			if (la.assignee != NULL) {
				ctl_err("ticket list: --mine and --assignee name one agent: give "
					"one of them once");
				return CTL_EXIT_USAGE;
			}
			value = &la.assignee;
		} else if (list && strcmp(argv[i], "--requester") == 0)
			value = &la.requester;
		else if (list && strcmp(argv[i], "--limit") == 0)
			value = &limit_arg;
		if (value != NULL) {
			if (!ctl_option_value(argc, argv, &i, "ticket list", value))
				return CTL_EXIT_USAGE;
		} else if (!list && npos < (strcmp(sub, "set") == 0 ? 3 : 1) &&
			   (argv[i][0] != '-' || npos == 2)) {
			pos[npos++] = argv[i];
		} else {
			ctl_err("ticket %s: unexpected \"%s\"", sub, argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (list) {
		if (la.status != NULL && !in_list(ticket_status_names, la.status) &&
		    strcmp(la.status, "open") != 0) {
			ctl_err("ticket list: --status: \"%s\" is not a status (new, in-progress, "
				"pending, resolved, closed, or open for the first three)",
				la.status);
			return CTL_EXIT_USAGE;
		}
		if (limit_arg != NULL && (la.limit = ctl_parse_limit(limit_arg)) < 0) {
			ctl_err("ticket list: --limit: \"%s\" is not a number from 1 to 10000",
				limit_arg);
			return CTL_EXIT_USAGE;
		}
	} else {
		if (pos[0] == NULL || !ticket_ref_ok(pos[0])) {
			ctl_err("ticket %s: %s%s%s", sub,
				pos[0] == NULL
				    ? "give the ticket (INC-000123, REQ-000123 or its number)"
				    : "\"",
				pos[0] != NULL ? pos[0] : "",
				pos[0] != NULL
				    ? "\" is not a ticket (INC-000123, REQ-000123 or its number)"
				    : "");
			return CTL_EXIT_USAGE;
		}
	}
	if (strcmp(sub, "set") == 0) {
		for (int i = 0; set_fields[i] != NULL && pos[1] != NULL; i++)
			if (strcmp(pos[1], set_fields[i]) == 0)
				f = i;
		if (f < 0) {
			ctl_err("ticket set %s: %s%s%s (status, priority, assignee, kind)", pos[0],
				pos[1] == NULL ? "which field?" : "\"",
				pos[1] != NULL ? pos[1] : "",
				pos[1] != NULL ? "\" is not a field" : "");
			return CTL_EXIT_USAGE;
		}
		if (pos[2] == NULL) {
			ctl_err("ticket set %s %s: give the new value", pos[0], pos[1]);
			return CTL_EXIT_USAGE;
		}
		if (!set_value((enum ticket_field)f, pos[2], &pos[2]))
			return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	if (list)
		return ticket_list(c, &la);
	if (strcmp(sub, "show") == 0)
		return ctl_ticket_show(c, pos[0]);
	return ticket_set(c, pos[0], pos[1], (enum ticket_field)f, pos[2]);
}
