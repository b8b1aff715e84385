/* The pre-scan (prescan.h): one pass over the raw bytes that follows the structure GMime 3.2.13
 * will build from them, counting parts, nesting and header bytes and stopping at the first limit
 * passed, so that a part bomb, a nesting bomb or a header bomb is refused before GMime builds it.
 *
 * It reads what GMime reads, the way GMime reads it (gmime-parser.c): header blocks end at an
 * empty line or at a boundary line; the last Content-Type field of a block decides the part's
 * type (read undecoded, as the parser does) and its boundary (read unfolded and RFC 2047-decoded,
 * as the part object does), with GMime's own functions and the parse's own options; a
 * message/rfc822 (rfc2822, global, news) part that is not base64, quoted-printable or uuencoded
 * is an attached message with a header block of its own, and so is a part without a usable type
 * inside multipart/digest; a boundary line is "--boundary" or "--boundary--" and blanks, matched
 * against the open multiparts from the innermost out, and it closes every level inside the one it
 * names. Where GMime's reading cannot be known from the bytes alone the count errs high: GMime
 * reads in 4 KiB blocks and checks the first bytes of each block for a boundary, so it may find
 * one in the middle of a line longer than some 130 bytes (tests/unit/test_prescan.c shows it
 * doing so). Any line that contains an open boundary anywhere is therefore taken as the start of
 * a new part of the innermost multipart, which keeps every level open: whatever GMime makes of
 * that line, it builds no more parts and nests no deeper than that.
 *
 * Cost: each line is found once (memchr), and a line with "--" in it is searched once per open
 * multipart level (memmem); the levels are at most max_depth. Memory: the open levels. */
#define _GNU_SOURCE /* memmem() */

#include "prescan.h"

#include "mime_priv.h"

#include <gmime/gmime.h>
#include <inttypes.h>
#include <string.h>

/* GMime's MAX_LEVEL: deeper than this it nests no more (a multipart keeps its parts as text, an
 * attached message is a plain part). Followed when no max_depth is set. */
#define PRESCAN_GMIME_LEVELS 1024

/* One open multipart. */
struct level {
	char *delim; /* "--" and the boundary */
	size_t len;
	int depth; /* of the multipart itself */
	gboolean digest;
};

struct scan {
	const char *raw;
	size_t len, pos;
	const struct mime_limits *lim;
	GMimeParserOptions *opts;      /* the parse's own: for the boundary, as the part reads it */
	GMimeParserOptions *type_opts; /* a copy that says when a Content-Type has no usable type */
	gboolean bad_type;
	GArray *stack; /* struct level, outermost first */
	struct mime_prescan *f;
	struct errbuf *err;
};

/* What one header block made of its part. */
struct decided {
	gboolean multipart, message, digest;
	char *delim; /* "--boundary" of a multipart, or NULL */
};

static void level_clear(gpointer p)
{
	g_free(((struct level *)p)->delim);
}

static void type_warning(gint64 offset, GMimeParserWarning code, const gchar *item, gpointer data)
{
	(void)offset;
	(void)item;
	if (code == GMIME_WARN_INVALID_CONTENT_TYPE)
		((struct scan *)data)->bad_type = TRUE;
}

static gboolean is_lwsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static struct level *level_at(const struct scan *s, guint i)
{
	return &g_array_index(s->stack, struct level, i);
}

/* The level (index into the stack) of which the line at p (n bytes, without its LF) is a
 * boundary line, as GMime's check_boundary() finds it, and whether it is the closing one; -1 when
 * it is none. */
static int line_boundary(const struct scan *s, const char *p, size_t n, gboolean *final_r)
{
	size_t t;

	if (n > 0 && p[n - 1] == '\r')
		n--;
	if (s->stack->len == 0 || n < 2 || p[0] != '-' || p[1] != '-')
		return -1;
	for (t = n; t > 0 && is_lwsp(p[t - 1]); t--)
		;
	for (guint i = s->stack->len; i-- > 0;) {
		const struct level *l = level_at(s, i);

		if (n < l->len || memcmp(p, l->delim, l->len) != 0)
			continue;
		if (n >= l->len + 2 && p[l->len] == '-' && p[l->len + 1] == '-' &&
		    t <= l->len + 2) {
			*final_r = TRUE;
			return (int)i;
		}
		if (t <= l->len) {
			*final_r = FALSE;
			return (int)i;
		}
	}
	return -1;
}

