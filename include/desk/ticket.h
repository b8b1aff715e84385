/* The desk's vocabulary, in one place: the two kinds of ticket (ITIL's incident and service
 * request), the five statuses a ticket moves through, its priorities, and the numbers people see
 * and type back: INC-000123 / REQ-000124, one sequence for both kinds. The names here are the
 * ones the database stores (sql/, CHECK constraints) and the configuration and spocctl accept.
 * Pure: no I/O. */
#ifndef SPOC_TICKET_H
#define SPOC_TICKET_H

#include <glib.h>
#include <stddef.h>
#include <stdint.h>

enum spoc_kind {
	SPOC_KIND_INCIDENT,
	SPOC_KIND_REQUEST,
};
#define TICKET_KINDS 2

/* In the order a ticket usually moves through them; resolved may go back to in-progress within
 * the reopen window, closed is final. */
enum ticket_status {
	TICKET_NEW,
	TICKET_IN_PROGRESS,
	TICKET_PENDING, /* waiting for the requester */
	TICKET_RESOLVED,
	TICKET_CLOSED,
};
#define TICKET_STATUSES 5

/* P1 (most urgent) .. P5 */
#define TICKET_PRIORITY_MIN 1
#define TICKET_PRIORITY_MAX 5

/* "incident", "request", NULL: indexed by enum spoc_kind, NULL-terminated for choice lists */
extern const char *const ticket_kind_names[TICKET_KINDS + 1];
/* "new", "in-progress", "pending", "resolved", "closed", NULL: indexed by enum ticket_status */
extern const char *const ticket_status_names[TICKET_STATUSES + 1];

/* "incident" or "request" (static). */
const char *ticket_kind_name(enum spoc_kind kind);
/* The status's stored name (static). */
const char *ticket_status_name(enum ticket_status status);
/* TRUE and *status_r when name is exactly a stored status name. */
gboolean ticket_status_parse(const char *name, enum ticket_status *status_r);
/* TRUE for new, in-progress and pending: the ticket still needs the desk. */
gboolean ticket_status_is_open(enum ticket_status status);

/* "INC" or "REQ". */
const char *ticket_prefix(enum spoc_kind kind);
/* Formats e.g. INC-000123 into out (at least 32 bytes). */
void ticket_format(enum spoc_kind kind, int64_t number, char *out, size_t outlen);
/* Parses "INC-000123" / "req-42"; returns TRUE and fills the outputs when it is a ticket number. */
gboolean ticket_parse(const char *text, enum spoc_kind *kind_r, int64_t *number_r);
/* Finds the first "[INC-000123]" style tag in a subject; same contract as ticket_parse. */
gboolean ticket_find_tag(const char *subject, enum spoc_kind *kind_r, int64_t *number_r);

#endif
