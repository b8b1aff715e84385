/* Reading bounces. An RFC 3464 delivery status notification says everything in fields
 * (Final-Recipient, Action, Status, Diagnostic-Code) and returns the failed message or its header
 * in a part of its own; many MTAs still send only a sentence for people (qmail's "<addr>:", Exim's
 * indented address list, Postfix without DSN, Exchange's "Delivery has failed to these
 * recipients", Gmail, Yahoo, Japanese carriers) with the original quoted below it. dsn.c reads the
 * fields; the sentences are read here, and both end in one struct bounce_report, so the desk can
 * mark which notification failed, for whom, and why. Everything is defensive: input is whatever a
 * stranger's MTA sent, at most the first BOUNCE_SCAN_MAX bytes of any part are read, and every
 * string handed out is valid UTF-8. */
#include "bounce.h"

#include "dsn.h"
#include "text.h"

#include <gmime/gmime.h>
#include <string.h>

/* Bytes of one part (text, DSN fields, returned message) that are looked at: the useful part of
 * a bounce is at its top, and a returned 25 MB attachment must not cost seconds. */
#define BOUNCE_SCAN_MAX (256 * 1024)
/* Recipients kept from one bounce; a mailing-list explosion can name thousands. */
#define BOUNCE_MAX_RECIPIENTS 100
/* How far below a sentence such as "could not be delivered to:" an address alone on its line
 * still counts as a failed recipient. */
#define BOUNCE_NEAR_LINES 12

void bounce_report_clear(struct bounce_report *r)
{
	g_free(r->original_message_id);
	if (r->recipients != NULL)
		g_ptr_array_unref(r->recipients);
	g_free(r->status);
	g_free(r->diagnostic);
	g_free(r->verp_token);
	memset(r, 0, sizeof(*r));
}

/* --- Patterns --- */

/* Subjects MTAs give their failure and delay reports, in the languages of the corpus and the
 * desk. Only ever looked at together with a machine sender. */
static const char subject_re[] =
    "undeliver(?:able|ed)|delivery (?:status notification|failure|failed|has failed|problem|"
    "notification|report|status)|mail delivery (?:failed|failure|problem)|returned mail|"
    "returning message to sender|returned to sender|failure notice|non[- ]?delivery|"
    "could not be delivered|(?:message|mail) (?:was )?not delivered|delivery (?:delayed|warning)|"
    "delayed mail|warning: message .{0,80} delayed|could not send mail for past|"
    "mail system error|mail failure|message delivery has failed|failed delivery|mail failed|"
    "error sending your mail|delivery status|no se (?:ha )?podido entregar|mensaje no entregado|"
    "correo no entregado|error (?:en|de) (?:la )?entrega|notificaci[oó]n de (?:estado de )?"
    "entrega|mensaje devuelto|unzustellbar|nicht zugestellt|non remis|non distribuable|"
    "échec de (?:la )?remise";

/* Sentences of MTAs' failure reports, to tell a bounce from other mail of a machine sender. */
static const char phrase_re[] =
    "could not be delivered|couldn['’]t be delivered|was not delivered|wasn['’]t delivered|"
    "undeliverable|undelivered|delivery (?:has )?failed|delivery to the following "
    "recipients? (?:failed|was unsuccessful|has been delayed)|failed permanently|permanent "
    "(?:fatal )?errors?|following address(?:es)? failed|wasn['’]t able to deliver|unable to "
    "deliver|user unknown|unknown user|no such user|mailbox (?:unavailable|not found|is full|"
    "full)|recipient address rejected|message delivery failed|returned to sender|mail "
    "delivery failed|could not deliver|delivery status notification|has not (?:yet )?been "
    "delivered|will (?:continue to|keep) (?:try|retry|attempt)|this is a warning|"
    "no se (?:ha )?podido entregar|no (?:pudo|ha podido) ser entregado|no se pudo entregar|"
    "error en la entrega|imposible entregar|mensaje no entregado|usuario desconocido|"
    "nicht zugestellt|unzustellbar|n'a pas pu être (?:remis|distribué)|"
    "送信できませんでした|配信できませんでした|届きませんでした|宛先不明";

/* Delay reports: the message is still queued, nothing failed yet. */
static const char delay_re[] =
    "\\bdelay(?:ed)?\\b|warning: (?:message|could not send)|could not send (?:mail|message) "
    "for (?:the )?past|will (?:continue to|keep) (?:try|retry|attempt)|still (?:being )?"
    "(?:retried|trying)|has not (?:yet )?been delivered|this is a warning (?:message )?only|"
    "you do not need to resend|retrasad[oa]|verzögert";

/* A text that gave up: not a warning, whatever else it says. */
static const char gave_up_re[] =
    "permanent|unrecoverable|fatal error|given up|giving up|failed permanently|"
    "no se (?:ha )?podido entregar|endg(?:ü|ue)ltig";

