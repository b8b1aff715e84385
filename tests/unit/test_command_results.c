/* Unit tests of command_results.c: the record of what an agent's commands did, written exactly as
 * command_results.h says, read back (escapes included), refused in any other shape (a body queued
 * before the record existed); and put into words by the shipped command-line.txt of each language,
 * which must read as the confirmations always have. */

#include "command_results.h"

#include "testlib.h"

#include <glib/gstdio.h>
#include <string.h>

/* the record of the parse errors of text */
static char *record_of(const char *text)
{
	struct command_block b;
	GString *out = g_string_new(NULL);

	commands_parse(text, &b);
	for (guint i = 0; i < b.errors->len; i++)
		command_results_add_error(out, g_ptr_array_index(b.errors, i));
	command_block_clear(&b);
	return g_string_free(out, FALSE);
}

static void test_write(void **state)
{
	GString *out = g_string_new(NULL);
	char *rec;

	(void)state;
	command_results_add(out, COMMAND_RESULT_APPLIED, COMMAND_STATUS, "#status pending", NULL);
	command_results_add(out, COMMAND_RESULT_NO_AGENT, COMMAND_ASSIGN, "#assign pepe", "pepe");
	command_results_add(out, COMMAND_RESULT_REFUSED, COMMAND_STATUS, "#estado\tnuevo",
			    "ticket INC-1: status cannot go\nfrom closed to new \\o/");
	command_results_add(out, COMMAND_RESULT_ROLLED_BACK, COMMAND_STATUS, "ignored", "ignored");
	assert_string_equal(out->str,
			    "applied\tstatus\t#status pending\n"
			    "no-agent\tassign\t#assign pepe\tpepe\n"
			    "refused\tstatus\t#estado\\tnuevo\tticket INC-1: status cannot "
			    "go\\nfrom closed to new \\\\o/\n"
			    "rolled-back\n");
	g_string_free(out, TRUE);

	/* every parse error, by its code and kind */
	rec = record_of("#status solved\n#prioridad\n#internal x\n#tipo a\n#tipo b\n#assign");
	assert_string_equal(rec, "unknown-value\tstatus\t#status solved\n"
				 "missing-value\tpriority\t#prioridad\n"
				 "takes-no-value\tinternal\t#internal x\n"
				 "unknown-value\tkind\t#tipo a\n"
				 "unknown-value\tkind\t#tipo b\n"
				 "missing-value\tassign\t#assign\n");
	g_free(rec);
	rec = record_of("#kind incident\n#tipo solicitud");
	assert_string_equal(rec, "replaced\tkind\t#kind incident\n");
	g_free(rec);
}

static void test_read(void **state)
{
	GPtrArray *r;
	const struct command_result *x;

	(void)state;
	r = command_results_read("applied\tstatus\t#status pending\n"
				 "refused\tstatus\t#estado\\tnuevo\tgo\\nfrom \\\\o/\\r\n"
				 "too-long\tassign\t#assign aaa…\n"
				 "rolled-back\n");
	assert_non_null(r);
	assert_int_equal(r->len, 4);
	x = g_ptr_array_index(r, 0);
	assert_int_equal(x->code, COMMAND_RESULT_APPLIED);
	assert_int_equal(x->kind, COMMAND_STATUS);
	assert_string_equal(x->line, "#status pending");
	assert_string_equal(x->detail, "");
	x = g_ptr_array_index(r, 1);
	assert_int_equal(x->code, COMMAND_RESULT_REFUSED);
	assert_string_equal(x->line, "#estado\tnuevo");
	assert_string_equal(x->detail, "go\nfrom \\o/\r");
	x = g_ptr_array_index(r, 2);
	assert_int_equal(x->code, COMMAND_RESULT_LINE_TOO_LONG);
	assert_int_equal(x->kind, COMMAND_ASSIGN);
	x = g_ptr_array_index(r, 3);
	assert_int_equal(x->code, COMMAND_RESULT_ROLLED_BACK);
	assert_int_equal(x->kind, -1);
	g_ptr_array_unref(r);

	r = command_results_read("");
	assert_non_null(r);
	assert_int_equal(r->len, 0);
	g_ptr_array_unref(r);

	/* anything else is not the record: the sentences of an older body, a code or kind that
	 * is not one, a bad escape, a missing line, fields too many or too few, no final line
	 * end, bytes that are not UTF-8 */
	static const char *const bad[] = {
	    "#status pending: hecho\n",
	    "#status pending: done\nNothing on the ticket was changed.\n",
	    "applied\tstatus\t#status pending\nNothing on the ticket was changed.\n",
	    "finished\tstatus\t#status pending\n",
	    "applied\tstate\t#status pending\n",
	    "applied\tstatus\t#status \\x\n",
	    "applied\tstatus\t#status \\\n",
	    "applied\tstatus\t\n",
	    "applied\tstatus\n",
	    "applied\n",
	    "applied\tstatus\t#status new\ta\tb\n",
	    "rolled-back\tstatus\n",
	    "applied\tstatus\t#status pending",
	    "applied\tstatus\t#status \xff\n",
	    "\n",
	};
	for (size_t i = 0; i < G_N_ELEMENTS(bad); i++) {
		r = command_results_read(bad[i]);
		if (r != NULL)
			fail_msg("read as a record: \"%s\"", bad[i]);
	}
}

