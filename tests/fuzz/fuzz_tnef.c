/* libFuzzer target for tnef_unpack(): the bytes as they come, then the same bytes with every
 * attribute checksum made right, so that mutations get past the framing check into libytnef's
 * property parser and the RTF reader; embedded messages are unpacked in turn, as a caller may. */
#include "tnef.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* libytnef prints to stdout about corrupt input whatever its Debug flag says */
	if (freopen("/dev/null", "w", stdout) == NULL)
		return 0;
	return 0;
}

static void fix_checksums(uint8_t *p, size_t len)
{
	size_t off = 6;

	while (len >= 11 && off <= len - 11) {
		uint32_t n =
		    p[off + 5] | p[off + 6] << 8 | p[off + 7] << 16 | (uint32_t)p[off + 8] << 24;
		uint16_t sum = 0;

		if (n > len - off - 11)
			return;
		for (uint32_t i = 0; i < n; i++)
			sum = (uint16_t)(sum + p[off + 9 + i]);
		p[off + 9 + n] = (uint8_t)sum;
		p[off + 10 + n] = (uint8_t)(sum >> 8);
		off += 11 + (size_t)n;
	}
}

static void unpack(const uint8_t *data, size_t size, int depth)
{
	GPtrArray *files;
	struct errbuf err;
	size_t total = 0;
	char *body;

	if (tnef_unpack(data, size, 50, 8 * 1024 * 1024, 0, &files, &body, &err) != SPOC_OK)
		return;
	if (body != NULL && !g_utf8_validate(body, -1, NULL))
		__builtin_trap();
	for (guint i = 0; i < files->len; i++) {
		const struct tnef_file *f = files->pdata[i];
		gsize len;
		const uint8_t *bytes = g_bytes_get_data(f->data, &len);

		if ((f->name != NULL && !g_utf8_validate(f->name, -1, NULL)) ||
		    strchr(f->content_type, '/') == NULL)
			__builtin_trap();
		total += len;
		if (depth < 3 && strcmp(f->content_type, "application/ms-tnef") == 0)
			unpack(bytes, len, depth + 1);
	}
	if (total > size)
		__builtin_trap();
	g_ptr_array_unref(files);
	g_free(body);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *copy;

	unpack(data, size, 0);
	copy = g_memdup2(data, size);
	if (copy == NULL)
		return 0;
	fix_checksums(copy, size);
	unpack(copy, size, 0);
	g_free(copy);
	return 0;
}
