/* libFuzzer target for commands.c, which reads what agents and requesters write at the top of a
 * mail: any bytes as an agent's and as a requester's text. Besides crashes, leaks and UB it
 * checks what must always hold: an agent's block never holds a requester's command (#close,
 * #my tickets), every line and the rest are valid UTF-8, a block has at most COMMANDS_MAX_LINES
 * lines; and the list a requester gets (ticket_list.h), rendered from any record, is valid UTF-8
 * or refused. */
#include "commands.h"
#include "ticket_list.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct template *line_tpl;

/* Checks b's invariants; requester: the block was read for a requester. */
static void check(const struct command_block *b, gboolean requester)
{
	if (b->commands->len + b->errors->len > COMMANDS_MAX_LINES ||
	    !g_utf8_validate(b->rest, -1, NULL))
		__builtin_trap();
	for (guint i = 0; i < b->commands->len; i++) {
		const struct command *c = g_ptr_array_index(b->commands, i);

		if (!g_utf8_validate(c->line, -1, NULL) ||
		    (c->value != NULL && !g_utf8_validate(c->value, -1, NULL)) ||
		    (!requester && (c->kind == COMMAND_CLOSE || c->kind == COMMAND_MY_TICKETS)))
			__builtin_trap();
	}
	for (guint i = 0; i < b->errors->len; i++) {
		const struct command_error *e = g_ptr_array_index(b->errors, i);

		if (!g_utf8_validate(e->line, -1, NULL))
			__builtin_trap();
	}
}

/* The shipped ticket-line.txt, found from the working directory (the ctest runs in the build
 * tree, SPOCD_SOURCE_SQL_DIR names the source's sql/). */
static struct template *load_line_tpl(void)
{
	char *dir = g_path_get_dirname(SPOCD_SOURCE_SQL_DIR);
	char *path = g_build_filename(dir, "conf", "templates", "en", "ticket-line.txt", NULL);
	struct errbuf err = {{0}};
	struct template *t = template_load(path, ticket_list_fields, &err);

	g_free(path);
	g_free(dir);
	if (t == NULL)
		__builtin_trap();
	return t;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = g_strndup((const char *)data, size);
	struct command_block b;
	char *out;

	commands_parse(text, &b);
	check(&b, FALSE);
	command_block_clear(&b);
	commands_parse_requester(text, &b);
	check(&b, TRUE);
	command_block_clear(&b);

	if (line_tpl == NULL)
		line_tpl = load_line_tpl();
	out = ticket_list_render(line_tpl, text, NULL, "en");
	if (out != NULL && !g_utf8_validate(out, -1, NULL))
		__builtin_trap();
	g_free(out);
	g_free(text);
	return 0;
}
