/* Unit tests of the SLA watcher's decision (sla_watch_decide), of the settings it reads
 * (sla.warn_share and sla.notify in conf_rules.c) and of the templates of its notices. The
 * decision needs no database: a 24x7 target at the edges of its warning and due time, the
 * business calendar where a weekend makes the wall-clock share and the business share disagree
 * both ways, a breach found before any warning, and the fall-back to plain minutes when the
 * calendar counts none. Times are Madrid wall-clock, Monday 2 March 2026 onwards. */
#include "conf_rules.h"
#include "sla_watch.h"
#include "template.h"

#include "../../src/conf/conf_priv.h"

#include "testlib.h"

#include "sla_fixture.h"

/* A Madrid wall-clock time; caller unrefs. */
static GDateTime *at(int y, int mo, int d, int h, int mi)
{
	return g_date_time_new(madrid, y, mo, d, h, mi, 0);
}

/* Mon-Fri 08:00-15:00 in Madrid. */
static struct sla_calendar *office(void)
{
	static const char *const days[] = {"mon-fri", NULL};
	static const char *const hours[] = {"08:00-15:00", NULL};
	struct sla_calendar_spec spec = {.timezone = "Europe/Madrid", .days = days, .hours = hours};
	struct errbuf err = {""};
	struct sla_calendar *cal = sla_calendar_new(&spec, NULL, &err);

	if (cal == NULL)
		fail_msg("calendar: %s", err.msg);
	return cal;
}

static const char *const level_names[] = {"none", "warning", "breach"};

/* sla_watch_decide at now (consumed) must give want and, unless want_share < 0, that share. */
static void check(const struct sla_calendar *cal, GDateTime *created, GDateTime *due,
		  GDateTime *now, int warn, enum sla_watch_level want, int want_share)
{
	int share = -1;
	enum sla_watch_level got = sla_watch_decide(cal, created, due, now, warn, &share);
	char *when = g_date_time_format(now, "%a %F %R");

	if (got != want)
		fail_msg("at %s (warn at %d%%): %s (share %d%%), expected %s", when, warn,
			 level_names[got], share, level_names[want]);
	if (want_share >= 0 && share != want_share)
		fail_msg("at %s: share %d%%, expected %d%%", when, share, want_share);
	/* share_r may be NULL */
	assert_int_equal(sla_watch_decide(cal, created, due, now, warn, NULL), want);
	g_free(when);
	g_date_time_unref(now);
}

static void test_around_the_clock(void **state)
{
	struct sla_calendar *cal = sla_calendar_new_24x7();
	/* 4 hours: 75% is 3 hours in */
	GDateTime *created = at(2026, 3, 2, 10, 0), *due = at(2026, 3, 2, 14, 0);

	(void)state;
	check(cal, created, due, at(2026, 3, 2, 10, 0), 75, SLA_WATCH_NONE, 0);
	check(cal, created, due, at(2026, 3, 2, 12, 59), 75, SLA_WATCH_NONE, 74);
	check(cal, created, due, at(2026, 3, 2, 13, 0), 75, SLA_WATCH_WARNING, 75);
	check(cal, created, due, at(2026, 3, 2, 13, 12), 75, SLA_WATCH_WARNING, 80);
	/* a minute before due is still a warning, and never 100% */
	check(cal, created, due, at(2026, 3, 2, 13, 59), 75, SLA_WATCH_WARNING, 99);
	/* due is breached at that very moment, and after it */
	check(cal, created, due, at(2026, 3, 2, 14, 0), 75, SLA_WATCH_BREACH, 100);
	check(cal, created, due, at(2026, 3, 5, 9, 0), 75, SLA_WATCH_BREACH, 100);
	/* the share is the setting's */
	check(cal, created, due, at(2026, 3, 2, 13, 0), 76, SLA_WATCH_NONE, 75);
	check(cal, created, due, at(2026, 3, 2, 10, 3), 1, SLA_WATCH_WARNING, 1);
	check(cal, created, due, at(2026, 3, 2, 13, 57), 99, SLA_WATCH_NONE, 98);
	check(cal, created, due, at(2026, 3, 2, 13, 58), 99, SLA_WATCH_WARNING, 99);
	/* no calendar: every minute counts, as on 24x7 */
	check(NULL, created, due, at(2026, 3, 2, 13, 12), 75, SLA_WATCH_WARNING, 80);
	check(NULL, created, due, at(2026, 3, 2, 12, 0), 75, SLA_WATCH_NONE, 50);
	g_date_time_unref(created);
	g_date_time_unref(due);
	sla_calendar_free(&cal);
}

