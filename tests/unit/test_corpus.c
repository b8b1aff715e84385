/* Every message of the shared corpus ($SPOC_CORPUS/messages, 1,000+ real mails nobody here
 * wrote) through mime_parse() with the daemon's limits: no crash, no leak, no hang under ASan,
 * and the struct mail contract holds for each one (valid UTF-8 everywhere: headers, text, new
 * text, quoted text, signature, attachment names and texts; a message id; SHA-256s that match
 * the bytes; attachment names without path separators). At least 900 must parse, so a parser that
 * rejects everything cannot pass. Without a corpus (see corpus.h) the test is reported skipped,
 * with the reason; a corpus that is there but parses badly is a failure.
 *
 * Files ending in ".mbox" hold several messages each in mbox format; they are skipped (splitting
 * them on "From " lines would only re-test messages the corpus already has singly). */
#include "mime.h"
#include "ticket.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"

#define CORPUS_MIN_OK 900

/* the daemon's defaults (conf.c) */
static const struct mime_limits limits = {.max_message_bytes = 26214400,
					  .max_parts = 500,
					  .max_depth = 20,
					  .max_attachment_bytes = 26214400,
					  .max_header_bytes = 262144};

struct tally {
	int ok, eperm, skipped;
};

static gboolean utf8_ok(const char *s)
{
	return s != NULL && g_utf8_validate(s, -1, NULL);
}

static gboolean addr_ok(const struct mail_addr *a)
{
	return (a->name == NULL || utf8_ok(a->name)) && (a->addr == NULL || utf8_ok(a->addr));
}

static gboolean addrs_ok(const GPtrArray *list)
{
	for (guint i = 0; i < list->len; i++)
		if (!addr_ok(g_ptr_array_index(list, i)))
			return FALSE;
	return TRUE;
}

/* Checks one parsed mail; fails the test naming the file and the field. */
static void check_mail(const char *path, const struct mail *m)
{
#define CHECK(cond)                                                                                \
	do {                                                                                       \
		if (!(cond))                                                                       \
			fail_msg("%s: %s", path, #cond);                                           \
	} while (0)
	CHECK(strlen(m->sha256) == 64 && strspn(m->sha256, "0123456789abcdef") == 64);
	CHECK(utf8_ok(m->message_id) && m->message_id[0] != '\0');
	CHECK(m->in_reply_to == NULL || utf8_ok(m->in_reply_to));
	for (guint i = 0; i < m->references->len; i++)
		CHECK(utf8_ok(g_ptr_array_index(m->references, i)));
	CHECK(m->from.addr == NULL || (utf8_ok(m->from.addr) && m->from.addr[0] != '\0'));
	CHECK(addr_ok(&m->from) && addr_ok(&m->reply_to));
	CHECK(addrs_ok(m->to) && addrs_ok(m->cc));
	CHECK(utf8_ok(m->to_text) && utf8_ok(m->cc_text));
	CHECK(utf8_ok(m->subject) && strchr(m->subject, '\n') == NULL);
	CHECK(utf8_ok(m->text));
	CHECK(utf8_ok(m->text_new) && utf8_ok(m->text_quoted) && utf8_ok(m->text_signature));
	/* the parts come out of the text: none can be longer than all of it */
	CHECK(strlen(m->text_new) <= strlen(m->text) && strlen(m->text_quoted) <= strlen(m->text));
	CHECK(m->text[0] == '\0' || m->text_new[0] != '\0' || m->text_quoted[0] != '\0' ||
	      m->text_signature[0] != '\0');
	CHECK(m->body_source != NULL && (m->body_charset == NULL || utf8_ok(m->body_charset)));
	for (guint i = 0; i < m->attachments->len; i++) {
		const struct mail_attachment *a = g_ptr_array_index(m->attachments, i);
		gsize size;
		const void *data = g_bytes_get_data(a->data, &size);
		char sha[65];

		CHECK(utf8_ok(a->name) && a->name[0] != '\0' && a->name[0] != '.');
		CHECK(strpbrk(a->name, "/\\\n\r\t") == NULL);
		CHECK(utf8_ok(a->content_type) && strchr(a->content_type, '/') != NULL);
		CHECK(a->content_id == NULL || utf8_ok(a->content_id));
		CHECK(a->text == NULL || utf8_ok(a->text));
		CHECK(limits.max_attachment_bytes == 0 ||
		      (gint64)size <= limits.max_attachment_bytes);
		spoc_sha256_hex(data, size, sha);
		CHECK(strcmp(sha, a->sha256) == 0);
	}
	for (guint i = 0; i < m->limits_hit->len; i++)
		CHECK(utf8_ok(
		    ((const struct mail_limit_hit *)g_ptr_array_index(m->limits_hit, i))->detail));
	{
		/* the subject tag, the part of threading that needs no database */
		enum spoc_kind kind;
		int64_t number;

		if (ticket_find_tag(m->subject, &kind, &number))
			CHECK(number > 0);
	}
	for (guint i = 0; i < m->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(m->headers, i);

		CHECK(utf8_ok(h->name) && utf8_ok(h->value));
	}
#undef CHECK
}

static void parse_one(const char *path, struct tally *t)
{
	GError *error = NULL;
	struct errbuf err = {""};
	struct mail *m = NULL;
	char *raw;
	gsize len;
	int rc;

	if (!g_file_get_contents(path, &raw, &len, &error))
		fail_msg("%s: %s", path, error->message);
	rc = mime_parse(raw, len, &limits, &m, &err);
	g_free(raw);
	if (rc == SPOC_OK) {
		assert_non_null(m);
		check_mail(path, m);
		mail_free(&m);
		t->ok++;
	} else if (rc == SPOC_EPERM) {
		assert_null(m);
		if (err.msg[0] == '\0')
			fail_msg("%s: SPOC_EPERM without a reason", path);
		t->eperm++;
	} else {
		fail_msg("%s: mime_parse returned %d", path, rc);
	}
}

/* g_ptr_array_sort() hands pointers to the elements. */
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
	/* a stable order, so a failure names the same file every run */
	g_ptr_array_sort(names, name_cmp);
	for (guint i = 0; i < names->len; i++) {
		const char *n = g_ptr_array_index(names, i);
		char *path = g_build_filename(dir, n, NULL);

		if (g_file_test(path, G_FILE_TEST_IS_DIR))
			walk(path, t);
		else if (g_str_has_suffix(n, ".mbox"))
			t->skipped++;
		else if (g_file_test(path, G_FILE_TEST_IS_REGULAR))
			parse_one(path, t);
		g_free(path);
	}
	g_ptr_array_unref(names);
}

static char *corpus_root;

static void test_corpus(void **state)
{
	struct tally t = {0, 0, 0};
	char *dir;

	(void)state;
	dir = g_build_filename(corpus_root, "messages", NULL);
	walk(dir, &t);
	g_free(dir);
	printf("corpus: %d OK, %d EPERM, %d mbox files skipped\n", t.ok, t.eperm, t.skipped);
	if (t.ok < CORPUS_MIN_OK)
		fail_msg("only %d messages parsed OK (at least %d expected)", t.ok, CORPUS_MIN_OK);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_corpus),
	};
	int rc;

	corpus_root = corpus_dir_or_skip();
	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	g_free(corpus_root);
	return rc;
}
