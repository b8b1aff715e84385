/* Unit tests of sla.c and of its reader in conf_rules.c: due times across nights, weekends,
 * holidays, split days and the two DST changes of Europe/Madrid (last Sunday of March and of
 * October 2026: 29 March and 25 October), 24x7, zero and huge targets; and the property that
 * sla_business_minutes() counts back exactly what sla_due() counted forward. Times are written
 * and compared as Madrid wall-clock text with the offset, which is how a person checks them. */
#include "conf_rules.h"

#include "testlib.h"

#include "../../src/conf/conf_priv.h"

#include <string.h>

#include "sla_fixture.h"

/* A Madrid wall-clock time; caller unrefs. */
static GDateTime *at(int y, int mo, int d, int h, int mi)
{
	return g_date_time_new(madrid, y, mo, d, h, mi, 0);
}

/* "2026-03-02 09:00:00+01:00" in Madrid, or "never"; caller frees. */
static char *fmt(GDateTime *t)
{
	GDateTime *local;
	char *s;

	if (t == NULL)
		return g_strdup("never");
	local = g_date_time_to_timezone(t, madrid);
	s = g_date_time_format(local, "%F %T%:z");
	g_date_time_unref(local);
	return s;
}

static struct sla_calendar *cal_new(const char *const *days, const char *const *hours,
				    const char *const *holidays)
{
	struct sla_calendar_spec spec = {
	    .timezone = "Europe/Madrid", .days = days, .hours = hours, .holidays = holidays};
	struct errbuf err = {""};
	struct sla_calendar *cal = sla_calendar_new(&spec, NULL, &err);

	if (cal == NULL)
		fail_msg("calendar: %s", err.msg);
	return cal;
}

/* Mon-Fri 08:00-15:00, Christmas 2026, and New Year and Epiphany every year. */
static struct sla_calendar *office(void)
{
	static const char *const days[] = {"mon-fri", NULL};
	static const char *const hours[] = {"08:00-15:00", NULL};
	static const char *const holidays[] = {"2026-12-25", "01-01", "01-06", NULL};

	return cal_new(days, hours, holidays);
}

/* sla_due from start (consumed) plus minutes must be want; and counting back gives minutes. */
static void check_due(const struct sla_calendar *cal, GDateTime *start, int minutes,
		      const char *want)
{
	GDateTime *due = sla_due(cal, start, minutes);
	char *got = fmt(due), *from = fmt(start);

	if (strcmp(got, want) != 0)
		fail_msg("%s + %d min: got %s, expected %s", from, minutes, got, want);
	if (due != NULL && sla_business_minutes(cal, start, due) != MAX(minutes, 0))
		fail_msg("%s .. %s: %lld business minutes, expected %d", from, got,
			 (long long)sla_business_minutes(cal, start, due), minutes);
	if (due != NULL)
		g_date_time_unref(due);
	g_date_time_unref(start);
	g_free(got);
	g_free(from);
}

static void test_office_days(void **state)
{
	struct sla_calendar *cal = office();

	(void)state;
	/* Monday 2 March 2026 */
	check_due(cal, at(2026, 3, 2, 9, 0), 60, "2026-03-02 10:00:00+01:00");
	/* ending exactly at closing time is still today */
	check_due(cal, at(2026, 3, 2, 14, 0), 60, "2026-03-02 15:00:00+01:00");
	/* across the night */
	check_due(cal, at(2026, 3, 2, 14, 30), 60, "2026-03-03 08:30:00+01:00");
	/* before opening and after closing count from the next opening */
	check_due(cal, at(2026, 3, 2, 6, 0), 30, "2026-03-02 08:30:00+01:00");
	check_due(cal, at(2026, 3, 2, 20, 0), 30, "2026-03-03 08:30:00+01:00");
	check_due(cal, at(2026, 3, 2, 15, 0), 30, "2026-03-03 08:30:00+01:00");
	/* a whole week of 7-hour days: five days later, same time */
	check_due(cal, at(2026, 3, 2, 10, 0), 5 * 7 * 60, "2026-03-09 10:00:00+01:00");
	/* across a weekend: Friday 6 March 14:00 */
	check_due(cal, at(2026, 3, 6, 14, 0), 120, "2026-03-09 09:00:00+01:00");
	/* a start given in another zone is the same instant: 07:30Z is 08:30 in Madrid */
	{
		GDateTime *utc = g_date_time_new_utc(2026, 3, 2, 7, 30, 0);

		check_due(cal, utc, 30, "2026-03-02 09:00:00+01:00");
	}
	/* seconds are kept */
	check_due(cal, g_date_time_new(madrid, 2026, 3, 2, 9, 17, 30.5), 1,
		  "2026-03-02 09:18:30+01:00");
	sla_calendar_free(&cal);
}

