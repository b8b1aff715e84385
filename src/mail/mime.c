/* GMime -> struct mail. This is the only module that sees GMime's parse tree: it turns raw bytes
 * into plain C strings that are always valid UTF-8 without NUL (headers, addresses, identifiers and
 * the text a person wrote), rejects with SPOC_EPERM what can never become a ticket, and works
 * around the GMime 3.2.13 defects listed in shared/LIBRARY-DEFECTS.md that touch incoming mail:
 * adjacent base64 encoded-words (#1) are rewritten to Q encoding before GMime decodes them, base64
 * text bodies made of padded chunks (#2) are decoded here, and bodies with a missing or lying
 * charset (#4) go through g_mime_utils_decode_8bit() with our fallback charsets. */
#include "mime.h"

#include "html.h"
#include "reply.h"
#include "tnef.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

/* Parser options for the whole process: created by mime_init(), read-only afterwards, so parses
 * on several threads may share them. */
static GMimeParserOptions *mime_options;

void mime_init(void)
{
	static gsize once;

	if (g_once_init_enter(&once)) {
		/* windows-1252 rather than iso-8859-1: it is a superset that also maps the
		 * 0x80-0x9f bytes Outlook writes (curly quotes, euro sign). */
		static const char *fallback[] = {"utf-8", "windows-1252", NULL};

		g_mime_init();
		mime_options = g_mime_parser_options_new();
		/* GMime's defaults are already loose for addresses, parameters and RFC 2047 */
		g_mime_parser_options_set_fallback_charsets(mime_options, fallback);
		g_once_init_leave(&once, 1);
	}
}

void mime_shutdown(void)
{
	if (mime_options == NULL)
		return;
	g_mime_parser_options_free(mime_options);
	mime_options = NULL;
	g_mime_shutdown();
}

/* Base64 that treats '=' as the end of one quantum, not of the data, so "SGVsbG8=V29ybGQ=" gives
 * "HelloWorld" (GMime 3.2.13 stops at the first padding, defect #2). Anything outside the alphabet
 * is skipped; a trailing unpadded quantum is decoded as far as it goes. */
static void b64_decode_chunked(const char *in, size_t len, GByteArray *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	guint32 acc = 0;
	int n = 0;

	for (size_t i = 0; i <= len; i++) {
		const char *pos = i < len && in[i] != '\0' ? strchr(alphabet, in[i]) : NULL;
		guint8 b[3];

		if (pos != NULL) {
			acc = acc << 6 | (guint32)(pos - alphabet);
			if (++n < 4)
				continue;
		} else if (i < len && in[i] != '=') {
			continue; /* line breaks, garbage */
		}
		/* a full quantum, or padding or the end closing a partial one */
		acc <<= 6 * (4 - n);
		b[0] = (guint8)(acc >> 16);
		b[1] = (guint8)(acc >> 8);
		b[2] = (guint8)acc;
		g_byte_array_append(out, b, (guint)(n * 3 / 4));
		acc = 0;
		n = 0;
	}
}

/* Replaces control characters (CR, LF, TAB, other C0, DEL) by spaces and trims, in place. Header
 * values, names and identifiers are single lines for everything downstream. */
static void line_clean(char *s)
{
	for (char *p = s; *p != '\0'; p++)
		if ((unsigned char)*p < 0x20 || *p == 0x7f)
			*p = ' ';
	g_strstrip(s);
}

/* Takes ownership of s (may be NULL); returns it as a clean single UTF-8 line, or NULL when
 * nothing is left and empty_ok is FALSE. */
static char *utf8_line(char *s, gboolean empty_ok)
{
	if (s == NULL)
		return empty_ok ? g_strdup("") : NULL;
	if (!g_utf8_validate(s, -1, NULL)) {
		char *v = g_utf8_make_valid(s, -1);

		g_free(s);
		s = v;
	}
	line_clean(s);
	if (*s == '\0' && !empty_ok) {
		g_free(s);
		return NULL;
	}
	return s;
}

/* g_regex_replace_eval() callback: the matched base64 encoded-word, as a Q encoded-word. */
static gboolean b_word_to_q(const GMatchInfo *mi, GString *out, gpointer unused)
{
	char *cs = g_match_info_fetch(mi, 1), *payload = g_match_info_fetch(mi, 2);
	GByteArray *bytes = g_byte_array_new();

	(void)unused;
	b64_decode_chunked(payload, strlen(payload), bytes);
	g_string_append_printf(out, "=?%s?Q?", cs);
	for (guint i = 0; i < bytes->len; i++) {
		if (g_ascii_isalnum(bytes->data[i]))
			g_string_append_c(out, (char)bytes->data[i]);
		else
			g_string_append_printf(out, "=%02X", bytes->data[i]);
	}
	g_string_append(out, "?=");
	g_byte_array_unref(bytes);
	g_free(cs);
	g_free(payload);
	return FALSE;
}

/* Returns a copy of text in which every RFC 2047 base64 encoded-word is rewritten as the
 * equivalent Q encoded-word. GMime 3.2.13 loses everything after the first padded base64 word of
 * a run of adjacent words (defect #1, "=?UTF-8?B?SGk=?= =?UTF-8?B?VGhlcmU=?=" -> "Hi"); its Q
 * decoder has no such state, and GMime still joins adjacent words and converts the charset. Raw
 * header bytes need not be UTF-8, hence G_REGEX_RAW. Caller frees. */
static char *rfc2047_b_to_q(const char *text)
{
	static GRegex *re;
	static gsize once;
	char *out;

	if (g_once_init_enter(&once)) {
		re = g_regex_new("=\\?([^?\\s]+)\\?[Bb]\\?([^?\\s]*)\\?=",
				 G_REGEX_RAW | G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&once, 1);
	}
	out = g_regex_replace_eval(re, text, -1, 0, 0, b_word_to_q, NULL, NULL);
	return out != NULL ? out : g_strdup(text);
}

/* Unfolds a raw header value and rewrites its base64 encoded-words (see rfc2047_b_to_q), ready
 * for GMime's decoders. Caller frees. */
static char *header_prepare(const char *raw)
{
	char *unfolded = g_mime_utils_header_unfold(raw != NULL ? raw : "");
	char *fixed = rfc2047_b_to_q(unfolded);

	g_free(unfolded);
	return fixed;
}

/* Decoded, single-line, valid UTF-8 value of a raw header value; caller frees. */
static char *header_decode(GMimeParserOptions *opts, const char *raw)
{
	char *fixed = header_prepare(raw);
	char *decoded = g_mime_utils_header_decode_text(opts, fixed);

	g_free(fixed);
	return utf8_line(decoded, TRUE);
}

static void mail_addr_free(gpointer p)
{
	struct mail_addr *a = p;

	g_free(a->name);
	g_free(a->addr);
	g_free(a);
}

/* Appends every mailbox of list to out as struct mail_addr; a group contributes its members, or
 * one entry without address when it is empty ("undisclosed-recipients:;"). */
