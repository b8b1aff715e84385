/* Writes and renders the list of a requester's open tickets (ticket_list.h). Reading is strict, so
 * that a body in any other shape is never shown as a list. Pure: only GLib, echo.c, sla.c and
 * template.c. */
#include "ticket_list.h"

#include "echo.h"
#include "sla.h"
#include "ticket.h"

#include <string.h>

const char *const ticket_list_fields[] = {
    "ticket",	  "subject",	       "due",		"is_new",  "is_in_progress",
    "is_pending", "is_first_response", "is_resolution", "has_due", NULL,
};

/* s with tabs and line ends as spaces, so that it stays one field of one line */
static void append_field(GString *out, const char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		g_string_append_c(out, *s == '\t' || *s == '\n' || *s == '\r' ? ' ' : *s);
}

void ticket_list_add(GString *out, const char *display, const char *status, const char *target,
		     int64_t due, const char *subject)
{
	append_field(out, display);
	g_string_append_c(out, '\t');
	append_field(out, status);
	g_string_append_c(out, '\t');
	append_field(out, target);
	g_string_append_printf(out, "\t%" G_GINT64_FORMAT "\t", target != NULL ? due : 0);
	append_field(out, subject);
	g_string_append_c(out, '\n');
}

/* Renders one line of the record into out; FALSE when it is not one. */
static gboolean render_line(const struct template *tpl, const char *line, GTimeZone *tz,
			    const char *lang, GString *out)
{
	char **f = g_strsplit(line, "\t", 6);
	enum ticket_status status;
	gboolean ok = g_strv_length(f) == 5 && f[0][0] != '\0' &&
		      ticket_status_parse(f[1], &status) && ticket_status_is_open(status) &&
		      (f[2][0] == '\0' || strcmp(f[2], "first-response") == 0 ||
		       strcmp(f[2], "resolution") == 0);

	if (ok) {
		char *end = NULL;
		gint64 due = g_ascii_strtoll(f[3], &end, 10);
		gboolean has_due = f[2][0] != '\0' && due > 0;
		char *when = sla_format_time(has_due ? due : 0, tz, lang);
		char *subject = echo_text(f[4], ECHO_SUBJECT_MAX);
		GHashTable *vars = g_hash_table_new(g_str_hash, g_str_equal);
		char *one;
		size_t len;

		ok = end != NULL && *end == '\0' && end != f[3];
		g_hash_table_insert(vars, "ticket", f[0]);
		g_hash_table_insert(vars, "subject", subject);
		g_hash_table_insert(vars, "due", when);
		g_hash_table_insert(vars, "is_new", (gpointer)(status == TICKET_NEW ? "yes" : ""));
		g_hash_table_insert(vars, "is_in_progress",
				    (gpointer)(status == TICKET_IN_PROGRESS ? "yes" : ""));
		g_hash_table_insert(vars, "is_pending",
				    (gpointer)(status == TICKET_PENDING ? "yes" : ""));
		g_hash_table_insert(
		    vars, "is_first_response",
		    (gpointer)(has_due && strcmp(f[2], "first-response") == 0 ? "yes" : ""));
		g_hash_table_insert(
		    vars, "is_resolution",
		    (gpointer)(has_due && strcmp(f[2], "resolution") == 0 ? "yes" : ""));
		g_hash_table_insert(vars, "has_due", (gpointer)(has_due ? "yes" : ""));
		one = template_render(tpl, vars);
		len = strlen(one);
		while (len > 0 && (one[len - 1] == '\n' || one[len - 1] == '\r'))
			one[--len] = '\0';
		if (ok && len > 0)
			g_string_append_printf(out, "%s%s", out->len > 0 ? "\n" : "", one);
		g_free(one);
		g_hash_table_unref(vars);
		g_free(subject);
		g_free(when);
	}
	g_strfreev(f);
	return ok;
}

char *ticket_list_render(const struct template *line_tpl, const char *record, GTimeZone *tz,
			 const char *lang)
{
	GString *out;
	char **lines;
	gboolean ok = TRUE;

	if (record == NULL || !g_utf8_validate(record, -1, NULL) ||
	    (record[0] != '\0' && record[strlen(record) - 1] != '\n'))
		return NULL;
	out = g_string_new(NULL);
	lines = g_strsplit(record, "\n", -1);
	/* the last element is what follows the final "\n": nothing */
	for (char **l = lines; ok && l[0] != NULL && l[1] != NULL; l++)
		ok = render_line(line_tpl, *l, tz, lang, out);
	g_strfreev(lines);
	if (!ok) {
		g_string_free(out, TRUE);
		return NULL;
	}
	return g_string_free(out, FALSE);
}
