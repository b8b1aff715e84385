/* SLA clocks: when a target of so many business minutes falls due, and how many business minutes
 * have passed. Working time is described in the desk's local time (Monday 08:00-15:00 means what
 * the clock on the office wall says, summer and winter), so every computation walks local days:
 * for each working day that is not a holiday it turns each range of hours into two instants with
 * the zone's rules of that day, and counts the real time between them. A DST change at night then
 * costs nothing, and one inside working hours counts the hour the wall clock really had. The
 * walk is bounded (SLA_MAX_DAYS), so a calendar that never opens or an absurd target cannot loop.
 */
#include "sla.h"

#include "text.h"

#include <stdlib.h>
#include <string.h>

#define USEC_PER_MINUTE (G_USEC_PER_SEC * INT64_C(60))

struct range {
	int start; /* minutes after local midnight */
	int end;   /* exclusive; 1440 is midnight at the end of the day */
};

struct sla_calendar {
	gboolean always;
	GTimeZone *tz;
	int n_ranges[7]; /* by weekday, 0 = Monday */
	struct range ranges[7][SLA_MAX_RANGES];
	GHashTable *dates;  /* julian day numbers of one-off holidays (a set) */
	GHashTable *annual; /* month * 100 + day of yearly holidays (a set) */
};

static const char *const day_names[7][4] = {
    {"mon", "monday", "lun", "lunes"},	 {"tue", "tuesday", "mar", "martes"},
    {"wed", "wednesday", "mié", "mie"},	 {"thu", "thursday", "jue", "jueves"},
    {"fri", "friday", "vie", "viernes"}, {"sat", "saturday", "sáb", "sab"},
    {"sun", "sunday", "dom", "domingo"},
};

/* 0 (Monday) .. 6, or -1. */
static int day_index(const char *s)
{
	char *low = g_utf8_strdown(s, -1);
	int found = -1;

	g_strstrip(low);
	for (int d = 0; d < 7 && found < 0; d++)
		for (int i = 0; i < 4; i++)
			if (strcmp(low, day_names[d][i]) == 0)
				found = d;
	if (found < 0 && (strcmp(low, "miércoles") == 0 || strcmp(low, "miercoles") == 0))
		found = 2;
	if (found < 0 && (strcmp(low, "sábado") == 0 || strcmp(low, "sabado") == 0))
		found = 5;
	g_free(low);
	return found;
}

/* "mon", "mon-fri" or "sat,sun" (a span may wrap: "fri-mon") into a bit mask (bit 0 Monday).
 * FALSE when a part is not a day. */
static gboolean days_parse(const char *s, unsigned *mask)
{
	char **parts = g_strsplit(s, ",", -1);
	gboolean ok = parts[0] != NULL;

	for (char **p = parts; ok && *p != NULL; p++) {
		char *dash = strchr(*p, '-');
		int from, to;

		if (dash != NULL)
			*dash = '\0';
		from = day_index(*p);
		to = dash != NULL ? day_index(dash + 1) : from;
		if (from < 0 || to < 0) {
			ok = FALSE;
			break;
		}
		for (int d = from;; d = (d + 1) % 7) {
			*mask |= 1u << d;
			if (d == to)
				break;
		}
	}
	g_strfreev(parts);
	return ok;
}

/* "8:00" / "08:00" .. "24:00" into minutes after midnight, or -1. */
static int time_parse(const char *s)
{
	size_t len = strlen(s);
	int h, m;

	if ((len != 4 && len != 5) || s[len - 3] != ':')
		return -1;
	for (size_t i = 0; i < len; i++)
		if (i != len - 3 && !g_ascii_isdigit(s[i]))
			return -1;
	h = atoi(s);
	m = atoi(s + len - 2);
	if (m > 59 || h > 24 || (h == 24 && m != 0))
		return -1;
	return h * 60 + m;
}

/* Copy of s with runs of blanks as one space, and none at the ends or around '-', so that
 * " mon - fri  08:00 - 15:00" reads as "mon-fri 08:00-15:00"; caller frees. */
