/* libFuzzer target for the parser entry point of incoming mail: raw bytes through the whole of
 * `spocctl inspect` - mime_parse() with the daemon's default limits (attachments, TNEF,
 * uuencode, reply split and HTML included), then ingest_decide_in() (automatic mail, kind and
 * priority rules, SLA, language, ticket tag) and the JSON of it all - so a crash, leak or UB
 * anywhere a stranger's bytes reach is found. The output must be one valid UTF-8 document. */
#include "inspect.h"
#include "mime.h"

#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *json;

	mime_init();
	json = inspect_json("fuzz", (const char *)data, size, NULL, NULL);
	if (json == NULL || json[0] != '{' || !g_utf8_validate(json, -1, NULL))
		__builtin_trap();
	g_free(json);
	return 0;
}
