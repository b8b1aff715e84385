/* The desk's rules: kind (incident or request), impact and urgency of one mail, and the priority
 * the matrix gives them. Each list is tried in order and the first rule whose conditions all hold
 * decides, so a verdict always names one rule and an administrator can predict it by reading the
 * list top to bottom; the explanation a person reads quotes the words of the mail that rule
 * matched. Regular expressions are compiled once, when the rules are built; judging a mail only
 * matches. The built-in set at the end of this file is the desk's judgement when the
 * configuration has none: it is ordered by how strong the evidence is (see kind_tiers). */
#include "rules.h"

#include "text.h"

#include <string.h>

/* Subject and text beyond this are not looked at: what a person asks is at the top, and a 25 MB
 * body must not cost seconds of regex time. */
#define RULES_TEXT_MAX (64 * 1024)

struct rule {
	char *name;
	int value;
	char **to;	  /* lower case: "a@b", "a@" or "+suffix"; NULL when not a condition */
	GRegex *tag_re;	  /* any of the subject tags, brackets included */
	char **domains;	  /* lower case */
	char **senders;	  /* lower case */
	char **mailboxes; /* configured mailbox names, as written */
	char *header;
	GRegex *re;
	unsigned in;
	gboolean builtin; /* explained by the words it matched, not by its name */
	char *team;	  /* NULL: none */
};

struct rules {
	GHashTable *desk; /* lower-case desk addresses (a set) */
	enum spoc_kind default_kind;
	int default_level[2]; /* impact, urgency */
	int matrix[RULES_LEVELS][RULES_LEVELS];
	GPtrArray *list[3]; /* struct rule *, by enum rules_list */
};

/* ITIL's usual matrix: P1 when many people are stopped now, P5 when one person can wait. */
static const int itil_matrix[RULES_LEVELS][RULES_LEVELS] = {
    {1, 2, 3},
    {2, 3, 4},
    {3, 4, 5},
};

static void rule_free(gpointer p)
{
	struct rule *r = p;

	g_free(r->name);
	g_free(r->team);
	g_strfreev(r->to);
	if (r->tag_re != NULL)
		g_regex_unref(r->tag_re);
	g_strfreev(r->domains);
	g_strfreev(r->senders);
	g_strfreev(r->mailboxes);
	g_free(r->header);
	if (r->re != NULL)
		g_regex_unref(r->re);
	g_free(r);
}

struct rules *rules_new(const char *const *desk_addresses, enum spoc_kind default_kind)
{
	struct rules *rules = g_new0(struct rules, 1);

	rules->desk = g_hash_table_new_full(g_str_hash, g_str_equal, g_free, NULL);
	for (size_t i = 0; desk_addresses != NULL && desk_addresses[i] != NULL; i++)
		g_hash_table_add(rules->desk, g_ascii_strdown(desk_addresses[i], -1));
	rules->default_kind = default_kind;
	rules->default_level[0] = RULES_DEFAULT_LEVEL;
	rules->default_level[1] = RULES_DEFAULT_LEVEL;
	memcpy(rules->matrix, itil_matrix, sizeof(rules->matrix));
	for (size_t i = 0; i < G_N_ELEMENTS(rules->list); i++)
		rules->list[i] = g_ptr_array_new_with_free_func(rule_free);
	return rules;
}

struct rules *rules_new_builtin(const char *const *desk_addresses, enum spoc_kind default_kind)
{
	struct rules *rules = rules_new(desk_addresses, default_kind);

	rules_add_builtin(rules, RULES_KIND);
	rules_add_builtin(rules, RULES_IMPACT);
	rules_add_builtin(rules, RULES_URGENCY);
	return rules;
}

void rules_free(struct rules **rules)
{
	struct rules *r = *rules;

	if (r == NULL)
		return;
	g_hash_table_destroy(r->desk);
	for (size_t i = 0; i < G_N_ELEMENTS(r->list); i++)
		g_ptr_array_free(r->list[i], TRUE);
	g_free(r);
	*rules = NULL;
}

void rules_set_default_levels(struct rules *rules, int impact, int urgency)
{
	rules->default_level[0] = CLAMP(impact, 1, RULES_LEVELS);
	rules->default_level[1] = CLAMP(urgency, 1, RULES_LEVELS);
}

gboolean rules_set_matrix(struct rules *rules, const int matrix[RULES_LEVELS][RULES_LEVELS],
			  struct errbuf *err)
{
	for (int i = 0; i < RULES_LEVELS; i++)
		for (int u = 0; u < RULES_LEVELS; u++) {
			int p = matrix[i][u];

			if (p < 1 || p > RULES_MAX_PRIORITY) {
				errbuf_set(err, 1,
					   "impact %d, urgency %d: priority must be 1..%d, not %d",
					   i + 1, u + 1, RULES_MAX_PRIORITY, p);
				return FALSE;
			}
			/* A typo that gives lower impact a better priority would be obeyed
			 * silently for months: refuse it. */
			if (i > 0 && p < matrix[i - 1][u]) {
				errbuf_set(
				    err, 1,
				    "impact %d, urgency %d: priority %d is better than %d for "
				    "the higher impact %d",
				    i + 1, u + 1, p, matrix[i - 1][u], i);
				return FALSE;
			}
			if (u > 0 && p < matrix[i][u - 1]) {
				errbuf_set(
				    err, 1,
				    "impact %d, urgency %d: priority %d is better than %d for "
				    "the higher urgency %d",
				    i + 1, u + 1, p, matrix[i][u - 1], u);
				return FALSE;
			}
		}
	memcpy(rules->matrix, matrix, sizeof(rules->matrix));
	return TRUE;
}

/* TRUE when s has one '@' with something on both sides and nothing that cannot be in an
 * address people type. */
static gboolean plausible_address(const char *s)
{
	const char *at = strchr(s, '@');

	return at != NULL && at != s && at[1] != '\0' && strchr(at + 1, '@') == NULL &&
	       strpbrk(s, " \t\r\n<>\"(),;:[]") == NULL;
}

static gboolean list_empty(const char *const *l)
{
	return l == NULL || l[0] == NULL;
}

/* Lower-case copy of a NULL-terminated list (NULL for an empty one). */
static char **list_down(const char *const *l)
{
	GPtrArray *out;

	if (list_empty(l))
		return NULL;
	out = g_ptr_array_new();
	for (size_t i = 0; l[i] != NULL; i++)
		g_ptr_array_add(out, g_utf8_strdown(l[i], -1));
	g_ptr_array_add(out, NULL);
	return (char **)g_ptr_array_free(out, FALSE);
}

static gboolean check_to(struct rules *rules, const char *const *to, struct errbuf *err)
{
	for (size_t i = 0; to[i] != NULL; i++) {
		const char *t = to[i];
		size_t len = strlen(t);

		if (t[0] == '+' && len > 1 && strpbrk(t, "@ \t\r\n<>\"") == NULL)
			continue;
		if (len > 1 && t[len - 1] == '@' && strchr(t, '@') == t + len - 1 &&
		    strpbrk(t, " \t\r\n<>\"") == NULL)
			continue;
		if (!plausible_address(t)) {
			errbuf_set(err, 1,
				   "\"%s\" is not a desk address: use \"incidents@example.org\", "
				   "\"incidents@\" (that local part at any desk domain) or "
				   "\"+request\" (a plus-suffix of any desk address)",
				   t);
			return FALSE;
		}
		/* Mail to it reaches the desk, or the rule would be pointless. */
		g_hash_table_add(rules->desk, g_ascii_strdown(t, -1));
	}
	return TRUE;
}

