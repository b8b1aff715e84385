/* The automatic-mail rules (classify_automatic) and the bounce reader (bounce_parse) against the
 * shared corpus ($SPOC_CORPUS, real mail nobody here wrote), using its MANIFEST.tsv tags as the
 * expected answers:
 *  - every message tagged as machine mail (bounce, dsn-rfc3464, autoreply*, mailing-list, mdn,
 *    arf) must not be classified CLASSIFY_PERSON;
 *  - of the bounces, bounce_parse() must recognise at least 90% of the RFC 3464 DSNs and find
 *    recipients in every DSN it recognises; how many bounces it recognises and how many original
 *    Message-IDs and recipients it finds is printed;
 *  - person-to-person mail (tagged reply, quoted-reply or client:*, and none of the machine, spam
 *    tags) must be CLASSIFY_PERSON, and bounce_parse() must not take it for a bounce.
 * The tags were set by a script, so a few are wrong; those messages are listed below with the
 * reason, and nowhere else is a message let off. Files ending in ".mbox" are skipped, as in
 * test_corpus.c. Set SPOC_CORPUS_VERBOSE=1 to print the verdict on every message. */
#include "bounce.h"
#include "classify.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "corpus.h"

/* the daemon's defaults (conf.c), as test_corpus.c */
static const struct mime_limits limits = {.max_message_bytes = 26214400,
					  .max_parts = 500,
					  .max_depth = 20,
					  .max_attachment_bytes = 26214400,
					  .max_header_bytes = 262144};

static const char *const desk[] = {"help@desk.example", NULL};
static const struct classify_auto_ctx ctx = {
    .desk_addresses = desk, .message_id_domain = "desk.example", .lists_are_automatic = TRUE};

/* Tagged as machine mail, but a person wrote it (path relative to the corpus, reason). None so
 * far. */
static const char *const not_automatic[][2] = {
    {NULL, NULL},
};

/* Tagged as a person's mail (the tagger saw an Outlook X-Mailer or a "Re:"), but a machine sent
 * it. */
static const char *const not_person[][2] = {
    {"messages/mailparser/spam.eml",
     "German spam (\"123.042 Euro pro Jahr\") from noreply@...; the X-Mailer says Outlook, "
     "the tagger missed the spam"},
    {"messages/mikel-mail/error_emails_bad_date_header.eml",
     "spam (\"You may_be Eligible for Legitimate_Cash\") that says Precedence: junk; tagged "
     "reply for its subject"},
    {NULL, NULL},
};

/* Paths of the exceptions that were needed this run: one that is not is stale, and fails. */
static GHashTable *excuses_used;

static const char *exception(const char *const (*list)[2], const char *path)
{
	for (size_t i = 0; list[i][0] != NULL; i++)
		if (strcmp(list[i][0], path) == 0) {
			g_hash_table_add(excuses_used, (gpointer)list[i][0]);
			return list[i][1];
		}
	return NULL;
}

/* Appends the exceptions of list that no message needed. */
static void stale_exceptions(const char *const (*list)[2], GString *out)
{
	for (size_t i = 0; list[i][0] != NULL; i++)
		if (!g_hash_table_contains(excuses_used, list[i][0]))
			g_string_append_printf(out, "  exception no longer needed: %s\n",
					       list[i][0]);
}

static gboolean has_tag(char *const *tags, const char *tag)
{
	for (size_t i = 0; tags[i] != NULL; i++)
		if (strcmp(tags[i], tag) == 0)
			return TRUE;
	return FALSE;
}

static gboolean has_tag_prefix(char *const *tags, const char *prefix)
{
	for (size_t i = 0; tags[i] != NULL; i++)
		if (g_str_has_prefix(tags[i], prefix))
			return TRUE;
	return FALSE;
}

