/* Unit tests of thread.c: minted Message-IDs and reply tokens survive a round trip and nothing
 * else does (every one-character change, truncation or extension is refused), key rotation and
 * key loading errors, plus-address parsing, subject normalisation in Spanish and English, and the
 * decision, above all the Ticket Trick: no stranger ever gets into an existing ticket, whatever
 * the mail names. And the threading headers of what the desk sends: a person's own chain,
 * capped, and nothing a sender wrote that could not go into a header. */

#include "thread.h"

#include "testlib.h"

#include <inttypes.h>
#include <string.h>

#define SECRET_A "k3Jq0n4y8yXq2mK1vVw7b8yV0m3tR5uA+fQ1=="
#define SECRET_B "ZbT0Qy3lQ9w2cE8pN1aX6rS4uV7yB2dG5hJ8kL0mN3o="
#define DOMAIN	 "desk.example"

static const char token_chars[] = "abcdefghijklmnopqrstuvwxyz0123456789";

static struct thread_keys *keys_of(const char *first, const char *second)
{
	const char *list[] = {first, second, NULL};
	struct errbuf err = {{0}};
	struct thread_keys *keys = thread_keys_new(list, &err);

	if (keys == NULL)
		fail_msg("thread_keys_new: %s", err.msg);
	return keys;
}

static void assert_matches(const char *pattern, const char *s)
{
	if (!g_regex_match_simple(pattern, s, 0, 0))
		fail_msg("\"%s\" does not match /%s/", s, pattern);
}

static void test_msgid_round_trip(void **state)
{
	struct thread_keys *keys = keys_of(SECRET_A, NULL);
	const int64_t tickets[] = {1, 42, 123456, INT64_MAX};
	char *id, *again;
	int64_t t;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(tickets); i++) {
		id = thread_mint_message_id(keys, tickets[i], DOMAIN);
		assert_non_null(id);
		t = 0;
		assert_true(thread_verify_message_id(keys, id, DOMAIN, &t));
		assert_int_equal(t, tickets[i]);
		g_free(id);
	}
	id = thread_mint_message_id(keys, 42, DOMAIN);
	assert_matches("^spocd\\.42\\.[a-z2-7]{12}\\.[a-z2-7]{17}@desk\\.example$", id);
	assert_int_equal(id[strlen("spocd.42.") + 13], keys->kids[0]);
	/* the domain is compared without regard to case; NULL output is allowed */
	assert_true(thread_verify_message_id(keys, id, "DESK.Example", NULL));
	/* two ids of one ticket differ */
	again = thread_mint_message_id(keys, 42, DOMAIN);
	assert_string_not_equal(id, again);
	assert_true(thread_verify_message_id(keys, again, DOMAIN, NULL));
	g_free(again);
	g_free(id);

	assert_null(thread_mint_message_id(keys, 0, DOMAIN));
	assert_null(thread_mint_message_id(keys, -5, DOMAIN));
	assert_null(thread_mint_message_id(keys, 1, NULL));
	assert_null(thread_mint_message_id(keys, 1, ""));
	assert_null(thread_mint_message_id(NULL, 1, DOMAIN));
	thread_keys_free(&keys);
	assert_null(keys);
	thread_keys_free(&keys);
}

static void test_msgid_tamper(void **state)
{
	static const char replacements[] = "az27019.@A-_<> ";
	struct thread_keys *keys = keys_of(SECRET_A, NULL);
	char *id = thread_mint_message_id(keys, 4711, DOMAIN);
	size_t len = strlen(id), at = (size_t)(strchr(id, '@') - id);
	int64_t t = -1;
	char *s;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		for (const char *r = replacements; *r != '\0'; r++) {
			char *bad = g_strdup(id);

			/* a change of case in the domain is no change */
			if (*r == id[i] || (i > at && g_ascii_tolower(*r) == id[i]))
				goto next;
			bad[i] = *r;
			if (thread_verify_message_id(keys, bad, DOMAIN, &t))
				fail_msg("tampered id accepted: %s (from %s)", bad, id);
		next:
			g_free(bad);
		}
		/* every truncation */
		s = g_strndup(id, i);
		assert_false(thread_verify_message_id(keys, s, DOMAIN, &t));
		g_free(s);
		/* an extra character anywhere */
		s = g_strdup_printf("%.*sa%s", (int)i, id, id + i);
		assert_false(thread_verify_message_id(keys, s, DOMAIN, &t));
		g_free(s);
	}
	assert_int_equal(t, -1);

	/* wrong or extended domain, brackets, leading zero on the ticket */
	assert_false(thread_verify_message_id(keys, id, "desk.example.org", NULL));
	assert_false(thread_verify_message_id(keys, id, "other.example", NULL));
	assert_false(thread_verify_message_id(keys, id, "", NULL));
	assert_false(thread_verify_message_id(keys, id, NULL, NULL));
	s = g_strdup_printf("%s.", id);
	assert_false(thread_verify_message_id(keys, s, DOMAIN, NULL));
	g_free(s);
	s = g_strdup_printf("<%s>", id);
	assert_false(thread_verify_message_id(keys, s, DOMAIN, NULL));
	g_free(s);
	s = g_strdup_printf("spocd.0%s", id + strlen("spocd."));
	assert_false(thread_verify_message_id(keys, s, DOMAIN, NULL));
	g_free(s);
	/* the same tag with another ticket number */
	s = g_strdup_printf("spocd.4712%s", id + strlen("spocd.4711"));
	assert_false(thread_verify_message_id(keys, s, DOMAIN, NULL));
	g_free(s);
	/* someone else's id, or a look-alike under another key */
	assert_false(thread_verify_message_id(keys, "CAJ3=abc@mail.gmail.com", DOMAIN, NULL));
	assert_false(thread_verify_message_id(keys, "", DOMAIN, NULL));
	assert_false(thread_verify_message_id(keys, NULL, DOMAIN, NULL));
	assert_false(thread_verify_message_id(NULL, id, DOMAIN, NULL));
	assert_false(thread_verify_message_id(
	    keys, "spocd.99999999999999999999.aaaaaaaaaaaa.aaaaaaaaaaaaaaaaa@desk.example", DOMAIN,
	    NULL));
	g_free(id);
	thread_keys_free(&keys);
}

