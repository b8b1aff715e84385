/* A part's bytes as text, for mime.c and mime_parts.c: transfer decoding (base64 by our own
 * decoder, since GMime 3.2.13 stops at the first padded chunk, defect #2), the charset it declares
 * or the one its bytes give away (GMime's 8-bit heuristics and our fallback charsets when it lies
 * or says nothing, defect #4), LF line ends, and RFC 3676 format=flowed undone. */
#include "mime_priv.h"

#include <errno.h>
#include <gmime/gmime.h>
#include <iconv.h>
#include <string.h>

/* Base64 that treats '=' as the end of one quantum, not of the data, so "SGVsbG8=V29ybGQ=" gives
 * "HelloWorld" (GMime 3.2.13 stops at the first padding, defect #2). Anything outside the alphabet
 * is skipped; a trailing unpadded quantum is decoded as far as it goes. */
/* The value of a base64 digit, or -1 for anything else. */
static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' ? 62 : c == '/' ? 63 : -1;
}

void mime_b64_decode_chunked(const char *in, size_t len, GByteArray *out)
{
	guint start = out->len;
	guint8 *b;
	guint32 acc = 0;
	int n = 0;

	/* at most 3 bytes for every 4 digits, and what a last partial quantum gives */
	g_byte_array_set_size(out, start + (guint)(len / 4 * 3 + 3));
	b = out->data + start;
	for (size_t i = 0; i <= len; i++) {
		int v = i < len ? b64_value((unsigned char)in[i]) : -1;

		if (v >= 0) {
			acc = acc << 6 | (guint32)v;
			if (++n < 4)
				continue;
		} else if (i < len && in[i] != '=') {
			continue; /* line breaks, garbage */
		}
		/* a full quantum, or padding or the end closing a partial one */
		acc <<= 6 * (4 - n);
		if (n >= 2)
			*b++ = (guint8)(acc >> 16);
		if (n >= 3)
			*b++ = (guint8)(acc >> 8);
		if (n == 4)
			*b++ = (guint8)acc;
		acc = 0;
		n = 0;
	}
	g_byte_array_set_size(out, (guint)(b - out->data));
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
gboolean mime_charset_is_weak(const char *charset)
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
char *mime_to_utf8(GMimeParserOptions *opts, const char *data, size_t len, const char *charset)
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
			    (ninval == 0 || !mime_charset_is_weak(charset))) {
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
void mime_newlines_normalise(char *s)
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

/* Transfer-decoded bytes of a leaf part (base64 through mime_b64_decode_chunked, defect #2). */
GBytes *mime_part_bytes(GMimePart *part)
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
		mime_b64_decode_chunked((const char *)arr->data, arr->len, dec);
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
char *mime_part_text(struct parse *ps, GMimePart *part)
{
	GBytes *bytes = mime_part_bytes(part);
	gsize len;
	const char *data = g_bytes_get_data(bytes, &len);
	const char *cs = g_mime_object_get_content_type_parameter(GMIME_OBJECT(part), "charset");
	char *text;

	if (cs == NULL || *cs == '\0' || mime_charset_is_weak(cs)) {
		const char *sniffed = charset_sniff(data, len);

		if (sniffed != NULL && !g_utf8_validate(data, (gssize)len, NULL))
			cs = sniffed;
		else if (sniffed != NULL && g_str_has_prefix(sniffed, "ISO-2022"))
			cs = sniffed; /* 7-bit, so it looks like valid UTF-8 */
	}
	text = mime_to_utf8(ps->opts, data != NULL ? data : "", len, cs);
	g_bytes_unref(bytes);
	mime_newlines_normalise(text);
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
