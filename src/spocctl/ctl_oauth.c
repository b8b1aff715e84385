/* spocctl oauth login: the one time a person consents for a mailbox (or the SMTP login) that
 * uses auth = "oauth2" with grant = "refresh_token". It runs the OAuth 2.0 device authorization
 * grant (RFC 8628): prints where to go and the code to enter, polls the token endpoint at the
 * pace the server asks, and writes the refresh token to the configured refresh_token_file
 * (atomically, mode 0600) for spocd to use from its next reload. Neither the refresh token nor the
 * access token is ever printed. */
#include "ctl.h"
#include "oauth2.h"

#include <signal.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t interrupted;

static void on_interrupt(int sig)
{
	(void)sig;
	interrupted = 1;
}

/* The endpoint NAME stands for: a mailbox's name, or "smtp". NULL when there is none. */
static const struct spoc_endpoint *endpoint_named(const struct spoc_conf *conf, const char *name)
{
	if (strcmp(name, "smtp") == 0)
		return &conf->smtp.ep;
	for (size_t i = 0; conf->mailboxes[i] != NULL; i++)
		if (strcmp(conf->mailboxes[i]->name, name) == 0)
			return &conf->mailboxes[i]->ep;
	return NULL;
}

static int login(struct ctl *c, const char *name)
{
	const struct spoc_endpoint *ep = endpoint_named(c->conf, name);
	const struct spoc_oauth2_conf *o;
	struct oauth2_device d;
	struct errbuf err = {{0}};
	struct sigaction sa;
	gint64 deadline;
	gboolean pending = FALSE;
	int rc;

	if (ep == NULL) {
		ctl_err("oauth login: no mailbox named \"%s\" (nor \"smtp\") in %s", name,
			c->conf->path);
		return CTL_EXIT_FAIL;
	}
	o = ep->oauth2;
	if (o == NULL || o->grant != SPOC_OAUTH2_REFRESH_TOKEN) {
		ctl_err("oauth login: %s does not use auth = \"oauth2\" with grant = "
			"\"refresh_token\": nothing to consent to",
			name);
		return CTL_EXIT_FAIL;
	}
	if (o->refresh_token_read_only) {
		ctl_err("oauth login: %s reads its refresh token from a systemd credential, which "
			"cannot be written: use refresh_token_file",
			name);
		return CTL_EXIT_FAIL;
	}
	if (oauth2_device_start(o, &d, &err) != SPOC_OK) {
		ctl_err("oauth login: %s", err.msg);
		return CTL_EXIT_FAIL;
	}
	ctl_say("To let spocd log in as %s, open\n  %s\nand enter the code\n  %s\n",
		ctl_line(ep->user), ctl_line(d.verification_uri), ctl_line(d.user_code));
	if (d.verification_uri_complete != NULL)
		ctl_say("(or open %s)\n", ctl_line(d.verification_uri_complete));
	ctl_say("within %lld minutes. Waiting...\n", (long long)(d.expires_in_s + 59) / 60);
	fflush(stdout);

	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_interrupt;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	deadline = g_get_monotonic_time() + d.expires_in_s * G_USEC_PER_SEC;
	for (;;) {
		for (int s = 0; s < d.interval_s && !interrupted; s++)
			sleep(1);
		if (interrupted) {
			ctl_err("oauth login: interrupted; %s was not written",
				o->refresh_token_file);
			rc = CTL_EXIT_FAIL;
			break;
		}
		if (g_get_monotonic_time() > deadline) {
			ctl_err("oauth login: the code expired before anyone consented; run it "
				"again");
			rc = CTL_EXIT_FAIL;
			break;
		}
		rc = oauth2_device_poll(o, &d, &pending, &err);
		if (rc == SPOC_OK) {
			ctl_say("Consent given: the refresh token is in %s. Reload spocd "
				"(systemctl reload spocd) to use it.\n",
				ctl_line(o->refresh_token_file));
			rc = 0;
			break;
		}
		if (!pending) {
			ctl_err("oauth login: %s", err.msg);
			rc = rc == SPOC_ETEMP ? CTL_EXIT_TEMPFAIL : CTL_EXIT_FAIL;
			break;
		}
	}
	oauth2_device_clear(&d);
	return rc;
}

int ctl_oauth(struct ctl *c, int argc, char **argv)
{
	int rc;

	if (argc != 3 || strcmp(argv[1], "login") != 0) {
		ctl_err("oauth: use \"oauth login MAILBOX\" (a mailbox's name, or smtp)");
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_load_conf(c, TRUE)) != 0)
		return rc;
	return login(c, argv[2]);
}
