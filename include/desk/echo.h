/* What a notice may repeat of text a stranger wrote. An acknowledgement goes to whatever address
 * a mail came from, signed with the desk's DKIM: if it repeated a display name or a subject as
 * written ("Your mailbox is full, log in at http://evil.example"), anyone could make the desk
 * send their words to anyone, looking like the desk's own. So what is echoed is bounded (a name
 * at most ECHO_NAME_MAX characters, a subject at most ECHO_SUBJECT_MAX), one line of plain text,
 * without the characters that hide or reorder text, and with every link a mail client would
 * make clickable defanged. Pure: only GLib. */
#ifndef SPOC_ECHO_H
#define SPOC_ECHO_H

#include <glib.h>

#define ECHO_NAME_MAX	 64
#define ECHO_SUBJECT_MAX 120

/* text (NULL is "") made safe to echo, as one line of at most max_chars characters (a longer one
 * is cut and ends in "…"). Invalid UTF-8 is repaired; C0 and C1 controls, DEL and the line and
 * paragraph separators become spaces; format characters (bidi controls such as U+202E, zero-width
 * characters, the soft hyphen, U+FEFF) are removed; runs of blanks become one space, trimmed.
 * Then links are defanged: "://" becomes "[:]//" and the dots of a word that a mail client would
 * turn into a link (one with "://", one that starts with "www.", or an address or host name whose
 * last label is a known top-level domain or two letters) become "[.]". Caller g_free()s. */
char *echo_text(const char *text, size_t max_chars);

#endif
