/* Unit tests of commands.c: every command word and value in English and Spanish, with case,
 * accents, colons and extra blanks; where the block ends; the error texts in both languages;
 * repeated commands; and that hostile input (long lines, many lines, bad UTF-8) stays bounded. */

#include "commands.h"

#include "testlib.h"

#include <string.h>

/* Fails unless text gives exactly one command, of kind with value, and no errors. */
static void expect_one(const char *text, enum command_kind kind, const char *value)
{
	struct command_block b;

	commands_parse(text, "en", &b);
	if (b.commands->len != 1 || b.errors->len != 0)
		fail_msg("\"%s\": %u commands, %u errors (%s)", text, b.commands->len,
			 b.errors->len,
			 b.errors->len > 0 ? (char *)g_ptr_array_index(b.errors, 0) : "");
	struct command *c = g_ptr_array_index(b.commands, 0);
	if (c->kind != kind || g_strcmp0(c->value, value) != 0)
		fail_msg("\"%s\": kind %d value \"%s\", want %d \"%s\"", text, c->kind,
			 c->value ? c->value : "(null)", kind, value ? value : "(null)");
	command_block_clear(&b);
}

/* Fails unless text gives no command and exactly the error want in lang. */
static void expect_error(const char *text, const char *lang, const char *want)
{
	struct command_block b;

	commands_parse(text, lang, &b);
	if (b.commands->len != 0 || b.errors->len != 1)
		fail_msg("\"%s\": %u commands, %u errors", text, b.commands->len, b.errors->len);
	if (strcmp(g_ptr_array_index(b.errors, 0), want) != 0)
		fail_msg("\"%s\"\n  got  \"%s\"\n  want \"%s\"", text,
			 (char *)g_ptr_array_index(b.errors, 0), want);
	command_block_clear(&b);
}

static void test_status(void **state)
{
	(void)state;
	expect_one("#status new", COMMAND_STATUS, "new");
	expect_one("#status in-progress", COMMAND_STATUS, "in-progress");
	expect_one("#status in progress", COMMAND_STATUS, "in-progress");
	expect_one("#status inprogress", COMMAND_STATUS, "in-progress");
	expect_one("#status In_Progress", COMMAND_STATUS, "in-progress");
	expect_one("#status pending", COMMAND_STATUS, "pending");
	expect_one("#status resolved", COMMAND_STATUS, "resolved");
	expect_one("#status closed", COMMAND_STATUS, "closed");
	expect_one("#estado nuevo", COMMAND_STATUS, "new");
	expect_one("#estado en-curso", COMMAND_STATUS, "in-progress");
	expect_one("#estado en curso", COMMAND_STATUS, "in-progress");
	expect_one("#estado pendiente", COMMAND_STATUS, "pending");
	expect_one("#estado resuelto", COMMAND_STATUS, "resolved");
	expect_one("#estado cerrado", COMMAND_STATUS, "closed");
	/* case, colon, blanks, and either language's values under either word */
	expect_one("#ESTADO Resuelto", COMMAND_STATUS, "resolved");
	expect_one("#Status: RESOLVED", COMMAND_STATUS, "resolved");
	expect_one("#status : resolved", COMMAND_STATUS, "resolved");
	expect_one("   #status\t\t  closed   \r", COMMAND_STATUS, "closed");
	expect_one("#status cerrado", COMMAND_STATUS, "closed");
	expect_one("#estado:pending", COMMAND_STATUS, "pending");
	/* no-break spaces, as Outlook writes them */
	expect_one("\xc2\xa0#status\xc2\xa0in\xc2\xa0progress\xc2\xa0", COMMAND_STATUS,
		   "in-progress");
	expect_one("#asignar\xc2\xa0"
		   "ana\xc2\xa0",
		   COMMAND_ASSIGN, "ana");
}

static void test_priority_kind_internal(void **state)
{
	(void)state;
	for (int i = 1; i <= 5; i++) {
		char want[2] = {(char)('0' + i), '\0'};
		char *a = g_strdup_printf("#priority P%d", i);
		char *b = g_strdup_printf("#prioridad %d", i);
		char *c = g_strdup_printf("#PRIORITY: p%d", i);

		expect_one(a, COMMAND_PRIORITY, want);
		expect_one(b, COMMAND_PRIORITY, want);
		expect_one(c, COMMAND_PRIORITY, want);
		g_free(a);
		g_free(b);
		g_free(c);
	}
	expect_one("#kind incident", COMMAND_KIND, "incident");
	expect_one("#kind Request", COMMAND_KIND, "request");
	expect_one("#tipo incidente", COMMAND_KIND, "incident");
	expect_one("#tipo incidencia", COMMAND_KIND, "incident");
	expect_one("#tipo solicitud", COMMAND_KIND, "request");
	expect_one("#tipo petición", COMMAND_KIND, "request");
	expect_one("#internal", COMMAND_INTERNAL, NULL);
	expect_one("#INTERNO", COMMAND_INTERNAL, NULL);
	expect_one("#interno:", COMMAND_INTERNAL, NULL);
}

