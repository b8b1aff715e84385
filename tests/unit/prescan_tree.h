/* What GMime itself builds from raw bytes, to hold the pre-scan's figures against: the number of
 * objects in its tree (the message's part, every part, every attached message's part) and their
 * deepest nesting, counted as prescan.h counts (the message 1, its parts 2, an attached message's
 * own part one deeper than the part that carries it). For test_prescan and
 * test_prescan_corpus. */
#ifndef SPOC_TEST_PRESCAN_TREE_H
#define SPOC_TEST_PRESCAN_TREE_H

#include <gmime/gmime.h>

static void prescan_tree_walk(GMimeObject *obj, int depth, int *parts, int *deepest)
{
	if (obj == NULL)
		return;
	(*parts)++;
	*deepest = MAX(*deepest, depth);
	if (GMIME_IS_MULTIPART(obj)) {
		for (int i = 0; i < g_mime_multipart_get_count(GMIME_MULTIPART(obj)); i++)
			prescan_tree_walk(g_mime_multipart_get_part(GMIME_MULTIPART(obj), i),
					  depth + 1, parts, deepest);
	} else if (GMIME_IS_MESSAGE_PART(obj)) {
		GMimeMessage *inner = g_mime_message_part_get_message(GMIME_MESSAGE_PART(obj));

		if (inner != NULL)
			prescan_tree_walk(g_mime_message_get_mime_part(inner), depth + 1, parts,
					  deepest);
	}
}

/* Parses raw (as mime_parse() hands it to GMime: the header first) with the options mime_parse()
 * gives GMime by default (mime_init(): fallback charsets utf-8, windows-1252, which decide how a
 * Content-Type with 8-bit bytes reads); FALSE when GMime builds no message. */
static gboolean prescan_tree(const char *raw, size_t len, int *parts_r, int *depth_r)
{
	static const char *fallback[] = {"utf-8", "windows-1252", NULL};
	GMimeParserOptions *opts = g_mime_parser_options_new();
	GMimeStream *stream = g_mime_stream_mem_new_with_buffer(raw, len);
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg;

	g_mime_parser_options_set_fallback_charsets(opts, fallback);
	msg = g_mime_parser_construct_message(parser, opts);
	*parts_r = *depth_r = 0;
	g_mime_parser_options_free(opts);
	g_object_unref(parser);
	g_object_unref(stream);
	if (msg == NULL)
		return FALSE;
	prescan_tree_walk(g_mime_message_get_mime_part(msg), 1, parts_r, depth_r);
	g_object_unref(msg);
	return TRUE;
}

#endif
