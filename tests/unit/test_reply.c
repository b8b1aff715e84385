/* Unit tests of reply.c: which part of a message's text an agent reads as new, which is quoted
 * history and which is the signature, for the formats of the mail clients people write to a
 * service desk with, in English and Spanish. The texts are written here, shaped after what those
 * clients produce (and after html.c's text for their HTML); every case also checks that the
 * three parts partition the input's lines. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "reply.h"
#include "reply_partition.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void expect_flags(const char *text, unsigned flags, const char *new_text, const char *quoted,
			 const char *signature)
{
	struct reply_parts p;

	reply_split_flags(text, flags, &p);
	if (strcmp(p.new_text, new_text) != 0 || strcmp(p.quoted, quoted) != 0 ||
	    strcmp(p.signature, signature) != 0)
		fail_msg("reply_split(\"%s\")\n"
			 "  got  new \"%s\"\n       quoted \"%s\"\n       sig \"%s\"\n"
			 "  want new \"%s\"\n       quoted \"%s\"\n       sig \"%s\"",
			 text, p.new_text, p.quoted, p.signature, new_text, quoted, signature);
	check_partition(text, text, &p);
	reply_parts_clear(&p);
	assert_null(p.new_text);
}

static void expect(const char *text, const char *new_text, const char *quoted,
		   const char *signature)
{
	expect_flags(text, 0, new_text, quoted, signature);
}

/* Shorthands for the common shape: text written above a quote that must all be quoted. */
static void expect_top(const char *top, const char *quote)
{
	char *text = g_strconcat(top, "\n\n", quote, "\n", NULL);

	expect(text, top, quote, "");
	g_free(text);
}

static void test_empty_and_plain(void **state)
{
	struct reply_parts p;

	(void)state;
	expect("", "", "", "");
	expect("\n\n \t\n", "", "", "");
	expect("Hola,\n\nmi portátil no arranca.\n\nAna\n",
	       "Hola,\n\nmi portátil no arranca.\n\nAna", "", "");
	expect("\n\n   indented first line\nsecond  \n\n", "   indented first line\nsecond", "",
	       "");
	reply_split(NULL, &p);
	assert_string_equal(p.new_text, "");
	assert_string_equal(p.quoted, "");
	assert_string_equal(p.signature, "");
	reply_parts_clear(&p);
}

static void test_gmail_en(void **state)
{
	(void)state;
	/* plain text part: '>' quotes */
	expect("Hi,\n\nThe printer on floor 3 is fixed now.\n\nThanks,\nLuis\n\n"
	       "On Mon, Jan 5, 2026 at 10:00 AM Ana Pérez <ana@example.com> wrote:\n\n"
	       "> The printer on floor 3 does not print.\n>\n> Ana\n",
	       "Hi,\n\nThe printer on floor 3 is fixed now.\n\nThanks,\nLuis",
	       "On Mon, Jan 5, 2026 at 10:00 AM Ana Pérez <ana@example.com> wrote:\n\n"
	       "> The printer on floor 3 does not print.\n>\n> Ana",
	       "");
	/* HTML part through html.c: the blockquote arrives without '>' */
	expect_top("Still broken.", "On Mon, Jan 5, 2026 at 10:00 AM Ana Pérez <ana@example.com> "
				    "wrote:\n\nThe printer on floor 3 does not print.\n\nAna");
}

static void test_gmail_es(void **state)
{
	(void)state;
	expect("Sigue sin funcionar.\n\n"
	       "El lun, 5 ene 2026 a las 10:00, Ana Pérez (<ana@example.com>) escribió:\n\n"
	       "> La impresora no imprime.\n",
	       "Sigue sin funcionar.",
	       "El lun, 5 ene 2026 a las 10:00, Ana Pérez (<ana@example.com>) escribió:\n\n"
	       "> La impresora no imprime.",
	       "");
	expect_top("Sigue sin funcionar.",
		   "El lun, 5 ene 2026 a las 10:00, Ana Pérez (<ana@example.com>) escribió:\n\n"
		   "La impresora no imprime.\n\nAna");
}

static void test_wrapped_attribution(void **state)
{
	(void)state;
	/* Gmail wraps a long attribution at 78 columns, sometimes inside the address */
	expect_top("Done.",
		   "On Mon, Jan 5, 2026 at 10:00 AM Ana Pérez <\nana@example.com> wrote:\n\n"
		   "> Please reset my password.");
	expect_top("Done.", "On Mon, Jan 5, 2026 at 10:00 AM Ana Pérez <ana@example.com>\nwrote:\n"
			    "Please reset my password.");
	/* three lines, Spanish, no '>' */
	expect_top("Hecho.", "El lun, 5 ene 2026 a las 10:00, Ana María Pérez\n"
			     "García (<ana.maria@example.com>)\nescribió:\n"
			     "Por favor, restablezcan mi contraseña.");
	/* date on the first line, the name on the second, answer below */
	expect("On Tue, 6 Jan 2026 09:15:00 +0100\nAna Pérez <ana@example.com> wrote:\n\n"
	       "> Is the VPN up?\n\nYes, since 9:00.\n",
	       "Yes, since 9:00.",
	       "On Tue, 6 Jan 2026 09:15:00 +0100\nAna Pérez <ana@example.com> wrote:\n\n"
	       "> Is the VPN up?",
	       "");
}

