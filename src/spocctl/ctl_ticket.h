/* What the files of `spocctl ticket` share: ctl_ticket.c parses the arguments, lists and sets;
 * ctl_ticket_show.c shows one ticket and describes the fields of a ticket for both. */
#ifndef SPOC_CTL_TICKET_H
#define SPOC_CTL_TICKET_H

#include "ctl.h"
#include "store_admin.h"

/* A ticket's fields: the first CTL_TICKET_LIST_COLUMNS are list's (its JSON and its table),
 * the rest, up to CTL_TICKET_COLUMNS, show's JSON only. */
#define CTL_TICKET_LIST_COLUMNS 22
#define CTL_TICKET_COLUMNS	33
extern const struct ctl_column ctl_ticket_columns[CTL_TICKET_COLUMNS];
/* t as a row of tb, with show's fields when full. */
void ctl_ticket_row(struct ctl_table *tb, const struct ticket_info *t, gboolean full);

/* The id of the ticket ref names (INC-000123, REQ-000123 or its number) into *id_r; 0, or an
 * exit status after a message naming what (the command) and ref. */
int ctl_ticket_find(struct ctl *c, const char *what, const char *ref, int64_t *id_r);
/* `ticket show REF`: the exit status. */
int ctl_ticket_show(struct ctl *c, const char *ref);

#endif
