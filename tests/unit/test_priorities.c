/* The desk's built-in judgement against a service-desk lead's: tests/data/priorities/mails.txt
 * holds realistic Spanish and English mails, each with the kind, impact, urgency and ITIL
 * priority a lead gives it and why. Every mail is judged by the built-in rules as the daemon
 * judges it (through mime_parse(), to a desk address), and every difference is listed before the
 * test fails, so one run shows the whole table. The same mail in capitals and without accents
 * must be judged the same, and so must the mail with its lines wrapped: people write "URGENTE"
 * and "caido", and mail clients break lines. And every explanation the ticket
 * would keep quotes words that are in the mail, never a rule's label. */
#include "rules.h"

#include "testlib.h"

#include <stdio.h>

static const char *const desk[] = {"help@example.org", NULL};

struct row {
	char *id;
	int line;
	char *subject;
	char *body;
	int kind; /* enum spoc_kind, -1 until read */
	int impact, urgency, priority;
	gboolean triage;
	char *why;
};

static void row_free(gpointer p)
{
	struct row *r = p;

	g_free(r->id);
	g_free(r->subject);
	g_free(r->body);
	g_free(r->why);
	g_free(r);
}

/* "high", "medium", "low" -> 1..3; 0 for anything else. */
static int level(const char *s)
{
	static const char *const names[] = {"high", "medium", "low"};

	for (int i = 0; i < 3; i++)
		if (strcmp(s, names[i]) == 0)
			return i + 1;
	return 0;
}

static const char *level_name(int l)
{
	return l == 1 ? "high" : l == 2 ? "medium" : l == 3 ? "low" : "?";
}

/* The standard ITIL matrix, which the table's priorities must agree with. */
static int itil(int impact, int urgency)
{
	return impact + urgency - 1;
}

static void row_field(struct row *r, const char *key, const char *value)
{
	if (strcmp(key, "subject") == 0) {
		r->subject = g_strdup(value);
	} else if (strcmp(key, "kind") == 0) {
		if (strcmp(value, "incident") == 0)
			r->kind = SPOC_KIND_INCIDENT;
		else if (strcmp(value, "request") == 0)
			r->kind = SPOC_KIND_REQUEST;
		else
			fail_msg("mails.txt:%d: kind must be incident or request", r->line);
	} else if (strcmp(key, "impact") == 0 || strcmp(key, "urgency") == 0) {
		int l = level(value);

		if (l == 0)
			fail_msg("mails.txt:%d: %s must be high, medium or low", r->line, key);
		*(key[0] == 'i' ? &r->impact : &r->urgency) = l;
	} else if (strcmp(key, "priority") == 0) {
		if (value[0] != 'P' || value[1] < '1' || value[1] > '5' || value[2] != '\0')
			fail_msg("mails.txt:%d: priority must be P1..P5", r->line);
		r->priority = value[1] - '0';
	} else if (strcmp(key, "triage") == 0) {
		if (strcmp(value, "yes") != 0)
			fail_msg("mails.txt:%d: triage can only be yes", r->line);
		r->triage = TRUE;
	} else if (strcmp(key, "why") == 0) {
		r->why = g_strdup(value);
	} else {
		fail_msg("mails.txt:%d: unknown field \"%s\"", r->line, key);
	}
}

/* Checks a finished row: every field there, and a priority the matrix agrees with. */
static void row_check(const struct row *r)
{
	if (r->subject == NULL || r->kind < 0 || r->impact == 0 || r->urgency == 0 ||
	    r->priority == 0 || r->why == NULL || r->why[0] == '\0' || r->body == NULL)
		fail_msg("mails.txt:%d: %s needs subject, kind, impact, urgency, priority, why and "
			 "a body",
			 r->line, r->id);
	if (r->priority != itil(r->impact, r->urgency))
		fail_msg("mails.txt:%d: %s: impact %s, urgency %s is P%d in the matrix, not P%d",
			 r->line, r->id, level_name(r->impact), level_name(r->urgency),
			 itil(r->impact, r->urgency), r->priority);
	if (r->triage && r->kind != SPOC_KIND_INCIDENT)
		fail_msg("mails.txt:%d: %s: a triage row takes the desk's default kind, incident",
			 r->line, r->id);
}

