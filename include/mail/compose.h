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
	/* struct compose_attachment *, may be NULL: those whose fate is COMPOSE_FATE_ATTACH and
	 * whose data is read go into the mail after the text (compose_parts.c) */
	const GPtrArray *attachments;
};

/* What becomes of one stored attachment of the mail a notice relays. */
enum compose_fate {
	COMPOSE_FATE_ATTACH,  /* goes into the mail */
	COMPOSE_FATE_TOO_BIG, /* over what is left of notify.max_attachment_bytes: listed */
	COMPOSE_FATE_RISKY,   /* a program or script, never sent by mail: listed */
};

/* One attachment as the store keeps it (sql/002_fidelity.sql), for a mail that carries it. */
struct compose_attachment {
	int64_t id;	    /* attachments.id, what `spocctl attachment get ID` fetches */
	char *name;	    /* as stored (mime_safe_filename()); made safe again when composed */
	char *content_type; /* as stored, lower case */
	char *content_id;   /* without brackets, NULL: none */
	gboolean inline_;   /* the original showed it in its text */
	int64_t size;	    /* bytes */
	GBytes *data;	    /* NULL until it is chosen and read */
	enum compose_fate fate;
};
/* Frees a struct compose_attachment (a GPtrArray free function). */
void compose_attachment_free(gpointer p);

/* What a carries into the mail: its base64 text with line ends and its part's headers (a name
 * encoded by RFC 2231 may take three times its bytes), so that a budget of bytes bounds the
 * mail. */
int64_t compose_attachment_cost(const struct compose_attachment *a);
/* TRUE when a looks like a program or script (by the extension of its name or its type): mail
 * relays refuse those, and a desk does not hand a stranger's program around. */
gboolean compose_attachment_risky(const struct compose_attachment *a);
/* Sets the fate of each attachment of list (struct compose_attachment *), in their order: a
 * risky one is listed; one whose cost fits what is left of budget goes, and the budget shrinks
 * by it; one that does not is listed, and a smaller one after it may still go. budget 0 sends
 * none. */
void compose_attachments_choose(GPtrArray *list, int64_t budget);

/* TRUE when id (without brackets) can go between angle brackets in In-Reply-To or References:
 * printable ASCII, no whitespace, CR, LF, '<' or '>' (which would end the msg-id or the header
 * early), one '@' as RFC 5322 requires, at most 250 characters (a line must stay foldable). */
gboolean compose_msgid_valid(const char *id);

/* Returns the whole message with CRLF line ends (caller frees with g_byte_array_unref()), or NULL
 * with the reason in err. */
GByteArray *compose_message(const struct compose_input *in, struct errbuf *err);

#endif