static char *squeeze_blanks(const char *s)
{
	GString *out = g_string_new(NULL);

	for (const char *p = s; *p != '\0'; p++) {
		if (*p != ' ' && *p != '\t') {
			g_string_append_c(out, *p);
			continue;
		}
		while (p[1] == ' ' || p[1] == '\t')
			p++;
		if (out->len > 0 && out->str[out->len - 1] != '-' && p[1] != '-' && p[1] != '\0')
			g_string_append_c(out, ' ');
	}
	return g_string_free(out, FALSE);
}

/* "[days ]HH:MM-HH:MM". *mask gets the days named (0 when none), *rg the range. */
static gboolean range_parse(const char *entry, unsigned *mask, struct range *rg)
{
	char *s = squeeze_blanks(entry);
	char *sp = strrchr(s, ' '), *times = s, *dash;
	gboolean ok = FALSE;

	*mask = 0;
	if (sp != NULL) {
		*sp = '\0';
		times = sp + 1;
		if (!days_parse(s, mask))
			goto out;
	}
	if ((dash = strchr(times, '-')) == NULL)
		goto out;
	*dash = '\0';
	rg->start = time_parse(times);
	rg->end = time_parse(dash + 1);
	ok = rg->start >= 0 && rg->end > rg->start;
out:
	g_free(s);
	return ok;
}

static gint range_cmp(gconstpointer a, gconstpointer b)
{
	return ((const struct range *)a)->start - ((const struct range *)b)->start;
}

/* Adds a range to the days in mask; FALSE when a day would have too many. */
static gboolean ranges_add(struct sla_calendar *cal, unsigned mask, const struct range *rg)
{
	for (int d = 0; d < 7; d++) {
		if (!(mask & (1u << d)))
			continue;
		if (cal->n_ranges[d] == SLA_MAX_RANGES)
			return FALSE;
		cal->ranges[d][cal->n_ranges[d]++] = *rg;
	}
	return TRUE;
}

/* TRUE when s has exactly the shape, where 'd' stands for any ASCII digit. */
static gboolean shaped(const char *s, const char *shape)
{
	for (; *shape != '\0'; s++, shape++)
		if (*shape == 'd' ? !g_ascii_isdigit(*s) : *s != *shape)
			return FALSE;
	return *s == '\0';
}

static gboolean holiday_parse(struct sla_calendar *cal, const char *s)
{
	if (shaped(s, "dddd-dd-dd")) {
		int y = atoi(s), m = atoi(s + 5), d = atoi(s + 8);
		GDate date;

		if (!g_date_valid_dmy((GDateDay)d, (GDateMonth)m, (GDateYear)y))
			return FALSE;
		g_date_clear(&date, 1);
		g_date_set_dmy(&date, (GDateDay)d, (GDateMonth)m, (GDateYear)y);
		g_hash_table_add(cal->dates, GUINT_TO_POINTER(g_date_get_julian(&date)));
		return TRUE;
	}
	/* 2024 is a leap year: "02-29" is a valid yearly holiday, observed in leap years. */
	if (shaped(s, "dd-dd") &&
	    g_date_valid_dmy((GDateDay)atoi(s + 3), (GDateMonth)atoi(s), 2024)) {
		g_hash_table_add(cal->annual, GINT_TO_POINTER(atoi(s) * 100 + atoi(s + 3)));
		return TRUE;
	}
	return FALSE;
}

static struct sla_calendar *calendar_alloc(void)
{
	struct sla_calendar *cal = g_new0(struct sla_calendar, 1);

	cal->dates = g_hash_table_new(g_direct_hash, g_direct_equal);
	cal->annual = g_hash_table_new(g_direct_hash, g_direct_equal);
	return cal;
}

/* Fails with the field named; frees cal and returns NULL. */
static struct sla_calendar *bad(struct sla_calendar *cal, const char **field_r, const char *field)
{
	if (field_r != NULL)
		*field_r = field;
	sla_calendar_free(&cal);
	return NULL;
}

struct sla_calendar *sla_calendar_new(const struct sla_calendar_spec *spec, const char **field_r,
				      struct errbuf *err)
{
	static const char *const weekdays[] = {"mon-fri", NULL};
	static const char *const nine_to_six[] = {"09:00-18:00", NULL};
	const char *const *days = spec->days != NULL ? spec->days : weekdays;
	const char *const *hours = spec->hours != NULL ? spec->hours : nine_to_six;
	struct sla_calendar *cal = calendar_alloc();
	unsigned work_days = 0, own_hours = 0;