static void test_token_round_trip(void **state)
{
	struct thread_keys *keys = keys_of(SECRET_A, NULL);
	const int64_t ids[][2] = {{1, 0},
				  {4711, 0},
				  {4711, 12},
				  {10, 10},
				  {THREAD_TOKEN_MAX_ID, 0},
				  {THREAD_TOKEN_MAX_ID, THREAD_TOKEN_MAX_ID}};
	int64_t t, a;
	char *tok, *again;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
		tok = thread_mint_reply_token(keys, ids[i][0], ids[i][1]);
		assert_non_null(tok);
		assert_true(strlen(tok) <= THREAD_TOKEN_MAX);
		assert_int_equal(strspn(tok, token_chars), strlen(tok));
		t = a = -1;
		assert_true(thread_verify_reply_token(keys, tok, &t, &a));
		assert_int_equal(t, ids[i][0]);
		assert_int_equal(a, ids[i][1]);
		/* the same ids give the same token: any notification's address keeps working */
		again = thread_mint_reply_token(keys, ids[i][0], ids[i][1]);
		assert_string_equal(tok, again);
		g_free(again);
		g_free(tok);
	}
	tok = thread_mint_reply_token(keys, 4711, 0);
	assert_matches("^4711a0[a-z2-7]{17}$", tok);
	assert_true(thread_verify_reply_token(keys, tok, NULL, NULL));
	/* the agent's token differs from the requester's */
	again = thread_mint_reply_token(keys, 4711, 3);
	assert_string_not_equal(tok, again);
	g_free(again);
	g_free(tok);

	assert_null(thread_mint_reply_token(keys, 0, 0));
	assert_null(thread_mint_reply_token(keys, -1, 0));
	assert_null(thread_mint_reply_token(keys, THREAD_TOKEN_MAX_ID + 1, 0));
	assert_null(thread_mint_reply_token(keys, 1, -1));
	assert_null(thread_mint_reply_token(keys, 1, THREAD_TOKEN_MAX_ID + 1));
	assert_null(thread_mint_reply_token(NULL, 1, 0));
	thread_keys_free(&keys);
}

/* VERP tokens: round trip under keys whose id is a letter and a digit (a digit key id must not
 * be read as part of the row number), any case accepted, every one-character change refused,
 * and no mixing with reply tokens. */
static void test_verp(void **state)
{
	const int64_t ids[] = {1, 7, 42, 4711, 99999999999, INT64_C(999999999999999999)};
	gboolean digit_kid = FALSE, letter_kid = FALSE;
	int64_t id;

	(void)state;
	for (int k = 0; k < 40; k++) {
		char *secret = g_strdup_printf("verp-test-secret-%02d-0123456789abcdefghij", k);
		struct thread_keys *keys = keys_of(secret, NULL);

		for (size_t i = 0; i < G_N_ELEMENTS(ids); i++) {
			char *tok = thread_mint_verp_token(keys, ids[i]), *up;
			size_t len;

			assert_non_null(tok);
			len = strlen(tok);
			assert_true(len <= THREAD_TOKEN_MAX);
			assert_matches("^b[0-9]+[a-z2-7]{17}$", tok);
			if (g_ascii_isdigit(tok[len - 17]))
				digit_kid = TRUE;
			else
				letter_kid = TRUE;
			id = -1;
			assert_true(thread_verify_verp_token(keys, tok, &id));
			assert_int_equal(id, ids[i]);
			up = g_ascii_strup(tok, -1);
			assert_true(thread_verify_verp_token(keys, up, NULL));
			g_free(up);
			assert_false(thread_verify_reply_token(keys, tok, NULL, NULL));
			for (size_t c = 0; c < len; c++)
				for (const char *r = token_chars; *r != '\0'; r++) {
					char *bad = g_strdup(tok);

					if (*r != g_ascii_tolower(tok[c])) {
						bad[c] = *r;
						if (thread_verify_verp_token(keys, bad, NULL))
							fail_msg("tampered VERP token accepted: %s "
								 "(from %s)",
								 bad, tok);
					}
					g_free(bad);
				}
			g_free(tok);
		}
		{
			char *reply = thread_mint_reply_token(keys, 42, 0);

			assert_false(thread_verify_verp_token(keys, reply, NULL));
			g_free(reply);
		}
		assert_null(thread_mint_verp_token(keys, 0));
		assert_false(thread_verify_verp_token(keys, "b", NULL));
		assert_false(thread_verify_verp_token(keys, "", NULL));
		assert_false(thread_verify_verp_token(keys, NULL, NULL));
		thread_keys_free(&keys);
		g_free(secret);
	}
	assert_null(thread_mint_verp_token(NULL, 1));
	assert_true(digit_kid);
	assert_true(letter_kid);
}

/* Fails unless every other token character at position i makes tok fail to verify (agent:
 * through thread_verify_token(), else thread_verify_reply_token()). */
static void expect_changes_refused(const struct thread_keys *keys, const char *tok, size_t i,
				   gboolean agent)
{
	for (const char *r = token_chars; *r != '\0'; r++) {
		char *bad = g_strdup(tok);
		gboolean ok;

		if (*r == tok[i]) {
			g_free(bad);
			continue;
		}
		bad[i] = *r;
		ok = agent ? thread_verify_token(keys, bad, NULL)
			   : thread_verify_reply_token(keys, bad, NULL, NULL);
		if (ok)
			fail_msg("tampered token accepted: %s (from %s)", bad, tok);
		g_free(bad);
	}
}

/* Agent tokens carry their issue day and the agent's generation, so they can expire and be
 * revoked: both round-trip, every one-character change is refused, a reply token's tag is no
 * agent token's, and one from another key fails. */
