/* Pure decisions about one parsed mail, no I/O: was it sent by a machine (then it is never
 * acknowledged, so two robots cannot talk to each other forever), is it an incident (something
 * is broken) or a service request (please give me something), and should we answer in Spanish or
 * English. The keyword rules are deliberately simple and visible: every decision comes with a
 * static string naming the rule, which main.c logs and the ticket keeps. */
#include "classify.h"

#include <string.h>

/* Body text beyond this is not looked at: what a person asks is at the top, and a 25 MB body must
 * not cost seconds of regex time. */
#define CLASSIFY_TEXT_MAX (64 * 1024)

/* The value of a header up to its first ';' (parameters) or '(' (comment), trimmed and
 * lower-cased; caller frees. NULL when the header is absent. */
static char *header_token(const struct mail *mail, const char *name)
{
	const char *v = mail_header(mail, name);
	char *t;

	if (v == NULL)
		return NULL;
	t = g_ascii_strdown(v, (gssize)strcspn(v, ";("));
	return g_strstrip(t);
}

/* Auto-Submitted (RFC 3834): anything but "no" means a machine wrote it. */
static const char *auto_submitted_why(const char *v)
{
	if (strcmp(v, "auto-replied") == 0)
		return "Auto-Submitted: auto-replied";
	if (strcmp(v, "auto-generated") == 0)
		return "Auto-Submitted: auto-generated";
	if (strcmp(v, "auto-notified") == 0)
		return "Auto-Submitted: auto-notified";
	return "Auto-Submitted present and not \"no\"";
}

static const char *precedence_why(const char *v)
{
	if (strcmp(v, "bulk") == 0)
		return "Precedence: bulk";
	if (strcmp(v, "junk") == 0)
		return "Precedence: junk";
	if (strcmp(v, "list") == 0)
		return "Precedence: list";
	if (strcmp(v, "auto_reply") == 0)
		return "Precedence: auto_reply";
	return NULL;
}

/* Local parts that only machines send from; '-', '_' and '.' are ignored, so "no-reply",
 * "no_reply" and "do.not.reply" all count, and "noreply-calendar" too. */
static const char *sender_why(const char *addr)
{
	const char *at = addr != NULL ? strrchr(addr, '@') : NULL;
	GString *local;
	const char *why = NULL;

	if (addr == NULL)
		return NULL;
	local = g_string_new(NULL);
	for (const char *p = addr; *p != '\0' && (at == NULL || p < at); p++)
		if (*p != '-' && *p != '_' && *p != '.' && *p != ' ')
			g_string_append_c(local, g_ascii_tolower(*p));
	if (strcmp(local->str, "mailerdaemon") == 0 ||
	    strcmp(local->str, "maildeliverysystem") == 0 ||
	    strcmp(local->str, "maildeliverysubsystem") == 0)
		why = "From: mailer-daemon";
	else if (strcmp(local->str, "postmaster") == 0)
		why = "From: postmaster";
	else if (g_str_has_prefix(local->str, "noreply") ||
		 g_str_has_prefix(local->str, "donotreply"))
		why = "From: a no-reply address";
	g_string_free(local, TRUE);
	return why;
}

/* X-Auto-Response-Suppress is deliberately not a rule: Outlook puts it on ordinary mail that a
 * person wrote, and it asks *us* not to auto-respond less than it says who the sender is. */
/* What the sender wrote in this mail: its new part, or the whole text when nothing was told
 * apart (keywords in someone else's quoted words must not decide). */
static const char *own_text(const struct mail *mail)
{
	if (mail->text_new != NULL && mail->text_new[0] != '\0')
		return mail->text_new;
	return mail->text != NULL ? mail->text : "";
}

