/* `spocctl kb add|list|remove|suggest`: the knowledge-base articles that acknowledgements
 * suggest, and what the acknowledgement of a given ticket suggests. */
#include "ctl.h"
#include "store_admin.h"

#include <string.h>

/* One line of printable UTF-8 (a title, a URL): no control characters. */
static gboolean one_line(const char *s)
{
	if (!g_utf8_validate(s, -1, NULL))
		return FALSE;
	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p))
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return FALSE;
	return TRUE;
}

/* Nothing but blanks (or nothing). */
static gboolean blank(const char *s)
{
	return s[strspn(s, " \t")] == '\0';
}

/* http:// or https:// and something after it, one line with nothing that would end it in a
 * mail's text (a blank, an angle bracket, a quote) */
static gboolean kb_url_ok(const char *url)
{
	const char *rest = g_str_has_prefix(url, "https://")  ? url + strlen("https://")
			   : g_str_has_prefix(url, "http://") ? url + strlen("http://")
							      : NULL;

	return rest != NULL && *rest != '\0' && *rest != '/' && strpbrk(url, " <>\"") == NULL &&
	       one_line(url);
}

/* INC-000123, REQ-000123 (any case) or a bare ticket number */
static gboolean ticket_ref_ok(const char *s)
{
	const char *digits = s;

	if (g_ascii_strncasecmp(s, "INC-", 4) == 0 || g_ascii_strncasecmp(s, "REQ-", 4) == 0)
		digits = s + 4;
	return digits[0] != '\0' && strspn(digits, "0123456789") == strlen(digits) &&
	       strlen(digits) <= 18;
}

static int kb_add(struct ctl *c, const char *title, const char *language, const char *url,
		  const char *body_file)
{
	struct errbuf err = {{0}};
	GBytes *body = NULL;
	char *text = NULL;
	int64_t id = 0;
	int rc;

	if (body_file != NULL) {
		gsize len;
		const char *data;

		if ((body = ctl_read_input(body_file)) == NULL)
			return CTL_EXIT_FAIL;
		data = g_bytes_get_data(body, &len);
		/* a NUL or invalid UTF-8 fails here: the text column takes neither */
		if (len > 0 && !g_utf8_validate_len(data, len, NULL)) {
			ctl_err("kb add: --body-file: %s is not UTF-8 text",
				strcmp(body_file, "-") == 0 ? "standard input" : body_file);
			g_bytes_unref(body);
			return CTL_EXIT_USAGE;
		}
		text = g_strndup(data != NULL ? data : "", len);
		g_bytes_unref(body);
	}
	if ((rc = ctl_open_db(c)) != 0) {
		g_free(text);
		return rc;
	}
	rc = store_kb_add(c->st, title, text, url, language, &id, &err);
	g_free(text);
	if (rc != SPOC_OK) {
		ctl_err("kb add: %s", err.msg);
		return ctl_exit_for(rc);
	}
	if (c->json)
		printf("{\"id\":%" G_GINT64_FORMAT ",\"created\":true}\n", id);
	else
		ctl_say("kb article %" G_GINT64_FORMAT ": added\n", id);
	return 0;
}

/* An article: the JSON keeps the stored order, the table puts language and date first. */
static const struct ctl_column kb_columns[] = {
    {.key = "id", .head = "ID", .width = 6},
    {.head = "LANG", .width = 4},
    {.head = "ADDED (UTC)", .width = 20},
    {.key = "title", .head = "TITLE", .width = 48, .cut = TRUE},
    {.key = "url", .head = "URL"},
    {.key = "language"},
    {.key = "created_at"},
};

