/* Text helpers shared by the pure decision modules: one normalisation for pattern matching and
 * one squashed form for comparing machine sender names. */
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
