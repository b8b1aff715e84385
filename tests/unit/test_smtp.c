/* Unit tests of smtp.c. smtp_address_valid() is the guard against SMTP command injection through
 * envelope addresses (LIBRARY-DEFECTS libetpan 5). The rest talks to a small scripted SMTP server
 * that a thread of this test runs on loopback (plain text, as tls = "none" allows there): what
 * the client sends is recorded and checked byte for byte (the EHLO name, the data ending in one
 * CRLF before the dot: libetpan 6, AUTH PLAIN) and the server's answers drive the outcomes
 * (5xx: SPOC_EPERM, 4xx: SPOC_ETEMP, a dropped connection: broken session, STARTTLS missing:
 * refused). TLS itself is exercised by the integration tests against a real listener. */
#include "smtp.h"

#include "testlib.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* ---- smtp_address_valid ---- */

static void test_address_valid_accepts(void **state)
{
	static const char *const good[] = {
	    "user@example.com",
	    "first.last+tag@sub.example.co.uk",
	    "o'brien@example.ie",
	    "x@y",
	    "user_name-1@mail-server.example",
	    "\"john doe\"@example.com",
	    "\"quoted\\\"quote\"@example.com",
	    "user@[192.0.2.1]",
	    "user@[IPv6:2001:db8::1]",
	    "josé@ejemplo.es",
	    "user@bücher.example",
	    NULL,
	};

	(void)state;
	for (const char *const *a = good; *a != NULL; a++)
		if (!smtp_address_valid(*a))
			fail_msg("refused a good address: %s", *a);
}

static void test_address_valid_refuses(void **state)
{
	static const char *const bad[] = {
	    "",
	    "user",
	    "@example.com",
	    "user@",
	    "user@@example.com",
	    "a@b@c",
	    "user@example.com\r\nRCPT TO:<victim@evil.example>",
	    "user@example.com\nDATA",
	    "user@exa\rmple.com",
	    "user@example.com>",
	    "<user@example.com",
	    "us<er@example.com",
	    "user@example.com> SIZE=1",
	    "user name@example.com",
	    "user@example .com",
	    " user@example.com",
	    "user@example.com ",
	    "us\ter@example.com",
	    "user@example\x7f.com",
	    "\"unterminated@example.com",
	    "\"\"@example.com",
	    "\"a\r\nb\"@example.com",
	    "user@[192.0.2.1",
	    "user@[192.0.2.1]x",
	    "us,er@example.com",
	    "us;er@example.com",
	    "us(er@example.com",
	    "user@exa_mple(.com",
	    "caf\xe9@example.com", /* not UTF-8 */
	    NULL,
	};

	(void)state;
	assert_false(smtp_address_valid(NULL));
	for (const char *const *a = bad; *a != NULL; a++)
		if (smtp_address_valid(*a))
			fail_msg("accepted a bad address: %s", *a);
}

static void test_address_valid_nul_and_length(void **state)
{
	char buf[300];

	(void)state;
	/* a NUL inside: what a C string would silently cut */
	assert_true(smtp_address_valid_n("user@example.com", 16));
	assert_false(smtp_address_valid_n("user@example.com\0RCPT", 21));
	assert_false(smtp_address_valid_n("us\0er@example.com", 17));

	/* 254 bytes is the most a path may hold (RFC 5321 4.5.3.1.3) */
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 254 - 12, "@example.com", 13);
	assert_int_equal(strlen(buf), 254);
	assert_true(smtp_address_valid(buf));
	memset(buf, 'a', sizeof(buf));
	memcpy(buf + 255 - 12, "@example.com", 13);
	assert_int_equal(strlen(buf), 255);
	assert_false(smtp_address_valid(buf));
}

/* ---- a scripted server ---- */

struct fake {
	int lfd;
	uint16_t port;
	GThread *thread;
	GString *log;		/* every byte the client sent */
	GString *data;		/* the last DATA payload as received, dot line included */
	const char *ehlo_reply; /* full reply, CRLFs included */
	const char *rcpt_reply;
	const char *data_reply;
	const char *auth_reply;
	gboolean drop_at_rcpt; /* close the connection instead of answering RCPT */
	int rcpt_count;
};

static gboolean write_all(int fd, const char *s)
{
	size_t len = strlen(s), off = 0;

	while (off < len) {
		ssize_t n = write(fd, s + off, len - off);

		if (n <= 0)
			return FALSE;
		off += (size_t)n;
	}
	return TRUE;
}

/* Reads one line (with its CRLF) into line; FALSE at EOF or timeout. */
static gboolean read_line(int fd, GString *line)
{
	char c;

	g_string_truncate(line, 0);
	for (;;) {
		if (read(fd, &c, 1) != 1)
			return FALSE;
		g_string_append_c(line, c);
		if (c == '\n')
			return TRUE;
	}
}

