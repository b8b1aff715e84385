/* Outlook's rich text (rtf.h). Compressed RTF is decompressed here rather than by libytnef,
 * whose DecompressRTF() reads past its input and allocates what the stream claims to need, up to
 * 4 GiB: this decoder reads only what it is given and writes no more than its caller allows, since
 * the declared size is the sender's word and the format expands eightfold at most. The RTF
 * reader after it is a small state machine over control words, linear in its input and with a
 * bounded stack however deep the groups nest. */
#include "rtf.h"

#include "html.h"

#include <string.h>

static guint32 le32(const guint8 *p)
{
	return (guint32)p[0] | (guint32)p[1] << 8 | (guint32)p[2] << 16 | (guint32)p[3] << 24;
}

/* ---- 8-bit text in Windows code pages ---- */

/* An iconv name for a Windows code page of 8-bit text; NULL for one that has none worth
 * trying. */
static char *codepage_charset(guint32 cp)
{
	if (cp == 65001)
		return g_strdup("UTF-8");
	if (cp == 20127)
		return g_strdup("ASCII");
	if (cp >= 28591 && cp <= 28606)
		return g_strdup_printf("ISO-8859-%u", cp - 28590);
	if (cp == 20866)
		return g_strdup("KOI8-R");
	if (cp == 21866)
		return g_strdup("KOI8-U");
	if (cp >= 50220 && cp <= 50222)
		return g_strdup("ISO-2022-JP");
	if (cp == 51932)
		return g_strdup("EUC-JP");
	if (cp == 51949)
		return g_strdup("EUC-KR");
	if (cp == 54936)
		return g_strdup("GB18030");
	if (cp == 0 || cp > 65535)
		return NULL;
	return g_strdup_printf("CP%u", cp); /* 437, 850, 874, 932, 936, 949, 950, 1250-1258, ... */
}

char *rtf_codepage_to_utf8(const void *s, size_t n, guint32 cp)
{
	static const char *const fallback[] = {"WINDOWS-1252", "ISO-8859-1"};
	char *charset = codepage_charset(cp == 0 ? 1252 : cp);
	char *out = NULL;
	gsize written;

	n = strnlen((const char *)s, n);
	if (charset != NULL)
		out = g_convert((const char *)s, (gssize)n, "UTF-8", charset, NULL, &written, NULL);
	g_free(charset);
	if (out == NULL && g_utf8_validate((const char *)s, (gssize)n, NULL))
		out = g_strndup((const char *)s, n);
	for (size_t i = 0; out == NULL && i < G_N_ELEMENTS(fallback); i++)
		out = g_convert((const char *)s, (gssize)n, "UTF-8", fallback[i], NULL, &written,
				NULL);
	if (out == NULL || !g_utf8_validate(out, -1, NULL)) {
		char *valid = g_utf8_make_valid(out != NULL ? out : "", -1);

		g_free(out);
		out = valid;
	}
	return out;
}

/* ---- compressed RTF (MS-OXRTFCP) ---- */

#define LZFU_HEADER	  16
#define LZFU_COMPRESSED	  0x75465A4Cu /* "LZFu" */
#define LZFU_UNCOMPRESSED 0x414C454Du /* "MELA" */

/* The dictionary's initial contents, as the format defines them. */
static const char lzfu_prebuf[] =
    "{\\rtf1\\ansi\\mac\\deff0\\deftab720{\\fonttbl;}{\\f0\\fnil \\froman \\fswiss "
    "\\fmodern \\fscript \\fdecor MS Sans SerifSymbolArialTimes New "
    "RomanCourier{\\colortbl\\red0\\green0\\blue0\r\n\\par "
    "\\pard\\plain\\f0\\fs20\\b\\i\\u\\tab\\tx";

/* The format's CRC of n bytes: CRC-32 (polynomial 0xEDB88320) from 0, without the final
 * inversion of zlib's. */
static guint32 lzfu_crc(const guint8 *p, size_t n)
{
	static guint32 table[256];
	static gsize once;
	guint32 crc = 0;

	if (g_once_init_enter(&once)) {
		for (guint32 i = 0; i < 256; i++) {
			guint32 c = i;

			for (int k = 0; k < 8; k++)
				c = (c & 1) != 0 ? 0xEDB88320u ^ (c >> 1) : c >> 1;
			table[i] = c;
		}
		g_once_init_leave(&once, 1);
	}
	for (size_t i = 0; i < n; i++)
		crc = table[(crc ^ p[i]) & 0xFF] ^ (crc >> 8);
	return crc;
}

