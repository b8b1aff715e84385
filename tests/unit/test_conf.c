/* Unit tests of conf.c: what a valid file turns into, and that every mistake is named with file,
 * line and setting. */

#include "conf.h"

#include "testlib.h"

#include <glib/gstdio.h>
#include <stddef.h>
#include <string.h>
#include <syslog.h>
#include <unistd.h>

static char *dir;

static const char *base_conf = "log_level = \"debug\";\n"
			       "database: { conninfo = \"host=/tmp dbname=spocd\"; };\n"
			       "imap: {\n"
			       "  host = \"127.0.0.1\";\n"
			       "  port = 1143;\n"
			       "  tls = \"none\";\n"
			       "  user = \"help\";\n"
			       "  password_file = \"imap.pw\";\n"
			       "  batch_size = 25;\n"
			       "};\n"
			       "smtp: {\n"
			       "  host = \"localhost\";\n"
			       "  port = 2525;\n"
			       "  tls = \"none\";\n"
			       "  from_address = \"Help@Desk.Test\";\n"
			       "};\n"
			       "desk: {\n"
			       "  name = \"Mesa de ayuda\";\n"
			       "  addresses = [ \"Help@Desk.Test\", \"incidencias@desk.test\" ];\n"
			       "  default_language = \"en\";\n"
			       "  default_kind = \"request\";\n"
			       "  templates_dir = \"tpl\";\n"
			       "};\n";

static char *write_conf(const char *text)
{
	char *path = g_build_filename(dir, "spocd.conf", NULL);

	assert_true(g_file_set_contents(path, text, -1, NULL));
	return path;
}

/* base_conf with the line starting with `match` replaced by `line` (or removed when NULL). */
static char *variant(const char *match, const char *line)
{
	char **lines = g_strsplit(base_conf, "\n", -1);
	GString *out = g_string_new(NULL);
	gboolean replaced = FALSE;

	for (char **l = lines; *l != NULL; l++) {
		if (!replaced && g_str_has_prefix(g_strchug(*l), match)) {
			replaced = TRUE;
			if (line != NULL)
				g_string_append_printf(out, "%s\n", line);
			continue;
		}
		if (**l != '\0')
			g_string_append_printf(out, "%s\n", *l);
	}
	g_strfreev(lines);
	assert_true(replaced);
	return g_string_free(out, FALSE);
}

static int setup(void **state)
{
	char *pw, *tpl;

	(void)state;
	dir = g_dir_make_tmp("spoc-conf-XXXXXX", NULL);
	pw = g_build_filename(dir, "imap.pw", NULL);
	tpl = g_build_filename(dir, "tpl", NULL);
	g_file_set_contents(pw, "s3cret\n", -1, NULL);
	g_chmod(pw, 0600);
	g_mkdir(tpl, 0700);
	g_free(pw);
	g_free(tpl);
	return 0;
}

static int teardown(void **state)
{
	char *cmd = g_strdup_printf("rm -rf '%s'", dir);

	(void)state;
	assert_int_equal(system(cmd), 0);
	g_free(cmd);
	g_free(dir);
	return 0;
}

static void test_valid_file(void **state)
{
	struct errbuf err = {{0}};
	char *path = write_conf(base_conf);
	struct spoc_conf *c = conf_load(path, &err);
	char *tpl = g_build_filename(dir, "tpl", NULL);
	char *pwfile = g_build_filename(dir, "imap.pw", NULL);

	(void)state;
	assert_non_null(c);
	assert_string_equal(c->database_conninfo, "host=/tmp dbname=spocd");
	assert_string_equal(c->mailboxes[0]->ep.host, "127.0.0.1");
	assert_int_equal(c->mailboxes[0]->ep.port, 1143);
	assert_int_equal(c->mailboxes[0]->ep.tls, SPOC_TLS_NONE);
	assert_null(c->mailboxes[0]->ep.ca_file);
	assert_string_equal(c->mailboxes[0]->ep.user, "help");
	/* Read from its file, trailing newline not part of it; path made absolute. */
	assert_string_equal(c->mailboxes[0]->ep.password, "s3cret");
	assert_string_equal(c->mailboxes[0]->ep.password_file, pwfile);
	assert_string_equal(c->mailboxes[0]->mailbox, "INBOX");
	assert_string_equal(c->mailboxes[0]->processed_folder, "spocd/processed");
	assert_string_equal(c->mailboxes[0]->failed_folder, "spocd/failed");
	assert_int_equal(c->mailboxes[0]->batch_size, 25);
	assert_int_equal(c->mailboxes[0]->poll_interval_s, 60);
	assert_true(c->mailboxes[0]->max_message_bytes == 26214400);
	assert_null(c->smtp.ep.user);
	assert_string_equal(c->smtp.from_address, "Help@Desk.Test");
	assert_string_equal(c->desk.addresses[0], "help@desk.test");
	assert_string_equal(c->desk.addresses[1], "incidencias@desk.test");
	assert_null(c->desk.addresses[2]);
	assert_string_equal(c->desk.default_language, "en");
	assert_int_equal(c->desk.default_kind, SPOC_KIND_REQUEST);
	assert_string_equal(c->desk.templates_dir, tpl);
	assert_string_equal(c->desk.message_id_domain, "desk.test");
	assert_string_equal(c->smtp.helo_name, "desk.test");
	assert_int_equal(c->log_level, LOG_DEBUG);
	conf_free(&c);
	assert_null(c);
	g_free(path);
	g_free(tpl);
	g_free(pwfile);
}

