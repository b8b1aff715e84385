/* The pre-scan (prescan.h) over every message of the shared corpus ($SPOC_CORPUS/messages, real
 * mail nobody here wrote): none is refused under the daemon's default limits, so bounding GMime
 * costs no real mail, and on each the figures are at least what GMime builds. Prints the largest
 * figures met, the headroom the defaults leave. Without a corpus (see corpus.h) the test is
 * reported skipped, with the reason. Files ending in ".mbox" are skipped as in test_corpus. */
#include "prescan.h"

#include "testlib.h"

#include "corpus.h"
#include "prescan_tree.h"

struct tally {
	int messages, parts, depth, gmime_parts;
	size_t header, part_header, header_total;
	char *deepest, *most_parts;
};

/* The bytes mime_parse() hands to GMime: without a byte order mark or blank lines in front,
 * bare CR line ends made LF. Caller frees. */
static char *as_parsed(const char *raw, gsize len, gsize *len_r)
{
	gsize at = 0;
	char *out;

	if (len >= 3 && memcmp(raw, "\xef\xbb\xbf", 3) == 0)
		at = 3;
	for (;;) {
		gsize e = at;

		while (e < len && (raw[e] == ' ' || raw[e] == '\t' || raw[e] == '\r'))
			e++;
		if (e >= len || raw[e] != '\n')
			break;
		at = e + 1;
	}
	out = g_memdup2(raw + at, len - at);
	*len_r = len - at;
	if (memchr(raw, '\n', len) == NULL)
		for (gsize i = 0; i < *len_r; i++)
			if (out[i] == '\r')
				out[i] = '\n';
	return out;
}

static void scan_one(const char *path, struct tally *t)
{
	struct mime_prescan f;
	struct errbuf err = {""};
	GError *error = NULL;
	char *raw, *in;
	gsize len, in_len;
	int parts, depth;

	if (!g_file_get_contents(path, &raw, &len, &error))
		fail_msg("%s: %s", path, error->message);
	in = as_parsed(raw, len, &in_len);
	g_free(raw);
	if (mime_prescan(in, in_len, testlib_limits(), &f, &err) != SPOC_OK)
		fail_msg("%s: refused under the default limits: %s", path, err.msg);
	if (prescan_tree(in, in_len, &parts, &depth)) {
		if (f.parts < parts || f.depth < depth)
			fail_msg("%s: pre-scan %d parts %d deep, GMime %d parts %d deep", path,
				 f.parts, f.depth, parts, depth);
		t->gmime_parts = MAX(t->gmime_parts, parts);
	}
	g_free(in);
	t->messages++;
	if (f.parts > t->parts) {
		t->parts = f.parts;
		g_free(t->most_parts);
		t->most_parts = g_path_get_basename(path);
	}
	if (f.depth > t->depth) {
		t->depth = f.depth;
		g_free(t->deepest);
		t->deepest = g_path_get_basename(path);
	}
	t->header = MAX(t->header, f.header_bytes);
	t->part_header = MAX(t->part_header, f.part_header_bytes);
	t->header_total = MAX(t->header_total, f.header_total_bytes);
}

static gint name_cmp(gconstpointer a, gconstpointer b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void walk(const char *dir, struct tally *t)
{
	GError *error = NULL;
	GDir *d = g_dir_open(dir, 0, &error);
	GPtrArray *names = g_ptr_array_new_with_free_func(g_free);
	const char *name;

	if (d == NULL)
		fail_msg("%s: %s", dir, error->message);
	while ((name = g_dir_read_name(d)) != NULL)
		g_ptr_array_add(names, g_strdup(name));
	g_dir_close(d);
	g_ptr_array_sort(names, name_cmp);
	for (guint i = 0; i < names->len; i++) {
		const char *n = g_ptr_array_index(names, i);
		char *path = g_build_filename(dir, n, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			walk(path, t);
		else if (!g_str_has_suffix(n, ".mbox") && g_file_test(path, G_FILE_TEST_IS_REGULAR))
			scan_one(path, t);
		g_free(path);
	}
	g_ptr_array_unref(names);
}

static char *corpus_root;

static void test_prescan_corpus(void **state)
{
	struct tally t = {0};
	char *dir = g_build_filename(corpus_root, "messages", NULL);

	(void)state;
	walk(dir, &t);
	g_free(dir);
	printf(
	    "pre-scan over %d corpus messages, none refused; largest figures: %d parts (%s; GMime "
	    "built at most %d), %d deep (%s), header %zu bytes, a part's header %zu bytes, all "
	    "headers of one message %zu bytes\n",
	    t.messages, t.parts, t.most_parts, t.gmime_parts, t.depth, t.deepest, t.header,
	    t.part_header, t.header_total);
	assert_true(t.messages >= 900);
	g_free(t.most_parts);
	g_free(t.deepest);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prescan_corpus),
	};
	int rc;

	corpus_root = corpus_dir_or_skip();
	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	g_free(corpus_root);
	return rc;
}
