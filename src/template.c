/* The template language of what spocd sends to people: UTF-8 text with {{name}} fields, where name
 * is [a-z_][a-z0-9_]*. Everything is checked when the file is loaded (encoding, syntax, and that
 * every field is one the caller can fill), so a mistake made while editing a template stops the
 * daemon at start-up with FILE:LINE instead of putting a blank or "{{x}}" in a customer's mail.
 * There is no escape for a literal "{{": service desk texts do not need one, and an unmatched "{{"
 * is far more often a typo than an intent. */
#include "template.h"

#include <string.h>

/* Big enough for any notification text, small enough that a wrong path (a log file, a binary) is
 * refused instead of slurped. */
#define TEMPLATE_MAX_BYTES (256 * 1024)

struct template_seg {
	char *text; /* literal text, or the placeholder name when is_field */
	gboolean is_field;
};

struct template
{
	char *path;
	GPtrArray *segs; /* struct template_seg *, in order */
};

static void seg_free(gpointer p)
{
	struct template_seg *seg = p;

	g_free(seg->text);
	g_free(seg);
}

static void add_seg(struct template *t, const char *text, size_t len, gboolean is_field)
{
	struct template_seg *seg;

	if (len == 0)
		return;
	seg = g_new0(struct template_seg, 1);
	seg->text = g_strndup(text, len);
	seg->is_field = is_field;
	g_ptr_array_add(t->segs, seg);
}

static gboolean name_start_char(char c)
{
	return (c >= 'a' && c <= 'z') || c == '_';
}

static gboolean name_char(char c)
{
	return name_start_char(c) || (c >= '0' && c <= '9');
}

static gboolean allowed_has(const char *const *allowed, const char *name, size_t len)
{
	for (size_t i = 0; allowed != NULL && allowed[i] != NULL; i++)
		if (strlen(allowed[i]) == len && memcmp(allowed[i], name, len) == 0)
			return TRUE;
	return FALSE;
}

/* "a, b, c" for error messages; caller g_free()s. */
static char *allowed_list(const char *const *allowed)
{
	GString *s = g_string_new(NULL);

	for (size_t i = 0; allowed != NULL && allowed[i] != NULL; i++)
		g_string_append_printf(s, "%s%s", i > 0 ? ", " : "", allowed[i]);
	if (s->len == 0)
		g_string_append(s, "none");
	return g_string_free(s, FALSE);
}

static unsigned line_of(const char *start, const char *at)
{
	unsigned line = 1;

	for (const char *p = start; p < at; p++)
		if (*p == '\n')
			line++;
	return line;
}

/* Splits text into literal and field segments; on error fills err and returns FALSE. */
static gboolean parse(struct template *t, const char *text, size_t len, const char *const *allowed,
		      struct errbuf *err)
{
	const char *p = text, *end = text + len, *lit = text;

	while (p < end) {
		const char *name, *q;
		size_t nlen;

		if (!(p[0] == '{' && p + 1 < end && p[1] == '{')) {
			p++;
			continue;
		}
		name = p + 2;
		q = name;
		if (q < end && name_start_char(*q))
			for (q++; q < end && name_char(*q); q++)
				;
		nlen = (size_t)(q - name);
		if (nlen == 0 || q + 1 >= end || q[0] != '}' || q[1] != '}') {
			/* Show what follows "{{" up to the end of the line, bounded. */
			const char *eol = memchr(p, '\n', (size_t)(end - p));
			int show = (int)MIN((eol != NULL ? eol : end) - p, 40);

			errbuf_set(err, SPOC_EPERM,
				   "%s:%u: malformed placeholder \"%.*s\" (expected {{name}}, name "
				   "[a-z_][a-z0-9_]*)",
				   t->path, line_of(text, p), show, p);
			return FALSE;
		}
		if (!allowed_has(allowed, name, nlen)) {
			char *list = allowed_list(allowed);

			errbuf_set(err, SPOC_EPERM,
				   "%s:%u: unknown placeholder {{%.*s}} (allowed: %s)", t->path,
				   line_of(text, p), (int)nlen, name, list);
			g_free(list);
			return FALSE;
		}
		add_seg(t, lit, (size_t)(p - lit), FALSE);
		add_seg(t, name, nlen, TRUE);
		p = q + 2;
		lit = p;
	}
	add_seg(t, lit, (size_t)(end - lit), FALSE);
	return TRUE;
}

struct template *template_load(const char *path, const char *const *allowed, struct errbuf *err)
{
	struct template *t;
	GError *gerr = NULL;
	gchar *data = NULL;
	gsize len = 0;
	const char *text, *bad;

	if (!g_file_get_contents(path, &data, &len, &gerr)) {
		errbuf_set(err, SPOC_EPERM, "%s: %s", path, gerr->message);
		g_error_free(gerr);
		return NULL;
	}
	if (len > TEMPLATE_MAX_BYTES) {
		errbuf_set(err, SPOC_EPERM, "%s: too large (%zu bytes, at most %d)", path,
			   (size_t)len, TEMPLATE_MAX_BYTES);
		g_free(data);
		return NULL;
	}
	/* With an explicit length, g_utf8_validate() also refuses NUL bytes. */
	if (!g_utf8_validate(data, (gssize)len, &bad)) {
		errbuf_set(err, SPOC_EPERM, "%s: not valid UTF-8 (line %u, byte %zu)", path,
			   line_of(data, bad), (size_t)(bad - data) + 1);
		g_free(data);
		return NULL;
	}
	text = data;
	/* Editors on some systems put a byte order mark first; it must not reach a mail body. */
	if (len >= 3 && memcmp(text, "\xEF\xBB\xBF", 3) == 0) {
		text += 3;
		len -= 3;
	}
	if (len == 0) {
		errbuf_set(err, SPOC_EPERM, "%s: empty template", path);
		g_free(data);
		return NULL;
	}

	t = g_new0(struct template, 1);
	t->path = g_strdup(path);
	t->segs = g_ptr_array_new_with_free_func(seg_free);
	if (!parse(t, text, len, allowed, err)) {
		g_free(data);
		template_free(&t);
		return NULL;
	}
	g_free(data);
	return t;
}

void template_free(struct template **t)
{
	if (t == NULL || *t == NULL)
		return;
	g_ptr_array_unref((*t)->segs);
	g_free((*t)->path);
	g_free(*t);
	*t = NULL;
}

char *template_render(const struct template *t, GHashTable *vars)
{
	GString *out = g_string_new(NULL);

	for (guint i = 0; i < t->segs->len; i++) {
		const struct template_seg *seg = g_ptr_array_index(t->segs, i);
		const char *value;

		if (!seg->is_field) {
			g_string_append(out, seg->text);
			continue;
		}
		value = vars != NULL ? g_hash_table_lookup(vars, seg->text) : NULL;
		if (value != NULL)
			g_string_append(out, value);
	}
	return g_string_free(out, FALSE);
}
