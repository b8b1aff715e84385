/* `spocctl address list|clear`: the addresses a hard bounce marked unreachable, whose automatic
 * mail is held (bounce.suppress_days), and making one reachable again by hand (a mail from it
 * does the same by itself). */
#include "ctl.h"
#include "inspect.h"
#include "store.h"

#include <string.h>

static const struct ctl_column address_columns[] = {
    {.key = "address", .head = "ADDRESS", .width = 32},
    {.key = "bouncing", .head = "BOUNCING", .width = 9},
    {.key = "bounces", .head = "BOUNCES", .width = 8, .right = TRUE},
    {.key = "held", .head = "HELD", .width = 5, .right = TRUE},
    {.key = "last_bounce_at", .head = "LAST BOUNCE (UTC)", .width = 21},
    {.key = "last_reason", .head = "REASON", .sep = "  "},
};

static int address_list(struct ctl *c, gboolean all)
{
	struct errbuf err = {{0}};
	struct ctl_table *t;
	GPtrArray *list = NULL;
	int rc = store_address_list(c->st, all, &list, &err);

	if (rc != SPOC_OK)
		return ctl_fail(rc, &err);
	t = ctl_table_new(address_columns, G_N_ELEMENTS(address_columns));
	for (guint i = 0; i < list->len; i++) {
		const struct address_state *a = g_ptr_array_index(list, i);

		ctl_table_row(t);
		ctl_table_str(t, a->address);
		ctl_table_bool(t, a->bouncing);
		ctl_table_int(t, a->bounces);
		ctl_table_int(t, a->held);
		ctl_table_str(t, a->last_bounce_at);
		ctl_table_str(t, ctl_table_cut(t, a->last_reason, 60));
	}
	ctl_table_print(c, t,
			all ? "No address has bounced." : "No address is marked unreachable.");
	ctl_table_free(&t);
	g_ptr_array_unref(list);
	return 0;
}

int ctl_address(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *address = NULL;
	struct errbuf err = {{0}};
	gboolean all = FALSE, found = FALSE;
	int64_t released = 0;
	int rc;

	if (!ctl_subcommand("address", sub, (const char *const[]){"list", "clear", NULL}))
		return CTL_EXIT_USAGE;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0 && strcmp(sub, "list") == 0)
			all = TRUE;
		else if (strcmp(argv[i], "--json") == 0)
			c->json = TRUE;
		else if (address == NULL && strcmp(sub, "clear") == 0 && argv[i][0] != '-')
			address = argv[i];
		else {
			ctl_err("address %s: unexpected \"%s\"", sub, argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (strcmp(sub, "clear") == 0 &&
	    (address == NULL || strchr(address, '@') == NULL || !g_utf8_validate(address, -1, NULL))) {
		ctl_err("address clear: give the email address");
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return address_list(c, all);
	if ((rc = store_address_clear(c->st, address, &released, &found, &err)) != SPOC_OK) {
		ctl_err("address clear %s: %s", address, err.msg);
		return ctl_exit_for(rc);
	}
	if (!found) {
		ctl_err("address clear: %s is not marked unreachable", address);
		return CTL_EXIT_FAIL;
	}
	if (c->json) {
		GString *out = g_string_new("{\"address\":");

		json_string(out, address);
		g_string_append_printf(out, ",\"cleared\":true,\"released\":%" G_GINT64_FORMAT "}\n",
				       released);
		ctl_json_out(out->str);
		g_string_free(out, TRUE);
	} else {
		ctl_say("address %s: reachable again; %" G_GINT64_FORMAT
			" held notification(s) due now\n",
			ctl_line(address), released);
	}
	return 0;
}
