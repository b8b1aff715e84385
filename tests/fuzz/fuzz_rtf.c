/* libFuzzer target for rtf.c: the bytes as compressed RTF under a cap taken from the first byte,
 * then what came out, and the bytes themselves, as RTF to read (both cut to 16 KiB, which keeps
 * it to some tens of runs a second: the reader converts each run of 8-bit text on its own). Beyond
 * crashes, leaks and hangs, it traps when rtf_decompress() writes past its cap or the declared
 * size, refuses without a reason, or says nothing of a flaw it reports, and when rtf_to_text()
 * gives invalid UTF-8. */
#include "rtf.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void read_text(const void *rtf, size_t len)
{
	char *text = rtf_to_text(rtf, len);

	if (!g_utf8_validate(text, -1, NULL))
		__builtin_trap();
	g_free(text);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct errbuf err = {""};
	GByteArray *rtf = NULL;
	unsigned flaws = 0;
	size_t max_out;
	guint32 raw;

	read_text(data, MIN(size, (size_t)16384));
	if (size == 0)
		return 0;
	max_out = (size_t)data[0] * 64 + 1;
	raw = size >= 9 ? (guint32)data[5] | (guint32)data[6] << 8 | (guint32)data[7] << 16 |
			      (guint32)data[8] << 24
			: 0;
	if (rtf_decompress(data + 1, size - 1, max_out, &rtf, &flaws, &err) != SPOC_OK) {
		if (rtf != NULL || err.msg[0] == '\0')
			__builtin_trap();
		return 0;
	}
	if (rtf->len > max_out || rtf->len > raw || (flaws == 0) != (err.msg[0] == '\0'))
		__builtin_trap();
	read_text(rtf->data, rtf->len);
	g_byte_array_unref(rtf);
	return 0;
}