	if (field_r != NULL)
		*field_r = NULL;
	if (spec->timezone == NULL) {
		cal->tz = g_time_zone_new_local();
	} else if (spec->timezone[0] == '\0' ||
		   (cal->tz = g_time_zone_new_identifier(spec->timezone)) == NULL) {
		errbuf_set(err, 1,
			   "\"%s\" is not a time zone this system knows: use an IANA name such as "
			   "\"Europe/Madrid\" (see /usr/share/zoneinfo)",
			   spec->timezone);
		return bad(cal, field_r, "timezone");
	}
	for (size_t i = 0; days[i] != NULL; i++)
		if (!days_parse(days[i], &work_days)) {
			errbuf_set(
			    err, 1,
			    "\"%s\" is not a day: use \"mon\"..\"sun\" (or \"lun\"..\"dom\") "
			    "or a span such as \"mon-fri\"",
			    days[i]);
			return bad(cal, field_r, "days");
		}
	/* Hours named for some days replace the common hours on those days (a short Friday), so
	 * they are gathered first. */
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = 0; hours[i] != NULL; i++) {
			struct range rg;
			unsigned mask;

			if (!range_parse(hours[i], &mask, &rg)) {
				errbuf_set(err, 1,
					   "\"%s\" is not a range of hours: use \"08:00-15:00\" "
					   "(00:00..24:00, ending after it starts; split a night "
					   "shift at midnight), optionally after days: \"fri "
					   "08:00-14:00\"",
					   hours[i]);
				return bad(cal, field_r, "hours");
			}
			if (pass == 0 && mask != 0) {
				own_hours |= mask;
				if (!ranges_add(cal, mask, &rg))
					goto too_many;
			} else if (pass == 1 && mask == 0 &&
				   !ranges_add(cal, work_days & ~own_hours, &rg)) {
				goto too_many;
			}
		}
	for (int d = 0; d < 7; d++) {
		qsort(cal->ranges[d], (size_t)cal->n_ranges[d], sizeof(struct range), range_cmp);
		for (int i = 1; i < cal->n_ranges[d]; i++)
			if (cal->ranges[d][i].start < cal->ranges[d][i - 1].end) {
				errbuf_set(err, 1, "two ranges overlap on %s", day_names[d][0]);
				return bad(cal, field_r, "hours");
			}
	}
	{
		int open_days = 0;

		for (int d = 0; d < 7; d++)
			open_days += cal->n_ranges[d] > 0;
		if (open_days == 0) {
			errbuf_set(err, 1,
				   "the desk would never be open: name working days and hours, or "
				   "use \"24x7\"");
			return bad(cal, field_r, "days");
		}
	}
	for (size_t i = 0; spec->holidays != NULL && spec->holidays[i] != NULL; i++)
		if (!holiday_parse(cal, spec->holidays[i])) {
			errbuf_set(err, 1,
				   "\"%s\" is not a date: use \"2026-12-25\" for one day or "
				   "\"12-25\" for every year",
				   spec->holidays[i]);
			return bad(cal, field_r, "holidays");
		}
	return cal;
too_many:
	errbuf_set(err, 1, "at most %d ranges a day", SLA_MAX_RANGES);
	return bad(cal, field_r, "hours");
}

struct sla_calendar *sla_calendar_new_24x7(void)
{
	struct sla_calendar *cal = calendar_alloc();

	cal->always = TRUE;
	cal->tz = g_time_zone_new_utc();
	return cal;
}

void sla_calendar_free(struct sla_calendar **cal)
{
	struct sla_calendar *c = *cal;

	if (c == NULL)
		return;
	if (c->tz != NULL)
		g_time_zone_unref(c->tz);
	g_hash_table_destroy(c->dates);
	g_hash_table_destroy(c->annual);
	g_free(c);
	*cal = NULL;
}

GTimeZone *sla_calendar_zone(const struct sla_calendar *cal)
{
	return cal != NULL && cal->tz != NULL ? cal->tz : NULL;
}

gboolean sla_calendar_is_24x7(const struct sla_calendar *cal)
{
	return cal->always;
}

static gint64 to_us(GDateTime *t)
{
	return g_date_time_to_unix(t) * G_USEC_PER_SEC + g_date_time_get_microsecond(t);
}