/* "\[\s*(?:A|B)\s*\]" for the tags, each taken literally. */
static GRegex *tags_compile(const char *const *tags, struct errbuf *err)
{
	GString *re = g_string_new("\\[\\s*(?:");
	GRegex *out;

	for (size_t i = 0; tags[i] != NULL; i++) {
		char *t = g_strstrip(g_strdup(tags[i]));
		char *esc;

		if (t[0] == '\0' || strpbrk(t, "[]\r\n") != NULL || !g_utf8_validate(t, -1, NULL)) {
			errbuf_set(err, 1,
				   "\"%s\" is not a tag: give the word between the brackets, e.g. "
				   "\"SOLICITUD\" for [SOLICITUD]",
				   tags[i]);
			g_free(t);
			g_string_free(re, TRUE);
			return NULL;
		}
		esc = g_regex_escape_string(t, -1);
		g_string_append_printf(re, "%s%s", i > 0 ? "|" : "", esc);
		g_free(esc);
		g_free(t);
	}
	g_string_append(re, ")\\s*\\]");
	out = g_regex_new(re->str, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
	g_string_free(re, TRUE);
	return out;
}

/* Compiles a pattern as every rule uses it: case-insensitive, UTF-8, ^ and $ at line ends. */
static GRegex *pattern_compile(const char *pattern, struct errbuf *err)
{
	GError *gerr = NULL;
	GRegex *re =
	    g_regex_new(pattern, G_REGEX_CASELESS | G_REGEX_MULTILINE | G_REGEX_OPTIMIZE, 0, &gerr);

	if (re == NULL) {
		errbuf_set(err, 1, "invalid regular expression: %s", gerr->message);
		g_error_free(gerr);
		return NULL;
	}
	/* A pattern that matches nothing at all would match every mail (e.g. "a*"). */
	if (g_regex_match(re, "", 0, NULL)) {
		errbuf_set(err, 1,
			   "\"%s\" matches an empty text, so it would match every mail: give "
			   "something that must be there",
			   pattern);
		g_regex_unref(re);
		return NULL;
	}
	return re;
}

static gboolean header_name_ok(const char *h)
{
	if (h[0] == '\0')
		return FALSE;
	for (const char *p = h; *p != '\0'; p++)
		if (*p < 33 || *p > 126 || *p == ':')
			return FALSE;
	return TRUE;
}

/* Fails with the field named; always returns FALSE. */
static gboolean bad(const char **field_r, const char *field)
{
	if (field_r != NULL)
		*field_r = field;
	return FALSE;
}

/* TRUE when team can name a team: what a person can type and read back, one line. */
static gboolean team_ok(const char *team)
{
	size_t n = strlen(team);

	if (n == 0 || n > RULES_TEAM_MAX || !g_utf8_validate(team, -1, NULL) ||
	    g_ascii_isspace(team[0]) || g_ascii_isspace(team[n - 1]))
		return FALSE;
	for (const char *p = team; *p != '\0'; p = g_utf8_next_char(p))
		if (g_unichar_iscntrl(g_utf8_get_char(p)))
			return FALSE;
	return TRUE;
}

gboolean rules_add(struct rules *rules, enum rules_list list, const struct rules_spec *spec,
		   const char **field_r, struct errbuf *err)
{
	static const char *const value_field[] = {"kind", "impact", "urgency"};
	struct rule *r;

	if (field_r != NULL)
		*field_r = NULL;
	if (spec->name == NULL || spec->name[0] == '\0' || !g_utf8_validate(spec->name, -1, NULL)) {
		errbuf_set(err, 1, "every rule needs a name: verdicts and tickets show it");
		return bad(field_r, "name");
	}
	if (list == RULES_KIND
		? (spec->value != SPOC_KIND_INCIDENT && spec->value != SPOC_KIND_REQUEST)
		: (spec->value < 1 || spec->value > RULES_LEVELS)) {
		errbuf_set(err, 1, "must be %s, not %d",
			   list == RULES_KIND ? "incident or request" : "1 (high) .. 3 (low)",
			   spec->value);
		return bad(field_r, value_field[list]);
	}
	if (list_empty(spec->to) && list_empty(spec->subject_tags) &&
	    list_empty(spec->sender_domains) && list_empty(spec->senders) &&
	    list_empty(spec->mailboxes) && spec->header == NULL && spec->pattern == NULL) {
		errbuf_set(err, 1,
			   "rule \"%s\" has no condition: give to, subject_tag, sender_domain, "
			   "sender, mailbox, header or pattern",
			   spec->name);
		return FALSE;
	}
	if (spec->in & ~(unsigned)(RULES_IN_SUBJECT | RULES_IN_TEXT)) {
		errbuf_set(err, 1, "must be \"subject\", \"text\" or \"subject,text\"");
		return bad(field_r, "in");
	}
	if (spec->in != 0 && (spec->pattern == NULL || spec->header != NULL)) {
		errbuf_set(err, 1,
			   "only goes with a pattern over the subject or text (a header's pattern "
			   "is matched against that header's value)");
		return bad(field_r, "in");
	}
	if (spec->header != NULL && !header_name_ok(spec->header)) {
		errbuf_set(err, 1, "\"%s\" is not a header name (e.g. \"Importance\")",
			   spec->header);
		return bad(field_r, "header");
	}
	if (!list_empty(spec->to) && !check_to(rules, spec->to, err))
		return bad(field_r, "to");
	for (size_t i = 0; !list_empty(spec->sender_domains) && spec->sender_domains[i] != NULL;
	     i++) {
		const char *d = spec->sender_domains[i];

		if (d[0] == '@')
			d++;
		if (d[0] == '\0' || strpbrk(d, "@ \t\r\n<>\"") != NULL || d[0] == '.') {
			errbuf_set(err, 1, "\"%s\" is not a domain (e.g. \"monitor.example.org\")",
				   spec->sender_domains[i]);
			return bad(field_r, "sender_domain");
		}
	}
	for (size_t i = 0; !list_empty(spec->senders) && spec->senders[i] != NULL; i++)
		if (!plausible_address(spec->senders[i])) {
			errbuf_set(err, 1, "\"%s\" is not an address", spec->senders[i]);
			return bad(field_r, "sender");
		}

	if (spec->team != NULL && !team_ok(spec->team)) {
		errbuf_set(err, 1,
			   "\"%s\" is not a team name: give the team as its agents have it "
			   "(spocctl agent add ADDRESS --team TEAM), 1..%d bytes of UTF-8 without "
			   "control characters or blanks at either end",
			   spec->team, RULES_TEAM_MAX);
		return bad(field_r, "team");
	}

	r = g_new0(struct rule, 1);
	r->team = g_strdup(spec->team);
	if (!list_empty(spec->subject_tags) &&
	    (r->tag_re = tags_compile(spec->subject_tags, err)) == NULL) {
		rule_free(r);
		return bad(field_r, "subject_tag");
	}
	if (spec->pattern != NULL && (r->re = pattern_compile(spec->pattern, err)) == NULL) {
		rule_free(r);
		return bad(field_r, "pattern");
	}
	r->name = g_strdup(spec->name);
	r->value = spec->value;
	r->to = list_down(spec->to);
	r->senders = list_down(spec->senders);
	r->mailboxes = list_empty(spec->mailboxes) ? NULL : g_strdupv((char **)spec->mailboxes);
	if (!list_empty(spec->sender_domains)) {
		GPtrArray *d = g_ptr_array_new();

		for (size_t i = 0; spec->sender_domains[i] != NULL; i++) {
			const char *s = spec->sender_domains[i];

			g_ptr_array_add(d, g_ascii_strdown(s[0] == '@' ? s + 1 : s, -1));
		}
		g_ptr_array_add(d, NULL);
		r->domains = (char **)g_ptr_array_free(d, FALSE);
	}
	r->header = g_strdup(spec->header);
	r->in = spec->in != 0 ? spec->in : RULES_IN_SUBJECT | RULES_IN_TEXT;
	g_ptr_array_add(rules->list[list], r);
	return TRUE;
}

/* What the rules look at in one mail, prepared once. */
struct facts {
	const struct mail *mail;
	char *subject;		 /* NFC, at most RULES_TEXT_MAX bytes */
	char *text;		 /* the sender's own words, same */
	char *flat_subject;	 /* subject and text with each run of white space one space: */
	char *flat_text;	 /* the built-in phrases, "toda la planta", span a wrapped line */
	char *from;		 /* lower case, NULL when the mail has no sender address */
	const char *from_domain; /* inside from */
	GPtrArray *recipients;	 /* char *, lower case: the desk addresses it was sent to */
	const char *mailbox;	 /* the name of the mailbox it was read from, or NULL */
};

/* A desk address, or a plus-address of one (help+request@ reaches help@'s mailbox). */
static gboolean is_desk(const struct rules *rules, const char *addr)
{
	const char *plus = strchr(addr, '+'), *at = strrchr(addr, '@');
	gboolean found;
	char *base;

	if (g_hash_table_contains(rules->desk, addr))
		return TRUE;
	if (plus == NULL || at == NULL || plus > at)
		return FALSE;
	base = g_strdup_printf("%.*s%s", (int)(plus - addr), addr, at);
	found = g_hash_table_contains(rules->desk, base);
	g_free(base);
	return found;
}

static void add_desk_recipients(const struct rules *rules, GPtrArray *out, const GPtrArray *addrs)
{
	for (guint i = 0; addrs != NULL && i < addrs->len; i++) {
		const struct mail_addr *a = g_ptr_array_index(addrs, i);
		char *low;

		if (a->addr == NULL)
			continue;
		low = g_ascii_strdown(a->addr, -1);
		if (is_desk(rules, low))
			g_ptr_array_add(out, low);
		else
			g_free(low);
	}
}

/* s with every run of white space (line breaks and no-break spaces included) one space.
 * Caller frees. */
static char *flatten(const char *s)
{
	GString *out = g_string_sized_new(strlen(s));
	gboolean space = FALSE;

	for (const char *p = s; *p != '\0'; p = g_utf8_next_char(p)) {
		gunichar c = g_utf8_get_char(p);

		if (g_unichar_isspace(c)) {
			space = TRUE;
			continue;
		}
		if (space && out->len > 0)
			g_string_append_c(out, ' ');
		space = FALSE;
		g_string_append_unichar(out, c);
	}
	return g_string_free(out, FALSE);
}

static void facts_init(struct facts *f, const struct rules *rules, const struct mail *mail,
		       const char *recipient)
{
	const char *text =
	    mail->text_new != NULL && mail->text_new[0] != '\0' ? mail->text_new : mail->text;
	const char *at;

	f->mail = mail;
	f->subject = text_nfc_prefix(mail->subject != NULL ? mail->subject : "", RULES_TEXT_MAX);
	f->text = text_nfc_prefix(text != NULL ? text : "", RULES_TEXT_MAX);
	f->flat_subject = flatten(f->subject);
	f->flat_text = flatten(f->text);
	f->from = mail->from.addr != NULL ? g_ascii_strdown(mail->from.addr, -1) : NULL;
	at = f->from != NULL ? strrchr(f->from, '@') : NULL;
	f->from_domain = at != NULL ? at + 1 : NULL;
	f->recipients = g_ptr_array_new_with_free_func(g_free);
	if (recipient != NULL) {
		g_ptr_array_add(f->recipients, g_ascii_strdown(recipient, -1));
	} else {
		add_desk_recipients(rules, f->recipients, mail->to);
		add_desk_recipients(rules, f->recipients, mail->cc);
	}
}

static void facts_clear(struct facts *f)
{
	g_free(f->subject);
	g_free(f->text);
	g_free(f->flat_subject);
	g_free(f->flat_text);
	g_free(f->from);
	g_ptr_array_free(f->recipients, TRUE);
}

/* Does recipient (lower case) fit one `to` form? */
static gboolean to_fits(const char *to, const char *rcpt)
{
	const char *at = strrchr(rcpt, '@');
	size_t tlen = strlen(to);

	if (at == NULL)
		return strcmp(to, rcpt) == 0;
	if (to[0] == '+') {
		const char *plus = memchr(rcpt, '+', (size_t)(at - rcpt));

		return plus != NULL && (size_t)(at - plus) == tlen && memcmp(plus, to, tlen) == 0;
	}
	if (to[tlen - 1] == '@')
		return (size_t)(at - rcpt) + 1 == tlen && memcmp(rcpt, to, tlen) == 0;
	return strcmp(to, rcpt) == 0;
}

static gboolean in_list(char *const *list, const char *s)
{
	for (size_t i = 0; s != NULL && list[i] != NULL; i++)
		if (strcmp(list[i], s) == 0)
			return TRUE;
	return FALSE;
}

static gboolean domain_fits(char *const *domains, const char *d)
{
	for (size_t i = 0; d != NULL && domains[i] != NULL; i++) {
		size_t dl = strlen(d), l = strlen(domains[i]);

		if (strcmp(d, domains[i]) == 0 ||
		    (dl > l && d[dl - l - 1] == '.' && strcmp(d + dl - l, domains[i]) == 0))
			return TRUE;
	}
	return FALSE;
}

/* What a rule matched, for the explanation a person reads: the mail's own words and where they
 * are, never the rule's label. */
struct evidence {
	char *quote;	   /* one line, cut (quote_of()); NULL: no words matched (an address...) */
	const char *where; /* "subject", "text" or a header's name as the rule gives it */
	gboolean header;
};

static void evidence_clear(struct evidence *ev)
{
	g_free(ev->quote);
	memset(ev, 0, sizeof(*ev));
}

/* s[start, end) as one line of at most RULES_QUOTE_MAX characters, cut at a word's end when
 * one is near and marked with "…"; NULL when nothing visible is left. Caller frees. */
static char *quote_of(const char *s, int start, int end)
{
	char *line = text_one_line(s + start, (size_t)(end - start), RULES_TEXT_MAX);
	const char *cut, *p;
	char *out;

	if (line == NULL || g_utf8_strlen(line, -1) <= RULES_QUOTE_MAX)
		return line;
	cut = g_utf8_offset_to_pointer(line, RULES_QUOTE_MAX);
	for (p = cut; p > line + (cut - line) * 3 / 4; p = g_utf8_prev_char(p))
		if (*p == ' ') {
			cut = p;
			break;
		}
	while (cut > line && cut[-1] == ' ')
		cut--;
	out = g_strdup_printf("%.*s…", (int)(cut - line), line);
	g_free(line);
	return out;
}

/* An error inside the matcher (PCRE2's backtracking limit on a pathological pattern) counts as
 * no match: the rule cannot say yes, and the next one gets its turn. On a match, ev (may be
 * NULL) gets the words matched and where. */
static gboolean re_find(const GRegex *re, const char *s, const char *where, gboolean header,
			struct evidence *ev)
{
	GMatchInfo *mi = NULL;
	gint start, end;
	gboolean ok = g_regex_match(re, s, G_REGEX_MATCH_NOTEMPTY, &mi) &&
		      g_match_info_fetch_pos(mi, 0, &start, &end);

	g_match_info_free(mi);
	if (ok && ev != NULL) {
		g_free(ev->quote);
		ev->quote = quote_of(s, start, end);
		ev->where = where;
		ev->header = header;
	}
	return ok;
}

/* Does the rule hold for the mail? ev gets what its patterns matched (the caller clears it
 * when the answer is no). */
static gboolean rule_matches(const struct rule *r, const struct facts *f, struct evidence *ev)
{
	/* the built-in phrases are written with single spaces; a configured pattern may want
	 * the lines as they are (^ and $) */
	const char *subject = r->builtin ? f->flat_subject : f->subject;
	const char *text = r->builtin ? f->flat_text : f->text;

	if (r->to != NULL) {
		gboolean any = FALSE;

		for (guint i = 0; !any && i < f->recipients->len; i++)
			for (size_t j = 0; !any && r->to[j] != NULL; j++)
				any = to_fits(r->to[j], g_ptr_array_index(f->recipients, i));
		if (!any)
			return FALSE;
	}
	if (r->tag_re != NULL && !re_find(r->tag_re, f->subject, "subject", FALSE, ev))
		return FALSE;
	if (r->domains != NULL && !domain_fits(r->domains, f->from_domain))
		return FALSE;
	if (r->senders != NULL && !in_list(r->senders, f->from))
		return FALSE;
	if (r->mailboxes != NULL &&
	    (f->mailbox == NULL || !g_strv_contains((const char *const *)r->mailboxes, f->mailbox)))
		return FALSE;
	if (r->header != NULL) {
		const char *v = mail_header(f->mail, r->header);
		gboolean ok;
		char *t;

		if (v == NULL)
			return FALSE;
		if (r->re == NULL)
			return TRUE;
		t = g_strstrip(g_strdup(v));
		ok = re_find(r->re, t, r->header, TRUE, ev);
		g_free(t);
		return ok;
	}
	if (r->re != NULL)
		return ((r->in & RULES_IN_SUBJECT) &&
			re_find(r->re, subject, "subject", FALSE, ev)) ||
		       ((r->in & RULES_IN_TEXT) && re_find(r->re, text, "text", FALSE, ev));
	return TRUE;
}

static const struct rule *first_match(const GPtrArray *list, const struct facts *f,
				      struct evidence *ev)
{
	for (guint i = 0; i < list->len; i++) {
		const struct rule *r = g_ptr_array_index(list, i);

		if (rule_matches(r, f, ev))
			return r;
		evidence_clear(ev);
	}
	return NULL;
}

/* s into buf[size] (size >= 4), cut on a character boundary and marked with "…" when it does
 * not fit. */
static void copy_cut(char *buf, size_t size, const char *s)
{
	size_t len = strlen(s);
	const char *end;

	if (len < size) {
		memcpy(buf, s, len + 1);
		return;
	}
	end = s + size - sizeof("…");
	while (end > s && ((unsigned char)*end & 0xC0) == 0x80)
		end--;
	memcpy(buf, s, (size_t)(end - s));
	memcpy(buf + (end - s), "…", sizeof("…"));
}

/* The evidence as a person reads it: "\"no funciona\" in the subject", with the place only
 * when with_place or when it is a header ("\"high\" in the Importance header"). */
static void append_evidence(GString *out, const struct evidence *ev, gboolean with_place)
{
	g_string_append_printf(out, "\"%s\"", ev->quote);
	if (ev->header)
		g_string_append_printf(out, " in the %s header", ev->where);
	else if (with_place)
		g_string_append_printf(out, " in the %s", ev->where);
}

/* Why the kind: a built-in rule by the words it matched ("\"se ha caído\" in the text"), a
 * configured one by its name, with the words when it has some ("ERP (\"SAP no carga\" in the
 * subject)"), a rule that matched no words (an address, a sender) by its name. */
static void explain_kind(char *buf, size_t size, const struct rule *r, const struct evidence *ev)
{
	GString *out = g_string_new(NULL);

	if (r->builtin && ev->quote != NULL) {
		append_evidence(out, ev, TRUE);
	} else {
		g_string_append(out, r->name);
		if (ev->quote != NULL) {
			g_string_append(out, " (");
			append_evidence(out, ev, TRUE);
			g_string_append_c(out, ')');
		}
	}
	copy_cut(buf, size, out->str);
	g_string_free(out, TRUE);
}

/* Each half of priority_why at most this long, so both always fit. */
#define LEVEL_WHY_MAX ((RULES_WHY_MAX - sizeof("impact: ; urgency: ")) / 2)

/* Why a level: "high (\"toda la planta\")", "high (vip)", "high (whole office, \"toda la
 * oficina\")", "medium (default)". r is NULL for the default. */
static void explain_level(char buf[LEVEL_WHY_MAX], int level, const struct rule *r,
			  const struct evidence *ev)
{
	static const char *const names[] = {"high", "medium", "low"};
	GString *out = g_string_new(names[level - 1]);

	g_string_append(out, " (");
	if (r == NULL) {
		g_string_append(out, "default");
	} else if (r->builtin && ev->quote != NULL) {
		append_evidence(out, ev, FALSE);
	} else {
		g_string_append(out, r->name);
		if (ev->quote != NULL) {
			g_string_append(out, ", ");
			append_evidence(out, ev, FALSE);
		}
	}
	g_string_append_c(out, ')');
	copy_cut(buf, LEVEL_WHY_MAX, out->str);
	g_string_free(out, TRUE);
}

void rules_decide(const struct rules *rules, const struct mail *mail, const char *recipient,
		  struct rules_verdict *v)
{
	rules_decide_in(rules, mail, recipient, NULL, v);
}

/* Calls fn with each rule's name and what value gives of it, in list order, where that is not
 * NULL. */
static void each_rule(const struct rules *rules, const char *(*value)(const struct rule *r),
		      void (*fn)(const char *rule, const char *value, void *ctx), void *ctx)
{
	for (int l = 0; l < 3; l++)
		for (guint i = 0; i < rules->list[l]->len; i++) {
			const struct rule *r = g_ptr_array_index(rules->list[l], i);
			const char *v = value(r);

			if (v != NULL)
				fn(r->name, v, ctx);
		}
}

static const char *rule_team(const struct rule *r)
{
	return r->team;
}

static const char *rule_pattern(const struct rule *r)
{
	return r->re != NULL ? g_regex_get_pattern(r->re) : NULL;
}

void rules_each_team(const struct rules *rules,
		     void (*fn)(const char *rule, const char *team, void *ctx), void *ctx)
{
	each_rule(rules, rule_team, fn, ctx);
}

void rules_each_pattern(const struct rules *rules,
			void (*fn)(const char *rule, const char *pattern, void *ctx), void *ctx)
{
	each_rule(rules, rule_pattern, fn, ctx);
}

void rules_decide_in(const struct rules *rules, const struct mail *mail, const char *recipient,
		     const char *mailbox, struct rules_verdict *v)
{
	char impact_why[LEVEL_WHY_MAX], urgency_why[LEVEL_WHY_MAX];
	struct evidence ev = {0};
	const struct rule *r, *deciding[3];
	struct facts f;

	facts_init(&f, rules, mail, recipient);
	f.mailbox = mailbox;
	memset(v, 0, sizeof(*v));
	if ((r = deciding[RULES_KIND] = first_match(rules->list[RULES_KIND], &f, &ev)) != NULL) {
		v->kind = (enum spoc_kind)r->value;
		v->kind_rule = r->name;
		explain_kind(v->kind_why, sizeof(v->kind_why), r, &ev);
	} else {
		v->kind = rules->default_kind;
		v->kind_rule = "default";
		g_strlcpy(v->kind_why, "default", sizeof(v->kind_why));
		v->triage = TRUE;
	}
	evidence_clear(&ev);
	if ((r = deciding[RULES_IMPACT] = first_match(rules->list[RULES_IMPACT], &f, &ev)) !=
	    NULL) {
		v->impact = r->value;
		v->impact_rule = r->name;
	} else {
		v->impact = rules->default_level[0];
		v->impact_rule = "default";
	}
	explain_level(impact_why, v->impact, r, &ev);
	evidence_clear(&ev);
	if ((r = deciding[RULES_URGENCY] = first_match(rules->list[RULES_URGENCY], &f, &ev)) !=
	    NULL) {
		v->urgency = r->value;
		v->urgency_rule = r->name;
	} else {
		v->urgency = rules->default_level[1];
		v->urgency_rule = "default";
	}
	explain_level(urgency_why, v->urgency, r, &ev);
	evidence_clear(&ev);
	for (int l = 0; l < 3 && v->team == NULL; l++)
		if (deciding[l] != NULL && deciding[l]->team != NULL) {
			v->team = deciding[l]->team;
			v->team_rule = deciding[l]->name;
		}
	g_snprintf(v->priority_why, sizeof(v->priority_why), "impact: %s; urgency: %s", impact_why,
		   urgency_why);
	v->priority = rules->matrix[v->impact - 1][v->urgency - 1];
	facts_clear(&f);
}

/*
 * The built-in set.
 *
 * Kind, in this order:
 *  1. the desk address: incidents@/incidencias@ and +incident/+incidencia are incidents,
 *     requests@/solicitudes@ and +request/+solicitud are requests (only addresses of the desk
 *     count, so this needs no configuration and cannot fire on a stranger's address);
 *  2. a tag the sender put in the subject: [INCIDENT] [INCIDENCIA] [REQUEST] [SOLICITUD]...;
 *  3. keywords, judged on the whole mail, the strongest evidence first:
 *     a. an explicit ask for access ("solicito acceso", "could you grant me access"): what the
 *        sender gets without it ("acceso denegado", "permission denied") is why they ask, not
 *        a fault;
 *     b. strong breakage phrases ("no funciona", "se ha caído", "no abre", "is down");
 *     c. strong request phrases ("alta de usuario", "acceso a", "could you create");
 *     d. weak breakage words ("error", "falla", "lento", "problem", "slow");
 *     e. weak request words ("necesito", "quería", "request", "I'd like");
 *     each in the subject, then in the text.
 * A strong phrase is one that rarely means anything else; a weak word often appears on the
 * other side too: "error" ("access to the error logs" is a request), "necesito" ("necesito
 * ayuda, no arranca" is an incident). So "Request for access to the error logs" is a request
 * (strong "access to" beats weak "error") and "Necesito ayuda: el portátil no arranca" an
 * incident (strong "no arranca" beats weak "necesito"). Breakage comes before asking at each
 * strength wherever it is written: the subject is the sender's summary, but "Sin acceso a las
 * unidades de red" over "se ha caído el servidor" reports a fault, and a broken thing is the
 * costlier miss. Within one kind the subject comes first, so the verdict quotes the summary.
 */
struct keyword {
	const char *lang; /* for the rule's name */
	int value;
	const char *label; /* for the rule's name */
	const char *re;
};

#define INC SPOC_KIND_INCIDENT
#define REQ SPOC_KIND_REQUEST

/* Accesses people ask for by name; "read", "write" and "admin" are its usual sorts. */
#define ACCESS_SORT "(read |write |read/write |read-write |edit |admin |full )?"

static const struct keyword kind_ask[] = {
    {"es", REQ, "solicito acceso",
     "\\b(solicit(o|amos|ar[ií]a|ar[ií]amos)|necesit(o|a|amos|an|ar[ií]a|ar[ií]amos)|pido|"
     "pedimos|quer[ií]a|quisiera|me gustar[ií]a)( tener)? (el |un |los )?(acceso|permisos?)\\b|"
     "\\bsolicitud(es)? de (acceso|permisos?)\\b|"
     "\\b(dar|dad|conceder|conceded|habilitar)(me|le|nos|les)? (el )?(acceso|permisos?)\\b"},
    {"en", REQ, "request access",
     "\\b(request(ing)?|need|needs|require|requires|would like|i[’']d like|want)"
     "( to have| to get)? " ACCESS_SORT "access\\b|"
     "\\baccess requests?\\b|"
     "\\b(grant|give|provide)( me| him| her| them| us| \\w+)? " ACCESS_SORT "access\\b|"
     "\\b(could|can|may) (i|we) (please )?(get|have) " ACCESS_SORT "access\\b"},
};

static const struct keyword kind_broken[] = {
    {"es", INC, "no funciona",
     "\\bno (le |me |nos |les )?funciona(n)?\\b|\\b(ha|han) dejado de funcionar|"
     "\\bdej[oó] de funcionar"},
    {"es", INC, "no puedo acceder",
     "\\bno (puedo|podemos|puede|pueden|consigo|conseguimos|consigue|consiguen|me deja|nos "
     "deja|le deja|se puede|se pueden) "
     "(acceder|entrar|conectar(me|nos|se)?|iniciar sesi[oó]n|loguear(me|se)?|imprimir|abrir|"
     "enviar|recibir|guardar|escanear|fichar|llamar)"},
    {"es", INC, "no arranca",
     "\\bno (me |le |nos |les |se )?(arranca|enciende|carga|responde|abre|imprime|conecta|lee|"
     "reconoce|detecta|sincroniza|guarda|env[ií]a|recibe)n?\\b|"
     "\\bno (me |le |nos |les )?va(n)?\\b(?! a\\b)|\\bno da (tono|se[ñn]al|imagen|l[ií]nea)\\b"},
    {"es", INC, "se ha roto",
     "\\bse (ha|han) (roto|estropeado|averiado|colgado|bloqueado|atascado)|"
     "\\best(á|a|án|an) (rot[oa]s?|estropead[oa]s?|averiad[oa]s?|colgad[oa]s?|atascad[oa]s?)"
     "\\b|\\baveriad[oa]s?\\b|\\batascad[oa]s?\\b"},
    {"es", INC, "caído", "\\bca[ií]d[oa]s?\\b|\\bse (ha|han) ca[ií]do\\b"},
    {"es", INC, "sin acceso",
     "\\b(acceso|permiso) denegado\\b|\\b(ya no tengo|he perdido el) acceso\\b|"
     "\\bsin (acceso|conexi[oó]n|internet|red|correo|wifi|l[ií]nea|servicio|cobertura|se[ñn]al|"
     "tono|luz)\\b"},
    {"es", INC, "pantalla azul",
     "\\bpantall(a|azo) azul\\b|\\bpantallazo\\b|\\bpantalla (en )?negr[oa]\\b"},
    {"en", INC, "not working",
     "\\b(not|isn[’']?t|aren[’']?t|stopped|no longer) working\\b|"
     "\\b(doesn[’']?t|does not|don[’']?t|do not|won[’']?t) work\\b"},
    {"en", INC, "can't log in",
     "\\b(cannot|can ?not|can[’']?t|unable to|could ?not|couldn[’']?t) "
     "(log ?in|log on|logon|sign ?in|access|connect|open|print|reach|send|receive|save|load|"
     "start|join|scan)\\b"},
    {"en", INC, "is down",
     "\\b(is|are|went|goes|has been|have been|was|were)( currently| completely| still)? down\\b"},
    {"en", INC, "broken", "\\bbroken\\b|\\bjam(med|s)\\b|\\bpaper jam\\b"},
    {"en", INC, "crash",
     "\\bcrash(es|ed|ing)?\\b|\\b(keeps )?freez(es|ing)\\b|\\bblue screen\\b|\\bbsod\\b"},
    {"en", INC, "outage", "\\boutages?\\b"},
    {"en", INC, "access denied",
     "\\b(permission|access) denied\\b|\\b(lost|no longer have) access\\b|"
     "\\blocked out\\b|\\b(account|user|login) (is |got |has been |was )?locked\\b"},
    {"en", INC, "not responding",
     "\\b(not|stopped) responding\\b|\\bunresponsive\\b|"
     "\\b(is|are) not (showing|displaying|loading|printing|opening|starting|syncing|"
     "connecting|updating|booting)\\b|"
     "\\b(isn[’']?t|aren[’']?t) (showing|displaying|loading|printing|opening|starting|syncing|"
     "connecting|updating|booting)\\b|"
     "\\b(won[’']?t|doesn[’']?t|does not|will not) (start|open|turn on|boot|load|print|connect|"
     "sync)\\b|\\bno (signal|dial tone|internet|network|connection|connectivity)\\b"},
};

static const struct keyword kind_asks_for[] = {
    {"es", REQ, "alta de usuario",
     "\\b(alta|baja) de (usuario|cuenta|correo|buz[oó]n)|\\bdar(le|me|nos|les)? de (alta|baja)\\b"},
    {"es", REQ, "solicito", "\\bsolicit(o|amos|ar[ií]a|ar[ií]amos)\\b"},
    {"es", REQ, "solicitud", "\\bsolicitud(es)?\\b"},
    {"es", REQ, "acceso a", "\\bacceso (a|al)\\b|\\bpermisos? (de|para|en|sobre)\\b"},
    {"es", REQ, "portátil nuevo",
     "\\bnuev[oa]s? (port[aá]til|ordenador|pc|monitor|pantalla|m[oó]vil|tel[eé]fono|teclado|"
     "rat[oó]n|auriculares|impresora|cuenta|usuario|licencia)|"
     "\\b(port[aá]til|ordenador|monitor|pantalla|m[oó]vil|tel[eé]fono|teclado|rat[oó]n|"
     "impresora)(es)? nuev[oa]s?\\b"},
    {"es", REQ, "restablecer contraseña",
     "\\b(restablecer|resetear|cambiar|cambio de|reseteo de|olvid[eé]) (la |mi )?contrase[ñn]a"},
    {"es", REQ, "podéis instalar",
     "\\b(pod[eé]is|podr[ií]ais|puedes|podr[ií]as|pueden|podr[ií]an) (por favor )?"
     "(instalar|crear|a[ñn]adir|dar|habilitar|configurar|dar de alta|ampliar|mover|trasladar|"
     "cambiar|decir|indicar|informar|enviar|mandar|preparar|activar|quitar|eliminar|borrar|"
     "desbloquear|pedir|comprar)"},
    {"en", REQ, "new laptop",
     "\\bnew (laptop|computer|pc|monitor|screen|phone|mobile|keyboard|mouse|headset|printer)s?"
     "\\b"},
    {"en", REQ, "new user",
     "\\bnew (user|starter|hire|joiner|employee|account|mailbox)s?\\b|\\bonboarding\\b"},
    {"en", REQ, "please install", "\\b(please|kindly|could you|can you|would you) install\\b"},
    {"en", REQ, "could you create",
     "\\b(could|can|would) you (please |also )?(create|add|give|set up|grant|provide|enable|"
     "order|increase|extend|change|move|share|send|unlock|reset|remove|delete|update|upgrade|"
     "install|tell|let me know)\\b"},
    {"en", REQ, "access to", "\\baccess (to|for)\\b"},
    {"en", REQ, "permission", "\\bpermissions?\\b"},
    {"en", REQ, "password reset", "\\bpassword reset\\b|\\breset (my |the |a )?password\\b"},
};

/* "por error", "in error": a disclaimer's "if you received this in error" reports nothing. */
static const struct keyword kind_weak_broken[] = {
    {"es/en", INC, "error", "(?<!\\bpor )(?<!\\bin )(?<!\\bby )\\berror(es|s)?\\b"},
    {"es", INC, "falla", "\\bfall(a|an|o|os|ó|aron|ando|ado)\\b"},
    {"es", INC, "problema",
     "(?<!\\bsin )(?<!\\bning[uú]n )(?<!\\bno hay )\\bproblemas?\\b|\\bincidencias?\\b|"
     "\\baver[ií]as?\\b"},
    {"es", INC, "lento", "\\blent(o|a|os|as|[ií]sim[oa]s?)\\b|\\blentitud\\b"},
    {"en", INC, "down", "\\bdown\\b"},
    {"en", INC, "fails", "\\bfail(s|ed|ing|ure|ures)?\\b"},
    {"en", INC, "problem", "(?<!\\bno )\\b(problem|issue|incident)s?\\b"},
    {"en", INC, "slow", "\\bslow(ly|ness)?\\b|\\bsluggish\\b|\\bflicker(s|ing)?\\b"},
};

static const struct keyword kind_weak_asks[] = {
    {"es", REQ, "necesito", "\\bnecesit(o|a|amos|an|ar[ií]a|ar[ií]amos)\\b"},
    {"es", REQ, "petición", "\\bpetici[oó]n(es)?\\b"},
    {"es", REQ, "instalar", "\\binstala(r|rme|rnos|rle|ci[oó]n)\\b"},
    {"es", REQ, "quería", "\\b(quer[ií]a|querr[ií]a|quisiera|me gustar[ií]a)\\b"},
    {"en", REQ, "request", "\\brequest(s|ed|ing)?\\b"},
    {"en", REQ, "need", "\\b(i|we|he|she|they) (would )?needs?\\b|\\bneeds? (a|an|to)\\b"},
    {"en", REQ, "could I get",
     "\\b(could|can|may) (i|we) (please )?(get|have)\\b|\\bi would like\\b|\\bi[’']d like\\b"},
};

/* A word, and who "nadie del ..." or "nobody in ..." names: "departamento de compras", "the
 * London office", so that the explanation quotes the group, not a preposition. */
#define WORD	 "[^\\s.,;:!?()\"]+"
#define GROUP_ES "(la |el |los |las )?" WORD "( de " WORD ")?"
#define GROUP_EN                                                                                   \
	"(the |our )?" WORD "( (office|floor|team|department|building|site|branch|room|store))?"

/*
 * Impact: how many people it stops, most first; when nothing says, the default (medium). A
 * greeting ("Hi everyone", "Hola a todos") is not an impact, so the phrases say who is
 * affected; where a place or a group is named it is a whole one ("toda la planta", "the whole
 * floor"), not where it is ("la tercera planta", "the marketing team"). A shared service down
 * ("se ha caído el servidor", "the VPN is down") stops everyone who uses it, unless it is the
 * sender's own ("mi correo", "my email").
 */
/* Numbers are written [0-9], not \\d: GLib matches with Unicode properties, where \\d is the
 * digits of every script, and a pattern that can start with a property cannot be searched for by
 * its possible first bytes, so PCRE2 tries it at every position of the text. With \\d these two
 * patterns cost as much as all the other built-in ones together. Digits of other scripts
 * ("２０ personas") no longer count as many people. */
static const struct keyword impact_keywords[] = {
    {"es", 1, "toda la planta",
     "\\btoda la (planta|oficina|empresa|compa[ñn][ií]a|organizaci[oó]n|sede|plantilla|"
     "secci[oó]n|delegaci[oó]n|sucursal|tienda|f[aá]brica|nave|escuela|red)\\b|"
     "\\btodo el (departamento|equipo|edificio|personal|almac[eé]n|centro|colegio|hospital|"
     "grupo|servicio)\\b|"
     "\\b(la planta|la oficina|el departamento|el edificio|la sede|la empresa|el equipo) "
     "enter[oa]\\b|"
     "\\btod[oa]s (los|las) (usuari[oa]s|emplead[oa]s|trabajador(es|as)|compa[ñn]er[oa]s|"
     "ordenadores|equipos|puestos|port[aá]tiles|pcs|tel[eé]fonos|impresoras)\\b|"
     "\\btod[oa]s (los|las) (de la|del|de los|de las)\\b|"
     "\\btod[oa]s (estamos|est[aá]n|tenemos|tienen)\\b|"
     "\\b(estamos|est[aá]n|nos hemos quedado|se han quedado) tod[oa]s\\b|"
     "\\bafecta(n)? a tod[oa]s?\\b|"
     "(?<!\\bhola a )(?<!\\bd[ií]as a )(?<!\\btardes a )\\btodo el mundo\\b|"
     "\\bnadie (puede|pueden|podemos|consigue|tiene|ha podido|es capaz)\\b|"
     "\\bnadie (en|de|del) " GROUP_ES "|"
     "\\bning[uú]n (usuario|compa[ñn]ero|empleado|ordenador|equipo|puesto|port[aá]til)\\b|"
     "\\bmuch[oa]s (usuari[oa]s|compa[ñn]er[oa]s|emplead[oa]s|personas|puestos|ordenadores)\\b|"
     "\\b([0-9]{2,}|diez|once|doce|trece|catorce|quince|veinte|treinta|cuarenta|cincuenta|cien|"
     "cientos de) (personas|usuari[oa]s|compa[ñn]er[oa]s|emplead[oa]s|puestos)\\b(?! nuev)"},
    {"en", 1, "the whole office",
     "\\ball (the |our )?(users|staff|employees|colleagues|computers|pcs|laptops|machines|"
     "printers|phones|workstations|sites|offices|branches)\\b|\\ball of us\\b|"
     "\\b(whole|entire)( \\w+)? (office|company|organi[sz]ation|building|site|floor|department|"
     "team|branch|store|warehouse|staff|school|plant)\\b|"
     "\\b(everyone|everybody) (is|can|has|here|was)\\b|"
     "\\b(everyone|everybody) (in|at|on) " GROUP_EN "|"
     "\\baffect(s|ing|ed)? (everyone|everybody|all|the whole|the entire|many)\\b|"
     "\\b(nobody|no one|no-one|none of us|none of the \\w+) (can|could|is able|was able|has)\\b|"
     "\\b(nobody|no one|no-one|none of us) (in|on|at|from) " GROUP_EN "|"
     "\\bmany (users|people|colleagues|of us|staff)\\b|"
     "\\b([0-9]{2,}|ten|twelve|fifteen|twenty|thirty|forty|fifty|a hundred|hundreds of) "
     "(people|users|colleagues|staff|employees|workstations)\\b|"
     "\\b(company|office|site|organi[sz]ation|building)[- ]wide\\b|"
     "\\bacross the (company|office|organi[sz]ation|building|floor|site|board)\\b"},
    {"es", 1, "se ha caído el servidor",
     "(?<!\\bmi )(?<!\\btu )\\b(servidor(es)?|red|wifi|internet|vpn|correo|sistema|erp|sap|"
     "intranet|centralita)\\b[^.!?\\n]{0,30}\\b(est[aá]n? ca[ií]d[oa]s?|se (ha|han) ca[ií]do|"
     "ca[ií]d[oa]s?)\\b|"
     "\\bse (ha|han) ca[ií]do (el|la|los|las) (servidor(es)?|red|wifi|internet|vpn|correo|"
     "sistema|erp|sap|intranet|centralita)\\b|"
     "\\bca[ií]da (general|del servicio|de (la )?red|del servidor|del sistema)\\b"},
    {"en", 1, "the server is down",
     "(?<!\\bmy )\\b(servers?|network|internet|wi-?fi|vpn|e-?mail|intranet|erp|system|website|"
     "phone system)\\b (is|are|has been|have been|went|was|were)( currently| completely| "
     "still)? down\\b|"
     "\\boutages?\\b|\\b(server|network|system|service) (failure|crash)\\b"},
    {"es", 2, "varios usuarios",
     "\\b(vari[oa]s|algun[oa]s|[2-9]|dos|tres|cuatro|cinco|seis|siete|ocho|nueve) "
     "(usuari[oa]s|compa[ñn]er[oa]s|personas|puestos|ordenadores|equipos|emplead[oa]s)\\b"
     "(?! nuev)"},
    {"en", 2, "several users",
     "\\b(several|multiple|some|a few|a couple of|other|[2-9]|two|three|four|five|six|seven|"
     "eight|nine) (users|people|colleagues|of us|staff|employees)\\b"},
    {"es", 3, "solo a mí",
     "(?<!\\bno soy )\\bs[oó]lo (a m[ií]|me (pasa|ocurre)( a m[ií])?|yo\\b|en mi (equipo|ordenador|"
     "port[aá]til|pc|puesto|m[oó]vil|tel[eé]fono|cuenta))|"
     "\\b(mis|los dem[aá]s|el resto de) compa[ñn]er[oa]s (s[ií]|no tienen (el )?problema|"
     "est[aá]n bien)\\b"},
    {"en", 3, "only me",
     "\\b(only|just) (me|myself)\\b|\\b(only|just) (happens|happening|affects) (to )?me\\b|"
     "\\bhappens only to me\\b|"
     "\\b(my colleagues|everyone else|everybody else|the others|other people)( \\w+)? (are|is) "
     "(fine|ok|okay|unaffected|not affected)\\b"},
};

/* Urgency: how soon it hurts. What the sender wrote comes before what the mail client flagged
 * (a default "high importance" is common), and "no es urgente" before "urgente". */
static const struct keyword urgency_keywords[] = {
    {"es", 3, "no corre prisa",
     "\\bno (es|corre|me corre|nos corre) (urgente|prisa|cr[ií]tico|prioritario)\\b|"
     "\\b(sin|no hay|ninguna) (prisa|urgencia)\\b|"
     "\\bcuando (pod[aá]is|puedas|pueda|puedan|teng[aá]is|tengas|tenga|os venga bien|"
     "te venga bien|sea posible)\\b|"
     "\\bbaja prioridad\\b|(?<!\\bno )\\bpuedo seguir trabajando\\b|\\bsigue funcionando\\b|"
     "\\bno me impide trabajar\\b"},
    {"en", 3, "no rush",
     "\\bnot (urgent|critical|a priority|blocking|time[- ]sensitive)\\b|"
     "\\b(isn[’']?t|it[’']?s not) (urgent|critical|blocking)\\b|"
     "\\bno (rush|hurry|urgency)\\b|"
     "\\bwhen(ever)? you (have|get) (time|a (minute|moment|chance|sec(ond)?))\\b|"
     "\\bwhenever (convenient|you can)\\b|\\bat your (convenience|leisure)\\b|"
     "\\blow priority\\b|\\bcan wait\\b|\\bi can still work\\b"},
    {"es", 1, "urgente",
     "\\b(es |muy )?urgente(s|mente)?\\b|\\burgent[ií]sim[oa]\\b|\\burgencia\\b|"
     "\\bcr[ií]tic[oa]s?\\b|\\binmediatamente\\b|\\blo antes posible\\b|\\bcuanto antes\\b|"
     "\\bemergencia\\b|\\bbloquead[oa]s?\\b|\\b(no|nadie) (puedo|podemos|puede|pueden) "
     "trabajar\\b|\\bsin poder trabajar\\b|\\b(estamos|est[aá]n?) (tod[oa]s )?parad[oa]s?\\b"},
    {"en", 1, "urgent",
     "\\burgent(ly)?\\b|\\bcritical\\b|\\basap\\b|\\bas soon as possible\\b|"
     "\\bimmediately\\b|\\bemergency\\b|\\bblock(ing|er)\\b|"
     "\\b(i[’']?m|i am|we[’']?re|we are|they[’']?re|they are|team is|everyone is)( \\w+)? "
     "blocked\\b|\\b(can[’']?t|cannot|can not|unable to|nobody can|no one can) work\\b|"
     "\\bstandstill\\b"},
};

struct header_rule {
	const char *name;
	const char *header;
	const char *re;
	int value;
};

static const struct header_rule urgency_headers[] = {
    {"header: Importance: high", "Importance", "^high\\b", 1},
    {"header: X-Priority: 1|2", "X-Priority", "^[12]\\b", 1},
    {"header: Priority: urgent", "Priority", "^urgent\\b", 1},
    {"header: X-MSMail-Priority: high", "X-MSMail-Priority", "^high\\b", 1},
    {"header: Importance: low", "Importance", "^low\\b", 3},
    {"header: X-Priority: 4|5", "X-Priority", "^[45]\\b", 3},
    {"header: Priority: non-urgent", "Priority", "^non-urgent\\b", 3},
    {"header: X-MSMail-Priority: low", "X-MSMail-Priority", "^low\\b", 3},
};

/* The kind's keyword lists, strongest evidence first (see the comment above). */
static const struct {
	const struct keyword *kw;
	size_t n;
} kind_tiers[] = {
    {kind_ask, G_N_ELEMENTS(kind_ask)},
    {kind_broken, G_N_ELEMENTS(kind_broken)},
    {kind_asks_for, G_N_ELEMENTS(kind_asks_for)},
    {kind_weak_broken, G_N_ELEMENTS(kind_weak_broken)},
    {kind_weak_asks, G_N_ELEMENTS(kind_weak_asks)},
};

/* A desk address form or a subject tag, and what it decides. */
struct fixed_word {
	const char *word;
	int value;
};

static const struct fixed_word kind_to[] = {
    {"incidents@", INC}, {"incidencias@", INC}, {"+incident", INC}, {"+incidencia", INC},
    {"requests@", REQ},	 {"solicitudes@", REQ}, {"+request", REQ},  {"+solicitud", REQ},
};

static const struct fixed_word kind_tags[] = {
    {"INCIDENT", INC},	{"INCIDENCIA", INC}, {"REQUEST", REQ},
    {"SOLICITUD", REQ}, {"PETICIÓN", REQ},   {"PETICION", REQ},
};

/* Adds one built-in rule; the tables above are known to be valid. */
static void add_fixed(struct rules *rules, enum rules_list list, const struct rules_spec *spec)
{
	struct errbuf err;

	struct rule *r;

	if (!rules_add(rules, list, spec, NULL, &err))
		g_error("built-in rule \"%s\": %s", spec->name, err.msg);
	r = g_ptr_array_index(rules->list[list], rules->list[list]->len - 1);
	r->builtin = TRUE;
}

static void add_keywords(struct rules *rules, enum rules_list list, const struct keyword *kw,
			 size_t n, unsigned in)
{
	static const char *const what[] = {"", "impact ", "urgency "};

	for (size_t i = 0; i < n; i++) {
		char *name;

		if (list == RULES_KIND)
			name = g_strdup_printf("keywords-%s: %s \"%s\" (%s)", kw[i].lang,
					       ticket_kind_name((enum spoc_kind)kw[i].value),
					       kw[i].label,
					       in == RULES_IN_SUBJECT ? "subject" : "text");
		else
			name = g_strdup_printf("keywords-%s: %s%d \"%s\"", kw[i].lang, what[list],
					       kw[i].value, kw[i].label);
		add_fixed(rules, list,
			  &(struct rules_spec){
			      .name = name, .pattern = kw[i].re, .in = in, .value = kw[i].value});
		g_free(name);
	}
}

void rules_add_builtin(struct rules *rules, enum rules_list list)
{
	switch (list) {
	case RULES_KIND:
		for (size_t i = 0; i < G_N_ELEMENTS(kind_to); i++) {
			const char *to[] = {kind_to[i].word, NULL};
			char *name = g_strdup_printf("to: %s", kind_to[i].word);

			add_fixed(rules, list,
				  &(struct rules_spec){
				      .name = name, .to = to, .value = kind_to[i].value});
			g_free(name);
		}
		for (size_t i = 0; i < G_N_ELEMENTS(kind_tags); i++) {
			const char *tag[] = {kind_tags[i].word, NULL};
			char *name = g_strdup_printf("subject tag: [%s]", kind_tags[i].word);

			add_fixed(rules, list,
				  &(struct rules_spec){.name = name,
						       .subject_tags = tag,
						       .value = kind_tags[i].value});
			g_free(name);
		}
		for (size_t i = 0; i < G_N_ELEMENTS(kind_tiers); i++) {
			add_keywords(rules, list, kind_tiers[i].kw, kind_tiers[i].n,
				     RULES_IN_SUBJECT);
			add_keywords(rules, list, kind_tiers[i].kw, kind_tiers[i].n, RULES_IN_TEXT);
		}
		break;
	case RULES_IMPACT:
		add_keywords(rules, list, impact_keywords, G_N_ELEMENTS(impact_keywords), 0);
		break;
	case RULES_URGENCY:
		add_keywords(rules, list, urgency_keywords, G_N_ELEMENTS(urgency_keywords), 0);
		for (size_t i = 0; i < G_N_ELEMENTS(urgency_headers); i++)
			add_fixed(rules, list,
				  &(struct rules_spec){.name = urgency_headers[i].name,
						       .header = urgency_headers[i].header,
						       .pattern = urgency_headers[i].re,
						       .value = urgency_headers[i].value});
		break;
	}
}