static gpointer serve(gpointer p)
{
	struct fake *f = p;
	GString *line = g_string_new(NULL);
	struct timeval tv = {10, 0};
	int fd = accept(f->lfd, NULL, NULL);

	if (fd < 0)
		goto out;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	write_all(fd, "220 fake.test ESMTP\r\n");
	while (read_line(fd, line)) {
		g_string_append(f->log, line->str);
		if (g_ascii_strncasecmp(line->str, "EHLO ", 5) == 0) {
			write_all(fd, f->ehlo_reply);
		} else if (g_ascii_strncasecmp(line->str, "MAIL FROM:", 10) == 0) {
			write_all(fd, "250 2.1.0 ok\r\n");
		} else if (g_ascii_strncasecmp(line->str, "RCPT TO:", 8) == 0) {
			if (f->drop_at_rcpt)
				break;
			write_all(fd, f->rcpt_count++ == 0 ? f->rcpt_reply : "250 2.1.5 ok\r\n");
		} else if (g_ascii_strncasecmp(line->str, "DATA", 4) == 0) {
			write_all(fd, "354 go ahead\r\n");
			g_string_truncate(f->data, 0);
			while (read_line(fd, line)) {
				g_string_append(f->log, line->str);
				g_string_append(f->data, line->str);
				if (strcmp(line->str, ".\r\n") == 0)
					break;
			}
			write_all(fd, f->data_reply);
		} else if (g_ascii_strncasecmp(line->str, "AUTH ", 5) == 0) {
			write_all(fd, f->auth_reply);
		} else if (g_ascii_strncasecmp(line->str, "RSET", 4) == 0) {
			write_all(fd, "250 2.0.0 reset\r\n");
		} else if (g_ascii_strncasecmp(line->str, "QUIT", 4) == 0) {
			write_all(fd, "221 2.0.0 bye\r\n");
			break;
		} else {
			write_all(fd, "502 5.5.2 what?\r\n");
		}
	}
	close(fd);
out:
	g_string_free(line, TRUE);
	return NULL;
}

static struct fake *fake_start(void)
{
	struct fake *f = g_new0(struct fake, 1);
	struct sockaddr_in sa = {0};
	socklen_t sl = sizeof(sa);

	f->lfd = socket(AF_INET, SOCK_STREAM, 0);
	assert_true(f->lfd >= 0);
	sa.sin_family = AF_INET;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	assert_int_equal(bind(f->lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(f->lfd, 1), 0);
	assert_int_equal(getsockname(f->lfd, (struct sockaddr *)&sa, &sl), 0);
	f->port = ntohs(sa.sin_port);
	f->log = g_string_new(NULL);
	f->data = g_string_new(NULL);
	f->ehlo_reply = "250-fake.test hello\r\n250-PIPELINING\r\n250 8BITMIME\r\n";
	f->rcpt_reply = "250 2.1.5 ok\r\n";
	f->data_reply = "250 2.0.0 queued as 1234\r\n";
	f->auth_reply = "235 2.7.0 ok\r\n";
	return f;
}

static void fake_run(struct fake *f)
{
	f->thread = g_thread_new("fake-smtp", serve, f);
}

/* Waits for the server thread (the client has closed by then) and frees f. */
static void fake_stop(struct fake *f)
{
	if (f->thread != NULL)
		g_thread_join(f->thread);
	if (f->lfd >= 0)
		close(f->lfd);
	g_string_free(f->log, TRUE);
	g_string_free(f->data, TRUE);
	g_free(f);
}

static void conf_for(struct spoc_smtp_conf *c, const struct fake *f)
{
	memset(c, 0, sizeof(*c));
	c->ep.host = "127.0.0.1";
	c->ep.port = f->port;
	c->ep.tls = SPOC_TLS_NONE;
	c->ep.timeout_s = 5;
	c->from_address = "desk@example.org";
	c->helo_name = "spocd.test.example";
	c->max_attempts = 3;
	c->retry_base_s = 60;
}

static const char msg_crlf[] =
    "From: desk@example.org\r\nTo: maria@example.com\r\n"
    "Subject: test\r\n\r\nline one\r\n.starts with a dot\r\nlast line\r\n";

static void test_send_ok(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};

