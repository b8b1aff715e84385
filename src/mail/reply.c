/* Splits the text of one incoming message into what the sender wrote now, the quoted history and
 * the signature, from the markers that mail clients put in replies: attribution lines ("On ...
 * wrote:", "El ... escribió:", also wrapped over two or three lines), Outlook's header blocks
 * ("From:/Sent:/To:/Subject:", "De:/Enviado:/Para:/Asunto:", after "-----Original Message-----"
 * or a line of underscores, or alone), '>' quoting, forward separators, "-- " and the mobile
 * "Sent from my iPhone" lines. HTML mail arrives here already as text (html.c), so a Gmail quote
 * is an attribution line followed by unprefixed paragraphs and Outlook's is a header block.
 *
 * The text is read once, line by line, with a look-ahead of a few lines and no regex, so a
 * hostile megabyte body costs linear time; the result is at most a handful of byte ranges of the
 * input, which makes the three fields a partition of its lines by construction.
 *
 * Choices, for what an agent should read:
 * - Top posting (new text, then the history): everything from the first history marker to the end
 *   is quoted, whatever it contains.
 * - Bottom posting ('>' history first, then the answer): the leading '>' block and its
 *   attribution are quoted, the answer is new_text.
 * - Interleaved answers (text, '>' lines, text again): the answers make no sense without the
 *   questions they follow, so new_text keeps everything from the top to the last unquoted line,
 *   quotes included; only the '>' blocks after the last answer are quoted.
 * - A forward (Gmail's "---------- Forwarded message ---------", Apple's "Begin forwarded
 *   message:", Thunderbird's "-------- Forwarded Message --------", the Spanish ones) is something
 *   the user wants the desk to read, like an error mail: from its separator to the end it stays in
 *   new_text, unless a reply's history marker comes first (then the forward is part of that
 *   history and quoted). Outlook's forwards, and old Thunderbird's "-------- Original Message
 *   --------" ones, look exactly like replies in the body (Samsung's mail app replies with that
 *   very line); the caller that sees "FW:"/"RV:"/"Fwd:" in the subject passes REPLY_FORWARDED
 *   to keep them.
 * - Closing lines ("Thanks,\nAna", "Saludos,\nAna") stay in new_text: they cannot be told from
 *   the last sentence of a message reliably, and leaving them costs an agent one line. */
#include "reply.h"

#include <string.h>

/* Longer lines are never markers: no client writes a header line or an attribution this long,
 * and the checks below stay cheap on hostile input. */
#define REPLY_MAX_MARKER_LINE 4000
/* Longest attribution, joined when a client wrapped it. */
#define REPLY_MAX_ATTRIBUTION 500
/* Most lines of an Outlook header block looked at (From, Sent, To, Cc, Bcc, Subject,
 * Importance, Attachments and a wrapped recipient list). */
#define REPLY_MAX_HEADER_LINES 10
/* Longest line taken for a mobile signature; an unknown "Sent from my ..." must be shorter still,
 * and the last line the sender wrote. */
#define REPLY_MAX_MOBILE_LINE	   120
#define REPLY_MAX_WEAK_MOBILE_LINE 60

/* One line of the text. */
struct line {
	const char *start; /* its first byte */
	const char *end;   /* its '\n', or the end of the text */
	const char *s;	   /* its content without leading and trailing blanks */
	size_t n;
};

enum marker {
	MARK_NONE,
	MARK_HISTORY,	  /* a reply's history starts here and runs to the end */
	MARK_FORWARD,	  /* a forwarded message starts here and runs to the end */
	MARK_QUOTE_INTRO, /* an attribution line that introduces the '>' lines below it */
};

enum attribution {
	ATTR_NONE,
	ATTR_WEAK,   /* "... wrote:": an attribution only when '>' lines follow */
	ATTR_STRONG, /* date or address in it: an attribution even before unprefixed text */
};

enum field {
	FIELD_NONE,
	FIELD_FROM,
	FIELD_DATE,
	FIELD_TO,
	FIELD_CC,
	FIELD_SUBJECT,
	FIELD_OTHER,
};

/* Width of the blank (space, tab, CR, no-break space) at p, 0 if none. CR is a blank so that a
 * stray CRLF text still matches. */
