/* When two mails are the same message: digests that leave out what delivery adds (identity.h). */
#include "identity.h"

#include "spoc.h"

#include <string.h>

static const char *const trace_names[] = {
    "received",
    "return-path",
    "delivered-to",
    "x-original-to",
    "envelope-to",
    "x-envelope-to",
    "x-delivered-to",
    "x-received",
    "received-spf",
    "authentication-results",
    "arc-seal",
    "arc-message-signature",
    "arc-authentication-results",
};

static const char *const trace_prefixes[] = {"x-spam-", "x-virus-"};

gboolean identity_is_trace(const char *name, size_t n)
{
	for (size_t i = 0; i < G_N_ELEMENTS(trace_names); i++)
		if (strlen(trace_names[i]) == n &&
		    g_ascii_strncasecmp(name, trace_names[i], n) == 0)
			return TRUE;
	for (size_t i = 0; i < G_N_ELEMENTS(trace_prefixes); i++) {
		size_t k = strlen(trace_prefixes[i]);

		if (n >= k && g_ascii_strncasecmp(name, trace_prefixes[i], k) == 0)
			return TRUE;
	}
	return FALSE;
}

/* The end of the line that starts at p (at its LF, or at e), and *next after it. */
static const char *line_end(const char *p, const char *e, const char **next_r)
{
	const char *nl = memchr(p, '\n', (size_t)(e - p));

	*next_r = nl != NULL ? nl + 1 : e;
	if (nl == NULL)
		nl = e;
	return nl > p && nl[-1] == '\r' ? nl - 1 : nl;
}

/* Feeds [a, b) to ck with blank runs made one space, leading and trailing ones dropped;
 * *pending_space carries a run across the folded lines of one field. */
static void feed_collapsed(struct spoc_sha256 *ck, const char *a, const char *b, gboolean *started,
			   gboolean *pending_space)
{
	const char *p = a;

	while (p < b) {
		const char *q = p;

		if (*p == ' ' || *p == '\t') {
			*pending_space = *started;
			p++;
			continue;
		}
		while (q < b && *q != ' ' && *q != '\t')
			q++;
		if (*pending_space)
			spoc_sha256_update(ck, " ", 1);
		*pending_space = FALSE;
		*started = TRUE;
		spoc_sha256_update(ck, p, (size_t)(q - p));
		p = q;
	}
}

void identity_digests(const char *raw, size_t len, char body_r[65], char content_r[65])
{
	struct spoc_sha256 *content = spoc_sha256_new();
	struct spoc_sha256 *body = spoc_sha256_new();
	const char *p = raw, *e = raw + len, *next;
	gboolean keep = FALSE, started = FALSE, space = FALSE, in_field = FALSE;

	/* the header block: fields, each possibly folded over several lines */
	while (p < e) {
		const char *end = line_end(p, e, &next);

		if (end == p) {
			p = next;
			break;
		}
		if (*p == ' ' || *p == '\t') {
			/* a continuation: one blank stands for the fold */
			if (in_field && keep) {
				space = started;
				feed_collapsed(content, p, end, &started, &space);
			}
		} else {
			const char *colon = memchr(p, ':', (size_t)(end - p));
			size_t n = colon != NULL ? (size_t)(colon - p) : (size_t)(end - p);

			if (in_field && keep)
				spoc_sha256_update(content, "\n", 1);
			in_field = TRUE;
			keep = !identity_is_trace(p, n);
			started = space = FALSE;
			if (keep) {
				for (size_t i = 0; i < n; i++) {
					guchar c = (guchar)g_ascii_tolower(p[i]);

					spoc_sha256_update(content, &c, 1);
				}
				spoc_sha256_update(content, ":", 1);
				if (colon != NULL)
					feed_collapsed(content, colon + 1, end, &started, &space);
			}
		}
		p = next;
	}
	if (in_field && keep)
		spoc_sha256_update(content, "\n", 1);
	/* the body, CR LF as LF */
	while (p < e) {
		const char *end = line_end(p, e, &next);

		spoc_sha256_update(body, p, (size_t)(end - p));
		if (next > end && next[-1] == '\n')
			spoc_sha256_update(body, "\n", 1);
		else if (end < next)
			/* a lone CR before the end is the body's own byte */
			spoc_sha256_update(body, end, (size_t)(next - end));
		p = next;
	}
	spoc_sha256_so_far(body, body_r);
	spoc_sha256_update(content, "\n", 1);
	spoc_sha256_update(content, body_r, 64);
	spoc_sha256_so_far(content, content_r);
	spoc_sha256_free(body);
	spoc_sha256_free(content);
}
