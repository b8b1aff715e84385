/* A parsed incoming message in plain C: UTF-8 headers and text, addresses, identifiers. mime.c is
 * the only module that sees GMime's parse tree; everything after it works on struct mail. */
#ifndef SPOC_MIME_H
#define SPOC_MIME_H

#include "spoc.h"

#include <stdint.h>

/* Longest Message-ID kept as the message's own; a longer one is replaced by the synthetic key. */
#define MIME_MAX_ID_LEN 998
/* Most Message-IDs kept from References: the first (the thread's root) and the latest others. */
#define MIME_MAX_REFS 100

struct mail_addr {
	char *name; /* display name, UTF-8, may be NULL */
	char *addr; /* addr-spec as written (local@domain), may be NULL for a group or garbage */
};

struct mail_header {
	char *name;  /* as written */
	char *value; /* unfolded, decoded to UTF-8 */
};

struct mail {
	char sha256[65]; /* of the raw bytes */
	size_t raw_len;
	char *message_id; /* without angle brackets; synthetic "<sha256>@spocd.invalid" if absent */
	gboolean message_id_synthetic;
	char *in_reply_to;     /* first msg-id of In-Reply-To, no brackets, or NULL */
	GPtrArray *references; /* char *, no brackets, oldest first, at most MIME_MAX_REFS */
	struct mail_addr from; /* from.addr NULL when the message has no usable From */
	struct mail_addr reply_to;
	GPtrArray *to; /* struct mail_addr * */
	GPtrArray *cc; /* struct mail_addr * */
	char *to_text; /* the To list as one readable UTF-8 line, "" if none */
	char *cc_text;
	char *subject;	    /* UTF-8, "" if none */
	GDateTime *date;    /* NULL when missing or unparsable */
	char *text;	    /* the body a person wrote, valid UTF-8, "" if none */
	GPtrArray *headers; /* struct mail_header *, top-level header in order */
};

struct mime_limits {
	int64_t max_message_bytes;
	int max_parts;
	int max_depth;
};

/* Parses raw bytes into a mail. Returns SPOC_OK and sets *mail_r (caller frees with mail_free()),
 * or SPOC_EPERM with the reason in err when the bytes cannot be a message (empty, no header, over
 * limits). A mail without a usable sender is returned with from.addr NULL: whether that is a
 * bounce to record or a message to quarantine is the caller's policy. Never returns SPOC_ETEMP. */
int mime_parse(const char *raw, size_t len, const struct mime_limits *limits, struct mail **mail_r,
	       struct errbuf *err);
void mail_free(struct mail **mail);

/* Value of the first top-level header with that name (case-insensitive), decoded; NULL if absent.
 * Owned by the mail. */
const char *mail_header(const struct mail *mail, const char *name);

/* Sets up GMime once per process; idempotent. */
void mime_init(void);
/* Releases GMime's process-wide state at exit, so leak checkers see a clean heap; nothing in this
 * module may be used after it. */
void mime_shutdown(void);

#endif