static int kb_list(struct ctl *c)
{
	struct errbuf err = {{0}};
	struct ctl_table *t;
	GPtrArray *list = NULL;
	int rc = store_kb_list(c->st, &list, &err);

	if (rc != SPOC_OK)
		return ctl_fail(rc, &err);
	t = ctl_table_new(kb_columns, G_N_ELEMENTS(kb_columns));
	for (guint i = 0; i < list->len; i++) {
		const struct kb_article *a = g_ptr_array_index(list, i);

		ctl_table_row(t);
		ctl_table_int(t, a->id);
		ctl_table_str(t, a->language);
		ctl_table_str(t, a->created_at);
		ctl_table_str(t, a->title);
		ctl_table_str(t, a->url);
		ctl_table_str(t, a->language);
		ctl_table_str(t, a->created_at);
	}
	ctl_table_print(c, t,
			"No articles yet: add one with spocctl kb add --title TITLE --language "
			"es|en.");
	ctl_table_free(&t);
	g_ptr_array_unref(list);
	return 0;
}

static int kb_remove(struct ctl *c, int64_t id)
{
	struct errbuf err = {{0}};
	gboolean found = FALSE;
	int rc = store_kb_remove(c->st, id, &found, &err);

	if (rc != SPOC_OK) {
		ctl_err("kb remove %" G_GINT64_FORMAT ": %s", id, err.msg);
		return ctl_exit_for(rc);
	}
	if (!found) {
		ctl_err("kb remove: there is no article %" G_GINT64_FORMAT, id);
		return CTL_EXIT_FAIL;
	}
	if (c->json)
		printf("{\"id\":%" G_GINT64_FORMAT ",\"removed\":true}\n", id);
	else
		ctl_say("kb article %" G_GINT64_FORMAT ": removed\n", id);
	return 0;
}

/* A suggestion: an article or an earlier ticket. The table names where it comes from and
 * shows the title with its link. */
static const struct ctl_column kb_suggest_columns[] = {
    {.key = "kind"},		   /* "article" or "ticket" */
    {.head = "FROM", .width = 10}, /* the ticket, or "article" */
    {.key = "title"},
    {.key = "url"},
    {.key = "ticket"}, /* null for an article */
    {.head = "TITLE / SUBJECT"},
};

static int kb_suggest(struct ctl *c, const char *ref, int limit)
{
	struct errbuf err = {{0}};
	struct ctl_table *t;
	GPtrArray *list = NULL;
	int64_t ticket = 0;
	char *empty;
	int rc;

	if (limit < 0)
		limit = c->conf->kb_suggestions;
	if ((rc = store_ticket_by_ref(c->st, ref, &ticket, &err)) != SPOC_OK) {
		ctl_err("kb suggest %s: %s", ref, err.msg);
		return ctl_exit_for(rc);
	}
	if (ticket == 0) {
		ctl_err("kb suggest: there is no ticket %s", ref);
		return CTL_EXIT_FAIL;
	}
	if ((rc = store_kb_suggest(c->st, ticket, NULL, limit, &list, &err)) != SPOC_OK) {
		ctl_err("kb suggest %s: %s", ref, err.msg);
		return ctl_exit_for(rc);
	}
	t = ctl_table_new(kb_suggest_columns, G_N_ELEMENTS(kb_suggest_columns));
	for (guint i = 0; i < list->len; i++) {
		const struct kb_suggestion *s = g_ptr_array_index(list, i);
		gboolean article = s->ticket_display[0] == '\0';
		gboolean link = s->url[0] != '\0';

		ctl_table_row(t);
		ctl_table_str(t, article ? "article" : "ticket");
		ctl_table_str(t, article ? "article" : s->ticket_display);
		ctl_table_str(t, s->title);
		ctl_table_str(t, s->url);
		ctl_table_str(t, article ? NULL : s->ticket_display);
		ctl_table_printf(t, "%s%s%s%s", ctl_table_cut(t, s->title, 72), link ? " <" : "",
				 s->url, link ? ">" : "");
	}
	if (!c->json && limit == 0) {
		ctl_say("Acknowledgements suggest nothing (kb.suggestions = 0); --limit N shows "
			"what they would.\n");
	} else {
		empty = g_strdup_printf("Nothing to suggest for %s.", ref);
		ctl_table_print(c, t, empty);
		g_free(empty);
	}
	ctl_table_free(&t);
	g_ptr_array_unref(list);
	return 0;
}

