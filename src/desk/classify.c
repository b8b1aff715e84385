/* Pure decisions about one parsed mail, no I/O: was it sent by a machine, and what kind of
 * machine (then it is never acknowledged, so two robots cannot talk to each other forever), and
 * should we answer in Spanish or English. Every decision comes with a static string naming the
 * rule, which main.c logs and the ticket keeps. Incident or request is decided by rules.c. */
#include "classify.h"

#include "bounce.h"
#include "compose.h"
#include "text.h"

#include <string.h>

/* Body text beyond this is not looked at: what a person asks is at the top, and a 25 MB body must
 * not cost seconds of regex time. */
#define CLASSIFY_TEXT_MAX (64 * 1024)

/* What the sender wrote in this mail: its new part, or the whole text when nothing was told
 * apart (keywords in someone else's quoted words must not decide). */
static const char *own_text(const struct mail *mail)
{
	if (mail->text_new != NULL && mail->text_new[0] != '\0')
		return mail->text_new;
	return mail->text != NULL ? mail->text : "";
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

/* The most characters a word of either list has ("gracias"). */
#define LANGUAGE_WORD_MAX 7

/* Adds the Spanish and English function words of s to the counters. */
static void language_count(const char *s, int *es, int *en)
{
	const char *p = s;

	while (*p != '\0') {
		const char *start;
		char *word;
		int chars = 0;

		while (*p != '\0' && !g_unichar_isalpha(g_utf8_get_char(p)))
			p = g_utf8_next_char(p);
		start = p;
		while (*p != '\0' && g_unichar_isalpha(g_utf8_get_char(p))) {
			p = g_utf8_next_char(p);
			chars++;
		}
		/* case folding never makes fewer characters ("ß" is "ss"), so a longer word cannot
		 * fold into one of the lists: most of a text's words are not folded at all */
		if (p == start || chars > LANGUAGE_WORD_MAX)
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
	const char *lang;
	int es = 0, en = 0;
	char *s;

	s = text_nfc_prefix(mail->subject != NULL ? mail->subject : "", CLASSIFY_TEXT_MAX);
	language_count(s, &es, &en);
	g_free(s);
	s = text_nfc_prefix(own_text(mail), CLASSIFY_TEXT_MAX);
	language_count(s, &es, &en);
	g_free(s);
	if (es >= 3 && es > en)
		return "es";
	if (en >= 3 && en > es)
		return "en";
	/* too little text to tell: the language the writer's mail client declares */
	lang = mail_header_raw(mail, "Content-Language");
	if (lang == NULL)
		lang = mail_header_raw(mail, "Accept-Language");
	while (lang != NULL && g_ascii_isspace(*lang))
		lang++;
	if (lang != NULL && g_ascii_strncasecmp(lang, "es", 2) == 0 && !g_ascii_isalpha(lang[2]))
		return "es";
	if (lang != NULL && g_ascii_strncasecmp(lang, "en", 2) == 0 && !g_ascii_isalpha(lang[2]))
		return "en";
	return dflt;
}

/* --- Automatic mail ---
 *
 * The rules, in the order they are tried; the first that matches decides:
 *  1. bounces: multipart/report; report-type=delivery-status, a message/delivery-status part, a
 *     mailer-daemon or postmaster sender, and what bounce_parse() recognises from another
 *     machine sender (null Return-Path, no From, no-reply). Read receipts and abuse reports
 *     (the other report types) are decided here too, as other machine mail, so that a
 *     postmaster's read receipt is not taken for a bounce.
 *  2. our own mail: the loop header, a Message-ID spocd minted, a From that is the desk's.
 *  3. auto-replies: Auto-Submitted: auto-replied, Precedence: auto_reply, X-Autoreply,
 *     out-of-office subjects and first lines, Exchange's rule-generated replies.
 *  4. bulk: Precedence bulk/junk/list, List-* headers (when lists count as automatic).
 *  5. other machine mail: any other Auto-Submitted but "no", X-Autorespond, the null sender,
 *     no-reply senders, other multipart/report, Hotmail's abuse complaints.
 *
 * X-Auto-Response-Suppress alone is not a rule: it asks the receiver not to auto-respond, which
 * any program may ask of mail a person wrote (ticket systems sending an agent's reply, mail merges,
 * some Outlook and Exchange set-ups), so it says nothing certain about who the sender is. It
 * counts only with the headers Exchange puts on what it generates itself. With
 * X-MS-Exchange-Inbox-Rules-Loop, or X-MS-Exchange-Generated-Message-Source: Mailbox Rules Agent
 * (out-of-office and "reply with template" rules), it is an auto-reply; with any other
 * Generated-Message-Source (transport rules, journaling), other machine mail. Never on a forward
 * (FW:, RV:), which is how a person's message arrives when an inbox rule sends it on to the
 * desk. In the shared corpus it is on automatic mail only (an Exchange "Automatic reply:", a
 * Mimecast auto-response, a ticket system's notification returned in a bounce); none of its 50
 * Outlook mails carries it. */

/* The value of a header up to its first ';' (parameters) or '(' (comment), trimmed and
 * lower-cased; caller frees. NULL when the header is absent. */
static char *header_token(const struct mail *mail, const char *name)
{
	const char *v = mail_header_raw(mail, name);
	char *t;

	if (v == NULL)
		return NULL;
	t = g_ascii_strdown(v, (gssize)strcspn(v, ";("));
	return g_strstrip(t);
}

/* The value of the parameter name in a header value such as `multipart/report;
 * report-type="delivery-status"`, lower-cased; caller frees. NULL when absent. */
static char *header_param(const char *v, const char *name)
{
	size_t n = strlen(name);

	for (const char *p = v != NULL ? strchr(v, ';') : NULL; p != NULL; p = strchr(p, ';')) {
		const char *q;
		size_t len;

		p++;
		while (g_ascii_isspace(*p))
			p++;
		if (g_ascii_strncasecmp(p, name, n) != 0)
			continue;
		q = p + n;
		while (g_ascii_isspace(*q))
			q++;
		if (*q != '=')
			continue;
		q++;
		while (g_ascii_isspace(*q))
			q++;
		if (*q == '"') {
			q++;
			len = strcspn(q, "\"");
		} else {
			len = strcspn(q, "; \t");
		}
		return g_strstrip(g_ascii_strdown(q, (gssize)len));
	}
	return NULL;
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

/* The mail systems' own senders: the ones bounces come from. A display name counts only when it
 * is nothing but such a name ("MAILER-DAEMON <>", "Mail Delivery System <mta@...>"): a person
 * called "Mailer Daemon Fan" is a person. */
static const char *daemon_sender_why(const struct mail *mail)
{
	const char *why = NULL;
	char *s;

	if (mail->from.addr != NULL) {
		s = text_squash(mail->from.addr, TRUE);
		if (strcmp(s, "mailerdaemon") == 0 || strcmp(s, "maildaemon") == 0 ||
		    strcmp(s, "maildeliverysystem") == 0 || strcmp(s, "maildeliverysubsystem") == 0)
			why = "sender mailer-daemon";
		else if (strcmp(s, "postmaster") == 0)
			why = "sender postmaster";
		else if (strcmp(s, "bounce") == 0 || strcmp(s, "bounces") == 0)
			why = "sender bounce address";
		g_free(s);
	}
	if (why == NULL && mail->from.name != NULL) {
		s = text_squash(mail->from.name, FALSE);
		if (strcmp(s, "mailerdaemon") == 0 || strcmp(s, "maildaemon") == 0 ||
		    strcmp(s, "maildeliverysystem") == 0 || strcmp(s, "maildeliverysubsystem") == 0)
			why = "sender mailer-daemon (display name)";
		g_free(s);
	}
	return why;
}

/* Local parts that only machines send from; "noreply-calendar" counts too. */
static gboolean noreply_sender(const struct mail *mail)
{
	gboolean yes;
	char *s;

	if (mail->from.addr == NULL)
		return FALSE;
	s = text_squash(mail->from.addr, TRUE);
	yes = g_str_has_prefix(s, "noreply") || g_str_has_prefix(s, "donotreply");
	g_free(s);
	return yes;
}

/* Return-Path: <> (also "< >"): the null sender of bounces and notifications. */
static gboolean null_return_path(const struct mail *mail)
{
	char *v = header_token(mail, "Return-Path");
	gboolean yes;
	char *w;

	if (v == NULL)
		return FALSE;
	w = v;
	for (const char *r = v; *r != '\0'; r++)
		if (!g_ascii_isspace(*r))
			*w++ = *r;
	*w = '\0';
	yes = strcmp(v, "<>") == 0;
	g_free(v);
	return yes;
}

/* The report type of a multipart/report, or NULL when the mail is not one. Caller frees; "" when
 * the report-type parameter is missing. */
static char *report_type(const struct mail *mail)
{
	char *type = header_token(mail, "Content-Type");
	char *rt = NULL;

	if (type != NULL && strcmp(type, "multipart/report") == 0) {
		rt = header_param(mail_header_raw(mail, "Content-Type"), "report-type");
		if (rt == NULL)
			rt = g_strdup("");
	}
	g_free(type);
	return rt;
}

static gboolean has_attachment_type(const struct mail *mail, const char *content_type)
{
	for (guint i = 0; mail->attachments != NULL && i < mail->attachments->len; i++) {
		const struct mail_attachment *a = g_ptr_array_index(mail->attachments, i);

		if (a->content_type != NULL && strcmp(a->content_type, content_type) == 0)
			return TRUE;
	}
	return FALSE;
}

/* Rule 1. Bounces, and the other kinds of report that must not be taken for one. */
static enum classify_auto_kind bounce_rules(const struct mail *mail, const char **why_r)
{
	char *rt = report_type(mail);
	const char *why = NULL;
	enum classify_auto_kind kind = CLASSIFY_BOUNCE;

	if (rt != NULL) {
		/* the wording spocd has always given DSNs, which tickets and logs already hold */
		if (strcmp(rt, "delivery-status") == 0) {
			why = "Content-Type: multipart/report (delivery or read report)";
		} else if (strcmp(rt, "disposition-notification") == 0) {
			why =
			    "Content-Type: multipart/report; report-type=disposition-notification "
			    "(read receipt)";
			kind = CLASSIFY_OTHER_AUTO;
		} else if (strcmp(rt, "feedback-report") == 0) {
			why = "Content-Type: multipart/report; report-type=feedback-report (abuse "
			      "report)";
			kind = CLASSIFY_OTHER_AUTO;
		}
		g_free(rt);
	}
	if (why == NULL && has_attachment_type(mail, "message/delivery-status"))
		why = "message/delivery-status part";
	if (why == NULL)
		why = daemon_sender_why(mail);
	/* a machine sender, and what bounce_parse() takes for a bounce: a bounce subject or
	 * failure words, the returned message (Japanese carriers, Verizon, OpenSMTPD...) */
	if (why == NULL &&
	    (null_return_path(mail) || mail->from.addr == NULL || noreply_sender(mail) ||
	     mail_header_raw(mail, "X-Failed-Recipients") != NULL)) {
		struct bounce_report r;

		if (bounce_parse(mail, NULL, &r)) {
			why = "bounce from a machine sender (null Return-Path, no From, no-reply)";
			bounce_report_clear(&r);
		}
	}
	if (why == NULL)
		return CLASSIFY_PERSON;
	*why_r = why;
	return kind;
}

/* Rule 2. Our own mail come back. Only the Message-IDs spocd mints count ("spocd.<...>@domain",
 * the prefix of thread_mint_message_id()), not every id at the domain: Thunderbird and others make
 * a colleague's Message-ID from the domain of the From address, which is often the desk's too. */
static enum classify_auto_kind ours_rules(const struct mail *mail,
					  const struct classify_auto_ctx *ctx, const char **why_r)
{
	const char *const *desk = ctx != NULL ? ctx->desk_addresses : NULL;
	const char *dom = ctx != NULL ? ctx->message_id_domain : NULL;

	if (mail_header_raw(mail, SPOC_LOOP_HEADER) != NULL) {
		*why_r = SPOC_LOOP_HEADER " present: mail sent by spocd";
		return CLASSIFY_OURS;
	}
	if (dom != NULL && dom[0] != '\0' && mail->message_id != NULL &&
	    !mail->message_id_synthetic && g_str_has_prefix(mail->message_id, "spocd.")) {
		const char *at = strrchr(mail->message_id, '@');

		if (at != NULL && g_ascii_strcasecmp(at + 1, dom) == 0) {
			*why_r = "own Message-ID: minted by spocd";
			return CLASSIFY_OURS;
		}
	}
	for (size_t i = 0; mail->from.addr != NULL && desk != NULL && desk[i] != NULL; i++)
		if (g_ascii_strcasecmp(mail->from.addr, desk[i]) == 0) {
			*why_r = "From is one of the desk's own addresses";
			return CLASSIFY_OURS;
		}
	return CLASSIFY_PERSON;
}

/* Out-of-office patterns. Subjects count only at their start (after "[EXT]"-style tags), as the
 * prefix an auto-responder puts before the original subject ("Automatic reply: ...") or as the
 * whole subject ("Out of Office", "Ausente hasta el lunes"): a ticket titled "Out of office
 * reply not working" is a person's. */
struct ooo_pattern {
	const char *re;
	const char *why;
};

#define SUBJ_LEAD  "^\\s*(?:\\[[^\\]]{0,200}\\]\\s*)*"
#define SUBJ_COLON "\\s*[:：]" /* ':' or the full-width one */
#define SUBJ_ALONE "(?:\\s*[.!]*\\s*$|\\s*\\()"
#define OFFICE	   "(?:(?:my|the) )?(?:office|desk|e-?mail|mail)"

static const struct ooo_pattern ooo_subjects[] = {
    {SUBJ_LEAD "(?:out of (?:the )?office(?: (?:auto)?reply| notice| notification)?|automatic "
	       "reply|auto[- ]?(?:reply|response)|autorespon(?:se|der)|auto|away from " OFFICE
	       "|(?:on )?vacation(?: (?:auto)?reply| notice| message)?|absence notice)" SUBJ_COLON,
     "out-of-office subject (en)"},
    {SUBJ_LEAD "(?:out of (?:the )?office|on vacation|vacation|away from " OFFICE
	       "|automatic reply|auto[- ]?reply|i(?:'|’| a)m (?:currently )?(?:out of "
	       "(?:the )?office|away from " OFFICE "|on vacation))"
	       "(?:" SUBJ_ALONE "|\\s+(?:until|till|returning|through)\\b)",
     "out-of-office subject (en)"},
    {SUBJ_LEAD "(?:respuesta autom[aá]tica|autorespuesta|respuesta de ausencia|aviso de "
	       "ausencia|fuera de (?:la )?oficina|ausente|ausencia|(?:estoy )?de "
	       "vacaciones)" SUBJ_COLON,
     "out-of-office subject (es)"},
    {SUBJ_LEAD "(?:respuesta autom[aá]tica|(?:estoy )?fuera de (?:la )?oficina|(?:estoy )?"
	       "ausente|(?:estoy )?de vacaciones)"
	       "(?:" SUBJ_ALONE "|\\s+(?:hasta|desde)\\b)",
     "out-of-office subject (es)"},
    {SUBJ_LEAD "(?:abwesenheitsnotiz|automatische antwort|abwesend|nicht im "
	       "b[üu]ro)(?:" SUBJ_COLON "|" SUBJ_ALONE ")",
     "out-of-office subject (de)"},
    {SUBJ_LEAD "r[eé]ponse automatique" SUBJ_COLON, "out-of-office subject (fr)"},
};

/* In the first lines of the sender's own text. */
static const struct ooo_pattern ooo_texts[] = {
    {"\\b(?:I am|I['’]m|I will be|I['’]ll be|I shall be)\\s+"
     "(?:(?:currently|presently|now)\\s+)?(?:out of (?:the )?office|away\\b|on (?:vacation|"
     "holiday|annual leave|leave|parental leave|maternity leave|paternity leave|sick leave|a "
     "business trip)|travel(?:l)?ing\\b)|\\b(?:I am|I['’]m)\\s+(?:currently|"
     "presently)\\s+out\\b",
     "out-of-office text (en)"},
    {"\\b(?:estoy|me encuentro|estar[eé]|permanecer[eé])\\s+(?:(?:actualmente|"
     "ahora|temporalmente)\\s+)?(?:fuera\\b|de vacaciones|ausente|de viaje|de baja|de "
     "permiso|de licencia)",
     "out-of-office text (es)"},
    {"\\bich bin\\s+(?:(?:derzeit|zurzeit|momentan|leider)\\s+)?(?:nicht im b[üu]ro|"
     "abwesend|im urlaub|au(?:ss|ß)er haus)",
     "out-of-office text (de)"},
};

/* What an out-of-office text goes on to say: when the person is back, whom to call meanwhile. A
 * person who writes "I'm out of the office and the VPN fails" says none of it. */
static const char ooo_return_re[] =
    "\\b(?:until|till|returning|return(?:s|ing)? on|will return|be back|back (?:on|in|at|to)|"
    "(?:limited|intermittent|no) access|upon my return|on my return|when I return|urgent|"
    "immediate assistance|contact|hasta|regres|volver[eé]|vuelta|retorno|reincorpor|"
    "acceso limitado|sin acceso|urgente|contacte|bis zum|zur[üu]ck|dringend)";

/* Microsoft's junk mail reporting program sends its complaints with this subject, in a
 * multipart/mixed rather than an ARF report. */
static const char jmrp_re[] =
    "^\\s*complaint about message from [0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\.[0-9]{1,3}\\s*$";

/* Forwards keep a person's words even when a mailbox rule sent them. */
static const char forward_re[] = SUBJ_LEAD "(?:fwd?|rv|wg|tr|enc|reenv)\\s*[:：]";

/* Only the first lines of the own text are read for out-of-office wording, and only in a short
 * text: an auto-reply says it at once, in a few lines. */
#define OOO_LINES    4
#define OOO_WINDOW   1024
#define OOO_TEXT_MAX 4000

static GRegex *ooo_subject_re[G_N_ELEMENTS(ooo_subjects)];
static GRegex *ooo_text_re[G_N_ELEMENTS(ooo_texts)];
/* Words that say something is broken: an "I am out of the office" text that also says one of
 * these is a person reporting a problem, not an auto-reply. */
static const char problem_re[] =
    "no funciona|error|ca[ií]d[oa]|no puedo (acceder|entrar|iniciar|conectar)|no arranca|"
    "averiad|fall[oó]|\\bdown\\b|broken|not working|cannot (log ?in|access|connect)|"
    "can[’']?t (log ?in|access|connect)|crash|outage";

static GRegex *ooo_return, *forward, *jmrp, *problem;

/* Compiles the out-of-office patterns once per process; they live until exit. */
static void ooo_init(void)
{
	static gsize once;
	const GRegexCompileFlags f = G_REGEX_CASELESS | G_REGEX_OPTIMIZE;

	if (!g_once_init_enter(&once))
		return;
	for (size_t i = 0; i < G_N_ELEMENTS(ooo_subjects); i++)
		ooo_subject_re[i] = g_regex_new(ooo_subjects[i].re, f, 0, NULL);
	for (size_t i = 0; i < G_N_ELEMENTS(ooo_texts); i++)
		ooo_text_re[i] = g_regex_new(ooo_texts[i].re, f, 0, NULL);
	ooo_return = g_regex_new(ooo_return_re, f, 0, NULL);
	forward = g_regex_new(forward_re, f, 0, NULL);
	jmrp = g_regex_new(jmrp_re, f, 0, NULL);
	problem = g_regex_new(problem_re, f, 0, NULL);
	g_once_init_leave(&once, 1);
}

static gboolean re_match(const GRegex *re, const char *s)
{
	return re != NULL && g_regex_match(re, s, 0, NULL);
}

static const char *ooo_subject_why(const struct mail *mail)
{
	const char *why = NULL;
	char *s = text_nfc_prefix(mail->subject != NULL ? mail->subject : "", OOO_WINDOW);

	for (size_t i = 0; why == NULL && i < G_N_ELEMENTS(ooo_subjects); i++)
		if (re_match(ooo_subject_re[i], s))
			why = ooo_subjects[i].why;
	g_free(s);
	return why;
}

/* The first OOO_LINES non-empty lines of s, at most OOO_WINDOW bytes, joined by newlines; caller
 * frees. */
static char *first_lines(const char *s)
{
	GString *out = g_string_new(NULL);
	int lines = 0;

	while (*s != '\0' && lines < OOO_LINES && out->len < OOO_WINDOW) {
		size_t len = strcspn(s, "\n");
		const char *p = s;

		while (p < s + len && g_ascii_isspace(*p))
			p++;
		if (p < s + len) {
			g_string_append_len(out, s, (gssize)len);
			g_string_append_c(out, '\n');
			lines++;
		}
		s += len;
		if (*s == '\n')
			s++;
	}
	return g_string_free(out, FALSE);
}

/* An out-of-office text: the wording in the first lines, with a return date or a contact, no
 * complaint, in a short text. */
static const char *ooo_text_why(const struct mail *mail)
{
	const char *own = own_text(mail), *why = NULL;
	char *head, *s;

	if (strlen(own) > OOO_TEXT_MAX)
		return NULL;
	head = first_lines(own);
	s = text_nfc_prefix(head, OOO_WINDOW);
	g_free(head);
	for (size_t i = 0; why == NULL && i < G_N_ELEMENTS(ooo_texts); i++)
		if (re_match(ooo_text_re[i], s))
			why = ooo_texts[i].why;
	if (why != NULL && !re_match(ooo_return, s))
		why = NULL;
	if (why != NULL && re_match(problem, s))
		why = NULL;
	g_free(s);
	return why;
}

/* Exchange's mailbox rules agent (out-of-office, "reply with template" rules) marks what it
 * generates; see the note on X-Auto-Response-Suppress above. */
static const char *exchange_rule_why(const struct mail *mail, gboolean *reply_r)
{
	const char *src = mail_header_raw(mail, "X-MS-Exchange-Generated-Message-Source");
	char *s;
	gboolean fwd;

	if (mail_header_raw(mail, "X-Auto-Response-Suppress") == NULL)
		return NULL;
	s = text_nfc_prefix(mail->subject != NULL ? mail->subject : "", OOO_WINDOW);
	fwd = re_match(forward, s);
	g_free(s);
	if (fwd)
		return NULL;
	*reply_r = TRUE;
	if (mail_header_raw(mail, "X-MS-Exchange-Inbox-Rules-Loop") != NULL)
		return "X-Auto-Response-Suppress with X-MS-Exchange-Inbox-Rules-Loop";
	if (src != NULL && g_ascii_strncasecmp(src, "Mailbox Rules", 13) == 0)
		return "X-Auto-Response-Suppress with X-MS-Exchange-Generated-Message-Source: "
		       "Mailbox Rules Agent";
	*reply_r = FALSE;
	if (src != NULL)
		return "X-Auto-Response-Suppress with X-MS-Exchange-Generated-Message-Source";
	return NULL;
}

/* Rule 3. Auto-replies. */
static enum classify_auto_kind reply_rules(const struct mail *mail, const char **why_r)
{
	const char *why = NULL;
	char *v;

	if ((v = header_token(mail, "Auto-Submitted")) != NULL) {
		if (strcmp(v, "auto-replied") == 0)
			why = "Auto-Submitted: auto-replied";
		g_free(v);
	}
	if (why == NULL && (v = header_token(mail, "Precedence")) != NULL) {
		if (strcmp(v, "auto_reply") == 0)
			why = "Precedence: auto_reply";
		g_free(v);
	}
	if (why == NULL && mail_header_raw(mail, "X-Autoreply") != NULL)
		why = "X-Autoreply present";
	if (why == NULL)
		why = ooo_subject_why(mail);
	if (why == NULL)
		why = ooo_text_why(mail);
	if (why == NULL) {
		gboolean reply = FALSE;
		const char *ex = exchange_rule_why(mail, &reply);

		if (ex != NULL && reply)
			why = ex;
	}
	if (why == NULL)
		return CLASSIFY_PERSON;
	*why_r = why;
	return CLASSIFY_AUTO_REPLY;
}

/* Rule 4. Lists, bulk and junk. */
static enum classify_auto_kind bulk_rules(const struct mail *mail,
					  const struct classify_auto_ctx *ctx, const char **why_r)
{
	static const struct {
		const char *header, *why;
	} list_headers[] = {
	    {"List-Id", "List-Id present: mailing list"},
	    {"List-Post", "List-Post present: mailing list"},
	    {"List-Unsubscribe", "List-Unsubscribe present: mailing list or newsletter"},
	    {"Mailing-List", "Mailing-List present: mailing list"},
	};
	gboolean lists = ctx == NULL || ctx->lists_are_automatic;
	const char *why = NULL;
	char *v;

	if ((v = header_token(mail, "Precedence")) != NULL) {
		if (strcmp(v, "bulk") == 0)
			why = "Precedence: bulk";
		else if (strcmp(v, "junk") == 0)
			why = "Precedence: junk";
		else if (strcmp(v, "list") == 0 && lists)
			why = "Precedence: list";
		g_free(v);
	}
	for (size_t i = 0; why == NULL && lists && i < G_N_ELEMENTS(list_headers); i++)
		if (mail_header_raw(mail, list_headers[i].header) != NULL)
			why = list_headers[i].why;
	if (why == NULL)
		return CLASSIFY_PERSON;
	*why_r = why;
	return CLASSIFY_BULK;
}

/* Rule 5. Any other sign of a machine. */
static enum classify_auto_kind other_rules(const struct mail *mail, const char **why_r)
{
	const char *why = NULL;
	gboolean reply = FALSE;
	char *v;

	if ((v = header_token(mail, "Auto-Submitted")) != NULL) {
		if (strcmp(v, "no") != 0)
			why = auto_submitted_why(v);
		g_free(v);
	}
	if (why == NULL && mail_header_raw(mail, "X-Autorespond") != NULL)
		why = "X-Autorespond present";
	if (why == NULL)
		why = exchange_rule_why(mail, &reply);
	if (why == NULL && null_return_path(mail))
		why = "Return-Path: <> (null sender)";
	if (why == NULL && noreply_sender(mail))
		why = "From: a no-reply address";
	if (why == NULL && (v = report_type(mail)) != NULL) {
		why = "Content-Type: multipart/report (delivery or read report)";
		g_free(v);
	}
	if (why == NULL && re_match(jmrp, mail->subject != NULL ? mail->subject : ""))
		why = "abuse complaint subject (Hotmail JMRP)";
	if (why == NULL)
		return CLASSIFY_PERSON;
	*why_r = why;
	return CLASSIFY_OTHER_AUTO;
}

enum classify_auto_kind classify_automatic(const struct mail *mail,
					   const struct classify_auto_ctx *ctx, const char **why_r)
{
	enum classify_auto_kind kind;
	const char *dummy;

	if (why_r == NULL)
		why_r = &dummy;
	*why_r = "no automatic-mail rule matched";
	ooo_init();
	if ((kind = bounce_rules(mail, why_r)) != CLASSIFY_PERSON)
		return kind;
	if ((kind = ours_rules(mail, ctx, why_r)) != CLASSIFY_PERSON)
		return kind;
	if ((kind = reply_rules(mail, why_r)) != CLASSIFY_PERSON)
		return kind;
	if ((kind = bulk_rules(mail, ctx, why_r)) != CLASSIFY_PERSON)
		return kind;
	return other_rules(mail, why_r);
}

const char *classify_auto_kind_name(enum classify_auto_kind kind)
{
	switch (kind) {
	case CLASSIFY_PERSON:
		return "person";
	case CLASSIFY_AUTO_REPLY:
		return "auto-reply";
	case CLASSIFY_BOUNCE:
		return "bounce";
	case CLASSIFY_BULK:
		return "bulk";
	case CLASSIFY_OURS:
		return "ours";
	case CLASSIFY_OTHER_AUTO:
		return "other-auto";
	}
	return "unknown";
}
