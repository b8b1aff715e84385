/* Unit tests of prescan.c, the count of parts, nesting and header bytes made before GMime parses
 * a message. Each limit refuses a bomb with a reason naming the limit and the figure, and lets
 * the same structure through one step below the limit; the boundaries are the ones GMime reads
 * (folded, RFC 2231, RFC 2047, the last Content-Type field, the default type in a digest); and the
 * figures are never below what GMime builds, also for inputs made to tell the two apart: a
 * boundary in the middle of a long line, which GMime finds where one of its 4 KiB reads starts,
 * and thousands of generated hostile structures held against GMime's own tree. */
#include "prescan.h"

#include "testlib.h"

#include "prescan_tree.h"

/* Figures for raw under limits (NULL: none); fails unless the pre-scan takes it. */
static struct mime_prescan scan_ok(const char *raw, const struct mime_limits *lim)
{
	struct mime_prescan f;
	struct errbuf err = {{0}};

	if (mime_prescan(raw, strlen(raw), lim, &f, &err) != SPOC_OK)
		fail_msg("refused: %s", err.msg);
	return f;
}

/* The reason the pre-scan refuses raw under lim (static buffer). */
static const char *scan_refused(const char *raw, size_t len, const struct mime_limits *lim)
{
	static struct errbuf err;

	err.msg[0] = '\0';
	assert_int_equal(mime_prescan(raw, len, lim, NULL, &err), SPOC_EPERM);
	return err.msg;
}

/* A message of n empty parts. Caller frees. */
static GString *flat(int n)
{
	GString *s =
	    g_string_new("From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n");

	for (int i = 0; i < n; i++)
		g_string_append(s, "--b\n\n");
	g_string_append(s, "--b--\n");
	return s;
}

/* n levels of multipart/mixed, each the only part of the one above. Caller frees. */
static GString *nested(int n)
{
	GString *s = g_string_new("From: a@example.com\n");

	for (int i = 0; i < n; i++)
		g_string_append_printf(s, "Content-Type: multipart/mixed; boundary=b%d\n\n--b%d\n",
				       i, i);
	g_string_append(s, "Content-Type: text/plain\n\nleaf\n");
	return s;
}

static void test_parts(void **state)
{
	const struct mime_limits lim = {.max_parts = 500};
	GString *s = flat(499);
	struct mime_prescan f = scan_ok(s->str, &lim);

	(void)state;
	/* the multipart and its 499 parts */
	assert_int_equal(f.parts, 500);
	assert_int_equal(f.depth, 2);
	g_string_free(s, TRUE);
	s = flat(500);
	assert_string_equal(scan_refused(s->str, s->len, &lim),
			    "message over max_parts (more than 500 MIME parts, counted before "
			    "parsing)");
	g_string_free(s, TRUE);
}

/* A part bomb as big as the default max_message_bytes is refused, having looked at the first
 * parts only (its time and memory: bench/bombs). */
static void test_part_bomb(void **state)
{
	GString *s =
	    g_string_new("From: a@example.com\nContent-Type: multipart/mixed; boundary=a\n\n");
	(void)state;
	while (s->len < 26214400 - 16)
		g_string_append(s, "--a\r\n\r\n");
	assert_string_equal(scan_refused(s->str, s->len, testlib_limits()),
			    "message over max_parts (more than 500 MIME parts, counted before "
			    "parsing)");
	g_string_free(s, TRUE);
}

static void test_depth(void **state)
{
	const struct mime_limits lim = {.max_depth = 20};
	GString *s = nested(19);
	struct mime_prescan f = scan_ok(s->str, &lim);

	(void)state;
	assert_int_equal(f.depth, 20);
	assert_int_equal(f.parts, 20);
	g_string_free(s, TRUE);
	s = nested(20);
	assert_string_equal(scan_refused(s->str, s->len, &lim),
			    "message over max_depth (MIME parts nested more than 20 deep, counted "
			    "before parsing)");
	g_string_free(s, TRUE);
	/* ten thousand levels stop at the 21st */
	s = nested(10000);
	assert_non_null(strstr(scan_refused(s->str, s->len, &lim), "max_depth"));
	g_string_free(s, TRUE);
}

