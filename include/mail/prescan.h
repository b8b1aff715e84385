/* A linear look at a message's raw bytes before GMime parses them: how many MIME parts GMime will
 * build, how deeply they nest and how big the header blocks are, so that a message over
 * max_parts, max_depth or max_header_bytes is refused before GMime spends memory on it (GMime
 * builds every part, about 1.4 KiB each, and every header field, about 500 bytes, before its
 * caller can count anything: shared/LIBRARY-DEFECTS.md, GMime #10). mime_parse() runs it first;
 * it is public for the tests and the benchmark. */
#ifndef SPOC_PRESCAN_H
#define SPOC_PRESCAN_H

#include "mime.h"

#include <stddef.h>

/* All the header blocks of a message together (its own, its parts', its attached messages')
 * may hold this many times max_header_bytes. */
#define PRESCAN_HEADER_TOTAL_FACTOR 2

/* What the pre-scan counted; each figure is at least what GMime builds from the same bytes. When
 * a limit stopped the scan, the figures are those up to that point. */
struct mime_prescan {
	int parts;	     /* MIME entities: the message, every part, every attached message */
	int depth;	     /* deepest nesting: the message is 1, its parts 2, ... */
	size_t header_bytes; /* the message's own header block */
	size_t part_header_bytes;  /* the biggest header block of a part or attached message */
	size_t header_total_bytes; /* all header blocks together */
};

/* Counts the parts, nesting and header bytes of the message in raw (the bytes GMime will read:
 * after any byte order mark, with LF or CRLF line ends) against limits (0: none; the depth
 * followed is then GMime's own, 1024). Returns SPOC_OK with *figures_r filled (may be NULL), or
 * SPOC_EPERM at the first limit passed with the reason in err, naming the limit and the figure:
 * "message over max_parts (more than 500 MIME parts, counted before parsing)". Also SPOC_EPERM,
 * whatever the limits, for a message whose structure GMime reads one way or another as its
 * read buffer falls (a boundary inside a line, which RFC 2046 forbids; a line GMime skips before
 * a field that decides a part's type; a boundary longer than 998 bytes): its parts cannot be
 * counted. Linear in len, and memory in what is open at once. Never SPOC_ETEMP. */
int mime_prescan(const char *raw, size_t len, const struct mime_limits *limits,
		 struct mime_prescan *figures_r, struct errbuf *err);

#endif