static void test_assign(void **state)
{
	(void)state;
	expect_one("#assign ana@desk.example.org", COMMAND_ASSIGN, "ana@desk.example.org");
	expect_one("#asignar  Ana García  ", COMMAND_ASSIGN, "Ana García");
	expect_one("#Asignar: jlopez", COMMAND_ASSIGN, "jlopez");
}

static void test_accents(void **state)
{
	(void)state;
	/* accents on the word and on the value, precomposed and combining */
	expect_one("#prioridád 3", COMMAND_PRIORITY, "3");
	expect_one("#estado resuélto", COMMAND_STATUS, "resolved");
	expect_one("#estado resue\xcc\x81lto", COMMAND_STATUS, "resolved");
	expect_one("#ÉSTADO CERRADO", COMMAND_STATUS, "closed");
	expect_one("#intérno", COMMAND_INTERNAL, NULL);
	expect_one("#tipo SOLICITÚD", COMMAND_KIND, "request");
}

static void test_block(void **state)
{
	struct command_block b;

	(void)state;
	commands_parse("\n\n#status resolved\n\n#priority 2\r\n  \n#assign ana\n#internal\n\n"
		       "Hello, the printer is fixed.\n#kind request\n\nRegards\n",
		       "en", &b);
	assert_int_equal(b.commands->len, 4);
	assert_int_equal(b.errors->len, 0);
	struct command *c = g_ptr_array_index(b.commands, 0);
	assert_int_equal(c->kind, COMMAND_STATUS);
	assert_string_equal(c->line, "#status resolved");
	c = g_ptr_array_index(b.commands, 1);
	assert_int_equal(c->kind, COMMAND_PRIORITY);
	assert_string_equal(c->line, "#priority 2");
	c = g_ptr_array_index(b.commands, 2);
	assert_int_equal(c->kind, COMMAND_ASSIGN);
	assert_string_equal(c->value, "ana");
	c = g_ptr_array_index(b.commands, 3);
	assert_int_equal(c->kind, COMMAND_INTERNAL);
	/* a command after the text is the requester's text, not a command */
	assert_string_equal(b.rest, "Hello, the printer is fixed.\n#kind request\n\nRegards");
	command_block_clear(&b);
	command_block_clear(&b);

	/* no commands: rest is the whole text, trimmed */
	commands_parse("\n  Thanks!\n#status resolved\n", "en", &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, 0);
	assert_string_equal(b.rest, "Thanks!\n#status resolved");
	command_block_clear(&b);

	/* a '#' line that is no command word ends the block and is no error */
	const char *enders[] = {"#123 see above",   "#statuses resolved", "# status resolved", "#",
				"#status,resolved", "#hashtag #status"};
	for (size_t i = 0; i < G_N_ELEMENTS(enders); i++) {
		char *t = g_strdup_printf("#priority 1\n%s\n#status closed\nbye", enders[i]);

		commands_parse(t, "en", &b);
		assert_int_equal(b.commands->len, 1);
		assert_int_equal(b.errors->len, 0);
		char *want = g_strdup_printf("%s\n#status closed\nbye", enders[i]);
		assert_string_equal(b.rest, want);
		g_free(want);
		g_free(t);
		command_block_clear(&b);
	}

	/* only commands: rest is empty; empty and NULL texts */
	commands_parse("#status closed\n\n", "en", &b);
	assert_int_equal(b.commands->len, 1);
	assert_string_equal(b.rest, "");
	command_block_clear(&b);
	commands_parse("", "es", &b);
	assert_int_equal(b.commands->len, 0);
	assert_string_equal(b.rest, "");
	command_block_clear(&b);
	commands_parse(NULL, NULL, &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, 0);
	assert_string_equal(b.rest, "");
	command_block_clear(&b);
}

static void test_errors(void **state)
{
	struct command_block b;

	(void)state;
	expect_error("#status solved", "en",
		     "#status solved: unknown status (use new, in-progress, pending, resolved or "
		     "closed)");
	expect_error("#estado solucionado", "es",
		     "#estado solucionado: estado desconocido (use nuevo, en-curso, pendiente, "
		     "resuelto o cerrado)");
	expect_error("#status", "en",
		     "#status: missing value (use new, in-progress, pending, resolved or closed)");
	expect_error(
	    "#estado:", "es",
	    "#estado: falta el valor (use nuevo, en-curso, pendiente, resuelto o cerrado)");
	expect_error("#priority P6", "en",
		     "#priority P6: unknown priority (use P1, P2, P3, P4 or P5)");
	expect_error("#prioridad alta", "es",
		     "#prioridad alta: prioridad desconocida (use P1, P2, P3, P4 o P5)");
	expect_error("#priority 12", "en",
		     "#priority 12: unknown priority (use P1, P2, P3, P4 or P5)");
	expect_error("#priority P0", "en",
		     "#priority P0: unknown priority (use P1, P2, P3, P4 or P5)");
	expect_error("#assign", "en",
		     "#assign: missing value (use an address, a name or a user name)");
	expect_error("#asignar :  ", "es",
		     "#asignar: falta el valor (use una dirección, un nombre o un usuario)");
	expect_error("#kind problem", "en",
		     "#kind problem: unknown kind (use incident or request)");
	expect_error("#tipo problema", "es",
		     "#tipo problema: tipo desconocido (use incidente o solicitud)");
	expect_error("#internal please", "en",
		     "#internal please: takes no value (write #internal alone on its line)");
	expect_error("#interno nota", "es",
		     "#interno nota: no lleva valor (escriba #interno solo en su línea)");
	/* any other lang is English */
	expect_error("#kind x", "fr", "#kind x: unknown kind (use incident or request)");

	/* an error does not end the block, and the valid commands stand */
	commands_parse("#status solved\n#priority 1\nDone.", "en", &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 1);
	assert_string_equal(b.rest, "Done.");
	command_block_clear(&b);
}

