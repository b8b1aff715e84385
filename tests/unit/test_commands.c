/* Unit tests of commands.c: every command word and value in English and Spanish, with case,
 * accents, colons and extra blanks; where the block ends; the errors (code, kind and the line as
 * quoted; their sentences are the templates', test_command_results.c); repeated commands; and
 * that hostile input (long lines, many lines, bad UTF-8) stays bounded. */

#include "commands.h"

#include "testlib.h"

#include <string.h>

/* Fails unless text gives exactly one command, of kind with value, and no errors. */
static void expect_one(const char *text, enum command_kind kind, const char *value)
{
	struct command_block b;

	commands_parse(text, &b);
	if (b.commands->len != 1 || b.errors->len != 0)
		fail_msg("\"%s\": %u commands, %u errors (%s)", text, b.commands->len,
			 b.errors->len,
			 b.errors->len > 0
			     ? ((struct command_error *)g_ptr_array_index(b.errors, 0))->line
			     : "");
	struct command *c = g_ptr_array_index(b.commands, 0);
	if (c->kind != kind || g_strcmp0(c->value, value) != 0)
		fail_msg("\"%s\": kind %d value \"%s\", want %d \"%s\"", text, c->kind,
			 c->value ? c->value : "(null)", kind, value ? value : "(null)");
	command_block_clear(&b);
}

/* Fails unless error e is code, on a command of kind, quoting line. */
static void check_error(const char *text, const struct command_error *e,
			enum command_error_code code, enum command_kind kind, const char *line)
{
	if (e->code != code || e->kind != kind || strcmp(e->line, line) != 0)
		fail_msg("\"%s\"\n  got  code %d kind %d \"%s\"\n  want code %d kind %d \"%s\"",
			 text, e->code, e->kind, e->line, code, kind, line);
}

/* Fails unless text gives no command and exactly that one error. */
static void expect_error(const char *text, enum command_error_code code, enum command_kind kind,
			 const char *line)
{
	struct command_block b;

	commands_parse(text, &b);
	if (b.commands->len != 0 || b.errors->len != 1)
		fail_msg("\"%s\": %u commands, %u errors", text, b.commands->len, b.errors->len);
	check_error(text, g_ptr_array_index(b.errors, 0), code, kind, line);
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
	expect_one("#forward", COMMAND_FORWARD, NULL);
	expect_one("#Reenviar", COMMAND_FORWARD, NULL);
	expect_error("#forward it all", COMMAND_ERROR_TAKES_NO_VALUE, COMMAND_FORWARD,
		     "#forward it all");
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
		       &b);
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
	commands_parse("\n  Thanks!\n#status resolved\n", &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, 0);
	assert_string_equal(b.rest, "Thanks!\n#status resolved");
	command_block_clear(&b);

	/* a '#' line that is no command word ends the block and is no error */
	const char *enders[] = {"#123 see above",   "#statuses resolved", "# status resolved", "#",
				"#status,resolved", "#hashtag #status"};
	for (size_t i = 0; i < G_N_ELEMENTS(enders); i++) {
		char *t = g_strdup_printf("#priority 1\n%s\n#status closed\nbye", enders[i]);

		commands_parse(t, &b);
		assert_int_equal(b.commands->len, 1);
		assert_int_equal(b.errors->len, 0);
		char *want = g_strdup_printf("%s\n#status closed\nbye", enders[i]);
		assert_string_equal(b.rest, want);
		g_free(want);
		g_free(t);
		command_block_clear(&b);
	}

	/* only commands: rest is empty; empty and NULL texts */
	commands_parse("#status closed\n\n", &b);
	assert_int_equal(b.commands->len, 1);
	assert_string_equal(b.rest, "");
	command_block_clear(&b);
	commands_parse("", &b);
	assert_int_equal(b.commands->len, 0);
	assert_string_equal(b.rest, "");
	command_block_clear(&b);
	commands_parse(NULL, &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, 0);
	assert_string_equal(b.rest, "");
	command_block_clear(&b);
}