static gboolean machine_tagged(char *const *tags)
{
	return has_tag(tags, "bounce") || has_tag(tags, "dsn-rfc3464") ||
	       has_tag_prefix(tags, "autoreply") || has_tag(tags, "mailing-list") ||
	       has_tag(tags, "mdn") || has_tag(tags, "arf");
}

static gboolean person_tagged(char *const *tags)
{
	return (has_tag(tags, "reply") || has_tag(tags, "quoted-reply") ||
		has_tag_prefix(tags, "client:")) &&
	       !machine_tagged(tags) && !has_tag_prefix(tags, "dsn") && !has_tag(tags, "spam");
}

struct tally {
	int parsed, eperm;
	int machine, machine_person, machine_excused;
	int person, person_auto, person_excused, person_bounce;
	int bounces, bounces_found, bounces_id, bounces_rcpt;
	int dsn, dsn_found, dsn_id, dsn_rcpt, dsn_found_no_rcpt;
	GString *failures;
};

static void check_one(const char *corpus, const char *rel, char *const *tags, struct tally *t)
{
	gboolean verbose = g_getenv("SPOC_CORPUS_VERBOSE") != NULL;
	char *path = g_build_filename(corpus, rel, NULL);
	char *joined = g_strjoinv(",", (char **)tags);
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
	if (rc != SPOC_OK) {
		t->eperm++;
		g_free(path);
		g_free(joined);
		return;
	}
	t->parsed++;

	const char *why = NULL, *excuse;
	enum classify_auto_kind kind = classify_automatic(m, &ctx, &why);
	gboolean is_bounce = has_tag(tags, "bounce"), is_dsn = has_tag(tags, "dsn-rfc3464");
	struct bounce_report r;
	gboolean found = bounce_parse(m, "help-bounces", &r);

	assert_non_null(why);
	if (verbose) {
		printf("%-70s %-10s %-5s id=%s rcpt=%u st=%s perm=%d | %s | %s\n", rel,
		       classify_auto_kind_name(kind), found ? "B" : "-",
		       found && r.original_message_id ? "y" : "n", found ? r.recipients->len : 0,
		       found && r.status ? r.status : "-", found ? r.permanent : -1, why, joined);
		if (found && r.diagnostic != NULL)
			printf("    diag: %s\n", r.diagnostic);
	}
	if (found) {
		/* the report's contract, on every message it takes for a bounce */
		assert_non_null(r.recipients);
		for (guint i = 0; i < r.recipients->len; i++) {
			const char *a = g_ptr_array_index(r.recipients, i);

			if (!g_utf8_validate(a, -1, NULL) || strchr(a, '@') == NULL)
				fail_msg("%s: bad recipient", rel);
		}
		if (r.diagnostic != NULL &&
		    (!g_utf8_validate(r.diagnostic, -1, NULL) ||
		     strlen(r.diagnostic) > BOUNCE_DIAGNOSTIC_MAX || strchr(r.diagnostic, '\n')))
			fail_msg("%s: bad diagnostic", rel);
		if (r.original_message_id != NULL &&
		    (!g_utf8_validate(r.original_message_id, -1, NULL) ||
		     strpbrk(r.original_message_id, "<> \t\r\n") != NULL))
			fail_msg("%s: bad original Message-ID", rel);
	}

	if (machine_tagged(tags)) {
		t->machine++;
		if (kind == CLASSIFY_PERSON) {
			if ((excuse = exception(not_automatic, rel)) != NULL) {
				t->machine_excused++;
			} else {
				t->machine_person++;
				g_string_append_printf(
				    t->failures, "  machine mail taken for a person: %s [%s]\n",
				    rel, joined);
			}
		}
	}
	if (is_bounce) {
		t->bounces++;
		t->bounces_found += found;
		t->bounces_id += found && r.original_message_id != NULL;
		t->bounces_rcpt += found && r.recipients->len > 0;
	}
	if (is_dsn) {
		t->dsn++;
		t->dsn_found += found;
		t->dsn_id += found && r.original_message_id != NULL;
		t->dsn_rcpt += found && r.recipients->len > 0;
		if (found && r.recipients->len == 0) {
			t->dsn_found_no_rcpt++;
			g_string_append_printf(t->failures, "  DSN without recipients: %s [%s]\n",
					       rel, joined);
		}
	}
	if (person_tagged(tags)) {
		t->person++;
		if (kind != CLASSIFY_PERSON || found) {
			if ((excuse = exception(not_person, rel)) != NULL) {
				t->person_excused++;
			} else {
				if (kind != CLASSIFY_PERSON)
					t->person_auto++;
				else
					t->person_bounce++;
				g_string_append_printf(
				    t->failures, "  person's mail taken for %s (%s%s): %s [%s]\n",
				    classify_auto_kind_name(kind), why,
				    found ? ", and bounce_parse() said bounce" : "", rel, joined);
			}
		}
	}
	if (found)
		bounce_report_clear(&r);
	mail_free(&m);
	g_free(path);
	g_free(joined);
}