/* Loads a variant and expects failure with every fragment in the message. */
static void expect_error(const char *match, const char *line, const char *const *fragments)
{
	struct errbuf err = {{0}};
	char *text = variant(match, line);
	char *path = write_conf(text);
	struct spoc_conf *c = conf_load(path, &err);

	if (c != NULL)
		fail_msg("accepted a bad configuration (%s -> %s)", match, line ? line : "removed");
	for (const char *const *f = fragments; *f != NULL; f++)
		if (strstr(err.msg, *f) == NULL)
			fail_msg("error \"%s\" does not mention \"%s\"", err.msg, *f);
	g_free(text);
	g_free(path);
}

/* agents.proof defaults to both proofs where a border authenticates, to the token alone where
 * none does, and cannot ask for the border's pass without a border. */
static void test_agent_proof_settings(void **state)
{
	static const struct {
		const char *agents;
		int token_and_domain; /* -1: refused */
		int token_days;
		const char *error;
	} cases[] = {
	    {"", 0, 30, NULL},
	    {"agents: { trusted_authserv_id = \"mx.desk.test\"; };", 1, 30, NULL},
	    {"agents: { trusted_authserv_id = \"mx.desk.test\"; proof = \"token-or-domain\"; "
	     "token_days = 7; };",
	     0, 7, NULL},
	    {"agents: { proof = \"token-and-domain\"; };", -1, 0,
	     "agents.proof: \"token-and-domain\" needs agents.trusted_authserv_id"},
	    {"agents: { proof = \"either\"; };", -1, 0, "agents.proof"},
	    {"agents: { token_days = 0; };", -1, 0, "agents.token_days"},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = g_strconcat(base_conf, cases[i].agents, "\n", NULL);
		char *path = write_conf(text);
		struct errbuf err = {{0}};
		struct spoc_conf *c = conf_load(path, &err);

		if (cases[i].token_and_domain < 0) {
			if (c != NULL || strstr(err.msg, cases[i].error) == NULL)
				fail_msg("%s: want an error naming \"%s\", got \"%s\"",
					 cases[i].agents, cases[i].error, err.msg);
		} else {
			if (c == NULL)
				fail_msg("%s: refused: %s", cases[i].agents, err.msg);
			assert_int_equal(c->agents_token_and_domain, cases[i].token_and_domain);
			assert_int_equal(c->agents_token_days, cases[i].token_days);
			conf_free(&c);
		}
		g_free(text);
		g_free(path);
	}
}

/* The border that proves senders: the one named by trusted_authserv_id, or Exchange Online's,
 * which has no authserv-id to name (agents.border = "microsoft365"); either makes the desk one
 * with a border (both proofs for agents, new tickets for unverified senders by default). */
