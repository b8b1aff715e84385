/* spocctl: the operator's command line. It reads the daemon's configuration file for the
 * database and the parsing rules; `inspect` needs neither a server nor the database.
 *
 * Exit codes: 0 done, 1 the thing asked for failed or does not exist, 2 usage, 75 the database
 * could not be reached (try again later). */
#include "conf.h"
#include "inspect.h"
#include "mime.h"
#include "replay.h"
#include "sla_watch.h"
#include "store.h"
#include "store_admin.h"

#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define EXIT_FAIL     1
#define EXIT_USAGE    2
#define EXIT_TEMPFAIL 75

struct ctl {
	const char *conf_path; /* NULL: the default, optional for inspect */
	gboolean json;
	struct spoc_conf *conf;
	struct store *st;
};

static void usage(FILE *f)
{
	fprintf(
	    f,
	    "usage: spocctl [-c FILE] [--json] COMMAND ...\n"
	    "\n"
	    "  inspect FILE.eml | -          what spocd makes of one message, as JSON; touches\n"
	    "                                no server and no database\n"
	    "  quarantine list [--all]       messages that could not become a ticket (--all:\n"
	    "                                also those replayed since)\n"
	    "  quarantine show ID [--raw]    one of them: where it came from and why; --raw\n"
	    "                                prints the message exactly as received\n"
	    "  quarantine replay ID          parse it again with today's spocd and settings and\n"
	    "                                record it as the daemon would (at most one ticket)\n"
	    "  agent add ADDRESS [--name NAME] [--team TEAM]\n"
	    "                                add an agent, or update and re-enable one\n"
	    "  agent list [--all]            the active agents (--all: also disabled ones)\n"
	    "  agent disable ADDRESS         an agent no longer (kept for the audit trail)\n"
	    "  outbox list [--state STATE] [--limit N]\n"
	    "                                notifications, newest first (default 50); STATE is\n"
	    "                                pending, sent, failed or held\n"
	    "  outbox show ID [--raw]        one of them in full; --raw prints the message\n"
	    "                                exactly as it was sent\n"
	    "  outbox retry ID               send a failed, held or pending one again now, with\n"
	    "                                its attempts counted from 0 (never a sent one)\n"
	    "  kb add --title TITLE --language es|en [--url URL] [--body-file FILE | -]\n"
	    "                                add a knowledge-base article (body from a file or\n"
	    "                                standard input)\n"
	    "  kb list                       the articles\n"
	    "  kb remove ID                  delete an article\n"
	    "  kb suggest TICKET [--limit N] what the acknowledgement of TICKET (INC-000123 or\n"
	    "                                its number) suggests (default: kb.suggestions)\n"
	    "  sla check                     queue the SLA warnings and breaches due now\n"
	    "\n"
	    "  -c, --config FILE   configuration (default %s/spocd.conf)\n"
	    "  --json              machine-readable output\n"
	    "  -h, --help          this text\n"
	    "  --version           the version\n"
	    "\n"
	    "Exit status: 0 done, 1 failed or not found, 2 usage, 75 database unreachable.\n",
	    SPOCD_CONF_DIR);
}

static int exit_for(int rc)
{
	return rc == SPOC_ETEMP ? EXIT_TEMPFAIL : EXIT_FAIL;
}

/* Loads the configuration; required when the user named one or when the command needs the
 * database. */
static int load_conf(struct ctl *c, gboolean required)
{
	struct errbuf err = {{0}};
	const char *path = c->conf_path != NULL ? c->conf_path : SPOCD_CONF_DIR "/spocd.conf";

	if (c->conf_path == NULL && !required && !g_file_test(path, G_FILE_TEST_EXISTS))
		return 0;
	c->conf = conf_load(path, &err);
	if (c->conf == NULL && (required || c->conf_path != NULL)) {
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return EXIT_FAIL;
	}
	return 0;
}

static int open_db(struct ctl *c)
{
	struct errbuf err = {{0}};
	int rc = load_conf(c, TRUE);

	if (rc != 0)
		return rc;
	if (store_open(c->conf->database_conninfo, &c->st, &err) != SPOC_OK) {
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return EXIT_TEMPFAIL;
	}
	return 0;
}

/* The whole of a file, or of standard input for "-"; NULL with a message on failure. */
static GBytes *read_input(const char *path)
{
	GError *error = NULL;
	char *data = NULL;
	gsize len = 0;

	if (strcmp(path, "-") == 0) {
		GByteArray *buf = g_byte_array_new();
		guint8 chunk[65536];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			g_byte_array_append(buf, chunk, (guint)n);
		if (ferror(stdin)) {
			fprintf(stderr, "spocctl: standard input: %s\n", g_strerror(errno));
			g_byte_array_unref(buf);
			return NULL;
		}
		return g_byte_array_free_to_bytes(buf);
	}
	if (!g_file_get_contents(path, &data, &len, &error)) {
		fprintf(stderr, "spocctl: %s\n", error->message);
		g_error_free(error);
		return NULL;
	}
	return g_bytes_new_take(data, len);
}

static int cmd_inspect(struct ctl *c, int argc, char **argv)
{
	GBytes *raw;
	char *json;
	gsize len;
	const char *data;
	int rc;

	if (argc != 2) {
		usage(stderr);
		return EXIT_USAGE;
	}
	if ((rc = load_conf(c, FALSE)) != 0)
		return rc;
	if ((raw = read_input(argv[1])) == NULL)
		return EXIT_FAIL;
	data = g_bytes_get_data(raw, &len);
	json = inspect_json(argv[1], data != NULL ? data : "", len, c->conf);
	fputs(json, stdout);
	g_free(json);
	g_bytes_unref(raw);
	return 0;
}

