/* Text helpers shared by the pure decision modules: one normalisation for pattern matching, one
 * squashed form for comparing machine sender names, and one readable line out of many; and the
 * visible form in which spocctl shows strangers' text on a terminal. */
#include "text.h"

#include <string.h>

/* TRUE when s[0, len) has no character from U+0300 up: every character below it (ASCII, Latin-1,
 * Latin Extended-A and -B, IPA) is its own NFC and combines with none that follows, so such a
 * text is already NFC. Lead bytes from 0xCC on start U+0300 and beyond. */
static gboolean below_combining(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if ((unsigned char)s[i] >= 0xCC)
			return FALSE;
	return TRUE;
}

char *text_nfc_prefix(const char *s, size_t max)
{
	size_t len = strlen(s);
	char *nfc;

	if (len > max)
		len = (size_t)(g_utf8_find_prev_char(s, s + max + 1) - s);
	/* g_utf8_normalize() goes through UCS-4 and back: most of a Spanish or English mail's text
	 * needs none of it */
	if (below_combining(s, len))
		return g_strndup(s, len);
	nfc = g_utf8_normalize(s, (gssize)len, G_NORMALIZE_NFC);
	return nfc != NULL ? nfc : g_strndup(s, len);
}

char *text_squash(const char *s, gboolean at_stop)
{
	const char *at = at_stop ? strrchr(s, '@') : NULL;
	GString *out = g_string_new(NULL);

	for (const char *p = s; *p != '\0' && (at == NULL || p < at); p++)
		if (*p != '-' && *p != '_' && *p != '.' && *p != ' ')
			g_string_append_c(out, g_ascii_tolower(*p));
	return g_string_free(out, FALSE);
}

char *text_one_line(const char *s, size_t len, size_t max)
{
	char *valid = g_utf8_make_valid(s, (gssize)len);
	GString *out = g_string_new(NULL);
	gboolean space = FALSE;

	for (const char *p = valid; *p != '\0' && out->len < max + 8; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_isspace(c) || g_unichar_iscntrl(c) ||
		    g_unichar_type(c) == G_UNICODE_FORMAT) {
			space = out->len > 0;
			continue;
		}
		if (space)
			g_string_append_c(out, ' ');
		space = FALSE;
		g_string_append_unichar(out, c);
	}
	g_free(valid);
	if (out->len > max) {
		const char *cut = g_utf8_find_prev_char(out->str, out->str + max + 1);

		g_string_truncate(out, cut != NULL ? (gsize)(cut - out->str) : 0);
	}
	if (out->len == 0) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}

/* ---- what a terminal may be given ---- */

gboolean text_terminal_escapes(gunichar c)
{
	switch (g_unichar_type(c)) {
	case G_UNICODE_CONTROL:	       /* C0, DEL, C1 */
	case G_UNICODE_FORMAT:	       /* bidi controls, zero-width, U+FEFF, tags, U+180E ... */
	case G_UNICODE_LINE_SEPARATOR: /* U+2028 */
	case G_UNICODE_PARAGRAPH_SEPARATOR: /* U+2029 */
	case G_UNICODE_SURROGATE:
		return TRUE;
	default:
		break;
	}
	/* invisible, yet letters or marks: Unicode's default-ignorable characters that are not
	 * variation selectors (which emoji and ideographs need), and the unassigned rest of the
	 * tag plane */
	return c == 0x034F ||			/* combining grapheme joiner */
	       c == 0x115F || c == 0x1160 ||	/* Hangul choseong and jungseong fillers */
	       c == 0x17B4 || c == 0x17B5 ||	/* Khmer inherent vowels */
	       c == 0x180E ||			/* Mongolian vowel separator (no longer Cf) */
	       c == 0x3164 || c == 0xFFA0 ||	/* Hangul fillers */
	       (c >= 0x2060 && c <= 0x206F) ||	/* word joiner .. nominal digit shapes */
	       (c >= 0xFFF0 && c <= 0xFFF8) ||	/* unassigned specials */
	       (c >= 0xE0000 && c <= 0xE0FFF && /* tags */
		!(c >= 0xE0100 && c <= 0xE01EF));
}

/* Appends the escape of code point c: \e, \n, \t, \r, \xNN below U+0080 (DEL too), \uXXXX or
 * \UXXXXXXXX above. */
