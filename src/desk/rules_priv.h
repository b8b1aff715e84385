/* What rules.c shares with rules_builtin.c only. */
#ifndef SPOC_RULES_PRIV_H
#define SPOC_RULES_PRIV_H

#include "rules.h"

/* The list's last rule is a built-in one: its verdicts are explained by the words it matched,
 * and its patterns read the subject and text with white space made single spaces. */
void rules_mark_builtin(struct rules *rules, enum rules_list list);

#endif
