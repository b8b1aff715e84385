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
 * names.
 *
 * Two things GMime does depend on where its 4 KiB read buffer happens to end, which the bytes
 * alone do not tell; an attacker who gets GMime to read structure the pre-scan does not see can
 * hide any number of parts behind it, so a message where either could happen is refused instead:
 *   - GMime checks the first bytes of each buffer for a boundary, also in the middle of a line
 *     (anywhere in a header block; in content, at least 128 bytes into the line): a line that is
 *     not a boundary line but holds an open boundary followed by blanks (RFC 2046 forbids the
 *     boundary inside a part, so no mail client writes one);
 *   - a line GMime skips before a block's first field, if it straddles the end of its buffer,
 *     stays half in GMime's field buffer and the next field is glued to it and dropped: a header
 *     block that reads differently, as a multipart, an attached message or a leaf, with its first
 *     fields dropped after such lines.
 * tests/unit/test_prescan.c shows GMime doing both, and holds the figures against GMime's own
 * tree for thousands of generated hostile structures; tests/fuzz/fuzz_prescan.c does the same
 * with GMime as the fuzzer's oracle.
 *
 * Cost: each line is found once (memchr); a line with "--" in it is searched for every open
 * boundary at once (Aho-Corasick), whose automaton is rebuilt when the open levels change, at
 * most twice per part. Memory: the open levels and their automaton. */
#define _GNU_SOURCE /* memmem() */

#include "prescan.h"

#include "mime_priv.h"

#include <gmime/gmime.h>
#include <inttypes.h>
#include <string.h>

/* GMime's MAX_LEVEL: deeper than this it nests no more (a multipart keeps its parts as text, an
 * attached message is a plain part). Followed when no max_depth is set. */
#define PRESCAN_GMIME_LEVELS 1024

/* In content, GMime keeps at least SCAN_HEAD (128) bytes of a line before it reads on, so a block
 * starts no nearer to a line's start than this. */
#define PRESCAN_CONTENT_SPLIT 128

/* The longest boundary taken: RFC 2046 allows 70 characters and RFC 5322 lines of 998, so no
 * mail client writes a longer one; it bounds the automaton below. */
#define PRESCAN_MAX_BOUNDARY 998

/* One open multipart. */
struct level {
	char *delim; /* "--" and the boundary */
	size_t len;
	int depth; /* of the multipart itself */
	gboolean digest;
};

/* A node of the Aho-Corasick automaton over the open boundaries: children in a list. */
struct ac_node {
	guint32 child, sibling, fail; /* 0: none (the root is node 0 and nobody's child) */
	guint8 byte;
	guint32 shortest; /* the shortest boundary that ends here or at a node of its failure
			   * chain; 0: none */
};

