/* The machine-readable side of bounces (dsn.h): header blocks as MTAs return them, RFC 3464
 * groups of fields, and the addresses, Message-IDs and status codes in them. Input is whatever a
 * stranger's MTA sent: every loop is bounded by the input or DSN_SCAN_MAX, and every string handed
 * out is valid UTF-8. */
#include "dsn.h"

#include "bounce.h"
#include "text.h"

#include <gmime/gmime.h>
#include <string.h>

/* RFC 3463 enhanced status codes, not the tail of an IP address ("200.4.79.181"). */
static const char status_re[] =
    "(?<![0-9.])([245])\\.([0-9]{1,3})\\.([0-9]{1,3})(?![0-9]|\\.[0-9])";

char *dsn_status_find(const char *s)
{
	static GRegex *re;
	static gsize once;
	GMatchInfo *mi = NULL;
	char *code = NULL;

	if (g_once_init_enter(&once)) {
		re = g_regex_new(status_re, G_REGEX_CASELESS | G_REGEX_OPTIMIZE, 0, NULL);
		g_once_init_leave(&once, 1);
	}
	if (s != NULL && re != NULL && g_regex_match(re, s, 0, &mi))
		code = g_match_info_fetch(mi, 0);
	g_match_info_free(mi);
	return code;
}

/* id (taken, may be NULL) when it is one spocd keeps: printable, no spaces, at most
 * MIME_MAX_ID_LEN bytes, valid UTF-8, and with an '@' when need_at; else NULL. */
static char *msgid_check(char *id, gboolean need_at)
{
	size_t len = id != NULL ? strlen(id) : 0;
	gboolean ok = len > 0 && len <= MIME_MAX_ID_LEN && g_utf8_validate(id, (gssize)len, NULL) &&
		      (!need_at || strchr(id, '@') != NULL);

	for (const char *p = id; ok && *p != '\0'; p++)
		ok = (unsigned char)*p > ' ' && *p != 0x7f && *p != '<' && *p != '>';
	if (!ok)
		g_free(id);
	return ok ? id : NULL;
}

char *dsn_msgid_clean(const char *s, size_t len, gboolean need_at)
{
	char *copy = g_strndup(s, len);
	const char *lt = strchr(copy, '<');
	char *id = msgid_check(g_mime_utils_decode_message_id(copy), need_at);

	if (id == NULL && lt != NULL)
		id = msgid_check(g_mime_utils_decode_message_id(lt), need_at);
	g_free(copy);
	return id;
}

/* Not internet_address_list_parse(): GMime 3.2.13 (and upstream since) refuses a local part with
 * two dots in a row or a dot before the '@' ("taro..yamada.@docomo.ne.jp", addresses Japanese
 * mobile carriers gave out for years, which their bounces name), even in loose mode, and reads
 * "a@b@c.example" as "a@b". A bounce must name the address its MTA wrote. */
char *dsn_addr_clean(const char *s, size_t len, gboolean field)
{
	const char *end = s + len, *at = NULL, *ls, *le, *ds, *de;
	gboolean quoted = FALSE;
	char *out;

	if (field && memchr(s, ';', len) != NULL)
		s = (const char *)memchr(s, ';', len) + 1;
	for (const char *p = s; p < end; p++)
		if (*p == '@')
			at = p;
	if (at == NULL)
		return NULL;
	ls = s;
	le = at;
	ds = at + 1;
	de = end;
	while (ls < le && (g_ascii_isspace(*ls) || *ls == '<' || *ls == '\'' || *ls == '('))
		ls++;
	if (memchr(ls, ':', (size_t)(le - ls)) != NULL && *ls == '@') {
		/* "@relay.example:user": the route goes */
		while (memchr(ls, ':', (size_t)(le - ls)) != NULL)
			ls = (const char *)memchr(ls, ':', (size_t)(le - ls)) + 1;
	}
	if (le - ls >= 2 && *ls == '"' && le[-1] == '"')
		quoted = TRUE;
	else if (ls < le && *ls == '"')
		ls++;
	while (de > ds && (g_ascii_isspace(de[-1]) || strchr(">.,:;'\")", de[-1]) != NULL))
		de--;
	if (le <= ls || de <= ds || (size_t)(de - ls) > DSN_ADDR_MAX)
		return NULL;
	for (const char *p = ls + quoted; p < le - quoted; p++)
		if ((unsigned char)*p <= ' ' || *p == 0x7f || *p == '"' || *p == '\\' ||
		    (!quoted && strchr("<>()[],;:@", *p) != NULL))
			return NULL;
	for (const char *p = ds; p < de; p++)
		if (!g_ascii_isalnum(*p) && *p != '-' && *p != '.')
			return NULL;
	if (*ds == '.' || *ds == '-' || (!field && memchr(ds, '.', (size_t)(de - ds)) == NULL))
		return NULL;
	out = g_strndup(ls, (gsize)(de - ls));
	if (!g_utf8_validate(out, -1, NULL)) {
		g_free(out);
		return NULL;
	}
	for (char *p = out; *p != '\0'; p++)
		*p = g_ascii_tolower(*p);
	return out;
}