static void test_zero_and_negative(void **state)
{
	struct sla_calendar *cal = office();

	(void)state;
	/* while open: now; while closed: the next opening (Saturday 7 March -> Monday) */
	check_due(cal, at(2026, 3, 2, 9, 17), 0, "2026-03-02 09:17:00+01:00");
	check_due(cal, at(2026, 3, 7, 10, 0), 0, "2026-03-09 08:00:00+01:00");
	check_due(cal, at(2026, 3, 2, 9, 17), -5, "2026-03-02 09:17:00+01:00");
	sla_calendar_free(&cal);
}

static void test_holidays(void **state)
{
	struct sla_calendar *cal = office();

	(void)state;
	/* Thursday 24 December 14:00; Friday 25 is a holiday, then the weekend */
	check_due(cal, at(2026, 12, 24, 14, 0), 120, "2026-12-28 09:00:00+01:00");
	/* starting on the holiday itself */
	check_due(cal, at(2026, 12, 25, 10, 0), 60, "2026-12-28 09:00:00+01:00");
	/* yearly holidays: Friday 1 January 2027, and Epiphany on Wednesday 6 January 2027 */
	check_due(cal, at(2026, 12, 31, 14, 30), 60, "2027-01-04 08:30:00+01:00");
	check_due(cal, at(2027, 1, 5, 14, 0), 120, "2027-01-07 09:00:00+01:00");
	/* 2026-12-25 was one day, not every year: Christmas 2027 (a Saturday) is irrelevant,
	 * but Friday 25 December 2026 is; Monday 25 December 2028 is a working day */
	check_due(cal, at(2028, 12, 25, 9, 0), 60, "2028-12-25 10:00:00+01:00");
	sla_calendar_free(&cal);
}

static void test_split_days(void **state)
{
	static const char *const days[] = {"lun-vie", NULL};
	static const char *const hours[] = {"15:00-18:00", "09:00 - 14:00", NULL};
	static const char *const short_friday[] = {"09:00-18:00", "fri 08:00-14:00", NULL};
	static const char *const saturday[] = {"mon - fri 09:00-14:00", "sat 10:00-13:00", NULL};
	struct sla_calendar *cal = cal_new(days, hours, NULL);

	(void)state;
	check_due(cal, at(2026, 3, 2, 13, 30), 60, "2026-03-02 15:30:00+01:00");
	/* lunch is closed time */
	check_due(cal, at(2026, 3, 2, 14, 20), 10, "2026-03-02 15:10:00+01:00");
	check_due(cal, at(2026, 3, 2, 17, 30), 60, "2026-03-03 09:30:00+01:00");
	/* a full day is 8 hours */
	check_due(cal, at(2026, 3, 2, 9, 0), 8 * 60, "2026-03-02 18:00:00+01:00");
	sla_calendar_free(&cal);

	/* hours given for a day replace the common ones on that day */
	cal = cal_new(NULL, short_friday, NULL);
	check_due(cal, at(2026, 3, 6, 13, 0), 120, "2026-03-09 10:00:00+01:00");
	check_due(cal, at(2026, 3, 6, 7, 0), 60, "2026-03-06 09:00:00+01:00");
	sla_calendar_free(&cal);

	/* and they may open a day that is not in days */
	cal = cal_new(NULL, saturday, NULL);
	check_due(cal, at(2026, 3, 6, 13, 0), 120, "2026-03-07 11:00:00+01:00");
	sla_calendar_free(&cal);
}

