/* Pure decisions about one parsed mail: is it automatic (never acknowledged) and of which kind,
 * and which language should we answer in. Incident or request is rules.c's. No I/O. */
#ifndef SPOC_CLASSIFY_H
#define SPOC_CLASSIFY_H

#include "mime.h"

/* What classify_automatic() needs to know about the desk itself. */
struct classify_auto_ctx {
	/* the desk's own addresses, lower case, NULL-terminated (the whole pointer may be NULL):
	 * mail From one of these is our own */
	const char *const *desk_addresses;
	/* the domain of the Message-IDs spocd mints (NULL: none): a mail whose own Message-ID is
	 * one of ours ("spocd." prefix, ending in "@this") is our own notification come back; a
	 * reply that merely refers to such an id (In-Reply-To, References) is not automatic for
	 * that, nor is a colleague's mail whose client made its id from the same domain */
	const char *message_id_domain;
	/* List-Id, List-Unsubscribe and List-Post mark mail as bulk (the default, TRUE); a desk
	 * that takes tickets from a mailing list turns this off */
	gboolean lists_are_automatic;
};

/* Who sent a mail, as far as its auto-reply manners go. */
enum classify_auto_kind {
	CLASSIFY_PERSON = 0, /* a person wrote it: answer it */
	CLASSIFY_AUTO_REPLY, /* out-of-office, vacation, auto-acknowledgement */
	CLASSIFY_BOUNCE,     /* a delivery status notification or a non-standard bounce */
	CLASSIFY_BULK,	     /* mailing lists, bulk, junk, newsletters */
	CLASSIFY_OURS,	     /* our own mail come back: a loop */
	CLASSIFY_OTHER_AUTO, /* other machine mail: Auto-Submitted: auto-generated, no-reply
			      * senders, read receipts, abuse reports... */
};

/* What kind of sender wrote the mail. Bounces are recognised first (so the caller can hand them to
 * bounce_parse()), then our own mail, auto-replies, bulk mail and other machine mail. *why_r
 * (may be NULL) gets a static string naming the rule and the header or text that decided, e.g.
 * "Auto-Submitted: auto-replied", "out-of-office subject (es)"; for CLASSIFY_PERSON, a static
 * "no automatic-mail rule matched". ctx may be NULL (no desk addresses, no Message-ID domain,
 * lists automatic). */
enum classify_auto_kind classify_automatic(const struct mail *mail,
					   const struct classify_auto_ctx *ctx, const char **why_r);

/* A static lower-case name for a kind ("person", "auto-reply", "bounce", "bulk", "ours",
 * "other-auto"), for logs and tickets. */
const char *classify_auto_kind_name(enum classify_auto_kind kind);

/* "es" or "en", from the words of the subject and text, else from the Content-Language (or
 * Accept-Language) the mail declares; dflt when undecided. Static string. */
const char *classify_language(const struct mail *mail, const char *dflt);

#endif
