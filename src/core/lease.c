/* Leases between passes: the holder name and node, the take-over from a holder that died on
 * this node, and renewals told as changes of hands. */
#include "lease.h"

#include <errno.h>
#include <signal.h>
#include <string.h>
#include <unistd.h>

char *lease_holder_new(void)
{
	char host[256] = "";

	if (gethostname(host, sizeof(host) - 1) != 0 || host[0] == '\0')
		g_strlcpy(host, "localhost", sizeof(host));
	return g_strdup_printf("%.80s:%ld:%08x", host, (long)getpid(), g_random_int());
}

char *lease_node_new(void)
{
	char *boot = NULL, *ns = g_file_read_link("/proc/self/ns/pid", NULL);
	char *node = NULL;

	if (ns != NULL && g_file_get_contents("/proc/sys/kernel/random/boot_id", &boot, NULL, NULL))
		node = g_strdup_printf("%s:%s", g_strstrip(boot), ns);
	g_free(boot);
	g_free(ns);
	return node != NULL ? node : g_strdup("");
}

void lease_init(struct store_lease *l, const char *name, const char *holder, const char *node,
		int seconds)
{
	*l = (struct store_lease){
	    .name = g_strdup(name), .holder = holder, .node = node, .seconds = seconds};
}

/* Whether the holder named other ("HOST:PID:RANDOM") ran on this node and is gone: its PID
 * does not exist here, or is this process's. A PID used again by another process reads as
 * alive: then the lease is waited for, as for a holder elsewhere. */
static gboolean holder_dead_here(const struct store_lease *l)
{
	const char *end, *colon;
	guint64 pid;
	char *digits;
	gboolean ok;

	if (l->node == NULL || l->node[0] == '\0' || strcmp(l->node, l->other_node) != 0 ||
	    (end = strrchr(l->other, ':')) == NULL)
		return FALSE;
	for (colon = end; colon > l->other && colon[-1] != ':'; colon--)
		;
	if (colon == l->other)
		return FALSE;
	digits = g_strndup(colon, (gsize)(end - colon));
	ok = g_ascii_string_to_unsigned(digits, 10, 1, G_MAXINT32, &pid, NULL);
	g_free(digits);
	if (!ok)
		return FALSE;
	if ((pid_t)pid == getpid())
		return TRUE;
	return kill((pid_t)pid, 0) != 0 && errno == ESRCH;
}

int lease_take(struct store *st, struct store_lease *l, gboolean *from_dead_r, struct errbuf *err)
{
	int rc = store_lease_take(st, l, err);

	if (from_dead_r != NULL)
		*from_dead_r = FALSE;
	if (rc != SPOC_OK || l->fencing != 0 || !holder_dead_here(l))
		return rc;
	if ((rc = store_lease_take_from_dead(st, l, err)) == SPOC_OK && from_dead_r != NULL)
		*from_dead_r = l->fencing != 0;
	return rc;
}

void lease_clear(struct store_lease *l)
{
	g_clear_pointer(&l->name, g_free);
}

const char *lease_other_name(const struct store_lease *l)
{
	return l->other[0] != '\0' ? l->other : "unknown";
}

int64_t lease_interval_us(const struct store_lease *l)
{
	return (int64_t)l->seconds * G_USEC_PER_SEC / 3;
}

int lease_keep(struct store *st, struct store_lease *l, const char *what,
	       enum lease_change *change_r, char **line_r, struct errbuf *err)
{
	int64_t was = l->fencing;
	gboolean from_dead = FALSE;
	int rc = lease_take(st, l, &from_dead, err);

	*change_r = LEASE_SAME;
	*line_r = NULL;
	if (rc != SPOC_OK || l->fencing == was)
		return rc;
	if (l->fencing == 0) {
		*change_r = LEASE_LOST;
		*line_r =
		    g_strdup_printf("%s: another spocd took the lease over (holder %s, fencing "
				    "%" G_GINT64_FORMAT "; ours was %" G_GINT64_FORMAT ")",
				    what, lease_other_name(l), l->other_fencing, was);
	} else if (from_dead) {
		*change_r = LEASE_GAINED;
		*line_r = g_strdup_printf(
		    "%s: lease taken over (holder %s, fencing %" G_GINT64_FORMAT
		    ") from %s (fencing %" G_GINT64_FORMAT "), which no longer runs on this host",
		    what, l->holder, l->fencing, l->other, l->other_fencing);
	} else if (was == 0) {
		*change_r = LEASE_GAINED;
		*line_r =
		    g_strdup_printf("%s: lease taken (holder %s, fencing %" G_GINT64_FORMAT ")",
				    what, l->holder, l->fencing);
	} else {
		*change_r = LEASE_GAINED;
		*line_r = g_strdup_printf(
		    "%s: lease taken again (holder %s, fencing %" G_GINT64_FORMAT
		    "; ours was %" G_GINT64_FORMAT ", another instance had it meanwhile)",
		    what, l->holder, l->fencing, was);
	}
	return SPOC_OK;
}
