/* Splits the text of one incoming message into what the sender wrote now, the quoted history of
 * earlier messages and the sender's signature, so that an agent reads the new part first and a
 * ticket does not grow by the whole thread with every reply. Pure: no I/O, only GLib. */
#ifndef SPOC_REPLY_H
#define SPOC_REPLY_H

#include <glib.h>

/* Each field is trimmed, valid UTF-8, "" when empty. */
struct reply_parts {
	/* what the sender wrote in this message; with answers interleaved between '>' lines, the
	 * quotes they answer too, and a forwarded message the sender added */
	char *new_text;
	/* the quoted history: from its first marker (attribution line, header block, '>' block) to
	 * the end, and a '>' block above the answer when the sender posted below it */
	char *quoted;
	/* from a "-- " line or a mobile line ("Sent from my iPhone") to the quote or the end */
	char *signature;
	/* where in new_text a forwarded message the sender added starts (its separator line);
	 * strlen(new_text) when there is none. What comes before is the sender's own writing. */
	size_t forward_at;
};

/* Flags for reply_split_flags(). */
enum reply_flags {
	/* The subject says the message is a forward (see reply_subject_is_forward()): a header
	 * block such as Outlook's "From:/Sent:/To:/Subject:" or "-----Original Message-----" then
	 * starts the forwarded message, which stays in new_text, instead of a reply's history. */
	REPLY_FORWARDED = 1 << 0,
};

/* Fills parts from text (UTF-8, LF line endings; invalid UTF-8 is repaired first). Never fails.
 * The three fields partition the text's non-blank lines: every one of them is in exactly one
 * field, in its original order, and nothing is added but blank lines between pieces of a field
 * that were apart. Each field is trimmed (leading blank lines, trailing blanks). Time and memory
 * are linear in the text. Caller frees the fields with reply_parts_clear(). */
void reply_split(const char *text, struct reply_parts *parts);

/* reply_split() with flags, a combination of enum reply_flags. */
void reply_split_flags(const char *text, unsigned flags, struct reply_parts *parts);

/* TRUE when a subject starts with a forward prefix ("Fwd:", "FW:", "RV:", "WG:", "TR:", "Enc:"),
 * so the caller can pass REPLY_FORWARDED. "Re: Fwd:" is a reply, not a forward. */
gboolean reply_subject_is_forward(const char *subject);

/* text (what an agent wrote now, new_text) without the agent's sign-off at its end, for relaying
 * it under a line of the desk's own that names the agent: the closing and the name ("Saludos,\n
 * Ana García", "Thanks, Ana", the name alone after a blank line) and up to three short lines
 * after it (a title, a phone), where the name is name or its first word, compared without case
 * or accents. Anything else stays as it was: the name inside or at the end of a sentence, more
 * or longer lines after it, and a text that is nothing but the sign-off. Returns valid UTF-8,
 * trimmed when something was taken off; caller frees with g_free(). text and name may be NULL. */
char *reply_drop_signoff(const char *text, const char *name);

/* Frees the fields and sets them to NULL; parts itself is the caller's. */
void reply_parts_clear(struct reply_parts *parts);

#endif
