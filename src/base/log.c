/* Where log lines go: to the journal through its native protocol, with a stable MESSAGE_ID per
 * kind of event and the fields of what the event is about, when systemd connected our stderr to
 * it; "<N>message" lines on stderr otherwise, which journald and humans both read. Every value is
 * made one bounded line here, so a hostile Message-ID cannot forge log lines or flood the log;
 * keeping bodies and secrets out is the callers' part. */
#include "log.h"
#include "log_priv.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>
/* CODE_FILE/CODE_LINE/CODE_FUNC would always name send_journal() below: leave them out. */
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

static int threshold = LOG_INFO;
static gboolean to_journal;
static const char *log_ident = "spocd";

gboolean log_stream_is_journal(const char *js, int fd)
{
	const char *colon;
	char *dev_text;
	guint64 dev, ino;
	gboolean parsed;
	struct stat st;

	if (js == NULL || (colon = strchr(js, ':')) == NULL)
		return FALSE;
	dev_text = g_strndup(js, (gsize)(colon - js));
	parsed = g_ascii_string_to_unsigned(dev_text, 10, 0, G_MAXUINT64, &dev, NULL) &&
		 g_ascii_string_to_unsigned(colon + 1, 10, 0, G_MAXUINT64, &ino, NULL);
	g_free(dev_text);
	if (!parsed || fstat(fd, &st) != 0)
		return FALSE;
	return (guint64)st.st_dev == dev && (guint64)st.st_ino == ino;
}

void log_init(const char *ident)
{
	log_ident = ident;
	to_journal = log_stream_is_journal(g_getenv("JOURNAL_STREAM"), STDERR_FILENO);
}

void log_set_level(int priority)
{
	threshold = priority;
}

static void chomp_spaces(GString *s)
{
	while (s->len > 0 && s->str[s->len - 1] == ' ')
		g_string_truncate(s, s->len - 1);
}

char *log_clean(const char *s, gsize max)
{
	char *valid = g_utf8_make_valid(s != NULL ? s : "", -1);
	GString *out = g_string_sized_new(strlen(valid) + 1);
	gboolean in_break = FALSE;

	for (const char *p = valid; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (c == '\r' || c == '\n') {
			if (!in_break)
				g_string_append_c(out, ' ');
			in_break = TRUE;
			continue;
		}
		in_break = FALSE;
		if (c == '\t')
			g_string_append_c(out, ' ');
		else if (g_unichar_type(c) == G_UNICODE_CONTROL || c == 0x2028 || c == 0x2029)
			g_string_append_c(out, '?');
		else
			g_string_append_len(out, p, g_utf8_next_char(p) - p);
	}
	g_free(valid);
	chomp_spaces(out);
	if (out->len > max) {
		gsize cut = max - 3;

		while (cut > 0 && ((guchar)out->str[cut] & 0xC0) == 0x80)
			cut--;
		g_string_truncate(out, cut);
		chomp_spaces(out);
		g_string_append(out, "...");
	}
	return g_string_free(out, FALSE);
}

/* Adds "name=value" when value is set and still something after cleaning. */
static void add_field(GPtrArray *fields, const char *name, const char *value)
{
	char *v;

	if (value == NULL || value[0] == '\0')
		return;
	v = log_clean(value, LOG_VALUE_MAX);
	if (v[0] != '\0')
		g_ptr_array_add(fields, g_strconcat(name, "=", v, NULL));
	g_free(v);
}

GPtrArray *log_build_fields(int priority, const char *ident, const char *event,
			    const struct log_fields *f, const char *text)
{
	GPtrArray *fields = g_ptr_array_new_with_free_func(g_free);
	char *message = log_clean(text, LOG_TEXT_MAX);

	g_ptr_array_add(fields, g_strconcat("MESSAGE=", message, NULL));
	g_free(message);
	g_ptr_array_add(fields,
			g_strdup_printf("PRIORITY=%d", CLAMP(priority, LOG_EMERG, LOG_DEBUG)));
	add_field(fields, "SYSLOG_IDENTIFIER", ident);
	add_field(fields, "MESSAGE_ID", event);
	if (f == NULL)
		return fields;
	add_field(fields, "MAILBOX", f->mailbox);
	if (f->uid != 0)
		g_ptr_array_add(fields, g_strdup_printf("UID=%" PRIu32, f->uid));
	add_field(fields, "MAIL_MESSAGE_ID", f->message_id);
	add_field(fields, "TICKET", f->ticket);
	if (f->outbox_id != 0)
		g_ptr_array_add(fields, g_strdup_printf("OUTBOX_ID=%" PRId64, f->outbox_id));
	return fields;
}

char *log_build_line(int priority, const char *text)
{
	char *clean = log_clean(text, LOG_TEXT_MAX);
	char *line = g_strdup_printf("<%d>%s\n", CLAMP(priority, LOG_EMERG, LOG_DEBUG), clean);

	g_free(clean);
	return line;
}

/* sd_journal_sendv()'s result: 0, or a negative errno (no journald listening, for one). */
static int send_journal(int priority, const char *event, const struct log_fields *f,
			const char *text)
{
	GPtrArray *fields = log_build_fields(priority, log_ident, event, f, text);
	struct iovec *iov = g_new(struct iovec, fields->len);
	int r;

	for (guint i = 0; i < fields->len; i++)
		iov[i] = (struct iovec){.iov_base = fields->pdata[i],
					.iov_len = strlen(fields->pdata[i])};
	r = sd_journal_sendv(iov, (int)fields->len);
	g_free(iov);
	g_ptr_array_unref(fields);
	return r;
}

/* One write(2) for the whole line (below PIPE_BUF, so lines of two writers never mix). */
static void write_line(int priority, const char *text)
{
	char *line = log_build_line(priority, text);
	size_t len = strlen(line), done = 0;

	while (done < len) {
		ssize_t n = write(STDERR_FILENO, line + done, len - done);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	g_free(line);
}

static void emit(int priority, const char *event, const struct log_fields *f, const char *fmt,
		 va_list ap) G_GNUC_PRINTF(4, 0);

static void emit(int priority, const char *event, const struct log_fields *f, const char *fmt,
		 va_list ap)
{
	char *text;

	priority = CLAMP(priority, LOG_EMERG, LOG_DEBUG);
	if (priority > threshold)
		return;
	text = g_strdup_vprintf(fmt, ap);
	/* Should journald's socket be gone, stderr still reaches the journal as a stream. */
	if (!to_journal || send_journal(priority, event, f, text) < 0)
		write_line(priority, text);
	g_free(text);
}

void log_msg(int priority, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(priority, NULL, NULL, fmt, ap);
	va_end(ap);
}

void log_event(int priority, const char *event, const struct log_fields *f, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	emit(priority, event, f, fmt, ap);
	va_end(ap);
}
