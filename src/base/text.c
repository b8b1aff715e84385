/* Text helpers shared by the pure decision modules: one normalisation for pattern matching, one
 * squashed form for comparing machine sender names, and one readable line out of many. */
#include "text.h"

#include <string.h>

char *text_nfc_prefix(const char *s, size_t max)
{
	size_t len = strlen(s);
	char *nfc;

	if (len > max)
		len = (size_t)(g_utf8_find_prev_char(s, s + max + 1) - s);
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
