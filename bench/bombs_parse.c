/* bench/bombs' measuring program: one message, read from a file, through what spocd does with a
 * stranger's bytes before the database: mime_parse() with the daemon's default limits (the
 * pre-scan, GMime, the body's HTML or a winmail.dat's rich text turned into text, attachments,
 * uuencoded files, the reply split), then the subject's normal form and ticket tag
 * (thread_subject_base(), ticket_find_tag()). Prints one line for bench/bombs:
 *
 *   wall_s=0.123 cpu_s=0.120 rss_kib=45678 outcome=parsed|refused detail=<reason or what...>
 *
 * wall_s counts from the bytes in memory to the last result freed, cpu_s the user and system time
 * of that stretch (on a machine others share, the figure that does not depend on them); rss_kib
 * is the process's peak
 * resident set (VmHWM, not getrusage(), whose figure can include the pages of the process that
 * started this one), the input's own copy included, as the daemon holds it too. */
#include "mime.h"
#include "thread.h"
#include "ticket.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

/* User and system time of this process so far, in seconds. */
static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

/* VmHWM of this process, in KiB; -1 when /proc does not say. */
static long peak_rss_kib(void)
{
	char *status = NULL, *at;
	long kib = -1;

	if (g_file_get_contents("/proc/self/status", &status, NULL, NULL) &&
	    (at = strstr(status, "\nVmHWM:")) != NULL)
		kib = strtol(at + 7, NULL, 10);
	g_free(status);
	return kib;
}

int main(int argc, char **argv)
{
	/* conf.c's defaults: imap.max_message_bytes and the parsing section */
	const struct mime_limits limits = {.max_message_bytes = 26214400,
					   .max_parts = 500,
					   .max_depth = 20,
					   .max_attachment_bytes = 26214400,
					   .max_header_bytes = 262144};
	struct errbuf err = {{0}};
	struct mail *m = NULL;
	GString *detail = g_string_new(NULL);
	GError *error = NULL;
	gint64 start;
	double cpu;
	gsize len;
	char *raw;
	int rc;

	if (argc != 2) {
		fprintf(stderr, "usage: %s FILE\n", argv[0]);
		return 2;
	}
	if (!g_file_get_contents(argv[1], &raw, &len, &error)) {
		fprintf(stderr, "%s\n", error->message);
		return 1;
	}
	mime_init();
	start = g_get_monotonic_time();
	cpu = cpu_s();
	rc = mime_parse(raw, len, &limits, &m, &err);
	if (rc == SPOC_OK) {
		enum spoc_kind kind;
		int64_t number;
		char *base = thread_subject_base(m->subject);

		ticket_find_tag(m->subject, &kind, &number);
		g_string_printf(detail, "%u attachments, text %zu bytes, subject base %zu bytes",
				m->attachments->len, strlen(m->text), strlen(base));
		for (guint i = 0; i < m->limits_hit->len; i++) {
			const struct mail_limit_hit *h = g_ptr_array_index(m->limits_hit, i);

			g_string_append_printf(detail, "; %s", h->detail);
		}
		g_free(base);
		mail_free(&m);
	} else {
		g_string_assign(detail, err.msg);
	}
	printf("wall_s=%.3f cpu_s=%.3f", (double)(g_get_monotonic_time() - start) / G_USEC_PER_SEC,
	       cpu_s() - cpu);
	printf(" rss_kib=%ld outcome=%s detail=%s\n", peak_rss_kib(),
	       rc == SPOC_OK ? "parsed" : "refused", detail->str);
	g_string_free(detail, TRUE);
	g_free(raw);
	mime_shutdown();
	return 0;
}
