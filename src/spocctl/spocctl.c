/* spocctl: the operator's command line. It reads the daemon's configuration file for the
 * database and the parsing rules; `inspect` needs neither a server nor the database. This file
 * parses the global options and hands the rest to the command's ctl_<group>.c.
 *
 * Exit codes: 0 done, 1 the thing asked for failed or does not exist, 2 usage, 75 the database
 * could not be reached (try again later). */
#include "ctl.h"
#include "mime.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* Each command, its entry point, and its part of the usage text. */
static const struct {
	const char *name;
	int (*run)(struct ctl *c, int argc, char **argv);
	const char *usage;
} commands[] = {
    {"ticket", ctl_ticket,
     "  ticket list [--status STATUS|open] [--mine AGENT | --assignee AGENT]\n"
     "              [--requester ADDRESS] [--limit N]\n"
     "                                tickets, newest first (default 50): number, status,\n"
     "                                priority, assignee, requester, last update, SLA (the\n"
     "                                next due time, BREACHED, or met/missed), subject;\n"
     "                                AGENT is an address, a name or the part before the @\n"
     "  ticket show TICKET            one ticket (INC-000123, REQ-000123 or its number):\n"
     "                                its fields, participants, links, history, and the\n"
     "                                conversation without quoted history\n"
     "  ticket set TICKET status|priority|assignee|kind VALUE\n"
     "                                change one field under your Unix name; the status\n"
     "                                model applies and the participants are told of a new\n"
     "                                status. status: new, in-progress, pending, resolved,\n"
     "                                closed; priority: P1..P5; assignee: an active agent,\n"
     "                                or none; kind: incident, request\n"},
    {"quarantine", ctl_quarantine,
     "  quarantine list [--all] [--reason spam|error]\n"
     "                                messages that did not become a ticket: spam, or\n"
     "                                what could not be handled (--all: also those\n"
     "                                replayed since)\n"
     "  quarantine show ID [--raw [--force]]\n"
     "                                one of them: where it came from and why; --raw\n"
     "                                writes the message exactly as received, to a file\n"
     "                                or a pipe (to a terminal only with --force)\n"
     "  quarantine replay ID          parse it again with today's spocd and settings and\n"
     "                                record it as the daemon would (at most one ticket)\n"
     "  quarantine release ID         it is not spam: take it as a ticket, as if it\n"
     "                                arrived now, whatever the spam verdicts say\n"},
    {"agent", ctl_agent,
     "  agent add ADDRESS [--name NAME] [--team TEAM]\n"
     "                                add an agent, or update and re-enable one\n"
     "  agent list [--all]            the active agents (--all: also disabled ones)\n"
     "  agent disable ADDRESS         an agent no longer (kept for the audit trail)\n"
     "  agent revoke ADDRESS          end every reply address issued to the agent so far\n"},
    {"address", ctl_address,
     "  address list [--all]          the addresses a hard bounce marked unreachable, and\n"
     "                                the notifications held for them (--all: every\n"
     "                                address a bounce named)\n"
     "  address clear ADDRESS         reachable again: its held notifications go now\n"},
    {"outbox", ctl_outbox,
     "  outbox list [--state STATE] [--limit N]\n"
     "                                notifications, newest first (default 50); STATE is\n"
     "                                pending, sent, failed or held\n"
     "  outbox show ID [--raw [--force]]\n"
     "                                one of them in full; --raw writes the message\n"
     "                                exactly as it was sent, to a file or a pipe (to a\n"
     "                                terminal only with --force)\n"
     "  outbox retry ID               send a failed, held or pending one again now, with\n"
     "                                its attempts counted from 0, whatever the rate\n"
     "                                limits say (never a sent one)\n"},
    {"attachment", ctl_attachment,
     "  attachment list TICKET        the files the ticket's mails carried: ID, message,\n"
     "                                sender, size, type, name\n"
     "  attachment get ID [-o FILE] [--force]\n"
     "                                the file's bytes as stored, to FILE or to a pipe\n"
     "                                (> FILE); to a terminal only with --force. A notice\n"
     "                                that could not carry a file names this command\n"},
    {"kb", ctl_kb,
     "  kb add --title TITLE --language es|en [--url URL] [--body-file FILE | -]\n"
     "                                add a knowledge-base article (body from a file or\n"
     "                                standard input)\n"
     "  kb list                       the articles\n"
     "  kb remove ID                  delete an article\n"
     "  kb suggest TICKET [--limit N] what the acknowledgement of TICKET (INC-000123 or\n"
     "                                its number) suggests (default: kb.suggestions)\n"},
    {"sla", ctl_sla,
     "  sla check                     queue the SLA warnings and breaches due now\n"},
    {"stats", ctl_stats,
     "  stats                         tickets by status, open ones by kind and priority,\n"
     "                                created today and in 7 days, mail read and sent in\n"
     "                                24 h, the outbox, the quarantine, SLA breaches and\n"
     "                                the mean first-response time over 30 days\n"},
    {"health", ctl_health,
     "  health                        one line per check, OK or FAIL and why: each\n"
     "                                mailbox read successfully within\n"
     "                                health.mailbox_intervals x its poll interval, no\n"
     "                                notification due for over 15 min (or 3 x the largest\n"
     "                                poll interval), no SLA breach over 15 min old\n"
     "                                without its notice sent; exit 0 healthy, 1 not, 75\n"
     "                                database unreachable\n"},
    {"oauth", ctl_oauth,
     "  oauth login MAILBOX           consent once for a mailbox (its name, or smtp) that\n"
     "                                logs in with OAuth 2.0 and a refresh token: shows\n"
     "                                where to go and the code to enter, waits, and\n"
     "                                writes the refresh token to its refresh_token_file\n"},
    {"inspect", ctl_inspect,
     "  inspect [--mailbox NAME] FILE.eml | -\n"
     "                                what spocd makes of one message, as JSON; touches\n"
     "                                no server and no database; --mailbox: judged as read\n"
     "                                from that mailbox (its rules and default_kind)\n"},
};