gboolean classify_is_automatic(const struct mail *mail, const char *const *desk_addresses,
			       const char **why_r)
{
	const char *why = NULL, *dummy;
	char *v;

	if (why_r == NULL)
		why_r = &dummy;
	*why_r = "no automatic-mail rule matched";
	if (mail_header(mail, SPOC_LOOP_HEADER) != NULL)
		why = SPOC_LOOP_HEADER " present: mail sent by spocd";
	for (size_t i = 0; why == NULL && mail->from.addr != NULL && desk_addresses != NULL &&
			   desk_addresses[i] != NULL;
	     i++)
		if (g_ascii_strcasecmp(mail->from.addr, desk_addresses[i]) == 0)
			why = "From is one of the desk's own addresses";
	if (why == NULL && (v = header_token(mail, "Auto-Submitted")) != NULL) {
		if (strcmp(v, "no") != 0)
			why = auto_submitted_why(v);
		g_free(v);
	}
	if (why == NULL && (v = header_token(mail, "Precedence")) != NULL) {
		why = precedence_why(v);
		g_free(v);
	}
	if (why == NULL && mail_header(mail, "X-Autoreply") != NULL)
		why = "X-Autoreply present";
	if (why == NULL && mail_header(mail, "X-Autorespond") != NULL)
		why = "X-Autorespond present";
	if (why == NULL && mail_header(mail, "List-Id") != NULL)
		why = "List-Id present: mailing list";
	if (why == NULL && (v = header_token(mail, "Return-Path")) != NULL) {
		/* "<>", also written "< >": the null sender of bounces and notifications */
		char *w = v;

		for (const char *r = v; *r != '\0'; r++)
			if (!g_ascii_isspace(*r))
				*w++ = *r;
		*w = '\0';
		if (strcmp(v, "<>") == 0)
			why = "Return-Path: <> (null sender)";
		g_free(v);
	}
	/* Bounces often say only "From: MAILER-DAEMON <>": then the name is all there is. */
	if (why == NULL)
		why = sender_why(mail->from.addr != NULL ? mail->from.addr : mail->from.name);
	if (why == NULL && (v = header_token(mail, "Content-Type")) != NULL) {
		if (strcmp(v, "multipart/report") == 0)
			why = "Content-Type: multipart/report (delivery or read report)";
		g_free(v);
	}
	if (why == NULL)
		return FALSE;
	*why_r = why;
	return TRUE;
}

/* Keyword rules: a pattern (GRegex, case-insensitive, UTF-8) and what to call it when it decides
 * in the subject or in the text. */
struct keyword {
	const char *re;
	const char *subject_why;
	const char *text_why;
};

#define KW(kind, re, label)                                                                        \
	{                                                                                          \
		re, "subject: " kind " keyword \"" label "\"",                                     \
		    "text: " kind " keyword \"" label "\""                                         \
	}

static const struct keyword incident_kw[] = {
    KW("incident", "no funciona", "no funciona"),
    KW("incident", "error", "error"),
    KW("incident", "ca[ií]d[oa]", "caído"),
    KW("incident", "no puedo (acceder|entrar|iniciar)", "no puedo acceder"),
    KW("incident", "no arranca", "no arranca"),
    KW("incident", "averiad", "averiado"),
    KW("incident", "fall[oó]", "fallo"),
    KW("incident", "\\bdown\\b", "down"),
    KW("incident", "broken", "broken"),
    KW("incident", "not working", "not working"),
    KW("incident", "cannot (log ?in|access|connect)", "cannot log in"),
    KW("incident", "can[’']?t (log ?in|access|connect)", "can't log in"),
    KW("incident", "crash", "crash"),
    KW("incident", "outage", "outage"),
};

static const struct keyword request_kw[] = {
    KW("request", "solicit", "solicitud"),
    KW("request", "necesito", "necesito"),
    KW("request", "alta de usuario", "alta de usuario"),
    KW("request", "acceso a", "acceso a"),
    KW("request", "\\brequest", "request"),
    KW("request", "new laptop", "new laptop"),
    KW("request", "please install", "please install"),
    KW("request", "instalar", "instalar"),
    KW("request", "could (you|I) (get|have)", "could I get"),
    KW("request", "\\bneed (a|an|access)\\b", "need a"),
    KW("request", "password reset", "password reset"),
    KW("request", "restablecer (la )?contrase[ñn]a", "restablecer contraseña"),
};

static GRegex *incident_re[G_N_ELEMENTS(incident_kw)];
static GRegex *request_re[G_N_ELEMENTS(request_kw)];

/* Compiles the keyword tables once per process; they live until exit. */
static void keywords_init(void)
{
	static gsize once;

	if (!g_once_init_enter(&once))
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(incident_kw); i++)
		incident_re[i] =
		    g_regex_new(incident_kw[i].re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(request_kw); i++)
		request_re[i] =
		    g_regex_new(request_kw[i].re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
	g_once_init_leave(&once, 1);
}

/* Counts the matches of a table in s; *first_r gets the index of the first pattern (in table
 * order) that matched, or -1. */
