/* Reads RFC 8601 Authentication-Results values into the sender verdict of authres.h (which says
 * which header counts and what proves a domain). A value is cut into tokens first: words, quoted
 * strings (unescaped), comments (nested, with quoted-pairs and quoted strings, kept for the DMARC
 * policy some producers write there), '=' and ';', so a ';' or '=' inside a comment or a quoted
 * string cannot start a resinfo or a property. A resinfo is then a run of key=value pairs, the
 * first being method=result; the words before an '=' are joined, so "header . d = example.org"
 * (CFWS is allowed around the dot) reads as header.d. The walk is one pass over at most
 * AUTHRES_MAX_VALUE bytes per header. Pure: no I/O, only GLib. */
#include "authres.h"

#include <string.h>

/* bytes of a name copied into an explanation */
#define AUTHRES_SHOWN 80

/* who writes Microsoft 365's header, in explanations */
#define AUTHRES_M365_NAME "Microsoft 365"

enum authres_tok { TOK_WORD, TOK_QUOTED, TOK_EQ, TOK_SEMI, TOK_COMMENT };

struct authres_token {
	enum authres_tok type;
	char *text; /* words, quoted strings and comments (without the outer parentheses) */
};

/* What one resinfo says, before it is weighed. Strings are owned. */
struct resinfo {
	char *method; /* lower case, without a version */
	char *result; /* lower case */
	char *header_d, *header_i, *header_from, *mailfrom;
	gboolean ambiguous; /* one of the four above given twice, differently */
	/* where producers write the DMARC policy */
	char *published_p, *published_sp, *policy_from, *policy_dmarc, *polrec_p, *action;
	GPtrArray *comments; /* borrowed from the tokens */
};

/* What the header that counts says so far, resinfo after resinfo. */
struct reading {
	const char *from; /* the From domain, normalised */
	const char *by;	  /* who wrote the header, for explanations */
	gboolean m365;
	enum authres_dmarc dmarc;
	enum authres_policy policy;
	gboolean dkim_pass, dkim_fail, spf_pass, spf_fail;
	/* the first DKIM or DMARC result that proves the From, and the domain it authenticates;
	 * an aligned SPF pass is named only without them: it proves the path, not the message */
	char proof_why[AUTHRES_WHY_SIZE];
	char proof_domain[AUTHRES_DOMAIN_SIZE];
	char spf_proof_why[AUTHRES_WHY_SIZE];
	char spf_proof_domain[AUTHRES_DOMAIN_SIZE];
	char dkim_fail_why[AUTHRES_WHY_SIZE]; /* the first aligned dkim=fail */
	/* the first explanation of each method that proves nothing, kept until the end */
	char dmarc_why[AUTHRES_WHY_SIZE];
	char dkim_why[AUTHRES_WHY_SIZE];
	gboolean dkim_unaligned; /* dkim_why is a pass that did not align: the better reason */
	char spf_why[AUTHRES_WHY_SIZE];
	int spf_why_rank; /* enum spf_why of spf_why */
};

static _Thread_local char authres_why[AUTHRES_WHY_SIZE];

static void token_clear(gpointer p)
{
	g_free(((struct authres_token *)p)->text);
}