static GDateTime *from_us(GTimeZone *tz, gint64 us)
{
	GDateTime *utc = g_date_time_new_from_unix_utc(0);
	GDateTime *t = g_date_time_add(utc, us);

	g_date_time_unref(utc);
	if (t != NULL) {
		GDateTime *local = g_date_time_to_timezone(t, tz);

		g_date_time_unref(t);
		t = local;
	}
	return t;
}

/* The instant of `minute` minutes after local midnight of date in the zone; 1440 is the next
 * midnight. A time that the zone skips (a DST gap) is the first instant after the gap. */
static gint64 local_us(GTimeZone *tz, const GDate *date, int minute)
{
	GDate d = *date;
	GDateTime *t;
	gint64 us;

	if (minute >= 1440) {
		g_date_add_days(&d, 1);
		minute -= 1440;
	}
	t = g_date_time_new(tz, g_date_get_year(&d), g_date_get_month(&d), g_date_get_day(&d),
			    minute / 60, minute % 60, 0);
	if (t == NULL)
		return G_MAXINT64;
	us = to_us(t);
	g_date_time_unref(t);
	return us;
}

static gboolean is_holiday(const struct sla_calendar *cal, const GDate *date)
{
	return g_hash_table_contains(cal->dates, GUINT_TO_POINTER(g_date_get_julian(date))) ||
	       g_hash_table_contains(cal->annual, GINT_TO_POINTER(g_date_get_month(date) * 100 +
								  g_date_get_day(date)));
}

/* The local date of t in the calendar's zone. */
static void local_date(const struct sla_calendar *cal, GDateTime *t, GDate *date)
{
	GDateTime *local = g_date_time_to_timezone(t, cal->tz);

	g_date_clear(date, 1);
	g_date_set_dmy(date, (GDateDay)g_date_time_get_day_of_month(local),
		       (GDateMonth)g_date_time_get_month(local),
		       (GDateYear)g_date_time_get_year(local));
	g_date_time_unref(local);
}

/* Walks the open intervals [open, close) from the local day of `from` on, clipped to start at
 * `from`, for at most SLA_MAX_DAYS days. visit returns FALSE to stop. */
static void walk(const struct sla_calendar *cal, GDateTime *from,
		 gboolean (*visit)(gint64 open, gint64 close, void *ctx), void *ctx)
{
	gint64 cur = to_us(from);
	GDate date;

	local_date(cal, from, &date);
	for (int day = 0; day < SLA_MAX_DAYS; day++) {
		int wd = g_date_get_weekday(&date) - 1;

		if (cal->n_ranges[wd] > 0 && !is_holiday(cal, &date))
			for (int i = 0; i < cal->n_ranges[wd]; i++) {
				gint64 open = local_us(cal->tz, &date, cal->ranges[wd][i].start);
				gint64 close = local_us(cal->tz, &date, cal->ranges[wd][i].end);

				if (open == G_MAXINT64 || close == G_MAXINT64)
					return;
				if (close <= cur)
					continue;
				if (!visit(MAX(open, cur), close, ctx))
					return;
			}
		/* GDateTime ends with year 9999 */
		if (g_date_get_year(&date) >= 9998)
			return;
		g_date_add_days(&date, 1);
	}
}

struct due_walk {
	gint64 need; /* microseconds of open time still to find */
	gint64 due;  /* 0 until found */
	gboolean found;
};

static gboolean due_visit(gint64 open, gint64 close, void *ctx)
{
	struct due_walk *w = ctx;

	if (w->need <= close - open) {
		w->due = open + w->need;
		w->found = TRUE;
		return FALSE;
	}
	w->need -= close - open;
	return TRUE;
}

GDateTime *sla_due(const struct sla_calendar *cal, GDateTime *start, int minutes)
{
	struct due_walk w = {.need = (gint64)MAX(minutes, 0) * USEC_PER_MINUTE};

	if (cal->always) {
		if (minutes > SLA_MAX_DAYS * 24 * 60)
			return NULL;
		return g_date_time_add(start, w.need);
	}
	walk(cal, start, due_visit, &w);
	return w.found ? from_us(cal->tz, w.due) : NULL;
}

struct sum_walk {
	gint64 to;
	gint64 sum;
};

