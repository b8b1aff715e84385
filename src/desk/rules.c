/* The desk's rules: kind (incident or request), impact and urgency of one mail, and the priority
 * the matrix gives them. Each list is tried in order and the first rule whose conditions all hold
 * decides, so a verdict always names one rule and an administrator can predict it by reading the
 * list top to bottom; the explanation a person reads quotes the words of the mail that rule
 * matched. Regular expressions are compiled once, when the rules are built; judging a mail only
 * matches. The built-in set (rules_builtin.c) is the desk's judgement when the configuration has
 * none: it is ordered by how strong the evidence is (see kind_tiers there). */
#include "rules.h"

#include "rules_priv.h"

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

void rules_mark_builtin(struct rules *rules, enum rules_list list)
{
	struct rule *r = g_ptr_array_index(rules->list[list], rules->list[list]->len - 1);

	r->builtin = TRUE;
}
