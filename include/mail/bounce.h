/* Reading bounces: RFC 3464 delivery status notifications and the home-made failure reports of
 * MTAs that send none (qmail, Exim, Postfix without DSN, Exchange, webmail providers...), turned
 * into what the desk needs to know: which message of ours failed, for whom, for good or for now,
 * and why. Pure: no I/O. */
#ifndef SPOC_BOUNCE_H
#define SPOC_BOUNCE_H

#include "mime.h"

struct bounce_report {
	/* TRUE for a failure (5.x.x, Action: failed, or no status at all); FALSE for a delay or
	 * warning (4.x.x, Action: delayed) or a report of success */
	gboolean permanent;
	char *original_message_id; /* of the message that bounced, without <>; NULL if not found */
	GPtrArray *recipients;	   /* char *, lower-case addr-specs that failed (or were delayed) */
	char *status;		   /* RFC 3463 code such as "5.1.1", or NULL */
	char *diagnostic; /* one readable line (Diagnostic-Code or the MTA's sentence), valid UTF-8,
			   * at most BOUNCE_DIAGNOSTIC_MAX bytes, or NULL */
	/* TOKEN when the bounce was addressed (To, Delivered-To, X-Original-To, Envelope-To) to
	 * <verp_local>+TOKEN@... or <verp_local>-TOKEN@...; NULL otherwise */
	char *verp_token;
};

#define BOUNCE_DIAGNOSTIC_MAX 300

/* TRUE when the mail is a bounce: an RFC 3464 DSN (a message/delivery-status part), or a
 * recognisable non-standard one (a machine sender such as mailer-daemon, postmaster or the null
 * Return-Path, together with a failure subject or text, a returned message, or our VERP
 * address). Then r is filled (strings owned by r: free with bounce_report_clear()). FALSE
 * otherwise, with r cleared. verp_local is the local part of spocd's envelope sender (e.g.
 * "help-bounces"), or NULL. Bounded work on hostile input: at most the first 256 KiB of any part
 * is read. r need not be initialised. */
gboolean bounce_parse(const struct mail *mail, const char *verp_local, struct bounce_report *r);

/* Frees what r holds and zeroes it; r may be zeroed already. */
void bounce_report_clear(struct bounce_report *r);

/* A static description (e.g. "bounce subject \"Undelivered Mail Returned to Sender\"") when the
 * subject is one that MTAs give their failure and delay reports, else NULL. subject may be NULL. */
const char *bounce_subject_why(const char *subject);

#endif
