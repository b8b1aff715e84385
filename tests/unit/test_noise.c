/* Unit tests of noise.c: replies as requesters write them once the desk says a ticket is solved,
 * in Spanish and in English, those that only thank or acknowledge and those that say more (a
 * question, a problem, a request, something not settled, content, an attachment). text is what
 * reply.c leaves of a mail (no quoted history, no "-- " signature), closings and sign-off names
 * included as people write them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "noise.h"

#include <string.h>

static const char *const es_noise[] = {
    "Gracias",
    "¡Gracias!",
    "Muchas gracias",
    "¡Muchas gracias! 👍",
    "Ok, perfecto",
    "Vale, gracias",
    "Perfecto, gracias de nuevo",
    "Hola Ana, gracias!",
    "Gracias, un saludo",
    "Ya funciona, gracias",
    "Genial, muchas gracias por la ayuda",
    "Mil gracias 🙏",
    "👍",
    "🙏🙏",
    "ok",
    "Vale",
    "Recibido, gracias.",
    "Entendido, muchas gracias.",
    "Perfecto, ya me funciona. ¡Gracias!",
    "Muchísimas gracias por la rapidez, ya puedo imprimir sin problemas.",
    "Gracias, podéis cerrar la incidencia.",
    "Todo correcto, gracias",
    "Solucionado, gracias 😊",
    "Gracias por todo, Marta",
    "Buenos días,\n\nya funciona todo perfectamente. Muchas gracias por vuestra ayuda.\n\n"
    "Un saludo,\nJavier",
    "Gracias crack!",
    "Perfecto, muchas gracias. Ya me llegan los correos.",
    "Genial!! Gracias 😀",
    "Muchas gracias, de verdad. Sois unos cracks.",
    "Gracias Luis, ya va todo bien.",
    "Ok gracias",
    "Gracias! Ya está resuelto.",
    "Estupendo, gracias por la gestión.",
    "Gracias, ya no me da error.",
    "Graciaaas!!",
    "GRACIAS!!!",
    "Vale, perfecto. Un saludo",
    "Muchas gracias por la ayuda, que tengáis un buen fin de semana.",
    "Confirmo que ya funciona. Gracias.",
    "Gracias, ya puedo entrar en el correo.",
    "Perfecto Juan, muchas gracias!",
    "Ok, recibido 👌",
    "Gracias, un saludo.\n\nMaría José Pérez",
    "De acuerdo, gracias",
    "Ya funciona la impresora, gracias!",
    "Muy amables, gracias",
    "Gracias, ya me deja acceder",
    "Problema solucionado. ¡Gracias!",
    "Gracias de nuevo por la paciencia",
    "Hola Pedro,\nya está, muchas gracias.\nSaludos\nLucía Fernández\nDpto. Contabilidad\n"
    "Tel. 91 555 12 34",
    "Gracias, sin más. Un saludo",
    "Gracias, ya funciona sin ningún problema",
    "Perfecto, ya se puede cerrar. Gracias",
    "Gracias, la incidencia 4567 ya está resuelta",
    "Gracias, espero que tengáis un buen día",
    "Gracias, saludos\nPedro Gómez\nJefe de Compras\nACME S.L.\nTel. 600 123 456\n"
    "www.acme.es",
};

static const char *const es_more[] = {
    "Gracias, pero sigue sin funcionar",
    "¿Gracias por qué? No he recibido nada",
    "Gracias, pero la impresora sigue sin imprimir",
    "Sigue fallando",
    "Todavía no funciona",
    "Gracias. Ahora me pasa lo mismo con el portátil",
    "Otra vez sin conexión",
    "Ok, mañana lo pruebo y os digo",
    "Vale, lo reviso y te cuento",
    "Gracias, ¿podéis mirar también lo del proyector?",
    "Gracias. Necesito también acceso a la carpeta de RRHH",
    "No funciona",
    "Gracias, pero ahora Outlook da error al abrir",
    "Ya funciona el correo, pero el calendario no sincroniza",
    "Falla de nuevo",
    "Gracias 👎",
    "Gracias, aunque sigue yendo lento",
    "Gracias, ha vuelto a fallar esta mañana",
    "Muchas gracias. Por cierto, ¿me podéis instalar el Visio?",
    "Gracias. Aprovecho para pedir un ratón nuevo",
    "Gracias, funciona a medias",
    "Gracias, solo funciona a veces",
    "Perfecto, pero me gustaría que revisarais también la impresora",
    "Gracias. La impresora de la tercera planta tampoco imprime",
    "Gracias, ya funciona 😞",
    "Gracias :(",
    "Vale, gracias. Una duda: ¿hay que reiniciar?",
    "Gracias, ya puedo entrar pero no veo mis carpetas",
    "Gracias. El equipo de mi compañero tiene el mismo problema",
    "Hola, sigue igual",
    "Buenos días, el problema persiste",
    "Gracias por la respuesta, pero no es eso lo que pedí",
    "Ok, lo pruebo en cuanto llegue a la oficina",
    "Muchas gracias, ¿y para el móvil cómo se configura?",
    "Gracias. Otra cosa: el monitor parpadea",
    "Gracias, todavía me sale el aviso de contraseña caducada",
    "Ok gracias, aunque no entiendo por qué ha pasado",
    "Gracias, ya funciona. Podrías darme acceso también a la unidad compartida de Finanzas",
    "Gracias, el correo funciona pero el Teams no arranca",
    "Gracias. Me gustaría solicitar una licencia de Adobe para el equipo de diseño",
    "Gracias. La VPN se desconecta cada diez minutos",
    "Perfecto, gracias. Lo comprobaré el lunes",
    "Gracias, ahora no me deja imprimir",
    "Sin éxito, gracias",
    "Gracias. Ayer funcionaba pero hoy se ha vuelto a caer",
    "Gracias. Por cierto, el proyector de la sala de juntas hace un ruido muy fuerte cuando se "
    "enciende",
    "Muchas gracias. La semana que viene me incorporo al equipo y necesitaré un portátil",
    "Gracias, no me llegan los correos externos",
    "Vale. Espero a ver si vuelve a pasar",
    "Gracias, el error ha vuelto",
    "Gracias. Sin embargo, el problema persiste",
    "Un saludo\nMe gustaría pedir acceso a la carpeta de Compras",
    "Gracias. Puedes crear un usuario para Marta",
    "Gracias. Tengo una incidencia con el correo",
    "Gracias, espero que funcione",
};

static const char *const en_noise[] = {
    "Thanks!",
    "thanks!!! 😀",
    "Thank you, that fixed it",
    "Thanks John",
    "Great, thanks",
    "Perfect, thank you!",
    "ok",
    "OK, thanks",
    "Thanks a lot!",
    "Thank you so much for your help",
    "Thanks again for the quick response",
    "Cheers!",
    "Works now, thanks!",
    "Thanks, it's working now",
    "Awesome, thank you 🙏",
    "👍",
    "👍🏽",
    "Thank you, all good now",
    "Thanks, I can log in now",
    "Much appreciated!",
    "Got it, thanks",
    "Thanks for sorting this out so quickly",
    "Perfect, that did the trick. Thanks!",
    "Thank you! Have a great weekend.",
    "Thanks, you can close the ticket",
    "Thanks for fixing the issue",
    "Hi Sarah, thanks for your help. Best regards, Tom",
    "Thanks,\nJohn",
    "Thank you very much, the printer works again.",
    "Brilliant, cheers mate",
    "Excellent, thank you for the fast turnaround",
    "Thanks! No more errors.",
    "Many thanks, Outlook works again",
    "Confirmed, it works. Thank you!",
    "Great stuff, thanks",
    "Thanks :)",
    "Thank you! 🎉",
    "Fixed, thanks a million",
    "Thanks for the help, much appreciated.\n\nKind regards,\nEmma Watson\nFinance Department\n"
    "ACME Ltd.",
    "All sorted, thank you!",
    "That fixed it, thanks Mike!",
    "No problem anymore, thanks!",
    "Thanks, the VPN connects fine now",
    "Thank you for your patience and support",
    "Okay, understood. Thanks.",
    "Thanks, it doesn't crash any more",
    "Good morning, all working now. Thank you!",
    "THANK YOU!!",
    "Thanksss",
    "Perfect, thanks again! ❤️",
    "Thanks, hope you have a great weekend!",
    "Applied, thanks.",
};

static const char *const en_more[] = {
    "Thanks, but the printer is still offline",
    "OK, I'll try tomorrow and tell you",
    "Thanks, but it broke again this morning",
    "Still not working",
    "It doesn't work",
    "Thanks. Same problem on my other laptop",
    "Thanks, however Outlook keeps crashing",
    "Thanks! Could you also reset my password?",
    "Thanks, I will check tomorrow",
    "Thanks, but I still can't log in",
    "Not fixed",
    "Thank you. Another issue: the scanner jams",
    "Thanks 👎",
    "Thanks :(",
    "Thanks, it works partially",
    "Works sometimes, thanks",
    "Thanks, but now I get a different error",
    "The error is back",
    "Thanks. Also, can you install Visio on my machine?",
    "Thanks, please also add me to the finance mailing list",
    "Thanks. I need access to the HR share as well",
    "Thanks, the VPN drops every ten minutes",
    "Thank you, that fixed Outlook, but Teams is still slow",
    "Thanks for the reply. Unfortunately nothing changed",
    "Ok, let me test it and get back to you",
    "Thanks, will try later",
    "Thanks... it happened again",
    "Thanks, the screen is blank again",
    "Great, thanks! One question: do I need to restart?",
    "Thanks, but I never received the email",
    "Thanks. My laptop screen flickers when I plug in the docking station",
    "Thank you. I wanted to ask about the new monitors for our team",
    "Thanks, the problem is back",
    "Thanks, not yet",
    "Hmm, it's still the same",
    "Thanks 🤔",
    "Thanks. Printer jammed again.",
    "Thanks, but without success",
    "Thank you for the update, we are still waiting for the new laptop",
    "Thanks, it works on Chrome but not on Edge",
    "Hi, the issue persists",
    "Thanks, my account is locked again",
    "Thanks. By the way, the projector in meeting room 3 makes a loud noise when it starts",
    "Thanks, it's not working",
    "Thank you, no luck though",
    "Ok thanks, can you send me the new VPN client",
    "Thanks. Could we schedule a call",
    "Thanks, doesn't help",
    "Good morning, my laptop screen flickers",
    "Thanks. Also the mouse",
    "Thanks, I'll pick this up.",
    "Hope it works now, thanks",
};

G_STATIC_ASSERT(G_N_ELEMENTS(es_noise) >= 40 && G_N_ELEMENTS(es_more) >= 40);
G_STATIC_ASSERT(G_N_ELEMENTS(en_noise) >= 40 && G_N_ELEMENTS(en_more) >= 40);

/* Every reply of set judged as want; all the wrong ones named at once. */
static void expect_all(const char *const *set, size_t n, gboolean want, const char *name)
{
	GString *wrong = g_string_new(NULL);

	for (size_t i = 0; i < n; i++) {
		char why[NOISE_WHY_SIZE] = "unset";
		gboolean got = noise_thanks_only(set[i], "Re: [INC-000042] Impresora", 0, why);

		if (why[0] == '\0' || strcmp(why, "unset") == 0)
			g_string_append_printf(wrong, "  no reason for \"%s\"\n", set[i]);
		if (got != want)
			g_string_append_printf(wrong, "  \"%s\": %s\n", set[i], why);
	}
	if (wrong->len > 0)
		fail_msg("%s, judged wrong:\n%s", name, wrong->str);
	g_string_free(wrong, TRUE);
}