static void append_escape(GString *out, gunichar c)
{
	if (c == 0x1b)
		g_string_append(out, "\\e");
	else if (c == '\n')
		g_string_append(out, "\\n");
	else if (c == '\t')
		g_string_append(out, "\\t");
	else if (c == '\r')
		g_string_append(out, "\\r");
	else if (c < 0x80)
		g_string_append_printf(out, "\\x%02x", c);
	else if (c <= 0xFFFF)
		g_string_append_printf(out, "\\u%04X", c);
	else
		g_string_append_printf(out, "\\U%08X", c);
}

static glong char_columns(gunichar c)
{
	if (g_unichar_iszerowidth(c))
		return 0;
	return g_unichar_iswide(c) ? 2 : 1;
}

/* text_for_terminal() and, with columns >= 1, its cut form: each character or escape goes out
 * whole, and once one would pass columns the text is cut back to where it last fitted in
 * columns - 1 and "…" ends it. */
static char *for_terminal(const char *s, gssize len, enum text_terminal how, glong columns)
{
	const char *p = s, *end;
	GString *out;
	gsize fit = 0;
	glong used = 0;

	if (s == NULL)
		return g_strdup("");
	end = s + (len < 0 ? strlen(s) : (size_t)len);
	out = g_string_sized_new(MIN((gsize)(end - s), 4096) + 1);
	while (p < end) {
		gunichar c = g_utf8_get_char_validated(p, end - p);
		const char *next;
		glong w;

		if (c == (gunichar)-1 || c == (gunichar)-2) {
			/* not UTF-8: this byte, and the next are looked at afresh */
			g_string_append_printf(out, "\\x%02x", (unsigned char)*p);
			next = p + 1;
			w = 4;
		} else {
			next = c == 0 ? p + 1 : g_utf8_next_char(p);
			if (how == TEXT_TERMINAL_LINES && c == '\r' && next < end &&
			    *next == '\n') {
				p = next; /* a CRLF line end is a newline */
				continue;
			}
			if (how == TEXT_TERMINAL_LINES && (c == '\n' || c == '\t')) {
				g_string_append_c(out, (char)c);
				w = 1; /* a cut text is one line: never here */
			} else if (text_terminal_escapes(c)) {
				gsize before = out->len;

				append_escape(out, c);
				w = (glong)(out->len - before);
			} else {
				g_string_append_len(out, p, next - p);
				w = char_columns(c);
			}
		}
		p = next;
		if (columns < 1)
			continue;
		if (used + w > columns) {
			g_string_truncate(out, fit);
			g_string_append(out, "…");
			break;
		}
		used += w;
		if (used <= columns - 1)
			fit = out->len;
	}
	return g_string_free(out, FALSE);
}

char *text_for_terminal(const char *s, gssize len, enum text_terminal how)
{
	return for_terminal(s, len, how, 0);
}

char *text_for_terminal_cut(const char *s, gssize len, glong columns)
{
	return for_terminal(s, len, TEXT_TERMINAL_LINE, MAX(columns, 1));
}

glong text_columns(const char *s)
{
	glong n = 0;

	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p))
		n += char_columns(g_utf8_get_char(p));
	return n;
}

char *text_json_for_terminal(const char *json, gssize len)
{
	const char *p = json, *end = json + (len < 0 ? strlen(json) : (size_t)len);
	GString *out = g_string_sized_new((gsize)(end - json) + 1);

	while (p < end) {
		gunichar c = g_utf8_get_char_validated(p, end - p);
		const char *next =
		    c == (gunichar)-1 || c == (gunichar)-2 || c == 0 ? p + 1 : g_utf8_next_char(p);

		if (c == (gunichar)-1 || c == (gunichar)-2)
			g_string_append(out, "\\uFFFD");
		else if (c == '\n' || !text_terminal_escapes(c))
			g_string_append_len(out, p, next - p); /* the line's end, or text */
		else if (c <= 0xFFFF)
			g_string_append_printf(out, "\\u%04X", c);
		else
			g_string_append_printf(out, "\\u%04X\\u%04X",
					       0xD800 + ((c - 0x10000) >> 10),
					       0xDC00 + ((c - 0x10000) & 0x3FF));
		p = next;
	}
	return g_string_free(out, FALSE);
}

void json_string(GString *out, const char *s)
{
	char *valid;

	if (s == NULL) {
		g_string_append(out, "null");
		return;
	}
	valid = g_utf8_make_valid(s, -1);
	g_string_append_c(out, '"');
	for (const char *p = valid; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		switch (c) {
		case '"':
			g_string_append(out, "\\\"");
			break;
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		default:
			if (c < 0x20 || c == 0x7f)
				g_string_append_printf(out, "\\u%04x", c);
			else
				g_string_append_c(out, (char)c);
		}
	}
	g_string_append_c(out, '"');
	g_free(valid);
}