static void test_agent_token(void **state)
{
	struct thread_keys *keys = keys_of(SECRET_A, NULL), *other = keys_of(SECRET_B, NULL);
	const int64_t cases[][4] = {
	    {1, 1, 1, 0},
	    {4711, 3, 20430, 0},
	    {4711, 3, 20430, 7},
	    {THREAD_TOKEN_MAX_ID, THREAD_TOKEN_MAX_ID, THREAD_TOKEN_MAX_DAY, THREAD_TOKEN_MAX_GEN}};
	struct thread_token t;
	char *tok;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		tok = thread_mint_agent_token(keys, cases[i][0], cases[i][1], cases[i][2],
					      cases[i][3]);
		assert_non_null(tok);
		assert_true(strlen(tok) <= THREAD_TOKEN_MAX);
		assert_int_equal(strspn(tok, token_chars), strlen(tok));
		memset(&t, 0xff, sizeof(t));
		assert_true(thread_verify_token(keys, tok, &t));
		assert_int_equal(t.ticket, cases[i][0]);
		assert_int_equal(t.agent, cases[i][1]);
		assert_int_equal(t.day, cases[i][2]);
		assert_int_equal(t.generation, cases[i][3]);
		/* the old verifier knows only reply tokens */
		assert_false(thread_verify_reply_token(keys, tok, NULL, NULL));
		assert_false(thread_verify_token(other, tok, NULL));
		g_free(tok);
	}
	tok = thread_mint_agent_token(keys, 4711, 3, 20430, 2);
	for (size_t i = 0; i < strlen(tok); i++)
		expect_changes_refused(keys, tok, i, TRUE);
	/* a later generation or day cannot be written over an old token */
	char *later = g_strdup(tok);
	later[strlen("4711a3d20430g")] = '3';
	assert_false(thread_verify_token(keys, later, NULL));
	g_free(later);
	g_free(tok);
	/* a reply token verifies through thread_verify_token() too, without a day */
	tok = thread_mint_reply_token(keys, 4711, 3);
	assert_true(thread_verify_token(keys, tok, &t));
	assert_int_equal(t.agent, 3);
	assert_int_equal(t.day, 0);
	g_free(tok);
	assert_null(thread_mint_agent_token(keys, 1, 0, 1, 0));
	assert_null(thread_mint_agent_token(keys, 1, 1, 0, 0));
	assert_null(thread_mint_agent_token(keys, 1, 1, THREAD_TOKEN_MAX_DAY + 1, 0));
	assert_null(thread_mint_agent_token(keys, 1, 1, 1, -1));
	assert_null(thread_mint_agent_token(keys, 1, 1, 1, THREAD_TOKEN_MAX_GEN + 1));
	assert_null(thread_mint_agent_token(NULL, 1, 1, 1, 0));
	assert_false(thread_verify_token(keys, "4711a3d1g0", NULL));
	assert_false(thread_verify_token(keys, NULL, NULL));
	thread_keys_free(&keys);
	thread_keys_free(&other);
}

static void test_token_tamper(void **state)
{
	struct thread_keys *keys = keys_of(SECRET_A, NULL);
	char *tok = thread_mint_reply_token(keys, 4711, 25);
	size_t len = strlen(tok);
	int64_t t = -1, a = -1;
	char *s;

	(void)state;
	for (size_t i = 0; i < len; i++) {
		expect_changes_refused(keys, tok, i, FALSE);
		/* upper case is not ours either (thread_token_from_address lowers it) */
		if (g_ascii_isalpha(tok[i])) {
			s = g_strdup(tok);
			s[i] = g_ascii_toupper(s[i]);
			assert_false(thread_verify_reply_token(keys, s, &t, &a));
			g_free(s);
		}
		s = g_strndup(tok, i);
		assert_false(thread_verify_reply_token(keys, s, &t, &a));
		g_free(s);
		s = g_strdup_printf("%.*s7%s", (int)i, tok, tok + i);
		assert_false(thread_verify_reply_token(keys, s, &t, &a));
		g_free(s);
	}
	s = g_strdup_printf("%s7", tok);
	assert_false(thread_verify_reply_token(keys, s, &t, &a));
	g_free(s);
	/* leading zeros would give one tag several spellings */
	s = g_strdup_printf("0%s", tok);
	assert_false(thread_verify_reply_token(keys, s, &t, &a));
	g_free(s);
	assert_int_equal(t, -1);
	assert_int_equal(a, -1);
	assert_false(thread_verify_reply_token(keys, "", NULL, NULL));
	assert_false(thread_verify_reply_token(keys, NULL, NULL, NULL));
	assert_false(thread_verify_reply_token(NULL, tok, NULL, NULL));
	assert_false(thread_verify_reply_token(keys, "1a0aaaaaaaaaaaaaaaaa", NULL, NULL));
	assert_false(thread_verify_reply_token(
	    keys, "123456789012345678901234567890123456789012345678901234567890", NULL, NULL));
	g_free(tok);
	thread_keys_free(&keys);
}

/* The two kinds of identifier are not interchangeable, even for the same numbers. */
static void test_domain_separation(void **state)
{
	struct thread_keys *keys = keys_of(SECRET_A, NULL);
	char *tok = thread_mint_reply_token(keys, 42, 0);
	char *id = thread_mint_message_id(keys, 42, DOMAIN);
	char *s;

	(void)state;
	/* the token's kid+tag pasted into a Message-ID shape */
	s = g_strdup_printf("spocd.42.%.12s.%s@" DOMAIN, id + strlen("spocd.42."),
			    tok + strlen("42a0"));
	assert_false(thread_verify_message_id(keys, s, DOMAIN, NULL));
	g_free(s);
	/* the Message-ID's kid+tag pasted into a token */
	*strchr(id, '@') = '\0';
	s = g_strdup_printf("42a0%s", strrchr(id, '.') + 1);
	assert_false(thread_verify_reply_token(keys, s, NULL, NULL));
	g_free(s);
	g_free(id);
	g_free(tok);
	thread_keys_free(&keys);
}