/* Why lzfu_run() stopped. */
enum lzfu_stop {
	LZFU_END,   /* at the end marker */
	LZFU_FULL,  /* at limit, with more to write */
	LZFU_INPUT, /* at the end of the input, before an end marker */
};

/* Decompresses the LZFu data in p[LZFU_HEADER, end) into out, up to limit bytes. */
static enum lzfu_stop lzfu_run(const guint8 *p, size_t end, size_t limit, GByteArray *out)
{
	guint8 dict[4096];
	size_t i = LZFU_HEADER, w = sizeof(lzfu_prebuf) - 1;

	memset(dict, 0, sizeof(dict));
	memcpy(dict, lzfu_prebuf, sizeof(lzfu_prebuf) - 1);
	while (i < end) {
		guint8 flags = p[i++];

		for (int bit = 0; bit < 8; bit++) {
			if ((flags & (1u << bit)) != 0) {
				/* a reference: 12 bits of dictionary offset, 4 of length - 2 */
				size_t off, count;

				if (end - i < 2)
					return LZFU_INPUT;
				off = (size_t)p[i] << 4 | p[i + 1] >> 4;
				count = (p[i + 1] & 0x0F) + 2u;
				i += 2;
				if (off == w)
					return LZFU_END;
				for (size_t k = 0; k < count; k++) {
					guint8 c = dict[(off + k) & 4095];

					if (out->len >= limit)
						return LZFU_FULL;
					dict[w] = c;
					w = (w + 1) & 4095;
					g_byte_array_append(out, &c, 1);
				}
			} else {
				if (i >= end)
					return LZFU_INPUT;
				if (out->len >= limit)
					return LZFU_FULL;
				dict[w] = p[i];
				w = (w + 1) & 4095;
				g_byte_array_append(out, p + i, 1);
				i++;
			}
		}
	}
	return LZFU_INPUT;
}

int rtf_decompress(const void *data, size_t len, size_t max_out, GByteArray **rtf_r,
		   unsigned *flaws_r, struct errbuf *err)
{
	const guint8 *p = data;
	size_t raw, limit, end, have;
	enum lzfu_stop stop;
	guint32 type, crc, want_crc;
	unsigned flaws = 0;
	GByteArray *out;
	GString *notes;

	*rtf_r = NULL;
	if (flaws_r != NULL)
		*flaws_r = 0;
	if (err != NULL)
		err->msg[0] = '\0';
	if (p == NULL || len < LZFU_HEADER)
		return errbuf_set(err, SPOC_EPERM,
				  "compressed RTF of %zu bytes, shorter than its %d-byte header",
				  len, LZFU_HEADER);
	type = le32(p + 8);
	if (type != LZFU_COMPRESSED && type != LZFU_UNCOMPRESSED)
		return errbuf_set(err, SPOC_EPERM, "not compressed RTF: type 0x%08x", type);
	raw = le32(p + 4);
	limit = MIN(raw, MIN(max_out, (size_t)G_MAXUINT));
	want_crc = le32(p + 12);
	if (type == LZFU_UNCOMPRESSED) {
		/* stored as it is, after a CRC of 0 */
		have = len - LZFU_HEADER;
		crc = 0;
		out = g_byte_array_sized_new((guint)MIN(MIN(have, limit), (size_t)1 << 20));
		g_byte_array_append(out, p + LZFU_HEADER, (guint)MIN(have, limit));
		stop = have > limit ? LZFU_FULL : have < raw ? LZFU_INPUT : LZFU_END;
	} else {
		/* the compressed size counts the bytes after its own field */
		end = MAX((size_t)le32(p) + 4, (size_t)LZFU_HEADER);
		if (end > len)
			end = len;
		crc = lzfu_crc(p + LZFU_HEADER, end - LZFU_HEADER);
		out = g_byte_array_sized_new((guint)MIN(limit, (size_t)1 << 20));
		stop = lzfu_run(p, end, limit, out);
		if (stop == LZFU_END && out->len < raw)
			flaws |= RTF_SIZE_MISMATCH;
	}
	if (stop == LZFU_INPUT)
		flaws |= RTF_CUT_SHORT;
	if (stop == LZFU_FULL)
		flaws |= limit < raw ? RTF_CAPPED : RTF_SIZE_MISMATCH;
	if (crc != want_crc)
		flaws |= RTF_BAD_CRC;

	notes = g_string_new(NULL);
	if ((flaws & RTF_CAPPED) != 0)
		g_string_append_printf(notes, "; cut at max %zu bytes of %zu declared", max_out,
				       raw);
	if ((flaws & RTF_CUT_SHORT) != 0)
		g_string_append_printf(notes, "; input ends after %u bytes of %zu declared",
				       out->len, raw);
	if ((flaws & RTF_SIZE_MISMATCH) != 0)
		g_string_append_printf(notes, "; declares %zu bytes, holds %s", raw,
				       stop == LZFU_END ? "fewer" : "more");
	if ((flaws & RTF_BAD_CRC) != 0)
		g_string_append_printf(notes, "; CRC 0x%08x, computed 0x%08x", want_crc, crc);
	if (notes->len > 0 && err != NULL)
		g_snprintf(err->msg, sizeof(err->msg), "compressed RTF: %s", notes->str + 2);
	g_string_free(notes, TRUE);
	if (flaws_r != NULL)
		*flaws_r = flaws;
	*rtf_r = out;
	return SPOC_OK;
}