static void test_errors(void **state)
{
	struct command_block b;

	(void)state;
	expect_error("#status solved", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_STATUS,
		     "#status solved");
	expect_error("#estado solucionado", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_STATUS,
		     "#estado solucionado");
	/* a missing value quotes the command word alone, without its ':' */
	expect_error("#status", COMMAND_ERROR_MISSING_VALUE, COMMAND_STATUS, "#status");
	expect_error("#estado:", COMMAND_ERROR_MISSING_VALUE, COMMAND_STATUS, "#estado");
	expect_error("#priority P6", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_PRIORITY, "#priority P6");
	expect_error("#prioridad alta", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_PRIORITY,
		     "#prioridad alta");
	expect_error("#priority 12", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_PRIORITY, "#priority 12");
	expect_error("#priority P0", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_PRIORITY, "#priority P0");
	expect_error("#assign", COMMAND_ERROR_MISSING_VALUE, COMMAND_ASSIGN, "#assign");
	expect_error("#asignar :  ", COMMAND_ERROR_MISSING_VALUE, COMMAND_ASSIGN, "#asignar");
	expect_error("#kind problem", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_KIND, "#kind problem");
	expect_error("#tipo problema", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_KIND, "#tipo problema");
	expect_error("#internal please", COMMAND_ERROR_TAKES_NO_VALUE, COMMAND_INTERNAL,
		     "#internal please");
	expect_error("#interno nota", COMMAND_ERROR_TAKES_NO_VALUE, COMMAND_INTERNAL,
		     "#interno nota");
	/* the desk's language plays no part: the words of both are read, the errors are codes */
	expect_error("#kind x", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_KIND, "#kind x");
	/* the line is quoted as written: case and blanks inside kept, the ends trimmed */
	expect_error("  #KIND  x  ", COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_KIND, "#KIND  x");

	/* an error does not end the block, and the valid commands stand */
	commands_parse("#status solved\n#priority 1\nDone.", &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 1);
	check_error("#status solved", g_ptr_array_index(b.errors, 0), COMMAND_ERROR_UNKNOWN_VALUE,
		    COMMAND_STATUS, "#status solved");
	assert_string_equal(b.rest, "Done.");
	command_block_clear(&b);
}