static gboolean sum_visit(gint64 open, gint64 close, void *ctx)
{
	struct sum_walk *w = ctx;

	if (open >= w->to)
		return FALSE;
	w->sum += MIN(close, w->to) - open;
	return TRUE;
}

int64_t sla_business_minutes(const struct sla_calendar *cal, GDateTime *from, GDateTime *to)
{
	struct sum_walk w = {.to = to_us(to)};

	if (w.to <= to_us(from))
		return 0;
	if (cal->always)
		return MIN(w.to - to_us(from), (gint64)SLA_MAX_DAYS * 24 * 60 * USEC_PER_MINUTE) /
		       USEC_PER_MINUTE;
	walk(cal, from, sum_visit, &w);
	return w.sum / USEC_PER_MINUTE;
}

/* The shipped targets (see sla.h). P1 incidents run around the clock: something that stops many
 * people now does not wait for Monday; everything else counts business time, which is what a
 * desk staffed in office hours can promise. */
static const struct {
	int first_response, resolution;
	gboolean always;
} default_targets[SLA_PRIORITIES][2] = {
    /* incident			request */
    {{15, 4 * 60, TRUE}, {60, 8 * 60, FALSE}},
    {{30, 8 * 60, FALSE}, {2 * 60, 24 * 60, FALSE}},
    {{2 * 60, 24 * 60, FALSE}, {4 * 60, 48 * 60, FALSE}},
    {{4 * 60, 48 * 60, FALSE}, {8 * 60, 90 * 60, FALSE}},
    {{8 * 60, 90 * 60, FALSE}, {16 * 60, 180 * 60, FALSE}},
};

struct sla_conf *sla_conf_new(struct sla_calendar *business)
{
	struct sla_conf *sla = g_new0(struct sla_conf, 1);

	if (business == NULL) {
		struct sla_calendar_spec spec = {0};

		business = sla_calendar_new(&spec, NULL, NULL);
	}
	sla->business = business;
	sla->always = sla_calendar_new_24x7();
	sla->warn_share = SLA_WARN_SHARE;
	sla->notify = g_new0(char *, 1);
	for (int p = 0; p < SLA_PRIORITIES; p++)
		for (int k = 0; k < 2; k++)
			sla->targets[p][k] = (struct sla_target){
			    .first_response = default_targets[p][k].first_response,
			    .resolution = default_targets[p][k].resolution,
			    .calendar = default_targets[p][k].always ? sla->always : sla->business,
			};
	return sla;
}

void sla_conf_free(struct sla_conf **sla)
{
	struct sla_conf *s = *sla;

	if (s == NULL)
		return;
	sla_calendar_free(&s->business);
	sla_calendar_free(&s->always);
	g_strfreev(s->notify);
	g_free(s);
	*sla = NULL;
}

const struct sla_target *sla_target(const struct sla_conf *sla, int priority, enum spoc_kind kind)
{
	return &sla->targets[CLAMP(priority, 1, SLA_PRIORITIES) - 1]
			    [kind == SPOC_KIND_REQUEST ? SPOC_KIND_REQUEST : SPOC_KIND_INCIDENT];
}

const char *sla_watch_target_name(enum sla_watch_target target)
{
	return target == SLA_WATCH_FIRST_RESPONSE ? "first-response" : "resolution";
}

enum sla_watch_level sla_watch_decide(const struct sla_calendar *cal, GDateTime *created,
				      GDateTime *due, GDateTime *now, int warn_share, int *share_r)
{
	int64_t used, total;
	int share;

	if (g_date_time_compare(now, due) >= 0) {
		if (share_r != NULL)
			*share_r = 100;
		return SLA_WATCH_BREACH;
	}
	total = cal != NULL ? sla_business_minutes(cal, created, due) : 0;
	used = cal != NULL ? sla_business_minutes(cal, created, now) : 0;
	if (total <= 0) {
		/* the calendar counts nothing up to due (no calendar, or the target ran on
		 * another one): every minute counts */
		total = g_date_time_difference(due, created) / G_TIME_SPAN_MINUTE;
		used = MAX(g_date_time_difference(now, created), 0) / G_TIME_SPAN_MINUTE;
	}
	/* not breached, so not 100% either, whatever whole minutes say */
	share = total > 0 ? (int)MIN(used * 100 / total, 99) : 0;
	if (share_r != NULL)
		*share_r = share;
	return total > 0 && used * 100 >= (int64_t)warn_share * total ? SLA_WATCH_WARNING
								      : SLA_WATCH_NONE;
}

