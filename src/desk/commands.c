/* Reads the command block an agent writes at the top of a reply (commands.h says what a command
 * looks like and what the block gives back). Words and values are compared after folding: NFD,
 * combining marks dropped, lower case, so "#ESTADO Resuelto" and "#estado resuelto" are one
 * command; a value is also compared without blanks, '-' and '_', which is what makes "in progress",
 * "in-progress" and "inprogress" the same. Each command line is at most COMMANDS_MAX_LINE bytes
 * and a block at most COMMANDS_MAX_LINES lines, so the folding work is bounded whatever the input;
 * the rest of the text is only scanned for line ends. Pure: no I/O, only GLib. */
#include "commands.h"
#include "ticket.h"

#include <string.h>

/* longest "#word" looked at: the longest command word is 9 letters */
#define COMMANDS_MAX_WORD 32
/* characters of a line quoted in an error text */
#define COMMANDS_SHOWN 80

#define KIND_COUNT (COMMAND_MY_TICKETS + 1)

struct commands_word {
	const char *folded;
	enum command_kind kind;
	gboolean requester_only; /* a word only commands_parse_requester() reads */
	const char *lang;	 /* the language it is a word of */
};

static const struct commands_word commands_words[] = {
    {"status", COMMAND_STATUS, FALSE, "en"},
    {"estado", COMMAND_STATUS, FALSE, "es"},
    {"priority", COMMAND_PRIORITY, FALSE, "en"},
    {"prioridad", COMMAND_PRIORITY, FALSE, "es"},
    {"assign", COMMAND_ASSIGN, FALSE, "en"},
    {"asignar", COMMAND_ASSIGN, FALSE, "es"},
    {"kind", COMMAND_KIND, FALSE, "en"},
    {"tipo", COMMAND_KIND, FALSE, "es"},
    {"internal", COMMAND_INTERNAL, FALSE, "en"},
    {"interno", COMMAND_INTERNAL, FALSE, "es"},
    {"forward", COMMAND_FORWARD, FALSE, "en"},
    {"reenviar", COMMAND_FORWARD, FALSE, "es"},
    {"close", COMMAND_CLOSE, TRUE, "en"},
    {"cerrar", COMMAND_CLOSE, TRUE, "es"},
    {"mytickets", COMMAND_MY_TICKETS, TRUE, "en"},
    {"mistickets", COMMAND_MY_TICKETS, TRUE, "es"},
    {"mytiquets", COMMAND_MY_TICKETS, TRUE, "en"},
    {"mistiquets", COMMAND_MY_TICKETS, TRUE, "es"},
};

/* "#my tickets" is two words: the first alone, then the second as the whole rest of the line */
static const char *const my_words[] = {"my", "mis"};
static const char *const my_langs[] = {"en", "es"};
static const char *const tickets_words[] = {"tickets", "tiquets"};

/* each kind's token: its English word */
static const char *const commands_names[KIND_COUNT] = {
    [COMMAND_STATUS] = "status", [COMMAND_PRIORITY] = "priority", [COMMAND_ASSIGN] = "assign",
    [COMMAND_KIND] = "kind",	 [COMMAND_INTERNAL] = "internal", [COMMAND_FORWARD] = "forward",
    [COMMAND_CLOSE] = "close",	 [COMMAND_MY_TICKETS] = "my-tickets",
};

const char *command_kind_name(enum command_kind kind)
{
	return (unsigned)kind < KIND_COUNT ? commands_names[kind] : "";
}

int command_kind_from_name(const char *name)
{
	for (int k = 0; name != NULL && k < KIND_COUNT; k++)
		if (strcmp(name, commands_names[k]) == 0)
			return k;
	return -1;
}

static void command_free(gpointer p)
{
	struct command *c = p;

	g_free(c->value);
	g_free(c->line);
	g_free(c);
}

static void command_error_free(gpointer p)
{
	struct command_error *e = p;

	g_free(e->line);
	g_free(e);
}

/* Adds an error for line, which the block takes. */
static void add_error(struct command_block *b, enum command_error_code code, enum command_kind kind,
		      char *line)
{
	struct command_error *e = g_new0(struct command_error, 1);

	e->code = code;
	e->kind = kind;
	e->line = line;
	g_ptr_array_add(b->errors, e);
}

/* bytes of the blank at p (before end): ASCII blanks, and the no-break space that Outlook and
 * mobile clients put between words; 0 when p is no blank */
