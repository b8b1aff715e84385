/* Unit tests of oauth2.c: the XOAUTH2 and OAUTHBEARER initial responses byte for byte, the answer
 * to an error challenge, a server's error challenge (base64 JSON, from a server nobody trusts)
 * decoded into one printable line, a token endpoint's answers read or refused, and the sealing of
 * refresh tokens kept in the database (oauth2_keep.c). Token requests
 * themselves are proven against a real HTTPS endpoint in tests/integration/test_oauth2.py. */

#include "oauth2.h"

#include "testlib.h"

#include <string.h>

static char *decode(const char *b64, gsize *len_r)
{
	return (char *)g_base64_decode(b64, len_r);
}

static void test_xoauth2_response(void **state)
{
	char *b64 = oauth2_sasl_response(OAUTH2_XOAUTH2, "help@contoso.example", "imap.example",
					 993, "tok.en-1");
	static const char want[] = "user=help@contoso.example\001auth=Bearer tok.en-1\001\001";
	gsize len = 0;
	char *raw = decode(b64, &len);

	(void)state;
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(raw, want, len);
	/* Google's documented example, byte for byte */
	oauth2_secret_free(b64);
	b64 = oauth2_sasl_response(OAUTH2_XOAUTH2, "someuser@example.com", "h", 1,
				   "ya29.vF9dft4qmTc2Nvb3RlckBhdHRhdmlzdGEuY29tCg");
	assert_string_equal(b64,
			    "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxb"
			    "VRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
	oauth2_secret_free(b64);
	g_free(raw);
	assert_string_equal(oauth2_mech_name(OAUTH2_XOAUTH2), "XOAUTH2");
	assert_string_equal(oauth2_sasl_abort(OAUTH2_XOAUTH2), "");
}

/* RFC 7628 3.1: GS2 header with the user, then host, port and the bearer token. */
static void test_oauthbearer_response(void **state)
{
	char *b64 =
	    oauth2_sasl_response(OAUTH2_OAUTHBEARER, "user@example.com", "server.example.com", 143,
				 "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
	static const char want[] =
	    "n,a=user@example.com,\001host=server.example.com\001port=143"
	    "\001auth=Bearer vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==\001\001";
	gsize len = 0;
	char *raw = decode(b64, &len);

	(void)state;
	assert_int_equal(len, sizeof(want) - 1);
	assert_memory_equal(raw, want, len);
	g_free(raw);
	oauth2_secret_free(b64);
	assert_string_equal(oauth2_mech_name(OAUTH2_OAUTHBEARER), "OAUTHBEARER");
	/* the dummy %x01 response that ends a failed exchange */
	assert_string_equal(oauth2_sasl_abort(OAUTH2_OAUTHBEARER), "AQ==");
	oauth2_secret_free(NULL);
}

static char *error_of(const char *json)
{
	char *b64 = g_base64_encode((const guchar *)json, strlen(json));
	char *text = oauth2_sasl_error_text(b64, strlen(b64));

	g_free(b64);
	return text;
}

/* What Dovecot, Gmail (RFC 7628's example) and a hostile server send. */
static void test_error_challenge(void **state)
{
	char *t;

	(void)state;
	t = error_of("{\"status\":\"401\",\"schemes\":\"bearer\",\"scope\":\"mail\"}");
	assert_string_equal(t, "status=401 schemes=bearer scope=mail");
	g_free(t);
	t = error_of(
	    "{\"status\":\"invalid_token\",\"scope\":\"example_scope\","
	    "\"openid-configuration\":\"https://example.com/.well-known/openid-configuration\"}");
	assert_string_equal(t, "status=invalid_token scope=example_scope");
	g_free(t);
	/* control characters and escapes cannot reach a log line; length is bounded */
	t = error_of("{\"status\":\"bad\\r\\nFAKE: log line\\u001b[31m\"}");
	assert_null(strpbrk(t, "\r\n\033"));
	assert_non_null(strstr(t, "status=bad??FAKE: log line?[31m"));
	g_free(t);
	{
		GString *big = g_string_new("{\"status\":\"");

		for (int i = 0; i < 5000; i++)
			g_string_append_c(big, 'x');
		g_string_append(big, "\"}");
		t = error_of(big->str);
		assert_true(strlen(t) < 260);
		g_free(t);
		g_string_free(big, TRUE);
	}
	/* not JSON, not an object, not base64, empty: said so, nothing echoed */
	t = error_of("<html>no</html>");
	assert_string_equal(t, "an error challenge that is not base64 JSON");
	g_free(t);
	t = error_of("[1,2]");
	assert_string_equal(t, "an error challenge that is not base64 JSON");
	g_free(t);
	t = oauth2_sasl_error_text("%%%not base64", 13);
	assert_string_equal(t, "an error challenge that is not base64 JSON");
	g_free(t);
	t = oauth2_sasl_error_text("", 0);
	assert_string_equal(t, "an error challenge that is not base64 JSON");
	g_free(t);
	t = error_of("{\"other\":1}");
	assert_string_equal(t, "an error object without status or scope");
	g_free(t);
	/* only len bytes are read: what follows (the line end) is not part of it */
	{
		char *b64 = g_base64_encode((const guchar *)"{\"status\":\"401\"}", 16);
		char *line = g_strconcat(b64, "\r\nGARBAGE", NULL);

		t = oauth2_sasl_error_text(line, strlen(b64));
		assert_string_equal(t, "status=401");
		g_free(t);
		g_free(line);
		g_free(b64);
	}
}

static int parse(long status, const char *body, struct oauth2_answer *a, struct errbuf *err)
{
	return oauth2_answer_parse("https://idp.example/token", status, body, strlen(body), a, err);
}

/* A token endpoint's answers as Microsoft and Google send them, and what is refused. */
static void test_answer(void **state)
{
	struct oauth2_answer a;
	struct errbuf err = {{0}};

	(void)state;
	assert_int_equal(parse(200,
			       "{\"token_type\":\"Bearer\",\"expires_in\":3599,"
			       "\"ext_expires_in\":3599,\"access_token\":\"eyJ0eXAi.x-y_z\"}",
			       &a, &err),
			 SPOC_OK);
	assert_string_equal(a.access, "eyJ0eXAi.x-y_z");
	assert_null(a.refresh);
	assert_int_equal(a.lifetime_s, 3599);
	oauth2_answer_clear(&a);
	assert_null(a.access);

	/* rotation; expires_in as a string; token_type in any case */
	assert_int_equal(
	    parse(200,
		  "{\"access_token\":\"ya29.a0\",\"expires_in\":\"3600\",\"token_type\":"
		  "\"bearer\",\"refresh_token\":\"1//0g-new\",\"scope\":\"https://mail.google.com/"
		  "\"}",
		  &a, &err),
	    SPOC_OK);
	assert_string_equal(a.refresh, "1//0g-new");
	assert_int_equal(a.lifetime_s, 3600);
	oauth2_answer_clear(&a);

	/* no expires_in: a default; absurd ones: bounded to a day */
	assert_int_equal(parse(200, "{\"access_token\":\"t\"}", &a, &err), SPOC_OK);
	assert_true(a.lifetime_s > 0 && a.lifetime_s <= 3600);
	oauth2_answer_clear(&a);
	assert_int_equal(parse(200, "{\"access_token\":\"t\",\"expires_in\":9e300}", &a, &err),
			 SPOC_OK);
	assert_true(a.lifetime_s > 0 && a.lifetime_s <= 86400);
	oauth2_answer_clear(&a);
	assert_int_equal(
	    parse(200, "{\"access_token\":\"t\",\"expires_in\":9223372036854775807}", &a, &err),
	    SPOC_OK);
	assert_int_equal(a.lifetime_s, 86400);
	oauth2_answer_clear(&a);
}

static void expect_refusal(long status, const char *body, const char *want)
{
	struct oauth2_answer a;
	struct errbuf err = {{0}};

	if (parse(status, body, &a, &err) != SPOC_ETEMP)
		fail_msg("accepted HTTP %ld %s", status, body);
	assert_null(a.access);
	if (strstr(err.msg, want) == NULL || strstr(err.msg, "https://idp.example/token") == NULL)
		fail_msg("\"%s\" does not name the endpoint and say \"%s\"", err.msg, want);
	/* a token or secret in the answer never reaches the message */
	assert_null(strstr(err.msg, "SECRET"));
	oauth2_answer_clear(&a);
}

static void test_answer_refused(void **state)
{
	(void)state;
	expect_refusal(
	    400,
	    "{\"error\":\"invalid_client\",\"error_description\":\"AADSTS7000215: Invalid "
	    "client secret provided.\\r\\nTrace ID: 1\"}",
	    "refused (HTTP 400): invalid_client: AADSTS7000215: Invalid client secret "
	    "provided.??Trace ID: 1");
	expect_refusal(400, "{\"error\":\"invalid_grant\"}", "refused (HTTP 400): invalid_grant");
	/* an error with HTTP 200, or a 500 without an error code */
	expect_refusal(200, "{\"error\":\"temporarily_unavailable\"}", "temporarily_unavailable");
	expect_refusal(500, "{\"access_token\":\"SECRET\"}", "refused (HTTP 500): (no error code)");
	expect_refusal(200, "<html>Service unavailable</html>", "not a JSON object");
	expect_refusal(200, "[\"SECRET\"]", "not a JSON object");
	expect_refusal(200, "", "not a JSON object");
	expect_refusal(200, "{\"access_token\":\"SECRET\"", "not a JSON object");
	expect_refusal(200, "{\"token_type\":\"Bearer\"}", "no usable access_token");
	expect_refusal(200, "{\"access_token\":42}", "no usable access_token");
	expect_refusal(200, "{\"access_token\":\"SECRET with space\"}", "no usable access_token");
	expect_refusal(200, "{\"access_token\":\"SECRET\",\"token_type\":\"mac\"}",
		       "token_type \"mac\", not Bearer");
	expect_refusal(200, "{\"access_token\":\"SECRET\",\"refresh_token\":\"a\\nb\"}",
		       "refresh_token is unusable");
	{
		/* a token past the limit */
		GString *big = g_string_new("{\"access_token\":\"");

		for (int i = 0; i < 20000; i++)
			g_string_append_c(big, 'A');
		g_string_append(big, "\"}");
		expect_refusal(200, big->str, "no usable access_token");
		g_string_free(big, TRUE);
	}
}

/* Without an oauth2 group there is no token, and the error says why without a crash. */
static void test_token_without_conf(void **state)
{
	struct spoc_endpoint ep = {.host = "imap.example"};
	struct errbuf err = {{0}};
	const char *token = "x";
	gboolean fresh = TRUE;

	(void)state;
	assert_int_equal(oauth2_token(&ep, &token, &fresh, &err), SPOC_ETEMP);
	assert_null(token);
	assert_false(fresh);
	assert_non_null(strstr(err.msg, "imap.example"));
	oauth2_token_refused(&ep);
	oauth2_reset();
}

/* A token endpoint that cannot be reached is asked again only after a delay, so a daemon with
 * several mailboxes on one app never hammers it; a new client secret is tried at once. (Port 1
 * on loopback: nothing listens, the refusal is immediate.) */
static void test_backoff(void **state)
{
	struct spoc_oauth2_conf o = {.provider = SPOC_OAUTH2_GENERIC,
				     .grant = SPOC_OAUTH2_CLIENT_CREDENTIALS,
				     .token_url = "https://127.0.0.1:1/token",
				     .client_id = "c",
				     .client_secret = "first-secret",
				     .timeout_s = 5};
	struct spoc_endpoint ep = {.host = "imap.example", .oauth2 = &o};
	struct errbuf err = {{0}};
	const char *token = NULL;
	gboolean fresh = FALSE;

	(void)state;
	oauth2_reset();
	assert_int_equal(oauth2_token(&ep, &token, &fresh, &err), SPOC_ETEMP);
	assert_non_null(strstr(err.msg, "oauth2 token endpoint https://127.0.0.1:1/token"));
	assert_null(strstr(err.msg, "next attempt"));
	assert_null(strstr(err.msg, "first-secret"));
	/* at once again: not asked, the same reason and when the next attempt is */
	memset(&err, 0, sizeof(err));
	assert_int_equal(oauth2_token(&ep, &token, &fresh, &err), SPOC_ETEMP);
	assert_non_null(strstr(err.msg, "https://127.0.0.1:1/token"));
	assert_non_null(strstr(err.msg, "; next attempt in 5s"));
	/* a new secret (the operator fixed it and reloaded) is tried at once */
	o.client_secret = "second-secret";
	memset(&err, 0, sizeof(err));
	assert_int_equal(oauth2_token(&ep, &token, &fresh, &err), SPOC_ETEMP);
	assert_null(strstr(err.msg, "next attempt"));
	assert_null(token);
	oauth2_reset();
}

/* A sealed token opens with its key and label only, intact only, and no two seals are alike. */
static void test_seal(void **state)
{
	unsigned char key[OAUTH2_SEAL_KEY], other[OAUTH2_SEAL_KEY];
	const char *token = "rt-0123456789abcdef";
	struct errbuf err = {{0}};
	GBytes *a, *b;
	gsize len = 0;
	const unsigned char *data;
	unsigned char *bad;
	char *open;

	(void)state;
	memset(key, 7, sizeof(key));
	memset(other, 7, sizeof(other));
	other[31] = 8;
	a = oauth2_seal(key, "url client cred", token, &err);
	b = oauth2_seal(key, "url client cred", token, &err);
	assert_non_null(a);
	assert_non_null(b);
	data = g_bytes_get_data(a, &len);
	assert_int_equal(len, 12 + strlen(token) + 16);
	assert_false(g_bytes_equal(a, b));    /* a fresh nonce each time */
	for (gsize i = 0; i + 16 <= len; i++) /* not in clear */
		assert_false(memcmp(data + i, "0123456789abcdef", 16) == 0);
	open = oauth2_unseal(key, "url client cred", data, len);
	assert_string_equal(open, token);
	oauth2_secret_free(open);
	assert_null(oauth2_unseal(other, "url client cred", data, len));
	assert_null(oauth2_unseal(key, "url client other", data, len));
	assert_null(oauth2_unseal(key, "url client cred", data, 28));
	bad = g_memdup2(data, len);
	for (gsize i = 0; i < len; i++) {
		bad[i] ^= 1;
		assert_null(oauth2_unseal(key, "url client cred", bad, len));
		bad[i] ^= 1;
	}
	g_free(bad);
	g_bytes_unref(a);
	g_bytes_unref(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xoauth2_response), cmocka_unit_test(test_oauthbearer_response),
	    cmocka_unit_test(test_error_challenge),  cmocka_unit_test(test_answer),
	    cmocka_unit_test(test_answer_refused),   cmocka_unit_test(test_token_without_conf),
	    cmocka_unit_test(test_backoff),	     cmocka_unit_test(test_seal),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
