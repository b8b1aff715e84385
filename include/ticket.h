/* Ticket numbers as people see them: INC-000123 / REQ-000124, one sequence for both kinds. */
#ifndef SPOC_TICKET_H
#define SPOC_TICKET_H

#include "conf.h"

#include <stdint.h>

/* "INC" or "REQ". */
const char *ticket_prefix(enum spoc_kind kind);
/* Formats e.g. INC-000123 into out (at least 32 bytes). */
void ticket_format(enum spoc_kind kind, int64_t number, char *out, size_t outlen);
/* Parses "INC-000123" / "req-42"; returns TRUE and fills the outputs when it is a ticket number. */
gboolean ticket_parse(const char *text, enum spoc_kind *kind_r, int64_t *number_r);
/* Finds the first "[INC-000123]" style tag in a subject; same contract as ticket_parse. */
gboolean ticket_find_tag(const char *subject, enum spoc_kind *kind_r, int64_t *number_r);

#endif