static void test_attribution_variants(void **state)
{
	(void)state;
	/* Thunderbird, English and Spanish (HTML blockquote: no '>') */
	expect_top("Works now.", "On 05/01/2026 10:00, Ana wrote:\nThe VPN drops every hour.");
	expect_top("Ya funciona.", "El 05/01/2026 a las 10:00, Ana escribió:\nLa VPN se corta.");
	/* Thunderbird in Spanish with the address only */
	expect_top("Ya funciona.", "Ana <ana@example.com> escribió:\nLa VPN se corta.");
	/* Apple Mail */
	expect_top("Yes.",
		   "On 5 Jan 2026, at 10:00, Ana <ana@example.com> wrote:\n\n> Is it fixed?");
	expect_top(
	    "Sí.",
	    "El 5 ene 2026, a las 10:00, Ana <ana@example.com> escribió:\n\n> ¿Está arreglado?");
	/* a bare "Name wrote:" is an attribution when '>' lines follow it */
	expect_top("Yes.", "Ana wrote:\n> Is it fixed?");
	/* German, Portuguese, French */
	expect_top("Ja.",
		   "Am 05.01.2026 um 10:00 schrieb Ana <ana@example.com>:\nIst es repariert?");
	expect_top("Sim.", "Em seg., 5 de jan. de 2026 às 10:00, Ana <ana@example.com> escreveu:\n"
			   "Está consertado?");
	expect_top("Oui.", "Le lun. 5 janv. 2026 à 10:00, Ana <ana@example.com> a écrit :\n"
			   "C'est réparé ?");
}

static void test_outlook(void **state)
{
	(void)state;
	expect_top("Printer fixed.", "-----Original Message-----\n"
				     "From: Ana Pérez [mailto:ana@example.com]\n"
				     "Sent: Monday, January 5, 2026 10:00 AM\nTo: Service Desk\n"
				     "Subject: Printer\n\nThe printer does not print.");
	expect_top("Impresora arreglada.",
		   "-----Mensaje original-----\n"
		   "De: Ana Pérez [mailto:ana@example.com]\n"
		   "Enviado el: lunes, 5 de enero de 2026 10:00\n"
		   "Para: Centro de Servicios\nAsunto: Impresora\n\nNo imprime.");
	/* Outlook on the web: a rule of underscores, then the block */
	expect_top("Reset done.",
		   "________________________________\nFrom: Ana Pérez <ana@example.com>\n"
		   "Sent: Monday, January 5, 2026 10:00\nTo: Service Desk <desk@example.com>\n"
		   "Cc: Luis <luis@example.com>\nSubject: Password\n\nPlease reset my password.");
	expect_top("Hecho.", "________________________________\nDe: Ana Pérez <ana@example.com>\n"
			     "Enviado: lunes, 5 de enero de 2026 10:00\n"
			     "Para: Centro de Servicios <desk@example.com>\nAsunto: Contraseña\n\n"
			     "Por favor, restablezcan mi contraseña.");
	/* Outlook desktop HTML through html.c: no rule, bold gone; Date/Fecha and CC variants */
	expect_top("Ya está.",
		   "De: Ana Pérez <ana@example.com>\n"
		   "Fecha: lunes, 5 de enero de 2026, 10:00\n"
		   "Para: Centro de Servicios <desk@example.com>\n"
		   "CC: Luis <luis@example.com>\nAsunto: Contraseña\n\nNecesito acceso.");
	expect_top("Done.",
		   "From: Ana Pérez <ana@example.com>\nDate: Monday, January 5, 2026 at "
		   "10:00\nTo: Service Desk <desk@example.com>\nSubject: VPN\n\nVPN down.");
	/* plain text with the bold kept as stars, and a recipient list wrapped onto two lines */
	expect_top("Done.", "*From:* Ana Pérez <ana@example.com>\n*Sent:* Monday, January 5, 2026\n"
			    "*To:* desk@example.com; luis@example.com;\nmarta@example.com\n"
			    "*Subject:* VPN\n\nVPN down.");
	/* HTML without line breaks between the fields */
	expect_top("Done.", "From: Ana Pérez Sent: Monday, January 5, 2026 10:00 To: Service Desk "
			    "Subject: VPN\n\nVPN down.");
	/* Samsung's mail app, English and Spanish, with its signature */
	expect("Ok\n\nSent from my Samsung Galaxy smartphone.\n\n\n-------- Original message "
	       "--------\n"
	       "From: Ana <ana@example.com> \nDate: 05/01/2026 10:00 (GMT+01:00) \n"
	       "To: desk@example.com \nSubject: VPN \n\nVPN down.",
	       "Ok",
	       "-------- Original message --------\nFrom: Ana <ana@example.com> \n"
	       "Date: 05/01/2026 10:00 (GMT+01:00) \nTo: desk@example.com \nSubject: VPN \n\nVPN "
	       "down.",
	       "Sent from my Samsung Galaxy smartphone.");
	expect("Vale\n\nEnviado desde mi smartphone Samsung Galaxy.\n\n"
	       "-------- Mensaje original --------\nDe: Ana <ana@example.com>\n"
	       "Fecha: 05/01/2026 10:00 (GMT+01:00)\nPara: desk@example.com\nAsunto: VPN\n\nNo va.",
	       "Vale",
	       "-------- Mensaje original --------\nDe: Ana <ana@example.com>\n"
	       "Fecha: 05/01/2026 10:00 (GMT+01:00)\nPara: desk@example.com\nAsunto: VPN\n\nNo va.",
	       "Enviado desde mi smartphone Samsung Galaxy.");
	/* Yahoo / AOL style separator */
	expect_top("Hello",
		   "----- Original Message -----\nFrom: bob@example.com\nTo: desk@example.com\n"
		   "Sent: Monday, April 2, 2012 5:44 PM\nSubject: Test\n\nHi");
}

