/* Unit test of mime_text.c's base64 decoder for bodies and attachments (LIBRARY-DEFECTS.md #2:
 * padded chunks one after another), against a reference written the slow, obvious way. */
#include "../../src/mail/mime_priv.h"

#include "testlib.h"

/* The decoder as it was first written (a search of the alphabet for every character), kept
 * here as the reference the table-driven one must agree with byte for byte. */
static void b64_reference(const char *in, size_t len, GByteArray *out)
{
	static const char alphabet[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	guint32 acc = 0;
	int n = 0;

	for (size_t i = 0; i <= len; i++) {
		const char *pos = i < len && in[i] != '\0' ? strchr(alphabet, in[i]) : NULL;
		guint8 b[3];

		if (pos != NULL) {
			acc = acc << 6 | (guint32)(pos - alphabet);
			if (++n < 4)
				continue;
		} else if (i < len && in[i] != '=') {
			continue;
		}
		acc <<= 6 * (4 - n);
		b[0] = (guint8)(acc >> 16);
		b[1] = (guint8)(acc >> 8);
		b[2] = (guint8)acc;
		g_byte_array_append(out, b, (guint)(n * 3 / 4));
		acc = 0;
		n = 0;
	}
}

/* Defect #2's decoder against the reference: base64 of random bytes cut into lines, padded
 * chunks one after another, and random mixtures of digits, padding, line breaks, NULs and
 * garbage; appended after bytes already in the array. */
static void test_b64_decoder(void **state)
{
	static const char noise[] = "ABCxyz019+/=\r\n \t\0-*.\xc3\xa9";
	GRand *r = g_rand_new_with_seed(2);

	(void)state;
	for (int round = 0; round < 3000; round++) {
		GString *in = g_string_new(NULL);
		GByteArray *want = g_byte_array_new(), *got = g_byte_array_new();
		guint8 raw[200];
		size_t n = (size_t)g_rand_int_range(r, 0, sizeof(raw));

		if (round % 3 == 0) {
			for (size_t i = 0; i < n; i++)
				raw[i] = (guint8)g_rand_int_range(r, 0, 256);
			for (int chunk = g_rand_int_range(r, 1, 4); chunk > 0; chunk--) {
				char *enc = g_base64_encode(raw, n / (size_t)chunk);

				for (const char *p = enc; *p != '\0'; p++) {
					g_string_append_c(in, *p);
					if ((p - enc) % 76 == 75)
						g_string_append(in, "\r\n");
				}
				g_free(enc);
			}
		} else {
			for (size_t i = 0; i < n; i++)
				g_string_append_c(
				    in, noise[g_rand_int_range(r, 0, sizeof(noise) - 1)]);
		}
		g_byte_array_append(want, (const guint8 *)"kept", 4);
		g_byte_array_append(got, (const guint8 *)"kept", 4);
		b64_reference(in->str, in->len, want);
		mime_b64_decode_chunked(in->str, in->len, got);
		assert_int_equal(got->len, want->len);
		assert_memory_equal(got->data, want->data, want->len);
		g_byte_array_unref(want);
		g_byte_array_unref(got);
		g_string_free(in, TRUE);
	}
	g_rand_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_b64_decoder),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
