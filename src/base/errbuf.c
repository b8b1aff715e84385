/* Error text plumbing shared by every module, and the one digest the project uses (SHA-256 of raw
 * message bytes, the idempotency key next to mailbox/UIDVALIDITY/UID). */
#include "spoc.h"

#include <nettle/sha2.h>

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

/* nettle's SHA-256 uses the CPU's SHA instructions where it has them: about three times
 * GChecksum's speed here, and every mail's bytes are digested three times at intake. */
struct spoc_sha256 {
	struct sha256_ctx ctx;
};

static void hex_of(struct sha256_ctx *ctx, char out[65])
{
	static const char digits[] = "0123456789abcdef";
	uint8_t d[SHA256_DIGEST_SIZE];

	sha256_digest(ctx, sizeof(d), d);
	for (size_t i = 0; i < sizeof(d); i++) {
		out[2 * i] = digits[d[i] >> 4];
		out[2 * i + 1] = digits[d[i] & 15];
	}
	out[64] = '\0';
}

void spoc_sha256_hex(const void *data, size_t len, char out[65])
{
	struct sha256_ctx ctx;

	sha256_init(&ctx);
	sha256_update(&ctx, len, data);
	hex_of(&ctx, out);
}

struct spoc_sha256 *spoc_sha256_new(void)
{
	struct spoc_sha256 *sha = g_new(struct spoc_sha256, 1);

	sha256_init(&sha->ctx);
	return sha;
}

void spoc_sha256_update(struct spoc_sha256 *sha, const void *data, size_t len)
{
	sha256_update(&sha->ctx, len, data);
}

void spoc_sha256_so_far(const struct spoc_sha256 *sha, char out[65])
{
	struct sha256_ctx copy = sha->ctx; /* sha256_digest() starts the context over */

	hex_of(&copy, out);
}

void spoc_sha256_free(struct spoc_sha256 *sha)
{
	g_free(sha);
}