/* ---- RTF to text ---- */

/* Destinations whose text is not the document's text, in strcmp() order for bsearch(). Groups
 * marked with \* are skipped too. */
/* clang-format off */
static const char *const rtf_skip[] = {
	"aftncn", "aftnsep", "aftnsepc", "annotation", "atnauthor", "atndate", "atnicn", "atnid",
	"atnparent", "atnref", "atntime", "author", "background", "buptim", "category",
	"colorschememapping", "colortbl", "comment", "company", "creatim", "datastore", "doccomm",
	"docvar", "falt", "fchars", "filetbl", "fldinst", "fonttbl", "footer", "footerf",
	"footerl", "footerr", "footnote", "ftncn", "ftnsep", "ftnsepc", "generator", "header",
	"headerf", "headerl", "headerr", "hlinkbase", "info", "keywords", "latentstyles", "lchars",
	"listoverridetable", "listtable", "manager", "mmathPr", "nonshppict", "objclass",
	"objdata", "object", "operator", "panose", "pgdsctbl", "pict", "pnseclvl", "printim",
	"private", "protusertbl", "revtbl", "revtim", "rsidtbl", "shp", "shpinst", "sn", "sp",
	"stylesheet", "subject", "sv", "tc", "template", "themedata", "title", "txe", "userprops",
	"wgrffmtfilter", "xe", "xmlnstbl",
};
/* clang-format on */

struct rtf_group {
	gboolean skip;	  /* not document text */
	gboolean htmlrtf; /* \htmlrtf: RTF-only rendering of encapsulated HTML */
	gboolean htmltag; /* \*\htmltag: the HTML itself */
	int uc;		  /* fallback characters after \u */
};

struct rtf {
	const guint8 *p;
	size_t n, i;
	GArray *stack; /* struct rtf_group, enclosing groups */
	size_t deep;   /* groups nested beyond RTF_MAX_DEPTH, counted, not stacked */
	struct rtf_group cur;
	gboolean html;	      /* \fromhtml: the text is HTML to de-encapsulate */
	gboolean group_start; /* nothing read yet in this group */
	gboolean star;	      /* \* just read at a group's start */
	int to_skip;	      /* fallback characters still to skip after \u */
	gunichar high;	      /* a high surrogate from \u, waiting for its pair */
	guint32 cp;	      /* \ansicpg */
	GByteArray *bytes;    /* 8-bit text not yet converted from cp */
	GString *out;
};

#define RTF_MAX_DEPTH 256

static gboolean rtf_visible(const struct rtf *r)
{
	if (r->cur.skip)
		return FALSE;
	return !r->html || r->cur.htmltag || !r->cur.htmlrtf;
}

