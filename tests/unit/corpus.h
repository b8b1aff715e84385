/* Where the unit tests find the shared corpus of third-party mail, which is not in the repository:
 * $SPOC_CORPUS, else ../shared/corpus beside the source tree ($SPOC_SOURCE_DIR, set by ctest).
 * A test that needs it calls corpus_dir_or_skip() first; without a corpus the test says why and
 * exits 77, which tests/CMakeLists.txt declares as SKIP_RETURN_CODE for the *_corpus tests, so
 * ctest reports it skipped: neither passed (it checked nothing) nor failed (nothing is wrong).
 * Include after cmocka.h. */
#ifndef SPOC_TEST_CORPUS_H
#define SPOC_TEST_CORPUS_H

#include <glib.h>
#include <stdio.h>
#include <stdlib.h>

#define CORPUS_SKIP 77

/* The corpus directory (caller frees), one holding messages/; exits 77 when there is none. */
static char *corpus_dir_or_skip(void)
{
	const char *env = g_getenv("SPOC_CORPUS");
	const char *source = g_getenv("SPOC_SOURCE_DIR");
	char *dir, *messages;

	if (env != NULL && env[0] != '\0') {
		dir = g_canonicalize_filename(env, NULL);
	} else if (source != NULL && source[0] != '\0') {
		char *beside = g_build_filename(source, "..", "shared", "corpus", NULL);

		dir = g_canonicalize_filename(beside, NULL);
		g_free(beside);
	} else {
		printf("SKIP: no corpus: neither SPOC_CORPUS nor SPOC_SOURCE_DIR is set\n");
		fflush(stdout);
		exit(CORPUS_SKIP);
	}
	messages = g_build_filename(dir, "messages", NULL);
	if (!g_file_test(messages, G_FILE_TEST_IS_DIR)) {
		printf("SKIP: no corpus at %s (set SPOC_CORPUS)\n", dir);
		fflush(stdout);
		g_free(messages);
		g_free(dir);
		exit(CORPUS_SKIP);
	}
	g_free(messages);
	return dir;
}

#endif