/* Without max_depth the count follows GMime down to its own 1024 levels and no further. */
static void test_depth_unlimited(void **state)
{
	GString *s = nested(3000);
	struct mime_prescan f = scan_ok(s->str, NULL);
	int parts, depth;

	(void)state;
	assert_true(prescan_tree(s->str, s->len, &parts, &depth));
	assert_true(f.depth >= depth);
	assert_true(f.parts >= parts);
	assert_true(f.depth <= 1025);
	g_string_free(s, TRUE);
}

/* Attached messages are parts, and nest: message/rfc822, and a part without a type inside
 * multipart/digest; one sent as base64 is a file, not parsed. */
static void test_attached_messages(void **state)
{
	static const char forward[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=o\n\n"
	    "--o\nContent-Type: message/rfc822\n\n"
	    "From: b@example.com\nContent-Type: multipart/mixed; boundary=i\n\n"
	    "--i\n\none\n--i\n\ntwo\n--i--\n--o--\n";
	static const char digest[] =
	    "From: a@example.com\nContent-Type: multipart/digest; boundary=d\n\n"
	    "--d\n\nFrom: b@example.com\nSubject: one\n\nhello\n"
	    "--d\n\nFrom: c@example.com\nContent-Type: message/rfc822\n\n"
	    "From: d@example.com\n\nthree deep\n--d--\n";
	static const char encoded[] =
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=o\n\n"
	    "--o\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
	    "RnJvbTogYkBleGFtcGxlLmNvbQoKaGkK\n--o--\n";
	struct mime_prescan f;

	(void)state;
	/* multipart, message/rfc822, the inner multipart, its two parts */
	f = scan_ok(forward, NULL);
	assert_int_equal(f.parts, 5);
	assert_int_equal(f.depth, 4);
	/* digest, two messages and their parts, the second's own attached message */
	f = scan_ok(digest, NULL);
	assert_int_equal(f.parts, 6);
	assert_int_equal(f.depth, 4);
	f = scan_ok(encoded, NULL);
	assert_int_equal(f.parts, 2);
	assert_int_equal(f.depth, 2);
}

/* The boundary GMime reads, however it is written: folded, RFC 2231 continuations, inside an
 * encoded-word, and the last of two Content-Type fields. */
static void test_boundary_forms(void **state)
{
	static const char *const raws[] = {
	    "From: a@example.com\nContent-Type: multipart/mixed;\n\tboundary=\"x y\"\n\n"
	    "--x y\n\n1\n--x y\n\n2\n--x y \t\n\n3\n--x y--\n",
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary*0=\"x \";\n"
	    " boundary*1=y\n\n--x y\n\n1\n--x y\n\n2\n--x y\n\n3\n--x y--\n",
	    "From: a@example.com\nContent-Type: multipart/mixed; =?us-ascii?q?boundary=3Dxy?=\n\n"
	    "--xy\n\n1\n--xy\n\n2\n--xy\n\n3\n--xy--\n",
	    "From: a@example.com\nContent-Type: multipart/mixed; boundary=no\n"
	    "content-type : MULTIPART/alternative; BOUNDARY=\"xy\"\n\n"
	    "--no\n\n--no\n\n--xy\r\n\r\n1\r\n--xy\r\n\r\n2\r\n--xy\r\n\r\n3\r\n--xy--\r\n",
	};

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(raws); i++) {
		struct mime_prescan f = scan_ok(raws[i], NULL);
		int parts, depth;

		assert_true(prescan_tree(raws[i], strlen(raws[i]), &parts, &depth));
		assert_int_equal(parts, 4);
		assert_int_equal(f.parts, 4);
	}
}

/* GMime reads its input in blocks of 4 KiB and looks for a boundary at the start of each, also
 * in the middle of a line: a boundary some 4 KiB into a long line opens a part that a reader of
 * whole lines would not see, and behind it a multipart of a thousand parts. Where GMime may do
 * so depends on how its buffer falls, which the bytes alone do not tell: every such line is
 * refused (RFC 2046 forbids a boundary inside a part). */
