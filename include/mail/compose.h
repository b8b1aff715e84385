/* Builds the messages spocd sends with GMime, never by pasting strings into headers. */
#ifndef SPOC_COMPOSE_H
#define SPOC_COMPOSE_H

#include "spoc.h"

/* The loop header spocd puts on everything it sends, and checks on what it receives. */
#define SPOC_LOOP_HEADER "X-Spocd-Loop"

struct compose_input {
	const char *from_name; /* desk name */
	const char *from_addr;
	const char *to_name; /* may be NULL or "" */
	const char *to_addr;
	const char *subject;	    /* UTF-8, e.g. "[INC-000123] Printer broken" */
	const char *body;	    /* UTF-8 text */
	const char *message_id;	    /* without brackets */
	const char *in_reply_to;    /* without brackets, may be NULL */
	GPtrArray *references;	    /* char *, without brackets, may be NULL */
	const char *auto_submitted; /* "auto-replied" or "auto-generated" */
	const char *loop_value;	    /* value of the loop header */
	const char *language;	    /* Content-Language */
	const char *reply_to_addr;  /* Reply-To (the ticket's signed reply address), may be NULL */
};

/* TRUE when id (without brackets) can go between angle brackets in In-Reply-To or References:
 * printable ASCII, no whitespace, CR, LF, '<' or '>' (which would end the msg-id or the header
 * early), one '@' as RFC 5322 requires, at most 250 characters (a line must stay foldable). */
gboolean compose_msgid_valid(const char *id);

/* Returns the whole message with CRLF line ends (caller frees with g_byte_array_unref()), or NULL
 * with the reason in err. */
GByteArray *compose_message(const struct compose_input *in, struct errbuf *err);

#endif
