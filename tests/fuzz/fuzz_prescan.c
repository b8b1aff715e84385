/* libFuzzer target for mime_prescan() with GMime as the oracle: whenever the pre-scan takes a
 * message, GMime must build no more parts and nest no deeper than the pre-scan counted (the
 * promise that lets mime_parse() refuse a bomb before GMime builds it); a message GMime would
 * read one way or another as its buffering falls must be refused. Traps otherwise. */
#include "prescan.h"

#include <stdint.h>

#include "../unit/prescan_tree.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_prescan f;
	int parts, depth;

	mime_init();
	if (mime_prescan((const char *)data, size, NULL, &f, NULL) != SPOC_OK)
		return 0;
	if (prescan_tree((const char *)data, size, &parts, &depth) &&
	    (parts > f.parts || depth > f.depth))
		__builtin_trap();
	return 0;
}
