/* libFuzzer target for html_to_text(): any bytes, made valid UTF-8 first as mime.c does. */
#include "html.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *html = g_utf8_make_valid((const char *)data, (gssize)size);
	char *text = html_to_text(html);

	if (!g_utf8_validate(text, -1, NULL))
		__builtin_trap();
	g_free(text);
	g_free(html);
	return 0;
}
