/* Unit tests of tnef.c on real winmail.dat files of the shared corpus (corpus.h says where it is;
 * without it the test is reported skipped): MimeKit's rich-text sample with its compressed RTF,
 * JPEG and two embedded messages, Amazon WorkMail's reports, and Redmine's fixtures that label
 * plain text application/ms-tnef. Names and sizes were checked with a separate TNEF walker.
 * test_tnef.c checks the same kinds of outcome on this project's own streams on every checkout. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "corpus.h"
#include "tnef_fixture.h"

#define RICH_TEXT "messages/mimekit/tnef_rich-text.eml"

/* The decoded content of the first part of a corpus message whose type is type/subtype. */
static GBytes *corpus_part(const char *rel, const char *type, const char *subtype)
{
	return message_part("SPOC_CORPUS", rel, type, subtype);
}

static void test_rich_text(void **state)
{
	const struct want want[] = {kitten, train_table, celebration};
	GBytes *tnef = corpus_part(RICH_TEXT, "application", "ms-tnef");
	GBytes *plain = corpus_part(RICH_TEXT, "text", "plain");
	struct errbuf err;
	GPtrArray *files;
	char *body, *expected;

	(void)state;
	assert_int_equal(g_bytes_get_size(tnef), 821421);
	assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	check_files(files, want, G_N_ELEMENTS(want));
	/* the body comes from compressed RTF inside a property block that libytnef alone refuses
	 * (a named property's name is 102 bytes); Outlook's own text/plain part says the same */
	assert_non_null(body);
	assert_true(g_str_has_prefix(body, "You've made this a Christmas to remember\nSpringtime "
					   "feeling's in the middle of December\n"));
	assert_true(g_str_has_suffix(body, "burning embers\nOh! What a Christmas to remember"));
	assert_int_equal(strlen(body), 1807);
	expected = normalized(g_bytes_get_data(plain, NULL), g_bytes_get_size(plain));
	assert_string_equal(body, expected);
	g_free(expected);
	g_free(body);
	g_ptr_array_unref(files);

	/* without body_r and err */
	assert_int_equal(unpack(tnef, 0, 0, &files, NULL, NULL), SPOC_OK);
	assert_int_equal(files->len, 3);
	g_ptr_array_unref(files);
	g_bytes_unref(plain);
	g_bytes_unref(tnef);
}

