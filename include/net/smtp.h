/* SMTP submission with libetpan: connect (implicit TLS, STARTTLS or, on loopback only, plain),
 * verify the certificate through tls.c, EHLO, optional AUTH, then one envelope per message over
 * the same connection. */
#ifndef SPOC_SMTP_H
#define SPOC_SMTP_H

#include "conf.h"

struct smtp_session;

/* SPOC_OK with *s_r set (free with smtp_close()), or SPOC_ETEMP with the reason (connection
 * refused, certificate not trusted, STARTTLS missing, AUTH refused...). */
int smtp_open(const struct spoc_smtp_conf *conf, struct smtp_session **s_r, struct errbuf *err);
void smtp_close(struct smtp_session **s);

/* Sends data (a complete RFC 5322 message, CRLF line ends) from env_from to one recipient.
 * SPOC_OK; SPOC_ETEMP for 4xx or a broken connection (the session is then unusable); SPOC_EPERM
 * for 5xx or an invalid envelope address, with the server's reply or the reason in err. */
int smtp_send(struct smtp_session *s, const char *env_from, const char *rcpt, const char *data,
	      size_t len, struct errbuf *err);

/* TRUE when addr is safe to put in MAIL FROM:<> / RCPT TO:<>: no CR, LF, NUL, angle brackets or
 * unquoted spaces, one '@' with both sides non-empty, at most 254 bytes. */
gboolean smtp_address_valid(const char *addr);
/* The same for len bytes that may contain NUL (which makes the address invalid). */
gboolean smtp_address_valid_n(const char *addr, size_t len);

/* TRUE when the session can no longer be used (connection lost, timed out, server closing or out
 * of step after a failed smtp_send()): close it and open a new one. */
gboolean smtp_broken(const struct smtp_session *s);

#endif