static int blank_at(const char *p, const char *end)
{
	if (p >= end)
		return 0;
	if (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v')
		return 1;
	return end - p >= 2 && p[0] == '\xc2' && p[1] == '\xa0' ? 2 : 0;
}

/* bytes of the blank that ends just before end (after start), or 0 */
static int blank_before(const char *start, const char *end)
{
	if (end - start >= 2 && end[-2] == '\xc2' && end[-1] == '\xa0')
		return 2;
	return end > start && blank_at(end - 1, end) == 1 ? 1 : 0;
}

/* s[0..n) folded for comparison: NFD, no combining marks, lower case, and without blanks, '-'
 * and '_' when compact; caller g_free()s. s is valid UTF-8. */
static char *fold(const char *s, gssize n, gboolean compact)
{
	char *nfd = g_utf8_normalize(s, n, G_NORMALIZE_NFD);
	GString *out = g_string_new(NULL);

	for (const char *p = nfd; p != NULL && *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_ismark(c))
			continue;
		if (compact && (g_unichar_isspace(c) || c == '-' || c == '_'))
			continue;
		g_string_append_unichar(out, g_unichar_tolower(c));
	}
	g_free(nfd);
	return g_string_free(out, FALSE);
}

static gboolean in_words(const char *w, const char *const *words, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(w, words[i]) == 0)
			return TRUE;
	return FALSE;
}

/* The command word of a line that starts with '#' (line[0]), or -1 when it is not one; the
 * requester's words count only with requester. *end_r is where the word ends (for "#my
 * tickets", the line's end). */
static int command_word(const char *line, const char *eol, gboolean requester,
			const char **end_r, const char **lang_r)
{
	const char *p = line + 1;
	int kind = -1;

	while (p < eol && blank_at(p, eol) == 0 && *p != ':' && p - line <= COMMANDS_MAX_WORD)
		p++;
	if (p == line + 1 || p - line > COMMANDS_MAX_WORD)
		return -1;
	char *w = fold(line + 1, p - (line + 1), FALSE);
	/* a requester's word also without its '-' or '_' ("#mis-tickets") */
	char *compact = requester ? fold(line + 1, p - (line + 1), TRUE) : NULL;
	for (size_t i = 0; i < G_N_ELEMENTS(commands_words); i++)
		if (commands_words[i].requester_only
			? requester && strcmp(compact, commands_words[i].folded) == 0
			: strcmp(w, commands_words[i].folded) == 0) {
			kind = (int)commands_words[i].kind;
			*lang_r = commands_words[i].lang;
		}
	g_free(compact);
	if (kind < 0 && requester && in_words(w, my_words, G_N_ELEMENTS(my_words)) &&
	    eol - p <= COMMANDS_MAX_WORD) {
		char *rest = fold(p, eol - p, TRUE);

		if (in_words(rest, tickets_words, G_N_ELEMENTS(tickets_words))) {
			kind = COMMAND_MY_TICKETS;
			*lang_r = my_langs[strcmp(w, my_words[0]) == 0 ? 0 : 1];
			p = eol;
		}
		g_free(rest);
	}
	g_free(w);
	*end_r = p;
	return kind;
}

/* The normalised value of a command (see struct command), NULL for the kinds without a value,
 * or sets *bad_r. */
static char *command_value(enum command_kind kind, const char *value, gboolean *bad_r)
{
	char *v = NULL;
	char *f = fold(value, -1, TRUE);

	*bad_r = FALSE;
	switch (kind) {
	case COMMAND_STATUS:
		if (strcmp(f, "new") == 0 || strcmp(f, "nuevo") == 0)
			v = g_strdup(ticket_status_name(TICKET_NEW));
		else if (strcmp(f, "inprogress") == 0 || strcmp(f, "encurso") == 0)
			v = g_strdup(ticket_status_name(TICKET_IN_PROGRESS));
		else if (strcmp(f, "pending") == 0 || strcmp(f, "pendiente") == 0)
			v = g_strdup(ticket_status_name(TICKET_PENDING));
		else if (strcmp(f, "resolved") == 0 || strcmp(f, "resuelto") == 0)
			v = g_strdup(ticket_status_name(TICKET_RESOLVED));
		else if (strcmp(f, "closed") == 0 || strcmp(f, "cerrado") == 0)
			v = g_strdup(ticket_status_name(TICKET_CLOSED));
		break;
	case COMMAND_PRIORITY: {
		const char *d = f[0] == 'p' ? f + 1 : f;

		if (d[0] >= '1' && d[0] <= '5' && d[1] == '\0')
			v = g_strndup(d, 1);
		break;
	}
	case COMMAND_ASSIGN:
		if (value[0] != '\0')
			v = g_strdup(value);
		break;
	case COMMAND_KIND:
		if (strcmp(f, "incident") == 0 || strcmp(f, "incidente") == 0 ||
		    strcmp(f, "incidencia") == 0)
			v = g_strdup("incident");
		else if (strcmp(f, "request") == 0 || strcmp(f, "solicitud") == 0 ||
			 strcmp(f, "peticion") == 0)
			v = g_strdup("request");
		break;
	case COMMAND_CLOSE:
		/* the requester's reason, kept as written */
		if (value[0] != '\0')
			v = g_strdup(value);
		break;
	case COMMAND_INTERNAL:
	case COMMAND_FORWARD:
	case COMMAND_MY_TICKETS:
		break;
	}
	if (kind == COMMAND_INTERNAL || kind == COMMAND_FORWARD || kind == COMMAND_MY_TICKETS)
		*bad_r = value[0] != '\0';
	else
		*bad_r = kind != COMMAND_CLOSE && v == NULL;
	g_free(f);
	return v;
}