char *sla_format_time(int64_t when, GTimeZone *tz, const char *lang)
{
	static const char *const days_es[] = {"lunes",	 "martes", "miércoles", "jueves",
					      "viernes", "sábado", "domingo"};
	static const char *const months_es[] = {"ene", "feb", "mar", "abr", "may", "jun",
						"jul", "ago", "sep", "oct", "nov", "dic"};
	static const char *const days_en[] = {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"};
	static const char *const months_en[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
						"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
	gboolean es = g_strcmp0(lang, "es") == 0;
	GDateTime *utc, *local;
	char *text;

	if (when <= 0)
		return g_strdup("-");
	utc = g_date_time_new_from_unix_utc(when);
	local = tz != NULL ? g_date_time_to_timezone(utc, tz) : g_date_time_to_local(utc);
	g_date_time_unref(utc);
	text = g_strdup_printf("%s %d %s %d, %02d:%02d %s",
			       (es ? days_es : days_en)[g_date_time_get_day_of_week(local) - 1],
			       g_date_time_get_day_of_month(local),
			       (es ? months_es : months_en)[g_date_time_get_month(local) - 1],
			       g_date_time_get_year(local), g_date_time_get_hour(local),
			       g_date_time_get_minute(local),
			       g_date_time_get_timezone_abbreviation(local));
	g_date_time_unref(local);
	return text;
}

static gint str_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The holidays of cal as "YYYY-MM-DD" and "MM-DD", sorted; caller frees with g_ptr_array_unref. */
static GPtrArray *holiday_texts(const struct sla_calendar *cal)
{
	GPtrArray *out = g_ptr_array_new_with_free_func(g_free);
	GHashTableIter it;
	gpointer key;

	g_hash_table_iter_init(&it, cal->dates);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		GDate d;

		g_date_clear(&d, 1);
		g_date_set_julian(&d, GPOINTER_TO_UINT(key));
		g_ptr_array_add(out, g_strdup_printf("%04d-%02d-%02d", g_date_get_year(&d),
						     g_date_get_month(&d), g_date_get_day(&d)));
	}
	g_hash_table_iter_init(&it, cal->annual);
	while (g_hash_table_iter_next(&it, &key, NULL)) {
		int md = GPOINTER_TO_INT(key);

		g_ptr_array_add(out, g_strdup_printf("%02d-%02d", md / 100, md % 100));
	}
	g_ptr_array_sort(out, str_cmp);
	return out;
}

char *sla_conf_policy_json(const struct sla_conf *sla)
{
	const struct sla_calendar *cal = sla->business;
	GString *out = g_string_new("{\"timezone\": ");
	const char *zone = !cal->always ? g_time_zone_get_identifier(cal->tz) : "UTC";
	GPtrArray *holidays = holiday_texts(cal);
	const char *sep = "";

	json_string(out, zone);
	g_string_append(out, ", \"hours\": [");
	for (int d = 0; d < 7 && !cal->always; d++)
		for (int i = 0; i < cal->n_ranges[d]; i++) {
			g_string_append_printf(out, "%s[%d, %d, %d]", sep, d + 1,
					       cal->ranges[d][i].start, cal->ranges[d][i].end);
			sep = ", ";
		}
	g_string_append(out, "], \"holidays\": [");
	for (guint i = 0; i < holidays->len; i++) {
		g_string_append(out, i > 0 ? ", " : "");
		json_string(out, g_ptr_array_index(holidays, i));
	}
	g_string_append(out, "], \"targets\": [");
	for (int p = 0; p < SLA_PRIORITIES; p++)
		for (int k = 0; k < 2; k++) {
			const struct sla_target *t = &sla->targets[p][k];

			g_string_append_printf(
			    out, "%s[%d, \"%s\", %d, %d, %s]", p + k > 0 ? ", " : "", p + 1,
			    k == SPOC_KIND_REQUEST ? "request" : "incident", t->first_response,
			    t->resolution, t->calendar->always ? "true" : "false");
		}
	g_string_append(out, "]}");
	g_ptr_array_unref(holidays);
	return g_string_free(out, FALSE);
}
