/* The knowledge base: self-service articles an operator adds with spocctl, and what an
 * acknowledgement suggests to the requester. Suggestions come from PostgreSQL's full-text search
 * with the configuration of each article's language (kb_articles.search, migration 006), and
 * after the articles from the requester's own resolved tickets: never from anybody else's, whose
 * subject would tell a stranger what another person asked. */
#include "store_admin.h"
#include "store_priv.h"

#include <string.h>

/* How much of a ticket's text is searched: its subject and opening mail say what it is about,
 * and a pasted log of megabytes must not make a query of thousands of words. */
#define KB_TEXT_CHARS "10000"
/* How many of the requester's closed tickets are searched, newest first. */
#define KB_OLD_TICKETS "200"

void kb_article_free(gpointer article)
{
	struct kb_article *a = article;

	if (a == NULL)
		return;
	g_free(a->title);
	g_free(a->url);
	g_free(a->language);
	g_free(a->created_at);
	g_free(a);
}

void kb_suggestion_free(gpointer suggestion)
{
	struct kb_suggestion *s = suggestion;

	if (s == NULL)
		return;
	g_free(s->title);
	g_free(s->url);
	g_free(s->ticket_display);
	g_free(s);
}

int store_kb_add(struct store *st, const char *title, const char *body, const char *url,
		 const char *language, int64_t *id_r, struct errbuf *err)
{
	const char *p[] = {title, body != NULL ? body : "", url != NULL ? url : "", language};
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(st, "kb_articles",
				      "INSERT INTO kb_articles (title, body, url, language)"
				      " VALUES ($1, $2, $3, $4) RETURNING id",
				      G_N_ELEMENTS(p), p, NULL, &rc, err);

	*id_r = 0;
	if (res == NULL)
		return rc;
	*id_r = store_sql_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}

