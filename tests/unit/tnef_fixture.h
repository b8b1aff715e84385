/* What the unit tests of tnef.c share: reading inputs from tests/data or the corpus (by the
 * environment variable that names the directory), the decoded part of a message, unpacking from
 * an exactly sized copy, and checking the files that come out. Include after cmocka.h. */
#ifndef SPOC_TEST_TNEF_FIXTURE_H
#define SPOC_TEST_TNEF_FIXTURE_H

#include "tnef.h"

#include <gmime/gmime.h>
#include <string.h>

/* What a file must be; sha256 NULL when only the size is checked. */
struct want {
	const char *name;
	const char *type;
	size_t size;
	const char *sha256;
};

/* The files of MimeKit's tnef/rich-text.eml sample (names, sizes and SHA-256s found with a TNEF
 * walker of its own): test_tnef_corpus.c reads the sample from the corpus, test_tnef.c the
 * cut-down copies in tests/data/tnef. */
static const struct want kitten = {
    "kitten-playing-with-a-christmas-tree.jpg", "image/jpeg", 375081,
    "f79d79bf20d19d17f4bbc92bc59485be362df93deaa92b71cc0d490d3b7ac935"};
static const struct want train_table = {
    "Build a train table", "application/ms-tnef", 6508,
    "ffaf277cb2d598c5235ff295852dfc941bca0f500f487fc4699147482f34bf0b"};
static const struct want celebration = {
    "Christmas Celebration!", "application/ms-tnef", 385301,
    "b70438e89e97db895fa43d906c163d4cb5f4bd03d78b0d66060d788938ad65ae"};

static char *path_in(const char *env, const char *rel)
{
	const char *dir = g_getenv(env);

	if (dir == NULL)
		fail_msg("%s is not set (run through ctest)", env);
	return g_build_filename(dir, rel, NULL);
}

static GBytes *read_file(const char *env, const char *rel)
{
	char *path = path_in(env, rel), *data;
	gsize len;

	if (!g_file_get_contents(path, &data, &len, NULL))
		fail_msg("cannot read %s", path);
	g_free(path);
	return g_bytes_new_take(data, len);
}

/* The decoded content of the first part whose type is type/subtype of the message at rel under
 * the directory that the environment variable env names. */
static GBytes *message_part(const char *env, const char *rel, const char *type, const char *subtype)
{
	GBytes *raw = read_file(env, rel), *out = NULL;
	GMimeStream *stream =
	    g_mime_stream_mem_new_with_buffer(g_bytes_get_data(raw, NULL), g_bytes_get_size(raw));
	GMimeParser *parser = g_mime_parser_new_with_stream(stream);
	GMimeMessage *msg = g_mime_parser_construct_message(parser, NULL);
	GMimePartIter *iter;

	assert_non_null(msg);
	iter = g_mime_part_iter_new((GMimeObject *)msg);
	do {
		GMimeObject *part = g_mime_part_iter_get_current(iter);

		if (part != NULL && GMIME_IS_PART(part) &&
		    g_mime_content_type_is_type(g_mime_object_get_content_type(part), type,
						subtype)) {
			GMimeStream *mem = g_mime_stream_mem_new();
			GByteArray *bytes;

			g_mime_data_wrapper_write_to_stream(
			    g_mime_part_get_content((GMimePart *)part), mem);
			bytes = g_mime_stream_mem_get_byte_array((GMimeStreamMem *)mem);
			out = g_bytes_new(bytes->data, bytes->len);
			g_object_unref(mem);
			break;
		}
	} while (g_mime_part_iter_next(iter));
	g_mime_part_iter_free(iter);
	g_object_unref(msg);
	g_object_unref(parser);
	g_object_unref(stream);
	g_bytes_unref(raw);
	if (out == NULL)
		fail_msg("%s has no %s/%s part", rel, type, subtype);
	return out;
}

/* Unpacks from an exactly sized heap copy, so AddressSanitizer sees any read past the end. */
static int unpack(GBytes *bytes, size_t max_files, size_t max_total, GPtrArray **files_r,
		  char **body_r, struct errbuf *err)
{
	gsize len;
	const void *data = g_bytes_get_data(bytes, &len);
	void *copy = g_memdup2(data, len);
	int rc = tnef_unpack(copy, len, max_files, max_total, 0, files_r, body_r, err);

	g_free(copy);
	return rc;
}

/* Fails unless tnef is len bytes of properties only: it unpacks without a note, no file, no
 * text. Takes tnef. */
static void expect_properties_only(GBytes *tnef, size_t len)
{
	struct errbuf err;
	GPtrArray *files;
	char *body = (char *)"unset";

	assert_int_equal(g_bytes_get_size(tnef), len);
	assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	assert_int_equal(files->len, 0);
	assert_null(body);
	g_ptr_array_unref(files);
	g_bytes_unref(tnef);
}

static void check_files(GPtrArray *files, const struct want *want, size_t n)
{
	if (files->len != n)
		fail_msg("%u files, want %zu", files->len, n);
	for (size_t i = 0; i < n; i++) {
		const struct tnef_file *f = files->pdata[i];
		char sha[65];
		gsize size;
		const void *data = g_bytes_get_data(f->data, &size);

		if (want[i].name == NULL)
			assert_null(f->name);
		else
			assert_string_equal(f->name, want[i].name);
		assert_string_equal(f->content_type, want[i].type);
		assert_int_equal(size, want[i].size);
		if (want[i].sha256 != NULL) {
			spoc_sha256_hex(data, size, sha);
			assert_string_equal(sha, want[i].sha256);
		}
	}
}

/* Text with its lines' trailing blanks and the blank lines at either end gone, LF line ends. */
static char *normalized(const char *text, size_t len)
{
	char *copy = g_strndup(text, len), *joined;
	char **lines;
	GString *out = g_string_new(NULL);
	size_t first = 0, last;

	lines = g_strsplit(g_strdelimit(copy, "\r", ' '), "\n", -1);
	for (size_t i = 0; lines[i] != NULL; i++)
		g_strchomp(lines[i]);
	last = g_strv_length(lines);
	while (first < last && lines[first][0] == '\0')
		first++;
	while (last > first && lines[last - 1][0] == '\0')
		last--;
	for (size_t i = first; i < last; i++)
		g_string_append_printf(out, "%s%s", i > first ? "\n" : "", lines[i]);
	g_strfreev(lines);
	g_free(copy);
	joined = g_string_free(out, FALSE);
	return joined;
}

#endif
