/* Unit tests of template.c: what a load error says (file, line, the placeholder and the allowed
 * list), exact rendering, and that the templates shipped in conf/templates load with the list of
 * fields outbox.c provides. */
#include "template.h"

#include "testlib.h"

#include <glib/gstdio.h>

static const char *const allowed[] = {"a", "b", "c", NULL};

/* The fields outbox.c gives an acknowledgement (its ack_allowed). */
static const char *const ack_allowed[] = {
    "requester_name", "ticket",	      "kind",	  "subject",
    "desk_name",      "desk_address", "priority", "first_response_due",
    "resolution_due", "suggestions",  NULL,
};

struct fixture {
	char *dir;
};

static int setup(void **state)
{
	struct fixture *f = g_new0(struct fixture, 1);
	GError *gerr = NULL;

	f->dir = g_dir_make_tmp("spoc-template-XXXXXX", &gerr);
	assert_non_null(f->dir);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;
	GDir *d = g_dir_open(f->dir, 0, NULL);
	const char *name;

	while (d != NULL && (name = g_dir_read_name(d)) != NULL) {
		char *p = g_build_filename(f->dir, name, NULL);

		g_unlink(p);
		g_free(p);
	}
	if (d != NULL)
		g_dir_close(d);
	g_rmdir(f->dir);
	g_free(f->dir);
	g_free(f);
	return 0;
}

/* Writes len bytes to dir/name; caller g_free()s the path. */
static char *write_file(struct fixture *f, const char *name, const char *data, gssize len)
{
	char *path = g_build_filename(f->dir, name, NULL);

	assert_true(g_file_set_contents(path, data, len, NULL));
	return path;
}

/* Loads data as a template and expects failure with exactly "<path>" + suffix as the message. */
static void expect_error(struct fixture *f, const char *data, gssize len, const char *suffix)
{
	char *path = write_file(f, "t.txt", data, len);
	char *want = g_strconcat(path, suffix, NULL);
	struct errbuf err = {{0}};
	struct template *t = template_load(path, allowed, &err);

	assert_null(t);
	assert_string_equal(err.msg, want);
	g_free(want);
	g_free(path);
}

static void test_unknown_placeholder_names_file_line_and_list(void **state)
{
	expect_error(*state, "Hello {{a}},\n\nyour {{b}} is\n{{x}} and {{c}}\n", -1,
		     ":4: unknown placeholder {{x}} (allowed: a, b, c)");
	expect_error(*state, "{{nope_2}}", -1,
		     ":1: unknown placeholder {{nope_2}} (allowed: a, b, c)");
}

static void test_malformed_placeholders(void **state)
{
	expect_error(*state, "x\n{{ a }}\n", -1,
		     ":2: malformed placeholder \"{{ a }}\" (expected {{name}}, {{#name}}, "
		     "{{^name}} or {{/name}}, name "
		     "[a-z_][a-z0-9_]*)");
	expect_error(*state, "{{A}}", -1,
		     ":1: malformed placeholder \"{{A}}\" (expected {{name}}, {{#name}}, {{^name}} "
		     "or {{/name}}, name "
		     "[a-z_][a-z0-9_]*)");
	expect_error(*state, "\n\n{{a}\n", -1,
		     ":3: malformed placeholder \"{{a}\" (expected {{name}}, {{#name}}, {{^name}} "
		     "or {{/name}}, name "
		     "[a-z_][a-z0-9_]*)");
	expect_error(*state, "tail {{", -1,
		     ":1: malformed placeholder \"{{\" (expected {{name}}, {{#name}}, {{^name}} or "
		     "{{/name}}, name "
		     "[a-z_][a-z0-9_]*)");
	expect_error(*state, "{{{a}}}", -1,
		     ":1: malformed placeholder \"{{{a}}}\" (expected {{name}}, {{#name}}, "
		     "{{^name}} or {{/name}}, name "
		     "[a-z_][a-z0-9_]*)");
	expect_error(*state, "{{1a}}", -1,
		     ":1: malformed placeholder \"{{1a}}\" (expected {{name}}, {{#name}}, "
		     "{{^name}} or {{/name}}, name "
		     "[a-z_][a-z0-9_]*)");
}

