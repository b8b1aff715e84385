/* Reading a satisfaction rating at the start of a reply (csat.h): a digit with its scale, a row
 * of stars, or a grading word or phrase looked up in one table, then the rest of the text judged
 * by noise_comment_problem(). Only the first few words are looked at, so the cost is that of the
 * comment's scan, linear in the text. */
#include "csat.h"

#include "noise.h"

#include <string.h>

/* Longest word compared, in bytes once normalised; a longer one is no grade. */
#define WORD_MAX 48

struct grade {
	const char *words; /* normalised words, blank-separated */
	int rating;
};

/* Longer phrases first: "muy bien" before "bien", "no muy bien" before anything. */
static const struct grade grades[] = {
    {"ni bien ni mal", 3}, {"not very good", 2},
    {"not so good", 2},	   {"no muy bien", 2},
    {"no muy bueno", 2},   {"muy bien", 5},
    {"muy bueno", 5},	   {"muy buena", 5},
    {"muy buen", 5},	   {"very good", 5},
    {"very well", 5},	   {"really good", 5},
    {"bastante bien", 4},  {"bastante bueno", 4},
    {"bastante buena", 4}, {"pretty good", 4},
    {"quite good", 4},	   {"nada mal", 4},
    {"not bad", 4},	   {"so so", 3},
    {"not good", 2},	   {"bastante mal", 2},
    {"muy mal", 1},	   {"muy malo", 1},
    {"muy mala", 1},	   {"very bad", 1},
    {"very poor", 1},	   {"really bad", 1},
    {"excelente", 5},	   {"excelent", 5},
    {"excellent", 5},	   {"buenisimo", 5},
    {"buenisima", 5},	   {"outstanding", 5},
    {"superb", 5},	   {"bien", 4},
    {"good", 4},	   {"regular", 3},
    {"normal", 3},	   {"aceptable", 3},
    {"fair", 3},	   {"average", 3},
    {"acceptable", 3},	   {"mal", 2},
    {"malo", 2},	   {"mala", 2},
    {"mediocre", 2},	   {"deficiente", 2},
    {"poor", 2},	   {"bad", 2},
    {"fatal", 1},	   {"pesimo", 1},
    {"pesima", 1},	   {"malisimo", 1},
    {"malisima", 1},	   {"horrible", 1},
    {"terrible", 1},	   {"awful", 1},
    {"dreadful", 1},
};

/* A word after a grade that makes it something else: "good morning", "good point", "fair
 * enough", "excelente día" (a wish). */
static const char *const not_after[] = {
    "morning", "afternoon", "evening", "night", "day",	"luck",	 "news",   "question", "point",
    "catch",   "idea",	    "enough",  "dia",	"dias", "tarde", "tardes", "noche",    NULL};

/* What a digit's scale or unit may be written as. */
static const char *const scale_words[] = {"de", "sobre", "of", NULL};
static const char *const star_words[] = {"stars",  "star",   "estrellas", "estrella",
					 "puntos", "points", NULL};

static gboolean is_star(gunichar c)
{
	return c == 0x2B50 || c == 0x2605 || c == 0x1F31F;
}

/* Invisible characters a mailer may put before the text. */
static gboolean is_invisible(gunichar c)
{
	return c == 0xFEFF || c == 0x200B || c == 0x200C || c == 0x200D || c == 0x2060 ||
	       c == 0xFE0F;
}

static const char *skip_blanks(const char *p)
{
	while (*p != '\0') {
		gunichar c = g_utf8_get_char(p);

		if (!g_unichar_isspace(c) && !is_invisible(c))
			break;
		p = g_utf8_next_char(p);
	}
	return p;
}

/* The word at p (letters, digits, combining marks), normalised (case folded, no accents) into
 * out; returns the end of the word, p itself when there is none there. A word longer than
 * WORD_MAX characters is read no further: out is "" and the end returned is where it stopped. */
static const char *read_word(const char *p, char out[WORD_MAX + 1])
{
	const char *q = p;
	int chars = 0;

	while (*q != '\0') {
		gunichar c = g_utf8_get_char(q);

		if (!g_unichar_isalnum(c) && !(q > p && g_unichar_ismark(c)))
			break;
		q = g_utf8_next_char(q);
		if (++chars > WORD_MAX) {
			out[0] = '\0';
			return q;
		}
	}
	/* a word that does not fit is too long to be a grade */
	if (q == p || !noise_fold(p, q - p, out, WORD_MAX + 1))
		out[0] = '\0';
	return q;
}