static void test_dst(void **state)
{
	static const char *const every_day[] = {"mon-sun", NULL};
	static const char *const all_day[] = {"00:00-24:00", NULL};
	static const char *const night[] = {"01:00-04:00", NULL};
	struct sla_calendar *cal = office();

	(void)state;
	/* Friday 27 March 14:00 CET; Sunday 29 March the clocks go forward; Monday opens at 08:00
	 * on the wall clock, which is now CEST */
	check_due(cal, at(2026, 3, 27, 14, 0), 120, "2026-03-30 09:00:00+02:00");
	/* Friday 23 October 14:00 CEST; Sunday 25 October the clocks go back */
	check_due(cal, at(2026, 10, 23, 14, 0), 120, "2026-10-26 09:00:00+01:00");
	sla_calendar_free(&cal);

	/* open around the clock on the wall: the short day has 23 hours, the long one 25 */
	cal = cal_new(every_day, all_day, NULL);
	check_due(cal, at(2026, 3, 29, 0, 0), 24 * 60, "2026-03-30 01:00:00+02:00");
	check_due(cal, at(2026, 10, 25, 0, 0), 24 * 60, "2026-10-25 23:00:00+01:00");
	{
		GDateTime *a = at(2026, 3, 29, 0, 0), *b = at(2026, 3, 30, 0, 0);

		assert_int_equal(sla_business_minutes(cal, a, b), 23 * 60);
		g_date_time_unref(a);
		g_date_time_unref(b);
		a = at(2026, 10, 25, 0, 0);
		b = at(2026, 10, 26, 0, 0);
		assert_int_equal(sla_business_minutes(cal, a, b), 25 * 60);
		g_date_time_unref(a);
		g_date_time_unref(b);
	}
	sla_calendar_free(&cal);

	/* a range across the change counts the time that really passed: 01:00-04:00 is two hours
	 * on 29 March and four on 25 October */
	cal = cal_new(every_day, night, NULL);
	check_due(cal, at(2026, 3, 29, 1, 0), 150, "2026-03-30 01:30:00+02:00");
	check_due(cal, at(2026, 10, 25, 1, 0), 210, "2026-10-25 03:30:00+01:00");
	sla_calendar_free(&cal);
}

static void test_24x7(void **state)
{
	struct sla_calendar *cal = sla_calendar_new_24x7();
	GDateTime *a, *b;

	(void)state;
	assert_true(sla_calendar_is_24x7(cal));
	/* Saturday night across the spring change: four real hours */
	check_due(cal, at(2026, 3, 28, 23, 0), 240, "2026-03-29 04:00:00+02:00");
	check_due(cal, at(2026, 12, 25, 10, 0), 15, "2026-12-25 10:15:00+01:00");
	check_due(cal, at(2026, 12, 25, 10, 0), 0, "2026-12-25 10:00:00+01:00");
	check_due(cal, at(2026, 3, 2, 9, 0), G_MAXINT, "never");
	a = at(2026, 3, 2, 9, 0);
	b = at(2026, 3, 1, 9, 0);
	assert_int_equal(sla_business_minutes(cal, a, b), 0);
	assert_int_equal(sla_business_minutes(cal, b, a), 24 * 60);
	g_date_time_unref(a);
	g_date_time_unref(b);
	sla_calendar_free(&cal);
}

