/* Small text helpers the pure decision modules share (classify, rules, bounce, dsn). */
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

#endif
