/* What became of the commands an agent mailed, in the machine form the store records as the body
 * of the agent's 'command-result' outbox row, and its rendering into the agent's language with
 * the per-result template conf/templates/<lang>/command-line.txt. The record holds codes and the
 * agent's own lines, never a sentence: the words are the templates'.
 *
 * The format, one result a line (lines end with "\n"):
 *
 *     CODE \t KIND \t LINE \t DETAIL
 *
 * CODE    applied         the command was applied (a rolled-back record has none)
 *         refused         the database refused it; DETAIL is its reason, as it said it
 *         no-agent        #assign named no active agent; DETAIL is the value
 *         unknown-value   the parse errors of commands.h: COMMAND_ERROR_UNKNOWN_VALUE,
 *         missing-value     _MISSING_VALUE, _TAKES_NO_VALUE, _LINE_TOO_LONG, _REPLACED
 *         takes-no-value
 *         too-long
 *         replaced
 *         rolled-back     the whole block was undone (after a refused or no-agent line); alone,
 *                         without the other fields, and last
 *         withheld        KIND forward: the mail held a forwarded message, kept on the ticket
 *                         and not sent to the requester since no #forward asked for it; LINE is
 *                         its first line (the forward's separator)
 * A requester's commands (commands_parse_requester()) are answered with the same record:
 *         not-yours       #close in a mail that reached no ticket of which the sender is the
 *                         requester: nothing changed (nothing said of any other ticket)
 *         already-closed  #close on a ticket that was closed already
 *         agents-only     one of the agents' commands, which a requester cannot give
 * KIND    status, priority, assign, kind, internal, forward, close or my-tickets
 *         (command_kind_name())
 * LINE    the command line as the agent wrote it (trimmed; an error's as commands.h quotes it)
 * DETAIL  see CODE; empty otherwise
 *
 * Empty trailing fields are left out ("applied\tstatus\t#status pending"). In LINE and DETAIL a
 * backslash, tab, line feed and carriage return are written \\, \t, \n and \r. Pure: only GLib
 * and the template module. */
#ifndef SPOC_COMMAND_RESULTS_H
#define SPOC_COMMAND_RESULTS_H

#include "commands.h"
#include "template.h"

#include <glib.h>

enum command_result_code {
	COMMAND_RESULT_APPLIED,
	COMMAND_RESULT_REFUSED,
	COMMAND_RESULT_NO_AGENT,
	COMMAND_RESULT_UNKNOWN_VALUE,
	COMMAND_RESULT_MISSING_VALUE,
	COMMAND_RESULT_TAKES_NO_VALUE,
	COMMAND_RESULT_LINE_TOO_LONG,
	COMMAND_RESULT_REPLACED,
	COMMAND_RESULT_ROLLED_BACK,
	COMMAND_RESULT_WITHHELD,
	COMMAND_RESULT_NOT_YOURS,
	COMMAND_RESULT_ALREADY_CLOSED,
	COMMAND_RESULT_AGENTS_ONLY,
};

struct command_result {
	enum command_result_code code;
	int kind;     /* enum command_kind; -1 for rolled-back */
	char *line;   /* "" for rolled-back */
	char *detail; /* "" when there is none */
};

/* Appends one result to out in the format above; line and detail may be NULL (empty). For
 * COMMAND_RESULT_ROLLED_BACK kind, line and detail are ignored. */
void command_results_add(GString *out, enum command_result_code code, enum command_kind kind,
			 const char *line, const char *detail);
/* Appends the result of a command line commands_parse() did not take. */
void command_results_add_error(GString *out, const struct command_error *e);

/* The results in text (struct command_result *, in order; freed with the array), or NULL when
 * text is not in the format (a body written before it existed is a sentence already). "" gives
 * an empty array. Caller g_ptr_array_unref()s. */
GPtrArray *command_results_read(const char *text);

/* The placeholders command-line.txt may use (NULL-terminated): a flag per CODE (applied, refused,
 * no_agent, unknown_value, missing_value, takes_no_value, too_long, replaced, rolled_back,
 * withheld, not_yours, already_closed, agents_only) and per KIND (is_status, is_priority,
 * is_assign, is_kind, is_internal, is_forward, is_close, is_my_tickets),
 * and line, value (what
 * #assign named, for no_agent), reason (the database's, for refused), max_bytes
 * (COMMANDS_MAX_LINE, for too_long). */
extern const char *const command_results_fields[];

/* text's results rendered one by one with line_tpl (loaded with command_results_fields), each
 * without its final line end, joined with "\n"; a result the template renders empty is left
 * out. NULL when text is not in the format. Caller g_free()s. */
char *command_results_render(const struct template *line_tpl, const char *text);

#endif