static char *corpus_root;

static void test_automatic_corpus(void **state)
{
	struct tally t = {0};
	GError *error = NULL;
	char *manifest, *text;
	char **lines;

	(void)state;
	manifest = g_build_filename(corpus_root, "MANIFEST.tsv", NULL);
	if (!g_file_get_contents(manifest, &text, NULL, &error))
		fail_msg("%s: %s", manifest, error->message);
	g_free(manifest);
	t.failures = g_string_new(NULL);
	excuses_used = g_hash_table_new(g_str_hash, g_str_equal);
	lines = g_strsplit(text, "\n", -1);
	g_free(text);
	/* path source original_path license tags sha256 bytes; the first line names them */
	for (size_t i = 1; lines[i] != NULL; i++) {
		char **f = g_strsplit(lines[i], "\t", -1);

		if (g_strv_length(f) >= 5 && !g_str_has_suffix(f[0], ".mbox")) {
			char **tags = g_strsplit(f[4], ",", -1);

			check_one(corpus_root, f[0], tags, &t);
			g_strfreev(tags);
		}
		g_strfreev(f);
	}
	g_strfreev(lines);

	printf("automatic corpus: %d parsed, %d refused by mime_parse\n", t.parsed, t.eperm);
	printf("  machine-tagged: %d, taken for a person: %d (+%d listed exceptions)\n", t.machine,
	       t.machine_person, t.machine_excused);
	printf("  person-tagged: %d, taken for machine mail: %d, for a bounce: %d (+%d listed "
	       "exceptions)\n",
	       t.person, t.person_auto, t.person_bounce, t.person_excused);
	printf("  bounce-tagged: %d, recognised %d, original Message-ID %d, recipients %d\n",
	       t.bounces, t.bounces_found, t.bounces_id, t.bounces_rcpt);
	printf("  dsn-rfc3464: %d, recognised %d, original Message-ID %d, recipients %d\n", t.dsn,
	       t.dsn_found, t.dsn_id, t.dsn_rcpt);
	stale_exceptions(not_automatic, t.failures);
	stale_exceptions(not_person, t.failures);
	if (t.failures->len > 0)
		printf("%s", t.failures->str);
	fflush(stdout);
	if (t.parsed < 900)
		fail_msg("only %d messages parsed", t.parsed);
	if (t.dsn == 0 || t.dsn_found * 10 < t.dsn * 9)
		fail_msg("bounce_parse recognised %d of %d RFC 3464 DSNs (90%% required)",
			 t.dsn_found, t.dsn);
	if (t.failures->len > 0)
		fail_msg("misclassified messages or stale exceptions: see the list above");
	g_string_free(t.failures, TRUE);
	g_hash_table_destroy(excuses_used);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_automatic_corpus),
	};
	int rc;

	corpus_root = corpus_dir_or_skip();
	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	g_free(corpus_root);
	return rc;
}