static void test_bounds(void **state)
{
	struct sla_calendar *cal = office();
	GDateTime *a, *b;
	gint64 t0;

	(void)state;
	t0 = g_get_monotonic_time();
	check_due(cal, at(2026, 3, 2, 9, 0), G_MAXINT, "never");
	/* about nine years of 7-hour working days is still found; eleven years is not */
	{
		GDateTime *s = at(2026, 3, 2, 9, 0);
		GDateTime *due = sla_due(cal, s, 9 * 250 * 7 * 60);

		assert_non_null(due);
		assert_true(g_date_time_get_year(due) >= 2034 && g_date_time_get_year(due) <= 2035);
		g_date_time_unref(due);
		assert_null(sla_due(cal, s, 11 * 261 * 7 * 60));
		g_date_time_unref(s);
	}
	/* elapsed minutes over a span longer than the bound stop at the bound */
	a = at(2026, 3, 2, 9, 0);
	b = at(2046, 3, 2, 9, 0);
	assert_true(sla_business_minutes(cal, a, b) < (int64_t)11 * 261 * 7 * 60);
	assert_true(sla_business_minutes(cal, a, b) > (int64_t)9 * 250 * 7 * 60);
	g_date_time_unref(a);
	g_date_time_unref(b);
	/* the end of GDateTime's range (year 9999) ends the walk too */
	check_due(cal, at(9997, 12, 1, 9, 0), 2 * 261 * 7 * 60, "never");
	check_due(cal, at(9997, 12, 1, 9, 0), 60, "9997-12-01 10:00:00+01:00");
	a = at(9997, 12, 1, 9, 0);
	b = at(9999, 12, 31, 23, 0);
	assert_true(sla_business_minutes(cal, a, b) > 0);
	g_date_time_unref(a);
	g_date_time_unref(b);
	/* the bounded walks take milliseconds, not minutes, even under ASan */
	assert_true(g_get_monotonic_time() - t0 < 20 * G_USEC_PER_SEC);
	sla_calendar_free(&cal);
}

/* business_minutes(start, due(start, m)) == m for starts all over a fortnight with a DST change,
 * and the due time of m + 1 is never before that of m. */
static void test_roundtrip(void **state)
{
	static const char *const hours[] = {"09:00-14:00", "15:00-18:00", "sat 10:00-12:00", NULL};
	static const int minutes[] = {0, 1, 59, 60, 61, 299, 300, 301, 479, 480, 481, 1000, 5000};
	struct sla_calendar *cal = cal_new(NULL, hours, (const char *const[]){"2026-03-31", NULL});

	(void)state;
	for (int h = 0; h < 14 * 24; h += 5) {
		GDateTime *start = g_date_time_add_minutes(at(2026, 3, 22, 0, 7), h * 60 + h % 60);
		GDateTime *prev = NULL;

		for (size_t i = 0; i < G_N_ELEMENTS(minutes); i++) {
			GDateTime *due = sla_due(cal, start, minutes[i]);

			assert_non_null(due);
			assert_int_equal(sla_business_minutes(cal, start, due), minutes[i]);
			if (prev != NULL) {
				assert_true(g_date_time_compare(prev, due) <= 0);
				g_date_time_unref(prev);
			}
			prev = due;
		}
		g_date_time_unref(prev);
		g_date_time_unref(start);
	}
	sla_calendar_free(&cal);
}

static void check_spec_error(const struct sla_calendar_spec *spec, const char *field,
			     const char *want)
{
	const char *got_field = NULL;
	struct errbuf err = {""};
	struct sla_calendar *cal = sla_calendar_new(spec, &got_field, &err);

	if (cal != NULL)
		fail_msg("no error for %s", want);
	assert_string_equal(got_field, field);
	if (strstr(err.msg, want) == NULL)
		fail_msg("got \"%s\", wanted \"%s\"", err.msg, want);
}

static void test_calendar_errors(void **state)
{
#define L(...) ((const char *const[]){__VA_ARGS__, NULL})
	(void)state;
	check_spec_error(&(struct sla_calendar_spec){.timezone = "Europe/Atlantis"}, "timezone",
			 "\"Europe/Atlantis\" is not a time zone");
	check_spec_error(&(struct sla_calendar_spec){.timezone = ""}, "timezone",
			 "\"\" is not a time zone");
	check_spec_error(&(struct sla_calendar_spec){.days = L("mon", "funday")}, "days",
			 "\"funday\" is not a day");
	check_spec_error(&(struct sla_calendar_spec){.hours = L("18:00-08:00")}, "hours",
			 "\"18:00-08:00\" is not a range of hours");
	check_spec_error(&(struct sla_calendar_spec){.hours = L("8-15")}, "hours",
			 "is not a range of hours");
	check_spec_error(&(struct sla_calendar_spec){.hours = L("08:00-24:30")}, "hours",
			 "is not a range of hours");
	check_spec_error(&(struct sla_calendar_spec){.hours = L("fry 08:00-14:00")}, "hours",
			 "is not a range of hours");
	check_spec_error(&(struct sla_calendar_spec){.hours = L("08:00-15:00", "14:00-18:00")},
			 "hours", "two ranges overlap on mon");
	check_spec_error(&(struct sla_calendar_spec){.holidays = L("2026-02-30")}, "holidays",
			 "\"2026-02-30\" is not a date");
	check_spec_error(&(struct sla_calendar_spec){.holidays = L("25/12/2026")}, "holidays",
			 "is not a date");
	check_spec_error(&(struct sla_calendar_spec){.days = (const char *const[]){NULL}}, "days",
			 "never be open");
#undef L
}

