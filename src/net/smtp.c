/* SMTP submission over libetpan for the notifier: one connection (implicit TLS, STARTTLS that is
 * never downgraded, or plain text towards loopback only), the peer's certificate verified through
 * tls.c before anything but the greeting is read, EHLO with the configured name, optional AUTH
 * (PLAIN or LOGIN with the password, or XOAUTH2 / OAUTHBEARER with an OAuth 2.0 access token from
 * oauth2.c), and then one envelope per message over the same connection.
 *
 * libetpan 1.9.4 cannot say EHLO with a chosen name: mailesmtp_ehlo() sends gethostname(),
 * mailesmtp_ehlo_with_ip() sends "[local address]" (and fails for IPv6 on Linux, it passes
 * sizeof(struct sockaddr) to getnameinfo()), and the one call that takes a name, mailesmtp_lhlo(),
 * sends LHLO. So this file writes the EHLO line itself on the session's mailstream and reads the
 * reply into the session exactly as libetpan's read_response() does (session->response and
 * ->response_code), then records the extensions libetpan's later calls look at (STARTTLS, AUTH).
 *
 * Every address that reaches MAIL FROM / RCPT TO is checked first (libetpan pastes it verbatim
 * into the command line: a CR LF in it would be a command injection), and one final CRLF is taken
 * off the data because mailsmtp_data_message() always appends "\r\n.\r\n". */
#include "smtp.h"
#include "oauth2.h"
#include "tls.h"

#include <libetpan/libetpan.h>
#include <string.h>
#include <sys/time.h>

/* libetpan formats AUTH and each SASL line into a 513-byte buffer and silently truncates (losing
 * the CRLF, so the server waits for the rest until the timeout): "AUTH PLAIN " + base64 of
 * "user\0user\0password" + CRLF must fit. */
#define SMTP_AUTH_MAX_PLAIN 372
/* Bounds a multi-line reply from a misbehaving server. */
#define SMTP_MAX_REPLY_LINES 100

struct smtp_session {
	mailsmtp *smtp;
	char *where;	  /* "host:port", for every message */
	char *auth_mechs; /* what the last EHLO offered after AUTH, "" if nothing */
	gboolean broken;  /* lost, timed out or out of step: no QUIT, no more commands */
	const struct spoc_endpoint *ep; /* borrowed from the configuration */
};

/* The last reply's text on one line: libetpan keeps each line's text followed by '\n'; control
 * characters become spaces and the length is bounded, as it goes to logs. Caller g_free()s. */
static char *reply_text(const mailsmtp *smtp)
{
	GString *out = g_string_new(NULL);

	if (smtp->response != NULL)
		for (const char *p = smtp->response; *p != '\0' && out->len < 400; p++) {
			unsigned char c = (unsigned char)*p;

			g_string_append_c(out, c < 0x20 || c == 0x7f ? ' ' : (char)c);
		}
	while (out->len > 0 && out->str[out->len - 1] == ' ')
		g_string_truncate(out, out->len - 1);
	if (out->len == 0)
		g_string_append(out, "(no text)");
	return g_string_free(out, FALSE);
}

/* Clears what a previous command left, so a failure that read no reply is not blamed on it. */
static void reply_reset(mailsmtp *smtp)
{
	smtp->response_code = 0;
	if (smtp->response_buffer != NULL)
		mmap_string_assign(smtp->response_buffer, "");
	smtp->response = smtp->response_buffer != NULL ? smtp->response_buffer->str : NULL;
}

/* Writes one command line (with its CRLF) and reads the reply into smtp->response /
 * ->response_code the way libetpan's read_response() does. Returns the reply code, 0 when the
 * connection failed or the reply was not SMTP. */