static void test_rotation(void **state)
{
	struct thread_keys *old = keys_of(SECRET_A, NULL);
	struct thread_keys *both = keys_of(SECRET_B, SECRET_A);
	struct thread_keys *fresh = keys_of(SECRET_B, NULL);
	char *id = thread_mint_message_id(old, 7, DOMAIN);
	char *tok = thread_mint_reply_token(old, 7, 0);
	char *id2, *tok2;
	int64_t t = 0, a = -1;

	(void)state;
	/* the kid belongs to the secret, not to its position */
	assert_int_equal(old->kids[0], both->kids[1]);
	assert_int_equal(fresh->kids[0], both->kids[0]);
	assert_int_not_equal(both->kids[0], both->kids[1]);
	/* minted with the old key: valid while it is configured, also as a second key */
	assert_true(thread_verify_message_id(both, id, DOMAIN, &t));
	assert_int_equal(t, 7);
	assert_true(thread_verify_reply_token(both, tok, &t, &a));
	assert_int_equal(a, 0);
	/* ... and not once it is removed */
	assert_false(thread_verify_message_id(fresh, id, DOMAIN, NULL));
	assert_false(thread_verify_reply_token(fresh, tok, NULL, NULL));
	/* minting uses the current key */
	id2 = thread_mint_message_id(both, 7, DOMAIN);
	tok2 = thread_mint_reply_token(both, 7, 0);
	assert_true(thread_verify_message_id(fresh, id2, DOMAIN, NULL));
	assert_true(thread_verify_reply_token(fresh, tok2, NULL, NULL));
	assert_false(thread_verify_message_id(old, id2, DOMAIN, NULL));
	assert_false(thread_verify_reply_token(old, tok2, NULL, NULL));
	assert_string_not_equal(tok, tok2);
	g_free(id);
	g_free(tok);
	g_free(id2);
	g_free(tok2);
	thread_keys_free(&old);
	thread_keys_free(&both);
	thread_keys_free(&fresh);
}

/* The key id thread.c derives: the first base32 character of SHA-256(secret). */
static char kid_of(const char *secret)
{
	guint8 digest[32];
	gsize len = sizeof(digest);
	GChecksum *ck = g_checksum_new(G_CHECKSUM_SHA256);

	g_checksum_update(ck, (const guchar *)secret, (gssize)strlen(secret));
	g_checksum_get_digest(ck, digest, &len);
	g_checksum_free(ck);
	return "abcdefghijklmnopqrstuvwxyz234567"[digest[0] >> 3];
}

static void expect_key_error(const char *const *list, const char *want)
{
	struct errbuf err = {{0}};
	struct thread_keys *keys = thread_keys_new(list, &err);

	if (keys != NULL)
		fail_msg("thread_keys_new accepted keys; expected \"%s\"", want);
	if (strstr(err.msg, want) == NULL)
		fail_msg("error \"%s\" lacks \"%s\"", err.msg, want);
	/* the error names secrets by position and never shows one */
	for (size_t i = 0; list != NULL && list[i] != NULL; i++)
		if (list[i][0] != '\0' && strstr(err.msg, list[i]) != NULL)
			fail_msg("error \"%s\" shows a secret", err.msg);
}

static void test_keys_errors(void **state)
{
	const char *none[] = {NULL};
	const char *short_second[] = {SECRET_A, "0123456789012345678901234567890", NULL};
	const char *empty[] = {"", NULL};
	const char *repeated[] = {SECRET_A, SECRET_B, SECRET_A, NULL};
	const char *exact[] = {"01234567890123456789012345678901", NULL};
	char *found[2] = {NULL, NULL};
	char *cand[64];
	struct thread_keys *keys;

	(void)state;
	expect_key_error(NULL, "no secret");
	expect_key_error(none, "no secret");
	expect_key_error(short_second, "secret 2: 31 bytes, at least 32");
	expect_key_error(empty, "secret 1: 0 bytes");
	expect_key_error(repeated, "secret 3 repeats secret 1");
	thread_keys_new(none, NULL); /* err may be NULL */

	/* exactly 32 bytes is enough */
	keys = thread_keys_new(exact, NULL);
	assert_non_null(keys);
	thread_keys_free(&keys);

	/* craft two different secrets with the same key id: 33 candidates over 32 ids must hold a
	 * pair (pigeonhole) */
	for (int i = 0; i < 33 && found[0] == NULL; i++) {
		cand[i] = g_strdup_printf("collision-candidate-secret-%04d-xxxxxxxx", i);
		for (int j = 0; j < i; j++)
			if (kid_of(cand[i]) == kid_of(cand[j])) {
				found[0] = cand[j];
				found[1] = cand[i];
				break;
			}
		if (found[0] == NULL)
			continue;
		const char *pair[] = {SECRET_A, found[0], found[1], NULL};
		char want[64];

		g_snprintf(want, sizeof(want), "secrets 2 and 3 have the same key id '%c'",
			   kid_of(found[0]));
		expect_key_error(pair, want);
		expect_key_error(pair, "replace secret 2");
		for (int j = 0; j <= i; j++)
			g_free(cand[j]);
	}
	assert_non_null(found[0]);
}

static void expect_token(const char *addr, const char *want)
{
	static const char *const desk[] = {"help@desk.example", "soporte+ti@desk.example",
					   "it@other.example", NULL};
	char *got = thread_token_from_address(addr, desk);

	if (g_strcmp0(got, want) != 0)
		fail_msg("thread_token_from_address(\"%s\") = \"%s\", want \"%s\"",
			 addr != NULL ? addr : "(null)", got != NULL ? got : "(null)",
			 want != NULL ? want : "(null)");
	g_free(got);
}