static void test_business_weekend(void **state)
{
	struct sla_calendar *cal = office();
	/* Friday 6 March 14:00 plus 120 business minutes: Monday 9 March 09:00 */
	GDateTime *created = at(2026, 3, 6, 14, 0), *due = sla_due(cal, created, 120);
	char *due_text = g_date_time_format(due, "%F %T%:z");

	(void)state;
	assert_string_equal(due_text, "2026-03-09 09:00:00+01:00");
	/* Monday 08:00: 42 of 43 wall-clock hours (97%), but 60 of 120 business minutes */
	check(cal, created, due, at(2026, 3, 9, 8, 0), 75, SLA_WATCH_NONE, 50);
	/* the weekend counted nothing: Saturday noon is still where Friday closed */
	check(cal, created, due, at(2026, 3, 7, 12, 0), 75, SLA_WATCH_NONE, 50);
	check(cal, created, due, at(2026, 3, 9, 8, 29), 75, SLA_WATCH_NONE, 74);
	check(cal, created, due, at(2026, 3, 9, 8, 30), 75, SLA_WATCH_WARNING, 75);
	check(cal, created, due, at(2026, 3, 9, 9, 0), 75, SLA_WATCH_BREACH, 100);
	/* the other way: Friday 14:45 is 2% of the wall-clock time but 37% of the business
	 * time, and Friday 15:00 half of it */
	check(cal, created, due, at(2026, 3, 6, 14, 45), 75, SLA_WATCH_NONE, 37);
	check(cal, created, due, at(2026, 3, 6, 15, 0), 50, SLA_WATCH_WARNING, 50);
	g_date_time_unref(created);
	g_date_time_unref(due);
	g_free(due_text);
	sla_calendar_free(&cal);
}

static void test_breach_first(void **state)
{
	struct sla_calendar *cal = sla_calendar_new_24x7(), *biz = office();
	GDateTime *created = at(2026, 3, 2, 10, 0), *due = at(2026, 3, 2, 10, 15);

	(void)state;
	/* nobody looked while it was at 75%: past due it is the breach, not a late warning */
	check(cal, created, due, at(2026, 3, 2, 11, 0), 75, SLA_WATCH_BREACH, 100);
	check(biz, created, due, at(2026, 3, 2, 11, 0), 75, SLA_WATCH_BREACH, 100);
	/* a due time before the ticket (edited by hand) is breached too, once now reaches it */
	check(cal, due, created, at(2026, 3, 2, 10, 5), 75, SLA_WATCH_BREACH, 100);
	/* and a clock behind the ticket's creation sees nothing yet */
	check(cal, created, due, at(2026, 3, 2, 9, 0), 75, SLA_WATCH_NONE, 0);
	check(cal, due, created, at(2026, 3, 2, 9, 0), 75, SLA_WATCH_NONE, 0);
	g_date_time_unref(created);
	g_date_time_unref(due);
	sla_calendar_free(&cal);
	sla_calendar_free(&biz);
}