static int64_t parse_id(const char *s)
{
	char *end = NULL;
	gint64 v = g_ascii_strtoll(s, &end, 10);

	return end != NULL && end != s && *end == '\0' && v > 0 ? v : -1;
}

/* A reason on one line, cut to width characters for a table. Caller frees. */
static char *cell(const char *s, glong width)
{
	char *one = g_strdup(s != NULL ? s : "");

	g_strdelimit(one, "\r\n\t", ' ');
	if (g_utf8_strlen(one, -1) > width) {
		char *cut = g_utf8_substring(one, 0, width - 1);

		g_free(one);
		one = g_strconcat(cut, "…", NULL);
		g_free(cut);
	}
	return one;
}

static void entry_json(GString *out, const struct quarantine_entry *e)
{
	g_string_append_printf(out, "{\"id\":%" G_GINT64_FORMAT ",\"mailbox\":", e->id);
	json_string(out, e->mailbox);
	g_string_append_printf(out,
			       ",\"uidvalidity\":%" G_GINT64_FORMAT ",\"uid\":%" G_GINT64_FORMAT
			       ",\"size\":%" G_GINT64_FORMAT ",\"sha256\":",
			       e->uidvalidity, e->uid, e->size);
	json_string(out, e->raw_sha256);
	g_string_append(out, ",\"reason\":");
	json_string(out, e->reason);
	g_string_append(out, ",\"created_at\":");
	json_string(out, e->created_at);
	g_string_append(out, ",\"replayed_at\":");
	json_string(out, e->replayed_at);
	g_string_append(out, ",\"replay_outcome\":");
	json_string(out, e->replay_outcome);
	g_string_append(out, ",\"replay_ticket\":");
	json_string(out, e->replay_ticket);
	g_string_append(out, ",\"replay_error\":");
	json_string(out, e->replay_error);
	g_string_append_c(out, '}');
}

static int quarantine_list(struct ctl *c, gboolean all)
{
	struct errbuf err = {{0}};
	GPtrArray *list = NULL;
	int rc = store_quarantine_list(c->st, all, &list, &err);

	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return exit_for(rc);
	}
	if (c->json) {
		GString *out = g_string_new("[");

		for (guint i = 0; i < list->len; i++) {
			if (i > 0)
				g_string_append_c(out, ',');
			entry_json(out, g_ptr_array_index(list, i));
		}
		g_string_append(out, "]\n");
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else if (list->len == 0) {
		printf(all ? "The quarantine is empty.\n"
			   : "No message waits in the quarantine.\n");
	} else {
		printf("%-6s %-20s %-12s %8s %9s  %s\n", "ID", "RECEIVED (UTC)", "MAILBOX", "UID",
		       "BYTES", all ? "REASON / REPLAY" : "REASON");
		for (guint i = 0; i < list->len; i++) {
			const struct quarantine_entry *e = g_ptr_array_index(list, i);
			char *why = cell(e->replayed_at != NULL ? e->replay_ticket : e->reason, 60);
			char *box = cell(e->mailbox, 12);

			printf("%-6" G_GINT64_FORMAT " %-20s %-12s %8" G_GINT64_FORMAT
			       " %9" G_GINT64_FORMAT "  %s%s\n",
			       e->id, e->created_at, box, e->uid, e->size,
			       e->replayed_at != NULL ? "replayed: " : "", why);
			g_free(why);
			g_free(box);
		}
	}
	g_ptr_array_unref(list);
	return 0;
}

static int quarantine_show(struct ctl *c, int64_t id, gboolean raw_only)
{
	struct errbuf err = {{0}};
	struct quarantine_entry *e = NULL;
	int rc = store_quarantine_get(c->st, id, FALSE, &e, &err);
	gsize len;
	const char *raw;

	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return exit_for(rc);
	}
	if (e == NULL) {
		fprintf(stderr, "spocctl: quarantine %" G_GINT64_FORMAT ": no such entry\n", id);
		return EXIT_FAIL;
	}
	raw = g_bytes_get_data(e->raw, &len);
	if (raw_only) {
		fwrite(raw, 1, len, stdout);
	} else if (c->json) {
		GString *out = g_string_new("{\"entry\":");
		char *json = inspect_json("quarantine", raw != NULL ? raw : "", len, c->conf);

		entry_json(out, e);
		g_string_append(out, ",\"inspect\":");
		g_string_append(out, json);
		g_string_append(out, "}\n");
		fputs(out->str, stdout);
		g_free(json);
		g_string_free(out, TRUE);
	} else {
		struct mail *m = NULL;
		struct mime_limits lim = {0};

		printf("Quarantine entry %" G_GINT64_FORMAT "\n", e->id);
		printf("  received:   %s (UTC)\n", e->created_at);
		printf("  from:       mailbox %s, UIDVALIDITY %" G_GINT64_FORMAT
		       ", UID %" G_GINT64_FORMAT "\n",
		       e->mailbox, e->uidvalidity, e->uid);
		printf("  size:       %" G_GINT64_FORMAT " bytes, SHA-256 %s\n", e->size,
		       e->raw_sha256);
		printf("  reason:     %s\n", e->reason);
		if (e->replayed_at != NULL)
			printf("  replayed:   %s (UTC): %s%s%s\n", e->replayed_at,
			       e->replay_outcome, e->replay_ticket != NULL ? " " : "",
			       e->replay_ticket != NULL ? e->replay_ticket : "");
		else if (e->replay_error != NULL)
			printf("  last replay failed: %s\n", e->replay_error);
		/* a look at what it says, with no limits, so even an oversized one shows */
		if (mime_parse(raw, len, &lim, &m, NULL) == SPOC_OK) {
			printf("  From:       %s%s%s%s\n", m->from.name != NULL ? m->from.name : "",
			       m->from.name != NULL && m->from.addr != NULL ? " <" : "",
			       m->from.addr != NULL ? m->from.addr : "",
			       m->from.name != NULL && m->from.addr != NULL ? ">" : "");
			printf("  Subject:    %s\n", m->subject);
			printf("  Message-ID: %s%s\n", m->message_id,
			       m->message_id_synthetic ? " (none in the message; synthetic)" : "");
			mail_free(&m);
		}
		printf("\nReplay it with: spocctl quarantine replay %" G_GINT64_FORMAT
		       "; see it whole with --raw.\n",
		       e->id);
	}
	quarantine_entry_free(e);
	return 0;
}

