/* What the border MTA's Authentication-Results (RFC 8601) say of a message's From domain: the
 * sender verdict of every mail (a DMARC result and policy, aligned DKIM and SPF, the domain they
 * authenticate), from which participants and agents are proven. spocd verifies nothing itself;
 * it reads the one header of the border it trusts. Pure: no I/O, only GLib. */
#ifndef SPOC_AUTHRES_H
#define SPOC_AUTHRES_H

#include <glib.h>

/* Values longer than this, in bytes, are not parsed. */
#define AUTHRES_MAX_VALUE 8192

/* How the trusted border writes its header, so which header is its own. */
enum authres_dialect {
	/* RFC 8601: the topmost header whose authserv-id (its first token, compared without
	 * case, exactly; quoted or not) is the trusted one. Section 5 has the border remove or
	 * rename any header with its own authserv-id that came from outside before it adds its
	 * own at the top, and the MTAs after it (inside our trust boundary) add theirs above it.
	 * So headers of other authserv-ids are ignored wherever they are (they may be above
	 * ours), and every header with the trusted authserv-id below the topmost one is ignored
	 * too: a forged one the border did not remove cannot add a pass. OpenDKIM, OpenDMARC,
	 * rspamd, authentication_milter and Gmail (mx.google.com) write this. */
	AUTHRES_RFC8601,
	/* Microsoft 365 (Exchange Online), which writes no authserv-id at all ("spf=pass (sender
	 * IP is 192.0.2.1) smtp.mailfrom=contoso.com; dkim=pass ... header.d=contoso.com;
	 * dmarc=pass action=none header.from=contoso.com;compauth=pass reason=100"): the topmost
	 * header without an authserv-id (its first word is followed by '='). Exchange Online adds
	 * it on top when the mail arrives, so whatever the sender wrote is below it (in delivered
	 * mail those are renamed Authentication-Results-Original, a header not read here); headers
	 * with an authserv-id are another MTA's and ignored. "action" gives the DMARC policy;
	 * compauth, Microsoft's own guess, proves nothing. */
	AUTHRES_MICROSOFT365,
};

/* Whose Authentication-Results speak for the desk. */
struct authres_border {
	enum authres_dialect dialect;
	const char *authserv_id; /* AUTHRES_RFC8601: the trusted authserv-id */
};

enum authres_result {
	AUTHRES_NONE, /* nothing proves the domain, nothing says it failed */
	/* the From domain is proven: DMARC passed for it, or a DKIM signature or the SPF
	 * envelope domain that aligns with it passed (which proves it too where the domain has
	 * no DMARC record) */
	AUTHRES_PASS,
	/* the trusted border says the From domain failed: dmarc=fail (with header.from equal to
	 * the From domain, or none), or dkim=fail whose d aligns with it. A fail anywhere in the
	 * header that counts outweighs a pass elsewhere in it. An aligned spf=fail alone is no
	 * fail: forwarding does that to honest mail, and DMARC itself passes such mail when DKIM
	 * aligns; a domain that wants it refused publishes DMARC, whose fail is one. */
	AUTHRES_FAIL,
};

/* The DMARC result for the From domain, from a dmarc resinfo whose header.from is the From
 * domain (or that names none; a pass must name it). A fail outweighs a pass, a pass an error,
 * an error "none". */
enum authres_dmarc {
	AUTHRES_DMARC_ABSENT, /* no dmarc result about the From domain */
	AUTHRES_DMARC_NONE,   /* no DMARC record (Microsoft 365's "bestguesspass" too) */
	AUTHRES_DMARC_PASS,
	AUTHRES_DMARC_FAIL,
	AUTHRES_DMARC_TEMPERROR,
	AUTHRES_DMARC_PERMERROR,
};

/* The DMARC policy the producer reports for the From domain, as each writes it: OpenDMARC's
 * and Gmail's comment "(p=reject ...)" (Gmail's sp= is not taken: it does not say which one
 * applied), rspamd's "(policy=reject)", authentication_milter's
 * policy.published-domain-policy (or -subdomain-policy when policy.policy-from=sp),
 * policy.dmarc, polrec.p, and Microsoft 365's action= (oreject, pct.reject: reject;
 * pct.quarantine: quarantine; none on a fail: none). */
enum authres_policy {
	AUTHRES_POLICY_UNKNOWN,
	AUTHRES_POLICY_NONE,
	AUTHRES_POLICY_QUARANTINE,
	AUTHRES_POLICY_REJECT,
};

#define AUTHRES_DOMAIN_SIZE 256
#define AUTHRES_WHY_SIZE    256

/* What the header that counts says of the From domain, read in one pass. */
struct authres_verdict {
	enum authres_result result;
	gboolean found; /* the border's header was there and was read */
	enum authres_dmarc dmarc;
	enum authres_policy policy;
	/* aligned (relaxed: the From domain is d, or a subdomain of it; a d without a dot never
	 * aligns) DKIM signatures that passed and failed */
	gboolean dkim_pass, dkim_fail;
	/* SPF whose smtp.mailfrom (an address or a domain) aligns the same way; an SPF result
	 * for an unaligned domain (or only smtp.helo) proves nothing. spf_fail is "fail" only. */
	gboolean spf_pass, spf_fail;
	/* lower case: on AUTHRES_PASS the domain whose authentication proves the From (DMARC's
	 * header.from, DKIM's d, the envelope domain), on AUTHRES_FAIL the From domain; empty
	 * otherwise */
	char domain[AUTHRES_DOMAIN_SIZE];
	/* one line saying what was found, printable ASCII: "dmarc=fail (p=reject)
	 * header.from=example.com by mx.desk", "dkim=pass header.d=example.org by mx.desk",
	 * "no Authentication-Results from Microsoft 365", ... */
	char why[AUTHRES_WHY_SIZE];
};

/* values: every Authentication-Results header value of the message, raw (unfolded, never
 * RFC 2047-decoded: mail_header_raw()), top first, NULL-terminated (NULL is none). Fills *v_r
 * from the header of border that counts (enum authres_dialect) for from_domain. Domains compare
 * without case and without a trailing dot.
 *
 * When that header is over AUTHRES_MAX_VALUE, nothing is proven (the ones below it still do
 * not count). One that holds an encoded-word proves nothing: no producer writes one, so it
 * came from the sender. This relies on the border doing what RFC 8601 section 5 says, and on
 * it writing what the sender controls (envelope sender, HELO name) as values or quoted strings,
 * so that it cannot become syntax: a quoted string inside a comment (rspamd's SPF comment
 * quotes the envelope sender) is read as one, so a ')' or ';' in it ends nothing. */
void authres_read(const char *const *values, const struct authres_border *border,
		  const char *from_domain, struct authres_verdict *v_r);

/* authres_read() with the RFC 8601 border trusted_authserv_id, for its result alone. *why_r
 * (may be NULL) gets the verdict's why in a thread-local buffer that the next call from the
 * same thread overwrites; do not free it. */
enum authres_result authres_from_verdict(const char *const *values, const char *trusted_authserv_id,
					 const char *from_domain, const char **why_r);

/* TRUE when authres_from_verdict() says AUTHRES_PASS; *why_r as there. */
gboolean authres_from_proven(const char *const *values, const char *trusted_authserv_id,
			     const char *from_domain, const char **why_r);

/* "none", "pass", "fail", "temperror", "permerror" or "" (absent). Static. */
const char *authres_dmarc_name(enum authres_dmarc dmarc);

/* "none", "quarantine", "reject" or "" (unknown). Static. */
const char *authres_policy_name(enum authres_policy policy);

#endif