static void test_repeated(void **state)
{
	struct command_block b;

	(void)state;
	commands_parse("#status pending\n#priority 2\n#estado resuelto\n#status closed\nok", "en",
		       &b);
	assert_int_equal(b.commands->len, 2);
	struct command *c = g_ptr_array_index(b.commands, 0);
	assert_int_equal(c->kind, COMMAND_PRIORITY);
	c = g_ptr_array_index(b.commands, 1);
	assert_int_equal(c->kind, COMMAND_STATUS);
	assert_string_equal(c->value, "closed");
	assert_int_equal(b.errors->len, 2);
	assert_string_equal(g_ptr_array_index(b.errors, 0),
			    "#status pending: ignored, a later #status replaces it");
	assert_string_equal(g_ptr_array_index(b.errors, 1),
			    "#estado resuelto: ignored, a later #status replaces it");
	command_block_clear(&b);

	commands_parse("#asignar ana\n#asignar luis", "es", &b);
	assert_int_equal(b.commands->len, 1);
	c = g_ptr_array_index(b.commands, 0);
	assert_string_equal(c->value, "luis");
	assert_int_equal(b.errors->len, 1);
	assert_string_equal(g_ptr_array_index(b.errors, 0),
			    "#asignar ana: ignorada, la reemplaza un #asignar posterior");
	command_block_clear(&b);

	/* an invalid later one does not replace a valid earlier one */
	commands_parse("#status closed\n#status solved", "en", &b);
	assert_int_equal(b.commands->len, 1);
	c = g_ptr_array_index(b.commands, 0);
	assert_string_equal(c->value, "closed");
	assert_int_equal(b.errors->len, 1);
	command_block_clear(&b);
}

static void test_hostile(void **state)
{
	struct command_block b;
	GString *s = g_string_new("#assign ");

	(void)state;
	/* an over-long command line is an error, shown cut, and the block goes on */
	for (int i = 0; i < 2000; i++)
		g_string_append_c(s, 'a');
	g_string_append(s, "\n#status closed\nhi");
	commands_parse(s->str, "en", &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 1);
	assert_true(strstr(g_ptr_array_index(b.errors, 0), "line too long") != NULL);
	assert_true(strlen(g_ptr_array_index(b.errors, 0)) < 200);
	assert_string_equal(b.rest, "hi");
	command_block_clear(&b);

	/* a line of exactly COMMANDS_MAX_LINE bytes is still a command */
	g_string_assign(s, "#assign ");
	while (s->len < COMMANDS_MAX_LINE)
		g_string_append_c(s, 'b');
	commands_parse(s->str, "en", &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 0);
	command_block_clear(&b);

	/* many command lines: the block stops after COMMANDS_MAX_LINES, the rest is text */
	g_string_truncate(s, 0);
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "#status x\n");
	commands_parse(s->str, "es", &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, COMMANDS_MAX_LINES);
	assert_int_equal(strlen(b.rest), (100000 - COMMANDS_MAX_LINES) * 10 - 1);
	command_block_clear(&b);

	/* a long word after '#', invalid UTF-8, NULs-free binary junk */
	g_string_assign(s, "#");
	for (int i = 0; i < 100000; i++)
		g_string_append_c(s, 's');
	commands_parse(s->str, "en", &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, 0);
	command_block_clear(&b);
	commands_parse("#status \xff\xfe\n#assign \xc3\x28x\n\x80text", "en", &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 1);
	assert_true(g_utf8_validate(g_ptr_array_index(b.errors, 0), -1, NULL));
	assert_true(
	    g_utf8_validate(((struct command *)g_ptr_array_index(b.commands, 0))->value, -1, NULL));
	assert_true(g_utf8_validate(b.rest, -1, NULL));
	command_block_clear(&b);
	g_string_free(s, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status),   cmocka_unit_test(test_priority_kind_internal),
	    cmocka_unit_test(test_assign),   cmocka_unit_test(test_accents),
	    cmocka_unit_test(test_block),    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_repeated), cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
