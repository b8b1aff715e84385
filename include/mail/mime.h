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

/* Both forms of every top-level header. Structured fields (Authentication-Results,
 * Received-SPF, Message-ID, In-Reply-To, References, Return-Path, List-*, Auto-Submitted,
 * Precedence, the DSN and Exchange fields) are read from raw only: RFC 2047 applies to
 * unstructured text and phrases, and an encoded-word that a relay copied verbatim into a
 * structured field must never turn into syntax once decoded. */
struct mail_header {
	char *name;  /* as written */
	char *value; /* unfolded, RFC 2047-decoded to UTF-8: for text people read (Subject...) */
	char *raw;   /* unfolded, never decoded; 8-bit bytes made valid UTF-8, controls as spaces */
};

/* One part of a message that is not its body: a file, an inline image, a forwarded message (kept
 * as .eml) or a file unpacked from Outlook's winmail.dat. */
struct mail_attachment {
	char *name;	    /* sanitized UTF-8 file name, never empty (generated when absent) */
	char *content_type; /* lower case "type/subtype" */
	char *content_id;   /* without brackets, or NULL */
	const char *disposition; /* "attachment" or "inline" (static) */
	const char *origin;	 /* "mime", "tnef" or "message" (static) */
	GBytes *data;		 /* decoded bytes */
	char sha256[65];
	char *text; /* for a forwarded message: its readable text, for search; else NULL */
};

/* What a limit left out of a message that was still turned into a ticket. */
struct mail_limit_hit {
	const char *limit; /* the setting's name, e.g. "max_attachment_bytes" (static) */
	char *detail;	   /* what was left out, for people */
};

struct mail {
	char sha256[65]; /* of the raw bytes */
	/* identity.h: of the body, and of everything but the trace fields; two copies of one
	 * message that delivery handled differently have the same content_sha256 */
	char body_sha256[65];
	char content_sha256[65];
	size_t raw_len;
	/* without angle brackets; synthetic "<content_sha256>@spocd.invalid" if absent */
	char *message_id;
	gboolean message_id_synthetic;
	char *in_reply_to;     /* first msg-id of In-Reply-To, no brackets, or NULL */
	GPtrArray *references; /* char *, no brackets, oldest first, at most MIME_MAX_REFS */
	struct mail_addr from; /* from.addr NULL when the message has no usable From */
	struct mail_addr reply_to;
	GPtrArray *to; /* struct mail_addr * */
	GPtrArray *cc; /* struct mail_addr * */
	char *to_text; /* the To list as one readable UTF-8 line, "" if none */
	char *cc_text;
	char *subject;		 /* UTF-8, "" if none */
	GDateTime *date;	 /* NULL when missing or unparsable */
	const char *body_source; /* "text/plain", "text/html", "tnef" or "none" (static) */
	char *body_charset;	 /* the charset the body declared, or NULL */
	char *text;		 /* the whole body text, valid UTF-8, "" if none */
	char *text_new;		 /* what the sender wrote in this message (reply.c), "" if none */
	/* where in text_new a forwarded message the sender added starts; strlen(text_new) when
	 * there is none (reply_parts.forward_at) */
	size_t text_new_forward_at;
	char *text_quoted;	/* the quoted history, "" if none */
	char *text_signature;	/* "" if none */
	GPtrArray *headers;	/* struct mail_header *, top-level header in order */
	GPtrArray *attachments; /* struct mail_attachment *, in document order */
	GPtrArray *limits_hit;	/* struct mail_limit_hit *, empty when nothing was left out */
};

/* The most parts and header bytes mime_parse() lets GMime build, whatever the limits say (also
 * with none): GMime builds every part (some 1.4 KiB each) and header field before anything can
 * count them, so even a caller that wants everything of a message (spocctl showing a quarantined
 * bomb) gets no more than this. The configuration takes no higher limits (conf.c). */
#define MIME_CEILING_PARTS	  100000
#define MIME_CEILING_HEADER_BYTES (INT64_C(64) * 1024 * 1024)

/* Limits on one message (0: none, but see the ceilings above) and how to read text that declares
 * no charset. Over max_message_bytes, max_parts, max_depth or max_header_bytes the message is
 * refused (quarantined): the last three are counted in the raw bytes before GMime parses them
 * (prescan.h). Over max_attachment_bytes the message is kept and what was left out is listed in
 * mail->limits_hit (the raw bytes, always stored, still hold it). */
struct mime_limits {
	int64_t max_message_bytes;
	int max_parts;		      /* MIME parts, those of attached messages included */
	int max_depth;		      /* levels of nesting; far below GMime's own 1024 */
	int64_t max_attachment_bytes; /* a bigger attachment is left out, and a winmail.dat's
				       * rich text read no further */
	int64_t max_header_bytes;     /* of any one header block; all together twice this */
	/* tried in order for 8-bit text without a usable charset; NULL: utf-8, windows-1252 */
	const char *const *fallback_charsets;
};

/* Parses raw bytes into a mail. Returns SPOC_OK and sets *mail_r (caller frees with mail_free()),
 * or SPOC_EPERM with the reason in err when the bytes cannot be a message (empty, no header), are
 * over max_message_bytes, max_parts, max_depth or max_header_bytes, or have a structure GMime
 * would read one way or another (mime_prescan()). A mail without a usable sender is returned with
 * from.addr NULL: whether that is a bounce to record or a message to quarantine is the caller's
 * policy. Never returns SPOC_ETEMP. Memory stays within a small multiple of len. */
int mime_parse(const char *raw, size_t len, const struct mime_limits *limits, struct mail **mail_r,
	       struct errbuf *err);

/* A file name fit to show and to save: the last path component of name (UTF-8, may be NULL),
 * without control characters, bidi overrides or leading dots, at most 200 bytes with the
 * extension kept; "<fallback_stem>.<ext for content_type>" when nothing is left. Caller frees. */
char *mime_safe_filename(const char *name, const char *content_type, const char *fallback_stem);
void mail_free(struct mail **mail);

/* Value of the first top-level header with that name (case-insensitive), decoded; NULL if absent.
 * Owned by the mail. Only for unstructured text: a structured field goes through
 * mail_header_raw(). */
const char *mail_header(const struct mail *mail, const char *name);
/* The same header's raw value: unfolded, never RFC 2047-decoded; NULL if absent. Owned by the
 * mail. */
const char *mail_header_raw(const struct mail *mail, const char *name);

/* Sets up GMime once per process; idempotent. */
void mime_init(void);
/* Releases GMime's process-wide state at exit, so leak checkers see a clean heap; nothing in this
 * module may be used after it. */
void mime_shutdown(void);

#endif
