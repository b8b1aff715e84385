/* Unit test of the project's SHA-256 (errbuf.c, through nettle): the digests are stored with every
 * message and compared with those of rows written before, so they must be GLib's byte for byte,
 * whether the data comes at once or in pieces, and reading the digest so far must not disturb
 * what follows. */
#include "spoc.h"

#include "testlib.h"

static void test_sha256_as_glib(void **state)
{
	GRand *r = g_rand_new_with_seed(256);

	(void)state;
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)g_rand_int_range(r, 0, round < 200 ? 300 : 70000);
		guint8 *data = g_malloc(n + 1);
		char one[65], pieces[65], half[65];
		struct spoc_sha256 *sha = spoc_sha256_new();
		size_t at = 0;
		gboolean halfway = FALSE;

		for (size_t i = 0; i < n; i++)
			data[i] = (guint8)g_rand_int_range(r, 0, 256);
		char *want = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, n);
		char *want_half = g_compute_checksum_for_data(G_CHECKSUM_SHA256, data, n / 2);

		spoc_sha256_hex(data, n, one);
		assert_string_equal(one, want);
		while (at < n) {
			size_t k = (size_t)g_rand_int_range(r, 1, 200);

			k = MIN(k, n - at);

			if (!halfway && at + k > n / 2) {
				/* stop exactly at half: the digest so far, then go on */
				k = n / 2 - at;
				spoc_sha256_update(sha, data + at, k);
				at += k;
				spoc_sha256_so_far(sha, half);
				assert_string_equal(half, want_half);
				halfway = TRUE;
				continue;
			}
			spoc_sha256_update(sha, data + at, k);
			at += k;
		}
		spoc_sha256_so_far(sha, pieces);
		assert_string_equal(pieces, want);
		spoc_sha256_free(sha);
		g_free(want);
		g_free(want_half);
		g_free(data);
	}
	g_rand_free(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sha256_as_glib),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