static void test_boundary_inside_long_line(void **state)
{
	GString *s = g_string_new(NULL);
	int hidden = 0;

	(void)state;
	for (int pad = 3900; pad < 4300; pad++) {
		int parts, depth;

		g_string_assign(s,
				"From: a@example.com\nContent-Type: multipart/mixed; boundary=B\n\n"
				"--B\nContent-Type: text/plain\n\n");
		for (int i = 0; i < pad; i++)
			g_string_append_c(s, 'x');
		g_string_append(s, "--B\nContent-Type: multipart/mixed; boundary=C\n\n");
		for (int i = 0; i < 1000; i++)
			g_string_append(s, "--C\n\n");
		g_string_append(s, "--C--\n--B--\n");
		assert_true(prescan_tree(s->str, s->len, &parts, &depth));
		if (parts > 1000)
			hidden++;
		assert_true(g_str_has_prefix(scan_refused(s->str, s->len, NULL),
					     "MIME boundary inside a line (the line at byte "));
	}
	/* the reason for the rule: GMime does find such a boundary */
	assert_true(hidden > 0);
	g_string_free(s, TRUE);
}

/* A line GMime skips at the start of a header block, when it straddles the end of GMime's buffer,
 * is kept half in GMime's field buffer and glued to the next field, which is then dropped: here
 * the Content-Transfer-Encoding that made an attached message a file, so that GMime parses the
 * message behind it and its thousand parts. Where the buffer falls the bytes alone do not tell:
 * a header block that such a loss would read differently is refused. */
static void test_skipped_line_before_a_field(void **state)
{
	GString *s = g_string_new(NULL);
	int glued = 0;

	(void)state;
	for (int pad = 3900; pad < 4300; pad++) {
		int parts, depth;

		g_string_assign(s,
				"From: a@example.com\nContent-Type: multipart/mixed; boundary=o\n\n"
				"--o\n");
		for (int i = 0; i < pad; i++)
			g_string_append_c(s, i % 2 == 0 ? 'x' : ' ');
		g_string_append(s, "\nContent-Transfer-Encoding: base64\n"
				   "Content-Type: message/rfc822\n\n"
				   "Content-Type: multipart/mixed; boundary=i\n\n");
		for (int i = 0; i < 1000; i++)
			g_string_append(s, "--i\n\n");
		g_string_append(s, "--i--\n--o--\n");
		assert_true(prescan_tree(s->str, s->len, &parts, &depth));
		if (parts > 1000)
			glued++;
		if (!g_str_has_prefix(scan_refused(s->str, s->len, NULL),
				      "header block (at byte 67) that GMime reads one way or "
				      "another"))
			fail_msg("pad %d: %s", pad, scan_refused(s->str, s->len, NULL));
	}
	assert_true(glued > 0);
	/* a skipped line before fields that decide nothing is no matter */
	g_string_assign(s, "From: a@example.com\nContent-Type: multipart/mixed; boundary=o\n\n"
			   "--o\nsome words\nContent-Type: image/png\n\nxx\n--o\nwords\n--o--\n");
	assert_int_equal(scan_ok(s->str, NULL).parts, 3);
	g_string_free(s, TRUE);
}

static void test_header_bytes(void **state)
{
	const struct mime_limits lim = {.max_header_bytes = 1024};
	GString *s = g_string_new("From: a@example.com\n");
	struct mime_prescan f;

	(void)state;
	while (s->len < 1024)
		g_string_append(s, "X: y\n");
	g_string_truncate(s, 1024 - 1);
	g_string_append(s, "\n\nbody\n");
	f = scan_ok(s->str, &lim);
	assert_int_equal(f.header_bytes, 1024);
	g_string_insert(s, 0, "X: 1\n");
	assert_string_equal(scan_refused(s->str, s->len, &lim),
			    "header over max_header_bytes (1029 > 1024)");

	/* a part's header block, and an attached message's, by the same limit */
	g_string_assign(s, "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n"
			   "--b\nContent-Type: message/rfc822\n\nFrom: b@example.com\n");
	for (int i = 0; i < 300; i++)
		g_string_append(s, "X: y\n");
	g_string_append(s, "\nhi\n--b--\n");
	assert_string_equal(scan_refused(s->str, s->len, &lim),
			    "header of a part (at byte 97) over max_header_bytes (1520 > 1024)");

	/* all of them together: at most twice the limit */
	g_string_assign(s, "From: a@example.com\nContent-Type: multipart/mixed; boundary=b\n\n");
	for (int p = 0; p < 4; p++) {
		g_string_append(s, "--b\n");
		for (int i = 0; i < 150; i++)
			g_string_append(s, "X: y\n");
		g_string_append(s, "\n");
	}
	g_string_append(s, "--b--\n");
	assert_string_equal(scan_refused(s->str, s->len, &lim),
			    "headers over max_header_bytes (the header blocks of the message and "
			    "its parts hold more than 2 x 1024 bytes)");
	g_string_truncate(s, strstr(s->str, "--b\n") - s->str);
	for (int p = 0; p < 2; p++) {
		g_string_append(s, "--b\n");
		for (int i = 0; i < 150; i++)
			g_string_append(s, "X: y\n");
		g_string_append(s, "\n");
	}
	f = scan_ok(s->str, &lim);
	assert_int_equal(f.part_header_bytes, 750);
	assert_int_equal(f.header_total_bytes, 62 + 2 * 750);
	g_string_free(s, TRUE);
}