static void test_token_from_address(void **state)
{
	(void)state;
	expect_token("help+abc123@desk.example", "abc123");
	expect_token("Help+AbC123@Desk.Example", "abc123");
	expect_token("HELP+X@DESK.EXAMPLE", "x");
	expect_token("it+4711a0q@other.example", "4711a0q");
	/* a desk address that is itself plus-addressed */
	expect_token("soporte+ti+tok9@desk.example", "tok9");
	/* ... next to "help@", where "help+ti+tok9" leaves no alphanumeric token */
	expect_token("help+ti+tok9@desk.example", NULL);
	/* not ours */
	expect_token("help@desk.example", NULL);
	expect_token("help+@desk.example", NULL);
	expect_token("help+abc@other.example", NULL);
	expect_token("help+abc@desk.example.org", NULL);
	expect_token("help+abc@sub.desk.example", NULL);
	expect_token("helpdesk+abc@desk.example", NULL);
	expect_token("hel+abc@desk.example", NULL);
	expect_token("someone+abc@desk.example", NULL);
	expect_token("someone+abc@gmail.com", NULL);
	expect_token("soporte+abc@desk.example", NULL);
	expect_token("help+ab-c@desk.example", NULL);
	expect_token("help+ab.c@desk.example", NULL);
	expect_token("help+\xc3\xb1@desk.example", NULL);
	expect_token("\"help+abc\"@desk.example", NULL);
	expect_token("<help+abc@desk.example>", NULL);
	expect_token("help+abc", NULL);
	expect_token("", NULL);
	expect_token(NULL, NULL);
	/* THREAD_TOKEN_MAX (56) characters are a token, one more is not */
	expect_token("help+12345678901234567890123456789012345678901234567890123456x@desk.example",
		     NULL);
	expect_token("help+12345678901234567890123456789012345678901234567890123456@desk.example",
		     "12345678901234567890123456789012345678901234567890123456");
	assert_null(thread_token_from_address("help+abc@desk.example", NULL));
}

static void expect_base(const char *subject, const char *want)
{
	char *got = thread_subject_base(subject);

	if (strcmp(got, want) != 0)
		fail_msg("thread_subject_base(\"%s\") = \"%s\", want \"%s\"",
			 subject != NULL ? subject : "(null)", got, want);
	g_free(got);
}

static void test_subject_base(void **state)
{
	(void)state;
	/* English */
	expect_base("Re: Printer on 3rd floor jammed", "Printer on 3rd floor jammed");
	expect_base("RE: RE: Fwd: FW: Printer jammed", "Printer jammed");
	expect_base("Re[2]: Re[10]: VPN down", "VPN down");
	expect_base("[INC-000123] VPN down", "VPN down");
	expect_base("Re: [INC-000123] VPN down", "VPN down");
	expect_base("RE: VPN down [INC-000123]", "VPN down");
	expect_base("[REQ-000124] Re: New laptop for Ana", "New laptop for Ana");
	expect_base("Fwd: [inc-000123] Re: [INC-000123] VPN down", "VPN down");
	expect_base("Printer [INC-000123] jammed", "Printer jammed");
	/* Spanish and the others */
	expect_base("RV: RE: Alta de usuario [REQ-000124]", "Alta de usuario");
	expect_base("Rv: Res: Enc: No funciona el correo", "No funciona el correo");
	expect_base("RE : TR : Problème d'imprimante", "Problème d'imprimante");
	expect_base("AW: WG: Drucker defekt", "Drucker defekt");
	expect_base("SV: VS: Tulostin", "Tulostin");
	expect_base("re:sin espacio", "sin espacio");
	expect_base("RE：お問い合わせ", "お問い合わせ");
	expect_base("\xc2\xa0RE:\xc2\xa0 Consulta\xc2\xa0\xc2\xa0urgente ", "Consulta urgente");
	expect_base("  Re:   muchos \t espacios  ", "muchos espacios");
	/* words that only start like a prefix, and prefixes not at the start, stay */
	expect_base("Reunión: sala 2", "Reunión: sala 2");
	expect_base("Encuesta: satisfacción", "Encuesta: satisfacción");
	expect_base("Resumen: incidencias", "Resumen: incidencias");
	expect_base("Fwdx: algo", "Fwdx: algo");
	expect_base("Consulta RE: otra", "Consulta RE: otra");
	expect_base("Re[]: vacío", "Re[]: vacío");
	expect_base("Re[x]: raro", "Re[x]: raro");
	/* tags that are not ours stay */
	expect_base("[EXTERNAL] RE: VPN", "[EXTERNAL] RE: VPN");
	expect_base("Re: [INC-000000] [INC-12x] [ INC-1 ] x", "[INC-000000] [INC-12x] [ INC-1 ] x");
	/* nothing left */
	expect_base("Re: [INC-000123]", "");
	expect_base("RE: ", "");
	expect_base("", "");
	expect_base(NULL, "");
}

/* Subjects a stranger makes to be slow: a quarter million '[' (each one an unclosed tag that
 * used to be searched to the end of the subject: quadratic), fifty thousand "Re: " and tags
 * between them. The results, not the time: the time is bench/bombs's. */
static void test_subject_base_hostile(void **state)
{
	GString *s = g_string_new(NULL), *want = g_string_new(NULL);
	char *got;

	(void)state;
	for (int i = 0; i < 250000; i++)
		g_string_append_c(s, '[');
	expect_base(s->str, s->str);
	g_string_assign(want, s->str);
	g_string_append(s, "[INC-000123] x");
	g_string_append(want, " x");
	expect_base(s->str, want->str);

	g_string_truncate(s, 0);
	for (int i = 0; i < 50000; i++)
		g_string_append(s, "Re: ");
	g_string_append(s, "VPN down");
	expect_base(s->str, "VPN down");

	g_string_truncate(s, 0);
	for (int i = 0; i < 50000; i++)
		g_string_append(s, i % 2 == 0 ? "RE: [INC-000123] " : "Fwd:[ ");
	g_string_append(s, "VPN down");
	got = thread_subject_base(s->str);
	assert_true(g_str_has_prefix(got, "[ RE: Fwd:[ RE: Fwd:[ "));
	assert_true(g_str_has_suffix(got, "Fwd:[ VPN down"));
	g_free(got);
	g_string_free(want, TRUE);
	g_string_free(s, TRUE);
}