	(void)state;
	conf_for(&c, f);
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_OK);
	assert_int_equal(smtp_send(s, "desk@example.org", "maria@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_OK);
	/* the same connection carries the next message */
	assert_int_equal(smtp_send(s, "desk@example.org", "juan@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_OK);
	assert_false(smtp_broken(s));
	smtp_close(&s);
	assert_null(s);
	smtp_close(&s); /* NULL is fine */
	fake_stop(f);
}

/* Checks the log after the conversation; kept apart so the thread is joined first. */
static void test_send_bytes(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};
	char *log, *data;

	(void)state;
	conf_for(&c, f);
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_OK);
	assert_int_equal(smtp_send(s, "desk@example.org", "maria@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_OK);
	smtp_close(&s);
	g_thread_join(f->thread);
	f->thread = NULL;
	log = f->log->str;
	data = f->data->str;

	/* EHLO with the configured name, not gethostname() */
	assert_true(g_str_has_prefix(log, "EHLO spocd.test.example\r\nMAIL FROM:<desk@example.org>"
					  "\r\nRCPT TO:<maria@example.com>\r\nDATA\r\n"));
	assert_true(g_str_has_suffix(log, "QUIT\r\n"));
	/* exactly one CRLF before the dot (libetpan 6), and dot-stuffing */
	assert_string_equal(data, "From: desk@example.org\r\nTo: maria@example.com\r\n"
				  "Subject: test\r\n\r\nline one\r\n..starts with a dot\r\n"
				  "last line\r\n.\r\n");
	fake_stop(f);
}

static void test_send_without_final_crlf(void **state)
{
	static const char msg[] = "Subject: x\r\n\r\nno line end at the end";
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};

	(void)state;
	conf_for(&c, f);
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_OK);
	assert_int_equal(
	    smtp_send(s, "desk@example.org", "maria@example.com", msg, sizeof(msg) - 1, &err),
	    SPOC_OK);
	smtp_close(&s);
	g_thread_join(f->thread);
	f->thread = NULL;
	assert_string_equal(f->data->str, "Subject: x\r\n\r\nno line end at the end\r\n.\r\n");
	fake_stop(f);
}

static void test_invalid_envelope_never_reaches_server(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};

	(void)state;
	conf_for(&c, f);
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_OK);
	assert_int_equal(smtp_send(s, "desk@example.org",
				   "maria@example.com>\r\nRCPT TO:<victim@evil.example", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_EPERM);
	assert_non_null(strstr(err.msg, "invalid envelope address"));
	assert_null(strchr(err.msg, '\n'));
	assert_int_equal(smtp_send(s, "desk@example.org\r\nRSET", "maria@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_EPERM);
	assert_false(smtp_broken(s));
	smtp_close(&s);
	g_thread_join(f->thread);
	f->thread = NULL;
	assert_string_equal(f->log->str, "EHLO spocd.test.example\r\nQUIT\r\n");
	fake_stop(f);
}

static void test_5xx_is_permanent_and_session_survives(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};
	char *where;

	(void)state;
	f->rcpt_reply = "550-5.1.1 <nobody@example.com>: Recipient address rejected:\r\n"
			"550 5.1.1 User unknown in virtual mailbox table\r\n";
	conf_for(&c, f);
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_OK);
	assert_int_equal(smtp_send(s, "desk@example.org", "nobody@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_EPERM);
	where = g_strdup_printf("smtp 127.0.0.1:%u: RCPT TO: 550 5.1.1 <nobody@example.com>: "
				"Recipient address rejected: 5.1.1 User unknown in virtual mailbox "
				"table",
				f->port);
	assert_string_equal(err.msg, where);
	g_free(where);
	assert_false(smtp_broken(s));
	/* RSET put the server back at the start: the next row goes through */
	assert_int_equal(smtp_send(s, "desk@example.org", "maria@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_OK);
	smtp_close(&s);
	g_thread_join(f->thread);
	f->thread = NULL;
	assert_non_null(strstr(f->log->str, "RCPT TO:<nobody@example.com>\r\nRSET\r\nMAIL FROM:"));
	fake_stop(f);
}

static void test_4xx_is_temporary(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};

	(void)state;
	f->data_reply = "451 4.3.0 Temporary lookup failure\r\n";
	conf_for(&c, f);
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_OK);
	assert_int_equal(smtp_send(s, "desk@example.org", "maria@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_ETEMP);
	assert_non_null(strstr(err.msg, "end of DATA: 451 4.3.0 Temporary lookup failure"));
	assert_non_null(strstr(err.msg, "127.0.0.1:"));
	assert_false(smtp_broken(s));
	smtp_close(&s);
	fake_stop(f);
}

static void test_dropped_connection_breaks_session(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};

	(void)state;
	f->drop_at_rcpt = TRUE;
	conf_for(&c, f);
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_OK);
	assert_int_equal(smtp_send(s, "desk@example.org", "maria@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_ETEMP);
	assert_non_null(strstr(err.msg, "RCPT TO: connection lost"));
	assert_true(smtp_broken(s));
	assert_int_equal(smtp_send(s, "desk@example.org", "maria@example.com", msg_crlf,
				   sizeof(msg_crlf) - 1, &err),
			 SPOC_ETEMP);
	assert_non_null(strstr(err.msg, "no longer usable"));
	smtp_close(&s);
	fake_stop(f);
}

static void test_starttls_missing_is_fatal(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};

	(void)state;
	conf_for(&c, f);
	c.ep.tls = SPOC_TLS_STARTTLS;
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_ETEMP);
	assert_null(s);
	assert_non_null(strstr(err.msg, "does not offer STARTTLS"));
	assert_non_null(strstr(err.msg, "127.0.0.1:"));
	g_thread_join(f->thread);
	f->thread = NULL;
	/* nothing but EHLO (and a polite QUIT) went out in plain text */
	assert_string_equal(f->log->str, "EHLO spocd.test.example\r\nQUIT\r\n");
	fake_stop(f);
}

static void test_auth_plain(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};
	const char *auth;
	char *b64;
	guchar *dec;
	gsize n = 0;

	(void)state;
	f->ehlo_reply = "250-fake.test hello\r\n250-AUTH LOGIN PLAIN\r\n250 8BITMIME\r\n";
	conf_for(&c, f);
	c.ep.user = "desk@example.org";
	c.ep.password = "s3cret pass";
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_OK);
	smtp_close(&s);
	g_thread_join(f->thread);
	f->thread = NULL;
	auth = strstr(f->log->str, "AUTH PLAIN ");
	assert_non_null(auth);
	b64 = g_strndup(auth + 11, strcspn(auth + 11, "\r"));
	dec = g_base64_decode(b64, &n);
	assert_int_equal(n, 2 * strlen("desk@example.org") + 2 + strlen("s3cret pass"));
	assert_memory_equal(dec, "desk@example.org\0desk@example.org\0s3cret pass", n);
	g_free(dec);
	g_free(b64);
	fake_stop(f);
}

