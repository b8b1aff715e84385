/* What the spocctl commands share: the run's context (options, configuration, database), the
 * exit codes, argument parsing, and the record writer that prints every list either as a JSON
 * array or as a table for people. Each command group lives in its own ctl_<group>.c; spocctl.c
 * parses the global options and dispatches. */
#ifndef SPOC_CTL_H
#define SPOC_CTL_H

#include "conf.h"
#include "store.h"

#include <glib.h>
#include <stdint.h>
#include <stdio.h>

#define CTL_EXIT_FAIL	  1 /* the thing asked for failed or does not exist */
#define CTL_EXIT_USAGE	  2
#define CTL_EXIT_TEMPFAIL 75 /* the database could not be reached: try again later */

struct ctl {
	const char *conf_path; /* NULL: the default, optional for inspect */
	gboolean json;
	struct spoc_conf *conf;
	struct store *st;
};

/* The command entry points: argv[0] is the command's name, argv[1] its subcommand if any.
 * Each returns the process's exit status. */
int ctl_inspect(struct ctl *c, int argc, char **argv);
int ctl_quarantine(struct ctl *c, int argc, char **argv);
int ctl_agent(struct ctl *c, int argc, char **argv);
int ctl_address(struct ctl *c, int argc, char **argv);
int ctl_outbox(struct ctl *c, int argc, char **argv);
int ctl_kb(struct ctl *c, int argc, char **argv);
int ctl_sla(struct ctl *c, int argc, char **argv);
int ctl_ticket(struct ctl *c, int argc, char **argv);
int ctl_stats(struct ctl *c, int argc, char **argv);
int ctl_health(struct ctl *c, int argc, char **argv);
int ctl_attachment(struct ctl *c, int argc, char **argv);
int ctl_oauth(struct ctl *c, int argc, char **argv);

/* ---- what reaches the terminal ----
 *
 * Subjects, names, addresses, a mail's text, a relayed body, a bounce's reason and the
 * database's errors are strangers' text. Whatever spocctl prints for people goes through
 * text_for_terminal(): ctl_say() on standard output, ctl_err() on standard error, the cells of
 * the record writer (escaped, then padded and cut in terminal columns); JSON goes through
 * ctl_json_out(). Only --raw writes bytes as stored, and not to a terminal (ctl_raw_allowed()). */

/* printf() on standard output of what text_for_terminal(TEXT_TERMINAL_LINES) makes of it: the
 * lines and tabs of the format and of a mail's text stay, nothing a terminal acts on passes. A
 * value that must stay on its line (a name, a subject) goes in through ctl_line(). */
void ctl_say(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* "spocctl: ", the message as one line of visible text (text_for_terminal(TEXT_TERMINAL_LINE):
 * a line break in the database's or the mail's text in it shows as \n) and a newline, on
 * standard error. */
void ctl_err(const char *fmt, ...) G_GNUC_PRINTF(1, 2);
/* s (NULL: "") as one line of visible text, for ctl_say(): a newline in a subject cannot start a
 * line that reads as spocctl's own. Valid until the next ctl_say() or ctl_err() has printed. */
const char *ctl_line(const char *s);
/* JSON text on standard output through text_json_for_terminal(): the same JSON, with nothing in
 * it that a terminal acts on. */
void ctl_json_out(const char *json);
/* 0 when what (the command, "outbox show 12") may write raw bytes on standard output: it is not
 * a terminal, or force; else CTL_EXIT_USAGE after a message that names --force. */
int ctl_raw_allowed(const char *what, gboolean force);

/* The usage text, on f (spocctl.c). */
void ctl_usage(FILE *f);

/* The exit status for a failed SPOC_ETEMP / SPOC_EPERM call. */
int ctl_exit_for(int rc);
/* Prints err's message (ctl_err()) and returns ctl_exit_for(rc). */
int ctl_fail(int rc, const struct errbuf *err);
/* Loads the configuration into c->conf; required when the user named one or when the command
 * needs the database. 0, or an exit status after a message. */
int ctl_load_conf(struct ctl *c, gboolean required);
/* Loads the configuration and connects c->st. 0, or an exit status after a message. */
int ctl_open_db(struct ctl *c);
/* The whole of a file, or of standard input for "-"; NULL with a message on failure. Caller
 * unrefs. */
GBytes *ctl_read_input(const char *path);

/* A positive decimal ID, else -1. */
int64_t ctl_parse_id(const char *s);
/* A count given to --limit: 1..10000, else -1. */
int ctl_parse_limit(const char *s);
/* TRUE when sub is one of allowed (NULL-terminated); otherwise says on stderr what command
 * takes ("spocctl: kb: unknown command \"x\" (add, list, remove, suggest)"). */
gboolean ctl_subcommand(const char *command, const char *sub, const char *const *allowed);
/* argv[*i] is an option that takes a value: *value_r is the next argument, and *i steps over
 * it. FALSE, with a message naming the option and what (the command), when there is none. */
gboolean ctl_option_value(int argc, char **argv, int *i, const char *what, const char **value_r);

/* ---- the record writer ----
 *
 * A list is a table of columns, filled one row at a time, one cell per column in the columns'
 * order. It prints as a JSON array of objects (the columns with a key) under --json, else as a
 * table with a heading line (the columns with a head). A column may be in both, or in one only
 * when the JSON and the table order or present a field differently. A cell of the table is one
 * line of visible text: text_for_terminal() escapes what a terminal would act on, newlines and
 * tabs too, before it is cut or padded. */

struct ctl_column {
	const char *key;  /* member name in the JSON object; NULL: in the table only */
	const char *head; /* heading in the table; NULL: in the JSON only */
	int width;	  /* table: padded to this many terminal columns; 0: as is (the last one) */
	gboolean right;	  /* table: aligned right, as numbers are */
	gboolean cut;	  /* table: cut to width with "…" */
	const char *sep;  /* table: what stands before the column; NULL: one blank */
};

struct ctl_table;

/* A table of the first ncols of cols, which must outlive it. Free with ctl_table_free(). */
struct ctl_table *ctl_table_new(const struct ctl_column *cols, guint ncols);
void ctl_table_free(struct ctl_table **t);

/* Starts a row; the cells that follow fill its columns in order. */
void ctl_table_row(struct ctl_table *t);
/* A string cell: JSON null and an empty cell when s is NULL. */
void ctl_table_str(struct ctl_table *t, const char *s);
void ctl_table_int(struct ctl_table *t, int64_t v);
/* true/false in JSON, yes/no in the table. */
void ctl_table_bool(struct ctl_table *t, gboolean v);
/* JSON null, an empty cell in the table. */
void ctl_table_null(struct ctl_table *t);
/* Text that is JSON already (NULL: null), printed as is. */
void ctl_table_raw(struct ctl_table *t, const char *json);
/* A string cell put together from pieces, typically for a table-only column; pieces that must
 * be cut come from ctl_table_cut(). */
void ctl_table_printf(struct ctl_table *t, const char *fmt, ...) G_GNUC_PRINTF(2, 3);
/* s (NULL: "") as one line of visible text (text_for_terminal_cut()) in width terminal columns,
 * cut with "…"; owned by the table. */
const char *ctl_table_cut(struct ctl_table *t, const char *s, glong width);

/* Row i as a JSON object, appended to out (for a command that shows one record). */
void ctl_table_json_row(const struct ctl_table *t, guint i, GString *out);
/* Prints it to stdout: the JSON array under --json; else the table, or the line empty (no
 * newline in it) when there is no row and empty is not NULL. */
void ctl_table_print(const struct ctl *c, const struct ctl_table *t, const char *empty);

#endif