static int command(mailsmtp *smtp, const char *line)
{
	int code = 0, this, lines = 0;
	char *text;

	reply_reset(smtp);
	if (mailstream_write(smtp->stream, line, strlen(line)) == -1 ||
	    mailstream_flush(smtp->stream) == -1)
		return 0;
	do {
		text = mailstream_read_line_remove_eol(smtp->stream, smtp->line_buffer);
		if (text == NULL || strlen(text) < 3 || !g_ascii_isdigit(text[0]) ||
		    !g_ascii_isdigit(text[1]) || !g_ascii_isdigit(text[2]) ||
		    (text[3] != '\0' && text[3] != ' ' && text[3] != '-') ||
		    ++lines > SMTP_MAX_REPLY_LINES) {
			smtp->response_code = 0;
			return 0;
		}
		this = (text[0] - '0') * 100 + (text[1] - '0') * 10 + (text[2] - '0');
		if (code != 0 && code != this) {
			smtp->response_code = 0;
			return 0;
		}
		code = this;
		mmap_string_append(smtp->response_buffer, text[3] != '\0' ? text + 4 : "");
		mmap_string_append_c(smtp->response_buffer, '\n');
	} while (text[3] == '-');
	smtp->response = smtp->response_buffer->str;
	smtp->response_code = code;
	return code;
}

/* Sets the session's extension flags from an EHLO reply (first line: the greeting; then one
 * keyword per line) as mailesmtp_parse_ehlo() would, for the extensions spocd relies on. */
static void parse_ehlo(struct smtp_session *s)
{
	mailsmtp *smtp = s->smtp;
	char **lines = g_strsplit(smtp->response, "\n", -1);
	GString *mechs = g_string_new(NULL);

	smtp->esmtp = MAILSMTP_ESMTP;
	smtp->auth = MAILSMTP_AUTH_CHECKED;
	for (guint i = 1; lines[i] != NULL; i++) {
		char **words = g_strsplit_set(g_strstrip(lines[i]), " =", -1);

		if (words[0] == NULL)
			; /* the empty string after the last line end */
		else if (g_ascii_strcasecmp(words[0], "STARTTLS") == 0)
			smtp->esmtp |= MAILSMTP_ESMTP_STARTTLS;
		else if (g_ascii_strcasecmp(words[0], "8BITMIME") == 0)
			smtp->esmtp |= MAILSMTP_ESMTP_8BITMIME;
		else if (g_ascii_strcasecmp(words[0], "PIPELINING") == 0)
			smtp->esmtp |= MAILSMTP_ESMTP_PIPELINING;
		else if (g_ascii_strcasecmp(words[0], "SIZE") == 0)
			smtp->esmtp |= MAILSMTP_ESMTP_SIZE;
		else if (g_ascii_strcasecmp(words[0], "AUTH") == 0)
			for (guint w = 1; words[w] != NULL; w++) {
				if (*words[w] == '\0')
					continue;
				if (g_ascii_strcasecmp(words[w], "PLAIN") == 0)
					smtp->auth |= MAILSMTP_AUTH_PLAIN;
				else if (g_ascii_strcasecmp(words[w], "LOGIN") == 0)
					smtp->auth |= MAILSMTP_AUTH_LOGIN;
				g_string_append_printf(mechs, "%s%s", mechs->len > 0 ? " " : "",
						       words[w]);
			}
		/* DSN is left out on purpose: libetpan would then add RET=HDRS to MAIL FROM. */
		g_strfreev(words);
	}
	g_strfreev(lines);
	g_free(s->auth_mechs);
	s->auth_mechs = g_string_free(mechs, FALSE);
}

/* A name fit for "EHLO name": a domain name or an address literal, nothing that could end the
 * line. */
static gboolean helo_name_valid(const char *name)
{
	if (name == NULL || *name == '\0' || strlen(name) > 255)
		return FALSE;
	for (const char *p = name; *p != '\0'; p++)
		if (!g_ascii_isalnum(*p) && strchr("-._[]:", *p) == NULL)
			return FALSE;
	return TRUE;
}