static void test_border_settings(void **state)
{
	static const struct {
		const char *settings;
		int dialect; /* -1: no border; -2: refused */
		const char *name;
		const char *error1, *error2;
	} cases[] = {
	    {"", -1, NULL, NULL, NULL},
	    {"agents: { border = \"rfc8601\"; };", -1, NULL, NULL, NULL},
	    {"agents: { trusted_authserv_id = \"mx.desk.test\"; };", AUTHRES_RFC8601,
	     "mx.desk.test", NULL, NULL},
	    {"agents: { border = \"microsoft365\"; };", AUTHRES_MICROSOFT365, "Microsoft 365", NULL,
	     NULL},
	    {"agents: { border = \"microsoft365\"; proof = \"token-or-domain\"; };\n"
	     "trust: { unverified = \"accept\"; };",
	     AUTHRES_MICROSOFT365, "Microsoft 365", NULL, NULL},
	    {"agents: { border = \"microsoft365\"; trusted_authserv_id = \"mx.desk.test\"; };", -2,
	     NULL, "agents.trusted_authserv_id: must be left out", "microsoft365"},
	    {"agents: { border = \"exchange\"; };", -2, NULL, "agents.border",
	     "\"exchange\" is not allowed"},
	    {"trust: { unverified = \"new-ticket\"; };", -2, NULL, "trust.unverified",
	     "agents.border = \"microsoft365\""},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = g_strconcat(base_conf, cases[i].settings, "\n", NULL);
		char *path = write_conf(text);
		struct errbuf err = {{0}};
		struct spoc_conf *c = conf_load(path, &err);

		if (cases[i].dialect == -2) {
			if (c != NULL || strstr(err.msg, cases[i].error1) == NULL ||
			    strstr(err.msg, cases[i].error2) == NULL)
				fail_msg("%s: want an error naming \"%s\" and \"%s\", got \"%s\"",
					 cases[i].settings, cases[i].error1, cases[i].error2,
					 err.msg);
		} else {
			const struct authres_border *b;
			gboolean expect_defaults;

			if (c == NULL)
				fail_msg("%s: refused: %s", cases[i].settings, err.msg);
			b = conf_border(c);
			if (cases[i].dialect == -1) {
				assert_null(b);
				assert_null(conf_border_name(c));
			} else {
				assert_non_null(b);
				assert_int_equal(b->dialect, cases[i].dialect);
				assert_string_equal(conf_border_name(c), cases[i].name);
				if (b->dialect == AUTHRES_RFC8601)
					assert_string_equal(b->authserv_id, cases[i].name);
			}
			/* a border's defaults: both proofs for agents, new tickets for strangers */
			expect_defaults = strstr(cases[i].settings, "proof") == NULL;
			if (expect_defaults) {
				assert_int_equal(c->agents_token_and_domain, b != NULL);
				assert_int_equal(c->trust_accept_unverified, b == NULL);
			}
			conf_free(&c);
		}
		g_free(text);
		g_free(path);
	}
}

static void test_port_out_of_range(void **state)
{
	(void)state;
	expect_error("port = 1143", "  port = 70000;",
		     (const char *const[]){"spocd.conf:5:", "imap.port", "1..65535", NULL});
}

static void test_plain_text_refused_off_loopback(void **state)
{
	(void)state;
	expect_error("host = \"127.0.0.1\"", "  host = \"imap.example.org\";",
		     (const char *const[]){"spocd.conf:6:", "imap.tls", "loopback",
					   "imap.example.org", NULL});
}

static void test_unknown_tls_value(void **state)
{
	(void)state;
	expect_error("tls = \"none\"", "  tls = \"ssl\";",
		     (const char *const[]){"imap.tls", "\"ssl\" is not allowed", "implicit",
					   "starttls", NULL});
}

static void test_missing_required(void **state)
{
	(void)state;
	expect_error("user = \"help\"", NULL, (const char *const[]){"imap.user", "missing", NULL});
}

static void test_password_file_unreadable(void **state)
{
	(void)state;
	expect_error("password_file", "  password_file = \"nope.pw\";",
		     (const char *const[]){"imap.password_file", "nope.pw", "cannot read", NULL});
}

/* A password or secret file others may read, or that another user owns, is refused with its
 * path and mode: it is no secret any more, or can be swapped. */
static void test_secret_file_modes(void **state)
{
	static const int modes[] = {0644, 0640, 0604, 0620, 0602, 0660};
	char *pw = g_build_filename(dir, "imap.pw", NULL);
	char *path = write_conf(base_conf);
	struct errbuf err = {{0}};
	struct spoc_conf *c;
	char want[64];

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(modes); i++) {
		assert_int_equal(g_chmod(pw, modes[i]), 0);
		c = conf_load(path, &err);
		g_snprintf(want, sizeof(want), "has mode %04o", modes[i]);
		if (c != NULL || strstr(err.msg, want) == NULL || strstr(err.msg, pw) == NULL ||
		    strstr(err.msg, "imap.password_file") == NULL)
			fail_msg("mode %04o: accepted or unclear: %s", modes[i], err.msg);
	}
	/* owner-only modes are fine */
	assert_int_equal(g_chmod(pw, 0400), 0);
	c = conf_load(path, &err);
	assert_non_null(c);
	conf_free(&c);
	/* another owner: only root can make one here */
	if (geteuid() == 0) {
		assert_int_equal(chown(pw, 65534, 65534), 0);
		assert_int_equal(g_chmod(pw, 0600), 0);
		c = conf_load(path, &err);
		assert_null(c);
		assert_non_null(strstr(err.msg, "is owned by uid 65534"));
		assert_int_equal(chown(pw, 0, 0), 0);
	}
	assert_int_equal(g_chmod(pw, 0600), 0);
	g_free(pw);
	g_free(path);
}

/* Passwords and secrets from systemd credentials ($CREDENTIALS_DIRECTORY, LoadCredential=):
 * read from there; a name with a '/' or no directory at all is an error naming the setting. */
