/* Writes, reads and renders the record of what became of an agent's commands (command_results.h
 * gives the format). The record keeps codes so that the sentences can live in the templates of
 * each language; reading is strict, so that a body in any other shape (one queued before the
 * record existed) is recognised and shown as it is. Pure: only GLib and template.c. */
#include "command_results.h"
#include "ticket.h"

#include <string.h>

/* each code's token in the record, by enum command_result_code */
static const char *const result_tokens[] = {
    [COMMAND_RESULT_APPLIED] = "applied",
    [COMMAND_RESULT_REFUSED] = "refused",
    [COMMAND_RESULT_NO_AGENT] = "no-agent",
    [COMMAND_RESULT_UNKNOWN_VALUE] = "unknown-value",
    [COMMAND_RESULT_MISSING_VALUE] = "missing-value",
    [COMMAND_RESULT_TAKES_NO_VALUE] = "takes-no-value",
    [COMMAND_RESULT_LINE_TOO_LONG] = "too-long",
    [COMMAND_RESULT_REPLACED] = "replaced",
    [COMMAND_RESULT_ROLLED_BACK] = "rolled-back",
    [COMMAND_RESULT_WITHHELD] = "withheld",
    [COMMAND_RESULT_NOT_YOURS] = "not-yours",
    [COMMAND_RESULT_ALREADY_CLOSED] = "already-closed",
    [COMMAND_RESULT_AGENTS_ONLY] = "agents-only",
};

/* each code's flag in command-line.txt */
static const char *const result_flags[] = {
    [COMMAND_RESULT_APPLIED] = "applied",
    [COMMAND_RESULT_REFUSED] = "refused",
    [COMMAND_RESULT_NO_AGENT] = "no_agent",
    [COMMAND_RESULT_UNKNOWN_VALUE] = "unknown_value",
    [COMMAND_RESULT_MISSING_VALUE] = "missing_value",
    [COMMAND_RESULT_TAKES_NO_VALUE] = "takes_no_value",
    [COMMAND_RESULT_LINE_TOO_LONG] = "too_long",
    [COMMAND_RESULT_REPLACED] = "replaced",
    [COMMAND_RESULT_ROLLED_BACK] = "rolled_back",
    [COMMAND_RESULT_WITHHELD] = "withheld",
    [COMMAND_RESULT_NOT_YOURS] = "not_yours",
    [COMMAND_RESULT_ALREADY_CLOSED] = "already_closed",
    [COMMAND_RESULT_AGENTS_ONLY] = "agents_only",
};

/* each kind's flag in command-line.txt, by enum command_kind */
static const char *const kind_flags[] = {
    [COMMAND_STATUS] = "is_status",	[COMMAND_PRIORITY] = "is_priority",
    [COMMAND_ASSIGN] = "is_assign",	[COMMAND_KIND] = "is_kind",
    [COMMAND_INTERNAL] = "is_internal", [COMMAND_FORWARD] = "is_forward",
    [COMMAND_CLOSE] = "is_close",	[COMMAND_MY_TICKETS] = "is_my_tickets",
};

const char *const command_results_fields[] = {
    "applied",
    "refused",
    "no_agent",
    "unknown_value",
    "missing_value",
    "takes_no_value",
    "too_long",
    "replaced",
    "rolled_back",
    "withheld",
    "not_yours",
    "already_closed",
    "agents_only",
    "is_status",
    "is_priority",
    "is_assign",
    "is_kind",
    "is_internal",
    "is_forward",
    "is_close",
    "is_my_tickets",
    "line",
    "value",
    "reason",
    "max_bytes",
    /* a refused status move, from and to as flags so the template words both statuses */
    "status_move",
    "from_new",
    "from_in_progress",
    "from_pending",
    "from_resolved",
    "from_closed",
    "to_new",
    "to_in_progress",
    "to_pending",
    "to_resolved",
    "to_closed",
    NULL,
};

