/* The commands an agent writes on their own lines at the top of a reply ("#status resolved",
 * "#prioridad 2", "#assign ana") so a ticket can be worked from the mail client alone. This module
 * only reads them: it says which commands were given, which lines looked like commands but were
 * not valid ones (so the agent can be told), and what text the requester should get. Pure: no
 * I/O, only GLib. */
#ifndef SPOC_COMMANDS_H
#define SPOC_COMMANDS_H

#include <glib.h>

/* Longest command line looked at, in bytes; a longer line with a command word is an error. */
#define COMMANDS_MAX_LINE 1000
/* Most command lines (valid or not) in one block; the block ends after this many. */
#define COMMANDS_MAX_LINES 50

enum command_kind {
	COMMAND_STATUS,
	COMMAND_PRIORITY,
	COMMAND_ASSIGN,
	COMMAND_KIND,
	COMMAND_INTERNAL,
	/* send a message the agent forwarded in this mail to the requester too: without it a
	 * forwarded block (a vendor's mail, a colleague's thread) stays on the ticket only */
	COMMAND_FORWARD,
	/* A requester's own commands (commands_parse_requester() only): close their ticket, with
	 * an optional reason as the value; and ask for the list of their open tickets. */
	COMMAND_CLOSE,
	COMMAND_MY_TICKETS
};

struct command {
	enum command_kind kind;
	/* normalised: "new", "in-progress", "pending", "resolved", "closed" for a status; "1".."5"
	 * for a priority; the assignee as written (trimmed, never empty) for assign; "incident" or
	 * "request" for a kind; NULL for internal, forward and my-tickets; for close the reason
	 * written after it (trimmed), or NULL */
	char *value;
	/* the line as written (trimmed), for confirmations */
	char *line;
	/* "es" or "en": the language of the command word as written (static) */
	const char *lang;
};

/* Why a command line was not taken; the sentences are the templates' (command_results.h). */
enum command_error_code {
	COMMAND_ERROR_UNKNOWN_VALUE,  /* a value that is not one of the command's */
	COMMAND_ERROR_MISSING_VALUE,  /* no value where one is needed */
	COMMAND_ERROR_TAKES_NO_VALUE, /* a value after #internal or #forward */
	COMMAND_ERROR_LINE_TOO_LONG,  /* over COMMANDS_MAX_LINE bytes: not read further */
	COMMAND_ERROR_REPLACED,	      /* valid, but a later command of its kind replaces it */
};

struct command_error {
	enum command_error_code code;
	enum command_kind kind;
	/* the line as the agent should see it quoted: trimmed, cut to 80 characters (and "…");
	 * only the command word when the value is missing ("#estado", not "#estado:") */
	char *line;
};

struct command_block {
	/* struct command *, in the order of their lines; at most one of each kind */
	GPtrArray *commands;
	/* struct command_error *, in the order of their lines (a replaced command where the line
	 * that replaces it is), one per command line that was not applied */
	GPtrArray *errors;
	/* the text after the command block (what the agent wrote to the requester), trimmed; ""
	 * when there is none */
	char *rest;
};

/* Reads the command block at the top of new_text (the reply's new text, already split from the
 * quoted history; UTF-8, invalid bytes are repaired first; NULL is ""). The command words of both
 * languages are accepted whatever the desk's language. Never fails; caller frees with
 * command_block_clear().
 *
 * The block is the lines before the first line that is neither blank nor a command line. A
 * command line starts (after blanks) with '#' and a command word, compared without case or
 * accents: status/estado, priority/prioridad, assign/asignar, kind/tipo, internal/interno,
 * forward/reenviar. Any
 * other line, "#123 see above" and "# heading" included, ends the block and is never an error.
 * The word may be followed by blanks, an optional ':' and the value:
 *   status    new|nuevo, in-progress|in progress|inprogress|en-curso|en curso, pending|pendiente,
 *             resolved|resuelto, closed|cerrado (case, accents, '-', '_' and blanks ignored)
 *   priority  P1..P5 or 1..5
 *   assign    any non-empty text (an address, a name, a local part), kept as written
 *   kind      incident|incidente|incidencia, request|solicitud|peticion
 *   internal  no value
 *   forward   no value
 * A command line with a bad or missing value, or longer than COMMANDS_MAX_LINE, is an error and is
 * not applied; it does not end the block.
 *
 * A command given twice (in either language): the last valid one wins, each earlier one is
 * dropped from commands and reported in errors (COMMAND_ERROR_REPLACED), so the agent learns that
 * a line did nothing. errors are for the agent's
 * confirmation: the valid commands stand even when there are errors.
 *
 * rest is the whole text, trimmed, when there are no command lines. Time and memory are linear
 * in the text. */
void commands_parse(const char *new_text, struct command_block *out);

/* commands_parse() for a requester's mail: the same block, lines and errors, with two more
 * words, the requester's own:
 *   close     close/cerrar, with an optional reason after it ("#close fixed, thanks")
 *   my-tickets "#my tickets", "#mis tickets", "#mytickets", "#mistickets" (case, accents and
 *             blanks ignored; "tiquets" too); "#my" or "#mis" followed by anything else is no
 *             command word and ends the block; no value
 * The agents' words are read as well, so that a requester's "#priority P1" is a command line
 * (which the caller does not apply) and not the start of their text. Never fails; caller frees
 * with command_block_clear(). */
void commands_parse_requester(const char *new_text, struct command_block *out);

/* The kind's English command word ("status", "internal", "close", "my-tickets"...): its token in
 * machine formats. */
const char *command_kind_name(enum command_kind kind);
/* The kind whose token is name, or -1. */
int command_kind_from_name(const char *name);

/* Frees what commands_parse() filled and zeroes b; safe on a zeroed or already-cleared b. */
void command_block_clear(struct command_block *b);

#endif