static void rtf_flush(struct rtf *r)
{
	char *s;

	if (r->bytes->len == 0)
		return;
	s = rtf_codepage_to_utf8(r->bytes->data, r->bytes->len, r->cp);
	g_string_append(r->out, s);
	g_free(s);
	g_byte_array_set_size(r->bytes, 0);
}

static void rtf_char(struct rtf *r, gunichar c)
{
	if (!rtf_visible(r))
		return;
	rtf_flush(r);
	if (r->high != 0 && c >= 0xDC00 && c <= 0xDFFF) {
		g_string_append_unichar(r->out,
					0x10000 + ((r->high - 0xD800) << 10) + (c - 0xDC00));
		r->high = 0;
		return;
	}
	if (r->high != 0)
		g_string_append_unichar(r->out, 0xFFFD);
	r->high = 0;
	if (c >= 0xD800 && c <= 0xDBFF)
		r->high = c;
	else if ((c >= 0xDC00 && c <= 0xDFFF) || c == 0 || c > 0x10FFFF)
		g_string_append_unichar(r->out, 0xFFFD);
	else
		g_string_append_unichar(r->out, c);
}

static void rtf_byte(struct rtf *r, guint8 b)
{
	if (r->to_skip > 0) {
		r->to_skip--;
		return;
	}
	if (!rtf_visible(r) || b == 0)
		return;
	if (b < 0x80) {
		rtf_char(r, b);
		return;
	}
	if (r->high != 0) {
		g_string_append_unichar(r->out, 0xFFFD);
		r->high = 0;
	}
	g_byte_array_append(r->bytes, &b, 1);
}

static int rtf_cmp(const void *key, const void *entry)
{
	return strcmp(key, *(const char *const *)entry);
}

static void rtf_word(struct rtf *r, const char *w, gboolean has_arg, long arg)
{
	static const struct {
		const char *word;
		gunichar c;
	} chars[] = {
	    {"par", '\n'},	   {"line", '\n'},	  {"sect", '\n'},     {"page", '\n'},
	    {"row", '\n'},	   {"tab", '\t'},	  {"cell", '\t'},     {"emdash", 0x2014},
	    {"endash", 0x2013},	   {"bullet", 0x2022},	  {"lquote", 0x2018}, {"rquote", 0x2019},
	    {"ldblquote", 0x201C}, {"rdblquote", 0x201D}, {"emspace", ' '},   {"enspace", ' '},
	    {"qmspace", ' '},
	};
	r->group_start = FALSE;
	if (r->star) {
		/* {\*\dest ...}: a destination to skip unless understood, and only the HTML of
		 * encapsulated HTML is */
		r->star = FALSE;
		if (r->html && strcmp(w, "htmltag") == 0)
			r->cur.htmltag = TRUE;
		else
			r->cur.skip = TRUE;
		return;
	}
	if (bsearch(w, rtf_skip, G_N_ELEMENTS(rtf_skip), sizeof(rtf_skip[0]), rtf_cmp) != NULL) {
		r->cur.skip = TRUE;
		return;
	}
	if (strcmp(w, "bin") == 0) {
		/* binary data: skip it unread */
		size_t skip = has_arg && arg > 0 ? (size_t)arg : 0;

		r->i += MIN(skip, r->n - r->i);
		return;
	}
	if (strcmp(w, "u") == 0 && has_arg) {
		if (r->to_skip > 0) {
			r->to_skip--;
			return;
		}
		rtf_char(r, (gunichar)(arg < 0 ? arg + 65536 : arg) & 0xFFFF);
		r->to_skip = r->cur.uc;
		return;
	}
	if (r->to_skip > 0) {
		r->to_skip--;
		return;
	}
	if (strcmp(w, "uc") == 0 && has_arg) {
		r->cur.uc = (int)CLAMP(arg, 0, 16);
	} else if (strcmp(w, "ansicpg") == 0 && has_arg && arg > 0 && arg < 65536) {
		rtf_flush(r);
		r->cp = (guint32)arg;
	} else if (strcmp(w, "fromhtml") == 0) {
		r->html = !has_arg || arg != 0;
	} else if (strcmp(w, "htmlrtf") == 0) {
		r->cur.htmlrtf = !has_arg || arg != 0;
	} else {
		for (size_t k = 0; k < G_N_ELEMENTS(chars); k++)
			if (strcmp(w, chars[k].word) == 0) {
				rtf_char(r, chars[k].c);
				break;
			}
	}
}

