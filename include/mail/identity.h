/* When two mails are the same message. A mail delivered twice (a retry, a second route, an
 * alias that expands to the help address twice) differs only in what delivery added on the way:
 * trace fields such as Received, Return-Path and Delivered-To. A different mail can reuse a
 * Message-ID (a broken mailer, or a stranger who sends a predicted one first), so a Message-ID
 * alone never says two mails are one. Pure: no I/O, only GLib. */
#ifndef SPOC_IDENTITY_H
#define SPOC_IDENTITY_H

#include <glib.h>

/* Digests of one raw message (any line ends), each 64 lowercase hex digits and a NUL:
 * body_r   SHA-256 of the body (the bytes after the first empty line), with CR LF read as LF;
 * content_r SHA-256 of the header fields that are not trace fields (identity_is_trace()), each
 *           as its lower-case name, ':', and its value unfolded with every run of blanks made
 *           one space and trimmed, in order, then the body digest. A message without a header
 *           block (no empty line) is all header. Linear time, constant extra memory. */
void identity_digests(const char *raw, size_t len, char body_r[65], char content_r[65]);

/* TRUE for the header fields delivery adds or rewrites on the way to the mailbox, by name
 * without case: Received, Return-Path, Delivered-To, X-Original-To, Envelope-To,
 * X-Envelope-To, X-Delivered-To, X-Received, Received-SPF, Authentication-Results, ARC-Seal,
 * ARC-Message-Signature, ARC-Authentication-Results, and the spam filters' X-Spam-* and
 * X-Virus-*. */
gboolean identity_is_trace(const char *name, size_t n);

#endif