/* TRUE when word is want, or is want once letters repeated three times or more are read once
 * ("excelenteee") or twice ("goood"). */
static gboolean word_is(const char *word, const char *want, size_t want_len)
{
	for (int keep = 0; keep <= 2; keep++) {
		char s[WORD_MAX + 1];
		size_t n = 0, run = 0;

		for (size_t i = 0; word[i] != '\0'; i++) {
			run = i > 0 && word[i] == word[i - 1] ? run + 1 : 1;
			if (keep == 0 || run <= (size_t)keep)
				s[n++] = word[i];
		}
		s[n] = '\0';
		if (n == want_len && memcmp(s, want, n) == 0)
			return TRUE;
	}
	return FALSE;
}

/* The grade phrase at p: its rating and *end_r, or 0. */
static int read_grade(const char *p, const char **end_r)
{
	for (size_t g = 0; g < G_N_ELEMENTS(grades); g++) {
		const char *q = p, *w = grades[g].words;
		gboolean ok = TRUE;

		while (ok && *w != '\0') {
			const char *blank = strchr(w, ' ');
			size_t len = blank != NULL ? (size_t)(blank - w) : strlen(w);
			char word[WORD_MAX + 1];
			const char *after;

			if (w != grades[g].words) {
				/* words apart by blanks, or a hyphen ("so-so") */
				const char *b = skip_blanks(q);

				if (b > q)
					q = b;
				else if (*q == '-')
					q++;
				else
					ok = FALSE;
			}
			after = ok ? read_word(q, word) : q;
			ok = ok && after > q && word_is(word, w, len);
			q = after;
			w += len + (blank != NULL ? 1 : 0);
		}
		if (ok) {
			char next[WORD_MAX + 1];

			read_word(skip_blanks(q), next);
			if (next[0] != '\0' && g_strv_contains(not_after, next))
				return 0;
			*end_r = q;
			return grades[g].rating;
		}
	}
	return 0;
}

/* A digit's own end: what follows must not make it part of something else. */
static gboolean digit_alone(const char *q)
{
	gunichar c = g_utf8_get_char(q);

	if (*q == '\0')
		return TRUE;
	if (g_unichar_isalnum(c) || c == 0xBA || c == 0xAA || c == 0xB0 ||
	    (c < 0x80 && strchr("%)\"'>=+*#", (int)c) != NULL))
		return FALSE; /* "10", "5th", "3h", "1º", "2ª", "5°", "5%", "2)" (a list), "1\"" */
	/* "3.5", "2,5", "5:30", "1-2", "1–2" */
	if ((c == '.' || c == ',' || c == ':' || c == '-' || c == 0x2013) &&
	    g_ascii_isdigit(*g_utf8_next_char(q)))
		return FALSE;
	return TRUE;
}

/* The number at p ("5", "10") read whole: its value (-1 when not a number) and *end_r. */
static int read_number(const char *p, const char **end_r)
{
	int v = 0;
	const char *q = p;

	while (g_ascii_isdigit(*q) && q - p < 4)
		v = v * 10 + (*q++ - '0');
	if (q == p || g_ascii_isdigit(*q))
		return -1;
	*end_r = q;
	return v;
}

/* A digit 1..5 with its scale and unit at p: the rating and *end_r, 0 when there is none, -1
 * when the scale is not 5 ("4/10", "2 de 3"): no rating at all. */
static int read_digit(const char *p, const char **end_r)
{
	const char *q = p + 1, *r, *s;
	char word[WORD_MAX + 1];
	int rating = *p - '0';

	if (*p < '1' || *p > '5' || !digit_alone(q))
		return 0;
	/* "/5", "/ 5" */
	r = skip_blanks(q);
	if (*r == '/') {
		int scale = read_number(skip_blanks(r + 1), &s);

		if (scale != 5)
			return -1;
		q = s;
	} else {
		/* "de 5", "sobre 5", "of 5", "out of 5" */
		s = read_word(r, word);
		if (strcmp(word, "out") == 0)
			s = read_word(skip_blanks(s), word);
		if (s > r && g_strv_contains(scale_words, word)) {
			const char *t = skip_blanks(s), *u;
			int scale = g_ascii_isdigit(*t) ? read_number(t, &u) : -2;

			if (scale == 5)
				q = u;
			else if (scale != -2)
				return -1; /* "2 de 3 impresoras" */
		}
	}
	/* "stars", "estrellas", "⭐" */
	r = skip_blanks(q);
	s = read_word(r, word);
	if (s > r && g_strv_contains(star_words, word))
		q = s;
	else
		while (is_star(g_utf8_get_char(skip_blanks(q))))
			q = g_utf8_next_char(skip_blanks(q));
	*end_r = q;
	return rating;
}