static void test_false_positives(void **state)
{
	(void)state;
	/* a sentence that starts with "From:" */
	expect(
	    "From: my desk on the 3rd floor, the printer shows error 42.\nCan you send someone?\n",
	    "From: my desk on the 3rd floor, the printer shows error 42.\nCan you send someone?",
	    "", "");
	/* a sender and a recipient alone are not a header block */
	expect("From: Madrid office\nTo: Barcelona office\nWe need a VPN link between both.",
	       "From: Madrid office\nTo: Barcelona office\nWe need a VPN link between both.", "",
	       "");
	/* "wrote:" in the text, no quote after it */
	expect("The vendor wrote:\nwe will ship the part on Monday.\nPlease follow up.",
	       "The vendor wrote:\nwe will ship the part on Monday.\nPlease follow up.", "", "");
	expect("On Monday the printer broke.\nLuis wrote:\nit needs toner.",
	       "On Monday the printer broke.\nLuis wrote:\nit needs toner.", "", "");
	/* a rule of underscores that is not Outlook's */
	expect("Step 1\n____________________\nStep 2", "Step 1\n____________________\nStep 2", "",
	       "");
	/* lines that look like separators but are not */
	expect("--- Section ---\nText\n---\nMore", "--- Section ---\nText\n---\nMore", "", "");
}

static void test_quote_posting(void **state)
{
	(void)state;
	/* bottom posting: the history above is quoted, the answer below is new */
	expect(
	    "On 05/01/2026 10:00, Ana wrote:\n> Is the VPN working?\n\nYes, since this morning.\n",
	    "Yes, since this morning.", "On 05/01/2026 10:00, Ana wrote:\n> Is the VPN working?",
	    "");
	expect("> q1\n>> older\n> > older too\n>no space\n\nanswer\n", "answer",
	       "> q1\n>> older\n> > older too\n>no space", "");
	/* interleaved: the answers keep their questions; the quote after the last answer goes */
	expect("> Is the VPN working?\nYes.\n\n> Which office?\nMadrid.\n\n> Thanks,\n> Ana\n",
	       "> Is the VPN working?\nYes.\n\n> Which office?\nMadrid.", "> Thanks,\n> Ana", "");
	expect("Hi,\n> Is the VPN working?\nYes.\n", "Hi,\n> Is the VPN working?\nYes.", "", "");
	/* bottom posting with a signature */
	expect("> q\n\nanswer\n-- \nLuis\n", "answer", "> q", "-- \nLuis");
	/* bottom posting, then Outlook history below: both quoted */
	expect("> q\nanswer\n\nFrom: Ana <ana@example.com>\nSent: Monday\nSubject: x\n\nold",
	       "answer", "> q\n\nFrom: Ana <ana@example.com>\nSent: Monday\nSubject: x\n\nold", "");
}

