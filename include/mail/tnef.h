/* Outlook's winmail.dat (application/ms-tnef): the files and the text it wraps. */
#ifndef SPOC_TNEF_H
#define SPOC_TNEF_H

#include "spoc.h"

#include <glib.h>
#include <stddef.h>

/* Longest TNEF stream tnef_unpack() reads; libytnef counts in int. */
#define TNEF_MAX_LEN (1024 * 1024 * 1024)
/* Most bytes of compressed RTF decompressed for the message's text (rtf_decompress()), whatever
 * the caller allows. A body's rich text is some tens of KiB; a crafted one expands eightfold and
 * declares what it likes (libytnef passes values of up to 512 KiB: 4 MiB of RTF). */
#define TNEF_MAX_RTF_BYTES (2 * 1024 * 1024)

struct tnef_file {
	char *name; /* valid UTF-8 as the sender named it, not sanitized (the caller does that), or
		       NULL when it had none */
	char *content_type; /* lower case "type/subtype": the attachment's MIME tag, else guessed
			       from the name's extension, else application/octet-stream; an
			       embedded Outlook message is application/ms-tnef (a TNEF stream the
			       caller may unpack in turn) */
	GBytes *data;
};

/* Unpacks a TNEF stream of len bytes (not modified; libytnef only ever sees private copies of
 * parts of it). Returns SPOC_OK with *files_r a new GPtrArray of struct tnef_file * in the
 * stream's order (free func tnef_file_free; may be empty) and, when body_r is not NULL, *body_r
 * the message's own text as valid UTF-8 with \n line ends (from PR_BODY, the down-level body,
 * compressed RTF or PR_BODY_HTML, in that order of preference) or NULL when it has none; both
 * owned by the caller.
 *
 * Limits (0: none): once max_files files are returned the remaining attachments are left out,
 * and so is each file that would take the total of the returned files' bytes over
 * max_total_bytes (a later, smaller file may still fit). Files left out for a limit, and
 * attachments or a body that libytnef could not read, do not fail the call: on SPOC_OK err->msg
 * is "" when everything was unpacked, else one line saying what was left out and why, for the
 * caller's list of limits hit. The body does not count against those limits: it is bounded by
 * the input, and compressed RTF by max_rtf_bytes of decompressed RTF (0, or more than
 * TNEF_MAX_RTF_BYTES: TNEF_MAX_RTF_BYTES); the text past that is left out, and err->msg says so
 * with "rich text" in it.
 *
 * Returns SPOC_EPERM with the reason in err, and *files_r and *body_r NULL, for bytes that are not
 * TNEF, are truncated or corrupt (bad lengths or checksums, an attribute repeated), or are over
 * TNEF_MAX_LEN. Never SPOC_ETEMP. Memory stays within a small multiple of len. */
int tnef_unpack(const void *data, size_t len, size_t max_files, size_t max_total_bytes,
		size_t max_rtf_bytes, GPtrArray **files_r, char **body_r, struct errbuf *err);

/* Frees one struct tnef_file (a GDestroyNotify, for the GPtrArray). */
void tnef_file_free(gpointer file);

#endif