static void test_calendar_counts_nothing(void **state)
{
	struct sla_calendar *cal = office();
	/* Saturday 7 March 10:00 to 14:00 has no business minute (a 24x7 target of a ticket
	 * whose priority changed since): plain minutes measure it */
	GDateTime *created = at(2026, 3, 7, 10, 0), *due = at(2026, 3, 7, 14, 0);

	(void)state;
	check(cal, created, due, at(2026, 3, 7, 12, 0), 75, SLA_WATCH_NONE, 50);
	check(cal, created, due, at(2026, 3, 7, 13, 0), 75, SLA_WATCH_WARNING, 75);
	check(cal, created, due, at(2026, 3, 7, 14, 0), 75, SLA_WATCH_BREACH, 100);
	g_date_time_unref(created);
	g_date_time_unref(due);
	sla_calendar_free(&cal);
}

static void test_conf(void **state)
{
	struct loaded l;

	(void)state;
	/* nothing said: 75%, nobody listed */
	load(&l, "");
	assert_false(l.r.failed);
	assert_int_equal(l.sla->warn_share, 75);
	assert_null(l.sla->notify[0]);
	unload(&l);
	load(&l, "sla: { calendar = \"24x7\"; };\n");
	assert_false(l.r.failed);
	assert_int_equal(l.sla->warn_share, 75);
	assert_null(l.sla->notify[0]);
	unload(&l);

	load(&l, "sla:\n{\n  warn_share = 90;\n"
		 "  notify = [ \"OnCall@Example.org\", \"lead@example.org\" ];\n};\n");
	if (l.r.failed)
		fail_msg("%s", l.err.msg);
	assert_int_equal(l.sla->warn_share, 90);
	assert_string_equal(l.sla->notify[0], "oncall@example.org");
	assert_string_equal(l.sla->notify[1], "lead@example.org");
	assert_null(l.sla->notify[2]);
	unload(&l);

	/* one address alone, and an empty list */
	load(&l, "sla: { notify = \"oncall@example.org\"; warn_share = 1; };\n");
	assert_false(l.r.failed);
	assert_int_equal(l.sla->warn_share, 1);
	assert_string_equal(l.sla->notify[0], "oncall@example.org");
	assert_null(l.sla->notify[1]);
	unload(&l);
	load(&l, "sla: { notify = [ ]; warn_share = 99; };\n");
	assert_false(l.r.failed);
	assert_int_equal(l.sla->warn_share, 99);
	assert_null(l.sla->notify[0]);
	unload(&l);
}

static void check_error(const char *text, const char *want)
{
	struct loaded l;

	load(&l, text);
	if (!l.r.failed)
		fail_msg("no error for:\n%s", text);
	if (!g_str_has_prefix(l.err.msg, want))
		fail_msg("got   \"%s\"\nwanted \"%s...\"", l.err.msg, want);
	unload(&l);
}

static void test_conf_errors(void **state)
{
	GString *many = g_string_new("sla: {\n  notify = [ ");

	(void)state;
	check_error("sla: {\n  warn_share = 100;\n};\n",
		    "test.conf:2: sla.warn_share: must be 1..99, not 100");
	check_error("sla: {\n  warn_share = 0;\n};\n",
		    "test.conf:2: sla.warn_share: must be 1..99, not 0");
	check_error("sla: {\n  warn_share = \"75%\";\n};\n", "test.conf:2: sla.warn_share: ");
	check_error("sla: {\n  notify = [ \"oncall@example.org\", \"Help Desk\" ];\n};\n",
		    "test.conf:2: sla.notify: element 2, \"Help Desk\", is not an address");
	check_error("sla: {\n  notify = [ \"Ops <ops@example.org>\" ];\n};\n",
		    "test.conf:2: sla.notify: element 1, \"Ops <ops@example.org>\", is not an "
		    "address");
	check_error("sla: {\n  notify = 7;\n};\n",
		    "test.conf:2: sla.notify: must be a string or a list of strings");
	check_error("sla: {\n  warn = 80;\n};\n",
		    "test.conf:2: sla.warn: unknown setting: sla may hold calendar, targets, "
		    "warn_share, notify");
	for (int i = 0; i <= SLA_MAX_NOTIFY; i++)
		g_string_append_printf(many, "%s\"a%d@example.org\"", i > 0 ? ", " : "", i);
	g_string_append(many, " ];\n};\n");
	check_error(many->str, "test.conf:2: sla.notify: at most 32 addresses");
	g_string_free(many, TRUE);
}

