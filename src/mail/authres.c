/* Reads RFC 8601 Authentication-Results values to say whether a From domain is proven (authres.h
 * says which header counts and what proves a domain). A value is cut into tokens first: words,
 * quoted strings (unescaped), '=' and ';', with comments (nested, with quoted-pairs) dropped, so a
 * ';' or '=' inside a comment or a quoted string cannot start a resinfo or a property. A resinfo
 * is then a run of key=value pairs, the first being method=result; the words before an '=' are
 * joined, so "header . d = example.org" (CFWS is allowed around the dot) reads as header.d. The
 * walk is one pass over at most AUTHRES_MAX_VALUE bytes per header. Pure: no I/O, only GLib. */
#include "authres.h"

#include <string.h>

/* bytes of a name copied into an explanation */
#define AUTHRES_SHOWN 80

enum authres_tok { TOK_WORD, TOK_QUOTED, TOK_EQ, TOK_SEMI };

struct authres_token {
	enum authres_tok type;
	char *text; /* words and quoted strings; NULL for '=' and ';' */
};

/* what one header says, as far as authres_from_proven() cares */
struct authres_verdict {
	gboolean proven;
	/* a dmarc=fail for the From domain, or a dkim=fail whose d aligns with it: a veto */
	gboolean failed;
	char fail_why[256];
	char why[256];
	/* first failing explanation of each method, kept until the end */
	char dkim_why[256];
	gboolean dkim_unaligned; /* dkim_why is a pass that did not align: the better reason */
	char dmarc_why[256];
};

static _Thread_local char authres_why[256];

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

/* The tokens of v, which is at most AUTHRES_MAX_VALUE bytes. An unterminated comment or quoted
 * string runs to the end. Caller frees with g_array_unref(). */