static void test_not_utf8(void **state)
{
	expect_error(*state,
		     "ok\nImpresora ca\xed"
		     "a\n",
		     -1, ": not valid UTF-8 (line 2, byte 16)");
	/* a NUL byte is not text either */
	expect_error(*state, "ab\0cd", 5, ": not valid UTF-8 (line 1, byte 3)");
}

static void test_missing_and_empty(void **state)
{
	struct fixture *f = *state;
	char *path = g_build_filename(f->dir, "absent.txt", NULL);
	struct errbuf err = {{0}};

	assert_null(template_load(path, allowed, &err));
	assert_true(g_str_has_prefix(err.msg, path));
	assert_non_null(strstr(err.msg, "No such file"));
	g_free(path);

	expect_error(f, "", 0, ": empty template");
}

static void test_render_exact(void **state)
{
	struct fixture *f = *state;
	char *path =
	    write_file(f, "t.txt", "\xEF\xBB\xBF{a}} {{a}}{{b}} { } }} {{c}}!\n{{a}}\n", -1);
	struct errbuf err = {{0}};
	struct template *t = template_load(path, allowed, &err);
	GHashTable *vars = g_hash_table_new(g_str_hash, g_str_equal);
	char *out;

	assert_non_null(t);
	/* values are put in verbatim, even when they look like placeholders */
	g_hash_table_insert(vars, "a", "Año {{b}}");
	g_hash_table_insert(vars, "b", "<x>\r\n");
	out = template_render(t, vars);
	/* the byte order mark is gone; c is missing from vars and renders empty */
	assert_string_equal(out, "{a}} Año {{b}}<x>\r\n { } }} !\nAño {{b}}\n");
	g_free(out);

	out = template_render(t, NULL);
	assert_string_equal(out, "{a}}  { } }} !\n\n");
	g_free(out);

	g_hash_table_unref(vars);
	template_free(&t);
	assert_null(t);
	template_free(&t); /* NULL is fine */
	g_free(path);
}

/* The shipped template of lang loads with the outbox's fields and renders every one of them. */
static void check_shipped(const char *lang, const char *kind, const char *must_contain)
{
	char *rel = g_build_filename("conf", "templates", lang, "ack.txt", NULL);
	char *path = testlib_source_path(rel);
	struct errbuf err = {{0}};
	struct template *t;
	GHashTable *vars;
	char *out, **lines;

	g_free(rel);
	t = template_load(path, ack_allowed, &err);
	if (t == NULL)
		fail_msg("%s", err.msg);
	vars = g_hash_table_new(g_str_hash, g_str_equal);
	g_hash_table_insert(vars, "requester_name", "María López");
	g_hash_table_insert(vars, "ticket", "INC-000123");
	g_hash_table_insert(vars, "kind", (gpointer)kind);
	g_hash_table_insert(vars, "subject", "Impresora caída — planta 2");
	g_hash_table_insert(vars, "desk_name", "Service Desk TI");
	g_hash_table_insert(vars, "desk_address", "soporte@example.org");
	g_hash_table_insert(vars, "priority", "P2");
	g_hash_table_insert(vars, "first_response_due", "lunes 23 nov 2026, 10:15 CET");
	g_hash_table_insert(vars, "resolution_due", "martes 24 nov 2026, 18:00 CET");
	out = template_render(t, vars);
	assert_true(g_utf8_validate(out, -1, NULL));
	assert_null(strstr(out, "{{"));
	assert_non_null(strstr(out, "María López"));
	assert_non_null(strstr(out, "INC-000123"));
	assert_non_null(strstr(out, kind));
	assert_non_null(strstr(out, "Impresora caída — planta 2"));
	assert_non_null(strstr(out, "Service Desk TI"));
	assert_non_null(strstr(out, "soporte@example.org"));
	assert_non_null(strstr(out, "P2"));
	assert_non_null(strstr(out, "lunes 23 nov 2026, 10:15 CET"));
	assert_non_null(strstr(out, "martes 24 nov 2026, 18:00 CET"));
	assert_non_null(strstr(out, must_contain));
	/* no line a mail client would have to wrap */
	lines = g_strsplit(out, "\n", -1);
	for (char **l = lines; *l != NULL; l++)
		assert_true(g_utf8_strlen(*l, -1) <= 78);
	g_strfreev(lines);
	g_free(out);
	g_hash_table_unref(vars);
	template_free(&t);
	g_free(path);
}

