/* reply_split() over every file of the shared corpus (corpus.h says where it is; without it the
 * test is reported skipped), raw: headers, base64 and all, 1,000+ real mails nobody here wrote.
 * Each must split into a partition of its lines, in bounded time under the sanitizers. The texts
 * written for reply.c's cases and the files of tests/data are split in test_reply.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reply.h"
#include "corpus.h"
#include "reply_partition.h"

#include <stdio.h>

static char *corpus_root;

static void test_corpus_raw(void **state)
{
	char *messages = g_build_filename(corpus_root, "messages", NULL);
	int files;

	(void)state;
	files = split_tree(messages);
	g_free(messages);
	printf("corpus: %d files split\n", files);
	assert_true(files >= 900);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus_raw),
	};
	int rc;

	corpus_root = corpus_dir_or_skip();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_free(corpus_root);
	return rc;
}