/* line[0..n) as shown in an error: at most COMMANDS_SHOWN characters; caller g_free()s */
static char *shown(const char *line, size_t n)
{
	char *s = g_strndup(line, n);

	if (g_utf8_strlen(s, -1) > COMMANDS_SHOWN) {
		char *cut = g_utf8_substring(s, 0, COMMANDS_SHOWN);

		g_free(s);
		s = g_strconcat(cut, "…", NULL);
		g_free(cut);
	}
	return s;
}

static void parse(const char *new_text, gboolean requester, struct command_block *out)
{
	char *text = g_utf8_make_valid(new_text != NULL ? new_text : "", -1);
	struct command *last[KIND_COUNT] = {NULL};
	/* each last command's line as an error shows it */
	char *last_shown[KIND_COUNT] = {NULL};
	const char *p = text;
	int lines = 0;

	out->commands = g_ptr_array_new_with_free_func(command_free);
	out->errors = g_ptr_array_new_with_free_func(command_error_free);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		const char *eol = nl != NULL ? nl : p + strlen(p);
		const char *next = nl != NULL ? nl + 1 : eol;
		const char *s = p, *e = eol, *word_end, *lang = NULL;
		int kind;

		for (int k; (k = blank_at(s, e)) > 0;)
			s += k;
		for (int k; (k = blank_before(s, e)) > 0;)
			e -= k;
		if (s == e) {
			p = next;
			continue;
		}
		if (*s != '#' || lines >= COMMANDS_MAX_LINES)
			break;
		kind = command_word(s, e, requester, &word_end, &lang);
		if (kind < 0)
			break;
		lines++;
		p = next;

		char *line = shown(s, e - s);
		if ((size_t)(e - s) > COMMANDS_MAX_LINE) {
			add_error(out, COMMAND_ERROR_LINE_TOO_LONG, kind, line);
			continue;
		}

		const char *v = word_end;
		for (int k; (k = blank_at(v, e)) > 0;)
			v += k;
		if (v < e && *v == ':')
			v++;
		for (int k; (k = blank_at(v, e)) > 0;)
			v += k;
		char *value = g_strndup(v, e - v);
		gboolean bad;
		char *norm = command_value(kind, value, &bad);

		if (bad && value[0] == '\0') {
			/* "#estado:" is quoted as "#estado", the word alone */
			g_free(line);
			line = g_strndup(s, word_end - s);
		}
		if (bad)
			add_error(out,
				  kind == COMMAND_INTERNAL || kind == COMMAND_FORWARD ||
					  kind == COMMAND_MY_TICKETS
				      ? COMMAND_ERROR_TAKES_NO_VALUE
				  : value[0] == '\0' ? COMMAND_ERROR_MISSING_VALUE
						     : COMMAND_ERROR_UNKNOWN_VALUE,
				  kind, line);
		else {
			struct command *c = g_new0(struct command, 1);

			if (last[kind] != NULL) {
				add_error(out, COMMAND_ERROR_REPLACED, kind, last_shown[kind]);
				g_ptr_array_remove(out->commands, last[kind]);
			}
			c->kind = kind;
			c->lang = lang;
			c->value = norm;
			c->line = g_strndup(s, e - s);
			norm = NULL;
			last[kind] = c;
			last_shown[kind] = line;
			g_ptr_array_add(out->commands, c);
		}
		g_free(norm);
		g_free(value);
	}
	out->rest = g_strstrip(g_strdup(p));
	for (int k = 0; k < KIND_COUNT; k++)
		g_free(last_shown[k]);
	g_free(text);
}

void commands_parse(const char *new_text, struct command_block *out)
{
	parse(new_text, FALSE, out);
}

void commands_parse_requester(const char *new_text, struct command_block *out)
{
	parse(new_text, TRUE, out);
}

void command_block_clear(struct command_block *b)
{
	if (b->commands != NULL)
		g_ptr_array_unref(b->commands);
	if (b->errors != NULL)
		g_ptr_array_unref(b->errors);
	g_free(b->rest);
	memset(b, 0, sizeof(*b));
}
