/* The list of a requester's open tickets that answers their "#my tickets" (commands.h): the store
 * writes it as a record in the body of the 'my-tickets' outbox row, and the notifier puts each
 * ticket into words with conf/templates/<lang>/ticket-line.txt, in the recipient's language and
 * the desk's zone. The record holds facts, never a sentence. One ticket a line:
 *
 *     DISPLAY \t STATUS \t TARGET \t DUE \t SUBJECT
 *
 * DISPLAY  INC-000123
 * STATUS   new, in-progress or pending (ticket.h)
 * TARGET   first-response or resolution: which target DUE is, the next one still to meet;
 *          empty with DUE 0 when the ticket has none
 * DUE      Unix seconds
 * SUBJECT  the ticket's subject as stored; tabs and line ends are written as spaces
 *
 * Pure: only GLib, echo.c, sla.c and template.c. */
#ifndef SPOC_TICKET_LIST_H
#define SPOC_TICKET_LIST_H

#include "template.h"

#include <glib.h>
#include <stdint.h>

/* Appends one ticket to out in the format above; target may be NULL (none). */
void ticket_list_add(GString *out, const char *display, const char *status, const char *target,
		     int64_t due, const char *subject);

/* The placeholders ticket-line.txt may use (NULL-terminated): ticket, subject (made safe to
 * echo, echo.h), due (the time in words, "-" when none), flags is_new, is_in_progress,
 * is_pending, is_first_response, is_resolution, has_due. */
extern const char *const ticket_list_fields[];

/* The tickets of record rendered one by one with line_tpl (loaded with ticket_list_fields), each
 * without its final line end, joined with "\n"; times in tz, in lang ("es" or "en"). "" for an
 * empty record; NULL when record is not in the format. Caller g_free()s. */
char *ticket_list_render(const struct template *line_tpl, const char *record, GTimeZone *tz,
			 const char *lang);

#endif
