/* Shared vocabulary of every spocd module: the three-way outcome of a pipeline stage and the error
 * buffer through which a module hands detail text to its caller (modules never log; main.c does).
 */
#ifndef SPOC_H
#define SPOC_H

#include <glib.h>
#include <stddef.h>

/* Outcome of a pipeline stage, after Postfix's 4xx/5xx split. */
enum spoc_rc {
	SPOC_OK = 0,
	SPOC_ETEMP = 1, /* try again later: do not advance, do not touch the mailbox */
	SPOC_EPERM = 2, /* this input will never work: quarantine it with its reason and move on */
};

struct errbuf {
	char msg[1024];
};

/* Formats into err (which may be NULL) and returns rc, so callers can write
 * `return errbuf_set(err, SPOC_EPERM, "...")`. */
int errbuf_set(struct errbuf *err, int rc, const char *fmt, ...) G_GNUC_PRINTF(3, 4);
/* Puts "prefix: " in front of the text already in err; returns rc. */
int errbuf_prefix(struct errbuf *err, int rc, const char *fmt, ...) G_GNUC_PRINTF(3, 4);

/* Lower-case hex SHA-256 of data; out must hold 65 bytes. */
void spoc_sha256_hex(const void *data, size_t len, char out[65]);

/* The same digest fed piece by piece. */
struct spoc_sha256;
struct spoc_sha256 *spoc_sha256_new(void);
void spoc_sha256_update(struct spoc_sha256 *sha, const void *data, size_t len);
/* The hex digest of what was fed so far (more may be fed after); out must hold 65 bytes. */
void spoc_sha256_so_far(const struct spoc_sha256 *sha, char out[65]);
void spoc_sha256_free(struct spoc_sha256 *sha);

#endif