/* When reason is the status model's refusal (sql/003_judgement.sql: "ticket X: status cannot go
 * from A to B"), sets status_move and the from_ and to_ flags of its two statuses in vars, so
 * the template says it in its own words. */
static void status_move_flags(GHashTable *vars, const char *reason)
{
	static const char *const from_flags[TICKET_STATUSES] = {
	    "from_new", "from_in_progress", "from_pending", "from_resolved", "from_closed"};
	static const char *const to_flags[TICKET_STATUSES] = {
	    "to_new", "to_in_progress", "to_pending", "to_resolved", "to_closed"};
	static GRegex *re;
	static gsize once;
	GMatchInfo *mi = NULL;
	enum ticket_status from, to;

	if (g_once_init_enter(&once)) {
		re = g_regex_new("status cannot go from ([a-z-]+) to ([a-z-]+)$", G_REGEX_OPTIMIZE,
				 0, NULL);
		g_once_init_leave(&once, 1);
	}
	if (reason != NULL && g_regex_match(re, reason, 0, &mi)) {
		char *f = g_match_info_fetch(mi, 1), *t = g_match_info_fetch(mi, 2);

		if (ticket_status_parse(f, &from) && ticket_status_parse(t, &to)) {
			g_hash_table_insert(vars, "status_move", "yes");
			g_hash_table_insert(vars, (gpointer)from_flags[from], "yes");
			g_hash_table_insert(vars, (gpointer)to_flags[to], "yes");
		}
		g_free(f);
		g_free(t);
	}
	g_match_info_free(mi);
}

/* s escaped, and made valid UTF-8 (a reason cut to a buffer may end inside a character) */
static void append_escaped(GString *out, const char *text)
{
	char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);

	for (const char *s = valid; *s != '\0'; s++)
		switch (*s) {
		case '\\':
			g_string_append(out, "\\\\");
			break;
		case '\t':
			g_string_append(out, "\\t");
			break;
		case '\n':
			g_string_append(out, "\\n");
			break;
		case '\r':
			g_string_append(out, "\\r");
			break;
		default:
			g_string_append_c(out, *s);
		}
	g_free(valid);
}

/* s with the escapes undone, or NULL when an escape is not one of the four; caller g_free()s */
static char *unescape(const char *s)
{
	GString *out = g_string_new(NULL);

	for (; *s != '\0'; s++) {
		if (*s != '\\') {
			g_string_append_c(out, *s);
			continue;
		}
		switch (*++s) {
		case '\\':
			g_string_append_c(out, '\\');
			break;
		case 't':
			g_string_append_c(out, '\t');
			break;
		case 'n':
			g_string_append_c(out, '\n');
			break;
		case 'r':
			g_string_append_c(out, '\r');
			break;
		default:
			g_string_free(out, TRUE);
			return NULL;
		}
	}
	return g_string_free(out, FALSE);
}

void command_results_add(GString *out, enum command_result_code code, enum command_kind kind,
			 const char *line, const char *detail)
{
	g_string_append(out, result_tokens[code]);
	if (code != COMMAND_RESULT_ROLLED_BACK) {
		g_string_append_c(out, '\t');
		g_string_append(out, command_kind_name(kind));
		g_string_append_c(out, '\t');
		append_escaped(out, line);
		if (detail != NULL && detail[0] != '\0') {
			g_string_append_c(out, '\t');
			append_escaped(out, detail);
		}
	}
	g_string_append_c(out, '\n');
}

void command_results_add_error(GString *out, const struct command_error *e)
{
	static const enum command_result_code codes[] = {
	    [COMMAND_ERROR_UNKNOWN_VALUE] = COMMAND_RESULT_UNKNOWN_VALUE,
	    [COMMAND_ERROR_MISSING_VALUE] = COMMAND_RESULT_MISSING_VALUE,
	    [COMMAND_ERROR_TAKES_NO_VALUE] = COMMAND_RESULT_TAKES_NO_VALUE,
	    [COMMAND_ERROR_LINE_TOO_LONG] = COMMAND_RESULT_LINE_TOO_LONG,
	    [COMMAND_ERROR_REPLACED] = COMMAND_RESULT_REPLACED,
	};

	command_results_add(out, codes[e->code], e->kind, e->line, NULL);
}