static size_t blank_width(const char *p, const char *end)
{
	if (p < end && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\f' || *p == '\v'))
		return 1;
	if (end - p >= 2 && (guchar)p[0] == 0xc2 && (guchar)p[1] == 0xa0)
		return 2;
	return 0;
}

/* Width of the blank that ends just before p, not looking before start. */
static size_t blank_width_before(const char *start, const char *p)
{
	if (p > start &&
	    (p[-1] == ' ' || p[-1] == '\t' || p[-1] == '\r' || p[-1] == '\f' || p[-1] == '\v'))
		return 1;
	/* 0xc2 never continues a character, so "c2 a0" at the end is always a no-break space */
	if (p - start >= 2 && (guchar)p[-2] == 0xc2 && (guchar)p[-1] == 0xa0)
		return 2;
	return 0;
}

/* Reads the line at p (p < text_end) into l; returns where the next line starts. */
static const char *line_get(const char *p, const char *text_end, struct line *l)
{
	const char *nl = memchr(p, '\n', (size_t)(text_end - p));
	const char *s = p, *e;
	size_t w;

	l->start = p;
	l->end = nl != NULL ? nl : text_end;
	e = l->end;
	while ((w = blank_width(s, e)) > 0)
		s += w;
	while ((w = blank_width_before(s, e)) > 0)
		e -= w;
	l->s = s;
	l->n = (size_t)(e - s);
	return nl != NULL ? nl + 1 : text_end;
}

/* Where the line after l starts. */
static const char *line_next(const struct line *l, const char *text_end)
{
	return l->end < text_end ? l->end + 1 : text_end;
}

static gboolean has_prefix_ci(const char *s, size_t n, const char *prefix)
{
	size_t k = strlen(prefix);

	return n >= k && g_ascii_strncasecmp(s, prefix, k) == 0;
}

static gboolean has_suffix_ci(const char *s, size_t n, const char *suffix)
{
	size_t k = strlen(suffix);

	return n >= k && g_ascii_strncasecmp(s + n - k, suffix, k) == 0;
}

static gboolean equals_ci(const char *s, size_t n, const char *word)
{
	return strlen(word) == n && g_ascii_strncasecmp(s, word, n) == 0;
}

/* g_ascii_tolower() without the call: it runs for every line of every body, several times */
static inline char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static gboolean has_any_prefix_ci(const char *s, size_t n, const char *const *prefixes)
{
	char first;

	if (n == 0)
		return FALSE;
	/* the first letter rules out most of a long list without a strlen() */
	first = ascii_lower(s[0]);
	for (; *prefixes != NULL; prefixes++)
		if (first == ascii_lower((*prefixes)[0]) && has_prefix_ci(s, n, *prefixes))
			return TRUE;
	return FALSE;
}

/* Case-sensitive substring test over the n bytes at s; the needles are short. */
static gboolean contains(const char *s, size_t n, const char *needle)
{
	size_t k = strlen(needle);

	for (size_t i = 0; i + k <= n; i++)
		if (s[i] == needle[0] && memcmp(s + i, needle, k) == 0)
			return TRUE;
	return FALSE;
}

static gboolean contains_any(const char *s, size_t n, const char *const *needles)
{
	for (; *needles != NULL; needles++)
		if (contains(s, n, *needles))
			return TRUE;
	return FALSE;
}

static gboolean has_digit(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (g_ascii_isdigit(s[i]))
			return TRUE;
	return FALSE;
}

/* ---- separators and Outlook header blocks ---- */

/* The words between the dashes of "-----Original Message-----" and its translations: a reply's
 * history. */
static const char *const separator_history[] = {
    "original message",	 "mensaje original",	"ursprüngliche nachricht", "message d'origine",
    "mensagem original", "messaggio originale", "oorspronkelijk bericht",  NULL};

/* ... and of "---------- Forwarded message ---------": a forwarded message. */
static const char *const separator_forward[] = {
    "forwarded message", "mensaje reenviado",	"weitergeleitete nachricht", "mensagem encaminhada",
    "message transféré", "messaggio inoltrato", "doorgestuurd bericht",	     NULL};

/* Lines that start a forward on their own (Apple Mail). */
static const char *const forward_lines[] = {"Begin forwarded message:",
					    "Inicio del mensaje reenviado:",
					    "Comienzo del mensaje reenviado:",
					    "Início da mensagem reencaminhada:",
					    "Anfang der weitergeleiteten Nachricht:",
					    "Début du message réexpédié :",
					    "Début du message réexpédié:",
					    NULL};

/* MARK_HISTORY, MARK_FORWARD or MARK_NONE for a separator line such as
 * "-----Original Message-----" or "Begin forwarded message:". */
static enum marker separator_kind(const char *s, size_t n)
{
	size_t lead = 0, trail = 0, a, b;

	for (const char *const *f = forward_lines; *f != NULL; f++)
		if (equals_ci(s, n, *f))
			return MARK_FORWARD;
	while (lead < n && s[lead] == '-')
		lead++;
	if (lead < 2)
		return MARK_NONE;
	while (trail < n - lead && s[n - 1 - trail] == '-')
		trail++;
	if (trail < 2)
		return MARK_NONE;
	a = lead;
	b = n - trail;
	while (a < b && s[a] == ' ')
		a++;
	while (b > a && s[b - 1] == ' ')
		b--;
	for (const char *const *f = separator_forward; *f != NULL; f++)
		if (equals_ci(s + a, b - a, *f))
			return MARK_FORWARD;
	/* Outlook, Yahoo, AOL and Samsung's mail app reply with "Original Message"; so did
	 * Thunderbird's inline forward once, but its subject says "Fwd:" (REPLY_FORWARDED) */
	for (const char *const *h = separator_history; *h != NULL; h++)
		if (equals_ci(s + a, b - a, *h))
			return MARK_HISTORY;
	return MARK_NONE;
}

/* clang-format off */
#define HEADER_FIELD(name, field) {name, sizeof(name) - 1, field}
/* clang-format on */
static const struct {
	const char *name;
	size_t len;
	enum field field;
} header_fields[] = {
    HEADER_FIELD("from", FIELD_FROM),
    HEADER_FIELD("de", FIELD_FROM),
    HEADER_FIELD("von", FIELD_FROM),
    HEADER_FIELD("sent", FIELD_DATE),
    HEADER_FIELD("date", FIELD_DATE),
    HEADER_FIELD("enviado", FIELD_DATE),
    HEADER_FIELD("enviado el", FIELD_DATE),
    HEADER_FIELD("fecha", FIELD_DATE),
    HEADER_FIELD("gesendet", FIELD_DATE),
    HEADER_FIELD("datum", FIELD_DATE),
    HEADER_FIELD("envoyé", FIELD_DATE),
    HEADER_FIELD("envoyé le", FIELD_DATE),
    HEADER_FIELD("enviada em", FIELD_DATE),
    HEADER_FIELD("data", FIELD_DATE),
    HEADER_FIELD("to", FIELD_TO),
    HEADER_FIELD("para", FIELD_TO),
    HEADER_FIELD("an", FIELD_TO),
    HEADER_FIELD("à", FIELD_TO),
    HEADER_FIELD("À", FIELD_TO),
    HEADER_FIELD("cc", FIELD_CC),
    HEADER_FIELD("bcc", FIELD_CC),
    HEADER_FIELD("cco", FIELD_CC),
    HEADER_FIELD("cci", FIELD_CC),
    HEADER_FIELD("subject", FIELD_SUBJECT),
    HEADER_FIELD("asunto", FIELD_SUBJECT),
    HEADER_FIELD("betreff", FIELD_SUBJECT),
    HEADER_FIELD("objet", FIELD_SUBJECT),
    HEADER_FIELD("assunto", FIELD_SUBJECT),
    HEADER_FIELD("reply-to", FIELD_OTHER),
    HEADER_FIELD("responder a", FIELD_OTHER),
    HEADER_FIELD("importance", FIELD_OTHER),
    HEADER_FIELD("importancia", FIELD_OTHER),
    HEADER_FIELD("attachments", FIELD_OTHER),
    HEADER_FIELD("datos adjuntos", FIELD_OTHER),
};
#undef HEADER_FIELD

/* Which header field a line of a quoted header block starts with ("From: ...", "*Sent:* ...",
 * "De :"), FIELD_NONE if none. Looks at the first few bytes only. */
static enum field header_field(const char *s, size_t n)
{
	size_t i = 0, colon, end;

	while (i < n && s[i] == '*')
		i++;
	for (colon = i; colon < n && colon - i < 24 && s[colon] != ':'; colon++)
		;
	if (colon >= n || s[colon] != ':')
		return FIELD_NONE;
	end = colon;
	for (;;) {
		size_t w = blank_width_before(s + i, s + end);

		if (w == 0 && end > i && s[end - 1] == '*')
			w = 1;
		if (w == 0)
			break;
		end -= w;
	}
	for (size_t k = 0; k < G_N_ELEMENTS(header_fields); k++)
		if (header_fields[k].len == end - i &&
		    g_ascii_strncasecmp(s + i, header_fields[k].name, end - i) == 0)
			return header_fields[k].field;
	return FIELD_NONE;
}

/* TRUE when the fields seen make a header block: a sender, and a date or a subject. */
static gboolean header_block_seen(unsigned seen)
{
	return (seen & (1u << FIELD_FROM)) != 0 &&
	       (seen & ((1u << FIELD_DATE) | (1u << FIELD_SUBJECT))) != 0;
}

/* TRUE when a header block starts at l: consecutive lines of header fields (one wrapped
 * recipient line allowed) with a sender and a date or a subject among them. A sentence that
 * happens to start with "From:" has none of those after it. */
static gboolean header_block_at(const struct line *l, const char *text_end)
{
	enum field f = header_field(l->s, l->n);
	const char *p = line_next(l, text_end);
	unsigned seen = 1u << f;
	gboolean wrapped = FALSE;

	if (f == FIELD_NONE)
		return FALSE;
	for (int k = 0; k < REPLY_MAX_HEADER_LINES && p < text_end; k++) {
		struct line cur;

		p = line_get(p, text_end, &cur);
		if (cur.n == 0)
			break;
		f = header_field(cur.s, cur.n);
		if (f == FIELD_NONE) {
			if (wrapped)
				break;
			wrapped = TRUE;
			continue;
		}
		/* a block names its sender, date, recipient and subject once: a repeat ends the
		 * look-ahead early */
		if (f != FIELD_CC && f != FIELD_OTHER && (seen & (1u << f)) != 0)
			break;
		seen |= 1u << f;
		if (header_block_seen(seen))
			return TRUE;
	}
	return header_block_seen(seen);
}

/* TRUE for the whole Outlook header on one line, as HTML without line breaks becomes:
 * "From: Ana Sent: Monday ... To: Luis Subject: ...". */
static gboolean header_line_merged(const char *s, size_t n)
{
	static const char *const dates[] = {" Sent:",  " Date:",     " Enviado:", " Enviado el:",
					    " Fecha:", " Gesendet:", " Envoyé :", NULL};
	static const char *const others[] = {
	    " To:", " Subject:", " Para:", " Asunto:", " Betreff:", " Objet :", " À :", NULL};

	return header_field(s, n) == FIELD_FROM && contains_any(s, n, dates) &&
	       contains_any(s, n, others);
}

/* TRUE for a line of underscores (Outlook's rule above its header block). */
static gboolean is_underscore_rule(const char *s, size_t n)
{
	if (n < 10)
		return FALSE;
	for (size_t i = 0; i < n; i++)
		if (s[i] != '_')
			return FALSE;
	return TRUE;
}

/* TRUE when an Outlook header block starts at l: a block of header fields, the same on one line,
 * or a rule of underscores with a header field right after it. */
static gboolean outlook_block_at(const struct line *l, const char *text_end)
{
	if (is_underscore_rule(l->s, l->n)) {
		const char *p = line_next(l, text_end);

		for (int k = 0; k < 3 && p < text_end; k++) {
			struct line cur;

			p = line_get(p, text_end, &cur);
			if (cur.n > 0)
				return header_field(cur.s, cur.n) != FIELD_NONE;
		}
		return FALSE;
	}
	return header_block_at(l, text_end) || header_line_merged(l->s, l->n);
}

/* ---- attribution lines ---- */

static const char *const attribution_verbs[] = {
    "wrote:",	 "writes:",	"escribió:", "escribio:",	 "schrieb:",
    "escreveu:", "a écrit:",	"a écrit :", "a écrit\xc2\xa0:", "said:",
    "dijo:",	 "ha scritto:", "scrisse:",  "schreef:",	 NULL};

/* How attributions start when they carry the date first. */
static const char *const attribution_openers[] = {"On ", "El ", "Am ", "Em ",
						  "Le ", "Op ", "Il ", NULL};

/* The kind of attribution the trimmed text s (a line, or wrapped lines joined by spaces) is. */
static enum attribution attribution_kind(const char *s, size_t n)
{
	size_t before = 0;
	gboolean verb = FALSE, schrieb;

	if (n < 6 || n > REPLY_MAX_ATTRIBUTION || s[n - 1] != ':')
		return ATTR_NONE;
	for (const char *const *v = attribution_verbs; *v != NULL && !verb; v++)
		if (has_suffix_ci(s, n, *v)) {
			verb = TRUE;
			before = n - strlen(*v);
		}
	/* German puts the verb before the name: "Am 05.01.2026 um 10:00 schrieb Ana <a@x>:" */
	schrieb = has_prefix_ci(s, n, "Am ") && contains(s, n, " schrieb ");
	if (!verb && !schrieb)
		return ATTR_NONE;
	if (has_any_prefix_ci(s, n, attribution_openers) && has_digit(s, n) &&
	    (memchr(s, ',', n) != NULL || schrieb))
		return ATTR_STRONG;
	if (memchr(s, '@', n) != NULL) {
		/* the address in brackets right before the verb, as clients write it: "Ana
		 * <ana@x> wrote:", "Ana (<ana@x>) escribió:", "... schrieb Ana <ana@x>:" */
		size_t b = verb ? before : n - 1;

		while (b > 0 && s[b - 1] == ' ')
			b--;
		if (b > 0 && (s[b - 1] == '>' || s[b - 1] == ')' || s[b - 1] == ']'))
			return ATTR_STRONG;
	}
	return ATTR_WEAK;
}

/* The attribution that starts at l: the line alone, or, when it starts like one ("On Mon, ..."),
 * with the one or two lines a client wrapped it onto. Sets *last_r to its last line. */
static enum attribution attribution_at(const struct line *l, const char *text_end,
				       struct line *last_r)
{
	char buf[REPLY_MAX_ATTRIBUTION];
	enum attribution kind = attribution_kind(l->s, l->n);
	struct line cur = *l;
	const char *p = line_next(l, text_end);
	size_t len;

	*last_r = *l;
	if (kind != ATTR_NONE)
		return kind;
	if (l->n > sizeof buf || !has_any_prefix_ci(l->s, l->n, attribution_openers))
		return ATTR_NONE;
	memcpy(buf, l->s, l->n);
	len = l->n;
	for (int extra = 0; extra < 2 && p < text_end; extra++) {
		char last = cur.s[cur.n - 1];

		/* a wrapped attribution does not end a sentence halfway */
		if (last == '.' || last == '!' || last == '?' || last == ':')
			return ATTR_NONE;
		p = line_get(p, text_end, &cur);
		if (cur.n == 0 || cur.s[0] == '>' || len + 1 + cur.n > sizeof buf)
			return ATTR_NONE;
		buf[len++] = ' ';
		memcpy(buf + len, cur.s, cur.n);
		len += cur.n;
		kind = attribution_kind(buf, len);
		if (kind != ATTR_NONE) {
			*last_r = cur;
			return kind;
		}
	}
	return ATTR_NONE;
}

/* What the line l (not blank, not quoted) starts, looking a few lines ahead. For
 * MARK_QUOTE_INTRO, *next_r is where the line after the attribution starts. */
static enum marker marker_at(const struct line *l, const char *text_end, unsigned flags,
			     const char **next_r)
{
	enum marker sep = separator_kind(l->s, l->n);
	enum attribution kind;
	struct line last, cur;
	const char *p;

	if (sep == MARK_FORWARD)
		return MARK_FORWARD;
	if (sep == MARK_HISTORY || outlook_block_at(l, text_end))
		return (flags & REPLY_FORWARDED) != 0 ? MARK_FORWARD : MARK_HISTORY;
	kind = attribution_at(l, text_end, &last);
	if (kind == ATTR_NONE)
		return MARK_NONE;
	*next_r = line_next(&last, text_end);
	/* each blank line is skipped here for at most one attribution: still linear */
	for (p = *next_r; p < text_end;) {
		p = line_get(p, text_end, &cur);
		if (cur.n > 0)
			return cur.s[0] == '>'	     ? MARK_QUOTE_INTRO
			       : kind == ATTR_STRONG ? MARK_HISTORY
						     : MARK_NONE;
	}
	/* nothing after it: a reply whose quote was cut off */
	return kind == ATTR_STRONG ? MARK_HISTORY : MARK_NONE;
}

/* ---- signatures ---- */

/* Lines that mail apps for phones and webmail add at the end of what the sender wrote. */
static const char *const mobile_lines[] = {"Sent from my iPhone",
					   "Sent from my iPad",
					   "Sent from my Android",
					   "Sent from my BlackBerry",
					   "Sent from my Samsung",
					   "Sent from my Galaxy",
					   "Sent from my Huawei",
					   "Sent from my Xiaomi",
					   "Sent from my Pixel",
					   "Sent from my Windows",
					   "Sent from my mobile",
					   "Sent from my smartphone",
					   "Sent from my Sony",
					   "Sent from my LG",
					   "Sent from my HTC",
					   "Sent from my Motorola",
					   "Sent from my Nokia",
					   "Sent from my Verizon",
					   "Sent from my T-Mobile",
					   "Sent from my Sprint",
					   "Sent from Outlook",
					   "Sent from Mail for Windows",
					   "Sent from Yahoo Mail",
					   "Sent from Gmail Mobile",
					   "Sent from the all new AOL",
					   "Sent from AOL Mobile Mail",
					   "Sent from Samsung Mobile",
					   "Sent from ProtonMail",
					   "Sent with ProtonMail",
					   "Sent with Proton Mail",
					   "Get Outlook for iOS",
					   "Get Outlook for Android",
					   "Enviado desde mi iPhone",
					   "Enviado desde mi iPad",
					   "Enviado desde mi smartphone",
					   "Enviado desde mi dispositivo",
					   "Enviado desde mi teléfono",
					   "Enviado desde mi móvil",
					   "Enviado desde mi Samsung",
					   "Enviado desde mi Galaxy",
					   "Enviado desde mi Huawei",
					   "Enviado desde mi Xiaomi",
					   "Enviado desde mi BlackBerry",
					   "Enviado desde Outlook",
					   "Enviado desde Yahoo Mail",
					   "Enviado desde Correo para Windows",
					   "Enviado desde Correo de Windows",
					   "Obtener Outlook para iOS",
					   "Obtener Outlook para Android",
					   "Descargar Outlook para iOS",
					   "Descargar Outlook para Android",
					   "Von meinem iPhone gesendet",
					   "Von meinem iPad gesendet",
					   "Gesendet von meinem",
					   "Enviado do meu iPhone",
					   "Enviado do meu",
					   "Envoyé de mon iPhone",
					   "Envoyé de mon iPad",
					   NULL};

/* Beginnings too general to trust unless the line is short and the last the sender wrote. */
static const char *const mobile_weak_lines[] = {
    "Sent from my ",  "Sent from ",   "Sent with ", "Enviado desde mi ",
    "Enviado desde ", "Enviado con ", NULL};

/* TRUE when a signature certainly starts at this line: "-- " (or "--") or a known mobile line. */
static gboolean is_signature_start(const char *s, size_t n)
{
	if (n == 2 && s[0] == '-' && s[1] == '-')
		return TRUE;
	return n <= REPLY_MAX_MOBILE_LINE && has_any_prefix_ci(s, n, mobile_lines);
}

static gboolean is_weak_mobile_line(const char *s, size_t n)
{
	return n <= REPLY_MAX_WEAK_MOBILE_LINE && has_any_prefix_ci(s, n, mobile_weak_lines);
}

/* ---- the split ---- */

/* Narrows [*a, *b) to leave out its leading blank lines and trailing blanks. */
static void trim_piece(const char **a_r, const char **b_r)
{
	const char *a = *a_r, *b = *b_r;
	size_t w;

	while (a < b) {
		const char *q = a;

		while ((w = blank_width(q, b)) > 0)
			q += w;
		if (q < b && *q != '\n')
			break;
		a = q < b ? q + 1 : b;
	}
	while (b > a) {
		if (b[-1] == '\n')
			b--;
		else if ((w = blank_width_before(a, b)) > 0)
			b -= w;
		else
			break;
	}
	*a_r = a;
	*b_r = a < b ? b : a;
}

/* Appends [a, b) to out without its leading blank lines and trailing blanks, after a blank line
 * when out already has a piece. */
static void append_piece(GString *out, const char *a, const char *b)
{
	trim_piece(&a, &b);
	if (a >= b)
		return;
	if (out->len > 0)
		g_string_append(out, "\n\n");
	g_string_append_len(out, a, b - a);
}

/* One of the three parts being built from ranges of the text, given in the text's order. */
struct part {
	GString *out;
	const char *a, *b; /* the range not appended yet; a == NULL when none */
};

/* TRUE when [a, b) holds only blanks and line breaks. */
static gboolean only_blanks(const char *a, const char *b)
{
	size_t w;

	while (a < b) {
		if (*a == '\n')
			a++;
		else if ((w = blank_width(a, b)) > 0)
			a += w;
		else
			return FALSE;
	}
	return TRUE;
}

static void part_flush(struct part *part)
{
	if (part->a != NULL)
		append_piece(part->out, part->a, part->b);
	part->a = NULL;
}

/* Adds [a, b) to the part; a range that only blank lines separate from the previous one joins it,
 * so the text's own layout is kept rather than a blank line put between them. */
static void part_add(struct part *part, const char *a, const char *b)
{
	if (part->a != NULL && part->b <= a && only_blanks(part->b, a)) {
		part->b = b;
		return;
	}
	part_flush(part);
	part->a = a;
	part->b = b;
}

static char *part_finish(struct part *part)
{
	part_flush(part);
	return g_string_free(part->out, FALSE);
}

/* Reads the lines in order, remembering where the sender's own lines start and end, whether a
 * '>' block came between two of them and where a signature starts; stops at the first history or
 * forward marker. The parts are then a few ranges between those places. */
static void split(const char *text, size_t len, unsigned flags, struct reply_parts *parts)
{
	const char *const e = text + len;
	const char *p = text, *region_end = e, *quoted_end;
	const char *first_t = NULL, *last_t = NULL, *last_t_end = NULL;
	const char *sig = NULL, *weak_sig = NULL;
	gboolean forward = FALSE, quote_pending = FALSE, interleaved = FALSE;
	struct part new_text = {g_string_new(NULL), NULL, NULL},
		    quoted = {g_string_new(NULL), NULL, NULL},
		    signature = {g_string_new(NULL), NULL, NULL};

	while (p < e) {
		struct line l;
		const char *next = line_get(p, e, &l), *after = NULL;
		enum marker m = MARK_NONE;

		if (l.n == 0) {
			p = next;
			continue;
		}
		if (l.s[0] == '>') {
			quote_pending = TRUE;
			p = next;
			continue;
		}
		if (l.n <= REPLY_MAX_MARKER_LINE)
			m = marker_at(&l, e, flags, &after);
		if (m == MARK_HISTORY || m == MARK_FORWARD) {
			region_end = l.start;
			forward = m == MARK_FORWARD;
			break;
		}
		if (m == MARK_QUOTE_INTRO) {
			quote_pending = TRUE;
			p = after;
			continue;
		}
		/* a line the sender wrote */
		if (quote_pending) {
			/* text after a quote: an earlier signature was not one */
			if (first_t != NULL)
				interleaved = TRUE;
			sig = weak_sig = NULL;
			quote_pending = FALSE;
		}
		if (first_t == NULL)
			first_t = l.start;
		if (sig == NULL && is_signature_start(l.s, l.n))
			sig = l.start;
		if (is_weak_mobile_line(l.s, l.n))
			weak_sig = l.start;
		last_t = l.start;
		last_t_end = l.end;
		p = next;
	}

	quoted_end = forward ? region_end : e;
	if (first_t == NULL) {
		part_add(&quoted, text, quoted_end);
	} else {
		const char *sig_start = sig != NULL ? sig : weak_sig == last_t ? weak_sig : NULL;
		const char *new_end = sig_start != NULL ? sig_start : last_t_end;

		if (interleaved) {
			part_add(&new_text, text, new_end);
		} else {
			part_add(&quoted, text, first_t);
			part_add(&new_text, first_t, new_end);
		}
		if (sig_start != NULL)
			part_add(&signature, sig_start, last_t_end);
		part_add(&quoted, last_t_end, quoted_end);
	}
	if (forward)
		part_add(&new_text, region_end, e);

	parts->new_text = part_finish(&new_text);
	/* the forward is new_text's last piece, as trim_piece() leaves it */
	parts->forward_at = strlen(parts->new_text);
	if (forward) {
		const char *fa = region_end, *fb = e;

		trim_piece(&fa, &fb);
		parts->forward_at -= MIN(parts->forward_at, (size_t)(fb - fa));
	}
	parts->quoted = part_finish(&quoted);
	parts->signature = part_finish(&signature);
}

void reply_split_flags(const char *text, unsigned flags, struct reply_parts *parts)
{
	char *valid = NULL;

	if (text == NULL)
		text = "";
	if (!g_utf8_validate(text, -1, NULL))
		text = valid = g_utf8_make_valid(text, -1);
	split(text, strlen(text), flags, parts);
	g_free(valid);
}

void reply_split(const char *text, struct reply_parts *parts)
{
	reply_split_flags(text, 0, parts);
}

gboolean reply_subject_is_forward(const char *subject)
{
	static const char *const prefixes[] = {"fwd", "fw", "rv", "wg", "tr", "enc", NULL};
	const char *p = subject;
	size_t n = 0;

	if (p == NULL)
		return FALSE;
	/* tags that mail gateways put first: "[EXTERNAL] FW: ...", "[EXT] RV: ..." */
	for (int k = 0; k < 4; k++) {
		const char *close;

		while (*p == ' ' || *p == '\t')
			p++;
		if (*p != '[' || (close = memchr(p, ']', strnlen(p, 65))) == NULL)
			break;
		p = close + 1;
	}
	while (g_ascii_isalpha(p[n]) && n < 4)
		n++;
	if (n == 0)
		return FALSE;
	for (size_t i = n; p[i] != ':'; i++)
		if (p[i] != ' ')
			return FALSE;
	for (const char *const *f = prefixes; *f != NULL; f++)
		if (equals_ci(p, n, *f))
			return TRUE;
	return FALSE;
}

/* ---- the sign-off under a relayed reply ---- */

/* Most lines after the name that still make a sign-off (title, department, phone), and their
 * longest, in characters. */
#define SIGNOFF_MAX_AFTER     3
#define SIGNOFF_MAX_AFTER_LEN 60
/* Longest closing line that is not a known closing but ends with a comma ("Quedo atenta,"). */
#define SIGNOFF_MAX_CLOSING 30

/* Lower-case ASCII of one line for comparing names and closings: accents transliterated, blanks
 * at both ends and trailing punctuation dropped. Caller frees. */
static char *signoff_form(const char *s, size_t n)
{
	char *line = g_strndup(s, n);
	char *ascii = g_str_to_ascii(line, "C");
	char *low = g_ascii_strdown(ascii, -1);
	size_t len;

	g_free(line);
	g_free(ascii);
	g_strstrip(low);
	len = strlen(low);
	while (len > 0 && strchr(".,;:!-", low[len - 1]) != NULL)
		low[--len] = '\0';
	return g_strchomp(low);
}

/* TRUE when form (signoff_form()) is a closing: a known one, or a short line ending with a
 * comma (raw is the line as written). */
static gboolean signoff_closing(const char *form, const char *raw, size_t n)
{
	static const char *const known[] = {"saludos",
					    "un saludo",
					    "saludos cordiales",
					    "un cordial saludo",
					    "atentamente",
					    "cordialmente",
					    "gracias",
					    "muchas gracias",
					    "un abrazo",
					    "regards",
					    "best regards",
					    "kind regards",
					    "best",
					    "thanks",
					    "many thanks",
					    "thank you",
					    "cheers",
					    "br",
					    NULL};

	while (n > 0 && (raw[n - 1] == ' ' || raw[n - 1] == '\t' || raw[n - 1] == '\r'))
		n--;
	return g_strv_contains(known, form) ||
	       (n > 0 && raw[n - 1] == ',' && g_utf8_strlen(raw, (gssize)n) <= SIGNOFF_MAX_CLOSING);
}

char *reply_drop_signoff(const char *text, const char *name)
{
	char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	char *full, *first, *out = NULL;
	GArray *starts;
	size_t cut = 0;
	gboolean found = FALSE;
	int after = 0;

	if (name == NULL || *name == '\0')
		return valid;
	full = signoff_form(name, strlen(name));
	first = g_strndup(full, strcspn(full, " "));
	/* where each line starts */
	starts = g_array_new(FALSE, FALSE, sizeof(size_t));
	for (const char *p = valid; p != NULL;
	     p = strchr(p, '\n') != NULL ? strchr(p, '\n') + 1 : NULL) {
		size_t at = (size_t)(p - valid);

		g_array_append_val(starts, at);
	}
	/* from the last line up, while the lines after still fit a sign-off */
	for (guint k = starts->len; k > 0 && after <= SIGNOFF_MAX_AFTER && full[0] != '\0'; k--) {
		size_t at = g_array_index(starts, size_t, k - 1);
		size_t n = strcspn(valid + at, "\n");
		char *form = signoff_form(valid + at, n);
		size_t tail = strlen(form) > strlen(full) ? strlen(form) - strlen(full) : 0;
		size_t ftail = strlen(form) > strlen(first) ? strlen(form) - strlen(first) : 0;
		char *before = NULL;

		if (form[0] == '\0') {
			g_free(form);
			continue;
		}
		if (strcmp(form, full) == 0 || (first[0] != '\0' && strcmp(form, first) == 0)) {
			/* alone on its line: after a blank line, the start or a closing */
			size_t pat = k >= 2 ? g_array_index(starts, size_t, k - 2) : 0;
			size_t pn = k >= 2 ? strcspn(valid + pat, "\n") : 0;
			char *prev = k >= 2 ? signoff_form(valid + pat, pn) : g_strdup("");

			if (prev[0] == '\0' || signoff_closing(prev, valid + pat, pn)) {
				cut = prev[0] == '\0' ? at : pat;
				found = TRUE;
			}
			g_free(prev);
		} else if ((tail > 0 && form[tail - 1] == ' ' && strcmp(form + tail, full) == 0 &&
			    (before = g_strndup(form, tail - 1)) != NULL) ||
			   (ftail > 0 && first[0] != '\0' && form[ftail - 1] == ' ' &&
			    strcmp(form + ftail, first) == 0 &&
			    (before = g_strndup(form, ftail - 1)) != NULL)) {
			/* "Thanks, Ana": a closing and the name on one line */
			size_t bl = strlen(before);

			while (bl > 0 && strchr(".,;:!- ", before[bl - 1]) != NULL)
				before[--bl] = '\0';
			if (signoff_closing(before, before, bl)) {
				cut = at;
				found = TRUE;
			}
		}
		g_free(before);
		g_free(form);
		if (found || g_utf8_strlen(valid + at, (gssize)n) > SIGNOFF_MAX_AFTER_LEN)
			break;
		after++;
	}
	if (found) {
		out = g_strndup(valid, cut);
		g_strchomp(out);
		if (out[0] == '\0')
			g_clear_pointer(&out, g_free); /* nothing but the sign-off: relay it */
	}
	g_array_free(starts, TRUE);
	g_free(full);
	g_free(first);
	if (out == NULL)
		return valid;
	g_free(valid);
	return out;
}

void reply_parts_clear(struct reply_parts *parts)
{
	g_clear_pointer(&parts->new_text, g_free);
	g_clear_pointer(&parts->quoted, g_free);
	g_clear_pointer(&parts->signature, g_free);
}
