/* Unit tests of ticket.c: formatting, parsing and finding "[INC-000123]" tags in subjects. */
#include "ticket.h"

#include "testlib.h"

#include <string.h>

static void test_prefix(void **state)
{
	(void)state;
	assert_string_equal(ticket_prefix(SPOC_KIND_INCIDENT), "INC");
	assert_string_equal(ticket_prefix(SPOC_KIND_REQUEST), "REQ");
}

static void test_format(void **state)
{
	char out[32];

	(void)state;
	ticket_format(SPOC_KIND_INCIDENT, 123, out, sizeof(out));
	assert_string_equal(out, "INC-000123");
	ticket_format(SPOC_KIND_REQUEST, 124, out, sizeof(out));
	assert_string_equal(out, "REQ-000124");
	ticket_format(SPOC_KIND_INCIDENT, 999999, out, sizeof(out));
	assert_string_equal(out, "INC-999999");
	ticket_format(SPOC_KIND_REQUEST, 1234567, out, sizeof(out));
	assert_string_equal(out, "REQ-1234567");
	ticket_format(SPOC_KIND_INCIDENT, INT64_MAX, out, sizeof(out));
	assert_string_equal(out, "INC-9223372036854775807");
}

static void test_parse(void **state)
{
	enum spoc_kind kind = SPOC_KIND_INCIDENT;
	int64_t number = 0;

	(void)state;
	assert_true(ticket_parse("INC-000123", &kind, &number));
	assert_int_equal(kind, SPOC_KIND_INCIDENT);
	assert_int_equal(number, 123);
	assert_true(ticket_parse("req-42", &kind, &number));
	assert_int_equal(kind, SPOC_KIND_REQUEST);
	assert_int_equal(number, 42);
	assert_true(ticket_parse(" Inc-1234567 ", &kind, &number));
	assert_int_equal(kind, SPOC_KIND_INCIDENT);
	assert_int_equal(number, 1234567);
	assert_true(ticket_parse("REQ-000001", NULL, NULL));

	assert_false(ticket_parse("INC-", &kind, &number));
	assert_false(ticket_parse("INC-000000", &kind, &number));
	assert_false(ticket_parse("INC-12a", &kind, &number));
	assert_false(ticket_parse("INC 123", &kind, &number));
	assert_false(ticket_parse("CHG-000123", &kind, &number));
	assert_false(ticket_parse("[INC-000123]", &kind, &number));
	assert_false(ticket_parse("INC-1234567890123456789", &kind, &number)); /* overflow */
	assert_false(ticket_parse("", &kind, &number));
	assert_false(ticket_parse(NULL, &kind, &number));
	/* outputs untouched on failure */
	assert_int_equal(kind, SPOC_KIND_INCIDENT);
	assert_int_equal(number, 1234567);
}

static void test_round_trip(void **state)
{
	static const int64_t numbers[] = {1, 7, 999999, 1000000, 123456789012};
	char out[32];

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(numbers); i++) {
		for (int k = SPOC_KIND_INCIDENT; k <= SPOC_KIND_REQUEST; k++) {
			enum spoc_kind kind;
			int64_t number;

			ticket_format((enum spoc_kind)k, numbers[i], out, sizeof(out));
			assert_true(ticket_parse(out, &kind, &number));
			assert_int_equal(kind, k);
			assert_int_equal(number, numbers[i]);
		}
	}
}

static void test_find_tag(void **state)
{
	enum spoc_kind kind = SPOC_KIND_INCIDENT;
	int64_t number = 0;

	(void)state;
	assert_true(ticket_find_tag("Re: [INC-000123] La impresora no funciona", &kind, &number));
	assert_int_equal(kind, SPOC_KIND_INCIDENT);
	assert_int_equal(number, 123);
	assert_true(ticket_find_tag("RE: RE: Alta de usuario [req-000124]", &kind, &number));
	assert_int_equal(kind, SPOC_KIND_REQUEST);
	assert_int_equal(number, 124);
	/* the first well-formed tag wins; broken ones before it are skipped */
	assert_true(ticket_find_tag("[urgent] [INC-12x] [INC-] [REQ-0000777] [INC-000001]", &kind,
				    &number));
	assert_int_equal(kind, SPOC_KIND_REQUEST);
	assert_int_equal(number, 777);
	assert_true(ticket_find_tag("[INC-1234567]", NULL, NULL));

	assert_false(ticket_find_tag("INC-000123 without brackets", &kind, &number));
	assert_false(ticket_find_tag("[INC-000123 unclosed", &kind, &number));
	assert_false(ticket_find_tag("[ INC-000123 ]", &kind, &number));
	assert_false(ticket_find_tag("[INC-000000]", &kind, &number));
	assert_false(ticket_find_tag("", &kind, &number));
	assert_false(ticket_find_tag(NULL, &kind, &number));
	assert_false(ticket_find_tag("[[[[", &kind, &number));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix),   cmocka_unit_test(test_format),
	    cmocka_unit_test(test_parse),    cmocka_unit_test(test_round_trip),
	    cmocka_unit_test(test_find_tag),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