/* EHLO with conf->helo_name (the host name when unset). SPOC_OK or SPOC_ETEMP. */
static int ehlo(struct smtp_session *s, const struct spoc_smtp_conf *conf, struct errbuf *err)
{
	const char *name = conf->helo_name != NULL && *conf->helo_name != '\0' ? conf->helo_name
									       : g_get_host_name();
	char *line, *reply;
	int code;

	if (!helo_name_valid(name))
		return errbuf_set(err, SPOC_ETEMP, "smtp %s: invalid helo_name \"%s\"", s->where,
				  name);
	line = g_strdup_printf("EHLO %s\r\n", name);
	code = command(s->smtp, line);
	g_free(line);
	if (code == 250) {
		parse_ehlo(s);
		return SPOC_OK;
	}
	if (code == 0) {
		s->broken = TRUE;
		return errbuf_set(err, SPOC_ETEMP, "smtp %s: EHLO: connection lost or bad reply",
				  s->where);
	}
	reply = reply_text(s->smtp);
	errbuf_set(err, SPOC_ETEMP, "smtp %s: EHLO %s refused: %d %s", s->where, name, code, reply);
	g_free(reply);
	return SPOC_ETEMP;
}

/* Verifies the TLS peer now in place; SPOC_OK or SPOC_ETEMP naming the server. */
static int verify(struct smtp_session *s, const struct spoc_endpoint *ep, struct errbuf *err)
{
	if (tls_verify_stream(s->smtp->stream, ep->host, ep->ca_file, err) != SPOC_OK) {
		s->broken = TRUE; /* not one more byte to an unverified peer, not even QUIT */
		return errbuf_prefix(err, SPOC_ETEMP, "smtp %s", s->where);
	}
	return SPOC_OK;
}

static int starttls(struct smtp_session *s, const struct spoc_smtp_conf *conf, struct errbuf *err)
{
	const struct spoc_endpoint *ep = &conf->ep;
	char *reply;
	int r;

	if (ehlo(s, conf, err) != SPOC_OK)
		return SPOC_ETEMP;
	/* Never fall back to plain text: a missing STARTTLS is what an attacker in the middle
	 * shows. */
	if (!(s->smtp->esmtp & MAILSMTP_ESMTP_STARTTLS))
		return errbuf_set(err, SPOC_ETEMP,
				  "smtp %s: server does not offer STARTTLS (tls = starttls: "
				  "refusing to continue without TLS)",
				  s->where);
	reply_reset(s->smtp);
	r = mailsmtp_socket_starttls_with_callback(s->smtp, tls_sni_callback, (void *)ep->host);
	if (r != MAILSMTP_NO_ERROR) {
		s->broken = TRUE; /* the stream may be half way into a handshake */
		reply = reply_text(s->smtp);
		if (s->smtp->response_code != 0 && s->smtp->response_code != 220)
			errbuf_set(err, SPOC_ETEMP, "smtp %s: STARTTLS refused: %d %s", s->where,
				   s->smtp->response_code, reply);
		else
			errbuf_set(err, SPOC_ETEMP, "smtp %s: STARTTLS failed: %s", s->where,
				   mailsmtp_strerror(r));
		g_free(reply);
		return SPOC_ETEMP;
	}
	/* Plain-text bytes that came with the "220" would be read as if they came through TLS
	 * (CVE-2020-15953, a response injection). */
	if (s->smtp->stream->read_buffer_len != 0) {
		s->broken = TRUE;
		return errbuf_set(err, SPOC_ETEMP,
				  "smtp %s: data injected after the STARTTLS reply: refusing",
				  s->where);
	}
	tls_guard_eof(s->smtp->stream);
	if (verify(s, ep, err) != SPOC_OK)
		return SPOC_ETEMP;
	/* RFC 3207: forget what was learnt before TLS and ask again. */
	return ehlo(s, conf, err);
}

static int authenticate(struct smtp_session *s, const struct spoc_smtp_conf *conf,
			struct errbuf *err)
{
	const struct spoc_endpoint *ep = &conf->ep;
	const char *mech, *password = ep->password != NULL ? ep->password : "";
	char *reply;
	int r;

