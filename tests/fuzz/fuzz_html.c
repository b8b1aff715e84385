/* libFuzzer target for html_to_text(): any bytes, made valid UTF-8 first as mime.c does. Beyond
 * crashes, leaks and hangs, it traps when the text breaks html.h's promises: valid UTF-8, no
 * trailing blanks, no empty line first, last or twice in a row. */
#include "html.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *html = g_utf8_make_valid((const char *)data, (gssize)size);
	char *text = html_to_text(html);
	size_t n = strlen(text);

	if (!g_utf8_validate(text, -1, NULL))
		__builtin_trap();
	if (n > 0 &&
	    (text[0] == '\n' || text[n - 1] == '\n' || text[n - 1] == ' ' || text[n - 1] == '\t'))
		__builtin_trap();
	if (strstr(text, "\n\n\n") != NULL || strstr(text, " \n") != NULL ||
	    strstr(text, "\t\n") != NULL)
		__builtin_trap();
	g_free(text);
	g_free(html);
	return 0;
}
