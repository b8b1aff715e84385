/* Service level targets and the clock they run on. A target says how many minutes the desk has
 * for its first response and for the resolution of a ticket of one priority and kind; the
 * minutes are counted on a calendar: business hours in the desk's time zone (working days, one or
 * more ranges of hours a day, holidays) or around the clock (24x7). Pure: no I/O, no clock of its
 * own; the caller says when the ticket started. */
#ifndef SPOC_SLA_H
#define SPOC_SLA_H

#include "spoc.h"
#include "ticket.h"

#include <stdint.h>

/* Priorities 1..SLA_PRIORITIES have targets (ITIL's P1..P5). */
#define SLA_PRIORITIES 5
/* sla_due and sla_business_minutes look at most this many days ahead (about ten years): a target
 * that cannot be met within it has no due time. */
#define SLA_MAX_DAYS 3660
/* Most ranges of working hours in one day. */
#define SLA_MAX_RANGES 8
/* The share of a target's time after which its warning goes out, when sla.warn_share is not set
 * (percent). */
#define SLA_WARN_SHARE 75
/* Most addresses in sla.notify. */
#define SLA_MAX_NOTIFY 32

/* Read-only once built. */
struct sla_calendar;

struct sla_calendar_spec {
	const char *timezone; /* IANA name, e.g. "Europe/Madrid"; NULL: the host's zone */
	/* "mon".."sun" (or "lun".."dom"), or a span "mon-fri"; NULL: mon-fri */
	const char *const *days;
	/* "08:00-15:00", 00:00..24:00, for every working day; or prefixed by a day or span, for
	 * those days only: "fri 08:00-14:00". NULL: 09:00-18:00 */
	const char *const *hours;
	/* "2026-12-25" (that day), or "12-25" (every year); NULL: none */
	const char *const *holidays;
};

struct sla_target {
	int first_response;		     /* minutes on calendar */
	int resolution;			     /* minutes on calendar */
	const struct sla_calendar *calendar; /* borrowed from the struct sla_conf */
};

struct sla_conf {
	struct sla_calendar *business; /* the desk's business hours */
	struct sla_calendar *always;   /* 24x7 */
	/* [priority - 1][enum spoc_kind] */
	struct sla_target targets[SLA_PRIORITIES][2];
	/* percent of a target's time after which the assignee or team is warned, 1..99
	 * (SLA_WARN_SHARE from sla_conf_new()) */
	int warn_share;
	/* who hears of the SLA notices of a ticket with neither assignee nor team, lower case,
	 * NULL-terminated (never NULL itself); empty: every active agent */
	char **notify;
};

/* A business-hours calendar. Returns NULL when the spec is unusable, with *field_r (may be NULL)
 * set to the field at fault ("timezone", "days", "hours", "holidays": static) and the reason in
 * err. Caller frees with sla_calendar_free(). */
struct sla_calendar *sla_calendar_new(const struct sla_calendar_spec *spec, const char **field_r,
				      struct errbuf *err);
/* Every minute counts, holidays too. Caller frees. */
struct sla_calendar *sla_calendar_new_24x7(void);
void sla_calendar_free(struct sla_calendar **cal);
gboolean sla_calendar_is_24x7(const struct sla_calendar *cal);
/* The calendar's time zone (borrowed), or NULL for one without (24x7). */
GTimeZone *sla_calendar_zone(const struct sla_calendar *cal);

/* The moment `minutes` calendar minutes after start: a start outside working time counts from
 * the next opening (so 0 minutes gives the next moment the desk is open), and working time is
 * reckoned in the zone's local time, so a DST change neither adds nor loses an hour of work.
 * NULL when that moment is more than SLA_MAX_DAYS days away (or the calendar never opens).
 * Caller unrefs; in the calendar's zone (start's zone for 24x7). Negative minutes count as 0. */
GDateTime *sla_due(const struct sla_calendar *cal, GDateTime *start, int minutes);

/* Whole calendar minutes between from and to (0 when to is not after from), looking at most
 * SLA_MAX_DAYS days past from. */
int64_t sla_business_minutes(const struct sla_calendar *cal, GDateTime *from, GDateTime *to);

/* Targets and business calendar as shipped: business hours mon-fri 09:00-18:00 in the host's
 * zone; incidents P1 15 min / 4 h around the clock (24x7), P2 30 min / 8 h, P3 2 h / 24 h,
 * P4 4 h / 48 h, P5 8 h / 90 h of business time; requests, all in business time, P1 1 h / 8 h,
 * P2 2 h / 24 h, P3 4 h / 48 h, P4 8 h / 90 h, P5 16 h / 180 h. business replaces the default
 * calendar when not NULL (ownership taken). Caller frees with sla_conf_free(). */
struct sla_conf *sla_conf_new(struct sla_calendar *business);
void sla_conf_free(struct sla_conf **sla);

/* The policy as the database keeps it (sql/020_sla_clocks.sql, sla_policy_set()), so that due
 * times recomputed there agree with sla_due(): a JSON object with "timezone" (the business
 * calendar's IANA name; "UTC" for 24x7), "hours" ([ISO weekday 1..7, start, end] in minutes after
 * local midnight, as the calendar resolved them, by day and start), "holidays" ("YYYY-MM-DD" and
 * "MM-DD", sorted) and "targets" ([priority, kind, first response, resolution, around the clock]).
 * The same policy always gives the same text. Caller g_free()s. */
char *sla_conf_policy_json(const struct sla_conf *sla);

/* The target of a priority (clamped to 1..SLA_PRIORITIES) and kind; owned by sla. */
const struct sla_target *sla_target(const struct sla_conf *sla, int priority, enum spoc_kind kind);

/* ---- warnings and breaches (the SLA watcher's decision, sla_watch.h) ---- */

enum sla_watch_level {
	SLA_WATCH_NONE,
	SLA_WATCH_WARNING,
	SLA_WATCH_BREACH,
};

/* What a running target that started at created and falls due at due calls for at now: a
 * breach once now is not before due; a warning when the share of the target's time used has
 * reached warn_share percent; else nothing. The share counts cal's minutes (business time, or
 * every minute for 24x7; NULL counts every minute too), and plain minutes when cal counts none
 * between created and due (a target that was not on this calendar). *share_r (may be NULL) gets
 * the percent used: 100 at a breach, at most 99 before it. */
enum sla_watch_level sla_watch_decide(const struct sla_calendar *cal, GDateTime *created,
				      GDateTime *due, GDateTime *now, int warn_share, int *share_r);

enum sla_watch_target {
	SLA_WATCH_FIRST_RESPONSE,
	SLA_WATCH_RESOLUTION,
};

/* A moment as people read it in a notice: in zone tz (NULL: the host's), in the language lang
 * ("es": "martes 8 dic 2026, 17:00 CET"; otherwise "Tue 8 Dec 2026, 17:00 CET"), day numbers
 * without padding and names from fixed tables (never the process's locale). "-" for when <= 0 (Unix
 * seconds). Caller g_free()s. */
char *sla_format_time(int64_t when, GTimeZone *tz, const char *lang);

/* "first-response" / "resolution", as sla_notices and outbox.detail spell them. */
const char *sla_watch_target_name(enum sla_watch_target target);

#endif
