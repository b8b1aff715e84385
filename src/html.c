/* HTML -> readable text for agents, for the HTML-only messages that many clients send. A small
 * linear scanner: tags dropped, block elements as line breaks, scripts, styles, head and comments
 * skipped, the common entities and numeric references decoded. Nothing is ever fetched. Pure: no
 * I/O, no GMime. */
#include "html.h"

#include <string.h>

/* Appends the character an entity at p ("&amp;", "&#233;") stands for; returns the entity's
 * length, 0 when p does not start one we know. */
static size_t html_entity(const char *p, GString *out)
{
	static const char *const named[][2] = {{"amp", "&"},  {"lt", "<"},    {"gt", ">"},
					       {"nbsp", " "}, {"quot", "\""}, {"apos", "'"}};
	const char *semi = p + 1;

	/* look no further than the longest entity we decode: a page of bare '&' stays linear */
	while (*semi != '\0' && *semi != ';' && semi - p < 10)
		semi++;
	if (*semi != ';')
		return 0;
	if (p[1] == '#') {
		gboolean hex = p[2] == 'x' || p[2] == 'X';
		char *end;
		guint64 cp = g_ascii_strtoull(p + 2 + hex, &end, hex ? 16 : 10);

		if (end != semi || end == p + 2 + hex)
			return 0;
		if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp < 0xe000))
			cp = 0xfffd;
		g_string_append_unichar(out, (gunichar)cp);
		return (size_t)(semi - p) + 1;
	}
	for (size_t i = 0; i < G_N_ELEMENTS(named); i++) {
		size_t l = strlen(named[i][0]);

		if ((size_t)(semi - p - 1) == l &&
		    g_ascii_strncasecmp(p + 1, named[i][0], l) == 0) {
			g_string_append(out, named[i][1]);
			return l + 2;
		}
	}
	return 0;
}

/* Consumes the tag at p: block tags append a line break, <script>, <style>, <head> and <title>
 * are skipped up to their closer. unclosed[] remembers closers known to be missing so that a page
 * full of unclosed tags stays linear. Returns where the text goes on. */
static const char *html_tag(const char *p, GString *out, gboolean unclosed[4])
{
	static const char *const skipped[] = {"script", "style", "head", "title"};
	static const char block[] =
	    " br p div tr li h1 h2 h3 h4 h5 h6 table blockquote hr ul ol pre ";
	gboolean closing = p[1] == '/';
	const char *e = p + 1 + closing;
	char name[24] = " ";
	size_t nl = 1;

	for (; g_ascii_isalnum(*e); e++)
		if (nl < sizeof(name) - 2)
			name[nl++] = g_ascii_tolower(*e);
	name[nl] = ' ';
	name[nl + 1] = '\0';
	for (; *e != '\0' && *e != '>'; e++) {
		if ((*e == '"' || *e == '\'') && e[-1] == '=') {
			const char *q = strchr(e + 1, *e);

			if (q == NULL)
				break;
			e = q;
		}
	}
	p = *e == '>' ? e + 1 : e;
	if (nl > 1 && strstr(block, name) != NULL)
		g_string_append_c(out, '\n');
	for (size_t k = 0; k < G_N_ELEMENTS(skipped) && !closing; k++) {
		char close[24];
		const char *c = p;

		if (unclosed[k] || strlen(skipped[k]) != nl - 1 ||
		    strncmp(name + 1, skipped[k], nl - 1) != 0)
			continue;
		g_snprintf(close, sizeof(close), "</%s", skipped[k]);
		while ((c = strchr(c, '<')) != NULL && g_ascii_strncasecmp(c, close, nl + 1) != 0)
			c++;
		if (c != NULL)
			p = c;
		else /* keep the text rather than lose it all */
			unclosed[k] = TRUE;
	}
	return p;
}

/* Collapses runs of blanks, drops blanks around line breaks, keeps at most one empty line in a
 * row, trims. Frees in; caller frees the result. */
static char *text_tidy(GString *in)
{
	GString *t = g_string_sized_new(in->len + 1);
	int nl = 0;

	for (gsize i = 0; i < in->len; i++) {
		char c = in->str[i];

		if (c == '\n') {
			while (t->len > 0 && t->str[t->len - 1] == ' ')
				g_string_truncate(t, t->len - 1);
			if (++nl <= 2 && t->len > 0)
				g_string_append_c(t, '\n');
		} else if (c != ' ' || (t->len > 0 && t->str[t->len - 1] != ' ' &&
					t->str[t->len - 1] != '\n')) {
			if (c != ' ')
				nl = 0;
			g_string_append_c(t, c);
		}
	}
	g_string_free(in, TRUE);
	while (t->len > 0 && (t->str[t->len - 1] == '\n' || t->str[t->len - 1] == ' '))
		g_string_truncate(t, t->len - 1);
	return g_string_free(t, FALSE);
}

char *html_to_text(const char *html)
{
	gboolean unclosed[4] = {FALSE, FALSE, FALSE, FALSE};
	GString *out = g_string_sized_new(strlen(html) / 2 + 16);
	const char *p = html;
	size_t n;

	while (*p != '\0') {
		if (strncmp(p, "<!--", 4) == 0) {
			const char *e = strstr(p + 4, "-->");

			p = e != NULL ? e + 3 : p + strlen(p);
		} else if (*p == '<' && (g_ascii_isalpha(p[1]) || p[1] == '/' || p[1] == '!')) {
			p = html_tag(p, out, unclosed);
		} else if (*p == '&' && (n = html_entity(p, out)) > 0) {
			p += n;
		} else {
			g_string_append_c(out, g_ascii_isspace(*p) ? ' ' : *p);
			p++;
		}
	}
	return text_tidy(out);
}