static void test_all_quoted(void **state)
{
	(void)state;
	expect("> a\n> b\n", "", "> a\n> b", "");
	expect("\nOn Mon, Jan 5, 2026 at 10:00 AM Ana <ana@example.com> wrote:\nfoo\n", "",
	       "On Mon, Jan 5, 2026 at 10:00 AM Ana <ana@example.com> wrote:\nfoo", "");
	expect("-----Original Message-----\nFrom: Ana\nSent: Monday\n\nfoo", "",
	       "-----Original Message-----\nFrom: Ana\nSent: Monday\n\nfoo", "");
	/* a reply whose quote was cut off after the attribution */
	expect("Fixed.\n\nOn 05/01/2026 10:00, Ana wrote:\n", "Fixed.",
	       "On 05/01/2026 10:00, Ana wrote:", "");
}

static void test_signatures(void **state)
{
	(void)state;
	expect("Printer fixed.\n\n-- \nLuis Gómez\nIT Service Desk\n", "Printer fixed.", "",
	       "-- \nLuis Gómez\nIT Service Desk");
	expect("Impresora arreglada.\n--\nLuis Gómez\nCentro de Servicios", "Impresora arreglada.",
	       "", "--\nLuis Gómez\nCentro de Servicios");
	/* the signature ends where the quote starts */
	expect("Done.\n-- \nLuis\n\nOn Mon, Jan 5, 2026 at 10:00 AM Ana <ana@example.com> wrote:\n"
	       "> help\n",
	       "Done.", "On Mon, Jan 5, 2026 at 10:00 AM Ana <ana@example.com> wrote:\n> help",
	       "-- \nLuis");
	/* mobile lines, English and Spanish */
	expect("Yes it works\n\nSent from my iPhone\n\n"
	       "On 5 Jan 2026, at 10:00, Ana <ana@example.com> wrote:\n\n> Does it work?\n",
	       "Yes it works",
	       "On 5 Jan 2026, at 10:00, Ana <ana@example.com> wrote:\n\n> Does it work?",
	       "Sent from my iPhone");
	expect("Sí, funciona\n\nEnviado desde mi iPhone\n", "Sí, funciona", "",
	       "Enviado desde mi iPhone");
	expect("Funciona.\n\nEnviado desde mi smartphone Samsung Galaxy.", "Funciona.", "",
	       "Enviado desde mi smartphone Samsung Galaxy.");
	expect("Ok\nSent from my iPad", "Ok", "", "Sent from my iPad");
	expect("Ok\n\nSent from Yahoo Mail on Android", "Ok", "",
	       "Sent from Yahoo Mail on Android");
	expect("Ok\n\nSent from Mail for Windows", "Ok", "", "Sent from Mail for Windows");
	expect("Ok\n\nEnviado desde Outlook", "Ok", "", "Enviado desde Outlook");
	expect_flags("Ok\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n"
		     "________________________________\nFrom: Ana <ana@example.com>\n"
		     "Sent: Monday, January 5, 2026 10:00:00 AM\nTo: desk@example.com\n"
		     "Subject: VPN\n\nVPN down.",
		     0, "Ok",
		     "________________________________\nFrom: Ana <ana@example.com>\n"
		     "Sent: Monday, January 5, 2026 10:00:00 AM\nTo: desk@example.com\n"
		     "Subject: VPN\n\nVPN down.",
		     "Get Outlook for iOS<https://aka.ms/o0ukef>");
	expect("Vale\n\nObtener Outlook para Android\n", "Vale", "",
	       "Obtener Outlook para Android");
	/* the signature and what follows it */
	expect("Ok\n\nSent from my iPhone\nPlease excuse typos", "Ok", "",
	       "Sent from my iPhone\nPlease excuse typos");
	/* an unknown device only when it is the last line */
	expect("The error persists.\n\nSent from my Fairphone", "The error persists.", "",
	       "Sent from my Fairphone");
	expect("Sent from my laptop, the error appears.\nPlease help.",
	       "Sent from my laptop, the error appears.\nPlease help.", "", "");
	/* closings stay */
	expect("Printer fixed.\n\nThanks,\nAna", "Printer fixed.\n\nThanks,\nAna", "", "");
	expect("Ya funciona.\n\nSaludos,\nAna", "Ya funciona.\n\nSaludos,\nAna", "", "");
	/* only a signature */
	expect("-- \nAna\n", "", "", "-- \nAna");
	/* a signature delimiter inside a quote is not the sender's */
	expect("Ok\n\n> text\n> -- \n> Ana\n", "Ok", "> text\n> -- \n> Ana", "");
}