static int keywords_count(GRegex *const *re, size_t n, const char *s, int *first_r)
{
	int count = 0;

	*first_r = -1;
	for (size_t i = 0; i < n; i++) {
		GMatchInfo *mi = NULL;

		if (re[i] == NULL)
			continue;
		for (g_regex_match(re[i], s, 0, &mi); g_match_info_matches(mi);
		     g_match_info_next(mi, NULL)) {
			count++;
			if (*first_r < 0)
				*first_r = (int)i;
		}
		g_match_info_free(mi);
	}
	return count;
}

/* NFC copy of at most max bytes of s (cut on a character boundary), so that "está" typed with a
 * combining accent matches too; caller frees. */
static char *text_prepare(const char *s, size_t max)
{
	size_t len = strlen(s);
	char *nfc;

	if (len > max)
		len = (size_t)(g_utf8_find_prev_char(s, s + max + 1) - s);
	nfc = g_utf8_normalize(s, (gssize)len, G_NORMALIZE_NFC);
	return nfc != NULL ? nfc : g_strndup(s, len);
}

/* Decides one field: TRUE when any keyword matched, with the kind and rule. More matches win;
 * a tie goes to incident, since a broken thing is the more urgent reading. */
static gboolean kind_of_field(const char *s, gboolean subject, enum spoc_kind *kind_r,
			      const char **rule_r)
{
	int fi, fr;
	int ni = keywords_count(incident_re, G_N_ELEMENTS(incident_re), s, &fi);
	int nr = keywords_count(request_re, G_N_ELEMENTS(request_re), s, &fr);

	if (ni == 0 && nr == 0)
		return FALSE;
	if (ni >= nr) {
		*kind_r = SPOC_KIND_INCIDENT;
		*rule_r = subject ? incident_kw[fi].subject_why : incident_kw[fi].text_why;
	} else {
		*kind_r = SPOC_KIND_REQUEST;
		*rule_r = subject ? request_kw[fr].subject_why : request_kw[fr].text_why;
	}
	return TRUE;
}

enum spoc_kind classify_kind(const struct mail *mail, enum spoc_kind dflt, const char **rule_r)
{
	enum spoc_kind kind = dflt;
	const char *rule = "default", *dummy;
	char *s;
	gboolean found;

	if (rule_r == NULL)
		rule_r = &dummy;
	keywords_init();
	s = text_prepare(mail->subject != NULL ? mail->subject : "", CLASSIFY_TEXT_MAX);
	found = kind_of_field(s, TRUE, &kind, &rule);
	g_free(s);
	if (!found) {
		s = text_prepare(own_text(mail), CLASSIFY_TEXT_MAX);
		kind_of_field(s, FALSE, &kind, &rule);
		g_free(s);
	}
	*rule_r = rule;
	return kind;
}

/* Frequent short words that only one of the two languages uses. */
static const char *const spanish_words[] = {
    "el",  "la", "de", "que",  "y",    "en",	  "los",    "por",  "para",  "con",
    "una", "no", "es", "está", "hola", "gracias", "buenos", "días", "favor", NULL};
static const char *const english_words[] = {"the",   "and", "to",  "of",     "is",
					    "it",    "in",  "for", "please", "thanks",
					    "hello", "not", "my",  "you",    NULL};

static gboolean word_in(const char *word, const char *const *list)
{
	for (size_t i = 0; list[i] != NULL; i++)
		if (strcmp(word, list[i]) == 0)
			return TRUE;
	return FALSE;
}

/* Adds the Spanish and English function words of s to the counters. */
static void language_count(const char *s, int *es, int *en)
{
	const char *p = s;

	while (*p != '\0') {
		const char *start;
		char *word;

		while (*p != '\0' && !g_unichar_isalpha(g_utf8_get_char(p)))
			p = g_utf8_next_char(p);
		start = p;
		while (*p != '\0' && g_unichar_isalpha(g_utf8_get_char(p)))
			p = g_utf8_next_char(p);
		if (p == start)
			continue;
		word = g_utf8_casefold(start, p - start);
		if (word_in(word, spanish_words))
			(*es)++;
		else if (word_in(word, english_words))
			(*en)++;
		g_free(word);
	}
}

const char *classify_language(const struct mail *mail, const char *dflt)
{
	int es = 0, en = 0;
	char *s;

	s = text_prepare(mail->subject != NULL ? mail->subject : "", CLASSIFY_TEXT_MAX);
	language_count(s, &es, &en);
	g_free(s);
	s = text_prepare(own_text(mail), CLASSIFY_TEXT_MAX);
	language_count(s, &es, &en);
	g_free(s);
	if (es >= 3 && es > en)
		return "es";
	if (en >= 3 && en > es)
		return "en";
	return dflt;
}
