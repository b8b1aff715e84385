/* `spocctl sla check`: one pass of the SLA watcher, as spocd makes each cycle; operators force
 * one with it. */
#include "ctl.h"
#include "sla_watch.h"

#include <string.h>

int ctl_sla(struct ctl *c, int argc, char **argv)
{
	struct errbuf err = {{0}};
	unsigned queued = 0;
	GDateTime *now;
	int rc;

	for (int i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--json") != 0) {
			ctl_err("sla check: unexpected \"%s\"", argv[i]);
			return CTL_EXIT_USAGE;
		}
		c->json = TRUE;
	}
	if (!ctl_subcommand("sla", argc < 2 ? NULL : argv[1], (const char *const[]){"check", NULL}))
		return CTL_EXIT_USAGE;
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	now = g_date_time_new_now_utc();
	rc = sla_watch_run(c->conf, c->st, NULL, now, &queued, &err);
	g_date_time_unref(now);
	if (c->json)
		printf("{\"queued\":%u}\n", queued);
	else
		ctl_say("sla check: %u notification%s queued\n", queued, queued == 1 ? "" : "s");
	if (rc != SPOC_OK) {
		ctl_err("sla check: %s", err.msg);
		return ctl_exit_for(rc);
	}
	return 0;
}
