/* spocctl: the operator's command line. It reads the daemon's configuration file for the
 * database and the parsing rules; `inspect` needs neither a server nor the database.
 *
 * Exit codes: 0 done, 1 the thing asked for failed or does not exist, 2 usage, 75 the database
 * could not be reached (try again later). */
#include "conf.h"
#include "inspect.h"
#include "mime.h"
#include "replay.h"
#include "store.h"

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
	else {
		fprintf(stderr, "spocctl: unknown command \"%s\" (inspect, quarantine, agent)\n",
			argv[optind]);
		rc = EXIT_USAGE;
	}
	store_close(&c.st);
	conf_free(&c.conf);
	mime_shutdown();
	return rc;
}
