/* What log.c does between formatting and writing, apart so that tests/unit/test_log.c can check
 * it exactly without a journal: cleaning one value, the journal fields of an event, the stderr
 * line, and whether JOURNAL_STREAM names a given descriptor. Nobody but log.c and its test. */
#ifndef SPOC_LOG_PRIV_H
#define SPOC_LOG_PRIV_H

#include "log.h"

/* Bytes of one journal field value after cleaning (RFC 5322's line bound: a Message-ID or a
 * mailbox name that long is already not one to read). */
#define LOG_VALUE_MAX 998
/* Bytes of one stderr line, "<N>" and the newline included; MESSAGE= is cut to the same text. */
#define LOG_LINE_MAX 2048
#define LOG_TEXT_MAX (LOG_LINE_MAX - 4)

/* s as one safe line of at most max bytes (max >= 4): invalid UTF-8 becomes U+FFFD, each run of
 * CR/LF and each tab becomes a space, every other control character (C0, DEL, C1) and U+2028/9
 * becomes '?', trailing spaces go, and a longer result is cut at a character boundary and ends
 * with "...". Caller g_free()s. */
char *log_clean(const char *s, gsize max);

/* The journal fields of one event, each a "NAME=value" string (cleaned), in this order: MESSAGE,
 * PRIORITY, SYSLOG_IDENTIFIER, then only those set: MESSAGE_ID (event), MAILBOX, UID,
 * MAIL_MESSAGE_ID, TICKET, OUTBOX_ID. A NULL or empty string and a 0 number are unset. priority
 * is clamped to LOG_EMERG..LOG_DEBUG. Caller g_ptr_array_unref()s (it frees the strings). */
GPtrArray *log_build_fields(int priority, const char *ident, const char *event,
			    const struct log_fields *f, const char *text);

/* "<N>text\n" with text cleaned, at most LOG_LINE_MAX bytes. Caller g_free()s. */
char *log_build_line(int priority, const char *text);

/* TRUE when js (JOURNAL_STREAM's value, may be NULL) is "DEVICE:INODE" in decimal and equals
 * the device and inode of the file open on fd: only then is that descriptor the journal
 * (systemd.exec(5), JOURNAL_STREAM). */
gboolean log_stream_is_journal(const char *js, int fd);

#endif
