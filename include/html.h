/* HTML -> plain text for what agents read. */
#ifndef SPOC_HTML_H
#define SPOC_HTML_H

#include <glib.h>

/* Takes valid UTF-8 HTML; returns valid UTF-8 text with tags, scripts, styles and comments
 * dropped, block elements as line breaks, runs of blanks collapsed and at most one empty line in
 * a row. Linear in the input. Caller g_free()s. */
char *html_to_text(const char *html);

#endif