/* A line that names a failure next to an address on it ("<a@b>... User unknown"). */
static const char fail_line_re[] =
    "user unknown|unknown user|unknown recipient|no such (?:user|mailbox|recipient|address)|"
    "does ?n[o']t exist|not exist|not found|rejected|undeliverable|failed|"
    "mailbox (?:unavailable|full|is full|disabled|inactive)|over quota|quota exceeded|"
    "invalid (?:recipient|address|mailbox)|disabled|could not be delivered|"
    "couldn['’]t be delivered|unable to deliver|not delivered|"
    "error (?:delivering|sending|transmitting)|delivery to|"
    "deliver(?:ing)? (?:your )?(?:mail|message) to|failed to deliver|"
    "\\b5[0-9][0-9][ -]|\\b[45]\\.[0-9]{1,3}\\.[0-9]{1,3}\\b|"
    "no existe|desconocid[oa]|no se pudo entregar|unbekannt";

/* A sentence after which addresses alone on their line are the failed ones (Exim's "following
 * address(es) failed:", Gmail's "Delivery to the following recipient failed permanently:",
 * Exchange's "Delivery has failed to these recipients or groups:"). */
static const char trigger_re[] =
    "failed|could not|couldn['’]t|undeliver|unable|following (?:address|recipient)|permanent|"
    "error|rejected|unknown|not delivered|did not reach|wasn['’]t delivered|not be delivered|"
    "delayed|no se|destinatario|no pudo|送信できません|配信できません";

/* An SMTP reply: what the remote server said, the best diagnostic line. */
static const char smtp_reply_re[] = "(?:^|[\\s:(#])[45][0-9][0-9](?:[ -]|$)";

/* The first line of a returned copy of the message quoted in a bounce's text: no recipient is
 * taken from there on (the original's own To would name everyone it was sent to). Not "To:" or
 * "Subject:", which summaries of the failed message above the explanation have too. */
static const char copy_start_re[] =
    "^(?:received|return-path|dkim-signature|message-id|mime-version|content-type|"
    "authentication-results|x-[a-z0-9-]+):|^-+ ?(?:this is a copy of|below this line|"
    "original message|the header of the original|forwarded message|unsent message)|"
    "^(?:original message follows|original message:?\\s*$|original message headers)";

enum {
	RE_SUBJECT,
	RE_PHRASE,
	RE_DELAY,
	RE_GAVE_UP,
	RE_FAIL_LINE,
	RE_TRIGGER,
	RE_SMTP_REPLY,
	RE_COPY_START,
	RE_COUNT,
};

static GRegex *re[RE_COUNT];