static void test_forwards(void **state)
{
	static const char gmail_fwd[] =
	    "---------- Forwarded message ---------\n"
	    "From: Backup <backup@example.com>\n"
	    "Date: Mon, Jan 5, 2026 at 3:00 AM\nSubject: Backup failed\n"
	    "To: <ana@example.com>\n\nJob nightly failed: disk full.";

	(void)state;
	/* a forward is content to read: it stays new */
	expect("Please look at this error.\n\n---------- Forwarded message ---------\n"
	       "From: Backup <backup@example.com>\nDate: Mon, Jan 5, 2026 at 3:00 AM\n"
	       "Subject: Backup failed\nTo: <ana@example.com>\n\nJob nightly failed: disk full.\n",
	       "Please look at this error.\n\n---------- Forwarded message ---------\n"
	       "From: Backup <backup@example.com>\nDate: Mon, Jan 5, 2026 at 3:00 AM\n"
	       "Subject: Backup failed\nTo: <ana@example.com>\n\nJob nightly failed: disk full.",
	       "", "");
	expect(gmail_fwd, gmail_fwd, "", "");
	expect("Mirad este error.\n---------- Mensaje reenviado ---------\nDe: Backup "
	       "<backup@example.com>\nDate: lun, 5 ene 2026 a las 3:00\nSubject: Fallo\n\nDisco "
	       "lleno.",
	       "Mirad este error.\n---------- Mensaje reenviado ---------\nDe: Backup "
	       "<backup@example.com>\nDate: lun, 5 ene 2026 a las 3:00\nSubject: Fallo\n\nDisco "
	       "lleno.",
	       "", "");
	/* Thunderbird */
	expect(
	    "FYI\n\n-------- Forwarded Message --------\nSubject: Backup failed\nDate: Mon, 5 Jan "
	    "2026\nFrom: backup@example.com\n\nDisk full.",
	    "FYI\n\n-------- Forwarded Message --------\nSubject: Backup failed\nDate: Mon, 5 Jan "
	    "2026\nFrom: backup@example.com\n\nDisk full.",
	    "", "");
	/* old Thunderbird forwards like Samsung replies: only the subject tells */
	expect("FYI\n-------- Original Message --------\nSubject: x\nFrom: y\n\nz", "FYI",
	       "-------- Original Message --------\nSubject: x\nFrom: y\n\nz", "");
	expect_flags("FYI\n-------- Original Message --------\nSubject: x\nFrom: y\n\nz",
		     REPLY_FORWARDED,
		     "FYI\n-------- Original Message --------\nSubject: x\nFrom: y\n\nz", "", "");
	expect("Ojo\n-------- Mensaje reenviado --------\nAsunto: x\nDe: y\n\nz",
	       "Ojo\n-------- Mensaje reenviado --------\nAsunto: x\nDe: y\n\nz", "", "");
	/* Apple Mail */
	expect("See below.\n\nBegin forwarded message:\n\nFrom: Backup <backup@example.com>\n"
	       "Subject: Backup failed\n\nDisk full.",
	       "See below.\n\nBegin forwarded message:\n\nFrom: Backup <backup@example.com>\n"
	       "Subject: Backup failed\n\nDisk full.",
	       "", "");
	expect("Mirad.\n\nInicio del mensaje reenviado:\n\nDe: Backup <backup@example.com>\n"
	       "Asunto: Fallo\n\nDisco lleno.",
	       "Mirad.\n\nInicio del mensaje reenviado:\n\nDe: Backup <backup@example.com>\n"
	       "Asunto: Fallo\n\nDisco lleno.",
	       "", "");
	/* the sender's signature above the forward is still the signature */
	expect("FYI\n-- \nAna\n\n---------- Forwarded message ---------\nFrom: x\n\ny",
	       "FYI\n\n---------- Forwarded message ---------\nFrom: x\n\ny", "", "-- \nAna");
	/* a forward inside a reply's history is history */
	expect_top("Thanks, solved.",
		   "On Mon, Jan 5, 2026 at 10:00 AM Ana <ana@example.com> wrote:\n\n"
		   "---------- Forwarded message ---------\nFrom: x\n\ny");
	expect_top("Thanks, solved.", "-----Original Message-----\nFrom: Ana\nSent: Monday\n\n"
				      "Begin forwarded message:\n\nerror");
	/* '>' history above a forward */
	expect("> old\nFYI\n---------- Forwarded message ---------\nerror",
	       "FYI\n---------- Forwarded message ---------\nerror", "> old", "");
}

/* forward_at: where the forward starts in new_text, so that what the sender wrote can be told
 * from what they passed on. */
static void expect_forward_at(const char *text, unsigned flags, const char *own)
{
	struct reply_parts p;

	reply_split_flags(text, flags, &p);
	if (strlen(own) != p.forward_at || strncmp(p.new_text, own, p.forward_at) != 0)
		fail_msg("reply_split(\"%s\")\n  new \"%s\"\n  forward_at %zu, want %zu (\"%s\")",
			 text, p.new_text, p.forward_at, strlen(own), own);
	reply_parts_clear(&p);
}