static void addr_collect(InternetAddressList *list, GPtrArray *out, int depth)
{
	int n = internet_address_list_length(list);

	for (int i = 0; i < n; i++) {
		InternetAddress *ia = internet_address_list_get_address(list, i);
		struct mail_addr *a;

		if (INTERNET_ADDRESS_IS_GROUP(ia) && depth < 2) {
			InternetAddressList *members =
			    internet_address_group_get_members(INTERNET_ADDRESS_GROUP(ia));

			if (members != NULL && internet_address_list_length(members) > 0) {
				addr_collect(members, out, depth + 1);
				continue;
			}
		}
		a = g_new0(struct mail_addr, 1);
		a->name = utf8_line(g_strdup(internet_address_get_name(ia)), FALSE);
		if (INTERNET_ADDRESS_IS_MAILBOX(ia))
			a->addr = utf8_line(g_strdup(internet_address_mailbox_get_addr(
						INTERNET_ADDRESS_MAILBOX(ia))),
					    FALSE);
		if (a->name == NULL && a->addr == NULL)
			mail_addr_free(a);
		else
			g_ptr_array_add(out, a);
	}
}

/* Addresses of all top-level headers called name, joined; a new array of struct mail_addr *
 * (freed with g_ptr_array_unref). */
static GPtrArray *addr_parse(GMimeParserOptions *opts, GMimeHeaderList *hl, const char *name)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(mail_addr_free);
	int n = g_mime_header_list_get_count(hl);

	for (int i = 0; i < n; i++) {
		GMimeHeader *h = g_mime_header_list_get_header_at(hl, i);
		InternetAddressList *list;
		char *fixed;

		if (g_ascii_strcasecmp(g_mime_header_get_name(h), name) != 0)
			continue;
		fixed = header_prepare(g_mime_header_get_raw_value(h));
		list = internet_address_list_parse(opts, fixed);
		g_free(fixed);
		if (list != NULL) {
			addr_collect(list, out, 0);
			g_object_unref(list);
		}
	}
	return out;
}

/* Copies into dst the first entry of the named header that has an address; FALSE if none. */
static gboolean addr_first(GMimeParserOptions *opts, GMimeHeaderList *hl, const char *name,
			   struct mail_addr *dst)
{
	GPtrArray *list = addr_parse(opts, hl, name);
	gboolean found = FALSE;

	for (guint i = 0; i < list->len && !found; i++) {
		struct mail_addr *a = g_ptr_array_index(list, i);

		if (a->addr == NULL)
			continue;
		dst->name = g_strdup(a->name);
		dst->addr = g_strdup(a->addr);
		found = TRUE;
	}
	g_ptr_array_unref(list);
	return found;
}

/* Last resort for a From that GMime cannot parse but a person can read ("Big Bug bb@bug.com"):
 * the first bare addr-spec in the decoded value becomes the address, the rest the name. */
static gboolean addr_rescue(const char *value, struct mail_addr *dst)
{
	static GRegex *re;
	static gsize once;
	GMatchInfo *mi = NULL;
	gboolean found = FALSE;

	if (g_once_init_enter(&once)) {
		re =
		    g_regex_new("[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]+@[A-Za-z0-9-]+(\\.[A-Za-z0-9-]+)+",
				G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&once, 1);
	}
	/* a header line is at most 998 bytes; longer garbage is not worth a regex scan */
	if (value != NULL && strlen(value) <= 998 && g_regex_match(re, value, 0, &mi)) {
		int start, end;
		GString *name = g_string_new(value);

		g_match_info_fetch_pos(mi, 0, &start, &end);
		dst->addr = g_match_info_fetch(mi, 0);
		g_string_erase(name, start, end - start);
		dst->name = utf8_line(g_string_free(name, FALSE), FALSE);
		found = TRUE;
	}
	g_match_info_free(mi);
	return found;
}

/* "Name <addr>, addr, ..." for display; caller frees. */
static char *addr_text(const GPtrArray *list)
{
	GString *s = g_string_new(NULL);

	for (guint i = 0; i < list->len; i++) {
		const struct mail_addr *a = g_ptr_array_index(list, i);

		if (s->len > 0)
			g_string_append(s, ", ");
		if (a->name != NULL && a->addr != NULL)
			g_string_append_printf(s, "%s <%s>", a->name, a->addr);
		else
			g_string_append(s, a->name != NULL ? a->name : a->addr);
	}
	return g_string_free(s, FALSE);
}

/* Converts with an open iconv descriptor, putting U+FFFD where the input is invalid; *ninval_r
 * counts those places. Returns a GString the caller frees. */
static GString *iconv_lossy(iconv_t cd, const char *in, size_t len, size_t *ninval_r)
{
	GString *out = g_string_sized_new(len + 16);
	char *inbuf = (char *)in, buf[4096], *outbuf;
	size_t inleft = len, outleft;

	*ninval_r = 0;
	while (inleft > 0) {
		size_t r;

		outbuf = buf;
		outleft = sizeof(buf);
		r = iconv(cd, &inbuf, &inleft, &outbuf, &outleft);
		g_string_append_len(out, buf, outbuf - buf);
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		g_string_append(out, "\xef\xbf\xbd");
		(*ninval_r)++;
		if (errno != EILSEQ)
			break; /* EINVAL: truncated sequence at the end */
		inbuf++;
		inleft--;
	}
	outbuf = buf;
	outleft = sizeof(buf);
	iconv(cd, NULL, NULL, &outbuf, &outleft); /* shift back to the initial state */
	g_string_append_len(out, buf, outbuf - buf);
	return out;
}

/* Charsets whose name is often put on text that is really something else (8-bit text labelled
 * us-ascii, Latin-1 labelled utf-8). */
static gboolean charset_is_weak(const char *charset)
{
	static const char *const weak[] = {"us-ascii", "ascii",		 "utf-8",
					   "utf8",     "ansi_x3.4-1968", NULL};

	for (int i = 0; weak[i] != NULL; i++)
		if (g_ascii_strcasecmp(charset, weak[i]) == 0)
			return TRUE;
	return FALSE;
}

/* Removes NUL bytes in place; returns the new length. */
static size_t strip_nul(char *s, size_t len)
{
	size_t j = 0;

	for (size_t i = 0; i < len; i++)
		if (s[i] != '\0')
			s[j++] = s[i];
	return j;
}

/* Bytes in charset (NULL when undeclared) -> valid UTF-8 without NUL; caller frees. The declared
 * charset is trusted when it converts cleanly, or when it is a specific one (iso-2022-jp, koi8-r:
 * then bad bytes become U+FFFD); otherwise GMime's 8-bit heuristics with our fallback charsets
 * decide (defect #4), and g_utf8_make_valid() is the last resort. */
static char *to_utf8(GMimeParserOptions *opts, const char *data, size_t len, const char *charset)
{
	char *copy = g_malloc(len + 1), *out = NULL;
	size_t n;

	if (len > 0)
		memcpy(copy, data, len);
	copy[len] = '\0';
	n = strip_nul(copy, len);
	copy[n] = '\0';
	if (charset != NULL && *charset != '\0') {
		iconv_t cd = g_mime_iconv_open("UTF-8", charset);

		if (cd != (iconv_t)-1) {
			size_t ninval;
			/* convert the original bytes: NULs matter in UTF-16 */
			GString *conv = iconv_lossy(cd, data, len, &ninval);

			g_mime_iconv_close(cd);
			conv->len = strip_nul(conv->str, conv->len);
			conv->str[conv->len] = '\0';
			if (ninval > 0 && g_utf8_validate(copy, (gssize)n, NULL)) {
				/* mislabelled UTF-8 is the most common lie */
				g_string_free(conv, TRUE);
				return copy;
			}
			if (g_utf8_validate(conv->str, (gssize)conv->len, NULL) &&
			    (ninval == 0 || !charset_is_weak(charset))) {
				g_free(copy);
				return g_string_free(conv, FALSE);
			}
			g_string_free(conv, TRUE);
		}
	}
	if (g_utf8_validate(copy, (gssize)n, NULL))
		return copy;
	out = g_mime_utils_decode_8bit(opts, copy, n);
	g_free(copy);
	if (!g_utf8_validate(out, -1, NULL)) {
		char *v = g_utf8_make_valid(out, -1);

		g_free(out);
		out = v;
	}
	return out;
}