/* Reads a control word or symbol after a backslash at r->i. */
static void rtf_control(struct rtf *r)
{
	char word[33];
	size_t len = 0;
	gboolean neg = FALSE, has_arg = FALSE;
	long arg = 0;
	guint8 c;

	if (r->i >= r->n)
		return;
	c = r->p[r->i];
	if (!g_ascii_isalpha(c)) {
		r->i++;
		if (c == '*' && r->group_start) {
			r->star = TRUE;
			return;
		}
		if (r->star)
			r->cur.skip = TRUE; /* {\* followed by no control word */
		r->star = FALSE;
		r->group_start = FALSE;
		if (c == '\'') {
			if (r->n - r->i >= 2 && g_ascii_isxdigit(r->p[r->i]) &&
			    g_ascii_isxdigit(r->p[r->i + 1])) {
				rtf_byte(r, (guint8)(g_ascii_xdigit_value(r->p[r->i]) << 4 |
						     g_ascii_xdigit_value(r->p[r->i + 1])));
				r->i += 2;
			}
		} else if (c == '\\' || c == '{' || c == '}') {
			rtf_byte(r, c);
		} else if (c == '~') {
			rtf_byte(r, ' ');
		} else if (c == '_') {
			rtf_byte(r, '-');
		} else if (c == '\n' || c == '\r') {
			rtf_char(r, '\n');
		}
		return;
	}
	while (r->i < r->n && g_ascii_isalpha(r->p[r->i])) {
		if (len < sizeof(word) - 1)
			word[len++] = (char)r->p[r->i];
		r->i++;
	}
	word[len] = '\0';
	if (r->i < r->n && r->p[r->i] == '-') {
		neg = TRUE;
		r->i++;
	}
	for (int digits = 0; r->i < r->n && g_ascii_isdigit(r->p[r->i]); digits++, r->i++) {
		has_arg = TRUE;
		if (digits < 10)
			arg = arg * 10 + (r->p[r->i] - '0');
	}
	if (neg)
		arg = -arg;
	if (r->i < r->n && r->p[r->i] == ' ')
		r->i++;
	rtf_word(r, word, has_arg, arg);
}

char *rtf_to_text(const void *rtf, size_t len)
{
	const guint8 *p = rtf;
	size_t n = rtf != NULL ? len : 0;
	struct rtf r = {.p = p, .n = n, .cp = 1252, .cur = {.uc = 1}};
	char *text;

	r.stack = g_array_new(FALSE, FALSE, sizeof(struct rtf_group));
	r.bytes = g_byte_array_new();
	r.out = g_string_sized_new(n / 4);
	while (r.i < r.n) {
		guint8 c = r.p[r.i++];

		switch (c) {
		case '{':
			rtf_flush(&r);
			r.to_skip = 0;
			if (r.stack->len < RTF_MAX_DEPTH)
				g_array_append_val(r.stack, r.cur);
			else
				r.deep++;
			r.group_start = TRUE;
			r.star = FALSE;
			break;
		case '}':
			rtf_flush(&r);
			r.to_skip = 0;
			r.group_start = FALSE;
			r.star = FALSE;
			if (r.deep > 0) {
				r.deep--;
			} else if (r.stack->len > 0) {
				r.cur = g_array_index(r.stack, struct rtf_group, r.stack->len - 1);
				g_array_set_size(r.stack, r.stack->len - 1);
			}
			break;
		case '\\':
			rtf_control(&r);
			break;
		case '\r':
		case '\n':
			break;
		default:
			if (r.star)
				r.cur.skip = TRUE; /* {\* followed by no control word */
			r.star = FALSE;
			r.group_start = FALSE;
			rtf_byte(&r, c);
			break;
		}
	}
	rtf_flush(&r);
	if (r.high != 0)
		g_string_append_unichar(r.out, 0xFFFD);
	g_array_unref(r.stack);
	g_byte_array_unref(r.bytes);
	text = g_string_free(r.out, FALSE);
	if (r.html) {
		char *plain = html_to_text(text);

		g_free(text);
		text = plain;
	}
	return text;
}