/* An 8 MiB header of the shortest fields is refused (its time and memory: bench/bombs). */
static void test_header_bomb(void **state)
{
	GString *s = g_string_new("From: a@example.com\n");
	(void)state;
	while (s->len < 8 * 1024 * 1024)
		g_string_append(s, "X:y\n");
	g_string_append(s, "\nbody\n");
	assert_string_equal(scan_refused(s->str, s->len, testlib_limits()),
			    "header over max_header_bytes (8388608 > 262144)");
	g_string_free(s, TRUE);
}

/* mime_parse() refuses through the pre-scan, before GMime. */
static void test_mime_parse_refuses(void **state)
{
	GString *s = flat(600);
	struct errbuf err = {{0}};
	struct mail *m = NULL;

	(void)state;
	assert_int_equal(mime_parse(s->str, s->len, testlib_limits(), &m, &err), SPOC_EPERM);
	assert_null(m);
	assert_string_equal(err.msg, "message over max_parts (more than 500 MIME parts, counted "
				     "before parsing)");
	g_string_free(s, TRUE);
}

/* Without limits (spocctl showing a quarantined message) GMime still builds no more parts than
 * the configuration's own ceiling. */
static void test_mime_parse_ceiling(void **state)
{
	const struct mime_limits none = {0};
	GString *s = flat(MIME_CEILING_PARTS);
	struct errbuf err = {{0}};
	struct mail *m = NULL;

	(void)state;
	assert_int_equal(mime_parse(s->str, s->len, &none, &m, &err), SPOC_EPERM);
	assert_string_equal(err.msg, "message over max_parts (more than 100000 MIME parts, "
				     "counted before parsing)");
	g_string_free(s, TRUE);
	s = flat(99);
	assert_int_equal(mime_parse(s->str, s->len, NULL, &m, &err), SPOC_OK);
	mail_free(&m);
	g_string_free(s, TRUE);
}

/* ---- generated structures against GMime's own tree ---- */

struct gen {
	GRand *rand;
	GString *out;
	GPtrArray *open; /* boundaries of the multiparts being written, outermost first */
	const char *eol;
};

static gboolean gen_chance(struct gen *g, int percent)
{
	return g_rand_int_range(g->rand, 0, 100) < percent;
}

static const char *gen_pick(struct gen *g, const char *const *from, int n)
{
	return from[g_rand_int_range(g->rand, 0, n)];
}

/* A boundary: now and then one already open, a prefix of one, or empty. */
static char *gen_boundary(struct gen *g)
{
	static const char *const fresh[] = {"a", "b", "ab", "abc", "x y", "=_P", "--", "B-"};

	if (g->open->len > 0 && gen_chance(g, 20))
		return g_strdup(
		    g_ptr_array_index(g->open, g_rand_int_range(g->rand, 0, (gint32)g->open->len)));
	if (gen_chance(g, 3))
		return g_strdup("");
	return g_strdup(gen_pick(g, fresh, G_N_ELEMENTS(fresh)));
}

/* A line of text that may be long, may carry an open boundary anywhere, and may look like a
 * header or a boundary line. */