/* CRLF and lone CR -> LF, in place. */
static void newlines_normalise(char *s)
{
	char *w = s;

	for (const char *r = s; *r != '\0'; r++) {
		if (*r == '\r') {
			*w++ = '\n';
			if (r[1] == '\n')
				r++;
		} else {
			*w++ = *r;
		}
	}
	*w = '\0';
}

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

static void limit_hit(struct mail *m, const char *limit, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

static void limit_hit(struct mail *m, const char *limit, const char *fmt, ...)
{
	struct mail_limit_hit *h = g_new0(struct mail_limit_hit, 1);
	va_list ap;

	h->limit = limit;
	va_start(ap, fmt);
	h->detail = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	g_ptr_array_add(m->limits_hit, h);
}

/* Transfer-decoded bytes of a leaf part (base64 through b64_decode_chunked, defect #2). */
static GBytes *part_bytes(GMimePart *part)
{
	GMimeDataWrapper *content = g_mime_part_get_content(part);
	GMimeStream *mem;
	GByteArray *arr;
	GBytes *out;

	if (content == NULL)
		return g_bytes_new(NULL, 0);
	mem = g_mime_stream_mem_new();
	if (g_mime_data_wrapper_get_encoding(content) == GMIME_CONTENT_ENCODING_BASE64) {
		GMimeStream *src = g_mime_data_wrapper_get_stream(content);
		GByteArray *dec = g_byte_array_new();

		g_mime_stream_reset(src);
		g_mime_stream_write_to_stream(src, mem);
		arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		b64_decode_chunked((const char *)arr->data, arr->len, dec);
		out = g_byte_array_free_to_bytes(dec);
	} else {
		guint len;

		g_mime_data_wrapper_write_to_stream(content, mem);
		arr = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
		/* The CRLF before a boundary belongs to the boundary, but GMime 3.2.13 takes only
		 * its LF and leaves the CR on the content ("data\r\n\r" for "data\r\n"). */
		len = arr->len;
		if (len > 0 && arr->data[len - 1] == '\r')
			len--;
		out = g_bytes_new(arr->data, len);
	}
	g_object_unref(mem); /* frees arr */
	return out;
}

/* Text in an ISO-2022 or UTF-16 form that announces itself (escape sequences, byte order mark)
 * though no charset was declared; NULL when nothing gives it away. */
static const char *charset_sniff(const char *data, size_t len)
{
	if (len >= 2 && ((guchar)data[0] == 0xff && (guchar)data[1] == 0xfe))
		return "UTF-16LE";
	if (len >= 2 && ((guchar)data[0] == 0xfe && (guchar)data[1] == 0xff))
		return "UTF-16BE";
	/* ESC $ B / ESC $ @ (JIS X 0208), ESC $ ( D: ISO-2022-JP; ESC $ ) C: ISO-2022-KR */
	for (size_t i = 0; i + 3 < len && i < 65536; i++) {
		if (data[i] != 0x1b || data[i + 1] != '$')
			continue;
		if (data[i + 2] == 'B' || data[i + 2] == '@' || data[i + 2] == '(')
			return "ISO-2022-JP";
		if (data[i + 2] == ')' && data[i + 3] == 'C')
			return "ISO-2022-KR";
	}
	return NULL;
}

/* Undoes RFC 3676 format=flowed on LF-only text: a line that ends in a space is
 * continued by the next line of the same quote depth (DelSp=yes: without that space), and the
 * space a sender stuffed in front of a line is removed; quoted lines come out as "> text". The
 * "-- " signature line never flows. Returns a new string. */
static char *unflow(const char *text, gboolean delsp)
{
	size_t total = strlen(text);
	GString *out = g_string_sized_new(total);
	const char *p = text, *end = text + total;
	int open_depth = -1; /* quote depth of a line that flows on, or -1 */

	while (*p != '\0') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		int depth = 0;
		const char *body;
		size_t blen;
		gboolean flows;

		while ((size_t)depth < len && p[depth] == '>')
			depth++;
		body = p + depth;
		blen = len - (size_t)depth;
		if (blen > 0 && body[0] == ' ') {
			body++;
			blen--;
		}
		if (open_depth >= 0 && open_depth != depth)
			g_string_append_c(out, '\n'); /* quote depth changed: the flow ends */
		if (open_depth != depth) {
			for (int i = 0; i < depth; i++)
				g_string_append_c(out, '>');
			if (depth > 0)
				g_string_append_c(out, ' ');
		}
		flows = blen > 0 && body[blen - 1] == ' ' &&
			!(blen == 3 && memcmp(body, "-- ", 3) == 0);
		g_string_append_len(out, body, (gssize)(flows && delsp ? blen - 1 : blen));
		if (flows) {
			open_depth = depth;
		} else {
			open_depth = -1;
			if (nl != NULL)
				g_string_append_c(out, '\n');
		}
		p = nl != NULL ? nl + 1 : p + len;
	}
	return g_string_free(out, FALSE);
}

/* Transfer-decoded, UTF-8, LF-only content of a leaf part, format=flowed undone; caller
 * frees. */
static char *part_text(struct parse *ps, GMimePart *part)
{
	GBytes *bytes = part_bytes(part);
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	char *text;

	if (cs == NULL || *cs == '\0' || charset_is_weak(cs)) {
		const char *sniffed = charset_sniff(data, len);

		if (sniffed != NULL && !g_utf8_validate(data, (gssize)len, NULL))
			cs = sniffed;
		else if (sniffed != NULL && g_str_has_prefix(sniffed, "ISO-2022"))
			cs = sniffed; /* 7-bit, so it looks like valid UTF-8 */
	}
	text = to_utf8(ps->opts, data != NULL ? data : "", len, cs);
	g_bytes_unref(bytes);
	newlines_normalise(text);
	if (g_mime_content_type_is_type(g_mime_object_get_content_type(GMIME_OBJECT(part)), "text",
					"plain")) {
		const char *format =
		    g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "format");
		const char *delsp =
		    g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "delsp");

		if (format != NULL && g_ascii_strcasecmp(format, "flowed") == 0) {
			char *joined =
			    unflow(text, delsp != NULL && g_ascii_strcasecmp(delsp, "yes") == 0);

			g_free(text);
			text = joined;
		}
	}
	return text;
}

static gboolean part_has_name(GMimeObject *obj)
{
	return GMIME_IS_PART(obj) && g_mime_part_get_filename(GMIME_PART(obj)) != NULL;
}