static void usage_tail(FILE *f)
{
	fprintf(f,
		"\n"
		"  -c, --config FILE   configuration (default %s/spocd.conf)\n"
		"  --json              machine-readable output (also after the command)\n"
		"  -h, --help          this text; COMMAND --help: that command's\n"
		"  --version           the version\n"
		"\n"
		"Text from mail is shown with every control, bidi and invisible character as a\n"
		"visible escape (\\e, \\x07, \\u202E, \\xff for a byte that is not UTF-8);\n"
		"--json and --raw give it as stored.\n"
		"\n"
		"Exit status: 0 done, 1 failed or not found, 2 usage, 75 database unreachable.\n"
		"See spocctl(8).\n",
		SPOCD_CONF_DIR);
}

void ctl_usage(FILE *f)
{
	fputs("usage: spocctl [-c FILE] [--json] COMMAND ...\n\n", f);
	for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
		fputs(commands[i].usage, f);
	usage_tail(f);
}

/* TRUE when the command's arguments ask for its help. */
static gboolean wants_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0)
			return TRUE;
	return FALSE;
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
			ctl_usage(stdout);
			return 0;
		case 'V':
			printf("spocctl %s\n", SPOCD_VERSION);
			return 0;
		default:
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	mime_init();
	rc = -1;
	for (size_t i = 0; i < G_N_ELEMENTS(commands) && rc < 0; i++) {
		if (strcmp(argv[optind], commands[i].name) != 0)
			continue;
		if (wants_help(argc - optind, argv + optind)) {
			printf("usage: spocctl [-c FILE] [--json] %s ...\n\n%s", commands[i].name,
			       commands[i].usage);
			usage_tail(stdout);
			rc = 0;
		} else {
			rc = commands[i].run(&c, argc - optind, argv + optind);
		}
	}
	if (rc < 0) {
		GString *names = g_string_new(NULL);

		for (size_t i = 0; i < G_N_ELEMENTS(commands); i++)
			g_string_append_printf(names, "%s%s", i > 0 ? ", " : "", commands[i].name);
		ctl_err("unknown command \"%s\" (%s)", argv[optind], names->str);
		g_string_free(names, TRUE);
		rc = CTL_EXIT_USAGE;
	}
	store_close(&c.st);
	conf_free(&c.conf);
	mime_shutdown();
	return rc;
}
