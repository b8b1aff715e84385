/* Where log lines go: journald with a PRIORITY field when stderr is the journal, "<N>message" on
 * stderr otherwise, which journald and humans both read. */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <systemd/sd-journal.h>

static int threshold = LOG_INFO;
static gboolean to_journal;
static const char *log_ident = "spocd";

void log_init(const char *ident)
{
	const char *js = g_getenv("JOURNAL_STREAM");

	log_ident = ident;
	to_journal = js != NULL && js[0] != '\0';
}

void log_set_level(int priority)
{
	threshold = priority;
}

void log_msg(int priority, const char *fmt, ...)
{
	char line[2048];
	va_list ap;

	if (priority > threshold)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (to_journal) {
		sd_journal_send("MESSAGE=%s", line, "PRIORITY=%d", priority, "SYSLOG_IDENTIFIER=%s",
				log_ident, NULL);
		return;
	}
	fprintf(stderr, "<%d>%s\n", priority, line);
}
