/* What compose.c takes from compose_parts.c: the MIME structure around the text of a mail. */
#ifndef SPOC_COMPOSE_PRIV_H
#define SPOC_COMPOSE_PRIV_H

#include "compose.h"

#include <gmime/gmime.h>

/* The body of a mail: text alone when no attachment of attachments (struct compose_attachment
 * *, may be NULL) is to go, else multipart/mixed with text first and then each attachment
 * whose fate is COMPOSE_FATE_ATTACH, in order. Caller unrefs. */
GMimeObject *compose_parts_body(GMimePart *text, const GPtrArray *attachments);

#endif