	if (s->smtp->auth & MAILSMTP_AUTH_PLAIN)
		mech = "PLAIN";
	else if (s->smtp->auth & MAILSMTP_AUTH_LOGIN)
		mech = "LOGIN";
	else
		return errbuf_set(err, SPOC_ETEMP,
				  "smtp %s: server offers no AUTH PLAIN or LOGIN (offered: %s)",
				  s->where, *s->auth_mechs != '\0' ? s->auth_mechs : "no AUTH");
	if (2 * strlen(ep->user) + strlen(password) + 2 > SMTP_AUTH_MAX_PLAIN)
		return errbuf_set(err, SPOC_ETEMP,
				  "smtp %s: user name and password too long for libetpan's AUTH "
				  "(2 x user + password must be at most %d bytes)",
				  s->where, SMTP_AUTH_MAX_PLAIN - 2);
	reply_reset(s->smtp);
	r = mailesmtp_auth_sasl(s->smtp, mech, ep->host, NULL, NULL, ep->user, ep->user, password,
				NULL);
	if (r == MAILSMTP_NO_ERROR)
		return SPOC_OK;
	if (r == MAILSMTP_ERROR_STREAM) {
		s->broken = TRUE;
		return errbuf_set(err, SPOC_ETEMP, "smtp %s: AUTH %s: connection lost", s->where,
				  mech);
	}
	if (s->smtp->response_code == 0)
		return errbuf_set(err, SPOC_ETEMP,
				  "smtp %s: AUTH %s as %s: SASL failed before any reply (%s; is "
				  "libsasl2-modules installed?)",
				  s->where, mech, ep->user, mailsmtp_strerror(r));
	reply = reply_text(s->smtp);
	errbuf_set(err, SPOC_ETEMP, "smtp %s: AUTH %s as %s refused: %d %s", s->where, mech,
		   ep->user, s->smtp->response_code, reply);
	g_free(reply);
	return SPOC_ETEMP;
}

/* TRUE when the last EHLO offered AUTH mechanism mech. */
static gboolean offers(const struct smtp_session *s, const char *mech)
{
	char **words = g_strsplit(s->auth_mechs, " ", -1);
	gboolean found = FALSE;

	for (guint i = 0; words[i] != NULL && !found; i++)
		found = g_ascii_strcasecmp(words[i], mech) == 0;
	g_strfreev(words);
	return found;
}

/* One AUTH with an access token as the initial response (RFC 4954). SPOC_OK on 235; SPOC_EPERM
 * when the server refused the token (535, or its error challenge), the decoded challenge in
 * *why_r (caller frees) and the reply in *reply_r; SPOC_ETEMP with err set otherwise. */
static int auth_token_once(struct smtp_session *s, enum oauth2_mech mech, const char *token,
			   char **why_r, char **reply_r, struct errbuf *err)
{
	const struct spoc_endpoint *ep = s->ep;
	char *resp = oauth2_sasl_response(mech, ep->user, ep->host, ep->port, token);
	size_t len = strlen(resp) + 32;
	char *line = g_malloc(len);
	int code;

	g_snprintf(line, len, "AUTH %s %s\r\n", oauth2_mech_name(mech), resp);
	oauth2_secret_free(resp);
	/* the token stays out of libetpan's stream debug log */
	mailstream_set_privacy(s->smtp->stream, 0);
	code = command(s->smtp, line);
	mailstream_set_privacy(s->smtp->stream, 1);
	explicit_bzero(line, len);
	g_free(line);
	if (code == 334) {
		/* the server's error challenge (RFC 7628 3.2.2); the client's answer ends the
		 * exchange with the real reply */
		const char *b64 = s->smtp->response != NULL ? s->smtp->response : "";

		g_free(*why_r);
		*why_r = oauth2_sasl_error_text(b64, strcspn(b64, "\n"));
		line = g_strdup_printf("%s\r\n", oauth2_sasl_abort(mech));
		code = command(s->smtp, line);
		g_free(line);
	}
	if (code == 235)
		return SPOC_OK;
	if (code == 0) {
		s->broken = TRUE;
		return errbuf_set(err, SPOC_ETEMP, "smtp %s: AUTH %s: connection lost or bad reply",
				  s->where, oauth2_mech_name(mech));
	}
	{
		char *text = reply_text(s->smtp);

		g_free(*reply_r);
		*reply_r = g_strdup_printf("%d %s", code, text);
		g_free(text);
	}
	if (code == 535 || code == 530 || code == 534)
		return SPOC_EPERM;
	return errbuf_set(err, SPOC_ETEMP, "smtp %s: AUTH %s as %s: %s", s->where,
			  oauth2_mech_name(mech), ep->user, *reply_r);
}

