/* The small template language of what spocd sends: text with {{placeholder}} fields. A template
 * is checked when loaded: a placeholder that is not in the allowed list is an error naming the
 * file and line, never a blank in a customer's mail. */
#ifndef SPOC_TEMPLATE_H
#define SPOC_TEMPLATE_H

#include "spoc.h"

struct template;

/* Loads path; allowed is a NULL-terminated list of placeholder names. Caller frees with
 * template_free(). NULL with the reason in err on failure. */
struct template *template_load(const char *path, const char *const *allowed, struct errbuf *err);
void template_free(struct template **t);

/* Renders with values from vars (name -> UTF-8 value); a name missing from vars renders empty.
 * Caller g_free()s the result. */
char *template_render(const struct template *t, GHashTable *vars);

#endif