static void test_auth_refused(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};

	(void)state;
	f->ehlo_reply = "250-fake.test hello\r\n250 AUTH PLAIN\r\n";
	f->auth_reply = "535 5.7.8 Error: authentication failed\r\n";
	conf_for(&c, f);
	c.ep.user = "desk@example.org";
	c.ep.password = "wrong";
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_ETEMP);
	assert_null(s);
	assert_non_null(strstr(err.msg, "AUTH PLAIN as desk@example.org refused: 535 5.7.8 Error: "
					"authentication failed"));
	fake_stop(f);
}

static void test_auth_not_offered(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};

	(void)state;
	f->ehlo_reply = "250-fake.test hello\r\n250 AUTH CRAM-MD5 XOAUTH2\r\n";
	conf_for(&c, f);
	c.ep.user = "desk@example.org";
	c.ep.password = "x";
	fake_run(f);
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_ETEMP);
	assert_non_null(strstr(err.msg, "no AUTH PLAIN or LOGIN (offered: CRAM-MD5 XOAUTH2)"));
	fake_stop(f);
}

static void test_connection_refused(void **state)
{
	struct fake *f = fake_start();
	struct spoc_smtp_conf c;
	struct smtp_session *s = NULL;
	struct errbuf err = {{0}};
	char *want;

	(void)state;
	conf_for(&c, f);
	close(f->lfd); /* nobody listens on that port any more */
	f->lfd = -1;
	assert_int_equal(smtp_open(&c, &s, &err), SPOC_ETEMP);
	assert_null(s);
	want = g_strdup_printf("smtp 127.0.0.1:%u: cannot connect", f->port);
	assert_true(g_str_has_prefix(err.msg, want));
	g_free(want);
	fake_stop(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_address_valid_accepts),
	    cmocka_unit_test(test_address_valid_refuses),
	    cmocka_unit_test(test_address_valid_nul_and_length),
	    cmocka_unit_test(test_send_ok),
	    cmocka_unit_test(test_send_bytes),
	    cmocka_unit_test(test_send_without_final_crlf),
	    cmocka_unit_test(test_invalid_envelope_never_reaches_server),
	    cmocka_unit_test(test_5xx_is_permanent_and_session_survives),
	    cmocka_unit_test(test_4xx_is_temporary),
	    cmocka_unit_test(test_dropped_connection_breaks_session),
	    cmocka_unit_test(test_starttls_missing_is_fatal),
	    cmocka_unit_test(test_auth_plain),
	    cmocka_unit_test(test_auth_refused),
	    cmocka_unit_test(test_auth_not_offered),
	    cmocka_unit_test(test_connection_refused),
	};

	/* A server that hangs up makes the next write raise SIGPIPE; spocd's main ignores it. */
	signal(SIGPIPE, SIG_IGN);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