/* The table, in file order. Caller frees. */
static GPtrArray *read_table(void)
{
	GPtrArray *rows = g_ptr_array_new_with_free_func(row_free);
	char *text = testlib_read_data("priorities/mails.txt", NULL);
	char **lines = g_strsplit(text, "\n", -1);
	struct row *r = NULL;
	GString *body = NULL;

	for (int i = 0; lines[i] != NULL; i++) {
		const char *l = lines[i];

		if (g_str_has_prefix(l, "== ")) {
			if (r != NULL) {
				r->body = g_strchomp(g_string_free(body, FALSE));
				row_check(r);
			}
			r = g_new0(struct row, 1);
			r->id = g_strdup(l + 3);
			r->line = i + 1;
			r->kind = -1;
			body = NULL;
			g_ptr_array_add(rows, r);
		} else if (r == NULL) {
			if (l[0] != '#' && l[0] != '\0')
				fail_msg("mails.txt:%d: text before the first \"== id\" line",
					 i + 1);
		} else if (body == NULL && l[0] == '\0') {
			body = g_string_new(NULL);
		} else if (body == NULL) {
			const char *colon = strstr(l, ": ");
			char *key;

			if (colon == NULL)
				fail_msg("mails.txt:%d: expected \"field: value\"", i + 1);
			key = g_strndup(l, (gsize)(colon - l));
			row_field(r, key, colon + 2);
			g_free(key);
		} else {
			g_string_append_printf(body, "%s\n", l);
		}
	}
	if (r != NULL) {
		r->body = body != NULL ? g_strchomp(g_string_free(body, FALSE)) : NULL;
		row_check(r);
	}
	g_strfreev(lines);
	g_free(text);
	return rows;
}

static struct mail *mail_of(const char *subject, const char *body)
{
	char *headers = g_strdup_printf("From: Ana <ana@example.com>\nTo: help@example.org\n"
					"Subject: %s\n",
					subject);
	struct mail *m = testlib_mail(headers, body);

	g_free(headers);
	return m;
}

/* s without accents: "caído" -> "caido", "contraseña" -> "contrasena". Caller frees. */
static char *no_accents(const char *s)
{
	char *nfd = g_utf8_normalize(s, -1, G_NORMALIZE_NFD);
	GString *out = g_string_new(NULL);

	for (const char *p = nfd; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_type(c) != G_UNICODE_NON_SPACING_MARK)
			g_string_append_unichar(out, c);
	}
	g_free(nfd);
	return g_string_free(out, FALSE);
}

/* s with every run of white space one space. Caller frees. */
static char *squash(const char *s)
{
	GString *out = g_string_new(NULL);

	for (const char *p = s; *p != '\0'; p++)
		if (!g_ascii_isspace(*p))
			g_string_append_c(out, *p);
		else if (out->len > 0 && out->str[out->len - 1] != ' ')
			g_string_append_c(out, ' ');
	return g_string_free(out, FALSE);
}

/* Every "quoted" piece of why must be words of the mail (subject or body, white space
 * squashed; a cut quote up to its "…"): the explanation shows what matched, never a rule's
 * label. Appends what is not to problems. */
static void check_quotes(const char *id, const char *why, const char *subject, const char *body,
			 GString *problems)
{
	char *mail = g_strdup_printf("%s\n%s", subject, body);
	char *flat = squash(mail), *folded = g_utf8_casefold(flat, -1);
	const char *p = why;

	while ((p = strchr(p, '"')) != NULL) {
		const char *end = strchr(p + 1, '"');
		char *quote, *qf;
		size_t len;

		if (end == NULL) {
			g_string_append_printf(problems, "%s: unbalanced quote in [%s]\n", id, why);
			break;
		}
		len = (size_t)(end - p - 1);
		if (len >= strlen("…") && strncmp(end - strlen("…"), "…", strlen("…")) == 0)
			len -= strlen("…");
		quote = g_strndup(p + 1, len);
		qf = g_utf8_casefold(quote, -1);
		if (quote[0] == '\0' || strstr(folded, qf) == NULL)
			g_string_append_printf(
			    problems, "%s: [%s] quotes \"%s\", not in the mail\n", id, why, quote);
		g_free(qf);
		g_free(quote);
		p = end + 1;
	}
	g_free(folded);
	g_free(flat);
	g_free(mail);
}

/* What the explanation of a level must say: "impact: high (" and, when nothing matched,
 * "impact: medium (default)". */
static void check_level_why(const char *id, const char *why, const char *what, int level,
			    const char *rule, GString *problems)
{
	char *want = g_strdup_printf(strcmp(rule, "default") == 0 ? "%s: %s (default)" : "%s: %s (",
				     what, level_name(level));

	if (strstr(why, want) == NULL)
		g_string_append_printf(problems, "%s: [%s] does not say \"%s\"\n", id, why, want);
	g_free(want);
}

/* s with its lines broken at the last space before 30 columns, as some mail clients send
 * text: a phrase may span two lines. Caller frees. */