/* --- the decision --------------------------------------------------------------------------- */

static GDateTime *now_at(void)
{
	return g_date_time_new_utc(2024, 5, 14, 10, 0, 0);
}

static void facts_init(struct thread_facts *f)
{
	memset(f, 0, sizeof(*f));
	f->now = now_at();
	f->reopen_window_s = 7 * 24 * 3600;
}

static void facts_clear(struct thread_facts *f)
{
	struct thread_candidate *all[] = {&f->by_minted_id, &f->by_stored_id, &f->by_token,
					  &f->by_subject_tag};

	for (size_t i = 0; i < G_N_ELEMENTS(all); i++)
		g_clear_pointer(&all[i]->resolved_at, g_date_time_unref);
	g_clear_pointer(&f->now, g_date_time_unref);
}

static struct thread_candidate candidate(int64_t ticket, enum ticket_status status,
					 gboolean participant, gboolean agent)
{
	struct thread_candidate c = {.ticket_id = ticket,
				     .status = status,
				     .sender_is_participant = participant,
				     .sender_is_agent = agent};

	return c;
}

/* A resolved candidate, resolved seconds_ago before now_at(). */
static struct thread_candidate resolved(int64_t ticket, int seconds_ago, gboolean participant,
					gboolean agent)
{
	struct thread_candidate c = candidate(ticket, TICKET_RESOLVED, participant, agent);
	GDateTime *now = now_at();

	c.resolved_at = g_date_time_add_seconds(now, -seconds_ago);
	g_date_time_unref(now);
	return c;
}

static void expect_verdict(const struct thread_facts *f, enum thread_action action, int64_t ticket,
			   int64_t link, const char *kind)
{
	struct thread_verdict v;

	memset(&v, 0xa5, sizeof(v));
	thread_decide(f, &v);
	assert_non_null(v.why);
	if (v.action != action || v.ticket_id != ticket || v.link_ticket_id != link ||
	    g_strcmp0(v.link_kind, kind) != 0)
		fail_msg("verdict %d ticket %" PRId64 " link %" PRId64 " %s (%s); want %d ticket "
			 "%" PRId64 " link %" PRId64 " %s",
			 v.action, v.ticket_id, v.link_ticket_id,
			 v.link_kind != NULL ? v.link_kind : "-", v.why, action, ticket, link,
			 kind != NULL ? kind : "-");
}

static void test_decide_new(void **state)
{
	struct thread_facts f;

	(void)state;
	facts_init(&f);
	expect_verdict(&f, THREAD_NEW_TICKET, 0, 0, NULL);
	facts_clear(&f);
}

/* The Ticket Trick: a stranger who guessed or read a ticket number never gets in. */
static void test_decide_guessed_subject(void **state)
{
	struct thread_facts f;

	(void)state;
	for (int s = TICKET_NEW; s <= TICKET_CLOSED; s++) {
		facts_init(&f);
		f.by_subject_tag = candidate(123, s, FALSE, FALSE);
		expect_verdict(&f, THREAD_NEW_LINKED, 0, 123, THREAD_LINK_POSSIBLY_RELATED);
		facts_clear(&f);
	}
	/* also when the ticket was resolved a moment ago */
	facts_init(&f);
	f.by_subject_tag = resolved(123, 60, FALSE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 123, THREAD_LINK_POSSIBLY_RELATED);
	facts_clear(&f);
}

/* A harvested Message-ID of a stored message, or one we minted, from a stranger. */
static void test_decide_harvested_msgid(void **state)
{
	struct thread_facts f;

	(void)state;
	facts_init(&f);
	f.by_stored_id = candidate(55, TICKET_IN_PROGRESS, FALSE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 55, THREAD_LINK_POSSIBLY_RELATED);
	facts_clear(&f);

	/* an attacker's own ticket's minted id, answered by a third party */
	facts_init(&f);
	f.by_minted_id = candidate(56, TICKET_IN_PROGRESS, FALSE, FALSE);
	f.by_stored_id = candidate(56, TICKET_IN_PROGRESS, FALSE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 56, THREAD_LINK_POSSIBLY_RELATED);
	facts_clear(&f);

	/* the same ids from a participant or an agent */
	facts_init(&f);
	f.by_stored_id = candidate(55, TICKET_IN_PROGRESS, TRUE, FALSE);
	expect_verdict(&f, THREAD_ATTACH, 55, 0, NULL);
	f.by_stored_id = candidate(55, TICKET_PENDING, FALSE, TRUE);
	expect_verdict(&f, THREAD_ATTACH, 55, 0, NULL);
	f.by_minted_id = candidate(56, TICKET_NEW, TRUE, FALSE);
	expect_verdict(&f, THREAD_ATTACH, 56, 0, NULL);
	facts_clear(&f);
}

/* A reply token from a stranger is the original Ticket Trick: the attacker's own ticket's reply
 * address used to sign up somewhere; the service's mail must not reach his ticket. */
static void test_decide_token(void **state)
{
	struct thread_facts f;

	(void)state;
	facts_init(&f);
	f.by_token = candidate(77, TICKET_IN_PROGRESS, TRUE, FALSE);
	expect_verdict(&f, THREAD_ATTACH, 77, 0, NULL);
	f.by_token = candidate(77, TICKET_IN_PROGRESS, FALSE, TRUE);
	expect_verdict(&f, THREAD_ATTACH, 77, 0, NULL);
	f.by_token = candidate(77, TICKET_IN_PROGRESS, FALSE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 77, THREAD_LINK_POSSIBLY_RELATED);
	/* a token beats the subject: the sender edited the subject of another ticket's mail */
	f.by_token = candidate(77, TICKET_PENDING, TRUE, FALSE);
	f.by_subject_tag = candidate(78, TICKET_IN_PROGRESS, TRUE, FALSE);
	expect_verdict(&f, THREAD_ATTACH, 77, 0, NULL);
	facts_clear(&f);
}