static void test_forward_at(void **state)
{
	(void)state;
	/* no forward: all of it is the sender's */
	expect_forward_at("Hola,\n\nsigue sin funcionar.\n", 0, "Hola,\n\nsigue sin funcionar.");
	expect_forward_at("", 0, "");
	/* the sender's lines, then the forward's separator (the blank lines between are the text's) */
	expect_forward_at(
	    "Mira esto.\n\n\n---------- Forwarded message ---------\nFrom: x\n\ny\n\n", 0,
	    "Mira esto.\n\n\n");
	/* a forward alone: nothing is the sender's own */
	expect_forward_at("---------- Forwarded message ---------\nFrom: x\n\ny", 0, "");
	/* with a signature between them, and Apple's separator */
	expect_forward_at("FYI\n-- \nAna\n\nBegin forwarded message:\n\nFrom: x\n\ny", 0,
			  "FYI\n\n");
	/* an Outlook header block starts the forward when the subject said FW: */
	expect_forward_at("See below.\n\nFrom: Vendor <v@vendor.example>\nSent: Monday\nTo: ana\n"
			  "Subject: case\n\nprices\n",
			  REPLY_FORWARDED, "See below.\n\n");
	/* a forward inside a reply's history is history, not part of new_text */
	expect_forward_at("Thanks\n\nOn Mon, 5 Jan 2026, Ana wrote:\n> "
			  "---------- Forwarded message ---------\n> x\n",
			  0, "Thanks");
}

static void test_outlook_forward_flag(void **state)
{
	static const char text[] = "See below.\n\n________________________________\nFrom: Backup\n"
				   "Sent: Monday, January 5, 2026 3:00 AM\nTo: Ana\n"
				   "Subject: Backup failed\n\nDisk full.\n";

	(void)state;
	expect(text, "See below.",
	       "________________________________\nFrom: Backup\nSent: Monday, January 5, 2026 3:00 "
	       "AM\nTo: Ana\nSubject: Backup failed\n\nDisk full.",
	       "");
	expect_flags(text, REPLY_FORWARDED,
		     "See below.\n\n________________________________\nFrom: Backup\nSent: Monday, "
		     "January 5, 2026 3:00 AM\nTo: Ana\nSubject: Backup failed\n\nDisk full.",
		     "", "");
	expect_flags("-----Mensaje original-----\nDe: Backup\nEnviado el: lunes\n\nDisco lleno.",
		     REPLY_FORWARDED,
		     "-----Mensaje original-----\nDe: Backup\nEnviado el: lunes\n\nDisco lleno.",
		     "", "");
	/* attributions are replies even then */
	expect_flags("Mira.\n\nOn 05/01/2026 10:00, Ana wrote:\nold", REPLY_FORWARDED, "Mira.",
		     "On 05/01/2026 10:00, Ana wrote:\nold", "");

	assert_true(reply_subject_is_forward("FW: Backup failed"));
	assert_true(reply_subject_is_forward("Fwd: Backup failed"));
	assert_true(reply_subject_is_forward("RV: Fallo de copia"));
	assert_true(reply_subject_is_forward("  rv : Fallo"));
	assert_true(reply_subject_is_forward("[EXTERNAL] FW: x"));
	assert_true(reply_subject_is_forward("[EXT] [SPAM?] Fwd: x"));
	assert_true(reply_subject_is_forward("WG: x"));
	assert_true(reply_subject_is_forward("TR : x"));
	assert_false(reply_subject_is_forward("RE: FW: x"));
	assert_false(reply_subject_is_forward("Re: x"));
	assert_false(reply_subject_is_forward("Forward planning"));
	assert_false(reply_subject_is_forward("Fwdx: y"));
	assert_false(reply_subject_is_forward("FW"));
	assert_false(reply_subject_is_forward("[unclosed FW: x"));
	assert_false(reply_subject_is_forward(""));
	assert_false(reply_subject_is_forward(NULL));
}

static void test_invalid_utf8(void **state)
{
	struct reply_parts p;
	const char *text = "caf\xe9 roto\n\n> q\xff\n";

	(void)state;
	reply_split(text, &p);
	assert_true(g_utf8_validate(p.new_text, -1, NULL));
	assert_true(g_utf8_validate(p.quoted, -1, NULL));
	assert_string_equal(p.new_text, "caf\xef\xbf\xbd roto");
	assert_string_equal(p.quoted, "> q\xef\xbf\xbd");
	reply_parts_clear(&p);
}