int ctl_kb(struct ctl *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL, *title = NULL, *language = NULL, *url = NULL,
		   *body_file = NULL, *ref = NULL, *limit_arg = NULL;
	gboolean add;
	int64_t id = -1;
	int limit = -1, rc;

	if (!ctl_subcommand("kb", sub,
			    (const char *const[]){"add", "list", "remove", "suggest", NULL}))
		return CTL_EXIT_USAGE;
	add = strcmp(sub, "add") == 0;
	for (int i = 2; i < argc; i++) {
		const char **value = NULL;

		if (strcmp(argv[i], "--json") == 0) {
			c->json = TRUE;
			continue;
		}
		if (add && strcmp(argv[i], "--title") == 0)
			value = &title;
		else if (add && strcmp(argv[i], "--language") == 0)
			value = &language;
		else if (add && strcmp(argv[i], "--url") == 0)
			value = &url;
		else if (add && strcmp(argv[i], "--body-file") == 0)
			value = &body_file;
		else if (strcmp(sub, "suggest") == 0 && strcmp(argv[i], "--limit") == 0)
			value = &limit_arg;
		if (value != NULL) {
			char *what = g_strconcat("kb ", sub, NULL);
			gboolean ok = ctl_option_value(argc, argv, &i, what, value);

			g_free(what);
			if (!ok)
				return CTL_EXIT_USAGE;
		} else if (strcmp(sub, "remove") == 0 && id < 0 && argv[i][0] != '-') {
			if ((id = ctl_parse_id(argv[i])) <= 0) {
				ctl_err(
				    "kb remove: \"%s\" is not an article ID (a positive number)",
				    argv[i]);
				return CTL_EXIT_USAGE;
			}
		} else if (strcmp(sub, "suggest") == 0 && ref == NULL && argv[i][0] != '-') {
			ref = argv[i];
		} else {
			ctl_err("kb %s: unexpected \"%s\"", sub, argv[i]);
			return CTL_EXIT_USAGE;
		}
	}
	if (add) {
		if (title == NULL || blank(title) || !one_line(title)) {
			ctl_err("kb add: --title: %s",
				title == NULL ? "required (the article's title)"
					      : "must be one line of UTF-8 text, not blank");
			return CTL_EXIT_USAGE;
		}
		if (language == NULL ||
		    (strcmp(language, "es") != 0 && strcmp(language, "en") != 0)) {
			ctl_err("kb add: --language: %s%s%s",
				language == NULL ? "required (es or en)" : "\"",
				language != NULL ? language : "",
				language != NULL ? "\" is not es or en" : "");
			return CTL_EXIT_USAGE;
		}
		if (url != NULL && !kb_url_ok(url)) {
			ctl_err("kb add: --url: \"%s\" is not an http:// or https:// address", url);
			return CTL_EXIT_USAGE;
		}
		return kb_add(c, title, language, url, body_file);
	}
	if (strcmp(sub, "remove") == 0 && id <= 0) {
		ctl_err("kb remove: give the article's ID (a positive number)");
		return CTL_EXIT_USAGE;
	}
	if (strcmp(sub, "suggest") == 0) {
		if (ref == NULL || !ticket_ref_ok(ref)) {
			ctl_err("kb suggest: %s%s%s",
				ref == NULL
				    ? "give the ticket (INC-000123, REQ-000123 or its number)"
				    : "\"",
				ref != NULL ? ref : "",
				ref != NULL
				    ? "\" is not a ticket (INC-000123, REQ-000123 or its number)"
				    : "");
			return CTL_EXIT_USAGE;
		}
		if (limit_arg != NULL && (limit = ctl_parse_limit(limit_arg)) < 0) {
			ctl_err("kb suggest: --limit: \"%s\" is not a number from 1 to 10000",
				limit_arg);
			return CTL_EXIT_USAGE;
		}
	}
	if ((rc = ctl_open_db(c)) != 0)
		return rc;
	if (strcmp(sub, "list") == 0)
		return kb_list(c);
	if (strcmp(sub, "remove") == 0)
		return kb_remove(c, id);
	return kb_suggest(c, ref, limit);
}