/* The From is an agent's but the caller could not authenticate it. */
static void test_decide_forged_agent(void **state)
{
	struct thread_facts f;

	(void)state;
	facts_init(&f);
	f.by_subject_tag = candidate(90, TICKET_IN_PROGRESS, FALSE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 90, THREAD_LINK_POSSIBLY_RELATED);
	/* an authenticated agent may write to any ticket by its tag */
	f.by_subject_tag = candidate(90, TICKET_IN_PROGRESS, FALSE, TRUE);
	expect_verdict(&f, THREAD_ATTACH, 90, 0, NULL);
	facts_clear(&f);
}

static void test_decide_participant_subject(void **state)
{
	struct thread_facts f;

	(void)state;
	for (int s = TICKET_NEW; s <= TICKET_PENDING; s++) {
		facts_init(&f);
		f.by_subject_tag = candidate(123, s, TRUE, FALSE);
		expect_verdict(&f, THREAD_ATTACH, 123, 0, NULL);
		facts_clear(&f);
	}
}

/* Order: minted, stored, token, subject; the first the sender may write to wins, and a stranger's
 * mail links to the first it named. */
static void test_decide_order(void **state)
{
	struct thread_facts f;

	(void)state;
	facts_init(&f);
	f.by_minted_id = candidate(1, TICKET_IN_PROGRESS, TRUE, FALSE);
	f.by_stored_id = candidate(2, TICKET_IN_PROGRESS, TRUE, FALSE);
	f.by_token = candidate(3, TICKET_IN_PROGRESS, TRUE, FALSE);
	f.by_subject_tag = candidate(4, TICKET_IN_PROGRESS, TRUE, FALSE);
	expect_verdict(&f, THREAD_ATTACH, 1, 0, NULL);
	f.by_minted_id.sender_is_participant = FALSE;
	expect_verdict(&f, THREAD_ATTACH, 2, 0, NULL);
	f.by_stored_id.sender_is_participant = FALSE;
	expect_verdict(&f, THREAD_ATTACH, 3, 0, NULL);
	f.by_token.sender_is_participant = FALSE;
	expect_verdict(&f, THREAD_ATTACH, 4, 0, NULL);
	f.by_subject_tag.sender_is_participant = FALSE;
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 1, THREAD_LINK_POSSIBLY_RELATED);
	f.by_minted_id.ticket_id = 0;
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 2, THREAD_LINK_POSSIBLY_RELATED);
	f.by_stored_id.ticket_id = -2; /* nonsense counts as none */
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 3, THREAD_LINK_POSSIBLY_RELATED);
	facts_clear(&f);
}

static void test_decide_status(void **state)
{
	const int day = 24 * 3600;
	struct thread_facts f;

	(void)state;
	/* resolved within the window: reopen */
	facts_init(&f);
	f.by_minted_id = resolved(10, 2 * day, TRUE, FALSE);
	expect_verdict(&f, THREAD_REOPEN, 10, 0, NULL);
	facts_clear(&f);
	/* at the edge of the window, still within */
	facts_init(&f);
	f.by_subject_tag = resolved(10, 7 * day, TRUE, FALSE);
	expect_verdict(&f, THREAD_REOPEN, 10, 0, NULL);
	facts_clear(&f);
	/* resolved "in the future" (clocks apart): within */
	facts_init(&f);
	f.by_token = resolved(10, -300, TRUE, FALSE);
	expect_verdict(&f, THREAD_REOPEN, 10, 0, NULL);
	facts_clear(&f);
	/* after the window: follow-up */
	facts_init(&f);
	f.by_stored_id = resolved(11, 7 * day + 1, TRUE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 11, THREAD_LINK_FOLLOW_UP);
	facts_clear(&f);
	/* closed: follow-up, for participants and agents alike */
	facts_init(&f);
	f.by_token = candidate(12, TICKET_CLOSED, TRUE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 12, THREAD_LINK_FOLLOW_UP);
	f.by_token = candidate(12, TICKET_CLOSED, FALSE, TRUE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 12, THREAD_LINK_FOLLOW_UP);
	/* a status we do not know is treated as closed */
	f.by_token = candidate(12, (enum ticket_status)42, TRUE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 12, THREAD_LINK_FOLLOW_UP);
	facts_clear(&f);
	/* resolved but when unknown, or no window: cannot prove it is within: follow-up */
	facts_init(&f);
	f.by_subject_tag = candidate(13, TICKET_RESOLVED, TRUE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 13, THREAD_LINK_FOLLOW_UP);
	facts_clear(&f);
	facts_init(&f);
	f.reopen_window_s = 0;
	f.by_subject_tag = resolved(13, 1, TRUE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 13, THREAD_LINK_FOLLOW_UP);
	facts_clear(&f);
	facts_init(&f);
	g_clear_pointer(&f.now, g_date_time_unref);
	f.by_subject_tag = resolved(13, 1, TRUE, FALSE);
	expect_verdict(&f, THREAD_NEW_LINKED, 0, 13, THREAD_LINK_FOLLOW_UP);
	facts_clear(&f);
	/* an agent writing on a resolved ticket: attach, never reopen, within or after the window
	 */
	facts_init(&f);
	f.by_minted_id = resolved(14, 60, FALSE, TRUE);
	expect_verdict(&f, THREAD_ATTACH, 14, 0, NULL);
	facts_clear(&f);
	facts_init(&f);
	f.by_minted_id = resolved(14, 30 * day, TRUE, TRUE);
	expect_verdict(&f, THREAD_ATTACH, 14, 0, NULL);
	facts_clear(&f);
}

