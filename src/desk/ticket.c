/* The desk's vocabulary (ticket.h): kind and status names, and ticket numbers as people see them
 * and type them back: "INC-000123" / "REQ-000124", one sequence for both kinds, at least six
 * digits (more once the sequence passes 999999). Parsing is case-insensitive because people
 * retype subjects; ticket_find_tag() finds the "[INC-000123]" tag that every message spocd sends
 * carries in its subject. */
#include "ticket.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* More digits than this cannot be a ticket of ours (and would overflow int64_t). */
#define TICKET_MAX_DIGITS 18

const char *const ticket_kind_names[TICKET_KINDS + 1] = {"incident", "request", NULL};
const char *const ticket_status_names[TICKET_STATUSES + 1] = {"new",	  "in-progress", "pending",
							      "resolved", "closed",	 NULL};

const char *ticket_kind_name(enum spoc_kind kind)
{
	return ticket_kind_names[kind == SPOC_KIND_REQUEST ? SPOC_KIND_REQUEST
							   : SPOC_KIND_INCIDENT];
}

const char *ticket_status_name(enum ticket_status status)
{
	return (unsigned)status < TICKET_STATUSES ? ticket_status_names[status] : "closed";
}

gboolean ticket_status_parse(const char *name, enum ticket_status *status_r)
{
	for (int i = 0; name != NULL && i < TICKET_STATUSES; i++)
		if (strcmp(name, ticket_status_names[i]) == 0) {
			if (status_r != NULL)
				*status_r = (enum ticket_status)i;
			return TRUE;
		}
	return FALSE;
}

gboolean ticket_status_is_open(enum ticket_status status)
{
	return status == TICKET_NEW || status == TICKET_IN_PROGRESS || status == TICKET_PENDING;
}

const char *ticket_prefix(enum spoc_kind kind)
{
	return kind == SPOC_KIND_REQUEST ? "REQ" : "INC";
}

void ticket_format(enum spoc_kind kind, int64_t number, char *out, size_t outlen)
{
	snprintf(out, outlen, "%s-%06" PRId64, ticket_prefix(kind), number);
}

/* Parses "INC-000123" at the start of text; returns the number of bytes it spans, 0 when text
 * does not start with a ticket number. Numbers start at 1: "INC-000000" is not a ticket. */
static size_t ticket_scan(const char *text, enum spoc_kind *kind_r, int64_t *number_r)
{
	enum spoc_kind kind;
	int64_t number = 0;
	size_t i = 4;

	if (g_ascii_strncasecmp(text, "INC-", 4) == 0)
		kind = SPOC_KIND_INCIDENT;
	else if (g_ascii_strncasecmp(text, "REQ-", 4) == 0)
		kind = SPOC_KIND_REQUEST;
	else
		return 0;
	while (g_ascii_isdigit(text[i])) {
		if (i - 4 >= TICKET_MAX_DIGITS)
			return 0;
		number = number * 10 + (text[i] - '0');
		i++;
	}
	if (i == 4 || number == 0)
		return 0;
	if (kind_r != NULL)
		*kind_r = kind;
	if (number_r != NULL)
		*number_r = number;
	return i;
}

gboolean ticket_parse(const char *text, enum spoc_kind *kind_r, int64_t *number_r)
{
	enum spoc_kind kind;
	int64_t number;
	size_t n;

	if (text == NULL)
		return FALSE;
	while (g_ascii_isspace(*text))
		text++;
	n = ticket_scan(text, &kind, &number);
	if (n == 0)
		return FALSE;
	for (const char *p = text + n; *p != '\0'; p++)
		if (!g_ascii_isspace(*p))
			return FALSE;
	if (kind_r != NULL)
		*kind_r = kind;
	if (number_r != NULL)
		*number_r = number;
	return TRUE;
}

gboolean ticket_find_tag(const char *subject, enum spoc_kind *kind_r, int64_t *number_r)
{
	if (subject == NULL)
		return FALSE;
	for (const char *p = strchr(subject, '['); p != NULL; p = strchr(p + 1, '[')) {
		enum spoc_kind kind;
		int64_t number;
		size_t n = ticket_scan(p + 1, &kind, &number);

		if (n == 0 || p[1 + n] != ']')
			continue;
		if (kind_r != NULL)
			*kind_r = kind;
		if (number_r != NULL)
			*number_r = number;
		return TRUE;
	}
	return FALSE;
}