static void test_spanish(void **state)
{
	(void)state;
	expect_all(es_noise, G_N_ELEMENTS(es_noise), TRUE, "Spanish thanks");
	expect_all(es_more, G_N_ELEMENTS(es_more), FALSE, "Spanish replies that say more");
}

static void test_english(void **state)
{
	(void)state;
	expect_all(en_noise, G_N_ELEMENTS(en_noise), TRUE, "English thanks");
	expect_all(en_more, G_N_ELEMENTS(en_more), FALSE, "English replies that say more");
}

static void expect_why(const char *text, const char *subject, unsigned attachments, gboolean want,
		       const char *why_want)
{
	char why[NOISE_WHY_SIZE];
	gboolean got = noise_thanks_only(text, subject, attachments, why);

	if (got != want || strcmp(why, why_want) != 0)
		fail_msg("\"%s\": %d \"%s\", want %d \"%s\"", text != NULL ? text : "(null)", got,
			 why, want, why_want);
}

/* The reason says what matched, or what made it more than thanks, in the sender's words. */
static void test_reasons(void **state)
{
	(void)state;
	expect_why("¡Muchas gracias! 👍", NULL, 0, TRUE,
		   "only thanks or acknowledgement: \"gracias\", 👍");
	expect_why("Ok, perfecto", NULL, 0, TRUE,
		   "only thanks or acknowledgement: \"Ok\", \"perfecto\"");
	expect_why("Gracias, vale, ok, perfecto, genial, thanks", NULL, 0, TRUE,
		   "only thanks or acknowledgement: \"Gracias\", \"vale\", \"ok\", \"perfecto\", "
		   "...");
	expect_why("Gracias, pero sigue sin funcionar", NULL, 0, FALSE,
		   "\"pero\": says something is not right");
	expect_why("¿Gracias por qué? No he recibido nada", NULL, 0, FALSE, "a question mark");
	expect_why("Thanks 🤔", NULL, 0, FALSE, "\"🤔\": a question");
	expect_why("OK, I'll try tomorrow and tell you", NULL, 0, FALSE,
		   "\"I'll\": not settled yet");
	expect_why("Thanks, please also add me to the list", NULL, 0, FALSE,
		   "\"please\": asks for something");
	expect_why("It doesn't work", NULL, 0, FALSE, "\"doesn't\": says something is not right");
	expect_why("Thanks, it doesn’t work", NULL, 0, FALSE,
		   "\"doesn’t\": says something is not right");
	expect_why("Gracias 👎", NULL, 0, FALSE, "\"👎\": says something is not right");
	expect_why("Gracias", NULL, 1, FALSE, "1 attachment: a file or a screenshot is content");
	expect_why("Gracias", NULL, 3, FALSE, "3 attachments: a file or a screenshot is content");
	expect_why("Thanks. My laptop screen flickers", NULL, 0, FALSE,
		   "3 words besides thanks, greetings and courtesy (at most 1)");
	expect_why("Hola, la impresora", NULL, 0, FALSE, "nothing in it thanks or acknowledges");
	expect_why("Thanks Ana Belén María José Luisa", NULL, 0, FALSE,
		   "5 words that read as names (at most 4)");
}