/* The why of each verdict names the evidence and the rule. */
static void test_decide_why(void **state)
{
	struct thread_facts f;
	struct thread_verdict v;

	(void)state;
	facts_init(&f);
	f.by_subject_tag = candidate(5, TICKET_IN_PROGRESS, FALSE, FALSE);
	thread_decide(&f, &v);
	assert_non_null(strstr(v.why, "subject tag"));
	assert_non_null(strstr(v.why, "neither a participant nor an agent"));
	f.by_minted_id = resolved(6, 10, TRUE, FALSE);
	thread_decide(&f, &v);
	assert_non_null(strstr(v.why, "minted"));
	assert_non_null(strstr(v.why, "reopen"));
	facts_clear(&f);
}

/* The References a chain gives, joined with spaces, and the In-Reply-To ("" when none). */
static char *headers_of(const char *const *ids, size_t n, char **irt_r)
{
	GPtrArray *chain = g_ptr_array_new();
	GPtrArray *refs;
	GString *out = g_string_new(NULL);

	for (size_t i = 0; i < n; i++)
		g_ptr_array_add(chain, (gpointer)ids[i]);
	thread_reply_headers(chain, irt_r, &refs);
	for (guint i = 0; i < refs->len; i++)
		g_string_append_printf(out, "%s%s", i > 0 ? " " : "",
				       (const char *)g_ptr_array_index(refs, i));
	g_ptr_array_unref(refs);
	g_ptr_array_unref(chain);
	if (*irt_r == NULL)
		*irt_r = g_strdup("");
	return g_string_free(out, FALSE);
}

static void test_reply_headers(void **state)
{
	/* the requester's mail, our acknowledgement, their reply, our relayed answer */
	const char *const chain[] = {"CAF=abc@mail.gmail.com", "spocd.1.aaa@desk.example",
				     "CAF=def@mail.gmail.com", "spocd.1.bbb@desk.example"};
	const char *const ack[] = {"CAF=abc@mail.gmail.com"};
	char *irt, *refs;
	GPtrArray *none;

	(void)state;
	refs = headers_of(chain, G_N_ELEMENTS(chain), &irt);
	assert_string_equal(irt, "spocd.1.bbb@desk.example");
	assert_string_equal(refs, "CAF=abc@mail.gmail.com spocd.1.aaa@desk.example "
				  "CAF=def@mail.gmail.com spocd.1.bbb@desk.example");
	g_free(irt);
	g_free(refs);

	/* the acknowledgement answers the requester's own mail */
	refs = headers_of(ack, 1, &irt);
	assert_string_equal(irt, "CAF=abc@mail.gmail.com");
	assert_string_equal(refs, "CAF=abc@mail.gmail.com");
	g_free(irt);
	g_free(refs);

	/* nothing the person saw: no In-Reply-To, no References */
	thread_reply_headers(NULL, &irt, &none);
	assert_null(irt);
	assert_int_equal(none->len, 0);
	g_ptr_array_unref(none);
}

static void test_reply_headers_capped(void **state)
{
	const char *ids[30];
	char *irt, *refs, *want;
	GString *expect = g_string_new("m0@x.example");

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(ids); i++)
		ids[i] = g_strdup_printf("m%zu@x.example", i);
	for (size_t i = G_N_ELEMENTS(ids) - (THREAD_MAX_REFERENCES - 1); i < G_N_ELEMENTS(ids); i++)
		g_string_append_printf(expect, " m%zu@x.example", i);
	want = g_string_free(expect, FALSE);
	refs = headers_of(ids, G_N_ELEMENTS(ids), &irt);
	assert_string_equal(irt, "m29@x.example");
	assert_string_equal(refs, want);
	g_free(irt);
	g_free(refs);
	g_free(want);
	for (size_t i = 0; i < G_N_ELEMENTS(ids); i++)
		g_free((char *)ids[i]);
}

static void test_reply_headers_hostile(void **state)
{
	char *huge = g_strnfill(400, 'a');
	char *long_id = g_strconcat(huge, "@x.example", NULL);
	/* what a sender may write as a Message-ID: never into a header of ours */
	const char *const chain[] = {"first@x.example",
				     "with space@x.example",
				     "a>b@x.example",
				     "x>\r\nBcc: victim@evil.example",
				     "two@at@x.example",
				     "no-at-sign",
				     "",
				     long_id,
				     "caf\xc3\xa9@x.example",
				     "again@x.example",
				     "first@x.example"};
	char *irt, *refs;

	(void)state;
	refs = headers_of(chain, G_N_ELEMENTS(chain), &irt);
	/* the repeated id counts where it was seen last: it is the latest */
	assert_string_equal(irt, "first@x.example");
	assert_string_equal(refs, "again@x.example first@x.example");
	g_free(irt);
	g_free(refs);
	g_free(long_id);
	g_free(huge);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_msgid_round_trip),
	    cmocka_unit_test(test_msgid_tamper),
	    cmocka_unit_test(test_token_round_trip),
	    cmocka_unit_test(test_agent_token),
	    cmocka_unit_test(test_token_tamper),
	    cmocka_unit_test(test_verp),
	    cmocka_unit_test(test_domain_separation),
	    cmocka_unit_test(test_rotation),
	    cmocka_unit_test(test_keys_errors),
	    cmocka_unit_test(test_token_from_address),
	    cmocka_unit_test(test_subject_base),
	    cmocka_unit_test(test_subject_base_hostile),
	    cmocka_unit_test(test_decide_new),
	    cmocka_unit_test(test_decide_guessed_subject),
	    cmocka_unit_test(test_decide_harvested_msgid),
	    cmocka_unit_test(test_decide_token),
	    cmocka_unit_test(test_decide_forged_agent),
	    cmocka_unit_test(test_decide_participant_subject),
	    cmocka_unit_test(test_decide_order),
	    cmocka_unit_test(test_decide_status),
	    cmocka_unit_test(test_decide_why),
	    cmocka_unit_test(test_reply_headers),
	    cmocka_unit_test(test_reply_headers_capped),
	    cmocka_unit_test(test_reply_headers_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