static struct template *shipped(const char *lang)
{
	char *rel = g_build_filename("conf", "templates", lang, "command-line.txt", NULL);
	char *path = testlib_source_path(rel);
	struct errbuf err = {{0}};
	struct template *t = template_load(path, command_results_fields, &err);

	if (t == NULL)
		fail_msg("%s", err.msg);
	g_free(rel);
	g_free(path);
	return t;
}

/* Fails unless the record of what text's parse errors are reads want in lang. */
static void expect_words(struct template *t, const char *text, const char *want)
{
	char *rec = record_of(text);
	char *out = command_results_render(t, rec);

	assert_non_null(out);
	if (strcmp(out, want) != 0)
		fail_msg("\"%s\"\n  got  \"%s\"\n  want \"%s\"", text, out, want);
	g_free(out);
	g_free(rec);
}

/* The words are those the confirmations have always had. */
static void test_render_en(void **state)
{
	struct template *t = shipped("en");
	GString *long_line = g_string_new("#assign ");
	char *out, *want;

	(void)state;
	expect_words(t, "#status solved",
		     "#status solved: unknown status (use new, in-progress, pending, resolved or "
		     "closed)");
	expect_words(t, "#status",
		     "#status: missing value (use new, in-progress, pending, resolved or closed)");
	expect_words(t, "#priority P6",
		     "#priority P6: unknown priority (use P1, P2, P3, P4 or P5)");
	expect_words(t, "#priority", "#priority: missing value (use P1, P2, P3, P4 or P5)");
	expect_words(t, "#assign",
		     "#assign: missing value (use an address, a name or a user name)");
	expect_words(t, "#kind problem", "#kind problem: unknown kind (use incident or request)");
	expect_words(t, "#kind", "#kind: missing value (use incident or request)");
	expect_words(t, "#internal please",
		     "#internal please: takes no value (write #internal alone on its line)");
	expect_words(t, "#status pending\n#priority 2\n#estado resuelto\n#status closed",
		     "#status pending: ignored, a later #status replaces it\n"
		     "#estado resuelto: ignored, a later #status replaces it");
	expect_words(t, "#priority 1\n#prioridad 2",
		     "#priority 1: ignored, a later #priority replaces it");
	expect_words(t, "#asignar ana\n#assign luis",
		     "#asignar ana: ignored, a later #assign replaces it");
	expect_words(t, "#kind incident\n#tipo solicitud",
		     "#kind incident: ignored, a later #kind replaces it");
	expect_words(t, "#interno\n#internal", "#interno: ignored, a later #internal replaces it");
	expect_words(t, "#forward x",
		     "#forward x: takes no value (write #forward alone on its line)");
	expect_words(t, "#reenviar\n#forward", "#reenviar: ignored, a later #forward replaces it");
	out = command_results_render(
	    t,
	    "applied\tforward\t#forward\nwithheld\tforward\t-------- Forwarded Message --------\n");
	assert_string_equal(
	    out, "#forward: done\n"
		 "The message you forwarded (\"-------- Forwarded Message --------\") is "
		 "kept on the ticket and was not sent to the requester, nor was any file of "
		 "your mail; to send them, reply again with #forward on its own line at the "
		 "top.");
	g_free(out);
	for (int i = 0; i < 2000; i++)
		g_string_append_c(long_line, 'a');
	want = g_strdup_printf("#assign %.*s…: line too long (over 1000 bytes), ignored", 72,
			       long_line->str + 8);
	expect_words(t, long_line->str, want);
	g_free(want);

	out = command_results_render(t,
				     "unknown-value\tkind\t#kind x\n"
				     "applied\tstatus\t#status new\n"
				     "applied\tinternal\t#internal\n"
				     "no-agent\tassign\t#assign pepe\tpepe\n"
				     "refused\tstatus\t#status new\tticket INC-1: status cannot go "
				     "from closed to new\n"
				     "rolled-back\n");
	assert_string_equal(out, "#kind x: unknown kind (use incident or request)\n"
				 "#status new: done\n"
				 "#internal: done\n"
				 "#assign pepe: no active agent \"pepe\"\n"
				 "#status new: the ticket cannot go from \"closed\" to \"new\"\n"
				 "Nothing on the ticket was changed.");
	g_free(out);
	/* another refusal by the database is quoted as it is */
	out = command_results_render(t, "refused\tkind\t#kind request\tpermission denied\n");
	assert_string_equal(out, "#kind request: permission denied");
	g_free(out);
	/* a body in another shape is not put into words */
	assert_null(command_results_render(t, "#status new: done\n"));
	out = command_results_render(t, "");
	assert_string_equal(out, "");
	g_free(out);
	g_string_free(long_line, TRUE);
	template_free(&t);
}

