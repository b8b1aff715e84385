/* The template language of what spocd sends to people: UTF-8 text with {{name}} fields, where name
 * is [a-z_][a-z0-9_]*, and sections {{#name}}...{{/name}} (kept when name is not empty) and
 * {{^name}}...{{/name}} (kept when it is), which nest; a section tag alone on its line takes the
 * line with it. conf/templates/README.md documents it for whoever edits templates. Everything is
 * checked when the file is loaded (encoding, syntax, and that every field is one the caller can
 * fill), so a mistake made while editing a template stops the daemon at start-up with FILE:LINE
 * instead of putting a blank or "{{x}}" in a customer's mail. There is no escape for a literal
 * "{{": service desk texts do not need one, and an unmatched "{{" is far more often a typo than an
 * intent. */
#include "template.h"

#include <string.h>

/* Big enough for any notification text, small enough that a wrong path (a log file, a binary) is
 * refused instead of slurped. */
#define TEMPLATE_MAX_BYTES (256 * 1024)

enum seg_kind {
	SEG_TEXT,  /* literal text */
	SEG_FIELD, /* {{name}} */
	SEG_IF,	   /* {{#name}}: what follows up to its SEG_END, when name is not empty */
	SEG_IFNOT, /* {{^name}}: ... when name is empty */
	SEG_END,   /* {{/name}} */
};

struct template_seg {
	char *text; /* literal text, or the placeholder name */
	enum seg_kind kind;
	guint end; /* SEG_IF, SEG_IFNOT: index of the matching SEG_END */
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

static void add_seg(struct template *t, const char *text, size_t len, enum seg_kind kind)
{
	struct template_seg *seg;

	if (len == 0 && kind == SEG_TEXT)
		return;
	seg = g_new0(struct template_seg, 1);
	seg->text = g_strndup(text, len);
	seg->kind = kind;
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

/* A section tag alone on its line (only blanks around it) takes the whole line with it, so
 * "{{#x}}\n...\n{{/x}}\n" leaves no empty lines behind. *from and *to are widened to the line
 * when it is so; lit is where the pending literal text starts. */
static void standalone(const char *lit, const char *end, const char **from, const char **to)
{
	const char *a = *from, *b = *to;

	while (a > lit && (a[-1] == ' ' || a[-1] == '\t'))
		a--;
	if (a > lit && a[-1] != '\n')
		return;
	while (b < end && (*b == ' ' || *b == '\t'))
		b++;
	if (b < end && *b == '\r' && b + 1 < end && b[1] == '\n')
		b++;
	if (b < end && *b != '\n')
		return;
	*from = a;
	*to = b < end ? b + 1 : b;
}

/* Splits text into segments and pairs every section with its end; on error fills err and
 * returns FALSE. */
static gboolean parse(struct template *t, const char *text, size_t len, const char *const *allowed,
		      struct errbuf *err)
{
	const char *p = text, *end = text + len, *lit = text;
	GArray *open = g_array_new(FALSE, FALSE, sizeof(guint)); /* indexes of open sections */
	gboolean ok = FALSE;

	while (p < end) {
		const char *name, *q, *from, *to;
		enum seg_kind kind = SEG_FIELD;
		size_t nlen;

		if (!(p[0] == '{' && p + 1 < end && p[1] == '{')) {
			p++;
			continue;
		}
		name = p + 2;
		if (name < end && (*name == '#' || *name == '^' || *name == '/')) {
			kind = *name == '#' ? SEG_IF : *name == '^' ? SEG_IFNOT : SEG_END;
			name++;
		}
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
				   "%s:%u: malformed placeholder \"%.*s\" (expected {{name}}, "
				   "{{#name}}, {{^name}} or {{/name}}, name [a-z_][a-z0-9_]*)",
				   t->path, line_of(text, p), show, p);
			goto out;
		}
		if (!allowed_has(allowed, name, nlen)) {
			char *list = allowed_list(allowed);

			errbuf_set(err, SPOC_EPERM,
				   "%s:%u: unknown placeholder {{%.*s}} (allowed: %s)", t->path,
				   line_of(text, p), (int)nlen, name, list);
			g_free(list);
			goto out;
		}
		from = p;
		to = q + 2;
		if (kind != SEG_FIELD)
			standalone(lit, end, &from, &to);
		if (kind == SEG_END) {
			struct template_seg *o =
			    open->len > 0 ? g_ptr_array_index(
						t->segs, g_array_index(open, guint, open->len - 1))
					  : NULL;

			if (o == NULL || strlen(o->text) != nlen ||
			    memcmp(o->text, name, nlen) != 0) {
				errbuf_set(err, SPOC_EPERM, "%s:%u: {{/%.*s}} closes %s%s%s",
					   t->path, line_of(text, p), (int)nlen, name,
					   o == NULL ? "no section" : "{{#",
					   o == NULL ? "" : o->text,
					   o == NULL ? "" : "}} (sections must nest)");
				goto out;
			}
		}
		add_seg(t, lit, (size_t)(from - lit), SEG_TEXT);
		add_seg(t, name, nlen, kind);
		if (kind == SEG_IF || kind == SEG_IFNOT) {
			guint at = t->segs->len - 1;

			g_array_append_val(open, at);
		} else if (kind == SEG_END) {
			guint at = g_array_index(open, guint, open->len - 1);

			((struct template_seg *)g_ptr_array_index(t->segs, at))->end =
			    t->segs->len - 1;
			g_array_set_size(open, open->len - 1);
		}
		p = to;
		lit = p;
	}
	if (open->len > 0) {
		struct template_seg *o =
		    g_ptr_array_index(t->segs, g_array_index(open, guint, open->len - 1));

		errbuf_set(err, SPOC_EPERM, "%s: {{%c%s}} is never closed with {{/%s}}", t->path,
			   o->kind == SEG_IF ? '#' : '^', o->text, o->text);
		goto out;
	}
	add_seg(t, lit, (size_t)(end - lit), SEG_TEXT);
	ok = TRUE;
out:
	g_array_unref(open);
	return ok;
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
		const char *value = seg->kind == SEG_TEXT || vars == NULL
					? NULL
					: g_hash_table_lookup(vars, seg->text);
		gboolean empty = value == NULL || *value == '\0';

		switch (seg->kind) {
		case SEG_TEXT:
			g_string_append(out, seg->text);
			break;
		case SEG_FIELD:
			if (!empty)
				g_string_append(out, value);
			break;
		case SEG_IF:
		case SEG_IFNOT:
			if (empty == (seg->kind == SEG_IF))
				i = seg->end; /* skip the section */
			break;
		case SEG_END:
			break;
		}
	}
	return g_string_free(out, FALSE);
}
