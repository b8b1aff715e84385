/* What mime.c, mime_text.c and mime_parts.c share and nobody else sees: the state of one parse and
 * the helpers each file offers the others. */
#ifndef SPOC_MIME_PRIV_H
#define SPOC_MIME_PRIV_H

#include "mime.h"

#include <gmime/gmime.h>

/* Per-parse state: the limits, the parser options (with the configured fallback charsets) and
 * what the walk over the parts has collected so far. */
struct parse {
	const struct mime_limits *lim;
	GMimeParserOptions *opts;
	struct mail *m;
	GMimePart *body; /* the chosen body part, or NULL */
	GString *extra;	 /* inline text parts that follow the body in a multipart/mixed */
	int parts;	 /* parts seen by the walk */
	gboolean parts_hit, depth_hit;
	char *tnef_body; /* text carried inside a winmail.dat, when there is no other body */
};

/* mime.c */

/* Parser options for limits: the process's own with limits->fallback_charsets, if any, in place
 * of the default ones. Caller frees with g_mime_parser_options_free(). */
GMimeParserOptions *mime_parser_options_new(const struct mime_limits *limits);

/* Takes ownership of s (may be NULL); returns it as a clean single UTF-8 line, or NULL when
 * nothing is left and empty_ok is FALSE. */
char *mime_utf8_line(char *s, gboolean empty_ok);
/* Lists in m->limits_hit what limit (static) left out, detail as printf(fmt, ...). */
void mime_limit_hit(struct mail *m, const char *limit, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* TRUE when obj is a leaf part with a file name. */
gboolean mime_part_has_name(GMimeObject *obj);
/* The readable text of a message (a forwarded one included), HTML turned into text; *source_r
 * says where it came from. Caller frees. */
char *mime_message_text(struct parse *ps, GMimeMessage *msg, const char **source_r);

/* mime_text.c */

/* Base64 that treats '=' as the end of one quantum, not of the data (defect #2); appends to out. */
void mime_b64_decode_chunked(const char *in, size_t len, GByteArray *out);
/* TRUE for a charset name often put on text that is really something else (us-ascii, utf-8). */
gboolean mime_charset_is_weak(const char *charset);
/* Bytes in charset (NULL when undeclared) -> valid UTF-8 without NUL; caller frees. */
char *mime_to_utf8(GMimeParserOptions *opts, const char *data, size_t len, const char *charset);
/* CRLF and lone CR -> LF, in place. */
void mime_newlines_normalise(char *s);
/* Transfer-decoded bytes of a leaf part; caller unrefs. */
GBytes *mime_part_bytes(GMimePart *part);
/* Transfer-decoded, UTF-8, LF-only content of a leaf part, format=flowed undone; caller frees. */
char *mime_part_text(struct parse *ps, GMimePart *part);

/* mime_parts.c */

/* Collects every part under obj that is not ps->body into ps->m->attachments, within the limits
 * (see the definition). */
void mime_walk(struct parse *ps, GMimeObject *obj, int depth, gboolean body_alt,
	       gboolean after_body);
/* Keeps the files uuencoded into a plain text body as attachments; returns the text without
 * them (new string). */
char *mime_uu_extract(struct parse *ps, const char *text);
/* Frees one struct mail_attachment (a GDestroyNotify). */
void mime_attachment_free(gpointer attachment);

#endif