/* AUTH with an access token: XOAUTH2 where offered, else OAUTHBEARER. A cached token the server
 * refuses is renewed and tried once more. */
static int authenticate_oauth2(struct smtp_session *s, struct errbuf *err)
{
	const struct spoc_endpoint *ep = s->ep;
	enum oauth2_mech mech;
	char *why = NULL, *reply = NULL;
	int rc = SPOC_EPERM;

	if (offers(s, "XOAUTH2"))
		mech = OAUTH2_XOAUTH2;
	else if (offers(s, "OAUTHBEARER"))
		mech = OAUTH2_OAUTHBEARER;
	else
		return errbuf_set(err, SPOC_ETEMP,
				  "smtp %s: server offers no AUTH XOAUTH2 or OAUTHBEARER (offered: "
				  "%s): auth = \"oauth2\" cannot log in there",
				  s->where, *s->auth_mechs != '\0' ? s->auth_mechs : "no AUTH");
	for (int attempt = 0; rc == SPOC_EPERM && attempt < 2; attempt++) {
		const char *token = NULL;
		gboolean fresh = FALSE;

		if (oauth2_token(ep, &token, &fresh, err) != SPOC_OK) {
			rc = errbuf_prefix(err, SPOC_ETEMP, "smtp %s: no access token for %s",
					   s->where, ep->user);
			break;
		}
		rc = auth_token_once(s, mech, token, &why, &reply, err);
		if (rc == SPOC_EPERM) {
			oauth2_token_refused(ep);
			if (fresh)
				break; /* a new token refused: another would be too */
		}
	}
	if (rc == SPOC_EPERM)
		rc = errbuf_set(err, SPOC_ETEMP, "smtp %s: AUTH %s as %s refused: %s (%s)",
				s->where, oauth2_mech_name(mech), ep->user, reply,
				why != NULL ? why : "no error details from the server");
	g_free(why);
	g_free(reply);
	return rc;
}

/* Connects and reads the greeting; SPOC_OK or SPOC_ETEMP. */
static int connect_server(struct smtp_session *s, const struct spoc_endpoint *ep,
			  struct errbuf *err)
{
	char *reply;
	int r;

	reply_reset(s->smtp);
	if (ep->tls == SPOC_TLS_IMPLICIT)
		r = mailsmtp_ssl_connect_with_callback(s->smtp, ep->host, ep->port,
						       tls_sni_callback, (void *)ep->host);
	else
		r = mailsmtp_socket_connect(s->smtp, ep->host, ep->port);
	if (r == MAILSMTP_NO_ERROR)
		return SPOC_OK;
	if (r == MAILSMTP_ERROR_CONNECTION_REFUSED)
		return errbuf_set(err, SPOC_ETEMP,
				  "smtp %s: cannot connect (refused, unreachable, unknown host or "
				  "timed out after %ds)",
				  s->where, ep->timeout_s);
	if (r == MAILSMTP_ERROR_SSL)
		return errbuf_set(err, SPOC_ETEMP, "smtp %s: TLS handshake failed", s->where);
	if (s->smtp->response_code == 0)
		return errbuf_set(err, SPOC_ETEMP,
				  "smtp %s: no greeting (%s: closed, or silent for smtp.timeout, "
				  "%d s)",
				  s->where, mailsmtp_strerror(r), ep->timeout_s);
	reply = reply_text(s->smtp);
	errbuf_set(err, SPOC_ETEMP, "smtp %s: greeting refused: %d %s", s->where,
		   s->smtp->response_code, reply);
	g_free(reply);
	return SPOC_ETEMP;
}

