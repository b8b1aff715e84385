/* `spocctl inspect`: what spocd makes of one message, as JSON, from a file or standard input.
 * It touches no server and no database; the configuration, when there is one, gives the limits,
 * charsets and rules the daemon would apply. */
#include "ctl.h"
#include "inspect.h"

int ctl_inspect(struct ctl *c, int argc, char **argv)
{
	GBytes *raw;
	char *json;
	gsize len;
	const char *data;
	int rc;

	if (argc != 2) {
		ctl_usage(stderr);
		return CTL_EXIT_USAGE;
	}
	if ((rc = ctl_load_conf(c, FALSE)) != 0)
		return rc;
	if ((raw = ctl_read_input(argv[1])) == NULL)
		return CTL_EXIT_FAIL;
	data = g_bytes_get_data(raw, &len);
	json = inspect_json(argv[1], data != NULL ? data : "", len, c->conf);
	fputs(json, stdout);
	g_free(json);
	g_bytes_unref(raw);
	return 0;
}