/* TRUE when an open boundary occurs anywhere in the line: GMime may take it for a boundary line
 * where one of its 4 KiB blocks starts (see the top of the file). */
static gboolean line_mentions_boundary(const struct scan *s, const char *p, size_t n)
{
	if (s->stack->len == 0 || n < 2 || memmem(p, n, "--", 2) == NULL)
		return FALSE;
	for (guint i = 0; i < s->stack->len; i++) {
		const struct level *l = level_at(s, i);

		if (memmem(p, n, l->delim, l->len) != NULL)
			return TRUE;
	}
	return FALSE;
}

/* A new part or attached message at depth: counted against max_parts and max_depth. */
static int entity_count(struct scan *s, int depth)
{
	const struct mime_limits *lim = s->lim;

	s->f->parts++;
	s->f->depth = MAX(s->f->depth, depth);
	if (lim->max_parts > 0 && s->f->parts > lim->max_parts)
		return errbuf_set(s->err, SPOC_EPERM,
				  "message over max_parts (more than %d MIME parts, counted before "
				  "parsing)",
				  lim->max_parts);
	if (lim->max_depth > 0 && depth > lim->max_depth)
		return errbuf_set(s->err, SPOC_EPERM,
				  "message over max_depth (MIME parts nested more than %d deep, "
				  "counted before parsing)",
				  lim->max_depth);
	return SPOC_OK;
}

static gboolean subtype_is_message(const char *subtype)
{
	static const char *const subtypes[] = {"rfc822", "rfc2822", "global", "news"};

	for (size_t i = 0; i < G_N_ELEMENTS(subtypes); i++)
		if (g_ascii_strcasecmp(subtype, subtypes[i]) == 0)
			return TRUE;
	return FALSE;
}

/* What GMime makes of a part from the value of its last Content-Type field (ct, ct_len bytes as
 * written after the colon, folds included; NULL when it has none) and of its first
 * Content-Transfer-Encoding field (likewise). */
static void decide(struct scan *s, const char *ct, size_t ct_len, const char *cte, size_t cte_len,
		   gboolean parent_digest, struct decided *d)
{
	GMimeContentType *type = NULL;
	char *raw = ct != NULL ? g_strndup(ct, ct_len) : NULL;

	memset(d, 0, sizeof(*d));
	if (raw != NULL) {
		/* the parser reads the type from the raw value, and falls back when it cannot */
		s->bad_type = FALSE;
		type = g_mime_content_type_parse(s->type_opts, raw);
		if (s->bad_type)
			g_clear_object(&type);
	}
	if (type == NULL) {
		d->message = parent_digest;
	} else if (g_ascii_strcasecmp(g_mime_content_type_get_media_type(type), "multipart") == 0) {
		d->multipart = TRUE;
	} else if (g_ascii_strcasecmp(g_mime_content_type_get_media_type(type), "message") == 0) {
		d->message = subtype_is_message(g_mime_content_type_get_media_subtype(type));
	}
	g_clear_object(&type);
	if (d->message && cte != NULL) {
		char *v = g_strndup(cte, cte_len);

		switch (g_mime_content_encoding_from_string(v)) {
		case GMIME_CONTENT_ENCODING_QUOTEDPRINTABLE:
		case GMIME_CONTENT_ENCODING_UUENCODE:
		case GMIME_CONTENT_ENCODING_BASE64:
			d->message = FALSE; /* kept as a file, not parsed */
			break;
		default:
			break;
		}
		g_free(v);
	}
	if (d->multipart) {
		/* the part object reads its boundary from the decoded value */
		char *unfolded = g_mime_utils_header_unfold(raw);
		char *decoded = g_mime_utils_header_decode_text(s->opts, unfolded);
		GMimeContentType *obj = g_mime_content_type_parse(s->opts, decoded);
		const char *boundary = g_mime_content_type_get_parameter(obj, "boundary");

		if (boundary != NULL)
			d->delim = g_strconcat("--", boundary, NULL);
		d->digest = g_mime_content_type_is_type(obj, "multipart", "digest");
		g_object_unref(obj);
		g_free(decoded);
		g_free(unfolded);
	}
	g_free(raw);
}