static int quarantine_replay(struct ctl *c, int64_t id)
{
	struct errbuf err = {{0}};
	struct replay_result r;
	int rc = replay_quarantine(c->conf, c->st, id, &r, &err);

	if (rc != SPOC_OK) {
		if (c->json) {
			GString *out = g_string_new(NULL);

			g_string_append_printf(out,
					       "{\"id\":%" G_GINT64_FORMAT ",\"replayed\":false,"
					       "\"error\":",
					       id);
			json_string(out, err.msg);
			g_string_append(out, "}\n");
			fputs(out->str, stdout);
			g_string_free(out, TRUE);
		}
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return exit_for(rc);
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
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else {
		printf("quarantine %" G_GINT64_FORMAT ": %s%s%s%s\n", id,
		       r.already ? "already replayed: " : "", r.outcome,
		       r.ticket_number[0] != '\0' ? " " : "", r.ticket_number);
	}
	return 0;
}

static int cmd_quarantine(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;
	gboolean all = FALSE, raw = FALSE;
	int64_t id = -1;
	int rc;

	if (sub == NULL) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--all") == 0 && strcmp(sub, "list") == 0)
			all = TRUE;
		else if (strcmp(argv[i], "--raw") == 0 && strcmp(sub, "show") == 0)
			raw = TRUE;
		else if (strcmp(argv[i], "--json") == 0)
			c->json = TRUE;
		else if (id < 0 && strcmp(sub, "list") != 0 && (id = parse_id(argv[i])) > 0)
			continue;
		else {
			fprintf(stderr, "spocctl: quarantine %s: unexpected \"%s\"\n", sub,
				argv[i]);
			return EXIT_USAGE;
		}
	}
	if (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "replay") != 0) {
		fprintf(stderr,
			"spocctl: quarantine: unknown command \"%s\" (list, show, replay)\n", sub);
		return EXIT_USAGE;
	}
	if (strcmp(sub, "list") != 0 && id <= 0) {
		fprintf(stderr, "spocctl: quarantine %s: give the entry's ID (a positive number)\n",
			sub);
		return EXIT_USAGE;
	}
	if ((rc = open_db(c)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return quarantine_list(c, all);
	if (strcmp(sub, "show") == 0)
		return quarantine_show(c, id, raw);
	return quarantine_replay(c, id);
}

/* A plausible addr-spec for an agent: one '@' with something on both sides, no blanks, no
 * brackets. */
static gboolean agent_address_ok(const char *a)
{
	const char *at = strchr(a, '@');

	return at != NULL && at != a && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
	       strpbrk(a, " \t\r\n<>\"(),;:") == NULL && g_utf8_validate(a, -1, NULL) &&
	       strlen(a) <= 254;
}

static int agent_list(struct ctl *c, gboolean all)
{
	struct errbuf err = {{0}};
	GPtrArray *list = NULL;
	int rc = store_agent_list(c->st, all, &list, &err);

	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return exit_for(rc);
	}
	if (c->json) {
		GString *out = g_string_new("[");

		for (guint i = 0; i < list->len; i++) {
			const struct agent *a = g_ptr_array_index(list, i);

			if (i > 0)
				g_string_append_c(out, ',');
			g_string_append_printf(out,
					       "{\"id\":%" G_GINT64_FORMAT ",\"address\":", a->id);
			json_string(out, a->address);
			g_string_append(out, ",\"name\":");
			json_string(out, a->name);
			g_string_append(out, ",\"team\":");
			json_string(out, a->team);
			g_string_append_printf(
			    out, ",\"active\":%s,\"open_tickets\":%" G_GINT64_FORMAT "}",
			    a->active ? "true" : "false", a->open_tickets);
		}
		g_string_append(out, "]\n");
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else if (list->len == 0) {
		printf("No agents yet: add one with spocctl agent add ADDRESS --name NAME.\n");
	} else {
		printf("%-32s %-24s %-16s %-8s %s\n", "ADDRESS", "NAME", "TEAM", "ACTIVE", "OPEN");
		for (guint i = 0; i < list->len; i++) {
			const struct agent *a = g_ptr_array_index(list, i);
			char *name = cell(a->name, 24), *team = cell(a->team, 16);

			printf("%-32s %-24s %-16s %-8s %" G_GINT64_FORMAT "\n", a->address, name,
			       team, a->active ? "yes" : "no", a->open_tickets);
			g_free(name);
			g_free(team);
		}
	}
	g_ptr_array_unref(list);
	return 0;
}

static int cmd_agent(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *address = NULL, *name = NULL, *team = NULL;
	struct errbuf err = {{0}};
	gboolean all = FALSE, flag = FALSE;
	int rc;

	if (sub == NULL ||
	    (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 && strcmp(sub, "disable") != 0)) {
		fprintf(stderr, "spocctl: agent: %s (add, list, disable)\n",
			sub == NULL ? "which command?" : "unknown command");
		return EXIT_USAGE;
	}
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
			fprintf(stderr, "spocctl: agent %s: unexpected \"%s\"\n", sub, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (strcmp(sub, "list") != 0 && (address == NULL || !agent_address_ok(address))) {
		fprintf(stderr, "spocctl: agent %s: give the agent's email address%s%s%s\n", sub,
			address != NULL ? " (\"" : "", address != NULL ? address : "",
			address != NULL ? "\" is not one)" : "");
		return EXIT_USAGE;
	}
	if ((name != NULL && !g_utf8_validate(name, -1, NULL)) ||
	    (team != NULL && !g_utf8_validate(team, -1, NULL))) {
		fprintf(stderr, "spocctl: agent add: name and team must be UTF-8\n");
		return EXIT_USAGE;
	}
	if ((rc = open_db(c)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return agent_list(c, all);
	if (strcmp(sub, "add") == 0)
		rc = store_agent_add(c->st, address, name, team, &flag, &err);
	else
		rc = store_agent_disable(c->st, address, &flag, &err);
	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: agent %s %s: %s\n", sub, address, err.msg);
		return exit_for(rc);
	}
	if (strcmp(sub, "disable") == 0 && !flag) {
		fprintf(stderr, "spocctl: agent disable: %s is not an agent\n", address);
		return EXIT_FAIL;
	}
	if (c->json)
		printf("{\"address\":\"%s\",\"%s\":true}\n", address,
		       strcmp(sub, "disable") == 0 ? "disabled"
		       : flag			   ? "created"
						   : "updated");
	else
		printf("agent %s: %s\n", address,
		       strcmp(sub, "disable") == 0 ? "disabled"
		       : flag			   ? "added"
						   : "updated and active");
	return 0;
}

/* ---- outbox and knowledge base ---- */

/* argv[*i] is an option that takes a value: *value_r is the next argument, and *i steps over
 * it. FALSE, with a message naming the option, when there is none. */
static gboolean option_value(int argc, char **argv, int *i, const char *what, const char **value_r)
{
	if (*i + 1 >= argc) {
		fprintf(stderr, "spocctl: %s: %s needs a value\n", what, argv[*i]);
		return FALSE;
	}
	*value_r = argv[++*i];
	return TRUE;
}

/* A count given to --limit: 1..10000, else -1. */
static int parse_limit(const char *s)
{
	int64_t v = parse_id(s);

	return v > 0 && v <= 10000 ? (int)v : -1;
}

static const char *const outbox_states[] = {"pending", "sent", "failed", "held", NULL};

static gboolean outbox_state_ok(const char *s)
{
	for (const char *const *p = outbox_states; *p != NULL; p++)
		if (strcmp(s, *p) == 0)
			return TRUE;
	return FALSE;
}

static void outbox_entry_json(GString *out, const struct outbox_entry *e, gboolean full)
{
	g_string_append_printf(out, "{\"id\":%" G_GINT64_FORMAT ",\"kind\":", e->id);
	json_string(out, e->kind);
	g_string_append(out, ",\"state\":");
	json_string(out, e->state);
	g_string_append(out, ",\"ticket\":");
	json_string(out, e->ticket_display);
	g_string_append(out, ",\"recipient\":");
	json_string(out, e->recipient);
	g_string_append_printf(out, ",\"attempts\":%d,\"created_at\":", e->attempts);
	json_string(out, e->created_at);
	g_string_append(out, ",\"next_attempt_at\":");
	json_string(out, e->next_attempt_at);
	g_string_append(out, ",\"last_error\":");
	json_string(out, e->last_error);
	if (full) {
		gsize len = 0;

		if (e->raw != NULL)
			g_bytes_get_data(e->raw, &len);
		g_string_append(out, ",\"recipient_name\":");
		json_string(out, e->recipient_name);
		g_string_append(out, ",\"language\":");
		json_string(out, e->language);
		g_string_append(out, ",\"message_id\":");
		json_string(out, e->message_id);
		g_string_append(out, ",\"sent_at\":");
		json_string(out, e->sent_at);
		g_string_append(out, ",\"retried_at\":");
		json_string(out, e->retried_at);
		g_string_append(out, ",\"bounced_at\":");
		json_string(out, e->bounced_at);
		g_string_append(out, ",\"bounce_reason\":");
		json_string(out, e->bounce_reason);
		/* jsonb's text is JSON already */
		g_string_append_printf(
		    out, ",\"detail\":%s,\"body\":", e->detail != NULL ? e->detail : "null");
		json_string(out, e->body);
		if (e->raw != NULL)
			g_string_append_printf(out, ",\"sent_bytes\":%" G_GSIZE_FORMAT, len);
		else
			g_string_append(out, ",\"sent_bytes\":null");
	}
	g_string_append_c(out, '}');
}

static int outbox_list(struct ctl *c, const char *state, int limit)
{
	struct errbuf err = {{0}};
	GPtrArray *list = NULL;
	int rc = store_outbox_list(c->st, state, limit, &list, &err);

	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return exit_for(rc);
	}
	if (c->json) {
		GString *out = g_string_new("[");

		for (guint i = 0; i < list->len; i++) {
			if (i > 0)
				g_string_append_c(out, ',');
			outbox_entry_json(out, g_ptr_array_index(list, i), FALSE);
		}
		g_string_append(out, "]\n");
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else if (list->len == 0) {
		if (state != NULL)
			printf("No notification is %s.\n", state);
		else
			printf("The outbox is empty.\n");
	} else {
		printf("%-6s %-7s %-14s %-10s %5s %-20s %-28s %s\n", "ID", "STATE", "KIND",
		       "TICKET", "TRIES", "QUEUED (UTC)", "RECIPIENT", "DUE (UTC) / LAST ERROR");
		for (guint i = 0; i < list->len; i++) {
			const struct outbox_entry *e = g_ptr_array_index(list, i);
			char *to = cell(e->recipient, 28), *why = cell(e->last_error, 60);
			gboolean pending = strcmp(e->state, "pending") == 0;

			printf("%-6" G_GINT64_FORMAT " %-7s %-14s %-10s %5d %-20s %-28s %s%s%s\n",
			       e->id, e->state, e->kind, e->ticket_display, e->attempts,
			       e->created_at, to, pending ? e->next_attempt_at : "",
			       pending && *why != '\0' ? " " : "", why);
			g_free(to);
			g_free(why);
		}
		if (list->len == (guint)limit)
			printf("(the newest %d; --limit N shows more)\n", limit);
	}
	g_ptr_array_unref(list);
	return 0;
}

/* text indented by prefix on every line, for the body of a notice */
static void print_indented(const char *text, const char *prefix)
{
	char **lines = g_strsplit(text, "\n", -1);

	for (char **l = lines; *l != NULL; l++) {
		if (l[1] == NULL && **l == '\0')
			break; /* the text's final newline */
		g_strchomp(*l);
		printf("%s%s\n", prefix, *l);
	}
	g_strfreev(lines);
}

static int outbox_show(struct ctl *c, int64_t id, gboolean raw_only)
{
	struct errbuf err = {{0}};
	struct outbox_entry *e = NULL;
	int rc = store_outbox_show(c->st, id, &e, &err);
	gsize len = 0;
	const char *raw;

	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return exit_for(rc);
	}
	if (e == NULL) {
		fprintf(stderr, "spocctl: outbox %" G_GINT64_FORMAT ": no such notification\n", id);
		return EXIT_FAIL;
	}
	raw = e->raw != NULL ? g_bytes_get_data(e->raw, &len) : NULL;
	if (raw_only) {
		if (e->raw == NULL) {
			fprintf(stderr,
				"spocctl: outbox %" G_GINT64_FORMAT
				": nothing was sent (it is %s), so there is no message to print\n",
				id, e->state);
			outbox_entry_free(e);
			return EXIT_FAIL;
		}
		fwrite(raw, 1, len, stdout);
	} else if (c->json) {
		GString *out = g_string_new(NULL);

		outbox_entry_json(out, e, TRUE);
		g_string_append_c(out, '\n');
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else {
		printf("Outbox notification %" G_GINT64_FORMAT ": %s, %s\n", e->id, e->kind,
		       e->state);
		printf("  ticket:       %s\n", e->ticket_display);
		if (e->recipient_name != NULL && e->recipient_name[0] != '\0')
			printf("  to:           %s <%s>\n", e->recipient_name, e->recipient);
		else
			printf("  to:           %s\n", e->recipient);
		printf("  language:     %s\n", e->language);
		printf("  Message-ID:   %s\n",
		       e->message_id != NULL ? e->message_id : "(not minted yet)");
		printf("  queued:       %s (UTC)\n", e->created_at);
		printf("  attempts:     %d\n", e->attempts);
		if (strcmp(e->state, "pending") == 0)
			printf("  due:          %s (UTC)\n", e->next_attempt_at);
		if (e->retried_at != NULL)
			printf("  retried:      %s (UTC), by an operator\n", e->retried_at);
		if (e->sent_at != NULL)
			printf("  sent:         %s (UTC)\n", e->sent_at);
		if (e->last_error[0] != '\0')
			printf("  last error:   %s\n", e->last_error);
		if (e->bounced_at != NULL)
			printf("  bounced:      %s (UTC): %s\n", e->bounced_at,
			       e->bounce_reason != NULL ? e->bounce_reason : "");
		if (e->detail != NULL && strcmp(e->detail, "{}") != 0)
			printf("  detail:       %s\n", e->detail);
		if (e->body != NULL && e->body[0] != '\0') {
			printf("  text:\n");
			print_indented(e->body, "    | ");
		}
		if (e->raw != NULL)
			printf("\nSent as %" G_GSIZE_FORMAT
			       " bytes; see them with: spocctl outbox show %" G_GINT64_FORMAT
			       " --raw\n",
			       len, e->id);
		else if (strcmp(e->state, "sent") != 0)
			printf("\nSend it again now with: spocctl outbox retry %" G_GINT64_FORMAT
			       "\n",
			       e->id);
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
		fprintf(stderr, "spocctl: outbox retry %" G_GINT64_FORMAT ": %s\n", id, err.msg);
		return exit_for(rc);
	}
	if (result == OUTBOX_REQUEUE_NOT_FOUND) {
		fprintf(stderr, "spocctl: outbox %" G_GINT64_FORMAT ": no such notification\n", id);
		return EXIT_FAIL;
	}
	if (result == OUTBOX_REQUEUE_ALREADY_SENT) {
		fprintf(stderr,
			"spocctl: outbox %" G_GINT64_FORMAT
			": already sent; a sent notification is never sent again\n",
			id);
		return EXIT_FAIL;
	}
	if (c->json)
		printf("{\"id\":%" G_GINT64_FORMAT ",\"state\":\"pending\",\"retried\":true}\n",
		       id);
	else
		printf("outbox %" G_GINT64_FORMAT
		       ": pending again, due now (the running spocd sends it at once)\n",
		       id);
	return 0;
}

static int cmd_outbox(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *state = NULL, *limit_arg = NULL;
	gboolean raw = FALSE, list;
	int64_t id = -1;
	int limit = 50, rc;

	if (sub == NULL ||
	    (strcmp(sub, "list") != 0 && strcmp(sub, "show") != 0 && strcmp(sub, "retry") != 0)) {
		fprintf(stderr, "spocctl: outbox: %s%s%s (list, show, retry)\n",
			sub == NULL ? "which command?" : "unknown command \"",
			sub != NULL ? sub : "", sub != NULL ? "\"" : "");
		return EXIT_USAGE;
	}
	list = strcmp(sub, "list") == 0;
	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") == 0)
			c->json = TRUE;
		else if (strcmp(argv[i], "--raw") == 0 && strcmp(sub, "show") == 0)
			raw = TRUE;
		else if (strcmp(argv[i], "--state") == 0 && list) {
			if (!option_value(argc, argv, &i, "outbox list", &state))
				return EXIT_USAGE;
		} else if (strcmp(argv[i], "--limit") == 0 && list) {
			if (!option_value(argc, argv, &i, "outbox list", &limit_arg))
				return EXIT_USAGE;
		} else if (id < 0 && !list && argv[i][0] != '-') {
			if ((id = parse_id(argv[i])) <= 0) {
				fprintf(stderr,
					"spocctl: outbox %s: \"%s\" is not a notification ID (a "
					"positive number)\n",
					sub, argv[i]);
				return EXIT_USAGE;
			}
		} else {
			fprintf(stderr, "spocctl: outbox %s: unexpected \"%s\"\n", sub, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (state != NULL && !outbox_state_ok(state)) {
		fprintf(
		    stderr,
		    "spocctl: outbox list: --state: \"%s\" is not a state (pending, sent, failed, "
		    "held)\n",
		    state);
		return EXIT_USAGE;
	}
	if (limit_arg != NULL && (limit = parse_limit(limit_arg)) < 0) {
		fprintf(stderr,
			"spocctl: outbox list: --limit: \"%s\" is not a number from 1 to 10000\n",
			limit_arg);
		return EXIT_USAGE;
	}
	if (!list && id <= 0) {
		fprintf(stderr,
			"spocctl: outbox %s: give the notification's ID (a positive number)\n",
			sub);
		return EXIT_USAGE;
	}
	if ((rc = open_db(c)) != 0)
		return rc;
	if (list)
		return outbox_list(c, state, limit);
	if (strcmp(sub, "show") == 0)
		return outbox_show(c, id, raw);
	return outbox_retry(c, id);
}

/* One line of printable UTF-8 (a title, a URL): no control characters. */
static gboolean one_line(const char *s)
{
	if (!g_utf8_validate(s, -1, NULL))
		return FALSE;
	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p))
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return FALSE;
	return TRUE;
}

/* Nothing but blanks (or nothing). */
static gboolean blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

/* http:// or https:// and something after it, one line with nothing that would end it in a
 * mail's text (a blank, an angle bracket, a quote) */
static gboolean kb_url_ok(const char *url)
{
	const char *rest = g_str_has_prefix(url, "https://")  ? url + strlen("https://")
			   : g_str_has_prefix(url, "http://") ? url + strlen("http://")
							      : NULL;

	return rest != NULL && *rest != '\0' && *rest != '/' && strpbrk(url, " <>\"") == NULL &&
	       one_line(url);
}

static int kb_add(struct ctl *c, const char *title, const char *language, const char *url,
		  const char *body_file)
{
	struct errbuf err = {{0}};
	GBytes *body = NULL;
	char *text = NULL;
	int64_t id = 0;
	int rc;

	if (body_file != NULL) {
		gsize len;
		const char *data;

		if ((body = read_input(body_file)) == NULL)
			return EXIT_FAIL;
		data = g_bytes_get_data(body, &len);
		/* a NUL or invalid UTF-8 fails here: the text column takes neither */
		if (len > 0 && !g_utf8_validate_len(data, len, NULL)) {
			fprintf(stderr, "spocctl: kb add: --body-file: %s is not UTF-8 text\n",
				strcmp(body_file, "-") == 0 ? "standard input" : body_file);
			g_bytes_unref(body);
			return EXIT_USAGE;
		}
		text = g_strndup(data != NULL ? data : "", len);
		g_bytes_unref(body);
	}
	if ((rc = open_db(c)) != 0) {
		g_free(text);
		return rc;
	}
	rc = store_kb_add(c->st, title, text, url, language, &id, &err);
	g_free(text);
	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: kb add: %s\n", err.msg);
		return exit_for(rc);
	}
	if (c->json)
		printf("{\"id\":%" G_GINT64_FORMAT ",\"created\":true}\n", id);
	else
		printf("kb article %" G_GINT64_FORMAT ": added\n", id);
	return 0;
}

static int kb_list(struct ctl *c)
{
	struct errbuf err = {{0}};
	GPtrArray *list = NULL;
	int rc = store_kb_list(c->st, &list, &err);

	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: %s\n", err.msg);
		return exit_for(rc);
	}
	if (c->json) {
		GString *out = g_string_new("[");

		for (guint i = 0; i < list->len; i++) {
			const struct kb_article *a = g_ptr_array_index(list, i);

			if (i > 0)
				g_string_append_c(out, ',');
			g_string_append_printf(out,
					       "{\"id\":%" G_GINT64_FORMAT ",\"title\":", a->id);
			json_string(out, a->title);
			g_string_append(out, ",\"url\":");
			json_string(out, a->url);
			g_string_append(out, ",\"language\":");
			json_string(out, a->language);
			g_string_append(out, ",\"created_at\":");
			json_string(out, a->created_at);
			g_string_append_c(out, '}');
		}
		g_string_append(out, "]\n");
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else if (list->len == 0) {
		printf("No articles yet: add one with spocctl kb add --title TITLE --language "
		       "es|en.\n");
	} else {
		printf("%-6s %-4s %-20s %-48s %s\n", "ID", "LANG", "ADDED (UTC)", "TITLE", "URL");
		for (guint i = 0; i < list->len; i++) {
			const struct kb_article *a = g_ptr_array_index(list, i);
			char *title = cell(a->title, 48);

			printf("%-6" G_GINT64_FORMAT " %-4s %-20s %-48s %s\n", a->id, a->language,
			       a->created_at, title, a->url);
			g_free(title);
		}
	}
	g_ptr_array_unref(list);
	return 0;
}

static int kb_remove(struct ctl *c, int64_t id)
{
	struct errbuf err = {{0}};
	gboolean found = FALSE;
	int rc = store_kb_remove(c->st, id, &found, &err);

	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: kb remove %" G_GINT64_FORMAT ": %s\n", id, err.msg);
		return exit_for(rc);
	}
	if (!found) {
		fprintf(stderr, "spocctl: kb remove: there is no article %" G_GINT64_FORMAT "\n",
			id);
		return EXIT_FAIL;
	}
	if (c->json)
		printf("{\"id\":%" G_GINT64_FORMAT ",\"removed\":true}\n", id);
	else
		printf("kb article %" G_GINT64_FORMAT ": removed\n", id);
	return 0;
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

static int kb_suggest(struct ctl *c, const char *ref, int limit)
{
	struct errbuf err = {{0}};
	GPtrArray *list = NULL;
	int64_t ticket = 0;
	int rc;

	if (limit < 0)
		limit = c->conf->kb_suggestions;
	if ((rc = store_ticket_by_ref(c->st, ref, &ticket, &err)) != SPOC_OK) {
		fprintf(stderr, "spocctl: kb suggest %s: %s\n", ref, err.msg);
		return exit_for(rc);
	}
	if (ticket == 0) {
		fprintf(stderr, "spocctl: kb suggest: there is no ticket %s\n", ref);
		return EXIT_FAIL;
	}
	if ((rc = store_kb_suggest(c->st, ticket, NULL, limit, &list, &err)) != SPOC_OK) {
		fprintf(stderr, "spocctl: kb suggest %s: %s\n", ref, err.msg);
		return exit_for(rc);
	}
	if (c->json) {
		GString *out = g_string_new("[");

		for (guint i = 0; i < list->len; i++) {
			const struct kb_suggestion *s = g_ptr_array_index(list, i);
			gboolean article = s->ticket_display[0] == '\0';

			if (i > 0)
				g_string_append_c(out, ',');
			g_string_append_printf(
			    out, "{\"kind\":\"%s\",\"title\":", article ? "article" : "ticket");
			json_string(out, s->title);
			g_string_append(out, ",\"url\":");
			json_string(out, s->url);
			g_string_append(out, ",\"ticket\":");
			json_string(out, article ? NULL : s->ticket_display);
			g_string_append_c(out, '}');
		}
		g_string_append(out, "]\n");
		fputs(out->str, stdout);
		g_string_free(out, TRUE);
	} else if (limit == 0) {
		printf(
		    "Acknowledgements suggest nothing (kb.suggestions = 0); --limit N shows what "
		    "they would.\n");
	} else if (list->len == 0) {
		printf("Nothing to suggest for %s.\n", ref);
	} else {
		printf("%-10s %s\n", "FROM", "TITLE / SUBJECT");
		for (guint i = 0; i < list->len; i++) {
			const struct kb_suggestion *s = g_ptr_array_index(list, i);
			char *title = cell(s->title, 72);

			printf("%-10s %s%s%s%s\n",
			       s->ticket_display[0] != '\0' ? s->ticket_display : "article", title,
			       s->url[0] != '\0' ? " <" : "", s->url, s->url[0] != '\0' ? ">" : "");
			g_free(title);
		}
	}
	g_ptr_array_unref(list);
	return 0;
}

static int cmd_kb(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *title = NULL, *language = NULL, *url = NULL,
		   *body_file = NULL, *ref = NULL, *limit_arg = NULL;
	gboolean add;
	int64_t id = -1;
	int limit = -1, rc;

	if (sub == NULL || (strcmp(sub, "add") != 0 && strcmp(sub, "list") != 0 &&
			    strcmp(sub, "remove") != 0 && strcmp(sub, "suggest") != 0)) {
		fprintf(stderr, "spocctl: kb: %s%s%s (add, list, remove, suggest)\n",
			sub == NULL ? "which command?" : "unknown command \"",
			sub != NULL ? sub : "", sub != NULL ? "\"" : "");
		return EXIT_USAGE;
	}
	add = strcmp(sub, "add") == 0;
	for (int i = 2; i < argc; i++) {
		const char **value = NULL;

		if (strcmp(argv[i], "--json") == 0) {
			c->json = TRUE;
			continue;
		}
		if (add && strcmp(argv[i], "--title") == 0)
			value = &title;
		else if (add && strcmp(argv[i], "--language") == 0)
			value = &language;
		else if (add && strcmp(argv[i], "--url") == 0)
			value = &url;
		else if (add && strcmp(argv[i], "--body-file") == 0)
			value = &body_file;
		else if (strcmp(sub, "suggest") == 0 && strcmp(argv[i], "--limit") == 0)
			value = &limit_arg;
		if (value != NULL) {
			char *what = g_strconcat("kb ", sub, NULL);
			gboolean ok = option_value(argc, argv, &i, what, value);

			g_free(what);
			if (!ok)
				return EXIT_USAGE;
		} else if (strcmp(sub, "remove") == 0 && id < 0 && argv[i][0] != '-') {
			if ((id = parse_id(argv[i])) <= 0) {
				fprintf(
				    stderr,
				    "spocctl: kb remove: \"%s\" is not an article ID (a positive "
				    "number)\n",
				    argv[i]);
				return EXIT_USAGE;
			}
		} else if (strcmp(sub, "suggest") == 0 && ref == NULL && argv[i][0] != '-') {
			ref = argv[i];
		} else {
			fprintf(stderr, "spocctl: kb %s: unexpected \"%s\"\n", sub, argv[i]);
			return EXIT_USAGE;
		}
	}
	if (add) {
		if (title == NULL || blank(title) || !one_line(title)) {
			fprintf(stderr, "spocctl: kb add: --title: %s\n",
				title == NULL ? "required (the article's title)"
					      : "must be one line of UTF-8 text, not blank");
			return EXIT_USAGE;
		}
		if (language == NULL ||
		    (strcmp(language, "es") != 0 && strcmp(language, "en") != 0)) {
			fprintf(stderr, "spocctl: kb add: --language: %s%s%s\n",
				language == NULL ? "required (es or en)" : "\"",
				language != NULL ? language : "",
				language != NULL ? "\" is not es or en" : "");
			return EXIT_USAGE;
		}
		if (url != NULL && !kb_url_ok(url)) {
			fprintf(stderr,
				"spocctl: kb add: --url: \"%s\" is not an http:// or https:// "
				"address\n",
				url);
			return EXIT_USAGE;
		}
		return kb_add(c, title, language, url, body_file);
	}
	if (strcmp(sub, "remove") == 0 && id <= 0) {
		fprintf(stderr, "spocctl: kb remove: give the article's ID (a positive number)\n");
		return EXIT_USAGE;
	}
	if (strcmp(sub, "suggest") == 0) {
		if (ref == NULL || !ticket_ref_ok(ref)) {
			fprintf(stderr, "spocctl: kb suggest: %s%s%s\n",
				ref == NULL
				    ? "give the ticket (INC-000123, REQ-000123 or its number)"
				    : "\"",
				ref != NULL ? ref : "",
				ref != NULL ? "\" is not a ticket (INC-000123, REQ-000123 or its "
					      "number)"
					    : "");
			return EXIT_USAGE;
		}
		if (limit_arg != NULL && (limit = parse_limit(limit_arg)) < 0) {
			fprintf(stderr,
				"spocctl: kb suggest: --limit: \"%s\" is not a number from 1 to "
				"10000\n",
				limit_arg);
			return EXIT_USAGE;
		}
	}
	if ((rc = open_db(c)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return kb_list(c);
	if (strcmp(sub, "remove") == 0)
		return kb_remove(c, id);
	return kb_suggest(c, ref, limit);
}

/* `sla check`: one pass of the SLA watcher, as spocd makes each cycle; operators force one with
 * it. */
static int cmd_sla(struct ctl *c, int argc, char **argv)
{
	struct errbuf err = {{0}};
	unsigned queued = 0;
	GDateTime *now;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			fprintf(stderr, "spocctl: sla check: unexpected \"%s\"\n", argv[i]);
			return EXIT_USAGE;
		}
		c->json = TRUE;
	}
	if (argc < 2 || strcmp(argv[1], "check") != 0) {
		fprintf(stderr, "spocctl: sla: %s (check)\n",
			argc < 2 ? "which command?" : "unknown command");
		return EXIT_USAGE;
	}
	if ((rc = open_db(c)) != 0)
		return rc;
	now = g_date_time_new_now_utc();
	rc = sla_watch_run(c->conf, c->st, now, &queued, &err);
	g_date_time_unref(now);
	if (c->json)
		printf("{\"queued\":%u}\n", queued);
	else
		printf("sla check: %u notification%s queued\n", queued, queued == 1 ? "" : "s");
	if (rc != SPOC_OK) {
		fprintf(stderr, "spocctl: sla check: %s\n", err.msg);
		return exit_for(rc);
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
	    {"config", required_argument, NULL, 'c'},
	    {"json", no_argument, NULL, 'j'},
	    {"help", no_argument, NULL, 'h'},
	    {"version", no_argument, NULL, 'V'},
	    {NULL, 0, NULL, 0},
	};
	struct ctl c = {0};
	int opt, rc;

	/* options end at the command: its own options follow it */
	while ((opt = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			c.conf_path = optarg;
			break;
		case 'j':
			c.json = TRUE;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("spocctl %s\n", SPOCD_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	mime_init();
	if (strcmp(argv[optind], "inspect") == 0)
		rc = cmd_inspect(&c, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "quarantine") == 0)
		rc = cmd_quarantine(&c, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "agent") == 0)
		rc = cmd_agent(&c, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "outbox") == 0)
		rc = cmd_outbox(&c, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "kb") == 0)
		rc = cmd_kb(&c, argc - optind, argv + optind);
	else if (strcmp(argv[optind], "sla") == 0)
		rc = cmd_sla(&c, argc - optind, argv + optind);
	else {
		fprintf(
		    stderr,
		    "spocctl: unknown command \"%s\" (inspect, quarantine, agent, outbox, kb)\n",
		    argv[optind]);
		rc = EXIT_USAGE;
	}
	store_close(&c.st);
	conf_free(&c.conf);
	mime_shutdown();
	return rc;
}