static void test_credentials(void **state)
{
	char *creds = g_build_filename(dir, "creds", NULL);
	char *pw = g_build_filename(creds, "imap-password", NULL);
	char *secret = g_build_filename(creds, "threading-secret", NULL);
	char *text, *path;
	struct errbuf err = {{0}};
	struct spoc_conf *c;

	(void)state;
	g_mkdir(creds, 0700);
	assert_true(g_file_set_contents(pw, "from-credential\n", -1, NULL));
	/* as systemd leaves one: mode 0400 plus an ACL for the service's user, whose mask shows
	 * as group bits; a credential is not refused for that */
	assert_int_equal(g_chmod(pw, 0440), 0);
	assert_true(
	    g_file_set_contents(secret, "0123456789abcdef0123456789abcdef0123\n", -1, NULL));
	assert_int_equal(g_chmod(secret, 0400), 0);
	text = variant("password_file", "  password_credential = \"imap-password\";");
	path = g_strconcat(text, "threading: { secret_credentials = [ \"threading-secret\" ]; };\n",
			   NULL);
	g_free(text);
	text = path;
	path = write_conf(text);

	g_unsetenv("CREDENTIALS_DIRECTORY");
	assert_null(conf_load(path, &err));
	assert_non_null(strstr(err.msg, "imap.password_credential"));
	assert_non_null(strstr(err.msg, "$CREDENTIALS_DIRECTORY is not set"));

	g_setenv("CREDENTIALS_DIRECTORY", creds, TRUE);
	c = conf_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_string_equal(c->mailboxes[0]->ep.password, "from-credential");
	assert_string_equal(c->mailboxes[0]->ep.password_file, pw);
	assert_non_null(c->threading.secrets);
	assert_string_equal(c->threading.secrets[0], "0123456789abcdef0123456789abcdef0123");
	conf_free(&c);
	g_free(path);
	g_free(text);

	text = variant("password_file", "  password_credential = \"../imap.pw\";");
	path = write_conf(text);
	assert_null(conf_load(path, &err));
	assert_non_null(strstr(err.msg, "is not a credential name"));
	g_unsetenv("CREDENTIALS_DIRECTORY");
	g_free(path);
	g_free(text);
	g_free(creds);
	g_free(pw);
	g_free(secret);
}

/* base_conf with its imap group replaced by a mailboxes list (entries as given). */
static char *with_mailboxes(const char *entries)
{
	const char *start = strstr(base_conf, "imap: {"), *end = strstr(start, "};\n") + 3;

	return g_strdup_printf("%.*smailboxes = ( %s );\n%s", (int)(start - base_conf), base_conf,
			       entries, end);
}

#define MAILBOX(name, extra)                                                                       \
	"{ name = \"" name "\"; host = \"127.0.0.1\"; port = 1143; tls = \"none\"; user = "        \
	"\"help\"; password_file = \"imap.pw\"; " extra " }"

/* Several mailboxes: names, their own settings and defaults; every mistake named. */
static void test_mailboxes(void **state)
{
	static const struct {
		const char *entries, *error;
	} bad[] = {
	    {MAILBOX("a", "") ", " MAILBOX("a", ""), "mailboxes.[1].name: \"a\" is the name of "
						     "mailbox 1 too"},
	    {MAILBOX("bad name", ""), "mailboxes.[0].name: \"bad name\": use 1 to 64"},
	    {"{ host = \"127.0.0.1\"; tls = \"none\"; user = \"u\"; password_file = \"imap.pw\"; }",
	     "mailboxes.[0].name"},
	    {MAILBOX("a", "default_kind = \"problem\";"), "mailboxes.[0].default_kind"},
	};
	struct errbuf err = {{0}};
	struct spoc_conf *c;
	char *text, *path;

	(void)state;
	text = with_mailboxes(MAILBOX("incidencias", "") ", " MAILBOX(
	    "solicitudes", "mailbox = \"Solicitudes\"; default_kind = \"request\"; idle = false; "
			   "poll_interval = 30;"));
	path = write_conf(text);
	c = conf_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_string_equal(c->mailboxes[0]->name, "incidencias");
	assert_string_equal(c->mailboxes[0]->mailbox, "INBOX");
	assert_int_equal(c->mailboxes[0]->default_kind, -1);
	assert_true(c->mailboxes[0]->idle);
	assert_string_equal(c->mailboxes[1]->name, "solicitudes");
	assert_string_equal(c->mailboxes[1]->mailbox, "Solicitudes");
	assert_int_equal(c->mailboxes[1]->default_kind, SPOC_KIND_REQUEST);
	assert_false(c->mailboxes[1]->idle);
	assert_int_equal(c->mailboxes[1]->poll_interval_s, 30);
	assert_null(c->mailboxes[2]);
	conf_free(&c);
	g_free(path);
	g_free(text);

	/* the single imap group is named after its folder: what earlier versions recorded */
	path = write_conf(base_conf);
	c = conf_load(path, &err);
	assert_non_null(c);
	assert_string_equal(c->mailboxes[0]->name, "INBOX");
	conf_free(&c);
	g_free(path);

	text = g_strconcat(base_conf, "mailboxes = ( ", MAILBOX("x", ""), " );\n", NULL);
	path = write_conf(text);
	assert_null(conf_load(path, &err));
	assert_non_null(strstr(err.msg, "both an imap section and a mailboxes list"));
	g_free(path);
	g_free(text);
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		text = with_mailboxes(bad[i].entries);
		path = write_conf(text);
		assert_null(conf_load(path, &err));
		if (strstr(err.msg, bad[i].error) == NULL)
			fail_msg("%s: got %s", bad[i].error, err.msg);
		g_free(path);
		g_free(text);
	}
}

