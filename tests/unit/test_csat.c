/* Unit tests of csat.c (and of noise_comment_problem(), which judges a rating's comment): replies
 * as requesters write them to the resolution notice that asks "how did we do?", in Spanish and in
 * English: ratings (a digit, its scale, stars, a grading word) with and without a comment, replies
 * that are no rating (thanks, a greeting, a number that is something else), and ratings whose
 * comment says it is still broken, which must reopen the ticket. text is what reply.c leaves of a
 * mail (no quoted history, no "-- " signature). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "csat.h"

#include <string.h>

struct case_ {
	const char *text;
	int rating;	     /* what csat_reading.rating must say: 0 none */
	gboolean counted;    /* csat_read()'s answer: a rating, nothing wrong in the comment */
	const char *comment; /* when counted: the comment it must keep (NULL: not checked) */
};

/* A rating, its comment kept. */
#define RATED(t, n, c)                                                                             \
	{                                                                                          \
		t, n, TRUE, c                                                                      \
	}
/* Starts with a rating, but the rest says it is still broken, asks or is not settled. */
#define PROBLEM(t, n)                                                                              \
	{                                                                                          \
		t, n, FALSE, NULL                                                                  \
	}
/* No rating at all. */
#define NONE(t)                                                                                    \
	{                                                                                          \
		t, 0, FALSE, NULL                                                                  \
	}

static const struct case_ spanish[] = {
    RATED("5", 5, ""),
    RATED("5 ¡genial!", 5, "¡genial!"),
    RATED("4", 4, ""),
    RATED("3.", 3, ""),
    RATED("1", 1, ""),
    RATED("5/5", 5, ""),
    RATED("5 / 5, gracias", 5, "gracias"),
    RATED("4 de 5", 4, ""),
    RATED("4 sobre 5. Tardasteis un poco en contestar", 4, "Tardasteis un poco en contestar"),
    RATED("5 estrellas", 5, ""),
    RATED("5 ⭐", 5, ""),
    RATED("⭐⭐⭐⭐⭐", 5, ""),
    RATED("★★★", 3, ""),
    RATED("Excelente", 5, ""),
    RATED("EXCELENTE!!", 5, ""),
    RATED("Excelenteee, muchas gracias", 5, "muchas gracias"),
    RATED("Muy bien", 5, ""),
    RATED("muy bien, gracias por la rapidez", 5, "gracias por la rapidez"),
    RATED("Muy buen servicio", 5, "servicio"),
    RATED("Buenísimo", 5, ""),
    RATED("Bien", 4, ""),
    RATED("Bien, aunque tardó un par de días", 4, "aunque tardó un par de días"),
    RATED("Bastante bien", 4, ""),
    RATED("Nada mal", 4, ""),
    RATED("Regular", 3, ""),
    RATED("Regular, tardasteis mucho", 3, "tardasteis mucho"),
    RATED("Normal", 3, ""),
    RATED("Ni bien ni mal", 3, ""),
    RATED("Mal", 2, ""),
    RATED("Mal, muy lentos en responder", 2, "muy lentos en responder"),
    RATED("No muy bien, el técnico fue borde", 2, "el técnico fue borde"),
    RATED("Muy mal", 1, ""),
    RATED("Muy mal. Tres semanas para cambiar un ratón.", 1, "Tres semanas para cambiar un ratón."),
    RATED("Fatal", 1, ""),
    RATED("Pésimo servicio", 1, "servicio"),
    RATED("2 😞 muy lento todo", 2, "😞 muy lento todo"),
    RATED("1 - pésima atención, pero ya funciona", 1, "pésima atención, pero ya funciona"),
    RATED("5\n\nUn saludo,\nMaría", 5, "Un saludo,\nMaría"),
    RATED("\xef\xbb\xbf 4 de 5", 4, ""),
    RATED("5, sin quejas", 5, "sin quejas"),
    RATED("5 ningún problema", 5, "ningún problema"),
    RATED("5 nada que añadir", 5, "nada que añadir"),
    RATED("4, sin problemas", 4, "sin problemas"),
    /* a rating whose comment says it is not over: the ticket must reopen */
    PROBLEM("1 sigue sin funcionar", 1),
    PROBLEM("Mal, sigue sin funcionar", 2),
    PROBLEM("1, no funciona", 1),
    PROBLEM("2 la impresora sigue fallando", 2),
    PROBLEM("Muy mal, todavía no puedo entrar al correo", 1),
    PROBLEM("3, ¿podéis mirar también la VPN?", 3),
    PROBLEM("5, pero necesito otra cuenta para Ana", 5),
    PROBLEM("4 mañana lo pruebo y os digo", 4),
    PROBLEM("1 otra vez se ha caído", 1),
    PROBLEM("Regular, funciona mal", 3),
    PROBLEM("2 nadie me ha llamado", 2),
    PROBLEM("1 ningún técnico vino", 1),
    PROBLEM("Bien, pero sigue apareciendo el error", 4),
    PROBLEM("5 de 5 aunque a veces falla", 5),
    /* no rating */
    NONE("Gracias"),
    NONE("Ok, perfecto"),
    NONE("Genial, gracias"),
    NONE("Vale"),
    NONE("Buenos días, sigue sin funcionar"),
    NONE("Bueno, os cuento"),
    NONE("Bienvenido al equipo"),
    NONE("Malas noticias: no funciona"),
    NONE("10"),
    NONE("3,5"),
    NONE("3.5"),
    NONE("15:30 me viene bien"),
    NONE("1-2 días"),
    NONE("2 de 3 impresoras no imprimen"),
    NONE("4/10"),
    NONE("0"),
    NONE("6"),
    NONE("1º piso, la impresora"),
    NONE("Hola, 5"),
    NONE("Excelente día!"),
    NONE(""),
};

