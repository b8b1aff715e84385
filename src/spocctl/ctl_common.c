/* What every spocctl command uses: the configuration and the database connection, reading an
 * input file, the parsing of IDs and options, the printing through which nothing in strangers'
 * text reaches the operator's terminal as it is, and the record writer that gives each list both
 * its JSON and its table from one description of its columns. */
#include "ctl.h"
#include "inspect.h"
#include "text.h"

#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

/* ---- what reaches the terminal ---- */

/* The strings ctl_line() handed out since the last ctl_say() or ctl_err(). */
static GPtrArray *line_scratch;

const char *ctl_line(const char *s)
{
	char *one = text_for_terminal(s, -1, TEXT_TERMINAL_LINE);

	if (line_scratch == NULL)
		line_scratch = g_ptr_array_new_with_free_func(g_free);
	g_ptr_array_add(line_scratch, one);
	return one;
}

static void line_scratch_clear(void)
{
	if (line_scratch != NULL)
		g_ptr_array_set_size(line_scratch, 0);
}

void ctl_say(const char *fmt, ...)
{
	va_list ap;
	char *text, *shown;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	shown = text_for_terminal(text, -1, TEXT_TERMINAL_LINES);
	fputs(shown, stdout);
	g_free(shown);
	g_free(text);
	line_scratch_clear();
}

void ctl_err(const char *fmt, ...)
{
	va_list ap;
	char *text, *shown;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	shown = text_for_terminal(g_strstrip(text), -1, TEXT_TERMINAL_LINE);
	fflush(stdout); /* what was said before comes before */
	fprintf(stderr, "spocctl: %s\n", shown);
	g_free(shown);
	g_free(text);
	line_scratch_clear();
}

void ctl_json_out(const char *json)
{
	char *shown = text_json_for_terminal(json, -1);

	fputs(shown, stdout);
	g_free(shown);
}

int ctl_raw_allowed(const char *what, gboolean force)
{
	if (force || !isatty(STDOUT_FILENO))
		return 0;
	ctl_err("%s --raw: standard output is a terminal, and the message's bytes as stored may "
		"hold escape sequences that act on it; send them to a file or a pipe (> FILE, | "
		"less), or add --force to write them here all the same",
		what);
	return CTL_EXIT_USAGE;
}

int ctl_exit_for(int rc)
{
	return rc == SPOC_ETEMP ? CTL_EXIT_TEMPFAIL : CTL_EXIT_FAIL;
}

int ctl_fail(int rc, const struct errbuf *err)
{
	ctl_err("%s", err->msg);
	return ctl_exit_for(rc);
}

int ctl_load_conf(struct ctl *c, gboolean required)
{
	struct errbuf err = {{0}};
	const char *path = c->conf_path != NULL ? c->conf_path : SPOCD_CONF_DIR "/spocd.conf";

	if (c->conf_path == NULL && !required && !g_file_test(path, G_FILE_TEST_EXISTS))
		return 0;
	c->conf = conf_load(path, &err);
	if (c->conf == NULL && (required || c->conf_path != NULL)) {
		ctl_err("%s", err.msg);
		return CTL_EXIT_FAIL;
	}
	return 0;
}

int ctl_open_db(struct ctl *c)
{
	struct errbuf err = {{0}};
	int rc = ctl_load_conf(c, TRUE);

	if (rc != 0)
		return rc;
	if (store_open(c->conf->database_conninfo, !c->conf->database_pooled, &c->st, &err) != SPOC_OK) {
		ctl_err("%s", err.msg);
		return CTL_EXIT_TEMPFAIL;
	}
	return 0;
}