static void test_wrong_type(void **state)
{
	(void)state;
	expect_error(
	    "batch_size", "  batch_size = \"many\";",
	    (const char *const[]){"spocd.conf:9:", "imap.batch_size", "whole number", NULL});
}

static void test_bad_address(void **state)
{
	(void)state;
	expect_error("from_address", "  from_address = \"not an address\";",
		     (const char *const[]){"smtp.from_address", "not an address", NULL});
}

/* rate_limits: the shared budget of automatic mail, each kind's own, the desk's hourly cap, and
 * a misspelt name refused rather than silently no limit; smtp.refused_domains. */
static void test_rate_limits_and_refused_domains(void **state)
{
	static const struct {
		const char *text, *error;
	} bad[] = {
	    {"rate_limits: { per_recipient_hour = 0; };\n", "rate_limits.per_recipient_hour"},
	    {"rate_limits: { acks: { per_recipient_hour = 2; }; };\n", "rate_limits.acks: unknown"},
	    {"rate_limits: { ack: { per_recipient_hours = 2; }; };\n",
	     "rate_limits.ack.per_recipient_hours: unknown"},
	    {"rate_limits: { ack = 2; };\n", "rate_limits.ack: must be a group"},
	    {"rate_limits: { status: { per_ticket_day = -1; }; };\n",
	     "rate_limits.status.per_ticket_day: must be 0..100000"},
	    {"rate_limits: { automatic_per_hour = 0; };\n", "rate_limits.automatic_per_hour"},
	    {"rate_limits = 5;\n", "rate_limits: must be a group"},
	};
	struct errbuf err = {{0}};
	char *path = write_conf(base_conf), *text;
	struct spoc_conf *c = conf_load(path, &err);

	(void)state;
	/* the defaults */
	assert_non_null(c);
	assert_int_equal(c->caps.automatic.per[CAPS_RECIPIENT_HOUR], 10);
	assert_int_equal(c->caps.automatic.per[CAPS_RECIPIENT_DAY], 40);
	assert_int_equal(c->caps.automatic.per[CAPS_TICKET_DAY], 50);
	assert_int_equal(c->caps.automatic_per_hour, 500);
	assert_int_equal(c->caps.kinds[CAPS_ACK].per[CAPS_RECIPIENT_HOUR], 0);
	assert_int_equal(c->caps.kinds[CAPS_STATUS].per[CAPS_TICKET_DAY], 0);
	assert_int_equal(c->caps.kinds[CAPS_AGENT_REPLY].per[CAPS_RECIPIENT_HOUR], 30);
	assert_int_equal(c->caps.kinds[CAPS_AGENT_REPLY].per[CAPS_RECIPIENT_DAY], 200);
	assert_int_equal(c->caps.kinds[CAPS_AGENT_REPLY].per[CAPS_TICKET_DAY], 100);
	assert_non_null(c->smtp.refused_domains);
	assert_null(c->smtp.refused_domains[0]);
	conf_free(&c);
	g_free(path);

	/* every kind's group, by its own name */
	text =
	    g_strconcat(base_conf,
			"rate_limits: {\n  per_recipient_hour = 3;\n  automatic_per_hour = 1000;\n"
			"  ack: { per_recipient_hour = 2; };\n"
			"  follow-up: { per_recipient_day = 7; };\n"
			"  sla-breach: { per_ticket_day = 4; };\n"
			"  agent-reply: { per_recipient_hour = 5; per_recipient_day = 0; };\n};\n",
			NULL);
	path = write_conf(text);
	c = conf_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_int_equal(c->caps.automatic.per[CAPS_RECIPIENT_HOUR], 3);
	assert_int_equal(c->caps.automatic.per[CAPS_RECIPIENT_DAY], 40);
	assert_int_equal(c->caps.automatic_per_hour, 1000);
	assert_int_equal(c->caps.kinds[CAPS_ACK].per[CAPS_RECIPIENT_HOUR], 2);
	assert_int_equal(c->caps.kinds[CAPS_FOLLOW_UP].per[CAPS_RECIPIENT_DAY], 7);
	assert_int_equal(c->caps.kinds[CAPS_SLA_BREACH].per[CAPS_TICKET_DAY], 4);
	assert_int_equal(c->caps.kinds[CAPS_AGENT_REPLY].per[CAPS_RECIPIENT_HOUR], 5);
	assert_int_equal(c->caps.kinds[CAPS_AGENT_REPLY].per[CAPS_RECIPIENT_DAY], 0);
	assert_int_equal(c->caps.kinds[CAPS_AGENT_REPLY].per[CAPS_TICKET_DAY], 100);
	conf_free(&c);
	g_free(path);
	g_free(text);

	/* refused domains: lower case, without the dots around them */
	text =
	    variant("from_address", "  from_address = \"Help@Desk.Test\";\n"
				    "  refused_domains = [ \"Evil.Example\", \".corp.test.\" ];");
	path = write_conf(text);
	c = conf_load(path, &err);
	if (c == NULL)
		fail_msg("%s", err.msg);
	assert_string_equal(c->smtp.refused_domains[0], "evil.example");
	assert_string_equal(c->smtp.refused_domains[1], "corp.test");
	assert_null(c->smtp.refused_domains[2]);
	conf_free(&c);
	g_free(path);
	g_free(text);

	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		text = g_strconcat(base_conf, bad[i].text, NULL);
		path = write_conf(text);
		c = conf_load(path, &err);
		if (c != NULL)
			fail_msg("accepted %s", bad[i].text);
		if (strstr(err.msg, bad[i].error) == NULL)
			fail_msg("%s: got %s", bad[i].error, err.msg);
		g_free(path);
		g_free(text);
	}
	expect_error(
	    "from_address",
	    "  from_address = \"help@desk.test\"; refused_domains = [ \"a@b.example\" ];",
	    (const char *const[]){"smtp.refused_domains", "element 1 is not a domain", NULL});
	expect_error("from_address",
		     "  from_address = \"help@desk.test\"; refused_domains = \"b.example\";",
		     (const char *const[]){"smtp.refused_domains", "must be a list", NULL});
}