int smtp_open(const struct spoc_smtp_conf *conf, struct smtp_session **s_r, struct errbuf *err)
{
	const struct spoc_endpoint *ep = &conf->ep;
	struct smtp_session *s;
	int rc;

	*s_r = NULL;
	s = g_new0(struct smtp_session, 1);
	s->where = g_strdup_printf("%s:%u", ep->host, (unsigned)ep->port);
	s->auth_mechs = g_strdup("");
	s->ep = ep;
	s->smtp = mailsmtp_new(0, NULL);
	if (s->smtp == NULL) {
		rc = errbuf_set(err, SPOC_ETEMP, "smtp %s: out of memory", s->where);
		goto fail;
	}
	if (ep->timeout_s > 0) {
		/* Process-wide in libetpan: the delay of every read and write on a plain socket. */
		mailstream_network_delay.tv_sec = ep->timeout_s;
		mailstream_network_delay.tv_usec = 0;
		mailsmtp_set_timeout(s->smtp, ep->timeout_s);
	}

	rc = connect_server(s, ep, err);
	if (rc != SPOC_OK)
		goto fail;
	tls_guard_eof(s->smtp->stream);
	switch (ep->tls) {
	case SPOC_TLS_IMPLICIT:
		rc = verify(s, ep, err);
		if (rc == SPOC_OK)
			rc = ehlo(s, conf, err);
		break;
	case SPOC_TLS_STARTTLS:
		rc = starttls(s, conf, err);
		break;
	case SPOC_TLS_NONE:
	default:
		rc = ehlo(s, conf, err);
		break;
	}
	if (rc == SPOC_OK && ep->oauth2 != NULL)
		rc = authenticate_oauth2(s, err);
	else if (rc == SPOC_OK && ep->user != NULL && *ep->user != '\0')
		rc = authenticate(s, conf, err);
	if (rc != SPOC_OK)
		goto fail;
	*s_r = s;
	return SPOC_OK;

fail:
	smtp_close(&s);
	return SPOC_ETEMP;
}

void smtp_close(struct smtp_session **s)
{
	if (s == NULL || *s == NULL)
		return;
	if ((*s)->smtp != NULL) {
		if ((*s)->smtp->stream != NULL) {
			if ((*s)->broken) {
				/* mailsmtp_free() would send QUIT on it: close it ourselves. */
				mailstream_close((*s)->smtp->stream);
				(*s)->smtp->stream = NULL;
			} else {
				mailsmtp_quit((*s)->smtp);
			}
		}
		mailsmtp_free((*s)->smtp);
	}
	g_free((*s)->auth_mechs);
	g_free((*s)->where);
	g_free(*s);
	*s = NULL;
}

gboolean smtp_broken(const struct smtp_session *s)
{
	return s == NULL || s->broken || s->smtp == NULL || s->smtp->stream == NULL;
}

/* Turns a failed step into SPOC_EPERM (5xx) or SPOC_ETEMP (4xx, lost connection, nonsense), and
 * puts the server's transaction back to the start when the connection is still usable. */
static int step_failed(struct smtp_session *s, int r, const char *step, struct errbuf *err)
{
	int code = s->smtp->response_code, rc;
	char *reply;

	if (r == MAILSMTP_ERROR_STREAM || code == 0) {
		s->broken = TRUE;
		return errbuf_set(err, SPOC_ETEMP, "smtp %s: %s: connection lost or timed out",
				  s->where, step);
	}
	reply = reply_text(s->smtp);
	rc = code >= 500 && code <= 599 ? SPOC_EPERM : SPOC_ETEMP;
	if (code >= 400 && code <= 599)
		errbuf_set(err, rc, "smtp %s: %s: %d %s", s->where, step, code, reply);
	else
		errbuf_set(err, rc, "smtp %s: %s: unexpected reply %d %s", s->where, step, code,
			   reply);
	g_free(reply);
	/* 421: the server is closing; anything but 4xx/5xx: we are out of step with it. */
	if (code == 421 || code < 400 || code > 599)
		s->broken = TRUE;
	else if (mailsmtp_reset(s->smtp) != MAILSMTP_NO_ERROR || s->smtp->response_code != 250)
		s->broken = TRUE;
	return rc;
}