/* Calls fn(name, value, ud) with the raw field in field (its name ends at colon) unfolded by
 * GMime: line ends out, white space trimmed at either end. A field without a name is no field:
 * TRUE without a call. Returns what fn returned. */
static gboolean field_emit(const GString *field, size_t colon,
			   gboolean (*fn)(const char *name, const char *value, void *ud), void *ud)
{
	char *name = g_strstrip(g_strndup(field->str, colon)), *value;
	gboolean go = TRUE;

	if (name[0] != '\0') {
		value = g_mime_utils_header_unfold(field->str + colon + 1);
		go = fn(name, value, ud);
		g_free(value);
	}
	g_free(name);
	return go;
}

const char *dsn_fields_each(const char *data, const char *end,
			    gboolean (*fn)(const char *name, const char *value, void *ud), void *ud)
{
	GString *field = g_string_new(NULL); /* the raw field: name, colon, value and its folds */
	const char *p = data;
	size_t colon = 0;
	gboolean go = TRUE, started = FALSE, named = FALSE;

	if (end - data > DSN_SCAN_MAX)
		end = data + DSN_SCAN_MAX;
	while (p < end && go) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		const char *next = nl != NULL ? nl + 1 : end, *le = next, *c;

		while (le > p &&
		       (le[-1] == '\n' || le[-1] == '\r' || le[-1] == ' ' || le[-1] == '\t'))
			le--;
		if (le == p) {
			/* an empty (or blank) line ends the block, or precedes it */
			p = next;
			if (started)
				break;
			continue;
		}
		started = TRUE;
		if ((*p == ' ' || *p == '\t') && named) {
			g_string_append_len(field, p, next - p);
		} else if ((c = memchr(p, ':', (size_t)(le - p))) != NULL) {
			if (named)
				go = field_emit(field, colon, fn, ud);
			g_string_assign(field, "");
			g_string_append_len(field, p, next - p);
			colon = (size_t)(c - p);
			named = FALSE;
			for (const char *q = p; q < c && !named; q++)
				named = !g_ascii_isspace(*q) && *q != '\0';
		}
		p = next;
	}
	if (go && named)
		field_emit(field, colon, fn, ud);
	g_string_free(field, TRUE);
	return p;
}

struct find_field {
	const char *name;
	char *value;
};

static gboolean find_field_fn(const char *name, const char *value, void *ud)
{
	struct find_field *f = ud;

	if (g_ascii_strcasecmp(name, f->name) != 0)
		return TRUE;
	f->value = g_strdup(value);
	return FALSE;
}

char *dsn_message_id(const char *data, size_t len)
{
	struct find_field f = {"Message-ID", NULL};
	char *id = NULL;

	if (data == NULL || len == 0)
		return NULL;
	dsn_fields_each(data, data + len, find_field_fn, &f);
	if (f.value != NULL)
		id = dsn_msgid_clean(f.value, strlen(f.value), FALSE);
	g_free(f.value);
	return id;
}

struct dsn_group {
	char *final, *original, *action, *status, *diagnostic, *message_id;
};

static gboolean dsn_group_fn(const char *name, const char *value, void *ud)
{
	struct dsn_group *g = ud;
	char **slot = NULL;

	if (g_ascii_strcasecmp(name, "Final-Recipient") == 0)
		slot = &g->final;
	else if (g_ascii_strcasecmp(name, "Original-Recipient") == 0)
		slot = &g->original;
	else if (g_ascii_strcasecmp(name, "Action") == 0)
		slot = &g->action;
	else if (g_ascii_strcasecmp(name, "Status") == 0)
		slot = &g->status;
	else if (g_ascii_strcasecmp(name, "Diagnostic-Code") == 0)
		slot = &g->diagnostic;
	else if (g_ascii_strcasecmp(name, "X-Original-Message-ID") == 0 ||
		 g_ascii_strcasecmp(name, "Original-Message-ID") == 0)
		slot = &g->message_id;
	if (slot != NULL && *slot == NULL)
		*slot = g_strdup(value);
	return TRUE;
}