/* Splits a big or hostile text and checks the partition. How fast is for a benchmark to say;
 * quadratic time on these inputs would still run into ctest's timeout. */
static void split_timed(const char *label, const char *text, struct reply_parts *p)
{
	reply_split(text, p);
	check_partition(label, text, p);
}

static void test_big_inputs(void **state)
{
	GString *s = g_string_new("Top text\n\n");
	struct reply_parts p;

	(void)state;
	for (int i = 0; i < 200000; i++)
		g_string_append_printf(s, "> quoted line %d\n", i);
	for (int i = 0; i < 200000; i++)
		g_string_append_printf(s, "plain line %d\n", i);
	/* quote then text: bottom posting under a top line, so interleaved */
	split_timed("quotes and text", s->str, &p);
	assert_true(g_str_has_prefix(p.new_text, "Top text\n\n> quoted line 0\n"));
	assert_true(g_str_has_suffix(p.new_text, "plain line 199999"));
	reply_parts_clear(&p);

	g_string_assign(s, "Top text\n\n");
	for (int i = 0; i < 200000; i++)
		g_string_append_printf(s, "> quoted line %d\n", i);
	split_timed("quotes", s->str, &p);
	assert_string_equal(p.new_text, "Top text");
	assert_true(g_str_has_prefix(p.quoted, "> quoted line 0\n"));
	reply_parts_clear(&p);

	g_string_truncate(s, 0);
	for (int i = 0; i < 200000; i++)
		g_string_append_printf(s, "plain line %d\n", i);
	split_timed("text", s->str, &p);
	assert_int_equal(strlen(p.new_text), s->len - 1);
	reply_parts_clear(&p);

	/* lines that each start a look-ahead */
	g_string_truncate(s, 0);
	for (int i = 0; i < 200000; i++)
		g_string_append(s, "From: x\nTo: y\n");
	split_timed("header lines", s->str, &p);
	assert_string_equal(p.quoted, "");
	reply_parts_clear(&p);

	g_string_truncate(s, 0);
	for (int i = 0; i < 200000; i++)
		g_string_append(s, "On 1, x\n");
	split_timed("attribution openers", s->str, &p);
	reply_parts_clear(&p);

	g_string_truncate(s, 0);
	for (int i = 0; i < 200000; i++)
		g_string_append(s, "a wrote:\n\n\n");
	split_timed("weak attributions", s->str, &p);
	reply_parts_clear(&p);

	g_string_truncate(s, 0);
	for (int i = 0; i < 100000; i++)
		g_string_append(s, "a wrote:\n\n> q\n");
	split_timed("attributions and quotes", s->str, &p);
	assert_string_equal(p.new_text, "");
	reply_parts_clear(&p);

	/* one 5 MB line, 5 MB of dashes, of underscores and of line breaks */
	g_string_truncate(s, 0);
	g_string_append_c(s, 'x');
	for (int i = 0; i < 5000000; i++)
		g_string_append_c(s, ' ');
	g_string_append(s, "wrote:");
	split_timed("long line", s->str, &p);
	reply_parts_clear(&p);
	memset(s->str, '-', s->len);
	split_timed("dashes", s->str, &p);
	reply_parts_clear(&p);
	memset(s->str, '_', s->len);
	split_timed("underscores", s->str, &p);
	reply_parts_clear(&p);
	memset(s->str, '\n', s->len);
	split_timed("line breaks", s->str, &p);
	assert_string_equal(p.new_text, "");
	reply_parts_clear(&p);

	g_string_free(s, TRUE);
}

/* Every file of tests/data, raw, must split into a partition of its lines: messages in many
 * charsets and shapes, TNEF and binary seeds (test_reply_corpus.c does the same over the corpus).
 */
static void test_data_raw(void **state)
{
	const char *data = g_getenv("SPOC_TEST_DATA");
	int files;

	(void)state;
	if (data == NULL)
		fail_msg("SPOC_TEST_DATA is not set (run through ctest)");
	files = split_tree(data);
	printf("tests/data: %d files split\n", files);
	assert_true(files >= 50);
}

static void expect_signoff(const char *text, const char *name, const char *want)
{
	char *got = reply_drop_signoff(text, name);

	if (strcmp(got, want) != 0)
		fail_msg("reply_drop_signoff(\"%s\", \"%s\")\n  got  \"%s\"\n  want \"%s\"",
			 text != NULL ? text : "(none)", name != NULL ? name : "(none)", got, want);
	g_free(got);
}

/* What an agent wrote now (reply_split()'s new_text) is relayed under the desk's own line with
 * the agent's name: the agent's closing and name at the end go, nothing else does. */
