/* The configuration readers of the desk's judgement: the `rules` section (kind, impact, urgency,
 * priority matrix) and the `sla` section (business calendar and targets). conf_load() calls them
 * with its reader; they live in conf_rules.c, apart from conf.c only for size. */
#ifndef SPOC_CONF_RULES_H
#define SPOC_CONF_RULES_H

#include "rules.h"
#include "sla.h"

struct reader;

/* Reads `rules` (and desk.addresses, desk.default_kind, which it builds on) into *rules_r: the
 * built-in set where the section says nothing. *rules_r is always set, also when an error was
 * recorded in the reader (file, line, setting); caller frees with rules_free(). */
void conf_read_rules(struct reader *r, struct rules **rules_r);

/* Reads `sla` into *sla_r, the shipped targets and calendar where the section says nothing.
 * *sla_r is always set; caller frees with sla_conf_free(). */
void conf_read_sla(struct reader *r, struct sla_conf **sla_r);

#endif
