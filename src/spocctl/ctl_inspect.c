/* `spocctl inspect`: what spocd makes of one message, as JSON, from a file or standard input.
 * It touches no server and no database; the configuration, when there is one, gives the limits,
 * charsets and rules the daemon would apply, and --mailbox the mailbox it is judged as read
 * from (its own rules and default_kind). */
#include "ctl.h"
#include "ingest.h"
#include "inspect.h"

#include <string.h>

int ctl_inspect(struct ctl *c, int argc, char **argv)
{
	const char *mailbox = NULL, *file = NULL;
	GBytes *raw;
	char *json;
	gsize len;
	const char *data;
	int rc;

	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--mailbox") == 0) {
			if (!ctl_option_value(argc, argv, &i, "inspect", &mailbox))
				return CTL_EXIT_USAGE;
		} else if (file == NULL) {
			file = argv[i];
		} else {
			ctl_usage(stderr);
			return CTL_EXIT_USAGE;
		}
	}
	if (file == NULL) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_load_conf(c, mailbox != NULL)) != 0)
		return rc;
	if (mailbox != NULL && ingest_mailbox(c->conf, mailbox) == NULL) {
		ctl_err("inspect: no mailbox \"%s\" in %s", mailbox, c->conf->path);
		return CTL_EXIT_USAGE;
	}
	if ((raw = ctl_read_input(file)) == NULL)
		return CTL_EXIT_FAIL;
	data = g_bytes_get_data(raw, &len);
	json = inspect_json(file, data != NULL ? data : "", len, c->conf, mailbox);
	ctl_json_out(json);
	g_free(json);
	g_bytes_unref(raw);
	return 0;
}