static void test_signoff(void **state)
{
	struct reply_parts p;

	(void)state;
	/* Outlook: closing, name, title, then the history reply_split() takes away */
	reply_split(
	    "Hola Marta,\n\nHe reiniciado tu perfil; prueba ahora.\n\nSaludos,\nAna García\n"
	    "Service Desk\n\n________________________________\nFrom: Marta Ruiz "
	    "<marta@example.com>\nSent: Monday, December 7, 2026 9:12 AM\nTo: "
	    "help@desk.test\nSubject: El portátil no arranca\n\nNo arranca.\n",
	    &p);
	assert_string_equal(p.new_text, "Hola Marta,\n\nHe reiniciado tu perfil; prueba ahora.\n\n"
					"Saludos,\nAna García\nService Desk");
	expect_signoff(p.new_text, "Ana García",
		       "Hola Marta,\n\nHe reiniciado tu perfil; prueba ahora.");
	reply_parts_clear(&p);
	/* Thunderbird: a closing with the first name, then a "-- " signature */
	reply_split(
	    "Ya está: era el cargador.\n\nSaludos,\nAna\n-- \nAna\n\nEl 7/12/26 a las 9:30, "
	    "Marta Ruiz escribió:\n> Sigue sin arrancar.\n",
	    &p);
	expect_signoff(p.new_text, "Ana García", "Ya está: era el cargador.");
	reply_parts_clear(&p);
	/* "-- \nAna" alone: the splitter already took the signature */
	reply_split("Done, it works now.\n-- \nAna\n", &p);
	expect_signoff(p.new_text, "Ana García", "Done, it works now.");
	reply_parts_clear(&p);
	/* CRLF, the name without its accent, in capitals, with a phone line after it */
	expect_signoff(
	    "Reinstalled.\r\n\r\nBest regards,\r\nANA GARCIA\r\nService Desk\r\nTel. +34 91 "
	    "555 12 34\r\n",
	    "Ana García", "Reinstalled.");
	/* no closing: the name alone after a blank line */
	expect_signoff("Reinstalled.\n\nAna García\n", "Ana García", "Reinstalled.");
	/* the closing and the name on one line */
	expect_signoff("Reinstalled.\n\nThanks, Ana\n", "Ana García", "Reinstalled.");
}

/* Text that is not a sign-off stays, word for word. */
static void test_signoff_kept(void **state)
{
	(void)state;
	/* the name inside a sentence, and at the end of a wrapped sentence */
	expect_signoff("Ana García will call you tomorrow.", "Ana García",
		       "Ana García will call you tomorrow.");
	expect_signoff("I have passed your ticket on to\nAna García", "Ana García",
		       "I have passed your ticket on to\nAna García");
	/* the name followed by more than a sign-off's lines */
	expect_signoff("Hi,\n\nAna\nhas the new laptop ready for you, please pick it up at the "
		       "front desk on the second floor before Friday.\n",
		       "Ana García",
		       "Hi,\n\nAna\nhas the new laptop ready for you, please pick it up at "
		       "the front desk on the second floor before Friday.\n");
	/* another person's name */
	expect_signoff("Reinstalled.\n\nSaludos,\nLuis\n", "Ana García",
		       "Reinstalled.\n\nSaludos,\nLuis\n");
	/* nothing but the sign-off: kept, there would be nothing to relay */
	expect_signoff("Saludos,\nAna", "Ana García", "Saludos,\nAna");
	/* no name known, no text */
	expect_signoff("Reinstalled.\n\nAna", "", "Reinstalled.\n\nAna");
	expect_signoff("Reinstalled.\n\nAna", NULL, "Reinstalled.\n\nAna");
	expect_signoff(NULL, "Ana", "");
	/* invalid UTF-8 comes out valid */
	{
		char *got = reply_drop_signoff("Hecho \xff.\n\nSaludos,\nAna\n", "Ana");

		assert_true(g_utf8_validate(got, -1, NULL));
		assert_string_equal(got, "Hecho \xef\xbf\xbd.");
		g_free(got);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty_and_plain),
	    cmocka_unit_test(test_gmail_en),
	    cmocka_unit_test(test_gmail_es),
	    cmocka_unit_test(test_wrapped_attribution),
	    cmocka_unit_test(test_attribution_variants),
	    cmocka_unit_test(test_outlook),
	    cmocka_unit_test(test_false_positives),
	    cmocka_unit_test(test_quote_posting),
	    cmocka_unit_test(test_all_quoted),
	    cmocka_unit_test(test_signatures),
	    cmocka_unit_test(test_forwards),
	    cmocka_unit_test(test_forward_at),
	    cmocka_unit_test(test_outlook_forward_flag),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_big_inputs),
	    cmocka_unit_test(test_data_raw),
	    cmocka_unit_test(test_signoff),
	    cmocka_unit_test(test_signoff_kept),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
