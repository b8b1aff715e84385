/* The IMAP side of ingestion, with libetpan: connect with verified TLS, log in, select, list the
 * UIDs present, fetch sizes and then whole messages with BODY.PEEK[] (never touching \Seen),
 * and move what was handled to another folder (UID MOVE, or COPY + \Deleted + UID EXPUNGE). */
#ifndef SPOC_IMAP_H
#define SPOC_IMAP_H

#include "conf.h"

#include <stdint.h>

struct imap_session;

/* Connects, verifies the certificate, logs in and makes sure both folders exist. SPOC_ETEMP with
 * the reason (host:port named) on any failure; nothing is sent before the certificate is
 * trusted. Caller frees with imap_close(). */
int imap_open(const struct spoc_imap_conf *conf, struct imap_session **s_r, struct errbuf *err);
void imap_close(struct imap_session **s);

/* Where a selected folder stands: UIDVALIDITY, UIDNEXT and, with CONDSTORE (RFC 7162),
 * HIGHESTMODSEQ (0 without). Two equal marks with a modseq mean nothing arrived, left or
 * changed in between. */
struct imap_mark {
	uint32_t uidvalidity, uidnext;
	uint64_t modseq;
};

/* Selects conf->mailbox read-write (with CONDSTORE when the server offers it) into mark. */
int imap_select(struct imap_session *s, struct imap_mark *mark, struct errbuf *err);

/* One window of the selected mailbox: the UIDs not flagged \Deleted among the window
 * consecutive UIDs from `from` on (window >= 1), ascending, so that the listing never grows with
 * the mailbox. When that span holds no message at all, the window moves on to the next UID
 * there is (a gap costs a few one-UID searches, not a search per window of it). *next_r: where
 * the next window starts, 0 when nothing is left to list. The array may be empty with
 * *next_r non-zero (a span of \Deleted messages only). Caller frees with g_array_unref();
 * elements are uint32_t. */
int imap_list_window(struct imap_session *s, uint32_t from, uint32_t window, GArray **uids_r,
		     uint32_t *next_r, struct errbuf *err);

/* RFC822.SIZE of each UID. Caller frees the table (uid -> size as GSIZE_TO_POINTER). */
int imap_fetch_sizes(struct imap_session *s, const uint32_t *uids, size_t n, GHashTable **sizes_r,
		     struct errbuf *err);

struct imap_message {
	uint32_t uid;
	GByteArray *raw;    /* whole message as stored by the server */
	gboolean truncated; /* the server sent more than the limit: raw holds the first part */
	int64_t arrived;    /* INTERNALDATE, the server's arrival time (Unix seconds), 0: unknown */
};

/* Fetches the whole messages with BODY.PEEK[] in one command. At most limit bytes of each are
 * kept. Caller frees with g_ptr_array_unref() (elements freed with it). */
int imap_fetch_messages(struct imap_session *s, const uint32_t *uids, size_t n, int64_t limit,
			GPtrArray **msgs_r, struct errbuf *err);

/* Moves the UIDs to folder (one command for the whole set). */
int imap_move(struct imap_session *s, const uint32_t *uids, size_t n, const char *folder,
	      struct errbuf *err);

/* IDLE (RFC 2177) on the selected mailbox, when the server offers it and the mailbox's idle
 * setting allows: start, then poll() imap_idle_fd() (readable: the server said something, most
 * likely EXISTS; imap_idle_pending() TRUE: it already did) and end with imap_idle_done() before
 * any other command. Servers drop an IDLE after 30 minutes: end and restart well before.
 * imap_can_idle() is FALSE as well while no mailbox is selected (a pass that left the mailbox to
 * another spocd): wait for the next poll then. */
gboolean imap_can_idle(const struct imap_session *s);
int imap_idle_start(struct imap_session *s, struct errbuf *err);
int imap_idle_fd(const struct imap_session *s);
gboolean imap_idle_pending(const struct imap_session *s);
int imap_idle_done(struct imap_session *s, struct errbuf *err);

#endif