static void dsn_group_clear(struct dsn_group *g)
{
	g_free(g->final);
	g_free(g->original);
	g_free(g->action);
	g_free(g->status);
	g_free(g->diagnostic);
	g_free(g->message_id);
	memset(g, 0, sizeof(*g));
}

/* A Diagnostic-Code without its type ("smtp; 550 5.1.1 ..." -> "550 5.1.1 ..."). */
static char *diagnostic_clean(const char *s)
{
	const char *semi = strchr(s, ';');

	if (semi != NULL && semi - s <= 16 && memchr(s, ' ', (size_t)(semi - s)) == NULL)
		s = semi + 1;
	return text_one_line(s, strlen(s), BOUNCE_DIAGNOSTIC_MAX);
}

/* Adds addr (taken, may be NULL) to st's recipients unless it is there already or the list is
 * full; frees it otherwise. */
static void recipient_add(struct dsn_groups *st, char *addr)
{
	if (addr == NULL)
		return;
	if (st->recipients == NULL)
		st->recipients = g_ptr_array_new_with_free_func(g_free);
	if (st->recipients->len >= DSN_MAX_RECIPIENTS ||
	    g_ptr_array_find_with_equal_func(st->recipients, addr, g_str_equal, NULL)) {
		g_free(addr);
		return;
	}
	g_ptr_array_add(st->recipients, addr);
}

void dsn_read(const char *text, struct dsn_groups *st)
{
	const char *p = text, *end = text + strlen(text);

	while (p < end) {
		struct dsn_group g = {0};
		const char *next = dsn_fields_each(p, end, dsn_group_fn, &g);
		const char *addr_field = g.final != NULL ? g.final : g.original;

		if (next <= p)
			next = end;
		p = next;
		if (g.message_id != NULL && st->message_id == NULL)
			st->message_id = dsn_msgid_clean(g.message_id, strlen(g.message_id), FALSE);
		if (addr_field == NULL && g.action == NULL && g.status == NULL) {
			dsn_group_clear(&g);
			continue;
		}
		st->any_group = TRUE;
		{
			char *status = dsn_status_find(g.status);
			char *action = g.action != NULL ? g_ascii_strdown(g.action, -1) : NULL;
			gboolean failed, delayed, success;

			if (action != NULL)
				g_strstrip(action);
			delayed = action != NULL && g_str_has_prefix(action, "delayed");
			success = action != NULL && (g_str_has_prefix(action, "delivered") ||
						     g_str_has_prefix(action, "relayed") ||
						     g_str_has_prefix(action, "expanded"));
			/* no Action: the status class decides; no status either: a failure */
			if (action == NULL && status != NULL && status[0] == '4')
				delayed = TRUE;
			if (action == NULL && status != NULL && status[0] == '2')
				success = TRUE;
			failed = !delayed && !success;
			st->any_failed |= failed;
			/* a report of success names no one who failed; the fields are the
			 * MTA's own word, so even postmaster@ or our own address count */
			if (!success) {
				char *addr = g.final != NULL
						 ? dsn_addr_clean(g.final, strlen(g.final), TRUE)
						 : NULL;

				if (addr == NULL && g.original != NULL)
					addr = dsn_addr_clean(g.original, strlen(g.original), TRUE);
				recipient_add(st, addr);
			}
			if (status != NULL && failed && st->status_fail == NULL)
				st->status_fail = g_strdup(status);
			if (status != NULL && st->status_any == NULL)
				st->status_any = g_strdup(status);
			/* the first failed recipient's words, else the first delayed one's */
			if (g.diagnostic != NULL && !success &&
			    (st->diagnostic == NULL || (failed && !st->diagnostic_failed))) {
				g_free(st->diagnostic);
				st->diagnostic = diagnostic_clean(g.diagnostic);
				st->diagnostic_failed = failed;
			}
			g_free(status);
			g_free(action);
		}
		dsn_group_clear(&g);
	}
}

void dsn_groups_clear(struct dsn_groups *g)
{
	if (g->recipients != NULL)
		g_ptr_array_unref(g->recipients);
	g_free(g->status_fail);
	g_free(g->status_any);
	g_free(g->diagnostic);
	g_free(g->message_id);
	memset(g, 0, sizeof(*g));
}
