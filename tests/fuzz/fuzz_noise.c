/* libFuzzer target for noise.c, which reads what requesters write: any bytes as the new text of a
 * reply (and as its subject, read when the text has nothing). Besides crashes, leaks and UB it
 * checks what must always hold: a reason is always given, valid UTF-8 and within its size; a
 * question mark, a "pero" or "but" at the end, or an attachment is never noise. The same text as
 * an agent's relayed answer: without the agent's sign-off it is valid UTF-8, never longer, and a
 * prefix of the text when the text was valid UTF-8 already. */
#include "noise.h"
#include "reply.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static gboolean judged(const char *text, const char *subject, unsigned attachments)
{
	char why[NOISE_WHY_SIZE];
	gboolean noise;

	memset(why, 'x', sizeof(why));
	noise = noise_thanks_only(text, subject, attachments, why);
	if (memchr(why, '\0', sizeof(why)) == NULL || why[0] == '\0' ||
	    !g_utf8_validate(why, -1, NULL))
		__builtin_trap();
	return noise;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = g_strndup((const char *)data, size);
	char *more;

	judged(text, text, 0);
	judged(text, NULL, 0);
	if (judged(text, text, 1))
		__builtin_trap();
	/* what people add to a thank-you that makes it more */
	more = g_strconcat(text, "\n?", NULL);
	if (judged(more, NULL, 0))
		__builtin_trap();
	g_free(more);
	more = g_strconcat(text, "\npero", NULL);
	if (judged(more, NULL, 0))
		__builtin_trap();
	g_free(more);
	more = g_strconcat(text, "\nBut", NULL);
	if (judged(more, NULL, 0))
		__builtin_trap();
	g_free(more);
	more = reply_drop_signoff(text, "Ana García");
	if (!g_utf8_validate(more, -1, NULL) ||
	    (g_utf8_validate(text, -1, NULL) &&
	     (strlen(more) > strlen(text) || strncmp(more, text, strlen(more)) != 0)))
		__builtin_trap();
	g_free(more);
	g_free(text);
	return 0;
}