static void test_render_es(void **state)
{
	struct template *t = shipped("es");
	char *out;

	(void)state;
	expect_words(t, "#estado solucionado",
		     "#estado solucionado: estado desconocido (use nuevo, en-curso, pendiente, "
		     "resuelto o cerrado)");
	expect_words(
	    t, "#estado:",
	    "#estado: falta el valor (use nuevo, en-curso, pendiente, resuelto o cerrado)");
	expect_words(t, "#prioridad alta",
		     "#prioridad alta: prioridad desconocida (use P1, P2, P3, P4 o P5)");
	expect_words(t, "#prioridad", "#prioridad: falta el valor (use P1, P2, P3, P4 o P5)");
	expect_words(t, "#asignar :  ",
		     "#asignar: falta el valor (use una dirección, un nombre o un usuario)");
	expect_words(t, "#tipo problema",
		     "#tipo problema: tipo desconocido (use incidente o solicitud)");
	expect_words(t, "#tipo", "#tipo: falta el valor (use incidente o solicitud)");
	expect_words(t, "#interno nota",
		     "#interno nota: no lleva valor (escriba #interno solo en su línea)");
	expect_words(t, "#asignar ana\n#asignar luis",
		     "#asignar ana: ignorada, la reemplaza un #asignar posterior");
	expect_words(t, "#status new\n#estado cerrado",
		     "#status new: ignorada, la reemplaza un #estado posterior");
	expect_words(t, "#priority 1\n#prioridad 2",
		     "#priority 1: ignorada, la reemplaza un #prioridad posterior");
	expect_words(t, "#tipo incidente\n#kind request",
		     "#tipo incidente: ignorada, la reemplaza un #tipo posterior");
	expect_words(t, "#internal\n#interno",
		     "#internal: ignorada, la reemplaza un #interno posterior");
	expect_words(t, "#reenviar ya",
		     "#reenviar ya: no lleva valor (escriba #reenviar solo en su línea)");
	out = command_results_render(t, "withheld\tforward\tBegin forwarded message:\n");
	assert_string_equal(out,
			    "El mensaje que reenvió (\"Begin forwarded message:\") queda en el "
			    "ticket y no se ha enviado al solicitante, ni ningún archivo de su "
			    "correo; para enviarlos, responda de nuevo con #reenviar en su propia "
			    "línea al principio.");
	g_free(out);

	out = command_results_render(t, "too-long\tassign\t#asignar bbb…\n"
					"applied\tpriority\t#prioridad 2\n"
					"no-agent\tassign\t#asignar pepe\tpepe\n"
					"refused\tstatus\t#estado nuevo\tno\n"
					"rolled-back\n");
	assert_string_equal(out,
			    "#asignar bbb…: línea demasiado larga (más de 1000 bytes), ignorada\n"
			    "#prioridad 2: hecho\n"
			    "#asignar pepe: no hay ningún agente activo \"pepe\"\n"
			    "#estado nuevo: no\n"
			    "No se ha cambiado nada del ticket.");
	g_free(out);
	template_free(&t);
}