static GArray *tokenize(const char *v)
{
	GArray *toks = g_array_new(FALSE, FALSE, sizeof(struct authres_token));
	const char *p = v;

	g_array_set_clear_func(toks, token_clear);
	while (*p != '\0') {
		if (is_wsp(*p) || *p == ')') {
			p++;
		} else if (*p == '(') {
			unsigned depth = 0;

			do {
				if (*p == '\\' && p[1] != '\0')
					p++;
				else if (*p == '(')
					depth++;
				else if (*p == ')')
					depth--;
				p++;
			} while (*p != '\0' && depth > 0);
		} else if (*p == '"') {
			GString *s = g_string_new(NULL);

			for (p++; *p != '\0' && *p != '"'; p++) {
				if (*p == '\\' && p[1] != '\0')
					p++;
				g_string_append_c(s, *p);
			}
			if (*p == '"')
				p++;
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

/* TRUE when from (normalised) is d or a subdomain of d (relaxed alignment); d without a dot (a
 * top-level domain) never aligns */
static gboolean aligned(const char *d, const char *from)
{
	size_t nd = strlen(d), nf = strlen(from);

	if (nd == 0 || strchr(d, '.') == NULL)
		return FALSE;
	if (strcmp(d, from) == 0)
		return TRUE;
	return nf > nd && from[nf - nd - 1] == '.' && strcmp(from + nf - nd, d) == 0;
}

/* One resinfo: the pairs of tokens [from, to), read into verdict v. */
static void resinfo(GArray *toks, guint from, guint to, const char *from_domain, const char *id,
		    struct authres_verdict *v)
{
	GString *key = g_string_new(NULL);
	char *method = NULL, *result = NULL, *hd = NULL, *hi = NULL, *hfrom = NULL;
	gboolean want_value = FALSE, ambiguous = FALSE, malformed = FALSE;
	char a[AUTHRES_SHOWN + 1], b[AUTHRES_SHOWN + 1], c[AUTHRES_SHOWN + 1];

	for (guint i = from; i < to && !malformed; i++) {
		struct authres_token *t = &g_array_index(toks, struct authres_token, i);

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
		for (char *k = key->str; *k != '\0'; k++)
			*k = g_ascii_tolower(*k);
		char **slot = NULL;
		if (method == NULL) {
			char *slash = strchr(key->str, '/');

			if (slash != NULL)
				*slash = '\0';
			method = g_strdup(key->str);
			result = g_ascii_strdown(t->text, -1);
		} else if (strcmp(key->str, "header.d") == 0) {
			slot = &hd;
		} else if (strcmp(key->str, "header.i") == 0) {
			slot = &hi;
		} else if (strcmp(key->str, "header.from") == 0) {
			slot = &hfrom;
		}
		if (slot != NULL) {
			if (*slot != NULL && strcmp(*slot, t->text) != 0)
				ambiguous = TRUE;
			if (*slot == NULL)
				*slot = g_strdup(t->text);
		}
		g_string_truncate(key, 0);
	}
	if (malformed || want_value || method == NULL)
		goto out;

	if (strcmp(method, "dkim") == 0) {
		const char *d = hd;

		if (d == NULL && hi != NULL)
			d = strrchr(hi, '@') != NULL ? strrchr(hi, '@') + 1 : hi;
		if (strcmp(result, "fail") == 0 && !ambiguous && d != NULL && !v->failed) {
			char *dn = domain_norm(g_strdup(d));

			if (aligned(dn, from_domain)) {
				v->failed = TRUE;
				g_snprintf(v->fail_why, sizeof(v->fail_why),
					   "dkim=fail header.d=%s by %s", shown(dn, a, sizeof(a)),
					   shown(id, b, sizeof(b)));
			}
			g_free(dn);
		}
		if (strcmp(result, "pass") != 0 || ambiguous) {
			if (v->dkim_why[0] == '\0')
				g_snprintf(v->dkim_why, sizeof(v->dkim_why), "dkim=%s%s by %s",
					   shown(result, a, sizeof(a)),
					   ambiguous ? " with conflicting properties" : "",
					   shown(id, b, sizeof(b)));
		} else if (d == NULL) {
			if (v->dkim_why[0] == '\0')
				g_snprintf(v->dkim_why, sizeof(v->dkim_why),
					   "dkim=pass without header.d by %s",
					   shown(id, b, sizeof(b)));
		} else {
			char *dn = domain_norm(g_strdup(d));

			if (aligned(dn, from_domain)) {
				if (!v->proven)
					g_snprintf(
					    v->why, sizeof(v->why), "dkim=pass header.d=%s by %s",
					    shown(dn, a, sizeof(a)), shown(id, b, sizeof(b)));
				v->proven = TRUE;
			} else if (!v->dkim_unaligned) {
				v->dkim_unaligned = TRUE;
				g_snprintf(v->dkim_why, sizeof(v->dkim_why),
					   "dkim=pass header.d=%s not aligned with %s by %s",
					   shown(dn, a, sizeof(a)),
					   shown(from_domain, c, sizeof(c)),
					   shown(id, b, sizeof(b)));
			}
			g_free(dn);
		}
	} else if (strcmp(method, "dmarc") == 0) {
		char *fn = hfrom != NULL ? domain_norm(g_strdup(hfrom)) : NULL;

		/* DMARC judges the From domain itself: a fail about it (or one that names no
		 * header.from, which can only be about the From) is a veto */
		if (strcmp(result, "fail") == 0 && !ambiguous && !v->failed &&
		    (fn == NULL || strcmp(fn, from_domain) == 0)) {
			v->failed = TRUE;
			g_snprintf(v->fail_why, sizeof(v->fail_why),
				   "dmarc=fail header.from=%s by %s",
				   shown(from_domain, a, sizeof(a)), shown(id, b, sizeof(b)));
		}
		if (strcmp(result, "pass") == 0 && !ambiguous && fn != NULL &&
		    strcmp(fn, from_domain) == 0) {
			if (!v->proven)
				g_snprintf(v->why, sizeof(v->why),
					   "dmarc=pass header.from=%s by %s",
					   shown(fn, a, sizeof(a)), shown(id, b, sizeof(b)));
			v->proven = TRUE;
		} else if (v->dmarc_why[0] == '\0') {
			if (ambiguous)
				g_snprintf(v->dmarc_why, sizeof(v->dmarc_why),
					   "dmarc=%s with conflicting properties by %s",
					   shown(result, a, sizeof(a)), shown(id, b, sizeof(b)));
			else if (strcmp(result, "pass") == 0)
				g_snprintf(v->dmarc_why, sizeof(v->dmarc_why),
					   "dmarc=pass header.from=%s is not %s by %s",
					   fn != NULL ? shown(fn, a, sizeof(a)) : "(none)",
					   shown(from_domain, c, sizeof(c)),
					   shown(id, b, sizeof(b)));
			else
				g_snprintf(v->dmarc_why, sizeof(v->dmarc_why), "dmarc=%s by %s",
					   shown(result, a, sizeof(a)), shown(id, b, sizeof(b)));
		}
		g_free(fn);
	}
out:
	g_free(method);
	g_free(result);
	g_free(hd);
	g_free(hi);
	g_free(hfrom);
	g_string_free(key, TRUE);
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

/* The authserv-id of a tokenized value (lower case, caller frees), or NULL when it has none. */
static char *authserv_id(GArray *toks)
{
	struct authres_token *t;

	if (toks->len == 0)
		return NULL;
	t = &g_array_index(toks, struct authres_token, 0);
	if (t->type != TOK_WORD && t->type != TOK_QUOTED)
		return NULL;
	return g_ascii_strdown(t->text, -1);
}

enum authres_result authres_from_verdict(const char *const *values, const char *trusted_authserv_id,
					 const char *from_domain, const char **why_r)
{
	char a[AUTHRES_SHOWN + 1], b[AUTHRES_SHOWN + 1];
	enum authres_result verdict = AUTHRES_NONE;
	char *from = NULL;
	const char *id = trusted_authserv_id != NULL ? trusted_authserv_id : "";
	gboolean found = FALSE;

	if (id[0] == '\0') {
		g_strlcpy(authres_why, "no trusted authserv-id configured", sizeof(authres_why));
		goto out;
	}
	g_snprintf(authres_why, sizeof(authres_why), "no Authentication-Results from %s",
		   shown(id, a, sizeof(a)));
	if (from_domain == NULL || from_domain[0] == '\0') {
		g_strlcpy(authres_why, "no From domain", sizeof(authres_why));
		goto out;
	}
	from = domain_norm(g_strdup(from_domain));
	for (size_t i = 0; values != NULL && values[i] != NULL && !found; i++) {
		gboolean too_long = strnlen(values[i], AUTHRES_MAX_VALUE + 1) > AUTHRES_MAX_VALUE;
		/* an overlong value is only looked at for its authserv-id, within the limit */
		char *head = g_strndup(values[i], AUTHRES_MAX_VALUE);
		GArray *toks = tokenize(head);
		char *sid = authserv_id(toks);

		if (sid != NULL && g_ascii_strcasecmp(sid, id) == 0) {
			found = TRUE;
			if (too_long) {
				g_snprintf(authres_why, sizeof(authres_why),
					   "Authentication-Results from %s over %d bytes: ignored",
					   shown(id, a, sizeof(a)), AUTHRES_MAX_VALUE);
			} else if (has_encoded_word(head)) {
				g_snprintf(authres_why, sizeof(authres_why),
					   "Authentication-Results from %s holds an RFC 2047 "
					   "encoded-word: not trusted",
					   shown(id, a, sizeof(a)));
			} else {
				struct authres_verdict v = {0};
				guint start = 0;

				/* skip the authserv-id, the version and anything else up to the
				 * first ';' */
				while (start < toks->len &&
				       g_array_index(toks, struct authres_token, start).type !=
					   TOK_SEMI)
					start++;
				/* every resinfo: a fail anywhere vetoes a pass elsewhere */
				while (start < toks->len) {
					guint end = start + 1;

					while (
					    end < toks->len &&
					    g_array_index(toks, struct authres_token, end).type !=
						TOK_SEMI)
						end++;
					resinfo(toks, start + 1, end, from, id, &v);
					start = end;
				}
				verdict = v.failed   ? AUTHRES_FAIL
					  : v.proven ? AUTHRES_PASS
						     : AUTHRES_NONE;
				if (v.failed)
					g_strlcpy(authres_why, v.fail_why, sizeof(authres_why));
				else if (v.proven)
					g_strlcpy(authres_why, v.why, sizeof(authres_why));
				else if (v.dmarc_why[0] != '\0')
					g_strlcpy(authres_why, v.dmarc_why, sizeof(authres_why));
				else if (v.dkim_why[0] != '\0')
					g_strlcpy(authres_why, v.dkim_why, sizeof(authres_why));
				else
					g_snprintf(authres_why, sizeof(authres_why),
						   "no dkim or dmarc result by %s",
						   shown(id, b, sizeof(b)));
			}
		}
		g_free(sid);
		g_array_unref(toks);
		g_free(head);
	}
out:
	g_free(from);
	if (why_r != NULL)
		*why_r = authres_why;
	return verdict;
}

gboolean authres_from_proven(const char *const *values, const char *trusted_authserv_id,
			     const char *from_domain, const char **why_r)
{
	return authres_from_verdict(values, trusted_authserv_id, from_domain, why_r) ==
	       AUTHRES_PASS;
}
