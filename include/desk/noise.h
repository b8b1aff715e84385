/* Whether a reply only thanks or acknowledges ("¡Gracias!", "ok, perfecto", "thank you, that
 * fixed it", 👍): on a resolved or closed ticket such a reply is kept as a note and is never a
 * reason to reopen the ticket, open a follow-up or tell anyone (judge.c). Spanish and English.
 * Pure: no I/O; time linear in the text.
 *
 * The rule, in the order it is applied:
 *   - an attachment is content (a screenshot says more than its text): not noise;
 *   - a question mark ("?", "¿") or a question emoji (🤔, ❓): not noise;
 *   - a word that says something is still wrong, is not settled or asks for something: "pero",
 *     "sigue", "todavía", "otra vez", "falla", "but", "still", "again", "not working", "try",
 *     "mañana", "could", "necesito"; a negative emoji (👎, 😞) or emoticon (":("). Some of them
 *     are fine where the words around them answer them: "gracias de nuevo", "thanks again",
 *     "working again"; "sin problemas", "ya no da error", "no more issues", "the issue is
 *     fixed"; "podéis cerrarla", "you can close it";
 *   - more than NOISE_MAX_WORDS words (a signature block after a closing such as "Un saludo"
 *     or "Regards" not counted): not noise;
 *   - at least one word or emoji must thank, acknowledge or confirm ("gracias", "ok", "vale",
 *     "perfect", "ya funciona", "fixed", "podéis cerrarla", 👍, 🙏, ":)");
 *   - besides thanks, acknowledgements, greetings, closings and courtesy ("por la ayuda", "for
 *     your help"), at most NOISE_MAX_OTHER other words, NOISE_MAX_OTHER_CONFIRMED when the
 *     reply says it works now ("ya imprime la impresora de la planta 2, gracias"), and at most
 *     NOISE_MAX_NAMES words that read as a name (capitalised inside a sentence: "Hola Ana",
 *     "Thanks John", or a short line of capitalised words such as a sign-off "María José").
 * Words are compared without case and accents ("GRACIAS", "Gràcias" and "gracias" are one). In
 * doubt it is not noise: a thank-you taken for more costs what it did before (a reopen), while
 * a problem taken for a thank-you would be lost on a resolved ticket. */
#ifndef SPOC_NOISE_H
#define SPOC_NOISE_H

#include <glib.h>

/* Size of the reason noise_thanks_only() writes, terminator included. */
#define NOISE_WHY_SIZE 200

/* Most words of a reply that only thanks, signature block after a closing not counted. */
#define NOISE_MAX_WORDS 40
/* Most words that are neither thanks, acknowledgement, greeting nor courtesy... */
#define NOISE_MAX_OTHER 1
/* ...or, when the reply says it works now, the words that say what works. */
#define NOISE_MAX_OTHER_CONFIRMED 3
/* Most words that read as a person's name. */
#define NOISE_MAX_NAMES 4

/* TRUE when text (what the sender wrote, without quoted history and signature: mail->text_new)
 * only thanks or acknowledges, by the rule above. subject (may be NULL) is read instead only
 * when text has no word nor emoji ("Re: Gracias" and an empty body); attachments is how many
 * the mail carries. why_r (may be NULL) gets what matched ("only thanks or acknowledgement:
 * \"Gracias\", 👍") or why it is more ("\"sigue\": says it is not over yet"), quoting at most a
 * few of the sender's words, cut short. text and subject may be NULL or invalid UTF-8. */
gboolean noise_thanks_only(const char *text, const char *subject, unsigned attachments,
			   char why_r[NOISE_WHY_SIZE]);

/* TRUE when text, the comment after a satisfaction rating ("5, ¡genial!", "1, sigue sin
 * funcionar": csat.h), says something is still wrong, asks for something or is not settled, by
 * the same words and rules as above: a question, "sigue", "still", "no funciona", "falla",
 * "could you", "mañana lo pruebo". Unlike a thank-you, a rating's comment may criticise the
 * service without reporting a problem: a contrast or addition ("pero", "but", "también",
 * "also") and a grade ("mal", "bad", "lento", "slow") say nothing by themselves, unless the grade
 * follows a word that says it works ("funciona mal", "works bad"); a negative emoji is a grade;
 * and saying there is nothing wrong is no problem ("no complaints", "sin quejas", "ningún
 * problema", "nada que añadir", "nothing else to say").
 * More than the words this module reads is a problem (in doubt, the ticket reopens). why_r (may
 * be NULL) gets the word that decided, or why none did. text may be NULL or invalid UTF-8. */
gboolean noise_comment_problem(const char *text, char why_r[NOISE_WHY_SIZE]);

/* raw (len bytes, valid UTF-8; len < 0: up to its NUL) case folded, decomposed and without its
 * accents and apostrophes, into out (out_size bytes with the NUL): the form in which the phrase
 * tables are written. FALSE when it did not fit and out holds only its start. */
gboolean noise_fold(const char *raw, gssize len, char *out, size_t out_size);

#endif
