/* TLS verification and stream hardening for libetpan, shared by imap.c and smtp.c.
 *
 * Debian's libetpan (GnuTLS build) completes the handshake without checking anything: no trust
 * store, no host name. So the connect callback sends SNI, and before any credential is sent the
 * caller hands the stream to tls_verify_stream(), which rebuilds the peer chain from the DER
 * certificates libetpan kept and verifies it with GnuTLS against the configured CA file or the
 * system store, for the configured host name and the TLS server key purpose.
 *
 * tls_guard_eof() wraps a stream's low-level driver so that end of file is an error: libetpan
 * 1.9.4 treats read() == 0 as "no data yet" and spins when a server hangs up mid-literal. */
#include "tls.h"

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <stdlib.h>
#include <string.h>

void tls_sni_callback(struct mailstream_ssl_context *ctx, void *data)
{
	/* libetpan takes a non-const pointer but only copies the name. */
	mailstream_ssl_set_server_name(ctx, (char *)data);
}

static void free_chain(carray *chain)
{
	if (chain == NULL)
		return;
	for (unsigned i = 0; i < carray_count(chain); i++)
		mmap_string_free(carray_get(chain, i));
	carray_free(chain);
}

int tls_verify_stream(mailstream *stream, const char *host, const char *ca_file, struct errbuf *err)
{
	gnutls_x509_trust_list_t trust = NULL;
	gnutls_x509_crt_t *certs = NULL;
	unsigned n = 0, status = 0;
	carray *chain;
	int rc = SPOC_ETEMP, gr;

	chain = stream != NULL ? mailstream_get_certificate_chain(stream) : NULL;
	if (chain == NULL || carray_count(chain) == 0) {
		free_chain(chain);
		return errbuf_set(err, SPOC_ETEMP,
				  "certificate of %s not trusted: server sent none", host);
	}
	n = carray_count(chain);
	certs = g_new0(gnutls_x509_crt_t, n);
	for (unsigned i = 0; i < n; i++) {
		MMAPString *der = carray_get(chain, i);
		gnutls_datum_t datum = {(unsigned char *)der->str, (unsigned)der->len};

		gnutls_x509_crt_init(&certs[i]);
		gr = gnutls_x509_crt_import(certs[i], &datum, GNUTLS_X509_FMT_DER);
		if (gr < 0) {
			errbuf_set(err, SPOC_ETEMP,
				   "certificate of %s not trusted: certificate %u unreadable: %s",
				   host, i, gnutls_strerror(gr));
			goto out;
		}
	}

	gnutls_x509_trust_list_init(&trust, 0);
	if (ca_file != NULL) {
		gr = gnutls_x509_trust_list_add_trust_file(trust, ca_file, NULL,
							   GNUTLS_X509_FMT_PEM, 0, 0);
		if (gr <= 0) {
			errbuf_set(err, SPOC_ETEMP,
				   "ca_file %s: no certificate could be loaded%s%s", ca_file,
				   gr < 0 ? ": " : "", gr < 0 ? gnutls_strerror(gr) : "");
			goto out;
		}
	} else {
		gr = gnutls_x509_trust_list_add_system_trust(trust, 0, 0);
		if (gr <= 0) {
			errbuf_set(err, SPOC_ETEMP, "the system trust store holds no certificate");
			goto out;
		}
	}

	gnutls_typed_vdata_st vdata[2] = {
	    {.type = GNUTLS_DT_DNS_HOSTNAME, .data = (unsigned char *)host, .size = 0},
	    {.type = GNUTLS_DT_KEY_PURPOSE_OID,
	     .data = (unsigned char *)GNUTLS_KP_TLS_WWW_SERVER,
	     .size = 0},
	};
	gr = gnutls_x509_trust_list_verify_crt2(trust, certs, n, vdata, 2, 0, &status, NULL);
	if (gr < 0) {
		errbuf_set(err, SPOC_ETEMP, "certificate of %s not trusted: %s", host,
			   gnutls_strerror(gr));
		goto out;
	}
	if (status != 0) {
		gnutls_datum_t text = {NULL, 0};

		gnutls_certificate_verification_status_print(status, GNUTLS_CRT_X509, &text, 0);
		errbuf_set(err, SPOC_ETEMP, "certificate of %s not trusted: %s", host,
			   text.data != NULL ? (const char *)text.data : "verification failed");
		gnutls_free(text.data);
		goto out;
	}
	rc = SPOC_OK;
out:
	if (trust != NULL)
		gnutls_x509_trust_list_deinit(trust, 1);
	for (unsigned i = 0; i < n; i++)
		if (certs[i] != NULL)
			gnutls_x509_crt_deinit(certs[i]);
	g_free(certs);
	free_chain(chain);
	return rc;
}

