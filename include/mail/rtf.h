/* Outlook's rich text: compressed RTF (MS-OXRTFCP, the PR_RTF_COMPRESSED property of a TNEF
 * message) decompressed within a size the caller gives, RTF turned into the text a person reads,
 * and 8-bit text in the Windows code pages both name. Pure: no I/O. */
#ifndef SPOC_RTF_H
#define SPOC_RTF_H

#include "spoc.h"

#include <glib.h>
#include <stddef.h>

/* What rtf_decompress() found wrong with an input it still read (bits of *flaws_r). */
enum {
	RTF_CAPPED = 1 << 0,	    /* the output reached max_out with more to come: cut there */
	RTF_CUT_SHORT = 1 << 1,	    /* the input ends before its end marker (stored: its size) */
	RTF_BAD_CRC = 1 << 2,	    /* the CRC field does not match the compressed bytes */
	RTF_SIZE_MISMATCH = 1 << 3, /* the declared raw size is not what the data holds: cut at it
				     * when there is more, all there is when there is less */
};

/* Decompresses a compressed-RTF value of len bytes: a 16-byte header (compressed size, raw size,
 * "LZFu" for compressed or "MELA" for stored, CRC) and its data. Never reads past len and never
 * writes more than max_out bytes, nor more than the declared raw size; that size is the sender's
 * word, so only max_out bounds the memory (the format itself expands eightfold at most).
 *
 * Returns SPOC_OK with *rtf_r the RTF (caller g_byte_array_unref()s; may be empty), *flaws_r (may
 * be NULL) the RTF_* bits of what was wrong but read anyway, and err->msg "" when nothing was,
 * else one line saying what, for the caller to pass on. Returns SPOC_EPERM with *rtf_r NULL and
 * the reason in err for input that is not compressed RTF: shorter than its header, or of
 * another type. Never SPOC_ETEMP. err may be NULL. */
int rtf_decompress(const void *data, size_t len, size_t max_out, GByteArray **rtf_r,
		   unsigned *flaws_r, struct errbuf *err);

/* The plain text of an RTF document of len bytes: its text with \par as line ends, without font
 * tables, pictures, fields' instructions and the like; the text of encapsulated HTML (\fromhtml)
 * goes through html_to_text(). Not a full RTF reader: tables come out as tab-separated lines.
 * Valid UTF-8, never NULL; caller g_free()s. Linear in len, nesting included. */
char *rtf_to_text(const void *rtf, size_t len);

/* 8-bit text in Windows code page cp (0: 1252) up to its first NUL or n bytes, as valid UTF-8.
 * Text that is not valid in cp is taken as UTF-8 if it is that, else as Windows-1252, else
 * Latin-1. Caller g_free()s. */
char *rtf_codepage_to_utf8(const void *s, size_t n, guint32 cp);

#endif
