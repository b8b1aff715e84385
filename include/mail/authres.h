/* Whether a message's From is proven by the Authentication-Results (RFC 8601) that our own border
 * MTA wrote, so that commands by email are taken only from agents whose mail really comes from
 * their domain. spocd does not verify DKIM or DMARC itself; it trusts one authserv-id. Pure: no
 * I/O, only GLib. */
#ifndef SPOC_AUTHRES_H
#define SPOC_AUTHRES_H

#include <glib.h>

/* Values longer than this, in bytes, are not parsed. */
#define AUTHRES_MAX_VALUE 8192

/* values: every Authentication-Results header value of the message, raw (unfolded, never
 * RFC 2047-decoded: mail_header_raw()), top first, NULL-terminated (NULL is none). Returns TRUE
 * when the one header that counts says dkim=pass with header.d (or, without header.d, the domain of
 * header.i) aligned with from_domain: equal, or from_domain a subdomain of it (relaxed alignment);
 * a d without a dot never aligns; or dmarc=pass with header.from equal to from_domain. Domains
 * compare without case and without a trailing dot.
 *
 * The header that counts is the topmost one whose authserv-id (its first token, compared without
 * case, exactly; quoted or not) is trusted_authserv_id. RFC 8601 section 5 has the border MTA
 * remove or rename any header with its own authserv-id that came from outside before it adds its
 * own at the top, and the MTAs that handle the message after it (inside our trust boundary) add
 * theirs above it. So headers from other authserv-ids are ignored wherever they are (they may be
 * above ours), and every header with the trusted authserv-id below the topmost one is ignored
 * too: a forged one that the border MTA did not remove cannot add a pass. When the topmost
 * trusted one is over AUTHRES_MAX_VALUE, nothing is proven (the ones below it still do not
 * count). A trusted header that holds an encoded-word proves nothing: no producer writes one,
 * so it came from the sender. This relies on the border MTA doing what section 5 says.
 *
 * *why_r (may be NULL) gets a one-line explanation ("dkim=pass header.d=example.org by mx.desk",
 * "no Authentication-Results from mx.desk", "dmarc=fail by mx.desk", ...). It points into a
 * thread-local buffer that the next call from the same thread overwrites; do not free it. */
gboolean authres_from_proven(const char *const *values, const char *trusted_authserv_id,
			     const char *from_domain, const char **why_r);

enum authres_result {
	AUTHRES_NONE, /* nothing proves the domain, nothing says it failed */
	AUTHRES_PASS, /* what authres_from_proven() calls proven */
	/* the trusted border says the From domain failed: dmarc=fail (with header.from equal to
	 * from_domain, or none), or dkim=fail whose d aligns with it. A fail anywhere in the
	 * header that counts outweighs a pass elsewhere in it. */
	AUTHRES_FAIL,
};

/* The same reading, with a fail told apart from nothing: an agent's reply token is vetoed by
 * a fail for the agent's own domain. *why_r as for authres_from_proven(). */
enum authres_result authres_from_verdict(const char *const *values,
					 const char *trusted_authserv_id, const char *from_domain,
					 const char **why_r);

#endif