/* A row of stars at p: how many (1..5) and *end_r, 0 when none or more than five. */
static int read_stars(const char *p, const char **end_r)
{
	const char *q = p;
	int n = 0;

	for (;;) {
		gunichar c = g_utf8_get_char(q);

		if (is_star(c))
			n++;
		else if (!is_invisible(c) && c != ' ')
			break;
		q = g_utf8_next_char(q);
	}
	if (n < 1 || n > 5)
		return 0;
	*end_r = q;
	return n;
}

/* Copies at most size - 1 bytes of s (len bytes), whole characters, into out. */
static void copy_cut(const char *s, size_t len, char *out, size_t size)
{
	size_t n = 0;

	while (n < len) {
		size_t k = (size_t)(g_utf8_next_char(s + n) - (s + n));

		if (n + k > len || n + k >= size)
			break;
		n += k;
	}
	memcpy(out, s, n);
	out[n] = '\0';
}

/* The comment after the rating into r->comment: without the separators before it and the blanks
 * around it. FALSE when it is longer than r->comment holds. */
static gboolean comment_of(const char *p, struct csat_reading *r)
{
	const char *end;

	for (;;) {
		gunichar c = g_utf8_get_char(p);

		if (*p == '\0' || !(g_unichar_isspace(c) || is_invisible(c) ||
				    (c < 0x80 && strchr(",;:.!-)|", (int)c) != NULL) ||
				    c == 0x2013 || c == 0x2014))
			break;
		p = g_utf8_next_char(p);
	}
	end = p + strlen(p);
	while (end > p && g_ascii_isspace(end[-1]))
		end--;
	if ((size_t)(end - p) >= sizeof(r->comment))
		return FALSE;
	memcpy(r->comment, p, (size_t)(end - p));
	r->comment[end - p] = '\0';
	return TRUE;
}

gboolean csat_read(const char *text, unsigned attachments, struct csat_reading *r)
{
	g_autofree char *valid = g_utf8_make_valid(text != NULL ? text : "", -1);
	const char *p = skip_blanks(valid), *end = p;
	char problem_why[NOISE_WHY_SIZE] = "";

	memset(r, 0, sizeof(*r));
	if (g_ascii_isdigit(*p))
		r->rating = read_digit(p, &end);
	else if (is_star(g_utf8_get_char(p)))
		r->rating = read_stars(p, &end);
	else
		r->rating = read_grade(p, &end);
	if (r->rating <= 0) {
		r->rating = 0;
		g_strlcpy(r->why, "does not start with a rating", sizeof(r->why));
		return FALSE;
	}
	copy_cut(p, (size_t)(end - p), r->token, sizeof(r->token));
	if (!comment_of(end, r)) {
		r->problem = TRUE;
		g_snprintf(r->why, sizeof(r->why),
			   "\"%s\" rates %d of 5, but the rest is longer than a comment (%d bytes)",
			   r->token, r->rating, CSAT_COMMENT_SIZE - 1);
		return FALSE;
	}
	if (attachments > 0) {
		r->problem = TRUE;
		g_snprintf(r->why, sizeof(r->why),
			   "\"%s\" rates %d of 5, but %u attachment%s: a file or a screenshot is "
			   "content",
			   r->token, r->rating, attachments, attachments == 1 ? "" : "s");
		return FALSE;
	}
	if (noise_comment_problem(r->comment, problem_why)) {
		r->problem = TRUE;
		g_snprintf(r->why, sizeof(r->why), "\"%s\" rates %d of 5, but %s", r->token,
			   r->rating, problem_why);
		return FALSE;
	}
	g_snprintf(r->why, sizeof(r->why), CSAT_WHY_RATED "%d of 5 (\"%s\")%s", r->rating, r->token,
		   r->comment[0] != '\0' ? " with a comment" : "");
	return TRUE;
}
