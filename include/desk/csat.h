/* Customer satisfaction (CSAT): the resolution notice asks the requester how the desk did, and
 * they answer by replying with a number or a word. This module reads such an answer: a reply
 * whose text (what the sender wrote, without quoted history and signature: mail->text_new)
 * starts with a rating is a rating of 1..5, the rest of the text its comment. Spanish and
 * English. Pure: no I/O.
 *
 * What counts as a rating, at the very start of the text (case, accents and a letter repeated
 * three times or more do not matter):
 *   - a digit 1..5 on its own: "5", "5.", "5 ¡genial!", "4, tardasteis un poco"; with its scale
 *     "5/5", "4 de 5", "4 sobre 5", "4 of 5", "4 out of 5"; or stars "5 stars", "5 estrellas",
 *     "5 ⭐". Not a digit that is part of something else: "10", "3.5", "2,5", "5:30", "1-2",
 *     "5%", "1º", "2nd", "3h", "5+", "2)" (a list), "4/10", "2 de 3";
 *   - a row of one to five stars: "⭐⭐⭐⭐⭐", "★★★";
 *   - a word or phrase that grades: 5 "excelente", "muy bien", "muy bueno", "buenísimo",
 *     "excellent", "very good", "outstanding"; 4 "bien", "bastante bien", "good", "pretty
 *     good"; 3 "regular", "normal", "aceptable", "ni bien ni mal", "fair", "average", "so-so";
 *     2 "mal", "malo", "no muy bien", "poor", "bad", "not good"; 1 "muy mal", "fatal",
 *     "pésimo", "horrible", "terrible", "very bad", "awful". Not a greeting or phrase that
 *     starts like one ("good morning", "good point", "fair enough"), nor a word that only
 *     acknowledges ("ok", "vale", "perfecto", "genial", 👍): those are thanks (noise.h);
 * followed by the end of the text, a blank or punctuation.
 * The rest of the text (separators and blanks around it trimmed) is the comment. When the
 * comment says something is still wrong, asks for something or is not settled
 * (noise_comment_problem(): "1, sigue sin funcionar", "mal, it is still broken") the reply is
 * not taken as a rating: the ticket must reopen. An attachment, or a comment longer than
 * CSAT_COMMENT_SIZE - 1 bytes, makes it content too. */
#ifndef SPOC_CSAT_H
#define SPOC_CSAT_H

#include "noise.h"

#include <glib.h>

/* Sizes of struct csat_reading's strings, terminator included. A longer comment is more than a
 * rating: the reply is read as content (r->problem), never cut. */
#define CSAT_COMMENT_SIZE 1024
#define CSAT_WHY_SIZE	  (NOISE_WHY_SIZE + 64)

/* How the reason of a rating (csat_reading.why, kept as the message's note) starts: "rated 5 of
 * 5 ("5") with a comment". */
#define CSAT_WHY_RATED "rated "

/* The lowest rating that counts as satisfied (4 and 5 of 5). */
#define CSAT_SATISFIED 4

struct csat_reading {
	int rating; /* 1..5 when the text starts with a rating, else 0 */
	/* the comment says something is still wrong (or there is an attachment): not a rating */
	gboolean problem;
	char token[48]; /* the rating as written, cut short ("4 de 5", "Muy bien") */
	char comment[CSAT_COMMENT_SIZE]; /* the rest of the text, trimmed; "" when none */
	char why[CSAT_WHY_SIZE];	 /* what was read, for the note and the logs */
};

/* Reads text (may be NULL or invalid UTF-8) into *r. TRUE when it is a rating: r->rating is
 * 1..5 and nothing in the comment reports a problem. FALSE otherwise; then r->rating may still
 * be set (the text starts with a rating, but r->problem), and r->why says why it is not one. */
gboolean csat_read(const char *text, unsigned attachments, struct csat_reading *r);

#endif
