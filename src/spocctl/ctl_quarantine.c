/* `spocctl quarantine list|show|replay|release`: the messages that could not become a ticket
 * (spam among them), where each came from and why, parsing one again with today's spocd and
 * settings, and taking as a ticket what an operator says is not spam. A quarantined
 * message is a stranger's and may be built to harm: show prints what it says visible
 * (ctl_say()), and only --raw gives its bytes as received, never to a terminal unless --force. */
#include "ctl.h"
#include "inspect.h"
#include "mime.h"
#include "replay.h"
#include "store.h"

#include <string.h>

/* An entry's fields: the JSON of list and show, and the table of list, which puts the date
 * second and sums up the reason or the replay in its last column. */
static const struct ctl_column quarantine_columns[] = {
    {.key = "id", .head = "ID", .width = 6},
    {.head = "RECEIVED (UTC)", .width = 20},
    {.key = "mailbox", .head = "MAILBOX", .width = 12, .cut = TRUE},
    {.key = "uidvalidity"},
    {.key = "uid", .head = "UID", .width = 8, .right = TRUE},
    {.key = "size", .head = "BYTES", .width = 9, .right = TRUE},
    {.key = "sha256"},
    {.key = "reason"},
    {.key = "created_at"},
    {.key = "replayed_at"},
    {.key = "replay_outcome"},
    {.key = "replay_ticket"},
    {.key = "replay_error"},
    {.key = "category", .head = "KIND", .width = 5},
    {.head = "REASON", .sep = "  "},
};

static void quarantine_row(struct ctl_table *t, const struct quarantine_entry *e)
{
	gboolean replayed = e->replayed_at != NULL;

	ctl_table_row(t);
	ctl_table_int(t, e->id);
	ctl_table_str(t, e->created_at);
	ctl_table_str(t, e->mailbox);
	ctl_table_int(t, e->uidvalidity);
	ctl_table_int(t, e->uid);
	ctl_table_int(t, e->size);
	ctl_table_str(t, e->raw_sha256);
	ctl_table_str(t, e->reason);
	ctl_table_str(t, e->created_at);
	ctl_table_str(t, e->replayed_at);
	ctl_table_str(t, e->replay_outcome);
	ctl_table_str(t, e->replay_ticket);
	ctl_table_str(t, e->replay_error);
	ctl_table_str(t, e->category);
	ctl_table_printf(t, "%s%s", replayed ? "replayed: " : "",
			 ctl_table_cut(t, replayed ? e->replay_ticket : e->reason, 60));
}

static int quarantine_list(struct ctl *c, gboolean all, const char *category)
{
	struct errbuf err = {{0}};
	struct ctl_column cols[G_N_ELEMENTS(quarantine_columns)];
	struct ctl_table *t;
	GPtrArray *list = NULL;
	int rc = store_quarantine_list(c->st, all, category, &list, &err);

	if (rc != SPOC_OK)
		return ctl_fail(rc, &err);
	memcpy(cols, quarantine_columns, sizeof(cols));
	if (all)
		cols[G_N_ELEMENTS(cols) - 1].head = "REASON / REPLAY";
	t = ctl_table_new(cols, G_N_ELEMENTS(cols));
	for (guint i = 0; i < list->len; i++)
		quarantine_row(t, g_ptr_array_index(list, i));
	ctl_table_print(c, t,
			all ? "The quarantine is empty." : "No message waits in the quarantine.");
	ctl_table_free(&t);
	g_ptr_array_unref(list);
	return 0;
}

/* The entry as text, with a look at what the message says. */
static void quarantine_print(const struct quarantine_entry *e, const char *raw, gsize len)
{
	struct mail *m = NULL;
	struct mime_limits lim = {0};

	ctl_say("Quarantine entry %" G_GINT64_FORMAT "\n", e->id);
	ctl_say("  received:   %s (UTC)\n", ctl_line(e->created_at));
	ctl_say("  from:       mailbox %s, UIDVALIDITY %" G_GINT64_FORMAT ", UID %" G_GINT64_FORMAT
		"\n",
		ctl_line(e->mailbox), e->uidvalidity, e->uid);
	ctl_say("  size:       %" G_GINT64_FORMAT " bytes, SHA-256 %s\n", e->size,
		ctl_line(e->raw_sha256));
	ctl_say("  reason:     %s\n", ctl_line(e->reason));
	if (e->replayed_at != NULL)
		ctl_say("  replayed:   %s (UTC): %s%s%s\n", ctl_line(e->replayed_at),
			ctl_line(e->replay_outcome), e->replay_ticket != NULL ? " " : "",
			ctl_line(e->replay_ticket));
	else if (e->replay_error != NULL)
		ctl_say("  last replay failed: %s\n", ctl_line(e->replay_error));
	/* with no limits, so even an oversized one shows */
	if (mime_parse(raw, len, &lim, &m, NULL) == SPOC_OK) {
		ctl_say("  From:       %s%s%s%s\n", ctl_line(m->from.name),
			m->from.name != NULL && m->from.addr != NULL ? " <" : "",
			ctl_line(m->from.addr),
			m->from.name != NULL && m->from.addr != NULL ? ">" : "");
		ctl_say("  Subject:    %s\n", ctl_line(m->subject));
		ctl_say("  Message-ID: %s%s\n", ctl_line(m->message_id),
			m->message_id_synthetic ? " (none in the message; synthetic)" : "");
		mail_free(&m);
	}
	ctl_say("\nReplay it with: spocctl quarantine replay %" G_GINT64_FORMAT
		"; see it whole with --raw.\n",
		e->id);
}