/* Disposition attachment, or a file name on a part that is not the whole message. */
static gboolean part_is_attachment(GMimeObject *obj, gboolean top)
{
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);

	if (cd != NULL && g_mime_content_disposition_is_attachment(cd))
		return TRUE;
	if (top)
		return FALSE;
	return part_has_name(obj);
}

/* The part that holds what the person wrote: the first text/plain or text/html leaf in document
 * order that is not an attachment, except that inside multipart/alternative text/plain is
 * preferred to text/html (so a mailing-list footer after an HTML-only body does not win over
 * the body). Forwarded or bounced messages (message/rfc822) are not descended into: their text
 * is someone else's. Parts deeper than max_depth (0: 64) are not looked at. *html_r tells which
 * kind was found. Borrowed pointer, or NULL. */
static GMimePart *body_find(GMimeObject *obj, gboolean top, int depth, int max_depth,
			    gboolean *html_r)
{
	if (depth > (max_depth > 0 ? MIN(max_depth, 64) : 64))
		return NULL;
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		gboolean alt = g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
							   "multipart", "alternative");
		GMimePart *best = NULL;
		gboolean best_html = FALSE;
		int n = g_mime_multipart_get_count(mp);

		/* the signature of multipart/signed and the key part of multipart/encrypted are
		 * never the body */
		if (GMIME_IS_MULTIPART_SIGNED(obj) || GMIME_IS_MULTIPART_ENCRYPTED(obj))
			n = MIN(n, 1);
		if (GMIME_IS_MULTIPART_ENCRYPTED(obj))
			n = 0;
		for (int i = 0; i < n; i++) {
			gboolean html = FALSE;
			GMimePart *p = body_find(g_mime_multipart_get_part(mp, i), FALSE, depth + 1,
						 max_depth, &html);

			if (p == NULL)
				continue;
			if (!alt || !html) {
				*html_r = html;
				return p;
			}
			if (best == NULL) {
				best = p;
				best_html = html;
			}
		}
		*html_r = best_html;
		return best;
	}
	if (!GMIME_IS_PART(obj))
		return NULL;

	GMimeContentType *ct = g_mime_object_get_content_type(obj);

	if (part_is_attachment(obj, top))
		return NULL;
	*html_r = g_mime_content_type_is_type(ct, "text", "html");
	if (*html_r || g_mime_content_type_is_type(ct, "text", "plain"))
		return GMIME_PART(obj);
	return NULL;
}

/* TRUE when obj is, or contains, part. */
static gboolean subtree_has(GMimeObject *obj, GMimeObject *part, int depth)
{
	if (obj == part)
		return TRUE;
	if (depth > 64 || !GMIME_IS_MULTIPART(obj))
		return FALSE;
	for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); i++)
		if (subtree_has(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i), part,
				depth + 1))
			return TRUE;
	return FALSE;
}

/* The readable text of a message (a forwarded one included): its body part converted to UTF-8,
 * HTML turned into text. *source_r says where it came from. Caller frees. */
static char *message_text(struct parse *ps, GMimeMessage *msg, const char **source_r)
{
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	gboolean html = FALSE;
	GMimePart *part;
	char *text, *stripped;

	*source_r = "none";
	if (top == NULL || (part = body_find(top, TRUE, 1, ps->lim->max_depth, &html)) == NULL)
		return g_strdup("");
	text = part_text(ps, part);
	*source_r = html ? "text/html" : "text/plain";
	if (!html)
		return text;
	stripped = html_to_text(text);
	g_free(text);
	return stripped;
}

char *mime_safe_filename(const char *name, const char *content_type, const char *fallback_stem)
{
	static const struct {
		const char *type, *ext;
	} exts[] = {
	    {"text/plain", "txt"},
	    {"text/html", "html"},
	    {"text/calendar", "ics"},
	    {"text/csv", "csv"},
	    {"text/rfc822-headers", "txt"},
	    {"message/rfc822", "eml"},
	    {"message/delivery-status", "txt"},
	    {"message/disposition-notification", "txt"},
	    {"message/feedback-report", "txt"},
	    {"image/png", "png"},
	    {"image/jpeg", "jpg"},
	    {"image/gif", "gif"},
	    {"image/bmp", "bmp"},
	    {"image/webp", "webp"},
	    {"application/pdf", "pdf"},
	    {"application/zip", "zip"},
	    {"application/pgp-signature", "asc"},
	    {"application/pgp-encrypted", "txt"},
	    {"application/pkcs7-signature", "p7s"},
	    {"application/x-pkcs7-signature", "p7s"},
	    {"application/pkcs7-mime", "p7m"},
	    {"application/x-pkcs7-mime", "p7m"},
	    {"application/ms-tnef", "dat"},
	};
	GString *out = g_string_new(NULL);
	const char *base = NULL;

	if (name != NULL) {
		char *valid = g_utf8_make_valid(name, -1);
		const char *p = valid;

		/* the last component after '/' or '\\' */
		for (const char *q = valid; *q != '\0'; q++)
			if (*q == '/' || *q == '\\')
				p = q + 1;
		for (; *p != '\0'; p = g_utf8_next_char(p)) {
			gunichar c = g_utf8_get_char(p);

			/* controls, bidi embeddings/overrides/isolates and marks, BOM */
			if (c < 0x20 || (c >= 0x7f && c < 0xa0) || (c >= 0x200b && c <= 0x200f) ||
			    (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069) ||
			    c == 0x061c || c == 0xfeff)
				continue;
			if (c == ':' || c == '*' || c == '?' || c == '"' || c == '<' || c == '>' ||
			    c == '|')
				g_string_append_c(out, '_');
			else
				g_string_append_unichar(out, c);
		}
		g_free(valid);
		/* no hidden files, no "..", no blanks or dots at either end */
		while (out->len > 0 && (out->str[0] == '.' || out->str[0] == ' '))
			g_string_erase(out, 0, 1);
		while (out->len > 0 &&
		       (out->str[out->len - 1] == '.' || out->str[out->len - 1] == ' '))
			g_string_truncate(out, out->len - 1);
		if (out->len > 200) {
			/* keep the extension, cut the stem on a character boundary */
			const char *dot = strrchr(out->str, '.');
			size_t ext = dot != NULL && strlen(dot) <= 16 ? strlen(dot) : 0;
			char *ext_copy = g_strdup(out->str + out->len - ext);
			const char *cut = out->str + (200 - ext);

			cut = g_utf8_find_prev_char(out->str, cut + 1);
			g_string_truncate(out, cut != NULL ? (gsize)(cut - out->str) : 0);
			g_string_append(out, ext_copy);
			g_free(ext_copy);
		}
		base = out->str;
	}
	if (base == NULL || *base == '\0') {
		const char *ext = "bin";

		for (size_t i = 0; content_type != NULL && i < G_N_ELEMENTS(exts); i++)
			if (g_ascii_strcasecmp(content_type, exts[i].type) == 0)
				ext = exts[i].ext;
		g_string_printf(out, "%s.%s", fallback_stem, ext);
	}
	return g_string_free(out, FALSE);
}

static void attachment_free(gpointer p)
{
	struct mail_attachment *a = p;

	g_free(a->name);
	g_free(a->content_type);
	g_free(a->content_id);
	g_clear_pointer(&a->data, g_bytes_unref);
	g_free(a->text);
	g_free(a);
}

static void limit_hit_free(gpointer p)
{
	struct mail_limit_hit *h = p;

	g_free(h->detail);
	g_free(h);
}