static void test_defaults(void **state)
{
	struct sla_conf *sla = sla_conf_new(NULL);
	const struct sla_target *t;

	(void)state;
	t = sla_target(sla, 1, SPOC_KIND_INCIDENT);
	assert_int_equal(t->first_response, 15);
	assert_int_equal(t->resolution, 240);
	assert_true(sla_calendar_is_24x7(t->calendar));
	t = sla_target(sla, 2, SPOC_KIND_INCIDENT);
	assert_int_equal(t->resolution, 480);
	assert_ptr_equal(t->calendar, sla->business);
	t = sla_target(sla, 1, SPOC_KIND_REQUEST);
	assert_false(sla_calendar_is_24x7(t->calendar));
	assert_ptr_equal(sla_target(sla, 9, SPOC_KIND_REQUEST), &sla->targets[4][1]);
	assert_ptr_equal(sla_target(sla, 0, SPOC_KIND_REQUEST), &sla->targets[0][1]);
	for (int p = 1; p <= SLA_PRIORITIES; p++)
		for (int k = 0; k < 2; k++) {
			t = sla_target(sla, p, (enum spoc_kind)k);
			assert_true(t->first_response <= t->resolution);
			if (p > 1)
				assert_true(t->resolution >=
					    sla_target(sla, p - 1, (enum spoc_kind)k)->resolution);
		}
	sla_conf_free(&sla);
	sla_conf_free(&sla);
}