static void test_repeated(void **state)
{
	struct command_block b;

	(void)state;
	commands_parse("#status pending\n#priority 2\n#estado resuelto\n#status closed\nok", &b);
	assert_int_equal(b.commands->len, 2);
	struct command *c = g_ptr_array_index(b.commands, 0);
	assert_int_equal(c->kind, COMMAND_PRIORITY);
	c = g_ptr_array_index(b.commands, 1);
	assert_int_equal(c->kind, COMMAND_STATUS);
	assert_string_equal(c->value, "closed");
	assert_int_equal(b.errors->len, 2);
	check_error("#status pending", g_ptr_array_index(b.errors, 0), COMMAND_ERROR_REPLACED,
		    COMMAND_STATUS, "#status pending");
	check_error("#estado resuelto", g_ptr_array_index(b.errors, 1), COMMAND_ERROR_REPLACED,
		    COMMAND_STATUS, "#estado resuelto");
	command_block_clear(&b);

	commands_parse("#asignar ana\n#asignar luis", &b);
	assert_int_equal(b.commands->len, 1);
	c = g_ptr_array_index(b.commands, 0);
	assert_string_equal(c->value, "luis");
	assert_int_equal(b.errors->len, 1);
	check_error("#asignar ana", g_ptr_array_index(b.errors, 0), COMMAND_ERROR_REPLACED,
		    COMMAND_ASSIGN, "#asignar ana");
	command_block_clear(&b);

	/* an invalid later one does not replace a valid earlier one */
	commands_parse("#status closed\n#status solved", &b);
	assert_int_equal(b.commands->len, 1);
	c = g_ptr_array_index(b.commands, 0);
	assert_string_equal(c->value, "closed");
	assert_int_equal(b.errors->len, 1);
	check_error("#status solved", g_ptr_array_index(b.errors, 0), COMMAND_ERROR_UNKNOWN_VALUE,
		    COMMAND_STATUS, "#status solved");
	command_block_clear(&b);

	/* #internal twice is reported too */
	commands_parse("#internal\n#interno\nnote", &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 1);
	check_error("#internal", g_ptr_array_index(b.errors, 0), COMMAND_ERROR_REPLACED,
		    COMMAND_INTERNAL, "#internal");
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
	commands_parse(s->str, &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 1);
	const struct command_error *e = g_ptr_array_index(b.errors, 0);
	assert_int_equal(e->code, COMMAND_ERROR_LINE_TOO_LONG);
	assert_int_equal(e->kind, COMMAND_ASSIGN);
	/* quoted cut to 80 characters and an ellipsis */
	assert_true(g_str_has_prefix(e->line, "#assign aaaa"));
	assert_true(g_str_has_suffix(e->line, "a…"));
	assert_int_equal(g_utf8_strlen(e->line, -1), 81);
	assert_string_equal(b.rest, "hi");
	command_block_clear(&b);

	/* a line of exactly COMMANDS_MAX_LINE bytes is still a command */
	g_string_assign(s, "#assign ");
	while (s->len < COMMANDS_MAX_LINE)
		g_string_append_c(s, 'b');
	commands_parse(s->str, &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 0);
	command_block_clear(&b);

	/* many command lines: the block stops after COMMANDS_MAX_LINES, the rest is text */
	g_string_truncate(s, 0);
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "#status x\n");
	commands_parse(s->str, &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, COMMANDS_MAX_LINES);
	for (guint i = 0; i < b.errors->len; i++)
		check_error("#status x", g_ptr_array_index(b.errors, i),
			    COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_STATUS, "#status x");
	assert_int_equal(strlen(b.rest), (100000 - COMMANDS_MAX_LINES) * 10 - 1);
	command_block_clear(&b);

	/* a long word after '#', invalid UTF-8, NULs-free binary junk */
	g_string_assign(s, "#");
	for (int i = 0; i < 100000; i++)
		g_string_append_c(s, 's');
	commands_parse(s->str, &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, 0);
	command_block_clear(&b);
	commands_parse("#status \xff\xfe\n#assign \xc3\x28x\n\x80text", &b);
	assert_int_equal(b.commands->len, 1);
	assert_int_equal(b.errors->len, 1);
	check_error("#status \\xff\\xfe", g_ptr_array_index(b.errors, 0),
		    COMMAND_ERROR_UNKNOWN_VALUE, COMMAND_STATUS,
		    "#status \xef\xbf\xbd\xef\xbf\xbd");
	assert_true(
	    g_utf8_validate(((struct command *)g_ptr_array_index(b.commands, 0))->value, -1, NULL));
	assert_true(g_utf8_validate(b.rest, -1, NULL));
	command_block_clear(&b);
	g_string_free(s, TRUE);
}

/* Fails unless the requester's text gives exactly these kinds, in order, and no errors. */
static void expect_requester(const char *text, const enum command_kind *kinds, guint n)
{
	struct command_block b;

	commands_parse_requester(text, &b);
	if (b.commands->len != n || b.errors->len != 0)
		fail_msg("\"%s\": %u commands, %u errors, want %u and 0", text, b.commands->len,
			 b.errors->len, n);
	for (guint i = 0; i < n; i++) {
		const struct command *c = g_ptr_array_index(b.commands, i);

		if (c->kind != kinds[i])
			fail_msg("\"%s\": command %u is kind %d, want %d", text, i, c->kind,
				 kinds[i]);
	}
	command_block_clear(&b);
}

/* A requester's words: both languages, any case, accents and blanks; "#my" and "#mis" only with
 * "tickets" after them. */