int store_kb_list(struct store *st, GPtrArray **articles_r, struct errbuf *err)
{
	int rc = SPOC_OK;
	PGresult *res = store_sql_run(
	    st, "kb_articles",
	    "SELECT id, title, url, language,"
	    " to_char(created_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')"
	    " FROM kb_articles ORDER BY id",
	    0, NULL, NULL, &rc, err);

	*articles_r = NULL;
	if (res == NULL)
		return rc;
	*articles_r = g_ptr_array_new_with_free_func(kb_article_free);
	for (int i = 0; i < PQntuples(res); i++) {
		struct kb_article *a = g_new0(struct kb_article, 1);

		a->id = store_sql_i64(res, i, 0);
		a->title = g_strdup(PQgetvalue(res, i, 1));
		a->url = g_strdup(PQgetvalue(res, i, 2));
		a->language = g_strdup(PQgetvalue(res, i, 3));
		a->created_at = g_strdup(PQgetvalue(res, i, 4));
		g_ptr_array_add(*articles_r, a);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_kb_remove(struct store *st, int64_t id, gboolean *found_r, struct errbuf *err)
{
	char ids[24];
	int rc = SPOC_OK;
	PGresult *res;

	g_snprintf(ids, sizeof(ids), "%" G_GINT64_FORMAT, id);
	const char *p[] = {ids};
	res = store_sql_run(st, "kb_articles",
			    "DELETE FROM kb_articles WHERE id = $1::bigint RETURNING id", 1, p,
			    NULL, &rc, err);
	*found_r = FALSE;
	if (res == NULL)
		return rc;
	*found_r = PQntuples(res) > 0;
	PQclear(res);
	return SPOC_OK;
}

/* The text of ticket alias T that is searched: its subject and the new text (else the whole
 * text) of its first inbound mail, cut to KB_TEXT_CHARS characters. */
#define KB_TICKET_TEXT(T)                                                                          \
	"left(" T ".subject || E'\\n' || coalesce((SELECT coalesce(nullif(m.body_new, ''),"        \
	" m.body_text) FROM messages m WHERE m.ticket_id = " T ".id AND m.direction = 'in'"        \
	" AND NOT m.internal ORDER BY m.id LIMIT 1), ''), " KB_TEXT_CHARS ")"

/* An OR query of the lexemes of text under configuration CFG, each quoted (backslashes and
 * quotes doubled) so that the cast to tsquery takes it as it is, not stemmed again. NULL when
 * the text has no lexeme at all (empty, or only stop words): casting '' would fail. */
#define KB_OR_QUERY(CFG, TEXT)                                                                     \
	"(SELECT string_agg('''' || replace(replace(l, '\\', '\\\\'), '''', '''''') || '''',"      \
	" ' | ')::tsquery FROM unnest(tsvector_to_array(to_tsvector('" CFG "', " TEXT "))) l)"

#define KB_TEXT_OF_T	 KB_TICKET_TEXT("t")
#define KB_TEXT_OF_O	 KB_TICKET_TEXT("o")
#define KB_QUERY_SPANISH KB_OR_QUERY("spanish", "tk.text")
#define KB_QUERY_ENGLISH KB_OR_QUERY("english", "tk.text")

/* $1 the ticket, $2 the language whose articles come first (NULL: the ticket's), $3 how many.
 * Articles match the query of their own language's configuration; then the requester's own
 * tickets done with, each searched in its own language. */
static const char kb_suggest_sql[] =
    "WITH tk AS ("
    "  SELECT t.id, lower(t.requester) AS requester, coalesce($2, t.language) AS lang,"
    "   " KB_TEXT_OF_T " AS text FROM tickets t WHERE t.id = $1::bigint),"
    /* the text is only analysed when there is something to compare it with */
    " q AS (SELECT tk.id, tk.requester, tk.lang, " KB_QUERY_SPANISH " AS es,"
    "   " KB_QUERY_ENGLISH " AS en FROM tk"
    "   WHERE EXISTS (SELECT 1 FROM kb_articles)"
    "    OR EXISTS (SELECT 1 FROM tickets o WHERE lower(o.requester) = tk.requester"
    "     AND o.id <> tk.id AND o.status IN ('resolved', 'closed'))),"
    " old AS (SELECT o.id, o.display, o.subject,"
    "   CASE o.language WHEN 'es' THEN q.es ELSE q.en END AS oq,"
    "   to_tsvector(CASE o.language WHEN 'es' THEN 'spanish'::regconfig"
    "    ELSE 'english'::regconfig END, " KB_TEXT_OF_O ") AS v"
    "   FROM q JOIN tickets o ON lower(o.requester) = q.requester AND o.id <> q.id"
    "   WHERE o.status IN ('resolved', 'closed')"
    "   ORDER BY o.id DESC LIMIT " KB_OLD_TICKETS "),"
    " hits AS ("
    "  SELECT 0 AS grp, a.language = q.lang AS own,"
    "   ts_rank(a.search, CASE a.language WHEN 'es' THEN q.es ELSE q.en END) AS rank,"
    "   a.id, a.title, a.url, '' AS display"
    "   FROM q JOIN kb_articles a"
    "    ON (a.language = 'es' AND a.search @@ q.es) OR (a.language = 'en' AND a.search @@ q.en)"
    "  UNION ALL"
    "  SELECT 1, true, ts_rank(old.v, old.oq), old.id, old.subject, '', old.display"
    "   FROM old WHERE old.v @@ old.oq)"
    " SELECT title, url, display FROM hits"
    " ORDER BY grp, own DESC, rank DESC, id DESC LIMIT $3::int";

int store_kb_suggest(struct store *st, int64_t ticket_id, const char *language, int limit,
		     GPtrArray **suggestions_r, struct errbuf *err)
{
	char ids[24], lim[16];
	int rc = SPOC_OK;
	PGresult *res;

	*suggestions_r = g_ptr_array_new_with_free_func(kb_suggestion_free);
	if (limit <= 0)
		return SPOC_OK;
	g_snprintf(ids, sizeof(ids), "%" G_GINT64_FORMAT, ticket_id);
	g_snprintf(lim, sizeof(lim), "%d", limit);
	const char *p[] = {ids, language, lim};
	res =
	    store_sql_run(st, "kb suggestions", kb_suggest_sql, G_N_ELEMENTS(p), p, NULL, &rc, err);
	if (res == NULL) {
		g_clear_pointer(suggestions_r, g_ptr_array_unref);
		return rc;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		struct kb_suggestion *s = g_new0(struct kb_suggestion, 1);

		s->title = g_strdup(PQgetvalue(res, i, 0));
		s->url = g_strdup(PQgetvalue(res, i, 1));
		s->ticket_display = g_strdup(PQgetvalue(res, i, 2));
		g_ptr_array_add(*suggestions_r, s);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_ticket_by_ref(struct store *st, const char *ref, int64_t *id_r, struct errbuf *err)
{
	/* A bare number is parsed here, not cast in SQL: a cast the planner folds would fail on
	 * "INC-000001" whatever the WHERE says. */
	gboolean numeric =
	    ref[0] != '\0' && strspn(ref, "0123456789") == strlen(ref) && strlen(ref) <= 18;
	int rc = SPOC_OK;
	PGresult *res;

	*id_r = 0;
	const char *p[] = {numeric ? NULL : ref, numeric ? ref : NULL};
	res =
	    store_sql_run(st, "tickets",
			  "SELECT id FROM tickets WHERE display = upper($1) OR number = $2::bigint",
			  2, p, NULL, &rc, err);
	if (res == NULL)
		return rc;
	if (PQntuples(res) > 0)
		*id_r = store_sql_i64(res, 0, 0);
	PQclear(res);
	return SPOC_OK;
}