/* Where one field of a header block starts and what it is. */
enum field { FIELD_OTHER, FIELD_TYPE, FIELD_ENCODING };

static enum field field_name(const char *p, size_t n, size_t *value_r)
{
	const char *colon = memchr(p, ':', n);
	size_t k;

	if (colon == NULL)
		return FIELD_OTHER;
	*value_r = (size_t)(colon - p) + 1;
	for (k = (size_t)(colon - p); k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'); k--)
		;
	if (k == 12 && g_ascii_strncasecmp(p, "Content-Type", 12) == 0)
		return FIELD_TYPE;
	if (k == 25 && g_ascii_strncasecmp(p, "Content-Transfer-Encoding", 25) == 0)
		return FIELD_ENCODING;
	return FIELD_OTHER;
}

/* How a header block ended. */
enum block_end { BLOCK_BLANK, BLOCK_BOUNDARY, BLOCK_EOF };

/* Reads the header block that starts at s->pos (top: the message's own) and decides what its
 * part is (d). After an empty line s->pos is past it; at a boundary line (which GMime reads next as
 * content) s->pos is at that line. */
static int header_block(struct scan *s, gboolean top, gboolean parent_digest, struct decided *d,
			enum block_end *end_r)
{
	const struct mime_limits *lim = s->lim;
	size_t start = s->pos, bytes;
	size_t value = 0, ct = 0, ct_end = 0, cte = 0, cte_end = 0;
	enum field kind = FIELD_OTHER;
	gboolean have_ct = FALSE, have_cte = FALSE;
	enum block_end end = BLOCK_EOF;

	while (s->pos < s->len) {
		const char *p = s->raw + s->pos;
		const char *nl = memchr(p, '\n', s->len - s->pos);
		size_t n = nl != NULL ? (size_t)(nl - p) : s->len - s->pos;
		size_t next = s->pos + n + (nl != NULL ? 1 : 0);
		gboolean final;

		if (nl != NULL && (n == 0 || (n == 1 && p[0] == '\r'))) {
			end = BLOCK_BLANK;
			break;
		}
		if (line_boundary(s, p, n, &final) >= 0) {
			end = BLOCK_BOUNDARY;
			break;
		}
		if (line_mentions_boundary(s, p, n))
			return errbuf_set(
			    s->err, SPOC_EPERM,
			    "MIME boundary inside a header line (at byte %zu): how GMime "
			    "reads it depends on its buffering, so the parts cannot be "
			    "counted before parsing",
			    s->pos);
		if (p[0] != ' ' && p[0] != '\t') {
			/* a new field ends the one before */
			if (kind == FIELD_TYPE) {
				ct = value, ct_end = s->pos, have_ct = TRUE;
			} else if (kind == FIELD_ENCODING && !have_cte) {
				cte = value, cte_end = s->pos, have_cte = TRUE;
			}
			kind = field_name(p, n, &value);
			value += s->pos;
		}
		s->pos = next;
	}
	if (kind == FIELD_TYPE) {
		ct = value, ct_end = s->pos, have_ct = TRUE;
	} else if (kind == FIELD_ENCODING && !have_cte) {
		cte = value, cte_end = s->pos, have_cte = TRUE;
	}
	bytes = s->pos - start;
	if (end == BLOCK_BLANK)
		s->pos += s->raw[s->pos] == '\r' ? 2 : 1;
	*end_r = end;

