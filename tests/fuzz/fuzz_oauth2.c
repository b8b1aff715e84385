/* libFuzzer target for oauth2.c's readers of what servers send: a token endpoint's answer (as a
 * 200 and as a 400) and a mail server's SASL error challenge (as sent, and base64-encoded as a
 * server would). Besides crashes, leaks and UB it checks what must always hold: every error and
 * every decoded challenge is one printable line of bounded length, and an accepted answer holds a
 * token of visible ASCII and a lifetime of at most a day. */
#include "oauth2.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void printable_line(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n == 0 || n > max)
		__builtin_trap();
	for (size_t i = 0; i < n; i++)
		if (!g_ascii_isprint(s[i]))
			__builtin_trap();
}

static void answer(long status, const char *body, size_t len)
{
	struct oauth2_answer a;
	struct errbuf err = {{0}};

	if (oauth2_answer_parse("https://idp.example/token", status, body, len, &a, &err) ==
	    SPOC_OK) {
		if (a.access == NULL || *a.access == '\0' || a.lifetime_s <= 0 ||
		    a.lifetime_s > 86400)
			__builtin_trap();
		for (const char *p = a.access; *p != '\0'; p++)
			if (*p <= 0x20 || *p >= 0x7f)
				__builtin_trap();
	} else {
		printable_line(err.msg, sizeof(err.msg) - 1);
		if (a.access != NULL || a.refresh != NULL)
			__builtin_trap();
	}
	oauth2_answer_clear(&a);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *text = (const char *)data;
	char *b64, *line;

	answer(200, text, size);
	answer(400, text, size);
	line = oauth2_sasl_error_text(text, size);
	printable_line(line, 600);
	g_free(line);
	b64 = g_base64_encode(data, size);
	line = oauth2_sasl_error_text(b64, strlen(b64));
	printable_line(line, 600);
	g_free(line);
	g_free(b64);
	return 0;
}