/* Compiles the patterns once per process; they live until exit. */
static void patterns_init(void)
{
	static gsize once;
	static const char *const src[RE_COUNT] = {
	    [RE_SUBJECT] = subject_re,	     [RE_PHRASE] = phrase_re,
	    [RE_DELAY] = delay_re,	     [RE_GAVE_UP] = gave_up_re,
	    [RE_FAIL_LINE] = fail_line_re,   [RE_TRIGGER] = trigger_re,
	    [RE_SMTP_REPLY] = smtp_reply_re, [RE_COPY_START] = copy_start_re,
	};

	if (!g_once_init_enter(&once))
		return;
	for (int i = 0; i < RE_COUNT; i++)
		re[i] = g_regex_new(src[i], G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
	g_once_init_leave(&once, 1);
}

static gboolean matches(int which, const char *s)
{
	return re[which] != NULL && s != NULL && g_regex_match(re[which], s, 0, NULL);
}

const char *bounce_subject_why(const char *subject)
{
	gboolean yes;
	char *s;

	if (subject == NULL || subject[0] == '\0')
		return NULL;
	patterns_init();
	s = g_utf8_make_valid(subject, (gssize)MIN(strlen(subject), 1024));
	yes = matches(RE_SUBJECT, s);
	g_free(s);
	return yes ? "bounce subject" : NULL;
}

/* --- Small text helpers --- */

/* A valid UTF-8 copy of at most BOUNCE_SCAN_MAX bytes of data; caller frees. */
static char *scan_copy(const void *data, size_t len)
{
	return g_utf8_make_valid(data, (gssize)MIN(len, BOUNCE_SCAN_MAX));
}

/* A valid UTF-8 copy of an attachment's first BOUNCE_SCAN_MAX bytes; caller frees. */
static char *attachment_text(const struct mail_attachment *a)
{
	gsize len = 0;
	const void *data = a->data != NULL ? g_bytes_get_data(a->data, &len) : NULL;

	return scan_copy(data != NULL ? data : "", data != NULL ? len : 0);
}

/* The mail system's own local parts, which bounce texts name as their sender: never a failed
 * recipient when read from text. postmaster@ is not among them: it is a mailbox that mail is sent
 * to, and fails like any other. */
static gboolean daemon_local(const char *addr)
{
	static const char *const locals[] = {"mailer-daemon", "mailer_daemon", "mail-daemon",
					     "maildaemon", NULL};
	size_t n = strcspn(addr, "@");

	for (size_t i = 0; locals[i] != NULL; i++)
		if (strlen(locals[i]) == n && g_ascii_strncasecmp(addr, locals[i], n) == 0)
			return TRUE;
	return FALSE;
}

static gboolean str_in(GPtrArray *list, const char *s)
{
	for (guint i = 0; list != NULL && i < list->len; i++)
		if (strcmp(g_ptr_array_index(list, i), s) == 0)
			return TRUE;
	return FALSE;
}

/* Adds addr (taken, may be NULL) to the recipients unless it is there already or, when read from
 * text (exclude not NULL), is one of the bounce's own addressees (the sender of the original) or
 * a mail system's; frees it otherwise. */
static void recipient_add(struct bounce_report *r, GPtrArray *exclude, char *addr)
{
	if (addr == NULL)
		return;
	if (r->recipients->len >= BOUNCE_MAX_RECIPIENTS || str_in(r->recipients, addr) ||
	    (exclude != NULL && (str_in(exclude, addr) || daemon_local(addr)))) {
		g_free(addr);
		return;
	}
	g_ptr_array_add(r->recipients, addr);
}

/* Calls fn on each addr-spec-looking word of s (lower case, to be taken). Looks at no more than
 * BOUNCE_EACH_MAX '@' signs, and no further than an address's length around each, so a line of
 * a million '@' costs no more than a short one. */
#define BOUNCE_EACH_MAX 1000

static void each_address(const char *s, size_t len, void (*fn)(char *addr, void *ud), void *ud)
{
	const char *end = s + len;
	int n = 0;

	for (const char *at = memchr(s, '@', len); at != NULL && n < BOUNCE_EACH_MAX;
	     at = at + 1 < end ? memchr(at + 1, '@', (size_t)(end - at - 1)) : NULL, n++) {
		const char *a = at, *b = at + 1;
		char *addr;

		while (a > s && at - a <= DSN_ADDR_MAX && strchr(" \t<>()[],;:\"'=", a[-1]) == NULL)
			a--;
		while (b < end && b - at <= DSN_ADDR_MAX && strchr(" \t<>()[],;:\"'", *b) == NULL)
			b++;
		addr = dsn_addr_clean(a, (size_t)(b - a), FALSE);
		if (addr != NULL)
			fn(addr, ud);
	}
}

/* --- Returned copies --- */

/* Adds addr (taken) to the list ud unless it is there already. */
static void returned_to_add(char *addr, void *ud)
{
	GPtrArray *list = ud;

	if (str_in(list, addr) || list->len >= BOUNCE_MAX_RECIPIENTS)
		g_free(addr);
	else
		g_ptr_array_add(list, addr);
}

/* Collects the addresses in the To and Cc of a returned message or header block (lower case). */
static gboolean returned_to_fn(const char *name, const char *value, void *ud)
{
	if (g_ascii_strcasecmp(name, "To") == 0 || g_ascii_strcasecmp(name, "Cc") == 0)
		each_address(value, strlen(value), returned_to_add, ud);
	return TRUE;
}

/* --- Text of non-standard bounces --- */

/* When the line starts with an address (after spaces, '>' quoting, "--" or '*' bullets), *addr_r
 * gets it (caller frees) and the result says how: 2 when it is in angle brackets (qmail's
 * "<a@b>:", Postfix's "<a@b>: host ... said") or followed by nothing, ':', '(' or "...", 1 when
 * followed by anything else ("a@b on Thu, 29 Apr 2010", "a@b [User unknown]"), 0 when the line
 * does not start with an address. */
static int line_leads_with_address(const char *line, char **addr_r)
{
	const char *p = line, *q;

	*addr_r = NULL;
	while (*p == ' ' || *p == '\t' || *p == '>' || *p == '*' || *p == '-')
		p++;
	if (*p == '<') {
		q = strchr(p, '>');
		if (q == NULL)
			return 0;
		*addr_r = dsn_addr_clean(p + 1, (size_t)(q - p - 1), FALSE);
		return *addr_r != NULL ? 2 : 0;
	}
	q = p;
	while (*q != '\0' && strchr(" \t:,;()[]<", *q) == NULL)
		q++;
	if (q == p || memchr(p, '@', (size_t)(q - p)) == NULL)
		return 0;
	*addr_r = dsn_addr_clean(p, (size_t)(q - p), FALSE);
	if (*addr_r == NULL)
		return 0;
	while (*q == ' ' || *q == '\t')
		q++;
	if (*q == '\0' || *q == ':' || *q == '(' || *q == ',' || g_str_has_prefix(q, "..."))
		return 2;
	return 1;
}

/* Header fields in the text that name failed recipients (some MTAs put DSN-like fields in
 * the human-readable part). */
static gboolean recipient_field_line(const char *line)
{
	static const char *const names[] = {"final-recipient:",
					    "original-recipient:",
					    "x-failed-recipients:",
					    "failed recipient:",
					    "recipient address:",
					    "recipient:",
					    NULL};

	while (*line == ' ' || *line == '\t')
		line++;
	for (size_t i = 0; names[i] != NULL; i++)
		if (g_ascii_strncasecmp(line, names[i], strlen(names[i])) == 0)
			return TRUE;
	return FALSE;
}

/* Calls fn(line, ud) on each line of text (without its end of line, NUL-terminated copy), at most
 * BOUNCE_MAX_LINES of them; fn returns FALSE to stop. Returns where the line it stopped at began,
 * or NULL when it went through. */
#define BOUNCE_MAX_LINES 20000

static const char *lines_each(const char *text, gboolean (*fn)(const char *line, void *ud),
			      void *ud)
{
	const char *p = text;

	for (int n = 0; *p != '\0' && n < BOUNCE_MAX_LINES; n++) {
		size_t len = strcspn(p, "\n");
		char *line = g_strndup(p, len);
		gboolean go;

		g_strchomp(line);
		go = fn(line, ud);
		g_free(line);
		if (!go)
			return p;
		p += len;
		if (*p == '\n')
			p++;
	}
	return NULL;
}

static gboolean copy_start_fn(const char *line, void *ud)
{
	(void)ud;
	return !matches(RE_COPY_START, line) || recipient_field_line(line);
}

/* Where a copy of the returned message (its header first) begins in a bounce's text, or NULL. */
static const char *copy_start(const char *text)
{
	return lines_each(text, copy_start_fn, NULL);
}

struct text_scan {
	struct bounce_report *r;
	GPtrArray *exclude;
	int since_trigger; /* lines since a "failed:" sentence, -1 when far from one */
	char *status;
	char *diagnostic;   /* the first line with an SMTP reply, else the first failure line */
	gboolean diag_smtp; /* diagnostic has an SMTP reply code */
};

static void text_recipient_fn(char *addr, void *ud)
{
	struct text_scan *ts = ud;

	recipient_add(ts->r, ts->exclude, addr);
}

static gboolean text_line_fn(const char *line, void *ud)
{
	struct text_scan *ts = ud;
	gboolean fail = matches(RE_FAIL_LINE, line);

	if (strchr(line, '@') != NULL) {
		char *addr = NULL;
		int lead = line_leads_with_address(line, &addr);

		if (recipient_field_line(line) || (lead == 0 && (fail || ts->since_trigger >= 0)))
			each_address(line, strlen(line), text_recipient_fn, ts);
		else if (lead == 2 || (lead == 1 && (fail || ts->since_trigger >= 0)))
			recipient_add(ts->r, ts->exclude, addr);
		else
			g_free(addr);
	}
	if (ts->status == NULL)
		ts->status = dsn_status_find(line);
	if (!ts->diag_smtp && fail && strlen(line) > strspn(line, " \t-*=#[]")) {
		gboolean smtp = matches(RE_SMTP_REPLY, line);

		if (ts->diagnostic == NULL || smtp) {
			g_free(ts->diagnostic);
			ts->diagnostic = text_one_line(line, strlen(line), BOUNCE_DIAGNOSTIC_MAX);
			ts->diag_smtp = smtp;
		}
	}
	if (matches(RE_TRIGGER, line))
		ts->since_trigger = 0;
	else if (ts->since_trigger >= 0 && ++ts->since_trigger > BOUNCE_NEAR_LINES)
		ts->since_trigger = -1;
	return TRUE;
}

/* Reads failed recipients, a status code and a diagnostic line out of the words of a bounce (text,
 * up to end, where its copy of the returned message begins, or its end). */
static void text_read(const char *text, const char *end, struct text_scan *ts)
{
	char *head = g_strndup(text, end != NULL ? (gsize)(end - text) : strlen(text));

	ts->since_trigger = -1;
	lines_each(head, text_line_fn, ts);
	g_free(head);
}

/* A "Message-ID:" line in text (the original quoted in the bounce's body, maybe "> "-quoted). */
static char *text_message_id(const char *text, const char *own_id)
{
	const char *p = text, *end = text + strlen(text);

	while (*p != '\0') {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *eol = nl != NULL ? nl : end, *q = p;

		while (q < eol && (*q == ' ' || *q == '\t' || *q == '>'))
			q++;
		if (eol - q >= 11 && g_ascii_strncasecmp(q, "Message-ID:", 11) == 0) {
			const char *v = q + 11, *stop = eol;
			char *raw, *value, *id;

			/* folded: the id on the next line */
			if (strspn(v, " \t\r") == (size_t)(eol - v) && nl != NULL) {
				const char *n2 = memchr(nl + 1, '\n', (size_t)(end - nl - 1));

				stop = n2 != NULL ? n2 : end;
			}
			raw = g_strndup(v, (gsize)(stop - v));
			value = g_mime_utils_header_unfold(raw);
			id = dsn_msgid_clean(value, strlen(value), TRUE);
			g_free(raw);
			g_free(value);
			if (id != NULL && g_strcmp0(id, own_id) != 0)
				return id;
			g_free(id);
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	return NULL;
}

/* --- Who the bounce came from and was sent to --- */

static gboolean null_return_path(const struct mail *mail)
{
	const char *v = mail_header_raw(mail, "Return-Path");

	if (v == NULL)
		return FALSE;
	for (; *v != '\0'; v++)
		if (!g_ascii_isspace(*v) && *v != '<' && *v != '>')
			return FALSE;
	return TRUE;
}

enum sender {
	SENDER_PERSON,
	SENDER_NOREPLY,	   /* no-reply@, or no usable From at all: machines of every kind, or a
			    * person whose client mangled the From */
	SENDER_NULL,	   /* Return-Path: <>, the envelope sender of bounces (and auto-replies) */
	SENDER_POSTMASTER, /* postmaster sends bounces and also other things */
	SENDER_DAEMON,	   /* mailer-daemon, "Mail Delivery System": only bounces */
};

static enum sender sender_of(const struct mail *mail)
{
	enum sender kind = SENDER_PERSON;
	char *s;

	if (mail->from.addr != NULL) {
		s = text_squash(mail->from.addr, TRUE);
		if (strcmp(s, "mailerdaemon") == 0 || strcmp(s, "maildaemon") == 0 ||
		    strcmp(s, "maildeliverysystem") == 0 || strcmp(s, "maildeliverysubsystem") == 0)
			kind = SENDER_DAEMON;
		else if (strcmp(s, "postmaster") == 0 || strcmp(s, "bounce") == 0 ||
			 strcmp(s, "bounces") == 0)
			kind = SENDER_POSTMASTER;
		else if (g_str_has_prefix(s, "noreply") || g_str_has_prefix(s, "donotreply"))
			kind = SENDER_NOREPLY;
		g_free(s);
	}
	if (kind == SENDER_PERSON && mail->from.name != NULL) {
		s = text_squash(mail->from.name, FALSE);
		if (strcmp(s, "mailerdaemon") == 0 || strcmp(s, "maildaemon") == 0 ||
		    strcmp(s, "maildeliverysystem") == 0 || strcmp(s, "maildeliverysubsystem") == 0)
			kind = SENDER_DAEMON;
		g_free(s);
	}
	if (kind < SENDER_NULL && null_return_path(mail))
		kind = SENDER_NULL;
	if (kind == SENDER_PERSON && mail->from.addr == NULL)
		kind = SENDER_NOREPLY;
	return kind;
}

static gboolean is_envelope_header(const char *name)
{
	return g_ascii_strcasecmp(name, "To") == 0 ||
	       g_ascii_strcasecmp(name, "Delivered-To") == 0 ||
	       g_ascii_strcasecmp(name, "X-Original-To") == 0 ||
	       g_ascii_strcasecmp(name, "Envelope-To") == 0;
}

/* The addresses the bounce itself was sent to (To, Cc) and its From: the original's sender and
 * the MTA, never a failed recipient. Not Delivered-To or X-Original-To: DragonFly names the
 * failed recipient in X-Original-To. */
static GPtrArray *own_addresses(const struct mail *mail)
{
	GPtrArray *list = g_ptr_array_new_with_free_func(g_free);
	GPtrArray *lists[] = {mail->to, mail->cc};

	for (size_t l = 0; l < G_N_ELEMENTS(lists); l++)
		for (guint i = 0; lists[l] != NULL && i < lists[l]->len; i++) {
			const struct mail_addr *a = g_ptr_array_index(lists[l], i);
			char *addr =
			    a->addr != NULL ? dsn_addr_clean(a->addr, strlen(a->addr), TRUE) : NULL;

			if (addr != NULL)
				returned_to_add(addr, list);
		}
	if (mail->from.addr != NULL) {
		char *a = dsn_addr_clean(mail->from.addr, strlen(mail->from.addr), TRUE);

		if (a != NULL)
			returned_to_add(a, list);
	}
	return list;
}

/* The VERP token in one address "<verp_local>+TOKEN@..." or "<verp_local>-TOKEN@...". */
static char *verp_of(const char *addr, const char *verp_local)
{
	size_t n = strlen(verp_local);
	const char *at = strrchr(addr, '@'), *tok;

	if (at == NULL || (size_t)(at - addr) <= n + 1 ||
	    g_ascii_strncasecmp(addr, verp_local, n) != 0 || (addr[n] != '+' && addr[n] != '-'))
		return NULL;
	tok = addr + n + 1;
	if (at - tok > 200)
		return NULL;
	for (const char *p = tok; p < at; p++)
		if (!g_ascii_isalnum(*p) && strchr("._=-+", *p) == NULL)
			return NULL;
	return g_strndup(tok, (gsize)(at - tok));
}

/* The token in the first address of a header value that is our VERP address, as written (tokens
 * may be case-sensitive, so not through dsn_addr_clean(), which lower-cases). Caller frees. */
static char *verp_scan(const char *value, const char *verp_local)
{
	size_t len = MIN(strlen(value), (size_t)BOUNCE_SCAN_MAX);
	const char *end = value + len;
	char *token = NULL;
	int n = 0;

	for (const char *at = memchr(value, '@', len);
	     at != NULL && token == NULL && n < BOUNCE_EACH_MAX;
	     at = at + 1 < end ? memchr(at + 1, '@', (size_t)(end - at - 1)) : NULL, n++) {
		const char *a = at, *b = at + 1;
		char *addr;

		while (a > value && at - a <= DSN_ADDR_MAX &&
		       strchr(" \t<>()[],;:\"'", a[-1]) == NULL)
			a--;
		while (b < end && b - at <= DSN_ADDR_MAX && strchr(" \t<>()[],;:\"'", *b) == NULL)
			b++;
		addr = g_strndup(a, (gsize)(b - a));
		token = verp_of(addr, verp_local);
		g_free(addr);
	}
	return token;
}

/* The token of the first of the bounce's addressees (To, Delivered-To, X-Original-To,
 * Envelope-To) that is our VERP address; caller frees. */
static char *verp_find(const struct mail *mail, const char *verp_local)
{
	char *token = NULL;

	if (verp_local == NULL || verp_local[0] == '\0')
		return NULL;
	for (guint i = 0; token == NULL && mail->headers != NULL && i < mail->headers->len; i++) {
		const struct mail_header *h = g_ptr_array_index(mail->headers, i);

		if (h->name != NULL && h->raw != NULL && is_envelope_header(h->name))
			token = verp_scan(h->raw, verp_local);
	}
	for (guint i = 0; token == NULL && mail->to != NULL && i < mail->to->len; i++) {
		const struct mail_addr *a = g_ptr_array_index(mail->to, i);

		if (a->addr != NULL)
			token = verp_of(a->addr, verp_local);
	}
	return token;
}

/* --- The whole --- */

static gboolean type_is(const struct mail_attachment *a, const char *const *types)
{
	for (size_t i = 0; a->content_type != NULL && types[i] != NULL; i++)
		if (strcmp(a->content_type, types[i]) == 0)
			return TRUE;
	return FALSE;
}

static const char *const dsn_types[] = {"message/delivery-status", "message/global-delivery-status",
					NULL};
/* Returned copies of the message. A message/partial fragment (Bigfoot returns one) starts with the
 * header of the message it is a piece of. */
static const char *const copy_types[] = {"message/rfc822", "text/rfc822-headers",
					 "message/global-headers", "message/partial", NULL};
static const char *const text_types[] = {"text/plain", NULL};

/* Texts a bounce's words may be in, most likely first: the body, then text/plain attachments
 * (some MTAs attach their explanation). At most BOUNCE_MAX_TEXTS of them, each cut to
 * BOUNCE_SCAN_MAX bytes and made valid UTF-8; free with g_ptr_array_unref(). */
#define BOUNCE_MAX_TEXTS 8

static GPtrArray *readable_texts(const struct mail *mail)
{
	GPtrArray *texts = g_ptr_array_new_with_free_func(g_free);
	const char *body = mail->text != NULL ? mail->text : "";

	g_ptr_array_add(texts, scan_copy(body, strlen(body)));
	for (guint i = 0; mail->attachments != NULL && i < mail->attachments->len &&
			  texts->len < BOUNCE_MAX_TEXTS;
	     i++) {
		const struct mail_attachment *a = g_ptr_array_index(mail->attachments, i);

		if (type_is(a, text_types))
			g_ptr_array_add(texts, attachment_text(a));
	}
	return texts;
}

static gboolean sender_fn(const char *name, const char *value, void *ud)
{
	if (g_ascii_strcasecmp(name, "From") == 0 || g_ascii_strcasecmp(name, "Sender") == 0 ||
	    g_ascii_strcasecmp(name, "Return-Path") == 0 ||
	    g_ascii_strcasecmp(name, "Reply-To") == 0)
		each_address(value, strlen(value), returned_to_add, ud);
	return TRUE;
}

/* Header blocks of the returned copies: the attachments', then those quoted in the texts
 * (pointers into texts). Borrowed pointers and lengths, in pairs. */
struct copies {
	const char *data[BOUNCE_MAX_TEXTS + 1];
	size_t len[BOUNCE_MAX_TEXTS + 1];
	size_t n;
};

static void copies_find(const struct mail *mail, GPtrArray *texts, struct copies *c)
{
	memset(c, 0, sizeof(*c));
	for (guint i = 0; mail->attachments != NULL && i < mail->attachments->len && c->n == 0;
	     i++) {
		const struct mail_attachment *a = g_ptr_array_index(mail->attachments, i);
		gsize len = 0;
		const char *data = a->data != NULL ? g_bytes_get_data(a->data, &len) : NULL;

		if (type_is(a, copy_types) && data != NULL && len > 0) {
			c->data[c->n] = data;
			c->len[c->n++] = len;
		}
	}
	for (guint i = 0; i < texts->len && c->n < G_N_ELEMENTS(c->data); i++) {
		const char *t = g_ptr_array_index(texts, i), *start = copy_start(t);

		if (start != NULL) {
			c->data[c->n] = start;
			c->len[c->n++] = strlen(start);
		}
	}
}

/* The bounce's own addressees and the senders of the returned copies: the original's sender,
 * which a bounce's text names too ("The original message was received ... from a@b"), but never
 * as a failed recipient. */
static GPtrArray *senders(const struct mail *mail, const struct copies *c)
{
	GPtrArray *list = own_addresses(mail);

	for (size_t i = 0; i < c->n; i++)
		dsn_fields_each(c->data[i], c->data[i] + c->len[i], sender_fn, list);
	return list;
}

/* What makes a bounce, from surest to least sure. A no-reply sender is every kind of robot, so
 * it needs bounce words and either a bounce subject or the returned message; an auto-reply that
 * went to our VERP address (vacation programs answer the envelope sender) is not a bounce. */
static gboolean is_bounce(const struct mail *mail, GPtrArray *texts, gboolean verp)
{
	enum sender sender = sender_of(mail);
	gboolean dsn = FALSE, returned = FALSE, subject, phrase = FALSE;
	const char *auto_sub = mail_header_raw(mail, "Auto-Submitted");

	for (guint i = 0; mail->attachments != NULL && i < mail->attachments->len; i++) {
		const struct mail_attachment *a = g_ptr_array_index(mail->attachments, i);

		dsn |= type_is(a, dsn_types);
		returned |= type_is(a, copy_types);
	}
	if (dsn || mail_header_raw(mail, "X-Failed-Recipients") != NULL || sender == SENDER_DAEMON)
		return TRUE;
	if (sender == SENDER_PERSON)
		return FALSE;
	subject = bounce_subject_why(mail->subject) != NULL;
	for (guint i = 0; i < texts->len && !phrase; i++)
		phrase = matches(RE_PHRASE, g_ptr_array_index(texts, i));
	switch (sender) {
	case SENDER_POSTMASTER:
		return subject || phrase || returned;
	case SENDER_NULL:
		if (subject || phrase)
			return TRUE;
		break;
	case SENDER_NOREPLY:
		if (phrase && (subject || returned))
			return TRUE;
		break;
	default:
		break;
	}
	return verp && (auto_sub == NULL || g_ascii_strncasecmp(auto_sub, "auto-replied", 12) != 0);
}

/* Delay or failure, for a bounce without DSN fields: a warning's subject says so, or its words
 * before the returned copy (at most the first 4 KiB: a failure's text may tell the story of its
 * retries further down) say it will keep trying and nothing says it gave up; a 5.x.x code is a
 * failure whatever the words. */
static gboolean text_permanent(const struct mail *mail, const char *text, const char *status)
{
	gboolean delay = matches(RE_DELAY, mail->subject);

	if (!delay) {
		const char *end = copy_start(text);
		size_t len = end != NULL ? (size_t)(end - text) : strlen(text);
		char *head = g_strndup(text, MIN(len, 4096));

		delay = matches(RE_DELAY, head) && !matches(RE_GAVE_UP, head) &&
			(status == NULL || status[0] == '4');
		g_free(head);
	}
	return !delay || (status != NULL && status[0] == '5');
}

/* The Message-ID of the message that bounced: the returned copy's, the DSN's X-Original-Message-ID,
 * a "Message-ID:" line quoted in the texts, then the bounce's own In-Reply-To or References.
 * Caller frees; NULL when none. */
static char *original_id(const struct mail *mail, GPtrArray *texts, const char *dsn_id)
{
	char *id = NULL;

	for (guint i = 0; id == NULL && mail->attachments != NULL && i < mail->attachments->len;
	     i++) {
		const struct mail_attachment *a = g_ptr_array_index(mail->attachments, i);
		gsize len = 0;
		const char *data = a->data != NULL ? g_bytes_get_data(a->data, &len) : NULL;

		if (type_is(a, copy_types))
			id = dsn_message_id(data, len);
	}
	if (id == NULL && dsn_id != NULL)
		id = g_strdup(dsn_id);
	for (guint i = 0; id == NULL && i < texts->len; i++)
		id = text_message_id(g_ptr_array_index(texts, i), mail->message_id);
	if (id == NULL && mail->in_reply_to != NULL)
		id = dsn_msgid_clean(mail->in_reply_to, strlen(mail->in_reply_to), FALSE);
	if (id == NULL && mail->references != NULL && mail->references->len > 0) {
		const char *last = g_ptr_array_index(mail->references, mail->references->len - 1);

		id = dsn_msgid_clean(last, strlen(last), FALSE);
	}
	return id;
}

gboolean bounce_parse(const struct mail *mail, const char *verp_local, struct bounce_report *r)
{
	struct dsn_groups st = {0};
	struct text_scan ts = {0};
	struct copies c;
	GPtrArray *texts;
	const char *xfr;

	memset(r, 0, sizeof(*r));
	patterns_init();
	texts = readable_texts(mail);
	r->verp_token = verp_find(mail, verp_local);
	if (!is_bounce(mail, texts, r->verp_token != NULL)) {
		g_ptr_array_unref(texts);
		bounce_report_clear(r);
		return FALSE;
	}
	r->recipients = g_ptr_array_new_with_free_func(g_free);
	copies_find(mail, texts, &c);
	ts.r = r;
	ts.exclude = senders(mail, &c);

	/* Recipients: the DSN fields, Exim's X-Failed-Recipients, the words of the texts, and
	 * last the returned copy when it was sent to one address only. The texts are read even
	 * when the fields named everyone, for a status and diagnostic to fall back on. */
	for (guint i = 0; mail->attachments != NULL && i < mail->attachments->len; i++) {
		const struct mail_attachment *a = g_ptr_array_index(mail->attachments, i);

		if (type_is(a, dsn_types)) {
			char *text = attachment_text(a);

			dsn_read(text, &st);
			g_free(text);
		}
	}
	for (guint i = 0; st.recipients != NULL && i < st.recipients->len; i++)
		recipient_add(r, NULL, g_strdup(g_ptr_array_index(st.recipients, i)));
	xfr = mail_header_raw(mail, "X-Failed-Recipients");
	if (xfr != NULL && r->recipients->len == 0)
		each_address(xfr, MIN(strlen(xfr), (size_t)BOUNCE_SCAN_MAX), text_recipient_fn,
			     &ts);
	{
		GPtrArray *had = r->recipients;
		gboolean named = had->len > 0;

		/* when the fields named everyone, the words are read into a list thrown away */
		if (named)
			r->recipients = g_ptr_array_new_with_free_func(g_free);
		for (guint i = 0; i < texts->len; i++) {
			const char *t = g_ptr_array_index(texts, i);

			text_read(t, copy_start(t), &ts);
		}
		if (named) {
			g_ptr_array_unref(r->recipients);
			r->recipients = had;
		}
	}
	for (size_t i = 0; r->recipients->len == 0 && i < c.n; i++) {
		GPtrArray *to = g_ptr_array_new_with_free_func(g_free);

		dsn_fields_each(c.data[i], c.data[i] + c.len[i], returned_to_fn, to);
		if (to->len == 1)
			recipient_add(r, ts.exclude, g_strdup(g_ptr_array_index(to, 0)));
		g_ptr_array_unref(to);
	}

	if (st.any_group) {
		r->permanent = st.any_failed;
		r->status = g_strdup(st.status_fail != NULL ? st.status_fail : st.status_any);
	} else {
		r->permanent = text_permanent(mail, g_ptr_array_index(texts, 0), ts.status);
	}
	if (r->status == NULL)
		r->status = g_strdup(ts.status);
	r->diagnostic = g_strdup(st.diagnostic != NULL ? st.diagnostic : ts.diagnostic);
	r->original_message_id = original_id(mail, texts, st.message_id);

	dsn_groups_clear(&st);
	g_free(ts.status);
	g_free(ts.diagnostic);
	g_ptr_array_unref(ts.exclude);
	g_ptr_array_unref(texts);
	return TRUE;
}