static void test_requester_words(void **state)
{
	static const enum command_kind list[] = {COMMAND_MY_TICKETS};
	static const enum command_kind close[] = {COMMAND_CLOSE};
	static const char *const lists[] = {
	    "#my tickets",   "#mis tickets",	"#MY TICKETS",	   "#Mis Tickets",
	    "#mytickets",    "#mistickets",	"  #my   tickets  ", "#mis tiquets",
	    "#my\xc2\xa0tickets", "#MIS-TICKETS", "#mis_tickets",
	};
	static const char *const closes[] = {"#close", "#cerrar", "#CLOSE", "#Cérrar", "  #close  ",
					     "#close:"};
	struct command_block b;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(lists); i++)
		expect_requester(lists[i], list, 1);
	for (size_t i = 0; i < G_N_ELEMENTS(closes); i++)
		expect_requester(closes[i], close, 1);

	/* the reason after #close is kept as written */
	commands_parse_requester("#cerrar: ya funciona, gracias\n", &b);
	assert_int_equal(b.commands->len, 1);
	assert_string_equal(((struct command *)g_ptr_array_index(b.commands, 0))->value,
			    "ya funciona, gracias");
	command_block_clear(&b);
	commands_parse_requester("#close\n", &b);
	assert_null(((struct command *)g_ptr_array_index(b.commands, 0))->value);
	command_block_clear(&b);

	/* both at once, and the requester's text after them */
	commands_parse_requester("#mis tickets\r\n#cerrar\r\n\r\nGracias por todo.\r\n", &b);
	assert_int_equal(b.commands->len, 2);
	assert_string_equal(b.rest, "Gracias por todo.");
	command_block_clear(&b);

	/* "#my" with anything but "tickets" is no command word: the block ends, no error */
	const char *not_words[] = {"#my printer is broken", "#mis ticketss", "#my", "#mis",
				   "#my tickets please", "#closed", "#cerrado", "#close-ticket"};
	for (size_t i = 0; i < G_N_ELEMENTS(not_words); i++) {
		commands_parse_requester(not_words[i], &b);
		if (b.commands->len != 0 || b.errors->len != 0)
			fail_msg("\"%s\": %u commands, %u errors", not_words[i], b.commands->len,
				 b.errors->len);
		assert_string_equal(b.rest, not_words[i]);
		command_block_clear(&b);
	}
	/* a value after #my tickets is an error, not a list */
	commands_parse_requester("#mytickets now", &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, 1);
	check_error("#mytickets now", g_ptr_array_index(b.errors, 0),
		    COMMAND_ERROR_TAKES_NO_VALUE, COMMAND_MY_TICKETS, "#mytickets now");
	command_block_clear(&b);
	assert_string_equal(command_kind_name(COMMAND_CLOSE), "close");
	assert_string_equal(command_kind_name(COMMAND_MY_TICKETS), "my-tickets");
	assert_int_equal(command_kind_from_name("my-tickets"), COMMAND_MY_TICKETS);
}

/* The requester's words are theirs alone: an agent's "#close" or "#my tickets" is no command,
 * so it ends an agent's block as it always did. The agents' words are read in a requester's
 * block (the caller refuses them) and do not end it. */
static void test_requester_words_are_theirs(void **state)
{
	static const enum command_kind prio_close[] = {COMMAND_PRIORITY, COMMAND_CLOSE};
	struct command_block b;

	(void)state;
	commands_parse("#close\n#status resolved\n", &b);
	assert_int_equal(b.commands->len, 0);
	assert_int_equal(b.errors->len, 0);
	assert_string_equal(b.rest, "#close\n#status resolved");
	command_block_clear(&b);
	commands_parse("#my tickets", &b);
	assert_int_equal(b.commands->len, 0);
	command_block_clear(&b);
	commands_parse("#mistickets", &b);
	assert_int_equal(b.commands->len, 0);
	command_block_clear(&b);

	expect_requester("#priority P1\n#close\n", prio_close, 2);
}

/* Only the block at the top counts: a command in quoted text ("> #close"), after the requester's
 * first words, or in a signature is text. */
static void test_requester_quoted(void **state)
{
	static const char *const texts[] = {
	    "> #close\n> #my tickets\n",
	    "Hello,\n#close\n",
	    "Thanks for the help.\n\n#mis tickets\n",
	    ">#cerrar\n",
	    "On Mon, Ana wrote:\n> #close\n",
	};
	struct command_block b;

	(void)state;
	for (size_t i = 0; i < G_N_ELEMENTS(texts); i++) {
		commands_parse_requester(texts[i], &b);
		if (b.commands->len != 0)
			fail_msg("\"%s\": %u commands, want none", texts[i], b.commands->len);
		command_block_clear(&b);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_status),   cmocka_unit_test(test_priority_kind_internal),
	    cmocka_unit_test(test_assign),   cmocka_unit_test(test_accents),
	    cmocka_unit_test(test_block),    cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_repeated), cmocka_unit_test(test_hostile),
	    cmocka_unit_test(test_requester_words),
	    cmocka_unit_test(test_requester_words_are_theirs),
	    cmocka_unit_test(test_requester_quoted),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
