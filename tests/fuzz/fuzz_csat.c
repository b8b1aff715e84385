/* libFuzzer target for csat.c (and noise_comment_problem()), which reads what requesters write in
 * answer to the resolution notice: any bytes as the new text of a reply. Besides crashes, leaks
 * and UB it checks what must always hold: a rating is 0 or 1..5, a reason is always given and
 * valid UTF-8, the comment is valid UTF-8 and part of the text, a problem only comes with a
 * rating; with an attachment, or with "sigue sin funcionar" or "?" after it, nothing is ever
 * counted as a rating. */
#include "csat.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean read_one(const char *text, unsigned attachments)
{
	struct csat_reading r;
	gboolean counted;

	memset(&r, 'x', sizeof(r));
	counted = csat_read(text, attachments, &r);
	if (r.rating < 0 || r.rating > 5 || (counted && (r.rating == 0 || r.problem)) ||
	    (r.problem && r.rating == 0))
		__builtin_trap();
	if (memchr(r.why, '\0', sizeof(r.why)) == NULL || r.why[0] == '\0' ||
	    !g_utf8_validate(r.why, -1, NULL))
		__builtin_trap();
	if (memchr(r.comment, '\0', sizeof(r.comment)) == NULL ||
	    !g_utf8_validate(r.comment, -1, NULL) ||
	    memchr(r.token, '\0', sizeof(r.token)) == NULL || !g_utf8_validate(r.token, -1, NULL))
		__builtin_trap();
	if (r.comment[0] != '\0') {
		char *valid = g_utf8_make_valid(text, -1);

		if (strstr(valid, r.comment) == NULL)
			__builtin_trap();
		g_free(valid);
	}
	return counted;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = g_strndup((const char *)data, size);
	char *more;

	read_one(text, 0);
	if (read_one(text, 1))
		__builtin_trap();
	/* a rating with a problem after it is no rating */
	more = g_strconcat(text, "\nsigue sin funcionar", NULL);
	if (read_one(more, 0))
		__builtin_trap();
	g_free(more);
	more = g_strconcat(text, "\n?", NULL);
	if (read_one(more, 0))
		__builtin_trap();
	g_free(more);
	/* behind a digit that rates, whatever follows */
	more = g_strconcat("4 ", text, NULL);
	read_one(more, 0);
	g_free(more);
	g_free(text);
	return 0;
}