static void gen_line(struct gen *g)
{
	int kind = g_rand_int_range(g->rand, 0, 10);

	if (kind < 4) {
		g_string_append(g->out, "some text");
	} else if (kind < 7 && g->open->len > 0) {
		int pad = g_rand_int_range(g->rand, 0, 2) == 0 ? g_rand_int_range(g->rand, 0, 200)
							       : g_rand_int_range(g->rand, 0, 9000);
		const char *b =
		    g_ptr_array_index(g->open, g_rand_int_range(g->rand, 0, (gint32)g->open->len));

		for (int i = 0; i < pad; i++)
			g_string_append_c(g->out, "xy -\t"[g_rand_int_range(g->rand, 0, 5)]);
		g_string_append_printf(g->out, "--%s%s", b,
				       gen_chance(g, 30) ? "--" : (gen_chance(g, 30) ? " \t" : ""));
		if (gen_chance(g, 30))
			g_string_append(g->out, "tail");
	} else if (kind < 8) {
		g_string_append_printf(g->out, "Content-Type: multipart/mixed; boundary=%s",
				       gen_chance(g, 50) ? "a" : "z");
	} else {
		g_string_append(g->out, "--");
	}
	g_string_append(g->out, g->eol);
}

static void gen_entity(struct gen *g, int depth, gboolean in_digest);

/* A header block and what follows it. */
static void gen_entity(struct gen *g, int depth, gboolean in_digest)
{
	static const char *const leaf_types[] = {"text/plain",	    "text/html",
						 "application/pdf", "message/rfc822",
						 "message/global",  "multipart/mixed"};
	static const char *const encodings[] = {"7bit", "base64", " Quoted-Printable", "x-uuencode",
						"8bit"};
	int kind = depth > 7 ? 0 : g_rand_int_range(g->rand, 0, 4);
	char *boundary = NULL;

	if (gen_chance(g, 15)) {
		/* a line GMime skips, of any length: one that straddles the end of its buffer
		 * makes it drop the next field */
		int len = g_rand_int_range(g->rand, 1, gen_chance(g, 50) ? 300 : 9000);

		for (int i = 0; i < len; i++)
			g_string_append_c(g->out, "xy z\t"[g_rand_int_range(g->rand, 0, 5)]);
		g_string_append(g->out, g->eol);
	}
	if (gen_chance(g, 50))
		g_string_append_printf(g->out, "X-Other: %d%s", depth, g->eol);
	if (kind == 3 && gen_chance(g, 30))
		g_string_append_printf(g->out, "Content-Transfer-Encoding: base64%s", g->eol);
	if (kind == 1 || kind == 2) {
		boundary = gen_boundary(g);
		if (gen_chance(g, 15))
			g_string_append_printf(
			    g->out, "Content-Type: multipart/mixed; boundary=q%s", g->eol);
		switch (g_rand_int_range(g->rand, 0, 5)) {
		case 0:
			g_string_append_printf(
			    g->out, "Content-Type: multipart/%s;%s\tboundary=\"%s\"%s",
			    kind == 2 ? "digest" : "mixed", g->eol, boundary, g->eol);
			break;
		case 1:
			g_string_append_printf(g->out,
					       "content-type : Multipart/%s; boundary*0=\"%s\"%s",
					       kind == 2 ? "digest" : "related", boundary, g->eol);
			break;
		case 2:
			g_string_append_printf(
			    g->out,
			    "Content-Type: multipart/%s; boundary=\"=?us-ascii?q?"
			    "%s?=\"%s",
			    kind == 2 ? "digest" : "mixed", boundary, g->eol);
			break;
		default:
			g_string_append_printf(
			    g->out, "Content-Type: multipart/%s; boundary=\"%s\"%s",
			    kind == 2 ? "digest" : "alternative", boundary, g->eol);
		}
	} else if (kind == 3) {
		g_string_append_printf(g->out, "Content-Type: message/rfc822%s", g->eol);
		if (gen_chance(g, 25))
			g_string_append_printf(g->out, "Content-Transfer-Encoding:%s%s",
					       gen_pick(g, encodings, G_N_ELEMENTS(encodings)),
					       g->eol);
	} else if (!in_digest || gen_chance(g, 50)) {
		g_string_append_printf(g->out, "Content-Type: %s%s",
				       gen_pick(g, leaf_types, G_N_ELEMENTS(leaf_types)), g->eol);
	}
	if (gen_chance(g, 5)) {
		g_free(boundary);
		return; /* no empty line: what comes next is read as header */
	}
	g_string_append(g->out, g->eol);

	if (kind == 3 || (kind == 0 && in_digest && gen_chance(g, 50))) {
		gen_entity(g, depth + 1, FALSE);
	} else if (boundary != NULL) {
		int n = g_rand_int_range(g->rand, 0, 5);

		g_ptr_array_add(g->open, boundary);
		if (gen_chance(g, 30))
			gen_line(g);
		for (int i = 0; i < n; i++) {
			g_string_append_printf(g->out, "--%s%s%s", boundary,
					       gen_chance(g, 10) ? " \t" : "", g->eol);
			if (gen_chance(g, 10))
				continue; /* a boundary line right after another */
			gen_entity(g, depth + 1, kind == 2);
		}
		if (gen_chance(g, 80))
			g_string_append_printf(g->out, "--%s--%s", boundary, g->eol);
		if (gen_chance(g, 30))
			gen_line(g);
		g_ptr_array_remove_index(g->open, g->open->len - 1);
		return;
	} else {
		int n = g_rand_int_range(g->rand, 0, 4);

		for (int i = 0; i < n; i++)
			gen_line(g);
	}
	g_free(boundary);
}