/* ---- EOF guard ---- */

static mailstream_low *inner(mailstream_low *s)
{
	return s->data;
}

static ssize_t guard_read(mailstream_low *s, void *buf, size_t count)
{
	ssize_t r = inner(s)->driver->mailstream_read(inner(s), buf, count);

	return r == 0 ? -1 : r;
}

static ssize_t guard_write(mailstream_low *s, const void *buf, size_t count)
{
	return inner(s)->driver->mailstream_write(inner(s), buf, count);
}

static int guard_close(mailstream_low *s)
{
	return inner(s)->driver->mailstream_close(inner(s));
}

static int guard_get_fd(mailstream_low *s)
{
	return inner(s)->driver->mailstream_get_fd(inner(s));
}

static void guard_free(mailstream_low *s)
{
	mailstream_low_free(inner(s));
	free(s);
}

static void guard_cancel(mailstream_low *s)
{
	inner(s)->driver->mailstream_cancel(inner(s));
}

static struct mailstream_cancel *guard_get_cancel(mailstream_low *s)
{
	return inner(s)->driver->mailstream_get_cancel(inner(s));
}

static carray *guard_get_certificate_chain(mailstream_low *s)
{
	mailstream_low *in = inner(s);

	if (in->driver->mailstream_get_certificate_chain == NULL)
		return NULL;
	return in->driver->mailstream_get_certificate_chain(in);
}

static int guard_setup_idle(mailstream_low *s)
{
	mailstream_low *in = inner(s);

	return in->driver->mailstream_setup_idle ? in->driver->mailstream_setup_idle(in) : -1;
}

static int guard_unsetup_idle(mailstream_low *s)
{
	mailstream_low *in = inner(s);

	return in->driver->mailstream_unsetup_idle ? in->driver->mailstream_unsetup_idle(in) : -1;
}

static int guard_interrupt_idle(mailstream_low *s)
{
	mailstream_low *in = inner(s);

	return in->driver->mailstream_interrupt_idle ? in->driver->mailstream_interrupt_idle(in)
						     : -1;
}

static mailstream_low_driver guard_driver = {
    .mailstream_read = guard_read,
    .mailstream_write = guard_write,
    .mailstream_close = guard_close,
    .mailstream_get_fd = guard_get_fd,
    .mailstream_free = guard_free,
    .mailstream_cancel = guard_cancel,
    .mailstream_get_cancel = guard_get_cancel,
    .mailstream_get_certificate_chain = guard_get_certificate_chain,
    .mailstream_setup_idle = guard_setup_idle,
    .mailstream_unsetup_idle = guard_unsetup_idle,
    .mailstream_interrupt_idle = guard_interrupt_idle,
};

void tls_guard_eof(mailstream *stream)
{
	mailstream_low *low, *wrapped;

	if (stream == NULL)
		return;
	low = mailstream_get_low(stream);
	if (low == NULL || low->driver == &guard_driver)
		return;
	wrapped = mailstream_low_new(low, &guard_driver);
	if (wrapped == NULL)
		return;
	mailstream_low_set_timeout(wrapped, mailstream_low_get_timeout(low));
	mailstream_set_low(stream, wrapped);
}