static void test_conf(void **state)
{
	static const char text[] =
	    "sla:\n"
	    "{\n"
	    "  calendar = {\n"
	    "    timezone = \"Europe/Madrid\";\n"
	    "    days = [ \"mon\", \"tue\", \"wed\", \"thu\", \"fri\" ];\n"
	    "    hours = [ \"08:00-15:00\" ];\n"
	    "    holidays = [ \"2026-12-25\", \"01-01\" ];\n"
	    "  };\n"
	    "  targets = (\n"
	    "    { priority = 1; kind = \"incident\"; first_response = 10; resolution = 120; },\n"
	    "    { priority = 2; first_response = 20; resolution = 300; calendar = \"24x7\"; },\n"
	    "    { priority = 3; kind = \"request\"; resolution = 600; calendar = \"business\"; }\n"
	    "  );\n"
	    "};\n";
	struct loaded l;
	const struct sla_target *t;
	GDateTime *s, *due;
	char *got;

	(void)state;
	load(&l, text);
	if (l.r.failed)
		fail_msg("%s", l.err.msg);
	t = sla_target(l.sla, 1, SPOC_KIND_INCIDENT);
	assert_int_equal(t->first_response, 10);
	assert_int_equal(t->resolution, 120);
	/* the calendar of P1 incidents stays 24x7 unless a target says otherwise */
	assert_true(sla_calendar_is_24x7(t->calendar));
	/* no kind: both kinds */
	assert_int_equal(sla_target(l.sla, 2, SPOC_KIND_REQUEST)->resolution, 300);
	assert_true(sla_calendar_is_24x7(sla_target(l.sla, 2, SPOC_KIND_INCIDENT)->calendar));
	t = sla_target(l.sla, 3, SPOC_KIND_REQUEST);
	assert_int_equal(t->first_response, 4 * 60);
	assert_int_equal(t->resolution, 600);
	/* the configured calendar is the one the business targets use */
	s = at(2026, 12, 24, 14, 0);
	due = sla_due(t->calendar, s, 120);
	got = fmt(due);
	assert_string_equal(got, "2026-12-28 09:00:00+01:00");
	g_free(got);
	g_date_time_unref(due);
	g_date_time_unref(s);
	unload(&l);

	/* all around the clock */
	load(&l, "sla: { calendar = \"24x7\"; };\n");
	assert_false(l.r.failed);
	assert_true(sla_calendar_is_24x7(sla_target(l.sla, 5, SPOC_KIND_REQUEST)->calendar));
	unload(&l);

	/* nothing configured: the shipped targets */
	load(&l, "");
	assert_false(l.r.failed);
	assert_int_equal(sla_target(l.sla, 1, SPOC_KIND_INCIDENT)->first_response, 15);
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
	(void)state;
	check_error("sla: {\n  calendar = {\n    timezone = \"Europe/Atlantis\";\n  };\n};\n",
		    "test.conf:3: sla.calendar.timezone: \"Europe/Atlantis\" is not a time zone");
	check_error("sla: {\n  calendar = {\n    hours = [ \"08:00-15:00\",\n"
		    "      \"25:00-26:00\" ];\n  };\n};\n",
		    "test.conf:3: sla.calendar.hours: \"25:00-26:00\" is not a range of hours");
	check_error("sla: {\n  calendar = {\n    holidays = [ \"2026-02-30\" ];\n  };\n};\n",
		    "test.conf:3: sla.calendar.holidays: \"2026-02-30\" is not a date");
	check_error("sla: {\n  calendar = {\n    day = [ \"mon\" ];\n  };\n};\n",
		    "test.conf:3: sla.calendar.day: unknown setting: sla.calendar may hold "
		    "timezone, days, hours, holidays");
	check_error("sla: {\n  calendar = \"always\";\n};\n",
		    "test.conf:2: sla.calendar: must be \"24x7\" or a group");
	check_error("sla: {\n  calendar = {\n    hours = [ ];\n  };\n};\n",
		    "test.conf:3: sla.calendar.hours: must not be an empty list");
	check_error("sla: {\n  targets = (\n"
		    "    { priority = 1; kind = \"incident\"; resolution = 60; },\n"
		    "    { priority = 1; first_response = 5; }\n  );\n};\n",
		    "test.conf:4: sla.targets.[1]: a second target for P1 incident (the first is "
		    "at line 3)");
	check_error("sla: {\n  targets = (\n"
		    "    { priority = 6; resolution = 60; }\n  );\n};\n",
		    "test.conf:3: sla.targets.[0].priority: must be 1..5, not 6");
	check_error("sla: {\n  targets = (\n"
		    "    { priority = 2; kind = \"problem\"; resolution = 60; }\n  );\n};\n",
		    "test.conf:3: sla.targets.[0].kind: \"problem\" is not allowed");
	check_error("sla: {\n  targets = (\n"
		    "    { priority = 2; first_response = 600; }\n  );\n};\n",
		    "test.conf:3: sla.targets.[0].first_response: P2 incident: the first response "
		    "(600 minutes) would come after the resolution (480 minutes)");
	check_error("sla: {\n  targets = (\n"
		    "    { priority = 2; resolution = 0; }\n  );\n};\n",
		    "test.conf:3: sla.targets.[0].resolution: must be 1..");
	check_error("sla: {\n  targets = (\n"
		    "    { priority = 2; }\n  );\n};\n",
		    "test.conf:3: sla.targets.[0]: sets nothing");
	check_error("sla: {\n  targets = (\n"
		    "    { priority = 2; resolution = 60; calendar = \"weekdays\"; }\n  );\n};\n",
		    "test.conf:3: sla.targets.[0].calendar: \"weekdays\" is not allowed");
	check_error("sla: {\n  targets = (\n"
		    "    { priority = 2; resolution = 60; resolve = 9; }\n  );\n};\n",
		    "test.conf:3: sla.targets.[0].resolve: unknown setting");
	check_error("sla: {\n  targets = { priority = 2; };\n};\n",
		    "test.conf:2: sla.targets: must be a list in parentheses");
	check_error("sla = [ 1 ];\n", "test.conf:1: sla: must be a group");
}