GBytes *ctl_read_input(const char *path)
{
	GError *error = NULL;
	char *data = NULL;
	gsize len = 0;

	if (strcmp(path, "-") == 0) {
		GByteArray *buf = g_byte_array_new();
		guint8 chunk[65536];
		size_t n;

		while ((n = fread(chunk, 1, sizeof(chunk), stdin)) > 0)
			g_byte_array_append(buf, chunk, (guint)n);
		if (ferror(stdin)) {
			ctl_err("standard input: %s", g_strerror(errno));
			g_byte_array_unref(buf);
			return NULL;
		}
		return g_byte_array_free_to_bytes(buf);
	}
	if (!g_file_get_contents(path, &data, &len, &error)) {
		ctl_err("%s", error->message);
		g_error_free(error);
		return NULL;
	}
	return g_bytes_new_take(data, len);
}

int64_t ctl_parse_id(const char *s)
{
	char *end = NULL;
	gint64 v = g_ascii_strtoll(s, &end, 10);

	return end != NULL && end != s && *end == '\0' && v > 0 ? v : -1;
}

int ctl_parse_limit(const char *s)
{
	int64_t v = ctl_parse_id(s);

	return v > 0 && v <= 10000 ? (int)v : -1;
}

gboolean ctl_option_value(int argc, char **argv, int *i, const char *what, const char **value_r)
{
	if (*i + 1 >= argc) {
		ctl_err("%s: %s needs a value", what, argv[*i]);
		return FALSE;
	}
	*value_r = argv[++*i];
	return TRUE;
}

/* ---- the record writer ---- */

/* One cell, rendered for both outputs when it is added: the JSON value (NULL when its column
 * has no key) and the table text (NULL when its column has no head). */
struct ctl_cell {
	char *json;
	char *text;
};

struct ctl_table {
	const struct ctl_column *cols;
	guint ncols;
	guint next;	    /* the column the next cell fills in the last row */
	GPtrArray *rows;    /* of struct ctl_cell[ncols] */
	GPtrArray *scratch; /* the strings ctl_table_cut() handed out */
};

struct ctl_table *ctl_table_new(const struct ctl_column *cols, guint ncols)
{
	struct ctl_table *t = g_new0(struct ctl_table, 1);

	t->cols = cols;
	t->ncols = ncols;
	t->next = ncols;
	t->rows = g_ptr_array_new();
	t->scratch = g_ptr_array_new_with_free_func(g_free);
	return t;
}

void ctl_table_free(struct ctl_table **t)
{
	if (*t == NULL)
		return;
	for (guint i = 0; i < (*t)->rows->len; i++) {
		struct ctl_cell *row = g_ptr_array_index((*t)->rows, i);

		for (guint j = 0; j < (*t)->ncols; j++) {
			g_free(row[j].json);
			g_free(row[j].text);
		}
		g_free(row);
	}
	g_ptr_array_unref((*t)->rows);
	g_ptr_array_unref((*t)->scratch);
	g_free(*t);
	*t = NULL;
}

void ctl_table_row(struct ctl_table *t)
{
	g_assert(t->next == t->ncols);
	g_ptr_array_add(t->rows, g_new0(struct ctl_cell, t->ncols));
	t->next = 0;
}

const char *ctl_table_cut(struct ctl_table *t, const char *s, glong width)
{
	char *one = text_for_terminal_cut(s, -1, width);

	g_ptr_array_add(t->scratch, one);
	return one;
}

/* Fills the next cell of the last row: json (taken, NULL: null) and text (NULL: ""), the latter
 * as one line of visible text, cut when the column says so; each only where the column shows. */
static void put(struct ctl_table *t, char *json, const char *text)
{
	const struct ctl_column *col;
	struct ctl_cell *cell;

	g_assert(t->rows->len > 0 && t->next < t->ncols);
	col = &t->cols[t->next];
	cell = &((struct ctl_cell *)g_ptr_array_index(t->rows, t->rows->len - 1))[t->next++];
	if (col->key != NULL)
		cell->json = json != NULL ? json : g_strdup("null");
	else
		g_free(json);
	if (col->head != NULL)
		cell->text = col->cut ? text_for_terminal_cut(text, -1, col->width)
				      : text_for_terminal(text, -1, TEXT_TERMINAL_LINE);
}