/* The embedded messages are TNEF streams in turn: a caller can unpack them the same way. */
static void test_embedded_messages(void **state)
{
	const struct want want[] = {kitten};
	GBytes *tnef = corpus_part(RICH_TEXT, "application", "ms-tnef"), *inner;
	GPtrArray *files, *inner_files;
	struct errbuf err;
	char *body;

	(void)state;
	assert_int_equal(unpack(tnef, 0, 0, &files, NULL, &err), SPOC_OK);

	inner = g_bytes_ref(((struct tnef_file *)files->pdata[1])->data);
	assert_int_equal(unpack(inner, 0, 0, &inner_files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	assert_int_equal(inner_files->len, 0);
	assert_string_equal(body, "Build my nephew an HO-scale train table for Christmas.");
	g_free(body);
	g_ptr_array_unref(inner_files);
	g_bytes_unref(inner);

	inner = g_bytes_ref(((struct tnef_file *)files->pdata[2])->data);
	assert_int_equal(unpack(inner, 0, 0, &inner_files, &body, &err), SPOC_OK);
	assert_string_equal(err.msg, "");
	check_files(inner_files, want, 1);
	assert_string_equal(body, "It's time for everyone to open their Christmas presents!");
	g_free(body);
	g_ptr_array_unref(inner_files);
	g_bytes_unref(inner);

	g_ptr_array_unref(files);
	g_bytes_unref(tnef);
}

/* Amazon WorkMail's delivery reports: one property block, no attachment, no text. */
static void test_workmail_reports(void **state)
{
	static const struct {
		const char *path;
		size_t len;
	} reports[] = {
	    {"messages/sisimai/maildir_bsd_lhost-amazonworkmail-03.eml", 3473},
	    {"messages/sisimai/maildir_bsd_lhost-amazonworkmail-04.eml", 3421},
	    {"messages/sisimai/maildir_bsd_lhost-amazonworkmail-05.eml", 3401},
	    {"messages/sisimai/maildir_bsd_lhost-amazonworkmail-08.eml", 3421},
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(reports); i++) {
		expect_properties_only(corpus_part(reports[i].path, "application", "ms-tnef"),
				       reports[i].len);
	}
}

/* Redmine's fixtures label 8 bytes of text application/ms-tnef. */
static void test_labelled_but_not_tnef(void **state)
{
	const char *paths[] = {"messages/redmine/no_subject_header.eml",
			       "messages/redmine/subject_as_iso-8859-1.eml"};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(paths); i++) {
		GBytes *tnef = corpus_part(paths[i], "application", "ms-tnef");
		GPtrArray *files = (GPtrArray *)"unset";
		char *body = (char *)"unset";
		struct errbuf err;

		assert_int_equal(unpack(tnef, 0, 0, &files, &body, &err), SPOC_EPERM);
		assert_string_equal(err.msg, "not TNEF: 8 bytes");
		assert_null(files);
		assert_null(body);
		g_bytes_unref(tnef);
	}
}

static void test_limits(void **state)
{
	GBytes *tnef = corpus_part(RICH_TEXT, "application", "ms-tnef");
	struct errbuf err;
	GPtrArray *files;
	char *body;

	(void)state;
	assert_int_equal(unpack(tnef, 1, 0, &files, &body, &err), SPOC_OK);
	check_files(files, &kitten, 1);
	assert_string_equal(err.msg, "2 more files over max_files (1) left out");
	assert_non_null(body);
	g_free(body);
	g_ptr_array_unref(files);

	/* 375081 + 6508 fit in 400000, 385301 more does not */
	assert_int_equal(unpack(tnef, 0, 400000, &files, NULL, &err), SPOC_OK);
	{
		const struct want want[] = {kitten, train_table};

		check_files(files, want, G_N_ELEMENTS(want));
	}
	assert_string_equal(err.msg, "1 file over max_total_bytes (400000) left out");
	g_ptr_array_unref(files);

	/* a file too big is skipped, a later smaller one still fits */
	assert_int_equal(unpack(tnef, 0, 10000, &files, NULL, &err), SPOC_OK);
	check_files(files, &train_table, 1);
	assert_string_equal(err.msg, "2 files over max_total_bytes (10000) left out");
	g_ptr_array_unref(files);

	/* max_files counts the files returned: the kitten left out for its size does not count */
	assert_int_equal(unpack(tnef, 2, 6508, &files, NULL, &err), SPOC_OK);
	check_files(files, &train_table, 1);
	assert_string_equal(err.msg, "2 files over max_total_bytes (6508) left out");
	g_ptr_array_unref(files);
	assert_int_equal(unpack(tnef, 1, 6508, &files, NULL, &err), SPOC_OK);
	check_files(files, &train_table, 1);
	assert_string_equal(err.msg, "1 more file over max_files (1) left out; 1 file over "
				     "max_total_bytes (6508) left out");
	g_ptr_array_unref(files);
	g_bytes_unref(tnef);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rich_text),	     cmocka_unit_test(test_embedded_messages),
	    cmocka_unit_test(test_workmail_reports), cmocka_unit_test(test_labelled_but_not_tnef),
	    cmocka_unit_test(test_limits),
	};
	char *corpus = corpus_dir_or_skip();
	int rc;

	/* message_part() reads the directory an environment variable names */
	g_setenv("SPOC_CORPUS", corpus, TRUE);
	g_free(corpus);
	g_mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	g_mime_shutdown();
	return rc;
}
