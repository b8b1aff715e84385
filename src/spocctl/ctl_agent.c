/* `spocctl agent add|list|disable|revoke`: the desk's agents, by address. A disabled agent keeps
 * its row for the audit trail. */
#include "ctl.h"
#include "inspect.h"
#include "store.h"

#include <string.h>

/* A plausible addr-spec for an agent: one '@' with something on both sides, no blanks, no
 * brackets. */
static gboolean agent_address_ok(const char *a)
{
	const char *at = strchr(a, '@');

	return at != NULL && at != a && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
	       strpbrk(a, " \t\r\n<>\"(),;:") == NULL && g_utf8_validate(a, -1, NULL) &&
	       strlen(a) <= 254;
}

static const struct ctl_column agent_columns[] = {
    {.key = "id"},
    {.key = "address", .head = "ADDRESS", .width = 32},
    {.key = "name", .head = "NAME", .width = 24, .cut = TRUE},
    {.key = "team", .head = "TEAM", .width = 16, .cut = TRUE},
    {.key = "active", .head = "ACTIVE", .width = 8},
    {.key = "open_tickets", .head = "OPEN"},
};

static int agent_list(struct ctl *c, gboolean all)
{
	struct errbuf err = {{0}};
	struct ctl_table *t;
	GPtrArray *list = NULL;
	int rc = store_agent_list(c->st, all, &list, &err);

	if (rc != SPOC_OK)
		return ctl_fail(rc, &err);
	t = ctl_table_new(agent_columns, G_N_ELEMENTS(agent_columns));
	for (guint i = 0; i < list->len; i++) {
		const struct agent *a = g_ptr_array_index(list, i);

		ctl_table_row(t);
		ctl_table_int(t, a->id);
		ctl_table_str(t, a->address);
		ctl_table_str(t, a->name);
		ctl_table_str(t, a->team);
		ctl_table_bool(t, a->active);
		ctl_table_int(t, a->open_tickets);
	}
	ctl_table_print(c, t, "No agents yet: add one with spocctl agent add ADDRESS --name NAME.");
	ctl_table_free(&t);
	g_ptr_array_unref(list);
	return 0;
}

int ctl_agent(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *address = NULL, *name = NULL, *team = NULL;
	struct errbuf err = {{0}};
	gboolean all = FALSE, flag = FALSE;
	int rc;

	if (!ctl_subcommand("agent", sub,
			    (const char *const[]){"add", "list", "disable", "revoke", NULL}))
		return CTL_EXIT_USAGE;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0 && strcmp(sub, "list") == 0)
			all = TRUE;
		else if (strcmp(argv[i], "--json") == 0)
			c->json = TRUE;
		else if (strcmp(argv[i], "--name") == 0 && i + 1 < argc && strcmp(sub, "add") == 0)
			name = argv[++i];
		else if (strcmp(argv[i], "--team") == 0 && i + 1 < argc && strcmp(sub, "add") == 0)
			team = argv[++i];
		else if (address == NULL && strcmp(sub, "list") != 0 && argv[i][0] != '-')
			address = argv[i];
		else {
			ctl_err("agent %s: unexpected \"%s\"", sub, argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (strcmp(sub, "list") != 0 && (address == NULL || !agent_address_ok(address))) {
		ctl_err("agent %s: give the agent's email address%s%s%s", sub,
			address != NULL ? " (\"" : "", address != NULL ? address : "",
			address != NULL ? "\" is not one)" : "");
		return CTL_EXIT_USAGE;
	}
	if ((name != NULL && !g_utf8_validate(name, -1, NULL)) ||
	    (team != NULL && !g_utf8_validate(team, -1, NULL))) {
		ctl_err("agent add: name and team must be UTF-8");
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return agent_list(c, all);
	if (strcmp(sub, "add") == 0)
		rc = store_agent_add(c->st, address, name, team, &flag, &err);
	else
		rc = store_agent_disable(c->st, address, strcmp(sub, "revoke") == 0, &flag, &err);
	if (rc != SPOC_OK) {
		ctl_err("agent %s %s: %s", sub, address, err.msg);
		return ctl_exit_for(rc);
	}
	if (strcmp(sub, "add") != 0 && !flag) {
		ctl_err("agent %s: %s is not an agent", sub, address);
		return CTL_EXIT_FAIL;
	}
	if (c->json) {
		GString *out = g_string_new("{\"address\":");

		/* an address may hold a backslash or a quote: escaped, never pasted */
		json_string(out, address);
		g_string_append_printf(out, ",\"%s\":true}\n",
				       strcmp(sub, "disable") == 0  ? "disabled"
				       : strcmp(sub, "revoke") == 0 ? "revoked"
				       : flag			    ? "created"
								    : "updated");
		ctl_json_out(out->str);
		g_string_free(out, TRUE);
	} else
		ctl_say("agent %s: %s\n", ctl_line(address),
			strcmp(sub, "disable") == 0  ? "disabled"
			: strcmp(sub, "revoke") == 0 ? "every reply address issued so far revoked"
			: flag			     ? "added"
						     : "updated and active");
	return 0;
}