void ctl_table_str(struct ctl_table *t, const char *s)
{
	GString *json = g_string_new(NULL);

	json_string(json, s);
	put(t, g_string_free(json, FALSE), s);
}

void ctl_table_int(struct ctl_table *t, int64_t v)
{
	char *text = g_strdup_printf("%" G_GINT64_FORMAT, (gint64)v);

	put(t, g_strdup(text), text);
	g_free(text);
}

void ctl_table_bool(struct ctl_table *t, gboolean v)
{
	put(t, g_strdup(v ? "true" : "false"), v ? "yes" : "no");
}

void ctl_table_null(struct ctl_table *t)
{
	put(t, NULL, NULL);
}

void ctl_table_raw(struct ctl_table *t, const char *json)
{
	put(t, g_strdup(json), json);
}

void ctl_table_printf(struct ctl_table *t, const char *fmt, ...)
{
	va_list ap;
	char *text;

	va_start(ap, fmt);
	text = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	ctl_table_str(t, text);
	g_free(text);
}

void ctl_table_json_row(const struct ctl_table *t, guint i, GString *out)
{
	const struct ctl_cell *row = g_ptr_array_index(t->rows, i);
	gboolean first = TRUE;

	g_assert(i + 1 < t->rows->len || t->next == t->ncols);
	g_string_append_c(out, '{');
	for (guint j = 0; j < t->ncols; j++) {
		if (t->cols[j].key == NULL)
			continue;
		if (!first)
			g_string_append_c(out, ',');
		first = FALSE;
		json_string(out, t->cols[j].key);
		g_string_append_c(out, ':');
		g_string_append(out, row[j].json);
	}
	g_string_append_c(out, '}');
}

/* One line of the table: the heading when row is NULL, else the row's cells; each column with a
 * head padded to its width, counted in terminal columns so that accented names and wide
 * characters keep the columns straight. */
static void print_line(const struct ctl_table *t, const struct ctl_cell *row, GString *out)
{
	gboolean first = TRUE;

	for (guint j = 0; j < t->ncols; j++) {
		const struct ctl_column *col = &t->cols[j];
		const char *s = row != NULL ? row[j].text : col->head;
		glong pad;

		if (col->head == NULL)
			continue;
		if (!first)
			g_string_append(out, col->sep != NULL ? col->sep : " ");
		first = FALSE;
		pad = MAX(col->width - text_columns(s), 0);
		if (col->right)
			g_string_append_printf(out, "%*s%s", (int)pad, "", s);
		else
			g_string_append_printf(out, "%s%*s", s, (int)pad, "");
	}
	g_string_append_c(out, '\n');
}

void ctl_table_print(const struct ctl *c, const struct ctl_table *t, const char *empty)
{
	GString *out = g_string_new(NULL);

	if (c->json) {
		g_string_append_c(out, '[');
		for (guint i = 0; i < t->rows->len; i++) {
			if (i > 0)
				g_string_append_c(out, ',');
			ctl_table_json_row(t, i, out);
		}
		g_string_append(out, "]\n");
		ctl_json_out(out->str);
	} else if (t->rows->len == 0 && empty != NULL) {
		ctl_say("%s\n", ctl_line(empty));
	} else {
		/* the cells are visible text already */
		print_line(t, NULL, out);
		for (guint i = 0; i < t->rows->len; i++)
			print_line(t, g_ptr_array_index(t->rows, i), out);
		fputs(out->str, stdout);
	}
	g_string_free(out, TRUE);
}

gboolean ctl_subcommand(const char *command, const char *sub, const char *const *allowed)
{
	char *list;

	if (sub != NULL && g_strv_contains(allowed, sub))
		return TRUE;
	list = g_strjoinv(", ", (char **)allowed);
	if (sub == NULL)
		ctl_err("%s: which command? (%s)", command, list);
	else
		ctl_err("%s: unknown command \"%s\" (%s)", command, sub, list);
	g_free(list);
	return FALSE;
}
