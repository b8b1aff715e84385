/* What spocd makes of one message, as JSON, without any server or database: the operator's answer
 * to "why did this mail do that?". Also the JSON writing the operator's tools share. */
#ifndef SPOC_INSPECT_H
#define SPOC_INSPECT_H

#include "conf.h"
#include "text.h"

#include <glib.h>

/* The JSON document for the raw message (see README "spocctl inspect"). label names the input
 * ("-" for standard input). conf gives limits, charsets and the desk's rules; NULL: the built-in
 * defaults. mailbox (may be NULL) is the name of the configured mailbox it is judged as read
 * from: its rules and default_kind. Never fails: a message that cannot be parsed gives outcome
 * "quarantine" and its reason. Caller frees. */
char *inspect_json(const char *label, const char *raw, size_t len, const struct spoc_conf *conf,
		   const char *mailbox);

#endif
