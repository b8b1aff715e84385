/* Small text helpers the pure decision modules share (classify, rules, bounce, dsn), and the one
 * form in which text from mail or the database may reach an operator's terminal. */
#ifndef SPOC_TEXT_H
#define SPOC_TEXT_H

#include <glib.h>

/* The first max bytes of s (cut on a character boundary), NFC-normalised, so that patterns meet
 * "é" however it was composed. Caller frees. */
char *text_nfc_prefix(const char *s, size_t max);

/* s in lower case without '-', '_', '.' and ' ', up to its last '@' when at_stop: the form in
 * which "Mailer-Daemon", "mailer_daemon" and "MAILER DAEMON" are one name. Caller frees. */
char *text_squash(const char *s, gboolean at_stop);

/* The first len bytes of s as one readable line: invalid UTF-8 replaced, runs of white space,
 * control and format characters one space, none at either end, at most max bytes cut on a
 * character boundary. NULL when nothing is left. Caller frees. */
char *text_one_line(const char *s, size_t len, size_t max);

/* ---- what a terminal may be given ----
 *
 * A subject, a name or a mail's text is a stranger's: an escape sequence in it would act on the
 * terminal that shows it (clear it, set its title, write the clipboard through OSC 52), a C1
 * control is one in a single character, and bidi controls and invisible characters make text
 * read as something else ("\u202Egnp.exe" shows as "exe.png"). Every character a terminal must not
 * receive as it is becomes a visible escape:
 *   ESC                 \e
 *   newline, tab, CR    \n \t \r (newline and tab kept for TEXT_TERMINAL_LINES)
 *   other C0, DEL       \x00 .. \x1f, \x7f
 *   a byte that is not UTF-8, NUL included      \xff
 *   C1 controls, bidi controls, zero-width and other format characters, the line and paragraph
 *   separators, invisible fillers and tags      \u009B, \u202E, \u200B, \U000E0041
 * A backslash stays as it is: --json or --raw tells a written "\e" from an escape. What comes out
 * is printable UTF-8 and does not change when escaped again. */

enum text_terminal {
	TEXT_TERMINAL_LINE,  /* one line (a table's cell, a name, an error): newline and tab escaped
			      */
	TEXT_TERMINAL_LINES, /* lines (a mail's text): newline and tab kept, a CR before LF dropped
			      */
};

/* TRUE when text_for_terminal() writes c as an escape. */
gboolean text_terminal_escapes(gunichar c);

/* The first len bytes of s (len < 0: up to its NUL) with every character a terminal must not get
 * as it is written as its escape. One pass, at most 4 bytes out per byte in. Caller frees. */
char *text_for_terminal(const char *s, gssize len, enum text_terminal how);

/* text_for_terminal(s, len, TEXT_TERMINAL_LINE) in at most columns terminal columns (>= 1): when
 * it is longer, cut where a character or an escape ends and "…" added. Reads no further than it
 * writes. Caller frees. */
char *text_for_terminal_cut(const char *s, gssize len, glong columns);

/* The terminal columns valid UTF-8 s takes: 2 for a wide character, 0 for a combining one, 1 for
 * any other (every character of what text_for_terminal() gives is printable). */
glong text_columns(const char *s);

/* JSON text (len < 0: up to its NUL) with every character text_terminal_escapes() names but
 * newline written as a JSON \u escape (a pair of them above U+FFFF), and each byte that is not
 * UTF-8 as \uFFFD: JSON whose only white space outside strings is blanks and newlines stays
 * valid and, but for bytes that were not UTF-8, means the same. Caller frees. */
char *text_json_for_terminal(const char *json, gssize len);

/* Appends s as a JSON string (NULL: null). Invalid UTF-8 is repaired with U+FFFD. */
void json_string(GString *out, const char *s);

#endif