static const struct case_ english[] = {
    RATED("5", 5, ""),
    RATED("5 stars", 5, ""),
    RATED("5 stars, thanks!", 5, "thanks!"),
    RATED("4 out of 5", 4, ""),
    RATED("4 of 5 - took a while", 4, "took a while"),
    RATED("3/5", 3, ""),
    RATED("2", 2, ""),
    RATED("1!", 1, ""),
    RATED("5 great job Tom", 5, "great job Tom"),
    RATED("Excellent", 5, ""),
    RATED("Excellent, thank you so much", 5, "thank you so much"),
    RATED("Very good", 5, ""),
    RATED("very good, fast and friendly", 5, "fast and friendly"),
    RATED("Outstanding!", 5, ""),
    RATED("Good", 4, ""),
    RATED("Goood", 4, ""),
    RATED("good, but it took two days", 4, "but it took two days"),
    RATED("Pretty good", 4, ""),
    RATED("Not bad", 4, ""),
    RATED("Fair", 3, ""),
    RATED("Average", 3, ""),
    RATED("So-so", 3, ""),
    RATED("Poor", 2, ""),
    RATED("Poor. Took three days to answer", 2, "Took three days to answer"),
    RATED("Bad", 2, ""),
    RATED("Not good, slow answers", 2, "slow answers"),
    RATED("Very bad", 1, ""),
    RATED("Terrible service", 1, "service"),
    RATED("Awful", 1, ""),
    RATED("1 - bad, slow, rude", 1, "bad, slow, rude"),
    RATED("2 👎", 2, "👎"),
    RATED("5 👍", 5, "👍"),
    RATED("4, also thanks to Ana", 4, "also thanks to Ana"),
    RATED("5\n\nBest regards,\nJohn Smith", 5, "Best regards,\nJohn Smith"),
    RATED("  5  ", 5, ""),
    RATED("5, no complaints", 5, "no complaints"),
    RATED("5 nothing else to say", 5, "nothing else to say"),
    RATED("5, no issues at all", 5, "no issues at all"),
    /* a rating whose comment says it is not over */
    PROBLEM("1, it is still broken", 1),
    PROBLEM("1 still not working", 1),
    PROBLEM("Bad, it doesn't work", 2),
    PROBLEM("2 the printer keeps failing", 2),
    PROBLEM("Very bad, the VPN is down again", 1),
    PROBLEM("3 - could you also reset my password?", 3),
    PROBLEM("5 but I need another license", 5),
    PROBLEM("4, I'll test it tomorrow", 4),
    PROBLEM("Poor, it crashes every morning", 2),
    PROBLEM("Good, but the error is back", 4),
    PROBLEM("1 it works bad", 1),
    PROBLEM("Fair. Please call me", 3),
    /* in doubt the ticket reopens: "nobody" may say the work is not done */
    PROBLEM("Poor. Nobody called me back", 2),
    /* no rating */
    NONE("Thanks"),
    NONE("OK"),
    NONE("Great, thanks"),
    NONE("Perfect"),
    NONE("👍"),
    NONE("Good morning, the printer is still broken"),
    NONE("Good afternoon"),
    NONE("Fair enough"),
    NONE("Goodbye"),
    NONE("Badly broken"),
    NONE("5th floor printer again"),
    NONE("2nd time this week"),
    NONE("3h without mail"),
    NONE("50% of the users"),
    NONE("5:30 works for me"),
    NONE("7"),
    NONE("5/10"),
    NONE("2 of 3 laptops"),
    NONE("Hi, 5"),
    NONE("Good point."),
    NONE("Good catch, thanks"),
    NONE("2) the printer on floor 2"),
    NONE("5\" screen"),
    NONE("5+ users"),
    NONE("It was excellent"),
};

static void check(const struct case_ *c)
{
	struct csat_reading r;
	gboolean counted = csat_read(c->text, 0, &r);

	if (r.rating != c->rating || counted != c->counted)
		fail_msg("\"%s\": rating %d%s (%s), expected %d%s", c->text, r.rating,
			 counted ? " counted" : "", r.why, c->rating, c->counted ? " counted" : "");
	if (c->comment != NULL && strcmp(r.comment, c->comment) != 0)
		fail_msg("\"%s\": comment \"%s\", expected \"%s\"", c->text, r.comment, c->comment);
	assert_int_equal(r.problem, c->rating > 0 && !c->counted);
}

