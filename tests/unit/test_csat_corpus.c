/* csat_read() over the shared corpus (corpus.h says where it is; without it the test is reported
 * skipped): for every mail that parses, what its sender wrote (text_new, as ingest reads it) and
 * each of its lines as if it were a whole reply, 1,000+ real mails nobody here wrote. Each reading
 * must be consistent (a rating 1..5 or none, a problem only with a rating, a comment that is valid
 * UTF-8 and part of the text), in bounded time under the sanitizers. The replies written for
 * csat.c's cases are in test_csat.c. */
#include "csat.h"
#include "testlib.h"

#include "corpus.h"

#include <stdio.h>

static char *corpus_root;
static int readings, rated;

static void check_reading(const char *text, unsigned attachments)
{
	struct csat_reading r;
	gboolean counted = csat_read(text, attachments, &r);

	readings++;
	assert_true(r.rating >= 0 && r.rating <= 5);
	assert_true(!counted || (r.rating > 0 && !r.problem));
	assert_true(!r.problem || r.rating > 0);
	assert_true(g_utf8_validate(r.comment, -1, NULL));
	assert_true(g_utf8_validate(r.why, -1, NULL));
	assert_true(r.why[0] != '\0');
	if (r.comment[0] != '\0') {
		g_autofree char *valid = g_utf8_make_valid(text, -1);

		assert_non_null(strstr(valid, r.comment));
	}
	rated += counted;
}

static void read_tree(const char *dir, int *files)
{
	GDir *d = g_dir_open(dir, 0, NULL);
	const char *name;

	if (d == NULL)
		return;
	while ((name = g_dir_read_name(d)) != NULL) {
		char *path = g_build_filename(dir, name, NULL);
		struct errbuf err = {""};
		struct mail *m = NULL;
		char *raw = NULL;
		gsize len;

		if (g_file_test(path, G_FILE_TEST_IS_DIR)) {
			read_tree(path, files);
		} else if (g_file_get_contents(path, &raw, &len, NULL) &&
			   mime_parse(raw, len, testlib_limits(), &m, &err) == SPOC_OK) {
			const char *text = m->text_new != NULL ? m->text_new : m->text;
			unsigned attachments = m->attachments != NULL ? m->attachments->len : 0;
			char **lines = g_strsplit(text != NULL ? text : "", "\n", 0);

			(*files)++;
			check_reading(text, attachments);
			for (char **l = lines; *l != NULL; l++)
				check_reading(*l, 0);
			g_strfreev(lines);
			mail_free(&m);
		}
		g_free(raw);
		g_free(path);
	}
	g_dir_close(d);
}

static void test_corpus(void **state)
{
	char *messages = g_build_filename(corpus_root, "messages", NULL);
	int files = 0;

	(void)state;
	read_tree(messages, &files);
	g_free(messages);
	printf("corpus: %d mails, %d texts read, %d read as a rating\n", files, readings, rated);
	assert_true(files >= 900);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus),
	};
	int rc;

	corpus_root = corpus_dir_or_skip();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_free(corpus_root);
	return rc;
}