static void test_syntax_error_names_line(void **state)
{
	struct errbuf err = {{0}};
	char *path = write_conf("database: { conninfo = \"x\" }\nimap: { host = ; };\n");
	struct spoc_conf *c = conf_load(path, &err);

	(void)state;
	assert_null(c);
	assert_non_null(strstr(err.msg, "spocd.conf:"));
	assert_non_null(strstr(err.msg, "syntax error"));
	g_free(path);
}

static void test_missing_file(void **state)
{
	struct errbuf err = {{0}};
	struct spoc_conf *c = conf_load("/nonexistent/spocd.conf", &err);

	(void)state;
	assert_null(c);
	assert_non_null(strstr(err.msg, "/nonexistent/spocd.conf"));
	assert_non_null(strstr(err.msg, "cannot read"));
}

static void test_loopback(void **state)
{
	(void)state;
	assert_true(conf_host_is_loopback("127.0.0.1"));
	assert_true(conf_host_is_loopback("127.8.9.10"));
	assert_true(conf_host_is_loopback("::1"));
	assert_true(conf_host_is_loopback("LOCALHOST"));
	assert_false(conf_host_is_loopback("128.0.0.1"));
	assert_false(conf_host_is_loopback("10.0.0.1"));
	assert_false(conf_host_is_loopback("localhost.example.org"));
	assert_false(conf_host_is_loopback("::2"));
	assert_false(conf_host_is_loopback(NULL));
}

/* notify.max_attachment_bytes: 10 MiB unless set, 0 allowed (never attach), a negative or a
 * word refused naming the setting. */
static void test_max_attachment_bytes(void **state)
{
	static const struct {
		const char *settings;
		int64_t want; /* -1: refused */
		const char *error;
	} cases[] = {
	    {"", 10485760, NULL},
	    {"notify: { max_attachment_bytes = 0; };", 0, NULL},
	    {"notify: { max_attachment_bytes = 200000; };", 200000, NULL},
	    {"notify: { max_attachment_bytes = -1; };", -1,
	     "notify.max_attachment_bytes: must be 0.."},
	    {"notify: { max_attachment_bytes = \"10M\"; };", -1,
	     "notify.max_attachment_bytes: must be a whole number"},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		char *text = g_strconcat(base_conf, cases[i].settings, "\n", NULL);
		char *path = write_conf(text);
		struct errbuf err = {{0}};
		struct spoc_conf *c = conf_load(path, &err);

		if (cases[i].want < 0) {
			if (c != NULL || strstr(err.msg, cases[i].error) == NULL)
				fail_msg("%s: want an error naming \"%s\", got \"%s\"",
					 cases[i].settings, cases[i].error, err.msg);
		} else {
			if (c == NULL)
				fail_msg("%s: refused: %s", cases[i].settings, err.msg);
			assert_int_equal(c->desk.notify_max_attachment_bytes, cases[i].want);
			conf_free(&c);
		}
		g_free(text);
		g_free(path);
	}
}

