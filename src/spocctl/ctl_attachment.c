/* `spocctl attachment list|get`: the files a ticket's mails carried, and the bytes of one as
 * stored, for what a notice could not carry (too large, or a program) and lists with this
 * command. The bytes were a stranger's: they go to a file (-o) or a pipe, and to a terminal
 * only with --force; list prints names and types through the record writer, made visible. */
#include "ctl.h"
#include "ctl_ticket.h"
#include "store_admin.h"

#include <string.h>
#include <unistd.h>

static const struct ctl_column attachment_columns[] = {
    {.key = "id", .head = "ID", .width = 7, .right = TRUE},
    {.key = "ticket"},
    {.key = "message_row", .head = "MESSAGE", .width = 7, .right = TRUE},
    {.key = "direction"},
    {.key = "from", .head = "FROM", .width = 28, .cut = TRUE},
    {.key = "stored_at"},
    {.key = "size", .head = "BYTES", .width = 10, .right = TRUE},
    {.key = "content_type", .head = "TYPE", .width = 24, .cut = TRUE},
    {.key = "disposition"},
    {.key = "sha256"},
    {.key = "name", .head = "NAME", .sep = "  "},
};

static void attachment_row(struct ctl_table *t, const struct attachment_info *a)
{
	ctl_table_row(t);
	ctl_table_int(t, a->id);
	ctl_table_str(t, a->ticket);
	ctl_table_int(t, a->message_row);
	ctl_table_str(t, a->direction);
	ctl_table_str(t, a->from_addr);
	ctl_table_str(t, a->stored_at);
	ctl_table_int(t, a->size);
	ctl_table_str(t, a->content_type);
	ctl_table_str(t, a->disposition);
	ctl_table_str(t, a->sha256);
	ctl_table_str(t, a->name);
}

static int attachment_list(struct ctl *c, const char *ref)
{
	struct errbuf err = {{0}};
	struct ctl_table *t;
	GPtrArray *list = NULL;
	int64_t ticket;
	int rc;

	if ((rc = ctl_ticket_find(c, "attachment list", ref, &ticket)) != 0)
		return rc;
	if ((rc = store_attachment_list(c->st, ticket, &list, &err)) != SPOC_OK)
		return ctl_fail(rc, &err);
	t = ctl_table_new(attachment_columns, G_N_ELEMENTS(attachment_columns));
	for (guint i = 0; i < list->len; i++)
		attachment_row(t, g_ptr_array_index(list, i));
	ctl_table_print(c, t, "The ticket's mails carried no attachment.");
	ctl_table_free(&t);
	g_ptr_array_unref(list);
	return 0;
}

/* The bytes of attachment id to path, or to standard output when path is NULL (checked by the
 * caller against a terminal). */
static int attachment_get(struct ctl *c, int64_t id, const char *path)
{
	struct errbuf err = {{0}};
	struct attachment_info *a = NULL;
	GBytes *data = NULL;
	GError *gerr = NULL;
	gsize len;
	const char *bytes;
	int rc = store_attachment_get(c->st, id, &a, &data, &err);

	if (rc != SPOC_OK)
		return ctl_fail(rc, &err);
	if (a == NULL) {
		ctl_err("attachment %" G_GINT64_FORMAT ": no such attachment", id);
		return CTL_EXIT_FAIL;
	}
	bytes = g_bytes_get_data(data, &len);
	rc = 0;
	if (path != NULL) {
		if (!g_file_set_contents(path, bytes != NULL ? bytes : "", (gssize)len, &gerr)) {
			ctl_err("attachment %" G_GINT64_FORMAT ": %s", id, gerr->message);
			g_error_free(gerr);
			rc = CTL_EXIT_FAIL;
		} else if (!c->json) {
			ctl_say("attachment %" G_GINT64_FORMAT " (%s, %" G_GSIZE_FORMAT
				" bytes) written to %s\n",
				id, ctl_line(a->name), len, ctl_line(path));
		}
	} else if ((len > 0 && fwrite(bytes, 1, len, stdout) != len) || fflush(stdout) != 0) {
		ctl_err("attachment %" G_GINT64_FORMAT ": cannot write to standard output", id);
		rc = CTL_EXIT_FAIL;
	}
	g_bytes_unref(data);
	attachment_info_free(a);
	return rc;
}

int ctl_attachment(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	const char *ref = NULL, *out = NULL;
	gboolean force = FALSE;
	int64_t id = -1;
	int rc;

	if (sub == NULL) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(sub, "list") != 0 && strcmp(sub, "get") != 0) {
		ctl_err("attachment: unknown command \"%s\" (list, get)", sub);
		return CTL_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = TRUE;
		else if (strcmp(sub, "get") == 0 && strcmp(argv[i], "--force") == 0)
			force = TRUE;
		else if (strcmp(sub, "get") == 0 &&
			 (strcmp(argv[i], "-o") == 0 || strcmp(argv[i], "--output") == 0)) {
			if (!ctl_option_value(argc, argv, &i, "attachment get", &out))
				return CTL_EXIT_USAGE;
		} else if (strcmp(sub, "list") == 0 && ref == NULL && argv[i][0] != '-')
			ref = argv[i];
		else if (strcmp(sub, "get") == 0 && id < 0 && (id = ctl_parse_id(argv[i])) > 0)
			continue;
		else {
			ctl_err("attachment %s: unexpected \"%s\"", sub, argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (strcmp(sub, "list") == 0 && ref == NULL) {
		ctl_err("attachment list: give the ticket (INC-000123, REQ-000123 or its number)");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(sub, "get") == 0 && id <= 0) {
		ctl_err("attachment get: give the attachment's ID (a positive number, from "
			"attachment list)");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(sub, "get") == 0 && out == NULL && !force && isatty(STDOUT_FILENO)) {
		ctl_err(
		    "attachment get %" G_GINT64_FORMAT
		    ": standard output is a terminal, and an attachment's bytes as stored may "
		    "hold escape sequences that act on it; write them to a file (-o FILE, > FILE) "
		    "or a pipe, or add --force to write them here all the same",
		    id);
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return attachment_list(c, ref);
	return attachment_get(c, id, out);
}
