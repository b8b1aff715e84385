/* What the unit tests share: cmocka with the headers it needs before it, the daemon's default
 * parsing limits, paths and files under tests/data ($SPOC_TEST_DATA) and the source tree
 * ($SPOC_SOURCE_DIR), both set by ctest, and mails built through mime_parse() with those limits,
 * as the daemon builds them. Every helper fails the test, saying why, instead of returning an
 * error. */
#ifndef SPOC_TESTLIB_H
#define SPOC_TESTLIB_H

#include "mime.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <glib.h>

/* The daemon's defaults (conf.c: imap.max_message_bytes and the parsing section, whose
 * max_attachment_bytes defaults to max_message_bytes; NULL charsets: utf-8, windows-1252). */
static inline const struct mime_limits *testlib_limits(void)
{
	static const struct mime_limits limits = {.max_message_bytes = 26214400,
						  .max_parts = 500,
						  .max_depth = 20,
						  .max_attachment_bytes = 26214400,
						  .max_header_bytes = 262144};

	return &limits;
}

/* $env/rel; fails the test when env is not set. Caller frees. */
static inline char *testlib_path(const char *env, const char *rel)
{
	const char *dir = g_getenv(env);

	if (dir == NULL || *dir == '\0')
		fail_msg("%s is not set (run the unit tests through ctest)", env);
	return g_build_filename(dir, rel, NULL);
}

/* tests/data/rel and the source tree's rel. Caller frees. */
static inline char *testlib_data_path(const char *rel)
{
	return testlib_path("SPOC_TEST_DATA", rel);
}

static inline char *testlib_source_path(const char *rel)
{
	return testlib_path("SPOC_SOURCE_DIR", rel);
}

/* The whole of tests/data/rel, NUL-terminated, its length in *len_r (may be NULL). Caller
 * frees. */
static inline char *testlib_read_data(const char *rel, gsize *len_r)
{
	char *path = testlib_data_path(rel), *buf = NULL;
	GError *error = NULL;

	if (!g_file_get_contents(path, &buf, len_r, &error))
		fail_msg("%s: %s", path, error->message);
	g_free(path);
	return buf;
}

/* raw parsed with the daemon's limits; fails the test when mime_parse() refuses it. Caller frees
 * with mail_free(). */
static inline struct mail *testlib_parse_len(const char *raw, size_t len)
{
	struct errbuf err = {""};
	struct mail *m = NULL;
	int rc = mime_parse(raw, len, testlib_limits(), &m, &err);

	if (rc != SPOC_OK)
		fail_msg("mime_parse: rc %d: %s", rc, err.msg);
	assert_non_null(m);
	return m;
}

static inline struct mail *testlib_parse(const char *raw)
{
	return testlib_parse_len(raw, strlen(raw));
}

/* The mail in tests/data/rel. Caller frees with mail_free(). */
static inline struct mail *testlib_parse_data(const char *rel)
{
	gsize len;
	char *raw = testlib_read_data(rel, &len);
	struct mail *m = testlib_parse_len(raw, len);

	g_free(raw);
	return m;
}

/* A text/plain UTF-8 mail (8bit) from header lines (each ending in \n) and a body. Caller frees
 * with mail_free(). */
static inline struct mail *testlib_mail(const char *headers, const char *body)
{
	char *raw = g_strdup_printf("%sMIME-Version: 1.0\nContent-Type: text/plain; charset=utf-8\n"
				    "Content-Transfer-Encoding: 8bit\n\n%s\n",
				    headers, body);
	struct mail *m = testlib_parse(raw);

	g_free(raw);
	return m;
}

#endif