/* Adds an attachment unless it is over max_attachment_bytes (then it is listed as left out).
 * Takes ownership of data and name. */
static void attachment_add(struct parse *ps, char *name, const char *content_type,
			   const char *content_id, gboolean inline_, const char *origin,
			   GBytes *data, char *text)
{
	struct mail_attachment *a;
	char stem[32];
	gsize size = g_bytes_get_size(data);

	g_snprintf(stem, sizeof(stem), "attachment-%u", ps->m->attachments->len + 1);
	if (ps->lim->max_attachment_bytes > 0 && (gint64)size > ps->lim->max_attachment_bytes) {
		char *safe = mime_safe_filename(name, content_type, stem);

		limit_hit(ps->m, "max_attachment_bytes",
			  "attachment \"%s\" (%s, %" G_GSIZE_FORMAT
			  " bytes) left out: over max_attachment_bytes (%" G_GINT64_FORMAT ")",
			  safe, content_type, size, ps->lim->max_attachment_bytes);
		g_free(safe);
		g_free(name);
		g_free(text);
		g_bytes_unref(data);
		return;
	}
	a = g_new0(struct mail_attachment, 1);
	a->name = mime_safe_filename(name, content_type, stem);
	a->content_type = g_ascii_strdown(content_type, -1);
	a->content_id = content_id != NULL ? utf8_line(g_strdup(content_id), FALSE) : NULL;
	a->disposition = inline_ ? "inline" : "attachment";
	a->origin = origin;
	a->data = data;
	a->text = text;
	spoc_sha256_hex(g_bytes_get_data(data, NULL), size, a->sha256);
	g_ptr_array_add(ps->m->attachments, a);
	g_free(name);
}

/* Unpacks winmail.dat into its files; TRUE when it was TNEF (then the container itself is not
 * kept, even when it held nothing: the raw message still has it). */
static gboolean tnef_add(struct parse *ps, GBytes *data)
{
	size_t max_total = ps->lim->max_message_bytes > 0 ? (size_t)ps->lim->max_message_bytes * 2
							  : (size_t)256 * 1024 * 1024;
	GPtrArray *files = NULL;
	char *body = NULL;
	struct errbuf err = {{0}};
	gsize len;
	const void *raw = g_bytes_get_data(data, &len);

	size_t max_files = ps->lim->max_parts > 0 ? (size_t)ps->lim->max_parts : 1000;

	if (tnef_unpack(raw, len, max_files, max_total, &files, &body, &err) != SPOC_OK)
		return FALSE; /* not TNEF after all, or damaged: kept as it is */
	/* what the unpacking left out (too many files, too many bytes) is listed like any limit */
	if (err.msg[0] != '\0')
		limit_hit(ps->m,
			  strstr(err.msg, "max_files") != NULL ? "max_parts" : "max_message_bytes",
			  "winmail.dat: %s", err.msg);
	for (guint i = 0; i < files->len; i++) {
		struct tnef_file *f = g_ptr_array_index(files, i);

		attachment_add(ps, g_strdup(f->name), f->content_type, NULL, FALSE, "tnef",
			       g_bytes_ref(f->data), NULL);
	}
	g_ptr_array_unref(files);
	if (body != NULL && ps->tnef_body == NULL) {
		ps->tnef_body = to_utf8(ps->opts, body, strlen(body), "utf-8");
		newlines_normalise(ps->tnef_body);
	}
	g_free(body);
	return TRUE;
}

/* A forwarded or bounced message: kept whole as "<subject>.eml", its text kept for search. */
static void message_add(struct parse *ps, GMimeMessagePart *mp)
{
	GMimeMessage *inner = g_mime_message_part_get_message(mp);
	GMimeStream *mem = g_mime_stream_mem_new();
	GMimeObject *obj = GMIME_OBJECT(mp);
	GByteArray *bytes;
	char *name = NULL, *text = NULL;
	gboolean inline_ = FALSE;
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);

	if (inner != NULL) {
		const char *subject = g_mime_message_get_subject(inner), *source;

		g_mime_object_write_to_stream(GMIME_OBJECT(inner), NULL, mem);
		if (subject != NULL && *subject != '\0') {
			char *clean = utf8_line(g_strdup(subject), FALSE);

			if (clean != NULL) {
				if (strlen(clean) > 180) {
					const char *cut = g_utf8_find_prev_char(clean, clean + 181);

					clean[cut != NULL ? cut - clean : 0] = '\0';
				}
				/* a subject is not a path: "12/7" stays one name */
				g_strdelimit(clean, "/\\", '-');
				name = g_strconcat(clean, ".eml", NULL);
				g_free(clean);
			}
		}
		text = message_text(ps, inner, &source);
	}
	if (name == NULL)
		name = g_strdup("forwarded-message.eml");
	inline_ = cd != NULL && !g_mime_content_disposition_is_attachment(cd);
	bytes = g_mime_stream_mem_get_byte_array(GMIME_STREAM_MEM(mem));
	attachment_add(ps, name, "message/rfc822", g_mime_object_get_content_id(obj), inline_,
		       "message", g_bytes_new(bytes->data, bytes->len), text);
	g_object_unref(mem);
}

/* Whether a leaf is a text part that reads as part of the body (inline, nameless, plain). */
static gboolean part_is_inline_text(GMimeObject *obj)
{
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);

	return g_mime_content_type_is_type(g_mime_object_get_content_type(obj), "text", "plain") &&
	       !part_has_name(obj) && (cd == NULL || !g_mime_content_disposition_is_attachment(cd));
}

/* Walks the part tree in document order and collects everything that is not the body. Parts of
 * a multipart/alternative that holds the body are the body in another form: their text parts
 * are skipped, their images (multipart/related) kept. Inline nameless text/plain parts after the
 * body of a multipart/mixed (Apple Mail's text around an inline image) join the body. */