static gboolean is_wsp(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static void add_token(GArray *toks, enum authres_tok type, char *text)
{
	struct authres_token t = {type, text};

	g_array_append_val(toks, t);
}

/* Copies the quoted string at *pp (its opening '"') into s, unescaped when unescape, verbatim
 * otherwise, and moves *pp past its closing quote (or to the end, unterminated). */
static void quoted(const char **pp, GString *s, gboolean unescape)
{
	const char *p = *pp;

	if (!unescape)
		g_string_append_c(s, '"');
	for (p++; *p != '\0' && *p != '"'; p++) {
		if (*p == '\\' && p[1] != '\0') {
			if (!unescape)
				g_string_append_c(s, *p);
			p++;
		}
		g_string_append_c(s, *p);
	}
	if (*p == '"') {
		if (!unescape)
			g_string_append_c(s, '"');
		p++;
	}
	*pp = p;
}

/* The tokens of v, which is at most AUTHRES_MAX_VALUE bytes. An unterminated comment or quoted
 * string runs to the end. A quoted string inside a comment is part of it, parentheses and all:
 * producers quote what they copy from the sender there (rspamd: "(mx: domain of
 * "a);dkim=pass(b"@evil.example designates ...)"), and reading its ')' as the comment's end would
 * turn the sender's text into syntax. Caller frees with g_array_unref(). */
static GArray *tokenize(const char *v)
{
	GArray *toks = g_array_new(FALSE, FALSE, sizeof(struct authres_token));
	const char *p = v;

	g_array_set_clear_func(toks, token_clear);
	while (*p != '\0') {
		if (is_wsp(*p) || *p == ')') {
			p++;
		} else if (*p == '(') {
			GString *s = g_string_new(NULL);
			unsigned depth = 1;

			for (p++; *p != '\0';) {
				if (*p == '"') {
					quoted(&p, s, FALSE);
					continue;
				}
				if (*p == '\\' && p[1] != '\0') {
					g_string_append_len(s, p, 2);
					p += 2;
					continue;
				}
				if (*p == '(')
					depth++;
				else if (*p == ')' && --depth == 0)
					break;
				g_string_append_c(s, *p++);
			}
			if (*p == ')')
				p++;
			add_token(toks, TOK_COMMENT, g_string_free(s, FALSE));
		} else if (*p == '"') {
			GString *s = g_string_new(NULL);

			quoted(&p, s, TRUE);
			add_token(toks, TOK_QUOTED, g_string_free(s, FALSE));
		} else if (*p == '=') {
			add_token(toks, TOK_EQ, NULL);
			p++;
		} else if (*p == ';') {
			add_token(toks, TOK_SEMI, NULL);
			p++;
		} else {
			const char *s = p;

			while (*p != '\0' && !is_wsp(*p) && strchr("()\";=", *p) == NULL)
				p++;
			add_token(toks, TOK_WORD, g_strndup(s, p - s));
		}
	}
	return toks;
}

static struct authres_token *tok(GArray *toks, guint i)
{
	return &g_array_index(toks, struct authres_token, i);
}

/* The index of the first token from i on that is no comment, or toks->len. */
static guint skip_comments(GArray *toks, guint i)
{
	while (i < toks->len && tok(toks, i)->type == TOK_COMMENT)
		i++;
	return i;
}

/* s lower-cased without a trailing dot, in place; returns s */
static char *domain_norm(char *s)
{
	size_t n = strlen(s);

	while (n > 0 && s[n - 1] == '.')
		s[--n] = '\0';
	for (char *p = s; *p != '\0'; p++)
		*p = g_ascii_tolower(*p);
	return s;
}

/* s fit for an explanation: printable ASCII, at most AUTHRES_SHOWN bytes, in buf */
static const char *shown(const char *s, char *buf, size_t size)
{
	size_t i = 0;

	for (; s[i] != '\0' && i < AUTHRES_SHOWN && i + 1 < size; i++)
		buf[i] = g_ascii_isprint(s[i]) ? s[i] : '?';
	buf[i] = '\0';
	return buf;
}

/* TRUE when from (normalised) is d or a subdomain of d (relaxed alignment without a public
 * suffix list: never the other way round, so a d under a public suffix aligns with nobody else's
 * domain); d without a dot (a top-level domain) never aligns */
static gboolean aligned(const char *d, const char *from)
{
	size_t nd = strlen(d), nf = strlen(from);

	if (nd == 0 || strchr(d, '.') == NULL)
		return FALSE;
	if (strcmp(d, from) == 0)
		return TRUE;
	return nf > nd && from[nf - nd - 1] == '.' && strcmp(from + nf - nd, d) == 0;
}

/* Copies a domain for the verdict when it fits, else leaves it empty. */
static void set_domain(char *dst, const char *domain)
{
	if (strlen(domain) < AUTHRES_DOMAIN_SIZE)
		g_strlcpy(dst, domain, AUTHRES_DOMAIN_SIZE);
}

static void resinfo_clear(struct resinfo *ri)
{
	g_free(ri->method);
	g_free(ri->result);
	g_free(ri->header_d);
	g_free(ri->header_i);
	g_free(ri->header_from);
	g_free(ri->mailfrom);
	g_free(ri->published_p);
	g_free(ri->published_sp);
	g_free(ri->policy_from);
	g_free(ri->policy_dmarc);
	g_free(ri->polrec_p);
	g_free(ri->action);
	g_ptr_array_free(ri->comments, TRUE);
}

/* Reads the pairs of tokens [from, to) into ri. FALSE when they are no resinfo (no
 * method=result, an '=' without a key or a value). ri is filled either way; clear it. */
static gboolean resinfo_parse(GArray *toks, guint from, guint to, gboolean m365, struct resinfo *ri)
{
	GString *key = g_string_new(NULL), *value = g_string_new(NULL);
	gboolean want_value = FALSE, malformed = FALSE;

	*ri = (struct resinfo){.comments = g_ptr_array_new()};
	for (guint i = from; i < to && !malformed; i++) {
		struct authres_token *t = tok(toks, i);
		char **slot = NULL;
		gboolean identity = FALSE;

		if (t->type == TOK_COMMENT) {
			g_ptr_array_add(ri->comments, t->text);
			continue;
		}
		if (t->type == TOK_EQ) {
			malformed = want_value || key->len == 0;
			want_value = TRUE;
			continue;
		}
		if (!want_value) {
			g_string_append(key, t->text);
			continue;
		}
		want_value = FALSE;
		/* an '=' right after a value is part of it: producers write some values
		 * unquoted (Gmail's "smtp.mailfrom=SRS0=x=y=example.org=ana@example.net", a
		 * padded "header.b=...==") */
		g_string_assign(value, t->text);
		while (i + 1 < to && tok(toks, i + 1)->type == TOK_EQ) {
			g_string_append_c(value, '=');
			i++;
			if (i + 1 < to && (tok(toks, i + 1)->type == TOK_WORD ||
					   tok(toks, i + 1)->type == TOK_QUOTED))
				g_string_append(value, tok(toks, ++i)->text);
		}
		for (char *k = key->str; *k != '\0'; k++)
			*k = g_ascii_tolower(*k);
		if (ri->method == NULL) {
			char *slash = strchr(key->str, '/');

			if (slash != NULL)
				*slash = '\0';
			ri->method = g_strdup(key->str);
			ri->result = g_ascii_strdown(value->str, -1);
		} else if (strcmp(key->str, "header.d") == 0) {
			slot = &ri->header_d, identity = TRUE;
		} else if (strcmp(key->str, "header.i") == 0) {
			slot = &ri->header_i, identity = TRUE;
		} else if (strcmp(key->str, "header.from") == 0) {
			slot = &ri->header_from, identity = TRUE;
		} else if (strcmp(key->str, "smtp.mailfrom") == 0) {
			slot = &ri->mailfrom, identity = TRUE;
		} else if (strcmp(key->str, "policy.published-domain-policy") == 0) {
			slot = &ri->published_p;
		} else if (strcmp(key->str, "policy.published-subdomain-policy") == 0) {
			slot = &ri->published_sp;
		} else if (strcmp(key->str, "policy.policy-from") == 0) {
			slot = &ri->policy_from;
		} else if (strcmp(key->str, "policy.dmarc") == 0) {
			slot = &ri->policy_dmarc;
		} else if (strcmp(key->str, "polrec.p") == 0) {
			slot = &ri->polrec_p;
		} else if (m365 && strcmp(key->str, "action") == 0) {
			slot = &ri->action;
		}
		if (slot != NULL) {
			if (identity && *slot != NULL && strcmp(*slot, value->str) != 0)
				ri->ambiguous = TRUE;
			if (*slot == NULL)
				*slot = g_strdup(value->str);
		}
		g_string_truncate(key, 0);
	}
	g_string_free(key, TRUE);
	g_string_free(value, TRUE);
	return !malformed && !want_value && ri->method != NULL;
}

static enum authres_policy policy_word(const char *s)
{
	if (s == NULL)
		return AUTHRES_POLICY_UNKNOWN;
	if (g_ascii_strcasecmp(s, "none") == 0)
		return AUTHRES_POLICY_NONE;
	if (g_ascii_strcasecmp(s, "quarantine") == 0)
		return AUTHRES_POLICY_QUARANTINE;
	if (g_ascii_strcasecmp(s, "reject") == 0)
		return AUTHRES_POLICY_REJECT;
	return AUTHRES_POLICY_UNKNOWN;
}

/* The policy a comment reports: "p=reject dis=none" (OpenDMARC, Gmail: P=REJECT),
 * "p=none,sp=none,d=none" (authentication_milter), "policy=reject" (rspamd). */
static enum authres_policy comment_policy(const char *comment)
{
	enum authres_policy p = AUTHRES_POLICY_UNKNOWN;
	char **words = g_strsplit_set(comment, " \t\r\n,;()", -1);

	for (char **w = words; *w != NULL && p == AUTHRES_POLICY_UNKNOWN; w++) {
		char *eq = strchr(*w, '=');

		if (eq == NULL)
			continue;
		*eq = '\0';
		if (g_ascii_strcasecmp(*w, "p") == 0 || g_ascii_strcasecmp(*w, "policy") == 0)
			p = policy_word(eq + 1);
	}
	g_strfreev(words);
	return p;
}

/* Microsoft 365's action= of a dmarc result: what Exchange Online did about it, from which the
 * policy follows (oreject: p=reject overridden to junk; pct.*: p=* not applied this time). */
static enum authres_policy action_policy(const char *action, enum authres_dmarc dmarc)
{
	static const char *const rejects[] = {"reject", "oreject", "o.reject", "pct.reject", NULL};
	static const char *const quarantines[] = {"quarantine", "oquarantine", "o.quarantine",
						  "pct.quarantine", NULL};

	if (action == NULL)
		return AUTHRES_POLICY_UNKNOWN;
	for (size_t i = 0; rejects[i] != NULL; i++)
		if (g_ascii_strcasecmp(action, rejects[i]) == 0)
			return AUTHRES_POLICY_REJECT;
	for (size_t i = 0; quarantines[i] != NULL; i++)
		if (g_ascii_strcasecmp(action, quarantines[i]) == 0)
			return AUTHRES_POLICY_QUARANTINE;
	/* on a pass, "none" says nothing of the policy; on a fail it is one */
	if (g_ascii_strcasecmp(action, "none") == 0 && dmarc == AUTHRES_DMARC_FAIL)
		return AUTHRES_POLICY_NONE;
	return AUTHRES_POLICY_UNKNOWN;
}

/* The policy a dmarc resinfo reports, from the most structured place a producer writes it. */
static enum authres_policy resinfo_policy(const struct resinfo *ri, enum authres_dmarc dmarc)
{
	enum authres_policy p = AUTHRES_POLICY_UNKNOWN;

	if (ri->policy_from != NULL && g_ascii_strcasecmp(ri->policy_from, "sp") == 0)
		p = policy_word(ri->published_sp);
	if (p == AUTHRES_POLICY_UNKNOWN)
		p = policy_word(ri->published_p);
	if (p == AUTHRES_POLICY_UNKNOWN)
		p = policy_word(ri->policy_dmarc);
	if (p == AUTHRES_POLICY_UNKNOWN)
		p = policy_word(ri->polrec_p);
	for (guint i = 0; i < ri->comments->len && p == AUTHRES_POLICY_UNKNOWN; i++)
		p = comment_policy(g_ptr_array_index(ri->comments, i));
	if (p == AUTHRES_POLICY_UNKNOWN)
		p = action_policy(ri->action, dmarc);
	return p;
}

/* a fail outweighs a pass, a pass an error, an error "none", "none" nothing */
static int dmarc_rank(enum authres_dmarc d)
{
	switch (d) {
	case AUTHRES_DMARC_FAIL:
		return 5;
	case AUTHRES_DMARC_PASS:
		return 4;
	case AUTHRES_DMARC_PERMERROR:
		return 3;
	case AUTHRES_DMARC_TEMPERROR:
		return 2;
	case AUTHRES_DMARC_NONE:
		return 1;
	case AUTHRES_DMARC_ABSENT:
		break;
	}
	return 0;
}

static enum authres_dmarc dmarc_word(const char *result, const char *m365_action)
{
	static const struct {
		const char *word;
		enum authres_dmarc dmarc;
	} words[] = {
	    {"pass", AUTHRES_DMARC_PASS},
	    {"fail", AUTHRES_DMARC_FAIL},
	    {"none", AUTHRES_DMARC_NONE},
	    /* Microsoft 365: no DMARC record, but one would pass; alignment is read apart */
	    {"bestguesspass", AUTHRES_DMARC_NONE},
	    {"temperror", AUTHRES_DMARC_TEMPERROR},
	    {"permerror", AUTHRES_DMARC_PERMERROR},
	};
	enum authres_dmarc d = AUTHRES_DMARC_ABSENT;

	for (size_t i = 0; i < G_N_ELEMENTS(words); i++)
		if (strcmp(result, words[i].word) == 0)
			d = words[i].dmarc;
	/* Microsoft 365 reports an error in action= beside "none" */
	if (m365_action != NULL && (d == AUTHRES_DMARC_NONE || d == AUTHRES_DMARC_ABSENT)) {
		if (g_ascii_strcasecmp(m365_action, "temperror") == 0)
			d = AUTHRES_DMARC_TEMPERROR;
		else if (g_ascii_strcasecmp(m365_action, "permerror") == 0)
			d = AUTHRES_DMARC_PERMERROR;
	}
	return d;
}

static void read_dmarc(const struct resinfo *ri, struct reading *r)
{
	char a[AUTHRES_SHOWN + 1], b[AUTHRES_SHOWN + 1], c[AUTHRES_SHOWN + 1];
	char *fn = ri->header_from != NULL ? domain_norm(g_strdup(ri->header_from)) : NULL;
	enum authres_dmarc d = dmarc_word(ri->result, ri->action);
	/* DMARC judges the From domain itself: a result about it, or one that names no
	 * header.from, which can only be about the From; a pass must name it */
	gboolean about_from = !ri->ambiguous && d != AUTHRES_DMARC_ABSENT &&
			      (fn != NULL ? strcmp(fn, r->from) == 0 : d != AUTHRES_DMARC_PASS);

	if (about_from) {
		if (dmarc_rank(d) > dmarc_rank(r->dmarc))
			r->dmarc = d;
		if (r->policy == AUTHRES_POLICY_UNKNOWN)
			r->policy = resinfo_policy(ri, d);
		if (d == AUTHRES_DMARC_PASS && r->proof_why[0] == '\0') {
			g_snprintf(r->proof_why, sizeof(r->proof_why),
				   "dmarc=pass header.from=%s by %s", shown(fn, a, sizeof(a)),
				   shown(r->by, b, sizeof(b)));
			set_domain(r->proof_domain, fn);
		}
	}
	if (r->dmarc_why[0] != '\0' || (about_from && d == AUTHRES_DMARC_PASS)) {
		/* already explained, or proving */
	} else if (ri->ambiguous) {
		g_snprintf(r->dmarc_why, sizeof(r->dmarc_why),
			   "dmarc=%s with conflicting properties by %s",
			   shown(ri->result, a, sizeof(a)), shown(r->by, b, sizeof(b)));
	} else if (!about_from && (d == AUTHRES_DMARC_PASS || d == AUTHRES_DMARC_FAIL)) {
		char e[AUTHRES_SHOWN + 1];

		g_snprintf(r->dmarc_why, sizeof(r->dmarc_why),
			   "dmarc=%s header.from=%s is not %s by %s",
			   shown(ri->result, a, sizeof(a)),
			   fn != NULL ? shown(fn, e, sizeof(e)) : "(none)",
			   shown(r->from, c, sizeof(c)), shown(r->by, b, sizeof(b)));
	} else if (d != AUTHRES_DMARC_FAIL) {
		g_snprintf(r->dmarc_why, sizeof(r->dmarc_why), "dmarc=%s by %s",
			   shown(ri->result, a, sizeof(a)), shown(r->by, b, sizeof(b)));
	}
	g_free(fn);
}

static void read_dkim(const struct resinfo *ri, struct reading *r)
{
	char a[AUTHRES_SHOWN + 1], b[AUTHRES_SHOWN + 1], c[AUTHRES_SHOWN + 1];
	gboolean pass = strcmp(ri->result, "pass") == 0, fail = strcmp(ri->result, "fail") == 0;
	const char *d = ri->header_d;
	char *dn;

	if (d == NULL && ri->header_i != NULL)
		d = strrchr(ri->header_i, '@') != NULL ? strrchr(ri->header_i, '@') + 1
						       : ri->header_i;
	if (ri->ambiguous || d == NULL || !(pass || fail)) {
		if (r->dkim_why[0] != '\0')
			return;
		if (pass && !ri->ambiguous)
			g_snprintf(r->dkim_why, sizeof(r->dkim_why),
				   "dkim=pass without header.d by %s", shown(r->by, b, sizeof(b)));
		else
			g_snprintf(r->dkim_why, sizeof(r->dkim_why), "dkim=%s%s by %s",
				   shown(ri->result, a, sizeof(a)),
				   ri->ambiguous ? " with conflicting properties" : "",
				   shown(r->by, b, sizeof(b)));
		return;
	}
	dn = domain_norm(g_strdup(d));
	if (aligned(dn, r->from) && pass) {
		r->dkim_pass = TRUE;
		if (r->proof_why[0] == '\0') {
			g_snprintf(r->proof_why, sizeof(r->proof_why),
				   "dkim=pass header.d=%s by %s", shown(dn, a, sizeof(a)),
				   shown(r->by, b, sizeof(b)));
			set_domain(r->proof_domain, dn);
		}
	} else if (aligned(dn, r->from)) {
		if (!r->dkim_fail)
			g_snprintf(r->dkim_fail_why, sizeof(r->dkim_fail_why),
				   "dkim=fail header.d=%s by %s", shown(dn, a, sizeof(a)),
				   shown(r->by, b, sizeof(b)));
		r->dkim_fail = TRUE;
	} else if (pass && !r->dkim_unaligned) {
		r->dkim_unaligned = TRUE;
		g_snprintf(r->dkim_why, sizeof(r->dkim_why),
			   "dkim=pass header.d=%s not aligned with %s by %s",
			   shown(dn, a, sizeof(a)), shown(r->from, c, sizeof(c)),
			   shown(r->by, b, sizeof(b)));
	} else if (r->dkim_why[0] == '\0') {
		g_snprintf(r->dkim_why, sizeof(r->dkim_why), "dkim=%s by %s",
			   shown(ri->result, a, sizeof(a)), shown(r->by, b, sizeof(b)));
	}
	g_free(dn);
}

/* The domain of an smtp.mailfrom value: an address ("<ana@example.org>" too) or a domain; NULL
 * for the null sender. Caller frees. */
static char *mailfrom_domain(const char *v)
{
	const char *at = strrchr(v, '@');
	char *d = g_strdup(at != NULL ? at + 1 : v);

	if (at == NULL && d[0] == '<')
		memmove(d, d + 1, strlen(d));
	if (d[0] != '\0' && d[strlen(d) - 1] == '>')
		d[strlen(d) - 1] = '\0';
	if (d[0] == '\0') {
		g_free(d);
		return NULL;
	}
	return domain_norm(d);
}

/* How telling an SPF explanation is: an aligned fail, then a pass for an unaligned domain,
 * then anything else. */
enum spf_why { SPF_WHY_NONE, SPF_WHY_OTHER, SPF_WHY_UNALIGNED, SPF_WHY_FAIL };

static void read_spf(const struct resinfo *ri, struct reading *r)
{
	char a[AUTHRES_SHOWN + 1], b[AUTHRES_SHOWN + 1], c[AUTHRES_SHOWN + 1];
	gboolean pass = strcmp(ri->result, "pass") == 0, fail = strcmp(ri->result, "fail") == 0;
	char *dn = ri->mailfrom != NULL && !ri->ambiguous ? mailfrom_domain(ri->mailfrom) : NULL;
	gboolean is_aligned = dn != NULL && aligned(dn, r->from);
	enum spf_why rank = is_aligned && fail	 ? SPF_WHY_FAIL
			    : dn != NULL && pass ? SPF_WHY_UNALIGNED
						 : SPF_WHY_OTHER;

	if (is_aligned && pass) {
		r->spf_pass = TRUE;
		if (r->spf_proof_why[0] == '\0') {
			g_snprintf(r->spf_proof_why, sizeof(r->spf_proof_why),
				   "spf=pass smtp.mailfrom=%s by %s", shown(dn, a, sizeof(a)),
				   shown(r->by, b, sizeof(b)));
			set_domain(r->spf_proof_domain, dn);
		}
		g_free(dn);
		return;
	}
	if (is_aligned && fail)
		r->spf_fail = TRUE;
	if (rank > (enum spf_why)r->spf_why_rank) {
		r->spf_why_rank = rank;
		if (rank == SPF_WHY_FAIL)
			g_snprintf(r->spf_why, sizeof(r->spf_why),
				   "spf=fail smtp.mailfrom=%s by %s", shown(dn, a, sizeof(a)),
				   shown(r->by, b, sizeof(b)));
		else if (rank == SPF_WHY_UNALIGNED)
			g_snprintf(r->spf_why, sizeof(r->spf_why),
				   "spf=pass smtp.mailfrom=%s not aligned with %s by %s",
				   shown(dn, a, sizeof(a)), shown(r->from, c, sizeof(c)),
				   shown(r->by, b, sizeof(b)));
		else if (ri->ambiguous)
			g_snprintf(r->spf_why, sizeof(r->spf_why),
				   "spf=%s with conflicting properties by %s",
				   shown(ri->result, a, sizeof(a)), shown(r->by, b, sizeof(b)));
		else if (pass)
			g_snprintf(r->spf_why, sizeof(r->spf_why),
				   "spf=pass without smtp.mailfrom by %s",
				   shown(r->by, b, sizeof(b)));
		else
			g_snprintf(r->spf_why, sizeof(r->spf_why), "spf=%s by %s",
				   shown(ri->result, a, sizeof(a)), shown(r->by, b, sizeof(b)));
	}
	g_free(dn);
}

/* One resinfo, the tokens [from, to), read into r. */
static void resinfo(GArray *toks, guint from, guint to, struct reading *r)
{
	struct resinfo ri;

	if (resinfo_parse(toks, from, to, r->m365, &ri)) {
		if (strcmp(ri.method, "dkim") == 0)
			read_dkim(&ri, r);
		else if (strcmp(ri.method, "dmarc") == 0)
			read_dmarc(&ri, r);
		else if (strcmp(ri.method, "spf") == 0)
			read_spf(&ri, r);
	}
	resinfo_clear(&ri);
}

/* TRUE when v holds something shaped like an RFC 2047 encoded-word ("=?cs?X?text?="). No
 * producer writes one into Authentication-Results of its own; one there was copied from the
 * sender (an envelope address, a HELO name), and a reader that decoded it could be fooled, so
 * such a header proves nothing whoever reads it. */
static gboolean has_encoded_word(const char *v)
{
	/* the last "?=" found once: an opening followed by it anywhere is enough, and looking
	 * for it again after every "=?" would make a value of many openings quadratic */
	const char *last = g_strrstr(v, "?="), *p = v;

	while (last != NULL && (p = strstr(p, "=?")) != NULL && p < last) {
		const char *q1 = strchr(p + 2, '?');

		if (q1 != NULL && q1[1] != '\0' && q1[2] == '?' && q1 + 3 <= last)
			return TRUE;
		p += 2;
	}
	return FALSE;
}

/* TRUE when the tokenized value is the border's header: its authserv-id is the trusted one
 * (RFC 8601), or it has none at all, its first word being a method followed by '=' (Microsoft
 * 365). */
static gboolean is_borders(GArray *toks, const struct authres_border *border)
{
	guint first = skip_comments(toks, 0), second;
	struct authres_token *t;

	if (first >= toks->len)
		return FALSE;
	t = tok(toks, first);
	if (t->type != TOK_WORD && t->type != TOK_QUOTED)
		return FALSE;
	second = skip_comments(toks, first + 1);
	if (second < toks->len && tok(toks, second)->type == TOK_EQ)
		return border->dialect == AUTHRES_MICROSOFT365 && t->type == TOK_WORD;
	return border->dialect == AUTHRES_RFC8601 &&
	       g_ascii_strcasecmp(t->text, border->authserv_id) == 0;
}

/* The verdict of the border's header, head (at most AUTHRES_MAX_VALUE bytes, tokenized). */
static void read_header(const char *head, GArray *toks, const char *from, const char *by,
			gboolean m365, struct authres_verdict *v)
{
	char a[AUTHRES_SHOWN + 1];
	struct reading r = {.from = from, .by = by, .m365 = m365};
	/* the results start after the authserv-id and version, at the first ';', or right
	 * away where there is no authserv-id */
	gint start = -1;

	if (has_encoded_word(head)) {
		g_snprintf(v->why, sizeof(v->why),
			   "Authentication-Results from %s holds an RFC 2047 encoded-word: not "
			   "trusted",
			   shown(by, a, sizeof(a)));
		return;
	}
	if (!m365) {
		start = 0;
		while ((guint)start < toks->len && tok(toks, start)->type != TOK_SEMI)
			start++;
	}
	/* every resinfo: a fail anywhere vetoes a pass elsewhere */
	while (start < (gint)toks->len) {
		guint end = start + 1;

		while (end < toks->len && tok(toks, end)->type != TOK_SEMI)
			end++;
		resinfo(toks, start + 1, end, &r);
		start = end;
	}

	v->dmarc = r.dmarc;
	v->policy = r.policy;
	v->dkim_pass = r.dkim_pass;
	v->dkim_fail = r.dkim_fail;
	v->spf_pass = r.spf_pass;
	v->spf_fail = r.spf_fail;
	if (r.dmarc == AUTHRES_DMARC_FAIL || r.dkim_fail) {
		v->result = AUTHRES_FAIL;
		set_domain(v->domain, from);
	} else if (r.proof_why[0] != '\0') {
		v->result = AUTHRES_PASS;
		g_strlcpy(v->domain, r.proof_domain, sizeof(v->domain));
	} else if (r.spf_proof_why[0] != '\0') {
		v->result = AUTHRES_PASS;
		g_strlcpy(v->domain, r.spf_proof_domain, sizeof(v->domain));
		g_strlcpy(r.proof_why, r.spf_proof_why, sizeof(r.proof_why));
	}

	/* a DMARC fail first: it is the domain's own verdict, and names its policy */
	if (r.dmarc == AUTHRES_DMARC_FAIL) {
		char b[AUTHRES_SHOWN + 1];

		g_snprintf(v->why, sizeof(v->why), "dmarc=fail%s%s%s header.from=%s by %s",
			   r.policy != AUTHRES_POLICY_UNKNOWN ? " (p=" : "",
			   authres_policy_name(r.policy),
			   r.policy != AUTHRES_POLICY_UNKNOWN ? ")" : "", shown(from, a, sizeof(a)),
			   shown(by, b, sizeof(b)));
	} else if (r.dkim_fail) {
		g_strlcpy(v->why, r.dkim_fail_why, sizeof(v->why));
	} else if (v->result == AUTHRES_PASS) {
		g_strlcpy(v->why, r.proof_why, sizeof(v->why));
	} else if (r.dmarc_why[0] != '\0') {
		g_strlcpy(v->why, r.dmarc_why, sizeof(v->why));
	} else if (r.spf_fail) {
		g_strlcpy(v->why, r.spf_why, sizeof(v->why));
	} else if (r.dkim_why[0] != '\0') {
		g_strlcpy(v->why, r.dkim_why, sizeof(v->why));
	} else if (r.spf_why[0] != '\0') {
		g_strlcpy(v->why, r.spf_why, sizeof(v->why));
	} else {
		g_snprintf(v->why, sizeof(v->why), "no dkim, dmarc or spf result by %s",
			   shown(by, a, sizeof(a)));
	}
}

void authres_read(const char *const *values, const struct authres_border *border,
		  const char *from_domain, struct authres_verdict *v_r)
{
	char a[AUTHRES_SHOWN + 1];
	gboolean m365 = border->dialect == AUTHRES_MICROSOFT365;
	const char *by = m365 ? AUTHRES_M365_NAME : border->authserv_id;
	char *from;

	*v_r = (struct authres_verdict){0};
	if (!m365 && (by == NULL || by[0] == '\0')) {
		g_strlcpy(v_r->why, "no trusted authserv-id configured", sizeof(v_r->why));
		return;
	}
	if (from_domain == NULL || from_domain[0] == '\0') {
		g_strlcpy(v_r->why, "no From domain", sizeof(v_r->why));
		return;
	}
	g_snprintf(v_r->why, sizeof(v_r->why), "no Authentication-Results from %s",
		   shown(by, a, sizeof(a)));
	from = domain_norm(g_strdup(from_domain));
	for (size_t i = 0; values != NULL && values[i] != NULL && !v_r->found; i++) {
		gboolean too_long = strnlen(values[i], AUTHRES_MAX_VALUE + 1) > AUTHRES_MAX_VALUE;
		/* an overlong value is only looked at for its authserv-id, within the limit */
		char *head = g_strndup(values[i], AUTHRES_MAX_VALUE);
		GArray *toks = tokenize(head);

		if (is_borders(toks, border)) {
			v_r->found = TRUE;
			if (too_long)
				g_snprintf(v_r->why, sizeof(v_r->why),
					   "Authentication-Results from %s over %d bytes: ignored",
					   shown(by, a, sizeof(a)), AUTHRES_MAX_VALUE);
			else
				read_header(head, toks, from, by, m365, v_r);
		}
		g_array_unref(toks);
		g_free(head);
	}
	g_free(from);
}

enum authres_result authres_from_verdict(const char *const *values, const char *trusted_authserv_id,
					 const char *from_domain, const char **why_r)
{
	const struct authres_border border = {AUTHRES_RFC8601, trusted_authserv_id};
	struct authres_verdict v;

	authres_read(values, &border, from_domain, &v);
	g_strlcpy(authres_why, v.why, sizeof(authres_why));
	if (why_r != NULL)
		*why_r = authres_why;
	return v.result;
}

gboolean authres_from_proven(const char *const *values, const char *trusted_authserv_id,
			     const char *from_domain, const char **why_r)
{
	return authres_from_verdict(values, trusted_authserv_id, from_domain, why_r) ==
	       AUTHRES_PASS;
}

const char *authres_dmarc_name(enum authres_dmarc dmarc)
{
	switch (dmarc) {
	case AUTHRES_DMARC_NONE:
		return "none";
	case AUTHRES_DMARC_PASS:
		return "pass";
	case AUTHRES_DMARC_FAIL:
		return "fail";
	case AUTHRES_DMARC_TEMPERROR:
		return "temperror";
	case AUTHRES_DMARC_PERMERROR:
		return "permerror";
	case AUTHRES_DMARC_ABSENT:
		break;
	}
	return "";
}

const char *authres_policy_name(enum authres_policy policy)
{
	switch (policy) {
	case AUTHRES_POLICY_NONE:
		return "none";
	case AUTHRES_POLICY_QUARANTINE:
		return "quarantine";
	case AUTHRES_POLICY_REJECT:
		return "reject";
	case AUTHRES_POLICY_UNKNOWN:
		break;
	}
	return "";
}
