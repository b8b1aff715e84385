/* The machine-readable side of bounces: header blocks as MTAs return them (a returned message's
 * header, text/rfc822-headers, the groups of fields of an RFC 3464 message/delivery-status part),
 * and the addresses, Message-IDs and status codes in them. bounce.c adds the MTAs' sentences for
 * people and decides. Pure: no I/O. */
#ifndef SPOC_DSN_H
#define SPOC_DSN_H

#include <glib.h>
#include <stddef.h>

/* Bytes of a header block or DSN part that are read: the useful part is at its top. */
#define DSN_SCAN_MAX (256 * 1024)
/* Longest addr-spec kept (RFC 5321: 64 + 1 + 255). */
#define DSN_ADDR_MAX 320
/* Recipients kept from the DSN parts of one bounce. */
#define DSN_MAX_RECIPIENTS 100

/* Calls fn(name, value, ud) for each field of the header block at the start of data (a returned
 * message, text/rfc822-headers, or one group of DSN fields), its value unfolded as RFC 5322 says
 * (line ends out, the folding white space kept, white space at either end trimmed), until the
 * first empty line or DSN_SCAN_MAX bytes. Leading empty lines are skipped, and so are lines that
 * neither start a named field nor continue one. fn returns FALSE to stop. Returns where the block
 * ended. */
const char *dsn_fields_each(const char *data, const char *end,
			    gboolean (*fn)(const char *name, const char *value, void *ud),
			    void *ud);

/* The Message-ID field of the header block at the start of data, as dsn_msgid_clean() reads it
 * (need_at FALSE); caller frees; NULL if none. */
char *dsn_message_id(const char *data, size_t len);

/* A Message-ID out of a header value or the rest of a text line, read as GMime reads a msg-id
 * (comments and folding skipped, the addr-spec inside <...>, else what stands before the '>'), or
 * from the first '<' when prose stands before it ("your message <id> of Monday"). Kept without
 * its angle brackets when printable, without spaces, at most MIME_MAX_ID_LEN bytes, valid UTF-8,
 * and with an '@' when need_at (a line of prose that says "Message-ID:" is less sure than a
 * header). Caller frees; NULL when there is none. */
char *dsn_msgid_clean(const char *s, size_t len, gboolean need_at);

/* An addr-spec out of a DSN address field ("rfc822; <A@B.example>", field TRUE: the part after
 * ';') or a word of text: "a@b.example", lower case. A source route ("@relay:a@b") is dropped and
 * a quoted local part kept in its quotes. Outside the fields the domain must have a dot, since
 * words with an '@' in prose are not all addresses. NULL when it does not look like an address.
 * Caller frees. */
char *dsn_addr_clean(const char *s, size_t len, gboolean field);

/* The first RFC 3463 enhanced status code in s ("5.1.1"; not the tail of an IP address), or
 * NULL; s may be NULL. Caller frees. */
char *dsn_status_find(const char *s);

/* What the message/delivery-status parts of one bounce said, over all their recipient groups.
 * Zero it before the first dsn_read(); free with dsn_groups_clear(). */
struct dsn_groups {
	GPtrArray *recipients; /* char *, failed or delayed, as dsn_addr_clean() gives them, no
				* repeats, at most DSN_MAX_RECIPIENTS; NULL until one is found */
	gboolean any_group;    /* at least one group with a recipient, Action or Status */
	gboolean any_failed;   /* Action: failed, or no Action and not a 4.x.x / 2.x.x status */
	char *status_fail;     /* the first failed group's status code, or NULL */
	char *status_any;      /* the first group's status code, or NULL */
	char *diagnostic; /* the first failed recipient's Diagnostic-Code (else the first delayed
			   * one's) as one line of at most BOUNCE_DIAGNOSTIC_MAX bytes, or NULL */
	gboolean diagnostic_failed; /* diagnostic is a failed recipient's */
	char *message_id;	    /* X-Original-Message-ID or Original-Message-ID, or NULL */
};

/* Reads the groups of fields of one message/delivery-status part (valid UTF-8, at most
 * DSN_SCAN_MAX bytes are looked at per group) into g. */
void dsn_read(const char *text, struct dsn_groups *g);

/* Frees what g holds and zeroes it. */
void dsn_groups_clear(struct dsn_groups *g);

#endif