/* raw_only: the bytes as received, which ctl_quarantine() let through only to a file or a
 * pipe, or with --force. */
static int quarantine_show(struct ctl *c, int64_t id, gboolean raw_only)
{
	struct errbuf err = {{0}};
	struct quarantine_entry *e = NULL;
	int rc = store_quarantine_get(c->st, id, FALSE, &e, &err);
	gsize len;
	const char *raw;

	if (rc != SPOC_OK)
		return ctl_fail(rc, &err);
	if (e == NULL) {
		ctl_err("quarantine %" G_GINT64_FORMAT ": no such entry", id);
		return CTL_EXIT_FAIL;
	}
	raw = g_bytes_get_data(e->raw, &len);
	if (raw_only) {
		fwrite(raw, 1, len, stdout);
	} else if (c->json) {
		struct ctl_table *t =
		    ctl_table_new(quarantine_columns, G_N_ELEMENTS(quarantine_columns));
		GString *out = g_string_new("{\"entry\":");
		char *json =
		    inspect_json("quarantine", raw != NULL ? raw : "", len, c->conf, e->mailbox);

		quarantine_row(t, e);
		ctl_table_json_row(t, 0, out);
		g_string_append(out, ",\"inspect\":");
		g_string_append(out, json);
		g_string_append(out, "}\n");
		ctl_json_out(out->str);
		g_free(json);
		g_string_free(out, TRUE);
		ctl_table_free(&t);
	} else {
		quarantine_print(e, raw, len);
	}
	quarantine_entry_free(e);
	return 0;
}

/* replay, or with release an operator's word that the message is not spam */
static int quarantine_replay(struct ctl *c, int64_t id, gboolean release)
{
	struct errbuf err = {{0}};
	struct replay_result r;
	int rc = replay_quarantine(c->conf, c->st, id, release, &r, &err);

	if (rc != SPOC_OK) {
		if (c->json) {
			GString *out = g_string_new(NULL);

			g_string_append_printf(out,
					       "{\"id\":%" G_GINT64_FORMAT ",\"replayed\":false,"
					       "\"error\":",
					       id);
			json_string(out, err.msg);
			g_string_append(out, "}\n");
			ctl_json_out(out->str);
			g_string_free(out, TRUE);
		}
		return ctl_fail(rc, &err);
	}
	if (c->json) {
		GString *out = g_string_new(NULL);

		g_string_append_printf(out,
				       "{\"id\":%" G_GINT64_FORMAT
				       ",\"replayed\":true,\"already\":%s,\"outcome\":",
				       id, r.already ? "true" : "false");
		json_string(out, r.outcome);
		g_string_append(out, ",\"ticket\":");
		json_string(out, r.ticket_number[0] != '\0' ? r.ticket_number : NULL);
		g_string_append(out, "}\n");
		ctl_json_out(out->str);
		g_string_free(out, TRUE);
	} else {
		ctl_say("quarantine %" G_GINT64_FORMAT ": %s%s%s%s\n", id,
			r.already ? "already replayed: " : "", ctl_line(r.outcome),
			r.ticket_number[0] != '\0' ? " " : "", ctl_line(r.ticket_number));
	}
	return 0;
}

int ctl_quarantine(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	gboolean all = FALSE, raw = FALSE, force = FALSE;
	const char *category = NULL;
	int64_t id = -1;
	int rc;

	if (sub == NULL) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0 && strcmp(sub, "list") == 0)
			all = TRUE;
		else if (strcmp(argv[i], "--reason") == 0 && strcmp(sub, "list") == 0) {
			category = i + 1 < argc ? argv[++i] : "";
			if (strcmp(category, "spam") != 0 && strcmp(category, "error") != 0) {
				ctl_err("quarantine list: --reason is spam or error, not \"%s\"",
					category);
				return CTL_EXIT_USAGE;
			}
		} else if (strcmp(argv[i], "--raw") == 0 && strcmp(sub, "show") == 0)
			raw = TRUE;
		else if (strcmp(argv[i], "--force") == 0 && strcmp(sub, "show") == 0)
			force = TRUE;
		else if (strcmp(argv[i], "--json") == 0)
			c->json = TRUE;
		else if (id < 0 && strcmp(sub, "list") != 0 && (id = ctl_parse_id(argv[i])) > 0)
			continue;
		else {
			ctl_err("quarantine %s: unexpected \"%s\"", sub, argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "replay") != 0 &&
	    strcmp(sub, "release") != 0) {
		ctl_err("quarantine: unknown command \"%s\" (list, show, replay, release)", sub);
		return CTL_EXIT_USAGE;
	}
	if (strcmp(sub, "list") != 0 && id <= 0) {
		ctl_err("quarantine %s: give the entry's ID (a positive number)", sub);
		return CTL_EXIT_USAGE;
	}
	if (force && !raw) {
		ctl_err("quarantine show: --force goes with --raw (it lets the bytes as received "
			"reach a terminal)");
		return CTL_EXIT_USAGE;
	}
	if (raw) {
		char *what = g_strdup_printf("quarantine show %" G_GINT64_FORMAT, id);

		rc = ctl_raw_allowed(what, force);
		g_free(what);
		if (rc != 0)
			return rc;
	}
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return quarantine_list(c, all, category);
	if (strcmp(sub, "show") == 0)
		return quarantine_show(c, id, raw);
	return quarantine_replay(c, id, strcmp(sub, "release") == 0);
}
