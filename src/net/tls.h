/* TLS for libetpan streams, shared by IMAP and SMTP. Debian's libetpan verifies nothing, so spocd
 * sends SNI itself and verifies the peer's chain and host name with GnuTLS before any credential
 * leaves the machine. It also guards streams against libetpan's EOF busy loop. */
#ifndef SPOC_TLS_H
#define SPOC_TLS_H

#include "spoc.h"

#include <libetpan/libetpan.h>

/* Connect callback for *_ssl_connect_with_callback / *_starttls_with_callback: sets SNI to the
 * host name passed as data (a char *). */
void tls_sni_callback(struct mailstream_ssl_context *ctx, void *data);

/* Verifies the certificate chain of an established TLS stream for host against ca_file (NULL: the
 * system trust store). SPOC_OK when trusted; otherwise SPOC_ETEMP with the reason in err. */
int tls_verify_stream(mailstream *stream, const char *host, const char *ca_file,
		      struct errbuf *err);

/* Replaces the stream's low-level driver by one that turns a read of 0 bytes (EOF) into an
 * error, so a server closing mid-literal cannot spin libetpan forever. Call after every connect
 * and after STARTTLS (which installs a new low-level driver). */
void tls_guard_eof(mailstream *stream);

#endif
