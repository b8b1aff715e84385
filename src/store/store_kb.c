/* The knowledge base: self-service articles an operator adds with spocctl, and what an
 * acknowledgement suggests to the requester. Suggestions come from PostgreSQL's full-text search
 * with the configuration of each article's language (kb_articles.search, migration 006), and
 * after the articles from the requester's own resolved tickets: never from anybody else's, whose
 * subject would tell a stranger what another person asked. */
#include "store_admin.h"
#include "store_priv.h"

#include <string.h>

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
 * text) of its first inbound mail, cut to 10,000 characters (sql/024_ticket_search.sql: a pasted log of megabytes must not make a query of thousands of words).
 * Analysed when it is written (tickets.kb_en, kb_es); analysed here only for a ticket with no
 * inbound mail, whose columns are NULL. */
#define KB_TICKET_TEXT(T) "spocd_ticket_kb_text(" T ".id, " T ".subject)"
#define KB_EN_OF(T)	  "coalesce(" T ".kb_en, to_tsvector('english', " KB_TICKET_TEXT(T) "))"
#define KB_ES_OF(T)	  "coalesce(" T ".kb_es, to_tsvector('spanish', " KB_TICKET_TEXT(T) "))"

/* An OR query of the lexemes of the tsvector V, each quoted (backslashes and quotes doubled) so
 * that the cast to tsquery takes it as it is, not stemmed again. NULL when it has no lexeme at
 * all (an empty text, or only stop words): casting '' would fail. */
#define KB_OR_QUERY(V)                                                                             \
	"(SELECT string_agg('''' || replace(replace(l, '\\', '\\\\'), '''', '''''') || '''',"      \
	" ' | ')::tsquery FROM unnest(tsvector_to_array(" V ")) l)"

/* $1 the tickets, $2 for each the language whose articles come first (NULL: the ticket's), $3
 * how many for each. For each ticket (n: its place in $1), articles match the query of their
 * own language's configuration; then the requester's own tickets done with, each searched in
 * its own language. One statement for a notifier's whole batch. */
static const char kb_suggest_sql[] =
    "SELECT b.n, s.title, s.url, s.display"
    " FROM unnest($1::bigint[], $2::text[]) WITH ORDINALITY AS b(ticket_id, lang, n)"
    " CROSS JOIN LATERAL ("
    " WITH tk AS ("
    "  SELECT t.id, lower(t.requester) AS requester, coalesce(b.lang, t.language) AS lang,"
    "   t.kb_en, t.kb_es, t.subject FROM tickets t WHERE t.id = b.ticket_id),"
    /* the text is only analysed when there is something to compare it with */
    " q AS (SELECT tk.id, tk.requester, tk.lang, " KB_OR_QUERY(KB_ES_OF("tk")) " AS es,"
    "   " KB_OR_QUERY(KB_EN_OF("tk")) " AS en FROM tk"
    "   WHERE EXISTS (SELECT 1 FROM kb_articles)"
    "    OR EXISTS (SELECT 1 FROM tickets o WHERE lower(o.requester) = tk.requester"
    "     AND o.id <> tk.id AND o.status IN ('resolved', 'closed'))),"
    /* the requester's latest solved tickets are named first, newest first, by an index-only
     * scan of tickets_requester_done that stops at the last one wanted; joined on the
     * requester instead, the planner (counting on a requester's few tickets) read and sorted
     * every solved ticket of the busiest requesters */
    " old AS (SELECT o.id, o.display, o.subject,"
    "   CASE o.language WHEN 'es' THEN q.es ELSE q.en END AS oq,"
    "   CASE o.language WHEN 'es' THEN " KB_ES_OF("o") " ELSE " KB_EN_OF("o") " END AS v"
    "   FROM q JOIN tickets o ON o.id = ANY (ARRAY(SELECT l.id FROM tickets l"
    "    WHERE lower(l.requester) = q.requester AND l.id <> q.id"
    "     AND l.status IN ('resolved', 'closed')"
    "    ORDER BY l.id DESC LIMIT " KB_OLD_TICKETS "))),"
    /* the best articles, all of them when there are fewer than wanted; read twice below, kept */
    " arts AS MATERIALIZED ("
    "  SELECT 0 AS grp, a.language = q.lang AS own,"
    "   ts_rank(a.search, CASE a.language WHEN 'es' THEN q.es ELSE q.en END) AS rank,"
    "   a.id, a.title, a.url, '' AS display"
    "   FROM q JOIN kb_articles a"
    "    ON (a.language = 'es' AND a.search @@ q.es) OR (a.language = 'en' AND a.search @@ q.en)"
    "   ORDER BY own DESC, rank DESC, a.id DESC LIMIT $3::int),"
    /* articles come first: the requester's old tickets (rows a large desk has and an empty one
     * has not) are read and ranked only when the articles leave a place for them. The count
     * names no column of theirs, so the executor tests it once for the ticket, before it reads
     * the first. */
    " hits AS ("
    "  SELECT * FROM arts"
    "  UNION ALL"
    "  SELECT 1, true, ts_rank(old.v, old.oq), old.id, old.subject, '', old.display"
    "   FROM old WHERE old.v @@ old.oq AND (SELECT count(*) FROM arts) < $3::int)"
    " SELECT grp, own, rank, id, title, url, display FROM hits"
    " ORDER BY grp, own DESC, rank DESC, id DESC LIMIT $3::int) s"
    " ORDER BY b.n, s.grp, s.own DESC, s.rank DESC, s.id DESC";