/* Sections: kept or dropped by whether their field is empty, nested, and a tag alone on its line
 * takes the line with it; a section left open or closed out of order names file and line. */
static void test_sections(void **state)
{
	struct fixture *f = *state;
	static const char *const names[] = {"a", "b", "list", NULL};
	char *path = g_build_filename(f->dir, "s.txt", NULL);
	struct errbuf err = {{0}};
	struct template *t;
	GHashTable *vars = g_hash_table_new(g_str_hash, g_str_equal);
	char *out;

	assert_true(g_file_set_contents(path,
					"Hi {{a}}.\n"
					"{{#list}}\n"
					"Read these:\n"
					"{{list}}"
					"  {{#b}}\n"
					"b is {{b}}\n"
					"  {{/b}}\n"
					"{{/list}}\n"
					"{{^list}}Nothing to read.{{/list}}\n"
					"Bye{{#a}}, {{a}}{{/a}}.\n",
					-1, NULL));
	t = template_load(path, names, &err);
	if (t == NULL)
		fail_msg("%s", err.msg);
	out = template_render(t, vars);
	assert_string_equal(out, "Hi .\nNothing to read.\nBye.\n");
	g_free(out);
	g_hash_table_insert(vars, "a", "Ana");
	g_hash_table_insert(vars, "list", "- one\n- two\n");
	out = template_render(t, vars);
	assert_string_equal(out, "Hi Ana.\nRead these:\n- one\n- two\n\nBye, Ana.\n");
	g_free(out);
	g_hash_table_insert(vars, "b", "here");
	out = template_render(t, vars);
	assert_string_equal(out, "Hi Ana.\nRead these:\n- one\n- two\nb is here\n\nBye, Ana.\n");
	g_free(out);
	g_hash_table_insert(vars, "list", "");
	out = template_render(t, vars);
	assert_string_equal(out, "Hi Ana.\nNothing to read.\nBye, Ana.\n");
	g_free(out);
	template_free(&t);

	assert_true(g_file_set_contents(path, "x\n{{#a}}\n{{#b}}y{{/a}}{{/b}}\n", -1, NULL));
	assert_null(template_load(path, names, &err));
	assert_non_null(strstr(err.msg, "s.txt:3: {{/a}} closes {{#b}} (sections must nest)"));
	assert_true(g_file_set_contents(path, "{{/a}}\n", -1, NULL));
	assert_null(template_load(path, names, &err));
	assert_non_null(strstr(err.msg, "s.txt:1: {{/a}} closes no section"));
	assert_true(g_file_set_contents(path, "x\n{{^a}}y\n", -1, NULL));
	assert_null(template_load(path, names, &err));
	assert_non_null(strstr(err.msg, "s.txt: {{^a}} is never closed with {{/a}}"));
	assert_true(g_file_set_contents(path, "{{#zz}}y{{/zz}}\n", -1, NULL));
	assert_null(template_load(path, names, &err));
	assert_non_null(strstr(err.msg, "s.txt:1: unknown placeholder {{zz}}"));
	g_hash_table_unref(vars);
	g_free(path);
}

static void test_shipped_templates(void **state)
{
	(void)state;
	check_shipped("en", "service request",
		      "We have received your service request and registered it as INC-000123:");
	check_shipped("en", "incident", "automatic message");
	check_shipped("es", "solicitud de servicio", "mensaje automático");
	check_shipped(
	    "es", "incidencia",
	    "Hemos recibido su incidencia y la hemos registrado con el\nnúmero INC-000123:");
}

static void test_shipped_templates_refuse_smaller_list(void **state)
{
	static const char *const fewer[] = {"requester_name", "ticket", "kind", "subject", NULL};
	char *path = testlib_source_path("conf/templates/en/ack.txt");
	struct errbuf err = {{0}};

	(void)state;
	assert_null(template_load(path, fewer, &err));
	assert_true(g_str_has_prefix(err.msg, path));
	assert_non_null(strstr(err.msg, ": unknown placeholder {{desk_name}} (allowed: "
					"requester_name, ticket, kind, subject)"));
	g_free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_unknown_placeholder_names_file_line_and_list,
					    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_malformed_placeholders, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_not_utf8, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_missing_and_empty, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_render_exact, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_sections, setup, teardown),
	    cmocka_unit_test(test_shipped_templates),
	    cmocka_unit_test(test_shipped_templates_refuse_smaller_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
