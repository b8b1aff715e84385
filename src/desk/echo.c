/* What a notice may repeat of text a stranger wrote: bounded, one line, inert (echo.h). */
#include "echo.h"

#include <string.h>

/* Top-level domains of three letters or more that mail clients turn into links and that phishing
 * uses most; every two-letter label is taken as a country's. */
static const char *const link_tlds[] = {
    "com",  "net",    "org",  "info",  "biz",	  "app",   "dev",  "xyz",   "top",
    "site", "online", "club", "shop",  "store",	  "link",  "live", "email", "help",
    "tech", "cloud",  "page", "web",   "website", "space", "fun",  "vip",   "pro",
    "mobi", "name",   "asia", "click", "icu",	  "buzz",  "life", "world", "support",
    "gov",  "edu",    "mil",  "int",   "zip",	  "mov",   "work", "today", "digital",
};

static gboolean is_format(gunichar c)
{
	return g_unichar_type(c) == G_UNICODE_FORMAT;
}

static gboolean is_blank_like(gunichar c)
{
	return c < 0x20 || c == 0x7f || (c >= 0x80 && c <= 0x9f) || c == 0x2028 || c == 0x2029 ||
	       g_unichar_isspace(c);
}

/* One line, controls and format characters out, blanks collapsed and trimmed. */
static GString *flatten(const char *text)
{
	char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	GString *out = g_string_sized_new(strlen(valid));
	gboolean space = FALSE;

	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (is_format(c))
			continue;
		if (is_blank_like(c)) {
			space = out->len > 0;
			continue;
		}
		if (space)
			g_string_append_c(out, ' ');
		space = FALSE;
		g_string_append_unichar(out, c);
	}
	g_free(valid);
	return out;
}

static gboolean is_link_tld(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isalpha(s[i]))
			return FALSE;
	if (n == 2)
		return TRUE;
	for (size_t i = 0; i < G_N_ELEMENTS(link_tlds); i++)
		if (strlen(link_tlds[i]) == n && g_ascii_strncasecmp(s, link_tlds[i], n) == 0)
			return TRUE;
	return FALSE;
}

/* A byte of a host name as mail clients read one. */
static gboolean is_host_byte(char c)
{
	return g_ascii_isalnum(c) || c == '.' || c == '-' || c == '_' || (c & 0x80) != 0;
}

/* Whether the host-like run [a, b) is one a mail client would make a link of: it starts with
 * "www." or its last label is a known top-level domain. */
static gboolean is_linkish_host(const char *a, const char *b)
{
	const char *last_dot = NULL;

	while (b > a && b[-1] == '.')
		b--;
	if (b - a > 4 && g_ascii_strncasecmp(a, "www.", 4) == 0)
		return TRUE;
	for (const char *p = a; p < b; p++)
		if (*p == '.')
			last_dot = p;
	return last_dot != NULL && last_dot > a && last_dot[-1] != '.' &&
	       is_link_tld(last_dot + 1, (size_t)(b - last_dot - 1));
}

/* Appends the word [a, b) defanged: "://" as "[:]//", and the dots inside every host-like run
 * (all of them when the word has "://") as "[.]". */
static void defang_word(GString *out, const char *a, const char *b)
{
	gboolean scheme = g_strstr_len(a, b - a, "://") != NULL;
	const char *p = a;

	while (p < b) {
		if (!is_host_byte(*p)) {
			if (p + 3 <= b && memcmp(p, "://", 3) == 0) {
				g_string_append(out, "[:]//");
				p += 3;
			} else {
				g_string_append_c(out, *p++);
			}
			continue;
		}
		const char *q = p;

		while (q < b && is_host_byte(*q))
			q++;
		if (scheme || is_linkish_host(p, q)) {
			for (const char *r = p; r < q; r++)
				if (*r == '.' && r + 1 < q && r[1] != '.')
					g_string_append(out, "[.]");
				else
					g_string_append_c(out, *r);
		} else {
			g_string_append_len(out, p, q - p);
		}
		p = q;
	}
}

/* s with the links of each word defanged. */
static GString *defang(const GString *s)
{
	GString *out = g_string_sized_new(s->len + 16);
	const char *p = s->str, *e = s->str + s->len;

	while (p < e) {
		const char *w = p;

		while (w < e && *w != ' ')
			w++;
		defang_word(out, p, w);
		if (w < e)
			g_string_append_c(out, ' ');
		p = w < e ? w + 1 : e;
	}
	return out;
}

char *echo_text(const char *text, size_t max_chars)
{
	GString *flat = flatten(text), *safe = defang(flat);

	g_string_free(flat, TRUE);
	if (max_chars > 0 && (size_t)g_utf8_strlen(safe->str, -1) > max_chars) {
		const char *cut = g_utf8_offset_to_pointer(safe->str, (glong)max_chars - 1);

		g_string_truncate(safe, (gsize)(cut - safe->str));
		/* no half of a defanged "[:]" or "[.]", no blank before the ellipsis */
		if (g_str_has_suffix(safe->str, "[:") || g_str_has_suffix(safe->str, "[."))
			g_string_truncate(safe, safe->len - 2);
		else if (g_str_has_suffix(safe->str, "["))
			g_string_truncate(safe, safe->len - 1);
		while (safe->len > 0 && safe->str[safe->len - 1] == ' ')
			g_string_truncate(safe, safe->len - 1);
		g_string_append(safe, "…");
	}
	return g_string_free(safe, FALSE);
}