void kb_suggestions_free(GPtrArray ***lists)
{
	if (lists == NULL || *lists == NULL)
		return;
	for (GPtrArray **l = *lists; *l != NULL; l++)
		g_ptr_array_unref(*l);
	g_free(*lists);
	*lists = NULL;
}

int store_kb_suggest_batch(struct store *st, const int64_t *ticket_ids,
			   const char *const *languages, guint n, int limit,
			   GPtrArray ***suggestions_r, struct errbuf *err)
{
	GPtrArray **found = g_new0(GPtrArray *, n + 1);
	GString *ids = g_string_new("{"), *langs = g_string_new("{");
	char lim[16];
	int rc = SPOC_OK;
	PGresult *res;

	*suggestions_r = found;
	for (guint i = 0; i < n; i++)
		found[i] = g_ptr_array_new_with_free_func(kb_suggestion_free);
	if (limit <= 0 || n == 0) {
		g_string_free(ids, TRUE);
		g_string_free(langs, TRUE);
		return SPOC_OK;
	}
	for (guint i = 0; i < n; i++) {
		g_string_append_printf(ids, "%s%" G_GINT64_FORMAT, i > 0 ? "," : "", ticket_ids[i]);
		if (i > 0)
			g_string_append_c(langs, ',');
		store_array_append_text(langs, languages[i]);
	}
	g_string_append_c(ids, '}');
	g_string_append_c(langs, '}');
	g_snprintf(lim, sizeof(lim), "%d", limit);
	const char *p[] = {ids->str, langs->str, lim};
	res =
	    store_sql_run(st, "kb suggestions", kb_suggest_sql, G_N_ELEMENTS(p), p, NULL, &rc, err);
	g_string_free(ids, TRUE);
	g_string_free(langs, TRUE);
	if (res == NULL) {
		kb_suggestions_free(suggestions_r);
		return rc;
	}
	for (int i = 0; i < PQntuples(res); i++) {
		int64_t at = store_sql_i64(res, i, 0) - 1;
		struct kb_suggestion *s;

		if (at < 0 || at >= (int64_t)n)
			continue;
		s = g_new0(struct kb_suggestion, 1);
		s->title = g_strdup(PQgetvalue(res, i, 1));
		s->url = g_strdup(PQgetvalue(res, i, 2));
		s->ticket_display = g_strdup(PQgetvalue(res, i, 3));
		g_ptr_array_add(found[at], s);
	}
	PQclear(res);
	return SPOC_OK;
}

int store_kb_suggest(struct store *st, int64_t ticket_id, const char *language, int limit,
		     GPtrArray **suggestions_r, struct errbuf *err)
{
	const char *langs[] = {language};
	GPtrArray **found;
	int rc = store_kb_suggest_batch(st, &ticket_id, langs, 1, limit, &found, err);

	*suggestions_r = NULL;
	if (rc != SPOC_OK)
		return rc;
	*suggestions_r = g_ptr_array_ref(found[0]);
	kb_suggestions_free(&found);
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
