/* Logging for main.c and the drivers of the pipeline: to the journal when systemd connected our
 * stderr to it (JOURNAL_STREAM), otherwise "<N>"-prefixed lines on stderr (sd-daemon(3) style).
 * Never pass message bodies or secrets. */
#ifndef SPOC_LOG_H
#define SPOC_LOG_H

#include <glib.h>
#include <syslog.h>

void log_init(const char *ident);
void log_set_level(int priority);
void log_msg(int priority, const char *fmt, ...) G_GNUC_PRINTF(2, 3);

#endif
