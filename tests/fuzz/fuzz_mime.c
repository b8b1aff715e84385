/* libFuzzer target for the parser entry point of incoming mail: raw bytes -> mime_parse() with the
 * daemon's kinds of limits (attachments, TNEF, uuencode, reply split and HTML included), then
 * every pure decision that reads the result (automatic, kind and priority rules, language,
 * ticket tag), and the whole of `spocctl inspect` (parse, decide, JSON) on the same bytes, so a
 * crash, leak or UB anywhere a stranger's bytes reach is found. */
#include "classify.h"
#include "inspect.h"
#include "mime.h"
#include "rules.h"
#include "ticket.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct mime_limits limits = {.max_message_bytes = 4 * 1024 * 1024,
						  .max_parts = 200,
						  .max_depth = 20,
						  .max_attachment_bytes = 1024 * 1024,
						  .max_header_bytes = 65536};
	static const char *const desk[] = {"help@desk.test", NULL};
	struct mail *mail = NULL;
	struct errbuf err = {{0}};
	const char *why = NULL;
	enum spoc_kind kind;
	int64_t number;
	char *json;

	mime_init();
	json = inspect_json("fuzz", (const char *)data, size, NULL);
	if (json == NULL || json[0] != '{' || !g_utf8_validate(json, -1, NULL))
		__builtin_trap();
	g_free(json);
	if (mime_parse((const char *)data, size, &limits, &mail, &err) != SPOC_OK)
		return 0;
	classify_is_automatic(mail, desk, &why);
	{
		static struct rules *rules;
		struct rules_verdict v;

		if (rules == NULL)
			rules = rules_new_builtin(desk, SPOC_KIND_INCIDENT);
		rules_decide(rules, mail, NULL, &v);
	}
	classify_language(mail, "es");
	ticket_find_tag(mail->subject, &kind, &number);
	mail_free(&mail);
	return 0;
}
