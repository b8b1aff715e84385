/* HTML -> plain text for what agents read. */
#ifndef SPOC_HTML_H
#define SPOC_HTML_H

#include <glib.h>

/* Takes valid UTF-8 HTML (invalid bytes are replaced first) and returns what a person reads of
 * it as valid UTF-8 text; caller g_free()s. Empty or blank input gives "".
 *
 * - Blocks (p, div, h1-h6, table, tr, li, pre, blockquote, ...) start and end lines; p, h1-h6,
 *   blockquote, pre, table, dl, hr and top-level lists are paragraphs, one empty line apart.
 *   Outlook's p class="Mso..." paragraphs, which have no margins, are lines. <br> breaks a line.
 * - List items start with "- ", or "N. " in an <ol> (decimal, from its start attribute or
 *   <li value>); a nested list is indented under its item's text, two spaces per level of "- ".
 * - Lines of a <blockquote> start with "> ", once per level.
 * - A table row is a line, its non-empty cells separated by " | ".
 * - A link is "text <url>" for http, https, ftp and mailto URLs unless the text already says the
 *   URL (compared without "mailto:", "http://" and the like and a trailing "/"); just the text for
 *   any other href (javascript:, data:, relative, ...); nothing when it has no text.
 * - An image is its alt text. <pre> keeps blanks and line breaks; elsewhere runs of blanks are
 *   one space. &nbsp; is a plain space, and a line of nothing but &nbsp; an empty line.
 * - Dropped: head, title, script, style, template, noscript, object, embed, iframe, svg, select,
 *   audio, video, comments, processing instructions, Outlook's "<![if ...]>" markers, and any
 *   element with a hidden attribute or style="display:none".
 * - Unknown and namespaced elements (Outlook's <o:p>) are inline.
 * Lines carry no trailing blanks; no empty line comes first, last or twice in a row.
 *
 * Nothing is fetched and nothing is printed. Time and memory are linear in the input, nesting
 * thousands deep included. */
char *html_to_text(const char *html);

#endif