static void check_all(const struct case_ *cases, size_t n)
{
	size_t rated = 0, problem = 0, none = 0;

	for (size_t i = 0; i < n; i++) {
		check(&cases[i]);
		rated += cases[i].counted;
		problem += cases[i].rating > 0 && !cases[i].counted;
		none += cases[i].rating == 0;
	}
	/* the table says something each way */
	assert_true(rated >= 20 && problem >= 10 && none >= 10);
}

static void test_spanish(void **state)
{
	(void)state;
	assert_true(G_N_ELEMENTS(spanish) >= 40);
	check_all(spanish, G_N_ELEMENTS(spanish));
}

static void test_english(void **state)
{
	(void)state;
	assert_true(G_N_ELEMENTS(english) >= 40);
	check_all(english, G_N_ELEMENTS(english));
}

/* What the note and the logs say. */
static void test_reasons(void **state)
{
	struct csat_reading r;

	(void)state;
	assert_true(csat_read("5 ¡genial!", 0, &r));
	assert_string_equal(r.why, "rated 5 of 5 (\"5\") with a comment");
	assert_string_equal(r.token, "5");
	assert_true(csat_read("Muy bien", 0, &r));
	assert_string_equal(r.why, "rated 5 of 5 (\"Muy bien\")");
	assert_true(csat_read("4 de 5", 0, &r));
	assert_string_equal(r.token, "4 de 5");
	assert_false(csat_read("1 sigue sin funcionar", 0, &r));
	assert_string_equal(r.why,
			    "\"1\" rates 1 of 5, but \"sigue\": says something is not right");
	assert_false(csat_read("3, ¿y la VPN?", 0, &r));
	assert_string_equal(r.why, "\"3\" rates 3 of 5, but a question mark");
	assert_false(csat_read("4, I'll test it tomorrow", 0, &r));
	assert_string_equal(r.why, "\"4\" rates 4 of 5, but \"I'll\": not settled yet");
	/* a screenshot with a rating is content */
	assert_false(csat_read("1", 1, &r));
	assert_int_equal(r.rating, 1);
	assert_true(r.problem);
	assert_string_equal(r.why, "\"1\" rates 1 of 5, but 1 attachment: a file or a screenshot "
				   "is content");
	assert_false(csat_read("Gracias", 0, &r));
	assert_string_equal(r.why, "does not start with a rating");
}

/* A comment longer than CSAT_COMMENT_SIZE is more than a rating, never cut; hostile input
 * (invalid UTF-8, an endless word, endless words) is read in linear time and never taken for a
 * rating it is not. */
static void test_hostile(void **state)
{
	struct csat_reading r;
	GString *big = g_string_new("5 ");
	gint64 start = g_get_monotonic_time();

	(void)state;
	for (int i = 0; i < 500; i++)
		g_string_append(big, "ñ");
	assert_true(csat_read(big->str, 0, &r));
	assert_int_equal(strlen(r.comment), 1000);
	for (int i = 0; i < 2000; i++)
		g_string_append(big, "ñ");
	assert_false(csat_read(big->str, 0, &r));
	assert_int_equal(r.rating, 5);
	assert_true(r.problem);
	assert_string_equal(r.comment, "");
	assert_string_equal(
	    r.why, "\"5\" rates 5 of 5, but the rest is longer than a comment (1023 bytes)");
	g_string_assign(big, "5 ");
	for (int i = 0; i < 100; i++)
		g_string_append(big, "bien ");
	assert_false(csat_read(big->str, 0, &r));
	assert_string_equal(r.why, "\"5\" rates 5 of 5, but more than 96 words");
	g_string_assign(big, "5 ");
	for (int i = 0; i < 200000; i++)
		g_string_append(big, "muy bien ");
	assert_false(csat_read(big->str, 0, &r));
	assert_true(r.problem);
	g_string_truncate(big, 0);
	for (int i = 0; i < 4000000; i++)
		g_string_append_c(big, 'e');
	assert_false(csat_read(big->str, 0, &r));
	assert_int_equal(r.rating, 0);
	assert_true(g_get_monotonic_time() - start < 30 * G_USEC_PER_SEC);
	g_string_free(big, TRUE);
	assert_true(csat_read("5 \xff\xfe", 0, &r));
	assert_true(g_utf8_validate(r.comment, -1, NULL));
	assert_false(csat_read("\xff"
			       "5",
			       0, &r));
	assert_false(csat_read(NULL, 0, &r));
	assert_int_equal(r.rating, 0);
	/* six stars are no rating of five */
	assert_false(csat_read("⭐⭐⭐⭐⭐⭐", 0, &r));
	assert_int_equal(r.rating, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spanish),
	    cmocka_unit_test(test_english),
	    cmocka_unit_test(test_reasons),
	    cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