static char *wrapped(const char *s)
{
	char *out = g_strdup(s);
	glong column = 0;
	char *space = NULL;

	for (char *p = out; *p != '\0'; p = g_utf8_next_char(p)) {
		if (*p == '\n') {
			column = 0;
			space = NULL;
			continue;
		}
		if (*p == ' ')
			space = p;
		if (++column > 30 && space != NULL) {
			*space = '\n';
			column = g_utf8_strlen(space + 1, p - space);
			space = NULL;
		}
	}
	return out;
}

/* Judges one form of a row; appends what differs from the lead's judgement to problems. */
static void judge(const struct rules *rules, const struct row *r, const char *form,
		  const char *subject, const char *body, GString *problems)
{
	struct mail *m = mail_of(subject, body);
	struct rules_verdict v;

	rules_decide(rules, m, NULL, &v);
	if ((int)v.kind != r->kind || v.triage != r->triage || v.impact != r->impact ||
	    v.urgency != r->urgency || v.priority != r->priority)
		g_string_append_printf(
		    problems,
		    "%s%s \"%s\":\n"
		    "   lead: %s%s P%d (impact %s, urgency %s): %s\n"
		    "   desk: %s%s P%d (impact %s by [%s], urgency %s by [%s]), kind by [%s]\n",
		    r->id, form, r->subject, ticket_kind_name((enum spoc_kind)r->kind),
		    r->triage ? " (triage)" : "", r->priority, level_name(r->impact),
		    level_name(r->urgency), r->why, ticket_kind_name(v.kind),
		    v.triage ? " (triage)" : "", v.priority, level_name(v.impact), v.impact_rule,
		    level_name(v.urgency), v.urgency_rule, v.kind_rule);
	/* the explanation a person reads: the words of the mail, the levels named */
	check_quotes(r->id, v.kind_why, subject, body, problems);
	check_quotes(r->id, v.priority_why, subject, body, problems);
	check_level_why(r->id, v.priority_why, "impact", v.impact, v.impact_rule, problems);
	check_level_why(r->id, v.priority_why, "urgency", v.urgency, v.urgency_rule, problems);
	if (v.triage != (strcmp(v.kind_why, "default") == 0))
		g_string_append_printf(problems, "%s: kind explained as [%s]\n", r->id, v.kind_why);
	mail_free(&m);
}

static void test_table(void **state)
{
	GPtrArray *rows = read_table();
	struct rules *rules = rules_new_builtin(desk, SPOC_KIND_INCIDENT);
	GString *problems = g_string_new(NULL);
	int es = 0, en = 0, kinds[2] = {0}, prios[6] = {0}, triage = 0, wrong = 0;

	(void)state;
	for (guint i = 0; i < rows->len; i++) {
		const struct row *r = g_ptr_array_index(rows, i);
		gsize before = problems->len;

		es += g_str_has_prefix(r->id, "es-");
		en += g_str_has_prefix(r->id, "en-");
		kinds[r->kind]++;
		prios[r->priority]++;
		triage += r->triage;
		judge(rules, r, "", r->subject, r->body, problems);
		/* The quoted history of a reply is recognised by its attribution line, which
		 * capitals, lost accents or a line break could hide: those rows are judged as
		 * written only. */
		if (strstr(r->body, "\n>") == NULL) {
			char *su = g_utf8_strup(r->subject, -1), *bu = g_utf8_strup(r->body, -1);
			char *sa = no_accents(r->subject), *ba = no_accents(r->body);
			char *bw = wrapped(r->body);

			judge(rules, r, " in capitals", su, bu, problems);
			judge(rules, r, " without accents", sa, ba, problems);
			judge(rules, r, " wrapped", r->subject, bw, problems);
			g_free(su), g_free(bu), g_free(sa), g_free(ba), g_free(bw);
		}
		wrong += problems->len != before;
	}
	/* the table is what the brief asked for: enough of every sort */
	assert_true(rows->len >= 60);
	assert_true(es >= 30 && en >= 30);
	assert_true(kinds[SPOC_KIND_INCIDENT] >= 20 && kinds[SPOC_KIND_REQUEST] >= 15);
	for (int p = 1; p <= 5; p++)
		if (prios[p] == 0)
			fail_msg("no mail of the table is P%d", p);
	assert_true(triage >= 4);
	if (problems->len > 0) {
		/* cmocka cuts long messages: the list goes to stderr whole */
		fputs(problems->str, stderr);
		fail_msg("%d of %u mails judged otherwise than the lead (listed above)", wrong,
			 rows->len);
	}
	g_string_free(problems, TRUE);
	rules_free(&rules);
	g_ptr_array_free(rows, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_table),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