/* Due times as people read them: no padding, names from fixed tables, the zone said. */
static void test_format_time(void **state)
{
	GTimeZone *zone_madrid = g_time_zone_new_identifier("Europe/Madrid");
	GTimeZone *utc = g_time_zone_new_utc();
	/* Tue 8 Dec 2026 16:05 UTC: 17:05 in Madrid (CET) */
	int64_t t = 1796745900;
	char *s;

	(void)state;
	assert_non_null(zone_madrid);
	s = sla_format_time(t, zone_madrid, "en");
	assert_string_equal(s, "Tue 8 Dec 2026, 17:05 CET");
	g_free(s);
	s = sla_format_time(t, zone_madrid, "es");
	assert_string_equal(s, "martes 8 dic 2026, 17:05 CET");
	g_free(s);
	s = sla_format_time(t, utc, "en");
	assert_string_equal(s, "Tue 8 Dec 2026, 16:05 UTC");
	g_free(s);
	/* summer time is said as such */
	s = sla_format_time(t - 150 * 86400, zone_madrid, "en");
	assert_string_equal(s, "Sat 11 Jul 2026, 18:05 CEST");
	g_free(s);
	s = sla_format_time(0, zone_madrid, "es");
	assert_string_equal(s, "-");
	g_free(s);
	g_time_zone_unref(zone_madrid);
	g_time_zone_unref(utc);
}

/* ---- the cases the database must agree on (tests/data/sla/clock_cases.txt) ---- */

/* "2026-06-08T06:30:15Z" as a UTC time; caller unrefs. */
static GDateTime *utc_time(const char *s, int line)
{
	GTimeZone *utc = g_time_zone_new_utc();
	GDateTime *t = g_date_time_new_from_iso8601(s, utc);

	g_time_zone_unref(utc);
	if (t == NULL)
		fail_msg("clock_cases.txt:%d: \"%s\" is not a UTC time", line, s);
	return t;
}

static void test_clock_cases(void **state)
{
	char *text = testlib_read_data("sla/clock_cases.txt", NULL);
	char **lines = g_strsplit(text, "\n", -1);
	GPtrArray *days = g_ptr_array_new(), *hours = g_ptr_array_new(),
		  *holidays = g_ptr_array_new();
	struct sla_calendar_spec spec = {0};
	struct sla_calendar *cal = NULL;
	struct errbuf err = {""};
	int cases = 0;

	(void)state;
	for (int i = 0; lines[i] != NULL; i++) {
		char *line = g_strstrip(lines[i]), *rest = strchr(line, ' ');

		if (line[0] == '#' || line[0] == '\0')
			continue;
		if (rest == NULL)
			fail_msg("clock_cases.txt:%d: a keyword and a value", i + 1);
		*rest++ = '\0';
		if (strcmp(line, "timezone") == 0)
			spec.timezone = rest;
		else if (strcmp(line, "days") == 0)
			g_ptr_array_add(days, rest);
		else if (strcmp(line, "hours") == 0)
			g_ptr_array_add(hours, rest);
		else if (strcmp(line, "holiday") == 0)
			g_ptr_array_add(holidays, rest);
		else if (strcmp(line, "case") == 0) {
			char **f = g_strsplit_set(rest, " ", -1);
			char *fields[3];
			int n = 0;
			GDateTime *start, *want, *got;

			for (char **x = f; *x != NULL && n < 3; x++)
				if (**x != '\0')
					fields[n++] = *x;
			if (n < 3)
				fail_msg("clock_cases.txt:%d: case START MINUTES DUE", i + 1);
			if (cal == NULL) {
				g_ptr_array_add(days, NULL);
				g_ptr_array_add(hours, NULL);
				g_ptr_array_add(holidays, NULL);
				spec.days = (const char *const *)days->pdata;
				spec.hours = (const char *const *)hours->pdata;
				spec.holidays = (const char *const *)holidays->pdata;
				if ((cal = sla_calendar_new(&spec, NULL, &err)) == NULL)
					fail_msg("clock_cases.txt: calendar: %s", err.msg);
			}
			start = utc_time(fields[0], i + 1);
			want = utc_time(fields[2], i + 1);
			got = sla_due(cal, start, atoi(fields[1]));
			if (got == NULL || !g_date_time_equal(got, want)) {
				char *g = fmt(got), *w = fmt(want);

				fail_msg("clock_cases.txt:%d: %s + %s min: got %s, expected %s",
					 i + 1, fields[0], fields[1], g, w);
			}
			if (sla_business_minutes(cal, start, got) != atoi(fields[1]))
				fail_msg("clock_cases.txt:%d: %lld minutes counted back, not %s",
					 i + 1, (long long)sla_business_minutes(cal, start, got),
					 fields[1]);
			g_date_time_unref(start);
			g_date_time_unref(want);
			g_date_time_unref(got);
			g_strfreev(f);
			cases++;
		} else
			fail_msg("clock_cases.txt:%d: unknown keyword \"%s\"", i + 1, line);
	}
	assert_true(cases >= 10);
	sla_calendar_free(&cal);
	g_ptr_array_free(days, TRUE);
	g_ptr_array_free(hours, TRUE);
	g_ptr_array_free(holidays, TRUE);
	g_strfreev(lines);
	g_free(text);
}