/* The database group: reconnect (10 unless set, 1..300), the longest wait before trying a lost
 * database again; timeout (60 unless set, 1..3600), the longest wait for one statement's answer;
 * pooler ("none" unless set, or "transaction"). Others are refused naming the setting. */
static void test_database_settings(void **state)
{
	static const struct {
		const char *settings;
		int reconnect, timeout; /* reconnect -1: refused */
		gboolean pooled;
		const char *error;
	} cases[] = {
	    {"", 10, 60, FALSE, NULL},
	    {"reconnect = 1; timeout = 1;", 1, 1, FALSE, NULL},
	    {"reconnect = 300; timeout = 3600; pooler = \"transaction\";", 300, 3600, TRUE, NULL},
	    {"pooler = \"none\";", 10, 60, FALSE, NULL},
	    {"reconnect = 0;", -1, 0, FALSE, "database.reconnect: must be 1..300"},
	    {"reconnect = 301;", -1, 0, FALSE, "database.reconnect: must be 1..300"},
	    {"timeout = 0;", -1, 0, FALSE, "database.timeout: must be 1..3600"},
	    {"timeout = 3601;", -1, 0, FALSE, "database.timeout: must be 1..3600"},
	    {"timeout = \"60\";", -1, 0, FALSE, "database.timeout: must be a whole number"},
	    {"pooler = \"session\";", -1, 0, FALSE, "database.pooler"},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GString *text = g_string_new(base_conf);
		char *path, *group = g_strdup_printf("database: { conninfo = \"host=/tmp "
						     "dbname=spocd\"; %s };",
						     cases[i].settings);
		struct errbuf err = {{0}};
		struct spoc_conf *c;

		g_string_replace(text, "database: { conninfo = \"host=/tmp dbname=spocd\"; };", group,
				 1);
		path = write_conf(text->str);
		c = conf_load(path, &err);
		if (cases[i].reconnect < 0) {
			if (c != NULL || strstr(err.msg, cases[i].error) == NULL)
				fail_msg("%s: want an error naming \"%s\", got \"%s\"",
					 cases[i].settings, cases[i].error, err.msg);
		} else {
			if (c == NULL)
				fail_msg("%s: refused: %s", cases[i].settings, err.msg);
			assert_int_equal(c->database_reconnect_s, cases[i].reconnect);
			assert_int_equal(c->database_timeout_s, cases[i].timeout);
			assert_int_equal(c->database_pooled, cases[i].pooled);
			conf_free(&c);
		}
		g_free(group);
		g_string_free(text, TRUE);
		g_free(path);
	}
}

/* notify.batch_size (64 unless set, 1..1000) and smtp.connections (1 unless set, 1..32): out of
 * range or not a number is refused naming the setting. */
static void test_batch_and_connections(void **state)
{
	static const struct {
		const char *settings;
		int batch, connections; /* -1: refused */
		const char *error;
	} cases[] = {
	    {"", 64, 1, NULL},
	    {"notify: { batch_size = 1; };", 1, 1, NULL},
	    {"notify: { batch_size = 1000; };", 1000, 1, NULL},
	    {"notify: { batch_size = 0; };", -1, -1, "notify.batch_size: must be 1..1000"},
	    {"notify: { batch_size = 1001; };", -1, -1, "notify.batch_size: must be 1..1000"},
	    {"notify: { batch_size = \"64\"; };", -1, -1,
	     "notify.batch_size: must be a whole number"},
	    /* inside the smtp group of base_conf */
	    {"connections = 4;", 64, 4, NULL},
	    {"connections = 0;", -1, -1, "smtp.connections: must be 1..32"},
	    {"connections = 33;", -1, -1, "smtp.connections: must be 1..32"},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		GString *text = g_string_new(base_conf);
		char *path, *line = g_strdup_printf("  %s\n};\ndesk: {", cases[i].settings);
		struct errbuf err = {{0}};
		struct spoc_conf *c;

		if (g_str_has_prefix(cases[i].settings, "notify"))
			g_string_append_printf(text, "%s\n", cases[i].settings);
		else
			g_string_replace(text, "};\ndesk: {", line, 1);
		path = write_conf(text->str);
		c = conf_load(path, &err);
		g_free(line);
		g_string_free(text, TRUE);
		if (cases[i].batch < 0) {
			if (c != NULL || strstr(err.msg, cases[i].error) == NULL)
				fail_msg("%s: want an error naming \"%s\", got \"%s\"",
					 cases[i].settings, cases[i].error, err.msg);
		} else {
			if (c == NULL)
				fail_msg("%s: refused: %s", cases[i].settings, err.msg);
			assert_int_equal(c->desk.notify_batch_size, cases[i].batch);
			assert_int_equal(c->smtp.connections, cases[i].connections);
			conf_free(&c);
		}
		g_free(path);
	}
}

