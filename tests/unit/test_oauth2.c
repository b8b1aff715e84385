/* Unit tests of oauth2.c's SASL side: the XOAUTH2 and OAUTHBEARER initial responses byte for
 * byte, the answer to an error challenge, and a server's error challenge (base64 JSON, from a
 * server nobody trusts) decoded into one printable line. Token requests are proven against a
 * real HTTPS endpoint in tests/integration/test_oauth2.py. */

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
	assert_string_equal(b64, "dXNlcj1zb21ldXNlckBleGFtcGxlLmNvbQFhdXRoPUJlYXJlciB5YTI5LnZGOWRmdDRxb"
				 "VRjMk52YjNSbGNrQmhkSFJoZG1semRHRXVZMjl0Q2cBAQ==");
	oauth2_secret_free(b64);
	g_free(raw);
	assert_string_equal(oauth2_mech_name(OAUTH2_XOAUTH2), "XOAUTH2");
	assert_string_equal(oauth2_sasl_abort(OAUTH2_XOAUTH2), "");
}

/* RFC 7628 3.1: GS2 header with the user, then host, port and the bearer token. */
static void test_oauthbearer_response(void **state)
{
	char *b64 = oauth2_sasl_response(OAUTH2_OAUTHBEARER, "user@example.com", "server.example.com",
					 143, "vF9dft4qmTc2Nvb3RlckBhbHRhdmlzdGEuY29tCg==");
	static const char want[] = "n,a=user@example.com,\001host=server.example.com\001port=143"
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
	t = error_of("{\"status\":\"invalid_token\",\"scope\":\"example_scope\","
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

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_xoauth2_response),
	    cmocka_unit_test(test_oauthbearer_response),
	    cmocka_unit_test(test_error_challenge),
	    cmocka_unit_test(test_token_without_conf),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