/* Thousands of structures that mix every form above: the pre-scan never counts fewer parts or
 * less nesting than GMime builds. */
static void test_never_below_gmime(void **state)
{
	struct gen g = {0};
	int checked = 0, refused = 0, rounds;

	(void)state;
	/* PRESCAN_SEED and PRESCAN_ROUNDS run other and longer series by hand */
	g.rand = g_rand_new_with_seed(
	    g_getenv("PRESCAN_SEED") != NULL ? (guint32)atoi(g_getenv("PRESCAN_SEED")) : 20240611);
	rounds = g_getenv("PRESCAN_ROUNDS") != NULL ? atoi(g_getenv("PRESCAN_ROUNDS")) : 4000;
	g.out = g_string_new(NULL);
	g.open = g_ptr_array_new_with_free_func(g_free);
	for (int i = 0; i < rounds; i++) {
		struct mime_prescan f;
		int parts, depth;

		g.eol = gen_chance(&g, 30) ? "\r\n" : "\n";
		g_string_printf(g.out, "From: a@example.com%s", g.eol);
		gen_entity(&g, 1, FALSE);
		g_ptr_array_set_size(g.open, 0);
		if (gen_chance(&g, 10))
			g_string_truncate(g.out,
					  (gsize)g_rand_int_range(g.rand, 1, (gint32)g.out->len));
		if (!prescan_tree(g.out->str, g.out->len, &parts, &depth))
			continue;
		if (mime_prescan(g.out->str, g.out->len, NULL, &f, NULL) != SPOC_OK) {
			refused++;
			continue;
		}
		if (f.parts < parts || f.depth < depth) {
			if (g_getenv("PRESCAN_DUMP") != NULL)
				g_file_set_contents(g_getenv("PRESCAN_DUMP"), g.out->str,
						    (gssize)g.out->len, NULL);
			fail_msg("input %d: pre-scan %d parts %d deep, GMime %d parts %d deep:\n%s",
				 i, f.parts, f.depth, parts, depth, g.out->str);
		}
		checked++;
	}
	printf("%d structures held against GMime's, %d refused as ambiguous\n", checked, refused);
	assert_true(checked > rounds / 2);
	g_ptr_array_unref(g.open);
	g_string_free(g.out, TRUE);
	g_rand_free(g.rand);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parts),
	    cmocka_unit_test(test_part_bomb),
	    cmocka_unit_test(test_depth),
	    cmocka_unit_test(test_depth_unlimited),
	    cmocka_unit_test(test_attached_messages),
	    cmocka_unit_test(test_boundary_forms),
	    cmocka_unit_test(test_boundary_inside_long_line),
	    cmocka_unit_test(test_skipped_line_before_a_field),
	    cmocka_unit_test(test_header_bytes),
	    cmocka_unit_test(test_header_bomb),
	    cmocka_unit_test(test_mime_parse_refuses),
	    cmocka_unit_test(test_mime_parse_ceiling),
	    cmocka_unit_test(test_never_below_gmime),
	};
	int rc;

	mime_init();
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	mime_shutdown();
	return rc;
}
