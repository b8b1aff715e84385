/* Keeping the leases of singleton work (store_lease, sql/026_leases.sql) between passes: this
 * process's holder name, and a renewal that says when the lease changed hands. The pass itself
 * (ingest_run, sla_watch_run) checks the fencing number in each of its write transactions. */
#ifndef SPOC_LEASE_H
#define SPOC_LEASE_H

#include "store.h"

/* This process's holder name: "HOST:PID:RANDOM" (the random part tells apart two processes
 * that got one PID in two containers of one host name). Caller frees. */
char *lease_holder_new(void);

/* Where this process runs, as far as its PIDs mean anything: the kernel's boot id and the PID
 * namespace ("BOOT-ID:pid:[INODE]"); "" when either cannot be read. Caller frees. */
char *lease_node_new(void);

/* A lease named name for holder and node (both borrowed), held seconds at a time, not held yet. */
void lease_init(struct store_lease *l, const char *name, const char *holder, const char *node,
		int seconds);
/* The holder another instance has the lease under, as the last take read it; "unknown" when none
 * was read. */
const char *lease_other_name(const struct store_lease *l);

/* Frees what lease_init() allocated. */
void lease_clear(struct store_lease *l);

/* How often a holder renews (and a waiting instance looks at) a lease: a third of its length,
 * in monotonic microseconds. */
int64_t lease_interval_us(const struct store_lease *l);

/* store_lease_take(), and when another holder has the lease on this very node (same boot, same
 * PID namespace) under a PID that no longer exists, or that is ours now, the take-over from that
 * dead holder at once, without waiting for its expiry (*from_dead_r TRUE; may be NULL). */
int lease_take(struct store *st, struct store_lease *l, gboolean *from_dead_r, struct errbuf *err);

enum lease_change {
	LEASE_SAME,   /* still ours, or still another's */
	LEASE_GAINED, /* ours now, and was not (or was, under another fencing number) */
	LEASE_LOST,   /* another's now, and was ours */
};

/* Takes, renews or takes over the lease (lease_take()) and says how its holding changed;
 * *line_r (caller frees; NULL when nothing changed) is a sentence about it for the log, starting
 * with what ("mailbox INBOX", "sla watch"). SPOC_ETEMP when the database failed. */
int lease_keep(struct store *st, struct store_lease *l, const char *what,
	       enum lease_change *change_r, char **line_r, struct errbuf *err);

#endif