/* ---- the templates ---- */

/* The fields the notifier gives an SLA notice. */
static const char *const sla_allowed[] = {
    "recipient_name", "ticket", "kind",	 "subject",   "priority",     "status", "requester",
    "target",	      "due",	"share", "desk_name", "desk_address", NULL,
};

/* The shipped template lang/file loads with those fields and renders every one it uses;
 * name is the recipient's name ("" for an address that is nobody's). */
static void check_template(const char *lang, const char *file, const char *name, const char *target,
			   const char *const *must_contain)
{
	char *rel = g_build_filename("conf", "templates", lang, file, NULL);
	char *path = testlib_source_path(rel);
	struct errbuf err = {{0}};
	struct template *t;
	GHashTable *vars;
	char *out;

	g_free(rel);
	t = template_load(path, sla_allowed, &err);
	if (t == NULL)
		fail_msg("%s", err.msg);
	vars = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(vars, "recipient_name", (gpointer)name);
	g_hash_table_insert(vars, "ticket", "INC-000123");
	g_hash_table_insert(vars, "kind", "incidencia");
	g_hash_table_insert(vars, "subject", "Impresora caída — planta 2");
	g_hash_table_insert(vars, "priority", "P2");
	g_hash_table_insert(vars, "status", "in-progress");
	g_hash_table_insert(vars, "requester", "marta.ruiz@example.com");
	g_hash_table_insert(vars, "target", (gpointer)target);
	g_hash_table_insert(vars, "due", "lunes 23 nov 2026, 10:15 CET");
	g_hash_table_insert(vars, "share", "80");
	g_hash_table_insert(vars, "desk_name", "Service Desk TI");
	out = template_render(t, vars);
	assert_true(g_utf8_validate(out, -1, NULL));
	assert_null(strstr(out, "{{"));
	for (const char *const *m = must_contain; *m != NULL; m++)
		if (strstr(out, *m) == NULL)
			fail_msg("%s does not say \"%s\":\n%s", path, *m, out);
	g_free(out);
	g_hash_table_unref(vars);
	template_free(&t);
	g_free(path);
}

static void test_templates(void **state)
{
	(void)state;
	check_template("en", "sla-warning.txt", "Ana García", "first response",
		       (const char *const[]){"Hello Ana García,", "INC-000123 has used 80% of",
					     "first response", "10:15 CET", "Impresora caída",
					     "marta.ruiz@example.com", "P2", "in-progress",
					     "Service Desk TI", NULL});
	check_template("en", "sla-breach.txt", "", "resolution",
		       (const char *const[]){"Hello,\n", "INC-000123 has missed", "resolution",
					     "10:15 CET", "marta.ruiz@example.com", NULL});
	check_template("es", "sla-warning.txt", "Ana García", "primera respuesta",
		       (const char *const[]){"Hola, Ana García:", "80 %", "primera respuesta",
					     "10:15 CET", "Impresora caída", "P2", NULL});
	check_template("es", "sla-breach.txt", "", "resolución",
		       (const char *const[]){"Hola:\n",
					     "INC-000123 ha incumplido el plazo de "
					     "resolución",
					     "marta.ruiz@example.com", NULL});
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_around_the_clock),
	    cmocka_unit_test(test_business_weekend),
	    cmocka_unit_test(test_breach_first),
	    cmocka_unit_test(test_calendar_counts_nothing),
	    cmocka_unit_test(test_conf),
	    cmocka_unit_test(test_conf_errors),
	    cmocka_unit_test(test_templates),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