/* An empty body: the subject is what the sender wrote, when it is only thanks. */
static void test_subject(void **state)
{
	(void)state;
	expect_why("", "Re: [INC-000042] ¡Gracias!", 0, TRUE,
		   "only thanks or acknowledgement (in the subject): \"Gracias\"");
	expect_why(NULL, "RE: Thanks", 0, TRUE,
		   "only thanks or acknowledgement (in the subject): \"Thanks\"");
	/* the ticket's own subject is no thanks */
	expect_why("", "Re: [INC-000042] La impresora no imprime", 0, FALSE,
		   "\"no\": says something is not right");
	expect_why("", "Re: [INC-000042] VPN", 0, FALSE, "nothing in it thanks or acknowledges");
	expect_why("", "", 0, FALSE, "no text");
	expect_why(NULL, NULL, 0, FALSE, "no text");
	/* a body that says something wins over the subject */
	expect_why("Sigue igual", "Re: Gracias", 0, FALSE,
		   "\"Sigue\": says something is not right");
}

/* Hostile input: long, one endless word, invalid UTF-8, control bytes; the answer comes in
 * linear time and is never noise. */
static void test_hostile(void **state)
{
	GString *big = g_string_new(NULL);
	char why[NOISE_WHY_SIZE];
	gint64 start = g_get_monotonic_time();

	(void)state;
	for (int i = 0; i < 500000; i++)
		g_string_append(big, "gracias ");
	assert_false(noise_thanks_only(big->str, NULL, 0, why));
	assert_string_equal(why, "more than 40 words");
	g_string_truncate(big, 0);
	for (int i = 0; i < 4000000; i++)
		g_string_append_c(big, 'a');
	assert_false(noise_thanks_only(big->str, NULL, 0, why));
	g_string_truncate(big, 0);
	for (int i = 0; i < 1000000; i++)
		g_string_append(big, "\xf0\x9f\x91\x8d\xcc\x81");
	assert_true(noise_thanks_only(big->str, NULL, 0, why));
	g_string_truncate(big, 0);
	for (int i = 0; i < 1000000; i++)
		g_string_append(big, ":)\n");
	assert_true(noise_thanks_only(big->str, NULL, 0, why));
	g_string_free(big, TRUE);
	/* seconds would mean something worse than linear under the sanitizers */
	assert_true(g_get_monotonic_time() - start < 30 * G_USEC_PER_SEC);
	assert_true(noise_thanks_only("Gracias \xff\xfe", NULL, 0, why));
	assert_false(noise_thanks_only("\xff\xfe\x01", NULL, 0, why));
	/* a word too long to be looked up is not one of the vocabulary's */
	assert_false(noise_thanks_only("Graciaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaas",
				       NULL, 0, why));
	assert_true(noise_thanks_only("Graciaaaaaaaaaaaaas", NULL, 0, why));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_spanish), cmocka_unit_test(test_english),
	    cmocka_unit_test(test_reasons), cmocka_unit_test(test_subject),
	    cmocka_unit_test(test_hostile),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