struct scan {
	const char *raw;
	size_t len, pos;
	const struct mime_limits *lim;
	GMimeParserOptions *opts;      /* the parse's own: for the boundary, as the part reads it */
	GMimeParserOptions *type_opts; /* a copy that says when a Content-Type has no usable type */
	gboolean bad_type;
	GArray *stack; /* struct level, outermost first */
	GArray *ac;    /* struct ac_node: every open boundary at once, built when first needed */
	gboolean ac_stale;
	gboolean stale; /* GMime may hold half a skipped line, to glue to the next field it reads */
	size_t shortest; /* the shortest open boundary line, for the automaton's users */
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
	if (s->stack->len == 0 || n < s->shortest || p[0] != '-' || p[1] != '-')
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

static struct ac_node *ac_at(const struct scan *s, guint32 i)
{
	return &g_array_index(s->ac, struct ac_node, i);
}

/* The child of node i for byte c, 0 when there is none. */
static guint32 ac_child(const struct scan *s, guint32 i, guint8 c)
{
	guint32 k;

	for (k = ac_at(s, i)->child; k != 0 && ac_at(s, k)->byte != c; k = ac_at(s, k)->sibling)
		;
	return k;
}

/* Where the automaton goes from node i on byte c. */
static guint32 ac_step(const struct scan *s, guint32 i, guint8 c)
{
	guint32 k;

	while ((k = ac_child(s, i, c)) == 0 && i != 0)
		i = ac_at(s, i)->fail;
	return k;
}

/* Builds the automaton over the open boundaries: a trie, then the failure links breadth first.
 * Time and memory in the boundaries' total length. */
static void ac_build(struct scan *s)
{
	const struct ac_node root = {0};
	GArray *queue = g_array_new(FALSE, FALSE, sizeof(guint32));

	g_array_set_size(s->ac, 0);
	g_array_append_val(s->ac, root);
	for (guint i = 0; i < s->stack->len; i++) {
		const struct level *l = level_at(s, i);
		guint32 at = 0;

		for (size_t j = 0; j < l->len; j++) {
			guint8 c = (guint8)l->delim[j];
			guint32 next = ac_child(s, at, c);

			if (next == 0) {
				struct ac_node node = {0, ac_at(s, at)->child, 0, c, 0};

				next = s->ac->len;
				g_array_append_val(s->ac, node);
				ac_at(s, at)->child = next;
			}
			at = next;
		}
		ac_at(s, at)->shortest = (guint32)l->len;
	}
	for (guint32 k = ac_at(s, 0)->child; k != 0; k = ac_at(s, k)->sibling)
		g_array_append_val(queue, k);
	for (guint q = 0; q < queue->len; q++) {
		guint32 u = g_array_index(queue, guint32, q);

		for (guint32 v = ac_at(s, u)->child; v != 0; v = ac_at(s, v)->sibling) {
			guint32 f = ac_step(s, ac_at(s, u)->fail, ac_at(s, v)->byte);

			ac_at(s, v)->fail = f;
			if (ac_at(s, v)->shortest == 0 ||
			    (ac_at(s, f)->shortest != 0 &&
			     ac_at(s, f)->shortest < ac_at(s, v)->shortest))
				ac_at(s, v)->shortest = ac_at(s, f)->shortest;
			g_array_append_val(queue, v);
		}
	}
	g_array_unref(queue);
	s->ac_stale = FALSE;
}

/* TRUE when the bytes after a boundary that ends before p[i] are what GMime needs after one:
 * blanks to the end of the line (or of its block of at least 128 bytes), itself or after "--". */
static gboolean boundary_ends_at(const char *p, size_t n, size_t i)
{
	if (i == n || is_lwsp(p[i]))
		return TRUE;
	return i + 1 < n && p[i] == '-' && p[i + 1] == '-' && (i + 2 == n || is_lwsp(p[i + 2]));
}

/* TRUE when GMime may take a line that is not a boundary line for one (see the top of the file):
 * where one of its 4 KiB blocks starts, at an open boundary followed by blanks. That is at the
 * start of the line, or from byte min_at on: in a header block anywhere (1), in content not
 * before SCAN_HEAD (128) bytes, the least it keeps of a line before it reads on. One pass over
 * the line for all the levels together (Aho-Corasick), so that a long line of dashes under twenty
 * open levels costs one look, not twenty. */
static gboolean line_mentions_boundary(struct scan *s, const char *p, size_t n, size_t min_at)
{
	guint32 at = 0;

	if (s->stack->len == 0 || n < s->shortest || memmem(p, n, "--", 2) == NULL)
		return FALSE;
	if (s->ac_stale)
		ac_build(s);
	for (guint i = 0; p[0] == '-' && p[1] == '-' && i < s->stack->len; i++) {
		const struct level *l = level_at(s, i);

		if (n >= l->len && memcmp(p, l->delim, l->len) == 0 &&
		    boundary_ends_at(p, n, l->len))
			return TRUE;
	}
	for (size_t i = 0; i < n; i++) {
		guint32 shortest = ac_at(s, at = ac_step(s, at, (guint8)p[i]))->shortest;

		if (shortest != 0 && i + 1 >= min_at + shortest && boundary_ends_at(p, n, i + 1))
			return TRUE;
	}
	return FALSE;
}

static int refuse_hidden_boundary(struct scan *s, size_t at)
{
	return errbuf_set(
	    s->err, SPOC_EPERM,
	    "MIME boundary inside a line (the line at byte %zu; RFC 2046 forbids it): "
	    "GMime may or may not take it for one, as its buffering falls, so the "
	    "parts cannot be counted before parsing",
	    at);
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

/* What a field of a header block is to the pre-scan. */
enum field_kind { FIELD_OTHER, FIELD_TYPE, FIELD_ENCODING };

/* A Content-Type or Content-Transfer-Encoding field of a header block. */
struct field {
	enum field_kind kind;
	guint ordinal;	   /* among the block's fields, from 0 */
	size_t value, end; /* its value: after the colon to the end of its last line */
};

/* GMime's test of a line that starts a field (step_headers()): a name without control bytes
 * and with blanks only between it and the colon. Any other line it skips as garbage. Sets
 * *colon_r. */
static gboolean field_valid(const char *p, size_t n, size_t *colon_r)
{
	gboolean blank = FALSE;

	for (size_t i = 0; i < n; i++) {
		guchar c = (guchar)p[i];

		if (c == ':') {
			*colon_r = i;
			return i > 0;
		}
		if (c == ' ' || c == '\t')
			blank = TRUE;
		else if (blank || c < 0x20 || c == 0x7f)
			return FALSE;
	}
	return FALSE;
}

static enum field_kind field_kind(const char *p, size_t colon)
{
	size_t k = colon;

	while (k > 0 && (p[k - 1] == ' ' || p[k - 1] == '\t'))
		k--;
	if (k == 12 && g_ascii_strncasecmp(p, "Content-Type", 12) == 0)
		return FIELD_TYPE;
	if (k == 25 && g_ascii_strncasecmp(p, "Content-Transfer-Encoding", 25) == 0)
		return FIELD_ENCODING;
	return FIELD_OTHER;
}

/* What GMime makes of a part whose header block has these fields, the first lost of all its
 * fields left out: its last Content-Type, its first Content-Transfer-Encoding. */
static void decide_without(struct scan *s, const GArray *fields, guint lost, gboolean parent_digest,
			   struct decided *d)
{
	const struct field *ct = NULL, *cte = NULL;

	for (guint i = 0; i < fields->len; i++) {
		const struct field *f = &g_array_index(fields, struct field, i);

		if (f->ordinal < lost)
			continue;
		if (f->kind == FIELD_TYPE)
			ct = f;
		else if (f->kind == FIELD_ENCODING && cte == NULL)
			cte = f;
	}
	decide(s, ct != NULL ? s->raw + ct->value : NULL, ct != NULL ? ct->end - ct->value : 0,
	       cte != NULL ? s->raw + cte->value : NULL, cte != NULL ? cte->end - cte->value : 0,
	       parent_digest, d);
}

/* How a header block ended. */
enum block_end { BLOCK_BLANK, BLOCK_BOUNDARY, BLOCK_EOF };

/* Checks the size of the header block of bytes that started at start (top: the message's
 * own) against max_header_bytes, and all blocks so far against twice that. */
static int header_bytes_check(struct scan *s, gboolean top, size_t start, size_t bytes)
{
	const struct mime_limits *lim = s->lim;

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
	return SPOC_OK;
}

/* Reads the header block that starts at s->pos (top: the message's own) and decides what its
 * part is (d). After an empty line s->pos is past it; at a boundary line (which GMime reads next as
 * content) s->pos is at that line.
 *
 * Lines GMime skips as garbage before a block's first field are one more thing its buffering
 * decides: one that straddles the end of its 4 KiB buffer is kept half in its field buffer, and
 * the next field read (in this block, or the next block when this one ends at a boundary) is
 * glued to it and dropped. So each field after such a line may be lost, and with it, say, the
 * Content-Transfer-Encoding that made an attached message a plain file. Every such reading is
 * decided, and a block they do not all make the same thing of is refused. */
static int header_block(struct scan *s, gboolean top, gboolean parent_digest, struct decided *d,
			enum block_end *end_r)
{
	size_t start = s->pos;
	GArray *fields = g_array_new(FALSE, FALSE, sizeof(struct field));
	/* every field so far may have been lost (GMime is then still before its first), and a
	 * skipped line since the last one may be glued to the next */
	gboolean open = TRUE, pending = s->stale, in_field = FALSE, kept = FALSE;
	guint lossable = 0, ordinal = 0;
	enum block_end end = BLOCK_EOF;
	int rc;

	memset(d, 0, sizeof(*d));
	while (s->pos < s->len) {
		const char *p = s->raw + s->pos;
		const char *nl = memchr(p, '\n', s->len - s->pos);
		size_t n = nl != NULL ? (size_t)(nl - p) : s->len - s->pos;
		size_t next = s->pos + n + (nl != NULL ? 1 : 0), colon;
		gboolean final;

		if (nl != NULL && (n == 0 || (n == 1 && p[0] == '\r'))) {
			end = BLOCK_BLANK;
			break;
		}
		if (line_boundary(s, p, n, &final) >= 0) {
			end = BLOCK_BOUNDARY;
			break;
		}
		if (line_mentions_boundary(s, p, n, 1)) {
			g_array_unref(fields);
			return refuse_hidden_boundary(s, s->pos);
		}
		if (in_field && (p[0] == ' ' || p[0] == '\t')) {
			/* folded: the field goes on (where the field was lost, a skipped line) */
			if (kept)
				g_array_index(fields, struct field, fields->len - 1).end = next;
			pending = pending || open;
		} else if (field_valid(p, n, &colon)) {
			struct field f = {field_kind(p, colon), ordinal++, s->pos + colon + 1,
					  next};

			/* only what decides, and not past the size that refuses the block */
			kept = f.kind != FIELD_OTHER &&
			       (s->lim->max_header_bytes <= 0 ||
				s->pos - start <= (size_t)s->lim->max_header_bytes);
			if (kept)
				g_array_append_val(fields, f);
			if (open && pending)
				lossable++, pending = FALSE;
			else
				open = FALSE;
			in_field = TRUE;
		} else {
			pending = pending || open;
			in_field = FALSE;
		}
		s->pos = next;
	}
	s->stale = open && pending && end != BLOCK_BLANK;
	if ((rc = header_bytes_check(s, top, start, s->pos - start)) != SPOC_OK) {
		g_array_unref(fields);
		return rc;
	}
	if (end == BLOCK_BLANK)
		s->pos += s->raw[s->pos] == '\r' ? 2 : 1;
	*end_r = end;

	decide_without(s, fields, 0, parent_digest, d);
	for (guint lost = 1; lost <= lossable; lost++) {
		struct decided alt;
		gboolean same;

		decide_without(s, fields, lost, parent_digest, &alt);
		same = alt.message == d->message && alt.multipart == d->multipart &&
		       alt.digest == d->digest && g_strcmp0(alt.delim, d->delim) == 0;
		g_free(alt.delim);
		if (!same) {
			g_clear_pointer(&d->delim, g_free);
			g_array_unref(fields);
			return errbuf_set(
			    s->err, SPOC_EPERM,
			    "header block (at byte %zu) that GMime reads one way or "
			    "another as its buffering falls (a line it skips, then a "
			    "Content-Type or Content-Transfer-Encoding field): the parts "
			    "cannot be counted before parsing",
			    start);
		}
	}
	g_array_unref(fields);
	return SPOC_OK;
}

/* Keeps the open levels to the first n: the automaton is to be rebuilt, the shortest boundary
 * line is found again. */
static void levels_keep(struct scan *s, guint n)
{
	g_array_set_size(s->stack, n);
	s->ac_stale = TRUE;
	s->shortest = G_MAXSIZE;
	for (guint i = 0; i < s->stack->len; i++)
		s->shortest = MIN(s->shortest, level_at(s, i)->len);
}

/* Opens the multipart at depth whose boundary line is d->delim (taken over). */
static void level_push(struct scan *s, int depth, struct decided *d)
{
	struct level l = {d->delim, strlen(d->delim), depth, d->digest};

	d->delim = NULL;
	g_array_append_val(s->stack, l);
	levels_keep(s, s->stack->len);
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
			struct decided d = {0};
			enum block_end end = BLOCK_EOF;

			if ((rc = header_block(s, top, parent_digest, &d, &end)) != SPOC_OK)
				return rc;
			in_header = top = FALSE;
			if (d.multipart && d.delim != NULL &&
			    strlen(d.delim) > PRESCAN_MAX_BOUNDARY + 2) {
				rc = errbuf_set(
				    s->err, SPOC_EPERM,
				    "MIME boundary of %zu bytes (before byte %zu), longer "
				    "than any mail client writes (%d)",
				    strlen(d.delim) - 2, s->pos, PRESCAN_MAX_BOUNDARY);
				g_free(d.delim);
				return rc;
			}
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

		if (k < 0 && line_mentions_boundary(s, p, n, PRESCAN_CONTENT_SPLIT))
			return refuse_hidden_boundary(s, s->pos);
		s->pos += n + (nl != NULL ? 1 : 0);
		if (k < 0)
			continue;
		if (s->stack->len != (guint)k + 1 || final)
			levels_keep(s, final ? (guint)k : (guint)k + 1);
		if (final)
			continue;
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
	s.ac = g_array_new(FALSE, FALSE, sizeof(struct ac_node));
	s.ac_stale = TRUE;
	s.shortest = G_MAXSIZE;
	s.f = &figures;
	s.err = err;
	rc = scan_run(&s);
	g_array_unref(s.stack);
	g_array_unref(s.ac);
	g_mime_parser_options_free(s.type_opts);
	g_mime_parser_options_free(s.opts);
	if (figures_r != NULL)
		*figures_r = figures;
	return rc;
}
