/* Pure decisions about one parsed mail: is it automatic (never acknowledged), is it an incident
 * or a service request, and which language should we answer in. No I/O. */
#ifndef SPOC_CLASSIFY_H
#define SPOC_CLASSIFY_H

#include "conf.h"
#include "mime.h"

/* TRUE when the mail was sent by a machine (RFC 3834 Auto-Submitted, Precedence bulk/junk/list,
 * mailer-daemon, our own loop header, one of the desk's own addresses...). *why_r gets a static
 * description of the rule that matched. */
gboolean classify_is_automatic(const struct mail *mail, const char *const *desk_addresses,
			       const char **why_r);

/* Incident or request from keyword rules in Spanish and English over subject and text; dflt when
 * nothing matches. *rule_r gets a static description of the rule that decided. */
enum spoc_kind classify_kind(const struct mail *mail, enum spoc_kind dflt, const char **rule_r);

/* "es" or "en", from the words of the subject and text; dflt when undecided. Static string. */
const char *classify_language(const struct mail *mail, const char *dflt);

/* The loop header spocd puts on everything it sends, and checks on what it receives. */
#define SPOC_LOOP_HEADER "X-Spocd-Loop"

#endif