int smtp_send(struct smtp_session *s, const char *env_from, const char *rcpt, const char *data,
	      size_t len, struct errbuf *err)
{
	int r;

	if (!smtp_address_valid(env_from) || !smtp_address_valid(rcpt)) {
		const char *bad = smtp_address_valid(env_from) ? rcpt : env_from;
		char *shown = g_strescape(bad != NULL ? bad : "(null)", NULL);

		errbuf_set(err, SPOC_EPERM, "smtp %s: invalid envelope address \"%.300s\"",
			   s != NULL ? s->where : "-", shown);
		g_free(shown);
		return SPOC_EPERM;
	}
	if (data == NULL || len == 0)
		return errbuf_set(err, SPOC_EPERM, "smtp %s: empty message", s->where);
	if (smtp_broken(s))
		return errbuf_set(err, SPOC_ETEMP, "smtp %s: connection is no longer usable",
				  s->where);

	reply_reset(s->smtp);
	r = mailsmtp_mail(s->smtp, env_from);
	if (r != MAILSMTP_NO_ERROR) {
		/* The sender is always our own from_address: a 5xx here (530 authentication
		 * required, 550 sender not allowed) is the desk's set-up, not this message, so the
		 * row waits for the fix instead of failing for good. */
		step_failed(s, r, "MAIL FROM", err);
		return SPOC_ETEMP;
	}
	reply_reset(s->smtp);
	r = mailsmtp_rcpt(s->smtp, rcpt);
	if (r != MAILSMTP_NO_ERROR)
		return step_failed(s, r, "RCPT TO", err);
	reply_reset(s->smtp);
	r = mailsmtp_data(s->smtp);
	if (r != MAILSMTP_NO_ERROR)
		return step_failed(s, r, "DATA", err);
	/* libetpan appends "\r\n.\r\n": without this the message would gain an empty last line. */
	if (len >= 2 && data[len - 2] == '\r' && data[len - 1] == '\n')
		len -= 2;
	reply_reset(s->smtp);
	r = mailsmtp_data_message(s->smtp, data, len);
	if (r != MAILSMTP_NO_ERROR)
		return step_failed(s, r, "end of DATA", err);
	return SPOC_OK;
}

/* Domain part: a domain name (letters, digits, '-', '.', '_', UTF-8 for IDN) or an address
 * literal "[...]" of printable ASCII without brackets or backslashes inside. */
static gboolean domain_valid(const char *d, size_t len)
{
	if (len == 0)
		return FALSE;
	if (d[0] == '[') {
		if (len < 3 || d[len - 1] != ']')
			return FALSE;
		for (size_t i = 1; i < len - 1; i++)
			if (d[i] <= 0x20 || d[i] >= 0x7f || strchr("[]\\", d[i]) != NULL)
				return FALSE;
		return TRUE;
	}
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)d[i];

		if (!(g_ascii_isalnum(c) || c == '-' || c == '.' || c == '_' || c >= 0x80))
			return FALSE;
	}
	return TRUE;
}

gboolean smtp_address_valid_n(const char *addr, size_t len)
{
	size_t i = 0;

	/* An explicit length makes g_utf8_validate() refuse NUL bytes too. */
	if (addr == NULL || len == 0 || len > 254 || !g_utf8_validate(addr, (gssize)len, NULL))
		return FALSE;
	if (addr[0] == '"') {
		/* RFC 5321 Quoted-string: printable ASCII and space, '\' quoting one of them. */
		for (i = 1; i < len && addr[i] != '"'; i++) {
			unsigned char c = (unsigned char)addr[i];

			if (c == '\\' && i + 1 < len)
				c = (unsigned char)addr[++i];
			if (c < 0x20 || c >= 0x7f || c == '<' || c == '>')
				return FALSE;
		}
		if (i >= len || i == 1)
			return FALSE;
		i++; /* the closing quote */
	} else {
		/* Dot-string: no specials, no spaces or controls; UTF-8 for RFC 6531. */
		for (; i < len && addr[i] != '@'; i++) {
			unsigned char c = (unsigned char)addr[i];

			if (c <= 0x20 || c == 0x7f || strchr("()<>[]:;\\,\"", c) != NULL)
				return FALSE;
		}
		if (i == 0)
			return FALSE;
	}
	if (i >= len || addr[i] != '@')
		return FALSE;
	return domain_valid(addr + i + 1, len - i - 1);
}

gboolean smtp_address_valid(const char *addr)
{
	return addr != NULL && smtp_address_valid_n(addr, strlen(addr));
}