static void walk(struct parse *ps, GMimeObject *obj, int depth, gboolean body_alt,
		 gboolean after_body)
{
	if (obj == NULL)
		return;
	if (ps->lim->max_parts > 0 && ps->parts >= ps->lim->max_parts) {
		if (!ps->parts_hit)
			limit_hit(ps->m, "max_parts",
				  "parts after the first %d left out (max_parts)",
				  ps->lim->max_parts);
		ps->parts_hit = TRUE;
		return;
	}
	ps->parts++;
	if (ps->lim->max_depth > 0 && depth > ps->lim->max_depth) {
		if (!ps->depth_hit)
			limit_hit(ps->m, "max_depth",
				  "parts nested deeper than %d levels left out (max_depth)",
				  ps->lim->max_depth);
		ps->depth_hit = TRUE;
		return;
	}
	if (GMIME_IS_MULTIPART(obj)) {
		GMimeMultipart *mp = GMIME_MULTIPART(obj);
		gboolean alt = g_mime_content_type_is_type(g_mime_object_get_content_type(obj),
							   "multipart", "alternative") &&
			       ps->body != NULL && subtree_has(obj, GMIME_OBJECT(ps->body), 0);
		gboolean seen_body = FALSE;

		for (int i = 0; i < g_mime_multipart_get_count(mp); i++) {
			GMimeObject *child = g_mime_multipart_get_part(mp, i);

			walk(ps, child, depth + 1, body_alt || alt, seen_body);
			if (ps->body != NULL && subtree_has(child, GMIME_OBJECT(ps->body), 0))
				seen_body = TRUE;
		}
		return;
	}
	if (GMIME_IS_MESSAGE_PART(obj)) {
		message_add(ps, GMIME_MESSAGE_PART(obj));
		return;
	}
	if (!GMIME_IS_PART(obj) || obj == GMIME_OBJECT(ps->body))
		return;

	GMimePart *part = GMIME_PART(obj);
	GMimeContentType *ct = g_mime_object_get_content_type(obj);
	char *type = g_mime_content_type_get_mime_type(ct);
	GMimeContentDisposition *cd = g_mime_object_get_content_disposition(obj);
	const char *cid = g_mime_object_get_content_id(obj);
	const char *fname = g_mime_part_get_filename(part);
	gboolean inline_;
	GBytes *data;

	if (body_alt && g_mime_content_type_is_type(ct, "text", "*") && !part_has_name(obj)) {
		g_free(type);
		return;
	}
	if (after_body && ps->body != NULL && part_is_inline_text(obj)) {
		char *text = part_text(ps, part);

		g_string_append(ps->extra, "\n\n");
		g_string_append(ps->extra, text);
		g_free(text);
		g_free(type);
		return;
	}
	data = part_bytes(part);
	if ((g_ascii_strcasecmp(type, "application/ms-tnef") == 0 ||
	     g_ascii_strcasecmp(type, "application/vnd.ms-tnef") == 0 ||
	     (fname != NULL && g_ascii_strcasecmp(fname, "winmail.dat") == 0)) &&
	    tnef_add(ps, data)) {
		g_bytes_unref(data);
		g_free(type);
		return;
	}
	inline_ = cd != NULL ? !g_mime_content_disposition_is_attachment(cd) : cid != NULL;
	attachment_add(ps, fname != NULL ? g_strdup(fname) : NULL, type, cid, inline_, "mime", data,
		       NULL);
	g_free(type);
}

/* A MIME type for a file name's extension, for files that came without one. Static. */
static const char *type_for_extension(const char *name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
	    {"jpg", "image/jpeg"},	   {"jpeg", "image/jpeg"},
	    {"png", "image/png"},	   {"gif", "image/gif"},
	    {"bmp", "image/bmp"},	   {"pdf", "application/pdf"},
	    {"zip", "application/zip"},	   {"txt", "text/plain"},
	    {"log", "text/plain"},	   {"csv", "text/csv"},
	    {"htm", "text/html"},	   {"html", "text/html"},
	    {"doc", "application/msword"}, {"xls", "application/vnd.ms-excel"},
	    {"tar", "application/x-tar"},  {"gz", "application/gzip"},
	};
	const char *dot = name != NULL ? strrchr(name, '.') : NULL;

	for (size_t i = 0; dot != NULL && i < G_N_ELEMENTS(types); i++)
		if (g_ascii_strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	return "application/octet-stream";
}

/* Value of one uuencoded character. */
static guint uu_value(char c)
{
	return (guint)(c - ' ') & 63;
}

/* Takes the uuencoded files out of a plain text body ("begin 644 name" ... "end", as old mail
 * clients and mailing-list gateways attach them) and keeps them as attachments; the text loses
 * those lines. A block without its "end" line is left alone. Returns a new text. */
static char *uu_extract(struct parse *ps, const char *text)
{
	size_t total = strlen(text);
	GString *out = g_string_sized_new(total);
	const char *p = text, *end = text + total;

	while (*p != '\0') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t len = nl != NULL ? (size_t)(nl - p) : (size_t)(end - p);
		const char *next = nl != NULL ? nl + 1 : p + len;
		char mode[8], *name = NULL;

		if (len > 10 && len < 1000 && strncmp(p, "begin ", 6) == 0) {
			char *line = g_strndup(p, len);

			if (sscanf(line, "begin %7[0-7] ", mode) == 1 && strlen(mode) >= 3) {
				const char *n = line + 6 + strlen(mode);

				while (*n == ' ')
					n++;
				if (*n != '\0')
					name = g_strdup(n);
			}
			g_free(line);
		}
		if (name != NULL) {
			GByteArray *data = g_byte_array_new();
			const char *q = next;
			gboolean ended = FALSE;

			while (*q != '\0' && !ended) {
				const char *qnl = memchr(q, '\n', (size_t)(end - q));
				size_t qlen = qnl != NULL ? (size_t)(qnl - q) : (size_t)(end - q);

				if (qlen == 3 && strncmp(q, "end", 3) == 0) {
					ended = TRUE;
				} else if (qlen > 0) {
					guint n = uu_value(q[0]);

					for (size_t i = 1; n > 0 && i + 3 < qlen + 3; i += 4) {
						guint v[4];
						guint8 b[3];

						for (int k = 0; k < 4; k++)
							v[k] =
							    i + k < qlen ? uu_value(q[i + k]) : 0;
						b[0] = (guint8)(v[0] << 2 | v[1] >> 4);
						b[1] = (guint8)(v[1] << 4 | v[2] >> 2);
						b[2] = (guint8)(v[2] << 6 | v[3]);
						g_byte_array_append(data, b, MIN(n, 3));
						n -= MIN(n, 3);
					}
				}
				q = qnl != NULL ? qnl + 1 : q + qlen;
			}
			if (ended) {
				attachment_add(ps, name, type_for_extension(name), NULL, FALSE,
					       "mime", g_byte_array_free_to_bytes(data), NULL);
				p = q;
				continue;
			}
			g_byte_array_unref(data);
			g_free(name);
		}
		g_string_append_len(out, p, (gssize)(next - p));
		p = next;
	}
	return g_string_free(out, FALSE);
}

/* Drops blank lines at the start and white space at the end of text, in place. */
static void text_trim_lines(char *text)
{
	size_t skip = 0;

	for (size_t i = 0; text[i] == ' ' || text[i] == '\t' || text[i] == '\n'; i++)
		if (text[i] == '\n')
			skip = i + 1;
	if (skip > 0)
		memmove(text, text + skip, strlen(text + skip) + 1);
	g_strchomp(text);
}

/* Chooses the body, collects the attachments and splits the text into new, quoted and
 * signature. */
static void body_fill(struct parse *ps, GMimeMessage *msg)
{
	struct mail *m = ps->m;
	GMimeObject *top = g_mime_message_get_mime_part(msg);
	struct reply_parts rp = {0};
	gboolean html = FALSE;

	ps->body = top != NULL ? body_find(top, TRUE, 1, ps->lim->max_depth, &html) : NULL;
	ps->extra = g_string_new(NULL);
	walk(ps, top, 1, FALSE, FALSE);
	if (ps->body != NULL) {
		char *text = part_text(ps, ps->body);
		const char *cs =
		    g_mime_object_get_content_type_parameter(GMIME_OBJECT(ps->body), "charset");

		m->body_source = html ? "text/html" : "text/plain";
		if (!html &&
		    (g_str_has_prefix(text, "begin ") || strstr(text, "\nbegin ") != NULL)) {
			char *rest = uu_extract(ps, text);

			g_free(text);
			text = rest;
		}
		m->body_charset = cs != NULL ? utf8_line(g_strdup(cs), FALSE) : NULL;
		if (html) {
			m->text = html_to_text(text);
			g_free(text);
		} else {
			m->text = text;
		}
		if (ps->extra->len > 0) {
			char *joined = g_strconcat(m->text, ps->extra->str, NULL);

			g_free(m->text);
			m->text = joined;
		}
	} else if (ps->tnef_body != NULL) {
		m->body_source = "tnef";
		m->text = g_steal_pointer(&ps->tnef_body);
	} else {
		m->body_source = "none";
		m->text = g_strdup("");
	}
	g_string_free(ps->extra, TRUE);
	g_free(ps->tnef_body);
	text_trim_lines(m->text);
	reply_split_flags(m->text, reply_subject_is_forward(m->subject) ? REPLY_FORWARDED : 0, &rp);
	m->text_new = g_steal_pointer(&rp.new_text);
	m->text_quoted = g_steal_pointer(&rp.quoted);
	m->text_signature = g_steal_pointer(&rp.signature);
	reply_parts_clear(&rp);
}