struct int_case {
	const char *settings;
	int value; /* -1: refused */
	const char *error;
};

/* Each case loaded after base_conf: the int at offset in struct spoc_conf, or the error. */
static void check_int_setting(const struct int_case *cases, size_t n, size_t offset)
{
	for (size_t i = 0; i < n; i++) {
		char *text = g_strdup_printf("%s%s\n", base_conf, cases[i].settings);
		char *path = write_conf(text);
		struct errbuf err = {{0}};
		struct spoc_conf *c = conf_load(path, &err);

		if (cases[i].value < 0) {
			if (c != NULL || strstr(err.msg, cases[i].error) == NULL)
				fail_msg("%s: want \"%s\", got \"%s\"", cases[i].settings,
					 cases[i].error, err.msg);
		} else {
			if (c == NULL)
				fail_msg("%s: refused: %s", cases[i].settings, err.msg);
			assert_int_equal(*(const int *)(const void *)((const char *)c + offset),
					 cases[i].value);
			conf_free(&c);
		}
		g_free(text);
		g_free(path);
	}
}

/* ingest.lease_seconds: 30 when absent, 2..3600, a mistake named with file, line and setting. */
static void test_lease_seconds(void **state)
{
	static const struct int_case cases[] = {
	    {"", 30, NULL},
	    {"ingest: { lease_seconds = 2; };", 2, NULL},
	    {"ingest: { lease_seconds = 3600; };", 3600, NULL},
	    {"ingest: { lease_seconds = 1; };", -1,
	     "spocd.conf:24: ingest.lease_seconds: must be 2..3600, not 1"},
	    {"ingest: { lease_seconds = 3601; };", -1,
	     "spocd.conf:24: ingest.lease_seconds: must be 2..3600, not 3601"},
	    {"ingest: { lease_seconds = \"30\"; };", -1,
	     "spocd.conf:24: ingest.lease_seconds: must be a whole number from 2 to 3600"},
	};

	(void)state;
	check_int_setting(cases, G_N_ELEMENTS(cases), offsetof(struct spoc_conf, lease_seconds));
}

/* ingest.parse_threads: 0 (one per processor) when absent, 0..64. */
static void test_parse_threads(void **state)
{
	static const struct int_case cases[] = {
	    {"", 0, NULL},
	    {"ingest: { parse_threads = 1; };", 1, NULL},
	    {"ingest: { parse_threads = 64; };", 64, NULL},
	    {"ingest: { parse_threads = -1; };", -1,
	     "spocd.conf:24: ingest.parse_threads: must be 0..64, not -1"},
	    {"ingest: { parse_threads = 65; };", -1,
	     "spocd.conf:24: ingest.parse_threads: must be 0..64, not 65"},
	};

	(void)state;
	check_int_setting(cases, G_N_ELEMENTS(cases), offsetof(struct spoc_conf, parse_threads));
}

static void test_shipped_example_parses(void **state)
{
	/* The example's password files do not exist here: the only complaint must be about them. */
	const char *src = g_getenv("SPOC_SOURCE_DIR");
	char *path = g_build_filename(src != NULL ? src : ".", "conf", "spocd.conf", NULL);
	struct errbuf err = {{0}};
	struct spoc_conf *c = conf_load(path, &err);

	(void)state;
	assert_null(c);
	assert_non_null(strstr(err.msg, "imap.password_file"));
	assert_non_null(strstr(err.msg, "/etc/spocd/imap.password"));
	g_free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_valid_file),
	    cmocka_unit_test(test_max_attachment_bytes),
	    cmocka_unit_test(test_batch_and_connections),
	    cmocka_unit_test(test_database_settings),
	    cmocka_unit_test(test_lease_seconds),
	    cmocka_unit_test(test_parse_threads),
	    cmocka_unit_test(test_port_out_of_range),
	    cmocka_unit_test(test_plain_text_refused_off_loopback),
	    cmocka_unit_test(test_unknown_tls_value),
	    cmocka_unit_test(test_missing_required),
	    cmocka_unit_test(test_password_file_unreadable),
	    cmocka_unit_test(test_secret_file_modes),
	    cmocka_unit_test(test_agent_proof_settings),
	    cmocka_unit_test(test_border_settings),
	    cmocka_unit_test(test_credentials),
	    cmocka_unit_test(test_mailboxes),
	    cmocka_unit_test(test_wrong_type),
	    cmocka_unit_test(test_bad_address),
	    cmocka_unit_test(test_rate_limits_and_refused_domains),
	    cmocka_unit_test(test_syntax_error_names_line),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_loopback),
	    cmocka_unit_test(test_shipped_example_parses),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
