/* Spam verdicts the desk's own border wrote into a mail's header: SpamAssassin's X-Spam-Flag and
 * X-Spam-Status, rspamd's X-Spam, X-Spamd-Result and X-Spam-Action, Microsoft 365's
 * X-MS-Exchange-Organization-SCL and the SFV field of X-Forefront-Antispam-Report, or an
 * operator's own header and pattern. A mail with a positive verdict is spam: kept in quarantine,
 * never a ticket, never acknowledged (an acknowledgement to a forged sender is backscatter).
 *
 * Only a positive verdict counts, and a sender who writes one into their own mail only sends it
 * to quarantine; what a sender must not do is hide the border's verdict, which is why the border
 * must write its own headers and remove any copies that came from outside (README: "Spam").
 * Pure: only GLib. */
#ifndef SPOC_SPAM_H
#define SPOC_SPAM_H

#include "mime.h"

#include <glib.h>

/* One header whose value, read raw, marks a mail as spam when pattern matches it. */
struct spam_rule {
	char *filter; /* the preset's name ("spamassassin", "rspamd", "microsoft365") or "custom" */
	char *header; /* field name, compared without case */
	GRegex *regex; /* case-insensitive, on the raw unfolded value */
};

/* The names of the built-in presets, NULL-terminated. */
extern const char *const spam_presets[];

/* Appends the rules of the preset called name to rules (struct spam_rule *, freed with the
 * array's free function spam_rule_free); FALSE when there is no such preset. */
gboolean spam_add_preset(GPtrArray *rules, const char *name);

/* Appends a rule for header whose value matches pattern (a GRegex, case-insensitive); FALSE with
 * *error_r (caller g_free()s) when the pattern does not compile or header is not a field name. */
gboolean spam_add_rule(GPtrArray *rules, const char *header, const char *pattern, char **error_r);

void spam_rule_free(gpointer rule);

/* NULL when no rule matches mail's header; otherwise why it is spam, e.g.
 * "spam: X-Spam-Flag: YES (spamassassin)", the value cut to 80 characters (caller g_free()s).
 * Every occurrence of each header counts. rules may be NULL (no rule). */
char *spam_verdict(const struct mail *mail, const GPtrArray *rules);

#endif