static void mail_header_free(gpointer p)
{
	struct mail_header *h = p;

	g_free(h->name);
	g_free(h->value);
	g_free(h->raw);
	g_free(h);
}

void mail_free(struct mail **mailp)
{
	struct mail *m = NULL;

	if (mailp == NULL || (m = *mailp) == NULL)
		return;
	g_free(m->message_id);
	g_free(m->in_reply_to);
	g_clear_pointer(&m->references, g_ptr_array_unref);
	g_free(m->from.name);
	g_free(m->from.addr);
	g_free(m->reply_to.name);
	g_free(m->reply_to.addr);
	g_clear_pointer(&m->to, g_ptr_array_unref);
	g_clear_pointer(&m->cc, g_ptr_array_unref);
	g_free(m->to_text);
	g_free(m->cc_text);
	g_free(m->subject);
	g_clear_pointer(&m->date, g_date_time_unref);
	g_free(m->body_charset);
	g_free(m->text);
	g_free(m->text_new);
	g_free(m->text_quoted);
	g_free(m->text_signature);
	g_clear_pointer(&m->headers, g_ptr_array_unref);
	g_clear_pointer(&m->attachments, g_ptr_array_unref);
	g_clear_pointer(&m->limits_hit, g_ptr_array_unref);
	g_free(m);
	*mailp = NULL;
}

static const struct mail_header *header_find(const struct mail *mail, const char *name)
{
	for (guint i = 0; mail->headers != NULL && i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);

		if (g_ascii_strcasecmp(h->name, name) == 0)
			return h;
	}
	return NULL;
}

const char *mail_header(const struct mail *mail, const char *name)
{
	const struct mail_header *h = header_find(mail, name);

	return h != NULL ? h->value : NULL;
}

const char *mail_header_raw(const struct mail *mail, const char *name)
{
	const struct mail_header *h = header_find(mail, name);

	return h != NULL ? h->raw : NULL;
}

/* Message-ids of the first header called name, oldest first, without brackets: a new array of
 * char * (freed with g_ptr_array_unref). */
static GPtrArray *msgids_parse(GMimeParserOptions *opts, GMimeHeaderList *hl, const char *name)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GMimeHeader *h = g_mime_header_list_get_header(hl, name);
	GMimeReferences *refs;
	char *unfolded;

	if (h == NULL || g_mime_header_get_raw_value(h) == NULL)
		return out;
	unfolded = g_mime_utils_header_unfold(g_mime_header_get_raw_value(h));
	refs = g_mime_references_parse(opts, unfolded);
	g_free(unfolded);
	if (refs == NULL)
		return out;
	for (int i = 0; i < g_mime_references_length(refs); i++) {
		char *id = utf8_line(g_strdup(g_mime_references_get_message_id(refs, i)), FALSE);

		if (id != NULL && strlen(id) <= MIME_MAX_ID_LEN)
			g_ptr_array_add(out, id);
		else
			g_free(id);
	}
	g_mime_references_free(refs);
	/* Threads can grow long; the root and the most recent ones are what find a ticket. */
	if (out->len > MIME_MAX_REFS)
		g_ptr_array_remove_range(out, 1, out->len - MIME_MAX_REFS);
	return out;
}

/* The top-level header as written: GMime keeps the Content-* fields in the body part's list and
 * the others in the message's, so the two are merged back by position. A new array of borrowed
 * GMimeHeader * (g_ptr_array_unref). */
static GPtrArray *headers_top(GMimeMessage *msg)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	GMimeHeaderList *a = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeHeaderList *b = body != NULL ? g_mime_object_get_header_list(body) : NULL;
	int na = g_mime_header_list_get_count(a),
	    nb = b != NULL ? g_mime_header_list_get_count(b) : 0;
	GPtrArray *out = g_ptr_array_sized_new((guint)(na + nb));
	int i = 0, j = 0;

	while (i < na || j < nb) {
		GMimeHeader *ha = i < na ? g_mime_header_list_get_header_at(a, i) : NULL;
		GMimeHeader *hb = j < nb ? g_mime_header_list_get_header_at(b, j) : NULL;

		if (hb == NULL ||
		    (ha != NULL && g_mime_header_get_offset(ha) <= g_mime_header_get_offset(hb))) {
			g_ptr_array_add(out, ha);
			i++;
		} else {
			g_ptr_array_add(out, hb);
			j++;
		}
	}
	return out;
}

/* Options for decoding this message's header: raw 8-bit bytes in a header are most likely in
 * the charset the body declares (GB2312 spam, Latin-1 Outlook), so that one is tried right after
 * the first fallback charset (utf-8 by default) and before the others. Returns base itself or a
 * copy the caller frees. */
static GMimeParserOptions *header_options(GMimeParserOptions *base, GMimeMessage *msg)
{
	GMimeObject *body = g_mime_message_get_mime_part(msg);
	const char *cs =
	    body != NULL ? g_mime_object_get_content_type_parameter(body, "charset") : NULL;
	const char **fallback = g_mime_parser_options_get_fallback_charsets(base);
	GPtrArray *list;
	GMimeParserOptions *opts;
	iconv_t cd;

	if (cs == NULL || *cs == '\0' || charset_is_weak(cs) ||
	    (cd = g_mime_iconv_open("UTF-8", cs)) == (iconv_t)-1)
		return base;
	g_mime_iconv_close(cd);
	list = g_ptr_array_new();
	for (int i = 0; fallback != NULL && fallback[i] != NULL; i++) {
		g_ptr_array_add(list, (char *)fallback[i]);
		if (i == 0)
			g_ptr_array_add(list, (char *)cs);
	}
	if (list->len == 0)
		g_ptr_array_add(list, (char *)cs);
	g_ptr_array_add(list, NULL);
	opts = g_mime_parser_options_clone(base);
	g_mime_parser_options_set_fallback_charsets(opts, (const char **)list->pdata);
	g_ptr_array_free(list, TRUE);
	return opts;
}