/* The policy as the database is given it: the calendar as resolved (a day's own hours replace
 * the common ones), holidays sorted, every target with its calendar. */
static void test_policy_json(void **state)
{
	struct loaded l;
	char *json;

	(void)state;
	load(&l, "sla: { calendar = { timezone = \"Europe/Madrid\"; days = [ \"mon-fri\" ];"
		 " hours = [ \"08:00-15:00\", \"fri 08:00-14:00\", \"sun 00:00-04:00\" ];"
		 " holidays = [ \"2026-12-25\", \"01-06\", \"2026-01-02\" ]; };"
		 " targets = ( { priority = 2; kind = \"request\"; first_response = 45;"
		 " resolution = 600; calendar = \"24x7\"; } ); };");
	assert_string_equal(l.err.msg, "");
	json = sla_conf_policy_json(l.sla);
	assert_string_equal(
	    json, "{\"timezone\": \"Europe/Madrid\", \"hours\": [[1, 480, 900], [2, 480, 900], "
		  "[3, 480, 900], [4, 480, 900], [5, 480, 840], [7, 0, 240]], "
		  "\"holidays\": [\"01-06\", \"2026-01-02\", \"2026-12-25\"], \"targets\": ["
		  "[1, \"incident\", 15, 240, true], [1, \"request\", 60, 480, false], "
		  "[2, \"incident\", 30, 480, false], [2, \"request\", 45, 600, true], "
		  "[3, \"incident\", 120, 1440, false], [3, \"request\", 240, 2880, false], "
		  "[4, \"incident\", 240, 2880, false], [4, \"request\", 480, 5400, false], "
		  "[5, \"incident\", 480, 5400, false], [5, \"request\", 960, 10800, false]]}");
	g_free(json);
	unload(&l);

	/* around the clock: no hours, UTC */
	load(&l, "sla: { calendar = \"24x7\"; };");
	json = sla_conf_policy_json(l.sla);
	assert_non_null(strstr(json, "{\"timezone\": \"UTC\", \"hours\": [], \"holidays\": [], "));
	assert_non_null(strstr(json, "[3, \"incident\", 120, 1440, true]"));
	g_free(json);
	unload(&l);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_office_days),
	    cmocka_unit_test(test_zero_and_negative),
	    cmocka_unit_test(test_holidays),
	    cmocka_unit_test(test_split_days),
	    cmocka_unit_test(test_dst),
	    cmocka_unit_test(test_24x7),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_calendar_errors),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_conf),
	    cmocka_unit_test(test_conf_errors),
	    cmocka_unit_test(test_format_time),
	    cmocka_unit_test(test_clock_cases),
	    cmocka_unit_test(test_policy_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