	s->f->header_total_bytes += bytes;
	if (top) {
		s->f->header_bytes = bytes;
		if (lim->max_header_bytes > 0 && bytes > (size_t)lim->max_header_bytes)
			return errbuf_set(s->err, SPOC_EPERM,
					  "header over max_header_bytes (%zu > %" PRId64 ")", bytes,
					  lim->max_header_bytes);
	} else {
		s->f->part_header_bytes = MAX(s->f->part_header_bytes, bytes);
		if (lim->max_header_bytes > 0 && bytes > (size_t)lim->max_header_bytes)
			return errbuf_set(
			    s->err, SPOC_EPERM,
			    "header of a part (at byte %zu) over max_header_bytes (%zu > "
			    "%" PRId64 ")",
			    start, bytes, lim->max_header_bytes);
	}
	if (lim->max_header_bytes > 0 &&
	    s->f->header_total_bytes > (size_t)lim->max_header_bytes * PRESCAN_HEADER_TOTAL_FACTOR)
		return errbuf_set(s->err, SPOC_EPERM,
				  "headers over max_header_bytes (the header blocks of the message "
				  "and its parts hold more than %d x %" PRId64 " bytes)",
				  PRESCAN_HEADER_TOTAL_FACTOR, lim->max_header_bytes);
	decide(s, have_ct ? s->raw + ct : NULL, ct_end - ct, have_cte ? s->raw + cte : NULL,
	       cte_end - cte, parent_digest, d);
	return SPOC_OK;
}

/* Opens the multipart at depth whose boundary line is d->delim (taken over). */
static void level_push(struct scan *s, int depth, struct decided *d)
{
	struct level l = {d->delim, strlen(d->delim), depth, d->digest};

	d->delim = NULL;
	g_array_append_val(s->stack, l);
}

static int scan_run(struct scan *s)
{
	/* the part whose header block comes next */
	gboolean in_header = TRUE, top = TRUE, parent_digest = FALSE;
	int depth = 1, rc;

	if ((rc = entity_count(s, 1)) != SPOC_OK)
		return rc;
	while (s->pos < s->len) {
		if (in_header) {
			struct decided d;
			enum block_end end;

			if ((rc = header_block(s, top, parent_digest, &d, &end)) != SPOC_OK)
				return rc;
			in_header = top = FALSE;
			if (d.multipart && d.delim != NULL && depth <= PRESCAN_GMIME_LEVELS) {
				level_push(s, depth, &d);
			} else if (d.message && end == BLOCK_BLANK) {
				/* an attached message: its own header block comes next; GMime nests
				 * no further than its levels, and max_depth refuses sooner */
				if (depth <= PRESCAN_GMIME_LEVELS) {
					if ((rc = entity_count(s, depth + 1)) != SPOC_OK) {
						g_free(d.delim);
						return rc;
					}
					depth++;
					parent_digest = FALSE;
					in_header = TRUE;
				}
			}
			g_free(d.delim);
			continue;
		}
		if (s->stack->len == 0)
			break; /* a body with no multipart open: nothing more GMime splits */

		const char *p = s->raw + s->pos;
		const char *nl = memchr(p, '\n', s->len - s->pos);
		size_t n = nl != NULL ? (size_t)(nl - p) : s->len - s->pos;
		gboolean final = FALSE;
		int k = line_boundary(s, p, n, &final);

		s->pos += n + (nl != NULL ? 1 : 0);
		if (k < 0 && !line_mentions_boundary(s, p, n))
			continue;
		if (k < 0) {
			/* maybe a boundary, of any level: a new part of the innermost, all kept
			 * open */
			k = (int)s->stack->len - 1;
		} else {
			g_array_set_size(s->stack, (guint)k + 1);
			if (final) {
				g_array_set_size(s->stack, (guint)k);
				continue;
			}
		}
		depth = level_at(s, (guint)k)->depth + 1;
		parent_digest = level_at(s, (guint)k)->digest;
		if ((rc = entity_count(s, depth)) != SPOC_OK)
			return rc;
		in_header = TRUE;
	}
	return SPOC_OK;
}

int mime_prescan(const char *raw, size_t len, const struct mime_limits *limits,
		 struct mime_prescan *figures_r, struct errbuf *err)
{
	static const struct mime_limits none = {0};
	struct mime_prescan figures = {0};
	struct scan s = {0};
	int rc;

	mime_init();
	s.raw = raw;
	s.len = raw != NULL ? len : 0;
	s.lim = limits != NULL ? limits : &none;
	s.opts = mime_parser_options_new(s.lim);
	s.type_opts = g_mime_parser_options_clone(s.opts);
	g_mime_parser_options_set_warning_callback(s.type_opts, type_warning, &s);
	s.stack = g_array_new(FALSE, FALSE, sizeof(struct level));
	g_array_set_clear_func(s.stack, level_clear);
	s.f = &figures;
	s.err = err;
	rc = scan_run(&s);
	g_array_unref(s.stack);
	g_mime_parser_options_free(s.type_opts);
	g_mime_parser_options_free(s.opts);
	if (figures_r != NULL)
		*figures_r = figures;
	return rc;
}