/* The file is checked like every template: a placeholder it does not have names FILE:LINE. */
static void test_unknown_placeholder(void **state)
{
	char *dir = g_dir_make_tmp("spoc-cmdres-XXXXXX", NULL);
	char *path = g_build_filename(dir, "command-line.txt", NULL);
	struct errbuf err = {{0}};

	(void)state;
	assert_true(g_file_set_contents(
	    path, "{{#applied}}\n{{line}}: done by {{author}}\n{{/applied}}\n", -1, NULL));
	assert_null(template_load(path, command_results_fields, &err));
	assert_true(g_str_has_prefix(err.msg, path));
	assert_non_null(strstr(err.msg, "command-line.txt:2: unknown placeholder {{author}}"));
	g_unlink(path);
	g_rmdir(dir);
	g_free(path);
	g_free(dir);
}

/* What a requester reads of their #close, in both languages; the record keeps codes only. */
static void test_requester_results(void **state)
{
	static const struct {
		const char *lang;
		const char *want;
	} cases[] = {
	    {"en", "#close: done\n"
		   "#cerrar: the ticket was closed already\n"
		   "#close: not applied: this mail reached no ticket of which you are the requester\n"
		   "#priority P1: not applied: only the desk's agents can give this command"},
	    {"es", "#close: hecho\n"
		   "#cerrar: el ticket ya estaba cerrado\n"
		   "#close: no aplicada: este correo no llegó a ningún ticket del que usted sea el "
		   "solicitante\n"
		   "#priority P1: no aplicada: solo los agentes del servicio pueden dar esta orden"},
	};
	GString *rec = g_string_new(NULL);

	(void)state;
	command_results_add(rec, COMMAND_RESULT_APPLIED, COMMAND_CLOSE, "#close", NULL);
	command_results_add(rec, COMMAND_RESULT_ALREADY_CLOSED, COMMAND_CLOSE, "#cerrar", NULL);
	command_results_add(rec, COMMAND_RESULT_NOT_YOURS, COMMAND_CLOSE, "#close", NULL);
	command_results_add(rec, COMMAND_RESULT_AGENTS_ONLY, COMMAND_PRIORITY, "#priority P1",
			    NULL);
	assert_string_equal(rec->str, "applied\tclose\t#close\n"
				      "already-closed\tclose\t#cerrar\n"
				      "not-yours\tclose\t#close\n"
				      "agents-only\tpriority\t#priority P1\n");
	for (size_t i = 0; i < G_N_ELEMENTS(cases); i++) {
		struct template *t = shipped(cases[i].lang);
		char *out = command_results_render(t, rec->str);

		assert_non_null(out);
		if (strcmp(out, cases[i].want) != 0)
			fail_msg("%s\n  got  \"%s\"\n  want \"%s\"", cases[i].lang, out,
				 cases[i].want);
		g_free(out);
		template_free(&t);
	}
	g_string_free(rec, TRUE);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write),
	    cmocka_unit_test(test_read),
	    cmocka_unit_test(test_render_en),
	    cmocka_unit_test(test_render_es),
	    cmocka_unit_test(test_unknown_placeholder),
	    cmocka_unit_test(test_requester_results),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
