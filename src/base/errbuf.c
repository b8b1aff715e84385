/* Error text plumbing shared by every module, and the one digest the project uses (SHA-256 of raw
 * message bytes, the idempotency key next to mailbox/UIDVALIDITY/UID). */
#include "spoc.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

int errbuf_set(struct errbuf *err, int rc, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return rc;
	va_start(ap, fmt);
	vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return rc;
}

int errbuf_prefix(struct errbuf *err, int rc, const char *fmt, ...)
{
	char *prefix, *joined;
	va_list ap;

	if (err == NULL)
		return rc;
	va_start(ap, fmt);
	prefix = g_strdup_vprintf(fmt, ap);
	va_end(ap);
	joined = g_strdup_printf("%s: %s", prefix, err->msg);
	g_strlcpy(err->msg, joined, sizeof(err->msg));
	g_free(joined);
	g_free(prefix);
	return rc;
}

void spoc_sha256_hex(const void *data, size_t len, char out[65])
{
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(ck, data, len);
	g_strlcpy(out, g_checksum_get_string(ck), 65);
	g_checksum_free(ck);
}