/* Fills everything but the sender checks from a parsed message; top is from headers_top(). */
static void mail_fill(struct parse *ps, GMimeMessage *msg, GPtrArray *top)
{
	struct mail *m = ps->m;
	GMimeHeaderList *hl = g_mime_object_get_header_list(GMIME_OBJECT(msg));
	GMimeParserOptions *opts = header_options(ps->opts, msg);
	GPtrArray *irt;
	GDateTime *date;
	const char *subject;

	m->headers = g_ptr_array_new_with_free_func(mail_header_free);
	for (guint i = 0; i < top->len; i++) {
		GMimeHeader *h = g_ptr_array_index(top, i);
		struct mail_header *mh = g_new0(struct mail_header, 1);
		const char *raw = g_mime_header_get_raw_value(h);

		mh->name = utf8_line(g_strdup(g_mime_header_get_name(h)), TRUE);

		mh->value = header_decode(opts, raw);
		mh->raw = utf8_line(g_mime_utils_header_unfold(raw != NULL ? raw : ""), TRUE);
		g_ptr_array_add(m->headers, mh);
	}
	subject = mail_header(m, "Subject");
	m->subject = g_strdup(subject != NULL ? subject : "");

	m->message_id = utf8_line(g_strdup(g_mime_message_get_message_id(msg)), FALSE);
	/* RFC 5322 lines end at 998 characters; a longer "identifier" is noise, and could not be
	 * indexed for threading either. */
	if (m->message_id != NULL && strlen(m->message_id) > MIME_MAX_ID_LEN) {
		g_free(m->message_id);
		m->message_id = NULL;
	}
	if (m->message_id == NULL) {
		m->message_id = g_strdup_printf("%s@spocd.invalid", m->sha256);
		m->message_id_synthetic = TRUE;
	}
	irt = msgids_parse(opts, hl, "In-Reply-To");
	if (irt->len > 0)
		m->in_reply_to = g_strdup(g_ptr_array_index(irt, 0));
	g_ptr_array_unref(irt);
	m->references = msgids_parse(opts, hl, "References");

	if (!addr_first(opts, hl, "From", &m->from) && !addr_first(opts, hl, "Sender", &m->from) &&
	    !addr_rescue(mail_header(m, "From"), &m->from) &&
	    !addr_rescue(mail_header(m, "Sender"), &m->from)) {
		/* No address anywhere: the name still tells who sent it. GMime parses nothing out
		 * of the bounces' "MAILER-DAEMON <>", so take the decoded value up to its '<'. */
		GPtrArray *list = addr_parse(opts, hl, "From");
		const char *value = mail_header(m, "From");

		if (list->len > 0)
			m->from.name =
			    g_strdup(((struct mail_addr *)g_ptr_array_index(list, 0))->name);
		else if (value != NULL)
			m->from.name = utf8_line(g_strndup(value, strcspn(value, "<")), FALSE);
		g_ptr_array_unref(list);
	}
	addr_first(opts, hl, "Reply-To", &m->reply_to);
	m->to = addr_parse(opts, hl, "To");
	m->cc = addr_parse(opts, hl, "Cc");
	if (opts != ps->opts)
		g_mime_parser_options_free(opts);
	m->to_text = addr_text(m->to);
	m->cc_text = addr_text(m->cc);

	date = g_mime_message_get_date(msg);
	m->date = date != NULL ? g_date_time_ref(date) : NULL;
	m->attachments = g_ptr_array_new_with_free_func(attachment_free);
	m->limits_hit = g_ptr_array_new_with_free_func(limit_hit_free);
	body_fill(ps, msg);
}

/* TRUE when the bytes are nothing but white space. */
static gboolean all_space(const char *raw, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (!g_ascii_isspace(raw[i]))
			return FALSE;
	return TRUE;
}

/* Where the header block starts: after a UTF-8 byte order mark and blank lines that some
 * exporters put in front (the SHA-256 still covers every byte). */
static size_t header_start(const char *raw, size_t len)
{
	size_t at = 0;

	if (len >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0)
		at = 3;
	for (;;) {
		size_t e = at;

		while (e < len && (raw[e] == ' ' || raw[e] == '\t' || raw[e] == '\r'))
			e++;
		if (e >= len || raw[e] != '\n')
			return at;
		at = e + 1;
	}
}

/* Length of the header block that starts at raw: up to the first empty line, or everything. */
static size_t header_length(const char *raw, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		const char *nl = memchr(raw + i, '\n', len - i);

		if (nl == NULL)
			break;
		i = (size_t)(nl - raw) + 1;
		if (i < len && raw[i] == '\n')
			return i;
		if (i + 1 < len && raw[i] == '\r' && raw[i + 1] == '\n')
			return i;
		i--; /* the loop's i++ steps past the newline */
	}
	return len;
}

int mime_parse(const char *raw, size_t len, const struct mime_limits *limits, struct mail **mail_r,
	       struct errbuf *err)
{
	static const struct mime_limits none = {0};
	GMimeStream *stream;
	GMimeParser *parser;
	GMimeMessage *msg;
	GPtrArray *top;
	struct mail *m = NULL;
	struct parse ps = {0};
	int rc = SPOC_OK;
	size_t skip, hlen;

	*mail_r = NULL;
	if (limits == NULL)
		limits = &none;
	mime_init();
	if (raw == NULL || len == 0 || all_space(raw, len))
		return errbuf_set(err, SPOC_EPERM, "empty message");
	if (limits->max_message_bytes > 0 && (uint64_t)len > (uint64_t)limits->max_message_bytes)
		return errbuf_set(err, SPOC_EPERM,
				  "message over max_message_bytes (%zu > %" PRId64 ")", len,
				  limits->max_message_bytes);

	skip = header_start(raw, len);
	if (limits->max_header_bytes > 0 &&
	    (hlen = header_length(raw + skip, len - skip)) > (size_t)limits->max_header_bytes)
		return errbuf_set(err, SPOC_EPERM,
				  "header over max_header_bytes (%zu > %" PRId64 ")", hlen,
				  limits->max_header_bytes);
	if (memchr(raw, '\n', len) == NULL && memchr(raw, '\r', len) != NULL) {
		/* old Mac line ends: GMime only knows LF and CRLF */
		char *lf = g_memdup2(raw + skip, len - skip);

		for (size_t i = 0; i < len - skip; i++)
			if (lf[i] == '\r')
				lf[i] = '\n';
		stream = g_mime_stream_mem_new_with_buffer(lf, len - skip);
		g_free(lf);
	} else {
		stream = g_mime_stream_mem_new_with_buffer(raw + skip, len - skip);
	}
	ps.lim = limits;
	ps.opts = mime_options;
	if (limits->fallback_charsets != NULL && limits->fallback_charsets[0] != NULL) {
		ps.opts = g_mime_parser_options_clone(mime_options);
		g_mime_parser_options_set_fallback_charsets(
		    ps.opts, (const char **)limits->fallback_charsets);
	}
	parser = g_mime_parser_new_with_stream(stream);
	msg = g_mime_parser_construct_message(parser, ps.opts);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL) {
		rc = errbuf_set(err, SPOC_EPERM, "no header block");
		goto out;
	}
	top = headers_top(msg);
	if (top->len == 0) {
		rc = errbuf_set(err, SPOC_EPERM, "no header block");
	} else {
		m = g_new0(struct mail, 1);
		spoc_sha256_hex(raw, len, m->sha256);
		m->raw_len = len;
		ps.m = m;
		mail_fill(&ps, msg, top);
	}
	g_ptr_array_unref(top);
	g_object_unref(msg);
out:
	if (ps.opts != mime_options)
		g_mime_parser_options_free(ps.opts);
	*mail_r = m;
	return rc;
}
