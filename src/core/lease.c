/* Leases between passes: the holder name, and renewals told as changes of hands. */
#include "lease.h"

#include <unistd.h>

char *lease_holder_new(void)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		g_strlcpy(host, "localhost", sizeof(host));
	return g_strdup_printf("%.80s:%ld:%08x", host, (long)getpid(), g_random_int());
}

void lease_init(struct store_lease *l, const char *name, const char *holder, int seconds)
{
	*l = (struct store_lease){.name = g_strdup(name), .holder = holder, .seconds = seconds};
}

void lease_clear(struct store_lease *l)
{
	g_clear_pointer(&l->name, g_free);
}

int64_t lease_interval_us(const struct store_lease *l)
{
	return (int64_t)l->seconds * G_USEC_PER_SEC / 3;
}

int lease_keep(struct store *st, struct store_lease *l, const char *what,
	       enum lease_change *change_r, char **line_r, struct errbuf *err)
{
	int64_t was = l->fencing;
	int rc = store_lease_take(st, l, err);

	*change_r = LEASE_SAME;
	*line_r = NULL;
	if (rc != SPOC_OK || l->fencing == was)
		return rc;
	if (l->fencing == 0) {
		*change_r = LEASE_LOST;
		*line_r = g_strdup_printf("%s: another spocd took the lease over (holder %s, fencing "
					  "%" G_GINT64_FORMAT "; ours was %" G_GINT64_FORMAT ")",
					  what, l->other[0] ? l->other : "unknown",
					  l->other_fencing, was);
	} else if (was == 0) {
		*change_r = LEASE_GAINED;
		*line_r = g_strdup_printf("%s: lease taken (holder %s, fencing %" G_GINT64_FORMAT ")",
					  what, l->holder, l->fencing);
	} else {
		*change_r = LEASE_GAINED;
		*line_r = g_strdup_printf("%s: lease taken again (holder %s, fencing %" G_GINT64_FORMAT
					  "; ours was %" G_GINT64_FORMAT
					  ", another instance had it meanwhile)",
					  what, l->holder, l->fencing, was);
	}
	return SPOC_OK;
}
