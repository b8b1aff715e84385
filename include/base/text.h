/* Small text helpers the pure decision modules share (classify, rules, bounce). */
#ifndef SPOC_TEXT_H
#define SPOC_TEXT_H

#include <glib.h>

/* The first max bytes of s (cut on a character boundary), NFC-normalised, so that patterns meet
 * "é" however it was composed. Caller frees. */
char *text_nfc_prefix(const char *s, size_t max);

/* s in lower case without '-', '_', '.' and ' ', up to its last '@' when at_stop: the form in
 * which "Mailer-Daemon", "mailer_daemon" and "MAILER DAEMON" are one name. Caller frees. */
char *text_squash(const char *s, gboolean at_stop);

#endif