static void result_free(gpointer p)
{
	struct command_result *r = p;

	g_free(r->line);
	g_free(r->detail);
	g_free(r);
}

/* One line of the record, or NULL when it is not one. */
static struct command_result *read_line(const char *text)
{
	char **f = g_strsplit(text, "\t", 5);
	guint n = g_strv_length(f);
	struct command_result *r = g_new0(struct command_result, 1);
	int code = -1;

	for (size_t i = 0; n > 0 && i < G_N_ELEMENTS(result_tokens); i++)
		if (strcmp(f[0], result_tokens[i]) == 0)
			code = (int)i;
	r->code = (enum command_result_code)code;
	r->kind = n > 1 ? command_kind_from_name(f[1]) : -1;
	r->line = unescape(n > 2 ? f[2] : "");
	r->detail = unescape(n > 3 ? f[3] : "");
	g_strfreev(f);
	if (code < 0 || n > 4 || r->line == NULL || r->detail == NULL ||
	    (code == COMMAND_RESULT_ROLLED_BACK) != (n == 1) ||
	    (code != COMMAND_RESULT_ROLLED_BACK && (r->kind < 0 || r->line[0] == '\0'))) {
		result_free(r);
		return NULL;
	}
	return r;
}

GPtrArray *command_results_read(const char *text)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(result_free);
	char **lines;

	if (text == NULL || text[0] == '\0')
		return out;
	if (!g_utf8_validate(text, -1, NULL) || text[strlen(text) - 1] != '\n') {
		g_ptr_array_unref(out);
		return NULL;
	}
	lines = g_strsplit(text, "\n", -1);
	/* the last element is what follows the final "\n": nothing */
	for (char **l = lines; l[1] != NULL; l++) {
		struct command_result *r = read_line(*l);

		if (r == NULL) {
			g_ptr_array_unref(out);
			out = NULL;
			break;
		}
		g_ptr_array_add(out, r);
	}
	g_strfreev(lines);
	return out;
}

char *command_results_render(const struct template *line_tpl, const char *text)
{
	GPtrArray *results = command_results_read(text);
	GString *out;
	char max_bytes[16];

	if (results == NULL)
		return NULL;
	out = g_string_new(NULL);
	g_snprintf(max_bytes, sizeof(max_bytes), "%d", COMMANDS_MAX_LINE);
	for (guint i = 0; i < results->len; i++) {
		const struct command_result *r = g_ptr_array_index(results, i);
		GHashTable *vars = g_hash_table_new(g_str_hash, g_str_equal);
		char *one;
		size_t len;

		g_hash_table_insert(vars, (gpointer)result_flags[r->code], "yes");
		if (r->kind >= 0)
			g_hash_table_insert(vars, (gpointer)kind_flags[r->kind], "yes");
		g_hash_table_insert(vars, "line", r->line);
		g_hash_table_insert(vars, "max_bytes", max_bytes);
		if (r->code == COMMAND_RESULT_NO_AGENT)
			g_hash_table_insert(vars, "value", r->detail);
		else if (r->code == COMMAND_RESULT_REFUSED) {
			g_hash_table_insert(vars, "reason", r->detail);
			status_move_flags(vars, r->detail);
		}
		one = template_render(line_tpl, vars);
		g_hash_table_unref(vars);
		len = strlen(one);
		while (len > 0 && (one[len - 1] == '\n' || one[len - 1] == '\r'))
			one[--len] = '\0';
		if (len > 0)
			g_string_append_printf(out, "%s%s", out->len > 0 ? "\n" : "", one);
		g_free(one);
	}
	g_ptr_array_unref(results);
	return g_string_free(out, FALSE);
}
